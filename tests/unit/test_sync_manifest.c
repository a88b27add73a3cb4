/*
 * test_sync_manifest.c -- the off-site manifest (sync/sync_manifest.c):
 * a version 2 manifest round-trips with its counter and superseded
 * paths; its mac verifies under the off-site key and fails under any
 * other key, after any changed byte, with a second "mac" member or
 * without one (version 1); version 1 manifests still parse; hostile
 * superseded paths, a zero counter and unknown versions are refused.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bm_err.h"
#include "check.h"
#include "sync.h"

static const char appliance[] = "00112233445566778899aabbccddeeff";

static void
add(struct sync_objs *o, const char *path, uint64_t size, uint8_t fill,
    enum sync_kind kind)
{
	char *p = strdup(path);

	REQUIRE(p != NULL);
	REQUIRE_OK(sync_objs_add(o, p, NULL, NULL, size, kind));
	memset(o->v[o->n - 1].sha, fill, SYNC_HASH_LEN);
	o->v[o->n - 1].has_sha = 1;
}

/* A name whose hash prefix matches the sha filled with @fill (0xab). */
#define KEYPATH "keys/machines/pc1.key.abababababababab"
#define ADMINPATH "keys/admin.key.abababababababab"

int
main(void)
{
	uint8_t key[KEYMGR_OFFSITE_LEN], other[KEYMGR_OFFSITE_LEN];
	char *sup[] = {"keys/machines/pc1.key.0123456789abcdef",
	    "config/beemo.conf.0123456789abcdef.sealed"};
	struct sync_objs objs = {0};
	struct sync_manifest m;
	char *text = NULL, *copy, *p;
	size_t len, i;

	memset(key, 0x11, sizeof(key));
	memset(other, 0x22, sizeof(other));
	add(&objs, "machines/pc1/packs/3a/000000000000003a.pack", 1000, 1,
	    SYNC_PACK);
	add(&objs, KEYPATH, 500, 0xab, SYNC_KEY);
	add(&objs, ADMINPATH, 700, 0xab, SYNC_KEY);
	REQUIRE_OK(sync_manifest_build(appliance, 1234567890123456789ull, 42,
	    &objs, sup, 2, key, &text, &len));

	/* Round trip. */
	REQUIRE_OK(sync_manifest_parse(text, len, &m));
	CHECK(m.version == 2);
	CHECK(m.counter == 42);
	CHECK(m.created_ns == 1234567890123456789ull);
	CHECK(strcmp(m.appliance, appliance) == 0);
	CHECK(m.objs.n == 3);
	CHECK(m.nsuperseded == 2 && !strcmp(m.superseded[0], sup[0]) &&
	    !strcmp(m.superseded[1], sup[1]));
	for (i = 0; i < m.objs.n && i < objs.n; i++)
		CHECK(!strcmp(m.objs.v[i].path, objs.v[i].path) &&
		    !memcmp(m.objs.v[i].sha, objs.v[i].sha, SYNC_HASH_LEN) &&
		    m.objs.v[i].size == objs.v[i].size);
	sync_manifest_free(&m);

	/* The mac: right key only, every byte counts. */
	CHECK_OK(sync_manifest_authentic(text, len, key));
	CHECK_RC(sync_manifest_authentic(text, len, other), -EBADMSG);
	REQUIRE((copy = malloc(len)) != NULL);
	for (i = 0; i < len; i += 7) {
		memcpy(copy, text, len);
		copy[i] ^= 0x01;
		CHECK(sync_manifest_authentic(copy, len, key) != 0);
	}
	/* A second "mac" member: not the canonical form. */
	memcpy(copy, text, len);
	REQUIRE((p = strstr(copy, "\"beemo\":")) != NULL);
	memcpy(p, "\"mac\":\"", 7);
	CHECK_RC(sync_manifest_authentic(copy, len, key), BEEMO_EFORMAT);
	/* Truncated just after the mac's digits. */
	REQUIRE((p = strstr(text, "\"mac\":\"")) != NULL);
	CHECK_RC(sync_manifest_authentic(text, (size_t)(p - text) + 7 + 64,
	    key), BEEMO_EFORMAT);
	free(copy);

	/* Version 1: parses, has no mac. */
	{
		static const char v1[] = "{\"format\":\"beemo-sync-manifest\","
		    "\"version\":1,\"appliance\":"
		    "\"00112233445566778899aabbccddeeff\",\"created_ns\":5,"
		    "\"objects\":[{\"path\":\"" KEYPATH "\",\"size\":3,"
		    "\"sha256\":\"abababababababababababababababababababababab"
		    "abababababababababab\"}]}";

		REQUIRE_OK(sync_manifest_parse(v1, sizeof(v1) - 1, &m));
		CHECK(m.version == 1 && m.counter == 0 && m.objs.n == 1);
		sync_manifest_free(&m);
		CHECK_RC(sync_manifest_authentic(v1, sizeof(v1) - 1, key),
		    BEEMO_EFORMAT);
	}

	/* Hostile: superseded outside keys and configurations, counter 0,
	 * version 3. */
	{
		static const char *const bad[] = {
		    "\"superseded\":"
		    "[\"machines/pc1/store.id.0123456789abcdef\"]",
		    "\"superseded\":[\"../../etc/passwd\"]",
		    "\"superseded\":[7]",
		    "\"superseded\":{}",
		};
		char buf[2048];
		int n;

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			n = snprintf(buf, sizeof(buf), "{\"format\":"
			    "\"beemo-sync-manifest\",\"version\":2,"
			    "\"appliance\":\"%s\",\"created_ns\":5,"
			    "\"counter\":1,\"objects\":[],%s,"
			    "\"mac\":\"%064d\"}",
			    appliance, bad[i], 0);
			CHECK_RC(sync_manifest_parse(buf, (size_t)n, &m),
			    BEEMO_EFORMAT);
		}
		n = snprintf(buf, sizeof(buf), "{\"format\":"
		    "\"beemo-sync-manifest\",\"version\":2,\"appliance\":"
		    "\"%s\",\"created_ns\":5,\"counter\":0,\"objects\":[],"
		    "\"superseded\":[],\"mac\":\"%064d\"}", appliance, 0);
		CHECK_RC(sync_manifest_parse(buf, (size_t)n, &m),
		    BEEMO_EFORMAT);
		n = snprintf(buf, sizeof(buf), "{\"format\":"
		    "\"beemo-sync-manifest\",\"version\":3,\"appliance\":"
		    "\"%s\",\"created_ns\":5,\"objects\":[]}", appliance);
		CHECK_RC(sync_manifest_parse(buf, (size_t)n, &m),
		    BEEMO_EVERSION);
	}
	free(text);
	sync_objs_free(&objs);
	return check_status();
}
