/*
 * store.h -- one machine's backup set: an encrypted, deduplicating,
 * versioned file system store.
 *
 * Design.  File contents are cut by content-defined chunking (FastCDC-
 * style gear hash keyed per machine, 256 KiB min, 1 MiB average, 4 MiB
 * max).  A chunk's id is HMAC-SHA256 of its plaintext under the machine's
 * chunk-id key, so equal chunks are stored once and ids reveal nothing.
 * Chunks are zstd-compressed when that pays, sealed with AES-256-GCM
 * (the object's type, id, generation and lengths are the associated
 * data) and appended to pack files of tens of MiB.  Packs are immutable
 * once closed; they are the sealed blocks that beemo-sync pushes.
 *
 * The index is an LMDB environment.  Namespace records (inodes, directory
 * entries, file contents' chunk lists, snapshots) are multi-versioned:
 * each key ends with the complement of a sequence number.  The live tree
 * writes at the current sequence `live_seq`; a snapshot records the
 * current sequence and bumps it, so a snapshot costs O(1) and later
 * writes create new versions instead of overwriting.  Reading "as of"
 * snapshot S finds, per key, the newest version with seq <= S.  Every
 * namespace value is sealed with the metadata key, its table and key as
 * associated data; directory entries are keyed by an HMAC of the name.
 * So neither the index nor the packs reveal a name or a byte of content.
 *
 * Every index transaction is also appended, sealed, as a "log" object to
 * the current pack before it commits: the packs alone can rebuild the
 * index (store_rebuild()).  Chunk locations and pack states are not
 * logged; they are rebuilt from the packs' object headers.
 *
 * Durability.  Index changes go into one write transaction that a
 * committer thread commits every commit interval (default 1 s), on
 * fsync(), at snapshots and at close: the open pack is fsynced first,
 * then the log object is written and fsynced, then LMDB commits
 * synchronously.  After a crash (kill -9 or power loss) the store is at
 * its last commit: every file at its old or its new version.  On the next
 * read-write open the open pack is cut back to its committed length.
 *
 * Files being written live in a write buffer: sequential writes stream
 * through the chunker as they arrive; other writes go to a staging file
 * of sealed 64 KiB blocks (key held only in memory, file unlinked from
 * birth).  On the last close (and fsync) the new content is chunked,
 * scanned by the antivirus hook, and committed as a new version in one
 * step; a refused scan leaves the previous version current.
 *
 * On disk, for one machine, under DIR = STORE/machines/NAME:
 *
 *   DIR/store.id              magic, version (the store's format: 2, or
 *                             1 for stores made before keys had one use
 *                             each), appliance id, machine id (no secret;
 *                             tells a store from a foreign one)
 *   DIR/index/                LMDB environment (data.mdb, lock.mdb)
 *   DIR/packs/XX/ID.pack      closed, immutable packs; ID is 16 hex
 *                             digits, XX its last two
 *   DIR/packs/XX/ID.pack.open the pack being written (never pushed)
 *   DIR/lock                  flock()ed by the read-write owner
 *   DIR/ctl.sock              control socket of a running beemofs
 *   DIR/staging/              home of unlinked staging files
 *
 * Formats are documented in beemo-store(5).
 *
 * Inode numbers.  Live inodes are below 2^48.  In snapshot id K
 * (1..65534) the same inode appears as (K << 48) | ino; STORE_SNAPDIR_INO
 * is the /.snapshots directory.  Snapshot inodes are read-only.  A store
 * opened with store_opts.live_only has no history at all: /.snapshots
 * and every snapshot inode are -ENOENT to every call that takes an inode
 * or a name (lookups, attributes, listings, paths, extended attributes,
 * opens, changes), and the name cannot be created at the root (-EPERM).
 *
 * Errors: 0 or a negative errno; -EBADMSG (and a log line naming the
 * object) when a sealed object fails authentication, -EIO when an
 * object is missing or its header disagrees with the index; BEEMO_E*
 * codes as documented per function.
 *
 * Threads: every function may be called from any thread concurrently,
 * except store_close().  Inside, the store takes its mutexes in one
 * order: an open file's lock, the index lock, then the open-file table
 * or the pack writer, then leaf locks (pack descriptors, chunk cache,
 * sealing queue, a file's chunk slots); fs/store_internal.h lists them.
 */
#ifndef BEEMO_STORE_H
#define BEEMO_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

#include "keymgr.h"

