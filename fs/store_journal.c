/*
 * store_journal.c -- the journal of a backup set (see store.h).
 *
 * IX_JOURNAL keys are the entry's time (ns, big-endian) and a counter,
 * so entries sort by time; values are sealed like every index value and
 * hold an entry encoded as the appliance journal's (bm_jentry_encode).
 *
 * File operations of a backup session are batched in memory and written
 * as one "files" entry in the transaction that commits them (the
 * committer calls journal_flush()), so that the journal says exactly
 * what a crash kept.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bm_bytes.h"
#include "bm_err.h"
#include "bm_file.h"
#include "bm_jentry.h"
#include "bm_log.h"
#include "bm_time.h"
#include "store_internal.h"
#include "store_journal.h"
#include "store_ns.h"
#include "store_snap.h"

#define JBATCH_MAX (4U << 20) /* force a commit past this */

static uint32_t jcounter;


int
journal_add_locked(store *st, const struct store_journal_entry *e)
{
	uint8_t k[12], *v;
	size_t len;
	int rc;

	if (st->opts.rdonly)
		return -EROFS;
	if ((rc = bm_jentry_encode(e->type, e->who, e->summary, e->files,
	    e->nfiles, &v, &len)) != 0)
		return rc;
	bm_be64enc(k, e->time ? e->time : bm_now_ns());
	bm_be32enc(k + 8, __atomic_add_fetch(&jcounter, 1, __ATOMIC_RELAXED));
	rc = ix_put_sealed(st, IX_JOURNAL, k, sizeof(k), v, len);
	free(v);
	return rc;
}

int
store_journal_add(store *st, const struct store_journal_entry *e)
{
	int rc;

	ix_lock(st);
	rc = journal_add_locked(st, e);
	ix_unlock(st);
	return rc;
}

int
store_journal_list(store *st, uint64_t since, const char *type,
    store_journal_fn fn, void *ctx)
{
	MDB_cursor *cur;
	MDB_val k, v;
	uint8_t start[12];
	int mrc, rc = 0;

	bm_be64enc(start, since);
	memset(start + 8, 0, 4);
	ix_lock(st);
	if (st->txn == NULL ||
	    mdb_cursor_open(st->txn, st->dbi[IX_JOURNAL], &cur) != 0) {
		ix_unlock(st);
		return -EIO;
	}
	k.mv_data = start;
	k.mv_size = sizeof(start);
	for (mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); mrc == 0;
	    mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		struct bm_jentry d;
		struct store_journal_entry e;
		uint8_t *plain;
		size_t len;

		if (k.mv_size != 12) {
			rc = -EIO;
			break;
		}
		if ((rc = ix_open_sealed(st, IX_JOURNAL, &k, &v, &plain,
		    &len)) != 0)
			break;
		rc = bm_jentry_decode(plain, len, &d);
		free(plain);
		if (rc != 0) {
			bm_jentry_free(&d);
			bm_log(LOG_ERR, "journal: malformed entry");
			rc = -EIO;
			break;
		}
		e.time = bm_be64dec(k.mv_data);
		e.type = d.type;
		e.who = d.who;
		e.summary = d.summary;
		e.files = d.files;
		e.nfiles = d.nfiles;
		if (type == NULL || strcmp(type, e.type) == 0)
			rc = fn(ctx, &e);
		bm_jentry_free(&d);
		if (rc != 0) {
			rc = 0;
			break;
		}
	}
	mdb_cursor_close(cur);
	ix_unlock(st);
	return rc;
}

/* ---- sessions -------------------------------------------------------------- */

/* A session is named by the time it began. */
static const char *
session_name(store *st, char *buf, size_t size)
{
	return bm_time_str(buf, size, st->sess.id);
}

void
store_set_who(store *st, const char *who)
{
	ix_lock(st);
	snprintf(st->who, sizeof(st->who), "%s", who);
	ix_unlock(st);
}

