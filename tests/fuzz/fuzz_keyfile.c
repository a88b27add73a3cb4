/*
 * fuzz_keyfile.c -- libFuzzer target for keymgr_parse_check().
 *
 * Each input is parsed twice: as it is, which mostly exercises the size,
 * magic and digest checks, and with its SHA-256 trailer recomputed, as an
 * attacker who rewrites a key file can do, so that the mutations reach
 * the structure parser behind the digest.  The parser must return 0,
 * BEEMO_EFORMAT or BEEMO_EVERSION and never read out of bounds (ASan),
 * overflow (UBSan) or allocate without bound.
 */
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bm_err.h"
#include "keymgr.h"

#define DIGEST_LEN 32
#define HEADER_LEN 28 /* magic, version, appliance id */

static void
check(const uint8_t *buf, size_t len)
{
	int rc = keymgr_parse_check(buf, len);

	if (rc != 0 && rc != BEEMO_EFORMAT && rc != BEEMO_EVERSION)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;

	check(data, size);
	if (size < HEADER_LEN + DIGEST_LEN || size > (1u << 20))
		return 0;
	/* An exact-size copy, so ASan sees any read past the end. */
	if ((copy = malloc(size)) == NULL)
		return 0;
	memcpy(copy, data, size);
	if (EVP_Digest(copy, size - DIGEST_LEN, copy + size - DIGEST_LEN,
	    NULL, EVP_sha256(), NULL) == 1)
		check(copy, size);
	free(copy);
	return 0;
}
