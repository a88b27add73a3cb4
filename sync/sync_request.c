/*
 * sync_request.c -- deletion requests for the storage centers: what
 * they are (build, parse, verify), which objects they may name
 * (sync_request_select), and where they wait for a push
 * (STORE/sync/requests).  See sync_request.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "bm_bytes.h"
#include "bm_err.h"
#include "bm_file.h"
#include "bm_json.h"
#include "bm_log.h"
#include "store.h"
#include "sync.h"
#include "sync_request.h"

#define SIG_HEX (2 * KEYMGR_SIG_LEN)

static const char *const reasons[] = {
	[SYNC_REASON_PRUNE] = "prune",
	[SYNC_REASON_MACHINE_REMOVE] = "machine-remove",
	[SYNC_REASON_SUPERSEDED] = "superseded",
};

const char *
sync_reason_name(enum sync_reason r)
{
	return r >= SYNC_REASON_PRUNE && r <= SYNC_REASON_SUPERSEDED ?
	    reasons[r] : "?";
}

/* ---- the file ------------------------------------------------------ */

/* Where the SIG_HEX digits of the signature are: after the one and only
 * '"signature":"'.  Their offset, or 0 when there is no such place. */
static size_t
sig_offset(const char *text, size_t len)
{
	static const char key[] = "\"signature\":\"";
	const size_t kl = sizeof(key) - 1;
	size_t off = 0, i;

	for (i = 0; i + kl <= len; i++) {
		if (memcmp(text + i, key, kl) != 0)
			continue;
		if (off != 0)
			return 0;
		off = i + kl;
	}
	if (off == 0 || len - off < SIG_HEX + 1 || text[off + SIG_HEX] != '"'
	    || !bm_is_lower_hex(text + off, SIG_HEX))
		return 0;
	return off;
}

int
sync_request_build(keymgr_admin_key *k, const char *appliance,
    uint64_t counter, uint64_t ns, enum sync_reason reason,
    const char *target, const struct sync_objs *objs, char **out,
    size_t *outlen)
{
	uint8_t sig[KEYMGR_SIG_LEN];
	char *buf = NULL, hex[65], *zeros = NULL;
	size_t len = 0, i, off;
	bm_json j;
	FILE *f;
	int rc = -ENOMEM;

	for (i = 0; i < objs->n; i++)
		if (!objs->v[i].has_sha)
			return -EINVAL;
	if (!bm_valid_name(target) || counter == 0 || objs->n == 0)
		return -EINVAL;
	if ((zeros = malloc(SIG_HEX + 1)) == NULL)
		return -ENOMEM;
	memset(zeros, '0', SIG_HEX);
	zeros[SIG_HEX] = '\0';
	if ((f = open_memstream(&buf, &len)) == NULL)
		goto out;
	bm_json_init(&j, f);
	bm_json_begin_obj(&j, NULL);
	bm_json_str(&j, "format", SYNC_REQUEST_FORMAT);
	bm_json_u64(&j, "version", SYNC_REQUEST_VERSION);
	bm_json_str(&j, "appliance", appliance);
	bm_json_u64(&j, "counter", counter);
	bm_json_time(&j, "created", ns);
	bm_json_u64(&j, "created_ns", ns);
	bm_json_str(&j, "reason", sync_reason_name(reason));
	bm_json_str(&j, "target", target);
	bm_json_begin_arr(&j, "objects");
	for (i = 0; i < objs->n; i++) {
		bm_json_begin_obj(&j, NULL);
		bm_json_str(&j, "path", objs->v[i].path);
		bm_hex(hex, objs->v[i].sha, SYNC_HASH_LEN);
		bm_json_str(&j, "sha256", hex);
		bm_json_end_obj(&j);
	}
	bm_json_end_arr(&j);
	bm_json_str(&j, "signature", zeros);
	bm_json_end_obj(&j);
	if (fclose(f) != 0 || buf == NULL)
		goto out;
	rc = BEEMO_EFORMAT;
	if ((off = sig_offset(buf, len)) == 0)
		goto out;
	/* The signature covers the text with its own digits as '0's. */
	if ((rc = keymgr_admin_key_sign(k, SYNC_REQUEST_LABEL,
	    (const uint8_t *)buf, len, sig)) != 0)
		goto out;
	bm_hex(zeros, sig, sizeof(sig));
	memcpy(buf + off, zeros, SIG_HEX);
	*out = buf;
	*outlen = len;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	free(zeros);
	return rc;
}

