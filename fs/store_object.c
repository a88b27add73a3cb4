/*
 * store_object.c -- sealed objects and pack headers (beemo-store(5)).
 *
 * An object is a 64-byte header (store_codec.h), the AES-256-GCM
 * ciphertext of its plaintext, zstd-compressed when that pays, and the
 * tag.  Its associated data is its identity (machine, type, generation,
 * lengths, id), not its place, so a pack can be copied anywhere and
 * still authenticates.  Pure: no file, no lock.
 */
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "bm_gcm.h"
#include "bm_bytes.h"
#include "store_codec.h"

void
obj_hdr_encode(uint8_t out[OBJ_HDR_LEN], const struct obj_hdr *h)
{
	memcpy(out, OBJ_MAGIC, 4);
	out[4] = h->type;
	out[5] = h->flags;
	out[6] = out[7] = 0;
	bm_be32enc(out + 8, h->gen);
	bm_be32enc(out + 12, h->stored_len);
	bm_be32enc(out + 16, h->plain_len);
	memcpy(out + 20, h->nonce, OBJ_NONCE_LEN);
	memcpy(out + 32, h->id, OBJ_ID_LEN);
}

int
obj_hdr_decode(struct obj_hdr *h, const uint8_t in[OBJ_HDR_LEN])
{
	if (memcmp(in, OBJ_MAGIC, 4) != 0 || in[6] != 0 || in[7] != 0)
		return BEEMO_EFORMAT;
	h->type = in[4];
	h->flags = in[5];
	h->gen = bm_be32dec(in + 8);
	h->stored_len = bm_be32dec(in + 12);
	h->plain_len = bm_be32dec(in + 16);
	memcpy(h->nonce, in + 20, OBJ_NONCE_LEN);
	memcpy(h->id, in + 32, OBJ_ID_LEN);
	if ((h->type != OBJ_CHUNK && h->type != OBJ_LOG &&
	    h->type != OBJ_CKPT) ||
	    (h->flags & ~OBJ_F_ZSTD) != 0 || h->plain_len > OBJ_MAX_PLAIN ||
	    h->stored_len > ZSTD_compressBound(OBJ_MAX_PLAIN) ||
	    (!(h->flags & OBJ_F_ZSTD) && h->stored_len != h->plain_len))
		return BEEMO_EFORMAT;
	if (h->type == OBJ_CKPT) {
		static const uint8_t zero[OBJ_ID_LEN - 17];

		if (bm_be64dec(h->id + 8) > bm_be64dec(h->id) ||
		    (h->id[16] & ~CKPT_F_LAST) != 0 ||
		    memcmp(h->id + 17, zero, sizeof(zero)) != 0)
			return BEEMO_EFORMAT;
	}
	return 0;
}

void
ckpt_id_encode(uint8_t id[OBJ_ID_LEN], uint64_t lsn, uint64_t first,
    int last)
{
	memset(id, 0, OBJ_ID_LEN);
	bm_be64enc(id, lsn);
	bm_be64enc(id + 8, first);
	id[16] = last ? CKPT_F_LAST : 0;
}

void
obj_log_place(const struct obj_hdr *h, struct log_place *out)
{
	out->lsn = bm_be64dec(h->id);
	out->ckpt = h->type == OBJ_CKPT;
	out->first = out->ckpt ? bm_be64dec(h->id + 8) : out->lsn;
	out->last = out->ckpt && (h->id[16] & CKPT_F_LAST) != 0;
}

/* Associated data of an object: its identity, not its place. */
static size_t
obj_aad(const struct store_keys *ks, const uint8_t hdr[OBJ_HDR_LEN],
    uint8_t *aad)
{
	static const char label[12] = "beemo-obj-v1";

	memcpy(aad, label, sizeof(label));
	memcpy(aad + 12, ks->machine_id, KEYMGR_ID_LEN);
	memcpy(aad + 28, hdr, 20);
	memcpy(aad + 48, hdr + 32, OBJ_ID_LEN);
	return 80;
}

static const uint8_t *
obj_key(const struct store_keys *ks, uint8_t type, uint32_t gen)
{
	const struct keymgr_subkeys *k = keys_gen(ks, gen);

	if (k == NULL)
		return NULL;
	return type == OBJ_CHUNK ? k->data : k->meta;
}

