/*
 * cmd_restore.c -- `beemoctl restore MACHINE SNAPSHOT [PATH] --target DIR`.
 *
 * Walks the snapshot through the store's API (no mount needed) and
 * recreates it under DIR with its metadata: owner, group, mode, times
 * (nanoseconds), extended attributes and ACLs, symlinks, hard links,
 * fifos and devices; holes stay holes.  Directories get their times after
 * their contents.  Errors are reported per file and the walk goes on;
 * the exit status is 1 if any file could not be restored.  A damaged
 * chunk makes its file fail with "Input/output error": never wrong data.
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
#include "bm_file.h"
#include "bm_tmpdir.h"
#include "bm_units.h"
#include "ctl_snapname.h"
#include "ctl_store.h"

#define IO_SIZE (1U << 20)

static const char restore_usage[] =
    "MACHINE SNAPSHOT [PATH] --target DIR [--overwrite]\n"
    "       [--privileged] [--admin | --user USER] [--password-file FILE]\n"
    "\n"
    "Restore snapshot SNAPSHOT (an id, or \"latest\") of MACHINE, or only\n"
    "PATH inside it, into directory DIR with the original metadata.  A\n"
    "directory's contents go into DIR; a file goes into DIR/NAME.\n"
    "\n"
    "  --target DIR          where to restore (created if missing)\n"
    "  --overwrite           replace files that exist in DIR\n"
    "  --privileged          also restore set-id bits, device nodes and\n"
    "                        security.* and trusted.* attributes (file\n"
    "                        capabilities): only for a trusted machine\n"
    "  --admin               open with the administrator's password\n"
    "                        (default)\n"
    "  --user USER           open with USER's password\n"
    "  --password-file FILE  read the password from FILE (default\n"
    "                        $BEEMO_PASSWORD_FILE, or the terminal)\n"
    "  --help                this help\n";

/* Hard links: inode -> first restored path, for files with nlink > 1. */
struct link {
	uint64_t ino;
	char *path;
};

struct restore {
	const struct ctl *ctl;
	store *st;
	int overwrite;
	int privileged; /* --privileged (see the top) */
	int errors;
	uint64_t skipped; /* device nodes left out */
	uint64_t files, bytes;
	struct ctl_progress prog;
	uint64_t total;
	struct link *links;
	size_t nlinks, caplinks;
	uint8_t *buf;
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

