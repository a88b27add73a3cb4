#!/bin/bash
# fs_man.sh -- every -o option, short option, long option and environment
# variable printed by beemofs --help appears in beemofs(8); every key of
# tools/beemo.conf.example (set, or commented out) appears in
# beemo.conf(5) as "key = ..."; beemofs(8), beemo-store(5),
# beemo.conf(5) and beemo-security(7) lint clean; every test that
# beemo-security(7) names as the proof of a "cannot" exists.
. "$(dirname "$0")/lib.sh"

t_config
SRC="$(cd "$(dirname "$0")/../.." && pwd)"
MAN_DIR="$SRC/man"
FS_PAGE="$MAN_DIR/beemofs.8"
CONF_PAGE="$MAN_DIR/beemo.conf.5"
STORE_PAGE="$MAN_DIR/beemo-store.5"
SEC_PAGE="$MAN_DIR/beemo-security.7"
EXAMPLE="$SRC/tools/beemo.conf.example"
for f in "$FS_PAGE" "$CONF_PAGE" "$STORE_PAGE" "$SEC_PAGE" "$EXAMPLE"; do
	[ -f "$f" ] || t_fail "$f missing"
done

# render PAGE OUT: the page as a reader sees it (mandoc, or groff), else
# its source with the mdoc markup of options and keys undone.
render() {
	if command -v mandoc >/dev/null; then
		mandoc -T ascii "$1" | col -b >"$2"
	elif command -v groff >/dev/null; then
		groff -mdoc -T ascii "$1" 2>/dev/null | col -b >"$2"
	else
		sed 's/Fl o Cm /-o /g; s/Fl -/--/g; s/Fl \([a-zA-Z]\)/-\1/g
		    s/Ic \([a-z_]*\) No = /\1 = /g' "$1" >"$2"
	fi
}
render "$FS_PAGE" "$T/fs.txt"
render "$CONF_PAGE" "$T/conf.txt"
grep -q -- '-o machine=' "$T/fs.txt" || t_fail "cannot read $FS_PAGE"
grep -q 'pack_size = ' "$T/conf.txt" || t_fail "cannot read $CONF_PAGE"

# Lint: STYLE lines are about cross references to pages that are not
# installed here; anything worse is a fault.
if command -v mandoc >/dev/null; then
	for p in "$FS_PAGE" "$STORE_PAGE" "$CONF_PAGE" "$SEC_PAGE"; do
		if ! mandoc -T lint -W warning "$p" >"$T/lint.txt" 2>&1; then
			grep -v ': STYLE: ' "$T/lint.txt" | grep -q . &&
				t_fail "mandoc -T lint $p: $(cat "$T/lint.txt")"
		fi
	done
fi

# The threat model names its tests: each must exist and be registered.
named=0
for t in $(grep -oE '[a-z_0-9]+\.sh' "$SEC_PAGE" | sort -u); do
	named=$((named + 1))
	[ -f "$SRC/tests/e2e/$t" ] ||
		t_fail "beemo-security(7) names $t, which does not exist"
	grep -q "\['${t%.sh}'," "$SRC/tests/e2e/meson.build" ||
		t_fail "beemo-security(7) names $t, which is not in the suite"
done
[ "$named" -ge 10 ] || t_fail "beemo-security(7) names only $named tests"

# ---- beemofs --help -> beemofs(8) -------------------------------------------
"$BEEMOFS" --help >"$T/help.txt" || t_fail "beemofs --help: exit $?"
checked=0
# -o options: "-o machine=" (with a value) or "-o admin" (a flag).
for opt in $(grep -oE -- '-o [a-z_]+=?' "$T/help.txt" | sed 's/^-o //' |
	sort -u); do
	checked=$((checked + 1))
	case $opt in
	*=) grep -Fq -- "-o $opt" "$T/fs.txt" ;;
	*) grep -Eq -- "-o $opt([^a-z0-9_=]|\$)" "$T/fs.txt" ;;
	esac || t_fail "beemofs: option -o $opt is not in beemofs(8)"
done
# Short options listed at the start of a line: "  -f", "  -V, --version".
for opt in $(grep -oE -- '^ +-[a-zA-Z]([ ,]|$)' "$T/help.txt" |
	tr -d ' ,' | sort -u); do
	checked=$((checked + 1))
	grep -Eq -- "(^|[^[:alnum:]-])$opt([^[:alnum:]-]|\$)" "$T/fs.txt" ||
		t_fail "beemofs: option $opt is not in beemofs(8)"
done
for opt in $(grep -oE -- '--[a-z][a-z0-9-]*' "$T/help.txt" | sort -u); do
	checked=$((checked + 1))
	grep -Fq -- "$opt" "$T/fs.txt" ||
		t_fail "beemofs: option $opt is not in beemofs(8)"
done
for env in $(grep -oE '\$BEEMO_[A-Z_]+' "$T/help.txt" | sort -u); do
	grep -Fq -- "${env#\$}" "$T/fs.txt" ||
		t_fail "beemofs: $env is not in beemofs(8)"
done
[ $checked -ge 12 ] || t_fail "only $checked options found in beemofs --help"

# ---- tools/beemo.conf.example -> beemo.conf(5) ------------------------------
# A line "key = value" or "#key = value" is a setting; a commented line of
# prose may look like one ("# refuse = do not back them up."), so each
# candidate is put, uncommented, in its section and given to the
# configuration parser: what it rejects as an unknown key is prose.
re_section='^[#;]*[[:space:]]*\[([^]]+)\][[:space:]]*$'
re_key='^[#;]*[[:space:]]*([a-z_][a-z0-9_]*)[[:space:]]*=(.*)$'
section=""
keys=0
lineno=0
while IFS= read -r line; do
	lineno=$((lineno + 1))
	if [[ $line =~ $re_section ]]; then
		section=${BASH_REMATCH[1]}
		continue
	fi
	[[ $line =~ $re_key ]] || continue
	key=${BASH_REMATCH[1]}
	value=${BASH_REMATCH[2]}
	{
		[ -z "$section" ] || echo "[$section]"
		echo "$key =$value"
	} >"$T/probe.conf"
	"$BEEMOCTL" -c "$T/probe.conf" -s "$T/no-store" status \
		>/dev/null 2>"$T/probe.err" || true
	if grep -q "unknown key '$key'" "$T/probe.err"; then
		t_log "line $lineno is prose, not a key: $line"
		continue
	fi
	grep -Fq "$T/probe.conf:" "$T/probe.err" &&
		t_fail "$EXAMPLE:$lineno: $(cat "$T/probe.err")"
	keys=$((keys + 1))
	grep -Eq "(^|[^a-z0-9_])$key = " "$T/conf.txt" ||
		t_fail "key $key${section:+ of [$section]} is not in beemo.conf(5)"
done <"$EXAMPLE"
[ $keys -ge 20 ] || t_fail "only $keys keys found in $EXAMPLE"
t_log "ok: $checked options, $keys keys"
