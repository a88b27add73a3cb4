/*
 * keymgr_unlock.c -- unlocking SECRET as the administrator, a user or a
 * POSTE key file, and what a keymgr_secret gives out.
 *
 * Each principal's private key opens that principal's wraps of every
 * generation.  A wrap that does not decrypt, or whose SECRET does not
 * give the key check value stored with its generation, means the machine
 * key file was tampered with (its digest can be recomputed by anyone, so
 * the digest alone does not rule that out): BEEMO_EFORMAT, naming the
 * file and the generation.
 *
 * A POSTE key file is checked, before any decryption, against the
 * appliance id, the machine (name and id) and the fingerprint of the
 * machine's current POSTE public key, so that each way it can be the
 * wrong file gets its own message.
 */
#include <errno.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "bm_bytes.h"
#include "bm_err.h"
#include "bm_file.h"
#include "bm_gcm.h"
#include "bm_pass.h"
#include "keymgr_internal.h"

static const char *const subkey_info[] = {
	"beemo/v1/data",
	"beemo/v1/chunk-id",
	"beemo/v1/meta",
	"beemo/v2/gear",
	"beemo/v2/name",
};

keymgr_secret *
km_secret_new(void)
{
	return km_secure_alloc(sizeof(struct keymgr_secret));
}

void
keymgr_secret_free(keymgr_secret *s)
{
	bm_free_secret(s, sizeof(*s));
}

static const char *
who_name(enum keymgr_principal who, const char *user, char *buf,
    size_t size)
{
	if (who == KEYMGR_ADMIN)
		return "the administrator";
	if (who == KEYMGR_POSTE)
		return "the POSTE key";
	snprintf(buf, size, "user %s", user);
	return buf;
}

int
km_unlock_all(keymgr *km, const struct km_machine *m, EVP_PKEY *priv,
    enum keymgr_principal who, int ui, keymgr_secret **out)
{
	uint8_t label[KM_LABEL_MAX], kcv[KM_KCV_STORED];
	const char *user = who == KEYMGR_USER ? m->users[ui].name : NULL;
	const uint8_t *wrap;
	keymgr_secret *s;
	char whobuf[96];
	size_t labellen;
	uint32_t g;
	int rc = 0;

