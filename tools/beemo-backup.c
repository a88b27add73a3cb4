/*
 * beemo-backup.c -- main() of beemo-backup, the client of a Beemo
 * appliance: options, usage, and dispatch to one verb (backup.h).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backup.h"
#include "bm_log.h"
#include "bm_time.h"

/* Options of the verbs, as bits: a verb refuses the others. */
enum {
	OPT_KEY = 1 << 0,
	OPT_EXCLUDE = 1 << 1,
	OPT_DRY_RUN = 1 << 2,
	OPT_QUIET = 1 << 3,
	OPT_JSON = 1 << 4,
	OPT_USER = 1 << 5,
	OPT_PASSWORD = 1 << 6,
	OPT_SNAPSHOT = 1 << 7,
	OPT_TARGET = 1 << 8,
	OPT_UTC = 1 << 9,
};

static void
usage_backup(FILE *f)
{
	fprintf(f,
	    "usage: beemo-backup backup --appliance HOST --machine NAME "
	    "--key FILE\n"
	    "           [--exclude-from FILE] [--dry-run] [--quiet] [--json] "
	    "PATH...\n"
	    "\n"
	    "Open the machine's backup session on the appliance with its key "
	    "file, copy\n"
	    "each PATH into it with rsync (kept under its absolute name, "
	    "files gone\n"
	    "from PATH deleted), end the session so that the appliance takes "
	    "a snapshot,\n"
	    "and print a summary.  \"backup\" may be left out.\n"
	    "\n"
	    "  -a, --appliance HOST   the appliance (ssh host name or "
	    "address)\n"
	    "  -m, --machine NAME     this machine's name on the appliance "
	    "(ssh login\n"
	    "                         beemo-NAME)\n"
	    "  -k, --key FILE         the machine's POSTE key file\n"
	    "      --exclude-from FILE  rsync exclude patterns, one a line\n"
	    "  -n, --dry-run          compare only: nothing is copied or "
	    "deleted\n"
	    "  -q, --quiet            no progress, no summary (for cron); "
	    "refused files\n"
	    "                         are still listed on standard error\n"
	    "      --json             the summary as one JSON object "
	    "beemo-backup-summary\n"
	    "\nconnection options: see beemo-backup --help\n");
}

static void
usage_snapshots(FILE *f)
{
	fprintf(f,
	    "usage: beemo-backup snapshots --appliance HOST --machine NAME "
	    "--key FILE\n"
	    "           [--json] [--utc]\n"
	    "\n"
	    "List the machine's snapshots on the appliance, opened with its "
	    "key file.\n"
	    "\n"
	    "  -a, --appliance HOST   the appliance\n"
	    "  -m, --machine NAME     this machine's name on the appliance\n"
	    "  -k, --key FILE         the machine's POSTE key file\n"
	    "      --json             the appliance's beemo-snapshots object "
	    "as it is\n"
	    "      --utc              times in UTC, not the local zone\n"
	    "\nconnection options: see beemo-backup --help\n");
}

static void
usage_restore(FILE *f)
{
	fprintf(f,
	    "usage: beemo-backup restore --appliance HOST --machine NAME "
	    "--user NAME\n"
	    "           [--password-file FILE | --password-fd N] "
	    "[--snapshot SNAP]\n"
	    "           --target DIR PATH\n"
	    "\n"
	    "Bring PATH (its name on this machine) back from a snapshot of "
	    "this machine\n"
	    "into the existing directory DIR: a directory's contents, a file "
	    "by its\n"
	    "name, with owners, modes, times, ACLs and extended attributes "
	    "(tar).\n"
	    "Files in DIR are replaced by those of the snapshot, as tar -x "
	    "does.\n"
	    "Opened with the password of a user of this machine, asked on "
	    "the\n"
	    "terminal unless given.\n"
	    "\n"
	    "  -a, --appliance HOST   the appliance\n"
	    "  -m, --machine NAME     this machine's name on the appliance\n"
	    "  -u, --user NAME        a user of the machine on the "
	    "appliance\n"
	    "      --password-file FILE  the user's password: the first line "
	    "of FILE\n"
	    "      --password-fd N    the user's password: the first line "
	    "read from\n"
	    "                         descriptor N\n"
	    "  -s, --snapshot SNAP    the snapshot: an id, latest (the "
	    "default), latest~N,\n"
	    "                         a date or a tag\n"
	    "  -t, --target DIR       the directory the files are written "
	    "into\n"
	    "\nconnection options: see beemo-backup --help\n");
}

