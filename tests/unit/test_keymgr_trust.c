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

#include "km_check.h"

#define NPW "new-admin-pw"

/* ---- helpers ---------------------------------------------------------- */

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

/* cp -r DIR/FROM DIR/TO (key files as they were: a center's copies, an
 * ex-employee's). */
static void
copy_in(const char *dir, const char *from, const char *to)
{
	char cmd[1200];

	snprintf(cmd, sizeof(cmd), "cp -r '%s/%s' '%s/%s'", dir, from, dir,
	    to);
	REQUIRE(system(cmd) == 0);
}

/* A handle on the key directory DIR/REL. */
static keymgr *
open_at(const char *dir, const char *rel)
{
	char keys[512];
	keymgr *km;

	path_of(keys, sizeof(keys), dir, rel);
	REQUIRE_OK(keymgr_open(keys, &km));
	return km;
}

/* Is generation @gen's SECRET among those @s holds?  By key check value,
 * which differs for different SECRETs. */
static int
holds_gen(const keymgr_secret *s, const keymgr_secret *ref, uint32_t gen)
{
	uint8_t want[KEYMGR_KCV_LEN], have[KEYMGR_KCV_LEN];
	uint32_t g;

	REQUIRE_OK(keymgr_secret_kcv(ref, gen, want));
	for (g = 1; g <= keymgr_secret_ngens(s); g++) {
		REQUIRE_OK(keymgr_secret_kcv(s, g, have));
		if (memcmp(want, have, sizeof(want)) == 0)
			return 1;
	}
	return 0;
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
	CHECK_OK(api_poste(km, dir));
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
	CHECK_OK(api_poste(km, dir));
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
	CHECK_OK(api_poste(km, dir));
	/* A replacement appliance restored from a version 1 admin.key. */
	REQUIRE(unlink(path) == 0);
	CHECK_OK(keymgr_restore_appliance_key(km, PW(APW)));
	CHECK(file_version(dir, "keys/appliance.key") == 1);
	CHECK_OK(api_poste(km, dir));
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
	CHECK_OK(keymgr_admin_passwd(km, PW(APW), PW(NPW),
	    keep ? KEYMGR_PASSWD_KEEP_KEYS : 0));
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
	CHECK_OK(api_poste(km, dir));
	keymgr_free(km);
}

/* ---- revocation ------------------------------------------------------- */

/*
 * @kind 0: remove user bob; 1: reset bob's password; 2: a new POSTE key
 * file.  The revoked key, even with a copy of the machine file from
 * before, opens the older generation and not the new current one; the
 * others open both.
 */
static void
test_revoke(int kind)
{
	static const char *const names[] = {"remove", "reset", "issue"};
	keymgr_secret *now = NULL, *old = NULL, *s = NULL;
	char dir[512], poste[512], newposte[512];
	keymgr *km, *before;

	newdir(dir, sizeof(dir), names[kind]);
	km = appliance(dir);
	path_of(poste, sizeof(poste), dir, "pc1.poste");
	path_of(newposte, sizeof(newposte), dir, "pc1-new.poste");
	REQUIRE_OK(keymgr_user_add(km, "pc1", "bob", PW("bob-pw"), PW(APW)));
	copy_in(dir, "keys", "before");
	if (kind == 0)
		CHECK_OK(keymgr_user_remove(km, "pc1", "bob", PW(APW)));
	else if (kind == 1)
		CHECK_OK(keymgr_user_reset(km, "pc1", "bob", PW(APW),
		    PW("bob-2")));
	else
		CHECK_OK(keymgr_poste_issue(km, "pc1", PW(APW), newposte));
	REQUIRE_OK(keymgr_unlock_admin(km, "pc1", PW(APW), &now));
	CHECK(keymgr_secret_ngens(now) == 2);
	CHECK(keymgr_secret_current_gen(now) == 2);
	/* The revoked key with the old machine file. */
	before = open_at(dir, "before");
	if (kind == 2)
		CHECK_OK(keymgr_unlock_poste(before, "pc1", poste, &old));
	else
		CHECK_OK(keymgr_unlock_user(before, "pc1", "bob",
		    PW("bob-pw"), &old));
	if (old != NULL) {
		CHECK(holds_gen(old, now, 1));
		CHECK(!holds_gen(old, now, 2));
	}
	/* ... and with today's. */
	if (kind == 2)
		CHECK_RC(keymgr_unlock_poste(km, "pc1", poste, &s),
		    BEEMO_EPASSWORD);
	else
		CHECK_RC(keymgr_unlock_user(km, "pc1", "bob", PW("bob-pw"),
		    &s), kind == 0 ? BEEMO_ENOUSER : BEEMO_EPASSWORD);
	/* Who remains opens both generations. */
	CHECK_OK(keymgr_unlock_user(km, "pc1", "alice", PW(UPW), &s));
	CHECK(s != NULL && holds_gen(s, now, 1) && holds_gen(s, now, 2));
	keymgr_secret_free(s);
	s = NULL;
	CHECK_OK(keymgr_unlock_poste(km, "pc1", kind == 2 ? newposte :
	    poste, &s));
	CHECK(s != NULL && holds_gen(s, now, 2));
	keymgr_secret_free(s);
	s = NULL;
	if (kind == 1) {
		CHECK_OK(keymgr_unlock_user(km, "pc1", "bob", PW("bob-2"),
		    &s));
		CHECK(s != NULL && holds_gen(s, now, 1) &&
		    holds_gen(s, now, 2));
		keymgr_secret_free(s);
	}
	keymgr_secret_free(old);
	keymgr_secret_free(now);
	keymgr_free(before);
	keymgr_free(km);
}

