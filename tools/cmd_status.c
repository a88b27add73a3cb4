/*
 * cmd_status.c -- `beemoctl status [--watch] [--json]`: the appliance,
 * its machines, its storage centers and what is running, from the
 * sources described in ctl_status.h (control sockets and status files;
 * no password, no lock).  --watch redraws every second on a terminal
 * until Ctrl-C.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bm_esc.h"
#include "bm_json.h"
#include "bm_removed.h"
#include "bm_time.h"
#include "bm_units.h"
#include "ctl_status.h"

static const char status_usage[] =
    "[--watch] [--json]\n"
    "\n"
    "Show the appliance's health (store, free space, configuration,\n"
    "antivirus signatures, reports), each machine (mounted or not, the\n"
    "current backup session, stored bytes and quota, last snapshot, last\n"
    "off-site push, retention policy), the storage centers, and the\n"
    "operations in progress (backup sessions, push, restore, check) with\n"
    "their progress.\n"
    "\n"
    "  --watch  redraw every second until interrupted\n"
    "  --json   one JSON object \"beemo-status\" (beemoctl(8)); with\n"
    "           --watch one a second\n"
    "  --help   this help\n";

static volatile sig_atomic_t interrupted;

static void
on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* ---- text ------------------------------------------------------------ */

static void
print_machine(const struct ctl_appliance *a, const struct ctl_machine *m,
    uint64_t now)
{
	char b1[32], b2[32], b3[32], w[32], t[32];
	size_t i;

	if (!m->known) {
		printf("  %-12s never mounted\n  %-12s retention %s\n",
		    m->name, "", m->policy);
		return;
	}
	if (m->mounted)
		printf("  %-12s mounted (beemofs pid %ld)%s\n", m->name,
		    m->pid, m->live ? "" : ", not answering");
	else
		printf("  %-12s not mounted (status of %s)\n", m->name,
		    bm_time_show(t, sizeof(t), m->updated));
	if (m->mounted && m->session)
		printf("  %-12s session since %s: %llu files committed, %s "
		    "written\n", "", bm_time_show(t, sizeof(t), m->session),
		    (unsigned long long)m->session_files,
		    bm_human(b1, sizeof(b1), m->session_bytes));
	printf("  %-12s %llu files, %s; stored %s, uses %s", "",
	    (unsigned long long)m->files, bm_human(b1, sizeof(b1), m->bytes),
	    bm_human(b2, sizeof(b2), m->stored), bm_human(t, sizeof(t),
	    m->used));
	if (m->quota_soft || m->quota_limit) {
		uint64_t lim = m->quota_soft ? m->quota_soft : m->quota_limit;

		printf(" (%.0f%% of the %s limit); quota soft %s, hard %s%s%s",
		    100.0 * (double)m->used / (double)lim, m->quota_soft ?
		    "soft" : "hard", m->quota_soft ? bm_human(b3, sizeof(b3),
		    m->quota_soft) : "none", m->quota_limit ? bm_human(w,
		    sizeof(w), m->quota_limit) : "none", m->quota_limit &&
		    !m->quota_hard ? " (default)" : "", m->quota_soft &&
		    m->used > m->quota_soft ? "  OVER QUOTA" : "");
	}
	if (m->reclaimable_time != 0)
		printf("; reclaimable %s (as of %s)", bm_human(b3, sizeof(b3),
		    m->reclaimable), bm_time_show(t, sizeof(t),
		    m->reclaimable_time));
	printf("\n  %-12s last snapshot %s (%s), %llu snapshots\n", "",
	    m->last_snapshot ? bm_time_show(t, sizeof(t), m->last_snapshot) :
	    "none", bm_age_str(w, sizeof(w), m->last_snapshot, now),
	    (unsigned long long)m->snapshots);
	for (i = 0; i < a->nt; i++)
		printf("  %-12s off-site %s: last push %s\n", "",
		    a->t[i].name, bm_age_str(w, sizeof(w),
		    a->t[i].last_success, now));
	printf("  %-12s retention %s\n", "", m->policy);
}

