/*
 * bm_confirm.c -- the confirmation of irreversible actions (bm_confirm.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "bm_confirm.h"
#include "bm_esc.h"
#include "bm_exit.h"

int
bm_confirm_v(const char *who, int yes, const char *expect, const char *fmt,
    va_list ap)
{
	char question[2048], line[256];
	int ok;

	if (yes)
		return 0;
	vsnprintf(question, sizeof(question), fmt, ap);
	/* Only a person answers: not a pipe, and not /dev/tty behind a
	 * script's back. */
	if (!isatty(STDIN_FILENO)) {
		fprintf(stderr, "%s: not confirmed (stdin is not a terminal): "
		    "add --yes to do this without a terminal\n", who);
		return BM_EXIT_USAGE;
	}
	bm_esc_put(stderr, question);
	if (expect != NULL) {
		fputs("\nType ", stderr);
		bm_esc_put(stderr, expect);
		fputs(" to confirm: ", stderr);
	} else {
		fputs(" [y/N] ", stderr);
	}
	fflush(stderr);
	if (fgets(line, sizeof(line), stdin) == NULL)
		line[0] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	ok = expect != NULL ? strcmp(line, expect) == 0 :
	    strcasecmp(line, "y") == 0 || strcasecmp(line, "yes") == 0;
	if (ok)
		return 0;
	fprintf(stderr, "%s: not confirmed: nothing was done\n", who);
	return BM_EXIT_FAIL;
}

int
bm_confirm(const char *who, int yes, const char *expect, const char *fmt,
    ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = bm_confirm_v(who, yes, expect, fmt, ap);
	va_end(ap);
	return rc;
}
