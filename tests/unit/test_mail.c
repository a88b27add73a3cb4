/*
 * test_mail.c -- unit tests of the e-mail reports (tools/records/
 * bm_mail.c) and of the report spool (bm_report.c): message headers,
 * RFC 2047 subjects and quoted-printable bodies decoded back to what was
 * given, UTF-8 display names encoded, header injection refused, mail
 * commands split into words with quotes, and delivery through commands that
 * succeed, fail, cannot be run, never read, or hang.
 */
#include <dirent.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bm_err.h"
#include "bm_file.h"
#include "bm_mail.h"
#include "bm_report.h"
#include "bm_sealed.h"
#include "bm_time.h"
#include "check.h"

static char tmp[256];

/* The value of header @name (unfolded, without "Name: "), or NULL;
 * the caller frees it. */
static char *
header(const char *msg, const char *name)
{
	size_t nl = strlen(name);
	const char *p = msg, *end = strstr(msg, "\n\n");
	char *out;
	size_t len = 0;

	while (p != NULL && p < end) {
		if (strncmp(p, name, nl) == 0 && p[nl] == ':')
			break;
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	if (p == NULL || p >= end)
		return NULL;
	p += nl + 1;
	while (*p == ' ')
		p++;
	if ((out = malloc(strlen(p) + 1)) == NULL)
		return NULL;
	/* Unfold: a newline followed by a blank continues the header. */
	for (; *p != '\0'; p++) {
		if (*p == '\n' && (p[1] == ' ' || p[1] == '\t'))
			continue;
		if (*p == '\n')
			break;
		out[len++] = *p;
	}
	out[len] = '\0';
	return out;
}

/* Decode a header of RFC 2047 B encoded-words separated by blanks. */
static char *
decode_words(const char *v)
{
	char *out = calloc(1, strlen(v) + 1);
	size_t len = 0;

	while (out != NULL && *v != '\0') {
		const char *s, *e;
		unsigned char dec[256];
		int n;

		while (*v == ' ')
			v++;
		if (strncmp(v, "=?UTF-8?B?", 10) != 0 ||
		    (e = strstr(v + 10, "?=")) == NULL) {
			free(out);
			return NULL;
		}
		s = v + 10;
		n = EVP_DecodeBlock(dec, (const unsigned char *)s,
		    (int)(e - s));
		while (n > 0 && e > s && e[-1] == '=') {
			n--; /* EVP_DecodeBlock counts padding */
			e--;
		}
		memcpy(out + len, dec, (size_t)n);
		len += (size_t)n;
		v = strstr(v + 10, "?=") + 2;
	}
	return out;
}

/* Decode a quoted-printable body. */
static char *
decode_qp(const char *b)
{
	char *out = malloc(strlen(b) + 1);
	size_t len = 0;

	for (; out != NULL && *b != '\0'; b++) {
		if (*b == '=' && b[1] == '\n') {
			b++;
			continue;
		}
		if (*b == '=') {
			unsigned v;

			sscanf(b + 1, "%2x", &v);
			out[len++] = (char)v;
			b += 2;
			continue;
		}
		out[len++] = *b;
	}
	if (out != NULL)
		out[len] = '\0';
	return out;
}

static void
test_ascii(void)
{
	const char *extra[] = {"X-Beemo-Report: events", NULL};
	struct bm_mail m = {"Beemo <beemo@appliance.example>",
	    "ops@example.com, b@example.com", "pc1: 1 virus found",
	    "line one\nline two\n", extra};
	char *msg, *v;
	size_t len;

	CHECK_OK(bm_mail_format(&m, 1795848203ULL * 1000000000ULL, &msg,
	    &len));
	CHECK(strlen(msg) == len);
	CHECK((v = header(msg, "Date")) != NULL &&
	    strcmp(v, "Sat, 28 Nov 2026 06:43:23 +0000") == 0);
	free(v);
	CHECK((v = header(msg, "Message-ID")) != NULL && v[0] == '<' &&
	    strstr(v, "@appliance.example>") != NULL);
	free(v);
	CHECK((v = header(msg, "To")) != NULL &&
	    strcmp(v, "ops@example.com, b@example.com") == 0);
	free(v);
	CHECK((v = header(msg, "Subject")) != NULL &&
	    strcmp(v, "pc1: 1 virus found") == 0);
	free(v);
	CHECK((v = header(msg, "Content-Type")) != NULL &&
	    strcmp(v, "text/plain; charset=UTF-8") == 0);
	free(v);
	CHECK((v = header(msg, "Content-Transfer-Encoding")) != NULL &&
	    strcmp(v, "7bit") == 0);
	free(v);
	CHECK((v = header(msg, "MIME-Version")) != NULL &&
	    strcmp(v, "1.0") == 0);
	free(v);
	CHECK((v = header(msg, "X-Beemo-Report")) != NULL &&
	    strcmp(v, "events") == 0);
	free(v);
	CHECK(strstr(msg, "\n\nline one\nline two\n") != NULL);
	CHECK(strchr(msg, '\r') == NULL);
	free(msg);
}

static void
test_utf8(void)
{
	/* Long enough for several encoded-words; a 4-byte character sits
	 * where a naive split at 45 bytes would cut it. */
	const char *subj = "Sauvegarde de « poste-comptabilité » : virus "
	    "trouvé dans Bilan 2026 🐝 — fichier non sauvegardé";
	char body[4000], *msg, *v, *d, *b;
	size_t len, i;
	const char *line;

	snprintf(body, sizeof(body), "Fichier : /Documents/été/rapport.doc"
	    "\nVirus : Beemo.Test.EICAR\n= égal, espace en fin \n");
	for (i = strlen(body); i < 1500; i++)
		body[i] = 'x'; /* one line longer than 998 bytes */
	body[i++] = '\n';
	body[i] = '\0';
	{
		struct bm_mail m = {"beemo@a.example", "ops@example.com", subj,
		    body, NULL};

		REQUIRE(bm_mail_format(&m, bm_now_ns(), &msg, &len) == 0);
	}
	v = header(msg, "Subject");
	REQUIRE(v != NULL);
	d = decode_words(v);
	CHECK(d != NULL && strcmp(d, subj) == 0);
	free(d);
	free(v);
	/* Every header line within 78 characters. */
	for (line = msg; line < strstr(msg, "\n\n");
	    line = strchr(line, '\n') + 1)
		CHECK(strcspn(line, "\n") <= 78);
	CHECK((v = header(msg, "Content-Transfer-Encoding")) != NULL &&
	    strcmp(v, "quoted-printable") == 0);
	free(v);
	b = strstr(msg, "\n\n") + 2;
	for (line = b; *line != '\0'; line = strchr(line, '\n') + 1)
		CHECK(strcspn(line, "\n") <= 76);
	d = decode_qp(b);
	CHECK(d != NULL && strcmp(d, body) == 0);
	free(d);
	free(msg);
}

static void
test_injection(void)
{
	struct bm_mail m = {"beemo@a.example", "ops@example.com\nBcc: x@y",
	    "s", "b\n", NULL};
	const char *bad[] = {"X-Ok: 1", "X-Bad: 1\nBcc: evil@example.com",
	    NULL};
	char *msg, *v;
	size_t len;

	CHECK_RC(bm_mail_format(&m, bm_now_ns(), &msg, &len), -EINVAL);
	m.to = "";
	CHECK_RC(bm_mail_format(&m, bm_now_ns(), &msg, &len), -EINVAL);
	m.to = " , ";
	CHECK_RC(bm_mail_format(&m, bm_now_ns(), &msg, &len), -EINVAL);
	m.to = "ops@example.com";
	m.headers = bad;
	CHECK_RC(bm_mail_format(&m, bm_now_ns(), &msg, &len), -EINVAL);
	m.headers = NULL;
	/* A subject cannot start a header of its own. */
	m.subject = "virus\nBcc: evil@example.com";
	REQUIRE(bm_mail_format(&m, bm_now_ns(), &msg, &len) == 0);
	CHECK(strstr(msg, "\nBcc:") == NULL);
	CHECK((v = header(msg, "Subject")) != NULL &&
	    strcmp(v, "virus\\nBcc: evil@example.com") == 0);
	free(v);
	free(msg);
	/* Nor inside encoded-words; invalid bytes are told from U+FFFD. */
	{
		static const struct {
			const char *subject, *want;
		} t[] = {
			{"v\xc3\xa9\nBcc: e@x", "v\xc3\xa9\\nBcc: e@x"},
			{"\xff\xfe \xc3\xa9", "\\xff\\xfe \xc3\xa9"},
			{"\xef\xbf\xbd\xef\xbf\xbd \xc3\xa9",
			    "\xef\xbf\xbd\xef\xbf\xbd \xc3\xa9"},
			{"\x1b[2J\xc2\x9b \xc3\xa9",
			    "\\x1b[2J\\xc2\\x9b \xc3\xa9"},
		};
		size_t i;

		for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
			char *d;

			m.subject = t[i].subject;
			REQUIRE(bm_mail_format(&m, bm_now_ns(), &msg,
			    &len) == 0);
			CHECK(strstr(msg, "\nBcc:") == NULL);
			CHECK(strchr(msg, 0x1b) == NULL);
			v = header(msg, "Subject");
			REQUIRE(v != NULL);
			d = decode_words(v);
			CHECK(d != NULL && strcmp(d, t[i].want) == 0);
			free(d);
			free(v);
			free(msg);
		}
	}
}