/* Check the request @text with @km's admin.key (@key NULL) or with the
 * admin.key image @key of @keylen bytes. */
static int
verify(keymgr *km, const uint8_t *key, size_t keylen, const char *text,
    size_t len)
{
	uint8_t sig[KEYMGR_SIG_LEN];
	char *copy;
	size_t off;
	int rc;

	if ((off = sig_offset(text, len)) == 0)
		return BEEMO_EFORMAT;
	/* len > off + SIG_HEX: the copy holds the digits and a NUL. */
	if ((copy = malloc(len)) == NULL)
		return -ENOMEM;
	memcpy(copy, text + off, SIG_HEX);
	copy[SIG_HEX] = '\0';
	rc = bm_unhex(sig, sizeof(sig), copy);
	memcpy(copy, text, len);
	memset(copy + off, '0', SIG_HEX);
	if (rc != 0)
		rc = BEEMO_EFORMAT;
	else if (key == NULL)
		rc = keymgr_admin_verify(km, SYNC_REQUEST_LABEL,
		    (uint8_t *)copy, len, sig, sizeof(sig));
	else
		rc = keymgr_image_verify(key, keylen, SYNC_REQUEST_LABEL,
		    (uint8_t *)copy, len, sig, sizeof(sig), NULL);
	free(copy);
	return rc;
}

int
sync_request_verify(keymgr *km, const char *text, size_t len)
{
	return verify(km, NULL, 0, text, len);
}

int
sync_request_verify_image(const uint8_t *key, size_t keylen,
    const char *text, size_t len)
{
	return verify(NULL, key, keylen, text, len);
}

void
sync_request_free(struct sync_request *r)
{
	sync_objs_free(&r->objs);
	memset(r, 0, sizeof(*r));
}

int
sync_request_parse(const char *text, size_t len, struct sync_request *r)
{
	struct sjson *root = NULL;
	const struct sjson *arr;
	const char *s;
	uint64_t ver;
	size_t i;
	int rc;

	memset(r, 0, sizeof(*r));
	if (len > SYNC_MAX_SMALL)
		return BEEMO_EFORMAT;
	if ((rc = sjson_parse(text, len, &root)) != 0)
		return rc;
	rc = BEEMO_EFORMAT;
	if ((s = sjson_str(root, "format")) == NULL ||
	    strcmp(s, SYNC_REQUEST_FORMAT) != 0 ||
	    sjson_u64(root, "version", &ver) != 0)
		goto fail;
	if (ver != SYNC_REQUEST_VERSION) {
		rc = BEEMO_EVERSION;
		goto fail;
	}
	if ((s = sjson_str(root, "appliance")) == NULL ||
	    strlen(s) != 2 * KEYMGR_ID_LEN ||
	    !bm_is_lower_hex(s, 2 * KEYMGR_ID_LEN))
		goto fail;
	strcpy(r->appliance, s);
	if (sjson_u64(root, "counter", &r->counter) != 0 || r->counter == 0 ||
	    sjson_u64(root, "created_ns", &r->created_ns) != 0 ||
	    (s = sjson_str(root, "reason")) == NULL)
		goto fail;
	for (r->reason = SYNC_REASON_PRUNE; r->reason <=
	    SYNC_REASON_SUPERSEDED; r->reason++)
		if (strcmp(s, reasons[r->reason]) == 0)
			break;
	if (r->reason > SYNC_REASON_SUPERSEDED ||
	    (s = sjson_str(root, "target")) == NULL || !bm_valid_name(s) ||
	    (arr = sjson_get(root, "objects", SJSON_ARR)) == NULL ||
	    arr->nkids == 0 || sig_offset(text, len) == 0)
		goto fail;
	snprintf(r->target, sizeof(r->target), "%s", s);
	for (i = 0; i < arr->nkids; i++) {
		const char *path = sjson_str(&arr->kids[i], "path");
		const char *sha = sjson_str(&arr->kids[i], "sha256");
		char local[PATH_MAX], *p;
		enum sync_kind kind;

		if (path == NULL || sha == NULL || strlen(sha) != 64 ||
		    !bm_is_lower_hex(sha, 64) || sync_path_classify(path,
		    &kind, local, sizeof(local)) != 0 || (kind != SYNC_PACK &&
		    kind != SYNC_STOREID && kind != SYNC_KEY &&
		    kind != SYNC_CONFIG))
			goto fail;
		if ((p = strdup(path)) == NULL ||
		    sync_objs_add(&r->objs, p, NULL, NULL, 0, kind) != 0) {
			rc = -ENOMEM;
			goto fail;
		}
		(void)bm_unhex(r->objs.v[i].sha, SYNC_HASH_LEN, sha);
		r->objs.v[i].has_sha = 1;
	}
	sjson_free(root);
	return 0;
fail:
	sjson_free(root);
	sync_request_free(r);
	return rc;
}

