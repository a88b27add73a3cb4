#!/bin/bash
# av_count.sh -- the signatures beemoctl status and metrics show are the
# ones libclamav loads: a directory with a .hdb, a .ndb whose last line
# has no newline, and an unsigned container (.cud) made by sigtool shows
# the count beemofs logs when it loads the same directory (SIGHUP), and the age
# of a container is its build time (its header), not its file's.
. "$(dirname "$0")/lib.sh"
# libclamav allocates through OpenSSL, built without frame pointers,
# when it loads a signed .cud: with the fast unwinder the stacks of what
# it keeps stop in libcrypto, and tests/lsan.supp (leak:libclamav.so)
# cannot match them.  Full stacks here (an ASan build only).
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}fast_unwind_on_malloc=0

command -v sigtool >/dev/null || t_skip "sigtool (package clamav) missing"

# The container: two body signatures and a hash, built unsigned from
# a scratch directory (sigtool takes every NAME.* file of the directory
# it runs in).
mkdir -p "$T/build"
hex() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
{
	echo "Beemo.Cud.One:0:*:$(hex BEEMO-CUD-ONE)"
	echo "Beemo.Cud.Two:0:*:$(hex BEEMO-CUD-TWO)"
} >"$T/build/beemocud.ndb"
echo "00112233445566778899aabbccddeeff:9:Beemo.Cud.Hash" \
	>"$T/build/beemocud.hdb"
echo "Beemo test signatures" >"$T/build/COPYING"
(cd "$T/build" && echo beemo | sigtool --build=beemocud.cud --unsigned \
	--cvd-version=1 --no-cdiff --datadir="$T/build") >"$T/sigtool.out" 2>&1 ||
	t_fail "sigtool --build: $(cat "$T/sigtool.out")"

t_sigs "$T/sigs"
cp "$T/build/beemocud.cud" "$T/sigs/"
# Two signatures, no newline after the second.
printf '%s\n%s' "Beemo.Test.Nl1:0:*:$(hex BEEMO-NL-ONE)" \
	"Beemo.Test.Nl2:0:*:$(hex BEEMO-NL-TWO)" >"$T/sigs/nonl.ndb"
# Old files: the newest is the container's build time.
touch -d '2001-01-01 00:00:00 UTC' "$T/sigs/"*
stime=$(head -c 512 "$T/sigs/beemocud.cud" | cut -d: -f9 | tr -dc 0-9)
[ -n "$stime" ] || t_fail "no build time in the container's header"

t_appliance
t_mount "$T/mnt"
# The count of the engine, as the daemon reports it on a reload.
kill -HUP "${T_MOUNT_PID[$T/mnt]}"
re="antivirus signatures reloaded from $T/sigs: "
t_wait_for 20 grep -qF "$re" "$T/beemofs.log" || t_fail "no reload logged"
loaded=$(grep -F "$re" "$T/beemofs.log" | sed 's/.*: //')
t_umount "$T/mnt"
# 1 (.hdb) + 1 (.ndb) + 2 (no newline) + 3 (.cud).
[ "$loaded" = 7 ] || t_fail "beemofs loaded '$loaded' signatures, not 7"

"$BEEMOCTL" status --json >"$T/status.json" || t_fail "status --json"
python3 - "$T/status.json" "$loaded" "$stime" <<-'EOF' ||
	import datetime, json, sys
	s = json.load(open(sys.argv[1]))
	a = s.get("appliance", s)
	assert a["signatures"] == int(sys.argv[2]), a["signatures"]
	want = datetime.datetime.fromtimestamp(int(sys.argv[3]),
	                                       datetime.timezone.utc)
	got = datetime.datetime.fromisoformat(
	    a["signatures_newest"].replace("Z", "+00:00"))
	assert got == want, (got, want)
	EOF
	t_fail "status --json: $(cat "$T/status.json")"
"$BEEMOCTL" status | grep -F "$T/sigs: $loaded signatures, newest" \
	>/dev/null || t_fail "status: $("$BEEMOCTL" status)"
"$BEEMOCTL" metrics --output - | grep -x "beemo_signatures $loaded" \
	>/dev/null || t_fail "metrics: $("$BEEMOCTL" metrics --output -)"
"$BEEMOCTL" metrics --output - |
	grep -x "beemo_signatures_timestamp_seconds $stime" >/dev/null ||
	t_fail "metrics time: $("$BEEMOCTL" metrics --output -)"

t_check_logs
t_log ok
