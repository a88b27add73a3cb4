/*
 * test_store_codec.c -- unit tests of the store's pure codecs and of the
 * pack walk: chunker cut points against known-answer vectors, the object
 * header, sealed objects, the ACL xattr codec; each round-trips and
 * refuses truncated and hostile bytes.  A pack with a few objects is cut
 * at many offsets and walked: the walk stops at the last whole object
 * with the documented error.
 *
 * The known answers were recorded from the chunker as it stood when the
 * store was split into layers; they pin the chunk format (the gear table
 * and the cut points), which must never move: a moved cut point loses
 * dedup against every existing pack.
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "store_internal.h"

/* ---- fixtures -------------------------------------------------------- */

/* Deterministic pseudo-random bytes (xorshift32), the same on every
 * platform. */
static void
fill(uint8_t *buf, size_t len, uint32_t seed)
{
	uint32_t x = seed * 2654435761u + 1;
	size_t i;

	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = (uint8_t)(x >> 7);
	}
}

static void
fixed_key(uint8_t key[KEYMGR_SECRET_LEN], uint8_t base)
{
	size_t i;

	for (i = 0; i < KEYMGR_SECRET_LEN; i++)
		key[i] = (uint8_t)(base + i);
}

/* ---- the codecs' context ---------------------------------------------- */

#define obj_codec store

static struct keymgr_subkeys test_keys;

static struct store *
test_codec_new(const uint8_t machine[KEYMGR_ID_LEN])
{
	struct store *st = calloc(1, sizeof(*st));

	REQUIRE(st != NULL);
	st->gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	REQUIRE(st->gcm != NULL);
	memcpy(st->machine_id, machine, KEYMGR_ID_LEN);
	st->ngen = st->gen = 1;
	st->keys = calloc(2, sizeof(*st->keys));
	REQUIRE(st->keys != NULL);
	st->keys[1] = &test_keys;
	return st;
}

static void
test_codec_free(struct store *st)
{
	EVP_CIPHER_free((EVP_CIPHER *)st->gcm);
	free(st->keys);
	free(st);
}

static void
kat_gear(uint64_t gear[256], const uint8_t key[KEYMGR_SECRET_LEN])
{
	struct store *st = calloc(1, sizeof(*st));

	REQUIRE(st != NULL);
	chunker_gear(st, key);
	memcpy(gear, st->gear, sizeof(st->gear));
	free(st);
}

static void
pack_hdr(uint8_t *p, const uint8_t machine[KEYMGR_ID_LEN])
{
	memset(p, 0, PACK_HDR_LEN);
	memcpy(p, PACK_MAGIC, 8);
	p[9] = PACK_VERSION;
	memcpy(p + 16, machine, KEYMGR_ID_LEN);
}

/* ---- chunker known answers ------------------------------------------- */

#define KAT_LEN (24U << 20)

/* First word of the gear table for the key 00 01 .. 1f. */
static const uint64_t kat_gear0 = 0x88b46ff26f763385ULL;

/* Chunk lengths of KAT_LEN bytes of fill(seed 1), then a run of 9 MiB of
 * zeros (forced CDC_MAX cuts), key 00 01 .. 1f. */
static const size_t kat_cuts[] = {
	1151012, 1542436, 667137, 1262279, 1064324, 1526245, 1081438,
	1804397, 1153654, 1109157, 1053469, 1338338, 1249980, 1846101,
	554289, 1300304, 1066314, 1923251, 1165553, 1276606, 4194304,
	4194304, 1078116,
};

/* Cut @len bytes of @buf into chunks as the store does, the data
 * arriving @step bytes at a time; the end of the data ends the last
 * chunk.  Returns the number of chunks, lengths in @cuts. */
static size_t
cut_all(const uint64_t *gear, const uint8_t *buf, size_t len, size_t step,
    size_t *cuts, size_t maxcuts)
{
	struct chunker c = {0, 0};
	size_t start = 0, avail = 0, n = 0, cut;

	while (start < len && n < maxcuts) {
		avail = len - start - avail > step ? avail + step :
		    len - start;
		cut = chunker_scan(gear, &c, buf + start, avail);
		if (cut == 0 && start + avail < len)
			continue;
		if (cut == 0) {
			cut = avail;
			c = (struct chunker){0, 0};
		}
		cuts[n++] = cut;
		start += cut;
		avail -= cut;
	}
	return n;
}

