/*
 * store_prune.c -- forgetting snapshots, and the index half of a prune:
 * the versions no view sees, the contents no kept inode names, the mark
 * of live chunks and the chunk rows nothing names (store_prune.h says
 * how the steps fit; store_repack.c does the packs).
 *
 * Crash safety of this half: every deletion is an ordinary logged index
 * change, and the transactions commit only at key prefix boundaries
 * (one inode number with its contents, one directory entry), so after a
 * crash each prefix holds either all its versions or exactly the kept
 * ones, and each of those states reads the same in every view.  Chunk
 * rows are deleted only after every content that could name them is
 * gone or kept, and only those no kept content names.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bm_bytes.h"
#include "bm_err.h"
#include "bm_log.h"
#include "bm_time.h"
#include "bm_units.h"
#include "store_ckpt.h"
#include "store_commit.h"
#include "store_internal.h"
#include "store_journal.h"
#include "store_ns.h"
#include "store_prune.h"
#include "store_record.h"

/* Deletions per transaction: a batch commits at the first prefix
 * boundary past this many. */
#define GC_BATCH 8192
/* Chunk rows examined per transaction. */
#define CHUNK_BATCH 4096
/* The longest key prefix of a versioned table (a directory entry). */
#define PREFIX_MAX (8 + NAMEHASH_LEN)

/* ---- the visibility rule ------------------------------------------------- */

void
prune_keep(struct prune_version *v, size_t n, const uint64_t *snaps,
    size_t nsnaps)
{
	size_t i, lo, hi;
	int older_kept = 0;

	for (i = 0; i < n; i++) {
		if (i == 0) {
			v[i].keep = 1; /* the live tree's */
			continue;
		}
		/* Seen by a snapshot S with v[i].seq <= S < v[i-1].seq:
		 * the first snapshot at or above v[i].seq decides. */
		lo = 0;
		hi = nsnaps;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (snaps[mid] < v[i].seq)
				lo = mid + 1;
			else
				hi = mid;
		}
		v[i].keep = lo < nsnaps && snaps[lo] < v[i - 1].seq;
	}
	/* Oldest first: a tombstone stays only above a kept version that
	 * is not one. */
	for (i = n; i-- > 0;) {
		if (!v[i].keep)
			continue;
		if (v[i].tomb)
			v[i].keep = (uint8_t)older_kept;
		else
			older_kept = 1;
	}
}

/* ---- one key prefix of a versioned table --------------------------------- */

/* The versions of one prefix, as read (valid until the next change). */
struct group {
	uint8_t prefix[PREFIX_MAX];
	size_t plen;
	struct prune_version *v;
	MDB_val *key, *val;
	size_t n, cap;
};

struct gc {
	store *st;
	int dry_run;
	uint64_t *snaps; /* frozen seqs of the snapshots, ascending */
	size_t nsnaps;
	struct prune_mark mark;
	size_t pending;  /* deletions in the open transaction */
	struct store_prune_stats *out;
};

static void
group_free(struct group *g)
{
	free(g->v);
	free(g->key);
	free(g->val);
}

/*
 * Read the versions of the first prefix of @t (prefix length @plen) at
 * or after @from (@flen bytes; 0: the start) into @g; g->n is 0 when
 * there is none.  With @exact, only the prefix @from itself.  ix_lock
 * held.
 */
