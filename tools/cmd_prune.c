/*
 * cmd_prune.c -- `beemoctl prune`: reclaim the space of forgotten
 * snapshots and deleted files in a machine's store (store_prune()).
 *
 * Prune needs the store to itself: a backup session of the machine
 * holds STORE/machines/NAME/lock for as long as it is mounted, and
 * prune waits for it to end (saying so once), or with --no-wait gives
 * up at once with exit status 3.  The key is unlocked first, so that a
 * password is asked before the wait, not after it.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "bm_conf.h"
#include "bm_err.h"
#include "bm_file.h"
#include "bm_json.h"
#include "bm_pass.h"
#include "bm_units.h"
#include "ctl_status.h"
#include "ctl_store.h"

/* Exit status of --no-wait while a backup session holds the machine. */

static const char prune_usage[] =
    "MACHINE [--dry-run] [--json] [--repack-threshold PCT] [--no-wait]\n"
    "       [--admin | --poste-key FILE] [--password-file FILE]\n"
    "\n"
    "Reclaim the space of MACHINE's forgotten snapshots and deleted files:\n"
    "index versions no snapshot sees and chunks nothing refers to are\n"
    "dropped, packs with at least PCT % garbage are repacked, packs with\n"
    "nothing live are deleted.  Crash-safe: after a kill at any moment the\n"
    "store opens, every snapshot reads as before, and a new run completes.\n"
    "Waits for a running backup session of MACHINE to end.\n"
    "\n"
    "  --dry-run               compute the figures, change nothing\n"
    "  --json                  one JSON object \"beemo-prune\"\n"
    "                          (beemoctl(8))\n"
    "  --repack-threshold PCT  repack packs with at least PCT % garbage\n"
    "                          (1..100, default 20)\n"
    "  --no-wait               do not wait for a backup session: exit 3\n"
    "  --admin                 open with the administrator's password\n"
    "                          (default)\n"
    "  --poste-key FILE        open with the machine's POSTE key file\n"
    "  --password-file FILE    read the password from FILE (default\n"
    "                          $BEEMO_PASSWORD_FILE, or the terminal)\n"
    "  --help                  this help\n";

struct prune_args {
	int dry_run, no_wait;
	unsigned pct;
};

/*
 * Take prune's own options out of @argv (kept in place, *@argc updated)
 * into @a; the others are left to ctl_parse().  Returns -1 to go on,
 * else an exit status.
 */
static int
own_options(const struct ctl *ctl, int *argc, char **argv,
    struct prune_args *a)
{
	int i, k = 1;

	memset(a, 0, sizeof(*a));
	for (i = 1; i < *argc; i++) {
		const char *v = NULL;
		char *end;
		unsigned long n;

		if (strcmp(argv[i], "--") == 0) {
			while (i < *argc)
				argv[k++] = argv[i++];
			break;
		}
		if (strcmp(argv[i], "--dry-run") == 0) {
			a->dry_run = 1;
			continue;
		}
		if (strcmp(argv[i], "--no-wait") == 0) {
			a->no_wait = 1;
			continue;
		}
		if (strncmp(argv[i], "--repack-threshold=", 19) == 0)
			v = argv[i] + 19;
		else if (strcmp(argv[i], "--repack-threshold") == 0) {
			if (i + 1 == *argc) {
				ctl_err(ctl, "--repack-threshold needs a "
					     "value");
				ctl_usage(ctl, prune_usage, 1);
				return CTL_USAGE;
			}
			v = argv[++i];
		}
		if (v == NULL) {
			argv[k++] = argv[i];
			continue;
		}
		errno = 0;
		n = strtoul(v, &end, 10);
		if (errno != 0 || end == v || *end != '\0' || n < 1 ||
		    n > 100) {
			ctl_err(ctl, "--repack-threshold: '%s' is not a "
				     "percentage from 1 to 100", v);
			return CTL_USAGE;
		}
		a->pct = (unsigned)n;
	}
	argv[k] = NULL;
	*argc = k;
	return -1;
}

/* Unlock the machine's SECRET as the principal of @o. */
static int
unlock(const struct ctl *ctl, keymgr *km, const char *machine,
    const struct ctl_opts *o, keymgr_secret **sec)
{
	char *pw = NULL;
	size_t len = 0;
	int rc;

	if (o->poste_key != NULL)
		rc = keymgr_unlock_poste(km, machine, o->poste_key, sec);
	else if (ctl_password(ctl, "Administrator password: ",
	    o->password_file, "BEEMO_PASSWORD_FILE", 0, &pw, &len) != 0)
		return CTL_FAIL;
	else
		rc = keymgr_unlock_admin(km, machine, pw, len, sec);
	bm_free_secret(pw, len);
	return rc == 0 ? 0 : ctl_km_fail(ctl, km);
}

static void
print_text(const char *machine, int dry_run,
    const struct store_prune_stats *s)
{
	char a[32], b[32], f[32], r[32], c[32];

	bm_human(a, sizeof(a), s->stored_before);
	bm_human(b, sizeof(b), s->stored_after);
	bm_human(f, sizeof(f), s->stored_before > s->stored_after ?
	    s->stored_before - s->stored_after : 0);
	bm_human(r, sizeof(r), s->reclaimable_after);
	bm_human(c, sizeof(c), s->bytes_repacked);
	printf("%s: %s%" PRIu64 " versions and %" PRIu64 " chunks dropped\n",
	    machine, dry_run ? "would be: " : "", s->versions_dropped,
	    s->chunks_dropped);
	printf("%s: packs: %" PRIu64 " deleted, %" PRIu64 " repacked (%s "
	    "copied), %" PRIu64 " written\n", machine, s->packs_deleted,
	    s->packs_repacked, c, s->packs_written);
	if (dry_run)
		printf("%s: stored %s; left as garbage under the threshold: "
		    "%s\n", machine, a, r);
	else
		printf("%s: stored %s -> %s, %s freed; %s of garbage left "
		    "under the threshold\n", machine, a, b, f, r);
}

