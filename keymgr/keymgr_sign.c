/*
 * keymgr_sign.c -- the administrator's signature (see keymgr.h).
 *
 * RSA-PSS with SHA-256, MGF1-SHA-256 and a salt as long as the digest,
 * over the concatenation of "beemo/v1/admin-sign/" @label, a zero byte,
 * the appliance id and the message.  The label keeps a signature made
 * for one use from passing for another; the appliance id keeps it from
 * passing on another appliance.  An unlocked key lives in OpenSSL's
 * memory (the private key's DER is wiped after parsing) until freed.
 *
 * A party that holds no key directory (a storage center) verifies with
 * the image of an admin.key file instead: its ADMIN_PUB and appliance
 * id.  An endorsement (struct km_endorse_disk) is the old ADMIN_PRIV's
 * signature, label KEYMGR_ENDORSE_LABEL, over its header, its time and
 * the SHA-256 of the admin.key that replaces it.
 */
#include <errno.h>
#include <stddef.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

#include "bm_bytes.h"
#include "bm_err.h"
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

/* ---- with an admin.key image instead of the key directory ---------- */

/* ADMIN_PUB and the appliance id of the admin.key image @key. */
static int
image_pub(const uint8_t *key, size_t keylen, EVP_PKEY **pub,
    uint8_t appliance_id[KEYMGR_ID_LEN])
{
	struct km_admin *ad;
	char msg[256];
	int rc;

	if ((ad = malloc(sizeof(*ad))) == NULL)
		return -ENOMEM;
	if ((rc = km_parse_admin(key, keylen, "admin.key", ad, msg,
	    sizeof(msg))) == 0 &&
	    (rc = km_pub_load(ad->pub, ad->publen, pub)) == 0)
		memcpy(appliance_id, ad->appliance_id, KEYMGR_ID_LEN);
	free(ad);
	return rc;
}

/* Verify @sig over @msg under @label with @pub for @appliance_id. */
static int
pss_verify(EVP_PKEY *pub, const uint8_t appliance_id[KEYMGR_ID_LEN],
    const char *label, const uint8_t *msg, size_t len, const uint8_t *sig,
    size_t siglen)
{
	EVP_MD_CTX *md;
	int rc;

	if ((md = EVP_MD_CTX_new()) == NULL)
		return -ENOMEM;
	if ((rc = pss_begin(md, pub, 0, label, appliance_id)) == 0 &&
	    (siglen != KEYMGR_SIG_LEN ||
	    EVP_DigestVerifyUpdate(md, msg, len) != 1 ||
	    EVP_DigestVerifyFinal(md, sig, siglen) != 1))
		rc = -EBADMSG;
	EVP_MD_CTX_free(md);
	return rc;
}

int
keymgr_image_verify(const uint8_t *key, size_t keylen, const char *label,
    const uint8_t *msg, size_t len, const uint8_t *sig, size_t siglen,
    uint8_t appliance_id[KEYMGR_ID_LEN])
{
	uint8_t id[KEYMGR_ID_LEN];
	EVP_PKEY *pub = NULL;
	int rc;

	if (!km_label_ok(label))
		return -EINVAL;
	if ((rc = image_pub(key, keylen, &pub, id)) != 0)
		return rc;
	if (appliance_id != NULL)
		memcpy(appliance_id, id, KEYMGR_ID_LEN);
	rc = pss_verify(pub, id, label, msg, len, sig, siglen);
	EVP_PKEY_free(pub);
	return rc;
}

int
keymgr_image_id(const uint8_t *key, size_t keylen,
    uint8_t appliance_id[KEYMGR_ID_LEN])
{
	EVP_PKEY *pub = NULL;
	int rc;

	rc = image_pub(key, keylen, &pub, appliance_id);
	EVP_PKEY_free(pub);
	return rc;
}

/* ---- endorsements ---------------------------------------------------- */

int
keymgr_admin_endorse(keymgr_admin_key *k, const uint8_t *newkey,
    size_t newlen, uint64_t created, uint8_t out[KEYMGR_ENDORSE_LEN])
{
	struct km_endorse_disk d;
	int rc;

	static_assert(sizeof(d) == KEYMGR_ENDORSE_LEN, "KEYMGR_ENDORSE_LEN");
	memset(&d, 0, sizeof(d));
	km_put_hdr(&d.hdr, KM_MAGIC_ENDORSE, KM_VERSION_ENDORSE,
	    k->appliance_id);
	bm_be64enc(d.created, created);
	if ((rc = km_sha256(newkey, newlen, d.endorsed)) != 0 ||
	    (rc = keymgr_admin_key_sign(k, KEYMGR_ENDORSE_LABEL,
	    (const uint8_t *)&d, offsetof(struct km_endorse_disk, sig),
	    d.sig)) != 0)
		return rc;
	memcpy(out, &d, sizeof(d));
	return 0;
}

int
keymgr_endorse_check(const uint8_t *signer, size_t signerlen,
    const uint8_t *e, size_t elen, uint8_t endorsed[KEYMGR_DIGEST_LEN])
{
	struct km_endorse_disk d;
	uint8_t id[KEYMGR_ID_LEN];
	EVP_PKEY *pub = NULL;
	int rc;

	if (elen != sizeof(d))
		return BEEMO_EFORMAT;
	memcpy(&d, e, sizeof(d));
	if (memcmp(d.hdr.magic, KM_MAGIC_ENDORSE, sizeof(d.hdr.magic)) != 0)
		return BEEMO_EFORMAT;
	if (bm_be32dec(d.hdr.version) != KM_VERSION_ENDORSE)
		return bm_be32dec(d.hdr.version) > KM_VERSION_ENDORSE ?
		    BEEMO_EVERSION : BEEMO_EFORMAT;
	if ((rc = image_pub(signer, signerlen, &pub, id)) != 0)
		return rc;
	/* The signer's appliance id is in the signed text: an endorsement
	 * by another appliance's administrator fails here. */
	if (memcmp(id, d.hdr.appliance_id, KEYMGR_ID_LEN) != 0)
		rc = -EBADMSG;
	else
		rc = pss_verify(pub, id, KEYMGR_ENDORSE_LABEL,
		    (const uint8_t *)&d, offsetof(struct km_endorse_disk, sig),
		    d.sig, sizeof(d.sig));
	if (rc == 0)
		memcpy(endorsed, d.endorsed, KEYMGR_DIGEST_LEN);
	EVP_PKEY_free(pub);
	return rc;
}
