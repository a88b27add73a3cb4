/*
 * bm_rstate.c -- the report state STORE/reports/state.sealed
 * (bm_status.h): its encoding, its typed reader, and the small helpers
 * that keep its arrays.
 *
 * Plaintext (sealed with bm_sealed_write, label "report-state"):
 *
 *   {"format": "beemo-report-state", "version": 1,
 *    "last_run": "<ISO 8601>" or null, "last_run_ns": <ns>,
 *    "last_result": "...", "signatures_seen_ns": <ns>,
 *    "conditions": [{"key", "kind", "machine", "subject", "text",
 *       "resolved_subject", "resolved_text", "since_ns", "raised_ns",
 *       "mailed_ns", "cleared_ns"}, ...],
 *    "pending": [{"key", "kind", "machine", "subject", "text",
 *       "time_ns"}, ...],
 *    "sent": [{"key", "time_ns"}, ...],
 *    "targets": [{"name", "first_seen_ns", "last_ok_ns",
 *       "last_attempt_ns", "result"}, ...]}
 *
 * Every plaintext buffer is cleansed before it is freed: the state names
 * files.
 */
#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bm_bytes.h"
#include "bm_status.h"
#include "bm_json.h"

#define RSTATE_MAX (64u << 20)

static char *
dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

void *
bm_rstate_grow(void *vp, size_t *n, size_t size)
{
	void **v = vp;
	char *nv = realloc(*v, (*n + 1) * size);

	if (nv == NULL)
		return NULL;
	*v = nv;
	memset(nv + *n * size, 0, size);
	return nv + (*n)++ * size;
}

void
bm_rstate_cond_free(struct bm_rstate_cond *c)
{
	free(c->key);
	free(c->kind);
	free(c->machine);
	free(c->subject);
	free(c->text);
	free(c->rsubject);
	free(c->rtext);
	memset(c, 0, sizeof(*c));
}

void
bm_rstate_event_free(struct bm_rstate_event *e)
{
	free(e->key);
	free(e->kind);
	free(e->machine);
	free(e->subject);
	free(e->text);
	memset(e, 0, sizeof(*e));
}

void
bm_rstate_clear(struct bm_rstate *rs)
{
	size_t i;

	for (i = 0; i < rs->nc; i++)
		bm_rstate_cond_free(&rs->c[i]);
	for (i = 0; i < rs->ne; i++)
		bm_rstate_event_free(&rs->e[i]);
	for (i = 0; i < rs->ns; i++)
		free(rs->s[i].key);
	free(rs->c);
	free(rs->e);
	free(rs->s);
	free(rs->t);
	memset(rs, 0, sizeof(*rs));
}

int
bm_rstate_add_event(struct bm_rstate *rs, const char *key, const char *kind,
    const char *machine, const char *subject, const char *text,
    uint64_t time)
{
	struct bm_rstate_event *e = bm_rstate_grow(&rs->e, &rs->ne,
	    sizeof(*e));

	if (e == NULL)
		return -ENOMEM;
	e->key = strdup(key);
	e->kind = strdup(kind);
	e->machine = dup_or_null(machine);
	e->subject = strdup(subject);
	e->text = strdup(text ? text : "");
	e->time = time;
	if (!e->key || !e->kind || (machine && !e->machine) || !e->subject ||
	    !e->text)
		return -ENOMEM;
	return 0;
}

struct bm_rstate_target *
bm_rstate_target(struct bm_rstate *rs, const char *name, uint64_t now)
{
	struct bm_rstate_target *t;
	size_t i;

	for (i = 0; i < rs->nt; i++)
		if (strcmp(rs->t[i].name, name) == 0)
			return &rs->t[i];
	if (strlen(name) >= sizeof(t->name) ||
	    (t = bm_rstate_grow(&rs->t, &rs->nt, sizeof(*t))) == NULL)
		return NULL;
	strcpy(t->name, name);
	t->first_seen = now;
	return t;
}

