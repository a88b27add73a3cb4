/*
 * backup_run.c -- beemo-backup backup: open the machine's session on the
 * appliance, copy the paths into it with rsync through the same SSH
 * connection, end it, and report (backup.h).
 *
 * The order matters for what the appliance keeps: END is sent only
 * after rsync finished its run (exit 0, or 23/24 when some files could
 * not be copied); after any other failure or an interrupt, the channel
 * is closed without it and the appliance keeps an incomplete snapshot,
 * which retention never counts as a complete one.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backup.h"
#include "bm_esc.h"
#include "bm_file.h"
#include "bm_json.h"
#include "bm_time.h"
#include "bm_tmpdir.h"
#include "bm_units.h"

/* What rsync's --stats said (numbers without their separators). */
struct rsync_stats {
	uint64_t files;            /* "Number of files" */
	uint64_t files_copied;     /* "Number of regular files transferred" */
	uint64_t bytes;            /* "Total file size" */
	uint64_t bytes_copied;     /* "Total transferred file size" */
	uint64_t bytes_sent;       /* "sent N bytes": over the network */
};

/* What a run gathered for the summary. */
struct run {
	struct rsync_stats stats;
	int rsync_status;          /* rsync's exit status */
	unsigned unreadable;       /* rsync's errors on this machine */
	uint64_t start_ns;
	struct sjson *end;         /* the beemo-session-end object */
	struct backup_refused failed; /* not taken by the appliance */
	size_t failed_new;         /* of which found by this rsync pass */
	int nomem;
};

/* The number at the start of @s ("1,234,567" or "1.234.567" with any
 * locale's separator), separators skipped. */
static uint64_t
stat_num(const char *s)
{
	uint64_t v = 0;

	while (*s == ' ')
		s++;
	for (; *s; s++) {
		if (*s >= '0' && *s <= '9')
			v = v * 10 + (uint64_t)(*s - '0');
		else if (!((*s == ',' || *s == '.' || *s == '\'') &&
		    s[1] >= '0' && s[1] <= '9'))
			break;
	}
	return v;
}

/* One line of rsync's standard output: a --stats line is kept (1), any
 * other line (progress) is not (0). */
static int
stats_line(struct rsync_stats *st, const char *l)
{
	static const struct {
		const char *prefix;
		size_t off;
	} keys[] = {
		{"Number of files:", offsetof(struct rsync_stats, files)},
		{"Number of regular files transferred:",
		    offsetof(struct rsync_stats, files_copied)},
		{"Total file size:", offsetof(struct rsync_stats, bytes)},
		{"Total transferred file size:",
		    offsetof(struct rsync_stats, bytes_copied)},
		{"Total bytes sent:", offsetof(struct rsync_stats, bytes_sent)},
	};
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strncmp(l, keys[i].prefix, strlen(keys[i].prefix)) == 0) {
			*(uint64_t *)((char *)st + keys[i].off) =
			    stat_num(l + strlen(keys[i].prefix));
			return 1;
		}
	/* The rest of --stats: not progress either. */
	return strncmp(l, "Number of ", 10) == 0 ||
	    strncmp(l, "Total ", 6) == 0 || strncmp(l, "Literal ", 8) == 0 ||
	    strncmp(l, "Matched ", 8) == 0 || strncmp(l, "File list ", 10) == 0 ||
	    strncmp(l, "sent ", 5) == 0 || strncmp(l, "total size ", 11) == 0;
}

/* The text of one of rsync's streams, cut in lines at '\n' or '\r'. */
struct stream {
	int fd;
	char buf[8192];
	size_t len;
};

/* One line of rsync's output, @sep ('\n', '\r', or 0 for a line cut
 * at EOF or for its length): a stdout line is --stats (parsed) or
 * progress (shown when @progress); a stderr line is one of rsync's
 * messages, passed on, those about reading this machine's files
 * counted. */
