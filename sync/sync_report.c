/*
 * sync_report.c -- the e-mail reports: the spool, the alert conditions,
 * rate limiting, and delivery (see bm_report.h).
 *
 * Design.  Reports are of two sorts.  An EVENT (a virus found, a backup,
 * restore or deletion that failed, damaged data) is mailed once; the
 * events of one machine that are due in one cycle go out together, in one
 * mail.  The same event key (virus X in file F of machine M) is not mailed
 * again for REPEAT_NS (7 days), so a client that retries an infected file
 * at every backup does not flood anyone.  A CONDITION (a storage center
 * not reached for longer than [mail] unreachable_after; a machine over
 * its soft quota) is mailed once when it is raised and once more, as
 * "RESOLVED", when it clears -- never in between, however often it is
 * evaluated.  A condition that clears before its first mail got out still
 * gets both, in that order (a quota crossing is always told).
 *
 * Where they come from: beemofs and beemoctl spool events and the raise
 * or clear of quota conditions (bm_report_spool); this module evaluates
 * the "unreachable:TARGET" conditions itself, from the contacts of the
 * maintenance run, beemo-sync's state file (last successful push) and the
 * first time it saw the target (for one never reached), and the "space"
 * condition of the store's disk (bm_report_space), which beemofs also
 * spools while it runs.
 *
 * Recipients: [mail] to for everything, plus [machine NAME] mail_to for
 * what concerns machine NAME.  A report without any recipient stays
 * pending (and counted in `beemoctl status`) until one is configured;
 * pending events older than PENDING_MAX_NS are dropped, with a log line.
 *
 * State: STORE/reports/state.sealed (bm_rstate_*, bm_status.h), sealed
 * like the spool (bm_sealed.h: it names files) and replaced atomically after
 * the spool is taken in and after every mail sent, under
 * STORE/reports/lock (held by the maintenance run).  A crash after a
 * mail went out and before the state was saved sends that mail once
 * more; a crash after the state was saved and before the spool files
 * were removed is harmless (events are de-duplicated by key, raise and
 * clear are idempotent).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bm_report.h"
#include "bm_bytes.h"
#include "bm_conf.h"
#include "bm_err.h"
#include "bm_file.h"
#include "bm_json.h"
#include "bm_log.h"
#include "bm_sealed.h"
#include "bm_time.h"
#include "sync_report.h"

#define REPEAT_NS (7ULL * 86400 * 1000000000ULL)
#define PENDING_MAX_NS (30ULL * 86400 * 1000000000ULL)
#define UNREACHABLE_DEFAULT (2 * 3 * 3600) /* two missed cycles, s */
#define SPOOL_MAX 10000 /* spool files taken per run */

/* ---- the state ------------------------------------------------------- */

static char *
dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

void
sync_rstate_free(struct sync_rstate *rs)
{
	if (rs == NULL)
		return;
	bm_rstate_clear(&rs->st);
	OPENSSL_secure_clear_free(rs->key, KEYMGR_SECRET_LEN);
	free(rs);
}

void
sync_rstate_alerts(const struct sync_rstate *rs, char *buf, size_t size)
{
	size_t i, l = 0;

	buf[0] = '\0';
	for (i = 0; i < rs->st.nc && l + 1 < size; i++)
		if (rs->st.c[i].cleared == 0)
			l += (size_t)snprintf(buf + l, size - l, "%s%s",
			    l ? "," : "", rs->st.c[i].kind);
}

uint64_t *
sync_rstate_sigseen(struct sync_rstate *rs)
{
	return &rs->st.sig_seen;
}

void
sync_rstate_run(struct sync_rstate *rs, uint64_t now, const char *result)
{
	rs->st.last_run = now;
	snprintf(rs->st.last_result, sizeof(rs->st.last_result), "%s", result);
}

static struct bm_rstate_cond *
find_cond(struct sync_rstate *rs, const char *key)
{
	size_t i;

	for (i = 0; i < rs->st.nc; i++)
		if (strcmp(rs->st.c[i].key, key) == 0)
			return &rs->st.c[i];
	return NULL;
}