/* The arrays of @root into @rs. */
static int
parse_arrays(struct bm_rstate *rs, const struct sjson *root)
{
	const struct sjson *a;
	size_t i;
	int rc;

	a = sjson_get(root, "conditions", SJSON_ARR);
	for (i = 0; a != NULL && i < a->nkids; i++) {
		const struct sjson *o = &a->kids[i];
		struct bm_rstate_cond *c;

		if (sjson_str(o, "key") == NULL || sjson_str(o, "kind") == NULL)
			return BEEMO_EFORMAT;
		if ((c = bm_rstate_grow(&rs->c, &rs->nc, sizeof(*c))) == NULL)
			return -ENOMEM;
		c->key = strdup(sjson_str(o, "key"));
		c->kind = strdup(sjson_str(o, "kind"));
		c->machine = dup_or_null(sjson_str(o, "machine"));
		c->subject = dup_or_null(sjson_str(o, "subject"));
		c->text = dup_or_null(sjson_str(o, "text"));
		c->rsubject = dup_or_null(sjson_str(o, "resolved_subject"));
		c->rtext = dup_or_null(sjson_str(o, "resolved_text"));
		c->since = sjson_num(o, "since_ns");
		c->raised = sjson_num(o, "raised_ns");
		c->mailed = sjson_num(o, "mailed_ns");
		c->cleared = sjson_num(o, "cleared_ns");
		if (c->key == NULL || c->kind == NULL)
			return -ENOMEM;
	}
	a = sjson_get(root, "pending", SJSON_ARR);
	for (i = 0; a != NULL && i < a->nkids; i++) {
		const struct sjson *o = &a->kids[i];

		if (!sjson_str(o, "key") || !sjson_str(o, "kind") ||
		    !sjson_str(o, "subject"))
			return BEEMO_EFORMAT;
		if ((rc = bm_rstate_add_event(rs, sjson_str(o, "key"),
		    sjson_str(o, "kind"), sjson_str(o, "machine"),
		    sjson_str(o, "subject"), sjson_str(o, "text"),
		    sjson_num(o, "time_ns"))) != 0)
			return rc;
	}
	a = sjson_get(root, "sent", SJSON_ARR);
	for (i = 0; a != NULL && i < a->nkids; i++) {
		struct bm_rstate_sent *s;

		if (sjson_str(&a->kids[i], "key") == NULL)
			return BEEMO_EFORMAT;
		if ((s = bm_rstate_grow(&rs->s, &rs->ns, sizeof(*s))) ==
		    NULL || (s->key = strdup(sjson_str(&a->kids[i],
		    "key"))) == NULL)
			return -ENOMEM;
		s->time = sjson_num(&a->kids[i], "time_ns");
	}
	a = sjson_get(root, "targets", SJSON_ARR);
	for (i = 0; a != NULL && i < a->nkids; i++) {
		const struct sjson *o = &a->kids[i];
		const char *name = sjson_str(o, "name");
		struct bm_rstate_target *t;

		if (name == NULL || !bm_valid_name(name))
			return BEEMO_EFORMAT;
		if ((t = bm_rstate_target(rs, name, 0)) == NULL)
			return -ENOMEM;
		t->first_seen = sjson_num(o, "first_seen_ns");
		t->last_ok = sjson_num(o, "last_ok_ns");
		t->last_attempt = sjson_num(o, "last_attempt_ns");
		bm_status_copy(t->result, sizeof(t->result),
		    sjson_str(o, "result"));
	}
	return 0;
}

int
bm_rstate_parse(const char *text, size_t len, struct bm_rstate *rs)
{
	struct sjson *root;
	int rc;

	memset(rs, 0, sizeof(*rs));
	if ((rc = bm_status_parse(text, len, BM_RSTATE_FORMAT, &root)) != 0)
		return rc;
	rs->last_run = sjson_num(root, "last_run_ns");
	rs->sig_seen = sjson_num(root, "signatures_seen_ns");
	bm_status_copy(rs->last_result, sizeof(rs->last_result),
	    sjson_str(root, "last_result"));
	if ((rc = parse_arrays(rs, root)) != 0)
		bm_rstate_clear(rs);
	sjson_free(root);
	return rc;
}

