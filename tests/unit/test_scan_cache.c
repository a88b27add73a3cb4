/*
 * test_scan_cache.c -- unit tests of the antivirus verdict cache
 * (fs/scan_cache.c): clean and virus verdicts by key and signature
 * version, another version never used, the least recently used entry
 * evicted first at the bound (a hit keeps an entry), clear, a cache of
 * size 0, and many keys through the arrays' growth.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bm_err.h"
#include "check.h"
#include "scan_cache.h"

static void
key_of(unsigned i, uint8_t key[32])
{
	unsigned j;

	/* Spread like a SHA-256: the first bytes are the hash. */
	for (j = 0; j < 32; j++)
		key[j] = (uint8_t)((i * 2654435761u) >> (j % 4 * 8)) ^ (uint8_t)j;
	memcpy(key + 28, &i, sizeof(i));
}

int
main(void)
{
	struct scan_cache *c;
	struct scan_cache_stats st;
	uint8_t k[32], k2[32];
	char name[64];
	unsigned i;

	REQUIRE_OK(scan_cache_new(3, &c));
	key_of(1, k);
	CHECK_RC(scan_cache_get(c, k, 7, name, sizeof(name)), -ENOENT);
	scan_cache_put(c, k, 7, NULL);
	CHECK_RC(scan_cache_get(c, k, 7, name, sizeof(name)), 0);
	/* Another signature version: unknown. */
	CHECK_RC(scan_cache_get(c, k, 8, name, sizeof(name)), -ENOENT);
	key_of(2, k2);
	scan_cache_put(c, k2, 7, "Beemo.Test.EICAR");
	name[0] = '\0';
	CHECK_RC(scan_cache_get(c, k2, 7, name, sizeof(name)), 1);
	CHECK(!strcmp(name, "Beemo.Test.EICAR"));
	/* The same key again replaces its entry (a new version). */
	scan_cache_put(c, k2, 8, NULL);
	CHECK_RC(scan_cache_get(c, k2, 8, name, sizeof(name)), 0);
	CHECK_RC(scan_cache_get(c, k2, 7, name, sizeof(name)), -ENOENT);
	scan_cache_stats(c, &st);
	CHECK(st.entries == 2);

	/* Full at 3: 1 is used, so 3 is the oldest when 4 comes. */
	key_of(3, k);
	scan_cache_put(c, k, 8, NULL);
	key_of(1, k);
	CHECK_RC(scan_cache_get(c, k, 7, name, sizeof(name)), 0);
	key_of(4, k);
	scan_cache_put(c, k, 8, NULL); /* evicts 2 (least recent) */
	key_of(2, k);
	CHECK_RC(scan_cache_get(c, k, 8, name, sizeof(name)), -ENOENT);
	key_of(1, k);
	CHECK_RC(scan_cache_get(c, k, 7, name, sizeof(name)), 0);
	key_of(5, k);
	scan_cache_put(c, k, 8, "X"); /* evicts 3 */
	key_of(3, k);
	CHECK_RC(scan_cache_get(c, k, 8, name, sizeof(name)), -ENOENT);
	key_of(4, k);
	CHECK_RC(scan_cache_get(c, k, 8, name, sizeof(name)), 0);
	key_of(5, k);
	CHECK_RC(scan_cache_get(c, k, 8, name, sizeof(name)), 1);
	scan_cache_stats(c, &st);
	CHECK(st.entries == 3 && st.cap == 3 && st.evictions == 2);
	CHECK(st.hits > 0 && st.misses > 0);
	scan_cache_clear(c);
	CHECK_RC(scan_cache_get(c, k, 8, name, sizeof(name)), -ENOENT);
	scan_cache_stats(c, &st);
	CHECK(st.entries == 0);
	scan_cache_put(c, k, 9, NULL);
	CHECK_RC(scan_cache_get(c, k, 9, name, sizeof(name)), 0);
	scan_cache_free(c);

	/* Size 0: nothing kept. */
	REQUIRE_OK(scan_cache_new(0, &c));
	scan_cache_put(c, k, 1, NULL);
	CHECK_RC(scan_cache_get(c, k, 1, name, sizeof(name)), -ENOENT);
	scan_cache_free(c);

	/* Growth and rehashing: 100,000 keys in a cache of 50,000. */
	REQUIRE_OK(scan_cache_new(50000, &c));
	for (i = 0; i < 100000; i++) {
		key_of(i, k);
		scan_cache_put(c, k, 1, i % 10 ? NULL : "V");
	}
	for (i = 0; i < 100000; i += 7) {
		key_of(i, k);
		CHECK_RC(scan_cache_get(c, k, 1, name, sizeof(name)),
		    i < 50000 ? -ENOENT : i % 10 ? 0 : 1);
	}
	scan_cache_stats(c, &st);
	CHECK(st.entries == 50000 && st.evictions == 50000);
	scan_cache_free(c);
	scan_cache_free(NULL);
	return check_status();
}
