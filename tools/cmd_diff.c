/*
 * cmd_diff.c -- `beemoctl diff MACHINE SNAP1 SNAP2 [PATH] [--json]`.
 *
 * Walks the two snapshots side by side through the store's API (no
 * mount), directory by directory with their entries sorted by name, and
 * prints one line per path that differs:
 *   +  added (only in SNAP2)          -  removed (only in SNAP1)
 *   M  content changed (a file's data, a link's target, a device's
 *      number)
 *   m  metadata only: mode, owner, group, modification time, extended
 *      attributes (ACLs are extended attributes)
 *   T  type changed (a file became a directory, ...)
 * Everything below an added or removed directory is listed too, and
 * below a directory whose type changed (removed, or added).  The
 * access and change times are not compared: reading a file or any of
 * the above changes them.
 *
 * Contents are compared by the identity the index keeps: a file of a
 * snapshot is its inode of the live tree at one version, and equal
 * versions of one inode have equal contents (store_attr.version), so
 * such files are equal without reading a byte.  Only when that does not
 * decide (another inode, another version of the same size) are both
 * read and compared, since a file rewritten with the same bytes has a
 * new version.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bm_err.h"
#include "bm_esc.h"
#include "bm_json.h"
#include "ctl_snapname.h"
#include "ctl_tree.h"
#include "ctl_store.h"

#define IO_SIZE (256U << 10)
#define XATTR_SIZE 65536
/* The inode of the live tree a snapshot's inode number stands for. */
#define LIVE_INO(ino) ((ino) & ((1ULL << STORE_SNAP_SHIFT) - 1))

static const char diff_usage[] =
    "MACHINE SNAP1 SNAP2 [PATH] [--json]\n"
    "       [--admin | --user USER] [--password-file FILE]\n"
    "\n"
    "List what changed in MACHINE from snapshot SNAP1 to snapshot SNAP2\n"
    "(each an id, latest, latest~N, a date or time, or a tag; beemoctl(8),\n"
    "SNAPSHOT NAMES), in the whole tree or below PATH: one line per\n"
    "path, then a summary line.\n"
    "\n"
    "  +  added              -  removed\n"
    "  M  content changed    m  metadata only (mode, owner, group,\n"
    "  T  type changed          modification time, extended attributes)\n"
    "\n"
    "  --json                one object (format \"beemo-diff\", version 1)\n"
    "  --admin               open with the administrator's password\n"
    "                        (default)\n"
    "  --user USER           open with USER's password\n"
    "  --password-file FILE  read the password from FILE (default\n"
    "                        $BEEMO_PASSWORD_FILE, or the terminal)\n"
    "  --help                this help\n";

enum { ADDED, REMOVED, CHANGED, META, TYPE, NKINDS };
static const char kind_char[NKINDS] = {'+', '-', 'M', 'm', 'T'};
static const char *const kind_name[NKINDS] = {"added", "removed",
    "changed", "metadata", "type"};

struct diff {
	const struct ctl *ctl;
	store *st;
	bm_json *j;        /* --json: the "changes" array is open */
	uint64_t count[NKINDS];
	uint64_t compared; /* files whose data had to be read */
	int errors;
	uint8_t *buf[2];
};

static const char *
type_name(uint32_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFDIR:
		return "dir";
	case S_IFREG:
		return "file";
	case S_IFLNK:
		return "symlink";
	case S_IFIFO:
		return "fifo";
	case S_IFCHR:
		return "char";
	case S_IFBLK:
		return "block";
	case S_IFSOCK:
		return "socket";
	}
	return "unknown";
}

static void
fail(struct diff *d, const char *path, const char *what, int err)
{
	ctl_err(d->ctl, "%s: %s: %s", *path ? path : "/", what,
	    beemo_strerror(err));
	d->errors++;
}

static void
emit(struct diff *d, int kind, const char *path, uint32_t mode)
{
	d->count[kind]++;
	if (d->j != NULL) {
		char k[2] = {kind_char[kind], '\0'};

		bm_json_begin_obj(d->j, NULL);
		bm_json_str(d->j, "change", k);
		bm_json_str(d->j, "path", *path ? path : "/");
		bm_json_str(d->j, "type", type_name(mode));
		bm_json_end_obj(d->j);
		return;
	}
	printf("%c ", kind_char[kind]);
	bm_esc_put(stdout, *path ? path : "/");
	if (S_ISDIR(mode) && *path)
		putchar('/');
	putchar('\n');
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(((const struct ctl_dirent *)a)->name,
	    ((const struct ctl_dirent *)b)->name);
}

