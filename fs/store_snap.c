/*
 * store_snap.c -- snapshots, statistics, quotas, event reports.
 *
 * A snapshot is a record (IX_SNAP) holding the live sequence number at
 * the moment it was taken; the live sequence then moves on, so every
 * later change writes new record versions and the snapshot's view stays
 * as it was.  Taking one costs a few index writes and the closing of the
 * open pack (so that everything it refers to can be pushed off-site):
 * it does not depend on the size of the tree.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "bm_bytes.h"
#include "bm_err.h"
#include "bm_log.h"
#include "bm_time.h"
#include "bm_units.h"
#include "store_commit.h"
#include "store_cqueue.h"
#include "store_internal.h"
#include "store_journal.h"
#include "store_snap.h"

/*
 * The snapshot record (beemo-store(5)): u8 version, be64 seq, be64 time,
 * be64 files, be64 bytes, be16 length and the note; version 2 adds u8
 * the number of tags and per tag u8 length and the tag.  Version 1
 * records (no tags) are read as they are, and rewritten in version 2
 * when a tag is added.
 */
#define SNAP_VERSION_1 1
#define SNAP_VERSION 2

uint64_t
store_snapshot_ino(uint32_t id)
{
	if (id == 0 || id > STORE_MAX_SNAP)
		return 0;
	return ((uint64_t)id << STORE_SNAP_SHIFT) | STORE_ROOT_INO;
}

int
store_tag_valid(const char *tag)
{
	size_t i, n = strlen(tag);

	if (n == 0 || n > STORE_TAG_MAX || !((tag[0] >= 'A' && tag[0] <= 'Z') ||
	    (tag[0] >= 'a' && tag[0] <= 'z')))
		return 0;
	for (i = 1; i < n; i++)
		if (!((tag[i] >= 'A' && tag[i] <= 'Z') ||
		    (tag[i] >= 'a' && tag[i] <= 'z') ||
		    (tag[i] >= '0' && tag[i] <= '9') || tag[i] == '.' ||
		    tag[i] == '_' || tag[i] == '-'))
			return 0;
	/* Words that name a snapshot otherwise (ctl_snapname.h). */
	return strcmp(tag, "latest") != 0 && strcmp(tag, "now") != 0 &&
	    strcmp(tag, "today") != 0 && strcmp(tag, "yesterday") != 0;
}

/* Whether @si has @tag. */
static int
has_tag(const struct store_snapinfo *si, const char *tag)
{
	unsigned i;

	for (i = 0; i < si->ntags; i++)
		if (strcmp(si->tags[i], tag) == 0)
			return 1;
	return 0;
}

int
snap_decode(struct store_snapinfo *si, uint32_t id, const uint8_t *p,
    size_t len)
{
	size_t n, off, tl;
	unsigned i, nt;

	memset(si, 0, sizeof(*si));
	if (len < 35 || (p[0] != SNAP_VERSION && p[0] != SNAP_VERSION_1))
		return BEEMO_EFORMAT;
	si->id = id;
	si->seq = bm_be64dec(p + 1);
	si->time = bm_be64dec(p + 9);
	si->files = bm_be64dec(p + 17);
	si->bytes = bm_be64dec(p + 25);
	n = bm_be16dec(p + 33);
	if (len < 35 + n || n >= sizeof(si->note))
		return BEEMO_EFORMAT;
	memcpy(si->note, p + 35, n);
	si->note[n] = '\0';
	off = 35 + n;
	if (p[0] == SNAP_VERSION_1)
		return len == off ? 0 : BEEMO_EFORMAT;
	if (len == off || (nt = p[off++]) > STORE_SNAP_TAGS)
		return BEEMO_EFORMAT;
	for (i = 0; i < nt; i++) {
		if (off >= len || (tl = p[off++]) > STORE_TAG_MAX ||
		    len - off < tl)
			return BEEMO_EFORMAT;
		memcpy(si->tags[i], p + off, tl);
		si->tags[i][tl] = '\0';
		off += tl;
		if (!store_tag_valid(si->tags[i]) || has_tag(si, si->tags[i]))
			return BEEMO_EFORMAT;
		si->ntags = i + 1;
	}
	return off == len ? 0 : BEEMO_EFORMAT;
}

