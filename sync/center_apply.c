/*
 * center_apply.c -- `beemo-center apply`: deletion requests at the
 * center (center.h, sync_request.h).
 *
 * For each area (--area, or every area under [center] root), under the
 * area's apply lock:
 *
 *   1. the administrator's key is pinned or follows its endorsements
 *      (center_pin.h);
 *   2. each data/requests/N.req without a record is checked: well
 *      formed (sync_request_parse), numbered N, made for the pinned
 *      key's appliance, signed by the pinned key, and naming only
 *      object paths of data/ (never center/ or requests/, no "..").  A
 *      request that passes is ACCEPTED: its record data/center/requests/
 *      N.json is "pending" until due = accepted + the area's grace; one
 *      that fails is REFUSED ("refused", with why) and never applied.
 *      Both are journaled and mailed;
 *   3. a pending request with a data/requests/N.cancel is "cancelled"
 *      if the cancel came before its due time (the file's time or the
 *      clock's); otherwise, once due, it is APPLIED: each object whose
 *      file still has the request's SHA-256 is deleted, journaled in
 *      data/center/deleted.log and the area's journal, and subtracted
 *      from the area's usage; an object with another content is left
 *      and reported.  The request text's SHA-256, kept in the record at
 *      acceptance, must still match.
 *
 * Records are JSON ("request", "state", "reason", "target", "objects",
 * "bytes", "accepted", "due", "why", and when done "done", "deleted",
 * "freed", "left"; times ISO 8601 with a *_ns twin), written
 * atomically, readable by the appliance (beemo-sync status).  A request
 * is handled once: its record says what happened.  apply believes only
 * its own copy, AREA/state/requests/N.json, out of the appliance's
 * reach; data/center/ holds the copy the appliance reads.  --now replaces the
 * clock (tests, an operator's look ahead); --dry-run writes, deletes,
 * journals and mails nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bm_bytes.h"
#include "bm_err.h"
#include "bm_file.h"
#include "bm_json.h"
#include "bm_time.h"
#include "bm_units.h"
#include "center.h"
#include "center_apply.h"
#include "bm_confirm.h"
#include "center_pin.h"
#include "sync.h"
#include "sync_request.h"

static const char apply_usage[] =
    "usage: beemo-center apply [--area AREA] [--now TIME] [--dry-run]\n"
    "         [--yes] [--json]\n";

/* The rest of --help: what apply does and each option. */
static const char apply_help[] =
    "\n"
    "Check, report and apply the deletion requests of every area (or one):\n"
    "the objects of a request whose grace period is over are deleted for\n"
    "good.  Asks first on a terminal; without one (the timer), refuses\n"
    "unless --yes.\n"
    "\n"
    "  -a, --area AREA  this area only (a path, or a name under root)\n"
    "  -n, --now TIME   take TIME as the clock (see it with --dry-run)\n"
    "  -d, --dry-run    say what would be done; write, delete, journal\n"
    "                   and mail nothing\n"
    "  -y, --yes        do not ask (needed without a terminal)\n"
    "      --json       one JSON object \"beemo-center-apply\", no lines\n"
    "  -h, --help       this help\n";

#define MAIL_OBJECTS 50 /* paths listed in a mail */

static int
is_req(const char *name)
{
	return strlen(name) == 20 && bm_is_lower_hex(name, 16) &&
	    strcmp(name + 16, ".req") == 0;
}

/* ---- records ---------------------------------------------------------- */

static int
record_path(const char *dir, uint64_t n, char *buf, size_t sz)
{
	return bm_path(buf, sz, "%s/%016" PRIx64 ".json", dir, n);
}

