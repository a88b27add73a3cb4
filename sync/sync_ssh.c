/*
 * sync_ssh.c -- the SFTP transport: connection, host key check, public
 * key authentication, confinement of every remote path below ROOT, and
 * pipelined uploads and downloads.
 *
 * libssh2 (1.10) pipelines SFTP writes only within one call: a call to
 * libssh2_sftp_write() cuts the part of the buffer not yet sent into
 * 30,000-byte SSH_FXP_WRITE packets, sends what the channel window
 * allows, and returns as soon as the first packet is acknowledged; the
 * caller must pass the unacknowledged bytes again, at the same place,
 * in the next call.  So an upload hands libssh2 a window of up to
 * SYNC_BLOCK bytes starting at the first unacknowledged byte, straight
 * from the source: a memory buffer, or the pack file mapped read-only
 * (no read and no copy on our side; this libssh2 already spends about
 * twice OpenSSH's CPU per byte, encrypting 16 bytes per EVP call).
 * Reads use the read-ahead of libssh2_sftp_read(), four times the
 * buffer passed.
 *
 * Error handling: an SFTP status from the server (no such file,
 * permission denied, failure) is an error of that operation; any other
 * libssh2 error (socket, timeout, protocol) marks the connection broken
 * and every later call on it fails at once with -ECONNRESET.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libssh2.h>
#include <libssh2_sftp.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "bm_bytes.h"
#include "bm_err.h"
#include "bm_file.h"
#include "bm_log.h"
#include "sync.h"

/* Algorithms offered, strongest-and-fastest first.  libssh2 1.10 has no
 * AEAD ciphers and no rsa-sha2 signatures; SHA-1 based choices are
 * left out. */
#define PREF_KEX "curve25519-sha256,curve25519-sha256@libssh.org," \
	"ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521," \
	"diffie-hellman-group-exchange-sha256," \
	"diffie-hellman-group16-sha512,diffie-hellman-group18-sha512," \
	"diffie-hellman-group14-sha256"
#define PREF_CIPHER "aes128-ctr,aes256-ctr,aes192-ctr"
#define PREF_MAC "hmac-sha2-256,hmac-sha2-512"

struct sync_conn {
	const struct sync_target *t;
	int sock;
	LIBSSH2_SESSION *ssh;
	LIBSSH2_SFTP *sftp;
	char *root;        /* realpath of ROOT on the server */
	size_t rootlen;
	int broken;
	char **dirs;       /* relative directories checked safe, sorted */
	size_t ndirs, capdirs;
	uint8_t *buf;      /* SYNC_READ bytes for downloads */
};

int
sync_ssh_init(void)
{
	return libssh2_init(0) == 0 ? 0 : -ENOMEM;
}

void
sync_ssh_exit(void)
{
	libssh2_exit();
}

int
sync_conn_broken(const sync_conn *c)
{
	return c->broken;
}

/* ---- errors -------------------------------------------------------- */

static int
sftp_status_errno(unsigned long st)
{
	switch (st) {
	case LIBSSH2_FX_NO_SUCH_FILE:
	case LIBSSH2_FX_NO_SUCH_PATH:
		return -ENOENT;
	case LIBSSH2_FX_PERMISSION_DENIED:
	case LIBSSH2_FX_WRITE_PROTECT:
		return -EACCES;
	case LIBSSH2_FX_FILE_ALREADY_EXISTS:
		return -EEXIST;
	case LIBSSH2_FX_NO_SPACE_ON_FILESYSTEM:
		return -ENOSPC;
	case LIBSSH2_FX_QUOTA_EXCEEDED:
		return -EDQUOT;
	case LIBSSH2_FX_NOT_A_DIRECTORY:
		return -ENOTDIR;
	case LIBSSH2_FX_OP_UNSUPPORTED:
		return -EOPNOTSUPP;
	default:
		return BEEMO_EREMOTE;
	}
}

#define QUIET_ENOENT 1 /* conn_fail: do not log "no such file" */
#define QUIET_STATUS 2 /* conn_fail: log no SFTP status at all */

/*
 * The error of the last failed libssh2 call on @c.  Logs it (naming the
 * target, the operation and @path) unless @quiet says otherwise for an
 * SFTP status, or the connection was already known broken.
 */
static int
conn_fail(sync_conn *c, const char *op, const char *path, int quiet)
{
	char *msg = NULL;
	int e, rc, was_broken = c->broken;

	if (c->broken)
		return -ECONNRESET;
	e = libssh2_session_last_error(c->ssh, &msg, NULL, 0);
	if (e == LIBSSH2_ERROR_SFTP_PROTOCOL && c->sftp != NULL) {
		unsigned long st = libssh2_sftp_last_error(c->sftp);

		rc = sftp_status_errno(st);
		if ((rc == -ENOENT && quiet == QUIET_ENOENT) ||
		    quiet == QUIET_STATUS)
			return rc;
		sync_log(LOG_ERR, "target %s: %s %s: %s (SFTP status %lu)",
		    c->t->name, op, path, rc == BEEMO_EREMOTE ?
		    "the server refused" : beemo_strerror(rc), st);
		return rc;
	}
	c->broken = 1;
	/* Cleanup still calls libssh2 (that is how it frees handles);
	 * do not let it wait long on a dead peer. */
	libssh2_session_set_timeout(c->ssh, 1000);
	rc = e == LIBSSH2_ERROR_TIMEOUT ? -ETIMEDOUT : -ECONNRESET;
	if (!was_broken)
		sync_log(LOG_ERR, "target %s: connection lost during %s %s: "
		    "%s", c->t->name, op, path, msg && *msg ? msg :
		    beemo_strerror(rc));
	return rc;
}

