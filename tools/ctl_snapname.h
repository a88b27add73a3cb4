/*
 * ctl_snapname.h -- naming a snapshot the same way in every verb.
 *
 * A SNAPSHOT argument is one of (beemoctl(8), SNAPSHOT NAMES):
 *   N          the snapshot's id (1 to 65534)
 *   latest     the newest snapshot
 *   latest~N   the N-th snapshot before the newest (latest~0 is latest)
 *   a time     as bm_parse_time() reads it ("2026-12-01T08:00",
 *              "2026-12-01 08:00+01:00", "3d"): the newest snapshot taken
 *              at or before that time.  A day alone ("2026-12-01",
 *              "today", "yesterday") means the end of that local day: its
 *              last snapshot, or the newest before it
 *   a tag      (store_tag_valid(), given with beemoctl snapshot --tag):
 *              the newest snapshot with that tag
 * In that order: a tag can be neither a number nor a time, nor "latest".
 * Every verb that takes a snapshot resolves it here, so that every way of
 * naming one works in all of them.
 */
#ifndef BEEMO_CTL_SNAPNAME_H
#define BEEMO_CTL_SNAPNAME_H

#include <stddef.h>
#include <stdint.h>

#include "beemoctl.h"
#include "store.h"

/*
 * ctl_snap_resolve -- the snapshot @arg names in the store @st.
 * @out: receives its store_snapinfo (id, time, files, bytes, note, tags).
 * Returns 0; CTL_USAGE after a message when @arg is not a snapshot name;
 * CTL_FAIL after a message when no snapshot has that name (or none
 * exists) or the list cannot be read.
 */
int ctl_snap_resolve(const struct ctl *ctl, store *st, const char *arg,
    struct store_snapinfo *out);

/*
 * ctl_snap_resolve_list -- the same among the snapshots @v (@n of them,
 * oldest first, as store_snapshots() and control_snapshots() give them).
 * @out: receives a copy of the snapshot named.  Returns as
 * ctl_snap_resolve().
 */
int ctl_snap_resolve_list(const struct ctl *ctl,
    const struct store_snapinfo *v, size_t n, const char *arg,
    struct store_snapinfo *out);

#endif /* BEEMO_CTL_SNAPNAME_H */
