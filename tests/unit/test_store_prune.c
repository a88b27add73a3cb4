/*
 * test_store_prune.c -- unit tests of the prune (fs/store_prune.c,
 * fs/store_repack.c): the visibility rule on synthetic version lists,
 * the mark, and through the API: forget and prune reclaim the space of
 * a deleted file and of a forgotten snapshot's versions, keep every
 * remaining view byte-exact, leave a store that checks clean, reopens
 * and rebuilds; a dry run changes nothing; dropped packs are listed,
 * and a dropped pack's file left by a crash goes at the next open.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bm_err.h"
#include "bm_log.h"
#include "check.h"
#include "keymgr.h"
#include "store.h"
#include "store_commit.h"
#include "store_internal.h"
#include "store_prune.h"

/* ---- the visibility rule ---------------------------------------------- */

struct keep_case {
	const char *what;
	uint64_t seq[6];
	uint8_t tomb[6];
	size_t n;
	uint64_t snaps[4];
	size_t nsnaps;
	uint8_t want[6];
};

static const struct keep_case keep_cases[] = {
	{"no snapshot: only the newest", {9, 5, 2}, {0, 0, 0}, 3, {0}, 0,
	    {1, 0, 0}},
	{"snapshot between versions", {9, 5, 2}, {0, 0, 0}, 3, {6}, 1,
	    {1, 1, 0}},
	{"snapshot at a version's seq sees it", {9, 5, 2}, {0, 0, 0}, 3,
	    {5}, 1, {1, 1, 0}},
	{"snapshot before every version sees none", {9, 5}, {0, 0}, 2, {1},
	    1, {1, 0}},
	{"two snapshots, one version each", {9, 5, 2}, {0, 0, 0}, 3, {3, 7},
	    2, {1, 1, 1}},
	{"two snapshots on one version", {9, 5, 2}, {0, 0, 0}, 3, {6, 8}, 2,
	    {1, 1, 0}},
	{"snapshot at or above the newest", {9, 5}, {0, 0}, 2, {9, 12}, 2,
	    {1, 0}},
	{"live tombstone over nothing kept", {9, 5}, {1, 0}, 2, {0}, 0,
	    {0, 0}},
	{"live tombstone over a kept version", {9, 5}, {1, 0}, 2, {6}, 1,
	    {1, 1}},
	{"tombstone seen by a snapshot, nothing kept below", {9, 5, 2},
	    {0, 1, 0}, 3, {6}, 1, {1, 0, 0}},
	{"tombstone kept above an older kept version", {9, 5, 2}, {0, 1, 0},
	    3, {3, 6}, 2, {1, 1, 1}},
	{"tombstones only", {9, 5}, {1, 1}, 2, {6}, 1, {0, 0}},
	{"one live version", {4}, {0}, 1, {1, 2, 3}, 3, {1}},
};

static void
test_keep(void)
{
	size_t c, i;

	for (c = 0; c < sizeof(keep_cases) / sizeof(keep_cases[0]); c++) {
		const struct keep_case *k = &keep_cases[c];
		struct prune_version v[6];
		int ok = 1;

		for (i = 0; i < k->n; i++) {
			v[i].seq = k->seq[i];
			v[i].tomb = k->tomb[i];
			v[i].keep = 9;
		}
		prune_keep(v, k->n, k->snaps, k->nsnaps);
		for (i = 0; i < k->n; i++)
			ok &= v[i].keep == k->want[i];
		if (!ok)
			fprintf(stderr, "prune_keep: %s\n", k->what);
		CHECK(ok);
	}
}

static void
test_mark(void)
{
	struct prune_mark m;
	uint8_t id[OBJ_ID_LEN];
	unsigned i;

	memset(&m, 0, sizeof(m));
	memset(id, 0, sizeof(id));
	/* 20000 additions of 5000 ids: compaction keeps the array small. */
	for (i = 0; i < 20000; i++) {
		id[0] = (uint8_t)(i % 5000);
		id[1] = (uint8_t)((i % 5000) >> 8);
		CHECK_OK(mark_add(&m, id));
	}
	CHECK_OK(mark_finish(&m));
	CHECK(m.n == 5000);
	CHECK(m.cap <= 16384);
	id[0] = 7;
	id[1] = 0;
	CHECK(mark_has(&m, id));
	id[1] = 200;
	CHECK(!mark_has(&m, id));
	mark_free(&m);
}

