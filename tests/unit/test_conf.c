/*
 * test_conf.c -- unit tests of the configuration file parser
 * (tools/base/bm_conf.c) as beemo.conf(5) documents it: sections, named
 * sections, comments (also after a value), quoted values with their
 * escapes, a byte order mark, blanks, the last of two assignments, the typed
 * getters (sizes, booleans, numbers, durations), and every error naming
 * its file and line.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bm_conf.h"
#include "bm_err.h"
#include "bm_file.h"
#include "check.h"

static char tmp[256];
static char path[512];

/* Write @text as the configuration file. */
static void
put(const char *text)
{
	REQUIRE_OK(bm_write_file_atomic(path, text, strlen(text), 0600, 0));
}

/* Load @text; returns the code and leaves the message in @err. */
static int
load(const char *text, bm_conf **conf, char *err, size_t errlen)
{
	put(text);
	*conf = NULL;
	return bm_conf_load(path, conf, err, errlen);
}

/* @text must fail at line @line with a message containing @what. */
static void
bad(const char *text, int line, const char *what)
{
	char err[512], want[600];
	bm_conf *conf;

	CHECK_RC(load(text, &conf, err, sizeof(err)), BEEMO_ECONFIG);
	CHECK(conf == NULL);
	snprintf(want, sizeof(want), "%s:%d: ", path, line);
	if (strncmp(err, want, strlen(want)) != 0 ||
	    strstr(err, what) == NULL) {
		fprintf(stderr, "for %s\n  got \"%s\"\n  want \"%s...%s\"\n",
		    text, err, want, what);
		CHECK(!"error message");
	}
}

static void
test_syntax(void)
{
	char err[512];
	bm_conf *conf;
	const char *const *names;
	size_t n;

	REQUIRE_OK(load(
	    "# a comment\n"
	    "   ; another one, after blanks\n"
	    "\n"
	    "store =   /srv/beemo   \n"
	    "appliance=\n"
	    "[store]\n"
	    "pack_size = 512K\n"
	    "cache_size = 1.5g\n"
	    "compression_level = 7\n"
	    "commit_interval = 1h30m\n"
	    "\t[ scan ]\t\n"
	    "enabled = off\n"
	    "max_file_size = 10B\n"
	    "reload_interval = 90\n"
	    "[target center-b]\n"
	    "host = 192.0.2.10\n"
	    "port = 2222\n"
	    "[target center-a]\n"
	    "host = b.example\n"
	    "host = a.example\n"
	    "[machine pc1]\n"
	    "quota_hard = 1T\r\n"
	    "[mail]\n"
	    "command = /usr/sbin/sendmail -t -i # a comment\n"
	    "unreachable_after = 2d",
	    &conf, err, sizeof(err)));
	CHECK(strcmp(bm_conf_path(conf), path) == 0);
	CHECK(strcmp(bm_conf_get(conf, NULL, NULL, "store", "x"),
	    "/srv/beemo") == 0);
	CHECK(strcmp(bm_conf_get(conf, "", NULL, "store", "x"),
	    "/srv/beemo") == 0);
	/* An empty string is a value, not an absent key. */
	CHECK(strcmp(bm_conf_get(conf, NULL, NULL, "appliance", "x"),
	    "") == 0);
	CHECK(bm_conf_get_size(conf, "store", NULL, "pack_size", 1) ==
	    512 << 10);
	CHECK(bm_conf_get_size(conf, "store", NULL, "cache_size", 1) ==
	    3ULL << 29);
	CHECK(bm_conf_get_u64(conf, "store", NULL, "compression_level", 1) ==
	    7);
	CHECK(bm_conf_get_u64(conf, "store", NULL, "commit_interval", 1) ==
	    90 * 60);
	CHECK(bm_conf_get_bool(conf, "scan", NULL, "enabled", 1) == 0);
	CHECK(bm_conf_get_size(conf, "scan", NULL, "max_file_size", 1) == 10);
	CHECK(bm_conf_get_u64(conf, "scan", NULL, "reload_interval", 1) ==
	    90);
	CHECK(strcmp(bm_conf_get(conf, "target", "center-b", "host", "x"),
	    "192.0.2.10") == 0);
	CHECK(bm_conf_get_u64(conf, "target", "center-b", "port", 22) ==
	    2222);
	CHECK(bm_conf_get_u64(conf, "target", "center-a", "port", 22) == 22);
	/* The last of two assignments wins. */
	CHECK(strcmp(bm_conf_get(conf, "target", "center-a", "host", "x"),
	    "a.example") == 0);
	CHECK(bm_conf_get_size(conf, "machine", "pc1", "quota_hard", 0) ==
	    1ULL << 40);
	CHECK(bm_conf_get_size(conf, "machine", "pc2", "quota_hard", 5) ==
	    5);
	/* A '#' after a blank starts a comment. */
	CHECK(strcmp(bm_conf_get(conf, "mail", NULL, "command", "x"),
	    "/usr/sbin/sendmail -t -i") == 0);
	CHECK(bm_conf_get_u64(conf, "mail", NULL, "unreachable_after", 0) ==
	    2 * 86400);
	/* Unset keys give the default; a key of another section is not
	 * seen from this one. */
	CHECK(strcmp(bm_conf_get(conf, "sync", NULL, "lock", "dflt"),
	    "dflt") == 0);
	CHECK(bm_conf_get(conf, "scan", NULL, "store", NULL) == NULL);
	CHECK(bm_conf_get_bool(conf, "snapshot", NULL, "on_unmount", 1) == 1);

	bm_conf_names(conf, "target", &names, &n);
	REQUIRE(n == 2);
	CHECK(strcmp(names[0], "center-b") == 0);
	CHECK(strcmp(names[1], "center-a") == 0);
	bm_conf_names(conf, "machine", &names, &n);
	CHECK(n == 1 && strcmp(names[0], "pc1") == 0);
	bm_conf_names(conf, "mail", &names, &n);
	CHECK(n == 0);
	bm_conf_free(conf);
}

