/*
 * store_codec.h -- the store's pure codecs: the bottom layer.
 *
 * Everything here turns values into bytes and back, with no file, no
 * index and no lock: the keys of a store and what they seal (index
 * values, objects), the object and pack headers, the keyed chunker, the
 * index records (inode, directory entry, content, chunk location, pack
 * state) and the POSIX ACL xattrs.  The formats are those of
 * beemo-store(5); tests/unit/test_store_codec.c pins them with known
 * answers and round trips.  Every decoder checks every length against
 * its buffer and refuses what it does not know (BEEMO_EFORMAT,
 * BEEMO_EVERSION): a value that authenticates was written by us, but a
 * bug or a newer version must never make us read past it.
 *
 * Layer rule: this file includes nothing of the store above it.  The
 * pack layer (store_pack.h) and the index (store_index.h) are built on
 * it.  Every function is thread-safe for distinct outputs; a
 * struct store_keys is read-only once keys_init() returned, so any
 * number of threads may seal and open with it at once.
 */
#ifndef BEEMO_STORE_CODEC_H
#define BEEMO_STORE_CODEC_H

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "bm_err.h"
#include "keymgr.h"
#include "store.h"

/* ---- constants of the formats (beemo-store(5)) ----------------------- */

/* The store's format is the version of its store.id, and the "format"
 * counter of its index must agree (beemo-store(5)).  Format 2: each key
 * of struct keymgr_subkeys has one use; format 1 (still read and
 * written): names hashed with the meta key, the chunker keyed with the
 * chunk-id key. */
#define STORE_ID_MAGIC "BEEMOSID"
#define STORE_FORMAT_V1 1
#define STORE_FORMAT 2 /* of new stores */
#define STORE_ID_LEN 48 /* magic 8, version 2, pad 6, appl 16, mach 16 */

#define PACK_MAGIC "BEEMOPAK"
#define PACK_VERSION 1
#define PACK_HDR_LEN 32 /* magic 8, version 2, flags 2, pad 4, machine 16 */

#define OBJ_MAGIC "BOB1"
#define OBJ_HDR_LEN 64
#define OBJ_TAG_LEN 16
#define OBJ_NONCE_LEN 12
#define OBJ_ID_LEN 32
#define OBJ_MAX_PLAIN (16U << 20) /* chunks <= 4 MiB, log objects <= 16 */

enum obj_type {
	OBJ_CHUNK = 1, /* a chunk of file content, data key */
	OBJ_LOG = 2,   /* a batch of index changes, meta key */
	OBJ_CKPT = 3,  /* a part of a checkpoint of the index, meta key */
};
#define OBJ_F_ZSTD 0x01
/* A checkpoint part's id (store_ckpt.h): its LSN (8), the first LSN of
 * its checkpoint (8), flags (1: CKPT_F_LAST for the last part), zeros. */
#define CKPT_F_LAST 0x01

/*
 * Object header, 64 bytes, big-endian:
 *   0  magic "BOB1"           4
 *   4  type                   1
 *   5  flags                  1   (OBJ_F_ZSTD)
 *   6  reserved (0)           2
 *   8  key generation         4
 *   12 stored length          4   ciphertext bytes (tag not included)
 *   16 plain length           4   after decompression
 *   20 nonce                  12
 *   32 id                     32  chunk: HMAC of plaintext; log: LSN, 0s
 * followed by the ciphertext and a 16-byte GCM tag.  The associated data
 * is "beemo-obj-v1" || machine id || header bytes 0..19 || id: the
 * object's identity, so objects authenticate wherever they are stored.
 */
struct obj_hdr {
	uint8_t type, flags;
	uint32_t gen, stored_len, plain_len;
	uint8_t nonce[OBJ_NONCE_LEN];
	uint8_t id[OBJ_ID_LEN];
};

#define CDC_MIN (256U << 10)
#define CDC_AVG_BITS 20 /* 1 MiB */
#define CDC_MAX (4U << 20)

#define STAGE_BLOCK (64U << 10)
#define STAGE_SLOT (STAGE_BLOCK + OBJ_NONCE_LEN + OBJ_TAG_LEN)

