#!/bin/bash
# harden_mount.sh -- the mount exposes nothing of a client's files to
# the appliance itself or to its other users.
#   - Mounted as from fstab (mount(8) -> mount.fuse3 -> beemofs, with
#     "defaults,dev,suid"): findmnt shows nosuid,nodev; a device node
#     made in the mount is kept (it is backup data) but cannot be opened:
#     reading `mknod zero c 1 5` gives EACCES, never the device's zeros;
#     the daemon that mount started has a core size limit of 0.
#   - Mounted as the shipped beemofs@.service does (its ExecStartPre and
#     ExecStart lines, with this test's paths): another local user (uid
#     65534) cannot read a 0600 file that uid 65534 owns on the client,
#     while the same user reads such a file elsewhere (the check works).
. "$(dirname "$0")/lib.sh"

command -v setpriv >/dev/null || t_skip "setpriv (util-linux) missing"
t_appliance
# Another user must be able to walk to the mount points for the second
# part to mean anything.
chmod 0755 "$T"

# daemon_of MNT: the pid of the beemofs serving MNT (started by mount).
daemon_of() {
	local f
	for f in /proc/[0-9]*/cmdline; do
		if { tr '\0' ' ' <"$f"; } 2>/dev/null |
			grep -q "beemofs .* $1 "; then
			f=${f#/proc/}
			echo "${f%/cmdline}"
			return 0
		fi
	done
	return 1
}

# --- fstab: mount -t fuse "PROGRAM#STORE" MNT -o OPTIONS -----------------
MNT=$T/fstab
mkdir -p "$MNT"
T_MOUNTS+=("$MNT")
mount -t fuse "$BEEMOFS#$T/store" "$MNT" \
	-o "machine=pc1,keyfile=$T/pc1.poste,defaults,dev,suid" \
	>>"$T/beemofs.log" 2>&1 || t_fail "mount -t fuse failed"
mountpoint -q "$MNT" || t_fail "mount returned but nothing is mounted"
pid=$(daemon_of "$MNT") || t_fail "no beemofs process for $MNT"
T_PIDS+=("$pid")
# The daemon forked by mount keeps bm_nodump's limit (harden_core.sh
# crashes the foreground one).
grep -Eq '^Max core file size +0 +0 ' "/proc/$pid/limits" ||
	t_fail "the daemon may dump core: $(grep core "/proc/$pid/limits")"
opts=$(findmnt -n -o OPTIONS "$MNT")
for o in nosuid nodev; do
	[[ ,$opts, == *,$o,* ]] || t_fail "mount options lack $o: $opts"
done
mknod "$MNT/zero" c 1 5 || t_fail "mknod in the mount failed"
[ "$(stat -c %F:%t:%T "$MNT/zero")" = "character special file:1:5" ] ||
	t_fail "the device node is not kept: $(stat -c %F:%t:%T "$MNT/zero")"
if out=$(head -c 16 "$MNT/zero" 2>"$T/head.err" | od -An -tx1); then
	[ -z "$out" ] || t_fail "reading the device node gave data: $out"
fi
[ -z "$out" ] || t_fail "reading the device node gave data: $out"
grep -q "Permission denied" "$T/head.err" ||
	t_fail "opening the device node: $(cat "$T/head.err"), not EACCES"
umount "$MNT" || t_fail "umount $MNT"
t_wait_for 20 eval '! t_running "$pid"' || t_fail "beemofs did not exit"

# --- the shipped unit ------------------------------------------------------
UNIT=$BEEMO_BUILD/fs/beemofs@.service
[ -f "$UNIT" ] || t_fail "$UNIT not built"
unit_line() {
	sed -n "s/^$1=//p" "$UNIT" | sed -e "s|[^ ]*/beemofs |$BEEMOFS |" \
		-e "s|%d/poste|$T/pc1.poste|g" \
		-e "s|/var/lib/beemo|$T/store|g" \
		-e "s|/srv/beemo|$T/srv/beemo|g" -e "s|%i|pc1|g"
}
while read -r -a pre; do
	[ ${#pre[@]} = 0 ] || "${pre[@]}" || t_fail "ExecStartPre: ${pre[*]}"
done < <(unit_line ExecStartPre)
read -r -a start < <(unit_line ExecStart)
MNT=$T/srv/beemo/pc1
[ -d "$MNT" ] || t_fail "ExecStartPre did not make the mount point"
"${start[@]}" >>"$T/beemofs.log" 2>&1 &
T_MOUNT_PID[$MNT]=$!
T_PIDS+=($!)
T_MOUNTS+=("$MNT")
t_wait_mounted "$MNT" || t_fail "the unit's ExecStart did not mount"
printf 'private %s\n' "$RANDOM" >"$MNT/secret"
chown 65534:65534 "$MNT/secret"
chmod 0600 "$MNT/secret"
cp -p "$MNT/secret" "$T/control"
as_other() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
as_other cat "$T/control" >/dev/null ||
	t_fail "uid 65534 cannot read its own file outside the mount"
if as_other cat "$MNT/secret" >"$T/other.out" 2>&1; then
	t_fail "another local user read a client's file through the mount" \
		"of beemofs@.service ($(findmnt -n -o OPTIONS "$MNT"))"
fi
t_umount "$MNT"
t_log "ok"
