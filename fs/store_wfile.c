/*
 * store_wfile.c -- the new content of a file being written.
 *
 * Two representations:
 *
 * STREAM: the file was empty and has only been written sequentially
 * from offset 0 (cp, rsync, tar: nearly every backup).  Bytes go
 * straight through the chunker; complete chunks go to the sealing
 * workers; only the chunk being cut stays in memory.  Writes that arrive
 * a little out of order (several FUSE threads) wait in a bounded pending
 * list until the gap fills.
 *
 * STAGED: anything else (random writes, truncation, reads of a file
 * being written, or a stream that went off order).  The content is the
 * base (the committed content, or the chunks streamed so far) overlaid by
 * a staging file of sealed 64 KiB blocks; a bitmap says which blocks are
 * in the staging file.  The staging file is created with O_TMPFILE (no
 * name, gone after a crash) and sealed with a key that exists only in
 * memory, so no plaintext reaches the disk.  Invariant: bytes beyond the
 * current size inside a staged block are zero.
 *
 * wfile_finish() turns either into a content (chunk list).  For STAGED,
 * the file is re-chunked from the start, but wherever the chunker stands
 * at a chunk boundary of the base, the base's next chunk is untouched
 * and was cut with the same key, it is reused without reading it: a
 * small change to a big file costs a few chunks, not the whole file.
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bm_bytes.h"
#include "bm_file.h"
#include "bm_log.h"
#include "store_internal.h"
#include "store_wfile.h"

struct wfile *
wfile_new(store *st, struct content *base, uint64_t size)
{
	struct wfile *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return NULL;
	w->st = st;
	w->fd = -1;
	w->size = size;
	cslots_init(&w->slots);
	RAND_bytes((uint8_t *)&w->serial, sizeof(w->serial));
	if (size == 0) {
		w->mode = W_STREAM;
		return w;
	}
	w->mode = W_STAGED;
	w->base = base;
	content_ref(base);
	w->base_size = base != NULL && base->size < size ? base->size : size;
	return w;
}

static void
free_buf(uint8_t *p, size_t len)
{
	if (p != NULL) {
		OPENSSL_cleanse(p, len);
		free(p);
	}
}

static void
pending_free(struct wfile *w)
{
	struct pending *p, *n;

	for (p = w->pend; p != NULL; p = n) {
		n = p->next;
		free_buf(p->data, p->len);
		free(p);
	}
	w->pend = NULL;
	w->pend_bytes = 0;
}

void
wfile_free(struct wfile *w)
{
	if (w == NULL)
		return;
	cslots_fini(&w->slots);
	free_buf(w->buf, w->bufcap);
	free_buf(w->mem, w->size);
	pending_free(w);
	if (w->fd >= 0)
		close(w->fd);
	__atomic_sub_fetch(&w->st->staged, w->staged, __ATOMIC_RELAXED);
	free(w->bits);
	content_unref(w->base);
	free(w);
}

void
wfile_keep_plain(struct wfile *w, int keep)
{
	w->slots.keep_plain = keep;
}

uint64_t
wfile_size(const struct wfile *w)
{
	return w->size;
}

static void
touch_mtime(struct wfile *w)
{
	clock_gettime(CLOCK_REALTIME, &w->mtime);
	w->mtime_dirty = 1;
}

int
wfile_mtime(const struct wfile *w, struct timespec *t)
{
	if (!w->mtime_dirty)
		return 0;
	*t = w->mtime;
	return 1;
}

void
wfile_set_mtime(struct wfile *w, int explicit_time)
{
	if (explicit_time)
		w->mtime_dirty = 0;
	else
		touch_mtime(w);
}

/* ---- STREAM --------------------------------------------------------------- */

static struct content *
slots_content(store *st, struct cslots *s)
{
	struct content *c = content_new(st->keys.gen, s->n);

	if (c == NULL)
		return NULL;
	if (s->n > 0)
		memcpy(c->c, s->c, s->n * sizeof(*s->c));
	content_finish(c);
	return c;
}

