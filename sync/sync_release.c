/*
 * sync_release.c -- `beemo-sync release`: the administrator signs the
 * deletion requests for the storage centers (sync_request.h).
 *
 * For each target: the candidates are the objects of the last manifest
 * pushed to it (the local copy, authenticated with K_OFF) and those
 * that earlier manifests listed and later ones did not (T.unlisted);
 * sync_request_select() keeps those the appliance no longer needs and
 * no request named yet, by reason, and each reason gets one request,
 * signed with the administrator's key and stored under
 * STORE/sync/requests/T/ for the next push.  Whether a prune dropped a
 * pack is asked of the machine's store (store_dropped_packs, opened
 * read-only with the SECRET the password unlocks): a pack missing for
 * any other reason is never named.
 *
 * The password is what makes a center delete: unattended runs (the
 * maintenance, a prune after a policy) leave their objects waiting for
 * this verb, so that a program running on the appliance without it,
 * ransomware included, cannot erase the off-site copies.
 *
 * --cancel N stores a cancellation of request N for the next push
 * (sync_request_cancel): the center then never applies N.  It needs no
 * password, since cancelling only keeps data.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "bm_bytes.h"
#include "bm_confirm.h"
#include "bm_err.h"
#include "bm_file.h"
#include "bm_json.h"
#include "bm_log.h"
#include "bm_pass.h"
#include "bm_removed.h"
#include "bm_time.h"
#include "bm_units.h"
#include "store.h"
#include "sync.h"
#include "sync_request.h"

static const char release_usage[] =
    "usage: beemo-sync [-c FILE] [--store DIR] release [--target NAME] "
    "[--dry-run] [--json]\n"
    "       [--yes]\n"
    "       [--password-file FILE | --password-command CMD | "
    "--password-fd N]\n"
    "       beemo-sync [-c FILE] [--store DIR] release --cancel N "
    "[--target NAME]\n";

/* The rest of --help: what the verb does and each option. */
static const char release_help[] =
    "\n"
    "Sign deletion requests (administrator) for what the appliance no\n"
    "longer needs on each target (pruned packs, replaced key files, removed\n"
    "machines); the next push sends them to the centers.  Asks first, per\n"
    "target, on a terminal; without one, refuses unless --yes.\n"
    "\n"
    "  -t, --target NAME          this target only\n"
    "  -n, --dry-run              list what would be requested; sign and\n"
    "                             store nothing\n"
    "  -j, --json                 print JSON\n"
    "  -y, --yes                  sign without asking (needed without a\n"
    "                             terminal)\n"
    "  -p, --password-file FILE   the administrator's password, first line of\n"
    "                             FILE ('-': standard input)\n"
    "  --password-command CMD     the first line CMD prints is the password\n"
    "  --password-fd N            the first line of file descriptor N\n"
    "  --cancel N                 cancel request N instead\n"
    "  -h, --help                 this help\n";

/* The packs a prune dropped, per machine, read once. */
struct dropped {
	char machine[65];
	uint64_t *ids;
	size_t n;
};

struct release {
	const struct sync_ctx *ctx;
	keymgr *km;
	const char *pw;
	size_t pwlen;
	struct dropped *d;
	size_t nd;
};

static int
machine_state(void *arg, const char *machine)
{
	struct release *rl = arg;
	struct bm_removed e;
	char path[PATH_MAX];
	int rc;

	if (!bm_valid_name(machine))
		return BEEMO_EFORMAT;
	if ((rc = bm_path(path, sizeof(path), "%s/keys/machines/%s.key",
	    rl->ctx->store, machine)) != 0)
		return rc;
	if (access(path, F_OK) == 0)
		return SYNC_MACHINE_CURRENT;
	if ((rc = bm_path(path, sizeof(path), "%s/machines/%s",
	    rl->ctx->store, machine)) != 0)
		return rc;
	if (access(path, F_OK) == 0)
		return SYNC_MACHINE_CURRENT;
	rc = bm_removed_find(rl->ctx->store, machine, &e);
	if (rc == 0)
		return SYNC_MACHINE_REMOVED;
	return rc == -ENOENT ? SYNC_MACHINE_GONE : rc;
}

