/*
 * check.h -- the check macros of the unit tests.
 *
 * CHECK(expr) fails when @expr is false; CHECK_RC(expr, want) when the
 * int @expr is not @want, printing both codes with beemo_strerror();
 * CHECK_OK(expr) is CHECK_RC(expr, 0).  A failure prints
 * "FILE:LINE: expression: detail" on stderr and is counted; the test goes
 * on so that one run shows every failure.  REQUIRE(expr) stops the
 * program at once (exit 1) when a later check could not make sense.
 * main() ends with "return check_status();", which reports the count and
 * gives the exit status meson expects (0 pass, 1 fail).
 */
#ifndef BEEMO_CHECK_H
#define BEEMO_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#include "bm_err.h"

static int check_failures;
static int check_count;

#define CHECK(expr)                                                        \
	do {                                                               \
		check_count++;                                             \
		if (!(expr)) {                                             \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n",       \
			    __FILE__, __LINE__, #expr);                    \
			check_failures++;                                  \
		}                                                          \
	} while (0)

#define CHECK_RC(expr, want)                                               \
	do {                                                               \
		int check_got_ = (expr), check_want_ = (want);             \
		check_count++;                                             \
		if (check_got_ != check_want_) {                          \
			fprintf(stderr,                                    \
			    "%s:%d: %s = %d (%s), expected %d (%s)\n",     \
			    __FILE__, __LINE__, #expr, check_got_,         \
			    beemo_strerror(check_got_), check_want_,       \
			    beemo_strerror(check_want_));                  \
			check_failures++;                                  \
		}                                                          \
	} while (0)

#define CHECK_OK(expr) CHECK_RC(expr, 0)

#define REQUIRE(expr)                                                      \
	do {                                                               \
		if (!(expr)) {                                             \
			fprintf(stderr, "%s:%d: REQUIRE(%s) failed, "      \
			    "stopping\n", __FILE__, __LINE__, #expr);      \
			exit(1);                                           \
		}                                                          \
	} while (0)

#define REQUIRE_OK(expr)                                                   \
	do {                                                               \
		int check_got_ = (expr);                                   \
		if (check_got_ != 0) {                                     \
			fprintf(stderr, "%s:%d: %s = %d (%s), stopping\n", \
			    __FILE__, __LINE__, #expr, check_got_,         \
			    beemo_strerror(check_got_));                   \
			exit(1);                                           \
		}                                                          \
	} while (0)

static inline int
check_status(void)
{
	fprintf(stderr, "%d checks, %d failed\n", check_count,
	    check_failures);
	return check_failures ? 1 : 0;
}

#endif /* BEEMO_CHECK_H */
