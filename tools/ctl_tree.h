/*
 * ctl_tree.h -- naming and describing a path inside a snapshot's tree,
 * for every verb that looks into a snapshot without mounting it (ls,
 * find, dump, diff, export, restore): one set of rules for all of them.
 *
 * A PATH argument is read as a path of the machine's tree, whatever the
 * operator typed: a leading "/" or "./", duplicate slashes, a trailing
 * slash, "." and ".." are resolved as text, inside the tree, before
 * anything is looked up ("docs/../docs/a.txt" is "/docs/a.txt").  ".."
 * above the root is refused rather than silently clamped, so that a path
 * that means something else elsewhere is never taken for another; the
 * verbs make it a usage error (exit status 2).  Symbolic links inside
 * the snapshot are never followed: a link on the way is "not a
 * directory".  The normal form is "/" for the root, else "/a/b"; a verb
 * that names entries below it as "PATH/NAME" takes "" for the root.
 *
 * The functions keep no state and take the store handle of an open
 * session (ctl_store.h), used by one thread.
 */
#ifndef BEEMO_CTL_TREE_H
#define BEEMO_CTL_TREE_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/*
 * ctl_tree_norm -- the normal form of the path @in into @out (@size
 * bytes): "/" for the root, else "/a/b" (no "." or "..", no duplicate or
 * trailing slash).  Returns 0; -EINVAL when ".." would go above the
 * root; -ENAMETOOLONG when the result does not fit.
 */
int ctl_tree_norm(const char *in, char *out, size_t size);

/*
 * ctl_tree_resolve -- the attributes of the node at the normal path
 * @path (ctl_tree_norm) of snapshot @id of @st, into @a.  Returns 0;
 * -ENOENT (a component missing), -ENOTDIR (a component is not a
 * directory, a symbolic link included), or the store's error.
 */
int ctl_tree_resolve(store *st, uint32_t id, const char *path,
    struct store_attr *a);

/*
 * ctl_tree_lookup -- ctl_tree_norm() then ctl_tree_resolve(): the node
 * the PATH argument @in names in snapshot @id of @st, into @a.
 * @norm: receives the normal form of @in (@size bytes), set whenever
 *   the return is not -EINVAL or -ENAMETOOLONG, so that a caller can
 *   name what is missing.
 * Returns 0; -EINVAL (".." above the root: nothing looked up);
 * -ENAMETOOLONG (@norm too small); or an error of ctl_tree_resolve().
 */
int ctl_tree_lookup(store *st, uint32_t id, const char *in,
    struct store_attr *a, char *norm, size_t size);

/*
 * ctl_tree_mode -- the mode @mode as ls(1) prints it, "drwxr-xr-x" with
 * set-id and sticky bits, into @buf (at least 11 bytes); returns @buf.
 */
char *ctl_tree_mode(char *buf, uint32_t mode);

/* ctl_tree_type -- the type of @mode as a word for JSON: "file", "dir",
 * "symlink", "fifo", "socket", "char", "block" (a static string). */
const char *ctl_tree_type(uint32_t mode);

/*
 * ctl_tree_time -- the time @t in the local time zone into @buf (@size
 * bytes, at least 32): with @rfc3339, "2026-12-04T14:20:05+01:00" (RFC
 * 3339 with the zone's offset), else "2026-12-04 14:20" for people.
 * Returns @buf.
 */
char *ctl_tree_time(char *buf, size_t size, const struct timespec *t,
    int rfc3339);

#endif /* BEEMO_CTL_TREE_H */
