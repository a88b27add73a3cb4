#!/bin/bash
# prune_session.sh -- prune and a backup session:
#   - with a session mounted and writing, `beemoctl prune --no-wait`
#     exits 3 at once and says why;
#   - `beemoctl prune` waits, saying once "waiting for the backup session
#     of pc1 to end (beemoctl prune --no-wait to give up)", while the
#     session goes on writing; when the session ends, prune runs and
#     reclaims the space of the forgotten snapshot;
#   - everything the session wrote is in the live tree and in the
#     session's last snapshot, byte-exact; check --read-data is clean;
#   - `beemoctl status` shows the machine's stored and reclaimable bytes.
. "$(dirname "$0")/lib.sh"

MNT="$T/mnt"
PW=(--password-file "$T/admin.pw")
t_appliance
t_mount "$MNT"
mkdir -p "$MNT/old" "$T/ref"
for i in 1 2 3 4; do
	head -c 1M /dev/urandom >"$MNT/old/o$i"
done
sync -f "$MNT"
"$BEEMOCTL" snapshot pc1 >/dev/null || t_fail "snapshot"
rm -r "$MNT/old"
"$BEEMOCTL" snapshot pc1 >/dev/null || t_fail "snapshot 2"
# Snapshot 1 alone holds old/: forgetting it needs the store, so the
# session ends and a new one starts.
t_umount "$MNT"
"$BEEMO_PRUNE_FORGET" "$T/store" pc1 "$T/admin.pw" 1 || t_fail "forget"
t_mount "$MNT"

# The session writes while prune is asked for.
writer() {
	local i
	for i in $(seq 1 40); do
		head -c 64K /dev/urandom >"$T/ref/w$i"
		cp "$T/ref/w$i" "$MNT/w$i"
		sleep 0.05
	done
}
writer &
WPID=$!
rc=0
"$BEEMOCTL" prune pc1 --no-wait "${PW[@]}" >"$T/nowait.out" 2>&1 || rc=$?
[ $rc = 3 ] || t_fail "prune --no-wait exited $rc: $(cat "$T/nowait.out")"
grep -q "backup session" "$T/nowait.out" ||
	t_fail "prune --no-wait said: $(cat "$T/nowait.out")"

"$BEEMOCTL" prune pc1 --json "${PW[@]}" >"$T/prune.json" 2>"$T/prune.err" &
PPID_=$!
t_wait_for 20 grep -q "waiting for the backup session of pc1 to end" \
	"$T/prune.err" || t_fail "prune did not say it waits"
t_running "$PPID_" || t_fail "prune did not wait"
wait "$WPID" || t_fail "the session's writes failed"
t_running "$PPID_" || t_fail "prune ended while the session ran"
[ "$(grep -c waiting "$T/prune.err")" = 1 ] ||
	t_fail "the waiting message more than once"
t_umount "$MNT"
wait "$PPID_" || t_fail "prune after the session: $(cat "$T/prune.err")"
"$BEEMOCTL" status --json >"$T/status.json" || t_fail "status"
"$BEEMOCTL" status >"$T/status.txt" || t_fail "status"
grep -q "reclaimable .* (as of " "$T/status.txt" ||
	t_fail "status: $(cat "$T/status.txt")"
python3 - "$T/prune.json" "$T/status.json" <<'PY' ||
import json, sys
d = json.load(open(sys.argv[1]))
assert d["freed"] >= (4 << 20) * 95 // 100, d
s = json.load(open(sys.argv[2]))
m = [m for m in s["machines"] if m["name"] == "pc1"][0]
# The status is the store's after the prune (and its journal's commit).
assert abs(m["stored"] - d["stored_after"]) < 65536, (m, d)
assert m["reclaimable"] == d["reclaimable_after"], (m, d)
assert m["reclaimable_time"], m
PY
	t_fail "figures: $(cat "$T/prune.json") $(cat "$T/status.json")"

R="$T/ro"
t_mount_session "$R" "machine=pc1,user=alice,passfile=$T/alice.pw"
last=$(ls "$R/.snapshots" | sort -n | tail -1)
for i in $(seq 1 40); do
	cmp -s "$T/ref/w$i" "$R/.snapshots/$last/w$i" ||
		t_fail "w$i differs in snapshot $last"
done
t_umount "$R"
"$BEEMOCTL" check pc1 --read-data "${PW[@]}" >"$T/check.out" ||
	t_fail "check: $(cat "$T/check.out")"
t_log "ok"