static int
group_load(store *st, enum ix_table t, size_t plen, const uint8_t *from,
    size_t flen, int exact, struct group *g)
{
	MDB_cursor *cur;
	MDB_val k = {flen, (void *)from}, v;
	int mrc, rc = 0;

	g->n = 0;
	g->plen = plen;
	if (st->txn == NULL || mdb_cursor_open(st->txn, st->dbi[t], &cur))
		return -EIO;
	mrc = mdb_cursor_get(cur, &k, &v, flen ? MDB_SET_RANGE : MDB_FIRST);
	for (; mrc == 0; mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != plen + 8) {
			bm_log(LOG_ERR, "index: malformed key in table %d", t);
			rc = -EIO;
			break;
		}
		if (g->n == 0) {
			if (exact && memcmp(k.mv_data, from, plen) != 0)
				break;
			memcpy(g->prefix, k.mv_data, plen);
		} else if (memcmp(k.mv_data, g->prefix, plen) != 0) {
			break;
		}
		if (g->n == g->cap) {
			size_t cap = g->cap ? g->cap * 2 : 16;
			void *a = realloc(g->v, cap * sizeof(*g->v));
			void *b = a ? realloc(g->key, cap * sizeof(MDB_val)) :
			    NULL;
			void *c = b ? realloc(g->val, cap * sizeof(MDB_val)) :
			    NULL;

			if (a != NULL)
				g->v = a;
			if (b != NULL)
				g->key = b;
			if (c == NULL) {
				rc = -ENOMEM;
				break;
			}
			g->val = c;
			g->cap = cap;
		}
		g->key[g->n] = k;
		g->val[g->n] = v;
		g->v[g->n].seq = ~bm_be64dec((uint8_t *)k.mv_data + plen);
		/* A tombstone is a sealed empty value. */
		g->v[g->n].tomb = v.mv_size == SEAL_OVERHEAD;
		g->v[g->n].keep = 1;
		g->n++;
	}
	if (rc == 0 && mrc != 0 && mrc != MDB_NOTFOUND)
		rc = -EIO;
	mdb_cursor_close(cur);
	return rc;
}

/* The prefix after @p (@plen bytes, big-endian); 0 if @p was the last. */
static int
prefix_next(uint8_t *p, size_t plen)
{
	while (plen-- > 0)
		if (++p[plen] != 0)
			return 1;
	return 0;
}

/*
 * Delete the versions of @g not kept, in table @t (ix_lock held; the
 * group's values are invalid afterwards).  Keys are copied first: a
 * deletion may move the pages they point into.
 */
static int
group_drop(struct gc *gc, enum ix_table t, struct group *g)
{
	uint8_t k[PREFIX_MAX + 8];
	size_t i, n = 0;
	int rc;

	for (i = 0; i < g->n; i++)
		n += !g->v[i].keep;
	gc->out->versions_dropped += n;
	if (gc->dry_run || n == 0)
		return 0;
	/* Keys of not kept versions: prefix | ~seq. */
	memcpy(k, g->prefix, g->plen);
	for (i = 0; i < g->n; i++) {
		if (g->v[i].keep)
			continue;
		bm_be64enc(k + g->plen, ~g->v[i].seq);
		if ((rc = ix_del(gc->st, t, k, g->plen + 8)) != 0)
			return rc;
	}
	gc->pending += n;
	return 0;
}

/* Commit the open transaction if it holds a batch (ix_lock held). */
static int
gc_commit(struct gc *gc, int force)
{
	int rc;

	if (gc->dry_run || gc->pending == 0 ||
	    (!force && gc->pending < GC_BATCH))
		return 0;
	rc = commit_wait_locked(gc->st);
	gc->pending = 0;
	return rc;
}

/* ---- directory entries --------------------------------------------------- */

static int
gc_dirents(struct gc *gc)
{
	const size_t plen = 8 + NAMEHASH_LEN;
	store *st = gc->st;
	struct group g;
	uint8_t from[PREFIX_MAX];
	size_t flen = 0;
	int rc = 0;

	memset(&g, 0, sizeof(g));
	for (;;) {
		ix_lock(st);
		rc = group_load(st, IX_DIRENT, plen, from, flen, 0, &g);
		if (rc == 0 && g.n > 0) {
			prune_keep(g.v, g.n, gc->snaps, gc->nsnaps);
			rc = group_drop(gc, IX_DIRENT, &g);
		}
		if (rc == 0)
			rc = gc_commit(gc, 0);
		ix_unlock(st);
		if (rc != 0 || g.n == 0)
			break;
		memcpy(from, g.prefix, plen);
		flen = plen;
		if (!prefix_next(from, plen))
			break;
	}
	group_free(&g);
	return rc;
}

/* ---- inodes and their contents ------------------------------------------- */

/*
 * Read the content seq of every version of inode @ino's group @g into
 * @seqs (room for g->n; 0 for a tombstone or no content).  A version
 * with no link left that is not the newest counts as a tombstone: no
 * name in the view that sees it leads to it (an unlinked file's last
 * record), so neither it nor its content is needed.  (The newest may
 * be a file unlinked while open, which the live tree still reads.)
 * ix_lock held.
 */
