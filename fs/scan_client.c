/*
 * scan_client.c -- the client of beemo-scand (see scan_client.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "bm_err.h"
#include "bm_log.h"
#include "scan_client.h"
#include "bm_bytes.h"
#include "scan_proto.h"

#define IDLE_MAX 8

struct scan_client {
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	pthread_mutex_t lock; /* protects idle, nidle */
	int idle[IDLE_MAX];
	int nidle;
	atomic_uint sigs;     /* of the last reply */
	atomic_int down;      /* the last attempt failed (logged once) */
};

static int
connect_to(const char *path)
{
	struct timeval tmo = {SCAN_CLIENT_TIMEOUT, 0};
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, rc;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	/* A service that stopped answering fails the scan (and so the
	 * commit) instead of holding it forever. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof(tmo)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tmo, sizeof(tmo)) != 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

static void
req_init(struct scan_proto_req *q, int op, uint64_t size, const uint8_t *key)
{
	memset(q, 0, sizeof(*q));
	memcpy(q->magic, SCAN_PROTO_REQ_MAGIC, 4);
	q->version = SCAN_PROTO_VERSION;
	q->op = (uint8_t)op;
	bm_be64enc(q->size, size);
	if (key != NULL)
		memcpy(q->key, key, 32);
}

/* One request and its reply on @fd.  Returns 0 or a negative errno
 * (-EPROTO: not the service's reply; -EACCES: closed at once, as the
 * service does with a peer it refuses). */
static int
exchange(int fd, const struct scan_proto_req *q, int pass,
    struct scan_proto_rep *r)
{
	int rc;

	if ((rc = scan_proto_send(fd, q, sizeof(*q), pass)) != 0)
		return rc;
	if ((rc = scan_proto_recv(fd, r, sizeof(*r), NULL)) != 0)
		return rc == -EAGAIN || rc == -EWOULDBLOCK ? -ETIMEDOUT : rc;
	if (memcmp(r->magic, SCAN_PROTO_REP_MAGIC, 4) != 0 ||
	    r->version != SCAN_PROTO_VERSION)
		return -EPROTO;
	return 0;
}

/* Read the text that follows a STATUS reply into @buf; the signature
 * count into *@sigs when not NULL. */
static int
status_on(int fd, char *buf, size_t len, atomic_uint *sigs)
{
	struct scan_proto_req q;
	struct scan_proto_rep r;
	uint32_t n;
	char *tmp;
	int rc;

	req_init(&q, SCAN_OP_STATUS, 0, NULL);
	if ((rc = exchange(fd, &q, -1, &r)) != 0)
		return rc;
	if (sigs != NULL)
		atomic_store(sigs, (unsigned)bm_be64dec(r.sigs));
	n = bm_be32dec(r.text_len);
	if (n > 65536)
		return -EPROTO;
	if ((tmp = malloc((size_t)n + 1)) == NULL)
		return -ENOMEM;
	if ((rc = scan_proto_recv(fd, tmp, n, NULL)) == 0) {
		tmp[n] = '\0';
		if (buf != NULL && len > 0)
			snprintf(buf, len, "%s", tmp);
	}
	free(tmp);
	return rc;
}

int
scan_client_status(const char *path, char *buf, size_t len)
{
	struct timeval tmo = {5, 0};
	int fd = connect_to(path), rc;

	if (fd < 0)
		return fd;
	/* A status is a quick question (beemoctl status). */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof(tmo));
	rc = status_on(fd, buf, len, NULL);
	close(fd);
	return rc == -ENODATA || rc == -ECONNRESET ? -EACCES : rc;
}

int
scan_client_open(const char *path, struct scan_client **out)
{
	struct scan_client *cl;
	int rc;

	int fd;

	if (strlen(path) >= sizeof(cl->path))
		return -ENAMETOOLONG;
	if ((fd = connect_to(path)) < 0)
		return fd;
	if ((cl = calloc(1, sizeof(*cl))) == NULL) {
		close(fd);
		return -ENOMEM;
	}
	if ((rc = status_on(fd, NULL, 0, &cl->sigs)) != 0) {
		close(fd);
		free(cl);
		return rc == -ENODATA || rc == -ECONNRESET ? -EACCES : rc;
	}
	memcpy(cl->path, path, strlen(path) + 1);
	pthread_mutex_init(&cl->lock, NULL);
	/* Kept: the service counts its clients by their connections. */
	cl->idle[cl->nidle++] = fd;
	*out = cl;
	return 0;
}

void
scan_client_close(struct scan_client *cl)
{
	int i;

	if (cl == NULL)
		return;
	for (i = 0; i < cl->nidle; i++)
		close(cl->idle[i]);
	pthread_mutex_destroy(&cl->lock);
	free(cl);
}

unsigned
scan_client_signatures(struct scan_client *cl)
{
	return atomic_load(&cl->sigs);
}

/* A kept connection (*@kept = 1), or a new one. */
static int
conn_get(struct scan_client *cl, int *kept)
{
	int fd = -1;

	pthread_mutex_lock(&cl->lock);
	if (cl->nidle > 0)
		fd = cl->idle[--cl->nidle];
	pthread_mutex_unlock(&cl->lock);
	*kept = fd >= 0;
	return fd >= 0 ? fd : connect_to(cl->path);
}

