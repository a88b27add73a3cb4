#!/bin/bash
# attack_livesession.sh -- a revocation made while a backup session is
# open.  `user remove` starts a new generation of SECRET that the removed
# user has no wrap of; data the open session writes after it must not
# open with the removed user's old password and a copy of the machine
# file from before (as every storage center keeps it).
. "$(dirname "$0")/lib.sh"
unset BEEMO_PASSWORD_FILE BEEMO_NEW_PASSWORD_FILE BEEMO_USER_PASSWORD_FILE

command -v fusermount3 >/dev/null || t_skip "no fusermount3"
[ -x "$BEEMOFS" ] || t_skip "beemofs is not built"

K="$T/store/keys"
t_appliance
t_pw "$T/bob.pw" bob-pw
"$BEEMOCTL" user add pc1 bob --password-file "$T/admin.pw" \
	--user-password-file "$T/bob.pw" >/dev/null || t_fail "user add"

M="$T/mnt"
t_mount "$M"
echo before >"$M/before.txt"
sync "$M/before.txt"
mkdir -p "$T/k0" && cp -r "$K" "$T/k0/keys"
"$BEEMOCTL" user remove pc1 bob --password-file "$T/admin.pw" \
	>/dev/null || t_fail "user remove"
echo after-removal >"$M/after.txt"
t_umount "$M"

"$BEEMOCTL" restore pc1 latest --target "$T/out" \
	--password-file "$T/admin.pw" >/dev/null || t_fail "restore"
[ "$(cat "$T/out/after.txt")" = after-removal ] || t_fail "restored data"

# bob: the store as a center holds it, with the key files of before.
cp -r "$T/store" "$T/old-store"
rm -rf "$T/old-store/keys"
cp -r "$T/k0/keys" "$T/old-store/keys"
"$BEEMOCTL" --store "$T/old-store" restore pc1 latest --target \
	"$T/bob-out" --user bob --password-file "$T/bob.pw" \
	>"$T/bob.out" 2>&1
[ -e "$T/bob-out/after.txt" ] &&
	t_fail "the removed user reads data written after user remove by" \
		"the session open at the time: $(cat "$T/bob-out/after.txt")"
grep -q 'key generation not present' "$T/bob.out" ||
	t_fail "bob's restore: $(cat "$T/bob.out")"
t_log "ok"
