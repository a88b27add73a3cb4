/*
 * control_client.c -- the clients' calls of the control protocol (see
 * control.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "bm_bytes.h"
#include "bm_err.h"
#include "bm_file.h"
#include "bm_jentry.h"
#include "control.h"

static int
fail(struct control_client *c, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(struct control_client *c, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->error, sizeof(c->error), fmt, ap);
	va_end(ap);
	return rc;
}

int
control_client_init(struct control_client *c, const char *store,
    const char *machine, int timeout_ms)
{
	memset(c, 0, sizeof(*c));
	c->timeout_ms = timeout_ms;
	if (machine == NULL)
		return bm_path(c->path, sizeof(c->path), "%s", store);
	return bm_path(c->path, sizeof(c->path), "%s/machines/%s/ctl.sock",
	    store, machine);
}

static int
connect_to(struct control_client *c, int *out)
{
	struct sockaddr_un sa;
	int fd, rc;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(c->path) >= sizeof(sa.sun_path))
		return fail(c, -ENAMETOOLONG, "%s: path too long", c->path);
	strcpy(sa.sun_path, c->path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return fail(c, -errno, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		rc = errno;
		close(fd);
		if (rc == ENOENT || rc == ECONNREFUSED)
			return fail(c, -ENOTCONN, "no beemofs listens on %s",
			    c->path);
		return fail(c, -rc, "%s: %s", c->path, strerror(rc));
	}
	*out = fd;
	return 0;
}

/* Build the request frame: name, proof (when @admin), @args. */
static int
build(const char *name, const uint8_t *challenge, keymgr_admin_key *admin,
    const uint8_t *args, size_t alen, uint8_t **out, size_t *outlen)
{
	size_t nl = strlen(name), pl = admin ? KEYMGR_SIG_LEN : 0;
	size_t len = 1 + nl + 2 + pl + alen;
	uint8_t *f, *sm = NULL;
	int rc = 0;

	if (alen > CONTROL_FRAME_MAX || len > CONTROL_FRAME_MAX)
		return -EMSGSIZE;
	if ((f = malloc(len)) == NULL)
		return -ENOMEM;
	f[0] = (uint8_t)nl;
	memcpy(f + 1, name, nl);
	bm_be16enc(f + 1 + nl, (uint16_t)pl);
	if (alen > 0)
		memcpy(f + 1 + nl + 2 + pl, args, alen);
	if (admin != NULL) {
		/* Signed: the challenge, then the frame without its proof
		 * field (control.h). */
		size_t slen = CONTROL_CHALLENGE_LEN + 1 + nl + alen;

		if ((sm = malloc(slen)) == NULL) {
			rc = -ENOMEM;
			goto out;
		}
		memcpy(sm, challenge, CONTROL_CHALLENGE_LEN);
		memcpy(sm + CONTROL_CHALLENGE_LEN, f, 1 + nl);
		if (alen > 0)
			memcpy(sm + CONTROL_CHALLENGE_LEN + 1 + nl, args, alen);
		rc = keymgr_admin_key_sign(admin, "control", sm, slen,
		    f + 1 + nl + 2);
	}
out:
	free(sm);
	if (rc != 0) {
		free(f);
		return rc;
	}
	*out = f;
	*outlen = len;
	return 0;
}

/*
 * One request: connect, read the hello, send @name with @args (signed
 * by @admin when not NULL), read the answer.  @body receives the answer's
 * body (malloc'd, NUL-terminated for the JSON answers; may be NULL when
 * the caller expects none) of @blen bytes.
 */
