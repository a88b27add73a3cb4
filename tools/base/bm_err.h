/*
 * bm_err.h -- Beemo's error codes and their messages.
 *
 * This is a module of the base library (tools/base/), the bottom layer
 * of the tree: every other library and program links it, and it depends
 * on nothing of Beemo.  "bm_" is the base library's prefix; its modules
 * are errors (this header), logging (bm_log.h), the configuration file
 * (bm_conf.h), files (bm_file.h), bytes and text encodings (bm_bytes.h),
 * clocks and times (bm_time.h), numbers, sizes and durations
 * (bm_units.h), JSON (bm_json.h), passwords and secrets (bm_pass.h) and
 * AES-256-GCM (bm_gcm.h).  Each header is its module's manual.
 *
 * Conventions of the whole base library: functions return 0 or a
 * negative errno; Beemo-specific conditions use the reserved range
 * BEEMO_E* below, which beemo_strerror() explains.  Nothing in it exits,
 * and nothing prints except bm_log() and the JSON writer.
 */
#ifndef BEEMO_BM_ERR_H
#define BEEMO_BM_ERR_H

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
#define BEEMO_EROLLBACK (BEEMO_ERR_BASE - 16) /* index older than packs */
#define BEEMO_ERR_LAST (BEEMO_ERR_BASE - 16)

/*
 * beemo_strerror -- message for a code returned by any Beemo function.
 * @err: 0, a negative errno or a BEEMO_E* code.  Libraries below Beemo
 * keep their own codes to themselves: the store maps LMDB's return codes
 * to these before they leave it.
 * Returns a static string; never NULL.  Thread-safe.
 */
const char *beemo_strerror(int err);

#endif /* BEEMO_BM_ERR_H */
