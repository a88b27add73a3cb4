#!/bin/bash
# center_man.sh -- beemo-center(8): every verb of beemo-center --help has
# its subsection, every long option printed by --help and by each verb's
# --help appears in the page, the setup from a bare machine gives the
# sshd lines and the timers, every exit status is documented, and the
# page lints clean.
. "$(dirname "$0")/lib.sh"
BEEMO_CENTER=$BEEMO_BUILD/sync/beemo-center

t_config
PAGE="$(cd "$(dirname "$0")/../../man" && pwd)/beemo-center.8"
[ -f "$PAGE" ] || t_fail "$PAGE missing"
if command -v mandoc >/dev/null; then
	mandoc -T ascii "$PAGE" | col -b >"$T/page.txt"
	if ! mandoc -T lint -W warning "$PAGE" >"$T/lint.txt" 2>&1; then
		grep -v ': STYLE: ' "$T/lint.txt" | grep -q . &&
			t_fail "mandoc -T lint: $(cat "$T/lint.txt")"
	fi
elif command -v groff >/dev/null; then
	groff -mdoc -T ascii "$PAGE" 2>/dev/null | col -b >"$T/page.txt"
else
	sed 's/Fl -/--/g; s/Fl \([a-zA-Z]\)/-\1/g' "$PAGE" >"$T/page.txt"
fi
grep -q -- '--authorized-keys' "$T/page.txt" || t_fail "cannot read $PAGE"

"$BEEMO_CENTER" --help >"$T/help.txt" || t_fail "beemo-center --help"
verbs=$(sed -n '/^verbs:/,/^$/p' "$T/help.txt" | awk 'NF > 1 {print $1}')
[ -n "$verbs" ] || t_fail "no verbs in --help"
for v in $verbs; do
	grep -Eq "^ {3}$v\$" "$T/page.txt" || t_fail "no subsection for $v"
	"$BEEMO_CENTER" "$v" --help >>"$T/help.txt" || t_fail "$v --help"
done
for o in $(grep -o -- '--[a-z][a-z-]*' "$T/help.txt" | sort -u); do
	grep -q -- "$o" "$T/page.txt" || t_fail "option $o is not in $PAGE"
done
for s in 0 1 2; do
	sed -n '/^EXIT STATUS/,/^[A-Z]/p' "$T/page.txt" | sed 1d |
		grep -Eq "^ +$s[[:space:]]" ||
		t_fail "exit status $s is not documented"
done
# The setup of a center: packages, the Match block, the forced command,
# the timers, mail; and the sections the operator looks for.
for w in "apt-get install openssh-server" "Match User beemo-" \
	"DisableForwarding yes" "PermitTTY no" 'command="' "restrict" \
	"beemo-center-apply.timer" "beemo-center-scrub.timer" "sendmail" \
	"^SETTING UP A CENTER" "^DELETION REQUESTS" "^SCRUB" "^BEEMO2BEEMO" \
	"^QUOTAS AND MANY APPLIANCES" "^FILES" "^SECURITY CONSIDERATIONS"; do
	grep -Eq -- "$w" "$T/page.txt" || t_fail "$PAGE lacks '$w'"
done
# The sshd snippet shipped is the one the page shows.
SNIP="$(dirname "$0")/../../sync/beemo-center-sshd.conf"
[ -f "$SNIP" ] || t_fail "$SNIP missing"
grep -v '^#' "$SNIP" | grep . | while read -r line; do
	grep -qF -- "$line" "$T/page.txt" ||
		t_fail "sshd line '$line' is not in $PAGE"
done
# Every rule of serve in center.h is in the page.
for w in "never removed, overwritten, truncated, renamed" "reput" \
	".tmp-" "no symbolic or hard link" "quota bounds"; do
	tr -s ' \t\n' ' ' <"$T/page.txt" | grep -qF -- "$w" ||
		t_fail "rule of serve '$w' is not in $PAGE"
done
t_log "ok"
