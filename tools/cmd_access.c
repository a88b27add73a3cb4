/*
 * cmd_access.c -- `beemoctl machine access`: the confined SSH account of
 * a client machine (ctl_access.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bm_bytes.h"
#include "bm_err.h"
#include "bm_file.h"
#include "bm_json.h"
#include "ctl_access.h"

#ifndef BEEMO_SESSION_PATH
#error "BEEMO_SESSION_PATH must be defined by the build (tools/meson.build)"
#endif
#ifndef BEEMO_EXAMPLES_DIR
#error "BEEMO_EXAMPLES_DIR must be defined by the build (tools/meson.build)"
#endif

#define ACCESS_GROUP "beemo-clients"
#define ACCESS_PREFIX "beemo-"
/* useradd(8) refuses longer names. */
#define ACCESS_NAME_MAX 32
/* A public key line: RSA 16384 is under 3 KiB; comments are short. */
#define ACCESS_KEY_MAX 16384
#define ACCESS_RSA_MIN 2048

const char ctl_access_usage[] =
    "NAME [--ssh-key FILE.pub | --revoke [--yes]]\n"
    "       [--dry-run] [--json]\n"
    "\n"
    "The SSH account through which client machine NAME opens its own\n"
    "backup sessions (beemo-backup(1)): beemo-NAME, in group "
    ACCESS_GROUP ",\n"
    "home /, no password, its one key confined to the forced command\n"
    BEEMO_SESSION_PATH ".  Without an option, show it.\n"
    "\n"
    "  --ssh-key FILE.pub  create the account if missing and install the\n"
    "                      client's public key (one line, ed25519, ecdsa\n"
    "                      or RSA of 2048 bits or more, as ssh-keygen\n"
    "                      writes it), replacing the previous key\n"
    "  --revoke            remove the machine's key: it can no longer\n"
    "                      open a session (asks on a terminal)\n"
    "  --yes               confirm --revoke without asking\n"
    "  --dry-run           say what would be done, do nothing\n"
    "  --json              one JSON object \"beemo-machine-access\"\n"
    "                      (beemoctl(8))\n"
    "  --help              this help\n"
    "\n"
    "The keys are kept in $BEEMO_CLIENTS_DIR, by default\n"
    BEEMO_SYSCONFDIR "/beemo/clients.\n";

/* The facts that the text and the JSON output report. */
struct access {
	const char *machine;
	char account[ACCESS_NAME_MAX + 1];
	char keys_file[4096];
	const char *clients_dir;
	const char *action; /* "show", "grant", "revoke" */
	int dry_run;
	int account_exists, account_created, group_created;
	int account_foreign; /* an account of that name outside the group */
	uid_t uid;
	int has_key;        /* a key is (or, dry run, would be) installed */
	int key_removed;    /* --revoke removed (would remove) a key */
	char type[32];      /* "ED25519", as ssh-keygen shows it */
	unsigned bits;
	char fingerprint[128];
	char comment[512];
};

/* The machine's own options, taken out of argv before ctl_parse(). */
struct access_args {
	const char *ssh_key;
	int revoke;
};

/*
 * Take --ssh-key FILE (or --ssh-key=FILE) and --revoke out of @argv,
 * the others left in place for ctl_parse() (*@argc updated).  Returns -1
 * to go on, else an exit status.
 */
static int
own_options(const struct ctl *ctl, int *argc, char **argv,
    struct access_args *a)
{
	int i, k = 1;

	memset(a, 0, sizeof(*a));
	for (i = 1; i < *argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			while (i < *argc)
				argv[k++] = argv[i++];
			break;
		}
		if (strcmp(argv[i], "--revoke") == 0) {
			a->revoke = 1;
			continue;
		}
		if (strncmp(argv[i], "--ssh-key=", 10) == 0) {
			a->ssh_key = argv[i] + 10;
			continue;
		}
		if (strcmp(argv[i], "--ssh-key") == 0) {
			if (i + 1 == *argc) {
				ctl_err(ctl, "--ssh-key needs a file");
				ctl_usage(ctl, ctl_access_usage, 1);
				return CTL_USAGE;
			}
			a->ssh_key = argv[++i];
			continue;
		}
		argv[k++] = argv[i];
	}
	argv[k] = NULL;
	*argc = k;
	return -1;
}

