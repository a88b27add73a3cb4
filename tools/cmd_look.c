/*
 * cmd_look.c -- looking into snapshots without mounting them:
 *   beemoctl ls MACHINE SNAPSHOT [PATH] [--long] [--recursive] [--json]
 *   beemoctl find MACHINE PATTERN [--snapshots LIST] [--newer TIME]
 *       [--older TIME] [--json]
 *   beemoctl dump MACHINE SNAPSHOT PATH
 *
 * All three read the store directly through its API, opened read-only
 * by the administrator (default) or a user of the machine, like restore;
 * a mounted backup session does not stand in the way.  Paths are
 * normalised with ctl_tree_norm() (".." above the root is refused) and
 * snapshots named with ctl_snap_resolve().  Names in text output are
 * escaped (bm_esc.h): a client's file name may hold any byte.  A dump
 * hands out a file's plaintext like a restore, so it is journaled as
 * one.
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "bm_err.h"
#include "bm_esc.h"
#include "bm_json.h"
#include "bm_time.h"
#include "ctl_snapname.h"
#include "ctl_store.h"
#include "ctl_tree.h"

#define PRINCIPAL_HELP                                                       \
	"  --admin               open with the administrator's password\n"  \
	"                        (default)\n"                                \
	"  --user USER           open with USER's password\n"               \
	"  --password-file FILE  read the password from FILE (default\n"    \
	"                        $BEEMO_PASSWORD_FILE, or the terminal)\n"   \
	"  --help                this help\n"

#define PRINCIPAL (CTL_O_ADMIN | CTL_O_USER | CTL_O_PASSWORD)

static const char ls_usage[] =
    "MACHINE SNAPSHOT [PATH] [--long] [--recursive] [--json]\n"
    "       [--admin | --user USER] [--password-file FILE]\n"
    "\n"
    "List directory PATH (default: the root) of snapshot SNAPSHOT (an id,\n"
    "latest, latest~N, a date or time, or a tag; beemoctl(8), SNAPSHOT\n"
    "NAMES) of MACHINE, names sorted, without mounting it; a PATH\n"
    "that is not a directory lists itself.  PATH is taken inside the\n"
    "snapshot: \"/\", \"./\", \".\" and \"..\" are resolved there, \"..\"\n"
    "above the root is refused.\n"
    "\n"
    "  --long                mode, links, owner and group (numeric ids),\n"
    "                        size, modification time (local) and name,\n"
    "                        with a symbolic link's target\n"
    "  --recursive           also every directory below, as paths\n"
    "                        relative to PATH\n"
    "  --json                one JSON object \"beemo-ls\" (beemoctl(8))\n"
    PRINCIPAL_HELP;

static const char find_usage[] =
    "MACHINE PATTERN [--snapshots LIST] [--newer TIME]\n"
    "       [--older TIME] [--json] [--admin | --user USER]\n"
    "       [--password-file FILE]\n"
    "\n"
    "Find the paths matching PATTERN (a shell glob, fnmatch(3)) in the\n"
    "snapshots of MACHINE, and list each with the snapshots it is in.  A\n"
    "PATTERN with a slash is matched against the whole path (\"*\" also\n"
    "matches \"/\"; a pattern not starting with \"/\" may match the path\n"
    "without it), one without a slash against the base name.\n"
    "\n"
    "  --snapshots LIST      the snapshots searched: names (ids, latest,\n"
    "                        latest~N, dates, tags) separated by commas,\n"
    "                        or \"all\" (default)\n"
    "  --newer TIME          only what was modified after TIME\n"
    "  --older TIME          only what was modified before TIME\n"
    "                        (TIME: 2026-11-28, 2026-11-28T10:00:00Z, or an\n"
    "                        age: 3h, 2d)\n"
    "  --json                one JSON object \"beemo-find\" (beemoctl(8))\n"
    PRINCIPAL_HELP;

static const char dump_usage[] =
    "MACHINE SNAPSHOT PATH [--admin | --user USER]\n"
    "       [--password-file FILE]\n"
    "\n"
    "Write the content of regular file PATH of snapshot SNAPSHOT (an id,\n"
    "latest, latest~N, a date or time, or a tag; beemoctl(8), SNAPSHOT\n"
    "NAMES) of MACHINE to standard output, byte for byte.  A directory,\n"
    "another type of file or a missing path is an error.  PATH is\n"
    "resolved as for ls.  The dump is journaled like a restore.\n"
    "\n"
    PRINCIPAL_HELP;

#define IO_SIZE (1U << 20)
#define DEPTH_MAX 2048

/* A walk below a directory of a snapshot, calling @fn for each node. */
struct walk {
	const struct ctl *ctl;
	store *st;
	int recursive;
	int errors;
	void *ctx;
	void (*fn)(struct walk *w, const char *path, const char *name,
	    const struct store_attr *a);
};

