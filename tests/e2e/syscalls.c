/*
 * syscalls.c -- system call torture test for beemofs.
 *
 * beemofs must behave like ext4 for everything a backup client does, so
 * this program checks the Linux semantics of ext4, case by case, on any
 * directory: the tests run it on a beemofs mount, and against a plain
 * ext4 directory to check the checks themselves (tests/e2e/fs_lib.sh,
 * FS_TEST_DIR).  It is written in the spirit of libfuse's
 * test/test_syscalls.c, but it is not derived from it.
 *
 * Usage:
 *	syscalls [-X BYTES] DIR [CASE...]
 *		Run every case (or the named ones) in a fresh directory
 *		DIR/syscalls.PID, one subdirectory and working directory per
 *		case.  -X sets the size of the large extended attribute value
 *		(default 61440; ext4 without the ea_inode feature only takes
 *		about one block, see fs_syscalls.sh).
 *	syscalls -l
 *		List the cases.
 *	syscalls --readonly PATH...
 *		Every PATH must be in a read-only tree (a snapshot): each
 *		modifying call on it must fail with EROFS, EPERM or EACCES
 *		and change nothing.
 *
 * Each case prints "ok NAME" or "FAIL NAME: line L: detail"; the first
 * failed check ends the case and the others still run.  The exit status
 * is 0 when every case passed, 1 when one failed, 2 on a usage error.
 * The work directory is removed when everything passed and kept
 * otherwise.  The program runs as root (chown, mknod, trusted.*) with
 * umask 022, reset before every case.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#define MIB (1024 * 1024)

/* Size of the large xattr value of c_xattr_large (-X). */
static size_t large_xattr = 61440;

/* Detail of the first failed check of the running case. */
static char fail_msg[2048];

static void
set_fail(int line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (fail_msg[0] != '\0')
		return;
	n = snprintf(fail_msg, sizeof(fail_msg), "line %d: ", line);
	va_start(ap, fmt);
	vsnprintf(fail_msg + n, sizeof(fail_msg) - (size_t)n, fmt, ap);
	va_end(ap);
}

/* Symbolic errno name ("ENOENT"), for messages. */
static const char *
ename(int e)
{
	const char *s = strerrorname_np(e);

	return s != NULL ? s : "E?";
}

#define FAIL(...)                                                              \
	do {                                                                   \
		set_fail(__LINE__, __VA_ARGS__);                               \
		return -1;                                                     \
	} while (0)

/* A condition that must hold (no errno involved). */
#define CHECK(c)                                                               \
	do {                                                                   \
		if (!(c))                                                      \
			FAIL("check failed: %s", #c);                          \
	} while (0)

/* A system call that must succeed (-1 means failure, errno says why). */
#define SYS(c)                                                                 \
	do {                                                                   \
		errno = 0;                                                     \
		if ((long long)(c) == -1)                                      \
			FAIL("%s: %s (%s)", #c, ename(errno),                  \
			     strerror(errno));                                 \
	} while (0)

/* A system call that must fail with errno E1 or E2. */
#define ERR2(c, e1, e2)                                                        \
	do {                                                                   \
		long long r_;                                                  \
		errno = 0;                                                     \
		r_ = (long long)(c);                                           \
		if (r_ != -1)                                                  \
			FAIL("%s: succeeded (returned %lld), expected %s", #c, \
			     r_, ename(e1));                                   \
		if (errno != (e1) && errno != (e2))                            \
			FAIL("%s: failed with %s, expected %s", #c,            \
			     ename(errno), ename(e1));                         \
	} while (0)

#define ERR(c, e) ERR2(c, e, e)

#define CHECK_EQ(a, b)                                                         \
	do {                                                                   \
		long long a_ = (long long)(a), b_ = (long long)(b);            \
		if (a_ != b_)                                                  \
			FAIL("%s == %s: %lld != %lld", #a, #b, a_, b_);        \
	} while (0)

/* Octal variant, for modes. */
#define CHECK_MODE(a, b)                                                       \
	do {                                                                   \
		unsigned a_ = (unsigned)(a), b_ = (unsigned)(b);               \
		if (a_ != b_)                                                  \
			FAIL("%s == %s: 0%o != 0%o", #a, #b, a_, b_);          \
	} while (0)

#define CHECK_STR(a, b)                                                        \
	do {                                                                   \
		const char *a_ = (a), *b_ = (b);                               \
		if (strcmp(a_, b_) != 0)                                       \
			FAIL("%s == %s: \"%s\" != \"%s\"", #a, #b, a_, b_);    \
	} while (0)

#define CHECK_MEM(a, b, n)                                                     \
	do {                                                                   \
		const unsigned char *a_ = (const void *)(a);                   \
		const unsigned char *b_ = (const void *)(b);                   \
		size_t i_, n_ = (n);                                           \
		for (i_ = 0; i_ < n_ && a_[i_] == b_[i_]; i_++)                \
			;                                                      \
		if (i_ < n_)                                                   \
			FAIL("%s and %s differ at byte %zu of %zu: "           \
			     "0x%02x != 0x%02x",                               \
			     #a, #b, i_, n_, a_[i_], b_[i_]);                  \
	} while (0)

/* Deterministic pseudo-random numbers (xorshift64*). */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t
rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

/* Fill BUF with LEN bytes of a pattern that depends on SEED and offset. */
static void
fill(void *buf, size_t len, uint64_t seed)
{
	unsigned char *p = buf;
	uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 1;
	size_t i;

	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (unsigned char)(x >> 24);
	}
}

/*
 * Buffers and the directory stream of the running case, released by
 * run_case() after it whatever the outcome, so that a failed check can
 * simply return.
 */
#define MAX_ALLOCS 16
static void *allocs[MAX_ALLOCS];
static int nallocs;
static DIR *case_dir;

/* Zeroed memory owned by the running case (never freed by the case). */
static void *
xmalloc(size_t n)
{
	void *p;

	if (nallocs == MAX_ALLOCS) {
		fprintf(stderr, "syscalls: too many buffers in one case\n");
		exit(1);
	}
	p = calloc(1, n > 0 ? n : 1);
	if (p == NULL) {
		perror("calloc");
		exit(1);
	}
	allocs[nallocs++] = p;
	return p;
}

static void
case_release(void)
{
	while (nallocs > 0)
		free(allocs[--nallocs]);
	if (case_dir != NULL)
		closedir(case_dir);
	case_dir = NULL;
}

/* Write all of BUF at the current offset; 0 or -1 with errno. */
static int
write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0)
			return -1;
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read up to LEN bytes at OFF, stopping at end of file: count or -1. */
static ssize_t
pread_full(int fd, void *buf, size_t len, off_t off)
{
	char *p = buf;
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = pread(fd, p + got, len - got, off + (off_t)got);
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* Create or replace NAME with LEN bytes of BUF (mode 0644). */
static int
put_file(const char *name, const void *buf, size_t len)
{
	int fd = open(name, O_CREAT | O_TRUNC | O_WRONLY, 0644);

	if (fd < 0)
		return -1;
	if (write_all(fd, buf, len) < 0) {
		close(fd);
		return -1;
	}
	return close(fd);
}

/* Read NAME into BUF (at most MAX bytes): length or -1. */
static ssize_t
get_file(const char *name, void *buf, size_t max)
{
	int fd = open(name, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = pread_full(fd, buf, max, 0);
	close(fd);
	return n;
}

/* Is every byte of BUF zero? Returns the first non-zero offset or -1. */
static long
nonzero_at(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != 0)
			return (long)i;
	return -1;
}

/* Does directory PATH list NAME? 1, 0, or -1 with errno. */
static int
dir_has(const char *path, const char *name)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int found = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, name) == 0)
			found++;
	closedir(d);
	return found;
}

/* Remove NAME under directory DIRFD recursively, without path limits. */
static int
rm_rf(int dirfd, const char *name)
{
	struct stat st;
	struct dirent *de;
	DIR *d;
	int fd, rc = 0;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dirfd, name, 0);
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (rm_rf(fd, de->d_name) < 0)
			rc = -1;
	}
	closedir(d);
	if (rc == 0)
		rc = unlinkat(dirfd, name, AT_REMOVEDIR);
	return rc;
}

/* Set both times of NAME (not following symlinks). */
static int
set_times(const char *name, time_t asec, long ansec, time_t msec, long mnsec)
{
	struct timespec ts[2] = {{asec, ansec}, {msec, mnsec}};

	return utimensat(AT_FDCWD, name, ts, AT_SYMLINK_NOFOLLOW);
}

/* ---------------------------------------------------------------- cases */

static int
c_open_excl(void)
{
	struct stat st;
	int fd;

	SYS(fd = open("f", O_CREAT | O_EXCL | O_WRONLY, 0666));
	SYS(write(fd, "abc", 3));
	SYS(close(fd));
	SYS(stat("f", &st));
	CHECK_MODE(st.st_mode & 07777, 0644); /* umask 022 */
	CHECK_EQ(st.st_size, 3);
	CHECK_EQ(st.st_uid, geteuid());
	CHECK_EQ(st.st_gid, getegid());
	ERR(open("f", O_CREAT | O_EXCL | O_WRONLY, 0600), EEXIST);
	/* O_CREAT alone on an existing file neither truncates nor chmods. */
	SYS(fd = open("f", O_CREAT | O_WRONLY, 0600));
	SYS(fstat(fd, &st));
	CHECK_EQ(st.st_size, 3);
	CHECK_MODE(st.st_mode & 07777, 0644);
	SYS(close(fd));
	/* O_EXCL does not follow a symlink, even a dangling one. */
	SYS(symlink("target", "l"));
	ERR(open("l", O_CREAT | O_EXCL | O_WRONLY, 0600), EEXIST);
	ERR(lstat("target", &st), ENOENT);
	/* Without O_EXCL, O_CREAT through a dangling symlink creates it. */
	SYS(fd = open("l", O_CREAT | O_WRONLY, 0600));
	SYS(close(fd));
	SYS(lstat("target", &st));
	CHECK(S_ISREG(st.st_mode));
	CHECK_MODE(st.st_mode & 07777, 0600);
	/* Mode 0 still gives a writable descriptor to the creator. */
	SYS(fd = open("m0", O_CREAT | O_EXCL | O_RDWR, 0));
	SYS(write(fd, "x", 1));
	SYS(fstat(fd, &st));
	CHECK_MODE(st.st_mode & 07777, 0);
	CHECK_EQ(st.st_size, 1);
	SYS(close(fd));
	/* The umask applies at creation. */
	umask(077);
	SYS(fd = open("u", O_CREAT | O_EXCL | O_WRONLY, 0666));
	umask(022);
	SYS(fstat(fd, &st));
	CHECK_MODE(st.st_mode & 07777, 0600);
	SYS(close(fd));
	ERR(open("nodir/f", O_CREAT | O_WRONLY, 0644), ENOENT);
	ERR(open("f/x", O_CREAT | O_WRONLY, 0644), ENOTDIR);
	ERR(open("missing", O_RDONLY), ENOENT);
	return 0;
}

