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
 *
 * A checkpoint is written by the committer thread inside one commit
 * (store_commit.h), so that it is the state of exactly one commit and
 * is committed, or lost, as a whole: first the commit's log object, L,
 * with the changes since the last commit (without records if there are
 * none: so that every checkpoint follows a log object of its own
 * commit, which is how an open tells a crash from an older index), then
 * the parts, of type OBJ_CKPT, numbered L + 1, L + 2, ... and each
 * naming L + 1 as its checkpoint's first part; the last one says it is
 * the last.  A part is a log object's plaintext (LSN, time, records)
 * whose records put every row of the seven logged tables, in table and
 * key order, with the sealed values copied as they are (nothing is
 * sealed again); the unlogged counters of the meta table
 * (ix_meta_logged()) are left out.  The same commit records the
 * unlogged counter meta "ckpt_lsn" = L + 1, which a rebuild sets to the
 * first part of the checkpoint it started from.  A crash before the
 * commit leaves parts that the next open cuts away with the rest of the
 * transaction; a rebuild from packs copied before that ignores a
 * checkpoint without its last part.
 */
#ifndef BEEMO_STORE_CKPT_H
#define BEEMO_STORE_CKPT_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* The largest plaintext of a checkpoint part, but for a part of one row
 * (rows are at most a few hundred KiB, far below OBJ_MAX_PLAIN). */
#define CKPT_PART_MAX (8U << 20)

/*
 * ckpt_write -- write a checkpoint of the logged tables and commit it, in
 * a read-write store, with no store lock held and no other writer
 * changing the namespace meanwhile (a prune).  On return the checkpoint
 * is durable and ckpt_lsn() gives its first LSN, *@first too (may be
 * NULL).  Returns 0, -EROFS, or a negative errno of the index or the
 * packs (the sticky commit error).  Takes ix_lock and waits for the
 * committer, which holds ix_lock while it writes the checkpoint, so
 * every change of the namespace waits meanwhile: time in proportion to
 * the index, memory to one part.
 */
int ckpt_write(store *st, uint64_t *first);

/*
 * ckpt_lsn -- the first LSN of the newest committed checkpoint (meta
 * "ckpt_lsn"), 0 when there is none: every log object numbered below it
 * is garbage.  Takes ix_lock.  Returns 0 or a negative errno.
 */
int ckpt_lsn(store *st, uint64_t *lsn);

/*
 * ckpt_seal -- the commit path's half of ckpt_write(): by the committer,
 * ix_lock held, after the commit's log object was written and counted
 * (ix_log_written()): seal the rows of the open transaction as the parts
 * of a checkpoint numbered from st->lsn on, at most st->ckpt_part bytes
 * of plaintext each (0: CKPT_PART_MAX), passing each sealed part in turn
 * to @emit(@ctx, obj, len) (which stores it; the buffer is freed after
 * the call), then count them in st->lsn and meta "lsn" and record meta
 * "ckpt_lsn".  Returns 0, the first nonzero value of @emit, -ENOMEM,
 * -EIO (a cursor), or an error of obj_build() or of the index.
 */
typedef int (*ckpt_emit_fn)(void *ctx, const uint8_t *obj, size_t len);
int ckpt_seal(store *st, ckpt_emit_fn emit, void *ctx);

#endif /* BEEMO_STORE_CKPT_H */
