/*
 * bm_sealed.c -- small files sealed with AES-256-GCM (bm_sealed.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "bm_bytes.h"
#include "bm_err.h"
#include "bm_file.h"
#include "bm_gcm.h"
#include "bm_sealed.h"

#define SEALED_MAGIC "BMSEALRP"
#define SEALED_VERSION 1
#define SEALED_HDR 24 /* magic, version, nonce */
#define SEALED_TAG 16

/* AES-256-GCM; @hdr holds magic, version and nonce; the associated data
 * is magic, version and @label. */
static int
seal(int enc, const uint8_t key[32], const uint8_t hdr[SEALED_HDR],
    const char *label, const uint8_t *in, size_t n, uint8_t *out)
{
	return bm_gcm(enc, key, hdr + 12, hdr, 12, label, strlen(label), in, n,
	    out);
}

int
bm_sealed_write(const char *path, const uint8_t key[32], const char *label,
    const void *buf, size_t len, int exclusive)
{
	size_t total = SEALED_HDR + len + SEALED_TAG;
	uint8_t *b;
	int rc;

	if ((b = malloc(total)) == NULL)
		return -ENOMEM;
	memcpy(b, SEALED_MAGIC, 8);
	bm_be32enc(b + 8, SEALED_VERSION);
	if (getrandom(b + 12, 12, 0) != 12)
		rc = -EIO;
	else if ((rc = seal(1, key, b, label, buf, len,
	    b + SEALED_HDR)) == 0)
		rc = bm_write_file_atomic(path, b, total, 0600, exclusive);
	free(b);
	return rc;
}

int
bm_sealed_read(const char *path, const uint8_t key[32], const char *label,
    size_t maxlen, uint8_t **out, size_t *outlen)
{
	uint8_t *b = NULL, *plain;
	size_t len, n;
	int rc;

	if ((rc = bm_read_file(path, maxlen, &b, &len)) != 0)
		return rc;
	rc = BEEMO_EFORMAT;
	if (len < SEALED_HDR + SEALED_TAG || memcmp(b, SEALED_MAGIC, 8) != 0)
		goto fail;
	rc = BEEMO_EVERSION;
	if (bm_be32dec(b + 8) != SEALED_VERSION)
		goto fail;
	n = len - SEALED_HDR - SEALED_TAG;
	rc = -ENOMEM;
	if ((plain = malloc(n + 1)) == NULL)
		goto fail;
	if ((rc = seal(0, key, b, label, b + SEALED_HDR, n, plain)) != 0) {
		free(plain);
		goto fail;
	}
	plain[n] = '\0';
	free(b);
	*out = plain;
	*outlen = n;
	return 0;

fail:
	free(b);
	return rc;
}