/* Display names in UTF-8 become encoded-words; the address stays as
 * it is; control characters and malformed addresses are refused. */
static void
test_mailbox(void)
{
	struct bm_mail m = {"\xc3\x89tude Dupont <beemo@etude.fr>",
	    "Ren\xc3\xa9" "e <renee@example.com>, ops@example.com, "
	    "\"\xc3\x89. Dupont\" <x@example.com>", "s", "b\n", NULL};
	static const char *const bad[] = {
	    "\xc3\x89tude\r\nBcc: evil@example.com <beemo@etude.fr>",
	    "\xc3\x89tude <beemo@etude.fr>\nBcc: evil@example.com",
	    "\xc3\x89tude <beemo@etude.fr> trailing",
	    "\xc3\x89tude <beemo@etude.fr",
	    "\xc3\x89tude <b\xc3\xa9mo@etude.fr>",
	    "\xff\xfe <beemo@etude.fr>",
	    "Name\xc2\x85 <beemo@etude.fr>",
	    "<@etude.fr>",
	    "a b@etude.fr",
	    NULL};
	char *msg, *v, *lt, *d, addr[64];
	size_t len, i;

	REQUIRE(bm_mail_format(&m, bm_now_ns(), &msg, &len) == 0);
	v = header(msg, "From");
	REQUIRE(v != NULL && (lt = strstr(v, " <")) != NULL);
	CHECK(strcmp(lt, " <beemo@etude.fr>") == 0);
	*lt = '\0';
	d = decode_words(v);
	CHECK(d != NULL && strcmp(d, "\xc3\x89tude Dupont") == 0);
	free(d);
	free(v);
	/* Nothing but ASCII in the header block. */
	for (i = 0; msg + i < strstr(msg, "\n\n"); i++)
		CHECK((unsigned char)msg[i] < 0x80);
	v = header(msg, "To");
	CHECK(v != NULL && strstr(v, "<renee@example.com>, ops@example.com, "
	    "=?UTF-8?B?") != NULL && strstr(v, " <x@example.com>") != NULL);
	free(v);
	free(msg);
	m.to = "ops@example.com";
	for (i = 0; bad[i] != NULL; i++) {
		m.from = bad[i];
		CHECK_RC(bm_mail_format(&m, bm_now_ns(), &msg, &len), -EINVAL);
	}
	m.from = "beemo@etude.fr";
	m.to = "ops@example.com, \xc3\x89 <e@x>\r\nBcc: evil@example.com";
	CHECK_RC(bm_mail_format(&m, bm_now_ns(), &msg, &len), -EINVAL);

	CHECK_OK(bm_mail_addr(" \"A, B\" <a@b.example> ", addr, sizeof(addr)));
	CHECK(strcmp(addr, "a@b.example") == 0);
	CHECK_OK(bm_mail_addr("root", addr, sizeof(addr)));
	CHECK_RC(bm_mail_addr("<>", addr, sizeof(addr)), -EINVAL);
	CHECK_RC(bm_mail_addr("a@b.example", addr, 5), -EINVAL);
}

