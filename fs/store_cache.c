/*
 * store_cache.c -- a bounded cache of plaintext chunks.
 *
 * Reads come in pieces of 128 KiB to 1 MiB while a chunk is ~1 MiB:
 * decrypting it once and serving every piece from here is what makes
 * sequential reads fast.  Entries are found by chunk id in a hash table
 * and evicted least-recently-used when the cache is over its byte budget
 * and nobody holds them.  A missing chunk is loaded by the first thread
 * that asks; others asking meanwhile wait for that load (single flight).
 * Plaintext is cleansed when freed, and its big buffers are marked to
 * stay out of core dumps (bm_dontdump).
 *
 * Buffers are reused: a load takes its two buffers (the object as read
 * from the pack, the plaintext) from a small pool fed by evicted
 * entries and by the loads' scratch, instead of malloc(), which serves
 * megabyte buffers with a fresh mmap -- a page fault and a zeroed page
 * for every 4 KiB, then munmap -- and instead of wiping every evicted
 * megabyte.  Pooled buffers hold stale plaintext like the cache does;
 * they are wiped when the pool lets them go.
 */
#include <errno.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "bm_bytes.h"
#include "bm_log.h"
#include "bm_nodump.h"
#include "store_cache.h"
#include "store_internal.h"
#include "store_record.h"

#define NBUCKETS 1024

enum { CE_LOADING, CE_READY, CE_FAILED };

struct centry {
	uint8_t id[OBJ_ID_LEN];
	uint8_t *data;
	uint32_t len;
	size_t cap; /* bytes allocated at data */
	int refs;
	int state;
	int err;
	int linked; /* in the hash table and LRU list */
	struct centry *hnext;
	struct centry *prev, *next; /* LRU: head = most recent */
};

#define PREFETCH_QUEUE 8
#define PREFETCH_THREADS 2
/* Buffers kept for reuse: a few chunks' worth, counted apart from the
 * cache's budget. */
#define POOL_MAX 16
#define POOL_BYTES (16U << 20)
/* Allocations are rounded up to this, so that a buffer serves chunks of
 * a little more than its first one; small ones (a small file's only
 * chunk) to a page, or they would weigh in the budget as big ones. */
#define POOL_ROUND (256U << 10)
#define POOL_ROUND_SMALL 4096U

struct cache {
	pthread_mutex_t lock;
	pthread_cond_t cv;
	struct centry *bucket[NBUCKETS];
	struct centry *head, *tail;
	uint64_t bytes, cap; /* bytes allocated to entries, budget */

	/* Read-ahead: chunk ids to load before they are asked for, so that
	 * decrypting the next chunk overlaps with serving this one.
	 * Protected by lock; pf_cv wakes the prefetch threads. */
	store *st;
	pthread_cond_t pf_cv;
	pthread_t pf[PREFETCH_THREADS];
	uint8_t pf_q[PREFETCH_QUEUE][OBJ_ID_LEN];
	unsigned pf_n;
	int pf_stop, pf_started;

	/* Free buffers for loads (see above); protected by lock. */
	uint8_t *pool[POOL_MAX];
	size_t pool_cap[POOL_MAX];
	unsigned pool_n;
	size_t pool_bytes;
};

static unsigned
bucket_of(const uint8_t *id)
{
	/* Chunk ids are MAC outputs: any bits are uniform. */
	return (unsigned)(bm_be32dec(id) % NBUCKETS);
}

static struct centry *find(struct cache *c, const uint8_t *id);

