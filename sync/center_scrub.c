/*
 * center_scrub.c -- `beemo-center scrub [--area AREA]`: check every
 * object the manifests of an area list (center.h).
 *
 * The center holds no key, so it cannot tell an authentic manifest from
 * a forged one; it only compares the objects with what the manifests
 * claim.  Every JSON file of data/manifests/ is read (strictly: a
 * malformed one is named and skipped), the union of the objects they
 * list is taken, and each object is read from start to end with a
 * large buffer and hashed.  An object that is absent is "missing"; one
 * that matches none of the manifests listing it (size and SHA-256) is
 * "damaged" -- so a forged manifest giving a good object another hash
 * changes nothing -- and is moved aside to
 * AREA/state/damaged/STAMP/PATH, which frees its name so that the
 * appliance's next push uploads it again (the usage counter loses its
 * size; the move is journaled).  The result goes to
 * data/center/scrub.json, replaced atomically, which beemo-sync reads at
 * its next push:
 *
 *   {"format": "beemo-center-scrub", "version": 1, "time": "<ISO 8601>",
 *    "time_ns": <the same in ns>, "objects": N, "bytes": N,
 *    "missing": ["<path>", ...], "damaged": ["<path>", ...],
 *    "missing_count": N, "damaged_count": N}
 *
 * The two lists hold at most SCRUB_MAX_LISTED paths each; the counts are
 * always exact.  Exit status 1 when anything is missing or damaged.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bm_err.h"
#include "bm_file.h"
#include "bm_json.h"
#include "bm_log.h"
#include "bm_progress.h"
#include "bm_time.h"
#include "bm_units.h"
#include "center.h"
#include "sync.h"

#define SCRUB_FORMAT "beemo-center-scrub"
#define SCRUB_VERSION 1
#define SCRUB_READ (8u << 20)         /* read unit: disk speed */
#define SCRUB_MAX_MANIFEST (256u << 20) /* as beemo-sync's */
#define SCRUB_MAX_LISTED 10000        /* paths per list in scrub.json */
#define SCRUB_MAX_PATH 512

static const char scrub_usage[] =
    "usage: beemo-center [-c FILE] scrub [--area AREA] [--json]\n";

/* The rest of --help: what scrub does and its option. */
static const char scrub_help[] =
    "\n"
    "Check every object of every area (or one) against the manifests\n"
    "that list it, and report what is missing or damaged.\n"
    "\n"
    "  -a, --area AREA  this area only (a path, or a name under root)\n"
    "  -h, --help       this help\n";

/* One object some manifest lists. */
struct sobj {
	char *path;
	uint64_t size;
	unsigned char sha[32];
};

struct scrub {
	const struct center_ctx *ctx;
	struct center_area *a;
	struct sobj *v;
	size_t n, cap;
	char **missing, **damaged;
	size_t nmissing, ndamaged;
	uint64_t bytes;            /* of the objects listed */
	char stamp[32];            /* names AREA/state/damaged/STAMP */
	unsigned char *buf;        /* SCRUB_READ bytes */
};

/* A path a manifest may list: relative, of plain components made of
 * letters, digits and "._-", none empty, "." or "..". */
static int
path_ok(const char *p)
{
	const char *c = p;
	size_t len = strlen(p);

	if (len == 0 || len >= SCRUB_MAX_PATH || *p == '/')
		return 0;
	for (; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		    (*c >= '0' && *c <= '9') || *c == '.' || *c == '_' ||
		    *c == '-' || *c == '/'))
			return 0;
	for (c = p; c; c = strchr(c, '/')) {
		size_t l;

		if (*c == '/')
			c++;
		l = strcspn(c, "/");
		if (l == 0 || (l == 1 && c[0] == '.') ||
		    (l == 2 && c[0] == '.' && c[1] == '.') || c[0] == '.')
			return 0;
		if (!c[l])
			break;
	}
	return strncmp(p, "center/", 7) != 0 &&
	    strncmp(p, "manifests/", 10) != 0;
}

