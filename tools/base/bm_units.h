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

/* bm_parse_size -- parse "123", "123B", "10K", "5M", "2G", "1T" (powers
 * of 1024; the unit letter in either case, no blanks) into bytes.
 * Returns 0 or -EINVAL (also on overflow). */
int bm_parse_size(const char *s, uint64_t *out);

/* bm_parse_duration -- parse "90", "90s", "45m", "3h", "2d" into seconds
 * (decimal digits, at most one unit letter, no blanks, no overflow).
 * Returns 0 or -EINVAL. */
int bm_parse_duration(const char *s, uint64_t *out);

/* bm_human -- format @bytes as "512 B" or "1.5 GiB" into @buf of @size;
 * returns @buf. */
char *bm_human(char *buf, size_t size, uint64_t bytes);

#endif /* BEEMO_BM_UNITS_H */
