/*
 * km_check.h -- what the key hierarchy's unit tests (test_keymgr.c,
 * test_keymgr_trust.c) share: a temporary root, low scrypt settings,
 * file helpers that fail the test on error, tampering as anyone can
 * (recomputing a key file's SHA-256 trailer), and the usual appliance.
 * Include after check.h, keymgr.h and keymgr_internal.h.
 */
#ifndef BEEMO_KM_CHECK_H
#define BEEMO_KM_CHECK_H

#include <string.h>
#include <sys/stat.h>

#include "bm_file.h"

static char root[256];
static const struct keymgr_kdf low_kdf = {1024, 8, 1};

#define APW "admin-pw"
#define UPW "alice-pw"
#define PW(s) (s), strlen(s)

/* BUF receives DIR/REL. */
static inline void
path_of(char *buf, size_t size, const char *dir, const char *rel)
{
	REQUIRE(bm_path(buf, size, "%s/%s", dir, rel) == 0);
}

/* The content of PATH (at most 4 MiB), malloc'd. */
static inline uint8_t *
slurp(const char *path, size_t *len)
{
	uint8_t *buf = NULL;

	REQUIRE_OK(bm_read_file(path, 4u << 20, &buf, len));
	return buf;
}

/* Replace PATH with LEN bytes of BUF (mode 0600). */
static inline void
spit(const char *path, const uint8_t *buf, size_t len)
{
	REQUIRE_OK(bm_write_file_atomic(path, buf, len, 0600, 0));
}

/* Recompute the SHA-256 trailer, as an attacker can. */
static inline void
fix_digest(uint8_t *buf, size_t len)
{
	REQUIRE_OK(km_sha256(buf, len - KM_DIGEST_LEN,
	    buf + len - KM_DIGEST_LEN));
}

/* A fresh directory for one test: ROOT/NAME. */
static inline void
newdir(char *dir, size_t size, const char *name)
{
	path_of(dir, size, root, name);
	REQUIRE(mkdir(dir, 0700) == 0);
}

/* Appliance in DIR/keys with machine pc1, user alice, POSTE key file
 * DIR/pc1.poste. */
static inline keymgr *
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

/* Does the POSTE key file DIR/pc1.poste open pc1?  0 or the error. */
static inline int
api_poste(keymgr *km, const char *dir)
{
	keymgr_secret *s = NULL;
	char poste[512];
	int rc;

	path_of(poste, sizeof(poste), dir, "pc1.poste");
	rc = keymgr_unlock_poste(km, "pc1", poste, &s);
	keymgr_secret_free(s);
	return rc;
}

#endif /* BEEMO_KM_CHECK_H */
