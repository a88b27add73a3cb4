/*
 * store_erase_find.c -- what erasing a path changes: the inodes, the
 * directory entries, the paths of each view (store_erase.h).
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bm_bytes.h"
#include "bm_log.h"
#include "store_erase.h"
#include "store_index.h"
#include "store_ns.h"
#include "store_record.h"

/* ---- a set of inode numbers, in the order they were found ------------- */

static size_t
iset_hash(uint64_t ino, size_t cap)
{
	return (size_t)((ino * 0x9e3779b97f4a7c15ULL) >> 17) & (cap - 1);
}

int
iset_has(const struct iset *s, uint64_t ino)
{
	size_t i;

	if (s->cap == 0)
		return 0;
	for (i = iset_hash(ino, s->cap); s->slot[i] != 0;
	    i = (i + 1) & (s->cap - 1))
		if (s->slot[i] == ino)
			return 1;
	return 0;
}

/* Add @ino (of DT_ @type); 0 if it was there, 1 if added, -ENOMEM. */
static int
iset_add(struct iset *s, uint64_t ino, uint8_t type)
{
	size_t i;

	if (iset_has(s, ino))
		return 0;
	if (2 * (s->n + 1) > s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 256, j;
		uint64_t *slot = calloc(cap, sizeof(*slot));

		if (slot == NULL)
			return -ENOMEM;
		for (j = 0; j < s->n; j++) {
			for (i = iset_hash(s->list[j], cap); slot[i] != 0;
			    i = (i + 1) & (cap - 1))
				;
			slot[i] = s->list[j];
		}
		free(s->slot);
		s->slot = slot;
		s->cap = cap;
	}
	if (s->n == s->lcap) {
		size_t lcap = s->lcap ? 2 * s->lcap : 256;
		uint64_t *l = realloc(s->list, lcap * sizeof(*l));
		uint8_t *t;

		if (l == NULL)
			return -ENOMEM;
		s->list = l;
		if ((t = realloc(s->type, lcap)) == NULL)
			return -ENOMEM;
		s->type = t;
		s->lcap = lcap;
	}
	for (i = iset_hash(ino, s->cap); s->slot[i] != 0;
	    i = (i + 1) & (s->cap - 1))
		;
	s->slot[i] = ino;
	s->list[s->n] = ino;
	s->type[s->n++] = type;
	return 1;
}

static void
iset_free(struct iset *s)
{
	free(s->slot);
	free(s->list);
	free(s->type);
}

/* ---- the state of one erasure --------------------------------------- */

static void
rows_free(struct drow *r, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(r[i].name);
}

void
erase_free(struct erase *x)
{
	size_t i;

	free(x->views);
	free(x->sseq);
	free(x->sfiles);
	free(x->sbytes);
	iset_free(&x->e);
	rows_free(x->rows, x->nrows);
	free(x->rows);
	free(x->groups);
	free(x->refs);
	for (i = 0; i < x->npaths; i++)
		free(x->paths[i].path);
	free(x->paths);
}

/* Whether a version written at @seq, followed by a newer version at
 * @next (UINT64_MAX: none), is seen by the live tree or a snapshot. */
