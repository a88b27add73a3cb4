/*
 * beemofs_main.c -- beemofs STORE MOUNTPOINT -o machine=NAME,...
 *
 * Order matters: options are checked and the key is unlocked (which may
 * ask for a password on the terminal) before anything else; then, unless
 * -f, the process forks and the parent waits for the child to report
 * that the store is open and the file system mounted, so that the exit
 * status of `beemofs` (and of mount(8) through mount.fuse3) tells the
 * truth.  Threads are started only in the child.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "beemofs.h"
#include "bm_bytes.h"
#include "bm_conf.h"
#include "bm_err.h"
#include "bm_exit.h"
#include "bm_fdio.h"
#include "bm_file.h"
#include "bm_log.h"
#include "bm_nodump.h"
#include "bm_pass.h"
#include "bm_space.h"
#include "control.h"
#include "keymgr.h"
#include "retention.h"
#include "scan.h"

/* The note of the snapshot that ends a session whose client's
 * connection was lost (see retention.h's RETENTION_COMPLETE_NOTE). */
#define SESSION_INCOMPLETE_NOTE "incomplete: the client's connection was lost"

struct opts {
	char *store;
	char *machine;
	char *keyfile;
	char *user;
	char *passfile;
	char *passcmd;
	int passfd; /* -1: none */
	int keyfd;  /* -1: none; else the session opener's socket */
	char *config;
	int admin;
	int nosnapshot;
	int ro;
	int show_help;
};

#define OPT(t, p) {t, offsetof(struct opts, p), 1}

/* Mount options that would make device nodes or set-user-ID programs
 * of a client's files live on the appliance: dropped (opt_proc). */
enum { KEY_UNSAFE = 1 };

static const struct fuse_opt opt_spec[] = {
	OPT("machine=%s", machine),
	OPT("keyfile=%s", keyfile),
	OPT("keyfd=%d", keyfd),
	OPT("user=%s", user),
	OPT("password-file=%s", passfile),
	OPT("passfile=%s", passfile),
	OPT("password-command=%s", passcmd),
	OPT("password-fd=%d", passfd),
	OPT("config=%s", config),
	OPT("admin", admin),
	OPT("nosnapshot", nosnapshot),
	OPT("ro", ro),
	FUSE_OPT_KEY("ro", FUSE_OPT_KEY_KEEP),
	OPT("-h", show_help),
	OPT("--help", show_help),
	FUSE_OPT_KEY("suid", KEY_UNSAFE),
	FUSE_OPT_KEY("dev", KEY_UNSAFE),
	FUSE_OPT_END,
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: beemofs STORE MOUNTPOINT -o machine=NAME,keyfile=FILE "
	    "[-f] [-o OPTIONS]\n"
	    "       beemofs STORE MOUNTPOINT -o machine=NAME,user=USER "
	    "[-o password-file=FILE|password-command=CMD|password-fd=N]\n"
	    "       beemofs STORE MOUNTPOINT -o machine=NAME,admin "
	    "[-o password-file=FILE|password-command=CMD|password-fd=N]\n\n"
	    "Mounts the backup set of one machine.  With keyfile= (the "
	    "machine's POSTE key\nfile) it is a read-write backup session "
	    "of the live tree alone, without\n/.snapshots; with user= or "
	    "admin it is a read-only restore session opened\nwith that "
	    "password, where every snapshot can be browsed.\n\n"
	    "options:\n"
	    "  -o machine=NAME     the machine (required)\n"
	    "  -o keyfile=FILE     POSTE key file: backup session\n"
	    "  -o keyfd=N          backup session whose POSTE key file comes "
	    "from the\n"
	    "                      session opener on descriptor N "
	    "(beemo-sessiond(8))\n"
	    "  -o user=USER        restore session as USER (password)\n"
	    "  -o admin            restore session as the administrator\n"
	    "  -o password-file=FILE\n"
	    "                      read the password from FILE (also spelt "
	    "passfile=;\n"
	    "                      default: $BEEMO_PASSWORD_FILE, the "
	    "command in\n"
	    "                      $BEEMO_PASSWORD_COMMAND, the credential\n"
	    "                      beemo-admin-password with admin, the "
	    "terminal)\n"
	    "  -o password-command=CMD\n"
	    "                      run CMD with /bin/sh and read the password "
	    "from\n"
	    "                      its first line of output (a comma in CMD "
	    "is written \\,)\n"
	    "  -o password-fd=N    read the password from descriptor N\n"
	    "  -o config=FILE      configuration file (default $BEEMO_CONFIG "
	    "or " BM_CONF_DEFAULT ")\n"
	    "  -o nosnapshot       no snapshot when the backup session ends\n"
	    "  -o ro               refused with keyfile= (restore sessions "
	    "are read-only)\n"
	    "  -f                  stay in the foreground, log to stderr\n"
	    "  -d                  foreground with FUSE debugging\n"
	    "  -s                  single-threaded\n"
	    "  -o allow_other      let other users see the mount\n"
	    "  -V, --version       print the version\n"
	    "  -h, --help          this help\n"
	    "\nexit status: 0 mounted, 1 failed, 2 usage, 3 busy (a backup "
	    "session of the\nmachine is mounted already)\n");
}

