/*
 * ctl_status.c -- gathering the status of the appliance (ctl_status.h).
 *
 * Every source is read once, without locks, and may be missing or
 * malformed: a source that cannot be read leaves its part empty rather
 * than failing the whole status (the operator needs the rest most when
 * something is broken).  Every file is read with its typed reader
 * (bm_status.h; the report spool's bm_report_read, bm_report.h).
 */
#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bm_conf.h"
#include "bm_err.h"
#include "bm_file.h"
#include "bm_json.h"
#include "bm_sealed.h"
#include "ctl_policy.h"
#include "ctl_status.h"
#include "ctl_store.h"
#include "bm_status.h"
#include "bm_time.h"
#include "control.h"
#include "scan.h"
#include "scan_client.h"
#include "scan_proto.h"

int
ctl_pid_alive(long pid, const char *comm)
{
	char path[64], name[64];
	uint8_t *text;
	size_t len;
	int ok;

	if (pid <= 0 || (kill((pid_t)pid, 0) != 0 && errno != EPERM))
		return 0;
	if (comm == NULL)
		return 1;
	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	if (bm_read_file(path, 4096, &text, &len) != 0)
		return 0;
	snprintf(name, sizeof(name), "%s", (char *)text);
	name[strcspn(name, "\n")] = '\0';
	ok = strcmp(name, comm) == 0;
	free(text);
	return ok;
}