/*
 * Run @argv (a program found in PATH) with @input (may be NULL) on its
 * standard input; its standard output and error go to @out (always
 * NUL-terminated, truncated to @outlen - 1 bytes, trailing newlines
 * removed).  Returns the exit status, 127 when it could not run, or -1
 * when it was killed or could not be waited for.
 */
static int
run(char *const argv[], const char *input, char *out, size_t outlen)
{
	int in[2] = {-1, -1}, res[2] = {-1, -1}, status = -1;
	size_t got = 0, len = input != NULL ? strlen(input) : 0;
	ssize_t n;
	pid_t pid;

	out[0] = '\0';
	if (pipe2(in, O_CLOEXEC) != 0 || pipe2(res, O_CLOEXEC) != 0) {
		snprintf(out, outlen, "pipe: %s", strerror(errno));
		goto close_pipes;
	}
	/* The input (a key line) is written before the program starts: the
	 * pipe's buffer holds it whole, and a program that exits without
	 * reading it cannot kill us with SIGPIPE. */
	if (len > 0 && (write(in[1], input, len) != (ssize_t)len)) {
		snprintf(out, outlen, "pipe: %s", strerror(errno));
		goto close_pipes;
	}
	close(in[1]);
	in[1] = -1;
	if ((pid = fork()) < 0) {
		snprintf(out, outlen, "fork: %s", strerror(errno));
		goto close_pipes;
	}
	if (pid == 0) {
		if (dup2(in[0], 0) < 0 || dup2(res[1], 1) < 0 ||
		    dup2(res[1], 2) < 0)
			_exit(127);
		execvp(argv[0], argv);
		dprintf(1, "%s: %s", argv[0], strerror(errno));
		_exit(127);
	}
	close(res[1]);
	res[1] = -1;
	while (got + 1 < outlen &&
	    (n = read(res[0], out + got, outlen - 1 - got)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		got += (size_t)n;
	}
	out[got] = '\0';
	while (got > 0 && out[got - 1] == '\n')
		out[--got] = '\0';
	/* Unread output: closing our end lets the program end. */
	close(res[0]);
	res[0] = -1;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
close_pipes:
	if (in[0] >= 0)
		close(in[0]);
	if (in[1] >= 0)
		close(in[1]);
	if (res[0] >= 0)
		close(res[0]);
	if (res[1] >= 0)
		close(res[1]);
	return status;
}

/*
 * Parse the output of `ssh-keygen -l` ("256 SHA256:... comment (ED25519)")
 * into @a.  Returns 0, or -EINVAL when it does not have that shape.
 */
static int
parse_fingerprint(const char *line, struct access *a)
{
	const char *fp, *rest, *ty, *end;
	char *stop;
	unsigned long bits;
	size_t clen;

	errno = 0;
	bits = strtoul(line, &stop, 10);
	if (errno != 0 || stop == line || *stop != ' ' || bits > 65536)
		return -EINVAL;
	fp = stop + 1;
	if ((rest = strchr(fp, ' ')) == NULL || (size_t)(rest - fp) >=
	    sizeof(a->fingerprint))
		return -EINVAL;
	rest++;
	if ((ty = strrchr(rest, '(')) == NULL || (end = strchr(ty, ')')) ==
	    NULL || end[1] != '\0' || (size_t)(end - ty - 1) >=
	    sizeof(a->type))
		return -EINVAL;
	a->bits = (unsigned)bits;
	memcpy(a->fingerprint, fp, (size_t)(rest - 1 - fp));
	a->fingerprint[rest - 1 - fp] = '\0';
	memcpy(a->type, ty + 1, (size_t)(end - ty - 1));
	a->type[end - ty - 1] = '\0';
	/* The comment: between the fingerprint and " (TYPE)". */
	clen = ty > rest ? (size_t)(ty - rest - 1) : 0;
	if (clen >= sizeof(a->comment))
		clen = sizeof(a->comment) - 1;
	memcpy(a->comment, rest, clen);
	a->comment[clen] = '\0';
	if (strcmp(a->comment, "no comment") == 0)
		a->comment[0] = '\0';
	return 0;
}

/*
 * Read the public key of @path into @line ("TYPE BASE64 [COMMENT]", no
 * newline) and its fingerprint into @a.  The file must hold exactly one
 * line: an OpenSSH public key of an accepted type, first on its line (so
 * without options), printable ASCII only; ssh-keygen must read it.
 * Returns 0; CTL_USAGE after a message for a refused key; CTL_FAIL after
 * a message when the file or ssh-keygen cannot be read or run.
 */
static int
read_key(const struct ctl *ctl, const char *path, char *line,
    size_t linesize, struct access *a)
{
	static const char *const types[] = {
		"ssh-ed25519 ", "ecdsa-sha2-nistp256 ", "ecdsa-sha2-nistp384 ",
		"ecdsa-sha2-nistp521 ", "ssh-rsa ",
	};
	char *argv[] = {"ssh-keygen", "-l", "-f", "-", NULL};
	char out[1024];
	uint8_t *buf = NULL;
	size_t len, i;
	int rc;

	if ((rc = bm_read_file(path, ACCESS_KEY_MAX, &buf, &len)) != 0) {
		ctl_err(ctl, "%s: %s", path, rc == -EFBIG ? "too large for "
		    "a public key" : beemo_strerror(rc));
		return rc == -EFBIG ? CTL_USAGE : CTL_FAIL;
	}
	rc = CTL_USAGE;
	if (strstr((char *)buf, "PRIVATE KEY") != NULL) {
		ctl_err(ctl, "%s is a private key: give the client's public "
		    "key (FILE.pub); the private key never leaves the client",
		    path);
		goto out;
	}
	/* One line: a trailing newline (CRLF from Windows too), nothing
	 * after it. */
	if (len > 0 && buf[len - 1] == '\n')
		buf[--len] = '\0';
	if (len > 0 && buf[len - 1] == '\r')
		buf[--len] = '\0';
	for (i = 0; i < len; i++)
		if (buf[i] < 0x20 || buf[i] > 0x7e)
			break;
	if (len == 0 || i < len) {
		ctl_err(ctl, "%s: %s", path, len == 0 ? "empty file" :
		    buf[i] == '\n' ? "more than one line: give one public "
		    "key, as ssh-keygen writes it to FILE.pub" :
		    "a character that no public key has (a control "
		    "character or a non-ASCII byte)");
		goto out;
	}
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strncmp((char *)buf, types[i], strlen(types[i])) == 0)
			break;
	if (i == sizeof(types) / sizeof(types[0])) {
		ctl_err(ctl, "%s is not an OpenSSH public key of type "
		    "ssh-ed25519, ecdsa-sha2-nistp* or ssh-rsa, first on its "
		    "line (no options: the appliance sets them)", path);
		goto out;
	}
	if (len + 1 > linesize) {
		ctl_err(ctl, "%s: key line too long", path);
		goto out;
	}
	memcpy(line, buf, len + 1);
	/* ssh-keygen decodes the key: a damaged one is refused here. */
	if ((rc = run(argv, line, out, sizeof(out))) != 0 ||
	    parse_fingerprint(out, a) != 0) {
		if (rc == 127 || rc < 0)
			ctl_err(ctl, "cannot run ssh-keygen (Debian package "
			    "openssh-client): %s", out);
		else
			ctl_err(ctl, "%s: ssh-keygen does not read it as a "
			    "public key: %s", path, out);
		rc = rc == 127 || rc < 0 ? CTL_FAIL : CTL_USAGE;
		goto out;
	}
	if (strcmp(a->type, "RSA") == 0 && a->bits < ACCESS_RSA_MIN) {
		ctl_err(ctl, "%s: an RSA key of %u bits is too weak (at "
		    "least %u; ssh-keygen -t ed25519 makes a better one)",
		    path, a->bits, ACCESS_RSA_MIN);
		rc = CTL_USAGE;
		goto out;
	}
	rc = 0;
out:
	free(buf);
	return rc;
}

