/* Sums and minimum/maximum (te_array.h). The hot loops are written once as
 * always-inline bodies over independent lanes, so the compiler can vectorise
 * them, and compiled twice: for baseline x86-64 and, chosen at run time, for
 * AVX2. */
#include "te_array.h"

#include <math.h>
#include <string.h>

#include "te_kcommon.h"

#define LANES 8

/* ---- i64 sum, carried in 128 bits ------------------------------------- */

typedef struct {
    int64_t hi;
    uint64_t lo;
} wide_t;

/* Adds the 128-bit value (hi, lo) into r. */
TE_K_ALWAYS_INLINE void wide_add(wide_t *r, int64_t hi, uint64_t lo)
{
    uint64_t s = r->lo + lo;
    r->hi += hi + (int64_t)(s < lo);
    r->lo = s;
}

/* At most this many elements per block, so that the high-word sums below cannot
 * overflow: |H| <= n * 2^31 < 2^63 and L < n * 2^32 <= 2^63. */
#define SUM_BLOCK ((size_t)1 << 31)

/* The exact sum of one block, from two cheap running sums: the wrapping sum S of
 * the values and the sum H of their high words (x >> 32, as signed). With
 * L = sum of the low words (x & 0xffffffff), sum = 2^32 H + L exactly, and
 * 0 <= L < 2^64, so L = S - 2^32 H (mod 2^64) recovers it without tracking a carry
 * per element. H is summed as unsigned high words minus 2^32 per negative value. */
TE_K_ALWAYS_INLINE wide_t sum_block(const int64_t *d, size_t n)
{
    uint64_t s[LANES], hu[LANES], neg[LANES];
    uint64_t S = 0, Hu = 0, N = 0, L;
    int64_t H;
    wide_t r = {0, 0};
    size_t i = 0, k;
    for (k = 0; k < LANES; k++) {
        s[k] = 0;
        hu[k] = 0;
        neg[k] = 0;
    }
    for (; i + LANES <= n; i += LANES) {
        for (k = 0; k < LANES; k++) {
            uint64_t x = (uint64_t)d[i + k];
            s[k] += x;
            hu[k] += x >> 32;
            neg[k] += x >> 63;
        }
    }
    for (; i < n; i++) {
        uint64_t x = (uint64_t)d[i];
        S += x;
        Hu += x >> 32;
        N += x >> 63;
    }
    for (k = 0; k < LANES; k++) {
        S += s[k];
        Hu += hu[k];
        N += neg[k];
    }
    /* The signed high word of x is (x >> 32) - 2^32 when x < 0. */
    H = (int64_t)(Hu - (N << 32));
    L = S - ((uint64_t)H << 32);
    /* 2^32 H as 128 bits: low 64 bits (uint64_t)H << 32, high bits H >> 32. */
    r.hi = H < 0 ? -(int64_t)((~(uint64_t)H) >> 32) - 1 : (int64_t)((uint64_t)H >> 32);
    r.lo = (uint64_t)H << 32;
    wide_add(&r, 0, L);
    return r;
}

TE_K_ALWAYS_INLINE wide_t sum_wide_body(const int64_t *d, size_t n)
{
    wide_t r = {0, 0};
    while (n > 0) {
        size_t m = n < SUM_BLOCK ? n : SUM_BLOCK;
        wide_t b = sum_block(d, m);
        wide_add(&r, b.hi, b.lo);
        d += m;
        n -= m;
    }
    return r;
}

static wide_t sum_wide_generic(const int64_t *d, size_t n) { return sum_wide_body(d, n); }
#if TE_K_X86_DISPATCH
TE_K_TARGET_AVX2 static wide_t sum_wide_avx2(const int64_t *d, size_t n)
{
    return sum_wide_body(d, n);
}
#endif

static wide_t sum_wide(const int64_t *d, size_t n)
{
#if TE_K_X86_DISPATCH
    if (te_k_cpu_has_avx2())
        return sum_wide_avx2(d, n);
#endif
    return sum_wide_generic(d, n);
}

int te_k_sum_i64_wide(const int64_t *data, size_t len, int64_t *hi, uint64_t *lo)
{
    wide_t r;
    if ((data == NULL && len != 0) || hi == NULL || lo == NULL)
        return TE_K_ERR_NULL;
    r = sum_wide(data, len);
    *hi = r.hi;
    *lo = r.lo;
    return TE_K_OK;
}

