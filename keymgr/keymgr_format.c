/*
 * keymgr_format.c -- parsing and writing the key files of beemo-keys(5).
 *
 * A file is read in this order, so that each failure has one meaning:
 *   1. size: at least a header and a digest, at most KM_FILE_MAX bytes;
 *   2. magic: the expected kind ("not a Beemo key file" otherwise);
 *   3. digest: SHA-256 of everything before the last 32 bytes must match
 *      them ("corrupt (digest mismatch)"): any flipped or cut byte stops
 *      here, before a password is even tried;
 *   4. version: 1 .. the current version of the kind ("written by a newer
 *      Beemo"); a version field that was corrupted is caught by 3, so 4
 *      only sees real versions;
 *   5. structure: every count and length within its bound and the file
 *      consumed exactly ("corrupt (bad FIELD)").
 * The reader never reads past the buffer: every take is checked against
 * what is left, and a failed take poisons the reader.
 */
#include <errno.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "bm_bytes.h"
#include "bm_err.h"
#include "bm_pass.h"
#include "keymgr_internal.h"

/* ---- reading ---------------------------------------------------------- */

struct rd {
	const uint8_t *p;
	size_t left;
	int bad;
};

static const uint8_t *
take(struct rd *r, size_t n)
{
	const uint8_t *p = r->p;

	if (r->bad || n > r->left) {
		r->bad = 1;
		return NULL;
	}
	r->p += n;
	r->left -= n;
	return p;
}

/* Copy a fixed on-disk structure out of the reader. */
static int
take_struct(struct rd *r, void *dst, size_t n)
{
	const uint8_t *p = take(r, n);

	if (p == NULL)
		return -1;
	memcpy(dst, p, n);
	return 0;
}

static int
fail(char *msg, size_t msglen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int
fail(char *msg, size_t msglen, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, msglen, fmt, ap);
	va_end(ap);
	return rc;
}

static const char *
kind_name(const char *magic)
{
	if (!memcmp(magic, KM_MAGIC_APPLIANCE, 8))
		return "appliance key file";
	if (!memcmp(magic, KM_MAGIC_ADMIN, 8))
		return "administrator key file";
	if (!memcmp(magic, KM_MAGIC_MACHINE, 8))
		return "machine key file";
	return "POSTE key file";
}

/*
 * Steps 1-4 above, for a kind whose current version is @maxver.  On
 * success @r is positioned after the header with the digest excluded,
 * and @h holds the header.
 */
static int
open_file(const uint8_t *buf, size_t len, const char *magic,
    uint32_t maxver, const char *path, struct rd *r, struct km_hdr_disk *h,
    char *msg, size_t msglen)
{
	uint8_t md[KM_DIGEST_LEN];
	uint32_t version;

	if (len > KM_FILE_MAX)
		return fail(msg, msglen, BEEMO_EFORMAT,
		    "key file %s is too large (%zu bytes, at most %u)", path,
		    len, KM_FILE_MAX);
	if (len < sizeof(*h) + KM_DIGEST_LEN) {
		if (len >= 8 && memcmp(buf, magic, 8) == 0)
			return fail(msg, msglen, BEEMO_EFORMAT,
			    "key file %s is corrupt (truncated to %zu bytes)",
			    path, len);
		return fail(msg, msglen, BEEMO_EFORMAT,
		    "%s is not a Beemo %s (too short)", path,
		    kind_name(magic));
	}
	memcpy(h, buf, sizeof(*h));
	if (memcmp(h->magic, magic, 8) != 0)
		return fail(msg, msglen, BEEMO_EFORMAT,
		    "%s is not a Beemo %s (bad magic)", path,
		    kind_name(magic));
	if (km_sha256(buf, len - KM_DIGEST_LEN, md) != 0)
		return fail(msg, msglen, -EIO, "cannot hash %s", path);
	if (CRYPTO_memcmp(md, buf + len - KM_DIGEST_LEN, KM_DIGEST_LEN) != 0)
		return fail(msg, msglen, BEEMO_EFORMAT,
		    "key file %s is corrupt (digest mismatch)", path);
	version = bm_be32dec(h->version);
	if (version < 1 || version > maxver)
		return fail(msg, msglen, BEEMO_EVERSION,
		    "key file %s has format version %u; this Beemo reads "
		    "versions 1 to %u", path, version, maxver);
	r->p = buf + sizeof(*h);
	r->left = len - sizeof(*h) - KM_DIGEST_LEN;
	r->bad = 0;
	return 0;
}

