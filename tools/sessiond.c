/*
 * sessiond.c -- beemo-sessiond, the appliance's daemon that opens the
 * backup sessions of client machines (beemo-sessiond(8)).
 *
 * A client (beemo-backup) logs in over SSH as its machine's account
 * "beemo-MACHINE", whose forced command beemo-session hands the SSH
 * channel to this daemon (session.h).  The daemon runs as root, knows
 * the machine from the account (SO_PEERCRED), and serves one request per
 * connection in a child process:
 *
 *   open       the client sends its POSTE key file; the daemon mounts
 *              the machine's backup session (beemofs -o keyfd=) under
 *              RUNDIR/MACHINE/mnt with the key on a socket, never on
 *              disk; the session stays open until the client says END
 *              (snapshot "end of backup session") or its channel closes
 *              (snapshot noted incomplete); the client gets the
 *              session's summary.
 *   rsync      rsync's daemon on the channel, chrooted into the open
 *              session's tree (module "session").
 *   snapshots  the machine's snapshots, opened with the key file the
 *              client sends (kept in a memfd, never on disk).
 *   restore    a pax tar stream of a path of a snapshot, opened with the
 *              password of one of the machine's users.
 *
 * One session per machine: RUNDIR/MACHINE.lock is held (flock) by the
 * child serving "open" for as long as the session lives; a second one
 * is told the machine is busy.  The channel protocol is in
 * beemo-sessiond(8).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <poll.h>
#include <sched.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bm_bytes.h"
#include "bm_exit.h"
#include "bm_fdio.h"
#include "bm_file.h"
#include "bm_log.h"
#include "bm_nodump.h"
#include "session.h"

#define KEY_MAX (64u * 1024)   /* bytes of a POSTE key file */
#define PASS_MAX 4096          /* bytes of a user's password */
#define LINE_MAX_ 4096         /* a request line of the client */
#define ERRTEXT_MAX 2048       /* what a child says on stderr */
#define CLIENT_MS 60000        /* the client's request, at most */
#define ENDING_WAIT_S 120      /* for the previous session to end */

struct daemon_opts {
	const char *store, *config, *socket, *rundir;
	const char *beemofs, *beemoctl, *rsync;
};

/* One request: the machine, the channel. */
struct req {
	const struct daemon_opts *o;
	char machine[64];
	char dir[PATH_MAX];      /* RUNDIR/MACHINE */
	char mnt[PATH_MAX];      /* RUNDIR/MACHINE/mnt */
	int in, out, err;        /* the SSH channel */
};

/* ---- the channel ----------------------------------------------------- */

/* "ERR STATUS MESSAGE" to the client; returns @status. */
static int
refuse(const struct req *r, int status, const char *fmt, ...)
{
	char msg[1024], line[1100];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	msg[strcspn(msg, "\n")] = '\0';
	snprintf(line, sizeof(line), "ERR %d %s\n", status, msg);
	(void)bm_write_all(r->out, line, strlen(line));
	bm_log(LOG_NOTICE, "%s: refused: %s", r->machine, msg);
	return status;
}

/* "KEY LEN\n" and LEN bytes, into a secure buffer @key of @len. */
static int
read_key(const struct req *r, uint8_t **key, size_t *len)
{
	char line[64], *end;
	unsigned long n;
	int rc;

	*key = NULL;
	*len = 0;
	if ((rc = bm_read_line(r->in, line, sizeof(line), CLIENT_MS)) != 0)
		return refuse(r, BM_EXIT_USAGE, "no key file came: %s",
		    strerror(-rc));
	if (strncmp(line, "KEY ", 4) != 0)
		return refuse(r, BM_EXIT_USAGE, "the request must start with "
		    "KEY (see beemo-sessiond(8))");
	errno = 0;
	n = strtoul(line + 4, &end, 10);
	if (errno != 0 || end == line + 4 || *end != '\0' || n == 0 ||
	    n > KEY_MAX)
		return refuse(r, BM_EXIT_USAGE, "this is not a POSTE key file "
		    "(size)");
	if ((*key = OPENSSL_secure_malloc(n)) == NULL)
		return refuse(r, BM_EXIT_FAIL, "out of memory");
	if ((rc = bm_read_full(r->in, *key, n, CLIENT_MS)) != 0) {
		OPENSSL_secure_clear_free(*key, n);
		*key = NULL;
		return refuse(r, BM_EXIT_USAGE, "the key file was cut short: "
		    "%s", strerror(-rc));
	}
	*len = n;
	return 0;
}

/* Read @fd to its end into @buf (NUL-terminated, the rest dropped). */
static void
slurp(int fd, char *buf, size_t size)
{
	size_t n = 0;
	ssize_t k;
	char sink[512];

	for (;;) {
		if (n + 1 < size)
			k = read(fd, buf + n, size - 1 - n);
		else
			k = read(fd, sink, sizeof(sink));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		if (n + 1 < size)
			n += (size_t)k;
	}
	buf[n] = '\0';
}

