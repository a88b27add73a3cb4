/*
 * sync_push.c -- `beemo-sync push`: bring every target up to date.
 *
 * One run: take the lock, scan the store once (sync_local_scan), build
 * one status file, then for each target in turn: connect, list the
 * remote directories the objects live in, remove our own stale
 * temporaries, upload what is missing over up to `connections`
 * connections (packs first, then store.id files, key files, the sealed
 * configuration), then the status file and last the manifest.  A target
 * whose remote already matches the last manifest pushed to it gets
 * nothing, not even a new manifest.  Each manifest carries the next push
 * number (sync_counter_next, made durable before the manifest is built),
 * the key files and configurations the previous manifest of that target
 * listed that are no longer current ("superseded"), and a mac under the
 * off-site key K_OFF, without which nothing is pushed.  The target's own
 * signed deletion requests (STORE/sync/requests/T, `beemo-sync release`)
 * are uploaded first and listed in its manifest; what the previous
 * manifest listed and this one does not is remembered for them
 * (sync_unlisted_note).  Nothing remote is ever deleted but our own
 * stale temporaries.  Any failure of
 * a target leaves it without a new manifest (so its newest manifest
 * still describes a complete copy) and is recorded in the state file;
 * the other targets are still pushed.  What the center's last scrub
 * found is read first (sync_scrub_check): a missing or damaged object of
 * the current state is absent from the listing, so it is uploaded again.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "bm_bytes.h"
#include "bm_conf.h"
#include "bm_err.h"
#include "bm_file.h"
#include "bm_json.h"
#include "bm_log.h"
#include "bm_time.h"
#include "bm_units.h"
#include "sync.h"
#include "sync_request.h"

struct push {
	const struct sync_ctx *ctx;
	struct sync_objs objs;     /* the store's objects, status last */
	struct bm_sync_state state;
	char appliance[2 * KEYMGR_ID_LEN + 1];
	uint64_t bwlimit;
	uint8_t koff[KEYMGR_OFFSITE_LEN]; /* the off-site key; cleansed */
	int quiet;
	int dry_run;               /* --dry-run: say, send nothing */
	int json;                  /* one JSON object at the end, no lines */
	struct sync_io io;         /* of the target being pushed */
};

static const char push_usage[] =
    "usage: beemo-sync [-c FILE] [--store DIR] push [--target NAME] "
    "[--quiet] [--bwlimit RATE] [--dry-run] [--json]\n";

/* The rest of --help: what the verb does and each option. */
static const char push_help[] =
    "\n"
    "Send the sealed objects the storage centers lack, then a manifest\n"
    "of the whole set signed with the off-site key, to every\n"
    "[target NAME] of the configuration (or only --target NAME).\n"
    "\n"
    "  -t, --target NAME   push to this target only\n"
    "  -q, --quiet         no progress and no summary (as the global -q)\n"
    "  -b, --bwlimit RATE  at most RATE bytes per second, with the\n"
    "                      suffixes K, M, G (\"300K\", \"10M\")\n"
    "  -n, --dry-run       connect and compare, say what would be sent,\n"
    "                      send and change nothing (neither the centers\n"
    "                      nor the sync state)\n"
    "      --json          one JSON object \"beemo-sync-push\" at the end,\n"
    "                      progress as JSON lines on stderr\n"
    "  -h, --help          this help\n";

/* ---- the status file ----------------------------------------------- */

/* Status of the appliance for the storage center: counts, no names of
 * files (machine names already appear in the layout). */
