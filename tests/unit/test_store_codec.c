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
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bm_log.h"
#include "check.h"
#include "store_codec.h"
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

static struct keymgr_subkeys test_keys;
static uint8_t test_machine[KEYMGR_ID_LEN];

/* Keys of one generation with fixed subkeys, as keys_init() would make
 * them from a SECRET. */
static struct store_keys *
test_codec_new(const uint8_t machine[KEYMGR_ID_LEN])
{
	struct store_keys *ks = calloc(1, sizeof(*ks));

	REQUIRE(ks != NULL);
	memcpy(ks->machine_id, machine, KEYMGR_ID_LEN);
	ks->ngen = ks->gen = 1;
	ks->keys = calloc(2, sizeof(*ks->keys));
	REQUIRE(ks->keys != NULL);
	ks->keys[1] = &test_keys;
	return ks;
}

static void
test_codec_free(struct store_keys *ks)
{
	free(ks->keys);
	free(ks);
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
	chunker_gear(gear, key, STORE_FORMAT_V1);
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
	chunker_gear(gear, key, STORE_FORMAT_V1);
	CHECK(gear[0] != kat_gear0);
	OPENSSL_cleanse(gear, sizeof(gear));
	free(cuts);
	free(buf);
}

/* ---- object header --------------------------------------------------- */

/* A checkpoint part's id: LSN, first LSN, the last-part flag, zeros;
 * anything else is refused; a log object's place is its LSN. */
static void
test_ckpt_id(void)
{
	static const uint8_t want[OBJ_ID_LEN] = {0, 0, 0, 0, 0, 0, 0x01, 0x02,
	    0, 0, 0, 0, 0, 0, 0x01, 0x00, 0x01};
	struct obj_hdr h, d;
	struct log_place lp;
	uint8_t raw[OBJ_HDR_LEN];

	memset(&h, 0, sizeof(h));
	h.type = OBJ_CKPT;
	h.gen = 1;
	h.stored_len = h.plain_len = 100;
	ckpt_id_encode(h.id, 0x102, 0x100, 1);
	CHECK(memcmp(h.id, want, OBJ_ID_LEN) == 0);
	obj_hdr_encode(raw, &h);
	CHECK(raw[4] == 3);
	CHECK_OK(obj_hdr_decode(&d, raw));
	obj_log_place(&d, &lp);
	CHECK(lp.ckpt && lp.last && lp.lsn == 0x102 && lp.first == 0x100);
	ckpt_id_encode(h.id, 0x100, 0x100, 0);
	obj_hdr_encode(raw, &h);
	CHECK_OK(obj_hdr_decode(&d, raw));
	obj_log_place(&d, &lp);
	CHECK(lp.ckpt && !lp.last && lp.lsn == 0x100 && lp.first == 0x100);
	/* First above the part's own number, unknown flags, a byte set
	 * in the zeros. */
	ckpt_id_encode(h.id, 0x100, 0x101, 0);
	obj_hdr_encode(raw, &h);
	CHECK_RC(obj_hdr_decode(&d, raw), BEEMO_EFORMAT);
	ckpt_id_encode(h.id, 0x100, 0x100, 0);
	h.id[16] = 0x02;
	obj_hdr_encode(raw, &h);
	CHECK_RC(obj_hdr_decode(&d, raw), BEEMO_EFORMAT);
	ckpt_id_encode(h.id, 0x100, 0x100, 1);
	h.id[31] = 1;
	obj_hdr_encode(raw, &h);
	CHECK_RC(obj_hdr_decode(&d, raw), BEEMO_EFORMAT);
	/* A log object: its LSN, first the same, no checkpoint. */
	memset(h.id, 0, OBJ_ID_LEN);
	h.type = OBJ_LOG;
	h.id[7] = 9;
	obj_hdr_encode(raw, &h);
	CHECK_OK(obj_hdr_decode(&d, raw));
	obj_log_place(&d, &lp);
	CHECK(!lp.ckpt && !lp.last && lp.lsn == 9 && lp.first == 9);
}

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
	bad[4] = 4;
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
build(struct store_keys *oc, uint32_t seed, size_t len, int level,
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
test_objects(struct store_keys *oc)
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

/* Walk pack 0 at @path of the test machine. */
static int
walk(const char *path, struct walk_seen *w, uint64_t *valid)
{
	return pack_walk(test_machine, path, 0, walk_fn, w, valid);
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
test_pack_walk(struct store_keys *oc)
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
	pack_hdr_encode(pack, test_machine);
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
	CHECK_OK(walk(path, &w, &valid));
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
			CHECK_RC(walk(path, &w, &valid),
			    into[k] == 0 ? 0 : -EIO);
			CHECK(w.n == i && valid == ends[i]);
		}
		write_file(path, pack, ends[i + 1] - 1);
		memset(&w, 0, sizeof(w));
		CHECK_RC(walk(path, &w, &valid), -EIO);
		CHECK(w.n == i && valid == ends[i]);
	}

	/* A short or foreign pack header. */
	write_file(path, pack, 0);
	CHECK_RC(walk(path, &w, &valid), BEEMO_EFORMAT);
	CHECK(valid == 0);
	write_file(path, pack, PACK_HDR_LEN - 1);
	CHECK_RC(walk(path, &w, &valid), BEEMO_EFORMAT);
	pack[9] = 2;
	write_file(path, pack, len);
	CHECK_RC(walk(path, &w, &valid), BEEMO_EVERSION);
	pack[9] = 1;
	pack[12] = 1;
	write_file(path, pack, len);
	CHECK_RC(walk(path, &w, &valid), BEEMO_EFORMAT);
	pack[12] = 0;
	pack[20] ^= 1;
	write_file(path, pack, len);
	CHECK_RC(walk(path, &w, &valid), BEEMO_EFOREIGN);
	pack[20] ^= 1;

	/* A malformed object header in the middle. */
	pack[ends[2]] = 'X';
	write_file(path, pack, len);
	memset(&w, 0, sizeof(w));
	CHECK_RC(walk(path, &w, &valid), BEEMO_EFORMAT);
	CHECK(w.n == 2 && valid == ends[2]);

	unlink(path);
	rmdir(tmp);
	free(pack);
}