size_t
snap_encode(uint8_t out[SNAP_REC_MAX], const struct store_snapinfo *si)
{
	size_t n = strlen(si->note), off, tl;
	unsigned i, nt = si->ntags > STORE_SNAP_TAGS ? STORE_SNAP_TAGS :
	    si->ntags;

	if (n > 127)
		n = 127;
	out[0] = SNAP_VERSION;
	bm_be64enc(out + 1, si->seq);
	bm_be64enc(out + 9, si->time);
	bm_be64enc(out + 17, si->files);
	bm_be64enc(out + 25, si->bytes);
	bm_be16enc(out + 33, (uint16_t)n);
	memcpy(out + 35, si->note, n);
	off = 35 + n;
	out[off++] = (uint8_t)nt;
	for (i = 0; i < nt; i++) {
		tl = strnlen(si->tags[i], STORE_TAG_MAX);
		out[off++] = (uint8_t)tl;
		memcpy(out + off, si->tags[i], tl);
		off += tl;
	}
	return off;
}

int
store_snapshot(store *st, const char *note, uint32_t *id)
{
	struct store_snapinfo want;
	int created;

	memset(&want, 0, sizeof(want));
	if (note != NULL)
		snprintf(want.note, sizeof(want.note), "%s", note);
	return store_snapshot_take(st, &want, 0, id, &created);
}

/* Whether snapshot @id exists (ix_lock held). */
static int
snap_exists(store *st, uint32_t id)
{
	uint8_t k[4];
	MDB_val v;

	bm_be32enc(k, id);
	return ix_get(st, IX_SNAP, k, 4, &v) == 0;
}

/* The snapshot the live tree equals, if it still exists, or 0 (ix_lock
 * held). */
static uint32_t
live_same_locked(store *st)
{
	return st->live_same != 0 && st->live_same <= STORE_MAX_SNAP &&
	    snap_exists(st, (uint32_t)st->live_same) ?
	    (uint32_t)st->live_same : 0;
}

uint32_t
store_live_same(store *st)
{
	uint32_t id;

	ix_lock(st);
	id = live_same_locked(st);
	ix_unlock(st);
	return id;
}

int
store_snapshot_take(store *st, const struct store_snapinfo *want,
    int if_changed, uint32_t *id, int *created)
{
	uint8_t k[4], v[SNAP_REC_MAX];
	struct store_snapinfo si;
	uint64_t files = 0, bytes = 0;
	size_t n = strnlen(want->note, sizeof(want->note) - 1);
	MDB_cursor *cur;
	MDB_val key, val;
	uint32_t next = 1;
	uint64_t floor;
	unsigned i;
	int rc;

	*created = 0;
	if (st->opts.rdonly)
		return -EROFS;
	if (want->ntags > STORE_SNAP_TAGS)
		return -EINVAL;
	memset(&si, 0, sizeof(si));
	for (i = 0; i < want->ntags; i++) {
		if (!store_tag_valid(want->tags[i]))
			return -EINVAL;
		if (!has_tag(&si, want->tags[i]))
			memcpy(si.tags[si.ntags++], want->tags[i],
			    sizeof(si.tags[0]));
	}
	/* Files closed before: committed, or refused (never in it). */
	cq_drain(st);
	ix_lock(st);
	/* And those closed before a namespace change it holds: a file
	 * closed, then renamed while the drain above waited, would be in
	 * it by name without its content.  Namespace changes wait
	 * meanwhile (ns_lock()), so that this ends. */
	(void)ns_quiesce(st, 0);
	/* Nothing changed since a snapshot that is still there: that one
	 * is the live tree. */
	if (if_changed && (*id = live_same_locked(st)) != 0) {
		rc = 0;
		goto unlock;
	}
	if (mdb_cursor_open(st->txn, st->dbi[IX_SNAP], &cur) != 0) {
		rc = -EIO;
		goto unlock;
	}
	rc = mdb_cursor_get(cur, &key, &val, MDB_LAST);
	mdb_cursor_close(cur);
	if (rc == 0 && key.mv_size == 4)
		next = bm_be32dec(key.mv_data) + 1;
	else if (rc != MDB_NOTFOUND) {
		rc = -EIO;
		goto unlock;
	}
	/* Ids of forgotten snapshots are not given again (store_forget). */
	if (ix_meta_get(st, "snap_next", &floor) == 0 && floor > next)
		next = (uint32_t)(floor > STORE_MAX_SNAP + 1 ? STORE_MAX_SNAP +
		    1 : floor);
	if (next > STORE_MAX_SNAP) {
		rc = -ENOSPC;
		goto unlock;
	}
	ix_meta_get(st, "files", &files);
	ix_meta_get(st, "bytes", &bytes);
	si.seq = st->live_seq;
	si.time = bm_now_ns();
	si.files = files;
	si.bytes = bytes;
	memcpy(si.note, want->note, n);
	bm_be32enc(k, next);
	if ((rc = ix_put_sealed(st, IX_SNAP, k, 4, v, snap_encode(v,
	    &si))) != 0)
		goto unlock;
	{
		char summary[200 + STORE_SNAP_TAGS * (STORE_TAG_MAX + 2)];
		struct store_journal_entry e = {0, "snapshot", st->who,
		    summary, NULL, 0};
		size_t off;

		off = (size_t)snprintf(summary, sizeof(summary), "snapshot %u%s%s"
		    ": %" PRIu64 " files, %" PRIu64 " bytes", next, n ? ": " :
		    "", n ? si.note : "", files, bytes);
		for (i = 0; i < si.ntags && off < sizeof(summary); i++)
			off += (size_t)snprintf(summary + off, sizeof(summary) -
			    off, "%s%s", i ? ", " : "; tags ", si.tags[i]);
		if ((rc = journal_flush(st)) != 0 ||
		    (rc = journal_add_locked(st, &e)) != 0)
			goto unlock;
	}
	st->live_seq++;
	if ((rc = ix_meta_put(st, "live_seq", st->live_seq)) != 0 ||
	    (rc = ix_meta_put(st, "live_same", next)) != 0)
		goto unlock;
	st->live_same = next;
	st->want_close = 1;
	if ((rc = commit_wait_locked(st)) != 0)
		goto unlock;
	*id = next;
	*created = 1;
unlock:
	ns_release(st);
	ix_unlock(st);
	return rc;
}

