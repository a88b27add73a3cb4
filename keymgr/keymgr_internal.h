/*
 * keymgr_internal.h -- shared by the keymgr_*.c files; not installed.
 *
 * The library is split by concern:
 *   keymgr_crypto.c   primitives: scrypt + AES-256-GCM password seals,
 *                     RSA-3072 OAEP wraps, HKDF, HMAC key check values.
 *   keymgr_format.c   the four key file formats (beemo-keys(5)): parse
 *                     into the in-memory models below and serialize back,
 *                     digest trailer, bounds.  No secrets pass here.
 *   keymgr_files.c    the key directory: paths, loading and atomic saving
 *                     of files, the lock, error messages, open/init/list.
 *   keymgr_admin.c    the administrator: unsealing admin.key, appliance
 *                     key recovery, K_OFF, sealed blobs.
 *   keymgr_rekey.c    the administrator's password change and the
 *                     resumable replacement of the ADMIN key pair.
 *   keymgr_machine.c  machines and users: add, remove, passwords, rotate,
 *                     POSTE key files.
 *   keymgr_unlock.c   unlocking SECRET as each principal; subkeys.
 *
 * On-disk structures are byte arrays with explicit big-endian fields and
 * a static assertion on their size; the variable-length parts (public
 * keys, sealed private keys, per-generation wraps) follow them as
 * described in beemo-keys(5).  Every multi-byte integer is big-endian.
 */
#ifndef BEEMO_KEYMGR_INTERNAL_H
#define BEEMO_KEYMGR_INTERNAL_H

#include <assert.h>
#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#include "keymgr.h"

/* Format versions, per kind of file (beemo-keys(5)).  Every reader
 * accepts 1 .. its current version; writers write the current one
 * (appliance.key: version 1 only where no K_OFF exists to write). */
#define KM_VERSION_APPLIANCE 2 /* 2: K_OFF */
#define KM_VERSION_ADMIN 2     /* 2: one self-authenticating seal */
#define KM_VERSION_MACHINE 1
#define KM_VERSION_POSTE 1
#define KM_VERSION_SEALED 1
#define KM_VERSION_ENDORSE 1
#define KM_FILE_MAX (1u << 20)  /* bytes of any key file */
#define KM_NAME_MAX 64          /* as bm_valid_name() */
#define KM_PUB_MAX 1024         /* DER SubjectPublicKeyInfo, RSA-3072: 422 */
#define KM_PRIV_MAX 2560        /* DER RSAPrivateKey, RSA-3072: ~1770 */
#define KM_WRAP_LEN (KEYMGR_RSA_BITS / 8) /* one RSA-OAEP ciphertext */
#define KM_SALT_LEN 32
#define KM_NONCE_LEN 12
#define KM_TAG_LEN 16
#define KM_KCV_STORED 16        /* bytes of the check value kept on disk */
#define KM_DIGEST_LEN 32
#define KM_AES_LEN 32           /* BEEMO_AES and every AES-256 key */
#define KM_ERRMSG_LEN 512

/* scrypt work bound (N * r * p), see keymgr_kdf_default(). */
#define KM_KDF_MAXWORK (1ULL << 25)

/* File magics, 8 bytes each, no NUL. */
#define KM_MAGIC_APPLIANCE "BMKEYAPL"
#define KM_MAGIC_ADMIN "BMKEYADM"
#define KM_MAGIC_MACHINE "BMKEYMCH"
#define KM_MAGIC_POSTE "BMKEYPST"
#define KM_MAGIC_SEALED "BMSEALAD"
#define KM_MAGIC_ENDORSE "BMKEYEND"

enum km_kind {
	KM_APPLIANCE = 1,
	KM_ADMINFILE = 2,
	KM_MACHINE = 3,
	KM_POSTEFILE = 4,
};

/* ---- on-disk layouts -------------------------------------------------- */

/* Every file starts with this header. */
struct km_hdr_disk {
	uint8_t magic[8];
	uint8_t version[4];      /* KM_VERSION_<kind> */
	uint8_t appliance_id[KEYMGR_ID_LEN];
};
static_assert(sizeof(struct km_hdr_disk) == 28, "km_hdr_disk");

/* scrypt parameters as stored. */
struct km_kdf_disk {
	uint8_t N[8];
	uint8_t r[4];
	uint8_t p[4];
};
static_assert(sizeof(struct km_kdf_disk) == 16, "km_kdf_disk");

