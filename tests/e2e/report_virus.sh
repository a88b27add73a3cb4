#!/bin/bash
# report_virus.sh -- a virus written into a backup is refused, journaled
# and mailed: one RFC 5322 message per machine per cycle to [mail] to and
# the machine's mail_to, naming the machine, the file (a non-ASCII name
# survives the encoded-word subject) and the signature; the same virus in
# the same file is not mailed again; a failing mail command is logged,
# journaled, keeps the report pending (beemoctl status counts it) and the
# next cycle sends it; beemofs never waits for any of it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/report_lib.sh"

report_sendmail
report_config "[machine pc1]" "mail_to = alice@example.com, bob@example.com"
t_appliance
M="$T/mnt"
t_mount "$M"
t_expect_log 'virus Beemo\.Test\.EICAR(\.UNOFFICIAL)? found: file not backed up'
t_expect_log 'virus Beemo\.Test\.Body(\.UNOFFICIAL)? found: file not backed up'

mkdir -p "$M/docs"
printf '%s' "$T_EICAR" >"$T/eicar.com"
t_put_virus "$T/eicar.com" "$M/docs/rapport-été.com" ||
	t_fail "the infected file was accepted"
echo "clean" >"$M/docs/clean.txt" || t_fail "clean file refused"
# The spool gets the event at once, sealed (it names the file); nothing
# is mailed by beemofs.
# spooled: the number of reports in the spool.
spooled() { find "$T/store/reports/spool" -name '*.sealed' | wc -l; }
spooled_ge() { [ "$(spooled)" -ge "$1" ]; }
t_wait_for 10 spooled_ge 1 || t_fail "spool empty"
grep -rl "rapport" "$T/store/reports" && t_fail "a file name in clear"
"$BEEMOCTL" status --json >"$T/st.json" || t_fail "status"
[ "$(report_json 'd["appliance"]["reports_pending"]' <"$T/st.json")" = 1 ] ||
	t_fail "the virus report is not pending: $(cat "$T/st.json")"
[ "$(report_count)" = 0 ] || t_fail "beemofs sent mail by itself"

report_maint m1 --reports-only || t_fail "maintenance: $(cat "$T/m1.err")"
[ "$(report_count)" = 1 ] || t_fail "expected 1 mail, got $(report_count)"
report_mails >"$T/mails.json"
subj=$(report_field 1 subject)
[[ $subj =~ ^"[Beemo test-appliance] pc1: virus Beemo.Test.EICAR"(.UNOFFICIAL)?" found in /docs/rapport-été.com"$ ]] ||
	t_fail "subject: $subj"
[ "$(report_field 1 to)" = "ops@example.com,alice@example.com,bob@example.com" ] ||
	t_fail "recipients: $(report_field 1 to)"
[ "$(report_field 1 report)" = events ] || t_fail "X-Beemo-Report"
[ "$(report_field 1 machine)" = pc1 ] || t_fail "X-Beemo-Machine"
body=$(report_field 1 body)
for w in "machine pc1" "/docs/rapport-été.com" "Beemo.Test.EICAR" \
	"not backed up"; do
	grep -qF "$w" <<<"$body" || t_fail "body lacks '$w': $body"
done

# The same virus in the same file: not mailed again.
t_put_virus "$T/eicar.com" "$M/docs/rapport-été.com" ||
	t_fail "the infected file was accepted the second time"
report_maint m2 --reports-only || t_fail "maintenance 2"
[ "$(report_count)" = 1 ] || t_fail "the same virus was mailed twice"

# Two new ones in one cycle: one mail for the machine listing both.
printf 'x BEEMO-TEST-VIRUS-BODY y' >"$T/body.bin"
n=$(spooled)
t_put_virus "$T/body.bin" "$M/docs/a.bin" || t_fail "a.bin accepted"
t_put_virus "$T/eicar.com" "$M/docs/b.com" ||
	t_fail "b.com accepted"
# The report thread spools each within a second.
t_wait_for 20 spooled_ge $((n + 2)) ||
	t_fail "$((n + 2)) reports expected in the spool, $(spooled) there"
# The mail command fails: logged, journaled, kept, retried.
touch "$T/sendmail.fail"
t_expect_log 'report not sent \(kept for the next run\): mail command .*sendmail exited with status 75: sendmail: relay unreachable'
rc=0
report_maint m3 --reports-only || rc=$?
[ $rc = 1 ] || t_fail "maintenance with a failing mail command exited $rc"
[ "$(report_count)" = 1 ] || t_fail "a mail went out through a failing command"
"$BEEMOCTL" status --json >"$T/st.json" || t_fail "status"
[ "$(report_json 'd["appliance"]["reports_pending"]' <"$T/st.json")" -ge 2 ] ||
	t_fail "pending reports not counted: $(cat "$T/st.json")"
rm "$T/sendmail.fail"
report_maint m4 --reports-only || t_fail "maintenance 4: $(cat "$T/m4.err")"
[ "$(report_count)" = 2 ] || t_fail "expected 2 mails, got $(report_count)"
subj=$(report_field 2 subject)
[ "$subj" = "[Beemo test-appliance] pc1: 2 reports (2 viruses, 0 errors)" ] ||
	t_fail "subject 2: $subj"
body=$(report_field 2 body)
grep -qF "/docs/a.bin" <<<"$body" && grep -qF "Beemo.Test.Body" <<<"$body" &&
	grep -qF "/docs/b.com" <<<"$body" || t_fail "body 2: $body"
"$BEEMOCTL" status --json >"$T/st.json"
[ "$(report_json 'd["appliance"]["reports_pending"]' <"$T/st.json")" = 0 ] ||
	t_fail "reports still pending: $(cat "$T/st.json")"

# The machine journal has each detection; the appliance journal each
# mail sent and the one that failed.
"$BEEMOCTL" journal pc1 --type virus --files --password-file "$T/admin.pw" \
	>"$T/j.txt" || t_fail "journal"
grep -Eq "virus Beemo.Test.EICAR(.UNOFFICIAL)? found in /docs/rapport-été.com" "$T/j.txt" ||
	t_fail "journal: $(cat "$T/j.txt")"
"$BEEMOCTL" journal --all --type report --password-file "$T/admin.pw" \
	>"$T/ja.txt" || t_fail "journal --all"
[ "$(grep -c 'mail sent to ops@example.com, alice@example.com, bob@example.com' "$T/ja.txt")" = 2 ] &&
	grep -q 'failed (kept for the next run): mail command .*status 75' "$T/ja.txt" ||
	t_fail "appliance journal: $(cat "$T/ja.txt")"
t_umount "$M"
t_log "ok"
