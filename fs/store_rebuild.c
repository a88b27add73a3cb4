/*
 * store_rebuild.c -- rebuilding the index from the packs alone.
 *
 * The packs hold every chunk and, as log objects numbered by a log
 * sequence number (LSN), every change made to the namespace tables
 * since their newest checkpoint (store_ckpt.h), and maybe older ones.
 * Rebuilding therefore: (1) walks every pack, authenticating every chunk
 * and recording chunk locations and pack sizes, and noting where each
 * log object and checkpoint part is from its header alone; (2) finds
 * the newest complete checkpoint (every part, up to the one that says
 * it is the last) and replays it into a new index, then the log objects
 * after it, in LSN order and without a gap (a gap means a pack is
 * missing); a part that does not authenticate makes the rebuild try the
 * checkpoint before it, and without any, the replay starts from log
 * object 0, which must then be there; (3) swaps the new index in,
 * keeping the old one as index.old.  Log objects below the start are
 * never opened: the time goes with what is kept, not with all history.
 * Any damaged or missing object that is needed fails the rebuild with
 * its name in the log, and the existing index is left untouched.
 *
 * A pack that was still open when the copy was taken may end with a
 * partial object: it is cut at its last whole object.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bm_bytes.h"
#include "bm_err.h"
#include "bm_file.h"
#include "bm_log.h"
#include "store_internal.h"
#include "store_record.h"

struct logref {
	struct log_place place;
	uint64_t pack, off;
	uint32_t len;
	int open; /* in a .pack.open file */
};

struct rebuild {
	store *st;
	struct logref *logs;
	size_t nlogs, caplogs;
	uint64_t objects, bytes_done, bytes_total;
	int walking_open; /* the pack being walked is open */
	int damaged;
	store_progress_fn progress;
	void *pctx;
};

/*
 * Every object of every pack: a chunk is authenticated and its location
 * recorded; of a log object or checkpoint part only the place is noted
 * from its header: which of them are replayed, and so opened, is known
 * only once every pack has been read.
 */
static int
walk_object(void *ctx, uint64_t pack, uint64_t off, const struct obj_hdr *h,
    const uint8_t *raw)
{
	struct rebuild *rb = ctx;
	store *st = rb->st;
	uint8_t *plain = NULL;
	char hex[2 * OBJ_ID_LEN + 1];
	int rc;

	rb->objects++;
	rb->bytes_done += OBJ_HDR_LEN + h->stored_len + OBJ_TAG_LEN;
	if (rb->progress != NULL && (rb->objects & 63) == 0)
		rb->progress(rb->pctx, rb->bytes_done, rb->bytes_total);
	if (h->type == OBJ_CHUNK) {
		struct chunk_loc loc = {pack, off, h->stored_len, h->plain_len,
		    h->gen, h->flags};
		struct chunk_loc old;

		rc = obj_open(&st->keys, h, raw, &plain);
		if (rc != 0) {
			bm_hex(hex, h->id, OBJ_ID_LEN);
			bm_log(LOG_ERR, "chunk %s in pack %016" PRIx64 " at "
			    "offset %" PRIu64 ": %s", hex, pack, off,
			    rc == -EBADMSG ? "authentication failed (damaged "
			    "or tampered)" : beemo_strerror(rc));
			rb->damaged++;
			return 0; /* go on: name every damaged object */
		}
		OPENSSL_cleanse(plain, h->plain_len);
		free(plain);
		if (chunk_loc_get(st, h->id, &old) == -ENOENT &&
		    (rc = chunk_loc_put(st, h->id, &loc)) != 0)
			return rc;
	} else {
		struct logref *n;

		if (rb->nlogs == rb->caplogs) {
			size_t cap = rb->caplogs ? rb->caplogs * 2 : 256;

			if ((n = realloc(rb->logs, cap * sizeof(*n))) == NULL)
				return -ENOMEM;
			rb->logs = n;
			rb->caplogs = cap;
		}
		n = &rb->logs[rb->nlogs++];
		obj_log_place(h, &n->place);
		n->pack = pack;
		n->off = off;
		n->open = rb->walking_open;
		n->len = OBJ_HDR_LEN + h->stored_len + OBJ_TAG_LEN;
	}
	return 0;
}

static int
cmp_log(const void *a, const void *b)
{
	const struct logref *x = a, *y = b;

	if (x->place.lsn != y->place.lsn)
		return x->place.lsn < y->place.lsn ? -1 : 1;
	if (x->open != y->open)
		return x->open - y->open;
	if (x->pack != y->pack)
		return x->pack < y->pack ? -1 : 1;
	return x->off < y->off ? -1 : x->off > y->off;
}

