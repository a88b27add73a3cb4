/*
 * passthrough_ll.c -- a small pass-through FUSE file system on the
 * low-level (inode-based) libfuse 3 API, the baseline that beemofs is
 * measured against (tests/bench/run.sh; not part of the product build).
 *
 *   passthrough_ll MOUNTPOINT -o source=DIR [-f] [-s] [-d]
 *                  [-o timeout=SECS] [-o splice] [-o max_threads=N]
 *
 * Everything under MOUNTPOINT is DIR.  The FUSE set-up is the one the
 * design prescribes for beemofs (DESIGN.md, "FUSE API"): writeback
 * cache, 1 MiB writes, a multithreaded session loop.  It is in the
 * spirit of libfuse's example/passthrough_hp.cc, smaller, in C, and
 * with one difference that matters on these machines: it does not hold
 * a file descriptor per inode (the limit is 20,000 open files and the
 * small corpus has about 22,000 files).  A node remembers its source
 * file by a kernel file handle (name_to_handle_at) and every operation
 * reopens it with open_by_handle_at, which needs CAP_DAC_READ_SEARCH:
 * run it as root.  Open files and directories hold one descriptor each,
 * for as long as the kernel keeps them open.
 *
 * Nodes are found by (inode number, handle bytes): the handle carries
 * the inode's generation, so an inode number reused by the source file
 * system after a delete gets a new node.  The FUSE node id is the
 * node's address (the root is FUSE_ROOT_ID).  A node lives while the
 * kernel's lookup count on it is not zero.
 *
 * Options:
 *   source=DIR     the directory to pass through (required)
 *   timeout=SECS   entry and attribute cache timeout (default 86400, as
 *                  passthrough_hp; with a positive timeout open files
 *                  keep the page cache)
 *   splice         move data with splice(2) (passthrough_hp's default;
 *                  off here by default, because beemofs has to copy
 *                  every byte into its own buffers anyway)
 * and the usual libfuse ones (-f, -s, -d, -o max_threads=N, -o
 * clone_fd, -o allow_other).
 *
 * It is a benchmark tool: it trusts the source directory to be used by
 * nobody else while mounted, and does not do locks, ioctls or
 * copy_file_range.
 */
#define _GNU_SOURCE
#define FUSE_USE_VERSION FUSE_MAKE_VERSION(3, 12)

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <unistd.h>

/* ---- nodes ------------------------------------------------------------ */

struct node {
	struct node *next;       /* hash chain; protected by pt.lock */
	uint64_t nlookup;        /* kernel's lookup count; by pt.lock */
	ino_t ino;               /* inode number in the source; fixed */
	struct file_handle *fh;  /* how to reopen it; fixed */
};

#define NBUCKETS (1u << 17) /* a chain of ~1 at 100,000 live nodes */

static struct {
	int mount_fd;        /* the source directory; handles resolve here */
	dev_t dev;           /* the source file system */
	double timeout;      /* entry/attr cache timeout, seconds */
	int splice;          /* use splice(2) for read and write */
	int writeback;       /* writeback cache granted by the kernel */
	struct node root;    /* FUSE_ROOT_ID; never freed */
	pthread_mutex_t lock; /* protects the buckets and every nlookup */
	struct node **buckets;
} pt = {
	.mount_fd = -1,
	.lock = PTHREAD_MUTEX_INITIALIZER,
};

static struct node *
node_of(fuse_ino_t ino)
{
	return ino == FUSE_ROOT_ID ? &pt.root : (struct node *)(uintptr_t)ino;
}

static size_t
bucket_of(ino_t ino)
{
	return (size_t)((ino * 0x9e3779b97f4a7c15ull) >> 47) & (NBUCKETS - 1);
}

static int
same_handle(const struct file_handle *a, const struct file_handle *b)
{
	return a->handle_type == b->handle_type &&
	    a->handle_bytes == b->handle_bytes &&
	    memcmp(a->f_handle, b->f_handle, a->handle_bytes) == 0;
}

/*
 * Find the node of (ino, fh) or create it, and count one lookup on it.
 * fh is copied.  Returns NULL when out of memory.
 */
