/*
 * keymgr_rekey.c -- changing the administrator's password and, unless
 * only a reseal is asked for, the ADMIN key pair and K_OFF with it.
 *
 * A reseal (KEYMGR_PASSWD_KEEP_KEYS) rewrites admin.key alone: one
 * rename.  Replacing the key pair rewrites admin.key, appliance.key and
 * every machine file, which no single rename covers, so the change is
 * made resumable instead:
 *   1. the new admin.key (a new key pair, the same BEEMO_AES, a new
 *      K_OFF, sealed with the new password) is written to
 *      DIR/admin.key.new;
 *   2. each machine file in turn is rewritten (one rename each): every
 *      generation rewrapped for the new ADMIN_PUB, and a new generation
 *      made current, which the old key pair never had a wrap of;
 *   3. appliance.key gets the new K_OFF;
 *   4. admin.key.new is renamed over admin.key.
 * While admin.key.new exists, each machine file is wrapped for exactly
 * one of the two key pairs (old password: admin.key; new password:
 * admin.key.new).  The administrator's unlock uses the one the password
 * opens and, when the machine is on the other side, says which password
 * it needs.  Every other change authorized by the administrator is
 * refused until `admin passwd` is run again with the same two passwords:
 * that opens both files, converts the machines still on the old key
 * pair (one that opens with the new pair is done) and finishes 3 and 4.
 * A crash at any point thus leaves every machine openable by the
 * administrator, and running the command again completes it.
 */
#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bm_err.h"
#include "bm_file.h"
#include "bm_pass.h"
#include "bm_time.h"
#include "keymgr_internal.h"

static int
path_admin_new(const keymgr *km, char *buf, size_t size)
{
	return bm_path(buf, size, "%s/admin.key.new", km->dir);
}

int
km_admin_settled(keymgr *km)
{
	char path[4096];
	int rc;

	if ((rc = path_admin_new(km, path, sizeof(path))) != 0)
		return rc;
	if (access(path, F_OK) != 0)
		return 0;
	return km_err(km, -EBUSY, "an interrupted change of the "
	    "administrator's password left %s: run beemoctl admin passwd "
	    "again with the same old and new passwords to finish it", path);
}

int
keymgr_admin_settled(keymgr *km)
{
	km->errmsg[0] = '\0';
	return km_done(km, km_admin_settled(km));
}

/* Parse DIR/admin.key.new into @a and open it with @pw. */
static int
open_pending(keymgr *km, const char *pw, size_t pwlen, struct km_admin *a,
    struct km_admin_keys **out)
{
	char path[4096];
	int rc;

	if ((rc = path_admin_new(km, path, sizeof(path))) != 0)
		return rc;
	if ((rc = km_load_admin_at(km, path, a)) == -ENOENT)
		return km_err(km, rc, "cannot read %s: %s", path,
		    beemo_strerror(rc));
	if (rc == 0)
		rc = km_admin_open(a, path, pw, pwlen, out, km->errmsg,
		    sizeof(km->errmsg));
	return rc;
}

int
km_unlock_admin_pending(keymgr *km, const struct km_machine *m,
    const char *pw, size_t pwlen, int rc, keymgr_secret **out)
{
	struct km_admin_keys *k = NULL;
	struct km_admin *a;
	char path[4096], msg[KM_ERRMSG_LEN];

	if ((rc != BEEMO_EPASSWORD && rc != BEEMO_EFORMAT) ||
	    path_admin_new(km, path, sizeof(path)) != 0 ||
	    access(path, F_OK) != 0)
		return rc;
	snprintf(msg, sizeof(msg), "%s", km->errmsg);
	if ((a = malloc(sizeof(*a))) == NULL)
		return -ENOMEM;
	if (open_pending(km, pw, pwlen, a, &k) != 0) {
		/* Neither file opens: the first answer stands, unless the
		 * password was right for admin.key and the machine is
		 * already on the new key pair. */
		if (rc == BEEMO_EFORMAT)
			rc = km_err(km, BEEMO_EPASSWORD, "machine %s was "
			    "already given the new administrator key by an "
			    "interrupted password change: give the new "
			    "password (and run beemoctl admin passwd again "
			    "to finish the change)", m->name);
		else
			snprintf(km->errmsg, sizeof(km->errmsg), "%s", msg);
		goto out;
	}
	if ((rc = km_unlock_all(km, m, k->priv, KEYMGR_ADMIN, 0, out)) ==
	    BEEMO_EFORMAT)
		rc = km_err(km, BEEMO_EPASSWORD, "machine %s is still on the "
		    "old administrator key of an interrupted password change: "
		    "give the old password (and run beemoctl admin passwd "
		    "again to finish the change)", m->name);
out:
	km_admin_keys_free(k);
	free(a);
	return rc;
}

