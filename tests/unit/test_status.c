/*
 * test_status.c -- unit tests of the status files (tools/records/
 * bm_status.c, bm_syncstate.c, bm_rstate.c), of the report spool read
 * back (bm_report.c) and of the progress line (tools/base/bm_progress.c).
 *
 * For each file: what the writer writes reads back the same; a file in
 * the version 1 shape, as the programs wrote it before the readers were
 * shared, still reads; truncated, garbage, foreign and newer files are
 * refused with BEEMO_EFORMAT or BEEMO_EVERSION, never half read.  For
 * the progress line: the text of a line and of a final line for known
 * counters.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bm_report.h"
#include "bm_progress.h"
#include "bm_status.h"
#include "check.h"

#define T_NS 1795861230000000000ULL /* 2026-11-28T10:20:30Z */
#define LIT(s) (s), strlen(s) /* a literal and its length */

static char tmp[256];

/* Every strict prefix of @text, and @text with one byte replaced by
 * garbage at a few places, must be refused by @parse. */
static void
check_damaged(const char *text, int (*parse)(const char *, size_t, void *),
    void *out)
{
	size_t len = strlen(text), i;
	char *copy = strdup(text);

	REQUIRE(copy != NULL);
	for (i = 0; i + 2 < len; i++)
		CHECK_RC(parse(text, i, out), BEEMO_EFORMAT);
	for (i = 0; i < len; i += len / 7 + 1) {
		memcpy(copy, text, len);
		copy[i] = '\x01';
		CHECK(parse(copy, len, out) != 0);
	}
	CHECK_RC(parse("", 0, out), BEEMO_EFORMAT);
	CHECK_RC(parse("\x89PNG\r\n\x1a\n", 8, out), BEEMO_EFORMAT);
	CHECK_RC(parse("[1,2,3]", 7, out), BEEMO_EFORMAT);
	free(copy);
}

/* Write @text as @store/run/@name. */
static void
put_run(const char *name, const char *text)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/run/%s", tmp, name);
	REQUIRE_OK(bm_write_file_atomic(path, text, strlen(text), 0600, 0));
}

/* ---- the machine status ---------------------------------------------- */

static int
parse_mstatus(const char *text, size_t len, void *out)
{
	return bm_mstatus_parse(text, len, out);
}

/* As beemofs wrote it for a mounted machine before the shared writer. */
static const char mstatus_v1[] =
    "{\"format\":\"beemo-machine-status\",\"version\":1,\"machine\":"
    "\"pc1\",\"mounted\":true,\"pid\":4242,\"updated\":"
    "\"2026-11-28T10:20:30Z\",\"updated_ns\":1795861230000000000,"
    "\"session\":{\"started\":\"2026-11-28T10:20:30Z\",\"started_ns\":"
    "1795861230000000000,\"files\":3,\"bytes\":300,\"added\":1,"
    "\"changed\":2,\"deleted\":4,\"renamed\":5},\"files\":61,\"dirs\":2,"
    "\"bytes\":12345,\"stored\":6789,\"packs\":1,\"snapshots\":7,"
    "\"last_snapshot\":null,\"last_snapshot_ns\":0,\"quota_soft\":"
    "1073741824,\"quota_hard\":2147483648,\"used\":7000,"
    "\"quota_limit\":2147483648,\"over_soft\":false,"
    "\"over_hard\":false,\"signatures\":9}\n";

/* Today's: the same, with the garbage a prune could reclaim. */
static const char mstatus_now[] =
    "{\"format\":\"beemo-machine-status\",\"version\":1,\"machine\":"
    "\"pc1\",\"mounted\":true,\"pid\":4242,\"updated\":"
    "\"2026-11-28T10:20:30Z\",\"updated_ns\":1795861230000000000,"
    "\"session\":{\"started\":\"2026-11-28T10:20:30Z\",\"started_ns\":"
    "1795861230000000000,\"files\":3,\"bytes\":300,\"added\":1,"
    "\"changed\":2,\"deleted\":4,\"renamed\":5},\"files\":61,\"dirs\":2,"
    "\"bytes\":12345,\"stored\":6789,\"packs\":1,\"snapshots\":7,"
    "\"last_snapshot\":null,\"last_snapshot_ns\":0,\"quota_soft\":"
    "1073741824,\"quota_hard\":2147483648,\"used\":7000,"
    "\"quota_limit\":2147483648,\"over_soft\":false,"
    "\"over_hard\":false,\"signatures\":9,\"reclaimable\":5000,"
    "\"reclaimable_as_of\":\"2026-11-28T10:20:30Z\",\"reclaimable_ns\":"
    "1795861230000000000}\n";

