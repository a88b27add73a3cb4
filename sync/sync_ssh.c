/*
 * sync_ssh.c -- the SSH session under the SFTP transport: TCP
 * connection, handshake, host key check against known_hosts, public
 * key authentication, SFTP start, resolution of ROOT, and close; and
 * the one mapping of libssh2 errors to ours (sync_conn_fail), which
 * the file operations in sync_sftp.c share (see sync_ssh.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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
#include "sync_ssh.h"


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

int
sync_conn_fail(sync_conn *c, const char *op, const char *path, int quiet)
{
	char *msg = NULL;
	int e, rc, was_broken = c->broken;

	if (c->broken)
		return -ECONNRESET;
	e = libssh2_session_last_error(c->ssh, &msg, NULL, 0);
	if (e == LIBSSH2_ERROR_SFTP_PROTOCOL && c->sftp != NULL) {
		unsigned long st = libssh2_sftp_last_error(c->sftp);

		rc = sftp_status_errno(st);
		if ((rc == -ENOENT && quiet == SYNC_QUIET_ENOENT) ||
		    quiet == SYNC_QUIET_STATUS)
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
		return sync_conn_fail(c, "host key of", t->host, 0);
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
		return sync_conn_fail(c, "authentication of", t->user, 0);
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
	return sync_conn_fail(c, "authentication of", t->user, 0);
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
				r = sync_conn_fail(c, "stat", buf,
				    SYNC_QUIET_ENOENT);
				if (r != -ENOENT)
					return r;
				if (libssh2_sftp_mkdir(c->sftp, buf, 0700))
					return sync_conn_fail(c, "mkdir", buf,
					    0);
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
		rc = sync_conn_fail(c, "stat", c->t->path, SYNC_QUIET_ENOENT);
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
		return sync_conn_fail(c, "realpath", c->t->path, 0);
	buf[n] = '\0';
	if (libssh2_sftp_stat(c->sftp, buf, &a) != 0)
		return sync_conn_fail(c, "stat", buf, 0);
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
		rc = sync_conn_fail(c, "starting SFTP on", t->host, 0);
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

