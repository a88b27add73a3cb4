/*
 * beemoctl.h -- the operator's command line: shared context and verbs.
 *
 * main() (beemoctl.c) parses the global options, loads the configuration
 * and dispatches to one verb from a single table; each verb lives in its
 * own file tools/cmd_VERB.c and has the signature of ctl_verb_fn.  A verb
 * parses its own options (getopt_long, with --help), does its work
 * through the libraries, prints its result (text, or JSON with --json)
 * and returns the process exit status (bm_exit.h): 0 success, 1 failure
 * (after one line "beemoctl: VERB: reason" on stderr via ctl_err()), 2
 * usage error, 3 locked or busy, 4 finished with warnings.
 */
#ifndef BEEMO_BEEMOCTL_H
#define BEEMO_BEEMOCTL_H

#include <stddef.h>

#include "bm_conf.h"
#include "bm_exit.h"
#include "bm_report.h"
#include "keymgr.h"

/* The verbs' usual statuses, by their shared names (bm_exit.h); a verb
 * returns BM_EXIT_BUSY and BM_EXIT_WARN by those names. */
#define CTL_OK BM_EXIT_OK
#define CTL_FAIL BM_EXIT_FAIL
#define CTL_USAGE BM_EXIT_USAGE

struct ctl {
	const char *prog;  /* "beemoctl" */
	const char *verb;  /* the verb being run, for messages */
	bm_conf *conf;     /* the configuration file, never NULL */
	const char *store; /* the store directory (--store, conf, default) */
	char keydir[4096]; /* store/keys */
	int quiet;         /* -q: no progress, no chatter */
	int verbose;       /* -v: more detail */
};

typedef int (*ctl_verb_fn)(struct ctl *ctl, int argc, char **argv);

/* ctl_err -- print "beemoctl: VERB: message" on stderr, the message
 * escaped as a whole (bm_esc.h): it may name files of clients. */
