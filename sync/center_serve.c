/*
 * center_serve.c -- beemo-center serve --area AREA: the SFTP server of
 * one area on standard input and output (center.h, center_serve.h):
 * options, the request loop, handles, reads and writes, extensions and
 * the session's line in AREA/state/serve.log.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bm_err.h"
#include "bm_file.h"
#include "center_serve.h"

static struct sftp_in serve_in; /* 1 MiB: not on the stack */

int
serve_norm(const uint8_t *s, uint32_t len, char *rel, size_t rellen)
{
	size_t out = 0, i = 0, n;

	while (i < len) {
		const uint8_t *c = s + i;

		for (n = 0; i + n < len && c[n] != '/'; n++)
			if (c[n] == '\0')
				return -1;
		i += n + 1;
		if (n == 0 || (n == 1 && c[0] == '.'))
			continue;
		if (n == 2 && c[0] == '.' && c[1] == '.') {
			while (out > 0 && rel[out - 1] != '/')
				out--;
			if (out > 0)
				out--;
			continue;
		}
		if (out + (out > 0) + n + 1 > rellen)
			return -1;
		if (out > 0)
			rel[out++] = '/';
		memcpy(rel + out, c, n);
		out += n;
	}
	rel[out] = '\0';
	return 0;
}

void
serve_refused(struct serve *s, const char *op, const char *rel,
    const char *why)
{
	char path[PATH_MAX];
	struct stat st;

	/* A hostile client may be refused without end: the journal keeps
	 * the first ones of a session (paths cut short) while it is under
	 * SERVE_JOURNAL_MAX bytes, serve.log the count. */
	if (++s->refused > SERVE_JOURNAL_REFUSALS + 1 ||
	    bm_path(path, sizeof(path), "%s/journal", s->area.state) != 0 ||
	    (stat(path, &st) == 0 && st.st_size > SERVE_JOURNAL_MAX))
		return;
	if (s->refused <= SERVE_JOURNAL_REFUSALS)
		(void)center_journal(&s->area, "serve: refused %s /%.160s: "
		    "%.200s", op, rel, why);
	else
		(void)center_journal(&s->area, "serve: more refusals in this "
		    "session are only counted (serve.log)");
}

void
serve_deny(struct serve *s, uint32_t id, const char *op, const char *rel,
    const char *rule)
{
	char msg[PATH_MAX + 128];

	serve_refused(s, op, rel, rule);
	snprintf(msg, sizeof(msg), "/%s: %s", rel, rule);
	sftp_status(&s->out, id, SSH_FX_PERMISSION_DENIED, msg);
}

void
serve_errno(struct serve *s, uint32_t id, const char *rel, int err)
{
	char msg[PATH_MAX + 128];
	uint32_t code = SSH_FX_FAILURE;

	if (err == -ENOENT || err == -ENOTDIR)
		code = SSH_FX_NO_SUCH_FILE;
	else if (err == -EACCES || err == -EPERM)
		code = SSH_FX_PERMISSION_DENIED;
	if (err == -ELOOP || err == -EXDEV) {
		serve_deny(s, id, "resolve", rel, "symbolic links are never "
		    "followed and nothing outside the area is reached");
		return;
	}
	snprintf(msg, sizeof(msg), "/%s: %s", rel, err == -ESTALE ?
	    "accepted or removed by another session meanwhile" :
	    strerror(-err));
	sftp_status(&s->out, id, code, msg);
}

int
serve_partials(struct serve *s)
{
	struct dirent *e;
	struct stat st;
	time_t now = time(NULL);
	DIR *d;
	int fd;

	if ((fd = dup(s->partfd)) < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	rewinddir(d);
	s->partials = 0;
	s->npartials = 0;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' ||
		    fstatat(s->partfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW))
			continue;
		if (now - st.st_mtime > SERVE_STALE_SECS &&
		    (fd = openat(s->partfd, e->d_name, O_RDONLY | O_NOFOLLOW |
		    O_NONBLOCK | O_CLOEXEC)) >= 0) {
			int gone = flock(fd, LOCK_EX | LOCK_NB) == 0 &&
			    unlinkat(s->partfd, e->d_name, 0) == 0;

			close(fd);
			if (gone) {
				(void)center_journal(&s->area, "serve: removed "
				    "an upload left unfinished for %lld s "
				    "(%lld bytes)", (long long)(now -
				    st.st_mtime), (long long)st.st_size);
				continue;
			}
		}
		s->partials += (uint64_t)st.st_size;
		s->npartials++;
	}
	closedir(d);
	s->pending = 0;
	return 0;
}

