#!/bin/bash
# av_reload.sh -- issue 4: new signatures are picked up without
# unmounting.
#   - A file with a pattern no signature knows is committed; a signature
#     for it is added and beemofs gets SIGHUP: the same pattern is now
#     refused, without remount; `beemoctl scan` (after unmount) reports
#     the earlier stored file by snapshot and path, with exit status 4,
#     and scanning one clean snapshot exits 0.
#   - A broken signature file and SIGHUP: the reload fails with a clear
#     error, the previous signatures stay in use.
#   - [scan] reload_interval = 2s: a signature added without SIGHUP is in
#     use a few seconds later.
. "$(dirname "$0")/lib.sh"

MNT="$T/mnt"
t_appliance
t_expect_log "error: /[^:]*: virus Beemo\.Test\.(Later|Periodic)[^ ]* found: \
file not backed up$"

hex() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
# put NAME TEXT: write TEXT to the new file /NAME; prints how close()
# ended ("ok" or the errno name).
put() {
	python3 - "$MNT/$1" "$2" <<'PY'
import errno, os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, sys.argv[2].encode())
try:
    os.close(fd)
    print("ok")
except OSError as e:
    print(errno.errorcode[e.errno])
PY
}
# refused NAME TEXT: write TEXT to /NAME; true if it was refused
# (t_put_virus).
refused() {
	printf '%s' "$2" >"$T/refused.src"
	t_put_virus "$T/refused.src" "$MNT/$1"
}
loglen() { wc -l <"$T/beemofs.log"; }
# since N: the daemon log after its line N.
since() { tail -n +$(($1 + 1)) "$T/beemofs.log"; }
# wait_log REGEX N: wait up to 15 s for a log line matching REGEX after
# line N of the daemon log.
log_has() { since "$2" | grep -E "$1" >/dev/null; }
wait_log() {
	t_wait_for 15 log_has "$1" "$2" ||
		t_fail "no log line matching '$1' within 15 s: $(since "$2")"
}
# last_snapshot: the id of the newest snapshot of pc1.
last_snapshot() {
	"$BEEMOCTL" snapshots pc1 --json --password-file "$T/admin.pw" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["snapshots"][-1]["id"])'
}
# scan ARGS...: beemoctl scan pc1 ARGS into $T/scan.out; sets RC.
scan() {
	RC=0
	"$BEEMOCTL" scan pc1 "$@" >"$T/scan.out" 2>&1 || RC=$?
}

LATER="BEEMO-LATER-SIG-XYZ-$RANDOM$RANDOM"
t_mount "$MNT"
PID=${T_MOUNT_PID[$MNT]}
[ "$(put early.txt "the report says $LATER and more")" = ok ] ||
	t_fail "a file with an unknown pattern was refused"
[ "$(put clean.txt "nothing special")" = ok ] ||
	t_fail "a clean file was refused"

# ---- SIGHUP -----------------------------------------------------------------
echo "Beemo.Test.Later:0:*:$(hex "$LATER")" >"$T/sigs/later.ndb"
n=$(loglen)
kill -HUP "$PID"
wait_log "signatures reloaded" "$n"
kill -0 "$PID" || t_fail "beemofs died on SIGHUP"
mountpoint -q "$MNT" || t_fail "SIGHUP unmounted the file system"
refused late.txt "now $LATER is known" ||
	t_fail "after SIGHUP, the new signature is not used"
grep -Eq "error: /late\.txt: virus Beemo\.Test\.Later[^ ]* found" \
	"$T/beemofs.log" || t_fail "no log line for /late.txt"
[ "$(cat "$MNT/early.txt")" = "the report says $LATER and more" ] ||
	t_fail "the earlier file changed"

# A broken signature file: the reload fails, the old engine stays.
t_expect_log "error: $T/sigs: cannot load signatures: "
t_expect_log "error: signature reload failed; the previous signatures stay \
in use$"
printf 'garbage\x01\x02 that is not a signature\n:::\n' >"$T/sigs/broken.ndb"
n=$(loglen)
kill -HUP "$PID"
wait_log "signature reload failed" "$n"
since "$n" | grep "error: $T/sigs: cannot load signatures: " >/dev/null ||
	t_fail "the failed reload does not say which directory and why"
kill -0 "$PID" || t_fail "beemofs died on a broken signature file"
refused still.txt "$LATER again" ||
	t_fail "after a failed reload, the old signatures are not in use"
rm "$T/sigs/broken.ndb"
t_umount "$MNT"

# ---- beemoctl scan ----------------------------------------------------------
SNAP=$(last_snapshot)
scan --password-file "$T/admin.pw"
[ $RC = 4 ] || t_fail "beemoctl scan exited $RC, not 4: $(cat "$T/scan.out")"
grep -Eq "^snapshot $SNAP: /early\.txt: Beemo\.Test\.Later" "$T/scan.out" ||
	t_fail "beemoctl scan does not report /early.txt in snapshot $SNAP:" \
		"$(cat "$T/scan.out")"
! grep -Eq "clean\.txt|late\.txt|still\.txt" "$T/scan.out" ||
	t_fail "beemoctl scan reports other files: $(cat "$T/scan.out")"
scan "$SNAP" --user alice --password-file "$T/alice.pw"
[ $RC = 4 ] && grep -q "/early.txt" "$T/scan.out" ||
	t_fail "beemoctl scan pc1 $SNAP as alice: exit $RC: $(cat "$T/scan.out")"
# A snapshot holding only clean files: exit 0.
t_mount "$MNT"
rm "$MNT/early.txt"
t_umount "$MNT"
SNAP2=$(last_snapshot)
[ "$SNAP2" != "$SNAP" ] || t_fail "no new snapshot after removing early.txt"
scan "$SNAP2" --password-file "$T/admin.pw"
[ $RC = 0 ] ||
	t_fail "beemoctl scan of a clean snapshot: exit $RC: $(cat "$T/scan.out")"

# ---- the periodic check -----------------------------------------------------
echo "reload_interval = 2s" >>"$BEEMO_CONFIG"
PERIODIC="BEEMO-PERIODIC-SIG-$RANDOM$RANDOM"
t_mount "$MNT"
[ "$(put before.txt "$PERIODIC")" = ok ] ||
	t_fail "pattern refused before its signature exists"
n=$(loglen)
echo "Beemo.Test.Periodic:0:*:$(hex "$PERIODIC")" >"$T/sigs/periodic.ndb"
START=$(date +%s%N)
wait_log "signatures reloaded" "$n"
MS=$((($(date +%s%N) - START) / 1000000))
t_log "periodic reload after $MS ms"
[ "$MS" -lt 8000 ] ||
	t_fail "with reload_interval = 2s, the new signature took $MS ms"
refused after.txt "x $PERIODIC x" ||
	t_fail "a signature added without SIGHUP is not used"
grep -Eq "error: /after\.txt: virus Beemo\.Test\.Periodic" "$T/beemofs.log" ||
	t_fail "no log line for /after.txt"
t_umount "$MNT"
t_log "PASS"
