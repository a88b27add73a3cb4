/*
 * test_sync_request.c -- deletion requests (sync/sync_request.c): the
 * selection names only objects the appliance no longer needs (packs a
 * prune dropped, a freed machine's objects, superseded key files and
 * configurations) and never one still in the state, one of a machine
 * in its grace period, one requested before, or a pack missing without
 * a prune; the signed request parses back, verifies with ADMIN_PUB, and
 * fails after any changed byte, under another appliance's key, or with
 * a second signature member.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bm_err.h"
#include "bm_file.h"
#include "check.h"
#include "sync.h"
#include "sync_request.h"

#define APW "admin-pw"

static char root[256];

static void
add(struct sync_objs *o, const char *path, uint8_t fill,
    enum sync_kind kind)
{
	char *p = strdup(path);

	REQUIRE(p != NULL);
	REQUIRE_OK(sync_objs_add(o, p, NULL, NULL, 100, kind));
	memset(o->v[o->n - 1].sha, fill, SYNC_HASH_LEN);
	o->v[o->n - 1].has_sha = 1;
}

static int
has(const struct sync_objs *o, const char *path)
{
	size_t i;

	for (i = 0; i < o->n; i++)
		if (strcmp(o->v[i].path, path) == 0)
			return 1;
	return 0;
}

/* pc1 and pc4 are current, pc3 is in the removed area, pc2 is gone. */
static int
machine_state(void *ctx, const char *m)
{
	(void)ctx;
	if (!strcmp(m, "pc1") || !strcmp(m, "pc4"))
		return SYNC_MACHINE_CURRENT;
	if (!strcmp(m, "pc3"))
		return SYNC_MACHINE_REMOVED;
	return SYNC_MACHINE_GONE;
}

/* The packs a prune dropped: pc1's 0x2 and 0x3. */
static const uint64_t dropped_ids[] = {0x2, 0x3};

static int
pack_dropped(void *ctx, const char *m, uint64_t id)
{
	size_t i;

	(void)ctx;
	if (strcmp(m, "pc1") != 0)
		return 0;
	for (i = 0; i < sizeof(dropped_ids) / sizeof(dropped_ids[0]); i++)
		if (dropped_ids[i] == id)
			return 1;
	return 0;
}

#define P(m, x) "machines/" m "/packs/0" #x "/000000000000000" #x ".pack"

