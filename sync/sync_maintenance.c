/*
 * sync_maintenance.c -- `beemo-sync maintenance`: the appliance's
 * maintenance connection, run every three hours right after the push
 * (beemo-sync.timer, beemo-sync.cron).
 *
 * One run, under STORE/reports/lock (a second run exits with status 3):
 *
 *  1. Each storage center gets the appliance's configuration and status:
 *     the sealed configuration, the key files, the store.id files and the
 *     appliance journal (its current segment closed first) -- every
 *     object of a push but the packs, each sent only if missing there --
 *     then a status file status/STAMP.json (counts, quotas, alerts; no
 *     file names).
 *     This needs beemo-sync's lock; while a push holds it, the centers
 *     are being reached by that push and this step is skipped (its result
 *     comes from the sync state file).  A center that cannot be reached
 *     is recorded as such: it is what the "unreachable" alert counts.
 *  2. Signature reload check: when the newest file in [scan] signatures
 *     is newer than at the last run, every running beemofs (found by its
 *     control socket, which gives its pid) gets SIGHUP and reloads at
 *     once instead of at its next periodic check; so does beemo-scand,
 *     the antivirus service, when it listens on [scan] service.
 *  3. Removed machines whose grace period is over are freed
 *     (sync_free_removed), each journaled with the space freed.
 *  4. Reports: the spool, the alert conditions, the mails
 *     (sync_reports_run).
 *  5. The run is recorded in the appliance journal ("maintenance").
 *
 * With --reports-only, only 4 and 5: no network but the mail's, so it
 * may run every few minutes for prompt error reports
 * (beemo-sync-reports.timer).  With --test-mail, none of them: a test
 * message goes to [mail] to through the configured transport, exit
 * status 0 when it was accepted, 1 when not.
 * Exit status: 0, 1 when a center was not reached or a mail failed, 3
 * when another maintenance run holds the lock.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "bm_alog.h"
#include "bm_bytes.h"
#include "bm_conf.h"
#include "bm_err.h"
#include "bm_file.h"
#include "bm_json.h"
#include "bm_log.h"
#include "bm_time.h"
#include "control.h"
#include "sync.h"

static const char maintenance_usage[] =
    "usage: beemo-sync [-c FILE] [--store DIR] maintenance "
    "[--reports-only | --test-mail] [--json]\n";

/* The rest of --help: what the verb does and each option. */
static const char maintenance_help[] =
    "\n"
    "Free removed machines after their grace period, send the status to the\n"
    "targets, then the e-mail reports and alerts.\n"
    "\n"
    "  -r, --reports-only  only the reports and alerts (no connection but the\n"
    "                      mail command's or the SMTP server's)\n"
    "      --test-mail     mail a test message to [mail] to now, through the\n"
    "                      configured transport, and say whether it worked\n"
    "                      (exit 0: accepted, 1: not)\n"
    "      --json          one JSON object \"beemo-sync-maintenance\"\n"
    "  -h, --help          this help\n";

/* ---- the status file for the centers -------------------------------- */

/* The status of the appliance: its machines' last known counts and
 * quotas (from their status files), the targets' last pushes, the
 * alerts.  No file name. */
static int
status_object(const struct sync_ctx *ctx, keymgr *km,
    const struct bm_sync_state *st, const char *alerts, uint64_t now,
    struct sync_objs *objs)
{
	char stamp[SYNC_STAMP_LEN], *buf = NULL, *name = NULL, **names = NULL;
	uint8_t id[KEYMGR_ID_LEN];
	struct bm_appstatus s;
	size_t len = 0, n = 0, i;
	int rc;

