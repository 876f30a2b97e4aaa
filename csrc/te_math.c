#include "te_math.h"

#include <math.h>
#include <stddef.h>

#include "te_kcommon.h"

int te_k_factorial(uint32_t n, uint64_t *out)
{
    uint64_t r = 1;
    uint32_t i;
    if (out == NULL)
        return TE_K_ERR_NULL;
    /* 20! < 2^64 < 21! */
    if (n > 20)
        return TE_K_ERR_OVERFLOW;
    for (i = 2; i <= n; i++)
        r *= i;
    *out = r;
    return TE_K_OK;
}

int te_k_fibonacci(uint32_t n, uint64_t *out)
{
    uint64_t a = 0, b = 1, t;
    uint32_t i;
    if (out == NULL)
        return TE_K_ERR_NULL;
    /* F(93) < 2^64 < F(94) */
    if (n > 93)
        return TE_K_ERR_OVERFLOW;
    for (i = 0; i < n; i++) {
        t = a + b;
        a = b;
        b = t;
    }
    *out = a;
    return TE_K_OK;
}

static int ctz64(uint64_t x)
{
#if defined(__GNUC__) || defined(__clang__)
    return __builtin_ctzll(x);
#else
    int n = 0;
    while ((x & 1u) == 0) {
        x >>= 1;
        n++;
    }
    return n;
#endif
}

/* Stein's binary gcd: no divisions. */
static uint64_t gcd_u64(uint64_t a, uint64_t b)
{
    int shift;
    if (a == 0)
        return b;
    if (b == 0)
        return a;
    shift = ctz64(a | b);
    a >>= ctz64(a);
    do {
        b >>= ctz64(b);
        if (a > b) {
            uint64_t t = a;
            a = b;
            b = t;
        }
        b -= a;
    } while (b != 0);
    return a << shift;
}

int te_k_gcd(uint64_t a, uint64_t b, uint64_t *out)
{
    if (out == NULL)
        return TE_K_ERR_NULL;
    *out = gcd_u64(a, b);
    return TE_K_OK;
}

int te_k_lcm(uint64_t a, uint64_t b, uint64_t *out)
{
    uint64_t q;
    if (out == NULL)
        return TE_K_ERR_NULL;
    if (a == 0 || b == 0) {
        *out = 0;
        return TE_K_OK;
    }
    q = a / gcd_u64(a, b);
    if (q > UINT64_MAX / b)
        return TE_K_ERR_OVERFLOW;
    *out = q * b;
    return TE_K_OK;
}

int te_k_isqrt(uint64_t x, uint64_t *out)
{
    uint64_t r;
    if (out == NULL)
        return TE_K_ERR_NULL;
    /* The double estimate is within one or two of the answer (rounding x to
     * 53 bits and the rounded sqrt); fix it up exactly in integers, using
     * divisions so that r * r never overflows. */
    r = (uint64_t)sqrt((double)x);
    if (r > UINT32_MAX)
        r = UINT32_MAX;
    while (r > 0 && r > x / r)
        r--;
    while (r + 1 <= x / (r + 1))
        r++;
    *out = r;
    return TE_K_OK;
}

int te_k_sqrt(double x, double *out)
{
    if (out == NULL)
        return TE_K_ERR_NULL;
    if (isnan(x) || x < 0.0)
        return TE_K_ERR_INVALID;
    *out = sqrt(x);
    return TE_K_OK;
}
