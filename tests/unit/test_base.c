/*
 * test_base.c -- unit tests of the small modules of the base library
 * (tools/base/): error messages, hex, base64 (RFC 4648 vectors),
 * big-endian integers, UTF-8 and names, numbers, sizes and durations,
 * times, the durable writer and the bounded reader, directory listings,
 * and the AES-GCM helper.
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
#include "bm_gcm.h"
#include "bm_time.h"
#include "bm_units.h"
#include "check.h"

#define NS 1000000000ULL

static char tmp[256];

static void
test_errors(void)
{
	CHECK(strcmp(beemo_strerror(0), "success") == 0);
	CHECK(strcmp(beemo_strerror(BEEMO_EFORMAT),
	    "malformed file or record") == 0);
	CHECK(strcmp(beemo_strerror(BEEMO_EQUOTA), "quota exceeded") == 0);
	CHECK(strcmp(beemo_strerror(-ENOENT), strerror(ENOENT)) == 0);
	CHECK(strcmp(beemo_strerror(BEEMO_ERR_LAST - 1), "unknown error") ==
	    0);
	CHECK(strcmp(beemo_strerror(BEEMO_ERR_BASE), "unknown error") == 0);
	/* An LMDB code (MDB_NOTFOUND) is the store's to translate. */
	CHECK(strcmp(beemo_strerror(-30798), "unknown error") == 0);
	CHECK(strcmp(beemo_strerror(5), "unknown error") == 0);
}

static void
test_hex(void)
{
	const uint8_t in[] = {0x00, 0x01, 0xab, 0xff, 0x7e};
	uint8_t out[5];
	char hex[11];

	bm_hex(hex, in, sizeof(in));
	CHECK(strcmp(hex, "0001abff7e") == 0);
	CHECK_OK(bm_unhex(out, sizeof(out), hex));
	CHECK(memcmp(out, in, sizeof(in)) == 0);
	CHECK_OK(bm_unhex(out, sizeof(out), "0001ABFF7E"));
	CHECK(memcmp(out, in, sizeof(in)) == 0);
	CHECK_RC(bm_unhex(out, sizeof(out), "0001abff7"), -EINVAL);
	CHECK_RC(bm_unhex(out, sizeof(out), "0001abff7e0"), -EINVAL);
	CHECK_RC(bm_unhex(out, sizeof(out), "0001abfg7e"), -EINVAL);
	CHECK_RC(bm_unhex(out, sizeof(out), " 001abff7e"), -EINVAL);
	bm_hex(hex, in, 0);
	CHECK(hex[0] == '\0');
	CHECK_OK(bm_unhex(out, 0, ""));
}

