/* A randomized API-sequence fuzzer over every export of taskengine.h.
 *
 *   fuzz_api [SECONDS [SEED]]       (or FUZZ_SECONDS, FUZZ_SEED, FUZZ_ITERS)
 *
 * One seed gives one sequence of calls (the engines' threads add timing, not
 * choices): engines, groups and arenas are made, used and freed in random
 * order, with NULLs, zero, SIZE_MAX, misaligned pointers, bad configs,
 * invalid UTF-8, short buffers and shutdowns of the default engine in
 * between. Every status must be one the header documents for that call;
 * out-parameters are filled with a sentinel and must be untouched on failure;
 * results are checked against independent references (qsort, memmove, memcmp,
 * __int128 arithmetic, a small UTF-8 reverse/upper reference in this file,
 * published FNV-1a vectors). The seed is printed at the start and with every
 * failure; a watchdog alarm turns a hang into a failure.
 */
#define _GNU_SOURCE
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "taskengine.h"

__extension__ typedef __int128 wide;
__extension__ typedef unsigned __int128 uwide;

/* ---- run state, failure reporting, watchdog ---- */

static unsigned long long g_seed;
static unsigned long long g_iter;
static const char *g_op = "start";
static atomic_ulong g_calls;
static int trace; /* FUZZ_TRACE: say what each operation does */

static void fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void fail(const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "fuzz_api: FAILED seed=%llu iteration=%llu op=%s: ", g_seed, g_iter, g_op);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\n  (last error message on this thread: \"%s\")\n", te_last_error_message());
  fprintf(stderr, "  reproduce: FUZZ_ITERS=%llu fuzz_api 0 %llu\n", g_iter + 1, g_seed);
  fflush(stderr);
  abort();
}

#define REQUIRE(cond, ...)                                                     \
  do {                                                                         \
    if (!(cond)) fail(__VA_ARGS__);                                            \
  } while (0)

static char g_alarm_msg[160];
static void on_alarm(int sig) {
  ssize_t r;
  (void)sig;
  r = write(2, g_alarm_msg, strlen(g_alarm_msg));
  (void)r;
  _exit(2);
}
/* Re-armed before every operation: one that hangs for 60 s is a failure. */
static void watchdog(void) {
  snprintf(g_alarm_msg, sizeof g_alarm_msg,
           "fuzz_api: FAILED (hang: watchdog) seed=%llu iteration=%llu op=%s\n", g_seed, g_iter, g_op);
  alarm(60);
}

/* ---- random numbers: splitmix64, reproducible from the seed ---- */

static uint64_t g_rng;
static uint64_t rnd(void) {
  uint64_t z = (g_rng += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
static uint64_t below(uint64_t n) { return n ? rnd() % n : 0; }
static int chance(unsigned percent) { return below(100) < percent; }

static void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) fail("out of memory in the fuzzer");
  return p;
}

/* ---- documented statuses ---- */

#define S(x) (1u << (x))
static void check_status(te_status got, unsigned allowed, const char *call) {
  atomic_fetch_add_explicit(&g_calls, 1, memory_order_relaxed);
  REQUIRE((unsigned)got <= TE_ERR_FFI && (S(got) & allowed), "%s returned %s (%d), not a status it documents",
          call, te_status_str(got), (int)got);
}

/* Sentinel-filled out-parameters: untouched on failure. */
#define SENTINEL 0xA5
static void fill(void *p, size_t n) { memset(p, SENTINEL, n); }
static int untouched(const void *p, size_t n) {
  const unsigned char *b = p;
  size_t i;
  for (i = 0; i < n; i++)
    if (b[i] != SENTINEL) return 0;
  return 1;
}

/* ---- handles the fuzzer keeps ---- */

#define MAX_ENGINES 3
#define MAX_GROUPS 4
#define MAX_ARENAS 3
#define MAX_LIVE 64

struct engine_slot {
  te_engine *e;
  uint32_t workers;
  size_t queue_capacity;
  int hooks; /* made with our hooks (not from a NULL config) */
  atomic_int starts, stops;
  atomic_long spawned_runs; /* te_spawn tasks run */
  long spawned_ok;          /* te_spawn calls that returned TE_OK */
};
static struct engine_slot engines[MAX_ENGINES];
static int default_down; /* te_default_engine_shutdown was called */
static atomic_long default_spawn_runs;
static long default_spawn_ok;

struct group_slot {
  te_group *g;
  int engine; /* index into engines, or -1 for the default engine */
  int engine_gone;
  long added;        /* tasks added (spawn returned TE_OK) */
  long failing;      /* of those, tasks that return non-zero */
  atomic_int cancelled; /* set before te_group_cancel: its tasks may look */
  atomic_long ran;   /* tasks that ran */
  long with_cleanup; /* spawn_with_cleanup calls with a cleanup */
};
static struct group_slot groups[MAX_GROUPS];
static atomic_long cleanups_run;
static long cleanups_expected;

struct arena_slot {
  te_arena *a;
  uint32_t kind;
  size_t capacity;
  uint64_t allocations, invalid_frees;
  struct { unsigned char *p; size_t size; unsigned char tag; } live[MAX_LIVE];
  int nlive;
};
static struct arena_slot arenas[MAX_ARENAS];

/* The engine argument for a call: a live engine of ours, or NULL. */
static te_engine *pick_engine(int *idx) {
  int i = (int)below(MAX_ENGINES + 1);
  if (i < MAX_ENGINES && engines[i].e) {
    *idx = i;
    return engines[i].e;
  }
  *idx = -1;
  return NULL;
}
/* May a call on this engine argument fail with TE_ERR_SHUTDOWN? */
static unsigned shutdown_ok(int idx) { return idx < 0 && default_down ? S(TE_ERR_SHUTDOWN) : 0; }

/* ---- tasks ---- */

static void hook_start(void *arg, uint32_t w) {
  struct engine_slot *s = arg;
  REQUIRE(w < s->workers, "start hook got worker %u of %u", w, s->workers);
  atomic_fetch_add(&s->starts, 1);
}
static void hook_stop(void *arg, uint32_t w) {
  struct engine_slot *s = arg;
  REQUIRE(w < s->workers, "stop hook got worker %u of %u", w, s->workers);
  atomic_fetch_add(&s->stops, 1);
}

static int32_t spawn_task(void *arg) {
  atomic_fetch_add((atomic_long *)arg, 1);
  return 0;
}

/* Work done inside tasks: nested calls that resolve NULL to the task's own
 * engine, which is alive while the task runs. */
static int64_t small_values[4] = {5, -7, INT64_MAX, INT64_MIN + 100};
static void nested_calls(void) {
  int64_t sum = 0;
  te_status st;
  REQUIRE(te_current_worker_index() >= 0, "a task runs outside a worker");
  st = te_sum_i64(NULL, small_values, 4, &sum);
  REQUIRE(st == TE_OK && sum == 5 - 7 + INT64_MAX + INT64_MIN + 100, "te_sum_i64(NULL) in a task: %s, sum %lld",
          te_status_str(st), (long long)sum);
}

struct group_task { struct group_slot *slot; int32_t code; int nested; unsigned id; };
/* Which heap arguments were cleaned up, by id (mod the size): a refused call
 * must have run its cleanup by the time it returns. */
static atomic_uchar cleaned[1 << 16];
static unsigned next_cleanup_id;
static int32_t group_task_fn(void *arg) {
  struct group_task *t = arg;
  atomic_fetch_add(&t->slot->ran, 1);
  REQUIRE(!te_current_task_cancelled() || t->slot->cancelled, "te_current_task_cancelled in an uncancelled group");
  if (t->nested) nested_calls();
  if (t->id % 16 == 3) { /* a wait for its own group would wait for itself */
    te_status st = t->id % 32 == 3 ? te_group_wait(t->slot->g) : te_group_wait_isolated(t->slot->g);
    REQUIRE(st == TE_ERR_INVALID, "a task waiting for its own group got %s", te_status_str(st));
  }
  return t->code;
}
static void group_task_cleanup(void *arg) {
  atomic_store(&cleaned[((struct group_task *)arg)->id % (1u << 16)], 1);
  atomic_fetch_add(&cleanups_run, 1);
  free(arg);
}

/* A task that makes its own group on its engine (NULL), fills and waits for
 * it: a wait for another group from inside a task. */
static int32_t child_task(void *arg) {
  atomic_fetch_add((atomic_long *)arg, 1);
  return 0;
}
static int32_t subgroup_task(void *arg) {
  struct group_task *t = arg;
  atomic_long n = 0;
  te_group *g = NULL;
  te_status st;
  int i;
  atomic_fetch_add(&t->slot->ran, 1);
  st = te_group_new(NULL, &g);
  REQUIRE(st == TE_OK, "te_group_new(NULL) in a task: %s", te_status_str(st));
  for (i = 0; i < 3; i++) {
    st = te_group_spawn(g, child_task, (void *)&n);
    REQUIRE(st == TE_OK, "te_group_spawn in a task: %s", te_status_str(st));
  }
  st = te_group_wait(g);
  REQUIRE(st == TE_OK, "te_group_wait of a subgroup: %s", te_status_str(st));
  REQUIRE(atomic_load(&n) == i, "subgroup ran %ld of %d tasks", (long)atomic_load(&n), i);
  te_group_free(g);
  return 0;
}

/* te_join: each half counts its runs and returns its code; a half may join
 * once more (shallow: deep te_join recursion is issue 9 item 3). */
struct join_arg { atomic_int runs; int32_t code; int depth; };
static int32_t join_half(void *arg);
static int32_t join_inner(struct join_arg *j) {
  struct join_arg a = {0, 0, j->depth - 1}, b = {0, 0, j->depth - 1};
  te_status st = te_join(NULL, join_half, &a, join_half, &b);
  REQUIRE(st == TE_OK && a.runs == 1 && b.runs == 1, "nested te_join: %s, runs %d %d", te_status_str(st), a.runs,
          b.runs);
  return 0;
}
static int32_t join_half(void *arg) {
  struct join_arg *j = arg;
  atomic_fetch_add(&j->runs, 1);
  if (j->depth > 0) join_inner(j);
  return j->code;
}

/* A te_join chain deeper than any worker stack: refused near the end of the
 * stack with TE_ERR_STACK, passed up, never an overflow. */
struct chain { long depth; te_status status; };
static int32_t chain_nothing(void *arg) {
  (void)arg;
  return 0;
}
static int32_t chain_link(void *arg) {
  struct chain *c = arg;
  struct chain next = {c->depth - 1, TE_OK};
  te_status st;
  if (c->depth == 0) return 0;
  st = te_join(NULL, chain_link, &next, chain_nothing, NULL);
  c->status = st == TE_ERR_TASK_FAILED ? next.status : st;
  return c->status == TE_OK ? 0 : 1;
}