static void
test_mstatus(void)
{
	struct bm_mstatus m, r;
	char *text;
	size_t len;

	memset(&m, 0, sizeof(m));
	snprintf(m.machine, sizeof(m.machine), "pc1");
	m.mounted = 1;
	m.pid = 4242;
	m.updated = T_NS;
	m.session = T_NS;
	m.session_files = 3;
	m.session_bytes = 300;
	m.added = 1;
	m.changed = 2;
	m.deleted = 4;
	m.renamed = 5;
	m.files = 61;
	m.dirs = 2;
	m.bytes = 12345;
	m.stored = 6789;
	m.packs = 1;
	m.snapshots = 7;
	m.quota_soft = 1073741824;
	m.quota_hard = 2147483648;
	m.used = 7000;
	m.quota_limit = 2147483648;
	m.signatures = 9;
	m.reclaimable = 5000;
	m.reclaimable_time = T_NS;

	/* The writer writes today's shape byte for byte. */
	REQUIRE_OK(bm_mstatus_json(&m, &text, &len));
	CHECK(len == strlen(mstatus_now) &&
	    memcmp(text, mstatus_now, len) == 0);
	free(text);

	/* Round trip through the file. */
	CHECK_RC(bm_mstatus_read(tmp, "pc1", &r), -ENOENT);
	CHECK_OK(bm_mstatus_write(tmp, &m));
	CHECK_OK(bm_mstatus_read(tmp, "pc1", &r));
	CHECK(memcmp(&m, &r, sizeof(m)) == 0);
	snprintf(m.machine, sizeof(m.machine), "../x");
	CHECK_RC(bm_mstatus_write(tmp, &m), -EINVAL);
	CHECK_RC(bm_mstatus_read(tmp, "../x", &r), -EINVAL);

	/* A not mounted machine: session null. */
	snprintf(m.machine, sizeof(m.machine), "pc2");
	m.mounted = 0;
	m.pid = 0;
	m.session = 0;
	m.session_files = m.session_bytes = 0;
	m.added = m.changed = m.deleted = m.renamed = 0;
	CHECK_OK(bm_mstatus_write(tmp, &m));
	CHECK_OK(bm_mstatus_read(tmp, "pc2", &r));
	CHECK(memcmp(&m, &r, sizeof(m)) == 0);

	/* Today's file, a "stats" answer. */
	CHECK_OK(bm_mstatus_parse(mstatus_v1, strlen(mstatus_v1), &r));
	CHECK(strcmp(r.machine, "pc1") == 0 && r.mounted && r.pid == 4242);
	CHECK(r.session == T_NS && r.session_files == 3 && r.renamed == 5);
	CHECK(r.files == 61 && r.stored == 6789 && r.snapshots == 7);
	CHECK(r.quota_hard == 2147483648ULL && r.signatures == 9);
	/* Written before prune existed: never estimated. */
	CHECK(r.reclaimable == 0 && r.reclaimable_time == 0);
	CHECK_OK(bm_mstatus_parse(mstatus_now, strlen(mstatus_now), &r));
	CHECK(r.reclaimable == 5000 && r.reclaimable_time == T_NS);

	/* Damaged, foreign, newer. */
	check_damaged(mstatus_v1, parse_mstatus, &r);
	CHECK_RC(bm_mstatus_parse(LIT("{\"format\":\"beemo-progress\","
	    "\"version\":1}"), &r), BEEMO_EFORMAT);
	CHECK_RC(bm_mstatus_parse(LIT("{\"format\":"
	    "\"beemo-machine-status\"}"), &r), BEEMO_EFORMAT);
	CHECK_RC(bm_mstatus_parse(LIT("{\"format\":\"beemo-machine-status\","
	    "\"version\":2}"), &r), BEEMO_EVERSION);
	put_run("machine-pc3.json", "{\"format\":\"beemo-machine-status\","
	    "\"version\":1,\"files\":");
	CHECK_RC(bm_mstatus_read(tmp, "pc3", &r), BEEMO_EFORMAT);
}

