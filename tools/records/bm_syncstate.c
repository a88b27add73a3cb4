/*
 * bm_syncstate.c -- beemo-sync's state file and the status file it
 * sends to the storage centers (bm_status.h).
 *
 * The state is replaced durably (bm_write_file_atomic) by beemo-sync
 * under its lock; readers (beemo-sync itself, `beemoctl status`) take no
 * lock.  The status for the centers is only built here: beemo-sync
 * uploads it as one more object.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bm_time.h"
#include "bm_log.h"
#include "bm_bytes.h"
#include "bm_status.h"
#include "bm_json.h"

/* ---- paths --------------------------------------------------------- */

int
bm_sync_state_path(const bm_conf *conf, const char *store, char *buf,
    size_t size)
{
	const char *p = bm_conf_get(conf, "sync", NULL, "state", NULL);

	return p != NULL ? bm_path(buf, size, "%s", p) :
	    bm_path(buf, size, "%s/sync/state.json", store);
}

int
bm_sync_lock_path(const bm_conf *conf, const char *store, char *buf,
    size_t size)
{
	const char *p = bm_conf_get(conf, "sync", NULL, "lock", NULL);

	return p != NULL ? bm_path(buf, size, "%s", p) :
	    bm_path(buf, size, "%s/sync/lock", store);
}

long
bm_sync_lock_pid(const char *path)
{
	uint8_t *text;
	size_t len;
	long pid;

	if (bm_read_file(path, 4096, &text, &len) != 0)
		return 0;
	pid = strtol((char *)text, NULL, 10);
	free(text);
	return pid > 0 ? pid : 0;
}

/* ---- the state ------------------------------------------------------- */

void
bm_sync_state_free(struct bm_sync_state *st)
{
	free(st->t);
	memset(st, 0, sizeof(*st));
}

struct bm_sync_tstate *
bm_sync_state_target(struct bm_sync_state *st, const char *name)
{
	struct bm_sync_tstate *t;
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

int
bm_sync_state_parse(const char *text, size_t len, struct bm_sync_state *st)
{
	const struct sjson *arr;
	struct sjson *root;
	size_t i;
	int rc;

	memset(st, 0, sizeof(*st));
	if ((rc = bm_status_parse(text, len, BM_SYNC_STATE_FORMAT, &root)) != 0)
		return rc;
	bm_status_copy(st->config_plain, sizeof(st->config_plain),
	    sjson_str(root, "config_plain"));
	rc = BEEMO_EFORMAT;
	if ((arr = sjson_get(root, "targets", SJSON_ARR)) == NULL)
		goto fail;
	for (i = 0; i < arr->nkids; i++) {
		const struct sjson *o = &arr->kids[i];
		const char *name = sjson_str(o, "name");
		struct bm_sync_tstate *t;

		rc = BEEMO_EFORMAT;
		if (name == NULL || !bm_valid_name(name))
			goto fail;
		rc = -ENOMEM;
		if ((t = bm_sync_state_target(st, name)) == NULL)
			goto fail;
		(void)sjson_u64(o, "last_attempt_ns", &t->last_attempt_ns);
		(void)sjson_u64(o, "last_success_ns", &t->last_success_ns);
		(void)sjson_u64(o, "duration_ms", &t->duration_ms);
		(void)sjson_u64(o, "objects_sent", &t->objs_sent);
		(void)sjson_u64(o, "bytes_sent", &t->bytes_sent);
		(void)sjson_u64(o, "objects_total", &t->objs_total);
		(void)sjson_u64(o, "bytes_total", &t->bytes_total);
		bm_status_copy(t->result, sizeof(t->result),
		    sjson_str(o, "result"));
		bm_status_copy(t->manifest, sizeof(t->manifest),
		    sjson_str(o, "manifest"));
		bm_status_copy(t->digest, sizeof(t->digest),
		    sjson_str(o, "digest"));
		(void)sjson_u64(o, "counter", &t->counter);
		(void)sjson_u64(o, "counter_ns", &t->counter_ns);
		(void)sjson_u64(o, "awaiting_release", &t->awaiting);
	}
	sjson_free(root);
	return 0;

fail:
	sjson_free(root);
	bm_sync_state_free(st);
	return rc;
}

int
bm_sync_state_load(const char *path, struct bm_sync_state *st)
{
	uint8_t *text = NULL;
	size_t len;
	int rc;

	memset(st, 0, sizeof(*st));
	rc = bm_read_file(path, BM_STATUS_MAX, &text, &len);
	if (rc == -ENOENT)
		return 0;
	if (rc != 0) {
		bm_log(LOG_ERR, "cannot read %s: %s", path,
		    beemo_strerror(rc));
		return rc;
	}
	rc = bm_sync_state_parse((const char *)text, len, st);
	free(text);
	if (rc == BEEMO_EFORMAT)
		bm_log(LOG_ERR, "%s is malformed (remove it to start over; "
		    "it only records past pushes)", path);
	else if (rc == BEEMO_EVERSION)
		bm_log(LOG_ERR, "%s: its version is not supported", path);
	return rc;
}

int
bm_sync_state_print(FILE *f, const struct bm_sync_state *st)
{
	size_t i;
	bm_json j;

	bm_json_init(&j, f);
	bm_json_begin_obj(&j, NULL);
	bm_json_str(&j, "format", BM_SYNC_STATE_FORMAT);
	bm_json_u64(&j, "version", BM_STATUS_VERSION);
	bm_json_str(&j, "config_plain", st->config_plain);
	bm_json_begin_arr(&j, "targets");
	for (i = 0; i < st->n; i++) {
		const struct bm_sync_tstate *t = &st->t[i];

		bm_json_begin_obj(&j, NULL);
		bm_json_str(&j, "name", t->name);
		bm_json_time(&j, "last_attempt", t->last_attempt_ns);
		bm_json_u64(&j, "last_attempt_ns", t->last_attempt_ns);
		bm_json_time(&j, "last_success", t->last_success_ns);
		bm_json_u64(&j, "last_success_ns", t->last_success_ns);
		bm_json_u64(&j, "duration_ms", t->duration_ms);
		bm_json_u64(&j, "objects_sent", t->objs_sent);
		bm_json_u64(&j, "bytes_sent", t->bytes_sent);
		bm_json_u64(&j, "objects_total", t->objs_total);
		bm_json_u64(&j, "bytes_total", t->bytes_total);
		bm_json_str(&j, "result", t->result);
		bm_json_str(&j, "manifest", t->manifest);
		bm_json_str(&j, "digest", t->digest);
		if (t->counter != 0) {
			/* Absent until a version 2 manifest was pushed. */
			bm_json_u64(&j, "counter", t->counter);
			bm_json_u64(&j, "counter_ns", t->counter_ns);
		}
		if (t->awaiting != 0)
			bm_json_u64(&j, "awaiting_release", t->awaiting);
		bm_json_end_obj(&j);
	}
	bm_json_end_arr(&j);
	bm_json_end_obj(&j);
	fputc('\n', f);
	return ferror(f) ? -EIO : 0;
}

int
bm_sync_state_save(const char *path, const struct bm_sync_state *st)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int rc;

	if ((f = open_memstream(&buf, &len)) == NULL)
		return -ENOMEM;
	(void)bm_sync_state_print(f, st);
	if (fclose(f) != 0) {
		free(buf);
		return -ENOMEM;
	}
	rc = bm_write_file_atomic(path, buf, len, 0600, 0);
	if (rc != 0)
		bm_log(LOG_ERR, "cannot write %s: %s", path,
		    beemo_strerror(rc));
	free(buf);
	return rc;
}

