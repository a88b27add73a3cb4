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

#include <openssl/evp.h>

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

int
sync_manifest_build(const char *appliance, uint64_t ns,
    const struct sync_objs *objs, char **out, size_t *outlen)
{
	char *buf = NULL, hex[65];
	size_t len = 0, i;
	bm_json j;
	FILE *f;

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
	bm_json_end_obj(&j);
	fputc('\n', f);
	if (fclose(f) != 0) {
		free(buf);
		return -ENOMEM;
	}
	*out = buf;
	*outlen = len;
	return 0;
}

int
sync_manifest_parse(const char *text, size_t len, struct sync_objs *objs,
    char appliance[2 * KEYMGR_ID_LEN + 1], uint64_t *created_ns)
{
	struct sjson *root = NULL;
	const struct sjson *arr;
	const char *s;
	uint64_t ver;
	size_t i;
	int rc;

	memset(objs, 0, sizeof(*objs));
	if ((rc = sjson_parse(text, len, &root)) != 0)
		return rc;
	rc = BEEMO_EFORMAT;
	if ((s = sjson_str(root, "format")) == NULL ||
	    strcmp(s, SYNC_MANIFEST_FORMAT) != 0 ||
	    sjson_u64(root, "version", &ver) != 0)
		goto fail;
	if (ver != SYNC_FORMAT_VERSION) {
		rc = BEEMO_EVERSION;
		goto fail;
	}
	if ((s = sjson_str(root, "appliance")) == NULL ||
	    strlen(s) != 2 * KEYMGR_ID_LEN || !bm_is_lower_hex(s, 2 * KEYMGR_ID_LEN))
		goto fail;
	strcpy(appliance, s);
	if (sjson_u64(root, "created_ns", created_ns) != 0 ||
	    (arr = sjson_get(root, "objects", SJSON_ARR)) == NULL)
		goto fail;
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
		if ((rc = sync_objs_add(objs, p, NULL, NULL, size, kind)) != 0)
			goto fail;
		rc = BEEMO_EFORMAT;
		ob = &objs->v[objs->n - 1];
		(void)bm_unhex(ob->sha, sizeof(ob->sha), sha);
		ob->has_sha = 1;
	}
	sjson_free(root);
	return 0;

fail:
	sjson_free(root);
	sync_objs_free(objs);
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

/* Are all of @objs on the remote with their sizes?  Returns 0, -ENOENT
 * (some are not; @missing counts them), or a connection error. */
static int
complete_on(sync_conn *c, const struct sync_objs *objs, size_t *missing)
{
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

int
sync_manifest_fetch(sync_conn *c, const char *target, int complete,
    struct sync_objs *objs, char *name, size_t namesz,
    char appliance[2 * KEYMGR_ID_LEN + 1])
{
	struct sync_rlist rl = {0};
	uint64_t created;
	size_t i, missing;
	int rc, found = 0;

	memset(objs, 0, sizeof(*objs));
	if ((rc = sync_remote_list(c, "manifests", &rl)) != 0)
		return rc;
	(void)sync_rlist_find(&rl, ""); /* sorts by name, so by time */
	for (i = rl.n; i-- > 0;) {
		const struct sync_rent *e = &rl.v[i];
		uint8_t *text = NULL, sha[SYNC_HASH_LEN];
		char check[80], local[8];
		enum sync_kind k;

		/* manifests/STAMP.json, STAMP as in status/STAMP.json */
		snprintf(check, sizeof(check), "status/%s", e->path + 10);
		if (!e->isreg || e->size > SYNC_MAX_MANIFEST ||
		    sync_path_classify(check, &k, local, sizeof(local)) != 0)
			continue;
		found = 1;
		rc = sync_remote_get(c, e->path, e->size, -1, &text, NULL,
		    sha);
		if (rc == 0) {
			rc = sync_manifest_parse((const char *)text, e->size,
			    objs, appliance, &created);
			free(text);
			if (rc != 0)
				sync_log(LOG_WARNING, "target %s: %s is "
				    "malformed (%s); trying an older "
				    "manifest", target, e->path,
				    beemo_strerror(rc));
		}
		if (rc == 0 && complete) {
			rc = complete_on(c, objs, &missing);
			if (rc == -ENOENT)
				sync_log(LOG_WARNING, "target %s: %s lists "
				    "%zu objects that are missing or of the "
				    "wrong size; trying an older manifest",
				    target, e->path, missing);
		}
		if (rc == 0) {
			snprintf(name, namesz, "%s", e->path);
			break;
		}
		sync_objs_free(objs);
		if (sync_conn_broken(c))
			break;
	}
	sync_rlist_free(&rl);
	if (rc == 0 && !found)
		rc = -ENOENT;
	if (rc != 0 && !sync_conn_broken(c))
		sync_log(LOG_ERR, "target %s: no %smanifest found under "
		    "manifests/", target, complete && found ? "complete " :
		    "");
	return rc;
}
