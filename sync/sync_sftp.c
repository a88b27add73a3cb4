/*
 * sync_sftp.c -- the SFTP file operations of a connection opened by
 * sync_ssh.c: confinement of every remote path below ROOT, stat,
 * unlink, listing, and pipelined uploads (temporary name, check,
 * rename) and downloads.
 *
 * libssh2 (1.10) pipelines SFTP writes only within one call: a call to
 * libssh2_sftp_write() cuts the part of the buffer not yet sent into
 * 30,000-byte SSH_FXP_WRITE packets, sends what the channel window
 * allows, and returns as soon as the first packet is acknowledged; the
 * caller must pass the unacknowledged bytes again, at the same place,
 * in the next call.  So an upload hands libssh2 a window of up to
 * SYNC_BLOCK bytes starting at the first unacknowledged byte, straight
 * from the source: a memory buffer, or the pack file mapped read-only
 * (no read and no copy on our side; this libssh2 already spends about
 * twice OpenSSH's CPU per byte, encrypting 16 bytes per EVP call).
 * Reads use the read-ahead of libssh2_sftp_read(), four times the
 * buffer passed.
 *
 * Errors are mapped by sync_conn_fail() (sync_ssh.h): an SFTP status is
 * an error of the operation, anything else breaks the connection.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <libssh2.h>
#include <libssh2_sftp.h>
#include <openssl/evp.h>

#include "bm_err.h"
#include "bm_file.h"
#include "bm_log.h"
#include "sync.h"
#include "sync_ssh.h"

/* ---- confinement --------------------------------------------------- */

/* A relative path of non-empty components, none "." or "..". */
static int
rel_ok(const char *rel)
{
	const char *s = rel;

	if (*rel == '/')
		return 0;
	while (*s != '\0') {
		size_t n = strcspn(s, "/");

		if (n == 0 || (n == 1 && s[0] == '.') ||
		    (n == 2 && s[0] == '.' && s[1] == '.'))
			return 0;
		s += n;
		if (*s == '/' && *++s == '\0')
			return 0;
	}
	return 1;
}

static int
full_path(const sync_conn *c, const char *rel, char *buf, size_t size)
{
	if (!rel_ok(rel)) {
		sync_log(LOG_ERR, "target %s: refusing remote path '%s'",
		    c->t->name, rel);
		return -EINVAL;
	}
	if (*rel == '\0')
		return bm_path(buf, size, "%s", c->root);
	return bm_path(buf, size, "%s%s%s", c->root,
	    c->rootlen == 1 ? "" : "/", rel);
}

static int
inside_root(const sync_conn *c, const char *p)
{
	if (c->rootlen == 1)
		return p[0] == '/';
	return strncmp(p, c->root, c->rootlen) == 0 &&
	    (p[c->rootlen] == '\0' || p[c->rootlen] == '/');
}

/*
 * lstat @full; if it is a link, follow it only when its realpath is
 * inside ROOT (else -ELOOP, logged).  @a receives the final attributes.
 */
static int
confined_stat(sync_conn *c, const char *full, LIBSSH2_SFTP_ATTRIBUTES *a)
{
	char real[4096];
	int n;

	if (libssh2_sftp_lstat(c->sftp, full, a) != 0)
		return sync_conn_fail(c, "lstat", full, SYNC_QUIET_ENOENT);
	if (!(a->flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) ||
	    !LIBSSH2_SFTP_S_ISLNK(a->permissions))
		return 0;
	n = libssh2_sftp_realpath(c->sftp, full, real, sizeof(real) - 1);
	if (n <= 0)
		return sync_conn_fail(c, "realpath", full, SYNC_QUIET_ENOENT);
	real[n] = '\0';
	if (!inside_root(c, real)) {
		sync_log(LOG_ERR, "target %s: %s is a symbolic link to %s, "
		    "outside %s; refusing to follow it", c->t->name, full,
		    real, c->root);
		return -ELOOP;
	}
	if (libssh2_sftp_stat(c->sftp, real, a) != 0)
		return sync_conn_fail(c, "stat", real, SYNC_QUIET_ENOENT);
	return 0;
}

