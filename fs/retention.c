/*
 * retention.c -- the policy model and its evaluation (retention.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "retention.h"

#define RULE_MAX 100000u

void
retention_policy_init(struct retention_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->min_age.days = 7;
}

static int
span_zero(const struct retention_duration *d)
{
	return d->years == 0 && d->months == 0 && d->days == 0 &&
	    d->hours == 0;
}

int
retention_policy_empty(const struct retention_policy *p)
{
	return p->last == 0 && p->hourly == 0 && p->daily == 0 &&
	    p->weekly == 0 && p->monthly == 0 && p->yearly == 0 &&
	    span_zero(&p->within);
}

/* A decimal number of 1 to 6 digits, at most RULE_MAX; *@end after it. */
static int
number(const char *s, uint32_t *out, const char **end)
{
	uint32_t v = 0;
	int digits = 0;

	while (*s >= '0' && *s <= '9') {
		if (++digits > 6)
			return -EINVAL;
		v = v * 10 + (uint32_t)(*s++ - '0');
	}
	if (digits == 0 || v > RULE_MAX)
		return -EINVAL;
	*out = v;
	*end = s;
	return 0;
}

int
retention_duration_parse(const char *s, struct retention_duration *out)
{
	static const char units[] = "ymwdh";
	const char *u = units, *at;
	uint32_t v, weeks = 0;

	memset(out, 0, sizeof(*out));
	if (strcmp(s, "0") == 0)
		return 0;
	if (*s == '\0')
		return -EINVAL;
	while (*s != '\0') {
		if (number(s, &v, &s) != 0 || *s == '\0' ||
		    (at = strchr(u, *s)) == NULL)
			goto bad;
		switch (*at) {
		case 'y': out->years = v; break;
		case 'm': out->months = v; break;
		case 'w': weeks = v; break;
		case 'd': out->days = v; break;
		default: out->hours = v; break;
		}
		u = at + 1; /* each unit once, in order */
		s++;
	}
	if (out->days + weeks * 7ull > RULE_MAX)
		goto bad;
	out->days += weeks * 7;
	return 0;
bad:
	memset(out, 0, sizeof(*out));
	return -EINVAL;
}

char *
retention_duration_str(const struct retention_duration *d, char *buf,
    size_t size)
{
	size_t at = 0;

	buf[0] = '\0';
	if (span_zero(d)) {
		snprintf(buf, size, "0");
		return buf;
	}
#define PART(v, u)                                                         \
	if ((v) != 0 && at < size)                                         \
		at += (size_t)snprintf(buf + at, size - at, "%u%c",        \
		    (unsigned)(v), (u));
	PART(d->years, 'y')
	PART(d->months, 'm')
	PART(d->days, 'd')
	PART(d->hours, 'h')
#undef PART
	return buf;
}

/* The rules in the file's order, with where each lives in a policy. */
static const struct rule {
	const char *key;
	int is_span;      /* a duration, else a count */
	size_t off;       /* where it lives in struct retention_policy */
	unsigned reason;
	const char *name; /* in retention_reasons_str() */
} rules[] = {
	{"keep-last", 0, offsetof(struct retention_policy, last),
	    RETENTION_LAST, "last"},
	{"keep-within", 1, offsetof(struct retention_policy, within),
	    RETENTION_WITHIN, "within"},
	{"keep-hourly", 0, offsetof(struct retention_policy, hourly),
	    RETENTION_HOURLY, "hourly"},
	{"keep-daily", 0, offsetof(struct retention_policy, daily),
	    RETENTION_DAILY, "daily"},
	{"keep-weekly", 0, offsetof(struct retention_policy, weekly),
	    RETENTION_WEEKLY, "weekly"},
	{"keep-monthly", 0, offsetof(struct retention_policy, monthly),
	    RETENTION_MONTHLY, "monthly"},
	{"keep-yearly", 0, offsetof(struct retention_policy, yearly),
	    RETENTION_YEARLY, "yearly"},
	{"min-age", 1, offsetof(struct retention_policy, min_age),
	    RETENTION_MIN_AGE, "min-age"},
};

#define NRULES (sizeof(rules) / sizeof(rules[0]))

int
retention_rule_set(struct retention_policy *p, const char *key,
    const char *value)
{
	const char *end;
	uint32_t v;
	size_t i;

	for (i = 0; i < NRULES; i++)
		if (strcmp(rules[i].key, key) == 0)
			break;
	if (i == NRULES)
		return -ENOENT;
	if (rules[i].is_span)
		return retention_duration_parse(value,
		    (struct retention_duration *)((char *)p + rules[i].off));
	if (number(value, &v, &end) != 0 || *end != '\0' || v == 0)
		return -EINVAL;
	*(uint32_t *)((char *)p + rules[i].off) = v;
	return 0;
}

char *
retention_str(const struct retention_policy *p, char *buf, size_t size)
{
	char d[32];
	size_t i, at = 0;

	buf[0] = '\0';
	for (i = 0; i < NRULES && at < size; i++) {
		const char *sep = at > 0 ? ", " : "";

		if (!rules[i].is_span) {
			uint32_t v = *(const uint32_t *)((const char *)p +
			    rules[i].off);

			if (v != 0)
				at += (size_t)snprintf(buf + at, size - at,
				    "%s%s %u", sep, rules[i].key, v);
			continue;
		}
		const struct retention_duration *s = (const void *)
		    ((const char *)p + rules[i].off);
		if (!span_zero(s) || rules[i].reason == RETENTION_MIN_AGE)
			at += (size_t)snprintf(buf + at, size - at, "%s%s %s",
			    sep, rules[i].key,
			    retention_duration_str(s, d, sizeof(d)));
	}
	return buf;
}

