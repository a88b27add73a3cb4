/*
 * sync_report_mail.c -- composing and sending the e-mail reports of
 * sync_report.c: one mail per condition raised or resolved, one per
 * machine for its events; recipients from [mail] to and [machine NAME]
 * mail_to; every mail sent or failed is recorded in the appliance
 * journal ("report").  Delivery goes to the SMTP server of [mail] smtp
 * when there is one (sync_smtp.h), else to the sendmail-compatible
 * [mail] command (bm_mail_send()).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bm_conf.h"
#include "bm_err.h"
#include "bm_log.h"
#include "bm_mail.h"
#include "bm_time.h"
#include "sync_report.h"
#include "sync_smtp.h"

#define MAIL_TIMEOUT_MS 60000
#define MAIL_COMMAND_DEFAULT "/usr/sbin/sendmail -t -i"
#define MAIL_BAD_ADDRESS "[mail] from or a recipient is empty, is not " \
	"UTF-8, holds a control character or an unusable address"

struct sender {
	const struct sync_ctx *ctx;
	keymgr *km;
	struct sync_rstate *rs;
	char appliance[256];
	const char *from;
	char from_buf[320];
	int failed, norecipient;
	struct sync_report_stats *stats;
};

/* [mail] to, plus [machine M] mail_to; NULL when nobody. */
static char *
recipients(const struct sync_ctx *ctx, const char *machine)
{
	const char *a = bm_conf_get(ctx->conf, "mail", NULL, "to", "");
	const char *b = machine ? bm_conf_get(ctx->conf, "machine", machine,
	    "mail_to", "") : "";
	char *out;

	if (strspn(a, " \t,") == strlen(a) && strspn(b, " \t,") == strlen(b))
		return NULL;
	if (asprintf(&out, "%s%s%s", a, *a && *b ? ", " : "", b) < 0)
		return NULL;
	return out;
}

/* A header value from anything: printable ASCII, at most 200. */
static void
header_value(char *out, size_t size, const char *in)
{
	size_t i;

	for (i = 0; in[i] != '\0' && i + 1 < size && i < 200; i++)
		out[i] = (in[i] >= 0x20 && in[i] < 0x7f) ? in[i] : '?';
	out[i] = '\0';
}

/* The appliance's name for subjects, and the From mailbox. */
static void
identity(const struct sync_ctx *ctx, char *appliance, size_t asize,
    char *from_buf, size_t fsize, const char **from)
{
	char host[200];

	if (gethostname(host, sizeof(host) - 1) != 0)
		snprintf(host, sizeof(host), "beemo");
	host[sizeof(host) - 1] = '\0';
	snprintf(appliance, asize, "%s", bm_conf_get(ctx->conf, NULL, NULL,
	    "appliance", host));
	snprintf(from_buf, fsize, "beemo@%s", host);
	*from = bm_conf_get(ctx->conf, "mail", NULL, "from", from_buf);
}

/* Format a message from @from to @to with @subject, @body and the extra
 * @headers (NULL-terminated), and deliver it through the configured
 * transport.  Returns 0 or an error with its reason in @err. */
static int
deliver(const struct sync_ctx *ctx, const char *from, const char *to,
    const char *subject, const char *body, const char *const *headers,
    char *err, size_t errlen)
{
	const char *smtp = bm_conf_get(ctx->conf, "mail", NULL, "smtp", "");
	struct bm_mail m = {.from = from, .to = to, .subject = subject,
	    .body = body, .headers = headers};
	char *msg = NULL;
	size_t len;
	int rc;

	rc = bm_mail_format(&m, bm_now_ns(), &msg, &len);
	if (rc == -EINVAL)
		snprintf(err, errlen, MAIL_BAD_ADDRESS);
	else if (rc != 0)
		snprintf(err, errlen, "%s", beemo_strerror(rc));
	else if (*smtp != '\0')
		rc = sync_smtp_send(ctx->conf, from, to, msg, len, err,
		    errlen);
	else
		rc = bm_mail_send(bm_conf_get(ctx->conf, "mail", NULL,
		    "command", MAIL_COMMAND_DEFAULT), msg, len,
		    MAIL_TIMEOUT_MS, err, errlen);
	free(msg);
	return rc;
}

/*
 * Mail @subject and @body about @machine (NULL: the appliance); @what is
 * "problem", "resolved" or "events"; @keys the reports concerned.
 * Returns 0, 1 when there is no recipient, or an error (logged and
 * journaled; the caller sends nothing more).
 */
