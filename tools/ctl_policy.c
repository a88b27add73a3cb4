/*
 * ctl_policy.c -- policy options and descriptions (ctl_policy.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bm_err.h"
#include "bm_time.h"
#include "ctl_policy.h"

/* Options that take a value (CTL_P_RULES): the rules' keys. */
static const char *const valued[] = {"keep-last", "keep-within",
    "keep-hourly", "keep-daily", "keep-weekly", "keep-monthly",
    "keep-yearly", "min-age"};

static int *clear_flag(struct ctl_policy_args *a) { return &a->clear; }
static int *dflt_flag(struct ctl_policy_args *a) { return &a->dflt; }
static int *dry_flag(struct ctl_policy_args *a) { return &a->dry_run; }
static int *prune_flag(struct ctl_policy_args *a) { return &a->prune; }

static const struct {
	const char *name;
	unsigned mask;
	int *(*flag)(struct ctl_policy_args *a);
} flags[] = {
	{"--clear", CTL_P_CLEAR, clear_flag},
	{"--default", CTL_P_DEFAULT, dflt_flag},
	{"--dry-run", CTL_P_DRY_RUN, dry_flag},
	{"--prune", CTL_P_PRUNE, prune_flag},
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

int
ctl_policy_args(const struct ctl *ctl, int *argc, char **argv,
    unsigned allowed, struct ctl_policy_args *out)
{
	int i, kept = 1, rest = 0;
	size_t k;

	memset(out, 0, sizeof(*out));
	retention_policy_init(&out->p);
	for (i = 1; i < *argc; i++) {
		const char *a = argv[i], *val = NULL;
		size_t len;

		if (rest || strncmp(a, "--", 2) != 0) {
			argv[kept++] = argv[i];
			continue;
		}
		if (strcmp(a, "--") == 0) {
			rest = 1;
			argv[kept++] = argv[i];
			continue;
		}
		for (k = 0; k < N(flags); k++)
			if ((flags[k].mask & allowed) &&
			    strcmp(a, flags[k].name) == 0)
				break;
		if (k < N(flags)) {
			*flags[k].flag(out) = 1;
			continue;
		}
		for (k = 0; k < N(valued) && (allowed & CTL_P_RULES); k++) {
			len = strlen(valued[k]);
			if (strncmp(a + 2, valued[k], len) == 0 &&
			    (a[2 + len] == '\0' || a[2 + len] == '='))
				break;
		}
		if (!(allowed & CTL_P_RULES) || k == N(valued)) {
			argv[kept++] = argv[i];
			continue;
		}
		if (a[2 + len] == '=')
			val = a + 3 + len;
		else if (i + 1 < *argc)
			val = argv[++i];
		if (val == NULL) {
			ctl_err(ctl, "--%s needs a value", valued[k]);
			return CTL_USAGE;
		}
		if (retention_rule_set(&out->p, valued[k], val) != 0) {
			ctl_err(ctl, "--%s %s: %s", valued[k], val,
			    strstr(valued[k], "with") ||
			    strstr(valued[k], "age") ? "a duration is "
			    "like 30d, 12h, 2w or 1y2m (m: months)" :
			    "a count from 1 to 100000");
			return CTL_USAGE;
		}
		out->rules++;
	}
	argv[kept] = NULL;
	*argc = kept;
	return -1;
}

int
ctl_policy_describe(const struct ctl *ctl, keymgr *km, const char *machine,
    char *buf, size_t size)
{
	struct retention_policy p;
	char err[600], line[256], t[32];
	uint64_t set;
	int rc, dflt = 0;

	if (machine == NULL)
		rc = retention_load_file(ctl->store, NULL, km, &p, &set, err,
		    sizeof(err));
	else
		rc = retention_load(ctl->store, machine, km, &p, &dflt, &set,
		    err, sizeof(err));
	if (rc == -ENOENT)
		snprintf(buf, size, "none");
	else if (rc != 0)
		snprintf(buf, size, "REFUSED: %s", err);
	else
		snprintf(buf, size, "%s (set %s%s)", retention_str(&p, line,
		    sizeof(line)), bm_time_show(t, sizeof(t), set),
		    dflt && machine != NULL ? ", the default" : "");
	return rc;
}
