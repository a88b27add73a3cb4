/*
 * store_wfile.h -- the pending content of one open file, shared by
 * store_wfile.c (the STREAM representation, the switch to STAGED and
 * wfile_finish()) and store_wfile_stage.c (the STAGED representation).
 *
 * A struct wfile belongs to one open file and is used under that open
 * file's lock (struct ofile.lock) only; the functions below take no lock
 * of their own.  The sealing workers fill wfile.slots under the slots'
 * own lock (struct cslots).  The public entry points (wfile_new, ...)
 * are declared in store_internal.h.
 */
#ifndef BEEMO_STORE_WFILE_H
#define BEEMO_STORE_WFILE_H

#include "store_internal.h"

#define PENDING_MAX (16U << 20)
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
	uint8_t *mem;         /* whole small file, for scanning */

	/* STAGED */
	int fd;
	uint64_t *bits;
	uint64_t nbits; /* capacity in blocks */
	struct content *base;
	uint64_t base_size;
};

/* ---- STAGED (store_wfile_stage.c) ----------------------------------- */

/* wfile_bit_get -- whether block @b is in the staging file. */
int wfile_bit_get(const struct wfile *w, uint64_t b);
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