/* A password-sealed private key; followed by ctlen bytes of ciphertext
 * and GCM tag. */
struct km_sealed_disk {
	struct km_kdf_disk kdf;
	uint8_t salt[KM_SALT_LEN];
	uint8_t nonce[KM_NONCE_LEN];
	uint8_t ctlen[4];
};
static_assert(sizeof(struct km_sealed_disk) == 64, "km_sealed_disk");

/* appliance.key version 1: header, this, digest. */
struct km_appliance_disk {
	struct km_hdr_disk hdr;
	uint8_t created[8];
	uint8_t beemo_aes[KM_AES_LEN];
};
static_assert(sizeof(struct km_appliance_disk) == 68, "km_appliance_disk");

/* appliance.key version 2: header, this, digest. */
struct km_appliance2_disk {
	struct km_hdr_disk hdr;
	uint8_t created[8];
	uint8_t beemo_aes[KM_AES_LEN];
	uint8_t k_off[KEYMGR_OFFSITE_LEN];
};
static_assert(sizeof(struct km_appliance2_disk) == 100,
    "km_appliance2_disk");

/* admin.key version 2: this, ADMIN_PUB (publen), a km_sealed_disk, its
 * ciphertext and tag, digest.  The seal's plaintext is ADMIN_PRIV (DER),
 * BEEMO_AES and K_OFF; its associated data is every byte of the file
 * before the ciphertext, so nothing public in the file can be changed
 * without the password. */
struct km_admin2_disk {
	struct km_hdr_disk hdr;
	uint8_t created[8];
	struct km_kdf_disk kdf;  /* the appliance's parameters for seals */
	uint8_t publen[4];
};
static_assert(sizeof(struct km_admin2_disk) == 56, "km_admin2_disk");

/* admin.key version 1: this, ADMIN_PUB (publen), sealed ADMIN_PRIV,
 * digest.  Read only: its aes_wrap can be made by anyone who holds
 * ADMIN_PUB, so version 2 replaced it. */
struct km_admin_disk {
	struct km_hdr_disk hdr;
	uint8_t created[8];
	struct km_kdf_disk kdf;  /* the appliance's parameters for seals */
	uint8_t aes_wrap[KM_WRAP_LEN]; /* BEEMO_AES wrapped for ADMIN */
	uint8_t publen[4];
};
static_assert(sizeof(struct km_admin_disk) == 440, "km_admin_disk");

/* machines/NAME.key: this, POSTE_PUB (publen), ngens km_gen_disk,
 * nusers users, digest. */
struct km_machine_disk {
	struct km_hdr_disk hdr;
	uint8_t machine_id[KEYMGR_ID_LEN];
	uint8_t name[KM_NAME_MAX]; /* NUL-padded */
	uint8_t created[8];
	uint8_t current_gen[4];
	uint8_t ngens[4];
	uint8_t nusers[4];
	uint8_t publen[4];
};
static_assert(sizeof(struct km_machine_disk) == 132, "km_machine_disk");

struct km_gen_disk {
	uint8_t created[8];
	uint8_t kcv[KM_KCV_STORED];
	uint8_t wrap_admin[KM_WRAP_LEN];
	uint8_t wrap_poste[KM_WRAP_LEN];
};
static_assert(sizeof(struct km_gen_disk) == 792, "km_gen_disk");

/* One user: this, USER_PUB (publen), sealed USER_PRIV, ngens wraps. */
struct km_user_disk {
	uint8_t name[KM_NAME_MAX]; /* NUL-padded */
	uint8_t created[8];
	uint8_t publen[4];
};
static_assert(sizeof(struct km_user_disk) == 76, "km_user_disk");

/* POSTE key file: this, ctlen bytes (ciphertext and tag), digest.  The
 * AES-GCM associated data is this whole structure. */
struct km_poste_disk {
	struct km_hdr_disk hdr;
	uint8_t machine_id[KEYMGR_ID_LEN];
	uint8_t name[KM_NAME_MAX]; /* NUL-padded */
	uint8_t created[8];
	uint8_t poste_fpr[KM_DIGEST_LEN]; /* SHA-256 of POSTE_PUB (DER) */
	uint8_t nonce[KM_NONCE_LEN];
	uint8_t ctlen[4];
};
static_assert(sizeof(struct km_poste_disk) == 164, "km_poste_disk");

