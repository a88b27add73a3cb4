#!/bin/bash
# backup_cli.sh -- beemo-backup, the client, before any session: its
# --help agrees with beemo-backup(1) (verbs, options, the shared EXIT
# STATUS table); usage errors exit 2 before connecting; a missing,
# empty or oversized key file and a missing PATH exit 2 with a message
# naming it; an appliance that cannot be reached, whose host key is not
# known, or that refuses the login exits 1 and names the step (and ssh
# never asks a question: BatchMode).  A real sshd on 127.0.0.1
# (sshd_lib.sh).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/man_lib.sh"
. "$(dirname "$0")/sshd_lib.sh"

BACKUP="$BEEMO_BUILD/tools/beemo-backup"
MAN_DIR="$(cd "$(dirname "$0")/../../man" && pwd)"
[ -x "$BACKUP" ] || t_fail "$BACKUP not built"

# ---- --help and the manual page ---------------------------------------
if command -v mandoc >/dev/null; then
	man_check_help "$BACKUP" "$MAN_DIR/beemo-backup.1" ||
		t_fail "--help and beemo-backup.1 differ (see above)"
	man_render "$MAN_DIR/beemo-backup.1" "$T/page.txt"
	man_check_exits "$T/page.txt" '^EXAMPLES'
	man_check_json "$T/page.txt" "$MAN_DIR/beemo-backup.1" ||
		t_fail "beemo-backup.1: JSON example"
	grep -q '"format": "beemo-backup-summary"' "$T/page.txt" ||
		t_fail "beemo-backup.1 does not show beemo-backup-summary"
	for s in SCHEDULE 'OTHER CLIENTS' FILES EXAMPLES; do
		grep -q "^$s" "$T/page.txt" || t_fail "beemo-backup.1: no $s"
	done
else
	t_log "mandoc missing: the page is not compared with --help"
fi
for v in "" backup snapshots restore; do
	# shellcheck disable=SC2086
	"$BACKUP" $v --help >"$T/help.txt" || t_fail "$v --help: status $?"
	awk -v v="$v" 'length($0) > 80 && !/^usage:/ {
		print "beemo-backup " v " --help: " $0; bad = 1 }
		END { exit bad }' "$T/help.txt" || t_fail "--help over 80 columns"
done
"$BACKUP" --version | grep -q '^beemo-backup [0-9]' || t_fail "--version"

# ---- usage errors: status 2, nothing attempted --------------------------
head -c 300 /dev/urandom >"$T/pc1.poste"
mkdir -p "$T/src"
echo data >"$T/src/f"
# An appliance nobody listens on: a usage error must come first.
A=(--appliance 127.0.0.1 --port "$(sshd_free_port)" --machine pc1)
usage_error() {
	local rc=0
	"$BACKUP" "$@" >"$T/out" 2>"$T/err" </dev/null || rc=$?
	[ "$rc" = 2 ] || t_fail "status $rc, not 2, for: $* ($(cat "$T/err"))"
	grep -q . "$T/err" || t_fail "no message for: $*"
}
usage_error
usage_error --bogus
usage_error "${A[@]}" --key "$T/pc1.poste"
usage_error "${A[@]}" "$T/src"
usage_error --machine pc1 --key "$T/pc1.poste" "$T/src"
usage_error --appliance 127.0.0.1 --key "$T/pc1.poste" "$T/src"
usage_error unknown-verb "${A[@]}"
usage_error backup "${A[@]}" --key "$T/pc1.poste" --user alice "$T/src"
grep -q -- '--user' "$T/err" || t_fail "the option of another verb is not named"
usage_error snapshots "${A[@]}" --key "$T/pc1.poste" --dry-run
usage_error snapshots "${A[@]}" --key "$T/pc1.poste" "$T/src"
usage_error restore "${A[@]}" --user alice --target "$T" /x /y
usage_error restore "${A[@]}" --user alice /x
usage_error restore "${A[@]}" --target "$T" /x
usage_error restore "${A[@]}" --user alice --target "$T" -- -x
usage_error restore "${A[@]}" --user alice --target "$T" \
	--password-file "$T/pw" --password-fd 0 /x