static int
dirent_cmp(const void *x, const void *y)
{
	return strcmp(((const struct ctl_dirent *)x)->name,
	    ((const struct ctl_dirent *)y)->name);
}

/* The children of directory @ino at tree path @path ("" for the root). */
static void
walk_dir(struct walk *w, uint64_t ino, const char *path, int depth)
{
	struct ctl_dirent *e = NULL;
	size_t i, n = 0;
	int rc;

	if (depth > DEPTH_MAX) {
		ctl_err(w->ctl, "%s: too deep", path);
		w->errors++;
		return;
	}
	if ((rc = ctl_readdir(w->st, ino, &e, &n)) != 0) {
		ctl_err(w->ctl, "%s/: cannot list: %s", path,
		    beemo_strerror(rc));
		w->errors++;
		return;
	}
	if (n > 1) /* an empty directory lists NULL */
		qsort(e, n, sizeof(*e), dirent_cmp);
	for (i = 0; i < n; i++) {
		char *child;

		if (asprintf(&child, "%s/%s", path, e[i].name) < 0) {
			w->errors++;
			break;
		}
		w->fn(w, child, e[i].name, &e[i].a);
		if (w->recursive && S_ISDIR(e[i].a.mode))
			walk_dir(w, e[i].a.ino, child, depth + 1);
		free(child);
	}
	ctl_dirents_free(e, n);
}

/* The normal form of the PATH argument @arg into @norm, or a message. */
static int
norm_arg(const struct ctl *ctl, const char *arg, char *norm, size_t size)
{
	int rc = ctl_tree_norm(arg, norm, size);

	if (rc == -EINVAL) {
		ctl_err(ctl, "%s: goes above the root of the snapshot", arg);
		return CTL_USAGE;
	}
	if (rc != 0) {
		ctl_err(ctl, "%s: %s", arg, beemo_strerror(rc));
		return CTL_USAGE;
	}
	return 0;
}

/* Open the session of @o->args[0] and find @norm in snapshot
 * @o->args[1]: its id in @si, its attributes in @a.  On failure the
 * session is closed and the exit status returned. */
static int
open_path(const struct ctl *ctl, struct ctl_opts *o, const char *norm,
    struct ctl_session *s, struct store_snapinfo *si, struct store_attr *a)
{
	int rc;

	if ((rc = ctl_session_open(ctl, o->args[0], o, 0, s)) != 0)
		return rc;
	if ((rc = ctl_snap_resolve(ctl, s->st, o->args[1], si)) != 0)
		goto fail;
	if ((rc = ctl_tree_resolve(s->st, si->id, norm, a)) != 0) {
		ctl_err(ctl, "%s in snapshot %u: %s", norm, si->id,
		    beemo_strerror(rc));
		rc = CTL_FAIL;
		goto fail;
	}
	return 0;
fail:
	ctl_session_close(ctl, s);
	return rc;
}

/* JSON times are RFC 3339 in UTC, whatever the display's zone:
 * "2026-11-28T10:20:30Z" of @t into @buf. */
static const char *
json_mtime(char *buf, size_t size, const struct timespec *t)
{
	time_t s = t->tv_sec;
	struct tm tm;

	if (gmtime_r(&s, &tm) == NULL ||
	    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, size, "?");
	return buf;
}

/* ---- ls -------------------------------------------------------------- */

struct ls {
	bm_json j;
	int json, long_list;
	size_t skip; /* of a path, what is printed relative to PATH */
};

