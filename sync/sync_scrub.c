/*
 * sync_scrub.c -- what a center's scrub found, as the appliance learns
 * it at its next push (sync.h).
 *
 * `beemo-center scrub` writes ROOT/center/scrub.json (center.h): the
 * objects the manifests list that it found missing or damaged (a damaged
 * one is moved aside, so that its name is free).  The push reads it when
 * it is newer than the last one seen for that target, logs each object:
 * one of the current state is uploaded again by the push itself (it is
 * missing at the center now), one that only older states held cannot be
 * and is an error ("lost").  The result is kept in STORE/sync/scrub/T.json
 * for `beemo-sync status`:
 *
 *   {"time": <the scrub's time, ns>, "seen": <ns>, "objects": N,
 *    "bytes": N, "missing": N, "damaged": N, "lost": N}
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bm_err.h"
#include "bm_file.h"
#include "bm_json.h"
#include "bm_log.h"
#include "bm_time.h"
#include "sync.h"

#define SCRUB_REMOTE "center/scrub.json"
#define SCRUB_MAX_TEXT (16u << 20)

static int
record_path(const struct sync_ctx *ctx, const char *target, char *buf,
    size_t size)
{
	return bm_path(buf, size, "%s/scrub/%s.json", ctx->syncdir, target);
}

int
sync_scrub_load(const struct sync_ctx *ctx, const char *target,
    struct sync_scrub *out)
{
	struct sjson *root = NULL;
	char path[PATH_MAX];
	uint8_t *text = NULL;
	size_t len;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = record_path(ctx, target, path, sizeof(path))) != 0)
		return rc;
	if ((rc = bm_read_file(path, 1u << 16, &text, &len)) != 0)
		return rc == -ENOENT ? 0 : rc;
	rc = sjson_parse((const char *)text, len, &root);
	free(text);
	if (rc != 0)
		return rc;
	out->time_ns = sjson_num(root, "time");
	out->seen_ns = sjson_num(root, "seen");
	out->objects = sjson_num(root, "objects");
	out->bytes = sjson_num(root, "bytes");
	out->missing = sjson_num(root, "missing");
	out->damaged = sjson_num(root, "damaged");
	out->lost = sjson_num(root, "lost");
	sjson_free(root);
	return 0;
}

static int
record_save(const struct sync_ctx *ctx, const char *target,
    const struct sync_scrub *r)
{
	char path[PATH_MAX], text[512];
	int rc, n;

	n = snprintf(text, sizeof(text), "{\"time\": %llu, \"seen\": %llu, "
	    "\"objects\": %llu, \"bytes\": %llu, \"missing\": %llu, "
	    "\"damaged\": %llu, \"lost\": %llu}\n",
	    (unsigned long long)r->time_ns, (unsigned long long)r->seen_ns,
	    (unsigned long long)r->objects, (unsigned long long)r->bytes,
	    (unsigned long long)r->missing, (unsigned long long)r->damaged,
	    (unsigned long long)r->lost);
	if ((rc = bm_path(path, sizeof(path), "%s/scrub", ctx->syncdir)) ||
	    (rc = bm_mkdir_p(path, 0700)) != 0 ||
	    (rc = record_path(ctx, target, path, sizeof(path))) != 0 ||
	    (rc = bm_write_file_atomic(path, text, (size_t)n, 0600, 0)) != 0)
		sync_log(LOG_ERR, "cannot record the scrub result in %s: %s",
		    path, beemo_strerror(rc));
	return rc;
}

static int
listed(const struct sync_objs *objs, const char *path)
{
	size_t i;

	for (i = 0; i < objs->n; i++)
		if (strcmp(objs->v[i].path, path) == 0)
			return 1;
	return 0;
}

/* Log the objects of the array @key of the report; count the lost. */
static void
note_objects(const struct sjson *root, const char *key, const char *target,
    const char *when, const struct sync_objs *objs, uint64_t *lost)
{
	const struct sjson *a = sjson_get(root, key, SJSON_ARR);
	char local[PATH_MAX];
	enum sync_kind kind;
	size_t i;

	for (i = 0; a && i < a->nkids; i++) {
		const char *p = a->kids[i].type == SJSON_STR ?
		    a->kids[i].str : NULL;

		if (!p || sync_path_classify(p, &kind, local,
		    sizeof(local)) != 0) {
			sync_log(LOG_WARNING, "target %s: the scrub of %s "
			    "names a malformed path: ignored", target, when);
			continue;
		}
		if (listed(objs, p)) {
			sync_log(LOG_WARNING, "target %s: the center's scrub "
			    "of %s found %s %s; it is uploaded again", target,
			    when, p, key);
			continue;
		}
		sync_log(LOG_ERR, "target %s: the center's scrub of %s found "
		    "%s %s; only older states held it, so it cannot be "
		    "uploaded again: those states are incomplete", target,
		    when, p, key);
		(*lost)++;
	}
}

int
sync_scrub_check(const struct sync_ctx *ctx, sync_conn *c,
    const char *target, const struct sync_objs *objs)
{
	struct sync_scrub seen, r;
	struct sjson *root = NULL;
	const char *fmt, *t;
	uint8_t *text = NULL, sha[SYNC_HASH_LEN];
	uint64_t size;
	int rc;

	if ((rc = sync_remote_stat(c, SCRUB_REMOTE, &size)) != 0)
		return rc == -ENOENT || !sync_conn_broken(c) ? 0 : rc;
	if (size > SCRUB_MAX_TEXT) {
		sync_log(LOG_WARNING, "target %s: %s is too large (%llu "
		    "bytes): ignored", target, SCRUB_REMOTE,
		    (unsigned long long)size);
		return 0;
	}
	if ((rc = sync_remote_get(c, SCRUB_REMOTE, size, -1, &text, NULL,
	    sha)) != 0)
		return sync_conn_broken(c) ? rc : 0;
	memset(&r, 0, sizeof(r));
	if (sjson_parse((const char *)text, (size_t)size, &root) != 0 ||
	    !(fmt = sjson_str(root, "format")) ||
	    strcmp(fmt, "beemo-center-scrub") != 0 ||
	    sjson_num(root, "version") != 1 || !(t = sjson_str(root, "time"))
	    || bm_parse_time(t, &r.time_ns) != 0) {
		sync_log(LOG_WARNING, "target %s: %s is malformed: ignored",
		    target, SCRUB_REMOTE);
		goto done;
	}
	/* Two scrubs within a second differ by their time in ns. */
	if (sjson_get(root, "time_ns", SJSON_NUM))
		r.time_ns = sjson_num(root, "time_ns");
	if (sync_scrub_load(ctx, target, &seen) == 0 &&
	    r.time_ns <= seen.time_ns)
		goto done;
	r.seen_ns = bm_now_ns();
	r.objects = sjson_num(root, "objects");
	r.bytes = sjson_num(root, "bytes");
	r.missing = sjson_num(root, "missing_count");
	r.damaged = sjson_num(root, "damaged_count");
	note_objects(root, "missing", target, t, objs, &r.lost);
	note_objects(root, "damaged", target, t, objs, &r.lost);
	if (r.missing || r.damaged)
		sync_log(LOG_WARNING, "target %s: the center's scrub of %s: "
		    "%llu objects checked, %llu missing, %llu damaged, %llu "
		    "lost", target, t, (unsigned long long)r.objects,
		    (unsigned long long)r.missing,
		    (unsigned long long)r.damaged,
		    (unsigned long long)r.lost);
	(void)record_save(ctx, target, &r);
done:
	sjson_free(root);
	free(text);
	return 0;
}
