/*
 * cmd_forget.c -- `beemoctl forget`: forget snapshots of a machine by its
 * signed retention policy, by rules given on the command line, or by id.
 *
 * Who may do what.  The machine's own signed policy (or the default) may
 * be applied by anyone who opens the machine -- the administrator, a
 * user's password, the POSTE key file -- since it forgets only what the
 * administrator decided, with its min-age and newest-complete
 * protections.  Anything else (ids, rules of the command line) is
 * outside the policy and needs the administrator's password.  The store
 * is opened read-write, so a mounted backup session is waited for; its
 * end applies the same policy anyway (beemofs(8)).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bm_err.h"
#include "bm_json.h"
#include "bm_time.h"
#include "bm_units.h"
#include "ctl_policy.h"
#include "ctl_snapname.h"
#include "ctl_status.h"
#include "ctl_store.h"

static const char usage[] =
    "MACHINE [ID...] [--keep-last N] [--keep-within D] [--keep-hourly N]\n"
    "       [--keep-daily N] [--keep-weekly N] [--keep-monthly N]\n"
    "       [--keep-yearly N] [--min-age D] [--dry-run] [--json] [--prune]\n"
    "       [--yes] [--admin | --user USER | --poste-key FILE]\n"
    "       [--password-file FILE]\n"
    "\n"
    "Forget snapshots of MACHINE: with no ID and no rule, those its signed\n"
    "retention policy (beemoctl retention) does not keep; then any\n"
    "principal that opens the machine may run it.  With IDs, exactly those\n"
    "snapshots (an ID may be any snapshot name: latest~N, a date, a tag;\n"
    "beemoctl(8), SNAPSHOT NAMES); with rules, what these rules do not\n"
    "keep (the newest complete snapshot and, unless --min-age says\n"
    "otherwise, every snapshot younger than 7 days are kept).  IDs and\n"
    "rules need the administrator's password.  Forgetting frees no space\n"
    "until a prune.\n"
    "\n"
    "  --keep-...            rules, as for beemoctl retention\n"
    "  --min-age D           keep every snapshot younger than D (7d)\n"
    "  --dry-run             list every snapshot, kept or forgotten and\n"
    "                        the rules that keep it; change nothing\n"
    "  --json                one JSON object \"beemo-forget\"\n"
    "                        (beemoctl(8))\n"
    "  --prune               prune after forgetting (beemoctl prune)\n"
    "  --yes                 forget by id or by rules without asking\n"
    "                        (needed without a terminal)\n"
    "  --admin               open with the administrator's password\n"
    "  --user USER           open with USER's password (policy only)\n"
    "  --poste-key FILE      open with the POSTE key file (policy only)\n"
    "  --password-file FILE  read the password from FILE (default\n"
    "                        $BEEMO_PASSWORD_FILE, or the terminal)\n"
    "  --help                this help\n";

/* The snapshots the command line names (ctl_snapname.h: an id, latest,
 * latest~N, a date or time, a tag), as ids. */
static int
parse_ids(const struct ctl *ctl, store *st, char **args, size_t n,
    uint32_t *ids)
{
	struct store_snapinfo si;
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		if ((rc = ctl_snap_resolve(ctl, st, args[i], &si)) != 0)
			return rc;
		ids[i] = si.id;
	}
	return 0;
}

/* The plan (every snapshot with @all or JSON, else those forgotten), and
 * the figures @ps of the prune after it (NULL: none). */
