/*
 * test_store_keys.c -- unit tests of the store's keys per format
 * (fs/store_crypto.c, store_chunker.c): format 2 keys the chunker's
 * table and the name hashes with keys of their own, so that no planted
 * input has a chunk id equal to an entry of the table; format 1 keeps
 * its derivation (known answers for both formats).
 */
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "bm_bytes.h"
#include "bm_log.h"
#include "check.h"
#include "store_codec.h"

static void
fixed_key(uint8_t key[KEYMGR_SECRET_LEN], uint8_t base)
{
	size_t i;

	for (i = 0; i < KEYMGR_SECRET_LEN; i++)
		key[i] = (uint8_t)(base + i);
}

/* Known answers, computed apart (Python's hmac) from the fixed keys
 * below: the first word of the gear table (host order, as the table
 * holds it) and the hash of the name "hello", in each format.  The
 * format 1 table is that of test_store_codec.c's chunker vectors. */
static const uint64_t kat_gear0_v1 = 0x88b46ff26f763385ULL;
static const uint64_t kat_gear0_v2 = 0x2891cae382006d4fULL;
static const char kat_name_v1[] = "8067436c902ba8e8cc638a88a92cb506";
static const char kat_name_v2[] = "3192e2860f65b3d87a1568c1d914a0de";

static struct store_keys *
sep_keys_new(struct keymgr_subkeys *sk, unsigned format)
{
	struct store_keys *ks = calloc(1, sizeof(*ks));

	REQUIRE(ks != NULL);
	ks->ngen = ks->gen = 1;
	ks->keys = calloc(2, sizeof(*ks->keys));
	REQUIRE(ks->keys != NULL);
	ks->keys[1] = sk;
	CHECK_OK(keys_derive(ks, format));
	return ks;
}

static void
sep_keys_free(struct store_keys *ks)
{
	ks->keys[1] = NULL; /* not from the secure heap */
	keys_fini(ks);
	free(ks);
}

/* How many times the chunk id of a 15-byte input "beemo/vN/gear" NUL i,
 * which a client can plant as a file, starts with an entry of the
 * table of @ks (and so gives it away in a pack header). */
static int
planted_gives_gear(const struct store_keys *ks)
{
	static const char *const labels[] = {"beemo/v1/gear", "beemo/v2/gear"};
	uint8_t msg[15], id[OBJ_ID_LEN];
	size_t l, i, j;
	int hits = 0;

	for (l = 0; l < 2; l++) {
		memcpy(msg, labels[l], 14);
		for (i = 0; i < 256; i++) {
			msg[14] = (uint8_t)i;
			CHECK_OK(chunk_id(ks, 1, msg, sizeof(msg), id));
			for (j = 0; j < 256; j++)
				hits += memcmp(id, &ks->gear[j], 8) == 0;
		}
	}
	return hits;
}

static void
test_key_separation(void)
{
	struct keymgr_subkeys sk;
	struct store_keys *v1, *v2;
	uint8_t h[NAMEHASH_LEN];
	char hex[2 * NAMEHASH_LEN + 1];

	memset(&sk, 0, sizeof(sk));
	fixed_key(sk.data, 0x40);
	fixed_key(sk.chunk, 0);
	fixed_key(sk.meta, 0x80);
	fixed_key(sk.gear, 0xc0);
	fixed_key(sk.name, 0xe0);
	v1 = sep_keys_new(&sk, STORE_FORMAT_V1);
	v2 = sep_keys_new(&sk, STORE_FORMAT);
	/* Format 1 is unchanged: its table and name hashes still come
	 * from the chunk-id and meta keys, and a planted file's chunk id
	 * still equals a table entry (every one of the 256). */
	CHECK(v1->gear[0] == kat_gear0_v1);
	name_hash(v1, "hello", h);
	bm_hex(hex, h, sizeof(h));
	CHECK(strcmp(hex, kat_name_v1) == 0);
	CHECK(planted_gives_gear(v1) == 256);
	/* Format 2: the table and the name hashes have their own keys, and
	 * no planted input's chunk id is a table entry. */
	CHECK(v2->gear[0] == kat_gear0_v2);
	name_hash(v2, "hello", h);
	bm_hex(hex, h, sizeof(h));
	CHECK(strcmp(hex, kat_name_v2) == 0);
	CHECK(planted_gives_gear(v2) == 0);
	/* The chunk ids themselves do not depend on the format. */
	{
		uint8_t a[OBJ_ID_LEN], b[OBJ_ID_LEN];

		CHECK_OK(chunk_id(v1, 1, "x", 1, a));
		CHECK_OK(chunk_id(v2, 1, "x", 1, b));
		CHECK(memcmp(a, b, sizeof(a)) == 0);
	}
	/* An unknown format is refused. */
	{
		struct store_keys bad;
		struct keymgr_subkeys *one[2] = {NULL, &sk};

		memset(&bad, 0, sizeof(bad));
		bad.ngen = bad.gen = 1;
		bad.keys = one;
		CHECK_RC(keys_derive(&bad, 3), BEEMO_EVERSION);
	}
	sep_keys_free(v1);
	sep_keys_free(v2);
	OPENSSL_cleanse(&sk, sizeof(sk));
}

int
main(void)
{
	bm_log_open("test_store_keys", 0, -1);
	test_key_separation();
	return check_status();
}