	if ((rc = sync_stamp(stamp, now)) != 0)
		return rc;
	memset(&s, 0, sizeof(s));
	s.kind = BM_APPSTATUS_MAINTENANCE;
	keymgr_appliance_id(km, id);
	bm_hex(s.appliance, id, sizeof(id));
	s.time = now;
	bm_status_copy(s.beemo, sizeof(s.beemo), BEEMO_VERSION);
	bm_status_copy(s.alerts, sizeof(s.alerts), alerts);
	rc = -ENOMEM;
	(void)keymgr_machine_list(km, &names, &n);
	for (i = 0; i < n; i++) {
		struct bm_appstatus_machine *m;
		struct bm_mstatus ms;

		if ((m = bm_appstatus_add_machine(&s, names[i])) == NULL)
			goto fail;
		if (bm_mstatus_read(ctx->store, names[i], &ms) != 0)
			continue;
		m->known = 1;
		m->updated = ms.updated;
		m->files = ms.files;
		m->bytes = ms.bytes;
		m->stored = ms.stored;
		m->snapshots = ms.snapshots;
		m->last_snapshot = ms.last_snapshot;
		m->quota_soft = ms.quota_soft;
		m->quota_hard = ms.quota_hard;
	}
	for (i = 0; i < st->n; i++) {
		struct bm_appstatus_target *t;

		if ((t = bm_appstatus_add_target(&s, st->t[i].name)) == NULL)
			goto fail;
		t->last_success = st->t[i].last_success_ns;
		t->ok = strcmp(st->t[i].result, "ok") == 0;
	}
	if ((rc = bm_appstatus_json(&s, &buf, &len)) != 0)
		goto fail;
	if (asprintf(&name, "status/%s.json", stamp) < 0)
		name = NULL;
	rc = sync_objs_add(objs, name, NULL, (uint8_t *)buf, len,
	    SYNC_STATUS);
fail:
	keymgr_names_free(names, n);
	bm_appstatus_free(&s);
	return rc;
}

/* ---- step 1: the centers -------------------------------------------- */

/* Send every object of @objs that @c lacks, then the status (last). */
static int
contact_one(const struct sync_ctx *ctx, const char *name,
    struct sync_objs *objs, char *result, size_t rsize, unsigned *sent)
{
	struct sync_target t;
	sync_conn *c = NULL;
	size_t i;
	int rc;

	*sent = 0;
	if ((rc = sync_target_load(ctx, name, 0, &t)) != 0)
		goto out;
	if ((rc = sync_conn_open(&t, 1, &c)) != 0)
		goto out;
	for (i = 0; i < objs->n && rc == 0; i++) {
		struct sync_obj *o = &objs->v[i];
		struct sync_src src = {o->data, -1, o->size};
		uint64_t size;

		if (o->kind != SYNC_STATUS &&
		    sync_remote_stat(c, o->path, &size) == 0 &&
		    size == o->size)
			continue;
		if ((rc = sync_remote_put(c, o->path, &src, NULL, NULL)) == 0)
			(*sent)++;
	}
out:
	snprintf(result, rsize, "%s", rc == 0 ? "ok" : beemo_strerror(rc));
	sync_conn_close(c);
	sync_target_clear(&t);
	return rc;
}

/* Non-blocking: is beemo-sync's lock free?  (A running push reaches
 * the centers already; sync_lock_take() would log it as an error.) */
