/* Kernels against a writer that ignores their contract: while a thread keeps
 * changing an input buffer, every kernel that reads it must stay inside the
 * buffers it was given. Its result is unspecified (garbage, or TE_ERR_UTF8);
 * a crash, or a write outside the buffers, is the failure this test looks for.
 *
 * The buffers sit against PROT_NONE guard pages, so an access just past the
 * end (or, for outputs, just before the start) faults at once, whether or
 * not the kernel that makes it is instrumented. Each kernel races for
 * TE_RACE_SECONDS (default 0.3) seconds; the writer targets what used to
 * break: UTF-8 lead bytes at the end of the text, radix-sort key bytes, and
 * the ends of a short array sorted by the introsort. TE_RACE_ONLY=text, sort
 * or rest runs one group. */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static te_engine *engine;
static double race_seconds = 0.3;

/* ---- guarded buffers ---- */

struct guarded {
  unsigned char *map;
  size_t map_len;
  unsigned char *p; /* the buffer */
};

/* `size` bytes between two inaccessible pages, flush against the one after
 * (at_end) or the one before. */
static struct guarded guarded_new(size_t size, int at_end) {
  struct guarded g;
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  size_t body = (size + page - 1) / page * page;
  g.map_len = body + 2 * page;
  g.map = mmap(NULL, g.map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (g.map == MAP_FAILED) {
    perror("mmap");
    exit(EXIT_FAILURE);
  }
  if (mprotect(g.map, page, PROT_NONE) != 0 || mprotect(g.map + page + body, page, PROT_NONE) != 0) {
    perror("mprotect");
    exit(EXIT_FAILURE);
  }
  g.p = at_end ? g.map + page + body - size : g.map + page;
  return g;
}

static void guarded_free(struct guarded *g) { munmap(g->map, g->map_len); }

/* ---- the writer ---- */

enum target { TEXT, KEYS, ENDS };

struct racer {
  volatile unsigned char *buf;
  size_t len; /* bytes */
  enum target target;
  atomic_int stop;
  pthread_t thread;
};

static void *race(void *arg) {
  struct racer *r = arg;
  uint64_t x = 0x9e3779b97f4a7c15ULL;
  while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
    size_t pos;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    switch (r->target) {
    case TEXT:
      /* The last sequence's lead byte between C3 (two bytes: valid) and F0
       * (four bytes, cut short: invalid), where a length taken from one read
       * and used after another wrote before out, or decoded past in; now and
       * then an 'a' elsewhere, which keeps the text valid. */
      pos = (x & 7) ? r->len - 2 : (size_t)((x >> 8) % (r->len / 10)) * 10;
      r->buf[pos] ^= pos == r->len - 2 ? 0x33 : 0x20;
      break;
    case KEYS:
      /* The top byte (MSD buckets: a bucket fuller than its count ran past
       * the last one) or the low byte (LSD passes) of an element. */
      pos = (size_t)((x >> 8) % (r->len / 8)) * 8 + ((x & 1) ? 7 : 0);
      r->buf[pos] ^= 0x7f;
      break;
    case ENDS:
      /* The introsort's sentinels, a[0] and a[n-1], and one in between. */
      pos = (x & 3) == 0 ? 7 : (x & 3) == 1 ? r->len - 1 : (size_t)((x >> 8) % (r->len / 8)) * 8 + 7;
      r->buf[pos] ^= 0x80;
      break;
    }
  }
  return NULL;
}

static void racer_start(struct racer *r, void *buf, size_t len, enum target target) {
  r->buf = buf;
  r->len = len;
  r->target = target;
  atomic_init(&r->stop, 0);
  CHECK(pthread_create(&r->thread, NULL, race, r) == 0);
}

static void racer_stop(struct racer *r) {
  atomic_store(&r->stop, 1);
  CHECK(pthread_join(r->thread, NULL) == 0);
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Runs `body` until the race time is up (at least once); returns the count. */
#define RACE_FOR(count, body)                                                  \
  do {                                                                         \
    double end_ = now() + race_seconds;                                        \
    (count) = 0;                                                               \
    do {                                                                       \
      body;                                                                    \
      (count)++;                                                               \
    } while (now() < end_);                                                    \
  } while (0)

/* ---- text ---- */

#define TEXT_LEN 1000 /* 100 copies of "a" U+00E9 U+20AC U+1D11E, 10 bytes */

static void fill_text(unsigned char *p) {
  static const unsigned char unit[10] = {'a', 0xC3, 0xA9, 0xE2, 0x82, 0xAC, 0xF0, 0x9D, 0x84, 0x9E};
  size_t i;
  for (i = 0; i < TEXT_LEN; i++) p[i] = unit[i % 10];
  /* End on a two-byte sequence (in place of the last four-byte one), whose
   * lead the writer turns into a four-byte one's. */
  p[TEXT_LEN - 4] = 'b';
  p[TEXT_LEN - 3] = 'c';
  p[TEXT_LEN - 2] = 0xC3;
  p[TEXT_LEN - 1] = 0xA9;
}

typedef te_status (*text_fn)(const char *, size_t, char *, size_t, size_t *);

static void race_text(const char *name, text_fn fn, size_t cap) {
  struct guarded in = guarded_new(TEXT_LEN, 1), out = guarded_new(cap, 0);
  struct racer r;
  long calls, ok = 0, utf8 = 0, other = 0;
  fill_text(in.p);
  racer_start(&r, in.p, TEXT_LEN, TEXT);
  RACE_FOR(calls, {
    size_t out_len = 0;
    te_status st = fn((const char *)in.p, TEXT_LEN, (char *)out.p, cap, &out_len);
    if (st == TE_OK && out_len <= cap)
      ok++;
    else if (st == TE_ERR_UTF8)
      utf8++;
    else
      other++;
  });
  racer_stop(&r);
  printf("  %s: %ld calls (%ld ok, %ld TE_ERR_UTF8)\n", name, calls, ok, utf8);
  CHECK(other == 0);
  guarded_free(&in);
  guarded_free(&out);
}

static void test_text(void) {
  race_text("te_utf8_reverse", te_utf8_reverse, TEXT_LEN);
  race_text("te_utf8_upper", te_utf8_upper, 3 * TEXT_LEN);
  race_text("te_ascii_upper", te_ascii_upper, TEXT_LEN);
}

/* ---- arrays ---- */

static void fill_keys(int64_t *a, size_t n) {
  uint64_t x = 12345;
  size_t i;
  for (i = 0; i < n; i++) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    a[i] = (int64_t)(x >> 8) - ((int64_t)1 << 54); /* top bytes vary a little */
  }
}

