/*
 * test_json.c -- unit tests of the JSON writer and the strict reader
 * (tools/base/bm_json.c, bm_json_read.c): what the writer writes reads
 * back the same, escapes and numbers, and hostile input -- every
 * truncation, deep nesting, huge numbers, invalid UTF-8, NUL bytes and
 * random damage -- fails with BEEMO_EFORMAT and never reads past the
 * given length (each input is a malloc'd copy of exactly its bytes, so
 * AddressSanitizer sees any overread).  Strings of any bytes (every
 * byte value, surrogates, overlong forms, code points above U+10FFFF)
 * make valid JSON that gives the exact bytes back.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bm_bytes.h"
#include "bm_err.h"
#include "bm_esc.h"
#include "bm_json.h"
#include "check.h"

/* Parse @len bytes of @text from a buffer of exactly that size. */
static int
parse_n(const char *text, size_t len, struct sjson **out)
{
	char *copy = malloc(len ? len : 1);
	int rc;

	REQUIRE(copy != NULL);
	memcpy(copy, text, len);
	*out = NULL;
	rc = sjson_parse(copy, len, out);
	free(copy);
	if (rc != 0)
		CHECK(*out == NULL);
	return rc;
}

static int
parse(const char *text, struct sjson **out)
{
	return parse_n(text, strlen(text), out);
}

/* @text must be refused. */
static void
refused_n(const char *text, size_t len)
{
	struct sjson *v;
	int rc = parse_n(text, len, &v);

	if (rc != BEEMO_EFORMAT)
		fprintf(stderr, "accepted or wrong code %d: \"%.*s\"\n", rc,
		    (int)len, text);
	CHECK_RC(rc, BEEMO_EFORMAT);
	sjson_free(v);
}

static void
refused(const char *text)
{
	refused_n(text, strlen(text));
}

/* The string that @text (one JSON string) decodes to must be @want. */
static void
string_is(const char *text, const char *want)
{
	struct sjson *v;

	if (parse(text, &v) != 0) {
		fprintf(stderr, "refused: %s\n", text);
		CHECK(!"string parsed");
		return;
	}
	CHECK(v->type == SJSON_STR && strcmp(v->str, want) == 0);
	sjson_free(v);
}

/* Write a document with the writer; returns a malloc'd text. */
static char *
write_doc(size_t *len)
{
	char *buf = NULL;
	bm_json j;
	FILE *f;

	REQUIRE((f = open_memstream(&buf, len)) != NULL);
	bm_json_init(&j, f);
	bm_json_begin_obj(&j, NULL);
	bm_json_str(&j, "plain", "hello");
	bm_json_str(&j, "escapes", "q\" b\\ n\n t\t r\r c\001 del\177 /");
	bm_json_str(&j, "utf8", "caf\xc3\xa9 \xf0\x9f\x98\x80");
	bm_json_str(&j, "invalid", "a\xff" "b\xc0\xaf" "c");
	bm_json_str(&j, "null_str", NULL);
	bm_json_str(&j, "", "empty key");
	bm_json_u64(&j, "max", UINT64_MAX);
	bm_json_u64(&j, "zero", 0);
	bm_json_i64(&j, "neg", INT64_MIN);
	bm_json_bool(&j, "t", 1);
	bm_json_bool(&j, "f", 0);
	bm_json_null(&j, "n");
	bm_json_time(&j, "time", 1795861230ULL * 1000000000ULL);
	bm_json_time(&j, "never", 0);
	bm_json_begin_arr(&j, "list");
	bm_json_u64(&j, NULL, 1);
	bm_json_begin_obj(&j, NULL);
	bm_json_begin_arr(&j, "inner");
	bm_json_end_arr(&j);
	bm_json_end_obj(&j);
	bm_json_str(&j, NULL, "x");
	bm_json_end_arr(&j);
	bm_json_begin_obj(&j, "empty");
	bm_json_end_obj(&j);
	bm_json_end_obj(&j);
	REQUIRE(fclose(f) == 0);
	return buf;
}

