/*
 * store_codec.c -- encoding of index records (beemo-store(5)).
 *
 * Values are encoded big-endian with a version byte first (inode,
 * directory entry, content) and sealed by the index.  Decoders check
 * every length against the buffer: a value that authenticates was
 * written by us, but a bug or an older version must still never make us
 * read past it.  Pure: no index, no lock.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bm_bytes.h"
#include "store_codec.h"

/* Version 1: up to the xattrs.  Version 2: then the data bytes (8). */
#define INODE_VERSION_1 1
#define INODE_VERSION 2
#define DIRENT_VERSION 1
/* Version 1: chunks only.  Version 2: chunks and holes. */
#define CONTENT_VERSION_CHUNKS 1
#define CONTENT_VERSION 2
#define CONTENT_CHUNK 0 /* entry types of version 2 */
#define CONTENT_HOLE 1
#define XATTR_TOTAL_MAX (256U << 10)

/* ---- a bounded reader ----------------------------------------------- */

struct rd {
	const uint8_t *p;
	size_t left;
	int bad;
};

static const uint8_t *
rd_take(struct rd *r, size_t n)
{
	const uint8_t *p = r->p;

	if (r->bad || r->left < n) {
		r->bad = 1;
		return NULL;
	}
	r->p += n;
	r->left -= n;
	return p;
}

static uint64_t
rd_u(struct rd *r, int bytes)
{
	const uint8_t *p = rd_take(r, (size_t)bytes);

	if (p == NULL)
		return 0;
	return bytes == 1 ? p[0] : bytes == 2 ? bm_be16dec(p) :
	    bytes == 4 ? bm_be32dec(p) : bm_be64dec(p);
}

