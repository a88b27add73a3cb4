/*
 * cmd_quota.c -- `beemoctl quota MACHINE [--soft SIZE] [--hard SIZE]
 * [--json]`: a machine's quota in stored (deduplicated, compressed)
 * bytes.
 *
 * Showing needs no password: the numbers come from the running beemofs
 * ("stats" on its control socket) or from the status file its last
 * session left (ctl_status.h).  Setting needs the administrator's
 * password and a read-write store: through the running beemofs ("quota
 * set SOFT HARD", after keymgr_admin_check()), else by opening the store
 * as the administrator.  A limit that [machine NAME] quota_soft or
 * quota_hard sets in the configuration cannot be changed here: the
 * configuration wins, beemofs applies it at every mount.  After a change
 * on a closed store this verb does what the daemon would: journal a
 * "quota" entry, rewrite the status file, and spool the state of the
 * "quota:NAME" report condition.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_status.h"
#include "ctl_store.h"

static const char quota_usage[] =
    "MACHINE [--soft SIZE] [--hard SIZE] [--json] [--password-file FILE]\n"
    "\n"
    "Show MACHINE's quota and what it stores (deduplicated, compressed\n"
    "bytes), or set it.  Past the soft limit an e-mail report is sent\n"
    "(once per crossing); past the hard limit writes fail with EDQUOT\n"
    "(\"Disk quota exceeded\") and df in the mount shows the limit.\n"
    "SIZE is 500M, 20G, 1T (powers of 1024), or 0 for no limit.\n"
    "Limits set in the configuration ([machine NAME] quota_soft,\n"
    "quota_hard) win and cannot be changed here.\n"
    "\n"
    "  --soft SIZE           set the soft limit\n"
    "  --hard SIZE           set the hard limit\n"
    "  --json                print JSON\n"
    "  --password-file FILE  the administrator's password (default\n"
    "                        $BEEMO_PASSWORD_FILE, or the terminal)\n"
    "  --help                this help\n";

static void
show(const struct ctl *ctl, const struct ctl_machine *m, int json)
{
	char b1[32], b2[32], b3[32], t[32];
	int cs = bm_conf_get(ctl->conf, "machine", m->name, "quota_soft",
	    NULL) != NULL;
	int ch = bm_conf_get(ctl->conf, "machine", m->name, "quota_hard",
	    NULL) != NULL;
	bm_json j;

	if (json) {
		bm_json_init(&j, stdout);
		bm_json_begin_obj(&j, NULL);
		bm_json_str(&j, "machine", m->name);
		bm_json_bool(&j, "known", m->known);
		bm_json_bool(&j, "mounted", m->mounted);
		bm_json_time(&j, "as_of", m->updated);
		bm_json_u64(&j, "stored", m->stored);
		bm_json_u64(&j, "quota_soft", m->quota_soft);
		bm_json_u64(&j, "quota_hard", m->quota_hard);
		bm_json_bool(&j, "soft_from_config", cs);
		bm_json_bool(&j, "hard_from_config", ch);
		bm_json_bool(&j, "over_soft", m->quota_soft &&
		    m->stored > m->quota_soft);
		bm_json_bool(&j, "at_hard", m->quota_hard &&
		    m->stored >= m->quota_hard);
		bm_json_end_obj(&j);
		return;
	}
	if (!m->known) {
		printf("machine %s: no backup session yet\n", m->name);
		return;
	}
	printf("machine %s: stores %s (%" PRIu64 " bytes), %s %s\n", m->name,
	    bm_human(b1, sizeof(b1), m->stored), m->stored, m->mounted ?
	    "now" : "as of", m->mounted ? "(mounted)" :
	    bm_time_str(t, sizeof(t), m->updated));
	printf("  soft limit  %s%s%s\n", m->quota_soft ? bm_human(b2,
	    sizeof(b2), m->quota_soft) : "none", cs ?
	    " (from the configuration)" : "", m->quota_soft && m->stored >
	    m->quota_soft ? "  OVER" : "");
	printf("  hard limit  %s%s%s\n", m->quota_hard ? bm_human(b3,
	    sizeof(b3), m->quota_hard) : "none", ch ?
	    " (from the configuration)" : "", m->quota_hard && m->stored >=
	    m->quota_hard ? "  FULL" : "");
}

/* The status of @name from its daemon or its status file. */
static void
lookup(const struct ctl *ctl, const char *name, struct ctl_machine *m)
{
	struct ctl_appliance a;
	size_t i;

	memset(m, 0, sizeof(*m));
	snprintf(m->name, sizeof(m->name), "%s", name);
	if (ctl_status_collect(ctl, &a) != 0)
		return;
	for (i = 0; i < a.nm; i++)
		if (strcmp(a.m[i].name, name) == 0)
			*m = a.m[i];
	ctl_status_free(&a);
}