	if (r->ndone >= JOURNAL_MAX ||
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

static const char *
link_find(struct restore *r, uint64_t ino)
{
	size_t i;

	for (i = 0; i < r->nlinks; i++)
		if (r->links[i].ino == ino)
			return r->links[i].path;
	return NULL;
}

static void
link_add(struct restore *r, uint64_t ino, const char *path)
{
	if (r->nlinks == r->caplinks) {
		size_t cap = r->caplinks ? r->caplinks * 2 : 64;
		struct link *n = realloc(r->links, cap * sizeof(*n));

		if (n == NULL)
			return;
		r->links = n;
		r->caplinks = cap;
	}
	if ((r->links[r->nlinks].path = strdup(path)) != NULL)
		r->links[r->nlinks++].ino = ino;
}

/* Make room for @path: refuse or remove what is there. */
static int
clear_path(struct restore *r, const char *path, int dir)
{
	struct stat sb;

	if (lstat(path, &sb) != 0)
		return 0;
	if (dir && S_ISDIR(sb.st_mode))
		return 0; /* merge into an existing directory */
	if (!r->overwrite) {
		ctl_progress_clear(&r->prog);
		ctl_err(r->ctl, "%s: exists (use --overwrite to replace it)",
		    path);
		r->errors++;
		return -1;
	}
	if (S_ISDIR(sb.st_mode)) {
		fail(r, path, "is a directory, not replaced", -EISDIR);
		return -1;
	}
	if (unlink(path) != 0) {
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

static void
restore_file(struct restore *r, const struct store_attr *a, const char *path)
{
	store_file *f;
	uint64_t off = 0;
	const char *first;
	int fd, rc;

	if (a->nlink > 1 && (first = link_find(r, a->ino)) != NULL) {
		if (clear_path(r, path, 0) == 0 && link(first, path) != 0)
			fail(r, path, "cannot link", -errno);
		return;
	}
	if (clear_path(r, path, 0) != 0)
		return;
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
	while (off < a->size) {
		/* Only the data: holes are skipped at once, whatever their
		 * size, and left to ftruncate() and the seeks to make. */
		int64_t data = store_lseek(f, off, SEEK_DATA), hole;

		if (data == -ENXIO)
			break;
		hole = data < 0 ? data : store_lseek(f, (uint64_t)data,
		    SEEK_HOLE);
		if (hole < 0) {
			fail(r, path, "cannot read", (int)hole);
			goto out;
		}
		r->bytes += (uint64_t)data - off;
		for (off = (uint64_t)data; off < (uint64_t)hole;) {
			size_t want = (uint64_t)hole - off < IO_SIZE ?
			    (size_t)((uint64_t)hole - off) : IO_SIZE;
			ssize_t n = store_read(f, r->buf, want, off);

			if (n <= 0) {
				fail(r, path, "cannot read",
				    n < 0 ? (int)n : -EIO);
				goto out;
			}
			/* Zeros inside data stay holes too. */
			if (!is_zero(r->buf, (size_t)n) &&
			    pwrite(fd, r->buf, (size_t)n, (off_t)off) != n) {
				fail(r, path, "cannot write", -errno);
				goto out;
			}
			off += (uint64_t)n;
			r->bytes += (uint64_t)n;
			ctl_progress(&r->prog, r->bytes, r->total, r->files);
		}
	}
	r->bytes += a->size - off;
	if (ftruncate(fd, (off_t)a->size) != 0) {
		fail(r, path, "cannot set size", -errno);
		goto out;
	}
	set_meta(r, a, path, fd);
	if (a->nlink > 1)
		link_add(r, a->ino, path);
	r->files++;
	note_done(r, path);
out:
	close(fd);
	store_release(f);
}

static void restore_node(struct restore *r, const struct store_attr *a,
    const char *path, int depth);

static void
restore_dir(struct restore *r, const struct store_attr *a, const char *path,
    int depth)
{
	struct ctl_dirent *e = NULL;
	size_t i, n = 0;
	int rc;

	if (depth > 2048) {
		fail(r, path, "too deep", -ELOOP);
		return;
	}
	if (clear_path(r, path, 1) != 0)
		return;
	if (mkdir(path, 0700) != 0 && errno != EEXIST) {
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
		restore_node(r, &e[i].a, child, depth + 1);
		free(child);
	}
	ctl_dirents_free(e, n);
	set_meta(r, a, path, -1);
}

static void
restore_node(struct restore *r, const struct store_attr *a, const char *path,
    int depth)
{
	char target[4097];
	int rc;

	switch (a->mode & S_IFMT) {
	case S_IFDIR:
		restore_dir(r, a, path, depth);
		return;
	case S_IFREG:
		restore_file(r, a, path);
		return;
	case S_IFLNK:
		if ((rc = store_readlink(r->st, a->ino, target,
		    sizeof(target))) != 0) {
			fail(r, path, "cannot read link", rc);
			return;
		}
		if (clear_path(r, path, 0) != 0)
			return;
		if (symlink(target, path) != 0) {
			fail(r, path, "cannot create link", -errno);
			return;
		}
		break;
	default:
		if ((S_ISCHR(a->mode) || S_ISBLK(a->mode)) && !r->privileged) {
			/* Said, not an error: the rest restores. */
			fprintf(stderr, "beemoctl: %s: device node skipped "
			    "(--privileged restores it)\n", path);
			r->skipped++;
			return;
		}
		if (clear_path(r, path, 0) != 0)
			return;
		if (mknod(path, a->mode & (S_IFMT | 0600), (dev_t)a->rdev)) {
			fail(r, path, "cannot create node", -errno);
			return;
		}
	}
	set_meta(r, a, path, -1);
	r->files++;
	note_done(r, path);
}

/* Find @path below the root of snapshot @id. */
static int
resolve(store *st, uint32_t id, const char *path, struct store_attr *a,
    char *base, size_t basesize)
{
	char *copy = strdup(path), *part, *save = NULL;
	int rc;

	if (copy == NULL)
		return -ENOMEM;
	rc = store_getattr(st, store_snapshot_ino(id), a);
	snprintf(base, basesize, ".");
	for (part = strtok_r(copy, "/", &save); rc == 0 && part != NULL;
	    part = strtok_r(NULL, "/", &save)) {
		if (!S_ISDIR(a->mode)) {
			rc = -ENOTDIR;
			break;
		}
		rc = store_lookup(st, a->ino, part, a);
		snprintf(base, basesize, "%s", part);
	}
	free(copy);
	return rc;
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

int
cmd_restore(struct ctl *ctl, int argc, char **argv)
{
	struct ctl_opts o;
	struct ctl_session s;
	struct restore r;
	struct store_attr a;
	char base[256], why[PATH_MAX + 64], tree[4096], *dest = NULL;
	uint32_t id;
	size_t i;
	int rc;

	if ((rc = ctl_parse(ctl, argc, argv, CTL_O_TARGET | CTL_O_OVERWRITE |
	    CTL_O_PRIVILEGED | CTL_O_ADMIN | CTL_O_USER | CTL_O_PASSWORD, 2, 3,
	    restore_usage, &o)) >= 0)
		return rc;
	if (o.target == NULL) {
		ctl_err(ctl, "--target DIR is required");
		return CTL_USAGE;
	}
	if (bm_mkdir_p(o.target, 0755) != 0) {
		ctl_err(ctl, "%s: cannot create", o.target);
		return CTL_FAIL;
	}
	/* Plaintext is written by name below the target: nobody else may
	 * be able to swap a directory on the way for a link. */
	if (bm_dir_trusted(o.target, why, sizeof(why)) != 0) {
		ctl_err(ctl, "%s: not a safe restore target: %s", o.target,
		    why);
		return CTL_FAIL;
	}
	if (ctl_session_open(ctl, o.args[0], &o, 0, &s) != 0)
		return CTL_FAIL;
	memset(&r, 0, sizeof(r));
	r.ctl = ctl;
	r.st = s.st;
	r.overwrite = o.overwrite;
	r.privileged = o.privileged;
	if ((rc = pick_snapshot(ctl, s.st, o.args[1], &id, &r.total)) != 0)
		goto out;
	rc = resolve(s.st, id, o.nargs > 2 ? o.args[2] : "/", &a, base,
	    sizeof(base));
	if (rc != 0) {
		ctl_err(ctl, "%s in snapshot %u: %s", o.nargs > 2 ? o.args[2] :
		    "/", id, beemo_strerror(rc));
		rc = CTL_FAIL;
		goto out;
	}
	if (o.nargs > 2 && strcmp(base, ".") != 0)
		r.total = a.size;
	if ((r.buf = malloc(IO_SIZE)) == NULL) {
		rc = CTL_FAIL;
		goto out;
	}
	r.skip = strlen(o.target);
	tree_path(r.prefix, sizeof(r.prefix), o.nargs > 2 ? o.args[2] : "/",
	    S_ISDIR(a.mode));
	ctl_progress_init(&r.prog, ctl, "restoring");
	if (S_ISDIR(a.mode))
		restore_dir(&r, &a, o.target, 0);
	else if (asprintf(&dest, "%s/%s", o.target, base) >= 0)
		restore_node(&r, &a, dest, 0);
	ctl_progress_end(&r.prog);
	if (!ctl->quiet) {
		char b[32];

		printf("restored %llu files, %s from snapshot %u of %s into "
		    "%s%s\n", (unsigned long long)r.files,
		    bm_human(b, sizeof(b), r.bytes), id, o.args[0], o.target,
		    r.errors ? " (with errors)" : "");
		if (r.skipped)
			printf("%llu device nodes skipped (--privileged "
			    "restores them)\n", (unsigned long long)r.skipped);
	}
	rc = r.errors ? CTL_FAIL : CTL_OK;
	if (r.errors)
		ctl_report_error(ctl, o.args[0], "restore", "The journal of "
		    "the machine lists what was restored (beemoctl journal "
		    "--type error --files).\n", "%s: restore of %s from "
		    "snapshot %u into %s failed: %d errors, %llu files "
		    "restored", o.args[0], o.nargs > 2 ? o.args[2] : "/", id,
		    o.target, r.errors, (unsigned long long)r.files);
	tree_path(tree, sizeof(tree), o.nargs > 2 ? o.args[2] : "/", 1);
	journal(ctl, &s, &r, id, *tree ? tree : "/", o.target);
out:
	free(dest);
	free(r.buf);
	for (i = 0; i < r.nlinks; i++)
		free(r.links[i].path);
	free(r.links);
	for (i = 0; i < r.ndone; i++)
		free(r.done[i]);
	free(r.done);
	if (ctl_session_close(ctl, &s) != 0)
		rc = CTL_FAIL;
	return rc;
}
