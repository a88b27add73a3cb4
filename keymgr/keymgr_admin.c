/*
 * keymgr_admin.c -- the administrator: ADMIN_PRIV, its password, the
 * recovery of appliance.key, and blobs sealed for the administrator.
 *
 * ADMIN_PRIV is sealed in admin.key with scrypt + AES-256-GCM.  In
 * version 2 the seal also holds BEEMO_AES and the off-site key K_OFF, and
 * its associated data is every byte of the file before the ciphertext
 * (header, ADMIN_PUB, the KDF parameters for new seals and the seal's
 * own parameters, salt, nonce and length): whoever lacks the password
 * can change nothing in the file, nor write one the password opens.
 * Version 1 (read, and rewritten as version 2 by a password change)
 * bound only the header, the principal and ADMIN_PUB, and kept BEEMO_AES
 * in an RSA wrap that anyone holding ADMIN_PUB could have made.  After
 * unsealing, the private key's public half must equal ADMIN_PUB byte for
 * byte.
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

/* The OAEP label of BEEMO_AES in admin.key version 1, and of a sealed
 * blob's key: generation 0 and a zero machine id, which no machine wrap
 * uses. */
static size_t
admin_label(const keymgr *km, const char *what, uint8_t label[KM_LABEL_MAX])
{
	static const uint8_t zero[KEYMGR_ID_LEN];

	return km_label(label, km->appliance_id, zero, 0, KEYMGR_ADMIN, what);
}

void
km_admin_keys_free(struct km_admin_keys *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->priv);
	bm_free_secret(k, sizeof(*k));
}

int
km_admin_open(const struct km_admin *a, const char *path, const char *pw,
    size_t pwlen, struct km_admin_keys **out, char *msg, size_t msglen)
{
	uint8_t aad[KM_ADMIN_AAD_MAX], *pt = NULL;
	size_t aadlen = km_admin_aad(a, aad), ptlen = 0, derlen;
	struct km_admin_keys *k;
	int rc;

	if ((k = km_secure_alloc(sizeof(*k))) == NULL)
		return -ENOMEM;
	rc = km_pw_open(pw, pwlen, &a->priv, aad, aadlen, &pt, &ptlen);
	if (rc == BEEMO_EPASSWORD) {
		snprintf(msg, msglen, "wrong password for the administrator");
		goto out;
	}
	if (rc != 0) {
		snprintf(msg, msglen, "cannot unseal the administrator's key "
		    "in %s: %s", path, beemo_strerror(rc));
		goto out;
	}
	/* Version 2: ADMIN_PRIV (DER), then BEEMO_AES and K_OFF. */
	derlen = ptlen;
	if (a->version != 1) {
		rc = BEEMO_EFORMAT;
		if (ptlen <= KM_AES_LEN + KEYMGR_OFFSITE_LEN)
			goto bad_key;
		derlen = ptlen - KM_AES_LEN - KEYMGR_OFFSITE_LEN;
		memcpy(k->beemo_aes, pt + derlen, KM_AES_LEN);
		memcpy(k->k_off, pt + derlen + KM_AES_LEN, KEYMGR_OFFSITE_LEN);
		k->has_keys = 1;
	}
	if ((rc = km_priv_load(pt, derlen, a->pub, a->publen, &k->priv)))
		goto bad_key;
	*out = k;
	k = NULL;
	goto out;

bad_key:
	snprintf(msg, msglen, "key file %s is corrupt (private key does not "
	    "match public key)", path);
out:
	bm_free_secret(pt, ptlen);
	km_admin_keys_free(k);
	return rc;
}

