/*
 * test_jentry.c -- unit tests of the journal entry encoding
 * (tools/records/bm_jentry.c): known bytes, round trips, the field
 * limits, and hostile input -- every truncation, a trailing byte, a
 * wrong version, lengths and counts that overrun, random damage -- read
 * from buffers of exactly their size.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bm_err.h"
#include "bm_jentry.h"
#include "check.h"

/* Decode @len bytes of @p from a buffer of exactly that size. */
static int
decode_n(const uint8_t *p, size_t len, struct bm_jentry *d)
{
	uint8_t *copy = malloc(len ? len : 1);
	int rc;

	REQUIRE(copy != NULL);
	memcpy(copy, p, len);
	rc = bm_jentry_decode(copy, len, d);
	free(copy);
	return rc;
}

static void
test_known(void)
{
	static const uint8_t want[] = {
		1,                               /* version */
		3, 'k', 'e', 'y',                /* type */
		0, 2, 'm', 'e',                  /* who */
		0, 0, 0, 2, 'h', 'i',            /* summary */
		0, 0, 0, 2,                      /* two files */
		0, 2, '/', 'a',
		0, 0,
	};
	const char *files[] = {"/a", ""};
	struct bm_jentry d;
	uint8_t *b;
	size_t len;

	REQUIRE_OK(bm_jentry_encode("key", "me", "hi", files, 2, &b, &len));
	CHECK(len == sizeof(want) && memcmp(b, want, len) == 0);
	CHECK_OK(decode_n(b, len, &d));
	CHECK(strcmp(d.type, "key") == 0 && strcmp(d.who, "me") == 0 &&
	    strcmp(d.summary, "hi") == 0 && d.nfiles == 2 &&
	    strcmp(d.files[0], "/a") == 0 && strcmp(d.files[1], "") == 0);
	bm_jentry_free(&d);
	free(b);

	/* No who, no summary, no files. */
	REQUIRE_OK(bm_jentry_encode("push", NULL, NULL, NULL, 0, &b, &len));
	CHECK(len == 1 + 1 + 4 + 2 + 4 + 4);
	CHECK_OK(decode_n(b, len, &d));
	CHECK(strcmp(d.type, "push") == 0 && strcmp(d.who, "") == 0 &&
	    strcmp(d.summary, "") == 0 && d.nfiles == 0);
	bm_jentry_free(&d);
	free(b);
}

static void
test_limits(void)
{
	static char big[70000];
	const char *files[1];
	struct bm_jentry d;
	uint8_t *b;
	size_t len;

	memset(big, 'x', sizeof(big) - 1);
	CHECK_RC(bm_jentry_encode("", "w", "s", NULL, 0, &b, &len), -EINVAL);
	big[256] = '\0';
	CHECK_RC(bm_jentry_encode(big, "w", "s", NULL, 0, &b, &len), -EINVAL);
	big[256] = 'x';
	big[255] = '\0';
	REQUIRE_OK(bm_jentry_encode(big, "w", "s", NULL, 0, &b, &len));
	CHECK_OK(decode_n(b, len, &d));
	CHECK(strlen(d.type) == 255);
	bm_jentry_free(&d);
	free(b);
	big[255] = 'x';

	big[65536] = '\0';
	CHECK_RC(bm_jentry_encode("t", big, "s", NULL, 0, &b, &len), -EINVAL);
	files[0] = big;
	CHECK_RC(bm_jentry_encode("t", "w", "s", files, 1, &b, &len),
	    -ENAMETOOLONG);
	big[65536] = 'x';
	big[65535] = '\0';
	REQUIRE_OK(bm_jentry_encode("t", big, big, files, 1, &b, &len));
	CHECK_OK(decode_n(b, len, &d));
	CHECK(strlen(d.who) == 65535 && strlen(d.summary) == 65535 &&
	    d.nfiles == 1 && strlen(d.files[0]) == 65535);
	bm_jentry_free(&d);
	free(b);
}

static void
test_hostile(void)
{
	const char *files[] = {"/etc/passwd", "/home/alice/caf\xc3\xa9"};
	struct bm_jentry d;
	uint8_t *b, *p;
	unsigned seed = 4242;
	size_t len, i, n;

	REQUIRE_OK(bm_jentry_encode("restore", "user alice", "2 files", files,
	    2, &b, &len));
	/* Every proper prefix is malformed. */
	for (i = 0; i < len; i++) {
		CHECK_RC(decode_n(b, i, &d), BEEMO_EFORMAT);
		bm_jentry_free(&d);
	}
	/* So is one byte more. */
	REQUIRE((p = malloc(len + 1)) != NULL);
	memcpy(p, b, len);
	p[len] = 0;
	CHECK_RC(decode_n(p, len + 1, &d), BEEMO_EFORMAT);
	bm_jentry_free(&d);
	/* Another version. */
	p[0] = 2;
	CHECK_RC(decode_n(p, len, &d), BEEMO_EVERSION);
	bm_jentry_free(&d);
	p[0] = 1;
	/* A summary length past the end, a file count past the end. */
	p[1 + 1 + 7 + 2 + 10] = 0xff;
	CHECK_RC(decode_n(p, len, &d), BEEMO_EFORMAT);
	bm_jentry_free(&d);
	memcpy(p, b, len);
	memset(p + 1 + 1 + 7 + 2 + 10 + 4 + 7, 0xff, 4);
	CHECK_RC(decode_n(p, len, &d), BEEMO_EFORMAT);
	bm_jentry_free(&d);

	/* Random damage: a clean answer every time. */
	for (i = 0; i < 20000; i++) {
		int rc;

		memcpy(p, b, len);
		for (n = 0; n < 1 + i % 3; n++) {
			seed = seed * 1103515245 + 12345;
			p[1 + (seed >> 8) % (len - 1)] = (uint8_t)(seed >> 20);
		}
		seed = seed * 1103515245 + 12345;
		rc = decode_n(p, len - (seed >> 8) % 2, &d);
		CHECK(rc == 0 || rc == BEEMO_EFORMAT);
		bm_jentry_free(&d);
	}
	free(p);
	free(b);
}

int
main(void)
{
	test_known();
	test_limits();
	test_hostile();
	return check_status();
}
