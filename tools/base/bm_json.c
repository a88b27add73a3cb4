/*
 * bm_json.c -- the streaming JSON writer (bm_json.h).
 */
#include <inttypes.h>
#include <string.h>

#include "bm_bytes.h"
#include "bm_json.h"
#include "bm_time.h"

void
bm_json_init(bm_json *j, FILE *f)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
	j->first[0] = 1;
}

static void
put_string(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	fputc('"', f);
	while (*s != '\0') {
		size_t n = bm_utf8_len(s);

		if (n == 0) {
			fputs("\\ufffd", f);
			s++;
			continue;
		}
		if (n > 1) {
			fwrite(s, 1, n, f);
			s += n;
			continue;
		}
		switch (*s) {
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
			if (*s < 0x20)
				fprintf(f, "\\u%04x", *s);
			else
				fputc(*s, f);
		}
		s++;
	}
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
bm_json_time(bm_json *j, const char *key, uint64_t ns)
{
	char buf[32];

	if (ns == 0) {
		bm_json_null(j, key);
		return;
	}
	bm_json_str(j, key, bm_time_str(buf, sizeof(buf), ns));
}