static void
test_round_trip(void)
{
	const struct sjson *l, *o;
	struct sjson *v;
	uint64_t x;
	size_t len;
	char *doc = write_doc(&len);

	/* One line, ended by a newline, valid UTF-8 throughout. */
	CHECK(len > 0 && doc[len - 1] == '\n' &&
	    strchr(doc, '\n') == doc + len - 1);
	REQUIRE_OK(parse_n(doc, len, &v));
	CHECK(v->type == SJSON_OBJ && v->nkids == 17);
	CHECK(strcmp(sjson_str(v, "plain"), "hello") == 0);
	CHECK(strcmp(sjson_str(v, "escapes"),
	    "q\" b\\ n\n t\t r\r c\001 del\177 /") == 0);
	CHECK(strcmp(sjson_str(v, "utf8"), "caf\xc3\xa9 \xf0\x9f\x98\x80") ==
	    0);
	/* Not UTF-8: its escape, and its bytes in base64. */
	CHECK(strcmp(sjson_str(v, "invalid"), "a\\xffb\\xc0\\xafc") == 0);
	CHECK(strcmp(sjson_str(v, "invalid_b64"), "Yf9iwK9j") == 0);
	CHECK(sjson_get(v, "null_str", SJSON_NULL) != NULL);
	CHECK(strcmp(sjson_str(v, ""), "empty key") == 0);
	CHECK_OK(sjson_u64(v, "max", &x));
	CHECK(x == UINT64_MAX);
	CHECK(sjson_num(v, "zero") == 0 &&
	    sjson_get(v, "zero", SJSON_NUM) != NULL);
	o = sjson_get(v, "neg", SJSON_NUM);
	CHECK(o != NULL && !o->is_u64);
	CHECK_RC(sjson_u64(v, "neg", &x), -EINVAL);
	CHECK(sjson_get(v, "t", SJSON_BOOL)->b == 1);
	CHECK(sjson_get(v, "f", SJSON_BOOL)->b == 0);
	CHECK(sjson_get(v, "n", SJSON_NULL) != NULL);
	CHECK(strcmp(sjson_str(v, "time"), "2026-11-28T10:20:30Z") == 0);
	CHECK(sjson_get(v, "never", SJSON_NULL) != NULL);
	l = sjson_get(v, "list", SJSON_ARR);
	REQUIRE(l != NULL && l->nkids == 3);
	CHECK(l->kids[0].type == SJSON_NUM && l->kids[0].u64 == 1 &&
	    l->kids[0].key == NULL);
	o = sjson_get(&l->kids[1], "inner", SJSON_ARR);
	CHECK(o != NULL && o->nkids == 0);
	CHECK(l->kids[2].type == SJSON_STR && !strcmp(l->kids[2].str, "x"));
	o = sjson_get(v, "empty", SJSON_OBJ);
	CHECK(o != NULL && o->nkids == 0);
	/* Wrong type or absent: NULL, never a crash. */
	CHECK(sjson_get(v, "plain", SJSON_NUM) == NULL);
	CHECK(sjson_str(v, "absent") == NULL);
	CHECK(sjson_num(v, "plain") == 0);
	CHECK(sjson_get(l, "x", SJSON_STR) == NULL);
	CHECK(sjson_get(NULL, "x", SJSON_STR) == NULL);
	sjson_free(v);
	free(doc);
}

static void
test_reader(void)
{
	struct sjson *v;
	uint64_t x;

	/* Escapes. */
	string_is("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\/\b\f\n\r\t");
	string_is("\"\\u0041\\u00e9\\u20AC\"", "A\xc3\xa9\xe2\x82\xac");
	string_is("\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80");
	string_is("\"caf\xc3\xa9\"", "caf\xc3\xa9");
	string_is("\"\"", "");
	refused("\"\\x41\"");
	refused("\"\\u12\"");
	refused("\"\\u12g4\"");
	refused("\"\\ud83d\"");         /* lone high surrogate */
	refused("\"\\ud83d\\u0041\"");  /* high surrogate, no low one */
	refused("\"\\ude00\"");         /* lone low surrogate */
	refused("\"\\u0000\"");         /* NUL inside a string */
	refused("\"tab\there\"");       /* raw control character */
	refused("\"a\\\"");

	/* Numbers: non-negative integers below 2^64 are kept. */
	REQUIRE_OK(parse("[0, 42, 18446744073709551615, 18446744073709551616, "
	    "-1, 1.5, 1e3, 2E-2, -0.0e+1]", &v));
	REQUIRE(v->nkids == 9);
	CHECK(v->kids[0].is_u64 && v->kids[0].u64 == 0);
	CHECK(v->kids[1].is_u64 && v->kids[1].u64 == 42);
	CHECK(v->kids[2].is_u64 && v->kids[2].u64 == UINT64_MAX);
	for (x = 3; x < 9; x++)
		CHECK(v->kids[x].type == SJSON_NUM && !v->kids[x].is_u64);
	sjson_free(v);
	refused("01");
	refused("-");
	refused("+1");
	refused("1.");
	refused(".5");
	refused("1e");
	refused("1e+");
	refused("0x10");
	refused("NaN");
	refused("Infinity");

	/* Words, blanks and what may follow the value. */
	REQUIRE_OK(parse(" \t\r\n{ \"a\" : [ true , false , null ] }\n ", &v));
	CHECK(sjson_get(v, "a", SJSON_ARR)->nkids == 3);
	sjson_free(v);
	refused("");
	refused("   ");
	refused("tru");
	refused("nul");
	refused("True");
	refused("{} x");
	refused("{}{}");
	refused("[1,]");
	refused("[,1]");
	refused("{\"a\":1,}");
	refused("{\"a\" 1}");
	refused("{a:1}");
	refused("{1:1}");
	refused("[1 2]");
	refused("'a'");

	/* Duplicate keys: the last wins. */
	REQUIRE_OK(parse("{\"k\": 1, \"k\": 2}", &v));
	CHECK_OK(sjson_u64(v, "k", &x));
	CHECK(x == 2);
	sjson_free(v);
}

