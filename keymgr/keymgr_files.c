/*
 * keymgr_files.c -- the key directory: setup, opening, loading and saving
 * key files, the lock, listings and error messages.
 *
 * Layout (beemo-keys(5)): DIR/appliance.key, DIR/admin.key,
 * DIR/machines/NAME.key and DIR/lock (and DIR/admin.key.new while the
 * ADMIN key pair is being replaced, keymgr_rekey.c).  admin.key is written last by
 * keymgr_init: its presence is what makes DIR an appliance, so a crash
 * during init leaves a directory that init can simply be run on again.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bm_bytes.h"
#include "bm_err.h"
#include "bm_file.h"
#include "bm_pass.h"
#include "bm_time.h"
#include "keymgr_internal.h"

/* OpenSSL's secure heap: 1 MiB of locked memory holds every key, SECRET
 * and password of a beemoctl run or a beemofs session many times over
 * (an RSA-3072 private key takes about 3 KiB of it). */
#define KM_SECURE_HEAP (1u << 20)
#define KM_SECURE_MIN 32

void
keymgr_kdf_default(struct keymgr_kdf *kdf)
{
	kdf->N = 1u << 17;
	kdf->r = 8;
	kdf->p = 1;
}

int
keymgr_global_init(void)
{
	if (CRYPTO_secure_malloc_initialized())
		return 0;
	/* 1: locked; 2: the heap exists but mlock failed (a small
	 * RLIMIT_MEMLOCK): still separate and cleansed, so accept it. */
	return CRYPTO_secure_malloc_init(KM_SECURE_HEAP, KM_SECURE_MIN) != 0 ?
	    0 : -ENOMEM;
}

/* ---- messages --------------------------------------------------------- */

int
km_err(keymgr *km, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(km->errmsg, sizeof(km->errmsg), fmt, ap);
	va_end(ap);
	return rc;
}

int
km_done(keymgr *km, int rc)
{
	if (rc == 0)
		km->errmsg[0] = '\0';
	else if (km->errmsg[0] == '\0')
		snprintf(km->errmsg, sizeof(km->errmsg), "%s",
		    beemo_strerror(rc));
	return rc;
}

const char *
keymgr_errmsg(const keymgr *km)
{
	return km->errmsg;
}

/* ---- paths and the lock ----------------------------------------------- */

int
km_path_admin(const keymgr *km, char *buf, size_t size)
{
	return bm_path(buf, size, "%s/admin.key", km->dir);
}

int
km_path_appliance(const keymgr *km, char *buf, size_t size)
{
	return bm_path(buf, size, "%s/appliance.key", km->dir);
}

int
km_path_machine(const keymgr *km, const char *name, char *buf, size_t size)
{
	return bm_path(buf, size, "%s/machines/%s.key", km->dir, name);
}

/* Remove "*.key.tmp.*" and "admin.endorse.*.tmp.*" files of @dir:
 * temporaries of bm_write_file_atomic from a writer that was killed.
 * Only called under the lock, which every writer of key files holds, so
 * none of them is live; the endorsement `admin passwd` writes after its
 * key change is at worst refused once (and said) if this runs at the
 * same instant. */
static void
remove_stale_tmp(const char *dir)
{
	char path[4096];
	struct dirent *e;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strstr(e->d_name, ".key.tmp.") == NULL &&
		    (strncmp(e->d_name, "admin.endorse.", 14) != 0 ||
		    strstr(e->d_name, ".tmp.") == NULL))
			continue;
		if (bm_path(path, sizeof(path), "%s/%s", dir, e->d_name) == 0)
			(void)unlink(path);
	}
	closedir(d);
}

int
km_lock(keymgr *km, int *fdp)
{
	char path[4096];
	int fd, rc;

	if ((rc = bm_path(path, sizeof(path), "%s/lock", km->dir)) != 0)
		return rc;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return km_err(km, -errno, "cannot open %s: %s", path,
		    strerror(errno));
	while (flock(fd, LOCK_EX) != 0) {
		if (errno != EINTR) {
			rc = -errno;
			close(fd);
			return km_err(km, rc, "cannot lock %s: %s", path,
			    strerror(-rc));
		}
	}
	remove_stale_tmp(km->dir);
	if (bm_path(path, sizeof(path), "%s/machines", km->dir) == 0)
		remove_stale_tmp(path);
	*fdp = fd;
	return 0;
}