static int
load_dropped(struct release *rl, const char *machine, struct dropped *d)
{
	struct store_opts opts;
	keymgr_secret *s = NULL;
	store *st = NULL;
	char dir[PATH_MAX];
	int rc;

	memset(&opts, 0, sizeof(opts));
	opts.rdonly = 1;
	snprintf(d->machine, sizeof(d->machine), "%s", machine);
	if ((rc = bm_path(dir, sizeof(dir), "%s/machines/%s", rl->ctx->store,
	    machine)) != 0)
		return rc;
	if ((rc = keymgr_unlock_admin(rl->km, machine, rl->pw, rl->pwlen,
	    &s)) != 0) {
		sync_log(LOG_ERR, "machine %s: %s", machine,
		    keymgr_errmsg(rl->km));
		return rc;
	}
	if ((rc = store_open(dir, s, &opts, &st)) != 0 ||
	    (rc = store_dropped_packs(st, &d->ids, &d->n)) != 0)
		sync_log(LOG_ERR, "%s: cannot read the dropped packs: %s", dir,
		    beemo_strerror(rc));
	(void)store_close(st);
	keymgr_secret_free(s);
	return rc;
}

static int
pack_dropped(void *arg, const char *machine, uint64_t id)
{
	struct release *rl = arg;
	struct dropped *d = NULL, *nv;
	size_t i;
	int rc;

	for (i = 0; i < rl->nd; i++)
		if (strcmp(rl->d[i].machine, machine) == 0)
			d = &rl->d[i];
	if (d == NULL) {
		if ((nv = realloc(rl->d, (rl->nd + 1) * sizeof(*nv))) == NULL)
			return -ENOMEM;
		rl->d = nv;
		d = &rl->d[rl->nd];
		memset(d, 0, sizeof(*d));
		if ((rc = load_dropped(rl, machine, d)) != 0) {
			free(d->ids);
			return rc;
		}
		rl->nd++;
	}
	for (i = 0; i < d->n; i++)
		if (d->ids[i] == id)
			return 1;
	return 0;
}

/* The objects of the last manifest pushed to @target, if authentic. */
static int
last_manifest(const struct sync_ctx *ctx, const char *target,
    const uint8_t koff[KEYMGR_OFFSITE_LEN], struct sync_manifest *m)
{
	char path[PATH_MAX];
	uint8_t *text = NULL;
	size_t len;
	int rc;

	memset(m, 0, sizeof(*m));
	if ((rc = bm_path(path, sizeof(path), "%s/manifests/%s.json",
	    ctx->syncdir, target)) != 0)
		return rc;
	if ((rc = bm_read_file(path, SYNC_MAX_MANIFEST, &text, &len)) ==
	    -ENOENT)
		return -ENOENT;
	if (rc == 0 && (rc = sync_manifest_parse((const char *)text, len,
	    m)) == 0 && (rc = sync_manifest_authentic((const char *)text,
	    len, koff)) != 0)
		sync_log(LOG_ERR, "%s is not authenticated by the off-site "
		    "key (a change of the administrator's password since the "
		    "last push?): push to %s first", path, target);
	else if (rc != 0)
		sync_log(LOG_ERR, "%s: %s", path, beemo_strerror(rc));
	free(text);
	return rc;
}

/* Append copies of @from's objects (path, size, kind, sha) to @to. */
static int
append_objs(struct sync_objs *to, const struct sync_objs *from)
{
	size_t i;

	for (i = 0; i < from->n; i++) {
		char *p = strdup(from->v[i].path);

		if (sync_objs_add(to, p, NULL, NULL, from->v[i].size,
		    from->v[i].kind) != 0)
			return -ENOMEM;
		memcpy(to->v[to->n - 1].sha, from->v[i].sha, SYNC_HASH_LEN);
		to->v[to->n - 1].has_sha = from->v[i].has_sha;
	}
	return 0;
}

