/*
 * store_ns_rename.c -- the namespace: rename(2), with RENAME_NOREPLACE
 * and RENAME_EXCHANGE.
 *
 * Every operation runs under the index lock; see store_ns.h.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <linux/fs.h>

#include "store_cqueue.h"
#include "store_file.h"
#include "store_journal.h"
#include "store_ns.h"
#include "store_record.h"
#include "store_snap.h"

/* ---- renaming ------------------------------------------------------- */

/* Is @ino @anc or below it?  Walks the parent links up (ix_lock held). */
static int
is_below(store *st, uint64_t ino, uint64_t anc)
{
	int depth;

	for (depth = 0; depth < 4096; depth++) {
		struct inode in;
		uint64_t up;

		if (ino == anc)
			return 1;
		if (ino == STORE_ROOT_INO)
			return 0;
		if (inode_get(st, ino, SEQ_LIVE, &in) != 0)
			return 0;
		up = in.parent;
		inode_free(&in);
		ino = up;
	}
	return 1; /* a loop: refuse */
}

/* Set the primary parent and name of @ino (ix_lock held). */
static int
set_primary(store *st, uint64_t ino, uint64_t parent, const char *name)
{
	struct inode in;
	char *old;
	int rc;

	if ((rc = inode_get(st, ino, SEQ_LIVE, &in)) != 0)
		return rc;
	old = in.name;
	in.name = (char *)name;
	in.parent = parent;
	ns_now(&in.ctime);
	rc = inode_put(st, &in);
	in.name = old;
	inode_free(&in);
	return rc;
}

/* Parent link counts when a directory moves from @from to @to. */
static int
move_dir_link(store *st, uint64_t from, uint64_t to)
{
	struct inode a, b;
	int rc;

	if (from == to)
		return 0;
	if ((rc = ns_dir_get(st, from, &a)) != 0)
		return rc;
	rc = ns_dir_touch(st, &a, -1);
	inode_free(&a);
	if (rc != 0 || (rc = ns_dir_get(st, to, &b)) != 0)
		return rc;
	rc = ns_dir_touch(st, &b, 1);
	inode_free(&b);
	return rc;
}

static int
touch_dirs(store *st, uint64_t a, uint64_t b)
{
	struct inode d;
	int rc;

	if ((rc = ns_dir_get(st, a, &d)) != 0)
		return rc;
	rc = ns_dir_touch(st, &d, 0);
	inode_free(&d);
	if (rc != 0 || a == b)
		return rc;
	if ((rc = ns_dir_get(st, b, &d)) != 0)
		return rc;
	rc = ns_dir_touch(st, &d, 0);
	inode_free(&d);
	return rc;
}

