/*
 * center_serve_ops.c -- the file operations of beemo-center serve and
 * the append-only rules they apply (center_serve.h, center.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "bm_bytes.h"
#include "center_pin.h"
#include "center_serve.h"
#include "sync_request.h"

#define RULE_ACCEPTED_WRITE "accepted objects are never overwritten or " \
	"truncated"
#define RULE_ACCEPTED_REMOVE "accepted objects are never removed"
#define RULE_ACCEPTED_RENAME "accepted objects are never renamed or replaced"
#define RULE_ACCEPTED_SETSTAT "accepted objects and directories are never " \
	"changed"
#define RULE_CENTER "center/ is written by beemo-center only"
#define RULE_LINK "symbolic links are never followed"
#define RULE_RENAME_ONLY_TMP "only .tmp-* temporaries are renamed"
#define RULE_REMOVE_DIR "directories are never removed here"
#define RULE_BUSY "an upload is accepted only when no other handle or " \
	"session has it open for writing"

/* openat2 below data/, never following a symbolic link. */
static int
at2(int dfd, const char *rel, int flags, mode_t mode)
{
	struct open_how how;
	long fd;

	memset(&how, 0, sizeof(how));
	how.flags = (uint64_t)(flags | O_CLOEXEC);
	how.mode = (flags & O_CREAT) ? mode : 0;
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
	    RESOLVE_NO_MAGICLINKS;
	fd = syscall(SYS_openat2, dfd, *rel ? rel : ".", &how, sizeof(how));
	return fd < 0 ? -errno : (int)fd;
}

static int
is_tmp(const char *base)
{
	return strncmp(base, ".tmp-", 5) == 0;
}

static int
in_center(const char *rel)
{
	return strncmp(rel, "center", 6) == 0 &&
	    (rel[6] == '\0' || rel[6] == '/');
}

/* The parent directory of @rel (opened for reading, so that it can be
 * fsync'ed) and @rel's last component in @base.  Root has none:
 * -EPERM. */
static int
parent_open(struct serve *s, const char *rel, const char **base)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(rel, '/');

	if (!*rel)
		return -EPERM;
	if (!slash) {
		*base = rel;
		return at2(s->datafd, "", O_RDONLY | O_DIRECTORY, 0);
	}
	memcpy(dir, rel, (size_t)(slash - rel));
	dir[slash - rel] = '\0';
	*base = slash + 1;
	return at2(s->datafd, dir, O_RDONLY | O_DIRECTORY, 0);
}

