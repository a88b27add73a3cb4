/*
 * center.h -- beemo-center: the program of a storage center.
 *
 * Design.  A storage center keeps the off-site copies of many
 * appliances.  Each appliance has an AREA (a directory, by default
 * /srv/beemo-center/NAME) owned by a Unix account of its own, and its
 * push key is in that account's authorized_keys with a forced command:
 *
 *   command="/usr/sbin/beemo-center serve --area AREA",restrict KEY
 *
 * so whatever the appliance's key asks of sshd (a shell, a command, the
 * sftp subsystem, forwarding) runs `beemo-center serve`, an SFTP version
 * 3 server over standard input and output (center_serve.c).  It shows
 * AREA/data as "/" and enforces, whatever the SFTP client (beemo-sync or
 * OpenSSH's sftp):
 *
 *   - an ACCEPTED object (any regular file of data/ not named ".tmp-*")
 *     is never removed, overwritten, truncated, renamed, chmod'ed,
 *     linked over or replaced: such requests get SSH_FX_PERMISSION_DENIED
 *     and the file is unchanged;
 *   - new objects are written to AREA/state/partial/H (H: the SHA-256
 *     in hex of the object's path) and accepted (linked into place,
 *     never replacing, the directory fsync'ed) when the handle that
 *     wrote them is closed; an interrupted upload stays partial, hidden
 *     from listings but shown by STAT, and is resumed by writing from
 *     its size on (OpenSSH's `reput`), a truncating open starts it
 *     again, REMOVE drops it;
 *   - ".tmp-*" files (beemo-sync's temporaries) live there too; they
 *     may be written, removed, and renamed to a free name, which
 *     accepts them;
 *   - nothing is accepted while another handle, of this session or of
 *     another one, has it open for writing (a shared flock per writer,
 *     an exclusive one to accept);
 *   - an upload left unfinished for two days, that no session has
 *     open, is removed; at most 4096 may be unfinished at once;
 *   - no symbolic or hard link is ever made; nothing outside data/ is
 *     reached (paths are resolved below AREA/data, ".." never climbs
 *     above it, a symbolic link found there is refused);
 *   - data/center/ is written by beemo-center only (reports for the
 *     appliance: scrub.json, requests/N.json, deleted.log);
 *   - the area's quota (area.conf) bounds what is accepted plus every
 *     unfinished upload of every session (state/partial/): a write
 *     beyond it fails (SSH_FX_FAILURE, "quota of NAME (BYTES)
 *     exceeded"); statvfs@openssh.com (`df`) shows the quota.
 *
 * The first 20 refusals of a session are journaled (center_journal:
 * "serve: refused OP /PATH: RULE") while the journal is under 8 MiB, the
 * others only counted; each session that ends appends to AREA/state/serve.log one
 * line "START END accepted N bytes B refused R cpu SECONDS end WHY"
 * (UTC times, CPU user + system).
 *
 * Deletions happen only by `beemo-center apply` (center_apply.c), run by
 * the center's timer: a deletion request data/requests/N.req signed by
 * the appliance's administrator (sync_request.h), checked with the
 * administrator's public key PINNED in AREA/state/admin.pin (the first
 * admin.key the area received, or one endorsed by a pinned key), is
 * accepted (mail to the area's recipients), can be cancelled until its
 * grace period ends (data/requests/N.cancel, uploaded by `beemo-sync
 * release --cancel N`), and is applied after it (mail again): each
 * object still having the request's SHA-256 is deleted and journaled in
 * data/center/deleted.log and AREA/state/journal.
 *
 * `beemo-center scrub` (center_scrub.c) checks every object the area's
 * manifests list (size and SHA-256; no key is needed), moves a damaged
 * one aside to AREA/state/damaged/ so that the appliance's next push
 * uploads it again, and writes data/center/scrub.json, which beemo-sync
 * reads at its next push.
 *
 * `beemo-center add | list | status | remove` (center_admin.c) manage
 * the areas of a center.
 *
 * Area layout:
 *
 *   AREA/area.conf        the operator's settings for this appliance
 *                         ([area] name, quota, grace, mail)
 *   AREA/data/            what the appliance sees as "/" (sync.h layout)
 *   AREA/data/center/     reports written by beemo-center only
 *   AREA/state/           never visible to the appliance: partial/,
 *                         damaged/, admin.pin, usage (center_usage_add),
 *                         journal (center_journal), serve.log,
 *                         requests/ (apply's own records), apply.lock
 *
 * The center's own configuration is CENTER_CONF_DEFAULT (override with
 * -c or $BEEMO_CENTER_CONFIG; it may be absent): [center] root, grace,
 * quota (the defaults of new areas), and [mail] command, from.
 *
 * Errors: functions return 0 or a negative errno or BEEMO_E* code
 * (bm_err.h).
 */
