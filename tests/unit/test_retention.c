/*
 * test_retention.c -- retention policies (fs/retention.h): durations and
 * rules, the evaluation over snapshots at chosen times (buckets, a flood
 * of snapshots, min-age, the newest complete snapshot), and the signed
 * files (tampered text, another machine, unsigned, another appliance).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "bm_file.h"
#include "bm_time.h"
#include "check.h"
#include "keymgr.h"
#include "retention.h"

#define NS 1000000000ull
#define HOUR (3600ull * NS)
#define DAY (24 * HOUR)
#define APW "admin-pw"

static const struct keymgr_kdf low_kdf = {1024, 8, 1};
static char root[256];

/* Seconds of a UTC date (the tests run with TZ=UTC). */
static uint64_t
at(int y, int mon, int d, int h, int min)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = min;
	return (uint64_t)timegm(&tm) * NS;
}

static struct retention_policy
policy(const char *spec)
{
	struct retention_policy p;
	char buf[256], *save = NULL, *key, *val;

	retention_policy_init(&p);
	snprintf(buf, sizeof(buf), "%s", spec);
	for (key = strtok_r(buf, " ", &save); key != NULL;
	    key = strtok_r(NULL, " ", &save)) {
		val = strtok_r(NULL, " ", &save);
		REQUIRE(val != NULL);
		REQUIRE_OK(retention_rule_set(&p, key, val));
	}
	return p;
}

static void
test_durations(void)
{
	struct retention_duration d;
	struct retention_policy p;
	char buf[256];

	CHECK_OK(retention_duration_parse("1y2m", &d));
	CHECK(d.years == 1 && d.months == 2 && d.days == 0 && d.hours == 0);
	CHECK_OK(retention_duration_parse("2w3d12h", &d));
	CHECK(d.days == 17 && d.hours == 12);
	CHECK(strcmp(retention_duration_str(&d, buf, sizeof(buf)),
	    "17d12h") == 0);
	CHECK_OK(retention_duration_parse("0", &d));
	CHECK(strcmp(retention_duration_str(&d, buf, sizeof(buf)), "0") == 0);
	CHECK_RC(retention_duration_parse("", &d), -EINVAL);
	CHECK_RC(retention_duration_parse("d", &d), -EINVAL);
	CHECK_RC(retention_duration_parse("5", &d), -EINVAL);
	CHECK_RC(retention_duration_parse("2m1y", &d), -EINVAL);
	CHECK_RC(retention_duration_parse("1d1d", &d), -EINVAL);
	CHECK_RC(retention_duration_parse("1x", &d), -EINVAL);
	CHECK_RC(retention_duration_parse("-1d", &d), -EINVAL);
	CHECK_RC(retention_duration_parse("1000000d", &d), -EINVAL);
	CHECK_RC(retention_duration_parse("99999w", &d), -EINVAL);

	retention_policy_init(&p);
	CHECK(retention_policy_empty(&p));
	CHECK(p.min_age.days == 7);
	CHECK_OK(retention_rule_set(&p, "keep-daily", "7"));
	CHECK_OK(retention_rule_set(&p, "keep-within", "1y2m"));
	CHECK_OK(retention_rule_set(&p, "min-age", "3d"));
	CHECK(!retention_policy_empty(&p));
	CHECK_RC(retention_rule_set(&p, "keep-daily", "0"), -EINVAL);
	CHECK_RC(retention_rule_set(&p, "keep-daily", "7x"), -EINVAL);
	CHECK_RC(retention_rule_set(&p, "keep-daily", ""), -EINVAL);
	CHECK_RC(retention_rule_set(&p, "keep-forever", "1"), -ENOENT);
	CHECK(strcmp(retention_str(&p, buf, sizeof(buf)),
	    "keep-within 1y2m, keep-daily 7, min-age 3d") == 0);
	CHECK(strcmp(retention_reasons_str(RETENTION_DAILY |
	    RETENTION_NEWEST | RETENTION_MIN_AGE, buf, sizeof(buf)),
	    "daily,min-age,newest") == 0);
}