static int
request(struct control_client *c, const char *name,
    keymgr_admin_key *admin, const uint8_t *args, size_t alen,
    uint8_t **body, size_t *blen)
{
	uint8_t *hello = NULL, *req = NULL, *ans = NULL;
	size_t hlen = 0, rlen = 0, len = 0;
	int fd = -1, rc;

	c->error[0] = '\0';
	if ((rc = connect_to(c, &fd)) != 0)
		return rc;
	if ((rc = control_frame_read(fd, c->timeout_ms, &hello, &hlen)) != 0)
		goto transport;
	if (hlen != 12 + CONTROL_CHALLENGE_LEN ||
	    memcmp(hello, "BEEMOCTL", 8) != 0 ||
	    bm_be32dec(hello + 8) != CONTROL_VERSION) {
		rc = fail(c, -EPROTO, "%s: not a beemofs control socket of "
		    "this version", c->path);
		goto out;
	}
	if ((rc = build(name, hello + 12, admin, args, alen, &req,
	    &rlen)) != 0) {
		fail(c, rc, "the %s request: %s", name, beemo_strerror(rc));
		goto out;
	}
	if ((rc = control_frame_write(fd, req, rlen)) != 0 ||
	    (rc = control_frame_read(fd, c->timeout_ms, &ans, &len)) != 0)
		goto transport;
	if (ans[0] == 1 && len >= 5) {
		uint32_t code = bm_be32dec(ans + 1);

		rc = code == 0 || code > (uint32_t)INT32_MAX ? -EPROTO :
		    -(int)code;
		fail(c, rc, "%.*s", (int)(len - 5), (const char *)ans + 5);
		goto out;
	}
	if (ans[0] != 0) {
		rc = fail(c, -EPROTO, "%s: malformed answer", c->path);
		goto out;
	}
	if (body != NULL) {
		/* The body, moved to the front and terminated. */
		memmove(ans, ans + 1, len - 1);
		ans[len - 1] = '\0';
		*body = ans;
		*blen = len - 1;
		ans = NULL;
	}
	rc = 0;
	goto out;
transport:
	fail(c, rc, "%s: %s", c->path, rc == -ETIMEDOUT ? "beemofs did not "
	    "answer in time" : rc == -ECONNRESET || rc == -EPROTO ?
	    "beemofs closed the connection" : beemo_strerror(rc));
out:
	free(ans);
	free(req);
	free(hello);
	close(fd);
	return rc;
}

int
control_snapshot(struct control_client *c, const char *note, uint32_t *id)
{
	struct store_snapinfo want;
	int created;

	memset(&want, 0, sizeof(want));
	if (note != NULL && strlen(note) > CONTROL_NOTE_MAX)
		return fail(c, -EINVAL, "the note is over %d bytes",
		    CONTROL_NOTE_MAX);
	if (note != NULL)
		memcpy(want.note, note, strlen(note));
	return control_snapshot_take(c, &want, 0, id, &created);
}

int
control_snapshot_take(struct control_client *c,
    const struct store_snapinfo *want, int if_changed, uint32_t *id,
    int *created)
{
	uint8_t req[3 + CONTROL_NOTE_MAX + STORE_SNAP_TAGS *
	    (1 + STORE_TAG_MAX)], *b = NULL;
	size_t nl = strnlen(want->note, sizeof(want->note)), len = 0, tl;
	unsigned i;
	int rc;

	if (nl > CONTROL_NOTE_MAX)
		return fail(c, -EINVAL, "the note is over %d bytes",
		    CONTROL_NOTE_MAX);
	if (want->ntags > STORE_SNAP_TAGS)
		return fail(c, -EINVAL, "more than %d tags", STORE_SNAP_TAGS);
	req[len++] = if_changed ? 1 : 0;
	req[len++] = (uint8_t)nl;
	memcpy(req + len, want->note, nl);
	len += nl;
	req[len++] = (uint8_t)want->ntags;
	for (i = 0; i < want->ntags; i++) {
		if (!store_tag_valid(want->tags[i]))
			return fail(c, -EINVAL, "'%s' is not a valid tag",
			    want->tags[i]);
		tl = strlen(want->tags[i]);
		req[len++] = (uint8_t)tl;
		memcpy(req + len, want->tags[i], tl);
		len += tl;
	}
	if ((rc = request(c, "snapshot", NULL, req, len, &b, &len)) != 0)
		return rc;
	if (len != 5 || b[4] > 1) {
		rc = fail(c, -EPROTO, "%s: malformed answer", c->path);
	} else {
		*id = bm_be32dec(b);
		*created = b[4];
	}
	free(b);
	return rc;
}

int
control_snapshot_tag(struct control_client *c, uint32_t id, const char *tag,
    int add)
{
	uint8_t req[5 + STORE_TAG_MAX], *b = NULL;
	size_t len = 0;
	int rc;

	if (!store_tag_valid(tag))
		return fail(c, -EINVAL, "'%s' is not a valid tag", tag);
	bm_be32enc(req, id);
	req[4] = add ? 1 : 0;
	memcpy(req + 5, tag, strlen(tag));
	if ((rc = request(c, "tag", NULL, req, 5 + strlen(tag), &b,
	    &len)) != 0)
		return rc;
	if (len != 0)
		rc = fail(c, -EPROTO, "%s: malformed answer", c->path);
	free(b);
	return rc;
}

