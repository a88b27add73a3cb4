#!/bin/bash
# scand_shared.sh -- issue 17: one antivirus engine per appliance.
# beemo-scand serves the signatures of t_sigs (plus 300,000 generated
# hash signatures, so that an engine has a size that shows); two
# machines' sessions mounted with [scan] engine = shared:
#   - EICAR and the body marker written into each are refused (absent
#     from the snapshot, journaled as a virus), clean files are kept;
#   - neither beemofs loads an engine: no private directory for
#     libclamav's files (the service and a local-engine session have
#     one), each one's peak memory well under that of a session with its
#     own engine (engine = local), and
#     the service's status counts the two sessions;
#   - with [scan] service_group, the socket is 0660 of that group and a
#     process of it is served; one with only a supplementary group of it
#     is refused (SO_PEERCRED), and the refusal logged;
#   - with engine = shared and no service, beemofs refuses to start and
#     says why (and with a misspelt engine); engine = auto without a service loads its own engine.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/scand_lib.sh"

t_sigs "$T/sigs"
# Generated MD5 signatures of nothing real: an engine of some size.
python3 - "$T/sigs/bulk.hdb" <<'PY'
import hashlib, sys
with open(sys.argv[1], "w") as f:
    for i in range(300000):
        f.write("%s:%d:Beemo.Bulk.%d\n" %
                (hashlib.md5(b"bulk%d" % i).hexdigest(), 1000 + i, i))
PY
scand_config shared
t_appliance
scand_machine2
t_expect_log "error: /[^:]*: virus Beemo\.Test\.(EICAR|Body)[^ ]* found: \
file not backed up$"

# ---- engine = shared without the service: refused ---------------------------
t_expect_log "error: \[scan\] engine = shared, but the antivirus service at \
$SCAND_SOCK does not answer: .*beemo-scand"
mkdir -p "$MNT1"
RC=0
"$BEEMOFS" "$T/store" "$MNT1" -f -o "machine=pc1,keyfile=$T/pc1.poste" \
	>"$T/noservice.log" 2>&1 || RC=$?
[ $RC != 0 ] || t_fail "beemofs started with engine = shared and no service"
! mountpoint -q "$MNT1" || t_fail "beemofs mounted without the service"
grep -q "engine = shared, but the antivirus service at $SCAND_SOCK does \
not answer" "$T/noservice.log" ||
	t_fail "no clear message: $(cat "$T/noservice.log")"

# A misspelt engine: refused, with the key and the file named.
t_expect_log "error: $BEEMO_CONFIG: \[scan\] engine must be auto, shared or local$"
sed -i 's/^engine = shared$/engine = shraed/' "$BEEMO_CONFIG"
RC=0
"$BEEMOFS" "$T/store" "$MNT1" -f -o "machine=pc1,keyfile=$T/pc1.poste" \
	>"$T/badengine.log" 2>&1 || RC=$?
[ $RC != 0 ] && grep -q "engine must be auto, shared or local" \
	"$T/badengine.log" || t_fail "engine = shraed: $(cat "$T/badengine.log")"
sed -i 's/^engine = shraed$/engine = shared/' "$BEEMO_CONFIG"

# ---- two sessions, one engine -----------------------------------------------
scand_start
scand_mount "$MNT1" pc1
scand_mount "$MNT2" pc2
[ "$(scand_stat clients)" -ge 2 ] ||
	t_fail "the service does not count two sessions: $("$BEEMO_SCAND" --status)"
for m in 1 2; do
	mnt=MNT$m
	mnt=${!mnt}
	scand_put "$mnt/eicar-$m.com" "$T_EICAR"
	scand_put "$mnt/body-$m.txt" "some text BEEMO-TEST-VIRUS-BODY more"
	scand_put "$mnt/clean-$m.txt" "nothing to see on pc$m"
	# Content given through the read callback (over the sealed chunks).
	head -c 3000000 /dev/urandom >"$T/big-$m.bin"
	printf 'BEEMO-TEST-VIRUS-BODY' >>"$T/big-$m.bin"
	cp "$T/big-$m.bin" "$mnt/big-$m.bin" 2>/dev/null || true
	head -c 2000000 /dev/urandom >"$mnt/cleanbig-$m.bin"
