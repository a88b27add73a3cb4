/*
 * cmd_snapshot.c -- `beemoctl snapshot` and `beemoctl snapshots`.
 *
 * When a backup session of the machine is mounted, the running beemofs
 * owns the store: the request goes to it through its control socket and
 * no password is needed (root on the appliance).  Otherwise the store is
 * opened here with a principal's key: the administrator's password or the
 * machine's POSTE key file for a snapshot, any principal for a listing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bm_err.h"
#include "bm_esc.h"
#include "bm_json.h"
#include "bm_time.h"
#include "bm_units.h"
#include "ctl_snapname.h"
#include "ctl_store.h"
#include "retention.h"

static const char snapshot_usage[] =
    "MACHINE [--note TEXT] [--tag NAME]... [--json]\n"
    "       [--admin | --poste-key FILE] [--password-file FILE]\n"
    "       beemoctl snapshot tag MACHINE SNAPSHOT NAME [--untag] [--json]\n"
    "       [--admin | --poste-key FILE] [--password-file FILE]\n"
    "\n"
    "Freeze the live tree of MACHINE as a new read-only snapshot.  Works\n"
    "whether the machine is mounted or not; when it is not, the store is\n"
    "opened with the administrator's password (default) or the machine's\n"
    "POSTE key file.  When nothing changed in the live tree since the\n"
    "last snapshot, and neither --note nor --tag is given, no snapshot is\n"
    "taken: \"nothing changed since snapshot N\" (exit status 0).\n"
    "\"snapshot tag\" adds the tag NAME to SNAPSHOT (an id, latest,\n"
    "latest~N, a date or time, or a tag: beemoctl(8), SNAPSHOT NAMES), or\n"
    "removes it with --untag.\n"
    "\n"
    "  --note TEXT           a note kept with the snapshot (127 bytes)\n"
    "  --tag NAME            a tag naming the snapshot (repeatable, up to\n"
    "                        8): a letter, then up to 63 letters, digits,\n"
    "                        '.', '_' or '-'; not latest, today, yesterday\n"
    "                        or now\n"
    "  --untag               (snapshot tag) remove the tag\n"
    "  --json                one JSON object \"beemo-snapshot\" (beemoctl(8)):\n"
    "                        {..., \"snapshot\": N, \"created\": true|false};\n"
    "                        \"beemo-snapshot-tag\" for snapshot tag\n"
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
    "tree at that time, tags, note.  Snapshot ID is browsable read-only as\n"
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

/*
 * Take --tag NAME (--tag=NAME) and --untag out of @argv (@argc updated),
 * which ctl_parse() then reads without them: the tags into @want, the
 * flag into @untag.  Returns -1 to go on, or an exit status after a
 * message.
 */
static int
take_tags(const struct ctl *ctl, int *argc, char **argv,
    struct store_snapinfo *want, int *untag)
{
	int i, j = 1;
	const char *t;

	for (i = 1; i < *argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			while (i < *argc)
				argv[j++] = argv[i++];
			break;
		}
		if (strcmp(argv[i], "--untag") == 0) {
			*untag = 1;
			continue;
		}
		if (strcmp(argv[i], "--tag") == 0) {
			if (i + 1 >= *argc) {
				ctl_err(ctl, "--tag needs a name");
				return CTL_USAGE;
			}
			t = argv[++i];
		} else if (strncmp(argv[i], "--tag=", 6) == 0) {
			t = argv[i] + 6;
		} else {
			argv[j++] = argv[i];
			continue;
		}
		if (!store_tag_valid(t)) {
			ctl_err(ctl, "'%s' is not a valid tag (a letter, then "
			    "up to 63 letters, digits, '.', '_' or '-'; not "
			    "latest, now, today or yesterday)", t);
			return CTL_USAGE;
		}
		if (want->ntags >= STORE_SNAP_TAGS) {
			ctl_err(ctl, "at most %d tags", STORE_SNAP_TAGS);
			return CTL_USAGE;
		}
		snprintf(want->tags[want->ntags++], sizeof(want->tags[0]), "%s",
		    t);
	}
	argv[j] = NULL;
	*argc = j;
	return -1;
}

