/*
 * keymgr.h -- the key hierarchy of a Beemo appliance.
 *
 * Every client machine ("poste") has a random 256-bit data key, SECRET,
 * that protects all of that machine's backups.  SECRET is never stored in
 * clear; it is stored wrapped with RSA-3072 OAEP-SHA256 for three kinds of
 * principals:
 *
 *   SECRET_ADMIN = RSA(ADMIN_PUB, SECRET)   the appliance administrator
 *   SECRET_USER  = RSA(USER_PUB, SECRET)    each named user of the machine
 *   SECRET_POSTE = RSA(POSTE_PUB, SECRET)   the client machine itself
 *
 * ADMIN_PRIV and each USER_PRIV are stored sealed (AES-256-GCM) with a key
 * derived from the principal's password by scrypt; the scrypt parameters
 * and salt are stored next to the sealed key.  POSTE_PRIV is never stored
 * on the appliance: it is sealed with the appliance key BEEMO_AES into a
 * "POSTE key file" handed to the client machine, which presents it to
 * open a backup session.  BEEMO_AES alone opens nothing; the POSTE key
 * file alone opens nothing.  Public keys are stored in clear.
 *
 * A machine's SECRET can be rotated: rotation adds a new generation,
 * wrapped for every principal, and new data uses it; older generations
 * stay unlockable so that old versions restore.  Every revocation (a
 * user removed, a password reset, a POSTE key file reissued, the ADMIN
 * key pair replaced) starts a new generation that the revoked key has no
 * wrap of.  A machine holds at most KEYMGR_MAX_GENS generations; then
 * these operations fail with -ENOSPC and change nothing (remove the
 * machine and add it again to start anew).  Store code asks for the
 * subkeys of a given generation; they are derived from that generation's
 * SECRET with HKDF-SHA256 (salt: the machine id) under distinct labels.
 *
 * On disk (see beemo-keys(5)), under the key directory DIR:
 *
 *   DIR/appliance.key        BEEMO_AES, the off-site key K_OFF and the
 *                            appliance id; mode 0600.  The appliance's
 *                            device secret; not pushed off-site (a copy
 *                            is in admin.key's seal, for recovery).
 *   DIR/admin.key            ADMIN_PUB, default KDF parameters, and one
 *                            password seal of ADMIN_PRIV, BEEMO_AES and
 *                            K_OFF that authenticates the whole file.
 *   DIR/machines/NAME.key    one machine: id, POSTE_PUB, generations of
 *                            SECRET wrapped for ADMIN and POSTE, and per
 *                            user USER_PUB, sealed USER_PRIV and SECRET
 *                            wrapped for that user.
 *
 * Every file starts with a magic and a version, ends with a SHA-256 digest
 * of what precedes it (so corruption is told apart from a wrong password),
 * and is replaced atomically (temporary file created exclusively with mode
 * 0600, fsync, rename, fsync of the directory): a crash at any point
 * leaves the old or the new file.  Operations that change one machine
 * rewrite exactly one file, so they are atomic too.  The one operation
 * that changes every file, the replacement of the ADMIN key pair by
 * keymgr_admin_passwd(), is resumable instead (DIR/admin.key.new, see
 * there).
 *
 * Errors: every function returns 0 or a negative code: a negative errno,
 * or BEEMO_EPASSWORD (wrong password or key file), BEEMO_EFORMAT (a file
 * is truncated, corrupt or not a key file), BEEMO_EVERSION (written by a
 * newer version), BEEMO_EFOREIGN (a machine key file of another
 * appliance), BEEMO_ENOMACHINE, BEEMO_ENOUSER, BEEMO_ENOKEY (no such
 * generation), -EEXIST (already exists), -EINVAL (bad name or
 * parameters), -ENOSPC (KEYMGR_MAX_USERS or KEYMGR_MAX_GENS reached),
 * -EBUSY (an interrupted keymgr_admin_passwd() must be finished first:
 * every change authorized by the administrator says so until it is).
 * beemo_strerror() (bm_err.h) explains each code; keymgr_errmsg() gives the
 * sentence for the last failure on a handle, naming the file, machine or
 * principal ("key file F is corrupt (digest mismatch)", "this POSTE key
 * file belongs to machine pc2").  Nothing here logs or prints.
 *
 * Concurrency: every operation that changes a file holds an exclusive
 * flock(2) on DIR/lock for its whole read-modify-write, so two processes
 * never lose each other's changes; readers need no lock (files are only
 * ever replaced by rename).
 *
 * Secrets: passwords are passed as (pointer, length) and never copied
 * outside OpenSSL's secure heap by keymgr (OpenSSL's scrypt makes its own
 * short-lived copy, which it cleanses); every private key, SECRET and
 * derived key lives in the secure heap and is cleansed after use, on
 * error paths too.  Call keymgr_global_init() once at program start to
 * set up the secure heap.
 *
 * Thread safety: a keymgr handle must not be used by two threads at once;
 * a keymgr_secret is read-only after creation and may be shared.
 */
