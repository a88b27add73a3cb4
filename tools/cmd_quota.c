/*
 * cmd_quota.c -- `beemoctl quota MACHINE [--soft SIZE] [--hard SIZE]
 * [--json]`: a machine's quota in stored (deduplicated, compressed)
 * bytes.
 *
 * Showing needs no password: the numbers come from the running beemofs
 * or from the status file its last session left (ctl_status.h).
 * Setting needs the administrator's password.  The policy is quota.h's,
 * applied by the running beemofs (control_quota_set, which proves the
 * password to the daemon with the administrator's signature), else by
 * the same functions on the store opened as the administrator: set and
 * journal (quota_set), then spool the state of the "quota:NAME" report
 * condition (quota_check) and rewrite the status file.  A limit that
 * [machine NAME] quota_soft or quota_hard sets in the configuration
 * cannot be changed here (quota_conf_check): the configuration wins,
 * beemofs applies it at every mount.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bm_conf.h"
#include "bm_err.h"
#include "bm_json.h"
#include "bm_pass.h"
#include "bm_report.h"
#include "bm_status.h"
#include "bm_time.h"
#include "bm_units.h"
#include "ctl_status.h"
#include "ctl_store.h"
#include "quota.h"

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
    "  --json                one JSON object \"beemo-quota\"\n"
    "                        (beemoctl(8))\n"
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
		bm_json_head(&j, "beemo-quota", 1);
		bm_json_str(&j, "machine", m->name);
		bm_json_bool(&j, "known", m->known);
		bm_json_bool(&j, "mounted", m->mounted);
		bm_json_time(&j, "as_of", m->updated);
		bm_json_u64(&j, "stored", m->stored);
		bm_json_u64(&j, "used", m->used);
		bm_json_u64(&j, "quota_soft", m->quota_soft);
		bm_json_u64(&j, "quota_hard", m->quota_hard);
		bm_json_u64(&j, "quota_limit", m->quota_limit);
		bm_json_bool(&j, "soft_from_config", cs);
		bm_json_bool(&j, "hard_from_config", ch);
		bm_json_bool(&j, "over_soft", m->quota_soft &&
		    m->used > m->quota_soft);
		bm_json_bool(&j, "at_hard", m->quota_limit &&
		    m->used >= m->quota_limit);
		bm_json_end_obj(&j);
		return;
	}
	if (!m->known) {
		printf("machine %s: no backup session yet\n", m->name);
		return;
	}
	printf("machine %s: uses %s (%" PRIu64 " bytes; packs %s), %s %s\n",
	    m->name, bm_human(b1, sizeof(b1), m->used), m->used,
	    bm_human(b2, sizeof(b2), m->stored), m->mounted ? "now" :
	    "as of", m->mounted ? "(mounted)" : bm_time_show(t, sizeof(t),
	    m->updated));
	printf("  soft limit  %s%s%s\n", m->quota_soft ? bm_human(b2,
	    sizeof(b2), m->quota_soft) : "none", cs ?
	    " (from the configuration)" : "", m->quota_soft && m->used >
	    m->quota_soft ? "  OVER" : "");
	printf("  hard limit  %s%s%s\n", m->quota_limit ? bm_human(b3,
	    sizeof(b3), m->quota_limit) : "none", ch ?
	    " (from the configuration)" : m->quota_limit && !m->quota_hard ?
	    " (default: [store] machine_quota)" : "", m->quota_limit &&
	    m->used >= m->quota_limit ? "  FULL" : "");
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

/* Change the quota of a store no daemon holds, with the daemon's
 * policy. */
