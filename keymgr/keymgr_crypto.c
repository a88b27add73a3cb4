/*
 * keymgr_crypto.c -- the primitives of the key hierarchy, on OpenSSL 3's
 * EVP API only.
 *
 * Password seal: key = scrypt(password, 32-byte random salt, N, r, p) to
 * 32 bytes; ciphertext = AES-256-GCM(key, random 96-bit nonce, AAD, DER)
 * with the 16-byte tag appended.  A salt is never reused, so neither is
 * a (key, nonce) pair.
 *
 * Wrap: RSA-3072 OAEP with SHA-256 and MGF1-SHA-256 of a 32-byte key; the
 * OAEP label names the wrap's place (appliance, machine, generation,
 * principal), so a wrap copied to another place does not decrypt.
 *
 * Every temporary holding key material is in the secure heap or on the
 * stack, and cleansed before return.
 */
#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <string.h>

#include "bm_bytes.h"
#include "bm_err.h"
#include "bm_gcm.h"
#include "bm_pass.h"
#include "keymgr_internal.h"

static const char kcv_text[] = "beemo key check";
static const char wrap_prefix[] = "beemo/v1/wrap";

int
km_kdf_valid(const struct keymgr_kdf *kdf)
{
	if (kdf->N < (1u << 10) || kdf->N > (1u << 22) ||
	    (kdf->N & (kdf->N - 1)) != 0)
		return 0;
	if (kdf->r < 1 || kdf->r > 32 || kdf->p < 1 || kdf->p > 16)
		return 0;
	if (128 * kdf->N * kdf->r > KEYMGR_KDF_MAXMEM)
		return 0;
	return kdf->N * kdf->r * kdf->p <= KM_KDF_MAXWORK;
}

int
km_random(uint8_t *buf, size_t n)
{
	return RAND_bytes(buf, (int)n) == 1 ? 0 : -EIO;
}

int
km_random_priv(uint8_t *buf, size_t n)
{
	return RAND_priv_bytes(buf, (int)n) == 1 ? 0 : -EIO;
}

int
km_sha256(const uint8_t *in, size_t len, uint8_t out[KM_DIGEST_LEN])
{
	return EVP_Digest(in, len, out, NULL, EVP_sha256(), NULL) == 1 ? 0 :
	    -EIO;
}

void *
km_secure_alloc(size_t n)
{
	return OPENSSL_secure_zalloc(n);
}

/* scrypt into a 32-byte key; @kdf must be valid. */
static int
pw_key(const char *pw, size_t pwlen, const uint8_t *salt,
    const struct keymgr_kdf *kdf, uint8_t key[KM_AES_LEN])
{
	/* scrypt's V array is 128*r*N bytes and B is 128*r*p; 1 MiB slack
	 * for OpenSSL's own rounding. */
	uint64_t maxmem = 128 * kdf->N * kdf->r + 128ULL * kdf->r * kdf->p +
	    (1u << 20);

	if (EVP_PBE_scrypt(pw, pwlen, salt, KM_SALT_LEN, kdf->N, kdf->r,
	    kdf->p, maxmem, key, KM_AES_LEN) != 1)
		return -EIO;
	return 0;
}

int
km_pw_seal_begin(const struct keymgr_kdf *kdf, size_t ptlen,
    struct km_sealed *out)
{
	int rc;

	if (!km_kdf_valid(kdf) || ptlen == 0 || ptlen > KM_PRIV_MAX)
		return -EINVAL;
	out->kdf = *kdf;
	out->ctlen = ptlen + KM_TAG_LEN;
	if ((rc = km_random(out->salt, KM_SALT_LEN)) != 0 ||
	    (rc = km_random(out->nonce, KM_NONCE_LEN)) != 0)
		return rc;
	return 0;
}

int
km_pw_seal_end(const char *pw, size_t pwlen, const uint8_t *aad,
    size_t aadlen, const uint8_t *pt, size_t ptlen, struct km_sealed *out)
{
	uint8_t *key;
	int rc;

	if (!km_kdf_valid(&out->kdf) || out->ctlen != ptlen + KM_TAG_LEN ||
	    ptlen > KM_PRIV_MAX)
		return -EINVAL;
	if ((key = km_secure_alloc(KM_AES_LEN)) == NULL)
		return -ENOMEM;
	if ((rc = pw_key(pw, pwlen, out->salt, &out->kdf, key)) == 0)
		rc = bm_gcm(1, key, out->nonce, aad, aadlen, NULL, 0, pt,
		    ptlen, out->ct);
	bm_free_secret(key, KM_AES_LEN);
	return rc;
}

int
km_pw_seal(const char *pw, size_t pwlen, const struct keymgr_kdf *kdf,
    const uint8_t *aad, size_t aadlen, const uint8_t *pt, size_t ptlen,
    struct km_sealed *out)
{
	int rc;

	if ((rc = km_pw_seal_begin(kdf, ptlen, out)) != 0)
		return rc;
	return km_pw_seal_end(pw, pwlen, aad, aadlen, pt, ptlen, out);
}

