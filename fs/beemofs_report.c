/*
 * beemofs_report.c -- what a backup session tells the rest of the
 * appliance: report events, the machine's quotas, and its live status.
 *
 * Events.  The store calls beemofs_report_event() (its store_opts.event
 * hook) when it refuses an infected file, commits one unscanned, fails
 * to commit one, or meets a damaged object -- sometimes from deep inside
 * the store with its index lock held.  So the hook only formats the
 * report and queues it in memory (bounded: REP_QUEUE_MAX, the rest are
 * counted and reported as one); the report thread writes the queue to
 * the spool STORE/reports/spool/ (bm_report_spool; sealed, for reports
 * name files, under the appliance's "reports" subkey), and `beemo-sync
 * maintenance` mails it later.  Nothing here waits on the network or on
 * a mail command, and the same key (virus in one file, damage of one
 * object) is queued at most once per REP_REPEAT_NS.
 *
 * Quotas (the policy is quota.h's).  At start the configuration's limits
 * are applied (quota_apply_conf).  The report thread checks the soft
 * limit every REP_TICK_NS (quota_check): at start it spools the current
 * state of the condition "quota:NAME" (raise or clear: the maintenance
 * cycle ignores a state it already knows), and at each crossing during
 * the session it spools the new state (quota_check journals it).  The
 * control request "quota-set" changes the limits (quota_set) and checks
 * at once.
 *
 * The store's disk.  The report thread compares its free space with
 * the alert threshold of bm_space.h every REP_TICK_NS and spools the
 * state of the appliance's condition "space" at start and at each
 * change; the store itself journals and reports (STORE_EV_SPACE) the
 * first write it refuses under the reserve.
 *
 * Live status.  The control socket's "stats" request answers with the
 * machine status (bm_mstatus_json, bm_status.h) at once; beemofs is the
 * writer of the machine's status file STORE/run/machine-NAME.json
 * (bm_mstatus_write): at start, every REP_STATUS_NS and at the end (with
 * "mounted": false), for `beemoctl status` and `metrics` to show
 * machines that are not mounted.
 *
 * Threads: the hook runs on any store thread, the control requests on
 * the socket's thread, the rest on the report thread.  r->lock protects
 * the queue, the recent keys, stop and over, and is never held while
 * calling the store; r->qlock makes one quota check at a time (lock
 * order: qlock, then the store's locks, then lock).
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "beemofs.h"
#include "bm_conf.h"
#include "bm_err.h"
#include "bm_esc.h"
#include "bm_file.h"
#include "bm_log.h"
#include "bm_report.h"
#include "bm_status.h"
#include "bm_time.h"
#include "bm_units.h"
#include "scan.h"

#define REP_QUEUE_MAX 256
#define REP_RECENT 64
#define REP_REPEAT_NS (600ULL * 1000000000ULL)  /* same key: 10 min */
#define REP_TICK_NS (1000000000ULL)             /* quota check */
#define REP_STATUS_NS (5ULL * 1000000000ULL)    /* status file */
#define REP_REFUSED_MAX 1000

struct rep_event {
	char *kind, *key, *subject, *text;
};

struct beemofs_report {
	uint8_t *key;                /* of the spool; secure heap */
	char store[PATH_MAX];
	char machine[80];
	const bm_conf *conf;
	store *st;                   /* set by start */
	struct scan_engine *av;
	pthread_mutex_t lock;
	pthread_cond_t cv;
	struct rep_event q[REP_QUEUE_MAX]; /* lock */
	size_t nq;                   /* lock */
	uint64_t dropped;            /* lock: queue full */
	struct {
		uint64_t hash, at;    /* of a key queued recently */
	} recent[REP_RECENT];        /* lock */
	unsigned next_recent;        /* lock */
	pthread_mutex_t qlock;       /* serializes check_quota() */
	int over;                    /* lock: over soft: -1 unknown */
	int space_low;               /* report thread: -1 unknown */
	int stop;                    /* lock */
	/* Files refused by the antivirus in this session, for the session's
	 * end summary (beemofs_report_refused_json): at most REP_REFUSED_MAX
	 * named, all counted.  lock. */
	struct {
		char *path, *virus;
	} refused[REP_REFUSED_MAX];
	size_t nrefused_named;
	uint64_t nrefused;
	int started;
	pthread_t th;
};

/* ---- events -------------------------------------------------------------- */

