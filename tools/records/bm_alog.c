/*
 * bm_alog.c -- the appliance journal (bm_alog.h).
 *
 * Layout, under STORE/journal (mode 0700):
 *
 *   lock                 flock()ed by a writer for its whole append or
 *                        rotation (appends are short: a few ms)
 *   current.log          the open segment, appended to
 *   <16 hex>.log         closed segments, named by the sequence number of
 *                        their first record; never changed again, pushed
 *                        off-site by beemo-sync (journal/<16 hex>.log)
 *
 * A segment is closed by bm_alog_rotate() (beemo-sync does it before each
 * push), or by the writer before it grows past SEG_MAX (4 MiB, so that
 * beemo-sync sends it as one small object).
 *
 * A segment is a 16-byte header (magic "BMAPJRNL", be32 version 1, four
 * zero bytes) and records:
 *
 *   magic "BMJR" | be32 len (whole record) | be64 seq | be64 time (ns) |
 *   nonce[12] | ciphertext | tag[16]
 *
 * sealed with AES-256-GCM under the journal key, the 36 header bytes as
 * associated data.  The plaintext is the store journal's entry encoding:
 * u8 version (1) | u8 len + type | u16 len + who | u32 len + summary |
 * u32 nfiles | nfiles * (u16 len + path).
 *
 * Sequence numbers count from 1 across segments, so the reader detects a
 * record that was removed (a gap), duplicated or moved (out of order);
 * the tag detects any change of a record.  What no reader can detect
 * alone is the loss of the newest records: the off-site copy is the
 * check for that.
 *
 * Crash safety: a record is written with one pwrite() at the end of the
 * last whole record and fsynced before bm_alog_append() returns.  A crash
 * in the middle of it leaves a torn record at the end of current.log; the
 * next writer cuts it off (logged) and readers skip it (logged).  A
 * rotation is one rename() and an fsync of the directory.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bm_alog.h"
#include "bm_bytes.h"
#include "bm_err.h"
#include "bm_file.h"
#include "bm_gcm.h"
#include "bm_jentry.h"
#include "bm_log.h"
#include "bm_time.h"

#define SEG_MAGIC "BMAPJRNL"
#define SEG_VERSION 1
#define SEG_HDR 16
#define REC_MAGIC "BMJR"
#define REC_HDR 36
#define REC_TAG 16
#define REC_MAX (1U << 20)
#define CURRENT "current.log"
#define SEG_MAX (4U << 20) /* rotate before a segment grows past this */

/* ---- sealing -------------------------------------------------------- */

/* AES-256-GCM of @n bytes, header @hdr (REC_HDR bytes, nonce inside) as
 * associated data.  @enc: seal @in into @out and write the tag after
 * it; else open @in (tag after it) into @out.  Returns 0, -EBADMSG, or
 * -EIO. */
static int
gcm(int enc, const uint8_t key[32], const uint8_t *hdr, const uint8_t *in,
    size_t n, uint8_t *out)
{
	return bm_gcm(enc, key, hdr + 24, hdr, REC_HDR, NULL, 0, in, n, out);
}

/* ---- segments ------------------------------------------------------- */

static int
dir_of(const char *store, char *buf, size_t size)
{
	return bm_path(buf, size, "%s/journal", store);
}

static int
is_segment(const char *name)
{
	size_t i;

	if (strlen(name) != 20 || strcmp(name + 16, ".log") != 0)
		return 0;
	for (i = 0; i < 16; i++)
		if (!((name[i] >= '0' && name[i] <= '9') ||
		    (name[i] >= 'a' && name[i] <= 'f')))
			return 0;
	return 1;
}

/* Closed segment names, sorted (so by first sequence number). */
static int
segments(const char *dir, char ***out, size_t *n)
{
	return bm_list_dir(dir, is_segment, out, n);
}

static int
read_at(int fd, void *buf, size_t n, uint64_t off)
{
	ssize_t r = pread(fd, buf, n, (off_t)off);

	if (r < 0)
		return -errno;
	return (size_t)r == n ? 0 : -ENODATA;
}

/* A well-formed record header at @off of a file of @size bytes? */
static int
rec_header(int fd, uint64_t off, uint64_t size, uint8_t hdr[REC_HDR],
    uint32_t *len)
{
	int rc;

	if (size - off < REC_HDR)
		return -ENODATA;
	if ((rc = read_at(fd, hdr, REC_HDR, off)) != 0)
		return rc;
	*len = bm_be32dec(hdr + 4);
	if (memcmp(hdr, REC_MAGIC, 4) != 0 || *len < REC_HDR + REC_TAG + 2 ||
	    *len > REC_MAX)
		return BEEMO_EFORMAT;
	return *len > size - off ? -ENODATA : 0;
}

