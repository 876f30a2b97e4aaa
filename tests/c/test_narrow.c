/* The 32-bit and narrower kernels through the C ABI against independent
 * references: qsort with comparators written from the documented orders,
 * exact integer sums (int64/__int128 loops), integral floats whose sum is
 * exact, plain min/max loops. Bad input gets a clear status and leaves the
 * outputs untouched. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "check.h"

static te_engine *engine;

__extension__ typedef __int128 wide;

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;
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

/* Serial sizes and, at 300,001, the parallel paths (MSD passes above 2^16). */
static const size_t sizes[] = {0, 1, 2, 191, 193, 5000, 300001};
#define NSIZES (sizeof sizes / sizeof sizes[0])

#define INT_CMP(NAME, T)                                                       \
  static int NAME(const void *a, const void *b) {                             \
    T x = *(const T *)a, y = *(const T *)b;                                    \
    return (x > y) - (x < y);                                                  \
  }
INT_CMP(cmp_i32, int32_t)
INT_CMP(cmp_u32, uint32_t)
INT_CMP(cmp_i16, int16_t)
INT_CMP(cmp_u16, uint16_t)
INT_CMP(cmp_i8, int8_t)
INT_CMP(cmp_u8, uint8_t)

/* The documented float order: numbers ascending with -0.0 before +0.0, then
 * positive NaNs by rising bit pattern, then negative NaNs by falling one. */
static int f32_class(float x, uint32_t *rank) {
  uint32_t b;
  memcpy(&b, &x, sizeof b);
  if (isnan(x)) {
    *rank = (b >> 31) ? ~b : b;
    return (b >> 31) ? 2 : 1;
  }
  *rank = (b >> 31) ? ~b : (b | 0x80000000u);
  return 0;
}
static int cmp_f32(const void *a, const void *b) {
  uint32_t ra, rb;
  int ca = f32_class(*(const float *)a, &ra), cb = f32_class(*(const float *)b, &rb);
  if (ca != cb) return ca < cb ? -1 : 1;
  return (ra > rb) - (ra < rb);
}

/* Sorts a random and a few-distinct-values array of each type both ways. */
#define SORT_TEST(NAME, T, CMP, PAR, SER, GEN)                                 \
  static void NAME(void) {                                                     \
    size_t s, i;                                                               \
    int shape;                                                                 \
    for (s = 0; s < NSIZES; s++)                                               \
      for (shape = 0; shape < 2; shape++) {                                    \
        size_t n = sizes[s];                                                   \
        T *v = xmalloc(n * sizeof *v), *want = xmalloc(n * sizeof *v);         \
        T *a = xmalloc(n * sizeof *v), *b = xmalloc(n * sizeof *v);            \
        for (i = 0; i < n; i++) {                                              \
          uint64_t r_ = shape ? next_u64() % 3 : next_u64();                   \
          v[i] = GEN(r_);                                                      \
        }                                                                      \
        if (n) {                                                               \
          memcpy(want, v, n * sizeof *v);                                      \
          memcpy(a, v, n * sizeof *v);                                         \
          memcpy(b, v, n * sizeof *v);                                         \
          qsort(want, n, sizeof *v, CMP);                                      \
        }                                                                      \
        CHECK_STATUS(TE_OK, PAR(engine, n ? a : NULL, n));                     \
        CHECK_STATUS(TE_OK, SER(n ? b : NULL, n));                             \
        CHECK(n == 0 || memcmp(a, want, n * sizeof *v) == 0);                  \
        CHECK(n == 0 || memcmp(b, want, n * sizeof *v) == 0);                  \
        free(v);                                                               \
        free(want);                                                            \
        free(a);                                                               \
        free(b);                                                               \
      }                                                                        \
    CHECK_STATUS(TE_ERR_NULL, PAR(engine, NULL, 3));                           \
    CHECK_STATUS(TE_ERR_NULL, SER(NULL, 3));                                   \
  }

#define GEN_I32(r) ((int32_t)(uint32_t)(r))
#define GEN_U32(r) ((uint32_t)(r))
#define GEN_I16(r) ((int16_t)(uint16_t)(r))
#define GEN_U16(r) ((uint16_t)(r))
#define GEN_I8(r) ((int8_t)(uint8_t)(r))
#define GEN_U8(r) ((uint8_t)(r))
static float gen_f32(uint64_t r) {
  /* Any bit pattern (NaNs of both signs, infinities, zeros, subnormals). */
  uint32_t b = (uint32_t)r;
  float f;
  memcpy(&f, &b, sizeof f);
  return f;
}