static void
event_free(struct rep_event *e)
{
	free(e->kind);
	free(e->key);
	free(e->subject);
	free(e->text);
	memset(e, 0, sizeof(*e));
}

/* FNV-1a: keys are remembered by a 64-bit hash (a collision only
 * delays one report by REP_REPEAT_NS at worst). */
static uint64_t
key_hash(const char *key)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *key != '\0'; key++)
		h = (h ^ (unsigned char)*key) * 1099511628211ULL;
	return h;
}

/* Queue one report (takes r->lock).  A @key queued within
 * REP_REPEAT_NS is dropped. */
static void
queue(struct beemofs_report *r, const char *kind, const char *key,
    const char *subject, const char *text)
{
	struct rep_event e;
	uint64_t now = bm_now_ns(), h = key_hash(key);
	unsigned i;

	pthread_mutex_lock(&r->lock);
	for (i = 0; i < REP_RECENT; i++) {
		if (r->recent[i].hash == h && r->recent[i].at != 0 &&
		    now - r->recent[i].at < REP_REPEAT_NS) {
			pthread_mutex_unlock(&r->lock);
			return;
		}
	}
	i = r->next_recent++ % REP_RECENT;
	r->recent[i].hash = h;
	r->recent[i].at = now;
	if (r->nq == REP_QUEUE_MAX) {
		r->dropped++;
		pthread_mutex_unlock(&r->lock);
		return;
	}
	e.kind = strdup(kind);
	e.key = strdup(key);
	e.subject = strdup(subject);
	e.text = strdup(text);
	if (!e.kind || !e.key || !e.subject || !e.text) {
		event_free(&e);
		r->dropped++;
	} else {
		r->q[r->nq++] = e;
		pthread_cond_signal(&r->cv);
	}
	pthread_mutex_unlock(&r->lock);
}

/* Count (and name, up to REP_REFUSED_MAX) a file the antivirus refused,
 * for the end-of-session summary; raw names: the summary is JSON. */
static void
remember_refused(struct beemofs_report *r, const char *path,
    const char *virus)
{
	char *p = strdup(path ? path : ""), *v = strdup(virus ? virus : "");

	pthread_mutex_lock(&r->lock);
	r->nrefused++;
	if (p != NULL && v != NULL && r->nrefused_named < REP_REFUSED_MAX) {
		r->refused[r->nrefused_named].path = p;
		r->refused[r->nrefused_named].virus = v;
		r->nrefused_named++;
		p = v = NULL;
	}
	pthread_mutex_unlock(&r->lock);
	free(p);
	free(v);
}

void
beemofs_report_refused_json(struct beemofs_report *r, bm_json *j)
{
	size_t i;

	bm_json_begin_arr(j, "refused");
	if (r != NULL)
		pthread_mutex_lock(&r->lock);
	for (i = 0; r != NULL && i < r->nrefused_named; i++) {
		bm_json_begin_obj(j, NULL);
		bm_json_str(j, "path", r->refused[i].path);
		bm_json_str(j, "virus", r->refused[i].virus);
		bm_json_end_obj(j);
	}
	bm_json_end_arr(j);
	bm_json_u64(j, "refused_count", r != NULL ? r->nrefused : 0);
	if (r != NULL)
		pthread_mutex_unlock(&r->lock);
}