/*
 * `admin passwd` by default: a new ADMIN key pair and K_OFF.  The old
 * admin.key with the old password opens the old machine file's
 * generations but not today's machine file nor the new generation;
 * with --keep-keys, it still opens everything.
 */
static void
test_admin_rekey(int keep)
{
	uint8_t id[KEYMGR_ID_LEN], k0[KEYMGR_OFFSITE_LEN];
	uint8_t k1[KEYMGR_OFFSITE_LEN], k2[KEYMGR_OFFSITE_LEN];
	keymgr_secret *now = NULL, *s = NULL;
	char dir[512];
	keymgr *km, *mixed, *before;

	newdir(dir, sizeof(dir), keep ? "rekey-keep" : "rekey");
	km = appliance(dir);
	CHECK_OK(keymgr_offsite_key(km, k0));
	copy_in(dir, "keys", "before");
	CHECK_OK(keymgr_admin_passwd(km, PW(APW), PW(NPW),
	    keep ? KEYMGR_PASSWD_KEEP_KEYS : 0));
	REQUIRE_OK(keymgr_unlock_admin(km, "pc1", PW(NPW), &now));
	CHECK(keymgr_secret_ngens(now) == (keep ? 1u : 2u));
	CHECK_RC(keymgr_unlock_admin(km, "pc1", PW(APW), &s),
	    BEEMO_EPASSWORD);
	CHECK_OK(keymgr_offsite_key(km, k1));
	CHECK_OK(offsite_unlock(dir, NPW, id, k2));
	CHECK(memcmp(k1, k2, sizeof(k1)) == 0);
	CHECK((memcmp(k0, k1, sizeof(k0)) == 0) == keep);
	/* The old admin.key beside today's machine file. */
	copy_in(dir, "before", "mixed");
	copy_in(dir, "keys/machines/pc1.key", "mixed/machines/pc1.key");
	mixed = open_at(dir, "mixed");
	if (keep) {
		CHECK_OK(keymgr_unlock_admin(mixed, "pc1", PW(APW), &s));
		keymgr_secret_free(s);
		s = NULL;
	} else {
		CHECK_RC(keymgr_unlock_admin(mixed, "pc1", PW(APW), &s),
		    BEEMO_EFORMAT);
	}
	/* The old admin.key with the old machine file: the old
	 * generation only. */
	before = open_at(dir, "before");
	CHECK_OK(keymgr_unlock_admin(before, "pc1", PW(APW), &s));
	if (s != NULL) {
		CHECK(holds_gen(s, now, 1));
		CHECK(keep || !holds_gen(s, now, 2));
	}
	keymgr_secret_free(s);
	s = NULL;
	/* Users and the POSTE key file are not affected. */
	CHECK_OK(keymgr_unlock_user(km, "pc1", "alice", PW(UPW), &s));
	CHECK(s != NULL && keymgr_secret_ngens(s) == keymgr_secret_ngens(now));
	keymgr_secret_free(s);
	CHECK_OK(api_poste(km, dir));
	keymgr_secret_free(now);
	keymgr_free(before);
	keymgr_free(mixed);
	keymgr_free(km);
}

/*
 * A replacement of the ADMIN key pair interrupted after pc1 and before
 * pc2 (built from the files of a completed one): each machine opens with
 * its own side's password, the other says which password it needs,
 * other changes wait, and running the change again finishes it.
 */
