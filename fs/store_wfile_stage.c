/*
 * store_wfile_stage.c -- the STAGED representation of a file being
 * written: sealed 64 KiB blocks in an unnamed staging file over the base
 * content, and the table of which blocks are staged where.  See
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

/*
 * The staged blocks: an open-addressing table (linear probing) from block
 * number to slot in the staging file.  Slots are handed out in order and
 * reused once their block is truncated away, so the staging file grows
 * with the data written, not with the offsets: a block written at 1 PiB
 * costs one slot like any other.  Block numbers stay below
 * STORE_FILE_MAX / STAGE_BLOCK, so NO_BLOCK marks a free entry.
 */
#define NO_BLOCK UINT64_MAX

static size_t
map_home(const struct wfile *w, uint64_t b)
{
	return (size_t)((b * 0x9E3779B97F4A7C15ULL) >> 32) & (w->mapcap - 1);
}

/* The entry of block @b, or NULL. */
static struct stage_ent *
map_find(const struct wfile *w, uint64_t b)
{
	size_t i;

	if (w->mapcap == 0)
		return NULL;
	for (i = map_home(w, b); w->map[i].block != NO_BLOCK;
	    i = (i + 1) & (w->mapcap - 1))
		if (w->map[i].block == b)
			return &w->map[i];
	return NULL;
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
map_insert(struct wfile *w, uint64_t b, uint64_t slot)
{
	size_t i;

	for (i = map_home(w, b); w->map[i].block != NO_BLOCK;
	    i = (i + 1) & (w->mapcap - 1))
		;
	w->map[i].block = b;
	w->map[i].slot = slot;
	w->nstaged++;
}

/* A table of @cap entries holding the entries of the old one whose block
 * is below @limit; the slots of the others become free. */
static int
map_rebuild(struct wfile *w, size_t cap, uint64_t limit)
{
	struct stage_ent *old = w->map;
	size_t i, oldcap = w->mapcap;

	if ((w->map = malloc(cap * sizeof(*w->map))) == NULL) {
		w->map = old;
		return -ENOMEM;
	}
	for (i = 0; i < cap; i++)
		w->map[i].block = NO_BLOCK;
	w->mapcap = cap;
	w->nstaged = 0;
	for (i = 0; i < oldcap; i++) {
		if (old[i].block == NO_BLOCK)
			continue;
		if (old[i].block < limit)
			map_insert(w, old[i].block, old[i].slot);
		else
			w->freeslot[w->nfree++] = old[i].slot;
	}
	free(old);
	w->nsorted = 0;
	return 0;
}

int
wfile_staged_has(const struct wfile *w, uint64_t b)
{
	return map_find(w, b) != NULL;
}

/* The slot of block @b in *@slot, given one if it has none yet. */
static int
map_slot(struct wfile *w, uint64_t b, uint64_t *slot)
{
	struct stage_ent *e = map_find(w, b);
	int rc;

	if (e != NULL) {
		*slot = e->slot;
		return 0;
	}
	if ((w->nstaged + 1) * 2 > w->mapcap &&
	    (rc = map_rebuild(w, w->mapcap ? w->mapcap * 2 : 256,
	    NO_BLOCK)) != 0)
		return rc;
	if (w->nstaged + 1 > w->freecap) {
		/* Room to free every slot at once (map_rebuild). */
		size_t cap = w->mapcap;
		uint64_t *n = realloc(w->freeslot, cap * sizeof(*n));

		if (n == NULL)
			return -ENOMEM;
		w->freeslot = n;
		w->freecap = cap;
	}
	if (w->nfree > 0)
		*slot = w->freeslot[--w->nfree];
	else {
		/* The staging file grows by one slot; it never shrinks
		 * while open, so freed slots stay counted. */
		*slot = w->nslots++;
		stage_account(w, STAGE_SLOT);
	}
	map_insert(w, b, *slot);
	w->nsorted = 0;
	return 0;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

uint64_t
wfile_staged_next(struct wfile *w, uint64_t b)
{
	size_t lo = 0, hi, i, k = 0;

	if (w->nstaged == 0)
		return NO_BLOCK;
	if (w->nsorted != w->nstaged) {
		/* Sorted again only after a change. */
		uint64_t *n = realloc(w->sorted, w->nstaged * sizeof(*n));

		if (n == NULL)
			return b; /* callers then read blocks one by one */
		w->sorted = n;
		for (i = 0; i < w->mapcap; i++)
			if (w->map[i].block != NO_BLOCK)
				w->sorted[k++] = w->map[i].block;
		qsort(w->sorted, k, sizeof(*w->sorted), cmp_u64);
		w->nsorted = k;
	}
	hi = w->nsorted;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (w->sorted[mid] < b)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < w->nsorted ? w->sorted[lo] : NO_BLOCK;
}

void
wfile_staged_free(struct wfile *w)
{
	free(w->map);
	free(w->freeslot);
	free(w->sorted);
	w->map = NULL;
	w->freeslot = NULL;
	w->sorted = NULL;
	w->mapcap = w->nstaged = w->nfree = w->freecap = w->nsorted = 0;
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
	struct stage_ent *e = map_find(w, b);
	ssize_t n;

	if (e != NULL) {
		n = pread(w->fd, slot, STAGE_SLOT,
		    (off_t)(e->slot * STAGE_SLOT));
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
	uint64_t where;
	ssize_t n;
	int rc;

	if ((rc = stage_open(w)) != 0)
		return rc;
	/* A block that needs a new slot grows the staging file: disk the
	 * machine holds, so the quota and the disk's reserve apply
	 * (store_snap.h). */
	if (!wfile_staged_has(w, b) && w->nfree == 0 &&
	    (rc = store_space_check(w->st, STAGE_SLOT, 1)) != 0)
		return rc;
	if ((rc = map_slot(w, b, &where)) != 0)
		return rc;
	if (RAND_bytes(slot, OBJ_NONCE_LEN) != 1)
		return -EIO;
	block_aad(w, b, aad);
	rc = bm_gcm(1, w->st->keys.stage_key, slot, aad, 16, NULL, 0, in,
	    STAGE_BLOCK, slot + OBJ_NONCE_LEN);
	if (rc != 0)
		return rc;
	n = pwrite(w->fd, slot, STAGE_SLOT, (off_t)(where * STAGE_SLOT));
	if (n != (ssize_t)STAGE_SLOT)
		return n < 0 ? -errno : -EIO;
	return 0;
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
		if (size % STAGE_BLOCK != 0 && map_find(w, b) != NULL) {
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
		if (rc == 0 && w->nstaged > 0)
			rc = map_rebuild(w, w->mapcap, b);
	}
	if (rc == 0)
		w->size = size;
	return rc;
}
