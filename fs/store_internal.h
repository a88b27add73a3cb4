/*
 * store_internal.h -- internals shared by the fs/store_*.c files.
 *
 * Files:
 *   store_crypto.c   sealing (AES-256-GCM), MACs, name hashes
 *   store_chunker.c  keyed FastCDC cut points
 *   store_pack.c     pack files: writer, reader, fd cache, recovery
 *   store_index.c    LMDB: the shared transaction, versioned records,
 *                    the log, the committer thread
 *   store_record.c   encoding of inode, dirent, content records
 *   store_cache.c    cache of plaintext chunks
 *   store_worker.c   chunk sealing threads
 *   store_ns.c       namespace operations
 *   store_wfile.c    write buffers: streaming and staging
 *   store_file.c     open files: read, write, commit
 *   store_open.c     create, open, close
 *   store_snap.c     snapshots, statistics
 *   store_check.c    verification of index and packs
 *   store_rebuild.c  rebuilding the index from the packs
 */
#ifndef BEEMO_STORE_INTERNAL_H
#define BEEMO_STORE_INTERNAL_H

#include <lmdb.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdint.h>

#include "bm.h"
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

/* ---- the store handle ------------------------------------------------ */

struct pack_writer {
	uint64_t id;
	int fd;
	uint64_t size;
	uint64_t objects;
};

struct cache;
struct workers;
struct ofile;

struct store {
	char *dir;
	const keymgr_secret *secret;
	struct store_opts opts;
	uint8_t machine_id[KEYMGR_ID_LEN];
	uint8_t appliance_id[KEYMGR_ID_LEN];
	int lockfd;
	int stagedir_fd;

	/* Keys (store_codec.h); read-only after open. */
	struct store_keys keys;

	/* Index.  ix_lock protects txn, the counters, the log buffer and
	 * every use of the index; see store_index.c. */
	MDB_env *env;
	MDB_dbi dbi[IX_NTABLES];
	pthread_mutex_t ix_lock;
	MDB_txn *txn;
	uint64_t live_seq;    /* protected by ix_lock */
	uint64_t next_ino;    /* protected by ix_lock */
	uint64_t lsn;         /* next log sequence number; ix_lock */
	uint8_t *logbuf;      /* changes of the open txn; ix_lock */
	size_t loglen, logcap;
	int ix_err;           /* sticky commit failure; ix_lock */
	int dirty;            /* the txn has changes; ix_lock */
	uint64_t changes;     /* logged changes since open/snapshot; ix_lock */
	uint64_t quota_hard;  /* bytes; 0: none; atomic */
	uint64_t stored;      /* bytes in packs; atomic */

	/* Committer thread. */
	pthread_t committer;
	pthread_cond_t commit_cv;   /* wakes the committer; ix_lock */
	pthread_cond_t done_cv;     /* a commit finished; ix_lock */
	int stopping;               /* ix_lock */
	int commit_now;             /* requests pending; ix_lock */
	uint64_t commits;           /* completed commits; ix_lock */
	int txn_ready;              /* ix_lock */
	/* Pre-commit hook: run by the committer under ix_lock before the
	 * log is sealed (the journal's batch); set before commit_start. */
	int (*precommit)(void *ctx);
	void *precommit_ctx;
	int precommit_pending;      /* the hook has work to do; ix_lock */

	/* Pack writer.  Lock order: ix_lock, then pk_lock. */
	pthread_mutex_t pk_lock;
	struct pack_writer pw;        /* pw.fd < 0: no open pack; pk_lock */
	struct pack_writer *closing;  /* rolled over, closed at commit */
	size_t nclosing;
	struct pack_writer *committing; /* closed by the running commit */
	size_t ncommitting;
	uint64_t next_pack;           /* pk_lock */
	int want_close;               /* close the open pack at commit */

	/* Pack readers: descriptors by pack id, LRU (store_pack.c).  The
	 * table, its entries and the tick are protected by fd_lock; entries
	 * never move (see pack_fd_get). */
	pthread_mutex_t fd_lock;
	struct fdent **fds;         /* fd_lock */
	size_t nfds;                /* fd_lock */
	uint64_t fd_tick;           /* fd_lock */

	struct cache *cache;
	struct workers *workers;

	/* Open files by inode.  of_lock protects the table only. */
	pthread_mutex_t of_lock;
	struct ofile **of_tab;
	size_t of_cap, of_count;

	uint64_t *snapseq;            /* snapshot id -> seq; of_lock */

	/* Journal (store_journal.c); all protected by ix_lock. */
	char who[80];
	int in_session;
	struct store_session sess;
	char *jbatch;                 /* "OP /path" strings, NUL-separated */
	size_t jlen, jcap, jcount;
	struct timespec opened;

