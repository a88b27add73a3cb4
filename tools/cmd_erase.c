/*
 * cmd_erase.c -- `beemoctl erase MACHINE PATH [--dry-run] [--yes]
 * [--json]`: remove a path from a machine's live tree and from every
 * snapshot (store_erase(), store.h), for a request to erase someone's
 * files.
 *
 * Only the administrator may erase history: a user's password or the
 * POSTE key file is refused before anything is read.  The paths are
 * listed first from a read-only open (the dry run stops there); the
 * erasure itself asks for the machine's name on the terminal (--yes for
 * scripts; without a terminal --yes is required), then takes the
 * store's lock, waiting for a running backup session to end.  The bytes
 * stay sealed in the packs until the next prune, which the output says.
 * The appliance journal records who erased which path of which machine
 * (the request is the customer's, so the path is kept there); the
 * machine's journal records the erasure without the names.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bm_err.h"
#include "bm_esc.h"
#include "bm_json.h"
#include "bm_pass.h"
#include "ctl_store.h"

static const char erase_usage[] =
    "MACHINE PATH [--dry-run] [--yes] [--json]\n"
    "       [--password-file FILE]\n"
    "\n"
    "Erase PATH (a file or a directory, from the root of the machine's\n"
    "tree) from the live tree and from every snapshot of MACHINE: every\n"
    "version of it, the whole subtree of a directory, and every other\n"
    "name of a hard-linked file.  Journal lines naming it become\n"
    "\"[erased]\".  Needs the administrator's password.  The sealed bytes\n"
    "stay in the packs until the next beemoctl prune MACHINE.  Waits for\n"
    "a running backup session of MACHINE to end.\n"
    "\n"
    "  --dry-run             list the snapshots and paths it would\n"
    "                        remove, change nothing\n"
    "  --yes                 do not ask for the machine's name (needed\n"
    "                        when stdin is not a terminal)\n"
    "  --json                one JSON object \"beemo-erase\"\n"
    "                        (beemoctl(8))\n"
    "  --password-file FILE  the administrator's password (default\n"
    "                        $BEEMO_PASSWORD_FILE, or the terminal)\n"
    "  --help                this help\n";

/* The paths store_erase() reports, per view (0: the live tree). */
struct found {
	uint32_t snap;
	char *path;
};

struct found_list {
	struct found *v;
	size_t n, cap;
	int err;
};

static int
found_add(void *ctx, uint32_t snap, const char *path)
{
	struct found_list *l = ctx;
	struct found *v;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;

		if ((v = realloc(l->v, cap * sizeof(*v))) == NULL) {
			l->err = -ENOMEM;
			return 1;
		}
		l->v = v;
		l->cap = cap;
	}
	if ((l->v[l->n].path = strdup(path)) == NULL) {
		l->err = -ENOMEM;
		return 1;
	}
	l->v[l->n++].snap = snap;
	return 0;
}

static void
found_free(struct found_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i].path);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* How many views (live tree, snapshots) the list touches; *@live says
 * whether the live tree is one. */
static size_t
views(const struct found_list *l, int *live)
{
	size_t i, n = 0;

	*live = 0;
	for (i = 0; i < l->n; i++) {
		if (i > 0 && l->v[i].snap == l->v[i - 1].snap)
			continue;
		n++;
		if (l->v[i].snap == 0)
			*live = 1;
	}
	return n;
}

static void
print_json(const char *machine, const char *path, int dry_run,
    const struct found_list *l)
{
	bm_json j;
	size_t i;

	bm_json_init(&j, stdout);
	bm_json_head(&j, "beemo-erase", 1);
	bm_json_str(&j, "machine", machine);
	bm_json_str(&j, "path", path);
	bm_json_bool(&j, "dry_run", dry_run);
	bm_json_u64(&j, "names", l->n);
	bm_json_begin_arr(&j, "views");
	for (i = 0; i < l->n; i++) {
		if (i == 0 || l->v[i].snap != l->v[i - 1].snap) {
			if (i > 0) {
				bm_json_end_arr(&j);
				bm_json_end_obj(&j);
			}
			bm_json_begin_obj(&j, NULL);
			bm_json_bool(&j, "live", l->v[i].snap == 0);
			if (l->v[i].snap == 0)
				bm_json_null(&j, "snapshot");
			else
				bm_json_u64(&j, "snapshot", l->v[i].snap);
			bm_json_begin_arr(&j, "paths");
		}
		bm_json_str(&j, NULL, l->v[i].path);
	}
	if (l->n > 0) {
		bm_json_end_arr(&j);
		bm_json_end_obj(&j);
	}
	bm_json_end_arr(&j);
	if (!dry_run)
		bm_json_str(&j, "next", "beemoctl prune");
	bm_json_end_obj(&j);
}

static void
print_text(FILE *f, const struct found_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		if (i == 0 || l->v[i].snap != l->v[i - 1].snap) {
			if (l->v[i].snap == 0)
				fprintf(f, "live tree:\n");
			else
				fprintf(f, "snapshot %u:\n", l->v[i].snap);
		}
		fputs("  ", f);
		bm_esc_put(f, l->v[i].path);
		fputc('\n', f);
	}
}

/* Open the store of @dir, read-write waiting for a backup session to
 * end, or read-only.  0, or CTL_FAIL after a message. */
static int
open_store(const struct ctl *ctl, const char *machine, const char *dir,
    const keymgr_secret *sec, int rw, store **st)
{
	struct store_opts so;

	memset(&so, 0, sizeof(so));
	so.rdonly = !rw;
	return ctl_store_open(ctl, machine, dir, sec, &so, 1, st) ? CTL_FAIL :
	    0;
}

