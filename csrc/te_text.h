/*
 * taskengine kernels: text.
 *
 * Conventions: (NULL, 0) is a valid empty buffer; NULL with a non-zero length
 * and a NULL out-pointer are TE_K_ERR_NULL. The output buffer is written only
 * on TE_K_OK. Two error details come back through *out_len: on
 * TE_K_ERR_UTF8 the length of the longest valid prefix of the input (the
 * offset of the first invalid sequence), and on TE_K_ERR_BUFFER_TOO_SMALL the
 * size the output needs. Input is checked before the output's size.
 *
 * Another thread writing the input during a call makes the result
 * unspecified (wrong bytes, or TE_K_ERR_UTF8 after part of the output was
 * written), but every read and write stays inside the buffers given: no
 * index or length is taken from a byte read earlier than the write it
 * places.
 *
 * UTF-8 is validated strictly (Unicode 15, table 3-7): overlong encodings,
 * surrogates (U+D800..U+DFFF), code points above U+10FFFF, stray
 * continuation bytes and sequences cut short are all invalid.
 */
#ifndef TE_TEXT_H
#define TE_TEXT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Reverses UTF-8 text by code point into out (out_cap bytes, not
 * overlapping in); on success *out_len = len. */
int te_k_utf8_reverse(const char *in, size_t len, char *out, size_t out_cap, size_t *out_len);

/* Upper-cases ASCII letters a-z into out (len bytes; out == in is allowed,
 * other overlaps are not), copying every other byte unchanged, and sets
 * *ascii_prefix to the length of the leading run of ASCII bytes (< 0x80),
 * which is where a caller doing full Unicode case mapping takes over. It is
 * at most len, but comes from its own read of the input: a caller must not
 * rely on it matching the bytes written if another thread may write in. */
int te_k_ascii_upper(const char *in, size_t len, char *out, size_t *ascii_prefix);

/* 64-bit FNV-1a hash of len bytes. */
int te_k_fnv1a64(const void *data, size_t len, uint64_t *out);

#ifdef __cplusplus
}
#endif

#endif