int te_k_sum_i64(const int64_t *data, size_t len, int64_t *out)
{
    wide_t r;
    if ((data == NULL && len != 0) || out == NULL)
        return TE_K_ERR_NULL;
    r = sum_wide(data, len);
    /* Fits iff hi is the sign extension of lo. */
    if (r.hi != ((r.lo >> 63) ? -1 : 0))
        return TE_K_ERR_OVERFLOW;
    *out = (r.lo >> 63) ? -(int64_t)(~r.lo) - 1 : (int64_t)r.lo;
    return TE_K_OK;
}

/* ---- f64 compensated sum --------------------------------------------- */

typedef struct {
    double s, c;
} pair_t;

/* Knuth's TwoSum: s + x == t + err exactly, whatever the magnitudes, with no
 * branch (Neumaier's comparison would be a branch per element). */
#define TWO_SUM_ACC(s, c, x)                                                                       \
    do {                                                                                           \
        double t_ = (s) + (x);                                                                     \
        double bp_ = t_ - (s);                                                                     \
        (c) += ((s) - (t_ - bp_)) + ((x) - bp_);                                                   \
        (s) = t_;                                                                                  \
    } while (0)

TE_K_ALWAYS_INLINE pair_t sum_f64_body(const double *d, size_t n)
{
    double s[LANES], c[LANES];
    pair_t r = {0.0, 0.0};
    size_t i = 0, k;
    for (k = 0; k < LANES; k++) {
        s[k] = 0.0;
        c[k] = 0.0;
    }
    for (; i + LANES <= n; i += LANES) {
        for (k = 0; k < LANES; k++)
            TWO_SUM_ACC(s[k], c[k], d[i + k]);
    }
    for (; i < n; i++)
        TWO_SUM_ACC(s[0], c[0], d[i]);
    for (k = 0; k < LANES; k++) {
        TWO_SUM_ACC(r.s, r.c, s[k]);
        r.c += c[k];
    }
    return r;
}

static pair_t sum_f64_generic(const double *d, size_t n) { return sum_f64_body(d, n); }
#if TE_K_X86_DISPATCH
TE_K_TARGET_AVX2 static pair_t sum_f64_avx2(const double *d, size_t n)
{
    return sum_f64_body(d, n);
}
#endif

static pair_t sum_f64_pair(const double *d, size_t n)
{
#if TE_K_X86_DISPATCH
    if (te_k_cpu_has_avx2())
        return sum_f64_avx2(d, n);
#endif
    return sum_f64_generic(d, n);
}

/* After a non-finite running sum: the policy's answer from the inputs, or
 * TE_K_ERR_OVERFLOW when every input was finite. */
static int classify_nonfinite(const double *d, size_t n, double *out)
{
    int nan = 0, pinf = 0, ninf = 0;
    size_t i;
    for (i = 0; i < n; i++) {
        double x = d[i];
        if (isnan(x))
            nan = 1;
        else if (isinf(x)) {
            if (x > 0)
                pinf = 1;
            else
                ninf = 1;
        }
    }
    if (nan || (pinf && ninf))
        *out = NAN;
    else if (pinf)
        *out = INFINITY;
    else if (ninf)
        *out = -INFINITY;
    else
        return TE_K_ERR_OVERFLOW;
    return TE_K_OK;
}

int te_k_sum_f64_parts(const double *data, size_t len, double *s, double *c)
{
    pair_t r;
    if ((data == NULL && len != 0) || s == NULL || c == NULL)
        return TE_K_ERR_NULL;
    r = sum_f64_pair(data, len);
    if (!isfinite(r.s) || !isfinite(r.c)) {
        double v;
        int st = classify_nonfinite(data, len, &v);
        if (st != TE_K_OK)
            return st;
        r.s = v;
        r.c = 0.0;
    }
    *s = r.s;
    *c = r.c;
    return TE_K_OK;
}

/* Finite inputs whose running sum overflowed: sum the large values scaled by
 * 2^-64 (exact for |x| >= 2^-958, so no bits are lost) and the tiny ones
 * unscaled (they cannot overflow), then scale back. Rare; kept simple. */
