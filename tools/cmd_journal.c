/*
 * cmd_journal.c -- `beemoctl journal MACHINE`: the operations of a backup
 * set since it was created (see store.h, "the journal").
 *
 * `beemoctl journal --all` is the partner console's view: the journal of
 * every machine (unlocked with the administrator's password, asked once)
 * and the appliance journal (bm_alog.h), merged by time.  The entries are
 * gathered in memory first (their file lists only with --files).
 */
#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bm_alog.h"
#include "bm_err.h"
#include "bm_esc.h"
#include "bm_json.h"
#include "bm_pass.h"
#include "bm_time.h"
#include "ctl_store.h"

static const char journal_usage[] =
    "MACHINE [--since TIME] [--type TYPE] [--files] [--json]\n"
    "       [--admin | --user USER | --poste-key FILE] "
    "[--password-file FILE]\n"
    "       --all [--since TIME] [--type TYPE] [--files] [--json]\n"
    "       [--password-file FILE]\n"
    "\n"
    "Print the journal of MACHINE: every backup session, file operation,\n"
    "snapshot, off-site push, restore, deletion, virus detection and error\n"
    "since the backup set was created, oldest first.  With --all: the\n"
    "journals of every machine and of the appliance (key, user, machine\n"
    "and quota operations, pushes, maintenance runs, reports), merged by\n"
    "time; this needs the administrator's password.\n"
    "\n"
    "  --since TIME          only from TIME on: 2026-11-28, 2026-11-28 08:00,\n"
    "                        2026-11-28T08:00:00+01:00 (local without a\n"
    "                        zone), today, yesterday, or an age such as\n"
    "                        3h, 1h30m, 1w\n"
    "  --type TYPE           only entries of TYPE: session, files, snapshot,\n"
    "                        push, restore, delete, virus, error, quota,\n"
    "                        forget; in the appliance journal also admin,\n"
    "                        machine, user, key, maintenance, report,\n"
    "                        retention\n"
    "  --all                 every machine and the appliance\n"
    "  --files               list the files concerned under each entry\n"
    "  --json                one JSON object \"beemo-journal\" with the\n"
    "                        files (beemoctl(8))\n"
    "  --admin               open with the administrator's password\n"
    "                        (default)\n"
    "  --user USER           open with USER's password\n"
    "  --poste-key FILE      open with the machine's POSTE key file\n"
    "  --password-file FILE  read the password from FILE (default\n"
    "                        $BEEMO_PASSWORD_FILE, or the terminal)\n"
    "  --help                this help\n";

/* The beemo-journal object around the entries, for @machine (NULL:
 * the appliance, --all); json_close() ends it. */
static void
json_open(bm_json *j, const char *machine)
{
	bm_json_init(j, stdout);
	bm_json_head(j, "beemo-journal", 2);
	bm_json_str(j, "machine", machine);
	bm_json_begin_arr(j, "entries");
}

static void
json_close(bm_json *j)
{
	bm_json_end_arr(j);
	bm_json_end_obj(j);
}

struct out {
	const char *machine; /* NULL: the appliance (--all) */
	int files, json, all;
	bm_json j;
	uint64_t n;
};

/* @s escaped (bm_esc.h: a name from a client never breaks the line),
 * then blanks up to @width bytes and two more. */
static void
put_col(const char *s, size_t width)
{
	size_t n = bm_esc(NULL, 0, s);

	bm_esc_put(stdout, s);
	for (; n < width; n++)
		putchar(' ');
	fputs("  ", stdout);
}

static int
print_entry(void *ctx, const struct store_journal_entry *e)
{
	struct out *o = ctx;
	char t[32];
	size_t i;

	o->n++;
	if (o->json) {
		bm_json_begin_obj(&o->j, NULL);
		bm_json_str(&o->j, "machine", o->machine);
		bm_json_str(&o->j, "journal", o->machine ? "machine" :
		    "appliance");
		bm_json_time(&o->j, "time", e->time);
		bm_json_u64(&o->j, "time_ns", e->time);
		bm_json_str(&o->j, "type", e->type);
		bm_json_str(&o->j, "who", e->who);
		bm_json_str(&o->j, "summary", e->summary);
		bm_json_strs(&o->j, "files", e->files, e->nfiles);
		bm_json_end_obj(&o->j);
		return 0;
	}
	/* One line per entry and one per file, whatever the names hold. */
	put_col(bm_time_show(t, sizeof(t), e->time), 0);
	if (o->all)
		put_col(o->machine ? o->machine : "(appliance)", 12);
	put_col(e->type, 8);
	put_col(e->who[0] ? e->who : "-", 12);
	bm_esc_put(stdout, e->summary);
	putchar('\n');
	for (i = 0; o->files && i < e->nfiles; i++) {
		fputs("    ", stdout);
		bm_esc_put(stdout, e->files[i]);
		putchar('\n');
	}
	return 0;
}