/* Evaluate @p over @n snapshots at @times (ids 1..n, all complete). */
static void
eval(const uint64_t *times, size_t n, uint64_t now,
    const struct retention_policy *p, unsigned *reasons)
{
	struct retention_snap *v = calloc(n, sizeof(*v));
	size_t i;

	REQUIRE(v != NULL);
	for (i = 0; i < n; i++) {
		v[i].id = (uint32_t)(i + 1);
		v[i].time = times[i];
		v[i].complete = 1;
	}
	REQUIRE_OK(retention_eval(v, n, now, p, reasons));
	free(v);
}

static void
test_rules(void)
{
	struct retention_policy p;
	uint64_t t[64], now = at(2026, 6, 10, 12, 0);
	unsigned r[64];
	size_t i;

	/* keep-last: the newest N, whatever their order in the input. */
	for (i = 0; i < 5; i++)
		t[i] = now - (5 - i) * DAY;
	t[0] = now - 1 * DAY; /* the newest comes first */
	t[4] = now - 5 * DAY;
	p = policy("keep-last 3 min-age 0");
	eval(t, 5, now, &p, r);
	CHECK(r[0] == (RETENTION_LAST | RETENTION_NEWEST));
	CHECK(r[3] == RETENTION_LAST && r[2] == RETENTION_LAST);
	CHECK(r[1] == 0 && r[4] == 0);

	/* keep-daily: the newest of each of the 3 newest days. */
	for (i = 0; i < 10; i++)
		t[i] = at(2026, 6, 1 + (int)i / 2, i % 2 ? 20 : 10, 0);
	p = policy("keep-daily 3 min-age 0");
	eval(t, 10, now, &p, r);
	for (i = 0; i < 10; i++)
		CHECK(!!(r[i] & RETENTION_DAILY) == (i % 2 == 1 && i >= 5));

	/* keep-within 2d: at or after now minus two days. */
	t[0] = now - DAY;
	t[1] = now - 47 * HOUR;
	t[2] = now - 49 * HOUR;
	p = policy("keep-within 2d min-age 0");
	eval(t, 3, now, &p, r);
	CHECK(r[0] & RETENTION_WITHIN);
	CHECK(r[1] == RETENTION_WITHIN);
	CHECK(r[2] == 0);

	/* ISO weeks: Sunday 2026-01-04 ends week 1, Monday 2026-01-05
	 * starts week 2; a week of dailies keeps its Sunday only. */
	t[0] = at(2026, 1, 4, 12, 0);
	t[1] = at(2026, 1, 5, 12, 0);
	p = policy("keep-weekly 2 min-age 0");
	eval(t, 2, now, &p, r);
	CHECK((r[0] & RETENTION_WEEKLY) && (r[1] & RETENTION_WEEKLY));
	for (i = 0; i < 7; i++)
		t[i] = at(2026, 1, 5 + (int)i, 12, 0);
	p = policy("keep-weekly 1 min-age 0");
	eval(t, 7, now, &p, r);
	for (i = 0; i < 7; i++)
		CHECK(!!(r[i] & RETENTION_WEEKLY) == (i == 6));

	/* keep-monthly 12, keep-yearly 3 over 30 months of the 15th. */
	for (i = 0; i < 30; i++)
		t[i] = at(2024 + (int)i / 12, 1 + (int)i % 12, 15, 12, 0);
	p = policy("keep-monthly 12 keep-yearly 3 min-age 0");
	eval(t, 30, now, &p, r);
	for (i = 0; i < 30; i++) {
		CHECK(!!(r[i] & RETENTION_MONTHLY) == (i >= 18));
		/* 2026-06, 2025-12, 2024-12 */
		CHECK(!!(r[i] & RETENTION_YEARLY) ==
		    (i == 29 || i == 23 || i == 11));
	}

	/* keep-hourly over one hour of 100 snapshots after 30 hourlies:
	 * the flood fills one bucket. */
	for (i = 0; i < 30; i++)
		t[i] = now - (31 - i) * HOUR;
	p = policy("keep-hourly 24 min-age 0");
	eval(t, 30, now, &p, r);
	for (i = 0; i < 30; i++)
		CHECK(!!r[i] == (i >= 6));
}