static int
list_sorted(struct diff *d, uint64_t ino, const char *path,
    struct ctl_dirent **e, size_t *n)
{
	int rc = ctl_readdir(d->st, ino, e, n);

	if (rc != 0) {
		fail(d, path, "cannot list", rc);
		*e = NULL;
		*n = 0;
		return rc;
	}
	if (*n > 1)
		qsort(*e, *n, sizeof(**e), by_name);
	return 0;
}

static void one_side(struct diff *d, int kind, const struct store_attr *a,
    const char *path, int depth);

/* Everything below directory @a as @kind (added or removed). */
static void
below(struct diff *d, int kind, const struct store_attr *a,
    const char *path, int depth)
{
	struct ctl_dirent *e;
	size_t i, n;

	if (!S_ISDIR(a->mode))
		return;
	if (depth > 2048) {
		/* Said: a diff that stops short is not a clean diff. */
		fail(d, path, "too deep", -ELOOP);
		return;
	}
	if (list_sorted(d, a->ino, path, &e, &n) != 0)
		return;
	for (i = 0; i < n; i++) {
		char *child;

		if (asprintf(&child, "%s/%s", path, e[i].name) < 0) {
			fail(d, path, "out of memory", -ENOMEM);
			break;
		}
		one_side(d, kind, &e[i].a, child, depth + 1);
		free(child);
	}
	ctl_dirents_free(e, n);
}

/* @a and everything below it as @kind. */
static void
one_side(struct diff *d, int kind, const struct store_attr *a,
    const char *path, int depth)
{
	emit(d, kind, path, a->mode);
	below(d, kind, a, path, depth);
}

/* The first offset at or after @off where one of the files @f holds
 * data, into *@next (@size when both are holes to their end).  0 or
 * the store's error. */
static int
next_data(store_file *f[2], uint64_t off, uint64_t size, uint64_t *next)
{
	int i;

	*next = size;
	for (i = 0; i < 2; i++) {
		int64_t data = store_lseek(f[i], off, SEEK_DATA);

		if (data == -ENXIO)
			continue;
		if (data < 0)
			return (int)data;
		if ((uint64_t)data < *next)
			*next = (uint64_t)data;
	}
	return 0;
}

/* 1 when the data of files @a and @b differ, 0 when equal, <0 error. */
static int
data_differ(struct diff *d, const struct store_attr *a,
    const struct store_attr *b)
{
	store_file *f[2] = {NULL, NULL};
	uint64_t off;
	int rc, i;

	if (a->size != b->size)
		return 1;
	/* The same inode of the live tree at the same version. */
	if (LIVE_INO(a->ino) == LIVE_INO(b->ino) &&
	    a->version == b->version)
		return 0;
	if (a->size == 0)
		return 0;
	d->compared++;
	for (i = 0; i < 2; i++)
		if ((rc = store_open_file(d->st, i ? b->ino : a->ino,
		    O_RDONLY, &f[i])) != 0)
			goto out;
	for (off = 0, rc = 0; off < a->size && rc == 0;) {
		size_t want;
		ssize_t n0, n1;

		/* A hole in both is equal: skipped at once, whatever its
		 * size (a client's 1 PiB of nothing costs nothing). */
		if ((rc = next_data(f, off, a->size, &off)) != 0 ||
		    off >= a->size)
			break;
		want = a->size - off < IO_SIZE ? (size_t)(a->size - off) :
		    IO_SIZE;
		n0 = store_read(f[0], d->buf[0], want, off);
		n1 = store_read(f[1], d->buf[1], want, off);
		if (n0 < 0 || n1 < 0) {
			rc = n0 < 0 ? (int)n0 : (int)n1;
			break;
		}
		if (n0 != n1 || n0 == 0) {
			rc = n0 == n1 ? -EIO : 1;
			break;
		}
		rc = memcmp(d->buf[0], d->buf[1], (size_t)n0) != 0;
		off += (uint64_t)n0;
	}
out:
	for (i = 0; i < 2; i++)
		if (f[i] != NULL)
			store_release(f[i]);
	return rc;
}

