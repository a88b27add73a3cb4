/*
 * store_worker.c -- the chunk sealing threads.
 *
 * The thread that receives a file's writes cuts chunks (cheap); sealing
 * a chunk -- MAC for its id, dedup lookup, zstd, AES-GCM, append to the
 * pack -- is handed to a small pool of workers so that it overlaps with
 * the next writes on the other core.  Each file collects its chunk ids in
 * a `cslots` list in file order, whatever order the workers finish in.
 * The bytes in flight are bounded (backpressure on writers), which bounds
 * the daemon's memory whatever the number and size of files.
 */
#include <errno.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "store_cache.h"
#include "store_internal.h"
#include "store_record.h"
#include "store_snap.h"
#include "store_worker.h"

#define INFLIGHT_MAX (16U << 20)

struct job {
	struct cslots *s;
	uint32_t idx;
	uint8_t *data;
	uint32_t len;
	struct job *next;
};

struct workers {
	store *st;
	pthread_t *th;
	unsigned n;
	pthread_mutex_t lock;
	pthread_cond_t work; /* a job was queued, or stop */
	pthread_cond_t room; /* in-flight bytes went down */
	struct job *head, *tail;
	uint64_t inflight;
	int stop;
};

int
chunk_store(store *st, uint8_t *data, uint32_t len, uint8_t id[OBJ_ID_LEN],
    int keep_plain)
{
	struct chunk_loc loc;
	uint8_t *obj = NULL;
	size_t objlen;
	int rc;

	if ((rc = chunk_id(&st->keys, st->keys.gen, data, len, id)) != 0)
		goto done;
	ix_lock(st);
	rc = chunk_loc_get(st, id, &loc);
	ix_unlock(st);
	if (rc == 0)
		goto done; /* deduplicated */
	if (rc != -ENOENT)
		goto done;
	rc = obj_build(&st->keys, OBJ_CHUNK, id, st->keys.gen,
	    keys_gen(&st->keys, st->keys.gen)->data, data, len,
	    st->opts.zstd_level, &obj, &objlen);
	if (rc != 0)
		goto done;
	memset(&loc, 0, sizeof(loc));
	loc.stored_len = (uint32_t)(objlen - OBJ_HDR_LEN - OBJ_TAG_LEN);
	loc.plain_len = len;
	loc.gen = st->keys.gen;
	loc.flags = obj[5];
	/* New data stays out of the disk's reserve: what is acknowledged
	 * can always be committed. */
	if ((rc = store_space_check(st, objlen, 0)) != 0)
		goto done;
	rc = pack_append(&st->packs, obj, objlen, &loc.pack, &loc.off);
	if (rc != 0)
		goto done;
	ix_lock(st);
	{
		struct chunk_loc other;

		/* Another thread may have stored the same chunk meanwhile;
		 * the first one recorded wins, ours is garbage. */
		if (chunk_loc_get(st, id, &other) == -ENOENT)
			rc = chunk_loc_put(st, id, &loc);
	}
	ix_unlock(st);
done:
	free(obj);
	if (rc == 0 && keep_plain) {
		cache_offer(st, id, data, len);
	} else {
		OPENSSL_cleanse(data, len);
		free(data);
	}
	return rc;
}

