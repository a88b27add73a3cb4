#!/bin/bash
# sync_lock.sh -- two runs never overlap (the second exits with status 3
# naming the first's pid), and a run killed with SIGKILL leaves no stale
# lock: the next push proceeds and completes the copy.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd_lib.sh"

sshd_require
sshd_start a
sync_config a
t_appliance
sync_fake_packs pc1 20 2000000
L="$T/store/sync/lock"

t_expect_log 'error: another beemo-sync is running \(pid [0-9]+, lock '
"$BEEMO_SYNC" push --bwlimit 4M >"$T/slow.out" 2>"$T/slow.err" &
pid=$!
t_wait_for 15 eval '[ "$(cat "$L" 2>/dev/null)" = "$pid" ]' ||
	t_fail "lock file does not hold the pid"
rc=0
sync_run second push || rc=$?
[ $rc = 3 ] || t_fail "second push exited $rc, expected 3"
grep -q "another beemo-sync is running (pid $pid, lock $L)" "$T/second.err" ||
	t_fail "message: $(cat "$T/second.err")"
rc=0
sync_run verify verify || rc=$?
[ $rc = 3 ] || t_fail "verify during a push exited $rc, expected 3"

kill -KILL $pid
wait $pid 2>/dev/null || true
sync_run third push || t_fail "push after kill -9: $(cat "$T/third.err")"
sync_run verify2 verify --read-data || t_fail "verify after resume"
t_log "ok"
