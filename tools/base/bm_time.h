/*
 * bm_time.h -- clocks, times and durations (base library, see bm_err.h).
 *
 * Beemo keeps every time as nanoseconds since the epoch in a uint64_t
 * (CLOCK_REALTIME) and shows it as ISO 8601 UTC; durations are read by
 * bm_parse_duration() (bm_units.h).  No state.
 */
#ifndef BEEMO_BM_TIME_H
#define BEEMO_BM_TIME_H

#include <stddef.h>
#include <stdint.h>

/* bm_now_ns -- CLOCK_REALTIME in nanoseconds; bm_mono_ns -- monotonic. */
uint64_t bm_now_ns(void);
uint64_t bm_mono_ns(void);

/* bm_time_str -- format a CLOCK_REALTIME time in ns as ISO 8601 UTC
 * "2026-11-28T10:20:30Z" into @buf (at least 21 bytes); returns @buf. */
char *bm_time_str(char *buf, size_t size, uint64_t ns);

/*
 * Times shown to people.  Text output shows times in the local zone
 * (the process's TZ) with its offset, "2026-12-04 16:20:30 +0100";
 * after bm_time_set_utc(1) (the programs' --utc option) in UTC,
 * "2026-12-04 15:20:30 UTC", and the process's zone becomes UTC (TZ
 * set to UTC0), so that times read without a zone and the local times
 * of other output are UTC too.  JSON and files keep bm_time_str()
 * (RFC 3339, UTC, "Z" offset) whatever the setting.
 * bm_time_show -- format @ns so into @buf (at least 32 bytes; "-" for
 * 0); returns @buf.  bm_time_set_utc is called once from main() before
 * any thread starts.
 */
#define BM_TIME_SHOW_MAX 32
void bm_time_set_utc(int utc);
char *bm_time_show(char *buf, size_t size, uint64_t ns);

/* bm_age_str -- how long before @now_ns @then_ns was, as "42s ago",
 * "5m ago", "3h ago" or "2d ago" ("never" for 0), into @buf; returns
 * @buf. */
char *bm_age_str(char *buf, size_t size, uint64_t then_ns, uint64_t now_ns);

/*
 * bm_parse_time -- parse a time as people write it into CLOCK_REALTIME ns:
 * - an ISO 8601 date, optionally followed by "T" or a blank and a time
 *   HH:MM or HH:MM:SS (with an optional decimal fraction of a second),
 *   optionally followed by a zone "Z", "+HH:MM", "+HHMM", "+HH" (or "-"):
 *   "2026-12-03", "2026-12-03 08:00", "2026-12-03T08:00:00+01:00",
 *   "2026-11-28T10:20:30Z".  Without a zone the time is local (the
 *   process's TZ); a date alone is its local midnight;
 * - "now"; "today" and "yesterday": local midnight of that day;
 * - a relative age, any duration of bm_parse_duration() ("3h", "1w",
 *   "1h30m"): that long before now, in whole seconds, 0 when before the
 *   epoch.
 * Impossible dates and times ("2026-02-30", hour 25, minute 60) and
 * times before 1970 are refused.  Uses the C library's zone functions
 * (localtime_r, mktime): thread-safe once TZ is set.
 * Returns 0 or -EINVAL.
 */
int bm_parse_time(const char *s, uint64_t *out);

#endif /* BEEMO_BM_TIME_H */
