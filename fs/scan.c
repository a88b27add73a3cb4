/*
 * scan.c -- libclamav in the write path (see scan.h).
 */
#include <clamav.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bm_conf.h"
#include "bm_err.h"
#include "bm_log.h"
#include "bm_tmpdir.h"
#include "scan.h"
#include "scan_cache.h"
#include "scan_client.h"
#include "scan_proto.h"

#define DEFAULT_SIGDIR "/var/lib/clamav"

struct scan_engine {
	/* [scan] engine = shared (or auto, and the service answered): no
	 * engine here, every scan goes to beemo-scand through cl. */
	struct scan_client *cl;
	uint64_t max_file_shared; /* scan_max in shared mode */
	int refuse_big_shared;

	char sigdir[PATH_MAX];
	struct bm_tmpdir tmpdir; /* libclamav's temporary files */
	uint64_t max_file, max_scan;
	uint32_t max_recursion, max_files;
	int refuse_big;
	unsigned reload_secs;

	pthread_mutex_t lock; /* protects cur and sigs */
	struct cl_engine *cur;
	unsigned sigs;
	uint64_t version; /* of cur: changes at every load */
	struct scan_cache *cache; /* verdicts by (key, version) */
	atomic_uint_fast64_t scans; /* scanned by the engine (not cached) */
	struct cl_stat dbstat; /* reload thread only */

	pthread_t th;
	int wake[2]; /* self-pipe: SIGHUP and stop */
	atomic_int stop; /* set by scan_close, read by the reloader */
};

static int hup_fd = -1;

static void
on_hup(int sig)
{
	(void)sig;
	if (hup_fd >= 0 && write(hup_fd, "h", 1) < 0) {
		/* Nothing to do in a signal handler. */
	}
}

/* Names libclamav loads from a signature directory: the signed (.cvd),
 * incremental (.cld) and unsigned (.cud) containers, and the text
 * databases.  The ignore and false-positive lists (.ign2, .fp...) are
 * not signatures: a directory holding only them has none. */
static const char *const sig_ext[] = {".cvd", ".cld", ".cud", ".hdb",
    ".hsb", ".hdu", ".hsu", ".mdb", ".msb", ".mdu", ".msu", ".ndb", ".ndu",
    ".ldb", ".ldu", ".idb", ".cdb", ".cbc", ".pdb", ".gdb", ".wdb", ".ftm",
    ".yar", ".yara", ".crb", NULL};

/* Is @name a signature file (sig_ext)? */
static int
is_sigfile(const char *name)
{
	size_t n = strlen(name), e;
	int i;

	for (i = 0; sig_ext[i] != NULL; i++) {
		e = strlen(sig_ext[i]);
		if (n > e && !strcmp(name + n - e, sig_ext[i]))
			return 1;
	}
	return 0;
}

/* Is there at least one signature file in @dir? */
static int
has_signatures(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int found = 0;

	if (d == NULL)
		return -errno;
	while (!found && (de = readdir(d)) != NULL)
		found = is_sigfile(de->d_name);
	closedir(d);
	return found;
}

/* Is @name a container with a "ClamAV-VDB:" header (cl_cvdhead)? */
static int
is_container(const char *name)
{
	size_t n = strlen(name);

	return n > 4 && (!strcmp(name + n - 4, ".cvd") ||
	    !strcmp(name + n - 4, ".cld") || !strcmp(name + n - 4, ".cud"));
}

