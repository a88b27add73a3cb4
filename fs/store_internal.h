/*
 * store_internal.h -- the store handle, and the layers above the index.
 *
 * The store is built in layers; a layer calls only those below it, and
 * events go up through callbacks (named at each layer):
 *
 *   codecs        store_codec.h: store_crypto.c (keys, sealing),
 *                 store_object.c (objects, pack headers), store_chunker.c,
 *                 store_codec.c (index records), store_acl.c (ACL xattrs)
 *   packs         store_pack.h: store_pack.c (writer, readers, commit
 *                 steps), store_pack_files.c (recovery steps, walk,
 *                 listing, names); own state (struct packs), no LMDB
 *   index         store_index.h: store_index.c (LMDB, versions, the log);
 *                 no packs
 *   records       store_record.c: inode, dirent, content and chunk
 *                 location records in the index
 *   namespace     store_ns.h: store_ns.c (views: view_seq, snap_get;
 *                 lookups, attributes, paths), store_ns_create.c,
 *                 store_ns_rename.c, store_ns_dir.c, store_ns_xattr.c
 *   open files    store_file.c (open files, commit of a file),
 *   and pending   store_wfile.h: store_wfile.c, store_wfile_stage.c,
 *   content       store_worker.c (sealing threads), store_cache.c
 *   commit path   store_commit.c: the committer thread, the only code
 *                 that joins packs and index; recovery at open
 *   above         store_snap.c (snapshots, statistics, quota:
 *                 store_quota_check, and store_report, the event hook),
 *                 store_journal.c, store_check.c, store_rebuild.c,
 *                 store_open.c (create, open, close)
 *
 * Locks, in the order they are taken (never the reverse):
 *   1. ofile.lock   one open file's content and pending changes
 *   2. ix_lock      the index: the transaction and everything marked
 *                   "ix_lock" below (the journal's batch too)
 *   3. of_lock      the open-file table and the snapshot sequences
 *      pk_lock      the pack writer (taken under ix_lock by the commit
 *                   path, alone by writers); never together with of_lock
 *   4. leaves, held alone or innermost and never across a call into
 *      another layer: fd_lock (pack descriptors), cache lock (chunk
 *      cache, store_cache.c), workers lock (job queue,
 *      store_worker.c), cslots.lock (one file's chunk slots).
 * A sealing worker takes ix_lock, then pk_lock, with no other lock; a
 * cache load takes ix_lock, releases it, then reads the pack (fd_lock),
 * with no cache lock held.
 */
#ifndef BEEMO_STORE_INTERNAL_H
#define BEEMO_STORE_INTERNAL_H

#include <lmdb.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdint.h>

#include "store.h"
#include "store_codec.h"
#include "store_index.h"
#include "store_pack.h"

/* ---- the store handle ------------------------------------------------ */

struct cache;
struct workers;
struct ofile;

/* The store handle.  Fields without a lock in their comment are set at
 * open and read-only after. */
struct store {
	char *dir;
	const keymgr_secret *secret;
	struct store_opts opts;
	uint8_t machine_id[KEYMGR_ID_LEN];
	uint8_t appliance_id[KEYMGR_ID_LEN];
	int lockfd;
	int stagedir_fd;

	/* Keys (store_codec.h). */
	struct store_keys keys;

	/* Index (store_index.h).  ix_lock protects txn, the counters, the
	 * log buffer and every use of the index.  env and dbi are set at
	 * open and read-only after. */
	MDB_env *env;
	MDB_dbi dbi[IX_NTABLES];
	pthread_mutex_t ix_lock;
	MDB_txn *txn;         /* ix_lock */
	uint64_t live_seq;    /* protected by ix_lock */
	uint64_t next_ino;    /* protected by ix_lock */
	uint64_t lsn;         /* next log sequence number; ix_lock */
	uint8_t *logbuf;      /* changes of the open txn; ix_lock */
	size_t loglen, logcap; /* ix_lock */
	int ix_err;           /* sticky commit failure; ix_lock */
	int dirty;            /* the txn has changes; ix_lock */
	uint64_t changes;     /* logged changes since open/snapshot; ix_lock */
	uint64_t quota_hard;  /* bytes; 0: none; atomic */

	/* Committer thread (store_commit.c). */
	pthread_t committer;        /* set by commit_start */
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

	/* The pack files (store_pack.h); their own locks inside. */
	struct packs packs;
	int want_close;               /* close the open pack at the next
				       * commit; ix_lock */

	/* Set at open, read-only after; each has its own lock inside. */
	struct cache *cache;
	struct workers *workers;

	/* Open files by inode.  of_lock protects the table only. */
	pthread_mutex_t of_lock;
	struct ofile **of_tab;        /* of_lock */
	size_t of_cap, of_count;      /* of_lock */

	uint64_t *snapseq;            /* snapshot id -> seq; of_lock */

	/* Journal (store_journal.c); all protected by ix_lock, but
	 * opened, which is set at open. */
	char who[80];
	int in_session;
	struct store_session sess;
	char *jbatch;                 /* "OP /path" strings, NUL-separated */
	size_t jlen, jcap, jcount;
	struct timespec opened;       /* set at open, read-only after */

	/* Statistics of this handle; atomics (no lock). */
	uint64_t st_files, st_bytes;
};

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

/* A list of chunk slots that workers fill in.  lock protects every
 * field but keep_plain (set by the owner before it submits, read-only
 * while chunks are in flight); cv signals that inflight went down. */
struct cslots {
	pthread_mutex_t lock;
	pthread_cond_t cv;
	struct cref *c;     /* lock */
	uint32_t n, cap;    /* lock */
	uint32_t inflight;  /* submitted, not yet sealed; lock */
	int err;            /* first error of a worker; lock */
	int keep_plain;     /* offer plaintext to the cache */
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
