/*
 * cmd_user.c -- `beemoctl user add|list|remove|passwd|reset`: the users
 * of a machine.
 *
 * A user restores their own machine's backups with their password.  The
 * administrator adds, removes and resets users; `user passwd` is the
 * user's own change, authorized by their current password.
 */
#include <stdio.h>
#include <string.h>

#include "beemoctl.h"
#include "bm_json.h"
#include "bm_pass.h"
#include "ctl_store.h"

static const char add_usage[] =
    "MACHINE USER [--password-file FILE] [--user-password-file FILE]\n"
    "       [--json]\n"
    "\n"
    "Add USER to MACHINE; every key generation is wrapped for the user.\n"
    "\n"
    "  --password-file FILE       the administrator's password (default\n"
    "                             $BEEMO_PASSWORD_FILE, or the terminal)\n"
    "  --user-password-file FILE  the new user's password (default\n"
    "                             $BEEMO_USER_PASSWORD_FILE, or the "
    "terminal)\n"
    "  --json                     one JSON object \"beemo-user-add\"\n"
    "                             (beemoctl(8))\n"
    "  --help                     this help\n";

static const char list_usage[] =
    "MACHINE [--json]\n"
    "\n"
    "List the users of MACHINE.\n"
    "\n"
    "  --json  one JSON object \"beemo-users\" (beemoctl(8))\n"
    "  --help  this help\n";

static const char remove_usage[] =
    "MACHINE USER [--password-file FILE] [--yes] [--dry-run]\n"
    "       [--json]\n"
    "\n"
    "Remove USER from MACHINE: its key pair and wrapped SECRETs are erased,\n"
    "and a new key generation the user never had becomes current.  Asks\n"
    "first on a terminal; without one, refuses unless --yes.\n"
    "\n"
    "  --password-file FILE  the administrator's password (default\n"
    "                        $BEEMO_PASSWORD_FILE, or the terminal)\n"
    "  --json                one JSON object \"beemo-user-remove\"\n"
    "                        (beemoctl(8))\n"
    "  --yes                 do not ask (needed without a terminal)\n"
    "  --dry-run             say what would be done, do nothing\n"
    "  --help                this help\n";

static const char passwd_usage[] =
    "MACHINE USER [--password-file OLD] [--new-password-file NEW]\n"
    "       [--json]\n"
    "\n"
    "Change USER's own password on MACHINE.\n"
    "\n"
    "  --password-file OLD      the user's current password (default\n"
    "                           $BEEMO_PASSWORD_FILE, or the terminal)\n"
    "  --new-password-file NEW  the new password (default\n"
    "                           $BEEMO_NEW_PASSWORD_FILE, or the terminal)\n"
    "  --json                   one JSON object \"beemo-user-passwd\"\n"
    "                           (beemoctl(8))\n"
    "  --help                   this help\n";

static const char reset_usage[] =
    "MACHINE USER [--password-file FILE] [--new-password-file NEW]\n"
    "       [--yes] [--dry-run] [--json]\n"
    "\n"
    "Reset USER's forgotten password (administrator): USER gets a new key\n"
    "pair sealed with the new password, and a new key generation that the\n"
    "old one never had becomes current.  Asks first on a terminal; without\n"
    "one, refuses unless --yes.\n"
    "\n"
    "  --password-file FILE     the administrator's password (default\n"
    "                           $BEEMO_PASSWORD_FILE, or the terminal)\n"
    "  --new-password-file NEW  the user's new password (default\n"
    "                           $BEEMO_NEW_PASSWORD_FILE, or the terminal)\n"
    "  --json                   one JSON object \"beemo-user-reset\"\n"
    "                           (beemoctl(8))\n"
    "  --yes                    do not ask (needed without a terminal)\n"
    "  --dry-run                say what would be done, do nothing\n"
    "  --help                   this help\n";

static int
user_add(struct ctl *ctl, int argc, char **argv)
{
	struct ctl_opts o;
	char *apw = NULL, *upw = NULL, prompt[128];
	size_t apwlen = 0, upwlen = 0;
	keymgr *km = NULL;
	int rc;

	if ((rc = ctl_parse(ctl, argc, argv, CTL_O_PASSWORD |
	    CTL_O_USER_PASSWORD | CTL_O_JSON, 2, 2, add_usage, &o)) >= 0)
		return rc;
	snprintf(prompt, sizeof(prompt), "New password for user %.64s: ",
	    o.args[1]);
	rc = CTL_FAIL;
	if (ctl_keymgr(ctl, &km) != 0 ||
	    ctl_password(ctl, "Administrator password: ", o.password_file,
	    "BEEMO_PASSWORD_FILE", 0, &apw, &apwlen) != 0 ||
	    ctl_password(ctl, prompt, o.user_password_file,
	    "BEEMO_USER_PASSWORD_FILE", 1, &upw, &upwlen) != 0)
		goto out;
	if (keymgr_user_add(km, o.args[0], o.args[1], upw, upwlen, apw,
	    apwlen) != 0) {
		rc = ctl_km_fail(ctl, km);
		goto out;
	}
	if (o.json)
		ctl_json_done("beemo-user-add", o.args[0], o.args[1]);
	else if (!ctl->quiet)
		printf("user %s added to machine %s\n", o.args[1], o.args[0]);
	ctl_alog(ctl, km, "user", "admin", "user %s added to machine %s",
	    o.args[1], o.args[0]);
	rc = CTL_OK;
out:
	bm_free_secret(upw, upwlen);
	bm_free_secret(apw, apwlen);
	keymgr_free(km);
	return rc;
}

