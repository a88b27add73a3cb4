/*
 * scan.h -- the antivirus filter of the write path (libclamav).
 *
 * One engine is loaded per daemon from the signature directory
 * ([scan] signatures, default /var/lib/clamav, the directory Debian's
 * freshclam maintains) and compiled once.  Every new or changed file is
 * scanned whole before its version is committed (store.h: store_scan_fn)
 * from memory or through a read callback over the sealed chunks, never
 * from a plaintext file: libclamav's own temporary files (archive
 * members) go to a private directory on a memory file system (tmpfs,
 * bm_tmpdir.h: a random name in a root-only parent, removed through
 * directory descriptors), and the daemon refuses to start if none is
 * available.
 *
 * Signatures are reloaded without unmounting: on SIGHUP and whenever a
 * periodic check ([scan] reload_interval, default 60 s) sees the
 * directory changed.  A new engine is loaded beside the old one and
 * swapped in; scans in progress finish on the old engine, which is
 * freed when its last scan ends.
 *
 * One engine per appliance: with [scan] engine = auto (the default) or
 * shared, scan_open() connects to the appliance's antivirus service,
 * beemo-scand(8) ([scan] service, default /run/beemo/scand.sock), and
 * loads no engine of its own (scan_client.h); auto falls back to a local
 * engine when the service does not answer at start, shared refuses to
 * start without it; local always loads its own.
 *
 * Verdicts are cached by (content key, signature version) (scan_cache.h,
 * [scan] cache_entries): content already scanned under the same
 * signatures is not scanned again.  A reload changes the version.
 *
 * A missing or empty signature directory is an error at start-up unless
 * [scan] enabled = no, in which case scan_open() returns no engine and
 * logs a warning at every start.
 */
#ifndef BEEMO_SCAN_H
#define BEEMO_SCAN_H

#include "bm_conf.h"
#include "store.h"

struct scan_engine;

/* [scan] cache_entries by default (about 72 MB at most, scan_cache.h). */
#define SCAN_CACHE_DEFAULT 1000000
/* At most this many in a session with its own engine (about 4.7 MB):
 * a session's memory stays flat however many files it writes. */
#define SCAN_CACHE_SESSION 65536

/*
 * scan_open -- load and compile the engine as configured by @conf.
 * @out: receives the engine, or NULL when scanning is disabled.
 * Returns 0, BEEMO_ECONFIG (bad [scan] values), -ENOENT (no signature
 * directory or no signatures in it), or -EIO (libclamav refused the
 * signatures).  The reason is logged with the directory's name.
 */
int scan_open(const bm_conf *conf, struct scan_engine **out);

/*
 * scan_open_engine -- as scan_open(), but always loads the engine in
 * this process, whatever [scan] engine says, with a cache of [scan]
 * cache_entries (beemo-scand; scan_open() bounds a session's own cache
 * to SCAN_CACHE_SESSION).  Same returns.
 */
int scan_open_engine(const bm_conf *conf, struct scan_engine **out);

/* scan_close -- stop the reload thread, free the engine; NULL no-op. */
void scan_close(struct scan_engine *se);

/* scan_store_opts -- point @so's scan hook and size policy at @se
 * ([scan] max_file_size and oversize = flag|refuse).  NULL: no scan. */
void scan_store_opts(struct scan_engine *se, struct store_opts *so);

/* scan_signals -- make SIGHUP reload the signatures (call after
 * fuse_set_signal_handlers(), which would otherwise unmount on it). */
void scan_signals(struct scan_engine *se);

/* scan_reload -- reload now if the directory changed (@force: always).
 * Returns 0, or the error of the new load (the old engine stays). */
int scan_reload(struct scan_engine *se, int force);

/*
 * scan_file -- the store_scan_fn: scan @src; BEEMO_EVIRUS with the
 * signature name in @virus when infected.  @ctx is the engine.
 */
int scan_file(void *ctx, const char *path, const struct store_scan_src *src,
    char *virus, size_t vlen);

/*
 * scan_file_version -- scan_file() on a local engine (scan_open_engine),
 * also giving the signature @version and count @sigs of the engine
 * that answered (either may be NULL).  When @src has a key (non-zero)
 * the verdict is cached, and a cached one is used if @lookup (0: the
 * caller already asked scan_cached(), do not count a second miss).
 * Same returns as scan_file().
 */
int scan_file_version(struct scan_engine *se, const char *path,
    const struct store_scan_src *src, char *virus, size_t vlen,
    int lookup, uint64_t *version, unsigned *sigs);

/*
 * scan_cached -- the cached verdict of content @key under the current
 * signatures of a local engine: 0 clean, BEEMO_EVIRUS (name in @virus),
 * or -ENOENT (unknown: scan it).  @version, @sigs as above.
 */
int scan_cached(struct scan_engine *se, const uint8_t key[32], char *virus,
    size_t vlen, uint64_t *version, unsigned *sigs);

/* What scan_status() says of an engine. */
struct scan_status {
	int shared;          /* through the service: only sigs is known */
	unsigned sigs;       /* signatures loaded */
	uint64_t version;    /* signature version (changes at each load) */
	const char *sigdir;  /* lives as long as the engine */
	uint64_t max_file;   /* [scan] max_file_size */
	uint64_t scans;      /* files scanned by the engine */
	uint64_t cache_hits, cache_misses, cache_entries, cache_max;
};

/* scan_status -- the state of @se now (thread-safe). */
void scan_status(struct scan_engine *se, struct scan_status *st);

/* scan_signature_count -- signatures in the current engine. */
unsigned scan_signature_count(struct scan_engine *se);

/*
 * scan_sigdir_stat -- describe the signature directory @dir without
 * loading an engine (beemoctl status and metrics).
 * @count: receives the number of signatures libclamav counts in it
 *   (cl_countsigs(): the headers of .cvd, .cld and .cud containers, the
 *   entries of the text databases), the number an engine loads.
 * @newest: receives the time of the newest signature file in ns: the
 *   build time of a container (cl_cvdhead()), the modification time of
 *   any other file; 0 when there is none.
 * Both are set, 0 when unknown.  Returns 0; -ENOENT, -EACCES... (the
 * directory cannot be read); -EIO (libclamav cannot count a file in it).
 */
int scan_sigdir_stat(const char *dir, uint64_t *count, uint64_t *newest);

#endif /* BEEMO_SCAN_H */
