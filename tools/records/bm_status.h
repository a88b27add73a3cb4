/*
 * bm_status.h -- the appliance's status files: one writer and one typed
 * reader for each.
 *
 * Design.  Several programs describe what they are doing in small JSON
 * files that other programs show (`beemoctl status`, `beemoctl
 * metrics`, `beemo-sync status`, the storage centers).  Each file has
 * exactly one module that writes it and one typed reader that parses it,
 * both here; no program builds or parses them by hand.  Each file starts
 * with "format" and "version"; a reader refuses another format
 * (BEEMO_EFORMAT) and a newer version (BEEMO_EVERSION), so that a file
 * is never half understood.  None holds a secret; only the report state
 * names files, and it is sealed.
 *
 *   STORE/run/machine-NAME.json   the machine status ("beemo-machine-
 *       status", version 1; bm_mstatus_*).  Written by beemofs only:
 *       when a session starts, every few seconds while it runs, and when
 *       it stops ("mounted": false).  The one exception is `beemoctl
 *       quota` changing the limits of a machine no session holds, which
 *       rewrites it (through bm_mstatus_write) so that the limits shown
 *       follow.  The same text answers the control socket's "stats".
 *   STORE/run/NAME.json           a long operation in progress
 *       ("beemo-progress", version 1; bm_run_*), written by the process
 *       that runs it (beemo-sync: "push", "maintenance"; beemoctl:
 *       "restore-PID", "check-PID", "rebuild-index-PID") at most once a
 *       second and removed when it ends.
 *   STORE/sync/state.json         what beemo-sync's last push to each
 *       target did ("beemo-sync-state", version 1; bm_sync_state_*),
 *       written by beemo-sync only, under its lock.
 *   ROOT/status/STAMP.json        the appliance's status sent to the
 *       storage centers ("beemo-status", version 1; bm_appstatus_*),
 *       built by beemo-sync's push and maintenance run.  The two kinds
 *       have their own shapes (see struct bm_appstatus).
 *   STORE/reports/state.sealed    the state of the e-mail reports
 *       ("beemo-report-state", version 1; bm_rstate_*): open alert
 *       conditions, reports not mailed yet, contacts with the storage
 *       centers.  Written by `beemo-sync maintenance` only, under
 *       STORE/reports/lock; sealed (bm_sealed_write, label
 *       "report-state") under the "reports" subkey, for it names files.
 *
 * Durability.  Files under STORE/run are live information, not records:
 * they are replaced by rename without fsync (after a crash one may be
 * missing or old, never half written: ext4 replaces the data of a
 * renamed-over file before the rename commits) and nothing depends on
 * them.  The sync state and the report state are replaced durably
 * (bm_write_file_atomic, bm_sealed_write).
 *
 * Errors: 0 or a negative errno; BEEMO_EFORMAT for a malformed file or
 * the wrong format, BEEMO_EVERSION for a version this code does not
 * know; -EBADMSG for a sealed file that fails authentication.  Nothing
 * here logs but bm_sync_state_load and _save.
 *
 * Threads: every function may be called from any thread on its own
 * arguments; struct bm_run_file serializes its own writers.
 */
#ifndef BEEMO_BM_STATUS_H
#define BEEMO_BM_STATUS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bm_conf.h"
#include "bm_err.h"
#include "bm_file.h"
#include "bm_json.h"
#include "bm_sealed.h"

#define BM_MSTATUS_FORMAT "beemo-machine-status"
#define BM_RUN_FORMAT "beemo-progress"
#define BM_SYNC_STATE_FORMAT "beemo-sync-state"
#define BM_APPSTATUS_FORMAT "beemo-status"
#define BM_RSTATE_FORMAT "beemo-report-state"
#define BM_STATUS_VERSION 1 /* of every file above */
#define BM_STATUS_MAX (16u << 20) /* a reader refuses larger files */

struct sjson;

/*
 * bm_status_parse -- parse @len bytes of @text as a JSON object of
 * format @format and version BM_STATUS_VERSION, for the typed readers
 * below.  @out receives the tree (free with sjson_free).  Returns 0,
 * BEEMO_EFORMAT (not JSON, not an object, another format, no version),
 * BEEMO_EVERSION or -ENOMEM.
 */
