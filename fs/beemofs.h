/*
 * beemofs.h -- the FUSE daemon: the operations table and its context.
 *
 * beemofs_ops.c only translates between the low-level libfuse API and
 * the store (store.h): one beemofs_<op> callback per request, replying
 * with the store's result as an errno.  beemofs_main.c parses options,
 * unlocks the machine's key, opens the store, mounts and runs the loop.
 *
 * Who unlocked the key decides the session: the POSTE key file opens a
 * read-write backup session of the live tree alone (the store is opened
 * live_only, so /.snapshots does not exist in it, and -o ro is refused),
 * a user's or the administrator's password a read-only restore session
 * that also browses every snapshot.
 */
#ifndef BEEMO_BEEMOFS_H
#define BEEMO_BEEMOFS_H

#define FUSE_USE_VERSION FUSE_MAKE_VERSION(3, 14)
#include <fuse_lowlevel.h>
#include <pthread.h>

#include "bm_conf.h"
#include "bm_json.h"
#include "quota.h"
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
	uint64_t *inval;  /* grows: none may be dropped */
	size_t ninval, inval_cap;
	int inval_stop;

	/* Restore sessions journal the files they open (at most
	 * READ_LOG_MAX paths; the count is exact).  read_lock. */
	pthread_mutex_t read_lock;
	char **read_paths;
	size_t nread, nread_paths;

	/* Reports, quotas, live status (beemofs_report.c); NULL in a
	 * read-only session. */
	struct beemofs_report *report;
};

#define READ_LOG_MAX 10000

extern const struct fuse_lowlevel_ops beemofs_ops;

/* beemofs_stale -- the store's commit_failed hook (@ctx: the struct
 * beemofs): have the invalidation thread drop the kernel's entry and
 * attributes of @ino. */
void beemofs_stale(void *ctx, uint64_t ino);

/* Start / stop the invalidation thread. */
int beemofs_inval_start(struct beemofs *fs);
void beemofs_inval_stop(struct beemofs *fs);

/*
 * beemofs_report.c -- report events, quotas and live status of a backup
 * session (see the file's top comment).  _init (before store_open) points
 * @so's event hook at the new context and derives the key of the report
 * spool from @km's appliance key; _start applies the configuration's
 * quotas and starts the report thread; _stop (before store_close)
 * spools what is queued, writes the final status file and frees.  NULL
 * contexts are no-ops.  _init and _start return 0 or a negative errno.
 *
 * The control requests (control.h) they serve, on the socket's thread:
 * _stats gives the machine status as malloc'd JSON in @json (0 or an
 * error of the store); _quota_set changes the limits with quota_set()
 * (as "admin": the control server has checked the administrator's
 * proof) and checks the soft limit at once (0, BEEMO_ECONFIG with @msg,
 * or an error of the store).  @r must not be NULL.
 * _error queues an error report (kind "error", keyed "@what:MACHINE:
 * TIME") with the one-line @subject (escaped here) and @text; it is
 * spooled at the latest by _stop.
 */
struct scan_engine;
int beemofs_report_init(struct beemofs_report **out, const char *store,
    const char *machine, const bm_conf *conf, keymgr *km,
    struct store_opts *so);
int beemofs_report_start(struct beemofs_report *r, store *st,
    struct scan_engine *av);
int beemofs_report_stats(struct beemofs_report *r, char **json);
int beemofs_report_quota_set(struct beemofs_report *r,
    const struct quota_change *c, char *msg, size_t size);
void beemofs_report_error(struct beemofs_report *r, const char *what,
    const char *subject, const char *text);
void beemofs_report_stop(struct beemofs_report *r);

/*
 * beemofs_report_refused_json -- add to @j the session's files refused
 * by the antivirus: "refused", an array of {"path", "virus"} (the first
 * 1000), and "refused_count", all of them.  @r may be NULL (none).
 */
void beemofs_report_refused_json(struct beemofs_report *r, bm_json *j);

/*
 * beemofs_retention -- unattended retention at the end of a backup
 * session (beemofs_retention.c): apply the machine's signed policy (or
 * the default) to @st with its min-age and newest-complete protections,
 * forget what it does not keep and prune when something was forgotten,
 * journaled in the machine's and the appliance's journal (of @storedir,
 * key from @km).  No policy: nothing happens.  A refused policy or a
 * failure is logged and reported through @r (may be NULL); the session
 * itself is not failed by it; a prune stopped by store_interrupt() is
 * only logged.  Call after the session's last snapshot, before
 * beemofs_report_stop() and store_close().
 */
void beemofs_retention(store *st, keymgr *km, const char *storedir,
    const char *machine, struct beemofs_report *r);

/*
 * beemofs_sched_start -- start the scheduled snapshots of a backup
 * session on @st as [snapshot] every and at of @conf say
 * (beemofs_snapshot.c); *@out receives the scheduler, or NULL when
 * neither is set.  Returns 0, -EINVAL after a logged line when "at" is
 * not a list of local times HH:MM, or a negative errno.
 * beemofs_sched_stop -- stop and free it (NULL: no-op); call before
 * store_close().
 * beemofs_sched_parse_at -- parse "HH:MM[ ,HH:MM...]" into at most @max
 * minutes after midnight in @at; returns their number or -EINVAL.
 */
struct beemofs_sched;
int beemofs_sched_start(struct beemofs_sched **out, store *st,
    const bm_conf *conf);
void beemofs_sched_stop(struct beemofs_sched *s);
int beemofs_sched_parse_at(const char *s, int *at, int max);

/* errno for a store result (BEEMO_* codes become EIO, see beemofs(8)). */
int beemofs_errno(int rc);

#endif /* BEEMO_BEEMOFS_H */
