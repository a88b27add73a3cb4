/*
 * cmd_scan.c -- `beemoctl scan MACHINE [SNAPSHOT]`: rescan stored
 * versions with the current signatures.
 *
 * A file that was clean when it was backed up may be recognized later,
 * when the signatures know it.  This walks the snapshot given (or every
 * snapshot and the live tree) and scans each file version once (the same
 * content seen in several snapshots is scanned once), reporting each
 * detection by snapshot and path.  Exit status 1 if anything was found.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bm_err.h"
#include "bm_esc.h"
#include "bm_json.h"
#include "bm_units.h"
#include "ctl_snapname.h"
#include "ctl_store.h"
#include "scan.h"

static const char scan_usage[] =
    "MACHINE [SNAPSHOT] [--json] [--admin | --user USER]\n"
    "       [--password-file FILE]\n"
    "\n"
    "Scan the stored files of MACHINE with the current antivirus\n"
    "signatures ([scan] in the configuration): snapshot SNAPSHOT, or every\n"
    "snapshot and the live tree (SNAPSHOT: an id, latest, latest~N, a date\n"
    "or time, or a tag; beemoctl(8), SNAPSHOT NAMES).  Each detection is\n"
    "printed as \"snapshot ID: PATH: SIGNATURE\".\n"
    "\n"
    "  --json                one JSON object \"beemo-scan\", progress as\n"
    "                        JSON lines on stderr (beemoctl(8))\n"
    "  --admin               open with the administrator's password\n"
    "                        (default)\n"
    "  --user USER           open with USER's password\n"
    "  --password-file FILE  read the password from FILE (default\n"
    "                        $BEEMO_PASSWORD_FILE, or the terminal)\n"
    "  --help                this help\n";

struct seen {
	uint64_t ino, version;
};

struct scanner {
	const struct ctl *ctl;
	store *st;
	struct scan_engine *av;
	uint32_t snap;
	struct seen *seen;
	size_t nseen, capseen;
	uint64_t files, found, errors;
	struct ctl_progress prog;
	uint64_t bytes;
	bm_json *j; /* --json: the "detections" array is open */
};

/* An open-addressing set of (inode, version): each content once. */
static int
seen_before(struct scanner *s, uint64_t ino, uint64_t version)
{
	size_t i, mask;

	if (s->nseen * 2 >= s->capseen) {
		size_t cap = s->capseen ? s->capseen * 2 : 4096, j;
		struct seen *n = calloc(cap, sizeof(*n)), *old = s->seen;

		if (n == NULL)
			return 0;
		s->seen = n;
		s->capseen = cap;
		s->nseen = 0;
		for (j = 0; old != NULL && j < cap / 2; j++)
			if (old[j].ino != 0)
				seen_before(s, old[j].ino, old[j].version);
		free(old);
	}
	mask = s->capseen - 1;
	for (i = (size_t)((ino * 0x9e3779b97f4a7c15ULL) ^ version) & mask;
	    s->seen[i].ino != 0; i = (i + 1) & mask)
		if (s->seen[i].ino == ino && s->seen[i].version == version)
			return 1;
	s->seen[i].ino = ino;
	s->seen[i].version = version;
	s->nseen++;
	return 0;
}

static ssize_t
file_pread(void *h, void *buf, size_t len, uint64_t off)
{
	return store_read(h, buf, len, off);
}

static void
scan_one(struct scanner *s, const struct store_attr *a, const char *path)
{
	struct store_scan_src src;
	store_file *f;
	char virus[256];
	int rc;

	if (a->size == 0 ||
	    seen_before(s, a->ino & STORE_INO_MASK, a->version))
		return;
	if ((rc = store_open_file(s->st, a->ino, O_RDONLY, &f)) != 0) {
		ctl_err(s->ctl, "%s: %s", path, beemo_strerror(rc));
		s->errors++;
		return;
	}
	memset(&src, 0, sizeof(src));
	src.size = a->size;
	src.pread = file_pread;
	src.handle = f;
	rc = scan_file(s->av, path, &src, virus, sizeof(virus));
	store_release(f);
	s->files++;
	s->bytes += a->size;
	ctl_progress(&s->prog, s->bytes, 0, s->files);
	if (rc == BEEMO_EVIRUS && s->j != NULL) {
		bm_json_begin_obj(s->j, NULL);
		if (s->snap)
			bm_json_u64(s->j, "snapshot", s->snap);
		else
			bm_json_null(s->j, "snapshot");
		bm_json_str(s->j, "path", path);
		bm_json_str(s->j, "signature", virus);
		bm_json_end_obj(s->j);
		s->found++;
	} else if (rc == BEEMO_EVIRUS) {
		ctl_progress_clear(&s->prog);
		/* One line per file, whatever its name holds. */
		if (s->snap)
			printf("snapshot %u: ", s->snap);
		else
			printf("live: ");
		bm_esc_put(stdout, path);
		fputs(": ", stdout);
		bm_esc_put(stdout, virus);
		putchar('\n');
		s->found++;
	} else if (rc != 0) {
		s->errors++;
	}
}

