/*
 * center_pin.c -- the administrator's key a center believes for an
 * area: the first pin, endorsements, `beemo-center pin` (center_pin.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bm_bytes.h"
#include "bm_err.h"
#include "bm_file.h"
#include "center.h"
#include "center_pin.h"
#include "sync.h"

#define KEY_MAX (1u << 20)  /* bytes of an admin.key */
#define ENDORSE_MAX 4096

static const char pin_usage[] =
    "usage: beemo-center pin AREA [--admin-key FILE]\n";

/* The rest of --help: what pin does and its option. */
static const char pin_help[] =
    "\n"
    "Pin the administrator's key AREA believes (AREA/state/admin.pin):\n"
    "the only admin.key the area has received, or FILE.\n"
    "\n"
    "  -k, --admin-key FILE  the appliance's STORE/keys/admin.key, as its\n"
    "                        administrator gave it\n"
    "  -h, --help            this help\n";

int
center_read(const char *path, size_t max, uint8_t **out, size_t *len)
{
	struct stat st;
	uint8_t *buf = NULL;
	size_t got = 0;
	ssize_t n;
	int fd, rc = 0;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return -errno;
	if (fstat(fd, &st) != 0) {
		rc = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		goto out;
	}
	if ((uint64_t)st.st_size > max) {
		rc = -EFBIG;
		goto out;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size) {
		n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO;
			goto out;
		}
		got += (size_t)n;
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return rc;
}

int
center_area_find(const struct center_ctx *ctx, const char *name,
    struct center_area *a)
{
	char path[PATH_MAX], err[512];
	int rc;

	if (strchr(name, '/') != NULL)
		rc = bm_path(path, sizeof(path), "%s", name);
	else
		rc = bm_path(path, sizeof(path), "%s/%s", ctx->root, name);
	if (rc == 0 && (rc = center_area_open(ctx, path, a, err,
	    sizeof(err))) != 0)
		fprintf(stderr, "beemo-center: %s\n", err);
	else if (rc != 0)
		fprintf(stderr, "beemo-center: %s: %s\n", name,
		    beemo_strerror(rc));
	return rc;
}