/* ---- connection ---------------------------------------------------- */

static int
tcp_connect(const struct sync_target *t, int *out)
{
	struct addrinfo hints, *res = NULL, *ai;
	char port[16];
	int fd = -1, rc, one = 1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(port, sizeof(port), "%u", t->port);
	if ((rc = getaddrinfo(t->host, port, &hints, &res)) != 0) {
		sync_log(LOG_ERR, "target %s: cannot resolve %s: %s", t->name,
		    t->host, gai_strerror(rc));
		return -EHOSTUNREACH;
	}
	rc = -EHOSTUNREACH;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		struct pollfd pfd;
		socklen_t len = sizeof(int);
		int soerr = 0;

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, ai->ai_protocol);
		if (fd < 0) {
			rc = -errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 &&
		    errno != EINPROGRESS) {
			rc = -errno;
			goto next;
		}
		pfd.fd = fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, (int)t->timeout_ms) == 0) {
			rc = -ETIMEDOUT;
			goto next;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0 ||
		    soerr != 0) {
			rc = -(soerr ? soerr : errno);
			goto next;
		}
		if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0) {
			rc = -errno;
			goto next;
		}
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
		(void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one,
		    sizeof(one));
		freeaddrinfo(res);
		*out = fd;
		return 0;
next:
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	sync_log(LOG_ERR, "target %s: cannot connect to %s port %u: %s",
	    t->name, t->host, t->port, beemo_strerror(rc));
	return rc;
}

/* "SHA256:" and unpadded base64 of SHA-256(key blob), as OpenSSH. */
static void
fingerprint(const char *key, size_t len, char *out, size_t outlen)
{
	unsigned char md[SYNC_HASH_LEN];
	char b64[BM_BASE64_LEN(SYNC_HASH_LEN) + 1];
	size_t n;

	sync_sha256(key, len, md);
	n = bm_base64_enc(b64, md, sizeof(md));
	while (n > 0 && b64[n - 1] == '=')
		n--;
	b64[n] = '\0';
	snprintf(out, outlen, "SHA256:%s", b64);
}

static const char *
hostkey_name(int type)
{
	switch (type) {
	case LIBSSH2_HOSTKEY_TYPE_RSA: return "ssh-rsa";
	case LIBSSH2_HOSTKEY_TYPE_DSS: return "ssh-dss";
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_256: return "ecdsa-sha2-nistp256";
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_384: return "ecdsa-sha2-nistp384";
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_521: return "ecdsa-sha2-nistp521";
	case LIBSSH2_HOSTKEY_TYPE_ED25519: return "ssh-ed25519";
	default: return NULL;
	}
}

static int
hostkey_bit(int type)
{
	switch (type) {
	case LIBSSH2_HOSTKEY_TYPE_RSA: return LIBSSH2_KNOWNHOST_KEY_SSHRSA;
	case LIBSSH2_HOSTKEY_TYPE_DSS: return LIBSSH2_KNOWNHOST_KEY_SSHDSS;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_256:
		return LIBSSH2_KNOWNHOST_KEY_ECDSA_256;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_384:
		return LIBSSH2_KNOWNHOST_KEY_ECDSA_384;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_521:
		return LIBSSH2_KNOWNHOST_KEY_ECDSA_521;
	case LIBSSH2_HOSTKEY_TYPE_ED25519:
		return LIBSSH2_KNOWNHOST_KEY_ED25519;
	default: return LIBSSH2_KNOWNHOST_KEY_UNKNOWN;
	}
}

/* Does one known_hosts host pattern (plain or "|1|salt|hash") name
 * @host (port 22) or "[host]:port"? */
static int
kh_pattern_matches(const char *pat, size_t patlen, const char *name)
{
	unsigned char salt[20], want[20], got[EVP_MAX_MD_SIZE];
	unsigned int gotlen = 0;
	const char *bar;
	char tmp[256];
	size_t slen, hlen;

	if (patlen < 3 || memcmp(pat, "|1|", 3) != 0)
		return strlen(name) == patlen && !memcmp(pat, name, patlen);
	if (patlen >= sizeof(tmp))
		return 0;
	memcpy(tmp, pat, patlen);
	tmp[patlen] = '\0';
	if ((bar = strchr(tmp + 3, '|')) == NULL)
		return 0;
	/* The salt and the hash are 20 bytes each (SHA-1). */
	if (bm_base64_dec(salt, sizeof(salt), tmp + 3, (size_t)(bar - tmp - 3),
	    &slen) != 0 || bm_base64_dec(want, sizeof(want), bar + 1,
	    strlen(bar + 1), &hlen) != 0 || slen != 20 || hlen != 20)
		return 0;
	if (HMAC(EVP_sha1(), salt, 20, (const unsigned char *)name,
	    strlen(name), got, &gotlen) == NULL || gotlen != 20)
		return 0;
	return CRYPTO_memcmp(got, want, 20) == 0;
}

/*
 * Prefer the host key algorithms that known_hosts has for this host, as
 * OpenSSH does; otherwise a server with several host keys may present
 * one we do not have and be refused although it is known.
 */