int bm_status_parse(const char *text, size_t len, const char *format,
    struct sjson **out);

/* bm_status_copy -- @src (NULL: "") into @dst of @size, cut to fit. */
void bm_status_copy(char *dst, size_t size, const char *src);

/* ---- the machine status -------------------------------------------- */

/* What a machine's status file and beemofs' "stats" answer hold. */
struct bm_mstatus {
	char machine[80];
	int mounted;                /* a backup session runs */
	long pid;                   /* of that beemofs, else 0 */
	uint64_t updated;           /* ns */
	uint64_t session;           /* start of the session (ns), or 0 */
	uint64_t session_files, session_bytes; /* committed, written */
	uint64_t added, changed, deleted, renamed;
	uint64_t files, dirs, bytes, stored, packs;
	uint64_t snapshots;
	uint64_t last_snapshot;     /* ns, 0: none */
	uint64_t quota_soft, quota_hard; /* used bytes, 0: none */
	uint64_t used;              /* what the quota counts (packs, index,
				       staging), bytes */
	uint64_t quota_limit;       /* hard limit in force: quota_hard, else
				       the default share; 0: none */
	uint64_t signatures;        /* of the daemon's antivirus engine */
	uint64_t reclaimable;       /* garbage in packs as last estimated
				       (store_stats), bytes */
	uint64_t reclaimable_time;  /* when, ns; 0: never estimated */
};

/*
 * bm_mstatus_json -- @s as one line of JSON in a malloc'd string
 * (*@out, caller frees, NUL-terminated, @len bytes).  The session object
 * is written only when @s->session is nonzero.  Returns 0 or -ENOMEM.
 */
int bm_mstatus_json(const struct bm_mstatus *s, char **out, size_t *len);

/*
 * bm_mstatus_write -- replace STORE/run/machine-NAME.json (NAME:
 * @s->machine, a valid name) with bm_mstatus_json(@s).  Mode 0600, by
 * rename, not fsynced.  Returns 0, -EINVAL (bad name), or a negative
 * errno.
 */
int bm_mstatus_write(const char *store, const struct bm_mstatus *s);

/*
 * bm_mstatus_parse -- parse @len bytes of @text (a status file or a
 * "stats" answer) into @out (zeroed first; a field absent from the file
 * stays 0).  Returns 0, BEEMO_EFORMAT or BEEMO_EVERSION, or -ENOMEM.
 */
int bm_mstatus_parse(const char *text, size_t len, struct bm_mstatus *out);

/*
 * bm_mstatus_read -- bm_mstatus_parse() of the status file of machine
 * @machine.  Returns 0, -ENOENT (no session ever ran), -EINVAL (bad
 * name), -EFBIG, a parse error, or a negative errno.
 */
int bm_mstatus_read(const char *store, const char *machine,
    struct bm_mstatus *out);

/* ---- operations in progress ----------------------------------------- */

/* One long operation in progress (push, maintenance, restore, check). */
struct bm_run {
	char op[16];         /* "push", "restore"... */
	char machine[80];    /* or "" */
	char target[80];     /* the storage center being sent to, or "" */
	long pid;            /* of the process running it */
	uint64_t started;    /* ns */
	uint64_t updated;    /* ns */
	uint64_t done, total;            /* bytes (total 0: unknown) */
	uint64_t files, objs_done, objs_total;
};

/*
 * bm_run_write -- replace STORE/run/@name.json with @r, stamped with our
 * pid and the current time (the pid and updated fields of @r are not
 * used).  @name must be a valid name not starting with "machine-".
 * Returns 0, -EINVAL, or a negative errno.  bm_run_remove deletes it
 * (no error when it is gone).
 */
int bm_run_write(const char *store, const char *name, const struct bm_run *r);
void bm_run_remove(const char *store, const char *name);

/* bm_run_parse -- parse a run file into @out (zeroed first).  Returns 0,
 * BEEMO_EFORMAT, BEEMO_EVERSION, or -ENOMEM. */
int bm_run_parse(const char *text, size_t len, struct bm_run *out);

