#!/bin/bash
# keys_crash.sh -- kill -9 of `beemoctl admin passwd --keep-keys` and
# `beemoctl user passwd` at random moments (keys_revoke.sh kills the
# default `admin passwd`, which also replaces keys): afterwards exactly one of the old and the new
# password works, every principal still unlocks the same SECRET, and the
# store stays usable.  scrypt runs at N = 2^14 (an eighth of the default,
# which changes nothing to the sequence under test: two scrypt runs, then
# the atomic replace), so that each round is short; the kill delays are
# spread over twice a measured uninterrupted run, with
# a few more rounds (at most ROUNDS) if the kills did not land both
# before and after the rename.
. "$(dirname "$0")/lib.sh"
# Passwords come only from the files each command names.
unset BEEMO_PASSWORD_FILE BEEMO_NEW_PASSWORD_FILE BEEMO_USER_PASSWORD_FILE

ROUNDS=${KEYS_CRASH_ROUNDS:-24}
K="$T/store/keys"

t_config
t_pw "$T/admin.pw" admin-pw
t_pw "$T/alice.pw" alice-pw
"$BEEMOCTL" init --kdf-n 16384 --password-file "$T/admin.pw" >/dev/null || t_fail init
"$BEEMOCTL" machine add pc1 --user alice --poste-key "$T/pc1.poste" \
	--password-file "$T/admin.pw" --user-password-file "$T/alice.pw" \
	>/dev/null || t_fail "machine add"

kcv() {
	"$BEEMOCTL" key unlock pc1 --json "$@" 2>"$T/unlock.err" |
		python3 -c 'import json,sys
print(" ".join(g["check"] for g in json.load(sys.stdin)["generations"]))'
}
REF=$(kcv --poste-key "$T/pc1.poste")
[ -n "$REF" ] || t_fail "no reference check value"

# works PRINCIPAL-OPTION... PWFILE: does this password unlock pc1 (and give
# the reference SECRET)?
works() {
	local out
	out=$(kcv "$@" 2>/dev/null) || return 1
	[ "$out" = "$REF" ] || t_fail "unlock $* gave '$out', expected '$REF'"
}

# now_ms / duration of one uninterrupted passwd (in ms).
now_ms() { date +%s%3N; }

# crash_loop NAME WHO-OPTIONS PASSWD-ARGS: ROUNDS kills of
# `beemoctl PASSWD-ARGS` switching between two passwords.
crash_loop() {
	local name=$1 who=$2 cmd=$3 cur=0 i t0 span delay pid
	local olds=0 news=0
	# $T/NAME.0 holds the current password; NAME.1 is the other one.
	t_pw "$T/$name.1" "$name-password-one"
	# shellcheck disable=SC2086
	works $who --password-file "$T/$name.0" ||
		t_fail "$name: starting password does not work"
	# Measure one uninterrupted change (0 -> 1) and go back (1 -> 0).
	t0=$(now_ms)
	# shellcheck disable=SC2086
	"$BEEMOCTL" $cmd --password-file "$T/$name.0" \
		--new-password-file "$T/$name.1" >/dev/null ||
		t_fail "$name: passwd"
	span=$(($(now_ms) - t0))
	# shellcheck disable=SC2086
	"$BEEMOCTL" $cmd --password-file "$T/$name.1" \
		--new-password-file "$T/$name.0" >/dev/null ||
		t_fail "$name: passwd back"
	t_log "$name: one uninterrupted change takes $span ms"
	for i in $(seq 1 $((2 * ROUNDS))); do
		if [ "$i" -le "$ROUNDS" ]; then
			# Stratified: round i kills at a random moment of the
			# i-th slice of [0, 2 * span].
			delay=$(((2 * span * (i - 1) +
				RANDOM % (2 * span + 1)) / ROUNDS))
		elif [ $news = 0 ]; then
			# The machine got slower than measured: kill later.
			delay=$((3 * span + RANDOM % (3 * span + 1)))
		elif [ $olds = 0 ]; then
			delay=$((RANDOM % (span / 2 + 1)))
		else
			break
		fi
		# shellcheck disable=SC2086
		"$BEEMOCTL" $cmd --password-file "$T/$name.$cur" \
			--new-password-file "$T/$name.$((1 - cur))" \
			>/dev/null 2>&1 &
		pid=$!
		# The moment of the kill is what is under test.
		sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		# shellcheck disable=SC2086
		if works $who --password-file "$T/$name.$cur"; then
			olds=$((olds + 1))
			# shellcheck disable=SC2086
			! works $who --password-file "$T/$name.$((1 - cur))" ||
				t_fail "$name round $i: both passwords work"
		elif works $who --password-file "$T/$name.$((1 - cur))"; then
			news=$((news + 1))
			cur=$((1 - cur))
		else
			t_fail "$name round $i (kill after $delay ms): neither" \
				"password works: $(cat "$T/unlock.err")"
		fi
		# The rest of the store is usable.
		[ "$(kcv --poste-key "$T/pc1.poste")" = "$REF" ] ||
			t_fail "$name round $i: POSTE key file broken"
		"$BEEMOCTL" machine list >/dev/null ||
			t_fail "$name round $i: machine list"
	done
	t_log "$name: $((olds + news)) kills, old password kept $olds times," \
		"new one $news times"
	[ $olds -gt 0 ] && [ $news -gt 0 ] ||
		t_fail "$name: the kills never landed on both sides"
	# A completed change works and sweeps away killed temporaries.
	# shellcheck disable=SC2086
	"$BEEMOCTL" $cmd --password-file "$T/$name.$cur" \
		--new-password-file "$T/$name.$((1 - cur))" >/dev/null ||
		t_fail "$name: final passwd"
	# shellcheck disable=SC2086
	works $who --password-file "$T/$name.$((1 - cur))" ||
		t_fail "$name: final password"
	if find "$K" -name '*.tmp.*' | grep -q .; then
		t_fail "$name: temporaries left: $(find "$K" -name '*.tmp.*')"
	fi
}

cp "$T/admin.pw" "$T/admin.0"
crash_loop admin "--admin" "admin passwd --keep-keys"
cp "$T/alice.pw" "$T/alice.0"
crash_loop alice "--user alice" "user passwd pc1 alice"
t_log "ok"