static void
partial_name(const char *rel, char out[65])
{
	uint8_t md[SHA256_DIGEST_LENGTH];
	int i;

	SHA256((const uint8_t *)rel, strlen(rel), md);
	for (i = 0; i < SHA256_DIGEST_LENGTH; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static void
reply_handle(struct serve *s, uint32_t id, struct serve_handle *h)
{
	uint32_t idx = (uint32_t)(h - s->h);
	uint8_t b[4] = {idx >> 24, idx >> 16, idx >> 8, idx};

	sftp_begin(&s->out, SSH_FXP_HANDLE, id);
	sftp_put_str(&s->out, b, 4);
	sftp_end(&s->out);
}

static void
reply_attrs(struct serve *s, uint32_t id, const struct stat *st)
{
	sftp_begin(&s->out, SSH_FXP_ATTRS, id);
	sftp_put_attrs(&s->out, st);
	sftp_end(&s->out);
}

/*
 * Writers and accepting.  Every write handle holds a shared flock() on
 * its file; accepting (a close that links a partial into place, a rename
 * of a temporary to a free name) takes it exclusively without waiting,
 * so that nothing is accepted while another handle -- of this session or
 * of another one -- could still write into it.  A writer that opened the
 * file just before it was accepted gets its shared lock only after the
 * accepting session is done, and then finds that the name no longer
 * leads to its file: it gives up.  O_TRUNC is applied only then
 * (ftruncate), never by open(), which could truncate a file in the
 * instant it is being accepted.
 */
static int
writer_lock(int fd, int dirfd, const char *name, int trunc)
{
	struct stat a, b;

	while (flock(fd, LOCK_SH) != 0)
		if (errno != EINTR)
			return -errno;
	if (fstat(fd, &a) != 0 ||
	    fstatat(dirfd, name, &b, AT_SYMLINK_NOFOLLOW) != 0 ||
	    a.st_ino != b.st_ino || a.st_dev != b.st_dev)
		return -ESTALE; /* accepted or removed meanwhile */
	if (trunc && ftruncate(fd, 0) != 0)
		return -errno;
	return 0;
}

/* Take @fd's file for accepting: exclusive, or -EBUSY at once. */
static int
accept_lock(int fd)
{
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return 0;
	return errno == EWOULDBLOCK ? -EBUSY : -errno;
}

/* Open a new object (or resume its partial) for writing. */
static int
open_partial(struct serve *s, const char *rel, uint32_t pflags,
    struct serve_handle *h)
{
	int flags = O_NOFOLLOW | ((pflags & SSH_FXF_READ) ? O_RDWR : O_WRONLY);

	int rc;

	if (pflags & SSH_FXF_CREAT)
		flags |= O_CREAT;
	if (pflags & SSH_FXF_EXCL)
		flags |= O_EXCL;
	partial_name(rel, h->partial);
	h->fd = openat(s->partfd, h->partial, flags | O_CLOEXEC, 0600);
	if (h->fd < 0)
		return -errno;
	if ((rc = writer_lock(h->fd, s->partfd, h->partial,
	    !!(pflags & SSH_FXF_TRUNC))) != 0) {
		close(h->fd);
		h->fd = -1;
		return rc;
	}
	h->kind = H_PARTIAL;
	return 0;
}

void
serve_open(struct serve *s, uint32_t id, const char *rel, uint32_t pflags,
    struct serve_handle *h)
{
	const char *base;
	char msg[PATH_MAX];
	struct stat st;
	int pfd = -1, rc;

	snprintf(h->rel, sizeof(h->rel), "%s", rel);
	if (!(pflags & (SSH_FXF_WRITE | SSH_FXF_APPEND | SSH_FXF_CREAT |
	    SSH_FXF_TRUNC))) {
		if ((rc = at2(s->datafd, rel, O_RDONLY, 0)) < 0)
			goto fail;
		h->fd = rc;
		if (fstat(h->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
			close(h->fd);
			rc = -EISDIR;
			goto fail;
		}
		h->kind = H_READ;
		reply_handle(s, id, h);
		return;
	}
	if (in_center(rel)) {
		serve_deny(s, id, "open", rel, RULE_CENTER);
		return;
	}
	if ((pfd = parent_open(s, rel, &base)) < 0) {
		rc = pfd == -EPERM ? -EISDIR : pfd;
		goto fail;
	}
	if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISLNK(st.st_mode)) {
			serve_deny(s, id, "open", rel, RULE_LINK);
			goto out;
		}
		if (!S_ISREG(st.st_mode)) {
			rc = -EISDIR;
			goto fail;
		}
		if (!is_tmp(base)) {
			serve_deny(s, id, "open", rel, RULE_ACCEPTED_WRITE);
			goto out;
		}
	} else if (errno != ENOENT) {
		rc = -errno;
		goto fail;
	}
	/* A new object or a temporary: written in state/partial/, where
	 * every unfinished byte of the area is counted against its quota
	 * and stale ones are removed (serve_partials). */
	if ((rc = serve_partials(s)) != 0)
		goto fail;
	if (s->npartials >= SERVE_MAX_PARTIALS) {
		snprintf(msg, sizeof(msg), "/%.200s: %zu unfinished uploads "
		    "already; finish or remove one first", rel, s->npartials);
		serve_refused(s, "open", rel, msg);
		sftp_status(&s->out, id, SSH_FX_FAILURE, msg);
		goto out;
	}
	if ((rc = open_partial(s, rel, pflags, h)) != 0)
		goto fail;
	if (is_tmp(base))
		h->kind = H_TMP;
	if (pflags & SSH_FXF_TRUNC)
		(void)serve_partials(s); /* what it held is gone */
	if (fstat(h->fd, &st) == 0)
		h->size = (uint64_t)st.st_size;
	reply_handle(s, id, h);
	goto out;
fail:
	serve_errno(s, id, rel, rc);
out:
	if (pfd >= 0)
		close(pfd);
}

/*
 * What may be accepted under requests/: a deletion request N.req only
 * when it is signed by the administrator's key the area pinned (or one
 * it endorsed), for this appliance, with the number of its name; N.cancel
 * only once N.req is there.  So that junk uploaded under the numbers the
 * administrator will use next cannot keep the real requests out (the
 * name is taken for good once accepted).  Returns 1 (allowed), 0 with
 * @why, or a negative error.
 */
static int
request_ok(struct serve *s, const char *rel, int dir, const char *name,
    char *why, size_t whylen)
{
	const char *b = rel + 9;
	struct center_pin pin;
	struct sync_request req;
	char err[256], other[32];
	uint8_t *text = NULL;
	struct stat st;
	ssize_t got;
	uint64_t n = 0;
	size_t i;
	int fd, rc;

	if (strncmp(rel, "requests/", 9) != 0)
		return 1;
	if (strlen(b) < 17 || !bm_is_lower_hex(b, 16) ||
	    (strcmp(b + 16, ".req") && strcmp(b + 16, ".cancel"))) {
		snprintf(why, whylen, "requests/ holds only N.req and N.cancel");
		return 0;
	}
	for (i = 0; i < 16; i++)
		n = n << 4 | (uint64_t)(b[i] <= '9' ? b[i] - '0' :
		    b[i] - 'a' + 10);
	if (!strcmp(b + 16, ".cancel")) {
		snprintf(other, sizeof(other), "%.16s.req", b);
		if (fstatat(s->datafd, "requests", &st, 0) == 0 &&
		    (fd = at2(s->datafd, "requests", O_RDONLY | O_DIRECTORY,
		    0)) >= 0) {
			rc = fstatat(fd, other, &st, AT_SYMLINK_NOFOLLOW);
			close(fd);
			if (rc == 0 && S_ISREG(st.st_mode))
				return 1;
		}
		snprintf(why, whylen, "a cancellation needs its request "
		    "first");
		return 0;
	}
	memset(&pin, 0, sizeof(pin));
	if (center_pin_update(s->ctx, &s->area, 1, &pin, err,
	    sizeof(err)) != 0) {
		center_pin_free(&pin);
		snprintf(why, whylen, "no administrator's key is pinned for "
		    "this area yet (beemo-center pin): a request cannot be "
		    "checked");
		return 0;
	}
	rc = -ENOMEM;
	if ((fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		rc = -errno;
		goto out;
	}
	if (fstat(fd, &st) != 0 || st.st_size > SYNC_MAX_SMALL ||
	    !(text = malloc((size_t)st.st_size + 1)) ||
	    (got = pread(fd, text, (size_t)st.st_size, 0)) !=
	    (ssize_t)st.st_size) {
		close(fd);
		snprintf(why, whylen, "not a deletion request (unreadable or "
		    "too large)");
		rc = 0;
		goto out;
	}
	close(fd);
	text[st.st_size] = '\0';
	memset(&req, 0, sizeof(req));
	rc = sync_request_parse((const char *)text, (size_t)st.st_size, &req);
	if (rc == -ENOMEM)
		goto out;
	if (rc != 0 || req.counter != n ||
	    strcmp(req.appliance, pin.appliance_hex) != 0 ||
	    sync_request_verify_image(pin.key, pin.len, (const char *)text,
	    (size_t)st.st_size) != 0) {
		snprintf(why, whylen, "not a deletion request %.16s signed by "
		    "this appliance's administrator (pinned key %.16s)", b,
		    pin.hex);
		rc = 0;
	} else {
		rc = 1;
	}
	sync_request_free(&req);
out:
	free(text);
	center_pin_free(&pin);
	return rc;
}

/* Link @from (in @fromdir) to @base in @pfd, never replacing; then
 * unlink @from and fsync the directory; count @size as accepted. */
static int
accept_link(struct serve *s, int fromdir, const char *from, int pfd,
    const char *base, uint64_t size)
{
	int rc;

	if (linkat(fromdir, from, pfd, base, 0) != 0)
		return -errno;
	if (unlinkat(fromdir, from, 0) != 0 || fsync(pfd) != 0)
		return -errno;
	s->accepted++;
	s->accepted_bytes += size;
	rc = center_usage_add(&s->area, (int64_t)size, &s->usage);
	(void)serve_partials(s); /* it left state/partial/ */
	return rc;
}

/* Accept the partial of handle @h under its name. */
static void
accept_partial(struct serve *s, uint32_t id, struct serve_handle *h)
{
	char msg[256];
	const char *base;
	char why[200];
	struct stat st;
	int pfd = -1, rc;

	if ((rc = accept_lock(h->fd)) == -EBUSY) {
		serve_refused(s, "accept", h->rel, RULE_BUSY);
		snprintf(msg, sizeof(msg), "/%.120s: %s; it stays partial",
		    h->rel, RULE_BUSY);
		sftp_status(&s->out, id, SSH_FX_FAILURE, msg);
		return;
	}
	if (rc != 0)
		goto fail;
	if (fstat(h->fd, &st) != 0 || fsync(h->fd) != 0) {
		rc = -errno;
		goto fail;
	}
	/* Its bytes were counted against the quota as they were written
	 * (state/partial/): accepting adds none. */
	if ((rc = request_ok(s, h->rel, s->partfd, h->partial, why,
	    sizeof(why))) == 0) {
		(void)unlinkat(s->partfd, h->partial, 0);
		serve_deny(s, id, "accept", h->rel, why);
		return;
	}
	if (rc < 0)
		goto fail;
	if ((pfd = parent_open(s, h->rel, &base)) < 0) {
		rc = pfd;
		goto fail;
	}
	rc = accept_link(s, s->partfd, h->partial, pfd, base,
	    (uint64_t)st.st_size);
	close(pfd);
	if (rc == -EEXIST) {
		/* Accepted meanwhile by another session: keep that one. */
		(void)unlinkat(s->partfd, h->partial, 0);
		snprintf(msg, sizeof(msg), "/%.200s was accepted meanwhile; "
		    "this upload is dropped", h->rel);
		sftp_status(&s->out, id, SSH_FX_FAILURE, msg);
		return;
	}
	if (rc != 0)
		goto fail;
	sftp_status(&s->out, id, SSH_FX_OK, "accepted");
	return;
fail:
	serve_errno(s, id, h->rel, rc);
}

void
serve_close(struct serve *s, uint32_t id, struct serve_handle *h)
{
	if (h->kind == H_DIR) {
		closedir(h->dir);
	} else {
		if (h->kind == H_PARTIAL)
			accept_partial(s, id, h);
		close(h->fd);
	}
	if (h->kind != H_PARTIAL)
		sftp_status(&s->out, id, SSH_FX_OK, "closed");
	memset(h, 0, sizeof(*h));
}

void
serve_stat(struct serve *s, uint32_t id, const char *rel, int follow)
{
	char part[65];
	struct stat st;
	int fd;

	fd = at2(s->datafd, rel, O_PATH | O_NOFOLLOW, 0);
	if (fd == -ENOENT && !in_center(rel)) {
		partial_name(rel, part);
		if (fstatat(s->partfd, part, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			reply_attrs(s, id, &st);
			return;
		}
	}
	if (fd < 0) {
		serve_errno(s, id, rel, fd);
		return;
	}
	if (fstat(fd, &st) != 0) {
		serve_errno(s, id, rel, -errno);
	} else if (follow && S_ISLNK(st.st_mode)) {
		serve_deny(s, id, "stat", rel, RULE_LINK);
	} else {
		reply_attrs(s, id, &st);
	}
	close(fd);
}

void
serve_setstat(struct serve *s, uint32_t id, const char *rel)
{
	const char *slash = strrchr(rel, '/');
	char part[65];
	struct stat st;
	int fd;

	if (in_center(rel)) {
		serve_deny(s, id, "setstat", rel, RULE_CENTER);
		return;
	}
	fd = at2(s->datafd, rel, O_PATH | O_NOFOLLOW, 0);
	if (fd >= 0) {
		close(fd);
		/* A temporary's attributes do not matter: kept as they
		 * are. */
		if (is_tmp(slash ? slash + 1 : rel))
			sftp_status(&s->out, id, SSH_FX_OK, "unchanged");
		else
			serve_deny(s, id, "setstat", rel,
			    RULE_ACCEPTED_SETSTAT);
		return;
	}
	partial_name(rel, part);
	if (fd == -ENOENT && fstatat(s->partfd, part, &st, 0) == 0)
		sftp_status(&s->out, id, SSH_FX_OK, "unchanged");
	else
		serve_errno(s, id, rel, fd);
}

void
serve_opendir(struct serve *s, uint32_t id, const char *rel,
    struct serve_handle *h)
{
	int fd = at2(s->datafd, rel, O_RDONLY | O_DIRECTORY, 0);

	if (fd < 0) {
		serve_errno(s, id, rel, fd);
		return;
	}
	if (!(h->dir = fdopendir(fd))) {
		serve_errno(s, id, rel, -errno);
		close(fd);
		return;
	}
	snprintf(h->rel, sizeof(h->rel), "%s", rel);
	h->kind = H_DIR;
	reply_handle(s, id, h);
}

void
serve_readdir(struct serve *s, uint32_t id, struct serve_handle *h)
{
	struct sftp_out *o = &s->out;
	char longname[512];
	struct dirent *e;
	struct stat st;
	size_t countpos;
	uint32_t n = 0;
	uint8_t *p;

	sftp_begin(o, SSH_FXP_NAME, id);
	countpos = o->len;
	sftp_put_u32(o, 0);
	/* Each entry takes less than 1 KiB. */
	while (o->len - o->mark < SFTP_MAX_PACKET - 2048 &&
	    (e = readdir(h->dir)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (fstatat(dirfd(h->dir), e->d_name, &st,
		    AT_SYMLINK_NOFOLLOW) != 0)
			continue;
		sftp_longname(longname, sizeof(longname), e->d_name, &st);
		sftp_put_cstr(o, e->d_name);
		sftp_put_cstr(o, longname);
		sftp_put_attrs(o, &st);
		n++;
	}
	if (n == 0) {
		sftp_cancel(o);
		sftp_status(o, id, SSH_FX_EOF, "end of directory");
		return;
	}
	p = o->buf + countpos;
	p[0] = n >> 24;
	p[1] = n >> 16;
	p[2] = n >> 8;
	p[3] = n;
	sftp_end(o);
}

void
serve_remove(struct serve *s, uint32_t id, const char *rel)
{
	const char *base;
	char part[65];
	struct stat st;
	int pfd;

	if (in_center(rel)) {
		serve_deny(s, id, "remove", rel, RULE_CENTER);
		return;
	}
	if ((pfd = parent_open(s, rel, &base)) < 0) {
		serve_errno(s, id, rel, pfd == -EPERM ? -EISDIR : pfd);
		return;
	}
	if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		partial_name(rel, part);
		if (errno == ENOENT && unlinkat(s->partfd, part, 0) == 0) {
			(void)serve_partials(s);
			sftp_status(&s->out, id, SSH_FX_OK, "partial removed");
		}
		else
			serve_errno(s, id, rel, -ENOENT);
	} else if (S_ISDIR(st.st_mode)) {
		serve_deny(s, id, "remove", rel, RULE_REMOVE_DIR);
	} else if (!S_ISREG(st.st_mode)) {
		serve_deny(s, id, "remove", rel, RULE_LINK);
	} else if (!is_tmp(base)) {
		serve_deny(s, id, "remove", rel, RULE_ACCEPTED_REMOVE);
	} else if (unlinkat(pfd, base, 0) != 0) {
		serve_errno(s, id, rel, -errno);
	} else {
		sftp_status(&s->out, id, SSH_FX_OK, "removed");
	}
	close(pfd);
}

void
serve_mkdir(struct serve *s, uint32_t id, const char *rel)
{
	const char *base;
	int pfd;

	if (in_center(rel)) {
		serve_deny(s, id, "mkdir", rel, RULE_CENTER);
		return;
	}
	if ((pfd = parent_open(s, rel, &base)) < 0) {
		serve_errno(s, id, rel, pfd == -EPERM ? -EEXIST : pfd);
		return;
	}
	if (mkdirat(pfd, base, 0700) != 0)
		serve_errno(s, id, rel, -errno);
	else
		sftp_status(&s->out, id, SSH_FX_OK, "created");
	close(pfd);
}

void
serve_rename(struct serve *s, uint32_t id, const char *from, const char *to)
{
	const char *fbase, *tbase, *sname;
	char msg[256], fpart[65], tpart[65];
	struct stat st, lst;
	int fpfd = -1, tpfd = -1, lfd = -1, sdir, rc = 0, legacy;

	if (in_center(from) || in_center(to)) {
		serve_deny(s, id, "rename", in_center(from) ? from : to,
		    RULE_CENTER);
		return;
	}
	if ((fpfd = parent_open(s, from, &fbase)) < 0 ||
	    (tpfd = parent_open(s, to, &tbase)) < 0) {
		serve_errno(s, id, fpfd < 0 ? from : to,
		    fpfd < 0 ? fpfd : tpfd);
		goto out;
	}
	/* The source: a temporary, in state/partial/ (or, left by an older
	 * beemo-center, in data/). */
	legacy = fstatat(fpfd, fbase, &st, AT_SYMLINK_NOFOLLOW) == 0;
	if (legacy && (!S_ISREG(st.st_mode) || !is_tmp(fbase))) {
		serve_deny(s, id, "rename", from, S_ISREG(st.st_mode) ?
		    RULE_ACCEPTED_RENAME : RULE_RENAME_ONLY_TMP);
		goto out;
	}
	partial_name(from, fpart);
	sdir = legacy ? fpfd : s->partfd;
	sname = legacy ? fbase : fpart;
	if (!legacy && fstatat(sdir, sname, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		serve_errno(s, id, from, -ENOENT);
		goto out;
	}
	if (!is_tmp(fbase)) {
		serve_deny(s, id, "rename", from, RULE_RENAME_ONLY_TMP);
		goto out;
	}
	/* Nothing may write into it once it has its new name. */
	if ((lfd = openat(sdir, sname, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC)) < 0 || (rc = accept_lock(lfd)) != 0 ||
	    fstat(lfd, &lst) != 0 || lst.st_ino != st.st_ino ||
	    lst.st_dev != st.st_dev) {
		if (lfd < 0 || rc == 0)
			serve_errno(s, id, from, -ESTALE);
		else if (rc == -EBUSY)
			serve_deny(s, id, "rename", from, RULE_BUSY);
		else
			serve_errno(s, id, from, rc);
		goto out;
	}
	/* Bytes of state/partial/ are counted already; an older data/
	 * temporary's are not. */
	if (legacy && !is_tmp(tbase) && s->area.quota)
		(void)center_usage_get(&s->area, &s->usage); /* other sessions */
	if (legacy && !is_tmp(tbase) && !serve_quota_ok(s,
	    (uint64_t)st.st_size, msg, sizeof(msg))) {
		serve_refused(s, "accept", to, msg);
		sftp_status(&s->out, id, SSH_FX_FAILURE, msg);
		goto out;
	}
	if (is_tmp(tbase) && fstatat(tpfd, tbase, &lst,
	    AT_SYMLINK_NOFOLLOW) == 0) {
		rc = -EEXIST; /* a directory or an older temporary there */
	} else if (is_tmp(tbase) && !legacy) {
		partial_name(to, tpart);
		rc = renameat(sdir, sname, s->partfd, tpart) == 0 ? 0 : -errno;
	} else if (is_tmp(tbase)) {
		rc = linkat(sdir, sname, tpfd, tbase, 0) == 0 &&
		    unlinkat(sdir, sname, 0) == 0 ? 0 : -errno;
	} else if ((rc = request_ok(s, to, sdir, sname, msg,
	    sizeof(msg))) == 0) {
		serve_deny(s, id, "rename", to, msg);
		goto out;
	} else if (rc > 0) {
		rc = accept_link(s, sdir, sname, tpfd, tbase,
		    (uint64_t)st.st_size);
	}
	if (rc == -EEXIST)
		serve_deny(s, id, "rename", to, RULE_ACCEPTED_RENAME);
	else if (rc != 0)
		serve_errno(s, id, to, rc);
	else
		sftp_status(&s->out, id, SSH_FX_OK, "renamed");
out:
	if (lfd >= 0)
		close(lfd);
	if (fpfd >= 0)
		close(fpfd);
	if (tpfd >= 0)
		close(tpfd);
}

void
serve_statvfs(struct serve *s, uint32_t id)
{
	struct statvfs v;
	uint64_t frsize, blocks, avail;

	if (fstatvfs(s->datafd, &v) != 0) {
		serve_errno(s, id, "", -errno);
		return;
	}
	frsize = v.f_frsize ? v.f_frsize : 4096;
	blocks = v.f_blocks;
	avail = v.f_bavail;
	if (s->area.quota) {
		uint64_t used = s->usage + s->partials + s->pending;
		uint64_t qfree = used < s->area.quota ?
		    (s->area.quota - used) / frsize : 0;

		blocks = s->area.quota / frsize;
		avail = qfree < avail ? qfree : avail;
	}
	sftp_begin(&s->out, SSH_FXP_EXTENDED_REPLY, id);
	sftp_put_u64(&s->out, v.f_bsize);
	sftp_put_u64(&s->out, frsize);
	sftp_put_u64(&s->out, blocks);
	sftp_put_u64(&s->out, avail);
	sftp_put_u64(&s->out, avail);
	sftp_put_u64(&s->out, v.f_files);
	sftp_put_u64(&s->out, v.f_ffree);
	sftp_put_u64(&s->out, v.f_favail);
	sftp_put_u64(&s->out, v.f_fsid);
	sftp_put_u64(&s->out, v.f_flag & ST_RDONLY);
	sftp_put_u64(&s->out, v.f_namemax);
	sftp_end(&s->out);
}