#define STORE_ROOT_INO 1ULL
#define STORE_SNAP_SHIFT 48
#define STORE_INO_MASK ((1ULL << STORE_SNAP_SHIFT) - 1)
#define STORE_SNAPDIR_INO STORE_INO_MASK
#define STORE_SNAPDIR_NAME ".snapshots"
#define STORE_MAX_SNAP 65534
#define STORE_NAME_MAX 255
/*
 * The largest size of a file: 1 PiB.  A size, truncate or write beyond it
 * fails with -EFBIG.  Sparse regions cost nothing (they are holes), so the
 * bound is not about space: it keeps every sum of offsets and sizes far
 * from overflow and every file restorable on file systems with large
 * files (XFS, btrfs; ext4 stops at 16 TiB).
 */
#define STORE_FILE_MAX (1ULL << 50)

typedef struct store store;
typedef struct store_file store_file;

/* Hook called with a file's new content before it is committed. */
struct store_scan_src {
	uint64_t size;
	/* Read @len bytes at @off into @buf; returns bytes read or a
	 * negative errno.  Valid only during the scan call. */
	ssize_t (*pread)(void *handle, void *buf, size_t len, uint64_t off);
	void *handle;
	/* Non-NULL when the whole content is in memory (small files). */
	const void *mem;
	/* The content's identity: SHA-256 over its chunk ids (keyed MACs of
	 * the plaintext, so equal only for equal content of one machine)
	 * and hole lengths; the key of scan caches. */
	uint8_t key[32];
};

/*
 * store_scan_fn -- antivirus hook: return 0 when clean, BEEMO_EVIRUS with
 * the signature name copied into @virus (size @vlen) when infected, or a
 * negative errno when the scan itself failed (the commit then fails too).
 * @path is the file's path in the live tree, for messages.
 */
typedef int (*store_scan_fn)(void *ctx, const char *path,
    const struct store_scan_src *src, char *virus, size_t vlen);

/* Events the store reports (journal and e-mail reports hook here). */
enum store_event {
	STORE_EV_VIRUS = 1,      /* a file was refused: @detail = virus */
	STORE_EV_UNSCANNED = 2,  /* committed without scan (too big) */
	STORE_EV_COMMIT_FAIL = 3, /* a file could not be committed */
	STORE_EV_DAMAGE = 4,     /* an object failed authentication */
	STORE_EV_LOST = 5,       /* a commit failed: @detail is a report
				  * text naming the changes lost */
	STORE_EV_SPACE = 6,      /* writes refused for want of space:
				  * @detail says how much is left */
};
/*
 * The event callback (store_opts.event) runs on the thread that met the
 * event, possibly with the index lock or an open file's lock held
 * (STORE_EV_DAMAGE of an index record: index lock; of a chunk: no store
 * lock; the others: the file's lock and not the index lock).  It must
 * return promptly and must not call the store.  @path may be NULL.
 */
typedef void (*store_event_fn)(void *ctx, enum store_event ev,
    const char *path, const char *detail);

struct store_opts {
	int rdonly;             /* restore session: every change is EROFS */
	int live_only;          /* backup session (POSTE key): no history in
				 * the namespace, see "Inode numbers" */
	uint64_t pack_size;     /* target pack size; 0: 32 MiB */
	int zstd_level;         /* 0: 3; negative: zstd fast levels */
	unsigned commit_ms;     /* commit interval; 0: 1000 */
	uint64_t cache_size;    /* chunk cache bytes; 0: 32 MiB */
	unsigned workers;       /* chunk sealing threads; 0: 2 */
	unsigned commit_threads; /* files committed in the background after
				  * close() (store_cqueue.h) by this many
				  * threads; 0: close() commits */
	store_scan_fn scan;     /* NULL: no scanning */
	void *scan_ctx;
	uint64_t scan_max;      /* files larger are not scanned */
	int scan_refuse_big;    /* refuse (EFBIG) instead of flag */
	store_event_fn event;   /* NULL: log only */
	void *event_ctx;
	/* A background commit of inode @ino failed or was refused after
	 * its close() returned (store_cqueue.h): what the kernel cached of
	 * it is stale.  Called by a commit thread, no store lock held;
	 * NULL: nothing. */
	void (*commit_failed)(void *ctx, uint64_t ino);
	void *commit_failed_ctx;
	/* Space (bm_space.h gives beemofs the values): new data is refused
	 * with -ENOSPC while the store's file system has less than
	 * @reserve bytes free (0: never), and a machine without a hard
	 * quota of its own gets @quota_default (0: none). */
	uint64_t reserve;
	uint64_t quota_default;
};

