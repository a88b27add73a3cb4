/*
 * test_esc.c -- unit tests of the escape of client-controlled text
 * (tools/base/bm_esc.c): every byte value alone and between letters,
 * invalid and hidden UTF-8, the escape is one line of printable UTF-8
 * that decodes back to exactly the bytes it came from (so two names
 * never print alike), and a short buffer never cuts an escape.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bm_bytes.h"
#include "bm_esc.h"
#include "check.h"

/* Decode an escape (the rules of bm_esc.h) into @out; -1 when @e is
 * not one bm_esc() can write. */
static int
unescape(const char *e, char *out, size_t size)
{
	size_t o = 0;
	unsigned x;

	while (*e != '\0') {
		if (o + 1 >= size)
			return -1;
		if (*e != '\\') {
			out[o++] = *e++;
			continue;
		}
		switch (e[1]) {
		case '\\': out[o++] = '\\'; break;
		case 'n': out[o++] = '\n'; break;
		case 't': out[o++] = '\t'; break;
		case 'r': out[o++] = '\r'; break;
		case 'x':
			if (sscanf(e + 2, "%2x", &x) != 1 || x == 0)
				return -1;
			out[o++] = (char)x;
			e += 2;
			break;
		default:
			return -1;
		}
		e += 2;
	}
	out[o] = '\0';
	return 0;
}

/* The escape of @s is @want (when not NULL), printable UTF-8 on one
 * line, and decodes back to @s. */
static void
check_esc(const char *s, const char *want)
{
	char out[BM_ESC_SIZE(64)], back[128], *dup;
	size_t n, i;

	REQUIRE(strlen(s) <= 64);
	n = bm_esc(out, sizeof(out), s);
	CHECK(n == strlen(out));
	if (want != NULL && strcmp(out, want) != 0) {
		fprintf(stderr, "escape of %zu bytes: got '%s', want '%s'\n",
		    strlen(s), out, want);
		CHECK(!"escape as documented");
	}
	CHECK(bm_utf8_valid(out));
	for (i = 0; out[i] != '\0'; i++)
		CHECK((unsigned char)out[i] >= 0x20 &&
		    (unsigned char)out[i] != 0x7f);
	/* No C1 control, line separator or bidi control left. */
	CHECK(strstr(out, "\xc2\x85") == NULL &&
	    strstr(out, "\xe2\x80\xa8") == NULL &&
	    strstr(out, "\xe2\x80\xae") == NULL);
	CHECK(unescape(out, back, sizeof(back)) == 0 && strcmp(back, s) == 0);
	dup = bm_esc_dup(s);
	CHECK(dup != NULL && strcmp(dup, out) == 0);
	free(dup);
}

static void
test_every_byte(void)
{
	char s[8], want[32];
	int c;

	for (c = 1; c < 256; c++) {
		if (c == '\\')
			snprintf(want, sizeof(want), "\\\\");
		else if (c == '\n')
			snprintf(want, sizeof(want), "\\n");
		else if (c == '\t')
			snprintf(want, sizeof(want), "\\t");
		else if (c == '\r')
			snprintf(want, sizeof(want), "\\r");
		else if (c < 0x20 || c >= 0x7f) /* no byte >= 0x80 is a
		                                 * character alone */
			snprintf(want, sizeof(want), "\\x%02x", c);
		else
			snprintf(want, sizeof(want), "%c", c);
		snprintf(s, sizeof(s), "%c", c);
		check_esc(s, want);
		snprintf(s, sizeof(s), "a%cb", c);
		snprintf(want + strlen(want), sizeof(want) - strlen(want),
		    "b");
		memmove(want + 1, want, strlen(want) + 1);
		want[0] = 'a';
		check_esc(s, want);
	}
}

