/*
 * bm_json.c -- the streaming JSON writer (bm_json.h).
 */
#include <inttypes.h>
#include <string.h>

#include "bm_bytes.h"
#include "bm_esc.h"
#include "bm_json.h"
#include "bm_time.h"

void
bm_json_init(bm_json *j, FILE *f)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
	j->first[0] = 1;
}

/* @n bytes of a JSON string: '"', '\\' and control characters escaped
 * (RFC 8259, section 7), the rest (valid UTF-8) as it is. */
static void
put_chars(FILE *f, const char *p, size_t n)
{
	const unsigned char *s = (const unsigned char *)p;
	size_t i;

	for (i = 0; i < n; i++) {
		switch (s[i]) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		default:
			if (s[i] < 0x20)
				fprintf(f, "\\u%04x", s[i]);
			else
				fputc(s[i], f);
		}
	}
}

/* A JSON string: @str itself when it is valid UTF-8, else its escape
 * (bm_esc.h), which is. */
static void
put_string(FILE *f, const char *str)
{
	char tmp[BM_ESC_CHAR_MAX];
	size_t len;

	fputc('"', f);
	if (bm_utf8_valid(str)) {
		put_chars(f, str, strlen(str));
	} else {
		while (*str != '\0') {
			str += bm_esc_char(str, tmp, &len);
			put_chars(f, tmp, len);
		}
	}
	fputc('"', f);
}

/* The base64 of the bytes of @str as a JSON string. */
static void
put_base64(FILE *f, const char *str)
{
	char out[BM_BASE64_LEN(48) + 1];
	size_t n = strlen(str), i;

	fputc('"', f);
	for (i = 0; i < n; i += 48)
		fwrite(out, 1,
		       bm_base64_enc(out, str + i, n - i < 48 ? n - i : 48), f);
	fputc('"', f);
}

static void
element(bm_json *j, const char *key)
{
	if (!j->first[j->depth])
		fputc(',', j->f);
	j->first[j->depth] = 0;
	if (key != NULL) {
		put_string(j->f, key);
		fputc(':', j->f);
	}
}

/* The name of the member "@key_b64" that follows member @key (keys are
 * the caller's constants: ASCII). */
static void
b64_key(bm_json *j, const char *key)
{
	fputs(",\"", j->f);
	put_chars(j->f, key, strlen(key));
	fputs("_b64\":", j->f);
}

static void
open_nest(bm_json *j, const char *key, char c)
{
	element(j, key);
	fputc(c, j->f);
	if (j->depth + 1 < (int)sizeof(j->first))
		j->depth++;
	j->first[j->depth] = 1;
}

static void
close_nest(bm_json *j, char c)
{
	fputc(c, j->f);
	if (j->depth > 0)
		j->depth--;
	if (j->depth == 0)
		fputc('\n', j->f);
}

void
bm_json_begin_obj(bm_json *j, const char *key)
{
	open_nest(j, key, '{');
}

void
bm_json_end_obj(bm_json *j)
{
	close_nest(j, '}');
}

void
bm_json_begin_arr(bm_json *j, const char *key)
{
	open_nest(j, key, '[');
}

void
bm_json_end_arr(bm_json *j)
{
	close_nest(j, ']');
}

void
bm_json_str(bm_json *j, const char *key, const char *val)
{
	if (val == NULL) {
		bm_json_null(j, key);
		return;
	}
	element(j, key);
	put_string(j->f, val);
	if (key != NULL && !bm_utf8_valid(val)) {
		b64_key(j, key);
		put_base64(j->f, val);
	}
}

void
bm_json_strs(bm_json *j, const char *key, const char *const *vals, size_t n)
{
	size_t i, invalid = 0;

	bm_json_begin_arr(j, key);
	for (i = 0; i < n; i++) {
		bm_json_str(j, NULL, vals[i]);
		invalid += !bm_utf8_valid(vals[i]);
	}
	bm_json_end_arr(j);
	if (invalid == 0)
		return;
	b64_key(j, key);
	fputc('[', j->f);
	for (i = 0; i < n; i++) {
		if (i > 0)
			fputc(',', j->f);
		if (bm_utf8_valid(vals[i]))
			fputs("null", j->f);
		else
			put_base64(j->f, vals[i]);
	}
	fputc(']', j->f);
}

void
bm_json_u64(bm_json *j, const char *key, uint64_t val)
{
	element(j, key);
	fprintf(j->f, "%" PRIu64, val);
}

void
bm_json_i64(bm_json *j, const char *key, int64_t val)
{
	element(j, key);
	fprintf(j->f, "%" PRId64, val);
}

void
bm_json_bool(bm_json *j, const char *key, int val)
{
	element(j, key);
	fputs(val ? "true" : "false", j->f);
}

void
bm_json_null(bm_json *j, const char *key)
{
	element(j, key);
	fputs("null", j->f);
}

void
bm_json_head(bm_json *j, const char *format, unsigned version)
{
	bm_json_begin_obj(j, NULL);
	bm_json_str(j, "format", format);
	bm_json_u64(j, "version", version);
}

void
bm_json_time(bm_json *j, const char *key, uint64_t ns)
{
	char buf[32];

	if (ns == 0) {
		bm_json_null(j, key);
		return;
	}
	bm_json_str(j, key, bm_time_str(buf, sizeof(buf), ns));
}
