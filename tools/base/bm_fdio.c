/*
 * bm_fdio.c -- whole reads and writes on a descriptor (bm_fdio.h).
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "bm_fdio.h"

int
bm_write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Milliseconds on the monotonic clock. */
static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* What is left of @ms from @start (-1: forever). */
static int
ms_left(long long start, int ms)
{
	long long left;

	if (ms < 0)
		return -1;
	left = start + ms - now_ms();
	return left > 0 ? (int)left : 0;
}

int
bm_read_full(int fd, void *buf, size_t len, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	uint8_t *b = buf;
	long long start = now_ms();
	ssize_t n;

	while (len > 0) {
		if (ms >= 0) {
			n = poll(&p, 1, ms_left(start, ms));
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return -errno;
			if (n == 0)
				return -ETIMEDOUT;
		}
		n = read(fd, b, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 ? -EPIPE : -errno;
		b += n;
		len -= (size_t)n;
	}
	return 0;
}

int
bm_read_line(int fd, char *buf, size_t size, int ms)
{
	size_t n = 0;
	long long start = now_ms();
	int rc;

	while (n + 1 < size) {
		if ((rc = bm_read_full(fd, buf + n, 1, ms_left(start, ms))) != 0)
			return rc;
		if (buf[n] == '\n') {
			buf[n] = '\0';
			return 0;
		}
		n++;
	}
	return -E2BIG;
}
