/*
 * sync_report.c -- the e-mail reports: the spool, the alert conditions,
 * rate limiting, and delivery (see bm.h, "reports").
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
 * first time it saw the target (for one never reached).
 *
 * Recipients: [mail] to for everything, plus [machine NAME] mail_to for
 * what concerns machine NAME.  A report without any recipient stays
 * pending (and counted in `beemoctl status`) until one is configured;
 * pending events older than PENDING_MAX_NS are dropped, with a log line.
 *
 * State: STORE/reports/state.sealed, sealed like the spool (bm.h: it
 * names files) and replaced atomically after the spool is
 * taken in and after every mail sent, under STORE/reports/lock (held by
 * the maintenance run).  A crash after a mail went out and before the
 * state was saved sends that mail once more; a crash after the state was
 * saved and before the spool files were removed is harmless (events are
 * de-duplicated by key, raise and clear are idempotent).  Plaintext:
 *
 *   {"format": "beemo-report-state", "version": 1,
 *    "last_run_ns": <ns>, "last_result": "...", "signatures_seen_ns": <ns>,
 *    "conditions": [{"key", "kind", "machine", "subject", "text",
 *       "resolved_subject", "resolved_text", "since_ns", "raised_ns",
 *       "mailed_ns", "cleared_ns"}, ...],
 *    "pending": [{"key", "kind", "machine", "subject", "text",
 *       "time_ns"}, ...],
 *    "sent": [{"key", "time_ns"}, ...],
 *    "targets": [{"name", "first_seen_ns", "last_ok_ns",
 *       "last_attempt_ns", "result"}, ...]}
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sync_report.h"

#define REPORT_STATE_FORMAT "beemo-report-state"
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

static void
cond_free(struct rcond *c)
{
	free(c->key);
	free(c->kind);
	free(c->machine);
	free(c->subject);
	free(c->text);
	free(c->rsubject);
	free(c->rtext);
}

void
rs_event_free(struct revent *e)
{
	free(e->key);
	free(e->kind);
	free(e->machine);
	free(e->subject);
	free(e->text);
}

void
sync_rstate_free(struct sync_rstate *rs)
{
	size_t i;

	if (rs == NULL)
		return;
	for (i = 0; i < rs->nc; i++)
		cond_free(&rs->c[i]);
	for (i = 0; i < rs->ne; i++)
		rs_event_free(&rs->e[i]);
	for (i = 0; i < rs->ns; i++)
		free(rs->s[i].key);
	free(rs->c);
	free(rs->e);
	free(rs->s);
	free(rs->t);
	OPENSSL_secure_clear_free(rs->key, KEYMGR_SECRET_LEN);
	free(rs);
}

void
sync_rstate_alerts(const struct sync_rstate *rs, char *buf, size_t size)
{
	size_t i, l = 0;

	buf[0] = '\0';
	for (i = 0; i < rs->nc && l + 1 < size; i++)
		if (rs->c[i].cleared == 0)
			l += (size_t)snprintf(buf + l, size - l, "%s%s",
			    l ? "," : "", rs->c[i].kind);
}

uint64_t *
sync_rstate_sigseen(struct sync_rstate *rs)
{
	return &rs->sig_seen;
}

void
sync_rstate_run(struct sync_rstate *rs, uint64_t now, const char *result)
{
	rs->last_run = now;
	snprintf(rs->last_result, sizeof(rs->last_result), "%s", result);
}

/* Grow array *@v of *@n elements of @size by one zeroed element. */
void *
rs_grow(void *vp, size_t *n, size_t size)
{
	void **v = vp;
	char *nv = realloc(*v, (*n + 1) * size);

	if (nv == NULL)
		return NULL;
	*v = nv;
	memset(nv + *n * size, 0, size);
	return nv + (*n)++ * size;
}

static int
add_event(struct sync_rstate *rs, const char *key, const char *kind,
    const char *machine, const char *subject, const char *text,
    uint64_t time)
{
	struct revent *e = rs_grow(&rs->e, &rs->ne, sizeof(*e));

	if (e == NULL)
		return -ENOMEM;
	e->key = strdup(key);
	e->kind = strdup(kind);
	e->machine = dup_or_null(machine);
	e->subject = strdup(subject);
	e->text = strdup(text ? text : "");
	e->time = time;
	if (!e->key || !e->kind || (machine && !e->machine) || !e->subject ||
	    !e->text)
		return -ENOMEM;
	return 0;
}

static struct rcond *
find_cond(struct sync_rstate *rs, const char *key)
{
	size_t i;

	for (i = 0; i < rs->nc; i++)
		if (strcmp(rs->c[i].key, key) == 0)
			return &rs->c[i];
	return NULL;
}

