/*
 * ctl_snapname.h -- naming a snapshot the same way in every verb.
 *
 * A SNAPSHOT argument is one of:
 *   N          the snapshot's id (1 to 65534)
 *   latest     the newest snapshot
 * Every verb that takes a snapshot resolves it with ctl_snap_resolve(),
 * so that a new way of naming one (latest~N, a date, a tag) works in all
 * of them at once.
 */
#ifndef BEEMO_CTL_SNAPNAME_H
#define BEEMO_CTL_SNAPNAME_H

#include <stdint.h>

#include "beemoctl.h"
#include "store.h"

/*
 * ctl_snap_resolve -- the snapshot @arg names in the store @st.
 * @out: receives its store_snapinfo (id, time, files, bytes, note).
 * Returns 0; CTL_USAGE after a message when @arg is not a snapshot name;
 * CTL_FAIL after a message when no snapshot has that name (or none
 * exists) or the list cannot be read.
 */
int ctl_snap_resolve(const struct ctl *ctl, store *st, const char *arg,
    struct store_snapinfo *out);

#endif /* BEEMO_CTL_SNAPNAME_H */
