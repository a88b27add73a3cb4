/*
 * store_check.c -- verification of the index and the packs.
 *
 * Pass 1 (with --read-data): read every pack object by object and
 * authenticate each; remember the ids of damaged chunks.  With
 * --read-data-subset (store_check_part) pass 1 reads only the chosen
 * packs; pass 2 is the same.  Pass 2: walk
 * the index under one consistent transaction: authenticate every sealed
 * value, and for every chunk of every file version check its location
 * (chunk table, pack record, object header).  Problems are collected with
 * the inode they affect and reported after the index lock is released,
 * when their paths can be resolved.
 */
#include <errno.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bm_bytes.h"
#include "bm_err.h"
#include "store_internal.h"
#include "store_ns.h"
#include "store_record.h"

struct problem {
	char object[128];
	char what[160];
	uint64_t ino; /* 0: no file */
	int entry;    /* ino is the directory holding a damaged entry */
};

struct check {
	store *st;
	uint8_t (*bad)[OBJ_ID_LEN]; /* damaged chunk ids, sorted */
	size_t nbad, capbad;
	struct problem *p;
	size_t np, capp;
	uint64_t done, total;
	store_progress_fn progress;
	void *pctx;
};

static struct problem *
add_problem(struct check *c, const char *object, const char *what,
    uint64_t ino)
{
	struct problem *n;

	if (c->np == c->capp) {
		size_t cap = c->capp ? c->capp * 2 : 64;

		if ((n = realloc(c->p, cap * sizeof(*n))) == NULL)
			return NULL;
		c->p = n;
		c->capp = cap;
	}
	n = &c->p[c->np++];
	memset(n, 0, sizeof(*n));
	snprintf(n->object, sizeof(n->object), "%s", object);
	snprintf(n->what, sizeof(n->what), "%s", what);
	n->ino = ino;
	return n;
}

static int
cmp_id(const void *a, const void *b)
{
	return memcmp(a, b, OBJ_ID_LEN);
}

static int
is_bad(struct check *c, const uint8_t *id)
{
	return c->nbad > 0 &&
	    bsearch(id, c->bad, c->nbad, OBJ_ID_LEN, cmp_id) != NULL;
}

static void
chunk_name(char *buf, size_t n, const uint8_t *id)
{
	char hex[2 * OBJ_ID_LEN + 1];

	bm_hex(hex, id, OBJ_ID_LEN);
	snprintf(buf, n, "chunk %.32s", hex);
}

/* ---- pass 1: the packs -------------------------------------------------- */

static int
check_object(void *ctx, uint64_t pack, uint64_t off, const struct obj_hdr *h,
    const uint8_t *raw)
{
	struct check *c = ctx;
	uint8_t *plain = NULL;
	char obj[128], what[160];
	int rc = obj_open(&c->st->keys, h, raw, &plain);

	c->done += OBJ_HDR_LEN + h->stored_len + OBJ_TAG_LEN;
	if (c->progress != NULL)
		c->progress(c->pctx, c->done, c->total);
	if (rc == 0) {
		OPENSSL_cleanse(plain, h->plain_len);
		free(plain);
		return 0;
	}
	if (h->type == OBJ_CHUNK) {
		if (c->nbad == c->capbad) {
			size_t cap = c->capbad ? c->capbad * 2 : 64;
			void *n = realloc(c->bad, cap * OBJ_ID_LEN);

			if (n == NULL)
				return -ENOMEM;
			c->bad = n;
			c->capbad = cap;
		}
		memcpy(c->bad[c->nbad++], h->id, OBJ_ID_LEN);
		chunk_name(obj, sizeof(obj), h->id);
	} else {
		snprintf(obj, sizeof(obj), "%s %" PRIu64, h->type == OBJ_CKPT ?
		    "checkpoint part" : "log object", bm_be64dec(h->id));
	}
	snprintf(what, sizeof(what), "%s in pack %016" PRIx64 " at offset %"
	    PRIu64, rc == -EBADMSG ? "authentication failed" :
	    beemo_strerror(rc), pack, off);
	/* Named here even if no file refers to it any more; files that do
	 * are named in pass 2. */
	add_problem(c, obj, what, 0);
	return 0;
}