/* Sealed value: gen (4) | nonce (12) | ciphertext | tag (16). */
#define SEAL_OVERHEAD (4 + OBJ_NONCE_LEN + OBJ_TAG_LEN)

#define NAMEHASH_LEN 16

/* Chunk location, IX_CHUNK value (big-endian, 29 bytes):
 * pack 8 | offset 8 | stored length 4 | plain length 4 | gen 4 | flags 1. */
struct chunk_loc {
	uint64_t pack;
	uint64_t off; /* of the object header in the pack */
	uint32_t stored_len, plain_len, gen;
	uint8_t flags;
};
#define CHUNK_LOC_LEN 29

/* Pack state, IX_PACK value (big-endian, 17 bytes):
 * state 1 | committed size 8 | objects 8. */
/* PACK_DROPPED: deleted by a prune (the file is gone, or is removed at
 * the next read-write open); the record stays so that the pack is never
 * mistaken for an unknown one and its off-site copy can be released. */
enum pack_state { PACK_OPEN = 1, PACK_CLOSED = 2, PACK_DROPPED = 3 };
struct pack_rec {
	uint8_t state;
	uint64_t size;    /* committed length */
	uint64_t objects; /* objects in it */
};
#define PACK_REC_LEN 17

/* ---- decoded records ------------------------------------------------- */

#define INODE_F_NEW 0x01 /* never had content committed */
#define INODE_F_UNSCANNED 0x02 /* committed without antivirus scan */

struct xattr {
	char *name;
	uint8_t *value;
	uint32_t len;
};

struct inode {
	uint64_t ino;
	uint8_t flags;
	uint32_t mode, uid, gid, nlink;
	uint64_t rdev, size;
	uint64_t data;        /* bytes stored as data, not holes (blocks) */
	struct timespec atime, mtime, ctime;
	uint64_t parent;      /* primary parent, for paths */
	uint64_t content_seq; /* version of IX_CONTENT; 0: empty */
	char *name;           /* primary name (malloc'd) */
	char *target;         /* symlink target (malloc'd) or NULL */
	struct xattr *xattrs;
	uint32_t nxattrs;
	uint64_t seq;         /* version this record was read at */
};

struct dirent_rec {
	uint64_t ino;
	uint8_t type; /* DT_* */
	char name[STORE_NAME_MAX + 1];
};
/* Longest encoded directory entry: version, type, ino, length, name. */
#define DIRENT_MAX_LEN (12 + STORE_NAME_MAX)

/* A chunk in a file's content, or a hole: @len bytes of zeros that are
 * stored nowhere (@id unused, all zero).  A chunk's @len is 1 ..
 * OBJ_MAX_PLAIN, a hole's 1 .. STORE_FILE_MAX. */
struct cref {
	uint8_t id[OBJ_ID_LEN];
	uint64_t len;
	uint8_t hole;
};

/* A file's content: chunk and hole list with cumulative offsets.
 * Refcounted and immutable once built, so readers may share it without
 * locks. */
struct content {
	int refs; /* atomic */
	uint32_t gen;
	uint32_t n;
	uint64_t size;
	struct cref *c;
	uint64_t *off; /* off[i] = start of chunk i; off[n] = size */
};

/* ---- keys and sealing (store_crypto.c) -------------------------------- */

/*
 * The keys of one store: per generation of the machine's SECRET (index =
 * gen, 1-based; a generation whose SECRET is not available is NULL) the
 * subkeys, in OpenSSL's secure heap.  Read-only after keys_init():
 * shared by every thread without a lock.
 */
struct store_keys {
	uint8_t machine_id[KEYMGR_ID_LEN];
	unsigned format; /* STORE_FORMAT_V1 or STORE_FORMAT */
	uint32_t gen;  /* generation for new objects and values */
	uint32_t ngen; /* entries of @keys and @chunk_mac, less one */
	struct keymgr_subkeys **keys;
	EVP_MAC_CTX *name_mac;   /* template: names, gen 1 name key
				  * (format 1: meta key) */
	EVP_MAC_CTX **chunk_mac; /* template per generation */
	uint64_t gear[256];      /* keyed chunker table, gen @gen */
	uint8_t *stage_key;      /* random per open, secure heap */
};

