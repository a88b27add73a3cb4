#!/bin/bash
# report_quota.sh -- quotas.  Soft: crossing it while writing journals a
# "quota" entry and mails one report, however many cycles run; raising
# the limit resolves it: one "RESOLVED" mail.  Hard: df in the mount shows
# the limit, and past it cp gets EDQUOT ("Disk quota exceeded").  The
# configuration's [machine] quota_* win: beemofs applies them at mount and
# `beemoctl quota` refuses to change them.  Setting needs the
# administrator's password; showing does not.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/report_lib.sh"

report_sendmail
report_config
t_appliance
M="$T/mnt"
t_mount "$M"
# stored: the bytes of pc1 in its packs, as the daemon last reported.
stored() { "$BEEMOCTL" quota pc1 --json | report_json 'd["stored"]'; }
# stored_from N: pc1 stores at least 1 MB more than N bytes.
stored_from() { [ "$(stored)" -ge $(($1 + 1000000)) ]; }

# Set while mounted: through the daemon, after the password check.
t_must_fail "quota with a wrong password" "$BEEMOCTL" quota pc1 --soft 2M \
	--password-file "$T/alice.pw"
"$BEEMOCTL" quota pc1 --soft 2M --password-file "$T/admin.pw" >/dev/null ||
	t_fail "quota --soft"
"$BEEMOCTL" quota pc1 --json >"$T/q.json" || t_fail "quota --json"
[ "$(report_json 'd["quota_soft"], d["quota_hard"], d["mounted"]' <"$T/q.json")" = "(2097152, 0, True)" ] ||
	t_fail "quota: $(cat "$T/q.json")"

# Cross it: 3 MiB of random data (incompressible, no dedup).
head -c 3M /dev/urandom >"$M/big1" || t_fail "write big1"
sync "$M/big1"
pending() {
	"$BEEMOCTL" status --json >"$T/st.json"
	[ "$(report_json 'd["appliance"]["reports_pending"]' <"$T/st.json")" != 0 ]
}
t_wait_for 10 pending || true # the run below must report it all the same
report_maint m1 --reports-only || t_fail "maintenance: $(cat "$T/m1.err")"
[ "$(report_count)" = 1 ] || t_fail "expected 1 mail, got $(report_count)"
report_mails >/dev/null
subj=$(report_field 1 subject)
[[ $subj =~ ^"[Beemo test-appliance] pc1 is over its quota: 3".*"used, soft limit 2.0 MiB"$ ]] ||
	t_fail "subject: $subj"
[ "$(report_field 1 report)" = problem ] && [ "$(report_field 1 key)" = quota:pc1 ] ||
	t_fail "headers of the quota report"
"$BEEMOCTL" status --json >"$T/st.json"
[ "$(report_json '[a["key"] for a in d["appliance"]["alerts"]]' <"$T/st.json")" = "['quota:pc1']" ] ||
	t_fail "status alerts: $(cat "$T/st.json")"
# More data, more cycles: still one mail.
s0=$(stored)
head -c 1M /dev/urandom >"$M/big2"
t_wait_for 20 stored_from "$s0" || t_fail "big2 does not reach the packs"
report_maint m2 --reports-only || t_fail "maintenance 2"
report_maint m3 --reports-only || t_fail "maintenance 3"
[ "$(report_count)" = 1 ] || t_fail "the quota was mailed again"

# Resolved by a higher limit.
"$BEEMOCTL" quota pc1 --soft 100M --password-file "$T/admin.pw" >/dev/null ||
	t_fail "quota --soft 100M"
report_maint m4 --reports-only || t_fail "maintenance 4"
[ "$(report_count)" = 2 ] || t_fail "expected the resolved mail"
subj=$(report_field 2 subject)
[[ $subj =~ ^"[Beemo test-appliance] RESOLVED: pc1 is back under its quota" ]] ||
	t_fail "subject 2: $subj"
