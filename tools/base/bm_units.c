/*
 * bm_units.c -- numbers, sizes and durations (bm_units.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bm_units.h"

/* A size's fraction has at most six digits, so that the fraction
 * (below 10^6) times the largest multiplier (2^40) fits in 64 bits. */
#define FRAC_SCALE_MAX 1000000

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

/* Read the decimal digits at *@s (at least one) into @v, advancing *@s;
 * -EINVAL on overflow or when there is no digit. */
static int
digits(const char **s, uint64_t *v)
{
	const char *p = *s;

	*v = 0;
	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (*v > (UINT64_MAX - 9) / 10)
			return -EINVAL;
		*v = *v * 10 + (uint64_t)(*p - '0');
	}
	*s = p;
	return 0;
}

/* The multiplier of a size's unit @u (the whole rest of the string), 0
 * when it is not one.  A letter alone or followed by "iB" counts in
 * powers of 1024, followed by "B" in powers of 1000. */
static uint64_t
size_unit(const char *u)
{
	static const char letters[] = "kmgt";
	const char *l;
	uint64_t iec = 1, si = 1;
	char c = *u;

	if (*u == '\0' || strcmp(u, "B") == 0)
		return 1;
	if (c >= 'A' && c <= 'Z')
		c = (char)(c - 'A' + 'a');
	if ((l = strchr(letters, c)) == NULL)
		return 0;
	for (int i = 0; i <= l - letters; i++) {
		iec *= 1024;
		si *= 1000;
	}
	if (u[1] == '\0' || strcmp(u + 1, "iB") == 0)
		return iec;
	if (strcmp(u + 1, "B") == 0)
		return si;
	return 0;
}

int
bm_parse_size(const char *s, uint64_t *out)
{
	uint64_t v, m, frac = 0, scale = 1;

	if (digits(&s, &v) != 0)
		return -EINVAL;
	if (*s == '.') {
		s++;
		if (*s < '0' || *s > '9')
			return -EINVAL;
		for (; *s >= '0' && *s <= '9'; s++) {
			if (scale == FRAC_SCALE_MAX)
				return -EINVAL;
			frac = frac * 10 + (uint64_t)(*s - '0');
			scale *= 10;
		}
	}
	if ((m = size_unit(s)) == 0)
		return -EINVAL;
	/* A fraction of a byte is not a size; of a larger unit it is
	 * rounded down to whole bytes. */
	if (scale > 1 && m == 1)
		return -EINVAL;
	if (v != 0 && m > UINT64_MAX / v)
		return -EINVAL;
	v *= m;
	m = frac * m / scale;
	if (v > UINT64_MAX - m)
		return -EINVAL;
	*out = v + m;
	return 0;
}

int
bm_parse_duration(const char *s, uint64_t *out)
{
	static const char units[] = "wdhms";
	static const uint64_t mult[] = {604800, 86400, 3600, 60, 1};
	const char *u, *next = units;
	uint64_t v, total = 0;

	if (*s == '\0')
		return -EINVAL;
	if (bm_parse_u64(s, out) == 0)
		return 0;
	/* Parts in decreasing units, each unit at most once: "1h30m"
	 * but not "30m1h" nor "1h1h", which are more likely typing
	 * mistakes than meant. */
	while (*s != '\0') {
		if (digits(&s, &v) != 0 || *s == '\0' ||
		    (u = strchr(next, *s)) == NULL)
			return -EINVAL;
		if (v != 0 && mult[u - units] > UINT64_MAX / v)
			return -EINVAL;
		v *= mult[u - units];
		if (total > UINT64_MAX - v)
			return -EINVAL;
		total += v;
		next = u + 1;
		s++;
	}
	*out = total;
	return 0;
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