int
serve_quota_ok(struct serve *s, uint64_t more, char *msg, size_t len)
{
	uint64_t q = s->area.quota, used = s->usage + s->partials + s->pending;

	if (q == 0 || (used <= q && more <= q - used))
		return 1;
	snprintf(msg, len, "quota of %s (%llu) exceeded", s->area.name,
	    (unsigned long long)q);
	return 0;
}

/* The handle named by the next string of @m, or NULL. */
static struct serve_handle *
get_handle(struct serve *s, struct sftp_msg *m)
{
	const uint8_t *p;
	uint32_t len, idx;

	if (sftp_get_str(m, &p, &len) != 0 || len != 4)
		return NULL;
	idx = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
	if (idx >= SERVE_HANDLES || s->h[idx].kind == H_FREE)
		return NULL;
	return &s->h[idx];
}

static struct serve_handle *
new_handle(struct serve *s)
{
	int i;

	for (i = 0; i < SERVE_HANDLES; i++)
		if (s->h[i].kind == H_FREE)
			return &s->h[i];
	return NULL;
}

/* The next string of @m as a normalized path. */
static int
get_path(struct sftp_msg *m, char *rel, size_t len)
{
	const uint8_t *p;
	uint32_t n;

	if (sftp_get_str(m, &p, &n) != 0)
		return -1;
	return serve_norm(p, n, rel, len - 1); /* room for a leading '/' */
}

static void
do_read(struct serve *s, uint32_t id, struct serve_handle *h, uint64_t off,
    uint32_t len)
{
	struct sftp_out *o = &s->out;
	uint8_t *p;
	ssize_t n;

	if (h->kind == H_DIR) {
		serve_errno(s, id, h->rel, -EISDIR);
		return;
	}
	if (len > SFTP_MAX_DATA)
		len = SFTP_MAX_DATA;
	sftp_begin(o, SSH_FXP_DATA, id);
	p = sftp_reserve(o);
	do
		n = pread(h->fd, p + 4, len, (off_t)off);
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		sftp_cancel(o);
		if (n == 0)
			sftp_status(o, id, SSH_FX_EOF, "end of file");
		else
			serve_errno(s, id, h->rel, -errno);
		return;
	}
	sftp_put_u32(o, (uint32_t)n);
	sftp_commit(o, (size_t)n);
	sftp_end(o);
}

static void
do_write(struct serve *s, uint32_t id, struct serve_handle *h, uint64_t off,
    const uint8_t *data, uint32_t len)
{
	uint64_t end = off + len, grow = 0;
	char msg[256];
	ssize_t n;

	if (h->kind != H_TMP && h->kind != H_PARTIAL) {
		serve_deny(s, id, "write", h->rel, "the handle is not open "
		    "for writing");
		return;
	}
	if (off > (uint64_t)INT64_MAX - len) {
		serve_errno(s, id, h->rel, -EFBIG);
		return;
	}
	if (end > h->size)
		grow = end - h->size;
	if (grow && !serve_quota_ok(s, grow, msg, sizeof(msg))) {
		if (!h->quota_logged++)
			serve_refused(s, "write", h->rel, msg);
		sftp_status(&s->out, id, SSH_FX_FAILURE, msg);
		return;
	}
	while (len > 0) {
		n = pwrite(h->fd, data, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			serve_errno(s, id, h->rel, n < 0 ? -errno : -EIO);
			return;
		}
		data += n;
		off += (uint64_t)n;
		len -= (uint32_t)n;
	}
	h->size += grow;
	h->grown += grow;
	s->pending += grow;
	sftp_status(&s->out, id, SSH_FX_OK, "written");
}

static void
do_version(struct serve *s)
{
	static const char *const ext[][2] = {
		{"posix-rename@openssh.com", "1"},
		{"statvfs@openssh.com", "2"},
		{"hardlink@openssh.com", "1"},
		{"fsync@openssh.com", "1"},
		{"limits@openssh.com", "1"},
	};
	size_t i;

	sftp_begin_version(&s->out, 3);
	for (i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
		sftp_put_cstr(&s->out, ext[i][0]);
		sftp_put_cstr(&s->out, ext[i][1]);
	}
	sftp_end(&s->out);
}