/* ---- engines ---- */

/* A te_config inside room for a "newer header's" bigger struct. */
struct big_config { te_config c; unsigned char tail[64]; };

static void op_engine_new(void) {
  struct big_config bc;
  te_engine *out;
  int i = (int)below(MAX_ENGINES), bad = 0, reason;
  struct engine_slot *s = &engines[i];
  te_status st, want = TE_OK;
  memset(&bc, 0, sizeof bc);
  g_op = "te_engine_new";
  if (s->e) return;
  te_config_init(&bc.c);
  REQUIRE(bc.c.size == sizeof(te_config), "te_config_init set size %u", bc.c.size);
  REQUIRE(bc.c.workers == 0 && bc.c.queue_capacity == 0 && bc.c.work_stealing && bc.c.metrics &&
              bc.c.stack_size == 0 && !bc.c.thread_name_prefix && !bc.c.on_thread_start && !bc.c.on_thread_stop,
          "te_config_init's defaults");
  bc.c.workers = (uint32_t)(chance(20) ? 0 : 1 + below(4));
  if (chance(1)) bc.c.workers = 1024;
  else if (chance(3)) bc.c.workers = 64;
  bc.c.queue_capacity = chance(50) ? 0 : (size_t[]){1, 2, 16, 1024}[below(4)];
  bc.c.work_stealing = chance(80);
  bc.c.metrics = chance(70);
  bc.c.stack_size = chance(70) ? 0 : (size_t[]){262144, 1u << 20}[below(2)];
  bc.c.thread_name_prefix = chance(50) ? NULL : "fz";
  bc.c.spin_budget = (uint32_t)(chance(50) ? 64 : below(3));
  bc.c.task_pool_capacity = chance(50) ? bc.c.task_pool_capacity : (size_t[]){0, 1, 300}[below(3)];
  bc.c.on_thread_start = hook_start;
  bc.c.on_thread_stop = hook_stop;
  bc.c.hook_arg = s;
  if (chance(25)) {
    bad = 1;
    reason = (int)below(8);
    switch (reason) {
    case 0: bc.c.size = 0; want = TE_ERR_INVALID; break;
    case 1: bc.c.size = sizeof(te_config) - 1; want = TE_ERR_INVALID; break;
    case 2: bc.c.size = (uint32_t)sizeof bc; want = TE_OK; bad = 0; break; /* zero tail: accepted */
    case 3: bc.c.size = (uint32_t)sizeof bc; bc.tail[below(sizeof bc.tail)] = 1; want = TE_ERR_INVALID; break;
    case 4: bc.c.workers = chance(50) ? 4097 : UINT32_MAX; want = TE_ERR_INVALID; break;
    case 5: bc.c.stack_size = chance(50) ? 1 : 65535; want = TE_ERR_INVALID; break;
    case 6: bc.c.thread_name_prefix = chance(50) ? "\xff\xfe" : "ok\xc0\x80"; want = TE_ERR_UTF8; break;
    default: bc.c.size = UINT32_MAX; want = TE_ERR_INVALID; break;
    }
  }
  if (chance(3)) { /* NULL out */
    st = te_engine_new(&bc.c, NULL);
    check_status(st, S(TE_ERR_NULL), "te_engine_new(cfg, NULL)");
    return;
  }
  fill(&out, sizeof out);
  atomic_store(&s->starts, 0);
  atomic_store(&s->stops, 0);
  /* The hooks check indexes against this; 0 means "one per CPU", not known yet. */
  s->workers = bc.c.workers && bc.c.workers <= 4096 ? bc.c.workers : 4096;
  s->hooks = 1;
  if (chance(5) && !bad) { /* NULL: the defaults */
    bc.c.workers = 0;
    s->hooks = 0;
    st = te_engine_new(NULL, &out);
  } else {
    st = te_engine_new(&bc.c, &out);
  }
  check_status(st, S(want), "te_engine_new");
  if (st != TE_OK) {
    REQUIRE(untouched(&out, sizeof out), "te_engine_new wrote *out on failure");
    REQUIRE(atomic_load(&s->starts) == 0 || bc.c.workers, "hooks ran for a refused config");
    return;
  }
  s->e = out;
  s->workers = te_engine_workers(out);
  if (trace)
    fprintf(stderr, "  engine %d: %u workers, stack %zu, queue %zu, pool %zu, stealing %d\n", i, s->workers,
            bc.c.stack_size, bc.c.queue_capacity, bc.c.task_pool_capacity, (int)bc.c.work_stealing);
  REQUIRE(s->workers > 0 && (bc.c.workers == 0 || s->workers == bc.c.workers), "te_engine_workers = %u, asked %u",
          s->workers, bc.c.workers);
  s->queue_capacity = bc.c.queue_capacity;
  s->spawned_ok = 0;
  atomic_store(&s->spawned_runs, 0);
}

static void free_group(int gi);

static void op_engine_free(void) {
  int i = (int)below(MAX_ENGINES), gi;
  struct engine_slot *s = &engines[i];
  g_op = "te_engine_free";
  if (!s->e) {
    te_engine_free(NULL); /* a no-op */
    return;
  }
  /* Groups may outlive their engine (their later spawns get TE_ERR_SHUTDOWN);
   * free some of them first, keep the others. */
  for (gi = 0; gi < MAX_GROUPS; gi++)
    if (groups[gi].g && groups[gi].engine == i && chance(50)) free_group(gi);
  te_engine_free(s->e);
  s->e = NULL;
  for (gi = 0; gi < MAX_GROUPS; gi++)
    if (groups[gi].g && groups[gi].engine == i) groups[gi].engine_gone = 1;
  /* Queued work ran, then every worker stopped, before te_engine_free returned. */
  REQUIRE(atomic_load(&s->spawned_runs) == s->spawned_ok, "te_engine_free returned with %ld of %ld te_spawn tasks run",
          (long)atomic_load(&s->spawned_runs), s->spawned_ok);
  if (s->hooks)
    REQUIRE(atomic_load(&s->starts) == (int)s->workers && atomic_load(&s->stops) == (int)s->workers,
          "%u workers, %d start hooks, %d stop hooks by the time te_engine_free returned", s->workers,
          atomic_load(&s->starts), atomic_load(&s->stops));
}

static void op_default_shutdown(void) {
  g_op = "te_default_engine_shutdown";
  te_default_engine_shutdown();
  REQUIRE(atomic_load(&default_spawn_runs) == default_spawn_ok, "default engine shut down with %ld of %ld tasks run",
          (long)atomic_load(&default_spawn_runs), default_spawn_ok);
  default_down = 1;
  te_default_engine_shutdown(); /* again: harmless */
}

static void op_engine_info(void) {
  int idx;
  te_engine *e = pick_engine(&idx);
  struct te_stats st_out;
  struct te_worker_stats ws;
  uint32_t workers, w;
  te_status st;
  g_op = "te_engine_workers/stats";
  workers = te_engine_workers(e);
  REQUIRE(idx < 0 ? (default_down ? workers == 0 : workers > 0) : workers == engines[idx].workers,
          "te_engine_workers = %u", workers);
  fill(&st_out, sizeof st_out);
  st = te_engine_stats(e, chance(10) ? NULL : &st_out);
  check_status(st, S(TE_OK) | S(TE_ERR_NULL) | shutdown_ok(idx), "te_engine_stats");
  if (st == TE_OK) {
    REQUIRE(st_out.workers == workers, "te_stats.workers = %u, expected %u", st_out.workers, workers);
    REQUIRE(st_out.metrics_enabled == 0 || st_out.metrics_enabled == 1, "te_stats.metrics_enabled not a bool");
  } else {
    REQUIRE(untouched(&st_out, sizeof st_out), "te_engine_stats wrote *out on failure");
  }
  w = (uint32_t)(chance(30) ? (chance(50) ? UINT32_MAX : workers + below(3)) : below(workers ? workers : 1));
  fill(&ws, sizeof ws);
  st = te_engine_worker_stats(e, w, chance(10) ? NULL : &ws);
  check_status(st, S(TE_OK) | S(TE_ERR_NULL) | S(TE_ERR_INVALID) | shutdown_ok(idx), "te_engine_worker_stats");
  if (st == TE_OK) REQUIRE(w < workers, "te_engine_worker_stats accepted worker %u of %u", w, workers);
  else REQUIRE(untouched(&ws, sizeof ws), "te_engine_worker_stats wrote *out on failure");
  if (w >= workers && st != TE_ERR_NULL && st != TE_ERR_SHUTDOWN)
    REQUIRE(st == TE_ERR_INVALID, "worker %u of %u: %s", w, workers, te_status_str(st));
}

/* ---- tasks from outside ---- */

static void op_spawn(void) {
  int idx;
  te_engine *e = pick_engine(&idx);
  atomic_long *counter = idx < 0 ? &default_spawn_runs : &engines[idx].spawned_runs;
  int null_fn = chance(5);
  te_status st;
  g_op = "te_spawn";
  st = te_spawn(e, null_fn ? NULL : spawn_task, counter);
  check_status(st, S(null_fn ? TE_ERR_NULL : TE_OK) | shutdown_ok(idx), "te_spawn");
  if (st == TE_OK) {
    if (idx < 0) default_spawn_ok++;
    else engines[idx].spawned_ok++;
  }
}

static void op_join(void) {
  int idx;
  te_engine *e = pick_engine(&idx);
  struct join_arg a = {0, 0, 0}, b = {0, 0, 0};
  int null_a = chance(4), null_b = chance(4);
  te_status st;
  unsigned want;
  g_op = "te_join";
  if (chance(2)) {
    struct chain top = {100000, TE_OK};
    st = te_join(e, chain_link, &top, chain_nothing, NULL);
    check_status(st, S(TE_ERR_TASK_FAILED) | shutdown_ok(idx), "te_join (a 100,000-deep chain)");
    if (st == TE_ERR_TASK_FAILED) REQUIRE(top.status == TE_ERR_STACK, "deep chain: %s", te_status_str(top.status));
    return;
  }
  a.code = chance(15) ? (int32_t)(1 + below(100)) : 0;
  b.code = chance(15) ? (int32_t)(1 + below(100)) : 0;
  a.depth = (int)below(3);
  b.depth = (int)below(2);
  st = te_join(e, null_a ? NULL : join_half, &a, null_b ? NULL : join_half, &b);
  want = (null_a || null_b) ? S(TE_ERR_NULL) : S(a.code || b.code ? TE_ERR_TASK_FAILED : TE_OK);
  check_status(st, want | shutdown_ok(idx), "te_join");
  if (st == TE_OK || st == TE_ERR_TASK_FAILED)
    REQUIRE(a.runs == 1 && b.runs == 1, "te_join ran a %d and b %d times", a.runs, b.runs);
  else
    REQUIRE(a.runs == 0 && b.runs == 0, "te_join failed with %s but ran a %d and b %d times", te_status_str(st), a.runs,
            b.runs);
}

