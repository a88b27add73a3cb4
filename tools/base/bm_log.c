/*
 * bm_log.c -- logging (bm_log.h).
 *
 * A daemon logs to syslog; a command-line tool, and a daemon run with -f,
 * logs to stderr as "ident: level: message".  One mutex keeps lines whole
 * when several threads log at once.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "bm_esc.h"
#include "bm_log.h"

static const char *log_ident = "beemo";
static int log_syslog;
static int log_max = LOG_NOTICE;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void
bm_log_open(const char *ident, int use_syslog, int verbosity)
{
	int max = LOG_NOTICE + verbosity;

	log_ident = ident;
	log_syslog = use_syslog;
	log_max = max < LOG_ERR ? LOG_ERR : max > LOG_DEBUG ? LOG_DEBUG : max;
	if (use_syslog)
		openlog(ident, LOG_PID, LOG_DAEMON);
}

static const char *
prio_name(int prio)
{
	switch (prio) {
	case LOG_EMERG:
	case LOG_ALERT:
	case LOG_CRIT:
	case LOG_ERR:
		return "error: ";
	case LOG_WARNING:
		return "warning: ";
	case LOG_NOTICE:
		return "";
	case LOG_INFO:
		return "info: ";
	default:
		return "debug: ";
	}
}

void
bm_vlog(int prio, const char *fmt, va_list ap)
{
	char msg[4096], esc[8192];

	if (prio > log_max)
		return;
	/* Messages name files of clients: escaped, a name can neither
	 * start a line of its own nor reach a terminal raw.  A message
	 * longer than the buffers is cut. */
	vsnprintf(msg, sizeof(msg), fmt, ap);
	bm_esc(esc, sizeof(esc), msg);
	if (log_syslog) {
		syslog(prio, "%s", esc);
		return;
	}
	pthread_mutex_lock(&log_lock);
	fprintf(stderr, "%s: %s%s\n", log_ident, prio_name(prio), esc);
	fflush(stderr);
	pthread_mutex_unlock(&log_lock);
}

void
bm_log(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	bm_vlog(prio, fmt, ap);
	va_end(ap);
}