static pthread_key_t cctx_key;
static pthread_once_t cctx_once = PTHREAD_ONCE_INIT;

static void
cctx_free(void *p)
{
	ZSTD_freeCCtx(p);
}

static void
cctx_init(void)
{
	pthread_key_create(&cctx_key, cctx_free);
}

/* One compression context per thread, freed when the thread exits. */
static ZSTD_CCtx *
thread_cctx(void)
{
	ZSTD_CCtx *c;

	pthread_once(&cctx_once, cctx_init);
	if ((c = pthread_getspecific(cctx_key)) == NULL) {
		c = ZSTD_createCCtx();
		pthread_setspecific(cctx_key, c);
	}
	return c;
}

int
obj_build(const struct store_keys *ks, enum obj_type type,
    const uint8_t id[OBJ_ID_LEN], uint32_t gen, const uint8_t *key,
    const void *plain, size_t len, int level, uint8_t **out, size_t *outlen)
{
	struct obj_hdr h;
	uint8_t aad[80], *buf, *z = NULL;
	const void *src = plain;
	size_t zlen, stored = len, aadlen;
	int rc;

	if (len > OBJ_MAX_PLAIN)
		return -EFBIG;
	memset(&h, 0, sizeof(h));
	h.type = (uint8_t)type;
	h.gen = gen;
	h.plain_len = (uint32_t)len;
	memcpy(h.id, id, OBJ_ID_LEN);
	/* Compress when it saves at least 1/32: incompressible data (the
	 * zstd fast path detects it cheaply) is stored as is. */
	if (level != INT32_MIN && len >= 64) {
		ZSTD_CCtx *c = thread_cctx();

		zlen = ZSTD_compressBound(len);
		/* Big chunks are sampled first: 64 KiB at the fastest level
		 * tells incompressible data (media, archives, encrypted
		 * files) for a fraction of a full attempt. */
		if (c != NULL && len > (256U << 10) &&
		    (z = malloc(ZSTD_compressBound(64U << 10))) != NULL) {
			size_t s = ZSTD_compressCCtx(c, z,
			    ZSTD_compressBound(64U << 10), plain, 64U << 10, 1);

			OPENSSL_cleanse(z, ZSTD_compressBound(64U << 10));
			free(z);
			z = NULL;
			if (ZSTD_isError(s) || s > (64U << 10) - (64U << 10) / 32)
				c = NULL;
		}
		if (c != NULL && (z = malloc(zlen)) != NULL) {
			zlen = ZSTD_compressCCtx(c, z, zlen, plain, len, level);
			if (!ZSTD_isError(zlen) && zlen < len - len / 32) {
				h.flags |= OBJ_F_ZSTD;
				src = z;
				stored = zlen;
			}
		}
	}
	h.stored_len = (uint32_t)stored;
	if (RAND_bytes(h.nonce, OBJ_NONCE_LEN) != 1) {
		rc = -EIO;
		goto done;
	}
	if ((buf = malloc(OBJ_HDR_LEN + stored + OBJ_TAG_LEN)) == NULL) {
		rc = -ENOMEM;
		goto done;
	}
	obj_hdr_encode(buf, &h);
	aadlen = obj_aad(ks, buf, aad);
	rc = bm_gcm(1, key, h.nonce, aad, aadlen, NULL, 0, src, stored,
	    buf + OBJ_HDR_LEN);
	if (rc != 0) {
		free(buf);
		goto done;
	}
	*out = buf;
	*outlen = OBJ_HDR_LEN + stored + OBJ_TAG_LEN;
done:
	if (z != NULL) {
		OPENSSL_cleanse(z, ZSTD_compressBound(len));
		free(z);
	}
	return rc;
}

