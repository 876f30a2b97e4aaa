/* The kernels through the C ABI, each checked against an independent reference:
 * libc (qsort, memmove, memcmp, sqrt), exact integer arithmetic (__int128),
 * hand-computed values and published test vectors (FNV, OEIS). Every entry point
 * also gets bad input: NULLs, impossible lengths, misaligned pointers, empty
 * arrays, overflow, invalid UTF-8, short buffers; outputs stay untouched. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "check.h"

static te_engine *engine; /* 2 workers; NULL is also used for the default engine */

/* Exact 128-bit sums as the reference for the 64-bit ones (a GCC/Clang type). */
__extension__ typedef __int128 wide;

/* xorshift64*: reproducible test data. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t next_u64(void) {
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 0x2545F4914F6CDD1Dull;
}

static void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) exit(EXIT_FAILURE);
  return p;
}

/* Sizes that take the serial path and, at 300,000, the parallel one (the
 * kernels go parallel above 2^17 elements). Small enough for valgrind. */
static const size_t sizes[] = {0, 1, 2, 3, 1000, 300000};
#define NSIZES (sizeof sizes / sizeof sizes[0])

/* ---- sums ---- */

static void test_sum_i64(void) {
  size_t s;
  for (s = 0; s < NSIZES; s++) {
    size_t n = sizes[s], i;
    int64_t *v = xmalloc(n * sizeof *v);
    wide exact = 0;
    int64_t par = 1, ser = 1;
    for (i = 0; i < n; i++) {
      v[i] = (int64_t)(next_u64() >> 20) - (int64_t)(1ll << 43);
      exact += v[i];
    }
    CHECK_STATUS(TE_OK, te_sum_i64(engine, v, n, &par));
    CHECK_STATUS(TE_OK, te_sum_i64_serial(v, n, &ser));
    CHECK(par == (int64_t)exact && ser == (int64_t)exact);
    free(v);
  }
  {
    /* An intermediate overflow that cancels is fine; a real one is not. */
    int64_t cancels[] = {INT64_MAX, 1, -1, -5};
    int64_t over[] = {INT64_MAX, 1};
    int64_t under[] = {INT64_MIN, -1};
    int64_t out = 42;
    CHECK_STATUS(TE_OK, te_sum_i64(engine, cancels, 4, &out));
    CHECK(out == INT64_MAX - 5);
    out = 42;
    CHECK_STATUS(TE_ERR_OVERFLOW, te_sum_i64(engine, over, 2, &out));
    CHECK_STATUS(TE_ERR_OVERFLOW, te_sum_i64_serial(under, 2, &out));
    CHECK(out == 42);
    /* (NULL, 0) is the empty array: its sum is 0. */
    CHECK_STATUS(TE_OK, te_sum_i64(NULL, NULL, 0, &out));
    CHECK(out == 0);
  }
}

static void test_sum_i64_parallel_overflow(void) {
  /* 300,000 copies of 2^45: each chunk's sum fits, the total (about 1.06e19)
   * does not. */
  size_t n = 300000, i;
  int64_t *v = xmalloc(n * sizeof *v);
  int64_t out = 7;
  for (i = 0; i < n; i++) v[i] = (int64_t)1 << 45;
  CHECK_STATUS(TE_ERR_OVERFLOW, te_sum_i64(engine, v, n, &out));
  CHECK(out == 7);
  /* Half of them negated: sums to 0 exactly. */
  for (i = 0; i < n; i += 2) v[i] = -v[i];
  CHECK_STATUS(TE_OK, te_sum_i64(engine, v, n, &out));
  CHECK(out == 0);
  free(v);
}