static int
c_open_trunc(void)
{
	char buf[10000], got[16];
	struct stat st;
	int fd;

	fill(buf, sizeof(buf), 1);
	SYS(put_file("f", buf, sizeof(buf)));
	SYS(set_times("f", 1000000000, 0, 1000000000, 0));
	SYS(fd = open("f", O_WRONLY | O_TRUNC));
	SYS(fstat(fd, &st));
	CHECK_EQ(st.st_size, 0);
	CHECK(st.st_mtim.tv_sec > 1000000000);
	SYS(write(fd, "new", 3));
	SYS(close(fd));
	CHECK_EQ(get_file("f", got, sizeof(got)), 3);
	CHECK_MEM(got, "new", 3);
	/* O_TRUNC with O_CREAT on an existing file. */
	SYS(fd = open("f", O_CREAT | O_TRUNC | O_RDWR, 0600));
	CHECK_EQ(pread_full(fd, got, sizeof(got), 0), 0);
	SYS(fstat(fd, &st));
	CHECK_EQ(st.st_size, 0);
	CHECK_MODE(st.st_mode & 07777, 0644);
	SYS(close(fd));
	return 0;
}

static int
c_open_append(void)
{
	char got[4096], exp[4096];
	size_t n = 0;
	int fd, fd2, i;

	SYS(put_file("f", "abc", 3));
	SYS(fd = open("f", O_WRONLY | O_APPEND));
	SYS(lseek(fd, 0, SEEK_SET));
	SYS(write(fd, "def", 3));
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), 6);
	/* Linux: pwrite on an O_APPEND descriptor appends (pwrite(2)). */
	SYS(pwrite(fd, "ghi", 3, 0));
	SYS(fd2 = open("f", O_WRONLY));
	SYS(pwrite(fd2, "X", 1, 0));
	SYS(write(fd, "jk", 2));
	SYS(close(fd));
	SYS(close(fd2));
	CHECK_EQ(get_file("f", got, sizeof(got)), 11);
	CHECK_MEM(got, "Xbcdefghijk", 11);
	/* Two appenders interleave whole records, none overwritten. */
	SYS(fd = open("g", O_CREAT | O_WRONLY | O_APPEND, 0644));
	SYS(fd2 = open("g", O_WRONLY | O_APPEND));
	for (i = 0; i < 100; i++) {
		char rec[16];
		int len = snprintf(rec, sizeof(rec), "%c%03d\n",
		                   i % 2 ? 'B' : 'A', i);

		SYS(write(i % 2 ? fd2 : fd, rec, (size_t)len));
		memcpy(exp + n, rec, (size_t)len);
		n += (size_t)len;
	}
	SYS(close(fd));
	SYS(close(fd2));
	CHECK_EQ(get_file("g", got, sizeof(got)), n);
	CHECK_MEM(got, exp, n);
	return 0;
}

static int
c_open_misc(void)
{
	char c;
	int fd;

	SYS(put_file("f", "abc", 3));
	SYS(mkdir("d", 0755));
	SYS(symlink("f", "l"));
	SYS(fd = open("f", O_RDONLY));
	ERR(write(fd, "x", 1), EBADF);
	SYS(close(fd));
	SYS(fd = open("f", O_WRONLY));
	ERR(read(fd, &c, 1), EBADF);
	SYS(close(fd));
	ERR(open("d", O_WRONLY), EISDIR);
	ERR(open("d", O_RDWR), EISDIR);
	ERR(open("f", O_RDONLY | O_DIRECTORY), ENOTDIR);
	ERR(open("l", O_RDONLY | O_DIRECTORY), ENOTDIR);
	SYS(fd = open("d", O_RDONLY | O_DIRECTORY));
	SYS(close(fd));
	ERR(open("l", O_RDONLY | O_NOFOLLOW), ELOOP);
	SYS(fd = open("l", O_RDONLY | O_NOFOLLOW | O_PATH));
	SYS(close(fd));
	SYS(fd = open("l", O_RDONLY));
	CHECK_EQ(read(fd, &c, 1), 1);
	CHECK_EQ(c, 'a');
	SYS(close(fd));
	ERR(open("f/", O_RDONLY), ENOTDIR);
	SYS(fd = open("d/", O_RDONLY));
	SYS(close(fd));
	return 0;
}

static int
c_write_seq(void)
{
	static const size_t wsz[] = {1,      4095, 4096,    4097, 65536,
	                             131073, MIB,  MIB + 3, 7};
	static const size_t rsz[] = {3 * 4096 + 1, 1, 2 * MIB, 77, 65536};
	size_t len = 5 * MIB + 17, off, k, n;
	char *buf = xmalloc(len), *got = xmalloc(8 * MIB);
	struct stat st;
	ssize_t r;
	int fd;

	fill(buf, len, 2);
	SYS(fd = open("f", O_CREAT | O_EXCL | O_RDWR, 0644));
	for (off = 0, k = 0; off < len; off += n, k++) {
		n = wsz[k % (sizeof(wsz) / sizeof(wsz[0]))];
		if (n > len - off)
			n = len - off;
		SYS(write_all(fd, buf + off, n));
	}
	SYS(fstat(fd, &st));
	CHECK_EQ(st.st_size, len);
	SYS(lseek(fd, 0, SEEK_SET));
	for (off = 0, k = 0; off < len; off += (size_t)r, k++) {
		n = rsz[k % (sizeof(rsz) / sizeof(rsz[0]))];
		SYS(r = read(fd, got + off, n));
		CHECK(r > 0);
	}
	CHECK_EQ(read(fd, got, 1), 0);
	CHECK_MEM(got, buf, len);
	SYS(close(fd));
	CHECK_EQ(get_file("f", got, 8 * MIB), len);
	CHECK_MEM(got, buf, len);
	/* One 8 MiB write and read, larger than any FUSE request. */
	buf = xmalloc(8 * MIB);
	fill(buf, 8 * MIB, 3);
	SYS(fd = open("g", O_CREAT | O_EXCL | O_RDWR, 0644));
	SYS(write_all(fd, buf, 8 * MIB));
	memset(got, 0, 8 * MIB);
	CHECK_EQ(pread_full(fd, got, 8 * MIB, 0), 8 * MIB);
	CHECK_MEM(got, buf, 8 * MIB);
	SYS(close(fd));
	return 0;
}

/*
 * Random pwrites at odd offsets and lengths, and truncations, against an
 * in-memory model; read back through a second descriptor as we go, then
 * after reopening.
 */
static int
c_write_random(void)
{
	size_t cap = 4 * MIB, size = 0, off, len, i;
	char *model = xmalloc(cap), *chunk = xmalloc(70000);
	char *got = xmalloc(cap);
	struct stat st;
	int fd, fd2;

	rng_state = 42;
	SYS(fd = open("f", O_CREAT | O_EXCL | O_RDWR, 0644));
	SYS(fd2 = open("f", O_RDONLY));
	for (i = 0; i < 3000; i++) {
		if (i % 250 == 249) {
			size_t ns = (size_t)(rng() % cap);

			SYS(ftruncate(fd, (off_t)ns));
			if (ns < size)
				memset(model + ns, 0, size - ns);
			size = ns;
			continue;
		}
		off = (size_t)(rng() % (cap - 1));
		len = 1 + (size_t)(rng() % 69999);
		if (len > cap - off)
			len = cap - off;
		fill(chunk, len, i);
		SYS(pwrite(fd, chunk, len, (off_t)off));
		memcpy(model + off, chunk, len);
		if (off + len > size)
			size = off + len;
		if (i % 50 == 0) {
			size_t ro = (size_t)(rng() % size), rl;

			rl = 1 + (size_t)(rng() % 300000);
			if (rl > size - ro)
				rl = size - ro;
			CHECK_EQ(pread_full(fd2, got, rl, (off_t)ro), rl);
			CHECK_MEM(got, model + ro, rl);
		}
	}
	SYS(fstat(fd2, &st));
	CHECK_EQ(st.st_size, size);
	CHECK_EQ(pread_full(fd2, got, cap, 0), size);
	CHECK_MEM(got, model, size);
	SYS(close(fd));
	SYS(close(fd2));
	memset(got, 0, cap);
	CHECK_EQ(get_file("f", got, cap), size);
	CHECK_MEM(got, model, size);
	return 0;
}

static int
c_sparse(void)
{
	off_t far = 10 * MIB + 5, pos;
	char *got = xmalloc(MIB);
	struct stat st;
	off_t off;
	long z;
	int fd;

	SYS(fd = open("f", O_CREAT | O_EXCL | O_RDWR, 0644));
	SYS(pwrite(fd, "x", 1, far));
	SYS(fstat(fd, &st));
	CHECK_EQ(st.st_size, far + 1);
	for (off = 0; off < far; off += MIB) {
		size_t n = far - off < MIB ? (size_t)(far - off) : MIB;

		memset(got, 0xaa, n);
		CHECK_EQ(pread_full(fd, got, n, off), n);
		z = nonzero_at(got, n);
		if (z >= 0)
			FAIL("hole byte %lld is 0x%02x, not zero",
			     (long long)off + z, (unsigned char)got[z]);
	}
	CHECK_EQ(pread_full(fd, got, 10, far), 1);
	CHECK_EQ(got[0], 'x');
	CHECK_EQ(pread(fd, got, 10, far + 100), 0);
	CHECK_EQ(lseek(fd, 0, SEEK_END), far + 1);
	/* SEEK_DATA/SEEK_HOLE may be exact or "all data", never past.  The
	 * kernel answers them from the file system without writing its
	 * cache back first: with FUSE's writeback cache, data are seen once
	 * written back, as after fsync. */
	SYS(fsync(fd));
	errno = 0;
	pos = lseek(fd, 0, SEEK_DATA);
	if (pos < 0 && errno != EINVAL && errno != EOPNOTSUPP)
		FAIL("lseek SEEK_DATA: %s", ename(errno));
	if (pos >= 0)
		CHECK(pos <= far);
	pos = lseek(fd, 0, SEEK_HOLE);
	if (pos >= 0)
		CHECK(pos <= far + 1);
	ERR(lseek(fd, far + 1, SEEK_DATA), ENXIO);
	/* Writing into the hole splits it. */
	SYS(pwrite(fd, "yy", 2, 3 * MIB + 1));
	CHECK_EQ(pread_full(fd, got, 4, 3 * MIB), 4);
	CHECK_MEM(got, "\0yy\0", 4);
	SYS(close(fd));
	return 0;
}

/* Offsets beyond 4 GiB (32-bit overflow) in a sparse file. */
static int
c_offset_4g(void)
{
	off_t big = (off_t)5 * 1024 * MIB + 12345;
	char got[8];
	struct stat st;
	int fd;

	SYS(fd = open("f", O_CREAT | O_EXCL | O_RDWR, 0644));
	SYS(pwrite(fd, "beemo", 5, big));
	SYS(pwrite(fd, "low", 3, 12345));
	SYS(fstat(fd, &st));
	CHECK_EQ(st.st_size, big + 5);
	CHECK_EQ(pread_full(fd, got, 5, big), 5);
	CHECK_MEM(got, "beemo", 5);
	CHECK_EQ(pread_full(fd, got, 3, 12345), 3);
	CHECK_MEM(got, "low", 3);
	CHECK_EQ(pread_full(fd, got, 5, big - (off_t)4 * 1024 * MIB), 5);
	CHECK_MEM(got, "\0\0\0\0\0", 5);
	SYS(stat("f", &st));
	CHECK_EQ(st.st_size, big + 5);
	/* Empty it before close: no 5 GiB file to scan and store. */
	SYS(ftruncate(fd, 0));
	SYS(close(fd));
	return 0;
}