	/* Statistics of this handle; atomics. */
	uint64_t st_files, st_bytes;
};

/* ---- store_pack.c ----------------------------------------------------- */

/* Append an object to the open pack; @pack and @off receive its place. */
int pack_append(store *st, const void *obj, size_t len, uint64_t *pack,
    uint64_t *off);
/* Read the object at @loc, check it is chunk @id, decrypt. */
int pack_read_chunk(store *st, const uint8_t id[OBJ_ID_LEN],
    const struct chunk_loc *loc, uint8_t **plain);
int pack_path(const store *st, uint64_t id, int open, char *buf, size_t n);
int pack_pread(store *st, uint64_t pack, void *buf, size_t len, uint64_t off);
void pack_fd_forget(store *st, uint64_t id);
int pack_fds_init(store *st);
void pack_fds_close(store *st);
/*
 * The commit steps, called by the committer (store_commit.c) with
 * ix_lock held.  pack_commit_prepare() rolls the open pack over if a
 * close was asked for, reports every pack's state and the next pack
 * number through @ops (both callbacks run under ix_lock and pk_lock;
 * they must not take either), then syncs the packs with pk_lock
 * released.  pack_commit_done() closes the packs that commit closed and,
 * if @committed, renames them to ID.pack.
 */
struct pack_commit_ops {
	int (*record)(void *ctx, uint64_t id, const struct pack_rec *r);
	int (*next)(void *ctx, uint64_t next_pack);
	void *ctx;
};
void pack_presync(store *st);
int pack_commit_prepare(store *st, const struct pack_commit_ops *ops);
void pack_commit_done(store *st, int committed);
void pack_writer_abort(store *st);
/* Recovery at open, before any writer (store_commit.c): cut pack @id
 * back to @size and rename it closed; remove the ".open" packs that
 * @known (called with the caller's locks) says no commit recorded. */
int pack_cut(store *st, uint64_t id, uint64_t size);
int pack_sweep(store *st, int (*known)(void *ctx, uint64_t id), void *ctx);
uint64_t pack_next_id(store *st);
void pack_set_next_id(store *st, uint64_t id);
/*
 * pack_walk -- read pack @id at @path object by object, calling @fn with
 * each object's decoded header and raw bytes (header, ciphertext, tag;
 * valid during the call).  Stops at the first malformed or truncated
 * object (returning -EIO or BEEMO_EFORMAT) or when @fn returns nonzero.
 * @valid_end receives the end of the last whole object.
 */
typedef int (*pack_walk_fn)(void *ctx, uint64_t pack, uint64_t off,
    const struct obj_hdr *h, const uint8_t *raw);
int pack_walk(const uint8_t machine[KEYMGR_ID_LEN], const char *path,
    uint64_t id, pack_walk_fn fn, void *ctx, uint64_t *valid_end);
/* pack_list -- ids of every pack file under @dir/packs, and whether each
 * is still open (".pack.open"); caller frees both arrays. */
int pack_list(const char *dir, uint64_t **ids, int **open, size_t *n);

/* ---- store_index.c ---------------------------------------------------- */

int ix_open(store *st, const char *name, int create);
void ix_close(store *st);
/* The shared transaction, begun, committed, aborted and renewed by the
 * committer only (ix_lock held). */
int ix_txn_begin(store *st);
int ix_txn_commit(store *st);
void ix_txn_abort(store *st);
void ix_txn_renew(store *st);
/* The log object of the open transaction's changes (NULL if none), and
 * the note that it is in a pack (ix_lock held). */
int ix_log_seal(store *st, uint8_t **obj, size_t *objlen);
int ix_log_written(store *st);
typedef int (*ix_scan_fn)(void *ctx, const void *k, size_t klen,
    const void *v, size_t vlen);
/* Call @fn on every record of table @t in key order until it returns
 * nonzero (returned); ix_lock held, and @fn must not change @t. */
int ix_scan(store *st, enum ix_table t, ix_scan_fn fn, void *ctx);
void ix_lock(store *st);
void ix_unlock(store *st);
/* Raw access within the shared txn (ix_lock held). */
int ix_get(store *st, enum ix_table t, const void *k, size_t klen,
    MDB_val *v);
int ix_put(store *st, enum ix_table t, const void *k, size_t klen,
    const void *v, size_t vlen);