static void
test_truncated(void)
{
	size_t len, i;
	char *doc = write_doc(&len);

	/* No proper prefix of an object is a document. */
	for (i = 0; i < len - 1; i++)
		refused_n(doc, i);
	free(doc);
}

static void
test_nesting(void)
{
	static char deep[20001];
	struct sjson *v;
	size_t i, k;

	/* SJSON_MAX_DEPTH levels below the root are allowed. */
	k = SJSON_MAX_DEPTH + 1;
	for (i = 0; i < k; i++) {
		deep[i] = '[';
		deep[2 * k - 1 - i] = ']';
	}
	CHECK_OK(parse_n(deep, 2 * k, &v));
	sjson_free(v);
	k++;
	for (i = 0; i < k; i++) {
		deep[i] = '[';
		deep[2 * k - 1 - i] = ']';
	}
	refused_n(deep, 2 * k);
	/* Far deeper, closed or not: refused without exhausting the stack. */
	memset(deep, '[', sizeof(deep));
	refused_n(deep, sizeof(deep));
	for (i = 0; i + 5 < sizeof(deep); i += 5)
		memcpy(deep + i, "{\"a\":", 5);
	refused_n(deep, i);
}

static void
test_hostile(void)
{
	static char huge[100003];
	struct sjson *v;
	uint64_t x;

	/* A number of 100000 digits: accepted, not kept. */
	memset(huge, '9', sizeof(huge));
	huge[0] = '[';
	huge[sizeof(huge) - 2] = ']';
	huge[sizeof(huge) - 1] = ' ';
	REQUIRE_OK(parse_n(huge, sizeof(huge), &v));
	CHECK(v->nkids == 1 && !v->kids[0].is_u64);
	sjson_free(v);
	REQUIRE_OK(parse("{\"n\": 99999999999999999999999}", &v));
	CHECK_RC(sjson_u64(v, "n", &x), -EINVAL);
	sjson_free(v);

	/* Invalid UTF-8 inside strings and keys. */
	refused("\"\xff\"");
	refused("\"a\xc0\xaf\"");         /* overlong */
	refused("\"\xc3\"");              /* cut before the quote */
	refused("\"\xe2\x82\"");
	refused("\"\xf0\x9f\x98\"");
	refused("\"\xf5\x80\x80\x80\"");  /* above U+10FFFF */
	refused("\"\x80\"");              /* a lone continuation byte */
	refused("{\"\xfe\": 1}");
	refused_n("\"\xe2\x82", 3);       /* cut at the end of the text */

	/* NUL bytes anywhere. */
	refused_n("\"a\0b\"", 5);
	refused_n("{}\0", 3);
	refused_n("[1,\0 2]", 7);
	refused_n("\0", 1);
	refused_n("tr\0e", 4);
}

/*
 * The string @str written as member "s" and in an array: the document
 * is valid UTF-8 and strict JSON, and gives @str back -- as it is when it
 * is valid UTF-8, else as its escape with the exact bytes in "s_b64".
 */
