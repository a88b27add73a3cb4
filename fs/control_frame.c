/*
 * control_frame.c -- frames of the control protocol (see control.h).
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bm_bytes.h"
#include "control.h"

/* First allocation for a frame; it doubles as bytes arrive. */
#define FRAME_STEP (64U << 10)

static int
write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EPIPE || errno == ECONNRESET ? -EPIPE :
			    -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
control_frame_write(int fd, const uint8_t *p, size_t len)
{
	uint8_t hdr[4];
	int rc;

	if (len == 0 || len > CONTROL_FRAME_MAX)
		return -EMSGSIZE;
	bm_be32enc(hdr, (uint32_t)len);
	if ((rc = write_all(fd, hdr, sizeof(hdr))) != 0)
		return rc;
	return write_all(fd, p, len);
}

/* Read exactly @len bytes; *@got counts what arrived. */
static int
read_all(int fd, int timeout_ms, uint8_t *p, size_t len, size_t *got)
{
	struct pollfd pf = {fd, POLLIN, 0};

	while (*got < len) {
		ssize_t n;
		int prc = poll(&pf, 1, timeout_ms);

		if (prc < 0 && errno == EINTR)
			continue;
		if (prc < 0)
			return -errno;
		if (prc == 0)
			return -ETIMEDOUT;
		n = read(fd, p + *got, len - *got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EPROTO;
		*got += (size_t)n;
	}
	return 0;
}

int
control_frame_read(int fd, int timeout_ms, uint8_t **out, size_t *len)
{
	uint8_t hdr[4], *buf = NULL, *nb;
	size_t got = 0, want, cap;
	int rc;

	*out = NULL;
	*len = 0;
	if ((rc = read_all(fd, timeout_ms, hdr, sizeof(hdr), &got)) != 0)
		return rc == -EPROTO && got == 0 ? -ECONNRESET : rc;
	want = bm_be32dec(hdr);
	if (want == 0 || want > CONTROL_FRAME_MAX)
		return -EMSGSIZE;
	got = 0;
	cap = want < FRAME_STEP ? want : FRAME_STEP;
	if ((buf = malloc(cap)) == NULL)
		return -ENOMEM;
	for (;;) {
		if ((rc = read_all(fd, timeout_ms, buf, cap, &got)) != 0)
			goto fail;
		if (got == want)
			break;
		cap = cap * 2 < want ? cap * 2 : want;
		if ((nb = realloc(buf, cap)) == NULL) {
			rc = -ENOMEM;
			goto fail;
		}
		buf = nb;
	}
	*out = buf;
	*len = want;
	return 0;
fail:
	free(buf);
	return rc;
}