/* te_parallel_for: every index of a small range is covered exactly once. */
struct pfor { size_t begin, n; atomic_uchar *hits; size_t fail_at; int32_t code; atomic_long calls; };
static int32_t pfor_body(void *arg, size_t b, size_t e) {
  struct pfor *p = arg;
  size_t i;
  atomic_fetch_add(&p->calls, 1);
  REQUIRE(b < e && b >= p->begin && e - p->begin <= p->n, "te_parallel_for body got [%zu, %zu)", b, e);
  if (p->hits)
    for (i = b; i < e; i++) atomic_fetch_add(&p->hits[i - p->begin], 1);
  if (p->fail_at >= b && p->fail_at < e) return p->code;
  return 0;
}

static void op_parallel_for(void) {
  int idx;
  te_engine *e = pick_engine(&idx);
  struct pfor p;
  size_t i, grain, end;
  int null_body = chance(4), backwards = chance(5), huge = chance(3);
  te_status st;
  unsigned want;
  g_op = "te_parallel_for";
  memset(&p, 0, sizeof p);
  p.begin = chance(20) ? SIZE_MAX - 5000 : below(1000);
  p.n = chance(10) ? 0 : below(chance(10) ? 5000 : 300);
  p.fail_at = chance(20) ? p.begin + below(p.n + 1) : SIZE_MAX; /* == end: no failure */
  p.code = (int32_t)(1 + below(1000));
  if (huge) { /* [0, SIZE_MAX) with grain 1: only returns if a failure stops it */
    p.begin = 0;
    p.n = SIZE_MAX;
    p.fail_at = below(1000);
  } else {
    p.hits = calloc(p.n ? p.n : 1, 1);
  }
  grain = chance(30) ? 0 : (size_t[]){1, 2, 7, 64, SIZE_MAX}[below(5)];
  if (huge) grain = 1, backwards = 0; /* end + 1 would wrap to an empty range */
  end = p.begin + p.n;
  st = backwards ? te_parallel_for(e, end + 1, p.begin, grain, null_body ? NULL : pfor_body, &p)
                 : te_parallel_for(e, p.begin, end, grain, null_body ? NULL : pfor_body, &p);
  if (backwards) want = S(TE_ERR_INVALID) | (null_body ? S(TE_ERR_NULL) : 0);
  else if (null_body) want = S(TE_ERR_NULL) | (p.n == 0 ? S(TE_OK) : 0);
  else want = S(p.fail_at < end ? TE_ERR_TASK_FAILED : TE_OK);
  check_status(st, want | shutdown_ok(idx), "te_parallel_for");
  if (st == TE_OK) {
    for (i = 0; i < p.n; i++) REQUIRE(p.hits[i] == 1, "index %zu covered %d times", p.begin + i, (int)p.hits[i]);
  } else if (st == TE_ERR_TASK_FAILED) {
    for (i = 0; p.hits && i < p.n; i++) REQUIRE(p.hits[i] <= 1, "index %zu covered twice", p.begin + i);
  } else {
    REQUIRE(atomic_load(&p.calls) == 0, "te_parallel_for failed with %s after calling the body", te_status_str(st));
  }
  free(p.hits);
}

/* te_parallel_reduce: a value that records the range it covers, so combine can
 * check it only merges adjacent pieces, left before right. */
struct span { size_t lo, hi; uint64_t sum; uint64_t pieces; };
struct reduce_arg { int32_t fail_code; size_t fail_at; atomic_int order_errors; };
static int32_t reduce_map(void *arg, size_t b, size_t e, void *acc) {
  struct reduce_arg *r = arg;
  struct span *s = acc;
  size_t i;
  if (s->pieces != 0 || s->lo != SIZE_MAX) atomic_fetch_add(&r->order_errors, 1); /* not the identity */
  s->lo = b;
  s->hi = e;
  s->pieces = 1;
  for (i = b; i < e; i++) s->sum += i;
  if (r->fail_at >= b && r->fail_at < e) return r->fail_code;
  return 0;
}
static int32_t reduce_combine(void *arg, void *acc, const void *other) {
  struct reduce_arg *r = arg;
  struct span *a = acc;
  const struct span *b = other;
  if (b->pieces == 0) return 0;
  if (a->pieces == 0) {
    *a = *b;
    return 0;
  }
  if (a->hi != b->lo) atomic_fetch_add(&r->order_errors, 1);
  a->hi = b->hi;
  a->sum += b->sum;
  a->pieces += b->pieces;
  return 0;
}

static void op_parallel_reduce(void) {
  int idx, det = chance(50);
  te_engine *e = pick_engine(&idx);
  struct span identity = {SIZE_MAX, 0, 0, 0}, out;
  struct reduce_arg r;
  size_t begin = below(1000), n = below(chance(10) ? 20000 : 500), grain, vsize = sizeof(struct span), end;
  int bad = (int)below(12); /* < 7: one bad argument */
  te_status st;
  unsigned want;
  wide expect;
  const char *name = det ? "te_parallel_reduce_deterministic" : "te_parallel_reduce";
  g_op = name;
  memset(&r, 0, sizeof r);
  r.fail_at = chance(15) ? begin + below(n + 1) : SIZE_MAX;
  r.fail_code = (int32_t)(1 + below(50));
  grain = chance(40) ? 0 : (size_t[]){1, 3, 100, SIZE_MAX}[below(4)];
  end = begin + n;
  fill(&out, sizeof out);
  want = S(r.fail_at < end ? TE_ERR_TASK_FAILED : TE_OK) | S(TE_ERR_NO_MEMORY);
  if (bad == 6 && n == 0) bad = 7;
  switch (bad) {
  case 0: vsize = 0; want = S(TE_ERR_INVALID); break;
  case 1: vsize = SIZE_MAX; want = S(TE_ERR_INVALID) | S(TE_ERR_NO_MEMORY); break;
  case 2: want = S(TE_ERR_NULL); break; /* identity */
  case 3: want = S(TE_ERR_NULL); break; /* out */
  case 4: want = S(TE_ERR_NULL); break; /* map */
  case 5: want = S(TE_ERR_NULL); break; /* combine */
  case 6: { size_t t = begin; begin = end; end = t; want = S(TE_ERR_INVALID); break; }
  default: break;
  }
  {
    te_status (*f)(te_engine *, size_t, size_t, size_t, const void *, size_t, te_reduce_map_fn, te_reduce_combine_fn,
                   void *, void *) = det ? te_parallel_reduce_deterministic : te_parallel_reduce;
    st = f(e, begin, end, grain, bad == 2 ? NULL : &identity, vsize, bad == 4 ? NULL : reduce_map,
           bad == 5 ? NULL : reduce_combine, &r, bad == 3 ? NULL : &out);
  }
  check_status(st, want | shutdown_ok(idx), name);
  if (st != TE_OK) {
    REQUIRE(untouched(&out, sizeof out), "%s wrote *out on failure", name);
    return;
  }
  REQUIRE(atomic_load(&r.order_errors) == 0, "%s combined pieces out of order or mapped from a non-identity", name);
  expect = n ? ((wide)begin + (wide)end - 1) * (wide)n / 2 : 0;
  if (n == 0) {
    REQUIRE(out.pieces == 0 && out.lo == SIZE_MAX, "%s of an empty range is not the identity", name);
  } else {
    REQUIRE(out.lo == begin && out.hi == end && (wide)out.sum == (uint64_t)expect,
            "%s: [%zu, %zu) sum %llu, expected [%zu, %zu) sum %llu", name, out.lo, out.hi,
            (unsigned long long)out.sum, begin, end, (unsigned long long)(uint64_t)expect);
  }
}

/* ---- groups ---- */

/* Per group: a plain task, one making nested calls, one that fails. */
static struct group_task task_args[MAX_GROUPS][3];

static void op_group_new(void) {
  int gi = (int)below(MAX_GROUPS), idx, i;
  te_engine *e;
  te_group *out;
  te_status st;
  g_op = "te_group_new";
  if (groups[gi].g) return;
  e = pick_engine(&idx);
  if (chance(5)) {
    check_status(te_group_new(e, NULL), S(TE_ERR_NULL) | shutdown_ok(idx), "te_group_new(e, NULL)");
    return;
  }
  fill(&out, sizeof out);
  st = te_group_new(e, &out);
  check_status(st, S(TE_OK) | shutdown_ok(idx), "te_group_new");
  if (st != TE_OK) {
    REQUIRE(untouched(&out, sizeof out), "te_group_new wrote *out on failure");
    return;
  }
  memset(&groups[gi], 0, sizeof groups[gi]);
  groups[gi].g = out;
  groups[gi].engine = idx;
  for (i = 0; i < 3; i++) {
    task_args[gi][i].slot = &groups[gi];
    task_args[gi][i].code = i == 2 ? 3 : 0;
    task_args[gi][i].nested = i == 1;
  }
}

static void op_group_spawn(void) {
  int gi = (int)below(MAX_GROUPS), kind = (int)below(4), null_fn = chance(3);
  struct group_slot *s = &groups[gi];
  struct group_task *t;
  unsigned want;
  te_status st;
  int bounded, shut;
  unsigned id;
  static const char *names[] = {"te_group_spawn", "te_group_try_spawn", "te_group_spawn_with_cleanup",
                                "te_group_try_spawn_with_cleanup"};
  g_op = names[kind];
  if (!s->g) {
    if (kind < 2) check_status(te_group_spawn(NULL, spawn_task, NULL), S(TE_ERR_NULL), "te_group_spawn(NULL)");
    return;
  }
  shut = s->engine_gone || (s->engine < 0 && default_down);
  bounded = s->engine >= 0 && !s->engine_gone && engines[s->engine].queue_capacity > 0;
  want = S(null_fn ? TE_ERR_NULL : TE_OK);
  if (!null_fn && s->cancelled) want = S(TE_ERR_CANCELLED);
  if (!null_fn && shut) want |= S(TE_ERR_SHUTDOWN);
  if (!null_fn && s->cancelled && shut) want |= S(TE_ERR_CANCELLED);
  if ((kind & 1) && bounded && !null_fn && !s->cancelled) want |= S(TE_ERR_QUEUE_FULL);
  if (kind < 2) {
    /* Shared, read-only arguments (set up with the group): record 2 fails. */
    int sub = chance(3);
    t = &task_args[gi][sub ? 0 : below(8) == 0 ? 2 : below(2)];
    st = (kind ? te_group_try_spawn : te_group_spawn)(s->g, null_fn ? NULL : sub ? subgroup_task : group_task_fn, t);
    if (t->code && st == TE_OK) s->failing++;
  } else {
    int null_cleanup = chance(3);
    int32_t code = chance(10) ? (int32_t)(1 + below(9)) : 0; /* *t may be freed once the call returns */
    t = xmalloc(sizeof *t);
    t->slot = s;
    t->code = code;
    t->nested = 0;
    t->id = next_cleanup_id++;
    atomic_store(&cleaned[t->id % (1u << 16)], 0);
    id = t->id;
    if (null_cleanup) want = S(TE_ERR_NULL);
    st = (kind == 2 ? te_group_spawn_with_cleanup
                    : te_group_try_spawn_with_cleanup)(s->g, null_fn ? NULL : group_task_fn, t,
                                                       null_cleanup ? NULL : group_task_cleanup);
    if (null_cleanup) free(t);
    else {
      cleanups_expected++;
      /* A refused call has run the cleanup already. */
      if (st != TE_OK)
        REQUIRE(atomic_load(&cleaned[id % (1u << 16)]), "%s failed (%s) without running the cleanup", g_op,
                te_status_str(st));
    }
    if (!null_cleanup && st == TE_OK && code) s->failing++;
  }
  check_status(st, want, g_op);
  if (st == TE_OK) s->added++;
}

