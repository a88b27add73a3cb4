/*
 * store_erase.c -- erase a path from the live tree and from every
 * snapshot (store_erase(), store.h): the deletion, in units of one
 * inode, and the call.  The design is in store_erase.h.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bm_bytes.h"
#include "bm_log.h"
#include "store_commit.h"
#include "store_erase.h"
#include "store_journal.h"
#include "store_ns.h"
#include "store_record.h"
#include "store_snap.h"

/* Changes per commit while erasing. */
#define ERASE_BATCH 10000

/* ---- the units of deletion -------------------------------------------- */

/* Delete every version of @ino in versioned table @t. */
static int
del_versions(struct erase *x, enum ix_table t, uint64_t ino)
{
	store *st = x->st;
	uint8_t (*keys)[16] = NULL, start[16];
	size_t n = 0, cap = 0, i;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc = 0, mrc, op;

	if (mdb_cursor_open(st->txn, st->dbi[t], &cur) != 0)
		return -EIO;
	memset(start, 0, sizeof(start));
	bm_be64enc(start, ino);
	k.mv_data = start;
	k.mv_size = sizeof(start);
	for (op = MDB_SET_RANGE; (mrc = mdb_cursor_get(cur, &k, &v, op)) == 0;
	    op = MDB_NEXT) {
		if (k.mv_size != 16 || bm_be64dec(k.mv_data) != ino)
			break;
		if (n == cap) {
			uint8_t (*nk)[16];

			cap = cap ? 2 * cap : 16;
			if ((nk = realloc(keys, cap * 16)) == NULL) {
				rc = -ENOMEM;
				break;
			}
			keys = nk;
		}
		memcpy(keys[n++], k.mv_data, 16);
	}
	if (rc == 0 && mrc != 0 && mrc != MDB_NOTFOUND)
		rc = -EIO;
	mdb_cursor_close(cur);
	for (i = 0; rc == 0 && i < n; i++, x->ops++)
		rc = ix_del(st, t, keys[i], 16);
	free(keys);
	return rc;
}

/* Rewrite group @g as its rows' marks say: erased versions go, or become
 * tombstones where an older version naming another inode remains below
 * them; tombstones with nothing left to hide go; every version in a
 * directory of E goes. */
static int
group_apply(struct erase *x, struct dgroup *g)
{
	struct drow *rows = x->rows + g->first;
	int below = 0, all = iset_has(&x->e, g->parent), rc;
	size_t i;

	for (i = g->n; i-- > 0;) { /* oldest first */
		struct drow *r = &rows[i];
		uint8_t want;

		if (r->state == R_GONE)
			continue;
		if (all)
			want = R_GONE;
		else if (r->state == R_VALUE && !r->erased)
			want = R_VALUE;
		else
			want = below ? R_TOMB : R_GONE;
		below = want == R_VALUE;
		if (want == r->state)
			continue;
		if (want == R_GONE)
			rc = ix_del(x->st, IX_DIRENT, r->key, DKEY_LEN);
		else
			rc = ix_put_sealed(x->st, IX_DIRENT, r->key, DKEY_LEN,
			    "", 0);
		if (rc != 0)
			return rc;
		x->ops++;
		r->state = want;
	}
	return 0;
}

/* Directory @ino of E was named in group @g of a directory not in E:
 * every version of that directory's inode that saw it loses a link. */
