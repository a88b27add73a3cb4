/*
 * sync_local.c -- what there is to push: the objects of the store
 * directory, their SHA-256 (cached for packs), and the sealed copy of the
 * configuration.
 *
 * Only names that match the store layout are taken (machine names by
 * bm_valid_name(), packs as XX/ID.pack with ID 16 hex digits ending in
 * XX), so nothing else that happens to lie in STORE -- the device secret
 * keys/appliance.key, the indexes, *.pack.open, temporaries -- can be
 * sent by mistake.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "bm_bytes.h"
#include "bm_conf.h"
#include "bm_err.h"
#include "bm_file.h"
#include "bm_log.h"
#include "store.h"
#include "sync.h"

#define HASHES_MAGIC "beemo-sync-hashes 1"

void
sync_sha256(const void *buf, size_t len, uint8_t out[SYNC_HASH_LEN])
{
	EVP_Digest(buf, len, out, NULL, EVP_sha256(), NULL);
}

int
sync_sha256_fd(int fd, void *buf, size_t buflen, uint8_t out[SYNC_HASH_LEN],
    uint64_t *len, void (*step)(void *arg, uint64_t n), void *arg)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint64_t got = 0;
	ssize_t n;
	int rc = 0;

	if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		rc = -ENOMEM;
		goto out;
	}
	while ((n = read(fd, buf, buflen)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			goto out;
		}
		if (EVP_DigestUpdate(md, buf, (size_t)n) != 1) {
			rc = -EIO;
			goto out;
		}
		got += (uint64_t)n;
		if (step)
			step(arg, (uint64_t)n);
	}
	if (EVP_DigestFinal_ex(md, out, NULL) != 1)
		rc = -EIO;
	else if (len)
		*len = got;
out:
	EVP_MD_CTX_free(md);
	return rc;
}

int
sync_stamp(char *buf, uint64_t ns)
{
	time_t t = (time_t)(ns / 1000000000ULL);
	uint8_t r[4];
	struct tm tm;
	char hex[9];

	if (RAND_bytes(r, sizeof(r)) != 1)
		return -EIO;
	bm_hex(hex, r, sizeof(r));
	gmtime_r(&t, &tm);
	strftime(buf, SYNC_STAMP_LEN, "%Y%m%dT%H%M%SZ-", &tm);
	strcat(buf, hex);
	return 0;
}

int
sync_objs_add(struct sync_objs *l, char *path, char *local, uint8_t *data,
    uint64_t size, enum sync_kind kind)
{
	struct sync_obj *o;

	if (path == NULL)
		goto fail;
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 256;

		o = realloc(l->v, nc * sizeof(*o));
		if (o == NULL)
			goto fail;
		l->v = o;
		l->cap = nc;
	}
	o = &l->v[l->n++];
	memset(o, 0, sizeof(*o));
	o->path = path;
	o->local = local;
	o->data = data;
	o->size = size;
	o->kind = kind;
	if (data != NULL) {
		sync_sha256(data, size, o->sha);
		o->has_sha = 1;
	}
	return 0;

fail:
	free(path);
	free(local);
	free(data);
	return -ENOMEM;
}

void
sync_objs_free(struct sync_objs *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].path);
		free(l->v[i].local);
		free(l->v[i].data);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* ---- hash cache ---------------------------------------------------- */

struct hent {
	char *path;
	uint64_t size, mtime_ns, ino;
	uint8_t sha[SYNC_HASH_LEN];
};

struct hcache {
	struct hent *v;
	size_t n;
};

static int
hent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct hent *)a)->path,
	    ((const struct hent *)b)->path);
}

static void
hcache_free(struct hcache *hc)
{
	size_t i;

	for (i = 0; i < hc->n; i++)
		free(hc->v[i].path);
	free(hc->v);
}

/* A damaged cache is only a lost optimisation: it is ignored. */
static void
hcache_load(const struct sync_ctx *ctx, struct hcache *hc)
{
	char path[PATH_MAX], *line, *next;
	uint8_t *text;
	size_t len, cap = 0;

	memset(hc, 0, sizeof(*hc));
	if (bm_path(path, sizeof(path), "%s/hashes", ctx->syncdir) != 0 ||
	    bm_read_file(path, 1ULL << 30, &text, &len) != 0)
		return;
	line = (char *)text;
	next = strchr(line, '\n');
	if (next == NULL || (*next = '\0', strcmp(line, HASHES_MAGIC)) != 0)
		goto done;
	for (line = next + 1; *line != '\0'; line = next) {
		char hex[65], rel[1024];
		unsigned long long size, mt, ino;
		struct hent *e;

		if ((next = strchr(line, '\n')) == NULL)
			break;
		*next++ = '\0';
		if (sscanf(line, "%64s %llu %llu %llu %1023s", hex, &size, &mt,
		    &ino, rel) != 5)
			continue;
		if (hc->n == cap) {
			cap = cap ? cap * 2 : 1024;
			if ((e = realloc(hc->v, cap * sizeof(*e))) == NULL)
				break;
			hc->v = e;
		}
		e = &hc->v[hc->n];
		if (bm_unhex(e->sha, sizeof(e->sha), hex) != 0 ||
		    (e->path = strdup(rel)) == NULL)
			continue;
		e->size = size;
		e->mtime_ns = mt;
		e->ino = ino;
		hc->n++;
	}
	if (hc->n > 1)
		qsort(hc->v, hc->n, sizeof(*hc->v), hent_cmp);
done:
	free(text);
}

