/*
 * store_ns.c -- the namespace: lookups, attributes, directories, links,
 * renames, extended attributes.
 *
 * Every operation runs under the index lock, reading at the view's
 * sequence (live, or a snapshot's) and writing at the live sequence.
 * Snapshot inodes ((K << 48) | ino) and /.snapshots are read-only.
 * Directory link counts follow POSIX (2 + subdirectories); the live
 * tree's counters of files, directories and bytes are kept in IX_META.
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
#include "bm_err.h"
#include "bm_log.h"
#include "bm_units.h"
#include "store_internal.h"

#define XATTR_TOTAL_MAX (256U << 10)

static void
now(struct timespec *t)
{
	clock_gettime(CLOCK_REALTIME, t);
}

static struct xattr *
xattr_find(struct inode *in, const char *name)
{
	uint32_t i;

	for (i = 0; i < in->nxattrs; i++)
		if (strcmp(in->xattrs[i].name, name) == 0)
			return &in->xattrs[i];
	return NULL;
}

static uint8_t
dtype(uint32_t mode)
{
	return (uint8_t)IFTODT(mode);
}

int
ix_meta_add(store *st, const char *name, int64_t delta)
{
	uint64_t v = 0;
	int rc = ix_meta_get(st, name, &v);

	if (rc != 0 && rc != -ENOENT)
		return rc;
	if (delta < 0 && (uint64_t)-delta > v)
		v = 0;
	else
		v += (uint64_t)delta;
	return ix_meta_put(st, name, v);
}

/* ---- views of snapshots -------------------------------------------------- */

int
snap_get(store *st, uint32_t id, struct store_snapinfo *out)
{
	uint8_t k[4], *plain;
	MDB_val key, val;
	size_t len;
	int rc;

	bm_be32enc(k, id);
	if ((rc = ix_get(st, IX_SNAP, k, 4, &val)) != 0)
		return rc == -ENOENT ? BEEMO_ENOSNAP : rc;
	key.mv_data = k;
	key.mv_size = 4;
	if ((rc = ix_open_sealed(st, IX_SNAP, &key, &val, &plain, &len)) != 0)
		return rc;
	rc = snap_decode(out, id, plain, len);
	free(plain);
	return rc;
}

int
view_seq(store *st, uint64_t ino, uint64_t *seq)
{
	uint32_t k = (uint32_t)ino_snap(ino);
	struct store_snapinfo si;
	int rc;

	if (k == 0 || ino == STORE_SNAPDIR_INO) {
		*seq = SEQ_LIVE;
		return 0;
	}
	if (k > STORE_MAX_SNAP)
		return -ENOENT;
	pthread_mutex_lock(&st->of_lock);
	*seq = st->snapseq != NULL ? st->snapseq[k] : 0;
	pthread_mutex_unlock(&st->of_lock);
	if (*seq != 0)
		return 0;
	ix_lock(st);
	rc = snap_get(st, k, &si);
	ix_unlock(st);
	if (rc != 0)
		return rc == BEEMO_ENOSNAP ? -ENOENT : rc;
	pthread_mutex_lock(&st->of_lock);
	if (st->snapseq == NULL)
		st->snapseq = calloc(STORE_MAX_SNAP + 1, sizeof(uint64_t));
	if (st->snapseq != NULL)
		st->snapseq[k] = si.seq;
	pthread_mutex_unlock(&st->of_lock);
	*seq = si.seq;
	return 0;
}

static void
snapdir_attr(store *st, struct store_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->ino = STORE_SNAPDIR_INO;
	a->mode = S_IFDIR | 0555;
	a->nlink = 2;
	a->size = 4096;
	a->blocks = 8;
	a->atime = a->mtime = a->ctime = st->opened;
}

/* Attributes of @ino (live part @live) as seen at @seq. */
static int
attr_at(store *st, uint64_t ino, uint64_t seq, struct store_attr *a)
{
	struct inode in;
	int rc = inode_get(st, ino & STORE_INO_MASK, seq, &in);

	if (rc != 0)
		return rc;
	inode_attr(&in, a);
	a->ino = ino;
	inode_free(&in);
	return 0;
}

/* ---- lookups and attributes ----------------------------------------------- */

