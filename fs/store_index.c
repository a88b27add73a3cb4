/*
 * store_index.c -- the LMDB index: one shared transaction, versioned
 * records and the log of changes.  See store_index.h.
 *
 * Every use of the index happens inside one transaction, st->txn, under
 * st->ix_lock.  In a read-write store it is a write transaction that the
 * committer thread begins and commits (LMDB's writer lock belongs to the
 * thread that began the transaction, so only the committer begins and
 * commits; other threads use the transaction in between, serialized by
 * ix_lock).  In a read-only store it is a read transaction that the
 * committer renews every commit interval so that a concurrent backup
 * session's commits become visible.
 *
 * The committer thread and the order of a commit are the commit path's
 * (store_commit.c): this file knows neither packs nor the journal.
 *
 * Versioned tables (inode, dirent, content) append the complement of the
 * sequence number to the key, big-endian, so that a cursor positioned at
 * prefix || ~S lands on the newest version with seq <= S.
 */
#include <errno.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "bm_bytes.h"
#include "bm_err.h"
#include "bm_file.h"
#include "bm_log.h"
#include "bm_time.h"
#include "store_internal.h"

static const char *const table_names[IX_NTABLES] = {
	"meta", "inode", "dirent", "content", "snap", "orphan", "journal",
	"chunk", "pack",
};

#define LOG_FORCE_BYTES (8U << 20) /* commit early past this much log */
#define LOG_DEL 0xffffffffU

int
ix_open(store *st, const char *name, int create)
{
	char path[4096];
	MDB_txn *txn;
	unsigned flags = MDB_NOTLS | (st->opts.rdonly ? MDB_RDONLY : 0);
	int i, rc;

	if ((rc = bm_path(path, sizeof(path), "%s/%s", st->dir, name)) != 0)
		return rc;
	if (create && mkdir(path, 0700) != 0 && errno != EEXIST)
		return -errno;
	if ((rc = mdb_env_create(&st->env)) != 0)
		goto fail;
	mdb_env_set_maxdbs(st->env, IX_NTABLES + 4);
	/* Address space only; the file grows as needed. */
	mdb_env_set_mapsize(st->env, 1ULL << 40);
	mdb_env_set_maxreaders(st->env, 256);
	if ((rc = mdb_env_open(st->env, path, flags, 0600)) != 0)
		goto fail;
	/* Clear reader slots of processes killed while reading. */
	mdb_reader_check(st->env, &i);
	rc = mdb_txn_begin(st->env, NULL, st->opts.rdonly ? MDB_RDONLY : 0,
	    &txn);
	if (rc != 0)
		goto fail;
	for (i = 0; i < IX_NTABLES; i++) {
		rc = mdb_dbi_open(txn, table_names[i],
		    st->opts.rdonly ? 0 : MDB_CREATE, &st->dbi[i]);
		if (rc != 0) {
			mdb_txn_abort(txn);
			goto fail;
		}
	}
	if ((rc = mdb_txn_commit(txn)) != 0)
		goto fail;
	return 0;
fail:
	bm_log(LOG_ERR, "%s: cannot open index: %s", path, mdb_strerror(rc));
	if (st->env != NULL)
		mdb_env_close(st->env);
	st->env = NULL;
	return rc == MDB_NOTFOUND || rc == ENOENT ? BEEMO_ENOSTORE :
	    rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH ||
	    rc == MDB_CORRUPTED ? BEEMO_EFORMAT : -EIO;
}

void
ix_close(store *st)
{
	if (st->env != NULL)
		mdb_env_close(st->env);
	st->env = NULL;
	free(st->logbuf);
	st->logbuf = NULL;
}

void
ix_lock(store *st)
{
	pthread_mutex_lock(&st->ix_lock);
}

void
ix_unlock(store *st)
{
	pthread_mutex_unlock(&st->ix_lock);
}

/* ---- the log ---------------------------------------------------------- */

