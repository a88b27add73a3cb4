/*
 * center_apply_delete.c -- `beemo-center apply`: cancelling a pending
 * deletion request, and applying one that is due (center_apply.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bm_bytes.h"
#include "bm_err.h"
#include "bm_file.h"
#include "bm_time.h"
#include "bm_units.h"
#include "center.h"
#include "center_apply.h"
#include "center_pin.h"
#include "sync.h"
#include "sync_request.h"

/* 1 when data/requests/N.cancel came before the due time. */
int
apply_cancelled(const struct apply_run *r, const struct center_area *a,
    const struct apply_record *rec)
{
	char path[PATH_MAX];
	struct stat st;
	uint64_t t;

	if (bm_path(path, sizeof(path), "%s/requests/%016" PRIx64 ".cancel",
	    a->data, rec->n) != 0 || lstat(path, &st) != 0 ||
	    !S_ISREG(st.st_mode))
		return 0;
	t = (uint64_t)st.st_mtim.tv_sec * 1000000000ull +
	    (uint64_t)st.st_mtim.tv_nsec;
	return r->now < rec->due_ns || t < rec->due_ns;
}

/* The SHA-256 and size of the regular file @path, read in pieces
 * (packs are tens of MiB), never through a symbolic link.  Returns 0,
 * -ENOENT, -ELOOP, -EINVAL (not a regular file) or an error. */