/* The last non-empty line of @text, without its program's prefix. */
static const char *
last_line(char *text)
{
	char *p, *nl;

	while ((nl = strrchr(text, '\n')) != NULL && nl[1] == '\0')
		*nl = '\0';
	p = (nl = strrchr(text, '\n')) != NULL ? nl + 1 : text;
	if (strncmp(p, "beemofs: ", 9) == 0)
		p += 9;
	else if (strncmp(p, "beemoctl: ", 10) == 0)
		p += 10;
	/* The key file the client sent is no path of the appliance. */
	if ((nl = strstr(p, "/proc/self/fd/")) != NULL) {
		size_t skip = 14 + strspn(nl + 14, "0123456789");
		static const char say[] = "the key file";

		if (skip >= sizeof(say) - 1) {
			memcpy(nl, say, sizeof(say) - 1);
			memmove(nl + sizeof(say) - 1, nl + skip,
			    strlen(nl + skip) + 1);
		}
	}
	return p;
}

/* Exit status of child @pid. */
static int
wait_status(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return BM_EXIT_FAIL;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return BM_EXIT_FAIL;
}

/* In a child: stdin @in, stdout @out, stderr @err (-1: /dev/null),
 * every other descriptor but @keep closed, default signals. */
static void
child_fds(int in, int out, int err, int keep)
{
	int null = open("/dev/null", O_RDWR), fd;

	if (in < 0)
		in = null;
	if (out < 0)
		out = null;
	if (err < 0)
		err = null;
	/* Move them out of the way first: dup2 over one another. */
	in = fcntl(in, F_DUPFD, 10);
	out = fcntl(out, F_DUPFD, 10);
	err = fcntl(err, F_DUPFD, 10);
	dup2(in, 0);
	dup2(out, 1);
	dup2(err, 2);
	for (fd = 3; fd < 1024; fd++)
		if (fd != keep)
			close(fd);
	if (keep >= 0)
		fcntl(keep, F_SETFD, 0);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
}

/* ---- open ------------------------------------------------------------ */

/* Run beemofs for the session with the key on @kfd's peer; its stderr
 * in @err.  Returns beemofs's status (0: mounted). */
static int
mount_session(const struct req *r, int kfd, char *err, size_t errsize)
{
	char opt[PATH_MAX + 128];
	int ep[2];
	pid_t pid;
	int st;

	if (pipe2(ep, O_CLOEXEC) != 0)
		return BM_EXIT_FAIL;
	snprintf(opt, sizeof(opt), "machine=%s,keyfd=%d%s%s", r->machine,
	    kfd, r->o->config ? ",config=" : "",
	    r->o->config ? r->o->config : "");
	if ((pid = fork()) < 0) {
		close(ep[0]);
		close(ep[1]);
		return BM_EXIT_FAIL;
	}
	if (pid == 0) {
		child_fds(-1, -1, ep[1], kfd);
		execlp(r->o->beemofs, r->o->beemofs, r->o->store, r->mnt,
		    "-o", opt, (char *)NULL);
		fprintf(stderr, "beemofs: cannot run %s: %s\n", r->o->beemofs,
		    strerror(errno));
		_exit(BM_EXIT_FAIL);
	}
	close(ep[1]);
	st = wait_status(pid);
	/* beemofs's daemon keeps the pipe until it is mounted. */
	slurp(ep[0], err, errsize);
	close(ep[0]);
	return st;
}

/* Write RUNDIR/MACHINE/rsyncd.conf: one module, the session's tree. */
static int
write_rsyncd_conf(const struct req *r)
{
	char path[PATH_MAX], text[PATH_MAX + 512];
	int n;

	if (bm_path(path, sizeof(path), "%s/rsyncd.conf", r->dir) != 0)
		return -ENAMETOOLONG;
	n = snprintf(text, sizeof(text),
	    "# written by beemo-sessiond for one backup session\n"
	    "use chroot = yes\n"
	    "numeric ids = yes\n"
	    "uid = 0\n"
	    "gid = 0\n"
	    "read only = no\n"
	    "list = no\n"
	    "munge symlinks = no\n"
	    "reverse lookup = no\n"
	    "transfer logging = no\n"
	    "timeout = 600\n"
	    "refuse options = log-file log-file-format write-devices\n"
	    "[session]\n"
	    "path = %s\n", r->mnt);
	return bm_write_file_atomic(path, text, (size_t)n, 0600, 0);
}

/* The start time of process @pid (field 22 of /proc/PID/stat), 0 when
 * there is no such process. */
static unsigned long long
proc_start(long pid)
{
	char path[64], buf[1024], *p;
	unsigned long long start = 0;
	ssize_t n;
	int fd, i;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* The command name may hold spaces and parentheses. */
	if ((p = strrchr(buf, ')')) == NULL)
		return 0;
	for (i = 2; i < 22 && p != NULL; i++)
		p = strchr(p + 1, ' ');
	if (p != NULL)
		start = strtoull(p + 1, NULL, 10);
	return start;
}

/* Send @sig to the rsync daemons still serving the session (the
 * client's connection is gone), each a process group of its own, listed
 * in RUNDIR/MACHINE/rsync.pids with their start times.  An rsync that
 * ended long ago may have left its number to another process, which
 * its start time tells apart: that one is left alone (while the group
 * lives the kernel gives its number to no one else). */
