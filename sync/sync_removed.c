/*
 * sync_removed.c -- the maintenance run frees the machines whose grace
 * period after `beemoctl machine remove` is over (bm_removed.h).
 *
 * Each due entry of the removed area is erased with store_destroy(),
 * and the space it held is journaled; a failure is journaled, reported
 * by mail (an "error" report) and retried at the next run.  The off-site
 * copies of the machine's objects are not touched: once the machine is
 * freed, `beemo-sync release` may sign a deletion request for them.
 */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bm_err.h"
#include "bm_log.h"
#include "bm_removed.h"
#include "bm_report.h"
#include "bm_time.h"
#include "store.h"
#include "sync.h"

/* Queue an error report about the failed freeing of @name. */
static void
report_failure(const struct sync_ctx *ctx, keymgr *km, const char *name,
    int err)
{
	uint8_t key[KEYMGR_SECRET_LEN];
	char rkey[128], subject[256];
	struct bm_report r;

	snprintf(rkey, sizeof(rkey), "delete:%s:%llu", name,
	    (unsigned long long)bm_now_ns());
	snprintf(subject, sizeof(subject), "%s: freeing the removed machine "
	    "failed: %s", name, beemo_strerror(err));
	memset(&r, 0, sizeof(r));
	r.kind = "error";
	r.machine = name;
	r.key = rkey;
	r.state = BM_REPORT_EVENT;
	r.subject = subject;
	r.text = "The machine was removed and its grace period is over, but "
	    "its space could not be\nfreed.  The next maintenance run tries "
	    "again.\n";
	if (keymgr_appliance_subkey(km, "reports", key) == 0) {
		(void)bm_report_spool(ctx->store, key, &r);
		OPENSSL_cleanse(key, sizeof(key));
	}
}

int
sync_free_removed(const struct sync_ctx *ctx, keymgr *km, uint64_t now,
    unsigned *nfreed, uint64_t *bytes)
{
	uint64_t grace = bm_conf_get_u64(ctx->conf, "store", NULL,
	    "remove_grace", BM_REMOVED_GRACE), freed;
	struct bm_removed *v = NULL;
	size_t n = 0, i;
	int rc, first = 0;

	*nfreed = 0;
	*bytes = 0;
	if ((rc = bm_removed_list(ctx->store, &v, &n)) != 0) {
		sync_log(LOG_ERR, "%s/machines/%s: %s", ctx->store,
		    BM_REMOVED_DIR, beemo_strerror(rc));
		return rc;
	}
	for (i = 0; i < n; i++) {
		if (bm_removed_frees_at(&v[i], grace) > now)
			continue;
		if ((rc = bm_removed_free(&v[i], store_destroy, &freed)) != 0) {
			sync_log(LOG_ERR, "%s: cannot free the removed machine "
			    "%s: %s", v[i].dir, v[i].name, beemo_strerror(rc));
			(void)sync_alog(ctx, km, "machine", "machine %s: "
			    "freeing its space after the grace period failed: "
			    "%s", v[i].name, beemo_strerror(rc));
			report_failure(ctx, km, v[i].name, rc);
			if (first == 0)
				first = rc;
			continue;
		}
		(*nfreed)++;
		*bytes += freed;
		(void)sync_alog(ctx, km, "machine", "machine %s freed after its "
		    "grace period: keys and store erased, %llu bytes freed",
		    v[i].name, (unsigned long long)freed);
	}
	free(v);
	return first;
}
