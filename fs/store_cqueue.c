/*
 * store_cqueue.c -- the background commit queue (store_cqueue.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "store_cqueue.h"
#include "store_file.h"
#include "store_internal.h"

/* At most this many files, or this many bytes of their pending changes,
 * are queued: beyond, a close waits. */
#define CQ_FILES_MAX 64
#define CQ_BYTES_MAX (16ULL << 20)

struct cq_job {
	struct ofile *of;
	uint64_t bytes;
	uint64_t seq;       /* order of queueing, from 1 */
	struct cq_job *next;
};

struct cqueue {
	pthread_t *th;
	unsigned n;
	pthread_mutex_t lock;
	pthread_cond_t work;  /* a job was queued, or stop */
	pthread_cond_t room;  /* a job ended: room, or drained */
	struct cq_job *head, *tail;
	uint64_t *running;    /* per thread: seq of its job, 0: idle */
	uint64_t pushed;      /* seq of the last job queued */
	unsigned queued;      /* jobs queued or running */
	uint64_t bytes;       /* their bytes */
	int stop;
};

struct cq_arg {
	store *st;
	unsigned idx;
};

static void *
cq_thread(void *arg)
{
	store *st = ((struct cq_arg *)arg)->st;
	struct cqueue *q = st->cq;
	uint64_t *mine = &q->running[((struct cq_arg *)arg)->idx];
	struct cq_job *j;

	free(arg);
	pthread_mutex_lock(&q->lock);
	for (;;) {
		while (q->head == NULL && !q->stop)
			pthread_cond_wait(&q->work, &q->lock);
		if ((j = q->head) == NULL)
			break; /* stop, and nothing left */
		if ((q->head = j->next) == NULL)
			q->tail = NULL;
		*mine = j->seq;
		pthread_mutex_unlock(&q->lock);
		/* Logs, journals and reports its own failures. */
		(void)file_commit_queued(st, j->of);
		ofile_put(st, j->of);
		pthread_mutex_lock(&q->lock);
		*mine = 0;
		q->queued--;
		q->bytes -= j->bytes;
		free(j);
		pthread_cond_broadcast(&q->room);
	}
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

int
cq_start(store *st)
{
	struct cqueue *q;
	unsigned i;
	int rc;

	if (st->opts.commit_threads == 0)
		return 0;
	if ((q = calloc(1, sizeof(*q))) == NULL ||
	    (q->th = calloc(st->opts.commit_threads, sizeof(*q->th))) == NULL ||
	    (q->running = calloc(st->opts.commit_threads,
	    sizeof(*q->running))) == NULL) {
		if (q != NULL)
			free(q->th);
		free(q);
		return -ENOMEM;
	}
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->work, NULL);
	pthread_cond_init(&q->room, NULL);
	st->cq = q;
	for (i = 0; i < st->opts.commit_threads; i++) {
		struct cq_arg *a = malloc(sizeof(*a));

		if (a == NULL) {
			cq_stop(st);
			return -ENOMEM;
		}
		a->st = st;
		a->idx = i;
		if ((rc = pthread_create(&q->th[i], NULL, cq_thread, a)) != 0) {
			free(a);
			cq_stop(st);
			return -rc;
		}
		q->n++;
	}
	return 0;
}

void
cq_stop(store *st)
{
	struct cqueue *q = st->cq;
	unsigned i;

	if (q == NULL)
		return;
	pthread_mutex_lock(&q->lock);
	q->stop = 1;
	pthread_cond_broadcast(&q->work);
	pthread_mutex_unlock(&q->lock);
	for (i = 0; i < q->n; i++)
		pthread_join(q->th[i], NULL);
	st->cq = NULL;
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->work);
	pthread_cond_destroy(&q->room);
	free(q->th);
	free(q->running);
	free(q);
}

void
cq_push(store *st, struct ofile *of, uint64_t bytes)
{
	struct cqueue *q = st->cq;
	struct cq_job *j;

	if (bytes > CQ_BYTES_MAX)
		bytes = CQ_BYTES_MAX;
	if ((j = malloc(sizeof(*j))) == NULL) {
		/* No memory for the job: commit here, as without a queue. */
		(void)file_commit_queued(st, of);
		ofile_put(st, of);
		return;
	}
	j->of = of;
	j->bytes = bytes;
	j->next = NULL;
	pthread_mutex_lock(&q->lock);
	while (q->queued > 0 && (q->queued >= CQ_FILES_MAX ||
	    q->bytes + bytes > CQ_BYTES_MAX))
		pthread_cond_wait(&q->room, &q->lock);
	q->queued++;
	q->bytes += bytes;
	j->seq = ++q->pushed;
	if (q->tail != NULL)
		q->tail->next = j;
	else
		q->head = j;
	q->tail = j;
	pthread_cond_signal(&q->work);
	pthread_mutex_unlock(&q->lock);
}

/* Whether a job queued up to @seq is still queued or running (q->lock
 * held).  Jobs leave the queue in order, so the head is the oldest. */
static int
cq_pending(const struct cqueue *q, uint64_t seq)
{
	unsigned i;

	if (q->head != NULL && q->head->seq <= seq)
		return 1;
	for (i = 0; i < q->n; i++)
		if (q->running[i] != 0 && q->running[i] <= seq)
			return 1;
	return 0;
}

uint64_t
cq_pushed(store *st)
{
	struct cqueue *q = st->cq;
	uint64_t n;

	if (q == NULL)
		return 0;
	pthread_mutex_lock(&q->lock);
	n = q->pushed;
	pthread_mutex_unlock(&q->lock);
	return n;
}

int
cq_done_upto(store *st, uint64_t upto)
{
	struct cqueue *q = st->cq;
	int done;

	if (q == NULL)
		return 1;
	pthread_mutex_lock(&q->lock);
	done = !cq_pending(q, upto);
	pthread_mutex_unlock(&q->lock);
	return done;
}

int
cq_drain_upto(store *st, uint64_t upto, unsigned ms)
{
	struct cqueue *q = st->cq;
	struct timespec ts;
	int rc = 0;

	if (q == NULL)
		return 0;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&q->lock);
	while (rc == 0 && cq_pending(q, upto))
		rc = ms == 0 ? pthread_cond_wait(&q->room, &q->lock) :
		    pthread_cond_timedwait(&q->room, &q->lock, &ts);
	rc = cq_pending(q, upto) ? -ETIMEDOUT : 0;
	pthread_mutex_unlock(&q->lock);
	return rc;
}

void
cq_drain(store *st)
{
	/* Only what is queued now: files closed meanwhile do not hold up
	 * a snapshot taken while a session runs. */
	(void)cq_drain_upto(st, cq_pushed(st), 0);
}

int
cq_active(store *st)
{
	return st->cq != NULL;
}
