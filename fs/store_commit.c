/*
 * store_commit.c -- the commit path: the committer thread, and the only
 * code that joins the pack files and the index.
 *
 * A commit (do_commit()):
 *   1. fdatasync the open pack without the index lock (the bulk);
 *   2. under ix_lock, run the pre-commit hook (the journal's batch of
 *      file operations becomes an index change), then seal the changes
 *      logged since the last commit into a log object (the index) and
 *      append it to the pack (the packs); when ckpt_write() asked for
 *      it, the log object even without changes, then the parts of a
 *      checkpoint of the whole index (store_ckpt.h);
 *   3. fdatasync the packs again and record their states in the index
 *      (pack_commit_prepare(), whose callbacks write IX_PACK here): every
 *      object the transaction references is on disk;
 *   4. commit the LMDB transaction (synchronous);
 *   5. rename packs closed by this commit to ID.pack; begin anew.
 * A crash before 4 loses the transaction; the next open cuts the pack
 * back (commit_recover()).  A crash after 4 keeps it.  Either way the
 * store is consistent.
 *
 * LMDB's writer lock belongs to the thread that began the transaction,
 * so only the committer begins and commits; other threads use the shared
 * transaction in between, serialized by ix_lock.  In a read-only store
 * the committer renews the read transaction every commit interval so
 * that a concurrent backup session's commits become visible.
 */
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bm_err.h"
#include "bm_time.h"
#include "bm_log.h"
#include "bm_bytes.h"
#include "store_ckpt.h"
#include "store_commit.h"
#include "store_cqueue.h"
#include "store_internal.h"

/* ---- the pack states in the index ----------------------------------- */

static int
record_pack(void *ctx, uint64_t id, const struct pack_rec *r)
{
	uint8_t k[8], v[PACK_REC_LEN];

	bm_be64enc(k, id);
	pack_rec_encode(v, r);
	return ix_put(ctx, IX_PACK, k, sizeof(k), v, sizeof(v));
}

static int
record_next(void *ctx, uint64_t next_pack)
{
	/* Derived on rebuild, so not logged. */
	return ix_meta_put_nolog(ctx, "next_pack", next_pack);
}

/* ---- one commit ----------------------------------------------------- */

/* Append the log object of the transaction to the pack, one without
 * records too if @always (ix_lock held). */
static int
log_flush(store *st, int always)
{
	uint8_t *obj;
	size_t objlen;
	uint64_t pack, off;
	int rc;

	if ((rc = ix_log_seal(st, always, &obj, &objlen)) != 0 || obj == NULL)
		return rc;
	rc = pack_append(&st->packs, obj, objlen, &pack, &off);
	free(obj);
	if (rc != 0)
		return rc;
	return ix_log_written(st);
}

/* Append one checkpoint part (ckpt_seal()'s emit). */
static int
ckpt_append(void *ctx, const uint8_t *obj, size_t len)
{
	store *st = ctx;
	uint64_t pack, off;

	return pack_append(&st->packs, obj, len, &pack, &off);
}

/*
 * A commit failed with @err and its transaction is gone; a new one is
 * open (ix_lock held).  Keep a record of what was lost: the journal's
 * hook names the file operations (logged, reported) and writes them as
 * an "error" entry, which one last commit makes durable in a new pack:
 * the packs written since the last commit are abandoned, to be cut back
 * at the next open.  Nothing else is ever committed by this handle: the
 * caller keeps ix_err set and the packs refuse every append.
 */
static void
salvage(store *st, int err)
{
	const struct pack_commit_ops ops = {record_pack, record_next, st};
	int rc;

	pack_abandon(&st->packs);
	/* The log sequence continues from the last commit. */
	if (ix_meta_get(st, "lsn", &st->lsn) != 0)
		st->lsn = 0;
	st->ix_err = 0;
	rc = st->lost != NULL ? st->lost(st->precommit_ctx, err) : 0;
	if (rc == 0)
		rc = log_flush(st, 0);
	if (rc == 0)
		rc = pack_commit_prepare(&st->packs, 1, &ops);
	if (rc == 0)
		rc = ix_txn_commit(st);
	pack_commit_done(&st->packs, rc == 0);
	if (rc != 0) {
		bm_log(LOG_ERR, "index: the journal could not record what "
		    "was lost: %s", beemo_strerror(rc));
		ix_txn_abort(st);
	}
	pack_refuse(&st->packs, err);
	st->ix_err = err;
	ix_txn_begin(st);
}

