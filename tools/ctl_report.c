/*
 * ctl_report.c -- what beemoctl records besides its output: entries of
 * the appliance journal for key, user, machine and quota operations, and
 * error reports for the e-mail reports (see beemoctl.h).
 *
 * Both are recorded after the operation succeeded or failed, never
 * instead of it: a journal or spool that cannot be written gives a
 * warning and leaves the verb's exit status alone.  So after a crash
 * between an operation and its record, the operation is done and
 * unrecorded -- never recorded and not done.
 */
#include <errno.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "beemoctl.h"
#include "bm_alog.h"
#include "bm_err.h"
#include "bm_esc.h"
#include "bm_report.h"
#include "bm_time.h"

void
ctl_alog(const struct ctl *ctl, keymgr *km, const char *type,
    const char *who, const char *fmt, ...)
{
	struct bm_alog_entry e;
	uint8_t key[KEYMGR_SECRET_LEN];
	char summary[1024];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(summary, sizeof(summary), fmt, ap);
	va_end(ap);
	memset(&e, 0, sizeof(e));
	e.type = type;
	e.who = who;
	e.summary = summary;
	if ((rc = keymgr_appliance_subkey(km, "journal", key)) == 0) {
		rc = bm_alog_append(ctl->store, key, &e);
		OPENSSL_cleanse(key, sizeof(key));
	}
	if (rc != 0) {
		/* The summary may name files of clients: escaped. */
		fprintf(stderr, "%s: %s: warning: the appliance journal could "
		    "not record \"", ctl->prog, ctl->verb);
		bm_esc_put(stderr, summary);
		fprintf(stderr, "\": %s\n", rc == -ENOENT ? "no appliance key "
		    "(restore it with beemo-sync recover)" :
		    beemo_strerror(rc));
	}
}

int
ctl_report_spool(const struct ctl *ctl, const struct bm_report *r)
{
	uint8_t key[KEYMGR_SECRET_LEN];
	keymgr *km = NULL;
	int rc;

	if ((rc = keymgr_open(ctl->keydir, &km)) == 0 &&
	    (rc = keymgr_appliance_subkey(km, "reports", key)) == 0) {
		rc = bm_report_spool(ctl->store, key, r);
		OPENSSL_cleanse(key, sizeof(key));
	}
	keymgr_free(km);
	if (rc != 0)
		fprintf(stderr, "%s: %s: warning: a report about %s could not "
		    "be queued: %s\n", ctl->prog, ctl->verb, r->machine ?
		    r->machine : "the appliance", beemo_strerror(rc));
	return rc;
}

void
ctl_report_error(const struct ctl *ctl, const char *machine,
    const char *what, const char *text, const char *fmt, ...)
{
	struct bm_report r;
	char key[256], line[1024], subject[BM_ESC_SIZE(1024)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* A subject is one line (bm_report.h); it may name files. */
	bm_esc(subject, sizeof(subject), line);
	/* Each failure is an event of its own. */
	snprintf(key, sizeof(key), "%s:%s:%llu", what, machine ? machine : "",
	    (unsigned long long)bm_now_ns());
	memset(&r, 0, sizeof(r));
	r.kind = "error";
	r.machine = machine;
	r.key = key;
	r.state = BM_REPORT_EVENT;
	r.subject = subject;
	r.text = text;
	(void)ctl_report_spool(ctl, &r);
}
