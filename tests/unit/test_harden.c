/*
 * test_harden.c -- unit tests of the base library's defences against a
 * local attacker: the private temporary directory (bm_tmpdir: mode,
 * owner, name, removal of a tree holding symbolic links without
 * following them, removal of a dead process's directory, bad prefixes),
 * the check of a directory a user names (bm_dir_trusted), and the core
 * dump locks (bm_nodump: dumpable flag, core size limit,
 * coredump_filter; bm_dontdump: the "dd" flag of a mapping).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bm_file.h"
#include "bm_nodump.h"
#include "bm_tmpdir.h"
#include "check.h"

/* A dead process's directory: no PID is this large (pid_max <= 2^22). */
#define DEAD_NAME "scan-2147483000-AbCdEf"

static char victim[64];

static int
private_dir(const char *path)
{
	struct stat sb;

	return lstat(path, &sb) == 0 && S_ISDIR(sb.st_mode) &&
	    sb.st_uid == geteuid() && (sb.st_mode & 07777) == 0700;
}

static void
put(int dfd, const char *name, const char *text)
{
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600);

	REQUIRE(fd >= 0);
	REQUIRE(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
}

static void
test_tmpdir(void)
{
	struct bm_tmpdir td, td2;
	char want[64], path[PATH_MAX + 64], alive[64];
	int fd, sub;

	CHECK_RC(bm_tmpdir_make("", &td), -EINVAL);
	CHECK_RC(bm_tmpdir_make("a/b", &td), -EINVAL);
	CHECK_RC(bm_tmpdir_make("..", &td), -EINVAL);
	REQUIRE_OK(bm_tmpdir_make("scan", &td));
	CHECK(private_dir(td.path));
	CHECK(private_dir(td.parent));
	snprintf(want, sizeof(want), "scan-%ld-", (long)getpid());
	CHECK(strncmp(td.name, want, strlen(want)) == 0);
	CHECK(strlen(td.name) == strlen(want) + 6);
	CHECK(strncmp(td.path, "/run/beemo", 10) == 0 ||
	    strncmp(td.path, "/dev/shm/beemo", 14) == 0);

	/* A tree as libclamav leaves it, with links out of it. */
	REQUIRE(snprintf(victim, sizeof(victim), "/tmp/test_harden.XXXXXX") >
	    0 && mkdtemp(victim) != NULL);
	fd = open(victim, O_RDONLY | O_DIRECTORY);
	REQUIRE(fd >= 0);
	put(fd, "keep", "victim\n");
	close(fd);
	put(td.fd, "member", "plaintext\n");
	REQUIRE(mkdirat(td.fd, "d1", 0700) == 0);
	sub = openat(td.fd, "d1", O_RDONLY | O_DIRECTORY);
	REQUIRE(sub >= 0);
	REQUIRE(mkdirat(sub, "d2", 0700) == 0);
	put(sub, "inner", "plaintext\n");
	REQUIRE(symlinkat(victim, sub, "to-victim") == 0);
	close(sub);
	snprintf(path, sizeof(path), "%s/keep", victim);
	REQUIRE(symlinkat(path, td.fd, "to-keep") == 0);
	REQUIRE(symlinkat(victim, td.fd, "dir-link") == 0);
	snprintf(path, sizeof(path), "%s", td.path);
	bm_tmpdir_remove(&td);
	CHECK(access(path, F_OK) != 0 && errno == ENOENT);
	snprintf(path, sizeof(path), "%s/keep", victim);
	CHECK(access(path, F_OK) == 0);
	bm_tmpdir_remove(&td); /* a no-op now */
	CHECK(td.fd == -1 && td.parent_fd == -1 && td.base_fd == -1);

	/* A dead process's directory goes at the next make; a live one's
	 * stays. */
	REQUIRE_OK(bm_tmpdir_make("scan", &td));
	REQUIRE(mkdirat(td.parent_fd, DEAD_NAME, 0700) == 0);
	sub = openat(td.parent_fd, DEAD_NAME, O_RDONLY | O_DIRECTORY);
	REQUIRE(sub >= 0);
	put(sub, "member", "plaintext\n");
	REQUIRE(symlinkat(victim, sub, "to-victim") == 0);
	close(sub);
	snprintf(alive, sizeof(alive), "scan-%ld-zzzzzz", (long)getppid());
	REQUIRE(mkdirat(td.parent_fd, alive, 0700) == 0);
	REQUIRE_OK(bm_tmpdir_make("scan", &td2));
	CHECK(faccessat(td.parent_fd, DEAD_NAME, F_OK, 0) != 0);
	CHECK(faccessat(td.parent_fd, alive, F_OK, 0) == 0);
	CHECK(strcmp(td.name, td2.name) != 0);
	CHECK(unlinkat(td.parent_fd, alive, AT_REMOVEDIR) == 0);
	bm_tmpdir_remove(&td2);
	bm_tmpdir_remove(&td);
	CHECK(access(path, F_OK) == 0);
	CHECK(unlink(path) == 0 && rmdir(victim) == 0);
}

