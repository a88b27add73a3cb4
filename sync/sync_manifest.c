/*
 * sync_manifest.c -- manifests (see sync.h for the format) and the
 * grammar of remote object names.
 *
 * A manifest read back from a target is untrusted input: every path in
 * it must be one of the names this program writes (so recovery can never
 * be steered to write outside the new store, or to write
 * keys/appliance.key), every size and hash must be well-formed, and the
 * hash prefix in a content-addressed name must match the listed hash.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "bm_bytes.h"
#include "bm_err.h"
#include "bm_file.h"
#include "bm_json.h"
#include "bm_log.h"
#include "store.h"
#include "sync.h"

static int
digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/* "YYYYMMDDTHHMMSSZ-RRRRRRRR.json" */
static int
stamp_json(const char *s)
{
	return strlen(s) == SYNC_STAMP_LEN - 1 + 5 && digits(s, 8) &&
	    s[8] == 'T' && digits(s + 9, 6) && s[15] == 'Z' && s[16] == '-' &&
	    bm_is_lower_hex(s + 17, 8) && !strcmp(s + 25, ".json");
}

/* @s is "NAME" + @suffix + ".<16 hex>" exactly; copies NAME to @name. */
static int
named_hashed(const char *s, const char *suffix, char *name, size_t size)
{
	size_t n = strlen(s), sl = strlen(suffix);

	if (n < sl + 18 || n - sl - 17 >= size)
		return 0;
	if (s[n - 17] != '.' || !bm_is_lower_hex(s + n - 16, 16) ||
	    memcmp(s + n - 17 - sl, suffix, sl) != 0)
		return 0;
	memcpy(name, s, n - 17 - sl);
	name[n - 17 - sl] = '\0';
	return bm_valid_name(name);
}

int
sync_path_classify(const char *path, enum sync_kind *kind, char *local,
    size_t localsz)
{
	char name[80];
	const char *p;
	int rc = 0;

	*local = '\0';
	if (!strncmp(path, "keys/machines/", 14)) {
		p = path + 14;
		if (strchr(p, '/') || !named_hashed(p, ".key", name,
		    sizeof(name)))
			return BEEMO_EFORMAT;
		*kind = SYNC_KEY;
		rc = bm_path(local, localsz, "keys/machines/%s.key", name);
	} else if (!strncmp(path, "keys/", 5)) {
		p = path + 5;
		if (strlen(p) == 30 && !strncmp(p, "admin.endorse.", 14) &&
		    bm_is_lower_hex(p + 14, 16)) {
			/* the old administrator's key endorsing a new one */
			*kind = SYNC_KEY;
			rc = bm_path(local, localsz, "%s", path);
			return rc != 0 ? BEEMO_EFORMAT : 0;
		}
		if (strlen(p) != 26 || strncmp(p, "admin.key.", 10) ||
		    !bm_is_lower_hex(p + 10, 16))
			return BEEMO_EFORMAT;
		*kind = SYNC_KEY;
		rc = bm_path(local, localsz, "keys/admin.key");
	} else if (!strncmp(path, "machines/", 9)) {
		const char *slash;
		size_t n;

		p = path + 9;
		if ((slash = strchr(p, '/')) == NULL ||
		    (n = (size_t)(slash - p)) >= sizeof(name))
			return BEEMO_EFORMAT;
		memcpy(name, p, n);
		name[n] = '\0';
		if (!bm_valid_name(name))
			return BEEMO_EFORMAT;
		p = slash + 1;
		if (!strncmp(p, "store.id.", 9)) {
			if (strlen(p) != 25 || !bm_is_lower_hex(p + 9, 16))
				return BEEMO_EFORMAT;
			*kind = SYNC_STOREID;
			rc = bm_path(local, localsz, "machines/%s/store.id",
			    name);
		} else {
			uint64_t id;

			/* packs/XX/<16 hex>.pack, XX the id's last two */
			if (pack_relpath_parse(p, &id) != 0)
				return BEEMO_EFORMAT;
			*kind = SYNC_PACK;
			rc = bm_path(local, localsz, "%s", path);
		}
	} else if (!strncmp(path, "config/beemo.conf.", 18)) {
		p = path + 18;
		if (strlen(p) != 23 || !bm_is_lower_hex(p, 16) || strcmp(p + 16,
		    ".sealed"))
			return BEEMO_EFORMAT;
		*kind = SYNC_CONFIG;
	} else if (!strncmp(path, "status/", 7)) {
		if (!stamp_json(path + 7))
			return BEEMO_EFORMAT;
		*kind = SYNC_STATUS;
	} else if (!strncmp(path, "journal/", 8)) {
		/* journal/<16 hex>.log, a closed appliance journal segment */
		p = path + 8;
		if (strlen(p) != 20 || !bm_is_lower_hex(p, 16) || strcmp(p + 16, ".log"))
			return BEEMO_EFORMAT;
		*kind = SYNC_JOURNAL;
		rc = bm_path(local, localsz, "%s", path);
	} else if (!strncmp(path, "requests/", 9)) {
		/* requests/<16 hex>.req, a signed deletion request, or
		 * <16 hex>.cancel, its cancellation */
		p = path + 9;
		if (!bm_is_lower_hex(p, 16) || (strcmp(p + 16, ".req") &&
		    strcmp(p + 16, ".cancel")))
			return BEEMO_EFORMAT;
		*kind = SYNC_REQUEST;
	} else {
		return BEEMO_EFORMAT;
	}
	return rc != 0 ? BEEMO_EFORMAT : 0;
}

