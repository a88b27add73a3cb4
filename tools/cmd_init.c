/*
 * cmd_init.c -- `beemoctl init`: first setup of an appliance.
 *
 * Creates the store directory, STORE/machines (where the store keeps each
 * machine's backup set) and the key directory STORE/keys with the ADMIN
 * key pair, BEEMO_AES and the appliance id (keymgr_init), then prints the
 * appliance id.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "beemoctl.h"
#include "bm_bytes.h"
#include "bm_err.h"
#include "bm_file.h"
#include "bm_json.h"
#include "bm_pass.h"
#include "bm_units.h"

static const char usage[] =
    "[--kdf-n N] [--kdf-r R] [--kdf-p P] [--password-file FILE]\n"
    "       [--json]\n"
    "\n"
    "Set up a new appliance in the store directory: the administrator's\n"
    "key pair sealed with a new administrator password.  Prints the\n"
    "appliance id.\n"
    "\n"
    "  --kdf-n N             scrypt cost N, a power of two (default 131072)\n"
    "  --kdf-r R             scrypt block size r (default 8)\n"
    "  --kdf-p P             scrypt parallelism p (default 1)\n"
    "  --password-file FILE  read the new administrator password from FILE\n"
    "                        (default $BEEMO_PASSWORD_FILE, or the terminal)\n"
    "  --json                one JSON object \"beemo-init\"\n"
    "                        (beemoctl(8))\n"
    "  --help                this help\n";

/* Parse one scrypt parameter given on the command line, if it was. */
static int
kdf_param(const struct ctl *ctl, const char *opt, const char *s,
    uint64_t *out)
{
	if (s == NULL)
		return 0;
	if (bm_parse_u64(s, out) != 0) {
		ctl_err(ctl, "--%s: '%s' is not a number", opt, s);
		return -1;
	}
	return 0;
}

/* mkdir -p @path with mode 0700, forcing the mode if it existed. */
static int
private_dir(const struct ctl *ctl, const char *path)
{
	int rc = bm_mkdir_p(path, 0700);

	if (rc == 0 && chmod(path, 0700) != 0)
		rc = -errno;
	if (rc != 0)
		ctl_err(ctl, "cannot create %s: %s", path, beemo_strerror(rc));
	return rc;
}

int
cmd_init(struct ctl *ctl, int argc, char **argv)
{
	struct ctl_opts o;
	struct keymgr_kdf kdf;
	uint64_t n, r, p;
	uint8_t id[KEYMGR_ID_LEN];
	char path[4200], hex[2 * KEYMGR_ID_LEN + 1];
	char *pw = NULL;
	size_t pwlen = 0;
	keymgr *km = NULL;
	int rc;

	if ((rc = ctl_parse(ctl, argc, argv, CTL_O_KDF | CTL_O_PASSWORD |
	    CTL_O_JSON, 0, 0, usage, &o)) >= 0)
		return rc;
	keymgr_kdf_default(&kdf);
	n = kdf.N;
	r = kdf.r;
	p = kdf.p;
	if (kdf_param(ctl, "kdf-n", o.kdf_n, &n) || kdf_param(ctl, "kdf-r",
	    o.kdf_r, &r) || kdf_param(ctl, "kdf-p", o.kdf_p, &p))
		return CTL_USAGE;
	if (r > UINT32_MAX || p > UINT32_MAX) {
		ctl_err(ctl, "scrypt parameters out of range");
		return CTL_USAGE;
	}
	kdf.N = n;
	kdf.r = (uint32_t)r;
	kdf.p = (uint32_t)p;
	snprintf(path, sizeof(path), "%s/admin.key", ctl->keydir);
	if (access(path, F_OK) == 0) {
		ctl_err(ctl, "%s already holds an appliance", ctl->store);
		return CTL_FAIL;
	}
	if (ctl_password(ctl, "New administrator password: ", o.password_file,
	    "BEEMO_PASSWORD_FILE", 1, &pw, &pwlen) != 0)
		return CTL_FAIL;
	rc = CTL_FAIL;
	snprintf(path, sizeof(path), "%s/machines", ctl->store);
	if (private_dir(ctl, ctl->store) != 0 || private_dir(ctl, path) != 0)
		goto out;
	/* keymgr_init creates ctl->keydir and its machines/ itself. */
	switch ((rc = keymgr_init(ctl->keydir, pw, pwlen, &kdf))) {
	case 0:
		break;
	case -EEXIST:
		ctl_err(ctl, "%s already holds an appliance", ctl->store);
		rc = CTL_FAIL;
		goto out;
	case -EINVAL:
		ctl_err(ctl, "scrypt parameters out of range: N must be a "
			     "power of two in 1024..4194304, r in 1..32, p "
			     "in 1..16, 128*N*r at most 1 GiB and N*r*p at "
			     "most 2^25");
		rc = CTL_USAGE;
		goto out;
	default:
		ctl_err(ctl, "cannot create the appliance in %s: %s",
		    ctl->keydir, beemo_strerror(rc));
		rc = CTL_FAIL;
		goto out;
	}
	rc = CTL_FAIL;
	if (ctl_keymgr(ctl, &km) != 0)
		goto out;
	keymgr_appliance_id(km, id);
	bm_hex(hex, id, sizeof(id));
	if (o.json) {
		bm_json j;

		bm_json_init(&j, stdout);
		bm_json_head(&j, "beemo-init", 1);
		bm_json_str(&j, "appliance_id", hex);
		bm_json_str(&j, "store", ctl->store);
		bm_json_end_obj(&j);
	} else {
		printf("%s\n", hex);
	}
	ctl_alog(ctl, km, "admin", "admin", "appliance %s initialized", hex);
	rc = CTL_OK;
out:
	keymgr_free(km);
	bm_free_secret(pw, pwlen);
	return rc;
}
