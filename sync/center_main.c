/*
 * center_main.c -- main() of beemo-center: global options, the center's
 * configuration, and dispatch to one verb from a table (one file per
 * verb; see center.h).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bm_conf.h"
#include "bm_log.h"
#include "bm_time.h"
#include "center.h"

static const struct {
	const char *name;
	int (*fn)(struct center_ctx *ctx, int argc, char **argv);
	const char *summary;
} verbs[] = {
	{"serve", center_cmd_serve, "SFTP server of one area (forced "
	    "command)"},
	{"apply", center_cmd_apply, "check, report and apply deletion "
	    "requests"},
	{"scrub", center_cmd_scrub, "check every object against the "
	    "manifests"},
	{"add", center_cmd_add, "create the area of an appliance"},
	{"list", center_cmd_list, "the areas of this center"},
	{"status", center_cmd_status, "usage, pushes and requests of areas"},
	{"remove", center_cmd_remove, "retire the area of an appliance"},
	{"pin", center_cmd_pin, "the administrator's key an area "
	    "believes"},
};

#define NVERBS (sizeof(verbs) / sizeof(verbs[0]))

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: beemo-center [-c FILE] [-q] [-v] [--utc] VERB "
		   "[ARGS]\n"
		   "       beemo-center VERB --help\n\nverbs:\n");
	for (i = 0; i < NVERBS; i++)
		fprintf(f, "  %-8s %s\n", verbs[i].name, verbs[i].summary);
	fprintf(f, "\noptions:\n"
		   "  -c, --config FILE  configuration file (default "
		   "$BEEMO_CENTER_CONFIG or " CENTER_CONF_DEFAULT ")\n"
		   "  -q, --quiet        only errors\n"
		   "  -v, --verbose      more detail\n"
		   "      --utc          times in UTC, not the local zone\n"
		   "  -V, --version      print the version\n"
		   "  -h, --help         this help\n"
		   "\nexit status: 0 ok, 1 failed, 2 usage, 3 locked or "
		   "busy, 4 finished with\nwarnings (EXIT STATUS in the "
		   "manual page)\n");
}

/* The configuration: -c FILE or $BEEMO_CENTER_CONFIG must exist; the
 * default file may be absent (every setting has a default). */
static int
load_conf(const char *config, bm_conf **out)
{
	char err[512];

	if (!config)
		config = getenv("BEEMO_CENTER_CONFIG");
	if (!config && access(CENTER_CONF_DEFAULT, F_OK) != 0) {
		*out = bm_conf_empty();
		return *out ? 0 : -ENOMEM;
	}
	if (bm_conf_load(config ? config : CENTER_CONF_DEFAULT, out, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "beemo-center: %s\n", err);
		return -EINVAL;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"quiet", no_argument, NULL, 'q'},
		{"verbose", no_argument, NULL, 'v'},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{"utc", no_argument, NULL, 'U'},
		{NULL, 0, NULL, 0},
	};
	struct center_ctx ctx;
	const char *config = NULL;
	size_t i;
	int c, rc;

	memset(&ctx, 0, sizeof(ctx));
	while ((c = getopt_long(argc, argv, "+c:qvVh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 'q':
			ctx.quiet = 1;
			break;
		case 'v':
			ctx.verbose++;
			break;
		case 'U':
			bm_time_set_utc(1);
			break;
		case 'V':
			printf("beemo-center " BEEMO_VERSION "\n");
			return CENTER_EXIT_OK;
		case 'h':
			usage(stdout);
			return CENTER_EXIT_OK;
		default:
			usage(stderr);
			return CENTER_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CENTER_EXIT_USAGE;
	}
	for (i = 0; i < NVERBS; i++)
		if (strcmp(verbs[i].name, argv[optind]) == 0)
			break;
	if (i == NVERBS) {
		fprintf(stderr, "beemo-center: unknown verb '%s' (see "
		    "beemo-center --help)\n", argv[optind]);
		return CENTER_EXIT_USAGE;
	}
	bm_log_open("beemo-center", 0, ctx.verbose);
	signal(SIGPIPE, SIG_IGN);
	if (load_conf(config, &ctx.conf) != 0)
		return CENTER_EXIT_FAIL;
	ctx.root = bm_conf_get(ctx.conf, "center", NULL, "root",
	    CENTER_ROOT_DEFAULT);
	optind++;
	{
		int vargc = argc - optind + 1;
		char **vargv = argv + optind - 1;

		optind = 0; /* full getopt reset for the verb */
		rc = verbs[i].fn(&ctx, vargc, vargv);
	}
	bm_conf_free(ctx.conf);
	return rc;
}