static void
test_chunker(void)
{
	uint8_t key[KEYMGR_SECRET_LEN];
	uint64_t gear[256];
	size_t len = KAT_LEN + (9U << 20), want, n, i, step;
	static const size_t steps[] = {1U << 30, 4096, 65536 + 3, 1U << 20};
	size_t *cuts = calloc(256, sizeof(*cuts));
	uint8_t *buf = calloc(1, len);

	REQUIRE(cuts != NULL && buf != NULL);
	fill(buf, KAT_LEN, 1);
	fixed_key(key, 0);
	kat_gear(gear, key);
	CHECK(gear[0] == kat_gear0);
	want = sizeof(kat_cuts) / sizeof(kat_cuts[0]);
	/* Fed at once, in pages, in odd pieces, in MiBs: the same cuts. */
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		step = steps[i];
		n = cut_all(gear, buf, len, step, cuts, 256);
		CHECK(n == want);
		if (n == want)
			CHECK(memcmp(cuts, kat_cuts, n * sizeof(*cuts)) == 0);
	}
	/* Bounds hold for any data. */
	n = cut_all(gear, buf, len, 1U << 30, cuts, 256);
	for (i = 0; i + 1 < n; i++)
		CHECK(cuts[i] >= CDC_MIN && cuts[i] <= CDC_MAX);
	/* Another key moves the cut points. */
	fixed_key(key, 1);
	kat_gear(gear, key);
	CHECK(gear[0] != kat_gear0);
	OPENSSL_cleanse(gear, sizeof(gear));
	free(cuts);
	free(buf);
}

/* ---- object header --------------------------------------------------- */

static void
test_obj_hdr(void)
{
	struct obj_hdr h, d;
	uint8_t raw[OBJ_HDR_LEN], bad[OBJ_HDR_LEN];

	memset(&h, 0, sizeof(h));
	h.type = OBJ_CHUNK;
	h.flags = OBJ_F_ZSTD;
	h.gen = 7;
	h.stored_len = 1000;
	h.plain_len = 4096;
	fill(h.nonce, OBJ_NONCE_LEN, 2);
	fill(h.id, OBJ_ID_LEN, 3);
	obj_hdr_encode(raw, &h);
	CHECK(memcmp(raw, "BOB1", 4) == 0 && raw[4] == 1 && raw[5] == 1);
	CHECK(raw[8] == 0 && raw[11] == 7 && raw[14] == 0x03 &&
	    raw[15] == 0xe8);
	CHECK_OK(obj_hdr_decode(&d, raw));
	CHECK(d.type == h.type && d.flags == h.flags && d.gen == h.gen &&
	    d.stored_len == h.stored_len && d.plain_len == h.plain_len &&
	    memcmp(d.nonce, h.nonce, OBJ_NONCE_LEN) == 0 &&
	    memcmp(d.id, h.id, OBJ_ID_LEN) == 0);

	/* Hostile headers: magic, reserved bytes, type, flags, lengths. */
	memcpy(bad, raw, sizeof(bad));
	bad[0] = 'X';
	CHECK_RC(obj_hdr_decode(&d, bad), BEEMO_EFORMAT);
	memcpy(bad, raw, sizeof(bad));
	bad[7] = 1;
	CHECK_RC(obj_hdr_decode(&d, bad), BEEMO_EFORMAT);
	memcpy(bad, raw, sizeof(bad));
	bad[4] = 3;
	CHECK_RC(obj_hdr_decode(&d, bad), BEEMO_EFORMAT);
	memcpy(bad, raw, sizeof(bad));
	bad[5] = 0x02;
	CHECK_RC(obj_hdr_decode(&d, bad), BEEMO_EFORMAT);
	h.plain_len = OBJ_MAX_PLAIN + 1;
	obj_hdr_encode(bad, &h);
	CHECK_RC(obj_hdr_decode(&d, bad), BEEMO_EFORMAT);
	h.plain_len = 4096;
	h.stored_len = 0xffffffffU;
	obj_hdr_encode(bad, &h);
	CHECK_RC(obj_hdr_decode(&d, bad), BEEMO_EFORMAT);
	/* Uncompressed: stored and plain lengths must agree. */
	h.flags = 0;
	h.stored_len = 4095;
	obj_hdr_encode(bad, &h);
	CHECK_RC(obj_hdr_decode(&d, bad), BEEMO_EFORMAT);
}

