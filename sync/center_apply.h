/*
 * center_apply.h -- what the files of `beemo-center apply` share
 * (center_apply.c: the verb, the records, checking new requests;
 * center_apply_delete.c: cancelling and applying).  Not installed.
 */
#ifndef BEEMO_CENTER_APPLY_H
#define BEEMO_CENTER_APPLY_H

#include <stdint.h>

#include "center.h"

struct apply_run {
	const struct center_ctx *ctx;
	uint64_t now;         /* ns: the clock, or --now */
	int dry_run;
	unsigned accepted, refused, cancelled, applied, unchecked;
	uint64_t deleted, freed;
};

/* A request's record (data/center/requests/N.json). */
struct apply_record {
	uint64_t n;
	char state[16];       /* pending, cancelled, applied, refused */
	char reason[32];
	char target[65];
	char why[512];
	char text_sha[65];    /* the request file's SHA-256 */
	uint64_t objects, bytes, accepted_ns, due_ns, done_ns;
	uint64_t deleted, freed, left;
};

/*
 * apply_record_save -- write @rec atomically as AREA/state/requests/
 * N.json (the one apply reads back) and data/center/requests/N.json
 * (the appliance's copy); nothing in a dry run.  Returns 0 or an error (printed).
 */
int apply_record_save(const struct apply_run *r, const struct center_area *a,
    const struct apply_record *rec);

/* apply_mail -- center_mail() @subject and @body (malloc'd, freed here;
 * may be NULL), unless a dry run. */
void apply_mail(const struct apply_run *r, const struct center_area *a,
    const char *subject, char *body);

/*
 * apply_cancelled -- 1 when data/requests/N.cancel of @rec exists and came
 *   before its due time (its file time, or the run's clock), else 0.
 * apply_cancel -- record @rec as cancelled, journal and mail it.
 * apply_due -- delete the objects of the pending request @rec, due
 *   now, that still have the requested SHA-256; record, journal and
 *   mail.  BEEMO_EFORMAT: the request file changed since accepted.
 * All return 0 or an error (printed).
 */
int apply_cancelled(const struct apply_run *r, const struct center_area *a,
    const struct apply_record *rec);
int apply_cancel(struct apply_run *r, const struct center_area *a,
    struct apply_record *rec);
int apply_due(struct apply_run *r, const struct center_area *a,
    struct apply_record *rec);

#endif /* BEEMO_CENTER_APPLY_H */
