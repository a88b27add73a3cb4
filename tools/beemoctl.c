/*
 * beemoctl.c -- main(): global options, configuration, verb dispatch.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "beemoctl.h"
#include "bm_conf.h"
#include "bm_confirm.h"
#include "bm_err.h"
#include "bm_esc.h"
#include "bm_file.h"
#include "bm_json.h"
#include "bm_log.h"
#include "bm_nodump.h"
#include "bm_pass.h"
#include "bm_progress.h"
#include "bm_time.h"
#include "bm_units.h"

static const struct {
	const char *name;
	ctl_verb_fn fn;
	const char *summary;
} verbs[] = {
	{"init", cmd_init, "set up a new appliance (ADMIN key pair)"},
	{"admin", cmd_admin, "administrator: passwd"},
	{"machine", cmd_machine, "machines: add, list, remove, restore, "
	    "access"},
	{"user", cmd_user, "users of a machine: add, list, remove, passwd, "
	    "reset"},
	{"key", cmd_key, "keys: show, rotate, issue a POSTE key file, "
	    "unlock"},
	{"snapshot", cmd_snapshot, "freeze a machine's live tree"},
	{"snapshots", cmd_snapshots, "list a machine's snapshots"},
	{"restore", cmd_restore, "restore a snapshot, or a path in it"},
	{"check", cmd_check, "verify a machine's index and packs"},
	{"rebuild-index", cmd_rebuild_index, "rebuild an index from the packs"},
	{"scan", cmd_scan, "rescan stored files with current signatures"},
	{"forget", cmd_forget, "forget snapshots by policy, rules or id"},
	{"retention", cmd_retention, "show or set a retention policy"},
	{"journal", cmd_journal, "operations of a backup set since it began"},
	{"quota", cmd_quota, "show or set a machine's quota"},
	{"prune", cmd_prune, "reclaim the space of forgotten snapshots"},
	{"status", cmd_status, "the appliance, its machines, what runs now"},
	{"metrics", cmd_metrics, "write a Prometheus textfile of the status"},
	{"erase", cmd_erase, "erase a path from a machine's every snapshot"},
	{"ls", cmd_ls, "list a directory of a snapshot"},
	{"find", cmd_find, "find files by name across snapshots"},
	{"dump", cmd_dump, "write a file of a snapshot to stdout"},
	{"diff", cmd_diff, "what changed between two snapshots"},
	{"export", cmd_export, "a snapshot, or a path in it, as tar or zip"},
};

#define NVERBS (sizeof(verbs) / sizeof(verbs[0]))

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: beemoctl [-c FILE] [-s STORE] [-q] [-v] [--utc] "
		   "VERB [ARGS]\n"
		   "       beemoctl VERB --help\n\nverbs:\n");
	for (i = 0; i < NVERBS; i++)
		fprintf(f, "  %-14s %s\n", verbs[i].name, verbs[i].summary);
	fprintf(f, "\noptions:\n"
		   "  -c, --config FILE  configuration file (default "
		   "$BEEMO_CONFIG or " BM_CONF_DEFAULT ")\n"
		   "  -s, --store DIR    store directory (default from the "
		   "configuration, or " BM_STORE_DEFAULT ")\n"
		   "  -q, --quiet        no progress display\n"
		   "  -v, --verbose      more detail\n"
		   "      --utc          times in UTC, not the local zone\n"
		   "  -V, --version      print the version\n"
		   "  -h, --help         this help\n"
		   "\nEvery verb that reads a password also takes "
		   "--password-command CMD\nand --password-fd N instead of "
		   "--password-file FILE (beemoctl(8),\n\"Passwords\").\n"
		   "\nexit status: 0 ok, 1 failed, 2 usage, 3 locked or "
		   "busy, 4 finished with\nwarnings (EXIT STATUS in the "
		   "manual page)\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"store", required_argument, NULL, 's'},
		{"quiet", no_argument, NULL, 'q'},
		{"verbose", no_argument, NULL, 'v'},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{"utc", no_argument, NULL, 'U'},
		{NULL, 0, NULL, 0},
	};
	struct ctl ctl;
	const char *config = NULL, *store = NULL;
	char err[512];
	size_t i;
	int c, rc;

	memset(&ctl, 0, sizeof(ctl));
	/* Keys, passwords and plaintext live in this process: never in a
	 * core file. */
	{
		int nd = bm_nodump();

		if (nd != 0) {
			fprintf(stderr, "beemoctl: cannot disable core dumps: "
			    "%s\n", strerror(-nd));
			return 1;
		}
	}
	ctl.prog = "beemoctl";
	ctl.verb = "beemoctl";
	/* '+': stop at the verb, whose options are its own. */
	while ((c = getopt_long(argc, argv, "+c:s:qvVh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 's':
			store = optarg;
			break;
		case 'q':
			ctl.quiet = 1;
			break;
		case 'v':
			ctl.verbose++;
			break;
		case 'U':
			bm_time_set_utc(1);
			break;
		case 'V':
			printf("beemoctl " BEEMO_VERSION "\n");
			return CTL_OK;
		case 'h':
			usage(stdout);
			return CTL_OK;
		default:
			usage(stderr);
			return CTL_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CTL_USAGE;
	}
	bm_log_open("beemoctl", 0, ctl.verbose - (ctl.quiet ? 1 : 0));
	keymgr_global_init();
	if ((rc = bm_conf_load(config, &ctl.conf, err, sizeof(err))) != 0) {
		int i, help = 0;

		/* A verb's --help must work even with a broken setup. */
		for (i = optind + 1; i < argc; i++)
			help |= !strcmp(argv[i], "--help") ||
			    !strcmp(argv[i], "-h");
		if (!help || (ctl.conf = bm_conf_empty()) == NULL) {
			fprintf(stderr, "beemoctl: %s\n", err);
			return CTL_FAIL;
		}
	}
	ctl.store = store ? store :
	    bm_conf_get(ctl.conf, NULL, NULL, "store", BM_STORE_DEFAULT);
	if (bm_path(ctl.keydir, sizeof(ctl.keydir), "%s/keys", ctl.store)) {
		fprintf(stderr, "beemoctl: store path too long\n");
		rc = CTL_FAIL;
		goto done;
	}
	for (i = 0; i < NVERBS; i++)
		if (strcmp(verbs[i].name, argv[optind]) == 0)
			break;
	if (i == NVERBS) {
		fprintf(stderr, "beemoctl: unknown verb '%s' (see beemoctl "
				"--help)\n", argv[optind]);
		rc = CTL_USAGE;
		goto done;
	}
	ctl.verb = verbs[i].name;
	/* The verb sees argv[0] = its name, like a program of its own. */
	optind++;
	{
		int vargc = argc - optind + 1;
		char **vargv = argv + optind - 1;

		optind = 0; /* full getopt reset for the verb */
		rc = verbs[i].fn(&ctl, vargc, vargv);
	}
done:
	bm_conf_free(ctl.conf);
	return rc;
}

void
ctl_err(const struct ctl *ctl, const char *fmt, ...)
{
	char msg[8192];
	va_list ap;

	/* Messages name files of clients: escaped as a whole (bm_esc.h),
	 * one line, nothing that drives the terminal. */
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s: ", ctl->prog, ctl->verb);
	bm_esc_put(stderr, msg);
	fputc('\n', stderr);
}

void
ctl_usage(const struct ctl *ctl, const char *text, int to_stderr)
{
	fprintf(to_stderr ? stderr : stdout, "usage: %s %s %s", ctl->prog,
	    ctl->verb, text);
	/* The other sources of the same password, common to every verb
	 * (ctl_password()). */
	if (!to_stderr && strstr(text, "--password-file") != NULL)
		printf("\nInstead of --password-file: --password-command CMD "
		       "(the first line CMD\nprints) or --password-fd N; "
		       "default $BEEMO_PASSWORD_FILE,\n"
		       "$BEEMO_PASSWORD_COMMAND, the systemd credential "
		       "beemo-admin-password,\nthe terminal (beemoctl(8), "
		       "\"Passwords\").\n");
}

int
ctl_confirm(const struct ctl *ctl, int yes, const char *expect,
    const char *fmt, ...)
{
	char who[128];
	va_list ap;
	int rc;

	snprintf(who, sizeof(who), "%s: %s", ctl->prog, ctl->verb);
	va_start(ap, fmt);
	rc = bm_confirm_v(who, yes, expect, fmt, ap);
	va_end(ap);
	return rc;
}

/* The verb's --password-command and --password-fd, set by ctl_parse()
 * and used by ctl_password() for the password of --password-file: one
 * verb runs per process. */
static const char *pw_command;
static int pw_fd = -1;

int
ctl_password(const struct ctl *ctl, const char *prompt, const char *file,
    const char *env, int confirm, char **pw, size_t *len)
{
	struct bm_pass_src src = {.file = file, .fd = -1};
	char from[4200];
	int rc, main_pw = env == NULL ||
	    strcmp(env, "BEEMO_PASSWORD_FILE") == 0;

	src.file_env = env;
	if (main_pw) {
		src.command = file == NULL ? pw_command : NULL;
		src.fd = file == NULL && pw_command == NULL ? pw_fd : -1;
		src.command_env = "BEEMO_PASSWORD_COMMAND";
		if (strcasestr(prompt, "administrator password") != NULL)
			src.credential = "beemo-admin-password";
	}
	rc = bm_password_get(&src, prompt, confirm, pw, len, from,
	    sizeof(from));
	if (rc == 0)
		return 0;
	if (rc == -ENOTTY && main_pw)
		ctl_err(ctl, "no terminal to read the password from; use "
			     "--password-file FILE, --password-command CMD "
			     "or --password-fd N (or $BEEMO_PASSWORD_FILE, "
			     "$BEEMO_PASSWORD_COMMAND)");
	else if (rc == -ENOTTY)
		ctl_err(ctl, "no terminal to read the password from; use "
			     "--password-file FILE or $%s", env);
	else if (rc == -ECHILD)
		ctl_err(ctl, "%s", from);
	else if (rc == -EINVAL && strcmp(from, "terminal") == 0 && confirm)
		ctl_err(ctl, "the two passwords differ (or are empty)");
	else if (rc == -EINVAL)
		ctl_err(ctl, "empty password from %s", from);
	else
		ctl_err(ctl, "cannot read password from %s: %s", from,
		    beemo_strerror(rc));
	return CTL_FAIL;
}

int
ctl_keymgr(const struct ctl *ctl, keymgr **km)
{
	int rc = keymgr_open(ctl->keydir, km);

	if (rc == 0)
		return 0;
	if (rc == BEEMO_ENOSTORE || rc == -ENOENT) {
		ctl_err(ctl, "%s: no appliance here (run 'beemoctl init' "
			     "first, or give --store)", ctl->store);
	} else if (rc == BEEMO_EFORMAT || rc == BEEMO_EVERSION) {
		/* Say which file and what is wrong with it. */
		char path[4200], msg[600];

		snprintf(path, sizeof(path), "%s/admin.key", ctl->keydir);
		if (keymgr_check_file(path, msg, sizeof(msg)) != 0)
			ctl_err(ctl, "%s", msg);
		else
			ctl_err(ctl, "%s: %s", path, beemo_strerror(rc));
	} else {
		ctl_err(ctl, "%s: %s", ctl->keydir, beemo_strerror(rc));
	}
	return CTL_FAIL;
}

int
ctl_km_fail(const struct ctl *ctl, const keymgr *km)
{
	ctl_err(ctl, "%s", keymgr_errmsg(km));
	return CTL_FAIL;
}

int
ctl_parse(const struct ctl *ctl, int argc, char **argv, unsigned allowed,
    int min, int max, const char *usage, struct ctl_opts *o)
{
	static const struct {
		struct option opt;
		unsigned mask;
	} table[] = {
		{{"password-file", required_argument, NULL, 'P'},
		    CTL_O_PASSWORD},
		{{"password-command", required_argument, NULL, 'c'},
		    CTL_O_PASSWORD},
		{{"password-fd", required_argument, NULL, 'F'},
		    CTL_O_PASSWORD},
		{{"new-password-file", required_argument, NULL, 'N'},
		    CTL_O_NEW_PASSWORD},
		{{"user-password-file", required_argument, NULL, 'U'},
		    CTL_O_USER_PASSWORD},
		{{"json", no_argument, NULL, 'j'}, CTL_O_JSON},
		{{"yes", no_argument, NULL, 'y'}, CTL_O_YES},
		{{"user", required_argument, NULL, 'u'}, CTL_O_USER},
		{{"poste-key", required_argument, NULL, 'k'}, CTL_O_POSTE_KEY},
		{{"admin", no_argument, NULL, 'a'}, CTL_O_ADMIN},
		{{"kdf-n", required_argument, NULL, '1'}, CTL_O_KDF},
		{{"kdf-r", required_argument, NULL, '2'}, CTL_O_KDF},
		{{"kdf-p", required_argument, NULL, '3'}, CTL_O_KDF},
		{{"note", required_argument, NULL, 'n'}, CTL_O_NOTE},
		{{"target", required_argument, NULL, 't'}, CTL_O_TARGET},
		{{"overwrite", no_argument, NULL, 'o'}, CTL_O_OVERWRITE},
		{{"read-data", no_argument, NULL, 'r'}, CTL_O_READ_DATA},
		{{"read-data-subset", required_argument, NULL, '5'},
		    CTL_O_READ_DATA},
		{{"soft", required_argument, NULL, 's'}, CTL_O_QUOTA},
		{{"hard", required_argument, NULL, 'H'}, CTL_O_QUOTA},
		{{"since", required_argument, NULL, 'S'}, CTL_O_JOURNAL},
		{{"type", required_argument, NULL, 'T'}, CTL_O_JOURNAL},
		{{"files", no_argument, NULL, 'f'}, CTL_O_JOURNAL},
		{{"all", no_argument, NULL, 'A'}, CTL_O_JOURNAL},
		{{"watch", no_argument, NULL, 'w'}, CTL_O_WATCH},
		{{"output", required_argument, NULL, 'O'}, CTL_O_OUTPUT},
		{{"privileged", no_argument, NULL, 'p'}, CTL_O_PRIVILEGED},
		{{"keep-keys", no_argument, NULL, 'K'}, CTL_O_KEEP_KEYS},
		{{"dry-run", no_argument, NULL, 'd'}, CTL_O_DRY_RUN},
		{{"now", no_argument, NULL, 'W'}, CTL_O_NOW},
		{{"long", no_argument, NULL, 'l'}, CTL_O_LIST},
		{{"recursive", no_argument, NULL, 'R'}, CTL_O_LIST},
		{{"snapshots", required_argument, NULL, 'L'}, CTL_O_FIND},
		{{"newer", required_argument, NULL, 'e'}, CTL_O_FIND},
		{{"older", required_argument, NULL, 'E'}, CTL_O_FIND},
		{{"format", required_argument, NULL, 'M'}, CTL_O_FORMAT},
	};
	struct option opts[sizeof(table) / sizeof(table[0]) + 3];
	size_t i, n = 0;
	uint64_t fd;
	int c;

	memset(o, 0, sizeof(*o));
	pw_command = NULL;
	pw_fd = -1;
	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (table[i].mask & allowed)
			opts[n++] = table[i].opt;
	opts[n++] = (struct option){"help", no_argument, NULL, 'h'};
	/* A global option people also type after the verb. */
	opts[n++] = (struct option){"utc", no_argument, NULL, 'Z'};
	opts[n] = (struct option){NULL, 0, NULL, 0};
	optind = 0;
	opterr = 1;
	/* Leading ':' off, so getopt prints its own message for a bad
	 * option; no short options besides -h. */
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'P':
			o->password_file = optarg;
			break;
		case 'c':
			pw_command = optarg;
			break;
		case 'F':
			if (bm_parse_u64(optarg, &fd) != 0 || fd > INT_MAX) {
				ctl_err(ctl, "--password-fd %s: not a file "
				    "descriptor number", optarg);
				return CTL_USAGE;
			}
			pw_fd = (int)fd;
			break;
		case 'N':
			o->new_password_file = optarg;
			break;
		case 'U':
			o->user_password_file = optarg;
			break;
		case 'Z':
			bm_time_set_utc(1);
			break;
		case 'j':
			o->json = 1;
			/* Progress as JSON lines on stderr (bm_progress.h). */
			bm_progress_set_json(1);
			break;
		case 'y':
			o->yes = 1;
			break;
		case 'u':
			o->user = optarg;
			break;
		case 'k':
			o->poste_key = optarg;
			break;
		case 'a':
			o->admin = 1;
			break;
		case '1':
			o->kdf_n = optarg;
			break;
		case '2':
			o->kdf_r = optarg;
			break;
		case '3':
			o->kdf_p = optarg;
			break;
		case 'n':
			o->note = optarg;
			break;
		case 't':
			o->target = optarg;
			break;
		case 'o':
			o->overwrite = 1;
			break;
		case 'r':
			o->read_data = 1;
			break;
		case '5':
			o->read_data_subset = optarg;
			break;
		case 's':
			o->soft = optarg;
			break;
		case 'H':
			o->hard = optarg;
			break;
		case 'S':
			o->since = optarg;
			break;
		case 'T':
			o->type = optarg;
			break;
		case 'f':
			o->files = 1;
			break;
		case 'A':
			o->all = 1;
			break;
		case 'w':
			o->watch = 1;
			break;
		case 'O':
			o->output = optarg;
			break;
		case 'p':
			o->privileged = 1;
			break;
		case 'K':
			o->keep_keys = 1;
			break;
		case 'd':
			o->dry_run = 1;
			break;
		case 'W':
			o->now = 1;
			break;
		case 'l':
			o->long_list = 1;
			break;
		case 'R':
			o->recursive = 1;
			break;
		case 'L':
			o->snapshots = optarg;
			break;
		case 'e':
			o->newer = optarg;
			break;
		case 'E':
			o->older = optarg;
			break;
		case 'M':
			o->format = optarg;
			break;
		case 'h':
			ctl_usage(ctl, usage, 0);
			return CTL_OK;
		default:
			ctl_usage(ctl, usage, 1);
			return CTL_USAGE;
		}
	}
	if ((o->password_file != NULL) + (pw_command != NULL) +
	    (pw_fd >= 0) > 1) {
		ctl_err(ctl, "give only one of --password-file, "
		    "--password-command and --password-fd");
		return CTL_USAGE;
	}
	o->nargs = argc - optind;
	o->args = argv + optind;
	if (o->nargs < min || o->nargs > max) {
		ctl_err(ctl, "%s", o->nargs < min ? "missing argument" :
		    "too many arguments");
		ctl_usage(ctl, usage, 1);
		return CTL_USAGE;
	}
	return -1;
}