[ "$(report_field 2 report)" = resolved ] || t_fail "X-Beemo-Report 2"
report_maint m5 --reports-only
[ "$(report_count)" = 2 ] || t_fail "resolved mailed twice"

# Hard limit: df shows it; at it, new files get EDQUOT.
"$BEEMOCTL" quota pc1 --hard 6M --password-file "$T/admin.pw" >/dev/null ||
	t_fail "quota --hard"
size=$(df -B1 --output=size "$M" | tail -n 1 | tr -d ' ')
[ "$size" = $((6 * 1024 * 1024)) ] || t_fail "df size $size, not the hard quota"
got=""
for i in $(seq 1 8); do
	head -c 1M /dev/urandom >"$T/chunk"
	s0=$(stored)
	if cp "$T/chunk" "$M/fill$i" 2>"$T/cp.err"; then
		# Stored bytes count when the chunks reach the packs.
		t_wait_for 20 stored_from "$s0" ||
			t_fail "fill$i does not reach the packs"
	else
		grep -q "Disk quota exceeded" "$T/cp.err" && { got=1; break; }
		# The write that crosses the limit fails at close (EIO):
		# the kernel's writeback reports any error so.
		grep -q "Input/output error" "$T/cp.err" ||
			t_fail "cp: $(cat "$T/cp.err")"
	fi
done
[ -n "$got" ] || t_fail "cp never got EDQUOT"
# New files are refused with less than 1 MiB left; df agrees.
avail=$(df -B1 --output=avail "$M" | tail -n 1 | tr -d ' ')
[ "$avail" -lt $((1024 * 1024)) ] ||
	t_fail "df shows $avail bytes available at the quota"

# The journal recorded each change and the crossing.
"$BEEMOCTL" journal pc1 --type quota --password-file "$T/admin.pw" \
	>"$T/jq.txt" || t_fail "journal"
grep -q "admin .*quota set: soft 2097152 bytes, hard 0 bytes" "$T/jq.txt" &&
	grep -q "beemofs .*pc1 is over its quota" "$T/jq.txt" &&
	grep -q "beemofs .*pc1 is back under its quota" "$T/jq.txt" &&
	grep -q "quota set: soft 104857600 bytes, hard 6291456 bytes" "$T/jq.txt" ||
	t_fail "quota journal: $(cat "$T/jq.txt")"
t_umount "$M"

# The configuration wins: applied at mount, refused by beemoctl.
cat >>"$BEEMO_CONFIG" <<-EOF
	[machine pc1]
	quota_soft = 50M
EOF
t_mount "$M"
t_must_fail "quota --soft set by the configuration" "$BEEMOCTL" quota pc1 \
	--soft 1M --password-file "$T/admin.pw"
grep -q "quota_soft of machine pc1 is set in .*beemo.conf" "$T/must_fail.out" ||
	t_fail "refusal: $(cat "$T/must_fail.out")"
"$BEEMOCTL" quota pc1 --json >"$T/q.json"
[ "$(report_json 'd["quota_soft"], d["soft_from_config"], d["quota_hard"]' <"$T/q.json")" = "(52428800, True, 6291456)" ] ||
	t_fail "quota from the configuration: $(cat "$T/q.json")"
t_umount "$M"

# Not mounted: the store is opened with the password, and the status
# file follows.
"$BEEMOCTL" quota pc1 --hard 0 --password-file "$T/admin.pw" >/dev/null ||
	t_fail "quota --hard 0 on a closed store"
"$BEEMOCTL" quota pc1 --json >"$T/q.json"
[ "$(report_json 'd["quota_hard"], d["mounted"]' <"$T/q.json")" = "(0, False)" ] ||
	t_fail "closed store quota: $(cat "$T/q.json")"
"$BEEMOCTL" journal --all --type quota --password-file "$T/admin.pw" \
	>"$T/ja.txt"
grep -q "(appliance) .*machine pc1: quota set: hard 0" "$T/ja.txt" ||
	t_fail "appliance journal: $(cat "$T/ja.txt")"
t_log "ok"