int
bm_rstate_json(const struct bm_rstate *rs, char **out, size_t *outlen)
{
	char *buf = NULL;
	size_t len = 0, i;
	bm_json j;
	FILE *f;

	if ((f = open_memstream(&buf, &len)) == NULL)
		return -ENOMEM;
	bm_json_init(&j, f);
	bm_json_begin_obj(&j, NULL);
	bm_json_str(&j, "format", BM_RSTATE_FORMAT);
	bm_json_u64(&j, "version", BM_STATUS_VERSION);
	bm_json_time(&j, "last_run", rs->last_run);
	bm_json_u64(&j, "last_run_ns", rs->last_run);
	bm_json_str(&j, "last_result", rs->last_result);
	bm_json_u64(&j, "signatures_seen_ns", rs->sig_seen);
	bm_json_begin_arr(&j, "conditions");
	for (i = 0; i < rs->nc; i++) {
		const struct bm_rstate_cond *c = &rs->c[i];

		bm_json_begin_obj(&j, NULL);
		bm_json_str(&j, "key", c->key);
		bm_json_str(&j, "kind", c->kind);
		bm_json_str(&j, "machine", c->machine);
		bm_json_str(&j, "subject", c->subject);
		bm_json_str(&j, "text", c->text);
		bm_json_str(&j, "resolved_subject", c->rsubject);
		bm_json_str(&j, "resolved_text", c->rtext);
		bm_json_u64(&j, "since_ns", c->since);
		bm_json_u64(&j, "raised_ns", c->raised);
		bm_json_u64(&j, "mailed_ns", c->mailed);
		bm_json_u64(&j, "cleared_ns", c->cleared);
		bm_json_end_obj(&j);
	}
	bm_json_end_arr(&j);
	bm_json_begin_arr(&j, "pending");
	for (i = 0; i < rs->ne; i++) {
		const struct bm_rstate_event *e = &rs->e[i];

		bm_json_begin_obj(&j, NULL);
		bm_json_str(&j, "key", e->key);
		bm_json_str(&j, "kind", e->kind);
		bm_json_str(&j, "machine", e->machine);
		bm_json_str(&j, "subject", e->subject);
		bm_json_str(&j, "text", e->text);
		bm_json_u64(&j, "time_ns", e->time);
		bm_json_end_obj(&j);
	}
	bm_json_end_arr(&j);
	bm_json_begin_arr(&j, "sent");
	for (i = 0; i < rs->ns; i++) {
		bm_json_begin_obj(&j, NULL);
		bm_json_str(&j, "key", rs->s[i].key);
		bm_json_u64(&j, "time_ns", rs->s[i].time);
		bm_json_end_obj(&j);
	}
	bm_json_end_arr(&j);
	bm_json_begin_arr(&j, "targets");
	for (i = 0; i < rs->nt; i++) {
		const struct bm_rstate_target *t = &rs->t[i];

		bm_json_begin_obj(&j, NULL);
		bm_json_str(&j, "name", t->name);
		bm_json_u64(&j, "first_seen_ns", t->first_seen);
		bm_json_u64(&j, "last_ok_ns", t->last_ok);
		bm_json_u64(&j, "last_attempt_ns", t->last_attempt);
		bm_json_str(&j, "result", t->result);
		bm_json_end_obj(&j);
	}
	bm_json_end_arr(&j);
	bm_json_end_obj(&j);
	if (fclose(f) != 0) {
		if (buf != NULL)
			OPENSSL_cleanse(buf, len);
		free(buf);
		return -ENOMEM;
	}
	*out = buf;
	*outlen = len;
	return 0;
}

int
bm_rstate_path(const char *store, char *buf, size_t size)
{
	return bm_path(buf, size, "%s/reports/state.sealed", store);
}

int
bm_rstate_read(const char *store, const uint8_t key[32],
    struct bm_rstate *out)
{
	char path[4200];
	uint8_t *text;
	size_t len;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = bm_rstate_path(store, path, sizeof(path))) != 0 ||
	    (rc = bm_sealed_read(path, key, "report-state", RSTATE_MAX,
	    &text, &len)) != 0)
		return rc;
	rc = bm_rstate_parse((const char *)text, len, out);
	OPENSSL_cleanse(text, len);
	free(text);
	return rc;
}

int
bm_rstate_write(const char *store, const uint8_t key[32],
    const struct bm_rstate *rs)
{
	char path[4200], *buf;
	size_t len;
	int rc;

	if ((rc = bm_rstate_path(store, path, sizeof(path))) != 0 ||
	    (rc = bm_rstate_json(rs, &buf, &len)) != 0)
		return rc;
	rc = bm_sealed_write(path, key, "report-state", buf, len, 0);
	OPENSSL_cleanse(buf, len);
	free(buf);
	return rc;
}