usage_error restore "${A[@]}" --user alice --target "$T/none" \
	--password-file "$T/pc1.poste" /x
usage_error "${A[@]}" --port 0 --key "$T/pc1.poste" "$T/src"
usage_error --appliance -oProxyCommand=x --machine pc1 \
	--key "$T/pc1.poste" "$T/src"
usage_error "${A[@]}" --key "$T/pc1.poste" "$T/src/missing"
grep -q "$T/src/missing" "$T/err" || t_fail "the missing PATH is not named"
usage_error "${A[@]}" --key "$T/pc1.poste" --exclude-from "$T/no-excl" \
	"$T/src"
grep -q "exclude file" "$T/err" || t_fail "the missing exclude file"

# ---- the key file ------------------------------------------------------
usage_error "${A[@]}" --key "$T/none.poste" "$T/src"
grep -q "key file $T/none.poste: No such file" "$T/err" ||
	t_fail "missing key file: $(cat "$T/err")"
: >"$T/empty.poste"
usage_error "${A[@]}" --key "$T/empty.poste" "$T/src"
grep -q "empty" "$T/err" || t_fail "empty key file: $(cat "$T/err")"
head -c 70000 /dev/zero >"$T/big.poste"
usage_error "${A[@]}" --key "$T/big.poste" "$T/src"
grep -q "64 KiB" "$T/err" || t_fail "oversized key file: $(cat "$T/err")"
usage_error snapshots "${A[@]}" --key "$T"
grep -q "not a regular file" "$T/err" || t_fail "key file a directory"

# ---- the connection: status 1, the step named -------------------------
sshd_require
fail_step() {
	local rc=0
	timeout 30 "$BACKUP" "$@" >"$T/out" 2>"$T/err" </dev/null || rc=$?
	[ "$rc" = 1 ] || t_fail "status $rc, not 1, for: $* ($(cat "$T/err"))"
	grep -q "connecting to the appliance 127.0.0.1 as beemo-pc1 failed" \
		"$T/err" || t_fail "the failed step is not named: $(cat "$T/err")"
	[ ! -s "$T/out" ] || t_fail "output on a failure: $(cat "$T/out")"
}
# Nobody listens.
fail_step "${A[@]}" --key "$T/pc1.poste" -i "$T/id_ed25519" \
	--known-hosts /dev/null "$T/src"
grep -q "Connection refused" "$T/err" || t_fail "ssh's message is not shown"
fail_step snapshots "${A[@]}" --key "$T/pc1.poste" -i "$T/id_ed25519"
# A real sshd whose host key the client does not know: refused, never
# asked (StrictHostKeyChecking=yes, BatchMode=yes).
sshd_start app
B=(--appliance 127.0.0.1 --port "${SSHD_PORT[app]}" --machine pc1
	-i "$T/id_ed25519")
: >"$T/known_hosts_empty"
fail_step "${B[@]}" --known-hosts "$T/known_hosts_empty" \
	--key "$T/pc1.poste" "$T/src"
grep -q "Host key verification failed" "$T/err" ||
	t_fail "unknown host key: $(cat "$T/err")"
[ ! -s "$T/known_hosts_empty" ] || t_fail "the host key was learnt"
# The host key known, but the account beemo-pc1 does not let us in.
fail_step "${B[@]}" --known-hosts "$T/known_hosts_app" \
	--key "$T/pc1.poste" "$T/src"
grep -q "Permission denied" "$T/err" || t_fail "login refused: $(cat "$T/err")"
echo pw >"$T/pw"
fail_step restore "${B[@]}" --known-hosts "$T/known_hosts_app" \
	--user alice --password-file "$T/pw" --target "$T" /x
t_log "ok"
