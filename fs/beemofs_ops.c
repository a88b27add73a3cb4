/*
 * beemofs_ops.c -- the FUSE operations: translate and call the store.
 *
 * Inode numbers are the store's (see store.h): the kernel's lookup
 * counts need no state here, because the store keeps none per inode;
 * forget is a no-op.  Entries of the live tree are cached by the kernel
 * for fs->timeout seconds; snapshot entries never change and are cached
 * for an hour.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "beemofs.h"
#include "bm_err.h"

#define SNAP_TIMEOUT 3600.0

int
beemofs_errno(int rc)
{
	if (rc >= 0)
		return 0;
	if (rc == BEEMO_EQUOTA)
		return EDQUOT;
	if (rc < -4095 || rc == -EBADMSG)
		return EIO; /* virus refused, damaged object, missing key */
	return -rc;
}

static struct beemofs *
fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static store *
st_of(fuse_req_t req)
{
	return fs_of(req)->st;
}

static void
reply_rc(fuse_req_t req, int rc)
{
	fuse_reply_err(req, beemofs_errno(rc));
}

static void
to_stat(const struct store_attr *a, struct stat *s)
{
	memset(s, 0, sizeof(*s));
	s->st_ino = a->ino;
	s->st_mode = a->mode;
	s->st_nlink = a->nlink;
	s->st_uid = a->uid;
	s->st_gid = a->gid;
	s->st_rdev = a->rdev;
	s->st_size = (off_t)a->size;
	s->st_blocks = (blkcnt_t)a->blocks;
	s->st_blksize = 128 * 1024;
	s->st_atim = a->atime;
	s->st_mtim = a->mtime;
	s->st_ctim = a->ctime;
}

static double
timeout_of(struct beemofs *fs, uint64_t ino)
{
	return (ino >> STORE_SNAP_SHIFT) != 0 ? SNAP_TIMEOUT : fs->timeout;
}

static void
reply_entry(fuse_req_t req, const struct store_attr *a)
{
	struct fuse_entry_param e;

	memset(&e, 0, sizeof(e));
	e.ino = a->ino;
	e.attr_timeout = e.entry_timeout = timeout_of(fs_of(req), a->ino);
	to_stat(a, &e.attr);
	fuse_reply_entry(req, &e);
}

static void
reply_attr(fuse_req_t req, const struct store_attr *a)
{
	struct stat s;

	to_stat(a, &s);
	fuse_reply_attr(req, &s, timeout_of(fs_of(req), a->ino));
}

static void
beemofs_init(void *userdata, struct fuse_conn_info *conn)
{
	struct beemofs *fs = userdata;

	if ((conn->capable & FUSE_CAP_WRITEBACK_CACHE) && !fs->rdonly)
		conn->want |= FUSE_CAP_WRITEBACK_CACHE;
	/* ACLs: the store applies them and the umask (store_acl.c). */
	if (conn->capable & FUSE_CAP_POSIX_ACL)
		conn->want |= FUSE_CAP_POSIX_ACL;
	if (conn->capable & FUSE_CAP_DONT_MASK)
		conn->want |= FUSE_CAP_DONT_MASK;
	if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
		conn->want |= FUSE_CAP_PARALLEL_DIROPS;
	if (conn->capable & FUSE_CAP_CACHE_SYMLINKS)
		conn->want |= FUSE_CAP_CACHE_SYMLINKS;
	conn->max_write = 1U << 20;
	conn->max_readahead = 1U << 20;
	conn->max_background = 64;
	conn->congestion_threshold = 48;
}

static void
beemofs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct store_attr a;
	int rc = store_lookup(st_of(req), parent, name, &a);

	if (rc == -ENOENT) {
		/* A negative entry, cached like a positive one. */
		struct fuse_entry_param e;

		memset(&e, 0, sizeof(e));
		e.entry_timeout = timeout_of(fs_of(req), parent);
		fuse_reply_entry(req, &e);
		return;
	}
	if (rc != 0)
		reply_rc(req, rc);
	else
		reply_entry(req, &a);
}

static void
beemofs_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	(void)ino;
	(void)nlookup;
	fuse_reply_none(req);
}

