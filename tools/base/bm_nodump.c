/*
 * bm_nodump.c -- keep secrets out of core dumps (see bm_nodump.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bm_nodump.h"

int
bm_nodump(void)
{
	struct rlimit rl = {0, 0};
	int fd, rc = 0;

	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		rc = -errno;
	if (setrlimit(RLIMIT_CORE, &rl) != 0 && rc == 0)
		rc = -errno;
	/* Bits 0-8 select the kinds of mappings dumped; none. */
	fd = open("/proc/self/coredump_filter", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, "0\n", 2) != 2) {
			/* The first two locks hold regardless. */
		}
		close(fd);
	}
	return rc;
}

void
bm_dontdump(void *buf, size_t len)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t start = ((uintptr_t)buf + page - 1) & ~(page - 1);
	uintptr_t end = ((uintptr_t)buf + len) & ~(page - 1);

	if (buf == NULL || len < BM_DONTDUMP_MIN || end <= start)
		return;
	(void)madvise((void *)start, end - start, MADV_DONTDUMP);
}