int
store_snapshot_tag(store *st, uint32_t id, const char *tag, int add)
{
	uint8_t k[4], v[SNAP_REC_MAX], *plain;
	struct store_snapinfo si;
	MDB_val key, val;
	size_t len;
	unsigned i;
	int rc;

	if (st->opts.rdonly)
		return -EROFS;
	if (!store_tag_valid(tag))
		return -EINVAL;
	bm_be32enc(k, id);
	key.mv_data = k;
	key.mv_size = 4;
	ix_lock(st);
	if ((rc = ix_get(st, IX_SNAP, k, 4, &val)) != 0)
		goto unlock;
	if ((rc = ix_open_sealed(st, IX_SNAP, &key, &val, &plain, &len)) != 0)
		goto unlock;
	rc = snap_decode(&si, id, plain, len);
	free(plain);
	if (rc != 0)
		goto unlock;
	if (add == has_tag(&si, tag))
		goto unlock; /* nothing to do */
	if (add) {
		if (si.ntags >= STORE_SNAP_TAGS) {
			rc = -E2BIG;
			goto unlock;
		}
		snprintf(si.tags[si.ntags++], sizeof(si.tags[0]), "%s", tag);
	} else {
		for (i = 0; strcmp(si.tags[i], tag) != 0; i++)
			;
		memmove(si.tags[i], si.tags[i + 1], (si.ntags - i - 1) *
		    sizeof(si.tags[0]));
		si.ntags--;
	}
	if ((rc = ix_put_sealed(st, IX_SNAP, k, 4, v, snap_encode(v,
	    &si))) != 0)
		goto unlock;
	{
		char summary[200];
		struct store_journal_entry e = {0, "snapshot", st->who,
		    summary, NULL, 0};

		snprintf(summary, sizeof(summary), "snapshot %u: tag %s %s",
		    id, tag, add ? "added" : "removed");
		if ((rc = journal_flush(st)) != 0 ||
		    (rc = journal_add_locked(st, &e)) != 0)
			goto unlock;
	}
	rc = commit_wait_locked(st);
unlock:
	ix_unlock(st);
	return rc;
}

int
store_snapshots(store *st, struct store_snapinfo **out, size_t *n)
{
	struct store_snapinfo *v = NULL, *nv;
	size_t cnt = 0;
	MDB_cursor *cur;
	MDB_val key, val;
	int rc, mrc;

	ix_lock(st);
	if (st->txn == NULL ||
	    mdb_cursor_open(st->txn, st->dbi[IX_SNAP], &cur) != 0) {
		ix_unlock(st);
		return -EIO;
	}
	rc = 0;
	for (mrc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); mrc == 0;
	    mrc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		uint8_t *plain;
		size_t len;

		if (key.mv_size != 4) {
			rc = -EIO;
			break;
		}
		if ((rc = ix_open_sealed(st, IX_SNAP, &key, &val, &plain,
		    &len)) != 0)
			break;
		if ((nv = realloc(v, (cnt + 1) * sizeof(*v))) == NULL) {
			free(plain);
			rc = -ENOMEM;
			break;
		}
		v = nv;
		rc = snap_decode(&v[cnt], bm_be32dec(key.mv_data), plain, len);
		free(plain);
		if (rc != 0)
			break;
		cnt++;
	}
	mdb_cursor_close(cur);
	ix_unlock(st);
	if (rc != 0) {
		free(v);
		return rc;
	}
	*out = v;
	*n = cnt;
	return 0;
}