static void
test_sequences(void)
{
	static const struct {
		const char *in, *want;
	} t[] = {
		{"", ""},
		{"plain name.txt", "plain name.txt"},
		{"caf\xc3\xa9 \xf0\x9f\x90\x9d", "caf\xc3\xa9 \xf0\x9f\x90\x9d"},
		/* The forged journal line of a hostile client. */
		{"f\n2026-12-03T09:00:00Z  delete    admin  ALL BACKUPS",
		    "f\\n2026-12-03T09:00:00Z  delete    admin  ALL BACKUPS"},
		{"\x1b]0;owned\x07\x1b[2J", "\\x1b]0;owned\\x07\\x1b[2J"},
		/* Invalid bytes never print like U+FFFD. */
		{"\xff\xfe", "\\xff\\xfe"},
		{"\xef\xbf\xbd\xef\xbf\xbd", "\xef\xbf\xbd\xef\xbf\xbd"},
		/* A name that looks escaped differs from the bytes. */
		{"\\xff", "\\\\xff"},
		/* Surrogates, overlong forms, above U+10FFFF: each byte. */
		{"\xed\xa0\x80", "\\xed\\xa0\\x80"},
		{"\xed\x9f\xbf", "\xed\x9f\xbf"},
		{"\xc0\xaf", "\\xc0\\xaf"},
		{"\xe0\x80\xaf", "\\xe0\\x80\\xaf"},
		{"\xe0\xa0\x80", "\xe0\xa0\x80"},
		{"\xf0\x80\x80\xaf", "\\xf0\\x80\\x80\\xaf"},
		{"\xf0\x90\x80\x80", "\xf0\x90\x80\x80"},
		{"\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf"},
		{"\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"},
		/* A cut sequence: its bytes, then what follows. */
		{"\xe2\x82x", "\\xe2\\x82x"},
		/* C1 controls, separators and bidi controls. */
		{"\xc2\x85", "\\xc2\\x85"},
		{"\xc2\x9b" "2J", "\\xc2\\x9b" "2J"},
		{"\xc2\xa0", "\xc2\xa0"},
		{"a\xe2\x80\xa8" "b", "a\\xe2\\x80\\xa8" "b"},
		{"evil\xe2\x80\xaetxt.exe", "evil\\xe2\\x80\\xaetxt.exe"},
		{"\xe2\x81\xa6x", "\\xe2\\x81\\xa6x"},
		{"\xd8\x9c", "\\xd8\\x9c"},
		{"\x7f", "\\x7f"},
		/* Invisible characters: "a\u200bb" must not look like "ab". */
		{"a\xe2\x80\x8b" "b", "a\\xe2\\x80\\x8b" "b"},
		{"\xef\xbb\xbf" "x", "\\xef\\xbb\\xbf" "x"},
		{"\xc2\xad", "\\xc2\\xad"},
		{"\xe2\x81\xa0", "\\xe2\\x81\\xa0"},
		{"\xe2\x80\x8a", "\xe2\x80\x8a"}, /* U+200A: a space */
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		check_esc(t[i].in, t[i].want);
}

/* Pseudo-random byte strings: the escape decodes back, and distinct
 * strings never escape alike. */
static void
test_random(void)
{
	unsigned seed = 4242;
	char s[2][24], e[2][BM_ESC_SIZE(24)];
	int i, k, n;

	for (i = 0; i < 20000; i++) {
		for (k = 0; k < 2; k++) {
			for (n = 0; n < 1 + i % 20; n++) {
				seed = seed * 1103515245 + 12345;
				s[k][n] = (char)((seed >> 16) % 255 + 1);
				if (i % 3 == 0)
					s[k][n] = "ab\\x\xc3\xa9\xff\n"[(seed >>
					    8) % 8];
			}
			s[k][n] = '\0';
			bm_esc(e[k], sizeof(e[k]), s[k]);
		}
		check_esc(s[0], NULL);
		CHECK((strcmp(s[0], s[1]) == 0) == (strcmp(e[0], e[1]) == 0));
	}
}

/* A buffer too small: whole escapes only, the full length returned. */
static void
test_short(void)
{
	char out[8];
	FILE *f;
	char *buf = NULL;
	size_t len = 0;

	CHECK(bm_esc(out, sizeof(out), "ab\xff\xfe") == 10);
	CHECK(strcmp(out, "ab\\xff") == 0);
	CHECK(bm_esc(out, 3, "a\nb") == 4);
	CHECK(strcmp(out, "a") == 0);
	CHECK(bm_esc(NULL, 0, "\xc3\xa9") == 2);
	CHECK(bm_esc(out, 2, "\xc3\xa9") == 2 && out[0] == '\0');
	REQUIRE((f = open_memstream(&buf, &len)) != NULL);
	bm_esc_put(f, "x\n\xff");
	REQUIRE(fclose(f) == 0);
	CHECK(strcmp(buf, "x\\n\\xff") == 0);
	free(buf);
}

int
main(void)
{
	test_every_byte();
	test_sequences();
	test_random();
	test_short();
	return check_status();
}
