/*
 * retention.h -- retention policies: which snapshots of a machine to
 * keep, who may set that, and applying it.
 *
 * Design.  A policy is time-based, on the appliance's clock: every
 * snapshot time is the appliance's (store_snapshot() stamps it), so a
 * client can make snapshots but cannot choose their times.  The rules
 * are restic's: keep-last N keeps the N newest snapshots; keep-within D
 * every snapshot taken at or after now minus D; keep-hourly, -daily,
 * -weekly, -monthly, -yearly N the newest snapshot of each of the N
 * newest hours, days, ISO weeks, months or years (in the appliance's
 * local time) that have one.  A snapshot is kept when any rule keeps
 * it.  Two protections are part of every policy: a snapshot younger
 * than min-age (default 7 days) is kept, and so is the newest complete
 * snapshot (taken at the end of a backup session that ended normally;
 * the newest snapshot when none is).  So a compromised client that
 * makes thousands of snapshots in an hour fills one hourly bucket and
 * is younger than min-age: it pushes no older daily or weekly snapshot
 * out.  keep-last alone is no such defence, min-age is.  A snapshot with
 * a tag is kept by every policy too: it was named to be kept; forgetting
 * it takes its id (or name), or removing its tags.
 *
 * Durations are calendar spans: "1y2m", "30d", "2w", "12h" (y years,
 * m months, w weeks, d days, h hours), subtracted from now in local
 * time.  Note that "m" is a month here, as in restic.
 *
 * Who sets it.  A policy is a small text file signed by the
 * administrator (keymgr_admin_key_sign, label "retention") over its
 * whole text, which names its machine ("default" for the default of
 * every machine) and when it was set: STORE/retention/machines/NAME.policy
 * and STORE/retention/default.policy.  No POSTE key or user password can
 * sign, and a file that is unsigned, badly signed or signed for another
 * machine is refused, never applied.  A machine without a file of its
 * own follows the default; with neither, nothing is applied.  Root on
 * the appliance can delete a file (then the default, or nothing,
 * applies), or put back an older file of the same machine; neither
 * forgets anything younger than that file's min-age.  Format:
 * beemo-store(5), RETENTION POLICIES.
 *
 * Thread-safety: no shared state; the functions may run concurrently on
 * different arguments.
 */
#ifndef BEEMO_RETENTION_H
#define BEEMO_RETENTION_H

#include <stddef.h>
#include <stdint.h>

#include "keymgr.h"
#include "store.h"

/* The note of the snapshot beemofs takes when a backup session ends
 * normally: such a snapshot is "complete". */
#define RETENTION_COMPLETE_NOTE "end of backup session"

/* A calendar span; all zero: none. */
struct retention_duration {
	uint32_t years, months, days, hours;
};

struct retention_policy {
	uint32_t last, hourly, daily, weekly, monthly, yearly; /* 0: none */
	struct retention_duration within;  /* keep-within; zero: none */
	struct retention_duration min_age; /* retention_policy_init: 7d */
};

/* Why a snapshot is kept: bits of retention_eval()'s @reasons.  No bit
 * set: forgotten. */
#define RETENTION_LAST 0x001
#define RETENTION_WITHIN 0x002
#define RETENTION_HOURLY 0x004
#define RETENTION_DAILY 0x008
#define RETENTION_WEEKLY 0x010
#define RETENTION_MONTHLY 0x020
#define RETENTION_YEARLY 0x040
#define RETENTION_MIN_AGE 0x080
#define RETENTION_NEWEST 0x100   /* the newest complete snapshot */
#define RETENTION_UNNAMED 0x200  /* forget by id: not named */
#define RETENTION_TAGGED 0x400   /* it has a tag (beemoctl snapshot --tag) */

/* retention_policy_init -- no rule, min-age 7 days. */
void retention_policy_init(struct retention_policy *p);

/* retention_policy_empty -- whether @p has no keep rule (min-age is not
 * one).  An empty policy forgets nothing; setting one is refused. */
int retention_policy_empty(const struct retention_policy *p);