static void
print_op(const struct bm_run *o, uint64_t now)
{
	char b1[32], b2[32], w[32];

	printf("  %-10s pid %-7ld", o->op, o->pid);
	if (*o->machine)
		printf(" %s", o->machine);
	if (*o->target)
		printf(" to %s", o->target);
	if (o->total)
		printf(": %s of %s (%.0f%%)", bm_human(b1, sizeof(b1),
		    o->done), bm_human(b2, sizeof(b2), o->total),
		    100.0 * (double)o->done / (double)o->total);
	else if (o->done || o->files)
		printf(": %s", bm_human(b1, sizeof(b1), o->done));
	if (o->objs_total)
		printf(", %llu/%llu objects", (unsigned long long)o->objs_done,
		    (unsigned long long)o->objs_total);
	if (o->files)
		printf(", %llu files", (unsigned long long)o->files);
	if (o->started)
		printf(", started %s",
		    bm_age_str(w, sizeof(w), o->started, now));
	putchar('\n');
}

/* The machines removed and not yet freed (bm_removed.h), as text lines
 * or as the JSON array "removed" when @j is not NULL. */
static void
print_removed(const struct ctl *ctl, bm_json *j)
{
	uint64_t grace = bm_conf_get_u64(ctl->conf, "store", NULL,
	    "remove_grace", BM_REMOVED_GRACE);
	struct bm_removed *v = NULL;
	char when[32];
	size_t n = 0, i;

	(void)bm_removed_list(ctl->store, &v, &n);
	if (j != NULL)
		bm_json_begin_arr(j, "removed");
	for (i = 0; i < n; i++) {
		uint64_t frees = bm_removed_frees_at(&v[i], grace);

		if (j == NULL) {
			printf("  %-12s removed, freed on %s\n", v[i].name,
			    bm_time_show(when, sizeof(when), frees));
			continue;
		}
		bm_json_begin_obj(j, NULL);
		bm_json_str(j, "name", v[i].name);
		bm_json_time(j, "removed", v[i].removed_ns);
		bm_json_time(j, "frees", frees);
		bm_json_end_obj(j);
	}
	if (j != NULL)
		bm_json_end_arr(j);
	free(v);
}