/* ---- index records -------------------------------------------------- */

/* Every proper prefix of an encoded record must be refused. */
#define CHECK_PREFIXES(dec, buf, len)                                      \
	do {                                                               \
		size_t pl_;                                                \
		for (pl_ = 0; pl_ < (len); pl_++) {                        \
			int prc_ = dec((buf), pl_);                        \
			CHECK(prc_ == BEEMO_EFORMAT ||                     \
			    prc_ == BEEMO_EVERSION);                       \
		}                                                          \
	} while (0)

static struct inode dec_inode;

static int
inode_dec(const uint8_t *p, size_t len)
{
	int rc = inode_decode(&dec_inode, 42, p, len);

	inode_free(&dec_inode);
	return rc;
}

static void
test_inode(void)
{
	struct xattr xa[2] = {{"user.a", (uint8_t *)"one", 3},
	    {"user.empty", (uint8_t *)"", 0}};
	struct inode in, out;
	uint8_t *v;
	size_t len;

	memset(&in, 0, sizeof(in));
	in.ino = 42;
	in.flags = INODE_F_UNSCANNED;
	in.mode = S_IFLNK | 0777;
	in.uid = 1000;
	in.gid = 100;
	in.nlink = 3;
	in.rdev = 0x0801;
	in.size = 1ULL << 40;
	in.data = 1ULL << 20;
	in.atime = (struct timespec){-5, 999999999};
	in.mtime = (struct timespec){1700000000, 1};
	in.ctime = (struct timespec){1700000001, 0};
	in.parent = 1;
	in.content_seq = 77;
	in.name = "link";
	in.target = "../target";
	in.xattrs = xa;
	in.nxattrs = 2;
	REQUIRE_OK(inode_encode(&in, &v, &len));
	CHECK(v[0] == 2); /* version */
	CHECK_OK(inode_decode(&out, 42, v, len));
	CHECK(out.ino == 42 && out.flags == in.flags && out.mode == in.mode &&
	    out.uid == 1000 && out.gid == 100 && out.nlink == 3 &&
	    out.rdev == in.rdev && out.size == in.size &&
	    out.data == in.data &&
	    out.atime.tv_sec == -5 && out.atime.tv_nsec == 999999999 &&
	    out.mtime.tv_sec == 1700000000 && out.mtime.tv_nsec == 1 &&
	    out.ctime.tv_sec == 1700000001 && out.parent == 1 &&
	    out.content_seq == 77);
	CHECK(out.name && strcmp(out.name, "link") == 0);
	CHECK(out.target && strcmp(out.target, "../target") == 0);
	CHECK(out.nxattrs == 2 && strcmp(out.xattrs[0].name, "user.a") == 0 &&
	    out.xattrs[0].len == 3 &&
	    memcmp(out.xattrs[0].value, "one", 3) == 0 &&
	    strcmp(out.xattrs[1].name, "user.empty") == 0 &&
	    out.xattrs[1].len == 0);
	inode_free(&out);
	inode_free(NULL);

	/* Truncated anywhere, one byte too many, hostile fields. */
	CHECK_PREFIXES(inode_dec, v, len);
	{
		uint8_t *big = malloc(len + 1);

		REQUIRE(big != NULL);
		memcpy(big, v, len);
		big[len] = 0;
		CHECK_RC(inode_dec(big, len + 1), BEEMO_EFORMAT);
		free(big);
	}
	/* Version 1: no data field; all of the file is data. */
	v[0] = 1;
	CHECK_OK(inode_decode(&out, 42, v, len - 8));
	CHECK(out.size == in.size && out.data == in.size);
	inode_free(&out);
	CHECK_RC(inode_dec(v, len), BEEMO_EFORMAT);
	v[0] = 3;
	CHECK_RC(inode_dec(v, len), BEEMO_EVERSION);
	v[0] = 2;
	v[1 + 1 + 16 + 8 + 8 + 8] = 0x7f; /* atime nanoseconds >= 1e9 */
	CHECK_RC(inode_dec(v, len), BEEMO_EFORMAT);
	free(v);

	/* A name with a NUL, a huge xattr length. */
	in.target = NULL;
	in.nxattrs = 1;
	in.name = "x";
	REQUIRE_OK(inode_encode(&in, &v, &len));
	CHECK_OK(inode_dec(v, len));
	{
		/* The name's 2-byte length follows the fixed fields. */
		size_t name_at = 1 + 1 + 4 * 4 + 8 + 8 + 3 * 12 + 8 + 8;

		CHECK(v[name_at + 1] == 1 && v[name_at + 2] == 'x');
		v[name_at + 2] = '\0';
		CHECK_RC(inode_dec(v, len), BEEMO_EFORMAT);
		v[name_at + 2] = 'x';
		/* target flag 0, xattr count 1, name len 6, "user.a",
		 * then the value length, the value (3) and the data (8) */
		v[len - 8 - 3 - 4] = 0x7f;
		CHECK_RC(inode_dec(v, len), BEEMO_EFORMAT);
	}
	free(v);
}

