/*
 * store_erase.c -- erase a path from the live tree and from every
 * snapshot (store_erase(), store.h).
 *
 * What is erased is a set of inodes, E: every inode the path names in
 * the live tree or in a snapshot, and for a directory every inode below
 * it, wherever that directory is in any view (so that nothing is left
 * whose directory is gone).  Inode numbers are never reused, so every
 * version of an inode row and of a content row of an inode of E is that
 * file's and is deleted.  Directory entries are keyed by parent and name
 * hash, not by the inode they name, so the whole dirent table is read
 * and every version is opened once: the "groups" (one parent, one name
 * hash, every version of it) that hold a version naming an inode of E,
 * or whose parent is in E, are kept in memory and rewritten.
 *
 * Deleting a version of a name can uncover an older version of the same
 * name that the deleted one hid from some views: where an older version
 * naming another inode remains below, the deleted one becomes a
 * tombstone; tombstones left with nothing to hide are deleted.  A
 * parent directory's link count counts its subdirectories: each version
 * of a parent's inode row that saw an erased subdirectory is rewritten,
 * in place, one link less.  The live tree's counters lose what the
 * erased inodes counted there.
 *
 * The work is cut into units, one per inode of E, children before their
 * directory: a unit deletes the inode's rows, every name of it (in any
 * directory, any version), and for a directory the names inside it, and
 * fixes the counts, in one transaction.  Units are committed in batches
 * (commit_wait_locked()), so a crash leaves whole units done and the
 * path still resolves to what is left: running the erasure again
 * finishes it.  The journal is rewritten first, for the same reason.
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
#include "store_commit.h"
#include "store_internal.h"
#include "store_journal.h"
#include "store_ns.h"
#include "store_record.h"
#include "store_snap.h"

/* Changes per commit while erasing. */
#define ERASE_BATCH 20000
/* Directory entry keys: parent (8), name hash, ~seq (8). */
#define DKEY_LEN (8 + NAMEHASH_LEN + 8)
#define DGROUP_LEN (8 + NAMEHASH_LEN)

/* ---- a set of inode numbers, in the order they were found ------------- */

struct iset {
	uint64_t *slot;  /* open addressing, 0 is empty (no inode is 0) */
	size_t cap;      /* power of two */
	uint64_t *list;  /* insertion order */
	uint8_t *type;   /* DT_* of each, as its name said */
	size_t n, lcap;
};

static size_t
iset_hash(uint64_t ino, size_t cap)
{
	return (size_t)((ino * 0x9e3779b97f4a7c15ULL) >> 17) & (cap - 1);
}

static int
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

enum rstate { R_VALUE, R_TOMB, R_GONE };

/* One version of a directory entry. */
struct drow {
	uint8_t key[DKEY_LEN];
	uint64_t seq;
	uint8_t state;  /* enum rstate: what the index holds now */
	uint8_t erased; /* it names an inode whose unit is done */
	uint8_t type;   /* DT_*, of a value */
	uint64_t ino;   /* of a value */
	char *name;     /* of a value */
};

/* Every version of one name in one directory, newest first. */
struct dgroup {
	uint64_t parent;
	size_t first, n; /* in erase.rows */
};

struct epath {
	size_t view; /* index in erase.views */
	char *path;
};

struct view {
	uint32_t id;  /* 0: the live tree */
	uint64_t seq;
};

struct erase {
	store *st;
	struct view *views;
	size_t nviews;
	uint64_t *sseq;     /* snapshots' sequences, ascending */
	size_t nsseq;
	struct iset e;
	struct drow *rows;  /* of the groups kept */
	size_t nrows, rcap;
	struct dgroup *groups;
	size_t ngroups, gcap;
	struct epath *paths;
	size_t npaths, pcap;
	uint64_t ops;       /* changes since the last commit */
	uint64_t removed;   /* names removed, over all views */
};

static void
rows_free(struct drow *r, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(r[i].name);
}

static void
erase_free(struct erase *x)
{
	size_t i;

	free(x->views);
	free(x->sseq);
	iset_free(&x->e);
	rows_free(x->rows, x->nrows);
	free(x->rows);
	free(x->groups);
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
static struct drow *
visible(struct drow *rows, size_t n, uint64_t seq)
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
	size_t v, g;
	int rc;

	for (v = 0; v < x->nviews; v++) {
		for (g = 0; g < x->ngroups; g++) {
			struct dgroup *gr = &x->groups[g];
			struct drow *r = visible(x->rows + gr->first, gr->n,
			    x->views[v].seq);

			if (r == NULL || r->state != R_VALUE ||
			    (!iset_has(&x->e, r->ino) &&
			    !iset_has(&x->e, gr->parent)))
				continue;
			if (path_locked(x->st, gr->parent, x->views[v].seq,
			    dirpath, sizeof(dirpath)) != 0)
				snprintf(dirpath, sizeof(dirpath),
				    "(directory %" PRIu64 ")", gr->parent);
			if ((rc = path_add(x, v, dirpath, r->name)) != 0)
				return rc;
			x->removed++;
		}
	}
	qsort(x->paths, x->npaths, sizeof(*x->paths), epath_cmp);
	return 0;
}