static int
opt_proc(void *data, const char *arg, int key, struct fuse_args *out)
{
	struct opts *o = data;

	(void)out;
	if (key == FUSE_OPT_KEY_NONOPT && o->store == NULL) {
		o->store = strdup(arg);
		return 0;
	}
	if (key == KEY_UNSAFE)
		return 0; /* mount.fuse3 passes them for fstab's defaults */
	return 1;
}

/* ---- the control socket (control.h) --------------------------------- */

static int
ctl_snapshot(void *ctx, const struct store_snapinfo *want, int if_changed,
    uint32_t *id, int *created)
{
	struct beemofs *fs = ctx;
	int rc = store_snapshot_take(fs->st, want, if_changed, id, created);

	if (rc == 0 && *created)
		bm_log(LOG_NOTICE, "snapshot %u taken", *id);
	return rc;
}

static int
ctl_tag(void *ctx, uint32_t id, const char *tag, int add)
{
	struct beemofs *fs = ctx;

	return store_snapshot_tag(fs->st, id, tag, add);
}

static int
ctl_snapshots(void *ctx, struct store_snapinfo **v, size_t *n)
{
	struct beemofs *fs = ctx;

	return store_snapshots(fs->st, v, n);
}

/* An entry from a process that cannot write the store we own (a
 * restore session, beemoctl restore): durable before the answer. */
static int
ctl_journal(void *ctx, const struct store_journal_entry *e)
{
	struct beemofs *fs = ctx;
	int rc = store_journal_add(fs->st, e);

	return rc == 0 ? store_sync(fs->st) : rc;
}

static int
ctl_sync(void *ctx)
{
	struct beemofs *fs = ctx;

	return store_sync(fs->st);
}

static int
ctl_status(void *ctx, char **json)
{
	struct beemofs *fs = ctx;
	struct store_stats s;
	int rc;

	if ((rc = store_stats(fs->st, &s)) != 0)
		return rc;
	if (asprintf(json, "{\"mounted\":true,\"read_only\":%s,\"pid\":%ld,"
	    "\"session_files\":%llu,\"session_bytes\":%llu,\"stored\":%llu}",
	    fs->rdonly ? "true" : "false", (long)getpid(),
	    (unsigned long long)s.session_files,
	    (unsigned long long)s.session_bytes,
	    (unsigned long long)s.stored) < 0)
		return -ENOMEM;
	return 0;
}

static int
ctl_stats(void *ctx, char **json)
{
	struct beemofs *fs = ctx;

	return beemofs_report_stats(fs->report, json);
}

static int
ctl_quota_set(void *ctx, const struct control_quota *q, char *msg,
    size_t msgsize)
{
	struct beemofs *fs = ctx;
	struct quota_change c = {q->set_soft, q->set_hard, q->soft, q->hard};

	return beemofs_report_quota_set(fs->report, &c, msg, msgsize);
}

static const struct control_handlers ctl_handlers = {
	ctl_snapshot, ctl_snapshots, ctl_journal, ctl_sync, ctl_status,
	ctl_stats, ctl_quota_set, ctl_tag,
};

/* ---- unlocking -------------------------------------------------------- */

#define KEYFD_MAX (64u * 1024) /* bytes of a key file from the opener */

/* The POSTE key file from the session opener on o->keyfd: a line with
 * its length, then its bytes (beemo-sessiond(8)).  They are kept in
 * memory only, and wiped once the machine is unlocked. */
