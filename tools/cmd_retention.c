/*
 * cmd_retention.c -- `beemoctl retention`: show or set the retention
 * policy of a machine, or the default of every machine.
 *
 * Setting signs the policy with the administrator's key (retention.h):
 * the administrator's password is asked, and nothing else opens that
 * key, so neither a user's password nor a POSTE key file can change a
 * policy.  Showing needs no password: the signature is checked with the
 * administrator's public key.  After a change the preview lists what the
 * policy would forget now (the store is read with the administrator's
 * password already typed, or asked to the mounted backup session).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bm_bytes.h"
#include "bm_err.h"
#include "bm_json.h"
#include "bm_pass.h"
#include "bm_time.h"
#include "ctl_policy.h"
#include "ctl_store.h"

static const char usage[] =
    "MACHINE|--default [--keep-last N] [--keep-within D]\n"
    "       [--keep-hourly N] [--keep-daily N] [--keep-weekly N]\n"
    "       [--keep-monthly N] [--keep-yearly N] [--min-age D] [--clear]\n"
    "       [--json] [--password-file FILE] [--yes] [--dry-run]\n"
    "\n"
    "Without options, show the retention policy in force for MACHINE (its\n"
    "own, or the default) or the default itself.  With rules, replace it\n"
    "with a policy of these rules, signed with the administrator's key,\n"
    "and preview what it would forget now; with --clear, remove it (a\n"
    "machine then follows the default).  A policy that would forget\n"
    "snapshots now is confirmed first on a terminal; without one, it is\n"
    "refused unless --yes.  Changes need the administrator's\n"
    "password.  The policy is applied at the end of every backup session\n"
    "and by 'beemoctl forget MACHINE'.  D is a duration: 12h, 30d, 2w,\n"
    "1y2m (y years, m months, w weeks, d days, h hours).\n"
    "\n"
    "  --default             the default of every machine without a\n"
    "                        policy of its own\n"
    "  --keep-last N         the N newest snapshots\n"
    "  --keep-within D       every snapshot taken in the last D\n"
    "  --keep-hourly N       the newest snapshot of each of the N newest\n"
    "                        hours that have one (local time); likewise\n"
    "  --keep-daily N        days,\n"
    "  --keep-weekly N       ISO weeks,\n"
    "  --keep-monthly N      months,\n"
    "  --keep-yearly N       years\n"
    "  --min-age D           never forget a snapshot younger than D\n"
    "                        (default 7d; 0: no such protection)\n"
    "  --clear               remove the policy\n"
    "  --json                one JSON object \"beemo-retention\"\n"
    "                        (beemoctl(8))\n"
    "  --yes                 set a policy that forgets snapshots without\n"
    "                        asking (needed without a terminal)\n"
    "  --dry-run             say what would be set and what it would\n"
    "                        forget now; change nothing\n"
    "  --password-file FILE  read the administrator's password from FILE\n"
    "                        (default $BEEMO_PASSWORD_FILE, or the terminal)\n"
    "  --help                this help\n";

/* The snapshots of @machine: from its mounted session, else the store
 * opened read-only with the administrator's password @pw. */
static int
snapshots(const struct ctl *ctl, keymgr *km, const char *machine,
    const char *pw, size_t pwlen, struct retention_snap **out, size_t *n)
{
	struct control_client c;
	struct store_snapinfo *v = NULL;
	struct store_opts so;
	keymgr_secret *sec = NULL;
	store *st = NULL;
	char dir[4096];
	size_t i, nv = 0;
	int rc;

	if (ctl_daemon(ctl, machine, &c) != 0 ||
	    ctl_machine_dir(ctl, machine, dir, sizeof(dir)) != 0)
		return CTL_FAIL;
	rc = ctl_daemon_done(ctl, machine, &c, control_snapshots(&c, &v, &nv));
	if (rc < 0)
		return CTL_FAIL;
	if (rc == 0) {
		memset(&so, 0, sizeof(so));
		so.rdonly = 1;
		rc = keymgr_unlock_admin(km, machine, pw, pwlen, &sec);
		if (rc != 0)
			return ctl_km_fail(ctl, km);
		rc = store_open(dir, sec, &so, &st);
		if (rc == 0)
			rc = store_snapshots(st, &v, &nv);
		store_close(st);
		keymgr_secret_free(sec);
		if (rc == BEEMO_ENOSTORE) {
			*out = NULL;
			*n = 0;
			return 0;
		}
		if (rc != 0) {
			ctl_err(ctl, "%s: %s", dir, beemo_strerror(rc));
			return CTL_FAIL;
		}
	}
	if ((*out = calloc(nv ? nv : 1, sizeof(**out))) == NULL) {
		free(v);
		ctl_err(ctl, "out of memory");
		return CTL_FAIL;
	}
	for (i = 0; i < nv; i++) {
		(*out)[i].id = v[i].id;
		(*out)[i].time = v[i].time;
		(*out)[i].complete = strcmp(v[i].note,
		    RETENTION_COMPLETE_NOTE) == 0;
		(*out)[i].tagged = v[i].ntags > 0;
	}
	*n = nv;
	free(v);
	return 0;
}

