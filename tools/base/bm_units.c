/*
 * bm_units.c -- numbers, sizes and durations (bm_units.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bm_units.h"

int
bm_parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (*s == '\0')
		return -EINVAL;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

/* Parse a number followed by at most one unit letter from @units, whose
 * multipliers are @mult. */
static int
parse_unit(const char *s, const char *units, const uint64_t *mult,
    uint64_t *out)
{
	char num[32];
	size_t n = strlen(s);
	uint64_t v, m = 1;
	const char *u;

	if (n == 0 || n >= sizeof(num))
		return -EINVAL;
	memcpy(num, s, n + 1);
	if ((u = strchr(units, num[n - 1])) != NULL && num[n - 1] != '\0') {
		m = mult[u - units];
		num[n - 1] = '\0';
	}
	if (bm_parse_u64(num, &v) != 0 || (v != 0 && m > UINT64_MAX / v))
		return -EINVAL;
	*out = v * m;
	return 0;
}

int
bm_parse_size(const char *s, uint64_t *out)
{
	static const uint64_t mult[] = {1, 1ULL << 10, 1ULL << 10,
	    1ULL << 20, 1ULL << 20, 1ULL << 30, 1ULL << 30, 1ULL << 40,
	    1ULL << 40};

	return parse_unit(s, "BkKmMgGtT", mult, out);
}

int
bm_parse_duration(const char *s, uint64_t *out)
{
	static const uint64_t mult[] = {1, 60, 3600, 86400};

	return parse_unit(s, "smhd", mult, out);
}

char *
bm_human(char *buf, size_t size, uint64_t bytes)
{
	static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB",
	    "PiB"};
	double v = (double)bytes;
	int i = 0;

	while (v >= 1024 && i < 5) {
		v /= 1024;
		i++;
	}
	if (i == 0)
		snprintf(buf, size, "%llu B", (unsigned long long)bytes);
	else
		snprintf(buf, size, "%.1f %s", v, unit[i]);
	return buf;
}