static void test_sum_f64(void) {
  double out = -1.0;
  const double cancel[] = {1e100, 1.0, -1e100}; /* a naive sum gives 0 */
  const double with_nan[] = {1.0, NAN, 2.0};
  const double infs[] = {INFINITY, 1.0, -INFINITY};
  const double inf[] = {1.0, -INFINITY};
  CHECK_STATUS(TE_OK, te_sum_f64(engine, cancel, 3, &out));
  CHECK(out == 1.0);
  CHECK_STATUS(TE_OK, te_sum_f64_serial(cancel, 3, &out));
  CHECK(out == 1.0);
  CHECK_STATUS(TE_OK, te_sum_f64(engine, NULL, 0, &out));
  CHECK(out == 0.0 && !signbit(out)); /* the empty sum is +0.0 */
  CHECK_STATUS(TE_OK, te_sum_f64(engine, with_nan, 3, &out));
  CHECK(isnan(out));
  CHECK_STATUS(TE_OK, te_sum_f64(engine, infs, 3, &out));
  CHECK(isnan(out));
  CHECK_STATUS(TE_OK, te_sum_f64(engine, inf, 2, &out));
  CHECK(isinf(out) && out < 0);
  {
    /* 300,000 values k/8 (exact in binary): the sum is exact too. */
    size_t n = 300000, i;
    double *v = xmalloc(n * sizeof *v);
    double par = 0, ser = 0;
    for (i = 0; i < n; i++) v[i] = (double)(i % 1000) / 8.0;
    CHECK_STATUS(TE_OK, te_sum_f64(engine, v, n, &par));
    CHECK_STATUS(TE_OK, te_sum_f64_serial(v, n, &ser));
    /* 300 full cycles of 0..999, over 8: 300 * 499500 / 8 */
    CHECK(par == 18731250.0 && ser == 18731250.0);
    free(v);
  }
}

/* ---- extrema ---- */

static void test_min_max_i64(void) {
  size_t s;
  for (s = 1; s < NSIZES; s++) {
    size_t n = sizes[s], i;
    int64_t *v = xmalloc(n * sizeof *v);
    int64_t lo = INT64_MAX, hi = INT64_MIN, a = 0, b = 0, c = 0, d = 0;
    for (i = 0; i < n; i++) {
      v[i] = (int64_t)next_u64();
      if (v[i] < lo) lo = v[i];
      if (v[i] > hi) hi = v[i];
    }
    CHECK_STATUS(TE_OK, te_max_i64(engine, v, n, &a));
    CHECK_STATUS(TE_OK, te_max_i64_serial(v, n, &b));
    CHECK_STATUS(TE_OK, te_min_i64(engine, v, n, &c));
    CHECK_STATUS(TE_OK, te_min_i64_serial(v, n, &d));
    CHECK(a == hi && b == hi && c == lo && d == lo);
    free(v);
  }
  {
    int64_t out = 5;
    const int64_t one = 3;
    CHECK_STATUS(TE_ERR_INVALID, te_max_i64(engine, NULL, 0, &out)); /* empty: no maximum */
    CHECK_STATUS(TE_ERR_INVALID, te_min_i64(engine, &one, 0, &out));
    CHECK_STATUS(TE_ERR_INVALID, te_max_i64_serial(NULL, 0, &out));
    CHECK(out == 5);
  }
}

static void test_min_max_f64(void) {
  const double v[] = {NAN, -0.0, 3.5, -INFINITY, 0.0, NAN, 2.0};
  const double nans[] = {NAN, NAN};
  const double zeros[] = {0.0, -0.0};
  double out = 1.0;
  CHECK_STATUS(TE_OK, te_max_f64(engine, v, 7, &out));
  CHECK(out == 3.5); /* NaNs are ignored */
  CHECK_STATUS(TE_OK, te_min_f64(engine, v, 7, &out));
  CHECK(isinf(out) && out < 0);
  CHECK_STATUS(TE_OK, te_max_f64_serial(nans, 2, &out));
  CHECK(isnan(out)); /* unless all are NaN */
  CHECK_STATUS(TE_OK, te_max_f64(engine, zeros, 2, &out));
  CHECK(out == 0.0 && !signbit(out)); /* -0.0 < +0.0 */
  CHECK_STATUS(TE_OK, te_min_f64_serial(zeros, 2, &out));
  CHECK(out == 0.0 && signbit(out));
  out = 9.0;
  CHECK_STATUS(TE_ERR_INVALID, te_min_f64(engine, NULL, 0, &out));
  CHECK(out == 9.0);
}

/* ---- sorts: against qsort ---- */

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

/* The documented order: -inf < ... < -0.0 < +0.0 < ... < +inf < NaN. */
static int cmp_f64(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  if (isnan(x) || isnan(y)) return isnan(x) - isnan(y);
  if (x == y) return signbit(y) - signbit(x); /* -0.0 first */
  return (x > y) - (x < y);
}

