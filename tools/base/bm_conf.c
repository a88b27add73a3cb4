/*
 * bm_conf.c -- the configuration file, beemo.conf(5) (bm_conf.h).
 *
 * The file is small and read once per process, so it is kept as a flat
 * array of (section, name, key, value) entries.  Every key is checked at
 * load time against the table below: its section, and a type that the
 * typed getters then rely on.  Adding a key means adding a row here and a
 * paragraph in man/beemo.conf.5.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bm_bytes.h"
#include "bm_conf.h"
#include "bm_err.h"
#include "bm_file.h"
#include "bm_space.h"
#include "bm_units.h"

enum conf_type { T_STR, T_SIZE, T_BOOL, T_U64, T_DURATION, T_SHARE };

struct conf_key {
	const char *section; /* "" for the top of the file */
	int named;           /* section takes a name: [target NAME] */
	const char *key;
	enum conf_type type;
};

static const struct conf_key known_keys[] = {
	{"", 0, "store", T_STR},
	{"", 0, "appliance", T_STR},

	{"store", 0, "pack_size", T_SIZE},
	{"store", 0, "compression_level", T_U64},
	{"store", 0, "commit_interval", T_DURATION},
	{"store", 0, "cache_size", T_SIZE},
	{"store", 0, "reserve", T_SIZE},
	{"store", 0, "space_alert", T_SIZE},
	{"store", 0, "machine_quota", T_SHARE},
	{"store", 0, "remove_grace", T_DURATION},
	{"store", 0, "close", T_STR},

	{"snapshot", 0, "on_unmount", T_BOOL},
	{"snapshot", 0, "every", T_DURATION},
	{"snapshot", 0, "at", T_STR},

	{"scan", 0, "enabled", T_BOOL},
	{"scan", 0, "signatures", T_STR},
	{"scan", 0, "max_file_size", T_SIZE},
	{"scan", 0, "max_scan_size", T_SIZE},
	{"scan", 0, "max_recursion", T_U64},
	{"scan", 0, "max_files", T_U64},
	{"scan", 0, "oversize", T_STR},
	{"scan", 0, "reload_interval", T_DURATION},
	{"scan", 0, "engine", T_STR},
	{"scan", 0, "service", T_STR},
	{"scan", 0, "service_group", T_STR},
	{"scan", 0, "threads", T_U64},
	{"scan", 0, "cache_entries", T_U64},

	{"sync", 0, "lock", T_STR},
	{"sync", 0, "state", T_STR},
	{"sync", 0, "bandwidth", T_SIZE},
	{"sync", 0, "connections", T_U64},
	{"sync", 0, "timeout", T_DURATION},

	{"target", 1, "host", T_STR},
	{"target", 1, "port", T_U64},
	{"target", 1, "user", T_STR},
	{"target", 1, "key", T_STR},
	{"target", 1, "known_hosts", T_STR},
	{"target", 1, "path", T_STR},
	{"target", 1, "bandwidth", T_SIZE},
	{"target", 1, "connections", T_U64},

	{"mail", 0, "command", T_STR},
	{"mail", 0, "from", T_STR},
	{"mail", 0, "to", T_STR},
	{"mail", 0, "unreachable_after", T_DURATION},
	{"mail", 0, "smtp", T_STR},
	{"mail", 0, "smtp_starttls", T_STR},
	{"mail", 0, "smtp_user", T_STR},
	{"mail", 0, "smtp_password_file", T_STR},
	{"mail", 0, "smtp_cafile", T_STR},
	{"mail", 0, "smtp_timeout", T_DURATION},

	{"machine", 1, "mail_to", T_STR},
	{"machine", 1, "quota_soft", T_SIZE},
	{"machine", 1, "quota_hard", T_SIZE},

	/* beemo-center (center.h): the center's file, and each area's
	 * area.conf. */
	{"center", 0, "root", T_STR},
	{"center", 0, "grace", T_DURATION},
	{"center", 0, "quota", T_SIZE},
	{"area", 0, "name", T_STR},
	{"area", 0, "quota", T_SIZE},
	{"area", 0, "grace", T_DURATION},
	{"area", 0, "mail_to", T_STR},
};

struct conf_ent {
	char *section, *name, *key, *value;
	enum conf_type type;
};

