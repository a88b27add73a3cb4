/*
 * sync.h -- beemo-sync: off-site copies of an appliance over SFTP, and
 * the rebuilding of a lost appliance from one of them.
 *
 * Design.  beemo-sync moves sealed objects between the appliance's store
 * directory STORE and one or more SFTP "targets" (the storage centers),
 * with libssh2.  It never needs a SECRET to push: everything it sends is
 * sealed already (packs, wrapped key files), sealed here for the
 * administrator's public key (the configuration), or holds no secret and
 * no file name (store.id, the status file, manifests).  The appliance's
 * device secret STORE/keys/appliance.key and the LMDB indexes are never
 * sent: the packs carry a sealed log of every index transaction, so
 * recovery rebuilds each index with store_rebuild(), and the appliance
 * key is rebuilt from admin.key with the administrator's password.
 *
 * Remote layout, under the target's `path` (called ROOT):
 *
 *   ROOT/machines/NAME/packs/XX/ID.pack   a closed pack, same name as
 *                                         in the store (immutable there)
 *   ROOT/machines/NAME/store.id.H         the machine's store.id
 *   ROOT/keys/admin.key.H                 ADMIN_PUB and sealed ADMIN_PRIV
 *   ROOT/keys/machines/NAME.key.H         a machine's wrapped SECRETs
 *   ROOT/config/beemo.conf.H.sealed       the configuration file sealed
 *                                         with keymgr_seal_admin()
 *   ROOT/status/STAMP.json                a status file (no file names;
 *                                         bm_appstatus_*, bm_status.h)
 *   ROOT/journal/<16 hex>.log             a closed segment of the sealed
 *                                         appliance journal (bm_alog.h)
 *   ROOT/requests/<16 hex>.req            a deletion request signed by
 *                                         the administrator
 *                                         (sync_request.h)
 *   ROOT/manifests/STAMP.json             one per push, uploaded last
 *   ROOT/center/scrub.json                written by beemo-center scrub
 *                                         at a storage center (center.h);
 *                                         read by push
 *
 * H is the first 16 hex digits of the object's SHA-256, so that a file
 * that changes (a key file after a password change) gets a new name:
 * objects are never overwritten and never deleted by beemo-sync.  STAMP
 * is "YYYYMMDDTHHMMSSZ-RRRRRRRR" (UTC time, 32 random bits), which sorts
 * in time order.
 *
 * A manifest lists every object of the appliance's current state (not
 * itself) with its size and SHA-256; it is uploaded after all of them,
 * so a manifest on the remote means a complete copy.  Its format
 * (JSON, written by sync_manifest_build()):
 *
 *   {"format": "beemo-sync-manifest", "version": 2,
 *    "appliance": "<32 hex: appliance id>", "created": "<ISO 8601>",
 *    "created_ns": <ns>, "counter": <push number>, "beemo": "<version>",
 *    "objects": [{"path": "<remote path>", "size": <bytes>,
 *                 "sha256": "<64 hex>"}, ...],
 *    "superseded": ["<remote path>", ...], "mac": "<64 hex>"}
 *
 * Trust.  Nothing read back from a target is believed unless the
 * off-site key K_OFF (keymgr.h) vouches for it, and a center never holds
 * K_OFF: "mac" is HMAC-SHA256 under K_OFF of SYNC_MAC_LABEL, a NUL, and
 * the manifest's text with the mac's 64 digits read as '0's (the only
 * '"mac":"' in the text).  Since the manifest gives every other object's
 * SHA-256, the mac covers them all.  "counter" numbers the pushes of
 * the appliance to all targets (STORE/sync/counter), so that recovery
 * takes the newest state by number, not by name, and verify sees a
 * center serving an older state than the last one pushed to it.
 * "superseded" lists the key files and sealed configurations that the
 * previous manifest pushed to that target held and the current state
 * no longer does, for deletion by the center once a deletion request
 * signed by the administrator names them (sync_request.h).
 * Version 1 manifests (no counter, superseded or mac) are still read;
 * recovery takes them only when told to (--accept-unauthenticated).
 *
 * Upload protocol.  Each object is written to ".tmp-TAG-BASENAME" in its
 * final directory (TAG: the appliance id in hex, so a temporary is
 * recognizably ours), with up to SYNC_BLOCK bytes in flight so that
 * libssh2 pipelines its SFTP writes; it is fsync'ed (fsync@openssh.com
 * when offered), closed, its size checked with a stat, and renamed into place
 * with the SFTP v3 rename, which never replaces an existing file.  A
 * push first lists the remote directories it needs; an object whose
 * final name exists with the right size is complete (the rename is the
 * commit point) and is skipped; our own stale temporaries are removed.
 * So a push cut off anywhere is resumed by the next one.  An object that
 * exists with the wrong size is reported and left alone.
 *
 * Channel.  The server's host key must be in the target's known_hosts
 * file (libssh2_knownhost_*; hashed entries work); an unknown or changed
 * key is refused with its SHA-256 fingerprint in OpenSSH's notation.
 * Authentication is by public key only (an unencrypted OpenSSH ed25519,
 * ecdsa or rsa key; see beemo-sync(8) for what this libssh2 accepts).
 * Remote paths are confined to ROOT: names are built here from
 * validated parts (no "..", no "/" inside a part) and every directory and
 * object is checked with lstat; a symbolic link is followed only when its
 * realpath stays under realpath(ROOT).
 *
 * Parallelism.  A target gets `connections` SSH connections (default 2),
 * each driven by its own thread and taking the next object from a shared
 * queue (sync_pool_run()); progress counters and the bandwidth token
 * bucket are shared under a mutex.  Targets are pushed one after the
 * other; a target that fails does not stop the next one.
 *
 * Local files, under STORE/sync (mode 0700):
 *
 *   lock             flock()ed by the running instance; holds its pid.
 *                    The kernel drops the lock when the process dies, so
 *                    a killed run never blocks the next one.
 *   state.json       per target: last attempt and last success, result,
 *                    counts, the last manifest (bm_sync_state_*,
 *                    bm_status.h)
 *   hashes           cache of the SHA-256 of closed packs, keyed by
 *                    path, size, mtime and inode (packs are immutable)
 *   config.sealed    the last sealed configuration, reused while the
 *                    configuration file is unchanged (sealing is
 *                    randomized; reuse avoids a new object each push)
 *   manifests/T.json copy of the last manifest pushed to target T; it is
 *                    what `verify` checks the remote against
 *   counter          the number of the last push (sync_counter_*)
 *   scrub/T.json     what the last scrub of target T's center found, as
 *                    the push read it from ROOT/center/scrub.json
 *                    (sync_scrub_check)
 *   requests/        deletion requests (sync_request.c): T/N.req the
 *                    signed requests for target T, T.unlisted what the
 *                    manifests pushed to T stopped listing, counter
 *
 * Errors: functions return 0 or a negative errno or BEEMO_E* code
 * (bm_err.h): BEEMO_EHOSTKEY (host key not trusted), BEEMO_EREMOTE (the
 * server refused an operation), BEEMO_EFORMAT (a malformed manifest,
 * state or remote name), BEEMO_ELOCKED (another run holds the lock),
 * BEEMO_ECONFIG (bad target configuration), -EBADMSG (an object's
 * SHA-256 differs from the manifest), -ECONNRESET/-ETIMEDOUT (the
 * connection broke), -ESTALE (a center serves an older state than the
 * last push to it).  Each error is logged once, where it is detected,
 * naming the target, the object and the operation.
 *
 * Threads: a sync_conn belongs to one thread at a time; sync_log(), the
 * progress display and the bandwidth limiter may be used from any.
 */
