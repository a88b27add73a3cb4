/*
 * store_ns_create.c -- the namespace: creating and removing nodes
 * (mknod, symlink, link, unlink, rmdir) and reaping orphans.
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

#include "bm_bytes.h"
#include "store_file.h"
#include "store_journal.h"
#include "store_ns.h"
#include "store_record.h"
#include "store_snap.h"

/* ---- creating ------------------------------------------------------- */

int
ns_check_name(const store *st, uint64_t parent, const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || strchr(name, '/') != NULL)
		return -EINVAL;
	if (n > STORE_NAME_MAX)
		return -ENAMETOOLONG;
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return -EEXIST;
	if (parent == STORE_ROOT_INO && !strcmp(name, STORE_SNAPDIR_NAME))
		return ns_hidden(st, STORE_SNAPDIR_INO) ? -EPERM : -EEXIST;
	return 0;
}

/* Get the live directory @ino for a change in it (ix_lock held). */
int
ns_dir_get(store *st, uint64_t ino, struct inode *dir)
{
	int rc = inode_get(st, ino, SEQ_LIVE, dir);

	if (rc == 0 && !S_ISDIR(dir->mode)) {
		inode_free(dir);
		return -ENOTDIR;
	}
	return rc;
}

/* Directory @dir changed: times, link count delta, store it. */
int
ns_dir_touch(store *st, struct inode *dir, int nlink_delta)
{
	ns_now(&dir->mtime);
	dir->ctime = dir->mtime;
	dir->nlink = (uint32_t)((int)dir->nlink + nlink_delta);
	return inode_put(st, dir);
}


/* ACLs a new node inherits from directory @dir (see store_acl.c). */
static int
inherit_acls(struct inode *dir, struct inode *in, uint32_t umask)
{
	struct xattr *def = ns_xattr_find(dir, XATTR_ACL_DEFAULT);
	uint8_t *acl;
	size_t len;
	int rc, equiv;
	uint32_t perm;

	if (def == NULL || S_ISLNK(in->mode)) {
		in->mode &= ~(umask & 0777);
		return 0;
	}
	if ((rc = acl_inherit(def->value, def->len, &in->mode, &acl, &len)))
		return rc == -EINVAL ? 0 : rc; /* a bad default: ignore it */
	rc = acl_mode(acl, len, &perm, &equiv);
	if (rc == 0 && !equiv)
		rc = ns_xattr_put(in, XATTR_ACL_ACCESS, acl, len);
	free(acl);
	if (rc == 0 && S_ISDIR(in->mode))
		rc = ns_xattr_put(in, XATTR_ACL_DEFAULT, def->value, def->len);
	return rc;
}

static int
make_node(store *st, uint64_t parent, const char *name, uint32_t mode,
    uint64_t rdev, const struct store_cred *cr, const char *target,
    struct store_attr *out)
{
	struct inode dir, in;
	struct dirent_rec d;
	uint32_t gid = cr->gid;
	int rc;

	if ((rc = ns_live_check(st, parent)) != 0)
		return rc;
	if ((rc = ns_check_name(st, parent, name)) != 0)
		return rc;
	/* Names take index space too: none when a new file would be
	 * refused, under 1 MiB from the quota or the disk's reserve
	 * (store_snap.h). */
	if ((rc = store_space_check(st, 1U << 20, 1)) != 0)
		return rc;
	ns_lock(st);
	if ((rc = ns_dir_get(st, parent, &dir)) != 0)
		goto unlock;
	rc = dirent_get(st, parent, name, SEQ_LIVE, &d);
	if (rc == 0)
		rc = -EEXIST;
	if (rc != -ENOENT)
		goto free_dir;
	/* BSD group semantics of a set-group-ID directory, as ext4. */
	if (dir.mode & S_ISGID) {
		gid = dir.gid;
		if (S_ISDIR(mode))
			mode |= S_ISGID;
	}
	memset(&in, 0, sizeof(in));
	in.ino = st->next_ino++;
	if ((rc = ix_meta_put(st, "next_ino", st->next_ino)) != 0)
		goto free_dir;
	in.mode = mode;
	in.uid = cr->uid;
	in.gid = gid;
	in.rdev = rdev;
	in.nlink = S_ISDIR(mode) ? 2 : 1;
	in.flags = S_ISREG(mode) ? INODE_F_NEW : 0;
	ns_now(&in.mtime);
	in.atime = in.ctime = in.mtime;
	in.parent = parent;
	in.name = strdup(name);
	in.target = target ? strdup(target) : NULL;
	if (in.name == NULL || (target && in.target == NULL)) {
		rc = -ENOMEM;
		goto free_in;
	}
	if ((rc = inherit_acls(&dir, &in, cr->umask)) != 0)
		goto free_in;
	if ((rc = inode_put(st, &in)) != 0)
		goto free_in;
	if ((rc = dirent_put(st, parent, name, in.ino, ns_dtype(mode))) != 0)
		goto free_in;
	if ((rc = ns_dir_touch(st, &dir, S_ISDIR(mode) ? 1 : 0)) != 0)
		goto free_in;
	if (S_ISREG(mode))
		rc = ix_meta_add(st, "files", 1);
	else if (S_ISDIR(mode))
		rc = ix_meta_add(st, "dirs", 1);
	/* Regular files are journaled when their content is committed. */
	if (rc == 0 && !S_ISREG(mode))
		journal_name(st, "added", parent, name, 0, NULL);
	inode_attr(&in, out);
free_in:
	inode_free(&in);
free_dir:
	inode_free(&dir);
unlock:
	ix_unlock(st);
	return rc;
}