static int
parse_snap_name(const char *name, uint32_t *id)
{
	uint64_t v;

	if (bm_parse_u64(name, &v) != 0 || v == 0 || v > STORE_MAX_SNAP ||
	    name[0] == '0')
		return -ENOENT;
	*id = (uint32_t)v;
	return 0;
}

int
store_lookup(store *st, uint64_t parent, const char *name,
    struct store_attr *out)
{
	struct dirent_rec d;
	uint64_t seq, hi = parent & ~STORE_INO_MASK;
	uint32_t id;
	int rc;

	if (strlen(name) > STORE_NAME_MAX)
		return -ENAMETOOLONG;
	if (parent == STORE_ROOT_INO && strcmp(name, STORE_SNAPDIR_NAME) == 0) {
		snapdir_attr(st, out);
		return 0;
	}
	if (parent == STORE_SNAPDIR_INO) {
		if ((rc = parse_snap_name(name, &id)) != 0)
			return rc;
		if ((rc = view_seq(st, store_snapshot_ino(id), &seq)) != 0)
			return rc;
		ix_lock(st);
		rc = attr_at(st, store_snapshot_ino(id), seq, out);
		ix_unlock(st);
		return rc;
	}
	if ((rc = view_seq(st, parent, &seq)) != 0)
		return rc;
	ix_lock(st);
	rc = dirent_get(st, parent & STORE_INO_MASK, name, seq, &d);
	if (rc == 0)
		rc = attr_at(st, hi | d.ino, seq, out);
	ix_unlock(st);
	if (rc == 0 && hi == 0)
		file_attr_overlay(st, out);
	return rc;
}

int
store_getattr(store *st, uint64_t ino, struct store_attr *out)
{
	uint64_t seq;
	int rc;

	if (ino == STORE_SNAPDIR_INO) {
		snapdir_attr(st, out);
		return 0;
	}
	if ((rc = view_seq(st, ino, &seq)) != 0)
		return rc;
	ix_lock(st);
	rc = attr_at(st, ino, seq, out);
	ix_unlock(st);
	if (rc == 0 && !ino_is_snap(ino))
		file_attr_overlay(st, out);
	return rc;
}

static int
live_check(store *st, uint64_t ino)
{
	if (st->opts.rdonly || ino_is_snap(ino))
		return -EROFS;
	return 0;
}

int
store_setattr(store *st, uint64_t ino, const struct store_attr *a,
    unsigned to_set, struct store_attr *out)
{
	struct inode in;
	int rc;

	if ((rc = live_check(st, ino)) != 0)
		return rc;
	if (to_set & STORE_SET_SIZE) {
		ix_lock(st);
		rc = inode_get(st, ino, SEQ_LIVE, &in);
		if (rc == 0 && !S_ISREG(in.mode))
			rc = S_ISDIR(in.mode) ? -EISDIR : -EINVAL;
		if (rc == 0)
			inode_free(&in);
		ix_unlock(st);
		if (rc == 0)
			rc = file_truncate(st, ino, a->size);
		if (rc != 0)
			return rc;
	}
	ix_lock(st);
	if ((rc = inode_get(st, ino, SEQ_LIVE, &in)) != 0)
		goto done;
	if (to_set & STORE_SET_MODE) {
		struct xattr *acl = xattr_find(&in, XATTR_ACL_ACCESS);

		in.mode = (in.mode & S_IFMT) | (a->mode & 07777);
		if (acl != NULL && acl_chmod(acl->value, acl->len, in.mode))
			bm_log(LOG_WARNING, "inode %" PRIu64 ": malformed "
			    "access ACL left as it was", ino);
	}
	if (to_set & STORE_SET_UID)
		in.uid = a->uid;
	if (to_set & STORE_SET_GID)
		in.gid = a->gid;
	if (to_set & STORE_SET_ATIME)
		in.atime = a->atime;
	if (to_set & STORE_SET_MTIME)
		in.mtime = a->mtime;
	if (to_set & STORE_SET_CTIME)
		in.ctime = a->ctime;
	else if (to_set & ~(unsigned)(STORE_SET_ATIME))
		now(&in.ctime);
	rc = inode_put(st, &in);
	if (rc == 0) {
		inode_attr(&in, out);
	}
	inode_free(&in);
done:
	ix_unlock(st);
	if (rc == 0 && (to_set & STORE_SET_MTIME))
		file_set_mtime(st, ino);
	if (rc == 0)
		file_attr_overlay(st, out);
	return rc;
}

