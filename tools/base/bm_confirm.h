/*
 * bm_confirm.h -- the one confirmation before a command destroys or
 * revokes something, shared by beemoctl (ctl_confirm()), beemo-sync and
 * beemo-center (base library).
 *
 * Only a person confirms, on a terminal.  With --yes a command goes on
 * without asking; without --yes it asks on stderr and reads the answer
 * from stdin, which must be a terminal.  When stdin is not one (a
 * script, a timer, a pipe) there is no one to answer: the command
 * refuses with BM_EXIT_USAGE and says "add --yes to do this without a
 * terminal".  It never reads the answer from /dev/tty behind a
 * script's back, so that a script that forgot --yes fails the same way
 * whether or not someone happens to be logged in.
 */
#ifndef BEEMO_BM_CONFIRM_H
#define BEEMO_BM_CONFIRM_H

#include <stdarg.h>

/*
 * bm_confirm -- ask before an irreversible action.
 * @who: the prefix of the messages, "beemoctl: user remove".
 * @yes: --yes was given: return 0 at once, asking nothing.
 * @expect: NULL for a yes/no question (" [y/N] "; "y" or "yes", in any
 *   case, confirms), or a word the operator must type exactly (a
 *   machine's name: "Type NAME to confirm: ").
 * @fmt: the question, one line; it is escaped (bm_esc.h) since it may
 *   name files of clients.
 * Returns 0 when confirmed; BM_EXIT_USAGE (2) after one line on stderr
 * when stdin is not a terminal; BM_EXIT_FAIL (1) after "not confirmed:
 * nothing was done" on any other answer, end of file included.
 */
int bm_confirm(const char *who, int yes, const char *expect,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* bm_confirm_v -- bm_confirm() with a va_list. */
int bm_confirm_v(const char *who, int yes, const char *expect,
    const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));

#endif /* BEEMO_BM_CONFIRM_H */