static int
inode_versions(store *st, uint64_t ino, struct group *g, uint64_t *seqs)
{
	struct inode in;
	uint8_t *plain;
	size_t i, len;
	int rc;

	for (i = 0; i < g->n; i++) {
		seqs[i] = 0;
		if (g->v[i].tomb)
			continue;
		rc = ix_open_sealed(st, IX_INODE, &g->key[i], &g->val[i],
		    &plain, &len);
		if (rc != 0)
			return rc;
		rc = inode_decode(&in, ino, plain, len);
		free(plain);
		if (rc != 0) {
			bm_log(LOG_ERR, "inode %" PRIu64 ": malformed record "
			    "(version %" PRIu64 ")", ino, g->v[i].seq);
			return -EIO;
		}
		seqs[i] = in.content_seq;
		if (in.nlink == 0 && i > 0)
			g->v[i].tomb = 1;
		inode_free(&in);
	}
	return 0;
}

/* Of @seqs (@n, per version of @g), those of the kept versions that are
 * not tombstones, moved to the front; returns their count. */
static size_t
kept_seqs(const struct group *g, uint64_t *seqs, size_t n)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		if (g->v[i].keep && !g->v[i].tomb && seqs[i] != 0)
			seqs[k++] = seqs[i];
	return k;
}

/* Keep the contents of @ino named in @seqs; mark their chunks (ix_lock
 * held). */
static int
gc_contents(struct gc *gc, uint64_t ino, struct group *c,
    const uint64_t *seqs, size_t nseqs)
{
	store *st = gc->st;
	size_t i, j;
	int rc;

	for (i = 0; i < c->n; i++) {
		struct content *ct;
		uint8_t *plain;
		size_t len;
		uint32_t e;

		for (j = 0; j < nseqs && seqs[j] != c->v[i].seq; j++)
			;
		c->v[i].keep = j < nseqs && !c->v[i].tomb;
		if (!c->v[i].keep)
			continue;
		rc = ix_open_sealed(st, IX_CONTENT, &c->key[i], &c->val[i],
		    &plain, &len);
		if (rc != 0)
			return rc;
		rc = content_decode(plain, len, &ct);
		free(plain);
		if (rc != 0) {
			bm_log(LOG_ERR, "inode %" PRIu64 ": content record %"
			    PRIu64 " malformed", ino, c->v[i].seq);
			return rc == -ENOMEM ? rc : -EIO;
		}
		for (e = 0, rc = 0; e < ct->n && rc == 0; e++)
			if (!ct->c[e].hole)
				rc = mark_add(&gc->mark, ct->c[e].id);
		content_unref(ct);
		if (rc != 0)
			return rc;
	}
	return group_drop(gc, IX_CONTENT, c);
}

/* The first inode number at or after @from with a record in @t (ix_lock
 * held); *@found 0 if none. */
static int
first_ino(store *st, enum ix_table t, uint64_t from, uint64_t *ino,
    int *found)
{
	uint8_t k[8];
	MDB_cursor *cur;
	MDB_val key = {8, k}, v;
	int mrc;

	bm_be64enc(k, from);
	*found = 0;
	if (st->txn == NULL || mdb_cursor_open(st->txn, st->dbi[t], &cur))
		return -EIO;
	mrc = mdb_cursor_get(cur, &key, &v, MDB_SET_RANGE);
	if (mrc == 0 && key.mv_size >= 8) {
		*ino = bm_be64dec(key.mv_data);
		*found = 1;
	}
	mdb_cursor_close(cur);
	return mrc == 0 || mrc == MDB_NOTFOUND ? 0 : -EIO;
}