/* ---- operations in progress ------------------------------------------ */

static int
parse_run(const char *text, size_t len, void *out)
{
	return bm_run_parse(text, len, out);
}

/* As beemoctl restore wrote it before the shared writer. */
static const char run_v1[] =
    "{\"format\":\"beemo-progress\",\"version\":1,\"op\":\"restore\","
    "\"machine\":\"pc1\",\"target\":null,\"pid\":4242,\"started_ns\":"
    "1795861230000000000,\"updated_ns\":1795861231000000000,\"done\":"
    "1048576,\"total\":94371840,\"files\":3,\"objects_done\":0,"
    "\"objects_total\":0}\n";

static const struct bm_run *
find_run(const struct bm_run *v, size_t n, const char *op)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i].op, op) == 0)
			return &v[i];
	return NULL;
}

static void
test_run(void)
{
	static struct bm_run_file file = BM_RUN_FILE_INIT;
	struct bm_run w, r, *v;
	const struct bm_run *p;
	char path[512];
	size_t n;

	CHECK_OK(bm_run_parse(run_v1, strlen(run_v1), &r));
	CHECK(strcmp(r.op, "restore") == 0 && strcmp(r.machine, "pc1") == 0 &&
	    r.target[0] == '\0' && r.pid == 4242);
	CHECK(r.started == T_NS && r.updated == T_NS + 1000000000ULL);
	CHECK(r.done == 1048576 && r.total == 94371840 && r.files == 3);
	check_damaged(run_v1, parse_run, &r);
	CHECK_RC(bm_run_parse(LIT("{\"format\":\"beemo-progress\","
	    "\"version\":7}"), &r), BEEMO_EVERSION);

	/* Round trip: pid and time are the writer's. */
	memset(&w, 0, sizeof(w));
	snprintf(w.op, sizeof(w.op), "push");
	snprintf(w.target, sizeof(w.target), "center-a");
	w.started = T_NS;
	w.done = 10;
	w.total = 20;
	w.objs_done = 1;
	w.objs_total = 2;
	CHECK_OK(bm_run_write(tmp, "push", &w));
	CHECK_RC(bm_run_write(tmp, "machine-pc1", &w), -EINVAL);
	CHECK_RC(bm_run_write(tmp, "../push", &w), -EINVAL);
	put_run("check-1.json", run_v1);
	put_run("bad-2.json", "{\"format\":\"beemo-progress\"");
	put_run("push.json.tmp.99", "{");
	REQUIRE_OK(bm_run_list(tmp, &v, &n));
	CHECK(n == 2); /* push and check-1; not bad-2, machine-*, .tmp */
	p = find_run(v, n, "push");
	CHECK(p != NULL && p->pid == (long)getpid() && p->updated >= T_NS &&
	    strcmp(p->target, "center-a") == 0 && p->machine[0] == '\0' &&
	    p->started == T_NS && p->done == 10 && p->total == 20 &&
	    p->objs_done == 1 && p->objs_total == 2);
	CHECK(find_run(v, n, "restore") != NULL);
	free(v);
	bm_run_remove(tmp, "push");
	bm_run_remove(tmp, "check-1");
	bm_run_remove(tmp, "bad-2");

	/* The kept-up-to-date file: written at once, then at most once a
	 * second unless forced, removed at the end. */
	bm_run_file_begin(&file, tmp, "rebuild-index-7", "rebuild-index",
	    "pc1");
	memset(&w, 0, sizeof(w));
	w.done = 5;
	bm_run_file_note(&file, &w, 0);
	w.done = 6;
	bm_run_file_note(&file, &w, 0);
	REQUIRE_OK(bm_run_list(tmp, &v, &n));
	p = find_run(v, n, "rebuild-index");
	CHECK(n == 1 && p != NULL && p->done == 5 &&
	    strcmp(p->machine, "pc1") == 0 && p->started != 0);
	free(v);
	bm_run_file_note(&file, &w, 1);
	REQUIRE_OK(bm_run_list(tmp, &v, &n));
	CHECK(n == 1 && v[0].done == 6);
	free(v);
	bm_run_file_end(&file);
	snprintf(path, sizeof(path), "%s/run/rebuild-index-7.json", tmp);
	CHECK(access(path, F_OK) != 0);
	REQUIRE_OK(bm_run_list(tmp, &v, &n));
	CHECK(n == 0);
	free(v);
}