/* te_group_spawn_inline: the argument travels as bytes copied into the task. */
struct inline_task { struct group_slot *slot; int32_t code; };
static int32_t inline_task_fn(void *copy) {
  struct inline_task *t = copy;
  REQUIRE(((uintptr_t)copy & 7) == 0, "inline task bytes not aligned to 8");
  atomic_fetch_add(&t->slot->ran, 1);
  return t->code;
}

static void op_group_inline(void) {
  int gi = (int)below(MAX_GROUPS), try_only = chance(30);
  struct group_slot *s = &groups[gi];
  struct inline_task t;
  static int user_values[2];
  unsigned want;
  te_status st;
  int shut, bounded;
  size_t size = sizeof t;
  const void *data = &t;
  g_op = try_only ? "te_group_try_spawn_inline" : "te_group_spawn_inline";
  if (!s->g) {
    check_status(te_group_spawn_inline(NULL, inline_task_fn, &t, sizeof t), S(TE_ERR_NULL), "te_group_spawn_inline(NULL)");
    REQUIRE(te_group_user_data(NULL) == NULL, "te_group_user_data(NULL)");
    return;
  }
  if (chance(10)) { /* the owner's slot: set once, then always the first value */
    void *before = te_group_user_data(s->g);
    void *now = te_group_user_data_init(s->g, &user_values[below(2)]);
    REQUIRE(now != NULL && (before == NULL || now == before) && te_group_user_data(s->g) == now,
            "te_group_user_data_init: %p then %p", before, now);
  }
  t.slot = s;
  t.code = chance(10) ? (int32_t)(1 + below(9)) : 0;
  shut = s->engine_gone || (s->engine < 0 && default_down);
  bounded = s->engine >= 0 && !s->engine_gone && engines[s->engine].queue_capacity > 0;
  if (chance(5)) size = TE_INLINE_TASK_BYTES + 1 + (chance(50) ? 0 : (size_t)-1 / 2);
  else if (chance(5)) data = NULL;
  if (size > TE_INLINE_TASK_BYTES) want = S(TE_ERR_INVALID);
  else if (!data) want = S(TE_ERR_NULL);
  else {
    want = S(s->cancelled ? TE_ERR_CANCELLED : TE_OK);
    if (shut) want |= S(TE_ERR_SHUTDOWN) | (s->cancelled ? S(TE_ERR_CANCELLED) : 0);
    if (try_only && bounded && !s->cancelled) want |= S(TE_ERR_QUEUE_FULL);
  }
  st = (try_only ? te_group_try_spawn_inline : te_group_spawn_inline)(s->g, inline_task_fn, data, size);
  check_status(st, want, g_op);
  if (st == TE_OK) {
    s->added++;
    if (t.code) s->failing++;
  }
}

static void check_group_counts(struct group_slot *s, const char *after) {
  long ran = atomic_load(&s->ran), skipped = (long)te_group_skipped(s->g);
  REQUIRE(te_group_pending(s->g) == 0, "%s: %zu tasks pending", after, te_group_pending(s->g));
  REQUIRE(ran + skipped == s->added, "%s: %ld ran + %ld skipped != %ld added", after, ran, skipped, s->added);
  REQUIRE(s->cancelled || skipped == 0, "%s: %ld skipped in an uncancelled group", after, skipped);
}

static void op_group_wait(void) {
  int gi = (int)below(MAX_GROUPS), kind = (int)below(3);
  struct group_slot *s = &groups[gi];
  te_status st, fst;
  int32_t code;
  unsigned want = S(TE_OK) | S(TE_ERR_TASK_FAILED) | S(TE_ERR_CANCELLED);
  g_op = kind == 0 ? "te_group_wait" : kind == 1 ? "te_group_wait_timeout" : "te_group_wait_isolated";
  if (!s->g) {
    st = kind == 0 ? te_group_wait(NULL) : kind == 1 ? te_group_wait_timeout(NULL, 1) : te_group_wait_isolated(NULL);
    check_status(st, S(TE_ERR_NULL), g_op);
    return;
  }
  if (kind == 1) want |= S(TE_ERR_TIMEOUT);
  if (s->engine_gone || s->engine < 0) want |= S(TE_ERR_SHUTDOWN);
  st = kind == 0 ? te_group_wait(s->g) : kind == 1 ? te_group_wait_timeout(s->g, below(3)) : te_group_wait_isolated(s->g);
  check_status(st, want, g_op);
  if (st == TE_ERR_TIMEOUT) return;
  check_group_counts(s, g_op);
  fill(&fst, sizeof fst);
  fill(&code, sizeof code);
  check_status(te_group_failure(s->g, &fst, &code), S(TE_OK), "te_group_failure");
  REQUIRE(fst == TE_OK || fst == TE_ERR_TASK_FAILED || fst == TE_ERR_PANIC, "te_group_failure status %d", (int)fst);
  if (fst == TE_ERR_TASK_FAILED) {
    REQUIRE(code >= 1 && code <= 9, "te_group_failure code %d", code);
    REQUIRE(st == TE_ERR_TASK_FAILED, "the group failed but its wait returned %s", te_status_str(st));
    REQUIRE(te_group_failure_message(s->g) != NULL, "a failed group has no message");
  } else {
    REQUIRE(code == 0 && te_group_failure_message(s->g) == NULL, "no failure but code %d or a message", code);
    REQUIRE(st != TE_ERR_TASK_FAILED, "wait failed with no failure recorded");
    if (!s->cancelled && st != TE_ERR_SHUTDOWN) REQUIRE(st == TE_OK, "wait %s", te_status_str(st));
    /* Tasks that return non-zero and were not skipped must have failed it. */
    if (!s->cancelled && s->failing) fail("%ld failing tasks, no failure recorded", s->failing);
  }
}

static void op_group_misc(void) {
  int gi = (int)below(MAX_GROUPS), what = (int)below(4);
  struct group_slot *s = &groups[gi];
  te_status fst;
  int32_t code;
  te_status st;
  g_op = "te_group_cancel/is_cancelled/failure";
  if (!s->g) {
    check_status(te_group_cancel(NULL), S(TE_ERR_NULL), "te_group_cancel(NULL)");
    REQUIRE(!te_group_is_cancelled(NULL) && te_group_skipped(NULL) == 0 && te_group_pending(NULL) == 0 &&
                te_group_failure_message(NULL) == NULL,
            "NULL group queries");
    fill(&fst, sizeof fst);
    fill(&code, sizeof code);
    check_status(te_group_failure(NULL, &fst, &code), S(TE_ERR_NULL), "te_group_failure(NULL)");
    REQUIRE(untouched(&fst, sizeof fst) && untouched(&code, sizeof code), "te_group_failure wrote on failure");
    return;
  }
  switch (what) {
  case 0:
    if (chance(30)) {
      s->cancelled = 1;
      check_status(te_group_cancel(s->g), S(TE_OK), "te_group_cancel");
    }
    break;
  case 1:
    REQUIRE(te_group_is_cancelled(s->g) == (s->cancelled != 0), "te_group_is_cancelled");
    REQUIRE(te_group_pending(s->g) <= (size_t)s->added, "te_group_pending above the tasks added");
    break;
  default:
    fill(&fst, sizeof fst);
    fill(&code, sizeof code);
    st = te_group_failure(s->g, chance(50) ? NULL : &fst, chance(50) ? NULL : &code);
    check_status(st, S(TE_OK) | S(TE_ERR_NULL), "te_group_failure");
    if (st != TE_OK) REQUIRE(untouched(&fst, sizeof fst) && untouched(&code, sizeof code), "te_group_failure wrote on failure");
    break;
  }
}

static void free_group(int gi) {
  struct group_slot *s = &groups[gi];
  g_op = "te_group_free";
  te_group_free(s->g);
  /* te_group_free waits for the tasks already added. */
  REQUIRE(atomic_load(&s->ran) <= s->added, "more tasks ran than were added");
  s->g = NULL;
}

static void op_group_free(void) {
  int gi = (int)below(MAX_GROUPS);
  if (groups[gi].g) free_group(gi);
  else te_group_free(NULL);
}

/* ---- arenas ---- */

static void op_arena_new(void) {
  int ai = (int)below(MAX_ARENAS);
  struct arena_slot *s = &arenas[ai];
  uint32_t kind = (uint32_t)(chance(10) ? 2 + below(3) : below(2));
  size_t cap;
  te_arena *out;
  te_status st;
  unsigned want;
  g_op = "te_arena_new";
  if (s->a) return;
  cap = (size_t[]){0, 1, 64, 4096, 65536, 1u << 20, 16u << 20}[below(7)];
  if (chance(10)) cap = chance(50) ? SIZE_MAX : (size_t)1 << 34; /* reserved lazily, or refused */
  fill(&out, sizeof out);
  if (chance(3)) {
    check_status(te_arena_new(kind, cap, NULL), S(TE_ERR_NULL) | S(TE_ERR_INVALID), "te_arena_new(NULL)");
    return;
  }
  st = te_arena_new(kind, cap, &out);
  want = kind > 1 || cap == 0 ? S(TE_ERR_INVALID) : S(TE_OK) | S(TE_ERR_NO_MEMORY) | S(TE_ERR_INVALID);
  if (kind <= 1 && cap >= 4096 && cap <= (16u << 20)) want = S(TE_OK);
  check_status(st, want, "te_arena_new");
  if (st != TE_OK) {
    REQUIRE(untouched(&out, sizeof out), "te_arena_new wrote *out on failure");
    return;
  }
  memset(s, 0, sizeof *s);
  s->a = out;
  s->kind = kind;
  s->capacity = cap;
}