done
for m in 1 2; do
	scand_snapshot pc$m
	scand_kept pc$m "clean-$m.txt" || t_fail "pc$m: clean file not kept"
	scand_kept pc$m "cleanbig-$m.bin" || t_fail "pc$m: clean big file not kept"
	for f in eicar-$m.com body-$m.txt big-$m.bin; do
		! scand_kept pc$m "$f" || t_fail "pc$m: infected $f in the snapshot"
		scand_journal_virus pc$m "$f" || t_fail "pc$m: $f not journaled"
	done
done
grep -q "found" "$T/beemofs.log" || t_fail "no refusal logged"
# An engine has a private directory for libclamav's temporary files
# (bm_tmpdir: scan-PID-XXXXXX in /run/beemo or /dev/shm/beemo): the
# service has one, the sessions none.
tmpdir_of() { ls -d /run/beemo/scan-"$1"-* /dev/shm/beemo/scan-"$1"-* 2>/dev/null; }
[ -n "$(tmpdir_of "$SCAND_PID")" ] || t_fail "the service has no engine directory"
for p in "${T_MOUNT_PID[$MNT1]}" "${T_MOUNT_PID[$MNT2]}"; do
	[ -z "$(tmpdir_of "$p")" ] ||
		t_fail "a shared session has an engine of its own: $(tmpdir_of "$p")"
done
H1=$(hwm_kb "${T_MOUNT_PID[$MNT1]}")
H2=$(hwm_kb "${T_MOUNT_PID[$MNT2]}")
HS=$(scand_stat hwm_kb)
t_umount "$MNT2"

# ---- the same session with its own engine, for comparison -------------------
sed -i 's/^engine = shared$/engine = local/' "$BEEMO_CONFIG"
scand_mount "$MNT2" pc2
scand_put "$MNT2/eicar-local.com" "$T_EICAR"
HL=$(hwm_kb "${T_MOUNT_PID[$MNT2]}")
[ -n "$(tmpdir_of "${T_MOUNT_PID[$MNT2]}")" ] ||
	t_fail "the local-engine session has no engine directory (the check above proves nothing)"
t_log "peak memory: shared sessions $H1 kB and $H2 kB, beemo-scand $HS kB;" \
	"a session with its own engine $HL kB"
for h in "$H1" "$H2"; do
	[ $((h + 20000)) -lt "$HL" ] ||
		t_fail "a shared session ($h kB) is not well under one with an" \
			"engine ($HL kB)"
done
t_umount "$MNT2"
t_umount "$MNT1"

# ---- peers: root, or the primary group of [scan] service_group -------------
scand_stop
echo "service_group = nogroup" >>"$BEEMO_CONFIG"
chmod 0711 "$T"
scand_start
[ "$(stat -c '%a %G' "$SCAND_SOCK")" = "660 nogroup" ] ||
	t_fail "the socket is not 0660 nogroup: $(stat -c '%a %G' "$SCAND_SOCK")"
setpriv --reuid=nobody --regid=nogroup --clear-groups "$BEEMO_SCAND" \
	--status --socket "$SCAND_SOCK" >"$T/peer.out" 2>&1 ||
	t_fail "a process of service_group was refused: $(cat "$T/peer.out")"
t_expect_log "warning: connection refused: uid 65534 \(not root, nor of \[scan\] service_group\)$"
! setpriv --reuid=nobody --regid=daemon --groups=nogroup "$BEEMO_SCAND" \
	--status --socket "$SCAND_SOCK" >"$T/peer.out" 2>&1 ||
	t_fail "a process whose primary group is not service_group was served"
grep -q "connection refused: uid 65534" "$T/scand.log" ||
	t_fail "the refusal is not logged"
scand_stop
sed -i '/^service_group = /d' "$BEEMO_CONFIG"

# ---- engine = auto and no service: its own engine ----------------------------
sed -i 's/^engine = local$/engine = auto/' "$BEEMO_CONFIG"
scand_mount "$MNT1" pc1
scand_put "$MNT1/eicar-auto.com" "$T_EICAR"
scand_snapshot pc1
! scand_kept pc1 eicar-auto.com || t_fail "auto without a service: EICAR kept"
t_umount "$MNT1"
t_log "PASS"
