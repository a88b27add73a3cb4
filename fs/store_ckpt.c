/*
 * store_ckpt.c -- checkpoints of the index log (see store_ckpt.h).
 */
#include <errno.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "bm_bytes.h"
#include "bm_time.h"
#include "store_ckpt.h"
#include "store_commit.h"
#include "store_index.h"
#include "store_internal.h"

int
ckpt_write(store *st, uint64_t *first)
{
	uint64_t lsn = 0;
	int rc = 0;

	if (st->opts.rdonly)
		return -EROFS;
	ix_lock(st);
	st->ckpt_want = 1;
	/* The committer clears the request with the commit that holds the
	 * checkpoint, or when a commit fails (ix_err). */
	while (st->ckpt_want && rc == 0)
		rc = commit_wait_locked(st);
	st->ckpt_want = 0;
	if (rc == 0)
		rc = ix_meta_get(st, "ckpt_lsn", &lsn);
	ix_unlock(st);
	if (rc == 0 && first != NULL)
		*first = lsn;
	return rc;
}

int
ckpt_lsn(store *st, uint64_t *lsn)
{
	int rc;

	*lsn = 0;
	pthread_mutex_lock(&st->ix_lock);
	rc = ix_meta_get(st, "ckpt_lsn", lsn);
	pthread_mutex_unlock(&st->ix_lock);
	return rc == -ENOENT ? 0 : rc;
}

/* The part being filled, and where the checkpoint stands. */
struct part {
	store *st;
	uint8_t *buf;
	size_t len, cap; /* plaintext so far (16-byte header included) */
	size_t limit;    /* of a part's plaintext */
	uint64_t first;  /* LSN of the first part */
	uint64_t n;      /* parts emitted */
	ckpt_emit_fn emit;
	void *ctx;
};

/* Seal the part in @p as LSN first + n and emit it. */
static int
part_flush(struct part *p, int last)
{
	store *st = p->st;
	uint8_t id[OBJ_ID_LEN], *obj;
	uint64_t lsn = p->first + p->n;
	size_t objlen;
	int rc;

	bm_be64enc(p->buf, lsn);
	bm_be64enc(p->buf + 8, bm_now_ns());
	ckpt_id_encode(id, lsn, p->first, last);
	rc = obj_build(&st->keys, OBJ_CKPT, id, st->keys.gen,
	    keys_gen(&st->keys, st->keys.gen)->meta, p->buf, p->len, 3, &obj,
	    &objlen);
	if (rc != 0)
		return rc;
	rc = p->emit(p->ctx, obj, objlen);
	free(obj);
	OPENSSL_cleanse(p->buf, p->len);
	p->len = 16;
	p->n++;
	return rc;
}

/* Add one row to the part, emitting the part first if the row would
 * overflow it (a row alone may exceed the limit: it gets a part). */
static int
part_add(struct part *p, enum ix_table t, const MDB_val *k, const MDB_val *v)
{
	size_t need = ix_log_rec_len(k->mv_size, v->mv_size, 0);
	int rc;

	if (p->len + need > p->limit && p->len > 16 &&
	    (rc = part_flush(p, 0)) != 0)
		return rc;
	if (p->len + need > p->cap) {
		uint8_t *n = malloc(p->len + need);

		if (n == NULL)
			return -ENOMEM;
		memcpy(n, p->buf, p->len);
		OPENSSL_cleanse(p->buf, p->len);
		free(p->buf);
		p->buf = n;
		p->cap = p->len + need;
	}
	ix_log_rec_put(p->buf + p->len, t, k->mv_data, k->mv_size, v->mv_data,
	    v->mv_size, 0);
	p->len += need;
	return 0;
}

int
ckpt_seal(store *st, ckpt_emit_fn emit, void *ctx)
{
	struct part p;
	MDB_cursor *cur;
	MDB_val k, v;
	size_t limit = st->ckpt_part != 0 ? st->ckpt_part : CKPT_PART_MAX;
	int t, mrc, rc = 0;

	memset(&p, 0, sizeof(p));
	p.st = st;
	p.first = st->lsn;
	p.emit = emit;
	p.ctx = ctx;
	p.len = 16;
	p.limit = limit;
	p.cap = limit < 4096 ? 4096 : limit;
	if ((p.buf = malloc(p.cap)) == NULL)
		return -ENOMEM;
	for (t = IX_META; rc == 0 && IX_LOGGED(t); t++) {
		if (mdb_cursor_open(st->txn, st->dbi[t], &cur) != 0) {
			rc = -EIO;
			break;
		}
		for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
		    mrc == 0 && rc == 0;
		    mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
			if (t == IX_META &&
			    !ix_meta_logged(k.mv_data, k.mv_size))
				continue;
			rc = part_add(&p, (enum ix_table)t, &k, &v);
		}
		mdb_cursor_close(cur);
		if (rc == 0 && mrc != MDB_NOTFOUND)
			rc = -EIO;
	}
	if (rc == 0)
		rc = part_flush(&p, 1);
	OPENSSL_cleanse(p.buf, p.len);
	free(p.buf);
	if (rc != 0)
		return rc;
	st->lsn = p.first + p.n;
	if ((rc = ix_meta_put_nolog(st, "lsn", st->lsn)) != 0)
		return rc;
	return ix_meta_put_nolog(st, "ckpt_lsn", p.first);
}
