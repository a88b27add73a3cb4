/*
 * test_control.c -- unit tests of the control protocol (fs/control*.c):
 * frames round-trip on a socket pair; a daemon on a temporary socket
 * answers every typed call; a journal entry whose names hold a tab, a
 * newline and every byte from 1 to 255 arrives byte-exact; an oversize
 * frame, a truncated frame, a malformed and an unknown request are
 * refused with their own errors; an administrator's request is refused
 * without a proof, with a proof of the wrong password's key (none can be
 * made) and with a proof made for another connection, and served with a
 * good one.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bm_bytes.h"
#include "check.h"
#include "control.h"

#define APW "admin password"

static const struct keymgr_kdf low_kdf = {1024, 8, 1};
static char tmp[256], sock[300];

/* What the test daemon saw. */
static struct {
	char note[160], tag[80];
	unsigned ntags;
	int snapshots, syncs, quota_calls;
	struct control_quota quota;
	char type[64], who[64], summary[64];
	char **files;
	size_t nfiles;
} seen;

static int
h_snapshot(void *ctx, const struct store_snapinfo *want, int if_changed,
    uint32_t *id, int *created)
{
	(void)ctx;
	snprintf(seen.note, sizeof(seen.note), "%s", want->note[0] ?
	    want->note : "(none)");
	seen.ntags = want->ntags;
	if (want->ntags > 0)
		snprintf(seen.tag, sizeof(seen.tag), "%s", want->tags[0]);
	*id = 42;
	*created = !if_changed;
	return 0;
}

static int
h_tag(void *ctx, uint32_t id, const char *tag, int add)
{
	(void)ctx;
	snprintf(seen.tag, sizeof(seen.tag), "%c%u:%s", add ? '+' : '-', id,
	    tag);
	return 0;
}

static int
h_snapshots(void *ctx, struct store_snapinfo **v, size_t *n)
{
	(void)ctx;
	seen.snapshots++;
	if ((*v = calloc(2, sizeof(**v))) == NULL)
		return -ENOMEM;
	(*v)[0].id = 1;
	(*v)[0].seq = 7;
	(*v)[0].time = 1000000000ULL;
	(*v)[0].files = 3;
	(*v)[0].bytes = 4096;
	(*v)[1].id = 2;
	(*v)[1].bytes = UINT64_MAX;
	snprintf((*v)[1].note, sizeof((*v)[1].note), "note with\ttab");
	(*v)[1].ntags = 2;
	strcpy((*v)[1].tags[0], "monthly");
	strcpy((*v)[1].tags[1], "v2");
	*n = 2;
	return 0;
}

static int
h_journal(void *ctx, const struct store_journal_entry *e)
{
	size_t i;

	(void)ctx;
	snprintf(seen.type, sizeof(seen.type), "%s", e->type);
	snprintf(seen.who, sizeof(seen.who), "%s", e->who);
	snprintf(seen.summary, sizeof(seen.summary), "%s", e->summary);
	for (i = 0; i < seen.nfiles; i++)
		free(seen.files[i]);
	free(seen.files);
	seen.nfiles = 0;
	if ((seen.files = calloc(e->nfiles + 1, sizeof(char *))) == NULL)
		return -ENOMEM;
	for (i = 0; i < e->nfiles; i++)
		if ((seen.files[i] = strdup(e->files[i])) == NULL)
			return -ENOMEM;
	seen.nfiles = e->nfiles;
	return 0;
}

static int
h_sync(void *ctx)
{
	(void)ctx;
	seen.syncs++;
	return BEEMO_EQUOTA; /* an error code travels back as it is */
}

static int
h_json(void *ctx, char **json)
{
	(void)ctx;
	*json = strdup("{\"mounted\":true}");
	return *json ? 0 : -ENOMEM;
}

static int
h_quota(void *ctx, const struct control_quota *q, char *msg, size_t size)
{
	(void)ctx;
	seen.quota_calls++;
	seen.quota = *q;
	if (q->soft == 666) {
		snprintf(msg, size, "refused by the policy");
		return BEEMO_ECONFIG;
	}
	return 0;
}

static const struct control_handlers handlers = {
	h_snapshot, h_snapshots, h_journal, h_sync, h_json, h_json, h_quota,
	h_tag,
};

/* ---- framing ------------------------------------------------------- */