static int
dir_known(const sync_conn *c, const char *rel, size_t *pos)
{
	size_t lo = 0, hi = c->ndirs;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int r = strcmp(c->dirs[mid], rel);

		if (r == 0)
			return 1;
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*pos = lo;
	return 0;
}

static int
dir_remember(sync_conn *c, const char *rel, size_t pos)
{
	char *s;

	if (c->ndirs == c->capdirs) {
		size_t nc = c->capdirs ? c->capdirs * 2 : 64;
		char **nd = realloc(c->dirs, nc * sizeof(*nd));

		if (nd == NULL)
			return -ENOMEM;
		c->dirs = nd;
		c->capdirs = nc;
	}
	if ((s = strdup(rel)) == NULL)
		return -ENOMEM;
	memmove(c->dirs + pos + 1, c->dirs + pos,
	    (c->ndirs - pos) * sizeof(*c->dirs));
	c->dirs[pos] = s;
	c->ndirs++;
	return 0;
}

/*
 * Make sure every component of directory @rel is a directory inside
 * ROOT, creating missing ones when @create.  Returns 0, -ENOENT (a
 * component is missing and !@create), -ELOOP, -ENOTDIR, or an error.
 */
static int
confined_dir(sync_conn *c, const char *rel, int create)
{
	char sub[1024], full[4096];
	size_t pos, i, len = strlen(rel);
	int rc;

	if (len >= sizeof(sub))
		return -ENAMETOOLONG;
	for (i = 0; i <= len; i++) {
		LIBSSH2_SFTP_ATTRIBUTES a;

		if (i < len && rel[i] != '/')
			continue;
		memcpy(sub, rel, i);
		sub[i] = '\0';
		if (i == 0 || dir_known(c, sub, &pos))
			continue;
		if ((rc = full_path(c, sub, full, sizeof(full))) != 0)
			return rc;
		rc = confined_stat(c, full, &a);
		if (rc == -ENOENT && create) {
			if (libssh2_sftp_mkdir(c->sftp, full, 0700) != 0) {
				/* Another connection may have made it. */
				rc = sync_conn_fail(c, "mkdir", full,
				    SYNC_QUIET_STATUS);
				if (rc == -ECONNRESET || rc == -ETIMEDOUT)
					return rc;
			}
			rc = confined_stat(c, full, &a);
		}
		if (rc != 0)
			return rc;
		if (!LIBSSH2_SFTP_S_ISDIR(a.permissions)) {
			sync_log(LOG_ERR, "target %s: %s is not a directory",
			    c->t->name, full);
			return -ENOTDIR;
		}
		if ((rc = dir_remember(c, sub, pos)) != 0)
			return rc;
	}
	return 0;
}

static int
parent_dir(const char *rel, char *buf, size_t size)
{
	const char *slash = strrchr(rel, '/');
	size_t n = slash ? (size_t)(slash - rel) : 0;

	if (n >= size)
		return -ENAMETOOLONG;
	memcpy(buf, rel, n);
	buf[n] = '\0';
	return 0;
}

int
sync_remote_stat(sync_conn *c, const char *path, uint64_t *size)
{
	LIBSSH2_SFTP_ATTRIBUTES a;
	char dir[1024], full[4096];
	int rc;

	if (c->broken)
		return -ECONNRESET;
	if ((rc = parent_dir(path, dir, sizeof(dir))) != 0 ||
	    (rc = confined_dir(c, dir, 0)) != 0 ||
	    (rc = full_path(c, path, full, sizeof(full))) != 0 ||
	    (rc = confined_stat(c, full, &a)) != 0)
		return rc;
	if (!LIBSSH2_SFTP_S_ISREG(a.permissions))
		return -EINVAL;
	*size = a.filesize;
	return 0;
}