int
scan_sigdir_stat(const char *dir, uint64_t *count, uint64_t *newest)
{
	char path[PATH_MAX];
	unsigned int n = 0;
	struct dirent *de;
	struct stat st;
	cl_error_t r;
	DIR *d;

	*count = *newest = 0;
	if ((r = cl_init(CL_INIT_DEFAULT)) != CL_SUCCESS)
		return -EIO;
	if ((d = opendir(dir)) == NULL)
		return -errno;
	while ((de = readdir(d)) != NULL) {
		struct cl_cvd *h;
		uint64_t t;

		if (!is_sigfile(de->d_name) || snprintf(path, sizeof(path),
		    "%s/%s", dir, de->d_name) >= (int)sizeof(path) ||
		    stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		t = (uint64_t)st.st_mtim.tv_sec * 1000000000ULL;
		/* A container's age is its build time, not when freshclam
		 * happened to write it. */
		if (is_container(de->d_name) && (h = cl_cvdhead(path)) != NULL) {
			t = (uint64_t)h->stime * 1000000000ULL;
			cl_cvdfree(h);
		}
		if (t > *newest)
			*newest = t;
	}
	closedir(d);
	/* What the engine loads, .cud and every text database included. */
	if ((r = cl_countsigs(dir, CL_COUNTSIGS_ALL, &n)) != CL_SUCCESS)
		return -EIO;
	*count = n;
	return 0;
}

static int
load_engine(struct scan_engine *se, struct cl_engine **out, unsigned *sigs)
{
	struct cl_engine *e = cl_engine_new();
	unsigned n = 0;
	cl_error_t r;
	int rc;

	if (e == NULL)
		return -ENOMEM;
	if ((rc = has_signatures(se->sigdir)) <= 0) {
		bm_log(LOG_ERR, "%s: %s", se->sigdir, rc == 0 ?
		    "no signature files (run freshclam, or set [scan] "
		    "enabled = no)" : strerror(-rc));
		cl_engine_free(e);
		return -ENOENT;
	}
	cl_engine_set_num(e, CL_ENGINE_MAX_FILESIZE, (long long)se->max_file);
	cl_engine_set_num(e, CL_ENGINE_MAX_SCANSIZE, (long long)se->max_scan);
	cl_engine_set_num(e, CL_ENGINE_MAX_RECURSION, se->max_recursion);
	cl_engine_set_num(e, CL_ENGINE_MAX_FILES, se->max_files);
	cl_engine_set_num(e, CL_ENGINE_KEEPTMP, 0);
	cl_engine_set_str(e, CL_ENGINE_TMPDIR, se->tmpdir.path);
	r = cl_load(se->sigdir, e, &n, CL_DB_STDOPT);
	if (r == CL_SUCCESS)
		r = cl_engine_compile(e);
	if (r != CL_SUCCESS) {
		bm_log(LOG_ERR, "%s: cannot load signatures: %s", se->sigdir,
		    cl_strerror(r));
		cl_engine_free(e);
		return -EIO;
	}
	*out = e;
	*sigs = n;
	return 0;
}

/* A signature version for a new load: the time in ns, always above the
 * previous one. */
static uint64_t
next_version(uint64_t prev)
{
	struct timespec ts;
	uint64_t v;

	clock_gettime(CLOCK_REALTIME, &ts);
	v = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	return v > prev ? v : prev + 1;
}

/* A private directory for libclamav's temporary files, in memory. */
static int
make_tmpdir(struct scan_engine *se)
{
	int rc = bm_tmpdir_make("scan", &se->tmpdir);

	if (rc == -ENOENT)
		bm_log(LOG_ERR, "no memory file system (tmpfs) at /run or "
		    "/dev/shm for the antivirus's temporary files: archive "
		    "members would reach the disk in clear");
	else if (rc != 0)
		bm_log(LOG_ERR, "cannot make a private directory for the "
		    "antivirus's temporary files in /run or /dev/shm: %s",
		    strerror(-rc));
	return rc;
}

int
scan_reload(struct scan_engine *se, int force)
{
	struct cl_engine *e, *old;
	unsigned n;
	int rc;

	if (se->cl != NULL)
		return 0; /* the service reloads its own */
	if (!force && cl_statchkdir(&se->dbstat) != 1)
		return 0;
	if ((rc = load_engine(se, &e, &n)) != 0) {
		bm_log(LOG_ERR, "signature reload failed; the previous "
		    "signatures stay in use");
		return rc;
	}
	cl_statfree(&se->dbstat);
	cl_statinidir(se->sigdir, &se->dbstat);
	pthread_mutex_lock(&se->lock);
	old = se->cur;
	se->cur = e;
	se->sigs = n;
	se->version = next_version(se->version);
	pthread_mutex_unlock(&se->lock);
	/* Verdicts of the old signatures are never used again (their
	 * version differs); free their memory now. */
	scan_cache_clear(se->cache);
	/* Scans still running hold a reference to the old engine. */
	cl_engine_free(old);
	bm_log(LOG_NOTICE, "antivirus signatures reloaded from %s: %u",
	    se->sigdir, n);
	return 0;
}

static void *
reloader(void *arg)
{
	struct scan_engine *se = arg;
	struct timespec last, now;
	char c;

	clock_gettime(CLOCK_MONOTONIC, &last);
	while (!atomic_load(&se->stop)) {
		fd_set fds;
		struct timeval tv = {1, 0};
		int hup = 0;

		FD_ZERO(&fds);
		FD_SET(se->wake[0], &fds);
		if (select(se->wake[0] + 1, &fds, NULL, NULL, &tv) > 0)
			while (read(se->wake[0], &c, 1) == 1)
				hup |= c == 'h';
		if (atomic_load(&se->stop))
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (hup) {
			bm_log(LOG_NOTICE, "SIGHUP: reloading signatures");
			scan_reload(se, 1);
			last = now;
		} else if (now.tv_sec - last.tv_sec >= (time_t)se->reload_secs) {
			scan_reload(se, 0);
			last = now;
		}
	}
	return NULL;
}

static int open_engine(const bm_conf *conf, uint64_t cache_max,
    struct scan_engine **out);

/* The [scan] settings common to both modes: is scanning on (0: off,
 * *@out NULL), its oversize policy valid (BEEMO_ECONFIG)? */
static int
check_conf(const bm_conf *conf, const char **oversize)
{
	*oversize = bm_conf_get(conf, "scan", NULL, "oversize", "flag");
	if (!bm_conf_get_bool(conf, "scan", NULL, "enabled", 1)) {
		bm_log(LOG_WARNING, "antivirus scanning is disabled by the "
		    "configuration ([scan] enabled = no)");
		return 0;
	}
	if (strcmp(*oversize, "flag") != 0 &&
	    strcmp(*oversize, "refuse") != 0) {
		bm_log(LOG_ERR, "%s: [scan] oversize must be flag or refuse",
		    bm_conf_path(conf) ? bm_conf_path(conf) : "configuration");
		return BEEMO_ECONFIG;
	}
	return 1;
}

int
scan_open(const bm_conf *conf, struct scan_engine **out)
{
	const char *oversize, *mode, *path;
	struct scan_client *cl = NULL;
	struct scan_engine *se;
	int rc;

	*out = NULL;
	if ((rc = check_conf(conf, &oversize)) <= 0)
		return rc;
	mode = bm_conf_get(conf, "scan", NULL, "engine", "auto");
	path = bm_conf_get(conf, "scan", NULL, "service", SCAN_PROTO_SOCKET);
	if (strcmp(mode, "auto") != 0 && strcmp(mode, "shared") != 0 &&
	    strcmp(mode, "local") != 0) {
		bm_log(LOG_ERR, "%s: [scan] engine must be auto, shared or "
		    "local", bm_conf_path(conf) ? bm_conf_path(conf) :
		    "configuration");
		return BEEMO_ECONFIG;
	}
	if (!strcmp(mode, "local"))
		return open_engine(conf, SCAN_CACHE_SESSION, out);
	rc = scan_client_open(path, &cl);
	if (rc != 0 && !strcmp(mode, "shared")) {
		bm_log(LOG_ERR, "[scan] engine = shared, but the antivirus "
		    "service at %s does not answer: %s (is beemo-scand "
		    "running?)", path, strerror(-rc));
		return -EIO;
	}
	if (rc != 0) {
		bm_log(rc == -ENOENT ? LOG_INFO : LOG_NOTICE, "antivirus: no "
		    "service at %s (%s): loading the signatures in this "
		    "process", path, strerror(-rc));
		return open_engine(conf, SCAN_CACHE_SESSION, out);
	}
	if ((se = calloc(1, sizeof(*se))) == NULL) {
		scan_client_close(cl);
		return -ENOMEM;
	}
	se->cl = cl;
	se->max_file_shared = bm_conf_get_size(conf, "scan", NULL,
	    "max_file_size", 100ULL << 20);
	se->refuse_big_shared = strcmp(oversize, "refuse") == 0;
	se->wake[0] = se->wake[1] = -1;
	bm_log(LOG_INFO, "antivirus: the service at %s (%u signatures)",
	    path, scan_client_signatures(cl));
	*out = se;
	return 0;
}

int
scan_open_engine(const bm_conf *conf, struct scan_engine **out)
{
	return open_engine(conf, UINT64_MAX, out);
}

/* scan_open_engine() with a cache of at most @cache_max entries. */
static int
open_engine(const bm_conf *conf, uint64_t cache_max,
    struct scan_engine **out)
{
	struct scan_engine *se;
	const char *oversize;
	uint64_t cache;
	cl_error_t r;
	int rc;

	*out = NULL;
	if ((rc = check_conf(conf, &oversize)) <= 0)
		return rc;
	if ((r = cl_init(CL_INIT_DEFAULT)) != CL_SUCCESS) {
		bm_log(LOG_ERR, "libclamav: %s", cl_strerror(r));
		return -EIO;
	}
	if ((se = calloc(1, sizeof(*se))) == NULL)
		return -ENOMEM;
	se->wake[0] = se->wake[1] = -1;
	bm_tmpdir_init(&se->tmpdir);
	pthread_mutex_init(&se->lock, NULL);
	snprintf(se->sigdir, sizeof(se->sigdir), "%s", bm_conf_get(conf,
	    "scan", NULL, "signatures", DEFAULT_SIGDIR));
	se->max_file = bm_conf_get_size(conf, "scan", NULL, "max_file_size",
	    100ULL << 20);
	se->max_scan = bm_conf_get_size(conf, "scan", NULL, "max_scan_size",
	    400ULL << 20);
	se->max_recursion = (uint32_t)bm_conf_get_u64(conf, "scan", NULL,
	    "max_recursion", 17);
	se->max_files = (uint32_t)bm_conf_get_u64(conf, "scan", NULL,
	    "max_files", 10000);
	se->reload_secs = (unsigned)bm_conf_get_u64(conf, "scan", NULL,
	    "reload_interval", 60);
	se->refuse_big = strcmp(oversize, "refuse") == 0;
	cache = bm_conf_get_u64(conf, "scan", NULL, "cache_entries",
	    SCAN_CACHE_DEFAULT);
	if ((rc = scan_cache_new(cache < cache_max ? cache : cache_max,
	    &se->cache)) != 0)
		goto fail;
	if ((rc = make_tmpdir(se)) != 0)
		goto fail;
	if ((rc = load_engine(se, &se->cur, &se->sigs)) != 0)
		goto fail;
	se->version = next_version(0);
	cl_statinidir(se->sigdir, &se->dbstat);
	if (pipe2(se->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
		rc = -errno;
		goto fail;
	}
	if ((rc = pthread_create(&se->th, NULL, reloader, se)) != 0) {
		rc = -rc;
		goto fail;
	}
	bm_log(LOG_INFO, "antivirus: %u signatures from %s", se->sigs,
	    se->sigdir);
	*out = se;
	return 0;
fail:
	if (se->cur != NULL)
		cl_engine_free(se->cur);
	if (se->wake[0] >= 0) {
		close(se->wake[0]);
		close(se->wake[1]);
	}
	bm_tmpdir_remove(&se->tmpdir);
	scan_cache_free(se->cache);
	pthread_mutex_destroy(&se->lock);
	free(se);
	return rc;
}

void
scan_close(struct scan_engine *se)
{
	if (se == NULL)
		return;
	if (se->cl != NULL) {
		scan_client_close(se->cl);
		free(se);
		return;
	}
	atomic_store(&se->stop, 1);
	if (write(se->wake[1], "s", 1) < 0) {
		/* The reloader wakes within a second anyway. */
	}
	pthread_join(se->th, NULL);
	if (hup_fd == se->wake[1])
		hup_fd = -1;
	close(se->wake[0]);
	close(se->wake[1]);
	cl_statfree(&se->dbstat);
	cl_engine_free(se->cur);
	bm_tmpdir_remove(&se->tmpdir);
	scan_cache_free(se->cache);
	pthread_mutex_destroy(&se->lock);
	free(se);
}

void
scan_signals(struct scan_engine *se)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	/* Shared: the service reloads; SIGHUP must not unmount. */
	sa.sa_handler = se != NULL && se->cl == NULL ? on_hup : SIG_IGN;
	if (se != NULL && se->cl == NULL)
		hup_fd = se->wake[1];
	sigaction(SIGHUP, &sa, NULL);
}

void
scan_store_opts(struct scan_engine *se, struct store_opts *so)
{
	if (se == NULL)
		return;
	so->scan = scan_file;
	so->scan_ctx = se;
	so->scan_max = se->cl ? se->max_file_shared : se->max_file;
	so->scan_refuse_big = se->cl ? se->refuse_big_shared : se->refuse_big;
}

unsigned
scan_signature_count(struct scan_engine *se)
{
	unsigned n;

	if (se->cl != NULL)
		return scan_client_signatures(se->cl);
	pthread_mutex_lock(&se->lock);
	n = se->sigs;
	pthread_mutex_unlock(&se->lock);
	return n;
}

static off_t
map_pread(void *handle, void *buf, size_t count, off_t offset)
{
	const struct store_scan_src *src = handle;
	ssize_t n = src->pread(src->handle, buf, count, (uint64_t)offset);

	return n < 0 ? -1 : (off_t)n;
}

static int
has_key(const struct store_scan_src *src)
{
	static const uint8_t zero[32];

	return memcmp(src->key, zero, 32) != 0;
}

int
scan_file_version(struct scan_engine *se, const char *path,
    const struct store_scan_src *src, char *virus, size_t vlen,
    int lookup, uint64_t *version, unsigned *sigs)
{
	struct cl_scan_options o;
	struct cl_engine *e;
	const char *name = NULL;
	unsigned long scanned = 0;
	cl_fmap_t *map;
	cl_error_t r;
	uint64_t ver;
	int rc;

	pthread_mutex_lock(&se->lock);
	e = se->cur;
	ver = se->version;
	if (sigs != NULL)
		*sigs = se->sigs;
	cl_engine_addref(e);
	pthread_mutex_unlock(&se->lock);
	if (version != NULL)
		*version = ver;
	if (lookup && has_key(src) && (rc = scan_cache_get(se->cache,
	    src->key, ver, virus, vlen)) >= 0) {
		cl_engine_free(e);
		return rc ? BEEMO_EVIRUS : 0;
	}
	memset(&o, 0, sizeof(o));
	o.parse = ~0U; /* archives, documents, executables, mail... */
	if (src->mem != NULL)
		map = cl_fmap_open_memory(src->mem, src->size);
	else
		map = cl_fmap_open_handle((void *)src, 0, src->size, map_pread,
		    1);
	if (map == NULL) {
		cl_engine_free(e);
		return -ENOMEM;
	}
	r = cl_scanmap_callback(map, path, &name, &scanned, e, &o, NULL);
	cl_fmap_close(map);
	atomic_fetch_add(&se->scans, 1);
	if (r == CL_VIRUS)
		snprintf(virus, vlen, "%s", name ? name : "unknown");
	/* Under the version of the engine that gave it: a reload during
	 * the scan makes the entry useless, never wrong. */
	if (has_key(src) && (r == CL_VIRUS || r == CL_CLEAN))
		scan_cache_put(se->cache, src->key, ver, r == CL_VIRUS ?
		    (name ? name : "unknown") : NULL);
	cl_engine_free(e);
	if (r == CL_VIRUS)
		return BEEMO_EVIRUS;
	if (r == CL_CLEAN)
		return 0;
	bm_log(LOG_ERR, "%s: antivirus: %s", path, cl_strerror(r));
	return -EIO;
}

int
scan_cached(struct scan_engine *se, const uint8_t key[32], char *virus,
    size_t vlen, uint64_t *version, unsigned *sigs)
{
	uint64_t ver;
	int rc;

	pthread_mutex_lock(&se->lock);
	ver = se->version;
	if (sigs != NULL)
		*sigs = se->sigs;
	pthread_mutex_unlock(&se->lock);
	if (version != NULL)
		*version = ver;
	if ((rc = scan_cache_get(se->cache, key, ver, virus, vlen)) < 0)
		return rc;
	return rc ? BEEMO_EVIRUS : 0;
}

int
scan_file(void *ctx, const char *path, const struct store_scan_src *src,
    char *virus, size_t vlen)
{
	struct scan_engine *se = ctx;

	if (se->cl != NULL)
		return scan_client_scan(se->cl, path, src, virus, vlen);
	return scan_file_version(se, path, src, virus, vlen, 1, NULL, NULL);
}

void
scan_status(struct scan_engine *se, struct scan_status *st)
{
	struct scan_cache_stats cs;

	memset(st, 0, sizeof(*st));
	st->shared = se->cl != NULL;
	if (se->cl != NULL) {
		st->sigs = scan_client_signatures(se->cl);
		return;
	}
	pthread_mutex_lock(&se->lock);
	st->sigs = se->sigs;
	st->version = se->version;
	pthread_mutex_unlock(&se->lock);
	st->sigdir = se->sigdir;
	st->max_file = se->max_file;
	st->scans = atomic_load(&se->scans);
	scan_cache_stats(se->cache, &cs);
	st->cache_hits = cs.hits;
	st->cache_misses = cs.misses;
	st->cache_entries = cs.entries;
	st->cache_max = cs.cap;
}
