/* Fork-join, detached tasks, parallel loops and reductions. */
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "check.h"

static te_engine *make_engine(uint32_t workers) {
  te_config cfg;
  te_engine *engine = NULL;
  te_config_init(&cfg);
  cfg.workers = workers;
  if (te_engine_new(&cfg, &engine) != TE_OK) {
    fprintf(stderr, "te_engine_new: %s\n", te_last_error_message());
    exit(EXIT_FAILURE);
  }
  return engine;
}

/* fib by fork-join, one te_join per call, with a NULL engine inside tasks. */
struct fib {
  te_engine *engine;
  unsigned n;
  uint64_t result;
};

static int32_t fib_task(void *arg) {
  struct fib *f = arg;
  struct fib a, b;
  if (f->n < 2) {
    f->result = f->n;
    return 0;
  }
  a.engine = b.engine = f->engine;
  a.n = f->n - 1;
  b.n = f->n - 2;
  if (te_join(f->engine, fib_task, &a, fib_task, &b) != TE_OK) return 1;
  f->result = a.result + b.result;
  return 0;
}

static void test_join_fib(void) {
  /* F(22) = 17711 (OEIS A000045). */
  unsigned workers;
  for (workers = 1; workers <= 3; workers++) {
    te_engine *engine = make_engine(workers);
    struct fib f, g;
    f.engine = engine;
    f.n = 22;
    f.result = 0;
    g.engine = NULL; /* NULL inside tasks: the worker's own engine */
    g.n = 20;
    g.result = 0;
    CHECK_STATUS(TE_OK, te_join(engine, fib_task, &f, fib_task, &g));
    CHECK(f.result == 17711);
    CHECK(g.result == 6765);
    te_engine_free(engine);
  }
}

static int32_t ret_arg(void *arg) { return (int32_t)(intptr_t)arg; }

struct ran {
  atomic_int count;
};

static int32_t mark_ran(void *arg) {
  atomic_fetch_add(&((struct ran *)arg)->count, 1);
  return 0;
}

static void test_join_failures(void) {
  te_engine *engine = make_engine(2);
  struct ran ran;
  atomic_init(&ran.count, 0);
  CHECK_STATUS(TE_ERR_TASK_FAILED, te_join(engine, ret_arg, (void *)5, mark_ran, &ran));
  CHECK(strstr(te_last_error_message(), "5") != NULL);
  CHECK(atomic_load(&ran.count) == 1); /* b still ran */
  CHECK_STATUS(TE_ERR_TASK_FAILED, te_join(engine, mark_ran, &ran, ret_arg, (void *)-2));
  CHECK(strstr(te_last_error_message(), "-2") != NULL);
  CHECK(atomic_load(&ran.count) == 2);
  CHECK_STATUS(TE_ERR_NULL, te_join(engine, NULL, NULL, mark_ran, &ran));
  CHECK_STATUS(TE_ERR_NULL, te_join(engine, mark_ran, &ran, NULL, NULL));
  CHECK(atomic_load(&ran.count) == 2); /* nothing ran on bad input */
  te_engine_free(engine);
}

static void test_spawn_detached(void) {
  te_engine *engine = make_engine(2);
  struct ran ran;
  int i;
  atomic_init(&ran.count, 0);
  for (i = 0; i < 1000; i++) CHECK_STATUS(TE_OK, te_spawn(engine, mark_ran, &ran));
  /* A failing detached task is dropped silently: nobody waits for it. */
  CHECK_STATUS(TE_OK, te_spawn(engine, ret_arg, (void *)3));
  CHECK_STATUS(TE_ERR_NULL, te_spawn(engine, NULL, NULL));
  te_engine_free(engine); /* runs every queued task first */
  CHECK(atomic_load(&ran.count) == 1000);
}

/* parallel_for: each index visited exactly once, pieces within the grain. */
struct visit {
  atomic_uchar *seen;
  size_t grain;
  atomic_int too_big;
  atomic_int calls;
};

static int32_t visit_range(void *arg, size_t begin, size_t end) {
  struct visit *v = arg;
  size_t i;
  atomic_fetch_add(&v->calls, 1);
  if (begin >= end || (v->grain && end - begin > v->grain)) atomic_fetch_add(&v->too_big, 1);
  for (i = begin; i < end; i++) atomic_fetch_add(&v->seen[i], 1);
  return 0;
}

