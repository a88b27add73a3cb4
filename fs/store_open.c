/*
 * store_open.c -- creating, opening and closing a machine's store.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <ftw.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bm_bytes.h"
#include "bm_err.h"
#include "bm_file.h"
#include "bm_log.h"
#include "store_cache.h"
#include "store_commit.h"
#include "store_cqueue.h"
#include "store_internal.h"
#include "store_journal.h"
#include "store_ns.h"
#include "store_record.h"
#include "store_worker.h"

static int
id_file_write(const char *dir, const uint8_t appliance[KEYMGR_ID_LEN],
    const uint8_t machine[KEYMGR_ID_LEN])
{
	uint8_t b[STORE_ID_LEN];
	char path[4096];
	int rc;

	if ((rc = bm_path(path, sizeof(path), "%s/store.id", dir)) != 0)
		return rc;
	memset(b, 0, sizeof(b));
	memcpy(b, STORE_ID_MAGIC, 8);
	bm_be16enc(b + 8, STORE_FORMAT);
	memcpy(b + 16, appliance, KEYMGR_ID_LEN);
	memcpy(b + 32, machine, KEYMGR_ID_LEN);
	return bm_write_file_atomic(path, b, sizeof(b), 0600, 1);
}

int
store_id_read(const char *dir, uint8_t appliance[KEYMGR_ID_LEN],
    uint8_t machine[KEYMGR_ID_LEN], unsigned *format)
{
	char path[4096];
	uint8_t *b;
	size_t len;
	int rc;

	if ((rc = bm_path(path, sizeof(path), "%s/store.id", dir)) != 0)
		return rc;
	rc = bm_read_file(path, 4096, &b, &len);
	if (rc == -ENOENT)
		return BEEMO_ENOSTORE;
	if (rc != 0)
		return rc;
	if (len != STORE_ID_LEN || memcmp(b, STORE_ID_MAGIC, 8) != 0)
		rc = BEEMO_EFORMAT;
	else if (bm_be16dec(b + 8) != STORE_FORMAT_V1 &&
	    bm_be16dec(b + 8) != STORE_FORMAT)
		rc = BEEMO_EVERSION;
	else {
		*format = bm_be16dec(b + 8);
		memcpy(appliance, b + 16, KEYMGR_ID_LEN);
		memcpy(machine, b + 32, KEYMGR_ID_LEN);
	}
	free(b);
	return rc;
}

int
store_read_id(const char *dir, uint8_t appliance[KEYMGR_ID_LEN],
    uint8_t machine[KEYMGR_ID_LEN])
{
	unsigned format;

	return store_id_read(dir, appliance, machine, &format);
}

/* First-time contents of the index: the root directory and counters. */
static int
init_index(store *st)
{
	struct inode root;
	int rc;

	memset(&root, 0, sizeof(root));
	root.ino = STORE_ROOT_INO;
	root.mode = S_IFDIR | 0755;
	root.nlink = 2;
	root.parent = STORE_ROOT_INO;
	root.name = (char *)"";
	clock_gettime(CLOCK_REALTIME, &root.mtime);
	root.atime = root.ctime = root.mtime;
	st->live_seq = 1;
	st->next_ino = STORE_ROOT_INO + 1;
	if ((rc = ix_meta_put(st, "format", st->keys.format)) != 0 ||
	    (rc = ix_meta_put(st, "live_seq", st->live_seq)) != 0 ||
	    (rc = ix_meta_put(st, "next_ino", st->next_ino)) != 0 ||
	    (rc = ix_meta_put(st, "dirs", 1)) != 0)
		return rc;
	return inode_put(st, &root);
}

static void
opts_defaults(struct store_opts *o)
{
	if (o->pack_size == 0)
		o->pack_size = 32ULL << 20;
	if (o->zstd_level == 0)
		o->zstd_level = 3;
	if (o->commit_ms == 0)
		o->commit_ms = 1000;
	if (o->cache_size == 0)
		o->cache_size = 16ULL << 20;
	if (o->workers == 0)
		o->workers = 2;
}