static void
test_admin_rekey_resume(void)
{
	keymgr_secret *s = NULL;
	char dir[512], poste[512], path[512];
	keymgr *km;

	newdir(dir, sizeof(dir), "resume");
	km = appliance(dir);
	path_of(poste, sizeof(poste), dir, "pc2.poste");
	REQUIRE_OK(keymgr_machine_add(km, "pc2", "bob", PW("bob-pw"),
	    PW(APW), poste));
	keymgr_free(km);
	copy_in(dir, "keys", "done");
	km = open_at(dir, "done");
	REQUIRE_OK(keymgr_admin_passwd(km, PW(APW), PW(NPW), 0));
	keymgr_free(km);
	copy_in(dir, "done/admin.key", "keys/admin.key.new");
	copy_in(dir, "done/machines/pc1.key", "keys/machines/pc1.key");
	km = open_at(dir, "keys");

	CHECK_RC(keymgr_unlock_admin(km, "pc1", PW(APW), &s),
	    BEEMO_EPASSWORD);
	CHECK(strstr(keymgr_errmsg(km), "give the new password") != NULL);
	CHECK_OK(keymgr_unlock_admin(km, "pc1", PW(NPW), &s));
	keymgr_secret_free(s);
	s = NULL;
	CHECK_OK(keymgr_unlock_admin(km, "pc2", PW(APW), &s));
	keymgr_secret_free(s);
	s = NULL;
	CHECK_RC(keymgr_unlock_admin(km, "pc2", PW(NPW), &s),
	    BEEMO_EPASSWORD);
	CHECK(strstr(keymgr_errmsg(km), "give the old password") != NULL);
	CHECK_RC(keymgr_unlock_admin(km, "pc2", PW("wrong"), &s),
	    BEEMO_EPASSWORD);
	CHECK(strstr(keymgr_errmsg(km), "wrong password") != NULL);
	CHECK_RC(keymgr_admin_settled(km), -EBUSY);
	CHECK_RC(keymgr_rotate(km, "pc2", PW(APW), NULL), -EBUSY);
	CHECK(strstr(keymgr_errmsg(km), "admin passwd") != NULL);
	CHECK_RC(keymgr_admin_passwd(km, PW(APW), PW(NPW),
	    KEYMGR_PASSWD_KEEP_KEYS), -EBUSY);
	CHECK_RC(keymgr_admin_passwd(km, PW(APW), PW("other"), 0),
	    BEEMO_EPASSWORD);
	CHECK_OK(keymgr_admin_passwd(km, PW(APW), PW(NPW), 0));
	CHECK_OK(keymgr_admin_settled(km));
	path_of(path, sizeof(path), dir, "keys/admin.key.new");
	CHECK(access(path, F_OK) != 0);
	CHECK_RC(keymgr_unlock_admin(km, "pc1", PW(APW), &s),
	    BEEMO_EPASSWORD);
	CHECK_OK(keymgr_unlock_admin(km, "pc1", PW(NPW), &s));
	/* pc1 was converted once, not twice. */
	CHECK(s != NULL && keymgr_secret_ngens(s) == 2);
	keymgr_secret_free(s);
	s = NULL;
	CHECK_OK(keymgr_unlock_admin(km, "pc2", PW(NPW), &s));
	CHECK(s != NULL && keymgr_secret_ngens(s) == 2);
	keymgr_secret_free(s);
	CHECK_OK(keymgr_rotate(km, "pc2", PW(NPW), NULL));
	keymgr_free(km);
}

/* At KEYMGR_MAX_GENS generations a revocation fails, clearly, and
 * changes nothing. */
static void
test_max_gens(void)
{
	char dir[512], path[512], poste[512];
	uint8_t *before, *after;
	size_t blen, alen;
	uint32_t g;
	keymgr *km;

	newdir(dir, sizeof(dir), "maxgens");
	km = appliance(dir);
	REQUIRE_OK(keymgr_user_add(km, "pc1", "bob", PW("bob-pw"), PW(APW)));
	for (g = 2; g <= KEYMGR_MAX_GENS; g++)
		REQUIRE_OK(keymgr_rotate(km, "pc1", PW(APW), NULL));
	path_of(path, sizeof(path), dir, "keys/machines/pc1.key");
	path_of(poste, sizeof(poste), dir, "pc1-new.poste");
	before = slurp(path, &blen);
	CHECK_RC(keymgr_user_remove(km, "pc1", "bob", PW(APW)), -ENOSPC);
	CHECK(strstr(keymgr_errmsg(km), "maximum") != NULL);
	CHECK_RC(keymgr_user_reset(km, "pc1", "bob", PW(APW), PW("x")),
	    -ENOSPC);
	CHECK_RC(keymgr_poste_issue(km, "pc1", PW(APW), poste), -ENOSPC);
	CHECK(access(poste, F_OK) != 0);
	CHECK_RC(keymgr_admin_passwd(km, PW(APW), PW(NPW), 0), -ENOSPC);
	CHECK(strstr(keymgr_errmsg(km), "--keep-keys") != NULL);
	CHECK_OK(keymgr_admin_check(km, PW(APW)));
	after = slurp(path, &alen);
	CHECK(alen == blen && memcmp(before, after, blen) == 0);
	free(before);
	free(after);
	keymgr_free(km);
}

