/*
 * backup.h -- beemo-backup, the client of a Beemo appliance: its options,
 * the SSH channel it speaks on, and its three verbs.
 *
 * beemo-backup runs on a client machine and needs only the OpenSSH
 * client and rsync there.  Everything goes through one SSH connection
 * to the appliance's account beemo-MACHINE, whose forced command
 * (beemo-session) serves one request per channel:
 *
 *   backup     the OpenSSH master connection runs "open" on its own
 *              channel: "KEY <len>\n" and the POSTE key file, then the
 *              appliance's "OK <json>\n" or "ERR <status> <message>\n";
 *              rsync then runs through the same master (ssh -S CTL) into
 *              the module "session"; "END\n" ends the session and the
 *              appliance answers "OK <beemo-session-end JSON>\n" once
 *              the snapshot is taken.  Without END (rsync failed, an
 *              interrupt, a lost connection) the appliance keeps an
 *              incomplete snapshot.
 *   snapshots  "KEY" and the key file, then "OK <beemo-snapshots JSON>".
 *   restore    USER, PASS, SNAP and PATH lines, then "OK <json>\n"
 *              followed by a pax tar stream, extracted by tar(1).
 *
 * The key file and the password are read into memory, sent on the
 * channel and wiped; they are never written to a file, an argument or
 * the environment.  The control socket of the master lives in a private
 * directory (bm_tmpdir.h) removed at the end.
 *
 * Nothing here is thread-safe: one process, one connection.
 */
#ifndef BEEMO_BACKUP_H
#define BEEMO_BACKUP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "bm_exit.h"

/* The POSTE key file is small; the same bound as beemoctl's. */
#define BACKUP_KEY_MAX (64 * 1024)
/* The longest reply line read from the appliance (a listing of every
 * snapshot, the list of refused files). */
#define BACKUP_LINE_MAX (16 * 1024 * 1024)
#define BACKUP_MAX_SSH_OPTS 32

/* Every option of every verb; a verb refuses those it does not take. */
struct backup_opts {
	const char *verb;
	const char *appliance;
	const char *machine;
	const char *key;
	const char *port;
	const char *identity;
	const char *known_hosts;
	const char *ssh_opts[BACKUP_MAX_SSH_OPTS];
	size_t nssh_opts;
	const char *exclude_from;
	const char *user;
	const char *password_file;
	int password_fd;
	const char *snapshot;
	const char *target;
	int dry_run;
	int quiet;
	int json;
	char **paths;
	size_t npaths;
};

/* Set by the SIGINT/SIGTERM handler of main(): stop, end nothing. */
extern volatile int backup_stop;

/* ---- the channel (backup_ssh.c) ------------------------------------ */

/*
 * One ssh process and the pipes to its standard input and output.  Its
 * standard error is ours, so that ssh's own messages reach the user.
 */
struct backup_chan {
	pid_t pid;          /* the ssh process, -1 once waited for */
	int to;             /* its standard input, -1 once closed */
	int from;           /* its standard output */
	char *buf;          /* read ahead of the current line */
	size_t len, off;    /* bytes in @buf, bytes already consumed */
	size_t cap;
	int status;         /* its wait status once waited for */
	unsigned replies;   /* reply lines read */
	const char *noreply; /* the step whose reply never came, or NULL */
};

/*
 * backup_ssh_argv -- the ssh command line for @o into @argv (at most
 * @max entries, NULL-terminated): "ssh -l beemo-MACHINE -o BatchMode=yes
 * -o StrictHostKeyChecking=yes" and the connection options (the
 * user's --ssh-option before the defaults ConnectTimeout=30,
 * ServerAliveInterval=15 and ServerAliveCountMax=4, so that they win),
 * then
 * "-o ControlPath=@ctl" and, with @master, "-M -o ControlPersist=no";
 * then, when @request is not NULL, the host and @request.  Strings are
 * @o's, @ctl's, static ones, or written into @store (@storesize bytes).
 * Returns the number of entries, or -ENAMETOOLONG / -E2BIG.
 */
int backup_ssh_argv(const struct backup_opts *o, const char *ctl,
    int master, const char *request, const char **argv, size_t max,
    char *store, size_t storesize);

/*
 * backup_spawn -- run @argv (argv[0] looked up in PATH) in its own
 * process group (so that a terminal's ^C reaches us, and we decide what
 * the children do), with its standard input from @in_fd, output to
 * @out_fd and error to @err_fd (-1: ours), other descriptors closed on
 * exec.  Returns the pid or a negative errno.
 */
pid_t backup_spawn(const char *const *argv, int in_fd, int out_fd,
    int err_fd);

/* backup_wait -- wait for @pid; returns its wait status, or -1 when
 * waitpid fails.  backup_stop does not interrupt it. */
int backup_wait(pid_t pid);

/* backup_status_str -- "exit status N" or "signal N" for the wait
 * status @st into @buf; returns @buf. */
char *backup_status_str(char *buf, size_t size, int st);

