/*
 * ctlsock.h -- the control socket of a running beemofs.
 *
 * A backup session owns its machine's store exclusively; operations that
 * beemoctl must run while the machine is mounted (snapshot, status) are
 * asked of the daemon through a Unix socket at STORE/machines/NAME/
 * ctl.sock (mode 0600, only root or the daemon's own user may talk to
 * it).  The protocol is one request line ("snapshot [note]", "status",
 * "sync") answered by text that starts with "ok" or "error", after which
 * the daemon closes the connection.
 */
#ifndef BEEMO_CTLSOCK_H
#define BEEMO_CTLSOCK_H

#include <stddef.h>

struct ctlsock;

/*
 * ctlsock_handler -- answer request @cmd into @reply (NUL-terminated,
 * at most @size bytes).  Runs on the socket's thread, one request at a
 * time.
 */
typedef void (*ctlsock_handler)(void *ctx, const char *cmd, char *reply,
    size_t size);

/* ctlsock_start -- listen on @path (replacing a stale socket) and serve
 * requests with @fn on a thread.  Returns 0 or a negative errno. */
int ctlsock_start(const char *path, ctlsock_handler fn, void *ctx,
    struct ctlsock **out);

/* ctlsock_stop -- stop serving, remove the socket; NULL is a no-op. */
void ctlsock_stop(struct ctlsock *cs);

/*
 * ctlsock_request -- send @cmd to the daemon listening on @path and read
 * its answer into @reply.  Returns 0, -ENOENT/-ECONNREFUSED when no
 * daemon listens there, -ETIMEDOUT after @timeout_ms, or a negative
 * errno.
 */
int ctlsock_request(const char *path, const char *cmd, char *reply,
    size_t size, int timeout_ms);

#endif /* BEEMO_CTLSOCK_H */
