#!/bin/bash
# session_drop.sh -- the client's connection cut in the middle of rsync
# (its ssh killed while a big file transfers over a slowed link):
#   - beemo-backup fails (exit 1), and the appliance ends the session
#     itself, keeping an incomplete snapshot whose note says so;
#   - the previous complete snapshot is intact (restored byte-exact);
#   - retention's "newest complete" snapshot is still the previous one
#     (`beemoctl forget --dry-run --json`: reason "newest"), and
#     `beemoctl snapshots --json` says which ones are complete;
#   - a new backup after that works and is complete.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd_lib.sh"
. "$(dirname "$0")/netns_lib.sh"

netns_require
netns_setup 1
M=${NS_M[1]}
D="${NS_DIR[1]}/data"
mkdir -p "$D"
for i in $(seq 1 20); do echo "file $i" >"$D/f$i"; done
netns_backup 1 b1 "$D" || t_fail "first backup: exit $? ($(cat "$T/b1.err"))"
netns_tree "$D" >"$T/tree1"

# ---- the cut: 40 MB at 40 Mbit/s takes 8 s; cut after the first MB
echo "changed" >>"$D/f1"
head -c 40000000 /dev/urandom >"$D/big.bin"
netns_in 1 tc qdisc add dev "bm$$c1" root tbf rate 40mbit burst 64kb \
	latency 400ms || t_fail "tc qdisc (slow link)"
netns_backup 1 cut "$D" &
bpid=$!
# rsync_read: true once an rsync of the appliance has read a MB.
rsync_read() {
	local p r
	for p in $(ip netns pids "$NS_APP"); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = rsync ] || continue
		r=$(awk '/^rchar/ { print $2 }' "/proc/$p/io" 2>/dev/null)
		[ "${r:-0}" -gt 1000000 ] && return 0
	done
	return 1
}
t_wait_for 30 rsync_read || t_fail "no rsync transfer seen on the appliance"
for p in $(ip netns pids "${NS_CLI[1]}"); do
	# (killing the master ends the other ssh: it may be gone already)
	if [ "$(cat "/proc/$p/comm" 2>/dev/null)" = ssh ]; then
		kill -9 "$p" 2>/dev/null || true
	fi
done
rc=0
wait "$bpid" || rc=$?
[ $rc = 1 ] || t_fail "beemo-backup with its connection cut: exit $rc, not 1 ($(cat "$T/cut.err"))"
netns_in 1 tc qdisc del dev "bm$$c1" root

t_wait_for 30 eval '[ "$(netns_snapshots 1 | wc -l)" = 2 ]' ||
	t_fail "no snapshot after the cut: $(netns_snapshots 1)"
netns_snapshots 1 >"$T/snaps"
[ "$(sed -n 1p "$T/snaps")" = "1	end of backup session" ] ||
	t_fail "snapshot 1: $(sed -n 1p "$T/snaps")"
grep -q '^2	incomplete' "$T/snaps" ||
	t_fail "the snapshot after a cut is not marked incomplete: $(sed -n 2p "$T/snaps")"
[ "$(netns_complete 1)" = 1 ] ||
	t_fail "complete snapshots (snapshots --json) after the cut: $(netns_complete 1), not 1"
netns_restore 1 1 "$T/r1"
netns_tree "$T/r1$D" | diff "$T/tree1" - >&2 ||
	t_fail "snapshot 1 is not intact after the cut"
"$BEEMOCTL" forget "$M" --keep-last 1 --min-age 0d --dry-run --json \
	--password-file "$T/admin.pw" >"$T/forget.json" ||
	t_fail "forget --dry-run: $(cat "$T/forget.json")"
newest=$(netns_json "$T/forget.json" \
	'[s["id"] for s in j["snapshots"] if "newest" in s["reasons"]]')
[ "$newest" = "[1]" ] ||
	t_fail "retention's newest complete snapshot: $newest, not [1] ($(cat "$T/forget.json"))"

# ---- a new backup works
netns_backup 1 b3 "$D" || t_fail "backup after the cut: exit $? ($(cat "$T/b3.err"))"
netns_tree "$D" >"$T/tree3"
[ "$(netns_snapshots 1 | sed -n 3p)" = "3	end of backup session" ] ||
	t_fail "after a new backup: $(netns_snapshots 1)"
[ "$(netns_complete 1)" = "1 3" ] ||
	t_fail "complete snapshots after a new backup: $(netns_complete 1)"
netns_restore 1 3 "$T/r3"
netns_tree "$T/r3$D" | diff "$T/tree3" - >&2 || t_fail "snapshot 3 differs"
"$BEEMOCTL" forget "$M" --keep-last 1 --min-age 0d --dry-run --json \
	--password-file "$T/admin.pw" >"$T/forget.json"
[ "$(netns_json "$T/forget.json" \
	'[s["id"] for s in j["snapshots"] if "newest" in s["reasons"]]')" = "[3]" ] ||
	t_fail "newest complete after a new backup: $(cat "$T/forget.json")"
