/*
 * sjson.c -- a small, strict JSON reader (sjson.h).  Manifests come from
 * a remote that may be hostile, status files from other programs: the
 * parser bounds nesting, refuses NUL in strings and trailing garbage,
 * and never reads past @len.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bm.h"
#include "sjson.h"

#define SJSON_MAX_DEPTH 16

struct parser {
	const char *p, *end;
};

static void
skip_ws(struct parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' ||
	    *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static void
val_clear(struct sjson *v)
{
	size_t i;

	for (i = 0; i < v->nkids; i++)
		val_clear(&v->kids[i]);
	free(v->kids);
	free(v->key);
	free(v->str);
}

void
sjson_free(struct sjson *v)
{
	if (v == NULL)
		return;
	val_clear(v);
	free(v);
}

static int
hex4(const char *p, unsigned *out)
{
	unsigned v = 0;
	int i;

	for (i = 0; i < 4; i++) {
		char c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

static size_t
put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Parse a string at ps->p (on the opening quote) into a new buffer. */
static int
parse_string(struct parser *ps, char **out)
{
	const char *s = ++ps->p, *q;
	char *buf, *o;
	size_t n;

	/* The decoded string is never longer than the encoded one. */
	for (q = s; q < ps->end && *q != '"'; q++)
		if (*q == '\\' && ++q >= ps->end)
			return BEEMO_EFORMAT;
	if (q >= ps->end)
		return BEEMO_EFORMAT;
	n = (size_t)(q - s);
	if ((buf = malloc(n + 1)) == NULL)
		return -ENOMEM;
	o = buf;
	while (ps->p < q) {
		unsigned char c = (unsigned char)*ps->p++;
		unsigned cp, lo;

		if (c < 0x20)
			goto fail_format;
		if (c != '\\') {
			*o++ = (char)c;
			continue;
		}
		switch (*ps->p++) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '/': *o++ = '/'; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case 'u':
			if (q - ps->p < 4 || hex4(ps->p, &cp) != 0)
				goto fail_format;
			ps->p += 4;
			if (cp >= 0xd800 && cp < 0xdc00) {
				if (q - ps->p < 6 || ps->p[0] != '\\' ||
				    ps->p[1] != 'u' || hex4(ps->p + 2, &lo) ||
				    lo < 0xdc00 || lo >= 0xe000)
					goto fail_format;
				ps->p += 6;
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				    (lo - 0xdc00);
			} else if (cp >= 0xdc00 && cp < 0xe000) {
				goto fail_format;
			}
			if (cp == 0)
				goto fail_format;
			/* \uXXXX is 6 bytes in, at most 3 out (4 for 12). */
			o += put_utf8(o, cp);
			break;
		default:
			goto fail_format;
		}
	}
	*o = '\0';
	ps->p = q + 1;
	*out = buf;
	return 0;

fail_format:
	free(buf);
	return BEEMO_EFORMAT;
}

static int
parse_number(struct parser *ps, struct sjson *v)
{
	uint64_t x = 0;
	int neg = 0, overflow = 0, frac = 0;

	if (ps->p < ps->end && *ps->p == '-') {
		neg = 1;
		ps->p++;
	}
	if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
		return BEEMO_EFORMAT;
	if (*ps->p == '0' && ps->p + 1 < ps->end && ps->p[1] >= '0' &&
	    ps->p[1] <= '9')
		return BEEMO_EFORMAT;
	while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') {
		unsigned d = (unsigned)(*ps->p++ - '0');

		if (x > (UINT64_MAX - d) / 10)
			overflow = 1;
		else
			x = x * 10 + d;
	}
	if (ps->p < ps->end && *ps->p == '.') {
		frac = 1;
		ps->p++;
		if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
			return BEEMO_EFORMAT;
		while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
			ps->p++;
	}
	if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
		frac = 1;
		ps->p++;
		if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
			ps->p++;
		if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
			return BEEMO_EFORMAT;
		while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
			ps->p++;
	}
	v->type = SJSON_NUM;
	v->is_u64 = !neg && !overflow && !frac;
	v->u64 = v->is_u64 ? x : 0;
	return 0;
}

static int
match_word(struct parser *ps, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, w, n) != 0)
		return BEEMO_EFORMAT;
	ps->p += n;
	return 0;
}

static int parse_value(struct parser *ps, struct sjson *v, int depth);

