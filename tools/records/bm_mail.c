/*
 * bm_mail.c -- e-mail messages and the sendmail-compatible command that
 * delivers them (see bm_report.h).
 *
 * Messages follow RFC 5322 with the MIME headers of RFC 2045: a subject
 * that is not plain ASCII becomes RFC 2047 "B" encoded-words of at most
 * 75 characters, folded onto continuation lines; the body is sent as
 * 7bit when it is ASCII with lines of at most 998 bytes, else as
 * quoted-printable (which every mail system passes unchanged, unlike
 * 8bit).  The subject is escaped (bm_esc.h) before it is encoded.
 * Display names of From and To may be UTF-8 ("Étude Dupont
 * <beemo@etude.fr>"): encoded-words as well; the addresses themselves
 * must be ASCII.
 * Lines end with LF: `sendmail -t -i` reads local text and
 * writes CRLF on the wire itself.  Addresses and extra headers reach the
 * message only when they hold no control character, so a value from the
 * configuration or from a report can never add a header.
 *
 * The command runs with fork/exec, never through a shell: its argument
 * vector is the configured command split into words as a shell would
 * (blanks, single and double quotes, backslash; nothing else is
 * special), and nothing from a report ever reaches it (recipients are
 * read by sendmail from the To header, with -t).  The message goes through a pipe written without
 * blocking, so a command that stops reading cannot hold us past the
 * timeout; SIGPIPE is blocked in the calling thread meanwhile (and a
 * pending one consumed), so a command that exits early is an error, not
 * a signal.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bm_bytes.h"
#include "bm_err.h"
#include "bm_esc.h"
#include "bm_mail.h"
#include "bm_time.h"

#define MAIL_LINE_MAX 998 /* RFC 5322 2.1.1 */
#define QP_LINE 76        /* RFC 2045 6.7 (5) */
#define EW_BYTES 39 /* UTF-8 bytes per encoded-word: 52 base64, so that
                      * "Subject: " and one word fit in 76 columns */

/* A growing buffer; any allocation failure is remembered in @err. */
struct buf {
	char *p;
	size_t len, cap;
	int err;
};