/* The 16 hex digits naming a content-addressed object, or NULL. */
static const char *
name_hash(const char *path, enum sync_kind kind)
{
	size_t n = strlen(path);

	switch (kind) {
	case SYNC_KEY:
	case SYNC_STOREID:
		return path + n - 16;
	case SYNC_CONFIG:
		return path + n - 23;
	default:
		return NULL;
	}
}

/* Where the 64 hex digits of the mac are in @text: after the one and
 * only '"mac":"'.  Returns their offset, or 0 when there is no such place
 * (none, or more than one: not the canonical form). */
static size_t
mac_offset(const char *text, size_t len)
{
	static const char key[] = "\"mac\":\"";
	const size_t kl = sizeof(key) - 1;
	size_t off = 0, i;

	for (i = 0; i + kl <= len; i++) {
		if (memcmp(text + i, key, kl) != 0)
			continue;
		if (off != 0)
			return 0;
		off = i + kl;
	}
	if (off == 0 || len - off < 65 || text[off + 64] != '"' ||
	    !bm_is_lower_hex(text + off, 64))
		return 0;
	return off;
}

/* HMAC-SHA256 under @koff of SYNC_MAC_LABEL, a NUL and @text with the
 * mac's 64 digits at @off read as '0's. */
static int
mac_compute(const char *text, size_t len, size_t off,
    const uint8_t koff[KEYMGR_OFFSITE_LEN], uint8_t mac[SYNC_HASH_LEN])
{
	static const char zeros[64] = "0000000000000000000000000000000000000"
	    "000000000000000000000000000";
	EVP_MAC *alg = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = alg ? EVP_MAC_CTX_new(alg) : NULL;
	OSSL_PARAM params[2];
	size_t outl = 0;
	int rc = -ENOMEM;

	params[0] = OSSL_PARAM_construct_utf8_string("digest", "SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (ctx == NULL ||
	    EVP_MAC_init(ctx, koff, KEYMGR_OFFSITE_LEN, params) != 1 ||
	    EVP_MAC_update(ctx, (const uint8_t *)SYNC_MAC_LABEL,
	    sizeof(SYNC_MAC_LABEL)) != 1 ||
	    EVP_MAC_update(ctx, (const uint8_t *)text, off) != 1 ||
	    EVP_MAC_update(ctx, (const uint8_t *)zeros, 64) != 1 ||
	    EVP_MAC_update(ctx, (const uint8_t *)text + off + 64,
	    len - off - 64) != 1 ||
	    EVP_MAC_final(ctx, mac, &outl, SYNC_HASH_LEN) != 1 ||
	    outl != SYNC_HASH_LEN)
		goto done;
	rc = 0;
done:
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(alg);
	return rc;
}

