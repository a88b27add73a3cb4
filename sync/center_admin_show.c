/*
 * center_admin_show.c -- beemo-center list and status: what each area
 * holds, as the operator and the partner console see it (center.h,
 * center_admin.h).
 *
 * Everything shown is read from the area: the usage counter
 * (center_usage_get), the manifests of the pushes (data/manifests/, the
 * newest name is the last push, its time when the center received it),
 * the deletion requests as apply reports them (data/center/requests/
 * N.json: its "state" -- pending, refused, cancelled, applied --, "due"
 * and "reason"), the last scrub (data/center/scrub.json: its "time",
 * "objects", "missing_count" and "damaged_count"), and for status the
 * newest
 * status file (data/status/) and the journal segments (data/journal/)
 * the appliance sent.  Nothing is decrypted: a center holds no key.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bm_file.h"
#include "bm_json.h"
#include "bm_time.h"
#include "bm_units.h"
#include "center_admin.h"

#define REPORT_MAX (1u << 20)

/* The newest of a directory's files with a suffix. */
struct newest {
	size_t count;
	char name[NAME_MAX + 1]; /* by name (STAMPs sort in time order) */
	uint64_t mtime_ns;       /* when it arrived */
	uint64_t newest_ns;      /* newest mtime of all (journal segments) */
};

struct request {
	char id[NAME_MAX + 1];
	char state[32], due[40], reason[32];
};

struct info {
	char path[PATH_MAX], account[80];
	struct center_area a;
	uint64_t usage;
	int usage_ok;
	struct newest manifests, status, journal;
	struct request *req;
	size_t nreq, pending;
	int scrubbed;
	char scrub_time[40];
	uint64_t missing, damaged, checked;
};

/* The suffix has_suffix() accepts (bm_list_dir's filter takes no
 * argument); the verbs run in one thread. */
static const char *suffix;

static int
has_suffix(const char *name)
{
	size_t n = strlen(name), s = strlen(suffix);

	return name[0] != '.' && n > s && !strcmp(name + n - s, suffix);
}

static uint64_t
mtime_ns(const char *path)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return 0;
	return (uint64_t)st.st_mtim.tv_sec * 1000000000ull +
	    (uint64_t)st.st_mtim.tv_nsec;
}

static int
scan(const struct center_area *a, const char *sub, const char *suf,
    struct newest *out)
{
	char dir[PATH_MAX], p[PATH_MAX], **names = NULL;
	size_t n = 0, i;
	int rc;

	memset(out, 0, sizeof(*out));
	suffix = suf;
	if (bm_path(dir, sizeof(dir), "%s/%s", a->data, sub) != 0)
		return -ENAMETOOLONG;
	if ((rc = bm_list_dir(dir, has_suffix, &names, &n)) != 0)
		return rc;
	out->count = n;
	for (i = 0; i < n; i++) {
		uint64_t t = 0;

		if (bm_path(p, sizeof(p), "%s/%s", dir, names[i]) == 0)
			t = mtime_ns(p);
		if (t > out->newest_ns)
			out->newest_ns = t;
		if (i == n - 1) {
			snprintf(out->name, sizeof(out->name), "%s", names[i]);
			out->mtime_ns = t;
		}
	}
	bm_names_free(names, n);
	return 0;
}

static void
copy_str(char *dst, size_t len, const struct sjson *o, const char *key)
{
	const char *v = sjson_str(o, key);

	snprintf(dst, len, "%s", v ? v : "");
}

static int
parse_json(const char *path, struct sjson **out)
{
	uint8_t *buf = NULL;
	size_t len;
	int rc;

	*out = NULL;
	if ((rc = bm_read_file(path, REPORT_MAX, &buf, &len)) != 0)
		return rc;
	rc = sjson_parse((const char *)buf, len, out);
	free(buf);
	return rc;
}

static int
read_requests(struct info *in)
{
	char dir[PATH_MAX], p[PATH_MAX], **names = NULL;
	struct sjson *j;
	size_t n = 0, i;
	int rc;

	suffix = ".json";
	if (bm_path(dir, sizeof(dir), "%s/center/requests", in->a.data))
		return -ENAMETOOLONG;
	if ((rc = bm_list_dir(dir, has_suffix, &names, &n)) != 0)
		return rc;
	if (n && !(in->req = calloc(n, sizeof(*in->req)))) {
		bm_names_free(names, n);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		struct request *r = &in->req[in->nreq++];

		snprintf(r->id, sizeof(r->id), "%.*s",
		    (int)(strlen(names[i]) - 5), names[i]);
		snprintf(r->state, sizeof(r->state), "unreadable");
		if (bm_path(p, sizeof(p), "%s/%s", dir, names[i]) == 0 &&
		    parse_json(p, &j) == 0) {
			copy_str(r->state, sizeof(r->state), j, "state");
			copy_str(r->due, sizeof(r->due), j, "due");
			copy_str(r->reason, sizeof(r->reason), j, "reason");
			sjson_free(j);
		}
		if (strcmp(r->state, "pending") == 0)
			in->pending++;
	}
	bm_names_free(names, n);
	return 0;
}

