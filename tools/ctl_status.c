/*
 * ctl_status.c -- gathering the status of the appliance (ctl_status.h).
 *
 * Every source is read once, without locks, and may be missing or
 * malformed: a source that cannot be read leaves its part empty rather
 * than failing the whole status (the operator needs the rest most when
 * something is broken).  JSON is read with beemo-sync's strict reader
 * (sync/sync_json.c, linked in).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bm_conf.h"
#include "bm_file.h"
#include "bm_json.h"
#include "bm_sealed.h"
#include "ctl_status.h"
#include "ctl_store.h"
#include "sync.h"

int
ctl_pid_alive(long pid, const char *comm)
{
	char path[64], name[64];
	uint8_t *text;
	size_t len;
	int ok;

	if (pid <= 0 || (kill((pid_t)pid, 0) != 0 && errno != EPERM))
		return 0;
	if (comm == NULL)
		return 1;
	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	if (bm_read_file(path, 4096, &text, &len) != 0)
		return 0;
	snprintf(name, sizeof(name), "%s", (char *)text);
	name[strcspn(name, "\n")] = '\0';
	ok = strcmp(name, comm) == 0;
	free(text);
	return ok;
}

/* Parse @path (at most 16 MiB) as JSON, sealed under @key as @label
 * when @key is given; NULL when missing or bad. */
static struct sjson *
read_json_sealed(const char *path, const uint8_t *key, const char *label)
{
	struct sjson *root = NULL;
	uint8_t *text;
	size_t len;

	if (key != NULL ? bm_sealed_read(path, key, label, 16 << 20, &text,
	    &len) != 0 : bm_read_file(path, 16 << 20, &text, &len) != 0)
		return NULL;
	if (sjson_parse((const char *)text, len, &root) != 0)
		root = NULL;
	OPENSSL_cleanse(text, len);
	free(text);
	return root;
}

static struct sjson *
read_json(const char *path)
{
	return read_json_sealed(path, NULL, NULL);
}

static int
boolean(const struct sjson *o, const char *key)
{
	const struct sjson *v = sjson_get(o, key, SJSON_BOOL);

	return v != NULL && v->b;
}

