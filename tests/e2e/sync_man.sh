#!/bin/bash
# sync_man.sh -- every long option printed by beemo-sync --help and by
# each verb's --help appears in beemo-sync(8), each verb has its
# subsection there, every exit status is documented, and the page lints
# clean.
. "$(dirname "$0")/lib.sh"

t_config
PAGE="$(cd "$(dirname "$0")/../../man" && pwd)/beemo-sync.8"
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
grep -q -- '--read-data' "$T/page.txt" || t_fail "cannot read $PAGE"

"$BEEMO_SYNC" --help >"$T/help.txt" || t_fail "beemo-sync --help"
verbs=$(sed -n '/^verbs:/,/^$/p' "$T/help.txt" | awk 'NF > 1 {print $1}')
[ -n "$verbs" ] || t_fail "no verbs in --help"
for v in $verbs; do
	grep -Eq "^ {3}$v\$" "$T/page.txt" || t_fail "no subsection for $v"
	"$BEEMO_SYNC" "$v" --help >>"$T/help.txt" || t_fail "$v --help"
done
for o in $(grep -o -- '--[a-z][a-z-]*' "$T/help.txt" | sort -u); do
	grep -q -- "$o" "$T/page.txt" || t_fail "option $o is not in $PAGE"
done
for s in 0 1 2 3; do
	sed -n '/^EXIT STATUS/,/^EXAMPLES/p' "$T/page.txt" |
		grep -Eq "^ +$s[[:space:]]" || t_fail "exit status $s is not documented"
done
t_log "ok"
