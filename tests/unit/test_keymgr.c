/*
 * test_keymgr.c -- unit tests of the key hierarchy (keymgr).
 *
 * Each test builds appliances in its own directory under a temporary
 * root.  scrypt runs with N = 1024 except in test_default_kdf, which uses
 * the defaults once and prints the time of an unlock.  The test is
 * white-box where it must be: it includes keymgr_internal.h to build a
 * keymgr_secret from known bytes (known-answer vectors) and to know the
 * file layout (tampering at chosen places, recomputing the digest).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bm_bytes.h"
#include "bm_err.h"
#include "bm_file.h"
#include "bm_time.h"
#include "check.h"
#include "keymgr.h"
#include "keymgr_internal.h"

#include "km_check.h"

#define BPW "bob-pw"

/* Every KCV of @s, and its count. */
static uint32_t
kcvs(const keymgr_secret *s, uint8_t out[KEYMGR_MAX_GENS][KEYMGR_KCV_LEN])
{
	uint32_t g, n = keymgr_secret_ngens(s);

	for (g = 1; g <= n; g++)
		CHECK_OK(keymgr_secret_kcv(s, g, out[g - 1]));
	return n;
}

/* Do @a and @b hold the same SECRETs (all generations, all subkeys)? */
static int
same_secret(const keymgr_secret *a, const keymgr_secret *b)
{
	struct keymgr_subkeys ka, kb;
	uint32_t g;
	int same = 1;

	if (keymgr_secret_ngens(a) != keymgr_secret_ngens(b) ||
	    keymgr_secret_current_gen(a) != keymgr_secret_current_gen(b))
		return 0;
	for (g = 1; g <= keymgr_secret_ngens(a); g++) {
		if (keymgr_subkeys(a, g, &ka) != 0 ||
		    keymgr_subkeys(b, g, &kb) != 0)
			return 0;
		same &= memcmp(&ka, &kb, sizeof(ka)) == 0;
		keymgr_subkeys_wipe(&ka);
		keymgr_subkeys_wipe(&kb);
	}
	return same;
}

static keymgr_secret *
unlock_admin(keymgr *km, const char *machine)
{
	keymgr_secret *s = NULL;

	CHECK_OK(keymgr_unlock_admin(km, machine, PW(APW), &s));
	return s;
}

/* A snapshot of every file under a directory (names and contents). */
struct snap {
	char names[64][256];
	uint8_t *data[64];
	size_t len[64];
	int n;
};

static void
snap_dir(struct snap *sn, const char *dir, const char *prefix)
{
	char path[512], rel[256];
	struct dirent *e;
	struct stat st;
	DIR *d = opendir(dir);

	REQUIRE(d != NULL);
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		path_of(path, sizeof(path), dir, e->d_name);
		REQUIRE(stat(path, &st) == 0);
		snprintf(rel, sizeof(rel), "%s%s", prefix, e->d_name);
		if (S_ISDIR(st.st_mode)) {
			char sub[260];

			snprintf(sub, sizeof(sub), "%s/", rel);
			snap_dir(sn, path, sub);
			continue;
		}
		REQUIRE(sn->n < 64);
		snprintf(sn->names[sn->n], sizeof(sn->names[0]), "%s", rel);
		sn->data[sn->n] = slurp(path, &sn->len[sn->n]);
		sn->n++;
	}
	closedir(d);
}

static void
snap_free(struct snap *sn)
{
	int i;

	for (i = 0; i < sn->n; i++)
		free(sn->data[i]);
	sn->n = 0;
}

static int
snap_equal(const struct snap *a, const struct snap *b)
{
	int i, j, found;

	if (a->n != b->n)
		return 0;
	for (i = 0; i < a->n; i++) {
		found = 0;
		for (j = 0; j < b->n; j++)
			if (strcmp(a->names[i], b->names[j]) == 0 &&
			    a->len[i] == b->len[j] &&
			    memcmp(a->data[i], b->data[j], a->len[i]) == 0)
				found = 1;
		if (!found)
			return 0;
	}
	return 1;
}

/* ---- known answers ---------------------------------------------------- */

/*
 * Computed independently with Python's hmac/hashlib (HKDF written out by
 * hand per RFC 5869): SECRET_1 = 00 01 .. 1f, SECRET_2 = ff fe .. e0,
 * machine id = a0 a1 .. af.
 */
static const struct {
	uint32_t gen;
	const char *data, *chunk, *meta, *kcv16;
} subkey_kat[] = {
	{1,
	    "a067262b8ba001d778a11acc83d4901cb2e1852e4a45decd78715649bd89d51e",
	    "a89c7864bd03d31d13ba2ecd7e9b2fa504de9388c8e91f7397b9b50204e089d9",
	    "d31e7074d93fef2fcc088a7792f61b7355ebb7b783e8c93206e0eb1c372614f3",
	    "8819036c83e9da618f8923a5a4100cbc"},
	{2,
	    "c0871a068e7fd640e729e0f3bb46c35b0490672500cf609ba87e697d621cfa44",
	    "f392ea003f6f6d748a95392d52128f07a05cb8931ac65e95d1e75a2af06aec1b",
	    "7d7e5c7600f5c3adbed24003927c5fffc5854f6cbab1dc3cb9f258a64741f8d5",
	    "c60bb5865af033998ee307a72bd0ae51"},
};

static void
check_hex(const uint8_t *got, size_t len, const char *want)
{
	char prefix[129];
	uint8_t w[64];

	/* @want may be longer: compare its first @len bytes. */
	REQUIRE(len <= sizeof(w) && strlen(want) >= 2 * len);
	memcpy(prefix, want, 2 * len);
	prefix[2 * len] = '\0';
	REQUIRE(bm_unhex(w, len, prefix) == 0);
	CHECK(memcmp(got, w, len) == 0);
}