static int
parse_limit(const struct ctl *ctl, const char *opt, const char *v,
    uint64_t *out)
{
	if (v == NULL)
		return 0;
	if (strcmp(v, "none") == 0) {
		*out = 0;
		return 0;
	}
	if (bm_parse_size(v, out) != 0) {
		ctl_err(ctl, "%s '%s' is not a size (500M, 20G, 1T, 0)", opt,
		    v);
		return CTL_USAGE;
	}
	return 0;
}

/* Change the quota of a store no daemon holds, and do what the daemon
 * would have done. */
static int
set_closed(const struct ctl *ctl, const char *name, struct ctl_opts *o,
    uint64_t soft, uint64_t hard)
{
	struct ctl_session s;
	struct store_journal_entry e;
	struct bm_mstatus ms;
	struct store_stats st;
	uint64_t os, oh;
	char summary[256], key[96], subject[256], b1[32], b2[32];
	int rc;

	if (ctl_session_open(ctl, name, o, 1, &s) != 0)
		return CTL_FAIL;
	if ((rc = store_quota_get(s.st, &os, &oh)) == 0) {
		if (o->soft != NULL)
			os = soft;
		if (o->hard != NULL)
			oh = hard;
		rc = store_quota_set(s.st, os, oh);
	}
	if (rc != 0) {
		ctl_err(ctl, "%s: cannot set the quota: %s", name,
		    beemo_strerror(rc));
		ctl_session_close(ctl, &s);
		return CTL_FAIL;
	}
	snprintf(summary, sizeof(summary), "quota set: soft %" PRIu64
	    " bytes, hard %" PRIu64 " bytes", os, oh);
	memset(&e, 0, sizeof(e));
	e.type = "quota";
	e.who = "admin";
	e.summary = summary;
	if ((rc = store_journal_add(s.st, &e)) != 0)
		ctl_err(ctl, "warning: the quota change is not journaled: %s",
		    beemo_strerror(rc));
	memset(&ms, 0, sizeof(ms));
	if (store_stats(s.st, &st) == 0) {
		bm_status_copy(ms.machine, sizeof(ms.machine), name);
		ms.updated = bm_now_ns();
		ms.files = st.files;
		ms.dirs = st.dirs;
		ms.bytes = st.bytes;
		ms.stored = st.stored;
		ms.packs = st.packs;
		ms.snapshots = st.snapshots;
		ms.last_snapshot = st.last_snapshot;
		ms.quota_soft = os;
		ms.quota_hard = oh;
		(void)bm_mstatus_write(ctl->store, &ms);
		snprintf(key, sizeof(key), "quota:%s", name);
		snprintf(subject, sizeof(subject), os && st.stored > os ?
		    "%s is over its quota: %s stored, soft limit %s" :
		    "%s is back under its quota: %s stored, soft limit %s",
		    name, bm_human(b1, sizeof(b1), st.stored), os ?
		    bm_human(b2, sizeof(b2), os) : "none");
		{
			struct bm_report r = {"quota", name, key, os &&
			    st.stored > os ? BM_REPORT_RAISE : BM_REPORT_CLEAR,
			    subject, "The administrator changed the quota "
			    "with beemoctl quota.\n"};

			(void)ctl_report_spool(ctl, &r);
		}
	}
	return ctl_session_close(ctl, &s);
}