struct packrec {
	uint64_t id, size;
};

static int
list_packs(store *st, struct packrec **out, size_t *n)
{
	MDB_cursor *cur;
	MDB_val k, v;
	struct packrec *p = NULL, *np;
	size_t cnt = 0;
	int mrc;

	if (mdb_cursor_open(st->txn, st->dbi[IX_PACK], &cur) != 0)
		return -EIO;
	for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0;
	    mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		/* A pack a prune dropped is gone for good, with the log
		 * objects below the checkpoint it held: not a problem. */
		if (k.mv_size != 8 || v.mv_size != PACK_REC_LEN ||
		    ((const uint8_t *)v.mv_data)[0] == PACK_DROPPED)
			continue;
		if ((np = realloc(p, (cnt + 1) * sizeof(*p))) == NULL) {
			mdb_cursor_close(cur);
			free(p);
			return -ENOMEM;
		}
		p = np;
		p[cnt].id = bm_be64dec(k.mv_data);
		p[cnt++].size = bm_be64dec((uint8_t *)v.mv_data + 1);
	}
	mdb_cursor_close(cur);
	*out = p;
	*n = cnt;
	return 0;
}

static int
check_packs(struct check *c, struct packrec *packs, size_t n)
{
	store *st = c->st;
	char path[4096], obj[64], what[160];
	size_t i;
	int rc;

	for (i = 0; i < n; i++)
		c->total += packs[i].size;
	for (i = 0; i < n; i++) {
		uint64_t end;

		snprintf(obj, sizeof(obj), "pack %016" PRIx64, packs[i].id);
		pack_path(&st->packs, packs[i].id, 0, path, sizeof(path));
		if (access(path, F_OK) != 0)
			pack_path(&st->packs, packs[i].id, 1, path,
			    sizeof(path));
		rc = pack_walk(st->machine_id, path, packs[i].id,
		    check_object, c, &end);
		if (rc == -ENOMEM)
			return rc;
		if (end >= packs[i].size)
			continue; /* what follows was never committed */
		snprintf(what, sizeof(what), rc == -ENOENT ? "missing" :
		    "unreadable from offset %" PRIu64 " (%s)", end,
		    beemo_strerror(rc));
		add_problem(c, obj, what, 0);
	}
	if (c->nbad > 0)
		qsort(c->bad, c->nbad, OBJ_ID_LEN, cmp_id);
	return 0;
}

/* ---- pass 2: the index --------------------------------------------------- */

static int
check_chunk(struct check *c, const struct cref *cr, struct packrec *packs,
    size_t npacks, uint64_t ino)
{
	store *st = c->st;
	struct chunk_loc loc;
	struct obj_hdr h;
	uint8_t hdr[OBJ_HDR_LEN];
	char obj[128], what[160];
	size_t i;
	int rc;

	chunk_name(obj, sizeof(obj), cr->id);
	if (is_bad(c, cr->id)) {
		add_problem(c, obj, "damaged (authentication failed)", ino);
		return 0;
	}
	rc = chunk_loc_get(st, cr->id, &loc);
	if (rc == -ENOENT) {
		add_problem(c, obj, "missing from the chunk table", ino);
		return 0;
	}
	if (rc != 0)
		return rc;
	for (i = 0; i < npacks && packs[i].id != loc.pack; i++)
		;
	if (i == npacks || loc.off + OBJ_HDR_LEN + loc.stored_len +
	    OBJ_TAG_LEN > packs[i].size) {
		snprintf(what, sizeof(what), "outside the committed part of "
		    "pack %016" PRIx64, loc.pack);
		add_problem(c, obj, what, ino);
		return 0;
	}
	rc = pack_pread(&st->packs, loc.pack, hdr, sizeof(hdr), loc.off);
	if (rc != 0 || obj_hdr_decode(&h, hdr) != 0 || h.type != OBJ_CHUNK ||
	    memcmp(h.id, cr->id, OBJ_ID_LEN) != 0 ||
	    h.plain_len != cr->len || h.stored_len != loc.stored_len) {
		snprintf(what, sizeof(what), "object header in pack %016" PRIx64
		    " at offset %" PRIu64 " does not match", loc.pack, loc.off);
		add_problem(c, obj, what, ino);
	}
	return 0;
}

