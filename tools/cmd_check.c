/*
 * cmd_check.c -- `beemoctl check` and `beemoctl rebuild-index`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bm_err.h"
#include "bm_esc.h"
#include "bm_json.h"
#include "bm_pass.h"
#include "ctl_store.h"

static const char check_usage[] =
    "MACHINE [--read-data | --read-data-subset N/M|P%] [--json]\n"
    "       [--admin | --user USER | --poste-key FILE]\n"
    "       [--password-file FILE]\n"
    "\n"
    "Verify the index of MACHINE against its packs: every index record is\n"
    "authenticated, every chunk a file refers to must exist where the\n"
    "index says.  With --read-data every byte of every pack is read and\n"
    "authenticated too.  Each damaged object is named with the files it\n"
    "affects.  Exit status 1 when anything is wrong.\n"
    "\n"
    "  --read-data           read and authenticate all data\n"
    "  --read-data-subset N/M|P%\n"
    "                        read and authenticate the data of a share of\n"
    "                        the packs only: N/M the packs whose id modulo\n"
    "                        M is N-1 (M runs with N = 1..M read every\n"
    "                        pack once), P% that percentage of them chosen\n"
    "                        at random; the index is checked whole\n"
    "  --json                one JSON object \"beemo-check\", progress as\n"
    "                        JSON lines on stderr (beemoctl(8))\n"
    "  --admin               open with the administrator's password\n"
    "                        (default)\n"
    "  --user USER           open with USER's password\n"
    "  --poste-key FILE      open with the machine's POSTE key file\n"
    "  --password-file FILE  read the password from FILE (default\n"
    "                        $BEEMO_PASSWORD_FILE, or the terminal)\n"
    "  --help                this help\n";

static const char rebuild_usage[] =
    "MACHINE [--json] [--admin | --poste-key FILE]\n"
    "       [--password-file FILE]\n"
    "\n"
    "Rebuild the index of MACHINE from its packs alone (after a recovery\n"
    "from an off-site copy, or when the index is damaged).  The machine\n"
    "must not be mounted.  The old index is kept as index.old.\n"
    "\n"
    "  --json                one JSON object \"beemo-rebuild-index\",\n"
    "                        progress as JSON lines on stderr\n"
    "  --admin               open with the administrator's password\n"
    "                        (default)\n"
    "  --poste-key FILE      open with the machine's POSTE key file\n"
    "  --password-file FILE  read the password from FILE (default\n"
    "                        $BEEMO_PASSWORD_FILE, or the terminal)\n"
    "  --help                this help\n";

struct report {
	struct ctl_progress *prog;
	const char *machine;
	uint64_t n;
	bm_json *j; /* --json: the "problems" array is open */
};

static void
on_problem(void *ctx, const char *object, const char *problem,
    const char *file)
{
	struct report *r = ctx;

	r->n++;
	if (r->j != NULL) {
		bm_json_begin_obj(r->j, NULL);
		bm_json_str(r->j, "object", object);
		bm_json_str(r->j, "problem", problem);
		bm_json_str(r->j, "file", file);
		bm_json_end_obj(r->j);
		return;
	}
	ctl_progress_clear(r->prog);
	/* One line per problem, whatever the file's name holds. */
	printf("%s: ", r->machine);
	bm_esc_put(stdout, object);
	fputs(": ", stdout);
	bm_esc_put(stdout, problem);
	if (file != NULL) {
		fputs("; affects ", stdout);
		bm_esc_put(stdout, file);
	}
	putchar('\n');
}

/*
 * Parse --read-data-subset: "N/M" (1 <= N <= M, decimal) or "P%" (0 < P
 * <= 100, decimals allowed) into @part.  Returns 0, or -1 after a
 * message.
 */
static int
parse_subset(const struct ctl *ctl, const char *text,
    struct store_check_part *part)
{
	unsigned long n, m;
	double p;
	char *end;

	memset(part, 0, sizeof(*part));
	if (text[0] >= '0' && text[0] <= '9' && strchr(text, '/') != NULL) {
		n = strtoul(text, &end, 10);
		if (*end == '/' && end[1] >= '0' && end[1] <= '9') {
			m = strtoul(end + 1, &end, 10);
			if (*end == '\0' && n >= 1 && m >= n &&
			    m <= UINT32_MAX) {
				part->slice = (uint32_t)n;
				part->slices = (uint32_t)m;
				return 0;
			}
		}
	} else if ((text[0] >= '0' && text[0] <= '9') || text[0] == '.') {
		p = strtod(text, &end);
		if (end[0] == '%' && end[1] == '\0' && p > 0 && p <= 100) {
			part->share = p / 100;
			return 0;
		}
	}
	ctl_err(ctl, "--read-data-subset %s: not N/M (1 <= N <= M) nor a "
	    "percentage P%% (0 < P <= 100)", text);
	return -1;
}

