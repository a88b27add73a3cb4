/*
 * sync_ssh.h -- the inside of a connection, shared by the two halves of
 * the SFTP transport whose API is in sync.h:
 *
 *   sync_ssh.c    the session: TCP, SSH handshake, host key check
 *                 against known_hosts, public key authentication, SFTP
 *                 start, resolution of ROOT, close; and the mapping of
 *                 libssh2 errors (sync_conn_fail)
 *   sync_sftp.c   the file operations, every path confined below ROOT:
 *                 stat, unlink, listing, upload by temporary name and
 *                 rename, download
 *
 * Error handling: an SFTP status from the server (no such file,
 * permission denied, failure) is an error of that operation; any other
 * libssh2 error (socket, timeout, protocol) marks the connection broken
 * and every later call on it fails at once with -ECONNRESET.
 *
 * Locking: none.  A sync_conn belongs to one thread at a time (sync.h),
 * so its fields need no lock.
 */
#ifndef BEEMO_SYNC_SSH_H
#define BEEMO_SYNC_SSH_H

#include <stddef.h>
#include <stdint.h>

#include <libssh2.h>
#include <libssh2_sftp.h>

#include "sync.h"

struct sync_conn {
	const struct sync_target *t; /* borrowed; outlives the connection */
	int sock;          /* -1 until connected */
	LIBSSH2_SESSION *ssh;
	LIBSSH2_SFTP *sftp;
	char *root;        /* realpath of ROOT on the server */
	size_t rootlen;
	int broken;        /* set by sync_conn_fail; never cleared */
	char **dirs;       /* relative directories checked safe, sorted */
	size_t ndirs, capdirs;
	uint8_t *buf;      /* SYNC_READ bytes for downloads, or NULL */
};

#define SYNC_QUIET_ENOENT 1 /* sync_conn_fail: do not log "no such file" */
#define SYNC_QUIET_STATUS 2 /* sync_conn_fail: log no SFTP status at all */

/*
 * sync_conn_fail -- the error of the last failed libssh2 call on @c
 * (sync_ssh.c).
 * @op, @path: the operation and the remote path (or host, or user) it
 * was on, for the log.
 * @quiet: 0 to log every error; SYNC_QUIET_ENOENT to log an SFTP status
 * other than "no such file"; SYNC_QUIET_STATUS to log no SFTP status.
 * An error other than an SFTP status marks @c broken, shortens its
 * timeout so that closing does not wait on a dead peer, and is logged
 * once (not again once @c is broken).
 * Returns the SFTP status as -ENOENT, -EACCES, -EEXIST, -ENOSPC,
 * -EDQUOT, -ENOTDIR, -EOPNOTSUPP or BEEMO_EREMOTE; or -ETIMEDOUT or
 * -ECONNRESET when the connection broke (or was already broken).
 */
int sync_conn_fail(sync_conn *c, const char *op, const char *path,
    int quiet);

#endif