static int
gc_inodes(struct gc *gc)
{
	store *st = gc->st;
	struct group g, c;
	uint64_t from = 0, ino = 0, ci = 0, *seqs = NULL;
	uint8_t k[8];
	int rc, fi, fc;

	memset(&g, 0, sizeof(g));
	memset(&c, 0, sizeof(c));
	for (;;) {
		size_t nseqs = 0;

		ix_lock(st);
		rc = first_ino(st, IX_INODE, from, &ino, &fi);
		if (rc == 0)
			rc = first_ino(st, IX_CONTENT, from, &ci, &fc);
		if (rc != 0 || (!fi && !fc)) {
			ix_unlock(st);
			break;
		}
		if (!fi || (fc && ci < ino))
			ino = ci;
		bm_be64enc(k, ino);
		rc = group_load(st, IX_INODE, 8, k, 8, 1, &g);
		if (rc == 0 && g.n > 0) {
			void *n = realloc(seqs, g.n * sizeof(*seqs));

			if (n == NULL)
				rc = -ENOMEM;
			else
				seqs = n;
		}
		if (rc == 0)
			rc = inode_versions(st, ino, &g, seqs);
		if (rc == 0) {
			prune_keep(g.v, g.n, gc->snaps, gc->nsnaps);
			nseqs = kept_seqs(&g, seqs, g.n);
		}
		if (rc == 0)
			rc = group_drop(gc, IX_INODE, &g);
		if (rc == 0)
			rc = group_load(st, IX_CONTENT, 8, k, 8, 1, &c);
		if (rc == 0)
			rc = gc_contents(gc, ino, &c, seqs, nseqs);
		if (rc == 0)
			rc = gc_commit(gc, 0);
		ix_unlock(st);
		if (rc != 0 || ino == UINT64_MAX)
			break;
		from = ino + 1;
	}
	free(seqs);
	group_free(&g);
	group_free(&c);
	return rc;
}

/* ---- chunk rows ---------------------------------------------------------- */

/* Delete the chunk rows the mark does not hold, CHUNK_BATCH rows per
 * transaction. */
static int
gc_chunks(struct gc *gc)
{
	store *st = gc->st;
	uint8_t from[OBJ_ID_LEN], (*drop)[OBJ_ID_LEN];
	size_t ndrop, i;
	int started = 0, done = 0, rc = 0;

	if ((drop = malloc(CHUNK_BATCH * OBJ_ID_LEN)) == NULL)
		return -ENOMEM;
	while (!done && rc == 0) {
		MDB_cursor *cur;
		MDB_val k = {OBJ_ID_LEN, from}, v;
		size_t seen = 0;
		int mrc;

		ndrop = 0;
		ix_lock(st);
		if (st->txn == NULL ||
		    mdb_cursor_open(st->txn, st->dbi[IX_CHUNK], &cur)) {
			ix_unlock(st);
			rc = -EIO;
			break;
		}
		mrc = mdb_cursor_get(cur, &k, &v, started ? MDB_SET_RANGE :
		    MDB_FIRST);
		/* Resuming: the row at @from was seen last time. */
		if (started && mrc == 0 && k.mv_size == OBJ_ID_LEN &&
		    memcmp(k.mv_data, from, OBJ_ID_LEN) == 0)
			mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
		for (; mrc == 0 && seen < CHUNK_BATCH;
		    mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT), seen++) {
			if (k.mv_size != OBJ_ID_LEN)
				continue;
			memcpy(from, k.mv_data, OBJ_ID_LEN);
			if (!mark_has(&gc->mark, from))
				memcpy(drop[ndrop++], from, OBJ_ID_LEN);
		}
		started = 1;
		done = mrc != 0;
		mdb_cursor_close(cur);
		if (mrc != 0 && mrc != MDB_NOTFOUND)
			rc = -EIO;
		gc->out->chunks_dropped += ndrop;
		for (i = 0; rc == 0 && !gc->dry_run && i < ndrop; i++)
			rc = ix_del(st, IX_CHUNK, drop[i], OBJ_ID_LEN);
		if (rc == 0 && !gc->dry_run && ndrop > 0)
			rc = commit_wait_locked(st);
		ix_unlock(st);
	}
	free(drop);
	return rc;
}

