/*
 * center_sftp.c -- SFTP packets of beemo-center serve: bounded parsing
 * and buffered replies (center_sftp.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "center_sftp.h"

int
sftp_get_u8(struct sftp_msg *m, uint8_t *v)
{
	if (m->end - m->p < 1)
		return -1;
	*v = *m->p++;
	return 0;
}

int
sftp_get_u32(struct sftp_msg *m, uint32_t *v)
{
	if (m->end - m->p < 4)
		return -1;
	*v = (uint32_t)m->p[0] << 24 | (uint32_t)m->p[1] << 16 |
	    (uint32_t)m->p[2] << 8 | m->p[3];
	m->p += 4;
	return 0;
}

int
sftp_get_u64(struct sftp_msg *m, uint64_t *v)
{
	uint32_t hi, lo;

	if (sftp_get_u32(m, &hi) != 0 || sftp_get_u32(m, &lo) != 0)
		return -1;
	*v = (uint64_t)hi << 32 | lo;
	return 0;
}

int
sftp_get_str(struct sftp_msg *m, const uint8_t **s, uint32_t *len)
{
	if (sftp_get_u32(m, len) != 0 || (size_t)(m->end - m->p) < *len)
		return -1;
	*s = m->p;
	m->p += *len;
	return 0;
}

int
sftp_get_attrs(struct sftp_msg *m, uint32_t *flags)
{
	const uint8_t *s;
	uint32_t v, n, i;
	uint64_t size;

	if (sftp_get_u32(m, flags) != 0)
		return -1;
	if ((*flags & SSH_FILEXFER_ATTR_SIZE) && sftp_get_u64(m, &size) != 0)
		return -1;
	if ((*flags & SSH_FILEXFER_ATTR_UIDGID) &&
	    (sftp_get_u32(m, &v) != 0 || sftp_get_u32(m, &v) != 0))
		return -1;
	if ((*flags & SSH_FILEXFER_ATTR_PERMISSIONS) &&
	    sftp_get_u32(m, &v) != 0)
		return -1;
	if ((*flags & SSH_FILEXFER_ATTR_ACMODTIME) &&
	    (sftp_get_u32(m, &v) != 0 || sftp_get_u32(m, &v) != 0))
		return -1;
	if (!(*flags & SSH_FILEXFER_ATTR_EXTENDED))
		return 0;
	if (sftp_get_u32(m, &n) != 0)
		return -1;
	for (i = 0; i < n; i++)
		if (sftp_get_str(m, &s, &v) != 0 ||
		    sftp_get_str(m, &s, &v) != 0)
			return -1;
	return 0;
}

int
sftp_in_next(struct sftp_in *in, uint8_t *type, struct sftp_msg *m)
{
	size_t avail = in->end - in->start;
	const uint8_t *p = in->buf + in->start;
	uint32_t len;

	if (avail < 4)
		return 0;
	len = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
	if (len < 1 || len > SFTP_MAX_PACKET)
		return -1;
	if (avail < 4 + (size_t)len)
		return 0;
	*type = p[4];
	m->p = p + 5;
	m->end = p + 4 + len;
	in->start += 4 + (size_t)len;
	return 1;
}

int
sftp_in_fill(struct sftp_in *in)
{
	ssize_t n;

	if (in->start > 0) {
		memmove(in->buf, in->buf + in->start, in->end - in->start);
		in->end -= in->start;
		in->start = 0;
	}
	do
		n = read(in->fd, in->buf + in->end, sizeof(in->buf) - in->end);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	in->end += (size_t)n;
	return n > 0;
}

int
sftp_flush(struct sftp_out *o)
{
	size_t done = 0;
	ssize_t n;

	while (o->err == 0 && done < o->len) {
		n = write(o->fd, o->buf + done, o->len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			o->err = n < 0 ? -errno : -EPIPE;
		else
			done += (size_t)n;
	}
	o->len = 0;
	return o->err;
}

static void
put_raw(struct sftp_out *o, const void *p, size_t len)
{
	memcpy(o->buf + o->len, p, len);
	o->len += len;
}

void
sftp_put_u32(struct sftp_out *o, uint32_t v)
{
	uint8_t b[4] = {v >> 24, v >> 16, v >> 8, v};

	put_raw(o, b, 4);
}

void
sftp_put_u64(struct sftp_out *o, uint64_t v)
{
	sftp_put_u32(o, (uint32_t)(v >> 32));
	sftp_put_u32(o, (uint32_t)v);
}

void
sftp_put_str(struct sftp_out *o, const void *s, size_t len)
{
	sftp_put_u32(o, (uint32_t)len);
	put_raw(o, s, len);
}

void
sftp_put_cstr(struct sftp_out *o, const char *s)
{
	sftp_put_str(o, s, strlen(s));
}

void
sftp_begin_version(struct sftp_out *o, uint32_t version)
{
	if (SFTP_OUT_SIZE - o->len < SFTP_MAX_PACKET + 64)
		(void)sftp_flush(o);
	o->mark = o->len;
	o->len += 4;
	o->buf[o->len++] = SSH_FXP_VERSION;
	sftp_put_u32(o, version);
}

void
sftp_begin(struct sftp_out *o, uint8_t type, uint32_t id)
{
	if (SFTP_OUT_SIZE - o->len < SFTP_MAX_PACKET + 64)
		(void)sftp_flush(o);
	o->mark = o->len;
	o->len += 4;
	o->buf[o->len++] = type;
	sftp_put_u32(o, id);
}

uint8_t *
sftp_reserve(struct sftp_out *o)
{
	return o->buf + o->len;
}

void
sftp_cancel(struct sftp_out *o)
{
	o->len = o->mark;
}

void
sftp_commit(struct sftp_out *o, size_t len)
{
	o->len += len;
}

void
sftp_end(struct sftp_out *o)
{
	uint32_t len = (uint32_t)(o->len - o->mark - 4);
	uint8_t *p = o->buf + o->mark;

	p[0] = len >> 24;
	p[1] = len >> 16;
	p[2] = len >> 8;
	p[3] = len;
}

void
sftp_put_attrs(struct sftp_out *o, const struct stat *st)
{
	sftp_put_u32(o, SSH_FILEXFER_ATTR_SIZE | SSH_FILEXFER_ATTR_UIDGID |
	    SSH_FILEXFER_ATTR_PERMISSIONS | SSH_FILEXFER_ATTR_ACMODTIME);
	sftp_put_u64(o, (uint64_t)st->st_size);
	sftp_put_u32(o, (uint32_t)st->st_uid);
	sftp_put_u32(o, (uint32_t)st->st_gid);
	sftp_put_u32(o, (uint32_t)st->st_mode);
	sftp_put_u32(o, (uint32_t)st->st_atime);
	sftp_put_u32(o, (uint32_t)st->st_mtime);
}

void
sftp_status(struct sftp_out *o, uint32_t id, uint32_t code,
    const char *text)
{
	sftp_begin(o, SSH_FXP_STATUS, id);
	sftp_put_u32(o, code);
	sftp_put_cstr(o, text);
	sftp_put_cstr(o, "en");
	sftp_end(o);
}

void
sftp_longname(char *buf, size_t len, const char *name, const struct stat *st)
{
	char mode[11] = "----------", when[20];
	struct tm tm;
	time_t t = st->st_mtime;

	if (S_ISDIR(st->st_mode))
		mode[0] = 'd';
	else if (S_ISLNK(st->st_mode))
		mode[0] = 'l';
	else if (!S_ISREG(st->st_mode))
		mode[0] = '?';
	for (int i = 0; i < 9; i++)
		if (st->st_mode & (0400 >> i))
			mode[1 + i] = "rwxrwxrwx"[i];
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%b %e %H:%M", &tm);
	snprintf(buf, len, "%s %3lu %-8u %-8u %12llu %s %s", mode,
	    (unsigned long)st->st_nlink, (unsigned)st->st_uid,
	    (unsigned)st->st_gid, (unsigned long long)st->st_size, when,
	    name);
}