SORT_TEST(test_sort_i32, int32_t, cmp_i32, te_sort_i32, te_sort_i32_serial, GEN_I32)
SORT_TEST(test_sort_u32, uint32_t, cmp_u32, te_sort_u32, te_sort_u32_serial, GEN_U32)
SORT_TEST(test_sort_f32, float, cmp_f32, te_sort_f32, te_sort_f32_serial, gen_f32)
SORT_TEST(test_sort_i16, int16_t, cmp_i16, te_sort_i16, te_sort_i16_serial, GEN_I16)
SORT_TEST(test_sort_u16, uint16_t, cmp_u16, te_sort_u16, te_sort_u16_serial, GEN_U16)
SORT_TEST(test_sort_i8, int8_t, cmp_i8, te_sort_i8, te_sort_i8_serial, GEN_I8)
SORT_TEST(test_sort_u8, uint8_t, cmp_u8, te_sort_u8, te_sort_u8_serial, GEN_U8)

static void test_float_specials_sort(void) {
  float v[] = {NAN, -0.0f, INFINITY, 1.0f, -NAN, 0.0f, -INFINITY, -1.0f};
  CHECK_STATUS(TE_OK, te_sort_f32(NULL, v, 8));
  CHECK(v[0] == -INFINITY && v[1] == -1.0f && signbit(v[2]) && v[2] == 0.0f);
  CHECK(!signbit(v[3]) && v[3] == 0.0f && v[4] == 1.0f && v[5] == INFINITY);
  CHECK(isnan(v[6]) && !signbit(v[6]) && isnan(v[7]) && signbit(v[7]));
}

static void test_sums(void) {
  size_t s, i;
  for (s = 0; s < NSIZES; s++) {
    size_t n = sizes[s];
    int32_t *v = xmalloc(n * sizeof *v);
    uint32_t *u = xmalloc(n * sizeof *u);
    float *f = xmalloc(n * sizeof *f);
    int64_t exact = 0, par = 1, ser = 1;
    uint64_t exact_u = 0, upar = 1, user = 1;
    double exact_f = 0, fpar = 1, fser = 1;
    for (i = 0; i < n; i++) {
      v[i] = (int32_t)(uint32_t)next_u64();
      u[i] = (uint32_t)next_u64();
      /* Integers below 2^24 are exact floats; their sum is exact in double. */
      f[i] = (float)((int32_t)(next_u64() >> 40) - (1 << 23));
      exact += v[i];
      exact_u += u[i];
      exact_f += f[i];
    }
    CHECK_STATUS(TE_OK, te_sum_i32(engine, n ? v : NULL, n, &par));
    CHECK_STATUS(TE_OK, te_sum_i32_serial(n ? v : NULL, n, &ser));
    CHECK(par == exact && ser == exact);
    CHECK_STATUS(TE_OK, te_sum_u32(engine, u, n, &upar));
    CHECK_STATUS(TE_OK, te_sum_u32_serial(u, n, &user));
    CHECK(upar == exact_u && user == exact_u);
    CHECK_STATUS(TE_OK, te_sum_f32(engine, f, n, &fpar));
    CHECK_STATUS(TE_OK, te_sum_f32_serial(f, n, &fser));
    CHECK(fpar == exact_f && fser == exact_f);
    free(v);
    free(u);
    free(f);
  }
  {
    int32_t lows[] = {INT32_MIN, INT32_MIN, INT32_MIN};
    uint32_t highs[] = {UINT32_MAX, UINT32_MAX};
    float cancel[] = {1e30f, 1.0f, -1e30f};
    int64_t out = 0;
    uint64_t uout = 0;
    double dout = -1;
    CHECK_STATUS(TE_OK, te_sum_i32(engine, lows, 3, &out));
    CHECK(out == 3 * (int64_t)INT32_MIN);
    CHECK_STATUS(TE_OK, te_sum_u32(engine, highs, 2, &uout));
    CHECK(uout == 2 * (uint64_t)UINT32_MAX);
    CHECK_STATUS(TE_OK, te_sum_f32(engine, cancel, 3, &dout));
    CHECK(dout == 1.0);
    CHECK_STATUS(TE_OK, te_sum_f32_serial(NULL, 0, &dout));
    CHECK(dout == 0.0 && !signbit(dout));
    dout = 5;
    CHECK_STATUS(TE_ERR_NULL, te_sum_f32(engine, NULL, 1, &dout));
    CHECK_STATUS(TE_ERR_NULL, te_sum_i32(engine, lows, 3, NULL));
    CHECK(dout == 5);
    /* A misaligned pointer is refused, not read. */
    CHECK_STATUS(TE_ERR_INVALID, te_sum_u32(engine, (const uint32_t *)((const char *)highs + 1), 1, &uout));
  }
}

