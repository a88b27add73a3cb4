/*
 * bm_progress.h -- the progress line of long operations on a terminal.
 *
 * Design.  One display for every long operation (beemo-sync push,
 * verify, recover and index rebuild; beemoctl restore, check and
 * rebuild-index): a line on standard error, redrawn at most four times
 * a second by whichever thread accounts work, showing the bytes done of
 * the total, the objects or files, the average rate since the start and
 * the time left at that rate; at the end the line is erased, or replaced
 * by a final line when asked.  It draws only when standard error is a
 * terminal and the operation is not quiet, or as JSON lines after
 * bm_progress_set_json(); the counters are kept either way (a run file
 * may be written from them: bm_status.h).
 *
 * Messages: bm_progress_vlog() erases the line of the active display
 * before logging, so that messages and the line do not mix.  At most one
 * display is active at a time (the last one started).
 *
 * Threads: bm_progress_add, _set, _read and bm_progress_vlog may be
 * called from any thread; _start and _end from one thread while no other
 * uses the display.  Lock order: the active-display lock, then a
 * display's lock, then bm_log's.  The tick hook runs without any of
 * them.
 */
#ifndef BEEMO_BM_PROGRESS_H
#define BEEMO_BM_PROGRESS_H

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* A copy of a display's counters. */
struct bm_progress_counts {
	uint64_t bytes_done, bytes_total;  /* total 0: unknown */
	uint64_t objs_done, objs_total;    /* objs_total 0: not counted */
	uint64_t files;                    /* 0: not counted */
	uint64_t elapsed_ns;               /* since the start */
};

struct bm_progress;
typedef void (*bm_progress_tick_fn)(void *arg, struct bm_progress *p);

struct bm_progress {
	pthread_mutex_t lock;
	const char *label;       /* shown first; kept alive by the caller */
	int enabled;             /* draw (a terminal, not quiet) */
	struct bm_progress_counts c; /* lock (but elapsed_ns) */
	uint64_t start_ns;       /* monotonic */
	uint64_t last_draw_ns;   /* lock */
	int drawn;               /* lock: a line is on the screen */
	bm_progress_tick_fn tick; /* called after each change, or NULL */
	void *tick_arg;
};

/*
 * bm_progress_start -- start display @p for @label with the totals
 * @objs_total and @bytes_total (0: unknown) and make it the active one.
 * @quiet: keep the counters but never draw.  @tick (may be NULL) is
 * called with @tick_arg after every change of the counters, outside the
 * display's lock.
 */
void bm_progress_start(struct bm_progress *p, const char *label, int quiet,
    uint64_t objs_total, uint64_t bytes_total, bm_progress_tick_fn tick,
    void *tick_arg);

/*
 * bm_progress_set_json -- with @on, every display started afterwards
 * writes its progress to standard error as JSON lines instead of a
 * redrawn line, whether or not it is a terminal and even when quiet:
 * at most one line a second and one at the end, each one object
 * {"format":"beemo-progress","version":1,"label":...,"bytes_done":...,
 * "bytes_total":...,"objs_done":...,"objs_total":...,"files":...,
 * "elapsed_s":...,"final":true|false}.  The programs call it from
 * main() for --json, before any thread starts.
 */
void bm_progress_set_json(int on);

/* bm_progress_add -- @bytes and @objs more done. */
void bm_progress_add(struct bm_progress *p, uint64_t bytes, uint64_t objs);

/* bm_progress_set -- @done bytes of @total (0: unknown) and @files files
 * done so far, for operations that count themselves. */
void bm_progress_set(struct bm_progress *p, uint64_t done, uint64_t total,
    uint64_t files);

/* bm_progress_clear -- erase the line now, before a message that does
 * not go through bm_progress_vlog(); the next change redraws it. */
void bm_progress_clear(struct bm_progress *p);

/* bm_progress_read -- a copy of the counters into @out. */
void bm_progress_read(struct bm_progress *p, struct bm_progress_counts *out);

/*
 * bm_progress_end -- stop the display: erase its line, and with @final
 * (when drawing) print a last line with the totals, the time taken and
 * the average rate.  In JSON mode (bm_progress_set_json()) the final
 * line is written whatever @final.  The struct may be started again.
 */
void bm_progress_end(struct bm_progress *p, int final);

/*
 * bm_progress_format -- the line for @c into @buf of @size (always
 * NUL-terminated): "LABEL: DONE of TOTAL (P%), N/M objects, N files,
 * RATE/s, ETA H:MM:SS", each part only when known; with @final,
 * "LABEL: DONE, N objects, N files in H:MM:SS, RATE/s".  Returns
 * strlen(@buf).
 */
size_t bm_progress_format(char *buf, size_t size, const char *label,
    const struct bm_progress_counts *c, int final);

/* bm_progress_vlog -- bm_vlog() after erasing the active display's line
 * (it is redrawn at the next change). */
void bm_progress_vlog(int prio, const char *fmt, va_list ap);

#endif /* BEEMO_BM_PROGRESS_H */
