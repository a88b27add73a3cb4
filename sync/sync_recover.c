/*
 * sync_recover.c -- `beemo-sync recover`: rebuild a lost appliance on a
 * new machine from one target alone.
 *
 * Steps: pick the newest complete manifest on the target; download every
 * object it lists (except status files) into the empty store directory,
 * each to "FILE.part", checked against the manifest's SHA-256, fsynced
 * and renamed into place -- a damaged object is named and never lands;
 * then, with the administrator's password: open the sealed configuration
 * and write it out, rebuild keys/appliance.key from admin.key
 * (keymgr_restore_appliance_key), and for every machine unlock its
 * SECRET and rebuild its index from its packs (store_rebuild()).
 *
 * Interruption: the directory holds a marker ".beemo-recovering" until
 * the end; a directory with that marker is accepted again and the files
 * already in place (they were checked before their rename) are kept, so
 * a second run resumes.  Any other non-empty directory is refused.
 */
#include <dirent.h>
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
#include "bm_err.h"
#include "bm_file.h"
#include "bm_tmpdir.h"
#include "bm_log.h"
#include "bm_pass.h"
#include "bm_time.h"
#include "bm_units.h"
#include "sync.h"

#define MARKER ".beemo-recovering"

static const char recover_usage[] =
    "usage: beemo-sync [-c FILE] recover --target NAME --store DIR "
    "[--password-file FILE] [--write-config FILE] [--quiet]\n";

struct recover {
	const char *dir;
	const char *target;
	struct sync_io io;
	pthread_mutex_t lock;
	uint8_t *config;         /* sealed configuration; protected by lock */
	size_t configlen;
};

/* Empty, missing (created), or an interrupted recovery of ours. */
static int
check_dir(const char *dir, int *resume)
{
	char marker[PATH_MAX], why[PATH_MAX + 64];
	struct dirent *e;
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
	if (!*resume && (rc = bm_write_file_atomic(marker, "", 0, 0600, 0))) {
		sync_log(LOG_ERR, "cannot write %s: %s", marker,
		    beemo_strerror(rc));
		return rc;
	}
	return 0;
}

static int
get_file(sync_conn *c, struct recover *r, struct sync_obj *o,
    const char *final)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	uint8_t sha[SYNC_HASH_LEN];
	struct stat st;
	int fd, rc;

	if (stat(final, &st) == 0 && (uint64_t)st.st_size == o->size) {
		/* Checked before its rename by an interrupted run. */
		bm_progress_add(r->io.pr, o->size, 0);
		return 0;
	}
	if ((rc = bm_path(tmp, sizeof(tmp), "%s.part", final)) != 0 ||
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
		sync_log(LOG_ERR, "target %s: %s is DAMAGED: its SHA-256 "
		    "differs from the manifest; it is not restored",
		    r->target, o->path);
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
	char local[PATH_MAX], final[PATH_MAX];
	uint8_t sha[SYNC_HASH_LEN], *mem = NULL;
	enum sync_kind kind;
	int rc;

	if ((rc = sync_path_classify(o->path, &kind, local, sizeof(local))))
		return rc;
	if (kind == SYNC_CONFIG) {
		rc = sync_remote_get(c, o->path, o->size, -1, &mem, &r->io,
		    sha);
		if (rc != 0)
			return rc;
		if (memcmp(sha, o->sha, sizeof(sha)) != 0) {
			sync_log(LOG_ERR, "target %s: %s is DAMAGED: its "
			    "SHA-256 differs from the manifest", r->target,
			    o->path);
			free(mem);
			return -EBADMSG;
		}
		pthread_mutex_lock(&r->lock);
		free(r->config);
		r->config = mem;
		r->configlen = o->size;
		pthread_mutex_unlock(&r->lock);
	} else {
		if ((rc = bm_path(final, sizeof(final), "%s/%s", r->dir,
		    local)) != 0 || (rc = get_file(c, r, o, final)) != 0)
			return rc;
	}
	bm_progress_add(r->io.pr, 0, 1);
	return 0;
}