int
apply_record_save(const struct apply_run *r, const struct center_area *a,
    const struct apply_record *rec)
{
	char path[PATH_MAX], dir[PATH_MAX], own[PATH_MAX], *buf = NULL;
	size_t len = 0;
	bm_json j;
	FILE *f;
	int rc;

	if (r->dry_run)
		return 0;
	if ((rc = bm_path(own, sizeof(own), "%s/requests", a->state)) ||
	    (rc = bm_path(dir, sizeof(dir), "%s/center/requests", a->data)) ||
	    (rc = bm_mkdir_p(own, 0700)) != 0 ||
	    (rc = bm_mkdir_p(dir, 0755)) != 0)
		goto out;
	if ((f = open_memstream(&buf, &len)) == NULL)
		return -ENOMEM;
	bm_json_init(&j, f);
	bm_json_begin_obj(&j, NULL);
	bm_json_u64(&j, "request", rec->n);
	bm_json_str(&j, "state", rec->state);
	bm_json_str(&j, "reason", rec->reason);
	bm_json_str(&j, "target", rec->target);
	bm_json_u64(&j, "objects", rec->objects);
	bm_json_u64(&j, "bytes", rec->bytes);
	bm_json_time(&j, "accepted", rec->accepted_ns);
	bm_json_u64(&j, "accepted_ns", rec->accepted_ns);
	if (rec->due_ns != 0) {
		bm_json_time(&j, "due", rec->due_ns);
		bm_json_u64(&j, "due_ns", rec->due_ns);
	}
	bm_json_str(&j, "why", rec->why);
	bm_json_str(&j, "sha256", rec->text_sha);
	if (rec->done_ns != 0) {
		bm_json_time(&j, "done", rec->done_ns);
		bm_json_u64(&j, "done_ns", rec->done_ns);
		bm_json_u64(&j, "deleted", rec->deleted);
		bm_json_u64(&j, "freed", rec->freed);
		bm_json_u64(&j, "left", rec->left);
	}
	bm_json_end_obj(&j);
	fputc('\n', f);
	if (fclose(f) != 0 || buf == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	/* The center's own copy first: it is the one apply believes. */
	if ((rc = record_path(own, rec->n, path, sizeof(path))) == 0 &&
	    (rc = bm_write_file_atomic(path, buf, len, 0600, 0)) == 0 &&
	    (rc = record_path(dir, rec->n, path, sizeof(path))) == 0)
		rc = bm_write_file_atomic(path, buf, len, 0644, 0);
out:
	if (rc != 0)
		fprintf(stderr, "beemo-center: %s: cannot write the record of "
		    "request %" PRIu64 ": %s\n", a->name, rec->n,
		    beemo_strerror(rc));
	free(buf);
	return rc;
}

static void
copy_str(char *dst, size_t size, const struct sjson *o, const char *key)
{
	const char *s = sjson_str(o, key);

	snprintf(dst, size, "%s", s ? s : "");
}

/* Returns 0, -ENOENT (no record yet), BEEMO_EFORMAT, or an error. */
static int
record_load(const struct center_area *a, uint64_t n, struct apply_record *rec)
{
	char path[PATH_MAX], dir[PATH_MAX];
	struct sjson *root = NULL;
	uint8_t *text = NULL;
	size_t len;
	int rc;

	memset(rec, 0, sizeof(*rec));
	if ((rc = bm_path(dir, sizeof(dir), "%s/requests", a->state)) ||
	    (rc = record_path(dir, n, path, sizeof(path))) != 0 ||
	    (rc = center_read(path, 1u << 20, &text, &len)) != 0)
		return rc;
	if ((rc = sjson_parse((const char *)text, len, &root)) == 0) {
		rec->n = n;
		copy_str(rec->state, sizeof(rec->state), root, "state");
		copy_str(rec->reason, sizeof(rec->reason), root, "reason");
		copy_str(rec->target, sizeof(rec->target), root, "target");
		copy_str(rec->why, sizeof(rec->why), root, "why");
		copy_str(rec->text_sha, sizeof(rec->text_sha), root,
		    "sha256");
		rec->objects = sjson_num(root, "objects");
		rec->bytes = sjson_num(root, "bytes");
		rec->accepted_ns = sjson_num(root, "accepted_ns");
		rec->due_ns = sjson_num(root, "due_ns");
	}
	sjson_free(root);
	free(text);
	return rc;
}

/* ---- checking a request ---------------------------------------------- */

/* An object path a request may name: under data/, not the center's
 * reports nor the requests, no ".." or empty component. */
static int
confined(const char *path)
{
	const char *p = path;
	size_t n;

	if (*p == '\0' || *p == '/' || strncmp(p, "center/", 7) == 0 ||
	    strncmp(p, "requests/", 9) == 0)
		return 0;
	while (*p != '\0') {
		n = strcspn(p, "/");
		if (n == 0 || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.'))
			return 0;
		p += n;
		if (*p == '/')
			p++;
		if (*p == '\0' && p[-1] == '/')
			return 0;
	}
	return 1;
}

/* The size of the regular file data/@path, or 0 if none. */
static uint64_t
object_size(const struct center_area *a, const char *path)
{
	char full[PATH_MAX];
	struct stat st;

	if (bm_path(full, sizeof(full), "%s/%s", a->data, path) != 0 ||
	    lstat(full, &st) != 0 || !S_ISREG(st.st_mode))
		return 0;
	return (uint64_t)st.st_size;
}

/*
 * Check request @n (@text, @len bytes) against @pin: 0 and @req parsed
 * (accepted), or 1 and @why (refused), or a negative error.
 */
static int
check_request(const struct center_pin *pin,
    uint64_t n, const char *text, size_t len, struct sync_request *req,
    char *why, size_t whylen)
{
	size_t i;
	int rc;

	rc = sync_request_parse(text, len, req);
	if (rc == -ENOMEM)
		return rc;
	if (rc != 0) {
		snprintf(why, whylen, "malformed request (%s)",
		    beemo_strerror(rc));
		return 1;
	}
	if (req->counter != n) {
		snprintf(why, whylen, "request file %016" PRIx64 ".req holds "
		    "request %" PRIu64, n, req->counter);
		return 1;
	}
	if (strcmp(req->appliance, pin->appliance_hex) != 0) {
		snprintf(why, whylen, "made for appliance %s, not %s (the "
		    "pinned administrator key's)", req->appliance,
		    pin->appliance_hex);
		return 1;
	}
	rc = sync_request_verify_image(pin->key, pin->len, text, len);
	if (rc == -ENOMEM)
		return rc;
	if (rc != 0) {
		snprintf(why, whylen, "not signed by the pinned administrator "
		    "key %.16s: forged or altered (%s)", pin->hex,
		    beemo_strerror(rc));
		return 1;
	}
	for (i = 0; i < req->objs.n; i++) {
		if (!confined(req->objs.v[i].path)) {
			snprintf(why, whylen, "names %s, outside the objects "
			    "of the area", req->objs.v[i].path);
			return 1;
		}
	}
	return 0;
}

/* The object list of a mail: up to MAIL_OBJECTS paths. */
static void
mail_objects(FILE *f, const struct sync_request *req)
{
	size_t i;

	for (i = 0; i < req->objs.n && i < MAIL_OBJECTS; i++)
		fprintf(f, "  %s\n", req->objs.v[i].path);
	if (req->objs.n > MAIL_OBJECTS)
		fprintf(f, "  ... and %zu more\n", req->objs.n - MAIL_OBJECTS);
}

void
apply_mail(const struct apply_run *r, const struct center_area *a,
    const char *subject, char *body)
{
	if (!r->dry_run && body != NULL)
		(void)center_mail(r->ctx, a, subject, body);
	free(body);
}

/* A new request file: check it and record it as pending or refused. */
static int
new_request(struct apply_run *r, const struct center_area *a,
    const struct center_pin *pin, uint64_t n, const char *path)
{
	struct sync_request req;
	struct apply_record rec;
	char subject[256], due[32], hb[32], *body = NULL;
	uint8_t *text = NULL, sha[SYNC_HASH_LEN];
	size_t len = 0, blen = 0, i;
	FILE *f;
	int rc;

	memset(&req, 0, sizeof(req));
	memset(&rec, 0, sizeof(rec));
	rec.n = n;
	rec.accepted_ns = r->now;
	rc = center_read(path, SYNC_MAX_SMALL, &text, &len);
	if (rc == 0) {
		sync_sha256(text, len, sha);
		bm_hex(rec.text_sha, sha, sizeof(sha));
		rc = check_request(pin, n, (const char *)text, len, &req,
		    rec.why, sizeof(rec.why));
	} else if (rc != -ENOMEM) {
		snprintf(rec.why, sizeof(rec.why), "unreadable request file "
		    "(%s)", beemo_strerror(rc));
		rc = 1;
	}
	if (rc < 0)
		goto out;
	if ((f = open_memstream(&body, &blen)) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	if (rc == 1) {
		snprintf(rec.state, sizeof(rec.state), "refused");
		if (req.objs.n > 0)
			snprintf(rec.reason, sizeof(rec.reason), "%s",
			    sync_reason_name(req.reason));
		r->refused++;
		(void)(r->dry_run || center_journal(a, "deletion request %"
		    PRIu64 " REFUSED: %s", n, rec.why));
		snprintf(subject, sizeof(subject), "[beemo-center] ALERT %s: "
		    "deletion request %" PRIu64 " refused", a->name, n);
		fprintf(f, "The storage center REFUSED deletion request %"
		    PRIu64 " of appliance %s\n(area %s):\n\n  %s\n\nNothing "
		    "it names will be deleted.  A request that the\n"
		    "administrator did not sign means that someone else "
		    "controls the\nappliance or its push key: check the "
		    "appliance now.\n", n, a->name, a->path, rec.why);
		if (!r->ctx->quiet)
			printf("%s: request %" PRIu64 " REFUSED: %s\n", a->name,
			    n, rec.why);
	} else {
		snprintf(rec.state, sizeof(rec.state), "pending");
		snprintf(rec.reason, sizeof(rec.reason), "%s",
		    sync_reason_name(req.reason));
		snprintf(rec.target, sizeof(rec.target), "%s", req.target);
		snprintf(rec.why, sizeof(rec.why), "signed by the "
		    "administrator (key %.16s)", pin->hex);
		rec.objects = req.objs.n;
		for (i = 0; i < req.objs.n; i++)
			rec.bytes += object_size(a, req.objs.v[i].path);
		rec.due_ns = r->now + a->grace * 1000000000ull;
		r->accepted++;
		bm_time_str(due, sizeof(due), rec.due_ns);
		bm_human(hb, sizeof(hb), rec.bytes);
		(void)(r->dry_run || center_journal(a, "deletion request %"
		    PRIu64 " accepted (%s, target %s): %" PRIu64 " objects, %"
		    PRIu64 " bytes, due %s", n, rec.reason, rec.target,
		    rec.objects, rec.bytes, due));
		snprintf(subject, sizeof(subject), "[beemo-center] %s: "
		    "deletion request %" PRIu64 " accepted, due %s", a->name,
		    n, due);
		fprintf(f, "The storage center accepted deletion request %"
		    PRIu64 " of appliance %s\n(area %s), signed by its "
		    "administrator (%s).\n\nOn or after %s it will delete "
		    "%" PRIu64 " objects (%s) pushed\nto target %s:\n\n", n,
		    a->name, a->path, rec.reason, due, rec.objects, hb,
		    rec.target);
		mail_objects(f, &req);
		fprintf(f, "\nIf this request is unexpected, cancel it before "
		    "then on the appliance:\n\n  beemo-sync release --cancel "
		    "%" PRIu64 " --target %s\n  beemo-sync push --target %s\n",
		    n, rec.target, rec.target);
		if (!r->ctx->quiet)
			printf("%s: request %" PRIu64 " accepted: %" PRIu64
			    " objects, %s, due %s\n", a->name, n, rec.objects,
			    hb, due);
	}
	if (fclose(f) != 0) {
		rc = -ENOMEM;
		goto out;
	}
	if ((rc = apply_record_save(r, a, &rec)) == 0)
		apply_mail(r, a, subject, body);
	else
		free(body);
	body = NULL;
out:
	free(body);
	free(text);
	sync_request_free(&req);
	return rc;
}

/* ---- an area --------------------------------------------------------- */

static int
apply_area(struct apply_run *r, const struct center_area *a)
{
	struct center_pin pin;
	struct apply_record rec;
	char dir[PATH_MAX], path[PATH_MAX], err[512], **names = NULL;
	uint64_t n;
	size_t nn = 0, i;
	int rc, lockfd = -1, havepin, ret = 0;

	memset(&pin, 0, sizeof(pin));
	if ((rc = center_lock(a, &lockfd)) != 0) {
		fprintf(stderr, "beemo-center: %s: cannot lock: %s\n", a->name,
		    beemo_strerror(rc));
		return rc;
	}
	rc = center_pin_update(r->ctx, a, r->dry_run, &pin, err, sizeof(err));
	if (rc != 0 && rc != -ENOENT) {
		ret = rc;
		goto out;
	}
	havepin = rc == 0;
	if ((rc = bm_path(dir, sizeof(dir), "%s/requests", a->data)) != 0 ||
	    (rc = bm_list_dir(dir, is_req, &names, &nn)) != 0) {
		ret = rc;
		goto out;
	}
	for (i = 0; i < nn; i++) {
		char hex[17];

		memcpy(hex, names[i], 16);
		hex[16] = '\0';
		n = strtoull(hex, NULL, 16);
		rc = record_load(a, n, &rec);
		if (rc == -ENOENT) {
			if (!havepin) {
				r->unchecked++;
				continue;
			}
			if ((rc = bm_path(path, sizeof(path), "%s/%s", dir,
			    names[i])) != 0 ||
			    (rc = new_request(r, a, &pin, n, path)) != 0) {
				ret = rc;
				continue;
			}
			if ((rc = record_load(a, n, &rec)) != 0 && r->dry_run)
				continue; /* nothing recorded: nothing due */
		}
		if (rc != 0) {
			fprintf(stderr, "beemo-center: %s: record of request %"
			    PRIu64 ": %s\n", a->name, n, beemo_strerror(rc));
			ret = rc;
			continue;
		}
		if (strcmp(rec.state, "pending") != 0)
			continue;
		if (apply_cancelled(r, a, &rec))
			rc = apply_cancel(r, a, &rec);
		else if (r->now >= rec.due_ns)
			rc = apply_due(r, a, &rec);
		if (rc != 0)
			ret = rc;
	}
	if (!havepin && r->unchecked > 0) {
		fprintf(stderr, "beemo-center: %s: %u requests not checked: "
		    "%s\n", a->name, r->unchecked, err);
		if (!r->dry_run)
			(void)center_journal(a, "%u requests not checked: %s",
			    r->unchecked, err);
		ret = -ENOENT;
	}
out:
	bm_names_free(names, nn);
	center_pin_free(&pin);
	close(lockfd);
	return ret;
}

static int
is_area_name(const char *name)
{
	return name[0] != '.';
}

int
center_cmd_apply(struct center_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"area", required_argument, NULL, 'a'},
		{"now", required_argument, NULL, 'n'},
		{"dry-run", no_argument, NULL, 'd'},
		{"json", no_argument, NULL, 'j'},
		{"yes", no_argument, NULL, 'y'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct apply_run r;
	struct center_area a;
	const char *only = NULL;
	char **names = NULL, path[PATH_MAX], err[512], hb[32];
	size_t n = 0, i;
	int c, rc, yes = 0, ret = CENTER_EXIT_OK, json = 0;
	struct center_ctx quiet_ctx;

	memset(&r, 0, sizeof(r));
	r.ctx = ctx;
	r.now = bm_now_ns();
	while ((c = getopt_long(argc, argv, "a:n:dyh", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			only = optarg;
			break;
		case 'n':
			if (bm_parse_time(optarg, &r.now) != 0) {
				fprintf(stderr, "beemo-center: --now %s: not a "
				    "time\n", optarg);
				return CENTER_EXIT_USAGE;
			}
			break;
		case 'd':
			r.dry_run = 1;
			break;
		case 'j':
			json = 1;
			break;
		case 'y':
			yes = 1;
			break;
		case 'h':
			fputs(apply_usage, stdout);
			fputs(apply_help, stdout);
			return CENTER_EXIT_OK;
		default:
			fputs(apply_usage, stderr);
			return CENTER_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fputs(apply_usage, stderr);
		return CENTER_EXIT_USAGE;
	}
	/* JSON: the object alone on standard output, no per-request
	 * lines (the journal and the mails keep them). */
	if (json) {
		quiet_ctx = *ctx;
		quiet_ctx.quiet = 1;
		r.ctx = &quiet_ctx;
	}
	/* Deletion is for good: a person confirms, or the timer's unit
	 * says --yes. */
	if (!r.dry_run && (rc = bm_confirm("beemo-center apply", yes, NULL,
	    "Apply the deletion requests that are due%s%s? Their objects "
	    "are deleted for good.", only ? " in area " : "", only ? only :
	    "")) != 0)
		return rc;
	if (only != NULL) {
		if (center_area_find(ctx, only, &a) != 0)
			return CENTER_EXIT_FAIL;
		if (apply_area(&r, &a) != 0)
			ret = CENTER_EXIT_FAIL;
		center_area_close(&a);
	} else {
		if ((rc = bm_list_dir(ctx->root, is_area_name, &names, &n))) {
			fprintf(stderr, "beemo-center: %s: %s\n", ctx->root,
			    beemo_strerror(rc));
			return CENTER_EXIT_FAIL;
		}
		for (i = 0; i < n; i++) {
			if (bm_path(path, sizeof(path), "%s/%s", ctx->root,
			    names[i]) != 0 || center_area_open(ctx, path, &a,
			    err, sizeof(err)) != 0)
				continue; /* not an area */
			r.unchecked = 0;
			if (apply_area(&r, &a) != 0)
				ret = CENTER_EXIT_FAIL;
			center_area_close(&a);
		}
		bm_names_free(names, n);
	}
	if (json) {
		bm_json j;

		bm_json_init(&j, stdout);
		bm_json_head(&j, "beemo-center-apply", 1);
		bm_json_bool(&j, "dry_run", r.dry_run);
		bm_json_time(&j, "now", r.now);
		bm_json_u64(&j, "accepted", r.accepted);
		bm_json_u64(&j, "refused", r.refused);
		bm_json_u64(&j, "cancelled", r.cancelled);
		bm_json_u64(&j, "applied", r.applied);
		bm_json_u64(&j, "deleted", r.deleted);
		bm_json_u64(&j, "freed", r.freed);
		bm_json_end_obj(&j);
	} else if (!ctx->quiet && isatty(STDOUT_FILENO))
		printf("%s%u accepted, %u refused, %u cancelled, %u applied "
		    "(%" PRIu64 " objects deleted, %s freed)\n", r.dry_run ?
		    "dry run: " : "", r.accepted, r.refused, r.cancelled,
		    r.applied, r.deleted, bm_human(hb, sizeof(hb), r.freed));
	if (r.refused > 0)
		ret = CENTER_EXIT_FAIL;
	return ret;
}
