/*
 * cmd_key.c -- `beemoctl key show|rotate|issue|unlock`: a machine's keys.
 *
 * `key unlock` proves that a principal can open a machine's SECRET: it
 * unlocks every generation as that principal and prints key check values
 * (KEYMGR_KCV_LEN bytes of HMAC-SHA256(SECRET, "beemo key check")), never
 * SECRET itself, so a person can compare them across principals.
 */
#include <stdio.h>

#include "beemoctl.h"
#include "bm_bytes.h"
#include "bm_json.h"
#include "bm_pass.h"
#include "bm_time.h"
#include "ctl_access.h"
#include "ctl_store.h"

static const char show_usage[] =
    "MACHINE [--json]\n"
    "\n"
    "Show MACHINE's key generations, the current one, the fingerprint of\n"
    "its POSTE key and its users.\n"
    "\n"
    "  --json  one JSON object \"beemo-key\" (beemoctl(8))\n"
    "  --help  this help\n";

static const char rotate_usage[] =
    "MACHINE [--password-file FILE] [--json]\n"
    "\n"
    "Add a new generation of MACHINE's SECRET, wrapped for every principal,\n"
    "and make it current (new data uses it; old generations stay).\n"
    "Prints the new generation.\n"
    "\n"
    "  --password-file FILE  the administrator's password (default\n"
    "                        $BEEMO_PASSWORD_FILE, or the terminal)\n"
    "  --json                one JSON object \"beemo-key-rotate\"\n"
    "                        (beemoctl(8))\n"
    "  --help                this help\n";

static const char issue_usage[] =
    "MACHINE --poste-key PATH [--password-file FILE] [--yes]\n"
    "       [--dry-run] [--json]\n"
    "\n"
    "Issue a new POSTE key file for MACHINE at PATH (never overwritten);\n"
    "POSTE key files issued before stop working, and a new key generation\n"
    "that they never had becomes current.  Asks first on a terminal;\n"
    "without one, refuses unless --yes.\n"
    "\n"
    "  --poste-key PATH      where to write the new POSTE key file\n"
    "  --password-file FILE  the administrator's password (default\n"
    "                        $BEEMO_PASSWORD_FILE, or the terminal)\n"
    "  --yes                 do not ask (needed without a terminal)\n"
    "  --dry-run             say what would be done, do nothing\n"
    "  --json                one JSON object \"beemo-key-issue\"\n"
    "                        (beemoctl(8))\n"
    "  --help                this help\n";

static const char unlock_usage[] =
    "MACHINE (--admin | --user USER | --poste-key PATH)\n"
    "       [--password-file FILE] [--json]\n"
    "\n"
    "Unlock MACHINE's SECRET as the administrator, as a user or with a\n"
    "POSTE key file, and print a key check value per generation (never\n"
    "the key): every principal must print the same values.\n"
    "\n"
    "  --admin               unlock as the administrator\n"
    "  --user USER           unlock as user USER\n"
    "  --poste-key PATH      unlock with the POSTE key file PATH\n"
    "  --password-file FILE  the administrator's or the user's password\n"
    "                        (default $BEEMO_PASSWORD_FILE, or the "
    "terminal)\n"
    "  --json                one JSON object \"beemo-key-unlock\"\n"
    "                        (beemoctl(8))\n"
    "  --help                this help\n";