/* An empty state holding the "reports" key of @km. */
static int
rstate_new(keymgr *km, struct sync_rstate **out)
{
	struct sync_rstate *rs;
	int rc;

	if ((rs = calloc(1, sizeof(*rs))) == NULL ||
	    (rs->key = OPENSSL_secure_malloc(KEYMGR_SECRET_LEN)) == NULL) {
		free(rs);
		return -ENOMEM;
	}
	if ((rc = keymgr_appliance_subkey(km, "reports", rs->key)) != 0) {
		sync_log(LOG_ERR, "the key of the reports: %s",
		    keymgr_errmsg(km));
		sync_rstate_free(rs);
		return rc;
	}
	*out = rs;
	return 0;
}

int
sync_rstate_load(const struct sync_ctx *ctx, keymgr *km,
    struct sync_rstate **out)
{
	char path[PATH_MAX], bad[PATH_MAX + 8];
	struct sync_rstate *rs;
	int rc;

	*out = NULL;
	if ((rc = bm_rstate_path(ctx->store, path, sizeof(path))) != 0 ||
	    (rc = rstate_new(km, &rs)) != 0)
		return rc;
	rc = bm_rstate_read(ctx->store, rs->key, &rs->st);
	if (rc == 0 || rc == -ENOENT) {
		*out = rs;
		return 0;
	}
	sync_rstate_free(rs);
	if (rc != BEEMO_EFORMAT && rc != BEEMO_EVERSION && rc != -EBADMSG) {
		sync_log(LOG_ERR, "cannot read %s: %s", path,
		    beemo_strerror(rc));
		return rc;
	}
	/* The alert history is lost, nothing else: conditions are raised
	 * again, events de-duplicated from scratch. */
	snprintf(bad, sizeof(bad), "%s.bad", path);
	(void)rename(path, bad);
	sync_log(LOG_ERR, "%s is damaged (%s): set aside as %s; starting "
	    "with no alert history", path, beemo_strerror(rc), bad);
	return rstate_new(km, out);
}

int
sync_rstate_save(const struct sync_ctx *ctx, struct sync_rstate *rs)
{
	int rc = bm_rstate_write(ctx->store, rs->key, &rs->st);

	if (rc != 0)
		sync_log(LOG_ERR, "cannot write the report state of %s: %s",
		    ctx->store, beemo_strerror(rc));
	return rc;
}

/* ---- conditions ------------------------------------------------------ */

static int
cond_raise(struct sync_rstate *rs, const char *key, const char *kind,
    const char *machine, uint64_t since, uint64_t now, const char *subject,
    const char *text)
{
	struct bm_rstate_cond *c = find_cond(rs, key);

	if (c != NULL) {
		/* Known: no new mail.  One that was clearing is back. */
		c->cleared = 0;
		return 0;
	}
	if ((c = bm_rstate_grow(&rs->st.c, &rs->st.nc, sizeof(*c))) == NULL)
		return -ENOMEM;
	c->key = strdup(key);
	c->kind = strdup(kind);
	c->machine = dup_or_null(machine);
	c->subject = strdup(subject);
	c->text = strdup(text);
	c->since = since;
	c->raised = now;
	if (!c->key || !c->kind || (machine && !c->machine) || !c->subject ||
	    !c->text)
		return -ENOMEM;
	return 0;
}

static int
cond_clear(struct sync_rstate *rs, const char *key, uint64_t now,
    const char *subject, const char *text)
{
	struct bm_rstate_cond *c = find_cond(rs, key);

	if (c == NULL || c->cleared != 0)
		return 0;
	c->cleared = now;
	free(c->rsubject);
	free(c->rtext);
	c->rsubject = strdup(subject);
	c->rtext = strdup(text);
	return c->rsubject && c->rtext ? 0 : -ENOMEM;
}

void
rs_cond_remove(struct sync_rstate *rs, struct bm_rstate_cond *c)
{
	size_t i = (size_t)(c - rs->st.c);

	bm_rstate_cond_free(c);
	memmove(&rs->st.c[i], &rs->st.c[i + 1],
	    (rs->st.nc - i - 1) * sizeof(*c));
	rs->st.nc--;
}