/* keymgr_seal_admin blob: this, 8-byte length, ciphertext, tag. */
struct km_sealblob_disk {
	struct km_hdr_disk hdr;
	uint8_t wrap[KM_WRAP_LEN]; /* the blob key wrapped for ADMIN */
	uint8_t nonce[KM_NONCE_LEN];
	uint8_t len[8];
};
static_assert(sizeof(struct km_sealblob_disk) == 432, "km_sealblob_disk");

/* An endorsement of a new admin.key (keymgr_admin_endorse): the
 * signature covers every byte before it. */
struct km_endorse_disk {
	struct km_hdr_disk hdr;
	uint8_t created[8];              /* ns since the epoch */
	uint8_t endorsed[KM_DIGEST_LEN]; /* SHA-256 of the new admin.key */
	uint8_t sig[KEYMGR_SIG_LEN];     /* by the old ADMIN_PRIV */
};
static_assert(sizeof(struct km_endorse_disk) == 452, "km_endorse_disk");

/* ---- in-memory models (public material only) -------------------------- */

struct km_sealed {
	struct keymgr_kdf kdf;
	uint8_t salt[KM_SALT_LEN];
	uint8_t nonce[KM_NONCE_LEN];
	uint8_t ct[KM_PRIV_MAX + KM_TAG_LEN];
	size_t ctlen;
};

struct km_appliance {
	uint8_t appliance_id[KEYMGR_ID_LEN];
	uint64_t created;
	uint8_t *beemo_aes; /* KM_AES_LEN bytes in the secure heap */
	uint8_t *k_off;     /* KEYMGR_OFFSITE_LEN bytes in the secure heap;
	                       NULL in a version 1 file */
};

struct km_admin {
	uint32_t version;   /* 1 or KM_VERSION_ADMIN */
	uint8_t appliance_id[KEYMGR_ID_LEN];
	uint64_t created;
	struct keymgr_kdf kdf;
	uint8_t aes_wrap[KM_WRAP_LEN]; /* version 1 only */
	uint8_t pub[KM_PUB_MAX];
	size_t publen;
	struct km_sealed priv;
};

struct km_gen {
	uint64_t created;
	uint8_t kcv[KM_KCV_STORED];
	uint8_t wrap_admin[KM_WRAP_LEN];
	uint8_t wrap_poste[KM_WRAP_LEN];
};

struct km_user {
	char name[KM_NAME_MAX + 1];
	uint64_t created;
	uint8_t pub[KM_PUB_MAX];
	size_t publen;
	struct km_sealed priv;
	uint8_t wraps[KEYMGR_MAX_GENS][KM_WRAP_LEN]; /* [gen - 1] */
};

/* About 960 KiB: always heap-allocated (km_machine_new). */
struct km_machine {
	uint8_t appliance_id[KEYMGR_ID_LEN];
	uint8_t machine_id[KEYMGR_ID_LEN];
	char name[KM_NAME_MAX + 1];
	uint64_t created;
	uint32_t current_gen;
	uint32_t ngens;
	uint8_t poste_pub[KM_PUB_MAX];
	size_t poste_publen;
	struct km_gen gens[KEYMGR_MAX_GENS]; /* [gen - 1] */
	uint32_t nusers;
	struct km_user users[KEYMGR_MAX_USERS]; /* sorted by name */
};

struct km_poste {
	uint8_t appliance_id[KEYMGR_ID_LEN];
	uint8_t machine_id[KEYMGR_ID_LEN];
	char name[KM_NAME_MAX + 1];
	uint64_t created;
	uint8_t poste_fpr[KM_DIGEST_LEN];
	uint8_t nonce[KM_NONCE_LEN];
	uint8_t ct[KM_PRIV_MAX + KM_TAG_LEN];
	size_t ctlen;
	struct km_poste_disk raw; /* the header as read: the GCM AAD */
};

/*
 * What admin.key's password seal gives, in the secure heap (allocate with
 * km_secure_alloc, free with km_admin_keys_free).  From a version 1 file
 * only @priv: BEEMO_AES is then in the separate aes_wrap, and there is no
 * K_OFF (@has_keys 0).
 */
struct km_admin_keys {
	EVP_PKEY *priv;
	int has_keys;
	uint8_t beemo_aes[KM_AES_LEN];
	uint8_t k_off[KEYMGR_OFFSITE_LEN];
};

/* ---- the handle ------------------------------------------------------- */