static void
copy(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

/* ---- machines ------------------------------------------------------- */

static void
machine_from(struct ctl_machine *m, const struct bm_mstatus *s)
{
	m->known = 1;
	m->mounted = s->mounted;
	m->pid = s->pid;
	m->updated = s->updated;
	m->session = s->session;
	m->session_files = s->session_files;
	m->session_bytes = s->session_bytes;
	m->files = s->files;
	m->bytes = s->bytes;
	m->stored = s->stored;
	m->packs = s->packs;
	m->snapshots = s->snapshots;
	m->last_snapshot = s->last_snapshot;
	m->quota_soft = s->quota_soft;
	m->quota_hard = s->quota_hard;
	m->used = s->used;
	m->quota_limit = s->quota_limit;
	m->signatures = s->signatures;
	m->reclaimable = s->reclaimable;
	m->reclaimable_time = s->reclaimable_time;
}

static void
machine(const struct ctl *ctl, struct ctl_machine *m)
{
	char *stats = NULL;
	struct control_client c;
	struct bm_mstatus s;

	/* Live: the daemon's own answer. */
	if (control_client_init(&c, ctl->store, m->name, 2000) == 0 &&
	    control_stats(&c, &stats) == 0 &&
	    bm_mstatus_parse(stats, strlen(stats), &s) == 0) {
		machine_from(m, &s);
		m->live = 1;
	}
	free(stats);
	if (m->live)
		return;
	/* Otherwise what its last beemofs left. */
	if (bm_mstatus_read(ctl->store, m->name, &s) != 0)
		return;
	machine_from(m, &s);
	/* A beemofs killed without stopping leaves "mounted": true. */
	if (m->mounted && !ctl_pid_alive(m->pid, NULL)) {
		m->mounted = 0;
		m->session = 0;
	}
}

void
ctl_mstatus_update(const struct ctl *ctl, const char *machine, store *st)
{
	struct store_stats s;
	struct bm_mstatus m;
	int rc;

	/* Kept: what only a daemon knows (its engine's signatures). */
	if (bm_mstatus_read(ctl->store, machine, &m) != 0)
		memset(&m, 0, sizeof(m));
	if ((rc = store_stats(st, &s)) == 0) {
		copy(m.machine, sizeof(m.machine), machine);
		m.mounted = 0;
		m.pid = 0;
		m.session = 0;
		m.updated = bm_now_ns();
		m.files = s.files;
		m.dirs = s.dirs;
		m.bytes = s.bytes;
		m.stored = s.stored;
		m.used = s.used;
		m.packs = s.packs;
		m.snapshots = s.snapshots;
		m.last_snapshot = s.last_snapshot;
		m.reclaimable = s.reclaimable;
		m.reclaimable_time = s.reclaimable_time;
		(void)store_quota_get(st, &m.quota_soft, &m.quota_hard);
		/* The default share is the daemon's to compute. */
		if (m.quota_hard != 0)
			m.quota_limit = m.quota_hard;
		rc = bm_mstatus_write(ctl->store, &m);
	}
	if (rc != 0)
		fprintf(stderr, "%s: %s: warning: cannot update the status of "
		    "%s: %s\n", ctl->prog, ctl->verb, machine,
		    beemo_strerror(rc));
}

static int
machines(const struct ctl *ctl, struct ctl_appliance *a)
{
	keymgr *km = NULL;
	char **names = NULL;
	size_t n = 0, i;

	if (keymgr_open(ctl->keydir, &km) != 0)
		return 0; /* shown as "no appliance" by the caller */
	if (keymgr_machine_list(km, &names, &n) == 0 && n > 0 &&
	    (a->m = calloc(n, sizeof(*a->m))) != NULL) {
		for (i = 0; i < n; i++) {
			copy(a->m[i].name, sizeof(a->m[i].name), names[i]);
			machine(ctl, &a->m[i]);
			a->m[i].policy_rc = ctl_policy_describe(ctl, km,
			    names[i], a->m[i].policy,
			    sizeof(a->m[i].policy));
		}
		a->nm = n;
	}
	keymgr_names_free(names, n);
	keymgr_free(km);
	return 1;
}

/* ---- storage centers -------------------------------------------------- */

static void
targets(const struct ctl *ctl, struct ctl_appliance *a)
{
	const char *const *names;
	struct bm_sync_state st;
	char path[4200];
	uint8_t *text;
	size_t n, len, i, k;
	int rc;

	bm_conf_names(ctl->conf, "target", &names, &n);
	if (n == 0 || (a->t = calloc(n, sizeof(*a->t))) == NULL)
		return;
	a->nt = n;
	for (i = 0; i < n; i++)
		copy(a->t[i].name, sizeof(a->t[i].name), names[i]);
	/* Read without a message: a bad file leaves the targets empty. */
	if (bm_sync_state_path(ctl->conf, ctl->store, path, sizeof(path)) !=
	    0 || bm_read_file(path, BM_STATUS_MAX, &text, &len) != 0)
		return;
	rc = bm_sync_state_parse((const char *)text, len, &st);
	free(text);
	if (rc != 0)
		return;
	for (k = 0; k < st.n; k++) {
		const struct bm_sync_tstate *t = &st.t[k];

		for (i = 0; i < n; i++) {
			if (strcmp(a->t[i].name, t->name) != 0)
				continue;
			a->t[i].last_success = t->last_success_ns;
			a->t[i].awaiting = t->awaiting;
			a->t[i].last_contact = t->last_success_ns;
			a->t[i].last_attempt = t->last_attempt_ns;
			copy(a->t[i].result, sizeof(a->t[i].result),
			    t->result);
		}
	}
	bm_sync_state_free(&st);
}

/* ---- operations in progress ------------------------------------------ */

static void
operations(const struct ctl *ctl, struct ctl_appliance *a)
{
	struct bm_run *runs, *n;
	char path[4200];
	size_t nruns, i;
	long spid = 0;

	if (bm_run_list(ctl->store, &runs, &nruns) != 0)
		return;
	a->ops = runs;
	for (i = 0; i < nruns; i++)
		if (ctl_pid_alive(runs[i].pid, NULL))
			runs[a->nops++] = runs[i];
	/* A push without a run file yet still shows, with the pid that
	 * beemo-sync keeps in its lock file while it runs. */
	if (bm_sync_lock_path(ctl->conf, ctl->store, path, sizeof(path)) == 0)
		spid = bm_sync_lock_pid(path);
	if (spid == 0 || !ctl_pid_alive(spid, "beemo-sync"))
		return;
	for (i = 0; i < a->nops; i++)
		if (a->ops[i].pid == spid)
			return;
	if ((n = realloc(a->ops, (a->nops + 1) * sizeof(*n))) == NULL)
		return;
	a->ops = n;
	memset(&n[a->nops], 0, sizeof(*n));
	copy(n[a->nops].op, sizeof(n->op), "beemo-sync");
	n[a->nops++].pid = spid;
}

/* ---- reports ---------------------------------------------------------- */

static void
reports_read(const struct ctl *ctl, struct ctl_appliance *a,
    const uint8_t *key)
{
	char path[4200];
	struct bm_rstate rs;
	struct dirent *e;
	DIR *d;
	size_t i;

	if (bm_path(path, sizeof(path), "%s/reports/spool", ctl->store) == 0 &&
	    (d = opendir(path)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			size_t l = strlen(e->d_name);
			char file[4500];
			struct bm_spooled sp;

			/* A queued "clear" is no report unless a "raise"
			 * was mailed; the maintenance cycle will tell. */
			if (l < 8 || strcmp(e->d_name + l - 7, ".sealed") ||
			    bm_path(file, sizeof(file), "%s/%s", path,
			    e->d_name) || bm_report_read(file, key, &sp) != 0)
				continue;
			a->reports_pending += sp.r.state != BM_REPORT_CLEAR;
			bm_spooled_free(&sp);
		}
		closedir(d);
	}
	if (bm_rstate_read(ctl->store, key, &rs) != 0)
		return;
	/* The maintenance runs' contacts with the storage centers. */
	for (i = 0; i < rs.nt; i++) {
		const struct bm_rstate_target *rt = &rs.t[i];
		size_t k;

		for (k = 0; k < a->nt; k++) {
			struct ctl_target *t = &a->t[k];

			if (strcmp(t->name, rt->name) != 0)
				continue;
			if (rt->last_ok > t->last_contact)
				t->last_contact = rt->last_ok;
			if (rt->last_attempt > t->last_attempt) {
				t->last_attempt = rt->last_attempt;
				copy(t->result, sizeof(t->result),
				    rt->result);
			}
		}
	}
	a->maint_last = rs.last_run;
	copy(a->maint_result, sizeof(a->maint_result), rs.last_result);
	a->reports_pending += rs.ne;
	for (i = 0; i < rs.nc; i++) {
		const struct bm_rstate_cond *c = &rs.c[i];
		struct ctl_alert *n;

		if (c->cleared != 0 || c->raised == 0) {
			/* A "resolved" mail still to send counts. */
			a->reports_pending += c->cleared != 0;
			continue;
		}
		a->reports_pending += c->mailed == 0;
		if ((n = realloc(a->alerts, (a->nalerts + 1) *
		    sizeof(*n))) == NULL)
			break;
		a->alerts = n;
		copy(n[a->nalerts].key, sizeof(n->key), c->key);
		copy(n[a->nalerts].subject, sizeof(n->subject), c->subject);
		n[a->nalerts++].since = c->since;
	}
	bm_rstate_clear(&rs);
}

/* The report spool and state, sealed under the "reports" subkey (bm_report.h, bm_status.h):
 * reading them needs appliance.key, as root has. */
static void
reports(const struct ctl *ctl, struct ctl_appliance *a)
{
	uint8_t key[KEYMGR_SECRET_LEN];
	keymgr *km = NULL;
	int rc;

	if ((rc = keymgr_open(ctl->keydir, &km)) == 0)
		rc = keymgr_appliance_subkey(km, "reports", key);
	keymgr_free(km);
	if (rc != 0)
		return;
	reports_read(ctl, a, key);
	OPENSSL_cleanse(key, sizeof(key));
}

/* ---- signatures -------------------------------------------------------- */

/* The antivirus service (beemo-scand), if it answers. */
static void
scan_service(const struct ctl *ctl, struct ctl_appliance *a)
{
	static const struct {
		const char *name;
		size_t off;
	} keys[] = {
		{"signatures", offsetof(struct ctl_appliance, svc_sigs)},
		{"version", offsetof(struct ctl_appliance, svc_version)},
		{"rss_kb", offsetof(struct ctl_appliance, svc_rss_kb)},
		{"clients", offsetof(struct ctl_appliance, svc_clients)},
		{"scans", offsetof(struct ctl_appliance, svc_scans)},
		{"cache_hits", offsetof(struct ctl_appliance, svc_hits)},
		{"cache_misses", offsetof(struct ctl_appliance, svc_misses)},
		{"cache_entries", offsetof(struct ctl_appliance, svc_entries)},
	};
	char text[2048], *line, *save = NULL;
	size_t i;

	a->scan_engine = bm_conf_get(ctl->conf, "scan", NULL, "engine",
	    "auto");
	a->scan_service = bm_conf_get(ctl->conf, "scan", NULL, "service",
	    SCAN_PROTO_SOCKET);
	if (!strcmp(a->scan_engine, "local") ||
	    scan_client_status(a->scan_service, text, sizeof(text)) != 0)
		return;
	a->scan_service_up = 1;
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(line, ' ');

		if (sp == NULL)
			continue;
		*sp = '\0';
		for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (!strcmp(line, keys[i].name))
				*(uint64_t *)((char *)a + keys[i].off) =
				    strtoull(sp + 1, NULL, 10);
	}
}

