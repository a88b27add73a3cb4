/*
 * sync_history.c -- `beemo-sync history [--target NAME] [--json]`: the
 * states each target holds, newest first, and the `beemo-sync recover
 * --at` that takes each one.
 *
 * The states are the manifests of the target, in the order recovery
 * tries them (sync_manifest_list: by claimed push number).  For each:
 * its push number, time, objects and bytes; whether it is authentic
 * (its mac under this appliance's off-site key K_OFF, when this
 * appliance has its keys; "not checked" otherwise: a state pushed
 * before `beemoctl admin passwd` has the off-site key of that time, so
 * its mac is wrong under the current one); and whether it is
 * complete (every object it lists is on the target with its size,
 * judged from one listing of the directories all manifests use).
 * Recovery (sync_choose) takes, with --at TIME, the newest authentic
 * and complete state created at or before TIME: the time printed is the
 * state's creation time rounded up to the second (the precision of
 * --at), so it takes that state unless another was created within the
 * same second, which is said.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "bm_err.h"
#include "bm_file.h"
#include "bm_json.h"
#include "bm_log.h"
#include "bm_units.h"
#include "sync.h"

static const char history_usage[] =
    "usage: beemo-sync [-c FILE] [--store DIR] history [--target NAME] "
    "[--json]\n";

/* The rest of --help: what the verb does and each option. */
static const char history_help[] =
    "\n"
    "The states each target can restore, and the --at that recovers each.\n"
    "\n"
    "  -t, --target NAME  only this target\n"
    "  -j, --json         one JSON object \"beemo-sync-history\", its\n"
    "                     \"states\" newest first\n"
    "  -h, --help         this help\n";

/* One state of a target. */
struct hstate {
	const struct sync_mentry *e;
	uint64_t objects, bytes;
	size_t missing;        /* objects absent or of the wrong size */
	int auth;              /* 1 yes, 0 no, -1 not checked */
	char why[128];         /* why not authentic, or unusable */
	char at[32];           /* the --at argument */
	int same_second;       /* another state within that second */
	int unusable;          /* malformed or unreadable: @why says */
};

struct history {
	const struct sync_ctx *ctx;
	int have_koff;
	uint8_t koff[KEYMGR_OFFSITE_LEN];
	int json;
	bm_json j;
};

/* The directories of @m's objects, each listed once into @rl. */
static int
list_dirs(sync_conn *c, const struct sync_manifest *m, char ***dirs,
    size_t *ndirs, struct sync_rlist *rl)
{
	char dir[1024], **nv;
	size_t i, k, n;
	int rc;

	for (i = 0; i < m->objs.n; i++) {
		const char *p = m->objs.v[i].path, *s = strrchr(p, '/');

		n = s ? (size_t)(s - p) : 0;
		if (n >= sizeof(dir))
			continue;
		memcpy(dir, p, n);
		dir[n] = '\0';
		for (k = 0; k < *ndirs; k++)
			if (!strcmp((*dirs)[k], dir))
				break;
		if (k < *ndirs)
			continue;
		if (!(nv = realloc(*dirs, (*ndirs + 1) * sizeof(*nv))))
			return -ENOMEM;
		*dirs = nv;
		if (!(nv[*ndirs] = strdup(dir)))
			return -ENOMEM;
		(*ndirs)++;
		if ((rc = sync_remote_list(c, dir, rl)) != 0)
			return rc;
	}
	return 0;
}

/* A manifest stored this much after the time it claims is named. */
#define LATE_NS (3600ull * 1000000000ull)