void ctl_err(const struct ctl *ctl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * ctl_password -- obtain a password for a verb.
 * @prompt: terminal prompt.
 * @file: the value of the verb's --password-file style option, or NULL.
 * @env: name of an environment variable that may name a file holding
 *   the password ("BEEMO_PASSWORD_FILE"), consulted when @file is NULL.
 * @confirm: ask twice on a terminal (new passwords).
 * For the password of --password-file (@env "BEEMO_PASSWORD_FILE" or
 * NULL) the sources are, in this order (bm_password_get()): @file, the
 * verb's --password-command or --password-fd, $BEEMO_PASSWORD_FILE,
 * $BEEMO_PASSWORD_COMMAND, the systemd credential beemo-admin-password
 * when @prompt asks for an administrator password, the terminal.
 * On failure prints one line and returns CTL_FAIL; on success returns 0
 * and the caller frees *pw with bm_free_secret(*pw, *len).
 */
int ctl_password(const struct ctl *ctl, const char *prompt, const char *file,
    const char *env, int confirm, char **pw, size_t *len);

/*
 * ctl_keymgr -- open the appliance's key directory; on failure prints
 * one line (suggesting `beemoctl init` when there is no appliance) and
 * returns CTL_FAIL.
 */
int ctl_keymgr(const struct ctl *ctl, keymgr **km);

/*
 * ctl_usage_check -- common handling of getopt results: prints the
 * usage text on --help (returns CTL_OK via *done) and a hint on bad
 * options.  Verbs call it from their option loop; see cmd_init.c.
 */
void ctl_usage(const struct ctl *ctl, const char *usage, int to_stderr);

/*
 * ctl_km_fail -- print keymgr_errmsg(@km) for a failed keymgr call as the
 * verb's one error line and return CTL_FAIL.
 */
int ctl_km_fail(const struct ctl *ctl, const keymgr *km);

/*
 * ctl_confirm -- bm_confirm() (bm_confirm.h) for a verb, its messages
 * prefixed "beemoctl: VERB": the one confirmation of every verb that
 * destroys or revokes.  @yes: --yes; @expect: NULL for "[y/N]", or a
 * word to type (a machine's name); @fmt: the question.
 * Returns 0 when confirmed; CTL_USAGE when stdin is not a terminal
 * (after "add --yes to do this without a terminal"); CTL_FAIL after
 * "not confirmed: nothing was done" otherwise.
 */
int ctl_confirm(const struct ctl *ctl, int yes, const char *expect,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * Options shared by several verbs.  A verb passes the set it accepts to
 * ctl_parse(); the others are refused as usage errors.
 */
enum {
	CTL_O_PASSWORD = 1 << 0,      /* --password-file FILE,
					 --password-command CMD,
					 --password-fd N */
	CTL_O_NEW_PASSWORD = 1 << 1,  /* --new-password-file FILE */
	CTL_O_USER_PASSWORD = 1 << 2, /* --user-password-file FILE */
	CTL_O_JSON = 1 << 3,          /* --json (and progress as JSON
					 lines: bm_progress_set_json) */
	CTL_O_YES = 1 << 4,           /* --yes */
	CTL_O_USER = 1 << 5,          /* --user USER */
	CTL_O_POSTE_KEY = 1 << 6,     /* --poste-key PATH */
	CTL_O_ADMIN = 1 << 7,         /* --admin */
	CTL_O_KDF = 1 << 8,           /* --kdf-n N, --kdf-r R, --kdf-p P */
	CTL_O_NOTE = 1 << 9,          /* --note TEXT */
	CTL_O_TARGET = 1 << 10,       /* --target DIR */
	CTL_O_OVERWRITE = 1 << 11,    /* --overwrite */
	CTL_O_READ_DATA = 1 << 12,    /* --read-data,
					 --read-data-subset N/M|P% */
	CTL_O_QUOTA = 1 << 13,        /* --soft SIZE, --hard SIZE */
	CTL_O_JOURNAL = 1 << 14,      /* --since T, --type T, --files, --all */
	CTL_O_WATCH = 1 << 15,        /* --watch */
	CTL_O_OUTPUT = 1 << 16,       /* --output FILE */
	CTL_O_PRIVILEGED = 1 << 17,   /* --privileged */
	CTL_O_KEEP_KEYS = 1 << 18,    /* --keep-keys */
	CTL_O_DRY_RUN = 1 << 19,      /* --dry-run */
	CTL_O_NOW = 1 << 20,          /* --now */
	CTL_O_LIST = 1 << 21,         /* --long, --recursive */
	CTL_O_FIND = 1 << 22,         /* --snapshots L, --newer T, --older T */
	CTL_O_FORMAT = 1 << 23,       /* --format NAME */
};

struct ctl_opts {
	const char *password_file;      /* NULL: $BEEMO_PASSWORD_FILE, tty */
	const char *new_password_file;  /* NULL: $BEEMO_NEW_PASSWORD_FILE */
	const char *user_password_file; /* NULL: $BEEMO_USER_PASSWORD_FILE */
	const char *user, *poste_key;
	const char *kdf_n, *kdf_r, *kdf_p; /* as given, or NULL */
	int json, yes, admin;
	const char *note, *target, *soft, *hard, *since, *type, *output;
	int overwrite, read_data, files, all, watch, privileged, keep_keys;
	/* Set by a verb after ctl_parse(), for ctl_session_open(): */
	int wait;    /* wait for a mounted backup session to end */
	int user_rw; /* a user may open read-write: the verb changes only
			what a signed policy allows (forget) */
	int no_store_ok; /* a machine never backed up opens, its keys
			    checked, with a NULL store (snapshots) */
	int dry_run;
	int now;
	int long_list, recursive; /* --long, --recursive */
	const char *snapshots, *newer, *older; /* as given, or NULL */
	const char *format; /* --format NAME, or NULL */
	const char *read_data_subset; /* --read-data-subset, or NULL */
	int nargs;   /* positional arguments left after the options */
	char **args;
};

/*
 * ctl_parse -- parse a (sub)verb's arguments: the options in @allowed,
 * --help, and between @min and @max positional arguments (in any order
 * with the options).
 * @usage: the text after "usage: beemoctl VERB " printed by --help (on
 *   stdout) and after a usage error (on stderr).
 * Returns -1 when the verb should go on with @o filled in, otherwise the
 * exit status to return at once (CTL_OK after --help, CTL_USAGE).
 */
int ctl_parse(const struct ctl *ctl, int argc, char **argv,
    unsigned allowed, int min, int max, const char *usage,
    struct ctl_opts *o);

/*
 * ctl_json_done -- with --json, the one object that a verb changing a
 * machine or a user prints instead of its line of text: "format"
 * @format, "version" 1, "machine" @machine and, when not NULL, "user"
 * @user (beemoctl(8), JSON OUTPUT).
 */
void ctl_json_done(const char *format, const char *machine,
    const char *user);

/* A subcommand of a verb ("machine add"), see ctl_subcommand(). */
struct ctl_sub {
	const char *name;
	int (*fn)(struct ctl *ctl, int argc, char **argv);
	const char *usage; /* as for ctl_parse() */
};

/*
 * ctl_subcommand -- run the subcommand named by argv[1] with argv[0] set
 * to its name and ctl->verb to "VERB SUB" for messages.  "VERB --help"
 * prints the usage of every subcommand.  Returns the exit status.
 */
int ctl_subcommand(struct ctl *ctl, const struct ctl_sub *subs, size_t n,
    int argc, char **argv);

/* Verbs, one per tools/cmd_*.c. */
int cmd_init(struct ctl *ctl, int argc, char **argv);
int cmd_admin(struct ctl *ctl, int argc, char **argv);
int cmd_machine(struct ctl *ctl, int argc, char **argv);
int cmd_user(struct ctl *ctl, int argc, char **argv);
int cmd_key(struct ctl *ctl, int argc, char **argv);
int cmd_snapshot(struct ctl *ctl, int argc, char **argv);
int cmd_snapshots(struct ctl *ctl, int argc, char **argv);
int cmd_restore(struct ctl *ctl, int argc, char **argv);
int cmd_check(struct ctl *ctl, int argc, char **argv);
int cmd_rebuild_index(struct ctl *ctl, int argc, char **argv);
int cmd_scan(struct ctl *ctl, int argc, char **argv);
int cmd_journal(struct ctl *ctl, int argc, char **argv);
int cmd_quota(struct ctl *ctl, int argc, char **argv);
int cmd_prune(struct ctl *ctl, int argc, char **argv);
int cmd_status(struct ctl *ctl, int argc, char **argv);
int cmd_metrics(struct ctl *ctl, int argc, char **argv);
int cmd_forget(struct ctl *ctl, int argc, char **argv);
int cmd_retention(struct ctl *ctl, int argc, char **argv);
int cmd_erase(struct ctl *ctl, int argc, char **argv);
int cmd_ls(struct ctl *ctl, int argc, char **argv);
int cmd_find(struct ctl *ctl, int argc, char **argv);
int cmd_dump(struct ctl *ctl, int argc, char **argv);
int cmd_diff(struct ctl *ctl, int argc, char **argv);
int cmd_export(struct ctl *ctl, int argc, char **argv);

/*
 * ctl_alog -- record a done operation in the appliance journal (bm_alog.h)
 * with the key derived from @km's appliance key; @type and @who as in
 * struct bm_alog_entry, the summary from @fmt.  A failure prints a
 * warning only: the operation itself is done (ctl_report.c).
 */
void ctl_alog(const struct ctl *ctl, keymgr *km, const char *type,
    const char *who, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/*
 * ctl_report_spool -- bm_report_spool() of @r with the key derived from
 * the appliance key.  A failure prints a warning and returns its code.
 */
int ctl_report_spool(const struct ctl *ctl, const struct bm_report *r);

/*
 * ctl_report_error -- queue an error report (a failed restore or
 * deletion) for the e-mail reports: bm_report_spool() of an event of
 * kind "error" about @machine, keyed "@what:MACHINE:TIME", with subject
 * @fmt (escaped, bm_esc.h: it may name files) and body @text.  A failure
 * prints a warning only.
 */
void ctl_report_error(const struct ctl *ctl, const char *machine,
    const char *what, const char *text, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

#endif /* BEEMO_BEEMOCTL_H */
