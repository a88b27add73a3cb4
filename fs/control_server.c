/*
 * control_server.c -- the daemon's side of the control protocol: one
 * table of requests, the peer and administrator checks (see control.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "bm_bytes.h"
#include "bm_err.h"
#include "bm_jentry.h"
#include "bm_log.h"
#include "control.h"

#define HELLO_LEN (8 + 4 + CONTROL_CHALLENGE_LEN)
#define MSG_MAX 512

struct control_server {
	int fd;
	int stop[2]; /* pipe: written to stop the thread */
	pthread_t th;
	const struct control_handlers *h;
	void *ctx;
	keymgr *km;
	char path[108];
};

/* An answer's body as it grows. */
struct body {
	uint8_t *p;
	size_t len, cap;
};

static int
put(struct body *b, const void *p, size_t len)
{
	if (b->len + len > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		uint8_t *n;

		while (cap < b->len + len)
			cap *= 2;
		if ((n = realloc(b->p, cap)) == NULL)
			return -ENOMEM;
		b->p = n;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, len);
	b->len += len;
	return 0;
}

static int
put_be32(struct body *b, uint32_t v)
{
	uint8_t x[4];

	bm_be32enc(x, v);
	return put(b, x, sizeof(x));
}

static int
put_be64(struct body *b, uint64_t v)
{
	uint8_t x[8];

	bm_be64enc(x, v);
	return put(b, x, sizeof(x));
}

/* ---- one function per request: decode, call the handler, encode ----- */

typedef int (*serve_fn)(struct control_server *cs, const uint8_t *args,
    size_t len, struct body *out, char *msg, size_t msgsize);

static int
serve_snapshot(struct control_server *cs, const uint8_t *args, size_t len,
    struct body *out, char *msg, size_t msgsize)
{
	struct store_snapinfo want;
	size_t off = 0, nl;
	uint32_t id;
	uint8_t created;
	unsigned i;
	int rc, made = 0;

	(void)msg;
	(void)msgsize;
	memset(&want, 0, sizeof(want));
	if (len < 3 || args[0] > 1 || (nl = args[1]) > CONTROL_NOTE_MAX ||
	    len - 2 < nl + 1 || memchr(args + 2, '\0', nl) != NULL)
		return -EINVAL;
	memcpy(want.note, args + 2, nl);
	off = 2 + nl;
	if ((want.ntags = args[off++]) > STORE_SNAP_TAGS)
		return -EINVAL;
	for (i = 0; i < want.ntags; i++) {
		if (off >= len || (nl = args[off++]) > STORE_TAG_MAX ||
		    len - off < nl)
			return -EINVAL;
		memcpy(want.tags[i], args + off, nl);
		off += nl;
		if (!store_tag_valid(want.tags[i]))
			return -EINVAL;
	}
	if (off != len)
		return -EINVAL;
	if ((rc = cs->h->snapshot(cs->ctx, &want, args[0], &id, &made)) != 0)
		return rc;
	created = made ? 1 : 0;
	if ((rc = put_be32(out, id)) != 0)
		return rc;
	return put(out, &created, 1);
}

static int
serve_snapshots(struct control_server *cs, const uint8_t *args, size_t len,
    struct body *out, char *msg, size_t msgsize)
{
	struct store_snapinfo *v = NULL;
	size_t n = 0, i, t;
	int rc;

	(void)args;
	(void)msg;
	(void)msgsize;
	if (len != 0)
		return -EINVAL;
	if ((rc = cs->h->snapshots(cs->ctx, &v, &n)) != 0)
		return rc;
	rc = n > UINT32_MAX ? -EOVERFLOW : put_be32(out, (uint32_t)n);
	for (i = 0; rc == 0 && i < n; i++) {
		size_t nl = strnlen(v[i].note, sizeof(v[i].note) - 1);
		uint8_t l = (uint8_t)nl;

		if ((rc = put_be32(out, v[i].id)) != 0 ||
		    (rc = put_be64(out, v[i].seq)) != 0 ||
		    (rc = put_be64(out, v[i].time)) != 0 ||
		    (rc = put_be64(out, v[i].files)) != 0 ||
		    (rc = put_be64(out, v[i].bytes)) != 0 ||
		    (rc = put(out, &l, 1)) != 0)
			break;
		if ((rc = put(out, v[i].note, nl)) != 0)
			break;
		l = (uint8_t)(v[i].ntags > STORE_SNAP_TAGS ? STORE_SNAP_TAGS :
		    v[i].ntags);
		if ((rc = put(out, &l, 1)) != 0)
			break;
		for (t = 0; rc == 0 && t < l; t++) {
			uint8_t tl = (uint8_t)strnlen(v[i].tags[t],
			    STORE_TAG_MAX);

			if ((rc = put(out, &tl, 1)) == 0)
				rc = put(out, v[i].tags[t], tl);
		}
	}
	free(v);
	return rc;
}