/* Commit st->txn (ix_lock held; released while the pack syncs). */
static int
do_commit_txn(store *st)
{
	const struct pack_commit_ops ops = {record_pack, record_next, st};
	int rc;

	ix_unlock(st);
	rc = pack_presync(&st->packs);
	ix_lock(st);
	st->precommit_pending = 0;
	if (rc != 0)
		goto fail; /* sticky: see store_pack.h */
	if (st->precommit != NULL &&
	    (rc = st->precommit(st->precommit_ctx)) != 0)
		goto fail;
	/* A checkpoint follows a log object of its own commit, with or
	 * without records (store_ckpt.h). */
	if ((rc = log_flush(st, st->ckpt_want)) != 0)
		goto fail;
	if (st->ckpt_want && (rc = ckpt_seal(st, ckpt_append, st)) != 0)
		goto fail;
	rc = pack_commit_prepare(&st->packs, st->want_close, &ops);
	if (rc != 0)
		goto fail;
	st->want_close = 0;
	if ((rc = ix_txn_commit(st)) != 0) {
		pack_commit_done(&st->packs, 0);
		goto fail_sticky;
	}
	st->ckpt_want = 0;
	pack_commit_done(&st->packs, 1);
	if (st->committed != NULL)
		st->committed(st->precommit_ctx);
	return ix_txn_begin(st);
fail:
	bm_log(LOG_ERR, "index: cannot prepare commit: %s", beemo_strerror(rc));
	ix_txn_abort(st);
	pack_commit_done(&st->packs, 0);
fail_sticky:
	/* Changes since the last commit are lost: name them, and refuse
	 * further changes rather than build on a state that is not on
	 * disk.  A checkpoint asked for is not written (ckpt_write()
	 * returns the error). */
	st->ix_err = rc;
	st->ckpt_want = 0;
	if (ix_txn_begin(st) == 0)
		salvage(st, rc);
	return rc;
}

/* do_commit's answer when the round is given up (not an errno). */
#define COMMIT_LATER 1
/* How long a round waits for the files its namespace changes follow. */
#define COMMIT_WAIT_MS 2000

/*
 * Commit st->txn (ix_lock held).  The files closed before this
 * transaction's namespace changes commit first, into it
 * (store_internal.h, txn_need): namespace changes wait meanwhile, up to
 * COMMIT_WAIT_MS.  A scan that takes longer (a huge file, a stuck
 * antivirus service) gives the round up, COMMIT_LATER: namespace
 * changes go on, and no round tries again, nor holds them, until the
 * files it waited for are done.
 */
static int
do_commit(store *st)
{
	int rc;

	if (st->commit_behind != 0) {
		if (!cq_done_upto(st, st->commit_behind))
			return COMMIT_LATER;
		st->commit_behind = 0;
	}
	if (ns_quiesce(st, COMMIT_WAIT_MS) == 0) {
		rc = do_commit_txn(st);
	} else {
		st->commit_behind = st->txn_need;
		rc = COMMIT_LATER;
	}
	ns_release(st);
	return rc;
}

int
ns_quiesce(store *st, unsigned ms)
{
	uint64_t need;
	int rc = 0;

	st->quiescing++;
	/* Namespace changes wait from now on, so @txn_need stays; looping
	 * on it costs nothing and assumes nothing of their locking. */
	while (rc == 0 && !cq_done_upto(st, need = st->txn_need)) {
		ix_unlock(st);
		rc = cq_drain_upto(st, need, ms);
		ix_lock(st);
	}
	return rc;
}

void
ns_release(store *st)
{
	if (--st->quiescing == 0)
		pthread_cond_broadcast(&st->quiet_cv);
}

/* ---- the committer thread ------------------------------------------- */