static void
test_select(void)
{
	struct sync_objs cands = {0}, cur = {0}, named = {0};
	struct sync_objs out[SYNC_REASON_N];
	struct sync_oracle or = {machine_state, pack_dropped, NULL};
	size_t i;

	memset(out, 0, sizeof(out));
	/* What the last manifests listed. */
	add(&cands, P("pc1", 1), 1, SYNC_PACK);   /* still in the store */
	add(&cands, P("pc1", 2), 2, SYNC_PACK);   /* dropped by a prune */
	add(&cands, P("pc1", 3), 3, SYNC_PACK);   /* dropped, requested */
	add(&cands, P("pc1", 4), 4, SYNC_PACK);   /* missing, not dropped */
	add(&cands, P("pc2", 1), 5, SYNC_PACK);   /* machine freed */
	add(&cands, "machines/pc2/store.id.0505050505050505", 5,
	    SYNC_STOREID);
	add(&cands, "keys/machines/pc2.key.0505050505050505", 5, SYNC_KEY);
	add(&cands, P("pc3", 1), 6, SYNC_PACK);   /* in its grace period */
	add(&cands, "keys/machines/pc3.key.0606060606060606", 6, SYNC_KEY);
	add(&cands, "keys/machines/pc1.key.0707070707070707", 7, SYNC_KEY);
	add(&cands, "keys/machines/pc1.key.0808080808080808", 8, SYNC_KEY);
	add(&cands, "config/beemo.conf.0909090909090909.sealed", 9,
	    SYNC_CONFIG);
	add(&cands, "machines/pc4/store.id.0a0a0a0a0a0a0a0a", 10,
	    SYNC_STOREID);
	/* The same pack twice (manifest and unlisted): named once. */
	add(&cands, P("pc1", 2), 2, SYNC_PACK);
	/* The appliance's state now. */
	add(&cur, P("pc1", 1), 1, SYNC_PACK);
	add(&cur, "keys/machines/pc1.key.0808080808080808", 8, SYNC_KEY);
	/* Requested before. */
	add(&named, P("pc1", 3), 3, SYNC_PACK);

	REQUIRE_OK(sync_request_select(&cands, &cur, &named, &or, out));
	CHECK(out[SYNC_REASON_PRUNE].n == 1);
	CHECK(has(&out[SYNC_REASON_PRUNE], P("pc1", 2)));
	CHECK(out[SYNC_REASON_PRUNE].v[0].sha[0] == 2);
	CHECK(out[SYNC_REASON_MACHINE_REMOVE].n == 3);
	CHECK(has(&out[SYNC_REASON_MACHINE_REMOVE], P("pc2", 1)));
	CHECK(has(&out[SYNC_REASON_MACHINE_REMOVE],
	    "machines/pc2/store.id.0505050505050505"));
	CHECK(has(&out[SYNC_REASON_MACHINE_REMOVE],
	    "keys/machines/pc2.key.0505050505050505"));
	CHECK(out[SYNC_REASON_SUPERSEDED].n == 2);
	CHECK(has(&out[SYNC_REASON_SUPERSEDED],
	    "keys/machines/pc1.key.0707070707070707"));
	CHECK(has(&out[SYNC_REASON_SUPERSEDED],
	    "config/beemo.conf.0909090909090909.sealed"));
	/* Never: referenced, requested, missing without a prune, in the
	 * grace period, a current machine's store.id. */
	for (i = 1; i < SYNC_REASON_N; i++) {
		CHECK(!has(&out[i], P("pc1", 1)));
		CHECK(!has(&out[i], P("pc1", 3)));
		CHECK(!has(&out[i], P("pc1", 4)));
		CHECK(!has(&out[i], P("pc3", 1)));
		CHECK(!has(&out[i], "keys/machines/pc3.key.0606060606060606"));
		CHECK(!has(&out[i], "keys/machines/pc1.key.0808080808080808"));
		CHECK(!has(&out[i], "machines/pc4/store.id.0a0a0a0a0a0a0a0a"));
		sync_objs_free(&out[i]);
	}
	sync_objs_free(&cands);
	sync_objs_free(&cur);
	sync_objs_free(&named);
}

static keymgr *
appliance(const char *name)
{
	struct keymgr_kdf kdf = {1024, 8, 1};
	char dir[512];
	keymgr *km;

	snprintf(dir, sizeof(dir), "%s/%s", root, name);
	REQUIRE_OK(keymgr_init(dir, APW, strlen(APW), &kdf));
	REQUIRE_OK(keymgr_open(dir, &km));
	return km;
}

