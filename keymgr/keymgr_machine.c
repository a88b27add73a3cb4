/*
 * keymgr_machine.c -- machines and their users: add, remove, passwords,
 * rotation of SECRET, POSTE key files.
 *
 * Every operation here takes the directory lock, loads the machine's key
 * file, changes the in-memory model and writes the file back atomically:
 * one operation, one rename.  Operations that also create a POSTE key
 * file write it first (exclusively) and remove it again if the machine
 * file cannot be written, so that a POSTE key file is never the only
 * trace of a failed operation except after a crash, where the machine
 * file still names the previous POSTE key and the orphan is refused with
 * a clear message.
 *
 * Revocation: removing a user, resetting a user's password and issuing a
 * new POSTE key file each also start a new generation of SECRET, wrapped
 * only for the principals that remain, in the same rewrite of the
 * machine file: the removed or replaced key opens what was written
 * before (older generations stay, for old data) but nothing after.
 *
 * Authorization: every change but a user's own password change needs the
 * administrator's password, checked by unsealing ADMIN_PRIV; none is
 * made while an interrupted change of the administrator's keys is
 * unfinished (keymgr_rekey.c).
 */
#include <errno.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bm_bytes.h"
#include "bm_err.h"
#include "bm_file.h"
#include "bm_gcm.h"
#include "bm_pass.h"
#include "bm_time.h"
#include "keymgr_internal.h"

/* Where the wrap of generation @g for a principal lives in @m. */
static uint8_t *
wrap_slot(struct km_machine *m, enum keymgr_principal who, int ui,
    uint32_t g)
{
	if (who == KEYMGR_ADMIN)
		return m->gens[g - 1].wrap_admin;
	if (who == KEYMGR_POSTE)
		return m->gens[g - 1].wrap_poste;
	return m->users[ui].wraps[g - 1];
}

/* Wrap generations @from .. s->ngens of @s for one principal. */
static int
wrap_gens(struct km_machine *m, const keymgr_secret *s, EVP_PKEY *pub,
    enum keymgr_principal who, int ui, uint32_t from)
{
	uint8_t label[KM_LABEL_MAX];
	size_t labellen;
	uint32_t g;
	int rc;

	for (g = from; g <= s->ngens; g++) {
		labellen = km_label(label, m->appliance_id, m->machine_id, g,
		    who, who == KEYMGR_USER ? m->users[ui].name : NULL);
		if ((rc = km_wrap(pub, label, labellen, s->keys[g - 1],
		    wrap_slot(m, who, ui, g))) != 0)
			return rc;
	}
	return 0;
}

/* Add a generation to @s and @m (not yet wrapped): SECRET, its KCV. */
static int
new_gen(struct km_machine *m, keymgr_secret *s)
{
	uint32_t g = s->ngens + 1;
	int rc;

	if (g > KEYMGR_MAX_GENS)
		return -ENOSPC;
	if ((rc = km_random_priv(s->keys[g - 1], KEYMGR_SECRET_LEN)) != 0 ||
	    (rc = km_kcv(s->keys[g - 1], m->gens[g - 1].kcv)) != 0)
		return rc;
	m->gens[g - 1].created = bm_now_ns();
	s->ngens = s->current_gen = m->ngens = m->current_gen = g;
	return 0;
}

/*
 * Start generation s->ngens + 1 of @m's SECRET and make it current,
 * wrapped for @admin (ADMIN_PUB, or the key pair) and for the POSTE key
 * and every user that @m holds now: whoever was just removed or replaced
 * cannot open what is written from now on.  @s holds @m's generations
 * (or only their count when they were not unlocked).  Older generations
 * are left as they are.  Returns 0, -ENOSPC (KEYMGR_MAX_GENS reached,
 * message set), BEEMO_EFORMAT (a bad public key in @m) or -EIO.
 */