/* ---- sealed objects -------------------------------------------------- */

/* Seal @len bytes of fill(@seed) as a chunk object of generation 1. */
static uint8_t *
build(struct obj_codec *oc, uint32_t seed, size_t len, int level,
    size_t *outlen)
{
	uint8_t *plain = malloc(len + 1), id[OBJ_ID_LEN], *out = NULL;

	REQUIRE(plain != NULL);
	fill(plain, len, seed);
	fill(id, sizeof(id), seed + 100);
	CHECK_OK(obj_build(oc, OBJ_CHUNK, id, 1, test_keys.data, plain, len,
	    level, &out, outlen));
	free(plain);
	return out;
}

static void
test_objects(struct obj_codec *oc)
{
	static const size_t sizes[] = {0, 1, 63, 64, 4096, 300000};
	uint8_t *obj, *plain, *want;
	struct obj_hdr h;
	size_t len, i, j;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (j = 0; j < 2; j++) {
			int level = j ? 3 : INT32_MIN;
			uint32_t seed = (uint32_t)(10 + i);

			obj = build(oc, seed, sizes[i], level, &len);
			REQUIRE(obj != NULL);
			CHECK_OK(obj_hdr_decode(&h, obj));
			CHECK(len == OBJ_HDR_LEN + h.stored_len + OBJ_TAG_LEN);
			CHECK(h.plain_len == sizes[i]);
			plain = NULL;
			CHECK_OK(obj_open(oc, &h, obj, &plain));
			want = malloc(sizes[i] + 1);
			REQUIRE(want != NULL);
			fill(want, sizes[i], seed);
			CHECK(plain != NULL &&
			    memcmp(plain, want, sizes[i]) == 0);
			free(plain);
			/* Any flipped byte fails: header (through the AAD),
			 * ciphertext or tag. */
			obj[10] ^= 1; /* key generation */
			CHECK_RC(obj_open(oc, &h, obj, &plain), -EBADMSG);
			obj[10] ^= 1;
			obj[len - 1] ^= 0x80;
			CHECK_RC(obj_open(oc, &h, obj, &plain), -EBADMSG);
			obj[len - 1] ^= 0x80;
			obj[35] ^= 4; /* id */
			CHECK_RC(obj_open(oc, &h, obj, &plain), -EBADMSG);
			free(want);
			free(obj);
		}
	}
	/* Zeros compress; the flag says so. */
	{
		uint8_t *z = calloc(1, 100000), id[OBJ_ID_LEN] = {1};

		REQUIRE(z != NULL);
		CHECK_OK(obj_build(oc, OBJ_CHUNK, id, 1, test_keys.data, z,
		    100000, 3, &obj, &len));
		CHECK_OK(obj_hdr_decode(&h, obj));
		CHECK((h.flags & OBJ_F_ZSTD) && h.stored_len < 1000);
		CHECK_OK(obj_open(oc, &h, obj, &plain));
		CHECK(memcmp(plain, z, 100000) == 0);
		free(plain);
		/* An unknown key generation. */
		h.gen = 9;
		CHECK_RC(obj_open(oc, &h, obj, &plain), BEEMO_ENOKEY);
		free(obj);
		CHECK_RC(obj_build(oc, OBJ_CHUNK, id, 1, test_keys.data, z,
		    OBJ_MAX_PLAIN + 1, 3, &obj, &len), -EFBIG);
		free(z);
	}
}

/* ---- pack walk ------------------------------------------------------- */

struct walk_seen {
	size_t n;
	uint64_t off[8];
};

static int
walk_fn(void *ctx, uint64_t pack, uint64_t off, const struct obj_hdr *h,
    const uint8_t *raw)
{
	struct walk_seen *w = ctx;

	(void)pack;
	(void)h;
	(void)raw;
	if (w->n < 8)
		w->off[w->n] = off;
	w->n++;
	return 0;
}