/* ---- beemo-sync's state ---------------------------------------------- */

static int
parse_sync_state(const char *text, size_t len, void *out)
{
	int rc = bm_sync_state_parse(text, len, out);

	bm_sync_state_free(out);
	return rc;
}

/* As beemo-sync wrote it before the shared writer. */
static const char state_v1[] =
    "{\"format\":\"beemo-sync-state\",\"version\":1,\"config_plain\":"
    "\"ab\",\"targets\":[{\"name\":\"a\",\"last_attempt\":"
    "\"2026-11-28T10:20:30Z\",\"last_attempt_ns\":1795861230000000000,"
    "\"last_success\":null,\"last_success_ns\":0,\"duration_ms\":12,"
    "\"objects_sent\":3,\"bytes_sent\":4,\"objects_total\":5,"
    "\"bytes_total\":6,\"result\":\"connection refused\",\"manifest\":"
    "\"\",\"digest\":\"\"}]}\n\n";

static void
test_sync_state(void)
{
	struct bm_sync_state st, r;
	struct bm_sync_tstate *t;
	char path[512];
	uint8_t *text;
	size_t len;

	snprintf(path, sizeof(path), "%s/state.json", tmp);
	CHECK_OK(bm_sync_state_load(path, &r));
	CHECK(r.n == 0);

	memset(&st, 0, sizeof(st));
	snprintf(st.config_plain, sizeof(st.config_plain), "ab");
	REQUIRE((t = bm_sync_state_target(&st, "a")) != NULL);
	t->last_attempt_ns = T_NS;
	t->duration_ms = 12;
	t->objs_sent = 3;
	t->bytes_sent = 4;
	t->objs_total = 5;
	t->bytes_total = 6;
	snprintf(t->result, sizeof(t->result), "connection refused");
	CHECK(bm_sync_state_target(&st, "a") == t);
	CHECK(bm_sync_state_target(&st, "an-extremely-long-name-that-does-"
	    "not-fit-in-the-name-field-of-a-target") == NULL);
	CHECK_OK(bm_sync_state_save(path, &st));
	REQUIRE_OK(bm_read_file(path, 1 << 20, &text, &len));
	CHECK(len == strlen(state_v1) && memcmp(text, state_v1, len) == 0);
	free(text);
	REQUIRE((t = bm_sync_state_target(&st, "b")) != NULL);
	t->last_attempt_ns = t->last_success_ns = T_NS;
	snprintf(t->result, sizeof(t->result), "ok");
	snprintf(t->manifest, sizeof(t->manifest), "manifests/x.json");
	snprintf(t->digest, sizeof(t->digest), "%064d", 7);
	t->counter = 42; /* the push number, and its time */
	t->counter_ns = T_NS + 1;
	CHECK_OK(bm_sync_state_save(path, &st));
	CHECK_OK(bm_sync_state_load(path, &r));
	CHECK(r.n == 2 && strcmp(r.config_plain, "ab") == 0);
	CHECK(r.n == 2 && memcmp(r.t, st.t, 2 * sizeof(*r.t)) == 0);
	bm_sync_state_free(&r);
	bm_sync_state_free(&st);

	CHECK_OK(bm_sync_state_parse(state_v1, strlen(state_v1), &r));
	CHECK(r.n == 1 && r.t[0].duration_ms == 12 &&
	    strcmp(r.t[0].result, "connection refused") == 0);
	bm_sync_state_free(&r);
	check_damaged(state_v1, parse_sync_state, &r);
	CHECK_RC(bm_sync_state_parse(LIT("{\"format\":\"beemo-sync-state\","
	    "\"version\":1,\"targets\":[{\"name\":\"../a\"}]}"), &r),
	    BEEMO_EFORMAT);
	CHECK_RC(bm_sync_state_parse(LIT("{\"format\":\"beemo-sync-state\","
	    "\"version\":2,\"targets\":[]}"), &r), BEEMO_EVERSION);
	REQUIRE_OK(bm_write_file_atomic(path, state_v1, 40, 0600, 0));
	CHECK_RC(bm_sync_state_load(path, &r), BEEMO_EFORMAT);
}

