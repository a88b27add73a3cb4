#!/bin/bash
# mail_smtp.sh -- reports without a local mail system: a virus report goes
# to a real SMTP server on 127.0.0.1 (smtp_server.py, aiosmtpd) over
# STARTTLS with AUTH, its envelope taken from [mail] from and to and its
# From display name in UTF-8 encoded per RFC 2047; `maintenance
# --test-mail` over implicit TLS (smtps://); a wrong password fails with
# exit 1 and one clear line, and the password appears in no log; a
# password would not be sent in clear; a report that could not be sent
# stays pending and goes out at the next run; and the sendmail command keeps
# working, its words quoted as a shell would (a fake sendmail records
# its argv); --test-mail --json prints one object, sent or not.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/report_lib.sh"

PY=
for p in python3 /usr/bin/python3; do
	if "$p" -c 'import aiosmtpd' 2>/dev/null; then
		PY=$p
		break
	fi
done
[ -n "$PY" ] || t_skip "no python3-aiosmtpd"
command -v openssl >/dev/null || t_skip "no openssl"

# The server's certificate, for 127.0.0.1, trusted through smtp_cafile.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
	-addext subjectAltName=IP:127.0.0.1 -keyout "$T/smtp.key" \
	-out "$T/smtp.crt" 2>"$T/openssl.err" ||
	t_fail "openssl: $(cat "$T/openssl.err")"
SECRET="smtp-Secret-42"
t_pw "$T/smtp.pw" "$SECRET"
mkdir "$T/smtp"
"$PY" "$(dirname "$0")/smtp_server.py" "$T/smtp" "$T/smtp.crt" \
	"$T/smtp.key" beemo-relay "$T/smtp.pw" >"$T/smtp-server.out" 2>&1 &
T_PIDS+=($!)
t_wait_for 20 test -e "$T/smtp/ports" ||
	t_fail "the SMTP server did not start: $(cat "$T/smtp-server.out")"
read -r P_STARTTLS P_SMTPS <"$T/smtp/ports"

# mail_config URL [EXTRA LINES]: the configuration, with [mail] smtp URL.
mail_config() {
	local url=$1
	shift
	t_config "appliance = test-appliance"
	cat >>"$BEEMO_CONFIG" <<-EOF
		[mail]
		smtp = $url
		smtp_user = beemo-relay
		smtp_password_file = $T/smtp.pw
		smtp_cafile = $T/smtp.crt
		smtp_timeout = 20s
		from = Étude Dupont <beemo@etude.fr>
		to = ops@example.com
	EOF
	printf '%s\n' "$@" >>"$BEEMO_CONFIG"
}

# smtp_msg N EXPR: EXPR on message N as the server received it ("m", an
# email.message, strict policy) and its envelope ("e").
smtp_msg() {
	"$PY" - "$T/smtp/$1" "$2" <<-'EOF'
		import email, email.policy, json, sys
		raw = open(sys.argv[1] + ".eml", "rb").read()
		e = json.load(open(sys.argv[1] + ".json"))
		m = email.message_from_bytes(raw, policy=email.policy.strict)
		assert not m.defects, repr(m.defects)
		print(eval(sys.argv[2]))
	EOF
}
smtp_count() { ls "$T/smtp" | grep -c '\.eml$' || true; }

# 1. A virus report, over STARTTLS with AUTH.
mail_config "smtp://127.0.0.1:$P_STARTTLS" "[machine pc1]" \
	"mail_to = Alice Müller <alice@example.com>"
t_appliance
M="$T/mnt"
t_mount "$M"
t_expect_log 'virus Beemo\.Test\.EICAR(\.UNOFFICIAL)? found: file not backed up'
mkdir -p "$M/docs"
printf '%s' "$T_EICAR" >"$T/eicar.com"
t_put_virus "$T/eicar.com" "$M/docs/facture.com" ||
	t_fail "the infected file was accepted"
spooled() { [ "$(find "$T/store/reports/spool" -name '*.sealed' | wc -l)" -ge 1 ]; }
t_wait_for 10 spooled || t_fail "spool empty"
report_maint m1 --reports-only || t_fail "maintenance: $(cat "$T/m1.err")"
[ "$(smtp_count)" = 1 ] || t_fail "expected 1 message, got $(smtp_count)"
[ "$(smtp_msg 1 'e["mail_from"]')" = beemo@etude.fr ] ||
	t_fail "envelope sender: $(cat "$T/smtp/1.json")"
