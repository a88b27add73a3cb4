/*
 * test_alog.c -- unit tests of the appliance journal (tools/records/
 * bm_alog.c): entries read back across segments with their sequence
 * numbers, filters, a torn record cut off, and every kind of damage
 * detected: a changed byte, a wrong key, a removed record, a removed
 * segment.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bm_alog.h"
#include "bm_log.h"
#include "check.h"

static char tmp[256];
static const uint8_t key[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9};

struct seen {
	uint64_t seq[64];
	char summary[64][64];
	size_t nfiles[64];
	int n;
};

static int
collect(void *ctx, const struct bm_alog_entry *e)
{
	struct seen *s = ctx;

	if (s->n < 64) {
		s->seq[s->n] = e->seq;
		snprintf(s->summary[s->n], sizeof(s->summary[0]), "%s",
		    e->summary);
		s->nfiles[s->n] = e->nfiles;
		s->n++;
	}
	return 0;
}

static void
add(const char *type, const char *summary)
{
	const char *files[] = {"pc1", "pc2"};
	struct bm_alog_entry e = {0, 0, type, "admin", summary, files, 2};

	CHECK_OK(bm_alog_append(tmp, key, &e));
}

static int
list(struct seen *s, const uint8_t *k, const char *type)
{
	memset(s, 0, sizeof(*s));
	return bm_alog_list(tmp, k, 0, type, collect, s);
}

static void
flip(const char *name, off_t off)
{
	char path[512];
	uint8_t b;
	int fd;

	snprintf(path, sizeof(path), "%s/journal/%s", tmp, name);
	REQUIRE((fd = open(path, O_RDWR)) >= 0);
	REQUIRE(pread(fd, &b, 1, off) == 1);
	b ^= 0x40;
	REQUIRE(pwrite(fd, &b, 1, off) == 1);
	close(fd);
}

int
main(void)
{
	uint8_t wrong[32] = {9};
	struct seen s;
	char path[512], seg[512], cmd[600];
	off_t size;
	int fd;

	bm_log_open("test_alog", 0, -1); /* the damage below logs errors */
	snprintf(tmp, sizeof(tmp), "/tmp/beemo-test-alog.XXXXXX");
	REQUIRE(mkdtemp(tmp) != NULL);

	/* Nothing yet: an empty list. */
	CHECK_OK(list(&s, key, NULL));
	CHECK(s.n == 0);
	CHECK_OK(bm_alog_rotate(tmp));

	add("machine", "machine pc1 added");
	add("key", "machine pc1: SECRET rotated to generation 2");
	CHECK_OK(list(&s, key, NULL));
	CHECK(s.n == 2 && s.seq[0] == 1 && s.seq[1] == 2 &&
	    !strcmp(s.summary[1], "machine pc1: SECRET rotated to "
	    "generation 2") && s.nfiles[0] == 2);
	CHECK_OK(list(&s, key, "key"));
	CHECK(s.n == 1 && s.seq[0] == 2);

	/* Rotation closes the segment; numbering goes on in the next. */
	CHECK_OK(bm_alog_rotate(tmp));
	snprintf(seg, sizeof(seg), "%s/journal/0000000000000001.log", tmp);
	CHECK(access(seg, F_OK) == 0);
	CHECK_OK(bm_alog_rotate(tmp)); /* no current segment: nothing */
	add("push", "push to a: ok");
	add("push", "push to b: failed");
	CHECK_OK(list(&s, key, NULL));
	CHECK(s.n == 4 && s.seq[2] == 3 && s.seq[3] == 4);
	CHECK_OK(bm_alog_rotate(tmp));
	add("report", "1 report sent");
	CHECK_OK(list(&s, key, NULL));
	CHECK(s.n == 5 && s.seq[4] == 5);

	/* A wrong key opens nothing. */
	CHECK_RC(list(&s, wrong, NULL), -EBADMSG);
	CHECK(s.n == 0);

	/* A torn record at the end (a crash mid-write) is skipped by
	 * readers and cut off by the next writer. */
	snprintf(path, sizeof(path), "%s/journal/current.log", tmp);
	REQUIRE((fd = open(path, O_WRONLY | O_APPEND)) >= 0);
	REQUIRE(write(fd, "BMJR\0\0\0\x80garbage", 15) == 15);
	size = lseek(fd, 0, SEEK_END);
	close(fd);
	CHECK_OK(list(&s, key, NULL));
	CHECK(s.n == 5);
	add("report", "after the crash");
	CHECK_OK(list(&s, key, NULL));
	CHECK(s.n == 6 && s.seq[5] == 6 &&
	    !strcmp(s.summary[5], "after the crash"));
	REQUIRE((fd = open(path, O_RDONLY)) >= 0);
	CHECK(lseek(fd, 0, SEEK_END) > size - 15);
	close(fd);

	/* One changed byte in a closed segment: that record is reported,
	 * the others still listed. */
	flip("0000000000000001.log", 16 + 40);
	CHECK_RC(list(&s, key, NULL), -EBADMSG);
	CHECK(s.n == 5 && s.seq[0] == 2);
	flip("0000000000000001.log", 16 + 40);
	CHECK_OK(list(&s, key, NULL));

	/* A removed segment is a gap in the numbering. */
	snprintf(path, sizeof(path), "%s/journal/0000000000000003.log", tmp);
	snprintf(seg, sizeof(seg), "%s/aside.log", tmp);
	REQUIRE(rename(path, seg) == 0);
	CHECK_RC(list(&s, key, NULL), -EBADMSG);
	CHECK(s.n == 4);
	REQUIRE(rename(seg, path) == 0);
	CHECK_OK(list(&s, key, NULL));
	CHECK(s.n == 6);

	/* A segment that is not one. */
	snprintf(path, sizeof(path), "%s/journal/00000000000000ff.log", tmp);
	REQUIRE((fd = open(path, O_WRONLY | O_CREAT, 0600)) >= 0);
	REQUIRE(write(fd, "not a journal segment", 21) == 21);
	close(fd);
	CHECK_RC(list(&s, key, NULL), -EBADMSG);
	unlink(path);

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmp);
	return check_status();
}
