#!/bin/bash
# keys_cli.sh -- beemoctl's key and user commands end to end: init,
# machines, users, passwords, rotation, POSTE key files, --json output,
# wrong passwords (non-zero exit, one clear line, key files unchanged),
# corrupt key files, usage errors; `key unlock` prints the same check
# values for the administrator, a user and the POSTE key file.
. "$(dirname "$0")/lib.sh"
# Passwords come only from the files each command names.
unset BEEMO_PASSWORD_FILE BEEMO_NEW_PASSWORD_FILE BEEMO_USER_PASSWORD_FILE

K="$T/store/keys"

# sums: sha256 of every key file (the state a failed command must keep).
sums() { (cd "$K" && find . -type f ! -name lock -print0 | sort -z |
	xargs -0 sha256sum); }

# json CMD...: CMD's stdout must be valid JSON.
json() {
	"$@" >"$T/out.json" || t_fail "$*: exit $?"
	python3 -c 'import json,sys; json.load(sys.stdin)' <"$T/out.json" ||
		t_fail "$*: invalid JSON: $(cat "$T/out.json")"
}

# pyget EXPR: evaluate EXPR on the JSON in $T/out.json as `d`.
pyget() {
	python3 -c "import json,sys; d=json.load(sys.stdin); print($1)" \
		<"$T/out.json"
}

# fails_with STATUS REGEX CMD...: CMD exits STATUS, prints exactly one
# line on stderr matching REGEX, and changes no key file.
fails_with() {
	local want=$1 re=$2 rc=0 before
	shift 2
	before=$(sums)
	"$@" >"$T/out.txt" 2>"$T/err.txt" </dev/null || rc=$?
	[ "$rc" = "$want" ] ||
		t_fail "$*: exit $rc, expected $want: $(cat "$T/err.txt")"
	[ "$(wc -l <"$T/err.txt")" = 1 ] ||
		t_fail "$*: expected one line on stderr, got: $(cat "$T/err.txt")"
	grep -Eq "$re" "$T/err.txt" ||
		t_fail "$*: message '$(cat "$T/err.txt")' does not match '$re'"
	[ "$(sums)" = "$before" ] || t_fail "$*: key files changed"
}

# kcvs PRINCIPAL-OPTIONS...: the check values printed by `key unlock`.
kcvs() {
	json "$BEEMOCTL" key unlock pc1 --json "$@"
	pyget '" ".join(g["generation"].__str__() + ":" + g["check"]
		for g in d["generations"])'
}

t_appliance
t_pw "$T/wrong.pw" not-the-password
t_pw "$T/bob.pw" bob-pw

# Modes: directories 0700, files 0600.
for d in "$T/store" "$T/store/machines" "$K" "$K/machines"; do
	[ "$(stat -c %a "$d")" = 700 ] || t_fail "$d: mode $(stat -c %a "$d")"
done
for f in "$K/admin.key" "$K/appliance.key" "$K/machines/pc1.key" \
	"$T/pc1.poste"; do
	[ "$(stat -c %a "$f")" = 600 ] || t_fail "$f: mode $(stat -c %a "$f")"
done

# init refuses a second time.
fails_with 1 'already holds an appliance' \
	"$BEEMOCTL" init "${T_KDF[@]}" --password-file "$T/admin.pw"

