/*
 * keymgr_admin.c -- the administrator: ADMIN_PRIV, its password, the
 * recovery of appliance.key, and blobs sealed for the administrator.
 *
 * ADMIN_PRIV is sealed in admin.key with scrypt + AES-256-GCM; the
 * associated data binds the file header (magic, version, appliance id),
 * the principal ("admin") and ADMIN_PUB, so the seal cannot be moved to
 * another appliance or paired with another public key.  After unsealing,
 * the private key's public half must equal ADMIN_PUB byte for byte.
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

static size_t
admin_aad(const struct km_admin *a, uint8_t aad[KM_SEAL_AAD_MAX])
{
	return km_seal_aad(aad, KM_MAGIC_ADMIN, a->appliance_id, KEYMGR_ADMIN,
	    NULL, "admin", a->pub, a->publen);
}

/* The OAEP label of BEEMO_AES in admin.key, and of a sealed blob's key:
 * generation 0 and a zero machine id, which no machine wrap uses. */
static size_t
admin_label(const keymgr *km, const char *what, uint8_t label[KM_LABEL_MAX])
{
	static const uint8_t zero[KEYMGR_ID_LEN];

	return km_label(label, km->appliance_id, zero, 0, KEYMGR_ADMIN, what);
}

/* Unseal ADMIN_PRIV of @a into its DER (secure heap). */
static int
admin_der(keymgr *km, const struct km_admin *a, const char *pw,
    size_t pwlen, uint8_t **der, size_t *derlen)
{
	uint8_t aad[KM_SEAL_AAD_MAX];
	size_t aadlen = admin_aad(a, aad);
	int rc;

	rc = km_pw_open(pw, pwlen, &a->priv, aad, aadlen, der, derlen);
	if (rc == BEEMO_EPASSWORD)
		return km_err(km, rc, "wrong password for the administrator");
	if (rc != 0)
		return km_err(km, rc, "cannot unseal the administrator's "
		    "key: %s", beemo_strerror(rc));
	return 0;
}

int
km_admin_priv(keymgr *km, const char *pw, size_t pwlen, struct km_admin *a,
    EVP_PKEY **priv)
{
	struct km_admin *ad = a;
	uint8_t *der = NULL;
	size_t derlen = 0;
	int rc;

	if (ad == NULL && (ad = malloc(sizeof(*ad))) == NULL)
		return -ENOMEM;
	if ((rc = km_load_admin(km, ad)) != 0 ||
	    (rc = admin_der(km, ad, pw, pwlen, &der, &derlen)) != 0)
		goto out;
	if ((rc = km_priv_load(der, derlen, ad->pub, ad->publen, priv)) != 0)
		rc = km_err(km, BEEMO_EFORMAT, "key file %s/admin.key is "
		    "corrupt (private key does not match public key)",
		    km->dir);
out:
	bm_free_secret(der, derlen);
	if (ad != a)
		free(ad);
	return rc;
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
keymgr_admin_passwd(keymgr *km, const char *old, size_t oldlen,
    const char *new, size_t newlen)
{
	struct km_admin *ad;
	uint8_t aad[KM_SEAL_AAD_MAX], *der = NULL, *img = NULL;
	size_t derlen = 0, aadlen, len;
	char path[4096];
	EVP_PKEY *priv = NULL;
	int lockfd = -1, rc;

	km->errmsg[0] = '\0';
	if (newlen == 0)
		return km_done(km, km_err(km, -EINVAL, "empty new password"));
	if ((ad = malloc(sizeof(*ad))) == NULL)
		return km_done(km, -ENOMEM);
	if ((rc = km_lock(km, &lockfd)) != 0)
		goto out;
	if ((rc = km_admin_priv(km, old, oldlen, ad, &priv)) != 0 ||
	    (rc = km_priv_der(priv, &der, &derlen)) != 0)
		goto out;
	/* Reseal with a new salt and nonce under the appliance's current
	 * parameters; ADMIN_PUB and every wrap stay as they are. */
	aadlen = admin_aad(ad, aad);
	if ((rc = km_pw_seal(new, newlen, &ad->kdf, aad, aadlen, der, derlen,
	    &ad->priv)) != 0)
		goto out;
	if ((rc = km_ser_admin(ad, &img, &len)) != 0 ||
	    (rc = km_path_admin(km, path, sizeof(path))) != 0)
		goto out;
	if ((rc = bm_write_file_atomic(path, img, len, 0600, 0)) != 0)
		km_err(km, rc, "cannot write %s: %s", path,
		    beemo_strerror(rc));
out:
	km_unlock(lockfd);
	free(img);
	bm_free_secret(der, derlen);
	EVP_PKEY_free(priv);
	free(ad);
	return km_done(km, rc);
}

int
keymgr_restore_appliance_key(keymgr *km, const char *pw, size_t pwlen)
{
	struct km_appliance ap = {0};
	struct km_admin *ad;
	uint8_t label[KM_LABEL_MAX], *img = NULL;
	size_t labellen, len = 0;
	char path[4096];
	EVP_PKEY *priv = NULL;
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
	if ((rc = km_admin_priv(km, pw, pwlen, ad, &priv)) != 0)
		goto out;
	if ((ap.beemo_aes = km_secure_alloc(KM_AES_LEN)) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	labellen = admin_label(km, "appliance-key", label);
	if ((rc = km_unwrap(priv, label, labellen, ad->aes_wrap,
	    ap.beemo_aes)) != 0) {
		rc = km_err(km, BEEMO_EFORMAT, "key file %s/admin.key is "
		    "corrupt (the appliance key does not unwrap)", km->dir);
		goto out;
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
	EVP_PKEY_free(priv);
	free(ad);
	return km_done(km, rc);
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
	km_put_hdr(&d.hdr, KM_MAGIC_SEALED, km->appliance_id);
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
	if (bm_be32dec(d.hdr.version) != KM_VERSION)
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
