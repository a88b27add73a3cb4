/*
 * store_ns.c -- the namespace: views of snapshots, lookups, attributes,
 * paths and space; the helpers the other store_ns_*.c files share.  See
 * store_ns.h for the design.
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
#include "store_cqueue.h"
#include "store_file.h"
#include "store_ns.h"
#include "store_record.h"
#include "store_snap.h"

void
ns_now(struct timespec *t)
{
	clock_gettime(CLOCK_REALTIME, t);
}

struct xattr *
ns_xattr_find(struct inode *in, const char *name)
{
	uint32_t i;

	for (i = 0; i < in->nxattrs; i++)
		if (strcmp(in->xattrs[i].name, name) == 0)
			return &in->xattrs[i];
	return NULL;
}

uint8_t
ns_dtype(uint32_t mode)
{
	return (uint8_t)IFTODT(mode);
}

/* ---- views of snapshots --------------------------------------------- */

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

	if (ns_hidden(st, ino))
		return -ENOENT;
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

void
ns_snapdir_attr(store *st, struct store_attr *a)
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
int
ns_attr_at(store *st, uint64_t ino, uint64_t seq, struct store_attr *a)
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

/* ---- lookups and attributes ----------------------------------------- */

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
	if (ns_hidden(st, parent))
		return -ENOENT;
	if (parent == STORE_ROOT_INO && strcmp(name, STORE_SNAPDIR_NAME) == 0) {
		if (ns_hidden(st, STORE_SNAPDIR_INO))
			return -ENOENT;
		ns_snapdir_attr(st, out);
		return 0;
	}
	if (parent == STORE_SNAPDIR_INO) {
		if ((rc = parse_snap_name(name, &id)) != 0)
			return rc;
		if ((rc = view_seq(st, store_snapshot_ino(id), &seq)) != 0)
			return rc;
		ix_lock(st);
		rc = ns_attr_at(st, store_snapshot_ino(id), seq, out);
		ix_unlock(st);
		return rc;
	}
	if ((rc = view_seq(st, parent, &seq)) != 0)
		return rc;
	ix_lock(st);
	rc = dirent_get(st, parent & STORE_INO_MASK, name, seq, &d);
	if (rc == 0)
		rc = ns_attr_at(st, hi | d.ino, seq, out);
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

	if (ns_hidden(st, ino))
		return -ENOENT;
	if (ino == STORE_SNAPDIR_INO) {
		ns_snapdir_attr(st, out);
		return 0;
	}
	if ((rc = view_seq(st, ino, &seq)) != 0)
		return rc;
	ix_lock(st);
	rc = ns_attr_at(st, ino, seq, out);
	ix_unlock(st);
	if (rc == 0 && !ino_is_snap(ino))
		file_attr_overlay(st, out);
	return rc;
}

int
ns_hidden(const store *st, uint64_t ino)
{
	return st->opts.live_only && ino_is_snap(ino);
}

void
ns_lock(store *st)
{
	ix_lock(st);
	while (st->quiescing)
		pthread_cond_wait(&st->quiet_cv, &st->ix_lock);
	st->txn_need = cq_pushed(st);
}

int
ns_live_check(store *st, uint64_t ino)
{
	if (ns_hidden(st, ino))
		return -ENOENT;
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

	if ((rc = ns_live_check(st, ino)) != 0)
		return rc;
	/* Times alone are what the kernel sends when any file is closed
	 * (its cached times): a reader must not fail there, so they get the
	 * margin of deletions. */
	if ((rc = store_meta_check(st, !(to_set & (STORE_SET_MODE |
	    STORE_SET_UID | STORE_SET_GID | STORE_SET_SIZE)))) != 0)
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
	ns_lock(st);
	if ((rc = inode_get(st, ino, SEQ_LIVE, &in)) != 0)
		goto done;
	if (to_set & STORE_SET_MODE) {
		struct xattr *acl = ns_xattr_find(&in, XATTR_ACL_ACCESS);

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
		ns_now(&in.ctime);
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

/* ---- paths and space ------------------------------------------------ */

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
