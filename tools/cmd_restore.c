/*
 * cmd_restore.c -- `beemoctl restore MACHINE SNAPSHOT [PATH] --target DIR`.
 *
 * Walks the snapshot through the store's API (no mount needed) and
 * recreates it under DIR with its metadata: owner, group, mode, times
 * (nanoseconds), extended attributes and ACLs, symlinks, hard links,
 * fifos and devices; holes stay holes.  Directories get their times after
 * their contents.  --include and --exclude choose entries by pattern
 * (restore_sel.h), --dry-run only lists, --overwrite says what becomes
 * of what exists already (by default it stays, and is said skipped);
 * --target - writes one regular file to standard output.  A target
 * directory that existed keeps its own metadata; one restore makes gets
 * that of the restored directory.  Errors are
 * reported per file and the walk goes on; the exit status is then
 * BM_EXIT_WARN (4), or 1 when nothing could be restored.  A damaged chunk makes
 * its file fail with "Input/output error": never wrong data.
 *
 * A backup holds what a client chose to write, and restore runs as root
 * on the appliance: unless --privileged, what would give that client
 * power here is not recreated -- set-user-ID and set-group-ID bits are
 * cleared, device nodes are skipped (each said), and extended
 * attributes of the security and trusted namespaces (file capabilities,
 * security labels) are left out.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "bm_err.h"
#include "bm_esc.h"
#include "bm_json.h"
#include "bm_file.h"
#include "bm_tmpdir.h"
#include "bm_units.h"
#include "ctl_snapname.h"
#include "ctl_store.h"
#include "ctl_tree.h"
#include "restore_sel.h"

#define IO_SIZE (1U << 20)

static const char restore_usage[] =
    "MACHINE SNAPSHOT [PATH] --target DIR|-\n"
    "       [--include PATTERN]... [--exclude PATTERN]... [--dry-run]\n"
    "       [--overwrite never|if-changed|always] [--privileged] [--json]\n"
    "       [--admin | --user USER] [--password-file FILE]\n"
    "\n"
    "Restore snapshot SNAPSHOT (an id, latest, latest~N, a date or time,\n"
    "or a tag; beemoctl(8), SNAPSHOT NAMES) of MACHINE, or only\n"
    "PATH inside it, into directory DIR with the original metadata.  A\n"
    "directory's contents go into DIR; a file goes into DIR/NAME.  PATH\n"
    "may hold \".\" and \"..\" (not above the snapshot's root).\n"
    "\n"
    "  --target DIR          where to restore (created if missing)\n"
    "  --target -            write PATH, a regular file, to standard\n"
    "                        output (its data only)\n"
    "  --include PATTERN     restore only what PATTERN takes (and what\n"
    "                        is below it); repeatable\n"
    "  --exclude PATTERN     leave out what PATTERN takes (and what is\n"
    "                        below it); repeatable.  A PATTERN with a\n"
    "                        '/' matches the path relative to the\n"
    "                        restored root, any other the name alone\n"
    "                        (fnmatch: *, ?, [...])\n"
    "  --dry-run             list what would be written, write nothing\n"
    "  --overwrite MODE      what exists in DIR: never replaced (never,\n"
    "                        the default; said skipped), replaced when\n"
    "                        its type, size or time differ (if-changed),\n"
    "                        or always replaced (always; a bare\n"
    "                        --overwrite means always)\n"
    "  --privileged          also restore set-id bits, device nodes and\n"
    "                        security.* and trusted.* attributes (file\n"
    "                        capabilities): only for a trusted machine\n"
    "  --json                print the summary as one JSON object\n"
    "                        (\"format\": \"beemo-restore\")\n"
    "  --admin               open with the administrator's password\n"
    "                        (default)\n"
    "  --user USER           open with USER's password\n"
    "  --password-file FILE  read the password from FILE (default\n"
    "                        $BEEMO_PASSWORD_FILE, or the terminal)\n"
    "  --help                this help\n"
    "\n"
    "Exit status: 0 restored, 1 failed, 2 usage, 4 finished with\n"
    "warnings (some files could not be restored, the others were).\n";

struct restore {
	const struct ctl *ctl;
	store *st;
	const struct rs_opts *sel;
	int privileged; /* --privileged (see the top) */
	int keep_target; /* the target existed: it keeps its metadata */
	int dry_run;
	int errors;
	uint64_t skipped;  /* existing entries left as they are */
	uint64_t devices;  /* device nodes left out */
	uint64_t files, bytes;
	struct ctl_progress prog;
	uint64_t total;
	struct rs_links links;
	uint8_t *buf;
	bm_json *json;     /* --dry-run --json: the entries' array */
	size_t relskip;    /* strlen(target) + 1: a path's relative part */
	/* For the journal: restored paths (the first JOURNAL_MAX). */
	char **done;
	size_t ndone;
	size_t skip; /* strlen(target): paths are journaled without it */
	/* ... and under this: the restored directory's path in the
	 * snapshot ("" for the root), so that the journal names each file
	 * by its path in the machine's tree (which beemoctl erase can then
	 * find and erase). */
	char prefix[4096];
};

