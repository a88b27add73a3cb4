#!/bin/bash
# attack_session_drip.sh -- a client that sends its request a byte now
# and then (here one a second, a line of up to 4 KiB allowed) keeps a
# root process of the daemon: the request has 60 s in all, not 60 s
# for each byte, and is refused once they have passed.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/attack_session_lib.sh"

as_setup
coproc D { "$T/rsh" host restore; }
DP=$D_PID
exec {DW}>&"${D[1]}" {DR}<&"${D[0]}"
printf 'USER ' >&"$DW"
start=$SECONDS
line=
while [ $((SECONDS - start)) -lt 80 ]; do
	printf 'a' >&"$DW" 2>/dev/null || break
	if IFS= read -r -t 1 line <&"$DR"; then
		break
	fi
done
t=$((SECONDS - start))
exec {DW}>&- {DR}<&-
wait "$DP" || true
t_log "answer after $t s: $line"
case "$line" in
"ERR 2 "*) ;;
*) t_fail "a request sent a byte a second was still read after $t s" ;;
esac
[ $t -le 70 ] || t_fail "the request was refused only after $t s"
t_log "ok"