static int
user_list(struct ctl *ctl, int argc, char **argv)
{
	struct keymgr_machine_info info;
	struct ctl_opts o;
	char **users = NULL;
	size_t n = 0, i;
	keymgr *km = NULL;
	bm_json j;
	int rc;

	if ((rc = ctl_parse(ctl, argc, argv, CTL_O_JSON, 1, 1, list_usage,
	    &o)) >= 0)
		return rc;
	if (ctl_keymgr(ctl, &km) != 0)
		return CTL_FAIL;
	if (keymgr_machine_info(km, o.args[0], &info, &users, &n) != 0) {
		rc = ctl_km_fail(ctl, km);
		goto out;
	}
	if (o.json) {
		bm_json_init(&j, stdout);
		bm_json_head(&j, "beemo-users", 2);
		bm_json_str(&j, "machine", o.args[0]);
		bm_json_begin_arr(&j, "users");
		for (i = 0; i < n; i++)
			bm_json_str(&j, NULL, users[i]);
		bm_json_end_arr(&j);
		bm_json_end_obj(&j);
	} else {
		for (i = 0; i < n; i++)
			printf("%s\n", users[i]);
	}
	rc = CTL_OK;
out:
	keymgr_names_free(users, n);
	keymgr_free(km);
	return rc;
}

/*
 * The question before removing or resetting @user of @machine, or with
 * --dry-run what would be done: 0 to go on, else the exit status (after
 * a message; CTL_OK after a dry run).  The user must exist, so that a
 * typo is said before any password is asked.
 */
static int
user_confirm(struct ctl *ctl, const struct ctl_opts *o, int reset)
{
	const char *machine = o->args[0], *user = o->args[1];
	struct keymgr_machine_info info;
	char **users = NULL;
	size_t n = 0, i;
	keymgr *km = NULL;
	int rc = CTL_FAIL;

	if (ctl_keymgr(ctl, &km) != 0)
		return CTL_FAIL;
	if (keymgr_machine_info(km, machine, &info, &users, &n) != 0) {
		rc = ctl_km_fail(ctl, km);
		goto out;
	}
	for (i = 0; i < n && strcmp(users[i], user) != 0; i++)
		;
	if (i == n) {
		ctl_err(ctl, "machine %s has no user %s", machine, user);
		goto out;
	}
	if (o->dry_run && o->json) {
		bm_json j;

		bm_json_init(&j, stdout);
		bm_json_head(&j, reset ? "beemo-user-reset" :
		    "beemo-user-remove", 1);
		bm_json_str(&j, "machine", machine);
		bm_json_str(&j, "user", user);
		bm_json_bool(&j, "dry_run", 1);
		bm_json_u64(&j, "generation", info.ngens + 1);
		bm_json_end_obj(&j);
		rc = CTL_OK;
		goto out;
	}
	if (o->dry_run) {
		printf("dry run: would %s user %s of machine %s; generation "
		    "%u would become current\n", reset ? "reset the password "
		    "of" : "remove", user, machine, info.ngens + 1);
		rc = CTL_OK;
		goto out;
	}
	rc = ctl_confirm(ctl, o->yes, NULL, reset ? "Reset the password of "
	    "user %s of machine %s? Its old password will no longer open "
	    "the machine's backups." : "Remove user %s of machine %s? Its "
	    "password will no longer open the machine's backups.", user,
	    machine);
	if (rc == 0)
		rc = -1;
out:
	keymgr_names_free(users, n);
	keymgr_free(km);
	return rc;
}

