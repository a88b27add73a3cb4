/*
 * store_record.c -- index records by name: inodes, directory entries,
 * contents and chunk locations read and written in the shared index
 * transaction (ix_lock held by the caller).  The bytes are those of
 * store_codec.c; sealing and versions are the index's (store_index.c).
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bm_bytes.h"
#include "bm_err.h"
#include "bm_log.h"
#include "store_internal.h"
#include "store_record.h"

/* ---- inodes --------------------------------------------------------- */

int
inode_get(store *st, uint64_t ino, uint64_t seq, struct inode *out)
{
	uint8_t k[8], *plain;
	size_t len;
	uint64_t found;
	int rc;

	bm_be64enc(k, ino);
	rc = ix_vget_sealed(st, IX_INODE, k, 8, seq, &plain, &len, &found);
	if (rc != 0)
		return rc;
	rc = inode_decode(out, ino, plain, len);
	free(plain);
	if (rc != 0) {
		bm_log(LOG_ERR, "inode %" PRIu64 ": malformed record", ino);
		return -EIO;
	}
	out->seq = found;
	return 0;
}

int
inode_put(store *st, struct inode *in)
{
	uint8_t k[8], *v;
	size_t len;
	int rc;

	if ((rc = inode_encode(in, &v, &len)) != 0)
		return rc;
	bm_be64enc(k, in->ino);
	rc = ix_vput_sealed(st, IX_INODE, k, 8, v, len);
	free(v);
	return rc;
}

int
inode_del(store *st, uint64_t ino)
{
	uint8_t k[8];
	int rc;

	bm_be64enc(k, ino);
	if ((rc = ix_vdel(st, IX_INODE, k, 8)) != 0)
		return rc;
	return ix_vdel(st, IX_CONTENT, k, 8);
}

/* ---- directory entries ---------------------------------------------- */

static size_t
dirent_prefix(store *st, uint8_t *k, uint64_t parent, const char *name)
{
	bm_be64enc(k, parent);
	name_hash(&st->keys, name, k + 8);
	return 8 + NAMEHASH_LEN;
}

int
dirent_get(store *st, uint64_t parent, const char *name, uint64_t seq,
    struct dirent_rec *out)
{
	uint8_t k[32], *plain;
	size_t len, klen = dirent_prefix(st, k, parent, name);
	int rc;

	rc = ix_vget_sealed(st, IX_DIRENT, k, klen, seq, &plain, &len, NULL);
	if (rc != 0)
		return rc;
	rc = dirent_decode(out, plain, len);
	free(plain);
	if (rc != 0 || strcmp(out->name, name) != 0) {
		/* Two names with one 128-bit hash, or a bad record. */
		bm_log(LOG_ERR, "directory %" PRIu64 ": malformed entry",
		    parent);
		return -EIO;
	}
	return 0;
}

int
dirent_put(store *st, uint64_t parent, const char *name, uint64_t ino,
    uint8_t type)
{
	uint8_t k[32], v[DIRENT_MAX_LEN];
	size_t klen = dirent_prefix(st, k, parent, name);
	size_t vlen = dirent_encode(v, ino, type, name);

	return ix_vput_sealed(st, IX_DIRENT, k, klen, v, vlen);
}

int
dirent_del(store *st, uint64_t parent, const char *name)
{
	uint8_t k[32];
	size_t klen = dirent_prefix(st, k, parent, name);

	return ix_vdel(st, IX_DIRENT, k, klen);
}

/* ---- contents ------------------------------------------------------- */

int
content_get(store *st, uint64_t ino, uint64_t seq, struct content **out)
{
	uint8_t k[8], *plain;
	size_t len;
	uint64_t found;
	int rc;

	bm_be64enc(k, ino);
	rc = ix_vget_sealed(st, IX_CONTENT, k, 8, seq, &plain, &len, &found);
	if (rc == -ENOENT)
		rc = -EIO; /* an inode names content that is not there */
	if (rc != 0)
		goto fail;
	if (found != seq)
		rc = -EIO;
	else if ((rc = content_decode(plain, len, out)) != 0 && rc != -ENOMEM)
		rc = -EIO;
	free(plain);
fail:
	if (rc == -EIO)
		bm_log(LOG_ERR, "inode %" PRIu64 ": content record %" PRIu64
		    " missing or malformed", ino, seq);
	return rc;
}

int
content_put(store *st, uint64_t ino, const struct content *c, uint64_t *seq)
{
	uint8_t k[8], *v;
	size_t len;
	int rc;

	if ((rc = content_encode(c, &v, &len)) != 0)
		return rc;
	bm_be64enc(k, ino);
	rc = ix_vput_sealed(st, IX_CONTENT, k, 8, v, len);
	free(v);
	if (rc == 0)
		*seq = st->live_seq;
	return rc;
}

/* ---- chunk locations ------------------------------------------------ */

int
chunk_loc_get(store *st, const uint8_t id[OBJ_ID_LEN], struct chunk_loc *out)
{
	MDB_val v;
	int rc = ix_get(st, IX_CHUNK, id, OBJ_ID_LEN, &v);

	if (rc != 0)
		return rc;
	if (chunk_loc_decode(out, v.mv_data, v.mv_size) != 0)
		return -EIO;
	return 0;
}

int
chunk_loc_put(store *st, const uint8_t id[OBJ_ID_LEN],
    const struct chunk_loc *loc)
{
	uint8_t v[CHUNK_LOC_LEN];

	chunk_loc_encode(v, loc);
	return ix_put(st, IX_CHUNK, id, OBJ_ID_LEN, v, sizeof(v));
}
