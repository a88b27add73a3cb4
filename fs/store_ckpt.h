/*
 * store_ckpt.h -- checkpoints of the index log.
 *
 * The packs alone rebuild the index by replaying the log objects
 * (beemo-store(5)).  Without checkpoints that replay, and the packs it
 * needs, grow with everything ever written.  A checkpoint writes every
 * row of the logged tables, as they are at one commit, into log objects
 * of its own; a rebuild starts from the newest complete checkpoint, and
 * the log objects numbered below its first one are garbage that a prune
 * may drop.
 */
#ifndef BEEMO_STORE_CKPT_H
#define BEEMO_STORE_CKPT_H

#include <stdint.h>

#include "store.h"

/*
 * ckpt_write -- write a checkpoint of the logged tables and commit it, in
 * a read-write store, with no store lock held and no other writer
 * changing the namespace meanwhile (a prune).  On return the checkpoint
 * is durable and ckpt_lsn() gives its first LSN, *@first too (may be
 * NULL).  Returns 0, -EROFS, or a negative errno of the index or the
 * packs (the sticky commit error).
 */
int ckpt_write(store *st, uint64_t *first);

/*
 * ckpt_lsn -- the first LSN of the newest committed checkpoint (meta
 * "ckpt_lsn"), 0 when there is none: every log object numbered below it
 * is garbage.  Takes ix_lock.  Returns 0 or a negative errno.
 */
int ckpt_lsn(store *st, uint64_t *lsn);

#endif /* BEEMO_STORE_CKPT_H */