static int
send_one(struct sender *s, const char *machine, const char *what,
    const char *subject, const char *body, const char *const *keys,
    size_t nkeys)
{
	char *to = recipients(s->ctx, machine), *full = NULL;
	char hkind[64], hmach[128], hkey[256], kv[220], err[600], now_s[32];
	const char *headers[4];
	int rc;

	if (to == NULL) {
		s->norecipient++;
		return 1;
	}
	snprintf(hkind, sizeof(hkind), "X-Beemo-Report: %s", what);
	snprintf(hmach, sizeof(hmach), "X-Beemo-Machine: %s", machine ?
	    machine : "(appliance)");
	header_value(kv, sizeof(kv), nkeys ? keys[0] : "-");
	snprintf(hkey, sizeof(hkey), "X-Beemo-Key: %s", kv);
	headers[0] = hkind;
	headers[1] = hmach;
	headers[2] = hkey;
	headers[3] = NULL;
	bm_time_str(now_s, sizeof(now_s), bm_now_ns());
	if (asprintf(&full, "%s\n-- \nBeemo appliance %s, %s.\n"
	    "beemoctl status; beemoctl journal --all\n", body, s->appliance,
	    now_s) < 0) {
		free(to);
		return -ENOMEM;
	}
	{
		char subj[1200];

		snprintf(subj, sizeof(subj), "[Beemo %s] %s%s", s->appliance,
		    strcmp(what, "resolved") ? "" : "RESOLVED: ", subject);
		rc = deliver(s->ctx, s->from, to, subj, full, headers, err,
		    sizeof(err));
		if (rc == 0) {
			s->stats->sent++;
			(void)sync_alog(s->ctx, s->km, "report", "mail sent to "
			    "%s: %s", to, subj);
		} else {
			s->stats->failed++;
			s->failed = 1;
			sync_log(LOG_ERR, "report not sent (kept for the next "
			    "run): %s", err);
			(void)sync_alog(s->ctx, s->km, "report", "mail to %s "
			    "failed (kept for the next run): %s: %s", to, err,
			    subj);
		}
	}
	free(full);
	free(to);
	return rc;
}

/* The conditions due: a problem not mailed, a resolution not mailed. */
static int
send_conditions(struct sender *s)
{
	struct sync_rstate *rs = s->rs;
	char body[4096];
	size_t i;
	int rc;

	for (i = 0; i < rs->st.nc && !s->failed;) {
		struct bm_rstate_cond *c = &rs->st.c[i];
		const char *key = c->key;

		if (c->mailed == 0) {
			snprintf(body, sizeof(body), "%s\nThis is reported "
			    "once; another report follows when it is "
			    "resolved.\n", c->text ? c->text : "");
			rc = send_one(s, c->machine, "problem", c->subject ?
			    c->subject : c->key, body, &key, 1);
			if (rc != 0) {
				i++;
				continue;
			}
			c->mailed = bm_now_ns();
			(void)sync_rstate_save(s->ctx, rs);
		}
		if (c->cleared != 0) {
			rc = send_one(s, c->machine, "resolved", c->rsubject ?
			    c->rsubject : c->key, c->rtext ? c->rtext : "",
			    &key, 1);
			if (rc != 0) {
				i++;
				continue;
			}
			rs_cond_remove(rs, c);
			(void)sync_rstate_save(s->ctx, rs);
			continue;
		}
		i++;
	}
	return 0;
}

/* The pending events of @machine (NULL: the appliance's), in one mail. */
static void
send_events(struct sender *s, const char *machine)
{
	struct sync_rstate *rs = s->rs;
	const char **keys;
	char subject[1024], when[32], *body = NULL;
	size_t n = 0, i, k, len = 0, nv = 0, ne = 0;
	FILE *f;

	if ((keys = calloc(rs->st.ne + 1, sizeof(*keys))) == NULL)
		return;
	if ((f = open_memstream(&body, &len)) == NULL) {
		free(keys);
		return;
	}
	for (i = 0; i < rs->st.ne; i++) {
		const struct bm_rstate_event *e = &rs->st.e[i];

		if ((machine == NULL) != (e->machine == NULL) ||
		    (machine && strcmp(machine, e->machine)))
			continue;
		keys[n++] = e->key;
		nv += !strcmp(e->kind, "virus");
		ne += strcmp(e->kind, "virus") != 0;
		fprintf(f, "%s* %s\n  (%s, %s)\n", n > 1 ? "\n" : "",
		    e->subject, e->kind, bm_time_str(when, sizeof(when),
		    e->time));
		if (e->text && *e->text) {
			const char *p = e->text;

			while (*p) {
				size_t l = strcspn(p, "\n");

				fprintf(f, "  %.*s\n", (int)l, p);
				p += l + (p[l] == '\n');
			}
		}
	}
	if (fclose(f) != 0 || n == 0) {
		free(body);
		free(keys);
		return;
	}
	if (n == 1) {
		for (i = 0; strcmp(rs->st.e[i].key, keys[0]); i++)
			;
		snprintf(subject, sizeof(subject), "%s", rs->st.e[i].subject);
	} else {
		snprintf(subject, sizeof(subject), "%s: %zu reports (%zu "
		    "vir%s, %zu error%s)", machine ? machine : "appliance", n,
		    nv, nv == 1 ? "us" : "uses", ne, ne == 1 ? "" : "s");
	}
	if (send_one(s, machine, "events", subject, body, keys, n) == 0) {
		uint64_t now = bm_now_ns();

		/* Remember what went out; drop it from the pending. */
		for (k = 0; k < n; k++) {
			for (i = 0; i < rs->st.ne; i++) {
				struct bm_rstate_sent *sent;

				if (rs->st.e[i].key != keys[k])
					continue;
				if ((sent = bm_rstate_grow(&rs->st.s,
				    &rs->st.ns, sizeof(*sent))) != NULL) {
					sent->key = rs->st.e[i].key;
					sent->time = now;
					rs->st.e[i].key = NULL;
				}
				bm_rstate_event_free(&rs->st.e[i]);
				memmove(&rs->st.e[i], &rs->st.e[i + 1],
				    (rs->st.ne - i - 1) * sizeof(rs->st.e[0]));
				rs->st.ne--;
				break;
			}
		}
		(void)sync_rstate_save(s->ctx, rs);
	}
	free(body);
	free(keys);
}

