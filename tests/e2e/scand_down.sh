#!/bin/bash
# scand_down.sh -- issue 17: the antivirus service stops during a session
# (engine = shared).  A file written then is not accepted unscanned: its
# commit fails, it is in no snapshot, and the failure is logged and
# journaled.  The service back, the next file is scanned and kept, and
# infected content is still refused, without remounting.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/scand_lib.sh"

scand_config shared
t_appliance
t_expect_log "error: antivirus service $SCAND_SOCK: "
t_expect_log "error: /lost\.txt: antivirus: the scanning service cannot be \
reached$"
t_expect_log "error: /lost\.txt: "
t_expect_log "error: /[^:]*: virus Beemo\.Test\.EICAR[^ ]* found: \
file not backed up$"

scand_start
scand_mount "$MNT1" pc1
scand_put "$MNT1/before.txt" "written while the service runs"
scand_snapshot pc1
scand_kept pc1 before.txt || t_fail "before.txt not kept"

scand_stop
scand_put "$MNT1/lost.txt" "written while the service is stopped"
scand_snapshot pc1 || true
# Its name may be there (created empty before its content was written,
# as with any failed commit), never its content.
"$BEEMOCTL" ls pc1 latest / --long --password-file "$T/admin.pw" \
	>"$T/ls.out" 2>&1 || t_fail "beemoctl ls: $(cat "$T/ls.out")"
! grep -Eq " [1-9][0-9]* [0-9-]+ [0-9:]+ lost\.txt$" "$T/ls.out" ||
	t_fail "a file's content was kept unscanned: $(cat "$T/ls.out")"
grep -q "lost.txt: antivirus: the scanning service cannot be reached" \
	"$T/beemofs.log" || t_fail "the failed scan is not logged"
"$BEEMOCTL" journal pc1 --password-file "$T/admin.pw" >"$T/journal.out" 2>&1
grep -q "lost.txt" "$T/journal.out" ||
	t_fail "the failed commit is not journaled: $(tail -5 "$T/journal.out")"

scand_start
scand_put "$MNT1/after.txt" "written once the service is back"
scand_put "$MNT1/bad.com" "$T_EICAR"
scand_snapshot pc1
scand_kept pc1 after.txt || t_fail "after the service came back, a file failed"
! scand_kept pc1 bad.com || t_fail "EICAR kept after the service came back"
grep -q "connected again" "$T/beemofs.log" || t_fail "no reconnection logged"
t_umount "$MNT1"
scand_stop
t_log "PASS"