static int
add_status(struct push *ps, uint64_t now)
{
	char stamp[SYNC_STAMP_LEN], name[80], *buf = NULL, *path = NULL;
	struct bm_appstatus_machine *m = NULL;
	struct bm_appstatus s;
	size_t len = 0, i;
	int rc;

	if ((rc = sync_stamp(stamp, now)) != 0)
		return rc;
	memset(&s, 0, sizeof(s));
	s.kind = BM_APPSTATUS_PUSH;
	bm_status_copy(s.appliance, sizeof(s.appliance), ps->appliance);
	s.time = now;
	bm_status_copy(s.beemo, sizeof(s.beemo), BEEMO_VERSION);
	rc = -ENOMEM;
	for (i = 0; i < ps->objs.n; i++) {
		const struct sync_obj *o = &ps->objs.v[i];
		const char *mp = o->path + 9; /* after "machines/" */

		if (o->kind != SYNC_PACK)
			continue;
		/* Packs are sorted by machine. */
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(mp, "/"),
		    mp);
		if ((m == NULL || strcmp(m->name, name) != 0) &&
		    (m = bm_appstatus_add_machine(&s, name)) == NULL)
			goto fail;
		m->packs++;
		m->pack_bytes += o->size;
	}
	for (i = 0; i < ps->state.n; i++) {
		const struct bm_sync_tstate *t = &ps->state.t[i];
		struct bm_appstatus_target *at;

		if ((at = bm_appstatus_add_target(&s, t->name)) == NULL)
			goto fail;
		at->last_success = t->last_success_ns;
		at->ok = strcmp(t->result, "ok") == 0;
	}
	if ((rc = bm_appstatus_json(&s, &buf, &len)) != 0)
		goto fail;
	if (asprintf(&path, "status/%s.json", stamp) < 0)
		path = NULL;
	rc = sync_objs_add(&ps->objs, path, NULL, (uint8_t *)buf, len,
	    SYNC_STATUS);
fail:
	bm_appstatus_free(&s);
	return rc;
}

/* ---- one target ---------------------------------------------------- */

static int
upload_job(sync_conn *c, struct sync_obj *o, void *arg)
{
	struct push *ps = arg;
	struct sync_src src;
	uint8_t sha[SYNC_HASH_LEN];
	int rc;

	src.mem = o->data;
	src.fd = -1;
	src.size = o->size;
	if (o->data == NULL) {
		if ((src.fd = open(o->local, O_RDONLY | O_CLOEXEC)) < 0) {
			rc = -errno;
			sync_log(LOG_ERR, "cannot open %s: %s", o->local,
			    beemo_strerror(rc));
			return rc;
		}
	}
	/* A pack's hash is computed while it is sent, unless the cache
	 * (keyed by size, mtime and inode) knows it. */
	rc = sync_remote_put(c, o->path, &src, &ps->io, o->has_sha ? NULL :
	    sha);
	if (src.fd >= 0)
		close(src.fd);
	if (rc != 0)
		return rc;
	if (!o->has_sha) {
		memcpy(o->sha, sha, sizeof(sha));
		o->has_sha = 1;
	}
	bm_progress_add(ps->io.pr, 0, 1);
	return 0;
}

/* The remote directories holding @objs, each once. */
static int
list_remote(sync_conn *c, const struct sync_objs *objs,
    struct sync_rlist *rl)
{
	static const char *const fixed[] = {"manifests", "status", "config",
	    "keys", "keys/machines", "journal", "requests"};
	char last[1024] = "", dir[1024];
	size_t i;
	int rc;

	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if ((rc = sync_remote_list(c, fixed[i], rl)) != 0)
			return rc;
	for (i = 0; i < objs->n; i++) {
		const char *p = objs->v[i].path;
		size_t n = (size_t)(strrchr(p, '/') - p);

		if (strncmp(p, "machines/", 9) != 0 || n >= sizeof(dir))
			continue;
		memcpy(dir, p, n);
		dir[n] = '\0';
		if (strcmp(dir, last) == 0)
			continue;
		strcpy(last, dir);
		if ((rc = sync_remote_list(c, dir, rl)) != 0)
			return rc;
	}
	return 0;
}