int
sync_hashcache_save(const struct sync_ctx *ctx, const struct sync_objs *objs)
{
	char path[PATH_MAX], hex[65];
	char *buf = NULL;
	size_t len = 0, i;
	FILE *f;
	int rc;

	if ((rc = bm_path(path, sizeof(path), "%s/hashes", ctx->syncdir)))
		return rc;
	if ((f = open_memstream(&buf, &len)) == NULL)
		return -ENOMEM;
	fprintf(f, "%s\n", HASHES_MAGIC);
	for (i = 0; i < objs->n; i++) {
		const struct sync_obj *o = &objs->v[i];

		if (o->kind != SYNC_PACK || !o->has_sha)
			continue;
		bm_hex(hex, o->sha, sizeof(o->sha));
		/* local is STORE/REL: the cache keys on REL. */
		fprintf(f, "%s %llu %llu %llu %s\n", hex,
		    (unsigned long long)o->size,
		    (unsigned long long)o->mtime_ns,
		    (unsigned long long)o->ino, o->path);
	}
	if (fclose(f) != 0) {
		free(buf);
		return -ENOMEM;
	}
	rc = bm_write_file_atomic(path, buf, len, 0600, 0);
	free(buf);
	return rc;
}

int
sync_local_hash(struct sync_obj *o)
{
	uint8_t *buf;
	uint64_t got = 0;
	int fd, rc = 0;

	if ((fd = open(o->local, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	if ((buf = malloc(SYNC_READ)) == NULL) {
		rc = -ENOMEM;
		goto done;
	}
	if ((rc = sync_sha256_fd(fd, buf, SYNC_READ, o->sha, &got, NULL,
	    NULL)) == 0 && got != o->size)
		rc = -EIO; /* packs are immutable: it changed under us */
	if (rc == 0)
		o->has_sha = 1;
done:
	free(buf);
	close(fd);
	return rc;
}

/* ---- the scan ------------------------------------------------------ */

static int
is_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[n] == '\0' || s[n] == '.';
}

/* The sorted names in @dir accepted by @ok; missing @dir gives none. */
static int
list_dir(const char *dir, int (*ok)(const char *), char ***out, size_t *n)
{
	return bm_list_dir(dir, ok, out, n);
}

static int
ok_machine(const char *s)
{
	return bm_valid_name(s);
}

static int
ok_xx(const char *s)
{
	return strlen(s) == 2 && is_hex(s, 2);
}

static int
ok_pack(const char *s)
{
	uint64_t id;
	int open;

	return pack_name_parse(s, &id, &open) == 0 && !open;
}

static int
ok_keyfile(const char *s)
{
	size_t n = strlen(s);
	char stem[80];

	if (n < 5 || n - 4 >= sizeof(stem) || strcmp(s + n - 4, ".key"))
		return 0;
	memcpy(stem, s, n - 4);
	stem[n - 4] = '\0';
	return bm_valid_name(stem);
}

/* Read a small file into an object whose remote name is
 * "@prefix.<h16>@suffix". */
static int
add_small(struct sync_objs *objs, const char *local, const char *prefix,
    const char *suffix, enum sync_kind kind)
{
	uint8_t *data, sha[SYNC_HASH_LEN];
	char hex[65], *path;
	size_t len;
	int rc;

	if ((rc = bm_read_file(local, SYNC_MAX_SMALL, &data, &len)) != 0) {
		sync_log(LOG_ERR, "cannot read %s: %s", local,
		    beemo_strerror(rc));
		return rc;
	}
	sync_sha256(data, len, sha);
	bm_hex(hex, sha, sizeof(sha));
	hex[16] = '\0';
	if (asprintf(&path, "%s.%s%s", prefix, hex, suffix) < 0)
		path = NULL;
	return sync_objs_add(objs, path, NULL, data, len, kind);
}

static int
ok_endorsement(const char *s)
{
	return strlen(s) == 30 && strncmp(s, "admin.endorse.", 14) == 0 &&
	    bm_is_lower_hex(s + 14, 16);
}

/* The endorsements of each new administrator's key by the one before
 * (STORE/keys/admin.endorse.*, made by `beemoctl admin passwd`), for
 * the centers that pinned an older key. */
static int
add_endorsements(const struct sync_ctx *ctx, struct sync_objs *out)
{
	char dir[PATH_MAX], file[PATH_MAX], **names = NULL;
	size_t n = 0, i;
	int rc;

	if ((rc = bm_path(dir, sizeof(dir), "%s/keys", ctx->store)) != 0 ||
	    (rc = list_dir(dir, ok_endorsement, &names, &n)) != 0)
		return rc;
	for (i = 0; i < n && rc == 0; i++)
		if ((rc = bm_path(file, sizeof(file), "%s/%s", dir,
		    names[i])) == 0)
			rc = add_small(out, file, "keys/admin.endorse", "",
			    SYNC_KEY);
	bm_names_free(names, n);
	return rc;
}

static int
scan_packs(const struct sync_ctx *ctx, const char *machine,
    const struct hcache *hc, struct sync_objs *objs)
{
	char dir[PATH_MAX], sub[PATH_MAX];
	char **xx = NULL, **packs;
	size_t nxx = 0, np, i, k;
	int rc;

	if ((rc = bm_path(dir, sizeof(dir), "%s/machines/%s/packs",
	    ctx->store, machine)) != 0 ||
	    (rc = list_dir(dir, ok_xx, &xx, &nxx)) != 0)
		goto done;
	for (i = 0; i < nxx; i++) {
		if ((rc = bm_path(sub, sizeof(sub), "%s/%s", dir, xx[i])) ||
		    (rc = list_dir(sub, ok_pack, &packs, &np)) != 0)
			goto done;
		for (k = 0; k < np && rc == 0; k++) {
			struct sync_obj *o;
			struct stat st;
			struct hent key, *h;
			char *local = NULL, *path = NULL;

			/* The pack's directory is the last two digits of
			 * its id; anything else is not the store's. */
			if (strncmp(packs[k] + 14, xx[i], 2) != 0)
				continue;
			if (asprintf(&local, "%s/%s", sub, packs[k]) < 0) {
				rc = -ENOMEM;
				break;
			}
			if (lstat(local, &st) != 0 || !S_ISREG(st.st_mode)) {
				free(local);
				continue;
			}
			if (asprintf(&path, "machines/%s/packs/%s/%s", machine,
			    xx[i], packs[k]) < 0)
				path = NULL;
			if ((rc = sync_objs_add(objs, path, local, NULL,
			    (uint64_t)st.st_size, SYNC_PACK)) != 0)
				break;
			o = &objs->v[objs->n - 1];
			o->mtime_ns = (uint64_t)st.st_mtim.tv_sec *
			    1000000000ULL + (uint64_t)st.st_mtim.tv_nsec;
			o->ino = (uint64_t)st.st_ino;
			key.path = o->path;
			h = hc->n ? bsearch(&key, hc->v, hc->n, sizeof(*h),
			    hent_cmp) : NULL;
			if (h != NULL && h->size == o->size &&
			    h->mtime_ns == o->mtime_ns && h->ino == o->ino) {
				memcpy(o->sha, h->sha, sizeof(o->sha));
				o->has_sha = 1;
			}
		}
		bm_names_free(packs, np);
		if (rc != 0)
			goto done;
	}
done:
	bm_names_free(xx, nxx);
	if (rc != 0)
		sync_log(LOG_ERR, "cannot list the packs of %s: %s", machine,
		    beemo_strerror(rc));
	return rc;
}

/*
 * The configuration file sealed for the administrator.  Sealing is
 * randomized, so the sealed copy of an unchanged file is reused from
 * STORE/sync/config.sealed while neither the file nor admin.key changed
 * (`beemoctl admin passwd` replaces the ADMIN key pair the copy is sealed
 * for); the state records the SHA-256 of the two SHA-256s.
 */
static int
add_config(const struct sync_ctx *ctx, keymgr *km, struct bm_sync_state *st,
    struct sync_objs *objs)
{
	const char *conf = bm_conf_path(ctx->conf);
	char cache[PATH_MAX], adm[PATH_MAX], hex[65], *path;
	uint8_t *plain = NULL, *sealed = NULL, *admin = NULL;
	uint8_t sha[SYNC_HASH_LEN], both[2 * SYNC_HASH_LEN];
	size_t plen = 0, slen = 0, alen = 0;
	int rc;

	if (conf == NULL)
		return 0; /* running on defaults: no file to save */
	if ((rc = bm_path(cache, sizeof(cache), "%s/config.sealed",
	    ctx->syncdir)) != 0)
		return rc;
	if ((rc = bm_read_file(conf, 1 << 20, &plain, &plen)) != 0) {
		sync_log(LOG_ERR, "cannot read %s: %s", conf,
		    beemo_strerror(rc));
		return rc;
	}
	if ((rc = bm_path(adm, sizeof(adm), "%s/keys/admin.key",
	    ctx->store)) != 0 ||
	    (rc = bm_read_file(adm, SYNC_MAX_SMALL, &admin, &alen)) != 0) {
		sync_log(LOG_ERR, "cannot read %s: %s", adm,
		    beemo_strerror(rc));
		goto done;
	}
	sync_sha256(plain, plen, both);
	sync_sha256(admin, alen, both + SYNC_HASH_LEN);
	free(admin);
	sync_sha256(both, sizeof(both), sha);
	bm_hex(hex, sha, sizeof(sha));
	if (strcmp(hex, st->config_plain) != 0 ||
	    bm_read_file(cache, SYNC_MAX_SMALL, &sealed, &slen) != 0) {
		if ((rc = keymgr_seal_admin(km, plain, plen, &sealed,
		    &slen)) != 0) {
			sync_log(LOG_ERR, "cannot seal %s for the "
			    "administrator: %s", conf, beemo_strerror(rc));
			goto done;
		}
		if ((rc = bm_write_file_atomic(cache, sealed, slen, 0600,
		    0)) != 0) {
			sync_log(LOG_ERR, "cannot write %s: %s", cache,
			    beemo_strerror(rc));
			goto done;
		}
		strcpy(st->config_plain, hex);
	}
	sync_sha256(sealed, slen, sha);
	bm_hex(hex, sha, sizeof(sha));
	hex[16] = '\0';
	if (asprintf(&path, "config/beemo.conf.%s.sealed", hex) < 0)
		path = NULL;
	rc = sync_objs_add(objs, path, NULL, sealed, slen, SYNC_CONFIG);
	sealed = NULL;
done:
	OPENSSL_cleanse(plain, plen);
	free(plain);
	free(sealed);
	return rc;
}

int
sync_local_scan(const struct sync_ctx *ctx, keymgr *km,
    struct bm_sync_state *st, struct sync_objs *out)
{
	char dir[PATH_MAX], file[PATH_MAX], prefix[PATH_MAX];
	char **mach = NULL, **keys = NULL;
	size_t nm = 0, nk = 0, i;
	struct hcache hc;
	int rc;

	memset(out, 0, sizeof(*out));
	hcache_load(ctx, &hc);
	if ((rc = bm_path(dir, sizeof(dir), "%s/machines", ctx->store)) ||
	    (rc = list_dir(dir, ok_machine, &mach, &nm)) != 0) {
		sync_log(LOG_ERR, "cannot list %s: %s", dir,
		    beemo_strerror(rc));
		goto fail;
	}
	for (i = 0; i < nm; i++)
		if ((rc = scan_packs(ctx, mach[i], &hc, out)) != 0)
			goto fail;
	for (i = 0; i < nm; i++) {
		if ((rc = bm_path(file, sizeof(file), "%s/%s/store.id", dir,
		    mach[i])) != 0 ||
		    (rc = bm_path(prefix, sizeof(prefix),
		    "machines/%s/store.id", mach[i])) != 0)
			goto fail;
		if (access(file, F_OK) != 0)
			continue; /* not a machine store (yet) */
		if ((rc = add_small(out, file, prefix, "", SYNC_STOREID)))
			goto fail;
	}
	if ((rc = bm_path(file, sizeof(file), "%s/keys/admin.key",
	    ctx->store)) != 0)
		goto fail;
	if (access(file, F_OK) != 0) {
		rc = BEEMO_ENOSTORE;
		sync_log(LOG_ERR, "%s: no appliance here (no keys/admin.key)",
		    ctx->store);
		goto fail;
	}
	if ((rc = add_small(out, file, "keys/admin.key", "", SYNC_KEY)) != 0 ||
	    (rc = add_endorsements(ctx, out)) != 0)
		goto fail;
	if ((rc = bm_path(dir, sizeof(dir), "%s/keys/machines", ctx->store)) ||
	    (rc = list_dir(dir, ok_keyfile, &keys, &nk)) != 0)
		goto fail;
	for (i = 0; i < nk; i++) {
		if ((rc = bm_path(file, sizeof(file), "%s/%s", dir, keys[i])) ||
		    (rc = bm_path(prefix, sizeof(prefix), "keys/machines/%s",
		    keys[i])) != 0 ||
		    (rc = add_small(out, file, prefix, "", SYNC_KEY)) != 0)
			goto fail;
	}
	if ((rc = add_config(ctx, km, st, out)) != 0 ||
	    (rc = sync_local_journal(ctx, out)) != 0)
		goto fail;
	bm_names_free(mach, nm);
	bm_names_free(keys, nk);
	hcache_free(&hc);
	return 0;

fail:
	bm_names_free(mach, nm);
	bm_names_free(keys, nk);
	hcache_free(&hc);
	sync_objs_free(out);
	return rc;
}