struct keymgr {
	char dir[4096];
	uint8_t appliance_id[KEYMGR_ID_LEN];
	struct keymgr_kdf kdf;
	char errmsg[KM_ERRMSG_LEN]; /* see keymgr_errmsg() */
};

/* Every generation of one machine's SECRET; lives in the secure heap. */
struct keymgr_secret {
	enum keymgr_principal who;
	char user[KM_NAME_MAX + 1];
	uint8_t machine_id[KEYMGR_ID_LEN];
	uint32_t current_gen;
	uint32_t ngens;
	uint8_t keys[KEYMGR_MAX_GENS][KEYMGR_SECRET_LEN]; /* [gen - 1] */
};

/* ---- keymgr_crypto.c -------------------------------------------------- */

/* km_kdf_valid -- nonzero when @kdf is within the documented bounds. */
int km_kdf_valid(const struct keymgr_kdf *kdf);

/* km_random -- @n bytes from the CSPRNG; km_random_priv for keys.
 * Return 0 or -EIO. */
int km_random(uint8_t *buf, size_t n);
int km_random_priv(uint8_t *buf, size_t n);

/* km_sha256 -- SHA-256 of @len bytes.  Returns 0 or -EIO. */
int km_sha256(const uint8_t *in, size_t len, uint8_t out[KM_DIGEST_LEN]);

/* km_secure_alloc -- zeroed secure-heap buffer, or NULL; free with
 * bm_free_secret(p, n). */
void *km_secure_alloc(size_t n);

/*
 * km_pw_seal -- seal @ptlen bytes (a private key DER) with @pw: fresh
 * salt and nonce, key = scrypt(@pw, salt, @kdf), AES-256-GCM with @aad.
 * km_pw_open -- the reverse; *@pt receives a secure-heap buffer of
 * *@ptlen bytes (free with bm_free_secret(*pt, *ptlen)).
 * Return 0, BEEMO_EPASSWORD (tag mismatch: wrong password, or a
 * tampered seal whose digest was recomputed), -EINVAL (bad @kdf),
 * -ENOMEM or -EIO.
 */
int km_pw_seal(const char *pw, size_t pwlen, const struct keymgr_kdf *kdf,
    const uint8_t *aad, size_t aadlen, const uint8_t *pt, size_t ptlen,
    struct km_sealed *out);

/*
 * km_pw_seal in two steps, for a seal whose own parameters, salt, nonce
 * and length are part of its associated data (admin.key version 2):
 * km_pw_seal_begin fills @out's kdf, a fresh salt and nonce, and the
 * ctlen that @ptlen bytes will take; km_pw_seal_end seals with them.
 * Return 0, -EINVAL (bad @kdf or @ptlen), -ENOMEM or -EIO.
 */
int km_pw_seal_begin(const struct keymgr_kdf *kdf, size_t ptlen,
    struct km_sealed *out);
int km_pw_seal_end(const char *pw, size_t pwlen, const uint8_t *aad,
    size_t aadlen, const uint8_t *pt, size_t ptlen, struct km_sealed *out);
int km_pw_open(const char *pw, size_t pwlen, const struct km_sealed *s,
    const uint8_t *aad, size_t aadlen, uint8_t **pt, size_t *ptlen);

/* km_rsa_keygen -- a new RSA-3072 key pair.  Returns 0 or -EIO. */
int km_rsa_keygen(EVP_PKEY **out);

/* km_pub_der -- SubjectPublicKeyInfo DER of @pkey into @buf
 * (KM_PUB_MAX).  Returns 0 or -EIO. */
int km_pub_der(EVP_PKEY *pkey, uint8_t *buf, size_t *len);

/* km_priv_der -- RSAPrivateKey DER of @pkey into a new secure buffer.
 * Returns 0, -ENOMEM or -EIO. */
int km_priv_der(EVP_PKEY *pkey, uint8_t **der, size_t *len);

/* km_pub_load -- parse a public key; it must be RSA of KEYMGR_RSA_BITS.
 * Returns 0 or BEEMO_EFORMAT. */
int km_pub_load(const uint8_t *der, size_t len, EVP_PKEY **out);

/* km_priv_load -- parse a private key DER and check that its public half
 * is exactly @pub.  Returns 0 or BEEMO_EFORMAT. */
int km_priv_load(const uint8_t *der, size_t len, const uint8_t *pub,
    size_t publen, EVP_PKEY **out);