#ifndef BEEMO_KEYMGR_H
#define BEEMO_KEYMGR_H

#include <stddef.h>
#include <stdint.h>

#define KEYMGR_SECRET_LEN 32 /* bytes of SECRET and of each subkey */
#define KEYMGR_ID_LEN 16     /* bytes of an appliance or machine id */
#define KEYMGR_RSA_BITS 3072
#define KEYMGR_MAX_GENS 64  /* generations of SECRET per machine */
#define KEYMGR_MAX_USERS 32 /* users per machine */
#define KEYMGR_SIG_LEN 384 /* bytes of an administrator's signature */
#define KEYMGR_KCV_LEN 8    /* bytes of a key check value shown to people */
#define KEYMGR_KDF_MAXMEM (1ULL << 30) /* bytes scrypt may use */

/* scrypt cost parameters; see keymgr_kdf_default(). */
struct keymgr_kdf {
	uint64_t N; /* CPU/memory cost, a power of two, 2^10 .. 2^22 */
	uint32_t r; /* block size, 1 .. 32 */
	uint32_t p; /* parallelism, 1 .. 16 */
};

/*
 * keymgr_kdf_default -- the parameters used when init is given none:
 * N = 2^17, r = 8, p = 1 (128 MiB).  Measured on the 2-core AMD EPYC
 * development machine (tests/bench/bench_unlock.sh): 0.40 s per scrypt
 * on an idle machine; `beemoctl key unlock` as the administrator or a
 * user, median of 5, 0.46 to 0.50 s with other work running.  N = 2^16
 * would be 0.2 s, N = 2^18 over 1 s.
 *
 * Bounds accepted anywhere (keymgr_init and every parsed file): N a power
 * of two in 2^10 .. 2^22, r in 1 .. 32, p in 1 .. 16, and also
 * 128 * N * r <= KEYMGR_KDF_MAXMEM (memory) and N * r * p <= 2^25 (work,
 * 32 times the default), so that a hostile key file can make an unlock
 * neither allocate more than 1 GiB nor run for more than ~15 s.
 */
void keymgr_kdf_default(struct keymgr_kdf *kdf);

/*
 * keymgr_global_init -- set up OpenSSL's secure heap (locked memory) for
 * keys and passwords.  Call once before anything else; calling again is a
 * no-op.  Returns 0, or -ENOMEM if the secure heap cannot be created (the
 * program may continue: keys then live in ordinary memory, still cleansed).
 */
int keymgr_global_init(void);

/* ---- the appliance ------------------------------------------------- */

/*
 * keymgr_init -- first setup of an appliance: creates DIR (mode 0700) and
 * DIR/machines, generates the ADMIN key pair, BEEMO_AES and the appliance
 * id, seals ADMIN_PRIV with @pw.
 * @dir: the key directory, usually STORE/keys.
 * @pw, @pwlen: the administrator's password (not NUL-terminated needed).
 * @kdf: scrypt parameters for this and every later password seal on this
 *   appliance, or NULL for keymgr_kdf_default().
 * Returns 0, -EEXIST if DIR already holds an appliance, -EINVAL for
 * out-of-range @kdf, or a negative errno.
 */
int keymgr_init(const char *dir, const char *pw, size_t pwlen,
    const struct keymgr_kdf *kdf);

typedef struct keymgr keymgr;

/*
 * keymgr_open -- open the key directory of an initialized appliance.
 * Reads admin.key (public parts only); needs no password.
 * @out: receives the handle; free with keymgr_free().
 * Returns 0, BEEMO_ENOSTORE if DIR holds no admin.key, BEEMO_EFORMAT,
 * BEEMO_EVERSION, or a negative errno.
 */
int keymgr_open(const char *dir, keymgr **out);

/* keymgr_free -- release @km; NULL is a no-op. */
void keymgr_free(keymgr *km);