/* ---- which objects ------------------------------------------------- */

static int
has_path(const struct sync_objs *l, const char *path)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i].path, path) == 0)
			return 1;
	return 0;
}

/* The machine NAME of "machines/NAME/..." or "keys/machines/NAME.key.H"
 * into @name, or "" for the appliance's own objects. */
static void
object_machine(const struct sync_obj *o, char *name, size_t size)
{
	const char *p = o->path;
	size_t n;

	*name = '\0';
	if (!strncmp(p, "machines/", 9)) {
		p += 9;
		n = strcspn(p, "/");
	} else if (!strncmp(p, "keys/machines/", 14) &&
	    strlen(p) > 14 + 21) {
		p += 14;
		n = strlen(p) - 21; /* ".key." and 16 hex */
	} else {
		return;
	}
	if (n < size) {
		memcpy(name, p, n);
		name[n] = '\0';
	}
}

int
sync_request_select(const struct sync_objs *cands,
    const struct sync_objs *current, const struct sync_objs *requested,
    const struct sync_oracle *or, struct sync_objs out[SYNC_REASON_N])
{
	char machine[80];
	size_t i;
	int r, rc;

	for (i = 0; i < cands->n; i++) {
		const struct sync_obj *o = &cands->v[i];
		enum sync_reason why = 0;
		char *p;

		/* Still part of the appliance's state, or asked for: never. */
		if (!o->has_sha || has_path(current, o->path) ||
		    has_path(requested, o->path))
			continue;
		for (r = 1; r < SYNC_REASON_N; r++)
			if (has_path(&out[r], o->path))
				break;
		if (r < SYNC_REASON_N)
			continue;
		object_machine(o, machine, sizeof(machine));
		if (*machine != '\0') {
			int st = or->machine_state(or->ctx, machine);

			if (st < 0)
				return st;
			if (st == SYNC_MACHINE_GONE)
				why = SYNC_REASON_MACHINE_REMOVE;
			else if (st == SYNC_MACHINE_REMOVED)
				continue;  /* may still be restored */
		}
		if (why == 0) {
			uint64_t id;
			const char *pk = strstr(o->path, "/packs/");

			switch (o->kind) {
			case SYNC_PACK:
				if (pk == NULL ||
				    pack_relpath_parse(pk + 1, &id) != 0)
					continue;
				if ((rc = or->pack_dropped(or->ctx, machine,
				    id)) < 0)
					return rc;
				if (rc == 0)
					continue;
				why = SYNC_REASON_PRUNE;
				break;
			case SYNC_KEY:
			case SYNC_CONFIG:
				why = SYNC_REASON_SUPERSEDED;
				break;
			default:
				continue; /* a store.id of a current machine */
			}
		}
		if ((p = strdup(o->path)) == NULL ||
		    (rc = sync_objs_add(&out[why], p, NULL, NULL, o->size,
		    o->kind)) != 0)
			return -ENOMEM;
		memcpy(out[why].v[out[why].n - 1].sha, o->sha, SYNC_HASH_LEN);
		out[why].v[out[why].n - 1].has_sha = 1;
	}
	return 0;
}