/* ---- --all ------------------------------------------------------------ */

/* One entry of any journal, copied for the merge. */
struct gentry {
	uint64_t time, order;
	const char *machine; /* NULL: the appliance */
	char *type, *who, *summary;
	char **files;
	size_t nfiles;
};

struct gather {
	struct gentry *v;
	size_t n, cap;
	const char *machine;
	int files, oom;
};

static int
gather_add(struct gather *g, uint64_t time, const char *type,
    const char *who, const char *summary, const char *const *files,
    size_t nfiles)
{
	struct gentry *e;
	size_t i;

	if (g->n == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 256;

		if ((e = realloc(g->v, cap * sizeof(*e))) == NULL) {
			g->oom = 1;
			return 1;
		}
		g->v = e;
		g->cap = cap;
	}
	e = &g->v[g->n];
	memset(e, 0, sizeof(*e));
	e->time = time;
	e->order = g->n;
	e->machine = g->machine;
	e->type = strdup(type);
	e->who = strdup(who ? who : "");
	e->summary = strdup(summary ? summary : "");
	e->nfiles = nfiles;
	if (g->files && nfiles > 0 &&
	    (e->files = calloc(nfiles, sizeof(*e->files))) != NULL)
		for (i = 0; i < nfiles; i++)
			e->files[i] = strdup(files[i]);
	g->n++;
	if (!e->type || !e->who || !e->summary ||
	    (g->files && nfiles > 0 && e->files == NULL)) {
		g->oom = 1;
		return 1;
	}
	return 0;
}

static int
gather_machine(void *ctx, const struct store_journal_entry *e)
{
	return gather_add(ctx, e->time, e->type, e->who, e->summary,
	    e->files, e->nfiles);
}

static int
gather_appliance(void *ctx, const struct bm_alog_entry *e)
{
	return gather_add(ctx, e->time, e->type, e->who, e->summary,
	    e->files, e->nfiles);
}