/*
 * keymgr_errmsg -- one sentence (no newline) explaining the last failure
 * of a call on @km: which file is corrupt and how, which principal's
 * password was wrong, why a POSTE key file was refused.  After a failure
 * it is never empty (at worst beemo_strerror() of the code); after a
 * success it is "".  The string lives in @km until the next call on it.
 * This is how the distinct causes of BEEMO_EPASSWORD for a POSTE key file
 * (another appliance, another machine, replaced by keymgr_poste_issue)
 * reach the caller.
 */
const char *keymgr_errmsg(const keymgr *km);

/*
 * keymgr_check_file -- read @path (at most 1 MiB) and run
 * keymgr_parse_check() on it; also usable when keymgr_open() failed.
 * @msg, @msglen: receive a sentence naming @path and the fault ("key
 * file F is corrupt (digest mismatch)"), or "" on success.
 * Returns 0, BEEMO_EFORMAT, BEEMO_EVERSION, or a negative errno.
 */
int keymgr_check_file(const char *path, char *msg, size_t msglen);

/* keymgr_appliance_id -- copy the appliance id into @id. */
void keymgr_appliance_id(const keymgr *km, uint8_t id[KEYMGR_ID_LEN]);

/* keymgr_kdf -- the appliance's scrypt parameters for new seals. */
void keymgr_kdf(const keymgr *km, struct keymgr_kdf *kdf);

/*
 * keymgr_admin_check -- verify the administrator's password.
 * Returns 0 or BEEMO_EPASSWORD.
 */
int keymgr_admin_check(keymgr *km, const char *pw, size_t pwlen);

/*
 * keymgr_admin_passwd -- change the administrator's password.
 *
 * By default (@flags 0) this also revokes what the old password opens:
 * a new ADMIN key pair and a new K_OFF replace the old ones (BEEMO_AES
 * stays, so POSTE key files keep working); every generation of every
 * machine is rewrapped for the new ADMIN_PUB and every machine gets a
 * new current generation.  The old admin.key with the old password then
 * opens only generations made before, in machine files kept from before
 * (copies at the storage centers): nothing written after the change.
 * The change is resumable (keymgr_rekey.c): after a crash every machine
 * opens with the old or the new password (keymgr_errmsg() says which),
 * other changes by the administrator are refused with -EBUSY, and
 * calling this again with the same two passwords finishes it.
 *
 * KEYMGR_PASSWD_KEEP_KEYS: only reseal admin.key under @new; the key
 * pair, K_OFF and every machine file stay, so an old admin.key still
 * opens everything with the old password: this revokes nothing.
 *
 * Either way admin.key is written as version 2; a version 1 appliance
 * gets its first K_OFF (appliance.key version 2) this way.
 * Returns 0, BEEMO_EPASSWORD (wrong @old, or a @new other than the one
 * of the interrupted change being finished), -EINVAL (empty @new,
 * unknown flag), -EBUSY (KEEP_KEYS while a key replacement is
 * unfinished), -ENOSPC (a machine has KEYMGR_MAX_GENS generations:
 * nothing changed), BEEMO_EFORMAT, or a negative errno.
 */
#define KEYMGR_PASSWD_KEEP_KEYS 0x1u
int keymgr_admin_passwd(keymgr *km, const char *old, size_t oldlen,
    const char *new, size_t newlen, unsigned flags);

/*
 * keymgr_admin_settled -- whether a replacement of the ADMIN key pair by
 * keymgr_admin_passwd() was interrupted and is unfinished (DIR/
 * admin.key.new exists).  Meanwhile the key files do not form one
 * consistent set (admin.key opens only the machines not yet converted),
 * so nothing should copy them off-site.  Returns 0 (settled), or -EBUSY
 * with keymgr_errmsg() saying how to finish it.
 */
int keymgr_admin_settled(keymgr *km);

/*
 * keymgr_restore_appliance_key -- recovery of a replacement appliance
 * from an off-site copy that holds admin.key and machines/ but no
 * appliance.key: unseals ADMIN_PRIV with @pw, unwraps BEEMO_AES and
 * writes DIR/appliance.key (mode 0600).  Existing POSTE key files keep
 * working.  Returns 0, -EEXIST if appliance.key exists, BEEMO_EPASSWORD,
 * or a negative errno.
 */
int keymgr_restore_appliance_key(keymgr *km, const char *pw, size_t pwlen);

/* ---- machines and users -------------------------------------------- */

