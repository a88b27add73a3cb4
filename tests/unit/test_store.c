/*
 * test_store.c -- unit tests of the store (fs/store*.c) through its API
 * (the codecs and the pack walk: test_store_codec.c):
 * namespace operations, contents (streamed, staged, sparse, truncated),
 * versions and snapshots, persistence across close and crash-free
 * reopen, dedup, check (clean and with a damaged pack byte), rebuild
 * of the index from the packs alone, and an index older than the open
 * pack, or its log counter alone put back, refused.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <lmdb.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "bm_err.h"
#include "bm_log.h"
#include "check.h"
#include "keymgr.h"
#include "store.h"
#include "store_snap.h"

static char tmp[256], dir[300];
static uint64_t orphan_ino;
static keymgr_secret *sec;
static const struct store_cred root_cr = {0, 0, 022}, cr12 = {1, 2, 0};
static uint8_t appl[KEYMGR_ID_LEN];

static void
setup(void)
{
	char keys[300], poste[300];
	struct keymgr_kdf kdf = {1024, 8, 1};
	keymgr *km;

	snprintf(tmp, sizeof(tmp), "/tmp/beemo-test-store.XXXXXX");
	if (mkdtemp(tmp) == NULL)
		abort();
	snprintf(keys, sizeof(keys), "%s/keys", tmp);
	snprintf(poste, sizeof(poste), "%s/pc1.poste", tmp);
	snprintf(dir, sizeof(dir), "%s/machines-pc1", tmp);
	CHECK_OK(keymgr_init(keys, "admin", 5, &kdf));
	CHECK_OK(keymgr_open(keys, &km));
	CHECK_OK(keymgr_machine_add(km, "pc1", "alice", "alice", 5, "admin", 5,
	    poste));
	CHECK_OK(keymgr_unlock_poste(km, "pc1", poste, &sec));
	keymgr_appliance_id(km, appl);
	keymgr_free(km);
}

static store *
open_rw(void)
{
	struct store_opts o;
	store *st = NULL;

	memset(&o, 0, sizeof(o));
	o.pack_size = 1 << 20; /* many packs, to exercise rollover */
	o.commit_ms = 50;
	CHECK_OK(store_open(dir, sec, &o, &st));
	return st;
}

static void
fill(uint8_t *buf, size_t len, unsigned seed)
{
	size_t i;
	uint32_t x = seed * 2654435761u + 1;

	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = (uint8_t)x;
	}
}

static uint64_t
create(store *st, uint64_t parent, const char *name, const uint8_t *data,
    size_t len, size_t piece)
{
	struct store_attr a;
	store_file *f;
	size_t off;

	CHECK_OK(store_create_file(st, parent, name, 0644, &root_cr, O_WRONLY,
	    &a, &f));
	for (off = 0; off < len; off += piece) {
		size_t n = len - off < piece ? len - off : piece;

		CHECK(store_write(f, data + off, n, off) == (ssize_t)n);
	}
	CHECK_OK(store_flush(f));
	CHECK_OK(store_release(f));
	return a.ino;
}

static int
content_is(store *st, uint64_t ino, const uint8_t *data, size_t len)
{
	store_file *f;
	uint8_t *buf = malloc(len + 4096);
	ssize_t n;
	int ok;

	if (store_open_file(st, ino, O_RDONLY, &f) != 0) {
		free(buf);
		return 0;
	}
	n = store_read(f, buf, len + 4096, 0);
	ok = n == (ssize_t)len && memcmp(buf, data, len) == 0;
	store_release(f);
	free(buf);
	return ok;
}

