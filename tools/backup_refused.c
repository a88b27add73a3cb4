/*
 * backup_refused.c -- the files the appliance would not take during a
 * backup run (backup.h).
 *
 * The appliance's antivirus refuses an infected file after rsync closed
 * it.  By default ([store] close = background) the close returns and the
 * scan runs meanwhile: the file is gone when rsync renames its temporary
 * file, ".NAME.XXXXXX" in the same directory, to NAME (the rename fails
 * with ENOENT, rsync goes on and exits 23), or after.  With close = wait,
 * close(2) fails with EIO and rsync's receiver stops the whole run on it
 * (exit status 11), naming the temporary file: so that one infected file
 * does not stop the backup of all others, beemo-backup notes each such
 * file by its real name, and runs rsync again with the file excluded (an
 * exclude rule anchored at the root of the transfer, which also keeps
 * rsync from deleting it on the appliance, where it never arrived).  The
 * appliance's list of refused files names them as rsync wrote them:
 * backup_refused_real() maps a temporary name back.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backup.h"

char *
backup_refused_real(const char *path)
{
	const char *base = strrchr(path, '/');
	size_t dirlen, len, i;
	char *out;

	base = base ? base + 1 : path;
	dirlen = (size_t)(base - path);
	len = strlen(base);
	/* ".NAME.XXXXXX": at least one byte of NAME, six of mkstemp's. */
	if (len < 9 || base[0] != '.' || base[len - 7] != '.')
		return strdup(path);
	for (i = len - 6; i < len; i++)
		if (!((base[i] >= 'a' && base[i] <= 'z') ||
		    (base[i] >= 'A' && base[i] <= 'Z') ||
		    (base[i] >= '0' && base[i] <= '9')))
			return strdup(path);
	if (!(out = malloc(dirlen + len - 8 + 1)))
		return NULL;
	memcpy(out, path, dirlen);
	memcpy(out + dirlen, base + 1, len - 8);
	out[dirlen + len - 8] = '\0';
	return out;
}

int
backup_refused_has(const struct backup_refused *f, const char *path)
{
	size_t i;

	while (*path == '/')
		path++;
	for (i = 0; i < f->n; i++)
		if (strcmp(f->real[i] + 1, path) == 0)
			return 1;
	return 0;
}

int
backup_refused_line(struct backup_refused *f, const char *line)
{
	/* EIO at close or write: the appliance waits for the scan at
	 * close ([store] close = wait).  ENOENT at the rename of the
	 * temporary file: the scan ran in the background after the close
	 * and removed it. */
	static const char *const what[] = {"] close failed on \"",
	    "] write failed on \"", "] rename \""};
	static const char *const why[] = {"Input/output error",
	    "Input/output error", "No such file or directory"};
	const char *p = NULL, *end;
	char *quoted, *real, **v;
	size_t i;

	if (strncmp(line, "rsync: [receiver]", 17) != 0)
		return 0;
	for (i = 0; i < 3 && !p; i++)
		if ((p = strstr(line, what[i])) && strstr(line, why[i]))
			p += strlen(what[i]);
		else
			p = NULL;
	if (!p || !(end = strstr(p, "\" (in ")))
		return 0;
	/* The name inside the module, rooted at "/" (with -R, the
	 * client's own absolute name). */
	if (!(quoted = malloc((size_t)(end - p) + 2)))
		return -ENOMEM;
	quoted[0] = '/';
	memcpy(quoted + (*p != '/'), p, (size_t)(end - p));
	quoted[(size_t)(end - p) + (*p != '/')] = '\0';
	real = backup_refused_real(quoted);
	free(quoted);
	if (!real)
		return -ENOMEM;
	if (backup_refused_has(f, real)) {
		free(real);
		return 1;
	}
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 16;

		if (!(v = realloc(f->real, cap * sizeof(*v)))) {
			free(real);
			return -ENOMEM;
		}
		f->real = v;
		f->cap = cap;
	}
	f->real[f->n++] = real;
	return 2;
}

char *
backup_refused_exclude(const char *path)
{
	size_t i, n = 0, len = strlen(path);
	int wild = strpbrk(path, "*?[") != NULL;
	char *out = malloc(strlen("--exclude=") + 2 * len + 1);

	if (!out)
		return NULL;
	strcpy(out, "--exclude=");
	n = strlen(out);
	/* A backslash escapes only in a pattern with a wildcard. */
	for (i = 0; i < len; i++) {
		if (wild && strchr("*?[\\", path[i]))
			out[n++] = '\\';
		out[n++] = path[i];
	}
	out[n] = '\0';
	return out;
}

void
backup_refused_free(struct backup_refused *f)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		free(f->real[i]);
	free(f->real);
	memset(f, 0, sizeof(*f));
}