#ifndef BEEMO_SYNC_H
#define BEEMO_SYNC_H

#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bm_conf.h"
#include "bm_exit.h"
#include "bm_progress.h"
#include "bm_status.h"
#include "keymgr.h"
#include "bm_json.h"

#define SYNC_MANIFEST_FORMAT "beemo-sync-manifest"
#define SYNC_FORMAT_VERSION 2  /* written; version 1 is still read */
#define SYNC_MAC_LABEL "beemo/v2/manifest" /* and a NUL, before the text */

#define SYNC_BLOCK (4u << 20)  /* bytes in flight per SFTP file handle */
#define SYNC_READ (1u << 20)   /* local read and SFTP read unit */
#define SYNC_MAX_CONN 16       /* connections per target */
#define SYNC_DEF_CONN 2
#define SYNC_DEF_TIMEOUT 60    /* seconds without progress on a socket */
#define SYNC_MAX_SMALL (16u << 20)     /* key file, store.id, config */
#define SYNC_MAX_MANIFEST (256u << 20) /* ~1.5 million objects */
#define SYNC_HASH_LEN 32
#define SYNC_STAMP_LEN 26 /* "YYYYMMDDTHHMMSSZ-RRRRRRRR" and a NUL */

/* Exit statuses of beemo-sync: the shared ones of bm_exit.h, by the
 * names the verbs use; BM_EXIT_BUSY (another beemo-sync holds the lock)
 * and BM_EXIT_WARN (a push that reached some targets but not all) by
 * their own names. */
#define SYNC_EXIT_OK BM_EXIT_OK
#define SYNC_EXIT_FAIL BM_EXIT_FAIL /* a target or an operation failed */
#define SYNC_EXIT_USAGE BM_EXIT_USAGE

/* ---- the run ------------------------------------------------------- */