/* The fingerprint of the key installed in a->keys_file, if any, into @a
 * (a->has_key).  A file that ssh-keygen cannot read is reported. */
static void
installed_key(const struct ctl *ctl, struct access *a)
{
	char *argv[] = {"ssh-keygen", "-l", "-f", a->keys_file, NULL};
	char out[1024];

	if (access(a->keys_file, F_OK) != 0)
		return;
	if (run(argv, NULL, out, sizeof(out)) != 0 ||
	    parse_fingerprint(out, a) != 0) {
		ctl_err(ctl, "warning: %s: ssh-keygen cannot read it: %s",
		    a->keys_file, out);
		return;
	}
	a->has_key = 1;
}

/*
 * Make sure the account exists, in group beemo-clients: groupadd and
 * useradd when missing (a->group_created, a->account_created).  An
 * account of that name outside the group is someone else's: refused.
 * Returns 0 or CTL_FAIL after a message.
 */
static int
ensure_account(const struct ctl *ctl, struct access *a)
{
	char *groupadd[] = {"groupadd", "--system", ACCESS_GROUP, NULL};
	char comment[128];
	/* Password "*": no password opens it, yet it is not locked ("!"),
	 * which sshd refuses even for a key when it runs without PAM. */
	char *useradd[] = {"useradd", "--system", "--no-create-home",
		"--home-dir", "/", "--shell", "/bin/sh", "--gid",
		ACCESS_GROUP, "--password", "*", "--comment", comment,
		a->account, NULL};
	char out[1024];
	struct passwd *pw;
	struct group *gr;

	snprintf(comment, sizeof(comment), "Beemo client machine %s",
	    a->machine);
	if ((gr = getgrnam(ACCESS_GROUP)) == NULL) {
		/* A failure is fine if another run added it meanwhile. */
		if (run(groupadd, NULL, out, sizeof(out)) == 0)
			a->group_created = 1;
		if ((gr = getgrnam(ACCESS_GROUP)) == NULL) {
			ctl_err(ctl, "groupadd %s failed: %s", ACCESS_GROUP,
			    out);
			return CTL_FAIL;
		}
	}
	if ((pw = getpwnam(a->account)) == NULL) {
		if (run(useradd, NULL, out, sizeof(out)) != 0) {
			ctl_err(ctl, "useradd %s failed: %s", a->account, out);
			return CTL_FAIL;
		}
		a->account_created = 1;
		if ((pw = getpwnam(a->account)) == NULL) {
			ctl_err(ctl, "account %s was added but cannot be "
			    "found", a->account);
			return CTL_FAIL;
		}
	}
	if (pw->pw_gid != gr->gr_gid) {
		ctl_err(ctl, "an account %s exists whose group is not %s: it "
		    "is not a Beemo client account, nothing was changed",
		    a->account, ACCESS_GROUP);
		return CTL_FAIL;
	}
	a->account_exists = 1;
	a->uid = pw->pw_uid;
	return 0;
}

