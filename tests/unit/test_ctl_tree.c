/*
 * test_ctl_tree.c -- paths inside a snapshot (tools/ctl_tree.c): the
 * normal form of what an operator types, ".." above the root refused,
 * and the mode and time strings of ls.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "check.h"
#include "ctl_tree.h"

static const struct {
	const char *in, *out; /* out NULL: refused with rc */
	int rc;
} norms[] = {
	{"", "/", 0},
	{"/", "/", 0},
	{".", "/", 0},
	{"./", "/", 0},
	{"docs", "/docs", 0},
	{"/docs/", "/docs", 0},
	{"./docs/a.txt", "/docs/a.txt", 0},
	{"//docs///a.txt", "/docs/a.txt", 0},
	{"docs/../docs/a.txt", "/docs/a.txt", 0},
	{"docs/./sub/../a.txt", "/docs/a.txt", 0},
	{"a/b/c/../../d", "/a/d", 0},
	{"a/..", "/", 0},
	{"...", "/...", 0},
	{"..a/b..", "/..a/b..", 0},
	{"dir with space/été", "/dir with space/été", 0},
	{"..", NULL, -EINVAL},
	{"../..", NULL, -EINVAL},
	{"/../etc/passwd", NULL, -EINVAL},
	{"docs/../../etc/passwd", NULL, -EINVAL},
	{"a/b/../../..", NULL, -EINVAL},
};

int
main(void)
{
	char buf[64], mode[11];
	struct timespec t = {.tv_sec = 1796390867};
	size_t i;

	for (i = 0; i < sizeof(norms) / sizeof(norms[0]); i++) {
		memset(buf, 'x', sizeof(buf));
		CHECK_RC(ctl_tree_norm(norms[i].in, buf, sizeof(buf)),
		    norms[i].rc);
		if (norms[i].out != NULL && strcmp(buf, norms[i].out) != 0) {
			fprintf(stderr, "norm(\"%s\") = \"%s\", expected "
			    "\"%s\"\n", norms[i].in, buf, norms[i].out);
			CHECK(0);
		}
	}
	/* Too long for the buffer: refused, not cut. */
	CHECK_RC(ctl_tree_norm("0123456789", buf, 8), -ENAMETOOLONG);
	CHECK_RC(ctl_tree_norm("/", buf, 1), -ENAMETOOLONG);
	CHECK_RC(ctl_tree_norm("/a", buf, 3), 0);

	CHECK(strcmp(ctl_tree_mode(mode, S_IFDIR | 0755), "drwxr-xr-x") == 0);
	CHECK(strcmp(ctl_tree_mode(mode, S_IFREG | 04755), "-rwsr-xr-x") == 0);
	CHECK(strcmp(ctl_tree_mode(mode, S_IFREG | 02640), "-rw-r-S---") == 0);
	CHECK(strcmp(ctl_tree_mode(mode, S_IFDIR | 01777), "drwxrwxrwt") == 0);
	CHECK(strcmp(ctl_tree_mode(mode, S_IFLNK | 0777), "lrwxrwxrwx") == 0);
	CHECK(strcmp(ctl_tree_type(S_IFLNK | 0777), "symlink") == 0);
	CHECK(strcmp(ctl_tree_type(S_IFREG | 0644), "file") == 0);

	/* 2026-12-04 13:27:47 UTC, in zones written the POSIX way (no
	 * time zone database needed): one hour east, three and a half
	 * west, and UTC. */
	setenv("TZ", "CET-1", 1);
	tzset();
	CHECK(strcmp(ctl_tree_time(buf, sizeof(buf), &t, 1),
	    "2026-12-04T14:27:47+01:00") == 0);
	CHECK(strcmp(ctl_tree_time(buf, sizeof(buf), &t, 0),
	    "2026-12-04 14:27") == 0);
	setenv("TZ", "NST+3:30", 1);
	tzset();
	CHECK(strcmp(ctl_tree_time(buf, sizeof(buf), &t, 1),
	    "2026-12-04T09:57:47-03:30") == 0);
	setenv("TZ", "UTC0", 1);
	tzset();
	CHECK(strcmp(ctl_tree_time(buf, sizeof(buf), &t, 1),
	    "2026-12-04T13:27:47+00:00") == 0);
	return check_status();
}