static void
test_kat(void)
{
	static const uint8_t ikm[22] = {
	    0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b,
	    0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b};
	static const uint8_t salt[13] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
	    12};
	static const char info[] = "\xf0\xf1\xf2\xf3\xf4\xf5\xf6\xf7\xf8\xf9";
	struct keymgr_subkeys k;
	uint8_t out[32], kcv[KEYMGR_KCV_LEN];
	keymgr_secret *s;
	size_t i;

	/* RFC 5869 test case 1 (first 32 bytes of OKM). */
	CHECK_OK(km_hkdf(ikm, sizeof(ikm), salt, sizeof(salt), info, out));
	check_hex(out, 32, "3cb25f25faacd57a90434f64d0362f2a"
			   "2d2d0a90cf1a5a4c5db02d56ecc4c5bf");

	REQUIRE((s = km_secret_new()) != NULL);
	s->ngens = s->current_gen = 2;
	for (i = 0; i < 32; i++) {
		s->keys[0][i] = (uint8_t)i;
		s->keys[1][i] = (uint8_t)(0xff - i);
	}
	for (i = 0; i < KEYMGR_ID_LEN; i++)
		s->machine_id[i] = (uint8_t)(0xa0 + i);
	for (i = 0; i < sizeof(subkey_kat) / sizeof(subkey_kat[0]); i++) {
		CHECK_OK(keymgr_subkeys(s, subkey_kat[i].gen, &k));
		check_hex(k.data, 32, subkey_kat[i].data);
		check_hex(k.chunk, 32, subkey_kat[i].chunk);
		check_hex(k.meta, 32, subkey_kat[i].meta);
		keymgr_subkeys_wipe(&k);
		CHECK_OK(km_kcv(s->keys[subkey_kat[i].gen - 1], out));
		check_hex(out, KM_KCV_STORED, subkey_kat[i].kcv16);
		CHECK_OK(keymgr_secret_kcv(s, subkey_kat[i].gen, kcv));
		check_hex(kcv, KEYMGR_KCV_LEN, subkey_kat[i].kcv16);
	}
	CHECK_RC(keymgr_subkeys(s, 0, &k), BEEMO_ENOKEY);
	CHECK_RC(keymgr_subkeys(s, 3, &k), BEEMO_ENOKEY);
	CHECK_RC(keymgr_secret_kcv(s, 3, kcv), BEEMO_ENOKEY);
	keymgr_secret_free(s);
}

static void
test_kdf_bounds(void)
{
	static const struct {
		struct keymgr_kdf kdf;
		int valid;
	} cases[] = {
		{{1024, 8, 1}, 1},
		{{512, 8, 1}, 0},
		{{1025, 8, 1}, 0},
		{{1u << 22, 1, 1}, 1},
		{{1u << 23, 1, 1}, 0},
		{{1u << 17, 8, 1}, 1},
		{{1u << 20, 8, 1}, 1},   /* 1 GiB */
		{{1u << 21, 8, 1}, 0},   /* 2 GiB */
		{{1u << 20, 8, 4}, 1},   /* 2^25 work */
		{{1u << 20, 8, 5}, 0},
		{{1024, 0, 1}, 0},
		{{1024, 33, 1}, 0},
		{{1024, 32, 16}, 1},
		{{1024, 8, 0}, 0},
		{{1024, 8, 17}, 0},
	};
	char dir[256];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK(km_kdf_valid(&cases[i].kdf) == cases[i].valid);
	newdir(dir, sizeof(dir), "kdf");
	CHECK_RC(keymgr_init(dir, PW(APW), &cases[1].kdf), -EINVAL);
	CHECK_RC(keymgr_init(dir, "", 0, &low_kdf), -EINVAL);
}

/* ---- every principal, the same SECRET --------------------------------- */

static void
test_principals(void)
{
	char dir[256], poste[512];
	uint8_t id1[KEYMGR_ID_LEN], id2[KEYMGR_ID_LEN];
	keymgr_secret *a, *u = NULL, *p = NULL;
	keymgr *km;

	newdir(dir, sizeof(dir), "principals");
	km = appliance(dir);
	path_of(poste, sizeof(poste), dir, "pc1.poste");
	REQUIRE((a = unlock_admin(km, "pc1")) != NULL);
	CHECK_OK(keymgr_unlock_user(km, "pc1", "alice", PW(UPW), &u));
	CHECK_OK(keymgr_unlock_poste(km, "pc1", poste, &p));
	REQUIRE(u != NULL && p != NULL);
	CHECK(same_secret(a, u));
	CHECK(same_secret(a, p));
	CHECK(keymgr_secret_current_gen(a) == 1);
	CHECK(keymgr_secret_principal(a) == KEYMGR_ADMIN);
	CHECK(keymgr_secret_principal(u) == KEYMGR_USER);
	CHECK(keymgr_secret_principal(p) == KEYMGR_POSTE);
	CHECK(keymgr_secret_user(a) == NULL);
	CHECK(strcmp(keymgr_secret_user(u), "alice") == 0);
	keymgr_secret_machine_id(a, id1);
	keymgr_secret_machine_id(p, id2);
	CHECK(memcmp(id1, id2, KEYMGR_ID_LEN) == 0);
	CHECK(strcmp(keymgr_errmsg(km), "") == 0);
	CHECK_OK(keymgr_admin_check(km, PW(APW)));
	CHECK_RC(keymgr_admin_check(km, PW("nope")), BEEMO_EPASSWORD);
	CHECK(strstr(keymgr_errmsg(km), "wrong password") != NULL);
	/* Reopening finds the same appliance. */
	keymgr_free(km);
	path_of(poste, sizeof(poste), dir, "keys");
	REQUIRE_OK(keymgr_open(poste, &km));
	keymgr_secret_free(u);
	u = NULL;
	CHECK_OK(keymgr_unlock_user(km, "pc1", "alice", PW(UPW), &u));
	CHECK(u != NULL && same_secret(a, u));
	keymgr_secret_free(a);
	keymgr_secret_free(u);
	keymgr_secret_free(p);
	keymgr_free(km);
}

/* ---- wrong passwords change nothing ----------------------------------- */