/*
 * retention_duration_parse -- read @s ("1y2m", "30d", "2w", "12h": one
 * or more NUMBER UNIT, units y m w d h each at most once, in that
 * order; "0" is no span) into @out.  Returns 0 or -EINVAL (also a
 * number over 100000).
 */
int retention_duration_parse(const char *s, struct retention_duration *out);

/* retention_duration_str -- @d as retention_duration_parse() reads it
 * ("0" for none) into @buf (32 bytes suffice); returns @buf. */
char *retention_duration_str(const struct retention_duration *d, char *buf,
    size_t size);

/*
 * retention_rule_set -- set the rule named @key ("keep-last",
 * "keep-within", "keep-hourly", "keep-daily", "keep-weekly",
 * "keep-monthly", "keep-yearly", "min-age") to @value (a count of 1 to
 * 100000, or a duration) in @p.  Returns 0, -ENOENT (no such rule) or
 * -EINVAL (a bad value).
 */
int retention_rule_set(struct retention_policy *p, const char *key,
    const char *value);

/*
 * retention_str -- @p in one line, "keep-daily 7, keep-weekly 4,
 * min-age 7d" (rules in the file's order), into @buf (256 bytes
 * suffice).  Returns @buf.
 */
char *retention_str(const struct retention_policy *p, char *buf,
    size_t size);

/* retention_reasons_str -- the rules in @reasons, "daily,weekly" ("" for
 * none), into @buf (128 bytes suffice).  Returns @buf. */
char *retention_reasons_str(unsigned reasons, char *buf, size_t size);

/* ---- evaluation ---------------------------------------------------- */

struct retention_snap {
	uint32_t id;
	uint64_t time;  /* CLOCK_REALTIME ns, the appliance's */
	int complete;   /* taken at the end of a session that ended well */
	int tagged;     /* has a tag: every policy keeps it */
};

/*
 * retention_eval -- decide, for each of the @n snapshots of @v (any
 * order), whether @p keeps it at time @now (ns): @reasons[i] receives
 * the RETENTION_* bits of the rules that keep @v[i], 0 when it is to be
 * forgotten.  An empty policy keeps everything (RETENTION_UNNAMED set
 * on each).  Pure: depends on the arguments and the local time zone
 * only.  Returns 0 or -ENOMEM.
 */
int retention_eval(const struct retention_snap *v, size_t n, uint64_t now,
    const struct retention_policy *p, unsigned *reasons);

/* ---- the signed files ---------------------------------------------- */

/* Label of the administrator's signature over a policy file. */
#define RETENTION_SIGN_LABEL "retention"

/*
 * retention_encode -- the signed text of @p for @machine (NULL: the
 * default) set at @set_ns, into a new NUL-terminated buffer *@out
 * (free()) of *@len bytes, signed with the unlocked administrator key
 * @k.  Returns 0, -EINVAL (a bad machine name), -ENOMEM, or an error of
 * keymgr_admin_key_sign().
 */
int retention_encode(const struct retention_policy *p, const char *machine,
    uint64_t set_ns, keymgr_admin_key *k, char **out, size_t *len);

/*
 * retention_decode -- check and read the @len bytes of @text as the
 * policy of @machine (NULL: the default): the administrator's signature
 * first (with @km's public key), then the syntax, then that it names
 * @machine.  @p and @set_ns receive it.  On failure @err (may be NULL)
 * receives one sentence.  Returns 0, BEEMO_EFORMAT (unsigned or
 * malformed), -EBADMSG (the signature does not verify: changed, or not
 * the administrator's), BEEMO_EFOREIGN (signed for another machine or
 * for the default), BEEMO_EVERSION, or a negative errno.
 */
int retention_decode(keymgr *km, const char *text, size_t len,
    const char *machine, struct retention_policy *p, uint64_t *set_ns,
    char *err, size_t errsize);

/* retention_path -- STORE/retention/machines/MACHINE.policy, or
 * STORE/retention/default.policy for @machine NULL, into @buf.  Returns
 * 0 or -ENAMETOOLONG. */