static int
unlock_keyfd(struct opts *o, keymgr *km, keymgr_secret **sec)
{
	char line[32], *end;
	unsigned long len;
	uint8_t *buf = NULL;
	int rc;

	if ((rc = bm_read_line(o->keyfd, line, sizeof(line), 30000)) != 0) {
		fprintf(stderr, "beemofs: no key file from descriptor %d: "
		    "%s\n", o->keyfd, strerror(-rc));
		return rc;
	}
	errno = 0;
	len = strtoul(line, &end, 10);
	if (errno != 0 || end == line || *end != '\0' || len == 0 ||
	    len > KEYFD_MAX) {
		fprintf(stderr, "beemofs: the client's key file is not a "
		    "POSTE key file (bad length)\n");
		return BEEMO_EFORMAT;
	}
	if ((buf = OPENSSL_secure_malloc(len)) == NULL)
		return -ENOMEM;
	if ((rc = bm_read_full(o->keyfd, buf, len, 30000)) != 0) {
		fprintf(stderr, "beemofs: the client's key file was cut "
		    "short: %s\n", strerror(-rc));
		goto out;
	}
	rc = keymgr_unlock_poste_buf(km, o->machine, buf, len,
	    "sent by the client", sec);
	if (rc != 0)
		fprintf(stderr, "beemofs: cannot open machine %s with the "
		    "client's key file: %s\n", o->machine,
		    keymgr_errmsg(km)[0] != '\0' ? keymgr_errmsg(km) :
		    beemo_strerror(rc));
out:
	OPENSSL_secure_clear_free(buf, len);
	return rc;
}

/* Whether the session opener on @fd ends the session as the client
 * asked ("end") rather than because its connection was lost (any other
 * line, end of file, or nothing within 10 s). */
static int
keyfd_complete(int fd)
{
	char line[32];

	return bm_read_line(fd, line, sizeof(line), 10000) == 0 &&
	    strcmp(line, "end") == 0;
}

/* The end of a session opened through o->keyfd: one line of JSON
 * (format beemo-session-end) for the opener.  @id is 0 when there is
 * no snapshot. */
static void
keyfd_report(int fd, uint32_t id, int created, int complete,
    struct beemofs_report *r)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	bm_json j;

	if (f == NULL)
		return;
	bm_json_init(&j, f);
	bm_json_head(&j, "beemo-session-end", 1);
	if (id != 0)
		bm_json_u64(&j, "snapshot", id);
	else
		bm_json_null(&j, "snapshot");
	bm_json_bool(&j, "created", created);
	bm_json_bool(&j, "complete", complete);
	beemofs_report_refused_json(r, &j);
	bm_json_end_obj(&j);
	if (fclose(f) == 0 && text != NULL) {
		text[strcspn(text, "\n")] = '\0';
		if (dprintf(fd, "%s\n", text) < 0)
			bm_log(LOG_WARNING, "the session opener is gone: %s",
			    strerror(errno));
	}
	free(text);
}

static int
unlock(struct opts *o, keymgr *km, keymgr_secret **sec)
{
	char *pw = NULL;
	size_t len = 0;
	struct bm_pass_src src = {
		.file = o->passfile,
		.command = o->passcmd,
		.fd = o->passfd,
		.file_env = "BEEMO_PASSWORD_FILE",
		.command_env = "BEEMO_PASSWORD_COMMAND",
		.credential = o->admin ? "beemo-admin-password" : NULL,
	};
	char prompt[256], from[4200];
	int rc;

	if (o->keyfd >= 0)
		return unlock_keyfd(o, km, sec);
	if (o->keyfile != NULL) {
		rc = keymgr_unlock_poste(km, o->machine, o->keyfile, sec);
		if (rc != 0)
			fprintf(stderr, "beemofs: %s: cannot open machine %s "
			    "with this key file: %s\n", o->keyfile, o->machine,
			    beemo_strerror(rc));
		return rc;
	}
	snprintf(prompt, sizeof(prompt), "Password for %s%s of %s: ",
	    o->admin ? "the administrator" : "user ", o->admin ? "" : o->user,
	    o->machine);
	if ((rc = bm_password_get(&src, prompt, 0, &pw, &len, from,
	    sizeof(from))) != 0) {
		if (rc == -ECHILD)
			fprintf(stderr, "beemofs: %s\n", from);
		else
			fprintf(stderr, "beemofs: cannot read the password "
			    "from %s: %s\n", from, rc == -ENOTTY ? "no "
			    "terminal (use -o password-file=FILE)" :
			    beemo_strerror(rc));
		return rc;
	}
	if (o->admin)
		rc = keymgr_unlock_admin(km, o->machine, pw, len, sec);
	else
		rc = keymgr_unlock_user(km, o->machine, o->user, pw, len, sec);
	bm_free_secret(pw, len);
	if (rc != 0)
		fprintf(stderr, "beemofs: cannot open machine %s as %s%s: %s\n",
		    o->machine, o->admin ? "administrator" : "user ",
		    o->admin ? "" : o->user, beemo_strerror(rc));
	return rc;
}