static void
test_wrong_password(void)
{
	char dir[256], poste[512];
	struct snap before = {0}, after = {0};
	keymgr_secret *s = NULL;
	uint32_t gen = 0;
	keymgr *km;

	newdir(dir, sizeof(dir), "wrongpw");
	km = appliance(dir);
	path_of(poste, sizeof(poste), dir, "new.poste");
	snap_dir(&before, dir, "");
	CHECK_RC(keymgr_unlock_admin(km, "pc1", PW("x"), &s), BEEMO_EPASSWORD);
	CHECK(strstr(keymgr_errmsg(km), "wrong password") != NULL);
	CHECK_RC(keymgr_unlock_user(km, "pc1", "alice", PW(APW), &s),
	    BEEMO_EPASSWORD);
	CHECK(strstr(keymgr_errmsg(km), "wrong password for user alice") !=
	    NULL);
	CHECK_RC(keymgr_admin_passwd(km, PW(UPW), PW("new"), 0),
	    BEEMO_EPASSWORD);
	CHECK_RC(keymgr_user_passwd(km, "pc1", "alice", PW(APW), PW("new")),
	    BEEMO_EPASSWORD);
	CHECK_RC(keymgr_user_reset(km, "pc1", "alice", PW(UPW), PW("new")),
	    BEEMO_EPASSWORD);
	CHECK_RC(keymgr_user_add(km, "pc1", "bob", PW(BPW), PW(UPW)),
	    BEEMO_EPASSWORD);
	CHECK_RC(keymgr_user_remove(km, "pc1", "alice", PW(UPW)),
	    BEEMO_EPASSWORD);
	CHECK_RC(keymgr_rotate(km, "pc1", PW(UPW), &gen), BEEMO_EPASSWORD);
	CHECK_RC(keymgr_poste_issue(km, "pc1", PW(UPW), poste),
	    BEEMO_EPASSWORD);
	CHECK_RC(keymgr_machine_add(km, "pc2", "bob", PW(BPW), PW(UPW),
	    poste), BEEMO_EPASSWORD);
	CHECK_RC(keymgr_machine_remove(km, "pc1", PW(UPW)), BEEMO_EPASSWORD);
	CHECK(s == NULL && gen == 0);
	snap_dir(&after, dir, "");
	/* Byte-identical, and nothing new (no POSTE file, no temporary). */
	CHECK(snap_equal(&before, &after));
	snap_free(&before);
	snap_free(&after);
	keymgr_free(km);
}

/* ---- machines are separate -------------------------------------------- */

static void
test_other_machine(void)
{
	char dir[256], poste1[512], poste2[512], poste3[512];
	keymgr_secret *s = NULL, *a = NULL;
	keymgr *km;

	newdir(dir, sizeof(dir), "other");
	km = appliance(dir);
	path_of(poste1, sizeof(poste1), dir, "pc1.poste");
	path_of(poste2, sizeof(poste2), dir, "pc2.poste");
	path_of(poste3, sizeof(poste3), dir, "pc2b.poste");
	REQUIRE_OK(keymgr_machine_add(km, "pc2", "bob", PW(BPW), PW(APW),
	    poste2));
	/* alice of pc1 is nobody on pc2. */
	CHECK_RC(keymgr_unlock_user(km, "pc2", "alice", PW(UPW), &s),
	    BEEMO_ENOUSER);
	/* An alice of pc2 with another password: pc1's password fails. */
	REQUIRE_OK(keymgr_user_add(km, "pc2", "alice", PW("other"), PW(APW)));
	CHECK_RC(keymgr_unlock_user(km, "pc2", "alice", PW(UPW), &s),
	    BEEMO_EPASSWORD);
	/* pc1's POSTE key file does not open pc2. */
	CHECK_RC(keymgr_unlock_poste(km, "pc2", poste1, &s), BEEMO_EPASSWORD);
	CHECK(strstr(keymgr_errmsg(km), "belongs to machine pc1") != NULL);
	CHECK(s == NULL);
	/* Different machines, different SECRETs. */
	a = unlock_admin(km, "pc1");
	CHECK_OK(keymgr_unlock_poste(km, "pc2", poste2, &s));
	CHECK(a != NULL && s != NULL && !same_secret(a, s));
	keymgr_secret_free(s);
	s = NULL;
	/* A machine removed and added again is another machine. */
	CHECK_OK(keymgr_machine_remove(km, "pc2", PW(APW)));
	CHECK_RC(keymgr_unlock_poste(km, "pc2", poste2, &s), BEEMO_ENOMACHINE);
	CHECK(strstr(keymgr_errmsg(km), "machine pc2 does not exist") != NULL);
	REQUIRE_OK(keymgr_machine_add(km, "pc2", "bob", PW(BPW), PW(APW),
	    poste3));
	CHECK_RC(keymgr_unlock_poste(km, "pc2", poste2, &s), BEEMO_EPASSWORD);
	CHECK(strstr(keymgr_errmsg(km), "earlier machine pc2") != NULL);
	/* Names. */
	CHECK_RC(keymgr_machine_add(km, "pc2", "bob", PW(BPW), PW(APW),
	    poste1), -EEXIST);
	CHECK_RC(keymgr_machine_add(km, "../x", "bob", PW(BPW), PW(APW),
	    "/nonexistent"), -EINVAL);
	CHECK_RC(keymgr_machine_add(km, "pc3", "a/b", PW(BPW), PW(APW),
	    "/nonexistent"), -EINVAL);
	CHECK_RC(keymgr_unlock_admin(km, "../pc1", PW(APW), &s), -EINVAL);
	CHECK_RC(keymgr_user_add(km, "pc2", "bob", PW(BPW), PW(APW)), -EEXIST);
	keymgr_secret_free(a);
	keymgr_free(km);
}