static void
beemofs_forget_multi(fuse_req_t req, size_t count,
    struct fuse_forget_data *forgets)
{
	(void)count;
	(void)forgets;
	fuse_reply_none(req);
}

static void
beemofs_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct store_attr a;
	int rc = store_getattr(st_of(req), ino, &a);

	(void)fi;
	if (rc != 0)
		reply_rc(req, rc);
	else
		reply_attr(req, &a);
}

static void
beemofs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *s, int to_set,
    struct fuse_file_info *fi)
{
	struct store_attr in, out;
	unsigned set = 0;
	int rc;

	(void)fi;
	memset(&in, 0, sizeof(in));
	in.mode = s->st_mode;
	in.uid = s->st_uid;
	in.gid = s->st_gid;
	in.size = (uint64_t)s->st_size;
	in.atime = s->st_atim;
	in.mtime = s->st_mtim;
	in.ctime = s->st_ctim;
	if (to_set & FUSE_SET_ATTR_MODE)
		set |= STORE_SET_MODE;
	if (to_set & FUSE_SET_ATTR_UID)
		set |= STORE_SET_UID;
	if (to_set & FUSE_SET_ATTR_GID)
		set |= STORE_SET_GID;
	if (to_set & FUSE_SET_ATTR_SIZE)
		set |= STORE_SET_SIZE;
	if (to_set & FUSE_SET_ATTR_ATIME_NOW)
		clock_gettime(CLOCK_REALTIME, &in.atime);
	if (to_set & FUSE_SET_ATTR_MTIME_NOW)
		clock_gettime(CLOCK_REALTIME, &in.mtime);
	if (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_ATIME_NOW))
		set |= STORE_SET_ATIME;
	if (to_set & (FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW))
		set |= STORE_SET_MTIME;
	if (to_set & FUSE_SET_ATTR_CTIME)
		set |= STORE_SET_CTIME;
	rc = store_setattr(st_of(req), ino, &in, set, &out);
	if (rc != 0)
		reply_rc(req, rc);
	else
		reply_attr(req, &out);
}

static void
beemofs_readlink(fuse_req_t req, fuse_ino_t ino)
{
	char buf[4097];
	int rc = store_readlink(st_of(req), ino, buf, sizeof(buf));

	if (rc != 0)
		reply_rc(req, rc);
	else
		fuse_reply_readlink(req, buf);
}

static void
beemofs_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
    mode_t mode, dev_t rdev)
{
	const struct fuse_ctx *c = fuse_req_ctx(req);
	struct store_cred cr = {c->uid, c->gid, c->umask};
	struct store_attr a;
	int rc = store_mknod(st_of(req), parent, name, mode, rdev, &cr, &a);

	if (rc != 0)
		reply_rc(req, rc);
	else
		reply_entry(req, &a);
}

static void
beemofs_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
    mode_t mode)
{
	beemofs_mknod(req, parent, name, S_IFDIR | (mode & 07777), 0);
}

static void
beemofs_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
    const char *name)
{
	const struct fuse_ctx *c = fuse_req_ctx(req);
	struct store_cred cr = {c->uid, c->gid, 0};
	struct store_attr a;
	int rc = store_symlink(st_of(req), parent, name, link, &cr, &a);

	if (rc != 0)
		reply_rc(req, rc);
	else
		reply_entry(req, &a);
}

static void
beemofs_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
    const char *newname)
{
	struct store_attr a;
	int rc = store_link(st_of(req), ino, newparent, newname, &a);

	if (rc != 0)
		reply_rc(req, rc);
	else
		reply_entry(req, &a);
}

static void
beemofs_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	reply_rc(req, store_unlink(st_of(req), parent, name));
}

static void
beemofs_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	reply_rc(req, store_rmdir(st_of(req), parent, name));
}

static void
beemofs_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
    fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	reply_rc(req, store_rename(st_of(req), parent, name, newparent,
	    newname, flags));
}