static void test_sort_i64(void) {
  size_t s;
  for (s = 0; s < NSIZES; s++) {
    size_t n = sizes[s], i;
    int64_t *a = xmalloc(n * sizeof *a), *b = xmalloc(n * sizeof *b), *c = xmalloc(n * sizeof *c);
    for (i = 0; i < n; i++) {
      uint64_t r = next_u64();
      /* Full range, many duplicates, and the extremes. */
      a[i] = (i % 3 == 0) ? (int64_t)(r % 100) - 50 : (int64_t)r;
      if (i % 1000 == 7) a[i] = INT64_MIN;
      if (i % 1000 == 8) a[i] = INT64_MAX;
    }
    memcpy(b, a, n * sizeof *a);
    memcpy(c, a, n * sizeof *a);
    qsort(a, n, sizeof *a, cmp_i64);
    CHECK_STATUS(TE_OK, te_sort_i64(engine, b, n));
    CHECK_STATUS(TE_OK, te_sort_i64_serial(c, n));
    CHECK(n == 0 || memcmp(a, b, n * sizeof *a) == 0);
    CHECK(n == 0 || memcmp(a, c, n * sizeof *a) == 0);
    free(a);
    free(b);
    free(c);
  }
}

static void test_sort_u64_and_f64(void) {
  size_t n = 300000, i;
  uint64_t *u = xmalloc(n * sizeof *u), *u2 = xmalloc(n * sizeof *u2);
  double *d = xmalloc(n * sizeof *d), *d2 = xmalloc(n * sizeof *d2);
  for (i = 0; i < n; i++) {
    u[i] = next_u64(); /* half of them above INT64_MAX */
    switch (i % 7) {
      case 0: d[i] = NAN; break;
      case 1: d[i] = (i % 2) ? -0.0 : 0.0; break;
      case 2: d[i] = (i % 2) ? INFINITY : -INFINITY; break;
      default: d[i] = ((double)(int64_t)next_u64()) / 1e6;
    }
  }
  memcpy(u2, u, n * sizeof *u);
  memcpy(d2, d, n * sizeof *d);
  qsort(u, n, sizeof *u, cmp_u64);
  CHECK_STATUS(TE_OK, te_sort_u64(engine, u2, n));
  CHECK(memcmp(u, u2, n * sizeof *u) == 0);
  qsort(d, n, sizeof *d, cmp_f64);
  CHECK_STATUS(TE_OK, te_sort_f64(engine, d2, n));
  {
    /* Equal under the order, element by element (NaN payloads may differ). */
    size_t bad = 0;
    for (i = 0; i < n; i++) bad += cmp_f64(&d[i], &d2[i]) != 0;
    CHECK(bad == 0);
    CHECK(isnan(d2[n - 1]));
  }
  /* The serial forms on a small array. */
  {
    uint64_t small[] = {3, UINT64_MAX, 0, 7};
    double fs[] = {NAN, 1.0, -0.0, 0.0, -INFINITY};
    CHECK_STATUS(TE_OK, te_sort_u64_serial(small, 4));
    CHECK(small[0] == 0 && small[1] == 3 && small[2] == 7 && small[3] == UINT64_MAX);
    CHECK_STATUS(TE_OK, te_sort_f64_serial(fs, 5));
    CHECK(isinf(fs[0]) && fs[1] == 0.0 && signbit(fs[1]) && fs[2] == 0.0 && !signbit(fs[2]) && fs[3] == 1.0 &&
          isnan(fs[4]));
  }
  free(u);
  free(u2);
  free(d);
  free(d2);
}

/* ---- memory ---- */

static void test_mem_copy(void) {
  /* Large enough for the parallel path (above 2 MiB); overlapping both ways,
   * against memmove. */
  size_t n = 4u << 20, i;
  unsigned char *a = xmalloc(n + 4096), *b = xmalloc(n + 4096);
  size_t shifts[] = {0, 1, 4096, 3u << 19};
  size_t k;
  for (i = 0; i < n + 4096; i++) a[i] = (unsigned char)next_u64();
  for (k = 0; k < sizeof shifts / sizeof shifts[0]; k++) {
    size_t sh = shifts[k], len = n - sh;
    memcpy(b, a, n + 4096);
    memmove(b + sh, b, len); /* forward overlap */
    CHECK_STATUS(TE_OK, te_mem_copy(engine, a + sh, a, len));
    CHECK(memcmp(a, b, n + 4096) == 0);
    memmove(b, b + sh, len); /* backward overlap */
    CHECK_STATUS(TE_OK, te_mem_copy_serial(a, a + sh, len));
    CHECK(memcmp(a, b, n + 4096) == 0);
  }
  /* Disjoint. */
  CHECK_STATUS(TE_OK, te_mem_copy(NULL, b, a, n));
  CHECK(memcmp(a, b, n) == 0);
  /* Nothing to copy: NULL is fine. */
  CHECK_STATUS(TE_OK, te_mem_copy(engine, NULL, NULL, 0));
  CHECK_STATUS(TE_OK, te_mem_copy_serial(NULL, NULL, 0));
  CHECK_STATUS(TE_ERR_NULL, te_mem_copy(engine, NULL, a, 1));
  CHECK_STATUS(TE_ERR_NULL, te_mem_copy_serial(b, NULL, 1));
  CHECK_STATUS(TE_ERR_INVALID, te_mem_copy(engine, b, a, SIZE_MAX));
  free(a);
  free(b);
}

