#!/bin/bash
# fs_syscalls.sh -- run the syscall torture program (syscalls.c) on a
# beemofs mount, then check the mount still works after it.
#
# ext4 mode (FS_TEST_DIR, see fs_lib.sh): ext4 without the ea_inode
# feature keeps all of a file's extended attributes in one block, so
# there the large value of case xattr_large is cut to what fits; beemofs
# must take the full 60 KiB (the Linux limit is 64 KiB).
set -euo pipefail
# shellcheck source=tests/e2e/fs_lib.sh
. "$(dirname "$0")/fs_lib.sh"

fs_init
fs_mount

xattr_opt=()
if fs_ext4; then
	probe=$MNT/xattr-probe
	touch "$probe"
	if ! setfattr -n user.big -v "0x$(head -c 61440 /dev/zero |
		od -An -v -tx1 | tr -d ' \n')" "$probe" 2>/dev/null; then
		t_log "ext4 mode: $FS_TEST_DIR takes no 60 KiB xattr" \
			"(no ea_inode), xattr_large uses 2000 bytes"
		xattr_opt=(-X 2000)
	fi
	rm -f "$probe"
fi

out=$T/syscalls.out
rc=0
timeout -k 10 240 "$SYSCALLS" "${xattr_opt[@]+"${xattr_opt[@]}"}" \
	"$MNT" >"$out" 2>&1 || rc=$?
cat "$out" >&2
[ $rc != 124 ] || t_fail "syscalls timed out after 240 s"
if [ $rc != 0 ]; then
	t_fail "syscalls failed (exit $rc): $(grep -E '^FAIL' "$out" |
		head -n 1)"
fi
grep -q '^0 of [0-9]* cases failed$' "$out" ||
	t_fail "syscalls did not report its summary"
left=$(find "$MNT" -mindepth 1 -maxdepth 1 ! -name .snapshots -printf '%P\n')
[ -z "$left" ] || t_fail "syscalls left files behind: $left"

# The mount survives the torture: a fresh file round-trips a remount.
head -c 1000000 /dev/urandom >"$T/after"
cp "$T/after" "$MNT/after"
# A truncate by name while the file is open only for reading is kept
# once the reader closes (nobody writes through that descriptor).
head -c 300000 /dev/urandom >"$MNT/cut"
exec 3<"$MNT/cut"
python3 -c "import os, sys; os.truncate(sys.argv[1], 1000)" "$MNT/cut"
exec 3<&-
fs_remount
cmp "$T/after" "$MNT/after" ||
	t_fail "file written after syscalls differs after remount"
[ "$(stat -c %s "$MNT/cut")" = 1000 ] ||
	t_fail "truncate while open for reading: size $(stat -c %s \
		"$MNT/cut") after remount, not 1000"
fs_umount
t_log "ok"
