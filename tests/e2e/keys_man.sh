#!/bin/bash
# keys_man.sh -- every long option and environment variable printed by the
# --help of each key and user verb appears in beemoctl(8), each verb has
# its entry there, and both man pages of keymgr lint clean.
. "$(dirname "$0")/lib.sh"

t_config
MAN_DIR="$(cd "$(dirname "$0")/../../man" && pwd)"
PAGE="$MAN_DIR/beemoctl.8"
[ -f "$PAGE" ] || t_fail "$PAGE missing"

# The page as a reader sees it (mandoc, or groff), else its source with
# the mdoc "Fl -opt" markup, which renders as "--opt".
if command -v mandoc >/dev/null; then
	mandoc -T ascii "$PAGE" | col -b >"$T/page.txt"
	for p in "$PAGE" "$MAN_DIR/beemo-keys.5"; do
		# STYLE lines are about cross references to pages that are
		# not installed here; anything worse is a fault.
		if mandoc -T lint -W warning "$p" >"$T/lint.txt" 2>&1; then :
		else
			grep -v ': STYLE: ' "$T/lint.txt" | grep -q . &&
				t_fail "mandoc -T lint $p: $(cat "$T/lint.txt")"
		fi
	done
elif command -v groff >/dev/null; then
	groff -mdoc -T ascii "$PAGE" 2>/dev/null | col -b >"$T/page.txt"
else
	sed 's/Fl -/--/g' "$PAGE" >"$T/page.txt"
fi
grep -q -- '--password-file' "$T/page.txt" || t_fail "cannot read $PAGE"

verbs=("init" "admin passwd" "machine add" "machine list" "machine remove"
	"user add" "user list" "user remove" "user passwd" "user reset"
	"key show" "key rotate" "key issue" "key unlock")
checked=0
for v in "${verbs[@]}"; do
	# shellcheck disable=SC2086
	"$BEEMOCTL" $v --help >"$T/help.txt" ||
		t_fail "beemoctl $v --help: exit $?"
	grep -Fq "beemoctl $v" "$T/page.txt" ||
		t_fail "beemoctl(8) has no entry for 'beemoctl $v'"
	for opt in $(grep -oE -- '--[a-z][a-z0-9-]*' "$T/help.txt" | sort -u); do
		checked=$((checked + 1))
		grep -Fq -- "$opt" "$T/page.txt" ||
			t_fail "beemoctl $v: option $opt is not in beemoctl(8)"
	done
	for env in $(grep -oE '\$BEEMO_[A-Z_]+' "$T/help.txt" | sort -u); do
		grep -Fq -- "${env#\$}" "$T/page.txt" ||
			t_fail "beemoctl $v: $env is not in beemoctl(8)"
	done
done
# Every other verb listed by beemoctl --help, with all its options.
for v in $("$BEEMOCTL" --help | sed -n '/^verbs:/,/^$/p' |
	awk 'NF > 1 { print $1 }'); do
	case " init admin machine user key " in *" $v "*) continue ;; esac
	"$BEEMOCTL" "$v" --help >"$T/help.txt" ||
		t_fail "beemoctl $v --help: exit $?"
	grep -Fq "beemoctl $v" "$T/page.txt" ||
		t_fail "beemoctl(8) has no entry for 'beemoctl $v'"
	for opt in $(grep -oE -- '--[a-z][a-z0-9-]*' "$T/help.txt" | sort -u); do
		checked=$((checked + 1))
		grep -Fq -- "$opt" "$T/page.txt" ||
			t_fail "beemoctl $v: option $opt is not in beemoctl(8)"
	done
done
# The global options too.
"$BEEMOCTL" --help >"$T/help.txt"
for opt in $(grep -oE -- '--[a-z][a-z0-9-]*' "$T/help.txt" | sort -u); do
	grep -Fq -- "$opt" "$T/page.txt" ||
		t_fail "beemoctl: option $opt is not in beemoctl(8)"
done
[ $checked -ge 30 ] || t_fail "only $checked options found in --help"
t_log "ok: $checked options"