/* Install @line as the one key of the account, confined to the forced
 * command.  Returns 0 or CTL_FAIL after a message. */
static int
write_key(const struct ctl *ctl, const struct access *a, const char *line)
{
	char *text = NULL;
	int rc, n;

	/* sshd reads the key as the account (StrictModes: root's, not
	 * writable by others): the directory and the file must be readable
	 * by it whatever root's umask was. */
	if ((rc = bm_mkdir_p(a->clients_dir, 0755)) != 0 ||
	    (rc = chmod(a->clients_dir, 0755) != 0 ? -errno : 0) != 0) {
		ctl_err(ctl, "%s: %s", a->clients_dir, beemo_strerror(rc));
		return CTL_FAIL;
	}
	/* "restrict" turns off forwarding, the pty and ~/.ssh/rc; the
	 * drop-in forces the same command for the whole group. */
	n = asprintf(&text, "restrict,command=\"%s\" %s\n",
	    BEEMO_SESSION_PATH, line);
	if (n < 0) {
		ctl_err(ctl, "out of memory");
		return CTL_FAIL;
	}
	rc = bm_write_file_atomic(a->keys_file, text, (size_t)n, 0644, 0);
	free(text);
	if (rc == 0 && chmod(a->keys_file, 0644) != 0)
		rc = -errno;
	if (rc != 0) {
		ctl_err(ctl, "%s: %s", a->keys_file, beemo_strerror(rc));
		return CTL_FAIL;
	}
	return 0;
}

