#!/bin/bash
# confirm.sh -- every verb that destroys or revokes asks first
# (ctl_confirm): without a terminal and without --yes it refuses with
# exit 2 and "add --yes to do this without a terminal", changing
# nothing; --dry-run says what it would do (with --json, one object with
# "dry_run": true) and changes nothing; on a
# terminal (script(1)) "n" changes nothing and "y" (or the machine's
# name) does it; --yes does it without asking.  Verbs: forget by id,
# retention that would forget, user remove, user reset, key issue,
# erase, machine remove.
. "$(dirname "$0")/lib.sh"

command -v script >/dev/null || t_skip "script (util-linux)"
t_config
t_appliance
t_pw "$T/bob.pw" bob-pw
t_pw "$T/new.pw" new-pw
A=(--password-file "$T/admin.pw")
"$BEEMOCTL" user add pc1 bob "${A[@]}" --user-password-file "$T/bob.pw" \
	>/dev/null || t_fail "user add bob"
K="$T/store/keys"

# The key files and stores; not LMDB's own files, which opening a store
# read-write touches (forget checks the snapshots themselves).
sums() { (cd "$T/store" && find keys machines -type f ! -name '*.mdb' \
	-print0 | sort -z | xargs -0 sha256sum); }

# refused WHAT CMD...: without a terminal and without --yes, CMD exits 2
# with the one line that says to add --yes, and changes nothing.
refused() {
	local what=$1 before rc=0
	shift
	before=$(sums)
	"$@" </dev/null >"$T/out" 2>"$T/err" || rc=$?
	[ "$rc" = 2 ] || t_fail "$what without a terminal: exit $rc, not 2: $(cat "$T/err")"
	grep -q "add --yes to do this without a terminal" "$T/err" ||
		t_fail "$what without a terminal: $(cat "$T/err")"
	[ "$(sums)" = "$before" ] || t_fail "$what without a terminal changed the store"
}

# dry WHAT WORDS CMD...: --dry-run (in CMD) exits 0, says WORDS and
# changes nothing.
dry() {
	local what=$1 words=$2 before
	shift 2
	before=$(sums)
	"$@" </dev/null >"$T/out" 2>&1 || t_fail "$what --dry-run: $(cat "$T/out")"
	grep -q "$words" "$T/out" || t_fail "$what --dry-run says: $(cat "$T/out")"
	[ "$(sums)" = "$before" ] || t_fail "$what --dry-run changed the store"
}

# on_tty ANSWER CMD: run CMD (a string) on a terminal, ANSWER typed.
on_tty() {
	printf '%s\n' "$1" | script -qec "$2" /dev/null >"$T/tty" 2>&1
}

# declined WHAT ANSWER QUESTION CMD: on a terminal, ANSWER to the
# question (which must be asked) exits 1 and changes nothing.
declined() {
	local what=$1 answer=$2 question=$3 cmd=$4 before rc=0
	before=$(sums)
	on_tty "$answer" "$cmd" || rc=$?
	[ "$rc" = 1 ] || t_fail "$what, '$answer' on a terminal: exit $rc: $(cat "$T/tty")"
	grep -q "$question" "$T/tty" || t_fail "$what: no question: $(cat "$T/tty")"
	grep -q "not confirmed" "$T/tty" || t_fail "$what: $(cat "$T/tty")"
	[ "$(sums)" = "$before" ] || t_fail "$what: '$answer' changed the store"
}

users() { "$BEEMOCTL" user list pc1 | tr '\n' ' '; }

# --- forget by id, retention that forgets ------------------------------------
# A first backup session (its end takes snapshot 1), then two more.
t_mount "$T/mnt"
echo data >"$T/mnt/file"
t_umount "$T/mnt"
for n in 2 3; do
	"$BEEMOCTL" snapshot pc1 --note "s$n" "${A[@]}" >/dev/null ||
		t_fail "snapshot $n"
done
ids() {
	"$BEEMOCTL" snapshots pc1 --json "${A[@]}" | python3 -c '
import json, sys
d = json.load(sys.stdin)
d = d["snapshots"]
print(" ".join(str(s["id"]) for s in sorted(d, key=lambda s: s["id"])))'
}
all=$(ids)
first=${all%% *}
[ "$(wc -w <<<"$all")" = 3 ] || t_fail "snapshots: $all"
FG="$BEEMOCTL forget pc1 $first --password-file $T/admin.pw"
refused "forget by id" $FG
declined "forget by id" n "Forget 1 snapshot of pc1 for good?" "$FG"
[ "$(ids)" = "$all" ] || t_fail "a declined forget forgot: $(ids)"
on_tty y "$FG" || t_fail "forget, 'y' on a terminal: $(cat "$T/tty")"
[ "$(ids)" = "${all#* }" ] || t_fail "forget by id: $(ids)"
RT="$BEEMOCTL retention pc1 --keep-last 1 --min-age 0 --password-file $T/admin.pw"
refused "retention that forgets" $RT
dry "retention" "would set the policy of pc1 to keep-last 1" $RT --dry-run
declined "retention that forgets" n "This policy would forget 1 of the 2" "$RT"
"$BEEMOCTL" retention pc1 | grep -qx "pc1: none" || t_fail "policy set after 'n'"
on_tty y "$RT" || t_fail "retention, 'y' on a terminal: $(cat "$T/tty")"
"$BEEMOCTL" retention pc1 | grep -q "^pc1: keep-last 1" ||
	t_fail "retention after 'y': $("$BEEMOCTL" retention pc1)"