int
cmd_check(struct ctl *ctl, int argc, char **argv)
{
	struct ctl_opts o;
	struct ctl_session s;
	struct ctl_progress prog;
	struct report r;
	struct store_check_part part;
	uint64_t problems = 0;
	bm_json j;
	int rc;

	if ((rc = ctl_parse(ctl, argc, argv, CTL_O_READ_DATA | CTL_O_JSON |
	    CTL_O_ADMIN | CTL_O_USER | CTL_O_POSTE_KEY | CTL_O_PASSWORD, 1, 1,
	    check_usage, &o)) >= 0)
		return rc;
	if (o.read_data_subset != NULL &&
	    parse_subset(ctl, o.read_data_subset, &part) != 0)
		return CTL_USAGE;
	if ((rc = ctl_session_open(ctl, o.args[0], &o, 0, &s)) != 0)
		return rc;
	ctl_progress_init(&prog, ctl, "checking");
	r.prog = &prog;
	r.machine = o.args[0];
	r.n = 0;
	r.j = NULL;
	if (o.json) {
		bm_json_init(&j, stdout);
		bm_json_head(&j, "beemo-check", 1);
		bm_json_str(&j, "machine", o.args[0]);
		bm_json_bool(&j, "read_data", o.read_data);
		if (o.read_data_subset != NULL)
			bm_json_str(&j, "read_data_subset",
			    o.read_data_subset);
		bm_json_begin_arr(&j, "problems");
		r.j = &j;
	}
	if (o.read_data_subset != NULL)
		rc = store_check_part(s.st, &part, on_problem, &r,
		    ctl_progress_cb, &prog, &problems);
	else
		rc = store_check(s.st, o.read_data, on_problem, &r,
		    ctl_progress_cb, &prog, &problems);
	ctl_progress_end(&prog);
	if (o.json) {
		/* "ok": the check ran and found nothing. */
		bm_json_end_arr(&j);
		bm_json_bool(&j, "completed", rc == 0);
		bm_json_u64(&j, "problem_count", problems);
		if (o.read_data_subset != NULL) {
			bm_json_u64(&j, "packs_read", part.packs_read);
			bm_json_u64(&j, "packs_total", part.packs_total);
		}
		bm_json_bool(&j, "ok", rc == 0 && problems == 0);
		bm_json_end_obj(&j);
	}
	if (rc != 0)
		ctl_err(ctl, "%s: check could not run: %s", o.args[0],
		    beemo_strerror(rc));
	else if (!o.json && problems > 0)
		printf("%s: %llu problem(s) found\n", o.args[0],
		    (unsigned long long)problems);
	else if (!o.json && !ctl->quiet && o.read_data_subset != NULL)
		printf("%s: no problems found (data of %llu of %llu packs "
		    "read and authenticated)\n", o.args[0],
		    (unsigned long long)part.packs_read,
		    (unsigned long long)part.packs_total);
	else if (!o.json && !ctl->quiet)
		printf("%s: no problems found%s\n", o.args[0], o.read_data ?
		    " (all data read and authenticated)" : "");
	if (ctl_session_close(ctl, &s) != 0)
		rc = -1;
	return rc != 0 || problems > 0 ? CTL_FAIL : CTL_OK;
}

int
cmd_rebuild_index(struct ctl *ctl, int argc, char **argv)
{
	struct ctl_opts o;
	struct ctl_progress prog;
	keymgr *km = NULL;
	keymgr_secret *sec = NULL;
	char dir[4096], *pw = NULL;
	size_t len = 0;
	int rc;

	if ((rc = ctl_parse(ctl, argc, argv, CTL_O_JSON | CTL_O_ADMIN |
	    CTL_O_POSTE_KEY | CTL_O_PASSWORD, 1, 1, rebuild_usage, &o)) >= 0)
		return rc;
	if (ctl_machine_dir(ctl, o.args[0], dir, sizeof(dir)) != 0 ||
	    ctl_keymgr(ctl, &km) != 0)
		return CTL_FAIL;
	rc = CTL_FAIL;
	if (o.poste_key != NULL) {
		if (keymgr_unlock_poste(km, o.args[0], o.poste_key, &sec) != 0) {
			ctl_km_fail(ctl, km);
			goto out;
		}
	} else {
		if (ctl_password(ctl, "Administrator password: ",
		    o.password_file, "BEEMO_PASSWORD_FILE", 0, &pw, &len))
			goto out;
		if (keymgr_unlock_admin(km, o.args[0], pw, len, &sec) != 0) {
			ctl_km_fail(ctl, km);
			goto out;
		}
	}
	ctl_progress_init(&prog, ctl, "rebuilding");
	rc = store_rebuild(dir, sec, ctl_progress_cb, &prog);
	ctl_progress_end(&prog);
	if (rc != 0) {
		ctl_err(ctl, "%s: %s%s", o.args[0], beemo_strerror(rc),
		    rc == BEEMO_ELOCKED ? " (unmount it first)" : "");
		rc = rc == BEEMO_ELOCKED ? BM_EXIT_BUSY : CTL_FAIL;
		goto out;
	}
	if (o.json) {
		bm_json j;

		bm_json_init(&j, stdout);
		bm_json_head(&j, "beemo-rebuild-index", 1);
		bm_json_str(&j, "machine", o.args[0]);
		bm_json_bool(&j, "rebuilt", 1);
		bm_json_end_obj(&j);
	} else if (!ctl->quiet) {
		printf("%s: index rebuilt from the packs\n", o.args[0]);
	}
	rc = CTL_OK;
out:
	bm_free_secret(pw, len);
	keymgr_secret_free(sec);
	keymgr_free(km);
	return rc;
}
