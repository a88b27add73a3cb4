/*
 * bm_tmpdir.h -- a private temporary directory in memory (base library).
 *
 * Programs running as root must never use a name another user can
 * predict in a directory another user can write: a planted directory or
 * symbolic link would receive the program's files (plaintext) or, at
 * cleanup, make it delete the files it points to.  A private directory
 * here is made in three steps:
 *
 *   1. a base directory on a memory file system (tmpfs, so that nothing
 *      written reaches a disk): /run, where only root creates entries,
 *      else /dev/shm;
 *   2. in it, the parent BASE/beemo: created mode 0700 if missing, and
 *      used only if it is a directory (opened with O_NOFOLLOW |
 *      O_DIRECTORY, never through a symbolic link) owned by our
 *      effective uid with no access for group or others.  If another
 *      user planted that name, it is left alone and a fresh parent
 *      BASE/beemo-XXXXXX is made with mkdtemp(3) instead, and removed
 *      with the directory;
 *   3. in the parent, the directory itself, PREFIX-PID-XXXXXX, made by
 *      mkdtemp(3) (mode 0700, a random name, never an existing entry)
 *      and opened through the parent's descriptor.
 *
 * Directories left by a process that died without cleaning up
 * (PREFIX-PID-* whose PID no longer runs) are removed when the next one
 * is made.  Removal works through directory descriptors (unlinkat(2),
 * openat(2) with O_NOFOLLOW): a symbolic link inside is removed, never
 * followed, and the path is never resolved again.
 *
 * bm_dir_trusted() applies the same rule to directories a user names.
 *
 * The directory's path is for libraries that only take a path
 * (libclamav): the parent cannot be renamed by anyone else (root's
 * /run, or a sticky /dev/shm and a parent owned by us), so the path keeps
 * naming the same directory for as long as it exists.
 */
#ifndef BEEMO_BM_TMPDIR_H
#define BEEMO_BM_TMPDIR_H

#include <limits.h>

struct bm_tmpdir {
	int base_fd;           /* the base, held when the parent is ours */
	int parent_fd;         /* the private parent, O_DIRECTORY */
	int fd;                /* the directory itself, O_DIRECTORY */
	int own_parent;        /* the parent was made by mkdtemp: remove it */
	char name[64];         /* the directory's name in the parent */
	char parent[PATH_MAX]; /* the parent's path */
	char path[PATH_MAX];   /* the directory's path */
};

/*
 * bm_tmpdir_make -- make a private directory as described above.
 * @prefix: a short name for the directory ("scan"); letters, digits and
 *   '-' only.
 * @td: filled in; release with bm_tmpdir_remove().
 * Returns 0, -ENOENT when no base is a memory file system, -EINVAL for
 * a bad @prefix, or the negative errno of the last step that failed.
 * A refused planted parent is logged (bm_log, LOG_WARNING) with its path.
 */
int bm_tmpdir_make(const char *prefix, struct bm_tmpdir *td);

/*
 * bm_tmpdir_remove -- remove the directory made by bm_tmpdir_make()
 * with everything in it (subdirectories too), through descriptors, and
 * the parent if it was made for it.  @td is then empty (a second call is
 * a no-op, as is a call on a zeroed struct whose fds are -1).
 */
void bm_tmpdir_remove(struct bm_tmpdir *td);

/* bm_tmpdir_init -- an empty @td (fds -1), safe to pass to _remove. */
void bm_tmpdir_init(struct bm_tmpdir *td);

/*
 * bm_dir_trusted -- may a privileged program write plaintext by name
 * under the existing directory @path (a restore target, a store being
 * recovered)?  Only if no other user can write in it, nor replace it or
 * any directory on the way to it.  Each component of @path, and of the
 * path it resolves to (realpath(3)), is looked at with lstat(2): every
 * one must belong to root or to the effective uid; a directory that
 * group or others may write must be sticky (like /tmp), except the last
 * one, which nobody else may write at all.
 * @why: receives, on a refusal, the component and the reason, for the
 *   caller's message (@whylen bytes, NUL-terminated).
 * Returns 0, -EPERM (refused), or the negative errno of lstat/realpath
 * (with @why filled too).  Not atomic: it tells whether anybody else
 * could change the path, which is what makes the later use safe.
 */
int bm_dir_trusted(const char *path, char *why, size_t whylen);

#endif /* BEEMO_BM_TMPDIR_H */