/*
 * store_create -- create an empty store for one machine in @dir (which
 * must not exist or be empty), of the current format: store.id, index
 * with the root directory, packs/.  @s gives the machine id and keys.
 * Returns 0, -EEXIST, or a negative errno.
 */
int store_create(const char *dir, const uint8_t appliance_id[KEYMGR_ID_LEN],
    const keymgr_secret *s);

/*
 * store_open -- open a machine's store.
 * @dir: STORE/machines/NAME.
 * @s: the unlocked SECRET (borrowed; must outlive the store).
 * @opts: options, NULL for defaults and read-write.
 * Stores of format 1 and 2 are opened, each with its own key
 * derivation (beemo-store(5)).  Every open first refuses an index older
 * than the pack files (BEEMO_EROLLBACK, logged with the pack and the
 * repair, beemoctl rebuild-index); a read-only open checks that only
 * when no read-write owner runs, holding DIR/lock shared meanwhile.
 * A read-write open then takes DIR/lock (BEEMO_ELOCKED if another
 * process holds it), cuts the open pack back to its committed length,
 * removes uncommitted packs and deletes inodes left unlinked-but-open.
 * Returns 0, BEEMO_ENOSTORE (no store.id), BEEMO_EFOREIGN (store of
 * another machine), BEEMO_EVERSION, BEEMO_EFORMAT (also: store.id and
 * the index name different formats), BEEMO_EROLLBACK, BEEMO_ELOCKED, or
 * a negative errno.
 */
int store_open(const char *dir, const keymgr_secret *s,
    const struct store_opts *opts, store **out);

/*
 * store_close -- commit, close the open pack (it becomes pushable) and
 * free everything.  Returns the first error met while committing.
 * NULL is a no-op.
 */
int store_close(store *st);

/*
 * store_interrupt -- the session is ending (SIGTERM): work proportional
 * to a file's data that is under way or starts later (chunking a file
 * at its commit, feeding it to the antivirus, SEEK_DATA walks) stops
 * with -EINTR, so that every request ends within a bounded time.  The
 * commits it stops fail as any commit does (logged, journaled,
 * reported); nothing committed before is touched, and store_close()
 * still commits what is pending in the index.  Async-signal-safe: one
 * atomic store.  Not undone.
 */
void store_interrupt(store *st);

/* store_sync -- commit now, durably (fsync, syncfs). */
int store_sync(store *st);

/* ---- namespace ----------------------------------------------------- */

struct store_attr {
	uint64_t ino;
	uint32_t mode; /* type and permission bits */
	uint32_t nlink;
	uint32_t uid, gid;
	uint64_t rdev;
	uint64_t size;
	uint64_t blocks; /* 512-byte units, as stat(2) */
	struct timespec atime, mtime, ctime;
	uint64_t version; /* of a regular file's content: equal versions of
	                     one inode have equal contents (0: empty) */
};

/* Bits of store_setattr()'s @to_set. */
#define STORE_SET_MODE 0x01
#define STORE_SET_UID 0x02
#define STORE_SET_GID 0x04
#define STORE_SET_SIZE 0x08
#define STORE_SET_ATIME 0x10
#define STORE_SET_MTIME 0x20
#define STORE_SET_CTIME 0x40

int store_lookup(store *st, uint64_t parent, const char *name,
    struct store_attr *out);
int store_getattr(store *st, uint64_t ino, struct store_attr *out);
int store_setattr(store *st, uint64_t ino, const struct store_attr *in,
    unsigned to_set, struct store_attr *out);

/* Who creates a node: owner, group, and the creator's umask (applied
 * unless the parent directory has a default ACL, as ext4 does). */
struct store_cred {
	uint32_t uid, gid, umask;
};

/* Create a node of any type but symlink (regular, dir, fifo, socket,
 * device) named @name in @parent.  -EEXIST if the name exists. */
int store_mknod(store *st, uint64_t parent, const char *name, uint32_t mode,
    uint64_t rdev, const struct store_cred *cr, struct store_attr *out);
int store_symlink(store *st, uint64_t parent, const char *name,
    const char *target, const struct store_cred *cr, struct store_attr *out);
/* store_readlink -- copy the target and a NUL into @buf; -ERANGE if it
 * does not fit. */
int store_readlink(store *st, uint64_t ino, char *buf, size_t size);
int store_link(store *st, uint64_t ino, uint64_t newparent,
    const char *newname, struct store_attr *out);