static int sign(int x) { return (x > 0) - (x < 0); }

static void test_mem_compare(void) {
  size_t n = 4u << 20;
  unsigned char *a = xmalloc(n), *b = xmalloc(n);
  size_t positions[] = {0, 1, 12345, (3u << 20) + 5, n - 1};
  size_t k;
  int32_t out = 99;
  memset(a, 0x5A, n);
  memcpy(b, a, n);
  CHECK_STATUS(TE_OK, te_mem_compare(engine, a, b, n, &out));
  CHECK(out == 0);
  for (k = 0; k < sizeof positions / sizeof positions[0]; k++) {
    size_t p = positions[k];
    b[p] = 0x80; /* larger as unsigned, negative as signed char */
    CHECK_STATUS(TE_OK, te_mem_compare(engine, a, b, n, &out));
    CHECK(out == sign(memcmp(a, b, n)) && out == -1);
    CHECK_STATUS(TE_OK, te_mem_compare_serial(b, a, n, &out));
    CHECK(out == sign(memcmp(b, a, n)) && out == 1);
    b[p] = a[p];
  }
  out = 99;
  CHECK_STATUS(TE_OK, te_mem_compare(engine, NULL, NULL, 0, &out));
  CHECK(out == 0);
  out = 99;
  CHECK_STATUS(TE_ERR_NULL, te_mem_compare(engine, a, NULL, 1, &out));
  CHECK_STATUS(TE_ERR_NULL, te_mem_compare(engine, a, b, 1, NULL));
  CHECK_STATUS(TE_ERR_NULL, te_mem_compare_serial(NULL, b, 1, &out));
  CHECK(out == 99);
  free(a);
  free(b);
}

/* ---- math: hand-computed values and OEIS ---- */

