/*
 * marker_search.c -- look for a marker in everything a machine's store
 * holds, decrypted: the test of "after erase and prune, no byte of it
 * remains" (erase.sh).
 *
 *   marker_search STORE MACHINE PASSWORD_FILE MARKER
 *
 * Unlocks the machine with the administrator's password, then reads
 * every object of every pack (closed or open), authenticates and
 * decrypts it (chunks with the data key, log objects with the meta key;
 * zstd frames decompressed) and searches the plaintext; in a log object
 * it also opens every sealed index value it carries (names, journal
 * lines) and searches those.  Then it searches the raw bytes of every
 * file of the index, of staging/ and of the appliance journal
 * (STORE/journal).  Prints each hit and a summary line "searched ...";
 * exits 0 when the marker is nowhere, 1 when it was found, 2 when the
 * search itself failed (an object that does not authenticate counts).
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bm_bytes.h"
#include "keymgr.h"
#include "store_codec.h"
#include "store_internal.h"
#include "store_pack.h"

struct search {
	struct store_keys keys;
	const char *marker;
	size_t mlen;
	uint64_t chunks, logs, values, files, hits, errors;
};

static int
has(const struct search *s, const uint8_t *p, size_t len)
{
	return len >= s->mlen && memmem(p, len, s->marker, s->mlen) != NULL;
}

/* The sealed values of the records of log object @p (@len bytes). */
static void
log_values(struct search *s, uint64_t pack, uint64_t off, const uint8_t *p,
    size_t len)
{
	size_t pos = 16;

	while (pos + 7 <= len) {
		uint8_t t = p[pos], aad[5 + 512], *out;
		uint16_t klen = bm_be16dec(p + pos + 1);
		uint32_t vlen = bm_be32dec(p + pos + 3);
		const uint8_t *key = p + pos + 7;

		pos += 7;
		if (klen > 511 || len - pos < klen)
			break;
		pos += klen;
		if (vlen == 0xffffffffU)
			continue;
		if (len - pos < vlen)
			break;
		if (has(s, key, klen)) {
			printf("marker in a key of log object in pack %016"
			    PRIx64 " at %" PRIu64 "\n", pack, off);
			s->hits++;
		}
		memcpy(aad, "BMIX", 4);
		aad[4] = t;
		memcpy(aad + 5, key, klen);
		if (vlen >= SEAL_OVERHEAD &&
		    (out = malloc(vlen - SEAL_OVERHEAD + 1)) != NULL) {
			if (open_value(&s->keys, aad, 5 + klen, p + pos, vlen,
			    out) == 0) {
				s->values++;
				if (has(s, out, vlen - SEAL_OVERHEAD)) {
					printf("marker in an index value "
					    "(table %u) of log object in pack "
					    "%016" PRIx64 " at %" PRIu64 "\n",
					    t, pack, off);
					s->hits++;
				}
			} else {
				printf("index value (table %u) in pack %016"
				    PRIx64 " at %" PRIu64 " does not "
				    "authenticate\n", t, pack, off);
				s->errors++;
			}
			OPENSSL_cleanse(out, vlen - SEAL_OVERHEAD);
			free(out);
		}
		pos += vlen;
	}
}

static int
object(void *ctx, uint64_t pack, uint64_t off, const struct obj_hdr *h,
    const uint8_t *raw)
{
	struct search *s = ctx;
	uint8_t *plain;

	if (obj_open(&s->keys, h, raw, &plain) != 0) {
		printf("object in pack %016" PRIx64 " at %" PRIu64 " does not "
		    "authenticate\n", pack, off);
		s->errors++;
		return 0;
	}
	if (h->type == OBJ_CHUNK)
		s->chunks++;
	else
		s->logs++;
	if (has(s, plain, h->plain_len)) {
		printf("marker in %s in pack %016" PRIx64 " at %" PRIu64 "\n",
		    h->type == OBJ_CHUNK ? "a chunk" : "a log object", pack,
		    off);
		s->hits++;
	}
	if (h->type == OBJ_LOG)
		log_values(s, pack, off, plain, h->plain_len);
	OPENSSL_cleanse(plain, h->plain_len);
	free(plain);
	return 0;
}