static char *
rd_str(struct rd *r, int lenbytes, size_t max)
{
	size_t n = (size_t)rd_u(r, lenbytes);
	const uint8_t *p;
	char *s;

	if (n > max) {
		r->bad = 1;
		return NULL;
	}
	if ((p = rd_take(r, n)) == NULL)
		return NULL;
	if (memchr(p, '\0', n) != NULL) {
		r->bad = 1;
		return NULL;
	}
	if ((s = malloc(n + 1)) == NULL) {
		r->bad = 1;
		return NULL;
	}
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

static void
rd_time(struct rd *r, struct timespec *t)
{
	t->tv_sec = (time_t)(int64_t)rd_u(r, 8);
	t->tv_nsec = (long)rd_u(r, 4);
	if (t->tv_nsec >= 1000000000L)
		r->bad = 1;
}

/* ---- a growing writer ----------------------------------------------- */

struct wr {
	uint8_t *buf;
	size_t len, cap;
	int bad;
};

static uint8_t *
wr_take(struct wr *w, size_t n)
{
	if (w->bad)
		return NULL;
	if (w->len + n > w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 256;
		uint8_t *b;

		while (cap < w->len + n)
			cap *= 2;
		if ((b = realloc(w->buf, cap)) == NULL) {
			w->bad = 1;
			return NULL;
		}
		w->buf = b;
		w->cap = cap;
	}
	w->len += n;
	return w->buf + w->len - n;
}

static void
wr_u(struct wr *w, int bytes, uint64_t v)
{
	uint8_t *p = wr_take(w, (size_t)bytes);

	if (p == NULL)
		return;
	if (bytes == 1)
		p[0] = (uint8_t)v;
	else if (bytes == 2)
		bm_be16enc(p, (uint16_t)v);
	else if (bytes == 4)
		bm_be32enc(p, (uint32_t)v);
	else
		bm_be64enc(p, v);
}

static void
wr_bytes(struct wr *w, const void *d, size_t n)
{
	uint8_t *p = wr_take(w, n);

	if (p != NULL && n > 0)
		memcpy(p, d, n);
}

static void
wr_str(struct wr *w, int lenbytes, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	wr_u(w, lenbytes, n);
	wr_bytes(w, s, n);
}

static void
wr_time(struct wr *w, const struct timespec *t)
{
	wr_u(w, 8, (uint64_t)(int64_t)t->tv_sec);
	wr_u(w, 4, (uint64_t)t->tv_nsec);
}

/* ---- inodes --------------------------------------------------------- */

void
inode_free(struct inode *in)
{
	uint32_t i;

	if (in == NULL)
		return;
	free(in->name);
	free(in->target);
	for (i = 0; i < in->nxattrs; i++) {
		free(in->xattrs[i].name);
		free(in->xattrs[i].value);
	}
	free(in->xattrs);
	memset(in, 0, sizeof(*in));
}

int
inode_decode(struct inode *in, uint64_t ino, const uint8_t *p, size_t len)
{
	struct rd r = {p, len, 0};
	uint32_t i, total = 0;
	int version;

	memset(in, 0, sizeof(*in));
	in->ino = ino;
	version = (int)rd_u(&r, 1);
	if (version != INODE_VERSION && version != INODE_VERSION_1)
		return BEEMO_EVERSION;
	in->flags = (uint8_t)rd_u(&r, 1);
	in->mode = (uint32_t)rd_u(&r, 4);
	in->uid = (uint32_t)rd_u(&r, 4);
	in->gid = (uint32_t)rd_u(&r, 4);
	in->nlink = (uint32_t)rd_u(&r, 4);
	in->rdev = rd_u(&r, 8);
	in->size = rd_u(&r, 8);
	rd_time(&r, &in->atime);
	rd_time(&r, &in->mtime);
	rd_time(&r, &in->ctime);
	in->parent = rd_u(&r, 8);
	in->content_seq = rd_u(&r, 8);
	in->name = rd_str(&r, 2, STORE_NAME_MAX);
	if (rd_u(&r, 1)) /* symlink target present */
		in->target = rd_str(&r, 2, 4095);
	in->nxattrs = (uint32_t)rd_u(&r, 2);
	if (!r.bad && in->nxattrs > 0) {
		in->xattrs = calloc(in->nxattrs, sizeof(*in->xattrs));
		if (in->xattrs == NULL)
			r.bad = 1;
	}
	for (i = 0; !r.bad && i < in->nxattrs; i++) {
		struct xattr *x = &in->xattrs[i];
		const uint8_t *v;

		x->name = rd_str(&r, 1, 255);
		x->len = (uint32_t)rd_u(&r, 4);
		total += x->len;
		if (x->len > 65536 || total > XATTR_TOTAL_MAX ||
		    (v = rd_take(&r, x->len)) == NULL) {
			r.bad = 1;
			break;
		}
		if ((x->value = malloc(x->len + 1)) == NULL) {
			r.bad = 1;
			break;
		}
		memcpy(x->value, v, x->len);
	}
	/* Version 1 stored no holes: all of a file was data. */
	in->data = version == INODE_VERSION ? rd_u(&r, 8) : in->size;
	if (r.bad || r.left != 0 || in->name == NULL) {
		inode_free(in);
		return BEEMO_EFORMAT;
	}
	return 0;
}

int
inode_encode(const struct inode *in, uint8_t **out, size_t *len)
{
	struct wr w = {0};
	uint32_t i;

	wr_u(&w, 1, INODE_VERSION);
	wr_u(&w, 1, in->flags);
	wr_u(&w, 4, in->mode);
	wr_u(&w, 4, in->uid);
	wr_u(&w, 4, in->gid);
	wr_u(&w, 4, in->nlink);
	wr_u(&w, 8, in->rdev);
	wr_u(&w, 8, in->size);
	wr_time(&w, &in->atime);
	wr_time(&w, &in->mtime);
	wr_time(&w, &in->ctime);
	wr_u(&w, 8, in->parent);
	wr_u(&w, 8, in->content_seq);
	wr_str(&w, 2, in->name);
	wr_u(&w, 1, in->target != NULL);
	if (in->target != NULL)
		wr_str(&w, 2, in->target);
	wr_u(&w, 2, in->nxattrs);
	for (i = 0; i < in->nxattrs; i++) {
		wr_str(&w, 1, in->xattrs[i].name);
		wr_u(&w, 4, in->xattrs[i].len);
		wr_bytes(&w, in->xattrs[i].value, in->xattrs[i].len);
	}
	wr_u(&w, 8, in->data);
	if (w.bad) {
		free(w.buf);
		return -ENOMEM;
	}
	*out = w.buf;
	*len = w.len;
	return 0;
}

void
inode_attr(const struct inode *in, struct store_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->ino = in->ino;
	a->mode = in->mode;
	a->nlink = in->nlink;
	a->uid = in->uid;
	a->gid = in->gid;
	a->rdev = in->rdev;
	a->size = in->size;
	if (S_ISLNK(in->mode) && in->target != NULL)
		a->size = strlen(in->target);
	else if (S_ISDIR(in->mode))
		a->size = 4096;
	/* Blocks count data only: holes take none, as on disk file systems,
	 * so that tools that copy sparse files (cp, tar) see them. */
	a->blocks = ((S_ISREG(in->mode) ? in->data : a->size) + 511) / 512;
	a->atime = in->atime;
	a->mtime = in->mtime;
	a->ctime = in->ctime;
	a->version = in->content_seq;
}

/* ---- directory entries ---------------------------------------------- */

size_t
dirent_encode(uint8_t out[DIRENT_MAX_LEN], uint64_t ino, uint8_t type,
    const char *name)
{
	size_t n = strlen(name);

	out[0] = DIRENT_VERSION;
	out[1] = type;
	bm_be64enc(out + 2, ino);
	bm_be16enc(out + 10, (uint16_t)n);
	memcpy(out + 12, name, n);
	return 12 + n;
}

int
dirent_decode(struct dirent_rec *d, const uint8_t *p, size_t len)
{
	struct rd r = {p, len, 0};
	size_t n;
	const uint8_t *s;

	if (rd_u(&r, 1) != DIRENT_VERSION)
		return BEEMO_EVERSION;
	d->type = (uint8_t)rd_u(&r, 1);
	d->ino = rd_u(&r, 8);
	n = (size_t)rd_u(&r, 2);
	if (n == 0 || n > STORE_NAME_MAX || (s = rd_take(&r, n)) == NULL ||
	    r.left != 0 || memchr(s, '\0', n) || memchr(s, '/', n))
		return BEEMO_EFORMAT;
	memcpy(d->name, s, n);
	d->name[n] = '\0';
	return 0;
}

/* ---- contents ------------------------------------------------------- */

struct content *
content_new(uint32_t gen, uint32_t n)
{
	struct content *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->refs = 1;
	c->gen = gen;
	c->n = n;
	c->c = calloc(n ? n : 1, sizeof(*c->c));
	c->off = calloc((size_t)n + 1, sizeof(*c->off));
	if (c->c == NULL || c->off == NULL) {
		free(c->c);
		free(c->off);
		free(c);
		return NULL;
	}
	return c;
}

void
content_finish(struct content *c)
{
	uint32_t i;

	c->off[0] = 0;
	for (i = 0; i < c->n; i++)
		c->off[i + 1] = c->off[i] + c->c[i].len;
	c->size = c->off[c->n];
}

void
content_ref(struct content *c)
{
	if (c != NULL)
		__atomic_add_fetch(&c->refs, 1, __ATOMIC_RELAXED);
}

void
content_unref(struct content *c)
{
	if (c == NULL || __atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL))
		return;
	free(c->c);
	free(c->off);
	free(c);
}

