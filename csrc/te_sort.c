/* Sorting (te_array.h) on an order-preserving 64-bit key of each element.
 *
 * With scratch memory: MSD radix passes on the top byte where the keys
 * differ split an array into 256 buckets until a bucket fits in cache
 * (LEAF_MAX elements); a bucket is then sorted by LSD radix passes over the
 * key bytes that vary in it. (Wider digits, 10 or 11 bits for fewer passes,
 * measured no faster here: their write streams no longer fit in L1.)
 * Without scratch memory: an in-place introsort.
 * Everything is generated once per element type. */
#include <string.h>

#include "te_array.h"
#include "te_kcommon.h"

/* Below this many elements a comparison sort beats radix passes. */
#define RADIX_MIN 192
/* Buckets up to this size are sorted by the LSD passes: two buffers of 512
 * KiB fit a core's L2 cache. Larger ones get another MSD pass. */
#define LEAF_MAX 65536
/* Introsort leaves runs this short to insertion sort. */
#define INSERTION_MAX 16

#define SIGN_BIT 0x8000000000000000ULL

static unsigned bit_length(uint64_t x) /* x != 0 */
{
#if defined(__GNUC__) || defined(__clang__)
    return 64u - (unsigned)__builtin_clzll(x);
#else
    unsigned n = 0;
    while (x) {
        x >>= 1;
        n++;
    }
    return n;
#endif
}

/* The key bits below 8 * nbytes. */
static uint64_t low_bytes_mask(unsigned nbytes)
{
    return nbytes >= 8 ? ~(uint64_t)0 : ((uint64_t)1 << (8 * nbytes)) - 1;
}

TE_K_ALWAYS_INLINE uint64_t key_u64(uint64_t x) { return x; }
TE_K_ALWAYS_INLINE uint64_t key_i64(int64_t x) { return (uint64_t)x ^ SIGN_BIT; }
/* Narrower types: the key is zero-extended, so its high bytes never vary and
 * cost no pass; sorting starts at byte sizeof(T) - 1. */
TE_K_ALWAYS_INLINE uint64_t key_u32(uint32_t x) { return x; }
TE_K_ALWAYS_INLINE uint64_t key_i32(int32_t x) { return (uint32_t)x ^ 0x80000000u; }
TE_K_ALWAYS_INLINE uint64_t key_u16(uint16_t x) { return x; }
TE_K_ALWAYS_INLINE uint64_t key_i16(int16_t x) { return (uint16_t)((uint16_t)x ^ 0x8000u); }
TE_K_ALWAYS_INLINE uint64_t key_u8(uint8_t x) { return x; }
TE_K_ALWAYS_INLINE uint64_t key_i8(int8_t x) { return (uint8_t)((uint8_t)x ^ 0x80u); }

/* The standard sign-magnitude flip puts negative-signed NaNs first; rotating
 * the key space down by the 2^52 - 1 negative NaN patterns moves them above
 * +inf and the positive NaNs, so NaNs sort last, and the map stays a
 * bijection (equal keys mean equal bits). */
TE_K_ALWAYS_INLINE uint64_t key_f64(double x)
{
    uint64_t b;
    memcpy(&b, &x, sizeof b);
    b = (b & SIGN_BIT) ? ~b : (b ^ SIGN_BIT);
    return b - 0x000fffffffffffffULL;
}

/* The same order for f32, in 32 bits: -inf < ... < -0.0 < +0.0 < ... < +inf
 * < NaN, NaNs by bit pattern (positive ones first, as for f64). */
TE_K_ALWAYS_INLINE uint64_t key_f32(float x)
{
    uint32_t b;
    memcpy(&b, &x, sizeof b);
    b = (b & 0x80000000u) ? ~b : (b ^ 0x80000000u);
    return (uint32_t)(b - 0x007fffffu);
}

