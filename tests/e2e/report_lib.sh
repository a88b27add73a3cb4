# report_lib.sh -- helpers for the reports, quota, status and journal
# tests (report_*.sh).  Source after lib.sh.
#
# Mail goes through a test sendmail command, $T/sendmail, that checks it
# is called as "sendmail -t -i", stores each message in $T/mail/N.eml and
# fails (status 75, like sendmail's EX_TEMPFAIL) while $T/sendmail.fail
# exists.  report_mails parses every stored message with python3's email
# package (RFC 5322 / MIME, strict policy) and fails the test on any
# defect or missing header.

REPORT_MAIL="$T/mail"

# report_sendmail: install the test sendmail command.
report_sendmail() {
	command -v python3 >/dev/null || t_skip "no python3"
	mkdir -p "$REPORT_MAIL"
	cat >"$T/sendmail" <<-EOF
		#!/bin/bash
		[ "\$1" = -t ] && [ "\$2" = -i ] && [ \$# = 2 ] ||
			{ echo "sendmail: bad arguments: \$*" >&2; exit 64; }
		if [ -e "$T/sendmail.fail" ]; then
			cat >/dev/null
			echo "sendmail: relay unreachable" >&2
			exit 75
		fi
		n=\$(ls "$REPORT_MAIL" | wc -l)
		cat >"$REPORT_MAIL/\$((n + 1)).eml.tmp"
		mv "$REPORT_MAIL/\$((n + 1)).eml.tmp" "$REPORT_MAIL/\$((n + 1)).eml"
	EOF
	chmod 755 "$T/sendmail"
}

# report_config [EXTRA LINES]: t_config with a [mail] section that uses
# the test sendmail and sends to ops@example.com; EXTRA LINES are added
# at the end (more sections).
report_config() {
	t_config "appliance = test-appliance"
	{
		echo "[mail]"
		echo "command = $T/sendmail -t -i"
		echo "from = Beemo <beemo@appliance.example>"
		echo "to = ops@example.com"
		printf '%s\n' "$@"
	} >>"$BEEMO_CONFIG"
}

# report_count: how many messages were sent so far.
report_count() {
	ls "$REPORT_MAIL" | grep -c '\.eml$' || true
}

# report_mails: one JSON object per message (sorted by number) on stdout:
# file, subject (decoded), to, from, report (X-Beemo-Report), key
# (X-Beemo-Key), machine, body (decoded).  Fails on a malformed message.
report_mails() {
	python3 - "$REPORT_MAIL" <<-'EOF' || t_fail "a report is not a valid RFC 5322 message"
		import email, email.policy, email.utils, json, os, sys
		d = sys.argv[1]
		names = sorted((f for f in os.listdir(d) if f.endswith(".eml")),
		    key=lambda f: int(f.split(".")[0]))
		for f in names:
		    raw = open(os.path.join(d, f), "rb").read()
		    assert b"\r" not in raw, f + ": CR in a message for sendmail -t"
		    m = email.message_from_bytes(raw, policy=email.policy.strict)
		    for h in ("Date", "Message-ID", "From", "To", "Subject",
		              "MIME-Version", "Content-Type",
		              "Content-Transfer-Encoding"):
		        assert m[h] is not None, f + ": no " + h
		    assert email.utils.parsedate_to_datetime(m["Date"]), f
		    assert m["Message-ID"].startswith("<") and "@" in m["Message-ID"], f
		    assert m.get_content_type() == "text/plain", f
		    assert m.get_content_charset() == "utf-8", f
		    assert m["Auto-Submitted"] == "auto-generated", f
		    assert not m.defects, f + ": " + repr(m.defects)
		    for line in raw.split(b"\n"):
		        assert len(line) <= 998, f + ": line too long"
		    print(json.dumps({"file": f, "subject": str(m["Subject"]),
		        "to": [a.addr_spec for a in m["To"].addresses],
		        "from": str(m["From"]), "report": m["X-Beemo-Report"],
		        "key": m["X-Beemo-Key"], "machine": m["X-Beemo-Machine"],
		        "body": m.get_content()}, ensure_ascii=False))
	EOF
}

# report_field N FIELD: FIELD of message N (1-based) as printed by
# report_mails (lists joined with commas).
report_field() {
	report_mails | sed -n "${1}p" | python3 -c '
import json, sys
v = json.loads(sys.stdin.read())[sys.argv[1]]
print(",".join(v) if isinstance(v, list) else v)' "$2"
}

# report_maint LOGNAME [ARGS]: beemo-sync maintenance (bounded in time),
# stdout in $T/LOGNAME.out, stderr appended to $T/sync.log; returns its
# exit status.
report_maint() {
	local out=$1 rc=0
	shift
	echo "+ beemo-sync maintenance $*" >>"$T/sync.log"
	timeout 120 "$BEEMO_SYNC" maintenance "$@" >"$T/$out.out" \
		2>"$T/$out.err" || rc=$?
	cat "$T/$out.err" >>"$T/sync.log"
	return $rc
}

# report_json EXPR: evaluate the python expression EXPR on the JSON
# document read from standard input (bound to "d"); prints the result.
report_json() {
	python3 -c 'import json, sys; d = json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"
}

# report_journal EXPR: report_json on the entries of a beemo-journal
# document (beemoctl journal --json), bound to "d".
report_journal() {
	python3 -c 'import json, sys
j = json.load(sys.stdin)
assert j["format"] == "beemo-journal" and j["version"] == 2, j
d = j["entries"]
print(eval(sys.argv[1]))' "$1"
}
