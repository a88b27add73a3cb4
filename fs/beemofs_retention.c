/*
 * beemofs_retention.c -- unattended retention at the end of a backup
 * session (beemofs.h, beemofs_retention()).
 *
 * The session's key file (POSTE) opened the store; it could not sign a
 * policy, so what is applied here is only what the administrator signed
 * (retention.h), evaluated on the appliance's clock.  The policy's
 * min-age and the newest complete snapshot -- the one just taken when
 * the session ended well -- are kept whatever the rules say.  Forgetting
 * is one store transaction; the prune that follows is crash-safe and
 * resumes at the next one (store_prune()), so a crash or a SIGTERM
 * (store_interrupt(): the caller's signal handler) here loses nothing
 * but time.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "beemofs.h"
#include "bm_err.h"
#include "bm_log.h"
#include "bm_time.h"
#include "bm_units.h"
#include "retention.h"

#define WHO "retention (unattended)"

static void
failed(struct beemofs_report *r, const char *machine, const char *what,
    const char *why)
{
	char subject[512], text[1024];

	bm_log(LOG_ERR, "machine %s: unattended retention: %s: %s", machine,
	    what, why);
	snprintf(subject, sizeof(subject), "%s: unattended retention: %s",
	    machine, what);
	snprintf(text, sizeof(text), "%s.\n\nNothing is forgotten "
	    "automatically until this is repaired (beemoctl retention %s).\n",
	    why, machine);
	beemofs_report_error(r, "retention", subject, text);
}

void
beemofs_retention(store *st, keymgr *km, const char *storedir,
    const char *machine, struct beemofs_report *r)
{
	struct retention_policy p;
	struct retention_plan pl;
	struct store_prune_opts po;
	struct store_prune_stats ps;
	char err[600], line[256], a[32], b[32];
	int rc, dflt;

	rc = retention_load(storedir, machine, km, &p, &dflt, NULL, err,
	    sizeof(err));
	if (rc == -ENOENT)
		return;
	if (rc != 0) {
		failed(r, machine, "the policy is refused", err);
		return;
	}
	if ((rc = retention_plan_policy(st, &p, bm_now_ns(), &pl)) != 0) {
		failed(r, machine, "cannot list the snapshots",
		    beemo_strerror(rc));
		return;
	}
	bm_log(LOG_NOTICE, "machine %s: %s policy %s: %zu of %zu snapshots "
	    "to forget", machine, dflt ? "default" : "its",
	    retention_str(&p, line, sizeof(line)), pl.forget, pl.n);
	if (pl.forget == 0)
		goto out;
	store_set_who(st, WHO);
	if ((rc = retention_forget(st, &pl, storedir, km, machine, WHO)) !=
	    0) {
		failed(r, machine, "the forget failed", beemo_strerror(rc));
		goto out;
	}
	memset(&po, 0, sizeof(po));
	memset(&ps, 0, sizeof(ps));
	rc = store_prune(st, &po, &ps);
	if (rc == -EINTR) {
		bm_log(LOG_NOTICE, "machine %s: the prune was interrupted; the "
		    "next one completes it", machine);
		goto out;
	}
	if (rc != 0) {
		failed(r, machine, "the prune after the forget failed",
		    beemo_strerror(rc));
		goto out;
	}
	bm_log(LOG_NOTICE, "machine %s: pruned: %s stored, was %s", machine,
	    bm_human(a, sizeof(a), ps.stored_after), bm_human(b, sizeof(b),
	    ps.stored_before));
out:
	retention_plan_free(&pl);
}