static void
print_json(const char *machine, int dry_run,
    const struct store_prune_stats *s)
{
	bm_json j;

	bm_json_init(&j, stdout);
	bm_json_head(&j, "beemo-prune", 1);
	bm_json_str(&j, "machine", machine);
	bm_json_bool(&j, "dry_run", dry_run);
	bm_json_u64(&j, "versions_dropped", s->versions_dropped);
	bm_json_u64(&j, "chunks_dropped", s->chunks_dropped);
	bm_json_u64(&j, "log_dropped", s->log_dropped);
	bm_json_u64(&j, "packs_deleted", s->packs_deleted);
	bm_json_u64(&j, "packs_repacked", s->packs_repacked);
	bm_json_u64(&j, "packs_written", s->packs_written);
	bm_json_u64(&j, "bytes_repacked", s->bytes_repacked);
	bm_json_u64(&j, "stored_before", s->stored_before);
	bm_json_u64(&j, "stored_after", s->stored_after);
	bm_json_u64(&j, "freed", s->stored_before > s->stored_after ?
	    s->stored_before - s->stored_after : 0);
	bm_json_u64(&j, "reclaimable_after", s->reclaimable_after);
	bm_json_end_obj(&j);
}

/* Open the store read-write, waiting for backup sessions unless
 * @no_wait; 0, or an exit status after a message. */
static int
open_store(const struct ctl *ctl, const char *machine, const char *dir,
    const keymgr_secret *sec, int no_wait, store **st)
{
	struct store_opts so;

	memset(&so, 0, sizeof(so));
	/* The packs it writes are the size the sessions' are. */
	so.pack_size = bm_conf_get_size(ctl->conf, "store", NULL, "pack_size",
	    0);
	return ctl_store_open(ctl, machine, dir, sec, &so, !no_wait, st);
}

int
cmd_prune(struct ctl *ctl, int argc, char **argv)
{
	struct store_prune_opts po = {0, 0, NULL, NULL};
	struct store_prune_stats ps;
	struct prune_args a;
	struct ctl_opts o;
	struct ctl_progress prog;
	keymgr *km = NULL;
	keymgr_secret *sec = NULL;
	store *st = NULL;
	char dir[4096], who[80], f[32];
	const char *machine;
	int rc;

	if ((rc = own_options(ctl, &argc, argv, &a)) >= 0)
		return rc;
	if ((rc = ctl_parse(ctl, argc, argv, CTL_O_JSON | CTL_O_ADMIN |
	    CTL_O_POSTE_KEY | CTL_O_PASSWORD, 1, 1, prune_usage, &o)) >= 0)
		return rc;
	machine = o.args[0];
	memset(&prog, 0, sizeof(prog));
	if (ctl_machine_dir(ctl, machine, dir, sizeof(dir)) != 0 ||
	    ctl_keymgr(ctl, &km) != 0)
		return CTL_FAIL;
	if ((rc = unlock(ctl, km, machine, &o, &sec)) != 0)
		goto out;
	if ((rc = open_store(ctl, machine, dir, sec, a.no_wait, &st)) != 0)
		goto out;
	store_set_who(st, keymgr_secret_who(sec, who, sizeof(who)));
	po.repack_pct = a.pct;
	po.dry_run = a.dry_run;
	/* With --json the progress is JSON lines on stderr. */
	ctl_progress_init(&prog, ctl, "pruning");
	po.progress = ctl_progress_cb;
	po.progress_ctx = &prog;
	rc = store_prune(st, &po, &ps);
	ctl_progress_end(&prog);
	if (rc == 0 && !a.dry_run)
		ctl_mstatus_update(ctl, machine, st);
	if (rc == 0)
		rc = store_close(st);
	else
		store_close(st);
	st = NULL;
	if (rc != 0) {
		ctl_err(ctl, "%s: prune failed: %s", machine,
		    beemo_strerror(rc));
		if (!a.dry_run)
			ctl_report_error(ctl, machine, "prune", "What was "
			    "done before the failure stays done; the store "
			    "reads as before.  Run beemoctl prune again, and "
			    "beemoctl check if it fails again.\n", "%s: prune "
			    "failed: %s", machine, beemo_strerror(rc));
		rc = CTL_FAIL;
		goto out;
	}
	if (o.json)
		print_json(machine, a.dry_run, &ps);
	else if (!ctl->quiet)
		print_text(machine, a.dry_run, &ps);
	if (!a.dry_run) {
		bm_human(f, sizeof(f), ps.stored_before > ps.stored_after ?
		    ps.stored_before - ps.stored_after : 0);
		ctl_alog(ctl, km, "prune", who, "machine %s: pruned: %s freed; "
		    "%" PRIu64 " packs deleted, %" PRIu64 " repacked",
		    machine, f, ps.packs_deleted, ps.packs_repacked);
	}
	rc = CTL_OK;
out:
	keymgr_secret_free(sec);
	keymgr_free(km);
	return rc;
}
