#!/bin/bash
# b2b.sh -- Beemo2Beemo: appliance B is the storage center of appliance
# A on this machine.  Each has its own store and configuration; B's
# operator runs `beemo-center add` for A's push key with its area inside
# B's store, and B's sshd accepts that key only for the forced command
# that add wrote.  A backs up real files through beemofs and pushes them
# to B, and its maintenance sends its status, which `beemo-center
# status` on B shows; A's key cannot erase what B accepted; A is lost
# and recovered from B alone into a fresh directory, files byte-exact.
# B's area holds no plaintext (no marker of A's names or contents) and
# no key material usable without A's administrator's password: only
# sealed key files, never A's appliance.key or configuration in clear.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd_lib.sh"
. "$(dirname "$0")/center_lib.sh"

sshd_require
[ -x "$BEEMOFS" ] || t_skip "beemofs is not built"
command -v fusermount3 >/dev/null || t_skip "no fusermount3"
me=$(id -un)

# ---- appliance B: its own store and configuration, and its center ------
SB=$T/storeB
B_CONF=$T/b.conf
printf '%s\n' "store = $SB" "[scan]" "signatures = $T/sigs" >"$B_CONF"
t_sigs "$T/sigs"
t_pw "$T/b_admin.pw" b-admin-pw
BEEMO_CONFIG=$B_CONF "$BEEMOCTL" init "${T_KDF[@]}" \
	--password-file "$T/b_admin.pw" >/dev/null || t_fail "init B"
export BEEMO_CENTER_CONFIG=$T/b_center.conf
printf '%s\n' "[center]" "root = $SB/centers" >"$BEEMO_CENTER_CONFIG"
# B's sshd; its authorized_keys holds only what beemo-center add writes.
sshd_start b
: >"$T/sshd_b/authorized_keys"
AREA=$SB/centers/a
"$BEEMO_CENTER" add a --key "$T/id_ed25519.pub" --user "$me" \
	--area "$AREA" --quota 200M \
	--authorized-keys "$T/sshd_b/authorized_keys" >"$T/add.out" ||
	t_fail "beemo-center add on B"
grep -q "command=\"$BEEMO_CENTER serve --area $AREA\",restrict ssh-ed25519 " \
	"$T/sshd_b/authorized_keys" || t_fail "no forced command for A's key"

# ---- appliance A: real files through beemofs, pushed to B --------------
t_config "[sync]" "timeout = 20s" "connections = 2" \
	"$(center_target_conf b)" "# MARKERCONF-a51"
t_appliance
S=$T/src
mkdir -p "$S/dir-MARKERNAME-b2b"
printf 'MARKERDATA-%s\n' $(seq 1 3000) >"$S/dir-MARKERNAME-b2b/MARKERNAME-1.txt"
head -c 2000000 /dev/urandom >"$S/random.bin"
printf 'MARKERDATA-small' >"$S/small"
chmod 0640 "$S/small"
M=$T/mnt
t_mount "$M"
cp -a "$S/." "$M/"
t_umount "$M"
snap=$("$BEEMOCTL" snapshots pc1 --json --password-file "$T/admin.pw" |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["snapshots"][-1]["id"])')
[ -n "$snap" ] || t_fail "no snapshot on A"

