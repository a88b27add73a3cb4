/*
 * bm_tmpdir.c -- a private temporary directory in memory (see
 * bm_tmpdir.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "bm_file.h"
#include "bm_log.h"
#include "bm_tmpdir.h"

#define PARENT_NAME "beemo"
/* Deeper trees are left in place rather than recursed into without
 * bound; libclamav nests a few levels at most. */
#define TREE_DEPTH_MAX 32
#define DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

static void remove_entry(int dfd, const char *name, int depth);

/* Remove every entry of the directory open as @fd. */
static void
empty_dir(int fd, int depth)
{
	struct dirent *de;
	DIR *d;
	int dfd = dup(fd);

	if (dfd < 0)
		return;
	if ((d = fdopendir(dfd)) == NULL) {
		close(dfd);
		return;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			remove_entry(fd, de->d_name, depth);
	closedir(d);
}

/* Remove @name of the directory @dfd: a file or link by unlinkat, a
 * directory by emptying it through its own descriptor first. */
static void
remove_entry(int dfd, const char *name, int depth)
{
	int fd;

	if (unlinkat(dfd, name, 0) == 0 || errno != EISDIR ||
	    depth >= TREE_DEPTH_MAX)
		return;
	if ((fd = openat(dfd, name, DIR_FLAGS)) >= 0) {
		empty_dir(fd, depth + 1);
		close(fd);
	}
	(void)unlinkat(dfd, name, AT_REMOVEDIR);
}

/* Remove PREFIX-PID-* entries of the parent whose PID is gone. */
static void
remove_stale(const struct bm_tmpdir *td, const char *prefix)
{
	size_t plen = strlen(prefix);
	struct dirent *de;
	DIR *d;
	int dfd = dup(td->parent_fd);

	if (dfd < 0)
		return;
	if ((d = fdopendir(dfd)) == NULL) {
		close(dfd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		char *end;
		long pid;

		if (strncmp(de->d_name, prefix, plen) != 0 ||
		    de->d_name[plen] != '-')
			continue;
		errno = 0;
		pid = strtol(de->d_name + plen + 1, &end, 10);
		if (errno != 0 || pid <= 0 || *end != '-' ||
		    kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		bm_log(LOG_NOTICE, "removing %s/%s, left by process %ld",
		    td->parent, de->d_name, pid);
		remove_entry(td->parent_fd, de->d_name, 0);
	}
	closedir(d);
}

/* Is the directory open as @fd ours alone? */
static int
is_private(int fd)
{
	struct stat sb;

	return fstat(fd, &sb) == 0 && S_ISDIR(sb.st_mode) &&
	    sb.st_uid == geteuid() && (sb.st_mode & 077) == 0;
}

/*
 * Open (creating it if missing) the private parent in the base @base,
 * open as @base_fd.  BASE/beemo when it is ours alone; else a fresh
 * BASE/beemo-XXXXXX.  Fills td->parent, parent_fd and own_parent.
 */
static int
open_parent(int base_fd, const char *base, struct bm_tmpdir *td)
{
	char *leaf;
	int fd;

	if (mkdirat(base_fd, PARENT_NAME, 0700) != 0 && errno != EEXIST)
		return -errno;
	fd = openat(base_fd, PARENT_NAME, DIR_FLAGS);
	if (fd >= 0 && is_private(fd)) {
		td->parent_fd = fd;
		td->own_parent = 0;
		return bm_path(td->parent, sizeof(td->parent), "%s/%s", base,
		    PARENT_NAME);
	}
	if (fd >= 0)
		close(fd);
	bm_log(LOG_WARNING, "%s/%s is not a directory of uid %ld with mode "
	    "0700 (planted by another user?): it is not used", base,
	    PARENT_NAME, (long)geteuid());
	if (bm_path(td->parent, sizeof(td->parent), "%s/%s-XXXXXX", base,
	    PARENT_NAME) != 0)
		return -ENAMETOOLONG;
	if (mkdtemp(td->parent) == NULL)
		return -errno;
	leaf = strrchr(td->parent, '/') + 1;
	if ((fd = openat(base_fd, leaf, DIR_FLAGS)) < 0 || !is_private(fd)) {
		if (fd >= 0)
			close(fd);
		(void)unlinkat(base_fd, leaf, AT_REMOVEDIR);
		return -EACCES;
	}
	td->parent_fd = fd;
	td->own_parent = 1;
	return 0;
}

/* Make the directory in the base @base; 0, -ENOENT (not in memory) or
 * an error. */
static int
make_in(const char *base, const char *prefix, struct bm_tmpdir *td)
{
	struct statfs sf;
	const char *leaf;
	int base_fd, rc;

	if ((base_fd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -ENOENT;
	if (fstatfs(base_fd, &sf) != 0 || sf.f_type != TMPFS_MAGIC) {
		close(base_fd);
		return -ENOENT;
	}
	rc = open_parent(base_fd, base, td);
	if (rc == 0 && !td->own_parent)
		remove_stale(td, prefix);
	if (rc == 0)
		rc = bm_path(td->path, sizeof(td->path), "%s/%s-%ld-XXXXXX",
		    td->parent, prefix, (long)getpid());
	if (rc == 0 && mkdtemp(td->path) == NULL)
		rc = -errno;
	if (rc == 0) {
		/* Through the parent's descriptor: the directory opened is
		 * the one in the parent that was checked. */
		leaf = strrchr(td->path, '/') + 1;
		snprintf(td->name, sizeof(td->name), "%s", leaf);
		if ((td->fd = openat(td->parent_fd, td->name, DIR_FLAGS)) < 0)
			rc = -errno;
		else if (!is_private(td->fd))
			rc = -EACCES;
	}
	if (td->own_parent)
		td->base_fd = base_fd;
	else
		close(base_fd);
	if (rc != 0)
		bm_tmpdir_remove(td);
	return rc;
}

void
bm_tmpdir_init(struct bm_tmpdir *td)
{
	memset(td, 0, sizeof(*td));
	td->base_fd = td->parent_fd = td->fd = -1;
}

int
bm_tmpdir_make(const char *prefix, struct bm_tmpdir *td)
{
	static const char *const bases[] = {"/run", "/dev/shm", NULL};
	size_t i;
	int rc = -ENOENT, r;

	bm_tmpdir_init(td);
	if (prefix[0] == '\0' || strlen(prefix) > 32 ||
	    strspn(prefix, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") != strlen(prefix))
		return -EINVAL;
	for (i = 0; bases[i] != NULL; i++) {
		if ((r = make_in(bases[i], prefix, td)) == 0)
			return 0;
		if (r != -ENOENT || rc == -ENOENT)
			rc = r;
	}
	return rc;
}

void
bm_tmpdir_remove(struct bm_tmpdir *td)
{
	if (td->fd >= 0) {
		empty_dir(td->fd, 0);
		close(td->fd);
	}
	if (td->parent_fd >= 0) {
		if (td->name[0] != '\0')
			(void)unlinkat(td->parent_fd, td->name, AT_REMOVEDIR);
		close(td->parent_fd);
	}
	if (td->base_fd >= 0) {
		(void)unlinkat(td->base_fd, strrchr(td->parent, '/') + 1,
		    AT_REMOVEDIR);
		close(td->base_fd);
	}
	bm_tmpdir_init(td);
}

/* May somebody other than root and us write in the directory @sb? */
static int
others_write(const struct stat *sb)
{
	return (sb->st_mode & S_IWOTH) != 0 || ((sb->st_mode & S_IWGRP) &&
	    sb->st_gid != 0 && sb->st_gid != getegid());
}

/* The rule of bm_dir_trusted() for the component @p (@last: the
 * directory itself). */
static int
check_component(const char *p, int last, char *why, size_t whylen)
{
	struct stat sb;

	if (lstat(p, &sb) != 0) {
		snprintf(why, whylen, "%s: %s", p, strerror(errno));
		return -errno;
	}
	if (sb.st_uid != 0 && sb.st_uid != geteuid()) {
		snprintf(why, whylen, "%s belongs to uid %ld", p,
		    (long)sb.st_uid);
		return -EPERM;
	}
	if (S_ISDIR(sb.st_mode) && others_write(&sb) &&
	    (last || !(sb.st_mode & S_ISVTX))) {
		snprintf(why, whylen, "%s is writable by other users", p);
		return -EPERM;
	}
	return 0;
}

/* The rule along the absolute path @abs, from / down. */
static int
walk_trusted(const char *abs, char *why, size_t whylen)
{
	char prefix[PATH_MAX];
	size_t i, len = strlen(abs);
	int rc;

	if (len >= sizeof(prefix) || abs[0] != '/') {
		snprintf(why, whylen, "%s: not an absolute path", abs);
		return -EINVAL;
	}
	if ((rc = check_component("/", abs[strspn(abs, "/")] == '\0', why,
	    whylen)) != 0)
		return rc;
	for (i = 1; i <= len; i++) {
		if ((i < len && abs[i] != '/') || abs[i - 1] == '/')
			continue;
		memcpy(prefix, abs, i);
		prefix[i] = '\0';
		if ((rc = check_component(prefix,
		    abs[i + strspn(abs + i, "/")] == '\0', why, whylen)) != 0)
			return rc;
	}
	return 0;
}

int
bm_dir_trusted(const char *path, char *why, size_t whylen)
{
	char abs[PATH_MAX], *real;
	struct stat sb;
	int rc;

	if (path[0] == '/') {
		rc = bm_path(abs, sizeof(abs), "%s", path);
	} else {
		char cwd[PATH_MAX];

		if (getcwd(cwd, sizeof(cwd)) == NULL) {
			rc = -errno;
			snprintf(why, whylen, "current directory: %s",
			    strerror(-rc));
			return rc;
		}
		rc = bm_path(abs, sizeof(abs), "%s/%s", cwd, path);
	}
	if (rc != 0) {
		snprintf(why, whylen, "path too long");
		return rc;
	}
	if ((rc = walk_trusted(abs, why, whylen)) != 0)
		return rc;
	if ((real = realpath(abs, NULL)) == NULL) {
		rc = -errno;
		snprintf(why, whylen, "%s: %s", abs, strerror(-rc));
		return rc;
	}
	rc = walk_trusted(real, why, whylen);
	if (rc == 0 && (stat(real, &sb) != 0 || !S_ISDIR(sb.st_mode))) {
		snprintf(why, whylen, "%s is not a directory", real);
		rc = -ENOTDIR;
	}
	free(real);
	return rc;
}