/* Mail commands are split into words as a shell would, without one. */
static void
test_split(void)
{
	static const struct {
		const char *in;
		const char *want[6];
	} t[] = {
		{"/usr/sbin/sendmail -t -i", {"/usr/sbin/sendmail", "-t",
		    "-i"}},
		{"  msmtp\t-a  'my account'  -t ", {"msmtp", "-a",
		    "my account", "-t"}},
		{"x \"a \\\"b\\\\\" 'c\\d' e\\ f", {"x", "a \"b\\",
		    "c\\d", "e f"}},
		{"x '' \"$HOME\" `id` *", {"x", "", "$HOME", "`id`", "*"}},
		{"a'b c'\"d\"", {"ab cd"}},
	};
	static const char *const bad[] = {"", "  \t", "x 'a", "x \"a",
	    "x a\\"};
	char copy[128], *argv[BM_MAIL_ARGS_MAX + 1];
	size_t i, k;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(copy, sizeof(copy), "%s", t[i].in);
		CHECK_OK(bm_mail_split(copy, argv));
		for (k = 0; t[i].want[k] != NULL; k++)
			CHECK(argv[k] != NULL &&
			    strcmp(argv[k], t[i].want[k]) == 0);
		CHECK(argv[k] == NULL);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(copy, sizeof(copy), "%s", bad[i]);
		CHECK_RC(bm_mail_split(copy, argv), -EINVAL);
	}
	memset(copy, 0, sizeof(copy));
	for (i = 0; i < 33; i++)
		strcat(copy, "a ");
	CHECK_RC(bm_mail_split(copy, argv), -E2BIG);
}