/* A POSTE key file of another appliance is refused as such. */
static void
test_other_appliance(void)
{
	char dir1[256], dir2[256], poste2[512];
	keymgr *km1, *km2;
	keymgr_secret *s = NULL;

	newdir(dir1, sizeof(dir1), "appl1");
	newdir(dir2, sizeof(dir2), "appl2");
	km1 = appliance(dir1);
	km2 = appliance(dir2);
	path_of(poste2, sizeof(poste2), dir2, "pc1.poste");
	CHECK_RC(keymgr_unlock_poste(km1, "pc1", poste2, &s),
	    BEEMO_EPASSWORD);
	CHECK(strstr(keymgr_errmsg(km1), "another appliance") != NULL);
	/* A machine key file copied from another appliance. */
	{
		char from[512], to[512];
		size_t len;
		uint8_t *buf;

		path_of(from, sizeof(from), dir2, "keys/machines/pc1.key");
		path_of(to, sizeof(to), dir1, "keys/machines/pc1.key");
		buf = slurp(from, &len);
		spit(to, buf, len);
		free(buf);
		CHECK_RC(keymgr_unlock_admin(km1, "pc1", PW(APW), &s),
		    BEEMO_EFOREIGN);
	}
	keymgr_free(km1);
	keymgr_free(km2);
}

/* ---- passwords -------------------------------------------------------- */

static void
test_passwords(void)
{
	char dir[256];
	keymgr_secret *ref, *s = NULL;
	struct keymgr_machine_info info;
	uint8_t before[KM_PUB_MAX];
	struct km_machine *m = NULL;
	keymgr *km;

	newdir(dir, sizeof(dir), "passwd");
	km = appliance(dir);
	REQUIRE((ref = unlock_admin(km, "pc1")) != NULL);

	CHECK_OK(keymgr_admin_passwd(km, PW(APW), PW("admin-2"),
	    KEYMGR_PASSWD_KEEP_KEYS));
	CHECK_RC(keymgr_unlock_admin(km, "pc1", PW(APW), &s),
	    BEEMO_EPASSWORD);
	CHECK_OK(keymgr_unlock_admin(km, "pc1", PW("admin-2"), &s));
	CHECK(s != NULL && same_secret(ref, s));
	keymgr_secret_free(s);
	s = NULL;
	CHECK_OK(keymgr_admin_passwd(km, PW("admin-2"), PW(APW),
	    KEYMGR_PASSWD_KEEP_KEYS));

	CHECK_OK(keymgr_user_passwd(km, "pc1", "alice", PW(UPW), PW("u-2")));
	CHECK_RC(keymgr_unlock_user(km, "pc1", "alice", PW(UPW), &s),
	    BEEMO_EPASSWORD);
	CHECK_OK(keymgr_unlock_user(km, "pc1", "alice", PW("u-2"), &s));
	CHECK(s != NULL && same_secret(ref, s));
	keymgr_secret_free(s);
	s = NULL;

	/* Reset: a new key pair, the old password fails, and a new
	 * generation (test_keymgr_trust.c shows what the old key opens). */
	REQUIRE_OK(km_load_machine(km, "pc1", &m));
	memcpy(before, m->users[0].pub, m->users[0].publen);
	km_machine_free(m);
	CHECK_OK(keymgr_user_reset(km, "pc1", "alice", PW(APW), PW("u-3")));
	CHECK_RC(keymgr_unlock_user(km, "pc1", "alice", PW("u-2"), &s),
	    BEEMO_EPASSWORD);
	keymgr_secret_free(ref);
	REQUIRE((ref = unlock_admin(km, "pc1")) != NULL);
	CHECK_OK(keymgr_unlock_user(km, "pc1", "alice", PW("u-3"), &s));
	CHECK(s != NULL && same_secret(ref, s));
	REQUIRE_OK(km_load_machine(km, "pc1", &m));
	CHECK(memcmp(before, m->users[0].pub, m->users[0].publen) != 0);
	km_machine_free(m);
	CHECK_OK(keymgr_machine_info(km, "pc1", &info, NULL, NULL));
	CHECK(info.nusers == 1 && info.current_gen == 2);
	CHECK_RC(keymgr_user_passwd(km, "pc1", "nobody", PW("a"), PW("b")),
	    BEEMO_ENOUSER);
	CHECK_RC(keymgr_user_passwd(km, "pc1", "alice", PW("u-3"), "", 0),
	    -EINVAL);
	keymgr_secret_free(s);
	keymgr_secret_free(ref);
	keymgr_free(km);
}

/* ---- rotation --------------------------------------------------------- */

static void
test_rotate(void)
{
	char dir[256], poste[512], path[512];
	uint8_t k1[KEYMGR_MAX_GENS][KEYMGR_KCV_LEN];
	uint8_t k2[KEYMGR_MAX_GENS][KEYMGR_KCV_LEN];
	struct keymgr_machine_info info;
	keymgr_secret *before, *a, *u = NULL, *p = NULL, *b = NULL;
	uint32_t gen = 0, g;
	struct stat st;
	keymgr *km;

	newdir(dir, sizeof(dir), "rotate");
	km = appliance(dir);
	path_of(poste, sizeof(poste), dir, "pc1.poste");
	REQUIRE((before = unlock_admin(km, "pc1")) != NULL);
	CHECK_OK(keymgr_rotate(km, "pc1", PW(APW), &gen));
	CHECK(gen == 2);
	REQUIRE((a = unlock_admin(km, "pc1")) != NULL);
	CHECK(keymgr_secret_current_gen(a) == 2 && keymgr_secret_ngens(a) ==
	    2);
	/* Generation 1 unchanged. */
	kcvs(before, k1);
	kcvs(a, k2);
	CHECK(memcmp(k1[0], k2[0], KEYMGR_KCV_LEN) == 0);
	CHECK(memcmp(k2[0], k2[1], KEYMGR_KCV_LEN) != 0);
	CHECK_OK(keymgr_unlock_user(km, "pc1", "alice", PW(UPW), &u));
	CHECK_OK(keymgr_unlock_poste(km, "pc1", poste, &p));
	CHECK(u && p && same_secret(a, u) && same_secret(a, p));
	/* A user added after the rotation gets every generation. */
	CHECK_OK(keymgr_user_add(km, "pc1", "bob", PW(BPW), PW(APW)));
	CHECK_OK(keymgr_unlock_user(km, "pc1", "bob", PW(BPW), &b));
	CHECK(b && same_secret(a, b) && keymgr_secret_ngens(b) == 2);
	keymgr_secret_free(u);
	keymgr_secret_free(p);
	keymgr_secret_free(b);
	u = p = b = NULL;

	/* Up to the limit: every generation stays unlockable. */
	for (g = 3; g <= KEYMGR_MAX_GENS; g++)
		CHECK_OK(keymgr_rotate(km, "pc1", PW(APW), &gen));
	CHECK(gen == KEYMGR_MAX_GENS);
	CHECK_RC(keymgr_rotate(km, "pc1", PW(APW), &gen), -ENOSPC);
	CHECK_OK(keymgr_unlock_user(km, "pc1", "bob", PW(BPW), &b));
	CHECK_OK(keymgr_unlock_poste(km, "pc1", poste, &p));
	CHECK(b && p && keymgr_secret_ngens(b) == KEYMGR_MAX_GENS &&
	    same_secret(b, p));
	kcvs(b, k2);
	CHECK(memcmp(k1[0], k2[0], KEYMGR_KCV_LEN) == 0);
	CHECK_OK(keymgr_machine_info(km, "pc1", &info, NULL, NULL));
	CHECK(info.current_gen == KEYMGR_MAX_GENS && info.ngens ==
	    KEYMGR_MAX_GENS && info.gen_created[0] >=
	    info.gen_created[KEYMGR_MAX_GENS - 1]);
	path_of(path, sizeof(path), dir, "keys/machines/pc1.key");
	REQUIRE(stat(path, &st) == 0);
	CHECK(st.st_size < KM_FILE_MAX);
	keymgr_secret_free(before);
	keymgr_secret_free(a);
	keymgr_secret_free(b);
	keymgr_secret_free(p);
	keymgr_free(km);
}