static int
sync_lock_free(const struct sync_ctx *ctx)
{
	int fd = open(ctx->lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	int busy;

	if (fd < 0)
		return 1; /* sync_lock_take() will say why */
	busy = flock(fd, LOCK_EX | LOCK_NB) != 0;
	close(fd);
	return !busy;
}

/* Every object of a push but the packs, and the status, into @small. */
static int
small_objects(const struct sync_ctx *ctx, keymgr *km, const char *alerts,
    struct sync_objs *small)
{
	struct bm_sync_state st;
	struct sync_objs all;
	size_t i;
	int rc;

	memset(small, 0, sizeof(*small));
	if ((rc = bm_sync_state_load(ctx->statepath, &st)) != 0)
		return rc;
	/* What the journal holds so far goes off-site now. */
	if ((rc = bm_alog_rotate(ctx->store)) != 0)
		sync_log(LOG_WARNING, "cannot close the current segment of the "
		    "appliance journal: %s", beemo_strerror(rc));
	if ((rc = sync_local_scan(ctx, km, &st, &all)) != 0)
		goto out_state;
	for (i = 0; i < all.n && rc == 0; i++) {
		struct sync_obj *o = &all.v[i];

		if (o->kind == SYNC_PACK)
			continue;
		rc = sync_objs_add(small, o->path, NULL, o->data, o->size,
		    o->kind);
		o->path = NULL; /* owned by @small now */
		o->data = NULL;
	}
	sync_objs_free(&all);
	/* The sealed configuration may have been renewed. */
	if (rc == 0)
		(void)bm_sync_state_save(ctx->statepath, &st);
	if (rc == 0)
		rc = status_object(ctx, km, &st, alerts, bm_now_ns(), small);
	if (rc != 0)
		sync_objs_free(small);
out_state:
	bm_sync_state_free(&st);
	return rc;
}

/*
 * Step 1.  @cv receives one contact per target (@nc of them; none while
 * a push holds the lock), @summary one line.  Returns the number of
 * targets that were not reached.
 */
static int
contact_all(const struct sync_ctx *ctx, keymgr *km, const char *alerts,
    struct sync_contact **cv, size_t *nc, char *summary, size_t ssize)
{
	const char *const *view;
	char (*names)[65] = NULL;
	struct sync_objs small;
	size_t n, i;
	int lockfd = -1, rc, failed;

	*cv = NULL;
	*nc = 0;
	bm_conf_names(ctx->conf, "target", &view, &n);
	if (n == 0) {
		snprintf(summary, ssize, "no storage center configured");
		return 0;
	}
	failed = (int)n;
	if (!sync_lock_free(ctx)) {
		snprintf(summary, ssize, "centers not contacted: a push is "
		    "running");
		return 0;
	}
	/* Copied: sync_target_load() reuses bm_conf_names()' array. */
	if ((names = calloc(n, sizeof(*names))) == NULL ||
	    (*cv = calloc(n, sizeof(**cv))) == NULL) {
		snprintf(summary, ssize, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++)
		snprintf(names[i], sizeof(names[i]), "%s", view[i]);
	if ((rc = bm_mkdir_p(ctx->syncdir, 0700)) != 0 ||
	    (rc = sync_lock_take(ctx->lockpath, &lockfd)) != 0) {
		snprintf(summary, ssize, "centers not contacted: %s",
		    beemo_strerror(rc));
		failed = rc == BEEMO_ELOCKED ? 0 : failed;
		goto out;
	}
	rc = small_objects(ctx, km, alerts, &small);
	sync_lock_release(lockfd);
	failed = 0;
	summary[0] = '\0';
	for (i = 0; i < n; i++) {
		struct sync_contact *c = &(*cv)[i];
		unsigned sent = 0;
		size_t l = strlen(summary);

		snprintf(c->name, sizeof(c->name), "%s", names[i]);
		c->time = bm_now_ns();
		if (rc == 0)
			c->ok = contact_one(ctx, names[i], &small, c->result,
			    sizeof(c->result), &sent) == 0;
		else
			snprintf(c->result, sizeof(c->result), "%s",
			    beemo_strerror(rc));
		failed += !c->ok;
		snprintf(summary + l, ssize - l, "%s%s %s", l ? ", " : "",
		    names[i], c->ok ? "reached" : c->result);
		if (c->ok)
			sync_log(LOG_INFO, "%s: configuration and status sent "
			    "(%u objects)", names[i], sent);
		else
			sync_log(LOG_ERR, "storage center %s not reached: %s",
			    names[i], c->result);
	}
	*nc = n;
	if (rc == 0)
		sync_objs_free(&small);
out:
	free(names);
	return failed;
}

/* ---- step 2: signatures ---------------------------------------------- */

static uint64_t
newest_signature(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *e;
	struct stat st;
	uint64_t newest = 0, t;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || bm_path(path, sizeof(path),
		    "%s/%s", dir, e->d_name) != 0 || stat(path, &st) != 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		t = (uint64_t)st.st_mtim.tv_sec * 1000000000ULL +
		    (uint64_t)st.st_mtim.tv_nsec;
		if (t > newest)
			newest = t;
	}
	closedir(d);
	return newest;
}

/* SIGHUP to the antivirus service, beemo-scand, when it listens on
 * [scan] service: the sessions that use it load no signatures of their
 * own.  Its pid is the listener's (SO_PEERCRED); returns 1 if signalled. */
static unsigned
signal_scand(const struct sync_ctx *ctx)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	const char *path = bm_conf_get(ctx->conf, "scan", NULL, "service",
	    "/run/beemo/scand.sock");
	struct ucred uc;
	socklen_t len = sizeof(uc);
	unsigned n = 0;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path) ||
	    (fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return 0;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) == 0 &&
	    uc.pid > 1 && (uc.uid == 0 || uc.uid == geteuid()) &&
	    kill(uc.pid, SIGHUP) == 0) {
		sync_log(LOG_INFO, "signatures changed: beemo-scand (pid %ld) "
		    "reloads them", (long)uc.pid);
		n = 1;
	}
	close(fd);
	return n;
}