/*
 * keymgr_machine_add -- create a machine: its id, a POSTE key pair, a
 * first USER key pair for @user sealed with @user_pw, and generation 1 of
 * SECRET wrapped for ADMIN, POSTE and @user.  Writes the POSTE key file
 * to @poste_path (created exclusively, mode 0600) and then
 * DIR/machines/@machine.key.
 * @admin_pw: the administrator's password, required to authorize.
 * Returns 0, -EEXIST (machine or @poste_path exists), -EINVAL (bad name),
 * BEEMO_EPASSWORD, or a negative errno.
 */
int keymgr_machine_add(keymgr *km, const char *machine, const char *user,
    const char *user_pw, size_t user_pwlen, const char *admin_pw,
    size_t admin_pwlen, const char *poste_path);

/*
 * keymgr_machine_remove -- delete a machine's key file: every wrapped
 * SECRET of that machine is erased and its data can no longer be opened.
 * Returns 0, BEEMO_ENOMACHINE, BEEMO_EPASSWORD, or a negative errno.
 */
int keymgr_machine_remove(keymgr *km, const char *machine,
    const char *admin_pw, size_t admin_pwlen);

/*
 * keymgr_machine_set_aside -- the first step of a removal with a grace
 * period: move DIR/machines/@machine.key to @dest (a path outside DIR
 * that must not exist), so that the machine can no longer be unlocked
 * by anyone while nothing is erased yet.  Authorized by the
 * administrator's password.  A crash leaves the file at one of the two
 * places or at both (then the machine is still usable).
 * Returns 0, BEEMO_ENOMACHINE, BEEMO_EPASSWORD, -EEXIST (@dest exists),
 * -EINVAL (bad name), or a negative errno.
 *
 * keymgr_machine_put_back -- undo it: move @src back to
 * DIR/machines/@machine.key, after checking that it is @machine's key
 * file of this appliance and that every generation unlocks with the
 * current ADMIN key pair (a file set aside before keymgr_admin_passwd()
 * replaced the key pair does not, and is refused with BEEMO_EPASSWORD).
 * Authorized by the administrator's password.
 * Returns 0, -EEXIST (a machine of that name exists), BEEMO_EPASSWORD,
 * BEEMO_EFORMAT, BEEMO_EFOREIGN, -EBUSY, -ENOENT (no @src), or a
 * negative errno; nothing is changed on failure.
 */
int keymgr_machine_set_aside(keymgr *km, const char *machine,
    const char *admin_pw, size_t admin_pwlen, const char *dest);
int keymgr_machine_put_back(keymgr *km, const char *machine,
    const char *admin_pw, size_t admin_pwlen, const char *src);

/*
 * keymgr_machine_list -- names of every machine, sorted.
 * @out: receives a malloc'd array of @n malloc'd strings; free with
 *   keymgr_names_free().
 */
int keymgr_machine_list(keymgr *km, char ***out, size_t *n);
void keymgr_names_free(char **names, size_t n);

/* What `beemoctl machine list` and `key show` print. */
struct keymgr_machine_info {
	uint8_t machine_id[KEYMGR_ID_LEN];
	uint64_t created;        /* CLOCK_REALTIME ns */
	uint32_t current_gen;    /* generation used for new data */
	uint32_t ngens;          /* generations 1 .. ngens all present */
	uint64_t gen_created[64]; /* creation time of the last 64 gens,
	                            gen_created[0] is current_gen */
	size_t nusers;
	char poste_fpr[65];      /* hex SHA-256 of POSTE_PUB (DER) */
};

/*
 * keymgr_machine_info -- public facts about @machine; needs no password.
 * @users: if non-NULL, receives the sorted user names as in
 *   keymgr_machine_list().
 * Returns 0, BEEMO_ENOMACHINE, BEEMO_EFORMAT, or a negative errno.
 */
int keymgr_machine_info(keymgr *km, const char *machine,
    struct keymgr_machine_info *info, char ***users, size_t *nusers);

/*
 * keymgr_user_add -- add user @user to @machine with its own key pair
 * sealed with @user_pw; every generation of SECRET is wrapped for it
 * (the administrator's password unlocks SECRET to do so).
 * Returns 0, -EEXIST, -EINVAL, -ENOSPC (KEYMGR_MAX_USERS users already),
 * BEEMO_ENOMACHINE, BEEMO_EPASSWORD, or a negative errno.
 */
int keymgr_user_add(keymgr *km, const char *machine, const char *user,
    const char *user_pw, size_t user_pwlen, const char *admin_pw,
    size_t admin_pwlen);

