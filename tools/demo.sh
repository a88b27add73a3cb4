#!/bin/bash
# demo.sh [BUILD_DIR] -- the main job of a Beemo appliance, end to end, in
# a scratch directory: set up an appliance, add a client machine with a
# user, mount its backup file system, copy files in (a virus is refused),
# end the session (snapshot), list the snapshots, browse one read-only
# with the user's password, restore it and compare, check every sealed
# byte, unlock the machine's key as each principal, set a quota, read
# the status and the journal, push the sealed store to an off-site
# storage center (a scratch OpenSSH server on 127.0.0.1 whose only key
# is confined to its beemo-center area), lose the
# appliance, rebuild it from the center with the administrator's
# password alone and restore from the rebuilt store; then a client
# machine backs itself up over SSH (beemo-backup, beemo-sessiond, its
# confined account), keeping its own key file.  Run as root.
set -euo pipefail

BUILD=$(cd "${1:-build}" && pwd)
BEEMOCTL=$BUILD/tools/beemoctl
BEEMOFS=$BUILD/fs/beemofs
BEEMO_SYNC=$BUILD/sync/beemo-sync
BEEMO_CENTER=$BUILD/sync/beemo-center
D=$(mktemp -d /tmp/beemo-demo.XXXXXX)
MNT=$D/mnt
export BEEMO_CONFIG=$D/beemo.conf

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
cleanup() {
	[ -f "$D/sshd.pid" ] && kill "$(cat "$D/sshd.pid")" 2>/dev/null
	[ -n "${sessiond:-}" ] && kill "$sessiond" 2>/dev/null && wait "$sessiond"
	[ -n "${scand:-}" ] && kill "$scand" 2>/dev/null && wait "$scand"
	[ -n "${client_account:-}" ] && userdel "$client_account" 2>/dev/null
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
service = $D/scand.sock
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

step "beemo-scand: one antivirus engine for every session of the appliance"
"$BUILD/fs/beemo-scand" &
scand=$!
for _ in $(seq 100); do [ -S "$D/scand.sock" ] && break; sleep 0.1; done
"$BUILD/fs/beemo-scand" --status

step "beemofs: backup session of pc1 (opened with its POSTE key file)"
"$BEEMOFS" "$D/store" "$MNT" -o "machine=pc1,keyfile=$D/pc1.poste"
mount | grep " $MNT "
ls -a "$MNT" # no .snapshots: a backup session sees the live tree only

step "copy files in (cp -a), and a virus"
cp -a /usr/share/doc/bash /usr/share/common-licenses "$MNT/"
printf '%s' "$eicar" >"$D/eicar.com"
cp "$D/eicar.com" "$MNT/" # returns at once: the scan runs after close()
sync "$MNT" # waits for every file closed before: committed or refused
for _ in $(seq 50); do [ -e "$MNT/eicar.com" ] || break; sleep 0.1; done
if [ -e "$MNT/eicar.com" ]; then
	echo "demo: the virus was accepted!" >&2
	exit 1
fi
echo "(refused: the antivirus found it and the file vanished; nothing was backed up)"
"$BEEMOCTL" status | grep -i scanner # the session scanned through beemo-scand
du -sh --apparent-size "$MNT"

step "a 1 TiB sparse disk image with 1 MiB of data: stored as holes"
truncate -s 1T "$MNT/disk.img"
dd if=/dev/urandom of="$MNT/disk.img" bs=1M count=1 seek=300000 \
	conv=notrunc status=none
ls -lhs "$MNT/disk.img"
df -h "$MNT" # the store's disk, less its reserve for commits and reports

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
	-o "machine=pc1,user=alice,password-file=$D/alice.pw"
ls "$D/browse/.snapshots/1"
fusermount3 -u "$D/browse"

step "beemoctl restore: snapshot 1 into $D/restored"
"$BEEMOCTL" restore pc1 1 --target "$D/restored" \
	--user alice --password-file "$D/alice.pw"
diff -r /usr/share/doc/bash "$D/restored/bash"
diff -r /usr/share/common-licenses "$D/restored/common-licenses"
echo "restored tree identical to the source"
ls -lhs "$D/restored/disk.img" # its holes restored as holes
if [ "$(du -k "$D/restored/disk.img" | cut -f1)" -gt 4096 ]; then
	echo "demo: the holes of disk.img were not restored" >&2
	exit 1
fi

step "look into snapshots without mounting: ls, find, diff, dump, export (names: latest~1, dates, tags)"
"$BEEMOFS" "$D/store" "$MNT" -o "machine=pc1,keyfile=$D/pc1.poste"
echo "minutes of the meeting" >"$MNT/notes.txt"
fusermount3 -u "$MNT"
while pgrep -f "beemofs $D/store" >/dev/null; do sleep 0.1; done
A=(--user alice --password-file "$D/alice.pw")
"$BEEMOCTL" ls pc1 latest --long "${A[@]}"
"$BEEMOCTL" find pc1 'notes*' "${A[@]}"
"$BEEMOCTL" diff pc1 latest~1 latest "${A[@]}"
"$BEEMOCTL" dump pc1 latest notes.txt "${A[@]}"
"$BEEMOCTL" export pc1 latest bash --format tar --output - "${A[@]}" |
	tar -tvf - | sed -n '1,3p'
"$BEEMOCTL" ls pc1 latest --json "${A[@]}" |
	python3 -c 'import json, sys; d = json.load(sys.stdin)
print("ls --json:", d["format"], "version", d["version"],
    len(d["entries"]), "entries")'
# Nothing changed since: no second, identical snapshot.
"$BEEMOCTL" snapshot pc1 --password-file "$D/admin.pw"
# Exit statuses shared by every program: 2 for a name that is not one.
if "$BEEMOCTL" ls pc1 latest~x "${A[@]}"; then exit 1; else echo "exit status $?"; fi

step "beemoctl check --read-data: every sealed byte authenticated"
"$BEEMOCTL" check pc1 --read-data --password-file "$D/admin.pw"

step "SECRET of pc1 unlocked by each principal (same key check values)"
"$BEEMOCTL" key unlock pc1 --admin --password-file "$D/admin.pw"
"$BEEMOCTL" key unlock pc1 --user alice --password-file "$D/alice.pw"
"$BEEMOCTL" key unlock pc1 --poste-key "$D/pc1.poste"

step "bob leaves: user remove starts a new generation of SECRET for new data"
"$BEEMOCTL" user add pc1 bob --password-file "$D/admin.pw" \
	--user-password-file "$D/alice.pw" >/dev/null
"$BEEMOCTL" user remove pc1 bob --yes --password-file "$D/admin.pw"
"$BEEMOCTL" key show pc1

step "quota, live status and the journal of pc1"
"$BEEMOCTL" quota pc1 --soft 1G --password-file "$D/admin.pw"
"$BEEMOCTL" status
"$BEEMOCTL" journal pc1 --password-file "$D/admin.pw"

step "retention: a policy signed by the administrator, forget, erase, prune"
"$BEEMOCTL" snapshot pc1 --tag before-erasure \
	--password-file "$D/admin.pw" >/dev/null
"$BEEMOCTL" snapshots pc1 --password-file "$D/admin.pw"
"$BEEMOCTL" retention pc1 --keep-daily 14 --keep-weekly 8 \
	--password-file "$D/admin.pw"
"$BEEMOCTL" forget pc1 --keep-last 1 --dry-run --password-file "$D/admin.pw"
"$BEEMOCTL" erase pc1 disk.img --yes --password-file "$D/admin.pw"
"$BEEMOCTL" prune pc1 --password-file "$D/admin.pw"

step "an off-site storage center: OpenSSH's sshd on 127.0.0.1 and a beemo-center area"
# In production: [target NAME] sections naming the two remote centers,
# each set up as beemo-center(8) says.
mkdir -p /run/sshd "$D/center"
ssh-keygen -q -t ed25519 -N '' -C beemo-demo -f "$D/id_ed25519"
ssh-keygen -q -t ed25519 -N '' -C center -f "$D/host_ed25519"
# The center's operator gives the appliance's key an area: the key can
# then only run `beemo-center serve` there (add, never delete).
export BEEMO_CENTER_CONFIG=$D/center.conf
printf '%s\n' "[center]" "root = $D/center" "grace = 30d" >"$BEEMO_CENTER_CONFIG"
"$BEEMO_CENTER" add demo --key "$D/id_ed25519.pub" --user root \
	--quota 1G --authorized-keys "$D/authorized_keys"
cut -c1-100 "$D/authorized_keys"
port=$((20000 + RANDOM % 12000))
while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
	port=$((20000 + RANDOM % 12000))
done
printf '[127.0.0.1]:%s %s\n' "$port" "$(cut -d' ' -f1,2 "$D/host_ed25519.pub")" \
	>"$D/known_hosts"
cat >"$D/sshd_config" <<SSHD
Port $port
ListenAddress 127.0.0.1
HostKey $D/host_ed25519
PidFile $D/sshd.pid
AuthorizedKeysFile $D/authorized_keys
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin prohibit-password
Subsystem sftp internal-sftp
SSHD
/usr/sbin/sshd -f "$D/sshd_config" -E "$D/sshd.log"
for _ in $(seq 1 100); do
	(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
	sleep 0.05
done
cat >>"$BEEMO_CONFIG" <<CONF
[target center]
host = 127.0.0.1
port = $port
user = root
key = $D/id_ed25519
known_hosts = $D/known_hosts
path = /
CONF
tail -n 8 "$BEEMO_CONFIG"

step "beemo-sync push: the sealed packs, index logs and key store go off-site"
"$BEEMO_SYNC" push --dry-run
"$BEEMO_SYNC" push
"$BEEMO_SYNC" verify --read-data
"$BEEMO_SYNC" status
"$BEEMO_CENTER" list

step "the appliance is lost: beemo-sync recover into $D/rebuilt (the newest state authenticated by the off-site key in admin.key)"
"$BEEMO_SYNC" recover --target center --store "$D/rebuilt" \
	--password-file "$D/admin.pw"
"$BEEMOCTL" -s "$D/rebuilt" restore pc1 1 --target "$D/restored-offsite" \
	--password-file "$D/admin.pw"
diff -r /usr/share/doc/bash "$D/restored-offsite/bash"
diff -r /usr/share/common-licenses "$D/restored-offsite/common-licenses"
echo "restored from the rebuilt appliance: identical to the source"

step "a client machine backs up itself over SSH, keeping its own POSTE key file"
# The appliance: the session daemon, and pc2's confined account (in
# production: the beemo-sessiond unit, the sshd drop-in
# beemo-sessions-sshd.conf and /etc/beemo/clients).
mkdir -p "$D/client"
"$BEEMOCTL" machine add pc2 --user alice --password-file "$D/admin.pw" \
	--user-password-file "$D/alice.pw" --poste-key "$D/client/pc2.poste" |
	tail -n 4
# (the key file is the client's alone: the appliance keeps no copy)
ssh-keygen -q -t ed25519 -N '' -C pc2 -f "$D/client/id_ed25519"
export BEEMO_CLIENTS_DIR=$D/clients
chmod 0711 "$D" # sshd reads the account's keys file as the account
if ! id beemo-pc2 >/dev/null 2>&1; then client_account=beemo-pc2; fi
"$BEEMOCTL" machine access pc2 --ssh-key "$D/client/id_ed25519.pub"
"$BUILD/tools/beemo-sessiond" --store "$D/store" --socket "$D/sessiond.sock" \
	--run-dir "$D/sessions" --beemofs "$BEEMOFS" --beemoctl "$BEEMOCTL" \
	2>"$D/sessiond.log" &
sessiond=$!
cat >>"$D/sshd_config" <<SSHD
Match Group beemo-clients
	AuthorizedKeysFile $D/clients/%u.keys
	ForceCommand $BUILD/tools/beemo-session --socket $D/sessiond.sock
	DisableForwarding yes
	PermitTTY no
SSHD
kill -HUP "$(cat "$D/sshd.pid")"
sleep 0.5
# The client: its files, its key file, its ssh key.
BACKUP=$BUILD/tools/beemo-backup
client=(--appliance 127.0.0.1 --port "$port" --machine pc2
	--known-hosts "$D/known_hosts" --identity "$D/client/id_ed25519")
mkdir -p "$D/client/files"
cp -a /usr/share/doc/bash "$D/client/files/"
printf '%s' "$eicar" >"$D/client/files/eicar.com"
rc=0
"$BACKUP" "${client[@]}" --key "$D/client/pc2.poste" "$D/client/files" ||
	rc=$?
echo "(exit status $rc: 4 means backed up, but files were refused)"
rm "$D/client/files/eicar.com"
echo "minutes of the meeting" >"$D/client/files/notes.txt"
"$BACKUP" "${client[@]}" --key "$D/client/pc2.poste" --quiet "$D/client/files"
"$BACKUP" snapshots "${client[@]}" --key "$D/client/pc2.poste"
mkdir "$D/client/restored"
"$BACKUP" restore "${client[@]}" --user alice --password-file "$D/alice.pw" \
	"$D/client/files/bash" --target "$D/client/restored"
diff -r "$D/client/files/bash" "$D/client/restored"
echo "restored on the client: identical"
python3 - "$D" <<'PY'
import os, sys
d = sys.argv[1]
key = open(os.path.join(d, "client", "pc2.poste"), "rb").read()
# Slices of the sealed POSTE_PRIV, the file's second half (its head is
# the same in every key file of the appliance).
slices = [key[i:i + 32] for i in range(len(key) // 2, len(key) - 32, 128)]
for top, dirs, files in os.walk(d):
    dirs[:] = [x for x in dirs if os.path.join(top, x) != os.path.join(d, "client")]
    for f in files:
        p = os.path.join(top, f)
        # (the restored 1 TiB sparse image is skipped)
        if not os.path.isfile(p) or os.path.islink(p) or \
                os.path.getsize(p) > 64 << 20:
            continue
        data = open(p, "rb").read()
        if any(s in data for s in slices):
            sys.exit("the key file is on the appliance: " + p)
PY
echo "no copy of pc2's key file anywhere on the appliance's side"

step "done: everything is in $D"
