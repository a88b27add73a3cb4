/*
 * sync_counter.c -- the push counter STORE/sync/counter (see sync.h).
 *
 * The file holds the decimal number of the last push and a newline.  It
 * is replaced durably (bm_write_file_atomic: written, fsynced, renamed,
 * directory fsynced) before the manifest that carries the new number is
 * built, so that after a crash the next push never reuses a number a
 * center may have seen.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bm_err.h"
#include "bm_file.h"
#include "bm_log.h"
#include "bm_time.h"
#include "sync.h"

#define COUNTER_MAX_TEXT 32

int
sync_counter_read(const char *syncdir, uint64_t *n)
{
	char path[PATH_MAX], *end;
	unsigned long long v;
	uint8_t *text = NULL;
	size_t len;
	int rc;

	*n = 0;
	if ((rc = bm_path(path, sizeof(path), "%s/counter", syncdir)) != 0)
		return rc;
	rc = bm_read_file(path, COUNTER_MAX_TEXT, &text, &len);
	if (rc == -ENOENT)
		return 0;
	if (rc != 0) {
		sync_log(LOG_ERR, "cannot read %s: %s", path,
		    beemo_strerror(rc));
		return rc;
	}
	errno = 0;
	v = strtoull((const char *)text, &end, 10);
	if (errno != 0 || end == (char *)text || strcmp(end, "\n") != 0) {
		sync_log(LOG_ERR, "%s is malformed (it holds the number of "
		    "the last push)", path);
		free(text);
		return BEEMO_EFORMAT;
	}
	free(text);
	*n = v;
	return 0;
}

int
sync_counter_set(const char *syncdir, uint64_t n)
{
	char path[PATH_MAX], text[COUNTER_MAX_TEXT];
	int rc, len;

	len = snprintf(text, sizeof(text), "%llu\n", (unsigned long long)n);
	if ((rc = bm_path(path, sizeof(path), "%s/counter", syncdir)) != 0 ||
	    (rc = bm_write_file_atomic(path, text, (size_t)len, 0600, 0)) != 0)
		sync_log(LOG_ERR, "cannot write %s/counter: %s", syncdir,
		    beemo_strerror(rc));
	return rc;
}

int
sync_counter_next(const char *syncdir, uint64_t *n)
{
	uint64_t last;
	int rc;

	if ((rc = sync_counter_read(syncdir, &last)) != 0)
		return rc;
	if (last == UINT64_MAX)
		return -EOVERFLOW;
	if ((rc = sync_counter_set(syncdir, last + 1)) != 0)
		return rc;
	*n = last + 1;
	return 0;
}

char *
sync_time_str(char *buf, size_t size, uint64_t ns)
{
	/* Shown to people: the local zone, or UTC with --utc. */
	return bm_time_show(buf, size, ns);
}