static int
unhex(const char *h, unsigned char *out, size_t n)
{
	size_t i;

	if (strlen(h) != 2 * n)
		return -1;
	for (i = 0; i < 2 * n; i++) {
		int v = h[i] >= '0' && h[i] <= '9' ? h[i] - '0' :
		    h[i] >= 'a' && h[i] <= 'f' ? h[i] - 'a' + 10 : -1;

		if (v < 0)
			return -1;
		if (i % 2 == 0)
			out[i / 2] = (unsigned char)(v << 4);
		else
			out[i / 2] |= (unsigned char)v;
	}
	return 0;
}

/* Add the objects of the manifest text @text to the union.  Returns 0,
 * BEEMO_EFORMAT (nothing of it is kept) or -ENOMEM. */
static int
add_manifest(struct scrub *s, const char *text, size_t len)
{
	struct sjson *root = NULL;
	const struct sjson *objs;
	const char *fmt;
	size_t i, n0 = s->n;
	int rc;

	if ((rc = sjson_parse(text, len, &root)) != 0)
		return rc;
	rc = BEEMO_EFORMAT;
	fmt = sjson_str(root, "format");
	objs = sjson_get(root, "objects", SJSON_ARR);
	if (!fmt || strcmp(fmt, "beemo-sync-manifest") != 0 || !objs)
		goto fail;
	for (i = 0; i < objs->nkids; i++) {
		const struct sjson *o = &objs->kids[i];
		const char *p = sjson_str(o, "path"), *h = sjson_str(o,
		    "sha256");
		struct sobj *e;

		if (!p || !h || !path_ok(p) || !sjson_get(o, "size",
		    SJSON_NUM) || !sjson_get(o, "size", SJSON_NUM)->is_u64)
			goto fail;
		if (s->n == s->cap) {
			size_t cap = s->cap ? 2 * s->cap : 1024;
			struct sobj *nv = realloc(s->v, cap * sizeof(*nv));

			if (!nv) {
				rc = -ENOMEM;
				goto fail;
			}
			s->v = nv;
			s->cap = cap;
		}
		e = &s->v[s->n];
		if (unhex(h, e->sha, sizeof(e->sha)) != 0)
			goto fail;
		e->size = sjson_num(o, "size");
		if (!(e->path = strdup(p))) {
			rc = -ENOMEM;
			goto fail;
		}
		s->n++;
	}
	sjson_free(root);
	return 0;
fail:
	while (s->n > n0)
		free(s->v[--s->n].path);
	sjson_free(root);
	return rc;
}

static int
is_manifest(const char *name)
{
	size_t l = strlen(name);

	return name[0] != '.' && l > 5 && !strcmp(name + l - 5, ".json");
}

static int
cmp_sobj(const void *x, const void *y)
{
	const struct sobj *a = x, *b = y;
	int c = strcmp(a->path, b->path);

	return c ? c : memcmp(a->sha, b->sha, sizeof(a->sha));
}