void
km_unlock(int fd)
{
	if (fd >= 0)
		close(fd); /* releases the flock */
}

/* ---- loading ---------------------------------------------------------- */

/* Read a key file; map sizes beyond KM_FILE_MAX to a format error. */
static int
read_keyfile(keymgr *km, const char *path, uint8_t **buf, size_t *len)
{
	int rc = bm_read_file(path, KM_FILE_MAX, buf, len);

	if (rc == -EFBIG)
		return km_err(km, BEEMO_EFORMAT,
		    "key file %s is too large (more than %u bytes)", path,
		    KM_FILE_MAX);
	if (rc != 0 && rc != -ENOENT)
		return km_err(km, rc, "cannot read %s: %s", path,
		    beemo_strerror(rc));
	return rc;
}

int
km_load_admin_at(keymgr *km, const char *path, struct km_admin *a)
{
	uint8_t *buf = NULL;
	size_t len;
	int rc;

	if ((rc = read_keyfile(km, path, &buf, &len)) != 0)
		return rc;
	rc = km_parse_admin(buf, len, path, a, km->errmsg,
	    sizeof(km->errmsg));
	free(buf);
	if (rc == 0 && memcmp(a->appliance_id, km->appliance_id,
	    KEYMGR_ID_LEN) != 0)
		rc = km_err(km, BEEMO_EFOREIGN, "key file %s belongs to "
		    "another appliance", path);
	return rc;
}

int
km_load_admin(keymgr *km, struct km_admin *a)
{
	char path[4096];
	int rc;

	if ((rc = km_path_admin(km, path, sizeof(path))) != 0)
		return rc;
	if ((rc = km_load_admin_at(km, path, a)) == -ENOENT)
		return km_err(km, BEEMO_ENOSTORE, "%s: no appliance here",
		    km->dir);
	return rc;
}

int
km_load_admin_pub(keymgr *km, struct km_admin *a, EVP_PKEY **pub)
{
	int rc;

	if ((rc = km_load_admin(km, a)) != 0)
		return rc;
	if ((rc = km_pub_load(a->pub, a->publen, pub)) != 0)
		rc = km_err(km, rc, "key file %s/admin.key is corrupt (bad "
		    "public key)", km->dir);
	return rc;
}

int
km_load_appliance(keymgr *km, struct km_appliance *a)
{
	char path[4096];
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc;

	memset(a, 0, sizeof(*a));
	if ((rc = km_path_appliance(km, path, sizeof(path))) != 0)
		return rc;
	if ((rc = read_keyfile(km, path, &buf, &len)) == -ENOENT)
		return km_err(km, rc, "%s is missing: this appliance cannot "
		    "open POSTE key files until it is restored with the "
		    "administrator's password", path);
	if (rc != 0)
		return rc;
	rc = km_parse_appliance(buf, len, path, a, km->errmsg,
	    sizeof(km->errmsg));
	OPENSSL_cleanse(buf, len); /* BEEMO_AES */
	free(buf);
	if (rc == 0 && memcmp(a->appliance_id, km->appliance_id,
	    KEYMGR_ID_LEN) != 0) {
		km_appliance_clear(a);
		rc = km_err(km, BEEMO_EFOREIGN,
		    "key file %s belongs to another appliance", path);
	}
	return rc;
}