/* The @n snapshots of @machine into *@v and, into *@r, what keeps each
 * under @p now (0: @p forgets it); the caller frees both.  0, or
 * CTL_FAIL after a message. */
static int
evaluate(const struct ctl *ctl, keymgr *km, const char *machine,
    const struct retention_policy *p, const char *pw, size_t pwlen,
    struct retention_snap **v, unsigned **r, size_t *n)
{
	*v = NULL;
	*r = NULL;
	*n = 0;
	if (snapshots(ctl, km, machine, pw, pwlen, v, n) != 0)
		return CTL_FAIL;
	if ((*r = calloc(*n ? *n : 1, sizeof(**r))) == NULL ||
	    retention_eval(*v, *n, bm_now_ns(), p, *r) != 0) {
		free(*v);
		free(*r);
		*v = NULL;
		*r = NULL;
		ctl_err(ctl, "out of memory");
		return CTL_FAIL;
	}
	return 0;
}

/*
 * A policy that would forget snapshots now is confirmed first: anyone
 * who opens the machine may apply it (beemoctl forget), and every
 * backup session does.  0 to go on, else the exit status.
 */
static int
confirm_policy(const struct ctl *ctl, keymgr *km, const char *machine,
    const struct retention_policy *p, const char *pw, size_t pwlen,
    int yes)
{
	struct retention_snap *v = NULL;
	unsigned *r = NULL;
	size_t n = 0, i, gone = 0;
	int rc;

	if (yes)
		return 0;
	if (evaluate(ctl, km, machine, p, pw, pwlen, &v, &r, &n) != 0)
		return CTL_FAIL;
	for (i = 0; i < n; i++)
		gone += r[i] == 0;
	free(v);
	free(r);
	if (gone == 0)
		return 0;
	rc = ctl_confirm(ctl, 0, NULL, "This policy would forget %zu of the "
	    "%zu snapshots of %s now (at the end of its next backup session, "
	    "or by beemoctl forget). Set it?", gone, n, machine);
	return rc;
}

/* What @p would forget of @machine now: as text, or in @j's object. */
static int
preview(const struct ctl *ctl, keymgr *km, const char *machine,
    const struct retention_policy *p, const char *pw, size_t pwlen,
    bm_json *j)
{
	struct retention_snap *v = NULL;
	unsigned *r = NULL;
	char t[32];
	size_t n = 0, i, gone = 0;

	if (evaluate(ctl, km, machine, p, pw, pwlen, &v, &r, &n) != 0)
		return CTL_FAIL;
	if (j != NULL)
		bm_json_begin_arr(j, "would_forget");
	for (i = 0; i < n; i++) {
		if (r[i] != 0)
			continue;
		gone++;
		if (j != NULL) {
			bm_json_begin_obj(j, NULL);
			bm_json_u64(j, "id", v[i].id);
			bm_json_time(j, "time", v[i].time);
			bm_json_end_obj(j);
		} else {
			printf("  would forget snapshot %u (%s)\n", v[i].id,
			    bm_time_show(t, sizeof(t), v[i].time));
		}
	}
	if (j != NULL)
		bm_json_end_arr(j);
	else
		printf("preview: %zu of %zu snapshots would be forgotten now "
		    "(beemoctl forget %s --dry-run lists them all)\n", gone, n,
		    machine);
	free(v);
	free(r);
	return 0;
}

static int
show(const struct ctl *ctl, keymgr *km, const char *machine, int json)
{
	char line[1024];
	int rc = ctl_policy_describe(ctl, km, machine, line, sizeof(line));
	bm_json j;

	if (json) {
		bm_json_init(&j, stdout);
		bm_json_head(&j, "beemo-retention", 1);
		if (machine != NULL)
			bm_json_str(&j, "machine", machine);
		else
			bm_json_bool(&j, "default", 1);
		if (rc == -ENOENT)
			bm_json_null(&j, "policy");
		else
			bm_json_str(&j, rc == 0 ? "policy" : "error", line);
		bm_json_end_obj(&j);
	} else {
		printf("%s: %s\n", machine ? machine : "default", line);
	}
	if (rc != 0 && rc != -ENOENT) {
		ctl_err(ctl, "%s", line + strlen("REFUSED: "));
		return CTL_FAIL;
	}
	return CTL_OK;
}