static void
kill_rsyncs(const struct req *r, int sig)
{
	char path[PATH_MAX];
	unsigned long long start, now;
	long pid;
	FILE *f;

	if (bm_path(path, sizeof(path), "%s/rsync.pids", r->dir) != 0 ||
	    (f = fopen(path, "r")) == NULL)
		return;
	while (fscanf(f, "%ld %llu", &pid, &start) == 2) {
		now = proc_start(pid);
		if (pid > 1 && (now == 0 || now == start))
			kill(-(pid_t)pid, sig);
	}
	fclose(f);
}

/* Wait for the client's END (1) or the end of its channel (0); -1 when
 * the session ended under us (beemofs gone: @kfd closed). */
static int
wait_end(const struct req *r, int kfd)
{
	struct pollfd p[2] = {
		{.fd = r->in, .events = POLLIN},
		{.fd = kfd, .events = POLLIN},
	};
	char line[64];

	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return 0;
		}
		if (p[1].revents != 0)
			return -1;
		if (p[0].revents == 0)
			continue;
		if (bm_read_line(r->in, line, sizeof(line), CLIENT_MS) != 0)
			return 0;
		if (strcmp(line, "END") == 0)
			return 1;
		/* Anything else is a broken client: end as if lost. */
		return 0;
	}
}

/* The machine's lock @lock is held: when its session is only ending
 * (its snapshot taken, beemofs applying retention), wait for it, up to
 * ENDING_WAIT_S; 1 once the lock is ours, 0 if the session runs. */
static int
wait_ending(const struct req *r, int lock)
{
	char path[PATH_MAX];
	int i;

	if (bm_path(path, sizeof(path), "%s/ending", r->dir) != 0)
		return 0;
	for (i = 0; i < ENDING_WAIT_S * 10; i++) {
		if (access(path, F_OK) != 0)
			return flock(lock, LOCK_EX | LOCK_NB) == 0;
		usleep(100 * 1000);
		if (flock(lock, LOCK_EX | LOCK_NB) == 0)
			return 1;
	}
	return 0;
}

static int
op_open(struct req *r)
{
	char path[PATH_MAX], err[ERRTEXT_MAX], json[65536], pids[PATH_MAX];
	uint8_t *key = NULL;
	size_t keylen = 0;
	char ending[PATH_MAX];
	int lock = -1, kp[2] = {-1, -1}, st, ended, rc, fd;
	struct stat a, b;

	if (bm_path(path, sizeof(path), "%s.lock", r->dir) != 0 ||
	    bm_path(ending, sizeof(ending), "%s/ending", r->dir) != 0)
		return refuse(r, BM_EXIT_FAIL, "path too long");
	lock = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (lock < 0)
		return refuse(r, BM_EXIT_FAIL, "%s: %s", path, strerror(errno));
	if (flock(lock, LOCK_EX | LOCK_NB) != 0 && !wait_ending(r, lock)) {
		close(lock);
		return refuse(r, BM_EXIT_BUSY, "machine %s already has a "
		    "backup session running; try again when it has ended",
		    r->machine);
	}
	unlink(ending); /* left by a daemon that died */
	if ((rc = read_key(r, &key, &keylen)) != 0)
		goto out;
	if (bm_mkdir_p(r->mnt, 0700) != 0) {
		rc = refuse(r, BM_EXIT_FAIL, "%s: %s", r->mnt, strerror(errno));
		goto out;
	}
	/* A session left mounted by a daemon that died: detach it. */
	if (stat(r->mnt, &a) == 0 && stat(r->dir, &b) == 0 &&
	    a.st_dev != b.st_dev)
		umount2(r->mnt, MNT_DETACH);
	if (bm_path(pids, sizeof(pids), "%s/rsync.pids", r->dir) != 0 ||
	    (unlink(pids) != 0 && errno != ENOENT) ||
	    write_rsyncd_conf(r) != 0) {
		rc = refuse(r, BM_EXIT_FAIL, "cannot prepare %s", r->dir);
		goto out;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, kp) != 0) {
		rc = refuse(r, BM_EXIT_FAIL, "socketpair: %s", strerror(errno));
		goto out;
	}
	fcntl(kp[0], F_SETFD, FD_CLOEXEC);
	/* The key for beemofs, which reads it before it mounts. */
	{
		char head[32];

		snprintf(head, sizeof(head), "%zu\n", keylen);
		if (bm_write_all(kp[0], head, strlen(head)) != 0 ||
		    bm_write_all(kp[0], key, keylen) != 0) {
			rc = refuse(r, BM_EXIT_FAIL, "cannot hand the key to "
			    "beemofs");
			goto out;
		}
	}
	OPENSSL_secure_clear_free(key, keylen);
	key = NULL;
	st = mount_session(r, kp[1], err, sizeof(err));
	close(kp[1]);
	kp[1] = -1;
	if (st != 0) {
		const char *why = last_line(err);

		if (st == BM_EXIT_BUSY)
			rc = refuse(r, BM_EXIT_BUSY, "machine %s already has a "
			    "backup session running", r->machine);
		else if (strstr(why, "key file") != NULL)
			rc = refuse(r, BM_EXIT_USAGE, "%s", why);
		else
			rc = refuse(r, BM_EXIT_FAIL, "the session did not "
			    "open: %s", why[0] ? why : "beemofs failed");
		goto out;
	}
	bm_log(LOG_NOTICE, "%s: backup session open", r->machine);
	snprintf(json, sizeof(json), "OK {\"format\":\"beemo-session-open\","
	    "\"version\":1,\"machine\":\"%s\",\"module\":\"session\"}\n",
	    r->machine);
	(void)bm_write_all(r->out, json, strlen(json));

	ended = wait_end(r, kp[0]);
	if (ended >= 0)
		(void)bm_write_all(kp[0], ended ? "end\n" : "lost\n",
		    ended ? 4 : 5);
	if (ended <= 0)
		kill_rsyncs(r, SIGTERM);
	/* Lazily: a file the killed rsync still holds does not keep the
	 * session from ending once it is closed. */
	if (umount2(r->mnt, MNT_DETACH) != 0 && errno != EINVAL)
		bm_log(LOG_WARNING, "%s: unmount: %s", r->mnt,
		    strerror(errno));
	/* The snapshot comes once the last file is closed: an rsync that
	 * ignored SIGTERM is killed, and so is one that the client still
	 * holds after its END (its rsyncs are over then; one it keeps
	 * would keep the session, and the machine's next one, forever). */
	rc = bm_read_line(kp[0], json + 3, sizeof(json) - 4, 30000);
	if (rc == -ETIMEDOUT) {
		kill_rsyncs(r, SIGKILL);
		rc = bm_read_line(kp[0], json + 3, sizeof(json) - 4, -1);
	}
	if (rc == 0) {
		memcpy(json, "OK ", 3);
		strcat(json, "\n");
		(void)bm_write_all(r->out, json, strlen(json));
		rc = ended == 1 ? BM_EXIT_OK : BM_EXIT_FAIL;
	} else {
		rc = refuse(r, BM_EXIT_FAIL, "the session ended without its "
		    "snapshot (see the appliance's log)");
	}
	bm_log(LOG_NOTICE, "%s: backup session %s", r->machine,
	    ended == 1 ? "ended" : "lost by the client");
	/* The lock is held until beemofs is gone (its retention); a client
	 * that opens meanwhile waits for it (wait_ending). */
	if ((fd = open(ending, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600)) >= 0)
		close(fd);
	slurp(kp[0], err, sizeof(err));
	unlink(pids);
	unlink(ending);