/*
 * bm_run_list -- every run file of STORE/run that parses (the machine
 * status files, temporaries and bad files are skipped), in no order.
 * The caller judges whether each pid still runs.  @out receives a
 * malloc'd array of @n entries (NULL when none; caller frees).
 * Returns 0 (also when STORE/run is missing), or -ENOMEM.
 */
int bm_run_list(const char *store, struct bm_run **out, size_t *n);

/*
 * A run file kept up to date from a running operation: bm_run_file_begin
 * names it, bm_run_file_note rewrites it from @counts (op, machine and
 * started come from begin; NULL: no counters) at most once a second
 * unless @force, bm_run_file_end removes it.  Initialize with
 * BM_RUN_FILE_INIT; the calls may come from any thread (the lock makes
 * one writer of the file at a time).  Write errors are ignored: the file
 * is information only.
 */
struct bm_run_file {
	pthread_mutex_t lock;
	const char *store;   /* lock; NULL: not running (kept alive by
	                        the caller) */
	char name[96];       /* lock */
	struct bm_run run;   /* lock: op, machine, started */
	uint64_t last;       /* lock: monotonic ns of the last write */
};
#define BM_RUN_FILE_INIT {.lock = PTHREAD_MUTEX_INITIALIZER}

void bm_run_file_begin(struct bm_run_file *f, const char *store,
    const char *name, const char *op, const char *machine);
void bm_run_file_note(struct bm_run_file *f, const struct bm_run *counts,
    int force);
void bm_run_file_end(struct bm_run_file *f);

/* ---- beemo-sync's state --------------------------------------------- */

/*
 * STORE/sync/state.json (or [sync] state):
 *
 *   {"format": "beemo-sync-state", "version": 1,
 *    "config_plain": "<sha256 of the configuration last sealed and of
 *                     the admin.key it was sealed for>",
 *    "targets": [{"name": "center-a",
 *      "last_attempt": "<ISO 8601>", "last_attempt_ns": <ns>,
 *      "last_success": "<ISO 8601>" or null, "last_success_ns": <ns or 0>,
 *      "duration_ms": <ms>, "objects_sent": <n>, "bytes_sent": <n>,
 *      "objects_total": <n>, "bytes_total": <n>,
 *      "result": "ok" or "<reason>", "manifest": "manifests/<stamp>.json",
 *      "digest": "<sha256 of the object list>",
 *      "counter": <n>, "counter_ns": <ns>}, ...]}
 *
 * "counter" is the push number (the manifest's authenticated counter)
 * of the last manifest pushed to the target and "counter_ns" its time;
 * both absent (read as 0) until a version 2 manifest was pushed there.
 */
struct bm_sync_tstate {
	char name[65];
	uint64_t last_attempt_ns, last_success_ns; /* 0: never */
	uint64_t duration_ms;   /* of the last attempt */
	uint64_t objs_sent, bytes_sent;   /* by the last attempt */
	uint64_t objs_total, bytes_total; /* the appliance's state */
	char result[256];       /* "ok" or the reason of the failure */
	char manifest[64];      /* last manifest pushed, "manifests/...json" */
	char digest[65];        /* digest of its objects (beemo-sync) */
	uint64_t counter;       /* push number of that manifest, 0: none */
	uint64_t counter_ns;    /* and its time */
	uint64_t awaiting;      /* objects the target holds that no manifest
	                           lists any more and no deletion request
	                           names yet (beemo-sync release) */
};

struct bm_sync_state {
	struct bm_sync_tstate *t;
	size_t n;
	char config_plain[65];  /* SHA-256 of what config.sealed was made of */
};

/*
 * bm_sync_state_path -- the state file: [sync] state of @conf, else
 * STORE/sync/state.json, into @buf.  bm_sync_lock_path -- likewise
 * [sync] lock, else STORE/sync/lock.  Return 0 or -ENAMETOOLONG.
 */
int bm_sync_state_path(const bm_conf *conf, const char *store, char *buf,
    size_t size);
int bm_sync_lock_path(const bm_conf *conf, const char *store, char *buf,
    size_t size);

/*
 * bm_sync_lock_pid -- the pid written in the lock file @path by the
 * beemo-sync that holds or last held it (0: none or unreadable).  The
 * caller judges whether it still runs.
 */
