/*
 * test_pass.c -- where passwords come from (tools/base/bm_pass.c): a
 * file, a descriptor, a command and its failures, the environment and
 * systemd credentials, in bm_password_get()'s order.  The tests run
 * without a terminal: a source missing is -ENOTTY.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bm_pass.h"
#include "check.h"

static char dir[] = "/tmp/beemo-test-pass.XXXXXX";
static char pwfile[64], other[64], cred[64];

static void
put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	REQUIRE(f != NULL);
	fputs(text, f);
	fclose(f);
}

/* Read through bm_password_get() from @src; 1 when the password is
 * @want, 0 otherwise (the return code in *@rc). */
static int
got(const struct bm_pass_src *src, const char *want, int *rc, char *from,
    size_t fromsize)
{
	char *pw = NULL;
	size_t len = 0;
	int ok;

	*rc = bm_password_get(src, "pw: ", 0, &pw, &len, from, fromsize);
	if (*rc != 0)
		return 0;
	ok = len == strlen(want) && memcmp(pw, want, len) == 0;
	bm_free_secret(pw, len);
	return ok;
}

static void
test_command(void)
{
	char *pw = NULL, cmd[128];
	size_t len = 0;
	int status;

	snprintf(cmd, sizeof(cmd), "cat %s", pwfile);
	CHECK_OK(bm_read_password_command(cmd, &pw, &len, &status));
	CHECK(len == 6 && memcmp(pw, "secret", 6) == 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	bm_free_secret(pw, len);
	/* Only the first line; much more output does not block it. */
	CHECK_OK(bm_read_password_command("echo one; echo two; seq 100000",
	    &pw, &len, &status));
	CHECK(len == 3 && memcmp(pw, "one", 3) == 0);
	bm_free_secret(pw, len);
	/* Failures: a status, a signal, a missing program; the password
	 * printed before failing is not used. */
	CHECK_RC(bm_read_password_command("echo secret; exit 3", &pw, &len,
	    &status), -ECHILD);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 3);
	CHECK_RC(bm_read_password_command("kill -TERM $$", &pw, &len,
	    &status), -ECHILD);
	CHECK(WIFSIGNALED(status));
	CHECK_RC(bm_read_password_command("/nonexistent/x", &pw, &len,
	    &status), -ECHILD);
	CHECK_RC(bm_read_password_command("echo", &pw, &len, &status),
	    -EINVAL);
	CHECK_RC(bm_read_password_command("true", &pw, &len, &status),
	    -EINVAL);
}

static void
test_sources(void)
{
	struct bm_pass_src src = {.fd = -1};
	char from[256], cmd[128];
	int fd, rc;

	/* Nothing: no terminal. */
	CHECK(!got(&src, "", &rc, from, sizeof(from)));
	CHECK_RC(rc, -ENOTTY);

	/* A descriptor, left open, but not to programs run later. */
	fd = open(pwfile, O_RDONLY);
	REQUIRE(fd >= 0);
	src.fd = fd;
	CHECK(got(&src, "secret", &rc, from, sizeof(from)));
	CHECK(strstr(from, "descriptor") != NULL);
	CHECK(fcntl(fd, F_GETFD) >= 0);
	CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
	CHECK(!got(&src, "", &rc, from, sizeof(from)));
	CHECK_RC(rc, -EBADF);
	src.fd = -1;

	/* A file. */
	src.file = pwfile;
	CHECK(got(&src, "secret", &rc, from, sizeof(from)));
	src.file = NULL;

	/* A failing command names itself. */
	src.command = "exit 7";
	CHECK(!got(&src, "", &rc, from, sizeof(from)));
	CHECK_RC(rc, -ECHILD);
	CHECK(strcmp(from, "password command 'exit 7' failed with exit "
	    "status 7") == 0);
	src.command = NULL;

	/* The environment, file before command, then the credential. */
	src.file_env = "TEST_PW_FILE";
	src.command_env = "TEST_PW_COMMAND";
	src.credential = "beemo-admin-password";
	snprintf(cmd, sizeof(cmd), "cat %s", other);
	setenv("TEST_PW_COMMAND", cmd, 1);
	setenv("TEST_PW_FILE", pwfile, 1);
	setenv("CREDENTIALS_DIRECTORY", dir, 1);
	CHECK(got(&src, "secret", &rc, from, sizeof(from)));
	unsetenv("TEST_PW_FILE");
	CHECK(got(&src, "other", &rc, from, sizeof(from)));
	/* An option wins over the environment. */
	src.fd = open(pwfile, O_RDONLY);
	CHECK(got(&src, "secret", &rc, from, sizeof(from)));
	close(src.fd);
	src.fd = -1;
	unsetenv("TEST_PW_COMMAND");
	CHECK(got(&src, "credential", &rc, from, sizeof(from)));
	CHECK(strncmp(from, "credential ", 11) == 0);
	/* No credential of that name, or none asked for: the terminal. */
	src.credential = "beemo-other";
	CHECK(!got(&src, "", &rc, from, sizeof(from)));
	CHECK_RC(rc, -ENOTTY);
	src.credential = NULL;
	CHECK(!got(&src, "", &rc, from, sizeof(from)));
	CHECK_RC(rc, -ENOTTY);
	unsetenv("CREDENTIALS_DIRECTORY");
}

int
main(void)
{
	int fd;

	/* No controlling terminal, so that "no source" is -ENOTTY. */
	if (setsid() < 0 && (fd = open("/dev/tty", O_RDWR)) >= 0) {
		close(fd);
		if (fork() != 0) {
			int st;

			wait(&st);
			return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
		}
		setsid();
	}
	REQUIRE(mkdtemp(dir) != NULL);
	snprintf(pwfile, sizeof(pwfile), "%s/pw", dir);
	snprintf(other, sizeof(other), "%s/other", dir);
	snprintf(cred, sizeof(cred), "%s/beemo-admin-password", dir);
	put(pwfile, "secret\n");
	put(other, "other\n");
	put(cred, "credential\n");
	test_command();
	test_sources();
	unlink(pwfile);
	unlink(other);
	unlink(cred);
	rmdir(dir);
	return check_status();
}
