/*
 * store_acl.c -- POSIX ACLs, kept as the extended attributes
 * system.posix_acl_access and system.posix_acl_default.
 *
 * With ACLs enabled, the Linux FUSE client leaves to the file system what
 * ext4 does in the kernel: an access ACL also sets the mode's permission
 * bits (and one equivalent to the mode is not stored at all), chmod
 * rewrites the owner, mask and other entries, and a new file or
 * directory inherits its parent's default ACL (then the umask does not
 * apply).  Values use the kernel's xattr encoding: a little-endian u32
 * version (2), then 8-byte entries {u16 tag, u16 perm, u32 id}.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store_codec.h"

#define ACL_VERSION 2
#define TAG_USER_OBJ 0x01
#define TAG_USER 0x02
#define TAG_GROUP_OBJ 0x04
#define TAG_GROUP 0x08
#define TAG_MASK 0x10
#define TAG_OTHER 0x20

static uint16_t
le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static void
set_perm(uint8_t *e, unsigned perm)
{
	e[2] = (uint8_t)(perm & 7);
	e[3] = 0;
}

/* Check the encoding; find the entries that map onto the mode. */
static int
parse(const uint8_t *v, size_t len, const uint8_t **uobj,
    const uint8_t **gobj, const uint8_t **mask, const uint8_t **other)
{
	size_t i;

	*uobj = *gobj = *mask = *other = NULL;
	if (len < 4 || (len - 4) % 8 != 0 || le32(v) != ACL_VERSION)
		return -EINVAL;
	for (i = 4; i < len; i += 8) {
		switch (le16(v + i)) {
		case TAG_USER_OBJ:
			*uobj = v + i;
			break;
		case TAG_GROUP_OBJ:
			*gobj = v + i;
			break;
		case TAG_MASK:
			*mask = v + i;
			break;
		case TAG_OTHER:
			*other = v + i;
			break;
		case TAG_USER:
		case TAG_GROUP:
			break;
		default:
			return -EINVAL;
		}
	}
	if (*uobj == NULL || *gobj == NULL || *other == NULL)
		return -EINVAL;
	return 0;
}

int
acl_mode(const uint8_t *v, size_t len, uint32_t *perm, int *equiv)
{
	const uint8_t *u, *g, *m, *o;
	int rc = parse(v, len, &u, &g, &m, &o);

	if (rc != 0)
		return rc;
	*perm = (uint32_t)(le16(u + 2) & 7) << 6 |
	    (uint32_t)(le16((m ? m : g) + 2) & 7) << 3 | (le16(o + 2) & 7);
	*equiv = len == 4 + 3 * 8;
	return 0;
}

int
acl_chmod(uint8_t *v, size_t len, uint32_t mode)
{
	const uint8_t *u, *g, *m, *o;
	int rc = parse(v, len, &u, &g, &m, &o);

	if (rc != 0)
		return rc;
	set_perm((uint8_t *)u, mode >> 6);
	set_perm((uint8_t *)(m ? m : g), mode >> 3);
	set_perm((uint8_t *)o, mode);
	return 0;
}

int
acl_inherit(const uint8_t *def, size_t len, uint32_t *mode, uint8_t **out,
    size_t *outlen)
{
	const uint8_t *u, *g, *m, *o;
	uint8_t *a;
	int rc = parse(def, len, &u, &g, &m, &o);

	if (rc != 0)
		return rc;
	if ((a = malloc(len)) == NULL)
		return -ENOMEM;
	memcpy(a, def, len);
	/* The new ACL's owner, mask (or group) and other entries are the
	 * default's ANDed with the requested mode; the mode follows. */
	parse(a, len, &u, &g, &m, &o);
	set_perm((uint8_t *)u, le16(u + 2) & (*mode >> 6));
	set_perm((uint8_t *)(m ? m : g), le16((m ? m : g) + 2) & (*mode >> 3));
	set_perm((uint8_t *)o, le16(o + 2) & *mode);
	*mode = (*mode & ~0777U) | (uint32_t)(le16(u + 2) & 7) << 6 |
	    (uint32_t)(le16((m ? m : g) + 2) & 7) << 3 | (le16(o + 2) & 7);
	*out = a;
	*outlen = len;
	return 0;
}