static int
txn_renew(store *st)
{
	int rc = mdb_txn_commit(st->txn);

	st->txn = NULL;
	if (rc != 0)
		return -EIO;
	return mdb_txn_begin(st->env, NULL, 0, &st->txn) ? -EIO : 0;
}

/* Read, authenticate and replay one log object or checkpoint part. */
static int
replay_one(store *st, const struct logref *l)
{
	struct obj_hdr h;
	uint8_t *raw, *plain;
	int rc;

	if ((raw = malloc(l->len)) == NULL)
		return -ENOMEM;
	rc = pack_pread(&st->packs, l->pack, raw, l->len, l->off);
	if (rc == 0 && (rc = obj_hdr_decode(&h, raw)) == 0)
		rc = obj_open(&st->keys, &h, raw, &plain);
	free(raw);
	if (rc != 0) {
		bm_log(LOG_ERR, "%s %" PRIu64 " in pack %016" PRIx64 " at "
		    "offset %" PRIu64 ": %s", l->place.ckpt ? "checkpoint "
		    "part" : "log object", l->place.lsn, l->pack, l->off,
		    rc == -EBADMSG ? "authentication failed (damaged or "
		    "tampered)" : beemo_strerror(rc));
		return rc;
	}
	rc = ix_replay(st, plain, h.plain_len);
	OPENSSL_cleanse(plain, h.plain_len);
	free(plain);
	if (rc != 0)
		bm_log(LOG_ERR, "%s %" PRIu64 ": malformed", l->place.ckpt ?
		    "checkpoint part" : "log object", l->place.lsn);
	return rc;
}

/*
 * One object may be in the packs more than once: a prune copies the
 * live objects of a pack into a new one before it drops the old one,
 * and a crash in between leaves both.  Copies are alike; logs[] is
 * sorted by LSN, closed packs first, so that a closed pack's copy is
 * tried first (an open pack below the next pack number may be one a
 * failed commit abandoned, whose objects were never committed).
 * next_lsn -- the index of the first entry after the copies of
 * logs[@i].
 */
static size_t
next_lsn(const struct rebuild *rb, size_t i)
{
	size_t j = i + 1;

	while (j < rb->nlogs && rb->logs[j].place.lsn == rb->logs[i].place.lsn)
		j++;
	return j;
}

/*
 * Whether logs[@i] is the first part of a complete checkpoint: the parts
 * that follow it are consecutive, all name it as their first, up to one
 * that says it is the last (headers only: the parts authenticate when
 * they are replayed).
 */
static int
ckpt_complete(const struct rebuild *rb, size_t i)
{
	uint64_t first = rb->logs[i].place.lsn;
	size_t j, n;

	for (j = i; j < rb->nlogs; j = n) {
		const struct log_place *p = &rb->logs[j].place;

		if (!p->ckpt || p->first != first)
			return 0;
		if (p->last)
			return 1;
		n = next_lsn(rb, j);
		if (n < rb->nlogs && rb->logs[n].place.lsn != p->lsn + 1)
			return 0;
	}
	return 0;
}

/* Empty the logged tables (a checkpoint whose parts did not replay). */
static int
clear_logged(store *st)
{
	int t;

	for (t = IX_META; IX_LOGGED(t); t++)
		if (mdb_drop(st->txn, st->dbi[t], 0) != 0)
			return -EIO;
	return 0;
}

/*
 * Replay from logs[@start] on: the parts of the checkpoint there if
 * @ckpt, then every later log object, in order and without a gap;
 * parts of later checkpoints are passed over, as the state they hold
 * is the one the replay has then reached.  *@in_ckpt says whether a
 * failure was in the checkpoint's parts.
 */
static int
replay_from(struct rebuild *rb, size_t start, int ckpt, int *in_ckpt)
{
	store *st = rb->st;
	uint64_t want = rb->logs[start].place.lsn;
	size_t i, j, k, since = 0;
	int rc = 0;

	for (i = start; i < rb->nlogs; i = j, want++) {
		const struct logref *l = &rb->logs[i];

		j = next_lsn(rb, i);
		*in_ckpt = 0;
		if (l->place.lsn != want) {
			bm_log(LOG_ERR, "log object %" PRIu64 " is missing: a "
			    "pack is missing or damaged", want);
			return -EBADMSG;
		}
		*in_ckpt = ckpt && l->place.ckpt &&
		    l->place.first == rb->logs[start].place.lsn;
		if (l->place.ckpt && !*in_ckpt)
			continue;
		/* The first copy that authenticates. */
		for (k = i; k < j; k++)
			if ((rc = replay_one(st, &rb->logs[k])) != -EBADMSG)
				break;
		if (rc != 0)
			return rc;
		since += l->len;
		if (since > (64U << 20)) {
			if ((rc = txn_renew(st)) != 0)
				return rc;
			since = 0;
		}
	}
	return 0;
}