static void
test_namespace(store *st)
{
	struct store_attr a, b;
	char buf[64];
	uint64_t d;

	CHECK_OK(store_mknod(st, STORE_ROOT_INO, "dir", S_IFDIR | 0755, 0,
	    &cr12, &a));
	d = a.ino;
	CHECK(a.nlink == 2 && a.uid == 1 && a.gid == 2);
	CHECK_RC(store_mknod(st, STORE_ROOT_INO, "dir", S_IFDIR | 0755, 0,
	    &root_cr, &a), -EEXIST);
	CHECK_RC(store_mknod(st, STORE_ROOT_INO, ".snapshots", S_IFDIR, 0,
	    &root_cr, &a), -EEXIST);
	CHECK_OK(store_getattr(st, STORE_ROOT_INO, &a));
	CHECK(a.nlink == 3);
	CHECK_OK(store_symlink(st, d, "ln", "../target", &root_cr, &a));
	CHECK_OK(store_readlink(st, a.ino, buf, sizeof(buf)));
	CHECK(strcmp(buf, "../target") == 0);
	CHECK_OK(store_mknod(st, d, "fifo", S_IFIFO | 0600, 0, &root_cr,
	    &a));
	CHECK_OK(store_link(st, a.ino, STORE_ROOT_INO, "fifo2", &b));
	CHECK(b.nlink == 2 && b.ino == a.ino);
	CHECK_OK(store_unlink(st, d, "fifo"));
	CHECK_OK(store_getattr(st, a.ino, &b));
	CHECK(b.nlink == 1);
	CHECK_RC(store_rmdir(st, STORE_ROOT_INO, "dir"), -ENOTEMPTY);
	CHECK_OK(store_rename(st, d, "ln", STORE_ROOT_INO, "ln2", 0));
	CHECK_RC(store_lookup(st, d, "ln", &a), -ENOENT);
	CHECK_OK(store_lookup(st, STORE_ROOT_INO, "ln2", &a));
	CHECK_OK(store_rmdir(st, STORE_ROOT_INO, "dir"));
	CHECK_OK(store_getattr(st, STORE_ROOT_INO, &a));
	CHECK(a.nlink == 2);
	CHECK_OK(store_setxattr(st, a.ino, "user.k", "v", 1, 0));
	CHECK_RC(store_setxattr(st, a.ino, "user.k", "w", 1, XATTR_CREATE),
	    -EEXIST);
	CHECK(store_getxattr(st, a.ino, "user.k", buf, sizeof(buf)) == 1);
	CHECK(store_listxattr(st, a.ino, buf, sizeof(buf)) == 7);
	CHECK_OK(store_removexattr(st, a.ino, "user.k"));
	CHECK_RC(store_getxattr(st, a.ino, "user.k", buf, sizeof(buf)),
	    -ENODATA);
	/* Directory rename into its own subtree. */
	CHECK_OK(store_mknod(st, STORE_ROOT_INO, "p", S_IFDIR | 0755, 0,
	    &root_cr, &a));
	CHECK_OK(store_mknod(st, a.ino, "c", S_IFDIR | 0755, 0, &root_cr, &b));
	CHECK_RC(store_rename(st, STORE_ROOT_INO, "p", b.ino, "x", 0),
	    -EINVAL);
	CHECK_OK(store_rename(st, STORE_ROOT_INO, "p", STORE_ROOT_INO, "ln2",
	    RENAME_EXCHANGE));
	CHECK_OK(store_lookup(st, STORE_ROOT_INO, "ln2", &b));
	CHECK(S_ISDIR(b.mode));
}

struct names {
	int n;
	char seen[2000];
	int versioned, later;
};

static int
count_names(void *ctx, const char *name, const struct store_attr *a,
    uint64_t next)
{
	struct names *nm = ctx;

	(void)a;
	(void)next;
	nm->versioned += !strcmp(name, "versioned");
	nm->later += !strcmp(name, "later");
	return 0;
}

static int
count_entry(void *ctx, const char *name, const struct store_attr *a,
    uint64_t next)
{
	struct names *nm = ctx;

	(void)a;
	(void)next;
	if (name[0] != '.') {
		int i = atoi(name + 1);

		if (i >= 0 && i < 2000)
			nm->seen[i]++;
		nm->n++;
	}
	return 0;
}

struct pager {
	int n, limit;
	uint64_t next;
	struct names *nm;
};

static int
page_entry(void *ctx, const char *name, const struct store_attr *a,
    uint64_t next)
{
	struct pager *p = ctx;

	if (p->n == p->limit)
		return 1;
	p->n++;
	p->next = next;
	return count_entry(p->nm, name, a, next);
}

static void
test_readdir(store *st)
{
	struct store_attr a;
	struct names nm;
	struct pager pg;
	char name[16];
	uint64_t d;
	int i;

	CHECK_OK(store_mknod(st, STORE_ROOT_INO, "many", S_IFDIR | 0755, 0,
	    &root_cr, &a));
	d = a.ino;
	for (i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		CHECK_OK(store_mknod(st, d, name, S_IFREG | 0644, 0, &root_cr,
	    &a));
	}
	memset(&nm, 0, sizeof(nm));
	CHECK_OK(store_readdir(st, d, 0, 1, count_entry, &nm));
	CHECK(nm.n == 1000);
	/* Page through 37 entries at a time. */
	memset(&nm, 0, sizeof(nm));
	pg.nm = &nm;
	pg.next = 0;
	do {
		pg.n = 0;
		pg.limit = 37;
		CHECK_OK(store_readdir(st, d, pg.next, 0, page_entry, &pg));
	} while (pg.n == 37);
	CHECK(nm.n == 1000);
	for (i = 0; i < 1000; i++)
		CHECK(nm.seen[i] == 1);
}

/*
 * Holes: a file grown by truncate or by a write past its end is a hole
 * where it was never written, found by SEEK_DATA/SEEK_HOLE and read as
 * zeros; chunks of zeros written in a stream become holes too; sizes
 * over STORE_FILE_MAX fail with EFBIG.  Each step would take hours if
 * it went through the chunker.
 */
