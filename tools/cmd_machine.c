/*
 * cmd_machine.c -- `beemoctl machine add|list|remove`: client machines.
 *
 * Adding a machine creates its SECRET (generation 1), its POSTE key pair
 * and its first user (keymgr_machine_add); the POSTE key file is written
 * to the path given and goes to the client machine.  Removing a machine
 * erases its key file, so every wrapped SECRET of it is gone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bm_bytes.h"
#include "bm_err.h"
#include "bm_json.h"
#include "bm_pass.h"
#include "bm_time.h"
#include "ctl_store.h"

static const char add_usage[] =
    "NAME --user USER --poste-key PATH [--password-file FILE]\n"
    "       [--user-password-file FILE]\n"
    "\n"
    "Create machine NAME with its first user USER, and write its POSTE key\n"
    "file to PATH (never overwritten) for the client machine.\n"
    "\n"
    "  --user USER                the machine's first user\n"
    "  --poste-key PATH           where to write the POSTE key file\n"
    "  --password-file FILE       the administrator's password (default\n"
    "                             $BEEMO_PASSWORD_FILE, or the terminal)\n"
    "  --user-password-file FILE  the new user's password (default\n"
    "                             $BEEMO_USER_PASSWORD_FILE, or the "
    "terminal)\n"
    "  --help                     this help\n";

static const char list_usage[] =
    "[--json]\n"
    "\n"
    "List the machines: name, machine id, current key generation, users,\n"
    "creation time.\n"
    "\n"
    "  --json  print JSON\n"
    "  --help  this help\n";

static const char remove_usage[] =
    "NAME --yes [--password-file FILE]\n"
    "\n"
    "Remove machine NAME: its key file is erased, so all of its backups\n"
    "become unreadable for good.\n"
    "\n"
    "  --yes                 confirm\n"
    "  --password-file FILE  the administrator's password (default\n"
    "                        $BEEMO_PASSWORD_FILE, or the terminal)\n"
    "  --help                this help\n";

static int
machine_add(struct ctl *ctl, int argc, char **argv)
{
	struct ctl_opts o;
	char *apw = NULL, *upw = NULL, prompt[128];
	size_t apwlen = 0, upwlen = 0;
	keymgr *km = NULL;
	int rc;

	if ((rc = ctl_parse(ctl, argc, argv, CTL_O_USER | CTL_O_POSTE_KEY |
	    CTL_O_PASSWORD | CTL_O_USER_PASSWORD, 1, 1, add_usage, &o)) >= 0)
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
	if (!ctl->quiet)
		printf("machine %s added with user %s; POSTE key file: %s\n",
		    o.args[0], o.user, o.poste_key);
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
		bm_json_begin_obj(&j, NULL);
		bm_json_begin_arr(&j, "machines");
	} else {
		printf("%-20s %-32s %4s  %-20s  %s\n", "NAME", "MACHINE ID",
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
			printf("%-20s %-32s %4u  %-20s  ", names[i], hex,
			    info.current_gen,
			    bm_time_str(when, sizeof(when), info.created));
			print_users(stdout, users, nusers);
			putchar('\n');
		}
		keymgr_names_free(users, nusers);
	}
	if (o.json) {
		bm_json_end_arr(&j);
		bm_json_end_obj(&j);
	}
out:
	keymgr_names_free(names, n);
	keymgr_free(km);
	return rc;
}

static int
machine_remove(struct ctl *ctl, int argc, char **argv)
{
	struct keymgr_machine_info info;
	struct ctl_opts o;
	const char *name;
	struct control_client c;
	char *pw = NULL, dir[4096], *status = NULL;
	size_t pwlen = 0;
	keymgr *km = NULL;
	int rc, src;

	if ((rc = ctl_parse(ctl, argc, argv, CTL_O_YES | CTL_O_PASSWORD, 1, 1,
	    remove_usage, &o)) >= 0)
		return rc;
	name = o.args[0];
	if (ctl_daemon(ctl, name, &c) != 0)
		return CTL_FAIL;
	src = ctl_daemon_done(ctl, name, &c, control_status(&c, &status));
	free(status);
	if (src != 0) {
		if (src == 1)
			ctl_err(ctl, "machine %s is mounted: unmount it first",
			    name);
		return CTL_FAIL;
	}
	if (ctl_keymgr(ctl, &km) != 0)
		return CTL_FAIL;
	rc = CTL_FAIL;
	/* A corrupt key file may be removed too; only absence stops us. */
	if (keymgr_machine_info(km, name, &info, NULL, NULL) ==
	    BEEMO_ENOMACHINE) {
		rc = ctl_km_fail(ctl, km);
		goto out;
	}
	if (!o.yes) {
		ctl_err(ctl, "refusing to remove machine %s without --yes: "
			     "its SECRET is erased and all of its backups "
			     "become unreadable for good", name);
		goto out;
	}
	if (ctl_password(ctl, "Administrator password: ", o.password_file,
	    "BEEMO_PASSWORD_FILE", 0, &pw, &pwlen) != 0)
		goto out;
	if (keymgr_machine_remove(km, name, pw, pwlen) != 0) {
		rc = ctl_km_fail(ctl, km);
		goto out;
	}
	/* The keys are gone, so is every way to read the store: delete it
	 * too (its packs may still live off-site, equally unreadable). */
	if (ctl_machine_dir(ctl, name, dir, sizeof(dir)) == 0 &&
	    (src = store_destroy(dir)) != 0) {
		ctl_err(ctl, "%s: the keys are removed but the store could "
		    "not be deleted: %s", dir, beemo_strerror(src));
		ctl_alog(ctl, km, "machine", "admin", "machine %s removed; "
		    "deleting its store failed: %s", name,
		    beemo_strerror(src));
		ctl_report_error(ctl, name, "delete", "Its keys are erased, "
		    "so the data can no longer be read; remove the\ndirectory "
		    "by hand.\n", "%s: deletion of the store failed: %s",
		    name, beemo_strerror(src));
		goto out;
	}
	if (!ctl->quiet)
		printf("machine %s removed\n", name);
	ctl_alog(ctl, km, "machine", "admin", "machine %s removed: keys "
	    "erased, store deleted", name);
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
};

int
cmd_machine(struct ctl *ctl, int argc, char **argv)
{
	return ctl_subcommand(ctl, subs, sizeof(subs) / sizeof(subs[0]), argc,
	    argv);
}