static void *
committer(void *arg)
{
	store *st = arg;
	struct timespec ts;
	uint64_t last_trim = bm_mono_ns();
	int later = 0;

	ix_lock(st);
	st->ix_err = ix_txn_begin(st);
	st->txn_ready = 1;
	pthread_cond_broadcast(&st->done_cv);
	while (!st->stopping) {
		if (!st->commit_now || later) {
			clock_gettime(CLOCK_MONOTONIC, &ts);
			ts.tv_sec += st->opts.commit_ms / 1000;
			ts.tv_nsec += (long)(st->opts.commit_ms % 1000) *
			    1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&st->commit_cv, &st->ix_lock,
			    &ts);
		}
		if (st->stopping)
			break;
		if (st->opts.rdonly) {
			ix_txn_renew(st);
		} else if ((st->loglen > 16 || st->precommit_pending ||
		    st->commit_now || st->want_close) && st->ix_err == 0) {
			/* On the timer, only a transaction that changes the
			 * namespace is worth a commit: chunks alone are
			 * referenced by nothing yet. */
			/* Given up: commit_now stays for whoever waits
			 * (fsync), the next round after a pause. */
			if ((later = do_commit(st) == COMMIT_LATER))
				continue;
		}
		later = 0;
		st->commit_now = 0;
		st->commits++;
		pthread_cond_broadcast(&st->done_cv);
		/* Chunk buffers of every size come and go; give the pages
		 * of freed ones back now and then, so the daemon's memory
		 * follows what it holds, not what it once held. */
		if (bm_mono_ns() - last_trim > 5000000000ULL) {
			ix_unlock(st);
			malloc_trim(0);
			ix_lock(st);
			last_trim = bm_mono_ns();
		}
	}
	/* Final commit. */
	if (st->txn != NULL && !st->opts.rdonly && st->ix_err == 0)
		do_commit(st);
	ix_txn_abort(st);
	st->commits++;
	pthread_cond_broadcast(&st->done_cv);
	ix_unlock(st);
	return NULL;
}

int
commit_start(store *st)
{
	pthread_condattr_t ca;
	int rc;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&st->commit_cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&st->done_cv, NULL);
	pthread_cond_init(&st->quiet_cv, NULL);
	if ((rc = pthread_create(&st->committer, NULL, committer, st)) != 0)
		return -rc;
	ix_lock(st);
	while (!st->txn_ready)
		pthread_cond_wait(&st->done_cv, &st->ix_lock);
	rc = st->ix_err;
	ix_unlock(st);
	return rc;
}

int
commit_stop(store *st)
{
	int rc;

	ix_lock(st);
	st->stopping = 1;
	pthread_cond_signal(&st->commit_cv);
	ix_unlock(st);
	pthread_join(st->committer, NULL);
	rc = st->ix_err;
	pthread_cond_destroy(&st->commit_cv);
	pthread_cond_destroy(&st->done_cv);
	pthread_cond_destroy(&st->quiet_cv);
	return rc;
}

int
commit_wait_locked(store *st)
{
	uint64_t target;

	if (st->opts.rdonly)
		return 0;
	target = st->commits + 1;
	st->commit_now = 1;
	pthread_cond_signal(&st->commit_cv);
	while (st->commits < target && st->ix_err == 0)
		pthread_cond_wait(&st->done_cv, &st->ix_lock);
	return st->ix_err;
}

int
commit_wait(store *st)
{
	int rc;

	ix_lock(st);
	rc = commit_wait_locked(st);
	ix_unlock(st);
	return rc;
}

/* ---- recovery at open ----------------------------------------------- */

struct open_pack {
	uint64_t id;
	struct pack_rec r;
};

struct recover {
	store *st;
	uint64_t next_pack;
	struct open_pack *open; /* packs recorded open, to record closed */
	size_t nopen;
};

/* Cut pack @k back to its committed length and close it for good: open,
 * or closed but killed before the rename; remove the file of a pack a
 * prune dropped, left by a crash after that commit (ix_scan callback). */
static int
recover_pack(void *ctx, const void *k, size_t klen, const void *v,
    size_t vlen)
{
	struct recover *rv = ctx;
	struct open_pack op, *n;
	int rc;

	if (klen != 8 || pack_rec_decode(&op.r, v, vlen) != 0) {
		bm_log(LOG_ERR, "index: malformed pack record");
		return -EIO;
	}
	op.id = bm_be64dec(k);
	if (op.r.state == PACK_DROPPED)
		return pack_remove(&rv->st->packs, op.id);
	if (op.id >= rv->next_pack) {
		bm_log(LOG_ERR, "index: next pack number %" PRIu64
		    " is not above pack %016" PRIx64 " (damaged index: "
		    "beemoctl rebuild-index)", rv->next_pack, op.id);
		return -EBADMSG;
	}
	if ((rc = pack_cut(&rv->st->packs, op.id, op.r.size)) != 0) {
		bm_log(LOG_ERR, "pack %016" PRIx64 ": recovery: %s", op.id,
		    beemo_strerror(rc));
		return rc;
	}
	if (op.r.state != PACK_OPEN)
		return 0;
	if ((n = realloc(rv->open, (rv->nopen + 1) * sizeof(*n))) == NULL)
		return -ENOMEM;
	rv->open = n;
	n[rv->nopen++] = op;
	return 0;
}