static const struct {
	const char *name;
	int (*fn)(const struct backup_opts *o);
	void (*usage)(FILE *f);
	unsigned opts;
	const char *summary;
} verbs[] = {
	{"backup", backup_cmd_backup, usage_backup, OPT_KEY | OPT_EXCLUDE |
	    OPT_DRY_RUN | OPT_QUIET | OPT_JSON, "copy paths into a new "
	    "snapshot (the default)"},
	{"snapshots", backup_cmd_snapshots, usage_snapshots, OPT_KEY |
	    OPT_JSON | OPT_UTC, "list this machine's snapshots"},
	{"restore", backup_cmd_restore, usage_restore, OPT_USER |
	    OPT_PASSWORD | OPT_SNAPSHOT | OPT_TARGET, "bring files back "
	    "from a snapshot"},
};

#define NVERBS (sizeof(verbs) / sizeof(verbs[0]))

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: beemo-backup [backup] --appliance HOST --machine "
		   "NAME --key FILE [OPTIONS] PATH...\n"
		   "       beemo-backup VERB --appliance HOST --machine NAME "
		   "[OPTIONS]\n"
		   "       beemo-backup VERB --help\n\n"
		   "Back this machine up to a Beemo appliance over SSH.\n"
		   "\nverbs:\n");
	for (i = 0; i < NVERBS; i++)
		fprintf(f, "  %-10s %s\n", verbs[i].name, verbs[i].summary);
	fprintf(f, "\noptions:\n"
		   "  -p, --port N           the appliance's ssh port\n"
		   "  -i, --identity FILE    the ssh private key (default: "
		   "ssh's own)\n"
		   "      --known-hosts FILE the known_hosts file holding "
		   "the appliance's key\n"
		   "  -o, --ssh-option OPT   one more ssh option "
		   "(ssh_config(5), repeatable)\n"
		   "  -V, --version          print the version\n"
		   "  -h, --help             this help\n"
		   "\nexit status: 0 all backed up, 1 failed, 2 usage or key "
		   "refused, 3 busy,\n4 done but files refused by the "
		   "antivirus (EXIT STATUS in the manual page)\n");
}

static void
on_signal(int sig)
{
	(void)sig;
	backup_stop = 1;
}

/* A name sent on one line of the channel, or given to ssh: not empty,
 * no newline, not an option. */
static int
line_ok(const char *s)
{
	return s && s[0] && s[0] != '-' && !strchr(s, '\n') &&
	    !strchr(s, '\r');
}