/* Read every manifest of the area and keep each object once. */
static int
read_manifests(struct scrub *s, size_t *nman)
{
	char dir[PATH_MAX], path[PATH_MAX], **names = NULL;
	size_t n = 0, i, j;
	int rc;

	*nman = 0;
	if ((rc = bm_path(dir, sizeof(dir), "%s/manifests", s->a->data)) ||
	    (rc = bm_list_dir(dir, is_manifest, &names, &n)) != 0) {
		bm_log(LOG_ERR, "area %s: cannot list %s: %s", s->a->name,
		    dir, beemo_strerror(rc));
		return rc;
	}
	for (i = 0; i < n; i++) {
		uint8_t *text = NULL;
		size_t len;

		if ((rc = bm_path(path, sizeof(path), "%s/%s", dir,
		    names[i])) != 0 || (rc = bm_read_file(path,
		    SCRUB_MAX_MANIFEST, &text, &len)) != 0 ||
		    (rc = add_manifest(s, (const char *)text, len)) != 0) {
			free(text);
			if (rc == -ENOMEM)
				goto done;
			bm_log(LOG_WARNING, "area %s: manifests/%s is "
			    "unreadable or malformed (%s): skipped",
			    s->a->name, names[i], beemo_strerror(rc));
			continue;
		}
		free(text);
		(*nman)++;
	}
	rc = 0;
	qsort(s->v, s->n, sizeof(*s->v), cmp_sobj);
	for (i = j = 0; i < s->n; i++) {
		if (j > 0 && !cmp_sobj(&s->v[j - 1], &s->v[i])) {
			free(s->v[i].path);
			continue;
		}
		s->v[j++] = s->v[i];
	}
	s->n = j;
done:
	bm_names_free(names, n);
	return rc;
}

static int
note(char ***list, size_t *n, const char *path)
{
	char **nv;

	if (*n > 0 && !strcmp((*list)[*n - 1], path))
		return 0; /* the same path under two hashes */
	if (!(nv = realloc(*list, (*n + 1) * sizeof(*nv))))
		return -ENOMEM;
	*list = nv;
	if (!(nv[*n] = strdup(path)))
		return -ENOMEM;
	(*n)++;
	return 0;
}

/*
 * Open the directory holding @path below data/, one component at a time
 * and never through a symbolic link (whoever writes the area does not
 * choose what the scrub reads or moves).  @base: receives @path's last
 * component.  Returns the descriptor, or a negative errno (-ENOENT,
 * -ELOOP, -ENOTDIR: the object is missing).
 */