#define JOURNAL_MAX 10000

static void
note_done(struct restore *r, const char *path)
{
	char **n;

	r->files++;
	if (r->dry_run || r->ndone >= JOURNAL_MAX ||
	    (n = realloc(r->done, (r->ndone + 1) * sizeof(*n))) == NULL)
		return;
	r->done = n;
	if (asprintf(&n[r->ndone], "%s%s", r->prefix, path + r->skip) >= 0)
		r->ndone++;
}

static void
fail(struct restore *r, const char *path, const char *what, int err)
{
	ctl_progress_clear(&r->prog);
	ctl_err(r->ctl, "%s: %s: %s", path, what, beemo_strerror(err));
	r->errors++;
}

/* --dry-run: say what would be done at @path. */
static void
say(struct restore *r, const char *action, const char *path)
{
	if (r->json != NULL) {
		bm_json_begin_obj(r->json, NULL);
		bm_json_str(r->json, "action", action);
		bm_json_str(r->json, "path", path);
		bm_json_end_obj(r->json);
	} else if (!r->ctl->quiet) {
		/* A client's name: escaped (bm_esc.h), one line each. */
		printf("%s ", action);
		bm_esc_put(stdout, path);
		putchar('\n');
	}
}

/* An entry left as it is: said, counted, not an error. */
static void
skip(struct restore *r, const char *path, const char *why)
{
	r->skipped++;
	if (r->dry_run) {
		say(r, "skip", path);
		return;
	}
	ctl_progress_clear(&r->prog);
	fputs("beemoctl: ", stderr);
	bm_esc_put(stderr, path);
	fprintf(stderr, ": %s, skipped\n", why);
}

/* Is what lies at @path (@sb) the same as @a, as far as --overwrite
 * if-changed looks: type, and size and modification time of a file,
 * target of a link, number of a device. */
static int
unchanged(struct restore *r, const struct store_attr *a, const char *path,
    const struct stat *sb)
{
	char mine[4097], theirs[4097];
	ssize_t n;

	if ((sb->st_mode & S_IFMT) != (a->mode & S_IFMT))
		return 0;
	switch (a->mode & S_IFMT) {
	case S_IFREG:
		return (uint64_t)sb->st_size == a->size &&
		    sb->st_mtim.tv_sec == a->mtime.tv_sec &&
		    sb->st_mtim.tv_nsec == a->mtime.tv_nsec;
	case S_IFLNK:
		n = readlink(path, mine, sizeof(mine) - 1);
		if (n < 0 || store_readlink(r->st, a->ino, theirs,
		    sizeof(theirs)) != 0)
			return 0;
		mine[n] = '\0';
		return strcmp(mine, theirs) == 0;
	case S_IFCHR:
	case S_IFBLK:
		return sb->st_rdev == (dev_t)a->rdev;
	default:
		return 1;
	}
}

/* Make room at @path for @a: 0 to go on, 1 when what is there stays
 * (skipped, said), -1 on an error (said). */