static void
set_hostkey_pref(sync_conn *c, char *text)
{
	static const char *const order[] = {"ssh-ed25519",
	    "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
	    "ecdsa-sha2-nistp521", "ssh-rsa"};
	int have[sizeof(order) / sizeof(order[0])] = {0};
	char name1[300], name2[300], pref[256] = "";
	char *line, *next;
	size_t i;

	snprintf(name1, sizeof(name1), "%s", c->t->host);
	snprintf(name2, sizeof(name2), "[%s]:%u", c->t->host, c->t->port);
	for (line = text; line != NULL; line = next) {
		char *hosts, *type, *sv = NULL, *p;

		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if ((hosts = strtok_r(line, " \t", &sv)) == NULL ||
		    *hosts == '#' || *hosts == '@')
			continue;
		if ((type = strtok_r(NULL, " \t", &sv)) == NULL)
			continue;
		for (p = hosts; *p != '\0';) {
			size_t n = strcspn(p, ",");

			if ((c->t->port == 22 &&
			    kh_pattern_matches(p, n, name1)) ||
			    kh_pattern_matches(p, n, name2)) {
				for (i = 0; i < sizeof(order) /
				    sizeof(order[0]); i++)
					if (!strcmp(type, order[i]))
						have[i] = 1;
				break;
			}
			p += n;
			if (*p == ',')
				p++;
		}
	}
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		if (!have[i])
			continue;
		if (*pref != '\0')
			strcat(pref, ",");
		strcat(pref, order[i]);
	}
	if (*pref != '\0')
		(void)libssh2_session_method_pref(c->ssh,
		    LIBSSH2_METHOD_HOSTKEY, pref);
}

/* Load every line of known_hosts that this libssh2 can parse; others
 * (certificates, markers, key types it lacks) are skipped, not fatal. */
static int
load_known_hosts(sync_conn *c, LIBSSH2_KNOWNHOSTS *kh, const char *text,
    size_t len)
{
	const char *p = text, *end = text + len;
	int n = 0;

	/* libssh2 1.10 drops the key's last character unless the line
	 * passed includes its newline (or ends the NUL-terminated text). */
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);

		if (l > 1 && *p != '#' && *p != '@' &&
		    libssh2_knownhost_readline(kh, p, l,
		    LIBSSH2_KNOWNHOST_FILE_OPENSSH) == 0)
			n++;
		p += l;
	}
	(void)c;
	return n;
}

static int
check_hostkey(sync_conn *c, const char *khtext, size_t khlen)
{
	const struct sync_target *t = c->t;
	LIBSSH2_KNOWNHOSTS *kh;
	struct libssh2_knownhost *ent = NULL;
	const char *key, *tname;
	char fpr[80];
	size_t len;
	int type, r, rc;

	if ((key = libssh2_session_hostkey(c->ssh, &len, &type)) == NULL)
		return conn_fail(c, "host key of", t->host, 0);
	fingerprint(key, len, fpr, sizeof(fpr));
	tname = hostkey_name(type);
	if ((kh = libssh2_knownhost_init(c->ssh)) == NULL)
		return -ENOMEM;
	(void)load_known_hosts(c, kh, khtext, khlen);
	r = libssh2_knownhost_checkp(kh, t->host, (int)t->port, key, len,
	    LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW |
	    hostkey_bit(type), &ent);
	libssh2_knownhost_free(kh);
	switch (r) {
	case LIBSSH2_KNOWNHOST_CHECK_MATCH:
		rc = 0;
		break;
	case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
		sync_log(LOG_ERR, "target %s: the host key of %s port %u HAS "
		    "CHANGED: the server offers %s %s, which does not match "
		    "%s; refusing to connect", t->name, t->host, t->port,
		    tname ? tname : "?", fpr, t->known_hosts);
		rc = BEEMO_EHOSTKEY;
		break;
	case LIBSSH2_KNOWNHOST_CHECK_NOTFOUND:
		sync_log(LOG_ERR, "target %s: the host key of %s port %u "
		    "(%s %s) is not in %s; refusing to connect (check the "
		    "fingerprint with the storage center, then add the key "
		    "to that file)", t->name, t->host, t->port,
		    tname ? tname : "?", fpr, t->known_hosts);
		rc = BEEMO_EHOSTKEY;
		break;
	default:
		sync_log(LOG_ERR, "target %s: cannot check the host key %s "
		    "against %s", t->name, fpr, t->known_hosts);
		rc = BEEMO_EHOSTKEY;
		break;
	}
	return rc;
}

static int
authenticate(sync_conn *c)
{
	const struct sync_target *t = c->t;
	char *list, *msg = NULL;
	int r;

	list = libssh2_userauth_list(c->ssh, t->user,
	    (unsigned)strlen(t->user));
	if (list == NULL) {
		if (libssh2_userauth_authenticated(c->ssh))
			return 0;
		return conn_fail(c, "authentication of", t->user, 0);
	}
	if (strstr(list, "publickey") == NULL) {
		sync_log(LOG_ERR, "target %s: the server does not offer public "
		    "key authentication (it offers: %s)", t->name, list);
		return BEEMO_EPASSWORD;
	}
	r = libssh2_userauth_publickey_fromfile_ex(c->ssh, t->user,
	    (unsigned)strlen(t->user), NULL, t->key, NULL);
	if (r == 0)
		return 0;
	libssh2_session_last_error(c->ssh, &msg, NULL, 0);
	if (r == LIBSSH2_ERROR_FILE ||
	    r == LIBSSH2_ERROR_METHOD_NOT_SUPPORTED) {
		sync_log(LOG_ERR, "target %s: cannot use private key %s: %s "
		    "(an unencrypted OpenSSH ed25519 or ecdsa key is "
		    "needed)", t->name, t->key, msg ? msg : "unreadable");
		return BEEMO_EPASSWORD;
	}
	if (r == LIBSSH2_ERROR_AUTHENTICATION_FAILED ||
	    r == LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED) {
		sync_log(LOG_ERR, "target %s: %s@%s refused the key %s",
		    t->name, t->user, t->host, t->key);
		return BEEMO_EPASSWORD;
	}
	return conn_fail(c, "authentication of", t->user, 0);
}