/* Whether the index knows pack @id (pack_sweep callback, ix_lock held). */
static int
pack_known(void *ctx, uint64_t id)
{
	uint8_t k[8];
	MDB_val v;

	bm_be64enc(k, id);
	return ix_get(ctx, IX_PACK, k, 8, &v) == 0;
}

int
commit_recover(store *st)
{
	struct recover rv = {st, 0, NULL, 0};
	size_t i;
	int rc;

	rc = ix_meta_get(st, "next_pack", &rv.next_pack);
	if (rc == -ENOENT) {
		rv.next_pack = 0;
		rc = 0;
	}
	if (rc != 0)
		return rc;
	pack_set_next_id(&st->packs, rv.next_pack);
	rc = ix_scan(st, IX_PACK, recover_pack, &rv);
	for (i = 0; rc == 0 && i < rv.nopen; i++) {
		rv.open[i].r.state = PACK_CLOSED;
		rc = record_pack(st, rv.open[i].id, &rv.open[i].r);
	}
	free(rv.open);
	if (rc != 0)
		return rc;
	return pack_sweep(&st->packs, pack_known, st);
}

/* ---- an index older than the packs ---------------------------------- */

/*
 * How the packs tell an index that is older than they are (put back
 * from a copy, or restored alone), given the index's next log sequence
 * number L and pack records:
 *   - a pack becomes ID.pack only after the commit that recorded it
 *     closed is durable, so a closed pack the index does not know, or
 *     records as still open, was closed by a commit the index lacks;
 *   - a commit writes its log object (numbered L) to the open pack
 *     before the index commits, and nothing after: beyond the length
 *     the index recorded for a pack, a crash leaves at most the log
 *     object L, a failed commit and its salvage (store_commit.c) the
 *     object L - 1.  An authentic log object numbered above L was
 *     committed by a newer index; one below L - 1 beyond a recorded
 *     length means that pack's record is older than the pack.
 * A checkpoint part counts as the log object of the commit that wrote
 * it, the one just before the checkpoint's first part (every
 * checkpoint commit writes one, store_ckpt.h): a crash while a
 * checkpoint is written leaves log object L and parts above it, which
 * name L + 1 as their first.
 * Open packs the index does not know hold log objects L - 1 or L only
 * (a crash before their first commit; a failed commit and its salvage),
 * so a committed pack whose record was deleted is refused too; but one
 * below the next pack number may also be an abandoned pack that earlier
 * versions left behind, with any older number.  One case cannot be told
 * from a crash: an index older by exactly one commit that closed no
 * pack; that commit is then lost as a crash would lose it, and its
 * number is not reused (the pack is cut).  A prune that repacks copies
 * log objects as they are, old numbers and all, into the open pack
 * (store_repack.c); while it runs (meta "repacking" set) a tail may
 * hold any number below L.
 */
struct rollback {
	store *st;
	uint64_t lsn;     /* the index's next log sequence number */
	uint64_t floor;   /* lowest number allowed in this tail */
	const char *name; /* the machine, for the repair */
};

static int
rollback_refuse(const struct rollback *rb, uint64_t pack, const char *why)
{
	bm_log(LOG_ERR, "%s: the index is older than the packs: pack %016"
	    PRIx64 " %s; repair it with `beemoctl rebuild-index %s` (the "
	    "packs are left untouched until then)", rb->st->dir, pack, why,
	    rb->name);
	return BEEMO_EROLLBACK;
}

/* A checkpoint part counts as the log object of its commit, the one
 * just before its first part (store_ckpt.h): a crash, or a failed
 * commit, leaves a whole commit's parts numbered above L. */
static int
rollback_lsn(void *ctx, uint64_t pack, const struct log_place *lp)
{
	const struct rollback *rb = ctx;
	uint64_t lsn = lp->ckpt ? lp->first - 1 : lp->lsn;
	char why[200];

	if ((!lp->ckpt || lp->first > 0) && lsn <= rb->lsn &&
	    lsn >= rb->floor)
		return 0;
	snprintf(why, sizeof(why), "holds %s %" PRIu64 " beyond the length "
	    "the index recorded (whose next log object is %" PRIu64 ")",
	    lp->ckpt ? "checkpoint part" : "log object", lp->lsn, rb->lsn);
	return rollback_refuse(rb, pack, why);
}

struct last_log {
	int found;
	uint64_t lsn; /* the highest number found */
};

