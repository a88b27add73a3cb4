/*
 * ctl_store.h -- beemoctl's access to machines' stores.
 *
 * A verb that reads or changes a machine's backups opens a "session":
 * the key directory, the machine's SECRET unlocked by one principal
 * (--admin, the default; --user USER; --poste-key FILE), and the store.
 * A restore-only principal (a user) cannot open a store read-write.
 * When a backup session of the machine is mounted, verbs that would
 * change the store ask the running beemofs instead, with the calls of
 * control.h (ctl_daemon, ctl_daemon_done).
 *
 * A store or machine held by another process (a mounted backup session,
 * a running prune) makes these calls return BM_EXIT_BUSY (3), which the
 * verb returns as it is: a script can tell "try again later" from a
 * failure.
 */
#ifndef BEEMO_CTL_STORE_H
#define BEEMO_CTL_STORE_H

#include <stdint.h>

#include "beemoctl.h"
#include "bm_progress.h"
#include "control.h"
#include "store.h"

struct ctl_session {
	keymgr *km;
	keymgr_secret *sec;
	store *st;
	const char *machine;
	char dir[4096];             /* STORE/machines/NAME */
	enum keymgr_principal who;
	char user[65];              /* for KEYMGR_USER */
};

/* ctl_machine_dir -- STORE/machines/NAME into @buf; 0 or CTL_FAIL. */
int ctl_machine_dir(const struct ctl *ctl, const char *machine, char *buf,
    size_t size);

/*
 * ctl_session_open -- unlock @machine as the principal chosen in @o and
 * open its store (read-write when @rw; a user only with @o->user_rw).
 * With @o->wait, a store held by a mounted backup session is waited
 * for, after one line saying so.  Prints one line on failure and
 * returns CTL_FAIL, else 0.  Close with ctl_session_close().
 */
int ctl_session_open(const struct ctl *ctl, const char *machine,
    const struct ctl_opts *o, int rw, struct ctl_session *s);

/*
 * ctl_store_open -- store_open() of the store @dir of @machine with @sec
 * and @so.  A store held by a backup session (BEEMO_ELOCKED) is waited
 * for when @wait, after one line saying so (blocked on the session's
 * lock, STORE/machines/NAME/lock, not polling), else refused.  Returns
 * 0, BM_EXIT_BUSY (not @wait, a session is open), or CTL_FAIL; both
 * after one line.
 */
int ctl_store_open(const struct ctl *ctl, const char *machine,
    const char *dir, const keymgr_secret *sec, const struct store_opts *so,
    int wait, store **st);

/* ctl_session_close -- close the store, wipe the key; returns CTL_FAIL
 * (after a message) if the final commit failed, else 0. */
int ctl_session_close(const struct ctl *ctl, struct ctl_session *s);

/*
 * ctl_machine_lock -- keep backup sessions of @machine out during a key
 * change that revokes its current generation (a session goes on sealing
 * with the generation it unlocked at its start).  Takes the session lock
 * a read-write store open holds for its whole session (STORE/machines/
 * NAME/lock, flock) exclusively, waiting up to a second for a read-only
 * open's brief shared hold.  *@fd receives the descriptor holding it,
 * or -1 when the machine has no store yet (no session can run).  Returns
 * 0, or after a message BM_EXIT_BUSY (a session is open) or CTL_FAIL (an
 * I/O error).
 * ctl_machine_unlock -- release a lock taken so (-1: nothing to do).
 */
int ctl_machine_lock(const struct ctl *ctl, const char *machine, int *fd);
void ctl_machine_unlock(int fd);

/*
 * ctl_daemon -- point @c at the beemofs serving @machine (answers within
 * ten minutes); 0, or CTL_FAIL after a message.  ctl_daemon_done -- judge
 * the result @rc of a control_*() call on @c: 1 when the daemon did it,
 * 0 when no daemon is running, -1 after printing why.
 */
int ctl_daemon(const struct ctl *ctl, const char *machine,
    struct control_client *c);
int ctl_daemon_done(const struct ctl *ctl, const char *machine,
    const struct control_client *c, int rc);

/*
 * A long operation of this process (one at a time): the progress line
 * (bm_progress.h: on a terminal, not with -q) labelled @what, and its
 * run file STORE/run/VERB-PID.json (bm_status.h) for `beemoctl status`,
 * about the machine of the last session opened.  ctl_progress() gives
 * @done bytes of @total (0: unknown) and @files; ctl_progress_clear()
 * erases the line before a message (it comes back at the next change);
 * ctl_progress_end() removes the run file and, when something was done,
 * leaves a final line.  Ending a zeroed struct, or one already ended, does
 * nothing, so that an error path may end it unconditionally.
 */
struct ctl_progress {
	struct bm_progress line;
	int started;
};
void ctl_progress_init(struct ctl_progress *p, const struct ctl *ctl,
    const char *what);
void ctl_progress(struct ctl_progress *p, uint64_t done, uint64_t total,
    uint64_t files);
void ctl_progress_clear(struct ctl_progress *p);
void ctl_progress_end(struct ctl_progress *p);

/* The entries of directory @ino (without "." and ".."), with their
 * attributes; free with ctl_dirents_free(). */
struct ctl_dirent {
	char *name;
	struct store_attr a;
};
int ctl_readdir(store *st, uint64_t ino, struct ctl_dirent **out, size_t *n);
void ctl_dirents_free(struct ctl_dirent *e, size_t n);

/* For store_progress_fn: @ctx is a struct ctl_progress. */
void ctl_progress_cb(void *ctx, uint64_t done, uint64_t total);

#endif /* BEEMO_CTL_STORE_H */
