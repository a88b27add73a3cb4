/*
 * sync_smtp.h -- delivering a report by SMTP, without a local mail
 * system (beemo-sync, see sync_report.c).
 *
 * When [mail] smtp names a server ("smtps://smtp.example.org:465", TLS
 * from the first byte, or "smtp://smtp.example.org:587", which must then
 * switch to TLS with STARTTLS unless [mail] smtp_starttls = no), reports
 * go to it directly instead of through [mail] command.  The protocol is
 * libcurl's, the one file of Beemo that includes it being sync_smtp.c:
 * libcurl is well kept, and does TLS (certificate and host name checked
 * against the system's CAs or [mail] smtp_cafile), STARTTLS without the
 * downgrade a server could otherwise force (CURLUSESSL_ALL) and AUTH
 * (PLAIN, LOGIN, CRAM-MD5...) right, which a hand-written client would
 * have to relearn.
 *
 * The envelope comes from the message's own mailboxes: MAIL FROM the
 * address of From, RCPT TO each address of To (bm_mail_addr()).  The
 * user is [mail] smtp_user; its password is read, for each delivery,
 * from [mail] smtp_password_file, or else from the systemd credential
 * "smtp-password" ($CREDENTIALS_DIRECTORY/smtp-password, LoadCredential=
 * in the service): never from the configuration file itself, the command
 * line or the environment, never logged, and cleansed from our memory
 * after use (libcurl keeps a copy of its own until the handle is freed,
 * right after the delivery).  A password is never sent in clear: with
 * smtp_starttls = no on smtp://, smtp_user is refused.
 */
#ifndef BEEMO_SYNC_SMTP_H
#define BEEMO_SYNC_SMTP_H

#include <stddef.h>

#include "bm_conf.h"

/* The default of [mail] smtp_timeout, in seconds: for the whole
 * delivery, the connection included. */
#define SYNC_SMTP_TIMEOUT 60

/*
 * sync_smtp_send -- deliver @msg (@len bytes, LF line ends as
 * bm_mail_format() writes them; sent with CRLF) to the server of
 * [mail] smtp in @conf.
 * @from: the From mailbox ("Name <addr>" or "addr"); @to: the To list
 *   (comma-separated mailboxes): the envelope.
 * @err: receives, on failure, one line starting with "SMTP: " that says
 *   what went wrong with the server's own reply when there is one
 *   ("SMTP: 535 authentication failed: 5.7.8 Authentication credentials
 *   invalid"); never the password.
 * Returns 0; -EINVAL for a wrong setting ([mail] smtp not smtp:// or
 * smtps://, a user in the URL, smtp_starttls neither "required" nor
 * "no", smtp_user without TLS or without a password source, an
 * unusable address); -ETIMEDOUT when the server did not finish within
 * [mail] smtp_timeout; BEEMO_EREMOTE when the server could not be
 * reached or refused the message, the login or TLS; -ENOMEM; or the
 * error of reading the password file.
 */
int sync_smtp_send(const bm_conf *conf, const char *from, const char *to,
    const char *msg, size_t len, char *err, size_t errlen);

#endif /* BEEMO_SYNC_SMTP_H */