/* What main() hands to a verb.  Read-only for the verbs. */
struct sync_ctx {
	bm_conf *conf;             /* the configuration file, never NULL */
	const char *store;         /* STORE */
	int store_given;           /* STORE came from --store */
	char syncdir[PATH_MAX];    /* STORE/sync */
	char lockpath[PATH_MAX];   /* [sync] lock, or STORE/sync/lock */
	char statepath[PATH_MAX];  /* [sync] state, or STORE/sync/state.json */
	int quiet;                 /* no progress and no summary lines */
	int json;                  /* --json: a verb prints one JSON object */
	int verbose;               /* -v count */
};

/* Verbs (sync_push.c, sync_verify.c, sync_recover.c, sync_status.c,
 * sync_maintenance.c, sync_release.c; sync_history.c below).
 * Each parses its own options and returns a SYNC_EXIT_* status. */
int sync_cmd_push(struct sync_ctx *ctx, int argc, char **argv);
int sync_cmd_verify(struct sync_ctx *ctx, int argc, char **argv);
int sync_cmd_recover(struct sync_ctx *ctx, int argc, char **argv);
int sync_cmd_status(struct sync_ctx *ctx, int argc, char **argv);
int sync_cmd_maintenance(struct sync_ctx *ctx, int argc, char **argv);
int sync_cmd_release(struct sync_ctx *ctx, int argc, char **argv);

/*
 * sync_log -- bm_progress_vlog(): bm_vlog() after erasing the progress
 * line, so that messages and the progress display do not mix on a
 * terminal.
 */