/*
 * keymgr_user_remove -- remove @user from @machine; its key pair and its
 * wrapped SECRETs are erased, and a new generation of SECRET, wrapped
 * for the remaining principals only, becomes current (one rewrite of the
 * machine file).  The user's password with a copy of the old machine
 * file opens older generations only: nothing written from now on.
 * Authorized by the admin password.
 * Returns 0, BEEMO_ENOUSER, BEEMO_ENOMACHINE, BEEMO_EPASSWORD, -ENOSPC
 * (KEYMGR_MAX_GENS generations already: nothing changed), or a negative
 * errno.
 */
int keymgr_user_remove(keymgr *km, const char *machine, const char *user,
    const char *admin_pw, size_t admin_pwlen);

/*
 * keymgr_user_passwd -- the user changes their own password: reseals
 * USER_PRIV under @new.  Returns 0, BEEMO_EPASSWORD (wrong @old),
 * BEEMO_ENOUSER, BEEMO_ENOMACHINE, or a negative errno.
 */
int keymgr_user_passwd(keymgr *km, const char *machine, const char *user,
    const char *old, size_t oldlen, const char *new, size_t newlen);

/*
 * keymgr_user_reset -- the administrator resets a user's forgotten
 * password: a new USER key pair sealed with @new_pw replaces the old one,
 * every generation of SECRET is wrapped for it, and a new generation
 * becomes current, so that the old password and key pair open nothing
 * written from now on.
 * Returns 0, BEEMO_EPASSWORD (wrong @admin_pw), BEEMO_ENOUSER,
 * BEEMO_ENOMACHINE, -ENOSPC (KEYMGR_MAX_GENS reached: nothing changed),
 * or a negative errno.
 */
int keymgr_user_reset(keymgr *km, const char *machine, const char *user,
    const char *admin_pw, size_t admin_pwlen, const char *new_pw,
    size_t new_pwlen);

/*
 * keymgr_rotate -- add a new generation of @machine's SECRET, wrapped for
 * ADMIN, POSTE and every user, and make it current.  Older generations
 * stay.  Authorized by the admin password.
 * @gen: if non-NULL, receives the new generation number.
 * Returns 0, -ENOSPC (KEYMGR_MAX_GENS generations already),
 * BEEMO_ENOMACHINE, BEEMO_EPASSWORD, or a negative errno.
 */
int keymgr_rotate(keymgr *km, const char *machine, const char *admin_pw,
    size_t admin_pwlen, uint32_t *gen);

/*
 * keymgr_poste_issue -- issue a new POSTE key file for @machine (lost or
 * compromised client key): a new POSTE key pair replaces the old one,
 * every generation of SECRET is wrapped for it, a new generation becomes
 * current, and the key file is written to @poste_path (created
 * exclusively, mode 0600).  Key files issued before stop working, and
 * even with a copy of the old machine file open nothing written from now
 * on.
 * Returns 0, -EEXIST, BEEMO_ENOMACHINE, BEEMO_EPASSWORD, -ENOSPC
 * (KEYMGR_MAX_GENS reached: nothing changed), or a negative errno.
 */
int keymgr_poste_issue(keymgr *km, const char *machine, const char *admin_pw,
    size_t admin_pwlen, const char *poste_path);

/* ---- unlocking SECRET ---------------------------------------------- */

enum keymgr_principal {
	KEYMGR_ADMIN = 1,
	KEYMGR_USER = 2,
	KEYMGR_POSTE = 3,
};

/* Every generation of one machine's SECRET, in the secure heap. */
typedef struct keymgr_secret keymgr_secret;

/*
 * keymgr_unlock_admin / _user / _poste -- unlock every generation of
 * @machine's SECRET as the administrator (any machine), as user @user
 * (that user's machine only) or with a POSTE key file (that machine
 * only).
 * @out: receives the unlocked secret; free with keymgr_secret_free().
 * Returns 0, BEEMO_EPASSWORD (wrong password; for a POSTE key file: a
 * key file of another machine or appliance, or one replaced by a newer
 * one), BEEMO_ENOMACHINE, BEEMO_ENOUSER, BEEMO_EFORMAT (a key file is
 * corrupt, or a wrap or key check value of the machine file does not
 * match: keymgr_errmsg() names which), BEEMO_EFOREIGN, -ENOENT (POSTE:
 * no appliance.key, see keymgr_restore_appliance_key), or a negative
 * errno.
 */
