/*
 * test_center_serve.c -- beemo-center serve's path normalization and
 * SFTP packet parsing (sync/center_serve.c, sync/center_sftp.c): every
 * path stays below the area's data/, a truncated or oversized packet is
 * never read beyond its end.
 */
#include <string.h>
#include <unistd.h>

#include "center_serve.h"
#include "check.h"

static const char *
norm(const char *in)
{
	static char rel[PATH_MAX];

	if (serve_norm((const uint8_t *)in, (uint32_t)strlen(in), rel,
	    sizeof(rel)) != 0)
		return "(refused)";
	return rel;
}

static void
test_norm(void)
{
	static char long_path[PATH_MAX + 10];
	char small[4];

	CHECK(!strcmp(norm("/"), ""));
	CHECK(!strcmp(norm("."), ""));
	CHECK(!strcmp(norm(""), ""));
	CHECK(!strcmp(norm(".."), ""));
	CHECK(!strcmp(norm("/.."), ""));
	CHECK(!strcmp(norm("../../etc/passwd"), "etc/passwd"));
	CHECK(!strcmp(norm("a//b/./c/.."), "a/b"));
	CHECK(!strcmp(norm("a/../../b"), "b"));
	CHECK(!strcmp(norm("/machines/pc1/../pc2/x"), "machines/pc2/x"));
	CHECK(!strcmp(norm("..."), "..."));
	CHECK(!strcmp(norm(".tmp-x/"), ".tmp-x"));
	CHECK(serve_norm((const uint8_t *)"a\0b", 3, small, sizeof(small)) ==
	    -1);
	CHECK(serve_norm((const uint8_t *)"abcd", 4, small, sizeof(small)) ==
	    -1);
	CHECK(serve_norm((const uint8_t *)"abc", 3, small, sizeof(small)) ==
	    0 && !strcmp(small, "abc"));
	memset(long_path, 'a', sizeof(long_path) - 1);
	CHECK(!strcmp(norm(long_path), "(refused)"));
}

static void
test_fields(void)
{
	static const uint8_t pkt[] = {0, 0, 0, 8, 'a', 'b', 'c', 0, 0, 0, 9};
	struct sftp_msg m = {pkt, pkt + sizeof(pkt)};
	const uint8_t *s;
	uint32_t len, flags;
	uint64_t v;

	CHECK(sftp_get_str(&m, &s, &len) == -1); /* 8 bytes, 7 left */
	m.p = pkt;
	CHECK(sftp_get_u32(&m, &len) == 0 && len == 8);
	CHECK(sftp_get_u64(&m, &v) == -1); /* 7 left */
	m.p = pkt + 4;
	CHECK(sftp_get_u32(&m, &len) == 0);
	CHECK(sftp_get_u32(&m, &len) == -1); /* 3 left */
	/* Attributes whose extended count runs past the packet. */
	{
		static const uint8_t a[] = {0x80, 0, 0, 0, 0xff, 0xff, 0xff,
		    0xff, 0, 0, 0, 1, 'x'};
		struct sftp_msg am = {a, a + sizeof(a)};

		CHECK(sftp_get_attrs(&am, &flags) == -1);
	}
	{
		static const uint8_t a[] = {0, 0, 0, 0x0f, 0, 0, 0, 0, 0, 0,
		    0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 1, 0xa4, 0, 0, 0, 3, 0,
		    0, 0, 4};
		struct sftp_msg am = {a, a + sizeof(a)};

		CHECK(sftp_get_attrs(&am, &flags) == 0 && flags == 0x0f &&
		    am.p == am.end);
		am.p = a;
		am.end = a + sizeof(a) - 1;
		CHECK(sftp_get_attrs(&am, &flags) == -1);
	}
}

static struct sftp_in in;

static int
feed(const uint8_t *p, size_t len)
{
	int fds[2];

	if (pipe(fds) != 0)
		return -1;
	if (write(fds[1], p, len) != (ssize_t)len)
		return -1;
	close(fds[1]);
	memset(&in, 0, sizeof(in));
	in.fd = fds[0];
	return 0;
}

static void
test_packets(void)
{
	static const uint8_t two[] = {0, 0, 0, 5, 1, 0, 0, 0, 3,
	    0, 0, 0, 1, 17};
	static const uint8_t huge[] = {0, 4, 0, 1, 3};
	static const uint8_t empty[] = {0, 0, 0, 0};
	static const uint8_t cut[] = {0, 0, 0, 9, 3, 0};
	struct sftp_msg m;
	uint8_t type;
	uint32_t v;

	REQUIRE(feed(two, sizeof(two)) == 0);
	CHECK(sftp_in_next(&in, &type, &m) == 0);
	CHECK(sftp_in_fill(&in) == 1);
	CHECK(sftp_in_next(&in, &type, &m) == 1 && type == 1);
	CHECK(sftp_get_u32(&m, &v) == 0 && v == 3 && m.p == m.end);
	CHECK(sftp_in_next(&in, &type, &m) == 1 && type == 17 &&
	    m.p == m.end);
	CHECK(sftp_get_u32(&m, &v) == -1);
	CHECK(sftp_in_next(&in, &type, &m) == 0);
	CHECK(sftp_in_fill(&in) == 0);
	close(in.fd);

	REQUIRE(feed(huge, sizeof(huge)) == 0);
	CHECK(sftp_in_fill(&in) == 1);
	CHECK(sftp_in_next(&in, &type, &m) == -1);
	close(in.fd);
	REQUIRE(feed(empty, sizeof(empty)) == 0);
	CHECK(sftp_in_fill(&in) == 1);
	CHECK(sftp_in_next(&in, &type, &m) == -1);
	close(in.fd);
	REQUIRE(feed(cut, sizeof(cut)) == 0);
	CHECK(sftp_in_fill(&in) == 1);
	CHECK(sftp_in_next(&in, &type, &m) == 0);
	CHECK(sftp_in_fill(&in) == 0);
	close(in.fd);
}

int
main(void)
{
	test_norm();
	test_fields();
	test_packets();
	return check_status();
}