/* ---- the units of deletion -------------------------------------------- */

/* Delete every version of @ino in versioned table @t. */
static int
del_versions(struct erase *x, enum ix_table t, uint64_t ino)
{
	store *st = x->st;
	uint8_t (*keys)[16] = NULL, start[16];
	size_t n = 0, cap = 0, i;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc = 0, mrc, op;

	if (mdb_cursor_open(st->txn, st->dbi[t], &cur) != 0)
		return -EIO;
	memset(start, 0, sizeof(start));
	bm_be64enc(start, ino);
	k.mv_data = start;
	k.mv_size = sizeof(start);
	for (op = MDB_SET_RANGE; (mrc = mdb_cursor_get(cur, &k, &v, op)) == 0;
	    op = MDB_NEXT) {
		if (k.mv_size != 16 || bm_be64dec(k.mv_data) != ino)
			break;
		if (n == cap) {
			uint8_t (*nk)[16];

			cap = cap ? 2 * cap : 16;
			if ((nk = realloc(keys, cap * 16)) == NULL) {
				rc = -ENOMEM;
				break;
			}
			keys = nk;
		}
		memcpy(keys[n++], k.mv_data, 16);
	}
	if (rc == 0 && mrc != 0 && mrc != MDB_NOTFOUND)
		rc = -EIO;
	mdb_cursor_close(cur);
	for (i = 0; rc == 0 && i < n; i++, x->ops++)
		rc = ix_del(st, t, keys[i], 16);
	free(keys);
	return rc;
}

/* Rewrite group @g as its rows' marks say: erased versions go, or become
 * tombstones where an older version naming another inode remains below
 * them; tombstones with nothing left to hide go; every version in a
 * directory of E goes. */
static int
group_apply(struct erase *x, struct dgroup *g)
{
	struct drow *rows = x->rows + g->first;
	int below = 0, all = iset_has(&x->e, g->parent), rc;
	size_t i;

	for (i = g->n; i-- > 0;) { /* oldest first */
		struct drow *r = &rows[i];
		uint8_t want;

		if (r->state == R_GONE)
			continue;
		if (all)
			want = R_GONE;
		else if (r->state == R_VALUE && !r->erased)
			want = R_VALUE;
		else
			want = below ? R_TOMB : R_GONE;
		below = want == R_VALUE;
		if (want == r->state)
			continue;
		if (want == R_GONE)
			rc = ix_del(x->st, IX_DIRENT, r->key, DKEY_LEN);
		else
			rc = ix_put_sealed(x->st, IX_DIRENT, r->key, DKEY_LEN,
			    "", 0);
		if (rc != 0)
			return rc;
		x->ops++;
		r->state = want;
	}
	return 0;
}

/* Directory @ino of E was named in group @g of a directory not in E:
 * every version of that directory's inode that saw it loses a link. */
