/*
 * quota.c -- the quota policy (see quota.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bm_log.h"
#include "bm_units.h"
#include "quota.h"

static void
journal(store *st, const char *who, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
journal(store *st, const char *who, const char *fmt, ...)
{
	struct store_journal_entry e;
	char summary[512];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(summary, sizeof(summary), fmt, ap);
	va_end(ap);
	memset(&e, 0, sizeof(e));
	e.type = "quota";
	e.who = who;
	e.summary = summary;
	if ((rc = store_journal_add(st, &e)) != 0)
		bm_log(LOG_WARNING, "%s: cannot journal: %s", summary,
		    beemo_strerror(rc));
}

static int
conf_has(const bm_conf *conf, const char *machine, const char *key)
{
	return conf != NULL && bm_conf_get(conf, "machine", machine, key,
	    NULL) != NULL;
}

int
quota_conf_check(const bm_conf *conf, const char *machine,
    const struct quota_change *c, char *msg, size_t size)
{
	const char *key = c->set_soft && conf_has(conf, machine,
	    "quota_soft") ? "quota_soft" : c->set_hard && conf_has(conf,
	    machine, "quota_hard") ? "quota_hard" : NULL;

	if (key == NULL)
		return 0;
	snprintf(msg, size, "%s of machine %s is set in %s ([machine %s]), "
	    "which beemofs applies at every mount: change it there", key,
	    machine, bm_conf_path(conf) ? bm_conf_path(conf) : "?", machine);
	return BEEMO_ECONFIG;
}

int
quota_set(store *st, const bm_conf *conf, const char *machine,
    const struct quota_change *c, const char *who, char *msg, size_t size)
{
	uint64_t soft, hard;
	int rc;

	if ((rc = quota_conf_check(conf, machine, c, msg, size)) != 0)
		return rc;
	if ((rc = store_quota_get(st, &soft, &hard)) != 0)
		return rc;
	if (c->set_soft)
		soft = c->soft;
	if (c->set_hard)
		hard = c->hard;
	/* Journaled first, so that the commit of store_quota_set() makes
	 * the entry durable with the limits: once at the limit, no later
	 * commit may come for a while. */
	journal(st, who, "quota set: soft %" PRIu64 " bytes, hard %" PRIu64
	    " bytes", soft, hard);
	return store_quota_set(st, soft, hard);
}

int
quota_apply_conf(store *st, const bm_conf *conf, const char *machine)
{
	uint64_t soft, hard, csoft, chard;
	int ss = conf_has(conf, machine, "quota_soft");
	int sh = conf_has(conf, machine, "quota_hard");
	int rc;

	if (!ss && !sh)
		return 0;
	if ((rc = store_quota_get(st, &soft, &hard)) != 0)
		return rc;
	csoft = bm_conf_get_size(conf, "machine", machine, "quota_soft", 0);
	chard = bm_conf_get_size(conf, "machine", machine, "quota_hard", 0);
	if ((!ss || csoft == soft) && (!sh || chard == hard))
		return 0;
	if (ss)
		soft = csoft;
	if (sh)
		hard = chard;
	bm_log(LOG_NOTICE, "quota of %s from the configuration: soft %" PRIu64
	    ", hard %" PRIu64 " bytes", machine, soft, hard);
	journal(st, "configuration", "quota set from the configuration: soft "
	    "%" PRIu64 " bytes, hard %" PRIu64 " bytes", soft, hard);
	return store_quota_set(st, soft, hard);
}

int
quota_check(store *st, const char *machine, int was, struct quota_state *q)
{
	struct store_stats s;
	char a[32], b[32];
	int rc;

	memset(q, 0, sizeof(*q));
	if ((rc = store_stats(st, &s)) != 0 ||
	    (rc = store_quota_get(st, &q->soft, &q->hard)) != 0)
		return rc;
	q->stored = s.used;
	q->over = q->soft != 0 && s.used > q->soft;
	if (was == q->over)
		return 0;
	bm_human(a, sizeof(a), s.used);
	bm_human(b, sizeof(b), q->soft);
	snprintf(q->key, sizeof(q->key), "quota:%s", machine);
	if (q->over) {
		snprintf(q->subject, sizeof(q->subject), "%s is over its "
		    "quota: %s used, soft limit %s", machine, a, b);
		snprintf(q->text, sizeof(q->text), "Machine %s uses %s (%"
		    PRIu64 " bytes: its packs, deduplicated and compressed, "
		    "its index and the files being written), over its soft "
		    "quota of %s (%" PRIu64 " bytes).\n%s", machine, a,
		    s.used, b, q->soft, s.quota_limit ? "Past the hard limit "
		    "its backups will fail.\n" : "");
	} else {
		snprintf(q->subject, sizeof(q->subject), "%s is back under its "
		    "quota: %s used%s%s", machine, a, q->soft ?
		    ", soft limit " : "", q->soft ? b : "");
		snprintf(q->text, sizeof(q->text), "Machine %s uses %s (%"
		    PRIu64 " bytes)%s%s.\n", machine, a, s.used, q->soft ?
		    ", under its soft quota of " : "; it has no soft quota any "
		    "more", q->soft ? b : "");
	}
	q->report.kind = "quota";
	q->report.machine = machine;
	q->report.key = q->key;
	q->report.state = q->over ? BM_REPORT_RAISE : BM_REPORT_CLEAR;
	q->report.subject = q->subject;
	q->report.text = q->text;
	if (was >= 0)
		journal(st, "beemofs", "%s", q->subject);
	return 1;
}