/* Returns -1 on a malformed request. */
static int
do_extended(struct serve *s, uint32_t id, struct sftp_msg *m)
{
	char rel[PATH_MAX], to[PATH_MAX];
	struct serve_handle *h;
	const uint8_t *name;
	uint32_t len;

#define IS(x) (len == sizeof(x) - 1 && memcmp(name, x, len) == 0)
	if (sftp_get_str(m, &name, &len) != 0)
		return -1;
	if (IS("posix-rename@openssh.com")) {
		if (get_path(m, rel, sizeof(rel)) != 0 ||
		    get_path(m, to, sizeof(to)) != 0)
			return -1;
		serve_rename(s, id, rel, to);
	} else if (IS("hardlink@openssh.com")) {
		if (get_path(m, rel, sizeof(rel)) != 0 ||
		    get_path(m, to, sizeof(to)) != 0)
			return -1;
		serve_deny(s, id, "hardlink", to, "links are never made");
	} else if (IS("fsync@openssh.com")) {
		if (!(h = get_handle(s, m)))
			return -1;
		if (h->kind != H_DIR && fsync(h->fd) != 0)
			serve_errno(s, id, h->rel, -errno);
		else
			sftp_status(&s->out, id, SSH_FX_OK, "synced");
	} else if (IS("statvfs@openssh.com")) {
		if (get_path(m, rel, sizeof(rel)) != 0)
			return -1;
		serve_statvfs(s, id);
	} else if (IS("limits@openssh.com")) {
		sftp_begin(&s->out, SSH_FXP_EXTENDED_REPLY, id);
		sftp_put_u64(&s->out, SFTP_MAX_PACKET);
		sftp_put_u64(&s->out, SFTP_MAX_DATA);
		sftp_put_u64(&s->out, SFTP_MAX_DATA);
		sftp_put_u64(&s->out, SERVE_HANDLES);
		sftp_end(&s->out);
	} else {
		sftp_status(&s->out, id, SSH_FX_OP_UNSUPPORTED,
		    "unsupported extension");
	}
#undef IS
	return 0;
}