static void forget_live(struct arena_slot *s, int i) { s->live[i] = s->live[--s->nlive]; }

static void op_arena_use(void) {
  int ai = (int)below(MAX_ARENAS), what = (int)below(10), i;
  struct arena_slot *s = &arenas[ai];
  te_status st;
  g_op = "te_arena_alloc/free/reset/stats";
  if (!s->a) {
    void *p;
    struct te_arena_usage u;
    fill(&p, sizeof p);
    check_status(te_arena_alloc(NULL, 8, 8, &p), S(TE_ERR_NULL), "te_arena_alloc(NULL)");
    REQUIRE(untouched(&p, sizeof p), "te_arena_alloc wrote *out on failure");
    check_status(te_arena_dealloc(NULL, &p), S(TE_ERR_NULL) | S(TE_OK), "te_arena_dealloc(NULL arena)");
    check_status(te_arena_reset(NULL), S(TE_ERR_NULL), "te_arena_reset(NULL)");
    fill(&u, sizeof u);
    check_status(te_arena_stats(NULL, &u), S(TE_ERR_NULL), "te_arena_stats(NULL)");
    REQUIRE(untouched(&u, sizeof u), "te_arena_stats wrote on failure");
    te_arena_free(NULL);
    return;
  }
  /* Every live block still holds its pattern: nothing overlapped it. */
  for (i = 0; i < s->nlive; i++) {
    size_t k;
    for (k = 0; k < s->live[i].size; k++)
      REQUIRE(s->live[i].p[k] == s->live[i].tag, "arena block %p overwritten at byte %zu", (void *)s->live[i].p, k);
  }
  if (what < 5) { /* alloc */
    size_t size = (size_t[]){0, 1, 7, 64, 1000, 70000, SIZE_MAX, SIZE_MAX / 2}[below(8)];
    size_t align = chance(15) ? (size_t[]){0, 3, 8192, SIZE_MAX}[below(4)] : (size_t)1 << below(13);
    void *p;
    int bad_align = align == 0 || (align & (align - 1)) || align > 4096;
    fill(&p, sizeof p);
    if (s->nlive == MAX_LIVE) return;
    st = te_arena_alloc(s->a, size, align, chance(3) ? NULL : &p);
    check_status(st, bad_align ? S(TE_ERR_INVALID) | S(TE_ERR_NULL) : S(TE_OK) | S(TE_ERR_NO_MEMORY) | S(TE_ERR_NULL),
                 "te_arena_alloc");
    if (st != TE_OK) {
      REQUIRE(untouched(&p, sizeof p), "te_arena_alloc wrote *out on failure");
      return;
    }
    REQUIRE(size <= s->capacity, "te_arena_alloc gave %zu bytes of a %zu-byte arena", size, s->capacity);
    REQUIRE(((uintptr_t)p & (align - 1)) == 0, "te_arena_alloc: %p not aligned to %zu", p, align);
    for (i = 0; i < s->nlive; i++) {
      unsigned char *q = s->live[i].p;
      size_t qs = s->live[i].size ? s->live[i].size : 1;
      REQUIRE((unsigned char *)p + (size ? size : 1) <= q || q + qs <= (unsigned char *)p,
              "te_arena_alloc: [%p, +%zu) overlaps a live block [%p, +%zu)", p, size, (void *)q, s->live[i].size);
    }
    s->allocations++;
    s->live[s->nlive].p = p;
    s->live[s->nlive].size = size;
    s->live[s->nlive].tag = (unsigned char)below(256);
    memset(p, s->live[s->nlive].tag, size);
    s->nlive++;
  } else if (what < 8) { /* free: a live block, its interior, twice, or a foreign pointer */
    int how = (int)below(4);
    unsigned char foreign[16];
    if (how == 0 || s->nlive == 0) {
      st = te_arena_dealloc(s->a, chance(50) ? (void *)foreign : (void *)(foreign + 1));
      check_status(st, S(TE_ERR_INVALID), "te_arena_dealloc(foreign pointer)");
      s->invalid_frees++;
      return;
    }
    i = (int)below((uint64_t)s->nlive);
    if (how == 1 && s->live[i].size > 1) {
      st = te_arena_dealloc(s->a, s->live[i].p + 1);
      /* A bump arena may not tell an interior pointer from one it handed out. */
      check_status(st, s->kind == TE_ARENA_FREE_LIST ? S(TE_ERR_INVALID) : S(TE_OK) | S(TE_ERR_INVALID),
                   "te_arena_dealloc(interior)");
      if (st == TE_ERR_INVALID) s->invalid_frees++;
      return;
    }
    st = te_arena_dealloc(s->a, s->live[i].p);
    check_status(st, S(TE_OK), "te_arena_dealloc");
    if (s->kind == TE_ARENA_FREE_LIST) {
      void *p = s->live[i].p;
      forget_live(s, i);
      if (how == 2) { /* a double free is refused and changes nothing */
        check_status(te_arena_dealloc(s->a, p), S(TE_ERR_INVALID), "te_arena_dealloc (twice)");
        s->invalid_frees++;
      }
    }
    /* A bump arena keeps the block: it stays live until reset. */
  } else if (what == 8) {
    struct te_arena_usage u;
    fill(&u, sizeof u);
    st = te_arena_stats(s->a, &u);
    check_status(st, S(TE_OK), "te_arena_stats");
    REQUIRE(u.kind == s->kind, "te_arena_stats kind %u", u.kind);
    REQUIRE(u.capacity <= s->capacity && u.used <= s->capacity && u.peak >= u.used, "te_arena_stats sizes");
    REQUIRE(u.allocations == s->allocations, "te_arena_stats: %llu allocations, made %llu",
            (unsigned long long)u.allocations, (unsigned long long)s->allocations);
    REQUIRE(u.invalid_frees == s->invalid_frees, "te_arena_stats: %llu invalid frees, made %llu",
            (unsigned long long)u.invalid_frees, (unsigned long long)s->invalid_frees);
    REQUIRE(u.fragmentation >= 0.0 && u.fragmentation <= 1.0, "fragmentation %g", u.fragmentation);
  } else if (chance(30)) {
    check_status(te_arena_reset(s->a), S(TE_OK), "te_arena_reset");
    s->nlive = 0;
  } else if (chance(30)) {
    g_op = "te_arena_free";
    te_arena_free(s->a);
    s->a = NULL;
  }
}

/* ---- kernels: arrays ---- */

static size_t pick_len(void) {
  if (chance(1)) return 150000 + below(200000); /* the parallel path (over 2^17) */
  return chance(20) ? below(4) : below(600);
}

static int64_t pick_i64(int extreme) {
  if (extreme && chance(30)) return (int64_t[]){INT64_MAX, INT64_MIN, -1, 0, 1, INT64_MAX - 1}[below(6)];
  return chance(50) ? (int64_t)rnd() : (int64_t)(rnd() >> 20) - ((int64_t)1 << 43);
}

static double pick_f64(int specials, int integers) {
  if (specials && chance(5))
    return (double[]){0.0, -0.0, INFINITY, -INFINITY, NAN, -NAN, 5e-324, -5e-324, 1.7976931348623157e308}[below(9)];
  if (integers) return (double)((int64_t)below(1u << 30) - (1 << 29));
  if (chance(10)) {
    uint64_t bits = rnd();
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
  }
  return ((double)(int64_t)rnd()) * pow(2.0, (double)((int)below(80) - 100));
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}
static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}
/* -inf < ... < -0.0 < +0.0 < ... < +inf < NaN. */
static int f64_key(double d, double *out) {
  if (isnan(d)) return 1;
  *out = d;
  return 0;
}
static int cmp_f64(const void *a, const void *b) {
  double x = 0, y = 0;
  int nx = f64_key(*(const double *)a, &x), ny = f64_key(*(const double *)b, &y);
  if (nx || ny) return nx - ny;
  if (x == 0 && y == 0) return (signbit(y) != 0) - (signbit(x) != 0);
  return (x > y) - (x < y);
}
/* Same value in the f64 order (any NaN equals any NaN, -0.0 differs from +0.0). */
static int same_f64(double a, double b) {
  if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
  return memcmp(&a, &b, sizeof a) == 0;
}

/* A pointer variant for an array argument: valid, NULL, misaligned, and a
 * length no array can have. *bad says what the call must answer. */
enum ptr_kind { P_OK, P_NULL, P_MISALIGNED, P_HUGE };
static enum ptr_kind pick_ptr_kind(void) {
  if (!chance(12)) return P_OK;
  return (enum ptr_kind)(1 + below(3));
}
static unsigned bad_array_status(enum ptr_kind k, size_t len) {
  switch (k) {
  case P_NULL: return len ? S(TE_ERR_NULL) : S(TE_OK);
  case P_MISALIGNED: return len ? S(TE_ERR_INVALID) : S(TE_OK) | S(TE_ERR_INVALID);
  case P_HUGE: return S(TE_ERR_INVALID);
  default: return S(TE_OK);
  }
}
static size_t huge_len(size_t elem) {
  return (size_t[]){SIZE_MAX, SIZE_MAX / 2 + 1, (size_t)PTRDIFF_MAX / elem + 1}[below(3)];
}