static int
set_closed(const struct ctl *ctl, const char *name, struct ctl_opts *o,
    const struct quota_change *c)
{
	struct ctl_session s;
	struct quota_state q;
	struct bm_mstatus ms;
	struct store_stats st;
	char msg[512] = "";
	int rc;

	if ((rc = ctl_session_open(ctl, name, o, 1, &s)) != 0)
		return rc;
	if ((rc = quota_set(s.st, ctl->conf, name, c, "admin", msg,
	    sizeof(msg))) != 0) {
		ctl_err(ctl, "%s: cannot set the quota: %s", name, *msg ? msg :
		    beemo_strerror(rc));
		ctl_session_close(ctl, &s);
		return CTL_FAIL;
	}
	if (quota_check(s.st, name, -1, &q) == 1)
		(void)ctl_report_spool(ctl, &q.report);
	memset(&ms, 0, sizeof(ms));
	if (store_stats(s.st, &st) == 0) {
		bm_status_copy(ms.machine, sizeof(ms.machine), name);
		ms.updated = bm_now_ns();
		ms.files = st.files;
		ms.dirs = st.dirs;
		ms.bytes = st.bytes;
		ms.stored = st.stored;
		ms.used = st.used;
		ms.quota_limit = st.quota_limit;
		ms.packs = st.packs;
		ms.snapshots = st.snapshots;
		ms.last_snapshot = st.last_snapshot;
		(void)store_quota_get(s.st, &ms.quota_soft, &ms.quota_hard);
		(void)bm_mstatus_write(ctl->store, &ms);
	}
	return ctl_session_close(ctl, &s);
}

/* Change the quota through the running beemofs: the administrator's
 * password unlocks ADMIN_PRIV here, the daemon checks its signature. */
static int
set_mounted(const struct ctl *ctl, const char *name, struct ctl_opts *o,
    keymgr *km, struct control_client *cc, const struct quota_change *c)
{
	struct control_quota q = {c->set_soft, c->set_hard, c->soft, c->hard};
	keymgr_admin_key *admin = NULL;
	char *pw = NULL;
	size_t pwlen = 0;
	int rc;

	if (ctl_password(ctl, "Administrator password: ", o->password_file,
	    "BEEMO_PASSWORD_FILE", 0, &pw, &pwlen) != 0)
		return CTL_FAIL;
	rc = keymgr_admin_key_unlock(km, pw, pwlen, &admin);
	bm_free_secret(pw, pwlen);
	if (rc != 0)
		return ctl_km_fail(ctl, km);
	rc = ctl_daemon_done(ctl, name, cc, control_quota_set(cc, admin, &q));
	keymgr_admin_key_free(admin);
	return rc == 1 ? 0 : CTL_FAIL;
}

int
cmd_quota(struct ctl *ctl, int argc, char **argv)
{
	struct keymgr_machine_info info;
	struct ctl_machine m;
	struct ctl_opts o;
	struct control_client cc;
	struct quota_change c;
	uint64_t soft = 0, hard = 0;
	char msg[512], a[32], b[32], *stats = NULL;
	const char *name;
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
	c.set_soft = o.soft != NULL;
	c.set_hard = o.hard != NULL;
	c.soft = soft;
	c.hard = hard;
	/* Refused before the password is asked; the daemon and quota_set
	 * check it again. */
	if (quota_conf_check(ctl->conf, name, &c, msg, sizeof(msg)) != 0) {
		ctl_err(ctl, "%s", msg);
		goto out;
	}
	if (ctl_daemon(ctl, name, &cc) != 0)
		goto out;
	switch (ctl_daemon_done(ctl, name, &cc, control_stats(&cc, &stats))) {
	case 1:
		if (set_mounted(ctl, name, &o, km, &cc, &c) != 0)
			goto out;
		break;
	case 0:
		if (set_closed(ctl, name, &o, &c) != 0)
			goto out;
		break;
	default:
		goto out;
	}
	snprintf(a, sizeof(a), "%" PRIu64, soft);
	snprintf(b, sizeof(b), "%" PRIu64, hard);
	ctl_alog(ctl, km, "quota", "admin", "machine %s: quota set:%s%s%s%s",
	    name, o.soft ? " soft " : "", o.soft ? a : "", o.hard ?
	    " hard " : "", o.hard ? b : "");
	lookup(ctl, name, &m);
	if (!ctl->quiet || o.json)
		show(ctl, &m, o.json);
	rc = CTL_OK;
out:
	free(stats);
	keymgr_free(km);
	return rc;
}