/* The mark of a million chunks (each named twice, as by two versions)
 * stays within 100 MB: peak RSS grows by about 32 MB (printed). */
static void
test_mark_memory(void)
{
	struct prune_mark m;
	struct rusage r0, r1;
	uint8_t id[OBJ_ID_LEN];
	uint32_t i, x;

	memset(&m, 0, sizeof(m));
	memset(id, 0x5a, sizeof(id));
	getrusage(RUSAGE_SELF, &r0);
	for (i = 0; i < 2000000; i++) {
		uint32_t v = i % 1000000;

		x = v * 2654435761u; /* spread over the array */
		memcpy(id, &x, sizeof(x));
		memcpy(id + 4, &v, sizeof(v));
		CHECK_RC(mark_add(&m, id), 0);
	}
	CHECK_OK(mark_finish(&m));
	getrusage(RUSAGE_SELF, &r1);
	printf("mark: %zu ids, peak RSS +%ld KiB\n", m.n,
	    r1.ru_maxrss - r0.ru_maxrss);
	CHECK(m.n == 1000000);
#ifndef __SANITIZE_ADDRESS__
	/* (AddressSanitizer's quarantine and copying realloc count too) */
	CHECK(r1.ru_maxrss - r0.ru_maxrss < 100 * 1024);
#endif
	mark_free(&m);
}

/* ---- through the store ------------------------------------------------- */

static char tmp[256], dir[300];
static keymgr_secret *sec;
static uint8_t appl[KEYMGR_ID_LEN];
static const struct store_cred root_cr = {0, 0, 022};

static void
setup(void)
{
	char keys[300], poste[300];
	struct keymgr_kdf kdf = {1024, 8, 1};
	keymgr *km;

	snprintf(tmp, sizeof(tmp), "/tmp/beemo-test-prune.XXXXXX");
	REQUIRE(mkdtemp(tmp) != NULL);
	snprintf(keys, sizeof(keys), "%s/keys", tmp);
	snprintf(poste, sizeof(poste), "%s/pc1.poste", tmp);
	snprintf(dir, sizeof(dir), "%s/machines-pc1", tmp);
	REQUIRE_OK(keymgr_init(keys, "admin", 5, &kdf));
	REQUIRE_OK(keymgr_open(keys, &km));
	REQUIRE_OK(keymgr_machine_add(km, "pc1", "alice", "alice", 5, "admin",
	    5, poste));
	REQUIRE_OK(keymgr_unlock_poste(km, "pc1", poste, &sec));
	keymgr_appliance_id(km, appl);
	keymgr_free(km);
}

static store *
open_rw(void)
{
	struct store_opts o;
	store *st = NULL;

	memset(&o, 0, sizeof(o));
	o.pack_size = 1 << 20; /* many packs */
	o.commit_ms = 50;
	o.zstd_level = -1;
	REQUIRE_OK(store_open(dir, sec, &o, &st));
	return st;
}

static void
fill(uint8_t *buf, size_t len, unsigned seed)
{
	uint32_t x = seed * 2654435761u + 1;
	size_t i;

	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = (uint8_t)x;
	}
}

static void
put(store *st, const char *name, const uint8_t *data, size_t len)
{
	struct store_attr a;
	store_file *f;

	if (store_lookup(st, STORE_ROOT_INO, name, &a) == 0)
		REQUIRE_OK(store_open_file(st, a.ino, O_WRONLY | O_TRUNC, &f));
	else
		REQUIRE_OK(store_create_file(st, STORE_ROOT_INO, name, 0644,
		    &root_cr, O_WRONLY, &a, &f));
	CHECK(store_write(f, data, len, 0) == (ssize_t)len);
	CHECK_OK(store_flush(f));
	CHECK_OK(store_release(f));
}