/* ---- the status for the storage centers ------------------------------ */

static int
parse_appstatus(const char *text, size_t len, void *out)
{
	int rc = bm_appstatus_parse(text, len, out);

	bm_appstatus_free(out);
	return rc;
}

/* As a push and a maintenance run wrote them before the shared writer. */
static const char push_v1[] =
    "{\"format\":\"beemo-status\",\"version\":1,\"appliance\":"
    "\"00112233445566778899aabbccddeeff\",\"time\":"
    "\"2026-11-28T10:20:30Z\",\"time_ns\":1795861230000000000,"
    "\"beemo\":\"0.1.0\",\"machines\":[{\"name\":\"pc1\",\"packs\":1,"
    "\"bytes\":4096}],\"targets\":[{\"name\":\"a\",\"last_success\":"
    "\"2026-11-28T10:20:30Z\",\"last_result\":\"ok\"},{\"name\":\"b\","
    "\"last_success\":null,\"last_result\":\"failed\"}]}\n\n";
static const char maint_v1[] =
    "{\"format\":\"beemo-status\",\"version\":1,\"kind\":\"maintenance\","
    "\"appliance\":\"00112233445566778899aabbccddeeff\",\"time\":"
    "\"2026-11-28T10:20:30Z\",\"time_ns\":1795861230000000000,"
    "\"beemo\":\"0.1.0\",\"machines\":[{\"name\":\"pc1\",\"updated_ns\":"
    "1795861230000000000,\"files\":61,\"bytes\":12345,\"stored\":6789,"
    "\"snapshots\":7,\"last_snapshot_ns\":0,\"quota_soft\":1,"
    "\"quota_hard\":2},{\"name\":\"pc2\"}],\"targets\":[{\"name\":\"a\","
    "\"last_success\":null,\"last_result\":\"failed\"}],\"alerts\":"
    "\"unreachable,quota\"}\n";