int
control_snapshots(struct control_client *c, struct store_snapinfo **out,
    size_t *n)
{
	struct store_snapinfo *v = NULL;
	uint8_t *b = NULL;
	size_t len = 0, off = 4, cnt, i;
	int rc;

	if ((rc = request(c, "snapshots", NULL, NULL, 0, &b, &len)) != 0)
		return rc;
	rc = -EPROTO;
	if (len < 4)
		goto out;
	cnt = bm_be32dec(b);
	/* Each snapshot takes at least 38 bytes: no count outgrows len. */
	if (cnt > len / 38 || (v = calloc(cnt ? cnt : 1, sizeof(*v))) == NULL)
		goto out;
	for (i = 0; i < cnt; i++) {
		size_t nl, t;

		if (len - off < 37)
			goto out;
		v[i].id = bm_be32dec(b + off);
		v[i].seq = bm_be64dec(b + off + 4);
		v[i].time = bm_be64dec(b + off + 12);
		v[i].files = bm_be64dec(b + off + 20);
		v[i].bytes = bm_be64dec(b + off + 28);
		nl = b[off + 36];
		off += 37;
		if (len - off < nl || nl >= sizeof(v[i].note))
			goto out;
		memcpy(v[i].note, b + off, nl);
		off += nl;
		if (off >= len || b[off] > STORE_SNAP_TAGS)
			goto out;
		v[i].ntags = b[off++];
		for (t = 0; t < v[i].ntags; t++) {
			if (off >= len || (nl = b[off++]) > STORE_TAG_MAX ||
			    len - off < nl)
				goto out;
			memcpy(v[i].tags[t], b + off, nl);
			off += nl;
		}
	}
	if (off != len)
		goto out;
	*out = v;
	*n = cnt;
	v = NULL;
	rc = 0;
out:
	if (rc != 0)
		fail(c, rc, "%s: malformed answer", c->path);
	free(v);
	free(b);
	return rc;
}

int
control_journal_append(struct control_client *c,
    const struct store_journal_entry *e)
{
	uint8_t *enc;
	size_t len;
	int rc;

	if ((rc = bm_jentry_encode(e->type, e->who, e->summary, e->files,
	    e->nfiles, &enc, &len)) != 0)
		return fail(c, rc, "the journal entry: %s",
		    beemo_strerror(rc));
	rc = request(c, "journal", NULL, enc, len, NULL, NULL);
	free(enc);
	return rc;
}

int
control_sync(struct control_client *c)
{
	return request(c, "sync", NULL, NULL, 0, NULL, NULL);
}

static int
json_request(struct control_client *c, const char *name, char **json)
{
	uint8_t *b = NULL;
	size_t len = 0;
	int rc;

	if ((rc = request(c, name, NULL, NULL, 0, &b, &len)) != 0)
		return rc;
	*json = (char *)b;
	return 0;
}

int
control_status(struct control_client *c, char **json)
{
	return json_request(c, "status", json);
}

int
control_stats(struct control_client *c, char **json)
{
	return json_request(c, "stats", json);
}

int
control_quota_set(struct control_client *c, keymgr_admin_key *admin,
    const struct control_quota *q)
{
	uint8_t args[17];

	args[0] = (uint8_t)((q->set_soft ? CONTROL_QUOTA_SOFT : 0) |
	    (q->set_hard ? CONTROL_QUOTA_HARD : 0));
	bm_be64enc(args + 1, q->soft);
	bm_be64enc(args + 9, q->hard);
	return request(c, "quota-set", admin, args, sizeof(args), NULL, NULL);
}

int
control_journal_record(const char *dir, const keymgr_secret *s,
    const struct store_journal_entry *e, char *error, size_t errsize)
{
	struct control_client c;
	struct store_opts o;
	char sock[sizeof(c.path)];
	store *st;
	int rc;

	/* A running backup session owns the store: ask it. */
	if ((rc = bm_path(sock, sizeof(sock), "%s/ctl.sock", dir)) != 0 ||
	    (rc = control_client_init(&c, sock, NULL, 60000)) != 0)
		return rc;
	rc = control_journal_append(&c, e);
	if (rc != -ENOTCONN) {
		if (rc != 0 && error != NULL)
			snprintf(error, errsize, "%s", c.error);
		return rc;
	}
	memset(&o, 0, sizeof(o));
	if ((rc = store_open(dir, s, &o, &st)) != 0)
		return rc;
	rc = store_journal_add(st, e);
	if (rc == 0)
		rc = store_sync(st);
	if (store_close(st) != 0 && rc == 0)
		rc = -EIO;
	return rc;
}