static int
write_config(struct recover *r, keymgr *km, const char *pw, size_t pwlen,
    const char *out, char *written, size_t wsz)
{
	uint8_t *plain = NULL;
	size_t plen = 0;
	int rc;

	if (r->config == NULL) {
		*written = '\0';
		sync_log(LOG_WARNING, "the manifest holds no configuration "
		    "file; none is written");
		return 0;
	}
	rc = keymgr_open_admin(km, pw, pwlen, r->config, r->configlen, &plain,
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

/* Everything after the download, with the administrator's password. */
static int
rebuild(struct recover *r, const char *appliance, const char *pwfile,
    const char *confout, int quiet)
{
	char keydir[PATH_MAX], idfile[PATH_MAX], conf[PATH_MAX], hex[33];
	char *pw = NULL, **mach = NULL;
	uint8_t id[KEYMGR_ID_LEN];
	size_t pwlen = 0, nm = 0, i;
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
	if (strcmp(hex, appliance) != 0) {
		sync_log(LOG_ERR, "the manifest is of appliance %s but "
		    "admin.key of %s", appliance, hex);
		rc = BEEMO_EFOREIGN;
		goto done;
	}
	rc = bm_read_password("Administrator password: ", pwfile, 0, &pw,
	    &pwlen);
	if (rc != 0) {
		sync_log(LOG_ERR, "cannot read the administrator password: "
		    "%s", rc == -ENOTTY ? "no terminal (use --password-file)"
		    : beemo_strerror(rc));
		goto done;
	}
	if ((rc = keymgr_admin_check(km, pw, pwlen)) != 0) {
		sync_log(LOG_ERR, "%s", rc == BEEMO_EPASSWORD ?
		    "wrong administrator password" : beemo_strerror(rc));
		goto done;
	}
	if ((rc = write_config(r, km, pw, pwlen, confout, conf,
	    sizeof(conf))) != 0)
		goto done;
	rc = keymgr_restore_appliance_key(km, pw, pwlen);
	if (rc != 0 && rc != -EEXIST) {
		sync_log(LOG_ERR, "cannot restore the appliance key: %s",
		    beemo_strerror(rc));
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
	if (!quiet && *conf)
		printf("configuration written to %s (review it before "
		    "installing it)\n", conf);
done:
	if (mach != NULL)
		keymgr_names_free(mach, nm);
	bm_free_secret(pw, pwlen);
	keymgr_free(km);
	return rc;
}

int
sync_cmd_recover(struct sync_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"target", required_argument, NULL, 't'},
		{"store", required_argument, NULL, 's'},
		{"password-file", required_argument, NULL, 'p'},
		{"write-config", required_argument, NULL, 'w'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *tname = NULL, *dir = NULL, *pwfile = NULL, *confout = NULL;
	char mname[128] = "", appl[2 * KEYMGR_ID_LEN + 1], path[PATH_MAX];
	struct sync_target t;
	struct sync_objs objs = {0};
	struct sync_obj **jobs = NULL;
	struct bm_progress pr;
	struct sync_bw bw;
	struct recover r;
	sync_conn *c = NULL;
	uint64_t bytes = 0, t0 = bm_mono_ns();
	size_t i, nj = 0;
	int ch, rc, quiet = ctx->quiet, resume, lockfd = -1;
	int ret = SYNC_EXIT_FAIL;

	while ((ch = getopt_long(argc, argv, "t:s:p:w:qh", opts, NULL)) != -1) {
		switch (ch) {
		case 't': tname = optarg; break;
		case 's': dir = optarg; break;
		case 'p': pwfile = optarg; break;
		case 'w': confout = optarg; break;
		case 'q': quiet = 1; break;
		case 'h':
			fputs(recover_usage, stdout);
			return SYNC_EXIT_OK;
		default:
			fputs(recover_usage, stderr);
			return SYNC_EXIT_USAGE;
		}
	}
	if (dir == NULL && ctx->store_given)
		dir = ctx->store;
	if (optind != argc || tname == NULL || dir == NULL) {
		fputs(recover_usage, stderr);
		return SYNC_EXIT_USAGE;
	}
	memset(&r, 0, sizeof(r));
	pthread_mutex_init(&r.lock, NULL);
	r.dir = dir;
	r.target = tname;
	memset(&t, 0, sizeof(t));
	if ((rc = sync_target_load(ctx, tname, 0, &t)) != 0 ||
	    (rc = check_dir(dir, &resume)) != 0)
		goto done;
	if ((rc = bm_path(path, sizeof(path), "%s/sync", dir)) != 0 ||
	    (rc = bm_mkdir_p(path, 0700)) != 0 ||
	    (rc = bm_path(path, sizeof(path), "%s/sync/lock", dir)) != 0 ||
	    (rc = sync_lock_take(path, &lockfd)) != 0) {
		ret = rc == BEEMO_ELOCKED ? SYNC_EXIT_LOCKED : SYNC_EXIT_FAIL;
		goto done;
	}
	if ((rc = sync_conn_open(&t, 0, &c)) != 0 ||
	    (rc = sync_manifest_fetch(c, tname, 1, &objs, mname,
	    sizeof(mname), appl)) != 0)
		goto done;
	if (!quiet)
		printf("recovering from %s: %s%s\n", tname, mname,
		    resume ? " (resuming)" : "");
	if ((jobs = calloc(objs.n ? objs.n : 1, sizeof(*jobs))) == NULL) {
		rc = -ENOMEM;
		goto done;
	}
	for (i = 0; i < objs.n; i++) {
		if (objs.v[i].kind == SYNC_STATUS)
			continue;
		jobs[nj++] = &objs.v[i];
		bytes += objs.v[i].size;
	}
	bm_progress_start(&pr, tname, quiet, nj, bytes, NULL, NULL);
	sync_bw_init(&bw, t.bandwidth);
	r.io.pr = &pr;
	r.io.bw = &bw;
	rc = sync_pool_run(&t, c, jobs, nj, get_job, &r);
	bm_progress_end(&pr, 0);
	sync_bw_destroy(&bw);
	sync_conn_close(c);
	c = NULL;
	if (rc != 0) {
		size_t bad = 0;

		for (i = 0; i < nj; i++)
			bad += jobs[i]->rc != 0;
		sync_log(LOG_ERR, "recovery incomplete: %zu of %zu objects "
		    "could not be restored; nothing was rebuilt (run again "
		    "to resume, or recover from another target)", bad, nj);
		goto done;
	}
	{
		int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (dfd >= 0) {
			(void)syncfs(dfd);
			close(dfd);
		}
	}
	if (!quiet) {
		char h[32], rate[32];
		double secs = (double)(bm_mono_ns() - t0) / 1e9;

		printf("downloaded %zu objects (%s, %llu bytes) in %.1f s, "
		    "%s/s\n", nj, bm_human(h, sizeof(h), bytes),
		    (unsigned long long)bytes, secs, bm_human(rate,
		    sizeof(rate), secs > 0 ? (uint64_t)((double)bytes /
		    secs) : 0));
	}
	if ((rc = rebuild(&r, appl, pwfile, confout, quiet)) != 0)
		goto done;
	if ((rc = bm_path(path, sizeof(path), "%s/" MARKER, dir)) == 0)
		(void)unlink(path);
	if (!quiet)
		printf("recovered %s from %s in %.1f s\n", dir, tname,
		    (double)(bm_mono_ns() - t0) / 1e9);
	ret = SYNC_EXIT_OK;
done:
	sync_conn_close(c);
	sync_lock_release(lockfd);
	free(jobs);
	sync_objs_free(&objs);
	sync_target_clear(&t);
	free(r.config);
	pthread_mutex_destroy(&r.lock);
	return ret;
}