static void
test_appstatus(void)
{
	struct bm_appstatus s, r;
	struct bm_appstatus_machine *m;
	struct bm_appstatus_target *t;
	char *text;
	size_t len;

	memset(&s, 0, sizeof(s));
	snprintf(s.appliance, sizeof(s.appliance), "%s",
	    "00112233445566778899aabbccddeeff");
	s.time = T_NS;
	snprintf(s.beemo, sizeof(s.beemo), "0.1.0");
	REQUIRE((m = bm_appstatus_add_machine(&s, "pc1")) != NULL);
	m->packs = 1;
	m->pack_bytes = 4096;
	REQUIRE((t = bm_appstatus_add_target(&s, "a")) != NULL);
	t->last_success = T_NS;
	t->ok = 1;
	REQUIRE(bm_appstatus_add_target(&s, "b") != NULL);
	REQUIRE_OK(bm_appstatus_json(&s, &text, &len));
	CHECK(len == strlen(push_v1) && memcmp(text, push_v1, len) == 0);
	CHECK_OK(bm_appstatus_parse(text, len, &r));
	free(text);
	CHECK(r.kind == BM_APPSTATUS_PUSH && r.nm == 1 && r.nt == 2 &&
	    r.time == T_NS && strcmp(r.appliance, s.appliance) == 0);
	CHECK(r.nm == 1 && r.m[0].packs == 1 && r.m[0].pack_bytes == 4096);
	CHECK(r.nt == 2 && r.t[0].last_success == T_NS && r.t[0].ok &&
	    r.t[1].last_success == 0 && !r.t[1].ok);
	bm_appstatus_free(&r);
	bm_appstatus_free(&s);

	memset(&s, 0, sizeof(s));
	s.kind = BM_APPSTATUS_MAINTENANCE;
	snprintf(s.appliance, sizeof(s.appliance), "%s",
	    "00112233445566778899aabbccddeeff");
	s.time = T_NS;
	snprintf(s.beemo, sizeof(s.beemo), "0.1.0");
	snprintf(s.alerts, sizeof(s.alerts), "unreachable,quota");
	REQUIRE((m = bm_appstatus_add_machine(&s, "pc1")) != NULL);
	m->known = 1;
	m->updated = T_NS;
	m->files = 61;
	m->bytes = 12345;
	m->stored = 6789;
	m->snapshots = 7;
	m->quota_soft = 1;
	m->quota_hard = 2;
	REQUIRE(bm_appstatus_add_machine(&s, "pc2") != NULL);
	REQUIRE(bm_appstatus_add_target(&s, "a") != NULL);
	REQUIRE_OK(bm_appstatus_json(&s, &text, &len));
	CHECK(len == strlen(maint_v1) && memcmp(text, maint_v1, len) == 0);
	free(text);
	CHECK_OK(bm_appstatus_parse(maint_v1, strlen(maint_v1), &r));
	CHECK(r.kind == BM_APPSTATUS_MAINTENANCE && r.nm == 2 && r.nt == 1);
	CHECK(r.nm == 2 && memcmp(r.m, s.m, 2 * sizeof(*r.m)) == 0);
	CHECK(strcmp(r.alerts, "unreachable,quota") == 0);
	bm_appstatus_free(&r);
	bm_appstatus_free(&s);

	check_damaged(push_v1, parse_appstatus, &r);
	check_damaged(maint_v1, parse_appstatus, &r);
	CHECK_RC(bm_appstatus_parse(LIT("{\"format\":\"beemo-status\","
	    "\"version\":1,\"kind\":\"other\",\"machines\":[],"
	    "\"targets\":[]}"), &r), BEEMO_EFORMAT);
	CHECK_RC(bm_appstatus_parse(LIT("{\"format\":\"beemo-status\","
	    "\"version\":3}"), &r), BEEMO_EVERSION);
}

/* ---- the report state ------------------------------------------------ */

static int
parse_rstate(const char *text, size_t len, void *out)
{
	int rc = bm_rstate_parse(text, len, out);

	bm_rstate_clear(out);
	return rc;
}

/* As `beemo-sync maintenance` wrote it before the shared writer. */
static const char rstate_v1[] =
    "{\"format\":\"beemo-report-state\",\"version\":1,\"last_run\":"
    "\"2026-11-28T10:20:30Z\",\"last_run_ns\":1795861230000000000,"
    "\"last_result\":\"ok\",\"signatures_seen_ns\":5,\"conditions\":"
    "[{\"key\":\"quota:pc1\",\"kind\":\"quota\",\"machine\":\"pc1\","
    "\"subject\":\"pc1 is over its quota\",\"text\":\"t\","
    "\"resolved_subject\":null,\"resolved_text\":null,\"since_ns\":1,"
    "\"raised_ns\":2,\"mailed_ns\":0,\"cleared_ns\":0}],\"pending\":"
    "[{\"key\":\"virus:pc1:/a:Sig\",\"kind\":\"virus\",\"machine\":"
    "\"pc1\",\"subject\":\"virus in /a\",\"text\":\"\",\"time_ns\":3}],"
    "\"sent\":[{\"key\":\"k\",\"time_ns\":4}],\"targets\":[{\"name\":"
    "\"a\",\"first_seen_ns\":6,\"last_ok_ns\":7,\"last_attempt_ns\":8,"
    "\"result\":\"ok\"}]}\n";

