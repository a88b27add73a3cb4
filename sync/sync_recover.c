/*
 * sync_recover.c -- `beemo-sync recover`: rebuild a lost appliance on a
 * new machine from one target alone.
 *
 * Steps: read the administrator's password (before any network); pick
 * the newest state this appliance can prove it pushed (sync_choose():
 * each manifest authenticated under the off-site key of the admin.key it
 * lists, opened with the password; version 1 manifests only with
 * --accept-unauthenticated) or, with --at, the newest not after a time;
 * download every object it lists (except status files) and check each
 * against the manifest's SHA-256 -- small objects (key files, store.id,
 * the sealed configuration, journal segments) in memory, packs into the
 * staging directory STORE/.beemo-staging -- so that a damaged or swapped
 * object is named and nothing at all is written into the store; then
 * move the staged tree into place, open the sealed configuration and
 * write it out, rebuild keys/appliance.key from admin.key
 * (keymgr_restore_appliance_key), rebuild every machine's index from
 * its packs (store_rebuild()), and set the push counter to the highest
 * authentic one at the target (with --at, newer states stay there) so
 * that the next push is newer than every state left behind.
 *
 * Interruption: the directory holds a marker ".beemo-recovering" until
 * the end; a directory with that marker is accepted again (what an
 * interrupted run staged or placed is removed first: the marker says the
 * directory was empty before), so a second run starts over.  Any other
 * non-empty directory is refused.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "bm_bytes.h"
#include "bm_err.h"
#include "bm_file.h"
#include "bm_log.h"
#include "bm_pass.h"
#include "bm_time.h"
#include "bm_tmpdir.h"
#include "bm_units.h"
#include "sync.h"

#define MARKER ".beemo-recovering"
#define STAGE ".beemo-staging"

static const char recover_usage[] =
    "usage: beemo-sync [-c FILE] recover --target NAME --store DIR "
    "[--password-file FILE | --password-command CMD | --password-fd N] "
    "[--at TIME] [--accept-unauthenticated] "
    "[--write-config FILE] [--quiet] [--json]\n";

/* The rest of --help: what the verb does and each option. */
static const char recover_help[] =
    "\n"
    "Rebuild an appliance from a target: the newest authentic state (or the\n"
    "one of --at) is downloaded into a new store DIR.\n"
    "\n"
    "  -t, --target NAME             the target to recover from (required)\n"
    "  -s, --store DIR               the new store directory (required)\n"
    "  -p, --password-file FILE      the administrator's password, first line\n"
    "                                of FILE ('-': standard input)\n"
    "  --password-command CMD        the password: the first line CMD prints\n"
    "  --password-fd N               the first line of file descriptor N\n"
    "  -a, --at TIME                 the newest authentic state pushed at or\n"
    "                                before TIME (see beemo-sync history)\n"
    "  -U, --accept-unauthenticated  also take version 1 manifests\n"
    "                                (dangerous)\n"
    "  -w, --write-config FILE       write the recovered configuration to\n"
    "                                FILE, not DIR/beemo.conf.recovered\n"
    "  -q, --quiet                   no progress and no summary\n"
    "      --json                    one JSON object \"beemo-sync-recover\"\n"
    "                                at the end\n"
    "  -h, --help                    this help\n";

/* What recovery moves into the store, from the staging directory. */
static const char *const placed[] = {"keys", "machines", "journal"};
#define NPLACED (sizeof(placed) / sizeof(placed[0]))

struct recover {
	const char *dir;
	const char *target;
	char stage[PATH_MAX];    /* DIR/.beemo-staging */
	struct sync_io io;
};

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return (flag == FTW_DP ? rmdir(path) : unlink(path)) != 0 ? -1 : 0;
}

/* Remove the tree @path (never following links); a missing one is fine. */
static int
remove_tree(const char *path)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : -errno;
	if (nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0) {
		int rc = -errno;

		sync_log(LOG_ERR, "cannot remove %s: %s", path,
		    beemo_strerror(rc));
		return rc;
	}
	return 0;
}

/* Empty, missing (created), or an interrupted recovery of ours (whose
 * staged and placed files are removed). */
