/*
 * store_internal.h -- the store handle, the map of the store's layers
 * and their lock order.
 *
 * The store is built in layers; a layer calls only those below it, and
 * events go up through callbacks (named at each layer).  Each layer has
 * a header that is its manual:
 *
 *   codecs        store_codec.h: store_crypto.c (keys, sealing),
 *                 store_object.c (objects, pack headers), store_chunker.c,
 *                 store_codec.c (index records), store_acl.c (ACL xattrs)
 *   packs         store_pack.h: store_pack.c (writer, readers, commit
 *                 steps), store_pack_files.c (recovery steps, walk,
 *                 listing, names); own state (struct packs), no LMDB
 *   index         store_index.h: store_index.c (LMDB, versions, the log);
 *                 no packs
 *   records       store_record.h: store_record.c (inode, dirent, content
 *                 and chunk location records in the index)
 *   chunks        store_cache.h: store_cache.c (plaintext chunk cache,
 *                 reading a content); store_worker.h: store_worker.c
 *                 (sealing threads, struct cslots)
 *   namespace     store_ns.h: store_ns.c (views: view_seq, snap_get;
 *                 lookups, attributes, paths), store_ns_create.c,
 *                 store_ns_rename.c, store_ns_dir.c, store_ns_xattr.c
 *   open files    store_file.h: store_file.c (struct ofile, handles, the
 *                 commit of a file)
 *   pending       store_wfile.h: store_wfile.c, store_wfile_stage.c
 *   content
 *   commit path   store_commit.h: store_commit.c (the committer thread,
 *                 the only code that joins packs and index; recovery at
 *                 open); store_ckpt.h: store_ckpt.c (checkpoints of the
 *                 log: the rows, sealed by the committer, which stores
 *                 them through a callback)
 *   above         store_snap.h: store_snap.c (snapshots, statistics,
 *                 space and quotas: store_space_check, and store_report, the event
 *                 hook); store_journal.h: store_journal.c; store_check.c,
 *                 store_rebuild.c, store_open.c (create, open, close),
 *                 whose public calls are in store.h; store_prune.h:
 *                 store_prune.c (forget, index versions, chunk rows),
 *                 store_mark.c, store_repack.c (packs);
 *                 store_erase.h:
 *                 store_erase_find.c, store_erase.c (erasing a path)
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
 *      cache, store_cache.h), workers lock (job queue,
 *      store_worker.h), cslots.lock (one file's chunk slots).
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
struct cqueue;
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
	uint64_t live_same;   /* IX_META "live_same": the snapshot the live
				 tree equals, 0: changed since (store.h,
				 store_snapshot_take); ix_lock */
	int live_quiet;       /* index changes that change no visible
				 part of the live tree (reaping orphans):
				 live_same stays; ix_lock */
	uint64_t quota_hard;  /* bytes; 0: none; atomic */
	uint64_t index_bytes; /* used pages of the index file; atomic */
	uint64_t staged;      /* bytes in staging files, and out-of-order
			       * writes held in memory; atomic */
	int space_full;       /* writes are refused for want of space, and
			       * that was journaled and reported; atomic */

	/* Committer thread (store_commit.h). */
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
	/* Post-commit hooks, also run by the committer under ix_lock: the
	 * commit succeeded (committed), or failed with the error @err and
	 * a new transaction is open to record what was lost (lost). */
	void (*committed)(void *ctx);
	int (*lost)(void *ctx, int err);
	void *precommit_ctx;        /* of the three hooks */
	int precommit_pending;      /* the hook has work to do; ix_lock */
	/* Background commits (store_cqueue.h) and the namespace: a
	 * namespace change is committed only with the files closed before
	 * it.  ns_lock() records in @txn_need the last commit queued; the
	 * committer waits for those before it commits, and meanwhile
	 * (@quiescing) namespace changes wait on @quiet_cv.  A snapshot
	 * does the same before it freezes the namespace.  @quiescing
	 * counts those waiting (the committer, a snapshot). */
	uint64_t txn_need;          /* ix_lock */
	unsigned quiescing;         /* ix_lock */
	uint64_t commit_behind;     /* a commit round was given up while
				     * the files closed up to this one were
				     * not done (store_commit.c); ix_lock */
	pthread_cond_t quiet_cv;    /* @quiescing went to 0; ix_lock */

	/* The pack files (store_pack.h); their own locks inside. */
	struct packs packs;
	int want_close;               /* close the open pack at the next
				       * commit; ix_lock */
	int ckpt_want;                /* write a checkpoint at the next
				       * commit (store_ckpt.h); ix_lock */
	size_t ckpt_part;             /* plaintext bytes of a checkpoint
				       * part, 0: CKPT_PART_MAX (the unit
				       * tests set less); ix_lock */

	/* Set at open, read-only after; each has its own lock inside. */
	struct cache *cache;
	struct workers *workers;
	struct cqueue *cq;            /* background commits, or NULL */

	/* Open files by inode.  of_lock protects the table only. */
	pthread_mutex_t of_lock;
	struct ofile **of_tab;        /* of_lock */
	size_t of_cap, of_count;      /* of_lock */

	uint64_t *snapseq;            /* snapshot id -> seq; of_lock */
	struct store_file *handles;   /* open handles (hnext); of_lock */

	/* Journal (store_journal.h); all protected by ix_lock, but
	 * opened, which is set at open. */
	char who[80];
	int in_session;
	struct store_session sess;
	char *jbatch;                 /* "OP /path" strings, NUL-separated */
	size_t jlen, jcap, jcount;
	size_t jdone_len, jdone_count; /* the first lines of jbatch, in the
					* open transaction (journal_flush) */
	struct timespec opened;       /* set at open, read-only after */

	int interrupted;              /* store_interrupt(); atomic */

	/* Statistics of this handle; atomics (no lock). */
	uint64_t st_files, st_bytes;
};

/* ---- the store's identity (store_open.c) ------------------------------ */

/* store_id_read -- store_read_id() (store.h), and the store's format
 * (STORE_FORMAT_V1 or STORE_FORMAT, store_codec.h) into *@format.  Same
 * errors: BEEMO_EVERSION for any other version. */
int store_id_read(const char *dir, uint8_t appliance[KEYMGR_ID_LEN],
    uint8_t machine[KEYMGR_ID_LEN], unsigned *format);

/* ---- helpers ----------------------------------------------------------- */

/* ino_snap -- the snapshot id of inode number @ino (0: live tree). */
static inline uint64_t
ino_snap(uint64_t ino)
{
	return ino >> STORE_SNAP_SHIFT;
}

/* ino_is_snap -- whether @ino is read-only: /.snapshots or in one. */
static inline int
ino_is_snap(uint64_t ino)
{
	return ino == STORE_SNAPDIR_INO || ino_snap(ino) != 0;
}

#endif /* BEEMO_STORE_INTERNAL_H */
