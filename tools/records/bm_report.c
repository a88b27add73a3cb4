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
#include <string.h>
#include <unistd.h>

#include "bm_bytes.h"
#include "bm_err.h"
#include "bm_file.h"
#include "bm_json.h"
#include "bm_report.h"
#include "bm_sealed.h"
#include "bm_space.h"
#include "bm_time.h"
#include "bm_units.h"

#define SPOOL_FILE_MAX (1u << 20) /* bm_report_read refuses more */

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

/* ---- reading the spool back ------------------------------------------ */

/* A copy of @s, or NULL for NULL. */
static char *
dup_or_null(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

static void
free_string(const char *s)
{
	if (s != NULL) {
		OPENSSL_cleanse((char *)s, strlen(s));
		free((char *)s);
	}
}

void
bm_spooled_free(struct bm_spooled *s)
{
	free_string(s->r.kind);
	free_string(s->r.machine);
	free_string(s->r.key);
	free_string(s->r.subject);
	free_string(s->r.text);
	memset(s, 0, sizeof(*s));
}

int
bm_report_parse(const char *text, size_t len, struct bm_spooled *out)
{
	const char *f, *kind, *key, *state, *subject, *machine;
	struct sjson *o = NULL;
	uint64_t ver = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = sjson_parse(text, len, &o)) != 0)
		return rc;
	f = sjson_str(o, "format");
	kind = sjson_str(o, "kind");
	key = sjson_str(o, "key");
	state = sjson_str(o, "state");
	subject = sjson_str(o, "subject");
	machine = sjson_str(o, "machine");
	rc = BEEMO_EFORMAT;
	if (f == NULL || strcmp(f, "beemo-report") != 0 ||
	    sjson_u64(o, "version", &ver) != 0)
		goto out;
	rc = BEEMO_EVERSION;
	if (ver != 1)
		goto out;
	rc = BEEMO_EFORMAT;
	if (kind == NULL || key == NULL || state == NULL || subject == NULL ||
	    (machine != NULL && !bm_valid_name(machine)))
		goto out;
	for (out->r.state = BM_REPORT_EVENT; out->r.state <= BM_REPORT_CLEAR;
	    out->r.state++)
		if (strcmp(state, state_names[out->r.state]) == 0)
			break;
	if (out->r.state > BM_REPORT_CLEAR)
		goto out;
	out->time = sjson_num(o, "time_ns");
	out->r.kind = strdup(kind);
	out->r.key = strdup(key);
	out->r.subject = strdup(subject);
	out->r.machine = dup_or_null(machine);
	out->r.text = dup_or_null(sjson_str(o, "text"));
	rc = -ENOMEM;
	if (out->r.kind == NULL || out->r.key == NULL ||
	    out->r.subject == NULL || (machine && out->r.machine == NULL) ||
	    (sjson_str(o, "text") && out->r.text == NULL))
		goto out;
	rc = 0;
out:
	if (rc != 0)
		bm_spooled_free(out);
	sjson_free(o);
	return rc;
}

int
bm_report_read(const char *path, const uint8_t key[32],
    struct bm_spooled *out)
{
	uint8_t *text;
	size_t len;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = bm_sealed_read(path, key, "spool", SPOOL_FILE_MAX, &text,
	    &len)) != 0)
		return rc;
	rc = bm_report_parse((const char *)text, len, out);
	OPENSSL_cleanse(text, len);
	free(text);
	return rc;
}

int
bm_report_space(const bm_conf *conf, const char *store, struct bm_report *r,
    char *subject, size_t ssize, char *text, size_t tsize)
{
	struct bm_space sp;
	char a[32], s[32], t[32], res[32];
	int rc;

	if ((rc = bm_space_get(conf, store, &sp)) != 0)
		return rc;
	bm_human(a, sizeof(a), sp.avail);
	bm_human(s, sizeof(s), sp.size);
	bm_human(t, sizeof(t), sp.alert);
	bm_human(res, sizeof(res), sp.reserve);
	memset(r, 0, sizeof(*r));
	r->kind = "space";
	r->key = "space";
	r->subject = subject;
	r->text = text;
	if (sp.state != BM_SPACE_OK) {
		r->state = BM_REPORT_RAISE;
		snprintf(subject, ssize, "the store's disk is %s: %s free of "
		    "%s", sp.state == BM_SPACE_FULL ? "full" : "low on space",
		    a, s);
		snprintf(text, tsize, "The file system of the store %s has %s "
		    "free, under the alert threshold of %s.\nUnder the "
		    "reserve of %s, backups fail (ENOSPC): free space on that "
		    "disk, lower the machines' quotas (beemoctl quota), or "
		    "give the store a larger disk.\n", store, a, t, res);
	} else {
		r->state = BM_REPORT_CLEAR;
		snprintf(subject, ssize, "the store's disk has space again: "
		    "%s free of %s", a, s);
		snprintf(text, tsize, "The file system of the store %s has %s "
		    "free again.\n", store, a);
	}
	return 0;
}
