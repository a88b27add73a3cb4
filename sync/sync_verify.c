/*
 * sync_verify.c -- `beemo-sync verify`: is the copy on each target
 * complete, and (with --read-data) intact?
 *
 * The reference is the local copy of the last manifest pushed to the
 * target (STORE/sync/manifests/TARGET.json), which the remote cannot
 * have altered; without one (a store that never pushed there), the
 * newest manifest on the target is used and said so.  First the newest
 * manifest the target serves (by its claimed push number) must be
 * authentic under the off-site key and not older than the last push
 * recorded for the target in the sync state: a center serving an old
 * state is named with both push numbers and dates.  Every object of
 * the manifest, and the manifest itself, must exist with its size; with
 * --read-data every object is downloaded and its SHA-256 compared, and
 * each damaged object is named; the deletion requests among them must
 * also carry the administrator's signature (sync_request_verify), as
 * the center will check it.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "bm_bytes.h"
#include "bm_conf.h"
#include "bm_err.h"
#include "bm_file.h"
#include "bm_log.h"
#include "bm_units.h"
#include "sync.h"
#include "sync_request.h"

static const char verify_usage[] =
    "usage: beemo-sync [-c FILE] [--store DIR] verify [--target NAME] "
    "[--read-data] [--json]\n";

/* The rest of --help: what the verb does and each option. */
static const char verify_help[] =
    "\n"
    "Check the copy on every target (or one) against its signed manifest.\n"
    "\n"
    "  -t, --target NAME  verify this target only\n"
    "  -r, --read-data    also download every object and compare its SHA-256\n"
    "                     with the manifest\n"
    "  -q, --quiet        no progress and no summary\n"
    "      --json         one JSON object \"beemo-sync-verify\" at the end,\n"
    "                     progress as JSON lines on stderr\n"
    "  -h, --help         this help\n";

struct verify {
	const struct sync_ctx *ctx;
	const char *target;
	struct bm_sync_state state;
	keymgr *km;                /* ADMIN_PUB, for deletion requests */
	uint8_t koff[KEYMGR_OFFSITE_LEN]; /* cleansed at the end */
	int has_koff;
	struct sync_io io;
	int read_data;
	int quiet;
	int json;                  /* --json: one object, no lines */
	uint64_t objs, bytes, missing; /* of the last target checked */
};

static int
read_job(sync_conn *c, struct sync_obj *o, void *arg)
{
	struct verify *v = arg;
	uint8_t sha[SYNC_HASH_LEN], *mem = NULL;
	int rc;

	/* A deletion request is kept for its signature check. */
	rc = sync_remote_get(c, o->path, o->size, -1, o->kind ==
	    SYNC_REQUEST ? &mem : NULL, &v->io, sha);
	if (rc != 0)
		return rc;
	bm_progress_add(v->io.pr, 0, 1);
	if (memcmp(sha, o->sha, sizeof(sha)) != 0) {
		sync_log(LOG_ERR, "target %s: %s is DAMAGED: its SHA-256 "
		    "differs from the manifest", v->target, o->path);
		free(mem);
		return -EBADMSG;
	}
	o->data = mem;
	return 0;
}

/* The signature of every deletion request read; the count of bad ones. */
static uint64_t
check_requests(const struct verify *v, struct sync_obj **jobs, size_t nj)
{
	uint64_t bad = 0;
	size_t i;
	int rc;

	for (i = 0; i < nj; i++) {
		if (jobs[i]->data == NULL || jobs[i]->kind != SYNC_REQUEST)
			continue;
		rc = sync_request_verify(v->km, (const char *)jobs[i]->data,
		    jobs[i]->size);
		if (rc == 0)
			continue;
		sync_log(LOG_ERR, "target %s: %s is not a deletion request "
		    "signed by this appliance's administrator: %s",
		    v->target, jobs[i]->path, beemo_strerror(rc));
		bad++;
	}
	return bad;
}