/* Create the components of the configured path that do not exist. */
static int
mkdir_root(sync_conn *c)
{
	char buf[1100];
	char *p;
	int r;

	if (bm_path(buf, sizeof(buf), "%s", c->t->path) != 0)
		return -ENAMETOOLONG;
	for (p = buf + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		{
			LIBSSH2_SFTP_ATTRIBUTES a;
			char save = *p;

			*p = '\0';
			if (libssh2_sftp_stat(c->sftp, buf, &a) != 0) {
				r = conn_fail(c, "stat", buf, QUIET_ENOENT);
				if (r != -ENOENT)
					return r;
				if (libssh2_sftp_mkdir(c->sftp, buf, 0700))
					return conn_fail(c, "mkdir", buf, 0);
			}
			*p = save;
		}
		if (*p == '\0')
			break;
	}
	return 0;
}

static int
resolve_root(sync_conn *c, int create)
{
	char buf[4096];
	LIBSSH2_SFTP_ATTRIBUTES a;
	int n, rc;

	if (libssh2_sftp_stat(c->sftp, c->t->path, &a) != 0) {
		rc = conn_fail(c, "stat", c->t->path, QUIET_ENOENT);
		if (rc != -ENOENT)
			return rc;
		if (!create) {
			sync_log(LOG_ERR, "target %s: remote path %s does not "
			    "exist", c->t->name, c->t->path);
			return -ENOENT;
		}
		if ((rc = mkdir_root(c)) != 0)
			return rc;
	}
	n = libssh2_sftp_realpath(c->sftp, c->t->path, buf, sizeof(buf) - 1);
	if (n <= 0)
		return conn_fail(c, "realpath", c->t->path, 0);
	buf[n] = '\0';
	if (libssh2_sftp_stat(c->sftp, buf, &a) != 0)
		return conn_fail(c, "stat", buf, 0);
	if (!(a.flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) ||
	    !LIBSSH2_SFTP_S_ISDIR(a.permissions)) {
		sync_log(LOG_ERR, "target %s: remote path %s is not a "
		    "directory", c->t->name, c->t->path);
		return -ENOTDIR;
	}
	/* "/" as ROOT is its own prefix; strip a trailing slash otherwise. */
	while (n > 1 && buf[n - 1] == '/')
		buf[--n] = '\0';
	if ((c->root = strdup(buf)) == NULL)
		return -ENOMEM;
	c->rootlen = (size_t)n;
	return 0;
}

int
sync_conn_open(const struct sync_target *t, int create, sync_conn **out)
{
	sync_conn *c;
	uint8_t *kh = NULL;
	size_t khlen = 0;
	int rc;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return -ENOMEM;
	c->t = t;
	c->sock = -1;
	if ((rc = bm_read_file(t->known_hosts, 4 << 20, &kh, &khlen)) != 0) {
		sync_log(LOG_ERR, "target %s: cannot read %s: %s", t->name,
		    t->known_hosts, beemo_strerror(rc));
		goto fail_free;
	}
	if ((rc = tcp_connect(t, &c->sock)) != 0)
		goto fail_free;
	if ((c->ssh = libssh2_session_init()) == NULL) {
		rc = -ENOMEM;
		goto fail_free;
	}
	libssh2_session_set_blocking(c->ssh, 1);
	libssh2_session_set_timeout(c->ssh, (long)t->timeout_ms);
	(void)libssh2_session_method_pref(c->ssh, LIBSSH2_METHOD_KEX,
	    PREF_KEX);
	(void)libssh2_session_method_pref(c->ssh, LIBSSH2_METHOD_CRYPT_CS,
	    PREF_CIPHER);
	(void)libssh2_session_method_pref(c->ssh, LIBSSH2_METHOD_CRYPT_SC,
	    PREF_CIPHER);
	(void)libssh2_session_method_pref(c->ssh, LIBSSH2_METHOD_MAC_CS,
	    PREF_MAC);
	(void)libssh2_session_method_pref(c->ssh, LIBSSH2_METHOD_MAC_SC,
	    PREF_MAC);
	{
		char *copy = strndup((const char *)kh, khlen);

		if (copy == NULL) {
			rc = -ENOMEM;
			goto fail_free;
		}
		set_hostkey_pref(c, copy);
		free(copy);
	}
	if (libssh2_session_handshake(c->ssh, c->sock) != 0) {
		char *msg = NULL;

		libssh2_session_last_error(c->ssh, &msg, NULL, 0);
		sync_log(LOG_ERR, "target %s: SSH handshake with %s port %u "
		    "failed: %s (the server must offer an ed25519 or ecdsa "
		    "host key, aes-ctr and hmac-sha2)", t->name, t->host,
		    t->port, msg ? msg : "?");
		c->broken = 1;
		rc = BEEMO_EREMOTE;
		goto fail_free;
	}
	if ((rc = check_hostkey(c, (const char *)kh, khlen)) != 0)
		goto fail_free;
	if ((rc = authenticate(c)) != 0)
		goto fail_free;
	if ((c->sftp = libssh2_sftp_init(c->ssh)) == NULL) {
		rc = conn_fail(c, "starting SFTP on", t->host, 0);
		goto fail_free;
	}
	if ((rc = resolve_root(c, create)) != 0)
		goto fail_free;
	free(kh);
	*out = c;
	return 0;

fail_free:
	free(kh);
	sync_conn_close(c);
	return rc;
}

