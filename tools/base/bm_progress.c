/*
 * bm_progress.c -- the progress line (bm_progress.h).
 *
 * The line starts with "\r\033[K" (carriage return, erase to the end of
 * the line), so each draw replaces the last; erasing writes that alone.
 * With bm_progress_set_json(), each draw is instead one JSON line
 * (json_line()), at most one a second, and the end always writes a
 * final one.  `active` points to the display started last, so that a
 * message can erase its line first.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bm_json.h"
#include "bm_log.h"
#include "bm_progress.h"
#include "bm_time.h"
#include "bm_units.h"

#define DRAW_INTERVAL_NS 250000000ULL
#define JSON_INTERVAL_NS 1000000000ULL

static struct bm_progress *active; /* active_lock */
/* bm_progress_set_json(): set before any thread starts, read only. */
static int json_mode;
static pthread_mutex_t active_lock = PTHREAD_MUTEX_INITIALIZER;

static void
erase_locked(struct bm_progress *p)
{
	if (p->drawn) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
		p->drawn = 0;
	}
}

void
bm_progress_vlog(int prio, const char *fmt, va_list ap)
{
	struct bm_progress *p;

	pthread_mutex_lock(&active_lock);
	p = active;
	if (p != NULL) {
		pthread_mutex_lock(&p->lock);
		erase_locked(p);
	}
	bm_vlog(prio, fmt, ap);
	if (p != NULL)
		pthread_mutex_unlock(&p->lock);
	pthread_mutex_unlock(&active_lock);
}

void
bm_progress_set_json(int on)
{
	json_mode = on;
}

void
bm_progress_start(struct bm_progress *p, const char *label, int quiet,
    uint64_t objs_total, uint64_t bytes_total, bm_progress_tick_fn tick,
    void *tick_arg)
{
	memset(p, 0, sizeof(*p));
	pthread_mutex_init(&p->lock, NULL);
	p->label = label;
	p->enabled = json_mode || (!quiet && isatty(STDERR_FILENO));
	p->c.objs_total = objs_total;
	p->c.bytes_total = bytes_total;
	p->start_ns = bm_mono_ns();
	p->tick = tick;
	p->tick_arg = tick_arg;
	pthread_mutex_lock(&active_lock);
	active = p;
	pthread_mutex_unlock(&active_lock);
}

/* "H:MM:SS" of @secs into @buf. */
static void
clock_str(char *buf, size_t size, uint64_t secs)
{
	snprintf(buf, size, "%llu:%02llu:%02llu",
	    (unsigned long long)(secs / 3600),
	    (unsigned long long)(secs / 60 % 60),
	    (unsigned long long)(secs % 60));
}

size_t
bm_progress_format(char *buf, size_t size, const char *label,
    const struct bm_progress_counts *c, int final)
{
	char done[32], total[32], rate[32], t[32];
	double secs = (double)c->elapsed_ns / 1e9;
	double bps = secs > 0.1 ? (double)c->bytes_done / secs : 0;
	size_t n = 0;

#define PUT(...)                                                           \
	do {                                                               \
		int k_ = snprintf(buf + n, size - n, __VA_ARGS__);        \
		if (k_ > 0)                                                \
			n += (size_t)k_ < size - n ? (size_t)k_ :          \
			    size - n - 1;                                  \
	} while (0)

	if (size == 0)
		return 0;
	buf[0] = '\0';
	bm_human(done, sizeof(done), c->bytes_done);
	bm_human(rate, sizeof(rate), (uint64_t)bps);
	PUT("%s: %s", label, done);
	if (!final && c->bytes_total > 0)
		PUT(" of %s (%.0f%%)", bm_human(total, sizeof(total),
		    c->bytes_total), 100.0 * (double)c->bytes_done /
		    (double)c->bytes_total);
	if (final && c->objs_done > 0)
		PUT(", %llu objects", (unsigned long long)c->objs_done);
	else if (!final && c->objs_total > 0)
		PUT(", %llu/%llu objects", (unsigned long long)c->objs_done,
		    (unsigned long long)c->objs_total);
	if (c->files > 0)
		PUT(", %llu files", (unsigned long long)c->files);
	if (final) {
		clock_str(t, sizeof(t), c->elapsed_ns / 1000000000ULL);
		PUT(" in %s, %s/s", t, rate);
	} else {
		PUT(", %s/s", rate);
		if (bps > 0 && c->bytes_total > c->bytes_done) {
			clock_str(t, sizeof(t), (uint64_t)((double)(c->
			    bytes_total - c->bytes_done) / bps));
			PUT(", ETA %s", t);
		}
	}
#undef PUT
	return n;
}

