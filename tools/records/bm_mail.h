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
	const char *from;    /* one address */
	const char *to;      /* comma-separated addresses */
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
 * Returns 0, -EINVAL (an address or header holds a control character or
 * is empty), or -ENOMEM.
 */
int bm_mail_format(const struct bm_mail *m, uint64_t now_ns, char **out,
    size_t *outlen);

/*
 * bm_mail_send -- run @command (split at blanks, no shell; recipients
 * come from the To header: use -t) with @msg on its standard input, and
 * wait at most @timeout_ms for it to exit (then it is killed).
 * @err: receives a sentence on failure (the status and the first line
 * the command printed).  Returns 0, -EINVAL (empty command), -ETIMEDOUT,
 * BEEMO_EREMOTE (the command failed), or a negative errno.
 */
int bm_mail_send(const char *command, const char *msg, size_t len,
    unsigned timeout_ms, char *err, size_t errlen);

#endif /* BEEMO_BM_MAIL_H */
