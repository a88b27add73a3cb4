/*
 * store_worker.h -- the chunk sealing workers, and the chunk slots they
 * fill.
 *
 * The thread that receives a file's writes only cuts chunks; sealing one
 * (chunk_store(): MAC for its id, dedup lookup in the index, zstd,
 * AES-GCM, append to the open pack, location record) is handed to a pool
 * of opts.workers threads so that it overlaps with the next writes.  A
 * file collects its chunk references in a struct cslots in file order,
 * whatever order the workers finish in.  The bytes in flight over all
 * files are bounded (16 MiB): a submitter blocks until there is room,
 * which bounds memory whatever the number and size of files.
 *
 * Locking: the job queue's lock and cslots.lock are leaves, never held
 * across a call into another layer.  A worker runs chunk_store() with no
 * lock held; it takes ix_lock (lookup), then pk_lock alone (append),
 * then ix_lock again (record), never two at once.  A file's owner calls
 * cslots_submit() and cslots_wait() under its open-file lock
 * (ofile.lock), which the workers never take.
 */
#ifndef BEEMO_STORE_WORKER_H
#define BEEMO_STORE_WORKER_H

#include <pthread.h>
#include <stdint.h>

#include "store.h"
#include "store_codec.h"

/* A list of chunk slots that workers fill in.  lock protects every
 * field but keep_plain (set by the owner before it submits, read-only
 * while chunks are in flight); cv signals that inflight went down. */
struct cslots {
	pthread_mutex_t lock;
	pthread_cond_t cv;
	struct cref *c;     /* lock */
	uint32_t n, cap;    /* lock */
	uint32_t inflight;  /* submitted, not yet sealed; lock */
	int err;            /* first error of a worker; lock */
	int keep_plain;     /* offer plaintext to the cache */
};

/* workers_start -- create st->workers and its threads (read-write store,
 * at open, single-threaded).  Returns 0, -ENOMEM, or the thread
 * creation error negated (the threads started are stopped again).
 * workers_stop -- let the workers finish the queued jobs, join them and
 * free the pool; no-op without one.  Call with no lock held, when no
 * thread submits any more. */
int workers_start(store *st);
void workers_stop(store *st);

/* cslots_init -- an empty list.  cslots_fini -- wait for the chunks in
 * flight, then free the list (the chunks stay stored). */
void cslots_init(struct cslots *s);
void cslots_fini(struct cslots *s);
/* cslots_submit -- append a slot for a chunk of @len bytes at @data
 * (from malloc; ownership passes, even on error) and queue it for a
 * worker.  Blocks while the bytes in flight are over the bound.  Returns
 * 0 or -ENOMEM; a sealing error shows in cslots_wait().  Needs a
 * read-write store (st->workers). */
int cslots_submit(store *st, struct cslots *s, uint8_t *data, uint32_t len);
/* cslots_add -- append the reference of an already stored chunk @c.
 * Returns 0 or -ENOMEM. */
int cslots_add(struct cslots *s, const struct cref *c);
/* cslots_wait -- wait until every submitted chunk is sealed; returns the
 * first worker error (sticky), else 0. */
int cslots_wait(struct cslots *s);

/* chunk_store -- seal and store chunk @data (@len bytes, from malloc;
 * ownership passes) now, in the calling thread, unless the index knows
 * it already (dedup); @id receives its id.  If @keep_plain and it
 * succeeds, the plaintext goes to the cache (cache_offer()), else it is
 * cleansed and freed.  Returns 0, or the errors of chunk_id(),
 * obj_build(), pack_append() and the index (-EIO, -ENOSPC, -ENOMEM,
 * ...).  Call with no lock of the store held but an open
 * file's; it takes ix_lock and pk_lock in turn. */
int chunk_store(store *st, uint8_t *data, uint32_t len, uint8_t id[OBJ_ID_LEN],
    int keep_plain);

#endif /* BEEMO_STORE_WORKER_H */