static void *
prefetcher(void *arg)
{
	struct cache *c = arg;
	uint8_t id[OBJ_ID_LEN];
	const uint8_t *data;
	uint32_t len;
	void *h;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		while (c->pf_n == 0 && !c->pf_stop)
			pthread_cond_wait(&c->pf_cv, &c->lock);
		if (c->pf_stop)
			break;
		memcpy(id, c->pf_q[--c->pf_n], OBJ_ID_LEN);
		pthread_mutex_unlock(&c->lock);
		/* Errors are for the reader to meet and report. */
		if (cache_get(c->st, id, &data, &len, &h) == 0)
			cache_put(c->st, h);
		pthread_mutex_lock(&c->lock);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

int
cache_new(store *st, uint64_t bytes)
{
	struct cache *c = calloc(1, sizeof(*c));
	int i;

	if (c == NULL)
		return -ENOMEM;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cv, NULL);
	pthread_cond_init(&c->pf_cv, NULL);
	c->cap = bytes;
	c->st = st;
	st->cache = c;
	for (i = 0; i < PREFETCH_THREADS; i++)
		if (pthread_create(&c->pf[i], NULL, prefetcher, c) == 0)
			c->pf_started++;
	return 0;
}

void
cache_prefetch(store *st, const uint8_t id[OBJ_ID_LEN])
{
	struct cache *c = st->cache;
	unsigned i;

	pthread_mutex_lock(&c->lock);
	if (c->pf_started == 0 || find(c, id) != NULL) {
		pthread_mutex_unlock(&c->lock);
		return;
	}
	for (i = 0; i < c->pf_n; i++)
		if (memcmp(c->pf_q[i], id, OBJ_ID_LEN) == 0)
			break;
	if (i == c->pf_n) {
		if (c->pf_n == PREFETCH_QUEUE) { /* drop the oldest wish */
			memmove(c->pf_q[0], c->pf_q[1],
			    (PREFETCH_QUEUE - 1) * OBJ_ID_LEN);
			c->pf_n--;
		}
		memcpy(c->pf_q[c->pf_n++], id, OBJ_ID_LEN);
		pthread_cond_signal(&c->pf_cv);
	}
	pthread_mutex_unlock(&c->lock);
}

static void
wipe_free(uint8_t *p, size_t len)
{
	if (p != NULL) {
		OPENSSL_cleanse(p, len);
		free(p);
	}
}

/*
 * Put buffer @p of @cap bytes in the pool (lock held).  When the pool is
 * full its smallest buffers go first: chunk sizes vary (CDC_MIN to
 * CDC_MAX), and a big buffer serves any chunk where a small one would
 * send the next big chunk to malloc().
 */
static void
pool_give_locked(struct cache *c, uint8_t *p, size_t cap)
{
	unsigned i, small;

	if (p == NULL)
		return;
	while (c->pool_n > 0 && (c->pool_n == POOL_MAX ||
	    c->pool_bytes + cap > POOL_BYTES)) {
		for (small = 0, i = 1; i < c->pool_n; i++)
			if (c->pool_cap[i] < c->pool_cap[small])
				small = i;
		if (c->pool_cap[small] >= cap)
			break;
		wipe_free(c->pool[small], c->pool_cap[small]);
		c->pool_bytes -= c->pool_cap[small];
		c->pool[small] = c->pool[--c->pool_n];
		c->pool_cap[small] = c->pool_cap[c->pool_n];
	}
	if (c->pool_n == POOL_MAX || c->pool_bytes + cap > POOL_BYTES) {
		wipe_free(p, cap);
		return;
	}
	c->pool[c->pool_n] = p;
	c->pool_cap[c->pool_n++] = cap;
	c->pool_bytes += cap;
}

static void
pool_give(struct cache *c, uint8_t *p, size_t cap)
{
	pthread_mutex_lock(&c->lock);
	pool_give_locked(c, p, cap);
	pthread_mutex_unlock(&c->lock);
}

/* A buffer of at least @need bytes: the smallest pooled one that fits
 * (@fit: and is not much bigger), else a new one; its size in *@cap.
 * NULL if memory is short. */