int store_unlink(store *st, uint64_t parent, const char *name);
int store_rmdir(store *st, uint64_t parent, const char *name);
/* @flags: 0, RENAME_NOREPLACE or RENAME_EXCHANGE. */
int store_rename(store *st, uint64_t parent, const char *name,
    uint64_t newparent, const char *newname, unsigned flags);

/*
 * store_readdir -- list directory @ino from position @cookie (0 = start).
 * @fn is called per entry with the entry's attributes (with @plus, else
 * only ino and type bits of mode) and the cookie of the entry after it;
 * it returns nonzero to stop (buffer full), and that entry is not
 * consumed.  "." and ".." are included.
 */
typedef int (*store_dirent_fn)(void *ctx, const char *name,
    const struct store_attr *attr, uint64_t next);
int store_readdir(store *st, uint64_t ino, uint64_t cookie, int plus,
    store_dirent_fn fn, void *ctx);

int store_setxattr(store *st, uint64_t ino, const char *name,
    const void *value, size_t size, int flags);
/* Returns the value's length; with @size 0 only the length. -ENODATA
 * if absent, -ERANGE if @size is too small. */
ssize_t store_getxattr(store *st, uint64_t ino, const char *name, void *buf,
    size_t size);
/* NUL-separated names, as listxattr(2). */
ssize_t store_listxattr(store *st, uint64_t ino, char *buf, size_t size);
int store_removexattr(store *st, uint64_t ino, const char *name);

int store_statfs(store *st, struct statvfs *out);

/*
 * store_path -- the path of live or snapshot inode @ino from the root of
 * its tree ("/dir/file"), following the name each inode was created or
 * last renamed under.  Returns 0 or a negative errno.
 */
int store_path(store *st, uint64_t ino, char *buf, size_t size);

/*
 * store_primary -- the directory and name live inode @ino was created or
 * last renamed under (also for a file just removed), for invalidating a
 * kernel's cached entry.  @name has room for STORE_NAME_MAX + 1 bytes.
 */
int store_primary(store *st, uint64_t ino, uint64_t *parent, char *name);

/* ---- file contents ------------------------------------------------- */

/*
 * store_open_file -- open regular file @ino; @flags are open(2) flags
 * (O_ACCMODE, O_TRUNC, O_APPEND).  Writing needs a read-write store and
 * a live inode.  @out receives the handle.
 */
int store_open_file(store *st, uint64_t ino, int flags, store_file **out);

/* store_create_file -- store_mknod(S_IFREG) + store_open_file. */
int store_create_file(store *st, uint64_t parent, const char *name,
    uint32_t mode, const struct store_cred *cr, int flags,
    struct store_attr *attr, store_file **out);

/* Returns bytes read (short only at end of file) or a negative errno. */
ssize_t store_read(store_file *f, void *buf, size_t size, uint64_t off);
/*
 * store_read_view -- store_read() without the copy: @v->iov[0 ..
 * @v->n - 1] receive the bytes in place, in the store's chunk cache (and
 * in a shared buffer of zeros for holes), held until store_view_put(@v)
 * -- meanwhile they do not change and are not evicted.  For a reader
 * that passes them on (writev), a megabyte read costs no copy and no
 * buffer.  Returns the bytes (0 at or past the end) or a negative
 * errno: those of store_read(), and -EAGAIN when the read is better
 * served by store_read(): a file with changes still pending, or a read
 * that would take more than STORE_VIEW_MAX pieces.  On an error nothing
 * is held.  store_view_put -- release what @v holds (after a return of
 * 0 or more).
 */
#define STORE_VIEW_MAX 32
struct store_view {
	struct iovec iov[STORE_VIEW_MAX];
	unsigned n;
	void *hold[STORE_VIEW_MAX]; /* private: the cache's holds */
	store *st;                  /* private */
};
ssize_t store_read_view(store_file *f, size_t size, uint64_t off,
    struct store_view *v);
void store_view_put(struct store_view *v);
/* Returns @size or a negative errno; -EFBIG past STORE_FILE_MAX. */
ssize_t store_write(store_file *f, const void *buf, size_t size,
    uint64_t off);

/*
 * store_release_all -- store_release() every handle still open: a
 * session that ends with files open (SIGTERM, a lazy unmount) commits
 * their pending changes, or reports why not, and frees them.  Call when
 * no other thread uses the store's handles any more.
 */
void store_release_all(store *st);