/* ---- creating ----------------------------------------------------------------- */

static int
check_name(uint64_t parent, const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || strchr(name, '/') != NULL)
		return -EINVAL;
	if (n > STORE_NAME_MAX)
		return -ENAMETOOLONG;
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return -EEXIST;
	if (parent == STORE_ROOT_INO && !strcmp(name, STORE_SNAPDIR_NAME))
		return -EEXIST;
	return 0;
}

/* Get the live directory @ino for a change in it (ix_lock held). */
static int
dir_get(store *st, uint64_t ino, struct inode *dir)
{
	int rc = inode_get(st, ino, SEQ_LIVE, dir);

	if (rc == 0 && !S_ISDIR(dir->mode)) {
		inode_free(dir);
		return -ENOTDIR;
	}
	return rc;
}

/* Directory @dir changed: times, link count delta, store it. */
static int
dir_touch(store *st, struct inode *dir, int nlink_delta)
{
	now(&dir->mtime);
	dir->ctime = dir->mtime;
	dir->nlink = (uint32_t)((int)dir->nlink + nlink_delta);
	return inode_put(st, dir);
}

static int xattr_put(struct inode *in, const char *name, const void *value,
    size_t size);

/* ACLs a new node inherits from directory @dir (see store_acl.c). */
static int
inherit_acls(struct inode *dir, struct inode *in, uint32_t umask)
{
	struct xattr *def = xattr_find(dir, XATTR_ACL_DEFAULT);
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
		rc = xattr_put(in, XATTR_ACL_ACCESS, acl, len);
	free(acl);
	if (rc == 0 && S_ISDIR(in->mode))
		rc = xattr_put(in, XATTR_ACL_DEFAULT, def->value, def->len);
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

	if ((rc = live_check(st, parent)) != 0)
		return rc;
	if ((rc = check_name(parent, name)) != 0)
		return rc;
	ix_lock(st);
	if ((rc = dir_get(st, parent, &dir)) != 0)
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
	now(&in.mtime);
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
	if ((rc = dirent_put(st, parent, name, in.ino, dtype(mode))) != 0)
		goto free_in;
	if ((rc = dir_touch(st, &dir, S_ISDIR(mode) ? 1 : 0)) != 0)
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

	if ((rc = live_check(st, ino)) != 0 ||
	    (rc = live_check(st, newparent)) != 0)
		return rc;
	if ((rc = check_name(newparent, newname)) != 0)
		return rc;
	ix_lock(st);
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
	if ((rc = dir_get(st, newparent, &dir)) != 0)
		goto free_in;
	rc = dirent_get(st, newparent, newname, SEQ_LIVE, &d);
	if (rc == 0)
		rc = -EEXIST;
	if (rc != -ENOENT)
		goto free_dir;
	if ((rc = dirent_put(st, newparent, newname, ino, dtype(in.mode))))
		goto free_dir;
	journal_name(st, "added", newparent, newname, 0, NULL);
	in.nlink++;
	now(&in.ctime);
	if ((rc = inode_put(st, &in)) != 0)
		goto free_dir;
	rc = dir_touch(st, &dir, 0);
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

/* ---- removing ---------------------------------------------------------------- */

/*
 * Drop one link of file @in (ix_lock held).  At zero links the file
 * leaves the live tree's counters at once, but its records stay as an
 * orphan until the store is closed (or next opened, after a crash): the
 * kernel may still hold the inode, open or cached with attributes to
 * write back, and must find it.
 */
static int
drop_link(store *st, struct inode *in)
{
	uint8_t k[8];
	int rc;

	if (in->nlink > 0)
		in->nlink--;
	now(&in->ctime);
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
static int
dir_empty(store *st, uint64_t ino)
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

	if ((rc = live_check(st, parent)) != 0)
		return rc;
	if (parent == STORE_ROOT_INO && !strcmp(name, STORE_SNAPDIR_NAME))
		return -EPERM;
	ix_lock(st);
	if ((rc = dir_get(st, parent, &dir)) != 0)
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
	if ((rc = drop_link(st, &in)) != 0)
		goto free_in;
	rc = dir_touch(st, &dir, 0);
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

	if ((rc = live_check(st, parent)) != 0)
		return rc;
	if (!strcmp(name, "."))
		return -EINVAL;
	if (!strcmp(name, ".."))
		return -ENOTEMPTY;
	if (parent == STORE_ROOT_INO && !strcmp(name, STORE_SNAPDIR_NAME))
		return -EPERM;
	ix_lock(st);
	if ((rc = dir_get(st, parent, &dir)) != 0)
		goto unlock;
	if ((rc = dirent_get(st, parent, name, SEQ_LIVE, &d)) != 0)
		goto free_dir;
	if ((rc = inode_get(st, d.ino, SEQ_LIVE, &in)) != 0)
		goto free_dir;
	if (!S_ISDIR(in.mode)) {
		rc = -ENOTDIR;
		goto free_in;
	}
	if ((rc = dir_empty(st, d.ino)) != 1) {
		rc = rc == 0 ? -ENOTEMPTY : rc;
		goto free_in;
	}
	journal_name(st, "deleted", parent, name, 0, NULL);
	if ((rc = dirent_del(st, parent, name)) != 0)
		goto free_in;
	if ((rc = inode_del(st, d.ino)) != 0 ||
	    (rc = ix_meta_add(st, "dirs", -1)) != 0)
		goto free_in;
	rc = dir_touch(st, &dir, -1);
free_in:
	inode_free(&in);
free_dir:
	inode_free(&dir);
unlock:
	ix_unlock(st);
	return rc;
}

/* ---- renaming ------------------------------------------------------------------- */

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
	now(&in.ctime);
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
	if ((rc = dir_get(st, from, &a)) != 0)
		return rc;
	rc = dir_touch(st, &a, -1);
	inode_free(&a);
	if (rc != 0 || (rc = dir_get(st, to, &b)) != 0)
		return rc;
	rc = dir_touch(st, &b, 1);
	inode_free(&b);
	return rc;
}

