/*
 * backup_ssh.c -- beemo-backup's processes and its SSH channel: the ssh
 * command line, starting and waiting for children, and the line
 * protocol of the appliance's replies (backup.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "backup.h"
#include "bm_esc.h"
#include "bm_file.h"

volatile int backup_stop;

/* Append @s to @argv; -E2BIG when full (one slot kept for NULL). */
static int
push(const char **argv, size_t max, size_t *n, const char *s)
{
	if (*n + 1 >= max)
		return -E2BIG;
	argv[(*n)++] = s;
	argv[*n] = NULL;
	return 0;
}

/* Copy "@a@b" into @store at *@used; the copy, or NULL when full. */
static const char *
keep(char *store, size_t size, size_t *used, const char *a, const char *b)
{
	int n = snprintf(store + *used, size - *used, "%s%s", a, b);
	const char *s = store + *used;

	if (n < 0 || (size_t)n >= size - *used)
		return NULL;
	*used += (size_t)n + 1;
	return s;
}

int
backup_ssh_argv(const struct backup_opts *o, const char *ctl,
    int master, const char *request, const char **argv, size_t max,
    char *store, size_t storesize)
{
	const char *login, *kh = NULL;
	size_t n = 0, used = 0, i;
	int rc = 0;

	login = keep(store, storesize, &used, "beemo-", o->machine);
	if (o->known_hosts)
		kh = keep(store, storesize, &used, "UserKnownHostsFile=",
		    o->known_hosts);
	if (!login || (o->known_hosts && !kh))
		return -ENAMETOOLONG;
	rc |= push(argv, max, &n, "ssh");
	rc |= push(argv, max, &n, "-l");
	rc |= push(argv, max, &n, login);
	rc |= push(argv, max, &n, "-o");
	rc |= push(argv, max, &n, "BatchMode=yes");
	rc |= push(argv, max, &n, "-o");
	rc |= push(argv, max, &n, "StrictHostKeyChecking=yes");
	if (o->port) {
		rc |= push(argv, max, &n, "-p");
		rc |= push(argv, max, &n, o->port);
	}
	if (o->identity) {
		rc |= push(argv, max, &n, "-i");
		rc |= push(argv, max, &n, o->identity);
		rc |= push(argv, max, &n, "-o");
		rc |= push(argv, max, &n, "IdentitiesOnly=yes");
	}
	if (kh) {
		rc |= push(argv, max, &n, "-o");
		rc |= push(argv, max, &n, kh);
	}
	for (i = 0; i < o->nssh_opts; i++) {
		rc |= push(argv, max, &n, "-o");
		rc |= push(argv, max, &n, o->ssh_opts[i]);
	}
	/* After the user's options, which win (ssh keeps the first value
	 * of each): an appliance that stops answering ends the run in
	 * about a minute, not after TCP's hours. */
	rc |= push(argv, max, &n, "-o");
	rc |= push(argv, max, &n, "ConnectTimeout=30");
	rc |= push(argv, max, &n, "-o");
	rc |= push(argv, max, &n, "ServerAliveInterval=15");
	rc |= push(argv, max, &n, "-o");
	rc |= push(argv, max, &n, "ServerAliveCountMax=4");
	if (ctl) {
		rc |= push(argv, max, &n, "-S");
		rc |= push(argv, max, &n, ctl);
		if (master) {
			rc |= push(argv, max, &n, "-M");
			rc |= push(argv, max, &n, "-o");
			rc |= push(argv, max, &n, "ControlPersist=no");
		} else {
			rc |= push(argv, max, &n, "-o");
			rc |= push(argv, max, &n, "ControlMaster=no");
		}
	}
	if (request) {
		/* "--" would end ssh's options, but the host then may not
		 * begin with "-": main() refuses such a host. */
		rc |= push(argv, max, &n, o->appliance);
		rc |= push(argv, max, &n, request);
	}
	return rc ? -E2BIG : (int)n;
}

pid_t
backup_spawn(const char *const *argv, int in_fd, int out_fd, int err_fd)
{
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		/* Our own group: ^C on the terminal reaches beemo-backup
		 * only, which stops rsync and closes the channel in that
		 * order. */
		setpgid(0, 0);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		if (in_fd >= 0 && dup2(in_fd, 0) < 0)
			_exit(127);
		if (out_fd >= 0 && dup2(out_fd, 1) < 0)
			_exit(127);
		if (err_fd >= 0 && dup2(err_fd, 2) < 0)
			_exit(127);
		execvp(argv[0], (char *const *)argv);
		fprintf(stderr, "beemo-backup: cannot run %s: %s\n", argv[0],
		    strerror(errno));
		_exit(127);
	}
	return pid;
}