/* Quoted values, comments after a value or a section, a BOM. */
#define SYNTAX_HEAD                                                     \
	"\xef\xbb\xbfstore = \"/srv/my backups\"\n"                       \
	"appliance = \"a \\\"b\\\" \\\\ # c\"   # the name\n"              \
	"[target center-a]   # the first center\n"                      \
	"host = \"192.0.2.1\"\n"                                         \
	"port = 22 # ssh\n"                                              \
	"user = backup#1\n"                                              \
	"path = \"\"\n"                                                  \
	"key =   # no key\n"

static void
test_quotes_comments(void)
{
	char err[512];
	bm_conf *conf;

	CHECK_RC(load(
	    SYNTAX_HEAD
	    "[scan]# not a comment: no blank\n",
	    &conf, err, sizeof(err)), BEEMO_ECONFIG);
	/* "[scan]#..." is not a comment; the same without it loads. */
	CHECK(strstr(err, ":9: expected ']'") != NULL);
	REQUIRE_OK(load(
	    SYNTAX_HEAD
	    "known_hosts=#file\n"
	    "[scan]\t# a comment\n"
	    "enabled = \"no\"\n",
	    &conf, err, sizeof(err)));
	CHECK(strcmp(bm_conf_get(conf, NULL, NULL, "store", "x"),
	    "/srv/my backups") == 0);
	CHECK(strcmp(bm_conf_get(conf, NULL, NULL, "appliance", "x"),
	    "a \"b\" \\ # c") == 0);
	CHECK(strcmp(bm_conf_get(conf, "target", "center-a", "host", "x"),
	    "192.0.2.1") == 0);
	CHECK(bm_conf_get_u64(conf, "target", "center-a", "port", 0) == 22);
	CHECK(strcmp(bm_conf_get(conf, "target", "center-a", "user", "x"),
	    "backup#1") == 0);
	CHECK(strcmp(bm_conf_get(conf, "target", "center-a", "path", "x"),
	    "") == 0);
	CHECK(strcmp(bm_conf_get(conf, "target", "center-a", "key", "x"),
	    "") == 0);
	CHECK(strcmp(bm_conf_get(conf, "target", "center-a", "known_hosts",
	    "x"), "#file") == 0);
	CHECK(bm_conf_get_bool(conf, "scan", NULL, "enabled", 1) == 0);
	bm_conf_free(conf);

	/* Errors name the file and the line. */
	bad("store = /a\nappliance = \"x\n", 2,
	    "a quoted value misses its closing '\"'");
	bad("\n\nstore = \"a\\nb\"\n", 3,
	    "'\\' must be followed by '\"' or '\\'");
	bad("store = \"a\" b\n", 1, "text after the closing '\"'");
	bad("[target a]\nport = \"22\" 23\n", 2, "text after");
	bad("[target a]\nport = 22 #\nport = 22 x\n", 3,
	    "port must be a whole number");
	bad("\xef\xbb\xbf\n[scan] x # c\n", 2, "expected ']'");
	/* A BOM only at the start of the file. */
	bad("store = /a\n\xef\xbb\xbf" "appliance = b\n", 2, "unknown key");
}

static void
test_bools(void)
{
	static const char *const yes[] = {"yes", "true", "on", "1"};
	static const char *const no[] = {"no", "false", "off", "0"};
	char text[128], err[512];
	bm_conf *conf;
	size_t i;

	for (i = 0; i < 4; i++) {
		snprintf(text, sizeof(text), "[scan]\nenabled = %s\n", yes[i]);
		REQUIRE_OK(load(text, &conf, err, sizeof(err)));
		CHECK(bm_conf_get_bool(conf, "scan", NULL, "enabled", 0) == 1);
		bm_conf_free(conf);
		snprintf(text, sizeof(text), "[scan]\nenabled = %s\n", no[i]);
		REQUIRE_OK(load(text, &conf, err, sizeof(err)));
		CHECK(bm_conf_get_bool(conf, "scan", NULL, "enabled", 1) == 0);
		bm_conf_free(conf);
	}
}

