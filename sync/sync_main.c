/*
 * sync_main.c -- main() of beemo-sync: global options, configuration,
 * and dispatch to one verb from a table (one file per verb).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bm_conf.h"
#include "bm_file.h"
#include "bm_log.h"
#include "bm_nodump.h"
#include "bm_progress.h"
#include "bm_time.h"
#include "sync.h"

static const struct {
	const char *name;
	int (*fn)(struct sync_ctx *ctx, int argc, char **argv);
	const char *summary;
} verbs[] = {
	{"push", sync_cmd_push, "send what is new to every target"},
	{"verify", sync_cmd_verify, "check the copy on every target"},
	{"recover", sync_cmd_recover, "rebuild an appliance from a target"},
	{"status", sync_cmd_status, "when each target was last reached"},
	{"history", sync_cmd_history, "the states each target can restore"},
	{"maintenance", sync_cmd_maintenance, "send status, reports, alerts"},
	{"release", sync_cmd_release, "sign deletion requests (admin)"},
};

#define NVERBS (sizeof(verbs) / sizeof(verbs[0]))

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: beemo-sync [-c FILE] [-s DIR] [-q] [-v] [--json] "
		   "[--utc] VERB [ARGS]\n"
		   "       beemo-sync VERB --help\n\nverbs:\n");
	for (i = 0; i < NVERBS; i++)
		fprintf(f, "  %-10s %s\n", verbs[i].name, verbs[i].summary);
	fprintf(f, "\noptions:\n"
		   "  -c, --config FILE  configuration file (default "
		   "$BEEMO_CONFIG or " BM_CONF_DEFAULT ")\n"
		   "  -s, --store DIR    store directory (default from the "
		   "configuration, or " BM_STORE_DEFAULT ")\n"
		   "  -q, --quiet        no progress and no summaries\n"
		   "  -v, --verbose      more detail\n"
		   "      --json         JSON output (and progress as JSON "
		   "lines on\n                     standard error)\n"
		   "      --utc          times in UTC, not the local zone\n"
		   "  -V, --version      print the version\n"
		   "  -h, --help         this help\n"
		   "\nexit status: 0 ok, 1 failed, 2 usage, 3 locked or "
		   "busy, 4 finished with\nwarnings (EXIT STATUS in the "
		   "manual page)\n");
}

static int
set_paths(struct sync_ctx *ctx)
{
	if (bm_path(ctx->syncdir, sizeof(ctx->syncdir), "%s/sync",
	    ctx->store) != 0 || bm_sync_lock_path(ctx->conf, ctx->store,
	    ctx->lockpath, sizeof(ctx->lockpath)) != 0 ||
	    bm_sync_state_path(ctx->conf, ctx->store, ctx->statepath,
	    sizeof(ctx->statepath)) != 0)
		return -ENAMETOOLONG;
	return 0;
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
		{"json", no_argument, NULL, 'j'},
		{"utc", no_argument, NULL, 'U'},
		{NULL, 0, NULL, 0},
	};
	struct sync_ctx ctx;
	const char *config = NULL, *store = NULL;
	char err[512];
	size_t i;
	int c, rc;

	memset(&ctx, 0, sizeof(ctx));
	/* Keys, passwords and plaintext live in this process: never in a
	 * core file. */
	{
		int nd = bm_nodump();

		if (nd != 0) {
			fprintf(stderr, "beemo-sync: cannot disable core "
			    "dumps: %s\n", strerror(-nd));
			return 1;
		}
	}
	while ((c = getopt_long(argc, argv, "+c:s:qvVh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 's':
			store = optarg;
			break;
		case 'q':
			ctx.quiet = 1;
			break;
		case 'v':
			ctx.verbose++;
			break;
		case 'j':
			ctx.json = 1;
			break;
		case 'U':
			bm_time_set_utc(1);
			break;
		case 'V':
			printf("beemo-sync " BEEMO_VERSION "\n");
			return SYNC_EXIT_OK;
		case 'h':
			usage(stdout);
			return SYNC_EXIT_OK;
		default:
			usage(stderr);
			return SYNC_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return SYNC_EXIT_USAGE;
	}
	for (i = 0; i < NVERBS; i++)
		if (strcmp(verbs[i].name, argv[optind]) == 0)
			break;
	if (i == NVERBS) {
		fprintf(stderr, "beemo-sync: unknown verb '%s' (see "
		    "beemo-sync --help)\n", argv[optind]);
		return SYNC_EXIT_USAGE;
	}
	bm_log_open("beemo-sync", 0, ctx.verbose);
	/* Before any thread starts (bm_progress.h). */
	if (ctx.json)
		bm_progress_set_json(1);
	/* A server that goes away must give an error, not kill us. */
	signal(SIGPIPE, SIG_IGN);
	keymgr_global_init();
	if ((rc = bm_conf_load(config, &ctx.conf, err, sizeof(err))) != 0) {
		fprintf(stderr, "beemo-sync: %s\n", err);
		return SYNC_EXIT_FAIL;
	}
	ctx.store = store ? store :
	    bm_conf_get(ctx.conf, NULL, NULL, "store", BM_STORE_DEFAULT);
	ctx.store_given = store != NULL;
	if (set_paths(&ctx) != 0) {
		fprintf(stderr, "beemo-sync: store path too long\n");
		rc = SYNC_EXIT_FAIL;
		goto done;
	}
	if (sync_ssh_init() != 0) {
		fprintf(stderr, "beemo-sync: cannot initialize libssh2\n");
		rc = SYNC_EXIT_FAIL;
		goto done;
	}
	optind++;
	{
		int vargc = argc - optind + 1;
		char **vargv = argv + optind - 1;

		optind = 0; /* full getopt reset for the verb */
		rc = verbs[i].fn(&ctx, vargc, vargv);
	}
	sync_ssh_exit();
done:
	bm_conf_free(ctx.conf);
	return rc;
}