char *
retention_reasons_str(unsigned reasons, char *buf, size_t size)
{
	size_t i, at = 0;

	buf[0] = '\0';
	for (i = 0; i < NRULES && at < size; i++)
		if (reasons & rules[i].reason)
			at += (size_t)snprintf(buf + at, size - at, "%s%s",
			    at > 0 ? "," : "", rules[i].name);
	if ((reasons & RETENTION_NEWEST) && at < size)
		at += (size_t)snprintf(buf + at, size - at, "%snewest",
		    at > 0 ? "," : "");
	if ((reasons & RETENTION_TAGGED) && at < size)
		at += (size_t)snprintf(buf + at, size - at, "%stagged",
		    at > 0 ? "," : "");
	if ((reasons & RETENTION_UNNAMED) && at < size)
		snprintf(buf + at, size - at, "%snot-forgotten",
		    at > 0 ? "," : "");
	return buf;
}

/* ---- evaluation ---------------------------------------------------- */

/*
 * now - @d in local calendar time (mktime normalises the fields), in
 * seconds.  A span reaching before the epoch gives 0.
 */
static int64_t
cutoff(time_t now, const struct retention_duration *d)
{
	struct tm tm;
	time_t t;

	if (localtime_r(&now, &tm) == NULL)
		return 0;
	tm.tm_year -= (int)d->years;
	tm.tm_mon -= (int)d->months;
	tm.tm_mday -= (int)d->days;
	tm.tm_hour -= (int)d->hours;
	tm.tm_isdst = -1;
	t = mktime(&tm);
	return t == (time_t)-1 || t < 0 ? 0 : (int64_t)t;
}

/* The bucket of @t for a calendar rule (local time), comparable by ==:
 * hour, day, ISO week, month or year. */
static int64_t
bucket(time_t t, unsigned reason)
{
	struct tm tm;
	char w[16];

	if (localtime_r(&t, &tm) == NULL)
		return -1;
	switch (reason) {
	case RETENTION_HOURLY:
		return (((int64_t)tm.tm_year * 12 + tm.tm_mon) * 31 +
		    tm.tm_mday) * 24 + tm.tm_hour;
	case RETENTION_DAILY:
		return ((int64_t)tm.tm_year * 12 + tm.tm_mon) * 31 +
		    tm.tm_mday;
	case RETENTION_WEEKLY:
		/* ISO 8601 year and week ("%G%V"), as restic. */
		if (strftime(w, sizeof(w), "%G%V", &tm) == 0)
			return -1;
		return strtoll(w, NULL, 10);
	case RETENTION_MONTHLY:
		return (int64_t)tm.tm_year * 12 + tm.tm_mon;
	default:
		return tm.tm_year;
	}
}

struct order {
	uint64_t time;
	uint32_t id;
	size_t at;
};

/* Newest first; equal times: the larger id (taken later) first. */
static int
newest_first(const void *a, const void *b)
{
	const struct order *x = a, *y = b;

	if (x->time != y->time)
		return x->time < y->time ? 1 : -1;
	return x->id < y->id ? 1 : x->id > y->id ? -1 : 0;
}

int
retention_eval(const struct retention_snap *v, size_t n, uint64_t now,
    const struct retention_policy *p, unsigned *reasons)
{
	static const unsigned cal[] = {RETENTION_HOURLY, RETENTION_DAILY,
	    RETENTION_WEEKLY, RETENTION_MONTHLY, RETENTION_YEARLY};
	uint32_t left[5] = {p->hourly, p->daily, p->weekly, p->monthly,
	    p->yearly};
	int64_t last_bucket[5] = {0}, within = 0, young;
	int seen[5] = {0}, newest_done = 0;
	time_t now_s = (time_t)(now / 1000000000u);
	struct order *o;
	size_t i, k;

	memset(reasons, 0, n * sizeof(*reasons));
	if (retention_policy_empty(p)) {
		for (i = 0; i < n; i++)
			reasons[i] = RETENTION_UNNAMED;
		return 0;
	}
	if (n == 0)
		return 0;
	if ((o = calloc(n, sizeof(*o))) == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		o[i].time = v[i].time;
		o[i].id = v[i].id;
		o[i].at = i;
	}
	qsort(o, n, sizeof(*o), newest_first);
	if (!span_zero(&p->within))
		within = cutoff(now_s, &p->within);
	young = span_zero(&p->min_age) ? INT64_MAX :
	    cutoff(now_s, &p->min_age);
	for (i = 0; i < n; i++) {
		const struct retention_snap *s = &v[o[i].at];
		time_t t = (time_t)(s->time / 1000000000u);
		unsigned *r = &reasons[o[i].at];

		if (i < p->last)
			*r |= RETENTION_LAST;
		if (!span_zero(&p->within) && (int64_t)t >= within)
			*r |= RETENTION_WITHIN;
		if ((int64_t)t >= young)
			*r |= RETENTION_MIN_AGE;
		if (s->tagged)
			*r |= RETENTION_TAGGED;
		if (s->complete && !newest_done) {
			*r |= RETENTION_NEWEST;
			newest_done = 1;
		}
		/* One snapshot per bucket, the newest, for the rule's
		 * first @left buckets that have one. */
		for (k = 0; k < 5; k++) {
			int64_t b;

			if (left[k] == 0)
				continue;
			b = bucket(t, cal[k]);
			if (seen[k] && b == last_bucket[k])
				continue;
			seen[k] = 1;
			last_bucket[k] = b;
			left[k]--;
			*r |= cal[k];
		}
	}
	/* No complete snapshot at all: the newest one stands in. */
	if (!newest_done)
		reasons[o[0].at] |= RETENTION_NEWEST;
	free(o);
	return 0;
}
