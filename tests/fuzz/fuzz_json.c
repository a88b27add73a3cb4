/*
 * fuzz_json.c -- libFuzzer target for the JSON reader, sjson_parse().
 *
 * The reader parses the state, status and manifest files that beemo-sync
 * reads back, some of them from an untrusted remote.  On any input it
 * must return 0, BEEMO_EFORMAT or -ENOMEM, never read past @len (the
 * input is not NUL-terminated, so ASan sees such a read), overflow
 * (UBSan), recurse or allocate without bound.  A parsed tree is walked
 * whole and queried the way its callers do, then freed (LeakSanitizer
 * sees what sjson_free() forgets).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bm_err.h"
#include "bm_json.h"

/* The deepest nesting the reader accepts (bm_json.h); a tree deeper than
 * this was accepted in error. */
#define MAX_DEPTH SJSON_MAX_DEPTH

static void
walk(const struct sjson *v, int depth, int in_obj)
{
	uint64_t u;
	size_t i;

	if (depth > MAX_DEPTH + 1)
		abort();
	if ((v->key != NULL) != in_obj)
		abort();
	if (v->key != NULL)
		(void)strlen(v->key);
	switch (v->type) {
	case SJSON_STR:
		if (v->str == NULL)
			abort();
		(void)strlen(v->str);
		break;
	case SJSON_ARR:
	case SJSON_OBJ:
		if (v->nkids > 0 && v->kids == NULL)
			abort();
		for (i = 0; i < v->nkids; i++)
			walk(&v->kids[i], depth + 1, v->type == SJSON_OBJ);
		break;
	case SJSON_NULL:
	case SJSON_BOOL:
	case SJSON_NUM:
		break;
	default:
		abort();
	}
	/* The queries of the readers of state and status files. */
	(void)sjson_get(v, "targets", SJSON_ARR);
	(void)sjson_str(v, "format");
	(void)sjson_u64(v, "version", &u);
	(void)sjson_num(v, "size");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sjson *root = NULL;
	int rc;

	rc = sjson_parse((const char *)data, size, &root);
	if (rc == 0) {
		if (root == NULL)
			abort();
		walk(root, 0, 0);
		sjson_free(root);
	} else if (rc != BEEMO_EFORMAT && rc != -ENOMEM) {
		abort();
	}
	return 0;
}
