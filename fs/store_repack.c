/*
 * store_repack.c -- the packs' half of a prune: which objects of each
 * closed pack are still live, copying the live objects of packs that
 * are mostly garbage, dropping the packs left with nothing live, and
 * the list of dropped packs (store_prune.h).
 *
 * Crash safety.  The objects of a repacked pack are appended, sealed
 * bytes as they are (an object authenticates wherever it is stored: its
 * associated data is the machine id, its header and its id), to the
 * open pack through the pack writer.  The chunk rows are pointed at the
 * copies and the old pack is recorded PACK_DROPPED in one index
 * transaction, whose commit syncs the copies first (store_commit.c).
 * Before that commit the copies lie beyond the open pack's recorded
 * length and the next open cuts them away; after it the old pack is
 * garbage, and its file is unlinked, here or, after a crash, at the
 * next read-write open (commit_recover()).  So a reader sees one copy
 * of every object, old or new, and the log objects are never found
 * twice in packs the index knows.  While a repack is under way the
 * unlogged meta counter "repacking" is set: copied log objects keep
 * their numbers, which are lower than the open pack's other objects,
 * and commit_check_rollback() must not take them for the sign of an
 * index older than the packs.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "bm_bytes.h"
#include "bm_err.h"
#include "bm_log.h"
#include "store_commit.h"
#include "store_internal.h"
#include "store_prune.h"
#include "store_record.h"

/* A pack as the index records it, and what of it is live. */
struct pinfo {
	uint64_t id;
	struct pack_rec r;
	uint64_t live;   /* bytes of live objects */
	uint64_t logs;   /* log objects below the checkpoint */
	int action;      /* 0 keep, 1 repack, 2 drop */
};

struct repack {
	store *st;
	const struct prune_mark *mark;
	uint64_t ckpt;
	struct store_prune_stats *out;
	uint64_t last_written; /* highest pack id that received a copy */
};

/* ---- which objects are live ---------------------------------------------- */

/* Whether the object of header @h at @off in pack @pack is live
 * (ix_lock held). */
static int
object_live(struct repack *rp, uint64_t pack, uint64_t off,
    const struct obj_hdr *h, int *live)
{
	struct chunk_loc loc;
	int rc;

	/* Log objects and checkpoint parts from the newest checkpoint on
	 * are live; so is the log object of the checkpoint's own commit,
	 * numbered just below it (tiny, and otherwise every prune would
	 * find the pack it sits in holding garbage again). */
	if (h->type == OBJ_LOG || h->type == OBJ_CKPT) {
		*live = bm_be64dec(h->id) + 1 >= rp->ckpt;
		return 0;
	}
	*live = 0;
	if (!mark_has(rp->mark, h->id))
		return 0;
	/* Another copy of the chunk may be the one the row names. */
	rc = chunk_loc_get(rp->st, h->id, &loc);
	if (rc == -ENOENT)
		return 0;
	if (rc != 0)
		return rc;
	*live = loc.pack == pack && loc.off == off;
	return 0;
}

typedef int (*object_fn)(struct repack *rp, struct pinfo *p, uint64_t off,
    const struct obj_hdr *h, size_t len);

/* Call @fn on each live object of pack @p, in order, reading headers
 * only; the committed length bounds the walk.  ix_lock held, so that
 * no commit falls between the copies of a pack and its drop (the lock
 * order allows the pack writer's and the descriptors' locks inside). */
static int
walk_live(struct repack *rp, struct pinfo *p, object_fn fn)
{
	uint8_t head[OBJ_HDR_LEN];
	struct obj_hdr h;
	uint64_t off = PACK_HDR_LEN;
	int rc, live;

	while (off < p->r.size) {
		uint64_t len;

		if (p->r.size - off < OBJ_HDR_LEN)
			goto malformed;
		rc = pack_pread(&rp->st->packs, p->id, head, sizeof(head),
		    off);
		if (rc != 0)
			goto fail;
		if (obj_hdr_decode(&h, head) != 0)
			goto malformed;
		len = OBJ_HDR_LEN + (uint64_t)h.stored_len + OBJ_TAG_LEN;
		if (p->r.size - off < len)
			goto malformed;
		if ((rc = object_live(rp, p->id, off, &h, &live)) != 0)
			return rc;
		if (!live && (h.type == OBJ_LOG || h.type == OBJ_CKPT))
			p->logs++;
		if (live && (rc = fn(rp, p, off, &h, (size_t)len)) != 0)
			return rc;
		off += len;
	}
	return 0;
malformed:
	rc = BEEMO_EFORMAT;
fail:
	bm_log(LOG_ERR, "pack %016" PRIx64 ": unreadable at offset %" PRIu64
	    " (%s): not pruned; beemoctl check --read-data", p->id, off,
	    beemo_strerror(rc));
	return rc;
}

