/*
 * test_restore_sel.c -- unit tests of what `beemoctl restore` restores
 * (tools/restore_sel.c): --include/--exclude patterns by name and by
 * path, restore's own options taken out of argv, and a hard-link table of many inodes that
 * finds each one (constant time per inode: 200,000 of them in well under
 * the test's timeout, where a linear search would take minutes).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "restore_sel.h"

static void
match(void)
{
	CHECK(rs_match("*.txt", "a.txt"));
	CHECK(rs_match("*.txt", "docs/sub/a.txt"));
	CHECK(!rs_match("*.txt", "docs.txt/a"));
	CHECK(rs_match("docs/sub", "docs/sub"));
	CHECK(rs_match("/docs/*", "docs/a.txt"));
	CHECK(!rs_match("docs/*", "docs/sub/a.txt"));
	CHECK(!rs_match("sub", "docs/subx"));
	CHECK(rs_match("sub", "docs/sub"));
}

static void
opts(void)
{
	char *argv[] = {"restore", "pc1", "--include", "*.c", "--target",
	    "--exclude", "--exclude=x", "--overwrite", "if-changed", "1",
	    "--", "--include", NULL};
	char *bare[] = {"restore", "--overwrite", "pc1", NULL};
	char *bad[] = {"restore", "--overwrite=sometimes", NULL};
	struct rs_opts o;
	char err[128];

	CHECK_OK(rs_opts_take(12, argv, &o, err, sizeof(err)));
	CHECK(o.ninclude == 1 && strcmp(o.include[0], "*.c") == 0);
	CHECK(o.nexclude == 1 && strcmp(o.exclude[0], "x") == 0);
	CHECK(o.overwrite == RS_IF_CHANGED);
	/* --target's value is its own; after "--" nothing is taken. */
	CHECK(o.argc == 7 && strcmp(o.argv[3], "--exclude") == 0 &&
	    strcmp(o.argv[6], "--include") == 0 && o.argv[7] == NULL);
	rs_opts_free(&o);
	CHECK_OK(rs_opts_take(3, bare, &o, err, sizeof(err)));
	CHECK(o.overwrite == RS_ALWAYS && o.argc == 2);
	rs_opts_free(&o);
	CHECK_RC(rs_opts_take(2, bad, &o, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "sometimes") != NULL);
	rs_opts_free(&o);
}

static void
links(void)
{
	struct rs_links t;
	char path[32];
	uint64_t i, n = 200000;
	int found = 1;

	memset(&t, 0, sizeof(t));
	CHECK(rs_links_find(&t, 1) == NULL);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "p%llu", (unsigned long long)i);
		if (rs_links_add(&t, i * 3 + 1, path) != 0)
			found = 0;
	}
	for (i = 0; i < n; i++) {
		const char *p = rs_links_find(&t, i * 3 + 1);

		snprintf(path, sizeof(path), "p%llu", (unsigned long long)i);
		if (p == NULL || strcmp(p, path) != 0 ||
		    rs_links_find(&t, i * 3 + 2) != NULL)
			found = 0;
	}
	CHECK(found);
	CHECK(t.n == n);
	rs_links_free(&t);
	CHECK(rs_links_find(&t, 1) == NULL);
}

int
main(void)
{
	match();
	opts();
	links();
	return check_status();
}
