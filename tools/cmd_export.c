/*
 * cmd_export.c -- `beemoctl export MACHINE SNAPSHOT [PATH] --format
 * tar|zip [--output FILE|-]`.
 *
 * Walks the snapshot through the store's API (no mount) and writes it as
 * one archive with libarchive.  Names in the archive are relative: a
 * directory's contents ("docs/a.txt"), or a file's own name.
 *
 * tar is POSIX pax: owner and group as numbers, mode, modification,
 * access and change times to the nanosecond, extended attributes
 * (SCHILY.xattr), POSIX ACLs (SCHILY.acl.access and .default, read from
 * the system.posix_acl_* attributes the store keeps), symlinks, hard
 * links (a later path of an inode is a link to its first), fifos, and
 * sparse files (holes listed, not stored).
 *
 * The files are a client's, and an archive is often extracted as root
 * (GNU tar then restores set-id bits and device nodes): as with
 * restore, unless --privileged, set-user-ID and set-group-ID bits are
 * cleared, device nodes are left out (each said) and extended
 * attributes of the security and trusted namespaces (file capabilities,
 * labels) are not kept.
 *
 * zip holds what zip can: files, directories and symlinks with their
 * mode and modification time; a hard link is a second copy of the data;
 * fifos and devices are left out, each said.  Extended attributes, ACLs
 * and owners are not kept.
 *
 * A file that cannot be opened is reported and left out, the rest goes
 * on, and the exit status is 1.  An error in the middle of a file's data
 * (its header already written) or of the archive itself stops the
 * export.  The archive holds plaintext: --output FILE is created new,
 * mode 0600, and removed when the export stops; the machine's journal
 * records who exported what, where.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bm_err.h"
#include "bm_esc.h"
#include "bm_json.h"
#include "bm_units.h"
#include "ctl_snapname.h"
#include "ctl_tree.h"
#include "ctl_store.h"

#define IO_SIZE (1U << 20)
#define ZEROS_SIZE ((size_t)1 << 30) /* address space, not memory */
#define XATTR_SIZE 65536
#define ACL_ACCESS "system.posix_acl_access"
#define ACL_DEFAULT "system.posix_acl_default"

static const char export_usage[] =
    "MACHINE SNAPSHOT [PATH] --format tar|zip [--output FILE|-]\n"
    "       [--privileged] [--json] [--admin | --user USER]\n"
    "       [--password-file FILE]\n"
    "\n"
    "Write snapshot SNAPSHOT (an id, latest, latest~N, a date or time, or\n"
    "a tag; beemoctl(8), SNAPSHOT NAMES) of MACHINE, or only\n"
    "PATH inside it, as one archive.  tar is POSIX pax with owners,\n"
    "times to the nanosecond, extended attributes, ACLs, hard links,\n"
    "symlinks and sparse files; zip keeps files, directories and\n"
    "symlinks with their mode and modification time.\n"
    "\n"
    "  --format tar|zip      the archive format (required)\n"
    "  --output FILE|-       write to FILE (created new, mode 0600) or to\n"
    "                        standard output (\"-\", the default when it\n"
    "                        is not a terminal)\n"
    "  --privileged          also keep set-id bits, device nodes and\n"
    "                        security/trusted extended attributes (the\n"
    "                        client's files could give it power where\n"
    "                        the archive is extracted as root)\n"
    "  --json                a summary object (format \"beemo-export\",\n"
    "                        version 1) on standard output, or on\n"
    "                        standard error when the archive goes there\n"
    "  --admin               open with the administrator's password\n"
    "                        (default)\n"
    "  --user USER           open with USER's password\n"
    "  --password-file FILE  read the password from FILE (default\n"
    "                        $BEEMO_PASSWORD_FILE, or the terminal)\n"
    "  --help                this help\n";

/* Hard links: inode -> its first path in the archive, an open-addressing
 * table (O(1) per inode), grown at half full. */
struct link {
	uint64_t ino; /* 0: free slot */
	char *path;
};

struct export {
	const struct ctl *ctl;
	store *st;
	struct archive *ar;
	int zip;
	int privileged;   /* --privileged (see the top) */
	int errors;
	int fatal;        /* the archive itself failed: stop */
	uint64_t files, dirs, links, hardlinks, other, skipped, bytes;
	struct link *links_tab;
	size_t cap, used;
	uint8_t *buf;
	const uint8_t *zeros; /* ZEROS_SIZE of zero pages, or NULL */
};

