#!/bin/bash
# session_keys.sh -- what a client's key file and its confined account
# can open, and nothing more:
#   - machine A's key file cannot open machine B: pc1's key file
#     presented by pc2's account, and pc2's presented by pc1's account,
#     are refused (exit 2, a message naming the key file);
#   - a corrupt key file (one byte changed), a file that is no key file
#     and a revoked one (replaced by `beemoctl key issue`) are refused the
#     same way, and the new key file works; no refused attempt leaves a
#     snapshot;
#   - a beemo-* account runs nothing but beemo-session: an unknown
#     request, a shell, a command, a TTY, sftp, port forwarding (-W, -R)
#     are refused; rsync without an open session is refused.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd_lib.sh"
. "$(dirname "$0")/netns_lib.sh"

netns_require
netns_setup 2
for i in 1 2; do
	mkdir -p "${NS_DIR[$i]}/data"
	echo "pc$i" >"${NS_DIR[$i]}/data/f"
done
cp "${NS_KEY[1]}" "${NS_DIR[2]}/other.poste"
cp "${NS_KEY[2]}" "${NS_DIR[1]}/other.poste"

# refused I LOG WHAT: beemo-backup of client I (key $NS_USEKEY) must exit
# 2 with a message about the key file, and leave no snapshot.
refused() {
	local i=$1 log=$2 what=$3 rc=0
	netns_backup "$i" "$log" "${NS_DIR[$i]}/data" || rc=$?
	[ $rc = 2 ] || t_fail "$what: exit $rc, not 2 ($(cat "$T/$log.err"))"
	grep -qi "key file" "$T/$log.err" ||
		t_fail "$what: no clear message: $(cat "$T/$log.err")"
	t_log "$what: $(head -1 "$T/$log.err")"
}
NS_USEKEY="${NS_DIR[2]}/other.poste" refused 2 ab "pc1's key file by pc2's account"
NS_USEKEY="${NS_DIR[1]}/other.poste" refused 1 ba "pc2's key file by pc1's account"
grep -q "${NS_M[2]}" "$T/ab.err" ||
	t_fail "pc1's key for pc2 does not name pc2: $(cat "$T/ab.err")"

cp "${NS_KEY[1]}" "${NS_DIR[1]}/corrupt.poste"
printf '\x55' | dd of="${NS_DIR[1]}/corrupt.poste" bs=1 seek=300 conv=notrunc \
	status=none
cmp -s "${NS_KEY[1]}" "${NS_DIR[1]}/corrupt.poste" && printf '\xaa' |
	dd of="${NS_DIR[1]}/corrupt.poste" bs=1 seek=300 conv=notrunc status=none
NS_USEKEY="${NS_DIR[1]}/corrupt.poste" refused 1 corrupt "a corrupt key file"
grep -qi "corrupt" "$T/corrupt.err" || t_fail "corrupt: $(cat "$T/corrupt.err")"
head -c 700 /dev/urandom >"${NS_DIR[1]}/junk.poste"
NS_USEKEY="${NS_DIR[1]}/junk.poste" refused 1 junk "a file that is no key file"

# A raw OP open with the wrong key gets ERR 2.
{ printf 'KEY %d\n' "$(stat -c %s "${NS_DIR[1]}/other.poste")"
	cat "${NS_DIR[1]}/other.poste"; } |
	netns_ssh 1 "" open >"$T/raw.out" 2>&1 || true
grep -q "^ERR 2 .*${NS_M[1]}.*key file" "$T/raw.out" ||
	t_fail "raw open with pc2's key: $(cat "$T/raw.out")"

# Revoked: a new key file is issued; the old one is refused.
"$BEEMOCTL" key issue "${NS_M[1]}" --poste-key "$T/new.poste" --yes \
	--password-file "$T/admin.pw" >/dev/null || t_fail "key issue"
mv "$T/new.poste" "${NS_DIR[1]}/new.poste"
refused 1 revoked "a revoked key file"
NS_USEKEY="${NS_DIR[1]}/new.poste" netns_backup 1 new "${NS_DIR[1]}/data" ||
	t_fail "the new key file: exit $? ($(cat "$T/new.err"))"
[ "$(netns_snapshots 1)" = "1	end of backup session" ] ||
	t_fail "snapshots of pc1 after refused attempts: $(netns_snapshots 1)"
[ -z "$(netns_snapshots 2)" ] || t_fail "pc2 has snapshots: $(netns_snapshots 2)"

# ---- the account runs beemo-session only
t_expect_log 'PTY allocation request failed'
for cmd in "ls /" "sh -c id" "id" "/bin/sh" "" "scp -t /tmp" \
	"open; id" "rsync --daemon" "snapshots x; id"; do
	rc=0
	netns_ssh 1 "" $cmd </dev/null >"$T/cmd.out" 2>&1 || rc=$?
	grep -q "uid=" "$T/cmd.out" && t_fail "[$cmd] ran a command: $(cat "$T/cmd.out")"
	[ $rc = 2 ] || t_fail "[$cmd]: exit $rc, not 2 ($(cat "$T/cmd.out"))"
	grep -q "beemo-session: unknown request" "$T/cmd.out" ||
		t_fail "[$cmd]: $(cat "$T/cmd.out")"
done
rc=0
netns_ssh 1 "" -tt -- id </dev/null >"$T/tty.out" 2>&1 || rc=$?
grep -q "uid=" "$T/tty.out" && t_fail "ssh -tt ran a command"
rc=0
echo ls | netns_in 1 sftp $(netns_ssh_opts 1) -b - \
	"${NS_ACCT[1]}@${NS_ADDR[1]}" >"$T/sftp.out" 2>&1 || rc=$?
[ $rc != 0 ] || t_fail "sftp works: $(cat "$T/sftp.out")"
rc=0
netns_ssh 1 "" -W "${NS_ADDR[1]}:22" -- </dev/null >"$T/fwd.out" 2>&1 || rc=$?
grep -q "SSH-2.0" "$T/fwd.out" && t_fail "ssh -W forwards to the appliance's port 22"
[ $rc != 0 ] || t_fail "ssh -W succeeded"
rc=0
netns_ssh 1 "" -o ExitOnForwardFailure=yes -N \
	-R "127.0.0.1:2222:127.0.0.1:22" -- </dev/null >"$T/rfwd.out" 2>&1 || rc=$?
[ $rc = 255 ] || t_fail "ssh -R: exit $rc ($(cat "$T/rfwd.out"))"
ip netns exec "$NS_APP" ss -Htln | grep -q ':2222 ' &&
	t_fail "a remote forward listens on the appliance"

# rsync without an open session.
rc=0
netns_in 1 rsync -a -e "ssh $(netns_ssh_opts 1 | tr '\n' ' ') -l ${NS_ACCT[1]}" \
	"${NS_DIR[1]}/data/" "${NS_ADDR[1]}::session/" >"$T/rsync.out" 2>&1 || rc=$?
[ $rc != 0 ] || t_fail "rsync without a session succeeded"
grep -q "no backup session is open for ${NS_M[1]}" "$T/rsync.out" ||
	t_fail "rsync without a session: $(cat "$T/rsync.out")"
