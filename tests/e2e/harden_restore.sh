#!/bin/bash
# harden_restore.sh -- a backup holds what its client wrote, and
# `beemoctl restore` runs as root on the appliance: a hostile client's
# set-user-ID-root program, file capability and device node must not come
# back to life there.  By default restore clears set-id bits, skips device
# nodes (said on stderr) and leaves out security.* and trusted.*
# attributes; --privileged restores them all, for a trusted machine.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || t_skip "needs root"
command -v setcap >/dev/null || t_skip "no setcap (libcap2-bin)"
t_appliance
M="$T/mnt"
t_mount "$M"
# The client, root on its own machine, writes these through the mount.
cp /usr/bin/id "$M/id"
chown 0:0 "$M/id"
chmod 4755 "$M/id"
cp /bin/cat "$M/cat"
chmod 2755 "$M/cat"
setcap cap_dac_read_search+ep "$M/cat" || t_fail "setcap in the mount"
mknod -m 666 "$M/mem" c 1 1 || t_fail "mknod in the mount"
echo plain >"$M/plain"
t_umount "$M"

mkdir -m 0700 "$T/out" "$T/priv"
"$BEEMOCTL" restore pc1 latest --target "$T/out" \
	--password-file "$T/admin.pw" >"$T/r.out" 2>"$T/r.err" ||
	t_fail "restore: $(cat "$T/r.err")"
[ -u "$T/out/id" ] && t_fail "a set-user-ID program was restored"
[ -g "$T/out/cat" ] && t_fail "a set-group-ID program was restored"
[ "$(stat -c %a "$T/out/id")" = 755 ] ||
	t_fail "id restored with mode $(stat -c %a "$T/out/id")"
[ -z "$(getcap "$T/out/cat")" ] ||
	t_fail "a file capability was restored: $(getcap "$T/out/cat")"
[ -e "$T/out/mem" ] && t_fail "a device node was restored"
grep -q "mem: device node skipped" "$T/r.err" ||
	t_fail "the skipped device node is not said: $(cat "$T/r.err")"
grep -q "1 device nodes skipped" "$T/r.out" || t_fail "$(cat "$T/r.out")"
[ "$(cat "$T/out/plain")" = plain ] || t_fail "plain file"
# An unprivileged user gets no root from the restored tree.
chmod 0755 "$T" "$T/out"
[ "$(setpriv --reuid 65534 --regid 65534 --clear-groups "$T/out/id" -u)" \
	= 65534 ] || t_fail "the restored id runs as root"

# --privileged: everything, as stored.
"$BEEMOCTL" restore pc1 latest --target "$T/priv" --privileged \
	--password-file "$T/admin.pw" >/dev/null 2>"$T/p.err" ||
	t_fail "restore --privileged: $(cat "$T/p.err")"
[ -u "$T/priv/id" ] && [ -g "$T/priv/cat" ] ||
	t_fail "--privileged lost the set-id bits"
getcap "$T/priv/cat" | grep -q cap_dac_read_search ||
	t_fail "--privileged lost the file capability"
[ -c "$T/priv/mem" ] || t_fail "--privileged skipped the device node"
t_log "ok"
