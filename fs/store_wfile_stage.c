/*
 * store_wfile_stage.c -- the STAGED representation of a file being
 * written: sealed 64 KiB blocks in an unnamed staging file over the base
 * content, and the bitmap of which blocks are staged.  See
 * store_wfile.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bm_gcm.h"
#include "bm_log.h"
#include "bm_file.h"
#include "bm_bytes.h"
#include "store_cache.h"
#include "store_internal.h"
#include "store_snap.h"
#include "store_wfile.h"

int
wfile_bit_get(const struct wfile *w, uint64_t b)
{
	return b < w->nbits && (w->bits[b / 64] >> (b % 64) & 1);
}

static int
bit_set(struct wfile *w, uint64_t b)
{
	if (b >= w->nbits) {
		uint64_t n = w->nbits ? w->nbits : 1024, *nb;

		while (n <= b)
			n *= 2;
		if ((nb = realloc(w->bits, n / 8)) == NULL)
			return -ENOMEM;
		memset((uint8_t *)nb + w->nbits / 8, 0, (n - w->nbits) / 8);
		w->bits = nb;
		w->nbits = n;
	}
	w->bits[b / 64] |= 1ULL << (b % 64);
	return 0;
}

/* The staging file holds @delta bytes more (or fewer): the quota counts
 * them (store_snap.h). */
static void
stage_account(struct wfile *w, int64_t delta)
{
	w->staged += (uint64_t)delta;
	__atomic_add_fetch(&w->st->staged, (uint64_t)delta, __ATOMIC_RELAXED);
}

static void
bit_clear_from(struct wfile *w, uint64_t b)
{
	for (; b < w->nbits; b++) {
		if (wfile_bit_get(w, b))
			stage_account(w, -(int64_t)STAGE_SLOT);
		w->bits[b / 64] &= ~(1ULL << (b % 64));
	}
}

static void
block_aad(const struct wfile *w, uint64_t b, uint8_t aad[16])
{
	bm_be64enc(aad, w->serial);
	bm_be64enc(aad + 8, b);
}

