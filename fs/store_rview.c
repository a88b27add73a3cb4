/*
 * store_rview.c -- reads served in place from the chunk cache
 * (store_read_view()), for the FUSE read handler: the reply is written
 * from the cached plaintext itself, with no buffer and no copy.
 */
#include <errno.h>

#include "store_cache.h"
#include "store_file.h"
#include "store_internal.h"

ssize_t
store_read_view(store_file *f, size_t size, uint64_t off,
    struct store_view *v)
{
	struct content *c;
	ssize_t n;

	v->n = 0;
	v->st = f->st;
	if (f->of == NULL)
		return content_view(f->st, f->snap_content, size, off, v);
	pthread_mutex_lock(&f->of->lock);
	if (f->of->w != NULL || f->of->queued) {
		/* Changes pending, or a background commit queued:
		 * store_read() has them, or waits for it. */
		pthread_mutex_unlock(&f->of->lock);
		return -EAGAIN;
	}
	c = f->of->content;
	content_ref(c);
	pthread_mutex_unlock(&f->of->lock);
	/* The holds are on cache entries, not on @c. */
	n = content_view(f->st, c, size, off, v);
	content_unref(c);
	return n;
}

void
store_view_put(struct store_view *v)
{
	content_view_put(v);
}