static struct node *
node_get(ino_t ino, const struct file_handle *fh)
{
	size_t b = bucket_of(ino), hsize;
	struct node *n;

	if (ino == pt.root.ino && same_handle(fh, pt.root.fh)) {
		pthread_mutex_lock(&pt.lock);
		pt.root.nlookup++;
		pthread_mutex_unlock(&pt.lock);
		return &pt.root;
	}
	pthread_mutex_lock(&pt.lock);
	for (n = pt.buckets[b]; n != NULL; n = n->next)
		if (n->ino == ino && same_handle(n->fh, fh))
			break;
	if (n == NULL) {
		hsize = sizeof(*fh) + fh->handle_bytes;
		if ((n = calloc(1, sizeof(*n))) == NULL ||
		    (n->fh = malloc(hsize)) == NULL) {
			free(n);
			pthread_mutex_unlock(&pt.lock);
			return NULL;
		}
		memcpy(n->fh, fh, hsize);
		n->ino = ino;
		n->next = pt.buckets[b];
		pt.buckets[b] = n;
	}
	n->nlookup++;
	pthread_mutex_unlock(&pt.lock);
	return n;
}

/* Drop count lookups from n; free it when none is left. */
static void
node_forget(struct node *n, uint64_t count)
{
	struct node **pp;

	pthread_mutex_lock(&pt.lock);
	n->nlookup = n->nlookup > count ? n->nlookup - count : 0;
	if (n->nlookup == 0 && n != &pt.root) {
		for (pp = &pt.buckets[bucket_of(n->ino)]; *pp != n;
		    pp = &(*pp)->next)
			;
		*pp = n->next;
		free(n->fh);
		free(n);
	}
	pthread_mutex_unlock(&pt.lock);
}

/* A new descriptor for node ino (O_PATH, or flags for a real open). */
static int
node_open(fuse_ino_t ino, int flags)
{
	return open_by_handle_at(pt.mount_fd, node_of(ino)->fh,
	    flags | O_CLOEXEC);
}

/* "/proc/self/fd/N": the path that reaches what the O_PATH fd is. */
static void
proc_path(char *buf, size_t size, int fd)
{
	snprintf(buf, size, "/proc/self/fd/%d", fd);
}

/*
 * Look name up in directory pfd and fill e (a node counted once).
 * Returns 0 or an errno.
 */
static int
do_lookup(int pfd, const char *name, struct fuse_entry_param *e)
{
	union {
		struct file_handle fh;
		char space[sizeof(struct file_handle) + MAX_HANDLE_SZ];
	} h;
	struct node *n;
	int mount_id;

	memset(e, 0, sizeof(*e));
	e->attr_timeout = pt.timeout;
	e->entry_timeout = pt.timeout;
	if (fstatat(pfd, name, &e->attr, AT_SYMLINK_NOFOLLOW) != 0)
		return errno;
	if (e->attr.st_dev != pt.dev)
		return EXDEV; /* another file system mounted below: not ours */
	h.fh.handle_bytes = MAX_HANDLE_SZ;
	if (name_to_handle_at(pfd, name, &h.fh, &mount_id, 0) != 0)
		return errno;
	if ((n = node_get(e->attr.st_ino, &h.fh)) == NULL)
		return ENOMEM;
	e->ino = (uintptr_t)n;
	if (n == &pt.root)
		e->ino = FUSE_ROOT_ID;
	return 0;
}

/* Reply to an operation that made name in parent: look it up. */
static void
reply_new_entry(fuse_req_t req, int pfd, const char *name)
{
	struct fuse_entry_param e;
	int err = do_lookup(pfd, name, &e);

	if (err != 0)
		fuse_reply_err(req, err);
	else
		fuse_reply_entry(req, &e);
}

/* ---- operations --------------------------------------------------------- */