size_t
ix_log_rec_len(size_t klen, size_t vlen, int del)
{
	return 7 + klen + (del ? 0 : vlen);
}

void
ix_log_rec_put(uint8_t *p, enum ix_table t, const void *k, size_t klen,
    const void *v, size_t vlen, int del)
{
	p[0] = (uint8_t)t;
	bm_be16enc(p + 1, (uint16_t)klen);
	bm_be32enc(p + 3, del ? LOG_DEL : (uint32_t)vlen);
	memcpy(p + 7, k, klen);
	if (!del)
		memcpy(p + 7 + klen, v, vlen);
}

static int
log_add(store *st, enum ix_table t, const void *k, size_t klen,
    const void *v, size_t vlen, int del)
{
	size_t need = ix_log_rec_len(klen, vlen, del);
	uint8_t *p;

	if (st->loglen + need > st->logcap) {
		size_t cap = st->logcap ? st->logcap : 65536;

		while (cap < st->loglen + need)
			cap *= 2;
		if ((p = realloc(st->logbuf, cap)) == NULL)
			return -ENOMEM;
		st->logbuf = p;
		st->logcap = cap;
	}
	ix_log_rec_put(st->logbuf + st->loglen, t, k, klen, v, vlen, del);
	st->loglen += need;
	if (st->loglen >= LOG_FORCE_BYTES && !st->commit_now) {
		st->commit_now = 1;
		pthread_cond_signal(&st->commit_cv);
	}
	return 0;
}

int
ix_replay(store *st, const uint8_t *p, size_t len)
{
	size_t off = 16;
	int rc;

	if (len < 16)
		return BEEMO_EFORMAT;
	while (off < len) {
		uint8_t t;
		uint16_t klen;
		uint32_t vlen;
		MDB_val k, v;

		if (len - off < 7)
			return BEEMO_EFORMAT;
		t = p[off];
		klen = bm_be16dec(p + off + 1);
		vlen = bm_be32dec(p + off + 3);
		off += 7;
		if (t >= IX_NTABLES || !IX_LOGGED(t) || klen == 0 ||
		    klen > 511 || len - off < klen ||
		    (vlen != LOG_DEL && len - off - klen < vlen))
			return BEEMO_EFORMAT;
		k.mv_data = (void *)(p + off);
		k.mv_size = klen;
		off += klen;
		if (vlen == LOG_DEL) {
			rc = mdb_del(st->txn, st->dbi[t], &k, NULL);
			if (rc == MDB_NOTFOUND)
				rc = 0;
		} else {
			v.mv_data = (void *)(p + off);
			v.mv_size = vlen;
			off += vlen;
			rc = mdb_put(st->txn, st->dbi[t], &k, &v, 0);
		}
		if (rc != 0)
			return -EIO;
	}
	return 0;
}

/* Log records, for compaction: where each starts and what it keys. */
struct logrec {
	size_t off, len;
	const uint8_t *key; /* the key (its table byte is at off) */
	size_t klen;
	int drop;
};

