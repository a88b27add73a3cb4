/*
 * store_pack.h -- the pack files: the layer above the codecs.
 *
 * A pack is a 32-byte header followed by sealed objects (store_codec.h).
 * One pack at a time is open for appending, named ID.pack.open; at a
 * commit its length is recorded in the index (by the commit path,
 * through the callbacks of pack_commit_prepare()).  When it reaches the
 * target size it rolls over; at the next commit it is fsynced, recorded
 * closed, and after the commit renamed to ID.pack: from then on it never
 * changes and beemo-sync may push it.  Readers keep a small LRU of
 * descriptors by pack id (never one per inode or per file): a pack is
 * found as ID.pack, else ID.pack.open.
 *
 * Layer rule: this layer knows files and the codecs, not the index: it
 * neither reads nor writes LMDB.  What the index must learn (pack
 * states, the next pack number) goes up through struct pack_commit_ops;
 * what the pack layer must ask (is a pack known?) through a callback of
 * pack_sweep(); damage is reported through the store's event callback
 * (opts.event).
 *
 * The layer's state is its own struct packs; the functions below never
 * see the store handle.  Locks (see store_internal.h for the whole
 * order): pk_lock protects the writer (open pack, closing list, next
 * pack number); fd_lock the descriptor cache.  ix_lock, when held, is
 * taken before pk_lock; fd_lock is a leaf.  The functions below take
 * these locks themselves.
 */
#ifndef BEEMO_STORE_PACK_H
#define BEEMO_STORE_PACK_H

#include <pthread.h>

#include "store.h"
#include "store_codec.h"

/* A pack being written: its id, descriptor (< 0: none), committed or
 * written length, and object count. */
struct pack_writer {
	uint64_t id;
	int fd;
	uint64_t size;
	uint64_t objects;
};

struct fdent;

/*
 * The pack files of one store.  The first fields are set by pack_init()
 * and read-only after; the others say what protects them.
 */
struct packs {
	const char *dir;               /* the store directory (not owned) */
	uint8_t machine_id[KEYMGR_ID_LEN];
	const struct store_keys *keys; /* not owned */
	uint64_t pack_size;            /* roll over at this size */
	store_event_fn event;          /* damage reports; may be NULL */
	void *event_ctx;

	uint64_t stored;               /* bytes in packs; atomic */

	/* The writer. */
	pthread_mutex_t pk_lock;
	struct pack_writer pw;        /* pw.fd < 0: no open pack; pk_lock */
	struct pack_writer *closing;  /* rolled over, closed at the next
				       * commit; pk_lock */
	size_t nclosing;              /* pk_lock */
	/* Closed by the running commit: handed over under pk_lock by
	 * pack_commit_prepare, then used and freed by the committer thread
	 * alone (pack_commit_done), which also reads it under pk_lock. */
	struct pack_writer *committing;
	size_t ncommitting;
	uint64_t next_pack;           /* pk_lock */
	int err;                      /* the first I/O or fdatasync error:
				       * sticky (see below); pk_lock */

	/* The readers: descriptors by pack id, LRU.  The table, its
	 * entries and the tick are protected by fd_lock; entries never
	 * move (see pack_fd_get). */
	pthread_mutex_t fd_lock;
	struct fdent **fds;         /* fd_lock */
	size_t nfds;                /* fd_lock */
	uint64_t fd_tick;           /* fd_lock */
};

/*
 * pack_init -- set up @pk (which the caller zeroed) for the store in
 * @dir of @machine, sealing with @keys, rolling packs over at
 * @pack_size bytes, reporting damage to @event (may be NULL): the locks
 * and the descriptor cache; no pack is opened.  @dir and @keys must
 * outlive @pk; @dir is not NULL.  Returns 0 or -ENOMEM (then call
 * pack_fini all the same).
 * pack_fini -- close every descriptor and free what @pk holds; the
 * writer must have been closed (pack_writer_abort).  A zeroed @pk that
 * pack_init never saw is left alone.  Single-threaded.
 */
int pack_init(struct packs *pk, const char *dir,
    const uint8_t machine[KEYMGR_ID_LEN], const struct store_keys *keys,
    uint64_t pack_size, store_event_fn event, void *event_ctx);
void pack_fini(struct packs *pk);

/* ---- writing -------------------------------------------------------- */

/*
 * pack_append -- append the sealed object @obj (@len bytes) to the open
 * pack, starting a new pack first if none is open (ID.pack.open, header
 * written) and rolling it over to the closing list once it reaches
 * opts.pack_size.  *@pack and *@off receive the object's place.  Takes
 * pk_lock.  Returns 0, -ENOMEM, or the errno of open/write (logged).
 * Nothing appended is durable or referenced until a commit.
 */
int pack_append(struct packs *pk, const void *obj, size_t len, uint64_t *pack,
    uint64_t *off);
/* pack_writer_abort -- close the open and closing packs without a
 * commit (store close, after the final commit).  Single-threaded. */
void pack_writer_abort(struct packs *pk);

/* ---- reading -------------------------------------------------------- */

/*
 * pack_read_chunk -- read the object at @loc into @raw (at least
 * PACK_CHUNK_RAW(loc) bytes: scratch, which may be left holding
 * compressed plaintext, so the caller wipes it before freeing it), check
 * that its header is that of chunk @id as the index says, authenticate
 * and decode it into @plain (at least loc->plain_len bytes).  The
 * buffers are the caller's so that a reader can reuse them: fresh
 * megabyte buffers cost a page fault per page.  Returns 0, -EIO
 * (missing or truncated pack, header that disagrees), -EBADMSG (damaged
 * or tampered: logged, and opts.event(STORE_EV_DAMAGE) called with no
 * store lock held), BEEMO_ENOKEY or -ENOMEM.  Takes fd_lock briefly;
 * call it with no lock of the store held, or the open-file lock only.
 */
