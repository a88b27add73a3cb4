#!/bin/bash
# keys_revoke.sh -- revocation revokes: after `user remove`, `user reset`,
# `key issue` and `admin passwd`, the revoked password or key file, even
# with copies of the key files from before (as a storage center keeps
# them), opens the generations of SECRET made before and not the one made
# by the revocation, nor data written after it; `admin passwd
# --keep-keys` revokes nothing, as documented; and a `beemoctl admin
# passwd` killed at random moments leaves every machine openable by the
# administrator (the error names the password it needs), and running it
# again finishes it.
. "$(dirname "$0")/lib.sh"
unset BEEMO_PASSWORD_FILE BEEMO_NEW_PASSWORD_FILE BEEMO_USER_PASSWORD_FILE

command -v fusermount3 >/dev/null || t_skip "no fusermount3"
[ -x "$BEEMOFS" ] || t_skip "beemofs is not built"

K="$T/store/keys"
t_appliance
t_pw "$T/bob.pw" bob-pw
"$BEEMOCTL" user add pc1 bob --password-file "$T/admin.pw" \
	--user-password-file "$T/bob.pw" >/dev/null || t_fail "user add"

# kcvs STORE ARGS...: "GEN:CHECK ..." of pc1 unlocked from STORE's keys.
kcvs() {
	local store=$1
	shift
	"$BEEMOCTL" --store "$store" key unlock pc1 --json "$@" \
		2>"$T/unlock.err" | python3 -c 'import json,sys
print(" ".join(str(g["generation"]) + ":" + g["check"]
	for g in json.load(sys.stdin)["generations"]))'
}
# checks "GEN:CHECK ...": the check values alone.
checks() { printf '%s\n' "$@" | tr ' ' '\n' | cut -d: -f2; }
# save NAME: the key files as they are now, as a center keeps them
# (STORE $T/NAME with keys only).
save() { mkdir -p "$T/$1" && cp -r "$K" "$T/$1/keys"; }
# revoked HOW OLD NOW: the old key's check values OLD lack the newest
# generation of NOW and hold every older one.
revoked() {
	local how=$1 old=$2 now=$3 last
	[ -n "$old" ] || t_fail "$how: the old key opened nothing"
	last=$(checks "$now" | tail -n 1)
	checks "$old" | grep -qx "$last" &&
		t_fail "$how: the old key opens the new generation"
	[ "$(checks "$old")" = "$(checks "$now" | head -n -1)" ] ||
		t_fail "$how: the old key does not open the older ones:" \
			"'$old' vs '$now'"
}
admin_now() { kcvs "$T/store" --admin --password-file "$1"; }

# Some data in generation 1.
M="$T/mnt"
t_mount "$M"
echo "before" >"$M/before.txt"
t_umount "$M"

# A removed user.
save k0
"$BEEMOCTL" user remove pc1 bob --yes --password-file "$T/admin.pw" \
	>/dev/null || t_fail "user remove"
now=$(admin_now "$T/admin.pw")
[ "$(echo "$now" | wc -w)" = 2 ] || t_fail "remove: no new generation: $now"
revoked "removed user" "$(kcvs "$T/k0" --user bob --password-file \
	"$T/bob.pw")" "$now"

# A password reset: the old password with the old file.
save k1
t_pw "$T/alice2.pw" alice-pw-2
"$BEEMOCTL" user reset pc1 alice --yes --password-file "$T/admin.pw" \
	--new-password-file "$T/alice2.pw" >/dev/null || t_fail "user reset"
now=$(admin_now "$T/admin.pw")
revoked "reset user" "$(kcvs "$T/k1" --user alice --password-file \
	"$T/alice.pw")" "$now"
[ "$(kcvs "$T/store" --user alice --password-file "$T/alice2.pw")" = \
	"$now" ] || t_fail "reset: the new password does not open everything"

# A new POSTE key file: the old one with the old machine file.
save k2
"$BEEMOCTL" key issue pc1 --yes --poste-key "$T/pc1-new.poste" \
	--password-file "$T/admin.pw" >/dev/null || t_fail "key issue"