int
cmd_quota(struct ctl *ctl, int argc, char **argv)
{
	struct keymgr_machine_info info;
	struct ctl_machine m;
	struct ctl_opts o;
	uint64_t soft = 0, hard = 0;
	char reply[8192], cmd[128], a[32], b[32], *pw = NULL;
	const char *name;
	size_t pwlen = 0;
	keymgr *km = NULL;
	int rc;

	if ((rc = ctl_parse(ctl, argc, argv, CTL_O_QUOTA | CTL_O_JSON |
	    CTL_O_PASSWORD, 1, 1, quota_usage, &o)) >= 0)
		return rc;
	name = o.args[0];
	if ((rc = parse_limit(ctl, "--soft", o.soft, &soft)) != 0 ||
	    (rc = parse_limit(ctl, "--hard", o.hard, &hard)) != 0)
		return rc;
	if (ctl_keymgr(ctl, &km) != 0)
		return CTL_FAIL;
	if (keymgr_machine_info(km, name, &info, NULL, NULL) ==
	    BEEMO_ENOMACHINE) {
		rc = ctl_km_fail(ctl, km);
		goto out;
	}
	if (o.soft == NULL && o.hard == NULL) {
		lookup(ctl, name, &m);
		show(ctl, &m, o.json);
		rc = CTL_OK;
		goto out;
	}
	rc = CTL_FAIL;
	if ((o.soft && bm_conf_get(ctl->conf, "machine", name, "quota_soft",
	    NULL)) || (o.hard && bm_conf_get(ctl->conf, "machine", name,
	    "quota_hard", NULL))) {
		ctl_err(ctl, "%s of machine %s is set in %s ([machine %s]), "
		    "which beemofs applies at every mount: change it there",
		    o.soft && bm_conf_get(ctl->conf, "machine", name,
		    "quota_soft", NULL) ? "quota_soft" : "quota_hard", name,
		    bm_conf_path(ctl->conf), name);
		goto out;
	}
	snprintf(a, sizeof(a), "%" PRIu64, soft);
	snprintf(b, sizeof(b), "%" PRIu64, hard);
	snprintf(cmd, sizeof(cmd), "quota set %s %s", o.soft ? a : "-",
	    o.hard ? b : "-");
	switch (ctl_daemon_request(ctl, name, "stats", reply,
	    sizeof(reply))) {
	case 1:
		/* Mounted: authorize here, let the daemon change it. */
		if (ctl_password(ctl, "Administrator password: ",
		    o.password_file, "BEEMO_PASSWORD_FILE", 0, &pw,
		    &pwlen) != 0)
			goto out;
		if (keymgr_admin_check(km, pw, pwlen) != 0) {
			rc = ctl_km_fail(ctl, km);
			goto out;
		}
		if (ctl_daemon_request(ctl, name, cmd, reply,
		    sizeof(reply)) != 1)
			goto out;
		break;
	case 0:
		if (set_closed(ctl, name, &o, soft, hard) != 0)
			goto out;
		break;
	default:
		goto out;
	}
	ctl_alog(ctl, km, "quota", "admin", "machine %s: quota set:%s%s%s%s",
	    name, o.soft ? " soft " : "", o.soft ? a : "", o.hard ?
	    " hard " : "", o.hard ? b : "");
	lookup(ctl, name, &m);
	if (!ctl->quiet || o.json)
		show(ctl, &m, o.json);
	rc = CTL_OK;
out:
	bm_free_secret(pw, pwlen);
	keymgr_free(km);
	return rc;
}
