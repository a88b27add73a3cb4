#!/bin/bash
# attack_everyday_restore.sh -- a compromised client prepares its tree
# for the day the operator restores it, as root, into a directory of the
# appliance:
# - its root directory world-writable, owned by the client's uid, with
#   an ACL for another uid: the operator's existing --target must keep
#   its own owner, mode and ACL (a target the restore creates takes the
#   snapshot's);
# - links planted by an earlier restore (a directory and a file that
#   were symbolic links to the outside, now a directory and a file):
#   restoring the newer snapshot over them with --overwrite always,
#   if-changed or never writes nothing outside the target.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || t_skip "needs root (owners)"
for c in setfacl getfacl; do
	command -v $c >/dev/null || t_skip "no $c"
done
t_appliance
M="$T/mnt"
V="$T/victim" # outside every target
mkdir -m 0700 "$V"
echo root-only >"$V/secret"

# Snapshot 1: the planted links.
t_mount "$M"
chown 1234:1234 "$M"
chmod 0777 "$M"
setfacl -m u:4321:rwx "$M" || t_fail "setfacl in the mount"
ln -s "$V" "$M/d"
ln -s "$V/f" "$M/f"
ln -s "$V/secret" "$M/h1"
t_umount "$M"
# Snapshot 2: the same names, now a directory and files.
t_mount "$M"
rm "$M/d" "$M/f" "$M/h1"
mkdir "$M/d"
echo evil >"$M/d/x"
echo evil >"$M/f"
echo evil >"$M/h1"
ln "$M/h1" "$M/h2"
t_umount "$M"
ids=$(t_snapshot_ids)
read -r S1 S2 <<<"$ids"
[ -n "$S2" ] || t_fail "two snapshots: $ids"

restore() {
	"$BEEMOCTL" restore pc1 "$@" --password-file "$T/admin.pw" \
		>"$T/r.out" 2>"$T/r.err" || t_fail "restore $*: $(cat "$T/r.err")"
}

# The operator's target: root's, 0700, no ACL.  It stays so.
mkdir -m 0700 "$T/out"
restore "$S1" --target "$T/out"
[ "$(stat -c %u:%g:%a "$T/out")" = 0:0:700 ] ||
	t_fail "the client made the target its own: $(stat -c %u:%g:%a "$T/out")"
getfacl -cp "$T/out" | grep -q '^user:4321' &&
	t_fail "the client's ACL on the target: $(getfacl -cp "$T/out")"
[ -L "$T/out/d" ] && [ -L "$T/out/f" ] || t_fail "snapshot 1's links"
# A target the restore creates is the snapshot's root.
restore "$S1" --target "$T/new"
[ "$(stat -c %u:%a "$T/new")" = 1234:777 ] ||
	t_fail "a new target: $(stat -c %u:%a "$T/new")"

# untouched: nothing was written outside the targets.
untouched() {
	[ "$(ls -A "$V")" = secret ] || t_fail "$1: written outside: $(ls -la "$V")"
	[ "$(cat "$V/secret")" = root-only ] || t_fail "$1: secret changed"
	[ "$(stat -c %u:%a:%h "$V/secret")" = 0:644:1 ] ||
		t_fail "$1: secret now $(stat -c %u:%a:%h "$V/secret")"
}
untouched "snapshot 1"

for mode in never if-changed always; do
	rm -rf "$T/out"
	mkdir -m 0700 "$T/out"
	restore "$S1" --target "$T/out"
	restore "$S2" --target "$T/out" --overwrite "$mode"
	untouched "--overwrite $mode"
	if [ "$mode" != never ]; then
		[ -d "$T/out/d" ] && [ ! -L "$T/out/d" ] &&
			[ "$(cat "$T/out/d/x")" = evil ] || t_fail "$mode: d"
		[ -f "$T/out/f" ] && [ ! -L "$T/out/f" ] || t_fail "$mode: f"
		[ "$(stat -c %h "$T/out/h1")" = 2 ] || t_fail "$mode: h1"
	fi
done
t_log "ok"