struct bm_conf {
	char *path;
	struct conf_ent *ents;
	size_t n;
	/* Section names per kind, for bm_conf_names(). */
	const char **names;
	size_t nnames;
	const char **view; /* scratch for bm_conf_names */
};

static char *
trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* Cut @s at its first comment: a '#' after a blank (that is not at the
 * very start of @s). */
static void
cut_comment(char *s)
{
	char *p;

	for (p = s + 1; *s != '\0' && *p != '\0'; p++) {
		if (*p == '#' && (p[-1] == ' ' || p[-1] == '\t')) {
			*p = '\0';
			return;
		}
	}
}

/*
 * The value of a setting: @v is what follows '=' on the (trimmed) line.
 * A value that starts with '"' ends at the next unescaped '"'; inside,
 * \" is a quote and \\ a backslash.  Otherwise the value is the text up
 * to a comment, without the blanks around it.  Returns the value (in
 * place), or NULL with *@why set.
 */
static char *
value_of(char *v, const char **why)
{
	char *start = v, *p, *o;

	while (*v == ' ' || *v == '\t')
		v++;
	if (*v != '"') {
		/* "key = # comment": the '#' follows a blank. */
		if (*v == '#' && v > start)
			*v = '\0';
		cut_comment(v);
		return trim(v);
	}
	for (p = o = ++v; *p != '"'; p++) {
		if (*p == '\0') {
			*why = "a quoted value misses its closing '\"'";
			return NULL;
		}
		if (*p == '\\' && p[1] != '"' && p[1] != '\\') {
			*why = "in a quoted value, '\\' must be followed by "
			    "'\"' or '\\'";
			return NULL;
		}
		if (*p == '\\')
			p++;
		*o++ = *p;
	}
	p++;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p != '\0' && *p != '#') {
		*why = "text after the closing '\"' (only a comment may follow)";
		return NULL;
	}
	*o = '\0';
	return v;
}

static const struct conf_key *
find_key(const char *section, int named, const char *key)
{
	size_t i;

	for (i = 0; i < sizeof(known_keys) / sizeof(known_keys[0]); i++) {
		const struct conf_key *k = &known_keys[i];

		if (strcmp(k->section, section) == 0 && k->named == named &&
		    strcmp(k->key, key) == 0)
			return k;
	}
	return NULL;
}

static int
section_known(const char *section, int named)
{
	size_t i;

	for (i = 0; i < sizeof(known_keys) / sizeof(known_keys[0]); i++)
		if (strcmp(known_keys[i].section, section) == 0 &&
		    known_keys[i].named == named)
			return 1;
	return 0;
}

static int
check_type(enum conf_type type, const char *v)
{
	uint64_t x;

	switch (type) {
	case T_SIZE:
		return bm_parse_size(v, &x) == 0;
	case T_U64:
		return bm_parse_u64(v, &x) == 0;
	case T_DURATION:
		return bm_parse_duration(v, &x) == 0;
	case T_SHARE: {
		unsigned pct;

		return bm_space_share(v, &pct) || bm_parse_size(v, &x) == 0;
	}
	case T_BOOL:
		return !strcmp(v, "yes") || !strcmp(v, "no") ||
		    !strcmp(v, "true") || !strcmp(v, "false") ||
		    !strcmp(v, "on") || !strcmp(v, "off") || !strcmp(v, "1") ||
		    !strcmp(v, "0");
	default:
		return 1;
	}
}

static const char *const type_names[] = {
	[T_STR] = "a string",
	[T_SIZE] = "a size such as 512K, 10M, 1.5G or 10MB",
	[T_BOOL] = "yes or no",
	[T_U64] = "a whole number",
	[T_DURATION] = "a duration such as 90s, 1h30m, 2d or 1w",
	[T_SHARE] = "a share such as 50% or a size such as 100G",
};

void
bm_conf_free(bm_conf *conf)
{
	size_t i;

	if (conf == NULL)
		return;
	for (i = 0; i < conf->n; i++) {
		free(conf->ents[i].section);
		free(conf->ents[i].name);
		free(conf->ents[i].key);
		free(conf->ents[i].value);
	}
	for (i = 0; i < conf->nnames; i++)
		free((char *)conf->names[i]);
	free(conf->names);
	free(conf->view);
	free(conf->ents);
	free(conf->path);
	free(conf);
}

