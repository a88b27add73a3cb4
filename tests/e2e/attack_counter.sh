#!/bin/bash
# attack_counter.sh -- freshness after a recovery of an older state.
#
# Pushes 1, 2 and 3; the appliance is recovered with --at as it was at
# push 1 (say, before ransomware); the recovered appliance changes
# something (a user carol) and pushes.  Its push is the newest state at
# the center: a later recovery from that center must take it, not push 3
# of before, which the recovered appliance had left behind.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd_lib.sh"

sshd_require
sshd_start a
sync_config a
t_appliance
t_pw "$T/bob.pw" bob-pw
t_pw "$T/carol.pw" carol-pw
"$BEEMOCTL" user add pc1 bob --password-file "$T/admin.pw" \
	--user-password-file "$T/bob.pw" >/dev/null || t_fail "user add bob"
R="$T/center_a/beemo"
json() { python3 -c "import json,sys; m=json.load(open(sys.argv[1])); print($2)" "$1"; }
kcv() { # STORE PRINCIPAL-OPTIONS...
	local s=$1
	shift
	"$BEEMOCTL" -s "$s" key unlock pc1 "$@" 2>>"$T/kcv.err"
}
recover_to() { # NAME [OPTIONS...]: recover into $T/NAME
	local n=$1
	shift
	rm -rf "${T:?}/$n"
	sync_run "$n" recover --target a --store "$T/$n" \
		--password-file "$T/admin.pw" "$@"
}

sync_run push1 push || t_fail "push 1: $(cat "$T/push1.err")"
m1=$(cd "$R/manifests" && ls)
sleep 1.1
"$BEEMOCTL" user remove pc1 bob --yes --password-file "$T/admin.pw" >/dev/null ||
	t_fail "user remove bob"
sync_run push2 push || t_fail "push 2: $(cat "$T/push2.err")"
"$BEEMOCTL" user add pc1 dave --password-file "$T/admin.pw" \
	--user-password-file "$T/bob.pw" >/dev/null || t_fail "user add dave"
sync_run push3 push || t_fail "push 3: $(cat "$T/push3.err")"
[ "$(cat "$T/store/sync/counter")" = 3 ] || t_fail "local counter"

at=$(json "$R/manifests/$m1" '__import__("time").strftime("%Y-%m-%dT%H:%M:%SZ", __import__("time").gmtime(m["created_ns"] // 10**9 + 1))')
recover_to at --at "$at" || t_fail "recover --at: $(cat "$T/at.err")"
grep -q "(push 1)" "$T/at.out" || t_fail "--at: $(cat "$T/at.out")"
[ "$(cat "$T/at/sync/counter")" = 3 ] ||
	t_fail "counter after the --at recovery: $(cat "$T/at/sync/counter")"
grep -q "continues above push 3" "$T/at.out" || t_fail "no word of push 3"
"$BEEMOCTL" -s "$T/at" user add pc1 carol --password-file "$T/admin.pw" \
	--user-password-file "$T/carol.pw" >/dev/null || t_fail "user add carol"
sync_run push4 -s "$T/at" push ||
	t_fail "push after recovery: $(cat "$T/push4.err")"
sync_run verify4 -s "$T/at" verify
verify_rc=$?

recover_to again || t_fail "recover: $(cat "$T/again.err")"
kcv "$T/again" --user carol --password-file "$T/carol.pw" >/dev/null ||
	t_fail "recovery took a state older than the newest push (carol is" \
		"missing): $(grep 'recovering the state' "$T/again.out")"
[ $verify_rc = 0 ] || t_fail "verify: $(cat "$T/verify4.err")"
t_log "ok"