int
sync_manifest_build(const char *appliance, uint64_t ns, uint64_t counter,
    const struct sync_objs *objs, char *const *superseded, size_t nsup,
    const uint8_t koff[KEYMGR_OFFSITE_LEN], char **out, size_t *outlen)
{
	char *buf = NULL, hex[65];
	uint8_t mac[SYNC_HASH_LEN];
	size_t len = 0, i, off;
	bm_json j;
	FILE *f;
	int rc;

	for (i = 0; i < objs->n; i++)
		if (!objs->v[i].has_sha)
			return -EINVAL;
	if ((f = open_memstream(&buf, &len)) == NULL)
		return -ENOMEM;
	bm_json_init(&j, f);
	bm_json_begin_obj(&j, NULL);
	bm_json_str(&j, "format", SYNC_MANIFEST_FORMAT);
	bm_json_u64(&j, "version", SYNC_FORMAT_VERSION);
	bm_json_str(&j, "appliance", appliance);
	bm_json_time(&j, "created", ns);
	bm_json_u64(&j, "created_ns", ns);
	bm_json_u64(&j, "counter", counter);
	bm_json_str(&j, "beemo", BEEMO_VERSION);
	bm_json_begin_arr(&j, "objects");
	for (i = 0; i < objs->n; i++) {
		const struct sync_obj *o = &objs->v[i];

		/* One object per line keeps manifests readable with grep. */
		fputc('\n', f);
		bm_json_begin_obj(&j, NULL);
		bm_json_str(&j, "path", o->path);
		bm_json_u64(&j, "size", o->size);
		bm_hex(hex, o->sha, sizeof(o->sha));
		bm_json_str(&j, "sha256", hex);
		bm_json_end_obj(&j);
	}
	bm_json_end_arr(&j);
	bm_json_begin_arr(&j, "superseded");
	for (i = 0; i < nsup; i++) {
		fputc('\n', f);
		bm_json_str(&j, NULL, superseded[i]);
	}
	bm_json_end_arr(&j);
	/* The mac is written as 64 '0's, computed over the whole text and
	 * then put in their place. */
	memset(hex, '0', 64);
	hex[64] = '\0';
	fputc('\n', f);
	bm_json_str(&j, "mac", hex);
	bm_json_end_obj(&j);
	if (fclose(f) != 0) {
		free(buf);
		return -ENOMEM;
	}
	if ((off = mac_offset(buf, len)) == 0) {
		/* A superseded path holding the key would break the form;
		 * paths are of the layout, so this cannot happen. */
		free(buf);
		return -EINVAL;
	}
	if ((rc = mac_compute(buf, len, off, koff, mac)) != 0) {
		free(buf);
		return rc;
	}
	bm_hex(hex, mac, sizeof(mac));
	memcpy(buf + off, hex, 64);
	*out = buf;
	*outlen = len;
	return 0;
}

int
sync_manifest_authentic(const char *text, size_t len,
    const uint8_t koff[KEYMGR_OFFSITE_LEN])
{
	uint8_t want[SYNC_HASH_LEN], got[SYNC_HASH_LEN];
	size_t off = mac_offset(text, len);
	char hex[65];
	int rc;

	if (off == 0)
		return BEEMO_EFORMAT;
	memcpy(hex, text + off, 64);
	hex[64] = '\0';
	if (bm_unhex(got, sizeof(got), hex) != 0)
		return BEEMO_EFORMAT;
	if ((rc = mac_compute(text, len, off, koff, want)) != 0)
		return rc;
	return CRYPTO_memcmp(want, got, sizeof(want)) == 0 ? 0 : -EBADMSG;
}

void
sync_manifest_free(struct sync_manifest *m)
{
	size_t i;

	sync_objs_free(&m->objs);
	for (i = 0; i < m->nsuperseded; i++)
		free(m->superseded[i]);
	free(m->superseded);
	memset(m, 0, sizeof(*m));
}

/* The "superseded" array of a version 2 manifest: key files and sealed
 * configurations only. */
static int
parse_superseded(const struct sjson *root, struct sync_manifest *m)
{
	const struct sjson *arr = sjson_get(root, "superseded", SJSON_ARR);
	char local[PATH_MAX];
	enum sync_kind kind;
	size_t i;

	if (arr == NULL)
		return BEEMO_EFORMAT;
	if (arr->nkids == 0)
		return 0;
	if ((m->superseded = calloc(arr->nkids, sizeof(char *))) == NULL)
		return -ENOMEM;
	for (i = 0; i < arr->nkids; i++) {
		const struct sjson *e = &arr->kids[i];

		if (e->type != SJSON_STR || sync_path_classify(e->str, &kind,
		    local, sizeof(local)) != 0 || (kind != SYNC_KEY &&
		    kind != SYNC_CONFIG))
			return BEEMO_EFORMAT;
		if ((m->superseded[i] = strdup(e->str)) == NULL)
			return -ENOMEM;
		m->nsuperseded++;
	}
	return 0;
}