/* Switch from STREAM to STAGED: the streamed chunks become the base. */
static int
to_staged(struct wfile *w)
{
	struct pending *p;
	uint64_t size = w->size;
	int rc;

	if (w->mode == W_STAGED)
		return 0;
	if ((rc = cslots_wait(&w->slots)) != 0)
		return rc;
	if ((w->base = slots_content(w->st, &w->slots)) == NULL)
		return -ENOMEM;
	w->base_size = w->buf_off;
	w->slots.n = 0;
	w->mode = W_STAGED;
	w->size = w->buf_off;
	if (w->buflen > 0 &&
	    (rc = wfile_staged_write(w, w->buf, w->buflen, w->buf_off)) != 0)
		return rc;
	free_buf(w->buf, w->bufcap);
	w->buf = NULL;
	w->buflen = w->bufcap = 0;
	for (p = w->pend; p != NULL; p = p->next)
		if ((rc = wfile_staged_write(w, p->data, p->len, p->off)) != 0)
			return rc;
	pending_free(w);
	/* Writes beyond the last byte written leave a hole up to size. */
	if (size > w->size)
		w->size = size;
	return 0;
}

static int
buf_reserve(struct wfile *w, size_t extra)
{
	size_t cap = w->bufcap ? w->bufcap : BUF_MIN;
	uint8_t *nb;

	if (w->buflen + extra <= w->bufcap)
		return 0;
	while (cap < w->buflen + extra)
		cap *= 2;
	if ((nb = malloc(cap)) == NULL)
		return -ENOMEM;
	if (w->buflen > 0)
		memcpy(nb, w->buf, w->buflen);
	free_buf(w->buf, w->bufcap);
	w->buf = nb;
	w->bufcap = cap;
	return 0;
}

/* Cut and submit every complete chunk in the buffer. */
/*
 * Give back a chunk buffer's spare capacity before it is handed on: its
 * plaintext may stay in the cache, which counts bytes of data, and a
 * small file's 64 KiB buffer would otherwise hold far more than that.
 * Shrinking in place costs no copy.
 */
static uint8_t *
shrink(uint8_t *p, size_t len)
{
	uint8_t *n = realloc(p, len ? len : 1);

	return n != NULL ? n : p;
}

static int
stream_cut(struct wfile *w)
{
	store *st = w->st;
	size_t cut;
	int rc;

	while (w->buflen > 0 &&
	    (cut = chunker_scan(st->keys.gear, &w->ck, w->buf,
	    w->buflen)) != 0) {
		/* A file that has cut a chunk is a big one: its next buffer
		 * gets room for a whole average chunk at once, so it is not
		 * copied while it grows. */
		size_t rest = w->buflen - cut, cap = rest + (2U << 20);
		uint8_t *chunk = w->buf, *nb = malloc(cap);

		if (nb == NULL)
			return -ENOMEM;
		memcpy(nb, chunk + cut, rest);
		OPENSSL_cleanse(chunk + cut, rest);
		w->buf = nb;
		w->bufcap = cap;
		w->buflen = rest;
		w->buf_off += cut;
		chunk = shrink(chunk, cut);
		/* Plaintext is kept in the cache for the antivirus only for
		 * files it will scan: the first part of big files. */
		if (w->buf_off > (16U << 20))
			w->slots.keep_plain = 0;
		/* The chunk buffer (with spare capacity) goes to a worker. */
		if ((rc = cslots_submit(st, &w->slots, chunk, (uint32_t)cut)))
			return rc;
	}
	return 0;
}

static int
stream_append(struct wfile *w, const uint8_t *buf, size_t len)
{
	int rc;

	if ((rc = buf_reserve(w, len)) != 0)
		return rc;
	memcpy(w->buf + w->buflen, buf, len);
	w->buflen += len;
	return stream_cut(w);
}

