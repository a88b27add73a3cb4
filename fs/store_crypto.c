/*
 * store_crypto.c -- sealing and MACs for the store.
 *
 * Keys come from keymgr: per generation of the machine's SECRET, a data
 * key (chunks), a chunk-id MAC key, a meta key (index values, log
 * objects), a gear key (the chunker's table) and a name key (directory
 * keys).  Names are hashed with generation 1 so that directory lookups
 * survive rotations.  Which key hashes names and keys the chunker is the
 * store's format (beemo-store(5)): format 2 gives each use its own key;
 * format 1 hashed names with the meta key and derived the chunker's
 * table from the chunk-id key, so that a planted file whose bytes are
 * the table's HMAC input got a chunk id (visible in pack headers) equal
 * to a table entry.  Format 1 stores keep their derivation: their chunk
 * ids and directory keys depend on it.  A sealed value is
 *
 *   gen (4, big-endian) | nonce (12) | AES-256-GCM ciphertext | tag (16)
 *
 * with a caller-given associated data naming the value's place (table and
 * key), so a value moved elsewhere fails to authenticate.  Nonces are
 * random: 2^-32 collision odds are reached only after 2^32 seals under
 * one key, far beyond a store's life between rotations.
 */
#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <string.h>

#include "bm_bytes.h"
#include "bm_err.h"
#include "bm_gcm.h"
#include "store_codec.h"

