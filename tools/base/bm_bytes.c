/*
 * bm_bytes.c -- hex, base64, UTF-8 and names (bm_bytes.h).
 */
#include <errno.h>
#include <string.h>

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

static const char b64_tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
    "qrstuvwxyz0123456789+/";

size_t
bm_base64_enc(char *out, const void *in, size_t n)
{
	const uint8_t *p = in;
	size_t i, o = 0;

	for (i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		out[o++] = b64_tab[v >> 18];
		out[o++] = b64_tab[(v >> 12) & 63];
		out[o++] = i + 1 < n ? b64_tab[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? b64_tab[v & 63] : '=';
	}
	out[o] = '\0';
	return o;
}

static int
b64_val(char c)
{
	const char *q;

	if (c == '\0' || (q = strchr(b64_tab, c)) == NULL)
		return -1;
	return (int)(q - b64_tab);
}

int
bm_base64_dec(uint8_t *out, size_t size, const char *in, size_t len,
    size_t *outlen)
{
	size_t i, o = 0;

	if (len % 4 != 0)
		return -EINVAL;
	for (i = 0; i < len; i += 4) {
		int pad = (in[i + 3] == '=') + (in[i + 2] == '=');
		int a = b64_val(in[i]), b = b64_val(in[i + 1]);
		int c = pad < 2 ? b64_val(in[i + 2]) : 0;
		int d = pad < 1 ? b64_val(in[i + 3]) : 0;
		uint32_t v;

		/* Padding only at the very end, "x=" never before "==". */
		if (a < 0 || b < 0 || c < 0 || d < 0 ||
		    (pad > 0 && i + 4 != len) ||
		    (pad == 1 && in[i + 2] == '='))
			return -EINVAL;
		if (size - o < (size_t)(3 - pad))
			return -ENOSPC;
		v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 |
		    (uint32_t)d;
		out[o++] = (uint8_t)(v >> 16);
		if (pad < 2)
			out[o++] = (uint8_t)(v >> 8);
		if (pad < 1)
			out[o++] = (uint8_t)v;
	}
	*outlen = o;
	return 0;
}