/* ---- the whole prune ----------------------------------------------------- */

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The frozen seqs of the remaining snapshots, ascending. */
static int
snap_seqs(struct gc *gc)
{
	struct store_snapinfo *si;
	size_t n, i;
	int rc;

	if ((rc = store_snapshots(gc->st, &si, &n)) != 0)
		return rc;
	if ((gc->snaps = malloc((n ? n : 1) * sizeof(uint64_t))) == NULL) {
		free(si);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++)
		gc->snaps[i] = si[i].seq;
	gc->nsnaps = n;
	free(si);
	qsort(gc->snaps, gc->nsnaps, sizeof(uint64_t), cmp_u64);
	return 0;
}

/* Whether a file is open in @st: its chunks may be in the chunk table
 * before any content names them. */
static int
files_open(store *st)
{
	int open;

	pthread_mutex_lock(&st->of_lock);
	open = st->of_count > 0;
	pthread_mutex_unlock(&st->of_lock);
	return open;
}

/* Record the estimate of garbage in packs (unlogged meta counters: a
 * rebuilt index has none until the next estimate).  ix_lock held. */
static int
record_reclaimable(store *st, uint64_t garbage)
{
	int rc = ix_meta_put_nolog(st, "reclaimable", garbage);

	if (rc == 0)
		rc = ix_meta_put_nolog(st, "reclaimable_time", bm_now_ns());
	return rc;
}

/* Journal the figures of a prune (ix_lock held). */
static int
journal_prune(store *st, const struct store_prune_stats *s)
{
	struct store_journal_entry e = {0, "prune", st->who, NULL, NULL, 0};
	char summary[400], a[32], b[32], f[32];

	bm_human(a, sizeof(a), s->stored_before);
	bm_human(b, sizeof(b), s->stored_after);
	bm_human(f, sizeof(f), s->stored_before > s->stored_after ?
	    s->stored_before - s->stored_after : 0);
	snprintf(summary, sizeof(summary), "prune: %s freed (%s -> %s); %"
	    PRIu64 " versions and %" PRIu64 " chunks dropped; packs: %"
	    PRIu64 " deleted, %" PRIu64 " repacked, %" PRIu64 " written",
	    f, a, b, s->versions_dropped, s->chunks_dropped,
	    s->packs_deleted, s->packs_repacked, s->packs_written);
	e.summary = summary;
	return journal_add_locked(st, &e);
}

/* Steps 1 to 4 (store_prune.h); *@garbage: the garbage in packs found
 * before repacking. */
static int
prune_run(store *st, const struct store_prune_opts *o,
    struct store_prune_stats *out, uint64_t *garbage)
{
	struct gc gc;
	uint64_t ckpt = 0, full = 0;
	int rc;

	memset(&gc, 0, sizeof(gc));
	gc.st = st;
	gc.dry_run = o->dry_run;
	gc.out = out;
	out->stored_before = __atomic_load_n(&st->packs.stored,
	    __ATOMIC_RELAXED);
	if ((rc = snap_seqs(&gc)) != 0)
		goto out;
	if ((rc = gc_dirents(&gc)) != 0 || (rc = gc_inodes(&gc)) != 0)
		goto out;
	ix_lock(st);
	rc = gc_commit(&gc, 1);
	ix_unlock(st);
	if (rc != 0 || (rc = mark_finish(&gc.mark)) != 0 ||
	    (rc = gc_chunks(&gc)) != 0)
		goto out;
	if (!o->dry_run && (rc = ckpt_write(st, NULL)) != 0 && rc != -ENOSYS)
		goto out;
	if ((rc = ckpt_lsn(st, &ckpt)) != 0)
		goto out;
	ix_lock(st);
	if (ix_meta_get(st, "prune_full", &full) != 0)
		full = 0;
	ix_unlock(st);
	if (__atomic_load_n(&st->interrupted, __ATOMIC_RELAXED)) {
		rc = -EINTR;
		goto out;
	}
	rc = repack_run(st, &gc.mark, ckpt, full != 0, o, out, garbage);
out:
	out->stored_after = __atomic_load_n(&st->packs.stored,
	    __ATOMIC_RELAXED);
	mark_free(&gc.mark);
	free(gc.snaps);
	return rc;
}

