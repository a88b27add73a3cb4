/*
 * center_admin.c -- beemo-center add: the area of an appliance, its
 * account and the forced command of its push key (center.h,
 * center_admin.h); and what the administration verbs share.
 *
 * add creates AREA (data/ and state/ 0700, area.conf) owned by the
 * appliance's account, then appends to that account's authorized_keys
 *
 *   command="BIN serve --area AREA",restrict TYPE BASE64 beemo-center:NAME
 *
 * where BIN is this very program, so that the key can do nothing but
 * `beemo-center serve` of its own area (center_admin_remove.c takes it
 * out again).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "bm_err.h"
#include "bm_file.h"
#include "bm_units.h"
#include "center_admin.h"

#define KEYFILE_MAX 16384

int
center_name_ok(const char *name)
{
	size_t i, n = strlen(name);

	if (n == 0 || n > CENTER_NAME_MAX || name[0] == '-')
		return 0;
	for (i = 0; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') ||
		    (name[i] >= '0' && name[i] <= '9') || name[i] == '-'))
			return 0;
	return 1;
}

int
center_area_locate(const struct center_ctx *ctx, const char *name,
    const char *dir, char *out, size_t outlen, char *err, size_t errlen)
{
	if (dir)
		return bm_path(out, outlen, "%s", dir);
	if (!center_name_ok(name)) {
		snprintf(err, errlen, "bad area name '%s' (1 to %d characters "
		    "of a-z, 0-9 and '-', not starting with '-')", name,
		    CENTER_NAME_MAX);
		return -EINVAL;
	}
	return bm_path(out, outlen, "%s/%s", ctx->root, name);
}

char *
center_account(const char *path, char *out, size_t outlen, uid_t *uid)
{
	struct passwd *pw;
	struct stat st;

	if (stat(path, &st) != 0) {
		snprintf(out, outlen, "?");
		return out;
	}
	if (uid)
		*uid = st.st_uid;
	if ((pw = getpwuid(st.st_uid)))
		snprintf(out, outlen, "%s", pw->pw_name);
	else
		snprintf(out, outlen, "uid %u", (unsigned)st.st_uid);
	return out;
}

/* Characters that may appear in a path inside the forced command, which
 * sshd runs with the account's shell: nothing it would interpret. */
static int
path_ok(const char *p)
{
	for (; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("/._+@:,-", *p)))
			return 0;
	return 1;
}

/*
 * The public key of @path as "TYPE BASE64" into @out: the first line
 * that is not blank or a comment must be an OpenSSH public key whose
 * base64 decodes to a blob naming the same type.  A private key, a line
 * with options, or anything else is refused with a sentence in @err.
 */
static int
read_pubkey(const char *path, char *out, size_t outlen, char *err,
    size_t errlen)
{
	static const char *const types[] = {
		"ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256",
		"ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
		"sk-ssh-ed25519@openssh.com",
		"sk-ecdsa-sha2-nistp256@openssh.com",
	};
	uint8_t *buf = NULL, *blob = NULL;
	char *line, *type, *b64, *save = NULL;
	size_t len, i, tlen, blen;
	int n, rc = -EINVAL;

	if ((rc = bm_read_file(path, KEYFILE_MAX, &buf, &len)) != 0) {
		snprintf(err, errlen, "%s: %s", path, beemo_strerror(rc));
		return rc;
	}
	rc = -EINVAL;
	if (memchr(buf, '\0', len) || strstr((char *)buf, "PRIVATE KEY")) {
		snprintf(err, errlen, "%s is not a public key (a private key "
		    "must never leave the appliance)", path);
		goto out;
	}
	for (line = strtok_r((char *)buf, "\n", &save); line;
	    line = strtok_r(NULL, "\n", &save)) {
		line += strspn(line, " \t\r");
		if (*line && *line != '#')
			break;
	}
	type = line ? strtok_r(line, " \t\r", &save) : NULL;
	b64 = type ? strtok_r(NULL, " \t\r", &save) : NULL;
	for (i = 0; type && i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(type, types[i]) == 0)
			break;
	if (!b64 || i == sizeof(types) / sizeof(types[0])) {
		snprintf(err, errlen, "%s is not an OpenSSH public key (one "
		    "line \"TYPE BASE64 [COMMENT]\", as ssh-keygen writes "
		    "KEY.pub)", path);
		goto out;
	}
	len = strlen(b64);
	tlen = strlen(type);
	if (len % 4 || len > KEYFILE_MAX || !(blob = malloc(len))) {
		rc = len % 4 || len > KEYFILE_MAX ? -EINVAL : -ENOMEM;
		snprintf(err, errlen, "%s: the key is not valid base64", path);
		goto out;
	}
	n = EVP_DecodeBlock(blob, (const unsigned char *)b64, (int)len);
	blen = n < 0 ? 0 : (size_t)n;
	if (blen < 4 + tlen || blob[0] || blob[1] || blob[2] ||
	    blob[3] != tlen || memcmp(blob + 4, type, tlen) != 0) {
		snprintf(err, errlen, "%s: the key's data is not a %s key",
		    path, type);
		goto out;
	}
	if (snprintf(out, outlen, "%s %s", type, b64) >= (int)outlen) {
		snprintf(err, errlen, "%s: key too long", path);
		goto out;
	}
	rc = 0;
out:
	free(blob);
	free(buf);
	return rc;
}

