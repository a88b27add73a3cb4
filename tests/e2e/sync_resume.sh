#!/bin/bash
# sync_resume.sh -- the storage center dies in the middle of a push of
# many large objects; after it restarts, the next push completes and the
# copy is consistent (verify --read-data), with no temporary left and
# the interrupted push having published no manifest.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd_lib.sh"

sshd_require
sshd_start a
sync_config a
t_appliance
sync_fake_packs pc1 40 4000000
R="$T/center_a/beemo"

t_expect_log 'error: target a: connection lost during'
t_expect_log 'error: target a: cannot connect to 127.0.0.1'
t_expect_log 'warning: target a: continuing with fewer connections'
t_expect_log 'error: target a: [0-9]+ objects were not transferred'
t_expect_log 'error: push failed for target: a'
# Slow enough (20 MiB/s for 160 MB) to be cut in the middle.
"$BEEMO_SYNC" push --bwlimit 20M >"$T/push1.out" 2>"$T/push1.err" &
pid=$!
uploaded() {
	n=$(find "$R/machines" -name '[0-9a-f]*.pack' 2>/dev/null | wc -l || true)
	[ "$n" -ge 5 ]
}
t_wait_for 30 uploaded || t_fail "push did not start uploading"
sshd_kill a
rc=0
timeout 60 tail --pid=$pid -f /dev/null || t_fail "push hangs after the kill"
wait $pid || rc=$?
cat "$T/push1.err" >>"$T/sync.log"
[ $rc = 1 ] || t_fail "interrupted push exited $rc, expected 1"
grep -q "push failed for target: a" "$T/push1.err" ||
	t_fail "no failure line: $(cat "$T/push1.err")"
[ -z "$(ls -A "$R/manifests" 2>/dev/null)" ] ||
	t_fail "an interrupted push published a manifest"
n=$(find "$R/machines" -name '[0-9a-f]*.pack' | wc -l)
[ "$n" -lt 40 ] || t_fail "the push was not interrupted ($n packs)"
t_log "interrupted after $n of 40 packs"

sshd_start a
sync_run push2 push || t_fail "resumed push failed: $(cat "$T/push2.err")"
# The missing packs, store.id, 2 key files, config, status, manifest.
sent=$(sed -n 's/^a: sent \([0-9]*\) objects.*/\1/p' "$T/push2.out")
[ -n "$sent" ] && [ "$sent" -le $((40 - n + 6)) ] ||
	t_fail "resumed push re-sent complete objects: $(cat "$T/push2.out")"
find "$R" -name '.tmp-*' | grep . && t_fail "temporaries left behind"
[ "$(find "$R/machines" -name '[0-9a-f]*.pack' | wc -l)" = 40 ] ||
	t_fail "not every pack is on the center"
sync_run verify verify --read-data ||
	t_fail "verify --read-data after resume: $(cat "$T/verify.err")"
t_log "ok"
