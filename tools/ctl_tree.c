/*
 * ctl_tree.c -- paths inside a snapshot's tree (ctl_tree.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "ctl_tree.h"

int
ctl_tree_norm(const char *in, char *out, size_t size)
{
	size_t len = 0;
	const char *p = in;

	if (size < 2)
		return -ENAMETOOLONG;
	while (*p != '\0') {
		const char *end;
		size_t n;

		while (*p == '/')
			p++;
		end = p + strcspn(p, "/");
		n = (size_t)(end - p);
		if (n == 0 || (n == 1 && p[0] == '.')) {
			/* nothing, or "." */
		} else if (n == 2 && p[0] == '.' && p[1] == '.') {
			if (len == 0)
				return -EINVAL;
			while (len > 0 && out[len - 1] != '/')
				len--;
			len--; /* the slash before the dropped name */
		} else {
			if (len + 1 + n + 1 > size)
				return -ENAMETOOLONG;
			out[len++] = '/';
			memcpy(out + len, p, n);
			len += n;
		}
		p = end;
	}
	if (len == 0)
		out[len++] = '/';
	out[len] = '\0';
	return 0;
}

int
ctl_tree_resolve(store *st, uint32_t id, const char *path,
    struct store_attr *a)
{
	char name[4096];
	const char *p = path;
	int rc;

	if ((rc = store_getattr(st, store_snapshot_ino(id), a)) != 0)
		return rc;
	while (*p != '\0') {
		size_t n;

		while (*p == '/')
			p++;
		if ((n = strcspn(p, "/")) == 0)
			break;
		if (n >= sizeof(name))
			return -ENAMETOOLONG;
		if (!S_ISDIR(a->mode))
			return -ENOTDIR;
		memcpy(name, p, n);
		name[n] = '\0';
		if ((rc = store_lookup(st, a->ino, name, a)) != 0)
			return rc;
		p += n;
	}
	return 0;
}

int
ctl_tree_lookup(store *st, uint32_t id, const char *in, struct store_attr *a,
    char *norm, size_t size)
{
	int rc = ctl_tree_norm(in, norm, size);

	return rc != 0 ? rc : ctl_tree_resolve(st, id, norm, a);
}

/* The types of node: ls(1)'s letter, the JSON word. */
static const struct {
	uint32_t fmt;
	char letter;
	const char *word;
} types[] = {
	{S_IFREG, '-', "file"},
	{S_IFDIR, 'd', "dir"},
	{S_IFLNK, 'l', "symlink"},
	{S_IFIFO, 'p', "fifo"},
	{S_IFSOCK, 's', "socket"},
	{S_IFCHR, 'c', "char"},
	{S_IFBLK, 'b', "block"},
};

/* The index in types[] of @mode's type (a regular file if unknown). */
static size_t
type_of(uint32_t mode)
{
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if ((mode & S_IFMT) == types[i].fmt)
			return i;
	return 0;
}

char *
ctl_tree_mode(char *buf, uint32_t mode)
{
	static const char rwx[] = "rwxrwxrwx";
	int i;

	buf[0] = types[type_of(mode)].letter;
	for (i = 0; i < 9; i++)
		buf[1 + i] = mode & (0400U >> i) ? rwx[i] : '-';
	if (mode & S_ISUID)
		buf[3] = buf[3] == 'x' ? 's' : 'S';
	if (mode & S_ISGID)
		buf[6] = buf[6] == 'x' ? 's' : 'S';
	if (mode & S_ISVTX)
		buf[9] = buf[9] == 'x' ? 't' : 'T';
	buf[10] = '\0';
	return buf;
}

const char *
ctl_tree_type(uint32_t mode)
{
	return types[type_of(mode)].word;
}

char *
ctl_tree_time(char *buf, size_t size, const struct timespec *t, int rfc3339)
{
	struct tm tm;
	time_t s = t->tv_sec;
	size_t n;

	if (localtime_r(&s, &tm) == NULL) {
		snprintf(buf, size, "?");
		return buf;
	}
	if (!rfc3339) {
		strftime(buf, size, "%Y-%m-%d %H:%M", &tm);
		return buf;
	}
	/* strftime's %z is "+0100": RFC 3339 wants "+01:00". */
	n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S%z", &tm);
	if (n >= 5 && n + 2 <= size) {
		memmove(buf + n - 1, buf + n - 2, 3);
		buf[n - 2] = ':';
	}
	return buf;
}
