/*
 * bm_status.c -- the machine status files and the files of the
 * operations in progress under STORE/run (bm_status.h).
 *
 * Both are replaced by writing "NAME.json.tmp.PID" and renaming it over
 * NAME.json, without fsync (live information); a reader therefore sees
 * a whole file or none, and skips the temporaries.  A reader takes every
 * field it knows by name and ignores the rest, so that a later writer
 * may add fields without a new version.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bm_time.h"
#include "bm_bytes.h"
#include "bm_status.h"
#include "bm_json.h"

#define RUN_INTERVAL_NS 1000000000ULL /* bm_run_file_note */
#define MACHINE_PREFIX "machine-"

/* Close a memstream; on failure free what it held. */
static int
memstream_end(FILE *f, char **buf)
{
	if (fclose(f) != 0) {
		free(*buf);
		*buf = NULL;
		return -ENOMEM;
	}
	return 0;
}

void
bm_status_copy(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

/* Replace STORE/run/@name.json with @len bytes of @text. */
static int
run_dir_write(const char *store, const char *name, const char *text,
    size_t len)
{
	char dir[4096], path[4200], tmp[4300];
	ssize_t n;
	int fd, rc = 0;

	if (!bm_valid_name(name))
		return -EINVAL;
	if ((rc = bm_path(dir, sizeof(dir), "%s/run", store)) != 0 ||
	    (rc = bm_path(path, sizeof(path), "%s/%s.json", dir, name)) ||
	    (rc = bm_path(tmp, sizeof(tmp), "%s.tmp.%ld", path,
	    (long)getpid())) != 0)
		return rc;
	if ((rc = bm_mkdir_p(dir, 0700)) != 0)
		return rc;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	while (len > 0) {
		if ((n = write(fd, text, len)) < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		text += n;
		len -= (size_t)n;
	}
	if (close(fd) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -errno;
	if (rc != 0)
		(void)unlink(tmp);
	return rc;
}

int
bm_status_parse(const char *text, size_t len, const char *format,
    struct sjson **out)
{
	struct sjson *root = NULL;
	const char *f;
	uint64_t ver;
	int rc;

	*out = NULL;
	if ((rc = sjson_parse(text, len, &root)) != 0)
		return rc;
	rc = BEEMO_EFORMAT;
	if (root->type != SJSON_OBJ || (f = sjson_str(root, "format")) ==
	    NULL || strcmp(f, format) != 0 ||
	    sjson_u64(root, "version", &ver) != 0)
		goto fail;
	rc = BEEMO_EVERSION;
	if (ver != BM_STATUS_VERSION)
		goto fail;
	*out = root;
	return 0;

fail:
	sjson_free(root);
	return rc;
}

static int
boolean(const struct sjson *o, const char *key)
{
	const struct sjson *v = sjson_get(o, key, SJSON_BOOL);

	return v != NULL && v->b;
}

/* ---- the machine status ---------------------------------------------- */

int
bm_mstatus_json(const struct bm_mstatus *s, char **out, size_t *outlen)
{
	char *buf = NULL;
	size_t len = 0;
	bm_json j;
	FILE *f;
	int rc;

	if ((f = open_memstream(&buf, &len)) == NULL)
		return -ENOMEM;
	bm_json_init(&j, f);
	bm_json_begin_obj(&j, NULL);
	bm_json_str(&j, "format", BM_MSTATUS_FORMAT);
	bm_json_u64(&j, "version", BM_STATUS_VERSION);
	bm_json_str(&j, "machine", s->machine);
	bm_json_bool(&j, "mounted", s->mounted);
	bm_json_u64(&j, "pid", s->pid > 0 ? (uint64_t)s->pid : 0);
	bm_json_time(&j, "updated", s->updated);
	bm_json_u64(&j, "updated_ns", s->updated);
	if (s->session != 0) {
		bm_json_begin_obj(&j, "session");
		bm_json_time(&j, "started", s->session);
		bm_json_u64(&j, "started_ns", s->session);
		bm_json_u64(&j, "files", s->session_files);
		bm_json_u64(&j, "bytes", s->session_bytes);
		bm_json_u64(&j, "added", s->added);
		bm_json_u64(&j, "changed", s->changed);
		bm_json_u64(&j, "deleted", s->deleted);
		bm_json_u64(&j, "renamed", s->renamed);
		bm_json_end_obj(&j);
	} else {
		bm_json_null(&j, "session");
	}
	bm_json_u64(&j, "files", s->files);
	bm_json_u64(&j, "dirs", s->dirs);
	bm_json_u64(&j, "bytes", s->bytes);
	bm_json_u64(&j, "stored", s->stored);
	bm_json_u64(&j, "packs", s->packs);
	bm_json_u64(&j, "snapshots", s->snapshots);
	bm_json_time(&j, "last_snapshot", s->last_snapshot);
	bm_json_u64(&j, "last_snapshot_ns", s->last_snapshot);
	bm_json_u64(&j, "quota_soft", s->quota_soft);
	bm_json_u64(&j, "quota_hard", s->quota_hard);
	bm_json_u64(&j, "used", s->used);
	bm_json_u64(&j, "quota_limit", s->quota_limit);
	bm_json_bool(&j, "over_soft", s->quota_soft != 0 &&
	    s->used > s->quota_soft);
	bm_json_bool(&j, "over_hard", s->quota_limit != 0 &&
	    s->used >= s->quota_limit);
	bm_json_u64(&j, "signatures", s->signatures);
	bm_json_u64(&j, "reclaimable", s->reclaimable);
	bm_json_time(&j, "reclaimable_as_of", s->reclaimable_time);
	bm_json_u64(&j, "reclaimable_ns", s->reclaimable_time);
	bm_json_end_obj(&j);
	if ((rc = memstream_end(f, &buf)) != 0)
		return rc;
	*out = buf;
	*outlen = len;
	return 0;
}

int
bm_mstatus_write(const char *store, const struct bm_mstatus *s)
{
	char name[96], *text;
	size_t len;
	int rc;

	if (!bm_valid_name(s->machine) || bm_path(name, sizeof(name),
	    MACHINE_PREFIX "%s", s->machine) != 0)
		return -EINVAL;
	if ((rc = bm_mstatus_json(s, &text, &len)) != 0)
		return rc;
	rc = run_dir_write(store, name, text, len);
	free(text);
	return rc;
}

int
bm_mstatus_parse(const char *text, size_t len, struct bm_mstatus *m)
{
	const struct sjson *s;
	struct sjson *o;
	int rc;

	memset(m, 0, sizeof(*m));
	if ((rc = bm_status_parse(text, len, BM_MSTATUS_FORMAT, &o)) != 0)
		return rc;
	bm_status_copy(m->machine, sizeof(m->machine), sjson_str(o, "machine"));
	m->mounted = boolean(o, "mounted");
	m->pid = (long)sjson_num(o, "pid");
	m->updated = sjson_num(o, "updated_ns");
	if ((s = sjson_get(o, "session", SJSON_OBJ)) != NULL) {
		m->session = sjson_num(s, "started_ns");
		m->session_files = sjson_num(s, "files");
		m->session_bytes = sjson_num(s, "bytes");
		m->added = sjson_num(s, "added");
		m->changed = sjson_num(s, "changed");
		m->deleted = sjson_num(s, "deleted");
		m->renamed = sjson_num(s, "renamed");
	}
	m->files = sjson_num(o, "files");
	m->dirs = sjson_num(o, "dirs");
	m->bytes = sjson_num(o, "bytes");
	m->stored = sjson_num(o, "stored");
	m->packs = sjson_num(o, "packs");
	m->snapshots = sjson_num(o, "snapshots");
	m->last_snapshot = sjson_num(o, "last_snapshot_ns");
	m->quota_soft = sjson_num(o, "quota_soft");
	m->quota_hard = sjson_num(o, "quota_hard");
	m->used = sjson_num(o, "used");
	m->quota_limit = sjson_num(o, "quota_limit");
	m->signatures = sjson_num(o, "signatures");
	/* Absent from files written before prune existed: 0, never. */
	m->reclaimable = sjson_num(o, "reclaimable");
	m->reclaimable_time = sjson_num(o, "reclaimable_ns");
	sjson_free(o);
	return 0;
}

int
bm_mstatus_read(const char *store, const char *machine, struct bm_mstatus *out)
{
	char path[4300];
	uint8_t *text;
	size_t len;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!bm_valid_name(machine))
		return -EINVAL;
	if ((rc = bm_path(path, sizeof(path), "%s/run/" MACHINE_PREFIX
	    "%s.json", store, machine)) != 0 ||
	    (rc = bm_read_file(path, BM_STATUS_MAX, &text, &len)) != 0)
		return rc;
	rc = bm_mstatus_parse((const char *)text, len, out);
	free(text);
	return rc;
}

/* ---- operations in progress ------------------------------------------ */

/* @s, or NULL when empty (written as null). */
static const char *
or_null(const char *s)
{
	return *s != '\0' ? s : NULL;
}

int
bm_run_write(const char *store, const char *name, const struct bm_run *r)
{
	char *buf = NULL;
	size_t len = 0;
	bm_json j;
	FILE *f;
	int rc;

	if (strncmp(name, MACHINE_PREFIX, strlen(MACHINE_PREFIX)) == 0)
		return -EINVAL;
	if ((f = open_memstream(&buf, &len)) == NULL)
		return -ENOMEM;
	bm_json_init(&j, f);
	bm_json_begin_obj(&j, NULL);
	bm_json_str(&j, "format", BM_RUN_FORMAT);
	bm_json_u64(&j, "version", BM_STATUS_VERSION);
	bm_json_str(&j, "op", or_null(r->op));
	bm_json_str(&j, "machine", or_null(r->machine));
	bm_json_str(&j, "target", or_null(r->target));
	bm_json_u64(&j, "pid", (uint64_t)getpid());
	bm_json_u64(&j, "started_ns", r->started);
	bm_json_u64(&j, "updated_ns", bm_now_ns());
	bm_json_u64(&j, "done", r->done);
	bm_json_u64(&j, "total", r->total);
	bm_json_u64(&j, "files", r->files);
	bm_json_u64(&j, "objects_done", r->objs_done);
	bm_json_u64(&j, "objects_total", r->objs_total);
	bm_json_end_obj(&j);
	if ((rc = memstream_end(f, &buf)) != 0)
		return rc;
	rc = run_dir_write(store, name, buf, len);
	free(buf);
	return rc;
}

void
bm_run_remove(const char *store, const char *name)
{
	char path[4200];

	if (bm_valid_name(name) &&
	    bm_path(path, sizeof(path), "%s/run/%s.json", store, name) == 0)
		(void)unlink(path);
}

int
bm_run_parse(const char *text, size_t len, struct bm_run *r)
{
	struct sjson *o;
	int rc;

	memset(r, 0, sizeof(*r));
	if ((rc = bm_status_parse(text, len, BM_RUN_FORMAT, &o)) != 0)
		return rc;
	bm_status_copy(r->op, sizeof(r->op), sjson_str(o, "op"));
	bm_status_copy(r->machine, sizeof(r->machine), sjson_str(o, "machine"));
	bm_status_copy(r->target, sizeof(r->target), sjson_str(o, "target"));
	r->pid = (long)sjson_num(o, "pid");
	r->started = sjson_num(o, "started_ns");
	r->updated = sjson_num(o, "updated_ns");
	r->done = sjson_num(o, "done");
	r->total = sjson_num(o, "total");
	r->files = sjson_num(o, "files");
	r->objs_done = sjson_num(o, "objects_done");
	r->objs_total = sjson_num(o, "objects_total");
	sjson_free(o);
	return 0;
}

/* A run file's name: "NAME.json", not a machine status file. */
static int
is_run_file(const char *name)
{
	size_t l = strlen(name);

	return l > 5 && strcmp(name + l - 5, ".json") == 0 &&
	    strncmp(name, MACHINE_PREFIX, strlen(MACHINE_PREFIX)) != 0;
}

int
bm_run_list(const char *store, struct bm_run **out, size_t *n)
{
	struct bm_run *v = NULL, *nv, r;
	char **names = NULL;
	char dir[4096], path[4400];
	size_t count = 0, i, len;
	uint8_t *text;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = bm_path(dir, sizeof(dir), "%s/run", store)) != 0 ||
	    (rc = bm_list_dir(dir, is_run_file, &names, &count)) != 0)
		return rc == -ENOMEM ? rc : 0;
	for (i = 0; i < count; i++) {
		if (bm_path(path, sizeof(path), "%s/%s", dir, names[i]) != 0 ||
		    bm_read_file(path, BM_STATUS_MAX, &text, &len) != 0)
			continue;
		rc = bm_run_parse((const char *)text, len, &r);
		free(text);
		if (rc == -ENOMEM)
			goto fail;
		if (rc != 0)
			continue;
		rc = -ENOMEM;
		if ((nv = realloc(v, (*n + 1) * sizeof(*v))) == NULL)
			goto fail;
		v = nv;
		v[(*n)++] = r;
	}
	bm_names_free(names, count);
	*out = v;
	return 0;

fail:
	bm_names_free(names, count);
	free(v);
	*n = 0;
	return rc;
}

