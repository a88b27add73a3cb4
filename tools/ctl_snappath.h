/*
 * ctl_snappath.h -- finding a path inside a snapshot, for the verbs that
 * look into one without mounting it (diff, export).
 *
 * A PATH argument names a file or directory from the root of the
 * snapshot: components separated by any number of '/', a leading '/'
 * optional, "." ignored.  ".." is refused rather than resolved, so that
 * no spelling of a path reaches above the root.
 */
#ifndef BEEMO_CTL_SNAPPATH_H
#define BEEMO_CTL_SNAPPATH_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/*
 * ctl_snap_path -- look @path up below the root of snapshot @id of @st.
 * @a: receives the attributes of what @path names.
 * @norm: receives the normalised path, "" for the root, else "/a/b",
 *   in @size bytes.
 * Returns 0; -EINVAL when @path holds ".."; -ENOENT, -ENOTDIR as
 * store_lookup(); -ENAMETOOLONG when @norm is too small; -ENOMEM; or an
 * error of the store (store_getattr(), store_lookup()).  No locking
 * beyond the store's own.
 */
int ctl_snap_path(store *st, uint32_t id, const char *path,
    struct store_attr *a, char *norm, size_t size);

#endif /* BEEMO_CTL_SNAPPATH_H */
