#!/bin/bash
# attack_cq_virus_update.sh -- an infected update of a kept file written
# the way rsync writes every update: the new content in a temporary
# file, closed, then renamed over the name.  beemofs(8) says that the
# previous version of a refused file becomes current again: the kept
# version must still be the file's content once the commits settled,
# in the live tree.  With [store] close = background (the default) the
# rename follows the close while the scan is queued: it must not replace
# the kept version with a file that then disappears with the name.
# Fails when the kept version is lost.
. "$(dirname "$0")/lib.sh"

MNT="$T/mnt"
t_appliance
t_expect_log "error: /[^:]*: virus Beemo\.Test\.EICAR[^ ]* found: \
file not backed up$"
printf '%s' "$T_EICAR" >"$T/eicar.com"
t_mount "$MNT"
echo "version 1, kept" >"$MNT/doc.txt"
t_settle "$MNT"
# As in a transfer: other files closed just before (two big ones keep
# both commit threads busy), then the update, renamed at once.
python3 - "$MNT" "$T/eicar.com" <<'PY'
import os, sys
mnt = sys.argv[1]
for i in range(2):
    open(os.path.join(mnt, "big%d.bin" % i), "wb").write(os.urandom(7 << 19))
open(os.path.join(mnt, ".doc.txt.tmp"), "wb").write(open(sys.argv[2], "rb").read())
try:
    os.rename(os.path.join(mnt, ".doc.txt.tmp"), os.path.join(mnt, "doc.txt"))
except FileNotFoundError:
    print("the rename failed: ENOENT (refused before it)")
PY
t_settle "$MNT"
grep -Eq "error: /(\.doc\.txt\.tmp|doc\.txt): virus Beemo\.Test\.EICAR" \
	"$T/beemofs.log" || t_fail "the refusal is not logged"
sleep 1.2 # the kernel's entry timeout
live=$(cat "$MNT/doc.txt" 2>/dev/null || echo "(absent)")
t_umount "$MNT"
[ "$live" = "version 1, kept" ] ||
	t_fail "after the refused update, doc.txt shows '$live', not the" \
		"version kept before"
t_log "ok: the version kept before stays current"
