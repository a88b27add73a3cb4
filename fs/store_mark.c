/*
 * store_mark.c -- the mark of a prune: the set of chunk ids the kept
 * contents name, as a sorted array of ids (store_prune.h).
 *
 * Memory is the point: a million chunks must fit in well under 100 MB.
 * Ids are appended; when the array is full it is sorted and
 * deduplicated in place, and grows by half only when that freed less
 * than a quarter, so that versions naming the same chunks do not grow
 * it.  Peak: about 1.5 times 32 bytes per distinct chunk.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store_prune.h"

static int
cmp_id(const void *a, const void *b)
{
	return memcmp(a, b, OBJ_ID_LEN);
}

static void
id_swap(uint8_t *a, uint8_t *b)
{
	uint8_t t[OBJ_ID_LEN];

	memcpy(t, a, OBJ_ID_LEN);
	memcpy(a, b, OBJ_ID_LEN);
	memcpy(b, t, OBJ_ID_LEN);
}

/*
 * Sort @n ids in place: quicksort (median of three, the smaller side
 * first by recursion, so the stack stays O(log n)) down to runs of 16,
 * then insertion sort.  Not qsort(3): glibc's merges through a copy of
 * the whole array, which would double the mark's peak memory.
 */
static void
id_sort(uint8_t (*v)[OBJ_ID_LEN], size_t n)
{
	while (n > 16) {
		size_t i, j, mid = n / 2;

		if (memcmp(v[mid], v[0], OBJ_ID_LEN) < 0)
			id_swap(v[mid], v[0]);
		if (memcmp(v[n - 1], v[0], OBJ_ID_LEN) < 0)
			id_swap(v[n - 1], v[0]);
		if (memcmp(v[n - 1], v[mid], OBJ_ID_LEN) < 0)
			id_swap(v[n - 1], v[mid]);
		/* Pivot v[mid] moves to v[n - 2]; v[0] <= it <= v[n - 1]. */
		id_swap(v[mid], v[n - 2]);
		for (i = 0, j = n - 2;;) {
			while (memcmp(v[++i], v[n - 2], OBJ_ID_LEN) < 0)
				;
			while (memcmp(v[--j], v[n - 2], OBJ_ID_LEN) > 0)
				;
			if (i >= j)
				break;
			id_swap(v[i], v[j]);
		}
		id_swap(v[i], v[n - 2]);
		if (i < n - i - 1) {
			id_sort(v, i);
			v += i + 1;
			n -= i + 1;
		} else {
			id_sort(v + i + 1, n - i - 1);
			n = i;
		}
	}
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 &&
		    memcmp(v[j - 1], v[j], OBJ_ID_LEN) > 0; j--)
			id_swap(v[j - 1], v[j]);
}

/* Sort and deduplicate ids[0..n). */
static void
mark_compact(struct prune_mark *m)
{
	size_t i, k;

	if (m->sorted == m->n)
		return;
	id_sort(m->ids, m->n);
	for (i = 0, k = 0; i < m->n; i++)
		if (k == 0 || memcmp(m->ids[k - 1], m->ids[i], OBJ_ID_LEN))
			memmove(m->ids[k++], m->ids[i], OBJ_ID_LEN);
	m->n = m->sorted = k;
}

int
mark_add(struct prune_mark *m, const uint8_t id[OBJ_ID_LEN])
{
	if (m->n == m->cap) {
		/* Growing by half keeps the array within 1.5 times the ids
		 * (glibc moves a large block by remapping it, not copying);
		 * compacting first keeps duplicates from growing it. */
		mark_compact(m);
		if (m->n >= m->cap / 4 * 3) {
			size_t cap = m->cap ? m->cap + m->cap / 2 : 4096;
			void *n = realloc(m->ids, cap * OBJ_ID_LEN);

			if (n == NULL)
				return -ENOMEM;
			m->ids = n;
			m->cap = cap;
		}
	}
	memcpy(m->ids[m->n++], id, OBJ_ID_LEN);
	return 0;
}

int
mark_finish(struct prune_mark *m)
{
	mark_compact(m);
	return 0;
}

int
mark_has(const struct prune_mark *m, const uint8_t id[OBJ_ID_LEN])
{
	return m->n > 0 &&
	    bsearch(id, m->ids, m->n, OBJ_ID_LEN, cmp_id) != NULL;
}

void
mark_free(struct prune_mark *m)
{
	free(m->ids);
	memset(m, 0, sizeof(*m));
}
