/*
 * ctl_store.c -- sessions on machines' stores, the daemon's control
 * socket, progress lines (see ctl_store.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bm_bytes.h"
#include "bm_err.h"
#include "bm_file.h"
#include "bm_pass.h"
#include "bm_run.h"
#include "bm_time.h"
#include "bm_units.h"
#include "ctl_store.h"

int
ctl_machine_dir(const struct ctl *ctl, const char *machine, char *buf,
    size_t size)
{
	if (!bm_valid_name(machine)) {
		ctl_err(ctl, "'%s' is not a valid machine name", machine);
		return CTL_FAIL;
	}
	if (bm_path(buf, size, "%s/machines/%s", ctl->store, machine) != 0) {
		ctl_err(ctl, "store path too long");
		return CTL_FAIL;
	}
	return 0;
}

static int
unlock(const struct ctl *ctl, const char *machine, const struct ctl_opts *o,
    struct ctl_session *s)
{
	char *pw = NULL, prompt[160];
	size_t len = 0;
	int rc;

	if (o->poste_key != NULL) {
		s->who = KEYMGR_POSTE;
		rc = keymgr_unlock_poste(s->km, machine, o->poste_key, &s->sec);
		return rc == 0 ? 0 : ctl_km_fail(ctl, s->km);
	}
	if (o->user != NULL) {
		s->who = KEYMGR_USER;
		snprintf(s->user, sizeof(s->user), "%s", o->user);
		snprintf(prompt, sizeof(prompt), "Password of user %s: ",
		    o->user);
	} else {
		s->who = KEYMGR_ADMIN;
		snprintf(prompt, sizeof(prompt), "Administrator password: ");
	}
	if (ctl_password(ctl, prompt, o->password_file,
	    "BEEMO_PASSWORD_FILE", 0, &pw, &len) != 0)
		return CTL_FAIL;
	if (s->who == KEYMGR_USER)
		rc = keymgr_unlock_user(s->km, machine, o->user, pw, len,
		    &s->sec);
	else
		rc = keymgr_unlock_admin(s->km, machine, pw, len, &s->sec);
	bm_free_secret(pw, len);
	return rc == 0 ? 0 : ctl_km_fail(ctl, s->km);
}

/* Live progress for `beemoctl status`: STORE/run/VERB-PID.json, at most
 * once a second, about the machine of the last session opened. */
static char run_machine[80], run_name[96];
static uint64_t run_last;

static void
run_progress(struct ctl_progress *p, uint64_t done, uint64_t total,
    uint64_t files)
{
	struct bm_progress bp;
	uint64_t now = bm_mono_ns();

	if (now - run_last < 1000000000ULL)
		return;
	run_last = now;
	memset(&bp, 0, sizeof(bp));
	bp.op = p->ctl->verb;
	bp.machine = run_machine[0] ? run_machine : NULL;
	bp.started = bm_now_ns() - (now - p->start);
	bp.done = done;
	bp.total = total;
	bp.files = files;
	snprintf(run_name, sizeof(run_name), "%s-%ld", p->ctl->verb,
	    (long)getpid());
	(void)bm_run_progress(p->ctl->store, run_name, &bp);
}

int
ctl_session_open(const struct ctl *ctl, const char *machine,
    const struct ctl_opts *o, int rw, struct ctl_session *s)
{
	struct store_opts so;
	int rc;

	memset(s, 0, sizeof(*s));
	snprintf(run_machine, sizeof(run_machine), "%s", machine);
	s->machine = machine;
	if (ctl_machine_dir(ctl, machine, s->dir, sizeof(s->dir)) != 0)
		return CTL_FAIL;
	if (rw && o->user != NULL) {
		ctl_err(ctl, "a user's password opens restores only; use "
			     "--admin or --poste-key");
		return CTL_FAIL;
	}
	if (ctl_keymgr(ctl, &s->km) != 0)
		return CTL_FAIL;
	if (unlock(ctl, machine, o, s) != 0)
		goto fail;
	memset(&so, 0, sizeof(so));
	so.rdonly = !rw;
	rc = store_open(s->dir, s->sec, &so, &s->st);
	if (rc == 0)
		return 0;
	if (rc == BEEMO_ENOSTORE)
		ctl_err(ctl, "machine %s has no backups yet", machine);
	else if (rc == BEEMO_ELOCKED)
		ctl_err(ctl, "machine %s is in use by another process (a "
			     "mounted backup session?)", machine);
	else
		ctl_err(ctl, "%s: %s", s->dir, beemo_strerror(rc));
fail:
	keymgr_secret_free(s->sec);
	keymgr_free(s->km);
	memset(s, 0, sizeof(*s));
	return CTL_FAIL;
}

