/*
 * sync_lock.c -- one beemo-sync at a time per store.
 *
 * The lock is an flock(2) on STORE/sync/lock, taken without waiting.  The
 * kernel releases it when the holder's descriptor closes, which includes
 * the holder being killed: a stale lock cannot exist, so nothing needs to
 * be detected or cleared by hand.  The pid written inside is only for the
 * message that names the running instance.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "bm_err.h"
#include "bm_log.h"
#include "sync.h"

int
sync_lock_take(const char *path, int *out)
{
	char buf[32];
	ssize_t n;
	int fd, rc;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		sync_log(LOG_ERR, "cannot open the lock %s: %s", path,
		    beemo_strerror(rc));
		return rc;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		rc = errno == EWOULDBLOCK ? BEEMO_ELOCKED : -errno;
		if (rc == BEEMO_ELOCKED) {
			n = pread(fd, buf, sizeof(buf) - 1, 0);
			buf[n > 0 ? n : 0] = '\0';
			buf[strcspn(buf, "\n")] = '\0';
			sync_log(LOG_ERR, "another beemo-sync is running "
			    "(pid %s, lock %s)", *buf ? buf : "unknown",
			    path);
		} else {
			sync_log(LOG_ERR, "cannot lock %s: %s", path,
			    beemo_strerror(rc));
		}
		goto fail_close;
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)n, 0) != n) {
		rc = -errno;
		sync_log(LOG_ERR, "cannot write %s: %s", path,
		    beemo_strerror(rc));
		goto fail_close;
	}
	*out = fd;
	return 0;

fail_close:
	close(fd);
	return rc;
}

void
sync_lock_release(int fd)
{
	if (fd < 0)
		return;
	/* Leave the file: unlinking it would let a process that opened the
	 * old inode and one that creates a new one both "hold" the lock.
	 * Emptying it only clears the holder's pid; close() releases the
	 * lock whatever ftruncate says (whose result a fortified glibc
	 * does not let one cast away). */
	if (ftruncate(fd, 0) != 0) {
		/* nothing to undo */
	}
	close(fd);
}