static void
event_hook(void *ctx, enum store_event ev, const char *path,
    const char *detail)
{
	struct beemofs_report *r = ctx;
	char key[4500], subject[4500], text[9000], when[32];
	char *p = NULL, *d = NULL;
	const char *m = r->machine, *kind;

	/* Reports become mail and lines of `beemoctl status`: the names of
	 * clients in them are escaped (bm_esc.h), each one line. */
	p = bm_esc_dup(path ? path : "(no file)");
	d = bm_esc_dup(detail ? detail : "");
	if (p == NULL || d == NULL) {
		pthread_mutex_lock(&r->lock);
		r->dropped++;
		pthread_mutex_unlock(&r->lock);
		goto out;
	}
	bm_time_str(when, sizeof(when), bm_now_ns());
	switch (ev) {
	case STORE_EV_VIRUS:
		remember_refused(r, path, detail);
		kind = "virus";
		snprintf(key, sizeof(key), "virus:%s:%s:%s", m, p, d);
		snprintf(subject, sizeof(subject), "%s: virus %s found in %s",
		    m, d, p);
		snprintf(text, sizeof(text), "At %s the antivirus found %s in "
		    "%s, written to the backup of machine %s.\nThe file was "
		    "refused: it is not backed up, and the earlier version, "
		    "if any,\nis kept.  The client saw its close() fail.\n",
		    when, d, p, m);
		break;
	case STORE_EV_UNSCANNED:
		kind = "unscanned";
		snprintf(key, sizeof(key), "unscanned:%s:%s", m, p);
		snprintf(subject, sizeof(subject), "%s: %s backed up without "
		    "antivirus scan", m, p);
		snprintf(text, sizeof(text), "At %s the file %s of machine %s "
		    "was backed up without an\nantivirus scan: %s ([scan] "
		    "max_file_size).\n", when, p, m, d);
		break;
	case STORE_EV_COMMIT_FAIL:
		kind = "error";
		snprintf(key, sizeof(key), "backup:%s:%s:%s", m, p, d);
		snprintf(subject, sizeof(subject), "%s: backup of %s failed",
		    m, p);
		snprintf(text, sizeof(text), "At %s the file %s of machine %s "
		    "could not be backed up: %s.\nThe earlier version, if "
		    "any, is kept.\n", when, p, m, d);
		break;
	case STORE_EV_LOST: {
		/* One report per failure (the time makes the key), as long
		 * as the list of what was lost. */
		size_t n = strlen(d) + 256;
		char *t = malloc(n);

		snprintf(key, sizeof(key), "lost:%s:%" PRIu64, m,
		    bm_now_ns());
		snprintf(subject, sizeof(subject), "%s: changes lost: the "
		    "store could not commit", m);
		if (t != NULL)
			snprintf(t, n, "At %s the store of machine %s could "
			    "not commit its changes.\n%s", when, m, d);
		queue(r, "error", key, subject, t != NULL ? t : d);
		free(t);
		goto out;
	}
	case STORE_EV_SPACE:
		kind = "space";
		snprintf(key, sizeof(key), "full:%s", m);
		snprintf(subject, sizeof(subject), "%s: the store's disk is "
		    "full: backups fail", m);
		snprintf(text, sizeof(text), "At %s %s.\nBackups of machine "
		    "%s fail until space is freed on that disk, or the store "
		    "moves to a larger one.\n", when, d, m);
		break;
	case STORE_EV_DAMAGE:
		kind = "damage";
		snprintf(key, sizeof(key), "damage:%s:%s", m, d);
		snprintf(subject, sizeof(subject), "%s: damaged data in the "
		    "store (%s)", m, d);
		snprintf(text, sizeof(text), "At %s the store of machine %s "
		    "met a damaged object: %s%s%s.\nRun `beemoctl check %s "
		    "--read-data` to list what it affects.\n", when, m, d,
		    path ? ", reading " : "", path ? p : "", m);
		break;
	default:
		goto out;
	}
	queue(r, kind, key, subject, text);
out:
	free(p);
	free(d);
}

/* ---- quotas (the policy is quota.h's) ---------------------------------- */

/*
 * Compare the stored bytes with the soft limit; spool the state of
 * "quota:NAME" at the first check and at each change (quota_check
 * journals each change).
 */
static void
check_quota(struct beemofs_report *r)
{
	struct quota_state q;
	int was, rc;

	pthread_mutex_lock(&r->qlock);
	pthread_mutex_lock(&r->lock);
	was = r->over;
	pthread_mutex_unlock(&r->lock);
	if (quota_check(r->st, r->machine, was, &q) != 1)
		goto out;
	pthread_mutex_lock(&r->lock);
	r->over = q.over;
	pthread_mutex_unlock(&r->lock);
	if ((rc = bm_report_spool(r->store, r->key, &q.report)) != 0)
		bm_log(LOG_ERR, "%s: cannot spool the quota report: %s",
		    r->store, beemo_strerror(rc));
out:
	pthread_mutex_unlock(&r->qlock);
}

/* ---- the store's disk (the policy is bm_space.h's) ---------------------- */

/*
 * Compare the free space of the store's file system with the alert
 * threshold; spool the state of the appliance's condition "space" at
 * the first check and at each change (every session does; the
 * maintenance run mails a state once).  Report thread only.
 */
