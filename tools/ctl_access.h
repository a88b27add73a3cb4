/*
 * ctl_access.h -- `beemoctl machine access`: the SSH account through
 * which a client machine opens its own backup sessions.
 *
 * A client machine reaches the appliance as the system account
 * "beemo-MACHINE", member of the group "beemo-clients", whose one
 * authorized key lives in CLIENTS_DIR/beemo-MACHINE.keys (CLIENTS_DIR is
 * /etc/beemo/clients, or $BEEMO_CLIENTS_DIR) as
 *   restrict,command="LIBEXECDIR/beemo/beemo-session" TYPE BASE64 [COMMENT]
 * The sshd drop-in beemo-sessions-sshd.conf points AuthorizedKeysFile
 * there for the group and forces the same command: the account can run
 * beemo-session, which asks beemo-sessiond to serve its own machine, and
 * nothing else.  The account has no home and no password; its shell is
 * /bin/sh only because sshd runs the forced command through it.
 *
 * The public key is checked before anything is written: one line, an
 * ed25519, ecdsa or RSA (2048 bits or more) key in OpenSSH's format,
 * no options, no control characters, and ssh-keygen(1) must read it.
 */
#ifndef BEEMO_CTL_ACCESS_H
#define BEEMO_CTL_ACCESS_H

#include "beemoctl.h"

/* The text after "usage: beemoctl machine access " (ctl_parse()). */
extern const char ctl_access_usage[];

/*
 * ctl_machine_access -- the subcommand "machine access": @argv[0] is
 * "access".  Shows the machine's account and key; with --ssh-key FILE
 * creates the account if missing and installs the key (replacing the
 * previous one); with --revoke removes the key after a confirmation.
 * Returns the exit status (bm_exit.h): 2 for a refused key or bad usage.
 */
int ctl_machine_access(struct ctl *ctl, int argc, char **argv);

/*
 * ctl_access_hint -- print on stdout what to do with a POSTE key file
 * just written at @poste_key for @machine (machine add, key issue): move
 * it to the client and erase it here (shred -u), give the client its SSH
 * access (machine access), and the client's beemo-backup command.
 */
void ctl_access_hint(const char *machine, const char *poste_key);

/*
 * ctl_access_note_removed -- after `machine remove`: when @machine still
 * has an SSH key (machine access), say on stdout that it stays and how
 * to revoke it.  beemo-sessiond refuses a machine that is not in the
 * store, so the key opens nothing meanwhile; kept, it serves again after
 * `machine restore`.
 */
void ctl_access_note_removed(const char *machine);

#endif /* BEEMO_CTL_ACCESS_H */