static void
copy(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

/* ---- machines ------------------------------------------------------- */

static void
machine_from(struct ctl_machine *m, const struct sjson *o)
{
	const struct sjson *s = sjson_get(o, "session", SJSON_OBJ);
	const char *f = sjson_str(o, "format");

	if (f == NULL || strcmp(f, "beemo-machine-status") != 0)
		return;
	m->known = 1;
	m->mounted = boolean(o, "mounted");
	m->pid = (long)sjson_num(o, "pid");
	m->updated = sjson_num(o, "updated_ns");
	if (s != NULL) {
		m->session = sjson_num(s, "started_ns");
		m->session_files = sjson_num(s, "files");
		m->session_bytes = sjson_num(s, "bytes");
	}
	m->files = sjson_num(o, "files");
	m->bytes = sjson_num(o, "bytes");
	m->stored = sjson_num(o, "stored");
	m->packs = sjson_num(o, "packs");
	m->snapshots = sjson_num(o, "snapshots");
	m->last_snapshot = sjson_num(o, "last_snapshot_ns");
	m->quota_soft = sjson_num(o, "quota_soft");
	m->quota_hard = sjson_num(o, "quota_hard");
	m->signatures = sjson_num(o, "signatures");
}

static void
machine(const struct ctl *ctl, struct ctl_machine *m)
{
	char path[4300], *stats = NULL;
	struct control_client c;
	struct sjson *o = NULL;

	/* Live: the daemon's own answer. */
	if (control_client_init(&c, ctl->store, m->name, 2000) == 0 &&
	    control_stats(&c, &stats) == 0 &&
	    sjson_parse(stats, strlen(stats), &o) == 0) {
		machine_from(m, o);
		m->live = m->known;
		sjson_free(o);
	}
	free(stats);
	if (m->live)
		return;
	/* Otherwise what its last beemofs left. */
	if (bm_path(path, sizeof(path), "%s/run/machine-%s.json", ctl->store,
	    m->name) != 0 || (o = read_json(path)) == NULL)
		return;
	machine_from(m, o);
	/* A beemofs killed without stopping leaves "mounted": true. */
	if (m->mounted && !ctl_pid_alive(m->pid, NULL)) {
		m->mounted = 0;
		m->session = 0;
	}
	sjson_free(o);
}

static int
machines(const struct ctl *ctl, struct ctl_appliance *a)
{
	keymgr *km = NULL;
	char **names = NULL;
	size_t n = 0, i;

	if (keymgr_open(ctl->keydir, &km) != 0)
		return 0; /* shown as "no appliance" by the caller */
	if (keymgr_machine_list(km, &names, &n) == 0 && n > 0 &&
	    (a->m = calloc(n, sizeof(*a->m))) != NULL) {
		for (i = 0; i < n; i++) {
			copy(a->m[i].name, sizeof(a->m[i].name), names[i]);
			machine(ctl, &a->m[i]);
		}
		a->nm = n;
	}
	keymgr_names_free(names, n);
	keymgr_free(km);
	return 1;
}

/* ---- storage centers -------------------------------------------------- */

static void
targets(const struct ctl *ctl, struct ctl_appliance *a)
{
	const char *const *names;
	const char *statep = bm_conf_get(ctl->conf, "sync", NULL, "state",
	    NULL);
	const struct sjson *arr = NULL;
	struct sjson *root;
	char path[4200];
	size_t n, i, k;

	bm_conf_names(ctl->conf, "target", &names, &n);
	if (n == 0 || (a->t = calloc(n, sizeof(*a->t))) == NULL)
		return;
	a->nt = n;
	for (i = 0; i < n; i++)
		copy(a->t[i].name, sizeof(a->t[i].name), names[i]);
	if (statep == NULL && bm_path(path, sizeof(path),
	    "%s/sync/state.json", ctl->store) == 0)
		statep = path;
	if (statep == NULL || (root = read_json(statep)) == NULL)
		return;
	arr = sjson_get(root, "targets", SJSON_ARR);
	for (k = 0; arr != NULL && k < arr->nkids; k++) {
		const struct sjson *o = &arr->kids[k];
		const char *name = sjson_str(o, "name");

		for (i = 0; name != NULL && i < n; i++) {
			if (strcmp(a->t[i].name, name) != 0)
				continue;
			a->t[i].last_success = sjson_num(o, "last_success_ns");
			a->t[i].last_contact = a->t[i].last_success;
			a->t[i].last_attempt = sjson_num(o, "last_attempt_ns");
			copy(a->t[i].result, sizeof(a->t[i].result),
			    sjson_str(o, "result"));
		}
	}
	sjson_free(root);
}

/* ---- operations in progress ------------------------------------------ */

static void
add_op(struct ctl_appliance *a, const struct sjson *o)
{
	const char *f = sjson_str(o, "format");
	struct ctl_op *n, *op;

	if (f == NULL || strcmp(f, "beemo-progress") != 0 ||
	    !ctl_pid_alive((long)sjson_num(o, "pid"), NULL) ||
	    (n = realloc(a->ops, (a->nops + 1) * sizeof(*n))) == NULL)
		return;
	a->ops = n;
	op = &a->ops[a->nops++];
	memset(op, 0, sizeof(*op));
	copy(op->op, sizeof(op->op), sjson_str(o, "op"));
	copy(op->machine, sizeof(op->machine), sjson_str(o, "machine"));
	copy(op->target, sizeof(op->target), sjson_str(o, "target"));
	op->pid = (long)sjson_num(o, "pid");
	op->started = sjson_num(o, "started_ns");
	op->updated = sjson_num(o, "updated_ns");
	op->done = sjson_num(o, "done");
	op->total = sjson_num(o, "total");
	op->files = sjson_num(o, "files");
	op->objs_done = sjson_num(o, "objects_done");
	op->objs_total = sjson_num(o, "objects_total");
}

/* beemo-sync holds its lock file with its pid inside while it runs. */
static long
sync_running(const struct ctl *ctl)
{
	const char *lockp = bm_conf_get(ctl->conf, "sync", NULL, "lock", NULL);
	char path[4200];
	uint8_t *text;
	size_t len;
	long pid = 0;

	if (lockp == NULL && bm_path(path, sizeof(path), "%s/sync/lock",
	    ctl->store) == 0)
		lockp = path;
	if (lockp == NULL || bm_read_file(lockp, 4096, &text, &len) != 0)
		return 0;
	pid = strtol((char *)text, NULL, 10);
	free(text);
	return ctl_pid_alive(pid, "beemo-sync") ? pid : 0;
}

static void
operations(const struct ctl *ctl, struct ctl_appliance *a)
{
	char dir[4200], path[4500];
	struct dirent *e;
	struct sjson *o;
	long spid;
	size_t i;
	DIR *d;

	if (bm_path(dir, sizeof(dir), "%s/run", ctl->store) == 0 &&
	    (d = opendir(dir)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			size_t l = strlen(e->d_name);

			if (l < 6 || strcmp(e->d_name + l - 5, ".json") != 0 ||
			    !strncmp(e->d_name, "machine-", 8) ||
			    bm_path(path, sizeof(path), "%s/%s", dir,
			    e->d_name) != 0 || (o = read_json(path)) == NULL)
				continue;
			add_op(a, o);
			sjson_free(o);
		}
		closedir(d);
	}
	/* A push without progress file yet still shows. */
	if ((spid = sync_running(ctl)) == 0)
		return;
	for (i = 0; i < a->nops; i++)
		if (a->ops[i].pid == spid)
			return;
	{
		struct ctl_op *n = realloc(a->ops, (a->nops + 1) *
		    sizeof(*n));

		if (n == NULL)
			return;
		a->ops = n;
		memset(&n[a->nops], 0, sizeof(*n));
		copy(n[a->nops].op, sizeof(n->op), "beemo-sync");
		n[a->nops++].pid = spid;
	}
}

/* ---- reports ---------------------------------------------------------- */

static void
reports_read(const struct ctl *ctl, struct ctl_appliance *a,
    const uint8_t *key)
{
	char path[4200];
	const struct sjson *arr;
	struct sjson *root;
	struct dirent *e;
	DIR *d;
	size_t i;

	if (bm_path(path, sizeof(path), "%s/reports/spool", ctl->store) == 0 &&
	    (d = opendir(path)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			size_t l = strlen(e->d_name);
			char file[4500];
			struct sjson *o;
			const char *st;

			/* A queued "clear" is no report unless a "raise"
			 * was mailed; the maintenance cycle will tell. */
			if (l < 8 || strcmp(e->d_name + l - 7, ".sealed") ||
			    bm_path(file, sizeof(file), "%s/%s", path,
			    e->d_name) || (o = read_json_sealed(file, key,
			    "spool")) == NULL)
				continue;
			st = sjson_str(o, "state");
			a->reports_pending += st == NULL ||
			    strcmp(st, "clear") != 0;
			sjson_free(o);
		}
		closedir(d);
	}
	if (bm_path(path, sizeof(path), "%s/reports/state.sealed",
	    ctl->store) != 0 || (root = read_json_sealed(path, key,
	    "report-state")) == NULL)
		return;
	/* The maintenance runs' contacts with the storage centers. */
	arr = sjson_get(root, "targets", SJSON_ARR);
	for (i = 0; arr != NULL && i < arr->nkids; i++) {
		const struct sjson *o = &arr->kids[i];
		const char *name = sjson_str(o, "name");
		size_t k;

		for (k = 0; name != NULL && k < a->nt; k++) {
			struct ctl_target *t = &a->t[k];

			if (strcmp(t->name, name) != 0)
				continue;
			if (sjson_num(o, "last_ok_ns") > t->last_contact)
				t->last_contact = sjson_num(o, "last_ok_ns");
			if (sjson_num(o, "last_attempt_ns") > t->last_attempt) {
				t->last_attempt = sjson_num(o,
				    "last_attempt_ns");
				copy(t->result, sizeof(t->result),
				    sjson_str(o, "result"));
			}
		}
	}
	a->maint_last = sjson_num(root, "last_run_ns");
	copy(a->maint_result, sizeof(a->maint_result),
	    sjson_str(root, "last_result"));
	if ((arr = sjson_get(root, "pending", SJSON_ARR)) != NULL)
		a->reports_pending += arr->nkids;
	arr = sjson_get(root, "conditions", SJSON_ARR);
	for (i = 0; arr != NULL && i < arr->nkids; i++) {
		const struct sjson *o = &arr->kids[i];
		struct ctl_alert *n;

		if (sjson_num(o, "cleared_ns") != 0 ||
		    sjson_num(o, "raised_ns") == 0) {
			/* A "resolved" mail still to send counts. */
			a->reports_pending += sjson_num(o, "cleared_ns") != 0;
			continue;
		}
		a->reports_pending += sjson_num(o, "mailed_ns") == 0;
		if ((n = realloc(a->alerts, (a->nalerts + 1) *
		    sizeof(*n))) == NULL)
			break;
		a->alerts = n;
		copy(n[a->nalerts].key, sizeof(n->key), sjson_str(o, "key"));
		copy(n[a->nalerts].subject, sizeof(n->subject),
		    sjson_str(o, "subject"));
		n[a->nalerts++].since = sjson_num(o, "since_ns");
	}
	sjson_free(root);
}

/* The report spool and state, sealed under the "reports" subkey (bm.h):
 * reading them needs appliance.key, as root has. */
static void
reports(const struct ctl *ctl, struct ctl_appliance *a)
{
	uint8_t key[KEYMGR_SECRET_LEN];
	keymgr *km = NULL;
	int rc;

	if ((rc = keymgr_open(ctl->keydir, &km)) == 0)
		rc = keymgr_appliance_subkey(km, "reports", key);
	keymgr_free(km);
	if (rc != 0)
		return;
	reports_read(ctl, a, key);
	OPENSSL_cleanse(key, sizeof(key));
}

/* ---- signatures -------------------------------------------------------- */

/* "ClamAV-VDB:build time:version:sigs:level:md5:dsig:builder:stime" */
static void
cvd_header(int fd, uint64_t *count, uint64_t *stime)
{
	char hdr[513], *f[10], *save = NULL;
	ssize_t n = pread(fd, hdr, 512, 0);
	int i;

	if (n < 20)
		return;
	hdr[n] = '\0';
	if (strncmp(hdr, "ClamAV-VDB:", 11) != 0)
		return;
	for (i = 0; i < 10; i++)
		f[i] = strtok_r(i ? NULL : hdr, ":", &save);
	if (f[3] != NULL)
		*count += strtoull(f[3], NULL, 10);
	if (f[8] != NULL)
		*stime = strtoull(f[8], NULL, 10) * 1000000000ULL;
}

static void
signatures(const struct ctl *ctl, struct ctl_appliance *a)
{
	static const char *const text_dbs[] = {".hdb", ".hsb", ".mdb", ".msb",
	    ".ndb", ".ldb", ".cdb", ".idb", ".ndu", ".ldu"};
	char path[4500];
	struct dirent *e;
	struct stat st;
	DIR *d;
	size_t i;

	a->scan_enabled = bm_conf_get_bool(ctl->conf, "scan", NULL, "enabled",
	    1);
	a->sigdir = bm_conf_get(ctl->conf, "scan", NULL, "signatures",
	    "/var/lib/clamav");
	if ((d = opendir(a->sigdir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		const char *dot = strrchr(e->d_name, '.');
		uint64_t t = 0;
		int fd;

		if (dot == NULL || bm_path(path, sizeof(path), "%s/%s",
		    a->sigdir, e->d_name) != 0 ||
		    (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			continue;
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
			t = (uint64_t)st.st_mtim.tv_sec * 1000000000ULL;
		if (!strcmp(dot, ".cvd") || !strcmp(dot, ".cld")) {
			cvd_header(fd, &a->sig_count, &t);
		} else {
			for (i = 0; i < sizeof(text_dbs) / sizeof(*text_dbs);
			    i++) {
				uint8_t *text;
				size_t len, k;

				if (strcmp(dot, text_dbs[i]) != 0 ||
				    bm_read_file(path, 256 << 20, &text,
				    &len) != 0)
					continue;
				for (k = 0; k < len; k++)
					a->sig_count += text[k] == '\n';
				free(text);
			}
		}
		close(fd);
		if (t > a->sig_newest)
			a->sig_newest = t;
	}
	closedir(d);
}

/* ---- the whole -------------------------------------------------------- */

int
ctl_status_collect(const struct ctl *ctl, struct ctl_appliance *a)
{
	struct statvfs vfs;
	struct stat st;
	const char *name;

	memset(a, 0, sizeof(*a));
	a->store = ctl->store;
	name = bm_conf_get(ctl->conf, NULL, NULL, "appliance", NULL);
	if (name != NULL)
		copy(a->name, sizeof(a->name), name);
	else if (gethostname(a->name, sizeof(a->name) - 1) != 0)
		copy(a->name, sizeof(a->name), "beemo");
	a->store_ok = stat(ctl->store, &st) == 0 && S_ISDIR(st.st_mode);
	if (a->store_ok && statvfs(ctl->store, &vfs) == 0) {
		a->store_size = (uint64_t)vfs.f_blocks * vfs.f_frsize;
		a->store_free = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	}
	a->config = bm_conf_path(ctl->conf);
	if (!machines(ctl, a)) {
		ctl_err(ctl, "%s: no appliance here (run 'beemoctl init' "
		    "first, or give --store)", ctl->store);
		return CTL_FAIL;
	}
	targets(ctl, a);
	operations(ctl, a);
	reports(ctl, a);
	signatures(ctl, a);
	return 0;
}

void
ctl_status_free(struct ctl_appliance *a)
{
	free(a->m);
	free(a->t);
	free(a->ops);
	free(a->alerts);
	memset(a, 0, sizeof(*a));
}
