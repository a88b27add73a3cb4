/*
 * store_cqueue.h -- files committed in the background after close().
 *
 * With opts.commit_threads > 0, the close of a written file (FUSE flush
 * and release) does not wait for its commit: the file's pending changes
 * are handed to a queue, and a pool of commit threads finishes them
 * (last chunks sealed), has the antivirus scan them and commits them to
 * the index (file_commit_queued(), store_file.h).  The client writes its
 * next file meanwhile, so the scan of one file overlaps the writes of the
 * next and both cores work.
 *
 * What stays true: an infected file is never committed, so it is never
 * in a snapshot (store_snapshot_take() drains the queue first) nor
 * pushed, and it is journaled and reported as before; only close() no
 * longer fails for it.  A file whose commit is queued is seen as written:
 * its size and times come from the queued changes, and every access to
 * its content (open, read, write, truncate) waits for its commit.
 * fsync() waits for it and for the index commit, as before.
 *
 * The queue is bounded (files and bytes): a close waits for room, which
 * bounds the daemon's memory whatever the client does.
 *
 * Locking: the queue's lock is a leaf.  cq_push() is called with no store
 * lock held; commit threads take an ofile's lock, then ix_lock.
 */
#ifndef BEEMO_STORE_CQUEUE_H
#define BEEMO_STORE_CQUEUE_H

#include <stdint.h>

#include "store.h"

struct ofile;

/* Under this much room left (hard quota, or free disk over the reserve),
 * close() commits before it returns (file_commit_async()). */
#define CQ_SPACE_MARGIN (256ULL << 20)

/* cq_start -- start opts.commit_threads commit threads (read-write store,
 * at open, single-threaded); no-op when it is 0.  Returns 0, -ENOMEM or
 * the thread creation error negated.  cq_stop -- drain the queue, join
 * the threads and free it; no-op without one. */
int cq_start(store *st);
void cq_stop(store *st);

/* cq_push -- queue the commit of @of, whose queued changes are set and
 * which holds a reference for the queue (of->refs).  @bytes: the memory
 * the queued changes hold, for the bound.  Waits while the queue is
 * full. */
void cq_push(store *st, struct ofile *of, uint64_t bytes);

/* cq_drain -- wait until every commit queued so far is done (no store
 * lock held).  No-op without a queue. */
void cq_drain(store *st);

/* cq_pushed -- the number of commits queued so far (0 without a
 * queue).  cq_drain_upto -- wait until the first @upto of them are done,
 * for at most @ms milliseconds (0: no limit; no store lock held):
 * 0 when they are, else -ETIMEDOUT. */
uint64_t cq_pushed(store *st);
int cq_drain_upto(store *st, uint64_t upto, unsigned ms);

/* cq_done_upto -- whether the first @upto commits queued are done (1
 * without a queue); does not wait, so any lock may be held. */
int cq_done_upto(store *st, uint64_t upto);

/* cq_active -- whether @st has commit threads (close() queues). */
int cq_active(store *st);

#endif /* BEEMO_STORE_CQUEUE_H */