static int
rename_locked(store *st, uint64_t parent, const char *name,
    uint64_t newparent, const char *newname, unsigned flags)
{
	struct dirent_rec src, dst;
	struct inode tin;
	int rc, have_dst, sdir, ddir = 0;

	if ((rc = dirent_get(st, parent, name, SEQ_LIVE, &src)) != 0)
		return rc;
	rc = dirent_get(st, newparent, newname, SEQ_LIVE, &dst);
	if (rc != 0 && rc != -ENOENT)
		return rc;
	have_dst = rc == 0;
	if ((rc = ns_dir_get(st, newparent, &tin)) != 0)
		return rc;
	inode_free(&tin);
	sdir = src.type == DT_DIR;
	if (have_dst)
		ddir = dst.type == DT_DIR;
	if ((flags & RENAME_NOREPLACE) && have_dst)
		return -EEXIST;
	if ((flags & RENAME_EXCHANGE) && !have_dst)
		return -ENOENT;
	if (have_dst && src.ino == dst.ino)
		return 0; /* same file: POSIX says do nothing */
	if (sdir && newparent != parent && is_below(st, newparent, src.ino))
		return -EINVAL;
	if ((flags & RENAME_EXCHANGE) && ddir && parent != newparent &&
	    is_below(st, parent, dst.ino))
		return -EINVAL;
	if (flags & RENAME_EXCHANGE) {
		if ((rc = dirent_put(st, parent, name, dst.ino, dst.type)) ||
		    (rc = dirent_put(st, newparent, newname, src.ino,
		    src.type)) ||
		    (rc = set_primary(st, src.ino, newparent, newname)) ||
		    (rc = set_primary(st, dst.ino, parent, name)))
			return rc;
		if (sdir != ddir && sdir &&
		    (rc = move_dir_link(st, parent, newparent)) != 0)
			return rc;
		if (sdir != ddir && ddir &&
		    (rc = move_dir_link(st, newparent, parent)) != 0)
			return rc;
		return touch_dirs(st, parent, newparent);
	}
	if (have_dst) {
		struct inode victim;

		if (sdir && !ddir)
			return -ENOTDIR;
		if (!sdir && ddir)
			return -EISDIR;
		if ((rc = inode_get(st, dst.ino, SEQ_LIVE, &victim)) != 0)
			return rc;
		if (ddir) {
			rc = ns_dir_empty(st, dst.ino);
			rc = rc == 1 ? inode_del(st, dst.ino) :
			    rc == 0 ? -ENOTEMPTY : rc;
			if (rc == 0)
				rc = ix_meta_add(st, "dirs", -1);
			if (rc == 0) {
				struct inode d;

				/* The victim's ".." link goes. */
				if ((rc = ns_dir_get(st, newparent, &d)) == 0) {
					d.nlink--;
					rc = inode_put(st, &d);
					inode_free(&d);
				}
			}
		} else {
			rc = ns_drop_link(st, &victim);
		}
		inode_free(&victim);
		if (rc != 0)
			return rc;
	}
	if ((rc = dirent_del(st, parent, name)) != 0 ||
	    (rc = dirent_put(st, newparent, newname, src.ino, src.type)) != 0 ||
	    (rc = set_primary(st, src.ino, newparent, newname)) != 0)
		return rc;
	if (sdir && (rc = move_dir_link(st, parent, newparent)) != 0)
		return rc;
	return touch_dirs(st, parent, newparent);
}

/*
 * A rename that replaces a name waits for the background commit of the
 * file it moves there (of both, exchanging): else, that commit failing
 * (a scan that could not run) would leave the name empty where it had a
 * version; a file refused by the antivirus is gone by then, and the
 * rename fails with ENOENT.  A new file whose commit failed is not moved
 * over a name: EIO, as its close() would have failed with close = wait.
 * A rename to a free name does not wait: a client writing new files the
 * rsync way (a temporary file, closed, then renamed) goes on meanwhile.
 */
static int
settle_replaced(store *st, uint64_t parent, const char *name,
    uint64_t newparent, const char *newname, unsigned flags)
{
	struct dirent_rec src, dst;
	int have_src, have_dst, rc = 0;

	if (!cq_active(st))
		return 0;
	ix_lock(st);
	have_src = dirent_get(st, parent, name, SEQ_LIVE, &src) == 0;
	have_dst = dirent_get(st, newparent, newname, SEQ_LIVE, &dst) == 0;
	ix_unlock(st);
	if (have_src && have_dst)
		rc = file_wait_queued(st, src.ino);
	if (rc == 0 && have_src && have_dst && (flags & RENAME_EXCHANGE))
		rc = file_wait_queued(st, dst.ino);
	return rc;
}

int
store_rename(store *st, uint64_t parent, const char *name, uint64_t newparent,
    const char *newname, unsigned flags)
{
	int rc;

	if ((rc = ns_live_check(st, parent)) != 0 ||
	    (rc = ns_live_check(st, newparent)) != 0)
		return rc;
	if ((rc = store_meta_check(st, 0)) != 0)
		return rc;
	if (flags & ~(unsigned)(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return -EINVAL;
	if ((flags & RENAME_NOREPLACE) && (flags & RENAME_EXCHANGE))
		return -EINVAL;
	if ((rc = ns_check_name(st, newparent, newname)) != 0)
		return rc;
	if (parent == STORE_ROOT_INO && !strcmp(name, STORE_SNAPDIR_NAME))
		return -EPERM;
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return -EBUSY;
	if ((rc = settle_replaced(st, parent, name, newparent, newname,
	    flags)) != 0)
		return rc;
	ns_lock(st);
	rc = rename_locked(st, parent, name, newparent, newname, flags);
	if (rc == 0)
		journal_name(st, flags & RENAME_EXCHANGE ? "exchanged" :
		    "renamed", parent, name, newparent, newname);
	ix_unlock(st);
	return rc;
}