static void test_parallel_for_covers_range(void) {
  enum { N = 100000 };
  static atomic_uchar seen[N];
  static const size_t grains[] = {0, 1, 7, 1000, N, 2 * N};
  te_engine *engine = make_engine(2);
  size_t g, i;
  for (g = 0; g < sizeof grains / sizeof grains[0]; g++) {
    struct visit v;
    int bad = 0;
    for (i = 0; i < N; i++) atomic_init(&seen[i], 0);
    v.seen = seen;
    v.grain = grains[g];
    atomic_init(&v.too_big, 0);
    atomic_init(&v.calls, 0);
    /* A range not starting at 0. */
    CHECK_STATUS(TE_OK, te_parallel_for(engine, 10, N, grains[g], visit_range, &v));
    for (i = 0; i < N; i++) bad += atomic_load(&seen[i]) != (i >= 10 ? 1 : 0);
    CHECK(bad == 0);
    CHECK(atomic_load(&v.too_big) == 0);
  }
  te_engine_free(engine);
}

static int32_t fail_at_500(void *arg, size_t begin, size_t end) {
  (void)arg;
  return (begin <= 500 && 500 < end) ? 17 : 0;
}

static int32_t never_called(void *arg, size_t begin, size_t end) {
  atomic_fetch_add((atomic_int *)arg, 1);
  (void)begin;
  (void)end;
  return 0;
}

static void test_parallel_for_errors(void) {
  te_engine *engine = make_engine(2);
  atomic_int calls;
  atomic_init(&calls, 0);
  CHECK_STATUS(TE_ERR_TASK_FAILED, te_parallel_for(engine, 0, 1000, 10, fail_at_500, NULL));
  CHECK(strstr(te_last_error_message(), "17") != NULL);
  CHECK_STATUS(TE_ERR_INVALID, te_parallel_for(engine, 10, 5, 0, never_called, &calls));
  CHECK_STATUS(TE_ERR_NULL, te_parallel_for(engine, 0, 10, 0, NULL, NULL));
  /* Empty ranges call nothing, even at the ends of size_t. */
  CHECK_STATUS(TE_OK, te_parallel_for(engine, 5, 5, 0, never_called, &calls));
  CHECK_STATUS(TE_OK, te_parallel_for(engine, SIZE_MAX, SIZE_MAX, 0, never_called, &calls));
  CHECK(atomic_load(&calls) == 0);
  /* The top of size_t is a valid range. */
  CHECK_STATUS(TE_OK, te_parallel_for(engine, SIZE_MAX - 3, SIZE_MAX, 1, never_called, &calls));
  CHECK(atomic_load(&calls) == 3);
  te_engine_free(engine);
}

/* Reductions: the sum of squares has the closed form n(n-1)(2n-1)/6. */
static int32_t sum_squares(void *arg, size_t begin, size_t end, void *acc) {
  uint64_t *sum = acc;
  size_t i;
  (void)arg;
  for (i = begin; i < end; i++) *sum += (uint64_t)i * i;
  return 0;
}

static int32_t add_u64(void *arg, void *acc, const void *other) {
  (void)arg;
  *(uint64_t *)acc += *(const uint64_t *)other;
  return 0;
}

/* A non-commutative combine: the concatenation order of (min, max) pairs. */
struct span {
  size_t first, last, count;
  int ordered;
};

static int32_t span_map(void *arg, size_t begin, size_t end, void *acc) {
  struct span *s = acc;
  (void)arg;
  if (s->count == 0) s->first = begin;
  s->last = end - 1;
  s->count += end - begin;
  return 0;
}

static int32_t span_combine(void *arg, void *acc, const void *other) {
  struct span *a = acc;
  const struct span *b = other;
  (void)arg;
  if (b->count == 0) return 0;
  if (a->count == 0) {
    *a = *b;
    return 0;
  }
  if (a->last + 1 != b->first || !b->ordered) a->ordered = 0;
  a->last = b->last;
  a->count += b->count;
  return 0;
}

static void test_parallel_reduce(void) {
  const uint64_t n = 200000;
  const uint64_t expected = n * (n - 1) * (2 * n - 1) / 6;
  const uint64_t zero = 0;
  const struct span empty = {0, 0, 0, 1};
  te_engine *engine = make_engine(2);
  uint64_t out = 1;
  struct span s;
  CHECK_STATUS(TE_OK, te_parallel_reduce(engine, 0, n, 0, &zero, sizeof zero, sum_squares, add_u64, NULL, &out));
  CHECK(out == expected);
  out = 1;
  CHECK_STATUS(TE_OK, te_parallel_reduce(engine, 0, n, 100, &zero, sizeof zero, sum_squares, add_u64, NULL, &out));
  CHECK(out == expected);
  out = 1;
  CHECK_STATUS(TE_OK,
               te_parallel_reduce_deterministic(engine, 0, n, 0, &zero, sizeof zero, sum_squares, add_u64, NULL, &out));
  CHECK(out == expected);
  /* Adjacent pieces are combined left to right. */
  CHECK_STATUS(TE_OK, te_parallel_reduce(engine, 3, 50003, 64, &empty, sizeof empty, span_map, span_combine, NULL, &s));
  CHECK(s.ordered && s.first == 3 && s.last == 50002 && s.count == 50000);
  /* An empty range gives the identity. */
  out = 1;
  CHECK_STATUS(TE_OK, te_parallel_reduce(engine, 7, 7, 0, &zero, sizeof zero, sum_squares, add_u64, NULL, &out));
  CHECK(out == 0);
  te_engine_free(engine);
}