static void test_math(void) {
  uint64_t u = 77;
  double d = 1.0;
  static const uint64_t fact[] = {1, 1, 2, 6, 24, 120, 720, 5040, 40320, 362880, 3628800};
  unsigned i;
  for (i = 0; i <= 10; i++) {
    CHECK_STATUS(TE_OK, te_factorial(i, &u));
    CHECK(u == fact[i]);
  }
  CHECK_STATUS(TE_OK, te_factorial(20, &u));
  CHECK(u == 2432902008176640000ull);
  u = 77;
  CHECK_STATUS(TE_ERR_OVERFLOW, te_factorial(21, &u));
  CHECK_STATUS(TE_ERR_OVERFLOW, te_factorial(UINT32_MAX, &u));
  CHECK(u == 77);
  CHECK_STATUS(TE_ERR_NULL, te_factorial(3, NULL));

  CHECK_STATUS(TE_OK, te_fibonacci(0, &u));
  CHECK(u == 0);
  CHECK_STATUS(TE_OK, te_fibonacci(1, &u));
  CHECK(u == 1);
  CHECK_STATUS(TE_OK, te_fibonacci(10, &u));
  CHECK(u == 55);
  CHECK_STATUS(TE_OK, te_fibonacci(93, &u));
  CHECK(u == 12200160415121876738ull); /* F(93), the largest below 2^64 */
  u = 77;
  CHECK_STATUS(TE_ERR_OVERFLOW, te_fibonacci(94, &u));
  CHECK(u == 77);
  CHECK_STATUS(TE_ERR_NULL, te_fibonacci(3, NULL));

  CHECK_STATUS(TE_OK, te_gcd(0, 0, &u));
  CHECK(u == 0);
  CHECK_STATUS(TE_OK, te_gcd(12, 18, &u));
  CHECK(u == 6);
  CHECK_STATUS(TE_OK, te_gcd(0, 9, &u));
  CHECK(u == 9);
  CHECK_STATUS(TE_OK, te_gcd(1ull << 63, 3ull << 40, &u));
  CHECK(u == 1ull << 40);
  CHECK_STATUS(TE_ERR_NULL, te_gcd(1, 2, NULL));

  CHECK_STATUS(TE_OK, te_lcm(4, 6, &u));
  CHECK(u == 12);
  CHECK_STATUS(TE_OK, te_lcm(5, 0, &u));
  CHECK(u == 0);
  u = 77;
  CHECK_STATUS(TE_ERR_OVERFLOW, te_lcm(1ull << 63, 3, &u));
  CHECK(u == 77);

  CHECK_STATUS(TE_OK, te_isqrt(0, &u));
  CHECK(u == 0);
  CHECK_STATUS(TE_OK, te_isqrt(15, &u));
  CHECK(u == 3);
  CHECK_STATUS(TE_OK, te_isqrt(16, &u));
  CHECK(u == 4);
  CHECK_STATUS(TE_OK, te_isqrt(UINT64_MAX, &u));
  CHECK(u == 4294967295ull);
  CHECK_STATUS(TE_OK, te_isqrt(18446744065119617025ull, &u)); /* (2^32-1)^2 */
  CHECK(u == 4294967295ull);
  CHECK_STATUS(TE_OK, te_isqrt(18446744065119617024ull, &u));
  CHECK(u == 4294967294ull);
  CHECK_STATUS(TE_ERR_NULL, te_isqrt(4, NULL));

  CHECK_STATUS(TE_OK, te_sqrt(2.0, &d));
  CHECK(d == sqrt(2.0));
  CHECK_STATUS(TE_OK, te_sqrt(-0.0, &d));
  CHECK(d == 0.0 && signbit(d));
  CHECK_STATUS(TE_OK, te_sqrt(INFINITY, &d));
  CHECK(isinf(d));
  d = 1.0;
  CHECK_STATUS(TE_ERR_INVALID, te_sqrt(-1.0, &d));
  CHECK_STATUS(TE_ERR_INVALID, te_sqrt(NAN, &d));
  CHECK(d == 1.0);
}

/* ---- FNV-1a: the published test vectors ---- */

static void test_fnv1a64(void) {
  uint64_t h = 0;
  CHECK_STATUS(TE_OK, te_hash_fnv1a64(NULL, 0, &h));
  CHECK(h == 0xcbf29ce484222325ull);
  CHECK_STATUS(TE_OK, te_hash_fnv1a64("a", 1, &h));
  CHECK(h == 0xaf63dc4c8601ec8cull);
  CHECK_STATUS(TE_OK, te_hash_fnv1a64("foobar", 6, &h));
  CHECK(h == 0x85944171f73967e8ull);
  h = 5;
  CHECK_STATUS(TE_ERR_NULL, te_hash_fnv1a64(NULL, 1, &h));
  CHECK_STATUS(TE_ERR_NULL, te_hash_fnv1a64("a", 1, NULL));
  CHECK_STATUS(TE_ERR_INVALID, te_hash_fnv1a64("a", SIZE_MAX, &h));
  CHECK(h == 5);
}

/* ---- text ---- */