#define PACK_CHUNK_RAW(loc) \
	(OBJ_HDR_LEN + (size_t)(loc)->stored_len + OBJ_TAG_LEN)
int pack_read_chunk(struct packs *pk, const uint8_t id[OBJ_ID_LEN],
    const struct chunk_loc *loc, uint8_t *raw, uint8_t *plain);
/* pack_pread -- @len bytes of pack @pack at @off through the descriptor
 * cache.  Returns 0, -EIO (short: truncated pack) or a negative errno. */
int pack_pread(struct packs *pk, uint64_t pack, void *buf, size_t len,
    uint64_t off);
/* pack_path -- the file name of pack @id under the store (with ".open"
 * if @open) into @buf; 0 or -ENAMETOOLONG.  No lock.  The parsers of
 * these names are public: pack_name_parse() in store.h. */
int pack_path(const struct packs *pk, uint64_t id, int open, char *buf,
    size_t n);
/* pack_fd_forget -- close the cached descriptor of pack @id unless a
 * reader holds it (after the pack was renamed or removed). */
void pack_fd_forget(struct packs *pk, uint64_t id);

/* ---- committing and recovery ---------------------------------------- */

/*
 * Errors of the packs' disk are sticky.  The first write error (but
 * -ENOSPC, -EDQUOT) or fdatasync error (any) of a pack is kept in pk->err
 * and returned by every later pack_append(), pack_presync() and
 * pack_commit_prepare(): after a failed writeback the kernel reports
 * the error once and then calls the file clean, so a later sync that
 * succeeds proves nothing (store_pack.c, pack_fail, says more).  The
 * store commits nothing more until it is reopened (but the record of
 * what was lost, in a new pack: pack_abandon), and the reopening cuts
 * the packs back to their last committed lengths.
 *
 * pack_presync -- fdatasync every pack with data not yet on disk
 * without holding any lock, so that the sync under ix_lock is short
 * (the committer, before it takes ix_lock).  Returns 0 or the sticky
 * error (-EIO, ...), or -ENOMEM.
 *
 * The commit steps, called by the committer (store_commit.c) with
 * ix_lock held.  pack_commit_prepare() rolls the open pack over if
 * @close_open, reports every pack's state and the next pack
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
int pack_presync(struct packs *pk);
int pack_commit_prepare(struct packs *pk, int close_open,
    const struct pack_commit_ops *ops);
void pack_commit_done(struct packs *pk, int committed);
void pack_writer_abort(struct packs *pk);
/*
 * pack_abandon -- after a failed commit (pack_commit_done(pk, 0) done):
 * close the open pack and the rolled-over ones without recording
 * anything (the next open of the store cuts them back to what the index
 * recorded, or removes them), and forget the sticky error, so that the
 * commit path can record the failure in a new pack.  pack_refuse -- make
 * @err the sticky error (if there is none yet): every later append and
 * commit fails with it.  Both take pk_lock.
 */
void pack_abandon(struct packs *pk);
void pack_refuse(struct packs *pk, int err);
/* Recovery at open, before any writer (store_commit.c): cut pack @id
 * back to @size and rename it closed; remove the ".open" packs that
 * @known (called with the caller's locks) says no commit recorded
 * (closed packs are never removed). */
int pack_cut(struct packs *pk, uint64_t id, uint64_t size);
/* pack_remove -- delete the file of pack @id (ID.pack, or ID.pack.open),
 * if there is one, and forget its descriptor: a pack the index records
 * dropped by a prune (store_prune.h), after the commit that did, or at
 * the next read-write open after a crash.  Returns 0 or the errno of
 * unlink(2). */
int pack_remove(struct packs *pk, uint64_t id);
int pack_sweep(struct packs *pk, int (*known)(void *ctx, uint64_t id),
    void *ctx);
/*
 * pack_logs -- the log objects and checkpoint parts of pack @id (the
 * file ID.pack.open if @is_open, else ID.pack) that lie whole between
 * offsets @from (0: the start) and @to (UINT64_MAX: the end of the
 * file): each is read, authenticated with pk->keys and its place in the
 * log (obj_log_place()) passed to @fn(@ctx, @id, place).  Only headers
 * of chunks are read.  What a crash
 * can leave is skipped silently: a file of another machine or with a
 * bad header, a torn or garbage object (the walk ends there), a log
 * object that fails authentication.  Returns 0, the first nonzero
 * value of @fn, -ENOMEM, or the errno of open(2) (-ENOENT: no such
 * file) or of a read.  No lock taken: call it before any writer runs
 * (at open).
 */
typedef int (*pack_lsn_fn)(void *ctx, uint64_t pack,
    const struct log_place *place);
int pack_logs(struct packs *pk, uint64_t id, int is_open, uint64_t from,
    uint64_t to, pack_lsn_fn fn, void *ctx);
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

/* pack_next_id, pack_set_next_id -- the id the next new pack gets
 * (pk_lock taken). */
uint64_t pack_next_id(struct packs *pk);
void pack_set_next_id(struct packs *pk, uint64_t id);

/* ---- within the layer (store_pack.c, store_pack_files.c) ------------ */

/* pack_pread_all -- exactly @len bytes of @fd at @off; -EIO if the file
 * ends first, or a negative errno. */
int pack_pread_all(int fd, void *buf, size_t len, uint64_t off);
/* pack_finalize -- rename ID.pack.open to ID.pack and sync the
 * directory; a negative errno. */
int pack_finalize(struct packs *pk, uint64_t id);

#endif /* BEEMO_STORE_PACK_H */
