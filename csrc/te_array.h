/*
 * taskengine kernels: sums, minimum/maximum and sorting of arrays.
 *
 * Conventions: (NULL, 0) is a valid empty array; NULL with a non-zero length
 * is TE_K_ERR_NULL, as is a NULL out-pointer. Outputs are written only when
 * the status is TE_K_OK. Nothing here allocates; the kernels never know
 * about threads (taskengine runs them on chunks in parallel).
 *
 * Another thread writing the data during a call makes the result
 * unspecified (a wrong sum, an unsorted array), but reads and writes stay
 * inside the buffers given: a count taken in one pass over the data never
 * places a write in a later one without a bounds check.
 *
 * Orders and policies:
 * - i64 sums are exact: TE_K_ERR_OVERFLOW iff the true (mathematical) sum does
 *   not fit in int64_t. An intermediate overflow that later cancels is not an
 *   error, because the sum is carried in 128 bits.
 * - f64 sums are compensated (Kahan-Babuska-Neumaier: the exact rounding
 *   error of each addition, found with Knuth's TwoSum, is summed apart), so
 *   the error is about one rounding of the exact sum plus n*eps^2*sum|x|,
 *   better than pairwise summation's log2(n)*eps*sum|x|. A zero sum is +0.0
 *   (the empty sum, and also the sum of {-0.0}). Any NaN, or both +inf and
 *   -inf, gives NaN; otherwise an infinite input gives that infinity. With finite inputs only, a running
 *   sum that overflows is recomputed on scaled values, so the result is the
 *   finite sum when it fits and +-inf when it does not.
 * - f64 order ("key order"): -inf < ... < -0.0 < +0.0 < ... < +inf < NaN.
 *   Sorting puts NaNs last; among themselves NaNs are ordered by their bit
 *   patterns (a fixed, total order), so every sort gives the same bits.
 *   min/max ignore NaNs unless every element is NaN, in
 *   which case the result is the first element (a NaN); otherwise they
 *   follow key order, so min of {-0.0, +0.0} is -0.0 and max is +0.0.
 * - Narrower types: i32 sums are exact in int64_t and u32 sums in uint64_t
 *   (TE_K_ERR_OVERFLOW iff the true sum does not fit there, which needs more
 *   than 2^32 elements); f32 sums are the f64 policy applied to the values
 *   widened to double (exact), returned as double: nothing is rounded to
 *   float, and no finite f32 input can overflow. f32 order and min/max follow
 *   the f64 rules; sorting i32/u32/f32/i16/u16/i8/u8 uses the same radix sort
 *   on a 32/16/8-bit key.
 */
#ifndef TE_ARRAY_H
#define TE_ARRAY_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Exact sum; TE_K_ERR_OVERFLOW when it does not fit in int64_t. */
int te_k_sum_i64(const int64_t *data, size_t len, int64_t *out);

/* The exact sum as a 128-bit two's complement number hi * 2^64 + lo, which
 * cannot overflow for any array that fits in memory. For combining chunks. */
int te_k_sum_i64_wide(const int64_t *data, size_t len, int64_t *hi, uint64_t *lo);

/* Compensated sum (policy above); a zero sum is +0.0. */
int te_k_sum_f64(const double *data, size_t len, double *out);

/* The unrounded compensated sum as a pair (s, c) with s + c the sum, for
 * combining chunks: the sum of the chunks is te_k_sum_f64 over all pairs.
 * With NaN or infinite inputs, *s is the policy's result and *c is 0.
 * TE_K_ERR_OVERFLOW when finite inputs overflowed the running sum (the
 * caller should then sum the whole input with te_k_sum_f64). */
int te_k_sum_f64_parts(const double *data, size_t len, double *s, double *c);

/* Minimum and maximum; an empty array is TE_K_ERR_INVALID. */
int te_k_min_i64(const int64_t *data, size_t len, int64_t *out);
int te_k_max_i64(const int64_t *data, size_t len, int64_t *out);
int te_k_min_f64(const double *data, size_t len, double *out);
int te_k_max_f64(const double *data, size_t len, double *out);

/* The same for 32-bit items (policies above). */
int te_k_sum_i32(const int32_t *data, size_t len, int64_t *out);
int te_k_sum_u32(const uint32_t *data, size_t len, uint64_t *out);
int te_k_sum_f32(const float *data, size_t len, double *out);
/* As te_k_sum_f64_parts; never TE_K_ERR_OVERFLOW. */
int te_k_sum_f32_parts(const float *data, size_t len, double *s, double *c);
int te_k_min_i32(const int32_t *data, size_t len, int32_t *out);
int te_k_max_i32(const int32_t *data, size_t len, int32_t *out);
int te_k_min_u32(const uint32_t *data, size_t len, uint32_t *out);
int te_k_max_u32(const uint32_t *data, size_t len, uint32_t *out);
int te_k_min_f32(const float *data, size_t len, float *out);
int te_k_max_f32(const float *data, size_t len, float *out);