static void test_utf8_reverse(void) {
  char out[64];
  size_t len = 999;
  const char *s = "h\xc3\xa9llo \xf0\x9f\x98\x80!"; /* "héllo 😀!" */
  const char *r = "!\xf0\x9f\x98\x80 oll\xc3\xa9h";
  size_t n = strlen(s);
  CHECK_STATUS(TE_OK, te_utf8_reverse(s, n, out, sizeof out, &len));
  CHECK(len == n && memcmp(out, r, n) == 0);
  /* In place. */
  memcpy(out, s, n);
  CHECK_STATUS(TE_OK, te_utf8_reverse(out, n, out, n, &len));
  CHECK(len == n && memcmp(out, r, n) == 0);
  /* Empty. */
  len = 999;
  CHECK_STATUS(TE_OK, te_utf8_reverse(NULL, 0, NULL, 0, &len));
  CHECK(len == 0);
  /* Too small: nothing written to out, the size needed to out_len. */
  memset(out, '#', sizeof out);
  len = 0;
  CHECK_STATUS(TE_ERR_BUFFER_TOO_SMALL, te_utf8_reverse(s, n, out, 3, &len));
  CHECK(len == n && out[0] == '#');
  CHECK_STATUS(TE_ERR_BUFFER_TOO_SMALL, te_utf8_reverse(s, n, NULL, 0, &len));
  CHECK(len == n);
  {
    /* Invalid UTF-8: a lone byte, overlong, surrogate, above U+10FFFF, truncated. */
    static const char *const bad[] = {"ab\xff", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "x\xe2\x82",
                                      "\x80"};
    size_t k;
    for (k = 0; k < sizeof bad / sizeof bad[0]; k++) {
      memset(out, '#', sizeof out);
      len = 999;
      CHECK_STATUS(TE_ERR_UTF8, te_utf8_reverse(bad[k], strlen(bad[k]), out, sizeof out, &len));
      CHECK(len == 999 && out[0] == '#');
    }
  }
  CHECK_STATUS(TE_ERR_NULL, te_utf8_reverse(s, n, out, sizeof out, NULL));
  CHECK_STATUS(TE_ERR_NULL, te_utf8_reverse(NULL, 3, out, sizeof out, &len));
  CHECK_STATUS(TE_ERR_NULL, te_utf8_reverse(s, n, NULL, 10, &len));
  CHECK_STATUS(TE_ERR_INVALID, te_utf8_reverse(s, SIZE_MAX, out, sizeof out, &len));
}

static void test_upper(void) {
  char out[64];
  size_t len = 0;
  /* "straße héllo" -> "STRASSE HÉLLO": ß grows to SS, é becomes É. */
  const char *s = "stra\xc3\x9f" "e h\xc3\xa9llo";
  const char *u = "STRASSE H\xc3\x89LLO";
  CHECK_STATUS(TE_OK, te_utf8_upper(s, strlen(s), out, sizeof out, &len));
  CHECK(len == strlen(u) && memcmp(out, u, len) == 0);
  /* Ask for the size first. */
  len = 0;
  CHECK_STATUS(TE_ERR_BUFFER_TOO_SMALL, te_utf8_upper(s, strlen(s), NULL, 0, &len));
  CHECK(len == strlen(u));
  len = 5;
  CHECK_STATUS(TE_ERR_UTF8, te_utf8_upper("a\xff", 2, out, sizeof out, &len));
  CHECK(len == 5);
  /* ASCII-only upper-casing leaves every other byte alone, in place too. */
  memcpy(out, "abc\xff\xc3\xa9z", 7);
  CHECK_STATUS(TE_OK, te_ascii_upper(out, 7, out, 7, &len));
  CHECK(len == 7 && memcmp(out, "ABC\xff\xc3\xa9Z", 7) == 0);
  CHECK_STATUS(TE_ERR_BUFFER_TOO_SMALL, te_ascii_upper("abc", 3, out, 2, &len));
  CHECK(len == 3);
  CHECK_STATUS(TE_ERR_NULL, te_ascii_upper("abc", 3, out, sizeof out, NULL));
}

/* The API rule: a failure writes nothing, with one exception, *out_len on
 * TE_ERR_BUFFER_TOO_SMALL (and then still nothing in out). Every failure of
 * the three text functions, checked against that. */
typedef te_status (*text_fn)(const char *, size_t, char *, size_t, size_t *);

static void check_failure(text_fn fn, const char *name, te_status want, const char *in, size_t len,
                          int out_null, size_t cap, size_t want_len) {
  char out[16];
  size_t out_len = 777;
  te_status got;
  memset(out, '#', sizeof out);
  got = fn(in, len, out_null ? NULL : out, cap, &out_len);
  if (got != want || out_len != want_len || out[0] != '#' || out[sizeof out - 1] != '#') {
    fprintf(stderr, "%s(len %zu, cap %zu): %s, *out_len %zu; want %s, *out_len %zu, out untouched\n", name,
            len, cap, te_status_str(got), out_len, te_status_str(want), want_len);
    te_failures++;
  }
}

