/*
 * control.h -- the control protocol of a running beemofs.
 *
 * A backup session owns its machine's store exclusively.  What other
 * programs must do to a mounted machine (take a snapshot, list them,
 * journal a restore, read the live figures, change the quota) they ask of
 * the daemon through the Unix socket STORE/machines/NAME/ctl.sock (mode
 * 0600).  This module is the whole protocol: the daemon's side
 * (control_server_*: one request table, the daemon registers one handler
 * per request) and one typed call per request for beemoctl, beemo-sync and
 * the restore sessions of beemofs (control_<request>).  No other code
 * formats or parses what travels on the socket.
 *
 * Wire format.  Every message is a frame: a big-endian 32-bit length N
 * (1 <= N <= CONTROL_FRAME_MAX) and N bytes.  A connection carries three
 * frames, then the daemon closes it:
 *
 *   hello    daemon -> client   "BEEMOCTL", be32 version (1), 32 random
 *                               bytes: the challenge of this connection
 *   request  client -> daemon   u8 length and the request's name, be16
 *                               length and the proof (0 or
 *                               KEYMGR_SIG_LEN bytes), the arguments (the
 *                               rest of the frame)
 *   answer   daemon -> client   u8 0 and the answer's body (the rest), or
 *                               u8 1, be32 the error code negated (an
 *                               errno or a BEEMO_* code) and a message
 *                               (UTF-8, the rest)
 *
 * Requests, their arguments and answers (beemofs(8), CONTROL SOCKET):
 *
 *   snapshot   args: u8 flags (1: only if the live tree changed,
 *              store_snapshot_take), u8 length and the note (0-127
 *              bytes), u8 count and per tag u8 length and the tag (at
 *              most STORE_SNAP_TAGS, each store_tag_valid()).
 *              answer: be32 the snapshot's id, u8 1 if it was taken, 0
 *              if nothing changed since that one.
 *   snapshots  args: none.  answer: be32 count, then per snapshot be32
 *              id, be64 seq, be64 time (ns), be64 files, be64 bytes, u8
 *              length and the note, u8 count and per tag u8 length and
 *              the tag.
 *   tag        args: be32 the snapshot's id, u8 1 to add the tag or 0 to
 *              remove it, the tag (the rest).  answer: empty.
 *   journal    args: one journal entry in its one binary encoding
 *              (bm_jentry_encode): any byte but NUL in any field.
 *              answer: empty.
 *   sync       args: none.  answer: empty (the store is durable).
 *   status     args: none.  answer: the session's state as JSON.
 *   stats      args: none.  answer: the machine status (bm_mstatus_json).
 *   quota-set  args: u8 flags (1: soft given, 2: hard given), be64 soft,
 *              be64 hard (bytes, 0: no limit).  answer: empty.
 *              Administrator only.
 *
 * Authorization.  The daemon answers only peers running as root or as its
 * own user (SO_PEERCRED); others are disconnected without an answer.  A
 * request marked "administrator only" must also carry a proof: the
 * client unlocks ADMIN_PRIV with the administrator's password
 * (keymgr_admin_key_unlock, before it connects) and signs
 * (keymgr_admin_key_sign, label "control") the connection's challenge
 * followed by the request frame without its proof field; the daemon
 * checks it with ADMIN_PUB (keymgr_admin_verify).  The password never
 * leaves the client; the challenge is fresh for every connection, so a
 * proof cannot be replayed, nor moved to another request.
 *
 * Limits.  CONTROL_FRAME_MAX (64 MiB) holds the largest journal entry a
 * restore makes (10000 paths of PATH_MAX bytes); a bigger frame is
 * refused by both sides (-EMSGSIZE).  The daemon waits at most
 * CONTROL_IO_MS for each part of a request and serves one connection at
 * a time on its own thread.
 */
#ifndef BEEMO_CONTROL_H
#define BEEMO_CONTROL_H

#include <stddef.h>
#include <stdint.h>

#include "keymgr.h"
#include "store.h"

#define CONTROL_FRAME_MAX (64U << 20)
#define CONTROL_IO_MS 5000
#define CONTROL_VERSION 1
#define CONTROL_CHALLENGE_LEN 32
#define CONTROL_NOTE_MAX 127
#define CONTROL_QUOTA_SOFT 1 /* flags of a quota-set request */
#define CONTROL_QUOTA_HARD 2

/* ---- framing (used by both sides; exposed for tests) ----------------- */

/*
 * control_frame_write -- send @len bytes of @p as one frame on @fd.
 * Returns 0, -EMSGSIZE (@len is 0 or over CONTROL_FRAME_MAX), -EPIPE
 * (the peer is gone), or a negative errno.
 */
int control_frame_write(int fd, const uint8_t *p, size_t len);

/*
 * control_frame_read -- read one frame from @fd, waiting at most
 * @timeout_ms for each read.  The buffer grows with the bytes received,
 * never with the announced length alone.
 * @out: receives a malloc'd copy (caller frees) of @len bytes.
 * Returns 0, -EMSGSIZE (announced length 0 or over CONTROL_FRAME_MAX),
 * -EPROTO (the peer closed inside the frame), -ECONNRESET (closed before
 * the frame began), -ETIMEDOUT, or a negative errno.
 */
int control_frame_read(int fd, int timeout_ms, uint8_t **out, size_t *len);

/* ---- the daemon's side ---------------------------------------------- */

/*
 * The daemon's handlers, one per request; @ctx is the pointer given to
 * control_server_start().  Each returns 0 or an error code; when it
 * fails it may write a message for the client into @msg (@msgsize bytes,
 * preset to ""): an empty message is sent as beemo_strerror() of the
 * code.  They run on the socket's thread, one at a time.  Every
 * handler must be set.
 */