static int
stream_write(struct wfile *w, const uint8_t *buf, size_t len, uint64_t off)
{
	uint64_t end = w->buf_off + w->buflen;
	struct pending **pp, *p;
	int rc;

	/* A pending write is older than this one: if they overlap, this one
	 * must win, which staging does by applying them in arrival order. */
	if (off == end && w->pend != NULL && w->pend->off < off + len) {
		if ((rc = to_staged(w)) != 0)
			return rc;
		return wfile_staged_write(w, buf, len, off);
	}
	if (off == end) {
		if ((rc = stream_append(w, buf, len)) != 0)
			return rc;
		/* Drain pending writes that now follow on. */
		while (w->pend != NULL &&
		    w->pend->off == w->buf_off + w->buflen) {
			p = w->pend;
			w->pend = p->next;
			w->pend_bytes -= p->len;
			rc = stream_append(w, p->data, p->len);
			free_buf(p->data, p->len);
			free(p);
			if (rc != 0)
				return rc;
		}
		return 0;
	}
	if (off < end || w->pend_bytes + len > PENDING_MAX) {
		if ((rc = to_staged(w)) != 0)
			return rc;
		return wfile_staged_write(w, buf, len, off);
	}
	for (pp = &w->pend; *pp != NULL && (*pp)->off < off; pp = &(*pp)->next)
		;
	if (*pp != NULL && (*pp)->off < off + len) {
		/* Overlaps another pending write: let staging sort it. */
		if ((rc = to_staged(w)) != 0)
			return rc;
		return wfile_staged_write(w, buf, len, off);
	}
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->data = malloc(len)) == NULL) {
		free(p);
		return -ENOMEM;
	}
	memcpy(p->data, buf, len);
	p->off = off;
	p->len = len;
	p->next = *pp;
	*pp = p;
	w->pend_bytes += len;
	return 0;
}

/* ---- the interface ---------------------------------------------------------- */

int
wfile_write(struct wfile *w, const void *buf, size_t len, uint64_t off)
{
	int rc;

	if (len == 0)
		return 0;
	if (off + len < off)
		return -EFBIG;
	if (w->mode == W_STREAM)
		rc = stream_write(w, buf, len, off);
	else
		rc = wfile_staged_write(w, buf, len, off);
	if (rc == 0) {
		if (off + len > w->size)
			w->size = off + len;
		touch_mtime(w);
	}
	return rc;
}

ssize_t
wfile_read(struct wfile *w, void *buf, size_t len, uint64_t off)
{
	int rc;

	if (w->mode == W_STREAM && (rc = to_staged(w)) != 0)
		return rc;
	return wfile_staged_read(w, buf, len, off);
}

int
wfile_truncate(struct wfile *w, uint64_t size)
{
	int rc;

	if (size == w->size)
		return 0;
	if (w->mode == W_STREAM && (rc = to_staged(w)) != 0)
		return rc;
	if ((rc = wfile_staged_truncate(w, size)) == 0)
		touch_mtime(w);
	return rc;
}

/* Can base chunk @i be reused as is at offset @pos of the new content? */
static int
base_reusable(struct wfile *w, uint32_t i, uint64_t pos)
{
	struct content *b = w->base;
	uint64_t end = pos + b->c[i].len, blk;

	if (b->gen != w->st->keys.gen || end > w->base_size || end > w->size)
		return 0;
	/* The base's last chunk was cut by its end of file, not by its
	 * content: reusable only if the new file ends there too. */
	if (i == b->n - 1 && end != w->size)
		return 0;
	for (blk = pos / STAGE_BLOCK; blk * STAGE_BLOCK < end; blk++)
		if (wfile_bit_get(w, blk))
			return 0;
	return 1;
}

/* Index of the base chunk starting exactly at @pos, or -1. */
static int64_t
base_chunk_at(const struct content *b, uint64_t pos)
{
	uint32_t lo = 0, hi;

	if (b == NULL || b->n == 0 || pos >= b->size)
		return -1;
	hi = b->n - 1;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo + 1) / 2;

		if (b->off[mid] <= pos)
			lo = mid;
		else
			hi = mid - 1;
	}
	return b->off[lo] == pos ? (int64_t)lo : -1;
}

