#!/bin/bash
# scand_reload.sh -- issue 17: beemo-scand reloads its signatures without
# stopping: two machines' sessions mounted through it; a signature is
# added and the service gets SIGHUP; a file matching only the new
# signature is then refused in both sessions, without remounting, and
# the service's signature version has changed.
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
t_umount "$MNT1"
t_umount "$MNT2"
scand_stop
t_log "PASS"
