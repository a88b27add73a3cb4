/*
 * sync_dropped_stub.c -- store_dropped_packs() of a store library that
 * has no prune yet: no pack was ever dropped.  Replaced by the store's
 * own (fs/store_prune.c) once it has one.
 */
#include <stdlib.h>

#include "store.h"

int
store_dropped_packs(store *st, uint64_t **ids, size_t *n)
{
	(void)st;
	*ids = NULL;
	*n = 0;
	return 0;
}