int keymgr_unlock_admin(keymgr *km, const char *machine, const char *pw,
    size_t pwlen, keymgr_secret **out);
int keymgr_unlock_user(keymgr *km, const char *machine, const char *user,
    const char *pw, size_t pwlen, keymgr_secret **out);
int keymgr_unlock_poste(keymgr *km, const char *machine,
    const char *poste_path, keymgr_secret **out);

/*
 * keymgr_unlock_poste_buf -- keymgr_unlock_poste() with the POSTE key
 * file's bytes @buf of @len (received from the client, never written to
 * disk); @what names their origin in messages ("sent by the client").
 * The caller wipes @buf.  Same returns.
 */
int keymgr_unlock_poste_buf(keymgr *km, const char *machine,
    const uint8_t *buf, size_t len, const char *what, keymgr_secret **out);

/* keymgr_secret_free -- cleanse and free; NULL is a no-op. */
void keymgr_secret_free(keymgr_secret *s);

/* Who unlocked it, and for a user which one (NULL otherwise). */
enum keymgr_principal keymgr_secret_principal(const keymgr_secret *s);
const char *keymgr_secret_user(const keymgr_secret *s);

/*
 * keymgr_secret_who -- the principal that unlocked @s as journals and
 * reports name it: "admin", "poste" or "user NAME", into @buf of @size
 * bytes (truncated if too small).  Returns @buf.
 */
const char *keymgr_secret_who(const keymgr_secret *s, char *buf,
    size_t size);

/* The machine's id and the generation new data must use. */
void keymgr_secret_machine_id(const keymgr_secret *s,
    uint8_t id[KEYMGR_ID_LEN]);
uint32_t keymgr_secret_current_gen(const keymgr_secret *s);

/* keymgr_secret_ngens -- generations held: 1 .. ngens are all present. */
uint32_t keymgr_secret_ngens(const keymgr_secret *s);

/*
 * keymgr_secret_kcv -- the key check value of generation @gen: the first
 * KEYMGR_KCV_LEN bytes of HMAC-SHA256(SECRET_gen, "beemo key check").
 * It tells whether two principals unlocked the same SECRET without
 * revealing it (the key files store the first 16 bytes of the same HMAC).
 * Returns 0, or BEEMO_ENOKEY if @s holds no generation @gen.
 */
int keymgr_secret_kcv(const keymgr_secret *s, uint32_t gen,
    uint8_t kcv[KEYMGR_KCV_LEN]);

/* The subkeys of one generation, for the store.  Stores of format 1
 * (beemo-store(5)) key the chunker with @chunk and hash names with
 * @meta; stores of format 2 use @gear and @name, one key per use. */
struct keymgr_subkeys {
	uint8_t data[KEYMGR_SECRET_LEN];  /* seals chunk contents */
	uint8_t chunk[KEYMGR_SECRET_LEN]; /* MAC key giving chunk ids */
	uint8_t meta[KEYMGR_SECRET_LEN];  /* seals metadata, index, log */
	uint8_t gear[KEYMGR_SECRET_LEN];  /* keys the chunker's table */
	uint8_t name[KEYMGR_SECRET_LEN];  /* MAC key hashing file names */
};

/*
 * keymgr_subkeys -- derive the subkeys of generation @gen with
 * HKDF-SHA256 (key: SECRET of @gen, salt: machine id, info:
 * "beemo/v1/data", "beemo/v1/chunk-id", "beemo/v1/meta",
 * "beemo/v2/gear", "beemo/v2/name").
 * @out: receives the keys; wipe with keymgr_subkeys_wipe() when done.
 * Returns 0, or BEEMO_ENOKEY if @s holds no generation @gen.
 */
int keymgr_subkeys(const keymgr_secret *s, uint32_t gen,
    struct keymgr_subkeys *out);
void keymgr_subkeys_wipe(struct keymgr_subkeys *k);

/* ---- sealing for the administrator ---------------------------------- */

/*
 * keymgr_seal_admin -- seal @len bytes for the administrator only, with
 * the public key (no password needed): a random AES-256-GCM key wrapped
 * with RSA-OAEP for ADMIN_PUB, then the data; magic and version first.
 * Used for the off-site copy of the configuration.
 * @out: receives a malloc'd blob of @outlen bytes (caller frees).
 * Returns 0 or a negative errno.
 */
int keymgr_seal_admin(keymgr *km, const uint8_t *in, size_t len,
    uint8_t **out, size_t *outlen);