/* 1 when the extended attributes of @a and @b differ, 0, or <0. */
static int
xattrs_differ(struct diff *d, uint64_t a, uint64_t b)
{
	static char names[2][XATTR_SIZE], val[2][XATTR_SIZE];
	ssize_t len[2] = {store_listxattr(d->st, a, names[0],
	    sizeof(names[0])), store_listxattr(d->st, b, names[1],
	    sizeof(names[1]))};
	char *n;
	int side;

	for (side = 0; side < 2; side++)
		if (len[side] < 0)
			return (int)len[side];
	if (len[0] != len[1])
		return 1;
	/* Same total length: every name of @a must be in @b with the
	 * same value (the lists may come in different orders). */
	for (n = names[0]; n < names[0] + len[0]; n += strlen(n) + 1) {
		ssize_t v0 = store_getxattr(d->st, a, n, val[0],
		    sizeof(val[0]));
		ssize_t v1 = store_getxattr(d->st, b, n, val[1],
		    sizeof(val[1]));

		if (v1 == -ENODATA)
			return 1;
		if (v0 < 0 || v1 < 0)
			return v0 < 0 ? (int)v0 : (int)v1;
		if (v0 != v1 || memcmp(val[0], val[1], (size_t)v0) != 0)
			return 1;
	}
	return 0;
}

/* 1 when what a file, link or node holds differs ("M"), 0, or <0. */
static int
content_differ(struct diff *d, const struct store_attr *a,
    const struct store_attr *b)
{
	char t[2][4097];
	int rc;

	switch (a->mode & S_IFMT) {
	case S_IFREG:
		return data_differ(d, a, b);
	case S_IFLNK:
		if ((rc = store_readlink(d->st, a->ino, t[0],
		    sizeof(t[0]))) != 0 || (rc = store_readlink(d->st,
		    b->ino, t[1], sizeof(t[1]))) != 0)
			return rc;
		return strcmp(t[0], t[1]) != 0;
	case S_IFCHR:
	case S_IFBLK:
		return a->rdev != b->rdev;
	}
	return 0;
}

static void walk(struct diff *d, const struct store_attr *a,
    const struct store_attr *b, const char *path, int depth);

static void
both(struct diff *d, const struct store_attr *a, const struct store_attr *b,
    const char *path, int depth)
{
	int rc;

	if ((a->mode & S_IFMT) != (b->mode & S_IFMT)) {
		/* What a directory held went with it; a new one brings
		 * its own. */
		emit(d, TYPE, path, b->mode);
		below(d, REMOVED, a, path, depth);
		below(d, ADDED, b, path, depth);
		return;
	}
	if ((rc = content_differ(d, a, b)) < 0) {
		fail(d, path, "cannot compare", rc);
		return;
	}
	if (rc == 0 && (a->mode != b->mode || a->uid != b->uid ||
	    a->gid != b->gid || a->mtime.tv_sec != b->mtime.tv_sec ||
	    a->mtime.tv_nsec != b->mtime.tv_nsec))
		emit(d, META, path, b->mode);
	else if (rc == 0 && (rc = xattrs_differ(d, a->ino, b->ino)) != 0) {
		if (rc < 0)
			fail(d, path, "cannot compare extended attributes",
			    rc);
		else
			emit(d, META, path, b->mode);
	} else if (rc == 1)
		emit(d, CHANGED, path, b->mode);
	if (S_ISDIR(a->mode))
		walk(d, a, b, path, depth + 1);
}

/* Merge the sorted entries of directories @a and @b. */
static void
walk(struct diff *d, const struct store_attr *a, const struct store_attr *b,
    const char *path, int depth)
{
	struct ctl_dirent *ea = NULL, *eb = NULL;
	size_t na = 0, nb = 0, i = 0, k = 0;

	if (depth > 2048) {
		fail(d, path, "too deep", -ELOOP);
		return;
	}
	if (list_sorted(d, a->ino, path, &ea, &na) != 0 ||
	    list_sorted(d, b->ino, path, &eb, &nb) != 0)
		goto out;
	while (i < na || k < nb) {
		int c = i == na ? 1 : k == nb ? -1 :
		    strcmp(ea[i].name, eb[k].name);
		char *child;

		if (asprintf(&child, "%s/%s", path, c <= 0 ? ea[i].name :
		    eb[k].name) < 0) {
			fail(d, path, "out of memory", -ENOMEM);
			break;
		}
		if (c < 0)
			one_side(d, REMOVED, &ea[i++].a, child, depth + 1);
		else if (c > 0)
			one_side(d, ADDED, &eb[k++].a, child, depth + 1);
		else
			both(d, &ea[i++].a, &eb[k++].a, child, depth);
		free(child);
	}
out:
	ctl_dirents_free(ea, na);
	ctl_dirents_free(eb, nb);
}

