/*
 * sync_rebuild.c -- the one place where beemo-sync uses the store
 * library: after a recovery, each machine's LMDB index is rebuilt from
 * the sealed log objects in its packs.  Keeping this call alone in its
 * own file keeps the rest of beemo-sync independent of fs/.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bm_err.h"
#include "bm_file.h"
#include "bm_log.h"
#include "store.h"
#include "sync.h"

static void
on_progress(void *arg, uint64_t done, uint64_t total)
{
	bm_progress_set(arg, done, total, 0);
}

int
sync_rebuild_machine(const char *store, keymgr *km, const char *name,
    const char *pw, size_t pwlen, int quiet)
{
	struct bm_progress p;
	keymgr_secret *s = NULL;
	char dir[PATH_MAX], label[96];
	int rc;

	if ((rc = bm_path(dir, sizeof(dir), "%s/machines/%s", store, name)))
		return rc;
	if ((rc = keymgr_unlock_admin(km, name, pw, pwlen, &s)) != 0) {
		sync_log(LOG_ERR, "machine %s: cannot unlock its key as the "
		    "administrator: %s", name, keymgr_errmsg(km));
		return rc;
	}
	snprintf(label, sizeof(label), "rebuilding %s", name);
	bm_progress_start(&p, label, quiet, 0, 0, NULL, NULL);
	rc = store_rebuild(dir, s, on_progress, &p);
	bm_progress_end(&p, 0);
	keymgr_secret_free(s);
	if (rc != 0)
		sync_log(LOG_ERR, "machine %s: rebuilding the index of %s "
		    "failed: %s", name, dir, beemo_strerror(rc));
	return rc;
}