out:
	if (key != NULL)
		OPENSSL_secure_clear_free(key, keylen);
	if (kp[0] >= 0)
		close(kp[0]);
	if (kp[1] >= 0)
		close(kp[1]);
	close(lock);
	return rc;
}

/* ---- rsync ----------------------------------------------------------- */

/* Whether the machine's session is open now: its lock is held and its
 * tree is mounted. */
static int
session_open(const struct req *r)
{
	char path[PATH_MAX];
	struct stat a, b;
	int fd, held;

	if (bm_path(path, sizeof(path), "%s.lock", r->dir) != 0 ||
	    (fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return 0;
	held = flock(fd, LOCK_EX | LOCK_NB) != 0;
	close(fd);
	return held && stat(r->mnt, &a) == 0 && stat(r->dir, &b) == 0 &&
	    a.st_dev != b.st_dev;
}

/* Unescape a field of /proc/self/mountinfo in place ("\040": space). */
static void
mountinfo_unescape(char *s)
{
	char *o = s;

	while (*s != '\0') {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' &&
		    s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 +
			    (s[3] - '0'));
			s += 4;
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
}

/*
 * In an rsync's own mount namespace: detach its copies of every FUSE
 * mount but its session's @mnt.  A copy would keep that file system
 * alive after its own unmount (another machine's session, which could
 * then not end before this rsync does).
 */
static void
drop_other_fuse(const char *mnt)
{
	char *line = NULL, *mp, *type, *save;
	size_t cap = 0;
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int i;

	if (f == NULL)
		return;
	while (getline(&line, &cap, f) > 0) {
		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [TAGS...] - TYPE */
		mp = NULL;
		strtok_r(line, " ", &save);
		for (i = 1; i < 5; i++)
			mp = strtok_r(NULL, " ", &save);
		while ((type = strtok_r(NULL, " ", &save)) != NULL &&
		    strcmp(type, "-") != 0)
			;
		if (mp == NULL || type == NULL ||
		    (type = strtok_r(NULL, " ", &save)) == NULL ||
		    strncmp(type, "fuse", 4) != 0)
			continue;
		mountinfo_unescape(mp);
		if (strcmp(mp, mnt) != 0)
			umount2(mp, MNT_DETACH);
	}
	free(line);
	fclose(f);
}

static int
op_rsync(struct req *r)
{
	char conf[PATH_MAX], opt[PATH_MAX + 16], pids[PATH_MAX], line[64];
	pid_t pid;
	int st, fd;

	if (!session_open(r)) {
		dprintf(r->err, "beemo-session: no backup session is open for "
		    "%s (beemo-backup opens one first)\n", r->machine);
		return BM_EXIT_BUSY;
	}
	if (bm_path(conf, sizeof(conf), "%s/rsyncd.conf", r->dir) != 0 ||
	    bm_path(pids, sizeof(pids), "%s/rsync.pids", r->dir) != 0)
		return BM_EXIT_FAIL;
	snprintf(opt, sizeof(opt), "--config=%s", conf);
	if ((pid = fork()) < 0)
		return BM_EXIT_FAIL;
	if (pid == 0) {
		struct stat a, b;

		setpgid(0, 0);
		child_fds(r->in, r->out, r->err, -1);
		/* rsync chroots into the session's tree only once the
		 * client has named the module, which it may delay until
		 * the session has ended: then it would write into the bare
		 * mount point, in the run directory.  In a mount namespace
		 * of its own, where an unmount does not reach, the tree it
		 * finds is the session's, mounted now or never. */
		if (unshare(CLONE_NEWNS) != 0 ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
		    stat(r->mnt, &a) != 0 || stat(r->dir, &b) != 0 ||
		    a.st_dev == b.st_dev) {
			fprintf(stderr, "beemo-session: no backup session "
			    "is open for %s\n", r->machine);
			_exit(BM_EXIT_BUSY);
		}
		drop_other_fuse(r->mnt);
		/* rsync chroots into the session itself (use chroot); it
		 * never needs to gain privileges. */
		prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
		execlp(r->o->rsync, r->o->rsync, "--server", "--daemon", opt,
		    ".", (char *)NULL);
		fprintf(stderr, "beemo-session: cannot run %s: %s\n",
		    r->o->rsync, strerror(errno));
		_exit(BM_EXIT_FAIL);
	}
	fd = open(pids, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW, 0600);
	if (fd >= 0) {
		snprintf(line, sizeof(line), "%ld %llu\n", (long)pid,
		    proc_start(pid));
		(void)bm_write_all(fd, line, strlen(line));
		close(fd);
	}
	st = wait_status(pid);
	return st;
}

/* ---- snapshots and restore: beemoctl --------------------------------- */

/*
 * Run beemoctl with @argv (after "beemoctl -s STORE [-c CONFIG]"),
 * @infd as its stdin (-1: none), a memfd or pipe @keep left open for it.
 * With @stream, its stdout goes to the client after "OK @head" once its
 * first bytes came; otherwise all of it, on one line, after "OK ".
 * A failure before any output is refused with its stderr's last line.
 */
static int
run_ctl(const struct req *r, const char *const *argv, int keep,
    const char *head)
{
	const char *args[32];
	char err[ERRTEXT_MAX], buf[65536];
	int op[2], ep[2], st, sent = 0;
	size_t n = 0, i;
	ssize_t k;
	pid_t pid;

	args[n++] = r->o->beemoctl;
	args[n++] = "-s";
	args[n++] = r->o->store;
	if (r->o->config != NULL) {
		args[n++] = "-c";
		args[n++] = r->o->config;
	}
	for (i = 0; argv[i] != NULL && n + 1 < sizeof(args) / sizeof(*args);
	    i++)
		args[n++] = argv[i];
	args[n] = NULL;
	if (pipe2(op, O_CLOEXEC) != 0)
		return refuse(r, BM_EXIT_FAIL, "pipe: %s", strerror(errno));
	if (pipe2(ep, O_CLOEXEC) != 0) {
		close(op[0]);
		close(op[1]);
		return refuse(r, BM_EXIT_FAIL, "pipe: %s", strerror(errno));
	}
	if ((pid = fork()) < 0) {
		close(op[0]);
		close(op[1]);
		close(ep[0]);
		close(ep[1]);
		return refuse(r, BM_EXIT_FAIL, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		child_fds(-1, op[1], ep[1], keep);
		execvp(args[0], (char *const *)args);
		fprintf(stderr, "beemoctl: cannot run %s: %s\n", args[0],
		    strerror(errno));
		_exit(BM_EXIT_FAIL);
	}
	close(op[1]);
	close(ep[1]);
	if (head != NULL) {
		/* A stream: relay it as it comes. */
		while ((k = read(op[0], buf, sizeof(buf))) != 0) {
			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0)
				break;
			if (!sent) {
				(void)bm_write_all(r->out, "OK ", 3);
				(void)bm_write_all(r->out, head, strlen(head));
				(void)bm_write_all(r->out, "\n", 1);
				sent = 1;
			}
			if (bm_write_all(r->out, buf, (size_t)k) != 0)
				break;
		}
	} else {
		slurp(op[0], buf, sizeof(buf));
	}
	close(op[0]);
	slurp(ep[0], err, sizeof(err));
	close(ep[0]);
	st = wait_status(pid);
	if (head != NULL && sent)
		return st;
	if (st != 0 && st != BM_EXIT_WARN)
		return refuse(r, st == BM_EXIT_BUSY ? BM_EXIT_BUSY :
		    BM_EXIT_USAGE, "%s", last_line(err));
	if (head != NULL) {
		(void)bm_write_all(r->out, "OK ", 3);
		(void)bm_write_all(r->out, head, strlen(head));
		(void)bm_write_all(r->out, "\n", 1);
		return st;
	}
	/* JSON has no raw newline inside its strings: one line. */
	for (i = 0; buf[i] != '\0'; i++)
		if (buf[i] == '\n')
			buf[i] = ' ';
	(void)bm_write_all(r->out, "OK ", 3);
	(void)bm_write_all(r->out, buf, strlen(buf));
	(void)bm_write_all(r->out, "\n", 1);
	return st;
}

static int
op_snapshots(struct req *r)
{
	char keyarg[64];
	uint8_t *key = NULL;
	size_t keylen = 0;
	int rc, mfd;

	if ((rc = read_key(r, &key, &keylen)) != 0)
		return rc;
	/* In memory only: beemoctl reads it as /proc/self/fd/N. */
	mfd = memfd_create("beemo-key", 0);
	if (mfd < 0 || bm_write_all(mfd, key, keylen) != 0) {
		OPENSSL_secure_clear_free(key, keylen);
		if (mfd >= 0)
			close(mfd);
		return refuse(r, BM_EXIT_FAIL, "memfd: %s", strerror(errno));
	}
	OPENSSL_secure_clear_free(key, keylen);
	snprintf(keyarg, sizeof(keyarg), "/proc/self/fd/%d", mfd);
	{
		const char *argv[] = {"snapshots", "--json", "--poste-key",
		    keyarg, "--", r->machine, NULL};

		rc = run_ctl(r, argv, mfd, NULL);
	}
	close(mfd);
	return rc;
}

/* A request line "@word VALUE" into @val. */
static int
read_field(const struct req *r, const char *word, char *val, size_t size)
{
	char line[LINE_MAX_];
	size_t w = strlen(word);

	if (bm_read_line(r->in, line, sizeof(line), CLIENT_MS) != 0 ||
	    strncmp(line, word, w) != 0 || line[w] != ' ' ||
	    strlen(line + w + 1) >= size)
		return -EINVAL;
	memcpy(val, line + w + 1, strlen(line + w + 1) + 1);
	return 0;
}

static int
op_restore(struct req *r)
{
	char user[64], snap[256], path[LINE_MAX_], fdarg[16], num[32], *end;
	char *pw = NULL;
	unsigned long pwlen;
	int pp[2] = {-1, -1}, rc;

	if (read_field(r, "USER", user, sizeof(user)) != 0 ||
	    !bm_valid_name(user))
		return refuse(r, BM_EXIT_USAGE, "the request must start with "
		    "USER NAME, a valid user name");
	if (read_field(r, "PASS", num, sizeof(num)) != 0)
		return refuse(r, BM_EXIT_USAGE, "PASS LEN expected");
	errno = 0;
	pwlen = strtoul(num, &end, 10);
	if (errno != 0 || *end != '\0' || pwlen == 0 || pwlen > PASS_MAX)
		return refuse(r, BM_EXIT_USAGE, "bad password length");
	if ((pw = OPENSSL_secure_malloc(pwlen + 1)) == NULL)
		return refuse(r, BM_EXIT_FAIL, "out of memory");
	if (bm_read_full(r->in, pw, pwlen, CLIENT_MS) != 0) {
		rc = refuse(r, BM_EXIT_USAGE, "the password was cut short");
		goto out;
	}
	if (read_field(r, "SNAP", snap, sizeof(snap)) != 0 ||
	    read_field(r, "PATH", path, sizeof(path)) != 0 ||
	    snap[0] == '\0' || path[0] == '\0') {
		rc = refuse(r, BM_EXIT_USAGE, "SNAP and PATH expected");
		goto out;
	}
	/* The password on a pipe, as --password-fd. */
	if (pipe2(pp, O_CLOEXEC) != 0 || bm_write_all(pp[1], pw, pwlen) != 0 ||
	    bm_write_all(pp[1], "\n", 1) != 0) {
		rc = refuse(r, BM_EXIT_FAIL, "pipe: %s", strerror(errno));
		goto out;
	}
	close(pp[1]);
	pp[1] = -1;
	snprintf(fdarg, sizeof(fdarg), "%d", pp[0]);
	{
		const char *argv[] = {"export", "--format", "tar", "--output",
		    "-", "--user", user, "--password-fd", fdarg, "--",
		    r->machine, snap, path, NULL};

		rc = run_ctl(r, argv, pp[0],
		    "{\"format\":\"beemo-restore-stream\",\"version\":1}");
	}
out:
	OPENSSL_secure_clear_free(pw, pwlen + 1);
	if (pp[0] >= 0)
		close(pp[0]);
	if (pp[1] >= 0)
		close(pp[1]);
	return rc;
}

/* ---- the daemon ------------------------------------------------------ */

/* The account of the peer on @fd must be "beemo-NAME": NAME (a valid
 * name) into @name of @size.  0, or -EPERM (logged). */
static int
peer_account(int fd, char *name, size_t size)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	struct passwd *pw;
	size_t plen = strlen(SESSION_ACCOUNT_PREFIX);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0 ||
	    (pw = getpwuid(cr.uid)) == NULL ||
	    strncmp(pw->pw_name, SESSION_ACCOUNT_PREFIX, plen) != 0 ||
	    !bm_valid_name(pw->pw_name + plen) ||
	    strlen(pw->pw_name + plen) >= size) {
		bm_log(LOG_WARNING, "a request from uid %u, which is no "
		    "machine's account, refused", (unsigned)cr.uid);
		return -EPERM;
	}
	memcpy(name, pw->pw_name + plen, strlen(pw->pw_name + plen) + 1);
	return 0;
}

