/*
 * test_keymgr_trust.c -- unit tests of what roots trust in the
 * administrator: the off-site key K_OFF and the self-authenticating
 * admin.key version 2, the reading and upgrade of version 1 key files
 * (tests/fixtures/v1, written by the first release), and revocation
 * (new generations of SECRET that removed or replaced keys cannot open,
 * a new ADMIN key pair).
 *
 * scrypt runs with N = 1024.  White-box where it must be: it includes
 * keymgr_internal.h for the file layout (tampering at chosen places and
 * recomputing the digest, as anyone can).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bm_bytes.h"
#include "bm_err.h"
#include "bm_file.h"
#include "check.h"
#include "keymgr.h"
#include "keymgr_internal.h"

static char root[256];
static const struct keymgr_kdf low_kdf = {1024, 8, 1};

#define APW "admin-pw"
#define NPW "new-admin-pw"
#define UPW "alice-pw"
#define PW(s) (s), strlen(s)

/* ---- helpers ---------------------------------------------------------- */

static void
path_of(char *buf, size_t size, const char *dir, const char *rel)
{
	REQUIRE(bm_path(buf, size, "%s/%s", dir, rel) == 0);
}

static uint8_t *
slurp(const char *path, size_t *len)
{
	uint8_t *buf = NULL;

	REQUIRE_OK(bm_read_file(path, 4u << 20, &buf, len));
	return buf;
}

static void
spit(const char *path, const uint8_t *buf, size_t len)
{
	REQUIRE_OK(bm_write_file_atomic(path, buf, len, 0600, 0));
}

static void
fix_digest(uint8_t *buf, size_t len)
{
	REQUIRE_OK(km_sha256(buf, len - KM_DIGEST_LEN,
	    buf + len - KM_DIGEST_LEN));
}

static void
newdir(char *dir, size_t size, const char *name)
{
	path_of(dir, size, root, name);
	REQUIRE(mkdir(dir, 0700) == 0);
}

/* The format version of key file DIR/REL. */
static uint32_t
file_version(const char *dir, const char *rel)
{
	char path[512];
	uint8_t *buf;
	size_t len;
	uint32_t v;

	path_of(path, sizeof(path), dir, rel);
	buf = slurp(path, &len);
	REQUIRE(len > 12);
	v = bm_be32dec(buf + 8);
	free(buf);
	return v;
}

/* Appliance in DIR/keys with machine pc1, user alice, POSTE key file
 * DIR/pc1.poste. */
static keymgr *
appliance(const char *dir)
{
	char keys[512], poste[512];
	keymgr *km;

	path_of(keys, sizeof(keys), dir, "keys");
	path_of(poste, sizeof(poste), dir, "pc1.poste");
	REQUIRE_OK(keymgr_init(keys, PW(APW), &low_kdf));
	REQUIRE_OK(keymgr_open(keys, &km));
	REQUIRE_OK(keymgr_machine_add(km, "pc1", "alice", PW(UPW), PW(APW),
	    poste));
	return km;
}

/* The v1 fixture's key directory and POSTE key file copied into DIR. */
static keymgr *
v1_appliance(const char *dir)
{
	char cmd[1024], keys[512];
	keymgr *km;

	snprintf(cmd, sizeof(cmd), "cp -r '%s/v1/store/keys' '%s/keys' && "
	    "cp '%s/v1/pc1.poste' '%s/pc1.poste' && chmod -R go-rwx '%s'",
	    BEEMO_FIXTURES, dir, BEEMO_FIXTURES, dir, dir);
	REQUIRE(system(cmd) == 0);
	path_of(keys, sizeof(keys), dir, "keys");
	REQUIRE_OK(keymgr_open(keys, &km));
	return km;
}