static int
add_generation(keymgr *km, struct km_machine *m, keymgr_secret *s,
    EVP_PKEY *admin)
{
	EVP_PKEY *pub = NULL;
	uint32_t g, u;
	int rc;

	if (m->ngens >= KEYMGR_MAX_GENS)
		return km_err(km, -ENOSPC, "machine %s already has the maximum "
		    "of %d key generations: remove it and add it again to "
		    "start anew", m->name, KEYMGR_MAX_GENS);
	if ((rc = new_gen(m, s)) != 0)
		return rc;
	g = m->ngens;
	if ((rc = wrap_gens(m, s, admin, KEYMGR_ADMIN, 0, g)) != 0)
		return rc;
	if ((rc = km_pub_load(m->poste_pub, m->poste_publen, &pub)) != 0 ||
	    (rc = wrap_gens(m, s, pub, KEYMGR_POSTE, 0, g)) != 0)
		goto out;
	for (u = 0; u < m->nusers; u++) {
		EVP_PKEY_free(pub);
		pub = NULL;
		if ((rc = km_pub_load(m->users[u].pub, m->users[u].publen,
		    &pub)) != 0 ||
		    (rc = wrap_gens(m, s, pub, KEYMGR_USER, (int)u, g)) != 0)
			goto out;
	}
out:
	if (rc == BEEMO_EFORMAT)
		km_err(km, rc, "key file of machine %s is corrupt (bad public "
		    "key)", m->name);
	EVP_PKEY_free(pub);
	return rc;
}

/*
 * add_generation() without unlocking the older generations: *@s
 * receives a new secret that holds only their count and the new one
 * (the caller frees it).
 */
static int
add_generation_blind(keymgr *km, struct km_machine *m, EVP_PKEY *admin,
    keymgr_secret **s)
{
	if ((*s = km_secret_new()) == NULL)
		return -ENOMEM;
	(*s)->ngens = m->ngens;
	return add_generation(km, m, *s, admin);
}

/*
 * Give user @ui of @m (its name already set) a new key pair sealed with
 * @pw and wrap every generation of @s for it.
 */
static int
new_user_keys(keymgr *km, struct km_machine *m, int ui,
    const keymgr_secret *s, const char *pw, size_t pwlen)
{
	struct km_user *u = &m->users[ui];
	uint8_t aad[KM_SEAL_AAD_MAX], *der = NULL;
	size_t aadlen, derlen = 0;
	EVP_PKEY *pkey = NULL;
	int rc;

	u->created = bm_now_ns();
	if ((rc = km_rsa_keygen(&pkey)) != 0 ||
	    (rc = km_pub_der(pkey, u->pub, &u->publen)) != 0 ||
	    (rc = km_priv_der(pkey, &der, &derlen)) != 0)
		goto out;
	aadlen = km_seal_aad(aad, KM_MAGIC_MACHINE, m->appliance_id,
	    KEYMGR_USER, m->machine_id, u->name, u->pub, u->publen);
	if ((rc = km_pw_seal(pw, pwlen, &km->kdf, aad, aadlen, der, derlen,
	    &u->priv)) != 0)
		goto out;
	rc = wrap_gens(m, s, pkey, KEYMGR_USER, ui, 1);
out:
	bm_free_secret(der, derlen);
	EVP_PKEY_free(pkey);
	return rc;
}

/* Insert an empty user @name into @m in sorted position; its index. */
static int
insert_user(keymgr *km, struct km_machine *m, const char *name)
{
	uint32_t i = 0;

	if (m->nusers >= KEYMGR_MAX_USERS)
		return km_err(km, -ENOSPC, "machine %s already has the "
		    "maximum of %d users", m->name, KEYMGR_MAX_USERS);
	while (i < m->nusers && strcmp(m->users[i].name, name) < 0)
		i++;
	memmove(&m->users[i + 1], &m->users[i],
	    (m->nusers - i) * sizeof(m->users[0]));
	memset(&m->users[i], 0, sizeof(m->users[i]));
	snprintf(m->users[i].name, sizeof(m->users[i].name), "%s", name);
	m->nusers++;
	return (int)i;
}

/*
 * Seal a new POSTE key file for @m holding @pkey's private key and write
 * it to @path, created exclusively with mode 0600.
 */