/* The packs of the store, but for those a prune dropped (ix_lock
 * held). */
static uint64_t
count_packs(store *st)
{
	MDB_cursor *cur;
	MDB_val k, v;
	uint64_t n = 0;
	int mrc;

	if (st->txn == NULL ||
	    mdb_cursor_open(st->txn, st->dbi[IX_PACK], &cur) != 0)
		return 0;
	for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0;
	    mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
		n += v.mv_size == PACK_REC_LEN &&
		    ((uint8_t *)v.mv_data)[0] != PACK_DROPPED;
	mdb_cursor_close(cur);
	return n;
}

int
store_stats(store *st, struct store_stats *out)
{
	MDB_stat ms;
	struct store_snapinfo *snaps;
	size_t n;
	int rc;

	memset(out, 0, sizeof(*out));
	ix_lock(st);
	ix_meta_get(st, "files", &out->files);
	ix_meta_get(st, "dirs", &out->dirs);
	ix_meta_get(st, "bytes", &out->bytes);
	if (mdb_stat(st->txn, st->dbi[IX_CHUNK], &ms) == 0)
		out->chunks = ms.ms_entries;
	out->packs = count_packs(st);
	ix_meta_get(st, "reclaimable", &out->reclaimable);
	ix_meta_get(st, "reclaimable_time", &out->reclaimable_time);
	ix_unlock(st);
	out->stored = __atomic_load_n(&st->packs.stored, __ATOMIC_RELAXED);
	out->used = store_used(st);
	out->quota_limit = store_quota_limit(st);
	out->session_files = __atomic_load_n(&st->st_files, __ATOMIC_RELAXED);
	out->session_bytes = __atomic_load_n(&st->st_bytes, __ATOMIC_RELAXED);
	if ((rc = store_snapshots(st, &snaps, &n)) != 0)
		return rc;
	out->snapshots = (uint32_t)n;
	out->last_snapshot = n > 0 ? snaps[n - 1].time : 0;
	free(snaps);
	return 0;
}

/* ---- quotas ---------------------------------------------------------------- */

int
store_quota_get(store *st, uint64_t *soft, uint64_t *hard)
{
	*soft = *hard = 0;
	ix_lock(st);
	ix_meta_get(st, "quota_soft", soft);
	ix_meta_get(st, "quota_hard", hard);
	ix_unlock(st);
	return 0;
}

int
store_quota_set(store *st, uint64_t soft, uint64_t hard)
{
	int rc;

	if (st->opts.rdonly)
		return -EROFS;
	ix_lock(st);
	rc = ix_meta_put(st, "quota_soft", soft);
	if (rc == 0)
		rc = ix_meta_put(st, "quota_hard", hard);
	if (rc == 0) {
		st->quota_hard = hard;
		rc = commit_wait_locked(st);
	}
	ix_unlock(st);
	return rc;
}

uint64_t
store_used(store *st)
{
	return __atomic_load_n(&st->packs.stored, __ATOMIC_RELAXED) +
	    __atomic_load_n(&st->staged, __ATOMIC_RELAXED) +
	    __atomic_load_n(&st->index_bytes, __ATOMIC_RELAXED);
}

uint64_t
store_quota_limit(store *st)
{
	uint64_t hard = __atomic_load_n(&st->quota_hard, __ATOMIC_RELAXED);

	return hard != 0 ? hard : st->opts.quota_default;
}

/* Space came back this far above the reserve: refusals are reported
 * again when it runs short the next time. */
#define SPACE_RESUME (4ULL << 20)

/* Writes are refused for want of space (@avail bytes free): journal
 * and report it once, until space comes back.  No store lock held but
 * an open file's. */
