/*
 * bm_jentry.c -- the encoding of a journal entry (bm_jentry.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bm_bytes.h"
#include "bm_err.h"
#include "bm_jentry.h"

#define ENTRY_VERSION 1

int
bm_jentry_encode(const char *type, const char *who, const char *summary,
    const char *const *files, size_t nfiles, uint8_t **out, size_t *outlen)
{
	size_t tl = strlen(type), wl = who ? strlen(who) : 0;
	size_t sl = summary ? strlen(summary) : 0, len, i;
	uint8_t *b, *p;

	if (tl == 0 || tl > 255 || wl > 65535)
		return -EINVAL;
	len = 1 + 1 + tl + 2 + wl + 4 + sl + 4;
	for (i = 0; i < nfiles; i++) {
		if (strlen(files[i]) > 65535)
			return -ENAMETOOLONG;
		len += 2 + strlen(files[i]);
	}
	if ((b = p = malloc(len)) == NULL)
		return -ENOMEM;
	*p++ = ENTRY_VERSION;
	*p++ = (uint8_t)tl;
	memcpy(p, type, tl);
	p += tl;
	/* who and summary may be NULL: no memcpy from a null pointer. */
	bm_be16enc(p, (uint16_t)wl);
	if (wl > 0)
		memcpy(p + 2, who, wl);
	p += 2 + wl;
	bm_be32enc(p, (uint32_t)sl);
	if (sl > 0)
		memcpy(p + 4, summary, sl);
	p += 4 + sl;
	bm_be32enc(p, (uint32_t)nfiles);
	p += 4;
	for (i = 0; i < nfiles; i++) {
		size_t fl = strlen(files[i]);

		bm_be16enc(p, (uint16_t)fl);
		memcpy(p + 2, files[i], fl);
		p += 2 + fl;
	}
	*out = b;
	*outlen = len;
	return 0;
}

/* Take one length-prefixed string of @lenbytes (1, 2 or 4) at *@off. */
static int
take(const uint8_t *p, size_t len, size_t *off, int lenbytes, char **s,
    const char **dst)
{
	size_t n;

	if (len - *off < (size_t)lenbytes)
		return BEEMO_EFORMAT;
	n = lenbytes == 1 ? p[*off] : lenbytes == 2 ?
	    bm_be16dec(p + *off) : bm_be32dec(p + *off);
	*off += (size_t)lenbytes;
	if (len - *off < n)
		return BEEMO_EFORMAT;
	*dst = *s;
	memcpy(*s, p + *off, n);
	*s += n;
	*(*s)++ = '\0';
	*off += n;
	return 0;
}

int
bm_jentry_decode(const uint8_t *p, size_t len, struct bm_jentry *d)
{
	size_t off = 1, i;
	uint32_t nfiles;
	char *s;
	int rc;

	memset(d, 0, sizeof(*d));
	if (len < 2 || p[0] != ENTRY_VERSION)
		return len < 2 ? BEEMO_EFORMAT : BEEMO_EVERSION;
	/* Every string is shorter than the record: len bytes suffice for
	 * the characters, and one NUL per length prefix (>= 2 bytes). */
	if ((s = d->strings = malloc(2 * len + 4)) == NULL)
		return -ENOMEM;
	if ((rc = take(p, len, &off, 1, &s, &d->type)) != 0 ||
	    (rc = take(p, len, &off, 2, &s, &d->who)) != 0 ||
	    (rc = take(p, len, &off, 4, &s, &d->summary)) != 0)
		return rc;
	if (len - off < 4)
		return BEEMO_EFORMAT;
	nfiles = bm_be32dec(p + off);
	off += 4;
	if (nfiles > (len - off) / 2)
		return BEEMO_EFORMAT;
	if ((d->files = calloc(nfiles + 1, sizeof(*d->files))) == NULL)
		return -ENOMEM;
	for (i = 0; i < nfiles; i++)
		if ((rc = take(p, len, &off, 2, &s, &d->files[i])) != 0)
			return rc;
	if (off != len)
		return BEEMO_EFORMAT;
	d->nfiles = nfiles;
	return 0;
}

void
bm_jentry_free(struct bm_jentry *d)
{
	free(d->strings);
	free(d->files);
	memset(d, 0, sizeof(*d));
}