static int
check_opts(struct opts *o, const char *mountpoint)
{
	int principals = (o->keyfile != NULL) + (o->keyfd >= 0) +
	    (o->user != NULL) + o->admin;

	if (o->store == NULL || mountpoint == NULL) {
		fprintf(stderr, "beemofs: STORE and MOUNTPOINT are required "
		    "(see beemofs --help)\n");
		return -1;
	}
	if (o->machine == NULL) {
		fprintf(stderr, "beemofs: -o machine=NAME is required\n");
		return -1;
	}
	if (!bm_valid_name(o->machine)) {
		fprintf(stderr, "beemofs: '%s' is not a valid machine name\n",
		    o->machine);
		return -1;
	}
	if (principals != 1) {
		fprintf(stderr, "beemofs: give exactly one of -o keyfile=FILE "
		    "or keyfd=N (backup), -o user=USER or -o admin "
		    "(restore)\n");
		return -1;
	}
	if ((o->keyfile != NULL || o->keyfd >= 0) && o->ro) {
		fprintf(stderr, "beemofs: -o ro: a session opened with a key "
		    "file is a backup session, which sees and writes the live "
		    "tree only; browsing history needs a user's or the "
		    "administrator's password (-o user=USER or -o admin)\n");
		return -1;
	}
	if ((o->passfile != NULL) + (o->passcmd != NULL) +
	    (o->passfd >= 0) > 1) {
		fprintf(stderr, "beemofs: give at most one of -o "
		    "password-file=, password-command= and password-fd=\n");
		return -1;
	}
	if ((o->keyfile != NULL || o->keyfd >= 0) && (o->passfile != NULL ||
	    o->passcmd != NULL || o->passfd >= 0)) {
		fprintf(stderr, "beemofs: a password option goes with -o "
		    "user=USER or -o admin, not with keyfile=\n");
		return -1;
	}
	if (o->user != NULL && !bm_valid_name(o->user)) {
		fprintf(stderr, "beemofs: '%s' is not a valid user name\n",
		    o->user);
		return -1;
	}
	return 0;
}

/* [store] close: "background" (default) or "wait" (store_cqueue.h). */
#define CLOSE_THREADS 2

static int
store_opts_from_conf(const bm_conf *conf, struct store_opts *so)
{
	const char *close_mode = bm_conf_get(conf, "store", NULL, "close",
	    "background");

	so->pack_size = bm_conf_get_size(conf, "store", NULL, "pack_size", 0);
	so->zstd_level = (int)bm_conf_get_u64(conf, "store", NULL,
	    "compression_level", 0);
	so->commit_ms = (unsigned)(1000 * bm_conf_get_u64(conf, "store", NULL,
	    "commit_interval", 1));
	so->cache_size = bm_conf_get_size(conf, "store", NULL, "cache_size", 0);
	if (strcmp(close_mode, "background") == 0) {
		so->commit_threads = CLOSE_THREADS;
	} else if (strcmp(close_mode, "wait") != 0) {
		bm_log(LOG_ERR, "%s: [store] close must be background or wait, "
		    "not \"%s\"", bm_conf_path(conf), close_mode);
		return BEEMO_ECONFIG;
	}
	return 0;
}

/* A restore session's journal entry: who read which files. */
static void
journal_reads(struct beemofs *fs, const char *dir, const keymgr_secret *sec)
{
	struct store_journal_entry e;
	char summary[160], who[80], error[512] = "";
	size_t i;
	int rc;

	memset(&e, 0, sizeof(e));
	keymgr_secret_who(sec, who, sizeof(who));
	snprintf(summary, sizeof(summary), "read-only restore session: %zu "
	    "files opened%s", fs->nread, fs->nread > fs->nread_paths ?
	    " (the first ones listed)" : "");
	e.type = "restore";
	e.who = who;
	e.summary = summary;
	e.files = (const char *const *)fs->read_paths;
	e.nfiles = fs->nread_paths;
	if ((rc = control_journal_record(dir, sec, &e, error,
	    sizeof(error))) != 0)
		bm_log(LOG_WARNING, "the restore session could not be "
		    "journaled: %s", *error ? error : beemo_strerror(rc));
	for (i = 0; i < fs->nread_paths; i++)
		free(fs->read_paths[i]);
	free(fs->read_paths);
}