/* Remove temporaries that a killed run of this appliance left. */
static int
remove_stale(sync_conn *c, const struct sync_target *t,
    const struct sync_rlist *rl)
{
	char prefix[80];
	size_t i, pl;
	int rc;

	pl = (size_t)snprintf(prefix, sizeof(prefix), ".tmp-%s-", t->tag);
	for (i = 0; i < rl->n; i++) {
		const char *base = strrchr(rl->v[i].path, '/');

		base = base ? base + 1 : rl->v[i].path;
		if (strncmp(base, prefix, pl) != 0 || !rl->v[i].isreg)
			continue;
		rc = sync_remote_unlink(c, rl->v[i].path);
		if (rc != 0 && rc != -ENOENT)
			return rc;
	}
	return 0;
}

static int
save_manifest_copy(const struct sync_ctx *ctx, const char *target,
    const char *text, size_t len)
{
	char path[PATH_MAX];
	int rc;

	if ((rc = bm_path(path, sizeof(path), "%s/manifests", ctx->syncdir)) ||
	    (rc = bm_mkdir_p(path, 0700)) != 0 ||
	    (rc = bm_path(path, sizeof(path), "%s/manifests/%s.json",
	    ctx->syncdir, target)) != 0 ||
	    (rc = bm_write_file_atomic(path, text, len, 0600, 0)) != 0)
		sync_log(LOG_ERR, "cannot keep a copy of the manifest in %s: "
		    "%s", path, beemo_strerror(rc));
	return rc;
}

static void
summary(const struct push *ps, const char *name, uint64_t nsent,
    uint64_t sent, uint64_t nthere, uint64_t there, uint64_t ns)
{
	char a[32], b[32], r[32];
	double secs = (double)ns / 1e9;

	if (ps->quiet || ps->json)
		return;
	bm_human(a, sizeof(a), sent);
	bm_human(b, sizeof(b), there);
	bm_human(r, sizeof(r), secs > 0 ? (uint64_t)((double)sent / secs) :
	    0);
	printf("%s: sent %llu objects (%s, %llu bytes) in %.1f s, %s/s; "
	    "%llu objects (%s) were already there\n", name,
	    (unsigned long long)nsent, a, (unsigned long long)sent, secs, r,
	    (unsigned long long)nthere, b);
	fflush(stdout);
}

static int
has_path(const struct sync_objs *objs, const char *path)
{
	size_t i;

	for (i = 0; i < objs->n; i++)
		if (strcmp(objs->v[i].path, path) == 0)
			return 1;
	return 0;
}

/* Add a copy of @path to @v (of @n) unless it is there already. */
static int
add_unique(char ***v, size_t *n, const char *path)
{
	char **nv;
	size_t i;

	for (i = 0; i < *n; i++)
		if (strcmp((*v)[i], path) == 0)
			return 0;
	if ((nv = realloc(*v, (*n + 1) * sizeof(*nv))) == NULL)
		return -ENOMEM;
	*v = nv;
	if ((nv[*n] = strdup(path)) == NULL)
		return -ENOMEM;
	(*n)++;
	return 0;
}

/*
 * The key files and sealed configurations that the last manifest pushed
 * to @target listed (or listed as superseded already) and that the
 * current state no longer holds: the centers may delete them after their
 * grace period.  No local copy of a manifest: none.
 */
static int
superseded(const struct push *ps, const char *target, char ***out,
    size_t *nout)
{
	struct sync_manifest prev;
	char path[PATH_MAX];
	uint8_t *text = NULL;
	size_t len, i;
	int rc;

	*out = NULL;
	*nout = 0;
	if ((rc = bm_path(path, sizeof(path), "%s/manifests/%s.json",
	    ps->ctx->syncdir, target)) != 0)
		return rc;
	rc = bm_read_file(path, SYNC_MAX_MANIFEST, &text, &len);
	if (rc == -ENOENT)
		return 0;
	if (rc == 0)
		rc = sync_manifest_parse((const char *)text, len, &prev);
	free(text);
	if (rc != 0) {
		sync_log(LOG_ERR, "cannot read %s: %s", path,
		    beemo_strerror(rc));
		return rc;
	}
	for (i = 0; i < prev.nsuperseded && rc == 0; i++)
		if (!has_path(&ps->objs, prev.superseded[i]))
			rc = add_unique(out, nout, prev.superseded[i]);
	for (i = 0; i < prev.objs.n && rc == 0; i++) {
		const struct sync_obj *o = &prev.objs.v[i];

		if ((o->kind == SYNC_KEY || o->kind == SYNC_CONFIG) &&
		    !has_path(&ps->objs, o->path))
			rc = add_unique(out, nout, o->path);
	}
	sync_manifest_free(&prev);
	return rc;
}