static int
load_local_manifest(const struct sync_ctx *ctx, const char *target,
    struct sync_objs *objs, char *mname, size_t mnamesz)
{
	struct sync_manifest m;
	char path[PATH_MAX], stamp[64];
	uint8_t *text;
	size_t len;
	int rc;

	if ((rc = bm_path(path, sizeof(path), "%s/manifests/%s.json",
	    ctx->syncdir, target)) != 0 ||
	    (rc = bm_read_file(path, SYNC_MAX_MANIFEST, &text, &len)) != 0)
		return rc;
	rc = sync_manifest_parse((const char *)text, len, &m);
	free(text);
	if (rc != 0) {
		sync_log(LOG_ERR, "%s is malformed: %s", path,
		    beemo_strerror(rc));
		return rc;
	}
	*objs = m.objs;
	memset(&m.objs, 0, sizeof(m.objs));
	sync_manifest_free(&m);
	/* Its remote name is in the state; the status object shares its
	 * stamp, which is enough to find it. */
	*mname = '\0';
	for (size_t i = 0; i < objs->n; i++) {
		if (objs->v[i].kind != SYNC_STATUS)
			continue;
		snprintf(stamp, sizeof(stamp), "%s", objs->v[i].path + 7);
		snprintf(mname, mnamesz, "manifests/%s", stamp);
	}
	return 0;
}

/* Is @text the manifest this appliance last pushed to @target (its
 * local copy)?  Such a manifest is authentic also after `beemoctl admin
 * passwd` replaced the off-site key that made its mac. */
static int
pushed_here(const struct verify *v, const char *target, const char *text,
    size_t len)
{
	char path[PATH_MAX];
	uint8_t *mine = NULL;
	size_t mlen;
	int same;

	if (bm_path(path, sizeof(path), "%s/manifests/%s.json",
	    v->ctx->syncdir, target) != 0 ||
	    bm_read_file(path, SYNC_MAX_MANIFEST, &mine, &mlen) != 0)
		return 0;
	same = mlen == len && memcmp(mine, text, len) == 0;
	free(mine);
	return same;
}

/*
 * Is the newest manifest the center serves authentic, and not older than
 * the last push made to it?  (Newest by its claimed counter: a forged
 * one claiming a higher number is the newest and fails authentication.)
 * @fallback: receives that manifest's objects when @want_objs (a store
 * that has no local copy of what it pushed there).
 * Returns 0, -EBADMSG (not authentic), -ESTALE (an old state), -ENOENT
 * (no usable manifest), or a connection error; logged.
 */
