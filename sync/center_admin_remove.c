/*
 * center_admin_remove.c -- beemo-center remove: retire the area of an
 * appliance (center.h, center_admin.h).  The line of its key is taken
 * out of the account's authorized_keys, so that sshd no longer accepts
 * it, and AREA is renamed AREA.removed-STAMP: no data is ever deleted
 * here; the operator deletes that directory by hand when it is no
 * longer needed.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bm_confirm.h"
#include "bm_err.h"
#include "bm_file.h"
#include "center_admin.h"

/*
 * Rewrite @path without the lines whose forced command serves @area,
 * keeping its owner and mode; @removed receives how many went.
 */
static int
drop_key(const char *path, const char *area, int *removed)
{
	char *needle = NULL, *line, *next;
	uint8_t *buf = NULL;
	struct stat st;
	size_t len, kept = 0;
	int rc;

	*removed = 0;
	if (asprintf(&needle, " serve --area %s\",", area) < 0)
		return -ENOMEM;
	if (lstat(path, &st) != 0) {
		rc = errno == ENOENT ? 0 : -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) { /* never follow a planted link */
		rc = -EINVAL;
		goto out;
	}
	if ((rc = bm_read_file(path, 16u << 20, &buf, &len)) != 0)
		goto out;
	for (line = (char *)buf; line < (char *)buf + len; line = next) {
		char *nl = memchr(line, '\n', (size_t)((char *)buf + len -
		    line));
		size_t l;

		next = nl ? nl + 1 : (char *)buf + len;
		l = (size_t)(next - line);
		if (memmem(line, l, needle, strlen(needle)) &&
		    memmem(line, l, "command=\"", 9)) {
			(*removed)++;
			continue;
		}
		memmove(buf + kept, line, l);
		kept += l;
	}
	if (*removed == 0)
		goto out;
	if ((rc = bm_write_file_atomic(path, buf, kept, st.st_mode & 07777,
	    0)) != 0)
		goto out;
	if (chown(path, st.st_uid, st.st_gid) != 0)
		rc = -errno;
out:
	free(buf);
	free(needle);
	return rc;
}

static void
remove_usage(FILE *f)
{
	fprintf(f, "usage: beemo-center remove NAME [--area DIR] [--yes] "
		   "[--authorized-keys FILE]\n"
		   "         [--dry-run]\n"
		   "\n"
		   "Retire an area: its key's line leaves authorized_keys "
		   "and the area is\nrenamed AREA.removed-STAMP; no data is "
		   "deleted.  Asks for the name on\na terminal; without one, "
		   "refuses unless --yes.\n"
		   "\n"
		   "  --area DIR             the area, when not [center] "
		   "root/NAME\n"
		   "  -y, --yes              do not ask for the name (needed "
		   "without a\n"
		   "                         terminal)\n"
		   "  --dry-run              say what would be done, do "
		   "nothing\n"
		   "  --authorized-keys FILE the file holding the key's line "
		   "(default\n"
		   "                         ~ACCOUNT/.ssh/authorized_keys)\n");
}

int
center_cmd_remove(struct center_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"area", required_argument, NULL, 'a'},
		{"yes", no_argument, NULL, 'y'},
		{"authorized-keys", required_argument, NULL, 'A'},
		{"dry-run", no_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = NULL, *authkeys = NULL;
	char area[PATH_MAX], to[PATH_MAX], akeys[PATH_MAX], stamp[32];
	char err[512], user[80];
	struct center_area a;
	struct passwd *pw;
	struct tm tm;
	time_t now;
	uid_t uid = 0;
	int c, yes = 0, dry_run = 0, removed = 0, rc;

	while ((c = getopt_long(argc, argv, "yh", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			dir = optarg;
			break;
		case 'y':
			yes = 1;
			break;
		case 'A':
			authkeys = optarg;
			break;
		case 'd':
			dry_run = 1;
			break;
		case 'h':
			remove_usage(stdout);
			return CENTER_EXIT_OK;
		default:
			remove_usage(stderr);
			return CENTER_EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		remove_usage(stderr);
		return CENTER_EXIT_USAGE;
	}
	if (center_area_locate(ctx, argv[optind], dir, area, sizeof(area),
	    err, sizeof(err)) != 0) {
		fprintf(stderr, "beemo-center remove: %s\n", err);
		return CENTER_EXIT_USAGE;
	}
	if (center_area_open(ctx, area, &a, err, sizeof(err)) != 0) {
		fprintf(stderr, "beemo-center remove: %s\n", err);
		return CENTER_EXIT_FAIL;
	}
	center_account(area, user, sizeof(user), &uid);
	pw = getpwuid(uid);
	if (!authkeys && (!pw || bm_path(akeys, sizeof(akeys),
	    "%s/.ssh/authorized_keys", pw->pw_dir) != 0)) {
		fprintf(stderr, "beemo-center remove: account %s has no home "
		    "(use --authorized-keys)\n", user);
		goto fail;
	}
	if (dry_run) {
		printf("dry run: would take the key of appliance %s out of %s "
		    "and rename %s to %s.removed-STAMP (no data deleted)\n",
		    a.name, authkeys ? authkeys : akeys, area, area);
		center_area_close(&a);
		return CENTER_EXIT_OK;
	}
	if ((rc = bm_confirm("beemo-center remove", yes, argv[optind],
	    "The key of appliance %s will no longer be accepted and %s "
	    "will be renamed (no data is deleted).", argv[optind],
	    area)) != 0) {
		center_area_close(&a);
		return rc;
	}
	if ((rc = drop_key(authkeys ? authkeys : akeys, area, &removed))) {
		fprintf(stderr, "beemo-center remove: %s: %s\n", authkeys ?
		    authkeys : akeys, beemo_strerror(rc));
		goto fail;
	}
	if (removed == 0)
		fprintf(stderr, "beemo-center remove: warning: no key serving "
		    "%s in %s\n", area, authkeys ? authkeys : akeys);
	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	(void)center_journal(&a, "area removed: %d key line(s) taken out of "
	    "%s, renamed to %s.removed-%s", removed, authkeys ? authkeys :
	    akeys, area, stamp);
	if (bm_path(to, sizeof(to), "%s.removed-%s", area, stamp) != 0 ||
	    rename(area, to) != 0) {
		fprintf(stderr, "beemo-center remove: rename %s: %s\n", area,
		    strerror(errno));
		goto fail;
	}
	if (!ctx->quiet)
		printf("area %s: its key is no longer accepted; its data is "
		    "kept in %s (nothing was deleted: delete that directory "
		    "when it is no longer needed)\n", a.name, to);
	center_area_close(&a);
	return CENTER_EXIT_OK;
fail:
	center_area_close(&a);
	return CENTER_EXIT_FAIL;
}