/* ---- removal ---------------------------------------------------------- */

static int
contains(const uint8_t *hay, size_t len, const uint8_t *needle, size_t n)
{
	return memmem(hay, len, needle, n) != NULL;
}

static void
test_remove(void)
{
	char dir[256], path[512];
	uint8_t pub[KM_PUB_MAX], wrap[KM_WRAP_LEN], *buf;
	struct km_machine *m = NULL;
	keymgr_secret *s = NULL;
	size_t publen, len;
	char **users = NULL;
	size_t n = 0;
	struct keymgr_machine_info info;
	keymgr *km;
	int ui;

	newdir(dir, sizeof(dir), "remove");
	km = appliance(dir);
	REQUIRE_OK(keymgr_user_add(km, "pc1", "bob", PW(BPW), PW(APW)));
	REQUIRE_OK(km_load_machine(km, "pc1", &m));
	REQUIRE((ui = km_find_user(m, "bob")) >= 0);
	publen = m->users[ui].publen;
	memcpy(pub, m->users[ui].pub, publen);
	memcpy(wrap, m->users[ui].wraps[0], KM_WRAP_LEN);
	km_machine_free(m);
	path_of(path, sizeof(path), dir, "keys/machines/pc1.key");
	buf = slurp(path, &len);
	CHECK(contains(buf, len, pub, publen));
	CHECK(contains(buf, len, wrap, KM_WRAP_LEN));
	free(buf);

	CHECK_OK(keymgr_user_remove(km, "pc1", "bob", PW(APW)));
	buf = slurp(path, &len);
	CHECK(!contains(buf, len, pub, publen));
	CHECK(!contains(buf, len, wrap, KM_WRAP_LEN));
	free(buf);
	CHECK_RC(keymgr_unlock_user(km, "pc1", "bob", PW(BPW), &s),
	    BEEMO_ENOUSER);
	CHECK_RC(keymgr_user_remove(km, "pc1", "bob", PW(APW)),
	    BEEMO_ENOUSER);
	CHECK_OK(keymgr_machine_info(km, "pc1", &info, &users, &n));
	CHECK(n == 1 && strcmp(users[0], "alice") == 0);
	keymgr_names_free(users, n);

	CHECK_OK(keymgr_machine_remove(km, "pc1", PW(APW)));
	CHECK(access(path, F_OK) != 0);
	CHECK_RC(keymgr_unlock_admin(km, "pc1", PW(APW), &s),
	    BEEMO_ENOMACHINE);
	CHECK_RC(keymgr_machine_remove(km, "pc1", PW(APW)),
	    BEEMO_ENOMACHINE);
	CHECK_OK(keymgr_machine_list(km, &users, &n));
	CHECK(n == 0);
	keymgr_names_free(users, n);
	keymgr_free(km);
}

/* ---- modes ------------------------------------------------------------ */

static void
check_mode(const char *dir, const char *rel, mode_t want)
{
	char path[512];
	struct stat st;

	path_of(path, sizeof(path), dir, rel);
	REQUIRE(stat(path, &st) == 0);
	if ((st.st_mode & 07777) != want)
		fprintf(stderr, "%s: mode %o, expected %o\n", path,
		    st.st_mode & 07777, want);
	CHECK((st.st_mode & 07777) == want);
}

static void
test_modes(void)
{
	char dir[256];
	char **names = NULL;
	size_t n = 0;
	mode_t old = umask(0);
	keymgr *km;

	newdir(dir, sizeof(dir), "modes");
	/* Even with a permissive umask. */
	km = appliance(dir);
	umask(old);
	check_mode(dir, "keys", 0700);
	check_mode(dir, "keys/machines", 0700);
	check_mode(dir, "keys/admin.key", 0600);
	check_mode(dir, "keys/appliance.key", 0600);
	check_mode(dir, "keys/machines/pc1.key", 0600);
	check_mode(dir, "pc1.poste", 0600);
	check_mode(dir, "keys/lock", 0600);
	CHECK_OK(keymgr_user_add(km, "pc1", "bob", PW(BPW), PW(APW)));
	check_mode(dir, "keys/machines/pc1.key", 0600);
	/* A temporary of a killed writer is never listed, and goes at the
	 * next change. */
	{
		char tmp[512];

		path_of(tmp, sizeof(tmp), dir,
		    "keys/machines/pc1.key.tmp.99999");
		spit(tmp, (const uint8_t *)"x", 1);
		CHECK_OK(keymgr_machine_list(km, &names, &n));
		CHECK(n == 1 && strcmp(names[0], "pc1") == 0);
		keymgr_names_free(names, n);
		CHECK_OK(keymgr_user_remove(km, "pc1", "bob", PW(APW)));
		CHECK(access(tmp, F_OK) != 0);
	}
	keymgr_free(km);
}