#ifndef BEEMO_CENTER_H
#define BEEMO_CENTER_H

#include <limits.h>
#include <stdint.h>

#include "bm_conf.h"
#include "bm_exit.h"

#define CENTER_CONF_DEFAULT "/etc/beemo/center.conf"
#define CENTER_ROOT_DEFAULT "/srv/beemo-center"
#define CENTER_GRACE_DEFAULT (30ull * 86400) /* seconds */

/* Exit statuses of beemo-center: the shared ones of bm_exit.h. */
#define CENTER_EXIT_OK BM_EXIT_OK
#define CENTER_EXIT_FAIL BM_EXIT_FAIL
#define CENTER_EXIT_USAGE BM_EXIT_USAGE

/* What main() hands to a verb.  Read-only for the verbs. */
struct center_ctx {
	bm_conf *conf;      /* the center's configuration, never NULL */
	const char *root;   /* [center] root, or CENTER_ROOT_DEFAULT */
	int quiet, verbose;
};

/* ---- an area (center_area.c) ----------------------------------------- */

struct center_area {
	char path[PATH_MAX];    /* AREA */
	char data[PATH_MAX];    /* AREA/data */
	char state[PATH_MAX];   /* AREA/state */
	char name[65];          /* [area] name, else AREA's base name */
	uint64_t quota;         /* [area] quota, else [center] quota; 0: none */
	uint64_t grace;         /* seconds: [area] grace, else [center]
	                           grace, else CENTER_GRACE_DEFAULT */
	char *mail_to;          /* [area] mail_to (malloc'd), or NULL */
};

/*
 * center_area_open -- read the area at @path (AREA/area.conf; data/ and
 * state/ must exist) into @a, with @ctx's defaults.  Returns 0, -ENOENT
 * (not an area: @err says what is missing), BEEMO_ECONFIG (a bad
 * area.conf), -ENAMETOOLONG or -ENOMEM; @err receives a sentence.
 * Free with center_area_close().
 */
int center_area_open(const struct center_ctx *ctx, const char *path,
    struct center_area *a, char *err, size_t errlen);
void center_area_close(struct center_area *a);

/*
 * center_usage_add -- add @delta (negative: freed) to the bytes of
 * accepted objects recorded in AREA/state/usage (a decimal number),
 * under flock() of that file, so that serve, apply and scrub of the
 * same area may run at once.  The first call on an area without the file
 * counts every regular file of data/ (once).  @now (may be NULL)
 * receives the new total.  Returns 0 or a negative errno.
 * center_usage_get: the same with @delta 0.
 */
int center_usage_add(const struct center_area *a, int64_t delta,
    uint64_t *now);
int center_usage_get(const struct center_area *a, uint64_t *now);

/*
 * center_journal -- append one line, "<ISO 8601 UTC time> <the
 * formatted text>", to AREA/state/journal (O_APPEND, then fsync).
 * Returns 0 or a negative errno.
 */
int center_journal(const struct center_area *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * center_mail -- send @subject and @body to the area's recipients
 * ([area] mail_to) with [mail] command (default "/usr/sbin/sendmail -t
 * -i") from [mail] from (default "beemo-center@<host name>"), and
 * journal that it was sent or why not.  No recipient: journaled, 0.
 * Returns 0 or an error of bm_mail_send().
 */
int center_mail(const struct center_ctx *ctx, const struct center_area *a,
    const char *subject, const char *body);

/* Verbs, one file each; each parses its own options and returns a
 * CENTER_EXIT_* status. */
int center_cmd_serve(struct center_ctx *ctx, int argc, char **argv);
int center_cmd_apply(struct center_ctx *ctx, int argc, char **argv);
int center_cmd_scrub(struct center_ctx *ctx, int argc, char **argv);
int center_cmd_add(struct center_ctx *ctx, int argc, char **argv);
int center_cmd_list(struct center_ctx *ctx, int argc, char **argv);
int center_cmd_status(struct center_ctx *ctx, int argc, char **argv);
int center_cmd_remove(struct center_ctx *ctx, int argc, char **argv);
int center_cmd_pin(struct center_ctx *ctx, int argc, char **argv);

#endif /* BEEMO_CENTER_H */