/*
 * keys_init -- derive every generation's subkeys from @s into @k (which
 * the caller zeroed), then keys_derive() for the store's @format.
 * Returns 0, BEEMO_ENOKEY (generation 1 or the current one missing),
 * BEEMO_EVERSION (unknown format), -ENOMEM, or an error of
 * keymgr_subkeys().  On failure call keys_fini() all the same: it frees
 * what was made.
 * keys_derive -- what follows from the subkeys already in @k (@gen,
 * @ngen and @keys set, the rest zeroed) for store format @format: the
 * chunk-id MAC templates, the name-hash template, the chunker table of
 * the current generation (each from the key that @format gives that
 * use) and a fresh random staging key.  Same errors.
 */
int keys_init(struct store_keys *k, const keymgr_secret *s, unsigned format);
int keys_derive(struct store_keys *k, unsigned format);
/* keys_fini -- wipe and free everything of @k; @k may be half-built. */
void keys_fini(struct store_keys *k);
/* keys_gen -- subkeys of generation @gen, or NULL if unknown. */
const struct keymgr_subkeys *keys_gen(const struct store_keys *k,
    uint32_t gen);

/*
 * seal_value -- seal @len bytes of @in into @out (room for len +
 * SEAL_OVERHEAD) with the meta key of the current generation and a
 * random nonce; @aad (@aadlen bytes) binds the value to its place.
 * Returns 0, -EIO (no randomness, cipher failure) or -ENOMEM.
 */
int seal_value(const struct store_keys *k, const void *aad, size_t aadlen,
    const void *in, size_t len, uint8_t *out);
/*
 * open_value -- open the sealed value @in (@len bytes) into @out (room
 * for len - SEAL_OVERHEAD).  Returns 0, -EBADMSG (damaged, moved, or
 * too short) or BEEMO_ENOKEY (a generation we do not have); @out is
 * wiped on failure.
 */
int open_value(const struct store_keys *k, const void *aad, size_t aadlen,
    const void *in, size_t len, uint8_t *out);
/* name_hash -- the 16-byte keyed hash of a file name (directory keys):
 * HMAC-SHA256 under the name key of generation 1 of "beemo/v2/name" NUL
 * name (format 1: meta key, "beemo/v1/name" NUL name), cut. */
void name_hash(const struct store_keys *k, const char *name,
    uint8_t out[NAMEHASH_LEN]);
/* chunk_id -- the id of a chunk: HMAC-SHA256 of its plaintext under the
 * chunk-id key of @gen.  Returns 0, BEEMO_ENOKEY or -ENOMEM. */
int chunk_id(const struct store_keys *k, uint32_t gen, const void *data,
    size_t len, uint8_t id[OBJ_ID_LEN]);

/* ---- objects and pack headers (store_object.c) ------------------------ */

void obj_hdr_encode(uint8_t out[OBJ_HDR_LEN], const struct obj_hdr *h);
/* obj_hdr_decode -- returns 0 or BEEMO_EFORMAT (bad magic, reserved bits,
 * type, flags, or lengths out of bounds; a checkpoint part whose id is
 * not as ckpt_id_encode() makes it). */
int obj_hdr_decode(struct obj_hdr *h, const uint8_t in[OBJ_HDR_LEN]);
/* The log sequence place of a log object or checkpoint part, from its
 * header's id (authenticated only once the object is opened): @lsn its
 * LSN; for a checkpoint part (@ckpt 1), @first the LSN of the
 * checkpoint's first part and @last whether it is the last one; for a
 * log object @ckpt and @last are 0 and @first is @lsn. */
struct log_place {
	uint64_t lsn, first;
	int ckpt, last;
};
/* ckpt_id_encode -- the id of part @lsn of the checkpoint whose first
 * part is @first (<= @lsn), the last one if @last. */
void ckpt_id_encode(uint8_t id[OBJ_ID_LEN], uint64_t lsn, uint64_t first,
    int last);
/* obj_log_place -- the place of @h, which is of type OBJ_LOG or
 * OBJ_CKPT (checked by obj_hdr_decode()). */