/* K_OFF and the appliance id from DIR/keys/admin.key with @pw. */
static int
offsite_unlock(const char *dir, const char *pw, uint8_t id[KEYMGR_ID_LEN],
    uint8_t k_off[KEYMGR_OFFSITE_LEN])
{
	char path[512];
	uint8_t *buf;
	size_t len;
	int rc;

	path_of(path, sizeof(path), dir, "keys/admin.key");
	buf = slurp(path, &len);
	rc = keymgr_offsite_unlock(buf, len, PW(pw), id, k_off);
	free(buf);
	return rc;
}

/* Does the POSTE key file DIR/pc1.poste still open pc1? */
static int
poste_opens(keymgr *km, const char *dir)
{
	keymgr_secret *s = NULL;
	char poste[512];
	int rc;

	path_of(poste, sizeof(poste), dir, "pc1.poste");
	rc = keymgr_unlock_poste(km, "pc1", poste, &s);
	keymgr_secret_free(s);
	return rc;
}

/* ---- K_OFF and admin.key version 2 ------------------------------------ */

/* A new appliance writes version 2 files; appliance.key and admin.key
 * opened with the password give the same K_OFF. */
static void
test_offsite_roundtrip(void)
{
	uint8_t id[KEYMGR_ID_LEN], id2[KEYMGR_ID_LEN];
	uint8_t k1[KEYMGR_OFFSITE_LEN], k2[KEYMGR_OFFSITE_LEN];
	uint8_t zero[KEYMGR_OFFSITE_LEN] = {0};
	char dir[512];
	keymgr *km;

	newdir(dir, sizeof(dir), "roundtrip");
	km = appliance(dir);
	CHECK(file_version(dir, "keys/admin.key") == 2);
	CHECK(file_version(dir, "keys/appliance.key") == 2);
	CHECK(file_version(dir, "keys/machines/pc1.key") == 1);
	CHECK(file_version(dir, "pc1.poste") == 1);
	CHECK_OK(keymgr_offsite_key(km, k1));
	CHECK(memcmp(k1, zero, sizeof(zero)) != 0);
	CHECK_OK(offsite_unlock(dir, APW, id, k2));
	CHECK(memcmp(k1, k2, sizeof(k1)) == 0);
	keymgr_appliance_id(km, id2);
	CHECK(memcmp(id, id2, sizeof(id)) == 0);
	CHECK_RC(offsite_unlock(dir, "wrong", id, k2), BEEMO_EPASSWORD);
	CHECK_OK(keymgr_admin_check(km, PW(APW)));
	CHECK_OK(poste_opens(km, dir));
	keymgr_free(km);
}

/*
 * Each public part of admin.key changed by someone without the password
 * (digest recomputed): keymgr_offsite_unlock and the local administrator
 * both refuse it.
 */