static void
stream_line(const char *l, char sep, int is_err, int progress,
    struct run *r)
{
	int rc;

	if (is_err) {
		/* A file the appliance did not take: said with the
		 * appliance's list at the end; rsync's receiver stopped,
		 * and its end ("rsync error: ...", the sender's broken
		 * pipe) is no news. */
		rc = backup_refused_line(&r->failed, l);
		if (rc < 0)
			r->nomem = 1;
		if (rc == 2)
			r->failed_new++;
		if (rc != 0 || (r->failed_new > 0 &&
		    (strncmp(l, "rsync error: ", 13) == 0 ||
		    strstr(l, "Broken pipe"))))
			return;
		/* rsync 3.2 names the side: "[sender]" is the reading of
		 * this machine's files; the appliance's refusals come from
		 * its "[receiver]" or "[generator]". */
		if (strncmp(l, "rsync: ", 7) == 0 && strstr(l, "[sender]"))
			r->unreadable++;
		fprintf(stderr, "%s\n", l);
	} else if (!stats_line(&r->stats, l) && progress && l[0] != '\0') {
		printf("%s%c", l, sep == '\r' ? '\r' : '\n');
		fflush(stdout);
	}
}

/* Read what is there of @s and hand each whole line to stream_line().
 * Returns 1 while open, 0 at EOF or on a read error. */
static int
stream_read(struct stream *s, int is_err, int progress, struct run *r)
{
	size_t i, start = 0;
	ssize_t n;
	char sep;

	n = read(s->fd, s->buf + s->len, sizeof(s->buf) - 1 - s->len);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 1;
	if (n > 0)
		s->len += (size_t)n;
	for (i = 0; i < s->len; i++) {
		sep = s->buf[i];
		if (sep != '\n' && sep != '\r')
			continue;
		s->buf[i] = '\0';
		stream_line(s->buf + start, sep, is_err, progress, r);
		start = i + 1;
	}
	memmove(s->buf, s->buf + start, s->len - start);
	s->len -= start;
	/* The rest at EOF, or a line longer than the buffer: as it is. */
	if (s->len > 0 && (n <= 0 || s->len == sizeof(s->buf) - 1)) {
		s->buf[s->len] = '\0';
		stream_line(s->buf, 0, is_err, progress, r);
		s->len = 0;
	}
	return n > 0;
}

/* rsync's -e: the ssh command through the master, each word quoted as
 * rsync splits it (single quotes, a quote doubled inside). */
static int
ssh_command(const struct backup_opts *o, const char *ctl, char *out,
    size_t size)
{
	const char *argv[64];
	char store[PATH_MAX * 2 + 256];
	size_t used = 0;
	int n, i;
	const char *c;

	n = backup_ssh_argv(o, ctl, 0, NULL, argv, 64, store, sizeof(store));
	if (n < 0)
		return n;
	for (i = 0; i < n; i++) {
		if (used + 4 >= size)
			return -ENAMETOOLONG;
		if (i > 0)
			out[used++] = ' ';
		out[used++] = '\'';
		for (c = argv[i]; *c; c++) {
			if (used + 4 >= size)
				return -ENAMETOOLONG;
			if (*c == '\'')
				out[used++] = '\'';
			out[used++] = *c;
		}
		out[used++] = '\'';
	}
	out[used] = '\0';
	return 0;
}

/* Kill rsync (SIGTERM) and wait for it. */
static void
stop_rsync(pid_t pid)
{
	kill(pid, SIGTERM);
	backup_wait(pid);
}

/*
 * Run rsync into the open session: its stdout parsed (--stats) and its
 * progress shown, its stderr passed on.  Returns rsync's wait status,
 * or -1 when it could not run or was stopped (message printed).
 */
