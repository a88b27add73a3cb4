/*
 * store_snap.h -- the helpers of store_snap.c that other parts of the
 * store use: the snapshot record's decoding, the hard quota, and the
 * event hook.  (The public calls -- snapshots, statistics, quotas -- are
 * in store.h.)
 *
 * A snapshot is an IX_SNAP record holding the live sequence number when
 * it was taken; the views of snapshots (view_seq(), snap_get()) are the
 * namespace's (store_ns.h).  The hard quota is a bound on the bytes the
 * packs hold (st->packs.stored), kept in st->quota_hard; both are read
 * atomically, so the quota calls need no lock.
 */
#ifndef BEEMO_STORE_SNAP_H
#define BEEMO_STORE_SNAP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/statvfs.h>

#include "store.h"

/* snap_decode -- decode snapshot record @p (@len bytes, opened) of
 * snapshot @id into @si.  Returns 0 or BEEMO_EFORMAT.  No lock. */
int snap_decode(struct store_snapinfo *si, uint32_t id, const uint8_t *p,
    size_t len);
/* store_quota_check -- 0 if @more bytes more stay within the hard quota
 * (or there is none), else -EDQUOT.  No lock needed. */
int store_quota_check(store *st, size_t more);
/* store_quota_statfs -- with a hard quota, make @out's block counts
 * (in f_frsize units, 4096 if unset) say the quota and what is left of
 * it; without one leave @out alone.  No lock needed. */
void store_quota_statfs(store *st, struct statvfs *out);
/* store_report -- call the event hook opts.event, if any, with @ev,
 * @path and @detail.  It runs in the caller's thread under whatever
 * locks the caller holds: it must not call the store. */
void store_report(store *st, enum store_event ev, const char *path,
    const char *detail);

#endif /* BEEMO_STORE_SNAP_H */