int
store_prune(store *st, const struct store_prune_opts *o,
    struct store_prune_stats *out)
{
	struct store_prune_opts d = {0, 0, NULL, NULL};
	uint64_t garbage = 0, full = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if (st->opts.rdonly)
		return -EROFS;
	if (o == NULL)
		o = &d;
	if (o->repack_pct > 100)
		return -EINVAL;
	if (files_open(st))
		return -EBUSY;
	rc = prune_run(st, o, out, &garbage);
	if (rc != 0 || o->dry_run) {
		if (rc != 0)
			bm_log(LOG_ERR, "%s: prune: %s", st->dir,
			    beemo_strerror(rc));
		return rc;
	}
	ix_lock(st);
	/* The repacking store_erase() asked for is done. */
	if (ix_meta_get(st, "prune_full", &full) == 0 && full != 0)
		rc = ix_meta_put(st, "prune_full", 0);
	if (rc == 0)
		rc = record_reclaimable(st, out->reclaimable_after);
	if (rc == 0)
		rc = journal_prune(st, out);
	if (rc == 0)
		rc = commit_wait_locked(st);
	ix_unlock(st);
	return rc;
}

/* ---- forgetting snapshots ------------------------------------------------ */

int
store_forget(store *st, const uint32_t *ids, size_t n)
{
	struct store_journal_entry e = {0, "forget", NULL, NULL, NULL, 0};
	struct store_prune_opts dry = {0, 1, NULL, NULL};
	struct store_prune_stats s;
	struct store_snapinfo si;
	char summary[200], **lines = NULL;
	uint64_t garbage = 0, next = 0, old;
	size_t i;
	int rc = 0;

	if (st->opts.rdonly)
		return -EROFS;
	if ((lines = calloc(n ? n : 1, sizeof(*lines))) == NULL)
		return -ENOMEM;
	ix_lock(st);
	/* Every id first: nothing is forgotten if one is missing. */
	for (i = 0; i < n && rc == 0; i++) {
		char t[32];

		if ((rc = snap_get(st, ids[i], &si)) == BEEMO_ENOSNAP)
			rc = -ENOENT;
		if (rc != 0)
			break;
		bm_time_str(t, sizeof(t), si.time);
		if (asprintf(&lines[i], "snapshot %u of %s%s%s", ids[i], t,
		    si.note[0] ? ": " : "", si.note) < 0) {
			lines[i] = NULL;
			rc = -ENOMEM;
		}
	}
	for (i = 0; i < n && rc == 0; i++) {
		uint8_t k[4];

		bm_be32enc(k, ids[i]);
		rc = ix_del(st, IX_SNAP, k, sizeof(k));
		if (rc == -ENOENT)
			rc = 0; /* named twice */
		if (ids[i] >= next)
			next = (uint64_t)ids[i] + 1;
	}
	/* Never given again: a journal line or an off-site manifest that
	 * names the id names this snapshot only. */
	if (rc == 0 && ix_meta_get(st, "snap_next", &old) == 0 && old > next)
		next = old;
	if (rc == 0)
		rc = ix_meta_put(st, "snap_next", next);
	if (rc == 0) {
		snprintf(summary, sizeof(summary), "forgot %zu snapshot%s", n,
		    n == 1 ? "" : "s");
		e.who = st->who;
		e.summary = summary;
		e.files = (const char *const *)lines;
		e.nfiles = n;
		rc = journal_add_locked(st, &e);
	}
	if (rc == 0)
		rc = commit_wait_locked(st);
	ix_unlock(st);
	if (rc == 0) {
		/* Views of the forgotten ids must not linger. */
		pthread_mutex_lock(&st->of_lock);
		for (i = 0; st->snapseq != NULL && i < n; i++)
			if (ids[i] <= STORE_MAX_SNAP)
				st->snapseq[ids[i]] = 0;
		pthread_mutex_unlock(&st->of_lock);
	}
	for (i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
	if (rc != 0 || files_open(st))
		return rc;
	/* The estimate: a dry run of the prune, not repeated while files
	 * are open (their chunks would count as garbage). */
	memset(&s, 0, sizeof(s));
	if (prune_run(st, &dry, &s, &garbage) == 0) {
		ix_lock(st);
		if (record_reclaimable(st, garbage) == 0)
			commit_wait_locked(st);
		ix_unlock(st);
	}
	return 0;
}