/*
 * Write appliance.key (version 2) with @k's BEEMO_AES and K_OFF, keeping
 * the creation time of the one it replaces.
 */
static int
write_appliance(keymgr *km, const struct km_admin_keys *k)
{
	struct km_appliance old = {0}, ap = {0};
	uint8_t *img = NULL;
	size_t len = 0;
	char path[4096];
	int rc;

	ap.created = bm_now_ns();
	if ((rc = km_load_appliance(km, &old)) == 0)
		ap.created = old.created;
	else if (rc != -ENOENT)
		return rc;
	km_appliance_clear(&old);
	memcpy(ap.appliance_id, km->appliance_id, KEYMGR_ID_LEN);
	/* Borrowed from @k: not freed here. */
	ap.beemo_aes = (uint8_t *)k->beemo_aes;
	ap.k_off = (uint8_t *)k->k_off;
	if ((rc = km_path_appliance(km, path, sizeof(path))) != 0 ||
	    (rc = km_ser_appliance(&ap, &img, &len)) != 0)
		return rc;
	if ((rc = bm_write_file_atomic(path, img, len, 0600, 0)) != 0)
		km_err(km, rc, "cannot write %s: %s", path,
		    beemo_strerror(rc));
	bm_free_secret(img, len);
	return rc;
}

/* Serialize @a and replace @path with it. */
static int
write_admin(keymgr *km, const struct km_admin *a, const char *path)
{
	uint8_t *img = NULL;
	size_t len = 0;
	int rc;

	if ((rc = km_ser_admin(a, &img, &len)) != 0)
		return rc;
	if ((rc = bm_write_file_atomic(path, img, len, 0600, 0)) != 0)
		km_err(km, rc, "cannot write %s: %s", path,
		    beemo_strerror(rc));
	free(img);
	return rc;
}

/*
 * BEEMO_AES of a version 1 admin.key @ad, from its RSA wrap, into @k,
 * and a first K_OFF, so that @k can be sealed as version 2.
 */
static int
admin_v1_keys(keymgr *km, const struct km_admin *ad, struct km_admin_keys *k)
{
	static const uint8_t zero[KEYMGR_ID_LEN];
	uint8_t label[KM_LABEL_MAX];
	size_t labellen = km_label(label, km->appliance_id, zero, 0,
	    KEYMGR_ADMIN, "appliance-key");

	if (km_unwrap(k->priv, label, labellen, ad->aes_wrap,
	    k->beemo_aes) != 0)
		return km_err(km, BEEMO_EFORMAT, "key file %s/admin.key is "
		    "corrupt (the appliance key does not unwrap)", km->dir);
	if (km_random_priv(k->k_off, KEYMGR_OFFSITE_LEN) != 0)
		return -EIO;
	k->has_keys = 1;
	return 0;
}

/* Every machine must have room for one more generation: checked before
 * anything is written, so that a full machine changes nothing. */
static int
check_room(keymgr *km)
{
	struct keymgr_machine_info info;
	char **names = NULL;
	size_t n = 0, i;
	int rc;

	if ((rc = keymgr_machine_list(km, &names, &n)) != 0)
		return rc;
	for (i = 0; i < n && rc == 0; i++) {
		if ((rc = keymgr_machine_info(km, names[i], &info, NULL,
		    NULL)) == 0 && info.ngens >= KEYMGR_MAX_GENS)
			rc = km_err(km, -ENOSPC, "machine %s already has the "
			    "maximum of %d key generations, so the "
			    "administrator's keys cannot be replaced: remove "
			    "it and add it again, or change only the password "
			    "(--keep-keys)", names[i], KEYMGR_MAX_GENS);
	}
	keymgr_names_free(names, n);
	return rc;
}

/* Step 1: a new key pair and K_OFF in @kn, sealed with @pw into @an,
 * written to DIR/admin.key.new. */
static int
start_rekey(keymgr *km, const struct km_admin *ad,
    const struct km_admin_keys *ko, const char *pw, size_t pwlen,
    struct km_admin *an, struct km_admin_keys **out)
{
	struct km_admin_keys *kn;
	char path[4096];
	int rc;