static int
touch_dirs(store *st, uint64_t a, uint64_t b)
{
	struct inode d;
	int rc;

	if ((rc = dir_get(st, a, &d)) != 0)
		return rc;
	rc = dir_touch(st, &d, 0);
	inode_free(&d);
	if (rc != 0 || a == b)
		return rc;
	if ((rc = dir_get(st, b, &d)) != 0)
		return rc;
	rc = dir_touch(st, &d, 0);
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
	if ((rc = dir_get(st, newparent, &tin)) != 0)
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
			rc = dir_empty(st, dst.ino);
			rc = rc == 1 ? inode_del(st, dst.ino) :
			    rc == 0 ? -ENOTEMPTY : rc;
			if (rc == 0)
				rc = ix_meta_add(st, "dirs", -1);
			if (rc == 0) {
				struct inode d;

				/* The victim's ".." link goes. */
				if ((rc = dir_get(st, newparent, &d)) == 0) {
					d.nlink--;
					rc = inode_put(st, &d);
					inode_free(&d);
				}
			}
		} else {
			rc = drop_link(st, &victim);
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

int
store_rename(store *st, uint64_t parent, const char *name, uint64_t newparent,
    const char *newname, unsigned flags)
{
	int rc;

	if ((rc = live_check(st, parent)) != 0 ||
	    (rc = live_check(st, newparent)) != 0)
		return rc;
	if (flags & ~(unsigned)(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return -EINVAL;
	if ((flags & RENAME_NOREPLACE) && (flags & RENAME_EXCHANGE))
		return -EINVAL;
	if ((rc = check_name(newparent, newname)) != 0)
		return rc;
	if (parent == STORE_ROOT_INO && !strcmp(name, STORE_SNAPDIR_NAME))
		return -EPERM;
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return -EBUSY;
	ix_lock(st);
	rc = rename_locked(st, parent, name, newparent, newname, flags);
	if (rc == 0)
		journal_name(st, flags & RENAME_EXCHANGE ? "exchanged" :
		    "renamed", parent, name, newparent, newname);
	ix_unlock(st);
	return rc;
}

/* ---- listing ------------------------------------------------------------------- */

/*
 * Cookies: 0 start, 1 after ".", 2 after "..", then 4 + (h >> 2) where h
 * is the first 8 bytes of the name hash of the entry just returned, + 1
 * for the next: entries come in hash order, so resuming seeks to the
 * first hash >= (cookie - 4) << 2.
 */
#define COOKIE_BASE 4

struct dcur {
	store *st;
	MDB_cursor *cur;
	uint64_t dir, seq;
	uint8_t key[8 + NAMEHASH_LEN + 8];
};

/* Next visible entry at or after hash position @pos (16 bytes). */
static int
dcur_next(struct dcur *c, uint8_t pos[NAMEHASH_LEN], struct dirent_rec *d)
{
	MDB_val k, v;
	uint8_t *plain;
	size_t len;
	int i, rc;

	for (;;) {
		bm_be64enc(c->key, c->dir);
		memcpy(c->key + 8, pos, NAMEHASH_LEN);
		bm_be64enc(c->key + 8 + NAMEHASH_LEN, ~c->seq);
		k.mv_data = c->key;
		k.mv_size = sizeof(c->key);
		rc = mdb_cursor_get(c->cur, &k, &v, MDB_SET_RANGE);
		if (rc == MDB_NOTFOUND)
			return -ENOENT;
		if (rc != 0)
			return -EIO;
		if (k.mv_size != sizeof(c->key) ||
		    bm_be64dec(k.mv_data) != c->dir)
			return -ENOENT;
		if (memcmp(pos, (uint8_t *)k.mv_data + 8, NAMEHASH_LEN) != 0) {
			/* Landed in a later name's group, perhaps on a
			 * version newer than the view: seek that group at
			 * the view's sequence. */
			memcpy(pos, (uint8_t *)k.mv_data + 8, NAMEHASH_LEN);
			continue;
		}
		/* The newest version <= the view's sequence. */
		rc = ix_open_sealed(c->st, IX_DIRENT, &k, &v, &plain, &len);
		if (rc != 0)
			return rc;
		rc = len == 0 ? -ENOENT : dirent_decode(d, plain, len);
		free(plain);
		if (rc == 0)
			return 0;
		if (rc != -ENOENT)
			return -EIO;
		/* Deleted at the view: next name. */
		for (i = NAMEHASH_LEN - 1; i >= 0 && ++pos[i] == 0; i--)
			;
		if (i < 0)
			return -ENOENT;
	}
}

int
dir_first_entry(store *st, uint64_t dir, uint64_t seq)
{
	struct dcur c = {st, NULL, dir, seq, {0}};
	uint8_t pos[NAMEHASH_LEN] = {0};
	struct dirent_rec d;
	int rc;

	if (mdb_cursor_open(st->txn, st->dbi[IX_DIRENT], &c.cur) != 0)
		return -EIO;
	rc = dcur_next(&c, pos, &d);
	mdb_cursor_close(c.cur);
	return rc;
}

static int
readdir_snapdir(store *st, uint64_t cookie, int plus, store_dirent_fn fn,
    void *ctx)
{
	struct store_snapinfo *snaps = NULL;
	struct store_attr a;
	size_t n, i;
	int rc;

	snapdir_attr(st, &a);
	if (cookie < 1 && fn(ctx, ".", &a, 1))
		return 0;
	if (cookie < 2 && fn(ctx, "..", &a, 2))
		return 0;
	if ((rc = store_snapshots(st, &snaps, &n)) != 0)
		return rc;
	for (i = 0; i < n; i++) {
		char name[16];
		uint64_t ino = store_snapshot_ino(snaps[i].id), seq;

		if (COOKIE_BASE + snaps[i].id < cookie + 1)
			continue;
		snprintf(name, sizeof(name), "%u", snaps[i].id);
		memset(&a, 0, sizeof(a));
		a.ino = ino;
		a.mode = S_IFDIR;
		if (plus) {
			if ((rc = view_seq(st, ino, &seq)) != 0)
				break;
			ix_lock(st);
			rc = attr_at(st, ino, seq, &a);
			ix_unlock(st);
			if (rc != 0)
				break;
		}
		if (fn(ctx, name, &a, COOKIE_BASE + snaps[i].id))
			break;
	}
	free(snaps);
	return rc;
}

int
store_readdir(store *st, uint64_t ino, uint64_t cookie, int plus,
    store_dirent_fn fn, void *ctx)
{
	struct dcur c;
	struct store_attr a, self;
	struct inode in;
	uint8_t pos[NAMEHASH_LEN];
	uint64_t hi = ino & ~STORE_INO_MASK, parent;
	int rc;

	if (ino == STORE_SNAPDIR_INO)
		return readdir_snapdir(st, cookie, plus, fn, ctx);
	memset(&c, 0, sizeof(c));
	c.st = st;
	c.dir = ino & STORE_INO_MASK;
	if ((rc = view_seq(st, ino, &c.seq)) != 0)
		return rc;
	ix_lock(st);
	if ((rc = inode_get(st, c.dir, c.seq, &in)) != 0)
		goto unlock;
	if (!S_ISDIR(in.mode)) {
		inode_free(&in);
		rc = -ENOTDIR;
		goto unlock;
	}
	inode_attr(&in, &self);
	self.ino = ino;
	parent = in.parent;
	inode_free(&in);
	if (cookie < 1 && fn(ctx, ".", &self, 1))
		goto unlock;
	if (cookie < 2) {
		if (c.dir == STORE_ROOT_INO) {
			a = self;
			if (hi != 0) /* a snapshot's root: up is /.snapshots */
				snapdir_attr(st, &a);
		} else if ((rc = attr_at(st, hi | parent, c.seq, &a)) != 0) {
			goto unlock;
		}
		if (fn(ctx, "..", &a, 2))
			goto unlock;
	}
	memset(pos, 0, sizeof(pos));
	if (cookie > COOKIE_BASE)
		bm_be64enc(pos, (cookie - COOKIE_BASE) << 2);
	if (mdb_cursor_open(st->txn, st->dbi[IX_DIRENT], &c.cur) != 0) {
		rc = -EIO;
		goto unlock;
	}
	for (;;) {
		struct dirent_rec d;
		uint64_t next;
		int i;

		rc = dcur_next(&c, pos, &d);
		if (rc == -ENOENT) {
			rc = 0;
			break;
		}
		if (rc != 0)
			break;
		next = COOKIE_BASE + (bm_be64dec(pos) >> 2) + 1;
		memset(&a, 0, sizeof(a));
		a.ino = hi | d.ino;
		a.mode = DTTOIF(d.type);
		if (plus && (rc = attr_at(st, hi | d.ino, c.seq, &a)) != 0)
			break;
		if (fn(ctx, d.name, &a, next))
			break;
		/* Skip every hash sharing the cookie's bits (see above). */
		bm_be64enc(pos, ((bm_be64dec(pos) >> 2) + 1) << 2);
		memset(pos + 8, 0, NAMEHASH_LEN - 8);
		if (bm_be64dec(pos) == 0)
			break; /* wrapped: that was the last possible hash */
		(void)i;
	}
	mdb_cursor_close(c.cur);
unlock:
	ix_unlock(st);
	return rc;
}

/* ---- extended attributes ---------------------------------------------------------- */


/* Namespaces as ext4: user., trusted., security., and the two ACLs. */
static int
xattr_name_check(const char *name)
{
	static const char *const ns[] = {"user.", "trusted.", "security.",
	    NULL};
	int i;

	if (!strcmp(name, XATTR_ACL_ACCESS) || !strcmp(name, XATTR_ACL_DEFAULT))
		return 0;
	for (i = 0; ns[i] != NULL; i++)
		if (!strncmp(name, ns[i], strlen(ns[i])))
			return name[strlen(ns[i])] == '\0' ? -EINVAL : 0;
	return !strcmp(name, "system.") ? -EINVAL : -EOPNOTSUPP;
}

/* Set @name to @value in @in (no flags checks). */
static int
xattr_put(struct inode *in, const char *name, const void *value, size_t size)
{
	struct xattr *x = xattr_find(in, name);
	uint32_t i, total = 0;
	uint8_t *copy;

	for (i = 0; i < in->nxattrs; i++)
		if (&in->xattrs[i] != x)
			total += in->xattrs[i].len;
	if (total + size > XATTR_TOTAL_MAX)
		return -ENOSPC;
	if ((copy = malloc(size + 1)) == NULL)
		return -ENOMEM;
	if (size > 0)
		memcpy(copy, value, size);
	if (x == NULL) {
		struct xattr *nx;

		if (in->nxattrs >= 65535 || (nx = realloc(in->xattrs,
		    (in->nxattrs + 1) * sizeof(*nx))) == NULL) {
			free(copy);
			return in->nxattrs >= 65535 ? -ENOSPC : -ENOMEM;
		}
		in->xattrs = nx;
		x = &in->xattrs[in->nxattrs];
		memset(x, 0, sizeof(*x));
		if ((x->name = strdup(name)) == NULL) {
			free(copy);
			return -ENOMEM;
		}
		in->nxattrs++;
	}
	free(x->value);
	x->value = copy;
	x->len = (uint32_t)size;
	return 0;
}

static void
xattr_drop(struct inode *in, struct xattr *x)
{
	free(x->name);
	free(x->value);
	*x = in->xattrs[--in->nxattrs];
}

int
store_setxattr(store *st, uint64_t ino, const char *name, const void *value,
    size_t size, int flags)
{
	struct inode in;
	struct xattr *x;
	uint32_t perm;
	int rc, equiv = 0;

	if ((rc = live_check(st, ino)) != 0)
		return rc;
	if (strlen(name) == 0 || strlen(name) > 255)
		return -ERANGE;
	if ((rc = xattr_name_check(name)) != 0)
		return rc;
	if (size > 65536)
		return -E2BIG;
	ix_lock(st);
	if ((rc = inode_get(st, ino, SEQ_LIVE, &in)) != 0)
		goto unlock;
	x = xattr_find(&in, name);
	if (x != NULL && (flags & XATTR_CREATE)) {
		rc = -EEXIST;
		goto free_in;
	}
	if (x == NULL && (flags & XATTR_REPLACE)) {
		rc = -ENODATA;
		goto free_in;
	}
	if (!strcmp(name, XATTR_ACL_ACCESS)) {
		/* The ACL sets the mode; one that says no more than the
		 * mode is not kept (as ext4). */
		if ((rc = acl_mode(value, size, &perm, &equiv)) != 0)
			goto free_in;
		in.mode = (in.mode & ~0777U) | perm;
	} else if (!strcmp(name, XATTR_ACL_DEFAULT)) {
		if (!S_ISDIR(in.mode)) {
			rc = -EACCES;
			goto free_in;
		}
		if (size > 0 && (rc = acl_mode(value, size, &perm, &equiv)))
			goto free_in;
		equiv = size == 0;
	}
	if (equiv && x != NULL)
		xattr_drop(&in, x);
	else if (!equiv && (rc = xattr_put(&in, name, value, size)) != 0)
		goto free_in;
	now(&in.ctime);
	rc = inode_put(st, &in);
free_in:
	inode_free(&in);
unlock:
	ix_unlock(st);
	return rc;
}

ssize_t
store_getxattr(store *st, uint64_t ino, const char *name, void *buf,
    size_t size)
{
	struct inode in;
	struct xattr *x;
	uint64_t seq;
	ssize_t rc;

	if (ino == STORE_SNAPDIR_INO)
		return -ENODATA;
	if ((rc = xattr_name_check(name)) != 0)
		return rc;
	if ((rc = view_seq(st, ino, &seq)) != 0)
		return rc;
	ix_lock(st);
	rc = inode_get(st, ino & STORE_INO_MASK, seq, &in);
	ix_unlock(st);
	if (rc != 0)
		return rc;
	if ((x = xattr_find(&in, name)) == NULL)
		rc = -ENODATA;
	else if (size == 0)
		rc = x->len;
	else if (size < x->len)
		rc = -ERANGE;
	else {
		memcpy(buf, x->value, x->len);
		rc = x->len;
	}
	inode_free(&in);
	return rc;
}

ssize_t
store_listxattr(store *st, uint64_t ino, char *buf, size_t size)
{
	struct inode in;
	uint64_t seq;
	size_t need = 0;
	uint32_t i;
	ssize_t rc;

	if (ino == STORE_SNAPDIR_INO)
		return 0;
	if ((rc = view_seq(st, ino, &seq)) != 0)
		return rc;
	ix_lock(st);
	rc = inode_get(st, ino & STORE_INO_MASK, seq, &in);
	ix_unlock(st);
	if (rc != 0)
		return rc;
	for (i = 0; i < in.nxattrs; i++)
		need += strlen(in.xattrs[i].name) + 1;
	if (size == 0) {
		rc = (ssize_t)need;
	} else if (size < need) {
		rc = -ERANGE;
	} else {
		char *p = buf;

		for (i = 0; i < in.nxattrs; i++) {
			size_t n = strlen(in.xattrs[i].name) + 1;

			memcpy(p, in.xattrs[i].name, n);
			p += n;
		}
		rc = (ssize_t)need;
	}
	inode_free(&in);
	return rc;
}

int
store_removexattr(store *st, uint64_t ino, const char *name)
{
	struct inode in;
	struct xattr *x;
	int rc;

	if ((rc = live_check(st, ino)) != 0)
		return rc;
	ix_lock(st);
	if ((rc = inode_get(st, ino, SEQ_LIVE, &in)) != 0)
		goto unlock;
	if ((x = xattr_find(&in, name)) == NULL) {
		rc = -ENODATA;
	} else {
		xattr_drop(&in, x);
		now(&in.ctime);
		rc = inode_put(st, &in);
	}
	inode_free(&in);
unlock:
	ix_unlock(st);
	return rc;
}

/* ---- paths and space ---------------------------------------------------------------- */

int
path_locked(store *st, uint64_t ino, uint64_t seq, char *buf, size_t size)
{
	char *names[512];
	uint64_t cur = ino & STORE_INO_MASK;
	size_t n = 0, i, len = 0;
	int rc = 0;

	while (cur != STORE_ROOT_INO && n < 512) {
		struct inode in;

		if ((rc = inode_get(st, cur, seq, &in)) != 0)
			break;
		names[n++] = in.name;
		in.name = NULL;
		cur = in.parent;
		inode_free(&in);
	}
	if (rc == 0 && cur != STORE_ROOT_INO)
		rc = -ELOOP;
	buf[0] = '\0';
	if (rc == 0 && n == 0 && size > 1)
		strcpy(buf, "/");
	for (i = n; rc == 0 && i-- > 0;) {
		size_t l = strlen(names[i]);

		if (len + l + 2 > size) {
			rc = -ENAMETOOLONG;
			break;
		}
		buf[len++] = '/';
		memcpy(buf + len, names[i], l + 1);
		len += l;
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	return rc;
}

int
store_primary(store *st, uint64_t ino, uint64_t *parent, char *name)
{
	struct inode in;
	int rc;

	ix_lock(st);
	rc = inode_get(st, ino & STORE_INO_MASK, SEQ_LIVE, &in);
	ix_unlock(st);
	if (rc != 0)
		return rc;
	*parent = in.parent;
	snprintf(name, STORE_NAME_MAX + 1, "%s", in.name);
	inode_free(&in);
	return 0;
}

int
store_path(store *st, uint64_t ino, char *buf, size_t size)
{
	uint64_t seq;
	int rc;

	if ((rc = view_seq(st, ino, &seq)) != 0)
		return rc;
	ix_lock(st);
	rc = path_locked(st, ino, seq, buf, size);
	ix_unlock(st);
	return rc;
}

int
store_statfs(store *st, struct statvfs *out)
{
	uint64_t files = 0, dirs = 0;

	if (statvfs(st->dir, out) != 0)
		return -errno;
	ix_lock(st);
	ix_meta_get(st, "files", &files);
	ix_meta_get(st, "dirs", &dirs);
	ix_unlock(st);
	out->f_files = files + dirs + out->f_ffree;
	out->f_namemax = STORE_NAME_MAX;
	store_quota_statfs(st, out);
	return 0;
}