/*
 * keymgr_open_admin -- open a blob made by keymgr_seal_admin() with the
 * administrator's password.  @out receives a malloc'd plaintext (caller
 * cleanses and frees).  Returns 0, BEEMO_EPASSWORD, BEEMO_EFORMAT (not
 * such a blob), BEEMO_EFOREIGN (sealed by another appliance), -EBADMSG
 * (tampered blob), or a negative errno.
 */
int keymgr_open_admin(keymgr *km, const char *pw, size_t pwlen,
    const uint8_t *in, size_t len, uint8_t **out, size_t *outlen);

/* ---- the administrator's signature ---------------------------------- */

/*
 * Prove the administrator's password to a party that holds only
 * ADMIN_PUB.  keymgr_admin_key_unlock unseals ADMIN_PRIV with @pw (not
 * kept) into @out (free with keymgr_admin_key_free; NULL is a no-op);
 * it returns 0, BEEMO_EPASSWORD, an error of reading admin.key, or a
 * negative errno.  keymgr_admin_key_sign signs @len bytes of @msg with
 * RSA-PSS (SHA-256, MGF1-SHA-256, salt of 32 bytes) over
 * "beemo/v1/admin-sign/" @label, a zero byte, the appliance id and @msg,
 * into @sig (KEYMGR_SIG_LEN bytes); @label is 1 to 32 characters of
 * [a-z0-9-] naming the use ("control").  It returns 0, -EINVAL (bad
 * label), -ENOMEM or -EIO.
 */
typedef struct keymgr_admin_key keymgr_admin_key;
int keymgr_admin_key_unlock(keymgr *km, const char *pw, size_t pwlen,
    keymgr_admin_key **out);
int keymgr_admin_key_sign(keymgr_admin_key *k, const char *label,
    const uint8_t *msg, size_t len, uint8_t sig[KEYMGR_SIG_LEN]);
void keymgr_admin_key_free(keymgr_admin_key *k);

/*
 * keymgr_admin_verify -- check that @sig (@siglen bytes) is
 * keymgr_admin_key_sign() of @msg under @label by this appliance's
 * ADMIN_PRIV, with ADMIN_PUB of admin.key (no password).
 * Returns 0, -EBADMSG (not such a signature), -EINVAL (bad label), an
 * error of reading admin.key, or a negative errno.
 */
int keymgr_admin_verify(keymgr *km, const char *label, const uint8_t *msg,
    size_t len, const uint8_t *sig, size_t siglen);

/* ---- verifying without a key directory (a storage center) --------- */

/*
 * A storage center holds copies of admin.key (public parts only are of
 * use to it) and no key directory.  keymgr_image_verify -- check that
 * @sig (@siglen bytes) is keymgr_admin_key_sign() of @msg under @label
 * by the ADMIN_PRIV of the admin.key file image @key (@keylen bytes),
 * for the appliance id that image names.  @appliance_id: NULL, or
 * receives that id (set before the signature is checked).
 * Returns 0, -EBADMSG (not such a signature), -EINVAL (bad label),
 * BEEMO_EFORMAT or BEEMO_EVERSION (not an admin.key), or -ENOMEM.
 * keymgr_image_id -- only the appliance id of the image, with the same
 * checks of its form.
 */
int keymgr_image_verify(const uint8_t *key, size_t keylen, const char *label,
    const uint8_t *msg, size_t len, const uint8_t *sig, size_t siglen,
    uint8_t appliance_id[KEYMGR_ID_LEN]);
int keymgr_image_id(const uint8_t *key, size_t keylen,
    uint8_t appliance_id[KEYMGR_ID_LEN]);

/*
 * Endorsements.  When keymgr_admin_passwd() replaces the ADMIN key
 * pair, a center that trusts only the administrator key it pinned
 * must learn the new one from the old one: keymgr_admin_endorse signs,
 * with the unlocked OLD key @k, the SHA-256 of the NEW admin.key image
 * @newkey (@newlen bytes) at time @created (ns), into @out, a file of
 * KEYMGR_ENDORSE_LEN bytes (magic "BMKEYEND", version 1, appliance id,
 * time, digest, signature; beemo-keys(5)).  Returns 0, -ENOMEM or -EIO.
 *
 * keymgr_endorse_check -- whether the endorsement @e (@elen bytes) was
 * made by the ADMIN_PRIV of the admin.key image @signer, for its
 * appliance; @endorsed receives the SHA-256 of the admin.key it
 * vouches for.  Returns 0, -EBADMSG (not signed by that key, or for
 * another appliance), BEEMO_EFORMAT, BEEMO_EVERSION, or -ENOMEM.
 */
