/*
 * bm_jentry.h -- the encoding of a journal entry (records library).
 *
 * The records library (tools/records/) sits above the base library and
 * keymgr: it keeps the appliance's own records -- its journal
 * (bm_alog.h), the report spool (bm_report.h), sealed small files
 * (bm_sealed.h), e-mail (bm_mail.h) and the live status files
 * (bm_run.h).  It takes the keys it seals with from its callers, who
 * derive them with keymgr_appliance_subkey(); it links only the base
 * library and OpenSSL.  Its names keep the base library's prefix "bm_".
 *
 * This module is the one binary encoding of a journal entry, shared by
 * the machines' journals (in their stores) and the appliance journal:
 *
 *   u8 version (1) | u8 len + type | u16 len + who | u32 len + summary |
 *   u32 nfiles | nfiles * (u16 len + path)
 *
 * Pure functions: no I/O, no state, thread-safe.
 */
#ifndef BEEMO_BM_JENTRY_H
#define BEEMO_BM_JENTRY_H

#include <stddef.h>
#include <stdint.h>

/* A decoded entry: NUL-terminated copies, all in @strings. */
struct bm_jentry {
	const char *type, *who, *summary;
	const char **files;
	size_t nfiles;
	char *strings; /* owns the characters */
};

/*
 * bm_jentry_encode -- encode an entry: @type (1 to 255 bytes), @who
 * (NULL or at most 65535), @summary (NULL or any) and each of the
 * @nfiles @files (at most 65535 each).
 * @out receives a malloc'd buffer of @len bytes (caller frees).
 * Returns 0, -EINVAL, -ENAMETOOLONG (a field too long) or -ENOMEM.
 */
int bm_jentry_encode(const char *type, const char *who, const char *summary,
    const char *const *files, size_t nfiles, uint8_t **out, size_t *len);

/*
 * bm_jentry_decode -- decode @len bytes at @p into @d (free with
 * bm_jentry_free, also after an error).  Never reads past @len.
 * Returns 0, BEEMO_EFORMAT, BEEMO_EVERSION or -ENOMEM.
 */
int bm_jentry_decode(const uint8_t *p, size_t len, struct bm_jentry *d);

/* bm_jentry_free -- free what bm_jentry_decode() allocated in @d. */
void bm_jentry_free(struct bm_jentry *d);

#endif /* BEEMO_BM_JENTRY_H */