static int
by_time(const void *a, const void *b)
{
	const struct gentry *x = a, *y = b;

	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* The appliance's own journal into @g; 0 or CTL_FAIL after a message. */
static int
gather_alog(const struct ctl *ctl, keymgr *km, struct gather *g,
    uint64_t since, const char *type)
{
	uint8_t key[KEYMGR_SECRET_LEN];
	int rc;

	if ((rc = keymgr_appliance_subkey(km, "journal", key)) != 0) {
		ctl_err(ctl, "the appliance journal: %s", keymgr_errmsg(km));
		return CTL_FAIL;
	}
	g->machine = NULL;
	rc = bm_alog_list(ctl->store, key, since, type, gather_appliance, g);
	OPENSSL_cleanse(key, sizeof(key));
	if (rc != 0) {
		ctl_err(ctl, "%s/journal: %s%s", ctl->store, beemo_strerror(rc),
		    rc == -EBADMSG ? " (see the messages above; the other "
		    "entries are listed)" : "");
		return CTL_FAIL;
	}
	return 0;
}

static int
journal_all(struct ctl *ctl, struct ctl_opts *o, uint64_t since)
{
	struct gather g;
	struct out out;
	keymgr *km = NULL;
	char **names = NULL, *pw = NULL, dir[4096];
	size_t n = 0, pwlen = 0, i, k;
	int rc, ret = CTL_FAIL;

	if (o->nargs != 0 || o->user != NULL || o->poste_key != NULL) {
		ctl_err(ctl, "--all takes no MACHINE and opens every journal "
		    "as the administrator");
		return CTL_USAGE;
	}
	memset(&g, 0, sizeof(g));
	g.files = o->files || o->json;
	if (ctl_keymgr(ctl, &km) != 0)
		return CTL_FAIL;
	if (keymgr_machine_list(km, &names, &n) != 0) {
		ret = ctl_km_fail(ctl, km);
		goto out;
	}
	if (ctl_password(ctl, "Administrator password: ", o->password_file,
	    "BEEMO_PASSWORD_FILE", 0, &pw, &pwlen) != 0)
		goto out;
	if (keymgr_admin_check(km, pw, pwlen) != 0) {
		ret = ctl_km_fail(ctl, km);
		goto out;
	}
	ret = CTL_OK;
	for (i = 0; i < n; i++) {
		struct store_opts so;
		keymgr_secret *sec = NULL;
		store *st = NULL;

		memset(&so, 0, sizeof(so));
		so.rdonly = 1;
		if (ctl_machine_dir(ctl, names[i], dir, sizeof(dir)) != 0)
			continue;
		if (keymgr_unlock_admin(km, names[i], pw, pwlen, &sec) != 0) {
			ctl_err(ctl, "%s", keymgr_errmsg(km));
			ret = CTL_FAIL;
			continue;
		}
		rc = store_open(dir, sec, &so, &st);
		if (rc == 0) {
			g.machine = names[i];
			rc = store_journal_list(st, since, o->type,
			    gather_machine, &g);
			store_close(st);
		}
		keymgr_secret_free(sec);
		if (rc != 0 && rc != BEEMO_ENOSTORE) {
			ctl_err(ctl, "journal of %s: %s", names[i],
			    beemo_strerror(rc));
			ret = CTL_FAIL;
		}
	}
	if (gather_alog(ctl, km, &g, since, o->type) != 0)
		ret = CTL_FAIL;
	if (g.oom) {
		ctl_err(ctl, "out of memory");
		ret = CTL_FAIL;
		goto out;
	}
	qsort(g.v, g.n, sizeof(*g.v), by_time);
	memset(&out, 0, sizeof(out));
	out.files = o->files;
	out.json = o->json;
	if (o->json)
		json_open(&out.j, NULL);
	for (k = 0; k < g.n; k++) {
		const struct gentry *e = &g.v[k];
		struct store_journal_entry se = {e->time, e->type, e->who,
		    e->summary, (const char *const *)e->files,
		    e->files ? e->nfiles : 0};

		out.machine = e->machine;
		out.all = 1;
		print_entry(&out, &se);
	}
	if (o->json)
		json_close(&out.j);
out:
	for (k = 0; k < g.n; k++) {
		for (i = 0; g.v[k].files && i < g.v[k].nfiles; i++)
			free(g.v[k].files[i]);
		free(g.v[k].files);
		free(g.v[k].type);
		free(g.v[k].who);
		free(g.v[k].summary);
	}
	free(g.v);
	bm_free_secret(pw, pwlen);
	keymgr_names_free(names, n);
	keymgr_free(km);
	return ret;
}

int
cmd_journal(struct ctl *ctl, int argc, char **argv)
{
	struct ctl_opts o;
	struct ctl_session s;
	struct out out;
	uint64_t since = 0;
	int rc;

	if ((rc = ctl_parse(ctl, argc, argv, CTL_O_JOURNAL | CTL_O_JSON |
	    CTL_O_ADMIN | CTL_O_USER | CTL_O_POSTE_KEY | CTL_O_PASSWORD, 0, 1,
	    journal_usage, &o)) >= 0)
		return rc;
	if (o.since != NULL && bm_parse_time(o.since, &since) != 0) {
		ctl_err(ctl, "'%s' is not a time (2026-11-28, "
		    "2026-11-28 08:00, 2026-11-28T08:00:00+01:00, "
		    "yesterday, 1h30m, 1w)", o.since);
		return CTL_USAGE;
	}
	if (o.all)
		return journal_all(ctl, &o, since);
	if (o.nargs != 1) {
		ctl_err(ctl, "give MACHINE, or --all");
		ctl_usage(ctl, journal_usage, 1);
		return CTL_USAGE;
	}
	if ((rc = ctl_session_open(ctl, o.args[0], &o, 0, &s)) != 0)
		return rc;
	memset(&out, 0, sizeof(out));
	out.machine = o.args[0];
	out.files = o.files;
	out.json = o.json;
	if (o.json)
		json_open(&out.j, o.args[0]);
	rc = store_journal_list(s.st, since, o.type, print_entry, &out);
	if (o.json)
		json_close(&out.j);
	if (rc != 0)
		ctl_err(ctl, "%s: %s", o.args[0], beemo_strerror(rc));
	if (ctl_session_close(ctl, &s) != 0)
		rc = -1;
	return rc != 0 ? CTL_FAIL : CTL_OK;
}
