#!/bin/bash
# attack_session_rsync.sh -- a compromised client (its account, its key
# file, any rsync arguments, file list and file kinds) against what the
# daemon serves: it writes its own session's tree only, reaches no other
# machine, runs no command of its choosing, and "restore" runs beemoctl
# with no option it chooses.  The defences hold: this test fails if one
# of them gives way.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/attack_session_lib.sh"

as_setup
M=$T/run/$AS_M/mnt
# A second machine, with its own account.
B="atk$$b"
"$BEEMOCTL" machine add "$B" --user bob --password-file "$T/admin.pw" \
	--user-password-file "$T/alice.pw" --poste-key "$T/$B.poste" \
	>/dev/null || t_fail "machine add $B"
as_account "beemo-$B"
mine="pwn-$$-$RANDOM"

# Another machine's rsync while only this one's session is open.
as_open
rc=0
(cd "$T" && rsync -e "$T/rsh -l beemo-$B" -a "$T/alice.pw" host::session/) \
	>"$T/o" 2>&1 || rc=$?
[ $rc != 0 ] && grep -q "no backup session is open for $B" "$T/o" ||
	t_fail "machine $B's rsync into $AS_M's session: $rc $(cat "$T/o")"

# The session's tree: no device, no set-uid on the appliance.
opts=$(awk -v m="$M" '$5 == m { print $6 }' /proc/self/mountinfo)
[[ ,$opts, == *,nosuid,* && ,$opts, == *,nodev,* ]] ||
	t_fail "the session is mounted with $opts"

# Symbolic links to the appliance's directories, then files through them;
# absolute paths for rsync's temporary, partial and backup directories.
mkdir -p "$T/src/d" "$T/e/src/d/root/tmp"
echo hello >"$T/src/d/a"
ln -s / "$T/src/d/root"
ln -s /tmp "$T/src/d/tmp"
mknod "$T/src/d/mem" c 1 1
(cd "$T" && as_rsync -aHAXR src/d) || t_fail "rsync"
echo x >"$T/e/src/d/root/tmp/$mine"
(cd "$T/e" && as_rsync -aR --keep-dirlinks "src/d/root/tmp/$mine") ||
	t_fail "rsync through the link"
for o in --temp-dir=/tmp --partial-dir=/tmp/$mine.p --backup-dir=/tmp/$mine.b; do
	echo "$o" >>"$T/src/d/a"
	(cd "$T" && as_rsync -aR --backup $o src/d/a) >/dev/null 2>&1 || true
done
ls -d /tmp/"$mine"* 2>/dev/null && t_fail "the client wrote into /tmp"
head -c 1 "$M/src/d/mem" >/dev/null 2>&1 && t_fail "a device node opens"
# rsync's options that write outside are refused by its daemon.
rc=0
(cd "$T" && as_rsync -aR --write-devices src/d/a) >/dev/null 2>&1 || rc=$?
[ $rc != 0 ] || t_fail "--write-devices accepted"
# Above the module's root: nothing of the appliance's.
rsync -e "$T/rsh" -a host::session/../../../../etc/hostname "$T/got" \
	>/dev/null 2>&1 || true
[ ! -e "$T/got" ] || t_fail "read above the session: $(cat "$T/got")"

# The client's rsync command line is not run: the daemon's is.
out=$(printf '' | setpriv --reuid="beemo-$AS_M" --regid=nogroup \
	--clear-groups env -i \
	SSH_ORIGINAL_COMMAND="rsync --server --sender -logDtpre.iLsfxC . /etc/" \
	"$SESSION" --socket "$T/sd.sock" 2>/dev/null | head -c 9 || true)
[ "$out" = "@RSYNCD: " ] || t_fail "the client's rsync arguments ran: $out"
for cmd in "sh -c id" "open; id" "scp -t /tmp" "internal-sftp" ""; do
	rc=0
	setpriv --reuid="beemo-$AS_M" --regid=nogroup --clear-groups \
		env -i SSH_ORIGINAL_COMMAND="$cmd" "$SESSION" \
		--socket "$T/sd.sock" </dev/null >"$T/o" 2>&1 || rc=$?
	[ $rc = 2 ] && grep -q "unknown request" "$T/o" ||
		t_fail "request '$cmd': $rc $(cat "$T/o")"
done
as_end
[ "$AS_RC" = 0 ] || t_fail "session: $AS_LINE"

# Another machine's key file opens nothing through this account.
for op in open snapshots; do
	rc=0
	as_key "$B" | "$T/rsh" host $op >"$T/o" 2>&1 || rc=$?
	[ $rc = 2 ] && grep -q '^ERR 2 ' "$T/o" ||
		t_fail "$op with machine $B's key file: $rc $(cat "$T/o")"
done

# "restore": SNAP and PATH are never options, the machine is the
# account's, the path stays in the snapshot.
restore() { # USER PASS SNAP PATH
	printf 'USER %s\nPASS %s\n%sSNAP %s\nPATH %s\n' "$1" "${#2}" "$2" \
		"$3" "$4" | "$T/rsh" host restore >"$T/r.out" 2>&1
}
restore alice alice-pw latest /src/d || t_fail "restore: $(head -1 "$T/r.out")"
tail -n +2 "$T/r.out" | tar -tf - >"$T/list" || t_fail "restore's tar"
grep -qx a "$T/list" || t_fail "restore's tar: $(cat "$T/list")"
for args in "alice alice-pw --output=$T/$mine /src/d" \
	"alice alice-pw latest --output=$T/$mine" \
	"alice alice-pw latest ../../../../etc" \
	"alice alice-pw latest /../etc/passwd" \
	"bob alice-pw latest /" "admin admin-pw latest /" \
	"alice wrong-pw latest /src/d"; do
	# shellcheck disable=SC2086
	if restore $args; then
		t_fail "restore $args: $(head -c 200 "$T/r.out")"
	fi
	[[ $(head -1 "$T/r.out") == "ERR 2 "* ]] ||
		t_fail "restore $args: $(head -c 200 "$T/r.out")"
done
[ ! -e "$T/$mine" ] || t_fail "restore wrote $T/$mine"
t_log "ok"