static int
c_truncate(void)
{
	char *buf = xmalloc(200000), *got = xmalloc(200000);
	struct stat st;
	long z;
	int fd;

	fill(buf, 100000, 4);
	SYS(fd = open("f", O_CREAT | O_EXCL | O_RDWR, 0644));
	SYS(write_all(fd, buf, 100000));
	SYS(ftruncate(fd, 5000));
	SYS(fstat(fd, &st));
	CHECK_EQ(st.st_size, 5000);
	CHECK_EQ(pread_full(fd, got, 200000, 0), 5000);
	CHECK_MEM(got, buf, 5000);
	/* Growing again must not bring the old bytes back. */
	SYS(ftruncate(fd, 200000));
	CHECK_EQ(pread_full(fd, got, 200000, 0), 200000);
	CHECK_MEM(got, buf, 5000);
	z = nonzero_at(got + 5000, 195000);
	if (z >= 0)
		FAIL("byte %ld after truncate down and up is 0x%02x, not 0",
		     5000 + z, (unsigned char)got[5000 + z]);
	/* Unaligned cut inside a block, then extend: the tail is zero. */
	memset(buf, 0xff, 8192);
	SYS(pwrite(fd, buf, 8192, 0));
	SYS(ftruncate(fd, 4100));
	SYS(ftruncate(fd, 8192));
	CHECK_EQ(pread_full(fd, got, 8192, 0), 8192);
	CHECK_MEM(got, buf, 4100);
	CHECK(nonzero_at(got + 4100, 8192 - 4100) < 0);
	/* truncate() by name while open; the descriptor sees it. */
	SYS(set_times("f", 1000000000, 0, 1000000000, 0));
	SYS(truncate("f", 10));
	SYS(fstat(fd, &st));
	CHECK_EQ(st.st_size, 10);
	CHECK(st.st_mtim.tv_sec > 1000000000);
	CHECK(st.st_ctim.tv_sec > 1000000000);
	CHECK_EQ(pread(fd, got, 100, 20), 0);
	SYS(truncate("f", 3 * MIB + 1));
	SYS(fstat(fd, &st));
	CHECK_EQ(st.st_size, 3 * MIB + 1);
	CHECK_EQ(pread_full(fd, got, 100, 3 * MIB - 99), 100);
	CHECK(nonzero_at(got, 100) < 0);
	/* Writes after a shrink land at the right place. */
	SYS(ftruncate(fd, 0));
	SYS(lseek(fd, 0, SEEK_END));
	SYS(write(fd, "end", 3));
	CHECK_EQ(pread_full(fd, got, 100, 0), 3);
	CHECK_MEM(got, "end", 3);
	SYS(close(fd));
	ERR(truncate("missing", 0), ENOENT);
	SYS(mkdir("d", 0755));
	ERR(truncate("d", 0), EISDIR);
	return 0;
}

static int
c_rename_file(void)
{
	struct stat st, st2;
	char got[64];
	int fd;

	SYS(put_file("a", "AAAA", 4));
	SYS(stat("a", &st));
	SYS(rename("a", "b"));
	ERR(stat("a", &st2), ENOENT);
	SYS(stat("b", &st2));
	CHECK_EQ(st2.st_ino, st.st_ino);
	CHECK_EQ(get_file("b", got, sizeof(got)), 4);
	CHECK_EQ(dir_has(".", "a"), 0);
	CHECK_EQ(dir_has(".", "b"), 1);
	/* Over an existing file: the old target's content is gone. */
	SYS(put_file("t", "old target content", 18));
	SYS(fd = open("t", O_RDONLY));
	SYS(rename("b", "t"));
	ERR(stat("b", &st2), ENOENT);
	SYS(stat("t", &st2));
	CHECK_EQ(st2.st_ino, st.st_ino);
	CHECK_EQ(st2.st_size, 4);
	CHECK_EQ(get_file("t", got, sizeof(got)), 4);
	CHECK_MEM(got, "AAAA", 4);
	CHECK_EQ(dir_has(".", "t"), 1);
	/* ...except for whoever still has it open. */
	CHECK_EQ(pread_full(fd, got, sizeof(got), 0), 18);
	CHECK_MEM(got, "old target content", 18);
	SYS(fstat(fd, &st2));
	CHECK_EQ(st2.st_nlink, 0);
	SYS(close(fd));
	/* Into another directory. */
	SYS(mkdir("d", 0755));
	SYS(rename("t", "d/moved"));
	SYS(stat("d/moved", &st2));
	CHECK_EQ(st2.st_ino, st.st_ino);
	CHECK_EQ(dir_has(".", "t"), 0);
	CHECK_EQ(dir_has("d", "moved"), 1);
	/* To itself, and onto another link of the same file: no-ops. */
	SYS(rename("d/moved", "d/moved"));
	SYS(link("d/moved", "d/link"));
	SYS(rename("d/moved", "d/link"));
	SYS(stat("d/moved", &st2));
	SYS(stat("d/link", &st2));
	CHECK_EQ(st2.st_nlink, 2);
	ERR(rename("missing", "x"), ENOENT);
	ERR(rename("d/moved", "nodir/x"), ENOENT);
	/* A symlink is renamed, not its target. */
	SYS(symlink("d/moved", "sl"));
	SYS(rename("sl", "sl2"));
	SYS(lstat("sl2", &st2));
	CHECK(S_ISLNK(st2.st_mode));
	SYS(stat("d/moved", &st2));
	return 0;
}

static int
c_rename_dir(void)
{
	struct stat st, st2, sp;
	char got[8];

	SYS(mkdir("a", 0755));
	SYS(mkdir("a/sub", 0755));
	SYS(put_file("a/sub/f", "data", 4));
	SYS(stat("a", &st));
	SYS(rename("a", "b"));
	SYS(stat("b", &st2));
	CHECK_EQ(st2.st_ino, st.st_ino);
	CHECK_EQ(get_file("b/sub/f", got, sizeof(got)), 4);
	CHECK_MEM(got, "data", 4);
	ERR(stat("a/sub/f", &st2), ENOENT);
	/* Over an empty directory: allowed; over a non-empty one: not. */
	SYS(mkdir("empty", 0755));
	SYS(rename("b", "empty"));
	CHECK_EQ(get_file("empty/sub/f", got, sizeof(got)), 4);
	SYS(mkdir("full", 0755));
	SYS(put_file("full/x", "", 0));
	ERR2(rename("empty", "full"), ENOTEMPTY, EEXIST);
	CHECK_EQ(get_file("full/x", got, sizeof(got)), 0);
	SYS(put_file("file", "", 0));
	ERR(rename("empty", "file"), ENOTDIR);
	ERR(rename("file", "full"), EISDIR);
	ERR(rename("empty", "empty/sub/inside"), EINVAL);
	/* Into another directory: nlinks and ".." follow. */
	SYS(mkdir("p", 0755));
	SYS(stat(".", &st));
	SYS(rename("empty", "p/moved"));
	SYS(stat(".", &st2));
	CHECK_EQ(st2.st_nlink, st.st_nlink - 1);
	SYS(stat("p", &sp));
	CHECK_EQ(sp.st_nlink, 3);
	SYS(stat("p/moved/..", &st2));
	CHECK_EQ(st2.st_ino, sp.st_ino);
	CHECK_EQ(get_file("p/moved/sub/f", got, sizeof(got)), 4);
	return 0;
}

static int
c_rename_noreplace(void)
{
	char got[8];

	SYS(put_file("a", "AAA", 3));
	SYS(put_file("b", "BBB", 3));
	errno = 0;
	if (renameat2(AT_FDCWD, "a", AT_FDCWD, "b", RENAME_NOREPLACE) == 0)
		FAIL("RENAME_NOREPLACE replaced an existing file");
	if (errno != EEXIST)
		FAIL("RENAME_NOREPLACE onto existing: %s, expected EEXIST",
		     ename(errno));
	CHECK_EQ(get_file("a", got, sizeof(got)), 3);
	CHECK_MEM(got, "AAA", 3);
	CHECK_EQ(get_file("b", got, sizeof(got)), 3);
	CHECK_MEM(got, "BBB", 3);
	/* (The VFS itself refuses an existing target; this reaches the FS.) */
	errno = 0;
	if (renameat2(AT_FDCWD, "a", AT_FDCWD, "c", RENAME_NOREPLACE) < 0) {
		if (errno == EINVAL)
			FAIL("renameat2 RENAME_NOREPLACE not supported "
			     "(EINVAL)");
		FAIL("RENAME_NOREPLACE to a new name: %s", ename(errno));
	}
	CHECK_EQ(get_file("c", got, sizeof(got)), 3);
	CHECK_MEM(got, "AAA", 3);
	CHECK_EQ(dir_has(".", "a"), 0);
	SYS(mkdir("d", 0755));
	ERR(renameat2(AT_FDCWD, "c", AT_FDCWD, "d", RENAME_NOREPLACE), EEXIST);
	return 0;
}

static int
c_rename_exchange(void)
{
	struct stat sa, sb, st;
	char got[8];

	SYS(put_file("a", "AAA", 3));
	SYS(put_file("b", "BBBB", 4));
	SYS(stat("a", &sa));
	SYS(stat("b", &sb));
	errno = 0;
	if (renameat2(AT_FDCWD, "a", AT_FDCWD, "b", RENAME_EXCHANGE) < 0) {
		if (errno == EINVAL)
			FAIL("renameat2 RENAME_EXCHANGE not supported "
			     "(EINVAL)");
		FAIL("RENAME_EXCHANGE: %s", ename(errno));
	}
	SYS(stat("a", &st));
	CHECK_EQ(st.st_ino, sb.st_ino);
	CHECK_EQ(get_file("a", got, sizeof(got)), 4);
	CHECK_MEM(got, "BBBB", 4);
	SYS(stat("b", &st));
	CHECK_EQ(st.st_ino, sa.st_ino);
	CHECK_EQ(get_file("b", got, sizeof(got)), 3);
	CHECK_MEM(got, "AAA", 3);
	/* A directory and a file in different directories. */
	SYS(mkdir("d", 0755));
	SYS(mkdir("d/sub", 0755));
	SYS(put_file("d/sub/f", "in", 2));
	SYS(mkdir("e", 0755));
	SYS(put_file("e/file", "ef", 2));
	SYS(renameat2(AT_FDCWD, "d/sub", AT_FDCWD, "e/file", RENAME_EXCHANGE));
	SYS(lstat("d/sub", &st));
	CHECK(S_ISREG(st.st_mode));
	CHECK_EQ(get_file("d/sub", got, sizeof(got)), 2);
	CHECK_MEM(got, "ef", 2);
	SYS(lstat("e/file", &st));
	CHECK(S_ISDIR(st.st_mode));
	CHECK_EQ(get_file("e/file/f", got, sizeof(got)), 2);
	CHECK_MEM(got, "in", 2);
	SYS(stat("d", &st));
	CHECK_EQ(st.st_nlink, 2);
	SYS(stat("e", &st));
	CHECK_EQ(st.st_nlink, 3);
	ERR(renameat2(AT_FDCWD, "a", AT_FDCWD, "missing", RENAME_EXCHANGE),
	    ENOENT);
	return 0;
}

static int
c_unlink_open(void)
{
	char got[64];
	struct stat st;
	int fd, fd2;

	SYS(fd = open("f", O_CREAT | O_EXCL | O_RDWR, 0644));
	SYS(write(fd, "hello", 5));
	SYS(unlink("f"));
	CHECK_EQ(dir_has(".", "f"), 0);
	ERR(stat("f", &st), ENOENT);
	ERR(unlink("f"), ENOENT);
	SYS(fstat(fd, &st));
	CHECK_EQ(st.st_nlink, 0);
	CHECK_EQ(st.st_size, 5);
	SYS(write(fd, " world", 6));
	CHECK_EQ(pread_full(fd, got, sizeof(got), 0), 11);
	CHECK_MEM(got, "hello world", 11);
	SYS(ftruncate(fd, 4));
	SYS(fchmod(fd, 0600));
	SYS(fstat(fd, &st));
	CHECK_EQ(st.st_size, 4);
	CHECK_MODE(st.st_mode & 07777, 0600);
	/* A new file of the same name is a different file. */
	SYS(fd2 = open("f", O_CREAT | O_EXCL | O_RDWR, 0644));
	SYS(write(fd2, "other", 5));
	CHECK_EQ(pread_full(fd, got, sizeof(got), 0), 4);
	CHECK_MEM(got, "hell", 4);
	SYS(close(fd2));
	SYS(close(fd));
	CHECK_EQ(get_file("f", got, sizeof(got)), 5);
	CHECK_MEM(got, "other", 5);
	CHECK_EQ(dir_has(".", "f"), 1);
	return 0;
}

