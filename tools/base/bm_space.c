/*
 * bm_space.c -- the free-space policy of the store (bm_space.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "bm_space.h"
#include "bm_units.h"

#define MIB (1024ULL * 1024)

int
bm_space_share(const char *v, unsigned *percent)
{
	char *end;
	unsigned long n;

	if (v == NULL || *v < '0' || *v > '9')
		return 0;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno != 0 || strcmp(end, "%") != 0 || n > 100)
		return 0;
	*percent = (unsigned)n;
	return 1;
}

/* A size key of [store], or @def when absent or malformed. */
static uint64_t
size_key(const bm_conf *conf, const char *key, uint64_t def)
{
	const char *v = conf ? bm_conf_get(conf, "store", NULL, key, NULL) :
	    NULL;
	uint64_t x;

	return v != NULL && bm_parse_size(v, &x) == 0 ? x : def;
}

void
bm_space_limits(const bm_conf *conf, uint64_t size, struct bm_space *out)
{
	const char *v = conf ? bm_conf_get(conf, "store", NULL,
	    "machine_quota", NULL) : NULL;
	uint64_t r = size / 100, x;
	unsigned pct = 50;

	memset(out, 0, sizeof(*out));
	out->size = size;
	if (r < 8 * MIB)
		r = 8 * MIB;
	if (r > 1024 * MIB)
		r = 1024 * MIB;
	out->reserve = size_key(conf, "reserve", r);
	if (out->reserve > size)
		out->reserve = size;
	x = size / 10 > 2 * out->reserve ? size / 10 : 2 * out->reserve;
	out->alert = size_key(conf, "space_alert", x);
	if (out->alert > size)
		out->alert = size;
	if (v != NULL && !bm_space_share(v, &pct)) {
		out->machine_quota = bm_parse_size(v, &x) == 0 ? x :
		    size / 100 * 50;
		return;
	}
	out->machine_quota = size / 100 * pct;
}

int
bm_space_get(const bm_conf *conf, const char *path, struct bm_space *out)
{
	struct statvfs v;
	uint64_t avail;

	if (statvfs(path, &v) != 0)
		return -errno;
	avail = (uint64_t)v.f_bavail * v.f_frsize;
	bm_space_limits(conf, (uint64_t)v.f_blocks * v.f_frsize, out);
	out->avail = avail;
	out->state = avail < out->reserve + BM_SPACE_WRITE ? BM_SPACE_FULL :
	    avail < out->alert ? BM_SPACE_LOW : BM_SPACE_OK;
	return 0;
}

const char *
bm_space_state_name(enum bm_space_state s)
{
	return s == BM_SPACE_FULL ? "full" : s == BM_SPACE_LOW ? "low" : "ok";
}