/*
 * Replay the log: from the newest complete checkpoint whose parts
 * authenticate, else from log object 0.  The objects below the start
 * are neither needed nor read (a prune may have dropped them).
 */
static int
replay(struct rebuild *rb)
{
	store *st = rb->st;
	size_t i;
	int in_ckpt, rc;

	if (rb->nlogs == 0) {
		st->lsn = 0; /* no log at all: the caller says so */
		return 0;
	}
	qsort(rb->logs, rb->nlogs, sizeof(*rb->logs), cmp_log);
	for (i = rb->nlogs; i-- > 0;) {
		if ((i > 0 && rb->logs[i - 1].place.lsn ==
		    rb->logs[i].place.lsn) || !ckpt_complete(rb, i))
			continue;
		rc = replay_from(rb, i, 1, &in_ckpt);
		if (rc != -EBADMSG || !in_ckpt)
			goto done;
		/* A part that failed to authenticate (named above): an older
		 * checkpoint may still do, if its log objects are there. */
		bm_log(LOG_WARNING, "the checkpoint at log object %" PRIu64
		    " does not authenticate: trying an older one",
		    rb->logs[i].place.lsn);
		if ((rc = clear_logged(st)) != 0)
			return rc;
	}
	i = 0;
	if (rb->logs[0].place.lsn != 0) {
		bm_log(LOG_ERR, "log object 0 is missing: a pack is missing or "
		    "damaged");
		return -EBADMSG;
	}
	rc = replay_from(rb, 0, 0, &in_ckpt);
done:
	if (rc != 0)
		return rc;
	st->lsn = rb->logs[rb->nlogs - 1].place.lsn + 1;
	if ((rc = ix_meta_put_nolog(st, "lsn", st->lsn)) != 0)
		return rc;
	/* Below the checkpoint started from, the log is not needed. */
	return rb->logs[i].place.ckpt ? ix_meta_put_nolog(st, "ckpt_lsn",
	    rb->logs[i].place.lsn) : 0;
}

static int
pack_rec(store *st, uint64_t id, uint64_t size, uint64_t objects)
{
	uint8_t k[8], v[PACK_REC_LEN];

	bm_be64enc(k, id);
	v[0] = PACK_CLOSED;
	bm_be64enc(v + 1, size);
	bm_be64enc(v + 9, objects);
	return ix_put(st, IX_PACK, k, 8, v, sizeof(v));
}

static int
rm_index(const char *dir, const char *name)
{
	char p[4096];

	if (bm_path(p, sizeof(p), "%s/%s/data.mdb", dir, name) != 0)
		return -ENAMETOOLONG;
	unlink(p);
	bm_path(p, sizeof(p), "%s/%s/lock.mdb", dir, name);
	unlink(p);
	bm_path(p, sizeof(p), "%s/%s", dir, name);
	if (rmdir(p) != 0 && errno != ENOENT)
		return -errno;
	return 0;
}

static int
swap_in(const char *dir)
{
	char cur[4096], old[4096], neu[4096];
	int rc;

	if (bm_path(cur, sizeof(cur), "%s/index", dir) ||
	    bm_path(old, sizeof(old), "%s/index.old", dir) ||
	    bm_path(neu, sizeof(neu), "%s/index.new", dir))
		return -ENAMETOOLONG;
	if ((rc = rm_index(dir, "index.old")) != 0)
		return rc;
	if (rename(cur, old) != 0 && errno != ENOENT)
		return -errno;
	if (rename(neu, cur) != 0)
		return -errno;
	return bm_fsync_dir(dir);
}