static int
c_mkdir_rmdir(void)
{
	struct stat st;

	SYS(mkdir("d", 0777));
	SYS(stat("d", &st));
	CHECK(S_ISDIR(st.st_mode));
	CHECK_MODE(st.st_mode & 07777, 0755);
	ERR(mkdir("d", 0755), EEXIST);
	SYS(put_file("d/f", "", 0));
	ERR(rmdir("d"), ENOTEMPTY);
	ERR(rmdir("d/f"), ENOTDIR);
	ERR(unlink("d"), EISDIR);
	ERR(rmdir("d/."), EINVAL);
	ERR(rmdir("missing"), ENOENT);
	ERR(mkdir("missing/sub", 0755), ENOENT);
	ERR(mkdir("d/f/sub", 0755), ENOTDIR);
	SYS(unlink("d/f"));
	SYS(rmdir("d"));
	ERR(stat("d", &st), ENOENT);
	CHECK_EQ(dir_has(".", "d"), 0);
	SYS(mkdir("s", 01777));
	SYS(stat("s", &st));
	CHECK_MODE(st.st_mode & 07777, 01755);
	SYS(mkdir("s/x", 0700));
	SYS(stat("s/x", &st));
	CHECK_MODE(st.st_mode & 07777, 0700);
	return 0;
}

static int
c_dir_nlink(void)
{
	struct stat st;

	SYS(mkdir("d", 0755));
	SYS(stat("d", &st));
	CHECK_EQ(st.st_nlink, 2);
	SYS(mkdir("d/a", 0755));
	SYS(mkdir("d/b", 0755));
	SYS(mkdir("d/c", 0755));
	SYS(put_file("d/file", "", 0));
	SYS(symlink("a", "d/link"));
	SYS(stat("d", &st));
	CHECK_EQ(st.st_nlink, 5);
	SYS(rmdir("d/c"));
	SYS(stat("d", &st));
	CHECK_EQ(st.st_nlink, 4);
	SYS(mkdir("e", 0755));
	SYS(rename("d/b", "e/b"));
	SYS(stat("d", &st));
	CHECK_EQ(st.st_nlink, 3);
	SYS(stat("e", &st));
	CHECK_EQ(st.st_nlink, 3);
	SYS(stat("d/a", &st));
	CHECK_EQ(st.st_nlink, 2);
	return 0;
}

static int
c_symlink(void)
{
	char target[1001], got[2048];
	struct stat st;
	ssize_t n;
	int fd;

	SYS(symlink("does/not/exist", "dangling"));
	SYS(lstat("dangling", &st));
	CHECK(S_ISLNK(st.st_mode));
	CHECK_EQ(st.st_size, 14);
	SYS(n = readlink("dangling", got, sizeof(got)));
	CHECK_EQ(n, 14);
	CHECK_MEM(got, "does/not/exist", 14);
	ERR(stat("dangling", &st), ENOENT);
	ERR(symlink("x", "dangling"), EEXIST);
	/* A short buffer truncates silently. */
	CHECK_EQ(readlink("dangling", got, 4), 4);
	CHECK_MEM(got, "does", 4);
	/* Through a symlink to a file and to a directory. */
	SYS(put_file("file", "content", 7));
	SYS(symlink("file", "tofile"));
	SYS(stat("tofile", &st));
	CHECK(S_ISREG(st.st_mode));
	CHECK_EQ(st.st_size, 7);
	CHECK_EQ(get_file("tofile", got, sizeof(got)), 7);
	SYS(mkdir("dir", 0755));
	SYS(put_file("dir/in", "in", 2));
	SYS(symlink("../file", "dir/up"));
	CHECK_EQ(get_file("dir/up", got, sizeof(got)), 7);
	SYS(symlink("dir", "todir"));
	CHECK_EQ(get_file("todir/in", got, sizeof(got)), 2);
	SYS(fd = open("todir", O_RDONLY | O_DIRECTORY));
	SYS(close(fd));
	/* Long target, odd bytes. */
	memset(target, 'T', 1000);
	memcpy(target, "/a b\t\xc3\xa9", 7);
	target[1000] = '\0';
	SYS(symlink(target, "long"));
	SYS(lstat("long", &st));
	CHECK_EQ(st.st_size, 1000);
	CHECK_EQ(readlink("long", got, sizeof(got)), 1000);
	CHECK_MEM(got, target, 1000);
	ERR(readlink("file", got, sizeof(got)), EINVAL);
	ERR(readlink("missing", got, sizeof(got)), ENOENT);
	/* A loop. */
	SYS(symlink("loop2", "loop1"));
	SYS(symlink("loop1", "loop2"));
	ERR(stat("loop1", &st), ELOOP);
	return 0;
}

static int
c_hardlink(void)
{
	struct stat sa, sb;
	char got[16];
	int fd;

	SYS(put_file("a", "one", 3));
	SYS(link("a", "b"));
	SYS(stat("a", &sa));
	SYS(stat("b", &sb));
	CHECK_EQ(sa.st_nlink, 2);
	CHECK_EQ(sb.st_ino, sa.st_ino);
	CHECK_EQ(sb.st_nlink, 2);
	SYS(fd = open("b", O_WRONLY | O_APPEND));
	SYS(write(fd, "+two", 4));
	SYS(close(fd));
	CHECK_EQ(get_file("a", got, sizeof(got)), 7);
	CHECK_MEM(got, "one+two", 7);
	SYS(mkdir("d", 0755));
	SYS(link("b", "d/c"));
	SYS(stat("a", &sa));
	CHECK_EQ(sa.st_nlink, 3);
	SYS(stat("d/c", &sb));
	CHECK_EQ(sb.st_nlink, 3);
	CHECK_EQ(sb.st_ino, sa.st_ino);
	/* Attributes belong to the inode. */
	SYS(chmod("d/c", 0600));
	SYS(stat("a", &sa));
	CHECK_MODE(sa.st_mode & 07777, 0600);
	SYS(unlink("a"));
	SYS(stat("b", &sb));
	CHECK_EQ(sb.st_nlink, 2);
	CHECK_EQ(get_file("d/c", got, sizeof(got)), 7);
	CHECK_EQ(dir_has(".", "a"), 0);
	CHECK_EQ(dir_has(".", "b"), 1);
	ERR(link("b", "d/c"), EEXIST);
	ERR(link("d", "dlink"), EPERM);
	ERR(link("missing", "x"), ENOENT);
	/* linkat without AT_SYMLINK_FOLLOW links the symlink itself. */
	SYS(symlink("b", "sl"));
	SYS(linkat(AT_FDCWD, "sl", AT_FDCWD, "sl2", 0));
	SYS(lstat("sl", &sa));
	SYS(lstat("sl2", &sb));
	CHECK(S_ISLNK(sb.st_mode));
	CHECK_EQ(sb.st_ino, sa.st_ino);
	CHECK_EQ(sb.st_nlink, 2);
	SYS(linkat(AT_FDCWD, "sl", AT_FDCWD, "sl3", AT_SYMLINK_FOLLOW));
	SYS(lstat("sl3", &sa));
	CHECK(S_ISREG(sa.st_mode));
	CHECK_EQ(sa.st_nlink, 3);
	SYS(unlink("b"));
	SYS(unlink("d/c"));
	SYS(stat("sl3", &sa));
	CHECK_EQ(sa.st_nlink, 1);
	CHECK_EQ(get_file("sl3", got, sizeof(got)), 7);
	return 0;
}

static int
c_chmod_chown(void)
{
	struct stat st;
	int fd;

	SYS(put_file("f", "x", 1));
	SYS(chmod("f", 0640));
	SYS(stat("f", &st));
	CHECK_MODE(st.st_mode & 07777, 0640);
	CHECK(S_ISREG(st.st_mode));
	SYS(fd = open("f", O_RDONLY));
	SYS(fchmod(fd, 04755));
	SYS(fstat(fd, &st));
	CHECK_MODE(st.st_mode & 07777, 04755);
	SYS(fchmod(fd, 02711));
	SYS(fstat(fd, &st));
	CHECK_MODE(st.st_mode & 07777, 02711);
	SYS(fchmod(fd, 0));
	SYS(fstat(fd, &st));
	CHECK_MODE(st.st_mode & 07777, 0);
	SYS(close(fd));
	SYS(chown("f", 1234, 5678));
	SYS(stat("f", &st));
	CHECK_EQ(st.st_uid, 1234);
	CHECK_EQ(st.st_gid, 5678);
	SYS(chown("f", (uid_t)-1, 42));
	SYS(stat("f", &st));
	CHECK_EQ(st.st_uid, 1234);
	CHECK_EQ(st.st_gid, 42);
	SYS(chown("f", 4000000000u, (gid_t)-1));
	SYS(stat("f", &st));
	CHECK_EQ(st.st_uid, 4000000000u);
	CHECK_EQ(st.st_gid, 42);
	/* chown clears set-user-ID and (with group exec) set-group-ID. */
	SYS(chmod("f", 06755));
	SYS(chown("f", 1000, 1000));
	SYS(stat("f", &st));
	CHECK_MODE(st.st_mode & 07777, 0755);
	/* A directory keeps them. */
	SYS(mkdir("d", 0755));
	SYS(chmod("d", 03775));
	SYS(chown("d", 1000, 1000));
	SYS(stat("d", &st));
	CHECK_MODE(st.st_mode & 07777, 03775);
	/* lchown changes the link, not the target. */
	SYS(symlink("f", "l"));
	SYS(lchown("l", 77, 88));
	SYS(lstat("l", &st));
	CHECK_EQ(st.st_uid, 77);
	CHECK_EQ(st.st_gid, 88);
	SYS(stat("l", &st));
	CHECK_EQ(st.st_uid, 1000);
	SYS(chown("l", 99, 99));
	SYS(stat("f", &st));
	CHECK_EQ(st.st_uid, 99);
	SYS(lstat("l", &st));
	CHECK_EQ(st.st_uid, 77);
	ERR(chmod("missing", 0644), ENOENT);
	return 0;
}

/* A file created in a set-group-ID directory takes its group. */
static int
c_setgid_dir(void)
{
	struct stat st;

	SYS(mkdir("d", 0755));
	SYS(chown("d", 0, 4242));
	SYS(chmod("d", 02775));
	SYS(put_file("d/f", "", 0));
	SYS(stat("d/f", &st));
	CHECK_EQ(st.st_gid, 4242);
	CHECK_EQ(st.st_uid, geteuid());
	SYS(mkdir("d/sub", 0755));
	SYS(stat("d/sub", &st));
	CHECK_EQ(st.st_gid, 4242);
	CHECK(st.st_mode & S_ISGID);
	SYS(symlink("f", "d/l"));
	SYS(lstat("d/l", &st));
	CHECK_EQ(st.st_gid, 4242);
	return 0;
}