void obj_log_place(const struct obj_hdr *h, struct log_place *out);
/*
 * obj_build -- seal @len bytes of @plain as an object of @type with @id,
 * generation @gen and @key, compressed with zstd at @level when that
 * saves at least 1/32 (INT32_MIN: never).  *@out receives a new buffer
 * (header, ciphertext, tag; the caller frees it) of *@outlen bytes.
 * Returns 0, -EFBIG (over OBJ_MAX_PLAIN), -EIO or -ENOMEM.
 */
int obj_build(const struct store_keys *k, enum obj_type type,
    const uint8_t id[OBJ_ID_LEN], uint32_t gen, const uint8_t *key,
    const void *plain, size_t len, int level, uint8_t **out,
    size_t *outlen);
/*
 * obj_open -- authenticate and decode the object @raw (header,
 * ciphertext, tag) whose header @h was decoded from it.  *@plain
 * receives a new buffer of h->plain_len bytes (the caller wipes and
 * frees it).  Returns 0, -EBADMSG (damaged or tampered; authenticated
 * but undecodable too), BEEMO_ENOKEY or -ENOMEM.
 */
int obj_open(const struct store_keys *k, const struct obj_hdr *h,
    const uint8_t *raw, uint8_t **plain);
/*
 * obj_open_into -- as obj_open(), into the caller's buffer @plain (at
 * least h->plain_len bytes), with no allocation: a compressed object is
 * decrypted in place in @raw (which then holds compressed plaintext:
 * the caller wipes it like plaintext), then decompressed into @plain.
 * On an authentication failure nothing of the plaintext is left in
 * @raw or @plain.  Returns 0, -EBADMSG, BEEMO_ENOKEY or -ENOMEM (no
 * decompression context).
 */
int obj_open_into(const struct store_keys *k, const struct obj_hdr *h,
    uint8_t *raw, uint8_t *plain);
/* pack_hdr_encode -- the 32-byte header of a new pack of @machine. */
void pack_hdr_encode(uint8_t out[PACK_HDR_LEN],
    const uint8_t machine[KEYMGR_ID_LEN]);
/* pack_hdr_check -- 0 if @in is a pack header of @machine; otherwise
 * BEEMO_EFORMAT (magic, unknown flags), BEEMO_EVERSION or BEEMO_EFOREIGN
 * (another machine's pack). */
int pack_hdr_check(const uint8_t in[PACK_HDR_LEN],
    const uint8_t machine[KEYMGR_ID_LEN]);

/* ---- the chunker (store_chunker.c) ------------------------------------ */

/* chunker_gear -- the keyed gear table of store format @format from
 * @key: the gear key (format 2) or the chunk-id key (format 1). */
void chunker_gear(uint64_t gear[256], const uint8_t key[KEYMGR_SECRET_LEN],
    unsigned format);
/* Scanning state of one chunk being cut; zero it at a chunk start. */
struct chunker {
	uint64_t h;
	size_t pos; /* bytes of the chunk already scanned */
};
/*
 * chunker_scan -- find the end of the chunk starting at buf[0], given
 * @len bytes of it so far, resuming where the last call with @c stopped
 * (the caller only ever appends to buf).  Returns the chunk length and
 * resets @c, or 0 when more data is needed.
 */
size_t chunker_scan(const uint64_t *gear, struct chunker *c,
    const uint8_t *buf, size_t len);

/* ---- index records (store_codec.c) ------------------------------------ */

/*
 * inode_encode -- the record of @in into a new buffer *@out (*@len
 * bytes; the caller frees it).  Returns 0 or -ENOMEM.
 * inode_decode -- the record @p of inode @ino into @in (strings and
 * xattrs malloc'd: inode_free()).  Returns 0, BEEMO_EVERSION or
 * BEEMO_EFORMAT (then @in holds nothing).
 */
int inode_encode(const struct inode *in, uint8_t **out, size_t *len);
int inode_decode(struct inode *in, uint64_t ino, const uint8_t *p,
    size_t len);
/* inode_free -- free what @in owns and zero it; NULL is a no-op. */
void inode_free(struct inode *in);
/* inode_attr -- the attributes stat(2) shows of @in. */
void inode_attr(const struct inode *in, struct store_attr *out);

