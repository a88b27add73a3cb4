/*
 * cmd_machine.c -- `beemoctl machine add|list|remove|restore`: client
 * machines.
 *
 * Adding a machine creates its SECRET (generation 1), its POSTE key pair
 * and its first user (keymgr_machine_add); the POSTE key file is written
 * to the path given and goes to the client machine.  Removing a machine
 * sets its key file and its store aside in the removed area
 * (bm_removed.h): unusable at once, restorable during the grace period,
 * freed by `beemo-sync maintenance` after it.  --now erases the key file
 * (every wrapped SECRET of the machine is gone) and the store at once.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bm_bytes.h"
#include "bm_err.h"
#include "bm_file.h"
#include "bm_json.h"
#include "bm_pass.h"
#include "bm_removed.h"
#include "bm_time.h"
#include "bm_units.h"
#include "ctl_access.h"
#include "ctl_store.h"

static const char add_usage[] =
    "NAME --user USER --poste-key PATH [--password-file FILE]\n"
    "       [--user-password-file FILE] [--json]\n"
    "\n"
    "Create machine NAME with its first user USER, and write its POSTE key\n"
    "file to PATH (never overwritten) for the client machine: it goes\n"
    "there and is erased here (the command prints the steps).\n"
    "\n"
    "  --user USER                the machine's first user\n"
    "  --poste-key PATH           where to write the POSTE key file\n"
    "  --password-file FILE       the administrator's password (default\n"
    "                             $BEEMO_PASSWORD_FILE, or the terminal)\n"
    "  --user-password-file FILE  the new user's password (default\n"
    "                             $BEEMO_USER_PASSWORD_FILE, or the "
    "terminal)\n"
    "  --json                     one JSON object \"beemo-machine-add\"\n"
    "                             (beemoctl(8))\n"
    "  --help                     this help\n";

static const char list_usage[] =
    "[--json]\n"
    "\n"
    "List the machines: name, machine id, current key generation, users,\n"
    "creation time.\n"
    "\n"
    "  --json  one JSON object \"beemo-machines\" (beemoctl(8))\n"
    "  --help  this help\n";

static const char remove_usage[] =
    "NAME [--yes] [--now] [--dry-run] [--json] [--password-file FILE]\n"
    "\n"
    "Remove machine NAME.  It stops being usable at once: its key file and\n"
    "its store are set aside, and its space is freed after the grace\n"
    "period ([store] remove_grace, 7 days by default) by beemo-sync\n"
    "maintenance; until then 'machine restore NAME' undoes the removal.\n"
    "The machine name is asked for as confirmation on a terminal.\n"
    "\n"
    "  --yes                 confirm without asking (needed without a\n"
    "                        terminal)\n"
    "  --now                 free the space at once: the keys and the\n"
    "                        store are erased and cannot be restored (also\n"
    "                        for a machine removed before)\n"
    "  --dry-run             say what would be done, do nothing\n"
    "  --json                one JSON object \"beemo-machine-remove\"\n"
    "                        (beemoctl(8))\n"
    "  --password-file FILE  the administrator's password (default\n"
    "                        $BEEMO_PASSWORD_FILE, or the terminal)\n"
    "  --help                this help\n";

static const char restore_usage[] =
    "NAME [--password-file FILE] [--json]\n"
    "\n"
    "Undo the removal of machine NAME within its grace period: its key\n"
    "file and its store come back as they were.\n"
    "\n"
    "  --password-file FILE  the administrator's password (default\n"
    "                        $BEEMO_PASSWORD_FILE, or the terminal)\n"
    "  --json                one JSON object \"beemo-machine-restore\"\n"
    "                        (beemoctl(8))\n"
    "  --help                this help\n";

/* The grace period of a removal, in seconds ([store] remove_grace). */
static uint64_t
remove_grace(const struct ctl *ctl)
{
	return bm_conf_get_u64(ctl->conf, "store", NULL, "remove_grace",
	    BM_REMOVED_GRACE);
}

