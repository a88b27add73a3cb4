/*
 * sync_pass.c -- the administrator's password for release and recover
 * (sync.h): the three options, the environment, systemd credentials and
 * the terminal, as beemoctl reads them.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <syslog.h>

#include "bm_err.h"
#include "bm_pass.h"
#include "bm_units.h"
#include "sync.h"

int
sync_password(const char *file, const char *command, const char *fd,
    char **pw, size_t *len)
{
	struct bm_pass_src src = {
		.file = file,
		.command = command,
		.fd = -1,
		.file_env = "BEEMO_PASSWORD_FILE",
		.command_env = "BEEMO_PASSWORD_COMMAND",
		.credential = "beemo-admin-password",
	};
	char from[4200];
	uint64_t n;
	int rc;

	if ((file != NULL) + (command != NULL) + (fd != NULL) > 1) {
		sync_log(LOG_ERR, "give only one of --password-file, "
		    "--password-command and --password-fd");
		return SYNC_EXIT_USAGE;
	}
	if (fd != NULL) {
		if (bm_parse_u64(fd, &n) != 0 || n > INT_MAX) {
			sync_log(LOG_ERR, "--password-fd %s: not a file "
			    "descriptor number", fd);
			return SYNC_EXIT_USAGE;
		}
		src.fd = (int)n;
	}
	rc = bm_password_get(&src, "Administrator password: ", 0, pw, len,
	    from, sizeof(from));
	if (rc == 0)
		return 0;
	if (rc == -ENOTTY)
		sync_log(LOG_ERR, "cannot read the administrator password: no "
		    "terminal (use --password-file, --password-command or "
		    "--password-fd)");
	else if (rc == -ECHILD)
		sync_log(LOG_ERR, "%s", from);
	else if (rc == -EINVAL)
		sync_log(LOG_ERR, "empty password from %s", from);
	else
		sync_log(LOG_ERR, "cannot read the administrator password "
		    "from %s: %s", from, beemo_strerror(rc));
	return SYNC_EXIT_FAIL;
}