static void op_sum_min_max_i64(void) {
  int idx, serial = chance(40), which = (int)below(3);
  te_engine *e = pick_engine(&idx);
  size_t n = pick_len(), i, ln;
  int64_t *v = xmalloc((n + 1) * sizeof *v), out, ref = 0;
  const int64_t *arg = v;
  enum ptr_kind k = pick_ptr_kind();
  int null_out = chance(4), extreme = chance(20);
  wide exact = 0;
  te_status st;
  unsigned want;
  static const char *names[3][2] = {{"te_sum_i64", "te_sum_i64_serial"},
                                    {"te_max_i64", "te_max_i64_serial"},
                                    {"te_min_i64", "te_min_i64_serial"}};
  g_op = names[which][serial];
  for (i = 0; i < n; i++) v[i] = pick_i64(extreme);
  ln = n;
  if (k == P_NULL) arg = NULL;
  else if (k == P_MISALIGNED) arg = (const int64_t *)(const void *)((const char *)v + 1 + below(7));
  else if (k == P_HUGE) ln = huge_len(8);
  for (i = 0; i < n; i++) {
    exact += v[i];
    if (i == 0 || (which == 1 ? v[i] > ref : v[i] < ref)) ref = v[i];
  }
  want = bad_array_status(k, ln);
  if (want == S(TE_OK)) {
    if (which == 0) want = exact > INT64_MAX || exact < INT64_MIN ? S(TE_ERR_OVERFLOW) : S(TE_OK);
    else want = ln == 0 ? S(TE_ERR_INVALID) : S(TE_OK);
    if (k == P_MISALIGNED && ln == 0) want |= S(TE_ERR_INVALID);
  }
  if (null_out) want = S(TE_ERR_NULL) | (k != P_OK ? want : 0);
  fill(&out, sizeof out);
  {
    te_status (*par[3])(te_engine *, const int64_t *, size_t, int64_t *) = {te_sum_i64, te_max_i64, te_min_i64};
    te_status (*ser[3])(const int64_t *, size_t, int64_t *) = {te_sum_i64_serial, te_max_i64_serial, te_min_i64_serial};
    st = serial ? ser[which](arg, ln, null_out ? NULL : &out) : par[which](e, arg, ln, null_out ? NULL : &out);
  }
  check_status(st, want | (serial ? 0 : shutdown_ok(idx)), g_op);
  if (st != TE_OK) REQUIRE(untouched(&out, sizeof out), "%s wrote *out on failure", g_op);
  else if (k == P_OK && n > 0)
    REQUIRE(out == (which == 0 ? (int64_t)exact : ref), "%s = %lld, expected %lld", g_op, (long long)out,
            (long long)(which == 0 ? (int64_t)exact : ref));
  else if (which == 0) REQUIRE(out == 0, "%s of nothing = %lld", g_op, (long long)out);
  free(v);
}

static void op_sum_min_max_f64(void) {
  int idx, serial = chance(40), which = (int)below(3);
  te_engine *e = pick_engine(&idx);
  size_t n = pick_len(), i, ln, nans = 0;
  double *v = xmalloc((n + 1) * sizeof *v), out, ref = 0, other;
  const double *arg = v;
  enum ptr_kind k = pick_ptr_kind();
  int null_out = chance(4), integers = chance(50), pinf = 0, ninf = 0;
  te_status st;
  unsigned want;
  static const char *names[3][2] = {{"te_sum_f64", "te_sum_f64_serial"},
                                    {"te_max_f64", "te_max_f64_serial"},
                                    {"te_min_f64", "te_min_f64_serial"}};
  g_op = names[which][serial];
  for (i = 0; i < n; i++) v[i] = pick_f64(chance(30), integers);
  if (chance(5)) for (i = 0; i < n; i++) v[i] = NAN;
  /* Exact sums only for small integers (a special value may have slipped in). */
  for (i = 0; i < n && integers; i++) integers = fabs(v[i]) < 1e9 && v[i] == trunc(v[i]);
  ln = n;
  if (k == P_NULL) arg = NULL;
  else if (k == P_MISALIGNED) arg = (const double *)(const void *)((const char *)v + 1 + below(7));
  else if (k == P_HUGE) ln = huge_len(8);
  for (i = 0; i < n; i++) {
    int first = i == nans; /* no non-NaN before this one */
    if (isnan(v[i])) { nans++; continue; }
    if (isinf(v[i])) { if (v[i] > 0) pinf = 1; else ninf = 1; }
    if (first || (which == 1 ? cmp_f64(&v[i], &ref) > 0 : cmp_f64(&v[i], &ref) < 0)) ref = v[i];
  }
  if (nans == n) ref = NAN;
  want = bad_array_status(k, ln);
  if (want == S(TE_OK)) {
    want = which != 0 && ln == 0 ? S(TE_ERR_INVALID) : S(TE_OK);
    if (k == P_MISALIGNED && ln == 0) want |= S(TE_ERR_INVALID);
  }
  if (null_out) want = S(TE_ERR_NULL) | (k != P_OK ? want : 0);
  fill(&out, sizeof out);
  {
    te_status (*par[3])(te_engine *, const double *, size_t, double *) = {te_sum_f64, te_max_f64, te_min_f64};
    te_status (*ser[3])(const double *, size_t, double *) = {te_sum_f64_serial, te_max_f64_serial, te_min_f64_serial};
    st = serial ? ser[which](arg, ln, null_out ? NULL : &out) : par[which](e, arg, ln, null_out ? NULL : &out);
  }
  check_status(st, want | (serial ? 0 : shutdown_ok(idx)), g_op);
  if (st != TE_OK) {
    REQUIRE(untouched(&out, sizeof out), "%s wrote *out on failure", g_op);
  } else if (k != P_OK || n == 0) {
    REQUIRE(which != 0 || (out == 0.0 && !signbit(out)), "%s of nothing = %g", g_op, out);
  } else if (which != 0) {
    REQUIRE(same_f64(out, ref), "%s = %a, expected %a", g_op, out, ref);
  } else {
    /* The sum: NaN rules, infinities, and exact for small integers; the same
     * bits serially and in parallel. */
    if (nans || (pinf && ninf)) REQUIRE(isnan(out), "%s with NaN or both infinities = %g", g_op, out);
    else if (pinf || ninf) REQUIRE(isinf(out) && (out > 0) == pinf, "%s with an infinity = %g", g_op, out);
    else if (integers) {
      wide exact = 0;
      for (i = 0; i < n; i++) exact += (int64_t)v[i];
      REQUIRE(out == (double)exact, "%s of integers = %.17g, expected %lld", g_op, out, (long long)exact);
    }
    other = 0;
    check_status(te_sum_f64_serial(v, n, &other), S(TE_OK), "te_sum_f64_serial");
    REQUIRE(same_f64(out, other), "%s = %a but serially %a", g_op, out, other);
  }
  free(v);
}

static void op_sort(void) {
  int idx, serial = chance(40), which = (int)below(3), specials = chance(30);
  te_engine *e = pick_engine(&idx);
  size_t n = pick_len(), i, ln;
  uint64_t *v = xmalloc((n + 1) * 8), *ref = xmalloc((n + 1) * 8), *copy = xmalloc((n + 1) * 8);
  void *arg = v;
  enum ptr_kind k = pick_ptr_kind();
  te_status st;
  static const char *names[3][2] = {{"te_sort_i64", "te_sort_i64_serial"},
                                    {"te_sort_u64", "te_sort_u64_serial"},
                                    {"te_sort_f64", "te_sort_f64_serial"}};
  g_op = names[which][serial];
  if (trace) fprintf(stderr, "  %s engine %d, n %zu, pointer kind %d\n", g_op, idx, n, (int)k);
  for (i = 0; i < n; i++) {
    if (which == 2) {
      double d = pick_f64(specials, chance(20));
      memcpy(&v[i], &d, 8);
    } else {
      v[i] = chance(20) ? below(8) : (uint64_t)pick_i64(1);
    }
  }
  memcpy(ref, v, n * 8);
  memcpy(copy, v, n * 8);
  qsort(ref, n, 8, which == 0 ? cmp_i64 : which == 1 ? cmp_u64 : cmp_f64);
  ln = n;
  if (k == P_NULL) arg = NULL;
  else if (k == P_MISALIGNED) arg = (char *)v + 1 + below(7);
  else if (k == P_HUGE) ln = huge_len(8);
  switch (which * 2 + serial) {
  case 0: st = te_sort_i64(e, arg, ln); break;
  case 1: st = te_sort_i64_serial(arg, ln); break;
  case 2: st = te_sort_u64(e, arg, ln); break;
  case 3: st = te_sort_u64_serial(arg, ln); break;
  case 4: st = te_sort_f64(e, arg, ln); break;
  default: st = te_sort_f64_serial(arg, ln); break;
  }
  check_status(st, bad_array_status(k, ln) | (serial ? 0 : shutdown_ok(idx)), g_op);
  if (st != TE_OK || k != P_OK) {
    REQUIRE(memcmp(v, copy, n * 8) == 0, "%s changed the data but returned %s", g_op, te_status_str(st));
  } else if (which == 2) {
    for (i = 0; i < n; i++) {
      double a, b;
      memcpy(&a, &v[i], 8);
      memcpy(&b, &ref[i], 8);
      REQUIRE(same_f64(a, b), "%s: element %zu of %zu is %a, expected %a", g_op, i, n, a, b);
    }
  } else {
    REQUIRE(memcmp(v, ref, n * 8) == 0, "%s differs from qsort (n = %zu)", g_op, n);
  }
  free(v);
  free(ref);
  free(copy);
}

static void op_mem(void) {
  int idx, serial = chance(40), compare = chance(50);
  te_engine *e = pick_engine(&idx);
  size_t size = chance(2) ? 300000 + below(100000) : below(2000), len, doff, soff;
  unsigned char *buf = xmalloc(size + 1), *ref = xmalloc(size + 1);
  te_status st;
  int which = (int)below(10);
  size_t i;
  for (i = 0; i < size; i++) buf[i] = (unsigned char)rnd();
  len = below(size + 1);
  doff = below(size - len + 1);
  soff = below(size - len + 1);
  memcpy(ref, buf, size);
  if (!compare) {
    g_op = serial ? "te_mem_copy_serial" : "te_mem_copy";
    if (which == 0) { /* NULL with a length, or a length no object has */
      st = serial ? te_mem_copy_serial(NULL, buf, len | 1) : te_mem_copy(e, buf, NULL, len | 1);
      check_status(st, S(TE_ERR_NULL) | (serial ? 0 : shutdown_ok(idx)), g_op);
    } else if (which == 1) {
      st = serial ? te_mem_copy_serial(buf, buf, SIZE_MAX) : te_mem_copy(e, buf, buf, (size_t)PTRDIFF_MAX + 1);
      check_status(st, S(TE_ERR_INVALID) | (serial ? 0 : shutdown_ok(idx)), g_op);
    } else {
      st = serial ? te_mem_copy_serial(buf + doff, buf + soff, len) : te_mem_copy(e, buf + doff, buf + soff, len);
      check_status(st, S(TE_OK) | (serial ? 0 : shutdown_ok(idx)), g_op);
      if (st == TE_OK) memmove(ref + doff, ref + soff, len);
    }
    REQUIRE(memcmp(buf, ref, size) == 0, "%s differs from memmove (len %zu, dst +%zu, src +%zu)", g_op, len, doff, soff);
  } else {
    int32_t out;
    int expect;
    g_op = serial ? "te_mem_compare_serial" : "te_mem_compare";
    if (chance(50) && len) buf[soff + below(len)] ^= (unsigned char)(1 + below(255)); /* a difference */
    fill(&out, sizeof out);
    if (which == 0) {
      st = serial ? te_mem_compare_serial(buf, NULL, len | 1, &out) : te_mem_compare(e, buf, buf, len, NULL);
      check_status(st, S(TE_ERR_NULL) | (serial ? 0 : shutdown_ok(idx)), g_op);
      REQUIRE(untouched(&out, sizeof out), "%s wrote *out on failure", g_op);
    } else if (which == 1) {
      st = serial ? te_mem_compare_serial(buf, buf, SIZE_MAX, &out)
                  : te_mem_compare(e, buf, buf, (size_t)PTRDIFF_MAX + 1, &out);
      check_status(st, S(TE_ERR_INVALID) | (serial ? 0 : shutdown_ok(idx)), g_op);
      REQUIRE(untouched(&out, sizeof out), "%s wrote *out on failure", g_op);
    } else {
      st = serial ? te_mem_compare_serial(buf + soff, ref + soff, len, &out)
                  : te_mem_compare(e, buf + soff, ref + soff, len, &out);
      check_status(st, S(TE_OK) | (serial ? 0 : shutdown_ok(idx)), g_op);
      expect = len ? memcmp(buf + soff, ref + soff, len) : 0;
      expect = (expect > 0) - (expect < 0);
      if (st == TE_OK) REQUIRE(out == expect, "%s = %d, memcmp says %d", g_op, out, expect);
      else REQUIRE(untouched(&out, sizeof out), "%s wrote *out on failure", g_op);
    }
  }
  free(buf);
  free(ref);
}