static void *
worker(void *arg)
{
	struct workers *w = arg;
	struct job *j;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (w->head == NULL && !w->stop)
			pthread_cond_wait(&w->work, &w->lock);
		if (w->head == NULL)
			break;
		j = w->head;
		w->head = j->next;
		if (w->head == NULL)
			w->tail = NULL;
		pthread_mutex_unlock(&w->lock);

		{
			struct cslots *s = j->s;
			uint8_t id[OBJ_ID_LEN];
			int rc = chunk_store(w->st, j->data, j->len, id,
			    s->keep_plain);

			pthread_mutex_lock(&s->lock);
			memcpy(s->c[j->idx].id, id, OBJ_ID_LEN);
			s->c[j->idx].len = j->len;
			if (rc != 0 && s->err == 0)
				s->err = rc;
			s->inflight--;
			pthread_cond_broadcast(&s->cv);
			pthread_mutex_unlock(&s->lock);
		}

		pthread_mutex_lock(&w->lock);
		w->inflight -= j->len;
		pthread_cond_broadcast(&w->room);
		free(j);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int
workers_start(store *st)
{
	struct workers *w = calloc(1, sizeof(*w));
	unsigned i;
	int rc;

	if (w == NULL)
		return -ENOMEM;
	w->st = st;
	w->n = st->opts.workers;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->work, NULL);
	pthread_cond_init(&w->room, NULL);
	if ((w->th = calloc(w->n, sizeof(*w->th))) == NULL) {
		free(w);
		return -ENOMEM;
	}
	st->workers = w;
	for (i = 0; i < w->n; i++) {
		if ((rc = pthread_create(&w->th[i], NULL, worker, w)) != 0) {
			w->n = i;
			workers_stop(st);
			return -rc;
		}
	}
	return 0;
}

void
workers_stop(store *st)
{
	struct workers *w = st->workers;
	unsigned i;

	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = 1;
	pthread_cond_broadcast(&w->work);
	pthread_mutex_unlock(&w->lock);
	for (i = 0; i < w->n; i++)
		pthread_join(w->th[i], NULL);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->work);
	pthread_cond_destroy(&w->room);
	free(w->th);
	free(w);
	st->workers = NULL;
}

void
cslots_init(struct cslots *s)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cv, NULL);
}

void
cslots_fini(struct cslots *s)
{
	cslots_wait(s);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cv);
	free(s->c);
	s->c = NULL;
}

static int
slot_new(struct cslots *s, uint32_t *idx)
{
	if (s->n == s->cap) {
		uint32_t cap = s->cap ? s->cap * 2 : 16;
		struct cref *c = realloc(s->c, cap * sizeof(*c));

		if (c == NULL)
			return -ENOMEM;
		s->c = c;
		s->cap = cap;
	}
	*idx = s->n++;
	memset(&s->c[*idx], 0, sizeof(s->c[*idx])); /* a chunk, not a hole */
	return 0;
}

int
cslots_add(struct cslots *s, const struct cref *c)
{
	uint32_t idx;
	int rc;

	pthread_mutex_lock(&s->lock);
	if ((rc = slot_new(s, &idx)) == 0)
		s->c[idx] = *c;
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int
cslots_submit(store *st, struct cslots *s, uint8_t *data, uint32_t len)
{
	struct workers *w = st->workers;
	struct job *j = malloc(sizeof(*j));
	int rc;

	if (j == NULL) {
		free(data);
		return -ENOMEM;
	}
	pthread_mutex_lock(&s->lock);
	rc = slot_new(s, &j->idx);
	if (rc == 0)
		s->inflight++;
	pthread_mutex_unlock(&s->lock);
	if (rc != 0) {
		free(j);
		free(data);
		return rc;
	}
	j->s = s;
	j->data = data;
	j->len = len;
	j->next = NULL;
	pthread_mutex_lock(&w->lock);
	while (w->inflight > 0 && w->inflight + len > INFLIGHT_MAX)
		pthread_cond_wait(&w->room, &w->lock);
	w->inflight += len;
	if (w->tail)
		w->tail->next = j;
	else
		w->head = j;
	w->tail = j;
	pthread_cond_signal(&w->work);
	pthread_mutex_unlock(&w->lock);
	return 0;
}

int
cslots_wait(struct cslots *s)
{
	int rc;

	pthread_mutex_lock(&s->lock);
	while (s->inflight > 0)
		pthread_cond_wait(&s->cv, &s->lock);
	rc = s->err;
	pthread_mutex_unlock(&s->lock);
	return rc;
}