/* ---- corrupt files ---------------------------------------------------- */

/* Every truncation and every flipped byte of @rel is refused by
 * keymgr_parse_check; @api runs the real consumer of the file. */
static void
corrupt_file(keymgr *km, const char *dir, const char *rel,
    int (*api)(keymgr *km, const char *dir), int api_stride)
{
	char path[512];
	uint8_t *orig, *buf;
	size_t len, i;
	int rc;

	path_of(path, sizeof(path), dir, rel);
	orig = slurp(path, &len);
	REQUIRE((buf = malloc(len + 1)) != NULL);
	CHECK_OK(keymgr_parse_check(orig, len));
	for (i = 0; i < len; i++) {
		rc = keymgr_parse_check(orig, i);
		CHECK(rc == BEEMO_EFORMAT);
		if (rc != BEEMO_EFORMAT)
			fprintf(stderr, "%s truncated to %zu: %d\n", rel, i,
			    rc);
		memcpy(buf, orig, len);
		buf[i] ^= (uint8_t)(1u << (i % 8));
		CHECK_RC(keymgr_parse_check(buf, len), BEEMO_EFORMAT);
		if (i % (size_t)api_stride == 0) {
			spit(path, orig, i);
			CHECK_RC(api(km, dir), BEEMO_EFORMAT);
			spit(path, buf, len);
			CHECK_RC(api(km, dir), BEEMO_EFORMAT);
			CHECK(strstr(keymgr_errmsg(km), "digest mismatch") ||
			    strstr(keymgr_errmsg(km), "not a Beemo"));
		}
	}
	/* One byte more. */
	memcpy(buf, orig, len);
	buf[len] = 0;
	CHECK_RC(keymgr_parse_check(buf, len + 1), BEEMO_EFORMAT);
	/* Wrong magic. */
	memcpy(buf, orig, len);
	buf[0] ^= 0x20;
	CHECK_RC(keymgr_parse_check(buf, len), BEEMO_EFORMAT);
	/* A newer version, digest recomputed: a version error. */
	memcpy(buf, orig, len);
	bm_be32enc(buf + 8, 99);
	fix_digest(buf, len);
	CHECK_RC(keymgr_parse_check(buf, len), BEEMO_EVERSION);
	spit(path, buf, len);
	CHECK_RC(api(km, dir), BEEMO_EVERSION);
	CHECK(strstr(keymgr_errmsg(km), "version") != NULL);
	spit(path, orig, len);
	CHECK_OK(api(km, dir));
	free(buf);
	free(orig);
}

static int
api_admin(keymgr *km, const char *dir)
{
	(void)dir;
	return keymgr_admin_check(km, PW(APW));
}

static int
api_machine(keymgr *km, const char *dir)
{
	keymgr_secret *s = NULL;
	int rc = keymgr_unlock_admin(km, "pc1", PW(APW), &s);

	(void)dir;
	keymgr_secret_free(s);
	return rc;
}

/*
 * Flip bytes and recompute the digest, as an attacker who rewrites a file
 * can: the consumer must fail cleanly or, where the byte is not
 * security-relevant (a timestamp), give exactly the same SECRET.
 */
static void
tamper_file(keymgr *km, const char *dir, const char *rel,
    int (*api)(keymgr *km, const char *dir), size_t stride)
{
	char path[512];
	uint8_t *orig, *buf;
	size_t len, i;
	int rc, ok = 0, refused = 0;

	path_of(path, sizeof(path), dir, rel);
	orig = slurp(path, &len);
	REQUIRE((buf = malloc(len)) != NULL);
	for (i = 8; i < len - KM_DIGEST_LEN; i += stride) {
		memcpy(buf, orig, len);
		buf[i] ^= 0x5a;
		fix_digest(buf, len);
		spit(path, buf, len);
		rc = api(km, dir);
		if (rc == 0) {
			ok++;
			continue;
		}
		refused++;
		CHECK(rc == BEEMO_EFORMAT || rc == BEEMO_EVERSION ||
		    rc == BEEMO_EPASSWORD || rc == BEEMO_EFOREIGN);
		if (!(rc == BEEMO_EFORMAT || rc == BEEMO_EVERSION ||
		    rc == BEEMO_EPASSWORD || rc == BEEMO_EFOREIGN))
			fprintf(stderr, "%s byte %zu: %d %s\n", rel, i, rc,
			    keymgr_errmsg(km));
	}
	spit(path, orig, len);
	CHECK(refused > 0);
	fprintf(stderr, "tamper %s: %d refused, %d harmless\n", rel, refused,
	    ok);
	free(buf);
	free(orig);
}

/* The SECRET seen by api_machine after tampering must never differ: the
 * harmless bytes (timestamps) are checked by comparing KCVs. */
static keymgr_secret *tamper_ref;

static int
api_machine_same(keymgr *km, const char *dir)
{
	keymgr_secret *s = NULL;
	int rc = keymgr_unlock_admin(km, "pc1", PW(APW), &s);

	(void)dir;
	if (rc == 0) {
		CHECK(same_secret(tamper_ref, s));
		keymgr_secret_free(s);
	}
	return rc;
}

static int
api_user_same(keymgr *km, const char *dir)
{
	keymgr_secret *s = NULL;
	int rc = keymgr_unlock_user(km, "pc1", "alice", PW(UPW), &s);

	(void)dir;
	if (rc == 0) {
		CHECK(same_secret(tamper_ref, s));
		keymgr_secret_free(s);
	}
	return rc;
}

static int
api_poste_same(keymgr *km, const char *dir)
{
	char poste[512];
	keymgr_secret *s = NULL;
	int rc;

	path_of(poste, sizeof(poste), dir, "pc1.poste");
	rc = keymgr_unlock_poste(km, "pc1", poste, &s);
	if (rc == 0) {
		CHECK(same_secret(tamper_ref, s));
		keymgr_secret_free(s);
	}
	return rc;
}

