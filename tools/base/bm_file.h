/*
 * bm_file.h -- files: durable writes, the bounded reader, directories
 * and paths (base library, see bm_err.h).
 *
 * Every file Beemo writes whole (key files, configuration-like state,
 * sealed reports, status files) goes through bm_write_file_atomic(), and
 * every file it reads whole through bm_read_file(), which refuses a file
 * larger than its caller's limit before allocating anything: input that
 * may be hostile or damaged never makes a program allocate without bound.
 * None of these functions keeps state; all are thread-safe.
 */
#ifndef BEEMO_BM_FILE_H
#define BEEMO_BM_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * bm_write_file_atomic -- replace @path with @len bytes of @buf durably.
 * Writes "path.tmp.XXXXXX" (a random name, mkostemp(3)) with @mode,
 * fsyncs it, renames it over @path and fsyncs the directory: after a
 * crash at any point @path holds either its old or its new content.
 * With @exclusive nonzero the call fails with -EEXIST when @path already
 * exists (creation), and the file is written unnamed (O_TMPFILE) and
 * linked in place once whole, so that a writer killed at any point
 * leaves no temporary behind (a named one where O_TMPFILE is missing).
 * Returns 0 or a negative errno; the temporary file never survives an
 * error return.
 */
int bm_write_file_atomic(const char *path, const void *buf, size_t len,
    mode_t mode, int exclusive);

/*
 * bm_read_file -- read all of the regular file @path into a new buffer.
 * @maxlen: refuse larger files with -EFBIG (protects against hostile
 *   or corrupt input); nothing is allocated then.
 * @out, @outlen: receive a malloc'd buffer (caller frees; NUL-terminated
 *   one byte past @outlen for convenience) and its length.
 * Returns 0, -EFBIG, -EINVAL (not a regular file), -ENOMEM, or a
 * negative errno from open/read.
 */
int bm_read_file(const char *path, size_t maxlen, uint8_t **out,
    size_t *outlen);

/* bm_fsync_dir -- fsync the directory containing @path (or @path if it is
 * a directory).  Returns 0 or a negative errno. */
int bm_fsync_dir(const char *path);

/* bm_mkdir_p -- create @path and missing parents with @mode.  Existing
 * directories are fine.  Returns 0 or a negative errno. */
int bm_mkdir_p(const char *path, mode_t mode);

/* bm_path -- snprintf into @buf of @size; returns 0 or -ENAMETOOLONG. */
int bm_path(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * bm_list_dir -- the names in directory @dir that @ok accepts (all when
 * NULL; "." and ".." never), sorted by strcmp.  A missing @dir gives
 * none.  @out receives a malloc'd array of @n malloc'd names; free with
 * bm_names_free().  Returns 0, -ENOMEM or a negative errno of opendir.
 */
int bm_list_dir(const char *dir, int (*ok)(const char *), char ***out,
    size_t *n);

/* bm_names_free -- free @n names of @names and the array.  NULL is a
 * no-op. */
void bm_names_free(char **names, size_t n);

#endif /* BEEMO_BM_FILE_H */