/*
 * Walk the record headers of segment @fd: @end receives the offset after
 * the last whole record, @first and @last their sequence numbers (0 when
 * none).  Returns 0 (what follows @end, if anything, is torn), or
 * BEEMO_EFORMAT (not a segment), or a negative errno.
 */
static int
walk(int fd, uint64_t *end, uint64_t *first, uint64_t *last)
{
	uint8_t hdr[REC_HDR];
	struct stat st;
	uint64_t off = SEG_HDR;
	uint32_t len;
	int rc;

	*first = *last = 0;
	*end = SEG_HDR;
	if (fstat(fd, &st) != 0)
		return -errno;
	if ((uint64_t)st.st_size < SEG_HDR ||
	    read_at(fd, hdr, SEG_HDR, 0) != 0 ||
	    memcmp(hdr, SEG_MAGIC, 8) != 0)
		return BEEMO_EFORMAT;
	if (bm_be32dec(hdr + 8) != SEG_VERSION)
		return BEEMO_EVERSION;
	while ((rc = rec_header(fd, off, (uint64_t)st.st_size, hdr,
	    &len)) == 0) {
		*last = bm_be64dec(hdr + 8);
		if (*first == 0)
			*first = *last;
		off += len;
	}
	*end = off;
	return rc == -ENODATA || rc == BEEMO_EFORMAT ? 0 : rc;
}

/* The last sequence number of the newest closed segment (0: none). */
static int
last_closed_seq(const char *dir, uint64_t *seq)
{
	char **v, path[4200];
	size_t n;
	uint64_t end, first;
	int fd, rc;

	*seq = 0;
	if ((rc = segments(dir, &v, &n)) != 0)
		return rc;
	while (n > 0 && *seq == 0) {
		if ((rc = bm_path(path, sizeof(path), "%s/%s", dir,
		    v[n - 1])) != 0)
			break;
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
			rc = -errno;
			break;
		}
		rc = walk(fd, &end, &first, seq);
		close(fd);
		if (rc != 0)
			break;
		free(v[--n]);
	}
	bm_names_free(v, n);
	return rc;
}