static struct rtarget *
find_target(struct sync_rstate *rs, const char *name, uint64_t now)
{
	struct rtarget *t;
	size_t i;

	for (i = 0; i < rs->nt; i++)
		if (strcmp(rs->t[i].name, name) == 0)
			return &rs->t[i];
	if (strlen(name) >= sizeof(t->name) ||
	    (t = rs_grow(&rs->t, &rs->nt, sizeof(*t))) == NULL)
		return NULL;
	strcpy(t->name, name);
	t->first_seen = now;
	return t;
}

static int
load_from(struct sync_rstate *rs, const struct sjson *root)
{
	const struct sjson *a;
	const char *f = sjson_str(root, "format");
	size_t i;
	uint64_t ver = 0;

	if (f == NULL || strcmp(f, REPORT_STATE_FORMAT) != 0 ||
	    sjson_u64(root, "version", &ver) != 0)
		return BEEMO_EFORMAT;
	if (ver != 1)
		return BEEMO_EVERSION;
	rs->last_run = sjson_num(root, "last_run_ns");
	rs->sig_seen = sjson_num(root, "signatures_seen_ns");
	snprintf(rs->last_result, sizeof(rs->last_result), "%s",
	    sjson_str(root, "last_result") ? sjson_str(root, "last_result") :
	    "");
	a = sjson_get(root, "conditions", SJSON_ARR);
	for (i = 0; a != NULL && i < a->nkids; i++) {
		const struct sjson *o = &a->kids[i];
		struct rcond *c;

		if (sjson_str(o, "key") == NULL || sjson_str(o, "kind") == NULL)
			return BEEMO_EFORMAT;
		if ((c = rs_grow(&rs->c, &rs->nc, sizeof(*c))) == NULL)
			return -ENOMEM;
		c->key = strdup(sjson_str(o, "key"));
		c->kind = strdup(sjson_str(o, "kind"));
		c->machine = dup_or_null(sjson_str(o, "machine"));
		c->subject = dup_or_null(sjson_str(o, "subject"));
		c->text = dup_or_null(sjson_str(o, "text"));
		c->rsubject = dup_or_null(sjson_str(o, "resolved_subject"));
		c->rtext = dup_or_null(sjson_str(o, "resolved_text"));
		c->since = sjson_num(o, "since_ns");
		c->raised = sjson_num(o, "raised_ns");
		c->mailed = sjson_num(o, "mailed_ns");
		c->cleared = sjson_num(o, "cleared_ns");
		if (c->key == NULL || c->kind == NULL)
			return -ENOMEM;
	}
	a = sjson_get(root, "pending", SJSON_ARR);
	for (i = 0; a != NULL && i < a->nkids; i++) {
		const struct sjson *o = &a->kids[i];
		int rc;

		if (!sjson_str(o, "key") || !sjson_str(o, "kind") ||
		    !sjson_str(o, "subject"))
			return BEEMO_EFORMAT;
		if ((rc = add_event(rs, sjson_str(o, "key"), sjson_str(o,
		    "kind"), sjson_str(o, "machine"), sjson_str(o, "subject"),
		    sjson_str(o, "text"), sjson_num(o, "time_ns"))) != 0)
			return rc;
	}
	a = sjson_get(root, "sent", SJSON_ARR);
	for (i = 0; a != NULL && i < a->nkids; i++) {
		struct rsent *s;

		if (sjson_str(&a->kids[i], "key") == NULL)
			return BEEMO_EFORMAT;
		if ((s = rs_grow(&rs->s, &rs->ns, sizeof(*s))) == NULL ||
		    (s->key = strdup(sjson_str(&a->kids[i], "key"))) == NULL)
			return -ENOMEM;
		s->time = sjson_num(&a->kids[i], "time_ns");
	}
	a = sjson_get(root, "targets", SJSON_ARR);
	for (i = 0; a != NULL && i < a->nkids; i++) {
		const struct sjson *o = &a->kids[i];
		const char *name = sjson_str(o, "name");
		struct rtarget *t;

		if (name == NULL || !bm_valid_name(name))
			return BEEMO_EFORMAT;
		if ((t = find_target(rs, name, 0)) == NULL)
			return -ENOMEM;
		t->first_seen = sjson_num(o, "first_seen_ns");
		t->last_ok = sjson_num(o, "last_ok_ns");
		t->last_attempt = sjson_num(o, "last_attempt_ns");
		snprintf(t->result, sizeof(t->result), "%s",
		    sjson_str(o, "result") ? sjson_str(o, "result") : "");
	}
	return 0;
}