/* ---- the status for the storage centers ----------------------------- */

/* The machine figures of a maintenance status, in their order. */
static const char *const figure_keys[] = {"updated_ns", "files", "bytes",
    "stored", "snapshots", "last_snapshot_ns", "quota_soft", "quota_hard"};
#define NFIGURES (sizeof(figure_keys) / sizeof(figure_keys[0]))

static uint64_t *
figure(struct bm_appstatus_machine *m, size_t k)
{
	uint64_t *const v[NFIGURES] = {&m->updated, &m->files, &m->bytes,
	    &m->stored, &m->snapshots, &m->last_snapshot, &m->quota_soft,
	    &m->quota_hard};

	return v[k];
}

int
bm_appstatus_json(const struct bm_appstatus *s, char **out, size_t *outlen)
{
	int maint = s->kind == BM_APPSTATUS_MAINTENANCE;
	char *buf = NULL;
	size_t len = 0, i, k;
	bm_json j;
	FILE *f;

	if ((f = open_memstream(&buf, &len)) == NULL)
		return -ENOMEM;
	bm_json_init(&j, f);
	bm_json_begin_obj(&j, NULL);
	bm_json_str(&j, "format", BM_APPSTATUS_FORMAT);
	bm_json_u64(&j, "version", BM_STATUS_VERSION);
	if (maint)
		bm_json_str(&j, "kind", "maintenance");
	bm_json_str(&j, "appliance", s->appliance);
	bm_json_time(&j, "time", s->time);
	bm_json_u64(&j, "time_ns", s->time);
	bm_json_str(&j, "beemo", s->beemo);
	bm_json_begin_arr(&j, "machines");
	for (i = 0; i < s->nm; i++) {
		struct bm_appstatus_machine *m = &s->m[i];

		bm_json_begin_obj(&j, NULL);
		bm_json_str(&j, "name", m->name);
		if (!maint) {
			bm_json_u64(&j, "packs", m->packs);
			bm_json_u64(&j, "bytes", m->pack_bytes);
		} else if (m->known) {
			for (k = 0; k < NFIGURES; k++)
				bm_json_u64(&j, figure_keys[k],
				    *figure(m, k));
		}
		bm_json_end_obj(&j);
	}
	bm_json_end_arr(&j);
	bm_json_begin_arr(&j, "targets");
	for (i = 0; i < s->nt; i++) {
		bm_json_begin_obj(&j, NULL);
		bm_json_str(&j, "name", s->t[i].name);
		bm_json_time(&j, "last_success", s->t[i].last_success);
		bm_json_str(&j, "last_result", s->t[i].ok ? "ok" : "failed");
		bm_json_end_obj(&j);
	}
	bm_json_end_arr(&j);
	if (maint)
		bm_json_str(&j, "alerts", s->alerts);
	bm_json_end_obj(&j);
	if (!maint)
		fputc('\n', f);
	if (fclose(f) != 0) {
		free(buf);
		return -ENOMEM;
	}
	*out = buf;
	*outlen = len;
	return 0;
}