static void
test_base64(void)
{
	static const char *const vec[][2] = {
		{"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"},
		{"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="},
		{"foobar", "Zm9vYmFy"},
	};
	static const char *const bad[] = {
		"Zg=", "Zg", "Z===", "====", "Zg==Zg==", "Zm9v\n", "Zm9*",
		"Zm 9", "Zg=a", "Z=g=", "Zm9-", "Zm9_",
		/* OpenSSL's decoder would take these; the strict rules not. */
		" Zm9", "Zm9 ", "\tZg=", "Zg=\n", "Zm9v\r\nZm9v", "=Zg=",
	};
	uint8_t all[256], dec[256];
	char enc[BM_BASE64_LEN(256) + 1];
	size_t i, n;

	for (i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		n = bm_base64_enc(enc, vec[i][0], strlen(vec[i][0]));
		CHECK(n == strlen(vec[i][1]) && strcmp(enc, vec[i][1]) == 0);
		CHECK(n == BM_BASE64_LEN(strlen(vec[i][0])));
		CHECK_OK(bm_base64_dec(dec, sizeof(dec), vec[i][1],
		    strlen(vec[i][1]), &n));
		CHECK(n == strlen(vec[i][0]) &&
		    memcmp(dec, vec[i][0], n) == 0);
	}
	for (i = 0; i < sizeof(all); i++)
		all[i] = (uint8_t)(255 - i);
	for (i = 0; i <= sizeof(all); i++) {
		size_t len = bm_base64_enc(enc, all, i);

		CHECK_OK(bm_base64_dec(dec, sizeof(dec), enc, len, &n));
		CHECK(n == i && memcmp(dec, all, i) == 0);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_RC(bm_base64_dec(dec, sizeof(dec), bad[i],
		    strlen(bad[i]), &n), -EINVAL);
	/* Only the given length is read. */
	CHECK_OK(bm_base64_dec(dec, sizeof(dec), "Zm9v!!!!", 4, &n));
	CHECK(n == 3);
	/* The output must fit. */
	CHECK_RC(bm_base64_dec(dec, 5, "Zm9vYmFy", 8, &n), -ENOSPC);
	CHECK_OK(bm_base64_dec(dec, 6, "Zm9vYmFy", 8, &n));
	CHECK_RC(bm_base64_dec(dec, 0, "Zg==", 4, &n), -ENOSPC);
	/* Padding is not data: an exact-size @out, and not a byte more
	 * written (the decoder yields 3 bytes per quantum). */
	memset(dec, 0xa5, sizeof(dec));
	CHECK_OK(bm_base64_dec(dec, 4, "Zm9vYg==", 8, &n));
	CHECK(n == 4 && memcmp(dec, "foob", 4) == 0 && dec[4] == 0xa5 &&
	    dec[5] == 0xa5);
	/* Embedded NUL within the given length. */
	CHECK_RC(bm_base64_dec(dec, sizeof(dec), "Zm\0v", 4, &n), -EINVAL);
}

static void
test_bytes(void)
{
	uint8_t b[8];

	bm_be16enc(b, 0x0102);
	CHECK(b[0] == 1 && b[1] == 2 && bm_be16dec(b) == 0x0102);
	bm_be32enc(b, 0xa1b2c3d4);
	CHECK(b[0] == 0xa1 && b[3] == 0xd4 && bm_be32dec(b) == 0xa1b2c3d4);
	bm_be64enc(b, 0x0102030405060708ULL);
	CHECK(b[0] == 1 && b[7] == 8 &&
	    bm_be64dec(b) == 0x0102030405060708ULL);
	bm_be64enc(b, UINT64_MAX);
	CHECK(bm_be64dec(b) == UINT64_MAX);

	CHECK(bm_utf8_len((const unsigned char *)"a") == 1);
	CHECK(bm_utf8_len((const unsigned char *)"\xc3\xa9") == 2);
	CHECK(bm_utf8_len((const unsigned char *)"\xe2\x82\xac") == 3);
	CHECK(bm_utf8_len((const unsigned char *)"\xf0\x9f\x98\x80") == 4);
	CHECK(bm_utf8_len((const unsigned char *)"\xc0\xaf") == 0);
	CHECK(bm_utf8_len((const unsigned char *)"\xc3") == 0);
	CHECK(bm_utf8_len((const unsigned char *)"\xe2\x82") == 0);
	CHECK(bm_utf8_len((const unsigned char *)"\x80") == 0);
	CHECK(bm_utf8_len((const unsigned char *)"\xf5\x80\x80\x80") == 0);
	CHECK(bm_utf8_len((const unsigned char *)"\xff") == 0);
	/* Strict: surrogates, overlong forms, above U+10FFFF. */
	CHECK(bm_utf8_len((const unsigned char *)"\xed\xa0\x80") == 0);
	CHECK(bm_utf8_len((const unsigned char *)"\xed\xbf\xbf") == 0);
	CHECK(bm_utf8_len((const unsigned char *)"\xed\x9f\xbf") == 3);
	CHECK(bm_utf8_len((const unsigned char *)"\xe0\x9f\xbf") == 0);
	CHECK(bm_utf8_len((const unsigned char *)"\xe0\xa0\x80") == 3);
	CHECK(bm_utf8_len((const unsigned char *)"\xf0\x8f\xbf\xbf") == 0);
	CHECK(bm_utf8_len((const unsigned char *)"\xf0\x90\x80\x80") == 4);
	CHECK(bm_utf8_len((const unsigned char *)"\xf4\x8f\xbf\xbf") == 4);
	CHECK(bm_utf8_len((const unsigned char *)"\xf4\x90\x80\x80") == 0);
	CHECK(bm_utf8_valid("caf\xc3\xa9") && bm_utf8_valid(""));
	CHECK(!bm_utf8_valid("caf\xc3") && !bm_utf8_valid("a\xed\xa0\x80"));

	CHECK(bm_valid_name("pc1"));
	CHECK(bm_valid_name("Center_A.example-2"));
	CHECK(bm_valid_name("a"));
	CHECK(bm_valid_name("0123456789012345678901234567890123456789"
	    "012345678901234567890123"));
	CHECK(!bm_valid_name("0123456789012345678901234567890123456789"
	    "0123456789012345678901234"));
	CHECK(!bm_valid_name(""));
	CHECK(!bm_valid_name(".hidden"));
	CHECK(!bm_valid_name("-opt"));
	CHECK(!bm_valid_name("a/b"));
	CHECK(!bm_valid_name("a b"));
	CHECK(!bm_valid_name("caf\xc3\xa9"));
}

static void
test_units(void)
{
	uint64_t v;
	char buf[32];

	CHECK_OK(bm_parse_u64("0", &v));
	CHECK(v == 0);
	CHECK_OK(bm_parse_u64("1844674407370955161", &v));
	CHECK(v == 1844674407370955161ULL);
	CHECK_RC(bm_parse_u64("99999999999999999999", &v), -EINVAL);
	CHECK_RC(bm_parse_u64("", &v), -EINVAL);
	CHECK_RC(bm_parse_u64("-1", &v), -EINVAL);
	CHECK_RC(bm_parse_u64(" 1", &v), -EINVAL);
	CHECK_RC(bm_parse_u64("1 ", &v), -EINVAL);
	CHECK_RC(bm_parse_u64("0x10", &v), -EINVAL);

	CHECK_OK(bm_parse_size("512", &v));
	CHECK(v == 512);
	CHECK_OK(bm_parse_size("512B", &v));
	CHECK(v == 512);
	CHECK_OK(bm_parse_size("10k", &v));
	CHECK(v == 10240);
	CHECK_OK(bm_parse_size("10K", &v));
	CHECK(v == 10240);
	CHECK_OK(bm_parse_size("5M", &v));
	CHECK(v == 5ULL << 20);
	CHECK_OK(bm_parse_size("2g", &v));
	CHECK(v == 2ULL << 30);
	CHECK_OK(bm_parse_size("1T", &v));
	CHECK(v == 1ULL << 40);
	CHECK_OK(bm_parse_size("16777215T", &v));
	CHECK(v == 16777215ULL << 40);
	CHECK_OK(bm_parse_size("0G", &v));
	CHECK(v == 0);
	CHECK_RC(bm_parse_size("16777216T", &v), -EINVAL);
	CHECK_RC(bm_parse_size("1P", &v), -EINVAL);
	CHECK_RC(bm_parse_size("K", &v), -EINVAL);
	CHECK_RC(bm_parse_size("1 K", &v), -EINVAL);
	CHECK_RC(bm_parse_size("", &v), -EINVAL);
	CHECK_RC(bm_parse_size("123456789012345678901234567890123", &v),
	    -EINVAL);

	CHECK_OK(bm_parse_duration("90", &v));
	CHECK(v == 90);
	CHECK_OK(bm_parse_duration("90s", &v));
	CHECK(v == 90);
	CHECK_OK(bm_parse_duration("45m", &v));
	CHECK(v == 2700);
	CHECK_OK(bm_parse_duration("3h", &v));
	CHECK(v == 10800);
	CHECK_OK(bm_parse_duration("2d", &v));
	CHECK(v == 172800);
	CHECK_RC(bm_parse_duration("3H", &v), -EINVAL);
	CHECK_RC(bm_parse_duration("m", &v), -EINVAL);
	CHECK_RC(bm_parse_duration("", &v), -EINVAL);
	CHECK_RC(bm_parse_duration("-5m", &v), -EINVAL);
	CHECK_RC(bm_parse_duration("999999999999999999d", &v), -EINVAL);

	CHECK(strcmp(bm_human(buf, sizeof(buf), 0), "0 B") == 0);
	CHECK(strcmp(bm_human(buf, sizeof(buf), 1023), "1023 B") == 0);
	CHECK(strcmp(bm_human(buf, sizeof(buf), 1536), "1.5 KiB") == 0);
	CHECK(strcmp(bm_human(buf, sizeof(buf), 1ULL << 30), "1.0 GiB") == 0);
	CHECK(strcmp(bm_human(buf, sizeof(buf), 5ULL << 50), "5.0 PiB") == 0);
	CHECK(strcmp(bm_human(buf, sizeof(buf), 3ULL << 60), "3072.0 PiB") ==
	    0);
}

static void
test_time(void)
{
	uint64_t t = 1795861230ULL * NS, v, now;
	char buf[32];

	CHECK(strcmp(bm_time_str(buf, sizeof(buf), 0),
	    "1970-01-01T00:00:00Z") == 0);
	CHECK(strcmp(bm_time_str(buf, sizeof(buf), t + 999999999),
	    "2026-11-28T10:20:30Z") == 0);
	CHECK_OK(bm_parse_time("2026-11-28T10:20:30Z", &v));
	CHECK(v == t);
	CHECK_RC(bm_parse_time("2026-11-28x", &v), -EINVAL);
	CHECK_RC(bm_parse_time("", &v), -EINVAL);
	/* A relative age: that long before now, in whole seconds. */
	now = bm_now_ns() / NS * NS;
	CHECK_OK(bm_parse_time("3h", &v));
	CHECK(v >= now - 3 * 3600 * NS && v <= now - 3 * 3600 * NS + 5 * NS);
	CHECK(v % NS == 0);
	CHECK_OK(bm_parse_time("1000000d", &v));
	CHECK(v == 0);

	CHECK(strcmp(bm_age_str(buf, sizeof(buf), 0, t), "never") == 0);
	CHECK(strcmp(bm_age_str(buf, sizeof(buf), t, t), "0s ago") == 0);
	CHECK(strcmp(bm_age_str(buf, sizeof(buf), t + NS, t), "0s ago") == 0);
	CHECK(strcmp(bm_age_str(buf, sizeof(buf), t - 42 * NS, t),
	    "42s ago") == 0);
	CHECK(strcmp(bm_age_str(buf, sizeof(buf), t - 119 * NS, t),
	    "119s ago") == 0);
	CHECK(strcmp(bm_age_str(buf, sizeof(buf), t - 120 * NS, t),
	    "2m ago") == 0);
	CHECK(strcmp(bm_age_str(buf, sizeof(buf), t - 3 * 3600 * NS, t),
	    "3h ago") == 0);
	CHECK(strcmp(bm_age_str(buf, sizeof(buf), t - 2 * 86400 * NS, t),
	    "2d ago") == 0);

	CHECK(bm_mono_ns() > 0);
	CHECK(bm_now_ns() > t - 365 * 86400 * NS);
}

static int
no_tmp(const char *name)
{
	return strstr(name, ".tmp.") == NULL;
}

static void
test_files(void)
{
	char path[600], dir[300], big[300];
	uint8_t *buf;
	char **names;
	size_t len, n;
	struct stat st;

	/* The durable writer: content, mode, no temporary left. */
	snprintf(path, sizeof(path), "%s/f", tmp);
	CHECK_OK(bm_write_file_atomic(path, "hello", 5, 0640, 1));
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0640 &&
	    st.st_size == 5);
	CHECK_RC(bm_write_file_atomic(path, "again", 5, 0600, 1), -EEXIST);
	CHECK_OK(bm_write_file_atomic(path, "bye", 3, 0600, 0));
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);

	/* The bounded reader: up to the limit, and not one byte more. */
	CHECK_OK(bm_read_file(path, 3, &buf, &len));
	CHECK(len == 3 && memcmp(buf, "bye", 4) == 0); /* NUL after it */
	free(buf);
	buf = NULL;
	CHECK_RC(bm_read_file(path, 2, &buf, &len), -EFBIG);
	CHECK(buf == NULL);
	CHECK_OK(bm_write_file_atomic(path, "", 0, 0600, 0));
	CHECK_OK(bm_read_file(path, 0, &buf, &len));
	CHECK(len == 0 && buf[0] == '\0');
	free(buf);
	CHECK_RC(bm_read_file(tmp, 1 << 20, &buf, &len), -EINVAL);
	snprintf(path, sizeof(path), "%s/missing", tmp);
	CHECK_RC(bm_read_file(path, 1 << 20, &buf, &len), -ENOENT);
	CHECK_RC(bm_read_file("/dev/zero", 1 << 20, &buf, &len), -EINVAL);

	/* Paths and directories. */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK_RC(bm_path(path, 100, "%s/%s", tmp, big), -ENAMETOOLONG);
	CHECK_OK(bm_path(path, sizeof(path), "%s/a/b/c", tmp));
	CHECK_OK(bm_mkdir_p(path, 0700));
	CHECK_OK(bm_mkdir_p(path, 0700));
	CHECK(stat(path, &st) == 0 && S_ISDIR(st.st_mode));
	CHECK_OK(bm_fsync_dir(path));
	snprintf(dir, sizeof(dir), "%s/a", tmp);
	snprintf(path, sizeof(path), "%s/zeta", dir);
	CHECK_OK(bm_write_file_atomic(path, "z", 1, 0600, 0));
	snprintf(path, sizeof(path), "%s/alpha", dir);
	CHECK_OK(bm_write_file_atomic(path, "a", 1, 0600, 0));
	snprintf(path, sizeof(path), "%s/x.tmp.1", dir);
	CHECK_OK(bm_write_file_atomic(path, "t", 1, 0600, 0));
	CHECK_OK(bm_list_dir(dir, no_tmp, &names, &n));
	REQUIRE(n == 3);
	CHECK(strcmp(names[0], "alpha") == 0 && strcmp(names[1], "b") == 0 &&
	    strcmp(names[2], "zeta") == 0);
	bm_names_free(names, n);
	CHECK_OK(bm_list_dir(dir, NULL, &names, &n));
	CHECK(n == 4);
	bm_names_free(names, n);
	snprintf(path, sizeof(path), "%s/none", tmp);
	CHECK_OK(bm_list_dir(path, NULL, &names, &n));
	CHECK(n == 0 && names == NULL);
	bm_names_free(NULL, 0);
}