/* store_erase() on a store opened here; 0 or CTL_FAIL after a message
 * (and, for a failed erasure, a report and an appliance journal entry:
 * @km's). */
static int
run(const struct ctl *ctl, keymgr *km, const char *machine,
    const char *dir, const keymgr_secret *sec, const char *path,
    int dry_run, struct found_list *l)
{
	store *st;
	int rc, crc;

	if (open_store(ctl, machine, dir, sec, !dry_run, &st) != 0)
		return CTL_FAIL;
	store_set_who(st, "admin");
	rc = store_erase(st, path, dry_run, found_add, l);
	if (rc == 0 && l->err != 0)
		rc = l->err;
	crc = store_close(st);
	if (rc == 0)
		rc = crc;
	if (rc == 0)
		return 0;
	if (rc == -ENOENT)
		ctl_err(ctl, "%s is in neither the live tree nor any snapshot "
		    "of %s", path, machine);
	else if (rc == -EINVAL)
		ctl_err(ctl, "%s: not a path that can be erased (the root, "
		    "or with an empty, \".\" or \"..\" name)", path);
	else
		ctl_err(ctl, "%s: erasing %s: %s", machine, path,
		    beemo_strerror(rc));
	if (!dry_run && rc != -ENOENT && rc != -EINVAL) {
		ctl_report_error(ctl, machine, "erase", "The erasure may be "
		    "partly done: run it again.\n", "%s: erasure of %s "
		    "failed: %s", machine, path, beemo_strerror(rc));
		ctl_alog(ctl, km, "erase", "admin", "machine %s: the erasure "
		    "of %s failed: %s", machine, path, beemo_strerror(rc));
	}
	return CTL_FAIL;
}

/* Ask for the machine's name on the terminal; 0 when it was typed. */
static int
confirm(const struct ctl *ctl, const char *machine)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc;

	fprintf(stderr, "This cannot be undone.  Type the machine's name "
	    "(%s) to erase: ", machine);
	fflush(stderr);
	n = getline(&line, &cap, stdin);
	if (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	rc = n > 0 && strcmp(line, machine) == 0 ? 0 : CTL_FAIL;
	free(line);
	if (rc != 0)
		ctl_err(ctl, "not confirmed: nothing erased");
	return rc;
}

int
cmd_erase(struct ctl *ctl, int argc, char **argv)
{
	struct ctl_opts o;
	struct found_list l = {NULL, 0, 0, 0};
	const char *machine, *path;
	keymgr *km = NULL;
	keymgr_secret *sec = NULL;
	char dir[4096], *pw = NULL;
	size_t pwlen = 0, nviews;
	int rc, live;

	if ((rc = ctl_parse(ctl, argc, argv, CTL_O_DRY_RUN | CTL_O_YES |
	    CTL_O_JSON | CTL_O_PASSWORD | CTL_O_ADMIN | CTL_O_USER |
	    CTL_O_POSTE_KEY, 2, 2, erase_usage, &o)) >= 0)
		return rc;
	machine = o.args[0];
	path = o.args[1];
	if (o.user != NULL || o.poste_key != NULL) {
		ctl_err(ctl, "only the administrator may erase: %s cannot "
		    "change a machine's history", o.user ? "a user's "
		    "password" : "the POSTE key file");
		return CTL_FAIL;
	}
	if (!o.dry_run && !o.yes && !isatty(STDIN_FILENO)) {
		ctl_err(ctl, "refusing to erase without --yes: stdin is not "
		    "a terminal to confirm on");
		return CTL_FAIL;
	}
	if (ctl_machine_dir(ctl, machine, dir, sizeof(dir)) != 0 ||
	    ctl_keymgr(ctl, &km) != 0)
		return CTL_FAIL;
	rc = CTL_FAIL;
	if (ctl_password(ctl, "Administrator password: ", o.password_file,
	    "BEEMO_PASSWORD_FILE", 0, &pw, &pwlen) != 0)
		goto out;
	if (keymgr_unlock_admin(km, machine, pw, pwlen, &sec) != 0) {
		ctl_km_fail(ctl, km);
		goto out;
	}
	/* What it would remove, from a read-only open: a backup session
	 * is not kept waiting while a person reads and confirms. */
	if (!o.yes || o.dry_run) {
		if (run(ctl, km, machine, dir, sec, path, 1, &l) != 0)
			goto out;
		if (o.dry_run) {
			if (o.json)
				print_json(machine, path, 1, &l);
			else
				print_text(stdout, &l);
			rc = CTL_OK;
			goto out;
		}
		print_text(stderr, &l);
		if (confirm(ctl, machine) != 0)
			goto out;
		found_free(&l);
	}
	if (run(ctl, km, machine, dir, sec, path, 0, &l) != 0)
		goto out;
	nviews = views(&l, &live);
	if (o.json) {
		print_json(machine, path, 0, &l);
	} else {
		if (!ctl->quiet)
			print_text(stdout, &l);
		printf("erased %zu names from %s%zu snapshots of %s\n", l.n,
		    live ? "the live tree and " : "", nviews - (size_t)live,
		    machine);
		printf("run beemoctl prune %s to reclaim the space; until then "
		    "the sealed bytes remain\n", machine);
	}
	ctl_alog(ctl, km, "erase", "admin", "machine %s: %s erased from %s%zu "
	    "snapshots (%zu names)", machine, path, live ? "the live tree "
	    "and " : "", nviews - (size_t)live, l.n);
	rc = CTL_OK;
out:
	found_free(&l);
	bm_free_secret(pw, pwlen);
	keymgr_secret_free(sec);
	keymgr_free(km);
	return rc;
}
