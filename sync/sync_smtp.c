/*
 * sync_smtp.c -- delivering a report by SMTP with libcurl (see
 * sync_smtp.h).
 *
 * One easy handle per message: reports are few (a handful per run), so
 * a connection kept open would save nothing and hold a password longer.
 * libcurl's verbose output goes to a callback that keeps the last line
 * the server sent (never what we sent: that holds the AUTH exchange), so
 * that an error can quote the server ("535 5.7.8 ...").
 */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bm_err.h"
#include "bm_mail.h"
#include "bm_pass.h"
#include "sync_smtp.h"

#define CREDENTIAL "smtp-password"
#define CONNECT_TIMEOUT_MAX 30 /* s, when smtp_timeout is longer */

/* The message with CRLF line ends, and how much of it libcurl read. */
struct upload {
	char *data;
	size_t len, off;
};

static size_t
read_cb(char *buf, size_t size, size_t n, void *arg)
{
	struct upload *u = arg;
	size_t k = size * n;

	if (k > u->len - u->off)
		k = u->len - u->off;
	memcpy(buf, u->data + u->off, k);
	u->off += k;
	return k;
}

/* The last line the server sent, printable ASCII only. */
struct reply {
	char line[256];
};

static int
debug_cb(CURL *c, curl_infotype type, char *data, size_t size, void *arg)
{
	struct reply *r = arg;
	size_t i, n = 0, start = 0;

	(void)c;
	if (type != CURLINFO_HEADER_IN)
		return 0;
	/* Several lines may come at once: keep the last non-empty one. */
	while (size > 0 && (data[size - 1] == '\n' || data[size - 1] == '\r'))
		size--;
	for (i = 0; i < size; i++)
		if (data[i] == '\n')
			start = i + 1;
	if (start >= size)
		return 0;
	for (i = start; i < size && n + 1 < sizeof(r->line); i++)
		r->line[n++] = data[i] >= 0x20 && data[i] < 0x7f ? data[i] :
		    '?';
	r->line[n] = '\0';
	return 0;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void
curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* The password of [mail] smtp_user, into the secure heap. */
static int
password(const bm_conf *conf, char **pw, size_t *pwlen, char *err,
    size_t errlen)
{
	const char *file = bm_conf_get(conf, "mail", NULL,
	    "smtp_password_file", NULL);
	const char *dir = getenv("CREDENTIALS_DIRECTORY");
	char cred[4096];
	int rc;

	if (file == NULL && dir != NULL && *dir != '\0' &&
	    snprintf(cred, sizeof(cred), "%s/%s", dir, CREDENTIAL) <
	    (int)sizeof(cred) && access(cred, F_OK) == 0)
		file = cred;
	if (file == NULL) {
		snprintf(err, errlen, "SMTP: [mail] smtp_user is set but no "
		    "password: set [mail] smtp_password_file, or give the "
		    "service the credential %s", CREDENTIAL);
		return -EINVAL;
	}
	if ((rc = bm_read_password(NULL, file, 0, pw, pwlen)) != 0)
		snprintf(err, errlen, "SMTP: the password file %s: %s", file,
		    rc == -EINVAL ? "empty" : beemo_strerror(rc));
	return rc;
}

/* @msg with CRLF line ends (a lone LF becomes CRLF). */
static int
crlf(const char *msg, size_t len, struct upload *u)
{
	size_t i, n = 0;

	memset(u, 0, sizeof(*u));
	for (i = 0; i < len; i++)
		n += msg[i] == '\n' ? 2 : 1;
	if ((u->data = malloc(n + 1)) == NULL)
		return -ENOMEM;
	for (i = 0; i < len; i++) {
		if (msg[i] == '\n' && (i == 0 || msg[i - 1] != '\r'))
			u->data[u->len++] = '\r';
		u->data[u->len++] = msg[i];
	}
	u->data[u->len] = '\0';
	return 0;
}

/* The envelope: every address of @to, as "<addr>". */
static int
envelope(const char *to, struct curl_slist **out)
{
	struct curl_slist *l = NULL, *nl;
	const char *p = to;
	char one[400], addr[320], rcpt[330];

	while (*p != '\0') {
		size_t len = strcspn(p, ",");

		if (strspn(p, " \t") < len) {
			if (len >= sizeof(one))
				goto bad;
			memcpy(one, p, len);
			one[len] = '\0';
			if (bm_mail_addr(one, addr, sizeof(addr)) != 0)
				goto bad;
			snprintf(rcpt, sizeof(rcpt), "<%s>", addr);
			if ((nl = curl_slist_append(l, rcpt)) == NULL) {
				curl_slist_free_all(l);
				return -ENOMEM;
			}
			l = nl;
		}
		p += len + (p[len] == ',');
	}
	if (l == NULL)
		return -EINVAL;
	*out = l;
	return 0;

bad:
	curl_slist_free_all(l);
	return -EINVAL;
}

/* The sentence for @res; @code is the server's last reply code. */
static int
explain(CURLcode res, long code, const struct reply *r, const char *url,
    const char *ebuf, unsigned timeout, char *err, size_t errlen)
{
	const char *said = r->line;
	const char *detail = *ebuf ? ebuf : curl_easy_strerror(res);

	/* The server's line without its code, which we print first. */
	if (code >= 200 && strlen(said) > 3 && (said[3] == ' ' ||
	    said[3] == '-') && atol(said) == code)
		said += 4;
	switch (res) {
	case CURLE_LOGIN_DENIED:
		snprintf(err, errlen, "SMTP: %ld authentication failed%s%s",
		    code, *said ? ": " : "", said);
		return BEEMO_EREMOTE;
	case CURLE_USE_SSL_FAILED:
		snprintf(err, errlen, "SMTP: %s offers no STARTTLS (set "
		    "smtp_starttls = no only for a server on this machine)",
		    url);
		return BEEMO_EREMOTE;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
		snprintf(err, errlen, "SMTP: cannot reach %s: %s", url,
		    detail);
		return BEEMO_EREMOTE;
	case CURLE_OPERATION_TIMEDOUT:
		snprintf(err, errlen, "SMTP: %s did not finish within %u s",
		    url, timeout);
		return -ETIMEDOUT;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
		snprintf(err, errlen, "SMTP: TLS with %s failed: %s", url,
		    detail);
		return BEEMO_EREMOTE;
	default:
		if (code >= 400)
			snprintf(err, errlen, "SMTP: %ld %s", code, *said ?
			    said : detail);
		else
			snprintf(err, errlen, "SMTP: %s: %s", url, detail);
		return BEEMO_EREMOTE;
	}
}

int
sync_smtp_send(const bm_conf *conf, const char *from, const char *to,
    const char *msg, size_t len, char *err, size_t errlen)
{
	const char *url = bm_conf_get(conf, "mail", NULL, "smtp", "");
	const char *tls = bm_conf_get(conf, "mail", NULL, "smtp_starttls",
	    "required");
	const char *user = bm_conf_get(conf, "mail", NULL, "smtp_user", NULL);
	const char *cafile = bm_conf_get(conf, "mail", NULL, "smtp_cafile",
	    NULL);
	uint64_t timeout = bm_conf_get_u64(conf, "mail", NULL, "smtp_timeout",
	    SYNC_SMTP_TIMEOUT);
	int implicit = strncmp(url, "smtps://", 8) == 0;
	int starttls = strcmp(tls, "required") == 0;
	struct curl_slist *rcpt = NULL;
	struct upload up = {NULL, 0, 0};
	struct reply reply;
	char ebuf[CURL_ERROR_SIZE] = "", mfrom[330], addr[320], *pw = NULL;
	size_t pwlen = 0;
	long code = 0;
	CURLcode res;
	CURL *c = NULL;
	int rc = 0;

	memset(&reply, 0, sizeof(reply));
	if (timeout == 0 || timeout > 3600)
		timeout = SYNC_SMTP_TIMEOUT;
	if (!implicit && strncmp(url, "smtp://", 7) != 0) {
		snprintf(err, errlen, "SMTP: [mail] smtp = '%s': not "
		    "smtps://HOST[:PORT] or smtp://HOST[:PORT]", url);
		return -EINVAL;
	}
	if (strchr(url + (implicit ? 8 : 7), '@') != NULL) {
		snprintf(err, errlen, "SMTP: [mail] smtp holds a user: give "
		    "it as smtp_user, and the password in smtp_password_file");
		return -EINVAL;
	}
	if (!starttls && strcmp(tls, "no") != 0) {
		snprintf(err, errlen, "SMTP: [mail] smtp_starttls = '%s': "
		    "'required' or 'no'", tls);
		return -EINVAL;
	}
	if (user != NULL && !implicit && !starttls) {
		snprintf(err, errlen, "SMTP: [mail] smtp_user with "
		    "smtp_starttls = no would send the password in clear: "
		    "use smtps:// or STARTTLS");
		return -EINVAL;
	}
	if (bm_mail_addr(from, addr, sizeof(addr)) != 0 ||
	    (rc = envelope(to, &rcpt)) == -EINVAL) {
		snprintf(err, errlen, "SMTP: an address of [mail] from or to "
		    "is not usable");
		return -EINVAL;
	}
	if (rc != 0) {
		snprintf(err, errlen, "SMTP: out of memory");
		return rc;
	}
	snprintf(mfrom, sizeof(mfrom), "<%s>", addr);
	if ((rc = crlf(msg, len, &up)) != 0) {
		snprintf(err, errlen, "SMTP: out of memory");
		goto out_rcpt;
	}
	if (user != NULL && (rc = password(conf, &pw, &pwlen, err,
	    errlen)) != 0)
		goto out_upload;
	rc = -ENOMEM;
	snprintf(err, errlen, "SMTP: cannot start libcurl");
	if (pthread_once(&curl_once, curl_init) != 0 ||
	    curl_init_rc != CURLE_OK || (c = curl_easy_init()) == NULL)
		goto out_password;
	if (curl_easy_setopt(c, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps") !=
	    CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_USE_SSL, implicit || starttls ?
	    (long)CURLUSESSL_ALL : (long)CURLUSESSL_NONE) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSLVERSION,
	    (long)CURL_SSLVERSION_TLSv1_2) != CURLE_OK ||
	    (cafile != NULL &&
	    curl_easy_setopt(c, CURLOPT_CAINFO, cafile) != CURLE_OK) ||
	    (user != NULL &&
	    (curl_easy_setopt(c, CURLOPT_USERNAME, user) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_PASSWORD, pw) != CURLE_OK)) ||
	    curl_easy_setopt(c, CURLOPT_MAIL_FROM, mfrom) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_READDATA, &up) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE,
	    (curl_off_t)up.len) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
	    (long)(timeout * 1000)) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)((timeout < CONNECT_TIMEOUT_MAX ? timeout :
	    CONNECT_TIMEOUT_MAX) * 1000)) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, debug_cb) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_DEBUGDATA, &reply) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_VERBOSE, 1L) != CURLE_OK) {
		snprintf(err, errlen, "SMTP: this libcurl lacks an option "
		    "(7.85 or newer is needed)");
		rc = -EINVAL;
		goto out_curl;
	}
	res = curl_easy_perform(c);
	(void)curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (res == CURLE_OK) {
		rc = 0;
		snprintf(err, errlen, "no error");
	} else {
		rc = explain(res, code, &reply, url, ebuf, (unsigned)timeout,
		    err, errlen);
	}
out_curl:
	curl_easy_cleanup(c);
out_password:
	if (pw != NULL)
		bm_free_secret(pw, pwlen);
out_upload:
	free(up.data);
out_rcpt:
	curl_slist_free_all(rcpt);
	return rc;
}