int
km_pw_open(const char *pw, size_t pwlen, const struct km_sealed *s,
    const uint8_t *aad, size_t aadlen, uint8_t **pt, size_t *ptlen)
{
	uint8_t *key, *buf;
	size_t len;
	int rc;

	if (!km_kdf_valid(&s->kdf) || s->ctlen <= KM_TAG_LEN ||
	    s->ctlen > sizeof(s->ct))
		return -EINVAL;
	len = s->ctlen - KM_TAG_LEN;
	if ((key = km_secure_alloc(KM_AES_LEN)) == NULL)
		return -ENOMEM;
	if ((buf = km_secure_alloc(len)) == NULL) {
		rc = -ENOMEM;
		goto out_key;
	}
	if ((rc = pw_key(pw, pwlen, s->salt, &s->kdf, key)) != 0)
		goto fail_buf;
	rc = bm_gcm(0, key, s->nonce, aad, aadlen, NULL, 0, s->ct, len, buf);
	if (rc == -EBADMSG)
		rc = BEEMO_EPASSWORD;
	if (rc != 0)
		goto fail_buf;
	*pt = buf;
	*ptlen = len;
	goto out_key;

fail_buf:
	bm_free_secret(buf, len);
out_key:
	bm_free_secret(key, KM_AES_LEN);
	return rc;
}

int
km_rsa_keygen(EVP_PKEY **out)
{
	/* RSA keygen allocates the private BIGNUMs in the secure heap. */
	*out = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)KEYMGR_RSA_BITS);
	return *out != NULL ? 0 : -EIO;
}

int
km_pub_der(EVP_PKEY *pkey, uint8_t *buf, size_t *len)
{
	unsigned char *p = buf;
	int n = i2d_PUBKEY(pkey, NULL);

	if (n <= 0 || n > KM_PUB_MAX)
		return -EIO;
	if (i2d_PUBKEY(pkey, &p) != n)
		return -EIO;
	*len = (size_t)n;
	return 0;
}

int
km_priv_der(EVP_PKEY *pkey, uint8_t **der, size_t *len)
{
	unsigned char *buf, *p;
	int n = i2d_PrivateKey(pkey, NULL);

	if (n <= 0 || n > KM_PRIV_MAX)
		return -EIO;
	if ((buf = km_secure_alloc((size_t)n)) == NULL)
		return -ENOMEM;
	p = buf;
	if (i2d_PrivateKey(pkey, &p) != n) {
		bm_free_secret(buf, (size_t)n);
		return -EIO;
	}
	*der = buf;
	*len = (size_t)n;
	return 0;
}

int
km_pub_load(const uint8_t *der, size_t len, EVP_PKEY **out)
{
	const unsigned char *p = der;
	EVP_PKEY *pkey;

	if (len == 0 || len > KM_PUB_MAX)
		return BEEMO_EFORMAT;
	pkey = d2i_PUBKEY(NULL, &p, (long)len);
	if (pkey == NULL || p != der + len ||
	    !EVP_PKEY_is_a(pkey, "RSA") ||
	    EVP_PKEY_get_bits(pkey) != KEYMGR_RSA_BITS) {
		EVP_PKEY_free(pkey);
		return BEEMO_EFORMAT;
	}
	*out = pkey;
	return 0;
}

int
km_priv_load(const uint8_t *der, size_t len, const uint8_t *pub,
    size_t publen, EVP_PKEY **out)
{
	const unsigned char *p = der;
	uint8_t mine[KM_PUB_MAX];
	size_t minelen;
	EVP_PKEY *pkey;

	pkey = d2i_PrivateKey_ex(EVP_PKEY_RSA, NULL, &p, (long)len, NULL,
	    NULL);
	if (pkey == NULL || p != der + len ||
	    EVP_PKEY_get_bits(pkey) != KEYMGR_RSA_BITS)
		goto fail;
	/* The stored public key must be this private key's half: the
	 * wraps were made with the former, we decrypt with the latter. */
	if (km_pub_der(pkey, mine, &minelen) != 0 || minelen != publen ||
	    memcmp(mine, pub, publen) != 0)
		goto fail;
	*out = pkey;
	return 0;

fail:
	EVP_PKEY_free(pkey);
	return BEEMO_EFORMAT;
}

/* Set up @ctx for OAEP-SHA256 with @label. */
static OSSL_PARAM *
oaep_params(OSSL_PARAM params[5], const uint8_t *label, size_t labellen)
{
	params[0] = OSSL_PARAM_construct_utf8_string(
	    OSSL_ASYM_CIPHER_PARAM_PAD_MODE, OSSL_PKEY_RSA_PAD_MODE_OAEP, 0);
	params[1] = OSSL_PARAM_construct_utf8_string(
	    OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST, "SHA256", 0);
	params[2] = OSSL_PARAM_construct_utf8_string(
	    OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST, "SHA256", 0);
	params[3] = OSSL_PARAM_construct_octet_string(
	    OSSL_ASYM_CIPHER_PARAM_OAEP_LABEL, (void *)label, labellen);
	params[4] = OSSL_PARAM_construct_end();
	return params;
}