static int
c_utimens(void)
{
	struct timespec ts[2], now;
	struct stat st;
	int fd;

	SYS(put_file("f", "x", 1));
	SYS(set_times("f", 1000000000, 123456789, 1500000000, 987654321));
	SYS(stat("f", &st));
	CHECK_EQ(st.st_atim.tv_sec, 1000000000);
	CHECK_EQ(st.st_atim.tv_nsec, 123456789);
	CHECK_EQ(st.st_mtim.tv_sec, 1500000000);
	CHECK_EQ(st.st_mtim.tv_nsec, 987654321);
	/* UTIME_OMIT keeps, UTIME_NOW sets to now. */
	ts[0].tv_sec = 0;
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1].tv_sec = 1600000000;
	ts[1].tv_nsec = 1;
	SYS(utimensat(AT_FDCWD, "f", ts, 0));
	SYS(stat("f", &st));
	CHECK_EQ(st.st_atim.tv_sec, 1000000000);
	CHECK_EQ(st.st_atim.tv_nsec, 123456789);
	CHECK_EQ(st.st_mtim.tv_sec, 1600000000);
	CHECK_EQ(st.st_mtim.tv_nsec, 1);
	ts[0].tv_nsec = UTIME_NOW;
	ts[1].tv_nsec = UTIME_OMIT;
	SYS(utimensat(AT_FDCWD, "f", ts, 0));
	clock_gettime(CLOCK_REALTIME, &now);
	SYS(stat("f", &st));
	CHECK(st.st_atim.tv_sec > now.tv_sec - 10 &&
	      st.st_atim.tv_sec <= now.tv_sec + 1);
	CHECK_EQ(st.st_mtim.tv_sec, 1600000000);
	/* futimens on a descriptor. */
	SYS(fd = open("f", O_RDONLY));
	ts[0].tv_sec = 1234567890;
	ts[0].tv_nsec = 999999999;
	ts[1].tv_sec = 1234567891;
	ts[1].tv_nsec = 1000;
	SYS(futimens(fd, ts));
	SYS(fstat(fd, &st));
	CHECK_EQ(st.st_atim.tv_nsec, 999999999);
	CHECK_EQ(st.st_mtim.tv_sec, 1234567891);
	CHECK_EQ(st.st_mtim.tv_nsec, 1000);
	SYS(close(fd));
	/* On a symlink itself, and on a directory. */
	SYS(symlink("f", "l"));
	SYS(set_times("l", 1100000000, 5, 1100000000, 7));
	SYS(lstat("l", &st));
	CHECK_EQ(st.st_mtim.tv_sec, 1100000000);
	CHECK_EQ(st.st_mtim.tv_nsec, 7);
	SYS(stat("f", &st));
	CHECK_EQ(st.st_mtim.tv_sec, 1234567891);
	SYS(mkdir("d", 0755));
	SYS(set_times("d", 1, 2, 3, 4));
	SYS(stat("d", &st));
	CHECK_EQ(st.st_mtim.tv_sec, 3);
	CHECK_EQ(st.st_mtim.tv_nsec, 4);
	ts[0].tv_nsec = 1000000000;
	ERR(utimensat(AT_FDCWD, "f", ts, 0), EINVAL);
	return 0;
}

/* Times outside 1970..2038, which ext4 (256-byte inodes) stores. */
static int
c_utimens_range(void)
{
	struct stat st;

	SYS(put_file("f", "x", 1));
	SYS(set_times("f", 4102444800LL, 1, 4102444801LL, 999999999));
	SYS(stat("f", &st));
	CHECK_EQ(st.st_mtim.tv_sec, 4102444801LL);
	CHECK_EQ(st.st_mtim.tv_nsec, 999999999);
	CHECK_EQ(st.st_atim.tv_sec, 4102444800LL);
	SYS(set_times("f", -315619200, 0, -1, 500000000));
	SYS(stat("f", &st));
	CHECK_EQ(st.st_mtim.tv_sec, -1);
	CHECK_EQ(st.st_mtim.tv_nsec, 500000000);
	CHECK_EQ(st.st_atim.tv_sec, -315619200);
	SYS(set_times("f", 0, 0, 0, 0));
	SYS(stat("f", &st));
	CHECK_EQ(st.st_mtim.tv_sec, 0);
	CHECK_EQ(st.st_mtim.tv_nsec, 0);
	return 0;
}

/*
 * What cp -p and tar do: write, set the times, close.  A writeback
 * cache that flushes late must not overwrite the times set afterwards.
 * Writes and truncation do update mtime and ctime.
 */
static int
c_mtime_write(void)
{
	struct timespec ts[2] = {{1300000000, 111}, {1300000001, 222222222}};
	char *buf = xmalloc(3 * MIB);
	struct stat st;
	int fd;

	fill(buf, 3 * MIB, 5);
	SYS(fd = open("f", O_CREAT | O_EXCL | O_WRONLY, 0644));
	SYS(write_all(fd, buf, 3 * MIB));
	SYS(futimens(fd, ts));
	SYS(close(fd));
	SYS(stat("f", &st));
	CHECK_EQ(st.st_mtim.tv_sec, 1300000001);
	CHECK_EQ(st.st_mtim.tv_nsec, 222222222);
	SYS(fd = open("g", O_CREAT | O_EXCL | O_WRONLY, 0644));
	SYS(write_all(fd, buf, 3 * MIB));
	SYS(utimensat(AT_FDCWD, "g", ts, 0));
	SYS(close(fd));
	SYS(stat("g", &st));
	CHECK_EQ(st.st_mtim.tv_sec, 1300000001);
	CHECK_EQ(st.st_mtim.tv_nsec, 222222222);
	/* A later write moves mtime and ctime forward. */
	SYS(fd = open("f", O_WRONLY));
	SYS(pwrite(fd, "z", 1, 100));
	SYS(fstat(fd, &st));
	CHECK(st.st_mtim.tv_sec > 1300000001);
	CHECK(st.st_ctim.tv_sec > 1300000001);
	SYS(close(fd));
	SYS(stat("f", &st));
	CHECK(st.st_mtim.tv_sec > 1300000001);
	return 0;
}

static int
c_xattr(void)
{
	char got[4096], list[8192];
	unsigned char bin[256];
	ssize_t n;
	int fd, i;

	for (i = 0; i < 256; i++)
		bin[i] = (unsigned char)i;
	SYS(put_file("f", "x", 1));
	SYS(setxattr("f", "user.a", "hello", 5, 0));
	CHECK_EQ(getxattr("f", "user.a", NULL, 0), 5);
	CHECK_EQ(getxattr("f", "user.a", got, sizeof(got)), 5);
	CHECK_MEM(got, "hello", 5);
	ERR(getxattr("f", "user.a", got, 2), ERANGE);
	ERR(setxattr("f", "user.a", "x", 1, XATTR_CREATE), EEXIST);
	ERR(setxattr("f", "user.b", "x", 1, XATTR_REPLACE), ENODATA);
	ERR(getxattr("f", "user.b", got, sizeof(got)), ENODATA);
	SYS(setxattr("f", "user.a", "bye", 3, XATTR_REPLACE));
	CHECK_EQ(getxattr("f", "user.a", got, sizeof(got)), 3);
	CHECK_MEM(got, "bye", 3);
	SYS(setxattr("f", "user.bin", bin, sizeof(bin), XATTR_CREATE));
	CHECK_EQ(getxattr("f", "user.bin", got, sizeof(got)), 256);
	CHECK_MEM(got, bin, 256);
	SYS(setxattr("f", "user.empty", "", 0, 0));
	CHECK_EQ(getxattr("f", "user.empty", got, sizeof(got)), 0);
	/* The list holds each name once, NUL-terminated. */
	SYS(n = listxattr("f", list, sizeof(list)));
	CHECK_EQ(n, (ssize_t)(sizeof("user.a") + sizeof("user.bin") +
	                      sizeof("user.empty")));
	CHECK_EQ(listxattr("f", NULL, 0), n);
	ERR(listxattr("f", list, 3), ERANGE);
	SYS(removexattr("f", "user.a"));
	ERR(getxattr("f", "user.a", got, sizeof(got)), ENODATA);
	ERR(removexattr("f", "user.a"), ENODATA);
	CHECK_EQ(listxattr("f", list, sizeof(list)),
	         (ssize_t)(sizeof("user.bin") + sizeof("user.empty")));
	/* Many names. */
	for (i = 0; i < 100; i++) {
		char name[32], val[32];

		snprintf(name, sizeof(name), "user.many%03d", i);
		snprintf(val, sizeof(val), "value %d", i * 7);
		SYS(setxattr("f", name, val, strlen(val), XATTR_CREATE));
	}
	for (i = 0; i < 100; i++) {
		char name[32], val[32];

		snprintf(name, sizeof(name), "user.many%03d", i);
		snprintf(val, sizeof(val), "value %d", i * 7);
		CHECK_EQ(getxattr("f", name, got, sizeof(got)), strlen(val));
		CHECK_MEM(got, val, strlen(val));
	}
	CHECK_EQ(listxattr("f", list, sizeof(list)),
	         (ssize_t)(sizeof("user.bin") + sizeof("user.empty") +
	                   100 * sizeof("user.many000")));
	/* By descriptor, on a directory, through rename and hard link. */
	SYS(fd = open("f", O_RDONLY));
	SYS(fsetxattr(fd, "user.fd", "v", 1, 0));
	CHECK_EQ(fgetxattr(fd, "user.fd", got, sizeof(got)), 1);
	SYS(fremovexattr(fd, "user.fd"));
	SYS(close(fd));
	SYS(mkdir("d", 0755));
	SYS(setxattr("d", "user.dir", "dv", 2, 0));
	CHECK_EQ(getxattr("d", "user.dir", got, sizeof(got)), 2);
	SYS(rename("f", "g"));
	SYS(link("g", "h"));
	CHECK_EQ(getxattr("h", "user.bin", got, sizeof(got)), 256);
	CHECK_MEM(got, bin, 256);
	SYS(setxattr("h", "user.viah", "1", 1, 0));
	CHECK_EQ(getxattr("g", "user.viah", got, sizeof(got)), 1);
	/* The VFS refuses user.* on symlinks (and special files). */
	SYS(symlink("g", "l"));
	ERR(lsetxattr("l", "user.x", "v", 1, 0), EPERM);
	SYS(lsetxattr("l", "trusted.x", "v", 1, 0));
	CHECK_EQ(lgetxattr("l", "trusted.x", got, sizeof(got)), 1);
	CHECK_EQ(getxattr("l", "user.bin", got, sizeof(got)), 256);
	ERR(getxattr("missing", "user.a", got, sizeof(got)), ENOENT);
	return 0;
}

/* Attribute names: length limits, empty and unknown namespaces. */
static int
c_xattr_names(void)
{
	char name[300], got[8];

	SYS(put_file("f", "x", 1));
	memcpy(name, "user.", 5);
	memset(name + 5, 'n', 250);
	name[255] = '\0';
	SYS(setxattr("f", name, "v", 1, XATTR_CREATE));
	CHECK_EQ(getxattr("f", name, got, sizeof(got)), 1);
	CHECK_EQ(listxattr("f", NULL, 0), 256);
	name[255] = 'n';
	name[256] = '\0';
	ERR(setxattr("f", name, "v", 1, 0), ERANGE);
	ERR(setxattr("f", "user.", "v", 1, 0), EINVAL);
	ERR(setxattr("f", "nonamespace", "v", 1, 0), EOPNOTSUPP);
	ERR(getxattr("f", "nonamespace", got, sizeof(got)), EOPNOTSUPP);
	return 0;
}

