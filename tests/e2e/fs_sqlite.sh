#!/bin/bash
# fs_sqlite.sh -- SQLite on beemofs, with a rollback journal
# (journal_mode=DELETE) and with a write-ahead log (journal_mode=WAL,
# whose -shm index is a shared mmap): 1400 inserts (in transactions and
# 300 single-statement ones), updates, deletes, a rollback, savepoints
# and VACUUM, while a second process reads; integrity_check must say ok,
# and a checksum of the content must equal that of the same workload on
# a local directory; again after a remount, and in the snapshot.
set -euo pipefail
# shellcheck source=tests/e2e/fs_lib.sh
. "$(dirname "$0")/fs_lib.sh"

fs_need sqlite3 sqlite3
fs_init

# schema MODE: SQL creating the tables in journal mode MODE.
schema() {
	cat <<EOF
PRAGMA journal_mode=$1;
PRAGMA synchronous=FULL;
CREATE TABLE t(id INTEGER PRIMARY KEY, k TEXT UNIQUE, v BLOB, n REAL);
CREATE INDEX t_n ON t(n);
CREATE TABLE log(id INTEGER PRIMARY KEY, what TEXT);
EOF
}

# workload: the deterministic SQL run on every database.
workload() {
	local i
	cat <<'EOF'
.bail on
PRAGMA synchronous=FULL;
BEGIN;
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 600)
INSERT INTO t SELECT x, printf('key%06d', x),
	CAST(printf('%0*d', x % 3000 + 1, x) AS BLOB), x * 1.5 FROM c;
COMMIT;
EOF
	# One transaction (and one journal or WAL commit) each.
	local fmt="INSERT INTO t VALUES(%d, 'auto%d', x'%06x00ff', %d.5);\n"
	for i in $(seq 601 900); do
		# shellcheck disable=SC2059
		printf "$fmt" "$i" "$i" "$i" "$i"
	done
	cat <<'EOF'
BEGIN;
WITH RECURSIVE c(x) AS (SELECT 901 UNION ALL SELECT x + 1 FROM c WHERE x < 1400)
INSERT INTO t SELECT x, printf('big%06d', x),
	CAST(printf('%0*d', 5000 + (x % 17) * 1000, x) AS BLOB), -x FROM c;
INSERT INTO log(what) VALUES('bulk');
COMMIT;
BEGIN;
UPDATE t SET n = n * 2, v = v || x'beef' WHERE id % 3 = 0;
DELETE FROM t WHERE id % 10 = 7;
COMMIT;
BEGIN;
DELETE FROM t;
INSERT INTO log(what) VALUES('rolled back');
ROLLBACK;
SAVEPOINT a;
INSERT INTO log(what) VALUES('kept');
SAVEPOINT b;
DELETE FROM t WHERE id < 1000;
ROLLBACK TO b;
RELEASE a;
CREATE TABLE u AS SELECT id, length(v) AS len, k FROM t WHERE id % 2 = 0;
DELETE FROM t WHERE id BETWEEN 100 AND 400;
VACUUM;
PRAGMA integrity_check;
EOF
}

# checksum DB: a digest of everything in DB.
checksum() {
	local out
	out=$(sqlite3 "$1" "SELECT id, k, hex(v), n FROM t ORDER BY id;
		SELECT * FROM u ORDER BY id; SELECT * FROM log ORDER BY id;") ||
		t_fail "reading $1"
	[ "$(printf '%s\n' "$out" | wc -l)" -gt 1000 ] ||
		t_fail "$1 has too few rows"
	printf '%s\n' "$out" | sha256sum | cut -d' ' -f1
}

integrity() {
	local r
	r=$(sqlite3 "$1" 'PRAGMA integrity_check;') ||
		t_fail "integrity_check of $1 ($2) did not run"
	[ "$r" = ok ] || t_fail "integrity_check of $1 ($2): $r"
}

# reader DB STOP: read DB in a loop until file STOP exists (60 s at
# most); any error ends it with status 1.
reader() {
	local n=0
	while [ ! -e "$2" ] && [ $n -lt 600 ]; do
		sqlite3 -cmd '.timeout 20000' "$1" \
			'SELECT count(*), sum(length(v)) FROM t;' >/dev/null ||
			return 1
		n=$((n + 1))
	done
}

# run_db DB MODE: schema and workload on DB, with a reader alongside.
run_db() {
	local db=$1 mode=$2 out rpid rc=0
	out=$(schema "$mode" | sqlite3 "$db") || t_fail "schema on $db"
	[ "$out" = "$mode" ] ||
		t_fail "journal_mode=$mode on $db answered \"$out\""
	rm -f "$T/stop"
	reader "$db" "$T/stop" 2>"$T/reader.out" &
	rpid=$!
	out=$(workload | timeout -k 10 300 sqlite3 -cmd '.timeout 20000' \
		"$db" 2>&1) || rc=$?
	touch "$T/stop"
	wait $rpid || t_fail "concurrent reader of $db failed:" \
		"$(head -n 3 "$T/reader.out")"
	[ $rc = 0 ] || t_fail "workload on $db failed ($rc): $out"
	[ "$out" = ok ] || t_fail "workload on $db: integrity_check: $out"
	[ ! -e "$db-journal" ] || t_fail "$db-journal left after the workload"
	# The workload and the last reader may close at the same moment,
	# each seeing the other still there: then neither checkpoints (on
	# any file system).  A connection that closes alone does.
	sqlite3 "$db" 'SELECT count(*) FROM t;' >/dev/null ||
		t_fail "reading $db after the workload"
	[ ! -s "$db-wal" ] || t_fail "$db-wal not checkpointed at close"
}

declare -A ref=()
mkdir "$T/ref"
for m in delete wal; do
	run_db "$T/ref/$m.db" "$m"
	ref[$m]=$(checksum "$T/ref/$m.db")
done

fs_mount
fs_history
fs_snapshot_ids >"$T/snapshots.before"
for m in delete wal; do
	run_db "$MNT/$m.db" "$m"
	integrity "$MNT/$m.db" "$m, just written"
	[ "$(checksum "$MNT/$m.db")" = "${ref[$m]}" ] ||
		t_fail "$m database in the mount differs from the local one"
done
cmp "$T/ref/delete.db" "$MNT/delete.db" ||
	t_fail "delete.db differs byte for byte from the local one"

fs_remount
for m in delete wal; do
	integrity "$MNT/$m.db" "$m, after remount"
	[ "$(checksum "$MNT/$m.db")" = "${ref[$m]}" ] ||
		t_fail "$m database differs after remount"
	[ "$(sqlite3 "$MNT/$m.db" 'PRAGMA journal_mode;')" = "$m" ] ||
		t_fail "$m database lost its journal mode"
done
# And it is still writable.
sqlite3 "$MNT/wal.db" "INSERT INTO log(what) VALUES('after remount');" ||
	t_fail "insert after remount"
integrity "$MNT/wal.db" "wal, written after remount"

if fs_has_snapshots; then
	fs_history
	id=$(fs_new_snapshot "$T/snapshots.before")
	for m in delete wal; do
		uri="file:$SNAPS/$id/$m.db?immutable=1"
		integrity "$uri" "$m, in the snapshot"
		[ "$(checksum "$uri")" = "${ref[$m]}" ] ||
			t_fail "$m database in the snapshot differs"
	done
else
	t_log "ext4 mode: no snapshot checks (see FS_TEST_SNAPSHOTS)"
fi
fs_umount
t_log "ok"
