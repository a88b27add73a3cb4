/*
 * ctl_status.h -- what `beemoctl status` and `beemoctl metrics` show: the
 * appliance, its machines, its storage centers and the operations in
 * progress, gathered without any password and without taking any lock.
 *
 * Sources, each read with its typed reader (bm_status.h).  A mounted
 * machine answers the "stats" request on its control socket
 * STORE/machines/NAME/ctl.sock with its live status (session counters,
 * stored bytes, quotas); a machine that is not mounted is shown from its
 * status file, which its last beemofs wrote when it stopped.  Long
 * operations describe themselves in run files ("push", "maintenance";
 * "VERB-PID" for restore, check and rebuild-index), rewritten about once
 * a second; one whose process is gone is ignored.  The storage centers
 * come from beemo-sync's state file, the reports from STORE/reports/
 * (the spool and the state of `beemo-sync maintenance`), the signatures
 * from the headers of the signature files.  Nothing here changes any
 * file.
 */
#ifndef BEEMO_CTL_STATUS_H
#define BEEMO_CTL_STATUS_H

#include <stdint.h>

#include "beemoctl.h"
#include "bm_space.h"
#include "bm_status.h"
#include "store.h"

struct ctl_machine {
	char name[80];
	int known;               /* a live answer or a status file */
	int live;                /* answered on its control socket */
	int mounted;
	long pid;
	uint64_t updated;        /* of the status, ns */
	uint64_t session;        /* session start, ns (0: none) */
	uint64_t session_files, session_bytes;
	uint64_t files, bytes, stored, packs;
	uint64_t snapshots, last_snapshot;
	uint64_t quota_soft, quota_hard;
	uint64_t used, quota_limit; /* bm_status.h */
	uint64_t signatures;
	uint64_t reclaimable, reclaimable_time; /* bm_status.h */
	/* The retention policy in force (ctl_policy_describe): 0, -ENOENT
	 * (none) or why it is refused; @policy says it in one line. */
	int policy_rc;
	char policy[768];
};

struct ctl_target {
	char name[80];
	uint64_t last_success;   /* last complete push, ns (0: never) */
	uint64_t last_contact;   /* last push or maintenance that reached it */
	uint64_t last_attempt;   /* of either */
	char result[256];        /* of the last attempt */
	uint64_t awaiting;       /* remote objects awaiting a deletion
	                            request (beemo-sync release) */
};

struct ctl_alert {
	char key[256];
	char subject[512];
	uint64_t since;
};

struct ctl_appliance {
	char name[256];          /* [top] appliance, or the host name */
	const char *store;
	int store_ok;            /* exists, is a directory */
	uint64_t store_size, store_free; /* bytes */
	struct bm_space space;   /* free space and its thresholds */
	const char *config;      /* file read, or NULL (defaults) */
	int scan_enabled;
	const char *sigdir;
	uint64_t sig_count, sig_newest; /* from the files; newest in ns */
	const char *scan_engine; /* [scan] engine: auto, shared, local */
	const char *scan_service; /* [scan] service: beemo-scand's socket */
	int scan_service_up;     /* it answered */
	/* What it said (scan_client_status), when up. */
	uint64_t svc_sigs, svc_version, svc_rss_kb, svc_clients, svc_scans;
	uint64_t svc_hits, svc_misses, svc_entries;
	uint64_t reports_pending; /* spool files and unsent reports */
	uint64_t maint_last;     /* ns of the last maintenance run, 0 */
	char maint_result[256];
	struct ctl_machine *m;
	size_t nm;
	struct ctl_target *t;
	size_t nt;
	struct bm_run *ops;      /* whose process runs */
	size_t nops;
	struct ctl_alert *alerts;
	size_t nalerts;
};

/*
 * ctl_status_collect -- fill @a (free with ctl_status_free).  Missing
 * sources leave their fields empty.  Returns 0, or CTL_FAIL after a
 * message when the appliance cannot be opened at all.
 */
int ctl_status_collect(const struct ctl *ctl, struct ctl_appliance *a);
void ctl_status_free(struct ctl_appliance *a);

/*
 * ctl_mstatus_update -- after a change of @machine's store made through
 * beemoctl's own handle @st (prune, forget), rewrite the status file its
 * last beemofs left (bm_mstatus_write) with the store's figures now
 * (store_stats, quotas), so that `status` shows what remains.  A
 * failure prints a warning only.
 */
void ctl_mstatus_update(const struct ctl *ctl, const char *machine,
    store *st);

/* ctl_pid_alive -- is @pid a running process named @comm (as in
 * /proc/PID/comm, NULL: any)? */
int ctl_pid_alive(long pid, const char *comm);

#endif /* BEEMO_CTL_STATUS_H */