static int
add_name(bm_conf *conf, const char *section, const char *name)
{
	char *full;
	const char **nn;
	size_t i;

	if (asprintf(&full, "%s %s", section, name) < 0)
		return -ENOMEM;
	for (i = 0; i < conf->nnames; i++) {
		if (strcmp(conf->names[i], full) == 0) {
			free(full);
			return -EEXIST;
		}
	}
	nn = realloc(conf->names, (conf->nnames + 1) * sizeof(*nn));
	if (nn == NULL) {
		free(full);
		return -ENOMEM;
	}
	conf->names = nn;
	conf->names[conf->nnames++] = full;
	return 0;
}

static int
parse(bm_conf *conf, char *text, char *err, size_t errlen)
{
	char section[64] = "", name[80] = "";
	int named = 0, lineno = 0;
	char *line, *next;

	for (line = text; line != NULL; line = next) {
		char *eq, *k, *v;
		const char *why = NULL;
		const struct conf_key *ck;
		struct conf_ent *ne, *e;

		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		lineno++;
		line = trim(line);
		if (*line == '\0' || *line == '#' || *line == ';')
			continue;
		if (*line == '[') {
			char *end, *sp;

			cut_comment(line);
			line = trim(line);
			end = strchr(line, ']');
			if (end == NULL || end[1] != '\0') {
				snprintf(err, errlen, "%s:%d: expected ']' "
				    "at the end of the line", conf->path,
				    lineno);
				return BEEMO_ECONFIG;
			}
			*end = '\0';
			line = trim(line + 1);
			sp = strpbrk(line, " \t");
			named = sp != NULL;
			if (named) {
				*sp = '\0';
				sp = trim(sp + 1);
			}
			if (strlen(line) >= sizeof(section) ||
			    (named && (!bm_valid_name(sp) ||
			    strlen(sp) >= sizeof(name)))) {
				snprintf(err, errlen,
				    "%s:%d: bad section name", conf->path,
				    lineno);
				return BEEMO_ECONFIG;
			}
			strcpy(section, line);
			strcpy(name, named ? sp : "");
			if (!section_known(section, named)) {
				snprintf(err, errlen,
				    "%s:%d: unknown section [%s%s%s]%s",
				    conf->path, lineno, section,
				    named ? " " : "", name,
				    section_known(section, !named) ?
				    (named ? " (this section takes no name)" :
				    " (this section needs a name)") : "");
				return BEEMO_ECONFIG;
			}
			if (named && add_name(conf, section, name) != 0) {
				snprintf(err, errlen,
				    "%s:%d: section [%s %s] appears twice",
				    conf->path, lineno, section, name);
				return BEEMO_ECONFIG;
			}
			continue;
		}
		if ((eq = strchr(line, '=')) == NULL) {
			snprintf(err, errlen, "%s:%d: expected 'key = value'",
			    conf->path, lineno);
			return BEEMO_ECONFIG;
		}
		*eq = '\0';
		k = trim(line);
		if ((v = value_of(eq + 1, &why)) == NULL) {
			snprintf(err, errlen, "%s:%d: %s", conf->path, lineno,
			    why);
			return BEEMO_ECONFIG;
		}
		if ((ck = find_key(section, named, k)) == NULL) {
			snprintf(err, errlen, "%s:%d: unknown key '%s'%s%s%s",
			    conf->path, lineno, k, *section ? " in [" : "",
			    section, *section ? "]" : "");
			return BEEMO_ECONFIG;
		}
		if (!check_type(ck->type, v)) {
			snprintf(err, errlen, "%s:%d: %s must be %s",
			    conf->path, lineno, k, type_names[ck->type]);
			return BEEMO_ECONFIG;
		}
		ne = realloc(conf->ents, (conf->n + 1) * sizeof(*ne));
		if (ne == NULL)
			return -ENOMEM;
		conf->ents = ne;
		e = &conf->ents[conf->n];
		memset(e, 0, sizeof(*e));
		e->section = strdup(section);
		e->name = strdup(name);
		e->key = strdup(k);
		e->value = strdup(v);
		e->type = ck->type;
		conf->n++;
		if (!e->section || !e->name || !e->key || !e->value)
			return -ENOMEM;
	}
	return 0;
}