static void
test_holes(store *st)
{
	const uint64_t tib = 1ULL << 40;
	uint8_t *zeros = calloc(1, 8 << 20), buf[8];
	struct store_attr a;
	store_file *f;
	uint64_t ino;

	REQUIRE(zeros != NULL);
	CHECK_OK(store_create_file(st, STORE_ROOT_INO, "holes", 0644, &root_cr,
	    O_RDWR, &a, &f));
	ino = a.ino;
	CHECK(store_write(f, "head", 4, 0) == 4);
	a.size = tib;
	CHECK_OK(store_setattr(st, ino, &a, STORE_SET_SIZE, &a));
	CHECK(store_write(f, "tail", 4, tib - 4) == 4);
	/* Pending changes: the data are the 64 KiB blocks written. */
	CHECK(store_lseek(f, 0, SEEK_DATA) == 0);
	CHECK(store_lseek(f, 0, SEEK_HOLE) == 65536);
	CHECK(store_lseek(f, 65536, SEEK_DATA) == (int64_t)(tib - 65536));
	CHECK_OK(store_release(f));
	/* Committed. */
	CHECK_OK(store_open_file(st, ino, O_RDONLY, &f));
	CHECK(store_lseek(f, 4, SEEK_HOLE) >= 4 &&
	    store_lseek(f, 4, SEEK_HOLE) <= 65536);
	CHECK(store_lseek(f, 65536, SEEK_DATA) >= (int64_t)(tib - 65536));
	CHECK(store_lseek(f, tib - 1, SEEK_HOLE) == (int64_t)tib);
	CHECK(store_lseek(f, tib, SEEK_DATA) == -ENXIO);
	CHECK(store_lseek(f, 0, SEEK_SET) == -EINVAL);
	CHECK(store_read(f, buf, 8, tib / 2) == 8 && !memcmp(buf, zeros, 8));
	CHECK(store_read(f, buf, 8, tib - 4) == 4 && !memcmp(buf, "tail", 4));
	CHECK(store_read(f, buf, 4, 0) == 4 && !memcmp(buf, "head", 4));
	CHECK_OK(store_release(f));
	/* Over the maximum: EFBIG, and the file is unchanged. */
	a.size = STORE_FILE_MAX + 1;
	CHECK_RC(store_setattr(st, ino, &a, STORE_SET_SIZE, &a), -EFBIG);
	CHECK_OK(store_open_file(st, ino, O_RDWR, &f));
	CHECK(store_write(f, "x", 1, STORE_FILE_MAX) == -EFBIG);
	CHECK_OK(store_release(f));
	CHECK_OK(store_getattr(st, ino, &a));
	CHECK(a.size == tib);
	/* 8 MiB of zeros written in a stream: holes, no chunk. */
	ino = create(st, STORE_ROOT_INO, "zeros", zeros, 8 << 20, 1 << 20);
	CHECK_OK(store_open_file(st, ino, O_RDONLY, &f));
	CHECK(store_lseek(f, 0, SEEK_HOLE) == 0);
	CHECK(store_lseek(f, 0, SEEK_DATA) == -ENXIO);
	CHECK_OK(store_release(f));
	CHECK(content_is(st, ino, zeros, 8 << 20));
	free(zeros);
}

/*
 * A big file's writes reach the store out of order by tens of MiB (the
 * kernel's writeback cache, several FUSE threads): they wait in memory
 * for the gap, the file stays a stream and nothing is staged on disk.
 */
static void
test_stream_order(store *st)
{
	const size_t mib = 1 << 20, n = 40;
	uint8_t *data = malloc(n * mib);
	struct store_attr a;
	store_file *f;
	uint64_t used;
	size_t i;

	REQUIRE(data != NULL);
	fill(data, n * mib, 17);
	CHECK_OK(store_create_file(st, STORE_ROOT_INO, "order", 0644, &root_cr,
	    O_WRONLY, &a, &f));
	used = store_used(st);
	for (i = 1; i < n; i++)
		CHECK(store_write(f, data + i * mib, mib, i * mib) ==
		    (ssize_t)mib);
	/* Held in memory, not staged, and counted for the quota either
	 * way: (n - 1) MiB more. */
	CHECK(store_used(st) >= used + (n - 1) * mib);
	CHECK(store_write(f, data, mib, 0) == (ssize_t)mib);
	CHECK_OK(store_flush(f));
	CHECK_OK(store_release(f));
	CHECK(content_is(st, a.ino, data, n * mib));
	free(data);
}

/* Bytes of view @v, gathered into @out. */
static size_t
view_bytes(const struct store_view *v, uint8_t *out)
{
	size_t n = 0;
	unsigned i;

	for (i = 0; i < v->n; i++) {
		memcpy(out + n, v->iov[i].iov_base, v->iov[i].iov_len);
		n += v->iov[i].iov_len;
	}
	return n;
}

/* Reads served in place (store_read_view()): the bytes of store_read(),
 * holes as zeros, and -EAGAIN where a copy is needed. */