static int
logrec_off_cmp(const void *a, const void *b)
{
	const struct logrec *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

static int
logrec_cmp(const void *a, const void *b)
{
	const struct logrec *x = a, *y = b;
	size_t n = x->klen < y->klen ? x->klen : y->klen;
	int c = memcmp(x->key, y->key, n);

	if (c != 0)
		return c;
	if (x->klen != y->klen)
		return x->klen < y->klen ? -1 : 1;
	return x->off < y->off ? -1 : x->off > y->off;
}

/*
 * Keep only the last change of each key in the log buffer: within one
 * transaction a counter or an inode may change hundreds of times, and
 * replay needs only the final value.  Order of the kept records stays.
 */
static void
log_compact(store *st)
{
	struct logrec *r = NULL;
	size_t n = 0, cap = 0, off = 16, i, out = 16;

	while (off + 7 <= st->loglen) {
		uint16_t klen = bm_be16dec(st->logbuf + off + 1);
		uint32_t vlen = bm_be32dec(st->logbuf + off + 3);
		size_t len = 7 + klen + (vlen == LOG_DEL ? 0 : vlen);

		if (n == cap) {
			struct logrec *nr;

			cap = cap ? cap * 2 : 1024;
			if ((nr = realloc(r, cap * sizeof(*nr))) == NULL) {
				free(r);
				return; /* keep it whole: still correct */
			}
			r = nr;
		}
		r[n].off = off;
		r[n].len = len;
		r[n].key = st->logbuf + off + 7;
		r[n].klen = klen;
		r[n].drop = 0;
		n++;
		off += len;
	}
	/* Keys of different tables may be equal: sort by key, then check
	 * the table byte when marking duplicates. */
	qsort(r, n, sizeof(*r), logrec_cmp);
	for (i = 0; i + 1 < n; i++) {
		size_t j;

		for (j = i + 1; j < n && r[j].klen == r[i].klen &&
		    memcmp(r[j].key, r[i].key, r[i].klen) == 0; j++) {
			if (st->logbuf[r[j].off] == st->logbuf[r[i].off]) {
				r[i].drop = 1; /* a later change of it follows */
				break;
			}
		}
	}
	/* Back to log order, then slide the kept records together. */
	for (i = 0; i < n; i++)
		r[i].key = NULL;
	qsort(r, n, sizeof(*r), logrec_off_cmp);
	for (i = 0; i < n; i++) {
		if (r[i].drop)
			continue;
		if (r[i].off != out)
			memmove(st->logbuf + out, st->logbuf + r[i].off,
			    r[i].len);
		out += r[i].len;
	}
	st->loglen = out;
	free(r);
}

int
ix_log_seal(store *st, int always, uint8_t **obj, size_t *objlen)
{
	uint8_t id[OBJ_ID_LEN];

	*obj = NULL;
	*objlen = 0;
	if (st->loglen <= 16 && !always)
		return 0;
	if (st->loglen < 16)
		return -ENOMEM; /* no log buffer */
	if (st->loglen > 16)
		log_compact(st);
	/* The buffer starts with a 16-byte header: LSN and time. */
	bm_be64enc(st->logbuf, st->lsn);
	bm_be64enc(st->logbuf + 8, bm_now_ns());
	memset(id, 0, sizeof(id));
	bm_be64enc(id, st->lsn);
	return obj_build(&st->keys, OBJ_LOG, id, st->keys.gen,
	    keys_gen(&st->keys, st->keys.gen)->meta, st->logbuf, st->loglen,
	    3, obj, objlen);
}

/* The counters of IX_META that are not logged: derived on rebuild. */
static const char *const meta_unlogged[] = {"lsn", "next_pack", "ckpt_lsn",
    "reclaimable", "reclaimable_time", "repacking"};

int
ix_meta_logged(const void *name, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(meta_unlogged) / sizeof(meta_unlogged[0]); i++)
		if (strlen(meta_unlogged[i]) == len &&
		    memcmp(meta_unlogged[i], name, len) == 0)
			return 0;
	return 1;
}

int
ix_log_written(store *st)
{
	st->lsn++;
	return ix_meta_put_nolog(st, "lsn", st->lsn);
}

static void
log_reset(store *st)
{
	if (st->logbuf != NULL)
		OPENSSL_cleanse(st->logbuf, st->loglen);
	st->loglen = 16; /* header reserved */
	if (st->logcap < 16) {
		free(st->logbuf);
		st->logbuf = malloc(65536);
		st->logcap = st->logbuf ? 65536 : 0;
		if (st->logbuf == NULL)
			st->loglen = 0;
	}
}

/* ---- raw access ---------------------------------------------------------- */