[ "$(smtp_msg 1 '",".join(e["rcpt_tos"])')" = \
	"ops@example.com,alice@example.com" ] ||
	t_fail "envelope recipients: $(cat "$T/smtp/1.json")"
[ "$(smtp_msg 1 'e["tls"], e["port"], e["login"]')" = \
	"(True, $P_STARTTLS, 'beemo-relay')" ] ||
	t_fail "not over STARTTLS with AUTH: $(cat "$T/smtp/1.json")"
# The From display name: encoded-words in the message, Étude once decoded.
grep -q '^From: =?UTF-8?B?' "$T/smtp/1.eml" ||
	t_fail "From not RFC 2047: $(grep '^From' "$T/smtp/1.eml")"
[ "$(smtp_msg 1 'm["From"].addresses[0].display_name')" = "Étude Dupont" ] &&
	[ "$(smtp_msg 1 'm["From"].addresses[0].addr_spec')" = beemo@etude.fr ] ||
	t_fail "From: $(smtp_msg 1 'm["From"]')"
[ "$(smtp_msg 1 'm["To"].addresses[1].display_name')" = "Alice Müller" ] ||
	t_fail "To: $(smtp_msg 1 'm["To"]')"
subj=$(smtp_msg 1 'm["Subject"]')
[[ $subj =~ ^"[Beemo test-appliance] pc1: virus Beemo.Test.EICAR"(.UNOFFICIAL)?" found in /docs/facture.com"$ ]] ||
	t_fail "subject: $subj"
[ "$(smtp_msg 1 'm["X-Beemo-Report"]')" = events ] || t_fail "X-Beemo-Report"
"$BEEMOCTL" journal --all --type report --password-file "$T/admin.pw" \
	>"$T/ja.txt" || t_fail "journal --all"
grep -q 'mail sent to ops@example.com, Alice Müller <alice@example.com>' \
	"$T/ja.txt" || t_fail "appliance journal: $(cat "$T/ja.txt")"

# A refused login keeps the next report pending, journaled with the
# server's reply; it goes out once the password is right again.
t_pw "$T/smtp.pw" "not-the-password"
t_put_virus "$T/eicar.com" "$M/docs/devis.com" ||
	t_fail "the second infected file was accepted"
t_wait_for 10 spooled || t_fail "spool empty (2)"
t_expect_log 'report not sent \(kept for the next run\): SMTP: 535 authentication failed: 5\.7\.8 Authentication credentials invalid$'
rc=0
report_maint m2 --reports-only || rc=$?
[ $rc = 1 ] || t_fail "maintenance with a refused login exited $rc"
[ "$(smtp_count)" = 1 ] || t_fail "delivered with a refused login"
"$BEEMOCTL" journal --all --type report --password-file "$T/admin.pw" \
	>"$T/ja.txt" || t_fail "journal --all"
grep -q 'failed (kept for the next run): SMTP: 535 authentication failed' \
	"$T/ja.txt" || t_fail "appliance journal: $(cat "$T/ja.txt")"
t_pw "$T/smtp.pw" "$SECRET"
report_maint m3 --reports-only || t_fail "maintenance 3: $(cat "$T/m3.err")"
[ "$(smtp_count)" = 2 ] || t_fail "the pending report was not sent"
grep -q 'devis.com' <<<"$(smtp_msg 2 'm["Subject"]')" ||
	t_fail "second report: $(smtp_msg 2 'm["Subject"]')"
t_umount "$M"

# 2. --test-mail over implicit TLS.
mail_config "smtps://127.0.0.1:$P_SMTPS"
"$BEEMO_SYNC" maintenance --test-mail >"$T/t1.out" 2>>"$T/sync.log" ||
	t_fail "--test-mail over smtps: $(cat "$T/sync.log")"
grep -q "test mail sent through SMTP smtps://127.0.0.1:$P_SMTPS to ops@example.com" \
	"$T/t1.out" || t_fail "--test-mail said: $(cat "$T/t1.out")"
[ "$(smtp_count)" = 3 ] || t_fail "no test message arrived"
[ "$(smtp_msg 3 'e["port"], e["login"], m["Subject"], m["X-Beemo-Report"]')" = \
	"($P_SMTPS, 'beemo-relay', '[Beemo test-appliance] test message', 'test')" ] ||
	t_fail "test message: $(smtp_msg 3 'e, m["Subject"]')"