static void
free_paths(char **v, size_t n)
{
	while (n > 0)
		free(v[--n]);
	free(v);
}

/*
 * The objects of this target's manifest: the appliance's (@objs, status
 * last) and the target's own deletion requests (@reqs), as shallow
 * copies into @all (free only all->v).
 */
static int
target_objs(const struct sync_objs *objs, const struct sync_objs *reqs,
    struct sync_objs *all)
{
	all->n = all->cap = objs->n + reqs->n;
	if ((all->v = calloc(all->n ? all->n : 1, sizeof(*all->v))) == NULL)
		return -ENOMEM;
	if (objs->n > 0)
		memcpy(all->v, objs->v, objs->n * sizeof(*all->v));
	if (reqs->n > 0)
		memcpy(all->v + objs->n, reqs->v, reqs->n * sizeof(*all->v));
	return 0;
}

/*
 * Remember what the last manifest pushed to @target listed and @all no
 * longer does (sync_unlisted_note), when that manifest is authentic:
 * it is what a deletion request may name later.
 */
static int
note_unlisted(const struct push *ps, const char *target,
    const struct sync_objs *all)
{
	struct sync_manifest prev;
	char path[PATH_MAX];
	uint8_t *text = NULL;
	size_t len;
	int rc;

	if ((rc = bm_path(path, sizeof(path), "%s/manifests/%s.json",
	    ps->ctx->syncdir, target)) != 0)
		return rc;
	if ((rc = bm_read_file(path, SYNC_MAX_MANIFEST, &text, &len)) != 0)
		return rc == -ENOENT ? 0 : rc;
	if (sync_manifest_parse((const char *)text, len, &prev) == 0 &&
	    sync_manifest_authentic((const char *)text, len, ps->koff) == 0)
		rc = sync_unlisted_note(ps->ctx, target, &prev.objs, all);
	sync_manifest_free(&prev);
	free(text);
	return rc;
}