static int
open_parent(const struct scrub *s, const char *path, const char **base)
{
	char part[SCRUB_MAX_PATH];
	const char *p = path, *slash;
	int dfd, sub;

	if ((dfd = open(s->a->data, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -errno;
	while ((slash = strchr(p, '/')) != NULL) {
		memcpy(part, p, (size_t)(slash - p));
		part[slash - p] = '\0';
		sub = openat(dfd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		close(dfd);
		if (sub < 0)
			return -errno;
		dfd = sub;
		p = slash + 1;
	}
	*base = p;
	return dfd;
}

/* Move the damaged object @o (@base in directory @dfd) of @size bytes to
 * AREA/state/damaged/. */
static int
set_aside(struct scrub *s, const struct sobj *o, int dfd, const char *base,
    uint64_t size)
{
	char to[PATH_MAX], *slash;
	int rc;

	if ((rc = bm_path(to, sizeof(to), "%s/damaged/%s/%s", s->a->state,
	    s->stamp, o->path)) != 0)
		return rc;
	slash = strrchr(to, '/');
	*slash = '\0';
	rc = bm_mkdir_p(to, 0700);
	*slash = '/';
	if (rc != 0)
		return rc;
	if (renameat(dfd, base, AT_FDCWD, to) != 0)
		return -errno;
	(void)fsync(dfd);
	(void)bm_fsync_dir(to);
	(void)center_usage_add(s->a, -(int64_t)size, NULL);
	(void)center_journal(s->a, "scrub: %s is damaged; moved to "
	    "state/damaged/%s/%s", o->path, s->stamp, o->path);
	bm_log(LOG_WARNING, "area %s: %s is damaged (wrong size or "
	    "SHA-256); moved aside for the next push to replace it",
	    s->a->name, o->path);
	return 0;
}

static void
scrub_step(void *arg, uint64_t n)
{
	bm_progress_add(arg, n, 0);
}

/* Hash the @size bytes of @fd into @sha.  Returns 0, -EBADMSG (another
 * size: the file changed), or an error. */
static int
hash_fd(struct scrub *s, int fd, uint64_t size, unsigned char sha[32],
    struct bm_progress *pr)
{
	uint64_t got = 0;
	int rc;

	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	rc = sync_sha256_fd(fd, s->buf, SCRUB_READ, sha, &got, scrub_step,
	    pr);
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	return rc != 0 ? rc : got == size ? 0 : -EBADMSG;
}

/*
 * Check the object that the @nc claims @c (same path, sorted) describe:
 * 0 (good: it has the size and SHA-256 of one of them), 1 (missing), 2
 * (damaged: it matches none, and is moved aside), or an error.  Whoever
 * pushes may upload a manifest that lists a good object with another
 * hash: such a claim cannot make the object "damaged" while a manifest
 * gives its true content.
 */
static int
check(struct scrub *s, const struct sobj *c, size_t nc,
    struct bm_progress *pr)
{
	unsigned char sha[32];
	struct stat st;
	const char *base = NULL;
	size_t i;
	int dfd, fd, rc, sized = 0;

	if ((dfd = open_parent(s, c->path, &base)) < 0)
		return dfd == -ENOENT || dfd == -ELOOP || dfd == -ENOTDIR ?
		    1 : dfd;
	/* O_NONBLOCK: a FIFO put in an object's place does not hang us. */
	if ((fd = openat(dfd, base, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC)) < 0) {
		rc = errno == ENOENT || errno == ELOOP ? 1 : -errno;
		close(dfd);
		return rc;
	}
	if (fstat(fd, &st) != 0) {
		rc = -errno;
		close(fd);
		close(dfd);
		return rc;
	}
	for (i = 0; i < nc; i++)
		sized |= (uint64_t)st.st_size == c[i].size;
	if (!S_ISREG(st.st_mode))
		rc = 1;
	else if (!sized)
		rc = 2;
	else if ((rc = hash_fd(s, fd, (uint64_t)st.st_size, sha, pr)) == 0) {
		rc = 2;
		for (i = 0; i < nc && rc == 2; i++)
			if (c[i].size == (uint64_t)st.st_size &&
			    !memcmp(sha, c[i].sha, sizeof(sha)))
				rc = 0;
	} else if (rc == -EBADMSG) {
		rc = 2;
	}
	close(fd);
	if (rc == 2 && (fd = set_aside(s, c, dfd, base,
	    (uint64_t)st.st_size)) != 0) {
		bm_log(LOG_ERR, "area %s: %s is damaged and cannot be moved "
		    "aside: %s", s->a->name, c->path, beemo_strerror(fd));
		rc = fd;
	}
	close(dfd);
	return rc;
}

/* data/center/scrub.json, atomically. */
static int
write_report(struct scrub *s, uint64_t now)
{
	char dir[PATH_MAX], path[PATH_MAX], *text = NULL;
	size_t len = 0, nm, nd;
	bm_json j;
	FILE *f;
	int rc;

	if ((rc = bm_path(dir, sizeof(dir), "%s/center", s->a->data)) ||
	    (rc = bm_path(path, sizeof(path), "%s/scrub.json", dir)) ||
	    (rc = bm_mkdir_p(dir, 0755)) != 0)
		return rc;
	if (!(f = open_memstream(&text, &len)))
		return -ENOMEM;
	nm = s->nmissing < SCRUB_MAX_LISTED ? s->nmissing : SCRUB_MAX_LISTED;
	nd = s->ndamaged < SCRUB_MAX_LISTED ? s->ndamaged : SCRUB_MAX_LISTED;
	bm_json_init(&j, f);
	bm_json_begin_obj(&j, NULL);
	bm_json_str(&j, "format", SCRUB_FORMAT);
	bm_json_u64(&j, "version", SCRUB_VERSION);
	bm_json_time(&j, "time", now);
	bm_json_u64(&j, "time_ns", now);
	bm_json_u64(&j, "objects", s->n);
	bm_json_u64(&j, "bytes", s->bytes);
	bm_json_strs(&j, "missing", (const char *const *)s->missing, nm);
	bm_json_strs(&j, "damaged", (const char *const *)s->damaged, nd);
	bm_json_u64(&j, "missing_count", s->nmissing);
	bm_json_u64(&j, "damaged_count", s->ndamaged);
	bm_json_end_obj(&j);
	fputc('\n', f);
	if (ferror(f) | fclose(f)) {
		free(text);
		return -ENOMEM;
	}
	rc = bm_write_file_atomic(path, text, len, 0644, 0);
	free(text);
	return rc;
}

static void
scrub_free(struct scrub *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->v[i].path);
	free(s->v);
	for (i = 0; i < s->nmissing; i++)
		free(s->missing[i]);
	free(s->missing);
	for (i = 0; i < s->ndamaged; i++)
		free(s->damaged[i]);
	free(s->damaged);
	free(s->buf);
}

/* Scrub one area; with @j (--json), its result is an element of the
 * array being written instead of a line.  Returns CENTER_EXIT_OK or
 * CENTER_EXIT_FAIL. */
static int
scrub_area(const struct center_ctx *ctx, struct center_area *a, bm_json *j)
{
	struct scrub s;
	struct bm_progress pr;
	uint64_t total = 0, now = bm_now_ns(), t0 = bm_mono_ns();
	char h[32], r[32];
	double secs;
	size_t i, nc, nman;
	time_t tt = (time_t)(now / 1000000000u);
	struct tm tm;
	int rc, errs = 0;

	memset(&s, 0, sizeof(s));
	s.ctx = ctx;
	s.a = a;
	gmtime_r(&tt, &tm);
	strftime(s.stamp, sizeof(s.stamp), "%Y%m%dT%H%M%SZ", &tm);
	if (!(s.buf = malloc(SCRUB_READ))) {
		rc = -ENOMEM;
		goto fail;
	}
	if ((rc = read_manifests(&s, &nman)) != 0)
		goto fail;
	for (i = 0; i < s.n; i++)
		total += s.v[i].size;
	s.bytes = total;
	bm_progress_start(&pr, a->name, ctx->quiet, s.n, total, NULL, NULL);
	for (i = 0; i < s.n; i += nc) {
		for (nc = 1; i + nc < s.n &&
		    !strcmp(s.v[i].path, s.v[i + nc].path); nc++)
			;
		rc = check(&s, &s.v[i], nc, &pr);
		bm_progress_add(&pr, 0, nc);
		if (rc == 1)
			rc = note(&s.missing, &s.nmissing, s.v[i].path);
		else if (rc == 2)
			rc = note(&s.damaged, &s.ndamaged, s.v[i].path);
		if (rc < 0 && rc != -ENOMEM) {
			bm_log(LOG_ERR, "area %s: cannot check %s: %s",
			    a->name, s.v[i].path, beemo_strerror(rc));
			errs++;
			rc = 0;
		}
		if (rc != 0) {
			bm_progress_end(&pr, 0);
			goto fail;
		}
	}
	bm_progress_end(&pr, 0);
	for (i = 0; i < s.nmissing; i++)
		bm_log(LOG_WARNING, "area %s: %s is missing", a->name,
		    s.missing[i]);
	if ((rc = write_report(&s, now)) != 0) {
		bm_log(LOG_ERR, "area %s: cannot write center/scrub.json: %s",
		    a->name, beemo_strerror(rc));
		goto fail;
	}
	(void)center_journal(a, "scrub: %zu manifests, %zu objects, %zu "
	    "missing, %zu damaged, %d unreadable", nman, s.n, s.nmissing,
	    s.ndamaged, errs);
	secs = (double)(bm_mono_ns() - t0) / 1e9;
	if (j != NULL) {
		bm_json_begin_obj(j, NULL);
		bm_json_str(j, "name", a->name);
		bm_json_bool(j, "ok", !s.nmissing && !s.ndamaged && !errs);
		bm_json_u64(j, "manifests", nman);
		bm_json_u64(j, "objects", s.n);
		bm_json_u64(j, "bytes", total);
		bm_json_u64(j, "missing", s.nmissing);
		bm_json_u64(j, "damaged", s.ndamaged);
		bm_json_u64(j, "unreadable", (uint64_t)errs);
		bm_json_u64(j, "duration_ms", (bm_mono_ns() - t0) / 1000000);
		bm_json_end_obj(j);
	} else if (!ctx->quiet)
		printf("%s: %zu objects (%s) of %zu manifests checked in "
		    "%.1f s, %s/s: %zu missing, %zu damaged\n", a->name, s.n,
		    bm_human(h, sizeof(h), total), nman, secs, bm_human(r,
		    sizeof(r), secs > 0 ? (uint64_t)((double)total / secs) :
		    0), s.nmissing, s.ndamaged);
	rc = s.nmissing || s.ndamaged || errs ? CENTER_EXIT_FAIL :
	    CENTER_EXIT_OK;
	scrub_free(&s);
	return rc;
fail:
	bm_log(LOG_ERR, "area %s: scrub failed: %s", a->name,
	    beemo_strerror(rc));
	if (j != NULL) {
		bm_json_begin_obj(j, NULL);
		bm_json_str(j, "name", a->name);
		bm_json_bool(j, "ok", 0);
		bm_json_str(j, "error", beemo_strerror(rc));
		bm_json_end_obj(j);
	}
	scrub_free(&s);
	return CENTER_EXIT_FAIL;
}

static int
scrub_path(const struct center_ctx *ctx, const char *path, bm_json *j)
{
	struct center_area a;
	char err[512];
	int rc;

	if (center_area_open(ctx, path, &a, err, sizeof(err)) != 0) {
		bm_log(LOG_ERR, "%s", err);
		return CENTER_EXIT_FAIL;
	}
	rc = scrub_area(ctx, &a, j);
	center_area_close(&a);
	return rc;
}

int
center_cmd_scrub(struct center_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"area", required_argument, NULL, 'a'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *area = NULL;
	bm_json j, *jp = NULL;
	char **names = NULL, path[PATH_MAX], data[PATH_MAX];
	size_t n = 0, i;
	int c, rc = CENTER_EXIT_OK;

	while ((c = getopt_long(argc, argv, "a:h", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			area = optarg;
			break;
		case 'j':
			jp = &j;
			break;
		case 'h':
			fputs(scrub_usage, stdout);
			fputs(scrub_help, stdout);
			return CENTER_EXIT_OK;
		default:
			fputs(scrub_usage, stderr);
			return CENTER_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fputs(scrub_usage, stderr);
		return CENTER_EXIT_USAGE;
	}
	if (jp != NULL) {
		/* The progress too, as JSON lines (no thread runs yet). */
		bm_progress_set_json(1);
		bm_json_init(jp, stdout);
		bm_json_head(jp, "beemo-center-scrub-run", 1);
		bm_json_begin_arr(jp, "areas");
	}
	if (area) {
		rc = scrub_path(ctx, area, jp);
		goto out;
	}
	if ((c = bm_list_dir(ctx->root, NULL, &names, &n)) != 0) {
		bm_log(LOG_ERR, "cannot list the areas in %s: %s", ctx->root,
		    beemo_strerror(c));
		rc = CENTER_EXIT_FAIL;
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct stat st;

		if (bm_path(path, sizeof(path), "%s/%s", ctx->root,
		    names[i]) != 0 || bm_path(data, sizeof(data), "%s/data",
		    path) != 0 || lstat(data, &st) != 0 || !S_ISDIR(st.st_mode))
			continue;
		if (scrub_path(ctx, path, jp) != CENTER_EXIT_OK)
			rc = CENTER_EXIT_FAIL;
	}
	bm_names_free(names, n);
out:
	if (jp != NULL) {
		bm_json_end_arr(jp);
		bm_json_end_obj(jp);
	}
	return rc;
}