static void test_text_failures_write_nothing(void) {
  static const struct {
    text_fn fn;
    const char *name;
    int utf8; /* validates its input */
  } fns[] = {{te_utf8_reverse, "te_utf8_reverse", 1},
             {te_utf8_upper, "te_utf8_upper", 1},
             {te_ascii_upper, "te_ascii_upper", 0}};
  size_t k;
  for (k = 0; k < sizeof fns / sizeof fns[0]; k++) {
    text_fn fn = fns[k].fn;
    const char *name = fns[k].name;
    check_failure(fn, name, TE_ERR_NULL, NULL, 3, 0, 16, 777);
    check_failure(fn, name, TE_ERR_NULL, "abc", 3, 1, 16, 777);
    check_failure(fn, name, TE_ERR_INVALID, "abc", SIZE_MAX, 0, 16, 777);
    check_failure(fn, name, TE_ERR_INVALID, "abc", (size_t)PTRDIFF_MAX + 1, 0, 16, 777);
    check_failure(fn, name, TE_ERR_INVALID, "abc", 3, 0, SIZE_MAX, 777);
    if (fns[k].utf8) {
      check_failure(fn, name, TE_ERR_UTF8, "ab\xff", 3, 0, 16, 777);
      /* Invalid input is reported before a short buffer. */
      check_failure(fn, name, TE_ERR_UTF8, "ab\xff", 3, 0, 1, 777);
    }
    /* The exception: the size needed, and nothing in out. */
    check_failure(fn, name, TE_ERR_BUFFER_TOO_SMALL, "abc", 3, 0, 2, 3);
    check_failure(fn, name, TE_ERR_BUFFER_TOO_SMALL, "abc", 3, 1, 0, 3);
    /* A NULL out_len: nothing to write, and out untouched. */
    {
      char out[4] = "###";
      CHECK_STATUS(TE_ERR_NULL, fn("abc", 3, out, 3, NULL));
      CHECK(memcmp(out, "###", 4) == 0);
    }
  }
}

/* ---- bad input common to the array kernels ---- */

static void test_array_bad_input(void) {
  int64_t v[4] = {1, 2, 3, 4};
  int64_t out = 11;
  double dout = 2.5;
  /* A pointer that is not 8-byte aligned. */
  const int64_t *misaligned = (const int64_t *)(const void *)((const char *)v + 1);
  CHECK_STATUS(TE_ERR_NULL, te_sum_i64(engine, NULL, 3, &out));
  CHECK_STATUS(TE_ERR_NULL, te_sum_i64(engine, v, 4, NULL));
  CHECK_STATUS(TE_ERR_INVALID, te_sum_i64(engine, v, SIZE_MAX, &out));
  CHECK_STATUS(TE_ERR_INVALID, te_sum_i64_serial(v, SIZE_MAX / 8 + 1, &out));
  CHECK_STATUS(TE_ERR_INVALID, te_sum_i64(engine, misaligned, 2, &out));
  CHECK_STATUS(TE_ERR_INVALID, te_max_i64(engine, v, SIZE_MAX, &out));
  CHECK_STATUS(TE_ERR_NULL, te_sum_f64(engine, NULL, 1, &dout));
  CHECK_STATUS(TE_ERR_NULL, te_sort_i64(engine, NULL, 2));
  CHECK_STATUS(TE_ERR_INVALID, te_sort_i64(engine, v, SIZE_MAX));
  CHECK_STATUS(TE_ERR_INVALID, te_sort_f64_serial((double *)(void *)((char *)v + 4), 2));
  CHECK_STATUS(TE_OK, te_sort_i64(engine, NULL, 0));
  CHECK_STATUS(TE_OK, te_sort_u64_serial(NULL, 0));
  CHECK(out == 11 && dout == 2.5);
  CHECK(v[0] == 1 && v[1] == 2 && v[2] == 3 && v[3] == 4);
}

int main(void) {
  te_config cfg;
  te_config_init(&cfg);
  cfg.workers = 2;
  if (te_engine_new(&cfg, &engine) != TE_OK) return EXIT_FAILURE;
  RUN(test_sum_i64);
  RUN(test_sum_i64_parallel_overflow);
  RUN(test_sum_f64);
  RUN(test_min_max_i64);
  RUN(test_min_max_f64);
  RUN(test_sort_i64);
  RUN(test_sort_u64_and_f64);
  RUN(test_mem_copy);
  RUN(test_mem_compare);
  RUN(test_math);
  RUN(test_fnv1a64);
  RUN(test_utf8_reverse);
  RUN(test_text_failures_write_nothing);
  RUN(test_upper);
  RUN(test_array_bad_input);
  te_engine_free(engine);
  te_default_engine_shutdown();
  TEST_DONE();
}