static void
print_plan(const struct retention_plan *pl, int all, int dry_run, int json,
    const char *how, const struct store_prune_stats *ps)
{
	char a[32], b[32];
	char t[32], why[128];
	size_t i;
	bm_json j;

	if (json) {
		bm_json_init(&j, stdout);
		bm_json_head(&j, "beemo-forget", 1);
		bm_json_str(&j, "by", how);
		bm_json_bool(&j, "dry_run", dry_run);
		bm_json_u64(&j, "forgotten", pl->forget);
		bm_json_u64(&j, "kept", pl->n - pl->forget);
		bm_json_begin_arr(&j, "snapshots");
		for (i = 0; i < pl->n; i++) {
			unsigned r = pl->reasons[i];
			const char *names[12];
			char buf[128], *save = NULL, *w;
			size_t k = 0;

			bm_json_begin_obj(&j, NULL);
			bm_json_u64(&j, "id", pl->snaps[i].id);
			bm_json_time(&j, "time", pl->snaps[i].time);
			bm_json_bool(&j, "kept", r != 0);
			retention_reasons_str(r, buf, sizeof(buf));
			for (w = strtok_r(buf, ",", &save); w != NULL &&
			    k < 12; w = strtok_r(NULL, ",", &save))
				names[k++] = w;
			bm_json_strs(&j, "reasons", names, k);
			bm_json_end_obj(&j);
		}
		bm_json_end_arr(&j);
		if (ps != NULL) {
			bm_json_begin_obj(&j, "prune");
			bm_json_u64(&j, "stored_before", ps->stored_before);
			bm_json_u64(&j, "stored_after", ps->stored_after);
			bm_json_u64(&j, "packs_deleted", ps->packs_deleted);
			bm_json_u64(&j, "packs_repacked", ps->packs_repacked);
			bm_json_end_obj(&j);
		}
		bm_json_end_obj(&j);
		return;
	}
	if (all)
		printf("%5s  %-25s  %-9s  %s\n", "ID", "TIME", "DECISION",
		    "KEPT BY");
	for (i = 0; i < pl->n; i++) {
		unsigned r = pl->reasons[i];

		bm_time_show(t, sizeof(t), pl->snaps[i].time);
		if (all && r != 0)
			printf("%5u  %-25s  %-9s  %s\n", pl->snaps[i].id, t,
			    "keep", retention_reasons_str(r, why, sizeof(why)));
		else if (all)
			printf("%5u  %-25s  forget\n", pl->snaps[i].id, t);
		else if (r == 0)
			printf("forgot snapshot %u (%s)\n", pl->snaps[i].id,
			    t);
	}
	printf("%s%zu of %zu snapshots %s (%s)\n", dry_run ? "dry run: " : "",
	    pl->forget, pl->n, dry_run ? "would be forgotten" : "forgotten",
	    how);
	if (ps != NULL)
		printf("pruned: %s stored, was %s\n", bm_human(a, sizeof(a),
		    ps->stored_after), bm_human(b, sizeof(b),
		    ps->stored_before));
}

/* Ask before forgetting by id or by rules; a script says --yes. */
static int
confirm(const struct ctl *ctl, const char *machine, size_t n)
{
	return ctl_confirm(ctl, 0, NULL, "Forget %zu snapshot%s of %s for "
	    "good?", n, n == 1 ? "" : "s", machine);
}

static int
prune(const struct ctl *ctl, store *st, const char *machine,
    struct store_prune_stats *ps)
{
	struct store_prune_opts po;
	int rc;

	memset(&po, 0, sizeof(po));
	memset(ps, 0, sizeof(*ps));
	if ((rc = store_prune(st, &po, ps)) != 0) {
		ctl_err(ctl, "prune of %s: %s", machine, beemo_strerror(rc));
		ctl_report_error(ctl, machine, "prune", "The snapshots are "
		    "forgotten; their space is not reclaimed yet.\n",
		    "%s: the prune after a forget failed", machine);
	}
	return rc;
}

