#!/bin/bash
# attack_scand_rename.sh -- the antivirus service is down (engine =
# shared) while a client updates a file the rsync way: the new version is
# written to a temporary file, closed, and renamed over the real name.
# The new version cannot be scanned, so it is not kept; the version kept
# before must then still be the file's content, in the live tree and in
# the next snapshot: never an empty file where both versions had data.
# With [store] close = wait the close fails and rsync does not rename;
# with close = background (the default) the close returns and the rename
# follows while the commit is queued.  Fails when the old version is lost.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/scand_lib.sh"

scand_config shared
t_appliance
t_expect_log "error: antivirus service $SCAND_SOCK: "
t_expect_log "error: /\.doc\.txt\.tmp: antivirus: the scanning service \
cannot be reached$"
t_expect_log "error: /(\.doc\.txt\.tmp|doc\.txt): "

scand_start
scand_mount "$MNT1" pc1
scand_put "$MNT1/doc.txt" "version 1, kept"
scand_snapshot pc1
scand_kept pc1 doc.txt || t_fail "doc.txt not kept while the service runs"

scand_stop
scand_put "$MNT1/.doc.txt.tmp" "version 2, never scanned"
mv "$MNT1/.doc.txt.tmp" "$MNT1/doc.txt" 2>"$T/mv.err" ||
	t_log "the rename failed: $(cat "$T/mv.err")"
t_settle "$MNT1"
grep -q "doc.txt.tmp: antivirus: the scanning service cannot be reached" \
	"$T/beemofs.log" || t_fail "the failed scan is not logged"
sleep 1.5 # the kernel's attribute timeout
live=$(cat "$MNT1/doc.txt" 2>/dev/null || echo "(absent)")
scand_snapshot pc1
"$BEEMOCTL" ls pc1 latest / --long --password-file "$T/admin.pw" \
	>"$T/ls.out" 2>&1 || t_fail "beemoctl ls: $(cat "$T/ls.out")"
t_umount "$MNT1"
case $live in
"version 1, kept") ;;
*) t_fail "after the unscanned update, doc.txt shows '$live'," \
	"not the version kept before: $(grep doc.txt "$T/ls.out")" ;;
esac
grep -Eq " 15 [0-9-]+ [0-9:]+ doc\.txt$" "$T/ls.out" ||
	t_fail "the snapshot lost doc.txt's kept version: $(cat "$T/ls.out")"
t_log "ok: the version kept before stays"