static void
check_bytes(const char *str)
{
	const char *strs[3] = {"ok", str, "ok"};
	const struct sjson *a, *b;
	uint8_t raw[64];
	char *buf = NULL, *esc = bm_esc_dup(str);
	size_t len = 0, n = strlen(str), rawlen;
	int valid = bm_utf8_valid(str);
	struct sjson *v;
	bm_json j;
	FILE *f;

	REQUIRE(esc != NULL && n < 40);
	REQUIRE((f = open_memstream(&buf, &len)) != NULL);
	bm_json_init(&j, f);
	bm_json_begin_obj(&j, NULL);
	bm_json_str(&j, "s", str);
	bm_json_strs(&j, "a", strs, 3);
	bm_json_end_obj(&j);
	REQUIRE(fclose(f) == 0);
	CHECK(bm_utf8_valid(buf));
	CHECK_OK(parse_n(buf, len, &v));
	if (v == NULL)
		fprintf(stderr, "not read back: %s", buf);
	CHECK(sjson_str(v, "s") != NULL &&
	    strcmp(sjson_str(v, "s"), valid ? str : esc) == 0);
	a = sjson_get(v, "a", SJSON_ARR);
	b = sjson_get(v, "a_b64", SJSON_ARR);
	CHECK(a != NULL && a->nkids == 3 && a->kids[1].type == SJSON_STR &&
	    strcmp(a->kids[1].str, valid ? str : esc) == 0);
	if (valid) {
		CHECK(sjson_get(v, "s_b64", SJSON_STR) == NULL);
		CHECK(b == NULL);
	} else {
		const char *s64 = sjson_str(v, "s_b64");

		CHECK(s64 != NULL && bm_base64_dec(raw, sizeof(raw), s64,
		    strlen(s64), &rawlen) == 0 && rawlen == n &&
		    memcmp(raw, str, n) == 0);
		CHECK(b != NULL && b->nkids == 3 &&
		    b->kids[0].type == SJSON_NULL &&
		    b->kids[2].type == SJSON_NULL &&
		    b->kids[1].type == SJSON_STR);
		CHECK(b != NULL && b->nkids == 3 && b->kids[1].str != NULL &&
		    bm_base64_dec(raw, sizeof(raw), b->kids[1].str,
		    strlen(b->kids[1].str), &rawlen) == 0 && rawlen == n &&
		    memcmp(raw, str, n) == 0);
	}
	sjson_free(v);
	free(buf);
	free(esc);
}

static void
test_any_bytes(void)
{
	static const char *const seqs[] = {
		"\xed\xa0\x80",         /* U+D800, a surrogate */
		"\xed\xbf\xbf",         /* U+DFFF */
		"\xed\xa0\xbd\xed\xb8\x80", /* a surrogate pair (CESU-8) */
		"\xc0\xaf",             /* overlong '/' */
		"\xc1\xbf",
		"\xe0\x80\xaf",         /* overlong, 3 bytes */
		"\xe0\x9f\xbf",
		"\xf0\x80\x80\xaf",     /* overlong, 4 bytes */
		"\xf0\x8f\xbf\xbf",
		"\xf4\x90\x80\x80",     /* U+110000 */
		"\xf7\xbf\xbf\xbf",
		"\xf8\x88\x80\x80\x80", /* 5-byte forms */
		"\xff\xfe",
		"\xef\xbf\xbd\xef\xbf\xbd", /* U+FFFD U+FFFD: valid */
		"\xf4\x8f\xbf\xbf",     /* U+10FFFF: valid */
		"\xed\x9f\xbf",         /* U+D7FF: valid */
		"\xee\x80\x80",         /* U+E000: valid */
		"\xe2\x80\xae\xc2\x9b", /* RLO, CSI: valid UTF-8 */
		"a\\xffb",               /* a name that looks escaped */
	};
	char s[8];
	int c;
	size_t i;

	for (c = 1; c < 256; c++) {
		snprintf(s, sizeof(s), "x%cy", c);
		check_bytes(s);
		snprintf(s, sizeof(s), "%c", c);
		check_bytes(s);
	}
	for (i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++)
		check_bytes(seqs[i]);
	/* The reader refuses what is not strict UTF-8. */
	refused("\"\xed\xa0\x80\"");
	refused("\"\xe0\x80\xaf\"");
	refused("\"\xf0\x80\x80\xaf\"");
	refused("\"\xf4\x90\x80\x80\"");
}

/* Random damage to a valid document: whatever the reader says, it must
 * not crash, overread or leak (run under the sanitizers in CI). */
static void
test_damage(void)
{
	size_t len, i, n;
	char *doc = write_doc(&len), *copy;
	unsigned seed = 12345;
	struct sjson *v;

	REQUIRE((copy = malloc(len)) != NULL);
	for (i = 0; i < 5000; i++) {
		memcpy(copy, doc, len);
		for (n = 0; n < 1 + i % 4; n++) {
			seed = seed * 1103515245 + 12345;
			copy[(seed >> 8) % len] = (char)(seed >> 20);
		}
		seed = seed * 1103515245 + 12345;
		if (sjson_parse(copy, len - (seed >> 8) % 3, &v) == 0)
			sjson_free(v);
	}
	free(copy);
	free(doc);
}

int
main(void)
{
	test_round_trip();
	test_reader();
	test_truncated();
	test_nesting();
	test_hostile();
	test_damage();
	test_any_bytes();
	return check_status();
}