	if ((rc = check_room(km)) != 0)
		return rc;
	if ((kn = km_secure_alloc(sizeof(*kn))) == NULL)
		return -ENOMEM;
	memcpy(kn->beemo_aes, ko->beemo_aes, KM_AES_LEN);
	kn->has_keys = 1;
	*an = *ad;
	an->created = bm_now_ns();
	if ((rc = km_random_priv(kn->k_off, KEYMGR_OFFSITE_LEN)) != 0 ||
	    (rc = km_rsa_keygen(&kn->priv)) != 0 ||
	    (rc = km_pub_der(kn->priv, an->pub, &an->publen)) != 0 ||
	    (rc = km_admin_seal(an, kn, pw, pwlen)) != 0 ||
	    (rc = path_admin_new(km, path, sizeof(path))) != 0 ||
	    (rc = write_admin(km, an, path)) != 0) {
		km_admin_keys_free(kn);
		return rc;
	}
	*out = kn;
	return 0;
}

/* Steps 2 to 4, from old keys @ko to new keys @kn (admin.key.new). */
static int
finish_rekey(keymgr *km, const struct km_admin_keys *ko,
    const struct km_admin_keys *kn)
{
	char **names = NULL, from[4096], to[4096];
	size_t n = 0, i;
	int rc;

	if ((rc = keymgr_machine_list(km, &names, &n)) != 0)
		return rc;
	for (i = 0; i < n && rc == 0; i++)
		rc = km_machine_rekey(km, names[i], ko->priv, kn->priv);
	keymgr_names_free(names, n);
	if (rc != 0 || (rc = write_appliance(km, kn)) != 0)
		return rc;
	if ((rc = path_admin_new(km, from, sizeof(from))) != 0 ||
	    (rc = km_path_admin(km, to, sizeof(to))) != 0)
		return rc;
	if (rename(from, to) != 0)
		return km_err(km, -errno, "cannot rename %s to %s: %s", from,
		    to, strerror(errno));
	return bm_fsync_dir(to);
}

int
keymgr_admin_passwd(keymgr *km, const char *old, size_t oldlen,
    const char *new, size_t newlen, unsigned flags)
{
	struct km_admin_keys *ko = NULL, *kn = NULL;
	struct km_admin *ad = NULL, *an = NULL;
	char path[4096];
	int lockfd = -1, rc, pending;

	km->errmsg[0] = '\0';
	if (newlen == 0)
		return km_done(km, km_err(km, -EINVAL, "empty new password"));
	if ((flags & ~KEYMGR_PASSWD_KEEP_KEYS) != 0)
		return km_done(km, -EINVAL);
	if ((ad = malloc(sizeof(*ad))) == NULL ||
	    (an = malloc(sizeof(*an))) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	if ((rc = km_lock(km, &lockfd)) != 0 ||
	    (rc = path_admin_new(km, path, sizeof(path))) != 0)
		goto out;
	pending = access(path, F_OK) == 0;
	if (pending && (flags & KEYMGR_PASSWD_KEEP_KEYS)) {
		rc = km_err(km, -EBUSY, "an interrupted change of the "
		    "administrator's keys left %s: finish it with beemoctl "
		    "admin passwd (without --keep-keys) and the same old and "
		    "new passwords", path);
		goto out;
	}
	if ((rc = km_admin_unseal(km, old, oldlen, ad, &ko)) != 0)
		goto out;
	/* A version 1 admin.key keeps BEEMO_AES outside its seal. */
	if (!ko->has_keys && (rc = admin_v1_keys(km, ad, ko)) != 0)
		goto out;
	if (flags & KEYMGR_PASSWD_KEEP_KEYS) {
		/* Same key pair, same K_OFF (new for a version 1 file: into
		 * appliance.key first). */
		if ((rc = write_appliance(km, ko)) != 0 ||
		    (rc = km_admin_seal(ad, ko, new, newlen)) != 0 ||
		    (rc = km_path_admin(km, path, sizeof(path))) != 0)
			goto out;
		rc = write_admin(km, ad, path);
		goto out;
	}
	if (pending) {
		if ((rc = open_pending(km, new, newlen, an, &kn)) ==
		    BEEMO_EPASSWORD)
			km_err(km, rc, "an interrupted change of the "
			    "administrator's keys left %s, sealed with another "
			    "new password: give the same new password as then",
			    path);
	} else {
		rc = start_rekey(km, ad, ko, new, newlen, an, &kn);
	}
	if (rc == 0)
		rc = finish_rekey(km, ko, kn);
out:
	km_unlock(lockfd);
	km_admin_keys_free(kn);
	km_admin_keys_free(ko);
	free(an);
	free(ad);
	return km_done(km, rc);
}
