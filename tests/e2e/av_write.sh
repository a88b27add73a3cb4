#!/bin/bash
# av_write.sh -- issue 4: no infected file is ever committed.  With real
# libclamav and the generated signatures (lib.sh t_sigs):
#   - EICAR copied into the mount: with [store] close = background (the
#     default) close() returns and the file is gone once the commits
#     settled (an fsync of a directory waits for them); with close = wait
#     cp fails and close() fails with EIO; either way the file is
#     absent, the log names the path and the virus, and so does the
#     machine's journal;
#   - EICAR inside a zip, the body marker in a small file and in the
#     middle of a 3 MiB file (scanned through the read callback): caught;
#   - a clean file under the same name afterwards: committed;
#   - an infected overwrite of a clean file: refused, the clean version
#     stays (read back at once and after a remount, and in the snapshot);
#   - [scan] max_file_size = 1M: a 2 MiB file is committed with a warning
#     (oversize = flag), refused with oversize = refuse; a smaller
#     infected file is still caught;
#   - `beemoctl scan` then finds nothing stored that is infected.
. "$(dirname "$0")/lib.sh"

MNT="$T/mnt"
# Failures of what the mount shows right after a refusal are collected
# (bad), so that the committed state is checked too before the test fails.
FAILED=()
bad() {
	t_log "FAIL: $*"
	FAILED+=("$*")
}
# shows FILE: what the mount shows of FILE: size and first bytes.
shows() {
	printf '%s bytes: %s' "$(stat -c %s "$1")" \
		"$(od -An -c -N 24 "$1" | tr -s ' \n' '  ')"
}
t_appliance
t_expect_log "error: /[^:]*: virus Beemo\.Test\.(EICAR|Body)[^ ]* found: \
file not backed up$"
LIMIT="2097152 bytes, over the scan limit of 1048576$"
t_expect_log "warning: /big-flagged\.bin: committed without antivirus scan: \
$LIMIT"
t_expect_log "error: /big-refused\.bin: refused: $LIMIT"