/* Run useradd for the system account @user whose home is @home. */
static int
create_user(const char *user, const char *home, char *err, size_t errlen)
{
	char comment[128];
	int status;
	pid_t pid;

	snprintf(comment, sizeof(comment), "beemo-center area %s", user);
	if ((pid = fork()) < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		return -errno;
	}
	if (pid == 0) {
		execlp("useradd", "useradd", "--system", "--user-group",
		    "--home-dir", home, "--no-create-home", "--shell",
		    "/bin/sh", "--comment", comment, user, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		snprintf(err, errlen, "useradd %s failed (exit status %d; an "
		    "account of that name may exist: use --user)", user,
		    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		return -EIO;
	}
	return 0;
}

/* The absolute form of @dir (its parent created 0755 when missing and
 * resolved, its last component kept) into @out. */
static int
absolute_area(const char *dir, char *out, size_t outlen)
{
	char parent[PATH_MAX], real[PATH_MAX];
	const char *base;
	int rc;

	if (bm_path(parent, sizeof(parent), "%s", dir) != 0)
		return -ENAMETOOLONG;
	while (strlen(parent) > 1 && parent[strlen(parent) - 1] == '/')
		parent[strlen(parent) - 1] = '\0';
	base = strrchr(parent, '/');
	if (!base) {
		memmove(parent + 2, parent, strlen(parent) + 1);
		memcpy(parent, "./", 2);
		base = parent + 1;
	}
	if (!base[1] || !strcmp(base + 1, ".") || !strcmp(base + 1, ".."))
		return -EINVAL;
	parent[base - parent] = '\0';
	if ((rc = bm_mkdir_p(*parent ? parent : "/", 0755)) != 0)
		return rc;
	if (!realpath(*parent ? parent : "/", real))
		return -errno;
	return bm_path(out, outlen, "%s/%s", strcmp(real, "/") ? real : "",
	    base + 1);
}

struct add_opts {
	const char *name, *key, *user, *area, *quota, *grace, *mail_to;
	const char *authkeys;
	int create_user;
};

/* area.conf for @o, whose quota and grace are checked already. */
static int
write_area_conf(const struct add_opts *o, const char *path, uint64_t grace)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int rc;

	if (!(f = open_memstream(&text, &len)))
		return -ENOMEM;
	fprintf(f, "# beemo-center area of appliance %s (beemo-center(8))\n"
		   "[area]\nname = %s\n", o->name, o->name);
	if (o->quota)
		fprintf(f, "quota = %s\n", o->quota);
	if (o->grace)
		fprintf(f, "grace = %llu\n", (unsigned long long)grace);
	if (o->mail_to)
		fprintf(f, "mail_to = %s\n", o->mail_to);
	if (fclose(f) != 0) {
		free(text);
		return -ENOMEM;
	}
	rc = bm_write_file_atomic(path, text, len, 0640, 1);
	free(text);
	return rc;
}

/* Make @area/@rel a directory 0700. */
static int
make_dir(const char *area, const char *rel)
{
	char p[PATH_MAX];

	if (bm_path(p, sizeof(p), "%s%s%s", area, *rel ? "/" : "", rel))
		return -ENAMETOOLONG;
	return mkdir(p, 0700) == 0 ? 0 : -errno;
}

/*
 * Append @line to @path, creating it 0600 owned by @pw.  With @home_dir
 * (~USER/.ssh/authorized_keys) its directory is created 0700 owned by
 * @pw when missing, and must be a real directory of @pw or root that
 * nobody else may write: the account cannot point it, by a symbolic
 * link, at another account's keys.  Returns 0 or a negative errno
 * (-EPERM: an unsafe directory).
 */
static int
append_key(const char *path, const struct passwd *pw, const char *line,
    int home_dir)
{
	char dir[PATH_MAX], last, *base;
	struct stat st;
	int dfd, fd = -1, rc = 0, created;

	if (bm_path(dir, sizeof(dir), "%s", path) != 0)
		return -ENAMETOOLONG;
	if (!(base = strrchr(dir, '/')) || !base[1])
		return -EINVAL;
	*base++ = '\0';
	if (home_dir && mkdir(dir, 0700) == 0 &&
	    lchown(dir, pw->pw_uid, pw->pw_gid) != 0)
		return -errno;
	dfd = open(*dir ? dir : "/", O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	if (home_dir && (fstat(dfd, &st) != 0 || (st.st_uid != pw->pw_uid &&
	    st.st_uid != 0) || (st.st_mode & 022))) {
		rc = -EPERM;
		goto out;
	}
	created = fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) != 0;
	errno = 0;
	fd = openat(dfd, base, O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (fd < 0 || (created && fchown(fd, pw->pw_uid, pw->pw_gid) != 0) ||
	    fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		goto fail;
	if (st.st_size > 0 && (pread(fd, &last, 1, st.st_size - 1) != 1 ||
	    (last != '\n' && write(fd, "\n", 1) != 1)))
		goto fail;
	if (dprintf(fd, "%s\n", line) < 0 || fsync(fd) != 0)
		goto fail;
	goto out;
fail:
	rc = errno ? -errno : -EINVAL;
out:
	if (fd >= 0)
		close(fd);
	close(dfd);
	return rc;
}

/* Undo a partly created area: only what add makes. */
static void
undo_area(const char *area)
{
	static const char *const files[] = {
		"area.conf", "state/usage", "state/journal",
	};
	char p[PATH_MAX];
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (bm_path(p, sizeof(p), "%s/%s", area, files[i]) == 0)
			(void)unlink(p);
	if (bm_path(p, sizeof(p), "%s/data", area) == 0)
		(void)rmdir(p);
	if (bm_path(p, sizeof(p), "%s/state", area) == 0)
		(void)rmdir(p);
	(void)rmdir(area);
}

/* Give @area/@rel to @pw (when it exists). */
static int
give(const char *area, const char *rel, const struct passwd *pw)
{
	char p[PATH_MAX];

	if (bm_path(p, sizeof(p), "%s%s%s", area, *rel ? "/" : "", rel))
		return -ENAMETOOLONG;
	if (lchown(p, pw->pw_uid, pw->pw_gid) != 0 && errno != ENOENT)
		return -errno;
	return 0;
}

static void
add_usage(FILE *f)
{
	fprintf(f, "usage: beemo-center add NAME --key PUBFILE [--user USER "
		   "| --create-user]\n"
		   "         [--area DIR] [--quota SIZE] [--grace DURATION]"
		   " [--mail-to ADDRS]\n"
		   "         [--authorized-keys FILE]\n"
		   "\n"
		   "Create the area of appliance NAME and give its push key "
		   "a line in\nauthorized_keys that only runs beemo-center "
		   "serve there: the key\ncan add objects, never remove "
		   "one.\n"
		   "\n"
		   "  -k, --key PUBFILE      the appliance's push key "
		   "(KEY.pub)\n"
		   "  -u, --user USER        the existing account of the "
		   "area\n"
		   "  --create-user          create the system account "
		   "beemo-NAME (useradd)\n"
		   "  --area DIR             the area (default [center] "
		   "root/NAME)\n"
		   "  --quota SIZE           bytes the appliance may store "
		   "(10G, 2T)\n"
		   "  --grace DURATION       delay of deletion requests "
		   "(30d)\n"
		   "  --mail-to ADDRS        the appliance's recipients, "
		   "comma-separated\n"
		   "  --authorized-keys FILE the file sshd reads for the "
		   "account (default\n"
		   "                         ~USER/.ssh/authorized_keys)\n");
}

static int
parse_add(int argc, char **argv, struct add_opts *o)
{
	static const struct option opts[] = {
		{"key", required_argument, NULL, 'k'},
		{"user", required_argument, NULL, 'u'},
		{"create-user", no_argument, NULL, 'C'},
		{"area", required_argument, NULL, 'a'},
		{"quota", required_argument, NULL, 'Q'},
		{"grace", required_argument, NULL, 'g'},
		{"mail-to", required_argument, NULL, 'm'},
		{"authorized-keys", required_argument, NULL, 'A'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	memset(o, 0, sizeof(*o));
	while ((c = getopt_long(argc, argv, "k:u:h", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			o->key = optarg;
			break;
		case 'u':
			o->user = optarg;
			break;
		case 'C':
			o->create_user = 1;
			break;
		case 'a':
			o->area = optarg;
			break;
		case 'Q':
			o->quota = optarg;
			break;
		case 'g':
			o->grace = optarg;
			break;
		case 'm':
			o->mail_to = optarg;
			break;
		case 'A':
			o->authkeys = optarg;
			break;
		case 'h':
			add_usage(stdout);
			return 1;
		default:
			add_usage(stderr);
			return -1;
		}
	}
	if (optind + 1 != argc || !o->key || !!o->user == o->create_user) {
		fprintf(stderr, "beemo-center add: NAME, --key and one of "
		    "--user or --create-user are needed\n");
		add_usage(stderr);
		return -1;
	}
	o->name = argv[optind];
	return 0;
}

/* Check every argument of add before anything is made. */
static int
check_add(const struct center_ctx *ctx, const struct add_opts *o,
    char *area, char *key, uint64_t *quota, uint64_t *grace)
{
	char err[512], dir[PATH_MAX];
	struct stat st;
	int rc;

	if ((rc = center_area_locate(ctx, o->name, o->area, dir, sizeof(dir),
	    err, sizeof(err))) != 0 || !center_name_ok(o->name)) {
		fprintf(stderr, "beemo-center add: %s\n", rc ? err :
		    "bad area name (1 to 64 characters of a-z, 0-9 and '-')");
		return -EINVAL;
	}
	if ((rc = absolute_area(dir, area, PATH_MAX)) != 0 || !path_ok(area)) {
		fprintf(stderr, "beemo-center add: %s: %s\n", dir, rc ?
		    beemo_strerror(rc) : "characters other than letters, "
		    "digits and /._+@:,- cannot be in a forced command");
		return -EINVAL;
	}
	if (lstat(area, &st) == 0) {
		fprintf(stderr, "beemo-center add: %s exists already (an area "
		    "is never taken over; remove it first)\n", area);
		return -EEXIST;
	}
	if ((o->quota && bm_parse_size(o->quota, quota) != 0) ||
	    (o->grace && bm_parse_duration(o->grace, grace) != 0)) {
		fprintf(stderr, "beemo-center add: bad %s\n", o->grace &&
		    bm_parse_duration(o->grace, grace) ? "--grace DURATION "
		    "(90s, 45m, 3h, 30d)" : "--quota SIZE (500G, 2T)");
		return -EINVAL;
	}
	if (o->mail_to && strpbrk(o->mail_to, "\r\n")) {
		fprintf(stderr, "beemo-center add: bad --mail-to\n");
		return -EINVAL;
	}
	if ((rc = read_pubkey(o->key, key, KEYFILE_MAX, err, sizeof(err)))) {
		fprintf(stderr, "beemo-center add: %s\n", err);
		return rc;
	}
	if (o->user && !getpwnam(o->user)) {
		fprintf(stderr, "beemo-center add: no account %s (create it, "
		    "or use --create-user)\n", o->user);
		return -ENOENT;
	}
	return 0;
}

int
center_cmd_add(struct center_ctx *ctx, int argc, char **argv)
{
	static const char *const owned[] = {
		"", "data", "state", "area.conf", "state/usage",
		"state/journal",
	};
	char area[PATH_MAX], self[PATH_MAX], conf[PATH_MAX], akeys[PATH_MAX];
	char user[80], err[512], *key = NULL, *line = NULL;
	struct center_area a;
	struct add_opts o;
	struct passwd *pw;
	uint64_t quota = 0, grace = 0;
	ssize_t n;
	size_t i;
	int rc, made = 0, ret = CENTER_EXIT_FAIL;

	if ((rc = parse_add(argc, argv, &o)) != 0)
		return rc > 0 ? CENTER_EXIT_OK : CENTER_EXIT_USAGE;
	if (!(key = malloc(KEYFILE_MAX)))
		return CENTER_EXIT_FAIL;
	memset(&a, 0, sizeof(a));
	if ((rc = check_add(ctx, &o, area, key, &quota, &grace)) != 0) {
		ret = rc == -EINVAL ? CENTER_EXIT_USAGE : CENTER_EXIT_FAIL;
		goto out;
	}
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) < 0) {
		fprintf(stderr, "beemo-center add: cannot find this program "
		    "(/proc/self/exe): %s\n", strerror(errno));
		goto out;
	}
	self[n] = '\0';
	if (!path_ok(self)) {
		fprintf(stderr, "beemo-center add: %s cannot be in a forced "
		    "command\n", self);
		goto out;
	}
	snprintf(user, sizeof(user), "%s%s", o.user ? "" : "beemo-",
	    o.user ? o.user : o.name);
	if (o.create_user && (rc = create_user(user, area, err,
	    sizeof(err))) != 0) {
		fprintf(stderr, "beemo-center add: %s\n", err);
		goto out;
	}
	if (!(pw = getpwnam(user))) {
		fprintf(stderr, "beemo-center add: no account %s\n", user);
		goto out;
	}
	if ((rc = make_dir(area, "")) != 0) {
		fprintf(stderr, "beemo-center add: mkdir %s: %s\n", area,
		    beemo_strerror(rc));
		goto out;
	}
	made = 1;
	if ((rc = make_dir(area, "data")) != 0 ||
	    (rc = make_dir(area, "state")) != 0 ||
	    (rc = bm_path(conf, sizeof(conf), "%s/area.conf", area)) != 0 ||
	    (rc = bm_path(akeys, sizeof(akeys), "%s/.ssh/authorized_keys",
	    pw->pw_dir)) != 0) {
		fprintf(stderr, "beemo-center add: %s: %s\n", area,
		    beemo_strerror(rc));
		goto out;
	}
	if ((rc = write_area_conf(&o, conf, grace)) != 0 ||
	    (rc = center_area_open(ctx, area, &a, err, sizeof(err))) != 0 ||
	    (rc = center_usage_get(&a, NULL)) != 0 ||
	    (rc = center_journal(&a, "area created for appliance %s, "
	    "account %s", o.name, user)) != 0) {
		fprintf(stderr, "beemo-center add: %s: %s\n", area,
		    beemo_strerror(rc));
		goto out;
	}
	for (i = 0; i < sizeof(owned) / sizeof(owned[0]); i++)
		if ((rc = give(area, owned[i], pw)) != 0) {
			fprintf(stderr, "beemo-center add: chown %s: %s\n",
			    area, beemo_strerror(rc));
			goto out;
		}
	if (asprintf(&line, "command=\"%s serve --area %s\",restrict %s "
	    "beemo-center:%s", self, area, key, o.name) < 0)
		goto out;
	if ((rc = append_key(o.authkeys ? o.authkeys : akeys, pw, line,
	    !o.authkeys)) != 0) {
		fprintf(stderr, "beemo-center add: %s: %s\n", o.authkeys ?
		    o.authkeys : akeys, beemo_strerror(rc));
		goto out;
	}
	made = 0;
	if (!ctx->quiet)
		printf("area %s created at %s for account %s; its key may "
		    "only run beemo-center serve (%s)\n", o.name, area, user,
		    o.authkeys ? o.authkeys : akeys);
	ret = CENTER_EXIT_OK;
out:
	if (made)
		undo_area(area);
	center_area_close(&a);
	OPENSSL_cleanse(key, KEYFILE_MAX);
	free(key);
	free(line);
	return ret;
}