static int
serve_tag(struct control_server *cs, const uint8_t *args, size_t len,
    struct body *out, char *msg, size_t msgsize)
{
	char tag[STORE_TAG_MAX + 1];

	(void)out;
	(void)msg;
	(void)msgsize;
	if (len < 6 || len - 5 > STORE_TAG_MAX || args[4] > 1)
		return -EINVAL;
	memcpy(tag, args + 5, len - 5);
	tag[len - 5] = '\0';
	if (!store_tag_valid(tag))
		return -EINVAL;
	return cs->h->tag(cs->ctx, bm_be32dec(args), tag, args[4]);
}

static int
serve_journal(struct control_server *cs, const uint8_t *args, size_t len,
    struct body *out, char *msg, size_t msgsize)
{
	struct store_journal_entry e;
	struct bm_jentry d;
	int rc;

	(void)out;
	(void)msg;
	(void)msgsize;
	if ((rc = bm_jentry_decode(args, len, &d)) != 0) {
		bm_jentry_free(&d);
		return rc;
	}
	memset(&e, 0, sizeof(e));
	e.type = d.type;
	e.who = d.who;
	e.summary = d.summary;
	e.files = d.files;
	e.nfiles = d.nfiles;
	rc = *e.type == '\0' ? -EINVAL : cs->h->journal(cs->ctx, &e);
	bm_jentry_free(&d);
	return rc;
}

static int
serve_sync(struct control_server *cs, const uint8_t *args, size_t len,
    struct body *out, char *msg, size_t msgsize)
{
	(void)args;
	(void)out;
	(void)msg;
	(void)msgsize;
	return len != 0 ? -EINVAL : cs->h->sync(cs->ctx);
}

static int
serve_json(struct control_server *cs, int (*fn)(void *, char **),
    size_t len, struct body *out)
{
	char *json = NULL;
	int rc;

	if (len != 0)
		return -EINVAL;
	if ((rc = fn(cs->ctx, &json)) != 0)
		return rc;
	rc = put(out, json, strlen(json));
	free(json);
	return rc;
}

static int
serve_status(struct control_server *cs, const uint8_t *args, size_t len,
    struct body *out, char *msg, size_t msgsize)
{
	(void)args;
	(void)msg;
	(void)msgsize;
	return serve_json(cs, cs->h->status, len, out);
}

static int
serve_stats(struct control_server *cs, const uint8_t *args, size_t len,
    struct body *out, char *msg, size_t msgsize)
{
	(void)args;
	(void)msg;
	(void)msgsize;
	return serve_json(cs, cs->h->stats, len, out);
}

static int
serve_quota_set(struct control_server *cs, const uint8_t *args, size_t len,
    struct body *out, char *msg, size_t msgsize)
{
	struct control_quota q;

	(void)out;
	if (len != 17 || (args[0] & ~(CONTROL_QUOTA_SOFT |
	    CONTROL_QUOTA_HARD)) != 0)
		return -EINVAL;
	q.set_soft = (args[0] & CONTROL_QUOTA_SOFT) != 0;
	q.set_hard = (args[0] & CONTROL_QUOTA_HARD) != 0;
	q.soft = bm_be64dec(args + 1);
	q.hard = bm_be64dec(args + 9);
	return cs->h->quota_set(cs->ctx, &q, msg, msgsize);
}

/* The requests, in the order of control.h. */
static const struct request {
	const char *name;
	int admin; /* needs the administrator's proof */
	serve_fn serve;
} requests[] = {
	{"snapshot", 0, serve_snapshot},
	{"snapshots", 0, serve_snapshots},
	{"journal", 0, serve_journal},
	{"sync", 0, serve_sync},
	{"status", 0, serve_status},
	{"stats", 0, serve_stats},
	{"quota-set", 1, serve_quota_set},
	{"tag", 0, serve_tag},
};

static const struct request *
find(const uint8_t *name, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(requests) / sizeof(requests[0]); i++)
		if (strlen(requests[i].name) == len &&
		    memcmp(requests[i].name, name, len) == 0)
			return &requests[i];
	return NULL;
}

/* ---- one connection -------------------------------------------------- */

/* Check the proof of @req (@len bytes; the proof is @plen bytes at
 * offset @poff) against @challenge.  Returns 0 or -EACCES. */
