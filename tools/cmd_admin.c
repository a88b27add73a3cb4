/*
 * cmd_admin.c -- `beemoctl admin passwd`: the administrator's password.
 *
 * By default the change also replaces the ADMIN key pair and the off-site
 * key (keymgr_admin_passwd): every machine's generations are rewrapped
 * and each machine starts a new generation, so the old password with an
 * old admin.key opens nothing written afterwards.  --keep-keys only
 * reseals admin.key (one atomic replace) and revokes nothing.
 *
 * A backup session goes on sealing with the generation it unlocked at
 * its start, so the default change first takes every machine's session
 * lock (ctl_machine_lock) and holds them all until it is done: it
 * refuses, changing nothing, while any machine has a session open.
 *
 * The retention policies are signed with the administrator's key
 * (retention.h): those that verify before a key replacement are signed
 * again with the new key after it, each with its time of setting.
 */
#include <stdio.h>
#include <stdlib.h>

#include "beemoctl.h"
#include "bm_err.h"
#include "bm_pass.h"
#include "ctl_store.h"
#include "retention.h"

static const char passwd_usage[] =
    "[--password-file OLD] [--new-password-file NEW] [--keep-keys]\n"
    "\n"
    "Change the administrator's password, and replace the administrator's\n"
    "key pair and off-site key so that the old password opens nothing\n"
    "written from now on.  If interrupted, run it again with the same\n"
    "passwords to finish.\n"
    "\n"
    "  --password-file OLD      the current password (default\n"
    "                           $BEEMO_PASSWORD_FILE, or the terminal)\n"
    "  --new-password-file NEW  the new password (default\n"
    "                           $BEEMO_NEW_PASSWORD_FILE, or the terminal)\n"
    "  --keep-keys              only reseal with the new password: keeps\n"
    "                           the key pair, revokes nothing\n"
    "  --help                   this help\n";

/* Lock every machine (*@locks: malloc'd, -1 for a machine without a
 * store; release with unlock_all()).  0, or CTL_FAIL after a message. */
static int
lock_all(struct ctl *ctl, keymgr *km, int **locks, size_t *n)
{
	char **names = NULL;
	size_t i;
	int rc = CTL_FAIL;

	*locks = NULL;
	*n = 0;
	if (keymgr_machine_list(km, &names, n) != 0)
		return ctl_km_fail(ctl, km);
	if ((*locks = calloc(*n ? *n : 1, sizeof(**locks))) == NULL) {
		ctl_err(ctl, "out of memory");
		goto out;
	}
	for (i = 0; i < *n; i++)
		(*locks)[i] = -1;
	for (i = 0; i < *n; i++)
		if (ctl_machine_lock(ctl, names[i], &(*locks)[i]) != 0)
			goto out;
	rc = 0;
out:
	keymgr_names_free(names, *n);
	return rc;
}

static void
unlock_all(int *locks, size_t n)
{
	size_t i;

	for (i = 0; locks != NULL && i < n; i++)
		ctl_machine_unlock(locks[i]);
	free(locks);
}

/* Sign the policies @v again with the new key (password @pw). */
static void
resign(struct ctl *ctl, const struct retention_file *v, size_t n,
    size_t refused, const char *pw, size_t pwlen)
{
	keymgr *km = NULL;
	keymgr_admin_key *k = NULL;
	int rc = 0;

	if (n > 0 && ((rc = keymgr_open(ctl->keydir, &km)) != 0 ||
	    (rc = keymgr_admin_key_unlock(km, pw, pwlen, &k)) != 0 ||
	    (rc = retention_resign(ctl->store, v, n, k)) != 0))
		fprintf(stderr, "%s: %s: warning: the retention policies "
		    "could not all be signed with the new key (%s): set them "
		    "again with beemoctl retention\n", ctl->prog, ctl->verb,
		    beemo_strerror(rc));
	if (refused > 0)
		fprintf(stderr, "%s: %s: warning: %zu retention polic%s "
		    "refused before the change stay%s refused\n", ctl->prog,
		    ctl->verb, refused, refused == 1 ? "y" : "ies",
		    refused == 1 ? "s" : "");
	keymgr_admin_key_free(k);
	keymgr_free(km);
}

static int
admin_passwd(struct ctl *ctl, int argc, char **argv)
{
	struct ctl_opts o;
	char *old = NULL, *new = NULL;
	size_t oldlen = 0, newlen = 0;
	keymgr *km = NULL;
	int *locks = NULL, rc;
	size_t nlocks = 0, npol = 0, refused = 0;
	struct retention_file *pol = NULL;

	if ((rc = ctl_parse(ctl, argc, argv, CTL_O_PASSWORD |
	    CTL_O_NEW_PASSWORD | CTL_O_KEEP_KEYS, 0, 0, passwd_usage,
	    &o)) >= 0)
		return rc;
	rc = CTL_FAIL;
	if (ctl_keymgr(ctl, &km) != 0 ||
	    (!o.keep_keys && lock_all(ctl, km, &locks, &nlocks) != 0) ||
	    ctl_password(ctl, "Current administrator password: ",
	    o.password_file, "BEEMO_PASSWORD_FILE", 0, &old, &oldlen) != 0 ||
	    ctl_password(ctl, "New administrator password: ",
	    o.new_password_file, "BEEMO_NEW_PASSWORD_FILE", 1, &new,
	    &newlen) != 0)
		goto out;
	if (!o.keep_keys && retention_collect(ctl->store, km, &pol, &npol,
	    &refused) != 0) {
		ctl_err(ctl, "cannot read the retention policies");
		goto out;
	}
	if (keymgr_admin_passwd(km, old, oldlen, new, newlen,
	    o.keep_keys ? KEYMGR_PASSWD_KEEP_KEYS : 0) != 0) {
		rc = ctl_km_fail(ctl, km);
		goto out;
	}
	if (!ctl->quiet)
		printf("administrator password changed%s\n", o.keep_keys ?
		    " (same keys)" : "; new administrator keys and a new key "
		    "generation for every machine");
	ctl_alog(ctl, km, "admin", "admin", o.keep_keys ?
	    "administrator password changed (same keys)" :
	    "administrator password and keys changed");
	if (!o.keep_keys)
		resign(ctl, pol, npol, refused, new, newlen);
	rc = CTL_OK;
out:
	free(pol);
	bm_free_secret(new, newlen);
	bm_free_secret(old, oldlen);
	keymgr_free(km);
	unlock_all(locks, nlocks);
	return rc;
}

static const struct ctl_sub subs[] = {
	{"passwd", admin_passwd, passwd_usage},
};

int
cmd_admin(struct ctl *ctl, int argc, char **argv)
{
	return ctl_subcommand(ctl, subs, sizeof(subs) / sizeof(subs[0]), argc,
	    argv);
}