void
bm_run_file_begin(struct bm_run_file *f, const char *store,
    const char *name, const char *op, const char *machine)
{
	pthread_mutex_lock(&f->lock);
	f->store = store;
	bm_status_copy(f->name, sizeof(f->name), name);
	memset(&f->run, 0, sizeof(f->run));
	bm_status_copy(f->run.op, sizeof(f->run.op), op);
	bm_status_copy(f->run.machine, sizeof(f->run.machine), machine);
	f->run.started = bm_now_ns();
	f->last = 0;
	pthread_mutex_unlock(&f->lock);
}

void
bm_run_file_note(struct bm_run_file *f, const struct bm_run *counts,
    int force)
{
	struct bm_run r;
	uint64_t now = bm_mono_ns();

	pthread_mutex_lock(&f->lock);
	if (f->store == NULL || (!force && f->last != 0 &&
	    now - f->last < RUN_INTERVAL_NS)) {
		pthread_mutex_unlock(&f->lock);
		return;
	}
	f->last = now;
	if (counts != NULL)
		r = *counts;
	else
		memset(&r, 0, sizeof(r));
	memcpy(r.op, f->run.op, sizeof(r.op));
	memcpy(r.machine, f->run.machine, sizeof(r.machine));
	r.started = f->run.started;
	/* Under the lock: one writer of the file at a time. */
	(void)bm_run_write(f->store, f->name, &r);
	pthread_mutex_unlock(&f->lock);
}

void
bm_run_file_end(struct bm_run_file *f)
{
	pthread_mutex_lock(&f->lock);
	if (f->store != NULL)
		bm_run_remove(f->store, f->name);
	f->store = NULL;
	pthread_mutex_unlock(&f->lock);
}
