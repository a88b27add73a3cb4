/*
 * store_cache.h -- a bounded cache of plaintext chunks, and reading a
 * content through it.
 *
 * Reads come in pieces far smaller than a chunk: each chunk is loaded
 * (index lookup, pack read, authentication, decompression) once and
 * every piece is served from here.  Entries are found by chunk id and
 * evicted least-recently-used when the cache is over its byte budget and
 * nobody holds them; evicted plaintext is cleansed.  A missing chunk is
 * loaded by the first thread that asks while the others asking wait for
 * it (single flight); a failed load is not cached.  Two read-ahead
 * threads load the chunks a sequential reader will ask for next.  The
 * budget counts the bytes allocated to entries; besides it, a pool of
 * at most 16 MiB keeps free buffers for the next loads (store_cache.c).
 * A read can be served in place (content_view()): the reader gets
 * pointers into the entries, held until it is done.
 *
 * Locking: the cache has its own lock, a leaf (store_internal.h): it is
 * never held across a call into another layer.  A load takes ix_lock
 * for the chunk's location, releases it, then reads the pack (fd_lock)
 * with no cache lock held.  So cache_get() and content_read() must be
 * called without ix_lock or pk_lock held; an open file's lock may be
 * held.  The other calls take the cache lock only.
 */
#ifndef BEEMO_STORE_CACHE_H
#define BEEMO_STORE_CACHE_H

#include <stdint.h>
#include <sys/types.h>

#include "store.h"
#include "store_codec.h"

/* cache_new -- create st->cache with a budget of @bytes and start the
 * read-ahead threads (without them read-ahead is off).  Returns 0 or
 * -ENOMEM.  At open, single-threaded.  cache_free -- stop the threads
 * and free every entry; at close, after every reader and worker. */
int cache_new(store *st, uint64_t bytes);
void cache_free(store *st);
/*
 * cache_get -- the plaintext of chunk @id, loaded on a miss.  *@data
 * (*@len bytes) stays valid until cache_put(*@h).  Returns 0, -EIO for
 * a chunk the index does not know (logged), or the errors of the load:
 * those of chunk_loc_get() and pack_read_chunk() (-EIO, -EBADMSG,
 * BEEMO_ENOKEY, -ENOMEM); waiters of a failed load get its error.
 */
int cache_get(store *st, const uint8_t id[OBJ_ID_LEN], const uint8_t **data,
    uint32_t *len, void **h);
/* cache_put -- release the hold @h of cache_get(). */
void cache_put(store *st, void *h);
/* cache_prefetch -- ask the read-ahead threads to load chunk @id (a
 * no-op if it is cached or queued; the oldest wish goes when the small
 * queue is full).  Errors are left for the reader to meet. */
void cache_prefetch(store *st, const uint8_t id[OBJ_ID_LEN]);
/* cache_offer -- a freshly stored chunk's plaintext @data (@len bytes,
 * from malloc; ownership passes: kept, or cleansed and freed when it is
 * cached already, larger than a quarter of the budget, or memory is
 * short). */
void cache_offer(store *st, const uint8_t id[OBJ_ID_LEN], uint8_t *data,
    uint32_t len);
/* content_read -- read up to @len bytes at @off of content @c (NULL: an
 * empty file) into @buf through the cache, and ask for the next two
 * chunks ahead; holes read as zeros without a lookup.  Returns the
 * bytes read (short only at the end of the content, 0 past it) or an
 * error of cache_get(); -EIO for a chunk whose length differs from the
 * content's.  Never a short read on an error, which would look like the
 * end of the file. */
ssize_t content_read(store *st, const struct content *c, void *buf,
    size_t len, uint64_t off);
/* content_view -- content_read() into @v (store_read_view()), with the
 * same prefetch; -EAGAIN over STORE_VIEW_MAX pieces.  On an error
 * nothing stays held.  content_view_put -- release @v's holds. */
ssize_t content_view(store *st, const struct content *c, size_t len,
    uint64_t off, struct store_view *v);
void content_view_put(struct store_view *v);

#endif /* BEEMO_STORE_CACHE_H */
