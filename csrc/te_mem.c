#include "te_mem.h"

#include <string.h>

#include "te_kcommon.h"

int te_k_mem_copy(void *dst, const void *src, size_t len)
{
    if (len == 0)
        return TE_K_OK; /* memmove's pointers must be valid even for 0 bytes */
    if (dst == NULL || src == NULL)
        return TE_K_ERR_NULL;
    memmove(dst, src, len);
    return TE_K_OK;
}

int te_k_mem_compare(const void *a, const void *b, size_t len, int *out)
{
    int r;
    if (out == NULL || (len != 0 && (a == NULL || b == NULL)))
        return TE_K_ERR_NULL;
    r = len == 0 ? 0 : memcmp(a, b, len);
    *out = (r > 0) - (r < 0);
    return TE_K_OK;
}