static void
test_frames(void)
{
	static const size_t sizes[] = {1, 2, 100, 65536, 65537, 300000};
	uint8_t *in, *out, hdr[4];
	size_t i, len;
	int sv[2];

	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	REQUIRE((in = malloc(300000)) != NULL);
	for (i = 0; i < 300000; i++)
		in[i] = (uint8_t)(i * 7 + 3);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		/* Large frames need a reader while they are written. */
		pid_t pid = fork();

		REQUIRE(pid >= 0);
		if (pid == 0)
			_exit(control_frame_write(sv[0], in, sizes[i]) != 0);
		CHECK_OK(control_frame_read(sv[1], 5000, &out, &len));
		CHECK(len == sizes[i] && memcmp(in, out, len) == 0);
		free(out);
		while (wait(NULL) != pid)
			;
	}
	/* Refused before anything is sent. */
	CHECK_RC(control_frame_write(sv[0], in, 0), -EMSGSIZE);
	CHECK_RC(control_frame_write(sv[0], in, (size_t)CONTROL_FRAME_MAX + 1),
	    -EMSGSIZE);
	/* An announced length over the limit, or of 0. */
	bm_be32enc(hdr, CONTROL_FRAME_MAX + 1);
	REQUIRE(write(sv[0], hdr, 4) == 4);
	CHECK_RC(control_frame_read(sv[1], 5000, &out, &len), -EMSGSIZE);
	bm_be32enc(hdr, 0);
	REQUIRE(write(sv[0], hdr, 4) == 4);
	CHECK_RC(control_frame_read(sv[1], 5000, &out, &len), -EMSGSIZE);
	/* Silence, then a truncated frame, then the end. */
	CHECK_RC(control_frame_read(sv[1], 50, &out, &len), -ETIMEDOUT);
	bm_be32enc(hdr, 100);
	REQUIRE(write(sv[0], hdr, 4) == 4 && write(sv[0], in, 10) == 10);
	close(sv[0]);
	CHECK_RC(control_frame_read(sv[1], 5000, &out, &len), -EPROTO);
	CHECK_RC(control_frame_read(sv[1], 5000, &out, &len), -ECONNRESET);
	close(sv[1]);
	free(in);
}

/* ---- raw requests to the daemon ------------------------------------ */

