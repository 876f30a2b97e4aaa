#include "te_text.h"

#include "te_kcommon.h"

/* Length of the valid sequence starting at s[0], or 0 if it is invalid.
 * n is the number of bytes left (at least 1). */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    unsigned char lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
    size_t len, i;
    if (c < 0x80)
        return 1;
    if (c < 0xc2) /* continuation byte, or C0/C1 (overlong two-byte) */
        return 0;
    if (c < 0xe0) {
        len = 2;
    } else if (c < 0xf0) {
        len = 3;
        if (c == 0xe0)
            lo = 0xa0; /* overlong */
        else if (c == 0xed)
            hi = 0x9f; /* surrogates */
    } else if (c < 0xf5) {
        len = 4;
        if (c == 0xf0)
            lo = 0x90; /* overlong */
        else if (c == 0xf4)
            hi = 0x8f; /* above U+10FFFF */
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (i = 2; i < len; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    return len;
}

/* 1 if s[0..n) is valid UTF-8; else 0 with *bad = offset of the first
 * invalid sequence. */
static int utf8_validate(const unsigned char *s, size_t n, size_t *bad)
{
    size_t i = 0;
    while (i < n) {
        size_t l;
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        l = utf8_seq_len(s + i, n - i);
        if (l == 0) {
            *bad = i;
            return 0;
        }
        i += l;
    }
    return 1;
}

int te_k_utf8_reverse(const char *in, size_t len, char *out, size_t out_cap, size_t *out_len)
{
    const unsigned char *s = (const unsigned char *)in;
    unsigned char *d = (unsigned char *)out;
    size_t bad, i = 0;
    if ((in == NULL && len != 0) || (out == NULL && out_cap != 0) || out_len == NULL)
        return TE_K_ERR_NULL;
    /* A first pass that writes nothing, so invalid input leaves out alone. */
    if (!utf8_validate(s, len, &bad)) {
        *out_len = bad;
        return TE_K_ERR_UTF8;
    }
    if (out_cap < len) {
        *out_len = len;
        return TE_K_ERR_BUFFER_TOO_SMALL;
    }
    /* The second pass takes each length from a lead byte read once, and
     * checks it against what is left: the input may have changed since the
     * first pass (another thread writing it), and a stale length would
     * write outside out. Then the output is unspecified, never misplaced. */
    while (i < len) {
        unsigned char c = TE_K_LOAD_ONCE(s + i);
        size_t l = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4, k;
        if (l > len - i) {
            *out_len = i;
            return TE_K_ERR_UTF8;
        }
        /* i + l <= len, so every index is below len <= out_cap. */
        d[len - i - l] = c;
        for (k = 1; k < l; k++)
            d[len - i - l + k] = s[i + k];
        i += l;
    }
    *out_len = len;
    return TE_K_OK;
}

int te_k_ascii_upper(const char *in, size_t len, char *out, size_t *ascii_prefix)
{
    const unsigned char *s = (const unsigned char *)in;
    unsigned char *d = (unsigned char *)out;
    size_t i, prefix = 0;
    if (len != 0 && (in == NULL || out == NULL))
        return TE_K_ERR_NULL;
    if (ascii_prefix == NULL)
        return TE_K_ERR_NULL;
    /* Find the ASCII prefix a block at a time, then the exact byte. */
    while (prefix + 16 <= len) {
        unsigned char acc = 0;
        for (i = 0; i < 16; i++)
            acc |= s[prefix + i];
        if (acc & 0x80)
            break;
        prefix += 16;
    }
    while (prefix < len && s[prefix] < 0x80)
        prefix++;
    /* Branch-free per byte so the loop vectorises; in == out is fine since
     * each byte is read before it is written. */
    for (i = 0; i < len; i++) {
        unsigned char c = s[i];
        d[i] = (unsigned char)(c - (((unsigned char)(c - 'a') < 26) << 5));
    }
    *ascii_prefix = prefix;
    return TE_K_OK;
}

int te_k_fnv1a64(const void *data, size_t len, uint64_t *out)
{
    const unsigned char *p = (const unsigned char *)data;
    uint64_t h = 0xcbf29ce484222325ULL;
    size_t i;
    if ((data == NULL && len != 0) || out == NULL)
        return TE_K_ERR_NULL;
    for (i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    *out = h;
    return TE_K_OK;
}
