/*
 * scan_proto.h -- the protocol of the antivirus service (beemo-scand(8)).
 *
 * One stream Unix socket, one connection per client thread; on it, one
 * request frame and one reply frame at a time, fixed sizes, integers
 * big-endian, magic and version first.  Requests:
 *
 *   ASK    key, size: is this content's verdict known under the current
 *          signatures?  Reply CLEAN or VIRUS (from the cache), or
 *          UNKNOWN: send the content.
 *   SCAN   key, size, and the content as a sealed memfd passed with
 *          SCM_RIGHTS with the frame's first byte (memfd_create(2),
 *          F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW; the service
 *          refuses any other descriptor).  Reply CLEAN, VIRUS NAME or
 *          ERROR errno.  A key of 32 zero bytes means "no key": no cache.
 *   STATUS reply CLEAN with @text_len bytes of text after the frame:
 *          "name value" lines (scan_client_status()).
 *
 * Every reply carries the signature version (a number that changes at
 * every load of the signatures) and the signature count of the engine
 * that gave it.  A frame of another magic or version ends the
 * connection.
 */
#ifndef BEEMO_SCAN_PROTO_H
#define BEEMO_SCAN_PROTO_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#define SCAN_PROTO_VERSION 1
#define SCAN_PROTO_REQ_MAGIC "BMSQ"
#define SCAN_PROTO_REP_MAGIC "BMSA"
#define SCAN_PROTO_SOCKET "/run/beemo/scand.sock"

enum scan_proto_op {
	SCAN_OP_ASK = 1,
	SCAN_OP_SCAN = 2,
	SCAN_OP_STATUS = 3,
};

enum scan_proto_status {
	SCAN_ST_CLEAN = 0,
	SCAN_ST_VIRUS = 1,
	SCAN_ST_ERROR = 2,
	SCAN_ST_UNKNOWN = 3,
};

struct scan_proto_req {
	uint8_t magic[4];   /* SCAN_PROTO_REQ_MAGIC */
	uint8_t version;    /* SCAN_PROTO_VERSION */
	uint8_t op;         /* scan_proto_op */
	uint8_t pad[2];     /* zero */
	uint8_t size[8];    /* content bytes */
	uint8_t key[32];    /* store_scan_src.key */
};
static_assert(sizeof(struct scan_proto_req) == 48, "request frame");

struct scan_proto_rep {
	uint8_t magic[4];   /* SCAN_PROTO_REP_MAGIC */
	uint8_t version;    /* SCAN_PROTO_VERSION */
	uint8_t status;     /* scan_proto_status */
	uint8_t pad[2];     /* zero */
	uint8_t err[4];     /* ERROR: a positive errno */
	uint8_t text_len[4]; /* STATUS: bytes of text after the frame */
	uint8_t sigver[8];  /* signature version */
	uint8_t sigs[8];    /* signatures in that engine */
	char name[128];     /* VIRUS: the signature's name, NUL-padded */
};
static_assert(sizeof(struct scan_proto_rep) == 160, "reply frame");

/*
 * scan_proto_send -- write all @len bytes of @buf to socket @fd, with
 * descriptor @pass (SCM_RIGHTS) on the first byte when >= 0.  No
 * SIGPIPE.  Returns 0 or a negative errno (-EPIPE: the peer is gone).
 */
int scan_proto_send(int fd, const void *buf, size_t len, int pass);

/*
 * scan_proto_recv -- read exactly @len bytes into @buf from socket @fd.
 * @passed: when non-NULL, receives a descriptor that came with the
 *   bytes (close-on-exec), or -1; extra descriptors are closed.  NULL:
 *   any descriptor received is closed.
 * Returns 0; -ECONNRESET when the peer closed first (before any byte:
 * -ENODATA, the end of a connection between frames); a negative errno.
 */
int scan_proto_recv(int fd, void *buf, size_t len, int *passed);

#endif /* BEEMO_SCAN_PROTO_H */
