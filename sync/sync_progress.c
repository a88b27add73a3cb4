/*
 * sync_progress.c -- sync_log(), which keeps messages and the progress
 * line (bm_progress.h) from mixing, and the bandwidth token bucket.
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

void
sync_log(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	bm_progress_vlog(prio, fmt, ap);
	va_end(ap);
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