int retention_path(const char *store, const char *machine, char *buf,
    size_t size);

/*
 * retention_save -- sign @p for @machine (NULL: default) as set now and
 * write its file durably (bm_write_file_atomic, mode 0600 as every
 * file of the store, though it holds no secret).
 * Returns 0 or an error of retention_encode() or of writing.
 */
int retention_save(const char *store, const char *machine,
    const struct retention_policy *p, keymgr_admin_key *k);

/* retention_clear -- remove the file of @machine (NULL: default).
 * Returns 0, -ENOENT (there was none) or a negative errno. */
int retention_clear(const char *store, const char *machine);

/*
 * retention_load -- the policy in force for @machine: its own file,
 * else the default's (never the default when its own file exists but is
 * refused).  @from_default (may be NULL) receives whether the default
 * applies, @set_ns when it was set.  @err as for retention_decode(),
 * naming the file.  Returns 0, -ENOENT (no policy at all), or an error
 * of retention_decode() or of reading the file.
 */
int retention_load(const char *store, const char *machine, keymgr *km,
    struct retention_policy *p, int *from_default, uint64_t *set_ns,
    char *err, size_t errsize);

/* retention_load_file -- the file of @machine (NULL: the default)
 * alone, as retention_load() reads it; -ENOENT when there is none. */
int retention_load_file(const char *store, const char *machine, keymgr *km,
    struct retention_policy *p, uint64_t *set_ns, char *err,
    size_t errsize);

/*
 * Replacing the administrator's key pair (keymgr_admin_passwd) would
 * leave every policy signed with the old key, refused.  So:
 * retention_collect -- before the change, every policy file that
 * verifies with @km (the default, then each machine's; a refused one is
 * logged, counted in *@refused and left out) into *@out (free()), @n of
 * them.  retention_resign -- after it, sign each again with the new key
 * @k, keeping its time of setting.  Return 0, -ENOMEM, or the first
 * error of listing, signing or writing (the others are still written).
 */
struct retention_file {
	char machine[80]; /* "" for the default */
	struct retention_policy p;
	uint64_t set_ns;
};
int retention_collect(const char *store, keymgr *km,
    struct retention_file **out, size_t *n, size_t *refused);
int retention_resign(const char *store, const struct retention_file *v,
    size_t n, keymgr_admin_key *k);

/* ---- applying it to a store (retention_apply.c) --------------------- */

/* Every snapshot of a store with the decision about it, oldest first. */
struct retention_plan {
	struct retention_snap *snaps;
	unsigned *reasons;   /* 0: to be forgotten */
	size_t n, forget;    /* snapshots, and how many are to go */
};

/*
 * retention_plan_policy -- the plan of @p for the snapshots of @st at
 * @now (ns).  retention_plan_ids -- the plan that forgets exactly the
 * @nids snapshots @ids (the others are RETENTION_UNNAMED); an id that
 * does not exist is BEEMO_ENOSNAP.  Free with retention_plan_free().
 * Return 0, BEEMO_ENOSNAP, -ENOMEM, or an error of store_snapshots().
 */
int retention_plan_policy(store *st, const struct retention_policy *p,
    uint64_t now, struct retention_plan *out);
int retention_plan_ids(store *st, const uint32_t *ids, size_t nids,
    struct retention_plan *out);
void retention_plan_free(struct retention_plan *pl);

/*
 * retention_forget -- store_forget() of every snapshot @pl forgets (the
 * store's journal names each with its time, by the store's who), then
 * one entry of type "forget" by @who in the appliance journal of
 * @storedir for @machine, naming each snapshot forgotten and its time
 * (key derived from @km; its failure is logged only: the forget is
 * done).  Nothing to forget: nothing is written.  Returns 0 or an
 * error of store_forget().
 */
int retention_forget(store *st, const struct retention_plan *pl,
    const char *storedir, keymgr *km, const char *machine, const char *who);

#endif /* BEEMO_RETENTION_H */