/* One large value (-X bytes), replaced by a smaller one. */
static int
c_xattr_large(void)
{
	char *val = xmalloc(large_xattr), *got = xmalloc(65536);

	fill(val, large_xattr, 6);
	SYS(put_file("f", "x", 1));
	SYS(setxattr("f", "user.large", val, large_xattr, 0));
	CHECK_EQ(getxattr("f", "user.large", NULL, 0), large_xattr);
	CHECK_EQ(getxattr("f", "user.large", got, 65536), large_xattr);
	CHECK_MEM(got, val, large_xattr);
	SYS(setxattr("f", "user.large", val + 1, 1000, XATTR_REPLACE));
	CHECK_EQ(getxattr("f", "user.large", got, 65536), 1000);
	CHECK_MEM(got, val + 1, 1000);
	SYS(setxattr("f", "user.large", val, large_xattr, XATTR_REPLACE));
	CHECK_EQ(getxattr("f", "user.large", got, 65536), large_xattr);
	CHECK_MEM(got, val, large_xattr);
	SYS(removexattr("f", "user.large"));
	return 0;
}

static int
c_fifo_mknod(void)
{
	struct stat st;
	char got[8];
	int fd;

	SYS(mkfifo("fifo", 0640));
	SYS(lstat("fifo", &st));
	CHECK(S_ISFIFO(st.st_mode));
	CHECK_MODE(st.st_mode & 07777, 0640);
	CHECK_EQ(dir_has(".", "fifo"), 1);
	/* Data goes through the kernel pipe, not the filesystem. */
	SYS(fd = open("fifo", O_RDWR | O_NONBLOCK));
	SYS(write(fd, "ping", 4));
	CHECK_EQ(read(fd, got, sizeof(got)), 4);
	CHECK_MEM(got, "ping", 4);
	SYS(close(fd));
	SYS(mknod("chr", S_IFCHR | 0600, makedev(1, 7)));
	SYS(lstat("chr", &st));
	CHECK(S_ISCHR(st.st_mode));
	CHECK_MODE(st.st_mode & 07777, 0600);
	CHECK_EQ(major(st.st_rdev), 1);
	CHECK_EQ(minor(st.st_rdev), 7);
	SYS(mknod("blk", S_IFBLK | 0660, makedev(259, 70000)));
	SYS(lstat("blk", &st));
	CHECK(S_ISBLK(st.st_mode));
	CHECK_EQ(major(st.st_rdev), 259);
	CHECK_EQ(minor(st.st_rdev), 70000);
	SYS(mknod("reg", S_IFREG | 0644, 0));
	SYS(lstat("reg", &st));
	CHECK(S_ISREG(st.st_mode));
	CHECK_EQ(st.st_size, 0);
	SYS(mknod("sock", S_IFSOCK | 0755, 0));
	SYS(lstat("sock", &st));
	CHECK(S_ISSOCK(st.st_mode));
	ERR(mkfifo("fifo", 0644), EEXIST);
	/* Special files are renamed and linked like others. */
	SYS(rename("chr", "chr2"));
	SYS(link("chr2", "chr3"));
	SYS(lstat("chr3", &st));
	CHECK(S_ISCHR(st.st_mode));
	CHECK_EQ(st.st_nlink, 2);
	CHECK_EQ(minor(st.st_rdev), 7);
	return 0;
}

static int
c_statfs(void)
{
	struct statfs sf, sf2;
	struct statvfs sv;
	int fd;

	SYS(statfs(".", &sf));
	CHECK(sf.f_bsize > 0);
	CHECK(sf.f_blocks > 0);
	CHECK(sf.f_bfree <= sf.f_blocks);
	CHECK(sf.f_bavail <= sf.f_bfree);
	CHECK(sf.f_ffree <= sf.f_files);
	CHECK_EQ(sf.f_namelen, 255);
	SYS(statvfs(".", &sv));
	CHECK(sv.f_frsize > 0);
	CHECK_EQ(sv.f_namemax, 255);
	CHECK(sv.f_blocks > 0);
	CHECK_EQ(sv.f_flag & ST_RDONLY, 0);
	SYS(fd = open(".", O_RDONLY | O_DIRECTORY));
	SYS(fstatfs(fd, &sf2));
	CHECK_EQ(sf2.f_type, sf.f_type);
	CHECK_EQ(sf2.f_bsize, sf.f_bsize);
	SYS(close(fd));
	return 0;
}

static int
c_fsync(void)
{
	char buf[100000], got[100000];
	int fd;

	fill(buf, sizeof(buf), 7);
	SYS(fd = open("f", O_CREAT | O_EXCL | O_RDWR, 0644));
	SYS(write_all(fd, buf, sizeof(buf)));
	SYS(fsync(fd));
	SYS(pwrite(fd, "abc", 3, 5));
	SYS(fdatasync(fd));
	memcpy(buf + 5, "abc", 3);
	SYS(syncfs(fd));
	SYS(close(fd));
	SYS(fd = open(".", O_RDONLY | O_DIRECTORY));
	SYS(fsync(fd));
	SYS(close(fd));
	SYS(fd = open("f", O_RDONLY));
	SYS(fsync(fd)); /* allowed on a read-only descriptor */
	SYS(close(fd));
	CHECK_EQ(get_file("f", got, sizeof(got)), sizeof(buf));
	CHECK_MEM(got, buf, sizeof(buf));
	return 0;
}

static int
c_mmap(void)
{
	size_t len = 3 * 4096 + 123;
	char *buf = xmalloc(len), *got = xmalloc(len + 10);
	char *p;
	int fd;

	fill(buf, len, 8);
	SYS(fd = open("f", O_CREAT | O_EXCL | O_RDWR, 0644));
	SYS(ftruncate(fd, (off_t)len));
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		FAIL("mmap shared: %s", ename(errno));
	memcpy(p, buf, len);
	SYS(msync(p, len, MS_SYNC));
	SYS(munmap(p, len));
	SYS(close(fd));
	CHECK_EQ(get_file("f", got, len + 10), len);
	CHECK_MEM(got, buf, len);
	/* A write through the descriptor shows in a shared mapping... */
	SYS(fd = open("f", O_RDWR));
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		FAIL("mmap shared: %s", ename(errno));
	SYS(pwrite(fd, "fromfd", 6, 5000));
	CHECK_MEM(p + 5000, "fromfd", 6);
	/* ...and a store in the mapping shows to read() without msync. */
	memcpy(p + 7000, "frommap", 7);
	CHECK_EQ(pread_full(fd, got, 7, 7000), 7);
	CHECK_MEM(got, "frommap", 7);
	SYS(munmap(p, len));
	/* A private mapping does not write back. */
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		FAIL("mmap private: %s", ename(errno));
	memcpy(p, "private", 7);
	SYS(munmap(p, len));
	SYS(close(fd));
	memcpy(buf + 5000, "fromfd", 6);
	memcpy(buf + 7000, "frommap", 7);
	CHECK_EQ(get_file("f", got, len + 10), len);
	CHECK_MEM(got, buf, len);
	return 0;
}

static int
c_name_max(void)
{
	char n255[256], n256[257], u255[256], got[8];
	struct stat st;
	int fd, i;

	memset(n255, 'n', 255);
	n255[255] = '\0';
	memset(n256, 'n', 256);
	n256[256] = '\0';
	/* 85 two-byte "é" and 85 ASCII letters: 255 bytes. */
	for (i = 0; i < 85; i++) {
		u255[2 * i] = (char)0xc3;
		u255[2 * i + 1] = (char)0xa9;
		u255[170 + i] = 'u';
	}
	u255[255] = '\0';
	SYS(put_file(n255, "255", 3));
	SYS(stat(n255, &st));
	CHECK_EQ(st.st_size, 3);
	CHECK_EQ(dir_has(".", n255), 1);
	SYS(put_file(u255, "utf", 3));
	CHECK_EQ(dir_has(".", u255), 1);
	CHECK_EQ(get_file(u255, got, sizeof(got)), 3);
	SYS(mkdir("d", 0755));
	SYS(mkdir("d/"
	          "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	          "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	          "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	          "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	          "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	          "xxxxx",
	          0755));
	ERR(open(n256, O_CREAT | O_WRONLY, 0644), ENAMETOOLONG);
	ERR(lstat(n256, &st), ENAMETOOLONG);
	ERR(mkdir(n256, 0755), ENAMETOOLONG);
	ERR(symlink("x", n256), ENAMETOOLONG);
	ERR(mkfifo(n256, 0644), ENAMETOOLONG);
	ERR(rename(n255, n256), ENAMETOOLONG);
	ERR(link(n255, n256), ENAMETOOLONG);
	CHECK_EQ(dir_has(".", n256), 0);
	SYS(rename(n255, "short"));
	SYS(rename("short", n255));
	SYS(fd = open(n255, O_RDONLY));
	SYS(close(fd));
	SYS(unlink(n255));
	SYS(unlink(u255));
	return 0;
}

/* A relative path of about 4000 bytes through 20 nested directories. */
static int
c_path_max(void)
{
	char path[4200], comp[200], got[8];
	size_t len = 0;
	struct stat st;
	int i;

	memset(comp, 'p', sizeof(comp) - 1);
	comp[sizeof(comp) - 1] = '\0';
	for (i = 0; i < 20; i++) {
		len += (size_t)snprintf(path + len, sizeof(path) - len, "%s%s",
		                        i ? "/" : "", comp);
		SYS(mkdir(path, 0755));
	}
	len += (size_t)snprintf(path + len, sizeof(path) - len, "/file");
	CHECK(len >= 3990 && len < 4096);
	SYS(put_file(path, "deep", 4));
	SYS(stat(path, &st));
	CHECK_EQ(st.st_size, 4);
	CHECK_EQ(get_file(path, got, sizeof(got)), 4);
	CHECK_MEM(got, "deep", 4);
	/* 4096 bytes and more: too long for the kernel. */
	memset(path + len, 'q', 4200 - len - 1);
	path[4199] = '\0';
	ERR(open(path, O_CREAT | O_WRONLY, 0644), ENAMETOOLONG);
	SYS(rm_rf(AT_FDCWD, comp));
	ERR(stat(comp, &st), ENOENT);
	return 0;
}

#define NBIG 1000

/* Name of entry I of the big directory: various lengths up to 206. */
static void
big_name(char *buf, size_t size, int i)
{
	int n = snprintf(buf, size, "e%04d_", i), pad = (i * 37) % 201;

	memset(buf + n, 'x', (size_t)pad);
	buf[n + pad] = '\0';
}