static int
seen(const struct erase *x, uint64_t seq, uint64_t next)
{
	size_t lo = 0, hi = x->nsseq;

	if (next == UINT64_MAX)
		return 1; /* the newest: the live tree's */
	while (lo < hi) { /* the first snapshot at or above seq */
		size_t mid = (lo + hi) / 2;

		if (x->sseq[mid] < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < x->nsseq && x->sseq[lo] < next;
}

/* The version of group @rows (@n, newest first) a view at @seq sees, or
 * NULL. */
struct drow *
erase_visible(struct drow *rows, size_t n, uint64_t seq)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (rows[i].state != R_GONE && rows[i].seq <= seq)
			return &rows[i];
	return NULL;
}

/* ---- reading the directory entries by group --------------------------- */

typedef int (*group_fn)(struct erase *x, uint64_t parent, struct drow *rows,
    size_t n);

/* Read every group of directory @parent (0: of every directory), call
 * @fn on each with its versions, newest first.  @fn must not change the
 * dirent table; the rows are valid during the call only. */
static int
scan_groups(struct erase *x, uint64_t parent, group_fn fn)
{
	store *st = x->st;
	struct drow *rows = NULL;
	size_t n = 0, cap = 0;
	uint8_t start[DKEY_LEN];
	MDB_cursor *cur;
	MDB_val k, v;
	int rc = 0, mrc, op;

	if (mdb_cursor_open(st->txn, st->dbi[IX_DIRENT], &cur) != 0)
		return -EIO;
	memset(start, 0, sizeof(start));
	bm_be64enc(start, parent);
	k.mv_data = start;
	k.mv_size = sizeof(start);
	for (op = parent ? MDB_SET_RANGE : MDB_FIRST;
	    (mrc = mdb_cursor_get(cur, &k, &v, op)) == 0; op = MDB_NEXT) {
		struct drow *r;
		uint8_t *plain;
		size_t len;

		if (k.mv_size != DKEY_LEN) {
			rc = -EIO;
			break;
		}
		if (parent && bm_be64dec(k.mv_data) != parent)
			break;
		if (n > 0 && memcmp(rows[0].key, k.mv_data, DGROUP_LEN)) {
			rc = fn(x, bm_be64dec(rows[0].key), rows, n);
			rows_free(rows, n);
			n = 0;
			if (rc != 0)
				break;
		}
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			if ((r = realloc(rows, cap * sizeof(*r))) == NULL) {
				rc = -ENOMEM;
				break;
			}
			rows = r;
		}
		r = &rows[n];
		memset(r, 0, sizeof(*r));
		memcpy(r->key, k.mv_data, DKEY_LEN);
		r->seq = ~bm_be64dec(r->key + DGROUP_LEN);
		if ((rc = ix_open_sealed(st, IX_DIRENT, &k, &v, &plain,
		    &len)) != 0)
			break;
		r->state = len == 0 ? R_TOMB : R_VALUE;
		if (len != 0) {
			struct dirent_rec d;

			if (dirent_decode(&d, plain, len) != 0) {
				bm_log(LOG_ERR, "directory %" PRIu64 ": "
				    "malformed entry", bm_be64dec(r->key));
				rc = -EIO;
			} else if ((r->name = strdup(d.name)) == NULL) {
				rc = -ENOMEM;
			}
			r->ino = d.ino;
			r->type = d.type;
		}
		free(plain);
		if (rc != 0)
			break;
		n++;
	}
	if (rc == 0 && mrc != 0 && mrc != MDB_NOTFOUND)
		rc = -EIO;
	if (rc == 0 && n > 0)
		rc = fn(x, bm_be64dec(rows[0].key), rows, n);
	rows_free(rows, n);
	free(rows);
	mdb_cursor_close(cur);
	return rc;
}

/* ---- finding what to erase ------------------------------------------- */

/* Resolve path @comps (@ncomps names) at @seq: add the inode it names
 * to the set.  0 (also when the path is not there), or an error. */
static int
resolve(struct erase *x, char **comps, size_t ncomps, uint64_t seq)
{
	struct dirent_rec d;
	uint64_t dir = STORE_ROOT_INO;
	size_t i;
	int rc;

	for (i = 0; i < ncomps; i++) {
		rc = dirent_get(x->st, dir, comps[i], seq, &d);
		if (rc == -ENOENT)
			return 0;
		if (rc != 0)
			return rc;
		if (i + 1 < ncomps && d.type != DT_DIR)
			return 0;
		dir = d.ino;
	}
	rc = iset_add(&x->e, d.ino, d.type);
	return rc < 0 ? rc : 0;
}

/* group_fn: add what a directory of E holds in any view. */
static int
add_children(struct erase *x, uint64_t parent, struct drow *rows, size_t n)
{
	size_t i;
	int rc;

	(void)parent;
	for (i = 0; i < n; i++) {
		if (rows[i].state != R_VALUE ||
		    !seen(x, rows[i].seq, i ? rows[i - 1].seq : UINT64_MAX))
			continue;
		if ((rc = iset_add(&x->e, rows[i].ino, rows[i].type)) < 0)
			return rc;
	}
	return 0;
}