static int
run_rsync(const struct backup_opts *o, const char *ctl, struct run *r)
{
	char ecmd[PATH_MAX * 3], excl[PATH_MAX + 32], dest[1024];
	const char **argv;
	char **excludes;
	int out[2] = {-1, -1}, err[2] = {-1, -1}, progress, rc = -1;
	struct stream so, se;
	size_t n = 0, i;
	pid_t pid;
	int open_out = 1, open_err = 1, null_fd;

	progress = !o->quiet && !o->json && isatty(STDOUT_FILENO);
	if (ssh_command(o, ctl, ecmd, sizeof(ecmd)) != 0 ||
	    (size_t)snprintf(dest, sizeof(dest), strchr(o->appliance, ':') ?
	    "[%s]::session/" : "%s::session/", o->appliance) >= sizeof(dest)) {
		fprintf(stderr, "beemo-backup: the ssh command is too long\n");
		return -1;
	}
	argv = calloc(o->npaths + r->failed.n + 16, sizeof(*argv));
	excludes = calloc(r->failed.n + 1, sizeof(*excludes));
	for (i = 0; excludes && i < r->failed.n; i++)
		if (!(excludes[i] = backup_refused_exclude(r->failed.real[i])))
			break;
	if (!argv || !excludes || i < r->failed.n) {
		fprintf(stderr, "beemo-backup: out of memory\n");
		goto free_argv;
	}
	argv[n++] = "rsync";
	argv[n++] = "-aHAXR";
	argv[n++] = "--numeric-ids";
	argv[n++] = "--delete";
	argv[n++] = "--stats";
	/* First, so that no rule of the user's includes them again. */
	for (i = 0; i < r->failed.n; i++)
		argv[n++] = excludes[i];
	if (o->exclude_from) {
		snprintf(excl, sizeof(excl), "--exclude-from=%s",
		    o->exclude_from);
		argv[n++] = excl;
	}
	if (o->dry_run)
		argv[n++] = "--dry-run";
	if (progress)
		argv[n++] = "--info=progress2";
	argv[n++] = "-e";
	argv[n++] = ecmd;
	argv[n++] = "--";
	for (i = 0; i < o->npaths; i++)
		argv[n++] = o->paths[i];
	argv[n++] = dest;
	argv[n] = NULL;

	if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
		fprintf(stderr, "beemo-backup: pipe: %s\n", strerror(errno));
		goto close_pipes;
	}
	/* Nothing to read: rsync runs in a process group of its own, and
	 * a read from our terminal would stop it. */
	if ((null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
		fprintf(stderr, "beemo-backup: /dev/null: %s\n",
		    strerror(errno));
		goto close_pipes;
	}
	pid = backup_spawn(argv, null_fd, out[1], err[1]);
	close(null_fd);
	if (pid < 0) {
		fprintf(stderr, "beemo-backup: cannot run rsync: %s\n",
		    strerror((int)-pid));
		goto close_pipes;
	}
	/* rsync's stderr comes through us, to count its errors on this
	 * side. */
	close(out[1]);
	out[1] = -1;
	memset(&so, 0, sizeof(so));
	memset(&se, 0, sizeof(se));
	so.fd = out[0];
	se.fd = err[0];
	close(err[1]);
	err[1] = -1;
	while (open_out || open_err) {
		struct pollfd p[2] = {
			{.fd = open_out ? so.fd : -1, .events = POLLIN},
			{.fd = open_err ? se.fd : -1, .events = POLLIN},
		};

		if (backup_stop) {
			stop_rsync(pid);
			fprintf(stderr, "beemo-backup: interrupted during the "
			    "copy; the session is not ended: the appliance "
			    "keeps an incomplete snapshot\n");
			goto close_pipes;
		}
		if (poll(p, 2, -1) < 0)
			continue;
		if (p[0].revents)
			open_out = stream_read(&so, 0, progress, r);
		if (p[1].revents)
			open_err = stream_read(&se, 1, progress, r);
	}
	if (progress)
		putchar('\n');
	rc = backup_wait(pid);

close_pipes:
	for (i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (err[i] >= 0)
			close(err[i]);
	}
free_argv:
	for (i = 0; excludes && i < r->failed.n; i++)
		free(excludes[i]);
	free(excludes);
	free(argv);
	return rc;
}