static void
ls_one(struct walk *w, const char *path, const char *name,
    const struct store_attr *a)
{
	struct ls *l = w->ctx;
	char target[4097] = "", mode[11], when[40];
	int rc;

	if (S_ISLNK(a->mode) && (rc = store_readlink(w->st, a->ino, target,
	    sizeof(target))) != 0) {
		ctl_err(w->ctl, "%s: cannot read link: %s", path,
		    beemo_strerror(rc));
		w->errors++;
	}
	if (l->json) {
		bm_json_begin_obj(&l->j, NULL);
		bm_json_str(&l->j, "path", path);
		bm_json_str(&l->j, "name", name);
		bm_json_str(&l->j, "type", ctl_tree_type(a->mode));
		bm_json_u64(&l->j, "mode", a->mode & 07777);
		bm_json_u64(&l->j, "nlink", a->nlink);
		bm_json_u64(&l->j, "uid", a->uid);
		bm_json_u64(&l->j, "gid", a->gid);
		bm_json_u64(&l->j, "size", a->size);
		bm_json_str(&l->j, "mtime", json_mtime(when, sizeof(when),
		    &a->mtime));
		if (S_ISLNK(a->mode))
			bm_json_str(&l->j, "target", target);
		bm_json_end_obj(&l->j);
		return;
	}
	if (l->long_list)
		printf("%s %3u %5u %5u %12llu %s ", ctl_tree_mode(mode,
		    a->mode), a->nlink, a->uid, a->gid,
		    (unsigned long long)a->size, ctl_tree_time(when,
		    sizeof(when), &a->mtime, 0));
	bm_esc_put(stdout, strlen(path) > l->skip ? path + l->skip : name);
	if (l->long_list && S_ISLNK(a->mode)) {
		fputs(" -> ", stdout);
		bm_esc_put(stdout, target);
	}
	putchar('\n');
}

int
cmd_ls(struct ctl *ctl, int argc, char **argv)
{
	struct ctl_opts o;
	struct ctl_session s;
	struct store_snapinfo si;
	struct store_attr a;
	struct walk w;
	struct ls l;
	char norm[4096];
	int rc;

	if ((rc = ctl_parse(ctl, argc, argv, CTL_O_LIST | CTL_O_JSON |
	    PRINCIPAL, 2, 3, ls_usage, &o)) >= 0)
		return rc;
	if ((rc = norm_arg(ctl, o.nargs > 2 ? o.args[2] : "/", norm,
	    sizeof(norm))) != 0)
		return rc;
	if ((rc = open_path(ctl, &o, norm, &s, &si, &a)) != 0)
		return rc;
	memset(&l, 0, sizeof(l));
	l.json = o.json;
	l.long_list = o.long_list;
	memset(&w, 0, sizeof(w));
	w.ctl = ctl;
	w.st = s.st;
	w.recursive = o.recursive;
	w.ctx = &l;
	w.fn = ls_one;
	if (l.json) {
		bm_json_init(&l.j, stdout);
		bm_json_head(&l.j, "beemo-ls", 1);
		bm_json_str(&l.j, "machine", o.args[0]);
		bm_json_u64(&l.j, "snapshot", si.id);
		bm_json_str(&l.j, "path", norm);
		bm_json_begin_arr(&l.j, "entries");
	}
	if (S_ISDIR(a.mode)) {
		/* Children are "/a/b/c" below "/a/b": shown as "c". */
		const char *prefix = strcmp(norm, "/") == 0 ? "" : norm;

		l.skip = strlen(prefix) + 1;
		walk_dir(&w, a.ino, prefix, 0);
	} else {
		l.skip = strlen(norm);
		ls_one(&w, norm, strrchr(norm, '/') + 1, &a);
	}
	if (l.json) {
		bm_json_end_arr(&l.j);
		bm_json_end_obj(&l.j);
	}
	rc = w.errors ? CTL_FAIL : CTL_OK;
	if (fflush(stdout) != 0) {
		ctl_err(ctl, "cannot write the listing: %s", strerror(errno));
		rc = CTL_FAIL;
	}
	if (ctl_session_close(ctl, &s) != 0)
		rc = CTL_FAIL;
	return rc;
}

/* ---- find ------------------------------------------------------------ */