/* "@key_count" of scrub.json, else the length of its array @key. */
static uint64_t
count_of(const struct sjson *j, const char *key)
{
	const struct sjson *arr = sjson_get(j, key, SJSON_ARR);
	char k[32];

	snprintf(k, sizeof(k), "%s_count", key);
	if (sjson_get(j, k, SJSON_NUM))
		return sjson_num(j, k);
	return arr ? arr->nkids : 0;
}

static void
read_scrub(struct info *in)
{
	char p[PATH_MAX];
	struct sjson *j;

	if (bm_path(p, sizeof(p), "%s/center/scrub.json", in->a.data) != 0 ||
	    access(p, F_OK) != 0)
		return;
	in->scrubbed = 1;
	bm_time_str(in->scrub_time, sizeof(in->scrub_time), mtime_ns(p));
	if (parse_json(p, &j) != 0) {
		in->scrubbed = -1;
		return;
	}
	if (sjson_str(j, "time"))
		copy_str(in->scrub_time, sizeof(in->scrub_time), j, "time");
	in->missing = count_of(j, "missing");
	in->damaged = count_of(j, "damaged");
	in->checked = sjson_num(j, "objects");
	sjson_free(j);
}

/*
 * The usage counter; when this call creates state/usage, it is given to
 * the area's account, which serve runs as.
 */
static void
read_usage(struct info *in)
{
	char p[PATH_MAX];
	struct stat st;
	int fresh;

	if (bm_path(p, sizeof(p), "%s/usage", in->a.state) != 0)
		return;
	fresh = access(p, F_OK) != 0;
	in->usage_ok = center_usage_get(&in->a, &in->usage) == 0;
	if (fresh && in->usage_ok && stat(in->a.state, &st) == 0 &&
	    chown(p, st.st_uid, st.st_gid) != 0)
		in->usage_ok = 0;
}

/* Read everything shown of the area at @path; @err on failure. */
static int
info_read(const struct center_ctx *ctx, const char *path, struct info *in,
    char *err, size_t errlen)
{
	int rc;

	memset(in, 0, sizeof(*in));
	snprintf(in->path, sizeof(in->path), "%s", path);
	if ((rc = center_area_open(ctx, path, &in->a, err, errlen)) != 0)
		return rc;
	center_account(path, in->account, sizeof(in->account), NULL);
	read_usage(in);
	if ((rc = scan(&in->a, "manifests", ".json", &in->manifests)) ||
	    (rc = scan(&in->a, "status", ".json", &in->status)) ||
	    (rc = scan(&in->a, "journal", ".log", &in->journal)) ||
	    (rc = read_requests(in))) {
		snprintf(err, errlen, "%s: cannot read its reports (%s)",
		    path, strerror(-rc));
		return rc;
	}
	read_scrub(in);
	return 0;
}

static void
info_free(struct info *in)
{
	center_area_close(&in->a);
	free(in->req);
	in->req = NULL;
}

static char *
scrub_str(const struct info *in, char *buf, size_t len)
{
	if (in->scrubbed == 0)
		snprintf(buf, len, "never");
	else if (in->scrubbed < 0)
		snprintf(buf, len, "%s unreadable", in->scrub_time);
	else if (in->missing || in->damaged)
		snprintf(buf, len, "%s %" PRIu64 " missing %" PRIu64
		    " damaged", in->scrub_time, in->missing, in->damaged);
	else
		snprintf(buf, len, "%s ok", in->scrub_time);
	return buf;
}

static void
json_newest(bm_json *j, const char *key, const struct newest *n)
{
	bm_json_begin_obj(j, key);
	bm_json_u64(j, "count", n->count);
	bm_json_str(j, "newest", n->count ? n->name : NULL);
	bm_json_time(j, "received", n->count ? n->mtime_ns : 0);
	bm_json_end_obj(j);
}