static int
write_poste(keymgr *km, const struct km_machine *m, EVP_PKEY *pkey,
    const char *path)
{
	struct km_appliance ap = {0};
	struct km_poste *p;
	uint8_t *key = NULL, *der = NULL, *img = NULL;
	size_t derlen = 0, len;
	int rc;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return -ENOMEM;
	if ((rc = km_load_appliance(km, &ap)) != 0)
		goto out;
	if ((key = km_secure_alloc(KM_AES_LEN)) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	memcpy(p->appliance_id, m->appliance_id, KEYMGR_ID_LEN);
	memcpy(p->machine_id, m->machine_id, KEYMGR_ID_LEN);
	snprintf(p->name, sizeof(p->name), "%s", m->name);
	p->created = bm_now_ns();
	if ((rc = km_sha256(m->poste_pub, m->poste_publen, p->poste_fpr)) ||
	    (rc = km_random(p->nonce, KM_NONCE_LEN)) != 0 ||
	    (rc = km_priv_der(pkey, &der, &derlen)) != 0 ||
	    (rc = km_poste_kek(&ap, key)) != 0)
		goto out;
	p->ctlen = derlen + KM_TAG_LEN;
	km_poste_aad(p);
	if ((rc = bm_gcm(1, key, p->nonce, &p->raw, sizeof(p->raw), NULL, 0,
	    der, derlen, p->ct)) != 0 ||
	    (rc = km_ser_poste(p, &img, &len)) != 0)
		goto out;
	rc = bm_write_file_atomic(path, img, len, 0600, 1);
	if (rc == -EEXIST)
		km_err(km, rc, "%s already exists (the POSTE key file is "
		    "never overwritten)", path);
	else if (rc != 0)
		km_err(km, rc, "cannot write %s: %s", path,
		    beemo_strerror(rc));
out:
	free(img);
	bm_free_secret(der, derlen);
	bm_free_secret(key, KM_AES_LEN);
	km_appliance_clear(&ap);
	free(p);
	return rc;
}

/* A new POSTE key pair @pkey for @m, with wraps of every generation of
 * @s. */
static int
new_poste_keys(struct km_machine *m, const keymgr_secret *s,
    EVP_PKEY **pkey)
{
	int rc;

	if ((rc = km_rsa_keygen(pkey)) != 0 ||
	    (rc = km_pub_der(*pkey, m->poste_pub, &m->poste_publen)) != 0)
		return rc;
	return wrap_gens(m, s, *pkey, KEYMGR_POSTE, 0, 1);
}

/* The POSTE key file of @pkey at @path, then the machine file
 * (@exclusive: a new machine). */
static int
install_poste(keymgr *km, struct km_machine *m, EVP_PKEY *pkey,
    const char *path, int exclusive)
{
	int rc;

	if ((rc = write_poste(km, m, pkey, path)) != 0)
		return rc;
	if ((rc = km_save_machine(km, m, exclusive)) != 0)
		(void)unlink(path);
	return rc;
}

int
keymgr_machine_add(keymgr *km, const char *machine, const char *user,
    const char *user_pw, size_t user_pwlen, const char *admin_pw,
    size_t admin_pwlen, const char *poste_path)
{
	struct km_machine *m = NULL;
	keymgr_secret *s = NULL;
	EVP_PKEY *admin = NULL, *poste = NULL;
	char path[4096];
	int lockfd = -1, rc, ui;

	km->errmsg[0] = '\0';
	if (!bm_valid_name(machine))
		return km_done(km, km_err(km, -EINVAL, "'%s' is not a valid "
		    "machine name", machine));
	if (!bm_valid_name(user))
		return km_done(km, km_err(km, -EINVAL, "'%s' is not a valid "
		    "user name", user));
	if (user_pwlen == 0)
		return km_done(km, km_err(km, -EINVAL, "empty password"));
	if ((rc = km_lock(km, &lockfd)) != 0 ||
	    (rc = km_admin_settled(km)) != 0 ||
	    (rc = km_path_machine(km, machine, path, sizeof(path))) != 0)
		goto out;
	if (access(path, F_OK) == 0) {
		rc = km_err(km, -EEXIST, "machine %s already exists", machine);
		goto out;
	}
	if (access(poste_path, F_OK) == 0) {
		rc = km_err(km, -EEXIST, "%s already exists (the POSTE key "
		    "file is never overwritten)", poste_path);
		goto out;
	}
	if ((rc = km_admin_priv(km, admin_pw, admin_pwlen, NULL, &admin)))
		goto out;
	if ((m = km_machine_new()) == NULL || (s = km_secret_new()) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	memcpy(m->appliance_id, km->appliance_id, KEYMGR_ID_LEN);
	snprintf(m->name, sizeof(m->name), "%s", machine);
	m->created = bm_now_ns();
	if ((rc = km_random(m->machine_id, KEYMGR_ID_LEN)) != 0 ||
	    (rc = new_gen(m, s)) != 0 ||
	    (rc = wrap_gens(m, s, admin, KEYMGR_ADMIN, 0, 1)) != 0)
		goto out;
	memcpy(s->machine_id, m->machine_id, KEYMGR_ID_LEN);
	if ((ui = rc = insert_user(km, m, user)) < 0 ||
	    (rc = new_user_keys(km, m, ui, s, user_pw, user_pwlen)) != 0)
		goto out;
	if ((rc = new_poste_keys(m, s, &poste)) == 0)
		rc = install_poste(km, m, poste, poste_path, 1);
out:
	km_unlock(lockfd);
	keymgr_secret_free(s);
	EVP_PKEY_free(poste);
	EVP_PKEY_free(admin);
	km_machine_free(m);
	return km_done(km, rc);
}

int
km_machine_file_admin(keymgr *km, const char *machine, const char *admin_pw,
    size_t admin_pwlen, char *path, size_t pathlen, int *lockfd,
    EVP_PKEY **admin)
{
	int rc;

	if (!bm_valid_name(machine))
		return km_err(km, -EINVAL, "'%s' is not a valid machine name",
		    machine);
	if ((rc = km_lock(km, lockfd)) != 0 ||
	    (rc = km_path_machine(km, machine, path, pathlen)) != 0)
		return rc;
	if (access(path, F_OK) != 0)
		return km_err(km, BEEMO_ENOMACHINE, "machine %s does not "
		    "exist", machine);
	/* A corrupt machine file can be removed or set aside too: only the
	 * password is checked, the file is not parsed. */
	return km_admin_priv(km, admin_pw, admin_pwlen, NULL, admin);
}

int
keymgr_machine_remove(keymgr *km, const char *machine, const char *admin_pw,
    size_t admin_pwlen)
{
	EVP_PKEY *admin = NULL;
	char path[4096];
	int lockfd = -1, rc;

	km->errmsg[0] = '\0';
	if ((rc = km_machine_file_admin(km, machine, admin_pw, admin_pwlen,
	    path, sizeof(path), &lockfd, &admin)) != 0)
		goto out;
	if (unlink(path) != 0) {
		rc = km_err(km, -errno, "cannot remove %s: %s", path,
		    strerror(errno));
		goto out;
	}
	rc = bm_fsync_dir(path);
out:
	km_unlock(lockfd);
	EVP_PKEY_free(admin);
	return km_done(km, rc);
}

/*
 * The common start of a change to one machine authorized by the
 * administrator: lock, load, unseal ADMIN_PRIV, and with @unlock also
 * unlock every generation as the administrator.
 */
static int
admin_change(keymgr *km, const char *machine, const char *admin_pw,
    size_t admin_pwlen, int unlock, int *lockfd, struct km_machine **m,
    EVP_PKEY **admin, keymgr_secret **s)
{
	int rc;

	if ((rc = km_lock(km, lockfd)) != 0 ||
	    (rc = km_admin_settled(km)) != 0 ||
	    (rc = km_load_machine(km, machine, m)) != 0 ||
	    (rc = km_admin_priv(km, admin_pw, admin_pwlen, NULL, admin)))
		return rc;
	if (unlock)
		rc = km_unlock_all(km, *m, *admin, KEYMGR_ADMIN, 0, s);
	return rc;
}

int
keymgr_user_add(keymgr *km, const char *machine, const char *user,
    const char *user_pw, size_t user_pwlen, const char *admin_pw,
    size_t admin_pwlen)
{
	struct km_machine *m = NULL;
	keymgr_secret *s = NULL;
	EVP_PKEY *admin = NULL;
	int lockfd = -1, rc, ui;

	km->errmsg[0] = '\0';
	if (!bm_valid_name(user))
		return km_done(km, km_err(km, -EINVAL, "'%s' is not a valid "
		    "user name", user));
	if (user_pwlen == 0)
		return km_done(km, km_err(km, -EINVAL, "empty password"));
	if ((rc = admin_change(km, machine, admin_pw, admin_pwlen, 0, &lockfd,
	    &m, &admin, &s)) != 0)
		goto out;
	if (km_find_user(m, user) >= 0) {
		rc = km_err(km, -EEXIST, "machine %s already has a user %s",
		    machine, user);
		goto out;
	}
	if ((rc = km_unlock_all(km, m, admin, KEYMGR_ADMIN, 0, &s)) != 0)
		goto out;
	if ((ui = rc = insert_user(km, m, user)) < 0 ||
	    (rc = new_user_keys(km, m, ui, s, user_pw, user_pwlen)) != 0)
		goto out;
	rc = km_save_machine(km, m, 0);
out:
	km_unlock(lockfd);
	keymgr_secret_free(s);
	EVP_PKEY_free(admin);
	km_machine_free(m);
	return km_done(km, rc);
}

int
keymgr_user_remove(keymgr *km, const char *machine, const char *user,
    const char *admin_pw, size_t admin_pwlen)
{
	struct km_machine *m = NULL;
	keymgr_secret *s = NULL;
	EVP_PKEY *admin = NULL;
	int lockfd = -1, rc, ui;

	km->errmsg[0] = '\0';
	if ((rc = admin_change(km, machine, admin_pw, admin_pwlen, 0, &lockfd,
	    &m, &admin, &s)) != 0 ||
	    (ui = rc = km_user_index(km, m, user)) < 0)
		goto out;
	/* The entry, its key pair and its wraps leave the file, and a new
	 * generation the user never had a wrap of becomes current. */
	memmove(&m->users[ui], &m->users[ui + 1],
	    (m->nusers - (uint32_t)ui - 1) * sizeof(m->users[0]));
	m->nusers--;
	memset(&m->users[m->nusers], 0, sizeof(m->users[0]));
	if ((rc = add_generation_blind(km, m, admin, &s)) != 0)
		goto out;
	rc = km_save_machine(km, m, 0);
out:
	km_unlock(lockfd);
	keymgr_secret_free(s);
	EVP_PKEY_free(admin);
	km_machine_free(m);
	return km_done(km, rc);
}

int
keymgr_user_passwd(keymgr *km, const char *machine, const char *user,
    const char *old, size_t oldlen, const char *new, size_t newlen)
{
	struct km_machine *m = NULL;
	struct km_user *u;
	uint8_t aad[KM_SEAL_AAD_MAX], *der = NULL;
	size_t aadlen, derlen = 0;
	EVP_PKEY *priv = NULL;
	int lockfd = -1, rc, ui;

	km->errmsg[0] = '\0';
	if (newlen == 0)
		return km_done(km, km_err(km, -EINVAL, "empty new password"));
	if ((rc = km_lock(km, &lockfd)) != 0 ||
	    (rc = km_load_machine(km, machine, &m)) != 0 ||
	    (ui = rc = km_user_index(km, m, user)) < 0)
		goto out;
	if ((rc = km_user_priv(km, m, ui, old, oldlen, &priv)) != 0 ||
	    (rc = km_priv_der(priv, &der, &derlen)) != 0)
		goto out;
	/* Reseal only: the key pair and the wraps do not change. */
	u = &m->users[ui];
	aadlen = km_seal_aad(aad, KM_MAGIC_MACHINE, m->appliance_id,
	    KEYMGR_USER, m->machine_id, u->name, u->pub, u->publen);
	if ((rc = km_pw_seal(new, newlen, &km->kdf, aad, aadlen, der, derlen,
	    &u->priv)) != 0)
		goto out;
	rc = km_save_machine(km, m, 0);
out:
	km_unlock(lockfd);
	bm_free_secret(der, derlen);
	EVP_PKEY_free(priv);
	km_machine_free(m);
	return km_done(km, rc);
}

int
keymgr_user_reset(keymgr *km, const char *machine, const char *user,
    const char *admin_pw, size_t admin_pwlen, const char *new_pw,
    size_t new_pwlen)
{
	struct km_machine *m = NULL;
	keymgr_secret *s = NULL;
	EVP_PKEY *admin = NULL;
	int lockfd = -1, rc, ui;

	km->errmsg[0] = '\0';
	if (new_pwlen == 0)
		return km_done(km, km_err(km, -EINVAL, "empty new password"));
	if ((rc = admin_change(km, machine, admin_pw, admin_pwlen, 0, &lockfd,
	    &m, &admin, &s)) != 0 ||
	    (ui = rc = km_user_index(km, m, user)) < 0)
		goto out;
	if ((rc = km_unlock_all(km, m, admin, KEYMGR_ADMIN, 0, &s)) != 0)
		goto out;
	/* A new key pair and a new generation: whoever knew the old
	 * password, or copied the old sealed key, opens nothing written
	 * from now on. */
	if ((rc = new_user_keys(km, m, ui, s, new_pw, new_pwlen)) != 0 ||
	    (rc = add_generation(km, m, s, admin)) != 0)
		goto out;
	rc = km_save_machine(km, m, 0);
out:
	km_unlock(lockfd);
	keymgr_secret_free(s);
	EVP_PKEY_free(admin);
	km_machine_free(m);
	return km_done(km, rc);
}

int
keymgr_rotate(keymgr *km, const char *machine, const char *admin_pw,
    size_t admin_pwlen, uint32_t *gen)
{
	struct km_machine *m = NULL;
	keymgr_secret *s = NULL;
	EVP_PKEY *admin = NULL;
	int lockfd = -1, rc;

	km->errmsg[0] = '\0';
	if ((rc = admin_change(km, machine, admin_pw, admin_pwlen, 0, &lockfd,
	    &m, &admin, &s)) != 0)
		goto out;
	/* Only the new generation is unwrapped by nobody and wrapped for
	 * everybody: older generations are left untouched. */
	if ((rc = add_generation_blind(km, m, admin, &s)) != 0)
		goto out;
	if ((rc = km_save_machine(km, m, 0)) == 0 && gen != NULL)
		*gen = m->ngens;
out:
	km_unlock(lockfd);
	keymgr_secret_free(s);
	EVP_PKEY_free(admin);
	km_machine_free(m);
	return km_done(km, rc);
}

int
km_machine_rekey(keymgr *km, const char *machine, EVP_PKEY *old,
    EVP_PKEY *new)
{
	struct km_machine *m = NULL;
	keymgr_secret *s = NULL;
	int rc;

	if ((rc = km_load_machine(km, machine, &m)) != 0)
		return rc;
	if ((rc = km_unlock_all(km, m, old, KEYMGR_ADMIN, 0, &s)) != 0) {
		/* Done by an earlier, interrupted run? */
		if (rc == BEEMO_EFORMAT &&
		    km_unlock_all(km, m, new, KEYMGR_ADMIN, 0, &s) == 0)
			rc = 0;
		goto out;
	}
	if ((rc = wrap_gens(m, s, new, KEYMGR_ADMIN, 0, 1)) != 0 ||
	    (rc = add_generation(km, m, s, new)) != 0)
		goto out;
	rc = km_save_machine(km, m, 0);
out:
	keymgr_secret_free(s);
	km_machine_free(m);
	return rc;
}

int
keymgr_poste_issue(keymgr *km, const char *machine, const char *admin_pw,
    size_t admin_pwlen, const char *poste_path)
{
	struct km_machine *m = NULL;
	keymgr_secret *s = NULL;
	EVP_PKEY *admin = NULL, *poste = NULL;
	int lockfd = -1, rc;

	km->errmsg[0] = '\0';
	if ((rc = admin_change(km, machine, admin_pw, admin_pwlen, 1, &lockfd,
	    &m, &admin, &s)) != 0)
		goto out;
	if (access(poste_path, F_OK) == 0) {
		rc = km_err(km, -EEXIST, "%s already exists (the POSTE key "
		    "file is never overwritten)", poste_path);
		goto out;
	}
	/* The old POSTE key file opens nothing written from now on, even
	 * with a copy of today's machine file. */
	if ((rc = new_poste_keys(m, s, &poste)) != 0 ||
	    (rc = add_generation(km, m, s, admin)) != 0)
		goto out;
	rc = install_poste(km, m, poste, poste_path, 0);
out:
	km_unlock(lockfd);
	keymgr_secret_free(s);
	EVP_PKEY_free(poste);
	EVP_PKEY_free(admin);
	km_machine_free(m);
	return km_done(km, rc);
}