static void
print_json(const struct access *a)
{
	bm_json j;

	bm_json_init(&j, stdout);
	bm_json_head(&j, "beemo-machine-access", 1);
	bm_json_str(&j, "machine", a->machine);
	bm_json_str(&j, "action", a->action);
	bm_json_bool(&j, "dry_run", a->dry_run);
	bm_json_str(&j, "account", a->account);
	bm_json_str(&j, "group", ACCESS_GROUP);
	bm_json_bool(&j, "account_exists", a->account_exists);
	if (a->account_exists)
		bm_json_u64(&j, "uid", a->uid);
	else
		bm_json_null(&j, "uid");
	bm_json_bool(&j, "account_created", a->account_created);
	bm_json_bool(&j, "group_created", a->group_created);
	bm_json_str(&j, "keys_file", a->keys_file);
	bm_json_str(&j, "command", BEEMO_SESSION_PATH);
	if (a->has_key) {
		bm_json_begin_obj(&j, "key");
		bm_json_str(&j, "type", a->type);
		bm_json_u64(&j, "bits", a->bits);
		bm_json_str(&j, "fingerprint", a->fingerprint);
		bm_json_str(&j, "comment", a->comment);
		bm_json_end_obj(&j);
	} else {
		bm_json_null(&j, "key");
	}
	bm_json_end_obj(&j);
}

static void
print_text(const struct ctl *ctl, const struct access *a)
{
	const char *would = a->dry_run ? "dry run: would " : "";

	if (strcmp(a->action, "revoke") == 0) {
		if (ctl->quiet)
			return;
		if (a->key_removed)
			printf("%s the key of machine %s (%s): it can no "
			    "longer open a backup session\n(the account %s "
			    "stays, without a key; 'userdel %s' removes "
			    "it)\n", a->dry_run ? "dry run: would remove" :
			    "removed", a->machine, a->keys_file, a->account,
			    a->account);
		else
			printf("machine %s has no key in %s: nothing to "
			    "revoke\n", a->machine, a->keys_file);
		return;
	}
	if (strcmp(a->action, "grant") == 0) {
		if (ctl->quiet)
			return;
		if (a->group_created)
			printf("created group %s\n", ACCESS_GROUP);
		if (a->account_created)
			printf("%s%s account %s (group %s)\n", would,
			    a->dry_run ? "create" : "created", a->account,
			    ACCESS_GROUP);
		printf("%s%s key %s %s (%s) in %s, confined to %s\n", would,
		    a->dry_run ? "install" : "installed", a->type,
		    a->fingerprint, a->comment[0] ? a->comment : "no comment",
		    a->keys_file, BEEMO_SESSION_PATH);
		printf("\nNext, once per appliance (beemoctl(8), \"machine "
		    "access\"):\n"
		    "  cp " BEEMO_EXAMPLES_DIR "/beemo-sessions-sshd.conf "
		    "\\\n"
		    "     /etc/ssh/sshd_config.d/beemo-sessions.conf && "
		    "sshd -t && systemctl reload ssh\n"
		    "  systemctl enable --now beemo-sessiond\n"
		    "On the client, with its POSTE key file (never kept on "
		    "the appliance):\n"
		    "  beemo-backup --appliance %s --machine %s "
		    "--key %s.poste /home /etc\n", "APPLIANCE", a->machine,
		    a->machine);
		return;
	}
	printf("machine:   %s\n", a->machine);
	if (a->account_exists)
		printf("account:   %s (uid %lu, group %s)\n", a->account,
		    (unsigned long)a->uid, ACCESS_GROUP);
	else if (a->account_foreign)
		printf("account:   %s exists outside group %s: not a Beemo "
		    "client account\n", a->account, ACCESS_GROUP);
	else
		printf("account:   %s (none yet: 'beemoctl machine access %s "
		    "--ssh-key FILE.pub' creates it)\n", a->account,
		    a->machine);
	printf("keys file: %s\n", a->keys_file);
	if (a->has_key)
		printf("key:       %s %s (%s)\n", a->type, a->fingerprint,
		    a->comment[0] ? a->comment : "no comment");
	else
		printf("key:       none (the machine cannot open a backup "
		    "session)\n");
	printf("command:   %s\n", BEEMO_SESSION_PATH);
}