/*
 * store_lseek -- lseek(2)'s SEEK_DATA or SEEK_HOLE (@whence) from @off:
 * the first byte at or after @off that is data, or in a hole (the end
 * of the file counts as a hole).  Holes are the parts never written (a
 * file grown by truncate or by writing past its end) and runs of zeros
 * the store keeps as holes.  Cost: proportional to the file's data
 * extents crossed, never to a hole's size.  Returns the offset, -ENXIO
 * (@off at or past the end; no data after it), -EINVAL (another
 * @whence), or the errors of store_read().
 */
int64_t store_lseek(store_file *f, uint64_t off, int whence);

/*
 * store_flush -- called on every close(2) of a descriptor: when the file
 * was changed, chunk, scan and commit its new content.  Returns 0,
 * BEEMO_EVIRUS (the content was refused and the previous version stays),
 * -EFBIG (too big to scan and the policy refuses), or a negative errno.
 */
int store_flush(store_file *f);

/* store_fsync -- store_flush(), then a durable commit. */
int store_fsync(store_file *f);

/* store_release -- the last reference is gone: commits what is left
 * (errors are logged), frees @f.  Returns the commit's result. */
int store_release(store_file *f);

/* ---- snapshots ----------------------------------------------------- */

#define STORE_SNAP_TAGS 8 /* tags per snapshot */
#define STORE_TAG_MAX 64  /* bytes of a tag */

struct store_snapinfo {
	uint32_t id;
	uint64_t seq;
	uint64_t time;   /* CLOCK_REALTIME ns */
	uint64_t files;  /* regular files in the live tree at that time */
	uint64_t bytes;  /* their apparent size */
	char note[128];
	/* Tags: names given to the snapshot (store_tag_valid()), each
	 * NUL-terminated, @ntags of them, no two alike. */
	unsigned ntags;
	char tags[STORE_SNAP_TAGS][STORE_TAG_MAX + 1];
};

/*
 * store_tag_valid -- whether @tag may name a snapshot: a letter, then up
 * to 63 letters, digits, '.', '_' or '-' ([A-Za-z][A-Za-z0-9._-]{0,63}),
 * not "latest" nor a word that names a time ("now", "today",
 * "yesterday").  Returns 1 or 0.
 */
int store_tag_valid(const char *tag);

/*
 * store_snapshot_take -- store_snapshot() with the note and the tags of
 * @want (its other fields are ignored), and, with @if_changed, only if
 * the live tree changed since the newest snapshot it is known to equal
 * (below).  @id receives the new snapshot's id, or when
 * nothing changed the id of the snapshot the live tree equals;
 * @created receives 1 or 0 (nothing changed, nothing done).
 * Returns as store_snapshot(), and -EINVAL for an invalid tag or more
 * than STORE_SNAP_TAGS.
 *
 * Whether the live tree changed: every change of a live inode (its
 * attributes and extended attributes), directory entry or file content
 * (rename, create, remove, write, chmod, chown, utimes, xattr) clears
 * the counter "live_same" of IX_META, in the transaction of the change;
 * a snapshot sets it to its id.  So a store knows, across sessions and
 * crashes, whether its live tree is that of a snapshot; a store made
 * before the counter existed counts as changed until its next snapshot.
 */
int store_snapshot_take(store *st, const struct store_snapinfo *want,
    int if_changed, uint32_t *id, int *created);

/*
 * store_snapshot_tag -- add (@add 1) or remove (@add 0) @tag on snapshot
 * @id.  Returns 0 (also when it already had it, or did not), -ENOENT (no
 * snapshot @id), -EINVAL (invalid tag), -E2BIG (already STORE_SNAP_TAGS
 * tags), -EROFS, or a negative errno.
 */
int store_snapshot_tag(store *st, uint32_t id, const char *tag, int add);

/* store_live_same -- the id of the snapshot the live tree is known to
 * equal, 0 if it changed since (or the snapshot was forgotten). */
uint32_t store_live_same(store *st);

/*
 * store_snapshot -- freeze the live tree as a new snapshot: commits,
 * closes the open pack.  @note may be NULL.  @id receives the id.
 * Returns 0, -EROFS, -ENOSPC (every id 1..65534 taken: the id of a
 * forgotten snapshot is not given again), or a negative errno.
 */
int store_snapshot(store *st, const char *note, uint32_t *id);

/* store_snapshots -- every snapshot, oldest first; free(*out). */
int store_snapshots(store *st, struct store_snapinfo **out, size_t *n);

/* store_snapshot_ino -- inode of the root of snapshot @id, or 0. */
uint64_t store_snapshot_ino(uint32_t id);