/* ---- kernels: math ---- */

static uint64_t ref_gcd(uint64_t a, uint64_t b) {
  while (b) {
    uint64_t t = a % b;
    a = b;
    b = t;
  }
  return a;
}

static uint64_t pick_u64(void) {
  switch (below(5)) {
  case 0: return below(100);
  case 1: return (uint64_t[]){0, 1, UINT64_MAX, UINT64_MAX - 1, (uint64_t)1 << 63, 4294967295u, 4294967296u}[below(7)];
  case 2: { uint64_t r = below(1u << 31) + 1; return r * r - below(2); } /* near squares */
  default: return rnd();
  }
}

static void op_math(void) {
  uint64_t out, a = pick_u64(), b = pick_u64(), expect = 0;
  int which = (int)below(7), null_out = chance(5), ok = 1;
  te_status st;
  fill(&out, sizeof out);
  switch (which) {
  case 0: {
    uint32_t n = (uint32_t)(chance(80) ? below(25) : rnd());
    wide f = 1;
    uint32_t i;
    g_op = "te_factorial";
    for (i = 2; i <= n && ok; i++) {
      f *= i;
      if (f > UINT64_MAX) ok = 0;
    }
    expect = (uint64_t)f;
    st = te_factorial(n, null_out ? NULL : &out);
    break;
  }
  case 1: {
    uint32_t n = (uint32_t)(chance(80) ? below(100) : rnd()), i;
    wide x = 0, y = 1;
    g_op = "te_fibonacci";
    for (i = 0; i < n && ok; i++) {
      wide t = x + y;
      x = y;
      y = t;
      if (x > UINT64_MAX) ok = 0;
    }
    expect = (uint64_t)x;
    st = te_fibonacci(n, null_out ? NULL : &out);
    break;
  }
  case 2:
    g_op = "te_gcd";
    expect = ref_gcd(a, b);
    st = te_gcd(a, b, null_out ? NULL : &out);
    break;
  case 3: {
    uwide l;
    g_op = "te_lcm";
    l = (a == 0 || b == 0) ? 0 : (uwide)(a / ref_gcd(a, b)) * b;
    ok = l <= UINT64_MAX;
    expect = (uint64_t)l;
    st = te_lcm(a, b, null_out ? NULL : &out);
    break;
  }
  case 4: {
    uint64_t lo = 0, hi = 4294967296u;
    g_op = "te_isqrt";
    while (hi - lo > 1) { /* largest r with r*r <= a, in 128 bits */
      uint64_t mid = lo + (hi - lo) / 2;
      if ((wide)mid * mid <= a) lo = mid;
      else hi = mid;
    }
    expect = lo;
    st = te_isqrt(a, null_out ? NULL : &out);
    break;
  }
  case 5: {
    double x = pick_f64(1, chance(30)), d;
    fill(&d, sizeof d);
    g_op = "te_sqrt";
    st = te_sqrt(x, null_out ? NULL : &d);
    ok = !(x < 0 || isnan(x));
    check_status(st, null_out ? S(TE_ERR_NULL) | (ok ? 0 : S(TE_ERR_INVALID)) : S(ok ? TE_OK : TE_ERR_INVALID), g_op);
    if (st == TE_OK) REQUIRE(same_f64(d, sqrt(x)), "te_sqrt(%a) = %a, libc says %a", x, d, sqrt(x));
    else REQUIRE(untouched(&d, sizeof d), "te_sqrt wrote *out on failure");
    return;
  }
  default: {
    /* FNV-1a 64: published vectors, then random bytes against this file's loop. */
    static const struct { const char *s; uint64_t h; } vectors[] = {
        {"", 0xcbf29ce484222325ull}, {"a", 0xaf63dc4c8601ec8cull}, {"foobar", 0x85944171f73967e8ull}};
    unsigned char bytes[300];
    size_t n = below(sizeof bytes), i;
    uint64_t h = 0xcbf29ce484222325ull;
    int v = (int)below(4);
    g_op = "te_hash_fnv1a64";
    if (v < 3) {
      st = te_hash_fnv1a64(vectors[v].s, strlen(vectors[v].s), null_out ? NULL : &out);
      expect = vectors[v].h;
    } else {
      for (i = 0; i < n; i++) {
        bytes[i] = (unsigned char)rnd();
        h = (h ^ bytes[i]) * 0x100000001b3ull;
      }
      expect = h;
      if (chance(10)) {
        st = te_hash_fnv1a64(NULL, n | 1, &out);
        check_status(st, S(TE_ERR_NULL), g_op);
        REQUIRE(untouched(&out, sizeof out), "%s wrote *out on failure", g_op);
        return;
      }
      st = te_hash_fnv1a64(n ? bytes : (chance(50) ? NULL : bytes), n, null_out ? NULL : &out);
    }
    break;
  }
  }
  check_status(st, null_out ? S(TE_ERR_NULL) | (ok ? 0 : S(TE_ERR_OVERFLOW)) : S(ok ? TE_OK : TE_ERR_OVERFLOW), g_op);
  if (st == TE_OK) REQUIRE(out == expect, "%s = %llu, expected %llu", g_op, (unsigned long long)out, (unsigned long long)expect);
  else REQUIRE(untouched(&out, sizeof out), "%s wrote *out on failure", g_op);
}

/* ---- kernels: text, with a small UTF-8 reference ---- */

/* Code points whose upper case is known here (Unicode's UnicodeData and
 * SpecialCasing), and what they become. */
static const struct { uint32_t cp; uint32_t up[3]; } upper_table[] = {
    {'a', {'A'}}, {'z', {'Z'}}, {'A', {'A'}}, {'0', {'0'}}, {' ', {' '}}, {0x7F, {0x7F}}, {0, {0}},
    {0xDF, {'S', 'S'}},               /* ß */
    {0xE9, {0xC9}},                   /* é */
    {0xFF, {0x178}},                  /* ÿ */
    {0x3C3, {0x3A3}},                 /* σ */
    {0x3C2, {0x3A3}},                 /* ς */
    {0x149, {0x2BC, 'N'}},            /* ŉ */
    {0x1C5, {0x1C4}},                 /* ǅ */
    {0xFB01, {'F', 'I'}},             /* ﬁ */
    {0xFB03, {'F', 'F', 'I'}},        /* ﬃ */
    {0x390, {0x399, 0x308, 0x301}},   /* ΐ */
    {0x4E2D, {0x4E2D}},               /* 中 */
    {0x1F600, {0x1F600}},             /* 😀 */
    {0x10428, {0x10400}},             /* 𐐨 */
    {0x7FF, {0x7FF}}, {0x800, {0x800}}, {0xFFFD, {0xFFFD}}, {0x10000, {0x10000}}, {0x10FFFF, {0x10FFFF}},
};
#define UPPER_N (sizeof upper_table / sizeof upper_table[0])

static size_t put_utf8(uint32_t cp, unsigned char *o) {
  if (cp < 0x80) { o[0] = (unsigned char)cp; return 1; }
  if (cp < 0x800) { o[0] = (unsigned char)(0xC0 | cp >> 6); o[1] = (unsigned char)(0x80 | (cp & 0x3F)); return 2; }
  if (cp < 0x10000) {
    o[0] = (unsigned char)(0xE0 | cp >> 12);
    o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    o[2] = (unsigned char)(0x80 | (cp & 0x3F));
    return 3;
  }
  o[0] = (unsigned char)(0xF0 | cp >> 18);
  o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
  o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
  o[3] = (unsigned char)(0x80 | (cp & 0x3F));
  return 4;
}

/* Length of the well-formed UTF-8 sequence at s (Unicode Table 3-7), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n) {
  unsigned char c = s[0];
  size_t len, i;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) len = 2;
  else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else return 0;
  if (n < len) return 0;
  if (s[1] < lo || s[1] > hi) return 0;
  for (i = 2; i < len; i++)
    if (s[i] < 0x80 || s[i] > 0xBF) return 0;
  return len;
}
static int utf8_valid(const unsigned char *s, size_t n) {
  size_t i = 0, k;
  while (i < n) {
    if (!(k = utf8_seq(s + i, n - i))) return 0;
    i += k;
  }
  return 1;
}
static void utf8_reverse_ref(const unsigned char *s, size_t n, unsigned char *o) {
  size_t i = 0, k;
  while (i < n) {
    k = utf8_seq(s + i, n - i);
    memcpy(o + n - i - k, s + i, k);
    i += k;
  }
}

/* Random text: from the table (upper case known), any code point, or bytes
 * that are not UTF-8. Returns whether the upper-case reference applies. */
static size_t make_text(unsigned char *buf, size_t cap, int *known, unsigned char *up, size_t *up_len) {
  size_t n = 0, u = 0, count = below(chance(5) ? 200 : 24), i, j;
  int mode = (int)below(4);
  *known = mode <= 1;
  for (i = 0; i < count && n + 4 <= cap; i++) {
    if (mode <= 1) {
      size_t t = below(UPPER_N);
      n += put_utf8(upper_table[t].cp, buf + n);
      for (j = 0; j < 3 && (j == 0 || upper_table[t].up[j]); j++) u += put_utf8(upper_table[t].up[j], up + u);
    } else if (mode == 2) {
      uint32_t cp = (uint32_t)below(0x110000);
      if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;
      n += put_utf8(cp, buf + n);
    } else {
      static const char *bad[] = {"\xC0\x80", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xF8\x88\x80\x80\x80",
                                  "\xE2\x82",  "\x80",         "\xFF",             "\xC3",
                                  "\xF0\x9F\x98", "\xE0\x80\xAF"};
      if (chance(15)) {
        const char *b = bad[below(sizeof bad / sizeof bad[0])];
        size_t bl = strlen(b);
        if (n + bl <= cap) { memcpy(buf + n, b, bl); n += bl; }
      } else {
        n += put_utf8((uint32_t)below(0x800), buf + n);
      }
    }
  }
  *up_len = u;
  return n;
}

