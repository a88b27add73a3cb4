/*
 * sync_status.c -- `beemo-sync status`: when each target last received a
 * complete push, from STORE/sync/state.json, and what the center's last
 * scrub found (STORE/sync/scrub/T.json).  Reads only local files and
 * takes no lock (the state file is replaced atomically), so it answers
 * at once even while a push runs.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "bm_conf.h"
#include "bm_time.h"
#include "bm_units.h"
#include "sync.h"

static const char status_usage[] =
    "usage: beemo-sync [-c FILE] [--store DIR] status [--json]\n";

/* The rest of --help: what the verb does and each option. */
static const char status_help[] =
    "\n"
    "When each target was last reached, pushed and verified.\n"
    "\n"
    "  -j, --json  one JSON object \"beemo-sync-state\": the state file,\n"
    "              with every configured target\n"
    "  -h, --help  this help\n";

/* What the center's last scrub found, as the last push read it. */
static void
show_scrub(const struct sync_ctx *ctx, const char *target, uint64_t now)
{
	struct sync_scrub r;
	char when[32], ago[32];

	if (sync_scrub_load(ctx, target, &r) != 0 || r.time_ns == 0)
		return;
	printf("  center scrub: %s (%s): %llu objects checked, %llu "
	    "missing, %llu damaged", bm_time_show(when, sizeof(when),
	    r.time_ns), bm_age_str(ago, sizeof(ago), r.time_ns, now),
	    (unsigned long long)r.objects, (unsigned long long)r.missing,
	    (unsigned long long)r.damaged);
	if (r.lost)
		printf(", %llu lost (only older states held them)",
		    (unsigned long long)r.lost);
	printf("\n");
}

int
sync_cmd_status(struct sync_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct bm_sync_state st;
	const char *const *names;
	uint64_t now = bm_now_ns();
	size_t n, i;
	int c, json = ctx->json;

	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = 1;
			break;
		case 'h':
			fputs(status_usage, stdout);
			fputs(status_help, stdout);
			return SYNC_EXIT_OK;
		default:
			fputs(status_usage, stderr);
			return SYNC_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fputs(status_usage, stderr);
		return SYNC_EXIT_USAGE;
	}
	if (bm_sync_state_load(ctx->statepath, &st) != 0)
		return SYNC_EXIT_FAIL;
	/* Configured targets never pushed to appear too. */
	bm_conf_names(ctx->conf, "target", &names, &n);
	for (i = 0; i < n; i++)
		if (bm_sync_state_target(&st, names[i]) == NULL) {
			bm_sync_state_free(&st);
			return SYNC_EXIT_FAIL;
		}
	if (json) {
		/* The state file's text, less the blank line that ends
		 * the file (its format keeps it). */
		char *buf = NULL;
		size_t n = 0;
		FILE *m = open_memstream(&buf, &n);

		if (m == NULL || bm_sync_state_print(m, &st) != 0 ||
		    fclose(m) != 0) {
			sync_log(LOG_ERR, "cannot print the state: %s",
			    strerror(ENOMEM));
			free(buf);
			bm_sync_state_free(&st);
			return SYNC_EXIT_FAIL;
		}
		while (n > 1 && buf[n - 1] == '\n' && buf[n - 2] == '\n')
			n--;
		fwrite(buf, 1, n, stdout);
		free(buf);
		bm_sync_state_free(&st);
		return SYNC_EXIT_OK;
	}
	for (i = 0; i < st.n; i++) {
		const struct bm_sync_tstate *t = &st.t[i];
		char when[32], ago[32], sent[32];

		printf("%s:\n", t->name);
		if (t->last_success_ns)
			printf("  last success: %s (%s), %s\n",
			    bm_time_show(when, sizeof(when),
			    t->last_success_ns), bm_age_str(ago, sizeof(ago),
			    t->last_success_ns, now), t->manifest);
		else
			printf("  last success: never\n");
		if (t->counter)
			printf("  last manifest: push %llu of %s\n",
			    (unsigned long long)t->counter, bm_time_show(when,
			    sizeof(when), t->counter_ns));
		if (t->last_attempt_ns)
			printf("  last attempt: %s (%s): %s, sent %llu "
			    "objects (%s)\n", bm_time_show(when, sizeof(when),
			    t->last_attempt_ns), bm_age_str(ago, sizeof(ago),
			    t->last_attempt_ns, now), t->result,
			    (unsigned long long)t->objs_sent,
			    bm_human(sent, sizeof(sent), t->bytes_sent));
		else
			printf("  last attempt: never\n");
		show_scrub(ctx, t->name, now);
		if (t->awaiting)
			printf("  %llu remote objects await release "
			    "(beemo-sync release)\n",
			    (unsigned long long)t->awaiting);
	}
	bm_sync_state_free(&st);
	return SYNC_EXIT_OK;
}