static void
test_offsite_tamper(void)
{
	struct km_admin *ad;
	char dir[512], path[512], msg[KM_ERRMSG_LEN];
	uint8_t id[KEYMGR_ID_LEN], k[KEYMGR_OFFSITE_LEN], *orig, *buf;
	size_t len, pubat, sealat, i;
	struct {
		const char *what;
		size_t at;
		uint8_t xor;
	} cases[8];
	keymgr *km;

	newdir(dir, sizeof(dir), "tamper");
	km = appliance(dir);
	path_of(path, sizeof(path), dir, "keys/admin.key");
	orig = slurp(path, &len);
	REQUIRE((buf = malloc(len)) != NULL);
	REQUIRE((ad = malloc(sizeof(*ad))) != NULL);
	REQUIRE_OK(km_parse_admin(orig, len, path, ad, msg, sizeof(msg)));
	pubat = sizeof(struct km_admin2_disk);
	sealat = pubat + ad->publen;
	/* Byte offsets by struct km_admin2_disk and km_sealed_disk; the
	 * N of a KDF goes from 2^10 to 2^11 (still valid, so that only the
	 * seal can object). */
	cases[0].what = "appliance id";
	cases[0].at = 12;
	cases[0].xor = 0x01;
	cases[1].what = "creation time";
	cases[1].at = 30;
	cases[1].xor = 0x40;
	cases[2].what = "KDF for new seals";
	cases[2].at = 36 + 6;
	cases[2].xor = 0x0c;
	cases[3].what = "ADMIN_PUB";
	cases[3].at = pubat + ad->publen / 2;
	cases[3].xor = 0x10;
	cases[4].what = "seal KDF";
	cases[4].at = sealat + 6;
	cases[4].xor = 0x0c;
	cases[5].what = "seal salt";
	cases[5].at = sealat + 16 + 3;
	cases[5].xor = 0x80;
	cases[6].what = "seal nonce";
	cases[6].at = sealat + 48 + 1;
	cases[6].xor = 0x02;
	cases[7].what = "ciphertext";
	cases[7].at = sealat + 64 + 10;
	cases[7].xor = 0x01;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memcpy(buf, orig, len);
		buf[cases[i].at] ^= cases[i].xor;
		fix_digest(buf, len);
		CHECK_OK(keymgr_parse_check(buf, len));
		if (keymgr_offsite_unlock(buf, len, PW(APW), id, k) !=
		    BEEMO_EPASSWORD) {
			fprintf(stderr, "admin.key with a changed %s: "
			    "accepted\n", cases[i].what);
			CHECK(0);
		}
		if (i == 0)
			continue; /* another appliance's file for keymgr */
		spit(path, buf, len);
		CHECK_RC(keymgr_admin_check(km, PW(APW)), BEEMO_EPASSWORD);
	}
	spit(path, orig, len);
	CHECK_OK(keymgr_admin_check(km, PW(APW)));
	CHECK_OK(offsite_unlock(dir, APW, id, k));
	/* Not an admin.key at all, or cut short. */
	CHECK_RC(keymgr_offsite_unlock(orig, len - 1, PW(APW), id, k),
	    BEEMO_EFORMAT);
	free(ad);
	free(buf);
	free(orig);
	keymgr_free(km);
}

/* keymgr_restore_appliance_key from a version 2 admin.key brings back
 * the same BEEMO_AES (POSTE key files open) and the same K_OFF. */
static void
test_restore_k_off(void)
{
	uint8_t k1[KEYMGR_OFFSITE_LEN], k2[KEYMGR_OFFSITE_LEN];
	char dir[512], path[512];
	keymgr *km;

	newdir(dir, sizeof(dir), "restore");
	km = appliance(dir);
	CHECK_OK(keymgr_offsite_key(km, k1));
	path_of(path, sizeof(path), dir, "keys/appliance.key");
	REQUIRE(unlink(path) == 0);
	CHECK_RC(keymgr_offsite_key(km, k2), -ENOENT);
	CHECK_RC(keymgr_restore_appliance_key(km, PW("wrong")),
	    BEEMO_EPASSWORD);
	CHECK_OK(keymgr_restore_appliance_key(km, PW(APW)));
	CHECK(file_version(dir, "keys/appliance.key") == 2);
	CHECK_OK(keymgr_offsite_key(km, k2));
	CHECK(memcmp(k1, k2, sizeof(k1)) == 0);
	CHECK_OK(poste_opens(km, dir));
	keymgr_free(km);
}

/* ---- version 1 files -------------------------------------------------- */