static struct dirent_rec dec_dirent;

static int
dirent_dec(const uint8_t *p, size_t len)
{
	return dirent_decode(&dec_dirent, p, len);
}

static void
test_dirent(void)
{
	uint8_t v[DIRENT_MAX_LEN];
	char name[STORE_NAME_MAX + 1];
	size_t len;

	len = dirent_encode(v, 1234567890123ULL, DT_REG, "file.txt");
	CHECK(len == 12 + 8);
	CHECK_OK(dirent_decode(&dec_dirent, v, len));
	CHECK(dec_dirent.ino == 1234567890123ULL &&
	    dec_dirent.type == DT_REG &&
	    strcmp(dec_dirent.name, "file.txt") == 0);
	memset(name, 'n', STORE_NAME_MAX);
	name[STORE_NAME_MAX] = '\0';
	len = dirent_encode(v, 5, DT_DIR, name);
	CHECK(len == DIRENT_MAX_LEN);
	CHECK_OK(dirent_decode(&dec_dirent, v, len));
	CHECK(strcmp(dec_dirent.name, name) == 0);

	len = dirent_encode(v, 5, DT_DIR, "a/b");
	CHECK_RC(dirent_decode(&dec_dirent, v, len), BEEMO_EFORMAT);
	len = dirent_encode(v, 5, DT_DIR, "ab");
	v[13] = '\0';
	CHECK_RC(dirent_decode(&dec_dirent, v, len), BEEMO_EFORMAT);
	len = dirent_encode(v, 5, DT_DIR, "");
	CHECK_RC(dirent_decode(&dec_dirent, v, len), BEEMO_EFORMAT);
	len = dirent_encode(v, 5, DT_DIR, "ab");
	v[0] = 9;
	CHECK_RC(dirent_decode(&dec_dirent, v, len), BEEMO_EVERSION);
	v[0] = 1;
	CHECK_PREFIXES(dirent_dec, v, len);
	v[10] = 0x01; /* a name length of 258 */
	CHECK_RC(dirent_decode(&dec_dirent, v, len), BEEMO_EFORMAT);
}