static int
user_remove(struct ctl *ctl, int argc, char **argv)
{
	struct ctl_opts o;
	char *pw = NULL;
	size_t pwlen = 0;
	keymgr *km = NULL;
	int rc, lock = -1;

	if ((rc = ctl_parse(ctl, argc, argv, CTL_O_PASSWORD | CTL_O_YES |
	    CTL_O_DRY_RUN | CTL_O_JSON, 2, 2, remove_usage, &o)) >= 0)
		return rc;
	if ((rc = user_confirm(ctl, &o, 0)) >= 0)
		return rc;
	if ((rc = ctl_machine_lock(ctl, o.args[0], &lock)) != 0)
		goto out;
	rc = CTL_FAIL;
	if (ctl_keymgr(ctl, &km) != 0 ||
	    ctl_password(ctl, "Administrator password: ", o.password_file,
	    "BEEMO_PASSWORD_FILE", 0, &pw, &pwlen) != 0)
		goto out;
	if (keymgr_user_remove(km, o.args[0], o.args[1], pw, pwlen) != 0) {
		rc = ctl_km_fail(ctl, km);
		goto out;
	}
	if (o.json)
		ctl_json_done("beemo-user-remove", o.args[0], o.args[1]);
	else if (!ctl->quiet)
		printf("user %s removed from machine %s\n", o.args[1],
		    o.args[0]);
	ctl_alog(ctl, km, "user", "admin", "user %s removed from machine %s",
	    o.args[1], o.args[0]);
	rc = CTL_OK;
out:
	bm_free_secret(pw, pwlen);
	keymgr_free(km);
	ctl_machine_unlock(lock);
	return rc;
}

/* passwd and reset: the same shape, a different authority; a reset
 * revokes the current generation, so no session may be open. */
static int
user_newpw(struct ctl *ctl, int argc, char **argv, int reset)
{
	struct ctl_opts o;
	char *pw = NULL, *new = NULL, prompt[128], nprompt[128];
	size_t pwlen = 0, newlen = 0;
	keymgr *km = NULL;
	int rc, lock = -1;

	if ((rc = ctl_parse(ctl, argc, argv, CTL_O_PASSWORD |
	    CTL_O_NEW_PASSWORD | CTL_O_JSON |
	    (reset ? CTL_O_YES | CTL_O_DRY_RUN : 0), 2, 2,
	    reset ? reset_usage : passwd_usage, &o)) >= 0)
		return rc;
	if (reset && (rc = user_confirm(ctl, &o, 1)) >= 0)
		return rc;
	if (reset)
		snprintf(prompt, sizeof(prompt), "Administrator password: ");
	else
		snprintf(prompt, sizeof(prompt),
		    "Current password of user %.64s: ", o.args[1]);
	snprintf(nprompt, sizeof(nprompt), "New password for user %.64s: ",
	    o.args[1]);
	if (reset && (rc = ctl_machine_lock(ctl, o.args[0], &lock)) != 0)
		goto out;
	rc = CTL_FAIL;
	if (ctl_keymgr(ctl, &km) != 0 ||
	    ctl_password(ctl, prompt, o.password_file, "BEEMO_PASSWORD_FILE",
	    0, &pw, &pwlen) != 0 ||
	    ctl_password(ctl, nprompt, o.new_password_file,
	    "BEEMO_NEW_PASSWORD_FILE", 1, &new, &newlen) != 0)
		goto out;
	if ((reset ? keymgr_user_reset(km, o.args[0], o.args[1], pw, pwlen,
	    new, newlen) : keymgr_user_passwd(km, o.args[0], o.args[1], pw,
	    pwlen, new, newlen)) != 0) {
		rc = ctl_km_fail(ctl, km);
		goto out;
	}
	if (o.json)
		ctl_json_done(reset ? "beemo-user-reset" : "beemo-user-passwd",
		    o.args[0], o.args[1]);
	else if (!ctl->quiet)
		printf("password of user %s of machine %s %s\n", o.args[1],
		    o.args[0], reset ? "reset" : "changed");
	ctl_alog(ctl, km, "user", reset ? "admin" : "user", "password of "
	    "user %s of machine %s %s", o.args[1], o.args[0], reset ?
	    "reset" : "changed");
	rc = CTL_OK;
out:
	bm_free_secret(new, newlen);
	bm_free_secret(pw, pwlen);
	keymgr_free(km);
	ctl_machine_unlock(lock);
	return rc;
}

static int
user_passwd(struct ctl *ctl, int argc, char **argv)
{
	return user_newpw(ctl, argc, argv, 0);
}

static int
user_reset(struct ctl *ctl, int argc, char **argv)
{
	return user_newpw(ctl, argc, argv, 1);
}

static const struct ctl_sub subs[] = {
	{"add", user_add, add_usage},
	{"list", user_list, list_usage},
	{"remove", user_remove, remove_usage},
	{"passwd", user_passwd, passwd_usage},
	{"reset", user_reset, reset_usage},
};

int
cmd_user(struct ctl *ctl, int argc, char **argv)
{
	return ctl_subcommand(ctl, subs, sizeof(subs) / sizeof(subs[0]), argc,
	    argv);
}