static int
load_counters(store *st, int creating)
{
	uint64_t fmt = 0;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	rc = ix_meta_get(st, "format", &fmt);
	if (rc == -ENOENT && creating)
		return init_index(st);
	if (rc == -ENOENT)
		return BEEMO_ENOSTORE;
	if (rc != 0)
		return rc;
	if (fmt != STORE_FORMAT_V1 && fmt != STORE_FORMAT)
		return BEEMO_EVERSION;
	if (fmt != st->keys.format) {
		/* store.id is not authenticated; the index's counter is,
		 * and comes from the log in the packs. */
		bm_log(LOG_ERR, "%s: store.id says format %u, the index %"
		    PRIu64 " (store.id replaced?)", st->dir, st->keys.format,
		    fmt);
		return BEEMO_EFORMAT;
	}
	if ((rc = ix_meta_get(st, "live_seq", &st->live_seq)) != 0 ||
	    (rc = ix_meta_get(st, "next_ino", &st->next_ino)) != 0)
		return rc == -ENOENT ? BEEMO_EFORMAT : rc;
	if (ix_meta_get(st, "lsn", &st->lsn) != 0)
		st->lsn = 0;
	/* The counters must be above what exists, or a new inode or
	 * version would take the place of an old one. */
	if (mdb_cursor_open(st->txn, st->dbi[IX_INODE], &cur) != 0)
		return -EIO;
	rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	mdb_cursor_close(cur);
	if (rc == 0 && (k.mv_size != 16 ||
	    bm_be64dec(k.mv_data) >= st->next_ino ||
	    ~bm_be64dec((uint8_t *)k.mv_data + 8) > st->live_seq)) {
		bm_log(LOG_ERR, "%s: index counters below existing records "
		    "(damaged index: beemoctl rebuild-index)", st->dir);
		return -EBADMSG;
	}
	ix_meta_get(st, "quota_hard", &st->quota_hard);
	if (ix_meta_get(st, "live_same", &st->live_same) != 0)
		st->live_same = 0; /* older store: changed, as far as known */
	ix_size_update(st);
	/* Bytes stored: the sum of the packs' committed lengths, but for
	 * the packs a prune dropped. */
	if (mdb_cursor_open(st->txn, st->dbi[IX_PACK], &cur) != 0)
		return -EIO;
	st->packs.stored = 0;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 &&
	    v.mv_size == PACK_REC_LEN; rc = mdb_cursor_get(cur, &k, &v,
	    MDB_NEXT))
		if (((uint8_t *)v.mv_data)[0] != PACK_DROPPED)
			st->packs.stored += bm_be64dec((uint8_t *)v.mv_data +
			    1);
	mdb_cursor_close(cur);
	return 0;
}

/* Reap every orphan (ix_lock held; at open and close, when no kernel
 * holds one). */
static int
reap_orphans(store *st)
{
	MDB_cursor *cur;
	MDB_val k, v;
	uint64_t *inos = NULL, *n;
	size_t cnt = 0, i;
	int rc = 0;

	if (mdb_cursor_open(st->txn, st->dbi[IX_ORPHAN], &cur) != 0)
		return -EIO;
	while (mdb_cursor_get(cur, &k, &v, cnt ? MDB_NEXT : MDB_FIRST) == 0) {
		if (k.mv_size != 8)
			continue;
		if ((n = realloc(inos, (cnt + 1) * sizeof(*n))) == NULL) {
			rc = -ENOMEM;
			break;
		}
		inos = n;
		inos[cnt++] = bm_be64dec(k.mv_data);
	}
	mdb_cursor_close(cur);
	for (i = 0; rc == 0 && i < cnt; i++)
		rc = ns_reap_locked(st, inos[i]);
	free(inos);
	return rc;
}

static void
store_free(store *st)
{
	if (st == NULL)
		return;
	cq_stop(st);
	workers_stop(st);
	ix_close(st);
	cache_free(st);
	pack_fini(&st->packs);
	keys_fini(&st->keys);
	if (st->lockfd >= 0)
		close(st->lockfd);
	pthread_mutex_destroy(&st->ix_lock);
	pthread_mutex_destroy(&st->of_lock);
	free(st->of_tab);
	free(st->snapseq);
	free(st->jbatch);
	free(st->dir);
	free(st);
}