uint32_t
content_index(const struct content *c, uint64_t off)
{
	uint32_t lo = 0, hi = c->n - 1;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo + 1) / 2;

		if (c->off[mid] <= off)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

uint64_t
content_data(const struct content *c)
{
	uint64_t n = 0;
	uint32_t i;

	for (i = 0; c != NULL && i < c->n; i++)
		if (!c->c[i].hole)
			n += c->c[i].len;
	return n;
}

int64_t
content_seek(const struct content *c, uint64_t off, int data)
{
	uint32_t i;

	if (c == NULL || off >= c->size)
		return -ENXIO;
	/* Skip the entries of the other kind. */
	for (i = content_index(c, off); i < c->n && c->c[i].hole == !!data;
	    i++)
		;
	if (i == c->n)
		return data ? -ENXIO : (int64_t)c->size;
	return (int64_t)(c->off[i] > off ? c->off[i] : off);
}

int
content_encode(const struct content *c, uint8_t **out, size_t *len)
{
	struct wr w = {0};
	uint32_t i;

	wr_u(&w, 1, CONTENT_VERSION);
	wr_u(&w, 4, c->gen);
	wr_u(&w, 4, c->n);
	wr_u(&w, 8, c->size);
	for (i = 0; i < c->n; i++) {
		if (c->c[i].hole) {
			wr_u(&w, 1, CONTENT_HOLE);
			wr_u(&w, 8, c->c[i].len);
			continue;
		}
		wr_u(&w, 1, CONTENT_CHUNK);
		wr_bytes(&w, c->c[i].id, OBJ_ID_LEN);
		wr_u(&w, 4, c->c[i].len);
	}
	if (w.bad) {
		free(w.buf);
		return -ENOMEM;
	}
	*out = w.buf;
	*len = w.len;
	return 0;
}

