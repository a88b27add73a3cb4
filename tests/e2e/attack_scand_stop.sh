#!/bin/bash
# attack_scand_stop.sh -- the antivirus service stops answering (kill
# -STOP, as a service stuck in a scan would) while a client writes: a
# closed file's commit waits for its scan.  The mount must not hang the
# client's other work meanwhile: creating, renaming and removing other
# files, and listing a directory, must each end within 5 s.  (The
# client waits for the service SCAN_CLIENT_TIMEOUT, 600 s, before it
# gives up on the scan.)  Fails when an operation hangs.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/scand_lib.sh"

scand_config shared
t_appliance
t_expect_log "error: antivirus service $SCAND_SOCK: "
t_expect_log "error: /[^:]*: antivirus: the scanning service cannot be \
reached$"
t_expect_log "error: /[^:]*: "

scand_start
scand_mount "$MNT1" pc1
scand_put "$MNT1/before.txt" "written while the service answers"
scand_snapshot pc1
kill -STOP "$SCAND_PID"
timeout -k 1 10 python3 -c 'open(__import__("sys").argv[1], "w").write("x")' \
	"$MNT1/stuck.txt" || t_log "the write of stuck.txt took over 10 s"
# op WHAT CMD...: CMD, at most 5 s.
hung=()
op() {
	local what=$1
	shift
	local t0=$SECONDS rc=0
	timeout -k 1 5 "$@" >/dev/null 2>&1 || rc=$?
	t_log "$what: status $rc after $((SECONDS - t0)) s"
	[ $rc -lt 124 ] || hung+=("$what")
}
op "create" sh -c "echo x >'$MNT1/new.txt'"
sleep 2 # the committer's next round
op "mkdir" mkdir "$MNT1/dir"
op "rename of another file" mv "$MNT1/before.txt" "$MNT1/after.txt"
op "unlink" rm -f "$MNT1/new.txt"
op "rename of the stuck file" mv "$MNT1/stuck.txt" "$MNT1/stuck2.txt"
op "readdir" ls "$MNT1"
op "stat" stat "$MNT1/after.txt"
kill -CONT "$SCAND_PID"
t_settle "$MNT1"
t_umount "$MNT1"
[ ${#hung[@]} = 0 ] ||
	t_fail "with the service stopped, hung for 5 s: ${hung[*]}"
t_log "ok: nothing hung while the service was stopped"