static uint8_t *
pool_take(struct cache *c, size_t need, int fit, size_t *cap)
{
	unsigned i, best = POOL_MAX;
	size_t r;
	uint8_t *p;

	pthread_mutex_lock(&c->lock);
	/* A small entry (@fit) takes no big buffer: the entry counts its
	 * buffer's size in the budget, and small files' chunks would each
	 * weigh as a big one. */
	for (i = 0; i < c->pool_n; i++)
		if (c->pool_cap[i] >= need && (!fit || need >= POOL_ROUND ||
		    c->pool_cap[i] <= POOL_ROUND) &&
		    (best == POOL_MAX || c->pool_cap[i] < c->pool_cap[best]))
			best = i;
	if (best != POOL_MAX) {
		p = c->pool[best];
		*cap = c->pool_cap[best];
		c->pool_bytes -= *cap;
		c->pool[best] = c->pool[--c->pool_n];
		c->pool_cap[best] = c->pool_cap[c->pool_n];
		pthread_mutex_unlock(&c->lock);
		return p;
	}
	pthread_mutex_unlock(&c->lock);
	r = need < POOL_ROUND ? POOL_ROUND_SMALL : POOL_ROUND;
	*cap = (need + r - 1) / r * r;
	if ((p = malloc(*cap)) != NULL)
		bm_dontdump(p, *cap);
	return p;
}

/* Drop entry @e; its buffer goes to the pool (lock held). */
static void
entry_free(struct cache *c, struct centry *e)
{
	pool_give_locked(c, e->data, e->cap);
	free(e);
}

static void
unlink_entry(struct cache *c, struct centry *e)
{
	struct centry **pp = &c->bucket[bucket_of(e->id)];

	if (!e->linked)
		return;
	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	if (e->prev)
		e->prev->next = e->next;
	else
		c->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		c->tail = e->prev;
	if (e->state == CE_READY)
		c->bytes -= e->cap;
	e->linked = 0;
}

static void
link_entry(struct cache *c, struct centry *e)
{
	unsigned b = bucket_of(e->id);

	e->hnext = c->bucket[b];
	c->bucket[b] = e;
	e->prev = NULL;
	e->next = c->head;
	if (c->head)
		c->head->prev = e;
	c->head = e;
	if (c->tail == NULL)
		c->tail = e;
	e->linked = 1;
}

static void
touch(struct cache *c, struct centry *e)
{
	if (c->head == e)
		return;
	e->prev->next = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		c->tail = e->prev;
	e->prev = NULL;
	e->next = c->head;
	c->head->prev = e;
	c->head = e;
}

static void
evict(struct cache *c)
{
	struct centry *e = c->tail, *prev;

	while (c->bytes > c->cap && e != NULL) {
		prev = e->prev;
		if (e->refs == 0 && e->state == CE_READY) {
			unlink_entry(c, e);
			entry_free(c, e);
		}
		e = prev;
	}
}

static struct centry *
find(struct cache *c, const uint8_t *id)
{
	struct centry *e;

	for (e = c->bucket[bucket_of(id)]; e != NULL; e = e->hnext)
		if (memcmp(e->id, id, OBJ_ID_LEN) == 0)
			return e;
	return NULL;
}

void
cache_free(store *st)
{
	struct cache *c = st->cache;
	struct centry *e, *next;

	if (c == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	c->pf_stop = 1;
	pthread_cond_broadcast(&c->pf_cv);
	pthread_mutex_unlock(&c->lock);
	while (c->pf_started > 0)
		pthread_join(c->pf[--c->pf_started], NULL);
	pthread_cond_destroy(&c->pf_cv);
	for (e = c->head; e != NULL; e = next) {
		next = e->next;
		wipe_free(e->data, e->cap);
		free(e);
	}
	while (c->pool_n > 0) {
		c->pool_n--;
		wipe_free(c->pool[c->pool_n], c->pool_cap[c->pool_n]);
	}
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->cv);
	free(c);
	st->cache = NULL;
}

