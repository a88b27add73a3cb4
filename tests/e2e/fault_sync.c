/*
 * fault_sync.c -- a fault for the end-to-end tests, loaded with
 * LD_PRELOAD into the daemon under test (never part of a program).
 *
 * While the file named by $BEEMO_FAULT_SYNC exists, the next fsync() or
 * fdatasync() of a pack file ("/packs/" in its path) fails with EIO and
 * removes that file; later calls reach the kernel.  This is what Linux
 * does after a failed writeback: the error is reported once, the pages
 * are marked clean, and the next sync of the same file returns 0
 * although the data never reached the disk.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int
fault(int fd)
{
	const char *trigger = getenv("BEEMO_FAULT_SYNC");
	char link[64], path[4096];
	ssize_t n;

	if (trigger == NULL || access(trigger, F_OK) != 0)
		return 0;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if ((n = readlink(link, path, sizeof(path) - 1)) < 0)
		return 0;
	path[n] = '\0';
	if (strstr(path, "/packs/") == NULL || unlink(trigger) != 0)
		return 0;
	errno = EIO;
	return 1;
}

int
fdatasync(int fd)
{
	int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");

	return fault(fd) ? -1 : real(fd);
}

int
fsync(int fd)
{
	int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fsync");

	return fault(fd) ? -1 : real(fd);
}