int
backup_wait(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return st;
}

char *
backup_status_str(char *buf, size_t size, int st)
{
	if (st == -1)
		snprintf(buf, size, "an unknown status");
	else if (WIFEXITED(st))
		snprintf(buf, size, "exit status %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, size, "signal %d", WTERMSIG(st));
	else
		snprintf(buf, size, "wait status %d", st);
	return buf;
}

int
backup_chan_open(struct backup_chan *ch, const char *const *argv)
{
	int in[2] = {-1, -1}, out[2] = {-1, -1};
	pid_t pid;
	int rc;

	memset(ch, 0, sizeof(*ch));
	ch->pid = -1;
	ch->to = ch->from = -1;
	ch->status = -1;
	ch->noreply = NULL;
	ch->replies = 0;
	if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) {
		rc = -errno;
		goto fail_pipes;
	}
	pid = backup_spawn(argv, in[0], out[1], -1);
	if (pid < 0) {
		rc = (int)pid;
		goto fail_pipes;
	}
	close(in[0]);
	close(out[1]);
	ch->pid = pid;
	ch->to = in[1];
	ch->from = out[0];
	return 0;

fail_pipes:
	if (in[0] >= 0) {
		close(in[0]);
		close(in[1]);
	}
	if (out[0] >= 0) {
		close(out[0]);
		close(out[1]);
	}
	return rc;
}