struct bm_appstatus_machine *
bm_appstatus_add_machine(struct bm_appstatus *s, const char *name)
{
	struct bm_appstatus_machine *v;

	if ((v = realloc(s->m, (s->nm + 1) * sizeof(*v))) == NULL)
		return NULL;
	s->m = v;
	v = &s->m[s->nm++];
	memset(v, 0, sizeof(*v));
	bm_status_copy(v->name, sizeof(v->name), name);
	return v;
}

struct bm_appstatus_target *
bm_appstatus_add_target(struct bm_appstatus *s, const char *name)
{
	struct bm_appstatus_target *v;

	if ((v = realloc(s->t, (s->nt + 1) * sizeof(*v))) == NULL)
		return NULL;
	s->t = v;
	v = &s->t[s->nt++];
	memset(v, 0, sizeof(*v));
	bm_status_copy(v->name, sizeof(v->name), name);
	return v;
}

void
bm_appstatus_free(struct bm_appstatus *s)
{
	free(s->m);
	free(s->t);
	memset(s, 0, sizeof(*s));
}

/* Times in this file are ISO 8601 strings with a _ns twin but for a
 * target's last success, which has only the string. */
static uint64_t
iso_time(const struct sjson *o, const char *key)
{
	const char *v = sjson_str(o, key);
	uint64_t ns;

	return v != NULL && bm_parse_time(v, &ns) == 0 ? ns : 0;
}

int
bm_appstatus_parse(const char *text, size_t len, struct bm_appstatus *s)
{
	const struct sjson *arr, *o;
	const char *kind, *res;
	struct sjson *root;
	size_t i, k;
	int rc;

	memset(s, 0, sizeof(*s));
	if ((rc = bm_status_parse(text, len, BM_APPSTATUS_FORMAT, &root)) != 0)
		return rc;
	rc = BEEMO_EFORMAT;
	kind = sjson_str(root, "kind");
	if (kind != NULL && strcmp(kind, "maintenance") != 0)
		goto fail;
	s->kind = kind != NULL ? BM_APPSTATUS_MAINTENANCE : BM_APPSTATUS_PUSH;
	bm_status_copy(s->appliance, sizeof(s->appliance),
	    sjson_str(root, "appliance"));
	s->time = sjson_num(root, "time_ns");
	bm_status_copy(s->beemo, sizeof(s->beemo), sjson_str(root, "beemo"));
	bm_status_copy(s->alerts, sizeof(s->alerts), sjson_str(root, "alerts"));
	if ((arr = sjson_get(root, "machines", SJSON_ARR)) == NULL)
		goto fail;
	for (i = 0; i < arr->nkids; i++) {
		struct bm_appstatus_machine *m;

		o = &arr->kids[i];
		rc = BEEMO_EFORMAT;
		if (sjson_str(o, "name") == NULL)
			goto fail;
		rc = -ENOMEM;
		if ((m = bm_appstatus_add_machine(s, sjson_str(o,
		    "name"))) == NULL)
			goto fail;
		if (s->kind == BM_APPSTATUS_PUSH) {
			m->packs = sjson_num(o, "packs");
			m->pack_bytes = sjson_num(o, "bytes");
			continue;
		}
		for (k = 0; k < NFIGURES; k++)
			if (sjson_u64(o, figure_keys[k], figure(m, k)) == 0)
				m->known = 1;
	}
	rc = BEEMO_EFORMAT;
	if ((arr = sjson_get(root, "targets", SJSON_ARR)) == NULL)
		goto fail;
	for (i = 0; i < arr->nkids; i++) {
		struct bm_appstatus_target *t;

		o = &arr->kids[i];
		rc = BEEMO_EFORMAT;
		if (sjson_str(o, "name") == NULL)
			goto fail;
		rc = -ENOMEM;
		if ((t = bm_appstatus_add_target(s, sjson_str(o,
		    "name"))) == NULL)
			goto fail;
		t->last_success = iso_time(o, "last_success");
		res = sjson_str(o, "last_result");
		t->ok = res != NULL && strcmp(res, "ok") == 0;
	}
	sjson_free(root);
	return 0;

fail:
	sjson_free(root);
	bm_appstatus_free(s);
	return rc;
}