/* A restore session notes which files it hands out (journal). */
static void
note_read(struct beemofs *fs, fuse_ino_t ino)
{
	char path[4096], *p = NULL;

	if (store_path(fs->st, ino, path, sizeof(path)) == 0)
		p = strdup(path);
	pthread_mutex_lock(&fs->read_lock);
	fs->nread++;
	if (p != NULL && fs->nread_paths < READ_LOG_MAX) {
		char **n = realloc(fs->read_paths,
		    (fs->nread_paths + 1) * sizeof(*n));

		if (n != NULL) {
			fs->read_paths = n;
			n[fs->nread_paths++] = p;
			p = NULL;
		}
	}
	pthread_mutex_unlock(&fs->read_lock);
	free(p);
}

static void
beemofs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	store_file *f;
	int rc = store_open_file(st_of(req), ino, fi->flags, &f);

	if (rc != 0) {
		reply_rc(req, rc);
		return;
	}
	if (fs_of(req)->rdonly)
		note_read(fs_of(req), ino);
	fi->fh = (uint64_t)(uintptr_t)f;
	/* Snapshot contents never change; the live tree's are ours alone,
	 * and the writeback cache keeps the kernel's view right. */
	fi->keep_cache = 1;
	if (fuse_reply_open(req, fi) != 0)
		store_release(f); /* interrupted: the kernel never saw it */
}

static void
beemofs_create(fuse_req_t req, fuse_ino_t parent, const char *name,
    mode_t mode, struct fuse_file_info *fi)
{
	const struct fuse_ctx *c = fuse_req_ctx(req);
	struct store_cred cr = {c->uid, c->gid, c->umask};
	struct fuse_entry_param e;
	struct store_attr a;
	store_file *f;
	int rc = store_create_file(st_of(req), parent, name, mode, &cr,
	    fi->flags, &a, &f);

	if (rc != 0) {
		reply_rc(req, rc);
		return;
	}
	fi->fh = (uint64_t)(uintptr_t)f;
	fi->keep_cache = 1;
	memset(&e, 0, sizeof(e));
	e.ino = a.ino;
	e.attr_timeout = e.entry_timeout = fs_of(req)->timeout;
	to_stat(&a, &e.attr);
	if (fuse_reply_create(req, &e, fi) != 0)
		store_release(f);
}

static store_file *
fh(struct fuse_file_info *fi)
{
	return (store_file *)(uintptr_t)fi->fh;
}

static void
beemofs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	struct store_view v;
	char *buf;
	ssize_t n;

	(void)ino;
	/* In place: the reply is written from the cached chunks. */
	n = store_read_view(fh(fi), size, (uint64_t)off, &v);
	if (n >= 0) {
		fuse_reply_iov(req, v.iov, (int)v.n);
		store_view_put(&v);
		return;
	}
	if (n != -EAGAIN) {
		reply_rc(req, (int)n);
		return;
	}
	if ((buf = malloc(size ? size : 1)) == NULL) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	n = store_read(fh(fi), buf, size, (uint64_t)off);
	if (n < 0)
		reply_rc(req, (int)n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
	free(buf);
}

static void
beemofs_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size,
    off_t off, struct fuse_file_info *fi)
{
	ssize_t n = store_write(fh(fi), buf, size, (uint64_t)off);

	(void)ino;
	if (n < 0)
		reply_rc(req, (int)n);
	else
		fuse_reply_write(req, (size_t)n);
}

/* SEEK_DATA and SEEK_HOLE (the kernel answers the other whences). */
static void
beemofs_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
    struct fuse_file_info *fi)
{
	int64_t r = off < 0 ? -ENXIO : store_lseek(fh(fi), (uint64_t)off,
	    whence);

	(void)ino;
	if (r < 0)
		reply_rc(req, (int)r);
	else
		fuse_reply_lseek(req, (off_t)r);
}

static void
queue_inval(struct beemofs *fs, fuse_ino_t ino)
{
	pthread_mutex_lock(&fs->inval_lock);
	if (fs->ninval == fs->inval_cap) {
		size_t cap = fs->inval_cap ? 2 * fs->inval_cap : 64;
		uint64_t *v = realloc(fs->inval, cap * sizeof(*v));

		if (v != NULL) {
			fs->inval = v;
			fs->inval_cap = cap;
		}
	}
	/* Out of memory: the kernel keeps what it cached until its
	 * timeouts or the inode's eviction. */
	if (fs->ninval < fs->inval_cap)
		fs->inval[fs->ninval++] = ino;
	pthread_cond_signal(&fs->inval_cv);
	pthread_mutex_unlock(&fs->inval_lock);
}

