/*
 * center_serve.h -- the session of beemo-center serve, shared by its
 * request loop (center_serve.c) and its file operations
 * (center_serve_ops.c).
 *
 * Design.  One process serves one SSH session of one area, without
 * threads.  Every client path is lexically normalized to a path RELATIVE
 * to AREA/data ("" is data/ itself; ".." never climbs above it) and
 * opened with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
 * RESOLVE_NO_MAGICLINKS) from a descriptor of data/, so that no symbolic
 * link is ever followed and nothing outside data/ is reached.  The rules
 * of center.h are applied by each operation before it touches anything;
 * a refusal is counted, journaled (center_journal) and answered with
 * SSH_FX_PERMISSION_DENIED and a message naming the rule.
 *
 * A new object (a name that is not ".tmp-*" and does not exist in data/)
 * opened for writing is written to AREA/state/partial/H, H the SHA-256
 * in hex of its relative path, and accepted when that handle is closed:
 * link() to its name (never replacing), unlink of the partial, fsync of
 * the directory, center_usage_add().  A session cut off leaves the
 * partial, which STAT shows at its name and a later open for writing
 * continues (OpenSSH's reput).
 */
#ifndef BEEMO_CENTER_SERVE_H
#define BEEMO_CENTER_SERVE_H

#include <dirent.h>
#include <limits.h>
#include <stdint.h>
#include <time.h>

#include "center.h"
#include "center_sftp.h"

#define SERVE_HANDLES 64

enum serve_kind {
	H_FREE, H_DIR, H_READ, H_TMP, H_PARTIAL,
};

struct serve_handle {
	enum serve_kind kind;
	int fd;                 /* H_READ, H_TMP, H_PARTIAL */
	DIR *dir;               /* H_DIR */
	uint64_t size;          /* writes: the file's size as written */
	uint64_t grown;         /* writes: bytes added this session */
	int quota_logged;       /* a quota refusal was journaled */
	char rel[PATH_MAX];     /* the client's path, relative to data/ */
	char partial[65];       /* H_PARTIAL: its name in state/partial */
};

struct serve {
	const struct center_ctx *ctx;
	struct center_area area;
	int datafd, partfd;     /* data/ and state/partial/ */
	uint64_t usage;         /* accepted bytes (AREA/state/usage) */
	uint64_t partials;      /* bytes in state/partial/ at the last scan */
	size_t npartials;       /* files there then */
	uint64_t pending;       /* bytes written since that scan */
	uint64_t accepted, accepted_bytes, refused;
	struct serve_handle h[SERVE_HANDLES];
	struct sftp_out out;
};

/*
 * serve_norm -- the client path @s (@len bytes, not NUL-terminated) as a
 * path relative to data/ into @rel: "/" and "." are "", "a//b/./c/.."
 * is "a/b", ".." above the root stays at the root.  Returns 0, or -1
 * (a NUL in the path, or too long).
 */
int serve_norm(const uint8_t *s, uint32_t len, char *rel, size_t rellen);

/*
 * serve_partials -- scan state/partial/ (the unfinished uploads and
 * temporaries of every session): s->partials and s->npartials get its
 * bytes and files, s->pending restarts at 0.  A file untouched for
 * SERVE_STALE_SECS that no session has open is removed first (a session
 * cut off long ago; journaled).  The quota counts accepted + partials +
 * pending bytes.  Returns 0 or a negative errno.
 */
#define SERVE_STALE_SECS (2 * 86400)
#define SERVE_MAX_PARTIALS 4096
int serve_partials(struct serve *s);

/* serve_refused -- count a refusal of operation @op on @rel because of
 * @why, and journal it while the session has made at most
 * SERVE_JOURNAL_REFUSALS (then one line says the rest are only
 * counted, in serve.log) and the journal holds at most
 * SERVE_JOURNAL_MAX bytes. */
#define SERVE_JOURNAL_REFUSALS 20
#define SERVE_JOURNAL_MAX (8 << 20)
void serve_refused(struct serve *s, const char *op, const char *rel,
    const char *why);

/* serve_deny -- refuse request @id (operation @op on @rel) because of
 * @rule: serve_refused(), then answer SSH_FX_PERMISSION_DENIED. */
void serve_deny(struct serve *s, uint32_t id, const char *op,
    const char *rel, const char *rule);

/* serve_errno -- answer @id with the status that fits -@err (a
 * negative errno), naming @rel. */
void serve_errno(struct serve *s, uint32_t id, const char *rel, int err);

/* serve_quota_ok -- whether @more bytes fit in the quota beside the
 * accepted and pending ones; when not, @msg receives the message. */
int serve_quota_ok(struct serve *s, uint64_t more, char *msg, size_t len);

/* The operations, each answering request @id (center_serve_ops.c).
 * Paths are already normalized; handles already looked up. */
void serve_open(struct serve *s, uint32_t id, const char *rel,
    uint32_t pflags, struct serve_handle *h);
void serve_close(struct serve *s, uint32_t id, struct serve_handle *h);
void serve_stat(struct serve *s, uint32_t id, const char *rel, int follow);
void serve_setstat(struct serve *s, uint32_t id, const char *rel);
void serve_opendir(struct serve *s, uint32_t id, const char *rel,
    struct serve_handle *h);
void serve_readdir(struct serve *s, uint32_t id, struct serve_handle *h);
void serve_remove(struct serve *s, uint32_t id, const char *rel);
void serve_mkdir(struct serve *s, uint32_t id, const char *rel);
void serve_rename(struct serve *s, uint32_t id, const char *from,
    const char *to);
void serve_statvfs(struct serve *s, uint32_t id);

#endif /* BEEMO_CENTER_SERVE_H */
