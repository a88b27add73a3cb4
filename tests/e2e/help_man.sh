#!/bin/bash
# help_man.sh -- the --help of every program and verb says what its
# manual page says: beemoctl, beemo-sync, beemo-center, beemofs,
# beemo-sessiond and beemo-scand.
# Every verb of a page's SYNOPSIS is in the program's --help and the
# other way round (subcommands too, "user reset"), and each verb's
# options, long and short, are in both (man_check_help, man_lib.sh).
# Every mismatch is named, with the program, the verb, the option and
# where it is missing.  Each option of a beemo-sync verb's usage line is
# described once in its --help.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/man_lib.sh"

command -v mandoc >/dev/null || t_skip "mandoc"
t_config
MAN_DIR="$(cd "$(dirname "$0")/../../man" && pwd)"
rc=0
man_check_help "$BEEMOCTL" "$MAN_DIR/beemoctl.8" || rc=1
man_check_help "$BEEMO_SYNC" "$MAN_DIR/beemo-sync.8" || rc=1
man_check_help "$BEEMO_BUILD/sync/beemo-center" "$MAN_DIR/beemo-center.8" ||
	rc=1
man_check_help "$BEEMOFS" "$MAN_DIR/beemofs.8" || rc=1
man_check_help "$BEEMO_BUILD/tools/beemo-sessiond" \
	"$MAN_DIR/beemo-sessiond.8" || rc=1
man_check_help "$BEEMO_BUILD/fs/beemo-scand" "$MAN_DIR/beemo-scand.8" || rc=1
for p in beemoctl beemo-sync beemo-center beemofs; do
	man_render "$MAN_DIR/$p.8" "$T/json.txt"
	man_check_json "$T/json.txt" "$MAN_DIR/$p.8" || rc=1
	# Each example of a whole document begins as the output does.
	# (Lines of one member of an array: "path", "action", ...)
	inner='(format|request|action|label|time|path)'
	bad=$(grep -E '^[[:space:]]*\{"' "$T/json.txt" |
		grep -vE "^[[:space:]]*\\{\"$inner\"" || true)
	[ -z "$bad" ] || {
		echo "$p.8: a JSON example without \"format\" first: $bad"
		rc=1
	}
done
# Every --help fits 80 columns (but its usage lines).
for v in $("$BEEMOCTL" --help | awk '/^verbs:/ { on = 1; next }
	on && /^$/ { exit } on { print $1 }'); do
	"$BEEMOCTL" "$v" --help 2>&1 | awk -v v="$v" 'length($0) > 80 &&
		!/^usage:/ { print "beemoctl " v " --help: " $0; bad = 1 }
		END { exit bad }' || rc=1
done
for v in push verify recover status history maintenance release; do
	"$BEEMO_SYNC" "$v" --help 2>&1 | awk -v v="$v" 'length($0) > 80 &&
		!/^usage:/ { print "beemo-sync " v " --help: " $0; bad = 1 }
		END { exit bad }' || rc=1
done
# Every beemo-center verb says what it does, not only its options.
for v in serve apply scrub add list status remove pin; do
	"$BEEMO_BUILD/sync/beemo-center" "$v" --help | grep -q '^[A-Z]' || {
		echo "beemo-center $v --help: no description"
		rc=1
	}
done
# Each option of a beemo-sync verb's usage line is described once in its
# --help: one list of options, none missing, none twice.
for v in push verify recover status history maintenance release; do
	"$BEEMO_SYNC" "$v" --help >"$T/help.txt" || rc=1
	for opt in $(sed -n '1,/^$/p' "$T/help.txt" | grep -o -- '--[a-z-]*' |
		sort -u | grep -v -x -e --store -e --config); do # (global)
		n=$(grep -c -E -- "^ +(-[a-zA-Z], )?$opt( |\$)" "$T/help.txt")
		[ "$n" = 1 ] || {
			echo "beemo-sync $v --help: $opt described $n times"
			rc=1
		}
	done
done
[ $rc = 0 ] || t_fail "--help and manual pages differ (see above)"
t_log "ok"
