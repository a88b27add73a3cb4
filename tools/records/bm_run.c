/*
 * bm_run.c -- live status files (bm_run.h).
 *
 * STORE/run/NAME.json is replaced by rename without fsync: after a crash
 * one may be missing or old, never half written (ext4 replaces the data
 * of a renamed-over file before the rename commits, auto_da_alloc), and
 * nothing depends on it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "bm_bytes.h"
#include "bm_file.h"
#include "bm_json.h"
#include "bm_run.h"
#include "bm_time.h"

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

int
bm_run_write(const char *store, const char *name, const char *text,
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

void
bm_run_remove(const char *store, const char *name)
{
	char path[4200];

	if (bm_valid_name(name) &&
	    bm_path(path, sizeof(path), "%s/run/%s.json", store, name) == 0)
		(void)unlink(path);
}

int
bm_run_progress(const char *store, const char *name,
    const struct bm_progress *p)
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
	bm_json_str(&j, "format", "beemo-progress");
	bm_json_u64(&j, "version", 1);
	bm_json_str(&j, "op", p->op);
	bm_json_str(&j, "machine", p->machine);
	bm_json_str(&j, "target", p->target);
	bm_json_u64(&j, "pid", (uint64_t)getpid());
	bm_json_u64(&j, "started_ns", p->started);
	bm_json_u64(&j, "updated_ns", bm_now_ns());
	bm_json_u64(&j, "done", p->done);
	bm_json_u64(&j, "total", p->total);
	bm_json_u64(&j, "files", p->files);
	bm_json_u64(&j, "objects_done", p->objs_done);
	bm_json_u64(&j, "objects_total", p->objs_total);
	bm_json_end_obj(&j);
	if ((rc = memstream_end(f, &buf)) != 0)
		return rc;
	rc = bm_run_write(store, name, buf, len);
	free(buf);
	return rc;
}

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
	bm_json_str(&j, "format", "beemo-machine-status");
	bm_json_u64(&j, "version", 1);
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
	bm_json_bool(&j, "over_soft", s->quota_soft != 0 &&
	    s->stored > s->quota_soft);
	bm_json_bool(&j, "over_hard", s->quota_hard != 0 &&
	    s->stored >= s->quota_hard);
	bm_json_u64(&j, "signatures", s->signatures);
	bm_json_end_obj(&j);
	if ((rc = memstream_end(f, &buf)) != 0)
		return rc;
	*out = buf;
	*outlen = len;
	return 0;
}