/*
 * Refuse what libfuse or the kernel would refuse, before the store is
 * touched: options libfuse does not know (parsed on a copy of the
 * arguments, since parsing consumes them) and a mount point that is not a
 * directory.
 */
static int
check_fuse_args(const struct fuse_args *args, const char *mountpoint)
{
	struct fuse_args copy = FUSE_ARGS_INIT(0, NULL);
	struct fuse_session *se;
	struct stat sb;
	int i, rc = 0;

	if (stat(mountpoint, &sb) != 0) {
		fprintf(stderr, "beemofs: %s: %s\n", mountpoint,
		    strerror(errno));
		return -1;
	}
	if (!S_ISDIR(sb.st_mode)) {
		fprintf(stderr, "beemofs: %s: the mount point must be a "
		    "directory\n", mountpoint);
		return -1;
	}
	for (i = 0; i < args->argc; i++)
		if (fuse_opt_add_arg(&copy, args->argv[i]) != 0)
			rc = -1;
	if (rc == 0 && (se = fuse_session_new(&copy, &beemofs_ops,
	    sizeof(beemofs_ops), NULL)) != NULL)
		fuse_session_destroy(se);
	else
		rc = -1; /* libfuse said why */
	fuse_opt_free_args(&copy);
	return rc;
}

/* ---- the end of a session on a signal --------------------------------- */

/*
 * SIGTERM and SIGINT end the session: libfuse's handler stops the loop,
 * which then waits for every request under way.  A request may be a
 * long one (the commit of a big file, its antivirus scan), so the store
 * is told first (store_interrupt(): those stop with EINTR) and the wait
 * stays bounded.  Then the libfuse handler runs as before.
 */
static store *interrupt_store;
static struct sigaction fuse_term, fuse_int;

static void
on_term(int sig)
{
	const struct sigaction *prev = sig == SIGTERM ? &fuse_term : &fuse_int;

	if (interrupt_store != NULL)
		store_interrupt(interrupt_store);
	if (prev->sa_handler != SIG_DFL && prev->sa_handler != SIG_IGN)
		prev->sa_handler(sig);
}

/* Chain on_term() before the handlers libfuse set (@st), or put them
 * back (NULL). */
static void
interrupt_signals(store *st)
{
	struct sigaction sa;

	if (st == NULL) {
		sigaction(SIGTERM, &fuse_term, NULL);
		sigaction(SIGINT, &fuse_int, NULL);
		interrupt_store = NULL;
		return;
	}
	interrupt_store = st;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, &fuse_term);
	sigaction(SIGINT, &sa, &fuse_int);
}

/* ---- main ------------------------------------------------------------- */

/* Tell the waiting parent how it went (see the top comment). */
static void
report_parent(int *fd, char status)
{
	if (*fd < 0)
		return;
	if (write(*fd, &status, 1) != 1) {
		/* The parent is gone; nothing to tell. */
	}
	close(*fd);
	*fd = -1;
}