void
beemofs_stale(void *ctx, uint64_t ino)
{
	queue_inval(ctx, ino);
}

static void
beemofs_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct beemofs *fs = fs_of(req); /* req is gone after the reply */
	int rc = store_flush(fh(fi));

	reply_rc(req, rc);
	if (rc != 0)
		queue_inval(fs, ino);
}

static void
beemofs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	if (store_release(fh(fi)) != 0)
		queue_inval(fs_of(req), ino);
	fuse_reply_err(req, 0);
}

static void
beemofs_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
    struct fuse_file_info *fi)
{
	struct beemofs *fs = fs_of(req);
	int rc = store_fsync(fh(fi));

	(void)datasync;
	reply_rc(req, rc);
	if (rc != 0)
		queue_inval(fs, ino);
}

static void
beemofs_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct store_attr a;
	int rc = store_getattr(st_of(req), ino, &a);

	if (rc == 0 && !S_ISDIR(a.mode))
		rc = -ENOTDIR;
	if (rc != 0) {
		reply_rc(req, rc);
		return;
	}
	fi->cache_readdir = (ino >> STORE_SNAP_SHIFT) != 0;
	fuse_reply_open(req, fi);
}

struct dirbuf {
	fuse_req_t req;
	char *buf;
	size_t size, len;
	int plus;
};

static int
add_entry(void *ctx, const char *name, const struct store_attr *a,
    uint64_t next)
{
	struct dirbuf *d = ctx;
	size_t n;

	if (d->plus) {
		struct fuse_entry_param e;
		int dots = !strcmp(name, ".") || !strcmp(name, "..");

		memset(&e, 0, sizeof(e));
		to_stat(a, &e.attr);
		/* "." and ".." are not looked up by readdirplus. */
		if (!dots) {
			e.ino = a->ino;
			e.attr_timeout = e.entry_timeout =
			    timeout_of(fuse_req_userdata(d->req), a->ino);
		}
		n = fuse_add_direntry_plus(d->req, d->buf + d->len,
		    d->size - d->len, name, &e, (off_t)next);
	} else {
		struct stat s;

		memset(&s, 0, sizeof(s));
		s.st_ino = a->ino;
		s.st_mode = a->mode;
		n = fuse_add_direntry(d->req, d->buf + d->len,
		    d->size - d->len, name, &s, (off_t)next);
	}
	if (n > d->size - d->len)
		return 1; /* full: this entry waits for the next call */
	d->len += n;
	return 0;
}

static void
do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, int plus)
{
	struct dirbuf d = {req, malloc(size), size, 0, plus};
	int rc;

	if (d.buf == NULL) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	rc = store_readdir(st_of(req), ino, (uint64_t)off, plus, add_entry, &d);
	if (rc != 0 && d.len == 0)
		reply_rc(req, rc);
	else
		fuse_reply_buf(req, d.buf, d.len);
	free(d.buf);
}

static void
beemofs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	(void)fi;
	do_readdir(req, ino, size, off, 0);
}

static void
beemofs_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	(void)fi;
	do_readdir(req, ino, size, off, 1);
}

static void
beemofs_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	fuse_reply_err(req, 0);
}

static void
beemofs_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
    struct fuse_file_info *fi)
{
	(void)ino;
	(void)datasync;
	(void)fi;
	reply_rc(req, store_sync(st_of(req)));
}

static void
beemofs_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs s;
	int rc = store_statfs(st_of(req), &s);

	(void)ino;
	if (rc != 0)
		reply_rc(req, rc);
	else
		fuse_reply_statfs(req, &s);
}

static void
beemofs_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
    const char *value, size_t size, int flags)
{
	reply_rc(req, store_setxattr(st_of(req), ino, name, value, size,
	    flags));
}

