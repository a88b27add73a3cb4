/*
 * ctl_policy.h -- what `beemoctl forget`, `retention` and `status` share
 * about retention policies (fs/retention.h): the policy options of the
 * command line and the one-line description of a machine's policy.
 */
#ifndef BEEMO_CTL_POLICY_H
#define BEEMO_CTL_POLICY_H

#include "beemoctl.h"
#include "retention.h"

/* Bits of ctl_policy_args()'s @allowed. */
enum {
	CTL_P_RULES = 1 << 0,   /* --keep-last N ... --keep-yearly N,
				   --keep-within D, --min-age D */
	CTL_P_CLEAR = 1 << 1,   /* --clear */
	CTL_P_DEFAULT = 1 << 2, /* --default */
	CTL_P_DRY_RUN = 1 << 3, /* --dry-run */
	CTL_P_PRUNE = 1 << 4,   /* --prune */
};

struct ctl_policy_args {
	struct retention_policy p; /* the rules given, min-age 7d if not */
	int rules;                 /* rules given (--min-age counts) */
	int clear, dflt, dry_run, prune;
};

/*
 * ctl_policy_args -- take the options in @allowed (as "--opt VALUE" or
 * "--opt=VALUE") out of @argv (from argv[1], up to a "--"), shifting
 * the rest down and updating *@argc, into @out, so that ctl_parse()
 * then sees the common options only.  A bad value prints one line and
 * returns CTL_USAGE; otherwise -1.
 */
int ctl_policy_args(const struct ctl *ctl, int *argc, char **argv,
    unsigned allowed, struct ctl_policy_args *out);

/*
 * ctl_policy_describe -- the policy in force for @machine (NULL: the
 * default itself) as one line into @buf ("keep-daily 7, min-age 7d",
 * with " (default)" when the default applies, "none", or "REFUSED:
 * why").  @km checks the signature.  Returns 0 (a policy), -ENOENT
 * (none) or the error of retention_load().
 */
int ctl_policy_describe(const struct ctl *ctl, keymgr *km,
    const char *machine, char *buf, size_t size);

#endif /* BEEMO_CTL_POLICY_H */