static void
test_dir_trusted(void)
{
	char top[64], p[PATH_MAX], why[PATH_MAX + 64];

	REQUIRE(snprintf(top, sizeof(top), "/tmp/test_harden.XXXXXX") > 0 &&
	    mkdtemp(top) != NULL);
	CHECK_OK(bm_dir_trusted(top, why, sizeof(why)));
	CHECK_RC(bm_dir_trusted("/tmp", why, sizeof(why)), -EPERM);
	CHECK(strstr(why, "/tmp is writable by other users") != NULL);
	snprintf(p, sizeof(p), "%s/missing", top);
	CHECK_RC(bm_dir_trusted(p, why, sizeof(why)), -ENOENT);
	/* Below a directory anyone may write (not sticky): refused. */
	snprintf(p, sizeof(p), "%s/open", top);
	REQUIRE(mkdir(p, 0700) == 0 && chmod(p, 0777) == 0);
	snprintf(p, sizeof(p), "%s/open/target", top);
	REQUIRE(mkdir(p, 0700) == 0);
	CHECK_RC(bm_dir_trusted(p, why, sizeof(why)), -EPERM);
	CHECK(rmdir(p) == 0);
	/* Below a sticky one (like /tmp), a directory of ours: fine. */
	snprintf(p, sizeof(p), "%s/open", top);
	REQUIRE(chmod(p, 01777) == 0);
	snprintf(p, sizeof(p), "%s/open/target", top);
	REQUIRE(mkdir(p, 0755) == 0);
	CHECK_OK(bm_dir_trusted(p, why, sizeof(why)));
	snprintf(p, sizeof(p), "%s/open/target/", top);
	CHECK_OK(bm_dir_trusted(p, why, sizeof(why)));
	if (geteuid() == 0) {
		char link[PATH_MAX + 16];

		/* Another user's directory, or link, in the sticky one. */
		snprintf(p, sizeof(p), "%s/open/planted", top);
		REQUIRE(mkdir(p, 0755) == 0 && chown(p, 65534, 65534) == 0);
		CHECK_RC(bm_dir_trusted(p, why, sizeof(why)), -EPERM);
		CHECK(strstr(why, "belongs to uid 65534") != NULL);
		CHECK(rmdir(p) == 0);
		snprintf(link, sizeof(link), "%s/open/link", top);
		snprintf(p, sizeof(p), "%s/open/target", top);
		REQUIRE(symlink(p, link) == 0 &&
		    lchown(link, 65534, 65534) == 0);
		CHECK_RC(bm_dir_trusted(link, why, sizeof(why)), -EPERM);
		CHECK(unlink(link) == 0);
	}
	snprintf(p, sizeof(p), "%s/open/target", top);
	CHECK(rmdir(p) == 0);
	snprintf(p, sizeof(p), "%s/open", top);
	CHECK(rmdir(p) == 0 && rmdir(top) == 0);
}

/* The VmFlags of the mapping starting at @addr (smaps), or "". */
static void
vmflags(const void *addr, char *out, size_t size)
{
	char line[512];
	uintptr_t start = 0;
	int ours = 0;
	FILE *f = fopen("/proc/self/smaps", "r");

	out[0] = '\0';
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "%" SCNxPTR "-", &start) == 1 &&
		    strchr(line, ':') > strchr(line, ' '))
			ours = start == (uintptr_t)addr;
		else if (ours && strncmp(line, "VmFlags:", 8) == 0)
			snprintf(out, size, "%s", line + 8);
	}
	fclose(f);
}

static void
test_nodump(void)
{
	struct rlimit rl;
	char flags[512], filter[32] = "";
	size_t len = 2 * BM_DONTDUMP_MIN;
	FILE *f;
	void *p;

	CHECK_OK(bm_nodump());
	CHECK(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0);
	CHECK(getrlimit(RLIMIT_CORE, &rl) == 0 && rl.rlim_cur == 0 &&
	    rl.rlim_max == 0);
	if ((f = fopen("/proc/self/coredump_filter", "r")) != NULL) {
		CHECK(fgets(filter, sizeof(filter), f) != NULL);
		CHECK(strtoul(filter, NULL, 16) == 0);
		fclose(f);
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE |
	    MAP_ANONYMOUS, -1, 0);
	REQUIRE(p != MAP_FAILED);
	vmflags(p, flags, sizeof(flags));
	CHECK(strstr(flags, " dd") == NULL);
	bm_dontdump(p, len);
	vmflags(p, flags, sizeof(flags));
	CHECK(strstr(flags, " dd") != NULL);
	munmap(p, len);
}

int
main(void)
{
	test_tmpdir();
	test_dir_trusted();
	test_nodump();
	return check_status();
}