static int
run(struct opts *o, struct fuse_args *args, struct fuse_cmdline_opts *co,
    bm_conf *conf, keymgr *km, keymgr_secret *sec, int *ready_fd)
{
	char dir[PATH_MAX], sock[PATH_MAX];
	uint8_t appl[KEYMGR_ID_LEN], mach[KEYMGR_ID_LEN];
	struct store_opts so;
	struct beemofs fs;
	struct control_server *cs = NULL;
	struct fuse_loop_config *lc = NULL;
	struct scan_engine *av = NULL;
	struct beemofs_sched *sched = NULL;
	uint32_t snap_id = 0;
	int rc, snap, complete, created = 0;

	memset(&fs, 0, sizeof(fs));
	memset(&so, 0, sizeof(so));
	/* A key file opens a backup session (check_opts() refused -o ro
	 * with it): the live tree only, never history.  History is for the
	 * passwords of people (beemofs(8), Sessions). */
	fs.rdonly = o->keyfile == NULL && o->keyfd < 0;
	fs.timeout = 1.0;
	if (bm_path(dir, sizeof(dir), "%s/machines/%s", o->store, o->machine) ||
	    bm_path(sock, sizeof(sock), "%s/ctl.sock", dir)) {
		bm_log(LOG_ERR, "%s: path too long", o->store);
		return 1;
	}
	rc = store_read_id(dir, appl, mach);
	if (rc == BEEMO_ENOSTORE && !fs.rdonly) {
		keymgr_appliance_id(km, appl);
		if ((rc = store_create(dir, appl, sec)) != 0) {
			bm_log(LOG_ERR, "%s: cannot create the store: %s", dir,
			    beemo_strerror(rc));
			return 1;
		}
		bm_log(LOG_NOTICE, "created the store of machine %s",
		    o->machine);
	} else if (rc == BEEMO_ENOSTORE) {
		bm_log(LOG_ERR, "machine %s has no backups yet (%s)",
		    o->machine, dir);
		return 1;
	} else if (rc != 0) {
		bm_log(LOG_ERR, "%s: %s", dir, beemo_strerror(rc));
		return 1;
	}
	if (store_opts_from_conf(conf, &so) != 0)
		return 1;
	so.commit_failed = beemofs_stale;
	so.commit_failed_ctx = &fs;
	so.rdonly = fs.rdonly;
	so.live_only = !fs.rdonly;
	{
		struct bm_space sp;

		if ((rc = bm_space_get(conf, o->store, &sp)) != 0) {
			bm_log(LOG_ERR, "%s: %s", o->store,
			    beemo_strerror(rc));
			return 1;
		}
		so.reserve = sp.reserve;
		so.quota_default = sp.machine_quota;
	}
	if (!fs.rdonly) {
		if ((rc = scan_open(conf, &av)) != 0)
			return 1; /* scan_open said why */
		scan_store_opts(av, &so);
		if ((rc = beemofs_report_init(&fs.report, o->store, o->machine,
		    conf, km, &so)) != 0) {
			rc = 1;
			goto out_scan;
		}
	}
	if ((rc = store_open(dir, sec, &so, &fs.st)) != 0) {
		bm_log(LOG_ERR, "%s: cannot open the store: %s%s", dir,
		    beemo_strerror(rc), rc == BEEMO_ELOCKED ?
		    " (a backup session of this machine is already mounted)" :
		    "");
		/* Held by another session: try again later (bm_exit.h). */
		rc = rc == BEEMO_ELOCKED ? BM_EXIT_BUSY : BM_EXIT_FAIL;
		goto out_scan;
	}
	{
		char who[80];

		store_set_who(fs.st, keymgr_secret_who(sec, who, sizeof(who)));
	}
	if (!fs.rdonly && (rc = store_session_begin(fs.st)) != 0) {
		bm_log(LOG_ERR, "%s: cannot start the session: %s", dir,
		    beemo_strerror(rc));
		rc = 1;
		goto out_store;
	}
	if (beemofs_report_start(fs.report, fs.st, av) != 0) {
		rc = 1;
		goto out_store;
	}
	pthread_mutex_init(&fs.read_lock, NULL);
	fs.se = fuse_session_new(args, &beemofs_ops, sizeof(beemofs_ops), &fs);
	if (fs.se == NULL) {
		rc = 1;
		goto out_store;
	}
	if (fuse_set_signal_handlers(fs.se) != 0) {
		rc = 1;
		goto out_session;
	}
	scan_signals(av);
	interrupt_signals(fs.st);
	if (fuse_session_mount(fs.se, co->mountpoint) != 0) {
		bm_log(LOG_ERR, "%s: cannot mount", co->mountpoint);
		rc = 1;
		goto out_signals;
	}
	if (beemofs_inval_start(&fs) != 0) {
		rc = 1;
		goto out_unmount;
	}
	if (!fs.rdonly && (rc = control_server_start(sock, &ctl_handlers, &fs,
	    km, &cs)) != 0) {
		bm_log(LOG_ERR, "%s: cannot listen: %s", sock,
		    beemo_strerror(rc));
		rc = 1;
		goto out_inval;
	}
	if (!fs.rdonly && beemofs_sched_start(&sched, fs.st, conf) != 0) {
		rc = 1;
		goto out_control;
	}
	bm_log(LOG_NOTICE, "machine %s mounted on %s (%s session)",
	    o->machine, co->mountpoint, fs.rdonly ? "read-only restore" :
	    "backup");
	if (*ready_fd >= 0) {
		/* Daemon: from now on the log goes to syslog. */
		int null = open("/dev/null", O_RDWR);

		report_parent(ready_fd, 0);
		bm_log_open("beemofs", 1, 0);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
			if (null > 2)
				close(null);
		}
	}
	if (co->singlethread) {
		rc = fuse_session_loop(fs.se);
	} else {
		lc = fuse_loop_cfg_create();
		fuse_loop_cfg_set_max_threads(lc, 8);
		fuse_loop_cfg_set_idle_threads(lc, 4);
		rc = fuse_session_loop_mt(fs.se, lc);
		fuse_loop_cfg_destroy(lc);
	}
	rc = rc < 0 ? 1 : 0;
	/* Files still open when the session ends (SIGTERM): the kernel
	 * will not release them any more. */
	store_release_all(fs.st);
	/* Their commits, and those queued at close, end while the
	 * invalidation thread still runs (store_opts.commit_failed). */
	(void)store_sync(fs.st);
	beemofs_sched_stop(sched);