struct run {
	struct release rl;
	struct bm_sync_state state;
	struct sync_objs current;
	keymgr_admin_key *ak;
	char appliance[2 * KEYMGR_ID_LEN + 1];
	uint8_t koff[KEYMGR_OFFSITE_LEN];
	int dry_run;
	int yes;              /* --yes: sign without asking */
	int refused;          /* bm_confirm()'s status when not confirmed */
	bm_json *j;           /* --json, or NULL */
	uint64_t nobjs, nreqs;
};

static int
release_target(struct run *r, const char *target)
{
	struct sync_objs cands = {0}, named = {0}, out[SYNC_REASON_N];
	struct sync_oracle or = {machine_state, pack_dropped, &r->rl};
	const struct sync_ctx *ctx = r->rl.ctx;
	struct sync_manifest m;
	char reqdir[PATH_MAX], *text = NULL;
	uint64_t counter = 0, now = bm_now_ns();
	size_t len, i, k;
	int rc;

	memset(out, 0, sizeof(out));
	rc = last_manifest(ctx, target, r->koff, &m);
	if (rc == -ENOENT) {
		sync_log(LOG_INFO, "target %s: nothing pushed yet", target);
		return 0;
	}
	if (rc != 0 ||
	    (rc = append_objs(&cands, &m.objs)) != 0 ||
	    (rc = sync_unlisted_load(ctx, target, &cands)) != 0 ||
	    (rc = sync_request_named(ctx, target, &named)) != 0 ||
	    (rc = sync_request_select(&cands, &r->current, &named, &or,
	    out)) != 0 ||
	    (rc = bm_path(reqdir, sizeof(reqdir), "%s/requests",
	    ctx->syncdir)) != 0)
		goto out;
	/* What a center deletes is gone for good once the grace period
	 * is over: a person says yes to each target's requests. */
	for (i = 1, k = 0; i < SYNC_REASON_N; i++)
		k += out[i].n;
	if (!r->dry_run && k > 0 && (r->refused = bm_confirm("beemo-sync "
	    "release", r->yes, NULL, "Sign deletion requests for %zu objects "
	    "on target %s? Its center deletes them after its grace period "
	    "unless they are cancelled.", k, target)) != 0)
		goto out;
	if (r->j != NULL) {
		bm_json_begin_obj(r->j, NULL);
		bm_json_str(r->j, "target", target);
		bm_json_begin_arr(r->j, "requests");
	}
	for (i = 1; i < SYNC_REASON_N; i++) {
		if (out[i].n == 0)
			continue;
		if (!r->dry_run) {
			if ((rc = bm_mkdir_p(reqdir, 0700)) != 0 ||
			    (rc = sync_counter_next(reqdir, &counter)) != 0 ||
			    (rc = sync_request_build(r->ak, r->appliance,
			    counter, now, i, target, &out[i], &text,
			    &len)) != 0 ||
			    (rc = sync_request_store(ctx, target, counter,
			    text, len)) != 0)
				goto out;
			free(text);
			text = NULL;
			r->nreqs++;
			(void)sync_alog(ctx, r->rl.km, "release", "deletion "
			    "request %llu for %s signed: %s, %zu objects",
			    (unsigned long long)counter, target,
			    sync_reason_name(i), out[i].n);
		}
		r->nobjs += out[i].n;
		if (r->j != NULL) {
			bm_json_begin_obj(r->j, NULL);
			bm_json_str(r->j, "reason", sync_reason_name(i));
			bm_json_u64(r->j, "counter", counter);
			bm_json_begin_arr(r->j, "objects");
			for (k = 0; k < out[i].n; k++)
				bm_json_str(r->j, NULL, out[i].v[k].path);
			bm_json_end_arr(r->j);
			bm_json_end_obj(r->j);
		} else if (!ctx->quiet) {
			printf("%s: %s%s: %zu objects no longer needed%s\n",
			    target, r->dry_run ? "would request " : "request ",
			    sync_reason_name(i), out[i].n, r->dry_run ? "" :
			    ", signed");
			for (k = 0; k < out[i].n && ctx->verbose; k++)
				printf("  %s\n", out[i].v[k].path);
		}
	}
	if (r->j != NULL) {
		bm_json_end_arr(r->j);
		bm_json_end_obj(r->j);
	}
	if (!r->dry_run && r->nreqs > 0) {
		struct bm_sync_tstate *ts = bm_sync_state_target(&r->state,
		    target);

		if (ts != NULL &&
		    sync_request_awaiting(ctx, target, &ts->awaiting) == 0)
			(void)bm_sync_state_save(ctx->statepath, &r->state);
	}
out:
	free(text);
	for (i = 0; i < SYNC_REASON_N; i++)
		sync_objs_free(&out[i]);
	sync_objs_free(&cands);
	sync_objs_free(&named);
	sync_manifest_free(&m);
	return rc;
}

