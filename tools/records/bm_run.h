/*
 * bm_run.h -- live status files (records library, see bm_jentry.h).
 *
 * Daemons and long operations describe themselves in STORE/run/NAME.json,
 * replaced by rename without fsync: live information, not records, and
 * no file names.  After a crash one may be missing or old, never half
 * written.  Readers (beemoctl status) use the JSON reader of bm_json.h.
 */
#ifndef BEEMO_BM_RUN_H
#define BEEMO_BM_RUN_H

#include <stddef.h>
#include <stdint.h>

/*
 * bm_run_write -- replace STORE/run/@name.json with @len bytes of @text
 * (mode 0600, by rename, not fsynced).  bm_run_remove deletes it.
 * Returns 0 or a negative errno.
 */
int bm_run_write(const char *store, const char *name, const char *text,
    size_t len);
void bm_run_remove(const char *store, const char *name);

/* A long operation in progress (push, maintenance, restore, check). */
struct bm_progress {
	const char *op, *machine, *target; /* NULL when not relevant */
	uint64_t started;                  /* ns */
	uint64_t done, total;              /* bytes (total 0: unknown) */
	uint64_t files, objs_done, objs_total;
};

/* bm_run_progress -- bm_run_write(@store, @name, ...) of @p with our pid
 * (format "beemo-progress", version 1).  Returns 0 or a negative
 * errno. */
int bm_run_progress(const char *store, const char *name,
    const struct bm_progress *p);

/* What a machine's status file and beemofs' "stats" answer hold. */
struct bm_mstatus {
	const char *machine;
	int mounted;                /* a backup session runs */
	long pid;                   /* of that beemofs, else 0 */
	uint64_t updated;           /* ns */
	uint64_t session;           /* start of the session (ns), or 0 */
	uint64_t session_files, session_bytes; /* committed, written */
	uint64_t added, changed, deleted, renamed;
	uint64_t files, dirs, bytes, stored, packs;
	uint32_t snapshots;
	uint64_t last_snapshot;     /* ns, 0: none */
	uint64_t quota_soft, quota_hard; /* stored bytes, 0: none */
	unsigned signatures;        /* of the daemon's antivirus engine */
};

/* bm_mstatus_json -- @s as one line of JSON (format "beemo-machine-
 * status", version 1) in a malloc'd string of @len bytes.  Returns 0 or
 * -ENOMEM. */
int bm_mstatus_json(const struct bm_mstatus *s, char **out, size_t *len);

#endif /* BEEMO_BM_RUN_H */