static void
test_read_view(store *st)
{
	const size_t len = 3 << 20, mib = 1 << 20;
	uint8_t *data = malloc(len), *out = malloc(len), *zeros = calloc(1,
	    mib);
	struct store_view v;
	struct store_attr a;
	store_file *f;
	uint64_t ino;

	REQUIRE(data != NULL && out != NULL && zeros != NULL);
	fill(data, len, 23);
	ino = create(st, STORE_ROOT_INO, "view", data, len, 1 << 20);
	CHECK_OK(store_open_file(st, ino, O_RDONLY, &f));
	/* Across a chunk boundary or two. */
	CHECK(store_read_view(f, mib + 3, mib - 5, &v) == (ssize_t)(mib + 3));
	CHECK(view_bytes(&v, out) == mib + 3 &&
	    memcmp(out, data + mib - 5, mib + 3) == 0);
	store_view_put(&v);
	/* Short at the end, empty past it. */
	CHECK(store_read_view(f, mib, len - 10, &v) == 10);
	CHECK(view_bytes(&v, out) == 10 && !memcmp(out, data + len - 10, 10));
	store_view_put(&v);
	CHECK(store_read_view(f, mib, len, &v) == 0 && v.n == 0);
	store_view_put(&v);
	CHECK_OK(store_release(f));

	/* A hole: zeros; one too big for the pieces: -EAGAIN. */
	CHECK_OK(store_create_file(st, STORE_ROOT_INO, "view-holes", 0644,
	    &root_cr, O_RDWR, &a, &f));
	CHECK(store_write(f, data, 4096, 0) == 4096);
	CHECK(store_write(f, data, 4096, 64 * mib) == 4096);
	/* Changes pending: served by store_read(). */
	CHECK_RC(store_read_view(f, 4096, 0, &v), -EAGAIN);
	CHECK_OK(store_release(f));
	CHECK_OK(store_open_file(st, a.ino, O_RDONLY, &f));
	CHECK(store_read_view(f, mib, 4096, &v) == (ssize_t)mib);
	CHECK(view_bytes(&v, out) == mib && memcmp(out, zeros, mib) == 0);
	store_view_put(&v);
	CHECK(store_read_view(f, 16 * mib, mib, &v) == -EAGAIN);
	CHECK(store_read(f, out, 4096, 64 * mib) == 4096 &&
	    memcmp(out, data, 4096) == 0);
	CHECK_OK(store_release(f));
	free(data);
	free(out);
	free(zeros);
}

static void
test_contents(store *st)
{
	size_t big = 9 << 20;
	uint8_t *data = malloc(big), *buf = malloc(big);
	struct store_attr a;
	store_file *f;
	uint64_t ino, small;

	fill(data, big, 1);
	ino = create(st, STORE_ROOT_INO, "big", data, big, 128 << 10);
	CHECK(content_is(st, ino, data, big));
	small = create(st, STORE_ROOT_INO, "small", data, 1000, 1000);
	CHECK(content_is(st, small, data, 1000));
	create(st, STORE_ROOT_INO, "empty", data, 0, 1);
	/* Out-of-order writes (as from several FUSE threads). */
	CHECK_OK(store_create_file(st, STORE_ROOT_INO, "ooo", 0644, &root_cr,
	    O_RDWR, &a, &f));
	CHECK(store_write(f, data + 65536, 65536, 65536) == 65536);
	CHECK(store_write(f, data, 65536, 0) == 65536);
	CHECK(store_write(f, data + 131072, 1 << 20, 131072) == 1 << 20);
	CHECK_OK(store_release(f));
	CHECK(content_is(st, a.ino, data, 131072 + (1 << 20)));
	/* A rewrite overlapping an older out-of-order write wins over it. */
	CHECK_OK(store_create_file(st, STORE_ROOT_INO, "overlap", 0644,
	    &root_cr, O_RDWR, &a, &f));
	fill(buf, 196608, 3);
	CHECK(store_write(f, buf, 65536, 0) == 65536);
	CHECK(store_write(f, data, 65536, 131072) == 65536);
	CHECK(store_write(f, buf + 65536, 98304, 65536) == 98304);
	CHECK_OK(store_release(f));
	memcpy(buf + 163840, data + 32768, 32768);
	CHECK(content_is(st, a.ino, buf, 196608));
	/* Random write in the middle of the big file, then read back. */
	CHECK_OK(store_open_file(st, ino, O_RDWR, &f));
	fill(buf, 5000, 2);
	CHECK(store_write(f, buf, 5000, 4 << 20) == 5000);
	memcpy(data + (4 << 20), buf, 5000);
	CHECK(store_read(f, buf, 10000, (4 << 20) - 2500) == 10000);
	CHECK(memcmp(buf, data + (4 << 20) - 2500, 10000) == 0);
	CHECK_OK(store_release(f));
	CHECK(content_is(st, ino, data, big));
	/* Truncate down and up: the tail reads as zeros. */
	a.size = 3000000;
	CHECK_OK(store_setattr(st, ino, &a, STORE_SET_SIZE, &a));
	CHECK(a.size == 3000000);
	a.size = 3100000;
	CHECK_OK(store_setattr(st, ino, &a, STORE_SET_SIZE, &a));
	memset(data + 3000000, 0, 100000);
	CHECK(content_is(st, ino, data, 3100000));
	/* A sparse file. */
	CHECK_OK(store_create_file(st, STORE_ROOT_INO, "sparse", 0644, &root_cr,
	    O_RDWR, &a, &f));
	CHECK(store_write(f, "x", 1, 5000000) == 1);
	CHECK_OK(store_release(f));
	memset(buf, 0, 5000001);
	buf[5000000] = 'x';
	CHECK(content_is(st, a.ino, buf, 5000001));
	/* Unlink while open: still readable through the handle. */
	CHECK_OK(store_open_file(st, small, O_RDONLY, &f));
	CHECK_OK(store_unlink(st, STORE_ROOT_INO, "small"));
	CHECK(store_read(f, buf, 100, 0) == 100 && !memcmp(buf, data, 100));
	CHECK_OK(store_release(f));
	/* An orphan until the store closes: the kernel may still hold it. */
	CHECK_OK(store_getattr(st, small, &a));
	CHECK(a.nlink == 0);
	orphan_ino = small;
	free(data);
	free(buf);
}

