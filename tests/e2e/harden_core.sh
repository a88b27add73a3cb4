#!/bin/bash
# harden_core.sh -- no Beemo program leaves a core dump: SIGABRT of
# `beemofs -f` holding a known plaintext (content and name written and
# read back through the mount), and of beemoctl and beemo-sync, started
# with `ulimit -c unlimited`, leaves no core file and no marker in any
# file where cores go.
#
# Cores go to the crashing process's directory when core_pattern is a
# relative name (the kernel's default "core"); otherwise core_pattern is
# pointed at this test's directory for the test and restored at exit.
# A control process (bash, killed the same way) must leave a core holding
# its marker, so that the test cannot pass on a machine that writes no
# cores at all.
. "$(dirname "$0")/lib.sh"

PATTERN_FILE=/proc/sys/kernel/core_pattern
pattern=$(cat "$PATTERN_FILE")
saved_pattern=""
restore_pattern() {
	local rc=$?
	[ -z "$saved_pattern" ] || printf '%s\n' "$saved_pattern" \
		>"$PATTERN_FILE" 2>/dev/null || true
	(exit $rc)
	t_cleanup
}
trap restore_pattern EXIT
case "$pattern" in
/* | "|"*)
	mkdir -p "$T/cores"
	printf '%s\n' "$T/cores/core.%p" >"$PATTERN_FILE" 2>/dev/null ||
		t_skip "core_pattern is '$pattern' and cannot be changed"
	saved_pattern=$pattern
	;;
esac
mkdir -p "$T/cores"
MARK="beemo-core-marker-$RANDOM$RANDOM$RANDOM"

# cores DIR: the files a crash left in DIR (or in $T/cores when
# core_pattern was changed).
cores() {
	find "$1" "$T/cores" -maxdepth 1 -type f -name 'core*' 2>/dev/null |
		sort -u
}

# Control: a process without protection leaves a core with its marker.
mkdir -p "$T/cores/control"
{ (cd "$T/cores/control" && ulimit -c unlimited &&
	exec bash -c "kill -ABRT \$\$; : $MARK-control"); } 2>/dev/null || true
c=$(cores "$T/cores/control")
[ -n "$c" ] || t_skip "this machine writes no core files" \
	"(core_pattern '$pattern')"
grep -qa "$MARK-control" $c || t_fail "the control core lacks its marker"
rm -f $c

t_appliance

# crash DIR PID WHAT [MNT]: SIGABRT the process PID (cwd DIR), which
# must have no core limit, detach its mount MNT, and check that it left
# no core.
crash() {
	local dir=$1 pid=$2 what=$3 mnt=${4:-} left limit
	limit=$(grep '^Max core file size' "/proc/$pid/limits")
	kill -ABRT "$pid"
	wait "$pid" 2>/dev/null || true
	if [ -n "$mnt" ]; then
		fusermount3 -u -z "$mnt" 2>/dev/null || umount -l "$mnt"
	fi
	left=$(cores "$dir")
	if [ -n "$left" ]; then
		grep -qa "$MARK" $left && t_fail "$what: a core holds plaintext"
		t_fail "$what: left a core: $left"
	fi
	grep -rqa "$MARK" "$T/cores" && t_fail "$what: plaintext in $T/cores"
	[[ $limit =~ ^Max\ core\ file\ size\ +0\ +0\  ]] ||
		t_fail "$what: core size limit is not 0: $limit"
	t_log "$what: no core"
}

# beemofs -f, started as an administrator would from a shell.
MNT=$T/mnt
mkdir -p "$MNT" "$T/cores/fs"
(cd "$T/cores/fs" && ulimit -c unlimited &&
	exec "$BEEMOFS" "$T/store" "$MNT" -f \
		-o "machine=pc1,keyfile=$T/pc1.poste") >>"$T/beemofs.log" 2>&1 &
T_MOUNT_PID[$MNT]=$!
T_PIDS+=($!)
T_MOUNTS+=("$MNT")
t_wait_mounted "$MNT" || t_fail "beemofs did not mount"
python3 - "$MNT" "$MARK" <<'PY'
import os, sys
mnt, mark = sys.argv[1], sys.argv[2]
data = (f"{mark}-content ".encode() * 4096)[:1 << 20]
path = f"{mnt}/{mark}-name.txt"
with open(path, "wb") as f:
    f.write(data)
with open(path, "rb") as f:
    assert f.read() == data
PY
pid=${T_MOUNT_PID[$MNT]}
unset "T_MOUNT_PID[$MNT]"
crash "$T/cores/fs" "$pid" beemofs "$MNT"

# beemoctl and beemo-sync, stopped while they open their configuration
# (a FIFO nobody writes): after bm_nodump, before any work.
mkfifo "$T/conf.fifo"
for prog in "$BEEMOCTL" "$BEEMO_SYNC"; do
	name=$(basename "$prog")
	mkdir -p "$T/cores/$name"
	(cd "$T/cores/$name" && ulimit -c unlimited &&
		exec "$prog" -c "$T/conf.fifo" status "$MARK") 2>/dev/null &
	pid=$!
	T_PIDS+=($pid)
	t_wait_for 10 eval '[ "$(readlink "/proc/$pid/exe")" = "$prog" ] &&
		grep -q "^State:.*S (sleeping)" "/proc/$pid/status"' ||
		t_fail "$name did not start"
	crash "$T/cores/$name" "$pid" "$name"
done
t_log "ok"
