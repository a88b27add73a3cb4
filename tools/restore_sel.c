/*
 * restore_sel.c -- the patterns and the hard-link table
 * of `beemoctl restore` (restore_sel.h).
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "restore_sel.h"

int
rs_match(const char *pattern, const char *rel)
{
	const char *name;

	while (*pattern == '/')
		pattern++;
	if (strchr(pattern, '/') != NULL)
		return fnmatch(pattern, rel, FNM_PATHNAME) == 0;
	name = strrchr(rel, '/');
	return fnmatch(pattern, name != NULL ? name + 1 : rel, 0) == 0;
}

int
rs_match_any(char *const *patterns, size_t n, const char *rel)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (rs_match(patterns[i], rel))
			return 1;
	return 0;
}

struct rs_link {
	uint64_t ino;
	char *path; /* NULL: a free slot */
};

static size_t
slot_of(uint64_t ino, size_t cap)
{
	/* Inode numbers are dense: mix them (splitmix64's finaliser). */
	ino ^= ino >> 30;
	ino *= 0xbf58476d1ce4e5b9ULL;
	ino ^= ino >> 27;
	ino *= 0x94d049bb133111ebULL;
	ino ^= ino >> 31;
	return (size_t)ino & (cap - 1);
}

const char *
rs_links_find(const struct rs_links *t, uint64_t ino)
{
	size_t i;

	if (t->cap == 0)
		return NULL;
	for (i = slot_of(ino, t->cap); t->slots[i].path != NULL;
	    i = (i + 1) & (t->cap - 1))
		if (t->slots[i].ino == ino)
			return t->slots[i].path;
	return NULL;
}

/* Put @ino, @path in the first free slot of its chain (not present). */
static void
place(struct rs_link *slots, size_t cap, uint64_t ino, char *path)
{
	size_t i = slot_of(ino, cap);

	while (slots[i].path != NULL)
		i = (i + 1) & (cap - 1);
	slots[i].ino = ino;
	slots[i].path = path;
}

int
rs_links_add(struct rs_links *t, uint64_t ino, const char *path)
{
	char *copy;

	/* At most half full: chains stay short. */
	if ((t->n + 1) * 2 > t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64, i;
		struct rs_link *n = calloc(cap, sizeof(*n));

		if (n == NULL)
			return -ENOMEM;
		for (i = 0; i < t->cap; i++)
			if (t->slots[i].path != NULL)
				place(n, cap, t->slots[i].ino,
				    t->slots[i].path);
		free(t->slots);
		t->slots = n;
		t->cap = cap;
	}
	if ((copy = strdup(path)) == NULL)
		return -ENOMEM;
	place(t->slots, t->cap, ino, copy);
	t->n++;
	return 0;
}

void
rs_links_free(struct rs_links *t)
{
	size_t i;

	for (i = 0; i < t->cap; i++)
		free(t->slots[i].path);
	free(t->slots);
	t->slots = NULL;
	t->cap = t->n = 0;
}

static int
push(char ***v, size_t *n, char *s)
{
	char **m = realloc(*v, (*n + 2) * sizeof(*m));

	if (m == NULL)
		return -ENOMEM;
	m[(*n)++] = s;
	m[*n] = NULL;
	*v = m;
	return 0;
}

static int
mode_of(const char *s, enum rs_overwrite *mode)
{
	if (strcmp(s, "never") == 0)
		*mode = RS_NEVER;
	else if (strcmp(s, "if-changed") == 0)
		*mode = RS_IF_CHANGED;
	else if (strcmp(s, "always") == 0)
		*mode = RS_ALWAYS;
	else
		return -EINVAL;
	return 0;
}

/* The value of option @name at argv[*i]: after '=' or the next
 * argument (*i advanced); NULL when there is none. */
static char *
value(int argc, char **argv, int *i, const char *name)
{
	size_t len = strlen(name);

	if (argv[*i][len] == '=')
		return argv[*i] + len + 1;
	return *i + 1 < argc ? argv[++*i] : NULL;
}

static int
is_opt(const char *arg, const char *name)
{
	size_t len = strlen(name);

	return strncmp(arg, name, len) == 0 &&
	    (arg[len] == '\0' || arg[len] == '=');
}

int
rs_opts_take(int argc, char **argv, struct rs_opts *o, char *err,
    size_t errsize)
{
	size_t left = 0;
	int i, rc = 0, rest = 0;

	memset(o, 0, sizeof(*o));
	for (i = 0; i < argc && rc == 0; i++) {
		char *a = argv[i], *v;

		if (i == 0 || rest || a[0] != '-') {
			rc = push(&o->argv, &left, a);
		} else if (strcmp(a, "--") == 0) {
			rest = 1;
			rc = push(&o->argv, &left, a);
		} else if (is_opt(a, "--include") || is_opt(a, "--exclude")) {
			int inc = a[2] == 'i';

			if ((v = value(argc, argv, &i, inc ? "--include" :
			    "--exclude")) == NULL || *v == '\0') {
				snprintf(err, errsize, "%s needs a PATTERN",
				    inc ? "--include" : "--exclude");
				rc = -EINVAL;
			} else {
				rc = inc ? push(&o->include, &o->ninclude, v) :
				    push(&o->exclude, &o->nexclude, v);
			}
		} else if (strcmp(a, "--overwrite") == 0) {
			o->overwrite = RS_ALWAYS;
			if (i + 1 < argc && mode_of(argv[i + 1],
			    &o->overwrite) == 0)
				i++;
		} else if (strncmp(a, "--overwrite=", 12) == 0) {
			if (mode_of(a + 12, &o->overwrite) != 0) {
				snprintf(err, errsize, "--overwrite: never, "
				    "if-changed or always, not \"%s\"",
				    a + 12);
				rc = -EINVAL;
			}
		} else {
			rc = push(&o->argv, &left, a);
			if (rc == 0 && i + 1 < argc &&
			    (strcmp(a, "--target") == 0 ||
			    strcmp(a, "--user") == 0 ||
			    strncmp(a, "--password-", 11) == 0) &&
			    strchr(a, '=') == NULL)
				rc = push(&o->argv, &left, argv[++i]);
		}
	}
	o->argc = (int)left;
	if (rc == -ENOMEM)
		snprintf(err, errsize, "out of memory");
	return rc;
}

void
rs_opts_free(struct rs_opts *o)
{
	free(o->include);
	free(o->exclude);
	free(o->argv);
	memset(o, 0, sizeof(*o));
}