static int
check_dir(const char *dir, int *resume)
{
	char marker[PATH_MAX], why[PATH_MAX + 64], path[PATH_MAX];
	struct dirent *e;
	size_t i;
	DIR *d;
	int rc, n = 0;

	*resume = 0;
	if ((rc = bm_mkdir_p(dir, 0700)) != 0) {
		sync_log(LOG_ERR, "cannot create %s: %s", dir,
		    beemo_strerror(rc));
		return rc;
	}
	/* Key files and packs are written by name below @dir, and the
	 * store is trusted once recovered: nobody else may change it. */
	if ((rc = bm_dir_trusted(dir, why, sizeof(why))) != 0) {
		sync_log(LOG_ERR, "%s: not a safe store directory: %s", dir,
		    why);
		return rc;
	}
	if ((d = opendir(dir)) == NULL) {
		rc = -errno;
		sync_log(LOG_ERR, "%s: %s", dir, beemo_strerror(rc));
		return rc;
	}
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	if ((rc = bm_path(marker, sizeof(marker), "%s/" MARKER, dir)) != 0)
		return rc;
	if (n > 0 && access(marker, F_OK) != 0) {
		sync_log(LOG_ERR, "%s is not empty; recovery writes only into "
		    "an empty directory", dir);
		return -ENOTEMPTY;
	}
	*resume = n > 0;
	if (!*resume) {
		if ((rc = bm_write_file_atomic(marker, "", 0, 0600, 0)) != 0)
			sync_log(LOG_ERR, "cannot write %s: %s", marker,
			    beemo_strerror(rc));
		return rc;
	}
	if ((rc = bm_path(path, sizeof(path), "%s/" STAGE, dir)) != 0 ||
	    (rc = remove_tree(path)) != 0)
		return rc;
	for (i = 0; i < NPLACED; i++)
		if ((rc = bm_path(path, sizeof(path), "%s/%s", dir,
		    placed[i])) != 0 || (rc = remove_tree(path)) != 0)
			return rc;
	return 0;
}

static void
damaged(const struct recover *r, const struct sync_obj *o)
{
	sync_log(LOG_ERR, "target %s: %s is DAMAGED: its SHA-256 differs "
	    "from the manifest; it is not restored", r->target, o->path);
}

/* A pack: downloaded into the staging directory, checked, renamed. */
static int
get_pack(sync_conn *c, struct recover *r, struct sync_obj *o,
    const char *local)
{
	char tmp[PATH_MAX], final[PATH_MAX], dir[PATH_MAX];
	uint8_t sha[SYNC_HASH_LEN];
	int fd, rc;

	if ((rc = bm_path(final, sizeof(final), "%s/%s", r->stage,
	    local)) != 0 ||
	    (rc = bm_path(tmp, sizeof(tmp), "%s.part", final)) != 0 ||
	    (rc = bm_path(dir, sizeof(dir), "%s", final)) != 0)
		return rc;
	*strrchr(dir, '/') = '\0';
	if ((rc = bm_mkdir_p(dir, 0700)) != 0) {
		sync_log(LOG_ERR, "cannot create %s: %s", dir,
		    beemo_strerror(rc));
		return rc;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		sync_log(LOG_ERR, "cannot create %s: %s", tmp,
		    beemo_strerror(rc));
		return rc;
	}
	rc = sync_remote_get(c, o->path, o->size, fd, NULL, &r->io, sha);
	if (rc == 0 && fsync(fd) != 0) {
		rc = -errno;
		sync_log(LOG_ERR, "fsync %s: %s", tmp, beemo_strerror(rc));
	}
	if (close(fd) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && memcmp(sha, o->sha, sizeof(sha)) != 0) {
		damaged(r, o);
		rc = -EBADMSG;
	}
	if (rc == 0 && rename(tmp, final) != 0) {
		rc = -errno;
		sync_log(LOG_ERR, "rename %s: %s", tmp, beemo_strerror(rc));
	}
	if (rc != 0)
		(void)unlink(tmp);
	return rc;
}

static int
get_job(sync_conn *c, struct sync_obj *o, void *arg)
{
	struct recover *r = arg;
	char local[PATH_MAX];
	uint8_t sha[SYNC_HASH_LEN], *mem = NULL;
	enum sync_kind kind;
	int rc;

	if ((rc = sync_path_classify(o->path, &kind, local, sizeof(local))))
		return rc;
	if (kind == SYNC_PACK) {
		if ((rc = get_pack(c, r, o, local)) != 0)
			return rc;
	} else {
		/* Small: kept in memory until everything is checked. */
		rc = sync_remote_get(c, o->path, o->size, -1, &mem, &r->io,
		    sha);
		if (rc != 0)
			return rc;
		if (memcmp(sha, o->sha, sizeof(sha)) != 0) {
			damaged(r, o);
			free(mem);
			return -EBADMSG;
		}
		o->data = mem;
	}
	bm_progress_add(r->io.pr, 0, 1);
	return 0;
}

