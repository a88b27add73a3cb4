/*
 * bm_fdio.h -- whole reads and writes on a descriptor, with a deadline
 * (base library, see bm_err.h): the requests that cross a socket or a
 * pipe between Beemo's processes (beemo-sessiond and the beemofs of a
 * session, the client's SSH channel).
 */
#ifndef BEEMO_BM_FDIO_H
#define BEEMO_BM_FDIO_H

#include <stddef.h>

/* bm_write_all -- write all @len bytes of @buf to @fd, retrying on
 * EINTR and short writes.  Returns 0 or a negative errno. */
int bm_write_all(int fd, const void *buf, size_t len);

/*
 * bm_read_full -- read exactly @len bytes from @fd into @buf, waiting
 * at most @ms milliseconds for all of them (-1: forever): a peer that
 * sends a byte now and then gets no longer.  Returns 0,
 * -EPIPE (end of file first), -ETIMEDOUT or a negative errno.
 */
int bm_read_full(int fd, void *buf, size_t len, int ms);

/*
 * bm_read_line -- read one line from @fd, a byte at a time so that
 * nothing after its newline is consumed, into @buf of @size
 * (NUL-terminated, without the newline), waiting at most @ms
 * milliseconds for the whole line (-1: forever).  Returns 0, -EPIPE,
 * -ETIMEDOUT, -E2BIG (no newline within @size - 1 bytes) or a negative
 * errno.
 */
int bm_read_line(int fd, char *buf, size_t size, int ms);

#endif /* BEEMO_BM_FDIO_H */