static void
at_arg(struct hstate *h)
{
	time_t t = (time_t)((sync_mentry_time(h->e) + 999999999u) /
	    1000000000u);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(h->at, sizeof(h->at), "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Examine every state of the target over @c.  @hs: receives @n states,
 * in the order of @ml. */
static int
examine(struct history *hi, sync_conn *c, const struct sync_mlist *ml,
    struct hstate *hs)
{
	struct sync_manifest *ms;
	struct sync_rlist rl = {0};
	char **dirs = NULL;
	size_t ndirs = 0, i, k;
	int rc = 0;

	if (!(ms = calloc(ml->n ? ml->n : 1, sizeof(*ms))))
		return -ENOMEM;
	for (i = 0; i < ml->n; i++) {
		struct hstate *h = &hs[i];
		char *text = NULL;
		size_t len;

		h->e = &ml->v[i];
		h->auth = -1;
		if (*h->e->bad) {
			snprintf(h->why, sizeof(h->why), "%s", h->e->bad);
			h->unusable = 1;
			continue;
		}
		if ((rc = sync_manifest_get(c, h->e, &text, &len,
		    &ms[i])) != 0) {
			if (sync_conn_broken(c))
				goto done;
			snprintf(h->why, sizeof(h->why), "%s",
			    beemo_strerror(rc));
			h->unusable = 1;
			rc = 0;
			continue;
		}
		if (ms[i].version < 2) {
			h->auth = 0;
			snprintf(h->why, sizeof(h->why), "version 1, no mac");
		} else if (hi->have_koff) {
			rc = sync_manifest_authentic(text, len, hi->koff);
			h->auth = rc == 0;
			if (rc != 0)
				snprintf(h->why, sizeof(h->why), "%s",
				    rc == -EBADMSG ? "wrong mac under the "
				    "current off-site key" :
				    beemo_strerror(rc));
			rc = 0;
		}
		free(text);
		for (k = 0; k < ms[i].objs.n; k++) {
			h->objects++;
			h->bytes += ms[i].objs.v[k].size;
		}
		if ((rc = list_dirs(c, &ms[i], &dirs, &ndirs, &rl)) != 0)
			goto done;
	}
	for (i = 0; i < ml->n; i++) {
		for (k = 0; k < ms[i].objs.n; k++) {
			const struct sync_obj *o = &ms[i].objs.v[k];
			const struct sync_rent *r = sync_rlist_find(&rl,
			    o->path);

			if (!r || !r->isreg || r->size != o->size)
				hs[i].missing++;
		}
		at_arg(&hs[i]);
	}
	for (i = 0; i < ml->n; i++)
		for (k = 0; k < ml->n; k++)
			if (k != i && !hs[k].unusable && !hs[i].unusable &&
			    sync_mentry_time(&ml->v[k]) >
			    sync_mentry_time(&ml->v[i]) &&
			    !strcmp(hs[k].at, hs[i].at))
				hs[i].same_second = 1;
done:
	for (i = 0; i < ml->n; i++)
		sync_manifest_free(&ms[i]);
	free(ms);
	bm_names_free(dirs, ndirs);
	sync_rlist_free(&rl);
	return rc;
}

static const char *
auth_str(const struct hstate *h)
{
	return h->auth < 0 ? "not checked" : h->auth ? "yes" : "no";
}

static void
print_text(struct history *hi, const char *target, const struct hstate *h,
    size_t n)
{
	char when[32], b[32];
	size_t i;

	printf("%s: %zu state%s\n", target, n, n == 1 ? "" : "s");
	for (i = 0; i < n; i++) {
		if (h[i].unusable) {
			printf("  %s: unusable (%s)\n", h[i].e->name,
			    h[i].why);
			continue;
		}
		printf("  push %llu of %s: %llu objects (%s), authenticated: "
		    "%s%s%s%s, %s\n", (unsigned long long)h[i].e->counter,
		    sync_time_str(when, sizeof(when), sync_mentry_time(h[i].e)),
		    (unsigned long long)h[i].objects,
		    bm_human(b, sizeof(b), h[i].bytes), auth_str(&h[i]),
		    *h[i].why ? " (" : "", h[i].why, *h[i].why ? ")" : "",
		    h[i].missing ? "INCOMPLETE" : "complete");
		if (h[i].e->stored_ns > h[i].e->created_ns + LATE_NS)
			printf("    stored by the center later than the time "
			    "it claims (%s): made afterwards by whoever held "
			    "the off-site key, or copied; dated when stored\n",
			    sync_time_str(b, sizeof(b), h[i].e->created_ns));
		if (h[i].missing)
			printf("    %zu objects missing or of the wrong size: "
			    "recover --at takes an older state\n",
			    h[i].missing);
		else if (h[i].auth == 0 && h[i].e->version < 2)
			printf("    not restorable without "
			    "--accept-unauthenticated\n");
		else if (h[i].auth == 0)
			printf("    forged, or pushed before an `admin passwd`"
			    ": recovery takes it only with the password of "
			    "that time\n    (beemo-sync recover --target %s "
			    "--at %s)\n", target, h[i].at);
		else
			printf("    beemo-sync recover --target %s --at %s%s\n",
			    target, h[i].at, h[i].same_second ? "  (another "
			    "state was pushed in the same second: recovery "
			    "takes the newer)" : "");
	}
	(void)hi;
}

static void
print_json(struct history *hi, const char *target, const struct hstate *h,
    size_t n)
{
	char cmd[256];
	size_t i;

	for (i = 0; i < n; i++) {
		bm_json_begin_obj(&hi->j, NULL);
		bm_json_str(&hi->j, "target", target);
		bm_json_str(&hi->j, "manifest", h[i].e->name);
		if (h[i].unusable) {
			bm_json_str(&hi->j, "unusable", h[i].why);
			bm_json_end_obj(&hi->j);
			continue;
		}
		bm_json_u64(&hi->j, "push", h[i].e->counter);
		bm_json_time(&hi->j, "time", sync_mentry_time(h[i].e));
		bm_json_u64(&hi->j, "time_ns", sync_mentry_time(h[i].e));
		bm_json_time(&hi->j, "claimed", h[i].e->created_ns);
		if (h[i].e->stored_ns)
			bm_json_time(&hi->j, "stored", h[i].e->stored_ns);
		bm_json_u64(&hi->j, "objects", h[i].objects);
		bm_json_u64(&hi->j, "bytes", h[i].bytes);
		if (h[i].auth < 0)
			bm_json_null(&hi->j, "authenticated");
		else
			bm_json_bool(&hi->j, "authenticated", h[i].auth);
		bm_json_bool(&hi->j, "complete", h[i].missing == 0);
		bm_json_u64(&hi->j, "missing", h[i].missing);
		snprintf(cmd, sizeof(cmd), "beemo-sync recover --target %s "
		    "--at %s", target, h[i].at);
		if (h[i].missing == 0 && h[i].auth != 0)
			bm_json_str(&hi->j, "recover", cmd);
		else
			bm_json_null(&hi->j, "recover");
		bm_json_end_obj(&hi->j);
	}
}

/* One target.  Returns 0 or an error (logged). */
static int
history_target(struct history *hi, const char *name)
{
	struct sync_target t;
	struct sync_mlist ml = {0};
	struct hstate *hs = NULL;
	sync_conn *c = NULL;
	int rc;

	if ((rc = sync_target_load(hi->ctx, name, 0, &t)) != 0)
		return rc;
	if ((rc = sync_conn_open(&t, 0, &c)) != 0)
		goto done;
	if ((rc = sync_manifest_list(c, &ml)) != 0)
		goto done;
	if (!(hs = calloc(ml.n ? ml.n : 1, sizeof(*hs)))) {
		rc = -ENOMEM;
		goto done;
	}
	if ((rc = examine(hi, c, &ml, hs)) != 0) {
		sync_log(LOG_ERR, "target %s: %s", name, beemo_strerror(rc));
		goto done;
	}
	if (hi->json)
		print_json(hi, name, hs, ml.n);
	else
		print_text(hi, name, hs, ml.n);
done:
	free(hs);
	sync_mlist_free(&ml);
	sync_conn_close(c);
	sync_target_clear(&t);
	return rc;
}

int
sync_cmd_history(struct sync_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"target", required_argument, NULL, 't'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct history hi;
	const char *const *names, *only = NULL;
	char keydir[PATH_MAX];
	keymgr *km = NULL;
	size_t n, i;
	int c, rc, fails = 0;

	memset(&hi, 0, sizeof(hi));
	hi.ctx = ctx;
	hi.json = ctx->json;
	while ((c = getopt_long(argc, argv, "t:jh", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			only = optarg;
			break;
		case 'j':
			hi.json = 1;
			break;
		case 'h':
			fputs(history_usage, stdout);
			fputs(history_help, stdout);
			return SYNC_EXIT_OK;
		default:
			fputs(history_usage, stderr);
			return SYNC_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fputs(history_usage, stderr);
		return SYNC_EXIT_USAGE;
	}
	/* Without the appliance's keys (a lost appliance) states are listed
	 * unauthenticated. */
	if (bm_path(keydir, sizeof(keydir), "%s/keys", ctx->store) == 0 &&
	    keymgr_open(keydir, &km) == 0 &&
	    keymgr_offsite_key(km, hi.koff) == 0)
		hi.have_koff = 1;
	keymgr_free(km);
	bm_conf_names(ctx->conf, "target", &names, &n);
	if (only) {
		names = &only;
		n = 1;
	} else if (n == 0) {
		sync_log(LOG_ERR, "no [target NAME] section in the "
		    "configuration");
		return SYNC_EXIT_FAIL;
	}
	if (hi.json) {
		bm_json_init(&hi.j, stdout);
		bm_json_head(&hi.j, "beemo-sync-history", 1);
		bm_json_begin_arr(&hi.j, "states");
	}
	for (i = 0; i < n; i++)
		if ((rc = history_target(&hi, names[i])) != 0)
			fails++;
	if (hi.json) {
		bm_json_end_arr(&hi.j);
		bm_json_end_obj(&hi.j);
	}
	OPENSSL_cleanse(hi.koff, sizeof(hi.koff));
	return fails ? SYNC_EXIT_FAIL : SYNC_EXIT_OK;
}
