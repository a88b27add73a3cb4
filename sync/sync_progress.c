/*
 * sync_progress.c -- the progress line on a terminal, the bandwidth
 * token bucket, and sync_log() which keeps the two from mixing.
 *
 * The progress line is redrawn at most four times a second by whichever
 * thread accounts bytes; it shows bytes and objects done of the total,
 * the average rate since the start and the time left at that rate.
 * Only one progress display is active at a time (targets are handled one
 * after the other); `active` points to it so that sync_log() can erase
 * it before a message.  Lock order: progress lock, then bm_log's.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bm_log.h"
#include "bm_time.h"
#include "bm_units.h"
#include "sync.h"

#define DRAW_INTERVAL_NS 250000000ULL

static struct sync_progress *active; /* protected by active_lock */
static pthread_mutex_t active_lock = PTHREAD_MUTEX_INITIALIZER;

static void
erase_locked(struct sync_progress *p)
{
	if (p->drawn) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
		p->drawn = 0;
	}
}

void
sync_log(int prio, const char *fmt, ...)
{
	va_list ap;
	struct sync_progress *p;

	pthread_mutex_lock(&active_lock);
	p = active;
	if (p != NULL) {
		pthread_mutex_lock(&p->lock);
		erase_locked(p);
	}
	va_start(ap, fmt);
	bm_vlog(prio, fmt, ap);
	va_end(ap);
	if (p != NULL)
		pthread_mutex_unlock(&p->lock);
	pthread_mutex_unlock(&active_lock);
}

void
sync_progress_start(struct sync_progress *p, int enabled, const char *label,
    uint64_t objs_total, uint64_t bytes_total)
{
	memset(p, 0, sizeof(*p));
	pthread_mutex_init(&p->lock, NULL);
	p->enabled = enabled;
	p->label = label;
	p->objs_total = objs_total;
	p->bytes_total = bytes_total;
	p->start_ns = bm_mono_ns();
	pthread_mutex_lock(&active_lock);
	active = p;
	pthread_mutex_unlock(&active_lock);
}

static void
draw_locked(struct sync_progress *p, uint64_t now)
{
	char done[32], total[32], rate[32], eta[32] = "";
	double secs = (double)(now - p->start_ns) / 1e9;
	double bps = secs > 0.1 ? (double)p->bytes_done / secs : 0;

	bm_human(done, sizeof(done), p->bytes_done);
	bm_human(total, sizeof(total), p->bytes_total);
	bm_human(rate, sizeof(rate), (uint64_t)bps);
	if (bps > 0 && p->bytes_total > p->bytes_done) {
		uint64_t left = (uint64_t)((double)(p->bytes_total -
		    p->bytes_done) / bps);

		snprintf(eta, sizeof(eta), ", ETA %llu:%02llu:%02llu",
		    (unsigned long long)(left / 3600),
		    (unsigned long long)(left / 60 % 60),
		    (unsigned long long)(left % 60));
	}
	fprintf(stderr, "\r\033[K%s: %s / %s, %llu/%llu objects, %s/s%s",
	    p->label, done, total, (unsigned long long)p->objs_done,
	    (unsigned long long)p->objs_total, rate, eta);
	fflush(stderr);
	p->drawn = 1;
	p->last_draw_ns = now;
}

static void
maybe_draw_locked(struct sync_progress *p)
{
	uint64_t now;

	if (!p->enabled)
		return;
	now = bm_mono_ns();
	if (now - p->last_draw_ns >= DRAW_INTERVAL_NS)
		draw_locked(p, now);
}

void
sync_progress_bytes(struct sync_progress *p, uint64_t n)
{
	pthread_mutex_lock(&p->lock);
	p->bytes_done += n;
	maybe_draw_locked(p);
	pthread_mutex_unlock(&p->lock);
	sync_run_note(p, 0);
}

void
sync_progress_obj(struct sync_progress *p)
{
	pthread_mutex_lock(&p->lock);
	p->objs_done++;
	maybe_draw_locked(p);
	pthread_mutex_unlock(&p->lock);
	sync_run_note(p, 0);
}

void
sync_progress_end(struct sync_progress *p)
{
	pthread_mutex_lock(&active_lock);
	if (active == p)
		active = NULL;
	pthread_mutex_unlock(&active_lock);
	pthread_mutex_lock(&p->lock);
	erase_locked(p);
	pthread_mutex_unlock(&p->lock);
	pthread_mutex_destroy(&p->lock);
}

/* ---- bandwidth ----------------------------------------------------- */

void
sync_bw_init(struct sync_bw *bw, uint64_t rate)
{
	memset(bw, 0, sizeof(*bw));
	pthread_mutex_init(&bw->lock, NULL);
	bw->rate = rate;
	bw->last_ns = bm_mono_ns();
}

void
sync_bw_destroy(struct sync_bw *bw)
{
	pthread_mutex_destroy(&bw->lock);
}

void
sync_bw_take(struct sync_bw *bw, uint64_t n)
{
	double debt, cap;
	uint64_t now;

	if (bw->rate == 0)
		return;
	pthread_mutex_lock(&bw->lock);
	now = bm_mono_ns();
	cap = (double)bw->rate / 4;
	bw->tokens += (double)(now - bw->last_ns) * (double)bw->rate / 1e9;
	if (bw->tokens > cap)
		bw->tokens = cap;
	bw->last_ns = now;
	bw->tokens -= (double)n;
	debt = bw->tokens < 0 ? -bw->tokens : 0;
	pthread_mutex_unlock(&bw->lock);
	if (debt > 0) {
		/* Sleep off our share of the debt; a later taker sees the
		 * tokens already spent and sleeps longer, so the rate holds
		 * across threads. */
		double secs = debt / (double)bw->rate;
		struct timespec ts;

		ts.tv_sec = (time_t)secs;
		ts.tv_nsec = (long)((secs - (double)ts.tv_sec) * 1e9);
		while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			;
	}
}
