/*
 * sync_pool.c -- several SSH connections to one target, each in its own
 * thread, taking objects from one shared queue.
 *
 * On loopback and on fast links one SSH connection is bound by one CPU
 * (cipher, MAC, and the server's single-threaded sftp-server); several
 * connections use several.  Jobs are handed out in queue order (callers
 * put the big objects first), so the connections finish together.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bm_log.h"
#include "sync.h"

struct pool {
	const struct sync_target *t;
	struct sync_obj **jobs;
	size_t njobs;
	sync_job_fn fn;
	void *arg;
	pthread_mutex_t lock;
	size_t next;       /* next job to hand out; protected by lock */
	int first_err;     /* protected by lock */
};

struct worker {
	struct pool *p;
	pthread_t tid;
	int started;
};

static struct sync_obj *
take(struct pool *p)
{
	struct sync_obj *o = NULL;

	pthread_mutex_lock(&p->lock);
	if (p->next < p->njobs)
		o = p->jobs[p->next++];
	pthread_mutex_unlock(&p->lock);
	return o;
}

static void
work(struct pool *p, sync_conn *c)
{
	struct sync_obj *o;

	while (!sync_conn_broken(c) && (o = take(p)) != NULL) {
		int rc = p->fn(c, o, p->arg);

		o->rc = rc;
		if (rc != 0) {
			pthread_mutex_lock(&p->lock);
			if (p->first_err == 0)
				p->first_err = rc;
			pthread_mutex_unlock(&p->lock);
		}
	}
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	sync_conn *c;

	if (sync_conn_open(w->p->t, 0, &c) != 0) {
		sync_log(LOG_WARNING, "target %s: continuing with fewer "
		    "connections", w->p->t->name);
		return NULL;
	}
	work(w->p, c);
	sync_conn_close(c);
	return NULL;
}

int
sync_pool_run(const struct sync_target *t, sync_conn *first,
    struct sync_obj **jobs, size_t njobs, sync_job_fn fn, void *arg)
{
	struct worker w[SYNC_MAX_CONN];
	struct pool p;
	size_t i, nw, left;
	int rc;

	memset(&p, 0, sizeof(p));
	p.t = t;
	p.jobs = jobs;
	p.njobs = njobs;
	p.fn = fn;
	p.arg = arg;
	pthread_mutex_init(&p.lock, NULL);
	for (i = 0; i < njobs; i++)
		jobs[i]->rc = -ECANCELED;
	nw = t->connections > njobs ? njobs : t->connections;
	memset(w, 0, sizeof(w));
	for (i = 1; i < nw; i++) {
		w[i].p = &p;
		w[i].started = pthread_create(&w[i].tid, NULL, worker_main,
		    &w[i]) == 0;
	}
	work(&p, first);
	for (i = 1; i < nw; i++)
		if (w[i].started)
			pthread_join(w[i].tid, NULL);
	left = njobs - p.next;
	if (left > 0) {
		sync_log(LOG_ERR, "target %s: %zu objects were not "
		    "transferred (no connection left)", t->name, left);
		if (p.first_err == 0)
			p.first_err = -ECANCELED;
	}
	rc = p.first_err;
	pthread_mutex_destroy(&p.lock);
	return rc;
}
