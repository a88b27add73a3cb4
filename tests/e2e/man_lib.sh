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

# man_opts: the options named on standard input, one a line, sorted:
# long (--name), short (-x), and FUSE's "-o name" spelt "-o:name".
man_opts() {
	sed -E 's/-o ([a-z_]+)/-o:\1/g' |
		grep -oE -- '(^|[^a-zA-Z0-9_-])(--[a-z][a-z0-9-]*|-o:[a-z_]+|-[a-zA-Z])([^a-zA-Z0-9_-]|$)' |
		sed -E 's/^[^-]*//; s/[^a-zA-Z0-9_-]$//' | grep -v -- '-$' | sort -u || true
}

# man_help_opts PROG [VERB...]: the options that PROG VERB --help
# documents: those of its usage lines (after the verb's name) and the
# tags of its option list, not those its prose mentions; without -h and
# --help.
man_help_opts() {
	local prog=$1
	shift
	"$prog" "$@" --help 2>&1 | awk -v v=" $* " '
		/^ +-/ { sub(/^ +/, ""); sub(/  .*/, ""); print; next }
		/^usage:/ { u = 1 }
		u && /^$/ { u = 0 }
		u {
			i = v == "  " ? 0 : index($0 " ", v)
			print(i ? substr($0, i + length(v) - 1) : $0)
		}' | man_opts | grep -vxE -- '--help|-h' || true
}

# man_synopsis_entries TEXT PROG: each SYNOPSIS entry of PROG in TEXT (a
# rendered page) on one line, without the options before the verb.
man_synopsis_entries() {
	sed -n '/^SYNOPSIS/,/^[A-Z]/p' "$1" | awk -v p="$2" '
		index($0, "     " p) == 1 &&
		    substr($0, 6 + length(p), 1) ~ /^ ?$/ {
			if (e != "") print e
			e = $0
			next
		}
		/^(\t|      )/ && e != "" { e = e " " $0; next }
		{ if (e != "") print e; e = "" }
		END { if (e != "") print e }' |
		tr '\t' ' ' | tr -s ' ' | sed -E 's/^ //; s/^([^ ]+)( \[[^]]*\])*/\1/'
}

# man_verb_doc TEXT PROG VERB...: what TEXT says of PROG VERB: its
# SYNOPSIS entries, its subsection ("   VERB"), and its entries in the
# body ("     PROG VERB ..." and the paragraphs under it).
man_verb_doc() {
	local text=$1 prog=$2
	shift 2
	man_synopsis_entries "$text" "$prog" | grep -F -- "$prog $* " || true
	awk -v s="   $*" '$0 == s { on = 1; next }
		on && (/^[A-Z]/ || /^   [^ ]/) { on = 0 }
		on' "$text"
	sed '/^SYNOPSIS/,/^[A-Z]/d' "$text" | awk -v h="     $prog $*" '
		index($0, h) == 1 && substr($0, length(h) + 1, 1) ~ /^ ?$/ {
			on = 1; print; next
		}
		on && /^ *[^ \t]/ { match($0, /^ */); if (RLENGTH <= 5) on = 0 }
		on'
}

# man_verb_tags TEXT PROG VERB...: the options a page gives PROG VERB:
# those of its SYNOPSIS entries after the verb, and the tags of the
# option list of its subsection.
man_verb_tags() {
	local text=$1 prog=$2 e
	shift 2
	man_synopsis_entries "$text" "$prog" | grep -F -- "$prog $* " |
		while IFS= read -r e; do
			printf '%s\n' "${e#"$prog $* "}"
		done
	awk -v s="   $*" '$0 == s { on = 1; next }
		on && (/^[A-Z]/ || /^   [^ ]/) { on = 0 }
		on' "$text" | man_tags
}

# man_tags: the tags of the option lists in standard input (a rendered
# page): lines at 5 spaces that begin with "-" and are followed by their
# description, on the same line or indented deeper on the next; not a
# line of prose that happens to begin with an option.
man_tags() {
	awk 'function flush() { if (t != "") print t; t = "" }
		t != "" && /^(      |\t)/ { flush() }
		{ t = "" }
		/^     -/ {
			if ($0 ~ /\t|[^ ]  +[^ ]/) {
				l = $0; sub(/^ +/, "", l); sub(/\t.*|  +.*/, "", l)
				print l
			} else {
				t = $0; sub(/^ +/, "", t)
			}
		}
		END { }'
}