int
store_mknod(store *st, uint64_t parent, const char *name, uint32_t mode,
    uint64_t rdev, const struct store_cred *cr, struct store_attr *out)
{
	if (S_ISLNK(mode) || (mode & S_IFMT) == 0)
		return -EINVAL;
	if (!S_ISCHR(mode) && !S_ISBLK(mode))
		rdev = 0;
	return make_node(st, parent, name, mode, rdev, cr, NULL, out);
}

int
store_symlink(store *st, uint64_t parent, const char *name,
    const char *target, const struct store_cred *cr, struct store_attr *out)
{
	size_t n = strlen(target);

	if (n == 0)
		return -ENOENT;
	if (n > 4095)
		return -ENAMETOOLONG;
	return make_node(st, parent, name, S_IFLNK | 0777, 0, cr, target, out);
}

int
store_readlink(store *st, uint64_t ino, char *buf, size_t size)
{
	struct inode in;
	uint64_t seq;
	int rc;

	if ((rc = view_seq(st, ino, &seq)) != 0)
		return rc;
	ix_lock(st);
	rc = inode_get(st, ino & STORE_INO_MASK, seq, &in);
	ix_unlock(st);
	if (rc != 0)
		return rc;
	if (!S_ISLNK(in.mode) || in.target == NULL)
		rc = -EINVAL;
	else if (strlen(in.target) >= size)
		rc = -ERANGE;
	else
		strcpy(buf, in.target);
	inode_free(&in);
	return rc;
}

int
store_link(store *st, uint64_t ino, uint64_t newparent, const char *newname,
    struct store_attr *out)
{
	struct inode dir, in;
	struct dirent_rec d;
	int rc;

	if ((rc = ns_live_check(st, ino)) != 0 ||
	    (rc = ns_live_check(st, newparent)) != 0)
		return rc;
	if ((rc = ns_check_name(st, newparent, newname)) != 0)
		return rc;
	if ((rc = store_space_check(st, 1U << 20, 1)) != 0)
		return rc;
	/* A file whose commit is queued gets no second name before it is
	 * committed: a refused new file goes with its one name. */
	if ((rc = file_wait_queued(st, ino)) != 0)
		return rc;
	ns_lock(st);
	if ((rc = inode_get(st, ino, SEQ_LIVE, &in)) != 0)
		goto unlock;
	if (S_ISDIR(in.mode)) {
		rc = -EPERM;
		goto free_in;
	}
	if (in.nlink >= 65000) {
		rc = -EMLINK;
		goto free_in;
	}
	if ((rc = ns_dir_get(st, newparent, &dir)) != 0)
		goto free_in;
	rc = dirent_get(st, newparent, newname, SEQ_LIVE, &d);
	if (rc == 0)
		rc = -EEXIST;
	if (rc != -ENOENT)
		goto free_dir;
	if ((rc = dirent_put(st, newparent, newname, ino, ns_dtype(in.mode))))
		goto free_dir;
	journal_name(st, "added", newparent, newname, 0, NULL);
	in.nlink++;
	ns_now(&in.ctime);
	if ((rc = inode_put(st, &in)) != 0)
		goto free_dir;
	rc = ns_dir_touch(st, &dir, 0);
	inode_attr(&in, out);
free_dir:
	inode_free(&dir);
free_in:
	inode_free(&in);
unlock:
	ix_unlock(st);
	if (rc == 0)
		file_attr_overlay(st, out);
	return rc;
}

/* ---- removing ------------------------------------------------------- */

/*
 * Drop one link of file @in (ix_lock held).  At zero links the file
 * leaves the live tree's counters at once, but its records stay as an
 * orphan until the store is closed (or next opened, after a crash): the
 * kernel may still hold the inode, open or cached with attributes to
 * write back, and must find it.
 */