static int
push_target(struct push *ps, const char *name)
{
	struct sync_target t;
	struct bm_sync_tstate *ts;
	struct bm_progress pr;
	struct sync_bw bw;
	struct sync_rlist rl = {0};
	struct sync_objs reqs = {0}, all = {0};
	struct sync_obj **todo = NULL, *status = &ps->objs.v[ps->objs.n - 1];
	sync_conn *c = NULL;
	uint64_t t0 = bm_mono_ns(), now = bm_now_ns();
	uint64_t ntodo_b = 0, nthere = 0, there_b = 0;
	char digest[65], *man = NULL, mpath[64], **sup = NULL;
	size_t ntodo = 0, i, mlen = 0, nsup = 0;
	uint64_t counter = 0;
	int rc, conflicts = 0;

	if ((ts = bm_sync_state_target(&ps->state, name)) == NULL)
		return -ENOMEM;
	ts->last_attempt_ns = now;
	ts->objs_sent = ts->bytes_sent = 0;
	if ((rc = sync_target_load(ps->ctx, name, ps->bwlimit, &t)) != 0)
		goto done;
	strcpy(t.tag, ps->appliance);
	if ((rc = sync_conn_open(&t, 1, &c)) != 0)
		goto done;
	if ((rc = list_remote(c, &ps->objs, &rl)) != 0 ||
	    (!ps->dry_run && (rc = remove_stale(c, &t, &rl)) != 0) ||
	    (!ps->dry_run &&
	    (rc = sync_scrub_check(ps->ctx, c, name, &ps->objs)) != 0))
		goto done;
	if ((rc = sync_request_local(ps->ctx, name, &reqs)) != 0)
		goto done;
	if ((todo = calloc(ps->objs.n + reqs.n, sizeof(*todo))) == NULL) {
		rc = -ENOMEM;
		goto done;
	}
	/* The target's deletion requests go first: they are small. */
	for (i = 0; i < reqs.n; i++) {
		const struct sync_rent *e = sync_rlist_find(&rl,
		    reqs.v[i].path);

		if (e == NULL) {
			todo[ntodo++] = &reqs.v[i];
			ntodo_b += reqs.v[i].size;
		} else if (!e->isreg || e->size != reqs.v[i].size) {
			sync_log(LOG_ERR, "target %s: %s exists with %llu "
			    "bytes where %llu are expected; it is left alone",
			    name, reqs.v[i].path, (unsigned long long)e->size,
			    (unsigned long long)reqs.v[i].size);
			conflicts++;
		} else {
			nthere++;
			there_b += reqs.v[i].size;
		}
	}
	for (i = 0; i + 1 < ps->objs.n; i++) {
		struct sync_obj *o = &ps->objs.v[i];
		const struct sync_rent *e = sync_rlist_find(&rl, o->path);

		if (e == NULL) {
			todo[ntodo++] = o;
			ntodo_b += o->size;
			continue;
		}
		if (!e->isreg || e->size != o->size) {
			sync_log(LOG_ERR, "target %s: %s exists with %llu "
			    "bytes where %llu are expected; it is left alone "
			    "(see beemo-sync verify)", name, o->path,
			    (unsigned long long)e->size,
			    (unsigned long long)o->size);
			conflicts++;
			continue;
		}
		nthere++;
		there_b += o->size;
		if (!o->has_sha && (rc = sync_local_hash(o)) != 0) {
			sync_log(LOG_ERR, "cannot hash %s: %s", o->local,
			    beemo_strerror(rc));
			goto done;
		}
	}
	if (conflicts > 0) {
		rc = -EEXIST;
		goto done;
	}
	if (ntodo == 0) {
		/* Everything is there; a new manifest is needed only if the
		 * set of objects differs from the last one pushed. */
		if ((rc = target_objs(&ps->objs, &reqs, &all)) != 0)
			goto done;
		sync_objs_digest(&all, digest);
		free(all.v);
		all.v = NULL;
		if (*ts->manifest != '\0' && !strcmp(digest, ts->digest) &&
		    sync_rlist_find(&rl, ts->manifest) != NULL) {
			if (!ps->quiet && !ps->json)
				printf("%s: up to date (%llu objects, "
				    "nothing to send)\n", name,
				    (unsigned long long)nthere);
			rc = 0;
			goto record;
		}
	}
	if (ps->dry_run) {
		char h1[32], h2[32];

		/* What a push would send: --json's objects_sent and
		 * bytes_sent (a dry run never saves the state). */
		ts->objs_sent = ntodo;
		ts->bytes_sent = ntodo_b;
		if (!ps->json)
				printf("%s: would send %llu objects (%s) and a "
			    "manifest; %llu objects (%s) are there already\n",
			    name, (unsigned long long)ntodo, bm_human(h1,
			    sizeof(h1), ntodo_b), (unsigned long long)nthere,
			    bm_human(h2, sizeof(h2), there_b));
		rc = 0;
		goto done;
	}
	todo[ntodo++] = status;
	ntodo_b += status->size;
	bm_progress_start(&pr, name, ps->quiet, ntodo, ntodo_b,
	    sync_run_tick, NULL);
	sync_bw_init(&bw, t.bandwidth);
	ps->io.pr = &pr;
	ps->io.bw = &bw;
	rc = sync_pool_run(&t, c, todo, ntodo - 1, upload_job, ps);
	if (rc == 0)
		rc = upload_job(c, status, ps);
	bm_progress_end(&pr, 0);
	sync_bw_destroy(&bw);
	ps->io.pr = NULL;
	ps->io.bw = NULL;
	for (i = 0; i < ntodo; i++) {
		if (todo[i]->rc == 0 || todo[i] == status) {
			ts->objs_sent++;
			ts->bytes_sent += todo[i]->size;
		}
	}
	if (rc != 0)
		goto done;
	/* Copied after the uploads, which gave packs their hashes. */
	if ((rc = target_objs(&ps->objs, &reqs, &all)) != 0)
		goto done;
	sync_objs_digest(&all, digest);
	if ((rc = superseded(ps, name, &sup, &nsup)) != 0 ||
	    (rc = note_unlisted(ps, name, &all)) != 0 ||
	    (rc = sync_counter_next(ps->ctx->syncdir, &counter)) != 0 ||
	    (rc = sync_manifest_build(ps->appliance, now, counter, &all,
	    sup, nsup, ps->koff, &man, &mlen)) != 0)
		goto done;
	/* The manifest shares the status file's stamp. */
	snprintf(mpath, sizeof(mpath), "manifests/%s", status->path + 7);
	{
		struct sync_src src = {(const uint8_t *)man, -1, mlen};

		if ((rc = sync_remote_put(c, mpath, &src, NULL, NULL)) != 0)
			goto done;
	}
	ts->objs_sent++;
	ts->bytes_sent += mlen;
	snprintf(ts->manifest, sizeof(ts->manifest), "%s", mpath);
	(void)sync_request_awaiting(ps->ctx, name, &ts->awaiting);
	ts->counter = counter;
	ts->counter_ns = now;
	(void)save_manifest_copy(ps->ctx, name, man, mlen);
	summary(ps, name, ts->objs_sent, ts->bytes_sent, nthere, there_b,
	    bm_mono_ns() - t0);
record:
	snprintf(ts->digest, sizeof(ts->digest), "%s", digest);
	ts->last_success_ns = now;
	if (!ps->quiet && !ps->json)
		(void)sync_request_center_show(c, name);
done:
	ts->duration_ms = (bm_mono_ns() - t0) / 1000000;
	ts->objs_total = ps->objs.n + reqs.n;
	ts->bytes_total = 0;
	for (i = 0; i < ps->objs.n; i++)
		ts->bytes_total += ps->objs.v[i].size;
	if (rc == 0)
		strcpy(ts->result, "ok");
	else
		snprintf(ts->result, sizeof(ts->result), "%s",
		    beemo_strerror(rc));
	free(man);
	free(todo);
	free(all.v);
	sync_objs_free(&reqs);
	free_paths(sup, nsup);
	sync_rlist_free(&rl);
	sync_conn_close(c);
	sync_target_clear(&t);
	return rc;
}