/* Write the small objects into the staging directory, then move what it
 * holds into the store. */
static int
place(struct recover *r, const struct sync_objs *objs)
{
	char local[PATH_MAX], path[PATH_MAX], to[PATH_MAX];
	enum sync_kind kind;
	size_t i;
	int rc;

	for (i = 0; i < objs->n; i++) {
		const struct sync_obj *o = &objs->v[i];

		if (o->data == NULL || sync_path_classify(o->path, &kind,
		    local, sizeof(local)) != 0 || *local == '\0')
			continue;
		if ((rc = bm_path(path, sizeof(path), "%s/%s", r->stage,
		    local)) != 0)
			return rc;
		*strrchr(path, '/') = '\0';
		if ((rc = bm_mkdir_p(path, 0700)) != 0 ||
		    (rc = bm_path(path, sizeof(path), "%s/%s", r->stage,
		    local)) != 0 ||
		    (rc = bm_write_file_atomic(path, o->data, o->size, 0600,
		    1)) != 0) {
			sync_log(LOG_ERR, "cannot write %s: %s", path,
			    beemo_strerror(rc));
			return rc;
		}
	}
	for (i = 0; i < NPLACED; i++) {
		if ((rc = bm_path(path, sizeof(path), "%s/%s", r->stage,
		    placed[i])) != 0 ||
		    (rc = bm_path(to, sizeof(to), "%s/%s", r->dir,
		    placed[i])) != 0)
			return rc;
		if (access(path, F_OK) != 0)
			continue;
		if (rename(path, to) != 0) {
			rc = -errno;
			sync_log(LOG_ERR, "cannot move %s to %s: %s", path, to,
			    beemo_strerror(rc));
			return rc;
		}
	}
	if (rmdir(r->stage) != 0) {
		rc = -errno;
		sync_log(LOG_ERR, "cannot remove %s: %s", r->stage,
		    beemo_strerror(rc));
		return rc;
	}
	return bm_fsync_dir(r->dir);
}

static int
write_config(struct recover *r, const struct sync_objs *objs, keymgr *km,
    const char *pw, size_t pwlen, const char *out, char *written,
    size_t wsz)
{
	const struct sync_obj *cfg = NULL;
	uint8_t *plain = NULL;
	size_t plen = 0, i;
	int rc;

	*written = '\0';
	for (i = 0; i < objs->n; i++)
		if (objs->v[i].kind == SYNC_CONFIG && objs->v[i].data)
			cfg = &objs->v[i];
	if (cfg == NULL) {
		sync_log(LOG_WARNING, "the manifest holds no configuration "
		    "file; none is written");
		return 0;
	}
	rc = keymgr_open_admin(km, pw, pwlen, cfg->data, cfg->size, &plain,
	    &plen);
	if (rc != 0) {
		sync_log(LOG_ERR, "cannot open the sealed configuration: %s",
		    rc == BEEMO_EPASSWORD ? "wrong administrator password" :
		    beemo_strerror(rc));
		return rc;
	}
	if (out != NULL)
		rc = bm_write_file_atomic(out, plain, plen, 0600, 1);
	else if ((rc = bm_path(written, wsz, "%s/beemo.conf.recovered",
	    r->dir)) == 0)
		rc = bm_write_file_atomic(written, plain, plen, 0600, 0);
	if (out != NULL)
		snprintf(written, wsz, "%s", out);
	if (rc != 0)
		sync_log(LOG_ERR, "cannot write %s: %s", written,
		    rc == -EEXIST ? "it exists (not overwritten)" :
		    beemo_strerror(rc));
	OPENSSL_cleanse(plain, plen);
	free(plain);
	return rc;
}

