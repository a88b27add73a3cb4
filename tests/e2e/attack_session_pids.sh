#!/bin/bash
# attack_session_pids.sh -- when a client's connection is lost, the
# daemon stops the rsync daemons still serving its session, by process
# group.  An rsync that ended long before has its process number taken
# by another process (the client can make the numbers go round with
# many short rsyncs): that process, here a process group leader given
# the number on purpose, must not be killed; the rsync still running
# must.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/attack_session_lib.sh"

[ -w /proc/sys/kernel/ns_last_pid ] || t_skip "ns_last_pid is not writable"
as_setup
mkdir -p "$T/src/d"
echo hello >"$T/src/d/a"
as_open
(cd "$T" && as_rsync -aR src/d) || t_fail "rsync"
P=$(head -1 "$T/run/$AS_M/rsync.pids" | cut -d' ' -f1)
[ -n "$P" ] && ! kill -0 "$P" 2>/dev/null || t_fail "no ended rsync: $P"

# A process group leader numbered P (another machine's rsync, a beemofs).
V=
for i in 1 2 3 4 5 6 7 8 9 10; do
	echo $((P - 1)) >/proc/sys/kernel/ns_last_pid
	setsid sleep 300 {AS_IN}<&- {AS_OUT}>&- &
	if [ $! = "$P" ]; then
		V=$!
		break
	fi
	kill $!
	wait $! 2>/dev/null || true
done
[ -n "$V" ] || t_skip "could not get process number $P"
T_PIDS+=("$V")
t_wait_for 5 eval '[ "$(ps -o pgid= -p $V | tr -d " ")" = "$V" ]' ||
	t_fail "the victim leads no process group"

# An rsync still running when the connection is lost: stopped.
head -c 2M /dev/urandom >"$T/src/d/big"
cd "$T"
as_bg as_rsync -aR --bwlimit=20 src/d/big >/dev/null 2>&1
SLOW=$!
T_PIDS+=("$SLOW")
t_wait_for 10 eval '[ "$(wc -l <"$T/run/$AS_M/rsync.pids")" = 2 ]' ||
	t_fail "the slow rsync did not start"

# The client's connection is lost: the session ends incomplete.
fd=${AS[1]}
exec {fd}>&- {AS_OUT}>&-
IFS= read -r -t 60 AS_LINE <&"$AS_IN" || t_fail "no end of session"
wait "$AS_P" || true
case "$AS_LINE" in
*'"complete":false'*) ;;
*) t_fail "a lost session: $AS_LINE" ;;
esac
t_running "$V" || t_fail "the lost session killed process group $V"
t_wait_for 10 eval '! t_running $SLOW' ||
	t_fail "the rsync of the lost session still runs"
t_log "ok"