static void
put(struct buf *b, const char *s, size_t n)
{
	if (b->err)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		char *np;

		while (cap < b->len + n + 1)
			cap *= 2;
		if ((np = realloc(b->p, cap)) == NULL) {
			b->err = -ENOMEM;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

static void
putf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
putf(struct buf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		b->err = -EINVAL;
		return;
	}
	put(b, tmp, (size_t)n);
}

/* Printable ASCII and tabs only: safe inside a header. */
static int
header_safe(const char *s)
{
	if (s == NULL || *s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 ? *s != '\t' :
		    (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

static void
base64(struct buf *b, const unsigned char *in, size_t n)
{
	char out[BM_BASE64_LEN(EW_BYTES + 4) + 1]; /* a whole chunk */

	put(b, out, bm_base64_enc(out, in, n));
}

/*
 * RFC 2047 "B" encoded-words of the UTF-8 text @p, each of whole
 * characters and at most EW_BYTES bytes, separated by a folding line
 * break ("\n ").
 */
static void
encoded_words(struct buf *b, const unsigned char *p)
{
	unsigned char chunk[EW_BYTES + 4];
	size_t n = 0;

	while (*p != '\0') {
		size_t l = bm_utf8_len(p);

		if (l == 0)
			l = 1; /* not reached: callers pass valid UTF-8 */
		if (n + l > EW_BYTES) {
			puts_(b, "=?UTF-8?B?");
			base64(b, chunk, n);
			puts_(b, "?=\n ");
			n = 0;
		}
		memcpy(chunk + n, p, l);
		n += l;
		p += l;
	}
	puts_(b, "=?UTF-8?B?");
	base64(b, chunk, n);
	puts_(b, "?=");
}

/*
 * The Subject header.  It names files of clients, so it is escaped first
 * (bm_esc.h: no control character, no line break, invalid UTF-8 as
 * \xNN); then plain ASCII goes as it is, anything else as encoded-words
 * of whole UTF-8 characters, one per folded line.
 */
static void
subject(struct buf *b, const char *s)
{
	const unsigned char *p;
	size_t i, ascii = 1;
	char *esc;

	if ((esc = bm_esc_dup(s)) == NULL) {
		b->err = -ENOMEM;
		return;
	}
	p = (const unsigned char *)esc;
	for (i = 0; p[i] != '\0'; i++)
		if (p[i] >= 0x80)
			ascii = 0;
	puts_(b, "Subject: ");
	if (ascii && i <= 900)
		puts_(b, esc);
	else
		encoded_words(b, p);
	puts_(b, "\n");
	free(esc);
}

/*
 * Valid UTF-8 without any control character (C0 but tab, DEL, C1): what
 * an address with its display name may hold.  So no CR or LF, and no
 * value can end a header and start another.
 */
static int
header_text(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (s == NULL || *s == '\0')
		return 0;
	while (*p != '\0') {
		size_t l = bm_utf8_len(p);

		if (l == 0 || (l == 1 && ((*p < 0x20 && *p != '\t') ||
		    *p == 0x7f)) || (l == 2 && p[0] == 0xc2 && p[1] < 0xa0))
			return 0;
		p += l;
	}
	return 1;
}

int
bm_mail_addr(const char *in, char *out, size_t size)
{
	const char *lt = strrchr(in, '<'), *s, *e;
	size_t i;

	if (lt != NULL) {
		s = lt + 1;
		if ((e = strchr(s, '>')) == NULL ||
		    e[1 + strspn(e + 1, " \t")] != '\0')
			return -EINVAL;
	} else {
		s = in;
		e = in + strlen(in);
	}
	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	if (e == s || (size_t)(e - s) >= size)
		return -EINVAL;
	for (i = 0; s + i < e; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c >= 0x7f || strchr("<>,;\"\\()", c))
			return -EINVAL;
		out[i] = (char)c;
	}
	out[i] = '\0';
	return out[0] != '@' && out[i - 1] != '@' ? 0 : -EINVAL;
}

/*
 * One mailbox of From or To, "Display Name <addr>" or "addr" (RFC 5322
 * 3.4): the address as bm_mail_addr() checks it; a display name that is
 * not ASCII (without its double quotes, if it has some) as encoded-words
 * (RFC 2047 5 (3)), an ASCII one as it is.
 * Returns 0 or -EINVAL.
 */
static int
mailbox(struct buf *b, const char *in)
{
	const char *lt = strrchr(in, '<'), *s = in, *e;
	char addr[320], *name;
	size_t i;
	int ascii = 1;

	if (!header_text(in) || bm_mail_addr(in, addr, sizeof(addr)) != 0)
		return -EINVAL;
	if (lt == NULL) {
		puts_(b, addr);
		return 0;
	}
	e = lt;
	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	for (i = 0; s + i < e; i++)
		if ((unsigned char)s[i] >= 0x80)
			ascii = 0;
	if (e == s) {
		putf(b, "<%s>", addr);
		return 0;
	}
	if (ascii) {
		put(b, s, (size_t)(e - s));
		putf(b, " <%s>", addr);
		return 0;
	}
	if (e - s >= 2 && *s == '"' && e[-1] == '"') {
		s++;
		e--;
	}
	if ((name = strndup(s, (size_t)(e - s))) == NULL)
		return -ENOMEM;
	encoded_words(b, (const unsigned char *)name);
	/* One short word keeps its address on its line. */
	putf(b, strlen(name) <= EW_BYTES / 2 ? " <%s>" : "\n <%s>", addr);
	free(name);
	return 0;
}

/* To: the comma-separated list, one mailbox per folded line. */
static int
recipients(struct buf *b, const char *to)
{
	const char *p = to;
	int n = 0, rc;

	puts_(b, "To: ");
	while (*p != '\0') {
		size_t len = strcspn(p, ",");
		char *one;

		if (strspn(p, " \t") < len) {
			if (n++ > 0)
				puts_(b, ",\n ");
			if ((one = strndup(p, len)) == NULL)
				return -ENOMEM;
			rc = mailbox(b, one);
			free(one);
			if (rc != 0)
				return rc;
		}
		p += len + (p[len] == ',');
	}
	puts_(b, "\n");
	return n > 0 ? 0 : -EINVAL;
}

/* Does @body need quoted-printable? */
static int
needs_qp(const char *body)
{
	size_t line = 0;

	for (; *body != '\0'; body++) {
		unsigned char c = (unsigned char)*body;

		if (c == '\n') {
			line = 0;
			continue;
		}
		if (c >= 0x80 || c == '\r' || ++line > MAIL_LINE_MAX)
			return 1;
	}
	return 0;
}

/* Quoted-printable body: lines of at most 76 characters, soft breaks
 * ("=" at the end), '=' and every byte outside printable ASCII encoded,
 * and a space or tab before a line end encoded too. */
static void
qp(struct buf *b, const char *body)
{
	const unsigned char *p = (const unsigned char *)body;
	size_t col = 0;
	char enc[4];

	for (; *p != '\0'; p++) {
		int literal = (*p >= 33 && *p <= 126 && *p != '=') ||
		    ((*p == ' ' || *p == '\t') && p[1] != '\n' && p[1] != '\0');
		size_t w = literal ? 1 : 3;

		if (*p == '\n') {
			puts_(b, "\n");
			col = 0;
			continue;
		}
		if (col + w > QP_LINE - 1) {
			puts_(b, "=\n");
			col = 0;
		}
		if (literal) {
			put(b, (const char *)p, 1);
		} else {
			snprintf(enc, sizeof(enc), "=%02X", *p);
			put(b, enc, 3);
		}
		col += w;
	}
}

/* "Sat, 28 Nov 2026 06:43:23 +0000" (RFC 5322 3.3), always in UTC. */
static void
date(struct buf *b, uint64_t now_ns)
{
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu",
	    "Fri", "Sat"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr",
	    "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	time_t t = (time_t)(now_ns / 1000000000ULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	putf(b, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\n",
	    days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* The domain of Message-ID: the part after '@' of From, else the
 * host name (a dot-atom either way). */
static void
msgid_domain(const char *from, char *out, size_t size)
{
	const char *at = strrchr(from, '@');
	size_t i, n;

	if (at != NULL) {
		snprintf(out, size, "%s", at + 1);
		out[strcspn(out, "> \t")] = '\0';
	} else if (gethostname(out, size) != 0) {
		out[0] = '\0';
	}
	out[size - 1] = '\0';
	n = strlen(out);
	for (i = 0; i < n; i++)
		if (!((out[i] >= 'a' && out[i] <= 'z') ||
		    (out[i] >= 'A' && out[i] <= 'Z') ||
		    (out[i] >= '0' && out[i] <= '9') || out[i] == '.' ||
		    out[i] == '-'))
			out[i] = '-';
	if (n == 0)
		snprintf(out, size, "beemo.invalid");
}

int
bm_mail_format(const struct bm_mail *m, uint64_t now_ns, char **out,
    size_t *outlen)
{
	struct buf b = {NULL, 0, 0, 0};
	uint8_t rnd[8];
	char hex[17], domain[256];
	size_t i;
	int rc;

	if (!header_text(m->from) || !header_text(m->to))
		return -EINVAL;
	for (i = 0; m->headers != NULL && m->headers[i] != NULL; i++)
		if (!header_safe(m->headers[i]) ||
		    strchr(m->headers[i], ':') == NULL)
			return -EINVAL;
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return -EIO;
	bm_hex(hex, rnd, sizeof(rnd));
	msgid_domain(m->from, domain, sizeof(domain));
	date(&b, now_ns);
	putf(&b, "Message-ID: <%llu.%s.beemo@%s>\n",
	    (unsigned long long)(now_ns / 1000000000ULL), hex, domain);
	puts_(&b, "From: ");
	if ((rc = mailbox(&b, m->from)) != 0)
		goto fail;
	puts_(&b, "\n");
	if ((rc = recipients(&b, m->to)) != 0)
		goto fail;
	subject(&b, m->subject ? m->subject : "");
	puts_(&b, "MIME-Version: 1.0\n"
	    "Content-Type: text/plain; charset=UTF-8\n");
	puts_(&b, needs_qp(m->body) ?
	    "Content-Transfer-Encoding: quoted-printable\n" :
	    "Content-Transfer-Encoding: 7bit\n");
	/* RFC 3834: no vacation replies to reports. */
	puts_(&b, "Auto-Submitted: auto-generated\n");
	for (i = 0; m->headers != NULL && m->headers[i] != NULL; i++) {
		puts_(&b, m->headers[i]);
		puts_(&b, "\n");
	}
	puts_(&b, "\n");
	if (needs_qp(m->body))
		qp(&b, m->body);
	else
		puts_(&b, m->body);
	if (b.len == 0 || b.p[b.len - 1] != '\n')
		puts_(&b, "\n");
	if ((rc = b.err) != 0)
		goto fail;
	*out = b.p;
	*outlen = b.len;
	return 0;

fail:
	free(b.p);
	return rc;
}

/* ---- delivery ------------------------------------------------------- */

int
bm_mail_split(char *copy, char *argv[BM_MAIL_ARGS_MAX + 1])
{
	char *r = copy, *w = copy;
	int n = 0;

	for (;;) {
		while (*r == ' ' || *r == '\t')
			r++;
		if (*r == '\0')
			break;
		if (n == BM_MAIL_ARGS_MAX)
			return -E2BIG;
		argv[n++] = w;
		/* One word: up to an unquoted blank.  @w never passes @r,
		 * so the word is rebuilt in place. */
		while (*r != '\0' && *r != ' ' && *r != '\t') {
			if (*r == '\'') {
				for (r++; *r != '\'' && *r != '\0'; )
					*w++ = *r++;
				if (*r++ != '\'')
					return -EINVAL;
			} else if (*r == '"') {
				for (r++; *r != '"' && *r != '\0'; ) {
					if (*r == '\\' && (r[1] == '"' ||
					    r[1] == '\\'))
						r++;
					*w++ = *r++;
				}
				if (*r++ != '"')
					return -EINVAL;
			} else if (*r == '\\') {
				if (*++r == '\0')
					return -EINVAL;
				*w++ = *r++;
			} else {
				*w++ = *r++;
			}
		}
		if (*r != '\0')
			r++;
		*w++ = '\0';
	}
	argv[n] = NULL;
	return n > 0 ? 0 : -EINVAL;
}

static void
child(char *const argv[], int in, int out, const sigset_t *mask)
{
	struct sigaction sa;

	/* Only async-signal-safe calls from here to exec.  The command
	 * gets the default SIGPIPE and our caller's signal mask. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigaction(SIGPIPE, &sa, NULL);
	sigprocmask(SIG_SETMASK, mask, NULL);
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
		_exit(127);
	closefrom(3);
	setsid(); /* a process group of its own, killed as one on timeout */
	if (strchr(argv[0], '/') != NULL)
		execv(argv[0], argv);
	else
		execvp(argv[0], argv);
	_exit(127);
}

/* Feed @msg into *@inp (closed, and set to -1, once all is written),
 * collect the first bytes of output, until the output ends or @deadline
 * (monotonic ns) passes. */
static int
converse(int *inp, int out, const char *msg, size_t len, uint64_t deadline,
    char *said, size_t saidsz)
{
	size_t off = 0, got = 0;
	int rc = 0, in = *inp;

	while (out >= 0) {
		struct pollfd pf[2];
		uint64_t now = bm_mono_ns();
		int n = 0, t, iw = -1, io;

		if (now >= deadline)
			return -ETIMEDOUT;
		if (len == 0 && in >= 0) {
			close(in);
			in = *inp = -1;
		}
		t = (int)((deadline - now) / 1000000ULL) + 1;
		if (in >= 0) {
			pf[n].fd = in;
			pf[n].events = POLLOUT;
			iw = n++;
		}
		pf[n].fd = out;
		pf[n].events = POLLIN;
		io = n++;
		if (poll(pf, (nfds_t)n, t) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (iw >= 0 && pf[iw].revents != 0) {
			ssize_t w = write(in, msg + off, len - off);

			if (w < 0 && errno != EAGAIN && errno != EINTR) {
				/* The command stopped reading: its exit
				 * status tells why. */
				rc = errno == EPIPE ? 0 : -errno;
				off = len;
			} else if (w > 0) {
				off += (size_t)w;
			}
			if (off == len) {
				close(in);
				in = *inp = -1;
			}
		}
		if (pf[io].revents != 0) {
			char tmp[512];
			ssize_t r = read(out, tmp, sizeof(tmp));

			if (r < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (r <= 0) {
				out = -1;
				break;
			}
			if (got + 1 < saidsz) {
				size_t k = (size_t)r < saidsz - 1 - got ?
				    (size_t)r : saidsz - 1 - got;

				memcpy(said + got, tmp, k);
				got += k;
				said[got] = '\0';
			}
		}
	}
	return rc;
}

static int
reap(pid_t pid, uint64_t deadline, int *status)
{
	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);

		if (r == pid)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
		if (bm_mono_ns() >= deadline)
			return -ETIMEDOUT;
		usleep(10000);
	}
}

int
bm_mail_send(const char *command, const char *msg, size_t len,
    unsigned timeout_ms, char *err, size_t errlen)
{
	char *copy = NULL, *argv[BM_MAIL_ARGS_MAX + 1], said[512] = "";
	int in[2] = {-1, -1}, out[2] = {-1, -1}, rc, status = 0;
	uint64_t deadline = bm_mono_ns() + (uint64_t)timeout_ms * 1000000ULL;
	sigset_t pipe_set, old;
	struct timespec zero = {0, 0};
	pid_t pid;

	snprintf(err, errlen, "no error");
	if (command == NULL || (copy = strdup(command)) == NULL)
		return command == NULL ? -EINVAL : -ENOMEM;
	if ((rc = bm_mail_split(copy, argv)) != 0) {
		snprintf(err, errlen, "mail command '%s' is %s", command,
		    rc == -E2BIG ? "too long (more than 32 words)" :
		    "empty or has an unbalanced quote or final backslash");
		goto out_free;
	}
	if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) {
		rc = -errno;
		snprintf(err, errlen, "pipe: %s", strerror(-rc));
		goto out_pipes;
	}
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	if ((pid = fork()) < 0) {
		rc = -errno;
		snprintf(err, errlen, "fork: %s", strerror(-rc));
		goto out_mask;
	}
	if (pid == 0)
		child(argv, in[0], out[1], &old);
	close(in[0]);
	close(out[1]);
	in[0] = out[1] = -1;
	(void)fcntl(in[1], F_SETFL, O_NONBLOCK);
	rc = converse(&in[1], out[0], msg, len, deadline, said,
	    sizeof(said));
	if (in[1] >= 0) {
		close(in[1]);
		in[1] = -1;
	}
	if (rc == 0)
		rc = reap(pid, deadline, &status);
	if (rc == -ETIMEDOUT) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		(void)waitpid(pid, &status, 0);
		snprintf(err, errlen, "mail command %s did not finish within "
		    "%u s and was killed", argv[0], timeout_ms / 1000);
	} else if (rc != 0) {
		kill(pid, SIGKILL);
		(void)waitpid(pid, &status, 0);
		snprintf(err, errlen, "mail command %s: %s", argv[0],
		    strerror(-rc));
	} else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		said[strcspn(said, "\n")] = '\0';
		if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && !*said)
			snprintf(said, sizeof(said), "cannot be run");
		if (WIFEXITED(status))
			snprintf(err, errlen, "mail command %s exited with "
			    "status %d%s%s", argv[0], WEXITSTATUS(status),
			    *said ? ": " : "", said);
		else
			snprintf(err, errlen, "mail command %s was killed by "
			    "signal %d", argv[0], WTERMSIG(status));
		rc = BEEMO_EREMOTE;
	}
out_mask:
	/* Consume a SIGPIPE our writes raised before unblocking it. */
	while (sigtimedwait(&pipe_set, NULL, &zero) == SIGPIPE)
		;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
out_pipes:
	if (in[0] >= 0)
		close(in[0]);
	if (in[1] >= 0)
		close(in[1]);
	if (out[0] >= 0)
		close(out[0]);
	if (out[1] >= 0)
		close(out[1]);
out_free:
	free(copy);
	return rc;
}