static void
test_corrupt(void)
{
	char dir[256], path[512], keys[512];
	uint8_t *buf, *big;
	size_t len;
	keymgr *km, *km2 = NULL;

	newdir(dir, sizeof(dir), "corrupt");
	km = appliance(dir);
	REQUIRE_OK(keymgr_rotate(km, "pc1", PW(APW), NULL));
	corrupt_file(km, dir, "keys/admin.key", api_admin, 7);
	corrupt_file(km, dir, "keys/machines/pc1.key", api_machine, 7);
	corrupt_file(km, dir, "pc1.poste", api_poste, 7);
	corrupt_file(km, dir, "keys/appliance.key", api_poste, 1);

	REQUIRE((tamper_ref = unlock_admin(km, "pc1")) != NULL);
	tamper_file(km, dir, "keys/machines/pc1.key", api_machine_same, 5);
	tamper_file(km, dir, "keys/machines/pc1.key", api_user_same, 11);
	tamper_file(km, dir, "pc1.poste", api_poste_same, 1);
	tamper_file(km, dir, "keys/appliance.key", api_poste_same, 1);
	tamper_file(km, dir, "keys/admin.key", api_machine_same, 3);

	/* Swapped wraps of generations 1 and 2 (digest recomputed): the
	 * OAEP label refuses them. */
	path_of(path, sizeof(path), dir, "keys/machines/pc1.key");
	buf = slurp(path, &len);
	{
		struct km_machine *m = NULL;
		uint8_t tmp[KM_WRAP_LEN], *g1, *g2;

		REQUIRE_OK(km_load_machine(km, "pc1", &m));
		g1 = memmem(buf, len, m->gens[0].wrap_admin, KM_WRAP_LEN);
		g2 = memmem(buf, len, m->gens[1].wrap_admin, KM_WRAP_LEN);
		REQUIRE(g1 != NULL && g2 != NULL);
		memcpy(tmp, g1, KM_WRAP_LEN);
		memcpy(g1, g2, KM_WRAP_LEN);
		memcpy(g2, tmp, KM_WRAP_LEN);
		fix_digest(buf, len);
		spit(path, buf, len);
		CHECK_RC(api_machine(km, dir), BEEMO_EFORMAT);
		CHECK(strstr(keymgr_errmsg(km), "does not unwrap") != NULL);
		/* Swap back, then break a key check value. */
		memcpy(g2, g1, KM_WRAP_LEN);
		memcpy(g1, tmp, KM_WRAP_LEN);
		g1 = memmem(buf, len, m->gens[1].kcv, KM_KCV_STORED);
		REQUIRE(g1 != NULL);
		g1[3] ^= 1;
		fix_digest(buf, len);
		spit(path, buf, len);
		CHECK_RC(api_machine(km, dir), BEEMO_EFORMAT);
		CHECK(strstr(keymgr_errmsg(km), "key check") != NULL);
		km_machine_free(m);
	}
	free(buf);

	/* A hostile scrypt cost in admin.key: refused by the parser. */
	path_of(path, sizeof(path), dir, "keys/admin.key");
	buf = slurp(path, &len);
	bm_be64enc(buf + offsetof(struct km_admin_disk, kdf), 1ULL << 30);
	fix_digest(buf, len);
	CHECK_RC(keymgr_parse_check(buf, len), BEEMO_EFORMAT);
	spit(path, buf, len);
	path_of(keys, sizeof(keys), dir, "keys");
	CHECK_RC(keymgr_open(keys, &km2), BEEMO_EFORMAT);
	free(buf);

	/* Oversized files. */
	REQUIRE((big = calloc(1, KM_FILE_MAX + 1)) != NULL);
	memcpy(big, KM_MAGIC_MACHINE, 8);
	CHECK_RC(keymgr_parse_check(big, KM_FILE_MAX + 1), BEEMO_EFORMAT);
	path_of(path, sizeof(path), dir, "keys/machines/pc1.key");
	spit(path, big, KM_FILE_MAX + 1);
	CHECK_RC(api_machine(km, dir), BEEMO_EFORMAT);
	CHECK(strstr(keymgr_errmsg(km), "too large") != NULL);
	CHECK_RC(keymgr_parse_check(big, 0), BEEMO_EFORMAT);
	CHECK_RC(keymgr_parse_check(NULL, 0), BEEMO_EFORMAT);
	free(big);
	keymgr_secret_free(tamper_ref);
	keymgr_free(km);
}

/* ---- POSTE key files -------------------------------------------------- */

static void
test_poste(void)
{
	char dir[256], p1[512], p2[512], appl[512];
	keymgr_secret *a, *s = NULL;
	keymgr *km;

	newdir(dir, sizeof(dir), "poste");
	km = appliance(dir);
	path_of(p1, sizeof(p1), dir, "pc1.poste");
	path_of(p2, sizeof(p2), dir, "pc1-new.poste");
	REQUIRE((a = unlock_admin(km, "pc1")) != NULL);
	CHECK_RC(keymgr_poste_issue(km, "pc1", PW(APW), p1), -EEXIST);
	CHECK_OK(keymgr_poste_issue(km, "pc1", PW(APW), p2));
	keymgr_secret_free(a);
	REQUIRE((a = unlock_admin(km, "pc1")) != NULL);
	CHECK(keymgr_secret_ngens(a) == 2);
	CHECK_RC(keymgr_unlock_poste(km, "pc1", p1, &s), BEEMO_EPASSWORD);
	CHECK(strstr(keymgr_errmsg(km), "replaced by a newer one") != NULL);
	CHECK_OK(keymgr_unlock_poste(km, "pc1", p2, &s));
	CHECK(s != NULL && same_secret(a, s));
	keymgr_secret_free(s);
	s = NULL;

	/* Recovery: without appliance.key no POSTE key file opens; the
	 * administrator's password brings it back. */
	path_of(appl, sizeof(appl), dir, "keys/appliance.key");
	REQUIRE(unlink(appl) == 0);
	CHECK_RC(keymgr_unlock_poste(km, "pc1", p2, &s), -ENOENT);
	CHECK(strstr(keymgr_errmsg(km), "appliance.key") != NULL);
	CHECK_RC(keymgr_restore_appliance_key(km, PW(UPW)), BEEMO_EPASSWORD);
	CHECK(access(appl, F_OK) != 0);
	CHECK_OK(keymgr_restore_appliance_key(km, PW(APW)));
	CHECK_RC(keymgr_restore_appliance_key(km, PW(APW)), -EEXIST);
	check_mode(dir, "keys/appliance.key", 0600);
	CHECK_OK(keymgr_unlock_poste(km, "pc1", p2, &s));
	CHECK(s != NULL && same_secret(a, s));
	keymgr_secret_free(s);
	keymgr_secret_free(a);
	keymgr_free(km);
}