static void
test_errors(void)
{
	static char big[(1 << 20) + 2];
	char err[512];
	bm_conf *conf;

	bad("store = /a\nbogus = 1\n", 2, "unknown key 'bogus'");
	bad("[scan]\n\nstore = /a\n", 3, "unknown key 'store' in [scan]");
	bad("# c\nstore /a\n", 2, "expected 'key = value'");
	bad("[bogus]\n", 1, "unknown section [bogus]");
	bad("\n[target]\nhost = a\n", 2, "this section needs a name");
	bad("[scan pc1]\n", 1, "this section takes no name");
	bad("[target .hidden]\n", 1, "bad section name");
	bad("[target a b]\n", 1, "bad section name");
	bad("[scan\n", 1, "expected ']'");
	bad("[scan] x\n", 1, "expected ']'");
	bad("[target a]\nhost = x\n[target a]\n", 3, "appears twice");
	bad("[store]\npack_size = lots\n", 2,
	    "pack_size must be a size such as 512K, 10M, 1.5G or 10MB");
	bad("[store]\npack_size = 1.5\n", 2, "must be a size");
	bad("[store]\npack_size = 1.5 M\n", 2, "must be a size");
	bad("[store]\npack_size = 99999999999T\n", 2, "must be a size");
	bad("[store]\npack_size =\n", 2, "must be a size");
	bad("[scan]\nenabled = maybe\n", 2, "enabled must be yes or no");
	bad("[scan]\nmax_files = 12x\n", 2, "must be a whole number");
	bad("[scan]\nmax_files = -1\n", 2, "must be a whole number");
	bad("[store]\ncommit_interval = 2y\n", 2,
	    "commit_interval must be a duration such as 90s, 1h30m, 2d or 1w");
	bad("[store]\ncommit_interval = 30m1h\n", 2, "must be a duration");

	/* A NUL byte: not a text file, and the line that holds it. */
	REQUIRE_OK(bm_write_file_atomic(path, "#\nstore = /a\0b\n", 15, 0600,
	    0));
	CHECK_RC(bm_conf_load(path, &conf, err, sizeof(err)), BEEMO_ECONFIG);
	CHECK(strstr(err, ":2: a NUL byte: not a text file") != NULL);

	/* At most 1 MiB. */
	memset(big, '#', sizeof(big));
	REQUIRE_OK(bm_write_file_atomic(path, big, sizeof(big), 0600, 0));
	CHECK_RC(bm_conf_load(path, &conf, err, sizeof(err)), -EFBIG);
	CHECK(strncmp(err, path, strlen(path)) == 0);
	REQUIRE_OK(bm_write_file_atomic(path, big, 1 << 20, 0600, 0));
	CHECK_OK(bm_conf_load(path, &conf, err, sizeof(err)));
	bm_conf_free(conf);

	/* A file named explicitly must exist. */
	CHECK_RC(bm_conf_load("/nonexistent/beemo.conf", &conf, err,
	    sizeof(err)), -ENOENT);
}

static void
test_env_and_empty(void)
{
	char err[512];
	bm_conf *conf;

	put("store = /from/env\n");
	REQUIRE(setenv("BEEMO_CONFIG", path, 1) == 0);
	REQUIRE_OK(bm_conf_load(NULL, &conf, err, sizeof(err)));
	CHECK(strcmp(bm_conf_get(conf, NULL, NULL, "store", "x"),
	    "/from/env") == 0);
	bm_conf_free(conf);
	/* Named by the variable, the file must exist. */
	REQUIRE(setenv("BEEMO_CONFIG", "/nonexistent/beemo.conf", 1) == 0);
	CHECK_RC(bm_conf_load(NULL, &conf, err, sizeof(err)), -ENOENT);
	unsetenv("BEEMO_CONFIG");

	REQUIRE((conf = bm_conf_empty()) != NULL);
	CHECK(bm_conf_path(conf) == NULL);
	CHECK(strcmp(bm_conf_get(conf, NULL, NULL, "store",
	    BM_STORE_DEFAULT), BM_STORE_DEFAULT) == 0);
	CHECK(bm_conf_get_size(conf, "store", NULL, "pack_size", 7) == 7);
	CHECK(bm_conf_get_u64(conf, "sync", NULL, "timeout", 8) == 8);
	CHECK(bm_conf_get_bool(conf, "scan", NULL, "enabled", 1) == 1);
	bm_conf_free(conf);
	bm_conf_free(NULL);
}

int
main(void)
{
	char cmd[300];

	snprintf(tmp, sizeof(tmp), "/tmp/beemo-test-conf.XXXXXX");
	REQUIRE(mkdtemp(tmp) != NULL);
	snprintf(path, sizeof(path), "%s/beemo.conf", tmp);
	test_syntax();
	test_quotes_comments();
	test_bools();
	test_errors();
	test_env_and_empty();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmp);
	return check_status();
}