static int
hash_file(const char *path, uint8_t sha[SYNC_HASH_LEN], uint64_t *size)
{
	struct stat st;
	uint8_t *buf = NULL;
	int fd, rc = 0;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return -errno;
	if (fstat(fd, &st) != 0) {
		rc = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		goto out;
	}
	if ((buf = malloc(SYNC_READ)) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	rc = sync_sha256_fd(fd, buf, SYNC_READ, sha, size, NULL, NULL);
out:
	free(buf);
	close(fd);
	return rc;
}

/* Delete object @o of request @n if it still has its SHA-256: 1
 * (deleted, @freed its size), 0 (left: missing or other content, @why
 * says), or a negative error. */
static int
delete_object(const struct apply_run *r, const struct center_area *a,
    uint64_t n, const struct sync_obj *o, uint64_t *freed, char *why,
    size_t whylen)
{
	char path[PATH_MAX], hex[65], ts[32], logp[PATH_MAX];
	uint8_t sha[SYNC_HASH_LEN];
	uint64_t len = 0;
	int rc, fd;

	if ((rc = bm_path(path, sizeof(path), "%s/%s", a->data, o->path)))
		return rc;
	rc = hash_file(path, sha, &len);
	if (rc == -ENOENT) {
		snprintf(why, whylen, "already gone");
		return 0;
	}
	if (rc == -ELOOP || rc == -EINVAL) {
		snprintf(why, whylen, "not a regular file");
		return 0;
	}
	if (rc != 0)
		return rc;
	bm_hex(hex, o->sha, SYNC_HASH_LEN);
	if (memcmp(sha, o->sha, SYNC_HASH_LEN) != 0) {
		snprintf(why, whylen, "its content is not the one requested "
		    "(sha256 %s)", hex);
		return 0;
	}
	*freed = len;
	if (r->dry_run)
		return 1;
	/* Accepted objects are never replaced (center_serve.c): what was
	 * hashed is what goes. */
	if (unlink(path) != 0)
		return -errno;
	bm_time_str(ts, sizeof(ts), r->now);
	if ((rc = bm_path(logp, sizeof(logp), "%s/center/deleted.log",
	    a->data)) != 0 ||
	    (fd = open(logp, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0644)) < 0)
		return rc != 0 ? rc : -errno;
	if (dprintf(fd, "%s %" PRIu64 " %s %" PRIu64 " %s\n", ts, n, o->path,
	    len, hex) < 0 || fsync(fd) != 0)
		rc = -errno;
	close(fd);
	(void)center_journal(a, "deleted %s (%" PRIu64 " bytes, sha256 %s) "
	    "by request %" PRIu64, o->path, len, hex, n);
	(void)center_usage_add(a, -(int64_t)len, NULL);
	return rc != 0 ? rc : 1;
}

/* Apply the pending request @rec, due now. */
int
apply_due(struct apply_run *r, const struct center_area *a,
    struct apply_record *rec)
{
	struct sync_request req;
	char path[PATH_MAX], sha_hex[65], subject[256], why[256], hb[32];
	char *body = NULL, *left = NULL;
	uint8_t *text = NULL, sha[SYNC_HASH_LEN];
	size_t len = 0, blen = 0, llen = 0, i;
	FILE *f = NULL, *lf = NULL;
	uint64_t freed;
	int rc;

	memset(&req, 0, sizeof(req));
	if ((rc = bm_path(path, sizeof(path), "%s/requests/%016" PRIx64
	    ".req", a->data, rec->n)) != 0 ||
	    (rc = center_read(path, SYNC_MAX_SMALL, &text, &len)) != 0)
		goto out;
	sync_sha256(text, len, sha);
	bm_hex(sha_hex, sha, sizeof(sha));
	if (strcmp(sha_hex, rec->text_sha) != 0 ||
	    (rc = sync_request_parse((const char *)text, len, &req)) != 0) {
		rc = BEEMO_EFORMAT;
		goto out;
	}
	if ((lf = open_memstream(&left, &llen)) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	rec->deleted = rec->freed = rec->left = 0;
	for (i = 0; i < req.objs.n; i++) {
		freed = 0;
		rc = delete_object(r, a, rec->n, &req.objs.v[i], &freed, why,
		    sizeof(why));
		if (rc < 0) {
			fprintf(stderr, "beemo-center: %s: request %" PRIu64
			    ": cannot delete %s: %s\n", a->name, rec->n,
			    req.objs.v[i].path, beemo_strerror(rc));
			goto out;
		}
		if (rc == 1) {
			rec->deleted++;
			rec->freed += freed;
		} else {
			rec->left++;
			fprintf(lf, "  %s: %s\n", req.objs.v[i].path, why);
			(void)(r->dry_run || center_journal(a, "request %"
			    PRIu64 ": %s left: %s", rec->n,
			    req.objs.v[i].path, why));
		}
	}
	if (fclose(lf) != 0) {
		lf = NULL;
		rc = -ENOMEM;
		goto out;
	}
	lf = NULL;
	snprintf(rec->state, sizeof(rec->state), "applied");
	rec->done_ns = r->now;
	r->applied++;
	r->deleted += rec->deleted;
	r->freed += rec->freed;
	bm_human(hb, sizeof(hb), rec->freed);
	(void)(r->dry_run || center_journal(a, "deletion request %" PRIu64
	    " applied: %" PRIu64 " objects deleted, %" PRIu64 " bytes freed, %"
	    PRIu64 " left", rec->n, rec->deleted, rec->freed, rec->left));
	if (!r->ctx->quiet)
		printf("%s: request %" PRIu64 " %sapplied: %" PRIu64 " objects "
		    "deleted, %s freed%s\n", a->name, rec->n, r->dry_run ?
		    "would be " : "", rec->deleted, hb, rec->left ?
		    ", some left" : "");
	if ((f = open_memstream(&body, &blen)) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	snprintf(subject, sizeof(subject), "[beemo-center] %s: deletion "
	    "request %" PRIu64 " applied, %s freed", a->name, rec->n, hb);
	fprintf(f, "The storage center applied deletion request %" PRIu64
	    " of appliance %s\n(area %s; %s, target %s) after its grace "
	    "period:\n\n  %" PRIu64 " objects deleted, %s freed.\n", rec->n,
	    a->name, a->path, rec->reason, rec->target, rec->deleted, hb);
	if (rec->left > 0)
		fprintf(f, "\n%" PRIu64 " objects were left:\n%s", rec->left,
		    left ? left : "");
	fprintf(f, "\nThe list of what was deleted is in center/deleted.log "
	    "of the area.\n");
	if (fclose(f) != 0) {
		f = NULL;
		rc = -ENOMEM;
		goto out;
	}
	f = NULL;
	if ((rc = apply_record_save(r, a, rec)) != 0)
		goto out;
	apply_mail(r, a, subject, body);
	body = NULL;
out:
	if (rc == BEEMO_EFORMAT)
		fprintf(stderr, "beemo-center: %s: request %" PRIu64 " changed "
		    "since it was accepted: not applied\n", a->name, rec->n);
	if (lf != NULL)
		fclose(lf);
	if (f != NULL)
		fclose(f);
	free(left);
	free(body);
	free(text);
	sync_request_free(&req);
	return rc;
}

int
apply_cancel(struct apply_run *r, const struct center_area *a,
    struct apply_record *rec)
{
	char subject[256], *body = NULL;

	snprintf(rec->state, sizeof(rec->state), "cancelled");
	rec->done_ns = r->now;
	r->cancelled++;
	(void)(r->dry_run || center_journal(a, "deletion request %" PRIu64
	    " cancelled by the appliance", rec->n));
	if (!r->ctx->quiet)
		printf("%s: request %" PRIu64 " cancelled\n", a->name, rec->n);
	snprintf(subject, sizeof(subject), "[beemo-center] %s: deletion "
	    "request %" PRIu64 " cancelled", a->name, rec->n);
	if (asprintf(&body, "Deletion request %" PRIu64 " of appliance %s "
	    "(area %s; %s, %" PRIu64 " objects)\nwas cancelled by the "
	    "appliance before its due time: nothing it names will be\n"
	    "deleted.\n", rec->n, a->name, a->path, rec->reason,
	    rec->objects) < 0)
		return -ENOMEM;
	if (apply_record_save(r, a, rec) != 0) {
		free(body);
		return -EIO;
	}
	apply_mail(r, a, subject, body);
	return 0;
}