static void
check_space(struct beemofs_report *r)
{
	char subject[256], text[PATH_MAX + 512];
	struct bm_report rep;
	int rc;

	if (bm_report_space(r->conf, r->store, &rep, subject, sizeof(subject),
	    text, sizeof(text)) != 0)
		return;
	if ((rep.state == BM_REPORT_RAISE) == r->space_low)
		return;
	r->space_low = rep.state == BM_REPORT_RAISE;
	if ((rc = bm_report_spool(r->store, r->key, &rep)) != 0)
		bm_log(LOG_ERR, "%s: cannot spool the space report: %s",
		    r->store, beemo_strerror(rc));
}

/* ---- live status --------------------------------------------------------- */

/* The machine's status now, as a session that runs (@mounted) or
 * ends. */
static int
status_get(struct beemofs_report *r, int mounted, struct bm_mstatus *out)
{
	struct bm_mstatus m;
	struct store_stats s;
	struct store_session ss;
	int rc;

	memset(&m, 0, sizeof(m));
	if ((rc = store_stats(r->st, &s)) != 0)
		return rc;
	store_session_counts(r->st, &ss);
	bm_status_copy(m.machine, sizeof(m.machine), r->machine);
	m.mounted = mounted;
	m.pid = mounted ? (long)getpid() : 0;
	m.updated = bm_now_ns();
	m.session = mounted ? ss.id : 0;
	m.session_files = s.session_files;
	m.session_bytes = s.session_bytes;
	m.added = ss.added;
	m.changed = ss.changed;
	m.deleted = ss.deleted;
	m.renamed = ss.renamed;
	m.files = s.files;
	m.dirs = s.dirs;
	m.bytes = s.bytes;
	m.stored = s.stored;
	m.used = s.used;
	m.quota_limit = s.quota_limit;
	m.packs = s.packs;
	m.snapshots = s.snapshots;
	m.last_snapshot = s.last_snapshot;
	m.reclaimable = s.reclaimable;
	m.reclaimable_time = s.reclaimable_time;
	(void)store_quota_get(r->st, &m.quota_soft, &m.quota_hard);
	m.signatures = r->av ? scan_signature_count(r->av) : 0;
	*out = m;
	return 0;
}

static void
write_status(struct beemofs_report *r, int mounted)
{
	struct bm_mstatus m;
	int rc;

	if ((rc = status_get(r, mounted, &m)) == 0)
		rc = bm_mstatus_write(r->store, &m);
	if (rc != 0)
		bm_log(LOG_WARNING, "cannot write the status file of %s in "
		    "%s/run: %s", r->machine, r->store, beemo_strerror(rc));
}

/* ---- the thread ---------------------------------------------------------- */

static void
spool_all(struct beemofs_report *r)
{
	struct rep_event q[REP_QUEUE_MAX];
	uint64_t dropped;
	size_t n, i;
	int rc;

	pthread_mutex_lock(&r->lock);
	n = r->nq;
	memcpy(q, r->q, n * sizeof(q[0]));
	r->nq = 0;
	dropped = r->dropped;
	r->dropped = 0;
	pthread_mutex_unlock(&r->lock);
	for (i = 0; i < n; i++) {
		struct bm_report rep = {q[i].kind, r->machine, q[i].key,
		    BM_REPORT_EVENT, q[i].subject, q[i].text};

		if ((rc = bm_report_spool(r->store, r->key, &rep)) != 0)
			bm_log(LOG_ERR, "cannot spool a report of %s: %s",
			    r->machine, beemo_strerror(rc));
		event_free(&q[i]);
	}
	if (dropped > 0) {
		char key[128], subject[256];
		struct bm_report rep = {"error", r->machine, key,
		    BM_REPORT_EVENT, subject, "The journal of the machine "
		    "lists them (beemoctl journal).\n"};

		snprintf(key, sizeof(key), "dropped:%s:%" PRIu64, r->machine,
		    bm_now_ns());
		snprintf(subject, sizeof(subject), "%s: %" PRIu64 " more "
		    "events were not reported one by one", r->machine,
		    dropped);
		(void)bm_report_spool(r->store, r->key, &rep);
	}
}

static void *
report_thread(void *arg)
{
	struct beemofs_report *r = arg;
	uint64_t last_status = 0, last_quota = 0;
	struct timespec ts;
	int stop;

	for (;;) {
		pthread_mutex_lock(&r->lock);
		if (!r->stop && r->nq == 0) {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 1;
			pthread_cond_timedwait(&r->cv, &r->lock, &ts);
		}
		stop = r->stop;
		pthread_mutex_unlock(&r->lock);
		spool_all(r);
		if (stop)
			break;
		if (bm_mono_ns() - last_quota >= REP_TICK_NS) {
			last_quota = bm_mono_ns();
			check_quota(r);
			check_space(r);
		}
		if (bm_mono_ns() - last_status >= REP_STATUS_NS) {
			last_status = bm_mono_ns();
			write_status(r, 1);
		}
	}
	return NULL;
}

