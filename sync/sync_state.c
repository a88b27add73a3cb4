/*
 * sync_state.c -- STORE/sync/state.json: what the last push to each
 * target did.  The reports module reads it to alert when a target has not
 * been reached for too long, so the format is documented in
 * beemo-sync(8):
 *
 *   {"format": "beemo-sync-state", "version": 1,
 *    "config_plain": "<sha256 of the configuration last sealed>",
 *    "targets": [{"name": "center-a",
 *      "last_attempt": "<ISO 8601>", "last_attempt_ns": <ns>,
 *      "last_success": "<ISO 8601>" or null, "last_success_ns": <ns or 0>,
 *      "duration_ms": <ms>, "objects_sent": <n>, "bytes_sent": <n>,
 *      "objects_total": <n>, "bytes_total": <n>,
 *      "result": "ok" or "<reason>", "manifest": "manifests/<stamp>.json",
 *      "digest": "<sha256 of the object list>"}, ...]}
 *
 * It is replaced atomically (bm_write_file_atomic), under the sync lock.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bm_bytes.h"
#include "bm_err.h"
#include "bm_file.h"
#include "bm_json.h"
#include "bm_log.h"
#include "sync.h"

void
sync_state_free(struct sync_state *st)
{
	free(st->t);
	memset(st, 0, sizeof(*st));
}

struct sync_tstate *
sync_state_target(struct sync_state *st, const char *name)
{
	struct sync_tstate *t;
	size_t i;

	for (i = 0; i < st->n; i++)
		if (strcmp(st->t[i].name, name) == 0)
			return &st->t[i];
	if (strlen(name) >= sizeof(t->name))
		return NULL;
	t = realloc(st->t, (st->n + 1) * sizeof(*t));
	if (t == NULL)
		return NULL;
	st->t = t;
	t = &st->t[st->n++];
	memset(t, 0, sizeof(*t));
	strcpy(t->name, name);
	return t;
}

static void
copy_str(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

int
sync_state_load(const char *path, struct sync_state *st)
{
	struct sjson *root = NULL;
	const struct sjson *arr;
	uint8_t *text = NULL;
	size_t len, i;
	uint64_t ver;
	int rc;

	memset(st, 0, sizeof(*st));
	rc = bm_read_file(path, 16 << 20, &text, &len);
	if (rc == -ENOENT)
		return 0;
	if (rc != 0) {
		sync_log(LOG_ERR, "cannot read %s: %s", path,
		    beemo_strerror(rc));
		return rc;
	}
	if ((rc = sjson_parse((const char *)text, len, &root)) != 0)
		goto fail_format;
	if (sjson_str(root, "format") == NULL ||
	    strcmp(sjson_str(root, "format"), SYNC_STATE_FORMAT) != 0 ||
	    sjson_u64(root, "version", &ver) != 0)
		goto fail_format;
	if (ver != SYNC_FORMAT_VERSION) {
		rc = BEEMO_EVERSION;
		sync_log(LOG_ERR, "%s: version %llu is not supported", path,
		    (unsigned long long)ver);
		goto fail;
	}
	copy_str(st->config_plain, sizeof(st->config_plain),
	    sjson_str(root, "config_plain"));
	if ((arr = sjson_get(root, "targets", SJSON_ARR)) == NULL)
		goto fail_format;
	for (i = 0; i < arr->nkids; i++) {
		const struct sjson *o = &arr->kids[i];
		const char *name = sjson_str(o, "name");
		struct sync_tstate *t;

		if (name == NULL || !bm_valid_name(name))
			goto fail_format;
		if ((t = sync_state_target(st, name)) == NULL) {
			rc = -ENOMEM;
			goto fail;
		}
		(void)sjson_u64(o, "last_attempt_ns", &t->last_attempt_ns);
		(void)sjson_u64(o, "last_success_ns", &t->last_success_ns);
		(void)sjson_u64(o, "duration_ms", &t->duration_ms);
		(void)sjson_u64(o, "objects_sent", &t->objs_sent);
		(void)sjson_u64(o, "bytes_sent", &t->bytes_sent);
		(void)sjson_u64(o, "objects_total", &t->objs_total);
		(void)sjson_u64(o, "bytes_total", &t->bytes_total);
		copy_str(t->result, sizeof(t->result), sjson_str(o, "result"));
		copy_str(t->manifest, sizeof(t->manifest),
		    sjson_str(o, "manifest"));
		copy_str(t->digest, sizeof(t->digest), sjson_str(o, "digest"));
	}
	sjson_free(root);
	free(text);
	return 0;

fail_format:
	if (rc == 0 || rc == BEEMO_EFORMAT) {
		rc = BEEMO_EFORMAT;
		sync_log(LOG_ERR, "%s is malformed (remove it to start over; "
		    "it only records past pushes)", path);
	}
fail:
	sjson_free(root);
	free(text);
	sync_state_free(st);
	return rc;
}

int
sync_state_print(FILE *f, const struct sync_state *st)
{
	size_t i;
	bm_json j;

	bm_json_init(&j, f);
	bm_json_begin_obj(&j, NULL);
	bm_json_str(&j, "format", SYNC_STATE_FORMAT);
	bm_json_u64(&j, "version", SYNC_FORMAT_VERSION);
	bm_json_str(&j, "config_plain", st->config_plain);
	bm_json_begin_arr(&j, "targets");
	for (i = 0; i < st->n; i++) {
		const struct sync_tstate *t = &st->t[i];

		bm_json_begin_obj(&j, NULL);
		bm_json_str(&j, "name", t->name);
		if (t->last_attempt_ns)
			bm_json_time(&j, "last_attempt", t->last_attempt_ns);
		else
			bm_json_null(&j, "last_attempt");
		bm_json_u64(&j, "last_attempt_ns", t->last_attempt_ns);
		if (t->last_success_ns)
			bm_json_time(&j, "last_success", t->last_success_ns);
		else
			bm_json_null(&j, "last_success");
		bm_json_u64(&j, "last_success_ns", t->last_success_ns);
		bm_json_u64(&j, "duration_ms", t->duration_ms);
		bm_json_u64(&j, "objects_sent", t->objs_sent);
		bm_json_u64(&j, "bytes_sent", t->bytes_sent);
		bm_json_u64(&j, "objects_total", t->objs_total);
		bm_json_u64(&j, "bytes_total", t->bytes_total);
		bm_json_str(&j, "result", t->result);
		bm_json_str(&j, "manifest", t->manifest);
		bm_json_str(&j, "digest", t->digest);
		bm_json_end_obj(&j);
	}
	bm_json_end_arr(&j);
	bm_json_end_obj(&j);
	fputc('\n', f);
	return ferror(f) ? -EIO : 0;
}

int
sync_state_save(const char *path, const struct sync_state *st)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int rc;

	if ((f = open_memstream(&buf, &len)) == NULL)
		return -ENOMEM;
	(void)sync_state_print(f, st);
	if (fclose(f) != 0) {
		free(buf);
		return -ENOMEM;
	}
	rc = bm_write_file_atomic(path, buf, len, 0600, 0);
	if (rc != 0)
		sync_log(LOG_ERR, "cannot write %s: %s", path,
		    beemo_strerror(rc));
	free(buf);
	return rc;
}