void
sync_conn_close(sync_conn *c)
{
	size_t i;

	if (c == NULL)
		return;
	if (c->sftp != NULL)
		libssh2_sftp_shutdown(c->sftp);
	if (c->ssh != NULL) {
		if (!c->broken)
			libssh2_session_disconnect(c->ssh, "done");
		libssh2_session_free(c->ssh);
	}
	if (c->sock >= 0)
		close(c->sock);
	for (i = 0; i < c->ndirs; i++)
		free(c->dirs[i]);
	free(c->dirs);
	free(c->root);
	free(c->buf);
	free(c);
}

/* ---- confinement --------------------------------------------------- */

/* A relative path of non-empty components, none "." or "..". */
static int
rel_ok(const char *rel)
{
	const char *s = rel;

	if (*rel == '/')
		return 0;
	while (*s != '\0') {
		size_t n = strcspn(s, "/");

		if (n == 0 || (n == 1 && s[0] == '.') ||
		    (n == 2 && s[0] == '.' && s[1] == '.'))
			return 0;
		s += n;
		if (*s == '/' && *++s == '\0')
			return 0;
	}
	return 1;
}

static int
full_path(const sync_conn *c, const char *rel, char *buf, size_t size)
{
	if (!rel_ok(rel)) {
		sync_log(LOG_ERR, "target %s: refusing remote path '%s'",
		    c->t->name, rel);
		return -EINVAL;
	}
	if (*rel == '\0')
		return bm_path(buf, size, "%s", c->root);
	return bm_path(buf, size, "%s%s%s", c->root,
	    c->rootlen == 1 ? "" : "/", rel);
}

static int
inside_root(const sync_conn *c, const char *p)
{
	if (c->rootlen == 1)
		return p[0] == '/';
	return strncmp(p, c->root, c->rootlen) == 0 &&
	    (p[c->rootlen] == '\0' || p[c->rootlen] == '/');
}

/*
 * lstat @full; if it is a link, follow it only when its realpath is
 * inside ROOT (else -ELOOP, logged).  @a receives the final attributes.
 */
static int
confined_stat(sync_conn *c, const char *full, LIBSSH2_SFTP_ATTRIBUTES *a)
{
	char real[4096];
	int n;

	if (libssh2_sftp_lstat(c->sftp, full, a) != 0)
		return conn_fail(c, "lstat", full, QUIET_ENOENT);
	if (!(a->flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) ||
	    !LIBSSH2_SFTP_S_ISLNK(a->permissions))
		return 0;
	n = libssh2_sftp_realpath(c->sftp, full, real, sizeof(real) - 1);
	if (n <= 0)
		return conn_fail(c, "realpath", full, QUIET_ENOENT);
	real[n] = '\0';
	if (!inside_root(c, real)) {
		sync_log(LOG_ERR, "target %s: %s is a symbolic link to %s, "
		    "outside %s; refusing to follow it", c->t->name, full,
		    real, c->root);
		return -ELOOP;
	}
	if (libssh2_sftp_stat(c->sftp, real, a) != 0)
		return conn_fail(c, "stat", real, QUIET_ENOENT);
	return 0;
}

static int
dir_known(const sync_conn *c, const char *rel, size_t *pos)
{
	size_t lo = 0, hi = c->ndirs;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int r = strcmp(c->dirs[mid], rel);

		if (r == 0)
			return 1;
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*pos = lo;
	return 0;
}

static int
dir_remember(sync_conn *c, const char *rel, size_t pos)
{
	char *s;

	if (c->ndirs == c->capdirs) {
		size_t nc = c->capdirs ? c->capdirs * 2 : 64;
		char **nd = realloc(c->dirs, nc * sizeof(*nd));

		if (nd == NULL)
			return -ENOMEM;
		c->dirs = nd;
		c->capdirs = nc;
	}
	if ((s = strdup(rel)) == NULL)
		return -ENOMEM;
	memmove(c->dirs + pos + 1, c->dirs + pos,
	    (c->ndirs - pos) * sizeof(*c->dirs));
	c->dirs[pos] = s;
	c->ndirs++;
	return 0;
}

/*
 * Make sure every component of directory @rel is a directory inside
 * ROOT, creating missing ones when @create.  Returns 0, -ENOENT (a
 * component is missing and !@create), -ELOOP, -ENOTDIR, or an error.
 */
static int
confined_dir(sync_conn *c, const char *rel, int create)
{
	char sub[1024], full[4096];
	size_t pos, i, len = strlen(rel);
	int rc;

	if (len >= sizeof(sub))
		return -ENAMETOOLONG;
	for (i = 0; i <= len; i++) {
		LIBSSH2_SFTP_ATTRIBUTES a;

		if (i < len && rel[i] != '/')
			continue;
		memcpy(sub, rel, i);
		sub[i] = '\0';
		if (i == 0 || dir_known(c, sub, &pos))
			continue;
		if ((rc = full_path(c, sub, full, sizeof(full))) != 0)
			return rc;
		rc = confined_stat(c, full, &a);
		if (rc == -ENOENT && create) {
			if (libssh2_sftp_mkdir(c->sftp, full, 0700) != 0) {
				/* Another connection may have made it. */
				rc = conn_fail(c, "mkdir", full, QUIET_STATUS);
				if (rc == -ECONNRESET || rc == -ETIMEDOUT)
					return rc;
			}
			rc = confined_stat(c, full, &a);
		}
		if (rc != 0)
			return rc;
		if (!LIBSSH2_SFTP_S_ISDIR(a.permissions)) {
			sync_log(LOG_ERR, "target %s: %s is not a directory",
			    c->t->name, full);
			return -ENOTDIR;
		}
		if ((rc = dir_remember(c, sub, pos)) != 0)
			return rc;
	}
	return 0;
}

