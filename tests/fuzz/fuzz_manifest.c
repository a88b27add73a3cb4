/*
 * fuzz_manifest.c -- libFuzzer target for sync_manifest_parse(), the
 * reader of the off-site manifests that recovery and verification
 * download from a storage center, which may be hostile.
 *
 * On any input the parser must return 0, BEEMO_EFORMAT, BEEMO_EVERSION
 * or -ENOMEM and never read past @len (the input is not NUL-terminated),
 * overflow or leak.  What it accepts must hold what its callers rely on:
 * an appliance id of 32 lowercase hex digits and, for every object, a
 * path that sync_path_classify() accepts again and a SHA-256.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bm_err.h"
#include "sync.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char appliance[2 * KEYMGR_ID_LEN + 1], local[PATH_MAX];
	struct sync_objs objs;
	enum sync_kind kind;
	uint64_t created;
	size_t i;
	int rc;

	rc = sync_manifest_parse((const char *)data, size, &objs, appliance,
	    &created);
	if (rc == BEEMO_EFORMAT || rc == BEEMO_EVERSION || rc == -ENOMEM) {
		if (objs.n != 0 || objs.v != NULL)
			abort();
		return 0;
	}
	if (rc != 0)
		abort();
	if (strlen(appliance) != 2 * KEYMGR_ID_LEN ||
	    strspn(appliance, "0123456789abcdef") != 2 * KEYMGR_ID_LEN)
		abort();
	for (i = 0; i < objs.n; i++) {
		const struct sync_obj *o = &objs.v[i];

		if (o->path == NULL || !o->has_sha)
			abort();
		rc = sync_path_classify(o->path, &kind, local, sizeof(local));
		if (rc != 0 || kind != o->kind)
			abort();
	}
	sync_objs_free(&objs);
	return 0;
}
