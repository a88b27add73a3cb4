/*
 * store_erase.h -- erasing a path (store_erase(), store.h): the state of
 * one erasure, shared by finding what to erase (store_erase_find.c) and
 * deleting it (store_erase.c).
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
 * erased inodes counted there, and so do the snapshot records' counts.
 *
 * The work is cut into units, one per inode of E, children before their
 * directory: a unit deletes the inode's rows, every name of it (in any
 * directory, any version), and for a directory the names inside it, and
 * fixes the counts, in one transaction.  Units are committed in batches
 * (commit_wait_locked()), so a crash leaves whole units done and the
 * path still resolves to what is left: running the erasure again
 * finishes it.  The journal is rewritten first, for the same reason.
 *
 * Locking: every function below needs ix_lock held unless it says
 * otherwise; none takes another store lock.
 */
#ifndef BEEMO_STORE_ERASE_H
#define BEEMO_STORE_ERASE_H

#include <stddef.h>
#include <stdint.h>

#include "store_internal.h"

/* Directory entry keys: parent (8), name hash, ~seq (8). */
#define DKEY_LEN (8 + NAMEHASH_LEN + 8)
#define DGROUP_LEN (8 + NAMEHASH_LEN)

/* A set of inode numbers, in the order they were found. */
struct iset {
	uint64_t *slot;  /* open addressing, 0 is empty (no inode is 0) */
	size_t cap;      /* power of two */
	uint64_t *list;  /* insertion order */
	uint8_t *type;   /* DT_* of each, as its name said */
	size_t n, lcap;
};

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

/* A group that names an inode, or that lies in it (a directory). */
struct gref {
	uint64_t ino;
	size_t group; /* in erase.groups */
};

/* A path a view loses. */
struct epath {
	size_t view; /* index in erase.views */
	char *path;
};

/* The live tree (id 0, SEQ_LIVE) or a snapshot. */
struct view {
	uint32_t id;  /* 0: the live tree */
	uint64_t seq;
};

/* One erasure, zeroed before use; erase_free() frees what it holds. */
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
	struct gref *refs;  /* by inode then group, each once */
	size_t nrefs;
	struct epath *paths;
	size_t npaths, pcap;
	uint64_t *sfiles;   /* per view: files and bytes its snapshot */
	uint64_t *sbytes;   /* record loses at the next commit */
	uint64_t ops;       /* changes since the last commit */
	uint64_t removed;   /* names removed, over all views */
};

/* erase_split -- the names of @path (leading and trailing '/' allowed)
 * into *@comps (*@n of them), pointing into the new copy *@buf; the
 * caller frees both.  -EINVAL for the root, an empty, "." or ".." name,
 * a name over STORE_NAME_MAX or a path of 4096 bytes or more; -ENOMEM.
 * No lock. */
int erase_split(const char *path, char **buf, char ***comps, size_t *n);
/* erase_views -- the live tree and every snapshot into @x->views (the
 * live tree first, id 0, then by id, so by sequence), their sequences
 * into @x->sseq, and zeroed @x->sfiles, @x->sbytes.  Takes ix_lock:
 * call it without. */
int erase_views(struct erase *x);
/* erase_collect -- find what erasing the path @comps (@n names) changes:
 * the set @x->e (the inodes it names in any view, with every inode of
 * an erased directory in any view, breadth first), the groups of
 * directory entries holding a version that names one of them or lies in
 * one (@x->groups, @x->rows), their index by inode (@x->refs) and the
 * path each view loses (@x->paths, sorted by view then path;
 * @x->removed).  Reads every version of every
 * directory entry.  Returns 0, -ENOENT (the path is in no view), -EIO
 * for a malformed entry, or the index's errors. */
int erase_collect(struct erase *x, char **comps, size_t n);
/* erase_refs -- the first of @x->refs for inode @ino (@x->nrefs if
 * none); the others follow.  No lock. */
size_t erase_refs(const struct erase *x, uint64_t ino);
/* erase_free -- free what @x holds (not @x).  No lock. */
void erase_free(struct erase *x);
/* iset_has -- whether @ino is in @s.  No lock. */
int iset_has(const struct iset *s, uint64_t ino);
/* erase_visible -- the version of a group's @rows (@n, newest first)
 * that a view at @seq sees (a tombstone too), or NULL.  No lock. */
struct drow *erase_visible(struct drow *rows, size_t n, uint64_t seq);

#endif /* BEEMO_STORE_ERASE_H */
