#!/bin/bash
# parse_input.sh -- people's input on a real appliance: journal --since
# with an age in weeks, "yesterday", a local time and an impossible date;
# a size with a decimal in the configuration (quota_soft = 1.5G); and
# the administrator's password from a command, from a file descriptor
# and from a systemd credential, each opening the store for real (the
# journal is read, which needs the key), while a failing command is an
# error that names it; beemofs's -o password-file=.
. "$(dirname "$0")/lib.sh"

t_config "[machine pc1]" "quota_soft = 1.5G" "[store]" \
	"commit_interval = 1s"
t_appliance
unset BEEMO_PASSWORD_FILE BEEMO_PASSWORD_COMMAND CREDENTIALS_DIRECTORY

M="$T/mnt"
t_mount "$M"
echo "one" >"$M/a.txt"
t_umount "$M"

# beemofs spells the option as the others do (passfile= still works,
# format_v1.sh and others use it); the restore session opens the store.
t_mount_session "$T/ro" "machine=pc1,user=alice,password-file=$T/alice.pw"
[ "$(cat "$T/ro/a.txt")" = one ] || t_fail "password-file=: a.txt"
t_umount "$T/ro"

# The two other sources of beemoctl and beemo-sync, spelt the same: a
# command (a comma in it escaped for the option list) and a descriptor.
t_mount_session "$T/ro" \
	"machine=pc1,user=alice,password-command=cut -d\\, -f1 $T/alice.pw"
[ "$(cat "$T/ro/a.txt")" = one ] || t_fail "password-command=: a.txt"
t_umount "$T/ro"
exec 7<"$T/alice.pw"
t_mount_session "$T/ro" "machine=pc1,user=alice,password-fd=7"
exec 7<&-
[ "$(cat "$T/ro/a.txt")" = one ] || t_fail "password-fd=: a.txt"
t_umount "$T/ro"
mkdir -p "$T/ro2"
if "$BEEMOFS" "$T/store" "$T/ro2" -f -o "machine=pc1,user=alice,password-fd=0,password-file=$T/alice.pw" \
	</dev/null >"$T/two.out" 2>&1; then
	t_fail "beemofs accepted two password sources"
fi
grep -q "at most one of" "$T/two.out" || t_fail "two sources: $(cat "$T/two.out")"

# journal MARK ARGS...: the journal of pc1 as JSON in $T/MARK.json; the
# number of entries it holds on stdout.
journal() {
	local mark=$1
	shift
	"$BEEMOCTL" journal pc1 --json "$@" </dev/null >"$T/$mark.json" ||
		t_fail "journal $mark: exit $?"
	python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
e = d["entries"]
print(len(e))' "$T/$mark.json"
}

# ---- passwords: each source opens the store and lists the journal
all=$(journal file --password-file "$T/admin.pw")
[ "$all" -gt 0 ] || t_fail "the journal is empty"
n=$(journal cmd --password-command "cat '$T/admin.pw'")
[ "$n" = "$all" ] || t_fail "--password-command: $n entries, not $all"
n=$(journal fd --password-fd 3 3<"$T/admin.pw")
[ "$n" = "$all" ] || t_fail "--password-fd: $n entries, not $all"
n=$(BEEMO_PASSWORD_COMMAND="cat '$T/admin.pw'" journal envcmd)
[ "$n" = "$all" ] || t_fail "\$BEEMO_PASSWORD_COMMAND: $n, not $all"
mkdir -m 700 "$T/cred"
cp "$T/admin.pw" "$T/cred/beemo-admin-password"
n=$(CREDENTIALS_DIRECTORY="$T/cred" journal cred)
[ "$n" = "$all" ] || t_fail "CREDENTIALS_DIRECTORY: $n, not $all"

# A wrong password from each source is refused: the key is really used.
t_pw "$T/wrong.pw" wrong-pw
t_must_fail "wrong password by command" "$BEEMOCTL" journal pc1 \
	--password-command "cat '$T/wrong.pw'"
t_must_fail "wrong password by descriptor" "$BEEMOCTL" journal pc1 \
	--password-fd 3 3<"$T/wrong.pw"
cp "$T/wrong.pw" "$T/cred/beemo-admin-password"
CREDENTIALS_DIRECTORY="$T/cred" t_must_fail "wrong credential" \
	"$BEEMOCTL" journal pc1 </dev/null

# A failing command: an error that says so, exit 1, nothing used.
rc=0
"$BEEMOCTL" journal pc1 --password-command "echo admin-pw; exit 3" \
	>"$T/fail.out" 2>&1 || rc=$?
[ $rc = 1 ] || t_fail "failing command: exit $rc, not 1"
grep -q "password command 'echo admin-pw; exit 3' failed with exit status 3" \
	"$T/fail.out" || t_fail "failing command: $(cat "$T/fail.out")"
rc=0
"$BEEMOCTL" journal pc1 --password-fd 3 --password-file "$T/admin.pw" \
	3<"$T/admin.pw" >"$T/two.out" 2>&1 || rc=$?
[ $rc = 2 ] || t_fail "two password options: exit $rc, not 2"
rc=0
"$BEEMO_SYNC" release --yes --password-command "exit 4" >"$T/sync.out" 2>&1 ||
	rc=$?
[ $rc = 1 ] || t_fail "beemo-sync, failing command: exit $rc, not 1"
grep -q "password command 'exit 4' failed with exit status 4" \
	"$T/sync.out" || t_fail "beemo-sync: $(cat "$T/sync.out")"

# ---- times: ages, words, local times; impossible dates refused
A=(--password-file "$T/admin.pw")
n=$(journal week --since 1w "${A[@]}")
[ "$n" = "$all" ] || t_fail "--since 1w: $n entries, not $all"
n=$(journal hm --since 1h30m "${A[@]}")
[ "$n" = "$all" ] || t_fail "--since 1h30m: $n entries, not $all"
n=$(journal yesterday --since yesterday "${A[@]}")
[ "$n" = "$all" ] || t_fail "--since yesterday: $n entries, not $all"
n=$(journal local --since "$(date -d '1 hour ago' '+%Y-%m-%d %H:%M')" \
	"${A[@]}")
[ "$n" = "$all" ] || t_fail "--since a local time: $n entries, not $all"
n=$(journal zoned --since "$(date -d '1 hour ago' '+%Y-%m-%dT%H:%M:%S%:z')" \
	"${A[@]}")
[ "$n" = "$all" ] || t_fail "--since a zoned time: $n entries, not $all"
n=$(journal future --since "$(date -d '2 days' '+%Y-%m-%dT08:00:00+01:00')" \
	"${A[@]}")
[ "$n" = 0 ] || t_fail "--since in two days: $n entries, not none"
for bad in 2026-02-30 "2026-12-03 25:00" 1x; do
	rc=0
	"$BEEMOCTL" journal pc1 --since "$bad" "${A[@]}" >"$T/bad.out" 2>&1 ||
		rc=$?
	[ $rc = 2 ] || t_fail "--since '$bad': exit $rc, not 2"
	grep -q "is not a time" "$T/bad.out" || t_fail "--since '$bad'"
done

# ---- sizes: 1.5G in the configuration is 1.5 GiB
"$BEEMOCTL" quota pc1 --json >"$T/quota.json" || t_fail "quota"
python3 -c 'import json, sys
q = json.load(open(sys.argv[1]))
assert q["quota_soft"] == 1610612736, q' "$T/quota.json" ||
	t_fail "quota_soft = 1.5G: $(cat "$T/quota.json")"