/*
 * One entry of a content record into @e: in version 1 always a chunk
 * (id, 4-byte length), in version 2 a type byte first and a hole's
 * length in 8 bytes.  Sets r->bad on anything out of bounds.
 */
static void
content_entry(struct rd *r, int version, struct cref *e)
{
	const uint8_t *id;
	uint64_t type = CONTENT_CHUNK;

	if (version == CONTENT_VERSION)
		type = rd_u(r, 1);
	if (type == CONTENT_HOLE) {
		e->hole = 1;
		e->len = rd_u(r, 8);
		if (e->len == 0 || e->len > STORE_FILE_MAX)
			r->bad = 1;
		return;
	}
	if (type != CONTENT_CHUNK || (id = rd_take(r, OBJ_ID_LEN)) == NULL) {
		r->bad = 1;
		return;
	}
	memcpy(e->id, id, OBJ_ID_LEN);
	e->len = rd_u(r, 4);
	if (e->len == 0 || e->len > OBJ_MAX_PLAIN)
		r->bad = 1;
}

int
content_decode(const uint8_t *p, size_t len, struct content **out)
{
	struct rd r = {p, len, 0};
	struct content *c;
	uint32_t i, n, gen;
	uint64_t size, sum = 0;
	int version = (int)rd_u(&r, 1);

	if (r.bad)
		return BEEMO_EFORMAT;
	if (version != CONTENT_VERSION && version != CONTENT_VERSION_CHUNKS)
		return BEEMO_EVERSION;
	gen = (uint32_t)rd_u(&r, 4);
	n = (uint32_t)rd_u(&r, 4);
	size = rd_u(&r, 8);
	/* Every entry takes at least 9 bytes: @n cannot ask for more memory
	 * than the record justifies. */
	if (r.bad || (version == CONTENT_VERSION_CHUNKS &&
	    r.left != (size_t)n * (OBJ_ID_LEN + 4)) ||
	    r.left < (size_t)n * 9)
		return BEEMO_EFORMAT;
	if ((c = content_new(gen, n)) == NULL)
		return -ENOMEM;
	for (i = 0; i < n && !r.bad; i++) {
		content_entry(&r, version, &c->c[i]);
		sum += c->c[i].len;
		if (sum > STORE_FILE_MAX)
			r.bad = 1;
	}
	/* Version 1 wrote the size too, but its chunks' sum is
	 * authoritative; version 2 must agree with itself. */
	if (r.bad || r.left != 0 ||
	    (version == CONTENT_VERSION && sum != size)) {
		content_unref(c);
		return BEEMO_EFORMAT;
	}
	content_finish(c);
	*out = c;
	return 0;
}

/* ---- chunk locations and pack states -------------------------------- */

void
chunk_loc_encode(uint8_t v[CHUNK_LOC_LEN], const struct chunk_loc *loc)
{
	bm_be64enc(v, loc->pack);
	bm_be64enc(v + 8, loc->off);
	bm_be32enc(v + 16, loc->stored_len);
	bm_be32enc(v + 20, loc->plain_len);
	bm_be32enc(v + 24, loc->gen);
	v[28] = loc->flags;
}

int
chunk_loc_decode(struct chunk_loc *out, const uint8_t *p, size_t len)
{
	if (len != CHUNK_LOC_LEN)
		return BEEMO_EFORMAT;
	out->pack = bm_be64dec(p);
	out->off = bm_be64dec(p + 8);
	out->stored_len = bm_be32dec(p + 16);
	out->plain_len = bm_be32dec(p + 20);
	out->gen = bm_be32dec(p + 24);
	out->flags = p[28];
	return 0;
}

void
pack_rec_encode(uint8_t v[PACK_REC_LEN], const struct pack_rec *r)
{
	v[0] = r->state;
	bm_be64enc(v + 1, r->size);
	bm_be64enc(v + 9, r->objects);
}

int
pack_rec_decode(struct pack_rec *r, const uint8_t *p, size_t len)
{
	if (len != PACK_REC_LEN)
		return BEEMO_EFORMAT;
	r->state = p[0];
	r->size = bm_be64dec(p + 1);
	r->objects = bm_be64dec(p + 9);
	return 0;
}