static int
bad(char *msg, size_t msglen, const char *path, const char *what)
{
	return fail(msg, msglen, BEEMO_EFORMAT,
	    "key file %s is corrupt (bad %s)", path, what);
}

/* A NUL-padded name field: valid name, zeros after it. */
static int
get_name(const uint8_t field[KM_NAME_MAX], char out[KM_NAME_MAX + 1])
{
	size_t n = strnlen((const char *)field, KM_NAME_MAX), i;

	for (i = n; i < KM_NAME_MAX; i++)
		if (field[i] != 0)
			return -1;
	memcpy(out, field, n);
	out[n] = '\0';
	return bm_valid_name(out) ? 0 : -1;
}

static void
put_name(uint8_t field[KM_NAME_MAX], const char *name)
{
	memset(field, 0, KM_NAME_MAX);
	memcpy(field, name, strnlen(name, KM_NAME_MAX));
}

static int
get_kdf(const struct km_kdf_disk *d, struct keymgr_kdf *kdf)
{
	uint64_t r = bm_be32dec(d->r), p = bm_be32dec(d->p);

	kdf->N = bm_be64dec(d->N);
	kdf->r = (uint32_t)r;
	kdf->p = (uint32_t)p;
	return km_kdf_valid(kdf) ? 0 : -1;
}

static void
put_kdf(struct km_kdf_disk *d, const struct keymgr_kdf *kdf)
{
	bm_be64enc(d->N, kdf->N);
	bm_be32enc(d->r, kdf->r);
	bm_be32enc(d->p, kdf->p);
}

/* A public key: length from the fixed part, then the bytes. */
static int
get_pub(struct rd *r, const uint8_t publen[4], uint8_t *pub, size_t *len)
{
	uint32_t n = bm_be32dec(publen);
	const uint8_t *p;

	if (n == 0 || n > KM_PUB_MAX || (p = take(r, n)) == NULL)
		return -1;
	memcpy(pub, p, n);
	*len = n;
	return 0;
}

static int
get_sealed(struct rd *r, struct km_sealed *s)
{
	struct km_sealed_disk d;
	const uint8_t *p;
	uint32_t n;

	if (take_struct(r, &d, sizeof(d)) != 0 || get_kdf(&d.kdf, &s->kdf))
		return -1;
	n = bm_be32dec(d.ctlen);
	if (n <= KM_TAG_LEN || n > sizeof(s->ct) || (p = take(r, n)) == NULL)
		return -1;
	memcpy(s->salt, d.salt, KM_SALT_LEN);
	memcpy(s->nonce, d.nonce, KM_NONCE_LEN);
	memcpy(s->ct, p, n);
	s->ctlen = n;
	return 0;
}

int
km_parse_appliance(const uint8_t *buf, size_t len, const char *path,
    struct km_appliance *out, char *msg, size_t msglen)
{
	struct km_appliance2_disk d;
	size_t need;
	struct rd r;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = open_file(buf, len, KM_MAGIC_APPLIANCE,
	    KM_VERSION_APPLIANCE, path, &r, &d.hdr, msg, msglen)) != 0)
		return rc;
	/* Version 2 only appends K_OFF to version 1's fields. */
	need = bm_be32dec(d.hdr.version) == 1 ?
	    sizeof(struct km_appliance_disk) : sizeof(d);
	r.p = buf;
	r.left += sizeof(d.hdr);
	if (take_struct(&r, &d, need) != 0 || r.left != 0)
		return bad(msg, msglen, path, "length");
	rc = -ENOMEM;
	if ((out->beemo_aes = km_secure_alloc(KM_AES_LEN)) == NULL)
		goto out;
	if (need == sizeof(d) &&
	    (out->k_off = km_secure_alloc(KEYMGR_OFFSITE_LEN)) == NULL)
		goto out;
	memcpy(out->appliance_id, d.hdr.appliance_id, KEYMGR_ID_LEN);
	out->created = bm_be64dec(d.created);
	memcpy(out->beemo_aes, d.beemo_aes, KM_AES_LEN);
	if (out->k_off != NULL)
		memcpy(out->k_off, d.k_off, KEYMGR_OFFSITE_LEN);
	rc = 0;
