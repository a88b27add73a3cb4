/*
 * test_store_erase.c -- store_erase() through the store's API: a path
 * present in the live tree and in three snapshots, under several
 * versions, with a hard link elsewhere, a name whose older version
 * names a kept file, and a directory moved out of the erased one; the
 * dry run lists each view's paths and changes nothing; after the
 * erasure no view shows any of it, every other file reads as before,
 * link counts and the live tree's counters are right, the journal no
 * longer names it, the check is clean, and so is a rebuild from the
 * packs.  Malformed paths, the root, a missing path, a read-only store
 * and a backup session's store are refused.  An erasure larger than one
 * commit, killed (SIGKILL) at several moments, is finished by running it
 * again, with counts right.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "keymgr.h"
#include "store.h"

static char tmp[256], dir[300];
static keymgr_secret *sec;
static const struct store_cred cr = {0, 0, 022};

static void
setup(void)
{
	char keys[300], poste[300];
	struct keymgr_kdf kdf = {1024, 8, 1};
	uint8_t appl[KEYMGR_ID_LEN];
	keymgr *km;

	snprintf(tmp, sizeof(tmp), "/tmp/beemo-test-erase.XXXXXX");
	REQUIRE(mkdtemp(tmp) != NULL);
	snprintf(keys, sizeof(keys), "%s/keys", tmp);
	snprintf(poste, sizeof(poste), "%s/pc1.poste", tmp);
	snprintf(dir, sizeof(dir), "%s/pc1", tmp);
	REQUIRE_OK(keymgr_init(keys, "admin", 5, &kdf));
	REQUIRE_OK(keymgr_open(keys, &km));
	REQUIRE_OK(keymgr_machine_add(km, "pc1", "alice", "alice", 5, "admin",
	    5, poste));
	REQUIRE_OK(keymgr_unlock_admin(km, "pc1", "admin", 5, &sec));
	keymgr_appliance_id(km, appl);
	keymgr_free(km);
	REQUIRE_OK(store_create(dir, appl, sec));
}

static store *
open_store(int rdonly, int live_only)
{
	struct store_opts o;
	store *st = NULL;

	memset(&o, 0, sizeof(o));
	o.rdonly = rdonly;
	o.live_only = live_only;
	o.commit_ms = 50;
	REQUIRE_OK(store_open(dir, sec, &o, &st));
	return st;
}

static uint64_t
put(store *st, uint64_t parent, const char *name, const char *text)
{
	struct store_attr a;
	store_file *f;
	int rc = store_lookup(st, parent, name, &a);

	if (rc == 0)
		CHECK_OK(store_open_file(st, a.ino, O_WRONLY | O_TRUNC, &f));
	else
		CHECK_OK(store_create_file(st, parent, name, 0644, &cr,
		    O_WRONLY, &a, &f));
	CHECK(store_write(f, text, strlen(text), 0) == (ssize_t)strlen(text));
	CHECK_OK(store_release(f));
	return a.ino;
}

static uint64_t
mkdir_(store *st, uint64_t parent, const char *name)
{
	struct store_attr a;

	CHECK_OK(store_mknod(st, parent, name, S_IFDIR | 0755, 0, &cr, &a));
	return a.ino;
}

/* The content of @path (from @root) is @want; NULL: @path is absent. */
static int
reads(store *st, uint64_t root, const char *path, const char *want)
{
	char buf[256], copy[256], *save, *name;
	struct store_attr a;
	uint64_t ino = root;
	store_file *f;
	ssize_t n;

	snprintf(copy, sizeof(copy), "%s", path);
	for (name = strtok_r(copy, "/", &save); name != NULL;
	    name = strtok_r(NULL, "/", &save)) {
		if (store_lookup(st, ino, name, &a) != 0)
			return want == NULL;
		ino = a.ino;
	}
	if (want == NULL)
		return 0;
	if (store_open_file(st, ino, O_RDONLY, &f) != 0)
		return 0;
	n = store_read(f, buf, sizeof(buf) - 1, 0);
	store_release(f);
	if (n < 0)
		return 0;
	buf[n] = '\0';
	return strcmp(buf, want) == 0;
}