void sync_log(int prio, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * sync_password -- the administrator's password, for release and
 * recover (sync_pass.c).  @file, @command, @fd: the verb's
 * --password-file, --password-command and --password-fd (NULL when not
 * given; at most one).  Without them: $BEEMO_PASSWORD_FILE,
 * $BEEMO_PASSWORD_COMMAND, the systemd credential beemo-admin-password,
 * the terminal (bm_password_get()).  On success returns 0 and the caller
 * frees *@pw with bm_free_secret(*@pw, *@len); otherwise logs one line
 * and returns SYNC_EXIT_USAGE (two options, a bad descriptor number) or
 * SYNC_EXIT_FAIL.
 */
int sync_password(const char *file, const char *command, const char *fd,
    char **pw, size_t *len);

/* ---- targets (sync_target.c) ---------------------------------------- */

struct sync_target {
	char name[65];
	char *host, *user, *key, *known_hosts, *path;
	unsigned port;
	unsigned connections;  /* 1 .. SYNC_MAX_CONN */
	unsigned timeout_ms;
	uint64_t bandwidth;    /* bytes/s, 0 = unlimited */
	char tag[2 * KEYMGR_ID_LEN + 1]; /* appliance id hex, for temps */
};

/*
 * sync_target_load -- read [target @name] from the configuration and
 * check it: host, user, key, known_hosts and path are required; path
 * must have no "." or ".." component; port defaults to 22, connections
 * to [sync] connections or SYNC_DEF_CONN, the timeout to [sync] timeout.
 * @bwlimit: the --bwlimit value, 0 if none; the effective bandwidth is
 *   the smallest nonzero of it, [sync] bandwidth and the target's.
 * Errors are logged naming the key.  Free with sync_target_clear().
 * Returns 0, BEEMO_ECONFIG, or -ENOMEM.
 */
int sync_target_load(const struct sync_ctx *ctx, const char *name,
    uint64_t bwlimit, struct sync_target *t);
void sync_target_clear(struct sync_target *t);

/* ---- transport: the session (sync_ssh.c) ---------------------------- */

/* The SFTP transport is in two files: the session here, the file
 * operations below (sync_sftp.c); sync_ssh.h holds what they share. */

typedef struct sync_conn sync_conn;

/* sync_ssh_init -- libssh2_init(); call once before any thread starts. */
int sync_ssh_init(void);
void sync_ssh_exit(void);

/*
 * sync_conn_open -- connect to @t: TCP (bounded by the timeout), SSH
 * handshake, host key check against t->known_hosts, public key
 * authentication with t->key, SFTP, and resolution of ROOT.
 * @create: create ROOT (and missing parents) if it does not exist.
 * @out: receives the connection; close with sync_conn_close().
 * Returns 0, BEEMO_EHOSTKEY, BEEMO_EPASSWORD (authentication refused),
 * BEEMO_EREMOTE, -ENOENT (ROOT missing and !@create), -ECONNREFUSED,
 * -ETIMEDOUT, -EHOSTUNREACH, or another negative errno; logged.
 */
int sync_conn_open(const struct sync_target *t, int create,
    sync_conn **out);
void sync_conn_close(sync_conn *c);

/* sync_conn_broken -- nonzero once the connection is unusable (socket
 * error, timeout, protocol error): further calls fail at once. */
int sync_conn_broken(const sync_conn *c);

/* ---- transport: file operations (sync_sftp.c) ----------------------- */

/* Data transfer accounting shared by the connections of one run. */
struct sync_bw;
struct sync_io {
	struct bm_progress *pr;   /* may be NULL */
	struct sync_bw *bw;       /* may be NULL */
};

/* One entry of a remote listing. */
struct sync_rent {
	char *path;    /* relative to ROOT */
	uint64_t size;
	uint64_t mtime; /* seconds, as the server gives it (0: none) */
	int isreg;     /* a regular file (links resolved inside ROOT) */
};

struct sync_rlist {
	struct sync_rent *v;
	size_t n, cap;
	int sorted;
};

/*
 * sync_remote_list -- append the entries of directory @dir (relative to
 * ROOT; "" is ROOT) to @l, as "dir/name".  A missing directory adds
 * nothing.  Symbolic links are resolved (and must stay inside ROOT; an
 * escaping link is an error naming it).
 * Returns 0, BEEMO_EREMOTE, -ELOOP (escaping link), or a negative errno.
 */
int sync_remote_list(sync_conn *c, const char *dir, struct sync_rlist *l);

/* sync_rlist_find -- the entry for @path, or NULL (sorts @l once). */
const struct sync_rent *sync_rlist_find(struct sync_rlist *l,
    const char *path);
void sync_rlist_free(struct sync_rlist *l);

/*
 * sync_remote_stat -- size of the regular file @path (relative to ROOT),
 * following a link only inside ROOT.  Returns 0, -ENOENT, -ELOOP (link
 * out of ROOT), -EISDIR/-EINVAL (not a regular file), or an error.
 */
int sync_remote_stat(sync_conn *c, const char *path, uint64_t *size);

/* sync_remote_unlink -- remove the file @path (one of our temporaries).
 * Returns 0, -ENOENT, or an error. */
int sync_remote_unlink(sync_conn *c, const char *path);

/* A source for sync_remote_put(): a memory buffer or a file. */
struct sync_src {
	const uint8_t *mem; /* NULL: read from fd */
	int fd;
	uint64_t size;
};

/*
 * sync_remote_put -- upload @src as @path (relative to ROOT) by the
 * protocol above: creates missing directories, writes the temporary,
 * checks its size, renames it into place.  If @path appears meanwhile
 * with the right size, that counts as success; with another size it is
 * -EEXIST.  @sha: receives the SHA-256 of what was sent; NULL when the
 * caller knows it already (hashing is then skipped).
 * Returns 0, -EEXIST, -EIO (short local read), BEEMO_EREMOTE, -ENOSPC,
 * -EDQUOT, -EACCES, or a connection error; logged.
 */
int sync_remote_put(sync_conn *c, const char *path,
    const struct sync_src *src, const struct sync_io *io,
    uint8_t sha[SYNC_HASH_LEN]);

/*
 * sync_remote_get -- download the regular file @path, which must be
 * exactly @size bytes, into @fd (or only hash it when @fd is -1, or into
 * a new buffer *@mem when @mem is non-NULL: caller frees).
 * @sha: receives the SHA-256 of the content.
 * Returns 0, -EBADMSG (size differs: the object is truncated or grown),
 * -ENOENT, -ELOOP, or a connection or local write error; logged.
 */
int sync_remote_get(sync_conn *c, const char *path, uint64_t size, int fd,
    uint8_t **mem, const struct sync_io *io, uint8_t sha[SYNC_HASH_LEN]);

/* ---- messages and bandwidth (sync_progress.c) ----------------------- */

/*
 * A token bucket: sync_bw_take() blocks until @n more bytes fit in the
 * rate.  The bucket holds at most a quarter second of tokens so that an
 * idle moment does not allow a long burst.  Rate 0: no limit.
 */
struct sync_bw {
	pthread_mutex_t lock;
	uint64_t rate;    /* bytes per second */
	double tokens;    /* may go negative: debt slept off by the taker */
	uint64_t last_ns;
};

void sync_bw_init(struct sync_bw *bw, uint64_t rate);
void sync_bw_take(struct sync_bw *bw, uint64_t n);
void sync_bw_destroy(struct sync_bw *bw);

/* ---- objects (sync_local.c) ------------------------------------------ */

enum sync_kind {
	SYNC_PACK = 1,
	SYNC_STOREID,
	SYNC_KEY,      /* admin.key or a machine's key file */
	SYNC_CONFIG,
	SYNC_STATUS,
	SYNC_JOURNAL,  /* a closed appliance journal segment */
	SYNC_REQUEST,  /* a signed deletion request (sync_request.c) */
};

struct sync_obj {
	char *path;        /* remote path, relative to ROOT */
	char *local;       /* local path (packs), or NULL */
	uint8_t *data;     /* content (everything but packs), or NULL */
	uint64_t size;
	uint8_t sha[SYNC_HASH_LEN];
	int has_sha;
	enum sync_kind kind;
	uint64_t mtime_ns, ino; /* of the local file, for the hash cache */
	int rc;            /* result of the last job on it */
};

struct sync_objs {
	struct sync_obj *v;
	size_t n, cap;
};

/*
 * sync_local_scan -- the objects of the appliance's current state, in
 * upload order: packs, store.id files, key files, sealed configuration.
 * Packs get their SHA-256 from the hash cache when known (else has_sha
 * is 0: it is computed while uploading, or by sync_local_hash()); the
 * others are read into memory and hashed.  *.pack.open files, the index,
 * keys/appliance.key and anything not matching the store layout are
 * skipped.  The configuration is sealed with @km (reusing
 * STORE/sync/config.sealed while the file is unchanged; the state's
 * config_plain records which).
 * Returns 0, BEEMO_ENOSTORE (no keys/admin.key), or an error; logged.
 */
int sync_local_scan(const struct sync_ctx *ctx, keymgr *km,
    struct bm_sync_state *st, struct sync_objs *out);

/* sync_local_hash -- compute the SHA-256 of a pack object from its file.
 * Returns 0, -ENOENT (the pack was removed meanwhile), or an error. */
int sync_local_hash(struct sync_obj *o);

/* sync_hashcache_save -- remember the packs' SHA-256 in STORE/sync/hashes.
 * Returns 0 or an error. */
int sync_hashcache_save(const struct sync_ctx *ctx,
    const struct sync_objs *objs);

/* sync_objs_add -- append an object taking ownership of @path, @local
 * and @data (freed on failure too).  Returns 0 or -ENOMEM. */
int sync_objs_add(struct sync_objs *l, char *path, char *local,
    uint8_t *data, uint64_t size, enum sync_kind kind);
void sync_objs_free(struct sync_objs *l);

/* sync_sha256 -- SHA-256 of @len bytes. */
void sync_sha256(const void *buf, size_t len, uint8_t out[SYNC_HASH_LEN]);

/*
 * sync_sha256_fd -- SHA-256 of what @fd holds from its current offset to
 * its end, read @buflen bytes at a time into @buf (the caller's, so that
 * a loop over many files allocates once).  @len (may be NULL) receives
 * the bytes read; @step (may be NULL) is called with @arg after each
 * read with its byte count (progress).  Returns 0, -ENOMEM, -EIO (the
 * digest failed) or a negative errno of read().
 */
int sync_sha256_fd(int fd, void *buf, size_t buflen,
    uint8_t out[SYNC_HASH_LEN], uint64_t *len,
    void (*step)(void *arg, uint64_t n), void *arg);

/* sync_stamp -- "YYYYMMDDTHHMMSSZ-RRRRRRRR" for time @ns into @buf
 * (SYNC_STAMP_LEN bytes).  Returns 0 or -EIO (no randomness). */
int sync_stamp(char *buf, uint64_t ns);

/* ---- manifests (sync_manifest.c) -------------------------------------- */

/* A manifest as parsed (sync_manifest_parse); free with
 * sync_manifest_free().  Nothing in it is trusted before
 * sync_manifest_authentic() has accepted the text it came from. */
struct sync_manifest {
	unsigned version;          /* 1 or 2 */
	char appliance[2 * KEYMGR_ID_LEN + 1]; /* hex */
	uint64_t created_ns;
	uint64_t counter;          /* 0 in version 1 */
	struct sync_objs objs;     /* path, size, sha and kind; no data */
	char **superseded;         /* version 2: remote paths, may be none */
	size_t nsuperseded;
};

/*
 * sync_manifest_build -- the version 2 manifest of @objs (every one must
 * have its SHA-256) for appliance @appliance (hex), created at @ns, push
 * number @counter, listing the @nsup remote paths @superseded, with its
 * "mac" computed under the off-site key @koff (see the canonical form in
 * beemo-sync(8)).
 * @out: receives a malloc'd JSON text of @outlen bytes.
 * Returns 0, -EINVAL (an object has no hash) or -ENOMEM.
 */
int sync_manifest_build(const char *appliance, uint64_t ns, uint64_t counter,
    const struct sync_objs *objs, char *const *superseded, size_t nsup,
    const uint8_t koff[KEYMGR_OFFSITE_LEN], char **out, size_t *outlen);

/*
 * sync_manifest_parse -- parse and check a manifest of version 1 or 2:
 * format and version, appliance id, every object's path by
 * sync_path_classify() with its name's hash prefix matching its sha256,
 * and (version 2) the counter, every superseded path (a key file or a
 * sealed configuration) and the form of "mac".  Read from an untrusted
 * remote: never trusts a length or a path.  Does not check the mac.
 * @m: receives the manifest (zeroed first; free with
 *   sync_manifest_free(), also after an error).
 * Returns 0, BEEMO_EFORMAT, BEEMO_EVERSION or -ENOMEM.
 */
int sync_manifest_parse(const char *text, size_t len,
    struct sync_manifest *m);
void sync_manifest_free(struct sync_manifest *m);

/*
 * sync_manifest_authentic -- check the "mac" of the manifest text @text
 * (@len bytes) under @koff.  Constant-time comparison.
 * Returns 0 (authentic), -EBADMSG (wrong mac: made or altered without
 * @koff), BEEMO_EFORMAT (no mac, or not in its canonical place: a
 * version 1 manifest or a forged one), or -ENOMEM.
 */
int sync_manifest_authentic(const char *text, size_t len,
    const uint8_t koff[KEYMGR_OFFSITE_LEN]);

/* One manifest found on a target (sync_manifest_list). */
struct sync_mentry {
	char name[64];             /* "manifests/STAMP.json" */
	uint64_t size;
	unsigned version;          /* as claimed: untrusted */
	uint64_t counter;          /* as claimed: untrusted */
	uint64_t created_ns;       /* as claimed: untrusted */
	uint64_t stored_ns;        /* when the center stored it (mtime) */
	char bad[128];             /* why it is unusable, or "" */
};

/*
 * sync_mentry_time -- the time a state counts as made, for --at and
 * history: the later of the manifest's own claim and the time the
 * center stored it.  Whoever holds K_OFF (a compromised appliance) can
 * sign a manifest that claims any time; a center running beemo-center
 * serve never lets a client set a file's time, so a state forged later
 * cannot pass for an older one.
 */
uint64_t sync_mentry_time(const struct sync_mentry *e);

struct sync_mlist {
	struct sync_mentry *v;
	size_t n;
};

/*
 * sync_manifest_list -- download and parse every manifest under
 * ROOT/manifests and list them newest first by their claimed counter,
 * then claimed creation time, then name (never by name alone: two
 * pushes in one second sort by a random suffix).  A malformed one is
 * kept with the reason in its bad field (sorted last).
 * @l: receives the list; free with sync_mlist_free().
 * Returns 0 (possibly an empty list), or a connection error (logged).
 */
int sync_manifest_list(sync_conn *c, struct sync_mlist *l);
void sync_mlist_free(struct sync_mlist *l);

/*
 * sync_manifest_get -- download the manifest @e of the list again and
 * parse it.  @text, @len: receive its text (caller frees).
 * Returns 0, BEEMO_EFORMAT, BEEMO_EVERSION, -EBADMSG (its size changed),
 * or a connection error.
 */
int sync_manifest_get(sync_conn *c, const struct sync_mentry *e,
    char **text, size_t *len, struct sync_manifest *m);

/*
 * sync_manifest_complete -- are all objects of @m on the remote with
 * their sizes?  Returns 0, -ENOENT (some are not; @missing counts them),
 * or a connection error.
 */
int sync_manifest_complete(sync_conn *c, const struct sync_manifest *m,
    size_t *missing);

/*
 * sync_path_classify -- check that @path is a remote object name of the
 * layout above and tell its kind; for the kinds that recovery writes
 * into the store, @local receives the path relative to STORE
 * ("keys/admin.key", "machines/pc1/packs/3a/...pack"), else "".
 * Returns 0 or BEEMO_EFORMAT.
 */
int sync_path_classify(const char *path, enum sync_kind *kind, char *local,
    size_t localsz);

/* sync_objs_digest -- SHA-256 over the sorted (path, size, sha) of @objs
 * leaving out status files: equal digests mean nothing changed. */
void sync_objs_digest(const struct sync_objs *objs, char hex[65]);

/* ---- the state recovery takes (sync_choose.c) ------------------------ */

/*
 * sync_choose -- the newest state on the target that this appliance can
 * prove it pushed: manifests newest first by claimed push number, each
 * authenticated with the K_OFF of the admin.key it lists, opened with the
 * administrator's password @pw (@pwlen bytes), and complete on the
 * target.  Each one refused is named, with why, as a warning.
 * @at: 0, or take only states created at or before @at (ns).
 * @accept_v1: take version 1 manifests too (unauthenticated), after
 *   every authentic one.
 * @out: receives the manifest (free with sync_manifest_free());
 * @name: its remote path; @koff: its K_OFF (cleansed on failure; the
 *   caller cleanses it); @is_authentic: 0 for a version 1 manifest;
 * @newest: the highest push number of the authentic manifests seen,
 *   newer ones than @at and incomplete ones included (0 if none): the
 *   recovered appliance's pushes continue above it.
 * Returns 0, BEEMO_EPASSWORD (the password opens no admin.key there),
 * -ENOENT (nothing usable), or a connection error; logged.
 */
int sync_choose(sync_conn *c, const char *target, const char *pw,
    size_t pwlen, uint64_t at, int accept_v1, struct sync_manifest *out,
    char *name, size_t namesz, uint8_t koff[KEYMGR_OFFSITE_LEN],
    int *is_authentic, uint64_t *newest);

/* ---- the centers' scrubs (sync_scrub.c) ------------------------------- */

/* The last scrub report of a target that a push read. */
struct sync_scrub {
	uint64_t time_ns;      /* the scrub's time (0: none seen) */
	uint64_t seen_ns;      /* when the push read it */
	uint64_t objects, bytes;
	uint64_t missing, damaged; /* as the center counted them */
	uint64_t lost;         /* of those, held by older states only */
};

/*
 * sync_scrub_check -- read ROOT/center/scrub.json of target @target over
 * @c; when it is newer than the last one recorded, log each missing or
 * damaged object (uploaded again by this push when @objs, the current
 * state, holds it; an error otherwise) and record the result in
 * STORE/sync/scrub/@target.json.  A missing, malformed or unreadable
 * report is logged and skipped.  Returns 0, or a connection error.
 *
 * sync_scrub_load -- that record into @out (zeroed when there is none).
 * Returns 0, BEEMO_EFORMAT, or a negative errno.
 */
int sync_scrub_check(const struct sync_ctx *ctx, sync_conn *c,
    const char *target, const struct sync_objs *objs);
int sync_scrub_load(const struct sync_ctx *ctx, const char *target,
    struct sync_scrub *out);

/* ---- the states a target can restore (sync_history.c) ---------------- */

/* sync_cmd_history -- `beemo-sync history`; see beemo-sync(8). */
int sync_cmd_history(struct sync_ctx *ctx, int argc, char **argv);

/* ---- the push counter (sync_counter.c) ------------------------------- */

/*
 * STORE/sync/counter numbers the pushes of this appliance to all its
 * targets: every manifest gets the next number, so a center serving an
 * older state, or two pushes within one second, are told apart by a
 * number the off-site key authenticates.  After a recovery it holds the
 * recovered manifest's number, so that the next push continues above it.
 *
 * sync_counter_read -- the last number, 0 when there is no file yet.
 * sync_counter_set -- replace it durably with @n.
 * sync_counter_next -- add one, durably, and give the new number in @n
 *   (call it before building the manifest that carries @n).
 * @syncdir: STORE/sync (STORE/sync/requests: the same for the numbers
 *   of the deletion requests).
 * Return 0, BEEMO_EFORMAT (a malformed file), -EOVERFLOW, or an error of
 * reading or writing the file; logged.
 */
int sync_counter_read(const char *syncdir, uint64_t *n);
int sync_counter_set(const char *syncdir, uint64_t n);
int sync_counter_next(const char *syncdir, uint64_t *n);

/* sync_time_str -- @ns as bm_time_show() shows it, "2026-12-04 04:12:01
 * +0100" (or "2026-12-04 03:12:01 UTC" with --utc), into @buf (at least
 * 32 bytes), the form in which push times are shown; returns @buf. */
char *sync_time_str(char *buf, size_t size, uint64_t ns);

/* ---- lock (sync_lock.c) ----------------------------------------------- */

/*
 * sync_lock_take -- create @path if needed, flock() it exclusively
 * without waiting and write our pid into it.
 * @fd: receives the descriptor that holds the lock (close to release).
 * Returns 0, BEEMO_ELOCKED (logged with the holder's pid), or an error.
 */
int sync_lock_take(const char *path, int *fd);
void sync_lock_release(int fd);

/* ---- parallel transfers (sync_pool.c) --------------------------------- */

/* A job: do one object over connection @c.  Returns 0 or an error; the
 * job has logged it. */
typedef int (*sync_job_fn)(sync_conn *c, struct sync_obj *o, void *arg);

/*
 * sync_pool_run -- run @fn on every object of @jobs over up to
 * t->connections connections: @first (already open, used by the calling
 * thread) and more opened by worker threads.  A connection that breaks
 * stops taking jobs; when none is left, the remaining jobs get
 * -ECANCELED.  A worker that cannot connect is logged and does not count
 * as a failure while another connection works.
 * Each object's rc receives its job's result.
 * Returns 0 if every job succeeded, else the first error.
 */
int sync_pool_run(const struct sync_target *t, sync_conn *first,
    struct sync_obj **jobs, size_t njobs, sync_job_fn fn, void *arg);

/* ---- recovery's one use of the store (sync_rebuild.c) ---------------- */

/*
 * sync_rebuild_machine -- rebuild the index of machine @name in
 * STORE/machines/@name from its packs with store_rebuild(), SECRET
 * unlocked with the administrator's password, with a progress line
 * unless @quiet.  Returns 0 or an error; logged.
 */
int sync_rebuild_machine(const char *store, keymgr *km, const char *name,
    const char *pw, size_t pwlen, int quiet);

/* ---- removed machines (sync_removed.c) ------------------------------ */

/*
 * sync_free_removed -- erase every machine of the removed area whose
 * grace period ([store] remove_grace) is over at @now (ns), journaling
 * each with the space freed; a failure is journaled and reported, and
 * the other machines are still freed.  @nfreed, @bytes: receive how
 * many were freed and the disk space they held.
 * Returns 0, or the first error (logged).
 */
int sync_free_removed(const struct sync_ctx *ctx, keymgr *km, uint64_t now,
    unsigned *nfreed, uint64_t *bytes);

/* ---- the appliance journal, live progress (sync_alog.c) -------------- */

/*
 * sync_alog -- append an entry of @type by "beemo-sync" to the appliance
 * journal, keyed from @km.  Failures are logged as warnings (the
 * operation itself is done).  Returns 0 or an error.
 */
int sync_alog(const struct sync_ctx *ctx, keymgr *km, const char *type,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * sync_local_journal -- append every closed segment of the appliance
 * journal to @out as "journal/<16 hex>.log" (SYNC_JOURNAL, content in
 * memory; the maintenance run closes the current one first).  Returns 0
 * or an error; logged.
 */
int sync_local_journal(const struct sync_ctx *ctx, struct sync_objs *out);

/*
 * STORE/run/@op.json while an operation runs (bm_run_file): sync_run_begin()
 * names it, sync_run_note() rewrites it from @p (NULL: no counters; its
 * label is the target) at most once a second unless @force,
 * sync_run_end() removes it.  sync_run_tick is a bm_progress_tick_fn
 * that calls sync_run_note(@p, 0).  Thread-safe.
 */
void sync_run_begin(const struct sync_ctx *ctx, const char *op);
void sync_run_note(struct bm_progress *p, int force);
void sync_run_tick(void *arg, struct bm_progress *p);
void sync_run_end(void);

/* ---- reports (sync_report.c) ------------------------------------------ */

/* What the maintenance run learnt of a storage center. */
struct sync_contact {
	char name[65];
	uint64_t time;      /* ns */
	int ok;
	char result[256];   /* "ok" or why not */
};

struct sync_rstate;     /* STORE/reports/state.sealed, see sync_report.c */

/*
 * sync_rstate_load -- read the report state, sealed under the "reports"
 * subkey of @km's appliance key (a missing file gives an empty state; a
 * damaged one is logged, set aside as state.sealed.bad and replaced by an
 * empty state).  sync_rstate_save replaces it atomically.  Both return
 * 0 or an error.
 */
int sync_rstate_load(const struct sync_ctx *ctx, keymgr *km,
    struct sync_rstate **out);
int sync_rstate_save(const struct sync_ctx *ctx, struct sync_rstate *rs);
void sync_rstate_free(struct sync_rstate *rs);

/* The newest signature file time the last run saw (ns), and the record
 * of this run, kept in the state. */
uint64_t *sync_rstate_sigseen(struct sync_rstate *rs);

/* sync_rstate_alerts -- the kinds of the open alerts, comma-separated
 * (no names: for the status file sent to the centers). */
void sync_rstate_alerts(const struct sync_rstate *rs, char *buf,
    size_t size);
void sync_rstate_run(struct sync_rstate *rs, uint64_t now,
    const char *result);

struct sync_report_stats {
	unsigned sent, failed, pending, alerts;
};

/*
 * sync_reports_run -- one reporting cycle: take the spool into @rs,
 * evaluate the "unreachable" condition of every target (from @c, the
 * sync state and the delay [mail] unreachable_after), send what is due
 * through [mail] command, journal each mail sent or failed, and save
 * @rs after each step.  Returns 0, or the error of the first mail that
 * failed (the rest stays pending); logged.
 */
int sync_reports_run(const struct sync_ctx *ctx, keymgr *km,
    struct sync_rstate *rs, const struct sync_contact *c, size_t nc,
    struct sync_report_stats *out);

/*
 * sync_mail_test -- mail a test message to [mail] to now, through the
 * transport the reports use ([mail] smtp, else [mail] command), for
 * `maintenance --test-mail`.  Nothing is journaled or kept.
 * @how: receives, for messages, the transport and the recipients
 *   ("SMTP smtps://smtp.example.org:465 to ops@example.org").
 * @err: receives the reason of a failure, one line.
 * Returns 0; 1 when [mail] to is empty; -EINVAL for an unusable From or
 * To, or a wrong SMTP setting; or the error of sync_smtp_send() or
 * bm_mail_send().
 */
int sync_mail_test(const struct sync_ctx *ctx, char *how, size_t howlen,
    char *err, size_t errlen);

#endif /* BEEMO_SYNC_H */