int
sync_manifest_parse(const char *text, size_t len, struct sync_manifest *m)
{
	struct sjson *root = NULL;
	const struct sjson *arr;
	const char *s;
	uint64_t ver;
	size_t i;
	int rc;

	memset(m, 0, sizeof(*m));
	if ((rc = sjson_parse(text, len, &root)) != 0)
		return rc;
	rc = BEEMO_EFORMAT;
	if ((s = sjson_str(root, "format")) == NULL ||
	    strcmp(s, SYNC_MANIFEST_FORMAT) != 0 ||
	    sjson_u64(root, "version", &ver) != 0)
		goto fail;
	if (ver != 1 && ver != 2) {
		rc = BEEMO_EVERSION;
		goto fail;
	}
	m->version = (unsigned)ver;
	if ((s = sjson_str(root, "appliance")) == NULL ||
	    strlen(s) != 2 * KEYMGR_ID_LEN ||
	    !bm_is_lower_hex(s, 2 * KEYMGR_ID_LEN))
		goto fail;
	strcpy(m->appliance, s);
	if (sjson_u64(root, "created_ns", &m->created_ns) != 0 ||
	    (arr = sjson_get(root, "objects", SJSON_ARR)) == NULL)
		goto fail;
	if (ver == 2) {
		if (sjson_u64(root, "counter", &m->counter) != 0 ||
		    m->counter == 0 || (s = sjson_str(root, "mac")) == NULL ||
		    strlen(s) != 64 || !bm_is_lower_hex(s, 64) ||
		    (rc = parse_superseded(root, m)) != 0)
			goto fail;
		rc = BEEMO_EFORMAT;
	}
	for (i = 0; i < arr->nkids; i++) {
		const struct sjson *o = &arr->kids[i];
		const char *path = sjson_str(o, "path");
		const char *sha = sjson_str(o, "sha256"), *nh;
		char local[PATH_MAX];
		enum sync_kind kind;
		struct sync_obj *ob;
		uint64_t size;
		char *p;

		if (path == NULL || sha == NULL ||
		    sjson_u64(o, "size", &size) != 0 ||
		    sync_path_classify(path, &kind, local, sizeof(local)) ||
		    strlen(sha) != 64 || !bm_is_lower_hex(sha, 64))
			goto fail;
		nh = name_hash(path, kind);
		if (nh != NULL && strncmp(nh, sha, 16) != 0)
			goto fail;
		if (kind != SYNC_PACK && size > SYNC_MAX_SMALL)
			goto fail;
		if ((p = strdup(path)) == NULL) {
			rc = -ENOMEM;
			goto fail;
		}
		if ((rc = sync_objs_add(&m->objs, p, NULL, NULL, size,
		    kind)) != 0)
			goto fail;
		rc = BEEMO_EFORMAT;
		ob = &m->objs.v[m->objs.n - 1];
		(void)bm_unhex(ob->sha, sizeof(ob->sha), sha);
		ob->has_sha = 1;
	}
	sjson_free(root);
	return 0;

fail:
	sjson_free(root);
	sync_manifest_free(m);
	return rc;
}

static int
obj_ptr_cmp(const void *a, const void *b)
{
	return strcmp((*(const struct sync_obj *const *)a)->path,
	    (*(const struct sync_obj *const *)b)->path);
}

