/*
 * scan_cache.h -- verdicts of the antivirus by content and signature
 * version, so that content already scanned is not scanned again.
 *
 * An entry is (content key, signature version) -> clean or virus NAME.
 * The content key is store_scan_src.key: SHA-256 over the content's
 * chunk ids, which are keyed MACs of one machine's plaintext, so a key
 * names content of one machine only and says nothing of it elsewhere.
 * The signature version changes at every load of the signatures (start
 * and reload): an entry of another version is never used, and
 * scan_cache_clear() drops them all at a reload.
 *
 * Bounded: at most @cap entries, the least recently used one is evicted
 * first.  An entry costs SCAN_CACHE_ENTRY_BYTES (its key, version,
 * links and hash bucket), plus the name of a virus verdict.  The arrays
 * grow by doubling as entries are added, up to the bound.  Thread-safe
 * (one mutex; lookups and inserts are O(1)).
 */
#ifndef BEEMO_SCAN_CACHE_H
#define BEEMO_SCAN_CACHE_H

#include <stddef.h>
#include <stdint.h>

/* Memory per entry, arrays and bucket included (man pages quote it). */
#define SCAN_CACHE_ENTRY_BYTES 72

struct scan_cache;

/* Counters, for status and the log at exit. */
struct scan_cache_stats {
	uint64_t hits, misses, entries, cap, evictions;
};

/*
 * scan_cache_new -- an empty cache of at most @cap entries (0: a cache
 * that keeps nothing, every lookup a miss).  Returns 0 and *@out, or
 * -ENOMEM.  Free with scan_cache_free().
 */
int scan_cache_new(uint64_t cap, struct scan_cache **out);

/* scan_cache_free -- free the cache and its names; NULL is a no-op. */
void scan_cache_free(struct scan_cache *c);

/*
 * scan_cache_get -- the verdict of @key under signature version @ver.
 * Returns 0 (clean), 1 (virus: its name copied into @virus, size @vlen),
 * or -ENOENT (not known; counted as a miss).  A hit makes the entry the
 * most recently used.
 */
int scan_cache_get(struct scan_cache *c, const uint8_t key[32], uint64_t ver,
    char *virus, size_t vlen);

/*
 * scan_cache_put -- remember a verdict: @virus NULL for clean, else the
 * signature's name (copied).  Replaces an entry of the same key; evicts
 * the least recently used one when full.  Out of memory: the verdict is
 * simply not remembered.
 */
void scan_cache_put(struct scan_cache *c, const uint8_t key[32], uint64_t ver,
    const char *virus);

/* scan_cache_clear -- forget every entry (counters stay). */
void scan_cache_clear(struct scan_cache *c);

/* scan_cache_stats -- the counters now. */
void scan_cache_stats(struct scan_cache *c, struct scan_cache_stats *st);

#endif /* BEEMO_SCAN_CACHE_H */