#define KEYMGR_ENDORSE_LEN 452
#define KEYMGR_ENDORSE_LABEL "admin-endorse"
#define KEYMGR_DIGEST_LEN 32
int keymgr_admin_endorse(keymgr_admin_key *k, const uint8_t *newkey,
    size_t newlen, uint64_t created, uint8_t out[KEYMGR_ENDORSE_LEN]);
int keymgr_endorse_check(const uint8_t *signer, size_t signerlen,
    const uint8_t *e, size_t elen, uint8_t endorsed[KEYMGR_DIGEST_LEN]);

/* ---- key file parsing (exposed for the fuzz target) ------------------ */

/*
 * keymgr_parse_check -- parse @len bytes as any Beemo key file (appliance,
 * admin, machine or POSTE key file) and validate its structure and
 * digest, without any password.  Never reads past @len, never allocates
 * more than a bounded amount.  Returns 0, BEEMO_EFORMAT or
 * BEEMO_EVERSION.
 */
int keymgr_parse_check(const uint8_t *buf, size_t len);

/* ---- keys of the appliance's own records ---------------------------- */

/*
 * keymgr_appliance_subkey -- derive a 256-bit key for the appliance's own
 * sealed records (the appliance journal: label "journal") from BEEMO_AES
 * with HKDF-SHA256 (salt: the appliance id, info:
 * "beemo/v1/appliance/" @label).  Needs no password: whoever can read
 * DIR/appliance.key (root) can derive it, and a replacement appliance
 * derives the same key once keymgr_restore_appliance_key() has rebuilt
 * appliance.key.
 * @label: 1 to 32 characters of [a-z0-9-].
 * @out: receives the key; the caller cleanses it (OPENSSL_cleanse).
 * Returns 0, -EINVAL (bad label), -ENOENT (no appliance.key yet),
 * BEEMO_EFORMAT, BEEMO_EFOREIGN, or a negative errno.
 */
int keymgr_appliance_subkey(keymgr *km, const char *label,
    uint8_t out[KEYMGR_SECRET_LEN]);

/* ---- authenticating the off-site copy ------------------------------- */

#define KEYMGR_OFFSITE_LEN 32

/*
 * The off-site key K_OFF authenticates everything this appliance puts at
 * a storage center (the push manifests, which list every other object
 * with its SHA-256).  It is a random 256-bit key kept in appliance.key
 * (version 2) and, for recovery, inside admin.key's password seal
 * (version 2), where the seal also authenticates the rest of admin.key
 * (ADMIN_PUB, BEEMO_AES, the appliance id, the KDF parameters for new
 * seals).  A center holds admin.key but not the password, so it can
 * neither read K_OFF nor make an admin.key that the password opens.
 * `beemoctl admin passwd` replaces K_OFF with the ADMIN key pair, so an
 * old admin.key opened with an old password yields only the old K_OFF.
 *
 * keymgr_offsite_key -- K_OFF from appliance.key; needs no password.
 * @out: receives the key; the caller cleanses it.
 * Returns 0, -ENOENT (no appliance.key yet), BEEMO_ENOKEY (a version 1
 * appliance whose keys predate K_OFF: `beemoctl admin passwd` creates
 * it), BEEMO_EFORMAT, BEEMO_EFOREIGN, or a negative errno.
 */
int keymgr_offsite_key(keymgr *km, uint8_t out[KEYMGR_OFFSITE_LEN]);

/*
 * keymgr_offsite_unlock -- recovery: open @len bytes of an admin.key
 * fetched from a storage center (not the one of DIR) with the
 * administrator's password, and give its K_OFF and appliance id.  Any
 * change to the file by someone without the password makes this fail.
 * Returns 0, BEEMO_EPASSWORD (wrong password, or a file made or altered
 * without it: the two cannot be told apart), BEEMO_ENOKEY (a version 1
 * admin.key, which does not authenticate itself and holds no K_OFF),
 * BEEMO_EFORMAT, BEEMO_EVERSION, or a negative errno.
 */
int keymgr_offsite_unlock(const uint8_t *buf, size_t len, const char *pw,
    size_t pwlen, uint8_t appliance_id[KEYMGR_ID_LEN],
    uint8_t out[KEYMGR_OFFSITE_LEN]);

#endif /* BEEMO_KEYMGR_H */