static void
pt_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	if (conn->capable & FUSE_CAP_WRITEBACK_CACHE) {
		conn->want |= FUSE_CAP_WRITEBACK_CACHE;
		pt.writeback = 1;
	}
	if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
		conn->want |= FUSE_CAP_PARALLEL_DIROPS;
	conn->want &= ~(unsigned)FUSE_CAP_READDIRPLUS;
	if (pt.splice) {
		conn->want |= conn->capable & (FUSE_CAP_SPLICE_READ |
		    FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE);
	} else {
		conn->want &= ~(unsigned)(FUSE_CAP_SPLICE_READ |
		    FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE);
	}
	conn->max_write = 1u << 20;
}

static void
pt_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;
	int pfd, err;

	if ((pfd = node_open(parent, O_PATH | O_DIRECTORY)) < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	err = do_lookup(pfd, name, &e);
	close(pfd);
	if (err == ENOENT) {
		/* A negative entry, cached for the timeout. */
		memset(&e, 0, sizeof(e));
		e.entry_timeout = pt.timeout;
		fuse_reply_entry(req, &e);
	} else if (err != 0) {
		fuse_reply_err(req, err);
	} else {
		fuse_reply_entry(req, &e);
	}
}

static void
pt_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	node_forget(node_of(ino), nlookup);
	fuse_reply_none(req);
}

static void
pt_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *fd)
{
	size_t i;

	for (i = 0; i < count; i++)
		node_forget(node_of(fd[i].ino), fd[i].nlookup);
	fuse_reply_none(req);
}

static void
pt_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;
	int fd, rc;

	if (fi != NULL) {
		rc = fstat((int)fi->fh, &st);
	} else {
		if ((fd = node_open(ino, O_PATH)) < 0) {
			fuse_reply_err(req, errno);
			return;
		}
		rc = fstat(fd, &st);
		close(fd);
	}
	if (rc != 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_attr(req, &st, pt.timeout);
}

static void
pt_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
    struct fuse_file_info *fi)
{
	char path[64];
	struct timespec tv[2];
	struct stat st;
	int pfd, fd, rc = 0;

	/* An O_PATH fd for the node; fi->fh (a real open) where given. */
	if ((pfd = node_open(ino, O_PATH)) < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	fd = fi != NULL ? (int)fi->fh : -1;
	proc_path(path, sizeof(path), pfd);
	if (to_set & FUSE_SET_ATTR_MODE)
		rc = fd >= 0 ? fchmod(fd, attr->st_mode) :
		    chmod(path, attr->st_mode);
	if (rc == 0 && (to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)))
		rc = fchownat(pfd, "",
		    (to_set & FUSE_SET_ATTR_UID) ? attr->st_uid : (uid_t)-1,
		    (to_set & FUSE_SET_ATTR_GID) ? attr->st_gid : (gid_t)-1,
		    AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
	if (rc == 0 && (to_set & FUSE_SET_ATTR_SIZE))
		rc = fd >= 0 ? ftruncate(fd, attr->st_size) :
		    truncate(path, attr->st_size);
	if (rc == 0 && (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME))) {
		tv[0].tv_nsec = tv[1].tv_nsec = UTIME_OMIT;
		tv[0].tv_sec = tv[1].tv_sec = 0;
		if (to_set & FUSE_SET_ATTR_ATIME_NOW)
			tv[0].tv_nsec = UTIME_NOW;
		else if (to_set & FUSE_SET_ATTR_ATIME)
			tv[0] = attr->st_atim;
		if (to_set & FUSE_SET_ATTR_MTIME_NOW)
			tv[1].tv_nsec = UTIME_NOW;
		else if (to_set & FUSE_SET_ATTR_MTIME)
			tv[1] = attr->st_mtim;
		if (fd >= 0)
			rc = futimens(fd, tv);
		else if ((rc = utimensat(pfd, "", tv,
		    AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)) != 0 &&
		    errno == EINVAL)
			rc = utimensat(AT_FDCWD, path, tv, 0); /* old kernel */
	}
	if (rc == 0)
		rc = fstat(pfd, &st);
	if (rc != 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_attr(req, &st, pt.timeout);
	close(pfd);
}

static void
pt_readlink(fuse_req_t req, fuse_ino_t ino)
{
	char buf[PATH_MAX + 1];
	ssize_t len;
	int fd;

	if ((fd = node_open(ino, O_PATH)) < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	len = readlinkat(fd, "", buf, sizeof(buf));
	close(fd);
	if (len < 0) {
		fuse_reply_err(req, errno);
	} else if (len == (ssize_t)sizeof(buf)) {
		fuse_reply_err(req, ENAMETOOLONG);
	} else {
		buf[len] = '\0';
		fuse_reply_readlink(req, buf);
	}
}

/* mknod, mkdir and symlink: make name in parent, then look it up. */
static void
make_node(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
    dev_t rdev, const char *link)
{
	int pfd, rc;

	if ((pfd = node_open(parent, O_PATH | O_DIRECTORY)) < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	if (link != NULL)
		rc = symlinkat(link, pfd, name);
	else if (S_ISDIR(mode))
		rc = mkdirat(pfd, name, mode);
	else
		rc = mknodat(pfd, name, mode, rdev);
	if (rc != 0)
		fuse_reply_err(req, errno);
	else
		reply_new_entry(req, pfd, name);
	close(pfd);
}

static void
pt_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
    dev_t rdev)
{
	make_node(req, parent, name, mode, rdev, NULL);
}

static void
pt_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	make_node(req, parent, name, S_IFDIR | mode, 0, NULL);
}

static void
pt_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
    const char *name)
{
	make_node(req, parent, name, S_IFLNK, 0, link);
}

