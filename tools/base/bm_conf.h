/*
 * bm_conf.h -- the configuration file, beemo.conf(5) (base library, see
 * bm_err.h).
 *
 * The file is INI-like:
 *
 *   # comment
 *   store = /var/lib/beemo
 *   [scan]               # a comment after a blank
 *   signatures = /var/lib/clamav
 *   [target center-a]
 *   host = "192.0.2.10"  # quoted: \" and \\ inside
 *
 * A value is the rest of the line up to a '#' that follows a blank,
 * trimmed, or the text between double quotes; a UTF-8 byte order mark
 * at the start of the file is skipped.
 * Section names are one word, optionally followed by one name
 * ("target NAME", "machine NAME").  Keys are checked against the table of
 * known keys in bm_conf.c: an unknown section or key, a missing '=', or a
 * value of the wrong type is an error that names the line.  A parsed
 * configuration is never changed by the getters, so any number of threads
 * may call them at once; bm_conf_names() is the exception.
 */
#ifndef BEEMO_BM_CONF_H
#define BEEMO_BM_CONF_H

#include <stddef.h>
#include <stdint.h>

typedef struct bm_conf bm_conf;

/* Default path, overridden by $BEEMO_CONFIG and by -c/--config. */
#define BM_CONF_DEFAULT BEEMO_SYSCONFDIR "/beemo/beemo.conf"

/* Default store directory when the configuration names none. */
#define BM_STORE_DEFAULT "/var/lib/beemo"

/*
 * bm_conf_load -- parse the configuration file.
 * @path: file to read; NULL means $BEEMO_CONFIG or BM_CONF_DEFAULT.
 *   A missing file is not an error when @path is NULL and the default
 *   file does not exist (every key then has its default).
 * @out: receives the parsed configuration (free with bm_conf_free).
 * @err, @errlen: receive "FILE:LINE: reason" on BEEMO_ECONFIG.
 * Returns 0, BEEMO_ECONFIG, or a negative errno reading the file.
 */
int bm_conf_load(const char *path, bm_conf **out, char *err, size_t errlen);

/* bm_conf_free -- free @conf and every string it returned.  NULL is a
 * no-op. */
void bm_conf_free(bm_conf *conf);

/* bm_conf_empty -- a configuration with no keys set (every default), or
 * NULL when out of memory; free with bm_conf_free. */
bm_conf *bm_conf_empty(void);

/* bm_conf_path -- the file that was read, or NULL if none was. */
const char *bm_conf_path(const bm_conf *conf);

/*
 * bm_conf_get -- value of @key in section @section (NULL or "" for the
 * top, "scan", "target" with @name "center-a", ...), or @def when unset.
 * The returned string lives as long as @conf.
 */
const char *bm_conf_get(const bm_conf *conf, const char *section,
    const char *name, const char *key, const char *def);

/* Typed getters; values were type-checked at load, so these cannot fail.
 * bm_conf_get_size -- a size ("10M", see bm_parse_size);
 * bm_conf_get_bool -- yes/no, true/false, on/off or 1/0. */
uint64_t bm_conf_get_size(const bm_conf *conf, const char *section,
    const char *name, const char *key, uint64_t def);
int bm_conf_get_bool(const bm_conf *conf, const char *section,
    const char *name, const char *key, int def);
/* bm_conf_get_u64 -- a plain number, or a duration ("90s", "45m", "3h",
 * "2d") returned in seconds. */
uint64_t bm_conf_get_u64(const bm_conf *conf, const char *section,
    const char *name, const char *key, uint64_t def);

/*
 * bm_conf_names -- the names of every section of kind @section ("target",
 * "machine") in file order.  @out receives a pointer to an internal array
 * of @n strings, valid until the next call for @conf or bm_conf_free()
 * (@out is NULL and @n 0 when out of memory).  Not thread-safe.
 */
void bm_conf_names(const bm_conf *conf, const char *section,
    const char *const **out, size_t *n);

#endif /* BEEMO_BM_CONF_H */
