/*
 * sync_target.c -- a [target NAME] section of the configuration file,
 * read and checked before any connection is made.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bm_conf.h"
#include "bm_err.h"
#include "bm_log.h"
#include "sync.h"

void
sync_target_clear(struct sync_target *t)
{
	free(t->host);
	free(t->user);
	free(t->key);
	free(t->known_hosts);
	free(t->path);
	memset(t, 0, sizeof(*t));
}

/* A remote path may not contain "." or ".." components: confinement
 * below ROOT starts from a root that means what it says. */
static int
path_ok(const char *p)
{
	const char *s = p;

	if (*p == '\0' || strlen(p) > 1024)
		return 0;
	while (*s != '\0') {
		size_t n = strcspn(s, "/");

		if ((n == 1 && s[0] == '.') ||
		    (n == 2 && s[0] == '.' && s[1] == '.'))
			return 0;
		s += n;
		while (*s == '/')
			s++;
	}
	return strpbrk(p, "\n\r") == NULL;
}

static uint64_t
min_nonzero(uint64_t a, uint64_t b)
{
	if (a == 0)
		return b;
	if (b == 0)
		return a;
	return a < b ? a : b;
}

static int
need(const struct sync_ctx *ctx, const char *name, const char *key,
    char **out)
{
	const char *v = bm_conf_get(ctx->conf, "target", name, key, NULL);

	if (v == NULL || *v == '\0') {
		sync_log(LOG_ERR, "target %s: '%s' is not set in [target %s] "
		    "of %s", name, key, name, bm_conf_path(ctx->conf) ?
		    bm_conf_path(ctx->conf) : "the configuration");
		return BEEMO_ECONFIG;
	}
	if ((*out = strdup(v)) == NULL)
		return -ENOMEM;
	return 0;
}

int
sync_target_load(const struct sync_ctx *ctx, const char *name,
    uint64_t bwlimit, struct sync_target *t)
{
	const char *const *names;
	size_t n, i;
	uint64_t v;
	int rc;

	memset(t, 0, sizeof(*t));
	bm_conf_names(ctx->conf, "target", &names, &n);
	for (i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			break;
	if (i == n || strlen(name) >= sizeof(t->name)) {
		sync_log(LOG_ERR, "no [target %s] in %s", name,
		    bm_conf_path(ctx->conf) ? bm_conf_path(ctx->conf) :
		    "the configuration (none was read)");
		return BEEMO_ECONFIG;
	}
	strcpy(t->name, name);
	if ((rc = need(ctx, name, "host", &t->host)) != 0 ||
	    (rc = need(ctx, name, "user", &t->user)) != 0 ||
	    (rc = need(ctx, name, "key", &t->key)) != 0 ||
	    (rc = need(ctx, name, "known_hosts", &t->known_hosts)) != 0 ||
	    (rc = need(ctx, name, "path", &t->path)) != 0)
		goto fail_clear;
	if (!path_ok(t->path)) {
		sync_log(LOG_ERR, "target %s: path '%s' must not contain '.' "
		    "or '..' components", name, t->path);
		rc = BEEMO_ECONFIG;
		goto fail_clear;
	}
	v = bm_conf_get_u64(ctx->conf, "target", name, "port", 22);
	if (v == 0 || v > 65535) {
		sync_log(LOG_ERR, "target %s: port %llu out of range", name,
		    (unsigned long long)v);
		rc = BEEMO_ECONFIG;
		goto fail_clear;
	}
	t->port = (unsigned)v;
	v = bm_conf_get_u64(ctx->conf, "sync", NULL, "connections",
	    SYNC_DEF_CONN);
	v = bm_conf_get_u64(ctx->conf, "target", name, "connections", v);
	if (v == 0 || v > SYNC_MAX_CONN) {
		sync_log(LOG_ERR, "target %s: connections must be 1 to %d",
		    name, SYNC_MAX_CONN);
		rc = BEEMO_ECONFIG;
		goto fail_clear;
	}
	t->connections = (unsigned)v;
	v = bm_conf_get_u64(ctx->conf, "sync", NULL, "timeout",
	    SYNC_DEF_TIMEOUT);
	t->timeout_ms = (unsigned)((v == 0 || v > 86400 ? SYNC_DEF_TIMEOUT :
	    v) * 1000);
	t->bandwidth = min_nonzero(bwlimit,
	    min_nonzero(bm_conf_get_size(ctx->conf, "sync", NULL,
	    "bandwidth", 0), bm_conf_get_size(ctx->conf, "target", name,
	    "bandwidth", 0)));
	if (access(t->key, R_OK) != 0) {
		rc = -errno;
		sync_log(LOG_ERR, "target %s: private key %s: %s", name,
		    t->key, beemo_strerror(rc));
		goto fail_clear;
	}
	if (access(t->known_hosts, R_OK) != 0) {
		rc = -errno;
		sync_log(LOG_ERR, "target %s: known_hosts %s: %s", name,
		    t->known_hosts, beemo_strerror(rc));
		goto fail_clear;
	}
	return 0;

fail_clear:
	sync_target_clear(t);
	return rc;
}