static void
pt_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t parent, const char *name)
{
	int fd, pfd;

	if ((fd = node_open(ino, O_PATH)) < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	if ((pfd = node_open(parent, O_PATH | O_DIRECTORY)) < 0)
		fuse_reply_err(req, errno);
	else if (linkat(fd, "", pfd, name, AT_EMPTY_PATH) != 0)
		fuse_reply_err(req, errno);
	else
		reply_new_entry(req, pfd, name);
	if (pfd >= 0)
		close(pfd);
	close(fd);
}

static void
remove_name(fuse_req_t req, fuse_ino_t parent, const char *name, int flags)
{
	int pfd, err = 0;

	if ((pfd = node_open(parent, O_PATH | O_DIRECTORY)) < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	if (unlinkat(pfd, name, flags) != 0)
		err = errno;
	close(pfd);
	fuse_reply_err(req, err);
}

static void
pt_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_name(req, parent, name, 0);
}

static void
pt_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_name(req, parent, name, AT_REMOVEDIR);
}

static void
pt_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
    fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	int pfd, npfd, err = 0;

	if ((pfd = node_open(parent, O_PATH | O_DIRECTORY)) < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	if ((npfd = node_open(newparent, O_PATH | O_DIRECTORY)) < 0)
		err = errno;
	else if (renameat2(pfd, name, npfd, newname, flags) != 0)
		err = errno;
	if (npfd >= 0)
		close(npfd);
	close(pfd);
	fuse_reply_err(req, err);
}

/*
 * Open flags as the kernel's writeback cache needs them: it may read a
 * page of a file opened write-only, and it does O_APPEND itself.
 */
static int
open_flags(int flags)
{
	flags &= ~(O_CREAT | O_EXCL | O_NOCTTY | O_NOFOLLOW);
	if (pt.writeback) {
		if ((flags & O_ACCMODE) == O_WRONLY)
			flags = (flags & ~O_ACCMODE) | O_RDWR;
		flags &= ~O_APPEND;
	}
	return flags;
}

static void
pt_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	int fd;

	if ((fd = node_open(ino, open_flags(fi->flags))) < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	fi->fh = (uint64_t)fd;
	fi->keep_cache = pt.timeout > 0;
	if (fuse_reply_open(req, fi) != 0)
		close(fd); /* the request was interrupted */
}

static void
pt_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
    struct fuse_file_info *fi)
{
	struct fuse_entry_param e;
	int pfd, fd, err;