long bm_sync_lock_pid(const char *path);

/*
 * bm_sync_state_parse -- parse a state file's text into @st (zeroed
 * first; free with bm_sync_state_free).  Returns 0, BEEMO_EFORMAT,
 * BEEMO_EVERSION or -ENOMEM.
 */
int bm_sync_state_parse(const char *text, size_t len,
    struct bm_sync_state *st);

/*
 * bm_sync_state_load -- bm_sync_state_parse() of the file @path; a
 * missing file gives an empty state.  Errors are logged naming the file.
 * Returns 0, BEEMO_EFORMAT, BEEMO_EVERSION, or a negative errno.
 */
int bm_sync_state_load(const char *path, struct bm_sync_state *st);

/* bm_sync_state_save -- replace @path durably with @st (mode 0600).
 * Returns 0 or a negative errno (logged).  bm_sync_state_print -- the
 * same JSON and a newline on @f; returns 0 or -EIO. */
int bm_sync_state_save(const char *path, const struct bm_sync_state *st);
int bm_sync_state_print(FILE *f, const struct bm_sync_state *st);

/* bm_sync_state_target -- the entry of target @name, added if missing;
 * NULL when out of memory or @name is too long. */
struct bm_sync_tstate *bm_sync_state_target(struct bm_sync_state *st,
    const char *name);
void bm_sync_state_free(struct bm_sync_state *st);

/* ---- the status sent to the storage centers ------------------------- */

/*
 * ROOT/status/STAMP.json on each storage center: the appliance id, the
 * time, the Beemo version, per machine and per target a few figures,
 * never a file name.  Two kinds share the format:
 *
 *   push:         {"format":"beemo-status","version":1,"appliance":..,
 *                  "time":..,"time_ns":..,"beemo":..,
 *                  "machines":[{"name":..,"packs":..,"bytes":<pack
 *                  bytes>}],"targets":[{"name":..,"last_success":<ISO
 *                  or null>,"last_result":"ok"|"failed"}]} and a newline
 *   maintenance:  the same with "kind":"maintenance" after "version",
 *                 per machine the figures of its status file when it has
 *                 one ("updated_ns", "files", "bytes" (apparent),
 *                 "stored", "snapshots", "last_snapshot_ns",
 *                 "quota_soft", "quota_hard"), and "alerts" (the kinds
 *                 of the open alerts, comma-separated) last; no newline.
 */
enum bm_appstatus_kind {
	BM_APPSTATUS_PUSH = 0,
	BM_APPSTATUS_MAINTENANCE = 1,
};

struct bm_appstatus_machine {
	char name[80];
	uint64_t packs, pack_bytes;      /* push */
	int known;                       /* maintenance: the figures below
	                                    come from its status file */
	uint64_t updated, files, bytes, stored, snapshots, last_snapshot;
	uint64_t quota_soft, quota_hard;
};

struct bm_appstatus_target {
	char name[80];
	uint64_t last_success;           /* ns, 0: never */
	int ok;                          /* the last attempt succeeded */
};

struct bm_appstatus {
	enum bm_appstatus_kind kind;
	char appliance[33];              /* id in hex */
	uint64_t time;                   /* ns */
	char beemo[32];                  /* version of the writer */
	struct bm_appstatus_machine *m;
	size_t nm;
	struct bm_appstatus_target *t;
	size_t nt;
	char alerts[256];                /* maintenance */
};

/*
 * bm_appstatus_json -- @s as the status file of its kind (above), in a
 * malloc'd string (*@out, caller frees).  Returns 0 or -ENOMEM.
 */
int bm_appstatus_json(const struct bm_appstatus *s, char **out,
    size_t *len);

/*
 * bm_appstatus_parse -- parse a status file of either kind into @out
 * (zeroed first; free with bm_appstatus_free).  Returns 0,
 * BEEMO_EFORMAT, BEEMO_EVERSION or -ENOMEM.
 */
int bm_appstatus_parse(const char *text, size_t len,
    struct bm_appstatus *out);

/* bm_appstatus_add_machine / _add_target -- a zeroed entry named @name
 * appended to @s, or NULL when out of memory. */