/* A compromised client makes 1000 snapshots in the last hour: the
 * unattended policy forgets exactly what it forgot without them. */
static void
test_flood(void)
{
	enum { DAYS = 60, FLOOD = 1000 };
	struct retention_policy p = policy("keep-daily 7 keep-weekly 4 "
	    "keep-monthly 2 keep-last 3");
	uint64_t *t = calloc(DAYS + FLOOD, sizeof(*t));
	unsigned *before = calloc(DAYS, sizeof(unsigned));
	unsigned *after = calloc(DAYS + FLOOD, sizeof(unsigned));
	uint64_t now = at(2026, 6, 30, 23, 0);
	size_t i, kept = 0;

	REQUIRE(t && before && after);
	for (i = 0; i < DAYS; i++)
		t[i] = at(2026, 6, 30, 0, 30) - (DAYS - 1 - i) * DAY;
	eval(t, DAYS, now, &p, before);
	for (i = 0; i < FLOOD; i++)
		t[DAYS + i] = now - HOUR + i * (HOUR / FLOOD);
	eval(t, DAYS + FLOOD, now, &p, after);
	for (i = 0; i < DAYS; i++) {
		CHECK(!!before[i] == !!after[i]);
		kept += !!after[i];
	}
	/* 7 days (min-age also), the weekly Sundays and monthly ends
	 * beyond them: well more than the flood's own bucket. */
	CHECK(kept >= 10);
	/* The daily older than min-age are kept by "daily" still. */
	for (i = DAYS - 7; i < DAYS - 1; i++)
		CHECK(after[i] & RETENTION_DAILY);
	/* Every flood snapshot is younger than min-age: none forgotten. */
	for (i = 0; i < FLOOD; i++)
		CHECK(after[DAYS + i] & RETENTION_MIN_AGE);
	free(t);
	free(before);
	free(after);
}

static void
test_protections(void)
{
	struct retention_snap v[4];
	struct retention_policy p;
	uint64_t now = at(2026, 6, 10, 12, 0);
	unsigned r[4];

	/* min-age 7d keeps what keep-last 1 would forget. */
	memset(v, 0, sizeof(v));
	v[0] = (struct retention_snap){1, now - 30 * DAY, 1, 0};
	v[1] = (struct retention_snap){2, now - 8 * DAY, 1, 0};
	v[2] = (struct retention_snap){3, now - 3 * DAY, 1, 0};
	v[3] = (struct retention_snap){4, now - 1 * DAY, 1, 0};
	p = policy("keep-last 1");
	REQUIRE_OK(retention_eval(v, 4, now, &p, r));
	CHECK(r[0] == 0 && r[1] == 0);
	CHECK(r[2] == RETENTION_MIN_AGE);
	CHECK(r[3] == (RETENTION_LAST | RETENTION_MIN_AGE |
	    RETENTION_NEWEST));
	p = policy("keep-last 1 min-age 0");
	REQUIRE_OK(retention_eval(v, 4, now, &p, r));
	CHECK(r[0] == 0 && r[1] == 0 && r[2] == 0 && r[3] != 0);

	/* The newest complete snapshot stays when newer ones are not. */
	v[3].complete = 0;
	v[2].complete = 0;
	REQUIRE_OK(retention_eval(v, 4, now, &p, r));
	CHECK(r[3] == RETENTION_LAST);
	CHECK(r[2] == 0);
	CHECK(r[1] == RETENTION_NEWEST);
	CHECK(r[0] == 0);
	/* None complete: the newest stands in. */
	v[0].complete = v[1].complete = 0;
	p = policy("keep-within 1h min-age 0");
	REQUIRE_OK(retention_eval(v, 4, now, &p, r));
	CHECK(r[3] == RETENTION_NEWEST);
	CHECK(r[0] == 0 && r[1] == 0 && r[2] == 0);
	/* A tagged snapshot is kept by any policy. */
	v[0].tagged = 1;
	REQUIRE_OK(retention_eval(v, 4, now, &p, r));
	CHECK(r[0] == RETENTION_TAGGED);
	CHECK(r[1] == 0 && r[2] == 0);
	{
		char why[64];

		CHECK(strcmp(retention_reasons_str(r[0], why, sizeof(why)),
		    "tagged") == 0);
	}
	v[0].tagged = 0;

	/* An empty policy forgets nothing. */
	retention_policy_init(&p);
	REQUIRE_OK(retention_eval(v, 4, now, &p, r));
	CHECK(r[0] != 0 && r[1] != 0 && r[2] != 0 && r[3] != 0);
	/* No snapshots. */
	p = policy("keep-last 1");
	CHECK_OK(retention_eval(v, 0, now, &p, r));
}