/* The result of `snapshot`: a line, or with --json a beemo-snapshot. */
static void
print_taken(const struct ctl_opts *o, uint32_t id, int created)
{
	bm_json j;

	if (o->json) {
		bm_json_init(&j, stdout);
		bm_json_head(&j, "beemo-snapshot", 1);
		bm_json_str(&j, "machine", o->args[0]);
		bm_json_u64(&j, "snapshot", id);
		bm_json_bool(&j, "created", created);
		bm_json_end_obj(&j);
	} else if (created) {
		printf("snapshot %u\n", id);
	} else {
		printf("nothing changed since snapshot %u\n", id);
	}
}

/* beemoctl snapshot tag MACHINE SNAPSHOT NAME [--untag] */
static int
snapshot_tag(struct ctl *ctl, int argc, char **argv, int untag)
{
	struct ctl_opts o;
	struct ctl_session s;
	struct control_client c;
	struct store_snapinfo *v = NULL, si;
	size_t n = 0;
	int rc;

	if ((rc = ctl_parse(ctl, argc, argv, CTL_O_ADMIN | CTL_O_POSTE_KEY |
	    CTL_O_PASSWORD | CTL_O_JSON, 4, 4, snapshot_usage, &o)) >= 0)
		return rc;
	if (!store_tag_valid(o.args[3])) {
		ctl_err(ctl, "'%s' is not a valid tag", o.args[3]);
		return CTL_USAGE;
	}
	if (ctl_daemon(ctl, o.args[1], &c) != 0)
		return CTL_FAIL;
	rc = ctl_daemon_done(ctl, o.args[1], &c, control_snapshots(&c, &v,
	    &n));
	if (rc == 1) {
		rc = ctl_snap_resolve_list(ctl, v, n, o.args[2], &si);
		free(v);
		if (rc != 0)
			return rc;
		rc = ctl_daemon_done(ctl, o.args[1], &c,
		    control_snapshot_tag(&c, si.id, o.args[3], !untag));
		if (rc != 1)
			return CTL_FAIL;
		goto done;
	}
	if (rc != 0)
		return CTL_FAIL;
	if ((rc = ctl_session_open(ctl, o.args[1], &o, 1, &s)) != 0)
		return rc;
	if ((rc = ctl_snap_resolve(ctl, s.st, o.args[2], &si)) == 0 &&
	    (rc = store_snapshot_tag(s.st, si.id, o.args[3], !untag)) != 0) {
		ctl_err(ctl, "%s: snapshot %u: %s", o.args[1], si.id,
		    rc == -E2BIG ? "it has 8 tags already" :
		    beemo_strerror(rc));
		rc = CTL_FAIL;
	}
	if (ctl_session_close(ctl, &s) != 0 && rc == 0)
		rc = CTL_FAIL;
	if (rc != 0)
		return rc;
done:
	if (o.json) {
		bm_json j;

		bm_json_init(&j, stdout);
		bm_json_head(&j, "beemo-snapshot-tag", 1);
		bm_json_str(&j, "machine", o.args[1]);
		bm_json_u64(&j, "snapshot", si.id);
		bm_json_str(&j, "tag", o.args[3]);
		bm_json_bool(&j, "tagged", !untag);
		bm_json_end_obj(&j);
	} else if (!ctl->quiet) {
		printf("snapshot %u: tag %s %s\n", si.id, o.args[3], untag ?
		    "removed" : "added");
	}
	return CTL_OK;
}

