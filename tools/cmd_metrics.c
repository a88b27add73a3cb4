/*
 * cmd_metrics.c -- `beemoctl metrics [--output FILE]`: the status of
 * ctl_status.h as a Prometheus text file, for node_exporter's textfile
 * collector.  The file is written beside its final name and renamed
 * over it, so the collector never reads half of it.  Without --output
 * it goes to METRICS_DIR/beemo.prom when that directory exists (Debian's
 * prometheus-node-exporter), else to standard output.  Run it from cron
 * or a timer every minute or so.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bm_err.h"
#include "bm_file.h"
#include "ctl_status.h"

#define METRICS_DIR "/var/lib/prometheus/node-exporter"

static const char metrics_usage[] =
    "[--output FILE]\n"
    "\n"
    "Write the appliance's metrics in the Prometheus text format: per\n"
    "machine stored bytes, files, quotas, last snapshot, last push per\n"
    "storage center, mounted; per storage center the last push; for the\n"
    "appliance free space, signatures, pending reports and open alerts.\n"
    "The file is replaced atomically.\n"
    "\n"
    "  --output FILE  write FILE (\"-\": standard output); default\n"
    "                 " METRICS_DIR "/beemo.prom\n"
    "                 when that directory exists, else standard output\n"
    "  --help         this help\n";

static void
head(FILE *f, const char *name, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

static double
secs(uint64_t ns)
{
	return (double)ns / 1e9;
}

/* One gauge per machine: @pick selects the value (a machine never
 * mounted has only zeros). */
static void
per_machine(FILE *f, const struct ctl_appliance *a, const char *name,
    const char *help, double (*pick)(const struct ctl_machine *))
{
	size_t i;

	head(f, name, help);
	for (i = 0; i < a->nm; i++)
		fprintf(f, "%s{machine=\"%s\"} %.17g\n", name, a->m[i].name,
		    pick(&a->m[i]));
}

static double
m_stored(const struct ctl_machine *m)
{
	return (double)m->stored;
}

static double
m_bytes(const struct ctl_machine *m)
{
	return (double)m->bytes;
}

static double
m_files(const struct ctl_machine *m)
{
	return (double)m->files;
}

static double
m_soft(const struct ctl_machine *m)
{
	return (double)m->quota_soft;
}

static double
m_hard(const struct ctl_machine *m)
{
	return (double)m->quota_hard;
}

static double
m_used(const struct ctl_machine *m)
{
	return (double)m->used;
}

static double
m_limit(const struct ctl_machine *m)
{
	return (double)m->quota_limit;
}

static double
m_snap(const struct ctl_machine *m)
{
	return secs(m->last_snapshot);
}

static double
m_nsnap(const struct ctl_machine *m)
{
	return (double)m->snapshots;
}

static double
m_mounted(const struct ctl_machine *m)
{
	return m->mounted;
}

static double
m_sbytes(const struct ctl_machine *m)
{
	return m->mounted ? (double)m->session_bytes : 0;
}

static double
m_updated(const struct ctl_machine *m)
{
	return secs(m->updated);
}