static int
content_dec(const uint8_t *p, size_t len)
{
	struct content *c = NULL;
	int rc = content_decode(p, len, &c);

	content_unref(c);
	return rc;
}

static void
test_content(void)
{
	struct content *c = content_new(3, 4), *d = NULL;
	uint8_t *v;
	size_t len;
	uint32_t i;

	REQUIRE(c != NULL);
	for (i = 0; i < 3; i++) {
		fill(c->c[i].id, OBJ_ID_LEN, 60 + i);
		c->c[i].len = (i + 1) * 1000;
	}
	/* A hole of a terabyte between the second and third chunks. */
	c->c[3] = c->c[2];
	memset(&c->c[2], 0, sizeof(c->c[2]));
	c->c[2].hole = 1;
	c->c[2].len = 1ULL << 40;
	content_finish(c);
	CHECK(c->size == 6000 + (1ULL << 40) && c->off[1] == 1000 &&
	    c->off[3] == 3000 + (1ULL << 40));
	REQUIRE_OK(content_encode(c, &v, &len));
	/* Version 2: a type byte per entry; a hole is 8 bytes of length. */
	CHECK(len == 1 + 4 + 4 + 8 + 3 * (1 + OBJ_ID_LEN + 4) + 1 + 8);
	CHECK(v[0] == 2 && v[17 + 2 * 37] == 1 && v[17] == 0);
	CHECK_OK(content_decode(v, len, &d));
	REQUIRE(d != NULL);
	CHECK(d->refs == 1 && d->gen == 3 && d->n == 4 &&
	    d->size == c->size);
	for (i = 0; i < 4; i++)
		CHECK(memcmp(d->c[i].id, c->c[i].id, OBJ_ID_LEN) == 0 &&
		    d->c[i].len == c->c[i].len &&
		    d->c[i].hole == c->c[i].hole && d->off[i] == c->off[i]);
	/* SEEK_DATA and SEEK_HOLE. */
	CHECK(content_seek(d, 0, 1) == 0 && content_seek(d, 0, 0) == 3000);
	CHECK(content_seek(d, 2999, 0) == 3000);
	CHECK(content_seek(d, 3000, 1) == (int64_t)(3000 + (1ULL << 40)));
	CHECK(content_seek(d, 5000, 0) == 5000);
	CHECK(content_seek(d, d->size - 1, 0) == (int64_t)d->size);
	CHECK(content_seek(d, d->size, 1) == -ENXIO);
	CHECK(content_seek(NULL, 0, 0) == -ENXIO);
	content_ref(d);
	content_unref(d);
	content_unref(d);
	content_unref(NULL);

	CHECK_PREFIXES(content_dec, v, len);
	v[0] = 3;
	CHECK_RC(content_dec(v, len), BEEMO_EVERSION);
	v[0] = 2;
	v[8] = 5; /* five entries announced, four present */
	CHECK_RC(content_dec(v, len), BEEMO_EFORMAT);
	v[8] = 4;
	v[16] ^= 1; /* a size that is not the entries' sum */
	CHECK_RC(content_dec(v, len), BEEMO_EFORMAT);
	v[16] ^= 1;
	v[17 + 2 * 37] = 7; /* an unknown entry type */
	CHECK_RC(content_dec(v, len), BEEMO_EFORMAT);
	v[17 + 2 * 37] = 1;
	v[17 + 2 * 37 + 1] = 0x10; /* a hole over STORE_FILE_MAX */
	CHECK_RC(content_dec(v, len), BEEMO_EFORMAT);
	v[17 + 2 * 37 + 1] = 0;
	memset(v + len - 4, 0, 4); /* an empty chunk */
	CHECK_RC(content_dec(v, len), BEEMO_EFORMAT);
	v[len - 4] = 0x01;         /* one over OBJ_MAX_PLAIN */
	v[len - 1] = 0x01;
	CHECK_RC(content_dec(v, len), BEEMO_EFORMAT);
	free(v);

	/* Version 1, as written before holes: chunks only, no type byte;
	 * its size field is not checked (the chunks' sum is the size). */
	{
		uint8_t v1[1 + 4 + 4 + 8 + 2 * (OBJ_ID_LEN + 4)];

		memset(v1, 0, sizeof(v1));
		v1[0] = 1;
		v1[4] = 3;
		v1[8] = 2;
		fill(v1 + 17, OBJ_ID_LEN, 60);
		v1[17 + OBJ_ID_LEN + 2] = 0x03; /* 768 */
		fill(v1 + 17 + 36, OBJ_ID_LEN, 61);
		v1[17 + 36 + OBJ_ID_LEN + 3] = 0x10; /* 16 */
		CHECK_OK(content_decode(v1, sizeof(v1), &d));
		REQUIRE(d != NULL);
		CHECK(d->gen == 3 && d->n == 2 && d->size == 784 &&
		    !d->c[0].hole && !d->c[1].hole && d->c[1].len == 16 &&
		    memcmp(d->c[1].id, c->c[1].id, OBJ_ID_LEN) == 0);
		content_unref(d);
		CHECK_PREFIXES(content_dec, v1, sizeof(v1));
		v1[17 + 36 + OBJ_ID_LEN + 3] = 0; /* an empty chunk */
		CHECK_RC(content_dec(v1, sizeof(v1)), BEEMO_EFORMAT);
	}

	/* The empty content. */
	content_unref(c);
	REQUIRE((c = content_new(1, 0)) != NULL);
	content_finish(c);
	REQUIRE_OK(content_encode(c, &v, &len));
	CHECK_OK(content_decode(v, len, &d));
	CHECK(d != NULL && d->n == 0 && d->size == 0);
	CHECK(content_seek(d, 0, 0) == -ENXIO);
	content_unref(d);
	content_unref(c);
	free(v);
}

