/*
 * store_file.c -- open files: read, write, commit.
 *
 * An `ofile` exists only while an inode has open handles (or a truncate is
 * in progress): memory is proportional to open files, not to files.  It
 * holds the committed content (chunk list, shared with readers) and the
 * pending changes (a wfile).  Its mutex serializes writers and the
 * commit; readers of committed content take a reference and read without
 * it.
 *
 * Commit (file_commit): finish the wfile into a new content, scan it,
 * then in one index step write the content record and the inode's new
 * size and times.  A refused scan drops the new content: the previous
 * version stays current.  A file that never had content and is refused
 * is removed, so that nothing of it is committed.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>

#include "bm_bytes.h"
#include "bm_err.h"
#include "bm_log.h"
#include "store_cache.h"
#include "store_commit.h"
#include "store_cqueue.h"
#include "store_file.h"
#include "store_internal.h"
#include "store_journal.h"
#include "store_ns.h"
#include "store_record.h"
#include "store_snap.h"
#include "store_wfile.h"

#define OF_BUCKETS 4096

/* ---- the table of open files -------------------------------------------- */

struct ofile *
ofile_get(store *st, uint64_t ino, int create)
{
	struct ofile *of;
	size_t b = ino % OF_BUCKETS;

	pthread_mutex_lock(&st->of_lock);
	for (of = st->of_tab[b]; of != NULL; of = of->hnext)
		if (of->ino == ino)
			break;
	if (of == NULL && create && (of = calloc(1, sizeof(*of))) != NULL) {
		of->ino = ino;
		pthread_mutex_init(&of->lock, NULL);
		pthread_cond_init(&of->cv, NULL);
		of->hnext = st->of_tab[b];
		st->of_tab[b] = of;
		st->of_count++;
	}
	if (of != NULL)
		of->refs++;
	pthread_mutex_unlock(&st->of_lock);
	return of;
}

void
ofile_put(store *st, struct ofile *of)
{
	struct ofile **pp;

	pthread_mutex_lock(&st->of_lock);
	/* The last holder commits what nobody else will: a truncate made
	 * while the file was open elsewhere, then only read.  With a single
	 * reference nobody else can hold of->lock or set of->w. */
	while (of->refs == 1 && of->w != NULL) {
		pthread_mutex_unlock(&st->of_lock);
		(void)file_commit(st, of); /* logs and reports its failures */
		pthread_mutex_lock(&st->of_lock);
	}
	if (--of->refs > 0) {
		pthread_mutex_unlock(&st->of_lock);
		return;
	}
	for (pp = &st->of_tab[of->ino % OF_BUCKETS]; *pp != of;
	    pp = &(*pp)->hnext)
		;
	*pp = of->hnext;
	st->of_count--;
	pthread_mutex_unlock(&st->of_lock);
	content_unref(of->content);
	pthread_mutex_destroy(&of->lock);
	pthread_cond_destroy(&of->cv);
	free(of);
}

/* Take of->lock once no background commit of @of is queued: its content
 * is then the committed one (store_cqueue.h). */
static void
ofile_lock(struct ofile *of)
{
	pthread_mutex_lock(&of->lock);
	while (of->queued)
		pthread_cond_wait(&of->cv, &of->lock);
}

/* Load the committed content of @of (of->lock held). */
static int
ofile_load(store *st, struct ofile *of, uint64_t *size)
{
	struct inode in;
	int rc;

	ix_lock(st);
	rc = inode_get(st, of->ino, SEQ_LIVE, &in);
	if (rc == 0 && !S_ISREG(in.mode))
		rc = -EINVAL;
	if (rc == 0 && of->content == NULL && in.content_seq != 0)
		rc = content_get(st, of->ino, in.content_seq, &of->content);
	ix_unlock(st);
	if (rc == 0)
		*size = in.size;
	inode_free(&in);
	return rc;
}