static void
walk(struct scanner *s, uint64_t dir, const char *path, int depth)
{
	struct ctl_dirent *e = NULL;
	size_t i, n = 0;
	int rc;

	if (depth > 2048)
		return;
	if ((rc = ctl_readdir(s->st, dir, &e, &n)) != 0) {
		ctl_err(s->ctl, "%s: %s", path, beemo_strerror(rc));
		s->errors++;
	}
	for (i = 0; i < n; i++) {
		char *child;

		if (asprintf(&child, "%s/%s", depth ? path : "", e[i].name) < 0)
			break;
		if (S_ISDIR(e[i].a.mode))
			walk(s, e[i].a.ino, child, depth + 1);
		else if (S_ISREG(e[i].a.mode))
			scan_one(s, &e[i].a, child);
		free(child);
	}
	ctl_dirents_free(e, n);
}

int
cmd_scan(struct ctl *ctl, int argc, char **argv)
{
	struct ctl_opts o;
	struct ctl_session s;
	struct scanner sc;
	struct store_snapinfo *v = NULL;
	size_t n = 0, i;
	uint64_t want = 0;
	bm_json j;
	int rc, usage = 0;

	if ((rc = ctl_parse(ctl, argc, argv, CTL_O_JSON | CTL_O_ADMIN |
	    CTL_O_USER | CTL_O_PASSWORD, 1, 2, scan_usage, &o)) >= 0)
		return rc;
	memset(&sc, 0, sizeof(sc));
	sc.ctl = ctl;
	if ((rc = scan_open(ctl->conf, &sc.av)) != 0)
		return CTL_FAIL; /* scan_open logged why */
	if (sc.av == NULL) {
		ctl_err(ctl, "scanning is disabled in the configuration");
		return CTL_FAIL;
	}
	if ((rc = ctl_session_open(ctl, o.args[0], &o, 0, &s)) != 0) {
		scan_close(sc.av);
		return rc;
	}
	sc.st = s.st;
	ctl_progress_init(&sc.prog, ctl, "scanning");
	if ((rc = store_snapshots(s.st, &v, &n)) != 0) {
		ctl_err(ctl, "%s: %s", o.args[0], beemo_strerror(rc));
		goto out;
	}
	/* SNAPSHOT is any name of ctl_snapname.h. */
	if (o.nargs > 1) {
		struct store_snapinfo si;

		if ((rc = ctl_snap_resolve_list(ctl, v, n, o.args[1],
		    &si)) != 0) {
			usage = rc == CTL_USAGE;
			goto out;
		}
		want = si.id;
	}
	if (o.json) {
		bm_json_init(&j, stdout);
		bm_json_head(&j, "beemo-scan", 1);
		bm_json_str(&j, "machine", o.args[0]);
		if (want != 0)
			bm_json_u64(&j, "snapshot", want);
		else
			bm_json_null(&j, "snapshot");
		bm_json_begin_arr(&j, "detections");
		sc.j = &j;
	}
	for (i = 0; i < n; i++) {
		if (want != 0 && v[i].id != want)
			continue;
		sc.snap = v[i].id;
		walk(&sc, store_snapshot_ino(v[i].id), "/", 0);
	}
	if (want == 0) {
		sc.snap = 0;
		walk(&sc, STORE_ROOT_INO, "/", 0);
	}
	ctl_progress_end(&sc.prog);
	if (o.json) {
		bm_json_end_arr(&j);
		bm_json_u64(&j, "files", sc.files);
		bm_json_u64(&j, "bytes", sc.bytes);
		bm_json_u64(&j, "signatures", scan_signature_count(sc.av));
		bm_json_u64(&j, "infected", sc.found);
		bm_json_u64(&j, "errors", sc.errors);
		bm_json_end_obj(&j);
	} else if (!ctl->quiet)
		printf("%s: %llu file versions scanned with %u signatures, "
		    "%llu infected\n", o.args[0],
		    (unsigned long long)sc.files,
		    scan_signature_count(sc.av), (unsigned long long)sc.found);
out:
	ctl_progress_end(&sc.prog);
	free(v);
	free(sc.seen);
	if (ctl_session_close(ctl, &s) != 0)
		rc = -1;
	scan_close(sc.av);
	if (usage)
		return CTL_USAGE;
	if (rc != 0 || sc.errors > 0)
		return CTL_FAIL;
	/* Infected files were listed: the scan itself went through. */
	return sc.found > 0 ? BM_EXIT_WARN : CTL_OK;
}