int
sync_remote_unlink(sync_conn *c, const char *path)
{
	char full[4096];
	int rc;

	if (c->broken)
		return -ECONNRESET;
	if ((rc = full_path(c, path, full, sizeof(full))) != 0)
		return rc;
	if (libssh2_sftp_unlink(c->sftp, full) != 0)
		return sync_conn_fail(c, "unlink", full, SYNC_QUIET_ENOENT);
	return 0;
}

/* ---- listing ------------------------------------------------------- */

static int
rlist_add(struct sync_rlist *l, const char *dir, const char *name,
    uint64_t size, uint64_t mtime, int isreg)
{
	struct sync_rent *e;

	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 256;

		e = realloc(l->v, nc * sizeof(*e));
		if (e == NULL)
			return -ENOMEM;
		l->v = e;
		l->cap = nc;
	}
	e = &l->v[l->n];
	if (asprintf(&e->path, "%s%s%s", dir, *dir ? "/" : "", name) < 0)
		return -ENOMEM;
	e->size = size;
	e->mtime = mtime;
	e->isreg = isreg;
	l->n++;
	l->sorted = 0;
	return 0;
}

int
sync_remote_list(sync_conn *c, const char *dir, struct sync_rlist *l)
{
	LIBSSH2_SFTP_HANDLE *h;
	LIBSSH2_SFTP_ATTRIBUTES a;
	char full[4096], name[512];
	int rc, n;

	if (c->broken)
		return -ECONNRESET;
	rc = confined_dir(c, dir, 0);
	if (rc == -ENOENT)
		return 0;
	if (rc != 0)
		return rc;
	if ((rc = full_path(c, dir, full, sizeof(full))) != 0)
		return rc;
	if ((h = libssh2_sftp_opendir(c->sftp, full)) == NULL)
		return sync_conn_fail(c, "opendir", full, 0);
	while ((n = libssh2_sftp_readdir(h, name, sizeof(name), &a)) > 0) {
		int isreg;

		if (!strcmp(name, ".") || !strcmp(name, ".."))
			continue;
		if ((size_t)n >= sizeof(name) - 1 || strchr(name, '/'))
			continue; /* not one of ours */
		if (!(a.flags & LIBSSH2_SFTP_ATTR_PERMISSIONS)) {
			rc = BEEMO_EREMOTE;
			sync_log(LOG_ERR, "target %s: %s/%s: the server gave "
			    "no file type", c->t->name, full, name);
			break;
		}
		if (LIBSSH2_SFTP_S_ISLNK(a.permissions)) {
			char lfull[4096];

			if ((rc = bm_path(lfull, sizeof(lfull), "%s/%s", full,
			    name)) != 0 ||
			    (rc = confined_stat(c, lfull, &a)) != 0)
				break;
		}
		isreg = LIBSSH2_SFTP_S_ISREG(a.permissions);
		if ((rc = rlist_add(l, dir, name, isreg ? a.filesize : 0,
		    (a.flags & LIBSSH2_SFTP_ATTR_ACMODTIME) ? a.mtime : 0,
		    isreg)) != 0)
			break;
	}
	if (n < 0 && rc == 0)
		rc = sync_conn_fail(c, "readdir", full, 0);
	libssh2_sftp_closedir(h);
	return rc;
}

static int
rent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct sync_rent *)a)->path,
	    ((const struct sync_rent *)b)->path);
}

const struct sync_rent *
sync_rlist_find(struct sync_rlist *l, const char *path)
{
	struct sync_rent key;

	if (!l->sorted) {
		if (l->n > 1)
			qsort(l->v, l->n, sizeof(*l->v), rent_cmp);
		l->sorted = 1;
	}
	key.path = (char *)path;
	return l->n ? bsearch(&key, l->v, l->n, sizeof(*l->v), rent_cmp) :
	    NULL;
}

void
sync_rlist_free(struct sync_rlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i].path);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* ---- transfers ----------------------------------------------------- */

static int
conn_buf(sync_conn *c)
{
	if (c->buf == NULL && (c->buf = malloc(SYNC_READ)) == NULL)
		return -ENOMEM;
	return 0;
}

