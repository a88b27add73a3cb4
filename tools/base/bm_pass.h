/*
 * bm_pass.h -- passwords and other secrets in memory (base library, see
 * bm_err.h).
 *
 * Secrets live in OpenSSL's secure heap and are cleansed before they are
 * freed.  A password is read from the terminal with echo off, or for
 * scripts from a file, an open descriptor, the output of a command or a
 * systemd credential; it is never logged.
 */
#ifndef BEEMO_BM_PASS_H
#define BEEMO_BM_PASS_H

#include <stddef.h>

/*
 * bm_read_password -- read a password into OpenSSL's secure heap.
 * @prompt: shown on the terminal when reading from it.
 * @file: read the first line of this file instead of the terminal when
 *   non-NULL ("-" means standard input); the trailing newline is dropped.
 * @confirm: when reading from a terminal, ask twice and fail with -EINVAL
 *   when the two differ.
 * @out, @outlen: receive the password (NUL-terminated) and its length;
 *   free with bm_free_secret(*out, *outlen).
 * The terminal's echo is restored on every path, also on SIGINT/SIGTERM.
 * Not thread-safe (it owns the terminal while it reads).
 * Returns 0, -ENOTTY when no file is given and stdin is not a terminal,
 * -EINVAL for an empty password, or a negative errno.
 */
int bm_read_password(const char *prompt, const char *file, int confirm,
    char **out, size_t *outlen);

/*
 * bm_read_password_fd -- read the first line of the open descriptor @fd
 * (a pipe, a file) as a password, as bm_read_password() does for a file.
 * @fd is left open, marked close-on-exec so that no program this process
 * runs later inherits it.  Returns 0, -EINVAL for an empty password, -EBADF
 * when @fd is not open, or a negative errno.
 */
int bm_read_password_fd(int fd, char **out, size_t *outlen);

/*
 * bm_read_password_command -- run @cmd through "/bin/sh -c" (standard
 * input and error inherited) and take the first line of its standard
 * output as the password; the rest of its output is read and dropped
 * (at most 1 MiB), then the command is waited for: it has 5 seconds
 * from its first line to end, else it is killed (SIGKILL) and fails.
 * No time limit applies before the first line (a command may ask its
 * own questions on the terminal).
 * @status: receives the command's wait status (see waitpid(2)), or -1
 *   when it could not be started.
 * Returns 0; -ECHILD when the command could not be run, was killed or
 * exited with a status other than 0 (the password it may have printed
 * is discarded); -EINVAL when it printed an empty first line; or a
 * negative errno.
 */
int bm_read_password_command(const char *cmd, char **out, size_t *outlen,
    int *status);

/*
 * Where a program may find a password, in this order: the options
 * @file, @command, @fd (a caller refuses more than one of them), the
 * environment variables named @file_env and @command_env (each holding
 * a file or a command), the systemd credential @credential (the file
 * of that name in $CREDENTIALS_DIRECTORY, when both are set and it
 * exists), and the terminal.  Unused members are NULL, @fd -1.
 */
struct bm_pass_src {
	const char *file;
	const char *command;
	int fd;
	const char *file_env;
	const char *command_env;
	const char *credential;
};

/*
 * bm_password_get -- read a password from the first source @src gives
 * (above), with bm_read_password(), bm_read_password_fd() or
 * bm_read_password_command().
 * @prompt, @confirm: as for bm_read_password() (terminal only).
 * @from, @fromsize: receive, for messages, where the password was read
 *   from: "file /etc/pw", "password command 'pass show x'", "descriptor
 *   3", "credential /run/credentials/x/y" or "terminal"; for -ECHILD
 *   a whole sentence such as "password command 'x' failed with exit
 *   status 1".  Never the password.
 * Returns what the reader used returns (-ENOTTY: no source and no
 * terminal; -ECHILD: the command failed).
 */
int bm_password_get(const struct bm_pass_src *src, const char *prompt,
    int confirm, char **out, size_t *outlen, char *from, size_t fromsize);

/* bm_free_secret -- cleanse @len bytes of @p and free it from the secure
 * heap.  NULL is a no-op. */
void bm_free_secret(void *p, size_t len);

#endif /* BEEMO_BM_PASS_H */