static int
last_log_lsn(void *ctx, uint64_t pack, const struct log_place *lp)
{
	struct last_log *ll = ctx;

	(void)pack;
	if (!ll->found || lp->lsn > ll->lsn)
		ll->lsn = lp->lsn;
	ll->found = 1;
	return 0;
}

/*
 * The index's log counter against the last log object committed: the
 * highest numbered one in the committed part of the newest recorded pack
 * that holds any (the newest packs may hold chunks only).  It must be
 * L - 1; above it, the counter alone was put back (the next commits
 * would reuse numbers, and the packs would no longer rebuild the index).
 */
static int
check_last_log(struct rollback *rb)
{
	store *st = rb->st;
	struct last_log ll = {0, 0};
	MDB_cursor *cur;
	MDB_val k, v;
	char why[160];
	int mrc, rc = 0;

	if (mdb_cursor_open(st->txn, st->dbi[IX_PACK], &cur) != 0)
		return -EIO;
	for (mrc = mdb_cursor_get(cur, &k, &v, MDB_LAST); mrc == 0 &&
	    !ll.found; mrc = mdb_cursor_get(cur, &k, &v, MDB_PREV)) {
		struct pack_rec r;
		uint64_t id;

		if (k.mv_size != 8 ||
		    pack_rec_decode(&r, v.mv_data, v.mv_size) != 0) {
			bm_log(LOG_ERR, "index: malformed pack record");
			rc = -EIO;
			break;
		}
		id = bm_be64dec(k.mv_data);
		rc = pack_logs(&st->packs, id, 0, 0, r.size, last_log_lsn,
		    &ll);
		if (rc == -ENOENT)
			rc = pack_logs(&st->packs, id, 1, 0, r.size,
			    last_log_lsn, &ll);
		if (rc == -ENOENT)
			rc = 0; /* missing: check names it */
		if (rc != 0)
			break;
		if (ll.found && ll.lsn >= rb->lsn) {
			snprintf(why, sizeof(why), "holds log object %" PRIu64
			    ", which the index's log counter (%" PRIu64 ") "
			    "does not count", ll.lsn, rb->lsn);
			rc = rollback_refuse(rb, id, why);
		}
	}
	mdb_cursor_close(cur);
	return rc;
}

int
commit_check_rollback(store *st)
{
	struct rollback rb = {st, 0, 0, NULL};
	uint64_t *ids = NULL, next = 0, repacking = 0;
	int *isopen = NULL, rc;
	size_t n = 0, i;

	rb.name = strrchr(st->dir, '/') != NULL ? strrchr(st->dir, '/') + 1 :
	    st->dir;
	if ((rc = ix_meta_get(st, "lsn", &rb.lsn)) == -ENOENT)
		rc = 0;
	if (rc == 0 && (rc = ix_meta_get(st, "next_pack", &next)) == -ENOENT)
		rc = 0;
	if (rc == 0 && (rc = ix_meta_get(st, "repacking", &repacking)) ==
	    -ENOENT)
		rc = 0;
	if (rc != 0 || (rc = pack_list(st->dir, &ids, &isopen, &n)) != 0)
		return rc;
	for (i = 0; rc == 0 && i < n; i++) {
		struct pack_rec r = {0, 0, 0};
		uint8_t k[8];
		MDB_val v;
		int known;

		bm_be64enc(k, ids[i]);
		rc = ix_get(st, IX_PACK, k, sizeof(k), &v);
		if (rc != 0 && rc != -ENOENT)
			break;
		known = rc == 0;
		rc = 0;
		if (known && pack_rec_decode(&r, v.mv_data, v.mv_size) != 0) {
			bm_log(LOG_ERR, "index: malformed pack record");
			rc = -EIO;
			break;
		}
		if (!isopen[i] && !known)
			rc = rollback_refuse(&rb, ids[i], "is closed and the "
			    "index does not know it");
		else if (!isopen[i] && r.state == PACK_OPEN)
			rc = rollback_refuse(&rb, ids[i], "is closed and the "
			    "index records it open");
		else if (isopen[i]) {
			rb.floor = (known || ids[i] >= next) && rb.lsn > 0 &&
			    !repacking ? rb.lsn - 1 : 0;
			rc = pack_logs(&st->packs, ids[i], 1, known ?
			    r.size : 0, UINT64_MAX, rollback_lsn, &rb);
			if (rc == -ENOENT)
				rc = 0; /* gone since it was listed */
		}
	}
	free(ids);
	free(isopen);
	return rc != 0 ? rc : check_last_log(&rb);
}
