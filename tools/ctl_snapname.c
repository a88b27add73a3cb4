/*
 * ctl_snapname.c -- naming a snapshot (ctl_snapname.h).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bm_err.h"
#include "bm_time.h"
#include "bm_units.h"
#include "ctl_snapname.h"

/* Whether @s is all decimal digits (and not empty). */
static int
all_digits(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

/* Whether @s names a whole day: a date alone, "today", "yesterday". */
static int
day_alone(const char *s)
{
	static const char pat[] = "dddd-dd-dd";
	size_t i;

	if (strcmp(s, "today") == 0 || strcmp(s, "yesterday") == 0)
		return 1;
	if (strlen(s) != sizeof(pat) - 1)
		return 0;
	for (i = 0; pat[i] != '\0'; i++)
		if (pat[i] == 'd' ? s[i] < '0' || s[i] > '9' : s[i] != pat[i])
			return 0;
	return 1;
}

/* The last nanosecond of the local day that begins at @midnight (ns):
 * the next local midnight, less 1 ns (mktime() knows the days of 23 and
 * 25 hours). */
static uint64_t
end_of_day(uint64_t midnight)
{
	time_t t = (time_t)(midnight / 1000000000ULL), next;
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL)
		return midnight + 86400ULL * 1000000000ULL - 1;
	tm.tm_mday++;
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	tm.tm_isdst = -1;
	if ((next = mktime(&tm)) == (time_t)-1 || next <= t)
		return midnight + 86400ULL * 1000000000ULL - 1;
	return (uint64_t)next * 1000000000ULL - 1;
}

int
ctl_snap_resolve_list(const struct ctl *ctl, const struct store_snapinfo *v,
    size_t n, const char *arg, struct store_snapinfo *out)
{
	char a[BM_TIME_SHOW_MAX];
	uint64_t want, when;
	size_t i;
	unsigned t;

	if (all_digits(arg)) {
		if (bm_parse_u64(arg, &want) != 0 || want == 0)
			goto usage;
		for (i = 0; i < n; i++)
			if (v[i].id == want)
				goto found;
		ctl_err(ctl, n == 0 ? "no snapshots yet" :
		    "no snapshot %s (see beemoctl snapshots)", arg);
		return CTL_FAIL;
	}
	if (strncmp(arg, "latest", 6) == 0 && (arg[6] == '\0' ||
	    arg[6] == '~')) {
		want = 0;
		if (arg[6] == '~' && (!all_digits(arg + 7) ||
		    bm_parse_u64(arg + 7, &want) != 0))
			goto usage;
		if (n == 0) {
			ctl_err(ctl, "no snapshots yet");
			return CTL_FAIL;
		}
		if (want >= n) {
			ctl_err(ctl, "no snapshot %s: there %s only %zu", arg,
			    n == 1 ? "is" : "are", n);
			return CTL_FAIL;
		}
		i = n - 1 - (size_t)want;
		goto found;
	}
	if (bm_parse_time(arg, &when) == 0) {
		if (day_alone(arg))
			when = end_of_day(when);
		for (i = n; i-- > 0;)
			if (v[i].time <= when)
				goto found;
		if (n == 0)
			ctl_err(ctl, "no snapshots yet");
		else
			ctl_err(ctl, "no snapshot at or before %s (the oldest "
			    "is %s)", arg, bm_time_show(a, sizeof(a),
			    v[0].time));
		return CTL_FAIL;
	}
	if (store_tag_valid(arg)) {
		for (i = n; i-- > 0;)
			for (t = 0; t < v[i].ntags; t++)
				if (strcmp(v[i].tags[t], arg) == 0)
					goto found;
		ctl_err(ctl, "no snapshot tagged %s", arg);
		return CTL_FAIL;
	}
usage:
	ctl_err(ctl, "'%s' is not a snapshot name (an id, latest, latest~N, "
	    "a date or time, or a tag)", arg);
	return CTL_USAGE;
found:
	*out = v[i];
	return 0;
}

int
ctl_snap_resolve(const struct ctl *ctl, store *st, const char *arg,
    struct store_snapinfo *out)
{
	struct store_snapinfo *v;
	size_t n;
	int rc;

	if ((rc = store_snapshots(st, &v, &n)) != 0) {
		ctl_err(ctl, "cannot list snapshots: %s", beemo_strerror(rc));
		return CTL_FAIL;
	}
	rc = ctl_snap_resolve_list(ctl, v, n, arg, out);
	free(v);
	return rc;
}