out:
	if (rc != 0)
		km_appliance_clear(out);
	OPENSSL_cleanse(&d, sizeof(d));
	return rc;
}

void
km_appliance_clear(struct km_appliance *a)
{
	bm_free_secret(a->beemo_aes, KM_AES_LEN);
	bm_free_secret(a->k_off, KEYMGR_OFFSITE_LEN);
	a->beemo_aes = NULL;
	a->k_off = NULL;
}

/* The fixed part of admin.key version 1, after its header. */
static int
parse_admin1(struct rd *r, const uint8_t *buf, struct km_admin *out)
{
	struct km_admin_disk d;

	r->p = buf;
	r->left += sizeof(d.hdr);
	if (take_struct(r, &d, sizeof(d)) != 0 || get_kdf(&d.kdf, &out->kdf))
		return -1;
	memcpy(out->aes_wrap, d.aes_wrap, KM_WRAP_LEN);
	out->created = bm_be64dec(d.created);
	return get_pub(r, d.publen, out->pub, &out->publen);
}

/* The fixed part of admin.key version 2, after its header. */
static int
parse_admin2(struct rd *r, const uint8_t *buf, struct km_admin *out)
{
	struct km_admin2_disk d;

	r->p = buf;
	r->left += sizeof(d.hdr);
	if (take_struct(r, &d, sizeof(d)) != 0 || get_kdf(&d.kdf, &out->kdf))
		return -1;
	out->created = bm_be64dec(d.created);
	return get_pub(r, d.publen, out->pub, &out->publen);
}

int
km_parse_admin(const uint8_t *buf, size_t len, const char *path,
    struct km_admin *out, char *msg, size_t msglen)
{
	struct km_hdr_disk h;
	struct rd r;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = open_file(buf, len, KM_MAGIC_ADMIN, KM_VERSION_ADMIN, path,
	    &r, &h, msg, msglen)) != 0)
		return rc;
	out->version = bm_be32dec(h.version);
	if ((out->version == 1 ? parse_admin1(&r, buf, out) :
	    parse_admin2(&r, buf, out)) != 0)
		return bad(msg, msglen, path, "public part");
	if (get_sealed(&r, &out->priv) != 0)
		return bad(msg, msglen, path, "sealed private key");
	if (r.left != 0)
		return bad(msg, msglen, path, "length");
	memcpy(out->appliance_id, h.appliance_id, KEYMGR_ID_LEN);
	return 0;
}

/*
 * One freed model is kept for the next km_machine_new(): a fresh ~1 MiB
 * allocation is a fresh mapping whose every page faults in when zeroed,
 * and every key operation loads a machine file or two.  The model holds
 * public keys, wraps and sealed (encrypted) private keys, no secret; it
 * is zeroed again when reused.
 */
static pthread_mutex_t spare_lock = PTHREAD_MUTEX_INITIALIZER;
static struct km_machine *spare;

struct km_machine *
km_machine_new(void)
{
	struct km_machine *m;

	pthread_mutex_lock(&spare_lock);
	m = spare;
	spare = NULL;
	pthread_mutex_unlock(&spare_lock);
	if (m == NULL)
		return calloc(1, sizeof(struct km_machine));
	memset(m, 0, sizeof(*m));
	return m;
}

void
km_machine_free(struct km_machine *m)
{
	if (m == NULL)
		return;
	pthread_mutex_lock(&spare_lock);
	if (spare == NULL) {
		spare = m;
		m = NULL;
	}
	pthread_mutex_unlock(&spare_lock);
	free(m);
}