static void
write_metrics(FILE *f, const struct ctl_appliance *a)
{
	size_t i, k;

	head(f, "beemo_up", "1 when beemoctl could read the appliance.");
	fprintf(f, "beemo_up 1\n");
	head(f, "beemo_store_size_bytes", "Size of the store's file system.");
	fprintf(f, "beemo_store_size_bytes %llu\n",
	    (unsigned long long)a->store_size);
	head(f, "beemo_store_free_bytes", "Free space of the store's file "
	    "system.");
	fprintf(f, "beemo_store_free_bytes %llu\n",
	    (unsigned long long)a->store_free);
	head(f, "beemo_store_reserve_bytes", "Free space kept for commits, "
	    "journals and reports: under it backups fail.");
	fprintf(f, "beemo_store_reserve_bytes %llu\n",
	    (unsigned long long)a->space.reserve);
	head(f, "beemo_store_alert_bytes", "Under this much free space the "
	    "space alert is raised.");
	fprintf(f, "beemo_store_alert_bytes %llu\n",
	    (unsigned long long)a->space.alert);
	head(f, "beemo_signatures", "Antivirus signatures in the signature "
	    "files (0 when scanning is off).");
	fprintf(f, "beemo_signatures %llu\n", a->scan_enabled ?
	    (unsigned long long)a->sig_count : 0ULL);
	head(f, "beemo_signatures_timestamp_seconds", "Time of the newest "
	    "signature file.");
	fprintf(f, "beemo_signatures_timestamp_seconds %.17g\n",
	    secs(a->sig_newest));
	head(f, "beemo_reports_pending", "E-mail reports not sent yet.");
	fprintf(f, "beemo_reports_pending %llu\n",
	    (unsigned long long)a->reports_pending);
	head(f, "beemo_alerts_open", "Alert conditions (storage center "
	    "unreachable, over quota) not resolved.");
	fprintf(f, "beemo_alerts_open %zu\n", a->nalerts);
	head(f, "beemo_maintenance_last_timestamp_seconds", "Time of the last "
	    "beemo-sync maintenance run.");
	fprintf(f, "beemo_maintenance_last_timestamp_seconds %.17g\n",
	    secs(a->maint_last));
	head(f, "beemo_operations_running", "Operations in progress by kind.");
	{
		static const char *const kinds[] = {"push", "restore", "check",
		    "rebuild-index", "maintenance"};
		size_t n, q;

		n = 0;
		for (i = 0; i < a->nm; i++)
			n += a->m[i].mounted && a->m[i].session;
		fprintf(f, "beemo_operations_running{op=\"backup\"} %zu\n", n);
		for (q = 0; q < sizeof(kinds) / sizeof(kinds[0]); q++) {
			for (n = i = 0; i < a->nops; i++)
				n += !strcmp(a->ops[i].op, kinds[q]) ||
				    (q == 0 && !strcmp(a->ops[i].op,
				    "beemo-sync"));
			fprintf(f, "beemo_operations_running{op=\"%s\"} %zu\n",
			    kinds[q], n);
		}
	}
	head(f, "beemo_target_last_success_timestamp_seconds", "Time of the "
	    "last complete push to the storage center (0: never).");
	for (i = 0; i < a->nt; i++)
		fprintf(f, "beemo_target_last_success_timestamp_seconds"
		    "{target=\"%s\"} %.17g\n", a->t[i].name,
		    secs(a->t[i].last_success));
	head(f, "beemo_target_last_attempt_ok", "1 when the last push to the "
	    "storage center succeeded.");
	for (i = 0; i < a->nt; i++)
		fprintf(f, "beemo_target_last_attempt_ok{target=\"%s\"} %d\n",
		    a->t[i].name, !strcmp(a->t[i].result, "ok"));
	per_machine(f, a, "beemo_machine_mounted", "1 while a backup session "
	    "of the machine is mounted.", m_mounted);
	per_machine(f, a, "beemo_machine_stored_bytes", "Bytes the machine "
	    "takes in the store (deduplicated, compressed).", m_stored);
	per_machine(f, a, "beemo_machine_bytes", "Apparent size of the "
	    "machine's live tree.", m_bytes);
	per_machine(f, a, "beemo_machine_files", "Files in the machine's live "
	    "tree.", m_files);
	per_machine(f, a, "beemo_machine_quota_soft_bytes", "Soft quota "
	    "(0: none).", m_soft);
	per_machine(f, a, "beemo_machine_quota_hard_bytes", "Hard quota "
	    "(0: none).", m_hard);
	per_machine(f, a, "beemo_machine_used_bytes", "Bytes the quota "
	    "counts: packs, index, staging files.", m_used);
	per_machine(f, a, "beemo_machine_quota_limit_bytes", "Hard quota in "
	    "force, the default one if the machine has none (0: none).",
	    m_limit);
	per_machine(f, a, "beemo_machine_snapshots", "Snapshots kept.",
	    m_nsnap);
	per_machine(f, a, "beemo_machine_last_snapshot_timestamp_seconds",
	    "Time of the last snapshot (0: none).", m_snap);
	per_machine(f, a, "beemo_machine_session_bytes", "Bytes written by "
	    "the running backup session.", m_sbytes);
	per_machine(f, a, "beemo_machine_status_timestamp_seconds", "Time of "
	    "the machine's status (live while mounted).", m_updated);
	head(f, "beemo_machine_last_push_timestamp_seconds", "Time of the "
	    "last complete push of the appliance, this machine included, to "
	    "the storage center.");
	for (i = 0; i < a->nm; i++)
		for (k = 0; k < a->nt; k++)
			fprintf(f, "beemo_machine_last_push_timestamp_seconds"
			    "{machine=\"%s\",target=\"%s\"} %.17g\n",
			    a->m[i].name, a->t[k].name,
			    secs(a->t[k].last_success));
}

int
cmd_metrics(struct ctl *ctl, int argc, char **argv)
{
	struct ctl_appliance a;
	struct ctl_opts o;
	struct stat st;
	char path[4200], *buf = NULL;
	const char *out;
	size_t len = 0;
	FILE *f;
	int rc;

	if ((rc = ctl_parse(ctl, argc, argv, CTL_O_OUTPUT, 0, 0,
	    metrics_usage, &o)) >= 0)
		return rc;
	out = o.output;
	if (out == NULL && stat(METRICS_DIR, &st) == 0 && S_ISDIR(st.st_mode))
		out = METRICS_DIR "/beemo.prom";
	if (out != NULL && strcmp(out, "-") == 0)
		out = NULL;
	if ((rc = ctl_status_collect(ctl, &a)) != 0)
		return rc;
	if ((f = open_memstream(&buf, &len)) == NULL) {
		ctl_status_free(&a);
		ctl_err(ctl, "out of memory");
		return CTL_FAIL;
	}
	write_metrics(f, &a);
	ctl_status_free(&a);
	if (fclose(f) != 0) {
		free(buf);
		ctl_err(ctl, "out of memory");
		return CTL_FAIL;
	}
	if (out == NULL) {
		rc = fwrite(buf, 1, len, stdout) == len ? 0 : -EIO;
	} else {
		/* Mode 0644: node_exporter does not run as root. */
		snprintf(path, sizeof(path), "%s", out);
		rc = bm_write_file_atomic(path, buf, len, 0644, 0);
	}
	free(buf);
	if (rc != 0) {
		ctl_err(ctl, "%s: %s", out ? out : "standard output",
		    beemo_strerror(rc));
		return CTL_FAIL;
	}
	return CTL_OK;
}
