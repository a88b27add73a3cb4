#!/bin/bash
# attack_session_disk.sh -- a thief of the appliance's disk after backup
# sessions ran: the client's key file is nowhere on it (store, run
# directory, logs), the daemon that holds key files and passwords in
# memory dumps no core, and the password of "restore" is never in a
# command line.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/attack_session_lib.sh"

as_setup
KEY="$T/$AS_M.poste"

# nodump PID WHO: no core file can be written for PID.
nodump() {
	local f
	f=$(cat "/proc/$1/coredump_filter")
	[ $((16#$f)) = 0 ] || t_fail "$2 dumps core (coredump_filter $f)"
	grep -Eq '^Max core file size +0 +0 ' "/proc/$1/limits" ||
		t_fail "$2 may dump core: $(grep '^Max core' "/proc/$1/limits")"
}
nodump "$AS_DPID" "beemo-sessiond"
# A child holding half of a key file the client is still sending.
coproc K { "$T/rsh" host snapshots; }
KP=$K_PID
exec {KW}>&"${K[1]}"
{ printf 'KEY %s\n' "$(stat -c %s "$KEY")"; head -c 100 "$KEY"; } >&"$KW"
t_wait_for 5 eval '[ -n "$(ps --ppid $AS_DPID -o pid= || true)" ]' ||
	t_fail "no child serves the request"
for p in $(ps --ppid "$AS_DPID" -o pid=); do
	nodump "$p" "the child serving a request"
done
fd=${K[1]:-}; [ -z "$fd" ] || exec {fd}>&-
exec {KW}>&-
wait "$KP" || true

# A session, then a restore stalled by a client that does not read it.
mkdir -p "$T/src/d"
echo hello >"$T/src/d/a"
head -c 4M /dev/urandom >"$T/src/d/big"
as_open
(cd "$T" && as_rsync -aR src/d) || t_fail "rsync"
as_end
[ "$AS_RC" = 0 ] || t_fail "session: $AS_LINE"
mkfifo "$T/stall"
coproc R { "$T/rsh" host restore >"$T/stall"; }
RP=$R_PID
exec {RW}>&"${R[1]}"
exec {STALL}<"$T/stall"
printf 'USER alice\nPASS 8\nalice-pwSNAP latest\nPATH /src/d\n' >&"$RW"
t_wait_for 10 eval 'pgrep -f "beemoctl.* export" >/dev/null' ||
	t_fail "no beemoctl export"
for p in $(pgrep -f "beemoctl.* export"); do
	nodump "$p" "beemoctl export"
done
for f in /proc/[0-9]*/cmdline /proc/[0-9]*/environ; do
	{ tr '\0' ' ' <"$f" >"$T/proc.txt"; } 2>/dev/null || continue
	if grep -q 'alice-pw' "$T/proc.txt"; then
		t_fail "the password is in $f: $(tr '\0' ' ' <"$f")"
	fi
done
# The client goes: the export ends.
exec {STALL}<&-
fd=${R[1]:-}; [ -z "$fd" ] || exec {fd}>&-
exec {RW}>&-
wait "$RP" || true

# No 32-byte piece of the key file's sealed part in any file of the appliance
# (the store, the run directory, the logs), nor the password.
/usr/bin/python3 - "$T" "$KEY" <<'EOF2' || t_fail "a secret is on the disk"
import os, sys
root, key = sys.argv[1], sys.argv[2]
k = open(key, "rb").read()
# After its header (magic, machine name: no secret, also in the store).
pieces = [k[i:i + 32] for i in range(256, len(k) - 32, 32)]
bad = 0
for d, _, files in os.walk(root):
    for n in files:
        p = os.path.join(d, n)
        if p == key or os.path.islink(p) or not os.path.isfile(p) or \
           p.startswith(os.path.join(root, "src")):
            continue
        data = open(p, "rb").read()
        if any(x in data for x in pieces) or b"alice-pw\n" in data and \
           not n.endswith(".pw"):
            print("secret in", p, file=sys.stderr); bad = 1
sys.exit(bad)
EOF2
t_log "ok"
