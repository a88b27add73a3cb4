#!/bin/bash
# report_restore.sh -- a restore where a file fails (a directory in the
# way of --overwrite always) exits 4 (finished with warnings), is
# journaled as an error and mailed as an error report naming the
# machine, the snapshot and the target; a restore that works is
# journaled and mails nothing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/report_lib.sh"

report_sendmail
report_config
t_appliance
M="$T/mnt"
t_mount "$M"
mkdir -p "$M/d"
for i in 1 2 3; do echo "file $i" >"$M/d/f$i"; done
t_umount "$M"

mkdir -p "$T/out"
mkdir "$T/out/f2"
rc=0
"$BEEMOCTL" restore pc1 latest /d --target "$T/out" --overwrite always \
	--password-file "$T/admin.pw" >"$T/out.log" 2>&1 || rc=$?
[ "$rc" = 4 ] || t_fail "a file failed: exit $rc"
grep -q "f2: is a directory" "$T/out.log" || t_fail "$(cat "$T/out.log")"
"$BEEMOCTL" restore pc1 latest /d --target "$T/out2" \
	--password-file "$T/admin.pw" >/dev/null || t_fail "restore"

report_maint m1 --reports-only || t_fail "maintenance: $(cat "$T/m1.err")"
[ "$(report_count)" = 1 ] || t_fail "expected 1 mail, got $(report_count)"
report_mails >/dev/null
subj=$(report_field 1 subject)
[ "$subj" = "[Beemo test-appliance] pc1: restore of /d from snapshot 1 into $T/out failed: 1 errors, 2 files restored" ] ||
	t_fail "subject: $subj"
[ "$(report_field 1 report)" = events ] && [[ $(report_field 1 key) == restore:pc1:* ]] ||
	t_fail "headers: $(report_field 1 report) $(report_field 1 key)"

"$BEEMOCTL" journal pc1 --json --password-file "$T/admin.pw" >"$T/j.json" ||
	t_fail "journal"
[ "$(report_journal '[e["type"] for e in d if "restore of /d" in e["summary"]]' <"$T/j.json")" = "['error', 'restore']" ] ||
	t_fail "journal: $(cat "$T/j.json")"
[ "$(report_journal 'sorted([e["files"] for e in d if e["type"] == "restore"][0])' <"$T/j.json")" = "['/d/f1', '/d/f2', '/d/f3']" ] ||
	t_fail "restored files: $(cat "$T/j.json")"
t_log "ok"