static int
unlink_dir(struct erase *x, struct dgroup *g, uint64_t ino)
{
	store *st = x->st;
	struct drow *rows = x->rows + g->first;
	uint64_t (*vers) = NULL;
	size_t n = 0, cap = 0, i;
	uint8_t start[16], k16[16];
	MDB_cursor *cur;
	MDB_val k, v;
	int rc = 0, mrc, op;

	if (mdb_cursor_open(st->txn, st->dbi[IX_INODE], &cur) != 0)
		return -EIO;
	memset(start, 0, sizeof(start));
	bm_be64enc(start, g->parent);
	k.mv_data = start;
	k.mv_size = sizeof(start);
	for (op = MDB_SET_RANGE; (mrc = mdb_cursor_get(cur, &k, &v, op)) == 0;
	    op = MDB_NEXT) {
		uint64_t seq;
		struct drow *r;

		if (k.mv_size != 16 || bm_be64dec(k.mv_data) != g->parent)
			break;
		seq = ~bm_be64dec((uint8_t *)k.mv_data + 8);
		r = visible(rows, g->n, seq);
		if (r == NULL || r->state != R_VALUE || r->ino != ino)
			continue;
		if (n == cap) {
			uint64_t *nv;

			cap = cap ? 2 * cap : 8;
			if ((nv = realloc(vers, cap * sizeof(*nv))) == NULL) {
				rc = -ENOMEM;
				break;
			}
			vers = nv;
		}
		vers[n++] = seq;
	}
	if (rc == 0 && mrc != 0 && mrc != MDB_NOTFOUND)
		rc = -EIO;
	mdb_cursor_close(cur);
	for (i = 0; rc == 0 && i < n; i++) {
		struct inode in;
		uint8_t *plain, *enc;
		size_t len;

		bm_be64enc(k16, g->parent);
		bm_be64enc(k16 + 8, ~vers[i]);
		k.mv_data = k16;
		k.mv_size = 16;
		if ((rc = ix_get(st, IX_INODE, k16, 16, &v)) != 0 ||
		    (rc = ix_open_sealed(st, IX_INODE, &k, &v, &plain,
		    &len)) != 0)
			break;
		if (len == 0) { /* a tombstone */
			free(plain);
			continue;
		}
		rc = inode_decode(&in, g->parent, plain, len);
		free(plain);
		if (rc != 0) {
			bm_log(LOG_ERR, "inode %" PRIu64 ": malformed record",
			    g->parent);
			rc = -EIO;
			break;
		}
		if (in.nlink > 2)
			in.nlink--;
		if ((rc = inode_encode(&in, &enc, &len)) == 0) {
			rc = ix_put_sealed(st, IX_INODE, k16, 16, enc, len);
			free(enc);
			x->ops++;
		}
		inode_free(&in);
	}
	free(vers);
	return rc;
}

/* Erase inode @ino (of DT_ @type) of E: its counts, its rows, its
 * names, the names in it. */
static int
unit(struct erase *x, uint64_t ino, uint8_t type)
{
	store *st = x->st;
	struct inode in;
	uint8_t k[8];
	size_t g, i;
	int rc;

	rc = inode_get(st, ino, SEQ_LIVE, &in);
	if (rc == 0) {
		if (S_ISREG(in.mode) && in.nlink > 0) {
			rc = ix_meta_add(st, "files", -1);
			if (rc == 0)
				rc = ix_meta_add(st, "bytes",
				    -(int64_t)in.size);
		} else if (S_ISDIR(in.mode)) {
			rc = ix_meta_add(st, "dirs", -1);
		}
		type = ns_dtype(in.mode);
		inode_free(&in);
	}
	if (rc != 0 && rc != -ENOENT)
		return rc;
	for (g = 0; type == DT_DIR && g < x->ngroups; g++) {
		struct dgroup *gr = &x->groups[g];

		if (iset_has(&x->e, gr->parent))
			continue;
		for (i = 0; i < gr->n; i++)
			if (x->rows[gr->first + i].state == R_VALUE &&
			    x->rows[gr->first + i].ino == ino)
				break;
		if (i < gr->n && (rc = unlink_dir(x, gr, ino)) != 0)
			return rc;
	}
	if ((rc = del_versions(x, IX_INODE, ino)) != 0 ||
	    (rc = del_versions(x, IX_CONTENT, ino)) != 0)
		return rc;
	bm_be64enc(k, ino);
	rc = ix_del(st, IX_ORPHAN, k, 8);
	if (rc != 0 && rc != -ENOENT)
		return rc;
	for (g = 0; g < x->ngroups; g++) {
		struct dgroup *gr = &x->groups[g];
		int hit = gr->parent == ino;

		for (i = 0; i < gr->n; i++) {
			struct drow *r = &x->rows[gr->first + i];

			if (r->state == R_VALUE && r->ino == ino) {
				r->erased = 1;
				hit = 1;
			}
		}
		if (hit && (rc = group_apply(x, gr)) != 0)
			return rc;
	}
	return 0;
}

/* ---- the call ------------------------------------------------------- */

/* Split @path into its names (in the copy *@buf); -EINVAL for the root,
 * an empty name, ".", "..", a name too long or a path too long. */