/* The views' paths reported by store_erase(), "ID:/path\n" each. */
struct seen {
	char text[4096];
	size_t len;
};

static int
record(void *ctx, uint32_t snap, const char *path)
{
	struct seen *s = ctx;

	s->len += (size_t)snprintf(s->text + s->len, sizeof(s->text) - s->len,
	    "%u:%s\n", snap, path);
	return 0;
}

static int
journal_names(void *ctx, const struct store_journal_entry *e)
{
	int *bad = ctx;
	size_t i;

	for (i = 0; i < e->nfiles; i++)
		if (strstr(e->files[i], "marker") != NULL ||
		    strstr(e->files[i], "/D/") != NULL ||
		    strstr(e->files[i], "/moved") != NULL) {
			fprintf(stderr, "journal still names %s\n",
			    e->files[i]);
			(*bad)++;
		}
	if (strstr(e->summary, "marker") != NULL)
		(*bad)++;
	return 0;
}

static int
journal_erased(void *ctx, const struct store_journal_entry *e)
{
	size_t i;

	for (i = 0; i < e->nfiles; i++)
		if (strstr(e->files[i], "[erased]") != NULL)
			(*(int *)ctx)++;
	return 0;
}

static int
journal_erase_entry(void *ctx, const struct store_journal_entry *e)
{
	(*(int *)ctx)++;
	CHECK(strstr(e->summary, "live tree and 3 snapshots: 1, 2, 3") !=
	    NULL);
	CHECK(e->nfiles == 0);
	return 0;
}

static void
check_erased(store *st)
{
	struct store_attr a;
	uint32_t id;

	for (id = 1; id <= 3; id++) {
		uint64_t r = store_snapshot_ino(id);

		CHECK(reads(st, r, "D", NULL));
		CHECK(reads(st, r, "keep/link", NULL));
		CHECK(reads(st, r, "keep/a.txt", id < 3 ? "kept a" :
		    "kept a v2"));
		CHECK_OK(store_getattr(st, r, &a));
		CHECK(a.nlink == 3); /* keep only */
	}
	CHECK(reads(st, STORE_ROOT_INO, "D", NULL));
	CHECK(reads(st, STORE_ROOT_INO, "keep/link", NULL));
	CHECK(reads(st, STORE_ROOT_INO, "keep/moved", NULL));
	CHECK(reads(st, STORE_ROOT_INO, "keep/a.txt", "kept a v2"));
	CHECK(reads(st, STORE_ROOT_INO, "other", "other"));
	/* /keep/n named a kept file in snapshot 1, then an erased one: the
	 * erased version must not uncover the older one. */
	CHECK(reads(st, store_snapshot_ino(1), "keep/n", "kept n"));
	CHECK(reads(st, store_snapshot_ino(2), "keep/n", NULL));
	CHECK(reads(st, store_snapshot_ino(2), "keep/n2", "kept n"));
	CHECK(reads(st, STORE_ROOT_INO, "keep/n", NULL));
	/* /keep had /moved (a directory of D's) in the live tree. */
	CHECK_OK(store_lookup(st, STORE_ROOT_INO, "keep", &a));
	CHECK(a.nlink == 2);
	CHECK_OK(store_getattr(st, STORE_ROOT_INO, &a));
	CHECK(a.nlink == 3);
}