static int
parent_dir(const char *rel, char *buf, size_t size)
{
	const char *slash = strrchr(rel, '/');
	size_t n = slash ? (size_t)(slash - rel) : 0;

	if (n >= size)
		return -ENAMETOOLONG;
	memcpy(buf, rel, n);
	buf[n] = '\0';
	return 0;
}

int
sync_remote_stat(sync_conn *c, const char *path, uint64_t *size)
{
	LIBSSH2_SFTP_ATTRIBUTES a;
	char dir[1024], full[4096];
	int rc;

	if (c->broken)
		return -ECONNRESET;
	if ((rc = parent_dir(path, dir, sizeof(dir))) != 0 ||
	    (rc = confined_dir(c, dir, 0)) != 0 ||
	    (rc = full_path(c, path, full, sizeof(full))) != 0 ||
	    (rc = confined_stat(c, full, &a)) != 0)
		return rc;
	if (!LIBSSH2_SFTP_S_ISREG(a.permissions))
		return -EINVAL;
	*size = a.filesize;
	return 0;
}

int
sync_remote_unlink(sync_conn *c, const char *path)
{
	char full[4096];
	int rc;

	if (c->broken)
		return -ECONNRESET;
	if ((rc = full_path(c, path, full, sizeof(full))) != 0)
		return rc;
	if (libssh2_sftp_unlink(c->sftp, full) != 0)
		return conn_fail(c, "unlink", full, QUIET_ENOENT);
	return 0;
}

/* ---- listing ------------------------------------------------------- */

static int
rlist_add(struct sync_rlist *l, const char *dir, const char *name,
    uint64_t size, int isreg)
{
	struct sync_rent *e;

	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 256;

		e = realloc(l->v, nc * sizeof(*e));
		if (e == NULL)
			return -ENOMEM;
		l->v = e;
		l->cap = nc;
	}
	e = &l->v[l->n];
	if (asprintf(&e->path, "%s%s%s", dir, *dir ? "/" : "", name) < 0)
		return -ENOMEM;
	e->size = size;
	e->isreg = isreg;
	l->n++;
	l->sorted = 0;
	return 0;
}

int
sync_remote_list(sync_conn *c, const char *dir, struct sync_rlist *l)
{
	LIBSSH2_SFTP_HANDLE *h;
	LIBSSH2_SFTP_ATTRIBUTES a;
	char full[4096], name[512];
	int rc, n;

	if (c->broken)
		return -ECONNRESET;
	rc = confined_dir(c, dir, 0);
	if (rc == -ENOENT)
		return 0;
	if (rc != 0)
		return rc;
	if ((rc = full_path(c, dir, full, sizeof(full))) != 0)
		return rc;
	if ((h = libssh2_sftp_opendir(c->sftp, full)) == NULL)
		return conn_fail(c, "opendir", full, 0);
	while ((n = libssh2_sftp_readdir(h, name, sizeof(name), &a)) > 0) {
		int isreg;

		if (!strcmp(name, ".") || !strcmp(name, ".."))
			continue;
		if ((size_t)n >= sizeof(name) - 1 || strchr(name, '/'))
			continue; /* not one of ours */
		if (!(a.flags & LIBSSH2_SFTP_ATTR_PERMISSIONS)) {
			rc = BEEMO_EREMOTE;
			sync_log(LOG_ERR, "target %s: %s/%s: the server gave "
			    "no file type", c->t->name, full, name);
			break;
		}
		if (LIBSSH2_SFTP_S_ISLNK(a.permissions)) {
			char lfull[4096];

			if ((rc = bm_path(lfull, sizeof(lfull), "%s/%s", full,
			    name)) != 0 ||
			    (rc = confined_stat(c, lfull, &a)) != 0)
				break;
		}
		isreg = LIBSSH2_SFTP_S_ISREG(a.permissions);
		if ((rc = rlist_add(l, dir, name, isreg ? a.filesize : 0,
		    isreg)) != 0)
			break;
	}
	if (n < 0 && rc == 0)
		rc = conn_fail(c, "readdir", full, 0);
	libssh2_sftp_closedir(h);
	return rc;
}

static int
rent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct sync_rent *)a)->path,
	    ((const struct sync_rent *)b)->path);
}

const struct sync_rent *
sync_rlist_find(struct sync_rlist *l, const char *path)
{
	struct sync_rent key;

	if (!l->sorted) {
		if (l->n > 1)
			qsort(l->v, l->n, sizeof(*l->v), rent_cmp);
		l->sorted = 1;
	}
	key.path = (char *)path;
	return l->n ? bsearch(&key, l->v, l->n, sizeof(*l->v), rent_cmp) :
	    NULL;
}

void
sync_rlist_free(struct sync_rlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i].path);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* ---- transfers ----------------------------------------------------- */

static int
conn_buf(sync_conn *c)
{
	if (c->buf == NULL && (c->buf = malloc(SYNC_READ)) == NULL)
		return -ENOMEM;
	return 0;
}

static void
account(const struct sync_io *io, uint64_t n)
{
	if (io != NULL && io->pr != NULL)
		bm_progress_add(io->pr, n, 0);
}

/*
 * Write the @size bytes at @base to the open handle @h; hash them into
 * @md unless it is NULL.  [acked, handed) is the window handed to
 * libssh2 and not yet acknowledged; it grows by SYNC_READ at a time up
 * to SYNC_BLOCK, which is when bytes are hashed and charged to the
 * bandwidth limit.
 */