int
cmd_snapshot(struct ctl *ctl, int argc, char **argv)
{
	struct ctl_opts o;
	struct ctl_session s;
	struct control_client c;
	struct store_snapinfo want;
	uint32_t id;
	int rc, untag = 0, created = 0, if_changed, i, pos = 0;

	memset(&want, 0, sizeof(want));
	if ((rc = take_tags(ctl, &argc, argv, &want, &untag)) >= 0)
		return rc;
	/* "snapshot tag M S N": three operands after the word (a machine
	 * named "tag" is still "snapshot tag"). */
	for (i = 1; i < argc; i++)
		pos += argv[i][0] != '-';
	if (argc > 1 && strcmp(argv[1], "tag") == 0 && pos >= 4) {
		if (want.ntags > 0) {
			ctl_err(ctl, "snapshot tag takes one tag, not --tag");
			return CTL_USAGE;
		}
		return snapshot_tag(ctl, argc, argv, untag);
	}
	if (untag) {
		ctl_err(ctl, "--untag is for \"snapshot tag\"");
		return CTL_USAGE;
	}
	if ((rc = ctl_parse(ctl, argc, argv, CTL_O_NOTE | CTL_O_JSON |
	    CTL_O_ADMIN | CTL_O_POSTE_KEY | CTL_O_PASSWORD, 1, 1,
	    snapshot_usage, &o)) >= 0)
		return rc;
	if (o.note != NULL && (strlen(o.note) > 127 || strchr(o.note, '\n'))) {
		ctl_err(ctl, "the note must be one line of at most 127 bytes");
		return CTL_USAGE;
	}
	if (o.note != NULL)
		memcpy(want.note, o.note, strlen(o.note));
	/* A note or a tag is a reason to take one anyway. */
	if_changed = o.note == NULL && want.ntags == 0;
	if (ctl_daemon(ctl, o.args[0], &c) != 0)
		return CTL_FAIL;
	rc = ctl_daemon_done(ctl, o.args[0], &c, control_snapshot_take(&c,
	    &want, if_changed, &id, &created));
	if (rc == 1) {
		print_taken(&o, id, created);
		return CTL_OK;
	}
	if (rc != 0)
		return CTL_FAIL;
	if ((rc = ctl_session_open(ctl, o.args[0], &o, 1, &s)) != 0)
		return rc;
	rc = store_snapshot_take(s.st, &want, if_changed, &id, &created);
	if (rc != 0)
		ctl_err(ctl, "%s: %s", o.args[0], beemo_strerror(rc));
	if (ctl_session_close(ctl, &s) != 0 || rc != 0)
		return CTL_FAIL;
	print_taken(&o, id, created);
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
		bm_json_bool(&j, "complete",
		    strcmp(v[i].note, RETENTION_COMPLETE_NOTE) == 0);
		{
			const char *t[STORE_SNAP_TAGS];
			unsigned k;

			for (k = 0; k < v[i].ntags; k++)
				t[k] = v[i].tags[k];
			bm_json_strs(&j, "tags", t, v[i].ntags);
		}
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
	unsigned k;

	if (n == 0) {
		printf("no snapshots\n");
		return;
	}
	printf("%5s  %-25s  %10s  %10s  %s\n", "ID", "TIME", "FILES",
	    "SIZE", "[TAGS] NOTE");
	for (i = 0; i < n; i++) {
		printf("%5u  %-25s  %10llu  %10s  ", v[i].id,
		    bm_time_show(t, sizeof(t), v[i].time),
		    (unsigned long long)v[i].files,
		    bm_human(b, sizeof(b), v[i].bytes));
		for (k = 0; k < v[i].ntags; k++)
			printf("%s[%s]", k ? " " : "", v[i].tags[k]);
		if (v[i].ntags > 0 && v[i].note[0] != '\0')
			putchar(' ');
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
		o.no_store_ok = 1; /* never backed up: no snapshots */
		if ((rc = ctl_session_open(ctl, o.args[0], &o, 0, &s)) != 0)
			return rc;
		rc = s.st != NULL ? store_snapshots(s.st, &v, &n) : 0;
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