static int
key_show(struct ctl *ctl, int argc, char **argv)
{
	struct keymgr_machine_info info;
	struct ctl_opts o;
	char **users = NULL, hex[2 * KEYMGR_ID_LEN + 1], when[32];
	size_t n = 0, i;
	uint32_t g, shown;
	keymgr *km = NULL;
	bm_json j;
	int rc;

	if ((rc = ctl_parse(ctl, argc, argv, CTL_O_JSON, 1, 1, show_usage,
	    &o)) >= 0)
		return rc;
	if (ctl_keymgr(ctl, &km) != 0)
		return CTL_FAIL;
	if (keymgr_machine_info(km, o.args[0], &info, &users, &n) != 0) {
		rc = ctl_km_fail(ctl, km);
		goto out;
	}
	bm_hex(hex, info.machine_id, KEYMGR_ID_LEN);
	/* gen_created[i] is generation current_gen - i. */
	shown = info.current_gen < 64 ? info.current_gen : 64;
	if (o.json) {
		bm_json_init(&j, stdout);
		bm_json_head(&j, "beemo-key", 1);
		bm_json_str(&j, "machine", o.args[0]);
		bm_json_str(&j, "machine_id", hex);
		bm_json_time(&j, "created", info.created);
		bm_json_str(&j, "poste_fingerprint", info.poste_fpr);
		bm_json_u64(&j, "current_generation", info.current_gen);
		bm_json_begin_arr(&j, "generations");
		for (g = shown; g-- > 0;) {
			bm_json_begin_obj(&j, NULL);
			bm_json_u64(&j, "generation", info.current_gen - g);
			bm_json_time(&j, "created", info.gen_created[g]);
			bm_json_bool(&j, "current", g == 0);
			bm_json_end_obj(&j);
		}
		bm_json_end_arr(&j);
		bm_json_begin_arr(&j, "users");
		for (i = 0; i < n; i++)
			bm_json_str(&j, NULL, users[i]);
		bm_json_end_arr(&j);
		bm_json_end_obj(&j);
	} else {
		printf("machine            %s\n", o.args[0]);
		printf("machine id         %s\n", hex);
		printf("created            %s\n",
		    bm_time_show(when, sizeof(when), info.created));
		printf("POSTE key SHA-256  %s\n", info.poste_fpr);
		printf("users             ");
		for (i = 0; i < n; i++)
			printf(" %s", users[i]);
		printf("%s\n", n ? "" : " (none)");
		printf("generations        %u (current %u)\n", info.ngens,
		    info.current_gen);
		for (g = shown; g-- > 0;)
			printf("  %5u  %s%s\n", info.current_gen - g,
			    bm_time_show(when, sizeof(when),
			    info.gen_created[g]), g == 0 ? "  current" : "");
	}
	rc = CTL_OK;
out:
	keymgr_names_free(users, n);
	keymgr_free(km);
	return rc;
}

static int
key_rotate(struct ctl *ctl, int argc, char **argv)
{
	struct ctl_opts o;
	char *pw = NULL;
	size_t pwlen = 0;
	uint32_t gen;
	keymgr *km = NULL;
	int rc, lock = -1;

	if ((rc = ctl_parse(ctl, argc, argv, CTL_O_PASSWORD | CTL_O_JSON, 1,
	    1, rotate_usage, &o)) >= 0)
		return rc;
	if ((rc = ctl_machine_lock(ctl, o.args[0], &lock)) != 0)
		goto out;
	rc = CTL_FAIL;
	if (ctl_keymgr(ctl, &km) != 0 ||
	    ctl_password(ctl, "Administrator password: ", o.password_file,
	    "BEEMO_PASSWORD_FILE", 0, &pw, &pwlen) != 0)
		goto out;
	if (keymgr_rotate(km, o.args[0], pw, pwlen, &gen) != 0) {
		rc = ctl_km_fail(ctl, km);
		goto out;
	}
	if (o.json) {
		bm_json j;

		bm_json_init(&j, stdout);
		bm_json_head(&j, "beemo-key-rotate", 1);
		bm_json_str(&j, "machine", o.args[0]);
		bm_json_u64(&j, "generation", gen);
		bm_json_end_obj(&j);
	} else {
		printf("%u\n", gen);
	}
	ctl_alog(ctl, km, "key", "admin", "machine %s: SECRET rotated to "
	    "generation %u", o.args[0], gen);
	rc = CTL_OK;
out:
	bm_free_secret(pw, pwlen);
	keymgr_free(km);
	ctl_machine_unlock(lock);
	return rc;
}