/* Everything after the objects are in place, with the password. */
static int
rebuild(struct recover *r, const struct sync_manifest *m,
    const uint8_t koff[KEYMGR_OFFSITE_LEN], int authentic, uint64_t newest,
    const char *pw, size_t pwlen, const char *confout, int quiet)
{
	char keydir[PATH_MAX], idfile[PATH_MAX], conf[PATH_MAX], hex[33];
	uint8_t id[KEYMGR_ID_LEN], mine[KEYMGR_OFFSITE_LEN];
	char **mach = NULL;
	size_t nm = 0, i;
	keymgr *km = NULL;
	int rc;

	if ((rc = bm_path(keydir, sizeof(keydir), "%s/keys", r->dir)) != 0)
		return rc;
	if ((rc = keymgr_open(keydir, &km)) != 0) {
		sync_log(LOG_ERR, "%s: %s", keydir, beemo_strerror(rc));
		return rc;
	}
	keymgr_appliance_id(km, id);
	bm_hex(hex, id, sizeof(id));
	if (strcmp(hex, m->appliance) != 0) {
		sync_log(LOG_ERR, "the manifest is of appliance %s but "
		    "admin.key of %s", m->appliance, hex);
		rc = BEEMO_EFOREIGN;
		goto done;
	}
	if ((rc = keymgr_admin_check(km, pw, pwlen)) != 0) {
		sync_log(LOG_ERR, "%s", rc == BEEMO_EPASSWORD ?
		    "wrong administrator password" : beemo_strerror(rc));
		goto done;
	}
	if ((rc = write_config(r, &m->objs, km, pw, pwlen, confout, conf,
	    sizeof(conf))) != 0)
		goto done;
	rc = keymgr_restore_appliance_key(km, pw, pwlen);
	if (rc != 0 && rc != -EEXIST) {
		sync_log(LOG_ERR, "cannot restore the appliance key: %s",
		    beemo_strerror(rc));
		goto done;
	}
	/* The rebuilt appliance key must hold the key that authenticated
	 * the state: the next push signs with it. */
	if (authentic && ((rc = keymgr_offsite_key(km, mine)) != 0 ||
	    CRYPTO_memcmp(mine, koff, sizeof(mine)) != 0)) {
		sync_log(LOG_ERR, "the rebuilt appliance key does not hold the "
		    "off-site key of the recovered state%s%s", rc ? ": " : "",
		    rc ? beemo_strerror(rc) : "");
		rc = rc ? rc : -EBADMSG;
		goto done;
	}
	if ((rc = keymgr_machine_list(km, &mach, &nm)) != 0) {
		sync_log(LOG_ERR, "cannot list machines: %s",
		    beemo_strerror(rc));
		goto done;
	}
	for (i = 0; i < nm; i++) {
		if ((rc = bm_path(idfile, sizeof(idfile),
		    "%s/machines/%s/store.id", r->dir, mach[i])) != 0)
			goto done;
		if (access(idfile, F_OK) != 0) {
			if (!quiet)
				printf("machine %s: no backup data was pushed; "
				    "nothing to rebuild\n", mach[i]);
			continue;
		}
		if ((rc = sync_rebuild_machine(r->dir, km, mach[i], pw, pwlen,
		    quiet)) != 0)
			goto done;
		if (!quiet)
			printf("machine %s: index rebuilt from its packs\n",
			    mach[i]);
	}
	/* Above every authentic state at the target, not only the one
	 * taken: after --at, newer ones are still there. */
	if ((rc = bm_path(idfile, sizeof(idfile), "%s/sync", r->dir)) != 0 ||
	    (rc = sync_counter_set(idfile, newest > m->counter ? newest :
	    m->counter)) != 0)
		goto done;
	if (!quiet && newest > m->counter)
		printf("the next push continues above push %llu, the newest "
		    "authentic state at %s\n", (unsigned long long)newest,
		    r->target);
	if (!quiet && *conf)
		printf("configuration written to %s (review it before "
		    "installing it)\n", conf);
done:
	OPENSSL_cleanse(mine, sizeof(mine));
	if (mach != NULL)
		keymgr_names_free(mach, nm);
	keymgr_free(km);
	return rc;
}

/* Download and check every object of @m, then place them. */
static int
fetch_all(struct recover *r, const struct sync_target *t, sync_conn *c,
    struct sync_manifest *m, int quiet)
{
	struct sync_obj **jobs = NULL;
	struct bm_progress pr;
	struct sync_bw bw;
	uint64_t bytes = 0, t0 = bm_mono_ns();
	size_t i, nj = 0;
	int rc;