int ix_del(store *st, enum ix_table t, const void *k, size_t klen);
int ix_meta_get(store *st, const char *name, uint64_t *v);
int ix_meta_put(store *st, const char *name, uint64_t v);
/* Counters that are derived on rebuild are not logged. */
int ix_meta_put_nolog(store *st, const char *name, uint64_t v);
int ix_meta_add(store *st, const char *name, int64_t delta);
int ix_put_sealed(store *st, enum ix_table t, const uint8_t *k, size_t klen,
    const void *plain, size_t len);
int ix_open_sealed(store *st, enum ix_table t, const MDB_val *key,
    const MDB_val *val, uint8_t **plain, size_t *len);
/* Versioned records: @prefix is the key without its ~seq suffix. */
int ix_vget(store *st, enum ix_table t, const uint8_t *prefix, size_t plen,
    uint64_t seq, MDB_val *key, MDB_val *val);
int ix_vput(store *st, enum ix_table t, const uint8_t *prefix, size_t plen,
    const void *v, size_t vlen, uint64_t *seq);
int ix_vdel(store *st, enum ix_table t, const uint8_t *prefix, size_t plen);
/* Replay a log object's plaintext (rebuild). */
int ix_replay(store *st, const uint8_t *plain, size_t len);
/* Sealed versioned values: encode AAD and seal/open through them. */
int ix_vput_sealed(store *st, enum ix_table t, const uint8_t *prefix,
    size_t plen, const void *plain, size_t len);
int ix_vget_sealed(store *st, enum ix_table t, const uint8_t *prefix,
    size_t plen, uint64_t seq, uint8_t **plain, size_t *len,
    uint64_t *found_seq);

/* ---- store_commit.c --------------------------------------------------- */

int commit_start(store *st);
int commit_stop(store *st);
/* Ask for a commit and wait until it is done (durably); with and
 * without ix_lock held. */
int commit_wait(store *st);
int commit_wait_locked(store *st);
/* Recovery at open (ix_lock held, before any writer). */
int commit_recover(store *st);

/* ---- store_record.c --------------------------------------------------- */

int inode_get(store *st, uint64_t ino, uint64_t seq, struct inode *out);
int inode_put(store *st, struct inode *in);
int inode_del(store *st, uint64_t ino);
int dirent_get(store *st, uint64_t parent, const char *name, uint64_t seq,
    struct dirent_rec *out);
int dirent_put(store *st, uint64_t parent, const char *name, uint64_t ino,
    uint8_t type);
int dirent_del(store *st, uint64_t parent, const char *name);
int content_get(store *st, uint64_t ino, uint64_t seq, struct content **out);
int content_put(store *st, uint64_t ino, const struct content *c,
    uint64_t *seq);
int chunk_loc_get(store *st, const uint8_t id[OBJ_ID_LEN],
    struct chunk_loc *out);
int chunk_loc_put(store *st, const uint8_t id[OBJ_ID_LEN],
    const struct chunk_loc *loc);

/* ---- store_cache.c ----------------------------------------------------- */

int cache_new(store *st, uint64_t bytes);
void cache_free(store *st);
/*
 * cache_get -- the plaintext of chunk @id (loading it on a miss, once
 * even if several threads ask).  @data receives a pointer valid until
 * cache_put(@h).  Returns 0 or a negative errno.
 */
int cache_get(store *st, const uint8_t id[OBJ_ID_LEN], const uint8_t **data,
    uint32_t *len, void **h);
void cache_put(store *st, void *h);
/* Load chunk @id into the cache in the background (read-ahead). */
void cache_prefetch(store *st, const uint8_t id[OBJ_ID_LEN]);
/* Offer a freshly written chunk's plaintext (takes ownership). */
void cache_offer(store *st, const uint8_t id[OBJ_ID_LEN], uint8_t *data,
    uint32_t len);
/* Read @len bytes at @off of content @c into @buf (holes are zeros). */
ssize_t content_read(store *st, const struct content *c, void *buf,
    size_t len, uint64_t off);

/* ---- store_worker.c ---------------------------------------------------- */

/* A list of chunk slots that workers fill in. */
struct cslots {
	pthread_mutex_t lock;
	pthread_cond_t cv;
	struct cref *c;
	uint32_t n, cap;
	uint32_t inflight;
	int err;
	int keep_plain; /* offer plaintext to the cache */
};
int workers_start(store *st);
void workers_stop(store *st);
void cslots_init(struct cslots *s);
void cslots_fini(struct cslots *s);
/* Append a slot for a chunk of @len bytes in @data (ownership passes)
 * and hand it to a worker.  Blocks while too much data is in flight. */