	if ((pfd = node_open(parent, O_PATH | O_DIRECTORY)) < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	fd = openat(pfd, name, open_flags(fi->flags) | O_CREAT | O_CLOEXEC |
	    (fi->flags & O_EXCL), mode);
	if (fd < 0) {
		err = errno;
		close(pfd);
		fuse_reply_err(req, err);
		return;
	}
	err = do_lookup(pfd, name, &e);
	close(pfd);
	if (err != 0) {
		close(fd);
		fuse_reply_err(req, err);
		return;
	}
	fi->fh = (uint64_t)fd;
	fi->keep_cache = pt.timeout > 0;
	if (fuse_reply_create(req, &e, fi) != 0) {
		close(fd);
		node_forget(node_of(e.ino), 1);
	}
}

static void
pt_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	struct fuse_bufvec buf = FUSE_BUFVEC_INIT(size);

	(void)ino;
	buf.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	buf.buf[0].fd = (int)fi->fh;
	buf.buf[0].pos = off;
	fuse_reply_data(req, &buf,
	    pt.splice ? FUSE_BUF_SPLICE_MOVE : FUSE_BUF_NO_SPLICE);
}

static void
pt_write_buf(fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *in,
    off_t off, struct fuse_file_info *fi)
{
	struct fuse_bufvec out = FUSE_BUFVEC_INIT(fuse_buf_size(in));
	ssize_t n;

	(void)ino;
	out.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	out.buf[0].fd = (int)fi->fh;
	out.buf[0].pos = off;
	n = fuse_buf_copy(&out, in,
	    pt.splice ? FUSE_BUF_SPLICE_NONBLOCK : FUSE_BUF_NO_SPLICE);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_write(req, (size_t)n);
}

static void
pt_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	/* Local file system: close(2) has nothing more to report. */
	(void)ino;
	(void)fi;
	fuse_reply_err(req, 0);
}

static void
pt_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	close((int)fi->fh);
	fuse_reply_err(req, 0);
}

static void
pt_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
    struct fuse_file_info *fi)
{
	int rc;

	(void)ino;
	rc = datasync ? fdatasync((int)fi->fh) : fsync((int)fi->fh);
	fuse_reply_err(req, rc == 0 ? 0 : errno);
}

/* An open directory: the stream, and where the kernel last read. */
struct dir {
	DIR *dp;
	off_t off;
	struct dirent *next; /* read but not yet returned, or NULL */
};

static void
pt_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct dir *d;
	int fd, err;

	if ((d = calloc(1, sizeof(*d))) == NULL) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if ((fd = node_open(ino, O_RDONLY | O_DIRECTORY)) < 0) {
		err = errno;
		free(d);
		fuse_reply_err(req, err);
		return;
	}
	if ((d->dp = fdopendir(fd)) == NULL) {
		err = errno;
		close(fd);
		free(d);
		fuse_reply_err(req, err);
		return;
	}
	fi->fh = (uintptr_t)d;
	fi->keep_cache = pt.timeout > 0;
	fi->cache_readdir = pt.timeout > 0;
	if (fuse_reply_open(req, fi) != 0) {
		closedir(d->dp);
		free(d);
	}
}

static void
pt_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	struct dir *d = (struct dir *)(uintptr_t)fi->fh;
	struct stat st;
	char *buf, *p;
	size_t left = size, len;
	int err = 0;

	(void)ino;
	if ((buf = malloc(size)) == NULL) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (off != d->off) {
		seekdir(d->dp, off);
		d->off = off;
		d->next = NULL;
	}
	p = buf;
	for (;;) {
		if (d->next == NULL) {
			errno = 0;
			if ((d->next = readdir(d->dp)) == NULL) {
				err = errno;
				break;
			}
		}
		memset(&st, 0, sizeof(st));
		st.st_ino = d->next->d_ino;
		st.st_mode = (mode_t)d->next->d_type << 12;
		len = fuse_add_direntry(req, p, left, d->next->d_name, &st,
		    d->next->d_off);
		if (len > left)
			break; /* full: this entry goes in the next reply */
		p += len;
		left -= len;
		d->off = d->next->d_off;
		d->next = NULL;
	}
	if (err != 0 && p == buf)
		fuse_reply_err(req, err);
	else
		fuse_reply_buf(req, buf, (size_t)(p - buf));
	free(buf);
}

static void
pt_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct dir *d = (struct dir *)(uintptr_t)fi->fh;

	(void)ino;
	closedir(d->dp);
	free(d);
	fuse_reply_err(req, 0);
}

