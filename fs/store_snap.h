/*
 * store_snap.h -- the helpers of store_snap.c that other parts of the
 * store use: the snapshot record's decoding, the hard quota, and the
 * event hook.  (The public calls -- snapshots, statistics, quotas -- are
 * in store.h.)
 *
 * A snapshot is an IX_SNAP record holding the live sequence number when
 * it was taken; the views of snapshots (view_seq(), snap_get()) are the
 * namespace's (store_ns.h).  Space and quotas: see below.
 */
#ifndef BEEMO_STORE_SNAP_H
#define BEEMO_STORE_SNAP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/statvfs.h>

#include "store.h"

/* snap_decode -- decode snapshot record @p (@len bytes, opened) of
 * snapshot @id into @si: version 2, or version 1 (no tags).  Returns 0
 * or BEEMO_EFORMAT.  No lock. */
int snap_decode(struct store_snapinfo *si, uint32_t id, const uint8_t *p,
    size_t len);
/* snap_encode -- the record of snapshot @si (seq, time, files, bytes,
 * note, tags; not the id, which is its key) into @out, in version 2;
 * returns its length.  No lock. */
#define SNAP_REC_MAX (35 + 127 + 1 + STORE_SNAP_TAGS * (1 + STORE_TAG_MAX))
size_t snap_encode(uint8_t out[SNAP_REC_MAX], const struct store_snapinfo *si);
/*
 * Space.  What a machine makes the appliance hold, store_used(), is the
 * bytes of its packs, of its index file (used pages, as of the last
 * commit) and of the staging files of the files being written; the hard
 * quota (the machine's own, st->quota_hard, else opts.quota_default) is
 * a bound on it.  The disk's reserve (opts.reserve) is a floor of free
 * space under which new data is refused.  Both are checked before data
 * is accepted: at each write, file creation and chunk sealed.  The
 * quota's slack: chunks still in memory are counted when they reach a
 * pack, so the quota can be passed by what is in flight (at most 16
 * MiB being sealed, plus per file being written its last chunk, up to
 * 4 MiB, and writes that arrived out of order, up to 64 MiB).  All read
 * atomics: no lock needed.
 *
 * store_used -- the bytes above.  store_quota_limit -- the hard quota
 * in force (0: none).
 * store_space_check -- whether @more bytes more may be accepted: 0,
 * -EDQUOT past the hard quota (only if @quota: a chunk sealed from a
 * staging file, counted twice for a moment, does not check it), or
 * -ENOSPC under the reserve (the first
 * refusal until space comes back is logged, journaled as an "error"
 * entry and reported as STORE_EV_SPACE; takes ix_lock for that: call it
 * with no store lock held but an open file's).
 * Both also count what the open transaction will write when it commits
 * (its log records and journal lines), so that a stream of small
 * changes cannot outrun the checks between two commits.
 * store_meta_check -- the same for a change of names or metadata
 * (rename, chmod, chown, utimes, link, removexattr, unlink, rmdir),
 * which costs up to STORE_META_BYTES (an inode record with its extended
 * attributes, two names, a journal line): 0, -EDQUOT or -ENOSPC.  With
 * @freeing (unlink, rmdir, removexattr, and a change of times alone,
 * which the kernel sends at the close of any file) the quota is not
 * checked and only half the reserve is kept, so that a full machine
 * can still delete and read.
 * store_quota_statfs -- make @out's free block counts (in f_frsize
 * units, 4096 if unset) leave out the disk's reserve, and with a hard
 * quota make its block counts say the quota and what is left of it (no
 * more than the disk has).
 */
uint64_t store_used(store *st);
uint64_t store_quota_limit(store *st);
int store_space_check(store *st, uint64_t more, int quota);
/* store_space_ample -- whether @margin bytes are left both under the
 * hard quota and over the disk's reserve (no side effect: nothing is
 * logged or reported). */
int store_space_ample(store *st, uint64_t margin);
#define STORE_META_BYTES (80U << 10)
int store_meta_check(store *st, int freeing);
void store_quota_statfs(store *st, struct statvfs *out);
/* store_report -- call the event hook opts.event, if any, with @ev,
 * @path and @detail.  It runs in the caller's thread under whatever
 * locks the caller holds: it must not call the store. */
void store_report(store *st, enum store_event ev, const char *path,
    const char *detail);

#endif /* BEEMO_STORE_SNAP_H */