static double sum_rescaled(const double *d, size_t n)
{
    const double down = 0x1p-64, up = 0x1p64, tiny = 0x1p-900;
    double bs = 0.0, bc = 0.0, ts = 0.0, tc = 0.0, big;
    size_t i;
    for (i = 0; i < n; i++) {
        double x = d[i];
        if (fabs(x) >= tiny) {
            double y = x * down;
            TWO_SUM_ACC(bs, bc, y);
        } else {
            TWO_SUM_ACC(ts, tc, x);
        }
    }
    big = bs + bc;
    if (fabs(big) >= 0x1p960)
        return big > 0 ? INFINITY : -INFINITY;
    return big * up + (ts + tc);
}

int te_k_sum_f64(const double *data, size_t len, double *out)
{
    double s, c;
    int st;
    if ((data == NULL && len != 0) || out == NULL)
        return TE_K_ERR_NULL;
    st = te_k_sum_f64_parts(data, len, &s, &c);
    if (st == TE_K_ERR_OVERFLOW) {
        *out = sum_rescaled(data, len);
        return TE_K_OK;
    }
    if (st != TE_K_OK)
        return st;
    /* s + c can still round past the largest double; then it is +-inf,
     * the correctly signed overflow of a finite sum. The empty sum is
     * 0.0 + 0.0 = +0.0. */
    *out = s + c;
    return TE_K_OK;
}

/* ---- min / max ---------------------------------------------------------- */

/* f64 as a signed integer in key order: -NaN < -inf < ... < -0 < +0 < ... <
 * +inf < +NaN. The map is its own inverse. NaNs are replaced by a sentinel
 * that loses every comparison, so they are ignored. */
TE_K_ALWAYS_INLINE int64_t f64_skey(double x)
{
    uint64_t b;
    memcpy(&b, &x, sizeof b);
    b ^= (uint64_t)(-(int64_t)(b >> 63)) >> 1;
    return (int64_t)b;
}

TE_K_ALWAYS_INLINE double f64_from_skey(int64_t k)
{
    uint64_t b = (uint64_t)k;
    double x;
    b ^= (uint64_t)(-(int64_t)(b >> 63)) >> 1;
    memcpy(&x, &b, sizeof x);
    return x;
}

TE_K_ALWAYS_INLINE int f64_isnan_bits(double x)
{
    uint64_t b;
    memcpy(&b, &x, sizeof b);
    return (b & 0x7fffffffffffffffULL) > 0x7ff0000000000000ULL;
}

#define MINMAX_BODY(NAME, T, LOAD, BETTER, INIT) MINMAX_BODY_K(NAME, T, int64_t, LOAD, BETTER, INIT)
/* K is the comparison key: the element itself, or a signed image of a float. */
#define MINMAX_BODY_K(NAME, T, K, LOAD, BETTER, INIT)                                              \
    TE_K_ALWAYS_INLINE K NAME(const T *d, size_t n)                                                \
    {                                                                                              \
        K m[LANES];                                                                                \
        K best;                                                                                    \
        size_t i = 0, k;                                                                           \
        for (k = 0; k < LANES; k++)                                                                \
            m[k] = (INIT);                                                                         \
        for (; i + LANES <= n; i += LANES) {                                                       \
            for (k = 0; k < LANES; k++) {                                                          \
                K v = LOAD(d[i + k]);                                                              \
                m[k] = BETTER(v, m[k]) ? v : m[k];                                                 \
            }                                                                                      \
        }                                                                                          \
        for (; i < n; i++) {                                                                       \
            K v = LOAD(d[i]);                                                                      \
            m[0] = BETTER(v, m[0]) ? v : m[0];                                                     \
        }                                                                                          \
        best = m[0];                                                                               \
        for (k = 1; k < LANES; k++)                                                                \
            best = BETTER(m[k], best) ? m[k] : best;                                               \
        return best;                                                                               \
    }

#define LOAD_I64(x) (x)
/* NaN keys become the sentinel (INT64_MAX for min, INT64_MIN for max); every
 * non-NaN key is strictly inside, so the sentinel survives only if all are
 * NaN. */
#define LOAD_F64_MIN(x) (f64_isnan_bits(x) ? INT64_MAX : f64_skey(x))
#define LOAD_F64_MAX(x) (f64_isnan_bits(x) ? INT64_MIN : f64_skey(x))
#define LESS_(a, b) ((a) < (b))
#define GREATER_(a, b) ((a) > (b))