static void
fail(struct export *x, const char *path, const char *what, int err)
{
	ctl_err(x->ctl, "%s: %s: %s", path, what, beemo_strerror(err));
	x->errors++;
}

static void
archive_fail(struct export *x, const char *path)
{
	ctl_err(x->ctl, "%s: cannot write the archive: %s", path,
	    archive_error_string(x->ar));
	x->errors++;
	x->fatal = 1;
}

static size_t
link_slot(const struct link *t, size_t cap, uint64_t ino)
{
	size_t i = (size_t)((ino * 0x9e3779b97f4a7c15ULL) >> 32) & (cap - 1);

	while (t[i].ino != 0 && t[i].ino != ino)
		i = (i + 1) & (cap - 1);
	return i;
}

/* The first path of @ino, or NULL after recording @path as it. */
static const char *
link_first(struct export *x, uint64_t ino, const char *path)
{
	size_t i;

	if (x->used * 2 >= x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 256, k;
		struct link *t = calloc(cap, sizeof(*t));

		if (t == NULL)
			return NULL; /* a second copy of the data */
		for (k = 0; k < x->cap; k++)
			if (x->links_tab[k].ino != 0)
				t[link_slot(t, cap, x->links_tab[k].ino)] =
				    x->links_tab[k];
		free(x->links_tab);
		x->links_tab = t;
		x->cap = cap;
	}
	i = link_slot(x->links_tab, x->cap, ino);
	if (x->links_tab[i].ino != 0)
		return x->links_tab[i].path;
	if ((x->links_tab[i].path = strdup(path)) != NULL) {
		x->links_tab[i].ino = ino;
		x->used++;
	}
	return NULL;
}

static uint32_t
le(const uint8_t *p, int n)
{
	uint32_t v = 0;

	while (n-- > 0)
		v = v << 8 | p[n];
	return v;
}

/* A system.posix_acl_* value (Linux's format: a little-endian u32
 * version 2, then entries of u16 tag, u16 permissions, u32 id) as
 * libarchive ACL entries of @type.  Tags and permission bits have the
 * values of acl/libacl.h. */
static int
add_acl(struct archive_entry *e, int type, const uint8_t *v, size_t len)
{
	static const struct {
		uint32_t tag;
		int ar;
	} tags[] = {
		{0x01, ARCHIVE_ENTRY_ACL_USER_OBJ},
		{0x02, ARCHIVE_ENTRY_ACL_USER},
		{0x04, ARCHIVE_ENTRY_ACL_GROUP_OBJ},
		{0x08, ARCHIVE_ENTRY_ACL_GROUP},
		{0x10, ARCHIVE_ENTRY_ACL_MASK},
		{0x20, ARCHIVE_ENTRY_ACL_OTHER},
	};
	size_t off, k;

	if (len < 4 || (len - 4) % 8 != 0 || le(v, 4) != 2)
		return -EINVAL;
	for (off = 4; off < len; off += 8) {
		uint32_t tag = le(v + off, 2), perm = le(v + off + 2, 2);
		uint32_t id = le(v + off + 4, 4);
		int qual = tag == 0x02 || tag == 0x08 ? (int)id : -1;

		for (k = 0; k < sizeof(tags) / sizeof(tags[0]); k++)
			if (tags[k].tag == tag)
				break;
		if (k == sizeof(tags) / sizeof(tags[0]) ||
		    archive_entry_acl_add_entry(e, type, perm & 7,
		    tags[k].ar, qual, NULL) != ARCHIVE_OK)
			return -EINVAL;
	}
	return 0;
}

/* Extended attributes and ACLs of @ino onto @e (tar only). */
static void
add_xattrs(struct export *x, uint64_t ino, const char *path,
    struct archive_entry *e)
{
	static char names[XATTR_SIZE];
	static uint8_t val[XATTR_SIZE];
	ssize_t len = store_listxattr(x->st, ino, names, sizeof(names));
	char *n;

	if (len < 0) {
		fail(x, path, "cannot list extended attributes", (int)len);
		return;
	}
	for (n = names; n < names + len; n += strlen(n) + 1) {
		ssize_t vl = store_getxattr(x->st, ino, n, val, sizeof(val));
		int acl = strcmp(n, ACL_ACCESS) == 0 ?
		    ARCHIVE_ENTRY_ACL_TYPE_ACCESS : strcmp(n, ACL_DEFAULT) ==
		    0 ? ARCHIVE_ENTRY_ACL_TYPE_DEFAULT : 0;

		if (!x->privileged && (strncmp(n, "security.", 9) == 0 ||
		    strncmp(n, "trusted.", 8) == 0))
			continue;
		if (vl < 0)
			fail(x, path, n, (int)vl);
		else if (acl != 0 && add_acl(e, acl, val, (size_t)vl) != 0)
			fail(x, path, n, -EINVAL);
		else if (acl == 0)
			archive_entry_xattr_add_entry(e, n, val, (size_t)vl);
	}
}