struct hit {
	char *path;
	uint32_t snap;
	struct store_attr a;
};

struct find {
	const char *pattern;
	int whole; /* the pattern has a slash: match whole paths */
	uint64_t newer, older; /* ns, 0: none */
	uint32_t snap;         /* being walked */
	struct hit *hits;
	size_t nhits, cap;
};

static int
find_match(const struct find *f, const char *path, const char *name,
    const struct store_attr *a)
{
	uint64_t t = (uint64_t)a->mtime.tv_sec * 1000000000ULL +
	    (uint64_t)a->mtime.tv_nsec;

	if (f->newer && t <= f->newer)
		return 0;
	if (f->older && t >= f->older)
		return 0;
	if (!f->whole)
		return fnmatch(f->pattern, name, 0) == 0;
	return fnmatch(f->pattern, path, 0) == 0 ||
	    (f->pattern[0] != '/' && fnmatch(f->pattern, path + 1, 0) == 0);
}

static void
find_one(struct walk *w, const char *path, const char *name,
    const struct store_attr *a)
{
	struct find *f = w->ctx;

	if (!find_match(f, path, name, a))
		return;
	if (f->nhits == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 64;
		struct hit *n = realloc(f->hits, cap * sizeof(*n));

		if (n == NULL)
			goto nomem;
		f->hits = n;
		f->cap = cap;
	}
	if ((f->hits[f->nhits].path = strdup(path)) == NULL)
		goto nomem;
	f->hits[f->nhits].snap = f->snap;
	f->hits[f->nhits++].a = *a;
	return;
nomem:
	ctl_err(w->ctl, "%s: out of memory", path);
	w->errors++;
}

static int
hit_cmp(const void *x, const void *y)
{
	const struct hit *a = x, *b = y;
	int c = strcmp(a->path, b->path);

	if (c != 0)
		return c;
	return a->snap < b->snap ? -1 : a->snap > b->snap;
}

/* The snapshots named by --snapshots @list ("all", or names separated by
 * commas) into *@ids (ascending, no duplicate).  Returns 0 or the exit
 * status after a message. */
static int
find_snapshots(const struct ctl *ctl, store *st, const char *list,
    uint32_t **ids, size_t *n)
{
	struct store_snapinfo *v = NULL, si;
	char *copy = NULL, *part, *save = NULL;
	size_t i, nv = 0;
	int rc;

	*ids = NULL;
	*n = 0;
	if ((rc = store_snapshots(st, &v, &nv)) != 0) {
		ctl_err(ctl, "cannot list snapshots: %s", beemo_strerror(rc));
		return CTL_FAIL;
	}
	if ((*ids = calloc(nv ? nv : 1, sizeof(**ids))) == NULL)
		goto nomem;
	if (list == NULL || strcmp(list, "all") == 0) {
		for (i = 0; i < nv; i++)
			(*ids)[(*n)++] = v[i].id;
		goto out;
	}
	if ((copy = strdup(list)) == NULL)
		goto nomem;
	for (part = strtok_r(copy, ",", &save); part != NULL;
	    part = strtok_r(NULL, ",", &save)) {
		if ((rc = ctl_snap_resolve(ctl, st, part, &si)) != 0)
			goto out;
		/* Marked chosen (seq is not used here), to be taken in
		 * the order of the list of snapshots, once each. */
		for (i = 0; i < nv && v[i].id != si.id; i++)
			;
		if (i < nv)
			v[i].seq = UINT64_MAX;
	}
	for (i = 0; i < nv; i++)
		if (v[i].seq == UINT64_MAX)
			(*ids)[(*n)++] = v[i].id;
	goto out;
nomem:
	ctl_err(ctl, "cannot list snapshots: %s", beemo_strerror(-ENOMEM));
	rc = CTL_FAIL;
out:
	free(copy);
	free(v);
	if (rc != 0) {
		free(*ids);
		*ids = NULL;
		*n = 0;
	}
	return rc;
}

