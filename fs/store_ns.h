/*
 * store_ns.h -- the namespace's shared helpers.
 *
 * The namespace is split by operation: lookups, attributes, views and
 * paths (store_ns.c), creating and removing (store_ns_create.c),
 * renaming (store_ns_rename.c), listing (store_ns_dir.c) and extended
 * attributes (store_ns_xattr.c); the public calls are in store.h.
 * Every operation runs under the index lock (ix_lock), reading at the
 * view's sequence (live, or a snapshot's) and writing at the live
 * sequence.  Snapshot inodes ((K << 48) | ino) and /.snapshots are
 * read-only.  Directory link counts follow POSIX (2 + subdirectories);
 * the live tree's counters of files, directories and bytes are kept in
 * IX_META.  The helpers below serve those files; the views and paths
 * and ns_reap_locked() also the rest of the store (open files, the
 * journal, the check, open and close).  Each needs ix_lock held unless
 * it says otherwise.
 */
#ifndef BEEMO_STORE_NS_H
#define BEEMO_STORE_NS_H

#include "store_internal.h"

/* Largest total of one inode's extended attribute values, in bytes. */
#define XATTR_TOTAL_MAX (256U << 10)

/* ns_now -- the wall-clock time for timestamps (no lock needed). */
void ns_now(struct timespec *t);
/* ns_dtype -- the DT_* type of a mode (no lock needed). */
uint8_t ns_dtype(uint32_t mode);
/* ns_xattr_find -- the xattr @name of @in, or NULL. */
struct xattr *ns_xattr_find(struct inode *in, const char *name);
/* ns_xattr_put -- set @name to a copy of @value (@size bytes) in @in,
 * with no flag checks.  Returns 0, -ENOSPC (over XATTR_TOTAL_MAX) or
 * -ENOMEM. */
int ns_xattr_put(struct inode *in, const char *name, const void *value,
    size_t size);
/* ns_snapdir_attr -- the attributes of /.snapshots (no lock needed). */
void ns_snapdir_attr(store *st, struct store_attr *a);
/* ns_attr_at -- the attributes of @ino as seen at @seq. */
int ns_attr_at(store *st, uint64_t ino, uint64_t seq, struct store_attr *a);
/* ns_hidden -- whether @ino is history that @st does not show
 * (store_opts.live_only): /.snapshots or an inode of a snapshot (no
 * lock needed). */
int ns_hidden(const store *st, uint64_t ino);
/* ns_live_check -- 0 if @ino may be changed; -ENOENT for a hidden one
 * (ns_hidden), -EROFS for a snapshot inode or a read-only store (no lock
 * needed). */
int ns_live_check(store *st, uint64_t ino);
/* ns_lock -- ix_lock for a change of the namespace (names, attributes,
 * extended attributes): waits while the committer gathers the files
 * closed before the changes of its transaction, then records that this
 * change follows the files closed so far (store_internal.h, txn_need).
 * Release with ix_unlock(). */
void ns_lock(store *st);
/* ns_check_name -- 0 if @name may be created in @parent; -EINVAL,
 * -ENAMETOOLONG, -EEXIST for "." and "..", and for /.snapshots -EEXIST,
 * or -EPERM where it is hidden (a reserved name, not an existing one). */
int ns_check_name(const store *st, uint64_t parent, const char *name);
/* ns_dir_get -- the live directory @ino for a change in it; -ENOTDIR if
 * it is not one.  inode_free() it. */
int ns_dir_get(store *st, uint64_t ino, struct inode *dir);
/* ns_dir_touch -- directory @dir changed: times, link count delta, put. */
int ns_dir_touch(store *st, struct inode *dir, int nlink_delta);
/* ns_drop_link -- one link of @in is gone: count it down; at zero it
 * leaves the live tree's counters and waits as an orphan until no
 * kernel can hold it (store close or next open). */
int ns_drop_link(store *st, struct inode *in);
/* ns_dir_empty -- 1 if live directory @ino is empty, 0 if not, or a
 * negative errno. */
int ns_dir_empty(store *st, uint64_t ino);
/* ns_reap_locked -- delete the records of orphan @ino (nlink 0, marked
 * in IX_ORPHAN when unlinked while open) or of a removed directory, and
 * drop its mark; a missing inode is no error, a file linked again keeps
 * its records.  At open and close, when no kernel can hold it.  Returns
 * 0 or the index's errors. */
int ns_reap_locked(store *st, uint64_t ino);
/* dir_first_entry -- 0 if directory @dir has an entry at @seq, -ENOENT
 * if it is empty, or another negative errno. */
int dir_first_entry(store *st, uint64_t dir, uint64_t seq);

/* ---- views and paths (store_ns.c) ------------------------------------ */

/* snap_get -- snapshot @id's record into @out.  BEEMO_ENOSNAP if there
 * is none, BEEMO_EFORMAT for a malformed one, or the index's errors. */
int snap_get(store *st, uint32_t id, struct store_snapinfo *out);
/* view_seq -- the sequence to read inode @ino at: SEQ_LIVE for the live
 * tree and /.snapshots, else its snapshot's (cached in st->snapseq).
 * -ENOENT for a snapshot that does not exist, and for every inode that
 * ns_hidden() hides: every read of history goes through here.  Takes
 * of_lock and ix_lock in turn, never together: call it with neither held
 * (an open file's lock may be). */
int view_seq(store *st, uint64_t ino, uint64_t *seq);
/* path_locked -- the path of inode @ino as seen at @seq into @buf
 * (@size bytes).  -ENOENT for an inode not in the tree at @seq,
 * -ENAMETOOLONG if it does not fit, -ELOOP past 512 levels, or the
 * errors of inode_get(). */
int path_locked(store *st, uint64_t ino, uint64_t seq, char *buf,
    size_t size);

#endif /* BEEMO_STORE_NS_H */