static int
key_issue(struct ctl *ctl, int argc, char **argv)
{
	struct keymgr_machine_info info;
	struct ctl_opts o;
	char *pw = NULL;
	size_t pwlen = 0;
	keymgr *km = NULL;
	int rc, lock = -1;

	if ((rc = ctl_parse(ctl, argc, argv, CTL_O_POSTE_KEY | CTL_O_PASSWORD |
	    CTL_O_YES | CTL_O_DRY_RUN | CTL_O_JSON, 1, 1, issue_usage,
	    &o)) >= 0)
		return rc;
	if (o.poste_key == NULL) {
		ctl_err(ctl, "--poste-key PATH is required");
		ctl_usage(ctl, issue_usage, 1);
		return CTL_USAGE;
	}
	/* Revoking the POSTE key file in use stops the machine's backups
	 * until the new one is installed: said before anything is asked. */
	if (ctl_keymgr(ctl, &km) != 0)
		return CTL_FAIL;
	if (keymgr_machine_info(km, o.args[0], &info, NULL, NULL) != 0) {
		rc = ctl_km_fail(ctl, km);
		goto out;
	}
	if (o.dry_run && o.json) {
		bm_json j;

		bm_json_init(&j, stdout);
		bm_json_head(&j, "beemo-key-issue", 1);
		bm_json_str(&j, "machine", o.args[0]);
		bm_json_str(&j, "poste_key", o.poste_key);
		bm_json_bool(&j, "dry_run", 1);
		bm_json_str(&j, "revokes_fingerprint", info.poste_fpr);
		bm_json_u64(&j, "generation", info.ngens + 1);
		bm_json_end_obj(&j);
		rc = CTL_OK;
		goto out;
	}
	if (o.dry_run) {
		printf("dry run: would write a new POSTE key file for machine "
		    "%s at %s and revoke the one in use (key SHA-256 %s); "
		    "generation %u would become current\n", o.args[0],
		    o.poste_key, info.poste_fpr, info.ngens + 1);
		rc = CTL_OK;
		goto out;
	}
	if ((rc = ctl_confirm(ctl, o.yes, NULL, "Issue a new POSTE key file "
	    "for machine %s? The one in use (key SHA-256 %.16s...) will no "
	    "longer work: the machine backs up again only once it has the "
	    "new file.", o.args[0], info.poste_fpr)) != 0)
		goto out;
	keymgr_free(km);
	km = NULL;
	if ((rc = ctl_machine_lock(ctl, o.args[0], &lock)) != 0)
		goto out;
	rc = CTL_FAIL;
	if (ctl_keymgr(ctl, &km) != 0 ||
	    ctl_password(ctl, "Administrator password: ", o.password_file,
	    "BEEMO_PASSWORD_FILE", 0, &pw, &pwlen) != 0)
		goto out;
	if (keymgr_poste_issue(km, o.args[0], pw, pwlen, o.poste_key) != 0 ||
	    keymgr_machine_info(km, o.args[0], &info, NULL, NULL) != 0) {
		rc = ctl_km_fail(ctl, km);
		goto out;
	}
	if (o.json) {
		bm_json j;

		bm_json_init(&j, stdout);
		bm_json_head(&j, "beemo-key-issue", 1);
		bm_json_str(&j, "machine", o.args[0]);
		bm_json_str(&j, "poste_key", o.poste_key);
		bm_json_str(&j, "poste_fingerprint", info.poste_fpr);
		bm_json_end_obj(&j);
	} else if (!ctl->quiet) {
		printf("new POSTE key file for machine %s: %s (key SHA-256 "
		       "%s); earlier POSTE key files no longer work\n",
		    o.args[0], o.poste_key, info.poste_fpr);
		ctl_access_hint(o.args[0], o.poste_key);
	}
	ctl_alog(ctl, km, "key", "admin", "machine %s: new POSTE key file "
	    "issued (key SHA-256 %s); earlier ones revoked", o.args[0],
	    info.poste_fpr);
	rc = CTL_OK;
out:
	bm_free_secret(pw, pwlen);
	keymgr_free(km);
	ctl_machine_unlock(lock);
	return rc;
}