static int
c_readdir_big(void)
{
	static char seen[NBIG], names[NBIG + 3][256], path[300];
	static long pos[NBIG + 3];
	struct dirent *de;
	struct stat st;
	int i, n, fd, dots = 0;
	char name[256];
	DIR *d;

	SYS(mkdir("big", 0755));
	for (i = 0; i < NBIG; i++) {
		big_name(name, sizeof(name), i);
		snprintf(path, sizeof(path), "big/%s", name);
		SYS(fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0644));
		SYS(close(fd));
	}
	SYS(stat("big", &st));
	CHECK_EQ(st.st_nlink, 2);
	d = case_dir = opendir("big");
	if (d == NULL)
		FAIL("opendir big: %s", ename(errno));
	memset(seen, 0, sizeof(seen));
	for (n = 0;; n++) {
		if (n > NBIG + 2)
			FAIL("more than %d entries", NBIG + 2);
		pos[n] = telldir(d);
		errno = 0;
		de = readdir(d);
		if (de == NULL) {
			if (errno != 0)
				FAIL("readdir: %s", ename(errno));
			break;
		}
		snprintf(names[n], sizeof(names[n]), "%s", de->d_name);
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0) {
			CHECK_EQ(de->d_type, DT_DIR);
			dots++;
			continue;
		}
		if (sscanf(de->d_name, "e%4d_", &i) != 1 || i < 0 || i >= NBIG)
			FAIL("unexpected entry \"%s\"", de->d_name);
		big_name(name, sizeof(name), i);
		if (strcmp(name, de->d_name) != 0)
			FAIL("entry \"%s\" is not \"%s\"", de->d_name, name);
		if (seen[i]++)
			FAIL("entry \"%s\" seen twice", de->d_name);
		if (de->d_type != DT_REG)
			FAIL("entry \"%s\": d_type %d, not DT_REG", de->d_name,
			     de->d_type);
		SYS(fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW));
		if (st.st_ino != de->d_ino)
			FAIL("entry \"%s\": d_ino %llu, st_ino %llu",
			     de->d_name, (unsigned long long)de->d_ino,
			     (unsigned long long)st.st_ino);
	}
	CHECK_EQ(dots, 2);
	CHECK_EQ(n, NBIG + 2);
	for (i = 0; i < NBIG; i++)
		if (!seen[i])
			FAIL("entry %d never seen", i);
	/* telldir positions lead back to the same entries. */
	rng_state = 7;
	for (i = 0; i < 100; i++) {
		int k = (int)(rng() % (unsigned)n);

		seekdir(d, pos[k]);
		de = readdir(d);
		if (de == NULL)
			FAIL("seekdir to entry %d (\"%s\"): end of directory",
			     k, names[k]);
		if (strcmp(de->d_name, names[k]) != 0)
			FAIL("seekdir to entry %d: \"%s\", not \"%s\"", k,
			     de->d_name, names[k]);
		if (k + 1 < n) {
			de = readdir(d);
			if (de == NULL || strcmp(de->d_name, names[k + 1]))
				FAIL("after seekdir to entry %d: next entry "
				     "is not \"%s\"",
				     k, names[k + 1]);
		}
	}
	seekdir(d, pos[n]);
	errno = 0;
	CHECK(readdir(d) == NULL && errno == 0);
	rewinddir(d);
	for (i = 0; readdir(d) != NULL; i++)
		;
	CHECK_EQ(i, NBIG + 2);
	return 0;
}

/* Unlinking entries as they are read must not make readdir skip any. */
static int
c_readdir_unlink(void)
{
	static char seen[500];
	char name[64];
	struct dirent *de;
	int i, n = 0, fd;
	DIR *d;

	SYS(mkdir("d", 0755));
	for (i = 0; i < 500; i++) {
		snprintf(name, sizeof(name), "d/entry-%03d", i);
		SYS(fd = open(name, O_CREAT | O_EXCL | O_WRONLY, 0644));
		SYS(close(fd));
	}
	d = case_dir = opendir("d");
	if (d == NULL)
		FAIL("opendir: %s", ename(errno));
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (sscanf(de->d_name, "entry-%3d", &i) != 1 || i < 0 ||
		    i >= 500)
			FAIL("unexpected entry \"%s\"", de->d_name);
		if (seen[i]++)
			FAIL("entry \"%s\" seen twice", de->d_name);
		SYS(unlinkat(dirfd(d), de->d_name, 0));
		n++;
	}
	closedir(d);
	case_dir = NULL;
	CHECK_EQ(n, 500);
	SYS(rmdir("d"));
	return 0;
}

static int
c_access(void)
{
	SYS(put_file("f", "", 0));
	SYS(chmod("f", 0644));
	SYS(access("f", F_OK));
	SYS(access("f", R_OK | W_OK));
	ERR(access("f", X_OK), EACCES); /* even root needs an x bit */
	SYS(chmod("f", 0744));
	SYS(access("f", X_OK));
	SYS(chmod("f", 0001));
	SYS(access("f", X_OK));
	SYS(chmod("f", 0));
	SYS(access("f", R_OK | W_OK)); /* root */
	ERR(access("f", X_OK), EACCES);
	SYS(faccessat(AT_FDCWD, "f", R_OK, AT_EACCESS));
	SYS(mkdir("d", 0));
	SYS(access("d", R_OK | W_OK | X_OK)); /* root */
	ERR(access("missing", F_OK), ENOENT);
	ERR(access("f/x", F_OK), ENOTDIR);
	SYS(symlink("missing", "l"));
	ERR(access("l", F_OK), ENOENT);
	SYS(faccessat(AT_FDCWD, "l", F_OK, AT_SYMLINK_NOFOLLOW));
	return 0;
}

/* Several descriptors on one file see each other's writes at once. */
static int
c_coherence(void)
{
	char buf[70000], got[70000];
	struct stat st;
	int a, b;

	fill(buf, sizeof(buf), 9);
	SYS(a = open("f", O_CREAT | O_EXCL | O_RDWR, 0644));
	SYS(b = open("f", O_RDWR));
	SYS(write_all(a, buf, sizeof(buf)));
	SYS(fstat(b, &st));
	CHECK_EQ(st.st_size, sizeof(buf));
	CHECK_EQ(pread_full(b, got, sizeof(got), 0), sizeof(buf));
	CHECK_MEM(got, buf, sizeof(buf));
	SYS(pwrite(b, "BB", 2, 65535));
	CHECK_EQ(pread_full(a, got, 4, 65534), 4);
	CHECK_EQ(got[1], 'B');
	CHECK_EQ(got[2], 'B');
	SYS(ftruncate(b, 10));
	CHECK_EQ(pread_full(a, got, 100, 0), 10);
	SYS(close(a));
	SYS(close(b));
	return 0;
}

static int
c_copy_range(void)
{
	char buf[300000], got[300000];
	ssize_t n;
	loff_t in = 1000, out = 7;
	int a, b;

	fill(buf, sizeof(buf), 10);
	SYS(put_file("src", buf, sizeof(buf)));
	SYS(a = open("src", O_RDONLY));
	SYS(b = open("dst", O_CREAT | O_EXCL | O_RDWR, 0644));
	errno = 0;
	n = copy_file_range(a, &in, b, &out, 200000, 0);
	if (n < 0) {
		/* cp falls back to read/write on these. */
		if (errno != EXDEV && errno != ENOSYS && errno != EOPNOTSUPP &&
		    errno != EINVAL)
			FAIL("copy_file_range: %s", ename(errno));
	} else {
		CHECK(n > 0);
		CHECK_EQ(in, 1000 + n);
		CHECK_EQ(out, 7 + n);
		CHECK_EQ(pread_full(b, got, sizeof(got), 0), 7 + n);
		CHECK(nonzero_at(got, 7) < 0);
		CHECK_MEM(got + 7, buf + 1000, (size_t)n);
	}
	SYS(close(a));
	SYS(close(b));
	return 0;
}

static int
c_fallocate(void)
{
	char *got = xmalloc(MIB);
	struct stat st;
	int fd, rc;

	SYS(fd = open("f", O_CREAT | O_EXCL | O_RDWR, 0644));
	SYS(write(fd, "head", 4));
	rc = posix_fallocate(fd, 0, MIB);
	if (rc != 0)
		FAIL("posix_fallocate: %s", ename(rc));
	SYS(fstat(fd, &st));
	CHECK_EQ(st.st_size, MIB);
	CHECK_EQ(pread_full(fd, got, MIB, 0), MIB);
	CHECK_MEM(got, "head", 4);
	CHECK(nonzero_at(got + 4, MIB - 4) < 0);
	/* Allocating inside the file does not change it. */
	rc = posix_fallocate(fd, 100, 1000);
	if (rc != 0)
		FAIL("posix_fallocate: %s", ename(rc));
	SYS(fstat(fd, &st));
	CHECK_EQ(st.st_size, MIB);
	CHECK_EQ(pread_full(fd, got, 4, 0), 4);
	CHECK_MEM(got, "head", 4);
	SYS(close(fd));
	return 0;
}