static int
machine_add(struct ctl *ctl, int argc, char **argv)
{
	struct ctl_opts o;
	struct bm_removed gone;
	char *apw = NULL, *upw = NULL, prompt[128];
	size_t apwlen = 0, upwlen = 0;
	keymgr *km = NULL;
	int rc;

	if ((rc = ctl_parse(ctl, argc, argv, CTL_O_USER | CTL_O_POSTE_KEY |
	    CTL_O_PASSWORD | CTL_O_USER_PASSWORD | CTL_O_JSON, 1, 1,
	    add_usage, &o)) >= 0)
		return rc;
	if (o.user == NULL || o.poste_key == NULL) {
		ctl_err(ctl, "%s is required", o.user == NULL ? "--user USER" :
		    "--poste-key PATH");
		ctl_usage(ctl, add_usage, 1);
		return CTL_USAGE;
	}
	if (!bm_valid_name(o.args[0]) || !bm_valid_name(o.user)) {
		ctl_err(ctl, "'%s' is not a valid name (1 to 64 of A-Z a-z "
			     "0-9 . _ -, not starting with . or -)",
		    bm_valid_name(o.args[0]) ? o.user : o.args[0]);
		return CTL_USAGE;
	}
	if (bm_removed_find(ctl->store, o.args[0], &gone) == 0) {
		char when[32];

		ctl_err(ctl, "machine %s was removed and its space is freed on "
		    "%s: restore it with 'beemoctl machine restore %s', free "
		    "it now with 'beemoctl machine remove %s --now', or choose "
		    "another name", o.args[0], bm_time_show(when, sizeof(when),
		    bm_removed_frees_at(&gone, remove_grace(ctl))), o.args[0],
		    o.args[0]);
		return CTL_FAIL;
	}
	snprintf(prompt, sizeof(prompt), "New password for user %s: ",
	    o.user);
	rc = CTL_FAIL;
	if (ctl_keymgr(ctl, &km) != 0 ||
	    ctl_password(ctl, "Administrator password: ", o.password_file,
	    "BEEMO_PASSWORD_FILE", 0, &apw, &apwlen) != 0 ||
	    ctl_password(ctl, prompt, o.user_password_file,
	    "BEEMO_USER_PASSWORD_FILE", 1, &upw, &upwlen) != 0)
		goto out;
	if (keymgr_machine_add(km, o.args[0], o.user, upw, upwlen, apw,
	    apwlen, o.poste_key) != 0) {
		rc = ctl_km_fail(ctl, km);
		goto out;
	}
	if (o.json)
		ctl_json_done("beemo-machine-add", o.args[0], o.user);
	else if (!ctl->quiet) {
		printf("machine %s added with user %s; POSTE key file: %s\n",
		    o.args[0], o.user, o.poste_key);
		ctl_access_hint(o.args[0], o.poste_key);
	}
	ctl_alog(ctl, km, "machine", "admin", "machine %s added with user %s",
	    o.args[0], o.user);
	rc = CTL_OK;
out:
	bm_free_secret(upw, upwlen);
	bm_free_secret(apw, apwlen);
	keymgr_free(km);
	return rc;
}

static void
print_users(FILE *f, char **users, size_t n)
{
	size_t i;

	if (n == 0)
		fputs("-", f);
	for (i = 0; i < n; i++)
		fprintf(f, "%s%s", i ? "," : "", users[i]);
}

/* The machines in the removed area: "NAME  removed, freed on DATE",
 * or the JSON array "removed" when @j is not NULL. */
static void
list_removed(const struct ctl *ctl, bm_json *j)
{
	struct bm_removed *v = NULL;
	uint64_t grace = remove_grace(ctl);
	char when[32], at[32];
	size_t n = 0, i;
	int rc;

	if ((rc = bm_removed_list(ctl->store, &v, &n)) != 0)
		ctl_err(ctl, "%s/machines/%s: %s", ctl->store, BM_REMOVED_DIR,
		    beemo_strerror(rc));
	if (j != NULL)
		bm_json_begin_arr(j, "removed");
	for (i = 0; i < n; i++) {
		uint64_t frees = bm_removed_frees_at(&v[i], grace);

		if (j != NULL) {
			bm_json_begin_obj(j, NULL);
			bm_json_str(j, "name", v[i].name);
			bm_json_time(j, "removed", v[i].removed_ns);
			bm_json_time(j, "frees", frees);
			bm_json_end_obj(j);
		} else {
			printf("%-20s removed on %s, freed on %s\n",
			    v[i].name, bm_time_show(at, sizeof(at),
			    v[i].removed_ns), bm_time_show(when, sizeof(when),
			    frees));
		}
	}
	if (j != NULL)
		bm_json_end_arr(j);
	free(v);
}