static int
state_path(const struct sync_ctx *ctx, char *buf, size_t size)
{
	return bm_path(buf, size, "%s/reports/state.sealed", ctx->store);
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
	struct sjson *root = NULL;
	uint8_t *text = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	if ((rc = state_path(ctx, path, sizeof(path))) != 0 ||
	    (rc = rstate_new(km, &rs)) != 0)
		return rc;
	rc = bm_sealed_read(path, rs->key, "report-state", 64 << 20, &text,
	    &len);
	if (rc == -ENOENT) {
		*out = rs;
		return 0;
	}
	if (rc == 0 && (rc = sjson_parse((const char *)text, len,
	    &root)) == 0)
		rc = load_from(rs, root);
	sjson_free(root);
	if (text != NULL)
		OPENSSL_cleanse(text, len);
	free(text);
	if (rc == 0) {
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
	char path[PATH_MAX], *buf = NULL;
	size_t len = 0, i;
	bm_json j;
	FILE *f;
	int rc;

	if ((rc = state_path(ctx, path, sizeof(path))) != 0)
		return rc;
	if ((f = open_memstream(&buf, &len)) == NULL)
		return -ENOMEM;
	bm_json_init(&j, f);
	bm_json_begin_obj(&j, NULL);
	bm_json_str(&j, "format", REPORT_STATE_FORMAT);
	bm_json_u64(&j, "version", 1);
	bm_json_time(&j, "last_run", rs->last_run);
	bm_json_u64(&j, "last_run_ns", rs->last_run);
	bm_json_str(&j, "last_result", rs->last_result);
	bm_json_u64(&j, "signatures_seen_ns", rs->sig_seen);
	bm_json_begin_arr(&j, "conditions");
	for (i = 0; i < rs->nc; i++) {
		const struct rcond *c = &rs->c[i];

		bm_json_begin_obj(&j, NULL);
		bm_json_str(&j, "key", c->key);
		bm_json_str(&j, "kind", c->kind);
		bm_json_str(&j, "machine", c->machine);
		bm_json_str(&j, "subject", c->subject);
		bm_json_str(&j, "text", c->text);
		bm_json_str(&j, "resolved_subject", c->rsubject);
		bm_json_str(&j, "resolved_text", c->rtext);
		bm_json_u64(&j, "since_ns", c->since);
		bm_json_u64(&j, "raised_ns", c->raised);
		bm_json_u64(&j, "mailed_ns", c->mailed);
		bm_json_u64(&j, "cleared_ns", c->cleared);
		bm_json_end_obj(&j);
	}
	bm_json_end_arr(&j);
	bm_json_begin_arr(&j, "pending");
	for (i = 0; i < rs->ne; i++) {
		const struct revent *e = &rs->e[i];

		bm_json_begin_obj(&j, NULL);
		bm_json_str(&j, "key", e->key);
		bm_json_str(&j, "kind", e->kind);
		bm_json_str(&j, "machine", e->machine);
		bm_json_str(&j, "subject", e->subject);
		bm_json_str(&j, "text", e->text);
		bm_json_u64(&j, "time_ns", e->time);
		bm_json_end_obj(&j);
	}
	bm_json_end_arr(&j);
	bm_json_begin_arr(&j, "sent");
	for (i = 0; i < rs->ns; i++) {
		bm_json_begin_obj(&j, NULL);
		bm_json_str(&j, "key", rs->s[i].key);
		bm_json_u64(&j, "time_ns", rs->s[i].time);
		bm_json_end_obj(&j);
	}
	bm_json_end_arr(&j);
	bm_json_begin_arr(&j, "targets");
	for (i = 0; i < rs->nt; i++) {
		const struct rtarget *t = &rs->t[i];

		bm_json_begin_obj(&j, NULL);
		bm_json_str(&j, "name", t->name);
		bm_json_u64(&j, "first_seen_ns", t->first_seen);
		bm_json_u64(&j, "last_ok_ns", t->last_ok);
		bm_json_u64(&j, "last_attempt_ns", t->last_attempt);
		bm_json_str(&j, "result", t->result);
		bm_json_end_obj(&j);
	}
	bm_json_end_arr(&j);
	bm_json_end_obj(&j);
	if (fclose(f) != 0) {
		free(buf);
		return -ENOMEM;
	}
	rc = bm_sealed_write(path, rs->key, "report-state", buf, len, 0);
	OPENSSL_cleanse(buf, len);
	free(buf);
	if (rc != 0)
		sync_log(LOG_ERR, "cannot write %s: %s", path,
		    beemo_strerror(rc));
	return rc;
}

/* ---- conditions ------------------------------------------------------ */

static int
cond_raise(struct sync_rstate *rs, const char *key, const char *kind,
    const char *machine, uint64_t since, uint64_t now, const char *subject,
    const char *text)
{
	struct rcond *c = find_cond(rs, key);

	if (c != NULL) {
		/* Known: no new mail.  One that was clearing is back. */
		c->cleared = 0;
		return 0;
	}
	if ((c = rs_grow(&rs->c, &rs->nc, sizeof(*c))) == NULL)
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
	struct rcond *c = find_cond(rs, key);

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
rs_cond_remove(struct sync_rstate *rs, struct rcond *c)
{
	size_t i = (size_t)(c - rs->c);

	cond_free(c);
	memmove(&rs->c[i], &rs->c[i + 1], (rs->nc - i - 1) * sizeof(*c));
	rs->nc--;
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
		struct rtarget *t = find_target(rs, names[i], now);
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
	for (i = rs->nt; i-- > 0;) {
		char key[96];
		struct rcond *cd;

		for (k = 0; k < n; k++)
			if (strcmp(names[k], rs->t[i].name) == 0)
				break;
		if (k < n)
			continue;
		snprintf(key, sizeof(key), "unreachable:%s", rs->t[i].name);
		if ((cd = find_cond(rs, key)) != NULL)
			rs_cond_remove(rs, cd);
		memmove(&rs->t[i], &rs->t[i + 1], (rs->nt - i - 1) *
		    sizeof(rs->t[0]));
		rs->nt--;
	}
	if (have_st)
		bm_sync_state_free(&st);
	return rc;
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

	for (i = 0; i < rs->ns; i++)
		if (strcmp(rs->s[i].key, key) == 0 &&
		    now - rs->s[i].time < REPEAT_NS)
			return 1;
	for (i = 0; i < rs->ne; i++)
		if (strcmp(rs->e[i].key, key) == 0)
			return 1;
	return 0;
}

/* Apply one spool file; BEEMO_EFORMAT when it is not one. */
static int
apply(struct sync_rstate *rs, const char *text, size_t len, uint64_t now)
{
	struct sjson *o = NULL;
	const char *f, *kind, *key, *state, *subject, *machine, *body;
	uint64_t t, ver = 0;
	int rc;

	if ((rc = sjson_parse(text, len, &o)) != 0)
		return rc;
	f = sjson_str(o, "format");
	kind = sjson_str(o, "kind");
	key = sjson_str(o, "key");
	state = sjson_str(o, "state");
	subject = sjson_str(o, "subject");
	machine = sjson_str(o, "machine");
	body = sjson_str(o, "text");
	t = sjson_num(o, "time_ns");
	rc = BEEMO_EFORMAT;
	if (f == NULL || strcmp(f, "beemo-report") || sjson_u64(o, "version",
	    &ver) || ver != 1 || !kind || !key || !state || !subject ||
	    (machine && !bm_valid_name(machine)))
		goto out;
	if (!strcmp(state, "event"))
		rc = recently_sent(rs, key, now) ? 0 : add_event(rs, key, kind,
		    machine, subject, body, t);
	else if (!strcmp(state, "raise"))
		rc = cond_raise(rs, key, kind, machine, t, now, subject,
		    body ? body : "");
	else if (!strcmp(state, "clear"))
		rc = cond_clear(rs, key, now, subject, body ? body : "");
out:
	sjson_free(o);
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

		/* Whole files only: not the writers' "*.tmp.PID". */
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

	for (i = rs->ns; i-- > 0;) {
		if (now - rs->s[i].time < REPEAT_NS)
			continue;
		free(rs->s[i].key);
		memmove(&rs->s[i], &rs->s[i + 1], (rs->ns - i - 1) *
		    sizeof(rs->s[0]));
		rs->ns--;
	}
	for (i = rs->ne; i-- > 0;) {
		if (rs->e[i].time == 0 || now - rs->e[i].time < PENDING_MAX_NS)
			continue;
		sync_log(LOG_WARNING, "report dropped after 30 days unsent: "
		    "%s", rs->e[i].subject);
		rs_event_free(&rs->e[i]);
		memmove(&rs->e[i], &rs->e[i + 1], (rs->ne - i - 1) *
		    sizeof(rs->e[0]));
		rs->ne--;
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
	if ((rc = evaluate_targets(ctx, rs, c, nc, now)) != 0)
		goto out;
	prune(rs, now);
	if ((rc = sync_rstate_save(ctx, rs)) != 0)
		goto out;
	for (i = 0; i < ntaken; i++)
		if (unlink(taken[i]) != 0 && errno != ENOENT)
			sync_log(LOG_WARNING, "cannot remove %s: %s", taken[i],
			    strerror(errno));
	rs_send(ctx, km, rs, out);
	out->pending = (unsigned)rs->ne;
	for (i = 0; i < rs->nc; i++) {
		out->pending += rs->c[i].mailed == 0 || rs->c[i].cleared != 0;
		out->alerts += rs->c[i].cleared == 0;
	}
	rc = out->failed ? BEEMO_EREMOTE : 0;
out:
	for (i = 0; i < ntaken; i++)
		free(taken[i]);
	free(taken);
	return rc;
}