/* Whether @name in the tree of @root (the live root or a snapshot's)
 * reads as @data. */
static int
reads(store *st, uint64_t root, const char *name, const uint8_t *data,
    size_t len)
{
	struct store_attr a;
	store_file *f;
	uint8_t *buf;
	ssize_t n;

	if (store_lookup(st, root, name, &a) != 0 ||
	    store_open_file(st, a.ino, O_RDONLY, &f) != 0)
		return 0;
	buf = malloc(len + 1);
	n = store_read(f, buf, len + 1, 0);
	store_release(f);
	n = n == (ssize_t)len && memcmp(buf, data, len) == 0;
	free(buf);
	return (int)n;
}

static void
count_problem(void *ctx, const char *object, const char *problem,
    const char *file)
{
	fprintf(stderr, "check: %s: %s (%s)\n", object, problem,
	    file ? file : "-");
	(*(int *)ctx)++;
}

static uint64_t
check_clean(store *st)
{
	uint64_t problems = 1;
	int n = 0;

	CHECK_OK(store_check(st, 1, count_problem, &n, NULL, NULL,
	    &problems));
	CHECK(problems == 0);
	return problems;
}

#define BIG (3U << 20)

static void
show(const char *what, const struct store_prune_stats *p)
{
	printf("%s: versions %llu chunks %llu logs %llu packs -%llu ~%llu "
	    "+%llu bytes %llu -> %llu (left %llu)\n", what,
	    (unsigned long long)p->versions_dropped,
	    (unsigned long long)p->chunks_dropped,
	    (unsigned long long)p->log_dropped,
	    (unsigned long long)p->packs_deleted,
	    (unsigned long long)p->packs_repacked,
	    (unsigned long long)p->packs_written,
	    (unsigned long long)p->stored_before,
	    (unsigned long long)p->stored_after,
	    (unsigned long long)p->reclaimable_after);
}

