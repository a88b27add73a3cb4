#!/bin/bash
# sync_two_targets.sh -- two storage centers; one is down: the other is
# completed, the exit status is 4 (finished with warnings) and the last
# line names the failed one; the state file records both; when it is
# back, the next push completes it and leaves the first alone.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd_lib.sh"

sshd_require
sshd_start a
sshd_start b
sync_config a b
t_appliance
sync_fake_packs pc1 8 500000
sshd_kill b

t_expect_log 'error: target b: cannot connect to 127.0.0.1 port [0-9]+: Connection refused'
t_expect_log 'error: push failed for target: b'
rc=0
sync_run push1 push || rc=$?
[ $rc = 4 ] || t_fail "push with b down exited $rc, not 4"
[ "$(tail -n 1 "$T/push1.err")" = "beemo-sync: error: push failed for target: b" ] ||
	t_fail "last line: $(tail -n 1 "$T/push1.err")"
grep -q "^a: sent" "$T/push1.out" || t_fail "a was not pushed"
ls "$T"/center_a/beemo/manifests/*.json >/dev/null || t_fail "no manifest on a"
sync_run verify_a verify --target a --read-data || t_fail "verify a"
sync_run st status --json
grep -q '"name":"a".*"result":"ok"' "$T/st.out" ||
	t_fail "state of a: $(cat "$T/st.out")"
grep -q '"name":"b","last_attempt":"[^"]*",[^}]*"last_success":null,[^}]*"result":"Connection refused"' "$T/st.out" ||
	t_fail "state of b: $(cat "$T/st.out")"

sshd_start b
sync_run push2 push || t_fail "push with both up: $(cat "$T/push2.err")"
grep -q "^a: up to date" "$T/push2.out" || t_fail "a: $(cat "$T/push2.out")"
grep -q "^b: sent" "$T/push2.out" || t_fail "b: $(cat "$T/push2.out")"
sync_run verify verify --read-data || t_fail "verify both"
# Both centers hold the same objects.
(cd "$T/center_a/beemo" && find machines keys config -type f | sort) >"$T/a.list"
(cd "$T/center_b/beemo" && find machines keys config -type f | sort) >"$T/b.list"
cmp -s "$T/a.list" "$T/b.list" || t_fail "centers differ"
t_log "ok"
