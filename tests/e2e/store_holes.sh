#!/bin/bash
# store_holes.sh -- holes and huge sizes: a truncate to nearly a petabyte
# answers at once while the daemon keeps serving; a 1 TiB file with
# 1 MiB of data scattered in it costs about 1 MiB in the store and keeps
# its holes (SEEK_DATA/SEEK_HOLE extents, data checksums) in the live
# view after a remount, in the snapshot and through `beemoctl restore`; a
# size over the store's maximum (1 PiB) fails with EFBIG, fallocate's
# punch-hole and zero-range with EOPNOTSUPP; SIGTERM during
# the long commit of a big file ends the daemon within a bound.
. "$(dirname "$0")/lib.sh"

t_appliance
M="$T/mnt"
# Sparse files are bigger than the antivirus' limit (apparent size).
t_expect_log "committed without antivirus scan: [0-9]+ bytes, over the scan limit"
t_mount "$M"

# sparse.py MODE FILE: "make" writes 16 pieces of 64 KiB of random data
# at unaligned offsets spread over 1 TiB and sets the size to 1 TiB;
# "check" verifies the size, every piece, zeros around them, and that
# the data extents (SEEK_DATA/SEEK_HOLE) hold every piece and total at
# most 4 MiB; it prints the extents and a checksum of their content.
cat >"$T/sparse.py" <<'EOF'
import hashlib, os, random, sys
SIZE, PIECE = 1 << 40, 64 << 10
rnd = random.Random(11)
pieces = [(i * (SIZE // 16) + rnd.randrange(1 << 30), rnd.randbytes(PIECE))
          for i in range(16)]
mode, path = sys.argv[1], sys.argv[2]
if mode == "make":
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    for off, data in pieces:
        assert os.pwrite(fd, data, off) == PIECE
    os.ftruncate(fd, SIZE)
    os.close(fd)
    sys.exit(0)
fd = os.open(path, os.O_RDONLY)
st = os.fstat(fd)
assert st.st_size == SIZE, st.st_size
for off, data in pieces:
    assert os.pread(fd, PIECE, off) == data, "piece at %d" % off
    assert os.pread(fd, 4096, off + (200 << 20)) == bytes(4096), "hole"
ext, off = [], 0
while True:
    try:
        d = os.lseek(fd, off, os.SEEK_DATA)
    except OSError:
        break
    h = os.lseek(fd, d, os.SEEK_HOLE)
    ext.append((d, h))
    off = h
    if off >= SIZE:
        break
total = sum(h - d for d, h in ext)
assert 0 < total <= (4 << 20), "data extents total %d bytes" % total
for off, data in pieces:
    assert any(d <= off and off + PIECE <= h for d, h in ext), \
        "piece at %d outside the data extents %s" % (off, ext)
sha = hashlib.sha256()
for d, h in ext:
    sha.update(os.pread(fd, h - d, d))
print(ext if mode == "extents" else "", sha.hexdigest()
      if mode == "extents" else "")
EOF

# 1. A truncate to nearly a petabyte answers within a second, and the
#    daemon serves other requests meanwhile.
start=${EPOCHREALTIME/[.,]/}
timeout 1 truncate -s 999999999999999 "$M/huge" &
tr=$!
timeout 1 ls "$M" >/dev/null || t_fail "ls while truncating"
echo other >"$M/other" || t_fail "a write while truncating"
# A truncate the daemon never answers cannot be killed (the kernel waits
# for the answer), so the daemon goes first.
if ! t_wait_for 1 eval '! t_running $tr'; then
	t_crash "$M"
	t_fail "truncate -s 999999999999999 did not answer within 1 s"
fi
wait $tr || t_fail "truncate -s 999999999999999 failed"
[ "$(stat -c %s "$M/huge")" = 999999999999999 ] || t_fail "huge: size"
python3 - "$M/huge" <<'EOF' || t_fail "huge: not a hole"
import errno, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
try:
    os.lseek(fd, 0, os.SEEK_DATA)
    sys.exit("SEEK_DATA found data in a file that is all hole")
except OSError as e:
    assert e.errno == errno.ENXIO, e
assert os.lseek(fd, 0, os.SEEK_HOLE) == 0
assert os.pread(fd, 4096, 123456789012345) == bytes(4096)
EOF
# Writing past the end of it returns at once too.
timeout 5 python3 -c 'import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY)
os.pwrite(fd, b"tail", 999999999999999 - 4)
os.close(fd)' "$M/huge" || t_fail "a write at the end of huge"
[ "$(tail -c 4 "$M/huge")" = tail ] || t_fail "huge: tail"

# 2. Over the maximum size (1 PiB): EFBIG at once.
python3 - "$M/huge" <<'EOF' || t_fail "sizes over the maximum"
import errno, os, sys
fd = os.open(sys.argv[1], os.O_WRONLY)
for size in ((1 << 50) + 1, 1 << 62):
    try:
        os.ftruncate(fd, size)
        sys.exit("ftruncate to %d succeeded" % size)
    except OSError as e:
        assert e.errno == errno.EFBIG, e
os.close(fd)
EOF
out=$(timeout 2 truncate -s $(((1 << 50) + 1)) "$M/huge" 2>&1) &&
	t_fail "truncate over the maximum succeeded"
[[ $out == *"File too large"* ]] || t_fail "truncate over the maximum: $out"
[ "$(stat -c %s "$M/huge")" = 999999999999999 ] || t_fail "huge: size changed"
# Punching holes and zeroing ranges are not supported: a clean
# EOPNOTSUPP, and the file is unchanged.
for mode in --punch-hole --zero-range; do
	out=$(fallocate $mode -o 0 -l 4096 "$M/other" 2>&1) &&
		t_fail "fallocate $mode succeeded"
	[[ $out == *"not supported"* || $out == *"is unsupported"* ]] ||
		t_fail "fallocate $mode: $out"
done
[ "$(cat "$M/other")" = other ] || t_fail "other changed"
end=${EPOCHREALTIME/[.,]/}
t_log "huge sizes: $(((end - start) / 1000)) ms"

# 3. A 1 TiB file with 1 MiB of data costs about 1 MiB.
t_umount "$M"
before=$(du -sb "$T/store" | cut -f1)
t_mount "$M"
timeout 30 python3 "$T/sparse.py" make "$M/sparse" || t_fail "sparse: make"
python3 "$T/sparse.py" check "$M/sparse" >/dev/null || t_fail "sparse: live"
t_umount "$M"
after=$(du -sb "$T/store" | cut -f1)
grown=$((after - before))
t_log "the store grew by $grown bytes for 1 MiB of data in 1 TiB"
[ $grown -gt $((1 << 20)) ] && [ $grown -lt $((3 << 20)) ] ||
	t_fail "the store grew by $grown bytes"

# The live view after a remount and the snapshot: the same extents and
# data.
t_mount "$M"
live=$(python3 "$T/sparse.py" extents "$M/sparse") || t_fail "sparse: remount"
# History is browsed with a password (a backup session has none).
R=$T/restore
t_mount_session "$R" "machine=pc1,user=alice,passfile=$T/alice.pw"
snap=$(ls "$R/.snapshots" | sort -n | tail -1)
snapped=$(python3 "$T/sparse.py" extents "$R/.snapshots/$snap/sparse") ||
	t_fail "sparse: snapshot"
[ "$live" = "$snapped" ] || t_fail "snapshot differs: $live / $snapped"
# Blocks count data only (du, and cp or tar deciding a file is sparse).
for f in "$M/sparse" "$R/.snapshots/$snap/sparse"; do
	alloc=$(($(stat -c %b "$f") * 512))
	[ $alloc -gt 0 ] && [ $alloc -lt $((4 << 20)) ] ||
		t_fail "$f: $alloc bytes allocated"
done
t_umount "$R"

# 4. SIGTERM while the daemon commits a big file: it stops within a
#    bound.  The file is staged (it was truncated first), so its commit
#    chunks all of it; the commit is interrupted and reported.
t_expect_log "big: cannot store new content: Interrupted system call"
t_expect_log "big could not be backed up: Interrupted system call"
python3 - "$M/big" <<'EOF' &
import os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
os.ftruncate(fd, 512 << 20)  # staged from the start, not streamed
for i in range(512):
    os.pwrite(fd, os.urandom(1 << 20), i << 20)
try:
    os.fsync(fd)
except OSError:
    pass
EOF
writer=$!
# The commit starts when the daemon has every block of the file: its
# staging file (unnamed, seen through /proc) then holds 512 MiB.
staged() {
	local f s
	for f in /proc/"${T_MOUNT_PID[$M]}"/fd/*; do
		[[ $(readlink "$f") == *"/staging/"* ]] || continue
		s=$(stat -L -c %s "$f" 2>/dev/null) || continue
		[ "$s" -ge $((512 << 20)) ] && return 0
	done
	return 1
}
t_wait_for 120 staged || t_fail "big: never staged"
sleep 0.3
t_running $writer || t_fail "big: committed within 0.3 s: too small a test"
pid=${T_MOUNT_PID[$M]}
start=${EPOCHREALTIME/[.,]/}
kill -TERM "$pid"
t_wait_for 5 eval '! t_running $pid' ||
	t_fail "beemofs still running 5 s after SIGTERM"
end=${EPOCHREALTIME/[.,]/}
t_log "SIGTERM during a commit: the daemon ended in $(((end - start) / 1000)) ms"
wait "$pid" || true
unset "T_MOUNT_PID[$M]"
wait $writer || true
mountpoint -q "$M" && { fusermount3 -u "$M" 2>/dev/null || umount -l "$M"; }

# 5. beemoctl restore writes the holes back.
"$BEEMOCTL" restore pc1 latest /sparse --target "$T/out" \
	--password-file "$T/admin.pw" >/dev/null || t_fail "restore"
python3 "$T/sparse.py" check "$T/out/sparse" >/dev/null ||
	t_fail "sparse: restored"
alloc=$(($(stat -c %b "$T/out/sparse") * 512))
[ $alloc -lt $((8 << 20)) ] || t_fail "restored file allocates $alloc bytes"
"$BEEMOCTL" restore pc1 latest /huge --target "$T/out" \
	--password-file "$T/admin.pw" >/dev/null 2>"$T/restore.err" ||
	grep -q "File too large" "$T/restore.err" ||
	t_fail "restore of huge: $(cat "$T/restore.err")"
# The store's check reads contents with holes as they are.
"$BEEMOCTL" check pc1 --password-file "$T/admin.pw" >"$T/check.out" 2>&1 ||
	t_fail "check: $(cat "$T/check.out")"
t_log "ok"