int
km_load_machine(keymgr *km, const char *name, struct km_machine **mp)
{
	char path[4096];
	struct km_machine *m;
	uint8_t *buf = NULL;
	size_t len;
	int rc;

	if (!bm_valid_name(name))
		return km_err(km, -EINVAL, "'%s' is not a valid machine name",
		    name);
	if ((rc = km_path_machine(km, name, path, sizeof(path))) != 0)
		return rc;
	if ((rc = read_keyfile(km, path, &buf, &len)) == -ENOENT)
		return km_err(km, BEEMO_ENOMACHINE,
		    "machine %s does not exist", name);
	if (rc != 0)
		return rc;
	if ((m = km_machine_new()) == NULL) {
		rc = -ENOMEM;
		goto out_buf;
	}
	rc = km_parse_machine(buf, len, path, m, km->errmsg,
	    sizeof(km->errmsg));
	if (rc == 0 && strcmp(m->name, name) != 0)
		rc = km_err(km, BEEMO_EFORMAT,
		    "key file %s holds machine %s", path, m->name);
	if (rc == 0 && memcmp(m->appliance_id, km->appliance_id,
	    KEYMGR_ID_LEN) != 0)
		rc = km_err(km, BEEMO_EFOREIGN,
		    "key file %s belongs to another appliance", path);
	if (rc != 0) {
		km_machine_free(m);
		goto out_buf;
	}
	*mp = m;
out_buf:
	free(buf);
	return rc;
}

int
km_save_machine(keymgr *km, const struct km_machine *m, int exclusive)
{
	char path[4096];
	uint8_t *img;
	size_t len;
	int rc;

	if ((rc = km_path_machine(km, m->name, path, sizeof(path))) != 0)
		return rc;
	if ((rc = km_ser_machine(m, &img, &len)) != 0)
		return km_err(km, rc, "cannot encode %s: %s", path,
		    beemo_strerror(rc));
	rc = bm_write_file_atomic(path, img, len, 0600, exclusive);
	free(img);
	if (rc == -EEXIST)
		return km_err(km, rc, "machine %s already exists", m->name);
	if (rc != 0)
		return km_err(km, rc, "cannot write %s: %s", path,
		    beemo_strerror(rc));
	return 0;
}

int
km_find_user(const struct km_machine *m, const char *user)
{
	uint32_t i;

	for (i = 0; i < m->nusers; i++)
		if (strcmp(m->users[i].name, user) == 0)
			return (int)i;
	return -1;
}

/* ---- the appliance ---------------------------------------------------- */

/* mkdir -p @path and force mode 0700 (it may have existed). */
static int
private_dir(keymgr *km, const char *path)
{
	int rc = bm_mkdir_p(path, 0700);

	if (rc == 0 && chmod(path, 0700) != 0)
		rc = -errno;
	if (rc != 0)
		return km_err(km, rc, "cannot create %s: %s", path,
		    beemo_strerror(rc));
	return 0;
}

/* The new appliance's files: appliance id, BEEMO_AES, K_OFF and the
 * ADMIN key pair, the latter three sealed with @pw into @ad (version 2)
 * and kept in @ap and the secure heap. */
static int
init_files(keymgr *km, const char *pw, size_t pwlen,
    const struct keymgr_kdf *kdf, struct km_admin *ad,
    struct km_appliance *ap)
{
	struct km_admin_keys *k;
	int rc;

