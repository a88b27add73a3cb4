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
 * a staging file of sealed 64 KiB blocks; a table maps the blocks
 * written to their slots in the staging file, which grows with the data
 * written, not with the offsets.  The staging file is created with O_TMPFILE (no
 * name, gone after a crash) and sealed with a key that exists only in
 * memory, so no plaintext reaches the disk.  Invariant: bytes beyond the
 * current size inside a staged block are zero.
 *
 * wfile_finish() turns either into a content (chunk list).  For STAGED,
 * the file is re-chunked from the start, but wherever the chunker stands
 * at a chunk boundary of the base, the base's next chunk is untouched
 * and was cut with the same key, it is reused without reading it: a
 * small change to a big file costs a few chunks, not the whole file.
 * What is neither staged nor data of the base is a hole: it becomes a
 * hole of the content in one step, whatever its size, and a chunk never
 * spans one.  Chunks that are all zeros become holes too.
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
	/* Without a base nothing of the file is stored yet: all hole. */
	w->base_size = base == NULL ? 0 : base->size < size ? base->size : size;
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
	/* Held in memory, counted like staged bytes (the quota). */
	__atomic_sub_fetch(&w->st->staged, w->pend_bytes, __ATOMIC_RELAXED);
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
	wfile_staged_free(w);
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

/* The content of the slots, adjacent holes merged into one. */
static struct content *
slots_content(store *st, struct cslots *s)
{
	struct content *c = content_new(st->keys.gen, s->n);
	uint32_t i, n = 0;

	if (c == NULL)
		return NULL;
	for (i = 0; i < s->n; i++) {
		if (s->c[i].hole && n > 0 && c->c[n - 1].hole)
			c->c[n - 1].len += s->c[i].len;
		else
			c->c[n++] = s->c[i];
	}
	c->n = n;
	content_finish(c);
	return c;
}

