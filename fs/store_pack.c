/*
 * store_pack.c -- pack files: the writer, the readers and their
 * descriptor cache, the commit steps.  See store_pack.h for the design.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "bm_bytes.h"
#include "bm_err.h"
#include "bm_file.h"
#include "bm_log.h"
#include "store_pack.h"

#define FD_CACHE 64

struct fdent {
	uint64_t id;
	int fd;
	int refs;
	uint64_t tick;
};

/* ---- paths and descriptors ------------------------------------------- */

int
pack_path(const struct packs *pk, uint64_t id, int open, char *buf, size_t n)
{
	return bm_path(buf, n, "%s/packs/%02x/%016" PRIx64 ".pack%s", pk->dir,
	    (unsigned)(id & 0xff), id, open ? ".open" : "");
}

/*
 * The descriptor cache.  Entries are allocated one by one and never move
 * or are freed before pack_fds_close(): a reader holds a pointer to its
 * entry (refs > 0) without the lock while it reads, and growing the
 * table (an array of pointers) must not pull the entry from under it.
 * An entry is reused for another pack only when refs == 0.  Every field
 * of the table and its entries is protected by fd_lock; the descriptor
 * itself is used without it while refs > 0.
 */

/* Get a referenced descriptor of pack @id; pack_fd_release() after. */
static struct fdent *
pack_fd_get(struct packs *pk, uint64_t id, int *err)
{
	struct fdent *e, *victim = NULL;
	char path[4096];
	size_t i;
	int fd;

	pthread_mutex_lock(&pk->fd_lock);
	for (i = 0; i < pk->nfds; i++) {
		e = pk->fds[i];
		if (e->fd >= 0 && e->id == id) {
			e->refs++;
			e->tick = ++pk->fd_tick;
			pthread_mutex_unlock(&pk->fd_lock);
			return e;
		}
	}
	pthread_mutex_unlock(&pk->fd_lock);

	/* Open outside the lock; a racing opener just wastes one open. */
	*err = pack_path(pk, id, 0, path, sizeof(path));
	if (*err != 0)
		return NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		pack_path(pk, id, 1, path, sizeof(path));
		fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0 && errno == ENOENT) {
		/* Renamed closed between the two opens. */
		pack_path(pk, id, 0, path, sizeof(path));
		fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0) {
		*err = -errno;
		return NULL;
	}
	pthread_mutex_lock(&pk->fd_lock);
	for (i = 0; i < pk->nfds; i++) {
		e = pk->fds[i];
		if (e->fd < 0) {
			victim = e;
			break;
		}
		if (e->refs == 0 && (victim == NULL || e->tick < victim->tick))
			victim = e;
	}
	if (victim == NULL) {
		/* Every cached descriptor is busy: grow a little.  Only the
		 * array of pointers moves; the entries stay put. */
		struct fdent **n = realloc(pk->fds,
		    (pk->nfds + 8) * sizeof(*n));

		if (n == NULL)
			goto nomem;
		pk->fds = n;
		for (i = pk->nfds; i < pk->nfds + 8; i++) {
			if ((pk->fds[i] = malloc(sizeof(**n))) == NULL)
				break;
			pk->fds[i]->fd = -1;
			pk->fds[i]->refs = 0;
		}
		if (i == pk->nfds)
			goto nomem;
		victim = pk->fds[pk->nfds];
		pk->nfds = i;
	}
	if (victim->fd >= 0)
		close(victim->fd);
	victim->id = id;
	victim->fd = fd;
	victim->refs = 1;
	victim->tick = ++pk->fd_tick;
	pthread_mutex_unlock(&pk->fd_lock);
	return victim;
nomem:
	pthread_mutex_unlock(&pk->fd_lock);
	close(fd);
	*err = -ENOMEM;
	return NULL;
}

static void
pack_fd_release(struct packs *pk, struct fdent *e)
{
	pthread_mutex_lock(&pk->fd_lock);
	e->refs--;
	pthread_mutex_unlock(&pk->fd_lock);
}