/*
 * A machine's key file set aside (machine remove with a grace period):
 * nobody unlocks the machine, the file is not replaced nor lost, it comes
 * back byte for byte; a file set aside before the ADMIN key pair was
 * replaced no longer opens with the administrator's key and is refused.
 */
static void
test_set_aside(void)
{
	char dir[512], aside[512], path[512], poste[512];
	keymgr_secret *s = NULL;
	uint8_t *before, *after;
	size_t blen, alen;
	keymgr *km;

	newdir(dir, sizeof(dir), "aside");
	km = appliance(dir);
	path_of(aside, sizeof(aside), dir, "pc1.key.aside");
	path_of(path, sizeof(path), dir, "keys/machines/pc1.key");
	before = slurp(path, &blen);
	CHECK_RC(keymgr_machine_set_aside(km, "pc1", PW("wrong"), aside),
	    BEEMO_EPASSWORD);
	CHECK(access(aside, F_OK) != 0 && access(path, F_OK) == 0);
	CHECK_RC(keymgr_machine_set_aside(km, "pc9", PW(APW), aside),
	    BEEMO_ENOMACHINE);
	CHECK_OK(keymgr_machine_set_aside(km, "pc1", PW(APW), aside));
	CHECK(access(path, F_OK) != 0);
	CHECK_RC(keymgr_unlock_admin(km, "pc1", PW(APW), &s),
	    BEEMO_ENOMACHINE);
	CHECK_RC(api_poste(km, dir), BEEMO_ENOMACHINE);
	CHECK_RC(keymgr_machine_put_back(km, "pc1", PW("wrong"), aside),
	    BEEMO_EPASSWORD);
	CHECK(access(path, F_OK) != 0 && access(aside, F_OK) == 0);
	CHECK_OK(keymgr_machine_put_back(km, "pc1", PW(APW), aside));
	CHECK(access(aside, F_OK) != 0);
	after = slurp(path, &alen);
	CHECK(alen == blen && memcmp(before, after, blen) == 0);
	CHECK_OK(api_poste(km, dir));
	free(before);
	free(after);

	/* Another machine of the same name meanwhile: not replaced. */
	CHECK_OK(keymgr_machine_set_aside(km, "pc1", PW(APW), aside));
	path_of(poste, sizeof(poste), dir, "pc1b.poste");
	REQUIRE_OK(keymgr_machine_add(km, "pc1", "bob", PW("bob-pw"),
	    PW(APW), poste));
	before = slurp(path, &blen);
	CHECK_RC(keymgr_machine_put_back(km, "pc1", PW(APW), aside),
	    -EEXIST);
	after = slurp(path, &alen);
	CHECK(alen == blen && memcmp(before, after, blen) == 0);
	CHECK(access(aside, F_OK) == 0);
	free(before);
	free(after);
	REQUIRE_OK(keymgr_machine_remove(km, "pc1", PW(APW)));

	/* The ADMIN key pair replaced while it was aside: refused, and
	 * left where it was. */
	CHECK_OK(keymgr_admin_passwd(km, PW(APW), PW(NPW), 0));
	CHECK_RC(keymgr_machine_put_back(km, "pc1", PW(NPW), aside),
	    BEEMO_EPASSWORD);
	CHECK(strstr(keymgr_errmsg(km), "current administrator") != NULL);
	CHECK(access(path, F_OK) != 0 && access(aside, F_OK) == 0);
	keymgr_free(km);
}

/*
 * Verifying with an admin.key image (a center's pinned key) and the
 * endorsement of a new ADMIN key pair by the old one: a signature by the
 * image's key passes; another label, a changed message or byte of the
 * signature, another appliance's key, and an endorsement made by any
 * other key, or altered, are refused.
 */
