/*
 * bm_time.c -- clocks and times (bm_time.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bm_time.h"
#include "bm_units.h"

uint64_t
bm_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t
bm_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

char *
bm_age_str(char *buf, size_t size, uint64_t then_ns, uint64_t now_ns)
{
	uint64_t s = now_ns > then_ns ? (now_ns - then_ns) / 1000000000ULL : 0;

	if (then_ns == 0)
		snprintf(buf, size, "never");
	else if (s < 120)
		snprintf(buf, size, "%llus ago", (unsigned long long)s);
	else if (s < 7200)
		snprintf(buf, size, "%llum ago", (unsigned long long)(s / 60));
	else if (s < 172800)
		snprintf(buf, size, "%lluh ago",
		    (unsigned long long)(s / 3600));
	else
		snprintf(buf, size, "%llud ago",
		    (unsigned long long)(s / 86400));
	return buf;
}

char *
bm_time_str(char *buf, size_t size, uint64_t ns)
{
	time_t t = (time_t)(ns / 1000000000ULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

static int show_utc;

void
bm_time_set_utc(int utc)
{
	show_utc = utc;
	/* The zone too: what is shown or read as local time (ls, --since,
	 * --at, dates without a zone) is UTC as well. */
	if (utc && setenv("TZ", "UTC0", 1) == 0)
		tzset();
}

char *
bm_time_show(char *buf, size_t size, uint64_t ns)
{
	time_t t = (time_t)(ns / 1000000000ULL);
	struct tm tm;

	if (ns == 0) {
		snprintf(buf, size, "-");
		return buf;
	}
	if (show_utc) {
		gmtime_r(&t, &tm);
		strftime(buf, size, "%Y-%m-%d %H:%M:%S UTC", &tm);
	} else {
		localtime_r(&t, &tm);
		strftime(buf, size, "%Y-%m-%d %H:%M:%S %z", &tm);
	}
	return buf;
}

/* Read exactly @n digits at *@s into @v, advancing *@s. */
static int
fixed(const char **s, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++, (*s)++) {
		if (**s < '0' || **s > '9')
			return -EINVAL;
		*v = *v * 10 + (**s - '0');
	}
	return 0;
}

static int
leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Read a zone at @s, the rest of the string: "Z", "+HH:MM", "+HHMM" or
 * "+HH" (or "-"), into seconds east of UTC. */
static int
zone(const char *s, long *east)
{
	int sign, h, m = 0;

	if (strcmp(s, "Z") == 0 || strcmp(s, "z") == 0) {
		*east = 0;
		return 0;
	}
	if (*s != '+' && *s != '-')
		return -EINVAL;
	sign = *s++ == '-' ? -1 : 1;
	if (fixed(&s, 2, &h) != 0 || h > 23)
		return -EINVAL;
	if (*s == ':')
		s++;
	if (*s != '\0' && (fixed(&s, 2, &m) != 0 || m > 59))
		return -EINVAL;
	if (*s != '\0')
		return -EINVAL;
	*east = sign * (h * 3600L + m * 60L);
	return 0;
}

/* Local midnight @days_back days before today. */
static int
local_midnight(int days_back, uint64_t *out)
{
	time_t now = time(NULL), t;
	struct tm tm;

	if (localtime_r(&now, &tm) == NULL)
		return -EINVAL;
	tm.tm_mday -= days_back;
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	tm.tm_isdst = -1;
	if ((t = mktime(&tm)) < 0)
		return -EINVAL;
	*out = (uint64_t)t * 1000000000ULL;
	return 0;
}

/* An ISO 8601 date and optional time and zone (see bm_time.h). */
static int
parse_iso(const char *s, uint64_t *out)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31};
	struct tm tm;
	int y, mo, d, h = 0, mi = 0, sec = 0, has_zone = 0;
	long east = 0, ns = 0, scale = 100000000L;
	time_t t;

	if (fixed(&s, 4, &y) != 0 || *s++ != '-' || fixed(&s, 2, &mo) != 0
	    || *s++ != '-' || fixed(&s, 2, &d) != 0)
		return -EINVAL;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 ||
	    d > mdays[mo - 1] + (mo == 2 && leap(y)))
		return -EINVAL;
	if (*s == 'T' || *s == 't' || *s == ' ') {
		s++;
		if (fixed(&s, 2, &h) != 0 || *s++ != ':' ||
		    fixed(&s, 2, &mi) != 0)
			return -EINVAL;
		if (*s == ':') {
			s++;
			if (fixed(&s, 2, &sec) != 0)
				return -EINVAL;
			if (*s == '.' || *s == ',') {
				if (s[1] < '0' || s[1] > '9')
					return -EINVAL;
				for (s++; *s >= '0' && *s <= '9'; s++) {
					ns += (*s - '0') * scale;
					scale /= 10;
				}
			}
		}
		if (h > 23 || mi > 59 || sec > 59)
			return -EINVAL;
		if (*s != '\0') {
			if (zone(s, &east) != 0)
				return -EINVAL;
			has_zone = 1;
		}
	} else if (*s != '\0') {
		return -EINVAL;
	}
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	if (has_zone) {
		t = timegm(&tm) - east;
	} else {
		tm.tm_isdst = -1;
		t = mktime(&tm);
	}
	if (t < 0)
		return -EINVAL;
	*out = (uint64_t)t * 1000000000ULL + (uint64_t)ns;
	return 0;
}

int
bm_parse_time(const char *s, uint64_t *out)
{
	uint64_t secs;

	if (strcmp(s, "now") == 0) {
		*out = bm_now_ns() / 1000000000ULL * 1000000000ULL;
		return 0;
	}
	if (strcmp(s, "today") == 0)
		return local_midnight(0, out);
	if (strcmp(s, "yesterday") == 0)
		return local_midnight(1, out);
	if (bm_parse_duration(s, &secs) == 0) {
		uint64_t now = bm_now_ns() / 1000000000ULL;

		*out = (secs > now ? 0 : now - secs) * 1000000000ULL;
		return 0;
	}
	return parse_iso(s, out);
}