static int
machine_list(struct ctl *ctl, int argc, char **argv)
{
	struct keymgr_machine_info info;
	struct ctl_opts o;
	char **names = NULL, **users, hex[2 * KEYMGR_ID_LEN + 1], when[32];
	size_t n = 0, nusers, i, u;
	keymgr *km = NULL;
	bm_json j;
	int rc;

	if ((rc = ctl_parse(ctl, argc, argv, CTL_O_JSON, 0, 0, list_usage,
	    &o)) >= 0)
		return rc;
	if (ctl_keymgr(ctl, &km) != 0)
		return CTL_FAIL;
	if (keymgr_machine_list(km, &names, &n) != 0) {
		rc = ctl_km_fail(ctl, km);
		goto out;
	}
	rc = CTL_OK;
	if (o.json) {
		bm_json_init(&j, stdout);
		bm_json_head(&j, "beemo-machines", 2);
		bm_json_begin_arr(&j, "machines");
	} else {
		printf("%-20s %-32s %4s  %-25s  %s\n", "NAME", "MACHINE ID",
		    "GEN", "CREATED", "USERS");
	}
	for (i = 0; i < n; i++) {
		if (keymgr_machine_info(km, names[i], &info, &users,
		    &nusers) != 0) {
			/* List the others; fail at the end. */
			ctl_err(ctl, "%s", keymgr_errmsg(km));
			rc = CTL_FAIL;
			continue;
		}
		bm_hex(hex, info.machine_id, KEYMGR_ID_LEN);
		if (o.json) {
			bm_json_begin_obj(&j, NULL);
			bm_json_str(&j, "name", names[i]);
			bm_json_str(&j, "machine_id", hex);
			bm_json_u64(&j, "current_generation",
			    info.current_gen);
			bm_json_u64(&j, "generations", info.ngens);
			bm_json_time(&j, "created", info.created);
			bm_json_begin_arr(&j, "users");
			for (u = 0; u < nusers; u++)
				bm_json_str(&j, NULL, users[u]);
			bm_json_end_arr(&j);
			bm_json_end_obj(&j);
		} else {
			printf("%-20s %-32s %4u  %-25s  ", names[i], hex,
			    info.current_gen,
			    bm_time_show(when, sizeof(when), info.created));
			print_users(stdout, users, nusers);
			putchar('\n');
		}
		keymgr_names_free(users, nusers);
	}
	if (o.json)
		bm_json_end_arr(&j);
	list_removed(ctl, o.json ? &j : NULL);
	if (o.json) {
		bm_json_end_obj(&j);
	}
out:
	keymgr_names_free(names, n);
	keymgr_free(km);
	return rc;
}

/*
 * The confirmation of a removal: --yes, or the machine's name typed on
 * the terminal.  0, or the exit status after a message.
 */
static int
confirm(const struct ctl *ctl, const char *name, int yes, int now)
{
	return ctl_confirm(ctl, yes, name, "Machine %s %s.", name, now ?
	    "and all of its backups will be erased for good" :
	    "stops being usable now; its backups are erased after the "
	    "grace period");
}

/* 0 when no backup session of @name is mounted, else CTL_FAIL after a
 * message. */
static int
not_mounted(struct ctl *ctl, const char *name)
{
	struct control_client c;
	char *status = NULL;
	int src;

	if (ctl_daemon(ctl, name, &c) != 0)
		return CTL_FAIL;
	src = ctl_daemon_done(ctl, name, &c, control_status(&c, &status));
	free(status);
	if (src == 0)
		return 0;
	if (src == 1)
		ctl_err(ctl, "machine %s is mounted: unmount it first", name);
	return CTL_FAIL;
}

