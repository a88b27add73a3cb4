/*
 * sync_alog.c -- beemo-sync and the appliance journal (bm_alog.h): recording
 * pushes and maintenance runs in it, sending its closed segments
 * off-site, and the live progress file of a push.
 *
 * Off-site.  Each maintenance run closes the journal's current segment
 * (bm_alog_rotate) and sends the closed segments STORE/journal/<16
 * hex>.log, as the remote objects journal/<16 hex>.log, to every center
 * it reaches; pushes send them too, and their manifests list them all.
 * A push does not close the segment itself: then a push right after
 * another finds nothing new (the first one's own journal entry would
 * otherwise be new each time), and the timer's maintenance run, which
 * follows every push, sends it within minutes.  Closed segments never
 * change, so each is sent once; `beemo-sync recover` brings them back to
 * STORE/journal/, where the appliance key (rebuilt from admin.key) opens
 * them again.  The records are sealed: a storage center learns their
 * count and sizes only.
 *
 * Progress.  While a push runs, STORE/run/push.json (bm_run_file,
 * bm_status.h) says which target it is sending to and how far it is,
 * rewritten at most once a second from the progress counters
 * (sync_run_note, the tick of the progress display), for `beemoctl
 * status`.
 */
#include <dirent.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bm_alog.h"
#include "bm_err.h"
#include "bm_file.h"
#include "bm_log.h"
#include "bm_status.h"
#include "bm_time.h"
#include "sync.h"

int
sync_alog(const struct sync_ctx *ctx, keymgr *km, const char *type,
    const char *fmt, ...)
{
	struct bm_alog_entry e;
	uint8_t key[KEYMGR_SECRET_LEN];
	char summary[1024];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(summary, sizeof(summary), fmt, ap);
	va_end(ap);
	memset(&e, 0, sizeof(e));
	e.type = type;
	e.who = "beemo-sync";
	e.summary = summary;
	if ((rc = keymgr_appliance_subkey(km, "journal", key)) == 0) {
		rc = bm_alog_append(ctx->store, key, &e);
		OPENSSL_cleanse(key, sizeof(key));
	}
	if (rc != 0)
		sync_log(LOG_WARNING, "the appliance journal could not record "
		    "\"%s\": %s", summary, rc == -ENOENT ? "no appliance key" :
		    beemo_strerror(rc));
	return rc;
}

static int
is_segment(const char *s)
{
	size_t i;

	if (strlen(s) != 20 || strcmp(s + 16, ".log") != 0)
		return 0;
	for (i = 0; i < 16; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

int
sync_local_journal(const struct sync_ctx *ctx, struct sync_objs *out)
{
	char dir[PATH_MAX], file[PATH_MAX], *path;
	uint8_t *data;
	struct dirent *e;
	size_t len;
	DIR *d;
	int rc;

	if ((rc = bm_path(dir, sizeof(dir), "%s/journal", ctx->store)) != 0)
		return rc;
	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d)) != NULL) {
		if (!is_segment(e->d_name))
			continue;
		if ((rc = bm_path(file, sizeof(file), "%s/%s", dir,
		    e->d_name)) != 0)
			break;
		if ((rc = bm_read_file(file, SYNC_MAX_SMALL, &data,
		    &len)) != 0) {
			sync_log(LOG_ERR, "cannot read %s: %s", file,
			    beemo_strerror(rc));
			break;
		}
		if (asprintf(&path, "journal/%s", e->d_name) < 0)
			path = NULL;
		if ((rc = sync_objs_add(out, path, NULL, data, len,
		    SYNC_JOURNAL)) != 0)
			break;
	}
	closedir(d);
	return rc;
}

/* ---- progress ----------------------------------------------------- */

static struct bm_run_file run = BM_RUN_FILE_INIT;

void
sync_run_begin(const struct sync_ctx *ctx, const char *op)
{
	bm_run_file_begin(&run, ctx->store, op, op, NULL);
}

void
sync_run_note(struct bm_progress *p, int force)
{
	struct bm_progress_counts c;
	struct bm_run r;

	if (p == NULL) {
		bm_run_file_note(&run, NULL, force);
		return;
	}
	bm_progress_read(p, &c);
	memset(&r, 0, sizeof(r));
	bm_status_copy(r.target, sizeof(r.target), p->label);
	r.done = c.bytes_done;
	r.total = c.bytes_total;
	r.objs_done = c.objs_done;
	r.objs_total = c.objs_total;
	bm_run_file_note(&run, &r, force);
}

void
sync_run_tick(void *arg, struct bm_progress *p)
{
	(void)arg;
	sync_run_note(p, 0);
}

void
sync_run_end(void)
{
	bm_run_file_end(&run);
}
