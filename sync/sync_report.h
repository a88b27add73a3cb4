/*
 * sync_report.h -- internals of the e-mail reports shared by
 * sync_report.c (state, spool, conditions) and sync_report_mail.c
 * (composing and sending); see sync_report.c for the design.
 */
#ifndef BEEMO_SYNC_REPORT_H
#define BEEMO_SYNC_REPORT_H

#include "sync.h"

struct rcond {
	char *key, *kind, *machine; /* machine NULL: the appliance */
	char *subject, *text;       /* of the problem */
	char *rsubject, *rtext;     /* of its resolution */
	uint64_t since, raised, mailed, cleared;
};

struct revent {
	char *key, *kind, *machine, *subject, *text;
	uint64_t time;
};

struct rsent {
	char *key;
	uint64_t time;
};

struct rtarget {
	char name[65];
	uint64_t first_seen, last_ok, last_attempt;
	char result[256];
};

struct sync_rstate {
	uint8_t *key;             /* "reports" subkey; secure heap */
	uint64_t last_run, sig_seen;
	char last_result[256];
	struct rcond *c;
	size_t nc;
	struct revent *e;
	size_t ne;
	struct rsent *s;
	size_t ns;
	struct rtarget *t;
	size_t nt;
};

/* rs_grow -- append a zeroed element of @size to the array *@v of *@n;
 * returns it, or NULL when out of memory. */
void *rs_grow(void *v, size_t *n, size_t size);

/* rs_event_free / rs_cond_remove -- free a pending event; remove (and
 * free) a condition from @rs. */
void rs_event_free(struct revent *e);
void rs_cond_remove(struct sync_rstate *rs, struct rcond *c);

/*
 * rs_send -- mail what is due in @rs: conditions first (problem, then
 * resolved), then one mail of events per machine.  Stops at the first
 * mail that fails.  Updates @st and saves @rs after each mail.
 */
void rs_send(const struct sync_ctx *ctx, keymgr *km, struct sync_rstate *rs,
    struct sync_report_stats *st);

#endif /* BEEMO_SYNC_REPORT_H */