/* One JSON line of @c (bm_progress_set_json()); nothing to erase. */
static void
json_line(const struct bm_progress *p, const struct bm_progress_counts *c,
    int final)
{
	bm_json j;

	bm_json_init(&j, stderr);
	bm_json_head(&j, "beemo-progress", 1);
	bm_json_str(&j, "label", p->label);
	bm_json_u64(&j, "bytes_done", c->bytes_done);
	bm_json_u64(&j, "bytes_total", c->bytes_total);
	bm_json_u64(&j, "objs_done", c->objs_done);
	bm_json_u64(&j, "objs_total", c->objs_total);
	bm_json_u64(&j, "files", c->files);
	bm_json_u64(&j, "elapsed_s", c->elapsed_ns / 1000000000ULL);
	bm_json_bool(&j, "final", final);
	bm_json_end_obj(&j); /* and the newline */
	fflush(stderr);
}

static void
draw_locked(struct bm_progress *p, uint64_t now, int final)
{
	struct bm_progress_counts c = p->c;
	char line[512];

	c.elapsed_ns = now - p->start_ns;
	if (json_mode) {
		json_line(p, &c, final);
		p->last_draw_ns = now;
		return;
	}
	bm_progress_format(line, sizeof(line), p->label, &c, final);
	fprintf(stderr, "\r\033[K%s%s", line, final ? "\n" : "");
	fflush(stderr);
	p->drawn = !final;
	p->last_draw_ns = now;
}

static void
changed_locked(struct bm_progress *p)
{
	uint64_t now;

	if (!p->enabled)
		return;
	now = bm_mono_ns();
	if (now - p->last_draw_ns >= (json_mode ? JSON_INTERVAL_NS :
	    DRAW_INTERVAL_NS))
		draw_locked(p, now, 0);
}

void
bm_progress_add(struct bm_progress *p, uint64_t bytes, uint64_t objs)
{
	pthread_mutex_lock(&p->lock);
	p->c.bytes_done += bytes;
	p->c.objs_done += objs;
	changed_locked(p);
	pthread_mutex_unlock(&p->lock);
	if (p->tick != NULL)
		p->tick(p->tick_arg, p);
}

void
bm_progress_set(struct bm_progress *p, uint64_t done, uint64_t total,
    uint64_t files)
{
	pthread_mutex_lock(&p->lock);
	p->c.bytes_done = done;
	p->c.bytes_total = total;
	p->c.files = files;
	changed_locked(p);
	pthread_mutex_unlock(&p->lock);
	if (p->tick != NULL)
		p->tick(p->tick_arg, p);
}

void
bm_progress_clear(struct bm_progress *p)
{
	pthread_mutex_lock(&p->lock);
	erase_locked(p);
	if (!json_mode) /* JSON lines stay at most one a second */
		p->last_draw_ns = 0;
	pthread_mutex_unlock(&p->lock);
}

void
bm_progress_read(struct bm_progress *p, struct bm_progress_counts *out)
{
	pthread_mutex_lock(&p->lock);
	*out = p->c;
	pthread_mutex_unlock(&p->lock);
	out->elapsed_ns = bm_mono_ns() - p->start_ns;
}

void
bm_progress_end(struct bm_progress *p, int final)
{
	pthread_mutex_lock(&active_lock);
	if (active == p)
		active = NULL;
	pthread_mutex_unlock(&active_lock);
	pthread_mutex_lock(&p->lock);
	if ((final || json_mode) && p->enabled)
		draw_locked(p, bm_mono_ns(), 1);
	else
		erase_locked(p);
	pthread_mutex_unlock(&p->lock);
	pthread_mutex_destroy(&p->lock);
}
