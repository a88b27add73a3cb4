/*
 * quota.h -- the quota policy of a machine, in one place.
 *
 * A machine has a soft and a hard limit on the bytes the appliance holds
 * for it (store_stats' "used": its packs, deduplicated and compressed,
 * its index and its staging files); 0 is no limit, and then the default
 * share of the disk ([store] machine_quota, bm_space.h) is the hard
 * limit.  The hard limit is the store's own (writes past it fail with
 * EDQUOT, statfs shows it).
 * The soft limit is watched: crossing it, either way, is journaled as a
 * "quota" entry by "beemofs" and raises or clears the report condition
 * "quota:NAME" (one mail when raised, one "resolved" mail when cleared).
 * The [machine NAME] quota_soft and quota_hard keys of the configuration,
 * when present, win: they are applied at every mount and a request to
 * change them is refused.
 *
 * The running beemofs of a machine uses these functions on its open
 * store (and serves "quota-set" on its control socket with quota_set);
 * beemoctl asks that daemon when the machine is mounted, and otherwise
 * calls the same functions on the store it opens.
 *
 * Locking: none of its own; the functions call the store (store.h) and
 * must not run under the store's locks.  Two concurrent quota_check()
 * calls on one store must be serialized by the caller.
 */
#ifndef BEEMO_QUOTA_H
#define BEEMO_QUOTA_H

#include <stdint.h>

#include "bm_conf.h"
#include "bm_err.h"
#include "bm_report.h"
#include "store.h"

/* A change of the limits: which ones, and their new values (bytes). */
struct quota_change {
	int set_soft, set_hard;
	uint64_t soft, hard;
};

/*
 * quota_conf_check -- whether @c may change the limits of @machine:
 * 0, or BEEMO_ECONFIG when @conf sets a limit that @c changes, with
 * the reason for people in @msg (@size bytes).
 */
int quota_conf_check(const bm_conf *conf, const char *machine,
    const struct quota_change *c, char *msg, size_t size);

/*
 * quota_set -- change the limits of @machine's store @st as @c says,
 * after quota_conf_check(), and journal a "quota" entry "quota set: soft
 * N bytes, hard N bytes" by @who.  A failure to journal is logged, not
 * returned.  Returns 0, BEEMO_ECONFIG (with @msg), or an error of the
 * store (@msg empty).
 */
int quota_set(store *st, const bm_conf *conf, const char *machine,
    const struct quota_change *c, const char *who, char *msg, size_t size);

/*
 * quota_apply_conf -- at mount: give the store the limits @conf sets
 * for @machine, if they differ, and journal it by "configuration".
 * Returns 0 (also when nothing changed) or an error of the store.
 */
int quota_apply_conf(store *st, const bm_conf *conf, const char *machine);

/*
 * The state of the soft limit and the report that tells it; report
 * points into the structure's own buffers.
 */
struct quota_state {
	int over;               /* used > soft limit (and one is set) */
	uint64_t stored, soft, hard; /* stored: the bytes used */
	char key[96], subject[256], text[1024];
	struct bm_report report; /* ready for bm_report_spool() */
};

/*
 * quota_check -- compare @machine's stored bytes with its soft limit.
 * @was: the state the caller knew (0 under, 1 over, -1 unknown).
 * Returns 1 when the state differs from @was: @q holds the new state and
 * its report, which the caller spools; when @was was known (>= 0) the
 * crossing is journaled too.  Returns 0 when it did not change, or an
 * error of the store.
 */
int quota_check(store *st, const char *machine, int was,
    struct quota_state *q);

#endif /* BEEMO_QUOTA_H */
