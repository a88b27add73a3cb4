/*
 * bm_pass.h -- passwords and other secrets in memory (base library, see
 * bm_err.h).
 *
 * Secrets live in OpenSSL's secure heap and are cleansed before they are
 * freed.  A password is read from the terminal with echo off, or from a
 * file for scripts; it is never logged.
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

/* bm_free_secret -- cleanse @len bytes of @p and free it from the secure
 * heap.  NULL is a no-op. */
void bm_free_secret(void *p, size_t len);

#endif /* BEEMO_BM_PASS_H */