/* What a freeing leaves to do. */
static const char offsite_note[] =
    "its copies at the storage centers stay until 'beemo-sync release' "
    "signs their\ndeletion request (the next push sends it)\n";

/* The result of machine remove with --json: one "beemo-machine-remove"
 * (beemoctl(8)): @freed bytes when @freed_known (else null), the time
 * the space is freed @frees_ns (null when 0: freed at once, or a dry
 * run). */
static void
remove_json(const char *name, int dry_run, int now, int freed_known,
    uint64_t freed, uint64_t frees_ns)
{
	bm_json j;

	bm_json_init(&j, stdout);
	bm_json_head(&j, "beemo-machine-remove", 1);
	bm_json_str(&j, "machine", name);
	bm_json_bool(&j, "dry_run", dry_run);
	bm_json_bool(&j, "now", now);
	if (freed_known)
		bm_json_u64(&j, "bytes_freed", freed);
	else
		bm_json_null(&j, "bytes_freed");
	bm_json_time(&j, "frees", frees_ns);
	bm_json_end_obj(&j);
}

/* Erase the removed machine @e now (--now on a machine set aside). */
static int
free_removed(struct ctl *ctl, keymgr *km, const struct bm_removed *e,
    int json)
{
	char h[32];
	uint64_t freed = 0;
	int rc;

	if ((rc = bm_removed_free(e, store_destroy, &freed)) != 0) {
		ctl_err(ctl, "%s: cannot free the removed machine %s: %s",
		    e->dir, e->name, beemo_strerror(rc));
		ctl_alog(ctl, km, "machine", "admin", "machine %s: freeing "
		    "its space failed: %s", e->name, beemo_strerror(rc));
		ctl_report_error(ctl, e->name, "delete", "The machine was "
		    "removed; its space could not be freed.\n", "%s: "
		    "deletion of the store failed: %s", e->name,
		    beemo_strerror(rc));
		return CTL_FAIL;
	}
	if (json)
		remove_json(e->name, 0, 1, 1, freed, 0);
	else if (!ctl->quiet)
		printf("machine %s freed: %s\n%s", e->name, bm_human(h,
		    sizeof(h), freed), offsite_note);
	ctl_alog(ctl, km, "machine", "admin", "machine %s freed at once "
	    "after its removal: keys and store erased, %llu bytes freed",
	    e->name, (unsigned long long)freed);
	return CTL_OK;
}

/* --now on a current machine: erase the keys, then the store. */
static int
remove_now(struct ctl *ctl, keymgr *km, const char *name, const char *pw,
    size_t pwlen, int json)
{
	char dir[4096], h[32];
	uint64_t freed;
	int src;

	if (ctl_machine_dir(ctl, name, dir, sizeof(dir)) != 0)
		return CTL_FAIL;
	freed = bm_removed_bytes(dir);
	if (keymgr_machine_remove(km, name, pw, pwlen) != 0)
		return ctl_km_fail(ctl, km);
	/* The keys are gone, so is every way to read the store: delete it
	 * too (its packs may still live off-site, equally unreadable). */
	if ((src = store_destroy(dir)) != 0) {
		ctl_err(ctl, "%s: the keys are removed but the store could "
		    "not be deleted: %s", dir, beemo_strerror(src));
		ctl_alog(ctl, km, "machine", "admin", "machine %s removed; "
		    "deleting its store failed: %s", name,
		    beemo_strerror(src));
		ctl_report_error(ctl, name, "delete", "Its keys are erased, "
		    "so the data can no longer be read; remove the\ndirectory "
		    "by hand.\n", "%s: deletion of the store failed: %s",
		    name, beemo_strerror(src));
		return CTL_FAIL;
	}
	if (json)
		remove_json(name, 0, 1, 1, freed, 0);
	else if (!ctl->quiet)
		printf("machine %s removed and freed: %s\n%s", name,
		    bm_human(h, sizeof(h), freed), offsite_note);
	ctl_alog(ctl, km, "machine", "admin", "machine %s removed at once: "
	    "keys erased, store deleted, %llu bytes freed", name,
	    (unsigned long long)freed);
	return CTL_OK;
}