static int
check_newest(struct verify *v, sync_conn *c, const char *name,
    int want_objs, struct sync_objs *fallback, char *mname, size_t mnamesz)
{
	const struct bm_sync_tstate *ts = NULL;
	struct sync_mlist ml = {0};
	struct sync_manifest m = {0};
	char *text = NULL, d1[64], d2[64];
	size_t len, i;
	int rc;

	for (i = 0; i < v->state.n; i++)
		if (strcmp(v->state.t[i].name, name) == 0)
			ts = &v->state.t[i];
	if ((rc = sync_manifest_list(c, &ml)) != 0)
		return rc;
	if (ml.n == 0 || *ml.v[0].bad != '\0') {
		sync_log(LOG_ERR, "target %s: no usable manifest under "
		    "manifests/", name);
		rc = -ENOENT;
		goto done;
	}
	if ((rc = sync_manifest_get(c, &ml.v[0], &text, &len, &m)) != 0) {
		sync_log(LOG_ERR, "target %s: cannot read %s: %s", name,
		    ml.v[0].name, beemo_strerror(rc));
		goto done;
	}
	if (m.version >= 2 && v->has_koff && !pushed_here(v, name, text,
	    len) && (rc = sync_manifest_authentic(text, len, v->koff)) != 0) {
		sync_log(LOG_ERR, "target %s: its newest manifest %s is not "
		    "authentic (%s): it was not made by this appliance", name,
		    ml.v[0].name, rc == -EBADMSG ? "wrong mac" :
		    beemo_strerror(rc));
		rc = -EBADMSG;
		goto done;
	}
	if (ts != NULL && ts->counter > m.counter) {
		if (m.version < 2)
			sync_log(LOG_ERR, "center %s serves an old state: "
			    "its newest manifest %s predates the push "
			    "numbers, but push %llu was made to it on %s",
			    name, ml.v[0].name, (unsigned long long)
			    ts->counter, sync_time_str(d2, sizeof(d2),
			    ts->counter_ns));
		else
			sync_log(LOG_ERR, "center %s serves an old state: "
			    "push %llu of %s, but push %llu was made to it "
			    "on %s", name, (unsigned long long)m.counter,
			    sync_time_str(d1, sizeof(d1), m.created_ns),
			    (unsigned long long)ts->counter,
			    sync_time_str(d2, sizeof(d2), ts->counter_ns));
		rc = -ESTALE;
		goto done;
	}
	if (!v->quiet && !v->json && m.version >= 2)
		printf("%s: newest state push %llu of %s%s\n", name,
		    (unsigned long long)m.counter, sync_time_str(d1, sizeof(d1),
		    m.created_ns), v->has_koff ? ", authentic" : "");
	if (want_objs) {
		*fallback = m.objs;
		memset(&m.objs, 0, sizeof(m.objs));
		snprintf(mname, mnamesz, "%s", ml.v[0].name);
	}
	rc = 0;
done:
	free(text);
	sync_manifest_free(&m);
	sync_mlist_free(&ml);
	return rc;
}

static int
verify_target(struct verify *v, const char *name, uint64_t *nbad)
{
	struct sync_target t;
	struct sync_objs objs = {0};
	struct sync_rlist rl = {0};
	struct sync_obj **jobs = NULL;
	struct bm_progress pr;
	sync_conn *c = NULL;
	char mname[128] = "", last[1024] = "", dir[1024];
	uint64_t total = 0, missing = 0, size;
	size_t i, nj = 0;
	int rc, local;

	if ((rc = sync_target_load(v->ctx, name, 0, &t)) != 0)
		return rc;
	if ((rc = sync_conn_open(&t, 0, &c)) != 0)
		goto done;
	rc = load_local_manifest(v->ctx, name, &objs, mname, sizeof(mname));
	local = rc == 0;
	if (rc != 0 && rc != -ENOENT)
		goto done;
	if ((rc = check_newest(v, c, name, !local, &objs, mname,
	    sizeof(mname))) != 0)
		goto done;
	if (!local) {
		if (!v->quiet)
			printf("%s: no local record of a push to this "
			    "target; checking its newest manifest %s\n", name,
			    mname);
	}
	if (local && *mname &&
	    (rc = sync_remote_stat(c, mname, &size)) != 0) {
		sync_log(LOG_ERR, "target %s: the manifest %s is missing",
		    name, mname);
		missing++;
	}
	/* One listing per directory instead of a stat per object. */
	for (i = 0; i < objs.n; i++) {
		const char *p = objs.v[i].path;
		size_t n = (size_t)(strrchr(p, '/') - p);

		memcpy(dir, p, n);
		dir[n] = '\0';
		if (strcmp(dir, last) == 0)
			continue;
		strcpy(last, dir);
		if ((rc = sync_remote_list(c, dir, &rl)) != 0)
			goto done;
	}
	if ((jobs = calloc(objs.n ? objs.n : 1, sizeof(*jobs))) == NULL) {
		rc = -ENOMEM;
		goto done;
	}
	for (i = 0; i < objs.n; i++) {
		struct sync_obj *o = &objs.v[i];
		const struct sync_rent *e = sync_rlist_find(&rl, o->path);

		total += o->size;
		if (e == NULL) {
			sync_log(LOG_ERR, "target %s: %s is missing", name,
			    o->path);
			missing++;
		} else if (!e->isreg || e->size != o->size) {
			sync_log(LOG_ERR, "target %s: %s has %llu bytes, "
			    "expected %llu", name, o->path,
			    (unsigned long long)e->size,
			    (unsigned long long)o->size);
			missing++;
		} else {
			jobs[nj++] = o;
		}
	}
	rc = 0;
	if (v->read_data && nj > 0) {
		struct sync_bw bw;
		uint64_t bytes = 0;

		for (i = 0; i < nj; i++)
			bytes += jobs[i]->size;
		bm_progress_start(&pr, name, v->quiet, nj, bytes, NULL,
		    NULL);
		sync_bw_init(&bw, t.bandwidth);
		v->io.pr = &pr;
		v->io.bw = &bw;
		v->target = name;
		(void)sync_pool_run(&t, c, jobs, nj, read_job, v);
		bm_progress_end(&pr, 0);
		sync_bw_destroy(&bw);
		v->io.pr = NULL;
		v->io.bw = NULL;
		for (i = 0; i < nj; i++)
			if (jobs[i]->rc != 0)
				(*nbad)++;
		*nbad += check_requests(v, jobs, nj);
	}
	*nbad += missing;
	v->objs = objs.n;
	v->bytes = total;
	v->missing = missing;
	if (!v->quiet && !v->json) {
		char h[32];

		printf("%s: %zu objects (%s) in %s: %llu missing or of wrong "
		    "size%s", name, objs.n, bm_human(h, sizeof(h), total),
		    *mname ? mname : "the manifest",
		    (unsigned long long)missing, v->read_data ? "" : "\n");
		if (v->read_data)
			printf(", %llu damaged or unreadable\n",
			    (unsigned long long)(*nbad - missing));
	}
	if (*nbad > 0)
		rc = -EBADMSG;
done:
	free(jobs);
	sync_rlist_free(&rl);
	sync_objs_free(&objs);
	sync_conn_close(c);
	sync_target_clear(&t);
	return rc;
}

