/*
 * store_record.h -- the index's records by name: inodes, directory
 * entries, contents and chunk locations.
 *
 * A thin layer over store_index.h: each call builds the key, encodes or
 * decodes the value with store_codec.h and reads or writes it in the
 * shared index transaction.  Inodes, directory entries and contents are
 * versioned and sealed (a read at sequence @seq sees the newest version
 * at or below it; a write makes the live version, st->live_seq);
 * directory entries are keyed by the parent and the keyed hash of the
 * name, so a name is never stored in the clear.  Chunk locations are
 * plain, unversioned records keyed by chunk id.
 *
 * Locking: every function needs ix_lock held, and none takes another
 * lock.  Errors: 0 or a negative errno; besides those named below, the
 * index's (store_index.h): -EROFS for a change in a read-only store,
 * -EIO after a failed commit or from LMDB, -ENOSPC for a full map,
 * -EBADMSG for a record that fails authentication, -ENOMEM.
 */
#ifndef BEEMO_STORE_RECORD_H
#define BEEMO_STORE_RECORD_H

#include <stdint.h>

#include "store.h"
#include "store_codec.h"

/* inode_get -- inode @ino as seen at @seq into @out (out->seq: the
 * version found; the caller inode_free()s it).  -ENOENT if none, -EIO
 * for a malformed record (logged).  inode_put -- write @in as the live
 * version of in->ino.  inode_del -- delete the live versions of the
 * inode and of its content (tombstones where a snapshot may see an
 * older one). */
int inode_get(store *st, uint64_t ino, uint64_t seq, struct inode *out);
int inode_put(store *st, struct inode *in);
int inode_del(store *st, uint64_t ino);

/* dirent_get -- the entry @name of directory @parent at @seq into
 * @out.  -ENOENT if none, -EIO for a malformed record or a name that
 * differs from @name (two names with one hash; logged).  dirent_put --
 * make @name in @parent name @ino of DT_* @type.  dirent_del -- remove
 * its live version. */
int dirent_get(store *st, uint64_t parent, const char *name, uint64_t seq,
    struct dirent_rec *out);
int dirent_put(store *st, uint64_t parent, const char *name, uint64_t ino,
    uint8_t type);
int dirent_del(store *st, uint64_t parent, const char *name);

/* content_get -- the content of @ino written at exactly @seq (an
 * inode's content_seq) into a new *@out (content_unref() it).  -EIO
 * when the record is missing, of another version or malformed (logged),
 * -ENOMEM.  content_put -- write @c (not taken) as the live content of
 * @ino; *@seq receives the sequence to record in the inode. */
int content_get(store *st, uint64_t ino, uint64_t seq, struct content **out);
int content_put(store *st, uint64_t ino, const struct content *c,
    uint64_t *seq);

/* chunk_loc_get -- where chunk @id is stored.  -ENOENT for a chunk not
 * stored (yet), -EIO for a malformed record.  chunk_loc_put -- record
 * it (not logged: a rebuild finds chunks in the packs). */
int chunk_loc_get(store *st, const uint8_t id[OBJ_ID_LEN],
    struct chunk_loc *out);
int chunk_loc_put(store *st, const uint8_t id[OBJ_ID_LEN],
    const struct chunk_loc *loc);

#endif /* BEEMO_STORE_RECORD_H */