/* ---- STORE/sync/requests ------------------------------------------- */

static int
req_dir(const struct sync_ctx *ctx, const char *target, char *buf,
    size_t size)
{
	if (!bm_valid_name(target))
		return -EINVAL;
	return bm_path(buf, size, "%s/requests/%s", ctx->syncdir, target);
}

static int
is_req_name(const char *name)
{
	return strlen(name) == 20 && bm_is_lower_hex(name, 16) &&
	    strcmp(name + 16, ".req") == 0;
}

static int
is_req_or_cancel(const char *name)
{
	return is_req_name(name) || (strlen(name) == 23 &&
	    bm_is_lower_hex(name, 16) && strcmp(name + 16, ".cancel") == 0);
}

int
sync_request_cancel(const struct sync_ctx *ctx, const char *target,
    uint64_t counter, int need_request)
{
	char dir[PATH_MAX], path[PATH_MAX], text[64];
	int rc, n;

	if ((rc = req_dir(ctx, target, dir, sizeof(dir))) != 0 ||
	    (rc = bm_path(path, sizeof(path), "%s/%016" PRIx64 ".req", dir,
	    counter)) != 0)
		return rc;
	if (need_request && access(path, F_OK) != 0)
		return -ENOENT;
	n = snprintf(text, sizeof(text), "cancel %" PRIu64 "\n", counter);
	if ((rc = bm_mkdir_p(dir, 0700)) != 0 ||
	    (rc = bm_path(path, sizeof(path), "%s/%016" PRIx64 ".cancel", dir,
	    counter)) != 0 ||
	    (rc = bm_write_file_atomic(path, text, (size_t)n, 0600, 0)) != 0)
		sync_log(LOG_ERR, "cannot store the cancellation %s: %s", path,
		    beemo_strerror(rc));
	return rc;
}

int
sync_request_store(const struct sync_ctx *ctx, const char *target,
    uint64_t counter, const char *text, size_t len)
{
	char dir[PATH_MAX], path[PATH_MAX];
	int rc;

	if ((rc = req_dir(ctx, target, dir, sizeof(dir))) != 0 ||
	    (rc = bm_mkdir_p(dir, 0700)) != 0 ||
	    (rc = bm_path(path, sizeof(path), "%s/%016" PRIx64 ".req", dir,
	    counter)) != 0 ||
	    (rc = bm_write_file_atomic(path, text, len, 0600, 0)) != 0)
		sync_log(LOG_ERR, "cannot store the deletion request %s: %s",
		    path, beemo_strerror(rc));
	return rc;
}

int
sync_request_local(const struct sync_ctx *ctx, const char *target,
    struct sync_objs *out)
{
	char dir[PATH_MAX], path[PATH_MAX], **names = NULL, *rp;
	uint8_t *data;
	size_t n = 0, i, len;
	int rc;

	if ((rc = req_dir(ctx, target, dir, sizeof(dir))) != 0 ||
	    (rc = bm_list_dir(dir, is_req_or_cancel, &names, &n)) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		if ((rc = bm_path(path, sizeof(path), "%s/%s", dir,
		    names[i])) != 0 || (rc = bm_read_file(path,
		    SYNC_MAX_SMALL, &data, &len)) != 0) {
			sync_log(LOG_ERR, "cannot read %s: %s", path,
			    beemo_strerror(rc));
			goto out;
		}
		if (asprintf(&rp, "requests/%s", names[i]) < 0)
			rp = NULL;
		if ((rc = sync_objs_add(out, rp, NULL, data, len,
		    SYNC_REQUEST)) != 0)
			goto out;
	}
out:
	bm_names_free(names, n);
	return rc;
}

int
sync_request_named(const struct sync_ctx *ctx, const char *target,
    struct sync_objs *out)
{
	struct sync_objs files = {0};
	struct sync_request r;
	size_t i, k;
	int rc;

