/*
 * restore_sel.h -- what `beemoctl restore` restores, and its hard links.
 *
 * A restore names a path inside a snapshot, read by the rules of every
 * verb that looks into one (ctl_tree.h).  The walk asks rs_match() of
 * every entry, by its path relative to the restored root ("docs/a.txt"),
 * whether a --include or --exclude pattern takes it:
 * a pattern holding a '/' is matched against that whole path (anchored at
 * the restored root, a leading '/' allowed), any other pattern against
 * the entry's name alone, so that "*.tmp" takes such files at any depth.
 * Matching is fnmatch(3); what an excluded directory holds is excluded,
 * what an included directory holds is included.
 *
 * The hard-link table maps an inode of the snapshot to the first path it
 * was restored at, so that its other names become links to it: an
 * open-addressing hash table, O(1) per inode whatever the number of
 * hard-linked files.  None of this keeps global state; a table belongs
 * to one thread.
 */
#ifndef BEEMO_RESTORE_SEL_H
#define BEEMO_RESTORE_SEL_H

#include <stddef.h>
#include <stdint.h>

/* rs_match -- 1 when @pattern (see the top) takes the entry at @rel
 * (relative to the restored root, not empty), else 0. */
int rs_match(const char *pattern, const char *rel);

/* rs_match_any -- 1 when one of the @n @patterns takes @rel. */
int rs_match_any(char *const *patterns, size_t n, const char *rel);

/* --overwrite: what becomes of an entry that exists at the target. */
enum rs_overwrite {
	RS_NEVER,      /* it stays (the default) */
	RS_IF_CHANGED, /* replaced when type, size or time differ */
	RS_ALWAYS,     /* replaced */
};

/* restore's own options, which the shared parser does not know. */
struct rs_opts {
	char **include, **exclude; /* the patterns, in argv */
	size_t ninclude, nexclude;
	enum rs_overwrite overwrite;
	int argc;    /* the arguments left for ctl_parse() */
	char **argv; /* (owned, NULL-terminated; strings in argv) */
};

/*
 * rs_opts_take -- fill @o from --include PATTERN, --exclude PATTERN
 * (repeatable; also --include=PATTERN) and --overwrite [MODE] (MODE
 * never, if-changed or always, also --overwrite=MODE; a bare --overwrite
 * not followed by a MODE is "always") in @argv (@argc, argv[0] the
 * verb), leaving the other arguments in o->argv in their order.  The
 * values of --target, --user and the --password-* options are passed
 * over; nothing after "--" is taken.  Returns 0, or -EINVAL with a
 * message in @err (@errsize bytes), or -ENOMEM; free @o with
 * rs_opts_free() in every case.
 */
int rs_opts_take(int argc, char **argv, struct rs_opts *o, char *err,
    size_t errsize);
void rs_opts_free(struct rs_opts *o);

struct rs_link;

/* The hard-link table; zero it before use (an empty table). */
struct rs_links {
	struct rs_link *slots;
	size_t cap, n;
};

/* rs_links_find -- the path inode @ino was first restored at (owned by
 * the table), or NULL. */
const char *rs_links_find(const struct rs_links *t, uint64_t ino);

/* rs_links_add -- remember that @ino was restored at @path (copied).
 * Returns 0, or -ENOMEM (the table is unchanged). */
int rs_links_add(struct rs_links *t, uint64_t ino, const char *path);

/* rs_links_free -- free the table's memory; it is empty again after. */
void rs_links_free(struct rs_links *t);

#endif /* BEEMO_RESTORE_SEL_H */
