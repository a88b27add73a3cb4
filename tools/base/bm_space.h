/*
 * bm_space.h -- the free-space policy of the store's file system, in one
 * place for every program that applies or shows it (beemofs refuses
 * writes and raises the alert by it; beemoctl status shows it).
 *
 * Design.  Several machines share the file system of the store
 * (beemo.conf's "store"), and everything the appliance must write to
 * keep its word lives there too: index commits, the journals, the
 * report spool.  So the file system keeps a reserve: below it, beemofs
 * refuses new data (ENOSPC at write() or close(), before anything is
 * acknowledged), and the reserve is left to commit, journal and report
 * what was already acknowledged.  Above the reserve, an alert threshold
 * raises the report condition "space" (one mail, "resolved" when space
 * comes back) while there is still room to act.  And a machine without
 * a hard quota of its own gets a default one, a share of the file
 * system, so that one client cannot fill it for all.
 *
 * The thresholds, from beemo.conf(5) [store] or by default:
 *   reserve        1% of the file system, at least 8 MiB, at most
 *                  1 GiB: a small disk keeps enough for its commits, a
 *                  large one does not waste much;
 *   space_alert    10% of the file system, at least twice the reserve;
 *   machine_quota  50% of the file system ("N%" or a size; 0: none).
 * A reserve or alert larger than the file system is cut to it.
 *
 * No lock, no state: every call reads the configuration and statvfs().
 */
#ifndef BEEMO_BM_SPACE_H
#define BEEMO_BM_SPACE_H

#include <stdint.h>

#include "bm_conf.h"

/* The largest write beemofs receives: under the reserve plus this,
 * writes are refused. */
#define BM_SPACE_WRITE (1ULL << 20)

enum bm_space_state {
	BM_SPACE_OK = 0,   /* above the alert threshold */
	BM_SPACE_LOW = 1,  /* under it: alert */
	BM_SPACE_FULL = 2, /* under the reserve + BM_SPACE_WRITE: writes
			      are refused */
};

struct bm_space {
	uint64_t size;          /* of the file system, bytes */
	uint64_t avail;         /* free for unprivileged writers, bytes */
	uint64_t reserve;       /* kept free for commits and reports */
	uint64_t alert;         /* the alert threshold of avail */
	uint64_t machine_quota; /* default hard quota; 0: none */
	enum bm_space_state state;
};

/*
 * bm_space_limits -- the thresholds of @conf (NULL: the defaults) for
 * a file system of @size bytes into @out (size set, avail 0, state
 * unset).  A malformed value is caught when the configuration is loaded
 * (bm_conf.h); here it counts as absent.
 */
void bm_space_limits(const bm_conf *conf, uint64_t size, struct bm_space *out);

/*
 * bm_space_get -- statvfs() of @path (the store) and the thresholds of
 * @conf: fills @out, state included.  Returns 0 or a negative errno of
 * statvfs.
 */
int bm_space_get(const bm_conf *conf, const char *path, struct bm_space *out);

/* bm_space_state_name -- "ok", "low" or "full". */
const char *bm_space_state_name(enum bm_space_state s);

/* bm_space_share -- whether @v is a share, "N%" with N in 0..100:
 * 1 and *@percent, else 0. */
int bm_space_share(const char *v, unsigned *percent);

#endif /* BEEMO_BM_SPACE_H */