int
store_session_begin(store *st)
{
	struct store_journal_entry e = {0, "session", NULL, NULL, NULL, 0};
	char summary[128], name[32];
	int rc;

	ix_lock(st);
	memset(&st->sess, 0, sizeof(st->sess));
	st->sess.id = bm_now_ns();
	st->in_session = 1;
	snprintf(summary, sizeof(summary), "backup session %s begins",
	    session_name(st, name, sizeof(name)));
	e.who = st->who;
	e.summary = summary;
	rc = journal_add_locked(st, &e);
	ix_unlock(st);
	return rc;
}

int
store_session_end(store *st)
{
	struct store_journal_entry e = {0, "session", NULL, NULL, NULL, 0};
	char summary[256], name[32];
	int rc;

	ix_lock(st);
	if ((rc = journal_flush(st)) == 0) {
		snprintf(summary, sizeof(summary), "backup session %s ends: %"
		    PRIu64 " added, %" PRIu64 " changed, %" PRIu64 " deleted, %"
		    PRIu64 " renamed, %" PRIu64 " bytes written",
		    session_name(st, name, sizeof(name)), st->sess.added,
		    st->sess.changed,
		    st->sess.deleted, st->sess.renamed, st->sess.bytes);
		e.who = st->who;
		e.summary = summary;
		rc = journal_add_locked(st, &e);
	}
	st->in_session = 0;
	ix_unlock(st);
	return rc;
}

void
store_session_counts(store *st, struct store_session *out)
{
	ix_lock(st);
	*out = st->sess;
	ix_unlock(st);
}

/* Append the string "@op @path" to the batch; -ENOMEM leaves it as it
 * was. */
static int
jbatch_add(store *st, const char *op, const char *path)
{
	size_t need = strlen(op) + 1 + strlen(path) + 1;
	char *n;

	if (st->jlen + need > st->jcap) {
		size_t cap = st->jcap ? st->jcap * 2 : 65536;

		while (cap < st->jlen + need)
			cap *= 2;
		if ((n = realloc(st->jbatch, cap)) == NULL)
			return -ENOMEM;
		st->jbatch = n;
		st->jcap = cap;
	}
	st->jlen += (size_t)sprintf(st->jbatch + st->jlen, "%s %s", op,
	    path) + 1;
	st->jcount++;
	return 0;
}

/*
 * A rename is two strings, "renamed /a" and "to /b" ("exchanged /a",
 * "with /b"), never "renamed /a -> /b": a name may hold " -> ", and each
 * string must name one path, unambiguously.
 */
void
journal_file(store *st, const char *op, const char *path, const char *path2)
{
	size_t jlen, jcount;

	if (!st->in_session)
		return;
	if (!strcmp(op, "added"))
		st->sess.added++;
	else if (!strcmp(op, "changed"))
		st->sess.changed++;
	else if (!strcmp(op, "deleted"))
		st->sess.deleted++;
	else
		st->sess.renamed++; /* renamed, exchanged */
	jlen = st->jlen;
	jcount = st->jcount;
	if (jbatch_add(st, op, path) != 0 || (path2 != NULL &&
	    jbatch_add(st, strcmp(op, "exchanged") ? "to" : "with",
	    path2) != 0)) {
		st->jlen = jlen; /* the counts still say it */
		st->jcount = jcount;
		return;
	}
	st->precommit_pending = 1;
	if (st->jlen >= JBATCH_MAX && !st->commit_now) {
		st->commit_now = 1;
		pthread_cond_signal(&st->commit_cv);
	}
}

void
journal_event(store *st, const char *type, const char *summary,
    const char *path)
{
	struct store_journal_entry e = {0, type, NULL, summary, &path, 1};
	int rc;

	if (st->opts.rdonly)
		return;
	ix_lock(st);
	e.who = st->who;
	rc = journal_add_locked(st, &e);
	ix_unlock(st);
	if (rc != 0)
		bm_log(LOG_WARNING, "journal: cannot record a %s event: %s",
		    type, beemo_strerror(rc));
}