/* SIGHUP to every beemofs that answers on a control socket; returns how
 * many. */
static unsigned
signal_daemons(const struct sync_ctx *ctx)
{
	char dir[PATH_MAX];
	struct dirent *e;
	unsigned n = 0;
	int rc;
	DIR *d;

	if (bm_path(dir, sizeof(dir), "%s/machines", ctx->store) != 0 ||
	    (d = opendir(dir)) == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		struct control_client c;
		struct sjson *o = NULL;
		char *stats = NULL;
		uint64_t pid = 0;

		rc = !bm_valid_name(e->d_name) || control_client_init(&c,
		    ctx->store, e->d_name, 5000) != 0 || control_stats(&c,
		    &stats) != 0 || sjson_parse(stats, strlen(stats), &o) != 0;
		free(stats);
		if (rc)
			continue;
		if (sjson_u64(o, "pid", &pid) == 0 && pid > 1 &&
		    kill((pid_t)pid, SIGHUP) == 0) {
			sync_log(LOG_INFO, "signatures changed: beemofs of %s "
			    "(pid %llu) reloads them", e->d_name,
			    (unsigned long long)pid);
			n++;
		}
		sjson_free(o);
	}
	closedir(d);
	return n;
}

/* ---- --test-mail ------------------------------------------------------ */

/* A test message now; no store, lock or journal needed.  With @json,
 * one object "beemo-sync-test-mail" (beemo-sync(8), JSON OUTPUT). */
static int
test_mail(const struct sync_ctx *ctx, int json)
{
	char how[1024], err[600];
	int rc = sync_mail_test(ctx, how, sizeof(how), err, sizeof(err));

	if (rc != 0)
		sync_log(LOG_ERR, "test mail not sent through %s: %s", how,
		    err);
	if (json) {
		bm_json j;

		bm_json_init(&j, stdout);
		bm_json_head(&j, "beemo-sync-test-mail", 1);
		bm_json_bool(&j, "sent", rc == 0);
		bm_json_str(&j, "via", how);
		if (rc != 0)
			bm_json_str(&j, "error", err);
		else
			bm_json_null(&j, "error");
		bm_json_end_obj(&j);
	} else if (rc == 0) {
		printf("test mail sent through %s\n", how);
	}
	return rc != 0 ? SYNC_EXIT_FAIL : SYNC_EXIT_OK;
}

/* ---- the verb -------------------------------------------------------- */