static void
test_gcm(void)
{
	uint8_t key[BM_GCM_KEY_LEN] = {1, 2, 3}, iv[BM_GCM_IV_LEN] = {9};
	const char *msg = "attack at dawn";
	size_t n = strlen(msg);
	uint8_t ct[64], pt[64], zero[64] = {0};

	CHECK_OK(bm_gcm(1, key, iv, "ab", 2, "cd", 2, (const uint8_t *)msg, n,
	    ct));
	CHECK(memcmp(ct, msg, n) != 0);
	CHECK_OK(bm_gcm(0, key, iv, "ab", 2, "cd", 2, ct, n, pt));
	CHECK(memcmp(pt, msg, n) == 0);
	/* The associated data is one string: its split does not matter. */
	CHECK_OK(bm_gcm(0, key, iv, "abcd", 4, NULL, 0, ct, n, pt));
	/* In place. */
	memcpy(pt, ct, n + BM_GCM_TAG_LEN);
	CHECK_OK(bm_gcm(0, key, iv, "abcd", 4, NULL, 0, pt, n, pt));
	CHECK(memcmp(pt, msg, n) == 0);
	/* Any change fails, and no plaintext comes out. */
	CHECK_RC(bm_gcm(0, key, iv, "abce", 4, NULL, 0, ct, n, pt), -EBADMSG);
	CHECK(memcmp(pt, zero, n) == 0);
	ct[3] ^= 1;
	CHECK_RC(bm_gcm(0, key, iv, "abcd", 4, NULL, 0, ct, n, pt), -EBADMSG);
	ct[3] ^= 1;
	ct[n] ^= 1;
	CHECK_RC(bm_gcm(0, key, iv, "abcd", 4, NULL, 0, ct, n, pt), -EBADMSG);
	ct[n] ^= 1;
	key[0] ^= 1;
	CHECK_RC(bm_gcm(0, key, iv, "abcd", 4, NULL, 0, ct, n, pt), -EBADMSG);
	/* Nothing but the tag. */
	CHECK_OK(bm_gcm(1, key, iv, NULL, 0, NULL, 0, NULL, 0, ct));
	CHECK_OK(bm_gcm(0, key, iv, NULL, 0, NULL, 0, ct, 0, pt));
}

int
main(void)
{
	char cmd[300];

	snprintf(tmp, sizeof(tmp), "/tmp/beemo-test-base.XXXXXX");
	REQUIRE(mkdtemp(tmp) != NULL);
	test_errors();
	test_hex();
	test_base64();
	test_bytes();
	test_units();
	test_time();
	test_files();
	test_gcm();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmp);
	return check_status();
}