/* Without --now: set the key file and the store aside. */
static int
remove_later(struct ctl *ctl, keymgr *km, const char *name, const char *pw,
    size_t pwlen, int json)
{
	struct bm_removed e;
	char dir[4096], when[32];
	uint64_t frees;
	int rc, lockfd = -1;

	if (ctl_machine_dir(ctl, name, dir, sizeof(dir)) != 0)
		return CTL_FAIL;
	if ((rc = ctl_machine_lock(ctl, name, &lockfd)) != 0)
		return rc;
	if ((rc = bm_removed_new(ctl->store, name, bm_now_ns(), &e)) != 0) {
		ctl_err(ctl, "cannot create the removed area of machine %s "
		    "in %s/machines: %s", name, ctl->store,
		    beemo_strerror(rc));
		rc = CTL_FAIL;
		goto out;
	}
	if (keymgr_machine_set_aside(km, name, pw, pwlen, e.key) != 0) {
		rc = ctl_km_fail(ctl, km);
		(void)rmdir(e.dir);
		goto out;
	}
	/* The machine cannot be unlocked any more; its store follows. */
	if (rename(dir, e.store) != 0 && errno != ENOENT) {
		rc = errno;
		ctl_err(ctl, "machine %s is removed (its key file is in %s) "
		    "but its store could not be moved there: %s", name, e.dir,
		    strerror(rc));
		rc = CTL_FAIL;
		goto out;
	}
	(void)bm_fsync_dir(dir);
	frees = bm_removed_frees_at(&e, remove_grace(ctl));
	bm_time_show(when, sizeof(when), frees);
	if (json)
		remove_json(name, 0, 0, 0, 0, frees);
	else if (!ctl->quiet)
		printf("machine %s removed; its space is freed on %s "
		    "('beemoctl machine restore %s' undoes the removal until "
		    "then)\n", name, when, name);
	ctl_alog(ctl, km, "machine", "admin", "machine %s removed: keys and "
	    "store set aside in %s, %llu bytes freed on %s", name, e.dir,
	    (unsigned long long)bm_removed_bytes(e.dir), when);
	rc = CTL_OK;
out:
	ctl_machine_unlock(lockfd);
	return rc;
}

static int
machine_remove(struct ctl *ctl, int argc, char **argv)
{
	struct keymgr_machine_info info;
	struct bm_removed gone;
	struct ctl_opts o;
	const char *name;
	char *pw = NULL;
	size_t pwlen = 0;
	keymgr *km = NULL;
	int rc, exists, removed;

	if ((rc = ctl_parse(ctl, argc, argv, CTL_O_YES | CTL_O_NOW |
	    CTL_O_PASSWORD | CTL_O_DRY_RUN | CTL_O_JSON, 1, 1, remove_usage,
	    &o)) >= 0)
		return rc;
	name = o.args[0];
	if (not_mounted(ctl, name) != 0 || ctl_keymgr(ctl, &km) != 0)
		return CTL_FAIL;
	rc = CTL_FAIL;
	/* A corrupt key file may be removed too; only absence stops us. */
	exists = keymgr_machine_info(km, name, &info, NULL, NULL) !=
	    BEEMO_ENOMACHINE;
	removed = bm_removed_find(ctl->store, name, &gone) == 0;
	if (!exists && !(removed && o.now)) {
		if (removed)
			ctl_err(ctl, "machine %s is removed already; "
			    "'--now' frees its space at once", name);
		else
			rc = ctl_km_fail(ctl, km);
		goto out;
	}
	if (o.dry_run && o.json) {
		remove_json(name, 1, o.now || !exists, 0, 0, 0);
		rc = CTL_OK;
		goto out;
	}
	if (o.dry_run) {
		printf("dry run: would %s machine %s%s\n", !exists ?
		    "free at once the space of the removed" : "remove",
		    name, !exists ? "" : o.now ? " and erase all of its "
		    "backups at once" : " (its backups erased after the "
		    "grace period)");
		rc = CTL_OK;
		goto out;
	}
	if ((rc = confirm(ctl, name, o.yes, o.now)) != 0)
		goto out;
	rc = CTL_FAIL;
	if (ctl_password(ctl, "Administrator password: ", o.password_file,
	    "BEEMO_PASSWORD_FILE", 0, &pw, &pwlen) != 0)
		goto out;
	if (!exists) {
		if (keymgr_admin_check(km, pw, pwlen) != 0)
			rc = ctl_km_fail(ctl, km);
		else
			rc = free_removed(ctl, km, &gone, o.json);
	} else if (o.now) {
		rc = remove_now(ctl, km, name, pw, pwlen, o.json);
	} else {
		rc = remove_later(ctl, km, name, pw, pwlen, o.json);
	}
	if (rc == CTL_OK && !o.json && !ctl->quiet)
		ctl_access_note_removed(name);
out:
	bm_free_secret(pw, pwlen);
	keymgr_free(km);
	return rc;
}

