/*
 * store_ns_dir.c -- the namespace: listing directories, live, of a
 * snapshot, and /.snapshots itself.
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
#include "store_ns.h"
#include "store_record.h"

/* ---- listing -------------------------------------------------------- */

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

	ns_snapdir_attr(st, &a);
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
			rc = ns_attr_at(st, ino, seq, &a);
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

	if (ns_hidden(st, ino))
		return -ENOENT;
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
				ns_snapdir_attr(st, &a);
		} else if ((rc = ns_attr_at(st, hi | parent, c.seq, &a)) != 0) {
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
		if (plus && (rc = ns_attr_at(st, hi | d.ino, c.seq, &a)) != 0)
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