static void
beemofs_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
    size_t size)
{
	char *buf = size ? malloc(size) : NULL;
	ssize_t n;

	if (size && buf == NULL) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	n = store_getxattr(st_of(req), ino, name, buf, size);
	if (n < 0)
		reply_rc(req, (int)n);
	else if (size == 0)
		fuse_reply_xattr(req, (size_t)n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
	free(buf);
}

static void
beemofs_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	char *buf = size ? malloc(size) : NULL;
	ssize_t n;

	if (size && buf == NULL) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	n = store_listxattr(st_of(req), ino, buf, size);
	if (n < 0)
		reply_rc(req, (int)n);
	else if (size == 0)
		fuse_reply_xattr(req, (size_t)n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
	free(buf);
}

static void
beemofs_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	reply_rc(req, store_removexattr(st_of(req), ino, name));
}

const struct fuse_lowlevel_ops beemofs_ops = {
	.init = beemofs_init,
	.lookup = beemofs_lookup,
	.forget = beemofs_forget,
	.forget_multi = beemofs_forget_multi,
	.getattr = beemofs_getattr,
	.setattr = beemofs_setattr,
	.readlink = beemofs_readlink,
	.mknod = beemofs_mknod,
	.mkdir = beemofs_mkdir,
	.symlink = beemofs_symlink,
	.link = beemofs_link,
	.unlink = beemofs_unlink,
	.rmdir = beemofs_rmdir,
	.rename = beemofs_rename,
	.open = beemofs_open,
	.create = beemofs_create,
	.read = beemofs_read,
	.write = beemofs_write,
	.flush = beemofs_flush,
	.release = beemofs_release,
	.fsync = beemofs_fsync,
	.lseek = beemofs_lseek,
	.opendir = beemofs_opendir,
	.readdir = beemofs_readdir,
	.readdirplus = beemofs_readdirplus,
	.releasedir = beemofs_releasedir,
	.fsyncdir = beemofs_fsyncdir,
	.statfs = beemofs_statfs,
	.setxattr = beemofs_setxattr,
	.getxattr = beemofs_getxattr,
	.listxattr = beemofs_listxattr,
	.removexattr = beemofs_removexattr,
};

static void *
inval_main(void *arg)
{
	struct beemofs *fs = arg;

	pthread_mutex_lock(&fs->inval_lock);
	while (!fs->inval_stop) {
		while (fs->ninval > 0) {
			uint64_t ino = fs->inval[--fs->ninval], parent;
			char name[STORE_NAME_MAX + 1];

			pthread_mutex_unlock(&fs->inval_lock);
			/* With the writeback cache the kernel keeps its own
			 * size of a cached inode: dropping the entry lets the
			 * inode go, and the next lookup sees the store's. */
			if (ino != STORE_ROOT_INO &&
			    store_primary(fs->st, ino, &parent, name) == 0)
				fuse_lowlevel_notify_inval_entry(fs->se, parent,
				    name, strlen(name));
			fuse_lowlevel_notify_inval_inode(fs->se, ino, 0, 0);
			pthread_mutex_lock(&fs->inval_lock);
		}
		/* A stop signalled while the lock was released above is
		 * seen here, not waited for. */
		if (!fs->inval_stop)
			pthread_cond_wait(&fs->inval_cv, &fs->inval_lock);
	}
	pthread_mutex_unlock(&fs->inval_lock);
	return NULL;
}

int
beemofs_inval_start(struct beemofs *fs)
{
	pthread_mutex_init(&fs->inval_lock, NULL);
	pthread_cond_init(&fs->inval_cv, NULL);
	return -pthread_create(&fs->inval_thread, NULL, inval_main, fs);
}

void
beemofs_inval_stop(struct beemofs *fs)
{
	pthread_mutex_lock(&fs->inval_lock);
	fs->inval_stop = 1;
	pthread_cond_signal(&fs->inval_cv);
	pthread_mutex_unlock(&fs->inval_lock);
	pthread_join(fs->inval_thread, NULL);
	free(fs->inval);
	fs->inval = NULL;
	fs->ninval = fs->inval_cap = 0;
	pthread_mutex_destroy(&fs->inval_lock);
	pthread_cond_destroy(&fs->inval_cv);
}