static void
write_file(const char *path, const uint8_t *p, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	REQUIRE(fd >= 0);
	REQUIRE(write(fd, p, len) == (ssize_t)len);
	close(fd);
}

static void
test_pack_walk(struct obj_codec *oc, const uint8_t machine[KEYMGR_ID_LEN])
{
	char tmp[] = "/tmp/beemo-test-codec.XXXXXX", path[300];
	uint8_t *pack, *obj;
	uint64_t ends[4], valid;
	size_t len, olen, i;
	struct walk_seen w;

	REQUIRE(mkdtemp(tmp) != NULL);
	snprintf(path, sizeof(path), "%s/0.pack", tmp);
	pack = calloc(1, 1U << 20);
	REQUIRE(pack != NULL);
	pack_hdr(pack, machine);
	len = PACK_HDR_LEN;
	ends[0] = len;
	for (i = 0; i < 3; i++) {
		obj = build(oc, (uint32_t)(40 + i), 1000 + 5000 * i,
		    i == 1 ? 3 : INT32_MIN, &olen);
		REQUIRE(obj != NULL);
		memcpy(pack + len, obj, olen);
		len += olen;
		ends[i + 1] = len;
		free(obj);
	}

	/* Whole: every object, rc 0. */
	write_file(path, pack, len);
	memset(&w, 0, sizeof(w));
	CHECK_OK(pack_walk(oc, path, 0, walk_fn, &w, &valid));
	CHECK(w.n == 3 && valid == len);
	CHECK(w.off[0] == ends[0] && w.off[1] == ends[1] &&
	    w.off[2] == ends[2]);

	/* Truncated anywhere: stop at the last whole object; a cut inside
	 * an object is -EIO, a cut on a boundary is a clean end. */
	for (i = 0; i < 3; i++) {
		static const uint64_t into[] = {0, 1, 20, OBJ_HDR_LEN - 1,
		    OBJ_HDR_LEN, OBJ_HDR_LEN + 1, 500};
		size_t k;

		for (k = 0; k < sizeof(into) / sizeof(into[0]); k++) {
			uint64_t cut = ends[i] + into[k];

			if (cut >= ends[i + 1])
				continue;
			write_file(path, pack, cut);
			memset(&w, 0, sizeof(w));
			CHECK_RC(pack_walk(oc, path, 0, walk_fn, &w, &valid),
			    into[k] == 0 ? 0 : -EIO);
			CHECK(w.n == i && valid == ends[i]);
		}
		write_file(path, pack, ends[i + 1] - 1);
		memset(&w, 0, sizeof(w));
		CHECK_RC(pack_walk(oc, path, 0, walk_fn, &w, &valid), -EIO);
		CHECK(w.n == i && valid == ends[i]);
	}

	/* A short or foreign pack header. */
	write_file(path, pack, 0);
	CHECK_RC(pack_walk(oc, path, 0, walk_fn, &w, &valid), BEEMO_EFORMAT);
	CHECK(valid == 0);
	write_file(path, pack, PACK_HDR_LEN - 1);
	CHECK_RC(pack_walk(oc, path, 0, walk_fn, &w, &valid), BEEMO_EFORMAT);
	pack[9] = 2;
	write_file(path, pack, len);
	CHECK_RC(pack_walk(oc, path, 0, walk_fn, &w, &valid), BEEMO_EVERSION);
	pack[9] = 1;
	pack[12] = 1;
	write_file(path, pack, len);
	CHECK_RC(pack_walk(oc, path, 0, walk_fn, &w, &valid), BEEMO_EFORMAT);
	pack[12] = 0;
	pack[20] ^= 1;
	write_file(path, pack, len);
	CHECK_RC(pack_walk(oc, path, 0, walk_fn, &w, &valid), BEEMO_EFOREIGN);
	pack[20] ^= 1;

	/* A malformed object header in the middle. */
	pack[ends[2]] = 'X';
	write_file(path, pack, len);
	memset(&w, 0, sizeof(w));
	CHECK_RC(pack_walk(oc, path, 0, walk_fn, &w, &valid), BEEMO_EFORMAT);
	CHECK(w.n == 2 && valid == ends[2]);

	unlink(path);
	rmdir(tmp);
	free(pack);
}

/* ---- ACL xattrs ------------------------------------------------------ */