/* The private directory of the master's control socket: in memory
 * (bm_tmpdir.h), else a fresh one under $TMPDIR or /tmp (a client
 * without /dev/shm); @fallback receives the latter's path ("" when
 * unused). */
static int
ctl_dir(struct bm_tmpdir *td, char *fallback, size_t size, char *ctl,
    size_t ctlsize)
{
	const char *tmp = getenv("TMPDIR");

	fallback[0] = '\0';
	if (bm_tmpdir_make("backup", td) == 0)
		return bm_path(ctl, ctlsize, "%s/ssh", td->path);
	if (!tmp || tmp[0] != '/' || strlen(tmp) > 60)
		tmp = "/tmp";
	if (bm_path(fallback, size, "%s/beemo-backup-XXXXXX", tmp) != 0 ||
	    !mkdtemp(fallback)) {
		fallback[0] = '\0';
		return -errno;
	}
	return bm_path(ctl, ctlsize, "%s/ssh", fallback);
}

static void
ctl_dir_remove(struct bm_tmpdir *td, const char *fallback, const char *ctl)
{
	if (fallback[0]) {
		unlink(ctl);
		rmdir(fallback);
	}
	bm_tmpdir_remove(td);
}

/* The paths as rsync -R is given them: absolute, so that each keeps its
 * full name under the session's root.  Each must exist (usage error). */
static int
check_paths(const struct backup_opts *o, char **abs)
{
	char cwd[PATH_MAX];
	struct stat st;
	size_t i;

	for (i = 0; i < o->npaths; i++) {
		if (lstat(o->paths[i], &st) != 0) {
			fprintf(stderr, "beemo-backup: %s: %s\n", o->paths[i],
			    strerror(errno));
			return BM_EXIT_USAGE;
		}
		if (o->paths[i][0] == '/') {
			abs[i] = strdup(o->paths[i]);
		} else {
			if (!getcwd(cwd, sizeof(cwd))) {
				fprintf(stderr, "beemo-backup: getcwd: %s\n",
				    strerror(errno));
				return BM_EXIT_FAIL;
			}
			if (asprintf(&abs[i], "%s/%s", strcmp(cwd, "/") ?
			    cwd : "", o->paths[i]) < 0)
				abs[i] = NULL;
		}
		if (!abs[i]) {
			fprintf(stderr, "beemo-backup: out of memory\n");
			return BM_EXIT_FAIL;
		}
	}
	return 0;
}

/* The name to show of the refused file @p of the appliance's list: its
 * real one when @p is rsync's temporary name of a file of r->failed
 * (malloc'd; NULL when out of memory). */
static char *
refused_name(const struct run *r, const char *p)
{
	char *real = backup_refused_real(p ? p : "?");

	if (real && backup_refused_has(&r->failed, real))
		return real;
	free(real);
	return strdup(p ? p : "?");
}