static int
parse(int argc, char **argv, struct backup_opts *o, size_t *verb)
{
	static const struct option opts[] = {
		{"appliance", required_argument, NULL, 'a'},
		{"machine", required_argument, NULL, 'm'},
		{"key", required_argument, NULL, 'k'},
		{"port", required_argument, NULL, 'p'},
		{"identity", required_argument, NULL, 'i'},
		{"known-hosts", required_argument, NULL, 'K'},
		{"ssh-option", required_argument, NULL, 'o'},
		{"exclude-from", required_argument, NULL, 'E'},
		{"dry-run", no_argument, NULL, 'n'},
		{"quiet", no_argument, NULL, 'q'},
		{"json", no_argument, NULL, 'j'},
		{"user", required_argument, NULL, 'u'},
		{"password-file", required_argument, NULL, 'P'},
		{"password-fd", required_argument, NULL, 'F'},
		{"snapshot", required_argument, NULL, 's'},
		{"target", required_argument, NULL, 't'},
		{"utc", no_argument, NULL, 'U'},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	unsigned used = 0, allowed;
	int named = 0; /* the verb was named, not left out */
	char *end;
	long n;
	int c;

	*verb = 0;
	if (argc > 1 && argv[1][0] != '-') {
		for (*verb = 0; *verb < NVERBS; (*verb)++)
			if (strcmp(verbs[*verb].name, argv[1]) == 0)
				break;
		if (*verb == NVERBS) {
			/* PATH... of the default verb: "backup" left out */
			*verb = 0;
		} else {
			argv++;
			argc--;
			named = 1;
		}
	}
	o->verb = verbs[*verb].name;
	allowed = verbs[*verb].opts;
	while ((c = getopt_long(argc, argv, "a:m:k:p:i:o:nqu:s:t:Vh", opts,
	    NULL)) != -1) {
		switch (c) {
		case 'a':
			o->appliance = optarg;
			break;
		case 'm':
			o->machine = optarg;
			break;
		case 'k':
			o->key = optarg;
			used |= OPT_KEY;
			break;
		case 'p':
			errno = 0;
			n = strtol(optarg, &end, 10);
			if (errno || *end || n < 1 || n > 65535) {
				fprintf(stderr, "beemo-backup: bad port '%s'\n",
				    optarg);
				return -1;
			}
			o->port = optarg;
			break;
		case 'i':
			o->identity = optarg;
			break;
		case 'K':
			o->known_hosts = optarg;
			break;
		case 'o':
			if (o->nssh_opts == BACKUP_MAX_SSH_OPTS) {
				fprintf(stderr, "beemo-backup: at most %d "
				    "--ssh-option\n", BACKUP_MAX_SSH_OPTS);
				return -1;
			}
			o->ssh_opts[o->nssh_opts++] = optarg;
			break;
		case 'E':
			o->exclude_from = optarg;
			used |= OPT_EXCLUDE;
			break;
		case 'n':
			o->dry_run = 1;
			used |= OPT_DRY_RUN;
			break;
		case 'q':
			o->quiet = 1;
			used |= OPT_QUIET;
			break;
		case 'j':
			o->json = 1;
			used |= OPT_JSON;
			break;
		case 'u':
			o->user = optarg;
			used |= OPT_USER;
			break;
		case 'P':
			o->password_file = optarg;
			used |= OPT_PASSWORD;
			break;
		case 'F':
			errno = 0;
			n = strtol(optarg, &end, 10);
			if (errno || *end || n < 0 || n > 1024 * 1024) {
				fprintf(stderr, "beemo-backup: bad descriptor "
				    "'%s'\n", optarg);
				return -1;
			}
			o->password_fd = (int)n;
			used |= OPT_PASSWORD;
			break;
		case 's':
			o->snapshot = optarg;
			used |= OPT_SNAPSHOT;
			break;
		case 't':
			o->target = optarg;
			used |= OPT_TARGET;
			break;
		case 'U':
			bm_time_set_utc(1);
			used |= OPT_UTC;
			break;
		case 'V':
			printf("beemo-backup " BEEMO_VERSION "\n");
			return 1;
		case 'h':
			if (named)
				verbs[*verb].usage(stdout);
			else
				usage(stdout);
			return 1;
		default:
			verbs[*verb].usage(stderr);
			return -1;
		}
	}
	if (used & ~allowed) {
		static const char *const names[] = {"--key",
		    "--exclude-from", "--dry-run", "--quiet", "--json",
		    "--user", "--password-file or --password-fd",
		    "--snapshot", "--target", "--utc"};
		unsigned b = 0;

		while (!((used & ~allowed) & (1u << b)))
			b++;
		fprintf(stderr, "beemo-backup %s: %s is not an option of %s "
		    "(see beemo-backup %s --help)\n", o->verb, names[b],
		    o->verb, o->verb);
		return -1;
	}
	o->paths = argv + optind;
	o->npaths = (size_t)(argc - optind);
	if (!line_ok(o->appliance) || !line_ok(o->machine)) {
		fprintf(stderr, "beemo-backup %s: --appliance and --machine "
		    "are needed\n", o->verb);
		return -1;
	}
	if ((allowed & OPT_KEY) && !o->key) {
		fprintf(stderr, "beemo-backup %s: --key FILE is needed\n",
		    o->verb);
		return -1;
	}
	if (o->password_file && o->password_fd >= 0) {
		fprintf(stderr, "beemo-backup restore: --password-file or "
		    "--password-fd, not both\n");
		return -1;
	}
	if (*verb == 0 && o->npaths == 0) {
		fprintf(stderr, "beemo-backup backup: no PATH to back up\n");
		return -1;
	}
	if (*verb == 1 && o->npaths != 0) {
		fprintf(stderr, "beemo-backup snapshots: no PATH expected\n");
		return -1;
	}
	if (*verb == 2 && (o->npaths != 1 || !line_ok(o->user) ||
	    !o->target || (o->snapshot && !line_ok(o->snapshot)) ||
	    !line_ok(o->paths[0]))) {
		fprintf(stderr, "beemo-backup restore: --user NAME, --target "
		    "DIR and one PATH are needed\n");
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct backup_opts o;
	struct sigaction sa;
	size_t verb;
	int rc;

	memset(&o, 0, sizeof(o));
	o.password_fd = -1;
	bm_log_open("beemo-backup", 0, 0);
	rc = parse(argc, argv, &o, &verb);
	if (rc != 0)
		return rc > 0 ? BM_EXIT_OK : BM_EXIT_USAGE;
	/* ^C and SIGTERM stop the run where it is (no END: the appliance
	 * keeps an incomplete snapshot); no SA_RESTART, so that a blocked
	 * read returns. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	rc = verbs[verb].fn(&o);
	if (backup_stop && rc == BM_EXIT_OK)
		rc = BM_EXIT_FAIL;
	return rc;
}
