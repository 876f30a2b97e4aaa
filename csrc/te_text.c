#include "te_text.h"

#include "te_kcommon.h"

/* Validates the sequence starting at s[0], whose lead byte c the caller has
 * read, reading each following byte once (into b[1..] when b is not NULL);
 * returns its length, or 0 if it is invalid. n is the number of bytes left
 * (at least 1), and the length is never more. */
static size_t utf8_seq(unsigned char c, const unsigned char *s, size_t n, unsigned char *b)
{
    unsigned char lo = 0x80, hi = 0xbf, x; /* allowed range of the second byte */
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
    for (i = 1; i < len; i++) {
        x = TE_K_LOAD_ONCE(s + i);
        if (i == 1 ? (x < lo || x > hi) : (x & 0xc0) != 0x80)
            return 0;
        if (b != NULL)
            b[i] = x;
    }
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
        l = utf8_seq(s[i], s + i, n - i, NULL);
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
    /* The second pass validates again and writes exactly the bytes it read:
     * the input may be changed by another thread in between, and a length
     * taken from the first pass could then write outside out. */
    while (i < len) {
        unsigned char b[4];
        size_t l, k;
        b[0] = TE_K_LOAD_ONCE(s + i);
        if (b[0] < 0x80) {
            d[len - 1 - i] = b[0];
            i++;
            continue;
        }
        l = utf8_seq(b[0], s + i, len - i, b);
        if (l == 0) {
            *out_len = i;
            return TE_K_ERR_UTF8;
        }
        /* l <= len - i, so every index is below len <= out_cap. */
        for (k = 0; k < l; k++)
            d[len - i - l + k] = b[k];
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
