#!/bin/bash
# report_maintenance.sh -- what the maintenance run does besides mail:
# new signatures make every running beemofs reload at once (SIGHUP, sent
# only when the signature directory changed); the appliance journal
# travels off-site sealed -- closed segments on the center and in the
# push manifest -- and a replacement appliance recovered from the center
# alone reads it; a second maintenance run while one holds the lock
# exits 3.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd_lib.sh"
. "$(dirname "$0")/report_lib.sh"

sshd_require
report_sendmail
sshd_start a
mapfile -t ta < <(sshd_target_conf a)
report_config "[sync]" "timeout = 20s" "${ta[@]}"
t_appliance
M="$T/mnt"
t_mount "$M"
echo hello >"$M/hello"

report_maint m1 || t_fail "maintenance 1: $(cat "$T/m1.err")"
grep -q "maintenance: a reached; reports: 0 sent" "$T/m1.out" ||
	t_fail "m1: $(cat "$T/m1.out")"
# Unchanged signatures: nobody is disturbed.
report_maint m2 || t_fail "maintenance 2"
grep -q "SIGHUP" "$T/beemofs.log" && t_fail "SIGHUP without new signatures"
grep -q "signatures changed" "$T/m2.out" && t_fail "m2: $(cat "$T/m2.out")"
# New signatures: the daemon reloads at once (its own periodic check
# would take up to [scan] reload_interval).
echo "Beemo.Test.New:0:*:$(printf 'BEEMO-NEW-SIGNATURE' | od -An -tx1 |
	tr -d ' \n')" >"$T/sigs/beemo-new.ndb"
touch -d '+2 seconds' "$T/sigs/beemo-new.ndb"
report_maint m3 || t_fail "maintenance 3: $(cat "$T/m3.err")"
grep -q "signatures changed: 1 daemon reloading" "$T/m3.out" ||
	t_fail "m3: $(cat "$T/m3.out")"
t_wait_for 20 grep -q "antivirus signatures reloaded" "$T/beemofs.log" ||
	t_fail "signatures not reloaded: $(cat "$T/beemofs.log")"
grep -q "SIGHUP: reloading signatures" "$T/beemofs.log" ||
	t_fail "beemofs did not get SIGHUP: $(cat "$T/beemofs.log")"
t_expect_log 'virus Beemo\.Test\.New(\.UNOFFICIAL)? found: file not backed up'
printf 'x BEEMO-NEW-SIGNATURE x' >"$T/new.bin"
t_put_virus "$T/new.bin" "$M/new.bin" ||
	t_fail "a file with the new signature was accepted"

# One maintenance run at a time.
exec 9>"$T/store/reports/lock"
flock 9
rc=0
report_maint m4 || rc=$?
[ $rc = 3 ] || t_fail "a second maintenance run exited $rc"
t_expect_log 'reports/lock: another maintenance run holds it'
exec 9>&-
t_umount "$M"

# Off-site: the journal's closed segments are on the center, sealed,
# and listed by the next push's manifest.
sync_run push push || t_fail "push: $(cat "$T/push.err")"
report_maint m5 || t_fail "maintenance 5"
R="$T/center_a/beemo"
ls "$R"/journal/*.log >/dev/null || t_fail "no journal on the center"
for f in $(ls "$T"/store/journal/*.log | grep -E '/[0-9a-f]{16}\.log$'); do
	cmp -s "$f" "$R/journal/$(basename "$f")" ||
		t_fail "$(basename "$f") not on the center"
done
grep -rlE "alice|initialized|machine pc1" "$R/journal" &&
	t_fail "the journal is readable on the center"
sync_run push2 push || t_fail "push 2"
grep -q '"path":"journal/[0-9a-f]\{16\}\.log"' "$R"/manifests/*.json ||
	t_fail "no journal segment in a manifest"

# A replacement appliance recovered from the center reads the journal.
N="$T/new"
sync_run rec recover --target a --store "$N" --password-file "$T/admin.pw" ||
	t_fail "recover: $(cat "$T/rec.err")"
"$BEEMOCTL" -s "$N" journal --all --type machine \
	--password-file "$T/admin.pw" >"$T/nj.txt" ||
	t_fail "journal on the recovered appliance: $(cat "$T/nj.txt")"
grep -q "machine pc1 added with user alice" "$T/nj.txt" ||
	t_fail "recovered journal: $(cat "$T/nj.txt")"
"$BEEMOCTL" -s "$N" journal --all --type maintenance \
	--password-file "$T/admin.pw" | grep "maintenance: a reached" >/dev/null ||
	t_fail "maintenance entries not recovered"
t_log "ok"