static const char *
duration(char *buf, size_t size, uint64_t ns)
{
	uint64_t s = ns / 1000000000ULL;

	if (s >= 86400)
		snprintf(buf, size, "%llud %lluh", (unsigned long long)(s /
		    86400), (unsigned long long)(s % 86400 / 3600));
	else if (s >= 3600)
		snprintf(buf, size, "%lluh %llum", (unsigned long long)(s /
		    3600), (unsigned long long)(s % 3600 / 60));
	else
		snprintf(buf, size, "%llum %llus", (unsigned long long)(s /
		    60), (unsigned long long)(s % 60));
	return buf;
}

/* The "unreachable:NAME" condition of every configured target. */
static int
evaluate_targets(const struct sync_ctx *ctx, struct sync_rstate *rs,
    const struct sync_contact *c, size_t nc, uint64_t now)
{
	const char *const *names;
	struct bm_sync_state st;
	uint64_t delay = bm_conf_get_u64(ctx->conf, "mail", NULL,
	    "unreachable_after", UNREACHABLE_DEFAULT) * 1000000000ULL;
	size_t n, i, k;
	int rc = 0, have_st;

	have_st = bm_sync_state_load(ctx->statepath, &st) == 0;
	bm_conf_names(ctx->conf, "target", &names, &n);
	for (i = 0; rc == 0 && i < n; i++) {
		struct bm_rstate_target *t = bm_rstate_target(&rs->st,
		    names[i], now);
		char key[96], subject[512], text[2048], d[32], w1[32], w2[32];
		uint64_t ref;

		if (t == NULL)
			return -ENOMEM;
		for (k = 0; k < nc; k++) {
			if (strcmp(c[k].name, t->name) != 0)
				continue;
			t->last_attempt = c[k].time;
			snprintf(t->result, sizeof(t->result), "%s",
			    c[k].result);
			if (c[k].ok && c[k].time > t->last_ok)
				t->last_ok = c[k].time;
		}
		for (k = 0; have_st && k < st.n; k++) {
			const struct bm_sync_tstate *ts = &st.t[k];

			if (strcmp(ts->name, t->name) != 0)
				continue;
			if (ts->last_success_ns > t->last_ok)
				t->last_ok = ts->last_success_ns;
			if (ts->last_attempt_ns > t->last_attempt) {
				t->last_attempt = ts->last_attempt_ns;
				snprintf(t->result, sizeof(t->result),
				    "push: %.240s", ts->result);
			}
		}
		ref = t->last_ok ? t->last_ok : t->first_seen;
		snprintf(key, sizeof(key), "unreachable:%s", t->name);
		if (now > ref && now - ref > delay) {
			snprintf(subject, sizeof(subject), "storage center %s "
			    "not reached for %s", t->name, duration(d,
			    sizeof(d), now - ref));
			snprintf(text, sizeof(text), "The appliance has not "
			    "reached the storage center %s since %s%s.\nLast "
			    "attempt: %s: %s.\nUntil it is reached again, new "
			    "backups exist on the appliance only.\n", t->name,
			    bm_time_str(w1, sizeof(w1), ref), t->last_ok ? "" :
			    " (never reached since then)", t->last_attempt ?
			    bm_time_str(w2, sizeof(w2), t->last_attempt) :
			    "none", *t->result ? t->result : "-");
			rc = cond_raise(rs, key, "unreachable", NULL, ref, now,
			    subject, text);
		} else if (t->last_ok != 0) {
			snprintf(subject, sizeof(subject), "storage center %s "
			    "reached again", t->name);
			snprintf(text, sizeof(text), "The storage center %s "
			    "was reached at %s.\n", t->name, bm_time_str(w1,
			    sizeof(w1), t->last_ok));
			rc = cond_clear(rs, key, now, subject, text);
		}
	}
	/* Targets no longer configured: forget them and their alerts. */
	for (i = rs->st.nt; i-- > 0;) {
		char key[96];
		struct bm_rstate_cond *cd;

		for (k = 0; k < n; k++)
			if (strcmp(names[k], rs->st.t[i].name) == 0)
				break;
		if (k < n)
			continue;
		snprintf(key, sizeof(key), "unreachable:%s", rs->st.t[i].name);
		if ((cd = find_cond(rs, key)) != NULL)
			rs_cond_remove(rs, cd);
		memmove(&rs->st.t[i], &rs->st.t[i + 1], (rs->st.nt - i - 1) *
		    sizeof(rs->st.t[0]));
		rs->st.nt--;
	}
	if (have_st)
		bm_sync_state_free(&st);
	return rc;
}