int
ns_drop_link(store *st, struct inode *in)
{
	uint8_t k[8];
	int rc;

	if (in->nlink > 0)
		in->nlink--;
	ns_now(&in->ctime);
	if ((rc = inode_put(st, in)) != 0 || in->nlink > 0)
		return rc;
	if (S_ISREG(in->mode)) {
		ix_meta_add(st, "files", -1);
		ix_meta_add(st, "bytes", -(int64_t)in->size);
	}
	bm_be64enc(k, in->ino);
	return ix_put(st, IX_ORPHAN, k, 8, "", 0);
}

/* Delete the records of orphan or removed directory @ino. */
int
ns_reap_locked(store *st, uint64_t ino)
{
	struct inode in;
	uint8_t k[8];
	int rc = inode_get(st, ino, SEQ_LIVE, &in);

	bm_be64enc(k, ino);
	if (rc == -ENOENT)
		rc = 0;
	else if (rc == 0 && (in.nlink == 0 || S_ISDIR(in.mode)))
		rc = inode_del(st, ino);
	if (rc == 0 || rc == -ENOENT)
		rc = ix_del(st, IX_ORPHAN, k, 8) == -EIO ? -EIO : 0;
	if (rc != -ENOENT)
		inode_free(&in);
	return rc;
}

/* Is live directory @ino empty?  1 yes, 0 no, or a negative errno. */
int
ns_dir_empty(store *st, uint64_t ino)
{
	int rc = dir_first_entry(st, ino, SEQ_LIVE);

	return rc == -ENOENT ? 1 : rc == 0 ? 0 : rc;
}

int
store_unlink(store *st, uint64_t parent, const char *name)
{
	struct inode dir, in;
	struct dirent_rec d;
	int rc;

	if ((rc = ns_live_check(st, parent)) != 0)
		return rc;
	if ((rc = store_meta_check(st, 1)) != 0)
		return rc;
	if (parent == STORE_ROOT_INO && !strcmp(name, STORE_SNAPDIR_NAME))
		return -EPERM;
	ns_lock(st);
	if ((rc = ns_dir_get(st, parent, &dir)) != 0)
		goto unlock;
	if ((rc = dirent_get(st, parent, name, SEQ_LIVE, &d)) != 0)
		goto free_dir;
	if ((rc = inode_get(st, d.ino, SEQ_LIVE, &in)) != 0)
		goto free_dir;
	if (S_ISDIR(in.mode)) {
		rc = -EISDIR;
		goto free_in;
	}
	journal_name(st, "deleted", parent, name, 0, NULL);
	if ((rc = dirent_del(st, parent, name)) != 0)
		goto free_in;
	if ((rc = ns_drop_link(st, &in)) != 0)
		goto free_in;
	rc = ns_dir_touch(st, &dir, 0);
free_in:
	inode_free(&in);
free_dir:
	inode_free(&dir);
unlock:
	ix_unlock(st);
	return rc;
}

int
store_rmdir(store *st, uint64_t parent, const char *name)
{
	struct inode dir, in;
	struct dirent_rec d;
	int rc;

	if ((rc = ns_live_check(st, parent)) != 0)
		return rc;
	if ((rc = store_meta_check(st, 1)) != 0)
		return rc;
	if (!strcmp(name, "."))
		return -EINVAL;
	if (!strcmp(name, ".."))
		return -ENOTEMPTY;
	if (parent == STORE_ROOT_INO && !strcmp(name, STORE_SNAPDIR_NAME))
		return -EPERM;
	ns_lock(st);
	if ((rc = ns_dir_get(st, parent, &dir)) != 0)
		goto unlock;
	if ((rc = dirent_get(st, parent, name, SEQ_LIVE, &d)) != 0)
		goto free_dir;
	if ((rc = inode_get(st, d.ino, SEQ_LIVE, &in)) != 0)
		goto free_dir;
	if (!S_ISDIR(in.mode)) {
		rc = -ENOTDIR;
		goto free_in;
	}
	if ((rc = ns_dir_empty(st, d.ino)) != 1) {
		rc = rc == 0 ? -ENOTEMPTY : rc;
		goto free_in;
	}
	journal_name(st, "deleted", parent, name, 0, NULL);
	if ((rc = dirent_del(st, parent, name)) != 0)
		goto free_in;
	if ((rc = inode_del(st, d.ino)) != 0 ||
	    (rc = ix_meta_add(st, "dirs", -1)) != 0)
		goto free_in;
	rc = ns_dir_touch(st, &dir, -1);
free_in:
	inode_free(&in);
free_dir:
	inode_free(&dir);
unlock:
	ix_unlock(st);
	return rc;
}