int
ix_get(store *st, enum ix_table t, const void *k, size_t klen, MDB_val *v)
{
	MDB_val key = {klen, (void *)k};
	int rc;

	if (st->txn == NULL)
		return -EIO;
	rc = mdb_get(st->txn, st->dbi[t], &key, v);
	if (rc == MDB_NOTFOUND)
		return -ENOENT;
	return rc == 0 ? 0 : -EIO;
}

static int
ix_put_raw(store *st, enum ix_table t, const void *k, size_t klen,
    const void *v, size_t vlen, int logit)
{
	MDB_val key = {klen, (void *)k}, val = {vlen, (void *)v};
	int rc;

	if (st->opts.rdonly)
		return -EROFS;
	if (st->txn == NULL || st->ix_err != 0)
		return -EIO;
	if ((rc = mdb_put(st->txn, st->dbi[t], &key, &val, 0)) != 0) {
		bm_log(LOG_ERR, "index: put in %s: %s", table_names[t],
		    mdb_strerror(rc));
		return rc == MDB_MAP_FULL || rc == MDB_TXN_FULL ? -ENOSPC :
		    -EIO;
	}
	st->dirty = 1;
	if (logit && IX_LOGGED(t))
		return log_add(st, t, k, klen, v, vlen, 0);
	return 0;
}

int
ix_put(store *st, enum ix_table t, const void *k, size_t klen, const void *v,
    size_t vlen)
{
	return ix_put_raw(st, t, k, klen, v, vlen, 1);
}

int
ix_del(store *st, enum ix_table t, const void *k, size_t klen)
{
	MDB_val key = {klen, (void *)k};
	int rc;

	if (st->opts.rdonly)
		return -EROFS;
	if (st->txn == NULL || st->ix_err != 0)
		return -EIO;
	rc = mdb_del(st->txn, st->dbi[t], &key, NULL);
	if (rc == MDB_NOTFOUND)
		return -ENOENT;
	if (rc != 0)
		return -EIO;
	st->dirty = 1;
	if (IX_LOGGED(t))
		return log_add(st, t, k, klen, NULL, 0, 1);
	return 0;
}

/*
 * Counters in IX_META are sealed like every other value: a changed
 * next_ino or next_pack would otherwise make the store reuse an inode
 * number or sweep away committed packs.
 */
int
ix_meta_get(store *st, const char *name, uint64_t *out)
{
	MDB_val k = {strlen(name), (void *)name}, v;
	uint8_t *plain;
	size_t len;
	int rc = ix_get(st, IX_META, name, strlen(name), &v);

	if (rc != 0)
		return rc;
	if ((rc = ix_open_sealed(st, IX_META, &k, &v, &plain, &len)) != 0)
		return rc;
	if (len != 8) {
		free(plain);
		bm_log(LOG_ERR, "index record meta/%s: malformed", name);
		return -EBADMSG;
	}
	*out = bm_be64dec(plain);
	free(plain);
	return 0;
}

static int put_sealed(store *st, enum ix_table t, const uint8_t *k,
    size_t klen, const void *plain, size_t len, int logit);

int
ix_meta_put(store *st, const char *name, uint64_t val)
{
	uint8_t b[8];

	bm_be64enc(b, val);
	return put_sealed(st, IX_META, (const uint8_t *)name, strlen(name), b,
	    8, 1);
}