# man_check_help PROG PAGE: PROG --help and PAGE (rendered by man_render)
# agree: every verb of the page's SYNOPSIS is in PROG --help and every
# verb (and subcommand, "user remove") of PROG --help has a SYNOPSIS
# entry; the line of a verb with subcommands names each; and for each
# verb, every option (long and short) of its --help is in the page's
# SYNOPSIS entry, subsection or entry of that verb, and every option of
# these (but PROG's global ones) is in its --help.  A program without
# verbs (beemofs) is checked the same way against the option tags of
# the page.  Every mismatch is reported, then the test fails.
man_check_help() {
	local prog=$1 page=$2 name text=$T/help_man.txt bad=0 v s w e o
	local verbs paths=() subs globals
	name=$(basename "$prog")
	man_render "$page" "$text"
	"$prog" --help >"$T/top.txt" 2>&1 || { t_log "$name --help failed"; return 1; }
	globals=$(sed -n '/^options:/,$p' "$T/top.txt" | man_opts)
	verbs=$(sed -n '/^verbs:/,/^$/p' "$T/top.txt" | awk 'NF > 1 { print $1 }')
	_mh_bad() { t_log "$*"; bad=1; }
	if [ -z "$verbs" ]; then
		man_help_opts "$prog" >"$T/h.opts"
		sed -n '/^DESCRIPTION/,/^SEE ALSO/p' "$text" | man_tags |
			man_opts | grep -vxE -- '--help|-h' >"$T/m.opts" || true
		for o in $(comm -23 "$T/h.opts" "$T/m.opts"); do
			_mh_bad "$name: option ${o/:/ } of $name --help is not an option of $(basename "$page")"
		done
		for o in $(comm -13 "$T/h.opts" "$T/m.opts"); do
			_mh_bad "$name: option ${o/:/ } of $(basename "$page") is not in $name --help"
		done
		return $bad
	fi
	# The verbs of the SYNOPSIS ("verb" is the page's placeholder).
	for w in $(man_synopsis_entries "$text" "$name" | awk '{ print $2 }' |
		grep -v '^-' | sort -u); do
		[ "$w" = verb ] && continue
		grep -qx -- "$w" <<<"$verbs" ||
			_mh_bad "$name: verb $w of the SYNOPSIS of $(basename "$page") is not in $name --help"
	done
	for v in $verbs; do
		subs=$("$prog" "$v" --help 2>&1 |
			sed -nE "s/^usage: $name $v ([a-z][a-z-]*)( .*)?\$/\\1/p" |
			sort -u)
		if [ -z "$subs" ]; then
			paths+=("$v")
			continue
		fi
		for s in $subs; do
			paths+=("$v $s")
			grep -Eq "^  $v .*[ ,:]$s([ ,]|\$)" "$T/top.txt" ||
				_mh_bad "$name --help: the line of verb $v does not name its subcommand $s"
		done
		for w in $(man_synopsis_entries "$text" "$name" |
			awk -v v="$v" '$2 == v { print $3 }' | sort -u); do
			grep -qx -- "$w" <<<"$subs" ||
				_mh_bad "$name: '$v $w' of the SYNOPSIS of $(basename "$page") is not in $name $v --help"
		done
	done
	for v in "${paths[@]}"; do
		# shellcheck disable=SC2086
		man_synopsis_entries "$text" "$name" | grep -qF -- "$name $v " ||
		man_synopsis_entries "$text" "$name" | grep -qxF -- "$name $v" ||
			_mh_bad "$name $v: no SYNOPSIS entry in $(basename "$page")"
		# shellcheck disable=SC2086
		man_help_opts "$prog" $v >"$T/h.opts"
		# shellcheck disable=SC2086
		man_verb_doc "$text" "$name" $v | man_opts >"$T/d.opts"
		# shellcheck disable=SC2086
		man_verb_tags "$text" "$name" $v | man_opts |
			grep -vxE -- '--help|-h' | grep -vxF -- "$globals" \
			>"$T/m.opts" || true
		for o in $(comm -23 "$T/h.opts" "$T/d.opts"); do
			_mh_bad "$name $v: option $o of its --help is not in $(basename "$page") (SYNOPSIS, subsection or entry of $v)"
		done
		for o in $(comm -23 "$T/m.opts" "$T/h.opts"); do
			_mh_bad "$name $v: option $o of $(basename "$page") (SYNOPSIS or option list of $v) is not in its --help"
		done
	done
	return $bad
}

# man_check_json TEXT PAGE: no JSON example of TEXT (PAGE rendered) lost
# its quotes to the mdoc parser (".Dl {"a": "b"}" renders {"a": b}): a
# key or a string value without quotes is reported.
man_check_json() {
	local bad
	bad=$(grep -E '\{"[a-z_]+": ?' "$1" |
		grep -E '": ?[a-zA-Z][a-zA-Z0-9_]*[,} ]|[{,] ?[a-z_]+: ' |
		grep -vE '": ?(true|false|null|N|n)[,} ]' || true)
	[ -z "$bad" ] && return 0
	t_log "$(basename "$2"): a JSON example lost its quotes: $bad"
	return 1
}
