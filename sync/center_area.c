/*
 * center_area.c -- an area of a storage center: its settings, its usage
 * counter, its journal and its mail (center.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bm_conf.h"
#include "bm_err.h"
#include "bm_file.h"
#include "bm_log.h"
#include "bm_mail.h"
#include "bm_time.h"
#include "center.h"

#define MAIL_COMMAND_DEFAULT "/usr/sbin/sendmail -t -i"
#define MAIL_TIMEOUT_MS 60000

/* A state file that root (the center's timers) creates is given to the
 * area's owner, whose `serve` must write it too. */
static void
own_like_area(const struct center_area *a, int fd)
{
	struct stat st;

	if (geteuid() == 0 && stat(a->path, &st) == 0 && st.st_uid != 0 &&
	    fchown(fd, st.st_uid, st.st_gid) != 0)
		bm_log(LOG_WARNING, "%s: cannot give a state file to the "
		    "area's owner: %s", a->path, strerror(errno));
}

static int
is_dir(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int
center_area_open(const struct center_ctx *ctx, const char *path,
    struct center_area *a, char *err, size_t errlen)
{
	char conf[PATH_MAX];
	bm_conf *c = NULL;
	const char *base, *v;
	int rc;

	memset(a, 0, sizeof(*a));
	if (bm_path(a->path, sizeof(a->path), "%s", path) != 0 ||
	    bm_path(a->data, sizeof(a->data), "%s/data", path) != 0 ||
	    bm_path(a->state, sizeof(a->state), "%s/state", path) != 0 ||
	    bm_path(conf, sizeof(conf), "%s/area.conf", path) != 0) {
		snprintf(err, errlen, "%s: path too long", path);
		return -ENAMETOOLONG;
	}
	if (!is_dir(a->data) || !is_dir(a->state)) {
		snprintf(err, errlen, "%s is not an area of beemo-center (no "
		    "data/ or state/ directory; see beemo-center add)", path);
		return -ENOENT;
	}
	if (access(conf, F_OK) == 0) {
		if ((rc = bm_conf_load(conf, &c, err, errlen)) != 0)
			return rc;
	} else if (!(c = bm_conf_empty())) {
		return -ENOMEM;
	}
	base = strrchr(a->path, '/');
	base = base && base[1] ? base + 1 : a->path;
	v = bm_conf_get(c, "area", NULL, "name", base);
	snprintf(a->name, sizeof(a->name), "%s", v);
	a->quota = bm_conf_get_size(c, "area", NULL, "quota",
	    bm_conf_get_size(ctx->conf, "center", NULL, "quota", 0));
	a->grace = bm_conf_get_u64(c, "area", NULL, "grace",
	    bm_conf_get_u64(ctx->conf, "center", NULL, "grace",
	    CENTER_GRACE_DEFAULT));
	v = bm_conf_get(c, "area", NULL, "mail_to", "");
	if (*v && !(a->mail_to = strdup(v))) {
		bm_conf_free(c);
		return -ENOMEM;
	}
	bm_conf_free(c);
	return 0;
}

void
center_area_close(struct center_area *a)
{
	free(a->mail_to);
	a->mail_to = NULL;
}

/* The bytes of every regular file under @dir (the first count). */
static int
count_dir(int dfd, uint64_t *total)
{
	DIR *d;
	struct dirent *e;
	struct stat st;
	int rc = 0;

	if (!(d = fdopendir(dfd))) {
		rc = -errno;
		close(dfd);
		return rc;
	}
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW)) {
			rc = -errno;
			break;
		}
		if (S_ISREG(st.st_mode)) {
			/* A temporary counts once accepted (renamed). */
			if (strncmp(e->d_name, ".tmp-", 5) != 0)
				*total += (uint64_t)st.st_size;
		} else if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd(d), e->d_name,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (sub < 0 || (rc = count_dir(sub, total)) != 0) {
				rc = sub < 0 ? -errno : rc;
				break;
			}
		}
	}
	closedir(d);
	return rc;
}