int
km_wrap(EVP_PKEY *pub, const uint8_t *label, size_t labellen,
    const uint8_t key[KEYMGR_SECRET_LEN], uint8_t out[KM_WRAP_LEN])
{
	OSSL_PARAM params[5];
	EVP_PKEY_CTX *ctx;
	size_t outlen = KM_WRAP_LEN;
	int rc = -EIO;

	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL)) == NULL)
		return -ENOMEM;
	if (EVP_PKEY_encrypt_init_ex(ctx, oaep_params(params, label,
	    labellen)) != 1)
		goto out_ctx;
	if (EVP_PKEY_encrypt(ctx, out, &outlen, key, KEYMGR_SECRET_LEN) !=
	    1 || outlen != KM_WRAP_LEN)
		goto out_ctx;
	rc = 0;
out_ctx:
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

int
km_unwrap(EVP_PKEY *priv, const uint8_t *label, size_t labellen,
    const uint8_t in[KM_WRAP_LEN], uint8_t key[KEYMGR_SECRET_LEN])
{
	OSSL_PARAM params[5];
	EVP_PKEY_CTX *ctx;
	uint8_t *buf;
	size_t outlen = KM_WRAP_LEN;
	int rc = -EIO;

	if ((buf = km_secure_alloc(KM_WRAP_LEN)) == NULL)
		return -ENOMEM;
	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, priv, NULL)) == NULL) {
		rc = -ENOMEM;
		goto out_buf;
	}
	if (EVP_PKEY_decrypt_init_ex(ctx, oaep_params(params, label,
	    labellen)) != 1)
		goto out_ctx;
	if (EVP_PKEY_decrypt(ctx, buf, &outlen, in, KM_WRAP_LEN) != 1 ||
	    outlen != KEYMGR_SECRET_LEN) {
		rc = -EBADMSG;
		goto out_ctx;
	}
	memcpy(key, buf, KEYMGR_SECRET_LEN);
	rc = 0;
out_ctx:
	EVP_PKEY_CTX_free(ctx);
out_buf:
	bm_free_secret(buf, KM_WRAP_LEN);
	return rc;
}

int
km_kcv(const uint8_t key[KEYMGR_SECRET_LEN], uint8_t out[KM_KCV_STORED])
{
	uint8_t mac[32];
	size_t maclen = 0;
	int rc = -EIO;

	if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key,
	    KEYMGR_SECRET_LEN, (const uint8_t *)kcv_text,
	    sizeof(kcv_text) - 1, mac, sizeof(mac), &maclen) != NULL &&
	    maclen == sizeof(mac)) {
		memcpy(out, mac, KM_KCV_STORED);
		rc = 0;
	}
	OPENSSL_cleanse(mac, sizeof(mac));
	return rc;
}

int
km_hkdf(const uint8_t *key, size_t keylen, const uint8_t *salt,
    size_t saltlen, const char *info, uint8_t out[KEYMGR_SECRET_LEN])
{
	OSSL_PARAM params[5];
	EVP_KDF *kdf;
	EVP_KDF_CTX *ctx = NULL;
	int rc = -EIO;

	if ((kdf = EVP_KDF_fetch(NULL, "HKDF", NULL)) == NULL)
		return -EIO;
	if ((ctx = EVP_KDF_CTX_new(kdf)) == NULL)
		goto out_kdf;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    "SHA256", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
	    (void *)key, keylen);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
	    (void *)salt, saltlen);
	params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
	    (void *)info, strlen(info));
	params[4] = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(ctx, out, KEYMGR_SECRET_LEN, params) == 1)
		rc = 0;
	EVP_KDF_CTX_free(ctx); /* cleanses its copy of the key */
out_kdf:
	EVP_KDF_free(kdf);
	return rc;
}

size_t
km_label(uint8_t out[KM_LABEL_MAX], const uint8_t *appliance_id,
    const uint8_t *machine_id, uint32_t gen, enum keymgr_principal who,
    const char *user)
{
	size_t n = sizeof(wrap_prefix) - 1;

	static_assert(sizeof(wrap_prefix) - 1 + 2 * KEYMGR_ID_LEN + 4 + 1 +
	    KM_NAME_MAX <= KM_LABEL_MAX, "label size");
	memcpy(out, wrap_prefix, n);
	memcpy(out + n, appliance_id, KEYMGR_ID_LEN);
	n += KEYMGR_ID_LEN;
	memcpy(out + n, machine_id, KEYMGR_ID_LEN);
	n += KEYMGR_ID_LEN;
	bm_be32enc(out + n, gen);
	n += 4;
	out[n++] = (uint8_t)who;
	memset(out + n, 0, KM_NAME_MAX);
	if (user != NULL)
		memcpy(out + n, user, strnlen(user, KM_NAME_MAX));
	return n + KM_NAME_MAX;
}