/* Take a snapshot only if the live tree changed: 1 if one was taken. */
static int
snap_if_changed(store *st, uint32_t *id)
{
	struct store_snapinfo want;
	int created = -1;

	memset(&want, 0, sizeof(want));
	CHECK_OK(store_snapshot_take(st, &want, 1, id, &created));
	return created;
}

/* Tags, and no snapshot when nothing changed: every change of the live
 * tree counts, metadata alone too; reads, and a tag, do not. */
static void
test_snap_tags(store *st)
{
	struct store_snapinfo want, *v;
	struct store_attr a, out;
	uint8_t buf[16];
	uint32_t id, last;
	uint64_t ino;
	size_t n;
	int created, i;

	fill(buf, sizeof(buf), 3);
	ino = create(st, STORE_ROOT_INO, "tagged", buf, sizeof(buf), 16);
	CHECK(snap_if_changed(st, &last) == 1);
	CHECK(store_live_same(st) == last);
	CHECK(snap_if_changed(st, &id) == 0 && id == last);
	/* Reading changes nothing. */
	CHECK_OK(store_lookup(st, STORE_ROOT_INO, "tagged", &a));
	CHECK(content_is(st, ino, buf, sizeof(buf)));
	CHECK(snap_if_changed(st, &id) == 0 && id == last);
	/* A chmod, an xattr, a rename: one each. */
	memset(&a, 0, sizeof(a));
	a.mode = S_IFREG | 0600;
	CHECK_OK(store_setattr(st, ino, &a, STORE_SET_MODE, &out));
	CHECK(store_live_same(st) == 0);
	CHECK(snap_if_changed(st, &id) == 1 && id == last + 1);
	CHECK_OK(store_setxattr(st, ino, "user.k", "v", 1, 0));
	CHECK(snap_if_changed(st, &id) == 1 && id == last + 2);
	CHECK_OK(store_rename(st, STORE_ROOT_INO, "tagged", STORE_ROOT_INO,
	    "renamed", 0));
	CHECK(snap_if_changed(st, &id) == 1 && id == last + 3);
	last = id;

	/* Tags go with the snapshot and come back in order. */
	memset(&want, 0, sizeof(want));
	want.ntags = 2;
	strcpy(want.tags[0], "before-upgrade");
	strcpy(want.tags[1], "v1.2_rc-3");
	strcpy(want.note, "with tags");
	CHECK_OK(store_snapshot_take(st, &want, 0, &id, &created));
	CHECK(created == 1 && id == last + 1);
	last = id;
	CHECK_OK(store_snapshots(st, &v, &n));
	REQUIRE(n > 0);
	CHECK(v[n - 1].id == last && v[n - 1].ntags == 2 &&
	    strcmp(v[n - 1].tags[0], "before-upgrade") == 0 &&
	    strcmp(v[n - 1].tags[1], "v1.2_rc-3") == 0 &&
	    strcmp(v[n - 1].note, "with tags") == 0);
	CHECK(v[0].ntags == 0);
	free(v);
	/* Invalid tags are refused, nothing taken. */
	strcpy(want.tags[1], "latest");
	CHECK_RC(store_snapshot_take(st, &want, 0, &id, &created), -EINVAL);
	CHECK(!store_tag_valid("") && !store_tag_valid("9a") &&
	    !store_tag_valid("a b") && !store_tag_valid("yesterday") &&
	    !store_tag_valid("a/b") && store_tag_valid("Z") &&
	    store_tag_valid("a.b_c-9"));
	memset(want.tags[1], 'a', STORE_TAG_MAX);
	want.tags[1][STORE_TAG_MAX] = '\0';
	CHECK(store_tag_valid(want.tags[1]));
	/* Added and removed later; 8 at most; a tag changes no tree. */
	CHECK_OK(store_snapshot_tag(st, last, "extra", 1));
	CHECK_OK(store_snapshot_tag(st, last, "extra", 1));
	CHECK_OK(store_snapshot_tag(st, last, "before-upgrade", 0));
	CHECK_OK(store_snapshot_tag(st, last, "absent", 0));
	CHECK_RC(store_snapshot_tag(st, 60000, "extra", 1), -ENOENT);
	CHECK_RC(store_snapshot_tag(st, last, "now", 1), -EINVAL);
	for (i = 0; i < 6; i++) {
		char t[8];

		snprintf(t, sizeof(t), "t%d", i);
		CHECK_OK(store_snapshot_tag(st, last, t, 1));
	}
	CHECK_RC(store_snapshot_tag(st, last, "ninth", 1), -E2BIG);
	CHECK_OK(store_snapshots(st, &v, &n));
	CHECK(v[n - 1].ntags == 8 &&
	    strcmp(v[n - 1].tags[0], "v1.2_rc-3") == 0 &&
	    strcmp(v[n - 1].tags[1], "extra") == 0 &&
	    strcmp(v[n - 1].tags[7], "t5") == 0);
	free(v);
	CHECK(snap_if_changed(st, &id) == 0 && id == last);
}