static int
clear_path(struct restore *r, const struct store_attr *a, const char *path)
{
	enum rs_overwrite ow = r->sel->overwrite;
	struct stat sb;

	if (lstat(path, &sb) != 0)
		return 0;
	if (S_ISDIR(a->mode) && S_ISDIR(sb.st_mode))
		return 0; /* merge into an existing directory */
	if (ow == RS_NEVER) {
		skip(r, path, "exists (--overwrite always replaces it)");
		return 1;
	}
	if (ow == RS_IF_CHANGED && unchanged(r, a, path, &sb)) {
		skip(r, path, "exists unchanged");
		return 1;
	}
	if (S_ISDIR(sb.st_mode)) {
		fail(r, path, "is a directory, not replaced", -EISDIR);
		return -1;
	}
	if (!r->dry_run && unlink(path) != 0) {
		fail(r, path, "cannot remove", -errno);
		return -1;
	}
	return 0;
}

static void
copy_xattrs(struct restore *r, uint64_t ino, const char *path, int fd,
    int is_link)
{
	char names[65536], *n;
	ssize_t len = store_listxattr(r->st, ino, names, sizeof(names));

	if (len <= 0)
		return;
	for (n = names; n < names + len; n += strlen(n) + 1) {
		static char val[65536];
		ssize_t vl = store_getxattr(r->st, ino, n, val, sizeof(val));
		int rc;

		if (!r->privileged && (strncmp(n, "security.", 9) == 0 ||
		    strncmp(n, "trusted.", 8) == 0))
			continue;
		if (vl < 0) {
			fail(r, path, "cannot read extended attributes",
			    (int)vl);
			continue;
		}
		if (fd >= 0)
			rc = fsetxattr(fd, n, val, (size_t)vl, 0);
		else if (is_link)
			rc = lsetxattr(path, n, val, (size_t)vl, 0);
		else
			rc = setxattr(path, n, val, (size_t)vl, 0);
		if (rc != 0 && !(is_link && errno == EPERM))
			fail(r, path, n, -errno);
	}
}

/* Owner, mode, extended attributes, times, in that order (chown clears
 * set-id bits, a later chmod sets them; times last). */
static void
set_meta(struct restore *r, const struct store_attr *a, const char *path,
    int fd)
{
	struct timespec ts[2] = {a->atime, a->mtime};
	int is_link = S_ISLNK(a->mode);
	mode_t mode = a->mode & (r->privileged ? 07777 : 01777);

	if (fd >= 0 ? fchown(fd, a->uid, a->gid) :
	    lchown(path, a->uid, a->gid))
		fail(r, path, "cannot set owner", -errno);
	if (!is_link && (fd >= 0 ? fchmod(fd, mode) : chmod(path, mode)))
		fail(r, path, "cannot set mode", -errno);
	copy_xattrs(r, a->ino, path, fd, is_link);
	if (fd >= 0 ? futimens(fd, ts) :
	    utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW))
		fail(r, path, "cannot set times", -errno);
}

