/*
 * store_chunker.c -- content-defined chunking (FastCDC-style).
 *
 * A gear hash h = (h << 1) + G[byte] rolls over the data; its top bits
 * depend on the last 64 bytes only.  A chunk ends where those bits are
 * all zero.  Normalized chunking (FastCDC, Xia et al. 2016): between
 * CDC_MIN and the 1 MiB average a stricter mask (22 bits) is used, after
 * it a looser one (18 bits), which tightens the size distribution around
 * the average; CDC_MAX forces a cut.  Hashing starts at CDC_MIN, so cut
 * points depend only on the chunk's own bytes: an insertion shifts at
 * most the chunks around it.
 *
 * The table G is keyed: G[i] = first 8 bytes of HMAC-SHA256(gear key,
 * "beemo/v2/gear" NUL i), so chunk boundaries (visible as object sizes in
 * packs) do not fingerprint known files.  The gear key is used for
 * nothing else.  Stores of format 1 keep G[i] = HMAC-SHA256(chunk-id
 * key, "beemo/v1/gear" NUL i): the chunk id of a planted 15-byte file
 * holding that input is G[i] (store_crypto.c).  G changes with the key
 * generation; dedup across a rotation is lost by design.
 */
#include <openssl/hmac.h>
#include <string.h>

#include "store_codec.h"

#define MASK_S (((1ULL << (CDC_AVG_BITS + 2)) - 1) << (64 - CDC_AVG_BITS - 2))
#define MASK_L (((1ULL << (CDC_AVG_BITS - 2)) - 1) << (64 - CDC_AVG_BITS + 2))
#define CDC_AVG (1U << CDC_AVG_BITS)

void
chunker_gear(uint64_t gear[256], const uint8_t key[KEYMGR_SECRET_LEN],
    unsigned format)
{
	static const char label[] = "beemo/v2/gear";
	uint8_t msg[sizeof(label) + 1], md[32];
	unsigned int i, mdlen;

	/* The labels of both formats have the same length. */
	memcpy(msg, format == STORE_FORMAT_V1 ? "beemo/v1/gear" : label,
	    sizeof(label));
	for (i = 0; i < 256; i++) {
		msg[sizeof(label)] = (uint8_t)i;
		HMAC(EVP_sha256(), key, KEYMGR_SECRET_LEN, msg, sizeof(msg), md,
		    &mdlen);
		memcpy(&gear[i], md, 8);
	}
	OPENSSL_cleanse(md, sizeof(md));
}

/*
 * The scan is written two bytes a step: h after two bytes is
 * (h << 2) + ((G[a] << 1) + G[b]), whose second term does not depend on
 * h, so the dependency chain is half as long; the hash after the first
 * byte is computed beside it to test that position too.  The cut points
 * are exactly those of the byte-wise definition.
 */
static inline size_t
scan_range(const uint64_t *gear, uint64_t *hp, const uint8_t *buf, size_t i,
    size_t end, uint64_t mask)
{
	uint64_t h = *hp;

	for (; i + 1 < end; i += 2) {
		uint64_t h1 = (h << 1) + gear[buf[i]];

		h = (h << 2) + ((gear[buf[i]] << 1) + gear[buf[i + 1]]);
		if (__builtin_expect((h1 & mask) == 0, 0)) {
			*hp = h1;
			return i + 1;
		}
		if (__builtin_expect((h & mask) == 0, 0)) {
			*hp = h;
			return i + 2;
		}
	}
	if (i < end) {
		h = (h << 1) + gear[buf[i]];
		i++;
		if ((h & mask) == 0) {
			*hp = h;
			return i;
		}
	}
	*hp = h;
	return 0;
}

size_t
chunker_scan(const uint64_t *gear, struct chunker *c, const uint8_t *buf,
    size_t len)
{
	size_t i = c->pos, end = len < CDC_MAX ? len : CDC_MAX, cut;
	size_t normal = end < CDC_AVG ? end : CDC_AVG;
	uint64_t h = c->h;

	if (i < CDC_MIN)
		i = CDC_MIN;
	if (i < normal && (cut = scan_range(gear, &h, buf, i, normal,
	    MASK_S)) != 0)
		goto found;
	if (i < normal)
		i = normal;
	if (i < end && (cut = scan_range(gear, &h, buf, i, end, MASK_L)) != 0)
		goto found;
	if (end == CDC_MAX) {
		c->pos = 0;
		c->h = 0;
		return CDC_MAX;
	}
	c->pos = end > i ? end : i;
	c->h = h;
	return 0;
found:
	c->pos = 0;
	c->h = 0;
	return cut;
}