static void
test_prune(void)
{
	uint8_t *a = malloc(BIG), *b1 = malloc(BIG), *b2 = malloc(BIG);
	struct store_prune_opts o = {0, 0, NULL, NULL};
	struct store_prune_stats ps;
	struct store_stats s0, s1;
	uint64_t *dropped;
	uint32_t s1id, s2id, none = 999;
	size_t nd;
	store *st;

	fill(a, BIG, 1);
	fill(b1, BIG, 2);
	fill(b2, BIG, 3);
	REQUIRE_OK(store_create(dir, appl, sec));
	st = open_rw();
	put(st, "a", a, BIG);
	put(st, "b", b1, BIG);
	CHECK_OK(store_snapshot(st, "one", &s1id));
	/* "a" is deleted, "b" rewritten: the old "b" lives in snapshot 1
	 * only, "a" in snapshot 1 only. */
	CHECK_OK(store_unlink(st, STORE_ROOT_INO, "a"));
	put(st, "b", b2, BIG);
	CHECK_OK(store_snapshot(st, "two", &s2id));
	/* As beemoctl prune does: a store of its own, where no file
	 * unlinked while open remains. */
	CHECK_OK(store_close(st));
	st = open_rw();

	/* Nothing to reclaim while snapshot 1 remains. */
	CHECK_OK(store_stats(st, &s0));
	o.dry_run = 1;
	CHECK_OK(store_prune(st, &o, &ps));
	CHECK(ps.packs_deleted == 0 && ps.packs_repacked == 0);
	CHECK(ps.chunks_dropped == 0);

	CHECK_RC(store_forget(st, &none, 1), -ENOENT);
	CHECK_OK(store_forget(st, &s1id, 1));
	CHECK_OK(store_stats(st, &s1));
	CHECK(s1.snapshots == 1);
	/* The estimate: both 3 MiB files of snapshot 1 are garbage. */
	CHECK(s1.reclaimable >= 2 * (uint64_t)BIG * 95 / 100);
	CHECK(s1.reclaimable_time != 0);

	/* A dry run changes nothing. */
	CHECK_OK(store_prune(st, &o, &ps));
	show("dry run", &ps);
	CHECK(ps.chunks_dropped >= 2 && ps.versions_dropped > 0);
	CHECK(ps.packs_deleted + ps.packs_repacked > 0);
	CHECK(ps.stored_after == ps.stored_before);
	CHECK_OK(store_stats(st, &s1));
	/* (but for the log objects of the forget's commits) */
	CHECK(s1.stored < s0.stored + 65536 && s1.chunks == s0.chunks);

	o.dry_run = 0;
	CHECK_OK(store_prune(st, &o, &ps));
	CHECK(ps.stored_before - ps.stored_after >= 2 * (uint64_t)BIG *
	    95 / 100);
	show("prune", &ps);
	CHECK(ps.chunks_dropped >= 2);
	CHECK_OK(store_stats(st, &s1));
	CHECK(s1.stored < ps.stored_after + 65536);
	CHECK(s1.stored < s0.stored - 2 * (uint64_t)BIG * 95 / 100);
	CHECK(s1.packs < s0.packs);
	CHECK(reads(st, STORE_ROOT_INO, "b", b2, BIG));
	CHECK(reads(st, store_snapshot_ino(s2id), "b", b2, BIG));
	CHECK(!reads(st, store_snapshot_ino(s1id), "b", b1, BIG));
	check_clean(st);
	CHECK_OK(store_dropped_packs(st, &dropped, &nd));
	CHECK(nd == ps.packs_deleted + ps.packs_repacked && nd > 0);
	/* A second prune finds nothing more. */
	CHECK_OK(store_prune(st, NULL, &ps));
	CHECK(ps.chunks_dropped == 0 && ps.packs_deleted == 0);
	/* The id of a forgotten snapshot, even the newest, is not given
	 * again. */
	{
		uint32_t id3, id4;

		CHECK_OK(store_snapshot(st, "three", &id3));
		CHECK_OK(store_forget(st, &id3, 1));
		CHECK_OK(store_snapshot(st, "four", &id4));
		CHECK(id4 == id3 + 1);
	}
	/* Garbage under the threshold stays, but for an erase's request
	 * ("prune_full"), which the prune then clears. */
	{
		uint64_t full = 1;

		put(st, "x1", a, 300 << 10);
		put(st, "x2", b1, 300 << 10);
		CHECK_OK(store_unlink(st, STORE_ROOT_INO, "x1"));
		CHECK_OK(store_close(st));
		st = open_rw();
		o.repack_pct = 100;
		CHECK_OK(store_prune(st, &o, &ps));
		CHECK(ps.reclaimable_after > 0 && ps.packs_repacked == 0);
		ix_lock(st);
		CHECK_OK(ix_meta_put(st, "prune_full", 1));
		CHECK_OK(commit_wait_locked(st));
		ix_unlock(st);
		CHECK_OK(store_prune(st, &o, &ps));
		CHECK(ps.reclaimable_after == 0 && ps.packs_repacked > 0);
		ix_lock(st);
		CHECK_OK(ix_meta_get(st, "prune_full", &full));
		ix_unlock(st);
		CHECK(full == 0);
		CHECK(reads(st, STORE_ROOT_INO, "x2", b1, 300 << 10));
		o.repack_pct = 0;
	}
	CHECK_OK(store_close(st));

	/* A dropped pack's file left by a crash is removed at the next
	 * open; the store still checks clean. */
	if (nd > 0) {
		char p[400];
		int fd;

		snprintf(p, sizeof(p), "%s/packs/%02x/%016llx.pack", dir,
		    (unsigned)(dropped[0] & 0xff),
		    (unsigned long long)dropped[0]);
		fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
		CHECK(fd >= 0);
		if (fd >= 0)
			close(fd);
		st = open_rw();
		CHECK(access(p, F_OK) != 0);
		check_clean(st);
		CHECK_OK(store_close(st));
	}
	free(dropped);

	/* The packs alone rebuild the same trees. */
	{
		char cmd[400];

		snprintf(cmd, sizeof(cmd), "rm -rf %s/index", dir);
		CHECK(system(cmd) == 0);
	}
	CHECK_OK(store_rebuild(dir, sec, NULL, NULL));
	st = open_rw();
	CHECK(reads(st, STORE_ROOT_INO, "b", b2, BIG));
	CHECK(reads(st, store_snapshot_ino(s2id), "b", b2, BIG));
	CHECK_OK(store_stats(st, &s1));
	CHECK(s1.snapshots == 2);
	check_clean(st);
	CHECK_OK(store_close(st));
	free(a);
	free(b1);
	free(b2);
}