static int
machine_restore(struct ctl *ctl, int argc, char **argv)
{
	struct bm_removed e;
	struct ctl_opts o;
	const char *name;
	char *pw = NULL, dir[4096];
	size_t pwlen = 0;
	keymgr *km = NULL;
	int rc;

	if ((rc = ctl_parse(ctl, argc, argv, CTL_O_PASSWORD | CTL_O_JSON, 1,
	    1, restore_usage, &o)) >= 0)
		return rc;
	name = o.args[0];
	if (ctl_machine_dir(ctl, name, dir, sizeof(dir)) != 0)
		return CTL_FAIL;
	if ((rc = bm_removed_find(ctl->store, name, &e)) != 0) {
		ctl_err(ctl, "machine %s is not in the removed area%s", name,
		    rc == -ENOENT ? " (never removed, or freed already)" :
		    "");
		return CTL_FAIL;
	}
	if (access(dir, F_OK) == 0) {
		ctl_err(ctl, "%s exists: a machine %s is in place, cannot "
		    "restore", dir, name);
		return CTL_FAIL;
	}
	if (ctl_keymgr(ctl, &km) != 0)
		return CTL_FAIL;
	rc = CTL_FAIL;
	if (ctl_password(ctl, "Administrator password: ", o.password_file,
	    "BEEMO_PASSWORD_FILE", 0, &pw, &pwlen) != 0)
		goto out;
	if (keymgr_machine_put_back(km, name, pw, pwlen, e.key) != 0) {
		rc = ctl_km_fail(ctl, km);
		goto out;
	}
	if (rename(e.store, dir) != 0 && errno != ENOENT) {
		ctl_err(ctl, "the key file of machine %s is back but its store "
		    "could not be moved from %s to %s: %s", name, e.store,
		    dir, strerror(errno));
		goto out;
	}
	(void)bm_fsync_dir(dir);
	if (rmdir(e.dir) != 0)
		ctl_err(ctl, "warning: cannot remove %s: %s", e.dir,
		    strerror(errno));
	if (o.json)
		ctl_json_done("beemo-machine-restore", name, NULL);
	else if (!ctl->quiet)
		printf("machine %s restored\n", name);
	ctl_alog(ctl, km, "machine", "admin", "machine %s restored from "
	    "the removed area", name);
	rc = CTL_OK;
out:
	bm_free_secret(pw, pwlen);
	keymgr_free(km);
	return rc;
}

static const struct ctl_sub subs[] = {
	{"add", machine_add, add_usage},
	{"list", machine_list, list_usage},
	{"remove", machine_remove, remove_usage},
	{"restore", machine_restore, restore_usage},
	{"access", ctl_machine_access, ctl_access_usage},
};

int
cmd_machine(struct ctl *ctl, int argc, char **argv)
{
	return ctl_subcommand(ctl, subs, sizeof(subs) / sizeof(subs[0]), argc,
	    argv);
}
