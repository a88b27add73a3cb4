/*
 * store_ckpt.c -- checkpoints of the index log (see store_ckpt.h).
 */
#include <errno.h>
#include <pthread.h>

#include "store_ckpt.h"
#include "store_index.h"
#include "store_internal.h"

int
ckpt_write(store *st, uint64_t *first)
{
	(void)st;
	(void)first;
	return -ENOSYS;
}

int
ckpt_lsn(store *st, uint64_t *lsn)
{
	int rc;

	*lsn = 0;
	pthread_mutex_lock(&st->ix_lock);
	rc = ix_meta_get(st, "ckpt_lsn", lsn);
	pthread_mutex_unlock(&st->ix_lock);
	return rc == -ENOENT ? 0 : rc;
}