void
pack_fd_forget(struct packs *pk, uint64_t id)
{
	size_t i;

	pthread_mutex_lock(&pk->fd_lock);
	for (i = 0; i < pk->nfds; i++) {
		struct fdent *e = pk->fds[i];

		if (e->fd >= 0 && e->id == id && e->refs == 0) {
			close(e->fd);
			e->fd = -1;
		}
	}
	pthread_mutex_unlock(&pk->fd_lock);
}

int
pack_init(struct packs *pk, const char *dir,
    const uint8_t machine[KEYMGR_ID_LEN], const struct store_keys *keys,
    uint64_t pack_size, store_event_fn event, void *event_ctx)
{
	size_t i;

	pk->dir = dir;
	memcpy(pk->machine_id, machine, KEYMGR_ID_LEN);
	pk->keys = keys;
	pk->pack_size = pack_size;
	pk->event = event;
	pk->event_ctx = event_ctx;
	pk->pw.fd = -1;
	pthread_mutex_init(&pk->pk_lock, NULL);
	pthread_mutex_init(&pk->fd_lock, NULL);
	if ((pk->fds = calloc(FD_CACHE, sizeof(*pk->fds))) == NULL)
		return -ENOMEM;
	for (i = 0; i < FD_CACHE; i++) {
		if ((pk->fds[i] = malloc(sizeof(*pk->fds[i]))) == NULL)
			break;
		pk->fds[i]->fd = -1;
		pk->fds[i]->refs = 0;
	}
	pk->nfds = i;
	return i == FD_CACHE ? 0 : -ENOMEM;
}

void
pack_fini(struct packs *pk)
{
	size_t i;

	if (pk->dir == NULL)
		return; /* never initialised */
	for (i = 0; i < pk->nfds; i++) {
		if (pk->fds[i]->fd >= 0)
			close(pk->fds[i]->fd);
		free(pk->fds[i]);
	}
	free(pk->fds);
	pk->fds = NULL;
	pk->nfds = 0;
	pthread_mutex_destroy(&pk->pk_lock);
	pthread_mutex_destroy(&pk->fd_lock);
}

