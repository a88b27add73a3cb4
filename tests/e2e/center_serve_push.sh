#!/bin/bash
# center_serve_push.sh -- beemo-sync pushes through beemo-center serve
# (the forced command of the appliance's key), verify --read-data checks
# the copy; a push cut off in the middle (the center's sshd killed) is
# resumed by the next one, and serve.log counts what was accepted.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd_lib.sh"
. "$(dirname "$0")/center_lib.sh"

sshd_require
center_start a
A="$T/area_a"
mapfile -t conf < <(center_target_conf a)
t_config "[sync]" "timeout = 20s" "connections = 2" "${conf[@]}"
t_appliance
sync_fake_packs pc1 30 4000000

t_expect_log 'error: target a: connection lost during'
t_expect_log 'error: target a: cannot connect to 127.0.0.1'
t_expect_log 'warning: target a: continuing with fewer connections'
t_expect_log 'error: target a: [0-9]+ objects were not transferred'
t_expect_log 'error: push failed for target: a'
"$BEEMO_SYNC" push --bwlimit 20M >"$T/push1.out" 2>"$T/push1.err" &
pid=$!
uploaded() {
	n=$(find "$A/data/machines" -name '[0-9a-f]*.pack' 2>/dev/null |
		wc -l || true)
	[ "$n" -ge 5 ]
}
t_wait_for 30 uploaded || t_fail "push did not start uploading"
sshd_kill a
timeout 60 tail --pid=$pid -f /dev/null || t_fail "push hangs after the kill"
rc=0
wait $pid || rc=$?
cat "$T/push1.err" >>"$T/sync.log"
[ $rc = 1 ] || t_fail "interrupted push exited $rc, expected 1"
n=$(find "$A/data/machines" -name '[0-9a-f]*.pack' | wc -l)
[ "$n" -lt 30 ] || t_fail "the push was not interrupted ($n packs)"
t_log "interrupted after $n of 30 packs"

center_start a
sync_run push2 push || t_fail "resumed push failed: $(cat "$T/push2.err")"
[ "$(find "$A/data/machines" -name '[0-9a-f]*.pack' | wc -l)" = 30 ] ||
	t_fail "not every pack is on the center"
find "$A/data" -name '.tmp-*' | grep . && t_fail "temporaries left behind"
[ -n "$(ls "$A/data/manifests")" ] || t_fail "no manifest accepted"
sync_run verify verify --read-data ||
	t_fail "verify --read-data: $(cat "$T/verify.err")"
# The packs the resumed push sent were accepted by serve and counted
# (the sessions killed with sshd wrote no line).
acc=$(awk '{s += $4} END {print s + 0}' "$A/state/serve.log")
[ "$acc" -ge $((30 - n)) ] || t_fail "serve.log counts $acc accepted objects"
used=$(cat "$A/state/usage")
[ "$used" = "$(find "$A/data" -type f -printf '%s\n' |
	awk '{s += $1} END {print s}')" ] ||
	t_fail "usage $used is not the bytes of data/"
t_log "ok"