/* The sync state (the push numbers made to each target) and the off-site
 * key.  Keys that predate the off-site key: authenticity is not checked
 * (said once); freshness still is, by the recorded numbers. */
static int
load_trust(struct verify *v)
{
	char keydir[PATH_MAX];
	keymgr *km = NULL;
	int rc;

	if ((rc = bm_sync_state_load(v->ctx->statepath, &v->state)) != 0)
		return rc;
	if ((rc = bm_path(keydir, sizeof(keydir), "%s/keys",
	    v->ctx->store)) != 0 || (rc = keymgr_open(keydir, &km)) != 0) {
		sync_log(LOG_ERR, "%s: %s", keydir, beemo_strerror(rc));
		return rc;
	}
	rc = keymgr_offsite_key(km, v->koff);
	v->km = km;
	if (rc == 0) {
		v->has_koff = 1;
	} else if (rc == BEEMO_ENOKEY) {
		if (!v->quiet)
			printf("no off-site key yet (keys of an older "
			    "version; 'beemoctl admin passwd' creates it): "
			    "the authenticity of manifests is not checked\n");
		rc = 0;
	} else {
		sync_log(LOG_ERR, "%s: cannot read the off-site key: %s",
		    keydir, beemo_strerror(rc));
	}
	return rc;
}

static void
verify_clear(struct verify *v)
{
	OPENSSL_cleanse(v->koff, sizeof(v->koff));
	keymgr_free(v->km);
	bm_sync_state_free(&v->state);
}

