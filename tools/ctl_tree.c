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

char *
ctl_tree_mode(char *buf, uint32_t mode)
{
	static const char rwx[] = "rwxrwxrwx";
	int i;

	switch (mode & S_IFMT) {
	case S_IFDIR: buf[0] = 'd'; break;
	case S_IFLNK: buf[0] = 'l'; break;
	case S_IFIFO: buf[0] = 'p'; break;
	case S_IFSOCK: buf[0] = 's'; break;
	case S_IFCHR: buf[0] = 'c'; break;
	case S_IFBLK: buf[0] = 'b'; break;
	default: buf[0] = '-';
	}
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
	switch (mode & S_IFMT) {
	case S_IFDIR: return "dir";
	case S_IFLNK: return "symlink";
	case S_IFIFO: return "fifo";
	case S_IFSOCK: return "socket";
	case S_IFCHR: return "char";
	case S_IFBLK: return "block";
	default: return "file";
	}
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