struct control_quota {
	int set_soft, set_hard; /* which limits the request changes */
	uint64_t soft, hard;    /* bytes; 0: no limit */
};
struct control_handlers {
	/* @want: the note and tags; @if_changed, @id, @created: as
	 * store_snapshot_take(). */
	int (*snapshot)(void *ctx, const struct store_snapinfo *want,
	    int if_changed, uint32_t *id, int *created);
	/* @v: receives a malloc'd array of @n (freed by the server). */
	int (*snapshots)(void *ctx, struct store_snapinfo **v, size_t *n);
	/* @e: valid during the call. */
	int (*journal)(void *ctx, const struct store_journal_entry *e);
	int (*sync)(void *ctx);
	/* @json: receives a malloc'd NUL-terminated text (freed by the
	 * server). */
	int (*status)(void *ctx, char **json);
	int (*stats)(void *ctx, char **json);
	/* Called only once the administrator's proof is verified. */
	int (*quota_set)(void *ctx, const struct control_quota *q, char *msg,
	    size_t msgsize);
	/* As store_snapshot_tag(). */
	int (*tag)(void *ctx, uint32_t id, const char *tag, int add);
};

struct control_server;

/*
 * control_server_start -- listen on @path (replacing a stale socket: the
 * caller holds the store's lock) with mode 0600 and serve the requests
 * with @h on a thread of its own.  @km (borrowed for the server's
 * lifetime, and used on its thread: the caller must not use it while
 * the server runs) reads ADMIN_PUB to check administrator proofs.
 * @out: receives the server; stop it with control_server_stop().
 * Returns 0, -ENAMETOOLONG, or a negative errno.
 */
int control_server_start(const char *path, const struct control_handlers *h,
    void *ctx, keymgr *km, struct control_server **out);

/* control_server_stop -- stop serving (waits for the request being
 * served), remove the socket, free; NULL is a no-op. */
void control_server_stop(struct control_server *cs);

/* ---- the clients' calls --------------------------------------------- */

/*
 * A client names the daemon by its socket.  Every call below opens one
 * connection, sends one request and reads its answer, and returns:
 *   0             the daemon did it;
 *   -ENOTCONN     no daemon listens on that socket (no machine mounted
 *                 for backup);
 *   -ETIMEDOUT    no answer within @timeout_ms;
 *   the daemon's error code, with its message in @error;
 *   another negative errno (transport, malformed answer), described in
 *   @error too.
 * A struct control_client is not shared between threads.
 */
struct control_client {
	char path[108];  /* the socket */
	int timeout_ms;  /* for each read of the answer */
	char error[512]; /* the last failure, for people */
};

/*
 * control_client_init -- point @c at the daemon of @machine in the store
 * directory @store (STORE/machines/NAME/ctl.sock), or at the socket @store
 * itself when @machine is NULL.  Returns 0 or -ENAMETOOLONG.
 */
int control_client_init(struct control_client *c, const char *store,
    const char *machine, int timeout_ms);

/* control_snapshot -- take a snapshot with @note (NULL or at most
 * CONTROL_NOTE_MAX bytes, else -EINVAL); @id receives its id. */
int control_snapshot(struct control_client *c, const char *note,
    uint32_t *id);

/* control_snapshot_take -- store_snapshot_take() in the daemon: the
 * note and tags of @want (-EINVAL for a note over CONTROL_NOTE_MAX
 * bytes or an invalid tag), @if_changed; @id and @created receive its
 * answer. */
int control_snapshot_take(struct control_client *c,
    const struct store_snapinfo *want, int if_changed, uint32_t *id,
    int *created);

/* control_snapshot_tag -- store_snapshot_tag() in the daemon. */
int control_snapshot_tag(struct control_client *c, uint32_t id,
    const char *tag, int add);

/* control_snapshots -- the snapshots; @v receives a malloc'd array of
 * @n (caller frees). */
int control_snapshots(struct control_client *c, struct store_snapinfo **v,
    size_t *n);

/* control_journal_append -- append @e to the machine's journal (its
 * time is the daemon's).  An entry whose encoding exceeds the frame
 * gives -EMSGSIZE. */
int control_journal_append(struct control_client *c,
    const struct store_journal_entry *e);

/* control_sync -- make everything written so far durable. */
int control_sync(struct control_client *c);

/* control_status / control_stats -- the session's state, the machine
 * status: @json receives malloc'd NUL-terminated JSON (caller frees). */
int control_status(struct control_client *c, char **json);
int control_stats(struct control_client *c, char **json);

/*
 * control_quota_set -- change the limits @q names.  Administrator only:
 * @admin (keymgr_admin_key_unlock with the administrator's password)
 * signs the connection's challenge and the request; NULL sends the
 * request without a proof, which the daemon refuses with -EACCES.
 */
int control_quota_set(struct control_client *c, keymgr_admin_key *admin,
    const struct control_quota *q);

/*
 * control_journal_record -- append @e to the journal of the machine
 * whose store is @dir, from a process that does not own it read-write
 * (a restore session, beemoctl restore): through the daemon when one
 * listens on DIR/ctl.sock, whatever the entry's size, else by opening
 * the store read-write with @s for the time of the append.
 * @error: when not NULL, receives the daemon's message on failure.
 * Returns 0, BEEMO_ELOCKED (the store is owned by a process that does
 * not answer), an error of the daemon or of the store, or a negative
 * errno.
 */
int control_journal_record(const char *dir, const keymgr_secret *s,
    const struct store_journal_entry *e, char *error, size_t errsize);

#endif /* BEEMO_CONTROL_H */
