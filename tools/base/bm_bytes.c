/*
 * bm_bytes.c -- hex, base64, UTF-8 and names (bm_bytes.h).
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "bm_bytes.h"

int
bm_valid_name(const char *name)
{
	size_t i, n = strlen(name);

	if (n == 0 || n > 64 || name[0] == '.' || name[0] == '-')
		return 0;
	for (i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		    c == '-'))
			return 0;
	}
	return 1;
}

void
bm_hex(char *out, const uint8_t *in, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
bm_is_lower_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

int
bm_unhex(uint8_t *out, size_t len, const char *in)
{
	size_t i;

	if (strlen(in) != 2 * len)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		int hi = hexval(in[2 * i]), lo = hexval(in[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

size_t
bm_utf8_len(const unsigned char *s)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (s[0] < 0x80)
		return 1;
	/* RFC 3629, section 4: the second byte's range excludes overlong
	 * forms (after E0, F0), UTF-16 surrogates (after ED) and code
	 * points above U+10FFFF (after F4). */
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		if (s[0] == 0xe0)
			lo = 0xa0;
		else if (s[0] == 0xed)
			hi = 0x9f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		if (s[0] == 0xf0)
			lo = 0x90;
		else if (s[0] == 0xf4)
			hi = 0x8f;
	} else {
		return 0;
	}
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

int
bm_utf8_valid(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n;

	for (; *s != '\0'; s += n)
		if ((n = bm_utf8_len(s)) == 0)
			return 0;
	return 1;
}

/*
 * Base64 is OpenSSL's (EVP_EncodeBlock, EVP_DecodeBlock); the strict
 * rules of bm_base64_dec() are checked here first, because
 * EVP_DecodeBlock skips blanks around its input, accepts '=' anywhere in
 * the last quantum and returns the padding's zero bytes as data.  Its
 * readers take JSON and key files from hostile sources.
 */

/* The value of base64 digit @c, or -1 (not one of the 64). */
static int
b64_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

size_t
bm_base64_enc(char *out, const void *in, size_t n)
{
	/* EVP_EncodeBlock counts in int: whole 3-byte groups per call
	 * keep the pieces' concatenation one base64 text. */
	const size_t step = (size_t)3 << 20;
	const unsigned char *p = in;
	size_t o = 0;

	out[0] = '\0';
	while (n > 0) {
		size_t k = n < step ? n : step;

		o += (size_t)EVP_EncodeBlock((unsigned char *)out + o, p,
		    (int)k);
		p += k;
		n -= k;
	}
	return o;
}

int
bm_base64_dec(uint8_t *out, size_t size, const char *in, size_t len,
    size_t *outlen)
{
	const unsigned char *s = (const unsigned char *)in;
	unsigned char last[3];
	size_t i, pad = 0, body;

	if (len % 4 != 0 || len > INT_MAX)
		return -EINVAL;
	if (len > 0)
		pad = (s[len - 1] == '=') + (s[len - 2] == '=');
	/* Padding only at the very end, "x=" never before "==". */
	if (pad == 1 && s[len - 2] == '=')
		return -EINVAL;
	for (i = 0; i < len - pad; i++)
		if (b64_val(s[i]) < 0)
			return -EINVAL;
	if (size < len / 4 * 3 - pad)
		return -ENOSPC;
	/* All quanta but the last straight into @out; the last one, whose
	 * padding EVP_DecodeBlock decodes as zero bytes, on the side. */
	body = len == 0 ? 0 : len - 4;
	if (body > 0 && EVP_DecodeBlock(out, s, (int)body) != (int)body / 4 * 3)
		return -EINVAL;
	if (len > 0) {
		if (EVP_DecodeBlock(last, s + body, 4) != 3)
			return -EINVAL;
		memcpy(out + body / 4 * 3, last, 3 - pad);
		OPENSSL_cleanse(last, sizeof(last));
	}
	*outlen = len / 4 * 3 - pad;
	return 0;
}