void
file_attr_overlay(store *st, struct store_attr *a)
{
	struct ofile *of;
	struct inode in;
	struct timespec t;

	if (!S_ISREG(a->mode) || (of = ofile_get(st, a->ino, 0)) == NULL)
		return;
	pthread_mutex_lock(&of->lock);
	/* @a was read from the index before of->lock was taken: a commit
	 * may have fallen in between, moving the pending size and times to
	 * the index after @a was read and leaving of->w empty.  What a
	 * commit writes is read again here, under of->lock, which every
	 * commit holds: else the kernel would take the size from before
	 * that commit (a truncate's reply sets it, dropping cached pages
	 * past it). */
	ix_lock(st);
	if (inode_get(st, of->ino, SEQ_LIVE, &in) == 0) {
		a->size = in.size;
		a->blocks = (in.data + 511) / 512;
		a->mtime = in.mtime;
		a->ctime = in.ctime;
		a->version = in.content_seq;
		inode_free(&in);
	}
	ix_unlock(st);
	if (of->w != NULL) {
		a->size = wfile_size(of->w);
		a->blocks = (a->size + 511) / 512;
		if (wfile_mtime(of->w, &t))
			a->mtime = a->ctime = t;
	} else if (of->queued) {
		/* Closed, its commit queued: as written (a commit takes
		 * of->lock to write the index and clear @queued). */
		a->size = of->q_size;
		a->blocks = (a->size + 511) / 512;
		if (of->q_mtime_dirty && !of->q_mtime_explicit)
			a->mtime = a->ctime = of->q_mtime;
	}
	pthread_mutex_unlock(&of->lock);
	ofile_put(st, of);
}

/* ---- the scan source ----------------------------------------------------- */

struct scan_src {
	store *st;
	struct content *c;
};

static ssize_t
scan_pread(void *h, void *buf, size_t len, uint64_t off)
{
	struct scan_src *s = h;

	/* A long scan ends when the session does (store_interrupt()). */
	if (__atomic_load_n(&s->st->interrupted, __ATOMIC_RELAXED))
		return -EINTR;
	return content_read(s->st, s->c, buf, len, off);
}

/* Remove a refused file that never had content (takes ix_lock). */
static void
drop_new_file(store *st, uint64_t ino)
{
	struct inode in;

	ix_lock(st);
	if (inode_get(st, ino, SEQ_LIVE, &in) == 0) {
		if ((in.flags & INODE_F_NEW) && in.nlink == 1 &&
		    dirent_del(st, in.parent, in.name) == 0) {
			struct inode dir;

			uint8_t k[8];

			in.nlink = 0;
			if (inode_get(st, in.parent, SEQ_LIVE, &dir) == 0) {
				clock_gettime(CLOCK_REALTIME, &dir.mtime);
				dir.ctime = dir.mtime;
				inode_put(st, &dir);
				inode_free(&dir);
			}
			inode_put(st, &in);
			ix_meta_add(st, "files", -1);
			bm_be64enc(k, ino);
			ix_put(st, IX_ORPHAN, k, 8, "", 0);
		}
		inode_free(&in);
	}
	ix_unlock(st);
}

/* @c's identity for scan caches (struct store_scan_src's key): SHA-256
 * over each entry's hole flag, length and, for a chunk, id.  On error
 * (no memory) the key is all zeros, which no cache takes. */
static void
content_key(const struct content *c, uint8_t key[32])
{
	EVP_MD_CTX *h = EVP_MD_CTX_new();
	uint8_t len[9];
	uint32_t i;
	int ok;

	memset(key, 0, 32);
	ok = h != NULL && EVP_DigestInit_ex(h, EVP_sha256(), NULL);
	for (i = 0; ok && i < c->n; i++) {
		len[0] = c->c[i].hole;
		bm_be64enc(len + 1, c->c[i].len);
		ok = EVP_DigestUpdate(h, len, sizeof(len)) &&
		    (c->c[i].hole ||
		    EVP_DigestUpdate(h, c->c[i].id, OBJ_ID_LEN));
	}
	if (!ok || !EVP_DigestFinal_ex(h, key, NULL))
		memset(key, 0, 32);
	EVP_MD_CTX_free(h);
}