static long
ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 +
	    (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/*
 * Directory @name with @n empty files and a snapshot of it; then a child
 * process erases it and is killed after @kill_ms (-1: not killed); then
 * the erasure runs again to its end.  Returns how long the child ran.
 */
static long
erase_killed(const char *name, int n, long kill_ms)
{
	struct store_stats before, after;
	struct store_snapinfo *sbefore, *safter;
	struct store_attr a;
	struct timespec t0;
	uint64_t dirino, problems = 1;
	char f[32];
	uint32_t id;
	pid_t pid;
	size_t i, nsnap;
	int status, rc;
	store *st = open_store(0, 0);

	dirino = mkdir_(st, STORE_ROOT_INO, name);
	for (i = 0; i < (size_t)n; i++) {
		snprintf(f, sizeof(f), "f%zu", i);
		CHECK_OK(store_mknod(st, dirino, f, S_IFREG | 0644, 0, &cr,
		    &a));
	}
	CHECK_OK(store_snapshot(st, name, &id));
	CHECK_OK(store_stats(st, &before));
	CHECK_OK(store_snapshots(st, &sbefore, &nsnap));
	CHECK_OK(store_close(st));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	REQUIRE((pid = fork()) >= 0);
	if (pid == 0) {
		st = open_store(0, 0);
		rc = store_erase(st, name, 0, NULL, NULL);
		_exit(rc != 0 || store_close(st) != 0 ? 3 : 0);
	}
	if (kill_ms >= 0) {
		struct timespec d = {kill_ms / 1000, (kill_ms % 1000) * 1000000};

		nanosleep(&d, NULL);
		kill(pid, SIGKILL);
	}
	REQUIRE(waitpid(pid, &status, 0) == pid);
	CHECK(WIFSIGNALED(status) || (WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0));
	kill_ms = ms_since(&t0);
	st = open_store(0, 0);
	rc = store_erase(st, name, 0, NULL, NULL);
	CHECK(rc == 0 || rc == -ENOENT);
	CHECK_RC(store_erase(st, name, 1, NULL, NULL), -ENOENT);
	CHECK(reads(st, store_snapshot_ino(id), name, NULL));
	CHECK(reads(st, store_snapshot_ino(id), "keep/a.txt", "kept a v2"));
	CHECK_OK(store_stats(st, &after));
	CHECK(after.files == before.files - (uint64_t)n);
	CHECK(after.dirs == before.dirs - 1);
	/* The snapshot's record too, once: no unit counted twice. */
	CHECK_OK(store_snapshots(st, &safter, &i));
	REQUIRE(i == nsnap && nsnap > 0);
	CHECK(safter[nsnap - 1].files == sbefore[nsnap - 1].files -
	    (uint64_t)n);
	free(sbefore);
	free(safter);
	CHECK_OK(store_check(st, 0, NULL, NULL, NULL, NULL, &problems));
	CHECK(problems == 0);
	CHECK_OK(store_close(st));
	return kill_ms;
}

int
main(void)
{
	struct store_attr a;
	struct store_stats before, after;
	struct store_snapinfo *sbefore, *safter;
	size_t nsnap;
	struct seen s;
	uint64_t root = STORE_ROOT_INO, keep, d, sub, f, n;
	uint64_t problems = 1;
	uint32_t id;
	int bad, cnt;
	store *st;

	setup();
	st = open_store(0, 0);
	CHECK_OK(store_session_begin(st));
	keep = mkdir_(st, root, "keep");
	d = mkdir_(st, root, "D");
	sub = mkdir_(st, d, "sub");
	put(st, keep, "a.txt", "kept a");
	n = put(st, keep, "n", "kept n");
	/* Kept alive after /keep/n is replaced by a file of D. */
	CHECK_OK(store_link(st, n, keep, "n2", &a));
	f = put(st, sub, "marker.txt", "secret marker content");
	put(st, d, "marker-g", "g v1 marker");
	put(st, d, "marker-n", "n of D, marker");
	CHECK_OK(store_link(st, f, keep, "link", &a));
	put(st, root, "other", "other");
	mkdir_(st, d, "movedir");
	CHECK_OK(store_snapshot(st, "one", &id));
	CHECK(id == 1);
	/* Snapshot 2: a new version of a file of D, and /keep/n replaced by
	 * a file of D. */
	put(st, d, "marker-g", "g v2 marker");
	CHECK_OK(store_rename(st, d, "marker-n", keep, "n", 0));
	CHECK_OK(store_snapshot(st, "two", &id));
	CHECK(id == 2);
	put(st, keep, "a.txt", "kept a v2");
	CHECK_OK(store_snapshot(st, "three", &id));
	CHECK(id == 3);
	/* The live tree: a directory of D moved out of it, with a new file
	 * in it (erased with it: its directory goes). */
	CHECK_OK(store_rename(st, d, "movedir", keep, "moved", 0));
	CHECK_OK(store_lookup(st, keep, "moved", &a));
	put(st, a.ino, "inside", "inside marker");
	CHECK_OK(store_session_end(st));
	CHECK_OK(store_sync(st));
	CHECK(reads(st, store_snapshot_ino(1), "D/sub/marker.txt",
	    "secret marker content"));
	CHECK(reads(st, store_snapshot_ino(2), "keep/n", "n of D, marker"));

	/* Refusals. */
	CHECK_RC(store_erase(st, "", 0, NULL, NULL), -EINVAL);
	CHECK_RC(store_erase(st, "/", 0, NULL, NULL), -EINVAL);
	CHECK_RC(store_erase(st, "//", 0, NULL, NULL), -EINVAL);
	CHECK_RC(store_erase(st, "D/../keep", 0, NULL, NULL), -EINVAL);
	CHECK_RC(store_erase(st, "./D", 0, NULL, NULL), -EINVAL);
	CHECK_RC(store_erase(st, "D//sub", 0, NULL, NULL), -EINVAL);
	CHECK_RC(store_erase(st, "nowhere", 0, NULL, NULL), -ENOENT);
	CHECK_RC(store_erase(st, "D/sub/marker.txt/x", 0, NULL, NULL),
	    -ENOENT);

	/* The dry run reports each view's paths and changes nothing. */
	CHECK_OK(store_stats(st, &before));
	memset(&s, 0, sizeof(s));
	CHECK_OK(store_erase(st, "/D", 1, record, &s));
	CHECK(strstr(s.text, "0:/D\n") != NULL);
	CHECK(strstr(s.text, "0:/keep/moved\n") != NULL);
	CHECK(strstr(s.text, "0:/keep/moved/inside\n") != NULL);
	CHECK(strstr(s.text, "0:/keep/link\n") != NULL);
	CHECK(strstr(s.text, "1:/D/sub/marker.txt\n") != NULL);
	CHECK(strstr(s.text, "1:/keep/link\n") != NULL);
	CHECK(strstr(s.text, "1:/keep/n\n") == NULL);
	CHECK(strstr(s.text, "2:/keep/n\n") != NULL);
	CHECK(strstr(s.text, "3:/D/marker-g\n") != NULL);
	CHECK(strstr(s.text, "3:/D/movedir\n") != NULL);
	CHECK(reads(st, store_snapshot_ino(1), "D/sub/marker.txt",
	    "secret marker content"));
	CHECK(reads(st, root, "keep/link", "secret marker content"));
	CHECK_OK(store_stats(st, &after));
	CHECK(after.files == before.files && after.dirs == before.dirs &&
	    after.bytes == before.bytes);

	/* The erasure. */
	CHECK_OK(store_snapshots(st, &sbefore, &nsnap));
	REQUIRE(nsnap == 3);
	memset(&s, 0, sizeof(s));
	CHECK_OK(store_erase(st, "D/", 0, record, &s));
	/* Each snapshot counted marker.txt, marker-g and marker-n. */
	CHECK_OK(store_snapshots(st, &safter, &nsnap));
	REQUIRE(nsnap == 3);
	for (id = 0; id < 3; id++) {
		CHECK(safter[id].files == sbefore[id].files - 3);
		CHECK(safter[id].bytes == sbefore[id].bytes -
		    strlen("secret marker content") - strlen("g v1 marker") -
		    strlen("n of D, marker"));
		CHECK(safter[id].seq == sbefore[id].seq &&
		    safter[id].time == sbefore[id].time &&
		    strcmp(safter[id].note, sbefore[id].note) == 0);
	}
	free(sbefore);
	free(safter);
	CHECK(strstr(s.text, "2:/keep/n\n") != NULL);
	check_erased(st);
	CHECK_OK(store_stats(st, &after));
	/* Gone from the live tree: D, sub, marker.txt (also /keep/link),
	 * marker-g, marker-n (/keep/n), movedir (/keep/moved), inside. */
	CHECK(after.dirs == before.dirs - 3);
	CHECK(after.files == before.files - 4);
	CHECK(after.bytes == before.bytes - strlen("secret marker content") -
	    strlen("g v2 marker") - strlen("inside marker") -
	    strlen("n of D, marker"));
	CHECK_RC(store_erase(st, "D", 0, NULL, NULL), -ENOENT);
	CHECK_RC(store_erase(st, "D", 1, NULL, NULL), -ENOENT);
	bad = 0;
	CHECK_OK(store_journal_list(st, 0, NULL, journal_names, &bad));
	CHECK(bad == 0);
	cnt = 0;
	CHECK_OK(store_journal_list(st, 0, NULL, journal_erased, &cnt));
	CHECK(cnt >= 5);
	cnt = 0;
	CHECK_OK(store_journal_list(st, 0, "erase", journal_erase_entry,
	    &cnt));
	CHECK(cnt == 1);
	CHECK_OK(store_check(st, 1, NULL, NULL, NULL, NULL, &problems));
	CHECK(problems == 0);
	CHECK_OK(store_close(st));

	/* Durable, and what a rebuild from the packs alone gives too. */
	st = open_store(1, 0);
	check_erased(st);
	CHECK_RC(store_erase(st, "keep", 0, NULL, NULL), -EROFS);
	memset(&s, 0, sizeof(s));
	CHECK_OK(store_erase(st, "keep/a.txt", 1, record, &s));
	CHECK(strstr(s.text, "3:/keep/a.txt\n") != NULL);
	CHECK_OK(store_close(st));
	st = open_store(0, 1);
	CHECK_RC(store_erase(st, "keep", 0, NULL, NULL), -EPERM);
	CHECK_OK(store_close(st));
	CHECK_OK(store_rebuild(dir, sec, NULL, NULL));
	st = open_store(0, 0);
	check_erased(st);
	problems = 1;
	CHECK_OK(store_check(st, 1, NULL, NULL, NULL, NULL, &problems));
	CHECK(problems == 0);
	CHECK_OK(store_close(st));

	/* An erasure of more changes than one commit takes (ERASE_BATCH,
	 * store_erase.c: two per file here). */
	st = open_store(0, 0);
	{
		uint64_t big = mkdir_(st, root, "big");
		char name[32];
		int i;

		CHECK_OK(store_stats(st, &before));
		for (i = 0; i < 8000; i++) {
			snprintf(name, sizeof(name), "f%d", i);
			CHECK_OK(store_mknod(st, big, name, S_IFREG | 0644, 0,
			    &cr, &a));
		}
		CHECK_OK(store_snapshot(st, "big", &id));
		CHECK_OK(store_erase(st, "big", 0, NULL, NULL));
		CHECK_OK(store_stats(st, &after));
		CHECK(after.files == before.files && after.dirs ==
		    before.dirs - 1);
		CHECK(reads(st, store_snapshot_ino(id), "big", NULL));
		CHECK(reads(st, store_snapshot_ino(id), "keep/a.txt",
		    "kept a v2"));
		problems = 1;
		CHECK_OK(store_check(st, 0, NULL, NULL, NULL, NULL,
		    &problems));
		CHECK(problems == 0);
	}
	CHECK_OK(store_close(st));

	/* Killed at several moments of the time a whole run takes (which
	 * varies: some kills come after the end). */
	{
		long full = erase_killed("whole", 6000, -1);

		erase_killed("k1", 6000, full / 4);
		erase_killed("k2", 6000, 2 * full / 5);
		erase_killed("k3", 6000, full / 2);
		erase_killed("k4", 6000, 3 * full / 5);
	}

	keymgr_secret_free(sec);
	{
		char cmd[400];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmp);
	}
	return check_status();
}