/* The data of file @ino: the map of its data regions (tar, with holes),
 * then every byte, holes as zeros (libarchive leaves out what the map
 * calls a hole). */
static int
add_sparse_map(store_file *f, uint64_t size,
    struct archive_entry *e)
{
	uint64_t off = 0;
	int sparse = 0;

	while (off < size) {
		int64_t data = store_lseek(f, off, SEEK_DATA), hole;

		if (data == -ENXIO)
			break;
		if (data < 0)
			return (int)data;
		if ((hole = store_lseek(f, (uint64_t)data, SEEK_HOLE)) < 0)
			return (int)hole;
		sparse |= (uint64_t)data != off || (uint64_t)hole < size;
		archive_entry_sparse_add_entry(e, data, hole - data);
		off = (uint64_t)hole;
	}
	if (!sparse || off == 0)
		archive_entry_sparse_clear(e);
	if (sparse && off == 0) /* all hole: one empty region at the end */
		archive_entry_sparse_add_entry(e, (la_int64_t)size, 0);
	return 0;
}

static int
write_all(struct export *x, const void *p, size_t n, const char *path)
{
	while (n > 0) {
		la_ssize_t w = archive_write_data(x->ar, p, n);

		if (w <= 0) {
			archive_fail(x, path);
			return -EIO;
		}
		p = (const uint8_t *)p + w;
		n -= (size_t)w;
	}
	return 0;
}

/* @len bytes of zeros (a hole) to the archive.  They come from a
 * read-only mapping of zero pages of ZEROS_SIZE bytes, so that a hole
 * of any size costs calls, not copies: libarchive skips what the sparse
 * map calls a hole without reading it, and what it does read (zip) is
 * zeros.  Without the mapping, from @x->buf zeroed. */