static int
load(store *st, const uint8_t *id, uint8_t **data, uint32_t *len,
    size_t *cap)
{
	struct cache *c = st->cache;
	struct chunk_loc loc;
	uint8_t *raw, *plain;
	size_t rawcap;
	int rc;

	ix_lock(st);
	rc = chunk_loc_get(st, id, &loc);
	ix_unlock(st);
	if (rc == -ENOENT) {
		char hex[2 * OBJ_ID_LEN + 1];

		bm_hex(hex, id, OBJ_ID_LEN);
		bm_log(LOG_ERR, "chunk %s: not in the index", hex);
		return -EIO;
	}
	if (rc != 0)
		return rc;
	if ((raw = pool_take(c, PACK_CHUNK_RAW(&loc), 0, &rawcap)) == NULL)
		return -ENOMEM;
	if ((plain = pool_take(c, loc.plain_len + 1, 1, cap)) == NULL) {
		pool_give(c, raw, rawcap);
		return -ENOMEM;
	}
	rc = pack_read_chunk(&st->packs, id, &loc, raw, plain);
	pool_give(c, raw, rawcap);
	if (rc != 0) {
		pool_give(c, plain, *cap);
		return rc;
	}
	*data = plain;
	*len = loc.plain_len;
	return 0;
}

int
cache_get(store *st, const uint8_t id[OBJ_ID_LEN], const uint8_t **data,
    uint32_t *len, void **h)
{
	struct cache *c = st->cache;
	struct centry *e;
	uint8_t *d = NULL;
	uint32_t l = 0;
	size_t cap = 0;
	int rc;

	pthread_mutex_lock(&c->lock);
	if ((e = find(c, id)) != NULL) {
		e->refs++;
		while (e->state == CE_LOADING)
			pthread_cond_wait(&c->cv, &c->lock);
		if (e->state == CE_FAILED) {
			rc = e->err;
			if (--e->refs == 0)
				entry_free(c, e);
			pthread_mutex_unlock(&c->lock);
			return rc;
		}
		if (e->linked)
			touch(c, e);
		pthread_mutex_unlock(&c->lock);
		*data = e->data;
		*len = e->len;
		*h = e;
		return 0;
	}
	if ((e = calloc(1, sizeof(*e))) == NULL) {
		pthread_mutex_unlock(&c->lock);
		return -ENOMEM;
	}
	memcpy(e->id, id, OBJ_ID_LEN);
	e->refs = 1;
	e->state = CE_LOADING;
	link_entry(c, e);
	pthread_mutex_unlock(&c->lock);

	rc = load(st, id, &d, &l, &cap);

	pthread_mutex_lock(&c->lock);
	if (rc == 0) {
		e->data = d;
		e->len = l;
		e->cap = cap;
		e->state = CE_READY;
		c->bytes += cap;
		evict(c);
	} else {
		e->state = CE_FAILED;
		e->err = rc;
		unlink_entry(c, e);
	}
	pthread_cond_broadcast(&c->cv);
	if (rc != 0 && --e->refs == 0)
		entry_free(c, e);
	pthread_mutex_unlock(&c->lock);
	if (rc != 0)
		return rc;
	*data = e->data;
	*len = e->len;
	*h = e;
	return 0;
}

void
cache_put(store *st, void *h)
{
	struct cache *c = st->cache;
	struct centry *e = h;

	pthread_mutex_lock(&c->lock);
	if (--e->refs == 0) {
		if (!e->linked)
			entry_free(c, e);
		else if (c->bytes > c->cap)
			evict(c);
	}
	pthread_mutex_unlock(&c->lock);
}

void
cache_offer(store *st, const uint8_t id[OBJ_ID_LEN], uint8_t *data,
    uint32_t len)
{
	struct cache *c = st->cache;
	struct centry *e;

	bm_dontdump(data, len);
	pthread_mutex_lock(&c->lock);
	if (len > c->cap / 4 || find(c, id) != NULL ||
	    (e = calloc(1, sizeof(*e))) == NULL) {
		pthread_mutex_unlock(&c->lock);
		OPENSSL_cleanse(data, len);
		free(data);
		return;
	}
	memcpy(e->id, id, OBJ_ID_LEN);
	e->data = data;
	e->len = len;
	e->cap = len;
	e->state = CE_READY;
	link_entry(c, e);
	c->bytes += e->cap;
	evict(c);
	pthread_mutex_unlock(&c->lock);
}