printf '%s' "$T_EICAR" >"$T/eicar.com"
python3 - "$T" <<'PY'
import os, sys, zipfile
t = sys.argv[1]
eicar = open(f"{t}/eicar.com", "rb").read()
with zipfile.ZipFile(f"{t}/eicar.zip", "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("readme.txt", "nothing to see\n")
    z.writestr("dir/eicar.com", eicar)
with open(f"{t}/body.txt", "wb") as f:
    f.write(b"a harmless looking text\n" * 10 + b"BEEMO-TEST-VIRUS-BODY" +
            b"\nmore text\n")
big = bytearray(os.urandom(3 << 20))
big[1500000:1500000 + 21] = b"BEEMO-TEST-VIRUS-BODY"
open(f"{t}/body-big.bin", "wb").write(big)
PY

# put SRC DEST: copy with python and report how close() ended: "ok" or
# the errno name (the copy is written in 256 KiB pieces, then closed).
put() {
	python3 - "$1" "$2" <<'PY'
import errno, os, sys
data = open(sys.argv[1], "rb").read()
try:
    fd = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    for i in range(0, len(data), 256 << 10):
        os.write(fd, data[i:i + (256 << 10)])
except OSError as e:
    print(f"write: {errno.errorcode[e.errno]}")
    sys.exit()
try:
    os.close(fd)
    print("ok")
except OSError as e:
    print(errno.errorcode[e.errno])
PY
}

# refused SRC NAME SIG: writing SRC as /NAME must be refused: close()
# returns (the scan runs after it), then once the commits settled /NAME
# is absent, and the log names the path and signature SIG.
refused() {
	local src=$1 name=$2 sig=$3 res
	res=$(put "$src" "$MNT/$name")
	[ "$res" = ok ] || t_fail "$name: close() ended with '$res', not ok"
	t_settle "$MNT"
	t_wait_for 5 eval '! [ -e "$MNT/$name" ]' ||
		bad "$name: still visible after the refused write settled" \
			"($(shows "$MNT/$name"))"
	! ls "$(dirname "$MNT/$name")" | grep -qx "$(basename "$name")" ||
		t_fail "$name: listed after a refused write"
	grep -Eq "error: /$name: virus ${sig}[^ ]* found: file not backed up" \
		"$T/beemofs.log" ||
		t_fail "$name: no log line naming the path and $sig"
	t_log "ok: $name refused ($sig)"
}

t_mount "$MNT"
# cp returns at once; the file goes once scanned.
cp "$T/eicar.com" "$MNT/eicar.com" 2>"$T/cp.err" ||
	t_fail "cp of EICAR failed at once: $(cat "$T/cp.err")"
t_settle "$MNT"
t_wait_for 5 eval '! [ -e "$MNT/eicar.com" ]' ||
	bad "eicar.com: still visible after the refused cp settled" \
		"($(shows "$MNT/eicar.com"))"
grep -Eq "error: /eicar\.com: virus Beemo\.Test\.EICAR[^ ]* found" \
	"$T/beemofs.log" || t_fail "no log line for /eicar.com"
refused "$T/eicar.com" eicar2.com "Beemo\.Test\.EICAR"
refused "$T/eicar.zip" archive.zip "Beemo\.Test\.EICAR"
refused "$T/body.txt" body.txt "Beemo\.Test\.Body"
refused "$T/body-big.bin" body-big.bin "Beemo\.Test\.Body"
mkdir "$MNT/sub"
refused "$T/eicar.com" sub/nested.com "Beemo\.Test\.EICAR"

# A clean file under the refused name.
echo "clean content" >"$T/clean.txt"
[ "$(put "$T/clean.txt" "$MNT/eicar.com")" = ok ] ||
	t_fail "clean file under a refused name"
# An infected overwrite of a clean file.
echo "clean version 1" >"$T/doc.txt"
[ "$(put "$T/doc.txt" "$MNT/doc.txt")" = ok ] || t_fail "clean doc.txt"
res=$(put "$T/eicar.com" "$MNT/doc.txt")
[ "$res" = ok ] ||
	t_fail "infected overwrite: close() ended with '$res', not ok"
t_settle "$MNT"
grep -Eq "error: /doc\.txt: virus Beemo\.Test\.EICAR" "$T/beemofs.log" ||
	t_fail "no log line for the infected overwrite of /doc.txt"
t_wait_for 5 cmp -s "$T/doc.txt" "$MNT/doc.txt" ||
	bad "after the refused overwrite settled, doc.txt shows" \
		"$(shows "$MNT/doc.txt"), not the clean version (16 bytes)"
# Time itself is under test: once the kernel's entry and attribute
# timeouts (1 s) have passed, the daemon is asked again.
sleep 1.5
cmp -s "$T/doc.txt" "$MNT/doc.txt" ||
	bad "1.5 s after the refused overwrite, doc.txt still shows" \
		"$(shows "$MNT/doc.txt"), not the clean version (16 bytes)"
res=$(put "$T/body.txt" "$MNT/doc.txt")
[ "$res" = ok ] ||
	t_fail "second infected overwrite: close() ended with '$res'"
# A snapshot asked right after closes waits for their scans: the
# infected file is not in it, the clean one is.
put "$T/eicar.com" "$MNT/snapnow.com" >/dev/null
put "$T/clean.txt" "$MNT/snapnow.txt" >/dev/null
"$BEEMOCTL" snapshot pc1 --note now --password-file "$T/admin.pw" \
	>"$T/snap.out" 2>&1 || t_fail "beemoctl snapshot: $(cat "$T/snap.out")"
# No settling: the unmount's snapshot waits for the scan, and the
# snapshot below must hold the clean version.
t_umount "$MNT"

t_mount "$MNT"
[ "$(cat "$MNT/eicar.com")" = "clean content" ] ||
	t_fail "clean eicar.com not committed"
cmp -s "$T/doc.txt" "$MNT/doc.txt" ||
	t_fail "after remount, doc.txt shows $(shows "$MNT/doc.txt")," \
		"not the clean version"
for f in eicar2.com archive.zip body.txt body-big.bin sub/nested.com; do
	[ ! -e "$MNT/$f" ] || t_fail "$f present after remount"
done
# History is browsed with a password (a backup session has none).
R=$T/restore
t_mount_session "$R" "machine=pc1,user=alice,passfile=$T/alice.pw"
S=$(ls "$R/.snapshots" | sort -n | tail -1)
[ "$(cat "$R/.snapshots/$S/doc.txt")" = "clean version 1" ] ||
	t_fail "snapshot $S holds a doc.txt other than the clean version"
for S in $(ls "$R/.snapshots"); do
	[ ! -e "$R/.snapshots/$S/snapnow.com" ] ||
		t_fail "snapshot $S holds snapnow.com, refused"
done
N=$(ls "$R/.snapshots" | sort -n | tail -2 | head -1)
cmp -s "$T/clean.txt" "$R/.snapshots/$N/snapnow.txt" ||
	t_fail "snapshot $N (asked right after its close) lacks snapnow.txt"
t_umount "$R"
t_umount "$MNT"

# The journal says which file and which virus.
"$BEEMOCTL" journal pc1 --password-file "$T/admin.pw" \
	>"$T/journal.out" 2>&1 || t_fail "beemoctl journal: $(cat "$T/journal.out")"
V="Beemo\.Test\.(EICAR|Body)"
for f in /eicar.com /archive.zip /body.txt /doc.txt /sub/nested.com; do
	grep -Eq "virus.*$V.*$f|$f.*$V" "$T/journal.out" ||
		t_fail "the journal does not name $f and its virus:" \
			"$(grep -i virus "$T/journal.out" | head -5)"
done
# Nothing infected was stored.
"$BEEMOCTL" scan pc1 --password-file "$T/admin.pw" >"$T/scan.out" 2>&1 ||
	t_fail "beemoctl scan found something stored: $(cat "$T/scan.out")"

# ---- files over the scan limit ----------------------------------------------
head -c $((2 << 20)) /dev/urandom >"$T/big.bin"
head -c $((512 << 10)) /dev/urandom >"$T/half.bin"
cat "$T/body.txt" >>"$T/half.bin"
echo "max_file_size = 1M" >>"$BEEMO_CONFIG"
t_mount "$MNT"
[ "$(put "$T/big.bin" "$MNT/big-flagged.bin")" = ok ] ||
	t_fail "oversize file not committed with oversize = flag"
t_settle "$MNT"
grep -q "warning: /big-flagged.bin: committed without antivirus scan" \
	"$T/beemofs.log" || t_fail "no warning for the unscanned /big-flagged.bin"
refused "$T/half.bin" half.bin "Beemo\.Test\.Body"
t_umount "$MNT"
echo "oversize = refuse" >>"$BEEMO_CONFIG"
t_mount "$MNT"
res=$(put "$T/big.bin" "$MNT/big-refused.bin")
t_settle "$MNT"
sleep 1.5 # time under test: past the kernel's entry and attribute timeouts
[ ! -e "$MNT/big-refused.bin" ] ||
	bad "big-refused.bin (refused, too big to scan) is present:" \
		"$(stat -c %s "$MNT/big-refused.bin") bytes"
grep -q "error: /big-refused.bin: refused: " "$T/beemofs.log" ||
	t_fail "no log line for the refused oversize file"
t_log "oversize = refuse: close() ended with $res"
cmp -s "$T/big.bin" "$MNT/big-flagged.bin" ||
	t_fail "big-flagged.bin content differs"
t_umount "$MNT"
t_mount "$MNT"
[ ! -e "$MNT/big-refused.bin" ] ||
	bad "after remount, big-refused.bin (refused, too big to scan) is" \
		"present: $(stat -c %s "$MNT/big-refused.bin") bytes"
t_umount "$MNT"

# ---- [store] close = wait: close() itself fails ------------------------------
printf '[store]\nclose = wait\n' >>"$BEEMO_CONFIG"
t_mount "$MNT"
if cp "$T/eicar.com" "$MNT/wait.com" 2>"$T/cp.err"; then
	t_fail "close = wait: cp of EICAR into the mount succeeded"
fi
grep -q "Input/output error" "$T/cp.err" ||
	t_fail "close = wait: cp's error is not EIO: $(cat "$T/cp.err")"
[ ! -e "$MNT/wait.com" ] ||
	bad "close = wait: wait.com still visible right after the refused cp"
res=$(put "$T/body.txt" "$MNT/wait.txt")
[ "$res" = EIO ] || t_fail "close = wait: close() ended with '$res', not EIO"
t_umount "$MNT"
sed -i 's/^close = wait$/close = sometimes/' "$BEEMO_CONFIG"
t_must_fail "close = sometimes" "$BEEMOFS" "$T/store" "$MNT" -f \
	-o "machine=pc1,keyfile=$T/pc1.poste"
grep -q '\[store\] close must be background or wait, not "sometimes"' \
	"$T/must_fail.out" || t_fail "close = sometimes: $(cat "$T/must_fail.out")"
[ ${#FAILED[@]} = 0 ] || t_fail "${#FAILED[@]} checks failed (see above)"
t_log "PASS"