/* --cancel @counter: for @only, or every target holding the request. */
static int
release_cancel(struct sync_ctx *ctx, const char *only, uint64_t counter)
{
	const char *const *names;
	char keydir[PATH_MAX];
	keymgr *km = NULL;
	size_t n = 0, i, done = 0;
	int rc, lockfd = -1, ret = SYNC_EXIT_FAIL;

	if ((rc = bm_mkdir_p(ctx->syncdir, 0700)) != 0 ||
	    (rc = sync_lock_take(ctx->lockpath, &lockfd)) != 0)
		return rc == BEEMO_ELOCKED ? BM_EXIT_BUSY : SYNC_EXIT_FAIL;
	if ((rc = bm_path(keydir, sizeof(keydir), "%s/keys", ctx->store)) ||
	    (rc = keymgr_open(keydir, &km)) != 0) {
		sync_log(LOG_ERR, "%s: %s", keydir, beemo_strerror(rc));
		goto out;
	}
	bm_conf_names(ctx->conf, "target", &names, &n);
	if (only != NULL) {
		names = &only;
		n = 1;
	}
	for (i = 0; i < n; i++) {
		rc = sync_request_cancel(ctx, names[i], counter, only == NULL);
		if (rc == -ENOENT)
			continue;
		if (rc != 0)
			goto out;
		done++;
		(void)sync_alog(ctx, km, "release", "deletion request %llu "
		    "for %s cancelled", (unsigned long long)counter,
		    names[i]);
		if (!ctx->quiet)
			printf("%s: request %llu cancelled; the next push "
			    "sends the cancellation\n", names[i],
			    (unsigned long long)counter);
	}
	if (done == 0)
		sync_log(LOG_ERR, "no target has a deletion request %llu (name "
		    "the target with --target)", (unsigned long long)counter);
	else
		ret = SYNC_EXIT_OK;
out:
	keymgr_free(km);
	sync_lock_release(lockfd);
	return ret;
}