/* The summary for people. */
static void
print_text(const struct backup_opts *o, const struct run *r)
{
	const struct sjson *ref = sjson_get(r->end, "refused", SJSON_ARR);
	const struct sjson *snap = sjson_get(r->end, "snapshot", SJSON_NUM);
	const struct sjson *cr = sjson_get(r->end, "created", SJSON_BOOL);
	char b1[32], b2[32];
	uint64_t ms = (bm_mono_ns() - r->start_ns) / 1000000;
	size_t i;

	if (!o->quiet) {
		printf("%s%s: %s to %s in %llu.%llu s\n", o->dry_run ?
		    "(dry run) " : "", o->machine, o->dry_run ? "compared" :
		    "backed up", o->appliance, (unsigned long long)(ms / 1000),
		    (unsigned long long)(ms % 1000 / 100));
		printf("  files:    %llu (%llu copied)\n",
		    (unsigned long long)r->stats.files,
		    (unsigned long long)r->stats.files_copied);
		printf("  bytes:    %s (%s copied, ",
		    bm_human(b1, sizeof(b1), r->stats.bytes),
		    bm_human(b2, sizeof(b2), r->stats.bytes_copied));
		printf("%s sent)\n", bm_human(b1, sizeof(b1),
		    r->stats.bytes_sent));
		if (snap && snap->is_u64)
			printf("  snapshot: %llu%s\n",
			    (unsigned long long)snap->u64, cr && cr->b ? "" :
			    " (nothing changed: no new snapshot)");
		else
			printf("  snapshot: none taken\n");
	}
	if (!ref || ref->nkids == 0)
		return;
	/* Warnings: on stderr too with --quiet, one line per file. */
	fprintf(o->quiet ? stderr : stdout, "%sfiles refused by the "
	    "antivirus (%llu):\n", o->quiet ? "beemo-backup: " : "  ",
	    (unsigned long long)sjson_num(r->end, "refused_count"));
	for (i = 0; i < ref->nkids; i++) {
		char *p = refused_name(r, sjson_str(&ref->kids[i], "path"));
		const char *v = sjson_str(&ref->kids[i], "virus");

		fputs("    ", o->quiet ? stderr : stdout);
		bm_esc_put(o->quiet ? stderr : stdout, p ? p : "?");
		free(p);
		fputs("  ", o->quiet ? stderr : stdout);
		bm_esc_put(o->quiet ? stderr : stdout, v ? v : "?");
		fputc('\n', o->quiet ? stderr : stdout);
	}
}

/* The summary as one beemo-backup-summary object (beemo-backup(1)). */
static void
print_json(const struct backup_opts *o, const struct run *r, int status)
{
	const struct sjson *ref = sjson_get(r->end, "refused", SJSON_ARR);
	const struct sjson *snap = sjson_get(r->end, "snapshot", SJSON_NUM);
	const struct sjson *b;
	bm_json j;
	size_t i;

	bm_json_init(&j, stdout);
	bm_json_head(&j, "beemo-backup-summary", 1);
	bm_json_str(&j, "appliance", o->appliance);
	bm_json_str(&j, "machine", o->machine);
	bm_json_bool(&j, "dry_run", o->dry_run);
	bm_json_u64(&j, "files", r->stats.files);
	bm_json_u64(&j, "files_copied", r->stats.files_copied);
	bm_json_u64(&j, "bytes", r->stats.bytes);
	bm_json_u64(&j, "bytes_copied", r->stats.bytes_copied);
	bm_json_u64(&j, "bytes_sent", r->stats.bytes_sent);
	bm_json_u64(&j, "duration_ms", (bm_mono_ns() - r->start_ns) /
	    1000000);
	if (snap && snap->is_u64)
		bm_json_u64(&j, "snapshot", snap->u64);
	else
		bm_json_null(&j, "snapshot");
	b = sjson_get(r->end, "created", SJSON_BOOL);
	bm_json_bool(&j, "created", b && b->b);
	b = sjson_get(r->end, "complete", SJSON_BOOL);
	bm_json_bool(&j, "complete", b && b->b);
	bm_json_begin_arr(&j, "refused");
	for (i = 0; ref && i < ref->nkids; i++) {
		char *p = refused_name(r, sjson_str(&ref->kids[i], "path"));

		bm_json_begin_obj(&j, NULL);
		bm_json_str(&j, "path", p);
		bm_json_str(&j, "virus", sjson_str(&ref->kids[i], "virus"));
		bm_json_end_obj(&j);
		free(p);
	}
	bm_json_end_arr(&j);
	bm_json_u64(&j, "refused_count", sjson_num(r->end, "refused_count"));
	bm_json_u64(&j, "unreadable", r->unreadable);
	bm_json_u64(&j, "rsync_status", (uint64_t)r->rsync_status);
	bm_json_u64(&j, "status", (uint64_t)status);
	bm_json_end_obj(&j);
}

