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
 *
 * A storage center believes only the administrator's key it pinned
 * (beemo-center(8)), so a key replacement leaves behind an endorsement
 * of the new admin.key by the old key (keymgr_admin_endorse), kept as
 * STORE/keys/admin.endorse.H (H: the new admin.key's SHA-256, first 16
 * hex digits) and pushed by beemo-sync; the center follows it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <openssl/evp.h>

#include "beemoctl.h"
#include "bm_bytes.h"
#include "bm_err.h"
#include "bm_file.h"
#include "bm_json.h"
#include "bm_pass.h"
#include "bm_time.h"
#include "ctl_store.h"
#include "retention.h"

static const char passwd_usage[] =
    "[--password-file OLD] [--new-password-file NEW] [--keep-keys]\n"
    "       [--json]\n"
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
    "  --json                   one JSON object \"beemo-admin-passwd\"\n"
    "                           (beemoctl(8))\n"
    "  --help                   this help\n";

/* Lock every machine (*@locks: malloc'd, -1 for a machine without a
 * store; release with unlock_all()).  0, or after a message BM_EXIT_BUSY
 * (a machine has a session open) or CTL_FAIL. */
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
		if ((rc = ctl_machine_lock(ctl, names[i], &(*locks)[i])) != 0)
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

/* Endorse the new admin.key with the old key @old (NULL: it did not
 * open); a failure is a warning (the change is made; the centers'
 * operators can pin the new key by hand). */
static void
endorse(struct ctl *ctl, keymgr_admin_key *old)
{
	uint8_t e[KEYMGR_ENDORSE_LEN], sha[32], *key = NULL;
	char path[4200], hex[65];
	size_t len = 0;
	int rc = BEEMO_EPASSWORD;

	if (old == NULL)
		goto out;
	if ((rc = bm_path(path, sizeof(path), "%s/admin.key", ctl->keydir)) ||
	    (rc = bm_read_file(path, 1u << 20, &key, &len)) != 0 ||
	    (rc = keymgr_admin_endorse(old, key, len, bm_now_ns(), e)) != 0)
		goto out;
	rc = -EIO;
	if (EVP_Digest(key, len, sha, NULL, EVP_sha256(), NULL) != 1)
		goto out;
	bm_hex(hex, sha, sizeof(sha));
	if ((rc = bm_path(path, sizeof(path), "%s/admin.endorse.%.16s",
	    ctl->keydir, hex)) == 0)
		rc = bm_write_file_atomic(path, e, sizeof(e), 0644, 1);
	if (rc == -EEXIST)
		rc = 0; /* the same key endorsed already (a finished retry) */
out:
	if (rc != 0)
		fprintf(stderr, "%s: %s: warning: the new administrator's key "
		    "could not be endorsed (%s): the storage centers will "
		    "refuse its deletion requests until their operators pin "
		    "it\n", ctl->prog, ctl->verb, beemo_strerror(rc));
	free(key);
}

static int
admin_passwd(struct ctl *ctl, int argc, char **argv)
{
	struct ctl_opts o;
	char *old = NULL, *new = NULL;
	size_t oldlen = 0, newlen = 0;
	keymgr *km = NULL;
	keymgr_admin_key *oldk = NULL;
	int *locks = NULL, rc;
	size_t nlocks = 0, npol = 0, refused = 0;
	struct retention_file *pol = NULL;

	if ((rc = ctl_parse(ctl, argc, argv, CTL_O_PASSWORD |
	    CTL_O_NEW_PASSWORD | CTL_O_KEEP_KEYS | CTL_O_JSON, 0, 0,
	    passwd_usage,
	    &o)) >= 0)
		return rc;
	rc = CTL_FAIL;
	if (ctl_keymgr(ctl, &km) != 0)
		goto out;
	if (!o.keep_keys && (rc = lock_all(ctl, km, &locks, &nlocks)) != 0)
		goto out;
	rc = CTL_FAIL;
	if (ctl_password(ctl, "Current administrator password: ",
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
	/* The old key, to endorse the new one.  It may not open (a wrong
	 * password, which keymgr_admin_passwd refuses below, or an
	 * interrupted change being finished): then no endorsement. */
	if (!o.keep_keys)
		(void)keymgr_admin_key_unlock(km, old, oldlen, &oldk);
	if (keymgr_admin_passwd(km, old, oldlen, new, newlen,
	    o.keep_keys ? KEYMGR_PASSWD_KEEP_KEYS : 0) != 0) {
		rc = ctl_km_fail(ctl, km);
		goto out;
	}
	if (o.json) {
		bm_json j;

		bm_json_init(&j, stdout);
		bm_json_head(&j, "beemo-admin-passwd", 1);
		bm_json_bool(&j, "keys_replaced", !o.keep_keys);
		bm_json_end_obj(&j);
	} else if (!ctl->quiet)
		printf("administrator password changed%s\n", o.keep_keys ?
		    " (same keys)" : "; new administrator keys and a new key "
		    "generation for every machine");
	ctl_alog(ctl, km, "admin", "admin", o.keep_keys ?
	    "administrator password changed (same keys)" :
	    "administrator password and keys changed");
	if (!o.keep_keys) {
		resign(ctl, pol, npol, refused, new, newlen);
		endorse(ctl, oldk);
	}
	rc = CTL_OK;
out:
	keymgr_admin_key_free(oldk);
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