/*
 * km_wrap / km_unwrap -- RSA-OAEP (SHA-256, MGF1-SHA-256) of a 32-byte
 * key with @label as the OAEP label, which binds the wrap to its place
 * (see km_label).  km_unwrap returns 0, -EBADMSG (does not decrypt, or
 * not 32 bytes), or -EIO.
 */
int km_wrap(EVP_PKEY *pub, const uint8_t *label, size_t labellen,
    const uint8_t key[KEYMGR_SECRET_LEN], uint8_t out[KM_WRAP_LEN]);
int km_unwrap(EVP_PKEY *priv, const uint8_t *label, size_t labellen,
    const uint8_t in[KM_WRAP_LEN], uint8_t key[KEYMGR_SECRET_LEN]);

/* km_kcv -- HMAC-SHA256(@key, "beemo key check"), first KM_KCV_STORED
 * bytes.  Returns 0 or -EIO. */
int km_kcv(const uint8_t key[KEYMGR_SECRET_LEN],
    uint8_t out[KM_KCV_STORED]);

/* km_hkdf -- HKDF-SHA256(key, salt, info) to 32 bytes.  Returns 0 or
 * -EIO. */
int km_hkdf(const uint8_t *key, size_t keylen, const uint8_t *salt,
    size_t saltlen, const char *info, uint8_t out[KEYMGR_SECRET_LEN]);

/* Largest OAEP label: prefix, two ids, generation, kind, name. */
#define KM_LABEL_MAX 128

/*
 * km_label -- the OAEP label of one wrap:
 *   "beemo/v1/wrap" || appliance id || machine id || be32 gen ||
 *   u8 principal || name[64] (user name NUL-padded; zeros otherwise).
 * Returns its length.
 */
size_t km_label(uint8_t out[KM_LABEL_MAX], const uint8_t *appliance_id,
    const uint8_t *machine_id, uint32_t gen, enum keymgr_principal who,
    const char *user);

/* ---- keymgr_format.c -------------------------------------------------- */

/* The parsers write a sentence naming @path into @msg on failure and
 * return BEEMO_EFORMAT or BEEMO_EVERSION; they read nothing past @len.
 * Parsed secrets (BEEMO_AES) go to the secure heap. */
int km_parse_appliance(const uint8_t *buf, size_t len, const char *path,
    struct km_appliance *out, char *msg, size_t msglen);
int km_parse_admin(const uint8_t *buf, size_t len, const char *path,
    struct km_admin *out, char *msg, size_t msglen);
int km_parse_machine(const uint8_t *buf, size_t len, const char *path,
    struct km_machine *out, char *msg, size_t msglen);
int km_parse_poste(const uint8_t *buf, size_t len, const char *path,
    struct km_poste *out, char *msg, size_t msglen);

/* km_parse_check_msg -- keymgr_parse_check() with a message naming
 * @path. */
int km_parse_check_msg(const uint8_t *buf, size_t len, const char *path,
    char *msg, size_t msglen);

/* The serializers return a malloc'd file image (digest included);
 * km_ser_appliance's image holds BEEMO_AES and is in the secure heap
 * (free with bm_free_secret). */
int km_ser_appliance(const struct km_appliance *a, uint8_t **out,
    size_t *outlen);
int km_ser_admin(const struct km_admin *a, uint8_t **out, size_t *outlen);
int km_ser_machine(const struct km_machine *m, uint8_t **out,
    size_t *outlen);
int km_ser_poste(const struct km_poste *p, uint8_t **out, size_t *outlen);

/* km_poste_aad -- fill p->raw, the POSTE key file header, from @p. */
void km_poste_aad(struct km_poste *p);

/* km_appliance_clear -- free the secure parts of @a. */
void km_appliance_clear(struct km_appliance *a);

/* km_machine_new / km_machine_free -- the ~1 MiB model. */
struct km_machine *km_machine_new(void);
void km_machine_free(struct km_machine *m);

/* km_seal_aad -- associated data of a password seal: file header (magic,
 * version, appliance id), u8 principal, machine id (zeros for ADMIN),
 * name[64] (NUL-padded), public key DER.  @out holds KM_SEAL_AAD_MAX. */
#define KM_SEAL_AAD_MAX (28 + 1 + KEYMGR_ID_LEN + KM_NAME_MAX + KM_PUB_MAX)
size_t km_seal_aad(uint8_t *out, const char *magic,
    const uint8_t *appliance_id, enum keymgr_principal who,
    const uint8_t *machine_id, const char *name, const uint8_t *pub,
    size_t publen);