/* Authenticate every value of table @t; check contents' chunks. */
static int
check_table(struct check *c, enum ix_table t, struct packrec *packs,
    size_t npacks)
{
	static const char *const names[] = {"meta", "inode", "dirent",
	    "content", "snapshot", "orphan", "journal"};
	store *st = c->st;
	MDB_cursor *cur;
	MDB_val k, v;
	int mrc, rc = 0;

	if (mdb_cursor_open(st->txn, st->dbi[t], &cur) != 0)
		return -EIO;
	for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0 && rc == 0;
	    mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		uint8_t *plain;
		size_t len;
		uint64_t ino = k.mv_size >= 8 ? bm_be64dec(k.mv_data) : 0;
		char obj[128], hex[81];

		rc = ix_open_sealed(st, t, &k, &v, &plain, &len);
		if (rc == -EBADMSG || rc == BEEMO_ENOKEY) {
			bm_hex(hex, k.mv_data, k.mv_size > 40 ? 40 : k.mv_size);
			snprintf(obj, sizeof(obj), "index record %s/%s",
			    names[t], hex);
			struct problem *p = add_problem(c, obj, rc == -EBADMSG ?
			    "authentication failed" : "key generation missing",
			    t == IX_INODE || t == IX_CONTENT ||
			    t == IX_DIRENT ? ino : 0);

			if (p != NULL)
				p->entry = t == IX_DIRENT;
			rc = 0;
			continue;
		}
		if (rc != 0)
			break;
		if (t == IX_CONTENT && len > 0) {
			struct content *ct;
			uint64_t seq = ~bm_be64dec((uint8_t *)k.mv_data + 8);
			uint32_t i;

			free(plain);
			plain = NULL;
			if ((rc = content_get(st, ino, seq, &ct)) != 0) {
				add_problem(c, "content record", "malformed",
				    ino);
				rc = 0;
				continue;
			}
			for (i = 0; i < ct->n && rc == 0; i++)
				if (!ct->c[i].hole)
					rc = check_chunk(c, &ct->c[i], packs,
					    npacks, ino);
			content_unref(ct);
		}
		free(plain);
	}
	mdb_cursor_close(cur);
	return rc;
}

/*
 * The path of @ino when its own record is unreadable: found through a
 * directory entry naming it (ix_lock held).
 */
static int
name_by_entry(store *st, uint64_t ino, char *buf, size_t size)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int mrc, rc = -ENOENT;

	if (mdb_cursor_open(st->txn, st->dbi[IX_DIRENT], &cur) != 0)
		return -EIO;
	for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0;
	    mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		struct dirent_rec d;
		uint8_t *plain;
		size_t len;
		int ok;

		if (k.mv_size != 32 ||
		    ix_open_sealed(st, IX_DIRENT, &k, &v, &plain, &len) != 0)
			continue;
		ok = len > 0 && dirent_decode(&d, plain, len) == 0 &&
		    d.ino == ino;
		free(plain);
		if (!ok)
			continue;
		if (path_locked(st, bm_be64dec(k.mv_data), SEQ_LIVE, buf,
		    size - STORE_NAME_MAX - 2) == 0) {
			snprintf(buf + strlen(buf), size - strlen(buf), "%s%s",
			    strcmp(buf, "/") ? "/" : "", d.name);
			rc = 0;
			break;
		}
	}
	mdb_cursor_close(cur);
	return rc;
}

/*
 * Keep in @packs (in place, in their order) the packs @part selects;
 * *@n becomes their count.
 */