static void
test_rstate(void)
{
	static const uint8_t key[32] = {1}, other[32] = {2};
	struct bm_rstate rs, r2;
	char dir[300], *text;
	size_t len;

	/* Today's file reads, and writes back byte for byte. */
	REQUIRE_OK(bm_rstate_parse(LIT(rstate_v1), &rs));
	CHECK(rs.last_run == T_NS && rs.sig_seen == 5 &&
	    strcmp(rs.last_result, "ok") == 0);
	CHECK(rs.nc == 1 && strcmp(rs.c[0].key, "quota:pc1") == 0 &&
	    rs.c[0].rsubject == NULL && rs.c[0].raised == 2);
	CHECK(rs.ne == 1 && rs.e[0].time == 3 && strcmp(rs.e[0].machine,
	    "pc1") == 0);
	CHECK(rs.ns == 1 && rs.s[0].time == 4);
	CHECK(rs.nt == 1 && rs.t[0].last_attempt == 8);
	REQUIRE_OK(bm_rstate_json(&rs, &text, &len));
	CHECK(len == strlen(rstate_v1) && memcmp(text, rstate_v1, len) == 0);
	free(text);

	/* Sealed round trip; another key is refused. */
	CHECK_RC(bm_rstate_read(tmp, key, &r2), -ENOENT);
	snprintf(dir, sizeof(dir), "%s/reports", tmp);
	REQUIRE_OK(bm_mkdir_p(dir, 0700));
	CHECK_OK(bm_rstate_write(tmp, key, &rs));
	CHECK_RC(bm_rstate_read(tmp, other, &r2), -EBADMSG);
	CHECK_OK(bm_rstate_read(tmp, key, &r2));
	REQUIRE_OK(bm_rstate_json(&r2, &text, &len));
	CHECK(len == strlen(rstate_v1) && memcmp(text, rstate_v1, len) == 0);
	free(text);
	bm_rstate_clear(&r2);
	CHECK(bm_rstate_target(&rs, "a", 99) == &rs.t[0]);
	CHECK(bm_rstate_target(&rs, "b", 99)->first_seen == 99 && rs.nt == 2);
	bm_rstate_clear(&rs);
	CHECK(rs.nc == 0 && rs.c == NULL);

	check_damaged(rstate_v1, parse_rstate, &rs);
	CHECK_RC(bm_rstate_parse(LIT("{\"format\":\"beemo-report-state\","
	    "\"version\":1,\"targets\":[{\"name\":\"../x\"}]}"), &rs),
	    BEEMO_EFORMAT);
	CHECK_RC(bm_rstate_parse(LIT("{\"format\":\"beemo-report-state\","
	    "\"version\":2}"), &rs), BEEMO_EVERSION);
}

/* ---- the report spool, read back -------------------------------------- */

static int
parse_spooled(const char *text, size_t len, void *out)
{
	int rc = bm_report_parse(text, len, out);

	bm_spooled_free(out);
	return rc;
}

static void
test_spooled(void)
{
	static const uint8_t key[32] = {3};
	static const char v1[] =
	    "{\"format\":\"beemo-report\",\"version\":1,\"time\":"
	    "\"2026-11-28T10:20:30Z\",\"time_ns\":1795861230000000000,"
	    "\"kind\":\"quota\",\"machine\":null,\"key\":\"quota:pc1\","
	    "\"state\":\"clear\",\"subject\":\"s\",\"text\":\"t\"}\n";
	struct bm_report r = {"virus", "pc1", "virus:pc1:/a:Sig",
	    BM_REPORT_RAISE, "virus in /a", "body\n"};
	struct bm_spooled sp;
	char dir[300], path[600], **names;
	size_t n;

	CHECK_OK(bm_report_parse(LIT(v1), &sp));
	CHECK(sp.time == T_NS && sp.r.state == BM_REPORT_CLEAR &&
	    sp.r.machine == NULL && strcmp(sp.r.key, "quota:pc1") == 0 &&
	    strcmp(sp.r.text, "t") == 0);
	bm_spooled_free(&sp);
	check_damaged(v1, parse_spooled, &sp);
	CHECK_RC(bm_report_parse(LIT("{\"format\":\"beemo-report\","
	    "\"version\":1,\"kind\":\"k\",\"key\":\"k\",\"state\":"
	    "\"maybe\",\"subject\":\"s\"}"), &sp), BEEMO_EFORMAT);
	CHECK_RC(bm_report_parse(LIT("{\"format\":\"beemo-report\","
	    "\"version\":1,\"kind\":\"k\",\"key\":\"k\",\"state\":"
	    "\"event\",\"subject\":\"s\",\"machine\":\"a/b\"}"), &sp),
	    BEEMO_EFORMAT);

	/* What bm_report_spool writes reads back. */
	CHECK_OK(bm_report_spool(tmp, key, &r));
	snprintf(dir, sizeof(dir), "%s/reports/spool", tmp);
	REQUIRE_OK(bm_list_dir(dir, NULL, &names, &n));
	REQUIRE(n == 1);
	snprintf(path, sizeof(path), "%s/%s", dir, names[0]);
	bm_names_free(names, n);
	CHECK_OK(bm_report_read(path, key, &sp));
	CHECK(sp.r.state == BM_REPORT_RAISE && sp.time != 0 &&
	    strcmp(sp.r.kind, "virus") == 0 &&
	    strcmp(sp.r.machine, "pc1") == 0 &&
	    strcmp(sp.r.key, r.key) == 0 &&
	    strcmp(sp.r.subject, r.subject) == 0 &&
	    strcmp(sp.r.text, r.text) == 0);
	bm_spooled_free(&sp);
}

