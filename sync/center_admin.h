/*
 * center_admin.h -- what the administration verbs of beemo-center share
 * (add and these functions in center_admin.c, remove in
 * center_admin_remove.c, list and status in center_admin_show.c).
 *
 * Design.  An area is named by the operator either by its NAME (the
 * area [center] root/NAME) or, for an area created elsewhere with
 * `add --area DIR`, by that directory.  The account of an area is the
 * owner of its directory.  Names of areas are the names of appliances:
 * 1 to 64 characters of [a-z0-9-], so that they are also valid in the
 * Unix account name "beemo-NAME" and in a path without quoting.
 *
 * No function here keeps state; all are for one thread.
 */
#ifndef BEEMO_CENTER_ADMIN_H
#define BEEMO_CENTER_ADMIN_H

#include <stddef.h>
#include <sys/types.h>

#include "center.h"

#define CENTER_NAME_MAX 64

/* center_name_ok -- 1 when @name is 1 to CENTER_NAME_MAX characters of
 * [a-z0-9-] not starting with '-', else 0. */
int center_name_ok(const char *name);

/*
 * center_area_locate -- the directory of the area named @name (
 * [center] root/NAME of @ctx), or @dir when not NULL, into @out of
 * @outlen.  Returns 0, -EINVAL (a bad @name: @err says why) or
 * -ENAMETOOLONG.
 */
int center_area_locate(const struct center_ctx *ctx, const char *name,
    const char *dir, char *out, size_t outlen, char *err, size_t errlen);

/* center_account -- the name of the account owning @path into @out of
 * @outlen ("uid N" when it has none, "?" when @path cannot be
 * stat'ed); @uid (may be NULL) receives its uid.  Returns @out. */
char *center_account(const char *path, char *out, size_t outlen,
    uid_t *uid);

#endif /* BEEMO_CENTER_ADMIN_H */