/* dirent_encode -- entry @name -> @ino of DT_ @type into @out; returns
 * its length.  @name is 1..STORE_NAME_MAX bytes. */
size_t dirent_encode(uint8_t out[DIRENT_MAX_LEN], uint64_t ino,
    uint8_t type, const char *name);
/* dirent_decode -- returns 0, BEEMO_EVERSION or BEEMO_EFORMAT (empty
 * name, or one with NUL or '/'). */
int dirent_decode(struct dirent_rec *d, const uint8_t *p, size_t len);

/* content_new -- an unfinished content of @n chunks, one reference.
 * Returns NULL when out of memory. */
struct content *content_new(uint32_t gen, uint32_t n);
/* content_finish -- compute the offsets and size from the chunk list. */
void content_finish(struct content *c);
/* content_ref, content_unref -- atomic; the last unref frees; NULL is a
 * no-op. */
void content_ref(struct content *c);
void content_unref(struct content *c);
/* content_index -- the index of the entry holding byte @off of @c
 * (off < c->size), by binary search. */
uint32_t content_index(const struct content *c, uint64_t off);
/* content_data -- the bytes of @c (NULL: empty) that are not holes. */
uint64_t content_data(const struct content *c);
/* content_seek -- lseek(2)'s SEEK_DATA (@data 1) or SEEK_HOLE (@data 0)
 * in @c (NULL: empty) from @off: the first byte at or after @off in a
 * chunk, or in a hole (the end of the content counts as one).  Returns
 * the offset, or -ENXIO when @off is at or past the end or, for data,
 * no chunk follows. */
int64_t content_seek(const struct content *c, uint64_t off, int data);
/* content_encode -- the chunk and hole list of @c into a new buffer, in
 * the current version (2).  Returns 0 or -ENOMEM. */
int content_encode(const struct content *c, uint8_t **out, size_t *len);
/* content_decode -- a finished content with one reference into *@out,
 * from version 2 or version 1 (chunks only, written before holes).
 * Returns 0, BEEMO_EVERSION, BEEMO_EFORMAT (lengths, an empty or
 * oversized chunk or hole, an unknown entry type, a size that is not
 * the entries' sum or exceeds STORE_FILE_MAX) or -ENOMEM. */
int content_decode(const uint8_t *p, size_t len, struct content **out);

void chunk_loc_encode(uint8_t out[CHUNK_LOC_LEN], const struct chunk_loc *l);
/* chunk_loc_decode -- returns 0 or BEEMO_EFORMAT (wrong length). */
int chunk_loc_decode(struct chunk_loc *l, const uint8_t *p, size_t len);
void pack_rec_encode(uint8_t out[PACK_REC_LEN], const struct pack_rec *r);
/* pack_rec_decode -- returns 0 or BEEMO_EFORMAT (wrong length); a state
 * other than PACK_OPEN reads as closed. */
int pack_rec_decode(struct pack_rec *r, const uint8_t *p, size_t len);

/* ---- POSIX ACL xattrs (store_acl.c) ----------------------------------- */

#define XATTR_ACL_ACCESS "system.posix_acl_access"
#define XATTR_ACL_DEFAULT "system.posix_acl_default"
/*
 * The kernel's encoding: a little-endian u32 version (2), then 8-byte
 * entries {u16 tag, u16 perm, u32 id}.  Every function returns -EINVAL
 * for a value that is not such an ACL with owner, group and other
 * entries.
 * acl_mode -- the permission bits an access ACL gives; *@equiv: it says
 *   no more than them (it need not be stored).
 * acl_chmod -- rewrite an access ACL in place for chmod to @mode.
 * acl_inherit -- the access ACL of a new node under default ACL @def, in
 *   a new buffer; updates the permission bits of *@mode.  -ENOMEM too.
 */
int acl_mode(const uint8_t *v, size_t len, uint32_t *perm, int *equiv);
int acl_chmod(uint8_t *v, size_t len, uint32_t mode);
int acl_inherit(const uint8_t *def, size_t len, uint32_t *mode,
    uint8_t **out, size_t *outlen);

#endif /* BEEMO_STORE_CODEC_H */
