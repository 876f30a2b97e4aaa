/*
 * taskengine kernels: integer and floating-point math.
 *
 * Every function returns a status (TE_K_OK == 0, see te_kcommon.h) and writes
 * *out only on success. A NULL out-pointer gives TE_K_ERR_NULL.
 */
#ifndef TE_MATH_H
#define TE_MATH_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* n! ; n > 20 does not fit in 64 bits: TE_K_ERR_OVERFLOW. 0! = 1. */
int te_k_factorial(uint32_t n, uint64_t *out);

/* F(n) with F(0) = 0, F(1) = 1; n > 93 does not fit: TE_K_ERR_OVERFLOW. */
int te_k_fibonacci(uint32_t n, uint64_t *out);

/* Greatest common divisor; gcd(0, 0) = 0, gcd(a, 0) = a. */
int te_k_gcd(uint64_t a, uint64_t b, uint64_t *out);

/* Least common multiple; lcm(a, 0) = lcm(0, b) = 0; TE_K_ERR_OVERFLOW when
 * the result does not fit in 64 bits. */
int te_k_lcm(uint64_t a, uint64_t b, uint64_t *out);

/* floor(sqrt(x)), exact for every 64-bit x (isqrt(UINT64_MAX) = 2^32 - 1). */
int te_k_isqrt(uint64_t x, uint64_t *out);

/* Correctly rounded square root. A negative x (below -0.0) or a NaN is
 * TE_K_ERR_INVALID; sqrt(-0.0) = -0.0 and sqrt(+inf) = +inf as in IEEE 754. */
int te_k_sqrt(double x, double *out);

#ifdef __cplusplus
}
#endif

#endif
