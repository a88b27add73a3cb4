/*
 * bm_alog.h -- the appliance journal (records library, see bm_jentry.h).
 *
 * Key, user and machine operations, pushes, maintenance runs and reports,
 * in STORE/journal/ as append-only segment files of records sealed with
 * AES-256-GCM under @key (derived from the appliance key:
 * keymgr_appliance_subkey(km, "journal")).  Each record's sequence number
 * and time are authenticated, so a record removed, replaced or moved is
 * detected; an append is fsynced before it returns.  bm_alog_rotate
 * closes the current segment, which beemo-sync then sends off-site
 * (closed segments never change).  Format: beemo-store(5).
 *
 * Locking: writers of any process serialise on an flock()ed file in the
 * journal directory; readers take no lock and skip a torn last record.
 */
#ifndef BEEMO_BM_ALOG_H
#define BEEMO_BM_ALOG_H

#include <stddef.h>
#include <stdint.h>

struct bm_alog_entry {
	uint64_t seq;             /* set when listing */
	uint64_t time;            /* ns; 0 on append: now */
	const char *type;         /* "admin", "machine", "user", "key",
	                             "quota", "push", "maintenance", "report",
	                             "release" */
	const char *who;          /* "admin", "user alice", "beemo-sync" */
	const char *summary;      /* one line */
	const char *const *files; /* what it concerns, or none */
	size_t nfiles;
};

/* bm_alog_append -- append @e to the journal of @store.  Returns 0,
 * -EINVAL, -EFBIG (over 1 MiB), or a negative errno. */
int bm_alog_append(const char *store, const uint8_t key[32],
    const struct bm_alog_entry *e);

/*
 * bm_alog_list -- every entry at or after @since (ns) of @type (NULL:
 * all), oldest first, to @fn (nonzero stops).  The entry passed to @fn
 * lives only during the call.  A record that fails authentication, or
 * missing sequence numbers, are logged naming the file and make the call
 * return -EBADMSG after the others were listed.
 * Returns 0, -EBADMSG, or a negative errno.
 */
typedef int (*bm_alog_fn)(void *ctx, const struct bm_alog_entry *e);
int bm_alog_list(const char *store, const uint8_t key[32], uint64_t since,
    const char *type, bm_alog_fn fn, void *ctx);

/* bm_alog_rotate -- close the current segment if it holds records.
 * Returns 0 or a negative errno. */
int bm_alog_rotate(const char *store);

#endif /* BEEMO_BM_ALOG_H */