/* Journal a namespace change of the live tree (ix_lock held). */
void
journal_name(store *st, const char *op, uint64_t parent, const char *name,
    uint64_t parent2, const char *name2)
{
	char a[4096], b[4096];

	if (!st->in_session)
		return;
	if (path_locked(st, parent, SEQ_LIVE, a, sizeof(a) - 256) != 0)
		snprintf(a, sizeof(a), "(directory %" PRIu64 ")", parent);
	snprintf(a + strlen(a), sizeof(a) - strlen(a), "%s%s",
	    strcmp(a, "/") ? "/" : "", name);
	if (name2 != NULL) {
		if (path_locked(st, parent2, SEQ_LIVE, b, sizeof(b) - 256) != 0)
			snprintf(b, sizeof(b), "(directory %" PRIu64 ")",
			    parent2);
		snprintf(b + strlen(b), sizeof(b) - strlen(b), "%s%s",
		    strcmp(b, "/") ? "/" : "", name2);
	}
	journal_file(st, op, a, name2 ? b : NULL);
}

/* The lines [@from, st->jcount) of the batch, starting at byte @off, as
 * an array (caller frees; NULL if memory is short). */
static const char **
batch_lines(store *st, size_t from, size_t off)
{
	const char **files;
	size_t i;

	if ((files = calloc(st->jcount - from + 1, sizeof(*files))) == NULL)
		return NULL;
	for (i = 0; i < st->jcount - from; i++) {
		files[i] = st->jbatch + off;
		off += strlen(files[i]) + 1;
	}
	return files;
}