static int
parse_user(struct rd *r, uint32_t ngens, struct km_user *u)
{
	struct km_user_disk d;
	uint32_t g;

	if (take_struct(r, &d, sizeof(d)) != 0 || get_name(d.name, u->name))
		return -1;
	u->created = bm_be64dec(d.created);
	if (get_pub(r, d.publen, u->pub, &u->publen) != 0 ||
	    get_sealed(r, &u->priv) != 0)
		return -1;
	for (g = 0; g < ngens; g++)
		if (take_struct(r, u->wraps[g], KM_WRAP_LEN) != 0)
			return -1;
	return 0;
}

int
km_parse_machine(const uint8_t *buf, size_t len, const char *path,
    struct km_machine *m, char *msg, size_t msglen)
{
	struct km_machine_disk d;
	struct km_gen_disk gd;
	struct rd r;
	uint32_t g, u;
	int rc;

	memset(m, 0, sizeof(*m));
	if ((rc = open_file(buf, len, KM_MAGIC_MACHINE, KM_VERSION_MACHINE,
	    path, &r, &d.hdr, msg, msglen)) != 0)
		return rc;
	r.p = buf;
	r.left += sizeof(d.hdr);
	if (take_struct(&r, &d, sizeof(d)) != 0)
		return bad(msg, msglen, path, "length");
	if (get_name(d.name, m->name) != 0)
		return bad(msg, msglen, path, "machine name");
	m->ngens = bm_be32dec(d.ngens);
	m->current_gen = bm_be32dec(d.current_gen);
	m->nusers = bm_be32dec(d.nusers);
	if (m->ngens < 1 || m->ngens > KEYMGR_MAX_GENS ||
	    m->current_gen < 1 || m->current_gen > m->ngens)
		return bad(msg, msglen, path, "generation count");
	if (m->nusers > KEYMGR_MAX_USERS)
		return bad(msg, msglen, path, "user count");
	if (get_pub(&r, d.publen, m->poste_pub, &m->poste_publen) != 0)
		return bad(msg, msglen, path, "POSTE public key");
	for (g = 0; g < m->ngens; g++) {
		if (take_struct(&r, &gd, sizeof(gd)) != 0)
			return bad(msg, msglen, path, "generation");
		m->gens[g].created = bm_be64dec(gd.created);
		memcpy(m->gens[g].kcv, gd.kcv, KM_KCV_STORED);
		memcpy(m->gens[g].wrap_admin, gd.wrap_admin, KM_WRAP_LEN);
		memcpy(m->gens[g].wrap_poste, gd.wrap_poste, KM_WRAP_LEN);
	}
	for (u = 0; u < m->nusers; u++) {
		if (parse_user(&r, m->ngens, &m->users[u]) != 0)
			return bad(msg, msglen, path, "user entry");
		/* Strictly sorted: no duplicates, binary order. */
		if (u > 0 && strcmp(m->users[u - 1].name, m->users[u].name) >=
		    0)
			return bad(msg, msglen, path, "user order");
	}
	if (r.left != 0)
		return bad(msg, msglen, path, "length");
	memcpy(m->appliance_id, d.hdr.appliance_id, KEYMGR_ID_LEN);
	memcpy(m->machine_id, d.machine_id, KEYMGR_ID_LEN);
	m->created = bm_be64dec(d.created);
	return 0;
}

int
km_parse_poste(const uint8_t *buf, size_t len, const char *path,
    struct km_poste *p, char *msg, size_t msglen)
{
	struct km_poste_disk d;
	const uint8_t *ct;
	struct rd r;
	uint32_t n;
	int rc;