static void
print_text(const struct ctl *ctl,
    const struct ctl_appliance *a)
{
	uint64_t now = bm_now_ns();
	char b1[32], b2[32], t[32], w[32];
	size_t i, n = 0;

	printf("appliance %s (Beemo " BEEMO_VERSION ")\n", a->name);
	if (a->store_ok) {
		printf("  store       %s: %s free of %s", a->store,
		    bm_human(b1, sizeof(b1), a->store_free),
		    bm_human(b2, sizeof(b2), a->store_size));
		printf("; reserve %s, alert under %s%s\n",
		    bm_human(b1, sizeof(b1), a->space.reserve),
		    bm_human(b2, sizeof(b2), a->space.alert),
		    a->space.state == BM_SPACE_FULL ? "  FULL: backups fail" :
		    a->space.state == BM_SPACE_LOW ? "  LOW" : "");
	}
	else
		printf("  store       %s: MISSING\n", a->store);
	printf("  config      %s\n", a->config ? a->config :
	    "none (defaults)");
	if (!a->scan_enabled)
		printf("  antivirus   disabled ([scan] enabled = no)\n");
	else
		printf("  antivirus   %s: %llu signatures, newest %s (%s)\n",
		    a->sigdir, (unsigned long long)a->sig_count,
		    a->sig_newest ? bm_time_show(t, sizeof(t), a->sig_newest) :
		    "-", bm_age_str(w, sizeof(w), a->sig_newest, now));
	if (a->scan_enabled && !strcmp(a->scan_engine, "local"))
		printf("  scanner     an engine in each session ([scan] engine "
		    "= local)\n");
	else if (a->scan_enabled && a->scan_service_up)
		printf("  scanner     %s: engine loaded, %llu signatures "
		    "(version %llu), %s resident, %llu client%s, %llu "
		    "scanned, cache %llu hits %llu misses\n",
		    a->scan_service, (unsigned long long)a->svc_sigs,
		    (unsigned long long)a->svc_version,
		    bm_human(b1, sizeof(b1), a->svc_rss_kb * 1024),
		    (unsigned long long)a->svc_clients,
		    a->svc_clients == 1 ? "" : "s",
		    (unsigned long long)a->svc_scans,
		    (unsigned long long)a->svc_hits,
		    (unsigned long long)a->svc_misses);
	else if (a->scan_enabled)
		printf("  scanner     %s: NOT RUNNING (%s)\n", a->scan_service,
		    !strcmp(a->scan_engine, "shared") ? "sessions cannot "
		    "start: [scan] engine = shared" : "each session loads "
		    "its own engine");
	printf("  reports     %llu pending, %zu open alert%s\n",
	    (unsigned long long)a->reports_pending, a->nalerts,
	    a->nalerts == 1 ? "" : "s");
	for (i = 0; i < a->nalerts; i++) {
		/* Subjects of reports name files of clients. */
		fputs("              ALERT ", stdout);
		bm_esc_put(stdout, a->alerts[i].subject);
		printf(" (since %s)\n", bm_age_str(w, sizeof(w),
		    a->alerts[i].since, now));
	}
	printf("  maintenance last run %s%s%s\n", bm_age_str(w, sizeof(w),
	    a->maint_last, now), a->maint_last ? ": " : "",
	    a->maint_last ? a->maint_result : "");
	printf("storage centers\n");
	if (a->nt == 0)
		printf("  none configured\n");
	for (i = 0; i < a->nt; i++) {
		char c[32];

		printf("  %-12s last push %s; last reached %s; last attempt "
		    "%s%s%s\n", a->t[i].name, bm_age_str(w, sizeof(w),
		    a->t[i].last_success, now), bm_age_str(c, sizeof(c),
		    a->t[i].last_contact, now), bm_age_str(t, sizeof(t),
		    a->t[i].last_attempt, now), a->t[i].last_attempt ? ": " :
		    "", a->t[i].result);
		if (a->t[i].awaiting)
			printf("  %-12s %llu remote objects await release "
			    "(beemo-sync release)\n", "",
			    (unsigned long long)a->t[i].awaiting);
	}
	printf("machines\n");
	if (a->nm == 0)
		printf("  none\n");
	for (i = 0; i < a->nm; i++)
		print_machine(a, &a->m[i], now);
	print_removed(ctl, NULL);
	printf("in progress\n");
	for (i = 0; i < a->nm; i++) {
		const struct ctl_machine *m = &a->m[i];

		if (!m->mounted || !m->session)
			continue;
		n++;
		printf("  %-10s pid %-7ld %s: %llu files, %s written, "
		    "started %s\n", "backup", m->pid, m->name,
		    (unsigned long long)m->session_files,
		    bm_human(b1, sizeof(b1), m->session_bytes),
		    bm_age_str(w, sizeof(w), m->session, now));
	}
	for (i = 0; i < a->nops; i++, n++)
		print_op(&a->ops[i], now);
	if (n == 0)
		printf("  nothing\n");
}

/* ---- JSON ------------------------------------------------------------ */

