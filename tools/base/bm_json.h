/*
 * bm_json.h -- JSON: a streaming writer and a strict reader (base
 * library, see bm_err.h).
 *
 * The writer prints --json listings and writes every JSON file Beemo
 * makes (status files, manifests, the sync state, reports).  The reader
 * reads them back, and also what a remote may have altered (an off-site
 * manifest), so it assumes hostile input: it never reads past the length
 * it is given, bounds nesting, refuses a NUL inside a string, invalid
 * UTF-8 and trailing garbage, and fails with BEEMO_EFORMAT rather than
 * guess.  The reader's names keep the prefix "sjson" (strict JSON).
 *
 * Neither keeps global state; a writer or a parsed value belongs to one
 * thread at a time.
 */
#ifndef BEEMO_BM_JSON_H
#define BEEMO_BM_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- the writer ------------------------------------------------------ */

/*
 * A minimal streaming JSON writer.  Calls must nest properly, at most 31
 * deep; commas are inserted automatically.  @key names the member inside
 * an object and must be NULL inside an array or at the top.  Errors of
 * the stream are the caller's to check (ferror, fclose).
 *
 * Strings.  The output is valid JSON (RFC 8259) and valid UTF-8 for
 * every byte string, and loses nothing: a string that is valid UTF-8
 * (strictly: bm_utf8_len) is written as it is, with '"', '\\' and
 * control characters escaped as JSON requires.  Any other string (a
 * client's file name may hold any byte) is written as its escape
 * (bm_esc.h: "\\xff" for the byte 0xff, "\\\\" for a backslash), and
 * the member is followed by a member "KEY_b64" with the base64 (RFC
 * 4648, padded) of its exact bytes; a reader takes KEY_b64 when present,
 * else KEY.  Inside an array, bm_json_strs() does the same with a second
 * array.
 */
typedef struct bm_json {
	FILE *f;
	int depth;
	unsigned char first[32]; /* per depth: no element written yet */
} bm_json;

/*
 * bm_json_head -- begin the top-level object of a --json output or a
 * JSON file and write its two first members, "format": @format (the
 * kind of document, "beemo-ls", "beemo-check"...) and "version":
 * @version (its schema version, bumped when a member changes meaning or
 * goes away; new members may appear without a bump).  Every JSON
 * document Beemo prints has this shape: one object per kind, documented
 * in the program's man page.  The caller ends it with bm_json_end_obj().
 */
void bm_json_head(bm_json *j, const char *format, unsigned version);

/* bm_json_init -- start writing one value to @f. */
void bm_json_init(bm_json *j, FILE *f);
void bm_json_begin_obj(bm_json *j, const char *key);
void bm_json_end_obj(bm_json *j);
void bm_json_begin_arr(bm_json *j, const char *key);
void bm_json_end_arr(bm_json *j);
/* bm_json_str -- the string @val (see "Strings" above: with a member
 * "@key_b64" after it when @val is not valid UTF-8 and @key is not
 * NULL); NULL writes null. */
void bm_json_str(bm_json *j, const char *key, const char *val);
/* bm_json_strs -- the array @key of the @n strings @vals (none NULL),
 * followed, when one of them is not valid UTF-8, by the array "@key_b64"
 * of as many elements: null where the string is valid UTF-8, else the
 * base64 of its bytes.  @key must not be NULL. */
void bm_json_strs(bm_json *j, const char *key, const char *const *vals,
    size_t n);
void bm_json_u64(bm_json *j, const char *key, uint64_t val);
void bm_json_i64(bm_json *j, const char *key, int64_t val);
void bm_json_bool(bm_json *j, const char *key, int val);
void bm_json_null(bm_json *j, const char *key);
/* bm_json_time -- a CLOCK_REALTIME ns time as an ISO 8601 string (null
 * for 0). */
void bm_json_time(bm_json *j, const char *key, uint64_t ns);

/* ---- the reader ------------------------------------------------------ */

/* Nesting deeper than this is refused. */
#define SJSON_MAX_DEPTH 16

enum sjson_type {
	SJSON_NULL,
	SJSON_BOOL,
	SJSON_NUM,
	SJSON_STR,
	SJSON_ARR,
	SJSON_OBJ,
};

/* A parsed value.  Object members are the kids, each with its key. */
struct sjson {
	enum sjson_type type;
	char *key;             /* member name inside an object, else NULL */
	char *str;             /* SJSON_STR (NUL-terminated, no NUL inside) */
	uint64_t u64;          /* SJSON_NUM when is_u64 */
	int is_u64;            /* a non-negative integer below 2^64 */
	int b;                 /* SJSON_BOOL */
	struct sjson *kids;
	size_t nkids;
};

/*
 * sjson_parse -- parse one RFC 8259 JSON value of @len bytes at @text
 * (which need not be NUL-terminated), with nothing but blanks after it.
 * Numbers that are not non-negative integers below 2^64 are accepted
 * with is_u64 zero (their value is not kept).
 * @out receives the root; free with sjson_free().
 * Returns 0, BEEMO_EFORMAT or -ENOMEM; nothing is allocated on error.
 */
int sjson_parse(const char *text, size_t len, struct sjson **out);

/* sjson_free -- free @v and everything below it.  NULL is a no-op. */
void sjson_free(struct sjson *v);

/* sjson_get -- member @key of object @o if it has @type, else NULL (also
 * when @o is NULL or not an object).  Of duplicate keys the last wins. */
const struct sjson *sjson_get(const struct sjson *o, const char *key,
    enum sjson_type type);
/* sjson_str -- the string member @key of @o, or NULL. */
const char *sjson_str(const struct sjson *o, const char *key);
/* sjson_u64 -- the unsigned number @key of @o into @out; 0 or -EINVAL. */
int sjson_u64(const struct sjson *o, const char *key, uint64_t *out);
/* sjson_num -- the unsigned number @key of @o, 0 if absent or not one. */
uint64_t sjson_num(const struct sjson *o, const char *key);

#endif /* BEEMO_BM_JSON_H */
