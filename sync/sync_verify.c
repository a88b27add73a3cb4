/*
 * sync_verify.c -- `beemo-sync verify`: is the copy on each target
 * complete, and (with --read-data) intact?
 *
 * The reference is the local copy of the last manifest pushed to the
 * target (STORE/sync/manifests/TARGET.json), which the remote cannot
 * have altered; without one (a store that never pushed there), the
 * newest manifest on the target is used and said so.  Every object of
 * the manifest, and the manifest itself, must exist with its size; with
 * --read-data every object is downloaded and its SHA-256 compared, and
 * each damaged object is named.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bm_conf.h"
#include "bm_err.h"
#include "bm_file.h"
#include "bm_log.h"
#include "bm_units.h"
#include "sync.h"

static const char verify_usage[] =
    "usage: beemo-sync [-c FILE] [--store DIR] verify [--target NAME] "
    "[--read-data]\n";

struct verify {
	const struct sync_ctx *ctx;
	const char *target;
	struct sync_io io;
	int read_data;
	int quiet;
};

static int
read_job(sync_conn *c, struct sync_obj *o, void *arg)
{
	struct verify *v = arg;
	uint8_t sha[SYNC_HASH_LEN];
	int rc;

	rc = sync_remote_get(c, o->path, o->size, -1, NULL, &v->io, sha);
	if (rc != 0)
		return rc;
	bm_progress_add(v->io.pr, 0, 1);
	if (memcmp(sha, o->sha, sizeof(sha)) != 0) {
		sync_log(LOG_ERR, "target %s: %s is DAMAGED: its SHA-256 "
		    "differs from the manifest", v->target, o->path);
		return -EBADMSG;
	}
	return 0;
}

static int
load_local_manifest(const struct sync_ctx *ctx, const char *target,
    struct sync_objs *objs, char *mname, size_t mnamesz)
{
	char path[PATH_MAX], appl[2 * KEYMGR_ID_LEN + 1], stamp[64];
	uint8_t *text;
	uint64_t created;
	size_t len;
	int rc;

	if ((rc = bm_path(path, sizeof(path), "%s/manifests/%s.json",
	    ctx->syncdir, target)) != 0 ||
	    (rc = bm_read_file(path, SYNC_MAX_MANIFEST, &text, &len)) != 0)
		return rc;
	rc = sync_manifest_parse((const char *)text, len, objs, appl,
	    &created);
	free(text);
	if (rc != 0) {
		sync_log(LOG_ERR, "%s is malformed: %s", path,
		    beemo_strerror(rc));
		return rc;
	}
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
	if (rc == -ENOENT) {
		char appl[2 * KEYMGR_ID_LEN + 1];

		if ((rc = sync_manifest_fetch(c, name, 0, &objs, mname,
		    sizeof(mname), appl)) != 0)
			goto done;
		if (!v->quiet)
			printf("%s: no local record of a push to this "
			    "target; checking its newest manifest %s\n", name,
			    mname);
	} else if (rc != 0) {
		goto done;
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
	}
	*nbad += missing;
	if (!v->quiet) {
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

int
sync_cmd_verify(struct sync_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"target", required_argument, NULL, 't'},
		{"read-data", no_argument, NULL, 'r'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct verify v;
	const char *only = NULL;
	const char *const *names;
	char failed[1024] = "", (*tn)[65];
	size_t n, i, nfail = 0;
	int c, rc, lockfd = -1;

	memset(&v, 0, sizeof(v));
	v.ctx = ctx;
	v.quiet = ctx->quiet;
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
		case 'h':
			fputs(verify_usage, stdout);
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
		return rc == BEEMO_ELOCKED ? SYNC_EXIT_LOCKED : SYNC_EXIT_FAIL;
	/* Copy the names: loading a target reuses bm_conf_names()' array. */
	if ((tn = calloc(n, sizeof(*tn))) == NULL) {
		sync_lock_release(lockfd);
		return SYNC_EXIT_FAIL;
	}
	for (i = 0; i < n; i++)
		snprintf(tn[i], sizeof(tn[i]), "%s", names[i]);
	for (i = 0; i < n; i++) {
		const char *name = tn[i];
		uint64_t nbad = 0;

		if (verify_target(&v, name, &nbad) != 0) {
			nfail++;
			if (*failed)
				strncat(failed, ", ", sizeof(failed) -
				    strlen(failed) - 1);
			strncat(failed, name, sizeof(failed) -
			    strlen(failed) - 1);
		}
	}
	free(tn);
	sync_lock_release(lockfd);
	if (nfail > 0) {
		sync_log(LOG_ERR, "verify failed for target%s: %s",
		    nfail > 1 ? "s" : "", failed);
		return SYNC_EXIT_FAIL;
	}
	return SYNC_EXIT_OK;
}
