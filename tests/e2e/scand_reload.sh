#!/bin/bash
# scand_reload.sh -- issue 17: beemo-scand reloads its signatures without
# stopping: two machines' sessions mounted through it; a signature is
# added and the service gets SIGHUP; a file matching only the new
# signature is then refused in both sessions, without remounting, and
# the service's signature version has changed.  beemo-sync maintenance,
# seeing newer signatures, sends the service SIGHUP as well.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/scand_lib.sh"

hex() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
scand_config shared
t_appliance
scand_machine2
t_expect_log "error: /[^:]*: virus Beemo\.Test\.Later[^ ]* found: \
file not backed up$"
LATER="BEEMO-SCAND-LATER-$RANDOM$RANDOM"

scand_start
scand_mount "$MNT1" pc1
scand_mount "$MNT2" pc2
# The first maintenance run only learns the signatures' date.
"$BEEMO_SYNC" maintenance >"$T/m1.out" 2>&1 ||
	t_fail "beemo-sync maintenance: $(cat "$T/m1.out")"
V1=$(scand_stat version)
S1=$(scand_stat signatures)
scand_put "$MNT1/early.txt" "before: $LATER"
scand_snapshot pc1
scand_kept pc1 early.txt || t_fail "a pattern no signature knows was refused"

echo "Beemo.Test.Later:0:*:$(hex "$LATER")" >"$T/sigs/later.ndb"
kill -HUP "$SCAND_PID"
t_wait_for 20 eval '[ "$(scand_stat version)" != "$V1" ]' ||
	t_fail "no reload after SIGHUP: $("$BEEMO_SCAND" --status)"
[ "$(scand_stat signatures)" = $((S1 + 1)) ] ||
	t_fail "not one more signature after the reload: $(scand_stat signatures)"
grep -q "signatures reloaded" "$T/scand.log" || t_fail "reload not logged"
for m in 1 2; do
	mnt=MNT$m
	mnt=${!mnt}
	mountpoint -q "$mnt" || t_fail "pc$m is no longer mounted"
	scand_put "$mnt/late-$m.txt" "after: $LATER"
	scand_put "$mnt/fine-$m.txt" "nothing"
	scand_snapshot pc$m
	! scand_kept pc$m "late-$m.txt" ||
		t_fail "pc$m: the new signature is not used"
	scand_kept pc$m "fine-$m.txt" || t_fail "pc$m: a clean file was refused"
	scand_journal_virus pc$m "late-$m.txt" ||
		t_fail "pc$m: late-$m.txt not journaled"
done

# New signatures seen by beemo-sync maintenance: the service gets SIGHUP
# too (its pid from its socket), the sessions use them at once.
MAINT="BEEMO-SCAND-MAINT-$RANDOM$RANDOM"
V2=$(scand_stat version)
echo "Beemo.Test.Maint:0:*:$(hex "$MAINT")" >"$T/sigs/maint.ndb"
touch -d '+2 seconds' "$T/sigs/maint.ndb"
"$BEEMO_SYNC" maintenance >"$T/m2.out" 2>&1 ||
	t_fail "beemo-sync maintenance: $(cat "$T/m2.out")"
grep -q "signatures changed: [1-9][0-9]* daemons\? reloading" "$T/m2.out" ||
	t_fail "maintenance: $(cat "$T/m2.out")"
t_wait_for 20 eval '[ "$(scand_stat version)" != "$V2" ]' ||
	t_fail "beemo-sync maintenance did not make the service reload"
[ "$(grep -c "SIGHUP: reloading signatures" "$T/scand.log")" = 2 ] ||
	t_fail "the service did not get SIGHUP from maintenance: $(cat "$T/scand.log")"
t_expect_log "error: /[^:]*: virus Beemo\.Test\.Maint[^ ]* found: \
file not backed up$"
scand_put "$MNT2/maint.txt" "now $MAINT"
scand_snapshot pc2
! scand_kept pc2 maint.txt || t_fail "the maintenance's signature is not used"
t_umount "$MNT1"
t_umount "$MNT2"
scand_stop
t_log "PASS"