/* Answer one request (SSH_FX_BAD_MESSAGE when it is malformed). */
static void
dispatch(struct serve *s, uint8_t type, struct sftp_msg *m)
{
	char rel[PATH_MAX], to[PATH_MAX];
	struct serve_handle *h;
	const uint8_t *data;
	uint32_t id, u, len;
	uint64_t off;

	if (type == SSH_FXP_INIT) {
		do_version(s);
		return;
	}
	if (sftp_get_u32(m, &id) != 0)
		return; /* no id to answer */
	switch (type) {
	case SSH_FXP_OPEN:
		if (get_path(m, rel, sizeof(rel)) != 0 ||
		    sftp_get_u32(m, &u) != 0 || sftp_get_attrs(m, &len) != 0)
			goto bad;
		if (!(h = new_handle(s)))
			sftp_status(&s->out, id, SSH_FX_FAILURE,
			    "too many open handles");
		else
			serve_open(s, id, rel, u, h);
		return;
	case SSH_FXP_OPENDIR:
		if (get_path(m, rel, sizeof(rel)) != 0)
			goto bad;
		if (!(h = new_handle(s)))
			sftp_status(&s->out, id, SSH_FX_FAILURE,
			    "too many open handles");
		else
			serve_opendir(s, id, rel, h);
		return;
	case SSH_FXP_CLOSE:
	case SSH_FXP_READ:
	case SSH_FXP_WRITE:
	case SSH_FXP_FSTAT:
	case SSH_FXP_FSETSTAT:
	case SSH_FXP_READDIR:
		if (!(h = get_handle(s, m))) {
			sftp_status(&s->out, id, SSH_FX_FAILURE,
			    "invalid handle");
			return;
		}
		break;
	case SSH_FXP_LSTAT:
	case SSH_FXP_STAT:
	case SSH_FXP_SETSTAT:
	case SSH_FXP_REMOVE:
	case SSH_FXP_MKDIR:
	case SSH_FXP_RMDIR:
	case SSH_FXP_REALPATH:
	case SSH_FXP_READLINK:
		if (get_path(m, rel, sizeof(rel)) != 0)
			goto bad;
		h = NULL;
		break;
	case SSH_FXP_RENAME:
	case SSH_FXP_SYMLINK:
		if (get_path(m, rel, sizeof(rel)) != 0 ||
		    get_path(m, to, sizeof(to)) != 0)
			goto bad;
		if (type == SSH_FXP_RENAME)
			serve_rename(s, id, rel, to);
		else
			serve_deny(s, id, "symlink", rel, "symbolic links "
			    "are never made");
		return;
	case SSH_FXP_EXTENDED:
		if (do_extended(s, id, m) != 0)
			goto bad;
		return;
	default:
		sftp_status(&s->out, id, SSH_FX_OP_UNSUPPORTED,
		    "unsupported request");
		return;
	}
	switch (type) {
	case SSH_FXP_CLOSE:
		serve_close(s, id, h);
		break;
	case SSH_FXP_READ:
		if (sftp_get_u64(m, &off) != 0 || sftp_get_u32(m, &len) != 0)
			goto bad;
		do_read(s, id, h, off, len);
		break;
	case SSH_FXP_WRITE:
		if (sftp_get_u64(m, &off) != 0 ||
		    sftp_get_str(m, &data, &len) != 0)
			goto bad;
		do_write(s, id, h, off, data, len);
		break;
	case SSH_FXP_FSTAT: {
		struct stat st;

		if (fstat(h->kind == H_DIR ? dirfd(h->dir) : h->fd, &st) != 0)
			serve_errno(s, id, h->rel, -errno);
		else {
			sftp_begin(&s->out, SSH_FXP_ATTRS, id);
			sftp_put_attrs(&s->out, &st);
			sftp_end(&s->out);
		}
		break;
	}
	case SSH_FXP_FSETSTAT:
		if (h->kind == H_TMP || h->kind == H_PARTIAL)
			sftp_status(&s->out, id, SSH_FX_OK, "unchanged");
		else
			serve_deny(s, id, "fsetstat", h->rel, "accepted "
			    "objects and directories are never changed");
		break;
	case SSH_FXP_READDIR:
		if (h->kind != H_DIR)
			serve_errno(s, id, h->rel, -ENOTDIR);
		else
			serve_readdir(s, id, h);
		break;
	case SSH_FXP_LSTAT:
	case SSH_FXP_STAT:
		serve_stat(s, id, rel, type == SSH_FXP_STAT);
		break;
	case SSH_FXP_SETSTAT:
		serve_setstat(s, id, rel);
		break;
	case SSH_FXP_REMOVE:
		serve_remove(s, id, rel);
		break;
	case SSH_FXP_MKDIR:
		serve_mkdir(s, id, rel);
		break;
	case SSH_FXP_RMDIR:
		serve_deny(s, id, "rmdir", rel, "directories are never "
		    "removed here");
		break;
	case SSH_FXP_READLINK:
		serve_deny(s, id, "readlink", rel, "symbolic links are "
		    "never followed");
		break;
	case SSH_FXP_REALPATH:
		to[0] = '/';
		memcpy(to + 1, rel, strlen(rel) + 1); /* serve_norm left room */
		sftp_begin(&s->out, SSH_FXP_NAME, id);
		sftp_put_u32(&s->out, 1);
		sftp_put_cstr(&s->out, to);
		sftp_put_cstr(&s->out, to);
		sftp_put_u32(&s->out, 0); /* no attributes */
		sftp_end(&s->out);
		break;
	}
	return;
bad:
	sftp_status(&s->out, id, SSH_FX_BAD_MESSAGE, "malformed request");
}

/*
 * Larger kernel buffers between sshd and this process (a socket pair or
 * pipes, depending on how OpenSSH was built), so that fewer, larger
 * reads and writes carry the client's pipelined requests.  Best effort.
 */
static void
widen(int fd, int opt)
{
	int size = 4 * (int)SFTP_IN_SIZE;

	if (setsockopt(fd, SOL_SOCKET, opt, &size, sizeof(size)) != 0)
		(void)fcntl(fd, F_SETPIPE_SZ, (int)SFTP_IN_SIZE);
}