static void
test_locations(void)
{
	struct chunk_loc l = {0x0102030405060708ULL, 0x1112131415161718ULL,
	    0x21222324, 0x31323334, 0x41424344, OBJ_F_ZSTD}, m;
	struct pack_rec r = {PACK_CLOSED, 1ULL << 33, 12345}, q;
	uint8_t v[CHUNK_LOC_LEN], w[PACK_REC_LEN];

	chunk_loc_encode(v, &l);
	CHECK(v[0] == 1 && v[7] == 8 && v[8] == 0x11 && v[16] == 0x21 &&
	    v[20] == 0x31 && v[24] == 0x41 && v[28] == OBJ_F_ZSTD);
	CHECK_OK(chunk_loc_decode(&m, v, sizeof(v)));
	CHECK(memcmp(&l, &m, sizeof(l)) == 0 || (m.pack == l.pack &&
	    m.off == l.off && m.stored_len == l.stored_len &&
	    m.plain_len == l.plain_len && m.gen == l.gen &&
	    m.flags == l.flags));
	CHECK_RC(chunk_loc_decode(&m, v, sizeof(v) - 1), BEEMO_EFORMAT);
	CHECK_RC(chunk_loc_decode(&m, v, 0), BEEMO_EFORMAT);

	pack_rec_encode(w, &r);
	CHECK(w[0] == PACK_CLOSED && w[4] == 2 && w[16] == 0x39);
	CHECK_OK(pack_rec_decode(&q, w, sizeof(w)));
	CHECK(q.state == r.state && q.size == r.size &&
	    q.objects == r.objects);
	CHECK_RC(pack_rec_decode(&q, w, sizeof(w) - 1), BEEMO_EFORMAT);
	CHECK_RC(pack_rec_decode(&q, w, 30), BEEMO_EFORMAT);
}

/* ---- keys and sealed values ------------------------------------------ */