int
cmd_retention(struct ctl *ctl, int argc, char **argv)
{
	struct ctl_policy_args pa;
	struct ctl_opts o;
	keymgr *km = NULL;
	keymgr_admin_key *k = NULL;
	const char *machine;
	char *pw = NULL, line[256];
	size_t pwlen = 0;
	bm_json j;
	int rc;

	if ((rc = ctl_policy_args(ctl, &argc, argv, CTL_P_RULES |
	    CTL_P_CLEAR | CTL_P_DEFAULT | CTL_P_DRY_RUN, &pa)) >= 0)
		return rc;
	if ((rc = ctl_parse(ctl, argc, argv, CTL_O_JSON | CTL_O_PASSWORD |
	    CTL_O_USER | CTL_O_POSTE_KEY | CTL_O_YES, pa.dflt ? 0 : 1,
	    pa.dflt ? 0 : 1, usage, &o)) >= 0)
		return rc;
	machine = pa.dflt ? NULL : o.args[0];
	if (machine != NULL && !bm_valid_name(machine)) {
		ctl_err(ctl, "'%s' is not a valid machine name", machine);
		return CTL_USAGE;
	}
	if (pa.clear && pa.rules) {
		ctl_err(ctl, "--clear takes no rules");
		return CTL_USAGE;
	}
	if (pa.rules && retention_policy_empty(&pa.p)) {
		ctl_err(ctl, "a policy needs at least one --keep rule");
		return CTL_USAGE;
	}
	if ((pa.rules || pa.clear) && (o.user || o.poste_key)) {
		ctl_err(ctl, "a retention policy is set by the administrator "
			     "only: a user's password or a POSTE key file "
			     "cannot change it");
		return CTL_FAIL;
	}
	if (ctl_keymgr(ctl, &km) != 0)
		return CTL_FAIL;
	if (machine != NULL) {
		struct keymgr_machine_info info;

		if (keymgr_machine_info(km, machine, &info, NULL, NULL) != 0) {
			rc = ctl_km_fail(ctl, km);
			goto out;
		}
	}
	if (!pa.rules && !pa.clear) {
		rc = show(ctl, km, machine, o.json);
		goto out;
	}
	rc = CTL_FAIL;
	if (ctl_password(ctl, "Administrator password: ", o.password_file,
	    "BEEMO_PASSWORD_FILE", 0, &pw, &pwlen) != 0)
		goto out;
	if (keymgr_admin_key_unlock(km, pw, pwlen, &k) != 0) {
		ctl_km_fail(ctl, km);
		goto out;
	}
	if (pa.dry_run) {
		retention_str(&pa.p, line, sizeof(line));
		if (!pa.rules) {
			printf("dry run: would remove the policy of %s\n",
			    machine ? machine : "default");
			rc = CTL_OK;
			goto out;
		}
		printf("dry run: would set the policy of %s to %s\n",
		    machine ? machine : "default", line);
		rc = machine != NULL && preview(ctl, km, machine, &pa.p, pw,
		    pwlen, NULL) != 0 ? CTL_FAIL : CTL_OK;
		goto out;
	}
	if (pa.rules && machine != NULL && (rc = confirm_policy(ctl, km,
	    machine, &pa.p, pw, pwlen, o.yes)) != 0)
		goto out;
	rc = CTL_FAIL;
	if (pa.clear) {
		int crc = retention_clear(ctl->store, machine);

		if (crc != 0 && crc != -ENOENT) {
			ctl_err(ctl, "%s", beemo_strerror(crc));
			goto out;
		}
		if (!o.json)
			printf("%s: %s\n", machine ? machine : "default",
			    crc == -ENOENT ? "had no policy of its own" :
			    "policy removed");
		ctl_alog(ctl, km, "retention", "admin", "%s: retention policy "
		    "removed", machine ? machine : "default");
		rc = CTL_OK;
		goto out;
	}
	if ((rc = retention_save(ctl->store, machine, &pa.p, k)) != 0) {
		ctl_err(ctl, "cannot write the policy: %s", beemo_strerror(rc));
		rc = CTL_FAIL;
		goto out;
	}
	retention_str(&pa.p, line, sizeof(line));
	ctl_alog(ctl, km, "retention", "admin", "%s: retention policy set: %s",
	    machine ? machine : "default", line);
	if (o.json) {
		bm_json_init(&j, stdout);
		bm_json_head(&j, "beemo-retention", 1);
		if (machine != NULL)
			bm_json_str(&j, "machine", machine);
		else
			bm_json_bool(&j, "default", 1);
		bm_json_str(&j, "policy", line);
	} else {
		printf("%s: %s\n", machine ? machine : "default", line);
	}
	rc = CTL_OK;
	if (machine != NULL && preview(ctl, km, machine, &pa.p, pw, pwlen,
	    o.json ? &j : NULL) != 0)
		rc = CTL_FAIL;
	if (o.json) {
		bm_json_end_obj(&j);
	}
out:
	if (pw != NULL)
		bm_free_secret(pw, pwlen);
	keymgr_admin_key_free(k);
	keymgr_free(km);
	return rc;
}
