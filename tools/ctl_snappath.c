/*
 * ctl_snappath.c -- finding a path inside a snapshot (ctl_snappath.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ctl_snappath.h"

int
ctl_snap_path(store *st, uint32_t id, const char *path, struct store_attr *a,
    char *norm, size_t size)
{
	char *copy = strdup(path), *part, *save = NULL;
	size_t len = 0;
	int rc;

	if (copy == NULL)
		return -ENOMEM;
	*norm = '\0';
	rc = store_getattr(st, store_snapshot_ino(id), a);
	for (part = strtok_r(copy, "/", &save); rc == 0 && part != NULL;
	    part = strtok_r(NULL, "/", &save)) {
		if (strcmp(part, ".") == 0)
			continue;
		if (strcmp(part, "..") == 0)
			rc = -EINVAL;
		else if (!S_ISDIR(a->mode))
			rc = -ENOTDIR;
		else if ((rc = store_lookup(st, a->ino, part, a)) == 0 &&
		    (size_t)snprintf(norm + len, size - len, "/%s", part) >=
		    size - len)
			rc = -ENAMETOOLONG;
		len += strlen(norm + len);
	}
	free(copy);
	return rc;
}
