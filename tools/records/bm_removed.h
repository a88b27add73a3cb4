/*
 * bm_removed.h -- the removed area: machines removed by the
 * administrator and waiting out their grace period (records library).
 *
 * `beemoctl machine remove NAME` does not erase at once.  It moves the
 * machine's key file and its store directory into
 *
 *   STORE/machines/.removed/NAME.STAMP/NAME.key   the key file
 *   STORE/machines/.removed/NAME.STAMP/store/     STORE/machines/NAME
 *
 * (STAMP: "YYYYMMDDTHHMMSSZ", the time of removal, UTC).  From then on
 * the machine is unusable: no principal can unlock it (keymgr finds no
 * key file), no session opens it, beemo-sync no longer pushes it (a name
 * starting with '.' is no machine).  Within the grace period ([store]
 * remove_grace, default BM_REMOVED_GRACE) `beemoctl machine restore
 * NAME` moves both back; after it, `beemo-sync maintenance` frees the
 * space with bm_removed_free(), and `beemoctl machine remove NAME --now`
 * does so at once.  While NAME is in the area, `machine add NAME` is
 * refused, so that a restore never meets a new machine of the same name.
 *
 * The grace period is not a security boundary: whoever removed the
 * machine typed the administrator's password and could have erased it
 * at once.  It protects against a mistake, and a configuration change
 * (which needs root) shortens it for every pending removal.
 *
 * Nothing here locks: the administrator's operations serialise on the
 * key directory's lock (keymgr_machine_set_aside), and maintenance runs
 * one at a time.  Functions return 0 or a negative errno.
 */
#ifndef BEEMO_BM_REMOVED_H
#define BEEMO_BM_REMOVED_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#define BM_REMOVED_DIR ".removed"             /* under STORE/machines */
#define BM_REMOVED_GRACE (7ULL * 24 * 3600)   /* seconds */

/* One machine in the removed area. */
struct bm_removed {
	char name[65];          /* the machine's name */
	uint64_t removed_ns;    /* when it was removed (whole seconds) */
	char dir[PATH_MAX];     /* STORE/machines/.removed/NAME.STAMP */
	char store[PATH_MAX];   /* dir/store: the store directory */
	char key[PATH_MAX];     /* dir/NAME.key: the key file */
};

/*
 * bm_removed_list -- every entry of the removed area of @store, sorted
 * by name then time; entries whose directory name is not NAME.STAMP are
 * skipped.  @out: receives a malloc'd array of @n entries (free()).
 * Returns 0 (none when there is no area), -ENOMEM or an error of
 * reading the directory.
 */
int bm_removed_list(const char *store, struct bm_removed **out, size_t *n);

/*
 * bm_removed_find -- the newest entry for machine @name.
 * Returns 0, -ENOENT (none), or an error of bm_removed_list().
 */
int bm_removed_find(const char *store, const char *name,
    struct bm_removed *out);

/*
 * bm_removed_new -- create the directory of a new entry for @name
 * removed at @now_ns (mode 0700, the area too) and fill @out.
 * Returns 0, -EEXIST (a removal of @name in the same second), -EINVAL
 * (bad name), or a negative errno.
 */
int bm_removed_new(const char *store, const char *name, uint64_t now_ns,
    struct bm_removed *out);

/*
 * bm_removed_frees_at -- when the entry @e is freed with a grace of
 * @grace_s seconds (ns).
 */
uint64_t bm_removed_frees_at(const struct bm_removed *e, uint64_t grace_s);

/* bm_removed_bytes -- the disk space (allocated blocks) of everything
 * under @path; 0 when it does not exist.  Not thread-safe. */
uint64_t bm_removed_bytes(const char *path);

/*
 * bm_removed_free -- erase the entry @e: @destroy(e->store) (the store
 * library's store_destroy, given by the caller since this library lies
 * below it), then the key file, then the directory.  @freed receives
 * the disk space the entry held.  Returns 0 or the first error (the
 * entry then stays, and a new call completes it).
 */
int bm_removed_free(const struct bm_removed *e,
    int (*destroy)(const char *dir), uint64_t *freed);

#endif /* BEEMO_BM_REMOVED_H */