/* POSIX and BSD locks (sqlite and git rely on them). */
static int
c_locks(void)
{
	struct flock fl = {.l_type = F_WRLCK,
	                   .l_whence = SEEK_SET,
	                   .l_start = 0,
	                   .l_len = 100};
	int fd, status;
	pid_t pid;

	SYS(fd = open("f", O_CREAT | O_EXCL | O_RDWR, 0644));
	SYS(fcntl(fd, F_SETLK, &fl));
	SYS(flock(fd, LOCK_EX));
	pid = fork();
	if (pid < 0)
		FAIL("fork: %s", ename(errno));
	if (pid == 0) {
		struct flock g = {.l_type = F_WRLCK,
		                  .l_whence = SEEK_SET,
		                  .l_start = 50,
		                  .l_len = 10};
		int cfd = open("f", O_RDWR);

		if (cfd < 0)
			_exit(10);
		if (fcntl(cfd, F_GETLK, &g) < 0 || g.l_type != F_WRLCK ||
		    g.l_pid != getppid())
			_exit(11);
		g.l_type = F_WRLCK;
		g.l_start = 50;
		g.l_len = 10;
		if (fcntl(cfd, F_SETLK, &g) == 0 ||
		    (errno != EAGAIN && errno != EACCES))
			_exit(12);
		g.l_start = 100;
		if (fcntl(cfd, F_SETLK, &g) != 0)
			_exit(13);
		if (flock(cfd, LOCK_EX | LOCK_NB) == 0 || errno != EWOULDBLOCK)
			_exit(14);
		_exit(0);
	}
	SYS(waitpid(pid, &status, 0));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		FAIL("lock check in child failed (status %d: 10 open, "
		     "11 F_GETLK, 12 F_SETLK conflict, 13 F_SETLK free "
		     "range, 14 flock)",
		     WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	SYS(close(fd));
	return 0;
}

static int
c_stat_basic(void)
{
	char *buf = xmalloc(MIB);
	struct stat st, sd, s2;
	struct timespec now;
	int fd;

	fill(buf, MIB, 11);
	SYS(fd = open("f", O_CREAT | O_EXCL | O_WRONLY, 0644));
	SYS(write_all(fd, buf, MIB));
	SYS(fsync(fd));
	SYS(close(fd));
	clock_gettime(CLOCK_REALTIME, &now);
	SYS(stat("f", &st));
	CHECK(S_ISREG(st.st_mode));
	CHECK_EQ(st.st_nlink, 1);
	CHECK_EQ(st.st_size, MIB);
	CHECK(st.st_blksize > 0);
	CHECK(st.st_blocks > 0);
	CHECK(st.st_mtim.tv_sec > now.tv_sec - 60 &&
	      st.st_mtim.tv_sec <= now.tv_sec + 1);
	CHECK(st.st_ctim.tv_sec > now.tv_sec - 60 &&
	      st.st_ctim.tv_sec <= now.tv_sec + 1);
	SYS(stat(".", &sd));
	CHECK(S_ISDIR(sd.st_mode));
	CHECK_EQ(sd.st_dev, st.st_dev);
	CHECK(sd.st_ino != st.st_ino);
	SYS(put_file("g", "", 0));
	SYS(stat("g", &s2));
	CHECK_EQ(s2.st_size, 0);
	CHECK(s2.st_ino != st.st_ino);
	CHECK_EQ(s2.st_dev, st.st_dev);
	SYS(fd = open("f", O_RDONLY));
	SYS(fstat(fd, &s2));
	CHECK_EQ(s2.st_ino, st.st_ino);
	SYS(close(fd));
	return 0;
}

/* Another process opens and closes the file (each close flushes it)
 * while this one writes it and sets its size with ftruncate, as SQLite
 * does to a database at each checkpoint: the size and the content must
 * stay what this process wrote, whatever the other's closes commit.
 * The size cycles through 1 to TS_BLOCKS blocks. */
#define TS_ROUNDS 2000
#define TS_BLOCKS 32
#define TS_BLOCK 4096

static int
c_truncate_shared(void)
{
	char *buf = xmalloc(TS_BLOCK), *got = xmalloc(TS_BLOCK);
	char last[TS_BLOCKS];
	struct stat st;
	int fd, i, n = 0, status;
	pid_t pid;

	SYS(fd = open("f", O_CREAT | O_EXCL | O_RDWR, 0644));
	SYS(put_file("go", "", 0));
	pid = fork();
	if (pid < 0)
		FAIL("fork: %s", ename(errno));
	if (pid == 0) {
		/* Until the parent removes "go". */
		for (;;) {
			int cfd = open("f", O_RDWR);

			if (cfd < 0 || close(cfd) != 0)
				_exit(10);
			if (access("go", F_OK) != 0)
				_exit(0);
		}
	}
	for (i = 0; i < TS_ROUNDS; i++) {
		off_t size;

		n = i % TS_BLOCKS + 1;
		size = (off_t)n * TS_BLOCK;
		last[n - 1] = (char)('a' + i % 26);
		memset(buf, last[n - 1], TS_BLOCK);
		SYS(pwrite(fd, buf, TS_BLOCK, size - TS_BLOCK));
		SYS(ftruncate(fd, size));
		SYS(fstat(fd, &st));
		if (st.st_size != size) {
			(void)unlink("go");
			(void)waitpid(pid, &status, 0);
			FAIL("round %d: size %lld after ftruncate to %lld", i,
			     (long long)st.st_size, (long long)size);
		}
	}
	SYS(unlink("go"));
	SYS(waitpid(pid, &status, 0));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		FAIL("opening and closing in the child failed");
	for (i = 0; i < n; i++) {
		memset(buf, last[i], TS_BLOCK);
		CHECK_EQ(pread_full(fd, got, TS_BLOCK, (off_t)i * TS_BLOCK),
		         TS_BLOCK);
		CHECK_MEM(got, buf, TS_BLOCK);
	}
	CHECK_EQ(pread_full(fd, got, TS_BLOCK, (off_t)n * TS_BLOCK), 0);
	SYS(close(fd));
	return 0;
}

struct tcase {
	const char *name;
	int (*fn)(void);
};

static const struct tcase cases[] = {
        {"open_excl", c_open_excl},
        {"open_trunc", c_open_trunc},
        {"open_append", c_open_append},
        {"open_misc", c_open_misc},
        {"write_seq", c_write_seq},
        {"write_random", c_write_random},
        {"sparse", c_sparse},
        {"offset_4g", c_offset_4g},
        {"truncate", c_truncate},
        {"rename_file", c_rename_file},
        {"rename_dir", c_rename_dir},
        {"rename_noreplace", c_rename_noreplace},
        {"rename_exchange", c_rename_exchange},
        {"unlink_open", c_unlink_open},
        {"mkdir_rmdir", c_mkdir_rmdir},
        {"dir_nlink", c_dir_nlink},
        {"symlink", c_symlink},
        {"hardlink", c_hardlink},
        {"chmod_chown", c_chmod_chown},
        {"setgid_dir", c_setgid_dir},
        {"utimens", c_utimens},
        {"utimens_range", c_utimens_range},
        {"mtime_write", c_mtime_write},
        {"xattr", c_xattr},
        {"xattr_names", c_xattr_names},
        {"xattr_large", c_xattr_large},
        {"fifo_mknod", c_fifo_mknod},
        {"statfs", c_statfs},
        {"fsync", c_fsync},
        {"mmap", c_mmap},
        {"name_max", c_name_max},
        {"path_max", c_path_max},
        {"readdir_big", c_readdir_big},
        {"readdir_unlink", c_readdir_unlink},
        {"access", c_access},
        {"coherence", c_coherence},
        {"copy_range", c_copy_range},
        {"fallocate", c_fallocate},
        {"locks", c_locks},
        {"stat_basic", c_stat_basic},
        {"truncate_shared", c_truncate_shared},
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))

/* ------------------------------------------------------- read-only mode */

/* Did a modifying call fail the way a read-only tree must? */
#define RO(what, c)                                                            \
	do {                                                                   \
		long long r_;                                                  \
		errno = 0;                                                     \
		r_ = (long long)(c);                                           \
		if (r_ != -1) {                                                \
			printf("FAIL readonly %s: %s succeeded\n", path,       \
			       what);                                          \
			bad++;                                                 \
		} else if (errno != EROFS && errno != EPERM &&                 \
		           errno != EACCES) {                                  \
			printf("FAIL readonly %s: %s: %s, expected EROFS, "    \
			       "EPERM or EACCES\n",                            \
			       path, what, ename(errno));                      \
			bad++;                                                 \
		}                                                              \
		if (r_ >= 0 && strncmp(what, "open", 4) == 0)                  \
			close((int)r_);                                        \
	} while (0)

static int
same_stat(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_mode == b->st_mode &&
	       a->st_uid == b->st_uid && a->st_gid == b->st_gid &&
	       a->st_size == b->st_size && a->st_nlink == b->st_nlink &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Try every modification on PATH; print a line per failure; count. */
static int
readonly_path(const char *path)
{
	struct timespec ts[2] = {{1, 0}, {1, 0}};
	char new[PATH_MAX + 16], xname[256];
	struct stat st, st2;
	ssize_t n;
	int bad = 0;

	if (path == NULL) /* for gcc's -Wformat-truncation */
		return 1;
	if (lstat(path, &st) < 0) {
		printf("FAIL readonly %s: lstat: %s\n", path, ename(errno));
		return 1;
	}
	snprintf(new, sizeof(new), "%s.beemo-new", path);
	RO("chmod", fchmodat(AT_FDCWD, path, 0777, 0));
	RO("lchown", lchown(path, 4321, 4321));
	RO("utimensat", utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW));
	RO("rename", rename(path, new));
	RO("link", link(path, new));
	if (S_ISREG(st.st_mode)) {
		RO("open O_WRONLY", open(path, O_WRONLY));
		RO("open O_RDWR", open(path, O_RDWR));
		RO("open O_WRONLY|O_APPEND", open(path, O_WRONLY | O_APPEND));
		RO("open O_WRONLY|O_TRUNC", open(path, O_WRONLY | O_TRUNC));
		RO("truncate", truncate(path, 0));
		RO("setxattr", setxattr(path, "user.beemo", "v", 1, 0));
	}
	if (S_ISDIR(st.st_mode)) {
		snprintf(new, sizeof(new), "%s/beemo-new", path);
		RO("open O_CREAT", open(new, O_CREAT | O_WRONLY, 0644));
		RO("mkdir", mkdir(new, 0755));
		RO("symlink", symlink("x", new));
		RO("mkfifo", mkfifo(new, 0644));
		RO("mknod", mknod(new, S_IFCHR | 0600, makedev(1, 3)));
		RO("setxattr", setxattr(path, "user.beemo", "v", 1, 0));
		/* A non-empty directory may also answer ENOTEMPTY first. */
		errno = 0;
		if (rmdir(path) == 0) {
			printf("FAIL readonly %s: rmdir succeeded\n", path);
			bad++;
		} else if (errno != EROFS && errno != EPERM &&
		           errno != EACCES && errno != ENOTEMPTY &&
		           errno != EBUSY) {
			printf("FAIL readonly %s: rmdir: %s\n", path,
			       ename(errno));
			bad++;
		}
	} else {
		RO("unlink", unlink(path));
	}
	n = llistxattr(path, xname, sizeof(xname));
	if (n > 0 && strncmp(xname, "user.", 5) == 0)
		RO("removexattr", lremovexattr(path, xname));
	if (lstat(path, &st2) < 0) {
		printf("FAIL readonly %s: gone after the attempts: %s\n", path,
		       ename(errno));
		return bad + 1;
	}
	if (!same_stat(&st, &st2)) {
		printf("FAIL readonly %s: attributes changed\n", path);
		bad++;
	}
	if (bad == 0)
		printf("ok readonly %s\n", path);
	return bad;
}

/* ----------------------------------------------------------------- main */

static int
run_case(const struct tcase *c, const char *root)
{
	char dir[PATH_MAX + 64];
	int rc;

	snprintf(dir, sizeof(dir), "%s/%s", root, c->name);
	umask(022);
	fail_msg[0] = '\0';
	if (mkdir(dir, 0755) < 0 || chdir(dir) < 0) {
		printf("FAIL %s: setting up %s: %s\n", c->name, dir,
		       strerror(errno));
		return -1;
	}
	rc = c->fn();
	case_release();
	umask(022);
	if (chdir(root) < 0) {
		printf("FAIL %s: chdir %s: %s\n", c->name, root,
		       strerror(errno));
		return -1;
	}
	if (rc == 0)
		printf("ok %s\n", c->name);
	else
		printf("FAIL %s: %s\n", c->name, fail_msg);
	fflush(stdout);
	return rc;
}

static void
usage(void)
{
	fprintf(stderr, "usage: syscalls [-X BYTES] DIR [CASE...]\n"
	                "       syscalls -l\n"
	                "       syscalls --readonly PATH...\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	char root[PATH_MAX + 32], base[PATH_MAX];
	int i, j, failed = 0, ran = 0;
	size_t k;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 2 && strcmp(argv[1], "-l") == 0) {
		for (k = 0; k < NCASES; k++)
			printf("%s\n", cases[k].name);
		return 0;
	}
	if (argc >= 2 && strcmp(argv[1], "--readonly") == 0) {
		if (argc < 3)
			usage();
		for (i = 2; i < argc; i++)
			failed += readonly_path(argv[i]);
		return failed ? 1 : 0;
	}
	i = 1;
	if (argc >= 3 && strcmp(argv[1], "-X") == 0) {
		large_xattr = strtoul(argv[2], NULL, 10);
		if (large_xattr == 0 || large_xattr > 65536)
			usage();
		i = 3;
	}
	if (i >= argc)
		usage();
	if (realpath(argv[i], base) == NULL) {
		fprintf(stderr, "syscalls: %s: %s\n", argv[i], strerror(errno));
		return 2;
	}
	for (j = i + 1; j < argc; j++) {
		for (k = 0; k < NCASES; k++)
			if (strcmp(argv[j], cases[k].name) == 0)
				break;
		if (k == NCASES) {
			fprintf(stderr, "syscalls: no case %s\n", argv[j]);
			return 2;
		}
	}
	snprintf(root, sizeof(root), "%s/syscalls.%ld", base, (long)getpid());
	if (mkdir(root, 0755) < 0) {
		fprintf(stderr, "syscalls: mkdir %s: %s\n", root,
		        strerror(errno));
		return 1;
	}
	for (k = 0; k < NCASES; k++) {
		if (i + 1 < argc) {
			for (j = i + 1; j < argc; j++)
				if (strcmp(argv[j], cases[k].name) == 0)
					break;
			if (j == argc)
				continue;
		}
		ran++;
		if (run_case(&cases[k], root) != 0)
			failed++;
	}
	if (chdir("/") < 0)
		return 1;
	printf("%d of %d cases failed\n", failed, ran);
	if (failed) {
		printf("kept %s\n", root);
		return 1;
	}
	if (rm_rf(AT_FDCWD, root) < 0) {
		printf("FAIL cleanup: removing %s: %s\n", root,
		       strerror(errno));
		return 1;
	}
	return 0;
}
