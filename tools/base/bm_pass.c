/*
 * bm_pass.c -- reading passwords.
 *
 * Passwords go straight from a file descriptor into OpenSSL's secure heap
 * (locked memory, cleansed on free) without stdio buffers.  On a terminal
 * echo is turned off; a signal arriving meanwhile restores the terminal
 * before the default action runs again.
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "bm_pass.h"

#define PASS_MAX 1024

static volatile sig_atomic_t tty_fd = -1;
static struct termios tty_saved;

static void
restore_tty(int sig)
{
	if (tty_fd >= 0)
		tcsetattr(tty_fd, TCSAFLUSH, &tty_saved);
	signal(sig, SIG_DFL);
	raise(sig);
}

void
bm_free_secret(void *p, size_t len)
{
	if (p == NULL)
		return;
	OPENSSL_cleanse(p, len);
	OPENSSL_secure_free(p);
}

/* Read one line from @fd into a new secure buffer. */
static int
read_line(int fd, char **out, size_t *outlen)
{
	char *buf = OPENSSL_secure_zalloc(PASS_MAX + 1);
	size_t len = 0;
	int rc;

	if (buf == NULL)
		return -ENOMEM;
	for (;;) {
		char c;
		ssize_t n = read(fd, &c, 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			goto fail;
		}
		if (n == 0 || c == '\n')
			break;
		if (len == PASS_MAX) {
			rc = -E2BIG;
			goto fail;
		}
		buf[len++] = c;
	}
	if (len > 0 && buf[len - 1] == '\r')
		buf[--len] = '\0';
	if (len == 0) {
		rc = -EINVAL;
		goto fail;
	}
	*out = buf;
	*outlen = len;
	return 0;

fail:
	bm_free_secret(buf, PASS_MAX + 1);
	return rc;
}

static int
read_tty(int fd, const char *prompt, char **out, size_t *outlen)
{
	struct termios t;
	struct sigaction sa, old_int, old_term, old_hup;
	int rc;

	if (tcgetattr(fd, &tty_saved) != 0)
		return -errno;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = restore_tty;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	sigaction(SIGHUP, &sa, &old_hup);
	tty_fd = fd;
	t = tty_saved;
	t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	t.c_lflag |= ICANON;
	tcsetattr(fd, TCSAFLUSH, &t);
	if (write(fd, prompt, strlen(prompt)) < 0) {
		/* The prompt is a courtesy; reading still works. */
	}
	rc = read_line(fd, out, outlen);
	if (write(fd, "\n", 1) < 0) {
		/* Same. */
	}
	tcsetattr(fd, TCSAFLUSH, &tty_saved);
	tty_fd = -1;
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGHUP, &old_hup, NULL);
	return rc;
}

int
bm_read_password(const char *prompt, const char *file, int confirm,
    char **out, size_t *outlen)
{
	char *pw = NULL, *again = NULL;
	size_t len = 0, alen = 0;
	int fd, rc;

	if (file != NULL) {
		if (strcmp(file, "-") == 0)
			return read_line(STDIN_FILENO, out, outlen);
		fd = open(file, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		rc = read_line(fd, out, outlen);
		close(fd);
		return rc;
	}
	fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -ENOTTY;
	if ((rc = read_tty(fd, prompt, &pw, &len)) != 0)
		goto done;
	if (confirm) {
		if ((rc = read_tty(fd, "Repeat: ", &again, &alen)) != 0)
			goto done;
		if (alen != len || CRYPTO_memcmp(pw, again, len) != 0) {
			rc = -EINVAL;
			goto done;
		}
	}
	*out = pw;
	*outlen = len;
	pw = NULL;
done:
	bm_free_secret(pw, PASS_MAX + 1);
	bm_free_secret(again, PASS_MAX + 1);
	close(fd);
	return rc;
}

int
bm_read_password_fd(int fd, char **out, size_t *outlen)
{
	int flags;

	if (fd < 0)
		return -EBADF;
	/* The caller's descriptor is not for the commands this process
	 * runs later (a mail command, sshd's helpers). */
	if ((flags = fcntl(fd, F_GETFD)) >= 0)
		(void)fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
	return read_line(fd, out, outlen);
}

/* After the password line: what a command may still print (its other
 * lines) and how long it may take to end.  A command that prints
 * without end, or keeps running, would otherwise hold the caller (a
 * mount at boot, a timer) for ever. */
#define DRAIN_MAX (1024 * 1024)
#define GRACE_MS 5000

/* Milliseconds on the monotonic clock. */
static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read what is left on @fd (it may be secret too: cleansed) so that a
 * writer of a few more lines does not die of SIGPIPE: until end of file,
 * DRAIN_MAX bytes or @deadline (ms, now_ms()), whichever comes first. */
static void
drain(int fd, int64_t deadline)
{
	char buf[512];
	size_t total = 0;
	ssize_t n;

	while (total < DRAIN_MAX) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int64_t left = deadline - now_ms();

		if (left <= 0 || poll(&pfd, 1, (int)left) == 0)
			break;
		if ((n = read(fd, buf, sizeof(buf))) == 0)
			break;
		if (n < 0 && errno != EINTR && errno != EAGAIN)
			break;
		if (n > 0)
			total += (size_t)n;
	}
	OPENSSL_cleanse(buf, sizeof(buf));
}