now=$(admin_now "$T/admin.pw")
revoked "old POSTE key file" "$(kcvs "$T/k2" --poste-key \
	"$T/pc1.poste")" "$now"
t_must_fail "old POSTE key file, today's machine file" \
	kcvs "$T/store" --poste-key "$T/pc1.poste"
mv "$T/pc1-new.poste" "$T/pc1.poste"
[ "$(kcvs "$T/store" --poste-key "$T/pc1.poste")" = "$now" ] ||
	t_fail "new POSTE key file"

# --keep-keys: only the password changes; the old admin.key with the old
# password still opens today's machine file (documented: it revokes
# nothing).
save k3
t_pw "$T/admin2.pw" admin-pw-2
"$BEEMOCTL" admin passwd --keep-keys --password-file "$T/admin.pw" \
	--new-password-file "$T/admin2.pw" >/dev/null ||
	t_fail "admin passwd --keep-keys"
[ "$(admin_now "$T/admin2.pw")" = "$now" ] ||
	t_fail "--keep-keys changed the generations"
cp "$K/machines/pc1.key" "$T/k3/keys/machines/pc1.key"
[ "$(kcvs "$T/k3" --admin --password-file "$T/admin.pw")" = "$now" ] ||
	t_fail "--keep-keys: the old admin.key no longer opens pc1"

# admin passwd: a new key pair.  The old admin.key and old password open
# the old machine file's generations only, and nothing of today's.
save k4
t_pw "$T/admin3.pw" admin-pw-3
"$BEEMOCTL" admin passwd --password-file "$T/admin2.pw" \
	--new-password-file "$T/admin3.pw" >/dev/null || t_fail "admin passwd"
now=$(admin_now "$T/admin3.pw")
revoked "old admin.key" "$(kcvs "$T/k4" --admin --password-file \
	"$T/admin2.pw")" "$now"
mkdir -p "$T/k5" && cp -r "$T/k4/keys" "$T/k5/keys"
cp "$K/machines/pc1.key" "$T/k5/keys/machines/pc1.key"
t_must_fail "old admin.key, today's machine file" \
	kcvs "$T/k5" --admin --password-file "$T/admin2.pw"
t_must_fail "old password" admin_now "$T/admin2.pw"
[ "$(kcvs "$T/store" --poste-key "$T/pc1.poste")" = "$now" ] ||
	t_fail "the POSTE key file after admin passwd"
[ "$(kcvs "$T/store" --user alice --password-file "$T/alice2.pw")" = \
	"$now" ] || t_fail "alice after admin passwd"

# Data written now is beyond every old key: a copy of the store with the
# key files of before restores the old snapshot and not the new one.
t_mount "$M"
echo "after" >"$M/after.txt"
t_umount "$M"
"$BEEMOCTL" restore pc1 latest --target "$T/out" \
	--password-file "$T/admin3.pw" >/dev/null || t_fail "restore"
[ "$(cat "$T/out/after.txt")" = after ] || t_fail "restored data"
cp -r "$T/store" "$T/old-store"
rm -rf "$T/old-store/keys"
cp -r "$T/k4/keys" "$T/old-store/keys"
t_must_fail "old admin.key restores data written after" \
	"$BEEMOCTL" --store "$T/old-store" restore pc1 latest \
	--target "$T/old-out" --password-file "$T/admin2.pw"
[ ! -e "$T/old-out/after.txt" ] || t_fail "old keys restored new data"
grep -q 'key generation not present' "$T/must_fail.out" ||
	t_fail "old keys on new data: $(cat "$T/must_fail.out")"

# ---- kill -9 of admin passwd ------------------------------------------
"$BEEMOCTL" machine add pc2 --user carol --poste-key "$T/pc2.poste" \
	--password-file "$T/admin3.pw" --user-password-file "$T/bob.pw" \
	>/dev/null || t_fail "machine add pc2"