int cslots_submit(store *st, struct cslots *s, uint8_t *data, uint32_t len);
/* Append an already stored chunk. */
int cslots_add(struct cslots *s, const struct cref *c);
/* Wait for every submitted chunk; returns the first error. */
int cslots_wait(struct cslots *s);
/* Store one chunk synchronously (used by workers). */
int chunk_store(store *st, uint8_t *data, uint32_t len, uint8_t id[OBJ_ID_LEN],
    int keep_plain);

/* ---- store_wfile.c / store_file.c -------------------------------------- */

struct wfile;

struct ofile {
	uint64_t ino;
	struct ofile *hnext;     /* hash chain; of_lock */
	int refs;                /* handles; of_lock */
	pthread_mutex_t lock;    /* the rest */
	struct content *content; /* committed content, or NULL */
	struct wfile *w;         /* pending changes, or NULL */
};

struct store_file {
	store *st;
	struct ofile *of; /* NULL for snapshot files */
	uint64_t ino;
	int flags;
	struct content *snap_content; /* snapshot files */
	int dirty_fd;                 /* this handle wrote */
};

struct wfile *wfile_new(store *st, struct content *base, uint64_t size);
void wfile_free(struct wfile *w);
int wfile_write(struct wfile *w, const void *buf, size_t len, uint64_t off);
ssize_t wfile_read(struct wfile *w, void *buf, size_t len, uint64_t off);
int wfile_truncate(struct wfile *w, uint64_t size);
uint64_t wfile_size(const struct wfile *w);
/* Produce the new content; @scan_mem receives the plaintext when the
 * whole file is one in-memory chunk (valid until wfile_free). */
int wfile_finish(struct wfile *w, struct content **out,
    const uint8_t **scan_mem);
int wfile_mtime(const struct wfile *w, struct timespec *t);
void wfile_set_mtime(struct wfile *w, int explicit_time);
void wfile_keep_plain(struct wfile *w, int keep);

struct ofile *ofile_get(store *st, uint64_t ino, int create);
void ofile_put(store *st, struct ofile *of);
int file_commit(store *st, struct ofile *of);
/* Apply a size change to an inode (open or not): store_setattr. */
int file_truncate(store *st, uint64_t ino, uint64_t size);
/* Attributes of an open file override the index's (size, mtime). */
void file_attr_overlay(store *st, struct store_attr *a);
/* Delete the records of orphan @ino (nlink 0), ix_lock held. */
int ns_reap_locked(store *st, uint64_t ino);
/* Reap every orphan (at open and close: no kernel holds them then). */
int reap_orphans(store *st);
int file_set_mtime(store *st, uint64_t ino);
/* 0 if directory @dir has an entry at @seq, -ENOENT if empty. */
int dir_first_entry(store *st, uint64_t dir, uint64_t seq);
int snap_decode(struct store_snapinfo *si, uint32_t id, const uint8_t *p,
    size_t len);
int snap_get(store *st, uint32_t id, struct store_snapinfo *out);
int store_quota_check(store *st, size_t more);
void store_quota_statfs(store *st, struct statvfs *out);

/* ---- store_journal.c --------------------------------------------------- */

/* Journal a file operation of the backup session (ix_lock held);
 * @op is "added", "changed", "deleted" or "renamed". */
void journal_file(store *st, const char *op, const char *path,
    const char *path2);
/* Journal a namespace change of the live tree (ix_lock held). */
void journal_name(store *st, const char *op, uint64_t parent,
    const char *name, uint64_t parent2, const char *name2);
/* An entry of @type about one file (takes ix_lock). */
void journal_event(store *st, const char *type, const char *summary,
    const char *path);
/* Write the batch of file operations as one entry (ix_lock held). */
int journal_flush(store *st);
/* journal_flush(@ctx) as the commit path's pre-commit hook. */
int journal_precommit(void *ctx);
/* store_journal_add with ix_lock held. */
int journal_add_locked(store *st, const struct store_journal_entry *e);
/* Path of live inode @ino, ix_lock held. */
int path_locked(store *st, uint64_t ino, uint64_t seq, char *buf,
    size_t size);

/* ---- helpers ----------------------------------------------------------- */

static inline uint64_t
ino_snap(uint64_t ino)
{
	return ino >> STORE_SNAP_SHIFT;
}

static inline int
ino_is_snap(uint64_t ino)
{
	return ino == STORE_SNAPDIR_INO || ino_snap(ino) != 0;
}

/* Sequence to read inode @ino at (snapshot seq or SEQ_LIVE). */
int view_seq(store *st, uint64_t ino, uint64_t *seq);

void store_report(store *st, enum store_event ev, const char *path,
    const char *detail);

#endif /* BEEMO_STORE_INTERNAL_H */
