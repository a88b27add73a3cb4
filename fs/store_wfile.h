/*
 * store_wfile.h -- the pending content of one open file: store_wfile.c
 * (the STREAM representation, the switch to STAGED and wfile_finish())
 * and store_wfile_stage.c (the STAGED representation).
 *
 * STREAM: a file written from offset 0 onwards goes straight through the
 * chunker, complete chunks to the sealing workers (store_worker.h); only
 * the chunk being cut stays in memory, and writes a little out of order
 * wait in a bounded pending list.  STAGED: anything else (random writes,
 * truncation, reads while writing): the base content overlaid by an
 * anonymous staging file of 64 KiB blocks sealed with a key that lives
 * in memory only.  wfile_finish() turns either into a content, reusing
 * the base's unchanged chunks.  What was never written, and chunks that
 * are all zeros, become holes (struct cref): no chunk, and no work in
 * proportion to their size, so a truncate to a petabyte is as quick as
 * one to a byte.
 *
 * A struct wfile belongs to one open file and is used under that open
 * file's lock (struct ofile.lock, store_file.h) only; the functions
 * below take no lock of their own but those of the layers they call:
 * the workers' and the slots' leaves (store_worker.h), the cache and
 * ix_lock in turn when they read the base (store_cache.h) or store a
 * chunk (chunk_store()).  So call them with no store lock held but the
 * open file's.  Errors are 0 or a negative errno.
 */
#ifndef BEEMO_STORE_WFILE_H
#define BEEMO_STORE_WFILE_H

#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "store.h"
#include "store_codec.h"
#include "store_worker.h"

struct wfile;

/* ---- entry points (store_wfile.c) ----------------------------------- */

/* wfile_new -- pending changes of a file of @size bytes whose committed
 * content is @base (NULL for none; a reference is taken): STREAM when
 * @size is 0, else STAGED over @base.  NULL if memory is short.
 * wfile_free -- wait for its chunks in flight and free it, cleansing
 * its buffers (NULL is a no-op). */
struct wfile *wfile_new(store *st, struct content *base, uint64_t size);
void wfile_free(struct wfile *w);
/* wfile_write -- write @len bytes of @buf at @off, growing the size.
 * Returns 0, -EFBIG (past STORE_FILE_MAX), -ENOMEM, or the staging
 * file's errors (-EIO, -ENOSPC). */
int wfile_write(struct wfile *w, const void *buf, size_t len, uint64_t off);
/* wfile_read -- read up to @len bytes at @off (switches to STAGED).
 * Returns the bytes read (short past the size) or a negative errno:
 * -EIO, -EBADMSG for a staged block that does not authenticate, the
 * base's read errors (content_read()), -ENOMEM. */
ssize_t wfile_read(struct wfile *w, void *buf, size_t len, uint64_t off);
/* wfile_truncate -- set the size to @size (switches to STAGED unless it
 * is unchanged); growing costs nothing, the new part is a hole.  0,
 * -EFBIG (over STORE_FILE_MAX), or the errors of wfile_read(),
 * -ENOSPC. */
int wfile_truncate(struct wfile *w, uint64_t size);
/* wfile_seek -- SEEK_DATA (@data 1) or SEEK_HOLE (@data 0) from @off,
 * as content_seek() (switches to STAGED).  Data are the bytes written
 * (in 64 KiB blocks) and the base's chunks; the rest reads as zeros and
 * is a hole.  Returns the offset, -ENXIO, or the errors of the switch. */
int64_t wfile_seek(struct wfile *w, uint64_t off, int data);
/* wfile_size -- the current size. */
uint64_t wfile_size(const struct wfile *w);
/* wfile_finish -- produce the new content into a new *@out
 * (content_unref() it), waiting for every chunk to be sealed.
 * *@scan_mem receives the plaintext when the whole file is one
 * in-memory chunk (valid until wfile_free), else NULL.  Returns 0, the
 * first sealing error (store_worker.h), the staging errors, -ENOMEM, or
 * -EIO if the content's size disagrees with the file's (logged).  The
 * wfile is only fit for wfile_free() after. */
int wfile_finish(struct wfile *w, struct content **out,
    const uint8_t **scan_mem);
/* wfile_mtime -- 1 and the time of the last change in @t if a write or
 * truncate changed the file since it was opened (and no explicit time
 * was set since), else 0.  wfile_set_mtime -- @explicit_time: the
 * inode's mtime was set explicitly and wins over the writes so far;
 * else record a change now. */
