/*
 * bm_exit.h -- the exit statuses shared by beemoctl, beemo-sync,
 * beemo-center, beemofs, beemo-backup, beemo-sessiond and beemo-session
 * (base library, see bm_err.h).
 *
 * One meaning per number in every program, so that a script or a
 * systemd unit can tell them apart whatever it runs:
 *   0  success
 *   1  failed (one line on stderr says why)
 *   2  usage: a bad option, argument or name; nothing was done
 *   3  locked or busy: another process holds the store or the sync
 *      lock; trying again later may succeed
 *   4  finished with warnings: the operation completed, but some files
 *      were refused, unreadable or skipped (each one is reported), or
 *      a scan found a virus
 * Every man page lists them in its EXIT STATUS section.
 */
#ifndef BEEMO_BM_EXIT_H
#define BEEMO_BM_EXIT_H

#define BM_EXIT_OK 0
#define BM_EXIT_FAIL 1
#define BM_EXIT_USAGE 2
#define BM_EXIT_BUSY 3
#define BM_EXIT_WARN 4

#endif /* BEEMO_BM_EXIT_H */