	memset(p, 0, sizeof(*p));
	if ((rc = open_file(buf, len, KM_MAGIC_POSTE, KM_VERSION_POSTE, path,
	    &r, &d.hdr, msg, msglen)) != 0)
		return rc;
	r.p = buf;
	r.left += sizeof(d.hdr);
	if (take_struct(&r, &d, sizeof(d)) != 0)
		return bad(msg, msglen, path, "length");
	if (get_name(d.name, p->name) != 0)
		return bad(msg, msglen, path, "machine name");
	n = bm_be32dec(d.ctlen);
	if (n <= KM_TAG_LEN || n > sizeof(p->ct) || (ct = take(&r, n)) ==
	    NULL)
		return bad(msg, msglen, path, "sealed private key");
	if (r.left != 0)
		return bad(msg, msglen, path, "length");
	memcpy(p->appliance_id, d.hdr.appliance_id, KEYMGR_ID_LEN);
	memcpy(p->machine_id, d.machine_id, KEYMGR_ID_LEN);
	p->created = bm_be64dec(d.created);
	memcpy(p->poste_fpr, d.poste_fpr, KM_DIGEST_LEN);
	memcpy(p->nonce, d.nonce, KM_NONCE_LEN);
	memcpy(p->ct, ct, n);
	p->ctlen = n;
	p->raw = d;
	return 0;
}

/* ---- keymgr_parse_check ----------------------------------------------- */

int
keymgr_parse_check(const uint8_t *buf, size_t len)
{
	char msg[KM_ERRMSG_LEN];

	return km_parse_check_msg(buf, len, "(buffer)", msg, sizeof(msg));
}

int
km_parse_check_msg(const uint8_t *buf, size_t len, const char *path,
    char *msg, size_t msglen)
{
	union {
		struct km_appliance a;
		struct km_admin ad;
		struct km_poste p;
	} u;
	struct km_machine *m;
	int rc;

	msg[0] = '\0';
	if (len < 8 || len > KM_FILE_MAX)
		return fail(msg, msglen, BEEMO_EFORMAT,
		    "%s is not a Beemo key file (%zu bytes)", path, len);
	if (!memcmp(buf, KM_MAGIC_APPLIANCE, 8)) {
		rc = km_parse_appliance(buf, len, path, &u.a, msg, msglen);
		km_appliance_clear(&u.a);
	} else if (!memcmp(buf, KM_MAGIC_ADMIN, 8)) {
		rc = km_parse_admin(buf, len, path, &u.ad, msg, msglen);
	} else if (!memcmp(buf, KM_MAGIC_POSTE, 8)) {
		rc = km_parse_poste(buf, len, path, &u.p, msg, msglen);
	} else if (!memcmp(buf, KM_MAGIC_MACHINE, 8)) {
		if ((m = km_machine_new()) == NULL)
			return -ENOMEM;
		rc = km_parse_machine(buf, len, path, m, msg, msglen);
		km_machine_free(m);
	} else {
		return fail(msg, msglen, BEEMO_EFORMAT,
		    "%s is not a Beemo key file (bad magic)", path);
	}
	/* Structure and length of any kind of file only: ENOMEM and the
	 * like cannot happen past the allocation above. */
	if (rc != 0 && rc != BEEMO_EVERSION)
		rc = rc == -ENOMEM ? rc : BEEMO_EFORMAT;
	return rc;
}

/* ---- writing ---------------------------------------------------------- */

struct wr {
	uint8_t *p;
	size_t len, cap;
	int err;
};

static void
put(struct wr *w, const void *data, size_t n)
{
	uint8_t *np;
	size_t ncap;

	if (w->err)
		return;
	if (w->len + n > KM_FILE_MAX) {
		w->err = -EFBIG;
		return;
	}
	if (w->len + n > w->cap) {
		ncap = w->cap ? w->cap : 4096;
		while (ncap < w->len + n)
			ncap *= 2;
		if ((np = realloc(w->p, ncap)) == NULL) {
			w->err = -ENOMEM;
			return;
		}
		w->p = np;
		w->cap = ncap;
	}
	memcpy(w->p + w->len, data, n);
	w->len += n;
}

/* Append the digest and hand the image over. */
static int
finish(struct wr *w, uint8_t **out, size_t *outlen)
{
	uint8_t md[KM_DIGEST_LEN];
	int rc = w->err;

	if (rc == 0 && w->len + KM_DIGEST_LEN > KM_FILE_MAX)
		rc = -EFBIG;
	if (rc == 0)
		rc = km_sha256(w->p, w->len, md);
	if (rc == 0)
		put(w, md, sizeof(md));
	if (rc == 0 && (rc = w->err) == 0) {
		*out = w->p;
		*outlen = w->len;
		return 0;
	}
	free(w->p);
	return rc;
}