int
bm_conf_load(const char *path, bm_conf **out, char *err, size_t errlen)
{
	bm_conf *conf;
	uint8_t *text = NULL, *nul;
	size_t len, i, skip;
	int optional = 0, rc, line;

	snprintf(err, errlen, "no error");
	if (path == NULL) {
		path = getenv("BEEMO_CONFIG");
		if (path == NULL || *path == '\0') {
			path = BM_CONF_DEFAULT;
			optional = 1;
		}
	}
	if ((conf = calloc(1, sizeof(*conf))) == NULL)
		return -ENOMEM;
	rc = bm_read_file(path, 1 << 20, &text, &len);
	if (rc == -ENOENT && optional) {
		*out = conf;
		return 0;
	}
	if (rc != 0) {
		snprintf(err, errlen, "%s: %s", path, beemo_strerror(rc));
		goto fail;
	}
	if ((nul = memchr(text, '\0', len)) != NULL) {
		for (i = 0, line = 1; text + i < nul; i++)
			line += text[i] == '\n';
		snprintf(err, errlen, "%s:%d: a NUL byte: not a text file",
		    path, line);
		rc = BEEMO_ECONFIG;
		goto fail;
	}
	if ((conf->path = strdup(path)) == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	/* A byte order mark, as some editors write, is not a key. */
	skip = len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
	if ((rc = parse(conf, (char *)text + skip, err, errlen)) != 0)
		goto fail;
	free(text);
	*out = conf;
	return 0;

fail:
	free(text);
	bm_conf_free(conf);
	return rc;
}

bm_conf *
bm_conf_empty(void)
{
	return calloc(1, sizeof(bm_conf));
}

const char *
bm_conf_path(const bm_conf *conf)
{
	return conf->path;
}

static const struct conf_ent *
lookup(const bm_conf *conf, const char *section, const char *name,
    const char *key)
{
	size_t i;

	if (section == NULL)
		section = "";
	if (name == NULL)
		name = "";
	/* The last assignment wins, as in most configuration files. */
	for (i = conf->n; i-- > 0;) {
		const struct conf_ent *e = &conf->ents[i];

		if (!strcmp(e->section, section) && !strcmp(e->name, name) &&
		    !strcmp(e->key, key))
			return e;
	}
	return NULL;
}

const char *
bm_conf_get(const bm_conf *conf, const char *section, const char *name,
    const char *key, const char *def)
{
	const struct conf_ent *e = lookup(conf, section, name, key);

	return e != NULL ? e->value : def;
}

uint64_t
bm_conf_get_size(const bm_conf *conf, const char *section, const char *name,
    const char *key, uint64_t def)
{
	const struct conf_ent *e = lookup(conf, section, name, key);
	uint64_t v;

	if (e == NULL || bm_parse_size(e->value, &v) != 0)
		return def;
	return v;
}

uint64_t
bm_conf_get_u64(const bm_conf *conf, const char *section, const char *name,
    const char *key, uint64_t def)
{
	const struct conf_ent *e = lookup(conf, section, name, key);
	uint64_t v;

	if (e == NULL)
		return def;
	if (e->type == T_DURATION)
		return bm_parse_duration(e->value, &v) == 0 ? v : def;
	return bm_parse_u64(e->value, &v) == 0 ? v : def;
}

int
bm_conf_get_bool(const bm_conf *conf, const char *section, const char *name,
    const char *key, int def)
{
	const struct conf_ent *e = lookup(conf, section, name, key);

	if (e == NULL)
		return def;
	return !strcmp(e->value, "yes") || !strcmp(e->value, "true") ||
	    !strcmp(e->value, "on") || !strcmp(e->value, "1");
}

void
bm_conf_names(const bm_conf *conf, const char *section,
    const char *const **out, size_t *n)
{
	bm_conf *c = (bm_conf *)conf;
	size_t i, k = 0, sl = strlen(section);

	free(c->view);
	c->view = calloc(conf->nnames + 1, sizeof(*c->view));
	if (c->view == NULL) {
		*out = NULL;
		*n = 0;
		return;
	}
	for (i = 0; i < conf->nnames; i++)
		if (!strncmp(conf->names[i], section, sl) &&
		    conf->names[i][sl] == ' ')
			c->view[k++] = conf->names[i] + sl + 1;
	*out = c->view;
	*n = k;
}
