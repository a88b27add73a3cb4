/*
 * ctl_snapname.c -- naming a snapshot (ctl_snapname.h).
 */
#include <stdlib.h>
#include <string.h>

#include "bm_err.h"
#include "bm_units.h"
#include "ctl_snapname.h"

int
ctl_snap_resolve(const struct ctl *ctl, store *st, const char *arg,
    struct store_snapinfo *out)
{
	struct store_snapinfo *v;
	size_t n, i;
	uint64_t want = 0;
	int rc;

	if (strcmp(arg, "latest") != 0 && (bm_parse_u64(arg, &want) != 0 ||
	    want == 0)) {
		ctl_err(ctl, "'%s' is not a snapshot id (or \"latest\")", arg);
		return CTL_USAGE;
	}
	if ((rc = store_snapshots(st, &v, &n)) != 0) {
		ctl_err(ctl, "cannot list snapshots: %s", beemo_strerror(rc));
		return CTL_FAIL;
	}
	for (i = n; i-- > 0;)
		if (want == 0 || v[i].id == want)
			break;
	if (i == (size_t)-1) {
		ctl_err(ctl, n == 0 ? "no snapshots yet" :
		    "no snapshot %s (see beemoctl snapshots)", arg);
		free(v);
		return CTL_FAIL;
	}
	*out = v[i];
	free(v);
	return 0;
}
