/*
 * retention_apply.c -- plans over a store's snapshots, and forgetting
 * them with both journals (retention.h).
 */
#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bm_alog.h"
#include "bm_err.h"
#include "bm_log.h"
#include "bm_time.h"
#include "retention.h"

void
retention_plan_free(struct retention_plan *pl)
{
	free(pl->snaps);
	free(pl->reasons);
	memset(pl, 0, sizeof(*pl));
}

/* Every snapshot of @st, oldest first, with room for the decisions. */
static int
plan_init(store *st, struct retention_plan *pl)
{
	struct store_snapinfo *v = NULL;
	size_t n = 0, i;
	int rc;

	memset(pl, 0, sizeof(*pl));
	if ((rc = store_snapshots(st, &v, &n)) != 0)
		return rc;
	pl->snaps = calloc(n ? n : 1, sizeof(*pl->snaps));
	pl->reasons = calloc(n ? n : 1, sizeof(*pl->reasons));
	if (pl->snaps == NULL || pl->reasons == NULL) {
		free(v);
		retention_plan_free(pl);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		pl->snaps[i].id = v[i].id;
		pl->snaps[i].time = v[i].time;
		pl->snaps[i].complete = strcmp(v[i].note,
		    RETENTION_COMPLETE_NOTE) == 0;
		pl->snaps[i].tagged = v[i].ntags > 0;
	}
	pl->n = n;
	free(v);
	return 0;
}

static void
plan_count(struct retention_plan *pl)
{
	size_t i;

	pl->forget = 0;
	for (i = 0; i < pl->n; i++)
		pl->forget += pl->reasons[i] == 0;
}

int
retention_plan_policy(store *st, const struct retention_policy *p,
    uint64_t now, struct retention_plan *out)
{
	int rc;

	if ((rc = plan_init(st, out)) != 0)
		return rc;
	if ((rc = retention_eval(out->snaps, out->n, now, p,
	    out->reasons)) != 0) {
		retention_plan_free(out);
		return rc;
	}
	plan_count(out);
	return 0;
}

int
retention_plan_ids(store *st, const uint32_t *ids, size_t nids,
    struct retention_plan *out)
{
	size_t i, k;
	int rc;

	if ((rc = plan_init(st, out)) != 0)
		return rc;
	for (i = 0; i < out->n; i++)
		out->reasons[i] = RETENTION_UNNAMED;
	for (k = 0; k < nids; k++) {
		for (i = 0; i < out->n; i++)
			if (out->snaps[i].id == ids[k])
				break;
		if (i == out->n) {
			retention_plan_free(out);
			return BEEMO_ENOSNAP;
		}
		out->reasons[i] = 0;
	}
	plan_count(out);
	return 0;
}

/* The appliance journal: one entry naming each snapshot forgotten. */
static void
journal_appliance(const struct retention_plan *pl, const char *storedir,
    keymgr *km, const char *machine, const char *who)
{
	struct bm_alog_entry e;
	uint8_t key[KEYMGR_SECRET_LEN];
	const char **files = NULL;
	char *lines = NULL, summary[256], t[32];
	size_t i, k = 0;
	int rc = -ENOMEM;

	files = calloc(pl->forget, sizeof(*files));
	lines = calloc(pl->forget, 64);
	if (files == NULL || lines == NULL)
		goto out;
	for (i = 0; i < pl->n; i++) {
		if (pl->reasons[i] != 0)
			continue;
		snprintf(lines + 64 * k, 64, "snapshot %u %s",
		    pl->snaps[i].id, bm_time_str(t, sizeof(t),
		    pl->snaps[i].time));
		files[k] = lines + 64 * k;
		k++;
	}
	snprintf(summary, sizeof(summary), "machine %s: %zu snapshot%s "
	    "forgotten, %zu kept", machine, pl->forget,
	    pl->forget == 1 ? "" : "s", pl->n - pl->forget);
	memset(&e, 0, sizeof(e));
	e.type = "forget";
	e.who = who;
	e.summary = summary;
	e.files = files;
	e.nfiles = k;
	if ((rc = keymgr_appliance_subkey(km, "journal", key)) == 0) {
		rc = bm_alog_append(storedir, key, &e);
		OPENSSL_cleanse(key, sizeof(key));
	}
out:
	if (rc != 0)
		bm_log(LOG_WARNING, "the appliance journal could not record "
		    "the forget of machine %s: %s", machine,
		    rc == -ENOENT ? "no appliance key" : beemo_strerror(rc));
	free(files);
	free(lines);
}

int
retention_forget(store *st, const struct retention_plan *pl,
    const char *storedir, keymgr *km, const char *machine, const char *who)
{
	uint32_t *ids;
	size_t i, k = 0;
	int rc;

	if (pl->forget == 0)
		return 0;
	if ((ids = calloc(pl->forget, sizeof(*ids))) == NULL)
		return -ENOMEM;
	for (i = 0; i < pl->n; i++)
		if (pl->reasons[i] == 0)
			ids[k++] = pl->snaps[i].id;
	rc = store_forget(st, ids, k);
	free(ids);
	if (rc != 0) {
		bm_log(LOG_ERR, "machine %s: forgetting %zu snapshots failed: "
		    "%s", machine, k, beemo_strerror(rc));
		return rc;
	}
	journal_appliance(pl, storedir, km, machine, who);
	return 0;
}
