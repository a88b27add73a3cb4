/*
 * bm_mail.h -- e-mail messages and their sending (records library, see
 * bm_jentry.h).
 *
 * Only `beemo-sync maintenance` sends mail (see bm_report.h): it formats
 * each message with bm_mail_format() and pipes it to a
 * sendmail-compatible command with bm_mail_send().  No state; both are
 * thread-safe.
 */
#ifndef BEEMO_BM_MAIL_H
#define BEEMO_BM_MAIL_H

#include <stddef.h>
#include <stdint.h>

struct bm_mail {
	const char *from;    /* one mailbox: "addr" or "Name <addr>", the
	                        name in UTF-8 */
	const char *to;      /* comma-separated mailboxes, likewise */
	const char *subject; /* any bytes: escaped (bm_esc.h), then RFC
	                        2047 encoded when not ASCII */
	const char *body;    /* UTF-8, LF line ends */
	const char *const *headers; /* NULL-terminated extra "Name: value"
	                               lines (ASCII), or NULL */
};

/*
 * bm_mail_format -- an RFC 5322 message with Date (@now_ns), Message-ID,
 * From, To, Subject, MIME-Version, a text/plain UTF-8 body (7bit when it
 * is short-lined ASCII, else quoted-printable) and Auto-Submitted.  Lines
 * end with LF, as `sendmail -t -i` reads them.
 * @out: receives a malloc'd NUL-terminated message of @outlen bytes.
 * A display name that is not ASCII becomes RFC 2047 encoded-words.
 * Returns 0, -EINVAL (a mailbox is empty, is not valid UTF-8, holds a
 * control character -- CR, LF -- or an address bm_mail_addr() refuses;
 * an extra header holds a control character or no colon), or -ENOMEM.
 */
int bm_mail_format(const struct bm_mail *m, uint64_t now_ns, char **out,
    size_t *outlen);

/*
 * bm_mail_addr -- the address (addr-spec) of the mailbox @in: what is
 * between its last '<' and the '>' that ends it, or all of @in, trimmed.
 * It must be printable ASCII, without blank, quote, comma, angle bracket
 * or parenthesis, and neither start nor end with '@' (a local name such
 * as "root" is one; the SMTP envelope takes it as it is).
 * @out: receives it, NUL-terminated, in @size bytes.
 * Returns 0 or -EINVAL.
 */
int bm_mail_addr(const char *in, char *out, size_t size);

/* The most words of a mail command. */
#define BM_MAIL_ARGS_MAX 32

/*
 * bm_mail_split -- split the command @copy into words, in place, as a
 * shell would but without one: words are separated by unquoted blanks
 * (space, tab); 'single quotes' keep everything literally; "double
 * quotes" keep everything but \" and \\, which stand for " and \; a
 * backslash outside quotes keeps the next character.  $, `, *, ~ and
 * the like have no meaning.  ("-a 'my account'" gives two words, -a and
 * "my account".)
 * @argv: receives the words (pointers into @copy), then NULL.
 * Returns 0, -EINVAL (no word, an unbalanced quote, a final backslash)
 * or -E2BIG (more than BM_MAIL_ARGS_MAX words).
 */
int bm_mail_split(char *copy, char *argv[BM_MAIL_ARGS_MAX + 1]);

/*
 * bm_mail_send -- run @command (words as bm_mail_split() makes them, no
 * shell; recipients
 * come from the To header: use -t) with @msg on its standard input, and
 * wait at most @timeout_ms for it to exit (then it is killed).
 * @err: receives a sentence on failure (the status and the first line
 * the command printed).  Returns 0, -EINVAL (empty command), -ETIMEDOUT,
 * BEEMO_EREMOTE (the command failed), or a negative errno.
 */
int bm_mail_send(const char *command, const char *msg, size_t len,
    unsigned timeout_ms, char *err, size_t errlen);

#endif /* BEEMO_BM_MAIL_H */