static int
unlink_dir(struct erase *x, struct dgroup *g, uint64_t ino)
{
	store *st = x->st;
	struct drow *rows = x->rows + g->first;
	uint64_t (*vers) = NULL;
	size_t n = 0, cap = 0, i;
	uint8_t start[16], k16[16];
	MDB_cursor *cur;
	MDB_val k, v;
	int rc = 0, mrc, op;

	if (mdb_cursor_open(st->txn, st->dbi[IX_INODE], &cur) != 0)
		return -EIO;
	memset(start, 0, sizeof(start));
	bm_be64enc(start, g->parent);
	k.mv_data = start;
	k.mv_size = sizeof(start);
	for (op = MDB_SET_RANGE; (mrc = mdb_cursor_get(cur, &k, &v, op)) == 0;
	    op = MDB_NEXT) {
		uint64_t seq;
		struct drow *r;

		if (k.mv_size != 16 || bm_be64dec(k.mv_data) != g->parent)
			break;
		seq = ~bm_be64dec((uint8_t *)k.mv_data + 8);
		r = erase_visible(rows, g->n, seq);
		if (r == NULL || r->state != R_VALUE || r->ino != ino)
			continue;
		if (n == cap) {
			uint64_t *nv;

			cap = cap ? 2 * cap : 8;
			if ((nv = realloc(vers, cap * sizeof(*nv))) == NULL) {
				rc = -ENOMEM;
				break;
			}
			vers = nv;
		}
		vers[n++] = seq;
	}
	if (rc == 0 && mrc != 0 && mrc != MDB_NOTFOUND)
		rc = -EIO;
	mdb_cursor_close(cur);
	for (i = 0; rc == 0 && i < n; i++) {
		struct inode in;
		uint8_t *plain, *enc;
		size_t len;

		bm_be64enc(k16, g->parent);
		bm_be64enc(k16 + 8, ~vers[i]);
		k.mv_data = k16;
		k.mv_size = 16;
		if ((rc = ix_get(st, IX_INODE, k16, 16, &v)) != 0 ||
		    (rc = ix_open_sealed(st, IX_INODE, &k, &v, &plain,
		    &len)) != 0)
			break;
		if (len == 0) { /* a tombstone */
			free(plain);
			continue;
		}
		rc = inode_decode(&in, g->parent, plain, len);
		free(plain);
		if (rc != 0) {
			bm_log(LOG_ERR, "inode %" PRIu64 ": malformed record",
			    g->parent);
			rc = -EIO;
			break;
		}
		if (in.nlink > 2)
			in.nlink--;
		if ((rc = inode_encode(&in, &enc, &len)) == 0) {
			rc = ix_put_sealed(st, IX_INODE, k16, 16, enc, len);
			free(enc);
			x->ops++;
		}
		inode_free(&in);
	}
	free(vers);
	return rc;
}