/* The first log object of pack 0, raw (pack_walk callback). */
struct first_log {
	uint8_t *raw;
	size_t len;
};

static int
find_log(void *ctx, uint64_t pack, uint64_t off, const struct obj_hdr *h,
    const uint8_t *raw)
{
	struct first_log *fl = ctx;

	(void)pack;
	(void)off;
	if (h->type != OBJ_LOG)
		return 0;
	fl->len = OBJ_HDR_LEN + h->stored_len + OBJ_TAG_LEN;
	if ((fl->raw = malloc(fl->len)) == NULL)
		return -ENOMEM;
	memcpy(fl->raw, raw, fl->len);
	return 1;
}

/*
 * A prune killed while it copies a pack: the open pack holds, beyond
 * its committed length, a copy of an old log object (lower numbered
 * than the index's next).  With "repacking" set, as the prune sets it
 * first, the next open accepts that tail and cuts it away; without it,
 * the same tail is the sign of an index older than the packs and is
 * refused (so the counter is what makes the difference).
 */
static void
crash_mid_copy(int repacking)
{
	struct first_log fl = {NULL, 0};
	char path[4096];
	uint64_t end, pack, off;
	pid_t pid;
	int status;
	store *st;

	REQUIRE((pid = fork()) >= 0);
	if (pid == 0) {
		st = open_rw();
		/* The first pack the prune left that holds a log object. */
		for (pack = 0; pack < 64 && fl.raw == NULL; pack++)
			if (pack_path(&st->packs, pack, 0, path, sizeof(path))
			    == 0 && access(path, F_OK) == 0)
				(void)pack_walk(st->machine_id, path, 0, find_log,
				    &fl, &end);
		if (fl.raw == NULL)
			_exit(2);
		ix_lock(st);
		if (ix_meta_put_nolog(st, "repacking", (uint64_t)repacking) ||
		    commit_wait_locked(st) != 0)
			_exit(3);
		ix_unlock(st);
		if (pack_append(&st->packs, fl.raw, fl.len, &pack, &off) != 0)
			_exit(4);
		_exit(0); /* killed before the commit */
	}
	REQUIRE(waitpid(pid, &status, 0) == pid);
	REQUIRE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void
test_crash_mid_copy(void)
{
	struct store_opts o;
	char cmd[400];
	store *st;

	memset(&o, 0, sizeof(o));

	crash_mid_copy(0);
	CHECK_RC(store_open(dir, sec, &o, &st), BEEMO_EROLLBACK);
	/* (that tail was never committed: remove it by hand) */
	snprintf(cmd, sizeof(cmd), "rm %s/packs/*/*.pack.open", dir);
	CHECK(system(cmd) == 0);
	crash_mid_copy(1);
	st = open_rw();
	check_clean(st);
	CHECK_OK(store_close(st));
}

int
main(void)
{
	bm_log_open("test_store_prune", 0, -1);
	test_keep();
	test_mark();
	test_mark_memory();
	keymgr_global_init();
	setup();
	test_prune();
	test_crash_mid_copy();
	keymgr_secret_free(sec);
	if (check_failures == 0) {
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
		CHECK(system(cmd) == 0);
	}
	return check_status();
}