void
km_put_hdr(struct km_hdr_disk *h, const char *magic, uint32_t version,
    const uint8_t *appliance_id)
{
	memcpy(h->magic, magic, 8);
	bm_be32enc(h->version, version);
	memcpy(h->appliance_id, appliance_id, KEYMGR_ID_LEN);
}

static void
put_sealed(struct wr *w, const struct km_sealed *s)
{
	struct km_sealed_disk d;

	put_kdf(&d.kdf, &s->kdf);
	memcpy(d.salt, s->salt, KM_SALT_LEN);
	memcpy(d.nonce, s->nonce, KM_NONCE_LEN);
	bm_be32enc(d.ctlen, (uint32_t)s->ctlen);
	put(w, &d, sizeof(d));
	put(w, s->ct, s->ctlen);
}

int
km_ser_appliance(const struct km_appliance *a, uint8_t **out, size_t *outlen)
{
	struct km_appliance2_disk d;
	size_t n = a->k_off != NULL ? sizeof(d) :
	    sizeof(struct km_appliance_disk);
	uint8_t *buf;

	/* The file holds BEEMO_AES in clear: build it in the secure heap
	 * and let the caller free it with bm_free_secret.  Without K_OFF
	 * (restored from a version 1 admin.key) it stays version 1. */
	if ((buf = km_secure_alloc(n + KM_DIGEST_LEN)) == NULL)
		return -ENOMEM;
	km_put_hdr(&d.hdr, KM_MAGIC_APPLIANCE, a->k_off != NULL ?
	    KM_VERSION_APPLIANCE : 1, a->appliance_id);
	bm_be64enc(d.created, a->created);
	memcpy(d.beemo_aes, a->beemo_aes, KM_AES_LEN);
	if (a->k_off != NULL)
		memcpy(d.k_off, a->k_off, KEYMGR_OFFSITE_LEN);
	memcpy(buf, &d, n);
	OPENSSL_cleanse(&d, sizeof(d));
	if (km_sha256(buf, n, buf + n) != 0) {
		bm_free_secret(buf, n + KM_DIGEST_LEN);
		return -EIO;
	}
	*out = buf;
	*outlen = n + KM_DIGEST_LEN;
	return 0;
}

/* admin.key version 2 up to its ciphertext: the seal's AAD. */
static void
put_admin_head(struct wr *w, const struct km_admin *a)
{
	struct km_admin2_disk d;
	struct km_sealed_disk sd;

	km_put_hdr(&d.hdr, KM_MAGIC_ADMIN, KM_VERSION_ADMIN, a->appliance_id);
	bm_be64enc(d.created, a->created);
	put_kdf(&d.kdf, &a->kdf);
	bm_be32enc(d.publen, (uint32_t)a->publen);
	put(w, &d, sizeof(d));
	put(w, a->pub, a->publen);
	put_kdf(&sd.kdf, &a->priv.kdf);
	memcpy(sd.salt, a->priv.salt, KM_SALT_LEN);
	memcpy(sd.nonce, a->priv.nonce, KM_NONCE_LEN);
	bm_be32enc(sd.ctlen, (uint32_t)a->priv.ctlen);
	put(w, &sd, sizeof(sd));
}

static_assert(KM_ADMIN_AAD_MAX >= KM_SEAL_AAD_MAX, "admin aad size");

size_t
km_admin_aad(const struct km_admin *a, uint8_t *out)
{
	uint8_t buf[KM_ADMIN_AAD_MAX];
	struct wr w = {.p = buf, .cap = sizeof(buf)};

	if (a->version == 1)
		return km_seal_aad(out, KM_MAGIC_ADMIN, a->appliance_id,
		    KEYMGR_ADMIN, NULL, "admin", a->pub, a->publen);
	/* Fits by KM_ADMIN_AAD_MAX: put() never grows this buffer. */
	put_admin_head(&w, a);
	memcpy(out, buf, w.len);
	return w.len;
}