/* The first release's key files read as before; they hold no K_OFF. */
static void
test_v1_read(void)
{
	uint8_t id[KEYMGR_ID_LEN], k[KEYMGR_OFFSITE_LEN];
	keymgr_secret *s = NULL;
	char dir[512], path[512], msg[KM_ERRMSG_LEN];
	keymgr *km;

	newdir(dir, sizeof(dir), "v1read");
	km = v1_appliance(dir);
	CHECK(file_version(dir, "keys/admin.key") == 1);
	CHECK(file_version(dir, "keys/appliance.key") == 1);
	path_of(path, sizeof(path), dir, "keys/admin.key");
	CHECK_OK(keymgr_check_file(path, msg, sizeof(msg)));
	path_of(path, sizeof(path), dir, "keys/appliance.key");
	CHECK_OK(keymgr_check_file(path, msg, sizeof(msg)));
	CHECK_RC(keymgr_offsite_key(km, k), BEEMO_ENOKEY);
	CHECK(strstr(keymgr_errmsg(km), "admin passwd") != NULL);
	CHECK_RC(offsite_unlock(dir, APW, id, k), BEEMO_ENOKEY);
	CHECK_OK(keymgr_admin_check(km, PW(APW)));
	CHECK_OK(keymgr_unlock_admin(km, "pc1", PW(APW), &s));
	keymgr_secret_free(s);
	s = NULL;
	CHECK_OK(keymgr_unlock_user(km, "pc1", "alice", PW(UPW), &s));
	keymgr_secret_free(s);
	CHECK_OK(poste_opens(km, dir));
	/* A replacement appliance restored from a version 1 admin.key. */
	REQUIRE(unlink(path) == 0);
	CHECK_OK(keymgr_restore_appliance_key(km, PW(APW)));
	CHECK(file_version(dir, "keys/appliance.key") == 1);
	CHECK_OK(poste_opens(km, dir));
	CHECK_RC(keymgr_offsite_key(km, k), BEEMO_ENOKEY);
	keymgr_free(km);
}

/* `admin passwd` on a version 1 appliance writes admin.key and
 * appliance.key version 2 with one K_OFF; every key still opens. */
static void
test_v1_upgrade(int keep)
{
	uint8_t id[KEYMGR_ID_LEN], k1[KEYMGR_OFFSITE_LEN];
	uint8_t k2[KEYMGR_OFFSITE_LEN], kcv1[KEYMGR_KCV_LEN];
	uint8_t kcv2[KEYMGR_KCV_LEN];
	keymgr_secret *s = NULL;
	char dir[512];
	keymgr *km;

	newdir(dir, sizeof(dir), keep ? "v1keep" : "v1new");
	km = v1_appliance(dir);
	CHECK_OK(keymgr_unlock_admin(km, "pc1", PW(APW), &s));
	CHECK_OK(keymgr_secret_kcv(s, 1, kcv1));
	keymgr_secret_free(s);
	s = NULL;
	CHECK_OK(keymgr_admin_passwd(km, PW(APW), PW(NPW)));
	CHECK(file_version(dir, "keys/admin.key") == 2);
	CHECK(file_version(dir, "keys/appliance.key") == 2);
	CHECK_OK(keymgr_offsite_key(km, k1));
	CHECK_OK(offsite_unlock(dir, NPW, id, k2));
	CHECK(memcmp(k1, k2, sizeof(k1)) == 0);
	CHECK_RC(offsite_unlock(dir, APW, id, k2), BEEMO_EPASSWORD);
	CHECK_RC(keymgr_admin_check(km, PW(APW)), BEEMO_EPASSWORD);
	CHECK_OK(keymgr_unlock_admin(km, "pc1", PW(NPW), &s));
	CHECK_OK(keymgr_secret_kcv(s, 1, kcv2));
	CHECK(memcmp(kcv1, kcv2, sizeof(kcv1)) == 0);
	keymgr_secret_free(s);
	s = NULL;
	CHECK_OK(keymgr_unlock_user(km, "pc1", "alice", PW(UPW), &s));
	keymgr_secret_free(s);
	CHECK_OK(poste_opens(km, dir));
	keymgr_free(km);
}

int
main(void)
{
	const char *tmp = getenv("TMPDIR");

	if (keymgr_global_init() != 0)
		fprintf(stderr, "note: no secure heap\n");
	snprintf(root, sizeof(root), "%s/test_keymgr_trust.XXXXXX",
	    tmp && *tmp ? tmp : "/tmp");
	REQUIRE(mkdtemp(root) != NULL);

	test_offsite_roundtrip();
	test_offsite_tamper();
	test_restore_k_off();
	test_v1_read();
	test_v1_upgrade(1);

	if (check_failures == 0) {
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", root);
	} else {
		fprintf(stderr, "kept %s\n", root);
	}
	return check_status();
}
