/*
 * bm_report.c -- the report spool (bm_report.h).
 *
 * Spool files are named "<time ns, 20 digits>-<pid>-<counter>.sealed" so
 * that a directory listing sorts them by time and two processes (or two
 * threads) never pick the same name; each is written with
 * bm_sealed_write(), so a reader sees whole files only (it skips the
 * "*.tmp.PID" temporaries).  Their plaintext, read by beemo-sync:
 *
 *   {"format": "beemo-report", "version": 1, "time": "<ISO 8601>",
 *    "time_ns": <ns>, "kind": "virus", "machine": "pc1" or null,
 *    "key": "virus:pc1:/path:Sig", "state": "event"|"raise"|"clear",
 *    "subject": "...", "text": "..."}
 */
#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "bm_file.h"
#include "bm_json.h"
#include "bm_report.h"
#include "bm_sealed.h"
#include "bm_time.h"

static const char *const state_names[] = {"event", "raise", "clear"};

int
bm_report_spool(const char *store, const uint8_t key[32],
    const struct bm_report *r)
{
	static unsigned counter;
	char dir[4096], path[4200], *buf = NULL;
	uint64_t now = bm_now_ns();
	size_t len = 0;
	bm_json j;
	FILE *f;
	int rc;

	if (r->kind == NULL || r->key == NULL || r->subject == NULL ||
	    (unsigned)r->state > BM_REPORT_CLEAR)
		return -EINVAL;
	if ((rc = bm_path(dir, sizeof(dir), "%s/reports/spool", store)) != 0 ||
	    (rc = bm_path(path, sizeof(path), "%s/%020llu-%ld-%u.sealed", dir,
	    (unsigned long long)now, (long)getpid(),
	    __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED))) != 0)
		return rc;
	if ((rc = bm_mkdir_p(dir, 0700)) != 0)
		return rc;
	if ((f = open_memstream(&buf, &len)) == NULL)
		return -ENOMEM;
	bm_json_init(&j, f);
	bm_json_begin_obj(&j, NULL);
	bm_json_str(&j, "format", "beemo-report");
	bm_json_u64(&j, "version", 1);
	bm_json_time(&j, "time", now);
	bm_json_u64(&j, "time_ns", now);
	bm_json_str(&j, "kind", r->kind);
	bm_json_str(&j, "machine", r->machine);
	bm_json_str(&j, "key", r->key);
	bm_json_str(&j, "state", state_names[r->state]);
	bm_json_str(&j, "subject", r->subject);
	bm_json_str(&j, "text", r->text ? r->text : "");
	bm_json_end_obj(&j);
	if (fclose(f) != 0) {
		free(buf);
		return -ENOMEM;
	}
	rc = bm_sealed_write(path, key, "spool", buf, len, 1);
	OPENSSL_cleanse(buf, len);
	free(buf);
	return rc;
}