/* Send END and read the appliance's beemo-session-end object. */
static int
end_session(struct backup_chan *ch, struct run *r)
{
	char *rest = NULL;
	int rc;

	if (backup_chan_write(ch, "END\n", 4) != 0) {
		fprintf(stderr, "beemo-backup: ending the session: the "
		    "connection to the appliance was lost\n");
		return BM_EXIT_FAIL;
	}
	if ((rc = backup_chan_reply(ch, "ending the session", &rest)) != 0)
		return rc;
	if (sjson_parse(rest, strlen(rest), &r->end) != 0 ||
	    r->end->type != SJSON_OBJ ||
	    !sjson_str(r->end, "format") ||
	    strcmp(sjson_str(r->end, "format"), "beemo-session-end") != 0) {
		fprintf(stderr, "beemo-backup: ending the session: the "
		    "appliance's reply is not a beemo-session-end object\n");
		sjson_free(r->end);
		r->end = NULL;
		free(rest);
		return BM_EXIT_FAIL;
	}
	free(rest);
	return 0;
}

/* The files the appliance did not take that its antivirus did not
 * refuse either (an error of its store): each named, BM_EXIT_FAIL.
 * When the appliance's list is cut short, all count as refused. */
static int
not_refused(const struct run *r)
{
	const struct sjson *ref = sjson_get(r->end, "refused", SJSON_ARR);
	size_t named = ref ? ref->nkids : 0, i, k;
	int rc = 0;
	char *p;

	if (sjson_num(r->end, "refused_count") > named)
		return 0;
	for (i = 0; i < r->failed.n; i++) {
		for (k = 0; k < named; k++) {
			p = refused_name(r, sjson_str(&ref->kids[k], "path"));
			if (p && strcmp(p + (*p == '/'), r->failed.real[i] + 1)
			    == 0) {
				free(p);
				break;
			}
			free(p);
		}
		if (k < named)
			continue;
		fputs("beemo-backup: ", stderr);
		bm_esc_put(stderr, r->failed.real[i]);
		fputs(": not written on the appliance (input/output error; "
		    "its journal says why)\n", stderr);
		rc = BM_EXIT_FAIL;
	}
	return rc;
}

/* The exit status once the session ended, with its reason on stderr. */
static int
final_status(const struct backup_opts *o, const struct run *r)
{
	const struct sjson *c = sjson_get(r->end, "complete", SJSON_BOOL);
	uint64_t refused = sjson_num(r->end, "refused_count");
	int rc;

	if (!o->dry_run && (!c || !c->b)) {
		fprintf(stderr, "beemo-backup: the appliance kept the "
		    "snapshot as incomplete\n");
		return BM_EXIT_FAIL;
	}
	if ((rc = not_refused(r)) != 0)
		return rc;
	if (r->unreadable > 0) {
		fprintf(stderr, "beemo-backup: %u error%s reading files on "
		    "this machine (rsync's messages above)\n", r->unreadable,
		    r->unreadable == 1 ? "" : "s");
		return BM_EXIT_FAIL;
	}
	if (r->rsync_status == 23 && refused == 0) {
		fprintf(stderr, "beemo-backup: rsync could not copy some "
		    "files (exit status 23, its messages above)\n");
		return BM_EXIT_FAIL;
	}
	if (refused > 0 || r->rsync_status == 24)
		return BM_EXIT_WARN;
	return BM_EXIT_OK;
}

