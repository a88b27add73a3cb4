/*
 * bm.h -- helpers shared by every Beemo program and library.
 *
 * This small library holds what keymgr, the store, beemofs, beemoctl and
 * beemo-sync all need and what belongs to none of them: error codes and
 * their messages, logging (stderr or syslog), the configuration file,
 * durable file writes, password input, big-endian encoding, a tiny JSON
 * writer for --json listings, and the e-mail reports with their spool,
 * the status files (bm_status.h) and the appliance journal.  It knows
 * nothing about FUSE or packs; the keys of what it seals are given by
 * keymgr.
 *
 * Conventions: functions return 0 or a negative errno; Beemo-specific
 * conditions use the reserved range BEEMO_E* below, which beemo_strerror()
 * explains.  Nothing here exits or prints except bm_log() and the JSON
 * writer.
 */
#ifndef BEEMO_BM_H
#define BEEMO_BM_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <syslog.h>

/*
 * Beemo-specific error codes, all negative and far below any errno.
 * Authentication failure of a sealed object is -EBADMSG, not one of these.
 */
#define BEEMO_ERR_BASE (-40000)
#define BEEMO_EPASSWORD (BEEMO_ERR_BASE - 1)  /* wrong password or key file */
#define BEEMO_EFORMAT (BEEMO_ERR_BASE - 2)    /* malformed file or record */
#define BEEMO_EVERSION (BEEMO_ERR_BASE - 3)   /* unsupported format version */
#define BEEMO_ENOMACHINE (BEEMO_ERR_BASE - 4) /* no such machine */
#define BEEMO_ENOUSER (BEEMO_ERR_BASE - 5)    /* no such user */
#define BEEMO_ENOSTORE (BEEMO_ERR_BASE - 6)   /* not a Beemo store */
#define BEEMO_EFOREIGN (BEEMO_ERR_BASE - 7)   /* belongs to another store */
#define BEEMO_ELOCKED (BEEMO_ERR_BASE - 8)    /* in use by another process */
#define BEEMO_EVIRUS (BEEMO_ERR_BASE - 9)     /* antivirus found a virus */
#define BEEMO_ECONFIG (BEEMO_ERR_BASE - 10)   /* bad configuration */
#define BEEMO_EHOSTKEY (BEEMO_ERR_BASE - 11)  /* unknown/changed host key */
#define BEEMO_ENOKEY (BEEMO_ERR_BASE - 12)    /* key not present (generation) */
#define BEEMO_EREMOTE (BEEMO_ERR_BASE - 13)   /* remote refused or failed */
#define BEEMO_ENOSNAP (BEEMO_ERR_BASE - 14)   /* no such snapshot */
#define BEEMO_EQUOTA (BEEMO_ERR_BASE - 15)    /* hard quota exceeded */
#define BEEMO_ERR_LAST (BEEMO_ERR_BASE - 15)

/*
 * beemo_strerror -- message for a code returned by any Beemo function.
 * @err: 0, a negative errno, a BEEMO_E* code or an LMDB return code.
 * Returns a static string; never NULL.
 */
const char *beemo_strerror(int err);

/* ---- logging ------------------------------------------------------- */

/*
 * bm_log_open -- choose where bm_log() writes.
 * @ident: program name shown in each line (not copied; keep it alive).
 * @use_syslog: nonzero for syslog(3) (LOG_DAEMON), zero for stderr.
 * @verbosity: messages of priority <= LOG_NOTICE + verbosity are written
 *   (0 = notice and above, 1 = info, 2 = debug; negative = errors only).
 * Until called, bm_log() writes notices and above to stderr.
 */
void bm_log_open(const char *ident, int use_syslog, int verbosity);

/*
 * bm_log -- write one line at priority @prio (LOG_ERR, LOG_WARNING,
 * LOG_NOTICE, LOG_INFO, LOG_DEBUG).  On stderr the line reads
 * "ident: error: message".  Never pass secrets.  Thread-safe.
 */