static int
write_zeros(struct export *x, uint64_t len, const char *path)
{
	const uint8_t *z;
	size_t chunk;

	if (x->zeros == NULL) {
		void *m = mmap(NULL, ZEROS_SIZE, PROT_READ, MAP_PRIVATE |
		    MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

		x->zeros = m == MAP_FAILED ? NULL : m;
	}
	z = x->zeros != NULL ? x->zeros : x->buf;
	chunk = x->zeros != NULL ? ZEROS_SIZE : IO_SIZE;
	if (x->zeros == NULL)
		memset(x->buf, 0, IO_SIZE);
	while (len > 0) {
		size_t n = len < chunk ? (size_t)len : chunk;

		if (write_all(x, z, n, path) != 0)
			return -EIO;
		len -= n;
	}
	return 0;
}

static void
write_file(struct export *x, const struct store_attr *a, const char *path,
    struct archive_entry *e)
{
	store_file *f;
	uint64_t off = 0;
	int rc;

	if ((rc = store_open_file(x->st, a->ino, O_RDONLY, &f)) != 0) {
		fail(x, path, "cannot open in the snapshot", rc);
		return;
	}
	if (!x->zip && (rc = add_sparse_map(f, a->size, e)) != 0) {
		fail(x, path, "cannot read", rc);
		goto out;
	}
	if (archive_write_header(x->ar, e) != ARCHIVE_OK) {
		archive_fail(x, path);
		goto out;
	}
	while (off < a->size) {
		/* Holes are not read: zeros go to libarchive, which leaves
		 * out what the sparse map calls a hole (zip stores them). */
		int64_t data = store_lseek(f, off, SEEK_DATA), hole;

		if (data < 0 && data != -ENXIO) {
			rc = (int)data;
			goto broken;
		}
		if (data == -ENXIO || (uint64_t)data > off) {
			uint64_t end = data == -ENXIO ? a->size : (uint64_t)data;

			if (write_zeros(x, end - off, path) != 0)
				goto out;
			off = end;
			continue;
		}
		if ((hole = store_lseek(f, off, SEEK_HOLE)) <= (int64_t)off) {
			rc = hole < 0 ? (int)hole : -EIO;
			goto broken;
		}
		while (off < (uint64_t)hole) {
			size_t want = (uint64_t)hole - off < IO_SIZE ?
			    (size_t)((uint64_t)hole - off) : IO_SIZE;
			ssize_t n = store_read(f, x->buf, want, off);

			if (n <= 0) {
				rc = n < 0 ? (int)n : -EIO;
				goto broken;
			}
			if (write_all(x, x->buf, (size_t)n, path) != 0)
				goto out;
			off += (uint64_t)n;
		}
	}
	x->bytes += a->size;
	x->files++;
	goto out;
broken:
	/* The header promised the size: the entry cannot be completed,
	 * and the export stops. */
	fail(x, path, "cannot read", rc);
	x->fatal = 1;
out:
	store_release(f);
}

static void export_node(struct export *x, const struct store_attr *a,
    const char *path, int depth);

static void
export_dir(struct export *x, const struct store_attr *a, const char *path,
    int depth)
{
	struct ctl_dirent *e = NULL;
	size_t i, n = 0;
	int rc;

	if (depth > 2048) {
		fail(x, path, "too deep", -ELOOP);
		return;
	}
	if ((rc = ctl_readdir(x->st, a->ino, &e, &n)) != 0)
		fail(x, *path ? path : "/", "cannot list", rc);
	for (i = 0; i < n && !x->fatal; i++) {
		char *child;

		if (asprintf(&child, "%s%s%s", path, *path ? "/" : "",
		    e[i].name) < 0) {
			fail(x, path, "out of memory", -ENOMEM);
			break;
		}
		export_node(x, &e[i].a, child, depth + 1);
		free(child);
	}
	ctl_dirents_free(e, n);
}

static void
export_node(struct export *x, const struct store_attr *a, const char *path,
    int depth)
{
	struct archive_entry *e;
	const char *first = NULL;
	/* Not on the stack: this frame is one of two per level of a
	 * client's tree (2048 levels). */
	static char target[4097];
	int rc;

	if ((S_ISCHR(a->mode) || S_ISBLK(a->mode)) && !x->privileged) {
		fputs("beemoctl: ", stderr);
		bm_esc_put(stderr, path);
		fputs(": device node left out (--privileged keeps it)\n",
		    stderr);
		x->skipped++;
		return;
	}
	if (!x->zip || S_ISDIR(a->mode) || S_ISREG(a->mode) ||
	    S_ISLNK(a->mode)) {
		/* kept */
	} else {
		/* A client's name: escaped (bm_esc.h), one line. */
		fputs("beemoctl: ", stderr);
		bm_esc_put(stderr, path);
		fprintf(stderr, ": %s left out (zip holds none)\n",
		    S_ISFIFO(a->mode) ? "fifo" :
		    S_ISSOCK(a->mode) ? "socket" : "device node");
		x->skipped++;
		return;
	}
	if ((e = archive_entry_new()) == NULL) {
		fail(x, path, "out of memory", -ENOMEM);
		x->fatal = 1;
		return;
	}
	archive_entry_set_pathname(e, path);
	archive_entry_set_mode(e, x->privileged ? a->mode :
	    a->mode & ~(mode_t)(S_ISUID | S_ISGID));
	archive_entry_set_uid(e, a->uid);
	archive_entry_set_gid(e, a->gid);
	archive_entry_set_mtime(e, a->mtime.tv_sec, a->mtime.tv_nsec);
	archive_entry_set_atime(e, a->atime.tv_sec, a->atime.tv_nsec);
	archive_entry_set_ctime(e, a->ctime.tv_sec, a->ctime.tv_nsec);
	if (!x->zip)
		add_xattrs(x, a->ino, path, e);
	switch (a->mode & S_IFMT) {
	case S_IFDIR:
		if (archive_write_header(x->ar, e) != ARCHIVE_OK)
			archive_fail(x, path);
		x->dirs++;
		archive_entry_free(e);
		export_dir(x, a, path, depth);
		return;
	case S_IFREG:
		if (!x->zip && a->nlink > 1 &&
		    (first = link_first(x, a->ino, path)) != NULL) {
			archive_entry_set_hardlink(e, first);
			archive_entry_set_size(e, 0);
			if (archive_write_header(x->ar, e) != ARCHIVE_OK)
				archive_fail(x, path);
			x->hardlinks++;
			break;
		}
		archive_entry_set_size(e, (la_int64_t)a->size);
		write_file(x, a, path, e);
		break;
	case S_IFLNK:
		if ((rc = store_readlink(x->st, a->ino, target,
		    sizeof(target))) != 0) {
			fail(x, path, "cannot read link", rc);
			break;
		}
		archive_entry_set_symlink(e, target);
		if (archive_write_header(x->ar, e) != ARCHIVE_OK)
			archive_fail(x, path);
		x->links++;
		break;
	default:
		archive_entry_set_rdev(e, (dev_t)a->rdev);
		if (archive_write_header(x->ar, e) != ARCHIVE_OK)
			archive_fail(x, path);
		x->other++;
	}
	archive_entry_free(e);
}

/* The archive writer of @format on @fd; NULL after a message. */
static struct archive *
open_archive(const struct ctl *ctl, const char *format, int fd)
{
	struct archive *ar = archive_write_new();
	int rc;

	if (ar == NULL)
		return NULL;
	if (strcmp(format, "zip") == 0)
		rc = archive_write_set_format_zip(ar);
	/* Extended attributes as SCHILY.xattr only, the header every tar
	 * that keeps them reads (GNU tar warns of LIBARCHIVE.xattr). */
	else if ((rc = archive_write_set_format_pax(ar)) == ARCHIVE_OK)
		rc = archive_write_set_format_option(ar, "pax", "xattrheader",
		    "SCHILY");
	if (rc != ARCHIVE_OK || archive_write_open_fd(ar, fd) != ARCHIVE_OK) {
		ctl_err(ctl, "cannot start the archive: %s",
		    archive_error_string(ar));
		archive_write_free(ar);
		return NULL;
	}
	return ar;
}

/* The machine's journal records who took what out, as for a restore:
 * an entry of type "restore" naming the exported path. */
static void
journal(const struct ctl *ctl, struct ctl_session *s, const struct export *x,
    uint32_t id, const char *path, const char *format, const char *output)
{
	struct store_journal_entry e;
	char summary[4600], who[80], error[512] = "";
	const char *files[1] = {*path ? path : "/"};
	int rc;

	memset(&e, 0, sizeof(e));
	keymgr_secret_who(s->sec, who, sizeof(who));
	snprintf(summary, sizeof(summary), "export of %s from snapshot %u "
	    "as %s into %s: %llu files, %llu bytes%s", files[0], id, format,
	    strcmp(output, "-") == 0 ? "standard output" : output,
	    (unsigned long long)x->files, (unsigned long long)x->bytes,
	    x->errors ? ", with errors" : "");
	e.type = x->errors ? "error" : "restore";
	e.who = who;
	e.summary = summary;
	e.files = files;
	e.nfiles = 1;
	/* The store is closed first: appending may open it read-write. */
	store_close(s->st);
	s->st = NULL;
	if ((rc = control_journal_record(s->dir, s->sec, &e, error,
	    sizeof(error))) != 0)
		ctl_err(ctl, "the export could not be journaled: %s",
		    *error ? error : beemo_strerror(rc));
}

static void
summary(const struct ctl *ctl, const struct export *x, int json, FILE *f,
    const char *machine, const struct store_snapinfo *si, const char *path,
    const char *format, const char *output)
{
	char b[32];

	if (json) {
		bm_json j;

		bm_json_init(&j, f);
		bm_json_head(&j, "beemo-export", 1);
		bm_json_str(&j, "machine", machine);
		bm_json_u64(&j, "snapshot", si->id);
		bm_json_time(&j, "time", si->time);
		bm_json_str(&j, "path", path);
		bm_json_str(&j, "archive", format);
		bm_json_str(&j, "output", output);
		bm_json_u64(&j, "files", x->files);
		bm_json_u64(&j, "directories", x->dirs);
		bm_json_u64(&j, "symlinks", x->links);
		bm_json_u64(&j, "hardlinks", x->hardlinks);
		bm_json_u64(&j, "other", x->other);
		bm_json_u64(&j, "skipped", x->skipped);
		bm_json_u64(&j, "bytes", x->bytes);
		bm_json_u64(&j, "errors", (uint64_t)x->errors);
		bm_json_end_obj(&j);
		fputc('\n', f);
	} else if (!ctl->quiet)
		fprintf(f, "exported %llu files, %s from snapshot %u of %s "
		    "as %s%s\n", (unsigned long long)x->files,
		    bm_human(b, sizeof(b), x->bytes), si->id, machine, format,
		    x->errors ? " (with errors)" : "");
}

int
cmd_export(struct ctl *ctl, int argc, char **argv)
{
	struct ctl_opts o;
	struct ctl_session s;
	struct store_snapinfo si;
	struct store_attr a;
	struct export x;
	char norm[4096];
	const char *output, *base;
	int rc, fd = -1, to_stdout;
	size_t i;

	if ((rc = ctl_parse(ctl, argc, argv, CTL_O_FORMAT | CTL_O_OUTPUT |
	    CTL_O_PRIVILEGED | CTL_O_JSON | CTL_O_ADMIN | CTL_O_USER |
	    CTL_O_PASSWORD, 2, 3, export_usage, &o)) >= 0)
		return rc;
	if (o.format == NULL) {
		ctl_err(ctl, "--format tar or --format zip is required");
		return CTL_USAGE;
	}
	if (strcmp(o.format, "tar") != 0 && strcmp(o.format, "zip") != 0) {
		ctl_err(ctl, "--format %s: not a format of export (tar or zip)",
		    o.format);
		return CTL_USAGE;
	}
	output = o.output ? o.output : "-";
	to_stdout = strcmp(output, "-") == 0;
	if (to_stdout && isatty(STDOUT_FILENO)) {
		ctl_err(ctl, "standard output is a terminal: redirect it, or "
		    "give --output FILE");
		return CTL_USAGE;
	}
	if ((rc = ctl_session_open(ctl, o.args[0], &o, 0, &s)) != 0)
		return rc;
	memset(&x, 0, sizeof(x));
	x.ctl = ctl;
	x.st = s.st;
	x.zip = strcmp(o.format, "zip") == 0;
	x.privileged = o.privileged;
	if ((rc = ctl_snap_resolve(ctl, s.st, o.args[1], &si)) != 0)
		goto out;
	rc = ctl_tree_lookup(s.st, si.id, o.nargs > 2 ? o.args[2] : "/", &a,
	    norm, sizeof(norm));
	if (rc != 0) {
		ctl_err(ctl, "%s in snapshot %u: %s", o.nargs > 2 ?
		    o.args[2] : "/", si.id, rc == -EINVAL ?
		    "goes above the root of the snapshot" :
		    beemo_strerror(rc));
		rc = rc == -EINVAL ? CTL_USAGE : CTL_FAIL;
		goto out;
	}
	/* Entries below are named "PATH/NAME": the root is "". */
	if (strcmp(norm, "/") == 0)
		norm[0] = '\0';
	base = strrchr(norm, '/') ? strrchr(norm, '/') + 1 : norm;
	if ((x.buf = malloc(IO_SIZE)) == NULL) {
		ctl_err(ctl, "out of memory");
		rc = CTL_FAIL;
		goto out;
	}
	fd = to_stdout ? STDOUT_FILENO : open(output, O_WRONLY | O_CREAT |
	    O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		ctl_err(ctl, "%s: cannot create: %s", output, strerror(errno));
		rc = CTL_FAIL;
		goto out;
	}
	if ((x.ar = open_archive(ctl, o.format, fd)) == NULL) {
		x.fatal = 1;
		rc = CTL_FAIL;
		goto out_file;
	}
	if (S_ISDIR(a.mode))
		export_dir(&x, &a, "", 0);
	else
		export_node(&x, &a, base, 0);
	if (archive_write_close(x.ar) != ARCHIVE_OK && !x.fatal)
		archive_fail(&x, output);
	archive_write_free(x.ar);
	/* Files left out: the archive holds the rest (bm_exit.h). */
	rc = x.fatal ? CTL_FAIL : x.errors ? BM_EXIT_WARN : CTL_OK;
	summary(ctl, &x, o.json, to_stdout ? stderr : stdout, o.args[0], &si,
	    *norm ? norm : "/", o.format, output);
	journal(ctl, &s, &x, si.id, norm, o.format, output);
out_file:
	if (!to_stdout) {
		if (close(fd) != 0 && rc == CTL_OK) {
			ctl_err(ctl, "%s: %s", output, strerror(errno));
			rc = CTL_FAIL;
		}
		if (x.fatal)
			unlink(output);
	}
out:
	free(x.buf);
	if (x.zeros != NULL)
		munmap((void *)x.zeros, ZEROS_SIZE);
	for (i = 0; i < x.cap; i++)
		free(x.links_tab[i].path);
	free(x.links_tab);
	if (ctl_session_close(ctl, &s) != 0)
		rc = CTL_FAIL;
	return rc;
}