/* The first snapshot view at or above sequence @seq. */
static size_t
first_view(const struct erase *x, uint64_t seq)
{
	size_t lo = 1, hi = x->nviews;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (x->views[mid].seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* What inode @ino counted in each snapshot's record: a regular file
 * with links, and its size.  Taken off at the next commit. */
static int
count_snaps(struct erase *x, uint64_t ino)
{
	store *st = x->st;
	uint64_t next = UINT64_MAX;
	uint8_t start[16];
	MDB_cursor *cur;
	MDB_val k, v;
	int rc = 0, mrc, op;

	if (x->nviews < 2)
		return 0;
	if (mdb_cursor_open(st->txn, st->dbi[IX_INODE], &cur) != 0)
		return -EIO;
	memset(start, 0, sizeof(start));
	bm_be64enc(start, ino);
	k.mv_data = start;
	k.mv_size = sizeof(start);
	for (op = MDB_SET_RANGE; (mrc = mdb_cursor_get(cur, &k, &v, op)) == 0;
	    op = MDB_NEXT) {
		struct inode in;
		uint64_t seq;
		uint8_t *plain;
		size_t len, i;

		if (k.mv_size != 16 || bm_be64dec(k.mv_data) != ino)
			break;
		seq = ~bm_be64dec((uint8_t *)k.mv_data + 8);
		if ((rc = ix_open_sealed(st, IX_INODE, &k, &v, &plain,
		    &len)) != 0)
			break;
		rc = len == 0 ? -ENOENT : inode_decode(&in, ino, plain, len);
		free(plain);
		if (rc == 0) {
			/* Versions newest first: this one is what the
			 * snapshots at or above it, below @next, see; the
			 * snapshots are in order of sequence. */
			for (i = first_view(x, seq); S_ISREG(in.mode) &&
			    in.nlink > 0 && i < x->nviews &&
			    x->views[i].seq < next; i++) {
				x->sfiles[i]++;
				x->sbytes[i] += in.size;
			}
			inode_free(&in);
		} else if (rc != -ENOENT) {
			bm_log(LOG_ERR, "inode %" PRIu64 ": malformed record",
			    ino);
			rc = -EIO;
			break;
		}
		rc = 0;
		next = seq;
	}
	if (rc == 0 && mrc != 0 && mrc != MDB_NOTFOUND)
		rc = -EIO;
	mdb_cursor_close(cur);
	return rc;
}

/* Take what count_snaps() found off the snapshot records. */
static int
flush_snaps(struct erase *x)
{
	struct store_snapinfo si;
	uint8_t k[4], v[SNAP_REC_MAX];
	size_t i;
	int rc;

	for (i = 1; i < x->nviews; i++) {
		if (x->sfiles[i] == 0 && x->sbytes[i] == 0)
			continue;
		if ((rc = snap_get(x->st, x->views[i].id, &si)) != 0)
			return rc;
		si.files -= si.files < x->sfiles[i] ? si.files : x->sfiles[i];
		si.bytes -= si.bytes < x->sbytes[i] ? si.bytes : x->sbytes[i];
		bm_be32enc(k, x->views[i].id);
		if ((rc = ix_put_sealed(x->st, IX_SNAP, k, 4, v,
		    snap_encode(v, &si))) != 0)
			return rc;
		x->sfiles[i] = x->sbytes[i] = 0;
	}
	return 0;
}

/* Erase inode @ino (of DT_ @type) of E: its counts, its rows, its
 * names, the names in it. */
static int
unit(struct erase *x, uint64_t ino, uint8_t type)
{
	store *st = x->st;
	struct inode in;
	uint8_t k[8];
	size_t first, g, i;
	int rc;

	rc = inode_get(st, ino, SEQ_LIVE, &in);
	if (rc == 0) {
		if (S_ISREG(in.mode) && in.nlink > 0) {
			rc = ix_meta_add(st, "files", -1);
			if (rc == 0)
				rc = ix_meta_add(st, "bytes",
				    -(int64_t)in.size);
		} else if (S_ISDIR(in.mode)) {
			rc = ix_meta_add(st, "dirs", -1);
		}
		type = ns_dtype(in.mode);
		inode_free(&in);
	}
	if (rc != 0 && rc != -ENOENT)
		return rc;
	first = erase_refs(x, ino);
	for (g = first; type == DT_DIR && g < x->nrefs &&
	    x->refs[g].ino == ino; g++) {
		struct dgroup *gr = &x->groups[x->refs[g].group];

		if (!iset_has(&x->e, gr->parent) &&
		    (rc = unlink_dir(x, gr, ino)) != 0)
			return rc;
	}
	if ((rc = count_snaps(x, ino)) != 0 ||
	    (rc = del_versions(x, IX_INODE, ino)) != 0 ||
	    (rc = del_versions(x, IX_CONTENT, ino)) != 0)
		return rc;
	bm_be64enc(k, ino);
	rc = ix_del(st, IX_ORPHAN, k, 8);
	if (rc != 0 && rc != -ENOENT)
		return rc;
	for (g = first; g < x->nrefs && x->refs[g].ino == ino; g++) {
		struct dgroup *gr = &x->groups[x->refs[g].group];

		for (i = 0; i < gr->n; i++) {
			struct drow *r = &x->rows[gr->first + i];

			if (r->state == R_VALUE && r->ino == ino)
				r->erased = 1;
		}
		if ((rc = group_apply(x, gr)) != 0)
			return rc;
	}
	return 0;
}

/* ---- the call ------------------------------------------------------- */

static int
journal_erase(struct erase *x)
{
	struct store_journal_entry e = {0, "erase", NULL, NULL, NULL, 0};
	char summary[512], *p = summary, *end = summary + sizeof(summary);
	size_t v, shown = 0, touched = 0, i;
	int live = 0;

	for (v = 0, i = 0; v < x->nviews; v++) {
		int hit = 0;

		for (; i < x->npaths && x->paths[i].view == v; i++)
			hit = 1;
		if (!hit)
			continue;
		if (v == 0)
			live = 1;
		else
			touched++;
	}
	p += snprintf(p, (size_t)(end - p), "erased a path (%zu files and "
	    "directories, %" PRIu64 " names) from %s%zu snapshots",
	    x->e.n, x->removed, live ? "the live tree and " : "", touched);
	for (v = 1, i = 0; v < x->nviews && p < end - 40; v++) {
		for (; i < x->npaths && x->paths[i].view < v; i++)
			;
		if (i < x->npaths && x->paths[i].view == v) {
			p += snprintf(p, (size_t)(end - p), "%s%u",
			    shown++ ? ", " : ": ", x->views[v].id);
		}
	}
	if (shown < touched && p < end - 20)
		snprintf(p, (size_t)(end - p), " and %zu more",
		    touched - shown);
	e.who = x->st->who;
	e.summary = summary;
	return journal_add_locked(x->st, &e);
}

/* Commit when a batch is full, with the snapshot records' counts of
 * the units in it (ix_lock held; released meanwhile). */
static int
batch(struct erase *x, int force)
{
	int rc;

	if (!force && x->ops < ERASE_BATCH)
		return 0;
	if ((rc = flush_snaps(x)) != 0)
		return rc;
	x->ops = 0;
	return commit_wait_locked(x->st);
}

static int
do_erase(struct erase *x)
{
	const char **paths;
	size_t i;
	int rc;

	/* File operations of a session not journaled yet may name the
	 * path: into the journal first, to be rewritten with the rest. */
	if ((rc = journal_flush(x->st)) != 0)
		return rc;
	/* The next prune repacks every pack with garbage in it: the
	 * erased bytes must not stay in packs under its threshold. */
	if ((rc = ix_meta_put(x->st, "prune_full", 1)) != 0)
		return rc;
	if ((paths = calloc(x->npaths + 1, sizeof(*paths))) == NULL)
		return -ENOMEM;
	for (i = 0; i < x->npaths; i++)
		paths[i] = x->paths[i].path;
	rc = journal_redact(x->st, paths, x->npaths, &x->ops);
	free(paths);
	if (rc != 0 || (rc = batch(x, 1)) != 0)
		return rc;
	/* Children before their directories, so that an interrupted
	 * erasure leaves the path naming what is left. */
	for (i = x->e.n; i-- > 0;) {
		if ((rc = unit(x, x->e.list[i], x->e.type[i])) != 0 ||
		    (rc = batch(x, 0)) != 0)
			return rc;
	}
	if ((rc = journal_erase(x)) != 0)
		return rc;
	return batch(x, 1);
}

int
store_erase(store *st, const char *path, int dry_run, store_erase_fn fn,
    void *ctx)
{
	struct erase x;
	char *buf = NULL, **comps = NULL;
	size_t ncomps, i;
	int rc, busy;

	if ((rc = erase_split(path, &buf, &comps, &ncomps)) != 0)
		return rc;
	memset(&x, 0, sizeof(x));
	x.st = st;
	if (st->opts.live_only) {
		rc = -EPERM;
		goto out;
	}
	if (!dry_run && st->opts.rdonly) {
		rc = -EROFS;
		goto out;
	}
	if ((rc = erase_views(&x)) != 0)
		goto out;
	ix_lock(st);
	pthread_mutex_lock(&st->of_lock);
	busy = st->of_count != 0 || st->handles != NULL;
	pthread_mutex_unlock(&st->of_lock);
	if (busy && !dry_run)
		rc = -EBUSY;
	else if ((rc = erase_collect(&x, comps, ncomps)) == 0 && !dry_run)
		rc = do_erase(&x);
	ix_unlock(st);
	if (rc != 0) {
		if (!dry_run && rc != -ENOENT && rc != -EBUSY)
			bm_log(LOG_ERR, "%s: erasing a path failed: %s",
			    st->dir, beemo_strerror(rc));
		goto out;
	}
	for (i = 0; fn != NULL && i < x.npaths; i++)
		if (fn(ctx, x.views[x.paths[i].view].id, x.paths[i].path))
			break;
out:
	erase_free(&x);
	free(comps);
	free(buf);
	return rc;
}
