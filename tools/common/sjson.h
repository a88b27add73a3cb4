/*
 * sjson.h -- a small, strict JSON reader.
 *
 * Design.  sjson_parse() turns a whole text into a tree of values that
 * the caller walks with the typed getters below.  It is made for input
 * that may be hostile (manifests from a remote, files another program
 * wrote): it bounds nesting, refuses a NUL inside a string and trailing
 * garbage, never reads past the given length, and keeps numbers as
 * unsigned 64-bit integers only when they are exactly that.  Writing
 * JSON is bm_json (bm.h).  No locking: a tree belongs to one thread.
 */
#ifndef BEEMO_SJSON_H
#define BEEMO_SJSON_H

#include <stddef.h>
#include <stdint.h>

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
 * sjson_parse -- parse RFC 8259 JSON (nesting at most 16 deep; strings
 * with a NUL are refused).  @out receives the root; free with
 * sjson_free().  Returns 0, BEEMO_EFORMAT or -ENOMEM.
 */
int sjson_parse(const char *text, size_t len, struct sjson **out);
void sjson_free(struct sjson *v);

/* Member @key of object @o of the given type, or NULL/-EINVAL. */
const struct sjson *sjson_get(const struct sjson *o, const char *key,
    enum sjson_type type);
const char *sjson_str(const struct sjson *o, const char *key);
int sjson_u64(const struct sjson *o, const char *key, uint64_t *out);
/* sjson_num -- the unsigned number @key of @o, 0 if absent or not one. */
uint64_t sjson_num(const struct sjson *o, const char *key);

#endif /* BEEMO_SJSON_H */