/* Search the raw bytes of every regular file under @path. */
static void
raw(struct search *s, const char *path)
{
	struct stat sb;
	DIR *d;
	struct dirent *e;

	if (lstat(path, &sb) != 0)
		return;
	if (S_ISREG(sb.st_mode)) {
		FILE *f = fopen(path, "rb");
		uint8_t *buf;
		size_t n;

		if (f == NULL)
			return;
		if ((buf = malloc((size_t)sb.st_size + 1)) != NULL) {
			n = fread(buf, 1, (size_t)sb.st_size, f);
			s->files++;
			if (has(s, buf, n)) {
				printf("marker in the raw bytes of %s\n",
				    path);
				s->hits++;
			}
			free(buf);
		}
		fclose(f);
		return;
	}
	if (!S_ISDIR(sb.st_mode) || (d = opendir(path)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		char sub[4096];

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		if (has(s, (const uint8_t *)e->d_name, strlen(e->d_name))) {
			printf("marker in a file name: %s\n", sub);
			s->hits++;
		}
		raw(s, sub);
	}
	closedir(d);
}

int
main(int argc, char **argv)
{
	struct search s;
	char keydir[4096], dir[4096], path[4200], pw[1024];
	uint8_t appl[KEYMGR_ID_LEN], mach[KEYMGR_ID_LEN];
	uint64_t *ids = NULL, end;
	int *open = NULL, rc;
	unsigned format;
	size_t n = 0, i, pwlen;
	keymgr *km = NULL;
	keymgr_secret *sec = NULL;
	FILE *f;

	if (argc != 5) {
		fprintf(stderr, "usage: marker_search STORE MACHINE "
		    "PASSWORD_FILE MARKER\n");
		return 2;
	}
	memset(&s, 0, sizeof(s));
	s.marker = argv[4];
	s.mlen = strlen(argv[4]);
	snprintf(keydir, sizeof(keydir), "%s/keys", argv[1]);
	snprintf(dir, sizeof(dir), "%s/machines/%s", argv[1], argv[2]);
	if ((f = fopen(argv[3], "r")) == NULL ||
	    fgets(pw, sizeof(pw), f) == NULL) {
		fprintf(stderr, "marker_search: cannot read %s\n", argv[3]);
		return 2;
	}
	fclose(f);
	pwlen = strcspn(pw, "\n");
	keymgr_global_init();
	if ((rc = keymgr_open(keydir, &km)) != 0 ||
	    (rc = keymgr_unlock_admin(km, argv[2], pw, pwlen, &sec)) != 0 ||
	    (rc = store_id_read(dir, appl, mach, &format)) != 0 ||
	    (rc = keys_init(&s.keys, sec, format)) != 0 ||
	    (rc = pack_list(dir, &ids, &open, &n)) != 0) {
		fprintf(stderr, "marker_search: %s\n", beemo_strerror(rc));
		OPENSSL_cleanse(pw, sizeof(pw));
		return 2;
	}
	OPENSSL_cleanse(pw, sizeof(pw));
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/packs/%02x/%016" PRIx64
		    ".pack%s", dir, (unsigned)(ids[i] & 0xff), ids[i],
		    open[i] ? ".open" : "");
		rc = pack_walk(mach, path, ids[i], object, &s, &end);
		if (rc != 0) {
			printf("pack %s: %s\n", path, beemo_strerror(rc));
			s.errors++;
		}
	}
	snprintf(path, sizeof(path), "%s/index", dir);
	raw(&s, path);
	snprintf(path, sizeof(path), "%s/staging", dir);
	raw(&s, path);
	snprintf(path, sizeof(path), "%s/journal", argv[1]);
	raw(&s, path);
	printf("searched %zu packs: %" PRIu64 " chunks, %" PRIu64 " log "
	    "objects holding %" PRIu64 " index values; %" PRIu64 " raw files:"
	    " %" PRIu64 " hits, %" PRIu64 " errors\n", n, s.chunks, s.logs,
	    s.values, s.files, s.hits, s.errors);
	free(ids);
	free(open);
	keys_fini(&s.keys);
	keymgr_secret_free(sec);
	keymgr_free(km);
	return s.errors ? 2 : s.hits ? 1 : 0;
}