static void
signatures(const struct ctl *ctl, struct ctl_appliance *a)
{
	a->scan_enabled = bm_conf_get_bool(ctl->conf, "scan", NULL, "enabled",
	    1);
	a->sigdir = bm_conf_get(ctl->conf, "scan", NULL, "signatures",
	    "/var/lib/clamav");
	/* An unreadable directory shows as no signatures: the daemons
	 * refuse to start on it and say why. */
	(void)scan_sigdir_stat(a->sigdir, &a->sig_count, &a->sig_newest);
	scan_service(ctl, a);
}

/* ---- the whole -------------------------------------------------------- */

int
ctl_status_collect(const struct ctl *ctl, struct ctl_appliance *a)
{
	struct statvfs vfs;
	struct stat st;
	const char *name;

	memset(a, 0, sizeof(*a));
	a->store = ctl->store;
	name = bm_conf_get(ctl->conf, NULL, NULL, "appliance", NULL);
	if (name != NULL)
		copy(a->name, sizeof(a->name), name);
	else if (gethostname(a->name, sizeof(a->name) - 1) != 0)
		copy(a->name, sizeof(a->name), "beemo");
	a->store_ok = stat(ctl->store, &st) == 0 && S_ISDIR(st.st_mode);
	if (a->store_ok && statvfs(ctl->store, &vfs) == 0) {
		a->store_size = (uint64_t)vfs.f_blocks * vfs.f_frsize;
		a->store_free = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	}
	if (a->store_ok)
		(void)bm_space_get(ctl->conf, ctl->store, &a->space);
	a->config = bm_conf_path(ctl->conf);
	if (!machines(ctl, a)) {
		ctl_err(ctl, "%s: no appliance here (run 'beemoctl init' "
		    "first, or give --store)", ctl->store);
		return CTL_FAIL;
	}
	targets(ctl, a);
	operations(ctl, a);
	reports(ctl, a);
	signatures(ctl, a);
	return 0;
}

void
ctl_status_free(struct ctl_appliance *a)
{
	free(a->m);
	free(a->t);
	free(a->ops);
	free(a->alerts);
	memset(a, 0, sizeof(*a));
}