static int
put_data(sync_conn *c, LIBSSH2_SFTP_HANDLE *h, const char *full,
    const uint8_t *base, uint64_t size, const struct sync_io *io,
    EVP_MD_CTX *md)
{
	uint64_t acked = 0, handed = 0;

	while (acked < size) {
		ssize_t n;

		if (handed - acked < SYNC_BLOCK && handed < size) {
			uint64_t want = size - handed;

			if (want > SYNC_READ)
				want = SYNC_READ;
			if (io != NULL && io->bw != NULL)
				sync_bw_take(io->bw, want);
			if (md != NULL)
				EVP_DigestUpdate(md, base + handed,
				    (size_t)want);
			handed += want;
		}
		n = libssh2_sftp_write(h, (const char *)base + acked,
		    (size_t)(handed - acked));
		if (n < 0)
			return conn_fail(c, "write", full, 0);
		acked += (uint64_t)n;
		account(io, (uint64_t)n);
	}
	return 0;
}

/* The bytes of @src: its buffer, or its file mapped read-only (packs are
 * immutable once closed; a mapping saves a copy per byte).  Returns 0
 * or a negative errno; unmap with src_unmap(). */
static int
src_map(const struct sync_src *src, const uint8_t **out)
{
	void *m;

	if (src->mem != NULL || src->size == 0) {
		*out = src->mem ? src->mem : (const uint8_t *)"";
		return 0;
	}
	m = mmap(NULL, (size_t)src->size, PROT_READ, MAP_SHARED, src->fd, 0);
	if (m == MAP_FAILED)
		return -errno;
	(void)madvise(m, (size_t)src->size, MADV_SEQUENTIAL);
	*out = m;
	return 0;
}

static void
src_unmap(const struct sync_src *src, const uint8_t *p)
{
	if (src->mem == NULL && src->size > 0)
		munmap((void *)p, (size_t)src->size);
}

/* Upload to the temporary @tmp, check it, rename it to @full. */
static int
put_tmp(sync_conn *c, const char *tmp, const char *full,
    const struct sync_src *src, const struct sync_io *io, EVP_MD_CTX *md)
{
	LIBSSH2_SFTP_HANDLE *h;
	LIBSSH2_SFTP_ATTRIBUTES a;
	const uint8_t *base = NULL;
	int rc, tries;

	for (tries = 0;; tries++) {
		h = libssh2_sftp_open_ex(c->sftp, tmp, (unsigned)strlen(tmp),
		    LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_EXCL,
		    0600, LIBSSH2_SFTP_OPENFILE);
		if (h != NULL)
			break;
		rc = conn_fail(c, "create", tmp, tries == 0 ? QUIET_STATUS :
		    0);
		if (c->broken || tries > 0)
			return rc;
		/* A stale temporary of ours (with O_EXCL, a link there is
		 * never followed): remove it and try once more. */
		if (libssh2_sftp_unlink(c->sftp, tmp) != 0 &&
		    (rc = conn_fail(c, "unlink", tmp, QUIET_ENOENT)) != -ENOENT)
			return rc;
	}
	if ((rc = src_map(src, &base)) != 0) {
		sync_log(LOG_ERR, "target %s: cannot map the local copy of "
		    "%s: %s", c->t->name, full, beemo_strerror(rc));
	} else {
		rc = put_data(c, h, full, base, src->size, io, md);
		src_unmap(src, base);
	}
	if (rc == 0 && libssh2_sftp_fsync(h) != 0) {
		rc = conn_fail(c, "fsync", tmp, QUIET_STATUS);
		if (rc == -EOPNOTSUPP)
			rc = 0; /* the server has no fsync@openssh.com */
		else if (!c->broken)
			sync_log(LOG_ERR, "target %s: fsync %s failed: %s",
			    c->t->name, tmp, beemo_strerror(rc));
	}
	if (c->broken) {
		libssh2_sftp_close(h); /* frees it */
		return rc ? rc : -ECONNRESET;
	}
	if (libssh2_sftp_close(h) != 0 && rc == 0)
		rc = conn_fail(c, "close", tmp, 0);
	if (rc != 0)
		goto fail_unlink;
	if (libssh2_sftp_lstat(c->sftp, tmp, &a) != 0) {
		rc = conn_fail(c, "lstat", tmp, 0);
		goto fail_unlink;
	}
	if (!LIBSSH2_SFTP_S_ISREG(a.permissions) || a.filesize != src->size) {
		sync_log(LOG_ERR, "target %s: %s has %llu bytes after upload, "
		    "expected %llu", c->t->name, tmp,
		    (unsigned long long)a.filesize,
		    (unsigned long long)src->size);
		rc = BEEMO_EREMOTE;
		goto fail_unlink;
	}
	/* SFTP v3 rename (OpenSSH: link + unlink) never replaces @full. */
	if (libssh2_sftp_rename_ex(c->sftp, tmp, (unsigned)strlen(tmp), full,
	    (unsigned)strlen(full), LIBSSH2_SFTP_RENAME_ATOMIC |
	    LIBSSH2_SFTP_RENAME_NATIVE) != 0) {
		rc = conn_fail(c, "rename", tmp, QUIET_STATUS);
		if (c->broken)
			return rc;
		if (confined_stat(c, full, &a) == 0 &&
		    LIBSSH2_SFTP_S_ISREG(a.permissions) &&
		    a.filesize == src->size) {
			/* Someone completed it meanwhile: same name, same
			 * size is the same object. */
			rc = 0;
		} else {
			sync_log(LOG_ERR, "target %s: cannot rename %s to %s "
			    "(it exists with another size, or the server "
			    "refused)", c->t->name, tmp, full);
			rc = rc == -ENOENT ? BEEMO_EREMOTE : -EEXIST;
		}
		goto fail_unlink;
	}
	return 0;

fail_unlink:
	if (!c->broken)
		(void)libssh2_sftp_unlink(c->sftp, tmp);
	return rc;
}