int
backup_cmd_backup(const struct backup_opts *o)
{
	struct backup_opts run_opts = *o;
	struct backup_chan ch;
	struct bm_tmpdir td;
	struct run r;
	const char *argv[64];
	char store[PATH_MAX * 2 + 256], ctl[PATH_MAX], fallback[PATH_MAX];
	char how[64], *rest = NULL, **abs;
	int rc, n, st;
	size_t i;

	memset(&r, 0, sizeof(r));
	bm_tmpdir_init(&td);
	fallback[0] = '\0';
	r.start_ns = bm_mono_ns();
	if ((rc = backup_key_check(o->key)) != 0)
		return rc;
	if (!(abs = calloc(o->npaths, sizeof(*abs)))) {
		fprintf(stderr, "beemo-backup: out of memory\n");
		return BM_EXIT_FAIL;
	}
	if ((rc = check_paths(o, abs)) != 0)
		goto free_paths;
	if (o->exclude_from && access(o->exclude_from, R_OK) != 0) {
		fprintf(stderr, "beemo-backup: cannot read the exclude file "
		    "%s: %s\n", o->exclude_from, strerror(errno));
		rc = BM_EXIT_USAGE;
		goto free_paths;
	}
	run_opts.paths = abs;
	if ((rc = ctl_dir(&td, fallback, sizeof(fallback), ctl,
	    sizeof(ctl))) != 0) {
		fprintf(stderr, "beemo-backup: cannot make a private "
		    "directory for the ssh control socket: %s\n",
		    strerror(-rc));
		rc = BM_EXIT_FAIL;
		goto free_paths;
	}
	n = backup_ssh_argv(o, ctl, 1, "open", argv, 64, store,
	    sizeof(store));
	if (n < 0 || (rc = backup_chan_open(&ch, argv)) != 0) {
		fprintf(stderr, "beemo-backup: cannot run ssh: %s\n",
		    strerror(n < 0 ? -n : -rc));
		rc = BM_EXIT_FAIL;
		goto remove_dir;
	}
	/* Step 1: the session, opened by the key file. */
	if ((rc = backup_key_send(o, &ch)) != 0 ||
	    (rc = backup_chan_reply(&ch, "opening the session", &rest)) != 0) {
		rc = backup_chan_failed(o, &ch, rc);
		goto remove_dir;
	}
	free(rest);
	/* Step 2: the copy, through the same connection; again without
	 * the files the appliance did not take, whose failed close stopped
	 * rsync (backup_refused.c).  Each pass leaves out one more file,
	 * so that this ends. */
	do {
		r.failed_new = 0;
		r.unreadable = 0;
		memset(&r.stats, 0, sizeof(r.stats));
		st = run_rsync(&run_opts, ctl, &r);
	} while (st != -1 && r.failed_new > 0 && !r.nomem && !backup_stop &&
	    !(WIFEXITED(st) && WEXITSTATUS(st) == 0));
	if (st == -1 || !WIFEXITED(st) || (WEXITSTATUS(st) != 0 &&
	    WEXITSTATUS(st) != 23 && WEXITSTATUS(st) != 24)) {
		if (st != -1)
			fprintf(stderr, "beemo-backup: copying with rsync "
			    "failed (%s); the session is not ended: the "
			    "appliance keeps an incomplete snapshot\n",
			    backup_status_str(how, sizeof(how), st));
		backup_chan_close(&ch, 1);
		rc = BM_EXIT_FAIL;
		goto remove_dir;
	}
	r.rsync_status = WEXITSTATUS(st);
	/* Step 3: END, and the snapshot. */
	if ((rc = end_session(&ch, &r)) != 0) {
		backup_chan_failed(o, &ch, rc);
		goto remove_dir;
	}
	backup_chan_close(&ch, 0);
	rc = final_status(o, &r);
	if (o->json)
		print_json(o, &r, rc);
	else
		print_text(o, &r);
	sjson_free(r.end);

remove_dir:
	backup_refused_free(&r.failed);
	ctl_dir_remove(&td, fallback, ctl);
free_paths:
	for (i = 0; i < o->npaths; i++)
		free(abs[i]);
	free(abs);
	return rc;
}