static void
test_image_endorse(void)
{
	char dir[512], dir2[512], path[512];
	uint8_t sig[KEYMGR_SIG_LEN], e[KEYMGR_ENDORSE_LEN], id[KEYMGR_ID_LEN];
	uint8_t want[KEYMGR_ID_LEN], dig[KEYMGR_DIGEST_LEN], sha[KM_DIGEST_LEN];
	uint8_t *old, *new, *other;
	size_t oldlen, newlen, otherlen;
	keymgr_admin_key *k = NULL, *k2 = NULL;
	const uint8_t msg[] = "delete these";
	keymgr *km, *km2;

	newdir(dir, sizeof(dir), "image");
	newdir(dir2, sizeof(dir2), "image2");
	km = appliance(dir);
	km2 = appliance(dir2);
	path_of(path, sizeof(path), dir, "keys/admin.key");
	old = slurp(path, &oldlen);
	path_of(path, sizeof(path), dir2, "keys/admin.key");
	other = slurp(path, &otherlen);
	keymgr_appliance_id(km, want);

	REQUIRE_OK(keymgr_admin_key_unlock(km, PW(APW), &k));
	REQUIRE_OK(keymgr_admin_key_sign(k, "delete-request", msg,
	    sizeof(msg), sig));
	CHECK_OK(keymgr_image_verify(old, oldlen, "delete-request", msg,
	    sizeof(msg), sig, sizeof(sig), id));
	CHECK(memcmp(id, want, sizeof(id)) == 0);
	CHECK_OK(keymgr_image_id(old, oldlen, id));
	CHECK(memcmp(id, want, sizeof(id)) == 0);
	CHECK_RC(keymgr_image_verify(old, oldlen, "control", msg,
	    sizeof(msg), sig, sizeof(sig), NULL), -EBADMSG);
	CHECK_RC(keymgr_image_verify(old, oldlen, "delete-request", msg,
	    sizeof(msg) - 1, sig, sizeof(sig), NULL), -EBADMSG);
	CHECK_RC(keymgr_image_verify(other, otherlen, "delete-request", msg,
	    sizeof(msg), sig, sizeof(sig), NULL), -EBADMSG);
	CHECK_RC(keymgr_image_verify(old, oldlen, "Bad label", msg,
	    sizeof(msg), sig, sizeof(sig), NULL), -EINVAL);
	CHECK_RC(keymgr_image_verify(old, oldlen / 2, "delete-request", msg,
	    sizeof(msg), sig, sizeof(sig), NULL), BEEMO_EFORMAT);
	sig[100] ^= 1;
	CHECK_RC(keymgr_image_verify(old, oldlen, "delete-request", msg,
	    sizeof(msg), sig, sizeof(sig), NULL), -EBADMSG);

	/* A new key pair, endorsed by the old one. */
	CHECK_OK(keymgr_admin_passwd(km, PW(APW), PW(NPW), 0));
	path_of(path, sizeof(path), dir, "keys/admin.key");
	new = slurp(path, &newlen);
	CHECK_OK(keymgr_admin_endorse(k, new, newlen, 1234, e));
	CHECK_OK(keymgr_endorse_check(old, oldlen, e, sizeof(e), dig));
	REQUIRE_OK(km_sha256(new, newlen, sha));
	CHECK(memcmp(dig, sha, sizeof(sha)) == 0);
	/* Only the old key vouches: not the new one, not another's. */
	CHECK_RC(keymgr_endorse_check(new, newlen, e, sizeof(e), dig),
	    -EBADMSG);
	CHECK_RC(keymgr_endorse_check(other, otherlen, e, sizeof(e), dig),
	    -EBADMSG);
	REQUIRE_OK(keymgr_admin_key_unlock(km2, PW(APW), &k2));
	CHECK_OK(keymgr_admin_endorse(k2, new, newlen, 1234, e));
	CHECK_RC(keymgr_endorse_check(old, oldlen, e, sizeof(e), dig),
	    -EBADMSG);
	CHECK_OK(keymgr_admin_endorse(k, new, newlen, 1234, e));
	e[40] ^= 1; /* the endorsed digest */
	CHECK_RC(keymgr_endorse_check(old, oldlen, e, sizeof(e), dig),
	    -EBADMSG);
	CHECK_RC(keymgr_endorse_check(old, oldlen, e, sizeof(e) - 1, dig),
	    BEEMO_EFORMAT);
	e[0] = 'X';
	CHECK_RC(keymgr_endorse_check(old, oldlen, e, sizeof(e), dig),
	    BEEMO_EFORMAT);
	keymgr_admin_key_free(k);
	keymgr_admin_key_free(k2);
	free(old);
	free(new);
	free(other);
	keymgr_free(km);
	keymgr_free(km2);
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
	test_v1_upgrade(0);
	test_revoke(0);
	test_revoke(1);
	test_revoke(2);
	test_admin_rekey(0);
	test_admin_rekey(1);
	test_admin_rekey_resume();
	test_set_aside();
	test_max_gens();
	test_image_endorse();

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