/* ---- statistics ---------------------------------------------------- */

struct store_stats {
	uint64_t files, dirs, bytes;  /* live tree: count and apparent size */
	uint64_t stored;              /* bytes in packs (deduplicated) */
	uint64_t used;                /* what the quota counts: packs, index
					 and staging files (store_snap.h) */
	uint64_t quota_limit;         /* the hard quota in force: the
					 machine's own, else opts'
					 quota_default; 0: none */
	uint64_t chunks, packs;
	uint32_t snapshots;
	uint64_t last_snapshot;       /* time, ns; 0 if none */
	uint64_t session_files;       /* files committed by this handle */
	uint64_t session_bytes;       /* bytes written through this handle */
	uint64_t reclaimable;         /* garbage in packs as estimated by the
					 last store_prune() or store_forget()
					 (0 if never estimated) */
	uint64_t reclaimable_time;    /* when it was estimated, ns; 0: never */
};
int store_stats(store *st, struct store_stats *out);

/*
 * store_quota_get / store_quota_set -- the machine's quota in bytes the
 * appliance holds for it (store_stats' "used": its packs, deduplicated
 * and compressed, its index and the staging files of files being
 * written); 0 means none (then opts.quota_default applies as the hard
 * limit).  Past the hard limit writes fail with -EDQUOT and statfs
 * shows no free space; the soft limit is only reported.  Setting needs
 * a read-write store.
 */
int store_quota_get(store *st, uint64_t *soft, uint64_t *hard);
int store_quota_set(store *st, uint64_t soft, uint64_t hard);

/*
 * store_destroy -- delete the store of a machine that is being removed:
 * every pack, the index, the journal.  Fails with BEEMO_ELOCKED while a
 * backup session holds it.  A missing @dir is not an error.  Returns 0
 * or a negative errno.
 */
int store_destroy(const char *dir);

/*
 * store_read_id -- read DIR/store.id without opening the store.
 * Returns 0, BEEMO_ENOSTORE, BEEMO_EFORMAT, BEEMO_EVERSION (neither
 * format 1 nor 2) or a negative errno.
 */
int store_read_id(const char *dir, uint8_t appliance[KEYMGR_ID_LEN],
    uint8_t machine[KEYMGR_ID_LEN]);

/* ---- the journal ----------------------------------------------------- */

/*
 * Every backup set keeps a journal, in its index (sealed like the rest,
 * so it travels off-site in the log objects), of every operation since it
 * was created.  An entry is written in the same index transaction as the
 * changes it describes, so after a crash both or neither are there.
 * Types: "session" (a backup session begins or ends, with counts),
 * "files" (files added, changed, deleted or renamed by a session; written
 * at each index commit, with the session's id), "snapshot", "push",
 * "restore", "delete", "virus", "error", "quota", "check", "scan",
 * "erase".
 */
struct store_journal_entry {
	uint64_t time;           /* CLOCK_REALTIME ns; 0 on add: now */
	const char *type;        /* one of the types above */
	const char *who;         /* "admin", "user alice", "poste", a program */
	const char *summary;     /* one line */
	const char *const *files; /* paths concerned, "OP /path" for "files"
	                             (a rename: "renamed /a", "to /b") */
	size_t nfiles;
};

/*
 * store_journal_add -- append @e to the journal (in the current index
 * transaction; store_sync() to make it durable at once).  A read-only
 * store returns -EROFS: a process that does not own the store journals
 * through control_journal_record() (control.h).
 */
int store_journal_add(store *st, const struct store_journal_entry *e);

/*
 * store_journal_list -- entries at or after @since (ns; 0: all) and of
 * type @type (NULL: all), oldest first, each passed to @fn (nonzero
 * stops).  The entry is valid during the call only.
 */
typedef int (*store_journal_fn)(void *ctx,
    const struct store_journal_entry *e);
int store_journal_list(store *st, uint64_t since, const char *type,
    store_journal_fn fn, void *ctx);

/*
 * store_set_who -- name the principal acting through @st ("poste",
 * "admin", "user alice", "beemoctl"...) for the journal.  Copied.
 */
void store_set_who(store *st, const char *who);

/*
 * store_session_begin / store_session_end -- a backup session: from
 * begin on, every file added, changed, deleted or renamed is journaled
 * (in "files" entries, one per index commit); the end entry carries the
 * session's counts.  Returns 0 or a negative errno.
 */
int store_session_begin(store *st);
int store_session_end(store *st);