/* An access ACL: version 2, then {tag, perm, id} little-endian. */
static size_t
acl_build(uint8_t *v, const uint16_t (*ent)[3], size_t n)
{
	size_t i;

	v[0] = 2;
	v[1] = v[2] = v[3] = 0;
	for (i = 0; i < n; i++) {
		uint8_t *e = v + 4 + 8 * i;

		e[0] = (uint8_t)ent[i][0];
		e[1] = (uint8_t)(ent[i][0] >> 8);
		e[2] = (uint8_t)ent[i][1];
		e[3] = (uint8_t)(ent[i][1] >> 8);
		e[4] = (uint8_t)ent[i][2];
		e[5] = e[6] = e[7] = 0;
	}
	return 4 + 8 * n;
}

static void
test_acl(void)
{
	static const uint16_t plain[][3] = {{0x01, 6, 0}, {0x04, 4, 0},
	    {0x20, 4, 0}};
	static const uint16_t ext[][3] = {{0x01, 7, 0}, {0x02, 6, 1000},
	    {0x04, 5, 0}, {0x10, 3, 0}, {0x20, 1, 0}};
	static const uint16_t noother[][3] = {{0x01, 7, 0}, {0x04, 5, 0}};
	static const uint16_t badtag[][3] = {{0x01, 7, 0}, {0x04, 5, 0},
	    {0x40, 1, 0}, {0x20, 1, 0}};
	uint8_t v[64], *out;
	size_t len, outlen;
	uint32_t perm, mode;
	int equiv;

	len = acl_build(v, plain, 3);
	CHECK_OK(acl_mode(v, len, &perm, &equiv));
	CHECK(perm == 0644 && equiv == 1);

	/* The mask, not the owning group, gives the group bits. */
	len = acl_build(v, ext, 5);
	CHECK_OK(acl_mode(v, len, &perm, &equiv));
	CHECK(perm == 0731 && equiv == 0);
	CHECK_OK(acl_chmod(v, len, 0640));
	CHECK_OK(acl_mode(v, len, &perm, &equiv));
	CHECK(perm == 0640);
	CHECK(v[4 + 8 + 2] == 6); /* the named user keeps its bits */
	CHECK(v[4 + 16 + 2] == 5); /* and the owning group too */

	/* Inheritance: entries ANDed with the requested mode. */
	len = acl_build(v, ext, 5);
	mode = S_IFREG | 0666;
	CHECK_OK(acl_inherit(v, len, &mode, &out, &outlen));
	CHECK(outlen == len && mode == (S_IFREG | 0620));
	CHECK_OK(acl_mode(out, outlen, &perm, &equiv));
	CHECK(perm == 0620);
	free(out);

	/* Hostile: short, ragged, wrong version, unknown tag, missing
	 * entry. */
	len = acl_build(v, plain, 3);
	CHECK_RC(acl_mode(v, 3, &perm, &equiv), -EINVAL);
	CHECK_RC(acl_mode(v, len - 1, &perm, &equiv), -EINVAL);
	v[0] = 1;
	CHECK_RC(acl_mode(v, len, &perm, &equiv), -EINVAL);
	CHECK_RC(acl_chmod(v, len, 0600), -EINVAL);
	len = acl_build(v, badtag, 4);
	CHECK_RC(acl_mode(v, len, &perm, &equiv), -EINVAL);
	len = acl_build(v, noother, 2);
	CHECK_RC(acl_mode(v, len, &perm, &equiv), -EINVAL);
	mode = 0666;
	CHECK_RC(acl_inherit(v, len, &mode, &out, &outlen), -EINVAL);
}

int
main(void)
{
	uint8_t machine[KEYMGR_ID_LEN];
	struct obj_codec *oc;

	bm_log_open("test_store_codec", 0, -1);
	fixed_key(test_keys.data, 0x40);
	fixed_key(test_keys.chunk, 0x60);
	fixed_key(test_keys.meta, 0x80);
	fill(machine, sizeof(machine), 5);
	oc = test_codec_new(machine);
	test_chunker();
	test_obj_hdr();
	test_objects(oc);
	test_pack_walk(oc, machine);
	test_acl();
	test_codec_free(oc);
	return check_status();
}