cp "$T/admin3.pw" "$T/adm.0"
t_pw "$T/adm.1" admin-pw-crash
cur=0
# opens M PW: does PW unlock machine M as the administrator?
opens() {
	"$BEEMOCTL" key unlock "$1" --admin --password-file "$2" \
		>/dev/null 2>"$T/opens.err"
}
first=$(kcvs "$T/store" --admin --password-file "$T/adm.0" | cut -d' ' -f1)
now_ms() { date +%s%3N; }
t0=$(now_ms)
"$BEEMOCTL" admin passwd --password-file "$T/adm.0" \
	--new-password-file "$T/adm.1" >/dev/null || t_fail "timed passwd"
span=$(($(now_ms) - t0))
cur=1
t_log "one admin passwd with two machines takes $span ms"
midway=0
# The key pair is generated first (most of the time) and the machines are
# converted in a short window at the end: odd rounds kill within 30 ms of
# admin.key.new appearing (step 1 done), even rounds at any moment.
for i in $(seq 1 12); do
	[ $midway -ge 2 ] && [ "$i" -gt 6 ] && break
	"$BEEMOCTL" admin passwd --password-file "$T/adm.$cur" \
		--new-password-file "$T/adm.$((1 - cur))" >/dev/null 2>&1 &
	pid=$!
	if [ $((i % 2)) = 1 ]; then
		delay=$((RANDOM % 30))
		while [ ! -e "$K/admin.key.new" ] && t_running "$pid"; do
			:
		done
	else
		delay=$((RANDOM % (3 * span / 2 + 1)))
	fi
	sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
	kill -9 "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	if [ -e "$K/admin.key.new" ]; then
		midway=$((midway + 1))
		# Each machine opens with one of the two passwords; the
		# other names the one to give.
		for m in pc1 pc2; do
			if opens $m "$T/adm.$cur"; then
				! opens $m "$T/adm.$((1 - cur))" ||
					t_fail "round $i: $m opens with both"
				grep -q 'give the old password' "$T/opens.err" ||
					t_fail "round $i: $(cat "$T/opens.err")"
			elif opens $m "$T/adm.$((1 - cur))"; then
				! opens $m "$T/adm.$cur" ||
					t_fail "round $i: $m opens with both"
				grep -q 'give the new password' "$T/opens.err" ||
					t_fail "round $i: $(cat "$T/opens.err")"
			else
				t_fail "round $i (kill after $delay ms): $m" \
					"opens with neither password"
			fi
		done
		t_must_fail "round $i: rotation while unfinished" \
			"$BEEMOCTL" key rotate pc1 --password-file "$T/adm.$cur"
		grep -q 'admin passwd' "$T/must_fail.out" ||
			t_fail "round $i: $(cat "$T/must_fail.out")"
		# Running it again finishes it.
		"$BEEMOCTL" admin passwd --password-file "$T/adm.$cur" \
			--new-password-file "$T/adm.$((1 - cur))" \
			>/dev/null || t_fail "round $i: finishing passwd"
		cur=$((1 - cur))
	elif ! opens pc1 "$T/adm.$cur"; then
		# Finished before the kill.
		cur=$((1 - cur))
	fi
	for m in pc1 pc2; do
		opens $m "$T/adm.$cur" ||
			t_fail "round $i: $m: $(cat "$T/opens.err")"
		! opens $m "$T/adm.$((1 - cur))" ||
			t_fail "round $i: $m opens with the other password"
	done
	[ "$(kcvs "$T/store" --admin --password-file "$T/adm.$cur" |
		cut -d' ' -f1)" = "$first" ] || t_fail "round $i: gen 1 changed"
	[ -n "$(kcvs "$T/store" --poste-key "$T/pc1.poste")" ] ||
		t_fail "round $i: POSTE key file"
done
t_log "$midway kills landed midway"
[ $midway -gt 0 ] || t_fail "no kill landed midway through admin passwd"
if find "$K" -name '*.tmp.*' -o -name 'admin.key.new' | grep -q .; then
	t_fail "left behind: $(find "$K" -name '*.tmp.*' -o -name '*.new')"
fi
t_log "ok"
