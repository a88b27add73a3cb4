/*
 * cmd_snapshot.c -- `beemoctl snapshot` and `beemoctl snapshots`.
 *
 * When a backup session of the machine is mounted, the running beemofs
 * owns the store: the request goes to it through its control socket and
 * no password is needed (root on the appliance).  Otherwise the store is
 * opened here with a principal's key: the administrator's password or the
 * machine's POSTE key file for a snapshot, any principal for a listing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bm_err.h"
#include "bm_esc.h"
#include "bm_json.h"
#include "bm_time.h"
#include "bm_units.h"
#include "ctl_store.h"

static const char snapshot_usage[] =
    "MACHINE [--note TEXT] [--json] [--admin | --poste-key FILE]\n"
    "       [--password-file FILE]\n"
    "\n"
    "Freeze the live tree of MACHINE as a new read-only snapshot.  Works\n"
    "whether the machine is mounted or not; when it is not, the store is\n"
    "opened with the administrator's password (default) or the machine's\n"
    "POSTE key file.\n"
    "\n"
    "  --note TEXT           a note kept with the snapshot (127 bytes)\n"
    "  --json                one JSON object \"beemo-snapshot\"\n"
    "                        (beemoctl(8))\n"
    "  --admin               open with the administrator's password\n"
    "  --poste-key FILE      open with the machine's POSTE key file\n"
    "  --password-file FILE  read the password from FILE (default\n"
    "                        $BEEMO_PASSWORD_FILE, or the terminal)\n"
    "  --help                this help\n";

static const char snapshots_usage[] =
    "MACHINE [--json] [--admin | --user USER | --poste-key FILE]\n"
    "       [--password-file FILE]\n"
    "\n"
    "List the snapshots of MACHINE: id, time, files and bytes in the live\n"
    "tree at that time, note.  Snapshot ID is browsable read-only as\n"
    "MOUNTPOINT/.snapshots/ID/ of a restore session (beemofs -o user= or\n"
    "-o admin; a backup session has none) and restorable with beemoctl\n"
    "restore.\n"
    "\n"
    "  --json                one JSON object \"beemo-snapshots\"\n"
    "                        (beemoctl(8))\n"
    "  --admin               open with the administrator's password\n"
    "  --user USER           open with USER's password\n"
    "  --poste-key FILE      open with the machine's POSTE key file\n"
    "  --password-file FILE  read the password from FILE (default\n"
    "                        $BEEMO_PASSWORD_FILE, or the terminal)\n"
    "  --help                this help\n";

/* The result of `snapshot`: a line, or with --json a beemo-snapshot. */
static void
print_made(const char *machine, uint32_t id, int json)
{
	bm_json j;

	if (!json) {
		printf("snapshot %u\n", id);
		return;
	}
	bm_json_init(&j, stdout);
	bm_json_head(&j, "beemo-snapshot", 1);
	bm_json_str(&j, "machine", machine);
	bm_json_u64(&j, "snapshot", id);
	bm_json_end_obj(&j);
}

int
cmd_snapshot(struct ctl *ctl, int argc, char **argv)
{
	struct ctl_opts o;
	struct ctl_session s;
	struct control_client c;
	uint32_t id;
	int rc;

	if ((rc = ctl_parse(ctl, argc, argv, CTL_O_NOTE | CTL_O_JSON |
	    CTL_O_ADMIN | CTL_O_POSTE_KEY | CTL_O_PASSWORD, 1, 1,
	    snapshot_usage, &o)) >= 0)
		return rc;
	if (o.note != NULL && (strlen(o.note) > 127 || strchr(o.note, '\n'))) {
		ctl_err(ctl, "the note must be one line of at most 127 bytes");
		return CTL_USAGE;
	}
	if (ctl_daemon(ctl, o.args[0], &c) != 0)
		return CTL_FAIL;
	rc = ctl_daemon_done(ctl, o.args[0], &c, control_snapshot(&c, o.note,
	    &id));
	if (rc == 1) {
		print_made(o.args[0], id, o.json);
		return CTL_OK;
	}
	if (rc != 0)
		return CTL_FAIL;
	if ((rc = ctl_session_open(ctl, o.args[0], &o, 1, &s)) != 0)
		return rc;
	rc = store_snapshot(s.st, o.note, &id);
	if (rc != 0)
		ctl_err(ctl, "%s: %s", o.args[0], beemo_strerror(rc));
	if (ctl_session_close(ctl, &s) != 0 || rc != 0)
		return CTL_FAIL;
	print_made(o.args[0], id, o.json);
	return CTL_OK;
}

static void
print_json(const char *machine, const struct store_snapinfo *v, size_t n)
{
	bm_json j;
	size_t i;

	bm_json_init(&j, stdout);
	bm_json_head(&j, "beemo-snapshots", 2);
	bm_json_str(&j, "machine", machine);
	bm_json_begin_arr(&j, "snapshots");
	for (i = 0; i < n; i++) {
		bm_json_begin_obj(&j, NULL);
		bm_json_u64(&j, "id", v[i].id);
		bm_json_time(&j, "time", v[i].time);
		bm_json_u64(&j, "files", v[i].files);
		bm_json_u64(&j, "bytes", v[i].bytes);
		bm_json_str(&j, "note", v[i].note);
		bm_json_end_obj(&j);
	}
	bm_json_end_arr(&j);
	bm_json_end_obj(&j);
}

static void
print_text(const struct store_snapinfo *v, size_t n)
{
	char t[32], b[32];
	size_t i;

	if (n == 0) {
		printf("no snapshots\n");
		return;
	}
	printf("%5s  %-25s  %10s  %10s  %s\n", "ID", "TIME", "FILES",
	    "SIZE", "NOTE");
	for (i = 0; i < n; i++) {
		printf("%5u  %-25s  %10llu  %10s  ", v[i].id,
		    bm_time_show(t, sizeof(t), v[i].time),
		    (unsigned long long)v[i].files,
		    bm_human(b, sizeof(b), v[i].bytes));
		bm_esc_put(stdout, v[i].note);
		putchar('\n');
	}
}

int
cmd_snapshots(struct ctl *ctl, int argc, char **argv)
{
	struct ctl_opts o;
	struct ctl_session s;
	struct store_snapinfo *v = NULL;
	struct control_client c;
	size_t n = 0;
	int rc;

	if ((rc = ctl_parse(ctl, argc, argv, CTL_O_JSON | CTL_O_ADMIN |
	    CTL_O_USER | CTL_O_POSTE_KEY | CTL_O_PASSWORD, 1, 1,
	    snapshots_usage, &o)) >= 0)
		return rc;
	if (ctl_daemon(ctl, o.args[0], &c) != 0)
		return CTL_FAIL;
	rc = ctl_daemon_done(ctl, o.args[0], &c, control_snapshots(&c, &v,
	    &n));
	if (rc == 1) {
		rc = 0;
	} else if (rc == 0) {
		if ((rc = ctl_session_open(ctl, o.args[0], &o, 0, &s)) != 0)
			return rc;
		rc = store_snapshots(s.st, &v, &n);
		if (rc != 0)
			ctl_err(ctl, "%s: %s", o.args[0], beemo_strerror(rc));
		if (ctl_session_close(ctl, &s) != 0)
			rc = -1;
	}
	if (rc != 0) {
		free(v);
		return CTL_FAIL;
	}
	if (o.json)
		print_json(o.args[0], v, n);
	else
		print_text(v, n);
	free(v);
	return CTL_OK;
}