/* Wait for @pid until @deadline (ms), then kill it (SIGKILL) and reap
 * it: its status into *@status, -1 when it cannot be had. */
static void
reap(pid_t pid, int64_t deadline, int *status)
{
	const struct timespec pause = {0, 10 * 1000 * 1000};
	pid_t w;

	while ((w = waitpid(pid, status, WNOHANG)) == 0 &&
	    now_ms() < deadline)
		nanosleep(&pause, NULL);
	if (w == 0) {
		kill(pid, SIGKILL);
		while ((w = waitpid(pid, status, 0)) < 0 && errno == EINTR)
			;
	}
	if (w < 0)
		*status = -1;
}

int
bm_read_password_command(const char *cmd, char **out, size_t *outlen,
    int *status)
{
	char *pw = NULL;
	size_t len = 0;
	int64_t deadline;
	int p[2], rc;
	pid_t pid;

	*status = -1;
	if (pipe2(p, O_CLOEXEC) != 0)
		return -errno;
	if ((pid = fork()) < 0) {
		rc = -errno;
		close(p[0]);
		close(p[1]);
		return rc;
	}
	if (pid == 0) {
		if (dup2(p[1], STDOUT_FILENO) < 0)
			_exit(127);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	rc = read_line(p[0], &pw, &len);
	deadline = now_ms() + GRACE_MS;
	drain(p[0], deadline);
	close(p[0]);
	reap(pid, deadline, status);
	if (*status == -1 || !WIFEXITED(*status) ||
	    WEXITSTATUS(*status) != 0) {
		if (rc == 0)
			bm_free_secret(pw, PASS_MAX + 1);
		return -ECHILD;
	}
	if (rc != 0)
		return rc;
	*out = pw;
	*outlen = len;
	return 0;
}

/* Name the command of @status for messages, saying how it failed when
 * it did. */
static void
describe_status(char *buf, size_t size, const char *cmd, int status)
{
	if (status == -1)
		snprintf(buf, size, "password command '%s' could not be run",
		    cmd);
	else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
		snprintf(buf, size, "password command '%s' failed with exit "
		    "status %d", cmd, WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, size, "password command '%s' was killed by "
		    "signal %d", cmd, WTERMSIG(status));
	else
		snprintf(buf, size, "password command '%s'", cmd);
}

/* The path of the systemd credential @name, or NULL when there is none. */
static const char *
credential(const char *name, char *buf, size_t size)
{
	const char *dir = getenv("CREDENTIALS_DIRECTORY");
	struct stat st;

	if (name == NULL || dir == NULL || *dir == '\0')
		return NULL;
	if ((size_t)snprintf(buf, size, "%s/%s", dir, name) >= size)
		return NULL;
	return stat(buf, &st) == 0 ? buf : NULL;
}

int
bm_password_get(const struct bm_pass_src *src, const char *prompt,
    int confirm, char **out, size_t *outlen, char *from, size_t fromsize)
{
	const char *file = src->file, *cmd = src->command, *v;
	char cred[4096];
	int status, rc;

	if (file == NULL && cmd == NULL && src->fd >= 0) {
		snprintf(from, fromsize, "descriptor %d", src->fd);
		return bm_read_password_fd(src->fd, out, outlen);
	}
	if (file == NULL && cmd == NULL && src->file_env != NULL &&
	    (v = getenv(src->file_env)) != NULL && *v != '\0')
		file = v;
	if (file == NULL && cmd == NULL && src->command_env != NULL &&
	    (v = getenv(src->command_env)) != NULL && *v != '\0')
		cmd = v;
	if (file == NULL && cmd == NULL &&
	    (file = credential(src->credential, cred, sizeof(cred))) != NULL)
		snprintf(from, fromsize, "credential %s", file);
	else if (file != NULL)
		snprintf(from, fromsize, "file %s", file);
	if (cmd != NULL) {
		rc = bm_read_password_command(cmd, out, outlen, &status);
		describe_status(from, fromsize, cmd, status);
		return rc;
	}
	if (file == NULL)
		snprintf(from, fromsize, "terminal");
	return bm_read_password(prompt, file, confirm, out, outlen);
}
