/*
 * store_ns_xattr.c -- the namespace: extended attributes, POSIX ACLs
 * among them (store_acl.c gives their meaning).
 *
 * Every operation runs under the index lock; see store_ns.h.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <linux/fs.h>

#include "store_ns.h"
#include "store_record.h"
#include "store_snap.h"

/* ---- extended attributes -------------------------------------------- */


/* Namespaces as ext4: user., trusted., security., and the two ACLs. */
static int
xattr_name_check(const char *name)
{
	static const char *const ns[] = {"user.", "trusted.", "security.",
	    NULL};
	int i;

	if (!strcmp(name, XATTR_ACL_ACCESS) || !strcmp(name, XATTR_ACL_DEFAULT))
		return 0;
	for (i = 0; ns[i] != NULL; i++)
		if (!strncmp(name, ns[i], strlen(ns[i])))
			return name[strlen(ns[i])] == '\0' ? -EINVAL : 0;
	return !strcmp(name, "system.") ? -EINVAL : -EOPNOTSUPP;
}

/* Set @name to @value in @in (no flags checks). */
int
ns_xattr_put(struct inode *in, const char *name, const void *value,
    size_t size)
{
	struct xattr *x = ns_xattr_find(in, name);
	uint32_t i, total = 0;
	uint8_t *copy;

	for (i = 0; i < in->nxattrs; i++)
		if (&in->xattrs[i] != x)
			total += in->xattrs[i].len;
	if (total + size > XATTR_TOTAL_MAX)
		return -ENOSPC;
	if ((copy = malloc(size + 1)) == NULL)
		return -ENOMEM;
	if (size > 0)
		memcpy(copy, value, size);
	if (x == NULL) {
		struct xattr *nx;

		if (in->nxattrs >= 65535 || (nx = realloc(in->xattrs,
		    (in->nxattrs + 1) * sizeof(*nx))) == NULL) {
			free(copy);
			return in->nxattrs >= 65535 ? -ENOSPC : -ENOMEM;
		}
		in->xattrs = nx;
		x = &in->xattrs[in->nxattrs];
		memset(x, 0, sizeof(*x));
		if ((x->name = strdup(name)) == NULL) {
			free(copy);
			return -ENOMEM;
		}
		in->nxattrs++;
	}
	free(x->value);
	x->value = copy;
	x->len = (uint32_t)size;
	return 0;
}

static void
xattr_drop(struct inode *in, struct xattr *x)
{
	free(x->name);
	free(x->value);
	*x = in->xattrs[--in->nxattrs];
}

int
store_setxattr(store *st, uint64_t ino, const char *name, const void *value,
    size_t size, int flags)
{
	struct inode in;
	struct xattr *x;
	uint32_t perm;
	int rc, equiv = 0;

	if ((rc = ns_live_check(st, ino)) != 0)
		return rc;
	if (strlen(name) == 0 || strlen(name) > 255)
		return -ERANGE;
	if ((rc = xattr_name_check(name)) != 0)
		return rc;
	if (size > 65536)
		return -E2BIG;
	if ((rc = store_space_check(st, size, 1)) != 0)
		return rc;
	ns_lock(st);
	if ((rc = inode_get(st, ino, SEQ_LIVE, &in)) != 0)
		goto unlock;
	x = ns_xattr_find(&in, name);
	if (x != NULL && (flags & XATTR_CREATE)) {
		rc = -EEXIST;
		goto free_in;
	}
	if (x == NULL && (flags & XATTR_REPLACE)) {
		rc = -ENODATA;
		goto free_in;
	}
	if (!strcmp(name, XATTR_ACL_ACCESS)) {
		/* The ACL sets the mode; one that says no more than the
		 * mode is not kept (as ext4). */
		if ((rc = acl_mode(value, size, &perm, &equiv)) != 0)
			goto free_in;
		in.mode = (in.mode & ~0777U) | perm;
	} else if (!strcmp(name, XATTR_ACL_DEFAULT)) {
		if (!S_ISDIR(in.mode)) {
			rc = -EACCES;
			goto free_in;
		}
		if (size > 0 && (rc = acl_mode(value, size, &perm, &equiv)))
			goto free_in;
		equiv = size == 0;
	}
	if (equiv && x != NULL)
		xattr_drop(&in, x);
	else if (!equiv && (rc = ns_xattr_put(&in, name, value, size)) != 0)
		goto free_in;
	ns_now(&in.ctime);
	rc = inode_put(st, &in);
free_in:
	inode_free(&in);
unlock:
	ix_unlock(st);
	return rc;
}

ssize_t
store_getxattr(store *st, uint64_t ino, const char *name, void *buf,
    size_t size)
{
	struct inode in;
	struct xattr *x;
	uint64_t seq;
	ssize_t rc;

	if (ns_hidden(st, ino))
		return -ENOENT;
	if (ino == STORE_SNAPDIR_INO)
		return -ENODATA;
	if ((rc = xattr_name_check(name)) != 0)
		return rc;
	if ((rc = view_seq(st, ino, &seq)) != 0)
		return rc;
	ix_lock(st);
	rc = inode_get(st, ino & STORE_INO_MASK, seq, &in);
	ix_unlock(st);
	if (rc != 0)
		return rc;
	if ((x = ns_xattr_find(&in, name)) == NULL)
		rc = -ENODATA;
	else if (size == 0)
		rc = x->len;
	else if (size < x->len)
		rc = -ERANGE;
	else {
		memcpy(buf, x->value, x->len);
		rc = x->len;
	}
	inode_free(&in);
	return rc;
}

ssize_t
store_listxattr(store *st, uint64_t ino, char *buf, size_t size)
{
	struct inode in;
	uint64_t seq;
	size_t need = 0;
	uint32_t i;
	ssize_t rc;

	if (ns_hidden(st, ino))
		return -ENOENT;
	if (ino == STORE_SNAPDIR_INO)
		return 0;
	if ((rc = view_seq(st, ino, &seq)) != 0)
		return rc;
	ix_lock(st);
	rc = inode_get(st, ino & STORE_INO_MASK, seq, &in);
	ix_unlock(st);
	if (rc != 0)
		return rc;
	for (i = 0; i < in.nxattrs; i++)
		need += strlen(in.xattrs[i].name) + 1;
	if (size == 0) {
		rc = (ssize_t)need;
	} else if (size < need) {
		rc = -ERANGE;
	} else {
		char *p = buf;

		for (i = 0; i < in.nxattrs; i++) {
			size_t n = strlen(in.xattrs[i].name) + 1;

			memcpy(p, in.xattrs[i].name, n);
			p += n;
		}
		rc = (ssize_t)need;
	}
	inode_free(&in);
	return rc;
}

int
store_removexattr(store *st, uint64_t ino, const char *name)
{
	struct inode in;
	struct xattr *x;
	int rc;

	if ((rc = ns_live_check(st, ino)) != 0)
		return rc;
	if ((rc = store_meta_check(st, 1)) != 0)
		return rc;
	ns_lock(st);
	if ((rc = inode_get(st, ino, SEQ_LIVE, &in)) != 0)
		goto unlock;
	if ((x = ns_xattr_find(&in, name)) == NULL) {
		rc = -ENODATA;
	} else {
		xattr_drop(&in, x);
		ns_now(&in.ctime);
		rc = inode_put(st, &in);
	}
	inode_free(&in);
unlock:
	ix_unlock(st);
	return rc;
}
