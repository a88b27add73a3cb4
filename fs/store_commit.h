/*
 * store_commit.h -- the commit path: the committer thread, the only code
 * that joins the packs (store_pack.h) and the index (store_index.h), and
 * the recovery of both at open.
 *
 * One thread, the committer, begins and commits the shared index
 * transaction st->txn (LMDB's writer lock belongs to the thread that
 * began it); every other thread uses that transaction in between under
 * ix_lock.  A commit syncs the open pack without ix_lock, then under
 * ix_lock runs the pre-commit hook (st->precommit: the journal's batch),
 * seals the changes logged since the last commit into a log object,
 * appends it to the pack, syncs the packs, records their states in
 * IX_PACK (the pack_commit_ops callbacks of pack_commit_prepare(), run
 * under ix_lock and pk_lock), commits the transaction and renames the
 * packs it closed.  A crash before the LMDB commit loses the
 * transaction and commit_recover() cuts the packs back at the next open;
 * a crash after keeps it.  The committer wakes every opts.commit_ms, or
 * when commit_now is set and commit_cv signalled (both ix_lock), and
 * commits only a transaction worth it (namespace changes, a pending
 * hook, a request, a pack to close).  A commit asked for a checkpoint
 * (st->ckpt_want, set by ckpt_write()) writes its parts after its log
 * object (store_ckpt.h).  A failed commit sets the sticky
 * st->ix_err: the changes since the last commit are lost and every later
 * change is refused.  In a read-only store the committer only renews the
 * read transaction each interval, so that another process's commits
 * become visible.
 *
 * Errors are 0 or a negative errno: those of store_index.h and
 * store_pack.h (-EIO, -ENOSPC, -ENOMEM, ...), or the sticky ix_err.
 */
#ifndef BEEMO_STORE_COMMIT_H
#define BEEMO_STORE_COMMIT_H

#include "store.h"

/* commit_start -- start the committer thread, after ix_open and with
 * st->precommit set, and wait until it has begun the first transaction.
 * Returns 0, the thread's creation error (negated), or the error of
 * beginning the transaction.  Call with no lock held. */
int commit_start(store *st);
/* commit_stop -- ask the committer for a final commit (unless the store
 * is read-only or ix_err is set), wait for the thread and destroy its
 * condition variables.  Returns the sticky ix_err (0 if every commit
 * succeeded).  Call with no lock held; no other thread may use the
 * index meanwhile or after. */
int commit_stop(store *st);
/* commit_wait -- ask for a commit now and wait until a commit round has
 * completed after the request, so that every change made before the
 * call is durable.  Returns 0 or the sticky ix_err.  Takes ix_lock: call
 * it with no store lock held (an open file's lock may be held).  In a
 * read-only store returns 0 at once. */
int commit_wait(store *st);
/* commit_wait_locked -- commit_wait() with ix_lock already held; the
 * lock is released while waiting (condition wait) and held again on
 * return, so state read under it before the call may have changed. */
int commit_wait_locked(store *st);
/* ns_quiesce -- with ix_lock held (released while waiting): hold
 * namespace changes (ns_lock() waits) and wait until the files closed
 * before the open transaction's namespace changes are committed
 * (store_internal.h, txn_need), for at most @ms milliseconds (0: no
 * limit).  Returns 0, or -ETIMEDOUT; namespace changes are held either
 * way until ns_release(), with ix_lock held. */
int ns_quiesce(store *st, unsigned ms);
void ns_release(store *st);
/* commit_recover -- recovery at open of a read-write store, ix_lock
 * held, after commit_start() and before any writer or worker: set the
 * packs' next id from the index, cut every pack recorded in IX_PACK back
 * to its committed length, record the packs recorded open as closed,
 * and remove pack files the index does not know (pack_sweep(), whose
 * callback reads IX_PACK under the caller's ix_lock).  Returns 0,
 * -EBADMSG for an index whose next pack number is not above a recorded
 * pack (damaged: rebuild it), -EIO for a malformed pack record, or the
 * errors of pack_cut()/pack_sweep() and of the index. */
int commit_recover(store *st);
/*
 * commit_check_rollback -- refuse an index older than the pack files
 * (store_commit.c says how they tell), at open, ix_lock held, after
 * commit_start() and before commit_recover() or any writer: neither a
 * commit nor the recovery may run on such an index, which would cut
 * and sweep committed packs and reuse log sequence numbers.  In a
 * read-only store the caller must hold the store's lock shared, so no
 * writer adds packs meanwhile.  Returns 0, BEEMO_EROLLBACK (logged once
 * with the pack, what it shows and the repair: beemoctl rebuild-index
 * MACHINE), -EIO for a malformed pack record, -ENOMEM, or an error of
 * the index or of listing the packs.
 */
int commit_check_rollback(store *st);

#endif /* BEEMO_STORE_COMMIT_H */