int
journal_flush(store *st)
{
	struct store_journal_entry e = {0, "files", NULL, NULL, NULL, 0};
	const char **files;
	char summary[96], name[32];
	size_t n = st->jcount - st->jdone_count;
	size_t i, ops = 0;
	int rc;

	if (n == 0)
		return 0;
	if ((files = batch_lines(st, st->jdone_count, st->jdone_len)) == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		/* The second path of a rename is not an operation. */
		ops += strncmp(files[i], "to ", 3) != 0 &&
		    strncmp(files[i], "with ", 5) != 0;
	snprintf(summary, sizeof(summary), "backup session %s: %zu file "
	    "operations", session_name(st, name, sizeof(name)), ops);
	e.who = st->who;
	e.summary = summary;
	e.files = files;
	e.nfiles = n;
	rc = journal_add_locked(st, &e);
	free(files);
	/* Kept until the commit: if it fails, they name what was lost. */
	st->jdone_len = st->jlen;
	st->jdone_count = st->jcount;
	return rc;
}

void
journal_committed(store *st)
{
	if (st->jdone_len == 0)
		return;
	memmove(st->jbatch, st->jbatch + st->jdone_len,
	    st->jlen - st->jdone_len);
	st->jlen -= st->jdone_len;
	st->jcount -= st->jdone_count;
	st->jdone_len = st->jdone_count = 0;
}

/* The report of journal_lost() lists the lost file operations up to
 * this many bytes (a report is read back only up to 1 MiB), then counts
 * the rest; the journal and the log have them all. */
#define LOST_TEXT (512U << 10)

int
journal_lost(store *st, int err)
{
	struct store_journal_entry e = {0, "error", NULL, NULL, NULL, 0};
	const char **files;
	char summary[256], name[32], *text;
	size_t i, len = 0, cap;
	int rc;

	snprintf(summary, sizeof(summary), "the store could not commit (%s): "
	    "the changes since the last commit are lost, %zu file "
	    "operations of backup session %s among them",
	    beemo_strerror(err), st->jcount, st->in_session ?
	    session_name(st, name, sizeof(name)) : "(none)");
	bm_log(LOG_ERR, "%s", summary);
	files = batch_lines(st, 0, 0);
	/* The report: the summary and the first lines. */
	cap = strlen(summary) + 128 + LOST_TEXT;
	if ((text = malloc(cap)) != NULL)
		len = (size_t)snprintf(text, cap, "%s.\n", summary);
	for (i = 0; files != NULL && i < st->jcount; i++) {
		bm_log(LOG_ERR, "lost: %s", files[i]);
		if (text == NULL || len >= LOST_TEXT)
			continue;
		if (len + strlen(files[i]) + 4 > LOST_TEXT)
			len += (size_t)snprintf(text + len, cap - len, "  and "
			    "%zu more (the journal lists them all)\n",
			    st->jcount - i);
		else
			len += (size_t)snprintf(text + len, cap - len,
			    "  %s\n", files[i]);
	}
	store_report(st, STORE_EV_LOST, NULL, text ? text : summary);
	free(text);
	e.who = st->who;
	e.summary = summary;
	e.files = files;
	e.nfiles = files != NULL ? st->jcount : 0;
	rc = journal_add_locked(st, &e);
	free(files);
	st->jlen = st->jcount = st->jdone_len = st->jdone_count = 0;
	return rc;
}

int
journal_precommit(void *ctx)
{
	return journal_flush(ctx);
}

void
journal_postcommit(void *ctx)
{
	journal_committed(ctx);
}

int
journal_lostcommit(void *ctx, int err)
{
	return journal_lost(ctx, err);
}

/* ---- erasing names ---------------------------------------------------- */

#define ERASED "[erased]"

/* Whether @path names one of @paths or lies below it. */
static int
path_erased(const char *path, const char *const *paths, size_t n)
{
	size_t i, l;

	for (i = 0; i < n; i++) {
		l = strlen(paths[i]);
		if (strncmp(path, paths[i], l) == 0 &&
		    (path[l] == '\0' || path[l] == '/'))
			return 1;
	}
	return 0;
}

/* A file line, "OP /path" or "/path", with its path erased, in a new
 * string; NULL if it names none of @paths (or memory is short: *@err). */
static char *
line_redact(const char *line, const char *const *paths, size_t n, int *err)
{
	const char *path = line[0] == '/' ? line : strchr(line, ' ');
	size_t op;
	char *out;

	if (path == NULL)
		return NULL;
	if (*path == ' ')
		path++;
	if (*path != '/' || !path_erased(path, paths, n))
		return NULL;
	op = (size_t)(path - line);
	if ((out = malloc(op + sizeof(ERASED))) == NULL) {
		*err = -ENOMEM;
		return NULL;
	}
	memcpy(out, line, op);
	memcpy(out + op, ERASED, sizeof(ERASED));
	return out;
}

/* @summary with every occurrence of @paths (longest first: a path below
 * another is erased whole) replaced, in a new string; NULL if none
 * occurs (or memory is short: *@err). */
static char *
summary_redact(const char *summary, const char *const *paths, size_t n,
    int *err)
{
	char *cur = NULL, *next;
	size_t i, l, best;
	const char *s = summary, *hit;

	for (;;) {
		/* The longest path that occurs, as a whole path. */
		best = n;
		for (i = 0; i < n; i++) {
			l = strlen(paths[i]);
			for (hit = strstr(s, paths[i]); hit != NULL;
			    hit = strstr(hit + 1, paths[i]))
				if (hit[l] == '\0' || hit[l] == '/' ||
				    hit[l] == ' ' || hit[l] == ':' ||
				    hit[l] == ',' || hit[l] == '"')
					break;
			if (hit != NULL && (best == n ||
			    l > strlen(paths[best])))
				best = i;
		}
		if (best == n)
			return cur;
		l = strlen(paths[best]);
		for (hit = strstr(s, paths[best]);
		    !(hit[l] == '\0' || hit[l] == '/' || hit[l] == ' ' ||
		    hit[l] == ':' || hit[l] == ',' || hit[l] == '"');
		    hit = strstr(hit + 1, paths[best]))
			;
		next = malloc(strlen(s) - l + sizeof(ERASED));
		if (next == NULL) {
			free(cur);
			*err = -ENOMEM;
			return NULL;
		}
		memcpy(next, s, (size_t)(hit - s));
		strcpy(next + (hit - s), ERASED);
		strcat(next, hit + l);
		free(cur);
		cur = next;
		s = cur;
	}
}

/* An entry to rewrite: its key and new value. */
struct redacted {
	uint8_t key[12];
	uint8_t *val;
	size_t len;
};

/* Entry @d with its erased names replaced, encoded in *@out; 0 with
 * *@out NULL when it names none. */
static int
entry_redact(const struct bm_jentry *d, const char *const *paths, size_t n,
    uint8_t **out, size_t *outlen)
{
	char **files = NULL, *summary = NULL;
	size_t i;
	int err = 0, changed = 0, rc;

	*out = NULL;
	if (d->nfiles > 0 &&
	    (files = calloc(d->nfiles, sizeof(*files))) == NULL)
		return -ENOMEM;
	for (i = 0; i < d->nfiles && err == 0; i++)
		if ((files[i] = line_redact(d->files[i], paths, n, &err)))
			changed = 1;
	if (err == 0 && d->summary != NULL &&
	    (summary = summary_redact(d->summary, paths, n, &err)) != NULL)
		changed = 1;
	rc = err;
	if (rc == 0 && changed) {
		const char **f = calloc(d->nfiles + 1, sizeof(*f));

		if (f == NULL) {
			rc = -ENOMEM;
		} else {
			for (i = 0; i < d->nfiles; i++)
				f[i] = files[i] ? files[i] : d->files[i];
			rc = bm_jentry_encode(d->type, d->who, summary ?
			    summary : d->summary, f, d->nfiles, out, outlen);
			free(f);
		}
	}
	for (i = 0; files != NULL && i < d->nfiles; i++)
		free(files[i]);
	free(files);
	free(summary);
	return rc;
}

int
journal_redact(store *st, const char *const *paths, size_t n,
    uint64_t *changed)
{
	struct redacted *r = NULL, *nr;
	size_t cnt = 0, cap = 0, i;
	MDB_cursor *cur;
	MDB_val k, v;
	int mrc, rc = 0;

	if (n == 0)
		return 0;
	if (mdb_cursor_open(st->txn, st->dbi[IX_JOURNAL], &cur) != 0)
		return -EIO;
	for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0;
	    mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		struct bm_jentry d;
		uint8_t *plain, *val;
		size_t len, vlen;

		if (k.mv_size != 12) {
			rc = -EIO;
			break;
		}
		if ((rc = ix_open_sealed(st, IX_JOURNAL, &k, &v, &plain,
		    &len)) != 0)
			break;
		rc = bm_jentry_decode(plain, len, &d);
		free(plain);
		if (rc == 0)
			rc = entry_redact(&d, paths, n, &val, &vlen);
		else
			rc = rc == -ENOMEM ? rc : -EIO;
		bm_jentry_free(&d);
		if (rc != 0)
			break;
		if (val == NULL)
			continue;
		if (cnt == cap) {
			cap = cap ? 2 * cap : 16;
			if ((nr = realloc(r, cap * sizeof(*r))) == NULL) {
				free(val);
				rc = -ENOMEM;
				break;
			}
			r = nr;
		}
		memcpy(r[cnt].key, k.mv_data, 12);
		r[cnt].val = val;
		r[cnt++].len = vlen;
	}
	mdb_cursor_close(cur);
	/* Written after the walk: the cursor must not see its table
	 * change under it. */
	for (i = 0; i < cnt; i++) {
		if (rc == 0)
			rc = ix_put_sealed(st, IX_JOURNAL, r[i].key, 12,
			    r[i].val, r[i].len);
		free(r[i].val);
	}
	free(r);
	if (rc == 0)
		*changed += cnt;
	return rc;
}