static int
stage_open(struct wfile *w)
{
	char path[4096];
	int rc;

	if (w->fd >= 0)
		return 0;
	if ((rc = bm_path(path, sizeof(path), "%s/staging", w->st->dir)) != 0)
		return rc;
	w->fd = open(path, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (w->fd < 0) {
		rc = -errno;
		bm_log(LOG_ERR, "%s: cannot create staging file: %s", path,
		    strerror(errno));
		return rc;
	}
	return 0;
}

/* Read block @b (STAGE_BLOCK bytes) of the current content. */
static int
block_read(struct wfile *w, uint64_t b, uint8_t *out)
{
	uint64_t off = b * STAGE_BLOCK;
	uint8_t slot[STAGE_SLOT], aad[16];
	ssize_t n;

	if (wfile_bit_get(w, b)) {
		n = pread(w->fd, slot, STAGE_SLOT, (off_t)(b * STAGE_SLOT));
		if (n != (ssize_t)STAGE_SLOT)
			return n < 0 ? -errno : -EIO;
		block_aad(w, b, aad);
		return bm_gcm(0, w->st->keys.stage_key, slot, aad, 16, NULL, 0,
		    slot + OBJ_NONCE_LEN, STAGE_BLOCK, out);
	}
	memset(out, 0, STAGE_BLOCK);
	if (off < w->base_size) {
		size_t len = STAGE_BLOCK;

		if (len > w->base_size - off)
			len = (size_t)(w->base_size - off);
		n = content_read(w->st, w->base, out, len, off);
		if (n < 0)
			return (int)n;
	}
	return 0;
}

static int
block_write(struct wfile *w, uint64_t b, const uint8_t *in)
{
	uint8_t slot[STAGE_SLOT], aad[16];
	ssize_t n;
	int rc;

	if ((rc = stage_open(w)) != 0)
		return rc;
	/* A new block is disk the machine holds: the quota and the disk's
	 * reserve apply (store_snap.h). */
	if (!wfile_bit_get(w, b) &&
	    (rc = store_space_check(w->st, STAGE_SLOT, 1)) != 0)
		return rc;
	if (RAND_bytes(slot, OBJ_NONCE_LEN) != 1)
		return -EIO;
	block_aad(w, b, aad);
	rc = bm_gcm(1, w->st->keys.stage_key, slot, aad, 16, NULL, 0, in,
	    STAGE_BLOCK, slot + OBJ_NONCE_LEN);
	if (rc != 0)
		return rc;
	n = pwrite(w->fd, slot, STAGE_SLOT, (off_t)(b * STAGE_SLOT));
	if (n != (ssize_t)STAGE_SLOT)
		return n < 0 ? -errno : -EIO;
	if (!wfile_bit_get(w, b))
		stage_account(w, STAGE_SLOT);
	return bit_set(w, b);
}

int
wfile_staged_write(struct wfile *w, const uint8_t *buf, size_t len,
    uint64_t off)
{
	uint8_t *blk = OPENSSL_secure_malloc(STAGE_BLOCK);
	size_t done = 0;
	int rc = 0;

	if (blk == NULL)
		return -ENOMEM;
	while (done < len) {
		uint64_t pos = off + done, b = pos / STAGE_BLOCK;
		size_t in = (size_t)(pos % STAGE_BLOCK);
		size_t n = STAGE_BLOCK - in;

		if (n > len - done)
			n = len - done;
		if (n < STAGE_BLOCK && (rc = block_read(w, b, blk)) != 0)
			break;
		memcpy(blk + in, buf + done, n);
		if ((rc = block_write(w, b, blk)) != 0)
			break;
		done += n;
	}
	OPENSSL_secure_clear_free(blk, STAGE_BLOCK);
	if (rc == 0 && off + len > w->size)
		w->size = off + len;
	return rc;
}

ssize_t
wfile_staged_read(struct wfile *w, uint8_t *buf, size_t len,
    uint64_t off)
{
	uint8_t *blk;
	size_t done = 0;
	int rc = 0;

	if (off >= w->size)
		return 0;
	if (len > w->size - off)
		len = (size_t)(w->size - off);
	if ((blk = OPENSSL_secure_malloc(STAGE_BLOCK)) == NULL)
		return -ENOMEM;
	while (done < len) {
		uint64_t pos = off + done;
		size_t in = (size_t)(pos % STAGE_BLOCK);
		size_t n = STAGE_BLOCK - in;

		if (n > len - done)
			n = len - done;
		if ((rc = block_read(w, pos / STAGE_BLOCK, blk)) != 0)
			break;
		memcpy(buf + done, blk + in, n);
		done += n;
	}
	OPENSSL_secure_clear_free(blk, STAGE_BLOCK);
	return rc != 0 ? rc : (ssize_t)done;
}

int
wfile_staged_truncate(struct wfile *w, uint64_t size)
{
	uint64_t b = size / STAGE_BLOCK;
	int rc = 0;

	if (size < w->size) {
		if (size < w->base_size)
			w->base_size = size;
		if (size % STAGE_BLOCK != 0 && wfile_bit_get(w, b)) {
			uint8_t *blk = OPENSSL_secure_malloc(STAGE_BLOCK);

			if (blk == NULL)
				return -ENOMEM;
			rc = block_read(w, b, blk);
			if (rc == 0) {
				memset(blk + size % STAGE_BLOCK, 0,
				    STAGE_BLOCK - size % STAGE_BLOCK);
				rc = block_write(w, b, blk);
			}
			OPENSSL_secure_clear_free(blk, STAGE_BLOCK);
			b++;
		} else if (size % STAGE_BLOCK != 0) {
			b++;
		}
		bit_clear_from(w, b);
	}
	if (rc == 0)
		w->size = size;
	return rc;
}