static EVP_MAC_CTX *
mac_template(const uint8_t *key)
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = NULL;
	OSSL_PARAM params[2];

	if (mac == NULL)
		return NULL;
	ctx = EVP_MAC_CTX_new(mac);
	EVP_MAC_free(mac);
	if (ctx == NULL)
		return NULL;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (!EVP_MAC_init(ctx, key, KEYMGR_SECRET_LEN, params)) {
		EVP_MAC_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

int
keys_init(struct store_keys *ks, const keymgr_secret *s, unsigned format)
{
	uint32_t g, cur = keymgr_secret_current_gen(s);
	int rc;

	keymgr_secret_machine_id(s, ks->machine_id);
	ks->gen = cur;
	ks->ngen = cur;
	ks->keys = calloc(cur + 1, sizeof(*ks->keys));
	if (ks->keys == NULL)
		return -ENOMEM;
	for (g = 1; g <= cur; g++) {
		struct keymgr_subkeys *k = OPENSSL_secure_zalloc(sizeof(*k));

		if (k == NULL)
			return -ENOMEM;
		rc = keymgr_subkeys(s, g, k);
		if (rc == BEEMO_ENOKEY) {
			OPENSSL_secure_free(k);
			continue;
		}
		ks->keys[g] = k;
		if (rc != 0)
			return rc;
	}
	return keys_derive(ks, format);
}

int
keys_derive(struct store_keys *ks, unsigned format)
{
	const struct keymgr_subkeys *first, *cur;
	uint32_t g;

	if (format != STORE_FORMAT_V1 && format != STORE_FORMAT)
		return BEEMO_EVERSION;
	ks->format = format;
	if (ks->gen < 1 || ks->gen > ks->ngen)
		return BEEMO_ENOKEY;
	first = ks->keys[1];
	cur = ks->keys[ks->gen];
	if (first == NULL || cur == NULL)
		return BEEMO_ENOKEY;
	ks->chunk_mac = calloc(ks->ngen + 1, sizeof(*ks->chunk_mac));
	if (ks->chunk_mac == NULL)
		return -ENOMEM;
	for (g = 1; g <= ks->ngen; g++)
		if (ks->keys[g] != NULL &&
		    (ks->chunk_mac[g] = mac_template(ks->keys[g]->chunk)) ==
		    NULL)
			return -ENOMEM;
	ks->name_mac = mac_template(format == STORE_FORMAT_V1 ? first->meta :
	    first->name);
	if (ks->name_mac == NULL)
		return -ENOMEM;
	ks->stage_key = OPENSSL_secure_malloc(KEYMGR_SECRET_LEN);
	if (ks->stage_key == NULL ||
	    RAND_bytes(ks->stage_key, KEYMGR_SECRET_LEN) != 1)
		return -ENOMEM;
	chunker_gear(ks->gear, format == STORE_FORMAT_V1 ? cur->chunk :
	    cur->gear, format);
	return 0;
}

void
keys_fini(struct store_keys *ks)
{
	uint32_t g;

	for (g = 0; ks->keys != NULL && g <= ks->ngen; g++) {
		if (ks->keys[g] != NULL) {
			keymgr_subkeys_wipe(ks->keys[g]);
			OPENSSL_secure_free(ks->keys[g]);
		}
		if (ks->chunk_mac != NULL)
			EVP_MAC_CTX_free(ks->chunk_mac[g]);
	}
	free(ks->keys);
	free(ks->chunk_mac);
	EVP_MAC_CTX_free(ks->name_mac);
	if (ks->stage_key != NULL) {
		OPENSSL_cleanse(ks->stage_key, KEYMGR_SECRET_LEN);
		OPENSSL_secure_free(ks->stage_key);
	}
	OPENSSL_cleanse(ks->gear, sizeof(ks->gear));
	ks->keys = NULL;
	ks->chunk_mac = NULL;
	ks->name_mac = NULL;
	ks->stage_key = NULL;
}

const struct keymgr_subkeys *
keys_gen(const struct store_keys *ks, uint32_t gen)
{
	if (gen == 0 || gen > ks->ngen)
		return NULL;
	return ks->keys[gen];
}

int
seal_value(const struct store_keys *ks, const void *aad, size_t aadlen,
    const void *in, size_t len, uint8_t *out)
{
	const struct keymgr_subkeys *k = keys_gen(ks, ks->gen);

	bm_be32enc(out, ks->gen);
	if (RAND_bytes(out + 4, OBJ_NONCE_LEN) != 1)
		return -EIO;
	return bm_gcm(1, k->meta, out + 4, aad, aadlen, NULL, 0, in, len,
	    out + 4 + OBJ_NONCE_LEN);
}

int
open_value(const struct store_keys *ks, const void *aad, size_t aadlen,
    const void *in, size_t len, uint8_t *out)
{
	const uint8_t *p = in;
	const struct keymgr_subkeys *k;
	size_t ctlen;

	if (len < SEAL_OVERHEAD)
		return -EBADMSG;
	if ((k = keys_gen(ks, bm_be32dec(p))) == NULL)
		return BEEMO_ENOKEY;
	ctlen = len - SEAL_OVERHEAD;
	return bm_gcm(0, k->meta, p + 4, aad, aadlen, NULL, 0,
	    p + 4 + OBJ_NONCE_LEN, ctlen, out);
}

static int
mac(EVP_MAC_CTX *tmpl, const void *p1, size_t l1, const void *p2, size_t l2,
    uint8_t out[32])
{
	EVP_MAC_CTX *ctx = EVP_MAC_CTX_dup(tmpl);
	size_t outl;
	int rc = -ENOMEM;

	if (ctx == NULL)
		return rc;
	if (EVP_MAC_update(ctx, p1, l1) && (l2 == 0 ||
	    EVP_MAC_update(ctx, p2, l2)) && EVP_MAC_final(ctx, out, &outl, 32))
		rc = 0;
	EVP_MAC_CTX_free(ctx);
	return rc;
}

void
name_hash(const struct store_keys *ks, const char *name,
    uint8_t out[NAMEHASH_LEN])
{
	static const char label_v1[] = "beemo/v1/name";
	static const char label[] = "beemo/v2/name";
	uint8_t full[32];
	int rc = ks->format == STORE_FORMAT_V1 ?
	    mac(ks->name_mac, label_v1, sizeof(label_v1), name, strlen(name),
	    full) : mac(ks->name_mac, label, sizeof(label), name, strlen(name),
	    full);

	if (rc != 0)
		memset(full, 0, sizeof(full)); /* only on ENOMEM */
	memcpy(out, full, NAMEHASH_LEN);
}

int
chunk_id(const struct store_keys *ks, uint32_t gen, const void *data,
    size_t len, uint8_t id[OBJ_ID_LEN])
{
	if (gen == 0 || gen > ks->ngen || ks->chunk_mac[gen] == NULL)
		return BEEMO_ENOKEY;
	return mac(ks->chunk_mac[gen], data, len, NULL, 0, id);
}