out_control:
	control_server_stop(cs);
out_inval:
	beemofs_inval_stop(&fs);
out_unmount:
	fuse_session_unmount(fs.se);
out_signals:
	interrupt_signals(NULL);
	fuse_remove_signal_handlers(fs.se);
out_session:
	fuse_session_destroy(fs.se);
out_store:
	if (!fs.rdonly && store_session_end(fs.st) != 0)
		bm_log(LOG_WARNING, "the end of the session is not journaled");
	/* A snapshot only if the live tree changed since the last one
	 * (store_snapshot_take): a manual snapshot just before the unmount
	 * is not made twice. */
	/* A session opened by a client through beemo-sessiond always ends
	 * with a snapshot: complete if the client ended it, "incomplete"
	 * (never counted as complete by retention) if its connection was
	 * lost; the opener gets the summary. */
	complete = 1;
	if (!fs.rdonly && o->keyfd >= 0)
		complete = keyfd_complete(o->keyfd);
	snap = !fs.rdonly && !o->nosnapshot && rc == 0 &&
	    (o->keyfd >= 0 ||
	    bm_conf_get_bool(conf, "snapshot", NULL, "on_unmount", 1));
	if (snap) {
		struct store_snapinfo want;
		int src;

		memset(&want, 0, sizeof(want));
		snprintf(want.note, sizeof(want.note), "%s", complete ?
		    RETENTION_COMPLETE_NOTE : SESSION_INCOMPLETE_NOTE);
		src = store_snapshot_take(fs.st, &want, 1, &snap_id,
		    &created);
		if (src != 0) {
			bm_log(LOG_ERR, "end-of-session snapshot failed: %s",
			    beemo_strerror(src));
			snap_id = 0;
			rc = 1;
		} else if (created) {
			bm_log(LOG_NOTICE, "snapshot %u taken at the end of "
			    "the session%s", snap_id, complete ? "" :
			    " (incomplete: the client's connection was lost)");
		} else {
			bm_log(LOG_INFO, "no snapshot at the end of the "
			    "session: nothing changed since snapshot %u",
			    snap_id);
		}
	}
	if (!fs.rdonly && o->keyfd >= 0)
		keyfd_report(o->keyfd, snap_id, created, complete, fs.report);
	/* What the administrator's policy lets go, now that the session's
	 * snapshot is there (beemofs(8): unmounting takes longer then). */
	if (!fs.rdonly && rc == 0) {
		/* A SIGTERM now (systemd stopping the unit) interrupts the
		 * prune, which the next one completes. */
		interrupt_signals(fs.st);
		beemofs_retention(fs.st, km, o->store, o->machine, fs.report);
		interrupt_signals(NULL);
	}
	beemofs_report_stop(fs.report);
	fs.report = NULL;
	if (fs.st != NULL && store_close(fs.st) != 0) {
		bm_log(LOG_ERR, "closing the store failed: some changes may "
		    "be lost");
		rc = 1;
	}
	if (fs.rdonly && fs.nread > 0)
		journal_reads(&fs, dir, sec);
	pthread_mutex_destroy(&fs.read_lock);
out_scan:
	beemofs_report_stop(fs.report);
	scan_close(av);
	return rc;
}