# 3. A wrong password: exit 1, one clear line, nothing delivered.
t_pw "$T/smtp.pw" "not-the-password"
t_expect_log '^beemo-sync: error: test mail not sent through SMTP .*: SMTP: 535 authentication failed: 5\.7\.8 Authentication credentials invalid$'
for url in "smtps://127.0.0.1:$P_SMTPS" "smtp://127.0.0.1:$P_STARTTLS"; do
	mail_config "$url"
	rc=0
	"$BEEMO_SYNC" maintenance --test-mail >/dev/null 2>"$T/t2.err" || rc=$?
	cat "$T/t2.err" >>"$T/sync.log"
	[ $rc = 1 ] || t_fail "a wrong password exited $rc ($url)"
	grep -q 'SMTP: 535 authentication failed' "$T/t2.err" ||
		t_fail "wrong password: $(cat "$T/t2.err")"
done
[ "$(smtp_count)" = 3 ] || t_fail "delivered with a wrong password"
grep -c '^refused' "$T/smtp/auth.log" | grep -qx 3 ||
	t_fail "auth log: $(cat "$T/smtp/auth.log")"

# 4. A password is never sent in clear.
t_pw "$T/smtp.pw" "$SECRET"
t_expect_log "SMTP: \[mail\] smtp_user with smtp_starttls = no would send the password in clear"
mail_config "smtp://127.0.0.1:$P_STARTTLS" "smtp_starttls = no"
rc=0
"$BEEMO_SYNC" maintenance --test-mail >/dev/null 2>>"$T/sync.log" || rc=$?
[ $rc = 1 ] || t_fail "smtp_user without TLS: exit $rc"
[ "$(grep -c '^ok' "$T/smtp/auth.log")" = 3 ] ||
	t_fail "a login was tried without TLS: $(cat "$T/smtp/auth.log")"
grep -rlF "$SECRET" "$T"/*.log "$T"/*.out "$T"/*.err 2>/dev/null &&
	t_fail "the SMTP password is in a log"

# 5. The sendmail command: its words quoted as a shell would, no shell.
mkdir -p "$T/bin dir"
cat >"$T/bin dir/fake sendmail" <<-EOF
	#!/bin/bash
	printf '%s\n' "\$@" >"$T/argv"
	cat >"$T/sendmail.eml"
EOF
chmod 755 "$T/bin dir/fake sendmail"
t_config "appliance = test-appliance"
cat >>"$BEEMO_CONFIG" <<-EOF
	[mail]
	command = '$T/bin dir/fake sendmail' -a "my account" -t -i \$HOME
	from = Étude Dupont <beemo@etude.fr>
	to = ops@example.com
EOF
"$BEEMO_SYNC" maintenance --test-mail >"$T/t3.out" 2>>"$T/sync.log" ||
	t_fail "--test-mail through the command: $(tail -1 "$T/sync.log")"
printf -- '-a\nmy account\n-t\n-i\n$HOME\n' | cmp -s - "$T/argv" ||
	t_fail "the command's argv: $(cat "$T/argv")"
grep -q '^X-Beemo-Report: test$' "$T/sendmail.eml" &&
	grep -q '^From: =?UTF-8?B?w4l0dWRlIER1cG9udA==?= <beemo@etude.fr>$' \
	"$T/sendmail.eml" || t_fail "message: $(cat "$T/sendmail.eml")"
# --test-mail --json: one object, sent or not (exit 0 or 1).
"$BEEMO_SYNC" maintenance --test-mail --json >"$T/t4.out" 2>>"$T/sync.log" ||
	t_fail "--test-mail --json: $(tail -1 "$T/sync.log")"
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert list(d)[:2] == ["format", "version"], d
assert d["format"] == "beemo-sync-test-mail" and d["version"] == 1, d
assert d["sent"] is True and d["error"] is None, d
assert "fake sendmail" in d["via"], d' "$T/t4.out" ||
	t_fail "--test-mail --json: $(cat "$T/t4.out")"
printf '#!/bin/sh\nexit 1\n' >"$T/bin dir/fake sendmail"
t_expect_log "test mail not sent through"
rc=0
"$BEEMO_SYNC" --json maintenance --test-mail >"$T/t5.out" 2>>"$T/sync.log" ||
	rc=$?
[ $rc = 1 ] || t_fail "--test-mail --json, not sent: exit $rc"
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["format"] == "beemo-sync-test-mail", d
assert d["sent"] is False and d["error"], d' "$T/t5.out" ||
	t_fail "--test-mail --json, not sent: $(cat "$T/t5.out")"
t_log "ok"
