#!/bin/bash
# snapshot_schedule.sh -- scheduled snapshots of a session that stays
# mounted ([snapshot] every and at of beemo.conf(5)): with every = 2s, a
# change is snapshotted within the period without any unmount, a period
# with no change makes none, the next change makes one again, and the
# notes say "scheduled"; a manual snapshot through the daemon resets the
# count of changes, so that the unmount right after it makes no second,
# identical snapshot; an "at" that is not a list of times refuses the
# mount with a message naming it.
. "$(dirname "$0")/lib.sh"

t_config "[snapshot]" "every = 2s" "[store]" "commit_interval = 1s"
t_appliance
M="$T/mnt"

# snaps: the snapshots of pc1 as "id note" lines (through the daemon
# while mounted, with the administrator's password otherwise).
snaps() {
	"$BEEMOCTL" snapshots pc1 --json "$@" </dev/null |
		python3 -c 'import json, sys
d = json.load(sys.stdin)
for s in d["snapshots"]:
    print(s["id"], s.get("note", ""))' || t_fail "snapshots --json"
}
# wait_count N: wait up to 15 s for N snapshots.
wait_count() {
	for _ in $(seq 150); do
		[ "$(snaps | wc -l)" -ge "$1" ] && return 0
		sleep 0.1
	done
	t_fail "no snapshot $1 after 15 s: $(snaps | tr '\n' ';')"
}

t_mount "$M"
[ "$(snaps | wc -l)" -eq 0 ] || t_fail "a snapshot before any change"
echo one >"$M/a.txt"
wait_count 1
snaps | grep -q "^1 scheduled$" || t_fail "first: $(snaps | tr '\n' ';')"
[ "$(cat "$M/a.txt")" = one ] || t_fail "the live tree changed"
# Three periods without a change: no new snapshot.
sleep 6
[ "$(snaps | wc -l)" -eq 1 ] ||
	t_fail "snapshots without a change: $(snaps | tr '\n' ';')"
echo two >"$M/b.txt"
wait_count 2
snaps | grep -q "^2 scheduled$" || t_fail "second: $(snaps | tr '\n' ';')"

# A manual snapshot, then the unmount: one snapshot, not two.
echo three >"$M/c.txt"
"$BEEMOCTL" snapshot pc1 --note manual </dev/null >/dev/null ||
	t_fail "manual snapshot"
n=$(snaps | wc -l)
t_umount "$M"
[ "$(snaps --password-file "$T/admin.pw" | wc -l)" -eq "$n" ] ||
	t_fail "the unmount after a manual snapshot made another: $(snaps --password-file "$T/admin.pw" | tr '\n' ';')"

# A bad "at" refuses the mount, naming the key.
t_config "[snapshot]" "at = 25:00"
mkdir -p "$M"
if "$BEEMOFS" "$T/store" "$M" -f -o "machine=pc1,keyfile=$T/pc1.poste" \
	>"$T/bad.out" 2>&1; then
	t_fail "mounted with at = 25:00"
fi
grep -q "at = 25:00" "$T/bad.out" || t_fail "bad at: $(cat "$T/bad.out")"
t_config "[snapshot]" "at = 02:00, 14:30"
t_mount "$M"
t_umount "$M"