/* What holes read as in a view; never written, so it stays the shared
 * zero page. */
static const uint8_t zeros[128U << 10];

static void
prefetch_next(store *st, const struct content *c, uint32_t i)
{
	/* Sequential readers come next for the following chunks. */
	if (i + 1 < c->n && !c->c[i + 1].hole)
		cache_prefetch(st, c->c[i + 1].id);
	if (i + 2 < c->n && !c->c[i + 2].hole)
		cache_prefetch(st, c->c[i + 2].id);
}

void
content_view_put(struct store_view *v)
{
	unsigned i;

	for (i = 0; i < v->n; i++)
		if (v->hold[i] != NULL)
			cache_put(v->st, v->hold[i]);
	v->n = 0;
}

/* The bytes of @c a read of @len at @off gets (0: none), and in @i the
 * index of the chunk that holds @off, whose next chunks are prefetched. */
static size_t
content_span(store *st, const struct content *c, uint64_t off, size_t len,
    uint32_t *i)
{
	if (c == NULL || off >= c->size || len == 0)
		return 0;
	if (len > c->size - off)
		len = (size_t)(c->size - off);
	*i = content_index(c, off);
	prefetch_next(st, c, *i);
	return len;
}

ssize_t
content_view(store *st, const struct content *c, size_t len, uint64_t off,
    struct store_view *v)
{
	size_t done = 0;
	uint32_t i;

	v->n = 0;
	v->st = st;
	if ((len = content_span(st, c, off, len, &i)) == 0)
		return 0;
	while (done < len) {
		uint64_t in = off + done - c->off[i];
		const uint8_t *data;
		uint32_t dlen;
		size_t n;
		void *h = NULL;
		int rc;

		if (v->n == STORE_VIEW_MAX) {
			content_view_put(v);
			return -EAGAIN;
		}
		n = c->c[i].len - in < len - done ?
		    (size_t)(c->c[i].len - in) : len - done;
		if (c->c[i].hole) {
			if (n > sizeof(zeros))
				n = sizeof(zeros);
			data = zeros;
			in = 0;
		} else {
			if ((rc = cache_get(st, c->c[i].id, &data, &dlen,
			    &h)) != 0) {
				content_view_put(v);
				return rc;
			}
			if (dlen != c->c[i].len) {
				cache_put(st, h);
				content_view_put(v);
				return -EIO;
			}
		}
		v->iov[v->n].iov_base = (void *)(data + in);
		v->iov[v->n].iov_len = n;
		v->hold[v->n++] = h;
		done += n;
		if (off + done == c->off[i + 1])
			i++;
	}
	return (ssize_t)done;
}

ssize_t
content_read(store *st, const struct content *c, void *buf, size_t len,
    uint64_t off)
{
	uint8_t *out = buf;
	size_t done = 0;
	uint32_t i;

	if ((len = content_span(st, c, off, len, &i)) == 0)
		return 0;
	while (done < len) {
		const uint8_t *data;
		uint32_t dlen;
		uint64_t in = off + done - c->off[i];
		size_t n;
		void *h;
		int rc;

		if (c->c[i].hole) {
			/* Zeros, read from nowhere. */
			n = c->c[i].len - in < len - done ?
			    (size_t)(c->c[i].len - in) : len - done;
			memset(out + done, 0, n);
			done += n;
			i++;
			continue;
		}
		if ((rc = cache_get(st, c->c[i].id, &data, &dlen, &h)) != 0)
			return rc; /* never a short read: it would look like EOF */
		if (dlen != c->c[i].len) {
			cache_put(st, h);
			return -EIO;
		}
		n = dlen - in;
		if (n > len - done)
			n = len - done;
		memcpy(out + done, data + in, n);
		cache_put(st, h);
		done += n;
		i++;
	}
	return (ssize_t)done;
}