static void
print_kcvs(const struct ctl_opts *o, const char *machine,
    const keymgr_secret *s)
{
	const char *who[] = {"", "admin", "user", "poste"};
	uint8_t kcv[KEYMGR_KCV_LEN];
	char hex[2 * KEYMGR_KCV_LEN + 1];
	uint32_t g, n = keymgr_secret_ngens(s);
	uint32_t cur = keymgr_secret_current_gen(s);
	enum keymgr_principal p = keymgr_secret_principal(s);
	bm_json j;

	if (o->json) {
		bm_json_init(&j, stdout);
		bm_json_head(&j, "beemo-key-unlock", 1);
		bm_json_str(&j, "machine", machine);
		bm_json_str(&j, "principal", who[p]);
		bm_json_str(&j, "user", keymgr_secret_user(s));
		bm_json_u64(&j, "current_generation", cur);
		bm_json_begin_arr(&j, "generations");
	} else {
		printf("machine %s unlocked as %s%s\n", machine,
		    p == KEYMGR_ADMIN ? "the administrator" :
		    p == KEYMGR_USER ? "user " : "its POSTE key",
		    p == KEYMGR_USER ? keymgr_secret_user(s) : "");
		printf("generation  check value\n");
	}
	for (g = 1; g <= n; g++) {
		if (keymgr_secret_kcv(s, g, kcv) != 0)
			continue;
		bm_hex(hex, kcv, sizeof(kcv));
		if (o->json) {
			bm_json_begin_obj(&j, NULL);
			bm_json_u64(&j, "generation", g);
			bm_json_str(&j, "check", hex);
			bm_json_end_obj(&j);
		} else {
			printf("%10u  %s%s\n", g, hex,
			    g == cur ? "  current" : "");
		}
	}
	if (o->json) {
		bm_json_end_arr(&j);
		bm_json_end_obj(&j);
	}
}

static int
key_unlock(struct ctl *ctl, int argc, char **argv)
{
	struct ctl_opts o;
	keymgr_secret *s = NULL;
	char *pw = NULL, prompt[128];
	size_t pwlen = 0;
	keymgr *km = NULL;
	int rc;

	if ((rc = ctl_parse(ctl, argc, argv, CTL_O_ADMIN | CTL_O_USER |
	    CTL_O_POSTE_KEY | CTL_O_PASSWORD | CTL_O_JSON, 1, 1, unlock_usage,
	    &o)) >= 0)
		return rc;
	if (o.admin + (o.user != NULL) + (o.poste_key != NULL) != 1) {
		ctl_err(ctl, "give exactly one of --admin, --user USER and "
			     "--poste-key PATH");
		ctl_usage(ctl, unlock_usage, 1);
		return CTL_USAGE;
	}
	if (o.admin)
		snprintf(prompt, sizeof(prompt), "Administrator password: ");
	else if (o.user != NULL)
		snprintf(prompt, sizeof(prompt), "Password of user %.64s: ",
		    o.user);
	rc = CTL_FAIL;
	if (ctl_keymgr(ctl, &km) != 0)
		goto out;
	if (o.poste_key == NULL && ctl_password(ctl, prompt, o.password_file,
	    "BEEMO_PASSWORD_FILE", 0, &pw, &pwlen) != 0)
		goto out;
	if (o.admin)
		rc = keymgr_unlock_admin(km, o.args[0], pw, pwlen, &s);
	else if (o.user != NULL)
		rc = keymgr_unlock_user(km, o.args[0], o.user, pw, pwlen, &s);
	else
		rc = keymgr_unlock_poste(km, o.args[0], o.poste_key, &s);
	if (rc != 0) {
		rc = ctl_km_fail(ctl, km);
		goto out;
	}
	print_kcvs(&o, o.args[0], s);
	rc = CTL_OK;
out:
	keymgr_secret_free(s);
	bm_free_secret(pw, pwlen);
	keymgr_free(km);
	return rc;
}

static const struct ctl_sub subs[] = {
	{"show", key_show, show_usage},
	{"rotate", key_rotate, rotate_usage},
	{"issue", key_issue, issue_usage},
	{"unlock", key_unlock, unlock_usage},
};

int
cmd_key(struct ctl *ctl, int argc, char **argv)
{
	return ctl_subcommand(ctl, subs, sizeof(subs) / sizeof(subs[0]), argc,
	    argv);
}
