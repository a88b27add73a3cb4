/*
 * fuzz_sftp.c -- libFuzzer target for the SFTP packet parser of
 * beemo-center serve (sync/center_sftp.c) and its path normalization
 * (serve_norm, sync/center_serve.c).
 *
 * The input is what a hostile appliance's key may send on the session:
 * a stream of packets.  Each complete packet is parsed field by field as
 * the server does for its type (handles, paths, attributes, offsets,
 * data, extension names), and every path is normalized.  Parsing must
 * never read beyond the packet (ASan), overflow (UBSan), accept a packet
 * longer than SFTP_MAX_PACKET, or normalize a path to one that climbs
 * out ("..", a leading "/").
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "center_serve.h"

static struct sftp_in in;

static void
path(struct sftp_msg *m)
{
	char rel[PATH_MAX];
	const uint8_t *s;
	uint32_t len;
	size_t n;

	if (sftp_get_str(m, &s, &len) != 0 ||
	    serve_norm(s, len, rel, sizeof(rel) - 1) != 0)
		return;
	n = strlen(rel);
	if (rel[0] == '/' || !strcmp(rel, "..") || !strncmp(rel, "../", 3) ||
	    strstr(rel, "/../") || (n >= 3 && !strcmp(rel + n - 3, "/..")) ||
	    strstr(rel, "//"))
		abort();
}

static void
fields(uint8_t type, struct sftp_msg *m)
{
	const uint8_t *s;
	uint32_t v, flags;
	uint64_t off;

	if (sftp_get_u32(m, &v) != 0)
		return;
	switch (type) {
	case SSH_FXP_OPEN:
		path(m);
		if (sftp_get_u32(m, &v) == 0)
			(void)sftp_get_attrs(m, &flags);
		break;
	case SSH_FXP_READ:
	case SSH_FXP_WRITE:
		if (sftp_get_str(m, &s, &v) == 0 && sftp_get_u64(m, &off) == 0)
			(void)sftp_get_str(m, &s, &v);
		break;
	case SSH_FXP_SETSTAT:
		path(m);
		(void)sftp_get_attrs(m, &flags);
		break;
	case SSH_FXP_RENAME:
	case SSH_FXP_SYMLINK:
		path(m);
		path(m);
		break;
	case SSH_FXP_EXTENDED:
		if (sftp_get_str(m, &s, &v) == 0) {
			path(m);
			path(m);
		}
		break;
	default:
		path(m);
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sftp_msg m;
	uint8_t type;

	if (size > sizeof(in.buf))
		size = sizeof(in.buf);
	memcpy(in.buf, data, size);
	in.start = 0;
	in.end = size;
	while (sftp_in_next(&in, &type, &m) == 1) {
		if (m.end - m.p > (long)SFTP_MAX_PACKET)
			abort();
		fields(type, &m);
	}
	return 0;
}
