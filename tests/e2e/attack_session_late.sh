#!/bin/bash
# attack_session_late.sh -- an rsync that the client starts while its
# session is open, then holds before rsync's daemon enters the session's
# tree (it chroots once it knows the module), while the client ends the
# session.  When it goes on, the session's tree is unmounted: rsync must
# not write into the bare mount point under the run directory (/run, in
# memory, outside any quota and any snapshot), only into the session's
# tree, which its end waits for.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/attack_session_lib.sh"

as_setup
mkdir -p "$T/src/d"
echo hello >"$T/src/d/a"
as_slowrsh

as_open
cd "$T"
as_bg rsync -e "$T/slowrsh" -aR src/d host::session/ >"$T/late.out" 2>&1
LATE=$!
T_PIDS+=("$LATE")
# rsync's daemon runs (the session was open when it started)...
t_wait_for 10 pgrep -f "config=$T/run/$AS_M/rsyncd.conf" >/dev/null ||
	t_fail "rsync's daemon did not start"
# ...and the client ends the session: its tree is unmounted.
echo END >&"$AS_OUT"
t_wait_for 30 eval '! mountpoint -q "$T/run/$AS_M/mnt"' ||
	t_fail "the session is still mounted"
touch "$T/go"
t_wait_for 30 eval '! t_running $LATE' || t_fail "the late rsync hangs"
rc=0
wait "$LATE" || rc=$?
t_log "late rsync: status $rc: $(tail -1 "$T/late.out")"
IFS= read -r -t 60 AS_LINE <&"$AS_IN" || t_fail "no answer to END"
wait "$AS_P" || t_fail "session: $AS_LINE"
left=$(find "$T/run/$AS_M/mnt" -mindepth 1 | head -5)
[ -z "$left" ] || t_fail "the late rsync (status $rc) wrote outside the session: $left"
# What it wrote, if anything, went to the session's tree (the attack is
# writing elsewhere): whether the session's snapshot has it depends on
# which came first, the end of the session or the late rsync.
n=$("$BEEMOCTL" snapshots "$AS_M" --json --password-file "$T/admin.pw" |
	/usr/bin/python3 -c 'import json, sys
s = json.load(sys.stdin)["snapshots"]
print(s[-1]["files"] if s else 0)')
t_log "late rsync: status $rc, the session's snapshot holds $n files"
t_log "ok"
