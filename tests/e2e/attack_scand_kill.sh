#!/bin/bash
# attack_scand_kill.sh -- beemo-scand killed (kill -9) while it scans a
# big infected file closed a moment before (engine = shared): the file
# must not be committed unscanned -- its content is in no snapshot, and
# the log names it (scan failed, or the virus if the scan ended first).
# Restarted, the service serves the same session again: a clean file is
# kept, an infected one refused.  Fails when the attack succeeds.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/scand_lib.sh"

scand_config shared
t_appliance
t_expect_log "error: antivirus service $SCAND_SOCK: "
t_expect_log "error: /[^:]*: antivirus: the scanning service cannot be \
reached$"
t_expect_log "error: /big\.bin: "
t_expect_log "error: /[^:]*: virus Beemo\.Test\.(EICAR|Body)[^ ]* found: \
file not backed up$"
python3 - "$T/big.bin" <<'PY'
import os, sys
data = bytearray(os.urandom(60 << 20))
data[-4096:-4096 + 21] = b"BEEMO-TEST-VIRUS-BODY"
open(sys.argv[1], "wb").write(data)
PY
printf '%s' "$T_EICAR" >"$T/eicar.com"

scand_start
scand_mount "$MNT1" pc1
scand_put "$MNT1/before.txt" "kept while the service runs"
scand_snapshot pc1
cp "$T/big.bin" "$MNT1/big.bin"
sleep 0.$((3 + RANDOM % 5))
kill -9 "$SCAND_PID"
wait "$SCAND_PID" 2>/dev/null || true
t_settle "$MNT1"
grep -Eq "error: /big\.bin: (antivirus|virus)" "$T/beemofs.log" ||
	t_fail "the log does not name big.bin: $(tail -3 "$T/beemofs.log")"
t_log "$(grep "/big.bin" "$T/beemofs.log" | head -1)"
scand_snapshot pc1
"$BEEMOCTL" ls pc1 latest / --long --password-file "$T/admin.pw" \
	>"$T/ls.out" 2>&1 || t_fail "beemoctl ls: $(cat "$T/ls.out")"
! grep -Eq " [1-9][0-9]* [0-9-]+ [0-9:]+ big\.bin$" "$T/ls.out" ||
	t_fail "big.bin's content was kept unscanned: $(cat "$T/ls.out")"

scand_start
t_put_virus "$T/eicar.com" "$MNT1/after.com" ||
	t_fail "an infected file was kept after the service's restart"
scand_put "$MNT1/after.txt" "kept once the service is back"
scand_snapshot pc1
scand_kept pc1 after.txt || t_fail "after.txt not kept"
t_umount "$MNT1"
"$BEEMOCTL" scan pc1 --password-file "$T/admin.pw" >"$T/scan.out" 2>&1 ||
	t_fail "beemoctl scan found something stored: $(cat "$T/scan.out")"
t_log "ok: nothing committed unscanned"