/* The machine of the peer on @fd: its account's (peer_account), which
 * must be a machine of the store. */
static int
peer_machine(const struct daemon_opts *o, int fd, char *machine,
    size_t size)
{
	char path[PATH_MAX];
	int rc;

	if ((rc = peer_account(fd, machine, size)) != 0)
		return rc;
	if (bm_path(path, sizeof(path), "%s/keys/machines/%s.key", o->store,
	    machine) != 0 || access(path, F_OK) != 0) {
		bm_log(LOG_WARNING, "account " SESSION_ACCOUNT_PREFIX "%s: no "
		    "such machine in %s", machine, o->store);
		return -ENOENT;
	}
	return 0;
}

/* Serve one connection (in its own process); returns the status for
 * beemo-session. */
static int
serve(const struct daemon_opts *o, int c)
{
	char op[SESSION_OP_MAX + 1], ctl[CMSG_SPACE(3 * sizeof(int))];
	struct iovec iov = {.iov_base = op, .iov_len = SESSION_OP_MAX};
	struct msghdr mh = {0};
	struct cmsghdr *cm;
	struct req r;
	struct timeval tv = {.tv_sec = 10};
	int fds[3] = {-1, -1, -1}, rc;
	ssize_t n;

	memset(&r, 0, sizeof(r));
	r.o = o;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = ctl;
	mh.msg_controllen = sizeof(ctl);
	/* beemo-session sends its request at once: a peer that sends
	 * nothing does not keep this process. */
	if (setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    (n = recvmsg(c, &mh, MSG_CMSG_CLOEXEC)) <= 0)
		return BM_EXIT_FAIL;
	op[n] = '\0';
	for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_level == SOL_SOCKET &&
		    cm->cmsg_type == SCM_RIGHTS &&
		    cm->cmsg_len == CMSG_LEN(sizeof(fds)))
			memcpy(fds, CMSG_DATA(cm), sizeof(fds));
	if (fds[0] < 0 || fds[1] < 0 || fds[2] < 0)
		return BM_EXIT_FAIL;
	r.in = fds[0];
	r.out = fds[1];
	r.err = fds[2];
	if (peer_machine(o, c, r.machine, sizeof(r.machine)) != 0) {
		dprintf(r.err, "beemo-session: this account opens no machine "
		    "of this appliance\n");
		return BM_EXIT_USAGE;
	}
	if (bm_path(r.dir, sizeof(r.dir), "%s/%s", o->rundir, r.machine) ||
	    bm_path(r.mnt, sizeof(r.mnt), "%s/mnt", r.dir) ||
	    bm_mkdir_p(r.dir, 0700) != 0)
		return BM_EXIT_FAIL;
	op[strcspn(op, "\n")] = '\0';
	bm_log(LOG_INFO, "%s: request %s", r.machine, op);
	if (strcmp(op, "open") == 0)
		rc = op_open(&r);
	else if (strcmp(op, "rsync") == 0)
		rc = op_rsync(&r);
	else if (strcmp(op, "snapshots") == 0)
		rc = op_snapshots(&r);
	else if (strcmp(op, "restore") == 0)
		rc = op_restore(&r);
	else
		rc = refuse(&r, BM_EXIT_USAGE, "unknown request");
	return rc;
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: beemo-sessiond [--store DIR] [--config FILE] "
	    "[--socket PATH]\n"
	    "                      [--run-dir DIR] [--beemofs PROG] "
	    "[--beemoctl PROG] [--rsync PROG]\n\n"
	    "Opens the backup sessions of client machines: each machine's "
	    "SSH account\nruns beemo-session, which hands its channel to "
	    "this daemon (beemo-sessiond(8)).\n\n"
	    "options:\n"
	    "  --store DIR      the store (default $BEEMO_STORE or "
	    "/var/lib/beemo)\n"
	    "  --config FILE    configuration file (default $BEEMO_CONFIG or "
	    "/etc/beemo/beemo.conf)\n"
	    "  --socket PATH    where to listen (default " SESSION_SOCKET ")\n"
	    "  --run-dir DIR    sessions' mount points (default "
	    "/run/beemo-sessiond/sessions)\n"
	    "  --beemofs PROG, --beemoctl PROG, --rsync PROG\n"
	    "                   the programs to run (default: found in "
	    "PATH)\n"
	    "  -V, --version    print the version\n"
	    "  -h, --help       this help\n\n"
	    "exit status: 0 stopped by a signal, 1 failed, 2 usage\n");
}

