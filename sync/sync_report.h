/*
 * sync_report.h -- internals of the e-mail reports shared by
 * sync_report.c (state, spool, conditions) and sync_report_mail.c
 * (composing and sending); see sync_report.c for the design.
 */
#ifndef BEEMO_SYNC_REPORT_H
#define BEEMO_SYNC_REPORT_H

#include "sync.h"

/* The report state (bm_status.h) and the key that seals it. */
struct sync_rstate {
	uint8_t *key;             /* "reports" subkey; secure heap */
	struct bm_rstate st;
};

/* rs_cond_remove -- remove (and free) a condition from @rs. */
void rs_cond_remove(struct sync_rstate *rs, struct bm_rstate_cond *c);

/*
 * rs_send -- mail what is due in @rs: conditions first (problem, then
 * resolved), then one mail of events per machine.  Stops at the first
 * mail that fails.  Updates @st and saves @rs after each mail.
 */
void rs_send(const struct sync_ctx *ctx, keymgr *km, struct sync_rstate *rs,
    struct sync_report_stats *st);

#endif /* BEEMO_SYNC_REPORT_H */