int
pack_pread_all(int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = pread(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO; /* truncated pack */
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

int
pack_pread(struct packs *pk, uint64_t pack, void *buf, size_t len, uint64_t off)
{
	struct fdent *e;
	int rc = 0;

	if ((e = pack_fd_get(pk, pack, &rc)) == NULL)
		return rc;
	rc = pack_pread_all(e->fd, buf, len, off);
	pack_fd_release(pk, e);
	return rc;
}

int
pack_read_chunk(struct packs *pk, const uint8_t id[OBJ_ID_LEN],
    const struct chunk_loc *loc, uint8_t *raw, uint8_t *plain)
{
	struct obj_hdr h;
	char hex[2 * OBJ_ID_LEN + 1];
	int rc;

	bm_hex(hex, id, OBJ_ID_LEN);
	if (loc->stored_len > ZSTD_compressBound(OBJ_MAX_PLAIN))
		return -EIO;
	rc = pack_pread(pk, loc->pack, raw, PACK_CHUNK_RAW(loc), loc->off);
	if (rc != 0) {
		bm_log(LOG_ERR, "chunk %s: cannot read pack %016" PRIx64
		    " at offset %" PRIu64 ": %s", hex, loc->pack, loc->off,
		    rc == -EIO ? "pack truncated" : beemo_strerror(rc));
		return -EIO;
	}
	if (obj_hdr_decode(&h, raw) != 0 || h.type != OBJ_CHUNK ||
	    memcmp(h.id, id, OBJ_ID_LEN) != 0 ||
	    h.stored_len != loc->stored_len ||
	    h.plain_len != loc->plain_len) {
		bm_log(LOG_ERR, "chunk %s: object header in pack %016" PRIx64
		    " at offset %" PRIu64 " does not match the index", hex,
		    loc->pack, loc->off);
		return -EIO;
	}
	rc = obj_open_into(pk->keys, &h, raw, plain);
	if (rc == -EBADMSG)
		bm_log(LOG_ERR, "chunk %s in pack %016" PRIx64 " at offset %"
		    PRIu64 ": authentication failed (damaged or tampered)",
		    hex, loc->pack, loc->off);
	else if (rc != 0)
		bm_log(LOG_ERR, "chunk %s in pack %016" PRIx64 ": %s", hex,
		    loc->pack, beemo_strerror(rc));
	if (rc == -EBADMSG) {
		char where[64];

		snprintf(where, sizeof(where), "chunk %.16s", hex);
		if (pk->event != NULL)
			pk->event(pk->event_ctx, STORE_EV_DAMAGE,
			    NULL, where);
	}
	return rc;
}

/* ---- the writer ------------------------------------------------------- */

static int
write_all_at(int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

/* Start a new pack (pk_lock held). */
static int
pack_new(struct packs *pk)
{
	uint8_t hdr[PACK_HDR_LEN];
	char path[4096];
	int fd, rc;

	if ((rc = pack_path(pk, pk->next_pack, 1, path, sizeof(path))) != 0)
		return rc;
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 && errno == ENOENT) {
		char *slash = strrchr(path, '/');

		*slash = '\0';
		if (mkdir(path, 0700) != 0 && errno != EEXIST)
			return -errno;
		*slash = '/';
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	}
	if (fd < 0) {
		rc = -errno;
		bm_log(LOG_ERR, "%s: cannot create pack: %s", path,
		    strerror(errno));
		return rc;
	}
	pack_hdr_encode(hdr, pk->machine_id);
	if ((rc = write_all_at(fd, hdr, sizeof(hdr), 0)) != 0) {
		close(fd);
		unlink(path);
		return rc;
	}
	pk->pw.id = pk->next_pack++;
	pk->pw.fd = fd;
	pk->pw.size = PACK_HDR_LEN;
	pk->pw.objects = 0;
	__atomic_add_fetch(&pk->stored, PACK_HDR_LEN, __ATOMIC_RELAXED);
	return 0;
}

/* Move the open pack to the closing list (pk_lock held). */
static int
pack_roll(struct packs *pk)
{
	struct pack_writer *n;

	n = realloc(pk->closing, (pk->nclosing + 1) * sizeof(*n));
	if (n == NULL)
		return -ENOMEM;
	pk->closing = n;
	pk->closing[pk->nclosing++] = pk->pw;
	pk->pw.fd = -1;
	return 0;
}

/*
 * Remember the first I/O error of the packs (pk_lock held) and return
 * it.  Why it must stick: when the kernel fails to write back a page, it
 * marks the page clean (its data is gone from the cache) and reports the
 * error once per open file description (errseq_t, Linux 4.13 and later;
 * PostgreSQL's "fsyncgate").  Our descriptors of a pack are dup()s of
 * one description, so exactly one fdatasync() sees the error and every
 * later one returns 0 although the data never reached the disk.  So the
 * first error is kept here and fails every later append and commit of
 * this store's packs: the index never commits a reference to bytes that
 * may not be on disk, and recovery at the next open cuts the packs back
 * to what the last good commit recorded.  (A write() refused for want
 * of space loses nothing written before and does not come here; an
 * fdatasync() that fails with ENOSPC, as delayed allocation can, does.)
 */
static int
pack_fail(struct packs *pk, uint64_t id, const char *what, int rc)
{
	if (pk->err == 0) {
		bm_log(LOG_ERR, "pack %016" PRIx64 ": %s failed: %s; no commit "
		    "of this store succeeds from now on", id, what,
		    beemo_strerror(rc));
		pk->err = rc;
	}
	return pk->err;
}

int
pack_append(struct packs *pk, const void *obj, size_t len, uint64_t *pack,
    uint64_t *off)
{
	int rc;

	pthread_mutex_lock(&pk->pk_lock);
	if ((rc = pk->err) != 0)
		goto done;
	if (pk->pw.fd < 0 && (rc = pack_new(pk)) != 0)
		goto done;
	rc = write_all_at(pk->pw.fd, obj, len, pk->pw.size);
	if (rc != 0) {
		if (rc == -ENOSPC || rc == -EDQUOT)
			bm_log(LOG_ERR, "pack %016" PRIx64 ": write failed: "
			    "%s", pk->pw.id, beemo_strerror(rc));
		else
			rc = pack_fail(pk, pk->pw.id, "write", rc);
		goto done;
	}
	*pack = pk->pw.id;
	*off = pk->pw.size;
	pk->pw.size += len;
	__atomic_add_fetch(&pk->stored, len, __ATOMIC_RELAXED);
	pk->pw.objects++;
	if (pk->pw.size >= pk->pack_size)
		rc = pack_roll(pk);
done:
	pthread_mutex_unlock(&pk->pk_lock);
	return rc;
}

/* Duplicate the descriptors of every pack with unsynced data (pk_lock
 * held), so that they can be synced without the lock; @ids receives
 * their pack ids.  A descriptor that cannot be duplicated is an error:
 * its pack would go unsynced. */
static int
dup_unsynced(struct packs *pk, int **fds, uint64_t **ids, size_t *n)
{
	size_t i, k = 0, max = pk->nclosing + pk->ncommitting + 1;
	int *v = malloc(max * sizeof(*v));
	uint64_t *id = malloc(max * sizeof(*id));
	int rc = 0;

	if (v == NULL || id == NULL) {
		free(v);
		free(id);
		return -ENOMEM;
	}
	for (i = 0; i < max && rc == 0; i++) {
		const struct pack_writer *w = i < pk->nclosing ?
		    &pk->closing[i] : i - pk->nclosing < pk->ncommitting ?
		    &pk->committing[i - pk->nclosing] : &pk->pw;

		if (w->fd < 0)
			continue;
		if ((v[k] = dup(w->fd)) < 0)
			rc = -errno;
		else
			id[k++] = w->id;
	}
	if (rc != 0) {
		while (k > 0)
			close(v[--k]);
		free(v);
		free(id);
		return rc;
	}
	*fds = v;
	*ids = id;
	*n = k;
	return 0;
}

/* fdatasync and close the descriptors of dup_unsynced(); the first
 * error is made sticky (pack_fail) and returned.  Takes pk_lock to
 * record it. */
static int
sync_fds(struct packs *pk, int *fds, uint64_t *ids, size_t n)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < n; i++) {
		if (fdatasync(fds[i]) != 0 && rc == 0) {
			rc = -errno;
			pthread_mutex_lock(&pk->pk_lock);
			rc = pack_fail(pk, ids[i], "fdatasync", rc);
			pthread_mutex_unlock(&pk->pk_lock);
		}
		close(fds[i]);
	}
	free(fds);
	free(ids);
	return rc;
}