static void
json_snap(bm_json *j, const char *key, const struct store_snapinfo *si)
{
	bm_json_begin_obj(j, key);
	bm_json_u64(j, "id", si->id);
	bm_json_time(j, "time", si->time);
	bm_json_str(j, "note", si->note);
	bm_json_end_obj(j);
}

int
cmd_diff(struct ctl *ctl, int argc, char **argv)
{
	struct ctl_opts o;
	struct ctl_session s;
	struct store_snapinfo si[2];
	struct store_attr a[2];
	struct diff d;
	char norm[2][4096];
	const char *path;
	bm_json j;
	int rc, i;

	if ((rc = ctl_parse(ctl, argc, argv, CTL_O_JSON | CTL_O_ADMIN |
	    CTL_O_USER | CTL_O_PASSWORD, 3, 4, diff_usage, &o)) >= 0)
		return rc;
	path = o.nargs > 3 ? o.args[3] : "/";
	if ((rc = ctl_session_open(ctl, o.args[0], &o, 0, &s)) != 0)
		return rc;
	memset(&d, 0, sizeof(d));
	d.ctl = ctl;
	d.st = s.st;
	for (i = 0; i < 2; i++)
		if ((rc = ctl_snap_resolve(ctl, s.st, o.args[1 + i],
		    &si[i])) != 0)
			goto out;
	for (i = 0; i < 2; i++) {
		rc = ctl_tree_lookup(s.st, si[i].id, path, &a[i], norm[i],
		    sizeof(norm[i]));
		if (rc == -EINVAL) {
			ctl_err(ctl, "%s: goes above the root of the snapshot",
			    path);
			rc = CTL_USAGE;
			goto out;
		}
		/* A path present in one snapshot only is added or removed
		 * as a whole. */
		if (rc == -ENOENT)
			a[i].mode = 0;
		else if (rc != 0) {
			ctl_err(ctl, "%s in snapshot %u: %s", path, si[i].id,
			    beemo_strerror(rc));
			rc = CTL_FAIL;
			goto out;
		}
	}
	if (a[0].mode == 0 && a[1].mode == 0) {
		ctl_err(ctl, "%s: in neither snapshot", path);
		rc = CTL_FAIL;
		goto out;
	}
	if ((d.buf[0] = malloc(IO_SIZE)) == NULL ||
	    (d.buf[1] = malloc(IO_SIZE)) == NULL) {
		ctl_err(ctl, "out of memory");
		rc = CTL_FAIL;
		goto out;
	}
	/* Entries below are named "PATH/NAME": the root is "". */
	path = strcmp(norm[0], "/") == 0 ? "" : norm[0];
	if (o.json) {
		d.j = &j;
		bm_json_init(&j, stdout);
		bm_json_head(&j, "beemo-diff", 1);
		bm_json_str(&j, "machine", o.args[0]);
		json_snap(&j, "from", &si[0]);
		json_snap(&j, "to", &si[1]);
		bm_json_str(&j, "path", *path ? path : "/");
		bm_json_begin_arr(&j, "changes");
	}
	if (a[0].mode == 0)
		one_side(&d, ADDED, &a[1], path, 0);
	else if (a[1].mode == 0)
		one_side(&d, REMOVED, &a[0], path, 0);
	else
		both(&d, &a[0], &a[1], path, 0);
	if (o.json) {
		bm_json_end_arr(&j);
		bm_json_begin_obj(&j, "summary");
		for (i = 0; i < NKINDS; i++)
			bm_json_u64(&j, kind_name[i], d.count[i]);
		bm_json_u64(&j, "files_read", d.compared);
		bm_json_u64(&j, "errors", (uint64_t)d.errors);
		bm_json_end_obj(&j);
		bm_json_end_obj(&j);
	} else
		printf("%llu added, %llu removed, %llu changed, %llu metadata "
		    "only, %llu type changed\n",
		    (unsigned long long)d.count[ADDED],
		    (unsigned long long)d.count[REMOVED],
		    (unsigned long long)d.count[CHANGED],
		    (unsigned long long)d.count[META],
		    (unsigned long long)d.count[TYPE]);
	/* Paths that could not be read: the rest was compared. */
	rc = d.errors ? BM_EXIT_WARN : CTL_OK;
out:
	free(d.buf[0]);
	free(d.buf[1]);
	if (ctl_session_close(ctl, &s) != 0)
		rc = CTL_FAIL;
	return rc;
}
