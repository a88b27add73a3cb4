/*
 * store_file.h -- open files: the table of open files, their handles,
 * and the commit of a file's new content (store_file.c).
 *
 * A struct ofile exists only while an inode has open handles (or a
 * truncate is in progress), so memory follows open files, not files.  It
 * holds the committed content (a chunk list readers share by reference)
 * and the pending changes (a struct wfile, store_wfile.h), created at the
 * first write.  A commit (file_commit(), at the last release, fsync, or a
 * truncate) finishes the pending changes into a new content, has the
 * antivirus scan it (opts.scan), then in one index step writes the
 * content record and the inode's size, times and flags, and journals the
 * file.  A refused scan drops the new content and the previous version
 * stays current; a new file that is refused is removed altogether.
 * Failures are logged, journalled and reported (opts.event).
 *
 * Locking: of_lock protects the table (hnext, refs); ofile.lock the rest
 * of an ofile.  ofile.lock comes first in the lock order: it is taken
 * with no other store lock held, and ix_lock, of_lock, the pack and
 * cache locks may be taken under it.  So every function below is called
 * with no store lock held.  The scan callback opts.scan and the event
 * callback opts.event run under the file's ofile.lock only; the event
 * callback must not call the store.
 */
#ifndef BEEMO_STORE_FILE_H
#define BEEMO_STORE_FILE_H

#include <pthread.h>
#include <stdint.h>

#include "store.h"
#include "store_codec.h"

struct wfile;

struct ofile {
	uint64_t ino;
	struct ofile *hnext;     /* hash chain; of_lock */
	int refs;                /* handles; of_lock */
	pthread_mutex_t lock;    /* the rest */
	struct content *content; /* committed content, or NULL */
	struct wfile *w;         /* pending changes, or NULL */
	/* A background commit (store_cqueue.h): the changes it commits
	 * (taken by its thread), and what getattr shows meanwhile.  While
	 * @queued, content accesses wait on @cv (ofile_lock()). */
	pthread_cond_t cv;
	struct wfile *wq;
	int queued;
	uint64_t q_size;
	struct timespec q_mtime;
	int q_mtime_dirty;       /* a write changed the mtime */
	int q_mtime_explicit;    /* then set explicitly (utimensat) */
};

/* An open handle (store.h's store_file). */
struct store_file {
	store *st;
	struct ofile *of; /* NULL for snapshot files */
	uint64_t ino;
	int flags;
	struct content *snap_content; /* snapshot files */
	int dirty_fd;                 /* this handle wrote */
	struct store_file *hprev, *hnext; /* st->handles; of_lock */
};

/* ofile_get -- a new reference to the ofile of @ino; if there is none,
 * NULL, or with @create a new one (NULL if memory is short).  Takes
 * of_lock. */
struct ofile *ofile_get(store *st, uint64_t ino, int create);
/* ofile_put -- drop a reference of ofile_get(); the last one commits
 * pending changes nobody else will (file_commit(), whose failures are
 * logged and reported) and frees the ofile.  Takes of_lock, and the
 * file's lock to commit. */
void ofile_put(store *st, struct ofile *of);
/* file_commit_async -- with commit threads (cq_active()), queue the
 * commit of @of's pending changes, if any, and return 0 at once (a full
 * queue waits for room); the commit's failures are logged, journaled
 * and reported.  Without, file_commit().  Takes of->lock. */
int file_commit_async(store *st, struct ofile *of);
/* file_commit_queued -- a commit thread's work: commit the changes
 * file_commit_async() queued, then let the file's waiters go.  Returns
 * what file_commit() would.  Takes of->lock, then ix_lock. */
int file_commit_queued(store *st, struct ofile *of);
/* file_wait_queued -- wait for a background commit of @ino, if one is
 * queued.  Returns 0; -ENOENT when that commit was refused or failed
 * and removed the new file; -EIO when a new file's first content was
 * not committed and the file is still there.  Takes of->lock, then
 * ix_lock. */
int file_wait_queued(store *st, uint64_t ino);
/* file_commit -- commit the pending changes of @of, if any (see above;
 * a no-op without).  The pending changes are gone after, committed or
 * not.  Returns 0, BEEMO_EVIRUS or another scan error (refused), -EFBIG
 * (over opts.scan_max with opts.scan_refuse_big), or the errors of
 * wfile_finish() and of the index.  Takes of->lock, then ix_lock. */
int file_commit(store *st, struct ofile *of);
/* file_truncate -- set the size of live regular file @ino, open or not
 * (store_setattr): committed now, or at the last close when another
 * handle has the file open.  Returns 0, -ENOMEM, -EINVAL for a file
 * that is not regular, or the errors of the index, wfile_truncate() and
 * file_commit(). */
int file_truncate(store *st, uint64_t ino, uint64_t size);
/* file_attr_overlay -- the size and times of an open regular file with
 * pending changes override the index's in @a; those of an open file
 * without are read from the index again under the file's lock, since a
 * commit may have fallen after @a was read.  Takes of->lock, then
 * ix_lock. */
void file_attr_overlay(store *st, struct store_attr *a);
/* file_set_mtime -- the mtime of @ino was just set explicitly: pending
 * writes of an open file no longer move it.  Returns 0. */
int file_set_mtime(store *st, uint64_t ino);

#endif /* BEEMO_STORE_FILE_H */