int
center_lock(const struct center_area *a, int *fd)
{
	char path[PATH_MAX];
	int rc;

	if ((rc = bm_path(path, sizeof(path), "%s/apply.lock", a->state)))
		return rc;
	if ((*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
		return -errno;
	if (flock(*fd, LOCK_EX) != 0) {
		rc = -errno;
		close(*fd);
		*fd = -1;
	}
	return rc;
}

void
center_pin_free(struct center_pin *p)
{
	free(p->key);
	memset(p, 0, sizeof(*p));
}

/* Take @key (@len bytes, ownership) as @p, if it is an admin.key. */
static int
pin_fill(struct center_pin *p, uint8_t *key, size_t len)
{
	int rc;

	center_pin_free(p);
	if ((rc = keymgr_image_id(key, len, p->appliance)) != 0) {
		free(key);
		return rc;
	}
	p->key = key;
	p->len = len;
	sync_sha256(key, len, p->sha);
	bm_hex(p->hex, p->sha, sizeof(p->sha));
	bm_hex(p->appliance_hex, p->appliance, sizeof(p->appliance));
	return 0;
}

int
center_pin_load(const struct center_area *a, struct center_pin *p)
{
	char path[PATH_MAX];
	uint8_t *key;
	size_t len;
	int rc;

	memset(p, 0, sizeof(*p));
	if ((rc = bm_path(path, sizeof(path), "%s/admin.pin", a->state)) ||
	    (rc = center_read(path, KEY_MAX, &key, &len)) != 0)
		return rc;
	return pin_fill(p, key, len);
}

/* Make @p the pin of @a, journaled and mailed with @how. */
static int
pin_write(const struct center_ctx *ctx, const struct center_area *a,
    const struct center_pin *p, int dry_run, const char *how)
{
	char path[PATH_MAX], subject[256], *body = NULL;
	int rc;

	if (!ctx->quiet)
		printf("%s: %sadministrator key %.16s pinned (%s)\n", a->name,
		    dry_run ? "would have " : "", p->hex, how);
	if (dry_run)
		return 0;
	if ((rc = bm_path(path, sizeof(path), "%s/admin.pin", a->state)) ||
	    (rc = bm_write_file_atomic(path, p->key, p->len, 0600, 0)) != 0) {
		fprintf(stderr, "beemo-center: %s: cannot write %s: %s\n",
		    a->name, path, beemo_strerror(rc));
		return rc;
	}
	(void)center_journal(a, "administrator key pinned (%s): admin.key "
	    "sha256 %s, appliance %s", how, p->hex, p->appliance_hex);
	snprintf(subject, sizeof(subject), "[beemo-center] %s: "
	    "administrator key pinned", a->name);
	if (asprintf(&body, "The storage center now checks the deletion "
	    "requests of appliance %s\n(area %s) with this administrator's "
	    "key:\n\n  admin.key SHA-256 %s\n  pinned: %s\n\nIf the "
	    "administrator did not change the password or keys just now,\n"
	    "tell the center's operator.\n", a->name, a->path, p->hex,
	    how) < 0)
		return -ENOMEM;
	(void)center_mail(ctx, a, subject, body);
	free(body);
	return 0;
}

static int
is_admin_key(const char *name)
{
	return strlen(name) == 26 && strncmp(name, "admin.key.", 10) == 0 &&
	    bm_is_lower_hex(name + 10, 16);
}

static int
is_endorse(const char *name)
{
	return strlen(name) == 30 && strncmp(name, "admin.endorse.", 14) ==
	    0 && bm_is_lower_hex(name + 14, 16);
}

/* The first pin: the one admin.key of the area, if only one. */
static int
first_pin(const struct center_ctx *ctx, const struct center_area *a,
    int dry_run, struct center_pin *p, char *err, size_t errlen)
{
	char dir[PATH_MAX], path[PATH_MAX], **names = NULL;
	uint8_t *key;
	size_t n = 0, len;
	int rc;

	if ((rc = bm_path(dir, sizeof(dir), "%s/keys", a->data)) != 0 ||
	    (rc = bm_list_dir(dir, is_admin_key, &names, &n)) != 0)
		goto out;
	if (n != 1) {
		snprintf(err, errlen, "no administrator key is pinned and the "
		    "area holds %zu admin.key files: pin one with `beemo-center"
		    " pin %s --admin-key FILE`", n, a->path);
		rc = -ENOENT;
		goto out;
	}
	if ((rc = bm_path(path, sizeof(path), "%s/%s", dir, names[0])) ||
	    (rc = center_read(path, KEY_MAX, &key, &len)) != 0 ||
	    (rc = pin_fill(p, key, len)) != 0) {
		snprintf(err, errlen, "%s: %s", path, beemo_strerror(rc));
		goto out;
	}
	rc = pin_write(ctx, a, p, dry_run, "the area's only admin.key");
out:
	bm_names_free(names, n);
	return rc;
}

/* Follow one endorsement made by @p's key to a new key, if there is
 * one.  Returns 1 (followed), 0 (none), or an error. */
static int
follow(const struct center_ctx *ctx, const struct center_area *a,
    int dry_run, struct center_pin *p)
{
	char dir[PATH_MAX], path[PATH_MAX], hex[65], how[128], **names = NULL;
	uint8_t dig[KEYMGR_DIGEST_LEN], id[KEYMGR_ID_LEN], sha[32], *buf;
	uint8_t *key = NULL;
	size_t n = 0, i, len, klen;
	int rc, done = 0;

	if ((rc = bm_path(dir, sizeof(dir), "%s/keys", a->data)) != 0 ||
	    (rc = bm_list_dir(dir, is_endorse, &names, &n)) != 0)
		goto out;
	for (i = 0; i < n && !done; i++) {
		if (bm_path(path, sizeof(path), "%s/%s", dir, names[i]) ||
		    center_read(path, ENDORSE_MAX, &buf, &len) != 0)
			continue;
		/* Made by another key (an older pin): not for us. */
		rc = keymgr_endorse_check(p->key, p->len, buf, len, dig);
		free(buf);
		if (rc != 0 || memcmp(dig, p->sha, sizeof(dig)) == 0)
			continue;
		bm_hex(hex, dig, sizeof(dig));
		if (bm_path(path, sizeof(path), "%s/admin.key.%.16s", dir,
		    hex) || center_read(path, KEY_MAX, &key, &klen) != 0) {
			(void)center_journal(a, "%s endorses admin.key %s, "
			    "which the area does not hold (yet)", names[i],
			    hex);
			continue;
		}
		sync_sha256(key, klen, sha);
		if (memcmp(sha, dig, sizeof(sha)) != 0 ||
		    keymgr_image_id(key, klen, id) != 0 ||
		    memcmp(id, p->appliance, sizeof(id)) != 0) {
			free(key);
			key = NULL;
			continue;
		}
		if ((rc = pin_fill(p, key, klen)) != 0)
			goto out;
		key = NULL;
		snprintf(how, sizeof(how), "endorsed by the pinned key in "
		    "keys/%s", names[i]);
		if ((rc = pin_write(ctx, a, p, dry_run, how)) != 0)
			goto out;
		done = 1;
	}
	rc = done;
out:
	bm_names_free(names, n);
	return rc;
}

int
center_pin_update(const struct center_ctx *ctx,
    const struct center_area *a, int dry_run, struct center_pin *p,
    char *err, size_t errlen)
{
	unsigned rounds;
	int rc;

	*err = '\0';
	rc = center_pin_load(a, p);
	if (rc == -ENOENT)
		rc = first_pin(ctx, a, dry_run, p, err, errlen);
	else if (rc != 0)
		snprintf(err, errlen, "%s/admin.pin: %s", a->state,
		    beemo_strerror(rc));
	/* Each round pins a newer key; a chain is as long as the number
	 * of key replacements, bounded here against a loop. */
	for (rounds = 0; rc == 0 && rounds < 1000; rounds++)
		if ((rc = follow(ctx, a, dry_run, p)) != 1)
			break;
	return rc < 0 ? rc : 0;
}

int
center_cmd_pin(struct center_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{"admin-key", required_argument, NULL, 'k'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct center_area a;
	struct center_pin p, cur;
	const char *file = NULL;
	char err[512];
	uint8_t *key;
	size_t len;
	int c, rc, fd = -1, ret = CENTER_EXIT_FAIL;

	while ((c = getopt_long(argc, argv, "k:h", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			file = optarg;
			break;
		case 'h':
			fputs(pin_usage, stdout);
			fputs(pin_help, stdout);
			return CENTER_EXIT_OK;
		default:
			fputs(pin_usage, stderr);
			return CENTER_EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		fputs(pin_usage, stderr);
		return CENTER_EXIT_USAGE;
	}
	if (center_area_find(ctx, argv[optind], &a) != 0)
		return CENTER_EXIT_FAIL;
	memset(&p, 0, sizeof(p));
	memset(&cur, 0, sizeof(cur));
	if ((rc = center_lock(&a, &fd)) != 0) {
		fprintf(stderr, "beemo-center: %s: cannot lock: %s\n", a.name,
		    beemo_strerror(rc));
		goto out;
	}
	if (file == NULL) {
		if ((rc = center_pin_update(ctx, &a, 0, &p, err,
		    sizeof(err))) != 0) {
			fprintf(stderr, "beemo-center: %s: %s\n", a.name,
			    *err ? err : beemo_strerror(rc));
			goto out;
		}
		if (!ctx->quiet)
			printf("%s: administrator key %s\n", a.name, p.hex);
		ret = CENTER_EXIT_OK;
		goto out;
	}
	if ((rc = center_read(file, KEY_MAX, &key, &len)) != 0 ||
	    (rc = pin_fill(&p, key, len)) != 0) {
		fprintf(stderr, "beemo-center: %s: not an admin.key: %s\n",
		    file, beemo_strerror(rc));
		goto out;
	}
	if (center_pin_load(&a, &cur) == 0 &&
	    memcmp(cur.sha, p.sha, sizeof(p.sha)) == 0) {
		if (!ctx->quiet)
			printf("%s: administrator key %s already pinned\n",
			    a.name, p.hex);
		ret = CENTER_EXIT_OK;
		goto out;
	}
	if (pin_write(ctx, &a, &p, 0, "by the center's operator") == 0)
		ret = CENTER_EXIT_OK;
out:
	if (fd >= 0)
		close(fd);
	center_pin_free(&p);
	center_pin_free(&cur);
	center_area_close(&a);
	return ret;
}