/* One element into its bucket: LSD within dst[0..n), MSD below end[v]. */
#define LSD_PUT(SUF, X, SH)                                                                        \
    do {                                                                                           \
        uint32_t *o_ = &o[(key_##SUF(X) >> (SH)) & 0xff];                                          \
        uint32_t p_ = *o_;                                                                         \
        if (p_ < n) {                                                                              \
            dst[p_] = (X);                                                                         \
            *o_ = p_ + 1;                                                                          \
        }                                                                                          \
    } while (0)
#define MSD_PUT(SUF, X, SH)                                                                        \
    do {                                                                                           \
        size_t v_ = (size_t)((key_##SUF(X) >> (SH)) & 0xff), p_ = off[v_];                         \
        if (p_ < end[v_]) {                                                                        \
            dst[p_] = (X);                                                                         \
            off[v_] = p_ + 1;                                                                      \
        }                                                                                          \
    } while (0)

#define SORT_IMPL(SUF, T, KB)                                                                      \
    TE_K_ALWAYS_INLINE int less_##SUF(T a, T b) { return key_##SUF(a) < key_##SUF(b); }            \
                                                                                                   \
    static void insertion_##SUF(T *a, size_t n)                                                    \
    {                                                                                              \
        size_t i, j;                                                                               \
        for (i = 1; i < n; i++) {                                                                  \
            T v = a[i];                                                                            \
            for (j = i; j > 0 && less_##SUF(v, a[j - 1]); j--)                                     \
                a[j] = a[j - 1];                                                                   \
            a[j] = v;                                                                              \
        }                                                                                          \
    }                                                                                              \
                                                                                                   \
    static void sift_down_##SUF(T *a, size_t root, size_t n)                                       \
    {                                                                                              \
        T v = a[root];                                                                             \
        for (;;) {                                                                                 \
            size_t child = 2 * root + 1;                                                           \
            if (child >= n)                                                                        \
                break;                                                                             \
            if (child + 1 < n && less_##SUF(a[child], a[child + 1]))                               \
                child++;                                                                           \
            if (!less_##SUF(v, a[child]))                                                          \
                break;                                                                             \
            a[root] = a[child];                                                                    \
            root = child;                                                                          \
        }                                                                                          \
        a[root] = v;                                                                               \
    }                                                                                              \
                                                                                                   \
    static void heapsort_##SUF(T *a, size_t n)                                                     \
    {                                                                                              \
        size_t i;                                                                                  \
        for (i = n / 2; i > 0; i--)                                                                \
            sift_down_##SUF(a, i - 1, n);                                                          \
        for (i = n; i > 1; i--) {                                                                  \
            T t = a[0];                                                                            \
            a[0] = a[i - 1];                                                                       \
            a[i - 1] = t;                                                                          \
            sift_down_##SUF(a, 0, i - 1);                                                          \
        }                                                                                          \
    }                                                                                              \
                                                                                                   \
    TE_K_ALWAYS_INLINE void sort3_##SUF(T *a, size_t i, size_t j, size_t k)                        \
    {                                                                                              \
        T t;                                                                                       \
        if (less_##SUF(a[j], a[i])) {                                                              \
            t = a[i];                                                                              \
            a[i] = a[j];                                                                           \
            a[j] = t;                                                                              \
        }                                                                                          \
        if (less_##SUF(a[k], a[j])) {                                                              \
            t = a[j];                                                                              \
            a[j] = a[k];                                                                           \
            a[k] = t;                                                                              \
            if (less_##SUF(a[j], a[i])) {                                                          \
                t = a[i];                                                                          \
                a[i] = a[j];                                                                       \
                a[j] = t;                                                                          \
            }                                                                                      \
        }                                                                                          \
    }                                                                                              \
                                                                                                   \
    /* Hoare partition around the median of three: equal keys stop both scans,   \
     * so runs of equal elements split evenly instead of degrading to n^2. The   \
     * depth limit (2 log2 n) hands adversarial inputs to heapsort. */           \
    static void introsort_##SUF(T *a, size_t n, unsigned depth)                                    \
    {                                                                                              \
        while (n > INSERTION_MAX) {                                                                \
            size_t mid = n / 2, i, j;                                                              \
            T p;                                                                                   \
            if (depth == 0) {                                                                      \
                heapsort_##SUF(a, n);                                                              \
                return;                                                                            \
            }                                                                                      \
            depth--;                                                                               \
            sort3_##SUF(a, 0, mid, n - 1);                                                         \
            p = a[mid];                                                                            \
            /* a[0] <= p <= a[n-1] bound both scans; the index checks only     \
             * matter when another thread changes a[] meanwhile. */             \
            i = 0;                                                                                 \
            j = n - 1;                                                                             \
            for (;;) {                                                                             \
                T t;                                                                               \
                do                                                                                 \
                    i++;                                                                           \
                while (i < n - 1 && less_##SUF(a[i], p));                                          \
                do                                                                                 \
                    j--;                                                                           \
                while (j > 0 && less_##SUF(p, a[j]));                                              \
                if (i >= j)                                                                        \
                    break;                                                                         \
                t = a[i];                                                                          \
                a[i] = a[j];                                                                       \
                a[j] = t;                                                                          \
            }                                                                                      \
            /* [0, j] <= p <= [j + 1, n); recurse into the smaller side. */                        \
            if (j + 1 < n - (j + 1)) {                                                             \
                introsort_##SUF(a, j + 1, depth);                                                  \
                a += j + 1;                                                                        \
                n -= j + 1;                                                                        \
            } else {                                                                               \
                introsort_##SUF(a + j + 1, n - (j + 1), depth);                                    \
                n = j + 1;                                                                         \
            }                                                                                      \
        }                                                                                          \
        insertion_##SUF(a, n);                                                                     \
    }                                                                                              \
                                                                                                   \
    static void inplace_sort_##SUF(T *a, size_t n)                                                 \
    {                                                                                              \
        unsigned depth = 0;                                                                        \
        size_t m = n;                                                                              \
        while (m > 1) {                                                                            \
            depth += 2;                                                                            \
            m >>= 1;                                                                               \
        }                                                                                          \
        introsort_##SUF(a, n, depth);                                                              \
    }                                                                                              \
                                                                                                   \
    /* Histograms of the low k bytes of every key; k is a constant after     \
     * inlining, so the inner loop unrolls. */                                \
    TE_K_ALWAYS_INLINE void lsd_hist_k_##SUF(const T *d, size_t n, unsigned k, uint32_t *h)        \
    {                                                                                              \
        size_t i;                                                                                  \
        unsigned b;                                                                                \
        for (i = 0; i < n; i++) {                                                                  \
            uint64_t key = key_##SUF(d[i]);                                                        \
            for (b = 0; b < k; b++)                                                                \
                h[256 * b + ((key >> (8 * b)) & 0xff)]++;                                          \
        }                                                                                          \
    }                                                                                              \
                                                                                                   \
    /* LSD passes over the low nbytes bytes (the others are equal in every   \
     * key), skipping bytes that are equal too; 32-bit counters, so          \
     * RADIX_MIN <= n <= UINT32_MAX. Four loads run ahead of their stores so \
     * the core has independent work while a store waits on a counter. */     \
    static void lsd_##SUF(T *data, T *tmp, size_t n, unsigned nbytes, int result_in_tmp)           \
    {                                                                                              \
        uint32_t h[8 * 256];                                                                       \
        T *src = data, *dst = tmp, *want = result_in_tmp ? tmp : data;                             \
        uint64_t k0 = key_##SUF(data[0]);                                                          \
        unsigned b;                                                                                \
        size_t i;                                                                                  \
        memset(h, 0, (size_t)nbytes * 256 * sizeof *h);                                            \
        switch (nbytes) {                                                                          \
        case 0: break;                                                                             \
        case 1: lsd_hist_k_##SUF(data, n, 1, h); break;                                            \
        case 2: lsd_hist_k_##SUF(data, n, 2, h); break;                                            \
        case 3: lsd_hist_k_##SUF(data, n, 3, h); break;                                            \
        case 4: lsd_hist_k_##SUF(data, n, 4, h); break;                                            \
        case 5: lsd_hist_k_##SUF(data, n, 5, h); break;                                            \
        case 6: lsd_hist_k_##SUF(data, n, 6, h); break;                                            \
        case 7: lsd_hist_k_##SUF(data, n, 7, h); break;                                            \
        default: lsd_hist_k_##SUF(data, n, 8, h); break;                                           \
        }                                                                                          \
        for (b = 0; b < nbytes; b++) {                                                             \
            uint32_t *o = h + 256 * b, sum = 0, end[256];                                          \
            unsigned sh = 8 * b, v;                                                                \
            int torn = 0;                                                                          \
            T *t;                                                                                  \
            /* Every key has the same byte here: the pass would move nothing. */                   \
            if ((size_t)o[(k0 >> sh) & 0xff] == n)                                                 \
                continue;                                                                          \
            for (v = 0; v < 256; v++) {                                                            \
                uint32_t c = o[v];                                                                 \
                o[v] = sum;                                                                        \
                sum += c;                                                                          \
                end[v] = sum;                                                                      \
            }                                                                                      \
            /* The histogram came from an earlier read of the keys: if another                     \
             * thread changed them since, a bucket can receive more elements                       \
             * than counted, so no write may pass n. */                                            \
            for (i = 0; i + 4 <= n; i += 4) {                                                      \
                T v0 = src[i], v1 = src[i + 1], v2 = src[i + 2], v3 = src[i + 3];                  \
                LSD_PUT(SUF, v0, sh);                                                              \
                LSD_PUT(SUF, v1, sh);                                                              \
                LSD_PUT(SUF, v2, sh);                                                              \
                LSD_PUT(SUF, v3, sh);                                                              \
            }                                                                                      \
            for (; i < n; i++) {                                                                   \
                T x = src[i];                                                                      \
                LSD_PUT(SUF, x, sh);                                                               \
            }                                                                                      \
            /* Counts that did not match leave some of dst unwritten: give it                      \
             * defined contents (the order is lost anyway). */                                     \
            for (v = 0; v < 256; v++)                                                              \
                torn |= o[v] != end[v];                                                            \
            if (torn)                                                                              \
                memcpy(dst, src, n * sizeof *src);                                                 \
            t = src;                                                                               \
            src = dst;                                                                             \
            dst = t;                                                                               \
        }                                                                                          \
        if (src != want)                                                                           \
            memcpy(want, src, n * sizeof *data);                                                   \
    }                                                                                              \
                                                                                                   \
    /* Histogram of key byte `byte` and the AND/OR of all keys. */            \
    static void msd_hist_##SUF(const T *d, size_t n, unsigned byte, size_t *h, uint64_t *bits)     \
    {                                                                                              \
        uint64_t all = ~(uint64_t)0, any = 0;                                                      \
        unsigned shift = 8 * byte;                                                                 \
        size_t i;                                                                                  \
        memset(h, 0, 256 * sizeof *h);                                                             \
        for (i = 0; i < n; i++) {                                                                  \
            uint64_t k = key_##SUF(d[i]);                                                          \
            all &= k;                                                                              \
            any |= k;                                                                              \
            h[(k >> shift) & 0xff]++;                                                              \
        }                                                                                          \
        bits[0] = all;                                                                             \
        bits[1] = any;                                                                             \
    }                                                                                              \
                                                                                                   \
    /* Moves src[i] to dst[off[v]++] (v its key byte), never at or past                            \
     * end[v]: the counts behind off came from an earlier read of the keys,                        \
     * which another thread may have changed since. What a bucket did not                          \
     * receive is then filled with zeros, so dst[off[v]..end[v]) is always                         \
     * written and off[v] ends at end[v]. */                                                       \
    static void msd_scatter_##SUF(const T *src, size_t n, unsigned shift, size_t *off,             \
                                  const size_t *end, T *dst)                                       \
    {                                                                                              \
        size_t i = 0;                                                                              \
        unsigned v;                                                                                \
        for (; i + 4 <= n; i += 4) {                                                               \
            T v0 = src[i], v1 = src[i + 1], v2 = src[i + 2], v3 = src[i + 3];                      \
            MSD_PUT(SUF, v0, shift);                                                               \
            MSD_PUT(SUF, v1, shift);                                                               \
            MSD_PUT(SUF, v2, shift);                                                               \
            MSD_PUT(SUF, v3, shift);                                                               \
        }                                                                                          \
        for (; i < n; i++) {                                                                       \
            T x = src[i];                                                                          \
            MSD_PUT(SUF, x, shift);                                                                \
        }                                                                                          \
        for (v = 0; v < 256; v++)                                                                  \
            for (; off[v] < end[v]; off[v]++)                                                      \
                dst[off[v]] = (T)0;                                                                \
    }                                                                                              \
                                                                                                   \
    /* Sorts src[0..n), whose keys agree from byte nbytes up, using other     \
     * (n elements, disjoint) as the second buffer; the result ends in other  \
     * when result_in_other, else in src. */                                  \
    static void radix_##SUF(T *src, T *other, size_t n, unsigned nbytes, int result_in_other)      \
    {                                                                                              \
        size_t h[256], end[256], start = 0;                                                        \
        uint64_t bits[2], varying;                                                                 \
        unsigned byte, v;                                                                          \
        if (n < RADIX_MIN) {                                                                       \
            inplace_sort_##SUF(src, n);                                                            \
            if (result_in_other && n != 0)                                                         \
                memcpy(other, src, n * sizeof *src);                                               \
            return;                                                                                \
        }                                                                                          \
        if (n <= LEAF_MAX || nbytes == 0) {                                                        \
            lsd_##SUF(src, other, n, nbytes, result_in_other);                                     \
            return;                                                                                \
        }                                                                                          \
        msd_hist_##SUF(src, n, nbytes - 1, h, bits);                                               \
        varying = (bits[0] ^ bits[1]) & low_bytes_mask(nbytes);                                    \
        if (varying == 0) {                                                                        \
            if (result_in_other)                                                                   \
                memcpy(other, src, n * sizeof *src);                                               \
            return;                                                                                \
        }                                                                                          \
        byte = (bit_length(varying) - 1) / 8;                                                      \
        if (byte != nbytes - 1)                                                                    \
            msd_hist_##SUF(src, n, byte, h, bits);                                                 \
        for (v = 0; v < 256; v++) {                                                                \
            size_t c = h[v];                                                                       \
            h[v] = start;                                                                          \
            start += c;                                                                            \
            end[v] = start;                                                                        \
        }                                                                                          \
        msd_scatter_##SUF(src, n, 8 * byte, h, end, other);                                        \
        /* After the scatter h[v] is the end of bucket v. */                                       \
        start = 0;                                                                                 \
        for (v = 0; v < 256; v++) {                                                                \
            size_t end = h[v];                                                                     \
            if (end > start)                                                                       \
                radix_##SUF(other + start, src + start, end - start, byte, !result_in_other);      \
            start = end;                                                                           \
        }                                                                                          \
    }                                                                                              \
                                                                                                   \
    int te_k_sort_##SUF(T *data, size_t len, T *scratch)                                           \
    {                                                                                              \
        if (data == NULL && len != 0)                                                              \
            return TE_K_ERR_NULL;                                                                  \
        if (len < 2)                                                                               \
            return TE_K_OK;                                                                        \
        if (scratch != NULL)                                                                       \
            radix_##SUF(data, scratch, len, KB, 0);                                                \
        else                                                                                       \
            inplace_sort_##SUF(data, len);                                                         \
        return TE_K_OK;                                                                            \
    }                                                                                              \
                                                                                                   \
    int te_k_radix_hist_##SUF(const T *data, size_t len, unsigned byte, size_t *hist,              \
                              uint64_t *bits)                                                      \
    {                                                                                              \
        if ((data == NULL && len != 0) || hist == NULL || bits == NULL)                            \
            return TE_K_ERR_NULL;                                                                  \
        if (byte > 7)                                                                              \
            return TE_K_ERR_INVALID;                                                               \
        msd_hist_##SUF(data, len, byte, hist, bits);                                               \
        return TE_K_OK;                                                                            \
    }                                                                                              \
                                                                                                   \
    int te_k_radix_scatter_##SUF(const T *src, size_t len, unsigned byte, size_t *offsets,         \
                                 const size_t *ends, T *dst)                                       \
    {                                                                                              \
        if (len == 0)                                                                              \
            return TE_K_OK;                                                                        \
        if (src == NULL || offsets == NULL || ends == NULL || dst == NULL)                         \
            return TE_K_ERR_NULL;                                                                  \
        if (byte > 7)                                                                              \
            return TE_K_ERR_INVALID;                                                               \
        msd_scatter_##SUF(src, len, 8 * byte, offsets, ends, dst);                                 \
        return TE_K_OK;                                                                            \
    }                                                                                              \
                                                                                                   \
    int te_k_radix_sort_##SUF(T *data, T *tmp, size_t len, unsigned nbytes, int result_in_tmp)     \
    {                                                                                              \
        if (len == 0)                                                                              \
            return TE_K_OK;                                                                        \
        if (data == NULL || tmp == NULL)                                                           \
            return TE_K_ERR_NULL;                                                                  \
        if (nbytes > 8)                                                                            \
            return TE_K_ERR_INVALID;                                                               \
        radix_##SUF(data, tmp, len, nbytes, result_in_tmp);                                        \
        return TE_K_OK;                                                                            \
    }

SORT_IMPL(i64, int64_t, 8)
SORT_IMPL(u64, uint64_t, 8)
SORT_IMPL(f64, double, 8)
SORT_IMPL(i32, int32_t, 4)
SORT_IMPL(u32, uint32_t, 4)
SORT_IMPL(f32, float, 4)
SORT_IMPL(i16, int16_t, 2)
SORT_IMPL(u16, uint16_t, 2)
SORT_IMPL(i8, int8_t, 1)
SORT_IMPL(u8, uint8_t, 1)