static void
new_appliance(const char *name, char *dir, size_t size, keymgr **km)
{
	REQUIRE_OK(bm_path(dir, size, "%s/%s", root, name));
	REQUIRE(mkdir(dir, 0700) == 0);
	REQUIRE_OK(keymgr_init(dir, APW, strlen(APW), &low_kdf));
	REQUIRE_OK(keymgr_open(dir, km));
}

static void
test_files(void)
{
	struct retention_policy p = policy("keep-daily 7 keep-within 1y2m "
	    "min-age 3d"), q;
	keymgr *km = NULL, *other = NULL;
	keymgr_admin_key *k = NULL, *ko = NULL;
	char keys[512], okeys[512], store[512], path[600], *text, *t2, *s;
	char err[512];
	uint64_t set;
	size_t len, len2;
	int dflt;

	new_appliance("keys", keys, sizeof(keys), &km);
	new_appliance("other", okeys, sizeof(okeys), &other);
	REQUIRE_OK(keymgr_admin_key_unlock(km, APW, strlen(APW), &k));
	REQUIRE_OK(keymgr_admin_key_unlock(other, APW, strlen(APW), &ko));

	REQUIRE_OK(retention_encode(&p, "alice", 1700000000ull * NS, k,
	    &text, &len));
	CHECK(strncmp(text, "beemo-retention 1\nmachine alice\nset "
	    "1700000000\nkeep-within 1y2m\nkeep-daily 7\nmin-age 3d\n"
	    "signature ", 87) == 0);
	CHECK_OK(retention_decode(km, text, len, "alice", &q, &set, err,
	    sizeof(err)));
	CHECK(memcmp(&p, &q, sizeof(p)) == 0);
	CHECK(set == 1700000000ull * NS);
	/* Another machine, the default. */
	CHECK_RC(retention_decode(km, text, len, "bob", &q, &set, err,
	    sizeof(err)), BEEMO_EFOREIGN);
	CHECK(strstr(err, "signed for machine alice") != NULL);
	CHECK_RC(retention_decode(km, text, len, NULL, &q, &set, err,
	    sizeof(err)), BEEMO_EFOREIGN);
	/* Another appliance's administrator. */
	CHECK_RC(retention_decode(other, text, len, "alice", &q, &set, err,
	    sizeof(err)), -EBADMSG);
	/* A weakened rule ("keep-daily 1"). */
	REQUIRE((s = strstr(text, "keep-daily 7")) != NULL);
	s[11] = '1';
	CHECK_RC(retention_decode(km, text, len, "alice", &q, &set, err,
	    sizeof(err)), -EBADMSG);
	CHECK(strstr(err, "administrator") != NULL);
	s[11] = '7';
	/* A byte of the signature. */
	text[len - 2] = text[len - 2] == '0' ? '1' : '0';
	CHECK_RC(retention_decode(km, text, len, "alice", &q, &set, err,
	    sizeof(err)), -EBADMSG);
	/* Unsigned, cut, or with a line added after the signature. */
	s = strstr(text, "signature ");
	CHECK_RC(retention_decode(km, text, (size_t)(s - text), "alice", &q,
	    &set, err, sizeof(err)), BEEMO_EFORMAT);
	CHECK(strstr(err, "not signed") != NULL);
	CHECK_RC(retention_decode(km, text, len - 1, "alice", &q, &set, err,
	    sizeof(err)), BEEMO_EFORMAT);
	free(text);

	/* The default, signed by the other appliance: refused. */
	REQUIRE_OK(retention_encode(&p, NULL, bm_now_ns(), ko, &t2,
	    &len2));
	CHECK_RC(retention_decode(km, t2, len2, NULL, &q, &set, err,
	    sizeof(err)), -EBADMSG);
	CHECK_OK(retention_decode(other, t2, len2, NULL, &q, &set, err,
	    sizeof(err)));
	CHECK_RC(retention_decode(other, t2, len2, "alice", &q, &set, err,
	    sizeof(err)), BEEMO_EFOREIGN);

	/* Files: the machine's own, else the default, never the default in
	 * place of a refused file. */
	REQUIRE_OK(bm_path(store, sizeof(store), "%s/store", root));
	REQUIRE(mkdir(store, 0700) == 0);
	CHECK_RC(retention_load(store, "alice", km, &q, &dflt, &set, err,
	    sizeof(err)), -ENOENT);
	REQUIRE_OK(retention_save(store, NULL, &p, k));
	CHECK_OK(retention_load(store, "alice", km, &q, &dflt, &set, err,
	    sizeof(err)));
	CHECK(dflt == 1 && memcmp(&p, &q, sizeof(p)) == 0);
	p = policy("keep-last 2");
	REQUIRE_OK(retention_save(store, "alice", &p, k));
	CHECK_OK(retention_load(store, "alice", km, &q, &dflt, &set, err,
	    sizeof(err)));
	CHECK(dflt == 0 && q.last == 2 && q.min_age.days == 7);
	/* bob's file copied over alice's: refused, no fallback. */
	REQUIRE_OK(retention_save(store, "bob", &p, k));
	REQUIRE_OK(retention_path(store, "bob", path, sizeof(path)));
	REQUIRE_OK(bm_read_file(path, 8192, (uint8_t **)&text, &len));
	REQUIRE_OK(retention_path(store, "alice", path, sizeof(path)));
	REQUIRE_OK(bm_write_file_atomic(path, text, len, 0644, 0));
	free(text);
	CHECK_RC(retention_load(store, "alice", km, &q, &dflt, &set, err,
	    sizeof(err)), BEEMO_EFOREIGN);
	CHECK(strstr(err, "alice.policy: refused") != NULL);
	/* A new key pair (here: the other appliance's) signs again what
	 * verifies, with its time; alice's refused file stays out. */
	{
		struct retention_file *v = NULL;
		size_t n = 0, refused = 0;
		uint64_t set_bob;

		REQUIRE_OK(retention_load_file(store, "bob", km, &q, &set_bob,
		    err, sizeof(err)));
		CHECK_OK(retention_collect(store, km, &v, &n, &refused));
		CHECK(n == 2 && refused == 1);
		CHECK(n == 2 && v[0].machine[0] == '\0' &&
		    strcmp(v[1].machine, "bob") == 0);
		CHECK_OK(retention_resign(store, v, n, ko));
		CHECK_OK(retention_load_file(store, "bob", other, &q, &set,
		    err, sizeof(err)));
		CHECK(set == set_bob && q.last == 2);
		CHECK_RC(retention_load_file(store, "bob", km, &q, &set, err,
		    sizeof(err)), -EBADMSG);
		CHECK_OK(retention_load_file(store, NULL, other, &q, &set,
		    err, sizeof(err)));
		free(v);
	}
	CHECK_OK(retention_clear(store, "alice"));
	CHECK_RC(retention_clear(store, "alice"), -ENOENT);
	CHECK_OK(retention_load(store, "alice", other, &q, &dflt, &set, err,
	    sizeof(err)));
	CHECK(dflt == 1);
	free(t2);
	keymgr_admin_key_free(k);
	keymgr_admin_key_free(ko);
	keymgr_free(km);
	keymgr_free(other);
}

int
main(void)
{
	char cmd[300];

	setenv("TZ", "UTC", 1);
	tzset();
	REQUIRE_OK(keymgr_global_init());
	snprintf(root, sizeof(root), "%s/test_retention.XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	REQUIRE(mkdtemp(root) != NULL);
	test_durations();
	test_rules();
	test_flood();
	test_protections();
	test_files();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (check_failures == 0 && system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", root);
	return check_status();
}