static int
all_zero(const uint8_t *p, size_t n)
{
	return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

/*
 * Hand on a chunk just cut (@data from malloc, @len bytes; ownership
 * passes): to the workers, or, when it is all zeros, as a hole, which is
 * stored nowhere.
 */
static int
submit_chunk(store *st, struct cslots *s, uint8_t *data, uint32_t len)
{
	struct cref hole;

	if (!all_zero(data, len))
		return cslots_submit(st, s, data, len);
	free(data);
	memset(&hole, 0, sizeof(hole));
	hole.hole = 1;
	hole.len = len;
	return cslots_add(s, &hole);
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
		if ((rc = submit_chunk(st, &w->slots, chunk, (uint32_t)cut)))
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
			__atomic_sub_fetch(&w->st->staged, p->len,
			    __ATOMIC_RELAXED);
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
	__atomic_add_fetch(&w->st->staged, len, __ATOMIC_RELAXED);
	return 0;
}

/* ---- the interface ---------------------------------------------------------- */

int
wfile_hold_back(const struct wfile *w, uint64_t off)
{
	return w->mode == W_STREAM && !w->no_hold &&
	    off > w->buf_off + w->buflen + PENDING_SOFT;
}

void
wfile_hold_timeout(struct wfile *w)
{
	w->no_hold = 1;
}

void
wfile_hold_pause(void)
{
	usleep(1000);
}

int
wfile_write(struct wfile *w, const void *buf, size_t len, uint64_t off)
{
	int rc;

	if (len == 0)
		return 0;
	if (off > STORE_FILE_MAX || len > STORE_FILE_MAX - off)
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
	if (size > STORE_FILE_MAX)
		return -EFBIG;
	if (w->mode == W_STREAM && (rc = to_staged(w)) != 0)
		return rc;
	if ((rc = wfile_staged_truncate(w, size)) == 0)
		touch_mtime(w);
	return rc;
}

/* ---- data and holes of the STAGED representation ------------------------ */

/* Whether byte @pos (< size) is data: in a staged block, or in a chunk
 * of the base's part still visible.  Everything else reads as zeros. */
static int
is_data(struct wfile *w, uint64_t pos)
{
	if (wfile_staged_has(w, pos / STAGE_BLOCK))
		return 1;
	return pos < w->base_size && !w->base->c[content_index(w->base,
	    pos)].hole;
}

/*
 * The first data byte at or after @pos, or the size.  Cost: one step per
 * base entry crossed (holes and chunks alternate) and a search of the
 * staged blocks, never one per byte or block of a hole.
 */
static uint64_t
next_data(struct wfile *w, uint64_t pos)
{
	while (pos < w->size) {
		uint64_t b = pos / STAGE_BLOCK, nb, lim, end;
		uint32_t i;

		if (wfile_staged_has(w, b))
			return pos;
		nb = wfile_staged_next(w, b + 1);
		lim = nb == UINT64_MAX ? UINT64_MAX : nb * STAGE_BLOCK;
		if (pos < w->base_size) {
			i = content_index(w->base, pos);
			if (!w->base->c[i].hole)
				return pos;
			end = w->base->off[i + 1] < w->base_size ?
			    w->base->off[i + 1] : w->base_size;
		} else {
			end = w->size;
		}
		if (lim <= end)
			return lim < w->size ? lim : w->size;
		pos = end;
	}
	return w->size;
}

/* The first byte of a hole at or after @pos, or the size (the end of a
 * file counts as a hole, as lseek(2) has it). */
static uint64_t
next_hole(struct wfile *w, uint64_t pos)
{
	while (pos < w->size) {
		uint64_t b = pos / STAGE_BLOCK;
		uint32_t i;

		if (wfile_staged_has(w, b)) {
			pos = (b + 1) * STAGE_BLOCK;
			continue;
		}
		if (pos >= w->base_size)
			return pos;
		i = content_index(w->base, pos);
		if (w->base->c[i].hole)
			return pos;
		pos = w->base->off[i + 1] < w->base_size ?
		    w->base->off[i + 1] : w->base_size;
	}
	return w->size;
}

/* Can base chunk @i be reused as is at offset @pos of the new content? */
static int
base_reusable(struct wfile *w, uint32_t i, uint64_t pos)
{
	struct content *b = w->base;
	uint64_t end = pos + b->c[i].len, blk;

	if (b->c[i].hole || b->gen != w->st->keys.gen ||
	    end > w->base_size || end > w->size)
		return 0;
	/* A base chunk followed by a hole or the end of file was cut by
	 * them, not by its content: reusable only if the new file has a
	 * hole or its end there too. */
	if ((i == b->n - 1 || b->c[i + 1].hole) && end != w->size &&
	    is_data(w, end))
		return 0;
	for (blk = pos / STAGE_BLOCK; blk * STAGE_BLOCK < end; blk++)
		if (wfile_staged_has(w, blk))
			return 0;
	return 1;
}

/* Index of the base chunk starting exactly at @pos, or -1. */
static int64_t
base_chunk_at(const struct content *b, uint64_t pos)
{
	uint32_t i;

	if (b == NULL || b->n == 0 || pos >= b->size)
		return -1;
	i = content_index(b, pos);
	return b->off[i] == pos ? (int64_t)i : -1;
}

/* The chunks of a STAGED file being finished. */
struct cutter {
	struct chunker ck;
	uint8_t *buf;
	size_t len, cap;
};

/* Cut what the chunker finds in the buffer; with @all, the rest too (a
 * hole or the end of file follows). */
static int
cutter_cut(store *st, struct wfile *w, struct cutter *c, int all)
{
	size_t cut;
	int rc;

	while (c->len > 0) {
		uint8_t *chunk;

		cut = chunker_scan(st->keys.gear, &c->ck, c->buf, c->len);
		if (cut == 0 && !all)
			return 0;
		if (cut == 0) {
			cut = c->len;
			memset(&c->ck, 0, sizeof(c->ck));
		}
		if ((chunk = malloc(cut)) == NULL)
			return -ENOMEM;
		memcpy(chunk, c->buf, cut);
		memmove(c->buf, c->buf + cut, c->len - cut);
		c->len -= cut;
		if ((rc = submit_chunk(st, &w->slots, chunk,
		    (uint32_t)cut)) != 0)
			return rc;
	}
	return 0;
}

/* Read @n bytes of the file at @pos into the cutter's buffer. */
static int
cutter_read(struct wfile *w, struct cutter *c, uint64_t pos, size_t n)
{
	ssize_t got;

	if (c->len + n > c->cap) {
		size_t cap = c->cap ? c->cap * 2 : (1U << 20);
		uint8_t *nb;

		while (cap < c->len + n)
			cap *= 2;
		if ((nb = malloc(cap)) == NULL)
			return -ENOMEM;
		if (c->len > 0)
			memcpy(nb, c->buf, c->len);
		free_buf(c->buf, c->cap);
		c->buf = nb;
		c->cap = cap;
	}
	got = wfile_staged_read(w, c->buf + c->len, n, pos);
	if (got != (ssize_t)n)
		return got < 0 ? (int)got : -EIO;
	c->len += n;
	return 0;
}

/*
 * Re-chunk a STAGED file from the start into w->slots: data through the
 * chunker, base chunks reused where the chunker stands at their start,
 * and holes as holes, stepped over at once whatever their size.  A
 * chunk never spans a hole.  Interruptible (store_interrupt()): the
 * work is proportional to the data, which may be large.
 */
static int
staged_finish(struct wfile *w)
{
	store *st = w->st;
	struct cutter c;
	uint64_t pos = 0, end;
	int rc = 0;

	memset(&c, 0, sizeof(c));
	w->slots.n = 0;
	while (rc == 0 && pos < w->size) {
		int64_t i;
		size_t n;

		if (__atomic_load_n(&st->interrupted, __ATOMIC_RELAXED)) {
			rc = -EINTR;
			break;
		}
		if (c.len == 0 && (i = base_chunk_at(w->base, pos)) >= 0 &&
		    base_reusable(w, (uint32_t)i, pos)) {
			rc = cslots_add(&w->slots, &w->base->c[i]);
			pos += w->base->c[i].len;
			continue;
		}
		if (!is_data(w, pos)) {
			struct cref hole;

			if ((rc = cutter_cut(st, w, &c, 1)) != 0)
				break;
			end = next_data(w, pos);
			memset(&hole, 0, sizeof(hole));
			hole.hole = 1;
			hole.len = end - pos;
			rc = cslots_add(&w->slots, &hole);
			pos = end;
			continue;
		}
		/* Data up to the end of this block or the next hole. */
		n = STAGE_BLOCK - (size_t)(pos % STAGE_BLOCK);
		if (n > w->size - pos)
			n = (size_t)(w->size - pos);
		if (!wfile_staged_has(w, pos / STAGE_BLOCK) &&
		    (end = next_hole(w, pos)) - pos < n)
			n = (size_t)(end - pos);
		if ((rc = cutter_read(w, &c, pos, n)) == 0)
			rc = cutter_cut(st, w, &c, 0);
		pos += n;
	}
	if (rc == 0)
		rc = cutter_cut(st, w, &c, 1);
	free_buf(c.buf, c.cap);
	return rc;
}

int64_t
wfile_seek(struct wfile *w, uint64_t off, int data)
{
	uint64_t r;
	int rc;

	if (off >= w->size)
		return -ENXIO;
	if (w->mode == W_STREAM && (rc = to_staged(w)) != 0)
		return rc;
	r = data ? next_data(w, off) : next_hole(w, off);
	if (data && r >= w->size)
		return -ENXIO;
	return (int64_t)r;
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

				memset(&cr, 0, sizeof(cr));
				cr.len = (uint32_t)w->buflen;
				rc = chunk_store(w->st, chunk, (uint32_t)cr.len,
				    cr.id, 0);
				if (rc == 0)
					rc = cslots_add(&w->slots, &cr);
			} else {
				rc = submit_chunk(w->st, &w->slots, chunk,
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
