#!/bin/bash
# attack_session_mounts.sh -- an rsync of a client's session runs in a
# mount namespace of its own, made while other FUSE file systems are
# mounted (another machine's session).  Its copies of them must not keep
# them alive: the other session, unmounted while this rsync waits, ends
# (its beemofs exits, its snapshot is taken) without waiting for it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/attack_session_lib.sh"

as_setup
"$BEEMOCTL" machine add other --user bob --password-file "$T/admin.pw" \
	--user-password-file "$T/alice.pw" --poste-key "$T/other.poste" \
	>/dev/null || t_fail "machine add other"
t_mount_session "$T/other" "machine=other,keyfile=$T/other.poste"
OTHER=${T_MOUNT_PID[$T/other]}
echo data >"$T/other/f"

mkdir -p "$T/src/d"
echo hello >"$T/src/d/a"
as_slowrsh
as_open
cd "$T"
as_bg rsync -e "$T/slowrsh" -aR src/d host::session/ >"$T/held.out" 2>&1
HELD=$!
T_PIDS+=("$HELD")
t_wait_for 10 pgrep -f "config=$T/run/$AS_M/rsyncd.conf" >/dev/null ||
	t_fail "rsync's daemon did not start"
sleep 0.5
fusermount3 -u "$T/other" || t_fail "fusermount3 -u $T/other"
t_wait_for 20 eval '! t_running $OTHER' ||
	t_fail "the other machine's session did not end while a client's rsync waited"
unset "T_MOUNT_PID[$T/other]"
[ "$(t_snapshot_ids other)" = 1 ] ||
	t_fail "the other machine's snapshot: $(t_snapshot_ids other)"
touch "$T/go"
t_wait_for 30 eval '! t_running $HELD' || t_fail "the held rsync hangs"
as_end
t_log "ok"