void
ctl_access_hint(const char *machine, const char *poste_key)
{
	printf("\nThe POSTE key file belongs on the client machine only:\n"
	    "  1. copy it to the client (e.g. to /etc/beemo/%s.poste, mode "
	    "0600, root's),\n"
	    "  2. erase it here:  shred -u %s\n"
	    "  3. let the client log in with its SSH public key (made there "
	    "by ssh-keygen):\n"
	    "       beemoctl machine access %s --ssh-key %s.pub\n"
	    "  4. on the client:\n"
	    "       beemo-backup --appliance APPLIANCE --machine %s "
	    "--key /etc/beemo/%s.poste /home /etc\n",
	    machine, poste_key, machine, machine, machine, machine);
}

/* The clients' key directory: $BEEMO_CLIENTS_DIR, or the default. */
static const char *
clients_dir(void)
{
	const char *dir = getenv("BEEMO_CLIENTS_DIR");

	return dir != NULL && dir[0] != '\0' ? dir :
	    BEEMO_SYSCONFDIR "/beemo/clients";
}

void
ctl_access_note_removed(const char *machine)
{
	char path[4096];

	if (bm_path(path, sizeof(path), "%s/" ACCESS_PREFIX "%s.keys",
	    clients_dir(), machine) != 0 || access(path, F_OK) != 0)
		return;
	printf("its SSH key stays, opening nothing while the machine is "
	    "removed;\n'beemoctl machine access %s --revoke' removes it\n",
	    machine);
}

/* --revoke: remove the keys file after the confirmation. */
static int
revoke_key(struct ctl *ctl, struct access *a, int yes)
{
	int rc;

	a->key_removed = a->has_key || access(a->keys_file, F_OK) == 0;
	if (!a->key_removed || a->dry_run)
		return 0;
	if ((rc = ctl_confirm(ctl, yes, NULL, "Machine %s will no longer be "
	    "able to open a backup session.", a->machine)) != 0)
		return rc;
	if (unlink(a->keys_file) != 0 && errno != ENOENT) {
		ctl_err(ctl, "%s: %s", a->keys_file, strerror(errno));
		return CTL_FAIL;
	}
	(void)bm_fsync_dir(a->clients_dir);
	return 0;
}