void bm_log(int prio, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void bm_vlog(int prio, const char *fmt, va_list ap);

/* ---- files --------------------------------------------------------- */

/*
 * bm_write_file_atomic -- replace @path with @len bytes of @buf durably.
 * Writes "path.tmp.PID" created with O_EXCL and @mode, fsyncs it, renames
 * it over @path and fsyncs the directory: after a crash at any point @path
 * holds either its old or its new content.  With @exclusive nonzero the
 * call fails with -EEXIST when @path already exists (creation).
 * Returns 0 or a negative errno; the temporary file never survives an
 * error return.
 */
int bm_write_file_atomic(const char *path, const void *buf, size_t len,
    mode_t mode, int exclusive);

/*
 * bm_read_file -- read all of @path into a new buffer.
 * @maxlen: refuse larger files with -EFBIG (protects against hostile
 *   or corrupt input).
 * @out, @outlen: receive a malloc'd buffer (caller frees; NUL-terminated
 *   one byte past @outlen for convenience) and its length.
 * Returns 0, -EFBIG, or a negative errno from open/read.
 */
int bm_read_file(const char *path, size_t maxlen, uint8_t **out,
    size_t *outlen);

/* bm_fsync_dir -- fsync the directory containing @path (or @path if it is
 * a directory).  Returns 0 or a negative errno. */
int bm_fsync_dir(const char *path);

/* bm_mkdir_p -- create @path and missing parents with @mode.  Existing
 * directories are fine.  Returns 0 or a negative errno. */
int bm_mkdir_p(const char *path, mode_t mode);

/* bm_path -- snprintf into @buf of @size; returns 0 or -ENAMETOOLONG. */
int bm_path(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ---- secrets ------------------------------------------------------- */

/*
 * bm_read_password -- read a password into OpenSSL's secure heap.
 * @prompt: shown on the terminal when reading from it.
 * @file: read the first line of this file instead of the terminal when
 *   non-NULL ("-" means standard input); the trailing newline is dropped.
 * @confirm: when reading from a terminal, ask twice and fail with -EINVAL
 *   when the two differ.
 * @out, @outlen: receive the password (NUL-terminated) and its length;
 *   free with bm_free_secret(*out, *outlen).
 * The terminal's echo is restored on every path, also on SIGINT/SIGTERM.
 * Returns 0, -ENOTTY when no file is given and stdin is not a terminal,
 * -EINVAL for an empty password, or a negative errno.
 */
int bm_read_password(const char *prompt, const char *file, int confirm,
    char **out, size_t *outlen);

/*
 * bm_gcm -- AES-256-GCM with the 12-byte @iv and the associated data
 * @aad1 || @aad2 (either may be NULL).  With @enc, seal @n bytes of @in
 * into @out and write the 16-byte tag after them; else open @in (its tag
 * after its @n bytes) into @out.  Returns 0, -EBADMSG (damaged or forged),
 * -ENOMEM or -EIO.
 */
int bm_gcm(int enc, const uint8_t key[32], const uint8_t iv[12],
    const void *aad1, size_t aad1len, const void *aad2, size_t aad2len,
    const uint8_t *in, size_t n, uint8_t *out);

/*
 * bm_list_dir -- the names in directory @dir that @ok accepts (all when
 * NULL), sorted; a missing @dir gives none.  Free with bm_names_free().
 */
int bm_list_dir(const char *dir, int (*ok)(const char *), char ***out,
    size_t *n);
void bm_names_free(char **names, size_t n);

/* bm_free_secret -- cleanse @len bytes of @p and free it from the secure
 * heap.  NULL is a no-op. */
void bm_free_secret(void *p, size_t len);

/* ---- names, numbers, encodings ------------------------------------- */

/* bm_valid_name -- nonzero when @name is a usable machine, user or target
 * name: 1..64 characters of [A-Za-z0-9._-], not starting with '.' or '-'. */
int bm_valid_name(const char *name);

/* bm_parse_size -- parse "123", "10K", "5M", "2G", "1T" (powers of 1024)
 * into @out.  Returns 0 or -EINVAL. */
int bm_parse_size(const char *s, uint64_t *out);

/* bm_parse_u64 -- parse a decimal number.  Returns 0 or -EINVAL. */
int bm_parse_u64(const char *s, uint64_t *out);

/* bm_parse_duration -- parse "90", "90s", "45m", "3h", "2d" into seconds.
 * Returns 0 or -EINVAL. */
int bm_parse_duration(const char *s, uint64_t *out);

/* bm_hex -- write 2*@len lowercase hex digits and a NUL into @out. */
void bm_hex(char *out, const uint8_t *in, size_t len);

/* bm_unhex -- parse exactly 2*@len hex digits.  Returns 0 or -EINVAL. */
int bm_unhex(uint8_t *out, size_t len, const char *in);

/* bm_human -- format @bytes as "1.5 GiB" into @buf; returns @buf. */
char *bm_human(char *buf, size_t size, uint64_t bytes);

/* bm_now_ns -- CLOCK_REALTIME in nanoseconds; bm_mono_ns -- monotonic. */
uint64_t bm_now_ns(void);
uint64_t bm_mono_ns(void);

/* bm_time_str -- format a CLOCK_REALTIME time in ns as ISO 8601 UTC
 * "2026-11-28T10:20:30Z" into @buf (at least 21 bytes); returns @buf. */
char *bm_time_str(char *buf, size_t size, uint64_t ns);

/* bm_age_str -- how long before @now_ns @then_ns was, as "42s ago",
 * "5m ago", "3h ago" or "2d ago" ("never" for 0), into @buf; returns
 * @buf. */
char *bm_age_str(char *buf, size_t size, uint64_t then_ns, uint64_t now_ns);

/* bm_utf8_len -- length of the valid UTF-8 sequence at @s (1 to 4), or 0
 * if it is not one.  @s must be NUL-terminated. */
size_t bm_utf8_len(const unsigned char *s);

/* bm_parse_time -- parse ISO 8601 UTC ("2026-11-28", "2026-11-28T10:20:30Z")
 * or a relative age ("3h", "2d", "45m") into CLOCK_REALTIME ns.
 * Returns 0 or -EINVAL. */
int bm_parse_time(const char *s, uint64_t *out);

static inline void
bm_be16enc(uint8_t *p, uint16_t x)
{
	p[0] = (uint8_t)(x >> 8);
	p[1] = (uint8_t)x;
}

static inline uint16_t
bm_be16dec(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static inline void
bm_be32enc(uint8_t *p, uint32_t x)
{
	bm_be16enc(p, (uint16_t)(x >> 16));
	bm_be16enc(p + 2, (uint16_t)x);
}

static inline uint32_t
bm_be32dec(const uint8_t *p)
{
	return ((uint32_t)bm_be16dec(p) << 16) | bm_be16dec(p + 2);
}

static inline void
bm_be64enc(uint8_t *p, uint64_t x)
{
	bm_be32enc(p, (uint32_t)(x >> 32));
	bm_be32enc(p + 4, (uint32_t)x);
}

static inline uint64_t
bm_be64dec(const uint8_t *p)
{
	return ((uint64_t)bm_be32dec(p) << 32) | bm_be32dec(p + 4);
}

/* ---- configuration file -------------------------------------------- */

/*
 * The configuration file (beemo.conf(5)) is INI-like:
 *
 *   # comment
 *   store = /var/lib/beemo
 *   [scan]
 *   signatures = /var/lib/clamav
 *   [target center-a]
 *   host = 192.0.2.10
 *
 * Section names are one word, optionally followed by one name
 * ("target NAME", "machine NAME").  Keys are checked against the table of
 * known keys in bm_conf.c: an unknown section or key, a missing '=', or a
 * value of the wrong type is an error that names the line.
 */
typedef struct bm_conf bm_conf;

/* Default path, overridden by $BEEMO_CONFIG and by -c/--config. */
#define BM_CONF_DEFAULT BEEMO_SYSCONFDIR "/beemo/beemo.conf"

/*
 * bm_conf_load -- parse the configuration file.
 * @path: file to read; NULL means $BEEMO_CONFIG or BM_CONF_DEFAULT.
 *   A missing file is not an error when @path is NULL and the default
 *   file does not exist (every key then has its default).
 * @out: receives the parsed configuration (free with bm_conf_free).
 * @err, @errlen: receive "FILE:LINE: reason" on BEEMO_ECONFIG.
 * Returns 0, BEEMO_ECONFIG, or a negative errno reading the file.
 */
int bm_conf_load(const char *path, bm_conf **out, char *err, size_t errlen);
void bm_conf_free(bm_conf *conf);

/* bm_conf_empty -- a configuration with no keys set (every default). */
bm_conf *bm_conf_empty(void);

/* bm_conf_path -- the file that was read, or NULL if none was. */
const char *bm_conf_path(const bm_conf *conf);

/*
 * bm_conf_get -- value of @key in section @section (NULL or "" for the
 * top, "scan", "target" with @name "center-a", ...), or @def when unset.
 * The returned string lives as long as @conf.
 */
const char *bm_conf_get(const bm_conf *conf, const char *section,
    const char *name, const char *key, const char *def);

/* Typed getters; values were type-checked at load, so these cannot fail. */
uint64_t bm_conf_get_size(const bm_conf *conf, const char *section,
    const char *name, const char *key, uint64_t def);
int bm_conf_get_bool(const bm_conf *conf, const char *section,
    const char *name, const char *key, int def);
/* bm_conf_get_u64 -- a plain number, or a duration ("90s", "45m", "3h",
 * "2d") returned in seconds. */
uint64_t bm_conf_get_u64(const bm_conf *conf, const char *section,
    const char *name, const char *key, uint64_t def);

/*
 * bm_conf_names -- the names of every section of kind @section ("target",
 * "machine") in file order.  @out receives a pointer to an internal array
 * of @n strings, valid as long as @conf.
 */
void bm_conf_names(const bm_conf *conf, const char *section,
    const char *const **out, size_t *n);

/* Default store directory when the configuration names none. */
#define BM_STORE_DEFAULT "/var/lib/beemo"

/* ---- JSON output ---------------------------------------------------- */

/*
 * A minimal streaming JSON writer for --json output.  Calls must nest
 * properly; commas are inserted automatically.  Strings are escaped as
 * RFC 8259 requires (invalid UTF-8 is replaced by U+FFFD).
 */
typedef struct bm_json {
	FILE *f;
	int depth;
	unsigned char first[32]; /* per depth: no element written yet */
} bm_json;

void bm_json_init(bm_json *j, FILE *f);
void bm_json_begin_obj(bm_json *j, const char *key);
void bm_json_end_obj(bm_json *j);
void bm_json_begin_arr(bm_json *j, const char *key);
void bm_json_end_arr(bm_json *j);
void bm_json_str(bm_json *j, const char *key, const char *val);
void bm_json_u64(bm_json *j, const char *key, uint64_t val);
void bm_json_i64(bm_json *j, const char *key, int64_t val);
void bm_json_bool(bm_json *j, const char *key, int val);
void bm_json_null(bm_json *j, const char *key);
/* bm_json_time -- a CLOCK_REALTIME ns time as an ISO 8601 string. */
void bm_json_time(bm_json *j, const char *key, uint64_t ns);

/* ---- reports, the appliance journal ------------------------------- */

/*
 * Design.  No Beemo program sends mail while it works.  beemofs and
 * beemoctl drop one small sealed file per event into the spool
 * STORE/reports/spool/ (bm_report_spool: written atomically, no network,
 * nothing to wait for); `beemo-sync maintenance` later turns the spool
 * and the alert conditions it evaluates into RFC 5322 messages
 * (bm_mail_format) and pipes them to the sendmail-compatible command of
 * [mail] command (bm_mail_send), keeping what failed for the next cycle.
 * A report is an EVENT (mailed once), or the RAISE or CLEAR of a
 * condition named by its key (one mail when raised, one "resolved" mail
 * when cleared).  Reports name files, so the spool and the report state
 * are sealed (bm_sealed_write) under the key that
 * keymgr_appliance_subkey(km, "reports") derives: no file name reaches
 * the disk in clear.  The live status files are bm_status.h's.
 */
enum bm_report_state {
	BM_REPORT_EVENT = 0,
	BM_REPORT_RAISE = 1,
	BM_REPORT_CLEAR = 2,
};

struct bm_report {
	const char *kind;    /* "virus", "error", "unscanned", "damage",
	                        "quota" */
	const char *machine; /* NULL: about the appliance itself */
	const char *key;     /* condition or de-duplication key,
	                        "virus:pc1:/a/b:Sig", "quota:pc1" */
	enum bm_report_state state;
	const char *subject; /* one line, UTF-8 */
	const char *text;    /* body, UTF-8, LF line ends */
};

/*
 * bm_report_spool -- queue report @r for the next maintenance cycle as
 * STORE/reports/spool/<time ns>-<pid>-<n>.sealed (mode 0600; directories
 * created 0700), JSON sealed under @key (the "reports" subkey).
 * Returns 0, -EINVAL (no kind, key or subject), or a negative errno.
 */
int bm_report_spool(const char *store, const uint8_t key[32],
    const struct bm_report *r);

/* A report read back from the spool: the strings of @r are owned. */
struct bm_spooled {
	struct bm_report r;
	uint64_t time;       /* ns, when it was spooled */
};

/*
 * bm_report_parse -- the plaintext of a spool file into @out (zeroed
 * first; free with bm_spooled_free, which cleanses: reports name files):
 * format "beemo-report" version 1, a kind, key, state and subject, and a
 * machine that is a valid name or null.  Returns 0, BEEMO_EFORMAT,
 * BEEMO_EVERSION or -ENOMEM.
 * bm_report_read -- the same of the spool file @path sealed under @key;
 * also -EBADMSG, -EFBIG (over 1 MiB) or a negative errno.
 */
int bm_report_parse(const char *text, size_t len, struct bm_spooled *out);
int bm_report_read(const char *path, const uint8_t key[32],
    struct bm_spooled *out);
void bm_spooled_free(struct bm_spooled *s);

/*
 * bm_sealed_write / bm_sealed_read -- a small file sealed with
 * AES-256-GCM under @key: magic "BMSEALRP", be32 version 1, a random
 * 12-byte nonce, the ciphertext and the 16-byte tag; the magic, version
 * and @label ("spool", "report-state") are the associated data, so a
 * file cannot pass for another kind.  _write is bm_write_file_atomic()
 * (mode 0600, @exclusive as there).  _read refuses files over @maxlen;
 * *@out (NUL-terminated, caller frees) receives the plaintext.
 * Return 0, -EBADMSG (damaged, or another key), BEEMO_EFORMAT,
 * BEEMO_EVERSION, -EFBIG, or a negative errno.
 */
int bm_sealed_write(const char *path, const uint8_t key[32],
    const char *label, const void *buf, size_t len, int exclusive);
int bm_sealed_read(const char *path, const uint8_t key[32],
    const char *label, size_t maxlen, uint8_t **out, size_t *outlen);

struct bm_mail {
	const char *from;    /* one address */
	const char *to;      /* comma-separated addresses */
	const char *subject; /* UTF-8; RFC 2047 encoded when not ASCII */
	const char *body;    /* UTF-8, LF line ends */
	const char *const *headers; /* NULL-terminated extra "Name: value"
	                               lines (ASCII), or NULL */
};

/*
 * bm_mail_format -- an RFC 5322 message with Date (@now_ns), Message-ID,
 * From, To, Subject, MIME-Version, a text/plain UTF-8 body (7bit when it
 * is short-lined ASCII, else quoted-printable) and Auto-Submitted.  Lines
 * end with LF, as `sendmail -t -i` reads them.
 * @out: receives a malloc'd NUL-terminated message of @outlen bytes.
 * Returns 0, -EINVAL (an address or header holds a control character or
 * is empty), or -ENOMEM.
 */
int bm_mail_format(const struct bm_mail *m, uint64_t now_ns, char **out,
    size_t *outlen);

/*
 * bm_mail_send -- run @command (split at blanks, no shell; recipients
 * come from the To header: use -t) with @msg on its standard input, and
 * wait at most @timeout_ms for it to exit (then it is killed).
 * @err: receives a sentence on failure (the status and the first line
 * the command printed).  Returns 0, -EINVAL (empty command), -ETIMEDOUT,
 * BEEMO_EREMOTE (the command failed), or a negative errno.
 */
int bm_mail_send(const char *command, const char *msg, size_t len,
    unsigned timeout_ms, char *err, size_t errlen);

/*
 * A journal entry's encoding, shared by the machines' journals (in their
 * stores) and the appliance journal:
 *   u8 version (1) | u8 len + type | u16 len + who | u32 len + summary |
 *   u32 nfiles | nfiles * (u16 len + path)
 * bm_jentry_encode returns a malloc'd buffer; bm_jentry_decode fills
 * @d with NUL-terminated copies (free with bm_jentry_free).  Returns 0,
 * -EINVAL / -ENAMETOOLONG (encode), BEEMO_EFORMAT, BEEMO_EVERSION or
 * -ENOMEM.
 */
struct bm_jentry {
	const char *type, *who, *summary;
	const char **files;
	size_t nfiles;
	char *strings; /* owns the characters */
};
int bm_jentry_encode(const char *type, const char *who, const char *summary,
    const char *const *files, size_t nfiles, uint8_t **out, size_t *len);
int bm_jentry_decode(const uint8_t *p, size_t len, struct bm_jentry *d);
void bm_jentry_free(struct bm_jentry *d);

/*
 * The appliance journal: key, user and machine operations, pushes,
 * maintenance runs and reports, in STORE/journal/ as append-only segment
 * files of records sealed with AES-256-GCM under @key (derived from the
 * appliance key: keymgr_appliance_subkey(km, "journal")).  Each record's
 * sequence number and time are authenticated, so a record removed,
 * replaced or moved is detected; an append is fsynced before it returns.
 * bm_alog_rotate closes the current segment, which beemo-sync then sends
 * off-site (closed segments never change).  Format: beemo-store(5).
 */
struct bm_alog_entry {
	uint64_t seq;             /* set when listing */
	uint64_t time;            /* ns; 0 on append: now */
	const char *type;         /* "admin", "machine", "user", "key",
	                             "quota", "push", "maintenance", "report" */
	const char *who;          /* "admin", "user alice", "beemo-sync" */
	const char *summary;      /* one line */
	const char *const *files; /* what it concerns, or none */
	size_t nfiles;
};

/* bm_alog_append -- append @e.  Returns 0, -EINVAL, -EFBIG (over 1 MiB),
 * or a negative errno. */
int bm_alog_append(const char *store, const uint8_t key[32],
    const struct bm_alog_entry *e);

/*
 * bm_alog_list -- every entry at or after @since (ns) of @type (NULL:
 * all), oldest first, to @fn (nonzero stops).  A record that fails
 * authentication, or missing sequence numbers, are logged naming the
 * file and make the call return -EBADMSG after the others were listed.
 * Returns 0, -EBADMSG, or a negative errno.
 */
typedef int (*bm_alog_fn)(void *ctx, const struct bm_alog_entry *e);
int bm_alog_list(const char *store, const uint8_t key[32], uint64_t since,
    const char *type, bm_alog_fn fn, void *ctx);

/* bm_alog_rotate -- close the current segment if it holds records.
 * Returns 0 or a negative errno. */
int bm_alog_rotate(const char *store);

#endif /* BEEMO_BM_H */
