#!/bin/bash
# attack_livesession.sh -- a revocation asked for while a backup session
# is open.  The session seals with the generation it unlocked at its
# start, so `user remove`, `user reset`, `key issue`, `key rotate` and
# `admin passwd` must refuse while it runs (key files unchanged), and
# succeed once it has ended; the next session writes with the new
# generation, which the removed user's old password and a copy of the
# key files from before (as every storage center keeps it) do not open.
. "$(dirname "$0")/lib.sh"
unset BEEMO_PASSWORD_FILE BEEMO_NEW_PASSWORD_FILE BEEMO_USER_PASSWORD_FILE

command -v fusermount3 >/dev/null || t_skip "no fusermount3"
[ -x "$BEEMOFS" ] || t_skip "beemofs is not built"

K="$T/store/keys"
t_appliance
t_pw "$T/bob.pw" bob-pw
t_pw "$T/new.pw" new-pw
"$BEEMOCTL" user add pc1 bob --password-file "$T/admin.pw" \
	--user-password-file "$T/bob.pw" >/dev/null || t_fail "user add"

gen() {
	"$BEEMOCTL" key show pc1 --json |
		sed -n 's/.*"current_generation": *\([0-9]*\).*/\1/p'
}
# refused WHAT CMD...: CMD fails with the message, and changes no key file.
refused() {
	local what=$1
	shift
	t_must_fail "$what during a session" "$@"
	grep -q "machine pc1 has a backup session open: end it first" \
		"$T/must_fail.out" || t_fail "$what: $(cat "$T/must_fail.out")"
	diff -r "$T/k0/keys" "$K" >/dev/null ||
		t_fail "$what changed the key files while refused"
	[ "$(gen)" = "$g0" ] || t_fail "$what: generation $(gen), not $g0"
}

M="$T/mnt"
t_mount "$M"
echo before >"$M/before.txt"
sync "$M/before.txt"
mkdir -p "$T/k0" && cp -r "$K" "$T/k0/keys"
g0=$(gen)
[ -n "$g0" ] || t_fail "no current generation in key show"

refused "user remove" "$BEEMOCTL" user remove pc1 bob --yes \
	--password-file "$T/admin.pw"
refused "user reset" "$BEEMOCTL" user reset pc1 alice --yes \
	--password-file "$T/admin.pw" --new-password-file "$T/new.pw"
refused "key issue" "$BEEMOCTL" key issue pc1 --yes --poste-key "$T/new.poste" \
	--password-file "$T/admin.pw"
[ -e "$T/new.poste" ] && t_fail "key issue wrote a POSTE key file"
refused "key rotate" "$BEEMOCTL" key rotate pc1 --password-file "$T/admin.pw"
refused "admin passwd" "$BEEMOCTL" admin passwd \
	--password-file "$T/admin.pw" --new-password-file "$T/new.pw"
"$BEEMOCTL" admin passwd --keep-keys --password-file "$T/admin.pw" \
	--new-password-file "$T/admin.pw" >/dev/null ||
	t_fail "admin passwd --keep-keys refused during a session"

# The session was not disturbed.
echo during >"$M/during.txt"
t_umount "$M"
# Before the removal bob opens what the session wrote.
"$BEEMOCTL" restore pc1 latest --target "$T/bob-1" --user bob \
	--password-file "$T/bob.pw" >/dev/null || t_fail "bob's restore before"
[ "$(cat "$T/bob-1/during.txt")" = during ] || t_fail "bob's during.txt"

"$BEEMOCTL" user remove pc1 bob --yes --password-file "$T/admin.pw" \
	>/dev/null || t_fail "user remove after the session"
rm "$T/pc1.poste"
"$BEEMOCTL" -q key issue pc1 --yes --poste-key "$T/pc1.poste" \
	--password-file "$T/admin.pw" || t_fail "key issue after the session"
[ "$(gen)" -ge $((g0 + 2)) ] || t_fail "generation $(gen) after $g0 + 2"

t_mount "$M"
echo after-removal >"$M/after.txt"
t_umount "$M"

"$BEEMOCTL" restore pc1 latest --target "$T/out" \
	--password-file "$T/admin.pw" >/dev/null || t_fail "restore"
[ "$(cat "$T/out/after.txt")" = after-removal ] || t_fail "restored data"
[ "$(cat "$T/out/during.txt")" = during ] || t_fail "restored during.txt"

# bob: the store as a center holds it, with the key files of before.
cp -r "$T/store" "$T/old-store"
rm -rf "$T/old-store/keys"
cp -r "$T/k0/keys" "$T/old-store/keys"
if "$BEEMOCTL" --store "$T/old-store" restore pc1 latest --target \
	"$T/bob-out" --user bob --password-file "$T/bob.pw" \
	>"$T/bob.out" 2>&1; then
	t_fail "the removed user restores the snapshot written after" \
		"user remove"
fi
[ -e "$T/bob-out/after.txt" ] &&
	t_fail "the removed user reads data written after user remove by" \
		"the next session: $(cat "$T/bob-out/after.txt")"
grep -q 'key generation not present' "$T/bob.out" ||
	t_fail "bob's restore: $(cat "$T/bob.out")"
t_log "ok"