	if ((rc = sync_request_local(ctx, target, &files)) != 0)
		goto out;
	for (i = 0; i < files.n; i++) {
		if (!is_req_name(files.v[i].path + 9))
			continue; /* a cancellation */
		if ((rc = sync_request_parse((const char *)files.v[i].data,
		    files.v[i].size, &r)) != 0) {
			sync_log(LOG_ERR, "%s of target %s is malformed: %s",
			    files.v[i].path, target, beemo_strerror(rc));
			goto out;
		}
		for (k = 0; k < r.objs.n && rc == 0; k++) {
			char *p = strdup(r.objs.v[k].path);

			rc = sync_objs_add(out, p, NULL, NULL, 0,
			    r.objs.v[k].kind);
		}
		sync_request_free(&r);
		if (rc != 0)
			goto out;
	}
out:
	sync_objs_free(&files);
	return rc;
}

/* ---- objects no longer listed ---------------------------------------- */

/*
 * STORE/sync/requests/TARGET.unlisted: one line per object that a
 * manifest pushed to TARGET listed and the next one did not,
 * "SHA256 SIZE PATH", appended by the push that left it out.  It is
 * the memory of what the center holds beyond its last manifest.
 */
static int
unlisted_path(const struct sync_ctx *ctx, const char *target, char *buf,
    size_t size)
{
	if (!bm_valid_name(target))
		return -EINVAL;
	return bm_path(buf, size, "%s/requests/%s.unlisted", ctx->syncdir,
	    target);
}

int
sync_unlisted_load(const struct sync_ctx *ctx, const char *target,
    struct sync_objs *out)
{
	char path[PATH_MAX], local[PATH_MAX], *line, *save = NULL, *p;
	uint8_t *text = NULL;
	enum sync_kind kind;
	uint64_t size;
	size_t len;
	int rc;