int
cmd_forget(struct ctl *ctl, int argc, char **argv)
{
	struct ctl_policy_args pa;
	struct ctl_opts o;
	struct ctl_session s;
	struct retention_plan pl;
	struct retention_policy p;
	struct store_prune_stats ps;
	uint32_t *ids = NULL;
	char who[80], err[600], how[300], line[256];
	const char *machine;
	size_t nids;
	int rc, outside;

	memset(&pl, 0, sizeof(pl));
	memset(&s, 0, sizeof(s));
	if ((rc = ctl_policy_args(ctl, &argc, argv, CTL_P_RULES |
	    CTL_P_DRY_RUN | CTL_P_PRUNE, &pa)) >= 0)
		return rc;
	if ((rc = ctl_parse(ctl, argc, argv, CTL_O_JSON | CTL_O_YES |
	    CTL_O_ADMIN | CTL_O_USER | CTL_O_POSTE_KEY | CTL_O_PASSWORD, 1,
	    INT_MAX, usage, &o)) >= 0)
		return rc;
	machine = o.args[0];
	nids = (size_t)o.nargs - 1;
	if (nids > 0 && pa.rules) {
		ctl_err(ctl, "give snapshot ids or rules, not both");
		return CTL_USAGE;
	}
	if (pa.rules && retention_policy_empty(&pa.p)) {
		ctl_err(ctl, "rules need at least one --keep rule");
		return CTL_USAGE;
	}
	if (pa.prune && pa.dry_run) {
		ctl_err(ctl, "--prune does nothing with --dry-run");
		return CTL_USAGE;
	}
	if ((ids = calloc(nids ? nids : 1, sizeof(*ids))) == NULL) {
		ctl_err(ctl, "out of memory");
		return CTL_FAIL;
	}
	outside = nids > 0 || pa.rules;
	rc = CTL_FAIL;
	if (outside && (o.user != NULL || o.poste_key != NULL)) {
		ctl_err(ctl, "forgetting by id or by rules outside the "
			     "machine's retention policy needs the "
			     "administrator's password; a user's password or "
			     "a POSTE key file applies the signed policy only "
			     "(beemoctl forget %s)", machine);
		goto out_ids;
	}
	/* No one to ask: refused before the store is opened. */
	if (outside && !o.yes && !pa.dry_run && !isatty(STDIN_FILENO)) {
		rc = confirm(ctl, machine, nids);
		goto out_ids;
	}
	o.wait = 1;
	o.user_rw = !outside;
	if (ctl_session_open(ctl, machine, &o, !pa.dry_run, &s) != 0)
		goto out_ids;
	keymgr_secret_who(s.sec, who, sizeof(who));
	if (nids > 0 && (rc = parse_ids(ctl, s.st, o.args + 1, nids,
	    ids)) != 0)
		goto out_session;
	if (nids > 0) {
		rc = retention_plan_ids(s.st, ids, nids, &pl);
		snprintf(how, sizeof(how), "by id");
	} else if (pa.rules) {
		rc = retention_plan_policy(s.st, &pa.p, bm_now_ns(), &pl);
		snprintf(how, sizeof(how), "by the rules %s",
		    retention_str(&pa.p, line, sizeof(line)));
	} else {
		int dflt;

		rc = retention_load(ctl->store, machine, s.km, &p, &dflt, NULL,
		    err, sizeof(err));
		if (rc == -ENOENT) {
			ctl_err(ctl, "machine %s has no retention policy and "
				     "there is no default (beemoctl retention)",
			    machine);
			rc = CTL_FAIL;
			goto out_session;
		}
		if (rc != 0) {
			ctl_err(ctl, "%s", err);
			ctl_report_error(ctl, machine, "forget", err,
			    "%s: the retention policy is refused", machine);
			rc = CTL_FAIL;
			goto out_session;
		}
		rc = retention_plan_policy(s.st, &p, bm_now_ns(), &pl);
		snprintf(how, sizeof(how), "by the %spolicy %s",
		    dflt ? "default " : "",
		    retention_str(&p, line, sizeof(line)));
	}
	if (rc != 0) {
		ctl_err(ctl, "%s: %s", machine, rc == BEEMO_ENOSNAP ?
		    "no such snapshot" : beemo_strerror(rc));
		rc = CTL_FAIL;
		goto out_session;
	}
	if (pa.dry_run) {
		print_plan(&pl, 1, 1, o.json, how, NULL);
		rc = CTL_OK;
		goto out_session;
	}
	/* Outside the signed policy, the administrator confirms what goes:
	 * by id, or by rules given now. */
	if (outside && pl.forget > 0 && !o.yes &&
	    (rc = confirm(ctl, machine, pl.forget)) != 0)
		goto out_session;
	store_set_who(s.st, who);
	rc = retention_forget(s.st, &pl, ctl->store, s.km, machine, who);
	if (rc != 0) {
		ctl_err(ctl, "forget of %s: %s", machine, beemo_strerror(rc));
		ctl_report_error(ctl, machine, "forget", "Nothing was "
		    "forgotten: the forget is one transaction.\n",
		    "%s: forgetting %zu snapshots failed: %s", machine,
		    pl.forget, beemo_strerror(rc));
		rc = CTL_FAIL;
		goto out_session;
	}
	rc = CTL_OK;
	if (pa.prune && prune(ctl, s.st, machine, &ps) != 0)
		rc = CTL_FAIL;
	/* `status` shows what remains and what a prune would reclaim. */
	if (pl.forget > 0 || pa.prune)
		ctl_mstatus_update(ctl, machine, s.st);
	print_plan(&pl, o.json, 0, o.json, how, pa.prune && rc == CTL_OK ?
	    &ps : NULL);
out_session:
	retention_plan_free(&pl);
	if (ctl_session_close(ctl, &s) != 0)
		rc = CTL_FAIL;
out_ids:
	free(ids);
	return rc;
}