static int
scan(store *st, struct ofile *of, struct content *c, const uint8_t *mem,
    const char *path, uint8_t *flags)
{
	struct scan_src ss = {st, c};
	struct store_scan_src src = {c->size, scan_pread, &ss, mem, {0}};
	char virus[256], detail[4600];
	int rc;

	*flags = 0;
	/* Only holes (or nothing): zeros, no data to scan. */
	if (st->opts.scan == NULL || content_seek(c, 0, 1) < 0)
		return 0;
	if (st->opts.scan_max != 0 && c->size > st->opts.scan_max) {
		snprintf(detail, sizeof(detail), "%" PRIu64 " bytes, over the "
		    "scan limit of %" PRIu64, c->size, st->opts.scan_max);
		if (st->opts.scan_refuse_big) {
			char what[8800];

			bm_log(LOG_ERR, "%s: refused: %s", path, detail);
			snprintf(what, sizeof(what), "%s refused: %s", path,
			    detail);
			journal_event(st, "error", what, path);
			store_report(st, STORE_EV_COMMIT_FAIL, path, detail);
			return -EFBIG;
		}
		bm_log(LOG_WARNING, "%s: committed without antivirus scan: %s",
		    path, detail);
		store_report(st, STORE_EV_UNSCANNED, path, detail);
		*flags = INODE_F_UNSCANNED;
		return 0;
	}
	virus[0] = '\0';
	content_key(c, src.key);
	rc = st->opts.scan(st->opts.scan_ctx, path, &src, virus, sizeof(virus));
	if (rc == BEEMO_EVIRUS) {
		bm_log(LOG_ERR, "%s: virus %s found: file not backed up", path,
		    virus);
		snprintf(detail, sizeof(detail), "virus %s found in %s: file "
		    "not backed up", virus, path);
		journal_event(st, "virus", detail, path);
		store_report(st, STORE_EV_VIRUS, path, virus);
	} else if (rc != 0) {
		bm_log(LOG_ERR, "%s: antivirus scan failed: %s; file not "
		    "backed up", path, beemo_strerror(rc));
		snprintf(detail, sizeof(detail), "antivirus scan of %s failed: "
		    "%s; file not backed up", path, beemo_strerror(rc));
		journal_event(st, "error", detail, path);
		store_report(st, STORE_EV_COMMIT_FAIL, path, "scan failed");
	}
	(void)of;
	return rc;
}

/*
 * Commit @w, the pending changes of @of taken from it.  With @held,
 * of->lock is held throughout (and stays held); else it is taken only to
 * write the index, and the background commit ends under it: @queued is
 * cleared and the waiters woken.
 */
static int
commit_changes(store *st, struct ofile *of, struct wfile *w, int held)
{
	struct content *c = NULL;
	const uint8_t *mem;
	struct inode in;
	struct timespec mt;
	char path[4096];
	uint8_t flags;
	uint64_t seq = 0;
	int rc, was_new, have_mt;

	if (store_path(st, of->ino, path, sizeof(path)) != 0)
		snprintf(path, sizeof(path), "inode %" PRIu64, of->ino);
	rc = wfile_finish(w, &c, &mem);
	if (rc != 0) {
		char what[4200];

		bm_log(LOG_ERR, "%s: cannot store new content: %s", path,
		    beemo_strerror(rc));
		snprintf(what, sizeof(what), "%s could not be backed up: %s",
		    path, beemo_strerror(rc));
		journal_event(st, "error", what, path);
		store_report(st, STORE_EV_COMMIT_FAIL, path,
		    beemo_strerror(rc));
		goto fail;
	}
	if ((rc = scan(st, of, c, mem, path, &flags)) != 0)
		goto fail;
	if (!held)
		pthread_mutex_lock(&of->lock);
	/* A time set explicitly after the close wins over the writes'. */
	have_mt = wfile_mtime(w, &mt) && (held || !of->q_mtime_explicit);
	ix_lock(st);
	rc = inode_get(st, of->ino, SEQ_LIVE, &in);
	if (rc == 0) {
		if (c->n > 0)
			rc = content_put(st, of->ino, c, &seq);
		was_new = in.flags & INODE_F_NEW;
		in.flags = (uint8_t)((in.flags & ~(INODE_F_NEW |
		    INODE_F_UNSCANNED)) | flags);
		if (in.nlink > 0) /* an orphan left the counters */
			ix_meta_add(st, "bytes", (int64_t)(c->size - in.size));
		in.size = c->size;
		in.data = content_data(c);
		in.content_seq = seq;
		if (have_mt)
			in.mtime = in.ctime = mt;
		if (rc == 0)
			rc = inode_put(st, &in);
		if (rc == 0 && in.nlink > 0) {
			journal_file(st, was_new ? "added" : "changed", path,
			    NULL);
			st->sess.bytes += c->size;
		}
		inode_free(&in);
	}
	ix_unlock(st);
	if (rc != 0) {
		bm_log(LOG_ERR, "%s: cannot commit: %s", path,
		    beemo_strerror(rc));
		if (!held)
			pthread_mutex_unlock(&of->lock);
		goto fail;
	}
	__atomic_add_fetch(&st->st_files, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&st->st_bytes, c->size, __ATOMIC_RELAXED);
	content_unref(of->content);
	of->content = c;
	c = NULL;
	if (!held)
		pthread_mutex_unlock(&of->lock);
fail:
	/* A file that never had content goes entirely when refused; after
	 * its close returned, when not committed at all: not an empty file
	 * under its name, which a rename could put over a name that had a
	 * version. */
	if (rc == BEEMO_EVIRUS || rc == -EFBIG || (rc != 0 && !held))
		drop_new_file(st, of->ino);
	content_unref(c);
	wfile_free(w);
	return rc;
}

