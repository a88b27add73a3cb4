/*
 * test_units.c -- people's input: sizes, durations and times as
 * accepted and refused by bm_parse_size(), bm_parse_duration() and
 * bm_parse_time() (tools/base/bm_units.c, bm_time.c).  Times without a
 * zone are read in a fixed zone (TZ=Europe/Paris, one hour east of UTC
 * in winter, two in summer) so that "local" is checked for real.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bm_time.h"
#include "bm_units.h"
#include "check.h"

#define NS 1000000000ULL

static const struct {
	const char *in;
	uint64_t want;
} sizes[] = {
	{"0", 0},
	{"512", 512},
	{"512B", 512},
	{"512k", 512ULL << 10},
	{"10K", 10ULL << 10},
	{"10M", 10ULL << 20},
	{"10m", 10ULL << 20},
	{"10MiB", 10ULL << 20},
	{"10MB", 10000000},
	{"10kB", 10000},
	{"10KB", 10000},
	{"10KiB", 10240},
	{"2GB", 2000000000},
	{"1T", 1ULL << 40},
	{"1TB", 1000000000000ULL},
	{"1.5G", 1610612736},
	{"1.5GiB", 1610612736},
	{"1.5GB", 1500000000},
	{"0.5k", 512},
	{"1.1K", 1126}, /* 1126.4, rounded down */
	{"2.000001T", 2199024355063ULL},
	{"16777215T", 16777215ULL << 40},
	{"16777215.999999T", 18446744073708452104ULL},
};

static const char *const bad_sizes[] = {
	"", "K", "B", "1.5", "1.5B", ".5G", "1.G", "1.1234567G", "1 K",
	"1K ", " 1K", "1KIB", "1Kib", "1Kb", "1kbB", "1P", "1PB", "-1",
	"1e3", "0x10", "16777216T", "18446744073709551616",
	"123456789012345678901234567890123",
};

static const struct {
	const char *in;
	uint64_t want;
} durations[] = {
	{"0", 0},
	{"90", 90},
	{"90s", 90},
	{"45m", 2700},
	{"3h", 10800},
	{"2d", 172800},
	{"1w", 604800},
	{"1h30m", 5400},
	{"2d12h", 216000},
	{"1w2d3h4m5s", 788645},
	{"0h0m", 0},
	{"100m", 6000},
};

static const char *const bad_durations[] = {
	"", "m", "3H", "1W", "-5m", "1.5h", "30m1h", "1h1h", "1h 30m",
	"1h30", "h30m", "1y", "5 ", "999999999999999999d",
	"40000000000000w", "18446744073709551615s1s",
};

/* Times in a zone, independent of TZ, and refused forms. */
static const struct {
	const char *in;
	uint64_t want; /* seconds */
} zoned[] = {
	{"2026-11-28T10:20:30Z", 1795861230},
	{"2026-11-28t10:20:30z", 1795861230},
	{"2026-11-28 10:20:30Z", 1795861230},
	{"2026-12-03T08:00:00+01:00", 1796281200},
	{"2026-12-03T08:00:00+0100", 1796281200},
	{"2026-12-03T08:00:00+01", 1796281200},
	{"2026-12-03T08:00-05:30", 1796304600},
	{"2026-12-03T08:00Z", 1796284800},
	{"2024-02-29T00:00:00Z", 1709164800},
	{"2000-02-29T12:00:00Z", 951825600},
	{"1970-01-01T00:00:00Z", 0},
};

static const char *const bad_times[] = {
	"", "x", "2026-02-30", "2026-02-29", "1900-02-29T00:00Z",
	"2026-13-01", "2026-00-10", "2026-04-31", "2026-11-00",
	"2026-12-03T25:00", "2026-12-03T24:00", "2026-12-03T08:60",
	"2026-12-03T08:00:60", "2026-12-03T8:00", "2026-12-03T08",
	"2026-12-03T08:00:00+25:00", "2026-12-03T08:00:00+01:60",
	"2026-12-03T08:00:00 +01:00", "2026-12-03T08:00:00UTC",
	"2026-12-03T08:00:00.", "2026-12-03x", "2026-1-3", "26-12-03",
	"1969-12-31", "1969-12-31T23:59:59Z", "tomorrow", "Yesterday",
	"now ", "3H", "1.5h",
};