static void
script(const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmp, name);
	REQUIRE((f = fopen(path, "w")) != NULL);
	fprintf(f, "#!/bin/sh\n%s\n", text);
	fclose(f);
	chmod(path, 0755);
}

static void
test_send(void)
{
	char cmd[600], err[512], out[512], *big;
	uint8_t *got;
	size_t len;
	uint64_t t0;

	snprintf(out, sizeof(out), "%s/out", tmp);
	script("ok.sh", "[ \"$1\" = -t ] && [ \"$2\" = -i ] || exit 3\n"
	    "cat >\"$(dirname \"$0\")/out\"");
	snprintf(cmd, sizeof(cmd), "%s/ok.sh -t -i", tmp);
	CHECK_OK(bm_mail_send(cmd, "To: a@b\n\nhello\n", 16, 5000, err,
	    sizeof(err)));
	CHECK(bm_read_file(out, 1 << 20, &got, &len) == 0 && len == 16 &&
	    memcmp(got, "To: a@b\n\nhello\n", 16) == 0);
	free(got);
	/* Blanks only separate words: no shell, no globbing, no $. */
	snprintf(cmd, sizeof(cmd), "  %s/ok.sh\t-t  -i  ", tmp);
	CHECK_OK(bm_mail_send(cmd, "x\n", 2, 5000, err, sizeof(err)));

	script("fail.sh", "cat >/dev/null; echo 'no route to the relay' >&2;"
	    " exit 75");
	snprintf(cmd, sizeof(cmd), "%s/fail.sh -t -i", tmp);
	CHECK_RC(bm_mail_send(cmd, "x\n", 2, 5000, err, sizeof(err)),
	    BEEMO_EREMOTE);
	CHECK(strstr(err, "status 75") != NULL &&
	    strstr(err, "no route to the relay") != NULL);

	snprintf(cmd, sizeof(cmd), "%s/missing -t -i", tmp);
	CHECK_RC(bm_mail_send(cmd, "x\n", 2, 5000, err, sizeof(err)),
	    BEEMO_EREMOTE);
	CHECK(strstr(err, "127") != NULL);
	CHECK_RC(bm_mail_send("   ", "x\n", 2, 5000, err, sizeof(err)),
	    -EINVAL);

	/* A command that exits without reading a large message. */
	REQUIRE((big = malloc(4 << 20)) != NULL);
	memset(big, 'a', 4 << 20);
	script("noread.sh", "exit 1");
	snprintf(cmd, sizeof(cmd), "%s/noread.sh", tmp);
	CHECK_RC(bm_mail_send(cmd, big, 4 << 20, 5000, err, sizeof(err)),
	    BEEMO_EREMOTE);
	/* One that hangs without reading is killed at the timeout. */
	script("hang.sh", "sleep 30");
	snprintf(cmd, sizeof(cmd), "%s/hang.sh", tmp);
	t0 = bm_mono_ns();
	CHECK_RC(bm_mail_send(cmd, big, 4 << 20, 300, err, sizeof(err)),
	    -ETIMEDOUT);
	CHECK(bm_mono_ns() - t0 < 3000000000ULL);
	free(big);
}