/*
 * Ascending sorts, in place. With a scratch buffer of len elements (which
 * must not overlap data) a radix sort runs: MSD passes on the top key byte
 * that varies until buckets fit in cache, then LSD passes over the bytes
 * that vary in each bucket. With scratch == NULL an in-place introsort
 * (quicksort, heapsort past a depth limit, insertion sort for short runs)
 * runs instead. Both give the same result.
 */
int te_k_sort_i64(int64_t *data, size_t len, int64_t *scratch);
int te_k_sort_u64(uint64_t *data, size_t len, uint64_t *scratch);
int te_k_sort_f64(double *data, size_t len, double *scratch);
int te_k_sort_i32(int32_t *data, size_t len, int32_t *scratch);
int te_k_sort_u32(uint32_t *data, size_t len, uint32_t *scratch);
int te_k_sort_f32(float *data, size_t len, float *scratch);
int te_k_sort_i16(int16_t *data, size_t len, int16_t *scratch);
int te_k_sort_u16(uint16_t *data, size_t len, uint16_t *scratch);
int te_k_sort_i8(int8_t *data, size_t len, int8_t *scratch);
int te_k_sort_u8(uint8_t *data, size_t len, uint8_t *scratch);

/*
 * Building blocks of taskengine's parallel radix sort. "Key" is the
 * order-preserving 64-bit image of an element (sign bit flipped for i64, the
 * key order above for f64); byte b of a key is (key >> 8b) & 0xff.
 *
 * radix_hist: hist[v] = number of elements whose key has byte `byte` (0..7)
 *   equal to v (hist has 256 entries, all overwritten); bits[0] = the AND
 *   and bits[1] = the OR of all keys (so bits[0] ^ bits[1] are the key bits
 *   that vary; for len == 0, all ones and zero).
 * radix_scatter: moves each element of src to dst[offsets[v]++] where v is
 *   byte `byte` (0..7) of its key, in order (stable), but never to
 *   dst[ends[v]] or beyond: offsets and ends have 256 entries, and
 *   dst[offsets[v]..ends[v]) is bucket v's room (ends[v] = offsets[v] + the
 *   count radix_hist gave). If src changed since it was counted, elements
 *   that find no room are dropped and room left over is filled with zeros,
 *   so on return offsets[v] == ends[v] and exactly that room was written.
 * radix_sort: sorts data[0..len), whose keys are known to agree on every
 *   byte from nbytes (0..8) up, using tmp (len elements, not overlapping
 *   data); the result ends in tmp when result_in_tmp is non-zero, else in
 *   data. Byte positions where all keys agree cost no pass.
 */
int te_k_radix_hist_i64(const int64_t *data, size_t len, unsigned byte, size_t *hist, uint64_t *bits);
int te_k_radix_hist_u64(const uint64_t *data, size_t len, unsigned byte, size_t *hist, uint64_t *bits);
int te_k_radix_hist_f64(const double *data, size_t len, unsigned byte, size_t *hist, uint64_t *bits);
int te_k_radix_scatter_i64(const int64_t *src, size_t len, unsigned byte, size_t *offsets,
                           const size_t *ends, int64_t *dst);
int te_k_radix_scatter_u64(const uint64_t *src, size_t len, unsigned byte, size_t *offsets,
                           const size_t *ends, uint64_t *dst);
int te_k_radix_scatter_f64(const double *src, size_t len, unsigned byte, size_t *offsets,
                           const size_t *ends, double *dst);
int te_k_radix_sort_i64(int64_t *data, int64_t *tmp, size_t len, unsigned nbytes,
                        int result_in_tmp);
int te_k_radix_sort_u64(uint64_t *data, uint64_t *tmp, size_t len, unsigned nbytes,
                        int result_in_tmp);
int te_k_radix_sort_f64(double *data, double *tmp, size_t len, unsigned nbytes,
                        int result_in_tmp);
/* The same building blocks for the narrower types. */
#define TE_K_RADIX_DECL(SUF, T)                                                                    \
    int te_k_radix_hist_##SUF(const T *data, size_t len, unsigned byte, size_t *hist,              \
                              uint64_t *bits);                                                     \
    int te_k_radix_scatter_##SUF(const T *src, size_t len, unsigned byte, size_t *offsets,         \
                                 const size_t *ends, T *dst);                                      \
    int te_k_radix_sort_##SUF(T *data, T *tmp, size_t len, unsigned nbytes, int result_in_tmp);
TE_K_RADIX_DECL(i32, int32_t)
TE_K_RADIX_DECL(u32, uint32_t)
TE_K_RADIX_DECL(f32, float)
TE_K_RADIX_DECL(i16, int16_t)
TE_K_RADIX_DECL(u16, uint16_t)
TE_K_RADIX_DECL(i8, int8_t)
TE_K_RADIX_DECL(u8, uint8_t)
#undef TE_K_RADIX_DECL

#ifdef __cplusplus
}
#endif

#endif