/* Floating-point sums in deterministic mode: the same bits whatever the worker
 * count (a plain parallel sum may differ in the last bits). */
static int32_t sum_recip(void *arg, size_t begin, size_t end, void *acc) {
  double *sum = acc;
  size_t i;
  (void)arg;
  for (i = begin; i < end; i++) *sum += 1.0 / (double)(i + 1) * ((i % 3) ? 1.0 : -1e3);
  return 0;
}

static int32_t add_f64(void *arg, void *acc, const void *other) {
  (void)arg;
  *(double *)acc += *(const double *)other;
  return 0;
}

static void test_deterministic_reduce_is_bitwise_reproducible(void) {
  const double zero = 0.0;
  double results[4];
  unsigned w;
  for (w = 1; w <= 4; w++) {
    te_engine *engine = make_engine(w);
    results[w - 1] = -1.0;
    CHECK_STATUS(TE_OK, te_parallel_reduce_deterministic(engine, 0, 1000000, 0, &zero, sizeof zero, sum_recip,
                                                         add_f64, NULL, &results[w - 1]));
    te_engine_free(engine);
  }
  for (w = 1; w < 4; w++) CHECK(memcmp(&results[0], &results[w], sizeof(double)) == 0);
}

static int32_t map_fails(void *arg, size_t begin, size_t end, void *acc) {
  (void)arg;
  (void)acc;
  return (begin <= 777 && 777 < end) ? 23 : 0;
}

static int32_t combine_fails(void *arg, void *acc, const void *other) {
  (void)arg;
  (void)acc;
  (void)other;
  return 31;
}

static void test_parallel_reduce_errors(void) {
  te_engine *engine = make_engine(2);
  const uint64_t zero = 0;
  const uint64_t untouched = 0xFEEDFACEull;
  uint64_t out = untouched;
  CHECK_STATUS(TE_ERR_TASK_FAILED, te_parallel_reduce(engine, 0, 10000, 10, &zero, sizeof zero, map_fails, add_u64,
                                                      NULL, &out));
  CHECK(out == untouched);
  CHECK_STATUS(TE_ERR_TASK_FAILED, te_parallel_reduce(engine, 0, 10000, 10, &zero, sizeof zero, sum_squares,
                                                      combine_fails, NULL, &out));
  CHECK(strstr(te_last_error_message(), "31") != NULL);
  CHECK(out == untouched);
  CHECK_STATUS(TE_ERR_NULL, te_parallel_reduce(engine, 0, 10, 0, NULL, 8, sum_squares, add_u64, NULL, &out));
  CHECK_STATUS(TE_ERR_NULL, te_parallel_reduce(engine, 0, 10, 0, &zero, 8, NULL, add_u64, NULL, &out));
  CHECK_STATUS(TE_ERR_NULL, te_parallel_reduce(engine, 0, 10, 0, &zero, 8, sum_squares, NULL, NULL, &out));
  CHECK_STATUS(TE_ERR_NULL, te_parallel_reduce(engine, 0, 10, 0, &zero, 8, sum_squares, add_u64, NULL, NULL));
  CHECK_STATUS(TE_ERR_INVALID, te_parallel_reduce(engine, 0, 10, 0, &zero, 0, sum_squares, add_u64, NULL, &out));
  CHECK_STATUS(TE_ERR_INVALID,
               te_parallel_reduce(engine, 0, 10, 0, &zero, SIZE_MAX, sum_squares, add_u64, NULL, &out));
  CHECK_STATUS(TE_ERR_INVALID, te_parallel_reduce(engine, 10, 0, 0, &zero, 8, sum_squares, add_u64, NULL, &out));
  CHECK_STATUS(TE_ERR_INVALID, te_parallel_reduce_deterministic(engine, 10, 0, 0, &zero, 8, sum_squares, add_u64,
                                                                NULL, &out));
  CHECK(out == untouched);
  te_engine_free(engine);
}

int main(void) {
  RUN(test_join_fib);
  RUN(test_join_failures);
  RUN(test_spawn_detached);
  RUN(test_parallel_for_covers_range);
  RUN(test_parallel_for_errors);
  RUN(test_parallel_reduce);
  RUN(test_deterministic_reduce_is_bitwise_reproducible);
  RUN(test_parallel_reduce_errors);
  TEST_DONE();
}
