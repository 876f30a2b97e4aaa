/* Sorting (te_array.h): an LSD radix sort over 8-bit digits of an
 * order-preserving 64-bit key, and an in-place introsort for when no scratch
 * memory is available. Each is generated once per element type. */
#include <string.h>

#include "te_array.h"
#include "te_kcommon.h"

/* Below this many elements a comparison sort beats eight 256-bucket passes. */
#define RADIX_MIN 192
/* Introsort leaves runs this short to insertion sort. */
#define INSERTION_MAX 16

#define SIGN_BIT 0x8000000000000000ULL

TE_K_ALWAYS_INLINE uint64_t key_u64(uint64_t x) { return x; }
TE_K_ALWAYS_INLINE uint64_t key_i64(int64_t x) { return (uint64_t)x ^ SIGN_BIT; }

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

#define SORT_IMPL(SUF, T)                                                                          \
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
            /* a[0] <= p <= a[n-1] bound both scans. */                                            \
            i = 0;                                                                                 \
            j = n - 1;                                                                             \
            for (;;) {                                                                             \
                T t;                                                                               \
                do                                                                                 \
                    i++;                                                                           \
                while (less_##SUF(a[i], p));                                                       \
                do                                                                                 \
                    j--;                                                                           \
                while (less_##SUF(p, a[j]));                                                       \
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
    TE_K_ALWAYS_INLINE void hist_k_##SUF(const T *d, size_t n, unsigned k, size_t *h)              \
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
    static void hist_##SUF(const T *d, size_t n, unsigned nbytes, size_t *h)                       \
    {                                                                                              \
        memset(h, 0, (size_t)nbytes * 256 * sizeof *h);                                            \
        switch (nbytes) {                                                                          \
        case 1: hist_k_##SUF(d, n, 1, h); break;                                                   \
        case 2: hist_k_##SUF(d, n, 2, h); break;                                                   \
        case 3: hist_k_##SUF(d, n, 3, h); break;                                                   \
        case 4: hist_k_##SUF(d, n, 4, h); break;                                                   \
        case 5: hist_k_##SUF(d, n, 5, h); break;                                                   \
        case 6: hist_k_##SUF(d, n, 6, h); break;                                                   \
        case 7: hist_k_##SUF(d, n, 7, h); break;                                                   \
        default: hist_k_##SUF(d, n, 8, h); break;                                                  \
        }                                                                                          \
    }                                                                                              \
                                                                                                   \
    static void scatter_##SUF(const T *src, size_t n, unsigned shift, size_t *off, T *dst)         \
    {                                                                                              \
        size_t i;                                                                                  \
        for (i = 0; i < n; i++) {                                                                  \
            T v = src[i];                                                                          \
            dst[off[(key_##SUF(v) >> shift) & 0xff]++] = v;                                        \
        }                                                                                          \
    }                                                                                              \
                                                                                                   \
    /* LSD over the low nbytes bytes (the others are known to be equal). */   \
    static void radix_##SUF(T *data, T *tmp, size_t n, unsigned nbytes, int result_in_tmp)         \
    {                                                                                              \
        size_t h[8 * 256], off[256];                                                               \
        T *src = data, *dst = tmp, *want = result_in_tmp ? tmp : data;                             \
        uint64_t k0;                                                                               \
        unsigned b;                                                                                \
        if (n < RADIX_MIN) {                                                                       \
            inplace_sort_##SUF(data, n);                                                           \
            if (result_in_tmp && n != 0)                                                           \
                memcpy(tmp, data, n * sizeof *data);                                               \
            return;                                                                                \
        }                                                                                          \
        hist_##SUF(data, n, nbytes, h);                                                            \
        k0 = key_##SUF(data[0]);                                                                   \
        for (b = 0; b < nbytes; b++) {                                                             \
            const size_t *hb = h + 256 * b;                                                        \
            size_t v, sum = 0;                                                                     \
            T *t;                                                                                  \
            /* Every key has the same byte here: the pass would not move anything. */              \
            if (hb[(k0 >> (8 * b)) & 0xff] == n)                                                   \
                continue;                                                                          \
            for (v = 0; v < 256; v++) {                                                            \
                off[v] = sum;                                                                      \
                sum += hb[v];                                                                      \
            }                                                                                      \
            scatter_##SUF(src, n, 8 * b, off, dst);                                                \
            t = src;                                                                               \
            src = dst;                                                                             \
            dst = t;                                                                               \
        }                                                                                          \
        if (src != want)                                                                           \
            memcpy(want, src, n * sizeof *data);                                                   \
    }                                                                                              \
                                                                                                   \
    int te_k_sort_##SUF(T *data, size_t len, T *scratch)                                           \
    {                                                                                              \
        if (data == NULL && len != 0)                                                              \
            return TE_K_ERR_NULL;                                                                  \
        if (len < 2)                                                                               \
            return TE_K_OK;                                                                        \
        if (scratch != NULL)                                                                       \
            radix_##SUF(data, scratch, len, 8, 0);                                                 \
        else                                                                                       \
            inplace_sort_##SUF(data, len);                                                         \
        return TE_K_OK;                                                                            \
    }                                                                                              \
                                                                                                   \
    int te_k_radix_hist_##SUF(const T *data, size_t len, unsigned byte, size_t *hist,              \
                              uint64_t *bits)                                                      \
    {                                                                                              \
        uint64_t all = ~(uint64_t)0, any = 0;                                                      \
        unsigned shift = 8 * byte;                                                                 \
        size_t i;                                                                                  \
        if ((data == NULL && len != 0) || hist == NULL || bits == NULL)                            \
            return TE_K_ERR_NULL;                                                                  \
        if (byte > 7)                                                                              \
            return TE_K_ERR_INVALID;                                                               \
        memset(hist, 0, 256 * sizeof *hist);                                                       \
        for (i = 0; i < len; i++) {                                                                \
            uint64_t k = key_##SUF(data[i]);                                                       \
            all &= k;                                                                              \
            any |= k;                                                                              \
            hist[(k >> shift) & 0xff]++;                                                           \
        }                                                                                          \
        bits[0] = all;                                                                             \
        bits[1] = any;                                                                             \
        return TE_K_OK;                                                                            \
    }                                                                                              \
                                                                                                   \
    int te_k_radix_scatter_##SUF(const T *src, size_t len, unsigned byte, size_t *offsets,         \
                                 T *dst)                                                           \
    {                                                                                              \
        if (len == 0)                                                                              \
            return TE_K_OK;                                                                        \
        if (src == NULL || offsets == NULL || dst == NULL)                                         \
            return TE_K_ERR_NULL;                                                                  \
        if (byte > 7)                                                                              \
            return TE_K_ERR_INVALID;                                                               \
        scatter_##SUF(src, len, 8 * byte, offsets, dst);                                           \
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

SORT_IMPL(i64, int64_t)
SORT_IMPL(u64, uint64_t)
SORT_IMPL(f64, double)
