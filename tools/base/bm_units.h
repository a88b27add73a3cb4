/*
 * bm_units.h -- numbers with units as people write them: plain numbers,
 * sizes and durations, and sizes shown back (base library, see
 * bm_err.h).  The configuration file (bm_conf.h) and the command lines
 * read their values with these.  Thread-safe; no state.
 */
#ifndef BEEMO_BM_UNITS_H
#define BEEMO_BM_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* bm_parse_u64 -- parse a decimal number (digits only, below 2^64).
 * Returns 0 or -EINVAL. */
int bm_parse_u64(const char *s, uint64_t *out);

/* bm_parse_size -- parse a size as people write it into bytes: a
 * decimal number, with a fraction of at most six digits when a unit
 * follows ("1.5G"), then a unit: none or "B" for bytes; "K", "M", "G",
 * "T" alone or followed by "iB" for powers of 1024 ("10M" = "10MiB" =
 * 10485760); followed by "B" for powers of 1000 ("10MB" = 10^7).  The
 * letter may be lower case ("512k"), "iB" and "B" may not; no blanks.
 * A fraction is rounded down to whole bytes.
 * Returns 0 or -EINVAL (also on overflow). */
int bm_parse_size(const char *s, uint64_t *out);

/* bm_parse_duration -- parse a duration into seconds: a plain number of
 * seconds ("90"), or parts of digits and a unit letter -- "w" (week),
 * "d", "h", "m", "s" -- in that order, each at most once, with no blanks:
 * "90s", "45m", "1h30m", "2d12h", "1w".  Upper-case units are refused.
 * Returns 0 or -EINVAL (also on overflow). */
int bm_parse_duration(const char *s, uint64_t *out);

/* bm_human -- format @bytes as "512 B" or "1.5 GiB" into @buf of @size;
 * returns @buf. */
char *bm_human(char *buf, size_t size, uint64_t bytes);

#endif /* BEEMO_BM_UNITS_H */