/* ---- the verb ------------------------------------------------------ */

/* 0 unless an `admin passwd` is unfinished (logged). */
static int
keys_settled(keymgr *km)
{
	int rc = keymgr_admin_settled(km);

	if (rc != 0)
		sync_log(LOG_ERR, "not pushing the keys: %s",
		    keymgr_errmsg(km));
	return rc;
}

/* 0 if K_OFF is still @koff (an `admin passwd` finished meanwhile
 * would make this push's manifest unverifiable; logged). */
static int
koff_unchanged(keymgr *km, const uint8_t koff[KEYMGR_OFFSITE_LEN])
{
	uint8_t now[KEYMGR_OFFSITE_LEN];
	int rc = keymgr_offsite_key(km, now);

	if (rc == 0 && CRYPTO_memcmp(now, koff, sizeof(now)) != 0)
		rc = -EAGAIN;
	OPENSSL_cleanse(now, sizeof(now));
	if (rc != 0)
		sync_log(LOG_ERR, "the administrator's keys changed during "
		    "this push; push again");
	return rc;
}

/* The summary of --json: one object "beemo-sync-push" (beemo-sync(8),
 * JSON OUTPUT), a member per target pushed to, from the state. */
static void
push_json(struct push *ps, char (*tn)[65], size_t n)
{
	struct bm_json j;
	size_t i, nfail = 0;

	bm_json_init(&j, stdout);
	bm_json_head(&j, "beemo-sync-push", 1);
	bm_json_bool(&j, "dry_run", ps->dry_run);
	bm_json_begin_arr(&j, "targets");
	for (i = 0; i < n; i++) {
		const struct bm_sync_tstate *t =
		    bm_sync_state_target(&ps->state, tn[i]);

		if (t == NULL)
			continue;
		nfail += strcmp(t->result, "ok") != 0;
		bm_json_begin_obj(&j, NULL);
		bm_json_str(&j, "name", t->name);
		bm_json_bool(&j, "ok", strcmp(t->result, "ok") == 0);
		bm_json_str(&j, "result", t->result);
		bm_json_u64(&j, "objects_sent", t->objs_sent);
		bm_json_u64(&j, "bytes_sent", t->bytes_sent);
		bm_json_u64(&j, "objects_total", t->objs_total);
		bm_json_u64(&j, "duration_ms", t->duration_ms);
		bm_json_str(&j, "manifest", t->manifest);
		bm_json_u64(&j, "push", t->counter);
		bm_json_time(&j, "last_success", t->last_success_ns);
		bm_json_end_obj(&j);
	}
	bm_json_end_arr(&j);
	bm_json_u64(&j, "failed", nfail);
	bm_json_end_obj(&j);
	fflush(stdout);
}

