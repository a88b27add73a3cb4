/*
 * keymgr_aside.c -- a machine's key file set aside and put back: the
 * grace period of `beemoctl machine remove`.
 *
 * Setting aside moves DIR/machines/NAME.key to a file the caller names
 * (the removed area of the appliance): from then on no principal can
 * unlock the machine, since keymgr finds no key file, yet nothing is
 * erased.  Putting back moves it home again.  Both are a hard link and
 * an unlink under the directory lock, so an existing file is never
 * replaced and a crash leaves the file at one place or, between the two
 * steps, at both (two names of one file: the machine is then still
 * usable, as if the operation had not been made).
 *
 * A key file set aside is not rewritten by keymgr_admin_passwd(): after
 * a change of the ADMIN key pair its wraps are for the old ADMIN_PUB.
 * Putting back therefore unlocks every generation with the current
 * administrator's key first and refuses a file that does not open so.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "bm_bytes.h"
#include "bm_err.h"
#include "bm_file.h"
#include "keymgr_internal.h"

/* Move @from to @to without replacing @to: link, then unlink.  An
 * existing @to with @from gone means a crash after the link: done. */
static int
move_noreplace(keymgr *km, const char *from, const char *to)
{
	if (link(from, to) != 0)
		return km_err(km, -errno, "cannot link %s to %s: %s", from,
		    to, strerror(errno));
	if (bm_fsync_dir(to) != 0 || unlink(from) != 0)
		return km_err(km, -errno, "cannot remove %s: %s", from,
		    strerror(errno));
	return bm_fsync_dir(from);
}

int
keymgr_machine_set_aside(keymgr *km, const char *machine,
    const char *admin_pw, size_t admin_pwlen, const char *dest)
{
	EVP_PKEY *admin = NULL;
	char path[4096];
	int lockfd = -1, rc;

	km->errmsg[0] = '\0';
	if ((rc = km_machine_file_admin(km, machine, admin_pw, admin_pwlen,
	    path, sizeof(path), &lockfd, &admin)) != 0)
		goto out;
	if (access(dest, F_OK) == 0) {
		rc = km_err(km, -EEXIST, "%s exists already", dest);
		goto out;
	}
	rc = move_noreplace(km, path, dest);
out:
	km_unlock(lockfd);
	EVP_PKEY_free(admin);
	return km_done(km, rc);
}

int
keymgr_machine_put_back(keymgr *km, const char *machine,
    const char *admin_pw, size_t admin_pwlen, const char *src)
{
	struct km_machine *m = NULL;
	keymgr_secret *s = NULL;
	EVP_PKEY *admin = NULL;
	char path[4096];
	int lockfd = -1, rc, linked = 0;

	km->errmsg[0] = '\0';
	if (!bm_valid_name(machine))
		return km_done(km, km_err(km, -EINVAL, "'%s' is not a valid "
		    "machine name", machine));
	if ((rc = km_lock(km, &lockfd)) != 0 ||
	    (rc = km_admin_settled(km)) != 0 ||
	    (rc = km_path_machine(km, machine, path, sizeof(path))) != 0 ||
	    (rc = km_admin_priv(km, admin_pw, admin_pwlen, NULL, &admin)))
		goto out;
	if (link(src, path) != 0) {
		rc = errno == EEXIST ? km_err(km, -EEXIST, "machine %s exists "
		    "already", machine) : km_err(km, -errno, "cannot link %s "
		    "to %s: %s", src, path, strerror(errno));
		goto out;
	}
	linked = 1;
	/* The file must be this machine's, of this appliance, and open
	 * with the current administrator's key. */
	if ((rc = km_load_machine(km, machine, &m)) != 0)
		goto out;
	if ((rc = km_unlock_all(km, m, admin, KEYMGR_ADMIN, 0, &s)) != 0) {
		rc = km_err(km, BEEMO_EPASSWORD, "the key file of machine "
		    "%s set aside in %s does not open with the current "
		    "administrator's key (was the administrator's password "
		    "changed since?)", machine, src);
		goto out;
	}
	if ((rc = bm_fsync_dir(path)) != 0)
		goto out;
	if (unlink(src) != 0) {
		rc = km_err(km, -errno, "cannot remove %s: %s", src,
		    strerror(errno));
		goto out;
	}
	linked = 0;
	rc = bm_fsync_dir(src);
out:
	if (rc != 0 && linked)
		(void)unlink(path);
	keymgr_secret_free(s);
	km_machine_free(m);
	km_unlock(lockfd);
	EVP_PKEY_free(admin);
	return km_done(km, rc);
}
