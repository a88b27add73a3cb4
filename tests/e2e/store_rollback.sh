#!/bin/bash
# store_rollback.sh -- an index older than the packs is refused, and
# rebuild-index repairs it:
#   - a copy of index/ is kept after snapshot 2; snapshot 3 closes a pack;
#     the old index is put back;
#   - beemofs refuses to mount, naming the pack the index does not know
#     and `beemoctl rebuild-index pc1`; `beemoctl check` fails the same
#     way; nothing in the packs was removed meanwhile;
#   - rebuild-index brings snapshot 3 back; the next session works, and a
#     second rebuild-index (which fails on a reused log sequence number)
#     and check --read-data pass after it.
. "$(dirname "$0")/lib.sh"

[ -x "$BEEMOFS" ] || t_skip "beemofs is not built"
command -v fusermount3 >/dev/null || t_skip "no fusermount3"

t_appliance
M="$T/mnt"
D="$T/store/machines/pc1"
PW=(--password-file "$T/admin.pw")

# session FILE TEXT: one backup session that writes FILE (its
# end-of-session snapshot closes the open pack).
session() {
	t_mount "$M"
	printf '%s\n' "$2" >"$M/$1"
	t_umount "$M"
}

# snapshot_count: the number of snapshots of pc1.
snapshot_count() {
	"$BEEMOCTL" snapshots pc1 --json "${PW[@]}" | python3 -c '
import json, sys
print(len(json.load(sys.stdin)["snapshots"]))'
}

session one.txt "first"
session two.txt "second"
[ "$(snapshot_count)" = 2 ] || t_fail "expected 2 snapshots"
cp -a "$D/index" "$T/index-after-2"
session three.txt "third"
[ "$(snapshot_count)" = 3 ] || t_fail "expected 3 snapshots"
ls "$D"/packs/*/*.pack >/dev/null || t_fail "no closed pack"

# The rollback: the index of snapshot 2 over the packs of snapshot 3.
rm -rf "$D/index"
cp -a "$T/index-after-2" "$D/index"
(cd "$D/packs" && find . -type f | sort) >"$T/packs.list"

# beemofs refuses, naming a pack and the repair.
mkdir -p "$M"
t_expect_log 'index is older than the packs'
t_expect_log 'cannot open the store'
"$BEEMOFS" "$T/store" "$M" -f -o "machine=pc1,keyfile=$T/pc1.poste" \
	>"$T/refused.log" 2>&1 &
pid=$!
T_PIDS+=($pid)
T_MOUNTS+=("$M")
t_wait_for 30 eval '! t_running "$pid" || mountpoint -q "$M"' ||
	t_fail "beemofs neither mounted nor exited within 30 s"
mountpoint -q "$M" && t_fail "beemofs mounted a rolled-back store"
wait "$pid" && t_fail "beemofs exited with status 0"
grep -q 'pack [0-9a-f]\{16\}' "$T/refused.log" ||
	t_fail "beemofs did not name the pack: $(cat "$T/refused.log")"
grep -q 'beemoctl rebuild-index pc1' "$T/refused.log" ||
	t_fail "beemofs did not name the repair: $(cat "$T/refused.log")"

# check fails with the same repair.
if "$BEEMOCTL" check pc1 "${PW[@]}" >"$T/check.out" 2>&1; then
	t_fail "check passed on a rolled-back index: $(cat "$T/check.out")"
fi
grep -q 'beemoctl rebuild-index pc1' "$T/check.out" ||
	t_fail "check did not name the repair: $(cat "$T/check.out")"

# Nothing in the packs was touched by the refused opens.
(cd "$D/packs" && find . -type f | sort) | cmp -s - "$T/packs.list" ||
	t_fail "the refused opens changed the packs"

# The repair: snapshot 3 is back with its file.
"$BEEMOCTL" rebuild-index pc1 "${PW[@]}" >/dev/null ||
	t_fail "rebuild-index"
[ "$(snapshot_count)" = 3 ] || t_fail "snapshot 3 did not come back"
"$BEEMOCTL" restore pc1 latest --target "$T/r3" "${PW[@]}" >/dev/null ||
	t_fail "restore after rebuild-index"
[ "$(cat "$T/r3/three.txt")" = third ] || t_fail "three.txt lost"

# The next session works and reuses no log sequence number: the index
# rebuilds again from the packs alone.
session four.txt "fourth"
[ "$(snapshot_count)" = 4 ] || t_fail "expected 4 snapshots"
"$BEEMOCTL" rebuild-index pc1 "${PW[@]}" >/dev/null ||
	t_fail "rebuild-index after the next session"
"$BEEMOCTL" check pc1 --read-data "${PW[@]}" >"$T/check2.out" 2>&1 ||
	t_fail "check after the repair: $(cat "$T/check2.out")"
"$BEEMOCTL" restore pc1 latest --target "$T/r4" "${PW[@]}" >/dev/null ||
	t_fail "restore latest"
for f in one two three four; do
	[ -f "$T/r4/$f.txt" ] || t_fail "$f.txt missing from the last snapshot"
done
t_log "ok"