	if ((rc = unlisted_path(ctx, target, path, sizeof(path))) != 0)
		return rc;
	rc = bm_read_file(path, SYNC_MAX_MANIFEST, &text, &len);
	if (rc == -ENOENT)
		return 0;
	if (rc != 0)
		goto fail;
	/* bm_read_file leaves a NUL after the content. */
	for (line = strtok_r((char *)text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		char hex[65], rpath[1024];
		struct sync_obj *o;

		rc = BEEMO_EFORMAT;
		if (sscanf(line, "%64s %" SCNu64 " %1023s", hex, &size,
		    rpath) != 3 || strlen(hex) != 64 ||
		    !bm_is_lower_hex(hex, 64) || sync_path_classify(rpath,
		    &kind, local, sizeof(local)) != 0)
			goto fail;
		if ((p = strdup(rpath)) == NULL ||
		    sync_objs_add(out, p, NULL, NULL, size, kind) != 0) {
			rc = -ENOMEM;
			goto fail;
		}
		o = &out->v[out->n - 1];
		(void)bm_unhex(o->sha, SYNC_HASH_LEN, hex);
		o->has_sha = 1;
	}
	free(text);
	return 0;
fail:
	sync_log(LOG_ERR, "cannot read %s: %s", path, beemo_strerror(rc));
	free(text);
	return rc;
}

int
sync_unlisted_note(const struct sync_ctx *ctx, const char *target,
    const struct sync_objs *prev, const struct sync_objs *cur)
{
	struct sync_objs known = {0};
	char path[PATH_MAX], dir[PATH_MAX], hex[65];
	char *buf = NULL;
	size_t len = 0, i;
	FILE *f = NULL;
	int rc, added = 0;

	if ((rc = unlisted_path(ctx, target, path, sizeof(path))) != 0 ||
	    (rc = bm_path(dir, sizeof(dir), "%s/requests", ctx->syncdir)) ||
	    (rc = sync_unlisted_load(ctx, target, &known)) != 0)
		goto out;
	rc = -ENOMEM;
	if ((f = open_memstream(&buf, &len)) == NULL)
		goto out;
	for (i = 0; i < known.n; i++) {
		bm_hex(hex, known.v[i].sha, SYNC_HASH_LEN);
		fprintf(f, "%s %" PRIu64 " %s\n", hex, known.v[i].size,
		    known.v[i].path);
	}
	for (i = 0; i < prev->n; i++) {
		const struct sync_obj *o = &prev->v[i];

		if ((o->kind != SYNC_PACK && o->kind != SYNC_STOREID &&
		    o->kind != SYNC_KEY && o->kind != SYNC_CONFIG) ||
		    !o->has_sha || has_path(cur, o->path) ||
		    has_path(&known, o->path))
			continue;
		bm_hex(hex, o->sha, SYNC_HASH_LEN);
		fprintf(f, "%s %" PRIu64 " %s\n", hex, o->size, o->path);
		added++;
	}
	if (fclose(f) != 0) {
		f = NULL;
		goto out;
	}
	f = NULL;
	rc = 0;
	if (added > 0 && ((rc = bm_mkdir_p(dir, 0700)) != 0 ||
	    (rc = bm_write_file_atomic(path, buf, len, 0600, 0)) != 0))
		sync_log(LOG_ERR, "cannot write %s: %s", path,
		    beemo_strerror(rc));
out:
	if (f != NULL)
		fclose(f);
	free(buf);
	sync_objs_free(&known);
	return rc;
}

int
sync_request_awaiting(const struct sync_ctx *ctx, const char *target,
    uint64_t *n)
{
	struct sync_objs unlisted = {0}, named = {0};
	size_t i;
	int rc;

	*n = 0;
	if ((rc = sync_unlisted_load(ctx, target, &unlisted)) == 0 &&
	    (rc = sync_request_named(ctx, target, &named)) == 0)
		for (i = 0; i < unlisted.n; i++)
			*n += !has_path(&named, unlisted.v[i].path);
	sync_objs_free(&unlisted);
	sync_objs_free(&named);
	return rc;
}

/* ---- what the center says ------------------------------------------- */

/* Print @s, which a center wrote, with anything but printable ASCII as
 * '?': it must not drive the terminal. */
static void
print_untrusted(const char *s)
{
	for (; *s != '\0'; s++)
		putchar(*s >= 0x20 && *s < 0x7f ? *s : '?');
}

int
sync_request_center_show(sync_conn *c, const char *target)
{
	struct sync_rlist l = {0};
	uint8_t sha[SYNC_HASH_LEN], *mem;
	unsigned napplied = 0, ncancelled = 0;
	char due[32];
	size_t i, n;
	int rc;

	if ((rc = sync_remote_list(c, "center/requests", &l)) != 0)
		goto out;
	for (i = 0; i < l.n; i++) {
		const struct sync_rent *e = &l.v[i];
		struct sjson *root = NULL;
		const char *state, *why;
		uint64_t num;

		n = strlen(e->path);
		if (!e->isreg || e->size > 65536 || n < 5 ||
		    strcmp(e->path + n - 5, ".json") != 0)
			continue;
		mem = NULL;
		if ((rc = sync_remote_get(c, e->path, e->size, -1, &mem, NULL,
		    sha)) != 0)
			goto out;
		if (sjson_parse((const char *)mem, e->size, &root) != 0 ||
		    (state = sjson_str(root, "state")) == NULL ||
		    sjson_u64(root, "request", &num) != 0) {
			sjson_free(root);
			free(mem);
			continue;
		}
		why = sjson_str(root, "why");
		if (strcmp(state, "applied") == 0) {
			napplied++;
		} else if (strcmp(state, "cancelled") == 0) {
			ncancelled++;
		} else if (strcmp(state, "pending") == 0) {
			printf("%s: center: deletion request %llu pending, due "
			    "%s (to keep its objects: beemo-sync release "
			    "--cancel %llu)\n", target, (unsigned long long)num,
			    sync_time_str(due, sizeof(due), sjson_num(root,
			    "due_ns")), (unsigned long long)num);
		} else {
			printf("%s: center: deletion request %llu ", target,
			    (unsigned long long)num);
			print_untrusted(state);
			fputs(": ", stdout);
			print_untrusted(why ? why : "");
			putchar('\n');
		}
		sjson_free(root);
		free(mem);
	}
	if (napplied + ncancelled > 0)
		printf("%s: center: %u deletion requests applied, %u "
		    "cancelled\n", target, napplied, ncancelled);
out:
	sync_rlist_free(&l);
	return rc;
}