# Listings.
json "$BEEMOCTL" machine list --json
[ "$(pyget 'd["machines"][0]["name"], d["machines"][0]["users"],
	d["machines"][0]["current_generation"]')" = "pc1 ['alice'] 1" ] ||
	t_fail "machine list --json: $(cat "$T/out.json")"
"$BEEMOCTL" machine list | grep '^pc1 .*alice' >/dev/null ||
	t_fail "machine list text"
json "$BEEMOCTL" user list pc1 --json
[ "$(pyget 'd["users"]')" = "['alice']" ] || t_fail "user list --json"
json "$BEEMOCTL" key show pc1 --json
[ "$(pyget 'len(d["poste_fingerprint"]), d["current_generation"]')" = \
	"64 1" ] || t_fail "key show --json: $(cat "$T/out.json")"

# Every principal unlocks the same SECRET.
a=$(kcvs --admin --password-file "$T/admin.pw")
u=$(kcvs --user alice --password-file "$T/alice.pw")
p=$(kcvs --poste-key "$T/pc1.poste")
[ -n "$a" ] && [ "$a" = "$u" ] && [ "$a" = "$p" ] ||
	t_fail "check values differ: admin '$a' user '$u' poste '$p'"
"$BEEMOCTL" key unlock pc1 --admin --password-file "$T/admin.pw" |
	grep -q 'current' || t_fail "key unlock text output"

# Passwords from standard input and from the environment.
"$BEEMOCTL" key unlock pc1 --admin --password-file - <"$T/admin.pw" \
	>/dev/null || t_fail "--password-file -"
BEEMO_PASSWORD_FILE="$T/alice.pw" "$BEEMOCTL" key unlock pc1 --user alice \
	>/dev/null || t_fail "BEEMO_PASSWORD_FILE"
# No terminal and no file: a clear error, not a hang.
fails_with 1 'no terminal' setsid -w "$BEEMOCTL" key unlock pc1 --admin

# Wrong passwords: exit 1, one line, nothing changed.
fails_with 1 'wrong password' "$BEEMOCTL" key unlock pc1 --admin \
	--password-file "$T/wrong.pw"
fails_with 1 'wrong password' "$BEEMOCTL" key unlock pc1 --user alice \
	--password-file "$T/wrong.pw"
fails_with 1 'wrong password' "$BEEMOCTL" admin passwd \
	--password-file "$T/wrong.pw" --new-password-file "$T/bob.pw"
fails_with 1 'wrong password' "$BEEMOCTL" user passwd pc1 alice \
	--password-file "$T/wrong.pw" --new-password-file "$T/bob.pw"
fails_with 1 'wrong password' "$BEEMOCTL" user reset pc1 alice --yes \
	--password-file "$T/wrong.pw" --new-password-file "$T/bob.pw"
fails_with 1 'wrong password' "$BEEMOCTL" user add pc1 bob \
	--password-file "$T/wrong.pw" --user-password-file "$T/bob.pw"
fails_with 1 'wrong password' "$BEEMOCTL" key rotate pc1 \
	--password-file "$T/wrong.pw"
fails_with 1 'wrong password' "$BEEMOCTL" key issue pc1 --yes \
	--poste-key "$T/x.poste" --password-file "$T/wrong.pw"
fails_with 1 'wrong password' "$BEEMOCTL" machine add pc2 --user bob \
	--poste-key "$T/x.poste" --password-file "$T/wrong.pw" \
	--user-password-file "$T/bob.pw"
fails_with 1 'wrong password' "$BEEMOCTL" machine remove pc1 --yes \
	--password-file "$T/wrong.pw"
[ ! -e "$T/x.poste" ] || t_fail "a POSTE key file was left behind"

# Missing things.
fails_with 1 'machine pc9 does not exist' "$BEEMOCTL" key unlock pc9 \
	--admin --password-file "$T/admin.pw"
fails_with 1 'machine pc9 does not exist' "$BEEMOCTL" key show pc9
fails_with 1 'machine pc1 has no user bob' "$BEEMOCTL" key unlock pc1 \
	--user bob --password-file "$T/bob.pw"
fails_with 1 'no appliance here' "$BEEMOCTL" --store "$T/nowhere" \
	machine list

# Corrupt key files name the file and the fault.
cp "$K/machines/pc1.key" "$T/pc1.key.orig"
printf '\x42' | dd of="$K/machines/pc1.key" bs=1 seek=200 conv=notrunc \
	2>/dev/null
fails_with 1 'key file .*/machines/pc1.key is corrupt \(digest mismatch\)' \
	"$BEEMOCTL" key unlock pc1 --admin --password-file "$T/admin.pw"
fails_with 1 'pc1.key is corrupt' "$BEEMOCTL" user passwd pc1 alice \
	--password-file "$T/alice.pw" --new-password-file "$T/bob.pw"
cp "$T/pc1.key.orig" "$K/machines/pc1.key"
cp "$K/admin.key" "$T/admin.key.orig"
head -c 100 "$T/admin.key.orig" >"$K/admin.key"
fails_with 1 'admin.key is corrupt' "$BEEMOCTL" machine list
cp "$T/admin.key.orig" "$K/admin.key"
printf 'not a key\n' >"$T/junk.poste"
fails_with 1 'junk.poste is not a Beemo POSTE key file' "$BEEMOCTL" key \
	unlock pc1 --poste-key "$T/junk.poste"

# A second machine; its POSTE key file does not open pc1.
"$BEEMOCTL" machine add pc2 --user bob --poste-key "$T/pc2.poste" \
	--password-file "$T/admin.pw" --user-password-file "$T/bob.pw" \
	>/dev/null || t_fail "machine add pc2"
fails_with 1 'this POSTE key file .* belongs to machine pc2' \
	"$BEEMOCTL" key unlock pc1 --poste-key "$T/pc2.poste"
fails_with 1 'machine pc2 has no user alice' "$BEEMOCTL" key unlock pc2 \
	--user alice --password-file "$T/alice.pw"
fails_with 1 'already exists' "$BEEMOCTL" machine add pc2 --user bob \
	--poste-key "$T/pc2b.poste" --password-file "$T/admin.pw" \
	--user-password-file "$T/bob.pw"

# Users, with the passwords from the environment.
BEEMO_PASSWORD_FILE="$T/admin.pw" BEEMO_USER_PASSWORD_FILE="$T/bob.pw" \
	"$BEEMOCTL" user add pc1 bob >/dev/null || t_fail "user add"
[ "$("$BEEMOCTL" user list pc1 | tr '\n' ' ')" = "alice bob " ] ||
	t_fail "user list after add"
[ "$(kcvs --user bob --password-file "$T/bob.pw")" = "$a" ] ||
	t_fail "bob's check values"
t_pw "$T/bob2.pw" bob-pw-2
BEEMO_PASSWORD_FILE="$T/bob.pw" BEEMO_NEW_PASSWORD_FILE="$T/bob2.pw" \
	"$BEEMOCTL" user passwd pc1 bob >/dev/null || t_fail "user passwd"
fails_with 1 'wrong password' "$BEEMOCTL" key unlock pc1 --user bob \
	--password-file "$T/bob.pw"
[ "$(kcvs --user bob --password-file "$T/bob2.pw")" = "$a" ] ||
	t_fail "check values after user passwd"
# A reset and a removal each start a new generation (keys_revoke.sh
# shows what the old keys can still open).
"$BEEMOCTL" user reset pc1 bob --yes --password-file "$T/admin.pw" \
	--new-password-file "$T/bob.pw" >/dev/null || t_fail "user reset"
fails_with 1 'wrong password' "$BEEMOCTL" key unlock pc1 --user bob \
	--password-file "$T/bob2.pw"
a=$(kcvs --admin --password-file "$T/admin.pw")
[ "$(echo "$a" | wc -w)" = 2 ] || t_fail "no new generation at reset: $a"
[ "$(kcvs --user bob --password-file "$T/bob.pw")" = "$a" ] ||
	t_fail "check values after user reset"
"$BEEMOCTL" user remove pc1 bob --yes --password-file "$T/admin.pw" \
	>/dev/null || t_fail "user remove"
fails_with 1 'machine pc1 has no user bob' "$BEEMOCTL" key unlock pc1 \
	--user bob --password-file "$T/bob.pw"
a=$(kcvs --admin --password-file "$T/admin.pw")
[ "$(echo "$a" | wc -w)" = 3 ] || t_fail "no new generation at remove: $a"

# Rotation: generation 4 is current, older ones unchanged, every
# principal sees all.
[ "$("$BEEMOCTL" key rotate pc1 --password-file "$T/admin.pw")" = 4 ] ||
	t_fail "key rotate did not print 4"
a2=$(kcvs --admin --password-file "$T/admin.pw")
[ "${a2% *}" = "$a" ] || t_fail "generations changed: '$a' -> '$a2'"
[ "$(echo "$a2" | wc -w)" = 4 ] || t_fail "not four generations: $a2"
[ "$(kcvs --user alice --password-file "$T/alice.pw")" = "$a2" ] ||
	t_fail "user after rotation"
[ "$(kcvs --poste-key "$T/pc1.poste")" = "$a2" ] || t_fail "POSTE after rotation"
json "$BEEMOCTL" key show pc1 --json
[ "$(pyget 'd["current_generation"], len(d["generations"]),
	d["generations"][-1]["current"]')" = "4 4 True" ] ||
	t_fail "key show after rotation: $(cat "$T/out.json")"

# Administrator password change with --keep-keys keeps everything.
t_pw "$T/admin2.pw" admin-pw-2
"$BEEMOCTL" admin passwd --keep-keys --password-file "$T/admin.pw" \
	--new-password-file "$T/admin2.pw" >/dev/null || t_fail "admin passwd"
fails_with 1 'wrong password' "$BEEMOCTL" key unlock pc1 --admin \
	--password-file "$T/admin.pw"
[ "$(kcvs --admin --password-file "$T/admin2.pw")" = "$a2" ] ||
	t_fail "admin after passwd"
cp "$T/admin2.pw" "$T/admin.pw"

# A new POSTE key file: the old one is refused, the new one works.
old_fpr=$("$BEEMOCTL" key show pc1 --json | python3 -c \
	'import json,sys; print(json.load(sys.stdin)["poste_fingerprint"])')
fails_with 1 'already exists' "$BEEMOCTL" key issue pc1 --yes \
	--poste-key "$T/pc1.poste" --password-file "$T/admin.pw"
"$BEEMOCTL" key issue pc1 --yes --poste-key "$T/pc1-new.poste" \
	--password-file "$T/admin.pw" >/dev/null || t_fail "key issue"
[ "$(stat -c %a "$T/pc1-new.poste")" = 600 ] || t_fail "new POSTE mode"
fails_with 1 'replaced by a newer one' "$BEEMOCTL" key unlock pc1 \
	--poste-key "$T/pc1.poste"
a3=$(kcvs --admin --password-file "$T/admin.pw")
[ "${a3% *}" = "$a2" ] || t_fail "no new generation at issue: $a3"
[ "$(kcvs --poste-key "$T/pc1-new.poste")" = "$a3" ] ||
	t_fail "new POSTE key file"
json "$BEEMOCTL" key show pc1 --json
[ "$(pyget 'd["poste_fingerprint"]')" != "$old_fpr" ] ||
	t_fail "POSTE fingerprint unchanged"

# Usage errors exit 2; --help exits 0.
for args in "machine" "machine frob" "machine add" "machine add pc3" \
	"user add pc1" "key unlock pc1" "key unlock pc1 --admin --user x" \
	"key issue pc1" "init --bogus" "user list" "key show pc1 extra"; do
	rc=0
	# shellcheck disable=SC2086
	"$BEEMOCTL" $args >/dev/null 2>&1 </dev/null || rc=$?
	[ $rc = 2 ] || t_fail "beemoctl $args: exit $rc, expected 2"
done
for args in "init" "admin passwd" "machine add" "machine list" \
	"machine remove" "user add" "user list" "user remove" "user passwd" \
	"user reset" "key show" "key rotate" "key issue" "key unlock"; do
	# shellcheck disable=SC2086
	"$BEEMOCTL" $args --help | grep '^usage: beemoctl' >/dev/null ||
		t_fail "beemoctl $args --help"
done

# Removing a machine off a terminal needs --yes and says why.
fails_with 2 'add --yes to do this without a terminal' "$BEEMOCTL" \
	machine remove pc2 --password-file "$T/admin.pw"
"$BEEMOCTL" machine remove pc2 --yes --password-file "$T/admin.pw" \
	>/dev/null || t_fail "machine remove"
[ ! -e "$K/machines/pc2.key" ] || t_fail "pc2.key still there"
fails_with 1 'machine pc2 does not exist' "$BEEMOCTL" key unlock pc2 \
	--poste-key "$T/pc2.poste"
[ "$("$BEEMOCTL" machine list --json | python3 -c \
	'import json,sys; print([m["name"] for m in json.load(sys.stdin)["machines"]])')" \
	= "['pc1']" ] || t_fail "machine list after remove"

# No password ever reached a file in clear.
if grep -rqa -e admin-pw -e alice-pw -e bob-pw "$K" "$T/pc1-new.poste"; then
	t_fail "a password appears in a key file"
fi
t_log "ok"
