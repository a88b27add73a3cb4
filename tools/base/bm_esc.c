/*
 * bm_esc.c -- client-controlled text for lines and terminals (bm_esc.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bm_bytes.h"
#include "bm_esc.h"

/* The code point of the valid UTF-8 sequence of @n bytes at @s. */
static uint32_t
code_point(const unsigned char *s, size_t n)
{
	static const unsigned char lead_mask[] = {0, 0x7f, 0x1f, 0x0f, 0x07};
	uint32_t cp = s[0] & lead_mask[n];
	size_t i;

	for (i = 1; i < n; i++)
		cp = cp << 6 | (s[i] & 0x3f);
	return cp;
}

/* Characters that are valid UTF-8 but escaped: C1 controls, line and
 * paragraph separators, the bidirectional controls that reorder what is
 * shown, and the invisible ones that would make two names look alike. */
static int
hidden(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || cp == 0xad || cp == 0x061c ||
	       cp == 0x180e || (cp >= 0x200b && cp <= 0x200f) ||
	       (cp >= 0x2028 && cp <= 0x202e) ||
	       (cp >= 0x2060 && cp <= 0x2064) ||
	       (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfeff;
}

size_t
bm_esc_char(const char *str, char out[BM_ESC_CHAR_MAX], size_t *outlen)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	size_t n = bm_utf8_len(s), i, o = 0;

	if (n == 1) {
		const char *named = *s == '\\'   ? "\\\\"
		                    : *s == '\n' ? "\\n"
		                    : *s == '\t' ? "\\t"
		                    : *s == '\r' ? "\\r"
		                                 : NULL;

		if (named != NULL) {
			memcpy(out, named, 2);
			*outlen = 2;
			return 1;
		}
		if (*s >= 0x20 && *s != 0x7f) {
			out[0] = (char)*s;
			*outlen = 1;
			return 1;
		}
	} else if (n > 1 && !hidden(code_point(s, n))) {
		memcpy(out, s, n);
		*outlen = n;
		return n;
	}
	/* A control, a hidden character (each of its bytes), or one byte
	 * that does not start a valid sequence. */
	if (n == 0)
		n = 1;
	for (i = 0; i < n; i++) {
		out[o++] = '\\';
		out[o++] = 'x';
		out[o++] = hex[s[i] >> 4];
		out[o++] = hex[s[i] & 15];
	}
	*outlen = o;
	return n;
}

size_t
bm_esc(char *out, size_t size, const char *s)
{
	size_t total = 0, o = 0, len;
	char tmp[BM_ESC_CHAR_MAX];

	while (*s != '\0') {
		s += bm_esc_char(s, tmp, &len);
		/* Once an escape did not fit, nothing more is written. */
		if (o == total && size > 0 && o + len < size) {
			memcpy(out + o, tmp, len);
			o += len;
		}
		total += len;
	}
	if (size > 0)
		out[o] = '\0';
	return total;
}

char *
bm_esc_dup(const char *s)
{
	size_t need = bm_esc(NULL, 0, s) + 1;
	char *out = malloc(need);

	if (out != NULL)
		bm_esc(out, need, s);
	return out;
}

void
bm_esc_put(FILE *f, const char *s)
{
	size_t len;
	char tmp[BM_ESC_CHAR_MAX];

	while (*s != '\0') {
		s += bm_esc_char(s, tmp, &len);
		fwrite(tmp, 1, len, f);
	}
}
