/*
 * store_index.h -- the LMDB index: the layer above the codecs, beside
 * the packs.
 *
 * Every use of the index happens inside one transaction, st->txn, under
 * st->ix_lock.  In a read-write store it is a write transaction that the
 * committer thread (store_commit.c) begins and commits; other threads
 * use it in between, serialized by ix_lock.  In a read-only store it is
 * a read transaction the committer renews.  Every change of a logged
 * table is also appended to the log buffer of the transaction, which
 * the commit path seals into a log object (ix_log_seal()) and stores in
 * a pack: the packs alone rebuild the index (ix_replay()).
 *
 * Versioned tables (inode, dirent, content) append the complement of the
 * sequence number to the key, big-endian, so that a cursor positioned at
 * prefix || ~S lands on the newest version with seq <= S.  Values are
 * sealed with the meta key, their place (table and key) in the
 * associated data.
 *
 * Layer rule: this layer knows LMDB and the codecs, not the packs nor the
 * journal.  Upward it only reports: damage through the store's event
 * callback opts.event (called with ix_lock held: the callback must not
 * call the store), and the wish for an early commit by setting
 * commit_now and signalling commit_cv (both ix_lock).
 *
 * Locking: every function below needs ix_lock held unless it says
 * otherwise.  Errors: 0 or a negative errno; -ENOENT for a missing key,
 * -EROFS in a read-only store, -EIO after a failed commit (sticky
 * ix_err) or from LMDB, -ENOSPC when the map is full, -EBADMSG for a
 * value that fails authentication (logged), -ENOMEM.
 */
#ifndef BEEMO_STORE_INDEX_H
#define BEEMO_STORE_INDEX_H

#include <lmdb.h>

#include "store.h"
#include "store_codec.h"

/* ---- index tables --------------------------------------------------- */

enum ix_table {
	IX_META = 0,    /* name -> u64, plain; logged */
	IX_INODE = 1,   /* ino | ~seq -> sealed inode; logged, versioned */
	IX_DIRENT = 2,  /* parent | namehash | ~seq -> sealed; versioned */
	IX_CONTENT = 3, /* ino | ~seq -> sealed chunk list; versioned */
	IX_SNAP = 4,    /* id (4) -> sealed snapshot record; logged */
	IX_ORPHAN = 5,  /* ino -> empty: unlinked while open; logged */
	IX_JOURNAL = 6, /* time | counter -> sealed entry; logged */
	IX_CHUNK = 7,   /* chunk id -> location; rebuilt from packs */
	IX_PACK = 8,    /* pack id -> state; rebuilt from packs */
	IX_NTABLES = 9,
};
#define IX_LOGGED(t) ((t) <= IX_JOURNAL)

#define SEQ_LIVE UINT64_MAX

/* ---- open and close; the lock --------------------------------------- */

/* ix_open -- open (with @create, create) the index file @name in the
 * store directory and its tables; ix_close -- close it (no transaction
 * open).  Single-threaded, no lock.  -EIO (logged) or -ENOMEM. */
int ix_open(store *st, const char *name, int create);
void ix_close(store *st);
/* ix_lock, ix_unlock -- take and release the index lock. */
void ix_lock(store *st);
void ix_unlock(store *st);

/* ---- the shared transaction (the committer thread only) ------------- */

/* ix_txn_begin -- begin the shared transaction (read-only in a read-only
 * store) and empty the log buffer; -EIO. */
int ix_txn_begin(store *st);
/* ix_txn_commit -- commit it durably (the transaction is gone either
 * way); -ENOSPC, -EDQUOT or -EIO (logged). */
int ix_txn_commit(store *st);
/* ix_size_update -- set st->index_bytes to the size of the index file's
 * used pages (done by ix_txn_commit); no lock needed. */
void ix_size_update(store *st);
/* ix_txn_abort -- drop it, if any.  ix_txn_renew -- see the latest
 * commits (read-only store), beginning anew if that fails. */
void ix_txn_abort(store *st);
void ix_txn_renew(store *st);
/* ix_log_seal -- the changes of the open transaction as a sealed log
 * object (store_codec.h) in a new buffer *@obj (NULL, 0 if there are
 * none, unless @always: then a log object without records); the caller
 * stores it in a pack, frees it, and calls ix_log_written(), which
 * moves to the next log sequence number.  -ENOMEM (no log buffer), or
 * the errors of obj_build(). */
