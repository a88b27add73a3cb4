#!/bin/bash
# exit_codes.sh -- the exit statuses shared by the four programs
# (tools/base/bm_exit.h), each produced for real: 0 success, 1 failed
# (a wrong password, an unreachable center), 2 usage, 3 locked or busy
# (a mounted backup session, the sync lock held by another process), 4
# finished with warnings (a restore where one target file cannot be
# written, a scan that finds a virus, a push that reaches one center of
# two); and every man page lists them in one identical table.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/man_lib.sh"
. "$(dirname "$0")/sshd_lib.sh"
BEEMO_CENTER=$BEEMO_BUILD/sync/beemo-center

# expect STATUS WHAT CMD...: CMD (output in $T/expect.out) exits STATUS.
expect() {
	local want=$1 what=$2 rc=0
	shift 2
	timeout 120 "$@" >"$T/expect.out" 2>&1 || rc=$?
	[ "$rc" = "$want" ] ||
		t_fail "$what: exit $rc, not $want: $(head -c 2000 "$T/expect.out")"
}

# ---- the pages ----------------------------------------------------------
MAN_DIR="$(cd "$(dirname "$0")/../../man" && pwd)"
for p in beemoctl beemofs beemo-sync beemo-center; do
	man_render "$MAN_DIR/$p.8" "$T/$p.txt"
	man_check_exits "$T/$p.txt" '^[A-Z]'
done

sshd_require
sshd_start a
sshd_start b
sync_config a b
t_appliance
t_pw "$T/wrong.pw" not-the-password
ADMIN=(--password-file "$T/admin.pw")

# ---- beemoctl and beemofs: 2, 3 -----------------------------------------
expect 2 "beemoctl, unknown option" "$BEEMOCTL" snapshots pc1 --no-such
expect 2 "beemoctl, unknown verb" "$BEEMOCTL" no-such-verb
mkdir -p "$T/m0" "$T/m3"
expect 2 "beemofs, no key given" "$BEEMOFS" "$T/store" "$T/m0" \
	-o machine=pc1
M="$T/mnt"
t_mount "$M"
MARK="BEEMO-EXIT-MARK-$RANDOM$RANDOM"
mkdir "$M/dir"
echo one >"$M/dir/a.txt"
echo two >"$M/top.txt"
echo "a file with $MARK inside" >"$M/later.txt"
sync -f "$M" 2>/dev/null || true
# The store is held by the session: a prune that does not wait and a
# key change are busy.
expect 3 "beemoctl prune --no-wait during a session" "$BEEMOCTL" prune pc1 \
	--no-wait "${ADMIN[@]}"
grep -q "backup session" "$T/expect.out" ||
	t_fail "prune does not say why: $(cat "$T/expect.out")"
expect 3 "beemoctl rebuild-index during a session" "$BEEMOCTL" \
	rebuild-index pc1 "${ADMIN[@]}"
expect 3 "beemoctl key rotate during a session" "$BEEMOCTL" key rotate pc1 \
	"${ADMIN[@]}"
# A second backup session of the machine, in the background (the parent
# exits with the status the daemon reports).
mkdir -p "$T/m2"
T_MOUNTS+=("$T/m2")
expect 3 "a second beemofs session" "$BEEMOFS" "$T/store" "$T/m2" \
	-o "machine=pc1,keyfile=$T/pc1.poste"
! mountpoint -q "$T/m2" || t_fail "the second session mounted"
t_umount "$M"

# ---- beemoctl and beemofs: 0, 1 -----------------------------------------
expect 0 "beemoctl snapshots" "$BEEMOCTL" snapshots pc1 "${ADMIN[@]}"
expect 1 "beemoctl, wrong password" "$BEEMOCTL" snapshots pc1 \
	--password-file "$T/wrong.pw"
expect 1 "beemofs, wrong password" "$BEEMOFS" "$T/store" "$T/m3" -f \
	-o "machine=pc1,user=alice,password-file=$T/wrong.pw"
# No password and no terminal: 1, and the message names every way to
# give one in a script.
expect 1 "beemoctl, no password" env -u BEEMO_PASSWORD_FILE \
	-u BEEMO_PASSWORD_COMMAND -u CREDENTIALS_DIRECTORY \
	setsid -w "$BEEMOCTL" snapshots pc1 </dev/null
for o in --password-file --password-command --password-fd; do
	grep -q -- "$o" "$T/expect.out" ||
		t_fail "no password: $o not named: $(cat "$T/expect.out")"
done

# ---- beemoctl: 4 ----------------------------------------------------------
# A restore where one target directory cannot be written: the other
# files are restored, the status is 4 and the file is named.
R="$T/restore"
mkdir -p "$R/dir"
chattr +i "$R/dir" 2>/dev/null || t_skip "chattr +i not supported on $T"
rc=0
"$BEEMOCTL" restore pc1 latest --target "$R" "${ADMIN[@]}" \
	>"$T/restore.out" 2>&1 || rc=$?
chattr -i "$R/dir"
[ $rc = 4 ] || t_fail "restore with a read-only directory: exit $rc, not 4: \
$(cat "$T/restore.out")"
[ "$(cat "$R/top.txt")" = two ] || t_fail "top.txt was not restored"
grep -q "dir/a.txt" "$T/restore.out" ||
	t_fail "the failed file is not named: $(cat "$T/restore.out")"
# A scan that finds a virus: a signature for what is stored already.
expect 0 "beemoctl scan, clean" "$BEEMOCTL" scan pc1 "${ADMIN[@]}"
echo "Beemo.Test.Exit:0:*:$(printf '%s' "$MARK" | od -An -tx1 |
	tr -d ' \n')" >"$T/sigs/exit.ndb"
expect 4 "beemoctl scan with a virus" "$BEEMOCTL" scan pc1 "${ADMIN[@]}"
grep -q "/later.txt: Beemo.Test.Exit" "$T/expect.out" ||
	t_fail "the infected file is not listed: $(cat "$T/expect.out")"
rm "$T/sigs/exit.ndb"

# ---- beemo-sync -----------------------------------------------------------
expect 2 "beemo-sync, unknown option" "$BEEMO_SYNC" push --no-such
expect 0 "beemo-sync push" "$BEEMO_SYNC" push
# The lock held by another process (flock(1) keeps it while its command
# runs): busy, nothing done.
t_expect_log 'error: another beemo-sync is running'
expect 3 "beemo-sync push, lock held" flock "$T/store/sync/lock" \
	"$BEEMO_SYNC" push
cat "$T/expect.out" >>"$T/sync.log"
sshd_kill b
t_expect_log 'error: target b: cannot connect to 127.0.0.1 port [0-9]+: '
t_expect_log 'error: push failed for targets?: b'
expect 4 "beemo-sync push, b down" "$BEEMO_SYNC" push
cat "$T/expect.out" >>"$T/sync.log"
expect 1 "beemo-sync push to b alone, b down" "$BEEMO_SYNC" push --target b
cat "$T/expect.out" >>"$T/sync.log"

# ---- beemo-center ---------------------------------------------------------
export BEEMO_CENTER_CONFIG=$T/center.conf
printf '%s\n' "[center]" "root = $T/centers" >"$BEEMO_CENTER_CONFIG"
mkdir -p "$T/centers"
expect 0 "beemo-center list" "$BEEMO_CENTER" list
expect 2 "beemo-center, unknown option" "$BEEMO_CENTER" list --no-such
expect 1 "beemo-center status of no area" "$BEEMO_CENTER" status nothere
t_log "ok"