static volatile sig_atomic_t stop;

static void
on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"store", required_argument, NULL, 's'},
		{"config", required_argument, NULL, 'c'},
		{"socket", required_argument, NULL, 'S'},
		{"run-dir", required_argument, NULL, 'r'},
		{"beemofs", required_argument, NULL, 'f'},
		{"beemoctl", required_argument, NULL, 'b'},
		{"rsync", required_argument, NULL, 'R'},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct daemon_opts o = {
		.store = getenv("BEEMO_STORE") ? getenv("BEEMO_STORE") :
		    "/var/lib/beemo",
		.config = getenv("BEEMO_CONFIG"),
		.socket = SESSION_SOCKET,
		.rundir = "/run/beemo-sessiond/sessions",
		.beemofs = "beemofs",
		.beemoctl = "beemoctl",
		.rsync = "rsync",
	};
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct sigaction sg;
	char dir[PATH_MAX], *slash, name[64];
	int c, lfd, cfd, status;
	pid_t pid;

	while ((c = getopt_long(argc, argv, "Vh", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			o.store = optarg;
			break;
		case 'c':
			o.config = optarg;
			break;
		case 'S':
			o.socket = optarg;
			break;
		case 'r':
			o.rundir = optarg;
			break;
		case 'f':
			o.beemofs = optarg;
			break;
		case 'b':
			o.beemoctl = optarg;
			break;
		case 'R':
			o.rsync = optarg;
			break;
		case 'V':
			printf("beemo-sessiond " BEEMO_VERSION "\n");
			return BM_EXIT_OK;
		case 'h':
			usage(stdout);
			return BM_EXIT_OK;
		default:
			usage(stderr);
			return BM_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return BM_EXIT_USAGE;
	}
	bm_log_open("beemo-sessiond", 0, 0);
	/* Its children hold the clients' key files and the passwords of
	 * "restore" for a while: never in a core file. */
	if (bm_nodump() != 0)
		bm_log(LOG_WARNING, "core dumps could not be turned off");
	if (geteuid() != 0) {
		fprintf(stderr, "beemo-sessiond: must run as root (it mounts "
		    "sessions and serves every machine's account)\n");
		return BM_EXIT_FAIL;
	}
	if (strlen(o.socket) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "beemo-sessiond: %s: path too long\n",
		    o.socket);
		return BM_EXIT_USAGE;
	}
	if (access(o.store, R_OK | X_OK) != 0) {
		fprintf(stderr, "beemo-sessiond: %s: %s\n", o.store,
		    strerror(errno));
		return BM_EXIT_FAIL;
	}
	snprintf(dir, sizeof(dir), "%s", o.socket);
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		bm_mkdir_p(dir, 0755);
	}
	if (bm_mkdir_p(o.rundir, 0700) != 0) {
		fprintf(stderr, "beemo-sessiond: %s: %s\n", o.rundir,
		    strerror(errno));
		return BM_EXIT_FAIL;
	}
	memcpy(sa.sun_path, o.socket, strlen(o.socket) + 1);
	unlink(o.socket);
	if ((lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    chmod(o.socket, 0666) != 0 || listen(lfd, 64) != 0) {
		fprintf(stderr, "beemo-sessiond: %s: %s\n", o.socket,
		    strerror(errno));
		return BM_EXIT_FAIL;
	}
	/* Children are reaped by the kernel; each one waits for its own. */
	signal(SIGCHLD, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	memset(&sg, 0, sizeof(sg));
	sg.sa_handler = on_stop;
	sigaction(SIGTERM, &sg, NULL);
	sigaction(SIGINT, &sg, NULL);
	bm_log(LOG_NOTICE, "listening on %s for the sessions of %s", o.socket,
	    o.store);
	while (!stop) {
		if ((cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) < 0) {
			if (errno != EINTR)
				bm_log(LOG_WARNING, "accept: %s",
				    strerror(errno));
			continue;
		}
		/* Only a machine's account is served: anyone else (the
		 * socket is open to every local user) costs no process. */
		if (peer_account(cfd, name, sizeof(name)) != 0) {
			status = BM_EXIT_USAGE;
			(void)bm_write_all(cfd, &status, sizeof(status));
			close(cfd);
			continue;
		}
		if ((pid = fork()) < 0) {
			bm_log(LOG_ERR, "fork: %s", strerror(errno));
			close(cfd);
			continue;
		}
		if (pid == 0) {
			close(lfd);
			signal(SIGCHLD, SIG_DFL);
			signal(SIGTERM, SIG_DFL);
			signal(SIGINT, SIG_DFL);
			status = serve(&o, cfd);
			(void)bm_write_all(cfd, &status, sizeof(status));
			_exit(0);
		}
		close(cfd);
	}
	close(lfd);
	unlink(o.socket);
	bm_log(LOG_NOTICE, "stopped; open sessions end with their clients");
	return BM_EXIT_OK;
}