int
backup_chan_write(struct backup_chan *ch, const void *p, size_t len)
{
	const char *c = p;
	ssize_t n;

	while (len > 0) {
		if (backup_stop)
			return -EINTR;
		n = write(ch->to, c, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		c += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read more of the channel into its buffer: >0 bytes read, 0 at EOF, or
 * a negative errno (-EINTR on backup_stop). */
static ssize_t
fill(struct backup_chan *ch)
{
	ssize_t n;

	if (ch->off > 0) {
		memmove(ch->buf, ch->buf + ch->off, ch->len - ch->off);
		ch->len -= ch->off;
		ch->off = 0;
	}
	if (ch->cap - ch->len < 4096) {
		size_t cap = ch->cap ? ch->cap * 2 : 65536;
		char *b;

		if (cap > BACKUP_LINE_MAX + 65536)
			return -E2BIG;
		if (!(b = realloc(ch->buf, cap)))
			return -ENOMEM;
		ch->buf = b;
		ch->cap = cap;
	}
	for (;;) {
		if (backup_stop)
			return -EINTR;
		n = read(ch->from, ch->buf + ch->len, ch->cap - ch->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		ch->len += (size_t)n;
		return n;
	}
}

int
backup_chan_line(struct backup_chan *ch, char **line)
{
	size_t scanned = 0;
	char *nl;
	ssize_t n;

	*line = NULL;
	for (;;) {
		nl = ch->buf ? memchr(ch->buf + ch->off + scanned, '\n',
		    ch->len - ch->off - scanned) : NULL;
		if (nl) {
			size_t l = (size_t)(nl - (ch->buf + ch->off));

			if (!(*line = malloc(l + 1)))
				return -ENOMEM;
			memcpy(*line, ch->buf + ch->off, l);
			(*line)[l] = '\0';
			ch->off += l + 1;
			return 0;
		}
		scanned = ch->len - ch->off;
		if (scanned > BACKUP_LINE_MAX)
			return -E2BIG;
		n = fill(ch);
		if (n < 0)
			return (int)n;
		if (n == 0)
			return -ENODATA;
	}
}

int
backup_chan_reply(struct backup_chan *ch, const char *step, char **rest)
{
	char *line = NULL, *end;
	long st;
	int rc;

	*rest = NULL;
	rc = backup_chan_line(ch, &line);
	if (rc == -EINTR) {
		fprintf(stderr, "beemo-backup: %s: interrupted\n", step);
		return BM_EXIT_FAIL;
	}
	if (rc == -ENODATA) {
		/* Said by backup_chan_failed(), with ssh's status. */
		ch->noreply = step;
		return BM_EXIT_FAIL;
	}
	if (rc != 0) {
		fprintf(stderr, "beemo-backup: %s: %s\n", step, strerror(-rc));
		return BM_EXIT_FAIL;
	}
	ch->replies++;
	if (strncmp(line, "OK ", 3) == 0 || strcmp(line, "OK") == 0) {
		*rest = strdup(line[2] ? line + 3 : "");
		free(line);
		return *rest ? 0 : BM_EXIT_FAIL;
	}
	if (strncmp(line, "ERR ", 4) == 0) {
		errno = 0;
		st = strtol(line + 4, &end, 10);
		if (end == line + 4 || errno != 0 || st < 1 || st > 4)
			st = BM_EXIT_FAIL;
		while (*end == ' ')
			end++;
		fputs("beemo-backup: ", stderr);
		bm_esc_put(stderr, end);
		fputc('\n', stderr);
		free(line);
		return (int)st;
	}
	fprintf(stderr, "beemo-backup: %s: the appliance's reply is not "
	    "\"OK\" or \"ERR\": ", step);
	bm_esc_put(stderr, line);
	fputc('\n', stderr);
	free(line);
	return BM_EXIT_FAIL;
}

int
backup_chan_pump(struct backup_chan *ch, int fd)
{
	ssize_t n, w;

	for (;;) {
		while (ch->off < ch->len) {
			w = write(fd, ch->buf + ch->off, ch->len - ch->off);
			if (w < 0 && errno == EINTR && !backup_stop)
				continue;
			if (w < 0)
				return backup_stop ? -EINTR : -errno;
			ch->off += (size_t)w;
		}
		ch->off = ch->len = 0;
		if (!ch->buf) {
			if (!(ch->buf = malloc(65536)))
				return -ENOMEM;
			ch->cap = 65536;
		}
		n = fill(ch);
		if (n < 0)
			return (int)n;
		if (n == 0)
			return 0;
	}
}

int
backup_chan_close(struct backup_chan *ch, int kill_it)
{
	if (ch->to >= 0) {
		close(ch->to);
		ch->to = -1;
	}
	if (ch->from >= 0) {
		close(ch->from);
		ch->from = -1;
	}
	if (ch->pid > 0) {
		if (kill_it)
			kill(ch->pid, SIGTERM);
		ch->status = backup_wait(ch->pid);
		ch->pid = -1;
	}
	free(ch->buf);
	ch->buf = NULL;
	ch->len = ch->off = ch->cap = 0;
	return ch->status;
}

int
backup_key_check(const char *path)
{
	uint8_t *key = NULL;
	size_t len = 0;
	int rc = bm_read_file(path, BACKUP_KEY_MAX, &key, &len);

	if (rc == 0) {
		OPENSSL_cleanse(key, len);
		free(key);
		if (len > 0)
			return 0;
		rc = -ENODATA;
	}
	fprintf(stderr, "beemo-backup: cannot read the key file %s: %s\n",
	    path, rc == -EFBIG ? "larger than 64 KiB, not a POSTE key file" :
	    rc == -EINVAL ? "not a regular file" : rc == -ENODATA ?
	    "the file is empty" : strerror(-rc));
	return BM_EXIT_USAGE;
}

int
backup_key_send(const struct backup_opts *o, struct backup_chan *ch)
{
	uint8_t *key = NULL;
	size_t len = 0;
	char head[32];
	int rc;

	if ((rc = backup_key_check(o->key)) != 0)
		return rc;
	/* Read again: only the bytes sent are ever in memory, and only
	 * until they are written to the pipe. */
	if ((rc = bm_read_file(o->key, BACKUP_KEY_MAX, &key, &len)) != 0) {
		fprintf(stderr, "beemo-backup: cannot read the key file %s: "
		    "%s\n", o->key, strerror(-rc));
		return BM_EXIT_USAGE;
	}
	snprintf(head, sizeof(head), "KEY %zu\n", len);
	rc = backup_chan_write(ch, head, strlen(head));
	if (rc == 0)
		rc = backup_chan_write(ch, key, len);
	OPENSSL_cleanse(key, len);
	free(key);
	/* -EPIPE: ssh or the appliance went away before reading it; what
	 * it said, if anything, comes with the reply or ssh's status. */
	if (rc == 0 || rc == -EPIPE)
		return 0;
	fprintf(stderr, "beemo-backup: sending the key file: %s\n",
	    rc == -EINTR ? "interrupted" : strerror(-rc));
	return BM_EXIT_FAIL;
}

int
backup_chan_failed(const struct backup_opts *o, struct backup_chan *ch,
    int status)
{
	const char *step = ch->noreply;
	unsigned replies = ch->replies;
	char how[64];
	int st = backup_chan_close(ch, 1);

	backup_status_str(how, sizeof(how), st);
	if (status != BM_EXIT_FAIL)
		return status;
	if (replies == 0 && st != -1 && WIFEXITED(st) &&
	    WEXITSTATUS(st) == 255)
		fprintf(stderr, "beemo-backup: connecting to the appliance %s "
		    "as beemo-%s failed (ssh %s; its message, if any, is "
		    "above)\n", o->appliance, o->machine, how);
	else if (step)
		fprintf(stderr, "beemo-backup: %s: the connection to the "
		    "appliance ended without a reply (ssh %s)\n", step, how);
	return status;
}