int
obj_open(const struct store_keys *ks, const struct obj_hdr *h,
    const uint8_t *raw, uint8_t **plain)
{
	const uint8_t *key = obj_key(ks, h->type, h->gen);
	uint8_t aad[80], *ct = NULL, *pt;
	size_t aadlen;
	int rc;

	if (key == NULL)
		return BEEMO_ENOKEY;
	aadlen = obj_aad(ks, raw, aad);
	if ((ct = malloc(h->stored_len + 1)) == NULL)
		return -ENOMEM;
	rc = bm_gcm(0, key, h->nonce, aad, aadlen, NULL, 0, raw + OBJ_HDR_LEN,
	    h->stored_len, ct);
	if (rc != 0)
		goto fail;
	if (!(h->flags & OBJ_F_ZSTD)) {
		*plain = ct;
		return 0;
	}
	if ((pt = malloc(h->plain_len + 1)) == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	if (ZSTD_decompress(pt, h->plain_len, ct, h->stored_len) !=
	    h->plain_len) {
		/* Authenticated but undecodable: written by a broken
		 * writer; treat as damage. */
		free(pt);
		rc = -EBADMSG;
		goto fail;
	}
	OPENSSL_cleanse(ct, h->stored_len);
	free(ct);
	*plain = pt;
	return 0;
fail:
	free(ct);
	return rc;
}

static pthread_key_t dctx_key;
static pthread_once_t dctx_once = PTHREAD_ONCE_INIT;

static void
dctx_free(void *p)
{
	ZSTD_freeDCtx(p);
}

static void
dctx_init(void)
{
	pthread_key_create(&dctx_key, dctx_free);
}

/* One decompression context per thread: ZSTD_decompress() would make
 * and free one for every chunk read. */
static ZSTD_DCtx *
thread_dctx(void)
{
	ZSTD_DCtx *d;

	pthread_once(&dctx_once, dctx_init);
	if ((d = pthread_getspecific(dctx_key)) == NULL) {
		d = ZSTD_createDCtx();
		pthread_setspecific(dctx_key, d);
	}
	return d;
}

int
obj_open_into(const struct store_keys *ks, const struct obj_hdr *h,
    uint8_t *raw, uint8_t *plain)
{
	const uint8_t *key = obj_key(ks, h->type, h->gen);
	uint8_t aad[80], *ct = raw + OBJ_HDR_LEN;
	size_t aadlen;
	ZSTD_DCtx *d;
	int rc;

	if (key == NULL)
		return BEEMO_ENOKEY;
	aadlen = obj_aad(ks, raw, aad);
	/* Stored as is: decrypted straight to its place. */
	if (!(h->flags & OBJ_F_ZSTD))
		return bm_gcm(0, key, h->nonce, aad, aadlen, NULL, 0, ct,
		    h->stored_len, plain);
	if ((d = thread_dctx()) == NULL)
		return -ENOMEM;
	/* bm_gcm() reads the tag before it rewrites @ct, and wipes its
	 * output when the tag does not match. */
	if ((rc = bm_gcm(0, key, h->nonce, aad, aadlen, NULL, 0, ct,
	    h->stored_len, ct)) != 0)
		return rc;
	if (ZSTD_decompressDCtx(d, plain, h->plain_len, ct, h->stored_len) !=
	    h->plain_len) {
		/* Authenticated but undecodable: written by a broken
		 * writer; treat as damage. */
		OPENSSL_cleanse(plain, h->plain_len);
		return -EBADMSG;
	}
	return 0;
}

void
pack_hdr_encode(uint8_t out[PACK_HDR_LEN],
    const uint8_t machine[KEYMGR_ID_LEN])
{
	memset(out, 0, PACK_HDR_LEN);
	memcpy(out, PACK_MAGIC, 8);
	bm_be16enc(out + 8, PACK_VERSION);
	memcpy(out + 16, machine, KEYMGR_ID_LEN);
}

int
pack_hdr_check(const uint8_t in[PACK_HDR_LEN],
    const uint8_t machine[KEYMGR_ID_LEN])
{
	static const uint8_t zero[6];

	if (memcmp(in, PACK_MAGIC, 8) != 0)
		return BEEMO_EFORMAT;
	if (bm_be16dec(in + 8) != PACK_VERSION)
		return BEEMO_EVERSION;
	/* Flags and padding: none defined, all must be zero. */
	if (memcmp(in + 10, zero, sizeof(zero)) != 0)
		return BEEMO_EFORMAT;
	if (memcmp(in + 16, machine, KEYMGR_ID_LEN) != 0)
		return BEEMO_EFOREIGN;
	return 0;
}
