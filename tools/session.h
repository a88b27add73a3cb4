/*
 * session.h -- what beemo-session (the forced command of a client
 * machine's SSH account) and beemo-sessiond (the root daemon that opens
 * backup sessions) say to each other on the daemon's Unix socket; see
 * beemo-sessiond(8) for the protocol the client speaks on its SSH
 * channels.
 *
 * beemo-session connects to the socket and sends, in one sendmsg(), the
 * request's line ("open\n", "rsync\n", "snapshots\n" or "restore\n")
 * with its descriptors 0, 1 and 2 (SCM_RIGHTS): the daemon serves the
 * request on the SSH channel itself.  The daemon knows the machine from
 * the peer's uid (SO_PEERCRED): only the account "beemo-MACHINE" opens
 * MACHINE, whatever the client says.  When the request is over the
 * daemon writes back one int (native byte order), the status that
 * beemo-session exits with, which ssh hands to the client.
 */
#ifndef BEEMO_SESSION_H
#define BEEMO_SESSION_H

/* The daemon's socket unless --socket says otherwise. */
#define SESSION_SOCKET "/run/beemo-sessiond/sessiond.sock"

/* The prefix of a client machine's account: "beemo-" + MACHINE. */
#define SESSION_ACCOUNT_PREFIX "beemo-"

/* Longest request line, newline included. */
#define SESSION_OP_MAX 32

#endif /* BEEMO_SESSION_H */
