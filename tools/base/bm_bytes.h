/*
 * bm_bytes.h -- bytes and text: big-endian integers, hex, base64, UTF-8
 * and names (base library, see bm_err.h).
 *
 * Every on-disk and on-wire integer of Beemo is big-endian and written
 * with the bm_be* functions below; every digest or key shown to a person
 * is lowercase hex.  All of these are pure functions of their arguments:
 * no allocation, no state, thread-safe.
 */
#ifndef BEEMO_BM_BYTES_H
#define BEEMO_BM_BYTES_H

#include <stddef.h>
#include <stdint.h>

static inline void
bm_be16enc(uint8_t *p, uint16_t x)
{
	p[0] = (uint8_t)(x >> 8);
	p[1] = (uint8_t)x;
}

static inline uint16_t
bm_be16dec(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static inline void
bm_be32enc(uint8_t *p, uint32_t x)
{
	bm_be16enc(p, (uint16_t)(x >> 16));
	bm_be16enc(p + 2, (uint16_t)x);
}

static inline uint32_t
bm_be32dec(const uint8_t *p)
{
	return ((uint32_t)bm_be16dec(p) << 16) | bm_be16dec(p + 2);
}

static inline void
bm_be64enc(uint8_t *p, uint64_t x)
{
	bm_be32enc(p, (uint32_t)(x >> 32));
	bm_be32enc(p + 4, (uint32_t)x);
}

static inline uint64_t
bm_be64dec(const uint8_t *p)
{
	return ((uint64_t)bm_be32dec(p) << 32) | bm_be32dec(p + 4);
}

/* bm_hex -- write 2*@len lowercase hex digits and a NUL into @out. */
void bm_hex(char *out, const uint8_t *in, size_t len);

/* bm_is_lower_hex -- 1 if the @n bytes at @s are all lowercase hex
 * digits (the spelling of ids in file names), else 0. */
int bm_is_lower_hex(const char *s, size_t n);

/* bm_unhex -- parse exactly 2*@len hex digits (either case) of the
 * string @in into @out.  Returns 0 or -EINVAL (another length or a
 * character that is not a hex digit). */
int bm_unhex(uint8_t *out, size_t len, const char *in);

/* BM_BASE64_LEN -- characters bm_base64_enc() writes for @n bytes, not
 * counting the NUL. */
#define BM_BASE64_LEN(n) (((n) + 2) / 3 * 4)

/* bm_base64_enc -- the base64 (RFC 4648, with '=' padding, no line
 * breaks) of @n bytes of @in into @out, which holds BM_BASE64_LEN(@n) + 1
 * bytes; NUL-terminated.  Returns the length written (without NUL). */
size_t bm_base64_enc(char *out, const void *in, size_t n);

/*
 * bm_base64_dec -- decode @len characters of padded base64 at @in into
 * @out of @size bytes; *@outlen receives the number of bytes.  Strict:
 * @len must be a multiple of 4, padding only at the end, no other
 * characters (no blanks or line breaks).
 * Returns 0, -EINVAL (not strict base64) or -ENOSPC (@out too small).
 */
int bm_base64_dec(uint8_t *out, size_t size, const char *in, size_t len,
    size_t *outlen);

/* bm_utf8_len -- length of the valid UTF-8 sequence at @s (1 to 4), or 0
 * if it is not one.  Strict (RFC 3629): overlong forms, UTF-16
 * surrogates (U+D800 to U+DFFF) and code points above U+10FFFF are
 * refused.  @s must be NUL-terminated. */
size_t bm_utf8_len(const unsigned char *s);

/* bm_utf8_valid -- 1 if the NUL-terminated @str is valid UTF-8 in the
 * sense of bm_utf8_len(), else 0. */
int bm_utf8_valid(const char *str);

/* bm_valid_name -- nonzero when @name is a usable machine, user or target
 * name: 1..64 characters of [A-Za-z0-9._-], not starting with '.' or '-'. */
int bm_valid_name(const char *name);

#endif /* BEEMO_BM_BYTES_H */