int
ctl_machine_access(struct ctl *ctl, int argc, char **argv)
{
	struct keymgr_machine_info info;
	struct access_args args;
	struct access a;
	struct ctl_opts o;
	struct passwd *pw;
	char line[ACCESS_KEY_MAX];
	keymgr *km = NULL;
	int rc;

	if ((rc = own_options(ctl, &argc, argv, &args)) >= 0)
		return rc;
	if ((rc = ctl_parse(ctl, argc, argv, CTL_O_JSON | CTL_O_YES |
	    CTL_O_DRY_RUN, 1, 1, ctl_access_usage, &o)) >= 0)
		return rc;
	if (args.ssh_key != NULL && args.revoke) {
		ctl_err(ctl, "--ssh-key and --revoke exclude each other");
		return CTL_USAGE;
	}
	memset(&a, 0, sizeof(a));
	a.machine = o.args[0];
	a.dry_run = o.dry_run;
	a.action = args.ssh_key ? "grant" : args.revoke ? "revoke" : "show";
	if (!bm_valid_name(a.machine)) {
		ctl_err(ctl, "'%s' is not a valid machine name", a.machine);
		return CTL_USAGE;
	}
	if (bm_path(a.account, sizeof(a.account), ACCESS_PREFIX "%s",
	    a.machine) != 0) {
		ctl_err(ctl, "machine name %s is too long for an account "
		    "name (%s plus at most %d characters)", a.machine,
		    ACCESS_PREFIX, ACCESS_NAME_MAX -
		    (int)strlen(ACCESS_PREFIX));
		return CTL_USAGE;
	}
	a.clients_dir = clients_dir();
	if (bm_path(a.keys_file, sizeof(a.keys_file), "%s/%s.keys",
	    a.clients_dir, a.account) != 0) {
		ctl_err(ctl, "%s: path too long", a.clients_dir);
		return CTL_USAGE;
	}
	if (args.ssh_key != NULL &&
	    (rc = read_key(ctl, args.ssh_key, line, sizeof(line), &a)) != 0)
		return rc;
	if (ctl_keymgr(ctl, &km) != 0)
		return CTL_FAIL;
	rc = CTL_FAIL;
	/* A removed machine's key may still be revoked. */
	if (!args.revoke && keymgr_machine_info(km, a.machine, &info, NULL,
	    NULL) != 0) {
		rc = ctl_km_fail(ctl, km);
		goto out;
	}
	if ((pw = getpwnam(a.account)) != NULL) {
		struct group *gr = getgrnam(ACCESS_GROUP);

		a.account_exists = gr != NULL && pw->pw_gid == gr->gr_gid;
		a.account_foreign = !a.account_exists;
		a.uid = pw->pw_uid;
	}
	if (args.ssh_key != NULL && a.account_foreign) {
		ctl_err(ctl, "an account %s exists whose group is not %s: it "
		    "is not a Beemo client account, nothing was changed",
		    a.account, ACCESS_GROUP);
		goto out;
	}
	if (args.ssh_key != NULL) {
		if (a.dry_run) {
			a.account_created = !a.account_exists;
			a.has_key = 1;
		} else {
			if ((rc = ensure_account(ctl, &a)) != 0 ||
			    (rc = write_key(ctl, &a, line)) != 0)
				goto out;
			a.has_key = 1;
			ctl_alog(ctl, km, "machine", "admin", "machine %s: "
			    "SSH key %s %s installed for backup sessions "
			    "(account %s%s)", a.machine, a.type,
			    a.fingerprint, a.account, a.account_created ?
			    ", created" : "");
		}
	} else {
		installed_key(ctl, &a);
		if (args.revoke) {
			if ((rc = revoke_key(ctl, &a, o.yes)) != 0)
				goto out;
			if (a.key_removed && !a.dry_run)
				ctl_alog(ctl, km, "machine", "admin",
				    "machine %s: SSH key %s revoked", a.machine,
				    a.has_key ? a.fingerprint : "(unreadable)");
			a.has_key = a.dry_run && a.has_key;
		}
	}
	if (o.json)
		print_json(&a);
	else
		print_text(ctl, &a);
	rc = CTL_OK;
out:
	keymgr_free(km);
	return rc;
}