/* ---- blobs sealed for the administrator ------------------------------- */

static void
test_seal_admin(void)
{
	static const char text[] = "store = /var/lib/beemo\n";
	char dir[256];
	uint8_t *blob = NULL, *out = NULL;
	size_t bloblen = 0, outlen = 0, i;
	keymgr *km;

	newdir(dir, sizeof(dir), "seal");
	km = appliance(dir);
	REQUIRE_OK(keymgr_seal_admin(km, (const uint8_t *)text,
	    sizeof(text), &blob, &bloblen));
	CHECK(memmem(blob, bloblen, "var/lib", 7) == NULL);
	CHECK_OK(keymgr_open_admin(km, PW(APW), blob, bloblen, &out,
	    &outlen));
	CHECK(out != NULL && outlen == sizeof(text) &&
	    memcmp(out, text, outlen) == 0);
	free(out);
	out = NULL;
	CHECK_RC(keymgr_open_admin(km, PW(UPW), blob, bloblen, &out,
	    &outlen), BEEMO_EPASSWORD);
	for (i = 8; i < bloblen; i += 41) {
		int rc;

		blob[i] ^= 4;
		rc = keymgr_open_admin(km, PW(APW), blob, bloblen, &out,
		    &outlen);
		CHECK(rc == -EBADMSG || rc == BEEMO_EVERSION ||
		    rc == BEEMO_EFOREIGN);
		blob[i] ^= 4;
	}
	CHECK_RC(keymgr_open_admin(km, PW(APW), blob, bloblen - 1, &out,
	    &outlen), -EBADMSG);
	CHECK_RC(keymgr_open_admin(km, PW(APW), blob, 10, &out, &outlen),
	    BEEMO_EFORMAT);
	CHECK(out == NULL);
	free(blob);
	keymgr_free(km);
}

/* ---- the default scrypt parameters, once ------------------------------ */

static void
test_default_kdf(void)
{
	char dir[256], keys[512], poste[512];
	struct keymgr_kdf kdf, def;
	keymgr_secret *s = NULL, *u = NULL;
	uint64_t t0, t1;
	keymgr *km;

	newdir(dir, sizeof(dir), "default");
	path_of(keys, sizeof(keys), dir, "keys");
	path_of(poste, sizeof(poste), dir, "pc1.poste");
	REQUIRE_OK(keymgr_init(keys, PW(APW), NULL));
	REQUIRE_OK(keymgr_open(keys, &km));
	keymgr_kdf(km, &kdf);
	keymgr_kdf_default(&def);
	CHECK(kdf.N == def.N && kdf.r == def.r && kdf.p == def.p);
	CHECK(km_kdf_valid(&def));
	REQUIRE_OK(keymgr_machine_add(km, "pc1", "alice", PW(UPW), PW(APW),
	    poste));
	t0 = bm_mono_ns();
	CHECK_OK(keymgr_unlock_admin(km, "pc1", PW(APW), &s));
	t1 = bm_mono_ns();
	fprintf(stderr, "default scrypt (N=%llu r=%u p=%u): admin unlock "
	    "%.3f s\n", (unsigned long long)def.N, def.r, def.p,
	    (double)(t1 - t0) / 1e9);
	CHECK_OK(keymgr_unlock_user(km, "pc1", "alice", PW(UPW), &u));
	CHECK(s && u && same_secret(s, u));
	keymgr_secret_free(s);
	keymgr_secret_free(u);
	keymgr_free(km);
}

/* ---- the rest of the directory ---------------------------------------- */

static void
test_store_dir(void)
{
	char dir[256], keys[512];
	keymgr *km = NULL;

	newdir(dir, sizeof(dir), "dir");
	path_of(keys, sizeof(keys), dir, "keys");
	CHECK_RC(keymgr_open(keys, &km), BEEMO_ENOSTORE);
	REQUIRE_OK(keymgr_init(keys, PW(APW), &low_kdf));
	CHECK_RC(keymgr_init(keys, PW(APW), &low_kdf), -EEXIST);
	REQUIRE_OK(keymgr_open(keys, &km));
	{
		char **names = NULL;
		size_t n = 7;

		CHECK_OK(keymgr_machine_list(km, &names, &n));
		CHECK(n == 0);
		keymgr_names_free(names, n);
	}
	keymgr_free(km);
	keymgr_free(NULL);
	keymgr_secret_free(NULL);
}

int
main(void)
{
	const char *tmp = getenv("TMPDIR");

	if (keymgr_global_init() != 0)
		fprintf(stderr, "note: no secure heap\n");
	CHECK_OK(keymgr_global_init()); /* again: a no-op */
	snprintf(root, sizeof(root), "%s/test_keymgr.XXXXXX",
	    tmp && *tmp ? tmp : "/tmp");
	REQUIRE(mkdtemp(root) != NULL);

	test_kat();
	test_kdf_bounds();
	test_store_dir();
	test_principals();
	test_wrong_password();
	test_other_machine();
	test_other_appliance();
	test_passwords();
	test_rotate();
	test_remove();
	test_modes();
	test_corrupt();
	test_poste();
	test_seal_admin();
	test_default_kdf();

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