int
sync_cmd_push(struct sync_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"target", required_argument, NULL, 't'},
		{"quiet", no_argument, NULL, 'q'},
		{"bwlimit", required_argument, NULL, 'b'},
		{"dry-run", no_argument, NULL, 'n'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *only = NULL;
	const char *const *names;
	char failed[1024] = "", keydir[PATH_MAX];
	struct push ps;
	keymgr *km = NULL;
	uint8_t id[KEYMGR_ID_LEN];
	size_t n, i;
	int c, rc, lockfd = -1, ret = SYNC_EXIT_FAIL;

	memset(&ps, 0, sizeof(ps));
	ps.ctx = ctx;
	ps.quiet = ctx->quiet;
	ps.json = ctx->json;
	while ((c = getopt_long(argc, argv, "t:qb:nh", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			only = optarg;
			break;
		case 'q':
			ps.quiet = 1;
			break;
		case 'n':
			ps.dry_run = 1;
			break;
		case 'b':
			if (bm_parse_size(optarg, &ps.bwlimit) != 0) {
				fprintf(stderr, "beemo-sync: bad --bwlimit "
				    "'%s' (bytes per second, e.g. 10M)\n",
				    optarg);
				return SYNC_EXIT_USAGE;
			}
			break;
		case 'j':
			ps.json = 1;
			break;
		case 'h':
			fputs(push_usage, stdout);
			fputs(push_help, stdout);
			return SYNC_EXIT_OK;
		default:
			fputs(push_usage, stderr);
			return SYNC_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fputs(push_usage, stderr);
		return SYNC_EXIT_USAGE;
	}
	if (ps.json)
		bm_progress_set_json(1); /* no thread runs yet */
	bm_conf_names(ctx->conf, "target", &names, &n);
	if (only != NULL) {
		names = &only;
		n = 1;
	} else if (n == 0) {
		sync_log(LOG_ERR, "no [target NAME] section in %s",
		    bm_conf_path(ctx->conf) ? bm_conf_path(ctx->conf) :
		    "the configuration (none was read)");
		return SYNC_EXIT_FAIL;
	}
	if ((rc = bm_mkdir_p(ctx->syncdir, 0700)) != 0) {
		sync_log(LOG_ERR, "cannot create %s: %s", ctx->syncdir,
		    beemo_strerror(rc));
		return SYNC_EXIT_FAIL;
	}
	if ((rc = sync_lock_take(ctx->lockpath, &lockfd)) != 0)
		return rc == BEEMO_ELOCKED ? BM_EXIT_BUSY : SYNC_EXIT_FAIL;
	sync_run_begin(ctx, "push");
	if ((rc = bm_sync_state_load(ctx->statepath, &ps.state)) != 0)
		goto done;
	if ((rc = bm_path(keydir, sizeof(keydir), "%s/keys", ctx->store)) ||
	    (rc = keymgr_open(keydir, &km)) != 0) {
		sync_log(LOG_ERR, "%s: %s", keydir, rc == BEEMO_ENOSTORE ?
		    "no appliance here (run 'beemoctl init' first, or give "
		    "--store)" : beemo_strerror(rc));
		goto done;
	}
	keymgr_appliance_id(km, id);
	bm_hex(ps.appliance, id, sizeof(id));
	if ((rc = keymgr_offsite_key(km, ps.koff)) != 0) {
		sync_log(LOG_ERR, "%s: no off-site key: %s", keydir,
		    rc == BEEMO_ENOKEY ? "the keys predate it; run 'beemoctl "
		    "admin passwd' once, which creates it" :
		    beemo_strerror(rc));
		goto done;
	}
	/* Key files caught midway through a replacement of the ADMIN key
	 * pair are no consistent set: refuse, before and after reading
	 * them, and make sure K_OFF did not change in between. */
	if ((rc = keys_settled(km)) != 0 ||
	    (rc = sync_local_scan(ctx, km, &ps.state, &ps.objs)) != 0 ||
	    (rc = keys_settled(km)) != 0 ||
	    (rc = koff_unchanged(km, ps.koff)) != 0 ||
	    (rc = add_status(&ps, bm_now_ns())) != 0)
		goto done;
	/* Copy the names: the state's array may move while pushing. */
	{
		char (*tn)[65] = calloc(n ? n : 1, sizeof(*tn));
		size_t nfail = 0;

		if (tn == NULL) {
			rc = -ENOMEM;
			goto done;
		}
		for (i = 0; i < n; i++)
			snprintf(tn[i], sizeof(tn[i]), "%s", names[i]);
		for (i = 0; i < n; i++) {
			int trc = push_target(&ps, tn[i]);
			struct bm_sync_tstate *ts =
			    bm_sync_state_target(&ps.state, tn[i]);

			if (ts != NULL && !ps.dry_run)
				(void)sync_alog(ctx, km, "push", "push to %s: "
				    "%s, %llu objects (%llu bytes) sent", tn[i],
				    ts->result, (unsigned long long)
				    ts->objs_sent, (unsigned long long)
				    ts->bytes_sent);
			if (trc != 0) {
				nfail++;
				if (*failed)
					strncat(failed, ", ", sizeof(failed) -
					    strlen(failed) - 1);
				strncat(failed, tn[i], sizeof(failed) -
				    strlen(failed) - 1);
			}
			/* Record each target as soon as it is done. */
			if (!ps.dry_run)
				(void)bm_sync_state_save(ctx->statepath,
				    &ps.state);
		}
		if (ps.json)
			push_json(&ps, tn, n);
		free(tn);
		if (!ps.dry_run)
			(void)sync_hashcache_save(ctx, &ps.objs);
		if (nfail > 0) {
			sync_log(LOG_ERR, "push failed for target%s: %s",
			    nfail > 1 ? "s" : "", failed);
			/* The others have the copy: a warning, not a
			 * failure (bm_exit.h). */
			if (nfail < n)
				ret = BM_EXIT_WARN;
			goto done;
		}
	}
	ret = SYNC_EXIT_OK;
done:
	OPENSSL_cleanse(ps.koff, sizeof(ps.koff));
	sync_run_end();
	keymgr_free(km);
	sync_objs_free(&ps.objs);
	bm_sync_state_free(&ps.state);
	sync_lock_release(lockfd);
	return ret;
}
