# man_lib.sh -- checks of a program's manual page against its --help,
# shared by the *_man.sh tests.  Source after lib.sh.

# man_render PAGE OUT: PAGE as text into OUT (mandoc, else groff, else
# the source with its option macros spelled out); with mandoc, fail on a
# lint warning that is not about style.
man_render() {
	local page=$1 out=$2
	[ -f "$page" ] || t_fail "$page missing"
	if command -v mandoc >/dev/null; then
		mandoc -T ascii "$page" | col -b >"$out"
		if ! mandoc -T lint -W warning "$page" >"$T/lint.txt" 2>&1; then
			grep -v ': STYLE: ' "$T/lint.txt" | grep -q . &&
				t_fail "mandoc -T lint: $(cat "$T/lint.txt")"
		fi
	elif command -v groff >/dev/null; then
		groff -mdoc -T ascii "$page" 2>/dev/null | col -b >"$out"
	else
		sed 's/Fl -/--/g; s/Fl \([a-zA-Z]\)/-\1/g' "$page" >"$out"
	fi
	return 0
}

# man_check_verbs PROG TEXT PAGE: every verb PROG --help lists has its
# subsection in TEXT (PAGE rendered), and every long option of PROG
# --help and of each verb's --help appears in it.
man_check_verbs() {
	local prog=$1 text=$2 page=$3 verbs v o
	"$prog" --help >"$T/help.txt" || t_fail "$prog --help"
	verbs=$(sed -n '/^verbs:/,/^$/p' "$T/help.txt" | awk 'NF > 1 {print $1}')
	[ -n "$verbs" ] || t_fail "no verbs in $prog --help"
	for v in $verbs; do
		grep -Eq "^ {3}$v\$" "$text" || t_fail "no subsection for $v"
		"$prog" "$v" --help >>"$T/help.txt" || t_fail "$v --help"
	done
	for o in $(grep -o -- '--[a-z][a-z-]*' "$T/help.txt" | sort -u); do
		grep -q -- "$o" "$text" || t_fail "option $o is not in $page"
	done
}

# man_exit_table TEXT: the statuses shared by the four programs
# (tools/base/bm_exit.h) as the EXIT STATUS section of TEXT lists them,
# up to the paragraph on the program's own uses ("In PROG: ..."), on one
# line with blanks squeezed.
man_exit_table() {
	sed -n '/^EXIT STATUS/,/^ *In [a-z-]*:/p' "$1" | sed '$d' |
		tr -s ' \t\n' ' '
}

# man_check_exits TEXT END [STATUS...]: the EXIT STATUS section of TEXT
# (which ends at the line matching END) lists the shared statuses 0 to 4
# and each STATUS given, and its shared table is word for word the one
# of beemoctl(8): one table in every page.
man_check_exits() {
	local text=$1 end=$2 s ref
	shift 2
	for s in 0 1 2 3 4 "$@"; do
		sed -n "/^EXIT STATUS/,/$end/p" "$text" | sed 1d |
			grep -Eq "^ +$s[[:space:]]" ||
			t_fail "exit status $s is not documented"
	done
	ref="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../man" && pwd)/beemoctl.8"
	if command -v mandoc >/dev/null; then
		mandoc -T ascii "$ref" | col -b >"$T/exits-ref.txt"
	elif command -v groff >/dev/null; then
		groff -mdoc -T ascii "$ref" 2>/dev/null | col -b >"$T/exits-ref.txt"
	else
		return 0
	fi
	[ -n "$(man_exit_table "$T/exits-ref.txt")" ] ||
		t_fail "no shared EXIT STATUS table in beemoctl.8"
	[ "$(man_exit_table "$text")" = "$(man_exit_table "$T/exits-ref.txt")" ] ||
		t_fail "EXIT STATUS differs from beemoctl.8's: $(man_exit_table "$text")"
}

# man_check_synopsis PROG VERB PAGE: every long option of PROG VERB
# --help is in the verb's SYNOPSIS entry of PAGE (checked with mandoc
# only).
man_check_synopsis() {
	local prog=$1 verb=$2 page=$3 opt
	command -v mandoc >/dev/null || return 0
	mandoc -T ascii "$page" | col -b | awk -v v="$verb" '
		$0 ~ "^     [a-z-]+ " v " " && !done { on = 1; print; next }
		on && /^     [a-z]/ { on = 0; done = 1 }
		on { print }' >"$T/synopsis.txt"
	grep -q . "$T/synopsis.txt" || t_fail "no synopsis for $verb"
	for opt in $("$prog" "$verb" --help | grep -o -- '--[a-z-]*' |
		sort -u); do
		[ "$opt" = --help ] || grep -q -- "$opt" "$T/synopsis.txt" ||
			t_fail "$verb $opt is not in $(basename "$page")"
	done
}
