/*
 * store_prune.h -- the parts of the prune (store_prune.c, store_repack.c)
 * that are shared between its two files and tested alone.  The public
 * calls (store_forget, store_prune, store_dropped_packs) are in store.h;
 * beemo-store(5), "Pruning", describes what they do on disk.
 *
 * Design.  A prune is mark and sweep in four steps, each of which
 * commits old-or-new:
 *   1. index versions: per key prefix of the versioned tables, keep the
 *      versions the live tree or a remaining snapshot sees
 *      (prune_keep(), a pure function; an inode version with no link
 *      left counts as a tombstone unless it is the newest), and the
 *      content records a kept inode version names; the others are
 *      deleted through the logged
 *      index calls, in batches that commit at prefix boundaries, so that
 *      every key prefix changes in one transaction;
 *   2. mark: the ids of the chunks the kept contents name, in a sorted
 *      array (struct prune_mark: 32 bytes per chunk, 32 MB for a
 *      million); chunk rows nothing names are deleted;
 *   3. a checkpoint of the log (store_ckpt.h), if there is one;
 *   4. packs (repack_run()): a pack whose live objects (marked chunks at
 *      the place their row names, log objects from the checkpoint on)
 *      are gone is dropped, one with at least repack_pct % garbage is
 *      copied object by object, sealed bytes as they are, into the open
 *      pack; the chunk rows move and the old pack is recorded
 *      PACK_DROPPED in one commit, and its file is unlinked after it.
 *
 * Locking: the functions below take ix_lock themselves where they need
 * it, unless they say otherwise; call them with no store lock held.
 */
#ifndef BEEMO_STORE_PRUNE_H
#define BEEMO_STORE_PRUNE_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "store_codec.h"

/* ---- the visibility rule ------------------------------------------------- */

/* One version of a key prefix: its sequence number, whether it is a
 * tombstone, and the decision. */
struct prune_version {
	uint64_t seq;
	uint8_t tomb;
	uint8_t keep; /* output of prune_keep() */
};

/*
 * prune_keep -- decide which of the @n versions @v of one key prefix
 * (newest first: seq strictly descending, as the index orders them) to
 * keep, given the frozen sequence numbers @snaps (@nsnaps, ascending) of
 * the snapshots that remain.  A version with seq s is seen by a
 * snapshot with frozen seq S iff s <= S and no other version has its
 * seq in (s, S]; the live tree sees the newest.  A version is kept iff
 * the live tree or a snapshot sees it, except a tombstone, which is
 * kept only if a kept version older than it is not a tombstone (without
 * one, every view that sees it reads "no such entry" all the same).
 * Sets v[i].keep; no lock, no allocation.
 */
void prune_keep(struct prune_version *v, size_t n, const uint64_t *snaps,
    size_t nsnaps);

/* ---- the mark ------------------------------------------------------------ */

/* A set of chunk ids: appended, then sorted and deduplicated. */
struct prune_mark {
	uint8_t (*ids)[OBJ_ID_LEN];
	size_t n, cap;
	size_t sorted; /* ids[0..sorted) are sorted and unique */
};

/*
 * mark_add -- add chunk @id to @m; when the array is full it is sorted
 * and deduplicated first, and grows by half only if that freed less
 * than a quarter of it.  Returns 0 or -ENOMEM.
 * mark_finish -- sort and deduplicate, after the last mark_add().
 * Returns 0.
 * mark_has -- whether @id is in @m (mark_finish() done).
 * mark_free -- free what @m holds and zero it.
 */
int mark_add(struct prune_mark *m, const uint8_t id[OBJ_ID_LEN]);
int mark_finish(struct prune_mark *m);
int mark_has(const struct prune_mark *m, const uint8_t id[OBJ_ID_LEN]);
void mark_free(struct prune_mark *m);

/* ---- the packs (store_repack.c) ------------------------------------------ */

/*
 * repack_run -- step 4 above, in store @st whose chunk rows nothing
 * names are gone (or, with o->dry_run, are those not in @m): live
 * objects are the chunks in @m at the place their row names and the log
 * objects numbered @ckpt or above.  Packs whose garbage is at least
 * o->repack_pct % of their size (with @full: any garbage) are repacked,
 * packs with nothing live dropped; with o->dry_run only counted.  Adds
 * to @out's pack figures and reclaimable_after (garbage left), and
 * *@garbage receives all the garbage found before repacking.  Returns
 * 0, -EINTR (store_interrupt(): the packs done so far stay done), or a
 * negative errno of the packs or the index.  A failed commit, and a
 * failure while a pack's objects are copied, are sticky as for any
 * change: the handle commits nothing more and the next open cuts the
 * uncommitted copies away.
 */
int repack_run(store *st, const struct prune_mark *m, uint64_t ckpt, int full,
    const struct store_prune_opts *o, struct store_prune_stats *out,
    uint64_t *garbage);

#endif /* BEEMO_STORE_PRUNE_H */