/* Backup session counters (this handle). */
struct store_session {
	uint64_t id;
	uint64_t added, changed, deleted, renamed, bytes;
};
void store_session_counts(store *st, struct store_session *out);

/* ---- maintenance --------------------------------------------------- */

/* Progress callback for long operations: @done of @total units (bytes). */
typedef void (*store_progress_fn)(void *ctx, uint64_t done, uint64_t total);

/* ---- retention ----------------------------------------------------- */

/*
 * store_forget -- delete the snapshot records @ids (@n of them) in one
 * logged transaction, and journal it ("forget", by the store's who, with
 * the ids and times).  Frees no space by itself: the versions, chunks
 * and packs only those snapshots used become garbage for store_prune().
 * Which snapshots may be forgotten (policy, password) is the caller's
 * decision.  Their ids are never given to a new snapshot (meta
 * "snap_next").  It also counts the garbage a prune would reclaim
 * (store_stats' reclaimable), unless files are open.  Returns 0, -ENOENT (an id that does not exist: nothing is
 * forgotten), -EROFS, or a negative errno of the index.
 */
int store_forget(store *st, const uint32_t *ids, size_t n);

struct store_prune_opts {
	unsigned repack_pct;  /* repack a pack when at least this percentage
				 of its bytes is garbage (1..100); 0 takes
				 the default, 20 */
	int dry_run;          /* compute the figures, change nothing */
	store_progress_fn progress; /* may be NULL: (done, total) bytes */
	void *progress_ctx;
};

struct store_prune_stats {
	uint64_t versions_dropped;  /* index versions no snapshot sees */
	uint64_t chunks_dropped;    /* chunks nothing refers to any more */
	uint64_t log_dropped;       /* log objects older than the checkpoint */
	uint64_t packs_deleted;     /* whole packs dropped */
	uint64_t packs_repacked;    /* packs whose live objects were copied */
	uint64_t packs_written;     /* new packs written by the repacking */
	uint64_t bytes_repacked;    /* live bytes copied */
	uint64_t stored_before, stored_after; /* bytes in packs */
	uint64_t reclaimable_after; /* garbage left in packs under the
				       repacking threshold */
};

/*
 * store_prune -- reclaim the space of forgotten snapshots, erased paths
 * and deleted files in a read-write store: drop the index versions that
 * neither the live tree nor any snapshot sees, write a checkpoint of the
 * log, drop the chunks nothing refers to, copy the live objects of packs
 * with at least repack_pct % garbage into new packs and drop the packs
 * left with nothing live.  Every step commits old-or-new (beemo-store(5),
 * "Pruning"): after a crash at any point the store opens, every snapshot
 * reads as before, and a new call completes the work.  Memory is a few
 * tens of bytes per chunk.  Journals "prune" with the figures.
 * It needs the store to itself: no file open through @st (their chunks
 * may be named by no content yet) and no other writer.
 * @out receives the figures (also with dry_run).  Returns 0, -EROFS,
 * -EINVAL (repack_pct above 100), -EBUSY (a file is open), -EINTR
 * (store_interrupt()), or a negative errno; the sticky commit error
 * applies as for any change.
 */
int store_prune(store *st, const struct store_prune_opts *o,
    struct store_prune_stats *out);

/*
 * store_dropped_packs -- the ids of every pack a prune dropped (they
 * stay recorded in the pack table as PACK_DROPPED), ascending; the
 * off-site copies of those packs are no longer needed.  free(*ids).
 * Returns 0 or a negative errno.
 */
int store_dropped_packs(store *st, uint64_t **ids, size_t *n);

/*
 * store_erase -- remove @path (relative to the root, a leading '/'
 * allowed; no empty, "." or ".." components) from the live tree and
 * from every snapshot: every version of every directory entry, inode
 * and content that the path names in the live tree or in any snapshot,
 * with the whole subtree of a directory (wherever that directory is in
 * any view) and every other name of a hard-linked file.  Directory link
 * counts, the live tree's counters and the snapshot records' counts
 * follow; a deleted version that hid an older one of the same name
 * becomes a tombstone, so no view shows a file it did not hold.  Journal entries that name a removed
 * path (or one below it) have it replaced by "[erased]"; the erasure is
 * journaled ("erase": counts and snapshot ids, not the names, which
 * would otherwise survive in the log).  The store is marked (meta
 * counter "prune_full", logged) so that the next store_prune() repacks
 * every pack holding any garbage: after it no sealed byte of the path
 * remains.  Cost: every version of every directory entry and every
 * journal entry is read and authenticated once, and the rows changed
 * are held in memory.  Changes are committed in batches, each removing
 * whole files children first: after a crash the path names what is
 * left, and a new call finishes.  The live tree under @path must not
 * change during the call.
 * @fn, if not NULL, is called after the work, once per path removed
 * per view, in order of views (@snap: 0 for the live tree, then each
 * snapshot id) and of paths; a nonzero return stops the calls.  With
 * @dry_run, nothing changes (also in a read-only store).  Returns 0,
 * -ENOENT (the path exists nowhere), -EINVAL (a malformed path, or the
 * root), -EROFS, -EPERM (a store opened live_only), -EBUSY (files are
 * open through @st), or a negative errno of the index (-EBADMSG for a
 * record that fails authentication).
 */
