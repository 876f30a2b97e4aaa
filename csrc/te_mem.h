/*
 * taskengine kernels: memory.
 *
 * (NULL, 0) is a valid empty buffer; NULL with a non-zero length, or a NULL
 * out-pointer, is TE_K_ERR_NULL and nothing is written.
 */
#ifndef TE_MEM_H
#define TE_MEM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Copies len bytes from src to dst; the regions may overlap (memmove). */
int te_k_mem_copy(void *dst, const void *src, size_t len);

/* Compares len bytes as unsigned chars, like memcmp, and sets *out to -1, 0
 * or 1 (memcmp's sign, normalised). */
int te_k_mem_compare(const void *a, const void *b, size_t len, int *out);

#ifdef __cplusplus
}
#endif

#endif
