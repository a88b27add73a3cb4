/*
 * test_space.c -- unit tests of the free-space policy
 * (tools/base/bm_space.c) as bm_space.h and beemo.conf(5) document it:
 * the default reserve, alert and machine quota of small and large file
 * systems, the configuration's values, shares, and the states of a real
 * file system.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bm_conf.h"
#include "bm_err.h"
#include "bm_file.h"
#include "bm_space.h"
#include "check.h"

#define MIB (1024ULL * 1024)
#define GIB (1024 * MIB)

static char tmp[256];
static char path[512];

static bm_conf *
conf_of(const char *text)
{
	char err[512];
	bm_conf *conf = NULL;

	REQUIRE_OK(bm_write_file_atomic(path, text, strlen(text), 0600, 0));
	REQUIRE_OK(bm_conf_load(path, &conf, err, sizeof(err)));
	return conf;
}

static void
test_defaults(void)
{
	struct bm_space s;

	/* A small disk: the reserve's floor, the alert at twice it. */
	bm_space_limits(NULL, 40 * MIB, &s);
	CHECK(s.size == 40 * MIB && s.reserve == 8 * MIB);
	CHECK(s.alert == 16 * MIB);
	CHECK(s.machine_quota == 40 * MIB / 100 * 50);
	/* Smaller than the floor: cut to the disk. */
	bm_space_limits(NULL, 4 * MIB, &s);
	CHECK(s.reserve == 4 * MIB && s.alert == 4 * MIB);
	/* A mid-size disk: 1% and 10%. */
	bm_space_limits(NULL, 50 * GIB, &s);
	CHECK(s.reserve == 50 * GIB / 100 && s.alert == 5 * GIB);
	/* A large disk: the reserve's cap. */
	bm_space_limits(NULL, 4096 * GIB, &s);
	CHECK(s.reserve == GIB && s.alert == 4096 * GIB / 10);
	CHECK(s.machine_quota == 4096 * GIB / 100 * 50);
}

static void
test_conf(void)
{
	struct bm_space s;
	bm_conf *conf;
	unsigned pct;
	char err[512];

	conf = conf_of("[store]\nreserve = 100M\nspace_alert = 1G\n"
	    "machine_quota = 20%\n");
	bm_space_limits(conf, 50 * GIB, &s);
	CHECK(s.reserve == 100 * MIB && s.alert == GIB);
	CHECK(s.machine_quota == 50 * GIB / 100 * 20);
	bm_conf_free(conf);
	conf = conf_of("[store]\nmachine_quota = 300G\n");
	bm_space_limits(conf, 50 * GIB, &s);
	CHECK(s.machine_quota == 300 * GIB);
	bm_conf_free(conf);
	conf = conf_of("[store]\nmachine_quota = 0\n");
	bm_space_limits(conf, 50 * GIB, &s);
	CHECK(s.machine_quota == 0);
	bm_conf_free(conf);

	CHECK(bm_space_share("0%", &pct) && pct == 0);
	CHECK(bm_space_share("100%", &pct) && pct == 100);
	CHECK(!bm_space_share("101%", &pct));
	CHECK(!bm_space_share("50", &pct));
	CHECK(!bm_space_share("-5%", &pct));
	CHECK(!bm_space_share("5%%", &pct));
	CHECK(!bm_space_share(" 5%", &pct));
	/* The configuration refuses what is neither a share nor a size. */
	REQUIRE_OK(bm_write_file_atomic(path, "[store]\nmachine_quota = "
	    "half\n", 29, 0600, 0));
	CHECK_RC(bm_conf_load(path, &conf, err, sizeof(err)), BEEMO_ECONFIG);
	CHECK(strstr(err, ":2: machine_quota must be a share") != NULL);
}

static void
test_states(void)
{
	struct bm_space s;
	bm_conf *conf;

	CHECK_RC(bm_space_get(NULL, "/nonexistent/store", &s), -ENOENT);
	REQUIRE_OK(bm_space_get(NULL, tmp, &s));
	CHECK(s.size > 0 && s.avail <= s.size);
	/* No reserve, no alert: fine whatever is free. */
	conf = conf_of("[store]\nreserve = 0\nspace_alert = 0\n");
	REQUIRE_OK(bm_space_get(conf, tmp, &s));
	CHECK(s.avail < BM_SPACE_WRITE || s.state == BM_SPACE_OK);
	bm_conf_free(conf);
	/* An alert larger than the disk: low at least. */
	conf = conf_of("[store]\nreserve = 0\nspace_alert = 1000000T\n");
	REQUIRE_OK(bm_space_get(conf, tmp, &s));
	CHECK(s.alert == s.size && s.state != BM_SPACE_OK);
	bm_conf_free(conf);
	/* A reserve larger than the disk: full. */
	conf = conf_of("[store]\nreserve = 1000000T\n");
	REQUIRE_OK(bm_space_get(conf, tmp, &s));
	CHECK(s.state == BM_SPACE_FULL);
	CHECK(strcmp(bm_space_state_name(s.state), "full") == 0);
	bm_conf_free(conf);
	CHECK(strcmp(bm_space_state_name(BM_SPACE_LOW), "low") == 0);
	CHECK(strcmp(bm_space_state_name(BM_SPACE_OK), "ok") == 0);
}

int
main(void)
{
	char cmd[300];

	snprintf(tmp, sizeof(tmp), "/tmp/beemo-test-space.XXXXXX");
	REQUIRE(mkdtemp(tmp) != NULL);
	snprintf(path, sizeof(path), "%s/beemo.conf", tmp);
	test_defaults();
	test_conf();
	test_states();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmp);
	return check_status();
}