static int
take_lock(store *st)
{
	const struct timespec pause = {0, 10 * 1000 * 1000};
	char path[4096];
	int tries, rc;

	if ((rc = bm_path(path, sizeof(path), "%s/lock", st->dir)) != 0)
		return rc;
	st->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (st->lockfd < 0)
		return -errno;
	/* A read-only open holds the lock shared for the moment of its
	 * check of the packs (take_shared_lock): wait that out, briefly;
	 * another writer holds it for its whole session. */
	for (tries = 0; flock(st->lockfd, LOCK_EX | LOCK_NB) != 0; tries++) {
		if (errno != EWOULDBLOCK)
			return -errno;
		if (tries == 50)
			return BEEMO_ELOCKED;
		nanosleep(&pause, NULL);
	}
	return 0;
}

/*
 * A read-only open checks for an index older than the packs only when
 * no writer runs (a writer's open checked, and its packs grow beyond
 * our snapshot of the index): with the lock held shared, which keeps a
 * writer out until the check is done.  Returns whether to check; the
 * caller releases the lock (drop_shared_lock).
 */
static int
take_shared_lock(store *st)
{
	char path[4096];

	if (bm_path(path, sizeof(path), "%s/lock", st->dir) != 0)
		return 0;
	st->lockfd = open(path, O_RDONLY | O_CLOEXEC);
	if (st->lockfd < 0)
		return errno == ENOENT; /* never opened for writing */
	if (flock(st->lockfd, LOCK_SH | LOCK_NB) == 0)
		return 1;
	close(st->lockfd);
	st->lockfd = -1;
	return 0;
}

static void
drop_shared_lock(store *st)
{
	if (st->lockfd >= 0)
		close(st->lockfd);
	st->lockfd = -1;
}