static void
test_values(struct store_keys *ks)
{
	static const char aad[] = "table 1 key 7";
	uint8_t in[100], sealed[100 + SEAL_OVERHEAD], out[100];
	uint8_t id[OBJ_ID_LEN];

	fill(in, sizeof(in), 70);
	CHECK_OK(seal_value(ks, aad, sizeof(aad), in, sizeof(in), sealed));
	CHECK(sealed[3] == 1); /* generation, big-endian */
	CHECK_OK(open_value(ks, aad, sizeof(aad), sealed, sizeof(sealed),
	    out));
	CHECK(memcmp(in, out, sizeof(in)) == 0);
	/* Moved elsewhere (another AAD), flipped, cut, unknown key. */
	CHECK_RC(open_value(ks, aad, sizeof(aad) - 1, sealed, sizeof(sealed),
	    out), -EBADMSG);
	sealed[30] ^= 1;
	CHECK_RC(open_value(ks, aad, sizeof(aad), sealed, sizeof(sealed),
	    out), -EBADMSG);
	sealed[30] ^= 1;
	CHECK_RC(open_value(ks, aad, sizeof(aad), sealed, SEAL_OVERHEAD - 1,
	    out), -EBADMSG);
	sealed[3] = 2;
	CHECK_RC(open_value(ks, aad, sizeof(aad), sealed, sizeof(sealed),
	    out), BEEMO_ENOKEY);
	CHECK(keys_gen(ks, 0) == NULL && keys_gen(ks, 2) == NULL &&
	    keys_gen(ks, 1) == &test_keys);
	CHECK_RC(chunk_id(ks, 2, in, sizeof(in), id), BEEMO_ENOKEY);
}

/* ---- pack file names ------------------------------------------------ */

static void
test_pack_names(void)
{
	uint64_t id;
	int open;

	CHECK_OK(pack_name_parse("00000000000001ab.pack", &id, &open));
	CHECK(id == 0x1ab && open == 0);
	CHECK_OK(pack_name_parse("ffffffffffffffff.pack.open", &id, &open));
	CHECK(id == UINT64_MAX && open == 1);
	CHECK_RC(pack_name_parse("00000000000001AB.pack", &id, &open),
	    BEEMO_EFORMAT);
	CHECK_RC(pack_name_parse("00000000000001a.pack", &id, &open),
	    BEEMO_EFORMAT);
	CHECK_RC(pack_name_parse("00000000000001ab.packx", &id, &open),
	    BEEMO_EFORMAT);
	CHECK_RC(pack_name_parse("+0000000000001ab.pack", &id, &open),
	    BEEMO_EFORMAT);
	CHECK_RC(pack_name_parse("", &id, &open), BEEMO_EFORMAT);

	CHECK_OK(pack_relpath_parse("packs/ab/00000000000001ab.pack", &id));
	CHECK(id == 0x1ab);
	CHECK_RC(pack_relpath_parse("packs/ac/00000000000001ab.pack", &id),
	    BEEMO_EFORMAT);
	CHECK_RC(pack_relpath_parse("packs/ab/00000000000001ab.pack.open",
	    &id), BEEMO_EFORMAT);
	CHECK_RC(pack_relpath_parse("packs/ab00000000000001ab.pack", &id),
	    BEEMO_EFORMAT);
	CHECK_RC(pack_relpath_parse("pack/ab/00000000000001ab.pack", &id),
	    BEEMO_EFORMAT);
	CHECK_RC(pack_relpath_parse("packs/", &id), BEEMO_EFORMAT);
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
	struct store_keys *oc;

	bm_log_open("test_store_codec", 0, -1);
	fixed_key(test_keys.data, 0x40);
	fixed_key(test_keys.chunk, 0x60);
	fixed_key(test_keys.meta, 0x80);
	fill(test_machine, sizeof(test_machine), 5);
	oc = test_codec_new(test_machine);
	test_chunker();
	test_obj_hdr();
	test_ckpt_id();
	test_objects(oc);
	test_pack_walk(oc);
	test_inode();
	test_dirent();
	test_content();
	test_locations();
	test_values(oc);
	test_pack_names();
	test_acl();
	test_codec_free(oc);
	return check_status();
}