void
ctl_json_done(const char *format, const char *machine, const char *user)
{
	bm_json j;

	bm_json_init(&j, stdout);
	bm_json_head(&j, format, 1);
	bm_json_str(&j, "machine", machine);
	if (user != NULL)
		bm_json_str(&j, "user", user);
	bm_json_end_obj(&j);
}

int
ctl_subcommand(struct ctl *ctl, const struct ctl_sub *subs, size_t n,
    int argc, char **argv)
{
	const char *verb = ctl->verb;
	char name[64];
	size_t i;
	int rc;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		for (i = 0; i < n; i++) {
			snprintf(name, sizeof(name), "%s %s", verb,
			    subs[i].name);
			ctl->verb = name;
			ctl_usage(ctl, subs[i].usage, argc < 2);
		}
		ctl->verb = verb;
		return argc < 2 ? CTL_USAGE : CTL_OK;
	}
	for (i = 0; i < n; i++)
		if (strcmp(subs[i].name, argv[1]) == 0)
			break;
	if (i == n) {
		ctl_err(ctl, "unknown subcommand '%s' (see beemoctl %s "
			     "--help)", argv[1], verb);
		return CTL_USAGE;
	}
	snprintf(name, sizeof(name), "%s %s", verb, subs[i].name);
	ctl->verb = name;
	rc = subs[i].fn(ctl, argc - 1, argv + 1);
	ctl->verb = verb;
	return rc;
}