int
main(int argc, char **argv)
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts co;
	struct opts o;
	char err[512], keydir[PATH_MAX];
	bm_conf *conf = NULL;
	keymgr *km = NULL;
	keymgr_secret *sec = NULL;
	int rc = 1, ready[2] = {-1, -1};

	memset(&o, 0, sizeof(o));
	o.passfd = -1;
	o.keyfd = -1;
	memset(&co, 0, sizeof(co));
	/* Keys and plaintext live in this process: never in a core file. */
	{
		int nd = bm_nodump();

		if (nd != 0) {
			fprintf(stderr, "beemofs: cannot disable core dumps: "
			    "%s\n", strerror(-nd));
			return 1;
		}
	}
	/* Chunk buffers of 1-4 MiB come and go at disk speed: keep them in
	 * the heap for reuse instead of mmap/munmap (and zeroed pages) each
	 * time.  In-flight data is bounded, so is the heap. */
	mallopt(M_MMAP_THRESHOLD, 1 << 20);
	mallopt(M_TRIM_THRESHOLD, 16 << 20);
	mallopt(M_ARENA_MAX, 2);
	bm_log_open("beemofs", 0, 0);
	keymgr_global_init();
	if (fuse_opt_parse(&args, &o, opt_spec, opt_proc) != 0 ||
	    fuse_parse_cmdline(&args, &co) != 0) {
		rc = 2; /* libfuse said why */
		goto out;
	}
	if (o.show_help || co.show_help) {
		usage(stdout);
		rc = 0;
		goto out;
	}
	if (co.show_version) {
		printf("beemofs " BEEMO_VERSION " (libfuse %s)\n",
		    fuse_pkgversion());
		rc = 0;
		goto out;
	}
	if (check_opts(&o, co.mountpoint) != 0) {
		rc = 2;
		goto out;
	}
	{
		/* The daemon may change directory: keep absolute paths. */
		char *abs = realpath(o.store, NULL);

		if (abs == NULL) {
			fprintf(stderr, "beemofs: %s: %s\n", o.store,
			    strerror(errno));
			rc = 1;
			goto out;
		}
		free(o.store);
		o.store = abs;
	}
	if (o.keyfile == NULL && o.keyfd < 0)
		fuse_opt_add_arg(&args, "-oro");
	/* Whatever the command line or fstab says (suid and dev were
	 * dropped by opt_proc): the files are a client's, and a device
	 * node or set-user-ID program among them must not act on the
	 * appliance.  Added last, so that it wins. */
	fuse_opt_add_arg(&args, "-odefault_permissions,nosuid,nodev");
	{
		char fsname[128];

		snprintf(fsname, sizeof(fsname), "-ofsname=beemofs:%s,"
		    "subtype=beemofs", o.machine);
		fuse_opt_add_arg(&args, fsname);
	}
	if (check_fuse_args(&args, co.mountpoint) != 0) {
		rc = 2;
		goto out;
	}
	if (bm_conf_load(o.config, &conf, err, sizeof(err)) != 0) {
		fprintf(stderr, "beemofs: %s\n", err);
		goto out;
	}
	if (bm_path(keydir, sizeof(keydir), "%s/keys", o.store) != 0 ||
	    (rc = keymgr_open(keydir, &km)) != 0) {
		fprintf(stderr, "beemofs: %s: not a Beemo store: %s\n", o.store,
		    beemo_strerror(rc));
		rc = 1;
		goto out;
	}
	if ((rc = unlock(&o, km, &sec)) != 0) {
		rc = 1;
		goto out;
	}
	if (!co.foreground) {
		pid_t pid;
		char status = 1;

		if (pipe(ready) != 0) {
			perror("beemofs: pipe");
			rc = 1;
			goto out;
		}
		if ((pid = fork()) < 0) {
			perror("beemofs: fork");
			rc = 1;
			goto out;
		}
		if (pid > 0) {
			close(ready[1]);
			if (read(ready[0], &status, 1) != 1)
				status = 1;
			rc = status;
			goto out;
		}
		close(ready[0]);
		setsid();
	} else {
		bm_log_open("beemofs", 0, co.debug ? 2 : 0);
	}
	rc = run(&o, &args, &co, conf, km, sec, &ready[1]);
	/* The parent exits with the child's status (bm_exit.h). */
	report_parent(&ready[1], (char)rc);
out:
	keymgr_secret_free(sec);
	keymgr_free(km);
	bm_conf_free(conf);
	fuse_opt_free_args(&args);
	free(co.mountpoint);
	free(o.store);
	free(o.machine);
	free(o.keyfile);
	free(o.user);
	free(o.passfile);
	free(o.passcmd);
	free(o.config);
	return rc;
}
