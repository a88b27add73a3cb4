/*
 * bm_removed.c -- the removed area (bm_removed.h).
 */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bm_bytes.h"
#include "bm_file.h"
#include "bm_removed.h"

#define STAMP_LEN 16 /* "YYYYMMDDTHHMMSSZ" */

/* The time of a STAMP, or 0 if @s is not one. */
static uint64_t
stamp_time(const char *s)
{
	struct tm tm;
	const char *end;
	time_t t;

	if (strlen(s) != STAMP_LEN)
		return 0;
	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y%m%dT%H%M%SZ", &tm)) == NULL ||
	    *end != '\0' || (t = timegm(&tm)) <= 0)
		return 0;
	return (uint64_t)t * 1000000000ULL;
}

/* Fill @e from the directory name @base ("NAME.STAMP"); 0 or -EINVAL. */
static int
parse_entry(const char *area, const char *base, struct bm_removed *e)
{
	const char *dot = strrchr(base, '.');
	size_t n;

	if (dot == NULL || (n = (size_t)(dot - base)) >= sizeof(e->name))
		return -EINVAL;
	memcpy(e->name, base, n);
	e->name[n] = '\0';
	if (!bm_valid_name(e->name) ||
	    (e->removed_ns = stamp_time(dot + 1)) == 0)
		return -EINVAL;
	if (bm_path(e->dir, sizeof(e->dir), "%s/%s", area, base) ||
	    bm_path(e->store, sizeof(e->store), "%s/store", e->dir) ||
	    bm_path(e->key, sizeof(e->key), "%s/%s.key", e->dir, e->name))
		return -EINVAL;
	return 0;
}

static int
cmp_entry(const void *a, const void *b)
{
	const struct bm_removed *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c != 0)
		return c;
	return (x->removed_ns > y->removed_ns) - (x->removed_ns <
	    y->removed_ns);
}

int
bm_removed_list(const char *store, struct bm_removed **out, size_t *n)
{
	char area[PATH_MAX], **names = NULL;
	struct bm_removed *v = NULL;
	size_t nn = 0, i, k = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = bm_path(area, sizeof(area), "%s/machines/%s", store,
	    BM_REMOVED_DIR)) != 0 ||
	    (rc = bm_list_dir(area, NULL, &names, &nn)) != 0)
		return rc;
	if (nn > 0 && (v = calloc(nn, sizeof(*v))) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	for (i = 0; i < nn; i++)
		if (parse_entry(area, names[i], &v[k]) == 0)
			k++;
	if (k > 1)
		qsort(v, k, sizeof(*v), cmp_entry);
	*out = v;
	*n = k;
	v = NULL;
out:
	free(v);
	bm_names_free(names, nn);
	return rc;
}

int
bm_removed_find(const char *store, const char *name,
    struct bm_removed *out)
{
	struct bm_removed *v;
	size_t n, i;
	int rc;

	if ((rc = bm_removed_list(store, &v, &n)) != 0)
		return rc;
	rc = -ENOENT;
	for (i = 0; i < n; i++) {
		if (strcmp(v[i].name, name) == 0) {
			*out = v[i];  /* sorted: the last one is the newest */
			rc = 0;
		}
	}
	free(v);
	return rc;
}

int
bm_removed_new(const char *store, const char *name, uint64_t now_ns,
    struct bm_removed *out)
{
	char area[PATH_MAX], base[128], stamp[STAMP_LEN + 1];
	time_t t = (time_t)(now_ns / 1000000000ULL);
	struct tm tm;
	int rc;

	if (!bm_valid_name(name) || gmtime_r(&t, &tm) == NULL)
		return -EINVAL;
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	snprintf(base, sizeof(base), "%s.%s", name, stamp);
	if ((rc = bm_path(area, sizeof(area), "%s/machines/%s", store,
	    BM_REMOVED_DIR)) != 0 || (rc = bm_mkdir_p(area, 0700)) != 0 ||
	    (rc = parse_entry(area, base, out)) != 0)
		return rc;
	if (mkdir(out->dir, 0700) != 0)
		return -errno;
	return bm_fsync_dir(out->dir);
}

uint64_t
bm_removed_frees_at(const struct bm_removed *e, uint64_t grace_s)
{
	return e->removed_ns + grace_s * 1000000000ULL;
}

static uint64_t du_total; /* nftw has no context argument */

static int
du_one(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
	(void)path;
	(void)flag;
	(void)f;
	du_total += (uint64_t)sb->st_blocks * 512;
	return 0;
}

uint64_t
bm_removed_bytes(const char *path)
{
	du_total = 0;
	if (nftw(path, du_one, 16, FTW_PHYS) != 0)
		return 0;
	return du_total;
}

int
bm_removed_free(const struct bm_removed *e,
    int (*destroy)(const char *dir), uint64_t *freed)
{
	int rc;

	*freed = bm_removed_bytes(e->dir);
	if ((rc = destroy(e->store)) != 0)
		return rc;
	if (rmdir(e->store) != 0 && errno != ENOENT)
		return -errno;
	if (unlink(e->key) != 0 && errno != ENOENT)
		return -errno;
	if (rmdir(e->dir) != 0 && errno != ENOENT)
		return -errno;
	return bm_fsync_dir(e->dir);
}
