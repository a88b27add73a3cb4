/*
 * store_journal.h -- the journal of a backup set, inside the store
 * (store_journal.c; the public calls are in store.h).
 *
 * Entries are sealed IX_JOURNAL records keyed by time (ns) and a
 * counter, holding an entry encoded as the appliance journal's.  The
 * file operations of a backup session (between store_session_begin and
 * store_session_end) are batched in memory (st->jbatch) and written as
 * one "files" entry in the very transaction that commits them: the
 * commit path runs journal_precommit() as its pre-commit hook, under
 * ix_lock, so that the journal says exactly what a crash kept.  The
 * lines stay in the batch until that commit succeeds
 * (journal_committed); if it fails they name what was lost
 * (journal_lost).  A batch past 4 MiB asks for an early commit.
 * Outside a session, file operations are not journalled.
 *
 * Locking: the batch, the session and its counters are protected by
 * ix_lock.  Each function says whether it needs ix_lock held or takes
 * it itself.
 */
#ifndef BEEMO_STORE_JOURNAL_H
#define BEEMO_STORE_JOURNAL_H

#include <stdint.h>

#include "store.h"

/* journal_file -- add a file operation of the backup session to the
 * batch and count it: @op is "added", "changed", "deleted", "renamed"
 * or "exchanged", @path the file's path, @path2 the new path of a
 * rename or NULL.  Ignored outside a session; if memory is short the
 * line is lost but the counts still say it.  ix_lock held. */
void journal_file(store *st, const char *op, const char *path,
    const char *path2);
/* journal_name -- journal_file() for a namespace change of the live
 * tree, the paths made of @parent's path and @name (and @parent2,
 * @name2 for a rename; @name2 NULL otherwise).  ix_lock held. */
void journal_name(store *st, const char *op, uint64_t parent,
    const char *name, uint64_t parent2, const char *name2);
/* journal_event -- an entry of @type ("error", "virus", ...) about the
 * file at @path; failures are logged, not returned; a no-op in a
 * read-only store.  Takes ix_lock: call it with no store lock held but
 * an open file's. */
void journal_event(store *st, const char *type, const char *summary,
    const char *path);
/* journal_flush -- write the batch as one "files" entry and empty it
 * (also when writing fails).  Returns 0, -ENOMEM, or the errors of
 * journal_add_locked().  ix_lock held. */
int journal_flush(store *st);
/* journal_committed -- the commit of the transaction that journal_flush()
 * wrote the batch into succeeded: forget those lines.  ix_lock held.
 * journal_lost -- that commit failed: log, report (STORE_EV_LOST, its
 * detail the text of the report) and journal as an "error" entry in the
 * (new) open transaction every file operation of the batch, flushed or
 * not, and empty the batch.  @err is the commit's error.  Returns 0 or
 * the errors of journal_add_locked().  ix_lock held. */
void journal_committed(store *st);
int journal_lost(store *st, int err);
/* journal_precommit -- journal_flush(@ctx, the store) as the commit
 * path's pre-commit hook (st->precommit); run by the committer under
 * ix_lock. */
int journal_precommit(void *ctx);
/* journal_postcommit, journal_lostcommit -- journal_committed() and
 * journal_lost() as the commit path's hooks st->committed and st->lost
 * (@ctx: the store); run by the committer under ix_lock. */
void journal_postcommit(void *ctx);
int journal_lostcommit(void *ctx, int err);
/* journal_add_locked -- store_journal_add() with ix_lock held: write
 * entry @e (time 0: now).  Returns 0, -EROFS in a read-only store, the
 * encoder's errors (-EINVAL, -ENAMETOOLONG, -ENOMEM) or the
 * index's. */
int journal_add_locked(store *st, const struct store_journal_entry *e);

/*
 * journal_redact -- erase names from the journal (store_erase()): every
 * entry whose file list or summary names one of the @n @paths ("/a/b"),
 * or a path below one, is rewritten in place (same key, so same time
 * and order) with each such path, and in a file line what follows it,
 * replaced by "[erased]" ("deleted /a/b/c" becomes "deleted [erased]").
 * The changes are in the open transaction; *@changed is increased by
 * the number of entries rewritten.  Cost: every entry is read and
 * opened.  Returns 0, -ENOMEM, -EIO for a malformed entry, or the
 * index's errors.  ix_lock held.
 */
int journal_redact(store *st, const char *const *paths, size_t n,
    uint64_t *changed);

#endif /* BEEMO_STORE_JOURNAL_H */