static int
select_packs(const struct store_check_part *part, struct packrec *packs,
    size_t *n)
{
	size_t i, k = 0, want, left;

	if (part->slices > 0) {
		if (part->slice < 1 || part->slice > part->slices)
			return -EINVAL;
		for (i = 0; i < *n; i++)
			if (packs[i].id % part->slices == part->slice - 1)
				packs[k++] = packs[i];
		*n = k;
		return 0;
	}
	if (!(part->share > 0 && part->share <= 1))
		return -EINVAL;
	want = (size_t)(part->share * (double)*n + 0.999999);
	if (want == 0 && *n > 0)
		want = 1;
	/* Selection sampling (Knuth, TAOCP 3.4.2, algorithm S): each pack
	 * is kept with probability (wanted left) / (packs left), which
	 * keeps exactly @want, uniformly, in the packs' order. */
	for (i = 0, left = *n; i < *n && k < want; i++, left--) {
		uint32_t r;

		if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
			return -EIO;
		if ((uint64_t)r * left < (uint64_t)(want - k) << 32)
			packs[k++] = packs[i];
	}
	*n = k;
	return 0;
}

static int
check_run(store *st, struct store_check_part *part, store_check_fn fn,
    void *ctx, store_progress_fn progress, void *pctx, uint64_t *problems)
{
	static const enum ix_table sealed[] = {IX_META, IX_INODE, IX_DIRENT,
	    IX_CONTENT, IX_SNAP, IX_JOURNAL};
	struct check c;
	struct packrec *packs = NULL, *chosen = NULL;
	size_t npacks = 0, nchosen = 0, i;
	int rc;

	memset(&c, 0, sizeof(c));
	c.st = st;
	c.progress = progress;
	c.pctx = pctx;
	ix_lock(st);
	rc = list_packs(st, &packs, &npacks);
	ix_unlock(st);
	if (rc != 0)
		return rc;
	if (part != NULL) {
		/* Pass 2 needs every pack's record; pass 1 the chosen. */
		if (npacks > 0 &&
		    (chosen = malloc(npacks * sizeof(*chosen))) == NULL) {
			rc = -ENOMEM;
			goto out;
		}
		if (npacks > 0)
			memcpy(chosen, packs, npacks * sizeof(*chosen));
		nchosen = npacks;
		if ((rc = select_packs(part, chosen, &nchosen)) != 0)
			goto out;
		part->packs_read = nchosen;
		part->packs_total = npacks;
		if ((rc = check_packs(&c, chosen, nchosen)) != 0)
			goto out;
	}
	ix_lock(st);
	for (i = 0; rc == 0 && i < sizeof(sealed) / sizeof(sealed[0]); i++)
		rc = check_table(&c, sealed[i], packs, npacks);
	ix_unlock(st);
	if (rc != 0)
		goto out;
	for (i = 0; i < c.np; i++) {
		char path[4096], file[4200];

		if (c.p[i].ino == 0) {
			fn(ctx, c.p[i].object, c.p[i].what, NULL);
			continue;
		}
		if (c.p[i].entry && store_path(st, c.p[i].ino, path,
		    sizeof(path)) == 0) {
			snprintf(file, sizeof(file), "%s (an entry in it)",
			    path);
		} else if (!c.p[i].entry &&
		    store_path(st, c.p[i].ino, path, sizeof(path)) == 0) {
			snprintf(file, sizeof(file), "%s", path);
		} else {
			int found;

			ix_lock(st);
			found = !c.p[i].entry && name_by_entry(st, c.p[i].ino,
			    path, sizeof(path)) == 0;
			ix_unlock(st);
			if (found)
				snprintf(file, sizeof(file), "%s", path);
			else
				snprintf(file, sizeof(file), "%s %" PRIu64
				    " (not in the live tree)", c.p[i].entry ?
				    "an entry of directory" : "inode",
				    c.p[i].ino);
		}
		fn(ctx, c.p[i].object, c.p[i].what, file);
	}
	*problems = c.np;
out:
	free(chosen);
	free(packs);
	free(c.bad);
	free(c.p);
	return rc;
}

int
store_check(store *st, int read_data, store_check_fn fn, void *ctx,
    store_progress_fn progress, void *pctx, uint64_t *problems)
{
	struct store_check_part all = {1, 1, 0, 0, 0};

	return check_run(st, read_data ? &all : NULL, fn, ctx, progress, pctx,
	    problems);
}

int
store_check_part(store *st, struct store_check_part *part,
    store_check_fn fn, void *ctx, store_progress_fn progress, void *pctx,
    uint64_t *problems)
{
	return check_run(st, part, fn, ctx, progress, pctx, problems);
}