int
center_usage_add(const struct center_area *a, int64_t delta, uint64_t *now)
{
	char path[PATH_MAX], buf[32];
	uint64_t cur = 0;
	ssize_t n;
	int fd, rc = 0;

	if (bm_path(path, sizeof(path), "%s/usage", a->state) != 0)
		return -ENAMETOOLONG;
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
		return -errno;
	own_like_area(a, fd);
	if (flock(fd, LOCK_EX) != 0) {
		rc = -errno;
		goto out;
	}
	if ((n = pread(fd, buf, sizeof(buf) - 1, 0)) < 0) {
		rc = -errno;
		goto out;
	}
	buf[n] = '\0';
	if (n == 0) {
		/* No count yet: the first one walks data/. */
		int dfd = open(a->data, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (dfd < 0 || (rc = count_dir(dfd, &cur)) != 0) {
			rc = dfd < 0 ? -errno : rc;
			goto out;
		}
		/* The walk already saw what @delta reports: callers
		 * account for a file once it is in place (or gone). */
		delta = 0;
	} else {
		cur = strtoull(buf, NULL, 10);
	}
	if (delta < 0)
		cur = (uint64_t)-delta > cur ? 0 : cur - (uint64_t)-delta;
	else
		cur += (uint64_t)delta;
	n = snprintf(buf, sizeof(buf), "%" PRIu64 "\n", cur);
	if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)n, 0) != n) {
		rc = -errno;
		goto out;
	}
	if (now)
		*now = cur;
out:
	close(fd); /* drops the lock */
	return rc;
}

int
center_usage_get(const struct center_area *a, uint64_t *now)
{
	return center_usage_add(a, 0, now);
}

int
center_journal(const struct center_area *a, const char *fmt, ...)
{
	char path[PATH_MAX], ts[32], *line = NULL;
	va_list ap;
	int fd, n, rc = 0;

	if (bm_path(path, sizeof(path), "%s/journal", a->state) != 0)
		return -ENAMETOOLONG;
	va_start(ap, fmt);
	n = vasprintf(&line, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	bm_time_str(ts, sizeof(ts), bm_now_ns());
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0600)) < 0) {
		rc = -errno;
		goto out;
	}
	own_like_area(a, fd);
	if (dprintf(fd, "%s %s\n", ts, line) < 0 || fsync(fd) != 0)
		rc = -errno;
	close(fd);
out:
	free(line);
	return rc;
}

int
center_mail(const struct center_ctx *ctx, const struct center_area *a,
    const char *subject, const char *body)
{
	char host[256], from[320], err[512], *msg = NULL;
	struct bm_mail m;
	size_t len;
	int rc;

	if (!a->mail_to) {
		(void)center_journal(a, "mail not sent (no [area] mail_to): "
		    "%s", subject);
		return 0;
	}
	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	snprintf(from, sizeof(from), "beemo-center@%s", host);
	memset(&m, 0, sizeof(m));
	m.from = bm_conf_get(ctx->conf, "mail", NULL, "from", from);
	m.to = a->mail_to;
	m.subject = subject;
	m.body = body;
	if ((rc = bm_mail_format(&m, bm_now_ns(), &msg, &len)) != 0) {
		(void)center_journal(a, "mail not sent ([mail] from or "
		    "[area] mail_to is not an address): %s", subject);
		return rc;
	}
	rc = bm_mail_send(bm_conf_get(ctx->conf, "mail", NULL, "command",
	    MAIL_COMMAND_DEFAULT), msg, len, MAIL_TIMEOUT_MS, err,
	    sizeof(err));
	if (rc == 0)
		(void)center_journal(a, "mail sent to %s: %s", a->mail_to,
		    subject);
	else
		(void)center_journal(a, "mail to %s failed (%s): %s",
		    a->mail_to, err, subject);
	free(msg);
	return rc;
}