int
file_commit(store *st, struct ofile *of)
{
	struct wfile *w;
	int rc;

	ofile_lock(of);
	if ((w = of->w) == NULL) {
		pthread_mutex_unlock(&of->lock);
		return 0;
	}
	of->w = NULL;
	rc = commit_changes(st, of, w, 1);
	pthread_mutex_unlock(&of->lock);
	return rc;
}

int
file_commit_async(store *st, struct ofile *of)
{
	struct wfile *w;
	uint64_t bytes;

	/* Near the quota or the disk's reserve, close() waits: a file whose
	 * chunks are sealed after it returned could find no room, and an
	 * acknowledged version would be lost.  What the queue, the sealing
	 * workers and a file's unsealed writes hold stays well under
	 * CQ_SPACE_MARGIN. */
	if (!cq_active(st) || !store_space_ample(st, CQ_SPACE_MARGIN))
		return file_commit(st, of);
	pthread_mutex_lock(&of->lock);
	/* A queued commit has no pending changes beside it: writes wait
	 * for it (ofile_lock()). */
	if ((w = of->w) == NULL || of->queued) {
		pthread_mutex_unlock(&of->lock);
		return 0;
	}
	of->w = NULL;
	of->wq = w;
	of->queued = 1;
	of->q_size = wfile_size(w);
	of->q_mtime_dirty = wfile_mtime(w, &of->q_mtime);
	of->q_mtime_explicit = 0;
	pthread_mutex_lock(&st->of_lock);
	of->refs++; /* the queue's, dropped by its thread */
	pthread_mutex_unlock(&st->of_lock);
	pthread_mutex_unlock(&of->lock);
	/* What the queued changes may hold in memory: a small file whole
	 * (and its copy for the antivirus), a big one's last chunk. */
	bytes = of->q_size < (4U << 20) ? 2 * of->q_size : (8U << 20);
	cq_push(st, of, bytes + 4096);
	return 0;
}

int
file_wait_queued(store *st, uint64_t ino)
{
	struct ofile *of = ofile_get(st, ino, 0);
	struct inode in;
	int waited, rc = 0;

	if (of == NULL)
		return 0;
	pthread_mutex_lock(&of->lock);
	waited = of->queued;
	while (of->queued)
		pthread_cond_wait(&of->cv, &of->lock);
	pthread_mutex_unlock(&of->lock);
	ofile_put(st, of);
	if (!waited)
		return 0;
	ix_lock(st);
	if ((rc = inode_get(st, ino, SEQ_LIVE, &in)) == 0) {
		if (in.nlink == 0)
			rc = -ENOENT; /* refused, and removed */
		else if (in.flags & INODE_F_NEW)
			rc = -EIO;
		inode_free(&in);
	}
	ix_unlock(st);
	return rc;
}

int
file_commit_queued(store *st, struct ofile *of)
{
	struct wfile *w;
	int rc = 0;

	pthread_mutex_lock(&of->lock);
	w = of->wq;
	of->wq = NULL;
	pthread_mutex_unlock(&of->lock);
	if (w != NULL)
		rc = commit_changes(st, of, w, 0);
	if (rc != 0 && st->opts.commit_failed != NULL)
		st->opts.commit_failed(st->opts.commit_failed_ctx, of->ino);
	pthread_mutex_lock(&of->lock);
	of->queued = 0;
	pthread_cond_broadcast(&of->cv);
	pthread_mutex_unlock(&of->lock);
	return rc;
}

/* ---- handles --------------------------------------------------------------- */

static int
writable(int flags)
{
	return (flags & O_ACCMODE) != O_RDONLY;
}

