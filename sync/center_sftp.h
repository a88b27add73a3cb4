/*
 * center_sftp.h -- the SFTP version 3 wire format for beemo-center serve
 * (draft-ietf-secsh-filexfer-02 and the OpenSSH extensions it offers).
 *
 * Design.  A session reads packets from standard input into one buffer
 * (struct sftp_in) and parses each in place: struct sftp_msg is a cursor
 * over one packet's body whose getters fail (return -1) instead of ever
 * reading beyond the packet, so a malformed packet is answered with
 * SSH_FX_BAD_MESSAGE and nothing else.  A packet longer than
 * SFTP_MAX_PACKET ends the session.  Replies are appended to one output
 * buffer (struct sftp_out) that is written to standard output only when
 * no complete request is waiting, so that a client's pipelined requests
 * are answered in large writes.  Neither buffer grows beyond its fixed
 * size, and nothing is allocated per packet.
 *
 * Not thread-safe; one session per process.
 */
#ifndef BEEMO_CENTER_SFTP_H
#define BEEMO_CENTER_SFTP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#define SFTP_MAX_PACKET (256u * 1024)       /* length field, at most */
#define SFTP_MAX_DATA (SFTP_MAX_PACKET - 1024) /* READ and WRITE bytes */
#define SFTP_IN_SIZE (4u * SFTP_MAX_PACKET)
#define SFTP_OUT_SIZE (4u * SFTP_MAX_PACKET)

enum {
	SSH_FXP_INIT = 1, SSH_FXP_VERSION, SSH_FXP_OPEN, SSH_FXP_CLOSE,
	SSH_FXP_READ, SSH_FXP_WRITE, SSH_FXP_LSTAT, SSH_FXP_FSTAT,
	SSH_FXP_SETSTAT, SSH_FXP_FSETSTAT, SSH_FXP_OPENDIR, SSH_FXP_READDIR,
	SSH_FXP_REMOVE, SSH_FXP_MKDIR, SSH_FXP_RMDIR, SSH_FXP_REALPATH,
	SSH_FXP_STAT, SSH_FXP_RENAME, SSH_FXP_READLINK, SSH_FXP_SYMLINK,
	SSH_FXP_STATUS = 101, SSH_FXP_HANDLE, SSH_FXP_DATA, SSH_FXP_NAME,
	SSH_FXP_ATTRS, SSH_FXP_EXTENDED = 200, SSH_FXP_EXTENDED_REPLY,
};

enum {
	SSH_FX_OK, SSH_FX_EOF, SSH_FX_NO_SUCH_FILE, SSH_FX_PERMISSION_DENIED,
	SSH_FX_FAILURE, SSH_FX_BAD_MESSAGE, SSH_FX_NO_CONNECTION,
	SSH_FX_CONNECTION_LOST, SSH_FX_OP_UNSUPPORTED,
};

#define SSH_FXF_READ 0x01
#define SSH_FXF_WRITE 0x02
#define SSH_FXF_APPEND 0x04
#define SSH_FXF_CREAT 0x08
#define SSH_FXF_TRUNC 0x10
#define SSH_FXF_EXCL 0x20

#define SSH_FILEXFER_ATTR_SIZE 0x01
#define SSH_FILEXFER_ATTR_UIDGID 0x02
#define SSH_FILEXFER_ATTR_PERMISSIONS 0x04
#define SSH_FILEXFER_ATTR_ACMODTIME 0x08
#define SSH_FILEXFER_ATTR_EXTENDED 0x80000000u

/* A cursor over one packet's body (after its length and type). */
struct sftp_msg {
	const uint8_t *p, *end;
};

/* sftp_get_*: take the next field of @m into the output; 0, or -1 when
 * the packet ends first (@m is then unusable).  A string is returned as
 * a pointer into the packet and its length (not NUL-terminated).
 * sftp_get_attrs skips an ATTRS structure, keeping only its flags. */
int sftp_get_u8(struct sftp_msg *m, uint8_t *v);
int sftp_get_u32(struct sftp_msg *m, uint32_t *v);
int sftp_get_u64(struct sftp_msg *m, uint64_t *v);
int sftp_get_str(struct sftp_msg *m, const uint8_t **s, uint32_t *len);
int sftp_get_attrs(struct sftp_msg *m, uint32_t *flags);

/* Standard input, buffered. */
struct sftp_in {
	int fd;
	size_t start, end; /* unparsed bytes: buf[start, end) */
	uint8_t buf[SFTP_IN_SIZE];
};

/*
 * sftp_in_next -- the next complete packet of @in: its type in @type and
 * its body in @m.  Returns 1 (a packet), 0 (none complete in the buffer:
 * call sftp_in_fill), or -1 (a packet over SFTP_MAX_PACKET or empty).
 * sftp_in_fill reads more: 1 (read something), 0 (end of input), or a
 * negative errno.
 */
int sftp_in_next(struct sftp_in *in, uint8_t *type, struct sftp_msg *m);
int sftp_in_fill(struct sftp_in *in);

/* Standard output, buffered.  A reply is built with sftp_begin(), the
 * sftp_put_* of its fields and sftp_end(); sftp_begin flushes first when
 * less than SFTP_MAX_PACKET + 64 bytes are free, so one reply always
 * fits.  sftp_flush writes everything: 0 or a negative errno (kept in
 * @err; later calls then do nothing). */
struct sftp_out {
	int fd, err;
	size_t len, mark;
	uint8_t buf[SFTP_OUT_SIZE];
};

void sftp_begin(struct sftp_out *o, uint8_t type, uint32_t id);
void sftp_begin_version(struct sftp_out *o, uint32_t version);
void sftp_put_u32(struct sftp_out *o, uint32_t v);
void sftp_put_u64(struct sftp_out *o, uint64_t v);
void sftp_put_str(struct sftp_out *o, const void *s, size_t len);
void sftp_put_cstr(struct sftp_out *o, const char *s);
void sftp_put_attrs(struct sftp_out *o, const struct stat *st);
/* sftp_reserve: where the next field is built in place (there is room
 * for SFTP_MAX_PACKET bytes); sftp_commit: @len bytes were written
 * there.  sftp_cancel drops the reply begun last. */
uint8_t *sftp_reserve(struct sftp_out *o);
void sftp_commit(struct sftp_out *o, size_t len);
void sftp_cancel(struct sftp_out *o);
void sftp_end(struct sftp_out *o);
int sftp_flush(struct sftp_out *o);

/* A STATUS reply with @code and @text. */
void sftp_status(struct sftp_out *o, uint32_t id, uint32_t code,
    const char *text);

/* sftp_longname: the `ls -l` line of @name with @st into @buf. */
void sftp_longname(char *buf, size_t len, const char *name,
    const struct stat *st);

#endif /* BEEMO_CENTER_SFTP_H */