static void test_extrema(void) {
  size_t s, i;
  for (s = 1; s < NSIZES; s++) {
    size_t n = sizes[s];
    int32_t *v = xmalloc(n * sizeof *v), mi = INT32_MAX, ma = INT32_MIN, o1 = 0, o2 = 0;
    uint32_t *u = xmalloc(n * sizeof *u), umi = UINT32_MAX, uma = 0, p1 = 0, p2 = 0;
    float *f = xmalloc(n * sizeof *f), fmi = INFINITY, fma = -INFINITY, q1 = 0, q2 = 0;
    for (i = 0; i < n; i++) {
      v[i] = (int32_t)(uint32_t)next_u64();
      u[i] = (uint32_t)next_u64();
      f[i] = (i % 7 == 3) ? NAN : (float)(int32_t)(uint32_t)next_u64() / 7.0f;
      if (v[i] < mi) mi = v[i];
      if (v[i] > ma) ma = v[i];
      if (u[i] < umi) umi = u[i];
      if (u[i] > uma) uma = u[i];
      if (!isnan(f[i]) && f[i] < fmi) fmi = f[i];
      if (!isnan(f[i]) && f[i] > fma) fma = f[i];
    }
    CHECK_STATUS(TE_OK, te_min_i32(engine, v, n, &o1));
    CHECK_STATUS(TE_OK, te_max_i32_serial(v, n, &o2));
    CHECK(o1 == mi && o2 == ma);
    CHECK_STATUS(TE_OK, te_min_u32_serial(u, n, &p1));
    CHECK_STATUS(TE_OK, te_max_u32(engine, u, n, &p2));
    CHECK(p1 == umi && p2 == uma);
    CHECK_STATUS(TE_OK, te_min_f32(engine, f, n, &q1));
    CHECK_STATUS(TE_OK, te_max_f32(engine, f, n, &q2));
    if (n == 1) {
      CHECK(q1 == f[0] && q2 == f[0]);
    } else {
      CHECK(q1 == fmi && q2 == fma);
    }
    free(v);
    free(u);
    free(f);
  }
  {
    int32_t out = 7;
    float zeros[] = {0.0f, -0.0f, 0.0f}, fo = 1;
    CHECK_STATUS(TE_ERR_INVALID, te_min_i32(engine, NULL, 0, &out));
    CHECK_STATUS(TE_ERR_INVALID, te_max_i32_serial(NULL, 0, &out));
    CHECK(out == 7);
    CHECK_STATUS(TE_OK, te_min_f32_serial(zeros, 3, &fo));
    CHECK(fo == 0.0f && signbit(fo));
    CHECK_STATUS(TE_OK, te_max_f32_serial(zeros, 3, &fo));
    CHECK(fo == 0.0f && !signbit(fo));
  }
}

int main(void) {
  te_config cfg;
  te_config_init(&cfg);
  cfg.workers = 2;
  CHECK_STATUS(TE_OK, te_engine_new(&cfg, &engine));
  RUN(test_sort_i32);
  RUN(test_sort_u32);
  RUN(test_sort_f32);
  RUN(test_sort_i16);
  RUN(test_sort_u16);
  RUN(test_sort_i8);
  RUN(test_sort_u8);
  RUN(test_float_specials_sort);
  RUN(test_sums);
  RUN(test_extrema);
  /* The cache: trimming and a limit of 0 leave sorting working. */
  CHECK_STATUS(TE_OK, te_engine_trim_scratch(engine));
  CHECK_STATUS(TE_OK, te_engine_set_scratch_limit(engine, 0));
  RUN(test_sort_i32);
  CHECK_STATUS(TE_OK, te_engine_set_scratch_limit(NULL, 64u << 20));
  te_engine_free(engine);
  TEST_DONE();
}
