/*
 * bm_file.c -- durable file writes, the bounded reader, directories and
 * paths (bm_file.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bm_file.h"

static int
write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
bm_fsync_dir(const char *path)
{
	char dir[PATH_MAX];
	struct stat st;
	char *slash;
	int fd, rc = 0;

	if (bm_path(dir, sizeof(dir), "%s", path) != 0)
		return -ENAMETOOLONG;
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		slash = strrchr(dir, '/');
		if (slash == NULL)
			strcpy(dir, ".");
		else if (slash == dir)
			dir[1] = '\0';
		else
			*slash = '\0';
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) != 0)
		rc = -errno;
	close(fd);
	return rc;
}

/*
 * Creation without a name until the file is whole: an unnamed file of
 * @path's directory (O_TMPFILE), linked to @path once written and
 * synced, so that a writer killed at any point leaves nothing behind.
 * Returns 0, -EEXIST, -EOPNOTSUPP (the file system or /proc cannot: the
 * caller uses a named temporary), or a negative errno.
 */
static int
create_unnamed(const char *path, const void *buf, size_t len, mode_t mode)
{
	char dir[PATH_MAX], proc[64];
	const char *slash = strrchr(path, '/');
	int fd, rc;

	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (bm_path(dir, sizeof(dir), "%.*s", (int)(slash - path) +
	    (slash == path), path) != 0)
		return -ENAMETOOLONG;
	if ((fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, mode)) < 0)
		return errno == EISDIR || errno == EOPNOTSUPP ||
		    errno == EINVAL ? -EOPNOTSUPP : -errno;
	if ((rc = write_all(fd, buf, len)) != 0)
		goto out;
	if (fchmod(fd, mode) != 0 || fsync(fd) != 0) {
		rc = -errno;
		goto out;
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW) != 0)
		rc = errno == ENOENT && access("/proc/self/fd", F_OK) != 0 ?
		    -EOPNOTSUPP : -errno;
out:
	close(fd);
	return rc != 0 ? rc : bm_fsync_dir(path);
}

int
bm_write_file_atomic(const char *path, const void *buf, size_t len,
    mode_t mode, int exclusive)
{
	char tmp[PATH_MAX];
	int fd, rc;

	if (exclusive && (rc = create_unnamed(path, buf, len, mode)) !=
	    -EOPNOTSUPP)
		return rc;

	/* A random name: @path may be in a directory others can write
	 * (a key file given as /tmp/pc1.poste), where a predictable one
	 * could be taken in advance. */
	if (bm_path(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path))
		return -ENAMETOOLONG;
	if (exclusive && access(path, F_OK) == 0)
		return -EEXIST;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if ((rc = write_all(fd, buf, len)) != 0)
		goto fail_unlink;
	if (fchmod(fd, mode) != 0 || fsync(fd) != 0) {
		rc = -errno;
		goto fail_unlink;
	}
	if (close(fd) != 0) {
		fd = -1;
		rc = -errno;
		goto fail_unlink;
	}
	fd = -1;
	if (exclusive) {
		/* link() fails if @path appeared meanwhile: creation stays
		 * exclusive even between two racing processes. */
		if (link(tmp, path) != 0) {
			rc = -errno;
			goto fail_unlink;
		}
		(void)unlink(tmp);
	} else if (rename(tmp, path) != 0) {
		rc = -errno;
		goto fail_unlink;
	}
	return bm_fsync_dir(path);

fail_unlink:
	if (fd >= 0)
		close(fd);
	(void)unlink(tmp);
	return rc;
}

int
bm_read_file(const char *path, size_t maxlen, uint8_t **out, size_t *outlen)
{
	struct stat st;
	uint8_t *buf = NULL;
	size_t len = 0;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0) {
		rc = -errno;
		goto fail_close;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		goto fail_close;
	}
	if ((uint64_t)st.st_size > maxlen) {
		rc = -EFBIG;
		goto fail_close;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		rc = -ENOMEM;
		goto fail_close;
	}
	while (len < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			goto fail_free;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	close(fd);
	*out = buf;
	*outlen = len;
	return 0;

fail_free:
	free(buf);
fail_close:
	close(fd);
	return rc;
}

int
bm_mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	char *p;

	if (bm_path(buf, sizeof(buf), "%s", path) != 0)
		return -ENAMETOOLONG;
	for (p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) != 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) != 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int
bm_path(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return 0;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void
bm_names_free(char **names, size_t n)
{
	size_t i;

	for (i = 0; names != NULL && i < n; i++)
		free(names[i]);
	free(names);
}

int
bm_list_dir(const char *dir, int (*ok)(const char *), char ***out,
    size_t *n)
{
	DIR *d;
	struct dirent *e;
	char **v = NULL, **nv;
	size_t cap = 0, cnt = 0;
	int rc = 0;

	*out = NULL;
	*n = 0;
	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
		    (ok != NULL && !ok(e->d_name)))
			continue;
		if (cnt == cap) {
			cap = cap ? cap * 2 : 64;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL) {
				rc = -ENOMEM;
				break;
			}
			v = nv;
		}
		if ((v[cnt] = strdup(e->d_name)) == NULL) {
			rc = -ENOMEM;
			break;
		}
		cnt++;
	}
	closedir(d);
	if (rc != 0) {
		bm_names_free(v, cnt);
		return rc;
	}
	if (cnt > 1)
		qsort(v, cnt, sizeof(*v), name_cmp);
	*out = v;
	*n = cnt;
	return 0;
}