static void
test_snapshots(store *st)
{
	uint8_t v1[3000], v2[3000];
	struct store_attr a;
	struct store_snapinfo *s;
	uint64_t ino, sino;
	uint32_t id;
	size_t n;

	fill(v1, sizeof(v1), 7);
	fill(v2, sizeof(v2), 8);
	ino = create(st, STORE_ROOT_INO, "versioned", v1, sizeof(v1), 3000);
	CHECK_OK(store_snapshot(st, "first", &id));
	create(st, STORE_ROOT_INO, "later", v1, 10, 10);
	CHECK_OK(store_unlink(st, STORE_ROOT_INO, "versioned"));
	ino = create(st, STORE_ROOT_INO, "versioned", v2, sizeof(v2), 3000);
	CHECK(content_is(st, ino, v2, sizeof(v2)));
	CHECK_OK(store_lookup(st, store_snapshot_ino(id), "versioned", &a));
	sino = a.ino;
	CHECK((sino >> STORE_SNAP_SHIFT) == id);
	CHECK(content_is(st, sino, v1, sizeof(v1)));
	CHECK_RC(store_lookup(st, store_snapshot_ino(id), "later", &a),
	    -ENOENT);
	/* Listing the snapshot sees the name deleted (then re-created) in
	 * the live tree, once. */
	{
		struct names nm;

		memset(&nm, 0, sizeof(nm));
		CHECK_OK(store_readdir(st, store_snapshot_ino(id), 0, 1,
		    count_names, &nm));
		CHECK(nm.versioned == 1 && nm.later == 0);
		CHECK_OK(store_unlink(st, STORE_ROOT_INO, "versioned"));
		memset(&nm, 0, sizeof(nm));
		CHECK_OK(store_readdir(st, store_snapshot_ino(id), 0, 1,
		    count_names, &nm));
		CHECK(nm.versioned == 1);
		ino = create(st, STORE_ROOT_INO, "versioned", v2, sizeof(v2),
		    3000);
	}
	CHECK_RC(store_unlink(st, store_snapshot_ino(id), "versioned"),
	    -EROFS);
	CHECK_OK(store_lookup(st, STORE_SNAPDIR_INO, "1", &a));
	CHECK_OK(store_snapshots(st, &s, &n));
	CHECK(n >= 1 && strcmp(s[n - 1].note, "first") == 0);
	free(s);
}

/* A store opened live_only (a backup session, opened with the POSTE
 * key) has no history: every way to snapshot 1 and /.snapshots is
 * -ENOENT, the name cannot be made (-EPERM), the live tree and taking
 * snapshots work. */
static void
test_live_only(void)
{
	struct store_opts o;
	struct store_attr a;
	struct names nm;
	store_file *f;
	store *st = NULL;
	uint64_t snap = store_snapshot_ino(1), sino;
	char buf[64];
	uint32_t id;

	memset(&o, 0, sizeof(o));
	memset(&nm, 0, sizeof(nm));
	st = open_rw();
	CHECK_OK(store_lookup(st, snap, "versioned", &a));
	sino = a.ino;
	CHECK_OK(store_close(st));
	o.live_only = 1;
	CHECK_OK(store_open(dir, sec, &o, &st));
	CHECK_RC(store_lookup(st, STORE_ROOT_INO, ".snapshots", &a), -ENOENT);
	CHECK_RC(store_getattr(st, STORE_SNAPDIR_INO, &a), -ENOENT);
	CHECK_RC(store_lookup(st, STORE_SNAPDIR_INO, "1", &a), -ENOENT);
	CHECK_RC(store_getattr(st, snap, &a), -ENOENT);
	CHECK_RC(store_lookup(st, snap, "versioned", &a), -ENOENT);
	CHECK_RC(store_getattr(st, sino, &a), -ENOENT);
	CHECK_RC(store_readdir(st, STORE_SNAPDIR_INO, 0, 1, count_names, &nm),
	    -ENOENT);
	CHECK_RC(store_readdir(st, snap, 0, 1, count_names, &nm), -ENOENT);
	CHECK_RC(store_path(st, sino, buf, sizeof(buf)), -ENOENT);
	CHECK_RC(store_readlink(st, sino, buf, sizeof(buf)), -ENOENT);
	CHECK_RC(store_open_file(st, sino, O_RDONLY, &f), -ENOENT);
	CHECK_RC(store_open_file(st, sino, O_RDWR, &f), -ENOENT);
	CHECK_RC(store_getxattr(st, STORE_SNAPDIR_INO, "user.x", buf,
	    sizeof(buf)), -ENOENT);
	CHECK_RC(store_listxattr(st, snap, buf, sizeof(buf)), -ENOENT);
	CHECK_RC(store_setxattr(st, sino, "user.x", "1", 1, 0), -ENOENT);
	CHECK_RC(store_unlink(st, snap, "versioned"), -ENOENT);
	CHECK_RC(store_link(st, sino, STORE_ROOT_INO, "stolen", &a), -ENOENT);
	CHECK_RC(store_mknod(st, STORE_ROOT_INO, ".snapshots", S_IFDIR | 0755,
	    0, &root_cr, &a), -EPERM);
	CHECK_RC(store_symlink(st, STORE_ROOT_INO, ".snapshots", "x", &root_cr,
	    &a), -EPERM);
	CHECK_RC(store_rename(st, STORE_ROOT_INO, "persist", STORE_ROOT_INO,
	    ".snapshots", 0), -EPERM);
	CHECK_OK(store_lookup(st, STORE_ROOT_INO, "persist", &a));
	CHECK_OK(store_snapshot(st, "live only", &id));
	CHECK(id == 2);
	CHECK_OK(store_close(st));
}