/* One area as a JSON object (status adds its details). */
static void
info_json(bm_json *j, const struct info *in, int detail)
{
	size_t i;

	/* status: the document itself; list: one element of "areas". */
	if (detail)
		bm_json_head(j, "beemo-center-status", 1);
	else
		bm_json_begin_obj(j, NULL);
	bm_json_str(j, "name", in->a.name);
	bm_json_str(j, "area", in->path);
	bm_json_str(j, "account", in->account);
	if (in->usage_ok)
		bm_json_u64(j, "usage", in->usage);
	else
		bm_json_null(j, "usage");
	bm_json_u64(j, "quota", in->a.quota);
	bm_json_u64(j, "grace", in->a.grace);
	json_newest(j, "pushes", &in->manifests);
	bm_json_u64(j, "pending_requests", in->pending);
	bm_json_begin_obj(j, "scrub");
	bm_json_bool(j, "done", in->scrubbed != 0);
	bm_json_str(j, "time", in->scrubbed ? in->scrub_time : NULL);
	bm_json_u64(j, "objects", in->checked);
	bm_json_u64(j, "missing", in->missing);
	bm_json_u64(j, "damaged", in->damaged);
	bm_json_end_obj(j);
	if (detail) {
		bm_json_str(j, "mail_to", in->a.mail_to);
		bm_json_begin_arr(j, "requests");
		for (i = 0; i < in->nreq; i++) {
			bm_json_begin_obj(j, NULL);
			bm_json_str(j, "id", in->req[i].id);
			bm_json_str(j, "state", in->req[i].state);
			bm_json_str(j, "reason", in->req[i].reason[0] ?
			    in->req[i].reason : NULL);
			bm_json_str(j, "due", in->req[i].due[0] ?
			    in->req[i].due : NULL);
			bm_json_end_obj(j);
		}
		bm_json_end_arr(j);
		json_newest(j, "status", &in->status);
		json_newest(j, "journal", &in->journal);
		bm_json_time(j, "journal_newest", in->journal.newest_ns);
	}
	bm_json_end_obj(j);
}

static int
wants_json(int argc, char **argv, const char *verb, const char **dir,
    const char **name)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"area", required_argument, NULL, 'a'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c, json = 0, status = !strcmp(verb, "status");

	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		if (c == 'j') {
			json = 1;
		} else if (c == 'a' && status) {
			*dir = optarg;
		} else {
			fprintf(c == 'h' ? stdout : stderr, "usage: "
			    "beemo-center %s\n\n%s\n  -j, --json  print JSON\n%s",
			    status ? "status NAME [--area DIR] [--json]" :
			    "list [--json]", status ? "One area in detail: its "
			    "settings, usage, pushes, deletion requests\nwith "
			    "their state, last scrub, and the appliance's last "
			    "status.\n" : "One line per area under [center] "
			    "root: name, account, usage, quota,\nlast push, "
			    "pending deletion requests, last scrub.\n", status ?
			    "  --area DIR  the area, when not [center] "
			    "root/NAME\n" : "");
			return c == 'h' ? 2 : -1;
		}
	}
	if (optind + status != argc) {
		fprintf(stderr, "beemo-center %s: %s\n", verb, status ?
		    "which area? (status NAME)" : "no argument expected");
		return -1;
	}
	if (status)
		*name = argv[optind];
	return json;
}

static int
skip_entry(const struct dirent *e)
{
	return e->d_name[0] == '.' || strstr(e->d_name, ".removed-");
}