int
ix_meta_put_nolog(store *st, const char *name, uint64_t val)
{
	uint8_t b[8];

	bm_be64enc(b, val);
	return put_sealed(st, IX_META, (const uint8_t *)name, strlen(name), b,
	    8, 0);
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

/* ---- versioned records ------------------------------------------------- */

static size_t
vkey(uint8_t *k, const uint8_t *prefix, size_t plen, uint64_t seq)
{
	memcpy(k, prefix, plen);
	bm_be64enc(k + plen, ~seq);
	return plen + 8;
}

int
ix_vget(store *st, enum ix_table t, const uint8_t *prefix, size_t plen,
    uint64_t seq, MDB_val *key, MDB_val *val)
{
	uint8_t k[64];
	MDB_cursor *cur;
	int rc;

	if (st->txn == NULL)
		return -EIO;
	key->mv_size = vkey(k, prefix, plen, seq);
	key->mv_data = k;
	if (mdb_cursor_open(st->txn, st->dbi[t], &cur) != 0)
		return -EIO;
	rc = mdb_cursor_get(cur, key, val, MDB_SET_RANGE);
	mdb_cursor_close(cur);
	if (rc == MDB_NOTFOUND)
		return -ENOENT;
	if (rc != 0)
		return -EIO;
	if (key->mv_size != plen + 8 || memcmp(key->mv_data, prefix, plen))
		return -ENOENT;
	return 0;
}

static size_t
vaad(uint8_t *aad, enum ix_table t, const void *k, size_t klen)
{
	memcpy(aad, "BMIX", 4);
	aad[4] = (uint8_t)t;
	memcpy(aad + 5, k, klen);
	return 5 + klen;
}

/* Put a sealed value at @k. */
static int
put_sealed(store *st, enum ix_table t, const uint8_t *k, size_t klen,
    const void *plain, size_t len, int logit)
{
	uint8_t aad[80], *sealed;
	size_t aadlen = vaad(aad, t, k, klen);
	int rc;

	if ((sealed = malloc(len + SEAL_OVERHEAD)) == NULL)
		return -ENOMEM;
	rc = seal_value(&st->keys, aad, aadlen, plain, len, sealed);
	if (rc == 0)
		rc = ix_put_raw(st, t, k, klen, sealed, len + SEAL_OVERHEAD,
		    logit);
	free(sealed);
	return rc;
}

int
ix_put_sealed(store *st, enum ix_table t, const uint8_t *k, size_t klen,
    const void *plain, size_t len)
{
	return put_sealed(st, t, k, klen, plain, len, 1);
}

/* A versioned record of the live tree changes: the live tree is no
 * longer that of a snapshot (store.h, store_snapshot_take).  The
 * counter changes in the transaction of the change, so that both or
 * neither survive a crash. */
static int
live_changed(store *st)
{
	if (st->live_same == 0 || st->live_quiet)
		return 0;
	st->live_same = 0;
	return ix_meta_put(st, "live_same", 0);
}

int
ix_vput_sealed(store *st, enum ix_table t, const uint8_t *prefix,
    size_t plen, const void *plain, size_t len)
{
	uint8_t k[64];
	int rc;

	if ((rc = live_changed(st)) != 0)
		return rc;
	return put_sealed(st, t, k, vkey(k, prefix, plen, st->live_seq), plain,
	    len, 1);
}

int
ix_open_sealed(store *st, enum ix_table t, const MDB_val *key,
    const MDB_val *val, uint8_t **plain, size_t *len)
{
	uint8_t aad[80], *out;
	size_t aadlen, n;
	int rc;

	if (key->mv_size > 64 || val->mv_size < SEAL_OVERHEAD)
		goto bad;
	aadlen = vaad(aad, t, key->mv_data, key->mv_size);
	n = val->mv_size - SEAL_OVERHEAD;
	if ((out = malloc(n + 1)) == NULL)
		return -ENOMEM;
	rc = open_value(&st->keys, aad, aadlen, val->mv_data, val->mv_size,
	    out);
	if (rc != 0) {
		free(out);
		if (rc == -EBADMSG)
			goto bad;
		return rc;
	}
	out[n] = '\0';
	*plain = out;
	*len = n;
	return 0;
bad:
	{
		char hex[2 * 64 + 1];

		bm_hex(hex, key->mv_data, key->mv_size > 64 ? 64 :
		    key->mv_size);
		bm_log(LOG_ERR, "index record %s/%s: authentication failed "
		    "(damaged or tampered)", table_names[t], hex);
		if (st->opts.event != NULL)
			st->opts.event(st->opts.event_ctx, STORE_EV_DAMAGE,
			    NULL, "index record");
	}
	return -EBADMSG;
}

int
ix_vget_sealed(store *st, enum ix_table t, const uint8_t *prefix,
    size_t plen, uint64_t seq, uint8_t **plain, size_t *len,
    uint64_t *found_seq)
{
	MDB_val k, v;
	int rc;

	if ((rc = ix_vget(st, t, prefix, plen, seq, &k, &v)) != 0)
		return rc;
	if (found_seq != NULL)
		*found_seq = ~bm_be64dec((uint8_t *)k.mv_data + plen);
	if ((rc = ix_open_sealed(st, t, &k, &v, plain, len)) != 0)
		return rc;
	if (*len == 0) { /* tombstone */
		free(*plain);
		*plain = NULL;
		return -ENOENT;
	}
	return 0;
}

int
ix_vdel(store *st, enum ix_table t, const uint8_t *prefix, size_t plen)
{
	uint8_t k[64];
	size_t klen = vkey(k, prefix, plen, st->live_seq);
	MDB_val key, val;
	int rc;

	if ((rc = live_changed(st)) != 0)
		return rc;
	/* A version older than the live sequence may be seen by a
	 * snapshot: hide it with a tombstone.  Otherwise just remove. */
	if (st->live_seq > 1) {
		rc = ix_vget(st, t, prefix, plen, st->live_seq - 1, &key, &val);
		if (rc == 0)
			return put_sealed(st, t, k, klen, "", 0, 1);
		if (rc != -ENOENT)
			return rc;
	}
	rc = ix_del(st, t, k, klen);
	return rc == -ENOENT ? 0 : rc;
}

/* ---- the transaction ------------------------------------------------- */

int
ix_txn_begin(store *st)
{
	int rc = mdb_txn_begin(st->env, NULL,
	    st->opts.rdonly ? MDB_RDONLY : 0, &st->txn);

	if (rc != 0) {
		bm_log(LOG_ERR, "index: cannot begin transaction: %s",
		    mdb_strerror(rc));
		st->txn = NULL;
		return -EIO;
	}
	log_reset(st);
	st->dirty = 0;
	return 0;
}

int
ix_txn_commit(store *st)
{
	int mrc = mdb_txn_commit(st->txn);

	st->txn = NULL;
	if (mrc != 0) {
		bm_log(LOG_ERR, "index: commit failed: %s", mdb_strerror(mrc));
		/* LMDB returns errno values for system errors. */
		return mrc == ENOSPC || mrc == EDQUOT || mrc == EIO ? -mrc :
		    -EIO;
	}
	ix_size_update(st);
	return 0;
}

void
ix_size_update(store *st)
{
	MDB_envinfo info;
	MDB_stat ms;

	if (mdb_env_info(st->env, &info) == 0 &&
	    mdb_env_stat(st->env, &ms) == 0)
		__atomic_store_n(&st->index_bytes, (uint64_t)(info.me_last_pgno
		    + 1) * ms.ms_psize, __ATOMIC_RELAXED);
}

void
ix_txn_abort(store *st)
{
	if (st->txn != NULL)
		mdb_txn_abort(st->txn);
	st->txn = NULL;
}

void
ix_txn_renew(store *st)
{
	mdb_txn_reset(st->txn);
	if (mdb_txn_renew(st->txn) != 0) {
		mdb_txn_abort(st->txn);
		ix_txn_begin(st);
	}
}

int
ix_scan(store *st, enum ix_table t, ix_scan_fn fn, void *ctx)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc = 0, mrc;

	if (mdb_cursor_open(st->txn, st->dbi[t], &cur) != 0)
		return -EIO;
	for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0;
	    mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
		if ((rc = fn(ctx, k.mv_data, k.mv_size, v.mv_data,
		    v.mv_size)) != 0)
			break;
	mdb_cursor_close(cur);
	return rc;
}