/* km_put_hdr -- write magic, @version and appliance id. */
void km_put_hdr(struct km_hdr_disk *h, const char *magic, uint32_t version,
    const uint8_t *appliance_id);

/*
 * km_admin_aad -- the associated data of admin.key's seal into @out
 * (KM_ADMIN_AAD_MAX bytes); returns its length.  Version 2: the file's
 * bytes before the ciphertext (header, created, KDF parameters for new
 * seals, ADMIN_PUB, the seal's parameters, salt, nonce and length), so
 * @a->priv's kdf, salt, nonce and ctlen must be set first
 * (km_pw_seal_begin).  Version 1: km_seal_aad() of "admin".
 */
#define KM_ADMIN_AAD_MAX \
	(sizeof(struct km_admin2_disk) + KM_PUB_MAX + \
	    sizeof(struct km_sealed_disk))
size_t km_admin_aad(const struct km_admin *a, uint8_t *out);

/* ---- keymgr_files.c --------------------------------------------------- */

/* km_err -- set km->errmsg (printf-style) and return @rc. */
int km_err(keymgr *km, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* km_done -- end of a public call: on failure make sure errmsg is set,
 * on success clear it; returns @rc. */
int km_done(keymgr *km, int rc);

/* km_lock / km_unlock -- the exclusive DIR/lock for read-modify-write;
 * km_lock also removes temporaries left by killed writers. */
int km_lock(keymgr *km, int *fd);
void km_unlock(int fd);

/* Path helpers: DIR/admin.key, DIR/appliance.key, DIR/machines/NAME.key. */
int km_path_admin(const keymgr *km, char *buf, size_t size);
int km_path_appliance(const keymgr *km, char *buf, size_t size);
int km_path_machine(const keymgr *km, const char *name, char *buf,
    size_t size);

/*
 * km_machine_file_admin -- the start of removing or setting aside the
 * file of machine @machine: check the name, take DIR/lock into *@lockfd
 * (the caller releases it with km_unlock, also on error), put the file's
 * path into @path (@pathlen bytes), require that it exists, and unseal
 * ADMIN_PRIV with the administrator's password into *@admin (the caller
 * frees it).  The file itself is not parsed, so a corrupt one can be
 * removed.  Returns 0, -EINVAL, BEEMO_ENOMACHINE, BEEMO_EPASSWORD, or an
 * error of locking; the message is set (km_err).
 */
int km_machine_file_admin(keymgr *km, const char *machine,
    const char *admin_pw, size_t admin_pwlen, char *path, size_t pathlen,
    int *lockfd, EVP_PKEY **admin);

/* Loaders: read, parse, check the appliance id; errmsg set on failure.
 * km_load_machine returns BEEMO_ENOMACHINE for a missing file and
 * BEEMO_EFOREIGN for a file of another appliance. */
int km_load_admin(keymgr *km, struct km_admin *a);
/* km_load_admin_at -- the same for the admin key file @path (admin.key
 * or a pending admin.key.new); a missing file is a bare -ENOENT. */
int km_load_admin_at(keymgr *km, const char *path, struct km_admin *a);
/* km_load_admin_pub -- km_load_admin, then ADMIN_PUB parsed into @pub
 * (the caller frees it); a bad public key is a corrupt key file. */
int km_load_admin_pub(keymgr *km, struct km_admin *a, EVP_PKEY **pub);
int km_load_appliance(keymgr *km, struct km_appliance *a);
int km_load_machine(keymgr *km, const char *name, struct km_machine **m);

/* km_save_machine -- serialize and replace DIR/machines/NAME.key
 * atomically (@exclusive: create, -EEXIST if present). */
int km_save_machine(keymgr *km, const struct km_machine *m, int exclusive);

/* km_find_user -- index of @user in @m, or -1. */
int km_find_user(const struct km_machine *m, const char *user);

/* ---- keymgr_admin.c --------------------------------------------------- */

/*
 * km_admin_open -- unseal parsed admin.key @a with @pw into a new
 * km_admin_keys, checking that ADMIN_PRIV is ADMIN_PUB's half.  Needs no
 * handle: @msg receives the sentence of a failure.
 * Returns 0, BEEMO_EPASSWORD (wrong password or altered file),
 * BEEMO_EFORMAT (the seal opens but does not hold a key pair matching
 * ADMIN_PUB), -ENOMEM or -EIO.
 */
int km_admin_open(const struct km_admin *a, const char *path,
    const char *pw, size_t pwlen, struct km_admin_keys **out, char *msg,
    size_t msglen);
void km_admin_keys_free(struct km_admin_keys *k);

/*
 * km_admin_seal -- set @a (version 2, its public fields already set) to
 * seal @k's ADMIN_PRIV, BEEMO_AES and K_OFF under @pw with @a->kdf.
 * Returns 0, -EINVAL, -ENOMEM or -EIO.
 */
int km_admin_seal(struct km_admin *a, const struct km_admin_keys *k,
    const char *pw, size_t pwlen);

/*
 * km_admin_unseal -- km_load_admin, then km_admin_open with @pw; the
 * message is set in @km.
 * @a: if non-NULL, receives the parsed admin.key.
 */
int km_admin_unseal(keymgr *km, const char *pw, size_t pwlen,
    struct km_admin *a, struct km_admin_keys **out);

/*
 * km_admin_priv -- load admin.key and unseal ADMIN_PRIV with @pw.
 * @a: if non-NULL, receives the parsed admin.key.
 * Returns 0, BEEMO_EPASSWORD (errmsg "wrong password..."), or an error
 * of km_load_admin.
 */
int km_admin_priv(keymgr *km, const char *pw, size_t pwlen,
    struct km_admin *a, EVP_PKEY **priv);

/* ---- keymgr_rekey.c --------------------------------------------------- */

/*
 * km_admin_settled -- 0, or -EBUSY (message set) while DIR/admin.key.new
 * is left by an interrupted replacement of the ADMIN key pair: changes
 * authorized by the administrator wait until it is finished.
 */
int km_admin_settled(keymgr *km);

/*
 * km_unlock_admin_pending -- after unlocking @m as the administrator
 * failed with @rc: if an interrupted key replacement left admin.key.new
 * and @pw opens it, unlock @m with its key pair; otherwise say which
 * password @m needs.  Returns 0 (*@out set), BEEMO_EPASSWORD (message
 * names the password to give), or @rc when no replacement is pending.
 */
int km_unlock_admin_pending(keymgr *km, const struct km_machine *m,
    const char *pw, size_t pwlen, int rc, keymgr_secret **out);

/* ---- keymgr_machine.c ------------------------------------------------- */

/*
 * km_machine_rekey -- move @machine from the ADMIN key pair @old to @new:
 * every generation rewrapped for @new and a new current generation, in
 * one rewrite of its file.  A machine already on @new is left as it is.
 * Returns 0, BEEMO_EFORMAT (opens with neither), -ENOSPC, or an error of
 * loading or saving.  The caller holds the lock.
 */
int km_machine_rekey(keymgr *km, const char *machine, EVP_PKEY *old,
    EVP_PKEY *new);

/* ---- keymgr_unlock.c -------------------------------------------------- */

/* km_unlock_all -- unwrap every generation of @m with @priv as @who
 * (user index @ui for KEYMGR_USER) into a new secret; checks each KCV. */
int km_unlock_all(keymgr *km, const struct km_machine *m, EVP_PKEY *priv,
    enum keymgr_principal who, int ui, keymgr_secret **out);

/* km_secret_new -- a zeroed keymgr_secret in the secure heap. */
keymgr_secret *km_secret_new(void);

/* km_user_index -- index of @user in @m, or -EINVAL (bad name) or
 * BEEMO_ENOUSER, with the message set. */
int km_user_index(keymgr *km, const struct km_machine *m, const char *user);

/* km_user_priv -- unseal USER_PRIV of user @ui with @pw.  Returns 0,
 * BEEMO_EPASSWORD ("wrong password for user U of machine M"),
 * BEEMO_EFORMAT, or a negative errno. */
int km_user_priv(keymgr *km, const struct km_machine *m, int ui,
    const char *pw, size_t pwlen, EVP_PKEY **priv);

/* km_poste_kek -- the AES key of POSTE key files:
 * HKDF-SHA256(BEEMO_AES, salt: appliance id, "beemo/v1/poste-key-file"). */
int km_poste_kek(const struct km_appliance *ap, uint8_t key[KM_AES_LEN]);

/* km_label_ok -- 1 if @label may name a subkey or a signature: 1 to 32
 * characters of a-z, 0-9 and '-', else 0 (keymgr_subkey.c). */
int km_label_ok(const char *label);

#endif /* BEEMO_KEYMGR_INTERNAL_H */