static te_status sort_i64_par(int64_t *a, size_t n) { return te_sort_i64(engine, a, n); }
static te_status sort_u64_par(int64_t *a, size_t n) { return te_sort_u64(engine, (uint64_t *)a, n); }
static te_status sort_f64_par(int64_t *a, size_t n) { return te_sort_f64(engine, (double *)a, n); }
static te_status sort_i64_ser(int64_t *a, size_t n) { return te_sort_i64_serial(a, n); }
static te_status sort_f64_ser(int64_t *a, size_t n) { return te_sort_f64_serial((double *)a, n); }

static void race_sort(const char *name, te_status (*fn)(int64_t *, size_t), size_t n, enum target target) {
  struct guarded g = guarded_new(n * sizeof(int64_t), 1);
  int64_t *a = (int64_t *)(void *)g.p;
  struct racer r;
  long calls, bad = 0;
  fill_keys(a, n);
  racer_start(&r, a, n * sizeof(int64_t), target);
  RACE_FOR(calls, {
    if (fn(a, n) != TE_OK) bad++;
  });
  racer_stop(&r);
  printf("  %s of %zu: %ld calls\n", name, n, calls);
  CHECK(bad == 0);
  guarded_free(&g);
}

static void test_sort(void) {
  /* Parallel: MSD passes over chunks, then per-bucket radix sorts. */
  race_sort("te_sort_i64", sort_i64_par, 200000, KEYS);
  race_sort("te_sort_u64", sort_u64_par, 200000, KEYS);
  race_sort("te_sort_f64", sort_f64_par, 200000, KEYS);
  /* Serial: an MSD pass then LSD passes (above 65536), LSD only below. */
  race_sort("te_sort_i64_serial", sort_i64_ser, 100000, KEYS);
  race_sort("te_sort_f64_serial", sort_f64_ser, 20000, KEYS);
  /* Below 192 elements: the introsort, whose scans rely on sentinels. */
  race_sort("te_sort_i64_serial", sort_i64_ser, 150, ENDS);
}

static void test_reductions_and_memory(void) {
  const size_t n = 300000; /* large enough for the parallel forms */
  struct guarded g = guarded_new(n * sizeof(int64_t), 1), dst = guarded_new(n * sizeof(int64_t), 1);
  int64_t *a = (int64_t *)(void *)g.p;
  struct racer r;
  long calls, bad = 0;
  fill_keys(a, n);
  racer_start(&r, a, n * sizeof(int64_t), KEYS);
  RACE_FOR(calls, {
    int64_t i64;
    double f64;
    uint64_t h;
    int32_t cmp;
    te_status st = te_sum_i64(engine, a, n, &i64);
    bad += st != TE_OK && st != TE_ERR_OVERFLOW;
    bad += te_sum_f64(engine, (const double *)a, n, &f64) != TE_OK;
    bad += te_max_i64(engine, a, n, &i64) != TE_OK;
    bad += te_min_f64(engine, (const double *)a, n, &f64) != TE_OK;
    bad += te_hash_fnv1a64(a, n * sizeof(int64_t), &h) != TE_OK;
    bad += te_mem_copy(engine, dst.p, a, n * sizeof(int64_t)) != TE_OK;
    bad += te_mem_compare(engine, dst.p, a, n * sizeof(int64_t), &cmp) != TE_OK;
  });
  racer_stop(&r);
  printf("  sums, extrema, hash, copy, compare: %ld rounds\n", calls);
  CHECK(bad == 0);
  guarded_free(&g);
  guarded_free(&dst);
}

int main(void) {
  const char *s = getenv("TE_RACE_SECONDS"), *only = getenv("TE_RACE_ONLY");
  te_config cfg;
  if (s && atof(s) > 0) race_seconds = atof(s);
  alarm(120); /* a hang fails instead of blocking the suite */
  te_config_init(&cfg);
  cfg.workers = 2;
  CHECK_STATUS(TE_OK, te_engine_new(&cfg, &engine));
  /* TE_RACE_ONLY=text|sort|rest runs one group (to see which one breaks). */
  if (!only || !strcmp(only, "text")) RUN(test_text);
  if (!only || !strcmp(only, "sort")) RUN(test_sort);
  if (!only || !strcmp(only, "rest")) RUN(test_reductions_and_memory);
  te_engine_free(engine);
  TEST_DONE();
}