static void
account(const struct sync_io *io, uint64_t n)
{
	if (io != NULL && io->pr != NULL)
		bm_progress_add(io->pr, n, 0);
}

/*
 * Write the @size bytes at @base to the open handle @h; hash them into
 * @md unless it is NULL.  [acked, handed) is the window handed to
 * libssh2 and not yet acknowledged; it grows by SYNC_READ at a time up
 * to SYNC_BLOCK, which is when bytes are hashed and charged to the
 * bandwidth limit.
 */
static int
put_data(sync_conn *c, LIBSSH2_SFTP_HANDLE *h, const char *full,
    const uint8_t *base, uint64_t size, const struct sync_io *io,
    EVP_MD_CTX *md)
{
	uint64_t acked = 0, handed = 0;

	while (acked < size) {
		ssize_t n;

		if (handed - acked < SYNC_BLOCK && handed < size) {
			uint64_t want = size - handed;

			if (want > SYNC_READ)
				want = SYNC_READ;
			if (io != NULL && io->bw != NULL)
				sync_bw_take(io->bw, want);
			if (md != NULL)
				EVP_DigestUpdate(md, base + handed,
				    (size_t)want);
			handed += want;
		}
		n = libssh2_sftp_write(h, (const char *)base + acked,
		    (size_t)(handed - acked));
		if (n < 0)
			return sync_conn_fail(c, "write", full, 0);
		acked += (uint64_t)n;
		account(io, (uint64_t)n);
	}
	return 0;
}

/* The bytes of @src: its buffer, or its file mapped read-only (packs are
 * immutable once closed; a mapping saves a copy per byte).  Returns 0
 * or a negative errno; unmap with src_unmap(). */
static int
src_map(const struct sync_src *src, const uint8_t **out)
{
	void *m;

	if (src->mem != NULL || src->size == 0) {
		*out = src->mem ? src->mem : (const uint8_t *)"";
		return 0;
	}
	m = mmap(NULL, (size_t)src->size, PROT_READ, MAP_SHARED, src->fd, 0);
	if (m == MAP_FAILED)
		return -errno;
	(void)madvise(m, (size_t)src->size, MADV_SEQUENTIAL);
	*out = m;
	return 0;
}

static void
src_unmap(const struct sync_src *src, const uint8_t *p)
{
	if (src->mem == NULL && src->size > 0)
		munmap((void *)p, (size_t)src->size);
}