static void
send_all_events(struct sender *s)
{
	struct sync_rstate *rs = s->rs;
	char (*names)[80];
	int *app;
	size_t n = 0, i, k;

	/* One mail per machine and one for the appliance, in the order of
	 * their first pending event. */
	names = calloc(rs->st.ne + 1, sizeof(*names));
	app = calloc(rs->st.ne + 1, sizeof(*app));
	for (i = 0; names != NULL && app != NULL && i < rs->st.ne; i++) {
		const char *m = rs->st.e[i].machine;

		for (k = 0; k < n; k++)
			if (app[k] ? m == NULL : m != NULL &&
			    !strcmp(names[k], m))
				break;
		if (k < n)
			continue;
		app[n] = m == NULL;
		snprintf(names[n++], sizeof(names[0]), "%s", m ? m : "");
	}
	for (k = 0; names != NULL && app != NULL && k < n && !s->failed; k++)
		send_events(s, app[k] ? NULL : names[k]);
	free(names);
	free(app);
}

void
rs_send(const struct sync_ctx *ctx, keymgr *km, struct sync_rstate *rs,
    struct sync_report_stats *st)
{
	struct sender s;

	memset(&s, 0, sizeof(s));
	s.ctx = ctx;
	s.km = km;
	s.rs = rs;
	s.stats = st;
	identity(ctx, s.appliance, sizeof(s.appliance), s.from_buf,
	    sizeof(s.from_buf), &s.from);
	send_conditions(&s);
	if (!s.failed)
		send_all_events(&s);
	if (s.norecipient > 0)
		sync_log(LOG_NOTICE, "%d report%s not mailed: no recipient "
		    "configured ([mail] to, [machine NAME] mail_to)",
		    s.norecipient, s.norecipient == 1 ? "" : "s");
}

int
sync_mail_test(const struct sync_ctx *ctx, char *how, size_t howlen,
    char *err, size_t errlen)
{
	const char *smtp = bm_conf_get(ctx->conf, "mail", NULL, "smtp", "");
	const char *headers[] = {"X-Beemo-Report: test", NULL};
	char appliance[256], from_buf[320], subj[400], *to, *body = NULL;
	char now_s[32];
	const char *from;
	int rc;

	if (*smtp != '\0')
		snprintf(how, howlen, "SMTP %s", smtp);
	else
		snprintf(how, howlen, "the command '%s'", bm_conf_get(ctx->conf,
		    "mail", NULL, "command", MAIL_COMMAND_DEFAULT));
	snprintf(err, errlen, "no recipient: set [mail] to");
	if ((to = recipients(ctx, NULL)) == NULL)
		return 1;
	identity(ctx, appliance, sizeof(appliance), from_buf,
	    sizeof(from_buf), &from);
	snprintf(subj, sizeof(subj), "[Beemo %s] test message", appliance);
	bm_time_str(now_s, sizeof(now_s), bm_now_ns());
	if (asprintf(&body, "This is a test message of the Beemo appliance "
	    "%s, sent at %s by\nbeemo-sync maintenance --test-mail through "
	    "%s.\n\nIts reports (a virus found, a backup that failed, the "
	    "store's disk\nfilling up, a storage center not reached) go out "
	    "the same way.\n", appliance, now_s, how) < 0) {
		body = NULL;
		rc = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	rc = deliver(ctx, from, to, subj, body, headers, err, errlen);
	snprintf(how + strlen(how), howlen - strlen(how), " to %s", to);
out:
	free(body);
	free(to);
	return rc;
}