static void
pt_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
    struct fuse_file_info *fi)
{
	struct dir *d = (struct dir *)(uintptr_t)fi->fh;
	int fd = dirfd(d->dp), rc;

	(void)ino;
	rc = datasync ? fdatasync(fd) : fsync(fd);
	fuse_reply_err(req, rc == 0 ? 0 : errno);
}

static void
pt_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv;

	(void)ino;
	if (fstatvfs(pt.mount_fd, &sv) != 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_statfs(req, &sv);
}

/*
 * Extended attributes go through /proc/self/fd/N of an O_PATH fd, with
 * the calls that follow links: the magic link leads to the node itself,
 * symlink or not, and stops there.
 */
static void
pt_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
    const char *value, size_t size, int flags)
{
	char path[64];
	int fd, err = 0;

	if ((fd = node_open(ino, O_PATH)) < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	proc_path(path, sizeof(path), fd);
	if (setxattr(path, name, value, size, flags) != 0)
		err = errno;
	close(fd);
	fuse_reply_err(req, err);
}

/* getxattr and listxattr: size 0 asks for the length only. */
static void
get_xattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	char path[64], *buf = NULL;
	ssize_t n;
	int fd, err;

	if ((fd = node_open(ino, O_PATH)) < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	proc_path(path, sizeof(path), fd);
	if (size > 0 && (buf = malloc(size)) == NULL) {
		close(fd);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	n = name != NULL ? getxattr(path, name, buf, size) :
	    listxattr(path, buf, size);
	err = errno;
	close(fd);
	if (n < 0)
		fuse_reply_err(req, err);
	else if (size == 0)
		fuse_reply_xattr(req, (size_t)n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
	free(buf);
}

static void
pt_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	get_xattr(req, ino, name, size);
}

static void
pt_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	get_xattr(req, ino, NULL, size);
}

static void
pt_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	char path[64];
	int fd, err = 0;

	if ((fd = node_open(ino, O_PATH)) < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	proc_path(path, sizeof(path), fd);
	if (removexattr(path, name) != 0)
		err = errno;
	close(fd);
	fuse_reply_err(req, err);
}

static const struct fuse_lowlevel_ops pt_ops = {
	.init = pt_init,
	.lookup = pt_lookup,
	.forget = pt_forget,
	.forget_multi = pt_forget_multi,
	.getattr = pt_getattr,
	.setattr = pt_setattr,
	.readlink = pt_readlink,
	.mknod = pt_mknod,
	.mkdir = pt_mkdir,
	.symlink = pt_symlink,
	.link = pt_link,
	.unlink = pt_unlink,
	.rmdir = pt_rmdir,
	.rename = pt_rename,
	.open = pt_open,
	.create = pt_create,
	.read = pt_read,
	.write_buf = pt_write_buf,
	.flush = pt_flush,
	.release = pt_release,
	.fsync = pt_fsync,
	.opendir = pt_opendir,
	.readdir = pt_readdir,
	.releasedir = pt_releasedir,
	.fsyncdir = pt_fsyncdir,
	.statfs = pt_statfs,
	.setxattr = pt_setxattr,
	.getxattr = pt_getxattr,
	.listxattr = pt_listxattr,
	.removexattr = pt_removexattr,
};

/* ---- main --------------------------------------------------------------- */

struct opts {
	char *source;
	char *timeout;
	int splice;
};

static const struct fuse_opt opt_spec[] = {
	{"source=%s", offsetof(struct opts, source), 0},
	{"timeout=%s", offsetof(struct opts, timeout), 0},
	{"splice", offsetof(struct opts, splice), 1},
	FUSE_OPT_END,
};

static void
usage(const char *prog)
{
	printf("usage: %s MOUNTPOINT -o source=DIR [-o timeout=SECS] "
	    "[-o splice] [options]\n\n", prog);
	fuse_cmdline_help();
	fuse_lowlevel_help();
}

/* Open the source and make its root node; returns 0 or -1 (said why). */
static int
setup_source(const char *source)
{
	union {
		struct file_handle fh;
		char space[sizeof(struct file_handle) + MAX_HANDLE_SZ];
	} h;
	struct stat st;
	int mount_id, fd;

	if ((pt.mount_fd = open(source, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) < 0 || fstat(pt.mount_fd, &st) != 0) {
		fprintf(stderr, "passthrough_ll: %s: %s\n", source,
		    strerror(errno));
		return -1;
	}
	h.fh.handle_bytes = MAX_HANDLE_SZ;
	if (name_to_handle_at(pt.mount_fd, "", &h.fh, &mount_id,
	    AT_EMPTY_PATH) != 0) {
		fprintf(stderr, "passthrough_ll: %s: no file handles: %s\n",
		    source, strerror(errno));
		return -1;
	}
	pt.dev = st.st_dev;
	pt.root.ino = st.st_ino;
	pt.root.nlookup = 2; /* never reaches 0 */
	if ((pt.root.fh = malloc(sizeof(h.fh) + h.fh.handle_bytes)) == NULL ||
	    (pt.buckets = calloc(NBUCKETS, sizeof(*pt.buckets))) == NULL) {
		fprintf(stderr, "passthrough_ll: out of memory\n");
		return -1;
	}
	memcpy(pt.root.fh, &h.fh, sizeof(h.fh) + h.fh.handle_bytes);
	/* Opening by handle is what every operation does: try it once. */
	if ((fd = open_by_handle_at(pt.mount_fd, pt.root.fh, O_PATH)) < 0) {
		fprintf(stderr, "passthrough_ll: open_by_handle_at: %s "
		    "(run as root)\n", strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

int
main(int argc, char **argv)
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts co;
	struct fuse_loop_config *lc;
	struct fuse_session *se;
	struct opts o = {0};
	struct rlimit rl;
	int rc = 1;

	if (fuse_opt_parse(&args, &o, opt_spec, NULL) != 0 ||
	    fuse_parse_cmdline(&args, &co) != 0)
		return 1;
	if (co.show_help) {
		usage(argv[0]);
		return 0;
	}
	if (co.show_version) {
		printf("passthrough_ll, libfuse %s\n", fuse_pkgversion());
		return 0;
	}
	if (co.mountpoint == NULL || o.source == NULL) {
		fprintf(stderr, "usage: %s MOUNTPOINT -o source=DIR "
		    "[options] (--help for more)\n", argv[0]);
		return 1;
	}
	pt.timeout = o.timeout != NULL ? strtod(o.timeout, NULL) : 86400.0;
	pt.splice = o.splice;
	/* Open files and directories hold a descriptor each. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (setup_source(o.source) != 0)
		goto out_args;
	if (fuse_opt_add_arg(&args, "-odefault_permissions") != 0 ||
	    fuse_opt_add_arg(&args, "-ofsname=passthrough_ll") != 0)
		goto out_args;
	se = fuse_session_new(&args, &pt_ops, sizeof(pt_ops), NULL);
	if (se == NULL)
		goto out_args;
	if (fuse_set_signal_handlers(se) != 0)
		goto out_session;
	if (fuse_session_mount(se, co.mountpoint) != 0)
		goto out_signals;
	fuse_daemonize(co.foreground);
	if (co.singlethread) {
		rc = fuse_session_loop(se) != 0;
	} else if ((lc = fuse_loop_cfg_create()) != NULL) {
		fuse_loop_cfg_set_clone_fd(lc, (unsigned)co.clone_fd);
		if (co.max_threads > 0 && co.max_threads <= 100000)
			fuse_loop_cfg_set_max_threads(lc, co.max_threads);
		if (co.max_idle_threads <= 100000)
			fuse_loop_cfg_set_idle_threads(lc,
			    co.max_idle_threads);
		rc = fuse_session_loop_mt(se, lc) != 0;
		fuse_loop_cfg_destroy(lc);
	}
	fuse_session_unmount(se);
out_signals:
	fuse_remove_signal_handlers(se);
out_session:
	fuse_session_destroy(se);
out_args:
	free(co.mountpoint);
	free(o.source);
	free(o.timeout);
	fuse_opt_free_args(&args);
	return rc;
}