int
sync_remote_put(sync_conn *c, const char *path, const struct sync_src *src,
    const struct sync_io *io, uint8_t sha[SYNC_HASH_LEN])
{
	char dir[1024], full[4096], dfull[4096], tmp[4096];
	const char *base;
	EVP_MD_CTX *md;
	size_t dl;
	int rc;

	if (c->broken)
		return -ECONNRESET;
	base = strrchr(path, '/');
	base = base ? base + 1 : path;
	if ((rc = parent_dir(path, dir, sizeof(dir))) != 0 ||
	    (rc = confined_dir(c, dir, 1)) != 0 ||
	    (rc = full_path(c, path, full, sizeof(full))) != 0 ||
	    (rc = full_path(c, dir, dfull, sizeof(dfull))) != 0)
		return rc;
	dl = strlen(dfull);
	if ((rc = bm_path(tmp, sizeof(tmp), "%s%s.tmp-%s-%s", dfull,
	    dl > 0 && dfull[dl - 1] == '/' ? "" : "/", c->t->tag, base)) != 0)
		return rc;
	/* Hashing costs as much CPU as the MAC of the channel: only when
	 * the caller does not know the hash yet. */
	md = NULL;
	if (sha != NULL && ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)) {
		EVP_MD_CTX_free(md);
		return -ENOMEM;
	}
	rc = put_tmp(c, tmp, full, src, io, md);
	if (rc == 0 && sha != NULL)
		EVP_DigestFinal_ex(md, sha, NULL);
	EVP_MD_CTX_free(md);
	return rc;
}

int
sync_remote_get(sync_conn *c, const char *path, uint64_t size, int fd,
    uint8_t **mem, const struct sync_io *io, uint8_t sha[SYNC_HASH_LEN])
{
	LIBSSH2_SFTP_HANDLE *h = NULL;
	LIBSSH2_SFTP_ATTRIBUTES a;
	char dir[1024], full[4096];
	uint8_t *out = NULL;
	uint64_t got = 0;
	EVP_MD_CTX *md = NULL;
	int rc;

	if (c->broken)
		return -ECONNRESET;
	if ((rc = conn_buf(c)) != 0 ||
	    (rc = parent_dir(path, dir, sizeof(dir))) != 0 ||
	    (rc = confined_dir(c, dir, 0)) != 0 ||
	    (rc = full_path(c, path, full, sizeof(full))) != 0)
		goto fail;
	if ((rc = confined_stat(c, full, &a)) != 0) {
		if (rc == -ENOENT)
			sync_log(LOG_ERR, "target %s: %s is missing",
			    c->t->name, path);
		goto fail;
	}
	if (!LIBSSH2_SFTP_S_ISREG(a.permissions) || a.filesize != size) {
		sync_log(LOG_ERR, "target %s: %s has %llu bytes, the manifest "
		    "says %llu", c->t->name, path,
		    (unsigned long long)a.filesize, (unsigned long long)size);
		rc = -EBADMSG;
		goto fail;
	}
	if (mem != NULL && (out = malloc(size ? size : 1)) == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		rc = -ENOMEM;
		goto fail;
	}
	h = libssh2_sftp_open_ex(c->sftp, full, (unsigned)strlen(full),
	    LIBSSH2_FXF_READ, 0, LIBSSH2_SFTP_OPENFILE);
	if (h == NULL) {
		rc = conn_fail(c, "open", full, 0);
		goto fail;
	}
	for (;;) {
		ssize_t n = libssh2_sftp_read(h, (char *)c->buf, SYNC_READ);

		if (n < 0) {
			rc = conn_fail(c, "read", full, 0);
			goto fail;
		}
		if (n == 0)
			break;
		if ((uint64_t)n > size - got) {
			sync_log(LOG_ERR, "target %s: %s is longer than the "
			    "%llu bytes of the manifest", c->t->name, path,
			    (unsigned long long)size);
			rc = -EBADMSG;
			goto fail;
		}
		if (io != NULL && io->bw != NULL)
			sync_bw_take(io->bw, (uint64_t)n);
		EVP_DigestUpdate(md, c->buf, (size_t)n);
		if (out != NULL)
			memcpy(out + got, c->buf, (size_t)n);
		else if (fd >= 0) {
			size_t done = 0;

			while (done < (size_t)n) {
				ssize_t w = write(fd, c->buf + done,
				    (size_t)n - done);

				if (w < 0 && errno == EINTR)
					continue;
				if (w < 0) {
					rc = -errno;
					sync_log(LOG_ERR, "writing %s: %s",
					    path, beemo_strerror(rc));
					goto fail;
				}
				done += (size_t)w;
			}
		}
		got += (uint64_t)n;
		account(io, (uint64_t)n);
	}
	if (got != size) {
		sync_log(LOG_ERR, "target %s: %s ended after %llu of %llu "
		    "bytes", c->t->name, path, (unsigned long long)got,
		    (unsigned long long)size);
		rc = -EBADMSG;
		goto fail;
	}
	libssh2_sftp_close(h);
	EVP_DigestFinal_ex(md, sha, NULL);
	EVP_MD_CTX_free(md);
	if (mem != NULL)
		*mem = out;
	return 0;

fail:
	if (h != NULL)
		libssh2_sftp_close(h);
	EVP_MD_CTX_free(md);
	free(out);
	return rc;
}