/* The condition "space" of the store's disk (bm_report_space): also
 * evaluated here, so that it holds while no session is mounted. */
static int
evaluate_space(const struct sync_ctx *ctx, struct sync_rstate *rs,
    uint64_t now)
{
	char subject[256], text[PATH_MAX + 512];
	struct bm_report r;

	if (bm_report_space(ctx->conf, ctx->store, &r, subject,
	    sizeof(subject), text, sizeof(text)) != 0)
		return 0; /* the next run tries again */
	if (r.state == BM_REPORT_RAISE)
		return cond_raise(rs, r.key, r.kind, NULL, now, now, subject,
		    text);
	return cond_clear(rs, r.key, now, subject, text);
}

/* ---- the spool --------------------------------------------------------- */

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
recently_sent(const struct sync_rstate *rs, const char *key, uint64_t now)
{
	size_t i;

	for (i = 0; i < rs->st.ns; i++)
		if (strcmp(rs->st.s[i].key, key) == 0 &&
		    now - rs->st.s[i].time < REPEAT_NS)
			return 1;
	for (i = 0; i < rs->st.ne; i++)
		if (strcmp(rs->st.e[i].key, key) == 0)
			return 1;
	return 0;
}

/* Apply one spool file; BEEMO_EFORMAT or BEEMO_EVERSION when it is not
 * one. */
static int
apply(struct sync_rstate *rs, const char *text, size_t len, uint64_t now)
{
	struct bm_spooled sp;
	const struct bm_report *r = &sp.r;
	const char *body;
	int rc;

	if ((rc = bm_report_parse(text, len, &sp)) != 0)
		return rc;
	body = r->text ? r->text : "";
	switch (r->state) {
	case BM_REPORT_EVENT:
		rc = recently_sent(rs, r->key, now) ? 0 :
		    bm_rstate_add_event(&rs->st, r->key, r->kind, r->machine,
		    r->subject, r->text, sp.time);
		break;
	case BM_REPORT_RAISE:
		rc = cond_raise(rs, r->key, r->kind, r->machine, sp.time, now,
		    r->subject, body);
		break;
	case BM_REPORT_CLEAR:
		rc = cond_clear(rs, r->key, now, r->subject, body);
		break;
	}
	bm_spooled_free(&sp);
	return rc;
}

/*
 * Take the spool into @rs, oldest first.  @taken receives the paths of
 * the files applied, to remove once @rs is saved.  A malformed file is
 * moved to spool/bad/ (logged).
 */
