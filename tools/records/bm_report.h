/*
 * bm_report.h -- the report spool (records library, see bm_jentry.h).
 *
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
 * are sealed (bm_sealed.h) under the key that
 * keymgr_appliance_subkey(km, "reports") derives: no file name reaches
 * the disk in clear.
 */
#ifndef BEEMO_BM_REPORT_H
#define BEEMO_BM_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "bm_conf.h"

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
 * bm_report_space -- the condition "space" of the store's disk now, by
 * the policy of bm_space.h: @r becomes its RAISE (free space under the
 * alert threshold) or its CLEAR, kind and key "space", about the
 * appliance, its subject and text written into @subject and @text
 * (@ssize, @tsize bytes).  beemofs spools it when the state changes;
 * `beemo-sync maintenance` evaluates it at every run, so the alert holds
 * with no session mounted.  Returns 0 or the negative errno of
 * statvfs(@store).
 */
int bm_report_space(const bm_conf *conf, const char *store,
    struct bm_report *r, char *subject, size_t ssize, char *text,
    size_t tsize);

/*
 * bm_report_spool -- queue report @r for the next maintenance cycle as
 * STORE/reports/spool/<time ns>-<pid>-<n>.sealed (mode 0600; directories
 * created 0700), JSON sealed under @key (the "reports" subkey).
 * Thread-safe.  Returns 0, -EINVAL (no kind, key or subject), or a
 * negative errno.
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

#endif /* BEEMO_BM_REPORT_H */