static void
find_print(const struct find *f, const struct ctl_opts *o,
    const uint32_t *ids, size_t nids)
{
	char when[40];
	size_t i, k;
	bm_json j;

	if (!o->json) {
		for (i = 0; i < f->nhits; i = k) {
			for (k = i; k < f->nhits &&
			    strcmp(f->hits[k].path, f->hits[i].path) == 0; k++)
				printf("%s%u", k > i ? "," : "",
				    f->hits[k].snap);
			putchar('\t');
			bm_esc_put(stdout, f->hits[i].path);
			putchar('\n');
		}
		return;
	}
	bm_json_init(&j, stdout);
	bm_json_head(&j, "beemo-find", 1);
	bm_json_str(&j, "machine", o->args[0]);
	bm_json_str(&j, "pattern", f->pattern);
	bm_json_begin_arr(&j, "searched");
	for (i = 0; i < nids; i++)
		bm_json_u64(&j, NULL, ids[i]);
	bm_json_end_arr(&j);
	bm_json_begin_arr(&j, "matches");
	for (i = 0; i < f->nhits; i = k) {
		const struct store_attr *a;

		for (k = i; k < f->nhits &&
		    strcmp(f->hits[k].path, f->hits[i].path) == 0; k++)
			;
		a = &f->hits[k - 1].a; /* as in the newest snapshot */
		bm_json_begin_obj(&j, NULL);
		bm_json_str(&j, "path", f->hits[i].path);
		bm_json_str(&j, "type", ctl_tree_type(a->mode));
		bm_json_u64(&j, "size", a->size);
		bm_json_str(&j, "mtime", json_mtime(when, sizeof(when),
		    &a->mtime));
		bm_json_begin_arr(&j, "snapshots");
		for (; i < k; i++)
			bm_json_u64(&j, NULL, f->hits[i].snap);
		bm_json_end_arr(&j);
		bm_json_end_obj(&j);
	}
	bm_json_end_arr(&j);
	bm_json_end_obj(&j);
}

static int
parse_when(const struct ctl *ctl, const char *opt, const char *arg,
    uint64_t *out)
{
	if (arg == NULL)
		return 0;
	if (bm_parse_time(arg, out) != 0 || *out == 0) {
		ctl_err(ctl, "%s %s: not a time (2026-11-28, "
		    "2026-11-28T10:00:00Z, 3h, 2d)", opt, arg);
		return CTL_USAGE;
	}
	return 0;
}

int
cmd_find(struct ctl *ctl, int argc, char **argv)
{
	struct ctl_opts o;
	struct ctl_session s;
	struct store_attr root;
	struct find f;
	struct walk w;
	uint32_t *ids = NULL;
	size_t i, nids = 0;
	int rc;

	if ((rc = ctl_parse(ctl, argc, argv, CTL_O_FIND | CTL_O_JSON |
	    PRINCIPAL, 2, 2, find_usage, &o)) >= 0)
		return rc;
	memset(&f, 0, sizeof(f));
	f.pattern = o.args[1];
	f.whole = strchr(f.pattern, '/') != NULL;
	if ((rc = parse_when(ctl, "--newer", o.newer, &f.newer)) != 0 ||
	    (rc = parse_when(ctl, "--older", o.older, &f.older)) != 0)
		return rc;
	if ((rc = ctl_session_open(ctl, o.args[0], &o, 0, &s)) != 0)
		return rc;
	if ((rc = find_snapshots(ctl, s.st, o.snapshots, &ids, &nids)) != 0)
		goto out;
	memset(&w, 0, sizeof(w));
	w.ctl = ctl;
	w.st = s.st;
	w.recursive = 1;
	w.ctx = &f;
	w.fn = find_one;
	for (i = 0; i < nids; i++) {
		f.snap = ids[i];
		if ((rc = store_getattr(s.st, store_snapshot_ino(ids[i]),
		    &root)) != 0) {
			ctl_err(ctl, "snapshot %u: %s", ids[i],
			    beemo_strerror(rc));
			w.errors++;
			continue;
		}
		walk_dir(&w, root.ino, "", 0);
	}
	if (f.nhits > 1)
		qsort(f.hits, f.nhits, sizeof(*f.hits), hit_cmp);
	find_print(&f, &o, ids, nids);
	rc = w.errors ? CTL_FAIL : CTL_OK;
	if (fflush(stdout) != 0) {
		ctl_err(ctl, "cannot write the list: %s", strerror(errno));
		rc = CTL_FAIL;
	}
out:
	for (i = 0; i < f.nhits; i++)
		free(f.hits[i].path);
	free(f.hits);
	free(ids);
	if (ctl_session_close(ctl, &s) != 0)
		rc = CTL_FAIL;
	return rc;
}