static int
count_live(struct repack *rp, struct pinfo *p, uint64_t off,
    const struct obj_hdr *h, size_t len)
{
	(void)rp;
	(void)off;
	(void)h;
	p->live += len;
	return 0;
}

/* Copy one live object into the open pack; a chunk's row follows it
 * (ix_lock held). */
static int
copy_object(struct repack *rp, struct pinfo *p, uint64_t off,
    const struct obj_hdr *h, size_t len)
{
	store *st = rp->st;
	struct chunk_loc loc;
	uint64_t npack, noff;
	uint8_t *raw;
	int rc;

	if ((raw = malloc(len)) == NULL)
		return -ENOMEM;
	rc = pack_pread(&st->packs, p->id, raw, len, off);
	if (rc == 0)
		rc = pack_append(&st->packs, raw, len, &npack, &noff);
	free(raw);
	if (rc != 0)
		return rc;
	if (npack > rp->last_written || rp->out->packs_written == 0) {
		rp->out->packs_written++;
		rp->last_written = npack;
	}
	rp->out->bytes_repacked += len;
	if (h->type != OBJ_CHUNK)
		return 0;
	if ((rc = chunk_loc_get(st, h->id, &loc)) != 0)
		return rc;
	loc.pack = npack;
	loc.off = noff;
	return chunk_loc_put(st, h->id, &loc);
}

/* ---- dropping a pack ----------------------------------------------------- */

/* Record @p dropped and commit (with the moves of its chunk rows, if
 * any), then remove its file.  ix_lock held; released while the commit
 * runs and on return still held. */
static int
drop_pack(struct repack *rp, struct pinfo *p)
{
	store *st = rp->st;
	struct pack_rec r = p->r;
	uint8_t k[8], v[PACK_REC_LEN];
	int rc;

	r.state = PACK_DROPPED;
	bm_be64enc(k, p->id);
	pack_rec_encode(v, &r);
	rc = ix_put(st, IX_PACK, k, sizeof(k), v, sizeof(v));
	if (rc == 0)
		rc = commit_wait_locked(st);
	if (rc != 0)
		return rc;
	__atomic_sub_fetch(&st->packs.stored, p->r.size, __ATOMIC_RELAXED);
	if ((rc = pack_remove(&st->packs, p->id)) != 0)
		bm_log(LOG_WARNING, "pack %016" PRIx64 ": cannot remove the "
		    "dropped pack's file (%s): the next open removes it",
		    p->id, beemo_strerror(rc));
	return 0;
}

/*
 * A copy failed (@rc) with chunk rows of the pack already moved in the
 * open transaction (ix_lock held): that transaction must not commit, or
 * the pack would stay with its log objects copied and a later prune
 * would copy them again.  Make the failure sticky instead, as a failed
 * commit does: this handle commits nothing more, and the next open cuts
 * the copies away ("repacking" is still set for its rollback check).
 */
static int
abandon_copies(store *st, uint64_t pack, int rc)
{
	bm_log(LOG_ERR, "pack %016" PRIx64 ": repacking failed: %s; the "
	    "copies are abandoned (the next open removes them)", pack,
	    beemo_strerror(rc));
	pack_refuse(&st->packs, rc);
	if (st->ix_err == 0)
		st->ix_err = rc;
	return rc;
}

/* Set or clear the "repacking" counter, durably. */
static int
set_repacking(store *st, uint64_t on)
{
	int rc;

	ix_lock(st);
	rc = ix_meta_put_nolog(st, "repacking", on);
	if (rc == 0)
		rc = commit_wait_locked(st);
	ix_unlock(st);
	return rc;
}

/* ---- the packs of the store ---------------------------------------------- */

/* The closed packs of the index, ascending. */
static int
list_closed(store *st, struct pinfo **out, size_t *n)
{
	MDB_cursor *cur;
	MDB_val k, v;
	struct pinfo *p = NULL, *np;
	size_t cnt = 0;
	int mrc, rc = 0;

	ix_lock(st);
	if (st->txn == NULL ||
	    mdb_cursor_open(st->txn, st->dbi[IX_PACK], &cur) != 0) {
		ix_unlock(st);
		return -EIO;
	}
	for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0;
	    mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		struct pack_rec r;

		if (k.mv_size != 8 || pack_rec_decode(&r, v.mv_data,
		    v.mv_size) != 0) {
			bm_log(LOG_ERR, "index: malformed pack record");
			rc = -EIO;
			break;
		}
		if (r.state != PACK_CLOSED)
			continue;
		if ((np = realloc(p, (cnt + 1) * sizeof(*p))) == NULL) {
			rc = -ENOMEM;
			break;
		}
		p = np;
		memset(&p[cnt], 0, sizeof(p[cnt]));
		p[cnt].id = bm_be64dec(k.mv_data);
		p[cnt++].r = r;
	}
	mdb_cursor_close(cur);
	ix_unlock(st);
	if (rc != 0) {
		free(p);
		return rc;
	}
	*out = p;
	*n = cnt;
	return 0;
}