int ix_log_seal(store *st, int always, uint8_t **obj, size_t *objlen);
int ix_log_written(store *st);
/* ix_log_rec_len, ix_log_rec_put -- the length of one record of a log
 * object's plaintext (beemo-store(5)) and its encoding at @p (room for
 * that length): the change of @k (@klen, 1..511 bytes) in table @t to
 * @v (@vlen bytes), or its deletion if @del.  No lock. */
size_t ix_log_rec_len(size_t klen, size_t vlen, int del);
void ix_log_rec_put(uint8_t *p, enum ix_table t, const void *k, size_t klen,
    const void *v, size_t vlen, int del);
/* ix_meta_logged -- 0 for the names (@len bytes) of the IX_META
 * counters that are never logged ("lsn", "next_pack", "ckpt_lsn":
 * ix_meta_put_nolog() is for these only; a rebuild derives them), 1 for
 * every other.  No lock. */
int ix_meta_logged(const void *name, size_t len);
/* ix_replay -- apply a log object's plaintext to the transaction
 * (rebuild); BEEMO_EFORMAT for a malformed one. */
int ix_replay(store *st, const uint8_t *plain, size_t len);

/* ---- raw records ---------------------------------------------------- */

/* ix_get -- the value of @k in @t; @v points into the map, valid until
 * the next change or ix_unlock.  ix_put, ix_del -- change it (logged if
 * the table is).  ix_del returns -ENOENT for a missing key. */
int ix_get(store *st, enum ix_table t, const void *k, size_t klen,
    MDB_val *v);
int ix_put(store *st, enum ix_table t, const void *k, size_t klen,
    const void *v, size_t vlen);
int ix_del(store *st, enum ix_table t, const void *k, size_t klen);
typedef int (*ix_scan_fn)(void *ctx, const void *k, size_t klen,
    const void *v, size_t vlen);
/* ix_scan -- call @fn on every record of @t in key order until it
 * returns nonzero (returned); @fn runs under ix_lock and must not
 * change @t.  -EIO if no cursor. */
int ix_scan(store *st, enum ix_table t, ix_scan_fn fn, void *ctx);
/* Sealed counters of IX_META: get (-ENOENT if never set), put (logged),
 * put without logging (counters derived on rebuild: only the names
 * ix_meta_logged() knows, which checkpoints leave out), add @delta
 * (clamped at 0). */
int ix_meta_get(store *st, const char *name, uint64_t *v);
int ix_meta_put(store *st, const char *name, uint64_t v);
int ix_meta_put_nolog(store *st, const char *name, uint64_t v);
int ix_meta_add(store *st, const char *name, int64_t delta);
/* ix_put_sealed -- seal @plain with its place as associated data and put
 * it.  ix_open_sealed -- open the value @val of @key from table @t into
 * a new NUL-terminated buffer *@plain (the caller frees it); -EBADMSG
 * (logged; opts.event(STORE_EV_DAMAGE) called under ix_lock). */
int ix_put_sealed(store *st, enum ix_table t, const uint8_t *k, size_t klen,
    const void *plain, size_t len);
int ix_open_sealed(store *st, enum ix_table t, const MDB_val *key,
    const MDB_val *val, uint8_t **plain, size_t *len);

/* ---- versioned records ---------------------------------------------- */

/* @prefix is the key without its ~seq suffix.  ix_vget -- the newest
 * version at or below @seq, raw (a tombstone is an empty sealed value);
 * -ENOENT if none.  ix_vdel -- remove the live version, leaving a
 * tombstone if a snapshot may see an older one. */
int ix_vget(store *st, enum ix_table t, const uint8_t *prefix, size_t plen,
    uint64_t seq, MDB_val *key, MDB_val *val);
int ix_vdel(store *st, enum ix_table t, const uint8_t *prefix, size_t plen);
/* ix_vput_sealed -- seal and put the live version.  ix_vget_sealed --
 * open the newest version at or below @seq into a new buffer (-ENOENT
 * for none or a tombstone) and, if @found_seq, say which it was. */
int ix_vput_sealed(store *st, enum ix_table t, const uint8_t *prefix,
    size_t plen, const void *plain, size_t len);
int ix_vget_sealed(store *st, enum ix_table t, const uint8_t *prefix,
    size_t plen, uint64_t seq, uint8_t **plain, size_t *len,
    uint64_t *found_seq);

#endif /* BEEMO_STORE_INDEX_H */