	if ((jobs = calloc(m->objs.n ? m->objs.n : 1, sizeof(*jobs))) == NULL)
		return -ENOMEM;
	for (i = 0; i < m->objs.n; i++) {
		if (m->objs.v[i].kind == SYNC_STATUS)
			continue;
		jobs[nj++] = &m->objs.v[i];
		bytes += m->objs.v[i].size;
	}
	if ((rc = bm_mkdir_p(r->stage, 0700)) != 0) {
		sync_log(LOG_ERR, "cannot create %s: %s", r->stage,
		    beemo_strerror(rc));
		goto done;
	}
	bm_progress_start(&pr, r->target, quiet, nj, bytes, NULL, NULL);
	sync_bw_init(&bw, t->bandwidth);
	r->io.pr = &pr;
	r->io.bw = &bw;
	rc = sync_pool_run(t, c, jobs, nj, get_job, r);
	bm_progress_end(&pr, 0);
	sync_bw_destroy(&bw);
	r->io.pr = NULL;
	r->io.bw = NULL;
	if (rc != 0) {
		size_t bad = 0;

		for (i = 0; i < nj; i++)
			bad += jobs[i]->rc != 0;
		sync_log(LOG_ERR, "recovery incomplete: %zu of %zu objects "
		    "could not be restored; nothing was written into the store "
		    "(run again, or recover from another target)", bad, nj);
		goto done;
	}
	{
		int dfd = open(r->stage, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (dfd >= 0) {
			(void)syncfs(dfd);
			close(dfd);
		}
	}
	if ((rc = place(r, &m->objs)) != 0)
		goto done;
	if (!quiet) {
		char h[32], rate[32];
		double secs = (double)(bm_mono_ns() - t0) / 1e9;

		printf("downloaded %zu objects (%s, %llu bytes) in %.1f s, "
		    "%s/s\n", nj, bm_human(h, sizeof(h), bytes),
		    (unsigned long long)bytes, secs, bm_human(rate,
		    sizeof(rate), secs > 0 ? (uint64_t)((double)bytes /
		    secs) : 0));
	}
done:
	if (rc != 0)
		(void)remove_tree(r->stage);
	free(jobs);
	return rc;
}

int
sync_cmd_recover(struct sync_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"target", required_argument, NULL, 't'},
		{"store", required_argument, NULL, 's'},
		{"password-file", required_argument, NULL, 'p'},
		{"password-command", required_argument, NULL, 'c'},
		{"password-fd", required_argument, NULL, 'F'},
		{"write-config", required_argument, NULL, 'w'},
		{"at", required_argument, NULL, 'a'},
		{"accept-unauthenticated", no_argument, NULL, 'U'},
		{"quiet", no_argument, NULL, 'q'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *tname = NULL, *dir = NULL, *pwfile = NULL, *confout = NULL;
	const char *pwcmd = NULL, *pwfd = NULL;
	char mname[128] = "", path[PATH_MAX], when[64], *pw = NULL;
	uint8_t koff[KEYMGR_OFFSITE_LEN];
	struct sync_manifest m = {0};
	struct sync_target t;
	struct recover r;
	sync_conn *c = NULL;
	uint64_t t0 = bm_mono_ns(), at = 0, newest = 0;
	size_t pwlen = 0;
	int ch, rc, quiet = ctx->quiet, resume, lockfd = -1, accept_v1 = 0;
	int authentic = 0, ret = SYNC_EXIT_FAIL, json = ctx->json;

	while ((ch = getopt_long(argc, argv, "t:s:p:w:a:Uqh", opts,
	    NULL)) != -1) {
		switch (ch) {
		case 't': tname = optarg; break;
		case 's': dir = optarg; break;
		case 'p': pwfile = optarg; break;
		case 'c': pwcmd = optarg; break;
		case 'F': pwfd = optarg; break;
		case 'w': confout = optarg; break;
		case 'U': accept_v1 = 1; break;
		case 'q': quiet = 1; break;
		case 'j': json = 1; break;
		case 'a':
			if (bm_parse_time(optarg, &at) != 0 || at == 0) {
				fprintf(stderr, "beemo-sync: bad --at '%s' "
				    "(2026-11-28, 2026-11-28 08:00, "
				    "2026-11-28T10:20:30+01:00, yesterday, or "
				    "an age such as 3d or 1w)\n", optarg);
				return SYNC_EXIT_USAGE;
			}
			break;
		case 'h':
			fputs(recover_usage, stdout);
			fputs(recover_help, stdout);
			return SYNC_EXIT_OK;
		default:
			fputs(recover_usage, stderr);
			return SYNC_EXIT_USAGE;
		}
	}
	if (dir == NULL && ctx->store_given)
		dir = ctx->store;
	/* JSON: no text lines; the progress as JSON lines (no thread runs
	 * yet). */
	if (json) {
		quiet = 1;
		bm_progress_set_json(1);
	}
	if (optind != argc || tname == NULL || dir == NULL) {
		fputs(recover_usage, stderr);
		return SYNC_EXIT_USAGE;
	}
	memset(&r, 0, sizeof(r));
	r.dir = dir;
	r.target = tname;
	memset(&t, 0, sizeof(t));
	if ((rc = sync_target_load(ctx, tname, 0, &t)) != 0)
		goto done;
	/* The password first: nothing from the center is used before it
	 * can be authenticated with what the password opens. */
	if ((rc = sync_password(pwfile, pwcmd, pwfd, &pw, &pwlen)) != 0) {
		ret = rc;
		goto done;
	}
	if ((rc = check_dir(dir, &resume)) != 0 ||
	    (rc = bm_path(r.stage, sizeof(r.stage), "%s/" STAGE, dir)) != 0)
		goto done;
	if ((rc = bm_path(path, sizeof(path), "%s/sync", dir)) != 0 ||
	    (rc = bm_mkdir_p(path, 0700)) != 0 ||
	    (rc = bm_path(path, sizeof(path), "%s/sync/lock", dir)) != 0 ||
	    (rc = sync_lock_take(path, &lockfd)) != 0) {
		ret = rc == BEEMO_ELOCKED ? BM_EXIT_BUSY : SYNC_EXIT_FAIL;
		goto done;
	}
	if ((rc = sync_conn_open(&t, 0, &c)) != 0 ||
	    (rc = sync_choose(c, tname, pw, pwlen, at, accept_v1, &m, mname,
	    sizeof(mname), koff, &authentic, &newest)) != 0)
		goto done;
	if (!quiet) {
		printf("recovering from %s: %s%s\n", tname, mname,
		    resume ? " (resuming)" : "");
		if (authentic)
			printf("recovering the state pushed %s (push %llu)\n",
			    sync_time_str(when, sizeof(when), m.created_ns),
			    (unsigned long long)m.counter);
		else
			printf("recovering the UNAUTHENTICATED state pushed %s "
			    "(version 1 manifest)\n", sync_time_str(when,
			    sizeof(when), m.created_ns));
		fflush(stdout);
	}
	if (!authentic)
		sync_log(LOG_WARNING, "target %s: %s is of version 1: nothing "
		    "proves that this appliance wrote it", tname, mname);
	rc = fetch_all(&r, &t, c, &m, quiet);
	sync_conn_close(c);
	c = NULL;
	if (rc != 0)
		goto done;
	if ((rc = rebuild(&r, &m, koff, authentic, newest, pw, pwlen, confout,
	    quiet)) != 0)
		goto done;
	if ((rc = bm_path(path, sizeof(path), "%s/" MARKER, dir)) == 0)
		(void)unlink(path);
	if (!quiet)
		printf("recovered %s from %s in %.1f s\n", dir, tname,
		    (double)(bm_mono_ns() - t0) / 1e9);
	if (json) {
		bm_json j;

		bm_json_init(&j, stdout);
		bm_json_head(&j, "beemo-sync-recover", 1);
		bm_json_str(&j, "target", tname);
		bm_json_str(&j, "store", dir);
		bm_json_str(&j, "manifest", mname);
		bm_json_u64(&j, "push", m.counter);
		bm_json_time(&j, "pushed", m.created_ns);
		bm_json_bool(&j, "authentic", authentic);
		bm_json_bool(&j, "resumed", resume);
		bm_json_str(&j, "config", confout);
		bm_json_u64(&j, "duration_ms", (bm_mono_ns() - t0) / 1000000);
		bm_json_end_obj(&j);
	}
	ret = SYNC_EXIT_OK;
done:
	OPENSSL_cleanse(koff, sizeof(koff));
	bm_free_secret(pw, pwlen);
	sync_conn_close(c);
	sync_lock_release(lockfd);
	sync_manifest_free(&m);
	sync_target_clear(&t);
	return ret;
}