/* group_fn: keep the groups the erasure changes. */
static int
keep_group(struct erase *x, uint64_t parent, struct drow *rows, size_t n)
{
	int touched = iset_has(&x->e, parent);
	struct dgroup *g;
	size_t i;

	for (i = 0; i < n && !touched; i++)
		touched = rows[i].state == R_VALUE &&
		    iset_has(&x->e, rows[i].ino);
	if (!touched)
		return 0;
	if (x->nrows + n > x->rcap) {
		size_t cap = x->rcap ? 2 * x->rcap : 256;
		struct drow *r;

		while (cap < x->nrows + n)
			cap *= 2;
		if ((r = realloc(x->rows, cap * sizeof(*r))) == NULL)
			return -ENOMEM;
		x->rows = r;
		x->rcap = cap;
	}
	if (x->ngroups == x->gcap) {
		size_t cap = x->gcap ? 2 * x->gcap : 64;

		if ((g = realloc(x->groups, cap * sizeof(*g))) == NULL)
			return -ENOMEM;
		x->groups = g;
		x->gcap = cap;
	}
	g = &x->groups[x->ngroups++];
	g->parent = parent;
	g->first = x->nrows;
	g->n = n;
	/* The rows move here: the scan must not free their names. */
	memcpy(x->rows + x->nrows, rows, n * sizeof(*rows));
	for (i = 0; i < n; i++)
		rows[i].name = NULL;
	x->nrows += n;
	return 0;
}

static int
path_add(struct erase *x, size_t view, const char *dirpath, const char *name)
{
	struct epath *p;
	size_t len = strlen(dirpath) + strlen(name) + 2;
	char *s;

	if (x->npaths == x->pcap) {
		size_t cap = x->pcap ? 2 * x->pcap : 64;

		if ((p = realloc(x->paths, cap * sizeof(*p))) == NULL)
			return -ENOMEM;
		x->paths = p;
		x->pcap = cap;
	}
	if ((s = malloc(len)) == NULL)
		return -ENOMEM;
	snprintf(s, len, "%s%s%s", dirpath, strcmp(dirpath, "/") ? "/" : "",
	    name);
	x->paths[x->npaths].view = view;
	x->paths[x->npaths++].path = s;
	return 0;
}

static int
epath_cmp(const void *a, const void *b)
{
	const struct epath *p = a, *q = b;

	if (p->view != q->view)
		return p->view < q->view ? -1 : 1;
	return strcmp(p->path, q->path);
}

/* The names each view loses: a version it sees that names an inode of E
 * or lies in a directory of E. */
static int
list_paths(struct erase *x)
{
	char dirpath[4096];
	uint64_t last;
	size_t v, g;
	int rc;

	for (v = 0; v < x->nviews; v++) {
		/* Groups come by parent: one path per directory. */
		last = 0;
		for (g = 0; g < x->ngroups; g++) {
			struct dgroup *gr = &x->groups[g];
			struct drow *r = erase_visible(x->rows + gr->first,
			    gr->n, x->views[v].seq);

			if (r == NULL || r->state != R_VALUE ||
			    (!iset_has(&x->e, r->ino) &&
			    !iset_has(&x->e, gr->parent)))
				continue;
			if (gr->parent != last && path_locked(x->st,
			    gr->parent, x->views[v].seq, dirpath,
			    sizeof(dirpath)) != 0)
				snprintf(dirpath, sizeof(dirpath),
				    "(directory %" PRIu64 ")", gr->parent);
			last = gr->parent;
			if ((rc = path_add(x, v, dirpath, r->name)) != 0)
				return rc;
			x->removed++;
		}
	}
	qsort(x->paths, x->npaths, sizeof(*x->paths), epath_cmp);
	return 0;
}

static int
gref_cmp(const void *a, const void *b)
{
	const struct gref *p = a, *q = b;

	if (p->ino != q->ino)
		return p->ino < q->ino ? -1 : 1;
	return p->group < q->group ? -1 : p->group > q->group;
}