int
km_admin_seal(struct km_admin *a, const struct km_admin_keys *k,
    const char *pw, size_t pwlen)
{
	uint8_t aad[KM_ADMIN_AAD_MAX], *der = NULL, *pt = NULL;
	size_t derlen = 0, ptlen = 0, aadlen;
	int rc;

	if ((rc = km_priv_der(k->priv, &der, &derlen)) != 0)
		return rc;
	ptlen = derlen + KM_AES_LEN + KEYMGR_OFFSITE_LEN;
	if ((pt = km_secure_alloc(ptlen)) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	memcpy(pt, der, derlen);
	memcpy(pt + derlen, k->beemo_aes, KM_AES_LEN);
	memcpy(pt + derlen + KM_AES_LEN, k->k_off, KEYMGR_OFFSITE_LEN);
	a->version = KM_VERSION_ADMIN;
	memset(a->aes_wrap, 0, KM_WRAP_LEN);
	if ((rc = km_pw_seal_begin(&a->kdf, ptlen, &a->priv)) != 0)
		goto out;
	aadlen = km_admin_aad(a, aad);
	rc = km_pw_seal_end(pw, pwlen, aad, aadlen, pt, ptlen, &a->priv);
out:
	bm_free_secret(pt, ptlen);
	bm_free_secret(der, derlen);
	return rc;
}

int
km_admin_unseal(keymgr *km, const char *pw, size_t pwlen, struct km_admin *a,
    struct km_admin_keys **out)
{
	struct km_admin *ad = a;
	char path[4096];
	int rc;

	if (ad == NULL && (ad = malloc(sizeof(*ad))) == NULL)
		return -ENOMEM;
	if ((rc = km_load_admin(km, ad)) == 0 &&
	    (rc = km_path_admin(km, path, sizeof(path))) == 0)
		rc = km_admin_open(ad, path, pw, pwlen, out, km->errmsg,
		    sizeof(km->errmsg));
	if (ad != a)
		free(ad);
	return rc;
}

int
km_admin_priv(keymgr *km, const char *pw, size_t pwlen, struct km_admin *a,
    EVP_PKEY **priv)
{
	struct km_admin_keys *k = NULL;
	int rc;

	if ((rc = km_admin_unseal(km, pw, pwlen, a, &k)) != 0)
		return rc;
	*priv = k->priv;
	k->priv = NULL;
	km_admin_keys_free(k);
	return 0;
}

int
keymgr_admin_check(keymgr *km, const char *pw, size_t pwlen)
{
	EVP_PKEY *priv = NULL;
	int rc;

	km->errmsg[0] = '\0';
	rc = km_admin_priv(km, pw, pwlen, NULL, &priv);
	EVP_PKEY_free(priv);
	return km_done(km, rc);
}

int
keymgr_restore_appliance_key(keymgr *km, const char *pw, size_t pwlen)
{
	struct km_admin_keys *k = NULL;
	struct km_appliance ap = {0};
	struct km_admin *ad;
	uint8_t label[KM_LABEL_MAX], *img = NULL;
	size_t labellen, len = 0;
	char path[4096];
	int lockfd = -1, rc;

	km->errmsg[0] = '\0';
	if ((ad = malloc(sizeof(*ad))) == NULL)
		return km_done(km, -ENOMEM);
	if ((rc = km_lock(km, &lockfd)) != 0 ||
	    (rc = km_path_appliance(km, path, sizeof(path))) != 0)
		goto out;
	if (access(path, F_OK) == 0) {
		rc = km_err(km, -EEXIST, "%s already exists", path);
		goto out;
	}
	if ((rc = km_admin_unseal(km, pw, pwlen, ad, &k)) != 0)
		goto out;
	if ((ap.beemo_aes = km_secure_alloc(KM_AES_LEN)) == NULL ||
	    (k->has_keys &&
	    (ap.k_off = km_secure_alloc(KEYMGR_OFFSITE_LEN)) == NULL)) {
		rc = -ENOMEM;
		goto out;
	}
	if (k->has_keys) {
		memcpy(ap.beemo_aes, k->beemo_aes, KM_AES_LEN);
		memcpy(ap.k_off, k->k_off, KEYMGR_OFFSITE_LEN);
	} else {
		/* Version 1: BEEMO_AES wrapped for ADMIN, no K_OFF. */
		labellen = admin_label(km, "appliance-key", label);
		if ((rc = km_unwrap(k->priv, label, labellen, ad->aes_wrap,
		    ap.beemo_aes)) != 0) {
			rc = km_err(km, BEEMO_EFORMAT, "key file "
			    "%s/admin.key is corrupt (the appliance key does "
			    "not unwrap)", km->dir);
			goto out;
		}
	}
	memcpy(ap.appliance_id, km->appliance_id, KEYMGR_ID_LEN);
	ap.created = bm_now_ns();
	if ((rc = km_ser_appliance(&ap, &img, &len)) != 0)
		goto out;
	if ((rc = bm_write_file_atomic(path, img, len, 0600, 1)) != 0)
		km_err(km, rc, "cannot write %s: %s", path,
		    beemo_strerror(rc));
out:
	km_unlock(lockfd);
	bm_free_secret(img, len);
	km_appliance_clear(&ap);
	km_admin_keys_free(k);
	free(ad);
	return km_done(km, rc);
}

/* ---- the off-site key ------------------------------------------------- */

int
keymgr_offsite_key(keymgr *km, uint8_t out[KEYMGR_OFFSITE_LEN])
{
	struct km_appliance ap;
	int rc;

	km->errmsg[0] = '\0';
	if ((rc = km_load_appliance(km, &ap)) != 0)
		return km_done(km, rc);
	if (ap.k_off == NULL)
		rc = km_err(km, BEEMO_ENOKEY, "%s/appliance.key predates the "
		    "off-site key: run beemoctl admin passwd to create it",
		    km->dir);
	else
		memcpy(out, ap.k_off, KEYMGR_OFFSITE_LEN);
	km_appliance_clear(&ap);
	return km_done(km, rc);
}

int
keymgr_offsite_unlock(const uint8_t *buf, size_t len, const char *pw,
    size_t pwlen, uint8_t appliance_id[KEYMGR_ID_LEN],
    uint8_t out[KEYMGR_OFFSITE_LEN])
{
	static const char path[] = "(off-site admin.key)";
	struct km_admin_keys *k = NULL;
	struct km_admin *ad;
	char msg[KM_ERRMSG_LEN];
	int rc;

	if ((ad = malloc(sizeof(*ad))) == NULL)
		return -ENOMEM;
	if ((rc = km_parse_admin(buf, len, path, ad, msg, sizeof(msg))) != 0)
		goto out;
	/* Version 1 authenticates nothing but ADMIN_PRIV itself. */
	if (ad->version == 1) {
		rc = BEEMO_ENOKEY;
		goto out;
	}
	if ((rc = km_admin_open(ad, path, pw, pwlen, &k, msg,
	    sizeof(msg))) != 0)
		goto out;
	memcpy(appliance_id, ad->appliance_id, KEYMGR_ID_LEN);
	memcpy(out, k->k_off, KEYMGR_OFFSITE_LEN);
out:
	km_admin_keys_free(k);
	free(ad);
	return rc;
}

/* ---- blobs sealed for the administrator ------------------------------- */

int
keymgr_seal_admin(keymgr *km, const uint8_t *in, size_t len, uint8_t **out,
    size_t *outlen)
{
	struct km_sealblob_disk d;
	struct km_admin *ad;
	uint8_t label[KM_LABEL_MAX], *key = NULL, *buf = NULL;
	size_t labellen, total;
	EVP_PKEY *pub = NULL;
	int rc;

	km->errmsg[0] = '\0';
	if (len > SIZE_MAX - sizeof(d) - KM_TAG_LEN || len > INT32_MAX)
		return km_done(km, -EFBIG);
	total = sizeof(d) + len + KM_TAG_LEN;
	if ((ad = malloc(sizeof(*ad))) == NULL)
		return km_done(km, -ENOMEM);
	if ((rc = km_load_admin_pub(km, ad, &pub)) != 0)
		goto out;
	if ((key = km_secure_alloc(KM_AES_LEN)) == NULL ||
	    (buf = malloc(total)) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	km_put_hdr(&d.hdr, KM_MAGIC_SEALED, KM_VERSION_SEALED,
	    km->appliance_id);
	labellen = admin_label(km, "sealed-blob", label);
	if ((rc = km_random_priv(key, KM_AES_LEN)) != 0 ||
	    (rc = km_random(d.nonce, KM_NONCE_LEN)) != 0 ||
	    (rc = km_wrap(pub, label, labellen, key, d.wrap)) != 0)
		goto out;
	bm_be64enc(d.len, len);
	memcpy(buf, &d, sizeof(d));
	/* The header, the wrapped key and the length are all authenticated
	 * as associated data. */
	if ((rc = bm_gcm(1, key, d.nonce, buf, sizeof(d), NULL, 0, in, len,
	    buf + sizeof(d))) != 0)
		goto out;
	*out = buf;
	*outlen = total;
	buf = NULL;
out:
	free(buf);
	bm_free_secret(key, KM_AES_LEN);
	EVP_PKEY_free(pub);
	free(ad);
	return km_done(km, rc);
}

int
keymgr_open_admin(keymgr *km, const char *pw, size_t pwlen,
    const uint8_t *in, size_t len, uint8_t **out, size_t *outlen)
{
	struct km_sealblob_disk d;
	uint8_t label[KM_LABEL_MAX], *key = NULL, *pt = NULL;
	size_t labellen, ptlen = 0;
	EVP_PKEY *priv = NULL;
	int rc;

	km->errmsg[0] = '\0';
	if (len < sizeof(d) + KM_TAG_LEN || memcmp(in, KM_MAGIC_SEALED, 8))
		return km_done(km, km_err(km, BEEMO_EFORMAT,
		    "not a blob sealed for the administrator"));
	memcpy(&d, in, sizeof(d));
	if (bm_be32dec(d.hdr.version) != KM_VERSION_SEALED)
		return km_done(km, km_err(km, BEEMO_EVERSION,
		    "sealed blob has format version %u",
		    bm_be32dec(d.hdr.version)));
	if (memcmp(d.hdr.appliance_id, km->appliance_id, KEYMGR_ID_LEN))
		return km_done(km, km_err(km, BEEMO_EFOREIGN,
		    "sealed blob belongs to another appliance"));
	ptlen = len - sizeof(d) - KM_TAG_LEN;
	if (bm_be64dec(d.len) != ptlen)
		return km_done(km, km_err(km, -EBADMSG,
		    "sealed blob is truncated or tampered with"));
	if ((rc = km_admin_priv(km, pw, pwlen, NULL, &priv)) != 0)
		goto out;
	if ((key = km_secure_alloc(KM_AES_LEN)) == NULL ||
	    (pt = malloc(ptlen + 1)) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	labellen = admin_label(km, "sealed-blob", label);
	if ((rc = km_unwrap(priv, label, labellen, d.wrap, key)) == 0)
		rc = bm_gcm(0, key, d.nonce, in, sizeof(d), NULL, 0,
		    in + sizeof(d), ptlen, pt);
	if (rc == -EBADMSG)
		km_err(km, rc, "sealed blob is tampered with");
	if (rc != 0)
		goto out;
	*out = pt;
	*outlen = ptlen;
	pt = NULL;
out:
	if (pt != NULL) {
		OPENSSL_cleanse(pt, ptlen);
		free(pt);
	}
	bm_free_secret(key, KM_AES_LEN);
	EVP_PKEY_free(priv);
	return km_done(km, rc);
}