static int
is_zero(const uint8_t *p, size_t n)
{
	return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

/* Copy the data of @f (@size bytes) into @fd: only the data, holes are
 * skipped at once, whatever their size, and left to ftruncate() and the
 * seeks to make; zeros inside data stay holes too.  0 or -1 (said). */
static int
copy_sparse(struct restore *r, store_file *f, uint64_t size, int fd,
    const char *path)
{
	uint64_t off = 0;

	while (off < size) {
		int64_t data = store_lseek(f, off, SEEK_DATA), hole;

		if (data == -ENXIO)
			break;
		hole = data < 0 ? data : store_lseek(f, (uint64_t)data,
		    SEEK_HOLE);
		if (hole < 0) {
			fail(r, path, "cannot read", (int)hole);
			return -1;
		}
		r->bytes += (uint64_t)data - off;
		for (off = (uint64_t)data; off < (uint64_t)hole;) {
			size_t want = (uint64_t)hole - off < IO_SIZE ?
			    (size_t)((uint64_t)hole - off) : IO_SIZE;
			ssize_t n = store_read(f, r->buf, want, off);

			if (n <= 0) {
				fail(r, path, "cannot read",
				    n < 0 ? (int)n : -EIO);
				return -1;
			}
			if (!is_zero(r->buf, (size_t)n) &&
			    pwrite(fd, r->buf, (size_t)n, (off_t)off) != n) {
				fail(r, path, "cannot write", -errno);
				return -1;
			}
			off += (uint64_t)n;
			r->bytes += (uint64_t)n;
			ctl_progress(&r->prog, r->bytes, r->total, r->files);
		}
	}
	r->bytes += size - off;
	if (ftruncate(fd, (off_t)size) != 0) {
		fail(r, path, "cannot set size", -errno);
		return -1;
	}
	return 0;
}

static void
remember_link(struct restore *r, const struct store_attr *a,
    const char *path)
{
	if (a->nlink > 1 && rs_links_add(&r->links, a->ino, path) != 0)
		fail(r, path, "cannot remember its hard links", -ENOMEM);
}

static void
restore_file(struct restore *r, const struct store_attr *a, const char *path)
{
	store_file *f;
	const char *first;
	int fd, rc;

	if (a->nlink > 1 && (first = rs_links_find(&r->links, a->ino))) {
		if (clear_path(r, a, path) != 0)
			return;
		if (r->dry_run)
			say(r, "link", path);
		else if (link(first, path) != 0) {
			fail(r, path, "cannot link", -errno);
			return;
		}
		note_done(r, path);
		return;
	}
	if (clear_path(r, a, path) != 0)
		return;
	if (r->dry_run) {
		say(r, "restore", path);
		r->bytes += a->size;
		remember_link(r, a, path);
		note_done(r, path);
		return;
	}
	if ((rc = store_open_file(r->st, a->ino, O_RDONLY, &f)) != 0) {
		fail(r, path, "cannot open in the snapshot", rc);
		return;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		fail(r, path, "cannot create", -errno);
		store_release(f);
		return;
	}
	if (copy_sparse(r, f, a->size, fd, path) == 0) {
		set_meta(r, a, path, fd);
		remember_link(r, a, path);
		note_done(r, path);
	}
	close(fd);
	store_release(f);
}

static void restore_node(struct restore *r, const struct store_attr *a,
    const char *path, int depth, int in);

/* @in: the directory, or one above it, is taken by an --include (or
 * there is none).  Otherwise the directory is made only for what it
 * holds that is taken, and removed again when that is nothing. */
static void
restore_dir(struct restore *r, const struct store_attr *a, const char *path,
    int depth, int in)
{
	struct ctl_dirent *e = NULL;
	size_t i, n = 0;
	int rc, made = 0;

	if (depth > 2048) {
		fail(r, path, "too deep", -ELOOP);
		return;
	}
	if (clear_path(r, a, path) != 0)
		return;
	if (r->dry_run) {
		if (in && depth > 0)
			say(r, "restore", path);
	} else if (mkdir(path, 0700) == 0) {
		made = 1;
	} else if (errno != EEXIST) {
		fail(r, path, "cannot create directory", -errno);
		return;
	}
	if ((rc = ctl_readdir(r->st, a->ino, &e, &n)) != 0)
		fail(r, path, "cannot list", rc);
	for (i = 0; i < n; i++) {
		char *child;

		if (asprintf(&child, "%s/%s", path, e[i].name) < 0) {
			fail(r, path, "out of memory", -ENOMEM);
			break;
		}
		restore_node(r, &e[i].a, child, depth + 1, in);
		free(child);
	}
	ctl_dirents_free(e, n);
	if (r->dry_run)
		return;
	/* Not taken itself: an existing directory keeps its metadata, a
	 * new one that stayed empty goes. */
	if (!in && depth > 0 && (!made || rmdir(path) == 0))
		return;
	/* A target that was there is the operator's: the client's owner,
	 * mode and ACLs do not make it the client's. */
	if (depth == 0 && r->keep_target)
		return;
	set_meta(r, a, path, -1);
}

static void
restore_special(struct restore *r, const struct store_attr *a,
    const char *path)
{
	char target[4097];
	int rc;

	if ((S_ISCHR(a->mode) || S_ISBLK(a->mode)) && !r->privileged) {
		/* Said, not an error: the rest restores. */
		ctl_progress_clear(&r->prog);
		fputs("beemoctl: ", stderr);
		bm_esc_put(stderr, path);
		fputs(": device node skipped (--privileged restores it)\n",
		    stderr);
		r->devices++;
		return;
	}
	if (clear_path(r, a, path) != 0)
		return;
	if (r->dry_run) {
		say(r, "restore", path);
		note_done(r, path);
		return;
	}
	if (S_ISLNK(a->mode)) {
		if ((rc = store_readlink(r->st, a->ino, target,
		    sizeof(target))) != 0) {
			fail(r, path, "cannot read link", rc);
			return;
		}
		if (symlink(target, path) != 0) {
			fail(r, path, "cannot create link", -errno);
			return;
		}
	} else if (mknod(path, a->mode & (S_IFMT | 0600), (dev_t)a->rdev)) {
		fail(r, path, "cannot create node", -errno);
		return;
	}
	set_meta(r, a, path, -1);
	note_done(r, path);
}

static void
restore_node(struct restore *r, const struct store_attr *a, const char *path,
    int depth, int in)
{
	const char *rel = strlen(path) > r->relskip ? path + r->relskip : "";

	if (*rel != '\0') {
		if (rs_match_any(r->sel->exclude, r->sel->nexclude, rel))
			return;
		in = in || rs_match_any(r->sel->include, r->sel->ninclude,
		    rel);
	}
	if (S_ISDIR(a->mode))
		restore_dir(r, a, path, depth, in);
	else if (!in)
		return;
	else if (S_ISREG(a->mode))
		restore_file(r, a, path);
	else
		restore_special(r, a, path);
}

static int
pick_snapshot(const struct ctl *ctl, store *st, const char *arg,
    uint32_t *id, uint64_t *bytes)
{
	struct store_snapinfo si;
	int rc = ctl_snap_resolve(ctl, st, arg, &si);

	if (rc != 0)
		return rc;
	*id = si.id;
	*bytes = si.bytes;
	return 0;
}

/* The path @arg of the machine's tree as the journal writes paths,
 * "/a/b" ("" for the root); with @dir 0 (a file) the path of its
 * directory. */
static void
tree_path(char *buf, size_t size, const char *arg, int dir)
{
	size_t len;
	char *slash;

	while (*arg == '/')
		arg++;
	snprintf(buf, size, "%s%s", *arg ? "/" : "", arg);
	len = strlen(buf);
	while (len > 0 && buf[len - 1] == '/')
		buf[--len] = '\0';
	if (!dir && (slash = strrchr(buf, '/')) != NULL)
		*slash = '\0';
}

/* The machine's journal records who restored what (store.h). */
static void
journal(const struct ctl *ctl, struct ctl_session *s, struct restore *r,
    uint32_t id, const char *path, const char *target)
{
	struct store_journal_entry e;
	char summary[4600], who[80], error[512] = "";
	int rc;

	memset(&e, 0, sizeof(e));
	keymgr_secret_who(s->sec, who, sizeof(who));
	snprintf(summary, sizeof(summary), "restore of %s from snapshot %u "
	    "into %s: %llu files, %llu bytes%s", path, id, target,
	    (unsigned long long)r->files, (unsigned long long)r->bytes,
	    r->errors ? ", with errors" : "");
	e.type = r->errors ? "error" : "restore";
	e.who = who;
	e.summary = summary;
	e.files = (const char *const *)r->done;
	e.nfiles = r->ndone;
	/* The store is closed first: appending may open it read-write. */
	store_close(s->st);
	s->st = NULL;
	if ((rc = control_journal_record(s->dir, s->sec, &e, error,
	    sizeof(error))) != 0)
		ctl_err(ctl, "the restore could not be journaled: %s",
		    *error ? error : beemo_strerror(rc));
}

static int
write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* --target -: the data of the regular file @a to standard output. */
static void
restore_stdout(struct restore *r, const struct store_attr *a,
    const char *path)
{
	store_file *f;
	uint64_t off = 0;
	int rc;

	if (r->dry_run) {
		r->bytes = a->size;
		r->files = 1;
		return;
	}
	if ((rc = store_open_file(r->st, a->ino, O_RDONLY, &f)) != 0) {
		fail(r, path, "cannot open in the snapshot", rc);
		return;
	}
	while (off < a->size) {
		size_t want = a->size - off < IO_SIZE ?
		    (size_t)(a->size - off) : IO_SIZE;
		ssize_t n = store_read(f, r->buf, want, off);

		if (n <= 0) {
			fail(r, path, "cannot read", n < 0 ? (int)n : -EIO);
			goto out;
		}
		if (write_all(STDOUT_FILENO, r->buf, (size_t)n) != 0) {
			fail(r, "standard output", "cannot write", -errno);
			goto out;
		}
		off += (uint64_t)n;
		r->bytes = off;
		ctl_progress(&r->prog, r->bytes, r->total, 0);
	}
	r->files = 1;
out:
	store_release(f);
}

/* The summary: one line for people, or the JSON object (whose "entries"
 * --dry-run has already begun in @j). */
static void
summary(struct restore *r, bm_json *j, const char *machine, uint32_t id,
    const char *target)
{
	char b[32];

	if (j != NULL) {
		if (r->dry_run)
			bm_json_end_arr(j);
		bm_json_u64(j, "snapshot", id);
		bm_json_u64(j, "files", r->files);
		bm_json_u64(j, "bytes", r->bytes);
		bm_json_u64(j, "skipped", r->skipped);
		bm_json_u64(j, "devices_skipped", r->devices);
		bm_json_u64(j, "failed", (uint64_t)r->errors);
		bm_json_end_obj(j);
		fputc('\n', stdout);
		return;
	}
	if (r->ctl->quiet || strcmp(target, "-") == 0)
		return;
	printf("%s %llu files, %s from snapshot %u of %s into %s%s\n",
	    r->dry_run ? "would restore" : "restored",
	    (unsigned long long)r->files, bm_human(b, sizeof(b), r->bytes),
	    id, machine, target, r->errors ? " (with errors)" : "");
	if (r->skipped)
		printf("%llu skipped: they exist (see --overwrite)\n",
		    (unsigned long long)r->skipped);
	if (r->devices)
		printf("%llu device nodes skipped (--privileged restores "
		    "them)\n", (unsigned long long)r->devices);
}

int
cmd_restore(struct ctl *ctl, int argc, char **argv)
{
	struct ctl_opts o;
	struct ctl_session s;
	struct restore r;
	struct rs_opts sel;
	struct store_attr a;
	struct stat tsb;
	bm_json json;
	char base[256], why[PATH_MAX + 64], tree[4096], err[256];
	char norm[4096], *dest = NULL;
	const char *path = ""; /* norm without its leading '/' */
	uint32_t id;
	size_t i;
	int rc, to_stdout;

	memset(&r, 0, sizeof(r));
	memset(&s, 0, sizeof(s));
	if (rs_opts_take(argc, argv, &sel, err, sizeof(err)) != 0) {
		ctl_err(ctl, "%s", err);
		ctl_usage(ctl, restore_usage, 1);
		rc = CTL_USAGE;
		goto free_sel;
	}
	if ((rc = ctl_parse(ctl, sel.argc, sel.argv, CTL_O_TARGET |
	    CTL_O_PRIVILEGED | CTL_O_ADMIN | CTL_O_USER | CTL_O_PASSWORD |
	    CTL_O_JSON | CTL_O_DRY_RUN, 2, 3, restore_usage, &o)) >= 0)
		goto free_sel;
	rc = CTL_USAGE;
	if (o.target == NULL) {
		ctl_err(ctl, "--target DIR is required");
		goto free_sel;
	}
	if (ctl_tree_norm(o.nargs > 2 ? o.args[2] : "", norm,
	    sizeof(norm)) != 0) {
		ctl_err(ctl, "%s: not a path inside the snapshot (\"..\" "
		    "above its root)", o.args[2]);
		goto free_sel;
	}
	path = norm + 1;
	to_stdout = strcmp(o.target, "-") == 0;
	if (to_stdout && (o.json || sel.ninclude || sel.nexclude)) {
		ctl_err(ctl, "--target - writes one file's data: no --json, "
		    "--include or --exclude");
		goto free_sel;
	}
	rc = CTL_FAIL;
	r.keep_target = lstat(o.target, &tsb) == 0;
	if (!to_stdout && !o.dry_run && bm_mkdir_p(o.target, 0755) != 0) {
		ctl_err(ctl, "%s: cannot create", o.target);
		goto free_sel;
	}
	/* Plaintext is written by name below the target: nobody else may
	 * be able to swap a directory on the way for a link. */
	if (!to_stdout && !o.dry_run &&
	    bm_dir_trusted(o.target, why, sizeof(why)) != 0) {
		ctl_err(ctl, "%s: not a safe restore target: %s", o.target,
		    why);
		goto free_sel;
	}
	if ((rc = ctl_session_open(ctl, o.args[0], &o, 0, &s)) != 0)
		goto free_sel;
	r.ctl = ctl;
	r.st = s.st;
	r.sel = &sel;
	r.privileged = o.privileged;
	r.dry_run = o.dry_run;
	if ((rc = pick_snapshot(ctl, s.st, o.args[1], &id, &r.total)) != 0)
		goto out;
	rc = ctl_tree_resolve(s.st, id, norm, &a);
	/* What a single file is restored as: its name ("." the root). */
	snprintf(base, sizeof(base), "%s", *path ? strrchr(norm, '/') + 1 :
	    ".");
	if (rc == 0 && to_stdout && !S_ISREG(a.mode))
		rc = -EINVAL;
	if (rc != 0) {
		ctl_err(ctl, "/%s in snapshot %u: %s", path, id, rc == -EINVAL ?
		    "not a regular file (--target - writes one file)" :
		    beemo_strerror(rc));
		rc = CTL_FAIL;
		goto out;
	}
	if (*path != '\0')
		r.total = a.size;
	if ((r.buf = malloc(IO_SIZE)) == NULL) {
		rc = CTL_FAIL;
		goto out;
	}
	r.skip = strlen(o.target);
	r.relskip = r.skip + 1;
	tree_path(r.prefix, sizeof(r.prefix), path, S_ISDIR(a.mode));
	if (o.json) {
		bm_json_init(&json, stdout);
		bm_json_head(&json, "beemo-restore", 1);
		bm_json_str(&json, "machine", o.args[0]);
		tree_path(tree, sizeof(tree), path, 1);
		bm_json_str(&json, "path", *tree ? tree : "/");
		bm_json_str(&json, "target", o.target);
		bm_json_bool(&json, "dry_run", o.dry_run);
		if (o.dry_run) {
			bm_json_begin_arr(&json, "entries");
			r.json = &json;
		}
	}
	ctl_progress_init(&r.prog, ctl, "restoring");
	if (to_stdout)
		restore_stdout(&r, &a, path);
	else if (S_ISDIR(a.mode))
		restore_dir(&r, &a, o.target, 0, sel.ninclude == 0);
	else if (asprintf(&dest, "%s/%s", o.target, base) >= 0)
		restore_node(&r, &a, dest, 0, sel.ninclude == 0);
	ctl_progress_end(&r.prog);
	summary(&r, o.json ? &json : NULL, o.args[0], id, o.target);
	rc = !r.errors ? CTL_OK : r.files ? BM_EXIT_WARN : CTL_FAIL;
	if (o.dry_run)
		goto out;
	tree_path(tree, sizeof(tree), path, 1);
	if (r.errors)
		ctl_report_error(ctl, o.args[0], "restore", "The journal of "
		    "the machine lists what was restored (beemoctl journal "
		    "--type error --files).\n", "%s: restore of %s from "
		    "snapshot %u into %s failed: %d errors, %llu files "
		    "restored", o.args[0], *tree ? tree : "/", id,
		    to_stdout ? "standard output" : o.target, r.errors,
		    (unsigned long long)r.files);
	journal(ctl, &s, &r, id, *tree ? tree : "/",
	    to_stdout ? "standard output" : o.target);
out:
	free(dest);
	free(r.buf);
	rs_links_free(&r.links);
	for (i = 0; i < r.ndone; i++)
		free(r.done[i]);
	free(r.done);
	if (ctl_session_close(ctl, &s) != 0)
		rc = CTL_FAIL;
free_sel:
	rs_opts_free(&sel);
	return rc;
}