static void
space_refused(store *st, uint64_t avail)
{
	struct store_journal_entry e = {0, "error", NULL, NULL, NULL, 0};
	char a[32], r[32], summary[256];
	int rc;

	if (__atomic_exchange_n(&st->space_full, 1, __ATOMIC_RELAXED))
		return;
	bm_human(a, sizeof(a), avail);
	bm_human(r, sizeof(r), st->opts.reserve);
	snprintf(summary, sizeof(summary), "the store's disk is full: new "
	    "data is refused (ENOSPC) with %s free, under the reserve of %s "
	    "kept for commits, journals and reports", a, r);
	bm_log(LOG_WARNING, "%s: %s", st->dir, summary);
	store_report(st, STORE_EV_SPACE, NULL, summary);
	if (st->opts.rdonly)
		return;
	ix_lock(st);
	e.who = st->who;
	e.summary = summary;
	rc = journal_add_locked(st, &e);
	ix_unlock(st);
	if (rc != 0)
		bm_log(LOG_WARNING, "journal: cannot record that the disk is "
		    "full: %s", beemo_strerror(rc));
}

/*
 * What the open transaction adds to the disk when it commits: its log
 * records, sealed into a pack, and its journal lines, which become
 * journal records in the index and in the log; three times, for the
 * index's copy-on-write and overflow pages (measured: a stream of
 * renames costs the index about 2.7 times its log).  Read without
 * ix_lock: an estimate, and the next check sees any growth it missed.
 */
static uint64_t
pending_bytes(store *st)
{
	return 3 * ((uint64_t)__atomic_load_n(&st->loglen, __ATOMIC_RELAXED) +
	    __atomic_load_n(&st->jlen, __ATOMIC_RELAXED));
}

/* @more bytes more, and what is pending, against the hard quota (if
 * @quota) and free space over @floor. */
static int
space_check(store *st, uint64_t more, int quota, uint64_t floor)
{
	uint64_t hard = quota ? store_quota_limit(st) : 0, avail;
	struct statvfs v;

	more += pending_bytes(st);
	if (hard != 0 && store_used(st) + more > hard)
		return -EDQUOT;
	if (floor == 0 || st->lockfd < 0 || fstatvfs(st->lockfd, &v) != 0)
		return 0;
	avail = (uint64_t)v.f_bavail * v.f_frsize;
	if (avail < floor + more) {
		space_refused(st, avail);
		return -ENOSPC;
	}
	if (avail >= st->opts.reserve + SPACE_RESUME &&
	    __atomic_load_n(&st->space_full, __ATOMIC_RELAXED))
		__atomic_store_n(&st->space_full, 0, __ATOMIC_RELAXED);
	return 0;
}

int
store_space_ample(store *st, uint64_t margin)
{
	uint64_t hard = store_quota_limit(st);
	struct statvfs v;

	if (hard != 0 && store_used(st) + pending_bytes(st) + margin > hard)
		return 0;
	if (st->opts.reserve == 0 || st->lockfd < 0 ||
	    fstatvfs(st->lockfd, &v) != 0)
		return 1;
	return (uint64_t)v.f_bavail * v.f_frsize >= st->opts.reserve +
	    pending_bytes(st) + margin;
}

int
store_space_check(store *st, uint64_t more, int quota)
{
	return space_check(st, more, quota, st->opts.reserve);
}

int
store_meta_check(store *st, int freeing)
{
	/* A deletion stays possible down to half the reserve, and past
	 * the quota: the other half commits what was acknowledged. */
	if (freeing)
		return space_check(st, STORE_META_BYTES, 0,
		    st->opts.reserve / 2);
	return space_check(st, STORE_META_BYTES, 1, st->opts.reserve);
}

void
store_quota_statfs(store *st, struct statvfs *out)
{
	uint64_t hard = store_quota_limit(st), used = store_used(st);
	uint64_t bs = out->f_frsize ? out->f_frsize : 4096;
	uint64_t left = used >= hard ? 0 : (hard - used) / bs;
	uint64_t keep = st->opts.reserve / bs;

	/* The reserve is not for new data. */
	out->f_bavail = out->f_bavail > keep ? out->f_bavail - keep : 0;
	out->f_bfree = out->f_bfree > keep ? out->f_bfree - keep : 0;
	if (hard == 0)
		return;
	/* The disk may have less left than the quota. */
	if (left > out->f_bavail)
		left = out->f_bavail;
	out->f_blocks = hard / bs;
	out->f_bfree = out->f_bavail = left;
}

/* ---- reports ------------------------------------------------------------------ */

void
store_report(store *st, enum store_event ev, const char *path,
    const char *detail)
{
	if (st->opts.event != NULL)
		st->opts.event(st->opts.event_ctx, ev, path, detail);
}