static int
staged_finish(struct wfile *w)
{
	store *st = w->st;
	struct chunker ck = {0, 0};
	uint8_t *cbuf = NULL;
	size_t clen = 0, ccap = 0;
	uint64_t pos = 0;
	int rc = 0;

	w->slots.n = 0;
	while (pos < w->size) {
		size_t n, cut;
		ssize_t got;

		if (clen == 0) {
			int64_t i = base_chunk_at(w->base, pos);

			if (i >= 0 && base_reusable(w, (uint32_t)i, pos)) {
				rc = cslots_add(&w->slots, &w->base->c[i]);
				if (rc != 0)
					break;
				pos += w->base->c[i].len;
				continue;
			}
		}
		n = STAGE_BLOCK - (size_t)(pos % STAGE_BLOCK);
		if (n > w->size - pos)
			n = (size_t)(w->size - pos);
		if (clen + n > ccap) {
			size_t cap = ccap ? ccap * 2 : (1U << 20);
			uint8_t *nb;

			while (cap < clen + n)
				cap *= 2;
			if ((nb = malloc(cap)) == NULL) {
				rc = -ENOMEM;
				break;
			}
			if (clen > 0)
				memcpy(nb, cbuf, clen);
			free_buf(cbuf, ccap);
			cbuf = nb;
			ccap = cap;
		}
		got = wfile_staged_read(w, cbuf + clen, n, pos);
		if (got != (ssize_t)n) {
			rc = got < 0 ? (int)got : -EIO;
			break;
		}
		clen += n;
		pos += n;
		while (clen > 0 &&
		    (cut = chunker_scan(st->keys.gear, &ck, cbuf, clen)) != 0) {
			uint8_t *chunk = malloc(cut);

			if (chunk == NULL) {
				rc = -ENOMEM;
				break;
			}
			memcpy(chunk, cbuf, cut);
			memmove(cbuf, cbuf + cut, clen - cut);
			clen -= cut;
			rc = cslots_submit(st, &w->slots, chunk, (uint32_t)cut);
			if (rc != 0)
				break;
		}
		if (rc != 0)
			break;
	}
	if (rc == 0 && clen > 0) {
		uint8_t *chunk = malloc(clen);

		if (chunk == NULL) {
			rc = -ENOMEM;
		} else {
			memcpy(chunk, cbuf, clen);
			rc = cslots_submit(st, &w->slots, chunk,
			    (uint32_t)clen);
		}
	}
	free_buf(cbuf, ccap);
	return rc;
}

int
wfile_finish(struct wfile *w, struct content **out, const uint8_t **scan_mem)
{
	int rc = 0;

	*scan_mem = NULL;
	if (w->mode == W_STREAM && (w->pend != NULL ||
	    w->buf_off + w->buflen != w->size))
		rc = to_staged(w);
	if (rc != 0)
		return rc;
	if (w->mode == W_STREAM) {
		if (w->buflen > 0) {
			uint8_t *chunk = w->buf;

			if (w->slots.n == 0) {
				/* The whole file is in memory: keep a copy
				 * for the antivirus. */
				if ((w->mem = malloc(w->buflen)) == NULL)
					return -ENOMEM;
				memcpy(w->mem, w->buf, w->buflen);
				*scan_mem = w->mem;
				/* Scanned from this copy: the cache need not
				 * keep it. */
				w->slots.keep_plain = 0;
			}
			w->buf = NULL;
			w->bufcap = 0;
			chunk = shrink(chunk, w->buflen);
			if (w->slots.n == 0 && w->buflen <= CDC_MIN) {
				/* A small file: sealing it here spares two
				 * thread switches per file, and the close
				 * waits for it anyway.  Bigger ones go to the
				 * workers, whose compression contexts are
				 * sized for them (each thread keeps its own). */
				struct cref cr;

				cr.len = (uint32_t)w->buflen;
				rc = chunk_store(w->st, chunk, cr.len, cr.id, 0);
				if (rc == 0)
					rc = cslots_add(&w->slots, &cr);
			} else {
				rc = cslots_submit(w->st, &w->slots, chunk,
				    (uint32_t)w->buflen);
			}
			w->buf_off += w->buflen;
			w->buflen = 0;
			if (rc != 0)
				return rc;
		}
	} else if ((rc = staged_finish(w)) != 0) {
		cslots_wait(&w->slots);
		return rc;
	}
	if ((rc = cslots_wait(&w->slots)) != 0)
		return rc;
	if ((*out = slots_content(w->st, &w->slots)) == NULL)
		return -ENOMEM;
	if ((*out)->size != w->size) {
		bm_log(LOG_ERR, "internal: new content has %llu bytes, file "
		    "%llu", (unsigned long long)(*out)->size,
		    (unsigned long long)w->size);
		content_unref(*out);
		return -EIO;
	}
	return 0;
}