static int
check_admin(struct control_server *cs, const uint8_t *challenge,
    const uint8_t *req, size_t len, size_t poff, size_t plen, char *msg,
    size_t msgsize)
{
	uint8_t *signed_msg;
	size_t slen;
	int rc;

	if (plen == 0) {
		snprintf(msg, msgsize, "this request needs the "
		    "administrator's password");
		return -EACCES;
	}
	/* The challenge, then the request without its proof field. */
	slen = CONTROL_CHALLENGE_LEN + len - 2 - plen;
	if ((signed_msg = malloc(slen)) == NULL)
		return -ENOMEM;
	memcpy(signed_msg, challenge, CONTROL_CHALLENGE_LEN);
	memcpy(signed_msg + CONTROL_CHALLENGE_LEN, req, poff - 2);
	memcpy(signed_msg + CONTROL_CHALLENGE_LEN + poff - 2, req + poff +
	    plen, len - poff - plen);
	rc = keymgr_admin_verify(cs->km, "control", signed_msg, slen,
	    req + poff, plen);
	free(signed_msg);
	if (rc != 0) {
		bm_log(LOG_WARNING, "control: refused a request with a bad "
		    "administrator's proof: %s", keymgr_errmsg(cs->km));
		snprintf(msg, msgsize, "the administrator's proof does not "
		    "verify");
		return -EACCES;
	}
	return 0;
}

/* Answer @req (@len bytes) into @out, or return an error with @msg. */
static int
dispatch(struct control_server *cs, const uint8_t *challenge,
    const uint8_t *req, size_t len, struct body *out, char *msg,
    size_t msgsize)
{
	const struct request *r;
	size_t nl, pl, poff;
	int rc;

	if (len < 1 || len < 1 + (size_t)req[0] + 2) {
		snprintf(msg, msgsize, "malformed request");
		return BEEMO_EFORMAT;
	}
	nl = req[0];
	poff = 1 + nl + 2;
	pl = bm_be16dec(req + 1 + nl);
	if (len - poff < pl) {
		snprintf(msg, msgsize, "malformed request");
		return BEEMO_EFORMAT;
	}
	if ((r = find(req + 1, nl)) == NULL) {
		snprintf(msg, msgsize, "unknown request");
		return -EOPNOTSUPP;
	}
	if (r->admin && (rc = check_admin(cs, challenge, req, len, poff, pl,
	    msg, msgsize)) != 0)
		return rc;
	return r->serve(cs, req + poff + pl, len - poff - pl, out, msg,
	    msgsize);
}

static void
answer(int c, int rc, const struct body *b, const char *msg)
{
	struct body a = {NULL, 0, 0};
	uint8_t st = rc == 0 ? 0 : 1;

	if (put(&a, &st, 1) != 0)
		return;
	if (rc == 0) {
		if (b->len > 0 && put(&a, b->p, b->len) != 0)
			goto out;
	} else {
		const char *m = *msg ? msg : beemo_strerror(rc);

		if (put_be32(&a, (uint32_t)-rc) != 0 ||
		    put(&a, m, strlen(m)) != 0)
			goto out;
	}
	if (control_frame_write(c, a.p, a.len) != 0)
		bm_log(LOG_INFO, "control: the client left before the answer");
out:
	free(a.p);
}

static void
serve(struct control_server *cs, int c)
{
	uint8_t hello[HELLO_LEN], *req = NULL;
	struct body out = {NULL, 0, 0};
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	char msg[MSG_MAX] = "";
	size_t len = 0;
	int rc;

	if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &clen) != 0 ||
	    (cred.uid != 0 && cred.uid != getuid()))
		return;
	memcpy(hello, "BEEMOCTL", 8);
	bm_be32enc(hello + 8, CONTROL_VERSION);
	if (RAND_bytes(hello + 12, CONTROL_CHALLENGE_LEN) != 1 ||
	    control_frame_write(c, hello, sizeof(hello)) != 0)
		return;
	rc = control_frame_read(c, CONTROL_IO_MS, &req, &len);
	if (rc == -EMSGSIZE) {
		snprintf(msg, sizeof(msg), "request over the frame limit of "
		    "%u bytes", CONTROL_FRAME_MAX);
	} else if (rc == -EPROTO) {
		snprintf(msg, sizeof(msg), "truncated request");
	} else if (rc == 0) {
		rc = dispatch(cs, hello + 12, req, len, &out, msg,
		    sizeof(msg));
	} else {
		return; /* gone or silent: nobody to answer */
	}
	answer(c, rc, &out, msg);
	free(out.p);
	free(req);
}

static void *
loop(void *arg)
{
	struct control_server *cs = arg;
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
control_server_start(const char *path, const struct control_handlers *h,
    void *ctx, keymgr *km, struct control_server **out)
{
	struct control_server *cs;
	struct sockaddr_un sa;
	mode_t old;
	int rc;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	if ((cs = calloc(1, sizeof(*cs))) == NULL)
		return -ENOMEM;
	cs->h = h;
	cs->ctx = ctx;
	cs->km = km;
	cs->stop[0] = cs->stop[1] = -1;
	strcpy(cs->path, path);
	cs->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (cs->fd < 0) {
		rc = -errno;
		goto fail;
	}
	/* The caller holds the store's lock: a socket left here is stale. */
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
control_server_stop(struct control_server *cs)
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
