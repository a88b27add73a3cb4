/*
 * keymgr_sign.c -- the administrator's signature (see keymgr.h).
 *
 * RSA-PSS with SHA-256, MGF1-SHA-256 and a salt as long as the digest,
 * over the concatenation of "beemo/v1/admin-sign/" @label, a zero byte,
 * the appliance id and the message.  The label keeps a signature made
 * for one use from passing for another; the appliance id keeps it from
 * passing on another appliance.  An unlocked key lives in OpenSSL's
 * memory (the private key's DER is wiped after parsing) until freed.
 */
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

#include "keymgr_internal.h"

#define SIGN_PREFIX "beemo/v1/admin-sign/"

/* Set up @md for PSS on @key and feed it the prefix, @label and the
 * appliance id.  Returns 0 or -EIO. */
static int
pss_begin(EVP_MD_CTX *md, EVP_PKEY *key, int sign, const char *label,
    const uint8_t appliance_id[KEYMGR_ID_LEN])
{
	EVP_PKEY_CTX *pctx = NULL;
	int ok;

	ok = sign ? EVP_DigestSignInit(md, &pctx, EVP_sha256(), NULL, key) :
	    EVP_DigestVerifyInit(md, &pctx, EVP_sha256(), NULL, key);
	if (ok != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) !=
	    1 || EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) != 1 ||
	    EVP_DigestUpdate(md, SIGN_PREFIX, strlen(SIGN_PREFIX)) != 1 ||
	    EVP_DigestUpdate(md, label, strlen(label) + 1) != 1 ||
	    EVP_DigestUpdate(md, appliance_id, KEYMGR_ID_LEN) != 1)
		return -EIO;
	return 0;
}

struct keymgr_admin_key {
	EVP_PKEY *priv;
	uint8_t appliance_id[KEYMGR_ID_LEN];
};

int
keymgr_admin_key_unlock(keymgr *km, const char *pw, size_t pwlen,
    keymgr_admin_key **out)
{
	keymgr_admin_key *k;
	int rc;

	km->errmsg[0] = '\0';
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return km_done(km, -ENOMEM);
	if ((rc = km_admin_priv(km, pw, pwlen, NULL, &k->priv)) != 0) {
		free(k);
		return km_done(km, rc);
	}
	memcpy(k->appliance_id, km->appliance_id, KEYMGR_ID_LEN);
	*out = k;
	return km_done(km, 0);
}

int
keymgr_admin_key_sign(keymgr_admin_key *k, const char *label,
    const uint8_t *msg, size_t len, uint8_t sig[KEYMGR_SIG_LEN])
{
	EVP_MD_CTX *md;
	size_t siglen = KEYMGR_SIG_LEN;
	int rc;

	if (!km_label_ok(label))
		return -EINVAL;
	if ((md = EVP_MD_CTX_new()) == NULL)
		return -ENOMEM;
	rc = pss_begin(md, k->priv, 1, label, k->appliance_id);
	if (rc == 0 && (EVP_DigestSignUpdate(md, msg, len) != 1 ||
	    EVP_DigestSignFinal(md, sig, &siglen) != 1 ||
	    siglen != KEYMGR_SIG_LEN))
		rc = -EIO;
	EVP_MD_CTX_free(md);
	return rc;
}

void
keymgr_admin_key_free(keymgr_admin_key *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->priv);
	free(k);
}

int
keymgr_admin_verify(keymgr *km, const char *label, const uint8_t *msg,
    size_t len, const uint8_t *sig, size_t siglen)
{
	struct km_admin *ad;
	EVP_PKEY *pub = NULL;
	EVP_MD_CTX *md = NULL;
	int rc;

	km->errmsg[0] = '\0';
	if (!km_label_ok(label))
		return km_done(km, km_err(km, -EINVAL, "bad signature label"));
	if ((ad = malloc(sizeof(*ad))) == NULL)
		return km_done(km, -ENOMEM);
	if ((rc = km_load_admin_pub(km, ad, &pub)) != 0)
		goto out;
	if ((md = EVP_MD_CTX_new()) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	if ((rc = pss_begin(md, pub, 0, label, km->appliance_id)) != 0)
		goto out;
	if (siglen != KEYMGR_SIG_LEN ||
	    EVP_DigestVerifyUpdate(md, msg, len) != 1 ||
	    EVP_DigestVerifyFinal(md, sig, siglen) != 1)
		rc = km_err(km, -EBADMSG, "not a signature of the "
		    "administrator");
out:
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pub);
	free(ad);
	return km_done(km, rc);
}