static int
split_path(const char *path, char **buf, char ***comps, size_t *n)
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
static int
views_get(struct erase *x)
{
	struct store_snapinfo *snaps;
	size_t n, i;
	int rc;

	if ((rc = store_snapshots(x->st, &snaps, &n)) != 0)
		return rc;
	x->views = calloc(n + 1, sizeof(*x->views));
	x->sseq = calloc(n + 1, sizeof(*x->sseq));
	if (x->views == NULL || x->sseq == NULL) {
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
static int
collect(struct erase *x, char **comps, size_t ncomps)
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
	if ((rc = scan_groups(x, 0, keep_group)) != 0)
		return rc;
	return list_paths(x);
}

/* Journal the erasure: what it did, not the names. */
static int
journal_erase(struct erase *x)
{
	struct store_journal_entry e = {0, "erase", NULL, NULL, NULL, 0};
	char summary[512], *p = summary, *end = summary + sizeof(summary);
	size_t v, shown = 0, touched = 0, i;
	int live = 0;

	for (v = 0, i = 0; v < x->nviews; v++) {
		int hit = 0;

		for (; i < x->npaths && x->paths[i].view == v; i++)
			hit = 1;
		if (!hit)
			continue;
		if (v == 0)
			live = 1;
		else
			touched++;
	}
	p += snprintf(p, (size_t)(end - p), "erased a path (%zu files and "
	    "directories, %" PRIu64 " names) from %s%zu snapshots",
	    x->e.n, x->removed, live ? "the live tree and " : "", touched);
	for (v = 1, i = 0; v < x->nviews && p < end - 40; v++) {
		for (; i < x->npaths && x->paths[i].view < v; i++)
			;
		if (i < x->npaths && x->paths[i].view == v) {
			p += snprintf(p, (size_t)(end - p), "%s%u",
			    shown++ ? ", " : ": ", x->views[v].id);
		}
	}
	if (shown < touched && p < end - 20)
		snprintf(p, (size_t)(end - p), " and %zu more", touched - shown);
	e.who = x->st->who;
	e.summary = summary;
	return journal_add_locked(x->st, &e);
}

/* Commit when a batch is full (ix_lock held; released meanwhile). */
static int
batch(struct erase *x, int force)
{
	if (!force && x->ops < ERASE_BATCH)
		return 0;
	x->ops = 0;
	return commit_wait_locked(x->st);
}

static int
do_erase(struct erase *x)
{
	const char **paths;
	size_t i;
	int rc;

	/* File operations of a session not journaled yet may name the
	 * path: into the journal first, to be rewritten with the rest. */
	if ((rc = journal_flush(x->st)) != 0)
		return rc;
	/* The next prune repacks every pack with garbage in it: the
	 * erased bytes must not stay in packs under its threshold. */
	if ((rc = ix_meta_put_nolog(x->st, "prune_full", 1)) != 0)
		return rc;
	if ((paths = calloc(x->npaths + 1, sizeof(*paths))) == NULL)
		return -ENOMEM;
	for (i = 0; i < x->npaths; i++)
		paths[i] = x->paths[i].path;
	rc = journal_redact(x->st, paths, x->npaths, &x->ops);
	free(paths);
	if (rc != 0 || (rc = batch(x, 1)) != 0)
		return rc;
	/* Children before their directories, so that an interrupted
	 * erasure leaves the path naming what is left. */
	for (i = x->e.n; i-- > 0;) {
		if ((rc = unit(x, x->e.list[i], x->e.type[i])) != 0 ||
		    (rc = batch(x, 0)) != 0)
			return rc;
	}
	if ((rc = journal_erase(x)) != 0)
		return rc;
	return batch(x, 1);
}

int
store_erase(store *st, const char *path, int dry_run, store_erase_fn fn,
    void *ctx)
{
	struct erase x;
	char *buf = NULL, **comps = NULL;
	size_t ncomps, i;
	int rc, busy;

	if ((rc = split_path(path, &buf, &comps, &ncomps)) != 0)
		return rc;
	memset(&x, 0, sizeof(x));
	x.st = st;
	if (st->opts.live_only) {
		rc = -EPERM;
		goto out;
	}
	if (!dry_run && st->opts.rdonly) {
		rc = -EROFS;
		goto out;
	}
	if ((rc = views_get(&x)) != 0)
		goto out;
	ix_lock(st);
	pthread_mutex_lock(&st->of_lock);
	busy = st->of_count != 0 || st->handles != NULL;
	pthread_mutex_unlock(&st->of_lock);
	if (busy && !dry_run)
		rc = -EBUSY;
	else if ((rc = collect(&x, comps, ncomps)) == 0 && !dry_run)
		rc = do_erase(&x);
	ix_unlock(st);
	if (rc != 0) {
		if (!dry_run && rc != -ENOENT && rc != -EBUSY)
			bm_log(LOG_ERR, "%s: erasing a path failed: %s",
			    st->dir, beemo_strerror(rc));
		goto out;
	}
	for (i = 0; fn != NULL && i < x.npaths; i++)
		if (fn(ctx, x.views[x.paths[i].view].id, x.paths[i].path))
			break;
out:
	erase_free(&x);
	free(comps);
	free(buf);
	return rc;
}
