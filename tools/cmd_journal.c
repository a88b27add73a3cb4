/*
 * cmd_journal.c -- `beemoctl journal MACHINE`: the operations of a backup
 * set since it was created (see store.h, "the journal").
 */
#include <stdio.h>
#include <string.h>

#include "ctl_store.h"

static const char journal_usage[] =
    "MACHINE [--since TIME] [--type TYPE] [--files] [--json]\n"
    "       [--admin | --user USER | --poste-key FILE] "
    "[--password-file FILE]\n"
    "\n"
    "Print the journal of MACHINE: every backup session, file operation,\n"
    "snapshot, off-site push, restore, deletion, virus detection and error\n"
    "since the backup set was created, oldest first.\n"
    "\n"
    "  --since TIME          only from TIME on: 2026-11-28, 2026-11-28T10:00:00Z\n"
    "                        or an age such as 3h, 2d\n"
    "  --type TYPE           only entries of TYPE: session, files, snapshot,\n"
    "                        push, restore, delete, virus, error, quota\n"
    "  --files               list the files concerned under each entry\n"
    "  --json                print JSON (with the files)\n"
    "  --admin               open with the administrator's password\n"
    "                        (default)\n"
    "  --user USER           open with USER's password\n"
    "  --poste-key FILE      open with the machine's POSTE key file\n"
    "  --password-file FILE  read the password from FILE (default\n"
    "                        $BEEMO_PASSWORD_FILE, or the terminal)\n"
    "  --help                this help\n";

struct out {
	const char *machine;
	int files, json;
	bm_json j;
	uint64_t n;
};

static int
print_entry(void *ctx, const struct store_journal_entry *e)
{
	struct out *o = ctx;
	char t[32];
	size_t i;

	o->n++;
	if (o->json) {
		bm_json_begin_obj(&o->j, NULL);
		bm_json_str(&o->j, "machine", o->machine);
		bm_json_time(&o->j, "time", e->time);
		bm_json_u64(&o->j, "time_ns", e->time);
		bm_json_str(&o->j, "type", e->type);
		bm_json_str(&o->j, "who", e->who);
		bm_json_str(&o->j, "summary", e->summary);
		bm_json_begin_arr(&o->j, "files");
		for (i = 0; i < e->nfiles; i++)
			bm_json_str(&o->j, NULL, e->files[i]);
		bm_json_end_arr(&o->j);
		bm_json_end_obj(&o->j);
		return 0;
	}
	printf("%s  %-8s  %-12s  %s\n", bm_time_str(t, sizeof(t), e->time),
	    e->type, e->who[0] ? e->who : "-", e->summary);
	for (i = 0; o->files && i < e->nfiles; i++)
		printf("    %s\n", e->files[i]);
	return 0;
}

int
cmd_journal(struct ctl *ctl, int argc, char **argv)
{
	struct ctl_opts o;
	struct ctl_session s;
	struct out out;
	uint64_t since = 0;
	int rc;

	if ((rc = ctl_parse(ctl, argc, argv, CTL_O_JOURNAL | CTL_O_JSON |
	    CTL_O_ADMIN | CTL_O_USER | CTL_O_POSTE_KEY | CTL_O_PASSWORD, 1, 1,
	    journal_usage, &o)) >= 0)
		return rc;
	if (o.since != NULL && bm_parse_time(o.since, &since) != 0) {
		ctl_err(ctl, "'%s' is not a time (2026-11-28, "
		    "2026-11-28T10:00:00Z, 3h, 2d)", o.since);
		return CTL_USAGE;
	}
	if (ctl_session_open(ctl, o.args[0], &o, 0, &s) != 0)
		return CTL_FAIL;
	memset(&out, 0, sizeof(out));
	out.machine = o.args[0];
	out.files = o.files;
	out.json = o.json;
	if (o.json) {
		bm_json_init(&out.j, stdout);
		bm_json_begin_arr(&out.j, NULL);
	}
	rc = store_journal_list(s.st, since, o.type, print_entry, &out);
	if (o.json)
		bm_json_end_arr(&out.j);
	if (rc != 0)
		ctl_err(ctl, "%s: %s", o.args[0], beemo_strerror(rc));
	if (ctl_session_close(ctl, &s) != 0)
		rc = -1;
	return rc != 0 ? CTL_FAIL : CTL_OK;
}
