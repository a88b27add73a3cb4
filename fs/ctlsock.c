/*
 * ctlsock.c -- the control socket (see ctlsock.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctlsock.h"

#define REQ_MAX (4U << 20) /* a journal entry with its file list */
#define REPLY_MAX (256U << 10)

struct ctlsock {
	int fd;
	int stop[2]; /* pipe: written to stop the thread */
	pthread_t th;
	ctlsock_handler fn;
	void *ctx;
	char path[108];
};

static int
set_addr(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	strcpy(sa->sun_path, path);
	return 0;
}

static void
serve(struct ctlsock *cs, int c)
{
	char *req = malloc(REQ_MAX), *reply = NULL, *nl;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	size_t got = 0;
	struct pollfd p = {c, POLLIN, 0};

	if (req == NULL)
		return;
	if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
	    (cred.uid != 0 && cred.uid != getuid()))
		goto out;
	while (got < REQ_MAX - 1) {
		ssize_t n;

		if (poll(&p, 1, 5000) <= 0)
			goto out;
		n = read(c, req + got, REQ_MAX - 1 - got);
		if (n <= 0)
			goto out;
		got += (size_t)n;
		req[got] = '\0';
		if (strchr(req, '\n') != NULL)
			break;
	}
	req[got] = '\0';
	if ((nl = strchr(req, '\n')) != NULL)
		*nl = '\0';
	if ((reply = calloc(1, REPLY_MAX)) == NULL)
		goto out;
	cs->fn(cs->ctx, req, reply, REPLY_MAX);
	len = (socklen_t)strlen(reply);
	for (got = 0; got < len;) {
		ssize_t n = write(c, reply + got, len - got);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
out:
	free(reply);
	free(req);
}

static void *
loop(void *arg)
{
	struct ctlsock *cs = arg;
	struct pollfd p[2] = {{cs->fd, POLLIN, 0}, {cs->stop[0], POLLIN, 0}};

	for (;;) {
		int c;

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		if (!(p[0].revents & POLLIN))
			continue;
		if ((c = accept4(cs->fd, NULL, NULL, SOCK_CLOEXEC)) < 0)
			continue;
		serve(cs, c);
		close(c);
	}
	return NULL;
}

int
ctlsock_start(const char *path, ctlsock_handler fn, void *ctx,
    struct ctlsock **out)
{
	struct ctlsock *cs = calloc(1, sizeof(*cs));
	struct sockaddr_un sa;
	mode_t old;
	int rc;

	if (cs == NULL)
		return -ENOMEM;
	cs->fn = fn;
	cs->ctx = ctx;
	cs->stop[0] = cs->stop[1] = -1;
	if ((rc = set_addr(&sa, path)) != 0)
		goto fail;
	strcpy(cs->path, path);
	cs->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (cs->fd < 0) {
		rc = -errno;
		goto fail;
	}
	/* We hold the store's lock: a socket left here is stale. */
	(void)unlink(path);
	old = umask(077);
	rc = bind(cs->fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc != 0 || listen(cs->fd, 8) != 0 ||
	    pipe2(cs->stop, O_CLOEXEC) != 0) {
		rc = -errno;
		goto fail_close;
	}
	if ((rc = pthread_create(&cs->th, NULL, loop, cs)) != 0) {
		rc = -rc;
		goto fail_close;
	}
	*out = cs;
	return 0;
fail_close:
	if (cs->stop[0] >= 0) {
		close(cs->stop[0]);
		close(cs->stop[1]);
	}
	close(cs->fd);
	unlink(path);
fail:
	free(cs);
	return rc;
}

void
ctlsock_stop(struct ctlsock *cs)
{
	if (cs == NULL)
		return;
	if (write(cs->stop[1], "x", 1) < 0) {
		/* The pipe cannot be full; nothing to do. */
	}
	pthread_join(cs->th, NULL);
	close(cs->stop[0]);
	close(cs->stop[1]);
	close(cs->fd);
	unlink(cs->path);
	free(cs);
}

int
ctlsock_request(const char *path, const char *cmd, char *reply, size_t size,
    int timeout_ms)
{
	struct sockaddr_un sa;
	struct pollfd p;
	size_t got = 0, len = strlen(cmd);
	int fd, rc;

	if ((rc = set_addr(&sa, path)) != 0)
		return rc;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		rc = -errno;
		goto done;
	}
	while (got < len) {
		ssize_t n = write(fd, cmd + got, len - got);

		if (n <= 0) {
			rc = -EIO;
			goto done;
		}
		got += (size_t)n;
	}
	got = 0;
	if (write(fd, "\n", 1) != 1) {
		rc = -EIO;
		goto done;
	}
	p.fd = fd;
	p.events = POLLIN;
	while (got < size - 1) {
		ssize_t n;

		rc = poll(&p, 1, timeout_ms);
		if (rc == 0) {
			rc = -ETIMEDOUT;
			goto done;
		}
		if (rc < 0) {
			rc = -errno;
			goto done;
		}
		if ((n = read(fd, reply + got, size - 1 - got)) < 0) {
			rc = -errno;
			goto done;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	rc = 0;
done:
	reply[got] = '\0';
	close(fd);
	return rc;
}
