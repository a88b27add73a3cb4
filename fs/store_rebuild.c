/*
 * store_rebuild.c -- rebuilding the index from the packs alone.
 *
 * The packs hold every chunk and, as log objects numbered by a log
 * sequence number (LSN), every change ever made to the namespace tables.
 * Rebuilding therefore: (1) walks every pack, authenticating every object
 * and recording chunk locations and pack sizes; (2) checks that the LSNs
 * run without a gap (a gap means a pack is missing); (3) replays the log
 * objects in LSN order into a new index; (4) swaps it in, keeping the old
 * one as index.old.  Any damaged or missing object fails the rebuild
 * with its name in the log, and the existing index is left untouched.
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
	uint64_t lsn, pack, off;
	uint32_t len;
};

struct rebuild {
	store *st;
	struct logref *logs;
	size_t nlogs, caplogs;
	uint64_t objects, bytes_done, bytes_total;
	int damaged;
	store_progress_fn progress;
	void *pctx;
};

static int
walk_object(void *ctx, uint64_t pack, uint64_t off, const struct obj_hdr *h,
    const uint8_t *raw)
{
	struct rebuild *rb = ctx;
	store *st = rb->st;
	uint8_t *plain = NULL;
	char hex[2 * OBJ_ID_LEN + 1];
	int rc;

	rc = obj_open(&st->keys, h, raw, &plain);
	if (rc != 0) {
		bm_hex(hex, h->id, OBJ_ID_LEN);
		bm_log(LOG_ERR, "%s %s in pack %016" PRIx64 " at offset %"
		    PRIu64 ": %s", h->type == OBJ_CHUNK ? "chunk" : "log object",
		    h->type == OBJ_CHUNK ? hex : hex, pack, off,
		    rc == -EBADMSG ? "authentication failed (damaged or "
		    "tampered)" : beemo_strerror(rc));
		rb->damaged++;
		return 0; /* go on: name every damaged object */
	}
	OPENSSL_cleanse(plain, h->plain_len);
	free(plain);
	rb->objects++;
	if (h->type == OBJ_CHUNK) {
		struct chunk_loc loc = {pack, off, h->stored_len, h->plain_len,
		    h->gen, h->flags};
		struct chunk_loc old;

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
		rb->logs[rb->nlogs].lsn = bm_be64dec(h->id);
		rb->logs[rb->nlogs].pack = pack;
		rb->logs[rb->nlogs].off = off;
		rb->logs[rb->nlogs].len = OBJ_HDR_LEN + h->stored_len +
		    OBJ_TAG_LEN;
		rb->nlogs++;
	}
	rb->bytes_done += OBJ_HDR_LEN + h->stored_len + OBJ_TAG_LEN;
	if (rb->progress != NULL && (rb->objects & 63) == 0)
		rb->progress(rb->pctx, rb->bytes_done, rb->bytes_total);
	return 0;
}

static int
cmp_log(const void *a, const void *b)
{
	const struct logref *x = a, *y = b;

	return x->lsn < y->lsn ? -1 : x->lsn > y->lsn;
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

static int
replay(struct rebuild *rb)
{
	store *st = rb->st;
	size_t i, since = 0;
	int rc = 0;

	qsort(rb->logs, rb->nlogs, sizeof(*rb->logs), cmp_log);
	for (i = 0; i < rb->nlogs; i++) {
		struct logref *l = &rb->logs[i];
		struct obj_hdr h;
		uint8_t *raw, *plain;

		if (l->lsn != i) {
			bm_log(LOG_ERR, "log object %" PRIu64 " is missing: a "
			    "pack is missing or damaged", (uint64_t)i);
			return -EBADMSG;
		}
		if ((raw = malloc(l->len)) == NULL)
			return -ENOMEM;
		rc = pack_pread(&st->packs, l->pack, raw, l->len, l->off);
		if (rc == 0 && (rc = obj_hdr_decode(&h, raw)) == 0)
			rc = obj_open(&st->keys, &h, raw, &plain);
		free(raw);
		if (rc != 0)
			return rc;
		rc = ix_replay(st, plain, h.plain_len);
		OPENSSL_cleanse(plain, h.plain_len);
		free(plain);
		if (rc != 0) {
			bm_log(LOG_ERR, "log object %" PRIu64 ": malformed",
			    l->lsn);
			return rc;
		}
		since += l->len;
		if (since > (64U << 20)) {
			if ((rc = txn_renew(st)) != 0)
				return rc;
			since = 0;
		}
	}
	st->lsn = rb->nlogs;
	return ix_meta_put_nolog(st, "lsn", st->lsn);
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