static void
conn_put(struct scan_client *cl, int fd)
{
	pthread_mutex_lock(&cl->lock);
	if (cl->nidle < IDLE_MAX) {
		cl->idle[cl->nidle++] = fd;
		fd = -1;
	}
	pthread_mutex_unlock(&cl->lock);
	if (fd >= 0)
		close(fd);
}

/* The content of @src in a sealed memfd.  Returns the descriptor or a
 * negative errno. */
static int
make_memfd(const struct store_scan_src *src)
{
	uint64_t off = 0;
	char *buf = NULL;
	int fd, rc;

	fd = memfd_create("beemo-scan", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	if (src->mem == NULL && src->size > 0 &&
	    (buf = malloc(SCAN_CLIENT_PIECE)) == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	while (off < src->size) {
		size_t want = src->size - off > SCAN_CLIENT_PIECE ?
		    SCAN_CLIENT_PIECE : (size_t)(src->size - off);
		const char *p;
		ssize_t n, w;

		if (src->mem != NULL) {
			p = (const char *)src->mem + off;
			n = (ssize_t)want;
		} else {
			n = src->pread(src->handle, buf, want, off);
			if (n < 0) {
				rc = (int)n;
				goto fail;
			}
			if (n == 0) {
				rc = -EIO; /* shorter than its size */
				goto fail;
			}
			p = buf;
		}
		if ((w = pwrite(fd, p, (size_t)n, (off_t)off)) < 0) {
			rc = -errno;
			goto fail;
		}
		off += (uint64_t)w;
	}
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK |
	    F_SEAL_GROW | F_SEAL_SEAL) != 0) {
		rc = -errno;
		goto fail;
	}
	if (buf != NULL)
		OPENSSL_cleanse(buf, SCAN_CLIENT_PIECE);
	free(buf);
	return fd;
fail:
	if (buf != NULL)
		OPENSSL_cleanse(buf, SCAN_CLIENT_PIECE);
	free(buf);
	close(fd);
	return rc;
}

static int
has_key(const struct store_scan_src *src)
{
	static const uint8_t zero[32];

	return memcmp(src->key, zero, 32) != 0;
}

/*
 * One attempt: ASK (when there is a key), then SCAN.  Returns 0 with the
 * reply in @r, or a negative errno of the connection (the caller may
 * try again on a new one); *@content_fd is made once and kept for a
 * second attempt.
 */
static int
attempt(int fd, const struct store_scan_src *src, int *content_fd,
    struct scan_proto_rep *r)
{
	struct scan_proto_req q;
	int rc;

	if (has_key(src)) {
		req_init(&q, SCAN_OP_ASK, src->size, src->key);
		if ((rc = exchange(fd, &q, -1, r)) != 0)
			return rc;
		if (r->status != SCAN_ST_UNKNOWN)
			return 0;
	}
	if (*content_fd < 0 && (*content_fd = make_memfd(src)) < 0) {
		rc = *content_fd;
		*content_fd = -1;
		/* Not the connection's fault: an error reply of our own. */
		memset(r, 0, sizeof(*r));
		r->status = SCAN_ST_ERROR;
		bm_be32enc(r->err, (uint32_t)-rc);
		return 0;
	}
	req_init(&q, SCAN_OP_SCAN, src->size, has_key(src) ? src->key : NULL);
	return exchange(fd, &q, *content_fd, r);
}

int
scan_client_scan(struct scan_client *cl, const char *path,
    const struct store_scan_src *src, char *virus, size_t vlen)
{
	struct scan_proto_rep r;
	int fd, kept, rc, content = -1, tries;

	for (tries = 0; tries < 2; tries++) {
		if ((fd = conn_get(cl, &kept)) < 0) {
			rc = fd;
			break;
		}
		rc = attempt(fd, src, &content, &r);
		if (rc == 0) {
			conn_put(cl, fd);
			break;
		}
		close(fd);
		/* A kept connection may be one the service has since
		 * closed (restarted): once more on a new one.  Not after
		 * a timeout: the service is there but stuck. */
		if (!kept || (rc != -ENODATA && rc != -ECONNRESET &&
		    rc != -EPIPE))
			break;
	}
	if (content >= 0)
		close(content);
	if (rc != 0) {
		if (!atomic_exchange(&cl->down, 1))
			bm_log(LOG_ERR, "antivirus service %s: %s", cl->path,
			    rc == -ENODATA || rc == -ECONNRESET ?
			    "connection closed" : strerror(-rc));
		bm_log(LOG_ERR, "%s: antivirus: the scanning service cannot "
		    "be reached", path);
		return -EIO;
	}
	if (atomic_exchange(&cl->down, 0))
		bm_log(LOG_NOTICE, "antivirus service %s: connected again",
		    cl->path);
	atomic_store(&cl->sigs, (unsigned)bm_be64dec(r.sigs));
	switch (r.status) {
	case SCAN_ST_CLEAN:
		return 0;
	case SCAN_ST_VIRUS:
		r.name[sizeof(r.name) - 1] = '\0';
		snprintf(virus, vlen, "%s", r.name[0] ? r.name : "unknown");
		return BEEMO_EVIRUS;
	default:
		bm_log(LOG_ERR, "%s: antivirus service: %s", path,
		    r.status == SCAN_ST_ERROR && bm_be32dec(r.err) ?
		    strerror((int)bm_be32dec(r.err)) :
		    "unexpected reply");
		return -EIO;
	}
}