int
km_ser_admin(const struct km_admin *a, uint8_t **out, size_t *outlen)
{
	struct wr w = {0};

	if (a->version != KM_VERSION_ADMIN)
		return -EINVAL;
	put_admin_head(&w, a);
	put(&w, a->priv.ct, a->priv.ctlen);
	return finish(&w, out, outlen);
}

int
km_ser_machine(const struct km_machine *m, uint8_t **out, size_t *outlen)
{
	struct km_machine_disk d;
	struct km_gen_disk gd;
	struct km_user_disk ud;
	struct wr w = {0};
	uint32_t g, u;

	km_put_hdr(&d.hdr, KM_MAGIC_MACHINE, KM_VERSION_MACHINE,
	    m->appliance_id);
	memcpy(d.machine_id, m->machine_id, KEYMGR_ID_LEN);
	put_name(d.name, m->name);
	bm_be64enc(d.created, m->created);
	bm_be32enc(d.current_gen, m->current_gen);
	bm_be32enc(d.ngens, m->ngens);
	bm_be32enc(d.nusers, m->nusers);
	bm_be32enc(d.publen, (uint32_t)m->poste_publen);
	put(&w, &d, sizeof(d));
	put(&w, m->poste_pub, m->poste_publen);
	for (g = 0; g < m->ngens; g++) {
		bm_be64enc(gd.created, m->gens[g].created);
		memcpy(gd.kcv, m->gens[g].kcv, KM_KCV_STORED);
		memcpy(gd.wrap_admin, m->gens[g].wrap_admin, KM_WRAP_LEN);
		memcpy(gd.wrap_poste, m->gens[g].wrap_poste, KM_WRAP_LEN);
		put(&w, &gd, sizeof(gd));
	}
	for (u = 0; u < m->nusers; u++) {
		const struct km_user *us = &m->users[u];

		put_name(ud.name, us->name);
		bm_be64enc(ud.created, us->created);
		bm_be32enc(ud.publen, (uint32_t)us->publen);
		put(&w, &ud, sizeof(ud));
		put(&w, us->pub, us->publen);
		put_sealed(&w, &us->priv);
		put(&w, us->wraps, (size_t)m->ngens * KM_WRAP_LEN);
	}
	return finish(&w, out, outlen);
}

void
km_poste_aad(struct km_poste *p)
{
	struct km_poste_disk *d = &p->raw;

	km_put_hdr(&d->hdr, KM_MAGIC_POSTE, KM_VERSION_POSTE,
	    p->appliance_id);
	memcpy(d->machine_id, p->machine_id, KEYMGR_ID_LEN);
	put_name(d->name, p->name);
	bm_be64enc(d->created, p->created);
	memcpy(d->poste_fpr, p->poste_fpr, KM_DIGEST_LEN);
	memcpy(d->nonce, p->nonce, KM_NONCE_LEN);
	bm_be32enc(d->ctlen, (uint32_t)p->ctlen);
}

int
km_ser_poste(const struct km_poste *p, uint8_t **out, size_t *outlen)
{
	struct wr w = {0};

	put(&w, &p->raw, sizeof(p->raw));
	put(&w, p->ct, p->ctlen);
	return finish(&w, out, outlen);
}

size_t
km_seal_aad(uint8_t *out, const char *magic, const uint8_t *appliance_id,
    enum keymgr_principal who, const uint8_t *machine_id, const char *name,
    const uint8_t *pub, size_t publen)
{
	struct km_hdr_disk h;
	size_t n = 0;

	/* Version 1, the version these seals were defined in: it is part
	 * of each seal, not the current version of its file. */
	km_put_hdr(&h, magic, 1, appliance_id);
	memcpy(out, &h, sizeof(h));
	n += sizeof(h);
	out[n++] = (uint8_t)who;
	if (machine_id != NULL)
		memcpy(out + n, machine_id, KEYMGR_ID_LEN);
	else
		memset(out + n, 0, KEYMGR_ID_LEN);
	n += KEYMGR_ID_LEN;
	put_name(out + n, name);
	n += KM_NAME_MAX;
	memcpy(out + n, pub, publen);
	return n + publen;
}