int
ctl_session_close(const struct ctl *ctl, struct ctl_session *s)
{
	int rc = s->st != NULL ? store_close(s->st) : 0;

	keymgr_secret_free(s->sec);
	keymgr_free(s->km);
	s->st = NULL;
	s->sec = NULL;
	s->km = NULL;
	if (rc != 0) {
		ctl_err(ctl, "closing the store of %s: %s", s->machine,
		    beemo_strerror(rc));
		return CTL_FAIL;
	}
	return 0;
}

int
ctl_daemon(const struct ctl *ctl, const char *machine,
    struct control_client *c)
{
	char dir[4096];

	if (ctl_machine_dir(ctl, machine, dir, sizeof(dir)) != 0)
		return CTL_FAIL;
	if (control_client_init(c, ctl->store, machine, 600 * 1000) != 0) {
		ctl_err(ctl, "store path too long");
		return CTL_FAIL;
	}
	return 0;
}

int
ctl_daemon_done(const struct ctl *ctl, const char *machine,
    const struct control_client *c, int rc)
{
	if (rc == 0)
		return 1;
	if (rc == -ENOTCONN)
		return 0;
	ctl_err(ctl, "the beemofs of %s: %s", machine, c->error);
	return -1;
}

void
ctl_progress_init(struct ctl_progress *p, const struct ctl *ctl,
    const char *what)
{
	memset(p, 0, sizeof(*p));
	p->ctl = ctl;
	p->what = what;
	p->start = bm_mono_ns();
	p->tty = !ctl->quiet && isatty(STDERR_FILENO);
}

void
ctl_progress(struct ctl_progress *p, uint64_t done, uint64_t total,
    uint64_t files)
{
	uint64_t now = bm_mono_ns();
	double secs = (double)(now - p->start) / 1e9, rate;
	char d[32], t[32], r[32], left[32] = "";

	run_progress(p, done, total, files);
	if (!p->tty || now - p->last < 200000000ULL)
		return;
	p->last = now;
	rate = secs > 0 ? (double)done / secs : 0;
	bm_human(d, sizeof(d), done);
	bm_human(r, sizeof(r), (uint64_t)rate);
	if (total > done && rate > 0)
		snprintf(left, sizeof(left), ", %.0f s left",
		    (double)(total - done) / rate);
	if (total > 0)
		fprintf(stderr, "\r%s: %s of %s (%.0f%%), %s/s%s", p->what, d,
		    bm_human(t, sizeof(t), total),
		    100.0 * (double)done / (double)total, r, left);
	else
		fprintf(stderr, "\r%s: %s, %llu files, %s/s", p->what, d,
		    (unsigned long long)files, r);
	fputs("\033[K", stderr);
	p->shown = 1;
}

void
ctl_progress_end(struct ctl_progress *p)
{
	if (run_name[0] != '\0')
		bm_run_remove(p->ctl->store, run_name);
	run_name[0] = '\0';
	run_last = 0;
	if (p->shown)
		fputs("\r\033[K", stderr);
	p->shown = 0;
}

void
ctl_progress_cb(void *ctx, uint64_t done, uint64_t total)
{
	ctl_progress(ctx, done, total, 0);
}

struct dlist {
	struct ctl_dirent *e;
	size_t n, cap;
	int err;
};

static int
collect(void *ctx, const char *name, const struct store_attr *a,
    uint64_t next)
{
	struct dlist *l = ctx;

	(void)next;
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct ctl_dirent *n = realloc(l->e, cap * sizeof(*n));

		if (n == NULL) {
			l->err = -ENOMEM;
			return 1;
		}
		l->e = n;
		l->cap = cap;
	}
	if ((l->e[l->n].name = strdup(name)) == NULL) {
		l->err = -ENOMEM;
		return 1;
	}
	l->e[l->n++].a = *a;
	return 0;
}

int
ctl_readdir(store *st, uint64_t ino, struct ctl_dirent **out, size_t *n)
{
	struct dlist l = {NULL, 0, 0, 0};
	int rc = store_readdir(st, ino, 0, 1, collect, &l);

	if (rc == 0)
		rc = l.err;
	if (rc != 0) {
		ctl_dirents_free(l.e, l.n);
		return rc;
	}
	*out = l.e;
	*n = l.n;
	return 0;
}

void
ctl_dirents_free(struct ctl_dirent *e, size_t n)
{
	size_t i;

	for (i = 0; e != NULL && i < n; i++)
		free(e[i].name);
	free(e);
}