int
center_cmd_list(struct center_ctx *ctx, int argc, char **argv)
{
	char p[PATH_MAX], err[512], usage[32], quota[32], push[32], scrub[80];
	struct dirent **ents = NULL;
	struct info in;
	bm_json j;
	int json, n, i, rc, ret = CENTER_EXIT_OK;

	if ((json = wants_json(argc, argv, "list", NULL, NULL)) < 0)
		return CENTER_EXIT_USAGE;
	if (json == 2)
		return CENTER_EXIT_OK;
	if ((n = scandir(ctx->root, &ents, NULL, alphasort)) < 0) {
		if (errno != ENOENT) {
			fprintf(stderr, "beemo-center list: %s: %s\n",
			    ctx->root, strerror(errno));
			return CENTER_EXIT_FAIL;
		}
		n = 0;
	}
	if (json) {
		bm_json_init(&j, stdout);
		bm_json_head(&j, "beemo-center-list", 1);
		bm_json_str(&j, "root", ctx->root);
		bm_json_begin_arr(&j, "areas");
	} else {
		printf("%-16s %-16s %10s %10s %-25s %7s %s\n", "NAME",
		    "ACCOUNT", "USAGE", "QUOTA", "LAST PUSH", "PENDING",
		    "SCRUB");
	}
	for (i = 0; i < n; i++) {
		if (skip_entry(ents[i]) || bm_path(p, sizeof(p), "%s/%s",
		    ctx->root, ents[i]->d_name) != 0 ||
		    access(p, F_OK) != 0)
			continue;
		if ((rc = info_read(ctx, p, &in, err, sizeof(err))) != 0) {
			if (rc != -ENOENT) { /* else not an area: skipped */
				fprintf(stderr, "beemo-center list: %s\n", err);
				ret = CENTER_EXIT_FAIL;
			}
			info_free(&in);
			continue;
		}
		if (json) {
			info_json(&j, &in, 0);
		} else {
			bm_time_show(push, sizeof(push), in.manifests.mtime_ns);
			printf("%-16s %-16s %10s %10s %-25s %7zu %s\n",
			    in.a.name, in.account, in.usage_ok ? bm_human(
			    usage, sizeof(usage), in.usage) : "?",
			    in.a.quota ? bm_human(quota, sizeof(quota),
			    in.a.quota) : "none", in.manifests.count ? push :
			    "never", in.pending, scrub_str(&in, scrub,
			    sizeof(scrub)));
		}
		info_free(&in);
	}
	if (json) {
		bm_json_end_arr(&j);
		bm_json_end_obj(&j);
	}
	for (i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	return fflush(stdout) == 0 ? ret : CENTER_EXIT_FAIL;
}

static void
print_newest(const char *what, const struct newest *n)
{
	char t[32];

	if (!n->count) {
		printf("%-17s none\n", what);
		return;
	}
	printf("%-17s %zu, newest %s (received %s)\n", what, n->count,
	    n->name, bm_time_show(t, sizeof(t), n->mtime_ns));
}

static void
print_status(const struct info *in)
{
	char b[80], q[32], t[32];
	size_t i;

	printf("area %s\n", in->a.name);
	printf("%-17s %s\n", "directory", in->path);
	printf("%-17s %s\n", "account", in->account);
	printf("%-17s %s of %s\n", "usage", in->usage_ok ? bm_human(b,
	    sizeof(b), in->usage) : "?", in->a.quota ? bm_human(q, sizeof(q),
	    in->a.quota) : "no quota");
	printf("%-17s %" PRIu64 "s (%" PRIu64 " days)\n", "grace",
	    in->a.grace, in->a.grace / 86400);
	printf("%-17s %s\n", "mail to", in->a.mail_to ? in->a.mail_to :
	    "nobody (no [area] mail_to)");
	print_newest("pushes", &in->manifests);
	printf("%-17s %zu pending of %zu\n", "requests", in->pending,
	    in->nreq);
	for (i = 0; i < in->nreq; i++) {
		const struct request *r = &in->req[i];

		printf("  request %s %s", r->id, r->state[0] ? r->state : "?");
		if (r->reason[0])
			printf(" (%s)", r->reason);
		if (r->due[0])
			printf(", due %s", r->due);
		putchar('\n');
	}
	printf("%-17s %s\n", "last scrub", scrub_str(in, b, sizeof(b)));
	print_newest("status files", &in->status);
	print_newest("journal segments", &in->journal);
	if (in->journal.count)
		printf("%-17s %s\n", "journal newest", bm_time_show(t,
		    sizeof(t), in->journal.newest_ns));
}

int
center_cmd_status(struct center_ctx *ctx, int argc, char **argv)
{
	const char *dir = NULL, *name = NULL;
	char path[PATH_MAX], err[512];
	struct info in;
	bm_json j;
	int json, ret = CENTER_EXIT_OK;

	if ((json = wants_json(argc, argv, "status", &dir, &name)) < 0)
		return CENTER_EXIT_USAGE;
	if (json == 2)
		return CENTER_EXIT_OK;
	if (center_area_locate(ctx, name, dir, path, sizeof(path), err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "beemo-center status: %s\n", err);
		return CENTER_EXIT_USAGE;
	}
	if (info_read(ctx, path, &in, err, sizeof(err)) != 0) {
		fprintf(stderr, "beemo-center status: %s\n", err);
		info_free(&in);
		return CENTER_EXIT_FAIL;
	}
	if (json) {
		bm_json_init(&j, stdout);
		info_json(&j, &in, 1);
	} else {
		print_status(&in);
	}
	info_free(&in);
	if (fflush(stdout) != 0)
		ret = CENTER_EXIT_FAIL;
	return ret;
}
