#!/bin/bash
# attack_session_hold.sh -- a client ends its session (END) while it
# holds an rsync it started before, stalled before rsync's daemon has
# even entered the session's tree.  The session must still end, with
# its snapshot, within seconds of the daemon's grace period (30 s), and
# the machine's next session open: a client cannot keep its machine's
# session, and so the next one, busy forever.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/attack_session_lib.sh"

as_setup
mkdir -p "$T/src/d"
echo hello >"$T/src/d/a"
# A remote shell that passes nothing of the client's (for 100 s).
cat >"$T/holdrsh" <<EOF2
#!/bin/bash
exec $T/rsh "\$@" < <(for i in \$(seq 2000); do
	[ -e $T/go ] && exec cat; sleep 0.05; done)
EOF2
chmod 755 "$T/holdrsh"
as_open
cd "$T"
as_bg rsync -e "$T/holdrsh" -aR src/d host::session/ >"$T/hold.out" 2>&1
HOLD=$!
T_PIDS+=("$HOLD")
t_wait_for 10 pgrep -f "config=$T/run/$AS_M/rsyncd.conf" >/dev/null ||
	t_fail "rsync's daemon did not start: $(cat "$T/hold.out")"
start=$SECONDS
echo END >&"$AS_OUT"
IFS= read -r -t 50 AS_LINE <&"$AS_IN" ||
	t_fail "the session did not end while the client holds an rsync"
t_log "ended after $((SECONDS - start)) s: $AS_LINE"
case "$AS_LINE" in
OK*'"snapshot":'[0-9]*) ;;
*) t_fail "the session's end: $AS_LINE" ;;
esac
wait "$AS_P" || true
exec {AS_IN}<&- {AS_OUT}>&-
AS_IN= AS_OUT=
# The next session opens.
as_open
as_end
[ "$AS_RC" = 0 ] || t_fail "the next session: $AS_LINE"
touch "$T/go"
t_log "ok"
