/*
 * fuzz_manifest.c -- libFuzzer target for sync_manifest_parse(), the
 * reader of the off-site manifests that recovery and verification
 * download from a storage center, which may be hostile.
 *
 * On any input the parser must return 0, BEEMO_EFORMAT, BEEMO_EVERSION
 * or -ENOMEM and never read past @len (the input is not NUL-terminated),
 * overflow or leak.  What it accepts must hold what its callers rely on:
 * version 1 or 2, an appliance id of 32 lowercase hex digits, for every
 * object a path that sync_path_classify() accepts again and a SHA-256,
 * and (version 2) a nonzero counter and superseded paths that are key
 * files or sealed configurations.  The mac check runs on every input
 * too: under a fixed key it must answer without reading past @len, and
 * accept nothing that the fuzzer could not have computed (it cannot).
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
	static const uint8_t key[KEYMGR_OFFSITE_LEN] = {1, 2, 3};
	char local[PATH_MAX];
	struct sync_manifest m;
	const struct sync_objs *objs = &m.objs;
	enum sync_kind kind;
	size_t i;
	int rc;

	rc = sync_manifest_authentic((const char *)data, size, key);
	if (rc != BEEMO_EFORMAT && rc != -EBADMSG && rc != -ENOMEM)
		abort();
	rc = sync_manifest_parse((const char *)data, size, &m);
	if (rc == BEEMO_EFORMAT || rc == BEEMO_EVERSION || rc == -ENOMEM) {
		if (m.objs.n != 0 || m.objs.v != NULL || m.superseded != NULL)
			abort();
		return 0;
	}
	if (rc != 0 || (m.version != 1 && m.version != 2) ||
	    (m.version == 2 && m.counter == 0))
		abort();
	if (strlen(m.appliance) != 2 * KEYMGR_ID_LEN ||
	    strspn(m.appliance, "0123456789abcdef") != 2 * KEYMGR_ID_LEN)
		abort();
	for (i = 0; i < m.nsuperseded; i++) {
		rc = sync_path_classify(m.superseded[i], &kind, local,
		    sizeof(local));
		if (rc != 0 || (kind != SYNC_KEY && kind != SYNC_CONFIG))
			abort();
	}
	for (i = 0; i < objs->n; i++) {
		const struct sync_obj *o = &objs->v[i];

		if (o->path == NULL || !o->has_sha)
			abort();
		rc = sync_path_classify(o->path, &kind, local, sizeof(local));
		if (rc != 0 || kind != o->kind)
			abort();
	}
	sync_manifest_free(&m);
	return 0;
}