/* Append a zeroed kid to @v; returns it or NULL. */
static struct sjson *
add_kid(struct sjson *v, size_t *cap)
{
	struct sjson *k;

	if (v->nkids == *cap) {
		size_t nc = *cap ? *cap * 2 : 4;

		k = realloc(v->kids, nc * sizeof(*k));
		if (k == NULL)
			return NULL;
		v->kids = k;
		*cap = nc;
	}
	k = &v->kids[v->nkids++];
	memset(k, 0, sizeof(*k));
	return k;
}

static int
parse_container(struct parser *ps, struct sjson *v, int depth, int obj)
{
	size_t cap = 0;
	char close = obj ? '}' : ']';
	int rc;

	v->type = obj ? SJSON_OBJ : SJSON_ARR;
	ps->p++;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
		return 0;
	}
	for (;;) {
		struct sjson *k;
		char *key = NULL;

		skip_ws(ps);
		if (obj) {
			if (ps->p >= ps->end || *ps->p != '"')
				return BEEMO_EFORMAT;
			if ((rc = parse_string(ps, &key)) != 0)
				return rc;
			skip_ws(ps);
			if (ps->p >= ps->end || *ps->p != ':') {
				free(key);
				return BEEMO_EFORMAT;
			}
			ps->p++;
		}
		if ((k = add_kid(v, &cap)) == NULL) {
			free(key);
			return -ENOMEM;
		}
		k->key = key;
		if ((rc = parse_value(ps, k, depth + 1)) != 0)
			return rc;
		skip_ws(ps);
		if (ps->p >= ps->end)
			return BEEMO_EFORMAT;
		if (*ps->p == ',') {
			ps->p++;
			continue;
		}
		if (*ps->p != close)
			return BEEMO_EFORMAT;
		ps->p++;
		return 0;
	}
}

static int
parse_value(struct parser *ps, struct sjson *v, int depth)
{
	if (depth > SJSON_MAX_DEPTH)
		return BEEMO_EFORMAT;
	skip_ws(ps);
	if (ps->p >= ps->end)
		return BEEMO_EFORMAT;
	switch (*ps->p) {
	case '{':
		return parse_container(ps, v, depth, 1);
	case '[':
		return parse_container(ps, v, depth, 0);
	case '"':
		v->type = SJSON_STR;
		return parse_string(ps, &v->str);
	case 't':
		v->type = SJSON_BOOL;
		v->b = 1;
		return match_word(ps, "true");
	case 'f':
		v->type = SJSON_BOOL;
		return match_word(ps, "false");
	case 'n':
		v->type = SJSON_NULL;
		return match_word(ps, "null");
	default:
		return parse_number(ps, v);
	}
}

int
sjson_parse(const char *text, size_t len, struct sjson **out)
{
	struct parser ps = {text, text + len};
	struct sjson *v;
	int rc;

	if ((v = calloc(1, sizeof(*v))) == NULL)
		return -ENOMEM;
	if ((rc = parse_value(&ps, v, 0)) != 0)
		goto fail_free;
	skip_ws(&ps);
	if (ps.p != ps.end) {
		rc = BEEMO_EFORMAT;
		goto fail_free;
	}
	*out = v;
	return 0;

fail_free:
	sjson_free(v);
	return rc;
}

const struct sjson *
sjson_get(const struct sjson *o, const char *key, enum sjson_type type)
{
	size_t i;

	if (o == NULL || o->type != SJSON_OBJ)
		return NULL;
	/* The last duplicate wins, as in most readers. */
	for (i = o->nkids; i-- > 0;)
		if (strcmp(o->kids[i].key, key) == 0)
			return o->kids[i].type == type ? &o->kids[i] : NULL;
	return NULL;
}

const char *
sjson_str(const struct sjson *o, const char *key)
{
	const struct sjson *v = sjson_get(o, key, SJSON_STR);

	return v != NULL ? v->str : NULL;
}

int
sjson_u64(const struct sjson *o, const char *key, uint64_t *out)
{
	const struct sjson *v = sjson_get(o, key, SJSON_NUM);

	if (v == NULL || !v->is_u64)
		return -EINVAL;
	*out = v->u64;
	return 0;
}

uint64_t
sjson_num(const struct sjson *o, const char *key)
{
	uint64_t v = 0;

	(void)sjson_u64(o, key, &v);
	return v;
}
