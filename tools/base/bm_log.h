/*
 * bm_log.h -- logging to stderr or syslog (base library, see bm_err.h).
 *
 * A daemon logs to syslog; a command-line tool, and a daemon run in the
 * foreground, logs to stderr as "ident: level: message".  One mutex keeps
 * lines whole when several threads log at once.  The priorities are
 * syslog's (LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG), which
 * this header brings in.
 */
#ifndef BEEMO_BM_LOG_H
#define BEEMO_BM_LOG_H

#include <stdarg.h>
#include <syslog.h>

/*
 * bm_log_open -- choose where bm_log() writes.
 * @ident: program name shown in each line (not copied; keep it alive).
 * @use_syslog: nonzero for syslog(3) (LOG_DAEMON), zero for stderr.
 * @verbosity: messages of priority <= LOG_NOTICE + verbosity are written
 *   (0 = notice and above, 1 = info, 2 = debug; negative = errors only).
 * Until called, bm_log() writes notices and above to stderr.  Call it
 * once, before other threads log.
 */
void bm_log_open(const char *ident, int use_syslog, int verbosity);

/*
 * bm_log -- write one line at priority @prio.  On stderr the line reads
 * "ident: error: message".  The message is escaped as a whole
 * (bm_esc.h), so the file names it holds cannot break the line, and cut
 * after 4095 bytes (8191 escaped).  Never pass secrets.  Thread-safe.
 * bm_vlog -- the same with a va_list.
 */
void bm_log(int prio, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void bm_vlog(int prio, const char *fmt, va_list ap);

#endif /* BEEMO_BM_LOG_H */