typedef int (*store_erase_fn)(void *ctx, uint32_t snap, const char *path);
int store_erase(store *st, const char *path, int dry_run, store_erase_fn fn,
    void *ctx);

/*
 * store_rebuild -- rebuild DIR/index from the packs alone (after a
 * recovery from an off-site copy, or when the index is damaged): reads
 * every pack's object headers, authenticates and replays the log
 * objects in order.  The old index, if any, is moved aside to
 * DIR/index.old.  Needs the read-write lock.  Damaged or missing objects
 * are named in the log and make the call fail with -EBADMSG (the index is
 * then not replaced).  This is the repair of an index older than the
 * packs (BEEMO_EROLLBACK).  A store.id that names another format than
 * the packs' authenticated log fails with BEEMO_EFORMAT.
 */
int store_rebuild(const char *dir, const keymgr_secret *s,
    store_progress_fn progress, void *ctx);

/*
 * store_check -- verify the index against the packs.  Every index value
 * is authenticated; every chunk a file refers to must be in the chunk
 * table, inside a recorded pack, with a matching object header.  With
 * @read_data, every object of every pack is read and authenticated too.
 * @fn is called once per problem with the damaged object's name, what is
 * wrong, and the file affected ("/path", or NULL when none); @problems
 * receives the count.  Returns 0 when the check ran (even with problems),
 * or a negative errno if it could not run.
 */
typedef void (*store_check_fn)(void *ctx, const char *object,
    const char *problem, const char *file);
int store_check(store *st, int read_data, store_check_fn fn, void *ctx,
    store_progress_fn progress, void *pctx, uint64_t *problems);

/*
 * store_check_part -- store_check() reading the data of a share of the
 * packs only (`beemoctl check --read-data-subset`), so that a large
 * store is read piece by piece on a schedule.  The index is checked
 * whole, as by store_check(); chunks in packs not read keep the header
 * check of pass 2.
 * @part->slices > 0: slice @part->slice (1 ... slices) of that many,
 *   the packs whose id % slices == slice - 1.  The slices partition the
 *   packs: running slice 1, 2, ... slices reads every pack once (a pack
 *   id never changes; new packs fall in some slice).
 * @part->slices == 0: a random choice of @part->share (0 < share <= 1)
 *   of the packs, at least one when there is any, chosen anew by each
 *   call (OpenSSL's RAND_bytes).
 * On return @part->packs_read and @part->packs_total hold how many
 * packs were read and how many the index records.  The other arguments
 * and the return value are those of store_check(); -EINVAL for a slice
 * outside 1 ... slices or a share outside (0, 1].
 */
struct store_check_part {
	uint32_t slice, slices;
	double share;
	uint64_t packs_read, packs_total; /* out */
};
int store_check_part(store *st, struct store_check_part *part,
    store_check_fn fn, void *ctx, store_progress_fn progress, void *pctx,
    uint64_t *problems);

/*
 * Pack file names.  A pack lives in packs/XX/ under the store directory,
 * XX the last two hex digits of its id, as "<id: 16 lowercase hex
 * digits>.pack", with ".open" appended while it is written; only closed
 * packs are pushed off site.
 * pack_name_parse -- whether @name is such a file name; *@id and *@open
 * receive what it says.  Returns 0 or BEEMO_EFORMAT.
 * pack_relpath_parse -- whether @rel is "packs/XX/<id>.pack", the path
 * of a closed pack relative to the store directory.  Returns 0 or
 * BEEMO_EFORMAT.
 */
int pack_name_parse(const char *name, uint64_t *id, int *open);
int pack_relpath_parse(const char *rel, uint64_t *id);

#endif /* BEEMO_STORE_H */
