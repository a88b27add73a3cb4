/*
 * beemofs.h -- the FUSE daemon: the operations table and its context.
 *
 * beemofs_ops.c only translates between the low-level libfuse API and
 * the store (store.h): one beemofs_<op> callback per request, replying
 * with the store's result as an errno.  beemofs_main.c parses options,
 * unlocks the machine's key, opens the store, mounts and runs the loop.
 */
#ifndef BEEMO_BEEMOFS_H
#define BEEMO_BEEMOFS_H

#define FUSE_USE_VERSION FUSE_MAKE_VERSION(3, 14)
#include <fuse_lowlevel.h>
#include <pthread.h>

#include "store.h"

struct beemofs {
	store *st;
	struct fuse_session *se;
	int rdonly;
	double timeout; /* entry and attribute cache, live tree */

	/* Inodes whose kernel cache must be dropped (a refused commit
	 * leaves the refused content in the page cache).  The kernel must
	 * not be asked from inside a request on the same inode, so a
	 * thread does it.  Protected by inval_lock. */
	pthread_mutex_t inval_lock;
	pthread_cond_t inval_cv;
	pthread_t inval_thread;
	uint64_t inval[64];
	unsigned ninval;
	int inval_stop;

	/* Restore sessions journal the files they open (at most
	 * READ_LOG_MAX paths; the count is exact).  read_lock. */
	pthread_mutex_t read_lock;
	char **read_paths;
	size_t nread, nread_paths;
};

#define READ_LOG_MAX 10000

extern const struct fuse_lowlevel_ops beemofs_ops;

/* Start / stop the invalidation thread. */
int beemofs_inval_start(struct beemofs *fs);
void beemofs_inval_stop(struct beemofs *fs);

/* errno for a store result (BEEMO_* codes become EIO, see beemofs(8)). */
int beemofs_errno(int rc);

#endif /* BEEMO_BEEMOFS_H */
