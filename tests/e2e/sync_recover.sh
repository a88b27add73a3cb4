#!/bin/bash
# sync_recover.sh -- the whole story on a real store: back up files with
# beemofs, push to a center, lose the appliance, recover into an empty
# directory from the center alone, and restore every file byte-exact with
# its metadata using only the administrator's password; the user's
# password still opens the machine.  Nothing on the center contains a
# marker written into file contents or names.
# Needs beemofs and `beemoctl restore` (the lead's store and tools).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd_lib.sh"

sshd_require
[ -x "$BEEMOFS" ] || t_skip "beemofs is not built"
command -v fusermount3 >/dev/null || t_skip "no fusermount3"
sshd_start a
sync_config a
t_appliance

# The data: names and contents carry markers; varied metadata.
S="$T/src"
mkdir -p "$S/dir-MARKERNAME-d41" "$S/empty"
printf 'MARKERDATA-%s\n' $(seq 1 2000) >"$S/dir-MARKERNAME-d41/MARKERNAME-f1.txt"
head -c 3000000 /dev/urandom >"$S/random.bin"
printf 'MARKERDATA-small' >"$S/small"
ln -s dir-MARKERNAME-d41/MARKERNAME-f1.txt "$S/link"
chmod 0640 "$S/small"
chmod 0750 "$S/dir-MARKERNAME-d41"
touch -d '2001-02-03 04:05:06.789' "$S/random.bin"
M="$T/mnt"
t_mount "$M"
cp -a "$S/." "$M/"
t_umount "$M"
snap=$("$BEEMOCTL" snapshots pc1 --json --password-file "$T/admin.pw" |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["snapshots"][-1]["id"])')
[ -n "$snap" ] || t_fail "no snapshot"

sync_run push push || t_fail "push: $(cat "$T/push.err")"
grep -rl -e MARKERDATA -e MARKERNAME "$T/center_a" &&
	t_fail "plaintext content or name on the center"
find "$T/center_a" -name '*MARKER*' | grep . && t_fail "a file name reached the center"

# The appliance is lost: recover from the center alone.
N="$T/new"
sync_run rec recover --target a --store "$N" --password-file "$T/admin.pw" ||
	t_fail "recover: $(cat "$T/rec.err")"
grep -q "machine pc1: index rebuilt" "$T/rec.out" || t_fail "$(cat "$T/rec.out")"
"$BEEMOCTL" -s "$N" key unlock pc1 --user alice --password-file "$T/alice.pw" \
	>/dev/null || t_fail "alice's password does not open pc1 after recovery"
O="$T/restored"
"$BEEMOCTL" -s "$N" restore pc1 "$snap" --target "$O" \
	--password-file "$T/admin.pw" >"$T/restore.out" 2>>"$T/sync.log" ||
	t_fail "restore after recovery"
meta() { (cd "$1" && find . -printf '%P %y %m %u %g %s %T@ %l\n' | sort); }
diff <(meta "$S") <(meta "$O") >"$T/meta.diff" ||
	t_fail "metadata differs: $(head "$T/meta.diff")"
diff -r --no-dereference "$S" "$O" >/dev/null || t_fail "contents differ"
t_log "ok"