/*
 * backup_chan_open -- start ssh on @argv with pipes to its standard
 * input and output, into @ch.  Returns 0 or a negative errno (@ch is
 * then closed).
 */
int backup_chan_open(struct backup_chan *ch, const char *const *argv);

/* backup_chan_write -- write all @len bytes of @p to the channel.
 * Returns 0, -EPIPE when the appliance went away, -EINTR on backup_stop,
 * or a negative errno. */
int backup_chan_write(struct backup_chan *ch, const void *p, size_t len);

/*
 * backup_chan_line -- read the next line from the channel, without its
 * newline, into *@line (malloc'd, NUL-terminated; caller frees).  The
 * bytes after it stay in the channel's buffer (backup_chan_pump()).
 * Returns 0; -ENODATA when the channel ended before a whole line;
 * -E2BIG for a line longer than BACKUP_LINE_MAX; -EINTR on backup_stop.
 */
int backup_chan_line(struct backup_chan *ch, char **line);

/*
 * backup_chan_reply -- read one reply line: "OK <rest>" gives 0 and
 * @rest (malloc'd, caller frees); "ERR <status> <message>" gives the
 * status (1 to 4, any other number is 1) and prints "beemo-backup:
 * <message>" on standard error as it came (escaped); anything else
 * prints what @step was and gives BM_EXIT_FAIL.  No line at all gives
 * BM_EXIT_FAIL silently: backup_chan_failed() then says why, with
 * ssh's status.
 */
int backup_chan_reply(struct backup_chan *ch, const char *step, char **rest);

/*
 * backup_chan_pump -- copy what is left of the channel (its read-ahead,
 * then until EOF) to @fd.  Returns 0, -EINTR on backup_stop, or a
 * negative errno of read/write.
 */
int backup_chan_pump(struct backup_chan *ch, int fd);

/*
 * backup_chan_close -- close both pipes (the appliance sees the channel
 * end) and wait for ssh, killing it (SIGTERM) first when @kill is set.
 * Returns ssh's wait status (also in ch->status), -1 if unknown.  A
 * closed @ch is a no-op (returns ch->status).
 */
int backup_chan_close(struct backup_chan *ch, int kill);

/*
 * backup_chan_failed -- end @ch after a failed step whose exit status is
 * @status: close it, kill and wait for ssh; when ssh failed before any
 * reply (exit status 255: no connection, the host key or the login
 * refused) say so, since ssh's own message may not name the appliance,
 * else when a reply never came say which step's.  Returns @status.
 */
int backup_chan_failed(const struct backup_opts *o, struct backup_chan *ch,
    int status);

/* ---- files the appliance would not take (backup_refused.c) ---------- */

/*
 * The files whose close or write failed on the appliance (EIO: refused
 * by its antivirus, or an error of its store) during one backup run, by
 * their real names ("/home/a/x", never rsync's temporary ".x.Ab12Cd"),
 * each beginning with "/".  Zeroed to start; backup_refused_free().
 */
struct backup_refused {
	char **real;
	size_t n, cap;
};

/*
 * backup_refused_line -- look at one line of rsync's standard error:
 * rsync's receiver reporting a failed close or write with "Input/output
 * error" adds the file to @f.  Returns 2 for a file new to @f, 1 for a
 * file already in it, 0 for any other line, or -ENOMEM.
 */
int backup_refused_line(struct backup_refused *f, const char *line);

/* backup_refused_has -- is @path (with or without its leading "/")
 * in @f? */
int backup_refused_has(const struct backup_refused *f, const char *path);

/* backup_refused_real -- the real name of @path when its last component
 * is rsync's temporary name ".NAME.XXXXXX", else @path itself, in a new
 * string (caller frees); NULL when out of memory. */
char *backup_refused_real(const char *path);

/* backup_refused_exclude -- "--exclude=PATTERN" (malloc'd) that matches
 * exactly the absolute @path at the root of an rsync -R transfer (its
 * wildcards escaped); NULL when out of memory. */
char *backup_refused_exclude(const char *path);

/* backup_refused_free -- free @f's names; @f is zeroed again. */
void backup_refused_free(struct backup_refused *f);

/* ---- the verbs ------------------------------------------------------- */

/* backup_key_send -- read the key file @o->key (at most BACKUP_KEY_MAX
 * bytes), send "KEY <len>\n" and its bytes on @ch, wipe it.  Returns 0
 * (also when the channel was already closed: the reply, or its absence,
 * tells why), BM_EXIT_USAGE (unreadable key file, message printed) or
 * BM_EXIT_FAIL (channel error, message printed). */
int backup_key_send(const struct backup_opts *o, struct backup_chan *ch);

/* backup_key_check -- can the key file be read?  Called before any
 * connection; prints the reason and returns BM_EXIT_USAGE, else 0. */
int backup_key_check(const char *path);

/* The verbs: each returns the exit status (bm_exit.h). */
int backup_cmd_backup(const struct backup_opts *o);
int backup_cmd_snapshots(const struct backup_opts *o);
int backup_cmd_restore(const struct backup_opts *o);

#endif /* BEEMO_BACKUP_H */