int
sync_cmd_release(struct sync_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"target", required_argument, NULL, 't'},
		{"dry-run", no_argument, NULL, 'n'},
		{"json", no_argument, NULL, 'j'},
		{"password-file", required_argument, NULL, 'p'},
		{"password-command", required_argument, NULL, 'c'},
		{"password-fd", required_argument, NULL, 'F'},
		{"cancel", required_argument, NULL, 'C'},
		{"yes", no_argument, NULL, 'y'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *only = NULL, *pwfile = NULL, *pwcmd = NULL, *pwfd = NULL;
	const char *const *names;
	char keydir[PATH_MAX], *pw = NULL;
	struct run r;
	bm_json j;
	uint8_t id[KEYMGR_ID_LEN];
	size_t n = 0, i, pwlen = 0;
	uint64_t cancel = 0;
	int c, rc, json = ctx->json, lockfd = -1, ret = SYNC_EXIT_FAIL;

	memset(&r, 0, sizeof(r));
	while ((c = getopt_long(argc, argv, "t:njp:yh", opts, NULL)) != -1) {
		switch (c) {
		case 't': only = optarg; break;
		case 'n': r.dry_run = 1; break;
		case 'j': json = 1; break;
		case 'p': pwfile = optarg; break;
		case 'y': r.yes = 1; break;
		case 'c': pwcmd = optarg; break;
		case 'F': pwfd = optarg; break;
		case 'C':
			if (bm_parse_u64(optarg, &cancel) != 0 || cancel == 0) {
				sync_log(LOG_ERR, "--cancel %s: not a request "
				    "number", optarg);
				return SYNC_EXIT_USAGE;
			}
			break;
		case 'h':
			fputs(release_usage, stdout);
			fputs(release_help, stdout);
			return SYNC_EXIT_OK;
		default:
			fputs(release_usage, stderr);
			return SYNC_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fputs(release_usage, stderr);
		return SYNC_EXIT_USAGE;
	}
	if (cancel != 0)
		return release_cancel(ctx, only, cancel);
	/* No one to ask: refused before the password is read. */
	if (!r.dry_run && !r.yes && !isatty(STDIN_FILENO))
		return bm_confirm("beemo-sync release", 0, NULL, "Sign "
		    "deletion requests?");
	bm_conf_names(ctx->conf, "target", &names, &n);
	if (only != NULL) {
		names = &only;
		n = 1;
	}
	r.rl.ctx = ctx;
	if ((rc = sync_password(pwfile, pwcmd, pwfd, &pw, &pwlen)) != 0)
		return rc;
	r.rl.pw = pw;
	r.rl.pwlen = pwlen;
	if ((rc = bm_mkdir_p(ctx->syncdir, 0700)) != 0 ||
	    (rc = sync_lock_take(ctx->lockpath, &lockfd)) != 0) {
		ret = rc == BEEMO_ELOCKED ? BM_EXIT_BUSY : SYNC_EXIT_FAIL;
		goto done;
	}
	if ((rc = bm_path(keydir, sizeof(keydir), "%s/keys", ctx->store)) ||
	    (rc = keymgr_open(keydir, &r.rl.km)) != 0) {
		sync_log(LOG_ERR, "%s: %s", keydir, beemo_strerror(rc));
		goto done;
	}
	keymgr_appliance_id(r.rl.km, id);
	bm_hex(r.appliance, id, sizeof(id));
	if ((rc = keymgr_admin_key_unlock(r.rl.km, pw, pwlen, &r.ak)) != 0) {
		sync_log(LOG_ERR, "%s", rc == BEEMO_EPASSWORD ? "wrong "
		    "administrator password" : keymgr_errmsg(r.rl.km));
		goto done;
	}
	if ((rc = keymgr_offsite_key(r.rl.km, r.koff)) != 0 ||
	    (rc = bm_sync_state_load(ctx->statepath, &r.state)) != 0 ||
	    (rc = sync_local_scan(ctx, r.rl.km, &r.state, &r.current)) != 0) {
		sync_log(LOG_ERR, "cannot read the appliance's state: %s",
		    beemo_strerror(rc));
		goto done;
	}
	if (json) {
		r.j = &j;
		bm_json_init(&j, stdout);
		bm_json_head(&j, "beemo-sync-release", 1);
		bm_json_bool(&j, "dry_run", r.dry_run);
		bm_json_begin_arr(&j, "targets");
	}
	ret = SYNC_EXIT_OK;
	for (i = 0; i < n && r.refused == 0; i++)
		if (release_target(&r, names[i]) != 0)
			ret = SYNC_EXIT_FAIL;
	if (r.refused != 0)
		ret = r.refused;
	if (json) {
		bm_json_end_arr(&j);
		bm_json_u64(&j, "objects", r.nobjs);
		bm_json_end_obj(&j);
	} else if (!ctx->quiet && r.nobjs == 0) {
		printf("nothing to release\n");
	}
	if (ret == SYNC_EXIT_OK && !r.dry_run && !ctx->quiet && !json &&
	    r.nreqs > 0)
		printf("%llu deletion request%s signed; the next push sends "
		    "them\n", (unsigned long long)r.nreqs, r.nreqs == 1 ? "" :
		    "s");
done:
	OPENSSL_cleanse(r.koff, sizeof(r.koff));
	for (i = 0; i < r.rl.nd; i++)
		free(r.rl.d[i].ids);
	free(r.rl.d);
	sync_objs_free(&r.current);
	bm_sync_state_free(&r.state);
	keymgr_admin_key_free(r.ak);
	keymgr_free(r.rl.km);
	bm_free_secret(pw, pwlen);
	sync_lock_release(lockfd);
	return ret;
}