int wfile_mtime(const struct wfile *w, struct timespec *t);
void wfile_set_mtime(struct wfile *w, int explicit_time);
/*
 * wfile_hold_back -- whether a write at @off had better wait a little
 * before it is applied: @w is a stream, @off is more than PENDING_SOFT
 * ahead of its end, and no such wait has been in vain for this file.
 * The kernel's writeback sends a big file's pages out of order by up to
 * tens of MiB, the missing ones from another writeback pass; holding
 * back the writes far ahead lets those come first, so that the pending
 * writes stay small.  wfile_hold_timeout -- a wait was in vain: the
 * writer's own order (not the kernel's), no more waits for this file.
 */
int wfile_hold_back(const struct wfile *w, uint64_t off);
void wfile_hold_timeout(struct wfile *w);
/* The caller of wfile_write() holds back a write (without its lock) for
 * up to this many polls, wfile_hold_pause() (1 ms) apart. */
#define WFILE_HOLD_POLLS 20
void wfile_hold_pause(void);
/* wfile_keep_plain -- whether chunks sealed later offer their plaintext
 * to the cache (to be scanned at commit).  Before the first write. */
void wfile_keep_plain(struct wfile *w, int keep);

/* ---- inside the module ---------------------------------------------- */

/* Writes ahead of a stream's end wait here, up to this many bytes, for
 * the gap to fill.  The kernel's writeback cache sends a big file's
 * pages out of order by tens of MiB (flusher and writer threads, eight
 * FUSE threads): at 16 MiB a plain `cp` of a large file went to STAGED,
 * which encrypts it once more to the staging file and re-chunks all of
 * it in one thread at close. */
#define PENDING_MAX (64U << 20)
/* Writes further ahead are held back (wfile_hold_back()). */
#define PENDING_SOFT (8U << 20)
#define BUF_MIN (64U << 10)

enum { W_STREAM, W_STAGED };

struct pending {
	uint64_t off;
	size_t len;
	uint8_t *data;
	struct pending *next;
};

struct wfile {
	store *st;
	int mode;
	uint64_t size;
	struct timespec mtime;
	int mtime_dirty;
	uint64_t serial; /* binds staged blocks to this file */

	/* STREAM */
	struct chunker ck;
	uint8_t *buf;         /* bytes [buf_off, buf_off + buflen) */
	size_t buflen, bufcap;
	uint64_t buf_off;     /* chunks emitted cover [0, buf_off) */
	struct cslots slots;
	struct pending *pend; /* sorted by offset */
	size_t pend_bytes;
	int no_hold;          /* wfile_hold_timeout() was called */
	uint8_t *mem;         /* whole small file, for scanning */

	/* STAGED */
	int fd;
	struct stage_ent *map;   /* staged block -> slot, open addressing */
	size_t mapcap, nstaged;  /* entries (a power of 2), used */
	uint64_t nslots;         /* slots the staging file has had */
	uint64_t *freeslot;      /* slots to reuse */
	size_t nfree, freecap;
	uint64_t *sorted;        /* staged blocks in order, when nsorted */
	size_t nsorted;          /* == nstaged: up to date */
	struct content *base;
	uint64_t base_size;
	uint64_t staged; /* bytes of staged blocks, counted in st->staged */
};

/* A staged block: block @block of the file is in slot @slot (at slot *
 * STAGE_SLOT) of the staging file. */
struct stage_ent {
	uint64_t block, slot;
};

/* ---- STAGED (store_wfile_stage.c) ----------------------------------- */

/* wfile_staged_has -- whether block @b is in the staging file. */
int wfile_staged_has(const struct wfile *w, uint64_t b);
/* wfile_staged_next -- the first staged block at or after @b, or
 * UINT64_MAX if none; @b itself when memory is short (callers then look
 * at the blocks one by one).  O(log n), after a sort when blocks were
 * added or dropped since the last call. */
uint64_t wfile_staged_next(struct wfile *w, uint64_t b);
/* wfile_staged_free -- free the table of staged blocks. */
void wfile_staged_free(struct wfile *w);
/* wfile_staged_write, wfile_staged_read -- @len bytes at @off, over the
 * base; a write past the size grows it, a read past it is short.
 * Return 0 / the bytes read, or a negative errno (-EIO, -EBADMSG for a
 * staged block that does not authenticate, -ENOMEM, -ENOSPC). */
int wfile_staged_write(struct wfile *w, const uint8_t *buf, size_t len,
    uint64_t off);
ssize_t wfile_staged_read(struct wfile *w, uint8_t *buf, size_t len,
    uint64_t off);
/* wfile_staged_truncate -- set the size to @size, zeroing the tail of
 * the last staged block (the invariant) and forgetting blocks past it. */
int wfile_staged_truncate(struct wfile *w, uint64_t size);

#endif /* BEEMO_STORE_WFILE_H */