/* Take STORE/journal/lock; *@fd holds it. */
static int
lock(const char *dir, int *fd)
{
	char path[4200];
	int rc;

	if ((rc = bm_mkdir_p(dir, 0700)) != 0 ||
	    (rc = bm_path(path, sizeof(path), "%s/lock", dir)) != 0)
		return rc;
	if ((*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
		return -errno;
	while (flock(*fd, LOCK_EX) != 0) {
		if (errno != EINTR) {
			rc = -errno;
			close(*fd);
			return rc;
		}
	}
	return 0;
}

/*
 * Open current.log for appending (lock held): create it with its
 * header, or cut a torn record off its end.  @end receives where the
 * next record goes, @last the sequence number before it.
 */
static int
open_current(const char *dir, int *out, uint64_t *end, uint64_t *last)
{
	char path[4200];
	uint8_t hdr[SEG_HDR];
	uint64_t first;
	struct stat st;
	int fd, rc;

	if ((rc = bm_path(path, sizeof(path), "%s/" CURRENT, dir)) != 0)
		return rc;
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
		return -errno;
	if (fstat(fd, &st) != 0) {
		rc = -errno;
		goto fail;
	}
	if (st.st_size < SEG_HDR) {
		/* New, or a crash before its header was whole. */
		memset(hdr, 0, sizeof(hdr));
		memcpy(hdr, SEG_MAGIC, 8);
		bm_be32enc(hdr + 8, SEG_VERSION);
		if (ftruncate(fd, 0) != 0 ||
		    pwrite(fd, hdr, SEG_HDR, 0) != SEG_HDR || fsync(fd) != 0 ||
		    (rc = bm_fsync_dir(path)) != 0) {
			rc = rc ? rc : -errno;
			goto fail;
		}
		st.st_size = SEG_HDR;
	}
	if ((rc = walk(fd, end, &first, last)) != 0) {
		bm_log(LOG_ERR, "%s: not an appliance journal segment: %s",
		    path, beemo_strerror(rc));
		goto fail;
	}
	if (*end != (uint64_t)st.st_size) {
		bm_log(LOG_WARNING, "%s: cutting off %llu bytes of a record "
		    "torn by a crash", path,
		    (unsigned long long)((uint64_t)st.st_size - *end));
		if (ftruncate(fd, (off_t)*end) != 0) {
			rc = -errno;
			goto fail;
		}
	}
	if (*last == 0 && (rc = last_closed_seq(dir, last)) != 0)
		goto fail;
	*out = fd;
	return 0;

fail:
	close(fd);
	return rc;
}

static int rotate_locked(const char *dir);

int
bm_alog_append(const char *store, const uint8_t key[32],
    const struct bm_alog_entry *e)
{
	char dir[4096];
	uint8_t *plain = NULL, *rec = NULL;
	size_t plen = 0, rlen;
	uint64_t end, last;
	int lockfd = -1, fd = -1, rc;

	if (e->type == NULL)
		return -EINVAL;
	if ((rc = dir_of(store, dir, sizeof(dir))) != 0 ||
	    (rc = bm_jentry_encode(e->type, e->who, e->summary, e->files,
	    e->nfiles, &plain, &plen)) != 0)
		return rc;
	if (plen > REC_MAX - REC_HDR - REC_TAG) {
		free(plain);
		return -EFBIG;
	}
	rlen = REC_HDR + plen + REC_TAG;
	if ((rec = malloc(rlen)) == NULL) {
		rc = -ENOMEM;
		goto out_plain;
	}
	if ((rc = lock(dir, &lockfd)) != 0)
		goto out_rec;
	if ((rc = open_current(dir, &fd, &end, &last)) != 0)
		goto out_lock;
	if (end + rlen > SEG_MAX && end > SEG_HDR) {
		/* Segments stay small enough to push as one object. */
		close(fd);
		if ((rc = rotate_locked(dir)) != 0 ||
		    (rc = open_current(dir, &fd, &end, &last)) != 0)
			goto out_lock;
	}
	memcpy(rec, REC_MAGIC, 4);
	bm_be32enc(rec + 4, (uint32_t)rlen);
	bm_be64enc(rec + 8, last + 1);
	bm_be64enc(rec + 16, e->time ? e->time : bm_now_ns());
	if (getrandom(rec + 24, 12, 0) != 12) {
		rc = -EIO;
		goto out_fd;
	}
	if ((rc = gcm(1, key, rec, plain, plen, rec + REC_HDR)) != 0)
		goto out_fd;
	{
		ssize_t w = pwrite(fd, rec, rlen, (off_t)end);

		if (w != (ssize_t)rlen || fdatasync(fd) != 0) {
			rc = w >= 0 && w < (ssize_t)rlen ? -EIO : -errno;
			/* Leave no torn record for the next writer. */
			if (ftruncate(fd, (off_t)end) != 0)
				bm_log(LOG_WARNING, "%s/" CURRENT ": a torn "
				    "record stays until the next append",
				    dir);
		}
	}
out_fd:
	close(fd);
out_lock:
	close(lockfd);
out_rec:
	free(rec);
out_plain:
	OPENSSL_cleanse(plain, plen);
	free(plain);
	return rc;
}

/* Close current.log (the lock held) if it holds records. */
static int
rotate_locked(const char *dir)
{
	char cur[4200], seg[4200];
	uint64_t end, first, last;
	int fd, rc;

	if ((rc = bm_path(cur, sizeof(cur), "%s/" CURRENT, dir)) != 0)
		return rc;
	if ((fd = open(cur, O_RDWR | O_CLOEXEC)) < 0)
		return errno == ENOENT ? 0 : -errno;
	rc = walk(fd, &end, &first, &last);
	/* A closed segment holds whole records only. */
	if (rc == 0 && first != 0 && ftruncate(fd, (off_t)end) != 0)
		rc = -errno;
	close(fd);
	if (rc != 0 || first == 0)
		return rc;
	if ((rc = bm_path(seg, sizeof(seg), "%s/%016llx.log", dir,
	    (unsigned long long)first)) != 0)
		return rc;
	if (access(seg, F_OK) == 0) {
		bm_log(LOG_ERR, "%s exists: the appliance journal cannot be "
		    "rotated", seg);
		return -EEXIST; /* never replace a closed segment */
	}
	if (rename(cur, seg) != 0)
		return -errno;
	return bm_fsync_dir(seg);
}

int
bm_alog_rotate(const char *store)
{
	char dir[4096], cur[4200];
	int lockfd, rc;

	if ((rc = dir_of(store, dir, sizeof(dir))) != 0 ||
	    (rc = bm_path(cur, sizeof(cur), "%s/" CURRENT, dir)) != 0)
		return rc;
	if (access(cur, F_OK) != 0)
		return 0;
	if ((rc = lock(dir, &lockfd)) != 0)
		return rc;
	rc = rotate_locked(dir);
	close(lockfd);
	return rc;
}

/* ---- reading -------------------------------------------------------- */

struct lister {
	const uint8_t *key;
	uint64_t since;
	const char *type;
	bm_alog_fn fn;
	void *ctx;
	uint64_t expect; /* next sequence number, 0: any */
	int bad, stop;
};

/* Sequence numbers must follow each other: a gap is records removed
 * (or a segment missing), a step back a record moved or copied. */
static void
check_seq(struct lister *l, const char *path, uint64_t seq)
{
	if (l->expect != 0 && seq > l->expect) {
		bm_log(LOG_ERR, "%s: records %llu to %llu of the appliance "
		    "journal are missing", path,
		    (unsigned long long)l->expect,
		    (unsigned long long)(seq - 1));
		l->bad = 1;
	} else if (l->expect != 0 && seq < l->expect) {
		bm_log(LOG_ERR, "%s: record %llu is out of order (after "
		    "%llu)", path, (unsigned long long)seq,
		    (unsigned long long)(l->expect - 1));
		l->bad = 1;
	}
	if (seq >= l->expect)
		l->expect = seq + 1;
}

static int
list_segment(struct lister *l, const char *path, int open_one)
{
	uint8_t hdr[SEG_HDR], *rec = NULL, *plain = NULL;
	struct stat st;
	uint64_t off = SEG_HDR;
	int fd, rc = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return errno == ENOENT && open_one ? 0 : -errno;
	if (fstat(fd, &st) != 0 || (uint64_t)st.st_size < SEG_HDR ||
	    read_at(fd, hdr, SEG_HDR, 0) != 0 ||
	    memcmp(hdr, SEG_MAGIC, 8) != 0 ||
	    bm_be32dec(hdr + 8) != SEG_VERSION) {
		bm_log(LOG_ERR, "%s: not an appliance journal segment", path);
		l->bad = 1;
		goto out;
	}
	rec = malloc(REC_MAX);
	plain = malloc(REC_MAX);
	if (rec == NULL || plain == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	while (!l->stop && off < (uint64_t)st.st_size) {
		struct bm_jentry d;
		struct bm_alog_entry e;
		uint32_t len;
		uint64_t seq;
		size_t n;

		rc = rec_header(fd, off, (uint64_t)st.st_size, rec, &len);
		if (rc != 0) {
			bm_log(open_one ? LOG_WARNING : LOG_ERR, "%s: %llu "
			    "bytes at offset %llu are not a whole record%s",
			    path, (unsigned long long)((uint64_t)st.st_size -
			    off), (unsigned long long)off, open_one ?
			    " (torn by a crash; cut off at the next append)" :
			    "");
			l->bad |= !open_one;
			rc = rc == -ENODATA || rc == BEEMO_EFORMAT ? 0 : rc;
			break;
		}
		if ((rc = read_at(fd, rec, len, off)) != 0)
			break;
		seq = bm_be64dec(rec + 8);
		n = len - REC_HDR - REC_TAG;
		if (gcm(0, l->key, rec, rec + REC_HDR, n, plain) != 0) {
			bm_log(LOG_ERR, "%s: record %llu at offset %llu fails "
			    "authentication (damaged or tampered)", path,
			    (unsigned long long)seq, (unsigned long long)off);
			l->bad = 1;
			off += len;
			continue;
		}
		check_seq(l, path, seq);
		off += len;
		if ((rc = bm_jentry_decode(plain, n, &d)) != 0) {
			bm_jentry_free(&d);
			OPENSSL_cleanse(plain, n);
			bm_log(LOG_ERR, "%s: record %llu is malformed", path,
			    (unsigned long long)seq);
			l->bad = 1;
			rc = 0;
			continue;
		}
		e.seq = seq;
		e.time = bm_be64dec(rec + 16);
		e.type = d.type;
		e.who = d.who;
		e.summary = d.summary;
		e.files = d.files;
		e.nfiles = d.nfiles;
		if (e.time >= l->since &&
		    (l->type == NULL || strcmp(l->type, e.type) == 0))
			l->stop = l->fn(l->ctx, &e) != 0;
		bm_jentry_free(&d);
		OPENSSL_cleanse(plain, n);
	}
out:
	free(rec);
	free(plain);
	close(fd);
	return rc;
}

int
bm_alog_list(const char *store, const uint8_t key[32], uint64_t since,
    const char *type, bm_alog_fn fn, void *ctx)
{
	struct lister l = {key, since, type, fn, ctx, 0, 0, 0};
	char dir[4096], path[4200], **v = NULL;
	size_t n = 0, i;
	int rc;

	if ((rc = dir_of(store, dir, sizeof(dir))) != 0 ||
	    (rc = segments(dir, &v, &n)) != 0)
		return rc;
	for (i = 0; rc == 0 && !l.stop && i <= n; i++) {
		if ((rc = bm_path(path, sizeof(path), "%s/%s", dir,
		    i < n ? v[i] : CURRENT)) != 0)
			break;
		rc = list_segment(&l, path, i == n);
	}
	bm_names_free(v, n);
	if (rc == 0 && l.bad)
		rc = -EBADMSG;
	return rc;
}