/* ---- the progress line ----------------------------------------------- */

static void
test_progress(void)
{
	struct bm_progress_counts c;
	struct bm_progress p;
	char line[256];

	memset(&c, 0, sizeof(c));
	c.bytes_done = 10 << 20;
	c.bytes_total = 40 << 20;
	c.objs_done = 3;
	c.objs_total = 12;
	c.elapsed_ns = 5000000000ULL;
	bm_progress_format(line, sizeof(line), "center-a", &c, 0);
	CHECK(strcmp(line, "center-a: 10.0 MiB of 40.0 MiB (25%), 3/12 "
	    "objects, 2.0 MiB/s, ETA 0:00:15") == 0);
	bm_progress_format(line, sizeof(line), "center-a", &c, 1);
	CHECK(strcmp(line, "center-a: 10.0 MiB, 3 objects in 0:00:05, "
	    "2.0 MiB/s") == 0);

	/* Unknown total, counted files, no time yet: no rate, no ETA. */
	memset(&c, 0, sizeof(c));
	c.bytes_done = 1536;
	c.files = 4;
	bm_progress_format(line, sizeof(line), "restoring", &c, 0);
	CHECK(strcmp(line, "restoring: 1.5 KiB, 4 files, 0 B/s") == 0);
	c.elapsed_ns = 3725ULL * 1000000000ULL;
	bm_progress_format(line, sizeof(line), "checking", &c, 1);
	CHECK(strncmp(line, "checking: 1.5 KiB, 4 files in 1:02:05, ",
	    39) == 0);

	/* Cut to the buffer, always terminated. */
	CHECK(bm_progress_format(line, 8, "restoring", &c, 0) == 7);
	CHECK(strcmp(line, "restori") == 0);
	CHECK(bm_progress_format(line, 0, "restoring", &c, 0) == 0);

	/* Quiet: counted, never drawn. */
	bm_progress_start(&p, "x", 1, 2, 100, NULL, NULL);
	bm_progress_add(&p, 30, 1);
	bm_progress_add(&p, 20, 1);
	bm_progress_read(&p, &c);
	CHECK(!p.enabled && !p.drawn);
	CHECK(c.bytes_done == 50 && c.bytes_total == 100 && c.objs_done == 2);
	bm_progress_set(&p, 70, 200, 5);
	bm_progress_read(&p, &c);
	CHECK(c.bytes_done == 70 && c.bytes_total == 200 && c.files == 5);
	bm_progress_end(&p, 1);
}

int
main(void)
{
	char cmd[300];

	snprintf(tmp, sizeof(tmp), "%s/beemo-status-XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	REQUIRE(mkdtemp(tmp) != NULL);
	snprintf(cmd, sizeof(cmd), "%s/run", tmp);
	REQUIRE_OK(bm_mkdir_p(cmd, 0700));
	test_mstatus();
	test_run();
	test_sync_state();
	test_appstatus();
	test_rstate();
	test_spooled();
	test_progress();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmp);
	return check_status();
}