static void
test_sign(void)
{
	static const char appliance_hex[] =
	    "00112233445566778899aabbccddeeff";
	struct sync_objs objs = {0};
	struct sync_request r;
	keymgr *km = appliance("a"), *other = appliance("b");
	keymgr_admin_key *k = NULL;
	char *text = NULL, *copy, *p;
	size_t len, i;

	add(&objs, P("pc1", 2), 2, SYNC_PACK);
	add(&objs, "keys/machines/pc1.key.0707070707070707", 7, SYNC_KEY);
	CHECK_RC(keymgr_admin_key_unlock(km, "wrong", 5, &k),
	    BEEMO_EPASSWORD);
	REQUIRE_OK(keymgr_admin_key_unlock(km, APW, strlen(APW), &k));
	CHECK_RC(sync_request_build(k, appliance_hex, 0, 1, SYNC_REASON_PRUNE,
	    "a", &objs, &text, &len), -EINVAL);
	REQUIRE_OK(sync_request_build(k, appliance_hex, 7, 1234567890,
	    SYNC_REASON_PRUNE, "center-a", &objs, &text, &len));
	CHECK_OK(sync_request_verify(km, text, len));
	/* ADMIN_PUB of another appliance: not its administrator's. */
	CHECK_RC(sync_request_verify(other, text, len), -EBADMSG);
	/* The same with admin.key images, as a center checks. */
	{
		char path[600];
		uint8_t *img, *img2;
		size_t ilen, ilen2;

		snprintf(path, sizeof(path), "%s/a/admin.key", root);
		REQUIRE_OK(bm_read_file(path, 1u << 20, &img, &ilen));
		snprintf(path, sizeof(path), "%s/b/admin.key", root);
		REQUIRE_OK(bm_read_file(path, 1u << 20, &img2, &ilen2));
		CHECK_OK(sync_request_verify_image(img, ilen, text, len));
		CHECK_RC(sync_request_verify_image(img2, ilen2, text, len),
		    -EBADMSG);
		text[len / 2] ^= 1;
		CHECK(sync_request_verify_image(img, ilen, text, len) != 0);
		text[len / 2] ^= 1;
		CHECK_RC(sync_request_verify_image(img, ilen / 2, text, len),
		    BEEMO_EFORMAT);
		free(img);
		free(img2);
	}

	REQUIRE_OK(sync_request_parse(text, len, &r));
	CHECK(r.counter == 7 && r.created_ns == 1234567890);
	CHECK(r.reason == SYNC_REASON_PRUNE);
	CHECK(strcmp(r.target, "center-a") == 0);
	CHECK(strcmp(r.appliance, appliance_hex) == 0);
	CHECK(r.objs.n == 2 && strcmp(r.objs.v[0].path, P("pc1", 2)) == 0);
	CHECK(r.objs.v[0].sha[5] == 2 && r.objs.v[1].sha[0] == 7);
	sync_request_free(&r);
	CHECK(strstr(text, "\"reason\":\"prune\"") != NULL);

	/* Every changed byte breaks it (a digit of the signature, a
	 * path, the reason, the counter). */
	REQUIRE((copy = malloc(len)) != NULL);
	for (i = 0; i < len; i += 7) {
		memcpy(copy, text, len);
		copy[i] ^= 0x01;
		CHECK(sync_request_verify(km, copy, len) != 0);
	}
	/* A second signature member is not the canonical form. */
	memcpy(copy, text, len);
	REQUIRE((p = strstr(copy, "\"target\":\"cente")) != NULL);
	memcpy(p, "\"signature\":\"ce", 15);
	CHECK_RC(sync_request_verify(km, copy, len), BEEMO_EFORMAT);
	free(copy);
	/* A hostile object path is refused by the parser. */
	{
		char buf[4096];
		int n = snprintf(buf, sizeof(buf), "{\"format\":"
		    "\"beemo-delete-request\",\"version\":1,\"appliance\":"
		    "\"%s\",\"counter\":1,\"created_ns\":1,\"reason\":"
		    "\"prune\",\"target\":\"a\",\"objects\":[{\"path\":"
		    "\"machines/../x\",\"sha256\":\"%064d\"}],"
		    "\"signature\":\"%0768d\"}", appliance_hex, 0, 0);

		CHECK_RC(sync_request_parse(buf, (size_t)n, &r),
		    BEEMO_EFORMAT);
		n = snprintf(buf, sizeof(buf), "{\"format\":"
		    "\"beemo-delete-request\",\"version\":2}");
		CHECK_RC(sync_request_parse(buf, (size_t)n, &r),
		    BEEMO_EVERSION);
	}
	free(text);
	keymgr_admin_key_free(k);
	keymgr_free(km);
	keymgr_free(other);
	sync_objs_free(&objs);
}

int
main(void)
{
	const char *tmp = getenv("TMPDIR");
	char cmd[600];

	(void)keymgr_global_init();
	snprintf(root, sizeof(root), "%s/test_sync_request.XXXXXX",
	    tmp && *tmp ? tmp : "/tmp");
	REQUIRE(mkdtemp(root) != NULL);
	test_select();
	test_sign();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", root);
	return check_status();
}