	memset(ad, 0, sizeof(*ad));
	if ((k = km_secure_alloc(sizeof(*k))) == NULL ||
	    (ap->beemo_aes = km_secure_alloc(KM_AES_LEN)) == NULL ||
	    (ap->k_off = km_secure_alloc(KEYMGR_OFFSITE_LEN)) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	if ((rc = km_random(ap->appliance_id, KEYMGR_ID_LEN)) != 0 ||
	    (rc = km_random_priv(k->beemo_aes, KM_AES_LEN)) != 0 ||
	    (rc = km_random_priv(k->k_off, KEYMGR_OFFSITE_LEN)) != 0)
		goto out;
	memcpy(ap->beemo_aes, k->beemo_aes, KM_AES_LEN);
	memcpy(ap->k_off, k->k_off, KEYMGR_OFFSITE_LEN);
	ap->created = ad->created = bm_now_ns();
	memcpy(ad->appliance_id, ap->appliance_id, KEYMGR_ID_LEN);
	memcpy(km->appliance_id, ap->appliance_id, KEYMGR_ID_LEN);
	ad->kdf = *kdf;
	if ((rc = km_rsa_keygen(&k->priv)) != 0 ||
	    (rc = km_pub_der(k->priv, ad->pub, &ad->publen)) != 0)
		goto out;
	rc = km_admin_seal(ad, k, pw, pwlen);
out:
	km_admin_keys_free(k);
	return rc;
}

int
keymgr_init(const char *dir, const char *pw, size_t pwlen,
    const struct keymgr_kdf *kdf)
{
	struct keymgr_kdf def;
	struct km_appliance ap = {0};
	struct km_admin *ad = NULL;
	char path[4096];
	uint8_t *img = NULL, *aimg = NULL;
	size_t len = 0, alen = 0;
	keymgr *km;
	int lockfd = -1, rc;

	if (kdf == NULL) {
		keymgr_kdf_default(&def);
		kdf = &def;
	}
	if (!km_kdf_valid(kdf) || pwlen == 0)
		return -EINVAL;
	if ((km = calloc(1, sizeof(*km))) == NULL)
		return -ENOMEM;
	if ((ad = calloc(1, sizeof(*ad))) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	if ((rc = bm_path(km->dir, sizeof(km->dir), "%s", dir)) != 0 ||
	    (rc = bm_path(path, sizeof(path), "%s/machines", dir)) != 0)
		goto out;
	if ((rc = private_dir(km, dir)) != 0 ||
	    (rc = private_dir(km, path)) != 0)
		goto out;
	if ((rc = km_lock(km, &lockfd)) != 0)
		goto out;
	if ((rc = km_path_admin(km, path, sizeof(path))) != 0)
		goto out;
	if (access(path, F_OK) == 0) {
		rc = -EEXIST;
		goto out;
	}
	if ((rc = init_files(km, pw, pwlen, kdf, ad, &ap)) != 0)
		goto out;
	if ((rc = km_ser_appliance(&ap, &aimg, &alen)) != 0 ||
	    (rc = km_ser_admin(ad, &img, &len)) != 0)
		goto out;
	/* appliance.key first, replacing any left by a crashed init (no
	 * admin.key, so nothing was ever wrapped with it); admin.key last. */
	if ((rc = km_path_appliance(km, path, sizeof(path))) != 0 ||
	    (rc = bm_write_file_atomic(path, aimg, alen, 0600, 0)) != 0)
		goto out;
	if ((rc = km_path_admin(km, path, sizeof(path))) != 0)
		goto out;
	rc = bm_write_file_atomic(path, img, len, 0600, 1);
out:
	km_unlock(lockfd);
	bm_free_secret(aimg, alen);
	free(img);
	km_appliance_clear(&ap);
	free(ad);
	free(km);
	return rc;
}

int
keymgr_open(const char *dir, keymgr **out)
{
	struct km_admin *ad;
	char path[4096];
	uint8_t *buf = NULL;
	size_t len;
	keymgr *km;
	int rc;

	if ((km = calloc(1, sizeof(*km))) == NULL)
		return -ENOMEM;
	if ((ad = calloc(1, sizeof(*ad))) == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	if ((rc = bm_path(km->dir, sizeof(km->dir), "%s", dir)) != 0 ||
	    (rc = km_path_admin(km, path, sizeof(path))) != 0)
		goto fail;
	rc = bm_read_file(path, KM_FILE_MAX, &buf, &len);
	if (rc == -ENOENT)
		rc = BEEMO_ENOSTORE;
	else if (rc == -EFBIG)
		rc = BEEMO_EFORMAT;
	if (rc != 0)
		goto fail;
	rc = km_parse_admin(buf, len, path, ad, km->errmsg,
	    sizeof(km->errmsg));
	free(buf);
	if (rc != 0)
		goto fail;
	memcpy(km->appliance_id, ad->appliance_id, KEYMGR_ID_LEN);
	km->kdf = ad->kdf;
	km->errmsg[0] = '\0';
	free(ad);
	*out = km;
	return 0;

fail:
	free(ad);
	free(km);
	return rc;
}

void
keymgr_free(keymgr *km)
{
	free(km);
}

void
keymgr_appliance_id(const keymgr *km, uint8_t id[KEYMGR_ID_LEN])
{
	memcpy(id, km->appliance_id, KEYMGR_ID_LEN);
}

void
keymgr_kdf(const keymgr *km, struct keymgr_kdf *kdf)
{
	*kdf = km->kdf;
}

int
keymgr_check_file(const char *path, char *msg, size_t msglen)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc;

	msg[0] = '\0';
	rc = bm_read_file(path, KM_FILE_MAX, &buf, &len);
	if (rc == -EFBIG) {
		snprintf(msg, msglen, "key file %s is too large (more than "
		    "%u bytes)", path, KM_FILE_MAX);
		return BEEMO_EFORMAT;
	}
	if (rc != 0) {
		snprintf(msg, msglen, "cannot read %s: %s", path,
		    beemo_strerror(rc));
		return rc;
	}
	rc = km_parse_check_msg(buf, len, path, msg, msglen);
	OPENSSL_cleanse(buf, len); /* may be appliance.key */
	free(buf);
	return rc;
}

/* ---- listings --------------------------------------------------------- */

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void
keymgr_names_free(char **names, size_t n)
{
	size_t i;

	if (names == NULL)
		return;
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int
keymgr_machine_list(keymgr *km, char ***out, size_t *n)
{
	char path[4096], **names = NULL, **nn;
	size_t count = 0, cap = 0, len;
	struct dirent *e;
	DIR *d;
	int rc;

	km->errmsg[0] = '\0';
	if ((rc = bm_path(path, sizeof(path), "%s/machines", km->dir)) != 0)
		return km_done(km, rc);
	if ((d = opendir(path)) == NULL)
		return km_done(km, km_err(km, -errno, "cannot list %s: %s",
		    path, strerror(errno)));
	rc = 0;
	while ((e = readdir(d)) != NULL) {
		len = strlen(e->d_name);
		/* NAME.key only: temporaries end in .tmp.XXXXXX. */
		if (len <= 4 || strcmp(e->d_name + len - 4, ".key") != 0)
			continue;
		e->d_name[len - 4] = '\0';
		if (!bm_valid_name(e->d_name))
			continue;
		if (count == cap) {
			cap = cap ? 2 * cap : 16;
			if ((nn = realloc(names, cap * sizeof(*nn))) == NULL) {
				rc = -ENOMEM;
				break;
			}
			names = nn;
		}
		if ((names[count] = strdup(e->d_name)) == NULL) {
			rc = -ENOMEM;
			break;
		}
		count++;
	}
	closedir(d);
	if (rc != 0) {
		keymgr_names_free(names, count);
		return km_done(km, rc);
	}
	if (count > 0)
		qsort(names, count, sizeof(*names), cmp_names);
	*out = names;
	*n = count;
	return km_done(km, 0);
}

int
keymgr_machine_info(keymgr *km, const char *machine,
    struct keymgr_machine_info *info, char ***users, size_t *nusers)
{
	struct km_machine *m = NULL;
	uint8_t fpr[KM_DIGEST_LEN];
	char **names = NULL;
	uint32_t i;
	int rc;

	km->errmsg[0] = '\0';
	if ((rc = km_load_machine(km, machine, &m)) != 0)
		return km_done(km, rc);
	memset(info, 0, sizeof(*info));
	memcpy(info->machine_id, m->machine_id, KEYMGR_ID_LEN);
	info->created = m->created;
	info->current_gen = m->current_gen;
	info->ngens = m->ngens;
	for (i = 0; i < m->current_gen && i < 64; i++)
		info->gen_created[i] = m->gens[m->current_gen - 1 - i].created;
	info->nusers = m->nusers;
	if ((rc = km_sha256(m->poste_pub, m->poste_publen, fpr)) != 0)
		goto out;
	bm_hex(info->poste_fpr, fpr, KM_DIGEST_LEN);
	if (users != NULL) {
		if ((names = calloc(m->nusers + 1, sizeof(*names))) == NULL) {
			rc = -ENOMEM;
			goto out;
		}
		for (i = 0; i < m->nusers; i++) {
			if ((names[i] = strdup(m->users[i].name)) == NULL) {
				keymgr_names_free(names, i);
				rc = -ENOMEM;
				goto out;
			}
		}
		*users = names;
		*nusers = m->nusers;
	}
out:
	km_machine_free(m);
	return km_done(km, rc);
}
