/*
 * scan_cache.c -- LRU cache of antivirus verdicts (see scan_cache.h).
 *
 * The entries live in one array indexed by 32-bit numbers: a hash chain
 * per bucket (the key is already a SHA-256, its first bytes are the
 * hash) and a doubly linked LRU list, head the most recent.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan_cache.h"

#define NIL UINT32_MAX

struct ent {
	uint8_t key[32];
	uint64_t ver;
	char *virus;    /* NULL: clean */
	uint32_t prev, next; /* LRU list */
	uint32_t hnext; /* bucket chain */
	uint32_t pad;
};

struct scan_cache {
	pthread_mutex_t lock; /* protects everything below */
	struct ent *e;
	uint32_t *bucket;
	uint64_t cap, n, alloc, nbucket;
	uint32_t head, tail; /* most and least recently used */
	uint64_t hits, misses, evictions;
};

int
scan_cache_new(uint64_t cap, struct scan_cache **out)
{
	struct scan_cache *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return -ENOMEM;
	if (cap >= NIL)
		cap = NIL - 1;
	c->cap = cap;
	c->head = c->tail = NIL;
	pthread_mutex_init(&c->lock, NULL);
	*out = c;
	return 0;
}

void
scan_cache_free(struct scan_cache *c)
{
	uint64_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n; i++)
		free(c->e[i].virus);
	free(c->e);
	free(c->bucket);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static uint64_t
hash_of(const uint8_t key[32])
{
	uint64_t h;

	memcpy(&h, key, sizeof(h));
	return h;
}

static uint32_t *
chain_of(struct scan_cache *c, const uint8_t key[32])
{
	return &c->bucket[hash_of(key) & (c->nbucket - 1)];
}

static uint32_t
find(struct scan_cache *c, const uint8_t key[32])
{
	uint32_t i;

	if (c->nbucket == 0)
		return NIL;
	for (i = *chain_of(c, key); i != NIL; i = c->e[i].hnext)
		if (!memcmp(c->e[i].key, key, 32))
			return i;
	return NIL;
}

static void
lru_unlink(struct scan_cache *c, uint32_t i)
{
	struct ent *x = &c->e[i];

	if (x->prev != NIL)
		c->e[x->prev].next = x->next;
	else
		c->head = x->next;
	if (x->next != NIL)
		c->e[x->next].prev = x->prev;
	else
		c->tail = x->prev;
}

static void
lru_front(struct scan_cache *c, uint32_t i)
{
	struct ent *x = &c->e[i];

	x->prev = NIL;
	x->next = c->head;
	if (c->head != NIL)
		c->e[c->head].prev = i;
	c->head = i;
	if (c->tail == NIL)
		c->tail = i;
}

static void
chain_remove(struct scan_cache *c, uint32_t i)
{
	uint32_t *p = chain_of(c, c->e[i].key);

	while (*p != i)
		p = &c->e[*p].hnext;
	*p = c->e[i].hnext;
}

/* Make room for one more entry: grow the arrays (rehashing) while under
 * the bound.  Returns 0, or -ENOMEM (then evict instead). */
static int
grow(struct scan_cache *c)
{
	uint64_t na = c->alloc ? c->alloc * 2 : 1024, nb, i;
	struct ent *e;
	uint32_t *b;

	if (na > c->cap)
		na = c->cap;
	if (na <= c->alloc)
		return -ENOMEM;
	for (nb = 1; nb < na; nb <<= 1)
		;
	if ((e = realloc(c->e, na * sizeof(*e))) == NULL)
		return -ENOMEM;
	c->e = e;
	c->alloc = na;
	if (nb == c->nbucket)
		return 0;
	if ((b = malloc(nb * sizeof(*b))) == NULL)
		return -ENOMEM;
	free(c->bucket);
	c->bucket = b;
	c->nbucket = nb;
	for (i = 0; i < nb; i++)
		b[i] = NIL;
	for (i = 0; i < c->n; i++) {
		uint32_t *p = chain_of(c, c->e[i].key);

		c->e[i].hnext = *p;
		*p = (uint32_t)i;
	}
	return 0;
}

int
scan_cache_get(struct scan_cache *c, const uint8_t key[32], uint64_t ver,
    char *virus, size_t vlen)
{
	uint32_t i;
	int rc = -ENOENT;

	pthread_mutex_lock(&c->lock);
	i = find(c, key);
	if (i != NIL && c->e[i].ver == ver) {
		rc = c->e[i].virus != NULL;
		if (rc && vlen > 0)
			snprintf(virus, vlen, "%s", c->e[i].virus);
		lru_unlink(c, i);
		lru_front(c, i);
		c->hits++;
	} else {
		c->misses++;
	}
	pthread_mutex_unlock(&c->lock);
	return rc;
}

void
scan_cache_put(struct scan_cache *c, const uint8_t key[32], uint64_t ver,
    const char *virus)
{
	char *name = NULL;
	uint32_t i;

	if (c->cap == 0 || (virus != NULL && (name = strdup(virus)) == NULL))
		return;
	pthread_mutex_lock(&c->lock);
	if ((i = find(c, key)) != NIL) {
		lru_unlink(c, i);
	} else if (c->n < c->alloc || grow(c) == 0) {
		i = (uint32_t)c->n++;
		memcpy(c->e[i].key, key, 32);
		c->e[i].virus = NULL;
		c->e[i].hnext = *chain_of(c, key);
		*chain_of(c, key) = i;
	} else if (c->tail != NIL) {
		/* Full: the least recently used entry takes the new key. */
		i = c->tail;
		lru_unlink(c, i);
		chain_remove(c, i);
		memcpy(c->e[i].key, key, 32);
		c->e[i].hnext = *chain_of(c, key);
		*chain_of(c, key) = i;
		c->evictions++;
	} else {
		pthread_mutex_unlock(&c->lock);
		free(name);
		return;
	}
	free(c->e[i].virus);
	c->e[i].virus = name;
	c->e[i].ver = ver;
	lru_front(c, i);
	pthread_mutex_unlock(&c->lock);
}

void
scan_cache_clear(struct scan_cache *c)
{
	uint64_t i;

	pthread_mutex_lock(&c->lock);
	for (i = 0; i < c->n; i++)
		free(c->e[i].virus);
	for (i = 0; i < c->nbucket; i++)
		c->bucket[i] = NIL;
	c->n = 0;
	c->head = c->tail = NIL;
	pthread_mutex_unlock(&c->lock);
}

void
scan_cache_stats(struct scan_cache *c, struct scan_cache_stats *st)
{
	pthread_mutex_lock(&c->lock);
	st->hits = c->hits;
	st->misses = c->misses;
	st->entries = c->n;
	st->cap = c->cap;
	st->evictions = c->evictions;
	pthread_mutex_unlock(&c->lock);
}