/*
 * pack_presync -- fdatasync every pack with data not yet on disk without
 * holding any lock (duplicated descriptors), so writers go on meanwhile;
 * repeat while much was appended during the last pass.  Called by the
 * committer before it takes the index lock: the bulk of the data reaches
 * the disk outside the lock, and the sync under it is short.
 */
int
pack_presync(struct packs *pk)
{
	int round, rc, *fds;
	uint64_t *ids;
	size_t n;

	for (round = 0; round < 4; round++) {
		uint64_t before = __atomic_load_n(&pk->stored,
		    __ATOMIC_RELAXED);

		pthread_mutex_lock(&pk->pk_lock);
		if ((rc = pk->err) == 0)
			rc = dup_unsynced(pk, &fds, &ids, &n);
		pthread_mutex_unlock(&pk->pk_lock);
		if (rc != 0 || (rc = sync_fds(pk, fds, ids, n)) != 0)
			return rc;
		if (__atomic_load_n(&pk->stored, __ATOMIC_RELAXED) - before <
		    (8U << 20))
			return 0;
	}
	return 0;
}

int
pack_commit_prepare(struct packs *pk, int close_open,
    const struct pack_commit_ops *ops)
{
	struct pack_writer *cl;
	struct pack_rec r;
	uint64_t *ids;
	size_t i, n;
	int rc, *fds;

	/* Report the packs' states, then sync with pk_lock released:
	 * writers may append meanwhile, but nothing they append can be
	 * referenced by this transaction, whose ix_lock the caller holds. */
	pthread_mutex_lock(&pk->pk_lock);
	if ((rc = pk->err) != 0)
		goto unlock;
	if (close_open && pk->pw.fd >= 0 && (rc = pack_roll(pk)) != 0)
		goto unlock;
	for (i = 0; i < pk->nclosing; i++) {
		cl = &pk->closing[i];
		r = (struct pack_rec){PACK_CLOSED, cl->size, cl->objects};
		if ((rc = ops->record(ops->ctx, cl->id, &r)) != 0)
			goto unlock;
	}
	r = (struct pack_rec){PACK_OPEN, pk->pw.size, pk->pw.objects};
	if (pk->pw.fd >= 0 &&
	    (rc = ops->record(ops->ctx, pk->pw.id, &r)) != 0)
		goto unlock;
	if ((rc = ops->next(ops->ctx, pk->next_pack)) != 0)
		goto unlock;
	/* Hand the closing list to pack_commit_done(): packs rolled over
	 * from now on belong to the next commit. */
	n = pk->nclosing;
	pk->committing = pk->closing;
	pk->ncommitting = n;
	pk->closing = NULL;
	pk->nclosing = 0;
	if ((rc = dup_unsynced(pk, &fds, &ids, &n)) != 0)
		goto unlock;
	pthread_mutex_unlock(&pk->pk_lock);
	return sync_fds(pk, fds, ids, n);
unlock:
	pthread_mutex_unlock(&pk->pk_lock);
	return rc;
}