/* Read, answer, repeat until the client goes away; 0 or -errno. */
static int
serve_loop(struct serve *s, struct sftp_in *in)
{
	struct sftp_msg m;
	uint8_t type;
	int rc;

	for (;;) {
		while ((rc = sftp_in_next(in, &type, &m)) == 1)
			dispatch(s, type, &m);
		if (sftp_flush(&s->out) != 0)
			return s->out.err;
		if (rc < 0)
			return -EPROTO; /* a packet too long: the end */
		if ((rc = sftp_in_fill(in)) <= 0)
			return rc;
	}
}

static void
iso(char *buf, size_t len, time_t t)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The session's line in AREA/state/serve.log. */
static void
serve_log(struct serve *s, time_t start, int rc)
{
	char path[PATH_MAX], a[32], b[32];
	struct rusage ru;
	double cpu = 0;
	FILE *f;

	if (getrusage(RUSAGE_SELF, &ru) == 0)
		cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
		    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	iso(a, sizeof(a), start);
	iso(b, sizeof(b), time(NULL));
	if (snprintf(path, sizeof(path), "%s/serve.log", s->area.state) >=
	    (int)sizeof(path) || !(f = fopen(path, "ae")))
		return;
	fprintf(f, "%s %s accepted %llu bytes %llu refused %llu cpu %.3f "
	    "end %s\n", a, b, (unsigned long long)s->accepted,
	    (unsigned long long)s->accepted_bytes,
	    (unsigned long long)s->refused, cpu,
	    rc == 0 ? "eof" : strerror(-rc));
	fclose(f);
}

static void
serve_usage(FILE *f)
{
	fprintf(f, "usage: beemo-center serve --area AREA\n"
		   "\n"
		   "The SFTP server of AREA on standard input and output, run "
		   "by sshd\nas the forced command of an appliance's key: it "
		   "adds objects, never\nremoves or changes one "
		   "(beemo-center(8)).\n"
		   "\n"
		   "  -a, --area AREA  the area served\n");
}

int
center_cmd_serve(struct center_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"area", required_argument, NULL, 'a'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	char err[512], part[PATH_MAX + 16];
	const char *area = NULL;
	struct serve *s;
	time_t start = time(NULL);
	int c, rc, i, status = CENTER_EXIT_FAIL;

	while ((c = getopt_long(argc, argv, "a:h", opts, NULL)) != -1) {
		if (c == 'a') {
			area = optarg;
		} else {
			serve_usage(c == 'h' ? stdout : stderr);
			return c == 'h' ? CENTER_EXIT_OK : CENTER_EXIT_USAGE;
		}
	}
	if (!area || optind != argc) {
		serve_usage(stderr);
		return CENTER_EXIT_USAGE;
	}
	if ((s = calloc(1, sizeof(*s))) != NULL)
		s->ctx = ctx;
	if (!s) {
		fprintf(stderr, "beemo-center: out of memory\n");
		return CENTER_EXIT_FAIL;
	}
	s->datafd = s->partfd = -1;
	if ((rc = center_area_open(ctx, area, &s->area, err, sizeof(err)))) {
		fprintf(stderr, "beemo-center: %s\n", err);
		free(s);
		return CENTER_EXIT_FAIL;
	}
	snprintf(part, sizeof(part), "%s/partial", s->area.state);
	if ((mkdir(part, 0700) != 0 && errno != EEXIST) ||
	    (s->partfd = open(part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0 ||
	    (s->datafd = open(s->area.data, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) < 0) {
		fprintf(stderr, "beemo-center: %s: %s\n", area,
		    strerror(errno));
		goto out;
	}
	(void)center_usage_get(&s->area, &s->usage);
	(void)serve_partials(s);
	serve_in.fd = STDIN_FILENO;
	s->out.fd = STDOUT_FILENO;
	widen(STDIN_FILENO, SO_RCVBUF);
	widen(STDOUT_FILENO, SO_SNDBUF);
	rc = serve_loop(s, &serve_in);
	serve_log(s, start, rc);
	status = rc == 0 ? CENTER_EXIT_OK : CENTER_EXIT_FAIL;
	for (i = 0; i < SERVE_HANDLES; i++) {
		if (s->h[i].kind == H_DIR)
			closedir(s->h[i].dir);
		else if (s->h[i].kind != H_FREE)
			close(s->h[i].fd);
	}
out:
	if (s->datafd >= 0)
		close(s->datafd);
	if (s->partfd >= 0)
		close(s->partfd);
	center_area_close(&s->area);
	free(s);
	return status;
}