/* Upload to the temporary @tmp, check it, rename it to @full. */
static int
put_tmp(sync_conn *c, const char *tmp, const char *full,
    const struct sync_src *src, const struct sync_io *io, EVP_MD_CTX *md)
{
	LIBSSH2_SFTP_HANDLE *h;
	LIBSSH2_SFTP_ATTRIBUTES a;
	const uint8_t *base = NULL;
	int rc, tries;

	for (tries = 0;; tries++) {
		h = libssh2_sftp_open_ex(c->sftp, tmp, (unsigned)strlen(tmp),
		    LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_EXCL,
		    0600, LIBSSH2_SFTP_OPENFILE);
		if (h != NULL)
			break;
		rc = sync_conn_fail(c, "create", tmp,
		    tries == 0 ? SYNC_QUIET_STATUS : 0);
		if (c->broken || tries > 0)
			return rc;
		/* A stale temporary of ours (with O_EXCL, a link there is
		 * never followed): remove it and try once more. */
		if (libssh2_sftp_unlink(c->sftp, tmp) != 0 &&
		    (rc = sync_conn_fail(c, "unlink", tmp,
		    SYNC_QUIET_ENOENT)) != -ENOENT)
			return rc;
	}
	if ((rc = src_map(src, &base)) != 0) {
		sync_log(LOG_ERR, "target %s: cannot map the local copy of "
		    "%s: %s", c->t->name, full, beemo_strerror(rc));
	} else {
		rc = put_data(c, h, full, base, src->size, io, md);
		src_unmap(src, base);
	}
	if (rc == 0 && libssh2_sftp_fsync(h) != 0) {
		rc = sync_conn_fail(c, "fsync", tmp, SYNC_QUIET_STATUS);
		if (rc == -EOPNOTSUPP)
			rc = 0; /* the server has no fsync@openssh.com */
		else if (!c->broken)
			sync_log(LOG_ERR, "target %s: fsync %s failed: %s",
			    c->t->name, tmp, beemo_strerror(rc));
	}
	if (c->broken) {
		libssh2_sftp_close(h); /* frees it */
		return rc ? rc : -ECONNRESET;
	}
	if (libssh2_sftp_close(h) != 0 && rc == 0)
		rc = sync_conn_fail(c, "close", tmp, 0);
	if (rc != 0)
		goto fail_unlink;
	if (libssh2_sftp_lstat(c->sftp, tmp, &a) != 0) {
		rc = sync_conn_fail(c, "lstat", tmp, 0);
		goto fail_unlink;
	}
	if (!LIBSSH2_SFTP_S_ISREG(a.permissions) || a.filesize != src->size) {
		sync_log(LOG_ERR, "target %s: %s has %llu bytes after upload, "
		    "expected %llu", c->t->name, tmp,
		    (unsigned long long)a.filesize,
		    (unsigned long long)src->size);
		rc = BEEMO_EREMOTE;
		goto fail_unlink;
	}
	/* SFTP v3 rename (OpenSSH: link + unlink) never replaces @full. */
	if (libssh2_sftp_rename_ex(c->sftp, tmp, (unsigned)strlen(tmp), full,
	    (unsigned)strlen(full), LIBSSH2_SFTP_RENAME_ATOMIC |
	    LIBSSH2_SFTP_RENAME_NATIVE) != 0) {
		rc = sync_conn_fail(c, "rename", tmp, SYNC_QUIET_STATUS);
		if (c->broken)
			return rc;
		if (confined_stat(c, full, &a) == 0 &&
		    LIBSSH2_SFTP_S_ISREG(a.permissions) &&
		    a.filesize == src->size) {
			/* Someone completed it meanwhile: same name, same
			 * size is the same object. */
			rc = 0;
		} else {
			sync_log(LOG_ERR, "target %s: cannot rename %s to %s "
			    "(it exists with another size, or the server "
			    "refused)", c->t->name, tmp, full);
			rc = rc == -ENOENT ? BEEMO_EREMOTE : -EEXIST;
		}
		goto fail_unlink;
	}
	return 0;

fail_unlink:
	if (!c->broken)
		(void)libssh2_sftp_unlink(c->sftp, tmp);
	return rc;
}

int
sync_remote_put(sync_conn *c, const char *path, const struct sync_src *src,
    const struct sync_io *io, uint8_t sha[SYNC_HASH_LEN])
{
	char dir[1024], full[4096], dfull[4096], tmp[4096];
	const char *base;
	EVP_MD_CTX *md;
	size_t dl;
	int rc;

	if (c->broken)
		return -ECONNRESET;
	base = strrchr(path, '/');
	base = base ? base + 1 : path;
	if ((rc = parent_dir(path, dir, sizeof(dir))) != 0 ||
	    (rc = confined_dir(c, dir, 1)) != 0 ||
	    (rc = full_path(c, path, full, sizeof(full))) != 0 ||
	    (rc = full_path(c, dir, dfull, sizeof(dfull))) != 0)
		return rc;
	dl = strlen(dfull);
	if ((rc = bm_path(tmp, sizeof(tmp), "%s%s.tmp-%s-%s", dfull,
	    dl > 0 && dfull[dl - 1] == '/' ? "" : "/", c->t->tag, base)) != 0)
		return rc;
	/* Hashing costs as much CPU as the MAC of the channel: only when
	 * the caller does not know the hash yet. */
	md = NULL;
	if (sha != NULL && ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)) {
		EVP_MD_CTX_free(md);
		return -ENOMEM;
	}
	rc = put_tmp(c, tmp, full, src, io, md);
	if (rc == 0 && sha != NULL)
		EVP_DigestFinal_ex(md, sha, NULL);
	EVP_MD_CTX_free(md);
	return rc;
}

