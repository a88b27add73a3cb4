/*
 * scan_client.h -- scanning through the appliance's antivirus service,
 * beemo-scand(8), instead of an engine in this process (scan.h, [scan]
 * engine = shared or auto).
 *
 * Each scan asks the service first with the content's key (no content
 * sent when its verdict is cached under the current signatures), then
 * sends the content as a sealed memfd: anonymous memory, never a file on
 * a disk.  Content given by a read callback is copied into the memfd in
 * pieces of SCAN_CLIENT_PIECE bytes, so this process's own memory stays
 * bounded whatever the file's size (the store scans nothing larger than
 * [scan] max_file_size).
 *
 * Connections are kept for reuse, one per concurrent scan.  A request
 * that fails on a kept connection (the service restarted) is tried once
 * more on a new one; a scan that cannot be done, or whose reply takes
 * more than SCAN_CLIENT_TIMEOUT seconds, returns -EIO, never "clean".
 * Thread-safe.
 */
#ifndef BEEMO_SCAN_CLIENT_H
#define BEEMO_SCAN_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define SCAN_CLIENT_PIECE (1U << 20)
/* Seconds a reply may take (a scan of the largest file included); then
 * the scan fails with -EIO. */
#define SCAN_CLIENT_TIMEOUT 600

struct scan_client;

/*
 * scan_client_open -- connect to the service at socket @path and check
 * that it answers (a STATUS request).
 * Returns 0 and *@out; -ENOENT or -ECONNREFUSED (no service there),
 * -EACCES (refused: not root nor of its group), -EPROTO (something else
 * answers), -ENOMEM, another negative errno.  Nothing is logged.
 */
int scan_client_open(const char *path, struct scan_client **out);

/* scan_client_close -- close every connection and free; NULL no-op. */
void scan_client_close(struct scan_client *cl);

/*
 * scan_client_scan -- the verdict of the service on @src (its key, then
 * its content if needed).  Returns 0 (clean), BEEMO_EVIRUS with the
 * signature's name in @virus (size @vlen), or -EIO (the service could
 * not be reached or could not scan: logged once with @path).
 */
int scan_client_scan(struct scan_client *cl, const char *path,
    const struct store_scan_src *src, char *virus, size_t vlen);

/* scan_client_signatures -- the signature count of the service's engine
 * in its last reply. */
unsigned scan_client_signatures(struct scan_client *cl);

/*
 * scan_client_status -- the service's status text ("name value" lines:
 * signatures, version, sigdir, rss_kb, hwm_kb, clients (connections
 * but the asker's; each session keeps at least one), threads, scans,
 * cache_hits, cache_misses, cache_entries, cache_max) into @buf (size
 * @len, NUL-terminated, cut if longer) from the socket at @path, within
 * 5 s (-ETIMEDOUT).
 * Returns 0 or a negative errno as scan_client_open().
 */
int scan_client_status(const char *path, char *buf, size_t len);

#endif /* BEEMO_SCAN_CLIENT_H */