/* Run @cmd with %s replaced by @d (a shell command on a test store). */
static void
run(const char *fmt, const char *d)
{
	char cmd[1400];

	snprintf(cmd, sizeof(cmd), fmt, d, d, d, d);
	CHECK(system(cmd) == 0);
}

/*
 * An index older than the open pack.  A process commits three times
 * and dies without closing the store, so the pack stays open with the
 * log objects of the three commits in it; the index of its first commit
 * is put back.  Opening would cut the pack back to what that index
 * recorded and number the next commits as the lost ones: refused, read-
 * write and read-only, and nothing is touched.  The index of the last
 * commit opens (a crash, nothing to refuse).  Once the pack is closed,
 * the old index is refused again, and rebuild-index repairs it.
 */
static void
test_rollback_open_pack(void)
{
	struct store_opts o;
	struct store_attr a;
	char d[400];
	store *st;
	pid_t pid;
	int status;

	snprintf(d, sizeof(d), "%s/rollback", tmp);
	CHECK_OK(store_create(d, appl, sec));
	memset(&o, 0, sizeof(o));
	o.commit_ms = 60000; /* commits on store_sync() only */
	REQUIRE((pid = fork()) >= 0);
	if (pid == 0) {
		if (store_open(d, sec, &o, &st) != 0)
			_exit(2);
		create(st, STORE_ROOT_INO, "one", (const uint8_t *)"1", 1, 1);
		if (store_sync(st) != 0)
			_exit(3);
		run("cp -a %s/index %s/index-1", d);
		create(st, STORE_ROOT_INO, "two", (const uint8_t *)"2", 1, 1);
		if (store_sync(st) != 0)
			_exit(4);
		create(st, STORE_ROOT_INO, "three", (const uint8_t *)"3", 1, 1);
		_exit(store_sync(st) != 0 || check_failures != 0 ? 5 : 0);
	}
	REQUIRE(waitpid(pid, &status, 0) == pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fprintf(stderr, "writer exited with status %#x\n", status);
	REQUIRE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	run("mv %s/index %s/index-3 && cp -a %s/index-1 %s/index", d);
	run("ls -l %s/packs/*/* > %s/packs.before", d);
	CHECK_RC(store_open(d, sec, &o, &st), BEEMO_EROLLBACK);
	o.rdonly = 1;
	CHECK_RC(store_open(d, sec, &o, &st), BEEMO_EROLLBACK);
	o.rdonly = 0;
	run("ls -l %s/packs/*/* | cmp -s - %s/packs.before", d);

	run("rm -rf %s/index && cp -a %s/index-3 %s/index", d);
	CHECK_OK(store_open(d, sec, &o, &st));
	CHECK_OK(store_lookup(st, STORE_ROOT_INO, "three", &a));
	CHECK_OK(store_close(st));

	run("rm -rf %s/index && cp -a %s/index-1 %s/index", d);
	CHECK_RC(store_open(d, sec, &o, &st), BEEMO_EROLLBACK);
	CHECK_OK(store_rebuild(d, sec, NULL, NULL));
	CHECK_OK(store_open(d, sec, &o, &st));
	CHECK_OK(store_lookup(st, STORE_ROOT_INO, "three", &a));
	CHECK_OK(store_close(st));
}

/* Copy the raw value of meta @name from the index @from to the index
 * @to (LMDB environments): what someone who can write the index file,
 * but reads nothing, can do with an older sealed value. */
static void
meta_copy(const char *from, const char *to, const char *name)
{
	MDB_val k = {strlen(name), (void *)name}, v;
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	uint8_t buf[256];
	size_t len = 0;
	int pass;

	for (pass = 0; pass < 2; pass++) {
		REQUIRE(mdb_env_create(&env) == 0);
		mdb_env_set_maxdbs(env, 16);
		mdb_env_set_mapsize(env, 1ULL << 30);
		REQUIRE(mdb_env_open(env, pass ? to : from, 0, 0600) == 0);
		REQUIRE(mdb_txn_begin(env, NULL, 0, &txn) == 0);
		REQUIRE(mdb_dbi_open(txn, "meta", 0, &dbi) == 0);
		if (pass == 0) {
			REQUIRE(mdb_get(txn, dbi, &k, &v) == 0);
			REQUIRE(v.mv_size <= sizeof(buf));
			memcpy(buf, v.mv_data, v.mv_size);
			len = v.mv_size;
		} else {
			v.mv_data = buf;
			v.mv_size = len;
			REQUIRE(mdb_put(txn, dbi, &k, &v, 0) == 0);
		}
		REQUIRE(mdb_txn_commit(txn) == 0);
		mdb_env_close(env);
	}
}

/*
 * The index's log counter alone put back: the next commits would reuse
 * log sequence numbers, after which the packs no longer rebuild the
 * index.  The open is refused; rebuild-index repairs it.
 */
static void
test_rollback_lsn(void)
{
	char d[400], from[500], to[500];
	struct store_opts o;
	struct store_attr a;
	store *st;

	snprintf(d, sizeof(d), "%s/rollback", tmp);
	snprintf(from, sizeof(from), "%s/index-a", d);
	snprintf(to, sizeof(to), "%s/index", d);
	memset(&o, 0, sizeof(o));
	run("rm -rf %s/index-a && cp -a %s/index %s/index-a", d);
	CHECK_OK(store_open(d, sec, &o, &st));
	create(st, STORE_ROOT_INO, "four", (const uint8_t *)"4", 1, 1);
	CHECK_OK(store_close(st));
	meta_copy(from, to, "lsn");
	CHECK_RC(store_open(d, sec, &o, &st), BEEMO_EROLLBACK);
	CHECK_OK(store_rebuild(d, sec, NULL, NULL));
	CHECK_OK(store_open(d, sec, &o, &st));
	CHECK_OK(store_lookup(st, STORE_ROOT_INO, "four", &a));
	CHECK_OK(store_close(st));
}

static void
damage_one_pack(void)
{
	char cmd[700];

	/* Flip one byte in the middle of the largest pack. */
	snprintf(cmd, sizeof(cmd), "f=$(ls -S %s/packs/*/*.pack | head -1); "
	    "s=$(stat -c %%s $f); o=$((s / 2)); "
	    "b=$(od -An -tu1 -j$o -N1 $f); "
	    "printf \"$(printf '\\\\%%03o' $(( (b ^ 1) & 255 )))\" | "
	    "dd of=$f bs=1 seek=$o conv=notrunc status=none", dir);
	CHECK(system(cmd) == 0);
}

static void
on_problem(void *ctx, const char *object, const char *problem,
    const char *file)
{
	(void)object;
	(void)problem;
	(void)file;
	(*(int *)ctx)++;
}

int
main(void)
{
	uint8_t *data = malloc(3 << 20);
	struct store_attr a;
	uint64_t problems, ino;
	store *st;
	int n = 0;

	bm_log_open("test_store", 0, -1);
	keymgr_global_init();
	setup();
	CHECK_OK(store_create(dir, appl, sec));
	CHECK_RC(store_create(dir, appl, sec), -EEXIST);
	st = open_rw();
	test_namespace(st);
	test_readdir(st);
	test_contents(st);
	test_holes(st);
	test_stream_order(st);
	test_read_view(st);
	test_snapshots(st);
	fill(data, 3 << 20, 9);
	ino = create(st, STORE_ROOT_INO, "persist", data, 3 << 20, 1 << 20);
	CHECK_OK(store_close(st));

	/* Reopen: everything is there; a second writer is refused. */
	st = open_rw();
	{
		store *other;
		struct store_opts o = {0};

		CHECK_RC(store_open(dir, sec, &o, &other), BEEMO_ELOCKED);
	}
	CHECK_OK(store_lookup(st, STORE_ROOT_INO, "persist", &a));
	CHECK(a.ino == ino && content_is(st, ino, data, 3 << 20));
	CHECK_RC(store_getattr(st, orphan_ino, &a), -ENOENT);
	CHECK_OK(store_check(st, 1, on_problem, &n, NULL, NULL, &problems));
	CHECK(problems == 0 && n == 0);
	CHECK_OK(store_close(st));
	test_live_only();

	/* Rebuild the index from the packs alone. */
	{
		char cmd[400];

		snprintf(cmd, sizeof(cmd), "rm -rf %s/index", dir);
		CHECK(system(cmd) == 0);
	}
	CHECK_OK(store_rebuild(dir, sec, NULL, NULL));
	st = open_rw();
	CHECK_OK(store_lookup(st, STORE_ROOT_INO, "persist", &a));
	CHECK(content_is(st, a.ino, data, 3 << 20));
	CHECK_OK(store_lookup(st, store_snapshot_ino(1), "versioned", &a));
	CHECK_OK(store_close(st));
	st = open_rw();
	test_snap_tags(st);
	CHECK_OK(store_close(st));
	/* The store still knows, once reopened, that nothing changed. */
	st = open_rw();
	{
		uint32_t last = store_live_same(st), id;

		CHECK(last != 0 && snap_if_changed(st, &id) == 0 && id == last);
	}
	CHECK_OK(store_close(st));

	test_rollback_open_pack();
	test_rollback_lsn();

	/* A flipped byte: check names it, reads fail, never wrong data. */
	damage_one_pack();
	st = open_rw();
	n = 0;
	CHECK_OK(store_check(st, 1, on_problem, &n, NULL, NULL, &problems));
	CHECK(problems > 0 && n > 0);
	CHECK_OK(store_close(st));
	CHECK(store_rebuild(dir, sec, NULL, NULL) != 0);

	free(data);
	keymgr_secret_free(sec);
	if (check_failures == 0) {
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
		CHECK(system(cmd) == 0);
	}
	return check_status();
}