int
store_rebuild(const char *dir, const keymgr_secret *s,
    store_progress_fn progress, void *ctx)
{
	uint8_t appl[KEYMGR_ID_LEN], mach[KEYMGR_ID_LEN];
	unsigned format;
	struct rebuild rb;
	store *st;
	uint64_t *ids = NULL, maxpack = 0;
	int *isopen = NULL;
	size_t n = 0, i;
	char path[4096];
	int lockfd = -1, rc;

	memset(&rb, 0, sizeof(rb));
	if ((rc = store_id_read(dir, appl, mach, &format)) != 0)
		return rc;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return -ENOMEM;
	st->secret = s;
	keymgr_secret_machine_id(s, st->machine_id);
	if (memcmp(mach, st->machine_id, KEYMGR_ID_LEN) != 0) {
		rc = BEEMO_EFOREIGN;
		goto out;
	}
	if ((st->dir = strdup(dir)) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	if ((rc = bm_path(path, sizeof(path), "%s/lock", dir)) != 0)
		goto out;
	if ((lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0 ||
	    flock(lockfd, LOCK_EX | LOCK_NB) != 0) {
		rc = lockfd < 0 ? -errno : BEEMO_ELOCKED;
		goto out;
	}
	if ((rc = keys_init(&st->keys, st->secret, format)) != 0 ||
	    (rc = pack_init(&st->packs, st->dir, st->machine_id, &st->keys,
	    0, NULL, NULL)) != 0)
		goto out;
	if ((rc = rm_index(dir, "index.new")) != 0)
		goto out;
	if ((rc = ix_open(st, "index.new", 1)) != 0)
		goto out;
	if (mdb_txn_begin(st->env, NULL, 0, &st->txn) != 0) {
		rc = -EIO;
		goto out;
	}
	if ((rc = pack_list(dir, &ids, &isopen, &n)) != 0)
		goto out_txn;
	for (i = 0; i < n; i++) {
		struct stat sb;

		pack_path(&st->packs, ids[i], isopen[i], path, sizeof(path));
		if (stat(path, &sb) == 0)
			rb.bytes_total += (uint64_t)sb.st_size;
	}
	rb.st = st;
	rb.progress = progress;
	rb.pctx = ctx;
	for (i = 0; i < n; i++) {
		uint64_t end, before = rb.objects;

		pack_path(&st->packs, ids[i], isopen[i], path, sizeof(path));
		rb.walking_open = isopen[i];
		rc = pack_walk(st->machine_id, path, ids[i], walk_object, &rb,
		    &end);
		if (rc == -EIO && isopen[i]) {
			bm_log(LOG_WARNING, "%s: open pack cut at its last "
			    "whole object (offset %" PRIu64 ")", path, end);
			rc = 0;
		}
		if (rc != 0) {
			bm_log(LOG_ERR, "%s: %s", path, beemo_strerror(rc));
			rb.damaged++;
			continue;
		}
		if ((rc = pack_rec(st, ids[i], end, rb.objects - before)) != 0)
			goto out_txn;
		if (ids[i] + 1 > maxpack)
			maxpack = ids[i] + 1;
	}
	if (rb.damaged) {
		bm_log(LOG_ERR, "%d damaged or unreadable object(s): the index "
		    "was not rebuilt", rb.damaged);
		rc = -EBADMSG;
		goto out_txn;
	}
	if ((rc = replay(&rb)) != 0)
		goto out_txn;
	if ((rc = ix_meta_put_nolog(st, "next_pack", maxpack)) != 0)
		goto out_txn;
	{
		uint64_t fmt;

		if (ix_meta_get(st, "format", &fmt) != 0) {
			bm_log(LOG_ERR, "%s: the packs hold no index log", dir);
			rc = BEEMO_ENOSTORE;
			goto out_txn;
		}
		/* The log is authenticated, store.id is not: a store.id
		 * that names another format would hash names with the
		 * wrong key. */
		if (fmt != format) {
			bm_log(LOG_ERR, "%s: store.id says format %u, the "
			    "packs' log %" PRIu64 " (store.id replaced?)", dir,
			    format, fmt);
			rc = BEEMO_EFORMAT;
			goto out_txn;
		}
	}
	rc = mdb_txn_commit(st->txn) ? -EIO : 0;
	st->txn = NULL;
	if (rc == 0 && (rc = mdb_env_sync(st->env, 1)) != 0)
		rc = -EIO;
	if (progress != NULL)
		progress(ctx, rb.bytes_total, rb.bytes_total);
	ix_close(st);
	if (rc == 0)
		rc = swap_in(dir);
	goto out;
out_txn:
	if (st->txn != NULL)
		mdb_txn_abort(st->txn);
	st->txn = NULL;
	ix_close(st);
	rm_index(dir, "index.new");
out:
	free(ids);
	free(isopen);
	free(rb.logs);
	pack_fini(&st->packs);
	keys_fini(&st->keys);
	free(st->dir);
	free(st);
	if (lockfd >= 0)
		close(lockfd);
	return rc;
}
