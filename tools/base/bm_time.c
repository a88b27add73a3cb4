/*
 * bm_time.c -- clocks and times (bm_time.h).
 */
#include <errno.h>
#include <stdio.h>
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

int
bm_parse_time(const char *s, uint64_t *out)
{
	struct tm tm;
	const char *end;
	uint64_t secs;
	time_t t;

	if (bm_parse_duration(s, &secs) == 0) {
		uint64_t now = bm_now_ns() / 1000000000ULL;

		*out = (secs > now ? 0 : now - secs) * 1000000000ULL;
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (end == NULL || *end != '\0') {
		memset(&tm, 0, sizeof(tm));
		end = strptime(s, "%Y-%m-%d", &tm);
	}
	if (end == NULL || *end != '\0')
		return -EINVAL;
	if ((t = timegm(&tm)) < 0)
		return -EINVAL;
	*out = (uint64_t)t * 1000000000ULL;
	return 0;
}
