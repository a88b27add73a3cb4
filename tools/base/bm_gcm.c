/*
 * bm_gcm.c -- AES-256-GCM for small sealed records (bm_gcm.h).
 */
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <pthread.h>

#include "bm_gcm.h"

/* The cipher is fetched from the provider once per process: an implicit
 * fetch on every call (EVP_aes_256_gcm) costs a lookup in OpenSSL's
 * provider store, which the store pays on every sealed index value. */
static pthread_once_t gcm_once = PTHREAD_ONCE_INIT;
static EVP_CIPHER *gcm_cipher;

static void
gcm_fetch(void)
{
	gcm_cipher = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
}

int
bm_gcm(int enc, const uint8_t key[BM_GCM_KEY_LEN],
    const uint8_t iv[BM_GCM_IV_LEN], const void *aad1, size_t aad1len,
    const void *aad2, size_t aad2len, const uint8_t *in, size_t n,
    uint8_t *out)
{
	EVP_CIPHER_CTX *c;
	int l, rc = -EIO;

	if (n > INT32_MAX || aad1len > INT32_MAX || aad2len > INT32_MAX)
		return -EINVAL;
	(void)pthread_once(&gcm_once, gcm_fetch);
	if (gcm_cipher == NULL)
		return -EIO;
	if ((c = EVP_CIPHER_CTX_new()) == NULL)
		return -ENOMEM;
	if (EVP_CipherInit_ex2(c, gcm_cipher, key, iv, enc, NULL) != 1 ||
	    (aad1len > 0 && EVP_CipherUpdate(c, NULL, &l, aad1,
	    (int)aad1len) != 1) ||
	    (aad2len > 0 && EVP_CipherUpdate(c, NULL, &l, aad2,
	    (int)aad2len) != 1))
		goto done;
	/* The tag is set before any plaintext is written: @in may be
	 * @out, and the tag lies past the @n bytes that are rewritten. */
	if (!enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG,
	    BM_GCM_TAG_LEN, (void *)(in + n)) != 1)
		goto done;
	if (n > 0 && EVP_CipherUpdate(c, out, &l, in, (int)n) != 1)
		goto fail_cleanse;
	if (EVP_CipherFinal_ex(c, out + n, &l) != 1) {
		rc = enc ? -EIO : -EBADMSG;
		goto fail_cleanse;
	}
	if (enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG,
	    BM_GCM_TAG_LEN, out + n) != 1)
		goto fail_cleanse;
	rc = 0;
	goto done;

fail_cleanse:
	/* Unauthenticated plaintext never leaves. */
	if (!enc)
		OPENSSL_cleanse(out, n);
done:
	EVP_CIPHER_CTX_free(c); /* cleanses the key schedule */
	return rc;
}