static void op_text(void) {
  unsigned char in[1024], out[3 * 1024 + 16], up[3 * 1024], ref[1024];
  size_t n, up_len, out_len, cap, len_arg;
  int known, which = (int)below(3), in_place = chance(15), valid, null_outlen = chance(4);
  te_status st;
  unsigned want;
  const char *name = which == 0 ? "te_utf8_reverse" : which == 1 ? "te_utf8_upper" : "te_ascii_upper";
  te_status (*f)(const char *, size_t, char *, size_t, size_t *) =
      which == 0 ? te_utf8_reverse : which == 1 ? te_utf8_upper : te_ascii_upper;
  size_t needed;
  g_op = name;
  n = make_text(in, sizeof in, &known, up, &up_len);
  valid = utf8_valid(in, n);
  if (which == 2) needed = n;
  else if (which == 0) needed = n;
  else needed = known ? up_len : 3 * n; /* an upper bound when the mapping is not known here */
  cap = chance(25) ? below(needed + 1) : needed + below(8);
  if (which == 1 && !known && cap < 3 * n && chance(70)) cap = 3 * n;
  if (cap > sizeof out) cap = sizeof out;
  fill(out, sizeof out);
  fill(&out_len, sizeof out_len);
  len_arg = n;
  if (in_place) {
    if (which == 1) cap = n; /* upper in place: the output may need more room */
    memcpy(out, in, n);
  }
  if (chance(5)) { /* NULL input with a length, NULL output with a capacity */
    st = chance(50) ? f(NULL, n | 1, (char *)out, cap, &out_len) : f((const char *)in, n, NULL, cap | 1, &out_len);
    check_status(st, S(TE_ERR_NULL), name);
    REQUIRE(untouched(&out_len, sizeof out_len), "%s wrote *out_len on failure", name);
    return;
  }
  st = f(in_place ? (const char *)out : (const char *)in, len_arg, (char *)out, cap, null_outlen ? NULL : &out_len);
  if (null_outlen) {
    check_status(st, S(TE_ERR_NULL), name);
    if (!in_place) REQUIRE(untouched(out, sizeof out), "%s wrote the output on failure", name);
    return;
  }
  if (which == 2) want = cap < n ? S(TE_ERR_BUFFER_TOO_SMALL) : S(TE_OK);
  else if (!valid) want = S(TE_ERR_UTF8) | (cap < n ? S(TE_ERR_BUFFER_TOO_SMALL) : 0);
  else if (which == 0) want = cap < n ? S(TE_ERR_BUFFER_TOO_SMALL) : S(TE_OK);
  else if (known) want = cap < up_len ? S(TE_ERR_BUFFER_TOO_SMALL) : S(TE_OK);
  else want = S(TE_OK) | S(TE_ERR_BUFFER_TOO_SMALL);
  check_status(st, want, name);
  if (st == TE_OK) {
    REQUIRE(out_len <= cap, "%s: out_len %zu > out_cap %zu", name, out_len, cap);
    REQUIRE(untouched(out + (in_place ? (out_len > n ? out_len : n) : out_len), sizeof out - (in_place ? (out_len > n ? out_len : n) : out_len)),
            "%s wrote past its output", name);
    if (which == 0) {
      utf8_reverse_ref(in, n, ref);
      REQUIRE(out_len == n && memcmp(out, ref, n) == 0, "%s differs from the reference (n = %zu)", name, n);
    } else if (which == 2) {
      size_t i;
      for (i = 0; i < n; i++) ref[i] = (unsigned char)(in[i] >= 'a' && in[i] <= 'z' ? in[i] - 32 : in[i]);
      REQUIRE(out_len == n && memcmp(out, ref, n) == 0, "%s differs from the reference", name);
    } else {
      REQUIRE(utf8_valid(out, out_len) && out_len <= 3 * n, "%s: invalid UTF-8 or too long (%zu of %zu)", name, out_len, n);
      if (known) REQUIRE(out_len == up_len && memcmp(out, up, up_len) == 0, "%s differs from the reference (n = %zu)", name, n);
    }
  } else {
    /* Failure writes no output; a short buffer gets the size needed in
     * *out_len (the one documented exception). */
    if (!in_place) REQUIRE(untouched(out, sizeof out), "%s wrote the output on failure (%s)", name, te_status_str(st));
    else REQUIRE(memcmp(out, in, n) == 0, "%s changed its in-place input on failure", name);
    if (st == TE_ERR_BUFFER_TOO_SMALL) {
      REQUIRE(out_len == needed || (which == 1 && !known && out_len > cap),
              "%s reported %zu bytes needed, expected %zu", name, out_len, needed);
    } else {
      REQUIRE(untouched(&out_len, sizeof out_len), "%s wrote *out_len on %s", name, te_status_str(st));
    }
  }
}

/* ---- misc ---- */

static void op_misc(void) {
  static const char *names[] = {"TE_OK", "TE_ERR_NULL", "TE_ERR_INVALID", "TE_ERR_OVERFLOW", "TE_ERR_NO_MEMORY",
                                "TE_ERR_SHUTDOWN", "TE_ERR_CANCELLED", "TE_ERR_TIMEOUT", "TE_ERR_TASK_FAILED",
                                "TE_ERR_PANIC", "TE_ERR_UTF8", "TE_ERR_QUEUE_FULL", "TE_ERR_BUFFER_TOO_SMALL",
                                "TE_ERR_STACK", "TE_ERR_THREAD_POOL", "TE_ERR_MEMORY", "TE_ERR_FFI",
                                "TE_ERR_NOT_FOUND", "TE_ERR_UNSUPPORTED"};
  char version[32];
  int s = (int)below(20) - 3;
  struct te_config c;
  g_op = "te_status_str/te_version/te_last_error_message";
  if (s >= 0 && s <= 16) REQUIRE(strcmp(te_status_str((te_status)s), names[s]) == 0, "te_status_str(%d)", s);
  else REQUIRE(strcmp(te_status_str((te_status)(s < 0 ? s : 17 + (int)below(1000))), "TE_UNKNOWN_STATUS") == 0,
               "te_status_str(%d)", s);
  snprintf(version, sizeof version, "%d.%d.%d", TE_VERSION_MAJOR, TE_VERSION_MINOR, TE_VERSION_PATCH);
  REQUIRE(strcmp(te_version(), version) == 0, "te_version %s, header %s", te_version(), version);
  REQUIRE(te_last_error_message() != NULL, "te_last_error_message returned NULL");
  REQUIRE(te_current_worker_index() == -1, "te_current_worker_index on the main thread");
  REQUIRE(!te_current_task_cancelled(), "te_current_task_cancelled on the main thread");
  te_config_init(NULL);
  te_config_init(&c);
}

/* ---- main ---- */

struct op { void (*fn)(void); unsigned weight; };
static const struct op ops[] = {
    {op_engine_new, 3},     {op_engine_free, 2},  {op_engine_info, 4},     {op_spawn, 6},
    {op_join, 6},           {op_parallel_for, 5}, {op_parallel_reduce, 5}, {op_group_new, 4},
    {op_group_spawn, 20},   {op_group_wait, 6},   {op_group_misc, 5},      {op_group_free, 2},
    {op_arena_new, 3},      {op_arena_use, 15},   {op_sum_min_max_i64, 8}, {op_sum_min_max_f64, 8},
    {op_sort, 8},           {op_mem, 6},          {op_math, 10},           {op_text, 15},
    {op_misc, 2},           {op_group_inline, 6},
};
#define NOPS (sizeof ops / sizeof ops[0])

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  double seconds = 20, start;
  unsigned long long iters = 0, i;
  unsigned total = 0, w;
  const char *env;
  size_t k;
  int gi;
  trace = getenv("FUZZ_TRACE") != NULL;
  if ((env = getenv("FUZZ_SECONDS"))) seconds = atof(env);
  if (argc > 1) seconds = atof(argv[1]);
  g_seed = (unsigned long long)time(NULL) ^ ((unsigned long long)getpid() << 32);
  if ((env = getenv("FUZZ_SEED"))) g_seed = strtoull(env, NULL, 0);
  if (argc > 2) g_seed = strtoull(argv[2], NULL, 0);
  if ((env = getenv("FUZZ_ITERS"))) iters = strtoull(env, NULL, 0);
  g_rng = g_seed;
  signal(SIGALRM, on_alarm);
  if (iters) printf("fuzz_api: seed %llu, %llu operations (rerun: FUZZ_ITERS=%llu fuzz_api 0 %llu)\n", g_seed, iters,
                    iters, g_seed);
  else printf("fuzz_api: seed %llu, %g s (rerun: fuzz_api SECONDS %llu)\n", g_seed, seconds, g_seed);
  fflush(stdout);
  for (k = 0; k < NOPS; k++) total += ops[k].weight;
  start = now_s();
  for (i = 0;; i++) {
    g_iter = i;
    if (iters ? i >= iters : (i % 64 == 0 && now_s() - start >= seconds)) break;
    /* The default engine goes down once, about once per 20,000 operations. */
    if (!default_down && below(20000) == 0) {
      watchdog();
      op_default_shutdown();
      continue;
    }
    w = (unsigned)below(total);
    for (k = 0; w >= ops[k].weight; k++) w -= ops[k].weight;
    g_op = "?";
    watchdog();
    if (trace) fprintf(stderr, "fuzz_api: iteration %llu: op %zu\n", i, k);
    ops[k].fn();
  }
  g_iter = i;
  watchdog();
  g_op = "cleanup";
  for (gi = 0; gi < MAX_GROUPS; gi++)
    if (groups[gi].g) free_group(gi);
  for (k = 0; k < MAX_ENGINES; k++)
    while (engines[k].e) op_engine_free(); /* picks at random until this one is gone */
  for (k = 0; k < MAX_ARENAS; k++)
    if (arenas[k].a) te_arena_free(arenas[k].a);
  if (!default_down) op_default_shutdown();
  REQUIRE(atomic_load(&cleanups_run) == cleanups_expected, "%ld cleanups ran, %ld expected",
          (long)atomic_load(&cleanups_run), cleanups_expected);
  alarm(0);
  printf("fuzz_api: seed %llu: %llu operations, %lu checked calls in %.1f s: ok\n", g_seed, i,
         (unsigned long)atomic_load(&g_calls), now_s() - start);
  return 0;
}
