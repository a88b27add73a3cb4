/*
 * ctl_store.c -- sessions on machines' stores, the daemon's control
 * socket, progress lines (see ctl_store.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "bm_bytes.h"
#include "bm_err.h"
#include "bm_file.h"
#include "bm_pass.h"
#include "bm_status.h"
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

int
ctl_machine_lock(const struct ctl *ctl, const char *machine, int *fd)
{
	const struct timespec pause = {0, 10 * 1000 * 1000};
	char dir[4096], path[4096];
	int tries;

	*fd = -1;
	if (ctl_machine_dir(ctl, machine, dir, sizeof(dir)) != 0)
		return CTL_FAIL;
	if (bm_path(path, sizeof(path), "%s/lock", dir) != 0) {
		ctl_err(ctl, "store path too long");
		return CTL_FAIL;
	}
	*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (*fd < 0) {
		if (errno == ENOENT)
			return 0; /* no store directory: no session */
		ctl_err(ctl, "%s: %s", path, strerror(errno));
		return CTL_FAIL;
	}
	for (tries = 0; flock(*fd, LOCK_EX | LOCK_NB) != 0; tries++) {
		if (errno != EWOULDBLOCK) {
			ctl_err(ctl, "%s: %s", path, strerror(errno));
			goto fail;
		}
		if (tries == 100) {
			ctl_err(ctl, "machine %s has a backup session open: "
				     "end it first (it would go on writing "
				     "with the generation this change "
				     "revokes)", machine);
			close(*fd);
			*fd = -1;
			return BM_EXIT_BUSY;
		}
		nanosleep(&pause, NULL);
	}
	return 0;
fail:
	close(*fd);
	*fd = -1;
	return CTL_FAIL;
}

void
ctl_machine_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
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

/* The machine of the last session opened, for the run files. */
static char run_machine[80];

int
ctl_session_open(const struct ctl *ctl, const char *machine,
    const struct ctl_opts *o, int rw, struct ctl_session *s)
{
	struct store_opts so;
	int rc = CTL_FAIL;

	memset(s, 0, sizeof(*s));
	snprintf(run_machine, sizeof(run_machine), "%s", machine);
	s->machine = machine;
	if (ctl_machine_dir(ctl, machine, s->dir, sizeof(s->dir)) != 0)
		return CTL_FAIL;
	if (rw && o->user != NULL && !o->user_rw) {
		ctl_err(ctl, "a user's password opens restores only; use "
			     "--admin or --poste-key");
		return CTL_FAIL;
	}
	if (ctl_keymgr(ctl, &s->km) != 0)
		return CTL_FAIL;
	if (unlock(ctl, machine, o, s) != 0)
		goto fail;
	if (o->no_store_ok && access(s->dir, F_OK) != 0 && errno == ENOENT)
		return 0;
	memset(&so, 0, sizeof(so));
	so.rdonly = !rw;
	if ((rc = ctl_store_open(ctl, machine, s->dir, s->sec, &so, o->wait,
	    &s->st)) == 0)
		return 0;
fail:
	keymgr_secret_free(s->sec);
	keymgr_free(s->km);
	memset(s, 0, sizeof(*s));
	return rc;
}

/* Block until the session lock of @dir is free; 0, or an errno. */
static int
wait_lock(const char *dir)
{
	char path[4096];
	int fd, rc = 0;

	if (bm_path(path, sizeof(path), "%s/lock", dir) != 0)
		return ENAMETOOLONG;
	if ((fd = open(path, O_RDWR | O_CLOEXEC)) < 0)
		return 0; /* gone: store_open() says what it finds */
	while (flock(fd, LOCK_EX) != 0)
		if (errno != EINTR) {
			rc = errno;
			break;
		}
	close(fd); /* releases it: store_open() takes it again */
	return rc;
}

int
ctl_store_open(const struct ctl *ctl, const char *machine, const char *dir,
    const keymgr_secret *sec, const struct store_opts *so, int wait,
    store **st)
{
	int rc, said = 0, e;

	/* store_open() waits out a reader's brief shared hold itself. */
	for (;;) {
		rc = store_open(dir, sec, so, st);
		if (rc != BEEMO_ELOCKED)
			break;
		if (!wait) {
			ctl_err(ctl, "machine %s has a backup session open "
				     "(or another process holds its store)",
			    machine);
			return BM_EXIT_BUSY;
		}
		if (!said++)
			fprintf(stderr, "%s: %s: waiting for the backup "
			    "session of %s to end\n", ctl->prog, ctl->verb,
			    machine);
		if ((e = wait_lock(dir)) != 0) {
			ctl_err(ctl, "%s/lock: %s", dir, strerror(e));
			return CTL_FAIL;
		}
	}
	if (rc == 0)
		return 0;
	if (rc == BEEMO_ENOSTORE)
		ctl_err(ctl, "machine %s has no backups yet", machine);
	else
		ctl_err(ctl, "%s: %s", dir, beemo_strerror(rc));
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

/* The one run file of this process, STORE/run/VERB-PID.json. */
static struct bm_run_file run = BM_RUN_FILE_INIT;

/* bm_progress_tick_fn: the run file follows the progress line. */
static void
run_tick(void *arg, struct bm_progress *line)
{
	struct bm_progress_counts c;
	struct bm_run r;

	(void)arg;
	bm_progress_read(line, &c);
	memset(&r, 0, sizeof(r));
	r.done = c.bytes_done;
	r.total = c.bytes_total;
	r.files = c.files;
	bm_run_file_note(&run, &r, 0);
}

void
ctl_progress_init(struct ctl_progress *p, const struct ctl *ctl,
    const char *what)
{
	char name[96];

	snprintf(name, sizeof(name), "%s-%ld", ctl->verb, (long)getpid());
	bm_run_file_begin(&run, ctl->store, name, ctl->verb, run_machine);
	bm_progress_start(&p->line, what, ctl->quiet, 0, 0, run_tick, NULL);
	p->started = 1;
}

void
ctl_progress(struct ctl_progress *p, uint64_t done, uint64_t total,
    uint64_t files)
{
	bm_progress_set(&p->line, done, total, files);
}

void
ctl_progress_clear(struct ctl_progress *p)
{
	bm_progress_clear(&p->line);
}

void
ctl_progress_end(struct ctl_progress *p)
{
	struct bm_progress_counts c;

	if (!p->started)
		return;
	p->started = 0;
	bm_run_file_end(&run);
	bm_progress_read(&p->line, &c);
	bm_progress_end(&p->line, c.bytes_done != 0 || c.files != 0);
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
