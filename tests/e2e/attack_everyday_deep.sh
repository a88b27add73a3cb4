#!/bin/bash
# attack_everyday_deep.sh -- a compromised client buries a file deeper
# than the verbs walk (2048 directories).  None may crash or run out of
# stack, and none may pass over it in silence: diff, ls --recursive,
# find, export and restore each say so and exit non-zero, so
# that an operator reading a clean diff knows it was the whole diff.
. "$(dirname "$0")/lib.sh"

t_appliance
M="$T/mnt"
t_mount "$M"
echo x >"$M/top"
t_umount "$M"
t_mount "$M"
python3 -c 'import os, sys
os.chdir(sys.argv[1])
for i in range(2100):
    os.mkdir("d")
    os.chdir("d")
open("hidden", "w").write("x")' "$M" || t_fail "a deep tree in the mount"
t_umount "$M"
ids=$(t_snapshot_ids)
read -r S1 S2 <<<"$ids"
[ -n "$S2" ] || t_fail "two snapshots: $ids"

# must_say WHAT CMD...: CMD exits non-zero (not killed) and says "too
# deep" (or, for restore, that the path is too long for the target).
must_say() {
	local what=$1 rc=0
	shift
	timeout 60 "$BEEMOCTL" "$@" --password-file "$T/admin.pw" \
		>"$T/o" 2>"$T/e" || rc=$?
	[ $rc = 0 ] && t_fail "$what: exit 0, the deep file passed over in silence"
	[ $rc -ge 124 ] && t_fail "$what: killed or crashed (status $rc)"
	grep -Eq "too deep|File name too long" "$T/e" ||
		t_fail "$what: $(head -c 500 "$T/e")"
}
must_say "diff" diff pc1 "$S1" "$S2"
must_say "diff --json" diff pc1 "$S1" "$S2" --json
must_say "diff (removed)" diff pc1 "$S2" "$S1"
must_say "ls --recursive" ls pc1 "$S2" --recursive
must_say "find" find pc1 hidden
must_say "export" export pc1 "$S2" --format tar --output "$T/a.tar"
must_say "restore" restore pc1 "$S2" --target "$T/out"
t_log "ok"