sync_run push push || t_fail "push A -> B: $(cat "$T/push.err")"
ls "$AREA"/data/manifests/*.json >/dev/null 2>&1 || t_fail "no manifest at B"
packs=$(find "$AREA/data/machines/pc1/packs" -name '*.pack' -printf '%s\n' |
	awk '{s += $1} END {print s + 0}')
[ "$packs" -gt 2000000 ] || t_fail "A's packs did not reach B ($packs bytes)"
"$BEEMO_CENTER" --utc list >"$T/list.out" || t_fail "list on B"
grep -Eq "^a +$me +[0-9.]+ MiB +200.0 MiB +20[0-9-]+ [0-9:]+ UTC " "$T/list.out" ||
	t_fail "B's list does not show A's push: $(cat "$T/list.out")"

# A's maintenance sends its status and journal; B's operator sees them.
sync_run maint maintenance ||
	t_fail "maintenance A -> B: $(cat "$T/maint.err")"
"$BEEMO_CENTER" status a --area "$AREA" --json >"$T/status.json" ||
	t_fail "status on B"
python3 - "$T/status.json" <<-'EOF' ||
	import json, sys
	a = json.load(open(sys.argv[1]))
	assert a["pushes"]["count"] >= 1 and a["usage"] > 2000000, a
	assert a["status"]["count"] >= 1, a
	assert a["quota"] == 200 << 20, a
EOF
	t_fail "B's status of A: $(cat "$T/status.json")"

# A's key (a compromised A) cannot erase its history at B.
man=$(cd "$AREA/data" && ls manifests/*.json | head -1)
sum=$(sha256sum <"$AREA/data/$man")
printf 'rm /%s\n' "$man" | center_sftp b -b - >/dev/null 2>&1 || true
[ "$(sha256sum <"$AREA/data/$man")" = "$sum" ] ||
	t_fail "A's key removed or changed $man at B"

# ---- what B holds: no plaintext, only sealed keys ------------------------
grep -rl -e MARKERDATA -e MARKERNAME -e MARKERCONF "$AREA" &&
	t_fail "plaintext of A at B"
find "$AREA" -name '*MARKER*' | grep . && t_fail "a name of A's files at B"
(cd "$AREA/data" && find keys -type f | sort) >"$T/keys.txt"
grep -q '^keys/admin.key\.' "$T/keys.txt" || t_fail "no sealed admin.key at B"
grep -Ev '^keys/(admin\.key|machines/pc1\.key)\.[0-9a-f]{16}$' "$T/keys.txt" &&
	t_fail "unexpected key files at B"
python3 - "$T/store/keys" "$AREA" <<-'EOF' || t_fail "A's secret key at B"
	import os, sys
	# appliance.key, the device secret, must not be anywhere at B, not
	# even a 32-byte piece of it; the POSTE key file neither.
	secrets = []
	for name in ("appliance.key",):
	    secrets.append(open(os.path.join(sys.argv[1], name), "rb").read())
	pieces = {s[i:i + 32] for s in secrets
	          for i in range(0, len(s) - 31, 8)}
	for root, _, files in os.walk(sys.argv[2]):
	    for f in files:
	        data = open(os.path.join(root, f), "rb").read()
	        for p in pieces:
	            if p in data:
	                sys.exit("piece of appliance.key in %s" % f)
EOF
# The sealed keys open with A's password only: B cannot recover A.
cp "$BEEMO_CONFIG" "$T/a.conf"
rm -rf "$T/store" "$M"
t_pw "$T/wrong.pw" b-admin-pw
t_expect_log 'warning: manifest manifests/.* at center b is not authentic'
t_expect_log 'error: target b: the administrator password opens none'
t_expect_log 'error: target b: no complete manifest found'
sync_run wrong recover --target b --store "$T/stolen" \
	--password-file "$T/wrong.pw" && t_fail "B's password recovered A"
[ ! -e "$T/stolen/keys" ] || t_fail "key files written with B's password"

# ---- A is lost: recovered from B alone ----------------------------------
N=$T/new
sync_run rec recover --target b --store "$N" --password-file "$T/admin.pw" ||
	t_fail "recover from B: $(cat "$T/rec.err")"
O=$T/restored
"$BEEMOCTL" -s "$N" restore pc1 "$snap" --target "$O" \
	--password-file "$T/admin.pw" >"$T/restore.out" 2>>"$T/sync.log" ||
	t_fail "restore after recovery from B"
diff -r --no-dereference "$S" "$O" >/dev/null || t_fail "contents differ"
[ "$(stat -c %a "$O/small")" = 640 ] || t_fail "mode lost"
# B is still an appliance of its own: its store opens with its password.
BEEMO_CONFIG=$B_CONF "$BEEMOCTL" status >/dev/null || t_fail "B's store"
t_log "ok"