MINMAX_BODY(min_i64_body, int64_t, LOAD_I64, LESS_, INT64_MAX)
MINMAX_BODY(max_i64_body, int64_t, LOAD_I64, GREATER_, INT64_MIN)
MINMAX_BODY(min_f64_body, double, LOAD_F64_MIN, LESS_, INT64_MAX)
MINMAX_BODY(max_f64_body, double, LOAD_F64_MAX, GREATER_, INT64_MIN)

#define MINMAX_DISPATCH(NAME, T) MINMAX_DISPATCH_K(NAME, T, int64_t)
#if TE_K_X86_DISPATCH
#define MINMAX_DISPATCH_K(NAME, T, K)                                                              \
    static K NAME##_generic(const T *d, size_t n) { return NAME##_body(d, n); }                   \
    TE_K_TARGET_AVX2 static K NAME##_avx2(const T *d, size_t n) { return NAME##_body(d, n); }     \
    static K NAME(const T *d, size_t n)                                                            \
    {                                                                                              \
        return te_k_cpu_has_avx2() ? NAME##_avx2(d, n) : NAME##_generic(d, n);                     \
    }
#else
#define MINMAX_DISPATCH_K(NAME, T, K)                                                              \
    static K NAME(const T *d, size_t n) { return NAME##_body(d, n); }
#endif

MINMAX_DISPATCH(min_i64, int64_t)
MINMAX_DISPATCH(max_i64, int64_t)
MINMAX_DISPATCH(min_f64, double)
MINMAX_DISPATCH(max_f64, double)

int te_k_min_i64(const int64_t *data, size_t len, int64_t *out)
{
    if ((data == NULL && len != 0) || out == NULL)
        return TE_K_ERR_NULL;
    if (len == 0)
        return TE_K_ERR_INVALID;
    *out = min_i64(data, len);
    return TE_K_OK;
}

int te_k_max_i64(const int64_t *data, size_t len, int64_t *out)
{
    if ((data == NULL && len != 0) || out == NULL)
        return TE_K_ERR_NULL;
    if (len == 0)
        return TE_K_ERR_INVALID;
    *out = max_i64(data, len);
    return TE_K_OK;
}

int te_k_min_f64(const double *data, size_t len, double *out)
{
    int64_t k;
    if ((data == NULL && len != 0) || out == NULL)
        return TE_K_ERR_NULL;
    if (len == 0)
        return TE_K_ERR_INVALID;
    k = min_f64(data, len);
    *out = k == INT64_MAX ? data[0] : f64_from_skey(k);
    return TE_K_OK;
}

int te_k_max_f64(const double *data, size_t len, double *out)
{
    int64_t k;
    if ((data == NULL && len != 0) || out == NULL)
        return TE_K_ERR_NULL;
    if (len == 0)
        return TE_K_ERR_INVALID;
    k = max_f64(data, len);
    *out = k == INT64_MIN ? data[0] : f64_from_skey(k);
    return TE_K_OK;
}

/* ---- 32-bit items ------------------------------------------------------- */

/* At most this many elements per block: a lane's 64-bit sum of |x| <= 2^31
 * (i32) or x < 2^32 (u32) values cannot overflow within it. */
#define SUM32_BLOCK ((size_t)1 << 31)

TE_K_ALWAYS_INLINE int64_t sum_i32_block(const int32_t *d, size_t n)
{
    int64_t s[LANES], r = 0;
    size_t i = 0, k;
    for (k = 0; k < LANES; k++)
        s[k] = 0;
    for (; i + LANES <= n; i += LANES)
        for (k = 0; k < LANES; k++)
            s[k] += d[i + k];
    for (; i < n; i++)
        r += d[i];
    for (k = 0; k < LANES; k++)
        r += s[k];
    return r;
}

TE_K_ALWAYS_INLINE uint64_t sum_u32_block(const uint32_t *d, size_t n)
{
    uint64_t s[LANES], r = 0;
    size_t i = 0, k;
    for (k = 0; k < LANES; k++)
        s[k] = 0;
    for (; i + LANES <= n; i += LANES)
        for (k = 0; k < LANES; k++)
            s[k] += d[i + k];
    for (; i < n; i++)
        r += d[i];
    for (k = 0; k < LANES; k++)
        r += s[k];
    return r;
}

static int64_t sum_i32_block_generic(const int32_t *d, size_t n) { return sum_i32_block(d, n); }
static uint64_t sum_u32_block_generic(const uint32_t *d, size_t n) { return sum_u32_block(d, n); }
#if TE_K_X86_DISPATCH
TE_K_TARGET_AVX2 static int64_t sum_i32_block_avx2(const int32_t *d, size_t n)
{
    return sum_i32_block(d, n);
}
TE_K_TARGET_AVX2 static uint64_t sum_u32_block_avx2(const uint32_t *d, size_t n)
{
    return sum_u32_block(d, n);
}
#endif

int te_k_sum_i32(const int32_t *data, size_t len, int64_t *out)
{
    wide_t r = {0, 0};
    if ((data == NULL && len != 0) || out == NULL)
        return TE_K_ERR_NULL;
    while (len > 0) {
        size_t m = len < SUM32_BLOCK ? len : SUM32_BLOCK;
        int64_t b;
#if TE_K_X86_DISPATCH
        b = te_k_cpu_has_avx2() ? sum_i32_block_avx2(data, m) : sum_i32_block_generic(data, m);
#else
        b = sum_i32_block_generic(data, m);
#endif
        wide_add(&r, b < 0 ? -1 : 0, (uint64_t)b);
        data += m;
        len -= m;
    }
    if (r.hi != ((r.lo >> 63) ? -1 : 0))
        return TE_K_ERR_OVERFLOW;
    *out = (r.lo >> 63) ? -(int64_t)(~r.lo) - 1 : (int64_t)r.lo;
    return TE_K_OK;
}

int te_k_sum_u32(const uint32_t *data, size_t len, uint64_t *out)
{
    uint64_t lo = 0;
    int carried = 0;
    if ((data == NULL && len != 0) || out == NULL)
        return TE_K_ERR_NULL;
    while (len > 0) {
        size_t m = len < SUM32_BLOCK ? len : SUM32_BLOCK;
        uint64_t b;
#if TE_K_X86_DISPATCH
        b = te_k_cpu_has_avx2() ? sum_u32_block_avx2(data, m) : sum_u32_block_generic(data, m);
#else
        b = sum_u32_block_generic(data, m);
#endif
        lo += b;
        carried |= lo < b;
        data += m;
        len -= m;
    }
    if (carried)
        return TE_K_ERR_OVERFLOW;
    *out = lo;
    return TE_K_OK;
}

/* f32 values widened to double (exactly) and summed as in sum_f64_body. */
TE_K_ALWAYS_INLINE pair_t sum_f32_body(const float *d, size_t n)
{
    double s[LANES], c[LANES];
    pair_t r = {0.0, 0.0};
    size_t i = 0, k;
    for (k = 0; k < LANES; k++) {
        s[k] = 0.0;
        c[k] = 0.0;
    }
    for (; i + LANES <= n; i += LANES) {
        for (k = 0; k < LANES; k++)
            TWO_SUM_ACC(s[k], c[k], (double)d[i + k]);
    }
    for (; i < n; i++)
        TWO_SUM_ACC(s[0], c[0], (double)d[i]);
    for (k = 0; k < LANES; k++) {
        TWO_SUM_ACC(r.s, r.c, s[k]);
        r.c += c[k];
    }
    return r;
}

static pair_t sum_f32_generic(const float *d, size_t n) { return sum_f32_body(d, n); }
#if TE_K_X86_DISPATCH
TE_K_TARGET_AVX2 static pair_t sum_f32_avx2(const float *d, size_t n) { return sum_f32_body(d, n); }
#endif

int te_k_sum_f32_parts(const float *data, size_t len, double *s, double *c)
{
    pair_t r;
    if ((data == NULL && len != 0) || s == NULL || c == NULL)
        return TE_K_ERR_NULL;
#if TE_K_X86_DISPATCH
    r = te_k_cpu_has_avx2() ? sum_f32_avx2(data, len) : sum_f32_generic(data, len);
#else
    r = sum_f32_generic(data, len);
#endif
    if (!isfinite(r.s) || !isfinite(r.c)) {
        /* Only NaN or infinite inputs get here: |sum| <= len * FLT_MAX is
         * far below DBL_MAX for any array that fits in memory. */
        int nan = 0, pinf = 0, ninf = 0;
        size_t i;
        for (i = 0; i < len; i++) {
            float x = data[i];
            if (isnan(x))
                nan = 1;
            else if (isinf(x)) {
                if (x > 0)
                    pinf = 1;
                else
                    ninf = 1;
            }
        }
        r.s = (nan || (pinf && ninf)) ? (double)NAN : pinf ? (double)INFINITY : -(double)INFINITY;
        r.c = 0.0;
    }
    *s = r.s;
    *c = r.c;
    return TE_K_OK;
}

int te_k_sum_f32(const float *data, size_t len, double *out)
{
    double s, c;
    int st;
    if ((data == NULL && len != 0) || out == NULL)
        return TE_K_ERR_NULL;
    st = te_k_sum_f32_parts(data, len, &s, &c);
    if (st != TE_K_OK)
        return st;
    *out = s + c;
    return TE_K_OK;
}

/* f32 as a signed integer in key order, as f64_skey. */
TE_K_ALWAYS_INLINE int32_t f32_skey(float x)
{
    uint32_t b;
    memcpy(&b, &x, sizeof b);
    b ^= (uint32_t)(-(int32_t)(b >> 31)) >> 1;
    return (int32_t)b;
}

TE_K_ALWAYS_INLINE float f32_from_skey(int32_t k)
{
    uint32_t b = (uint32_t)k;
    float x;
    b ^= (uint32_t)(-(int32_t)(b >> 31)) >> 1;
    memcpy(&x, &b, sizeof x);
    return x;
}

TE_K_ALWAYS_INLINE int f32_isnan_bits(float x)
{
    uint32_t b;
    memcpy(&b, &x, sizeof b);
    return (b & 0x7fffffffu) > 0x7f800000u;
}

#define LOAD_SAME(x) (x)
#define LOAD_F32_MIN(x) (f32_isnan_bits(x) ? INT32_MAX : f32_skey(x))
#define LOAD_F32_MAX(x) (f32_isnan_bits(x) ? INT32_MIN : f32_skey(x))

MINMAX_BODY_K(min_i32_body, int32_t, int32_t, LOAD_SAME, LESS_, INT32_MAX)
MINMAX_BODY_K(max_i32_body, int32_t, int32_t, LOAD_SAME, GREATER_, INT32_MIN)
MINMAX_BODY_K(min_u32_body, uint32_t, uint32_t, LOAD_SAME, LESS_, UINT32_MAX)
MINMAX_BODY_K(max_u32_body, uint32_t, uint32_t, LOAD_SAME, GREATER_, 0)
MINMAX_BODY_K(min_f32_body, float, int32_t, LOAD_F32_MIN, LESS_, INT32_MAX)
MINMAX_BODY_K(max_f32_body, float, int32_t, LOAD_F32_MAX, GREATER_, INT32_MIN)

MINMAX_DISPATCH_K(min_i32, int32_t, int32_t)
MINMAX_DISPATCH_K(max_i32, int32_t, int32_t)
MINMAX_DISPATCH_K(min_u32, uint32_t, uint32_t)
MINMAX_DISPATCH_K(max_u32, uint32_t, uint32_t)
MINMAX_DISPATCH_K(min_f32, float, int32_t)
MINMAX_DISPATCH_K(max_f32, float, int32_t)

#define EXTREMUM_INT(NAME, T)                                                                      \
    int te_k_##NAME(const T *data, size_t len, T *out)                                             \
    {                                                                                              \
        if ((data == NULL && len != 0) || out == NULL)                                             \
            return TE_K_ERR_NULL;                                                                  \
        if (len == 0)                                                                              \
            return TE_K_ERR_INVALID;                                                               \
        *out = NAME(data, len);                                                                    \
        return TE_K_OK;                                                                            \
    }

EXTREMUM_INT(min_i32, int32_t)
EXTREMUM_INT(max_i32, int32_t)
EXTREMUM_INT(min_u32, uint32_t)
EXTREMUM_INT(max_u32, uint32_t)

int te_k_min_f32(const float *data, size_t len, float *out)
{
    int32_t k;
    if ((data == NULL && len != 0) || out == NULL)
        return TE_K_ERR_NULL;
    if (len == 0)
        return TE_K_ERR_INVALID;
    k = min_f32(data, len);
    *out = k == INT32_MAX ? data[0] : f32_from_skey(k);
    return TE_K_OK;
}

int te_k_max_f32(const float *data, size_t len, float *out)
{
    int32_t k;
    if ((data == NULL && len != 0) || out == NULL)
        return TE_K_ERR_NULL;
    if (len == 0)
        return TE_K_ERR_INVALID;
    k = max_f32(data, len);
    *out = k == INT32_MIN ? data[0] : f32_from_skey(k);
    return TE_K_OK;
}