void
sync_objs_digest(const struct sync_objs *objs, char hex[65])
{
	const struct sync_obj **v;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t sha[SYNC_HASH_LEN];
	size_t i, n = 0;

	hex[0] = '\0';
	v = malloc((objs->n ? objs->n : 1) * sizeof(*v));
	if (v == NULL || md == NULL ||
	    EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		goto done;
	for (i = 0; i < objs->n; i++)
		if (objs->v[i].kind != SYNC_STATUS)
			v[n++] = &objs->v[i];
	qsort(v, n, sizeof(*v), obj_ptr_cmp);
	for (i = 0; i < n; i++) {
		char line[64];
		int l = snprintf(line, sizeof(line), " %llu ",
		    (unsigned long long)v[i]->size);

		EVP_DigestUpdate(md, v[i]->path, strlen(v[i]->path));
		EVP_DigestUpdate(md, line, (size_t)l);
		EVP_DigestUpdate(md, v[i]->sha, sizeof(v[i]->sha));
	}
	EVP_DigestFinal_ex(md, sha, NULL);
	bm_hex(hex, sha, sizeof(sha));
done:
	EVP_MD_CTX_free(md);
	free(v);
}

int
sync_manifest_complete(sync_conn *c, const struct sync_manifest *m,
    size_t *missing)
{
	const struct sync_objs *objs = &m->objs;
	struct sync_rlist rl = {0};
	char last[1024] = "", dir[1024];
	size_t i;
	int rc = 0;

	*missing = 0;
	for (i = 0; i < objs->n && rc == 0; i++) {
		const char *p = objs->v[i].path;
		size_t n = (size_t)(strrchr(p, '/') - p);

		memcpy(dir, p, n);
		dir[n] = '\0';
		if (strcmp(dir, last) != 0) {
			strcpy(last, dir);
			rc = sync_remote_list(c, dir, &rl);
		}
	}
	for (i = 0; i < objs->n && rc == 0; i++) {
		const struct sync_rent *e = sync_rlist_find(&rl,
		    objs->v[i].path);

		if (e == NULL || !e->isreg || e->size != objs->v[i].size)
			(*missing)++;
	}
	sync_rlist_free(&rl);
	if (rc == 0 && *missing > 0)
		rc = -ENOENT;
	return rc;
}

/* Newest first: counter, then creation time, then name; unusable last. */
static int
mentry_cmp(const void *a, const void *b)
{
	const struct sync_mentry *x = a, *y = b;

	if ((*x->bad != '\0') != (*y->bad != '\0'))
		return *x->bad ? 1 : -1;
	if (x->counter != y->counter)
		return x->counter > y->counter ? -1 : 1;
	if (x->created_ns != y->created_ns)
		return x->created_ns > y->created_ns ? -1 : 1;
	return -strcmp(x->name, y->name);
}

int
sync_manifest_get(sync_conn *c, const struct sync_mentry *e, char **text,
    size_t *len, struct sync_manifest *m)
{
	uint8_t *buf = NULL, sha[SYNC_HASH_LEN];
	int rc;

	memset(m, 0, sizeof(*m));
	*text = NULL;
	*len = 0;
	if ((rc = sync_remote_get(c, e->name, e->size, -1, &buf, NULL,
	    sha)) != 0)
		return rc;
	if ((rc = sync_manifest_parse((const char *)buf, e->size, m)) != 0) {
		free(buf);
		return rc;
	}
	*text = (char *)buf;
	*len = e->size;
	return 0;
}

uint64_t
sync_mentry_time(const struct sync_mentry *e)
{
	return e->stored_ns > e->created_ns ? e->stored_ns : e->created_ns;
}

int
sync_manifest_list(sync_conn *c, struct sync_mlist *l)
{
	struct sync_rlist rl = {0};
	size_t i;
	int rc;

	memset(l, 0, sizeof(*l));
	if ((rc = sync_remote_list(c, "manifests", &rl)) != 0)
		return rc;
	if (rl.n > 0 && (l->v = calloc(rl.n, sizeof(*l->v))) == NULL) {
		rc = -ENOMEM;
		goto done;
	}
	for (i = 0; i < rl.n; i++) {
		const struct sync_rent *r = &rl.v[i];
		struct sync_mentry *e = &l->v[l->n];
		struct sync_manifest m;
		char check[80], local[8], *text;
		enum sync_kind k;
		size_t len;

		/* manifests/STAMP.json, STAMP as in status/STAMP.json */
		snprintf(check, sizeof(check), "status/%s", r->path + 10);
		if (!r->isreg || sync_path_classify(check, &k, local,
		    sizeof(local)) != 0)
			continue;
		l->n++;
		snprintf(e->name, sizeof(e->name), "%s", r->path);
		e->size = r->size;
		e->stored_ns = r->mtime * 1000000000ull;
		if (r->size > SYNC_MAX_MANIFEST) {
			snprintf(e->bad, sizeof(e->bad), "too large");
			continue;
		}
		rc = sync_manifest_get(c, e, &text, &len, &m);
		if (rc == 0) {
			e->version = m.version;
			e->counter = m.counter;
			e->created_ns = m.created_ns;
			free(text);
			sync_manifest_free(&m);
		} else if (sync_conn_broken(c)) {
			goto done;
		} else {
			snprintf(e->bad, sizeof(e->bad), "malformed: %s",
			    beemo_strerror(rc));
		}
	}
	if (l->n > 0)
		qsort(l->v, l->n, sizeof(*l->v), mentry_cmp);
	rc = 0;
done:
	sync_rlist_free(&rl);
	if (rc != 0)
		sync_mlist_free(l);
	return rc;
}

void
sync_mlist_free(struct sync_mlist *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}