struct bm_appstatus_machine *bm_appstatus_add_machine(struct bm_appstatus *s,
    const char *name);
struct bm_appstatus_target *bm_appstatus_add_target(struct bm_appstatus *s,
    const char *name);
void bm_appstatus_free(struct bm_appstatus *s);

/* ---- the report state ---------------------------------------------- */

/* A condition (raised until cleared; mailed once each way). */
struct bm_rstate_cond {
	char *key, *kind, *machine; /* machine NULL: the appliance */
	char *subject, *text;       /* of the problem */
	char *rsubject, *rtext;     /* of its resolution */
	uint64_t since, raised, mailed, cleared; /* ns, 0: not yet */
};

/* An event not mailed yet. */
struct bm_rstate_event {
	char *key, *kind, *machine, *subject, *text;
	uint64_t time;
};

/* An event mailed (for de-duplication). */
struct bm_rstate_sent {
	char *key;
	uint64_t time;
};

/* A storage center as the maintenance runs reached it. */
struct bm_rstate_target {
	char name[65];
	uint64_t first_seen, last_ok, last_attempt; /* ns */
	char result[256];
};

/* The whole state; every string and array is owned by it. */
struct bm_rstate {
	uint64_t last_run, sig_seen;   /* ns */
	char last_result[256];
	struct bm_rstate_cond *c;
	size_t nc;
	struct bm_rstate_event *e;
	size_t ne;
	struct bm_rstate_sent *s;
	size_t ns;
	struct bm_rstate_target *t;
	size_t nt;
};

/* bm_rstate_path -- STORE/reports/state.sealed into @buf.  Returns 0 or
 * -ENAMETOOLONG. */
int bm_rstate_path(const char *store, char *buf, size_t size);

/*
 * bm_rstate_read -- open the state with @key (the "reports" subkey) and
 * parse it into @out (zeroed first; free with bm_rstate_clear).
 * Returns 0, -ENOENT (none yet), -EBADMSG, BEEMO_EFORMAT,
 * BEEMO_EVERSION, -EFBIG, or a negative errno.
 */
int bm_rstate_read(const char *store, const uint8_t key[32],
    struct bm_rstate *out);

/* bm_rstate_write -- replace the state durably with @rs sealed under
 * @key.  Returns 0 or a negative errno. */
int bm_rstate_write(const char *store, const uint8_t key[32],
    const struct bm_rstate *rs);

/*
 * bm_rstate_parse / bm_rstate_json -- the plaintext of the state (see
 * bm_rstate.c) to @out (zeroed first; free with bm_rstate_clear) and
 * back (a malloc'd string; the caller cleanses and frees it).  Return 0,
 * BEEMO_EFORMAT, BEEMO_EVERSION (parse), or -ENOMEM.
 */
int bm_rstate_parse(const char *text, size_t len, struct bm_rstate *out);
int bm_rstate_json(const struct bm_rstate *rs, char **out, size_t *len);

/* bm_rstate_clear -- free everything @rs owns and zero it. */
void bm_rstate_clear(struct bm_rstate *rs);

/* bm_rstate_grow -- append a zeroed element of @size to the array *@v of
 * *@n elements; returns it, or NULL when out of memory. */
void *bm_rstate_grow(void *v, size_t *n, size_t size);

/* bm_rstate_cond_free / bm_rstate_event_free -- free what one element
 * owns (not the element). */
void bm_rstate_cond_free(struct bm_rstate_cond *c);
void bm_rstate_event_free(struct bm_rstate_event *e);

/* bm_rstate_add_event -- append a pending event (copies of the strings;
 * @machine and @text may be NULL).  Returns 0 or -ENOMEM. */
int bm_rstate_add_event(struct bm_rstate *rs, const char *key,
    const char *kind, const char *machine, const char *subject,
    const char *text, uint64_t time);

/* bm_rstate_target -- the entry of target @name, added with first_seen
 * @now if missing; NULL when out of memory or @name is too long. */
struct bm_rstate_target *bm_rstate_target(struct bm_rstate *rs,
    const char *name, uint64_t now);

#endif /* BEEMO_BM_STATUS_H */