int
repack_run(store *st, const struct prune_mark *m, uint64_t ckpt, int full,
    const struct store_prune_opts *o, struct store_prune_stats *out,
    uint64_t *garbage)
{
	struct repack rp = {st, m, ckpt, out, 0};
	unsigned pct = o->repack_pct ? o->repack_pct : 20;
	struct pinfo *p = NULL;
	uint64_t total = 0, done = 0;
	size_t n = 0, i;
	int rc, started = 0;

	*garbage = 0;
	if ((rc = list_closed(st, &p, &n)) != 0)
		return rc;
	/* Left set by a prune that was stopped: cleared at the end. */
	if (!o->dry_run) {
		uint64_t was = 0;

		ix_lock(st);
		started = ix_meta_get(st, "repacking", &was) == 0 && was != 0;
		ix_unlock(st);
	}
	for (i = 0; i < n; i++) {
		uint64_t g;

		ix_lock(st);
		rc = walk_live(&rp, &p[i], count_live);
		ix_unlock(st);
		if (rc == -ENOMEM)
			goto out;
		if (rc != 0) {
			rc = 0; /* named; the others are pruned */
			continue;
		}
		g = p[i].r.size - PACK_HDR_LEN - p[i].live;
		*garbage += g;
		if (p[i].live == 0)
			p[i].action = 2;
		else if (g > 0 && (full || g * 100 >= (uint64_t)pct *
		    p[i].r.size))
			p[i].action = 1;
		if (p[i].action == 0) {
			out->reclaimable_after += g;
			continue;
		}
		total += p[i].r.size;
		out->log_dropped += p[i].logs;
		if (p[i].action == 2)
			out->packs_deleted++;
		else
			out->packs_repacked++;
	}
	if (o->dry_run)
		goto out;
	for (i = 0; i < n; i++) {
		if (p[i].action == 0)
			continue;
		if (__atomic_load_n(&st->interrupted, __ATOMIC_RELAXED)) {
			rc = -EINTR;
			goto out;
		}
		if (p[i].action == 1 && !started) {
			if ((rc = set_repacking(st, 1)) != 0)
				goto out;
			started = 1;
		}
		ix_lock(st);
		if (p[i].action == 1 &&
		    (rc = walk_live(&rp, &p[i], copy_object)) != 0)
			abandon_copies(st, p[i].id, rc);
		if (rc == 0)
			rc = drop_pack(&rp, &p[i]);
		ix_unlock(st);
		if (rc != 0)
			goto out;
		done += p[i].r.size;
		if (o->progress != NULL)
			o->progress(o->progress_ctx, done, total);
	}
out:
	/* Left set after a failure: the next open must not refuse the
	 * copies it cuts away. */
	if (rc == 0 && started)
		rc = set_repacking(st, 0);
	free(p);
	return rc;
}

/* ---- the dropped packs --------------------------------------------------- */

int
store_dropped_packs(store *st, uint64_t **ids, size_t *n)
{
	MDB_cursor *cur;
	MDB_val k, v;
	uint64_t *a = NULL, *na;
	size_t cnt = 0;
	int mrc, rc = 0;

	ix_lock(st);
	if (st->txn == NULL ||
	    mdb_cursor_open(st->txn, st->dbi[IX_PACK], &cur) != 0) {
		ix_unlock(st);
		return -EIO;
	}
	for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0;
	    mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != 8 || v.mv_size != PACK_REC_LEN ||
		    ((uint8_t *)v.mv_data)[0] != PACK_DROPPED)
			continue;
		if ((na = realloc(a, (cnt + 1) * sizeof(*a))) == NULL) {
			rc = -ENOMEM;
			break;
		}
		a = na;
		a[cnt++] = bm_be64dec(k.mv_data);
	}
	mdb_cursor_close(cur);
	ix_unlock(st);
	if (rc != 0) {
		free(a);
		return rc;
	}
	*ids = a;
	*n = cnt;
	return 0;
}