static void
print_json(const struct ctl *ctl,
    const struct ctl_appliance *a)
{
	bm_json j;
	size_t i, k;

	bm_json_init(&j, stdout);
	bm_json_head(&j, "beemo-status", 1);
	bm_json_time(&j, "time", bm_now_ns());
	bm_json_begin_obj(&j, "appliance");
	bm_json_str(&j, "name", a->name);
	bm_json_str(&j, "beemo", BEEMO_VERSION);
	bm_json_str(&j, "store", a->store);
	bm_json_bool(&j, "store_ok", a->store_ok);
	bm_json_u64(&j, "store_size", a->store_size);
	bm_json_u64(&j, "store_free", a->store_free);
	bm_json_u64(&j, "store_reserve", a->space.reserve);
	bm_json_u64(&j, "store_alert", a->space.alert);
	bm_json_str(&j, "store_state", bm_space_state_name(a->space.state));
	bm_json_u64(&j, "machine_quota", a->space.machine_quota);
	bm_json_str(&j, "config", a->config);
	bm_json_bool(&j, "scan_enabled", a->scan_enabled);
	bm_json_str(&j, "signatures_dir", a->sigdir);
	bm_json_u64(&j, "signatures", a->sig_count);
	bm_json_time(&j, "signatures_newest", a->sig_newest);
	bm_json_str(&j, "scan_engine", a->scan_engine);
	bm_json_str(&j, "scan_service", a->scan_service);
	bm_json_bool(&j, "scan_service_up", a->scan_service_up);
	bm_json_u64(&j, "scan_service_signatures", a->svc_sigs);
	bm_json_u64(&j, "scan_service_version", a->svc_version);
	bm_json_u64(&j, "scan_service_rss", a->svc_rss_kb * 1024);
	bm_json_u64(&j, "scan_service_clients", a->svc_clients);
	bm_json_u64(&j, "scan_service_scans", a->svc_scans);
	bm_json_u64(&j, "scan_cache_hits", a->svc_hits);
	bm_json_u64(&j, "scan_cache_misses", a->svc_misses);
	bm_json_u64(&j, "scan_cache_entries", a->svc_entries);
	bm_json_u64(&j, "reports_pending", a->reports_pending);
	bm_json_time(&j, "maintenance_last", a->maint_last);
	bm_json_str(&j, "maintenance_result", a->maint_result);
	bm_json_begin_arr(&j, "alerts");
	for (i = 0; i < a->nalerts; i++) {
		bm_json_begin_obj(&j, NULL);
		bm_json_str(&j, "key", a->alerts[i].key);
		bm_json_str(&j, "subject", a->alerts[i].subject);
		bm_json_time(&j, "since", a->alerts[i].since);
		bm_json_end_obj(&j);
	}
	bm_json_end_arr(&j);
	bm_json_end_obj(&j);
	bm_json_begin_arr(&j, "targets");
	for (i = 0; i < a->nt; i++) {
		bm_json_begin_obj(&j, NULL);
		bm_json_str(&j, "name", a->t[i].name);
		bm_json_time(&j, "last_success", a->t[i].last_success);
		bm_json_time(&j, "last_contact", a->t[i].last_contact);
		bm_json_time(&j, "last_attempt", a->t[i].last_attempt);
		bm_json_str(&j, "result", a->t[i].result);
		bm_json_u64(&j, "awaiting_release", a->t[i].awaiting);
		bm_json_end_obj(&j);
	}
	bm_json_end_arr(&j);
	bm_json_begin_arr(&j, "machines");
	for (i = 0; i < a->nm; i++) {
		const struct ctl_machine *m = &a->m[i];

		bm_json_begin_obj(&j, NULL);
		bm_json_str(&j, "name", m->name);
		bm_json_bool(&j, "known", m->known);
		bm_json_bool(&j, "mounted", m->mounted);
		bm_json_bool(&j, "live", m->live);
		bm_json_u64(&j, "pid", m->pid > 0 ? (uint64_t)m->pid : 0);
		bm_json_time(&j, "updated", m->updated);
		if (m->mounted && m->session) {
			bm_json_begin_obj(&j, "session");
			bm_json_time(&j, "started", m->session);
			bm_json_u64(&j, "files", m->session_files);
			bm_json_u64(&j, "bytes", m->session_bytes);
			bm_json_end_obj(&j);
		} else {
			bm_json_null(&j, "session");
		}
		bm_json_u64(&j, "files", m->files);
		bm_json_u64(&j, "bytes", m->bytes);
		bm_json_u64(&j, "stored", m->stored);
		bm_json_u64(&j, "snapshots", m->snapshots);
		bm_json_time(&j, "last_snapshot", m->last_snapshot);
		bm_json_u64(&j, "quota_soft", m->quota_soft);
		bm_json_u64(&j, "quota_hard", m->quota_hard);
		bm_json_u64(&j, "used", m->used);
		bm_json_u64(&j, "quota_limit", m->quota_limit);
		bm_json_u64(&j, "reclaimable", m->reclaimable);
		bm_json_time(&j, "reclaimable_time", m->reclaimable_time);
		bm_json_bool(&j, "over_quota", m->quota_soft &&
		    m->used > m->quota_soft);
		if (m->policy_rc == -ENOENT)
			bm_json_null(&j, "retention");
		else
			bm_json_str(&j, "retention", m->policy);
		bm_json_bool(&j, "retention_refused", m->policy_rc != 0 &&
		    m->policy_rc != -ENOENT);
		bm_json_begin_arr(&j, "pushed");
		for (k = 0; k < a->nt; k++) {
			bm_json_begin_obj(&j, NULL);
			bm_json_str(&j, "target", a->t[k].name);
			bm_json_time(&j, "last_push", a->t[k].last_success);
			bm_json_end_obj(&j);
		}
		bm_json_end_arr(&j);
		bm_json_end_obj(&j);
	}
	bm_json_end_arr(&j);
	print_removed(ctl, &j);
	bm_json_begin_arr(&j, "in_progress");
	for (i = 0; i < a->nm; i++) {
		const struct ctl_machine *m = &a->m[i];

		if (!m->mounted || !m->session)
			continue;
		bm_json_begin_obj(&j, NULL);
		bm_json_str(&j, "op", "backup");
		bm_json_str(&j, "machine", m->name);
		bm_json_u64(&j, "pid", (uint64_t)m->pid);
		bm_json_time(&j, "started", m->session);
		bm_json_u64(&j, "files", m->session_files);
		bm_json_u64(&j, "bytes", m->session_bytes);
		bm_json_end_obj(&j);
	}
	for (i = 0; i < a->nops; i++) {
		const struct bm_run *o = &a->ops[i];

		bm_json_begin_obj(&j, NULL);
		bm_json_str(&j, "op", o->op);
		if (*o->machine)
			bm_json_str(&j, "machine", o->machine);
		if (*o->target)
			bm_json_str(&j, "target", o->target);
		bm_json_u64(&j, "pid", (uint64_t)o->pid);
		bm_json_time(&j, "started", o->started);
		bm_json_u64(&j, "bytes", o->done);
		bm_json_u64(&j, "bytes_total", o->total);
		bm_json_u64(&j, "files", o->files);
		bm_json_u64(&j, "objects", o->objs_done);
		bm_json_u64(&j, "objects_total", o->objs_total);
		bm_json_end_obj(&j);
	}
	bm_json_end_arr(&j);
	bm_json_end_obj(&j);
}

int
cmd_status(struct ctl *ctl, int argc, char **argv)
{
	struct ctl_appliance a;
	struct ctl_opts o;
	struct sigaction sa;
	int rc, tty = isatty(STDOUT_FILENO);

	if ((rc = ctl_parse(ctl, argc, argv, CTL_O_WATCH | CTL_O_JSON, 0, 0,
	    status_usage, &o)) >= 0)
		return rc;
	if (o.watch) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_signal;
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
	}
	do {
		if ((rc = ctl_status_collect(ctl, &a)) != 0)
			return rc;
		if (o.watch && tty && !o.json)
			fputs("\033[H\033[2J", stdout);
		if (o.json)
			print_json(ctl, &a);
		else
			print_text(ctl, &a);
		fflush(stdout);
		ctl_status_free(&a);
		if (o.watch && !interrupted) {
			struct timespec ts = {1, 0};

			/* A signal cuts the sleep short. */
			nanosleep(&ts, NULL);
		}
	} while (o.watch && !interrupted);
	return CTL_OK;
}