static void
test_spool(void)
{
	static const uint8_t key[32] = {7}, other[32] = {8};
	struct bm_report r = {"virus", "pc1", "virus:pc1:/a:Sig",
	    BM_REPORT_EVENT, "virus \"Sig\" in /a", "line\n"};
	char dir[512], path[800];
	struct dirent *e;
	uint8_t *text;
	size_t len;
	int n = 0;
	DIR *d;

	CHECK_OK(bm_report_spool(tmp, key, &r));
	r.state = BM_REPORT_RAISE;
	CHECK_OK(bm_report_spool(tmp, key, &r));
	r.key = NULL;
	CHECK_RC(bm_report_spool(tmp, key, &r), -EINVAL);
	snprintf(dir, sizeof(dir), "%s/reports/spool", tmp);
	REQUIRE((d = opendir(dir)) != NULL);
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		n++;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		CHECK(strlen(e->d_name) > 27 && strcmp(e->d_name +
		    strlen(e->d_name) - 7, ".sealed") == 0);
		/* Sealed: no name in clear; another key or kind fails. */
		REQUIRE(bm_read_file(path, 1 << 20, &text, &len) == 0);
		CHECK(memmem(text, len, "/a", 2) == NULL);
		free(text);
		CHECK_RC(bm_sealed_read(path, other, "spool", 1 << 20, &text,
		    &len), -EBADMSG);
		CHECK_RC(bm_sealed_read(path, key, "report-state", 1 << 20,
		    &text, &len), -EBADMSG);
		REQUIRE(bm_sealed_read(path, key, "spool", 1 << 20, &text,
		    &len) == 0);
		CHECK(strstr((char *)text, "\"format\":\"beemo-report\"") &&
		    strstr((char *)text, "\"key\":\"virus:pc1:/a:Sig\"") &&
		    strstr((char *)text, "\"subject\":\"virus \\\"Sig\\\" "
		    "in /a\""));
		free(text);
	}
	closedir(d);
	CHECK(n == 2);
}

int
main(void)
{
	char cmd[300];

	snprintf(tmp, sizeof(tmp), "/tmp/beemo-test-mail.XXXXXX");
	REQUIRE(mkdtemp(tmp) != NULL);
	test_ascii();
	test_utf8();
	test_injection();
	test_mailbox();
	test_split();
	test_send();
	test_spool();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmp);
	return check_status();
}