/* Pending changes of @of, created on first use (of->lock held). */
static int
ofile_wfile(store *st, struct ofile *of)
{
	uint64_t size;
	int rc;

	if (of->w != NULL)
		return 0;
	if ((rc = ofile_load(st, of, &size)) != 0)
		return rc;
	if ((of->w = wfile_new(st, of->content, size)) == NULL)
		return -ENOMEM;
	wfile_keep_plain(of->w, st->opts.scan != NULL);
	return 0;
}

/* Enter @f in the list of open handles (store_release_all()). */
static void
handle_link(store_file *f)
{
	store *st = f->st;

	pthread_mutex_lock(&st->of_lock);
	f->hprev = NULL;
	f->hnext = st->handles;
	if (st->handles != NULL)
		st->handles->hprev = f;
	st->handles = f;
	pthread_mutex_unlock(&st->of_lock);
}

static void
handle_unlink(store_file *f)
{
	store *st = f->st;

	pthread_mutex_lock(&st->of_lock);
	if (f->hprev != NULL)
		f->hprev->hnext = f->hnext;
	else
		st->handles = f->hnext;
	if (f->hnext != NULL)
		f->hnext->hprev = f->hprev;
	pthread_mutex_unlock(&st->of_lock);
}

int
store_open_file(store *st, uint64_t ino, int flags, store_file **out)
{
	store_file *f = calloc(1, sizeof(*f));
	struct inode in;
	uint64_t seq, size;
	int rc;

	if (f == NULL)
		return -ENOMEM;
	f->st = st;
	f->ino = ino;
	f->flags = flags;
	if (ns_hidden(st, ino)) {
		rc = -ENOENT;
		goto fail;
	}
	if (ino_is_snap(ino) || st->opts.rdonly) {
		if (writable(flags) || (flags & O_TRUNC)) {
			rc = -EROFS;
			goto fail;
		}
		if ((rc = view_seq(st, ino, &seq)) != 0)
			goto fail;
		ix_lock(st);
		rc = inode_get(st, ino & STORE_INO_MASK, seq, &in);
		if (rc == 0) {
			if (!S_ISREG(in.mode))
				rc = S_ISDIR(in.mode) ? -EISDIR : -EINVAL;
			else if (in.content_seq != 0)
				rc = content_get(st, ino & STORE_INO_MASK,
				    in.content_seq, &f->snap_content);
			inode_free(&in);
		}
		ix_unlock(st);
		if (rc != 0)
			goto fail;
		handle_link(f);
		*out = f;
		return 0;
	}
	if ((f->of = ofile_get(st, ino, 1)) == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	ofile_lock(f->of);
	rc = ofile_load(st, f->of, &size);
	if (rc == 0 && writable(flags) && (flags & O_TRUNC)) {
		rc = ofile_wfile(st, f->of);
		if (rc == 0)
			rc = wfile_truncate(f->of->w, 0);
	}
	pthread_mutex_unlock(&f->of->lock);
	if (rc != 0) {
		ofile_put(st, f->of);
		goto fail;
	}
	handle_link(f);
	*out = f;
	return 0;
fail:
	free(f);
	return rc;
}

int
store_create_file(store *st, uint64_t parent, const char *name,
    uint32_t mode, const struct store_cred *cr, int flags,
    struct store_attr *attr, store_file **out)
{
	int rc;

	/* Under 1 MiB (one FUSE write) from the hard quota or the disk's
	 * reserve, no new file: the EDQUOT of its writes would reach the
	 * writer only as EIO at close (the kernel's writeback cache reports
	 * errors so). */
	if ((rc = store_space_check(st, 1U << 20, 1)) != 0)
		return rc;
	rc = store_mknod(st, parent, name, S_IFREG | (mode & 07777), 0, cr,
	    attr);
	if (rc != 0)
		return rc;
	return store_open_file(st, attr->ino, flags & ~O_TRUNC, out);
}

ssize_t
store_read(store_file *f, void *buf, size_t size, uint64_t off)
{
	store *st = f->st;
	struct content *c;
	ssize_t n;

	if (f->of == NULL)
		return content_read(st, f->snap_content, buf, size, off);
	ofile_lock(f->of);
	if (f->of->w != NULL) {
		n = wfile_read(f->of->w, buf, size, off);
		pthread_mutex_unlock(&f->of->lock);
		return n;
	}
	c = f->of->content;
	content_ref(c);
	pthread_mutex_unlock(&f->of->lock);
	n = content_read(st, c, buf, size, off);
	content_unref(c);
	return n;
}

ssize_t
store_write(store_file *f, const void *buf, size_t size, uint64_t off)
{
	store *st = f->st;
	int rc, polls;

	if (f->of == NULL || !writable(f->flags))
		return -EBADF;
	if ((rc = store_space_check(st, size, 1)) != 0)
		return rc;
	ofile_lock(f->of);
	rc = ofile_wfile(st, f->of);
	/* Far ahead of a stream: the writes before it are probably on their
	 * way (wfile_hold_back()); let them pass, the lock released. */
	for (polls = 0; rc == 0 && wfile_hold_back(f->of->w, off); polls++) {
		if (polls == WFILE_HOLD_POLLS) {
			wfile_hold_timeout(f->of->w);
			break;
		}
		pthread_mutex_unlock(&f->of->lock);
		wfile_hold_pause();
		ofile_lock(f->of);
		rc = ofile_wfile(st, f->of);
	}
	if (rc == 0)
		rc = wfile_write(f->of->w, buf, size, off);
	pthread_mutex_unlock(&f->of->lock);
	if (rc != 0)
		return rc;
	f->dirty_fd = 1;
	return (ssize_t)size;
}

int64_t
store_lseek(store_file *f, uint64_t off, int whence)
{
	struct content *c;
	int64_t r;
	int data = whence == SEEK_DATA;

	if (whence != SEEK_DATA && whence != SEEK_HOLE)
		return -EINVAL;
	if (f->of == NULL)
		return content_seek(f->snap_content, off, data);
	ofile_lock(f->of);
	if (f->of->w != NULL) {
		r = wfile_seek(f->of->w, off, data);
		pthread_mutex_unlock(&f->of->lock);
		return r;
	}
	c = f->of->content;
	content_ref(c);
	pthread_mutex_unlock(&f->of->lock);
	r = content_seek(c, off, data);
	content_unref(c);
	return r;
}

int
store_flush(store_file *f)
{
	if (f->of == NULL || !writable(f->flags))
		return 0;
	return file_commit_async(f->st, f->of);
}

int
store_fsync(store_file *f)
{
	int rc = 0;

	if (f->of == NULL)
		return 0;
	/* Waits for a background commit of the file, if any. */
	if (writable(f->flags)) {
		rc = file_commit(f->st, f->of);
	} else {
		ofile_lock(f->of);
		pthread_mutex_unlock(&f->of->lock);
	}
	if (rc == 0)
		rc = commit_wait(f->st);
	return rc;
}

int
store_release(store_file *f)
{
	int rc = 0;

	if (f == NULL)
		return 0;
	handle_unlink(f);
	if (f->of != NULL) {
		if (writable(f->flags))
			rc = file_commit_async(f->st, f->of);
		ofile_put(f->st, f->of);
	}
	content_unref(f->snap_content);
	free(f);
	return rc;
}

void
store_release_all(store *st)
{
	store_file *f;

	for (;;) {
		pthread_mutex_lock(&st->of_lock);
		f = st->handles;
		pthread_mutex_unlock(&st->of_lock);
		if (f == NULL)
			break;
		(void)store_release(f); /* logs and reports its failures */
	}
}

int
file_truncate(store *st, uint64_t ino, uint64_t size)
{
	struct ofile *of = ofile_get(st, ino, 1);
	int rc, others;

	if (of == NULL)
		return -ENOMEM;
	ofile_lock(of);
	rc = ofile_wfile(st, of);
	if (rc == 0)
		rc = wfile_truncate(of->w, size);
	pthread_mutex_unlock(&of->lock);
	pthread_mutex_lock(&st->of_lock);
	others = of->refs > 1;
	pthread_mutex_unlock(&st->of_lock);
	/* With the file open elsewhere the change is committed at its
	 * close, with whatever is written after; otherwise now. */
	if (rc == 0 && !others)
		rc = file_commit(st, of);
	ofile_put(st, of);
	return rc;
}

int
file_set_mtime(store *st, uint64_t ino)
{
	struct ofile *of = ofile_get(st, ino, 0);

	if (of == NULL)
		return 0;
	pthread_mutex_lock(&of->lock);
	if (of->w != NULL)
		wfile_set_mtime(of->w, 1);
	else if (of->queued)
		of->q_mtime_explicit = 1;
	pthread_mutex_unlock(&of->lock);
	ofile_put(st, of);
	return 0;
}