# --- user remove -------------------------------------------------------------
RM="$BEEMOCTL user remove pc1 bob --password-file $T/admin.pw"
refused "user remove" $RM
dry "user remove" "would remove user bob of machine pc1" $RM --dry-run
dry "user remove --json" '^{"format":"beemo-user-remove","version":1,.*"dry_run":true' \
	$RM --dry-run --json
declined "user remove" n "Remove user bob of machine pc1?" "$RM"
declined "user remove" "" "Remove user bob of machine pc1?" "$RM"
[ "$(users)" = "alice bob " ] || t_fail "users: $(users)"
on_tty y "$RM" || t_fail "user remove, 'y' on a terminal: $(cat "$T/tty")"
[ "$(users)" = "alice " ] || t_fail "bob not removed: $(users)"

# --- user reset --------------------------------------------------------------
RS="$BEEMOCTL user reset pc1 alice --password-file $T/admin.pw --new-password-file $T/new.pw"
refused "user reset" $RS
dry "user reset" "would reset the password of user alice of machine pc1" \
	$RS --dry-run
dry "user reset --json" '^{"format":"beemo-user-reset","version":1,.*"dry_run":true' \
	$RS --dry-run --json
declined "user reset" n "Reset the password of user alice of machine pc1?" "$RS"
"$BEEMOCTL" key unlock pc1 --user alice --password-file "$T/alice.pw" \
	>/dev/null || t_fail "a declined reset changed alice's password"
$RS --yes >/dev/null </dev/null || t_fail "user reset --yes"
"$BEEMOCTL" key unlock pc1 --user alice --password-file "$T/new.pw" \
	>/dev/null || t_fail "user reset --yes did not set the new password"

# --- key issue ---------------------------------------------------------------
KI="$BEEMOCTL key issue pc1 --poste-key $T/pc1.new --password-file $T/admin.pw"
refused "key issue" $KI
dry "key issue" "would write a new POSTE key file for machine pc1" $KI --dry-run
dry "key issue --json" '^{"format":"beemo-key-issue","version":1,.*"dry_run":true' \
	$KI --dry-run --json
declined "key issue" n "Issue a new POSTE key file for machine pc1?" "$KI"
[ ! -e "$T/pc1.new" ] || t_fail "a declined key issue wrote $T/pc1.new"
on_tty yes "$KI" || t_fail "key issue, 'yes' on a terminal: $(cat "$T/tty")"
[ -s "$T/pc1.new" ] || t_fail "key issue wrote no POSTE key file"
"$BEEMOCTL" key unlock pc1 --poste-key "$T/pc1.poste" >/dev/null 2>&1 &&
	t_fail "the old POSTE key file still works"

# --- erase -------------------------------------------------------------------
refused "erase" "$BEEMOCTL" erase pc1 /home "${A[@]}"

# --- machine remove ----------------------------------------------------------
MR="$BEEMOCTL machine remove pc1 --password-file $T/admin.pw"
refused "machine remove" $MR
dry "machine remove" "would remove machine pc1" $MR --dry-run
declined "machine remove" n "Type pc1 to confirm" "$MR"
"$BEEMOCTL" machine list | grep -q pc1 || t_fail "pc1 gone after 'n'"
$MR --yes >/dev/null </dev/null || t_fail "machine remove --yes"
[ ! -e "$K/machines/pc1.key" ] || t_fail "machine remove --yes kept pc1.key"

# --- the question never comes from /dev/tty behind a pipe --------------------
t_pw "$T/carol.pw" carol-pw
"$BEEMOCTL" machine add pc2 --user carol "${A[@]}" \
	--user-password-file "$T/carol.pw" --poste-key "$T/pc2.poste" \
	>/dev/null || t_fail "machine add pc2"
# A terminal exists (script), but stdin is a pipe: still refused.
script -qec "echo y | $BEEMOCTL user remove pc2 carol ${A[*]}" /dev/null \
	>"$T/tty" 2>&1 </dev/null && t_fail "answered from /dev/tty: $(cat "$T/tty")"
grep -q "add --yes to do this without a terminal" "$T/tty" ||
	t_fail "piped answer: $(cat "$T/tty")"
"$BEEMOCTL" user list pc2 | grep -qx carol || t_fail "carol removed by a pipe"
t_log "ok"