int
sync_remote_get(sync_conn *c, const char *path, uint64_t size, int fd,
    uint8_t **mem, const struct sync_io *io, uint8_t sha[SYNC_HASH_LEN])
{
	LIBSSH2_SFTP_HANDLE *h = NULL;
	LIBSSH2_SFTP_ATTRIBUTES a;
	char dir[1024], full[4096];
	uint8_t *out = NULL;
	uint64_t got = 0;
	EVP_MD_CTX *md = NULL;
	int rc;

	if (c->broken)
		return -ECONNRESET;
	if ((rc = conn_buf(c)) != 0 ||
	    (rc = parent_dir(path, dir, sizeof(dir))) != 0 ||
	    (rc = confined_dir(c, dir, 0)) != 0 ||
	    (rc = full_path(c, path, full, sizeof(full))) != 0)
		goto fail;
	if ((rc = confined_stat(c, full, &a)) != 0) {
		if (rc == -ENOENT)
			sync_log(LOG_ERR, "target %s: %s is missing",
			    c->t->name, path);
		goto fail;
	}
	if (!LIBSSH2_SFTP_S_ISREG(a.permissions) || a.filesize != size) {
		sync_log(LOG_ERR, "target %s: %s has %llu bytes, the manifest "
		    "says %llu", c->t->name, path,
		    (unsigned long long)a.filesize, (unsigned long long)size);
		rc = -EBADMSG;
		goto fail;
	}
	if (mem != NULL && (out = malloc(size ? size : 1)) == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		rc = -ENOMEM;
		goto fail;
	}
	h = libssh2_sftp_open_ex(c->sftp, full, (unsigned)strlen(full),
	    LIBSSH2_FXF_READ, 0, LIBSSH2_SFTP_OPENFILE);
	if (h == NULL) {
		rc = sync_conn_fail(c, "open", full, 0);
		goto fail;
	}
	for (;;) {
		ssize_t n = libssh2_sftp_read(h, (char *)c->buf, SYNC_READ);

		if (n < 0) {
			rc = sync_conn_fail(c, "read", full, 0);
			goto fail;
		}
		if (n == 0)
			break;
		if ((uint64_t)n > size - got) {
			sync_log(LOG_ERR, "target %s: %s is longer than the "
			    "%llu bytes of the manifest", c->t->name, path,
			    (unsigned long long)size);
			rc = -EBADMSG;
			goto fail;
		}
		if (io != NULL && io->bw != NULL)
			sync_bw_take(io->bw, (uint64_t)n);
		EVP_DigestUpdate(md, c->buf, (size_t)n);
		if (out != NULL)
			memcpy(out + got, c->buf, (size_t)n);
		else if (fd >= 0) {
			size_t done = 0;

			while (done < (size_t)n) {
				ssize_t w = write(fd, c->buf + done,
				    (size_t)n - done);

				if (w < 0 && errno == EINTR)
					continue;
				if (w < 0) {
					rc = -errno;
					sync_log(LOG_ERR, "writing %s: %s",
					    path, beemo_strerror(rc));
					goto fail;
				}
				done += (size_t)w;
			}
		}
		got += (uint64_t)n;
		account(io, (uint64_t)n);
	}
	if (got != size) {
		sync_log(LOG_ERR, "target %s: %s ended after %llu of %llu "
		    "bytes", c->t->name, path, (unsigned long long)got,
		    (unsigned long long)size);
		rc = -EBADMSG;
		goto fail;
	}
	libssh2_sftp_close(h);
	EVP_DigestFinal_ex(md, sha, NULL);
	EVP_MD_CTX_free(md);
	if (mem != NULL)
		*mem = out;
	return 0;

fail:
	if (h != NULL)
		libssh2_sftp_close(h);
	EVP_MD_CTX_free(md);
	free(out);
	return rc;
}
