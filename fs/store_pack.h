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
 * Locks (see store_internal.h for the whole order): pk_lock protects the
 * writer (open pack, closing list, next pack number); fd_lock the
 * descriptor cache.  ix_lock, when held, is taken before pk_lock;
 * fd_lock is a leaf.  The functions below take these locks themselves.
 */
#ifndef BEEMO_STORE_PACK_H
#define BEEMO_STORE_PACK_H

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

/* ---- writing -------------------------------------------------------- */

/*
 * pack_append -- append the sealed object @obj (@len bytes) to the open
 * pack, starting a new pack first if none is open (ID.pack.open, header
 * written) and rolling it over to the closing list once it reaches
 * opts.pack_size.  *@pack and *@off receive the object's place.  Takes
 * pk_lock.  Returns 0, -ENOMEM, or the errno of open/write (logged).
 * Nothing appended is durable or referenced until a commit.
 */
int pack_append(store *st, const void *obj, size_t len, uint64_t *pack,
    uint64_t *off);
/* pack_writer_abort -- close the open and closing packs without a
 * commit (store close, after the final commit).  Single-threaded. */
void pack_writer_abort(store *st);

/* ---- reading -------------------------------------------------------- */

/*
 * pack_read_chunk -- read the object at @loc, check that its header is
 * that of chunk @id as the index says, authenticate and decode it into
 * a new buffer *@plain (loc->plain_len bytes; the caller wipes and frees
 * it).  Returns 0, -EIO (missing or truncated pack, header that
 * disagrees), -EBADMSG (damaged or tampered: logged, and
 * opts.event(STORE_EV_DAMAGE) called with no store lock held),
 * BEEMO_ENOKEY or -ENOMEM.  Takes fd_lock briefly; call it with no lock
 * of the store held, or the open-file lock only.
 */
int pack_read_chunk(store *st, const uint8_t id[OBJ_ID_LEN],
    const struct chunk_loc *loc, uint8_t **plain);
/* pack_pread -- @len bytes of pack @pack at @off through the descriptor
 * cache.  Returns 0, -EIO (short: truncated pack) or a negative errno. */
int pack_pread(store *st, uint64_t pack, void *buf, size_t len, uint64_t off);
/* pack_path -- the file name of pack @id under the store (with ".open"
 * if @open) into @buf; 0 or -ENAMETOOLONG.  No lock.  The parsers of
 * these names are public: pack_name_parse() in store.h. */
int pack_path(const store *st, uint64_t id, int open, char *buf, size_t n);
/* pack_fd_forget -- close the cached descriptor of pack @id unless a
 * reader holds it (after the pack was renamed or removed). */
void pack_fd_forget(store *st, uint64_t id);
/* pack_fds_init, pack_fds_close -- the descriptor cache, at open and
 * close (single-threaded); -ENOMEM. */
int pack_fds_init(store *st);
void pack_fds_close(store *st);

/* ---- committing and recovery ---------------------------------------- */

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

/* pack_next_id, pack_set_next_id -- the id the next new pack gets
 * (pk_lock taken). */
uint64_t pack_next_id(store *st);
void pack_set_next_id(store *st, uint64_t id);

#endif /* BEEMO_STORE_PACK_H */
