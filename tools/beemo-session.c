/*
 * beemo-session.c -- the forced command of a client machine's SSH
 * account (beemo-sessiond(8)).
 *
 * It runs as the account "beemo-MACHINE", which can do nothing else: it
 * maps the client's request ($SSH_ORIGINAL_COMMAND) to one of the
 * daemon's operations, hands its standard descriptors (the SSH channel)
 * to beemo-sessiond over the daemon's socket (session.h), waits for the
 * request to end and exits with the status the daemon gives.  It reads
 * and writes nothing of the channel itself, so no secret passes through
 * this process.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "bm_exit.h"
#include "session.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: beemo-session [--socket PATH]\n\n"
	    "The forced command of a client machine's SSH account on a "
	    "Beemo appliance.\nIt serves the request in SSH_ORIGINAL_COMMAND "
	    "(open, snapshots, restore, or\nrsync's \"rsync --server "
	    "--daemon .\") by handing the SSH channel to\nbeemo-sessiond, "
	    "which knows the machine from the account.\n\n"
	    "options:\n"
	    "  --socket PATH   beemo-sessiond's socket (default "
	    SESSION_SOCKET ")\n"
	    "  -V, --version   print the version\n"
	    "  -h, --help      this help\n\n"
	    "exit status: the request's (0 success, 1 failed, 2 refused "
	    "request or key,\n3 busy, 4 finished with warnings)\n");
}

/* The daemon's operation for the client's command @cmd, or NULL. */
static const char *
op_of(const char *cmd)
{
	static const char *const plain[] = {"open", "snapshots", "restore"};
	size_t i;

	if (cmd == NULL)
		return NULL;
	for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
		if (strcmp(cmd, plain[i]) == 0)
			return plain[i];
	/* rsync's client asks for its daemon over the remote shell; the
	 * arguments are the daemon's own, never the client's. */
	if (strncmp(cmd, "rsync --server ", 15) == 0)
		return "rsync";
	return NULL;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"socket", required_argument, NULL, 's'},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *sock = SESSION_SOCKET, *op, *cmd;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char line[SESSION_OP_MAX], ctl[CMSG_SPACE(3 * sizeof(int))];
	struct iovec iov;
	struct msghdr mh = {0};
	struct cmsghdr *cm;
	int c, fd, fds[3] = {0, 1, 2}, status;
	ssize_t n;

	while ((c = getopt_long(argc, argv, "Vh", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			sock = optarg;
			break;
		case 'V':
			printf("beemo-session " BEEMO_VERSION "\n");
			return BM_EXIT_OK;
		case 'h':
			usage(stdout);
			return BM_EXIT_OK;
		default:
			usage(stderr);
			return BM_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return BM_EXIT_USAGE;
	}
	cmd = getenv("SSH_ORIGINAL_COMMAND");
	if ((op = op_of(cmd)) == NULL) {
		fprintf(stderr, "beemo-session: unknown request: this "
		    "account only opens its machine's backup sessions "
		    "(beemo-backup)\n");
		return BM_EXIT_USAGE;
	}
	if (strlen(sock) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "beemo-session: %s: path too long\n", sock);
		return BM_EXIT_USAGE;
	}
	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		fprintf(stderr, "beemo-session: the appliance's session "
		    "service is not running (%s: %s)\n", sock,
		    strerror(errno));
		return BM_EXIT_FAIL;
	}
	snprintf(line, sizeof(line), "%s\n", op);
	iov.iov_base = line;
	iov.iov_len = strlen(line);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	memset(ctl, 0, sizeof(ctl));
	mh.msg_control = ctl;
	mh.msg_controllen = sizeof(ctl);
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(cm), fds, sizeof(fds));
	if (sendmsg(fd, &mh, MSG_NOSIGNAL) != (ssize_t)iov.iov_len) {
		/* The daemon refuses an account that is no machine's
		 * before it reads the request: its status is there. */
		int e = errno;

		if (read(fd, &status, sizeof(status)) ==
		    (ssize_t)sizeof(status) && status == BM_EXIT_USAGE) {
			fprintf(stderr, "beemo-session: this account opens "
			    "no machine of this appliance\n");
			return BM_EXIT_USAGE;
		}
		fprintf(stderr, "beemo-session: cannot reach the session "
		    "service: %s\n", strerror(e));
		return BM_EXIT_FAIL;
	}
	/* The channel is the daemon's now: only wait for the status. */
	do
		n = read(fd, &status, sizeof(status));
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(status)) {
		fprintf(stderr, "beemo-session: the session service ended "
		    "without a status\n");
		return BM_EXIT_FAIL;
	}
	return status >= 0 && status < 256 ? status : BM_EXIT_FAIL;
}