static int
raw_connect(uint8_t challenge[CONTROL_CHALLENGE_LEN])
{
	struct sockaddr_un sa;
	uint8_t *hello;
	size_t len;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	REQUIRE(strlen(sock) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	REQUIRE((fd = socket(AF_UNIX, SOCK_STREAM, 0)) >= 0);
	REQUIRE(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	REQUIRE(control_frame_read(fd, 5000, &hello, &len) == 0);
	CHECK(len == 12 + CONTROL_CHALLENGE_LEN &&
	    memcmp(hello, "BEEMOCTL", 8) == 0 &&
	    bm_be32dec(hello + 8) == CONTROL_VERSION);
	if (challenge != NULL)
		memcpy(challenge, hello + 12, CONTROL_CHALLENGE_LEN);
	free(hello);
	return fd;
}

/* Read the answer on @fd: its error code (0 for "ok"), message in @msg. */
static int
raw_answer(int fd, char *msg, size_t size)
{
	uint8_t *a;
	size_t len;
	int rc;

	*msg = '\0';
	if ((rc = control_frame_read(fd, 5000, &a, &len)) != 0)
		return 1; /* not an answer: no errno is 1 */
	if (a[0] == 0) {
		rc = 0;
	} else {
		REQUIRE(a[0] == 1 && len >= 5);
		rc = -(int)bm_be32dec(a + 1);
		snprintf(msg, size, "%.*s", (int)(len - 5), (char *)a + 5);
	}
	free(a);
	close(fd);
	return rc;
}

/* A request frame: @name, a proof of @plen bytes, @args. */
static size_t
frame(uint8_t *f, const char *name, const uint8_t *proof, size_t plen,
    const void *args, size_t alen)
{
	size_t nl = strlen(name);

	f[0] = (uint8_t)nl;
	memcpy(f + 1, name, nl);
	bm_be16enc(f + 1 + nl, (uint16_t)plen);
	if (plen > 0)
		memcpy(f + 3 + nl, proof, plen);
	if (alen > 0)
		memcpy(f + 3 + nl + plen, args, alen);
	return 3 + nl + plen + alen;
}

static void
test_refusals(void)
{
	uint8_t f[1024], hdr[4];
	char msg[512];
	size_t len;
	int fd;

	/* Unknown request. */
	fd = raw_connect(NULL);
	len = frame(f, "format-disk", NULL, 0, NULL, 0);
	CHECK_OK(control_frame_write(fd, f, len));
	CHECK_RC(raw_answer(fd, msg, sizeof(msg)), -EOPNOTSUPP);
	CHECK(strcmp(msg, "unknown request") == 0);
	/* A request that is not even a name and a proof length. */
	fd = raw_connect(NULL);
	f[0] = 200;
	CHECK_OK(control_frame_write(fd, f, 5));
	CHECK_RC(raw_answer(fd, msg, sizeof(msg)), BEEMO_EFORMAT);
	/* A proof longer than the frame. */
	fd = raw_connect(NULL);
	len = frame(f, "sync", NULL, 0, NULL, 0);
	bm_be16enc(f + 5, 10);
	CHECK_OK(control_frame_write(fd, f, len));
	CHECK_RC(raw_answer(fd, msg, sizeof(msg)), BEEMO_EFORMAT);
	/* Arguments a request does not take. */
	fd = raw_connect(NULL);
	len = frame(f, "sync", NULL, 0, "x", 1);
	CHECK_OK(control_frame_write(fd, f, len));
	CHECK_RC(raw_answer(fd, msg, sizeof(msg)), -EINVAL);
	/* Oversize: refused from the header, before any byte of it. */
	fd = raw_connect(NULL);
	bm_be32enc(hdr, CONTROL_FRAME_MAX + 1);
	REQUIRE(write(fd, hdr, 4) == 4);
	CHECK_RC(raw_answer(fd, msg, sizeof(msg)), -EMSGSIZE);
	CHECK(strstr(msg, "frame limit") != NULL);
	/* Truncated: the client stops writing inside its frame. */
	fd = raw_connect(NULL);
	bm_be32enc(hdr, 100);
	REQUIRE(write(fd, hdr, 4) == 4 && write(fd, "\004sync", 5) == 5);
	REQUIRE(shutdown(fd, SHUT_WR) == 0);
	CHECK_RC(raw_answer(fd, msg, sizeof(msg)), -EPROTO);
	CHECK(strcmp(msg, "truncated request") == 0);
	/* The daemon still serves after all that. */
	fd = raw_connect(NULL);
	len = frame(f, "status", NULL, 0, NULL, 0);
	CHECK_OK(control_frame_write(fd, f, len));
	CHECK_OK(raw_answer(fd, msg, sizeof(msg)));
}

/* ---- the typed calls ------------------------------------------------ */

static void
test_calls(void)
{
	struct control_client c, none;
	struct store_snapinfo *v = NULL;
	char note[CONTROL_NOTE_MAX + 2], *json = NULL, path[400];
	size_t n = 0;
	uint32_t id = 0;

	REQUIRE_OK(control_client_init(&c, sock, NULL, 5000));
	CHECK_OK(control_snapshot(&c, "before the upgrade", &id));
	CHECK(id == 42 && strcmp(seen.note, "before the upgrade") == 0);
	CHECK_OK(control_snapshot(&c, NULL, &id));
	CHECK(strcmp(seen.note, "(none)") == 0);
	memset(note, 'n', sizeof(note) - 1);
	note[sizeof(note) - 1] = '\0';
	CHECK_RC(control_snapshot(&c, note, &id), -EINVAL);
	{
		struct store_snapinfo want;
		int created = -1;

		memset(&want, 0, sizeof(want));
		want.ntags = 2;
		strcpy(want.tags[0], "before-upgrade");
		strcpy(want.tags[1], "v1.2");
		CHECK_OK(control_snapshot_take(&c, &want, 1, &id, &created));
		CHECK(id == 42 && created == 0 && seen.ntags == 2 &&
		    strcmp(seen.tag, "before-upgrade") == 0);
		CHECK_OK(control_snapshot_take(&c, &want, 0, &id, &created));
		CHECK(created == 1);
		strcpy(want.tags[1], "latest");
		CHECK_RC(control_snapshot_take(&c, &want, 0, &id, &created),
		    -EINVAL);
		CHECK_OK(control_snapshot_tag(&c, 7, "keep", 1));
		CHECK(strcmp(seen.tag, "+7:keep") == 0);
		CHECK_OK(control_snapshot_tag(&c, 7, "keep", 0));
		CHECK(strcmp(seen.tag, "-7:keep") == 0);
		CHECK_RC(control_snapshot_tag(&c, 7, "9lives", 1), -EINVAL);
	}
	CHECK_OK(control_snapshots(&c, &v, &n));
	REQUIRE(n == 2);
	CHECK(v[0].id == 1 && v[0].seq == 7 && v[0].time == 1000000000ULL &&
	    v[0].files == 3 && v[0].bytes == 4096 && v[0].note[0] == '\0');
	CHECK(v[1].id == 2 && v[1].bytes == UINT64_MAX &&
	    strcmp(v[1].note, "note with\ttab") == 0);
	CHECK(v[0].ntags == 0 && v[1].ntags == 2 &&
	    strcmp(v[1].tags[0], "monthly") == 0 &&
	    strcmp(v[1].tags[1], "v2") == 0);
	free(v);
	CHECK_RC(control_sync(&c), BEEMO_EQUOTA);
	CHECK(strcmp(c.error, beemo_strerror(BEEMO_EQUOTA)) == 0);
	CHECK_OK(control_stats(&c, &json));
	CHECK(json != NULL && strcmp(json, "{\"mounted\":true}") == 0);
	free(json);
	CHECK_OK(control_status(&c, &json));
	free(json);
	/* No daemon there. */
	snprintf(path, sizeof(path), "%s/nobody.sock", tmp);
	REQUIRE_OK(control_client_init(&none, path, NULL, 5000));
	CHECK_RC(control_sync(&none), -ENOTCONN);
	REQUIRE_OK(control_client_init(&none, tmp, "pc1", 5000));
	CHECK(strstr(none.path, "/machines/pc1/ctl.sock") != NULL);
}

/* Names with a tab, a newline and every byte from 1 to 255 arrive as
 * they left; so do thousands of them in one entry. */
static void
test_journal(void)
{
	struct control_client c;
	struct store_journal_entry e;
	char every[256], *many[5000];
	const char *files[4];
	size_t i;
	int ok = 1;

	for (i = 1; i < 256; i++)
		every[i - 1] = (char)i;
	every[255] = '\0';
	files[0] = "/a\tb";
	files[1] = "/line\nbreak";
	files[2] = every;
	files[3] = "";
	memset(&e, 0, sizeof(e));
	e.type = "restore";
	e.who = "user a\tb";
	e.summary = "tab\there\nnewline";
	e.files = files;
	e.nfiles = 4;
	REQUIRE_OK(control_client_init(&c, sock, NULL, 5000));
	CHECK_OK(control_journal_append(&c, &e));
	CHECK(strcmp(seen.type, "restore") == 0 &&
	    strcmp(seen.who, "user a\tb") == 0 &&
	    strcmp(seen.summary, "tab\there\nnewline") == 0);
	REQUIRE(seen.nfiles == 4);
	for (i = 0; i < 4; i++)
		CHECK(strcmp(seen.files[i], files[i]) == 0);
	for (i = 0; i < 5000; i++) {
		REQUIRE((many[i] = malloc(300)) != NULL);
		snprintf(many[i], 300, "/restored/%zu/%s", i, every + 200);
	}
	e.files = (const char *const *)many;
	e.nfiles = 5000;
	CHECK_OK(control_journal_append(&c, &e));
	REQUIRE(seen.nfiles == 5000);
	for (i = 0; i < 5000; i++) {
		ok &= strcmp(seen.files[i], many[i]) == 0;
		free(many[i]);
	}
	CHECK(ok);
}

/* ---- the administrator's proof -------------------------------------- */

static void
test_admin(keymgr *km)
{
	struct control_client c;
	struct control_quota q = {1, 0, 1048576, 0};
	keymgr_admin_key *admin = NULL;
	uint8_t f[1024], ch[CONTROL_CHALLENGE_LEN], sig[KEYMGR_SIG_LEN];
	uint8_t args[17], sm[CONTROL_CHALLENGE_LEN + 1 + 9 + 17];
	char msg[512];
	size_t len;
	int fd;

	REQUIRE_OK(control_client_init(&c, sock, NULL, 5000));
	seen.quota_calls = 0;
	/* No proof: refused by the daemon, the handler never runs. */
	CHECK_RC(control_quota_set(&c, NULL, &q), -EACCES);
	CHECK(strstr(c.error, "administrator") != NULL);
	CHECK(seen.quota_calls == 0);
	/* A wrong password unlocks nothing. */
	CHECK_RC(keymgr_admin_key_unlock(km, "wrong", 5, &admin),
	    BEEMO_EPASSWORD);
	REQUIRE_OK(keymgr_admin_key_unlock(km, APW, strlen(APW), &admin));
	/* Garbage of the right length. */
	fd = raw_connect(NULL);
	memset(sig, 0x5a, sizeof(sig));
	memset(args, 0, sizeof(args));
	args[0] = CONTROL_QUOTA_SOFT;
	len = frame(f, "quota-set", sig, sizeof(sig), args, sizeof(args));
	CHECK_OK(control_frame_write(fd, f, len));
	CHECK_RC(raw_answer(fd, msg, sizeof(msg)), -EACCES);
	/* A good signature of another connection's challenge: replayed. */
	fd = raw_connect(ch);
	memcpy(sm, ch, sizeof(ch));
	memcpy(sm + sizeof(ch), "\011quota-set", 10);
	memcpy(sm + sizeof(ch) + 10, args, sizeof(args));
	REQUIRE_OK(keymgr_admin_key_sign(admin, "control", sm, sizeof(sm),
	    sig));
	len = frame(f, "quota-set", sig, sizeof(sig), args, sizeof(args));
	CHECK_OK(control_frame_write(fd, f, len));
	CHECK_OK(raw_answer(fd, msg, sizeof(msg)));
	CHECK(seen.quota_calls == 1);
	fd = raw_connect(NULL);
	CHECK_OK(control_frame_write(fd, f, len));
	CHECK_RC(raw_answer(fd, msg, sizeof(msg)), -EACCES);
	/* The same proof moved to other arguments. */
	fd = raw_connect(ch);
	memcpy(sm, ch, sizeof(ch));
	REQUIRE_OK(keymgr_admin_key_sign(admin, "control", sm, sizeof(sm),
	    sig));
	args[16] = 1;
	len = frame(f, "quota-set", sig, sizeof(sig), args, sizeof(args));
	CHECK_OK(control_frame_write(fd, f, len));
	CHECK_RC(raw_answer(fd, msg, sizeof(msg)), -EACCES);
	CHECK(seen.quota_calls == 1);
	/* The typed call with the key: served, the policy's answer back. */
	CHECK_OK(control_quota_set(&c, admin, &q));
	CHECK(seen.quota_calls == 2 && seen.quota.set_soft &&
	    !seen.quota.set_hard && seen.quota.soft == 1048576);
	q.soft = 666;
	CHECK_RC(control_quota_set(&c, admin, &q), BEEMO_ECONFIG);
	CHECK(strcmp(c.error, "refused by the policy") == 0);
	keymgr_admin_key_free(admin);
}

int
main(void)
{
	struct control_server *cs = NULL;
	char keys[300];
	keymgr *km = NULL;
	size_t i;

	REQUIRE_OK(keymgr_global_init());
	snprintf(tmp, sizeof(tmp), "/tmp/test_control.XXXXXX");
	REQUIRE(mkdtemp(tmp) != NULL);
	snprintf(keys, sizeof(keys), "%s/keys", tmp);
	snprintf(sock, sizeof(sock), "%s/ctl.sock", tmp);
	REQUIRE_OK(keymgr_init(keys, APW, strlen(APW), &low_kdf));
	REQUIRE_OK(keymgr_open(keys, &km));
	test_frames();
	REQUIRE_OK(control_server_start(sock, &handlers, NULL, km, &cs));
	test_refusals();
	test_calls();
	test_journal();
	test_admin(km);
	control_server_stop(cs);
	CHECK(access(sock, F_OK) != 0);
	for (i = 0; i < seen.nfiles; i++)
		free(seen.files[i]);
	free(seen.files);
	keymgr_free(km);
	{
		char cmd[400];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", tmp);
	}
	return check_status();
}