static int
open_store(const char *dir, const keymgr_secret *s,
    const struct store_opts *opts, int creating, store **out)
{
	uint8_t appl[KEYMGR_ID_LEN], mach[KEYMGR_ID_LEN];
	unsigned format;
	store *st;
	int check, rc;

	if ((rc = store_id_read(dir, appl, mach, &format)) != 0)
		return rc;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return -ENOMEM;
	st->lockfd = -1;
	pthread_mutex_init(&st->ix_lock, NULL);
	pthread_mutex_init(&st->of_lock, NULL);
	clock_gettime(CLOCK_REALTIME, &st->opened);
	if (opts != NULL)
		st->opts = *opts;
	opts_defaults(&st->opts);
	st->secret = s;
	memcpy(st->appliance_id, appl, KEYMGR_ID_LEN);
	keymgr_secret_machine_id(s, st->machine_id);
	if ((st->dir = strdup(dir)) == NULL ||
	    (st->of_tab = calloc(4096, sizeof(*st->of_tab))) == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	if ((rc = pack_init(&st->packs, st->dir, st->machine_id, &st->keys,
	    st->opts.pack_size, st->opts.event, st->opts.event_ctx)) != 0)
		goto fail;
	if (memcmp(mach, st->machine_id, KEYMGR_ID_LEN) != 0) {
		rc = BEEMO_EFOREIGN;
		goto fail;
	}
	if (!st->opts.rdonly) {
		char path[4096];

		if ((rc = take_lock(st)) != 0)
			goto fail;
		/* A store rebuilt from an off-site copy has no staging. */
		if ((rc = bm_path(path, sizeof(path), "%s/staging", dir)) ||
		    (rc = bm_mkdir_p(path, 0700)) != 0)
			goto fail;
	}
	if ((rc = keys_init(&st->keys, s, format)) != 0)
		goto fail;
	check = !st->opts.rdonly || take_shared_lock(st);
	if ((rc = ix_open(st, "index", creating)) != 0)
		goto fail;
	if ((rc = cache_new(st, st->opts.cache_size)) != 0)
		goto fail;
	st->precommit = journal_precommit;
	st->committed = journal_postcommit;
	st->lost = journal_lostcommit;
	st->precommit_ctx = st;
	if ((rc = commit_start(st)) != 0)
		goto fail;
	ix_lock(st);
	rc = load_counters(st, creating);
	if (rc == 0 && check)
		rc = commit_check_rollback(st);
	if (st->opts.rdonly)
		drop_shared_lock(st);
	if (rc == 0 && !st->opts.rdonly) {
		if ((rc = commit_recover(st)) == 0) {
			/* Recovery replays the counter with the changes. */
			if (ix_meta_get(st, "live_same", &st->live_same) != 0)
				st->live_same = 0;
			/* Orphans are in no directory: reaping them changes
			 * nothing a snapshot would show. */
			st->live_quiet = 1;
			rc = reap_orphans(st);
			st->live_quiet = 0;
		}
		if (rc == 0)
			rc = commit_wait_locked(st);
	}
	ix_unlock(st);
	if (rc != 0)
		goto fail_stop;
	if (!st->opts.rdonly && ((rc = workers_start(st)) != 0 ||
	    (rc = cq_start(st)) != 0))
		goto fail_stop;
	*out = st;
	return 0;
fail_stop:
	ix_lock(st);
	st->ix_err = rc; /* no final commit of a half-open store */
	ix_unlock(st);
	commit_stop(st);
fail:
	store_free(st);
	return rc;
}

int
store_open(const char *dir, const keymgr_secret *s,
    const struct store_opts *opts, store **out)
{
	return open_store(dir, s, opts, 0, out);
}

int
store_create(const char *dir, const uint8_t appliance_id[KEYMGR_ID_LEN],
    const keymgr_secret *s)
{
	uint8_t mach[KEYMGR_ID_LEN];
	char path[4096];
	store *st;
	int rc;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return -errno;
	if ((rc = bm_path(path, sizeof(path), "%s/store.id", dir)) != 0)
		return rc;
	if (access(path, F_OK) == 0)
		return -EEXIST;
	if ((rc = bm_path(path, sizeof(path), "%s/packs", dir)) != 0 ||
	    (rc = bm_mkdir_p(path, 0700)) != 0)
		return rc;
	if ((rc = bm_path(path, sizeof(path), "%s/staging", dir)) != 0 ||
	    (rc = bm_mkdir_p(path, 0700)) != 0)
		return rc;
	keymgr_secret_machine_id(s, mach);
	if ((rc = id_file_write(dir, appliance_id, mach)) != 0)
		return rc;
	if ((rc = open_store(dir, s, NULL, 1, &st)) != 0)
		return rc;
	return store_close(st);
}

int
store_close(store *st)
{
	int rc;

	if (st == NULL)
		return 0;
	cq_stop(st); /* the queued commits first: they need the workers */
	workers_stop(st);
	if (!st->opts.rdonly) {
		ix_lock(st);
		if (reap_orphans(st) != 0)
			bm_log(LOG_WARNING, "%s: unlinked files not reaped; "
			    "they will be at the next open", st->dir);
		st->want_close = 1;
		ix_unlock(st);
	}
	rc = commit_stop(st);
	pack_writer_abort(&st->packs);
	store_free(st);
	return rc;
}

void
store_interrupt(store *st)
{
	__atomic_store_n(&st->interrupted, 1, __ATOMIC_RELAXED);
}

int
store_sync(store *st)
{
	cq_drain(st);
	return commit_wait(st);
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)f;
	if (flag == FTW_DP)
		return rmdir(path) != 0 ? -errno : 0;
	return unlink(path) != 0 && errno != ENOENT ? -errno : 0;
}

int
store_destroy(const char *dir)
{
	char path[4096];
	int fd, rc;

	if ((rc = bm_path(path, sizeof(path), "%s/lock", dir)) != 0)
		return rc;
	if ((fd = open(path, O_RDWR | O_CLOEXEC)) < 0)
		return errno == ENOENT && access(dir, F_OK) != 0 ? 0 : -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		close(fd);
		return BEEMO_ELOCKED;
	}
	/* The lock is held while the tree goes, its file last of all. */
	rc = nftw(dir, rm_entry, 32, FTW_DEPTH | FTW_PHYS);
	close(fd);
	if (rc != 0)
		return rc < 0 && rc != -1 ? rc : -errno;
	return bm_fsync_dir(dir);
}