/* Index the groups kept by the inodes of E they name or lie in. */
static int
index_groups(struct erase *x)
{
	size_t g, i, n = 0, out;

	for (g = 0; g < x->ngroups; g++)
		n += x->groups[g].n + 1;
	if ((x->refs = calloc(n + 1, sizeof(*x->refs))) == NULL)
		return -ENOMEM;
	for (g = 0; g < x->ngroups; g++) {
		struct dgroup *gr = &x->groups[g];

		if (iset_has(&x->e, gr->parent)) {
			x->refs[x->nrefs].ino = gr->parent;
			x->refs[x->nrefs++].group = g;
		}
		for (i = 0; i < gr->n; i++) {
			struct drow *r = &x->rows[gr->first + i];

			if (r->state != R_VALUE || !iset_has(&x->e, r->ino))
				continue;
			x->refs[x->nrefs].ino = r->ino;
			x->refs[x->nrefs++].group = g;
		}
	}
	qsort(x->refs, x->nrefs, sizeof(*x->refs), gref_cmp);
	for (i = 0, out = 0; i < x->nrefs; i++)
		if (out == 0 || gref_cmp(&x->refs[out - 1], &x->refs[i]) != 0)
			x->refs[out++] = x->refs[i];
	x->nrefs = out;
	return 0;
}

size_t
erase_refs(const struct erase *x, uint64_t ino)
{
	size_t lo = 0, hi = x->nrefs;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (x->refs[mid].ino < ino)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* ---- the views and the path ------------------------------------------ */

/* Split @path into its names (in the copy *@buf); -EINVAL for the root,
 * an empty name, ".", "..", a name too long or a path too long. */
int
erase_split(const char *path, char **buf, char ***comps, size_t *n)
{
	char *s, *p, **c;
	size_t len = strlen(path), cnt = 0;

	while (*path == '/')
		path++;
	if (*path == '\0' || len >= 4096)
		return -EINVAL;
	if ((s = strdup(path)) == NULL)
		return -ENOMEM;
	len = strlen(s);
	while (len > 0 && s[len - 1] == '/')
		s[--len] = '\0';
	if ((c = calloc(len / 2 + 2, sizeof(*c))) == NULL) {
		free(s);
		return -ENOMEM;
	}
	for (p = s;;) {
		char *slash = strchr(p, '/');

		if (slash != NULL)
			*slash = '\0';
		if (*p == '\0' || !strcmp(p, ".") || !strcmp(p, "..") ||
		    strlen(p) > STORE_NAME_MAX) {
			free(c);
			free(s);
			return -EINVAL;
		}
		c[cnt++] = p;
		if (slash == NULL)
			break;
		p = slash + 1;
	}
	*buf = s;
	*comps = c;
	*n = cnt;
	return 0;
}

static int
u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The live tree and every snapshot, in that order. */
int
erase_views(struct erase *x)
{
	struct store_snapinfo *snaps;
	size_t n, i;
	int rc;

	if ((rc = store_snapshots(x->st, &snaps, &n)) != 0)
		return rc;
	x->views = calloc(n + 1, sizeof(*x->views));
	x->sseq = calloc(n + 1, sizeof(*x->sseq));
	x->sfiles = calloc(n + 1, sizeof(*x->sfiles));
	x->sbytes = calloc(n + 1, sizeof(*x->sbytes));
	if (x->views == NULL || x->sseq == NULL || x->sfiles == NULL ||
	    x->sbytes == NULL) {
		free(snaps);
		return -ENOMEM;
	}
	x->views[0].seq = SEQ_LIVE;
	for (i = 0; i < n; i++) {
		x->views[i + 1].id = snaps[i].id;
		x->views[i + 1].seq = snaps[i].seq;
		x->sseq[i] = snaps[i].seq;
	}
	x->nviews = n + 1;
	x->nsseq = n;
	qsort(x->sseq, n, sizeof(*x->sseq), u64_cmp);
	free(snaps);
	return 0;
}

/* Find E and the groups and paths the erasure changes (ix_lock held). */
int
erase_collect(struct erase *x, char **comps, size_t ncomps)
{
	size_t i;
	int rc;

	for (i = 0; i < x->nviews; i++)
		if ((rc = resolve(x, comps, ncomps, x->views[i].seq)) != 0)
			return rc;
	if (x->e.n == 0)
		return -ENOENT;
	/* The set grows as directories are read: a breadth-first walk. */
	for (i = 0; i < x->e.n; i++)
		if (x->e.type[i] == DT_DIR &&
		    (rc = scan_groups(x, x->e.list[i], add_children)) != 0)
			return rc;
	if ((rc = scan_groups(x, 0, keep_group)) != 0 ||
	    (rc = index_groups(x)) != 0)
		return rc;
	return list_paths(x);
}