/* ---- dump ------------------------------------------------------------ */

/* Copy the @size bytes of file @ino to descriptor 1. */
static int
dump_copy(store *st, uint64_t ino, uint64_t size, const char **what)
{
	store_file *f;
	uint8_t *buf;
	uint64_t off = 0;
	int rc;

	*what = "cannot open";
	if ((buf = malloc(IO_SIZE)) == NULL)
		return -ENOMEM;
	if ((rc = store_open_file(st, ino, O_RDONLY, &f)) != 0)
		goto free_buf;
	while (off < size) {
		size_t want = size - off < IO_SIZE ? (size_t)(size - off) :
		    IO_SIZE, done = 0;
		ssize_t n = store_read(f, buf, want, off);

		*what = "cannot read";
		if (n <= 0) {
			rc = n < 0 ? (int)n : -EIO;
			goto release;
		}
		*what = "cannot write to standard output";
		while (done < (size_t)n) {
			ssize_t m = write(1, buf + done, (size_t)n - done);

			if (m < 0 && errno == EINTR)
				continue;
			if (m < 0) {
				rc = -errno;
				goto release;
			}
			done += (size_t)m;
		}
		off += (uint64_t)n;
	}
	rc = 0;
release:
	store_release(f);
free_buf:
	OPENSSL_cleanse(buf, IO_SIZE);
	free(buf);
	return rc;
}

/* Record in the machine's journal who dumped which file. */
static void
dump_journal(const struct ctl *ctl, struct ctl_session *s, uint32_t id,
    const char *path, int failed)
{
	struct store_journal_entry e;
	char summary[4600], who[80], error[512] = "";
	const char *files[1] = {path};
	int rc;

	memset(&e, 0, sizeof(e));
	keymgr_secret_who(s->sec, who, sizeof(who));
	snprintf(summary, sizeof(summary), "dump of %s from snapshot %u to "
	    "standard output%s", path, id, failed ? " failed" : "");
	e.type = failed ? "error" : "restore";
	e.who = who;
	e.summary = summary;
	e.files = files;
	e.nfiles = failed ? 0 : 1;
	/* The store is closed first: appending may open it read-write. */
	store_close(s->st);
	s->st = NULL;
	if ((rc = control_journal_record(s->dir, s->sec, &e, error,
	    sizeof(error))) != 0)
		ctl_err(ctl, "the dump could not be journaled: %s",
		    *error ? error : beemo_strerror(rc));
}

int
cmd_dump(struct ctl *ctl, int argc, char **argv)
{
	struct ctl_opts o;
	struct ctl_session s;
	struct store_snapinfo si;
	struct store_attr a;
	const char *what;
	char norm[4096];
	int rc;

	if ((rc = ctl_parse(ctl, argc, argv, PRINCIPAL, 3, 3, dump_usage,
	    &o)) >= 0)
		return rc;
	if ((rc = norm_arg(ctl, o.args[2], norm, sizeof(norm))) != 0)
		return rc;
	if ((rc = open_path(ctl, &o, norm, &s, &si, &a)) != 0)
		return rc;
	if (!S_ISREG(a.mode)) {
		ctl_err(ctl, "%s in snapshot %u: %s", norm, si.id,
		    S_ISDIR(a.mode) ? "is a directory (see beemoctl ls)" :
		    "not a regular file");
		rc = CTL_FAIL;
		goto out;
	}
	if ((rc = dump_copy(s.st, a.ino, a.size, &what)) != 0) {
		ctl_err(ctl, "%s in snapshot %u: %s: %s", norm, si.id, what,
		    beemo_strerror(rc));
		rc = CTL_FAIL;
	}
	dump_journal(ctl, &s, si.id, norm, rc != 0);
out:
	if (ctl_session_close(ctl, &s) != 0)
		rc = CTL_FAIL;
	return rc;
}
