#!/bin/bash
# demo.sh [BUILD_DIR] -- the main job of a Beemo appliance, end to end, in
# a scratch directory: set up an appliance, add a client machine with a
# user, mount its backup file system, copy files in (a virus is refused),
# end the session (snapshot), list the snapshots, browse one read-only
# with the user's password, restore it and compare, check every sealed
# byte, and unlock the machine's key as each principal.  Run as root.
set -euo pipefail

BUILD=$(cd "${1:-build}" && pwd)
BEEMOCTL=$BUILD/tools/beemoctl
BEEMOFS=$BUILD/fs/beemofs
D=$(mktemp -d /tmp/beemo-demo.XXXXXX)
MNT=$D/mnt
export BEEMO_CONFIG=$D/beemo.conf

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
cleanup() {
	mountpoint -q "$MNT" 2>/dev/null && fusermount3 -u "$MNT"
	mountpoint -q "$D/browse" 2>/dev/null && fusermount3 -u "$D/browse"
	return 0
}
trap cleanup EXIT

step "configuration and a small antivirus signature set in $D"
mkdir -p "$D/sigs" "$MNT" "$D/browse"
# In production [scan] signatures is the directory freshclam maintains
# (/var/lib/clamav); here: the EICAR test file as a hash signature.
eicar='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-'
eicar+='ANTIVIRUS-TEST-FILE!$H+H*'
echo "$(printf '%s' "$eicar" | md5sum | cut -d' ' -f1):${#eicar}:Demo.EICAR" \
	>"$D/sigs/demo.hdb"
cat >"$BEEMO_CONFIG" <<CONF
store = $D/store
[scan]
signatures = $D/sigs
CONF
(umask 077
printf 'correct horse battery staple\n' >"$D/admin.pw"
printf 'alice in backupland\n' >"$D/alice.pw")
cat "$BEEMO_CONFIG"

step "beemoctl init: the administrator's key pair"
"$BEEMOCTL" init --password-file "$D/admin.pw"

step "beemoctl machine add: machine pc1, user alice, POSTE key file"
"$BEEMOCTL" machine add pc1 --user alice --password-file "$D/admin.pw" \
	--user-password-file "$D/alice.pw" --poste-key "$D/pc1.poste"
"$BEEMOCTL" machine list

step "beemofs: backup session of pc1 (opened with its POSTE key file)"
"$BEEMOFS" "$D/store" "$MNT" -o "machine=pc1,keyfile=$D/pc1.poste"
mount | grep " $MNT "

step "copy files in (cp -a), and a virus"
cp -a /usr/share/doc/bash /usr/share/common-licenses "$MNT/"
printf '%s' "$eicar" >"$D/eicar.com"
if cp "$D/eicar.com" "$MNT/"; then
	echo "demo: the virus was accepted!" >&2
	exit 1
fi
echo "(refused: the antivirus found it; nothing was backed up)"
du -sh --apparent-size "$MNT"

step "end of session: unmount (a snapshot is taken)"
fusermount3 -u "$MNT"
while pgrep -f "beemofs $D/store" >/dev/null; do sleep 0.1; done
"$BEEMOCTL" snapshots pc1 --password-file "$D/admin.pw"

step "nothing under the store reveals a name or a byte of content"
if grep -rqa "GNU GENERAL PUBLIC LICENSE" "$D/store"; then
	echo "demo: plaintext found under the store!" >&2
	exit 1
fi
find "$D/store" -type f | sed "s|$D/||" | sort

step "browse snapshot 1 read-only with alice's password"
"$BEEMOFS" "$D/store" "$D/browse" \
	-o "machine=pc1,user=alice,passfile=$D/alice.pw"
ls "$D/browse/.snapshots/1"
fusermount3 -u "$D/browse"

step "beemoctl restore: snapshot 1 into $D/restored"
"$BEEMOCTL" restore pc1 1 --target "$D/restored" \
	--user alice --password-file "$D/alice.pw"
diff -r /usr/share/doc/bash "$D/restored/bash"
diff -r /usr/share/common-licenses "$D/restored/common-licenses"
echo "restored tree identical to the source"

step "beemoctl check --read-data: every sealed byte authenticated"
"$BEEMOCTL" check pc1 --read-data --password-file "$D/admin.pw"

step "SECRET of pc1 unlocked by each principal (same key check values)"
"$BEEMOCTL" key unlock pc1 --admin --password-file "$D/admin.pw"
"$BEEMOCTL" key unlock pc1 --user alice --password-file "$D/alice.pw"
"$BEEMOCTL" key unlock pc1 --poste-key "$D/pc1.poste"

step "done: everything is in $D"