/* ---- the interface ------------------------------------------------------- */

int
beemofs_report_init(struct beemofs_report **out, const char *storedir,
    const char *machine, const bm_conf *conf, keymgr *km,
    struct store_opts *so)
{
	struct beemofs_report *r;
	int rc;

	*out = NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return -ENOMEM;
	if ((r->key = OPENSSL_secure_malloc(KEYMGR_SECRET_LEN)) == NULL) {
		free(r);
		return -ENOMEM;
	}
	if ((rc = keymgr_appliance_subkey(km, "reports", r->key)) != 0) {
		bm_log(LOG_ERR, "the key of the report spool: %s",
		    keymgr_errmsg(km));
		goto fail;
	}
	rc = -ENAMETOOLONG;
	if (bm_path(r->store, sizeof(r->store), "%s", storedir) != 0 ||
	    bm_path(r->machine, sizeof(r->machine), "%s", machine) != 0)
		goto fail;
	r->conf = conf;
	r->over = -1;
	r->space_low = -1;
	pthread_mutex_init(&r->lock, NULL);
	pthread_mutex_init(&r->qlock, NULL);
	pthread_cond_init(&r->cv, NULL);
	so->event = event_hook;
	so->event_ctx = r;
	*out = r;
	return 0;

fail:
	OPENSSL_secure_clear_free(r->key, KEYMGR_SECRET_LEN);
	free(r);
	return rc;
}

int
beemofs_report_start(struct beemofs_report *r, store *st,
    struct scan_engine *av)
{
	int rc;

	if (r == NULL)
		return 0;
	r->st = st;
	r->av = av;
	if ((rc = quota_apply_conf(st, r->conf, r->machine)) != 0)
		bm_log(LOG_ERR, "cannot apply the quota of [machine %s]: %s",
		    r->machine, beemo_strerror(rc));
	check_quota(r);
	check_space(r);
	write_status(r, 1);
	if ((rc = -pthread_create(&r->th, NULL, report_thread, r)) != 0) {
		bm_log(LOG_ERR, "cannot start the report thread: %s",
		    beemo_strerror(rc));
		return rc;
	}
	r->started = 1;
	return 0;
}

void
beemofs_report_stop(struct beemofs_report *r)
{
	size_t i;

	if (r == NULL)
		return;
	if (r->started) {
		pthread_mutex_lock(&r->lock);
		r->stop = 1;
		pthread_cond_signal(&r->cv);
		pthread_mutex_unlock(&r->lock);
		pthread_join(r->th, NULL);
		check_quota(r);
		write_status(r, 0);
	}
	for (i = 0; i < r->nq; i++)
		event_free(&r->q[i]);
	for (i = 0; i < r->nrefused_named; i++) {
		free(r->refused[i].path);
		free(r->refused[i].virus);
	}
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->qlock);
	pthread_mutex_destroy(&r->lock);
	OPENSSL_secure_clear_free(r->key, KEYMGR_SECRET_LEN);
	free(r);
}

void
beemofs_report_error(struct beemofs_report *r, const char *what,
    const char *subject, const char *text)
{
	char key[256], line[BM_ESC_SIZE(512)];

	if (r == NULL)
		return;
	/* Each failure is an event of its own. */
	snprintf(key, sizeof(key), "%s:%s:%" PRIu64, what, r->machine,
	    bm_now_ns());
	bm_esc(line, sizeof(line), subject);
	queue(r, "error", key, line, text);
}

int
beemofs_report_stats(struct beemofs_report *r, char **json)
{
	struct bm_mstatus m;
	size_t len;
	int rc;

	if ((rc = status_get(r, 1, &m)) != 0)
		return rc;
	return bm_mstatus_json(&m, json, &len);
}

int
beemofs_report_quota_set(struct beemofs_report *r,
    const struct quota_change *c, char *msg, size_t size)
{
	int rc;

	if ((rc = quota_set(r->st, r->conf, r->machine, c, "admin", msg,
	    size)) != 0)
		return rc;
	check_quota(r);
	return 0;
}