static void
test_sizes(void)
{
	uint64_t v;
	size_t i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		v = 0;
		CHECK_OK(bm_parse_size(sizes[i].in, &v));
		if (v != sizes[i].want)
			fprintf(stderr, "size %s: %llu, expected %llu\n",
			    sizes[i].in, (unsigned long long)v,
			    (unsigned long long)sizes[i].want);
		CHECK(v == sizes[i].want);
	}
	for (i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++) {
		if (bm_parse_size(bad_sizes[i], &v) != -EINVAL)
			fprintf(stderr, "size '%s' accepted\n", bad_sizes[i]);
		CHECK_RC(bm_parse_size(bad_sizes[i], &v), -EINVAL);
	}
}

static void
test_durations(void)
{
	uint64_t v;
	size_t i;

	for (i = 0; i < sizeof(durations) / sizeof(durations[0]); i++) {
		v = 1;
		CHECK_OK(bm_parse_duration(durations[i].in, &v));
		if (v != durations[i].want)
			fprintf(stderr, "duration %s: %llu\n", durations[i].in,
			    (unsigned long long)v);
		CHECK(v == durations[i].want);
	}
	for (i = 0; i < sizeof(bad_durations) / sizeof(bad_durations[0]);
	    i++) {
		if (bm_parse_duration(bad_durations[i], &v) != -EINVAL)
			fprintf(stderr, "duration '%s' accepted\n",
			    bad_durations[i]);
		CHECK_RC(bm_parse_duration(bad_durations[i], &v), -EINVAL);
	}
}

/* Local midnight @back days before today, computed independently. */
static uint64_t
midnight(int back)
{
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	tm.tm_mday -= back;
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	tm.tm_isdst = -1;
	return (uint64_t)mktime(&tm) * NS;
}

static void
test_times(void)
{
	uint64_t v, now;
	size_t i;

	for (i = 0; i < sizeof(zoned) / sizeof(zoned[0]); i++) {
		v = 1;
		CHECK_OK(bm_parse_time(zoned[i].in, &v));
		if (v != zoned[i].want * NS)
			fprintf(stderr, "time %s: %llu\n", zoned[i].in,
			    (unsigned long long)(v / NS));
		CHECK(v == zoned[i].want * NS);
	}
	for (i = 0; i < sizeof(bad_times) / sizeof(bad_times[0]); i++) {
		if (bm_parse_time(bad_times[i], &v) != -EINVAL)
			fprintf(stderr, "time '%s' accepted\n", bad_times[i]);
		CHECK_RC(bm_parse_time(bad_times[i], &v), -EINVAL);
	}

	/* A fraction of a second is kept. */
	CHECK_OK(bm_parse_time("2026-11-28T10:20:30.25Z", &v));
	CHECK(v == 1795861230ULL * NS + 250000000);
	CHECK_OK(bm_parse_time("2026-11-28T10:20:30.123456789Z", &v));
	CHECK(v == 1795861230ULL * NS + 123456789);

	/* Local times, TZ=Europe/Paris: UTC+1 in December, +2 in July. */
	CHECK_OK(bm_parse_time("2026-12-03", &v));
	CHECK(v == 1796252400ULL * NS);
	CHECK_OK(bm_parse_time("2026-12-03 08:00", &v));
	CHECK(v == 1796281200ULL * NS);
	CHECK_OK(bm_parse_time("2026-12-03T08:00:00", &v));
	CHECK(v == 1796281200ULL * NS);
	CHECK_OK(bm_parse_time("2026-07-01T12:00", &v));
	CHECK(v == 1782900000ULL * NS);

	/* Words and ages, relative to now. */
	now = bm_now_ns() / NS * NS;
	CHECK_OK(bm_parse_time("now", &v));
	CHECK(v >= now && v <= now + 5 * NS);
	CHECK_OK(bm_parse_time("today", &v));
	CHECK(v == midnight(0) || v == midnight(0) + 86400 * NS);
	CHECK(v <= bm_now_ns());
	CHECK_OK(bm_parse_time("yesterday", &v));
	CHECK(v == midnight(1));
	CHECK(v < midnight(0) && v >= midnight(0) - 25 * 3600 * NS);
	CHECK_OK(bm_parse_time("1w", &v));
	CHECK(v >= now - 604800 * NS && v <= now - 604800 * NS + 5 * NS);
	CHECK_OK(bm_parse_time("1h30m", &v));
	CHECK(v >= now - 5400 * NS && v <= now - 5400 * NS + 5 * NS);
	CHECK_OK(bm_parse_time("1000000d", &v));
	CHECK(v == 0);
}

int
main(void)
{
	if (setenv("TZ", "Europe/Paris", 1) != 0)
		return 1;
	tzset();
	test_sizes();
	test_durations();
	test_times();
	return check_status();
}