	if ((s = km_secret_new()) == NULL)
		return -ENOMEM;
	s->who = who;
	if (user != NULL)
		snprintf(s->user, sizeof(s->user), "%s", user);
	memcpy(s->machine_id, m->machine_id, KEYMGR_ID_LEN);
	s->current_gen = m->current_gen;
	s->ngens = m->ngens;
	for (g = 1; g <= m->ngens; g++) {
		if (who == KEYMGR_ADMIN)
			wrap = m->gens[g - 1].wrap_admin;
		else if (who == KEYMGR_POSTE)
			wrap = m->gens[g - 1].wrap_poste;
		else
			wrap = m->users[ui].wraps[g - 1];
		labellen = km_label(label, m->appliance_id, m->machine_id, g,
		    who, user);
		rc = km_unwrap(priv, label, labellen, wrap, s->keys[g - 1]);
		if (rc == -EBADMSG) {
			rc = km_err(km, BEEMO_EFORMAT, "key file of machine "
			    "%s is corrupt (generation %u does not unwrap "
			    "for %s)", m->name, g,
			    who_name(who, user, whobuf, sizeof(whobuf)));
			break;
		}
		if (rc != 0 || (rc = km_kcv(s->keys[g - 1], kcv)) != 0)
			break;
		if (CRYPTO_memcmp(kcv, m->gens[g - 1].kcv, KM_KCV_STORED)) {
			rc = km_err(km, BEEMO_EFORMAT, "key file of machine "
			    "%s is corrupt (key check of generation %u "
			    "failed for %s)", m->name, g,
			    who_name(who, user, whobuf, sizeof(whobuf)));
			break;
		}
	}
	if (rc != 0) {
		keymgr_secret_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

int
keymgr_unlock_admin(keymgr *km, const char *machine, const char *pw,
    size_t pwlen, keymgr_secret **out)
{
	struct km_machine *m = NULL;
	EVP_PKEY *priv = NULL;
	int rc;

	km->errmsg[0] = '\0';
	if ((rc = km_load_machine(km, machine, &m)) != 0)
		goto out;
	if ((rc = km_admin_priv(km, pw, pwlen, NULL, &priv)) == 0)
		rc = km_unlock_all(km, m, priv, KEYMGR_ADMIN, 0, out);
	/* Midway through a replacement of the ADMIN key pair, @m may be on
	 * the new one. */
	if (rc != 0)
		rc = km_unlock_admin_pending(km, m, pw, pwlen, rc, out);
out:
	EVP_PKEY_free(priv);
	km_machine_free(m);
	return km_done(km, rc);
}

int
km_user_priv(keymgr *km, const struct km_machine *m, int ui, const char *pw,
    size_t pwlen, EVP_PKEY **priv)
{
	const struct km_user *u = &m->users[ui];
	uint8_t aad[KM_SEAL_AAD_MAX], *der = NULL;
	size_t aadlen, derlen = 0;
	int rc;

	aadlen = km_seal_aad(aad, KM_MAGIC_MACHINE, m->appliance_id,
	    KEYMGR_USER, m->machine_id, u->name, u->pub, u->publen);
	rc = km_pw_open(pw, pwlen, &u->priv, aad, aadlen, &der, &derlen);
	if (rc == BEEMO_EPASSWORD)
		return km_err(km, rc, "wrong password for user %s of machine "
		    "%s", u->name, m->name);
	if (rc != 0)
		return km_err(km, rc, "cannot unseal the key of user %s: %s",
		    u->name, beemo_strerror(rc));
	if ((rc = km_priv_load(der, derlen, u->pub, u->publen, priv)) != 0)
		km_err(km, BEEMO_EFORMAT, "key file of machine %s is corrupt "
		    "(private key of user %s does not match its public key)",
		    m->name, u->name);
	bm_free_secret(der, derlen);
	return rc;
}

int
km_user_index(keymgr *km, const struct km_machine *m, const char *user)
{
	int ui;

	if (!bm_valid_name(user))
		return km_err(km, -EINVAL, "'%s' is not a valid user name",
		    user);
	if ((ui = km_find_user(m, user)) < 0)
		return km_err(km, BEEMO_ENOUSER, "machine %s has no user %s",
		    m->name, user);
	return ui;
}

int
keymgr_unlock_user(keymgr *km, const char *machine, const char *user,
    const char *pw, size_t pwlen, keymgr_secret **out)
{
	struct km_machine *m = NULL;
	EVP_PKEY *priv = NULL;
	int rc, ui;

	km->errmsg[0] = '\0';
	if ((rc = km_load_machine(km, machine, &m)) != 0)
		goto out;
	if ((ui = rc = km_user_index(km, m, user)) < 0)
		goto out;
	if ((rc = km_user_priv(km, m, ui, pw, pwlen, &priv)) != 0)
		goto out;
	rc = km_unlock_all(km, m, priv, KEYMGR_USER, ui, out);
out:
	EVP_PKEY_free(priv);
	km_machine_free(m);
	return km_done(km, rc);
}

int
km_poste_kek(const struct km_appliance *ap, uint8_t key[KM_AES_LEN])
{
	return km_hkdf(ap->beemo_aes, KM_AES_LEN, ap->appliance_id,
	    KEYMGR_ID_LEN, "beemo/v1/poste-key-file", key);
}

/* Is POSTE key file @p the current one of @m?  Sets the message. */
static int
poste_matches(keymgr *km, const struct km_machine *m,
    const struct km_poste *p, const char *path)
{
	uint8_t fpr[KM_DIGEST_LEN];
	int rc;

	if (memcmp(p->appliance_id, km->appliance_id, KEYMGR_ID_LEN) != 0)
		return km_err(km, BEEMO_EPASSWORD, "this POSTE key file (%s) "
		    "belongs to another appliance", path);
	if (strcmp(p->name, m->name) != 0)
		return km_err(km, BEEMO_EPASSWORD, "this POSTE key file (%s) "
		    "belongs to machine %s", path, p->name);
	if (memcmp(p->machine_id, m->machine_id, KEYMGR_ID_LEN) != 0)
		return km_err(km, BEEMO_EPASSWORD, "this POSTE key file (%s) "
		    "belongs to an earlier machine %s that was removed", path,
		    p->name);
	if ((rc = km_sha256(m->poste_pub, m->poste_publen, fpr)) != 0)
		return rc;
	if (memcmp(fpr, p->poste_fpr, KM_DIGEST_LEN) != 0)
		return km_err(km, BEEMO_EPASSWORD, "this POSTE key file (%s) "
		    "was replaced by a newer one (beemoctl key issue): use "
		    "the current key file of machine %s", path, m->name);
	return 0;
}

/* POSTE_PRIV for @m from the POSTE key file's bytes @buf (@what names
 * where they came from in messages). */
static int
poste_priv_buf(keymgr *km, const struct km_machine *m, const uint8_t *buf,
    size_t len, const char *what, EVP_PKEY **priv)
{
	struct km_appliance ap = {0};
	struct km_poste *p;
	uint8_t *key = NULL, *der = NULL;
	size_t derlen = 0;
	int rc;

	if ((p = malloc(sizeof(*p))) == NULL)
		return -ENOMEM;
	if (len > KM_FILE_MAX) {
		rc = km_err(km, BEEMO_EFORMAT, "%s is not a POSTE key file "
		    "(too large)", what);
		goto out;
	}
	if ((rc = km_parse_poste(buf, len, what, p, km->errmsg,
	    sizeof(km->errmsg))) != 0)
		goto out;
	if ((rc = poste_matches(km, m, p, what)) != 0 ||
	    (rc = km_load_appliance(km, &ap)) != 0)
		goto out;
	derlen = p->ctlen - KM_TAG_LEN;
	if ((key = km_secure_alloc(KM_AES_LEN)) == NULL ||
	    (der = km_secure_alloc(derlen)) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	if ((rc = km_poste_kek(&ap, key)) != 0)
		goto out;
	rc = bm_gcm(0, key, p->nonce, &p->raw, sizeof(p->raw), NULL, 0,
	    p->ct, derlen, der);
	if (rc == -EBADMSG) {
		rc = km_err(km, BEEMO_EPASSWORD, "this POSTE key file (%s) "
		    "does not open with this appliance's key", what);
		goto out;
	}
	if (rc != 0)
		goto out;
	if (km_priv_load(der, derlen, m->poste_pub, m->poste_publen, priv))
		rc = km_err(km, BEEMO_EPASSWORD, "this POSTE key file (%s) "
		    "holds a key that is not machine %s's", what, m->name);
out:
	bm_free_secret(der, derlen);
	bm_free_secret(key, KM_AES_LEN);
	km_appliance_clear(&ap);
	OPENSSL_cleanse(p, sizeof(*p));
	free(p);
	return rc;
}

/* Open POSTE key file @path for @m: POSTE_PRIV. */
static int
poste_priv(keymgr *km, const struct km_machine *m, const char *path,
    EVP_PKEY **priv)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc;

	rc = bm_read_file(path, KM_FILE_MAX, &buf, &len);
	if (rc == -EFBIG)
		return km_err(km, BEEMO_EFORMAT, "%s is not a POSTE key file "
		    "(too large)", path);
	if (rc != 0)
		return km_err(km, rc, "cannot read POSTE key file %s: %s",
		    path, beemo_strerror(rc));
	rc = poste_priv_buf(km, m, buf, len, path, priv);
	bm_free_secret(buf, len);
	return rc;
}

/* Unlock @machine with POSTE_PRIV from the key file @path, or, when
 * @path is NULL, from its bytes @buf of @len (named @what). */
static int
unlock_poste(keymgr *km, const char *machine, const char *path,
    const uint8_t *buf, size_t len, const char *what, keymgr_secret **out)
{
	struct km_machine *m = NULL;
	EVP_PKEY *priv = NULL;
	int rc;

	km->errmsg[0] = '\0';
	if ((rc = km_load_machine(km, machine, &m)) != 0)
		goto out;
	rc = path != NULL ? poste_priv(km, m, path, &priv) :
	    poste_priv_buf(km, m, buf, len, what, &priv);
	if (rc != 0)
		goto out;
	rc = km_unlock_all(km, m, priv, KEYMGR_POSTE, 0, out);
out:
	EVP_PKEY_free(priv);
	km_machine_free(m);
	return km_done(km, rc);
}

int
keymgr_unlock_poste(keymgr *km, const char *machine, const char *poste_path,
    keymgr_secret **out)
{
	return unlock_poste(km, machine, poste_path, NULL, 0, NULL, out);
}

int
keymgr_unlock_poste_buf(keymgr *km, const char *machine, const uint8_t *buf,
    size_t len, const char *what, keymgr_secret **out)
{
	return unlock_poste(km, machine, NULL, buf, len, what, out);
}

/* ---- what a secret gives out ------------------------------------------ */

enum keymgr_principal
keymgr_secret_principal(const keymgr_secret *s)
{
	return s->who;
}

const char *
keymgr_secret_user(const keymgr_secret *s)
{
	return s->who == KEYMGR_USER ? s->user : NULL;
}

const char *
keymgr_secret_who(const keymgr_secret *s, char *buf, size_t size)
{
	if (s->who == KEYMGR_USER)
		snprintf(buf, size, "user %s", s->user);
	else
		snprintf(buf, size, "%s", s->who == KEYMGR_ADMIN ? "admin" :
		    "poste");
	return buf;
}

void
keymgr_secret_machine_id(const keymgr_secret *s, uint8_t id[KEYMGR_ID_LEN])
{
	memcpy(id, s->machine_id, KEYMGR_ID_LEN);
}

uint32_t
keymgr_secret_current_gen(const keymgr_secret *s)
{
	return s->current_gen;
}

uint32_t
keymgr_secret_ngens(const keymgr_secret *s)
{
	return s->ngens;
}

int
keymgr_secret_kcv(const keymgr_secret *s, uint32_t gen,
    uint8_t kcv[KEYMGR_KCV_LEN])
{
	uint8_t full[KM_KCV_STORED];
	int rc;

	if (gen < 1 || gen > s->ngens)
		return BEEMO_ENOKEY;
	if ((rc = km_kcv(s->keys[gen - 1], full)) != 0)
		return rc;
	memcpy(kcv, full, KEYMGR_KCV_LEN);
	return 0;
}

int
keymgr_subkeys(const keymgr_secret *s, uint32_t gen,
    struct keymgr_subkeys *out)
{
	uint8_t *dst[5] = {out->data, out->chunk, out->meta, out->gear,
	    out->name};
	int i, rc;

	if (gen < 1 || gen > s->ngens)
		return BEEMO_ENOKEY;
	for (i = 0; i < 5; i++) {
		rc = km_hkdf(s->keys[gen - 1], KEYMGR_SECRET_LEN,
		    s->machine_id, KEYMGR_ID_LEN, subkey_info[i], dst[i]);
		if (rc != 0) {
			keymgr_subkeys_wipe(out);
			return rc;
		}
	}
	return 0;
}

void
keymgr_subkeys_wipe(struct keymgr_subkeys *k)
{
	OPENSSL_cleanse(k, sizeof(*k));
}
