/*
 * beemofs_snapshot.c -- scheduled snapshots of a long-lived backup
 * session (beemofs.h, beemofs_sched_*; beemo.conf(5), [snapshot] every
 * and at).
 *
 * A backup session takes its snapshot when it ends; a machine whose
 * session stays mounted (a file server writing into it all day) would
 * never get one.  A thread wakes at each due time and takes a snapshot
 * when the live tree changed since the last one, manual ones through
 * the control socket too (store_snapshot_take() with if_changed decides
 * that under the store's lock).  The due times are: the newest
 * snapshot's time plus @every (so that a remount does not restart the
 * period), and each listed local time of
 * day.  A due time with nothing changed is skipped, and looked at again
 * a minute later at most, so that the first change after it is not left
 * for a whole period.
 *
 * Threads: the scheduler's fields are protected by its lock; the store
 * is thread-safe (store.h).  The wait is on CLOCK_REALTIME, the clock of
 * the times it aims at.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "beemofs.h"
#include "bm_err.h"
#include "bm_log.h"
#include "bm_time.h"

#define SCHED_NOTE "scheduled"
#define SCHED_MAX_AT 24
#define SCHED_RECHECK 60 /* seconds after a due time with no change */

struct beemofs_sched {
	store *st;
	uint64_t every;            /* seconds, 0: none */
	int at[SCHED_MAX_AT];      /* minutes after local midnight */
	int nat;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cv;
	int stop;                  /* lock */
	time_t last_wake;          /* the thread's own */
	time_t idle_until;         /* the thread's own: 0 or no sooner */
};

int
beemofs_sched_parse_at(const char *s, int *at, int max)
{
	int n = 0;

	while (*s != '\0') {
		unsigned h, m;
		int len = 0;

		if (*s == ' ' || *s == ',' || *s == '\t') {
			s++;
			continue;
		}
		if (sscanf(s, "%2u:%2u%n", &h, &m, &len) != 2 || len != 5 ||
		    h > 23 || m > 59 || n == max)
			return -EINVAL;
		s += len;
		if (*s != '\0' && *s != ' ' && *s != ',' && *s != '\t')
			return -EINVAL;
		at[n++] = (int)(h * 60 + m);
	}
	return n;
}

/* The first local time of day @minutes strictly after @after. */
static time_t
next_at(time_t after, int minutes)
{
	struct tm tm;
	time_t t;

	localtime_r(&after, &tm);
	for (int day = 0; day < 3; day++) {
		struct tm c = tm;

		c.tm_mday += day;
		c.tm_hour = minutes / 60;
		c.tm_min = minutes % 60;
		c.tm_sec = 0;
		c.tm_isdst = -1;
		if ((t = mktime(&c)) != (time_t)-1 && t > after)
			return t;
	}
	return after + 86400; /* not reached but on a broken zone */
}

/* The newest snapshot's time in seconds, or 0 when none. */
static time_t
newest_snapshot(store *st)
{
	struct store_snapinfo *v = NULL;
	size_t n = 0;
	time_t t = 0;

	if (store_snapshots(st, &v, &n) == 0 && n > 0)
		t = (time_t)(v[n - 1].time / 1000000000ULL);
	free(v);
	return t;
}

static time_t
next_due(struct beemofs_sched *s)
{
	time_t due = 0;

	if (s->every > 0) {
		time_t base = newest_snapshot(s->st);

		due = (base != 0 ? base : s->last_wake) + (time_t)s->every;
	}
	for (int i = 0; i < s->nat; i++) {
		time_t t = next_at(s->last_wake, s->at[i]);

		if (due == 0 || t < due)
			due = t;
	}
	if (due < s->idle_until)
		due = s->idle_until;
	return due;
}

static void
take(struct beemofs_sched *s, time_t now)
{
	struct store_snapinfo want;
	uint32_t id;
	int rc, created;

	memset(&want, 0, sizeof(want));
	snprintf(want.note, sizeof(want.note), "%s", SCHED_NOTE);
	/* Only when the tree changed, decided under the store's lock. */
	rc = store_snapshot_take(s->st, &want, 1, &id, &created);
	if (rc != 0)
		bm_log(LOG_ERR, "scheduled snapshot failed: %s",
		    beemo_strerror(rc));
	else if (created)
		bm_log(LOG_NOTICE, "snapshot %u taken (scheduled)", id);
	s->idle_until = rc == 0 && created ? 0 : now + (s->every > 0 &&
	    s->every < SCHED_RECHECK ? (time_t)s->every : SCHED_RECHECK);
}

static void *
sched_main(void *arg)
{
	struct beemofs_sched *s = arg;

	pthread_mutex_lock(&s->lock);
	while (!s->stop) {
		struct timespec ts = {next_due(s), 0};
		time_t now;

		while (!s->stop && time(NULL) < ts.tv_sec)
			if (pthread_cond_timedwait(&s->cv, &s->lock, &ts) ==
			    ETIMEDOUT)
				break;
		if (s->stop)
			break;
		if ((now = time(NULL)) < ts.tv_sec)
			continue;
		pthread_mutex_unlock(&s->lock);
		take(s, now);
		pthread_mutex_lock(&s->lock);
		s->last_wake = now;
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

int
beemofs_sched_start(struct beemofs_sched **out, store *st,
    const bm_conf *conf)
{
	struct beemofs_sched *s;
	const char *at = bm_conf_get(conf, "snapshot", NULL, "at", NULL);
	int rc;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return -ENOMEM;
	s->st = st;
	s->every = bm_conf_get_u64(conf, "snapshot", NULL, "every", 0);
	if (at != NULL && (s->nat = beemofs_sched_parse_at(at, s->at,
	    SCHED_MAX_AT)) < 0) {
		bm_log(LOG_ERR, "[snapshot] at = %s: not a list of local "
		    "times HH:MM (at most %d)", at, SCHED_MAX_AT);
		free(s);
		return -EINVAL;
	}
	if (s->every == 0 && s->nat == 0) {
		free(s);
		return 0;
	}
	s->last_wake = time(NULL);
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cv, NULL);
	if ((rc = pthread_create(&s->thread, NULL, sched_main, s)) != 0) {
		pthread_cond_destroy(&s->cv);
		pthread_mutex_destroy(&s->lock);
		free(s);
		return -rc;
	}
	*out = s;
	return 0;
}

void
beemofs_sched_stop(struct beemofs_sched *s)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->lock);
	s->stop = 1;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