static int
take_spool(const struct sync_ctx *ctx, struct sync_rstate *rs, uint64_t now,
    char ***taken, size_t *ntaken)
{
	char dir[PATH_MAX], path[PATH_MAX + 300], bad[PATH_MAX + 300];
	char **v = NULL, **nv;
	struct dirent *e;
	size_t n = 0, cap = 0, i, k = 0;
	uint8_t *text;
	size_t len;
	DIR *d;
	int rc = 0;

	*taken = NULL;
	*ntaken = 0;
	if ((rc = bm_path(dir, sizeof(dir), "%s/reports/spool", ctx->store)))
		return rc;
	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d)) != NULL && n < SPOOL_MAX) {
		size_t l = strlen(e->d_name);

		/* Whole files only: not the writers' "*.tmp.*". */
		if (l < 8 || strcmp(e->d_name + l - 7, ".sealed") != 0 ||
		    e->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL) {
				rc = -ENOMEM;
				break;
			}
			v = nv;
		}
		if (asprintf(&v[n], "%s/%s", dir, e->d_name) < 0) {
			rc = -ENOMEM;
			break;
		}
		n++;
	}
	closedir(d);
	if (n > 1)
		qsort(v, n, sizeof(*v), name_cmp);
	/* v[0..k) are the files applied, v[k..i) the ones set aside. */
	for (i = 0; rc == 0 && i < n; i++) {
		snprintf(path, sizeof(path), "%s", v[i]);
		rc = bm_sealed_read(path, rs->key, "spool", 1 << 20, &text,
		    &len);
		if (rc == -ENOENT || rc == -EFBIG) {
			rc = 0;
			continue; /* gone meanwhile, or too big */
		}
		if (rc == 0) {
			rc = apply(rs, (const char *)text, len, now);
			OPENSSL_cleanse(text, len);
			free(text);
		}
		if (rc == BEEMO_EFORMAT || rc == BEEMO_EVERSION ||
		    rc == -EBADMSG) {
			snprintf(bad, sizeof(bad), "%s/bad", dir);
			(void)bm_mkdir_p(bad, 0700);
			snprintf(bad, sizeof(bad), "%s/bad/%s", dir,
			    strrchr(path, '/') + 1);
			if (rename(path, bad) == 0)
				sync_log(LOG_ERR, "%s is not a report: moved "
				    "to %s", path, bad);
			rc = 0;
			continue;
		}
		if (rc == 0) {
			char *t = v[k];

			v[k++] = v[i];
			v[i] = t;
		}
	}
	while (n > k)
		free(v[--n]);
	if (rc != 0) {
		while (k > 0)
			free(v[--k]);
		free(v);
		return rc;
	}
	*taken = v;
	*ntaken = k;
	return 0;
}

static void
prune(struct sync_rstate *rs, uint64_t now)
{
	size_t i;

	for (i = rs->st.ns; i-- > 0;) {
		if (now - rs->st.s[i].time < REPEAT_NS)
			continue;
		free(rs->st.s[i].key);
		memmove(&rs->st.s[i], &rs->st.s[i + 1], (rs->st.ns - i - 1) *
		    sizeof(rs->st.s[0]));
		rs->st.ns--;
	}
	for (i = rs->st.ne; i-- > 0;) {
		if (rs->st.e[i].time == 0 ||
		    now - rs->st.e[i].time < PENDING_MAX_NS)
			continue;
		sync_log(LOG_WARNING, "report dropped after 30 days unsent: "
		    "%s", rs->st.e[i].subject);
		bm_rstate_event_free(&rs->st.e[i]);
		memmove(&rs->st.e[i], &rs->st.e[i + 1], (rs->st.ne - i - 1) *
		    sizeof(rs->st.e[0]));
		rs->st.ne--;
	}
}

int
sync_reports_run(const struct sync_ctx *ctx, keymgr *km,
    struct sync_rstate *rs, const struct sync_contact *c, size_t nc,
    struct sync_report_stats *out)
{
	char **taken = NULL;
	size_t ntaken = 0, i;
	uint64_t now = bm_now_ns();
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = take_spool(ctx, rs, now, &taken, &ntaken)) != 0) {
		sync_log(LOG_ERR, "cannot read the report spool: %s",
		    beemo_strerror(rc));
		return rc;
	}
	if ((rc = evaluate_targets(ctx, rs, c, nc, now)) != 0 ||
	    (rc = evaluate_space(ctx, rs, now)) != 0)
		goto out;
	prune(rs, now);
	if ((rc = sync_rstate_save(ctx, rs)) != 0)
		goto out;
	for (i = 0; i < ntaken; i++)
		if (unlink(taken[i]) != 0 && errno != ENOENT)
			sync_log(LOG_WARNING, "cannot remove %s: %s", taken[i],
			    strerror(errno));
	rs_send(ctx, km, rs, out);
	out->pending = (unsigned)rs->st.ne;
	for (i = 0; i < rs->st.nc; i++) {
		out->pending += rs->st.c[i].mailed == 0 ||
		    rs->st.c[i].cleared != 0;
		out->alerts += rs->st.c[i].cleared == 0;
	}
	rc = out->failed ? BEEMO_EREMOTE : 0;
out:
	for (i = 0; i < ntaken; i++)
		free(taken[i]);
	free(taken);
	return rc;
}