int
pack_finalize(struct packs *pk, uint64_t id)
{
	char from[4096], to[4096];

	if (pack_path(pk, id, 1, from, sizeof(from)) != 0 ||
	    pack_path(pk, id, 0, to, sizeof(to)) != 0)
		return -ENAMETOOLONG;
	if (rename(from, to) != 0)
		return -errno;
	return bm_fsync_dir(to);
}

void
pack_commit_done(struct packs *pk, int committed)
{
	size_t i;

	for (i = 0; i < pk->ncommitting; i++) {
		struct pack_writer *cl = &pk->committing[i];

		close(cl->fd);
		if (!committed)
			continue; /* recovery on the next open renames it */
		if (pack_finalize(pk, cl->id) != 0)
			bm_log(LOG_WARNING, "pack %016" PRIx64 ": cannot "
			    "rename closed pack: %s", cl->id, strerror(errno));
	}
	free(pk->committing);
	pk->committing = NULL;
	pk->ncommitting = 0;
}

void
pack_writer_abort(struct packs *pk)
{
	size_t i;

	for (i = 0; i < pk->nclosing; i++)
		close(pk->closing[i].fd);
	free(pk->closing);
	pk->closing = NULL;
	pk->nclosing = 0;
	if (pk->pw.fd >= 0)
		close(pk->pw.fd);
	pk->pw.fd = -1;
}

void
pack_abandon(struct packs *pk)
{
	pthread_mutex_lock(&pk->pk_lock);
	pack_writer_abort(pk);
	pk->err = 0;
	pthread_mutex_unlock(&pk->pk_lock);
}

void
pack_refuse(struct packs *pk, int err)
{
	pthread_mutex_lock(&pk->pk_lock);
	if (pk->err == 0)
		pk->err = err;
	pthread_mutex_unlock(&pk->pk_lock);
}

uint64_t
pack_next_id(struct packs *pk)
{
	uint64_t id;

	pthread_mutex_lock(&pk->pk_lock);
	id = pk->next_pack;
	pthread_mutex_unlock(&pk->pk_lock);
	return id;
}

void
pack_set_next_id(struct packs *pk, uint64_t id)
{
	pthread_mutex_lock(&pk->pk_lock);
	pk->next_pack = id;
	pthread_mutex_unlock(&pk->pk_lock);
}