int
sync_cmd_maintenance(struct sync_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"reports-only", no_argument, NULL, 'r'},
		{"test-mail", no_argument, NULL, 't'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct sync_rstate *rs = NULL;
	struct sync_contact *cv = NULL;
	struct sync_report_stats rep;
	char dir[PATH_MAX], lockp[PATH_MAX], keydir[PATH_MAX];
	char centers[2048] = "not contacted (--reports-only)", alerts[512];
	char sigs[256] = "", result[256];
	keymgr *km = NULL;
	size_t nc = 0;
	int c, rc, lockfd = -1, only = 0, failed = 0, mailrc, test = 0;
	int json = ctx->json;
	int ret = SYNC_EXIT_FAIL;

	while ((c = getopt_long(argc, argv, "rh", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			only = 1;
			break;
		case 't':
			test = 1;
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			fputs(maintenance_usage, stdout);
			fputs(maintenance_help, stdout);
			return SYNC_EXIT_OK;
		default:
			fputs(maintenance_usage, stderr);
			return SYNC_EXIT_USAGE;
		}
	}
	if (optind != argc || (test && only)) {
		fputs(maintenance_usage, stderr);
		return SYNC_EXIT_USAGE;
	}
	if (test)
		return test_mail(ctx, json);
	if ((rc = bm_path(dir, sizeof(dir), "%s/reports", ctx->store)) ||
	    (rc = bm_path(lockp, sizeof(lockp), "%s/lock", dir)) ||
	    (rc = bm_path(keydir, sizeof(keydir), "%s/keys", ctx->store)) ||
	    (rc = bm_mkdir_p(dir, 0700)) != 0) {
		sync_log(LOG_ERR, "%s: %s", dir, beemo_strerror(rc));
		return SYNC_EXIT_FAIL;
	}
	if ((rc = keymgr_open(keydir, &km)) != 0) {
		sync_log(LOG_ERR, "%s: %s", keydir, rc == BEEMO_ENOSTORE ?
		    "no appliance here (run 'beemoctl init' first, or give "
		    "--store)" : beemo_strerror(rc));
		return SYNC_EXIT_FAIL;
	}
	if ((lockfd = open(lockp, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0 ||
	    flock(lockfd, LOCK_EX | LOCK_NB) != 0) {
		rc = errno;
		sync_log(LOG_ERR, "%s: %s", lockp, rc == EWOULDBLOCK ?
		    "another maintenance run holds it" : strerror(rc));
		ret = rc == EWOULDBLOCK ? BM_EXIT_BUSY : SYNC_EXIT_FAIL;
		goto out;
	}
	sync_run_begin(ctx, "maintenance");
	sync_run_note(NULL, 1);
	if ((rc = sync_rstate_load(ctx, km, &rs)) != 0)
		goto out;
	if (!only) {
		sync_rstate_alerts(rs, alerts, sizeof(alerts));
		failed = contact_all(ctx, km, alerts, &cv, &nc, centers,
		    sizeof(centers));
		if (bm_conf_get_bool(ctx->conf, "scan", NULL, "enabled", 1)) {
			uint64_t t = newest_signature(bm_conf_get(ctx->conf,
			    "scan", NULL, "signatures", "/var/lib/clamav"));
			uint64_t *seen = sync_rstate_sigseen(rs);

			/* The first run only learns the date: daemons
			 * loaded what there is when they started. */
			if (t > *seen && *seen != 0) {
				unsigned n = signal_daemons(ctx) +
				    signal_scand(ctx);

				snprintf(sigs, sizeof(sigs), "; signatures "
				    "changed: %u daemon%s reloading", n,
				    n == 1 ? "" : "s");
			}
			if (t > *seen)
				*seen = t;
		}
	}
	if (!only) {
		unsigned nfreed;
		uint64_t fb;
		size_t l = strlen(sigs);

		if (sync_free_removed(ctx, km, bm_now_ns(), &nfreed, &fb) != 0)
			failed = 1;
		if (nfreed > 0)
			snprintf(sigs + l, sizeof(sigs) - l, "; %u removed "
			    "machine%s freed (%llu bytes)", nfreed,
			    nfreed == 1 ? "" : "s", (unsigned long long)fb);
	}
	mailrc = sync_reports_run(ctx, km, rs, cv, nc, &rep);
	snprintf(result, sizeof(result), "%s", failed ? "center not reached" :
	    mailrc ? "a report could not be mailed" : "ok");
	sync_rstate_run(rs, bm_now_ns(), result);
	(void)sync_rstate_save(ctx, rs);
	(void)sync_alog(ctx, km, "maintenance", "maintenance: %s%s; "
	    "reports: %u sent, %u failed, %u pending, %u open alerts",
	    centers, sigs, rep.sent, rep.failed, rep.pending, rep.alerts);
	if (json) {
		bm_json j;

		bm_json_init(&j, stdout);
		bm_json_head(&j, "beemo-sync-maintenance", 1);
		bm_json_str(&j, "result", result);
		bm_json_bool(&j, "reports_only", only);
		bm_json_str(&j, "centers", centers);
		bm_json_str(&j, "signatures", sigs);
		bm_json_begin_obj(&j, "reports");
		bm_json_u64(&j, "sent", rep.sent);
		bm_json_u64(&j, "failed", rep.failed);
		bm_json_u64(&j, "pending", rep.pending);
		bm_json_end_obj(&j);
		bm_json_u64(&j, "open_alerts", rep.alerts);
		bm_json_end_obj(&j);
	} else if (!ctx->quiet) {
		printf("maintenance: %s%s; reports: %u sent, %u failed, %u "
		    "pending; %u open alerts\n", centers, sigs, rep.sent,
		    rep.failed, rep.pending, rep.alerts);
	}
	ret = failed || mailrc ? SYNC_EXIT_FAIL : SYNC_EXIT_OK;
out:
	sync_run_end();
	sync_rstate_free(rs);
	free(cv);
	if (lockfd >= 0)
		close(lockfd);
	keymgr_free(km);
	return ret;
}
