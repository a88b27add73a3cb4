/*
 * scan_proto.c -- frames and descriptor passing of the antivirus
 * service (see scan_proto.h).
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "scan_proto.h"

int
scan_proto_send(int fd, const void *buf, size_t len, int pass)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	const char *p = buf;
	size_t done = 0;

	while (done < len) {
		struct iovec iov = {(void *)(p + done), len - done};
		struct msghdr m;
		ssize_t n;

		memset(&m, 0, sizeof(m));
		m.msg_iov = &iov;
		m.msg_iovlen = 1;
		if (done == 0 && pass >= 0) {
			struct cmsghdr *c;

			memset(&u, 0, sizeof(u));
			m.msg_control = u.buf;
			m.msg_controllen = sizeof(u.buf);
			c = CMSG_FIRSTHDR(&m);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(c), &pass, sizeof(int));
		}
		n = sendmsg(fd, &m, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		done += (size_t)n;
	}
	return 0;
}

/* Keep the first descriptor of @m in *@passed (or close it), close any
 * other. */
static void
take_fds(struct msghdr *m, int *passed)
{
	struct cmsghdr *c;

	for (c = CMSG_FIRSTHDR(m); c != NULL; c = CMSG_NXTHDR(m, c)) {
		size_t i, n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (passed != NULL && *passed < 0)
				*passed = fd;
			else
				close(fd);
		}
	}
}

int
scan_proto_recv(int fd, void *buf, size_t len, int *passed)
{
	union {
		char buf[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} u;
	char *p = buf;
	size_t done = 0;
	int rc = 0;

	if (passed != NULL)
		*passed = -1;
	while (done < len) {
		struct iovec iov = {p + done, len - done};
		struct msghdr m;
		ssize_t n;

		memset(&m, 0, sizeof(m));
		m.msg_iov = &iov;
		m.msg_iovlen = 1;
		m.msg_control = u.buf;
		m.msg_controllen = sizeof(u.buf);
		n = recvmsg(fd, &m, MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			goto fail;
		}
		take_fds(&m, passed);
		if (n == 0) {
			rc = done == 0 ? -ENODATA : -ECONNRESET;
			goto fail;
		}
		done += (size_t)n;
	}
	return 0;
fail:
	if (passed != NULL && *passed >= 0) {
		close(*passed);
		*passed = -1;
	}
	return rc;
}