int
sync_cmd_verify(struct sync_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"target", required_argument, NULL, 't'},
		{"read-data", no_argument, NULL, 'r'},
		{"quiet", no_argument, NULL, 'q'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct verify v;
	bm_json j;
	const char *only = NULL;
	const char *const *names;
	char failed[1024] = "", (*tn)[65];
	size_t n, i, nfail = 0;
	int c, rc, lockfd = -1;

	memset(&v, 0, sizeof(v));
	v.ctx = ctx;
	v.quiet = ctx->quiet;
	v.json = ctx->json;
	while ((c = getopt_long(argc, argv, "t:rqh", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			only = optarg;
			break;
		case 'r':
			v.read_data = 1;
			break;
		case 'q':
			v.quiet = 1;
			break;
		case 'j':
			v.json = 1;
			break;
		case 'h':
			fputs(verify_usage, stdout);
			fputs(verify_help, stdout);
			return SYNC_EXIT_OK;
		default:
			fputs(verify_usage, stderr);
			return SYNC_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fputs(verify_usage, stderr);
		return SYNC_EXIT_USAGE;
	}
	bm_conf_names(ctx->conf, "target", &names, &n);
	if (only != NULL) {
		names = &only;
		n = 1;
	} else if (n == 0) {
		sync_log(LOG_ERR, "no [target NAME] section in the "
		    "configuration");
		return SYNC_EXIT_FAIL;
	}
	/* A push changing the remote meanwhile would make the check lie. */
	if ((rc = bm_mkdir_p(ctx->syncdir, 0700)) != 0 ||
	    (rc = sync_lock_take(ctx->lockpath, &lockfd)) != 0)
		return rc == BEEMO_ELOCKED ? BM_EXIT_BUSY : SYNC_EXIT_FAIL;
	if ((rc = load_trust(&v)) != 0) {
		verify_clear(&v);
		sync_lock_release(lockfd);
		return SYNC_EXIT_FAIL;
	}
	/* Copy the names: loading a target reuses bm_conf_names()' array. */
	if ((tn = calloc(n, sizeof(*tn))) == NULL) {
		verify_clear(&v);
		sync_lock_release(lockfd);
		return SYNC_EXIT_FAIL;
	}
	for (i = 0; i < n; i++)
		snprintf(tn[i], sizeof(tn[i]), "%s", names[i]);
	if (v.json) {
		bm_progress_set_json(1); /* no thread runs yet */
		bm_json_init(&j, stdout);
		bm_json_head(&j, "beemo-sync-verify", 1);
		bm_json_bool(&j, "read_data", v.read_data);
		bm_json_begin_arr(&j, "targets");
	}
	for (i = 0; i < n; i++) {
		const char *name = tn[i];
		uint64_t nbad = 0;
		int trc;

		v.objs = v.bytes = v.missing = 0;
		trc = verify_target(&v, name, &nbad);
		if (v.json) {
			/* Counts of a target that could not be read are 0. */
			bm_json_begin_obj(&j, NULL);
			bm_json_str(&j, "name", name);
			bm_json_bool(&j, "ok", trc == 0);
			bm_json_u64(&j, "objects", v.objs);
			bm_json_u64(&j, "bytes", v.bytes);
			bm_json_u64(&j, "missing", v.missing);
			bm_json_u64(&j, "damaged", nbad - v.missing);
			bm_json_end_obj(&j);
		}
		if (trc != 0) {
			nfail++;
			if (*failed)
				strncat(failed, ", ", sizeof(failed) -
				    strlen(failed) - 1);
			strncat(failed, name, sizeof(failed) -
			    strlen(failed) - 1);
		}
	}
	if (v.json) {
		bm_json_end_arr(&j);
		bm_json_u64(&j, "failed", nfail);
		bm_json_end_obj(&j);
	}
	free(tn);
	verify_clear(&v);
	sync_lock_release(lockfd);
	if (nfail > 0) {
		sync_log(LOG_ERR, "verify failed for target%s: %s",
		    nfail > 1 ? "s" : "", failed);
		return SYNC_EXIT_FAIL;
	}
	return SYNC_EXIT_OK;
}
