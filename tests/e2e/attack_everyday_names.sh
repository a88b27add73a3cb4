#!/bin/bash
# attack_everyday_names.sh -- a compromised client names its files to
# attack the operator: an escape sequence that drives the terminal, a
# newline that forges a line of output.  Every line restore and export
# print about a client's entry (restore --dry-run, "exists, skipped",
# "device node skipped", export's "left out") must come out escaped
# (bm_esc.h): no control byte of the client on the operator's terminal,
# one line per entry; and --json of ls, find and restore --dry-run must
# stay valid JSON with names that are not UTF-8.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || t_skip "needs root (device nodes)"
t_appliance
M="$T/mnt"
t_mount "$M"
ESC=$'\033'
# The client, root on its own machine, writes these through the mount.
evil_file="clear${ESC}[2J${ESC}]0;owned${ESC}\\"
evil_line=$'ok\nrestore etc-shadow'
evil_dev="dev${ESC}[31m"
evil_fifo=$'fifo\nbeemoctl: all good'
evil_utf8=$'bad\xff\xfe\xc3'
echo data >"$M/$evil_file"
echo data >"$M/$evil_utf8"
echo data >"$M/$evil_line"
mknod -m 600 "$M/$evil_dev" c 1 3 || t_fail "mknod in the mount"
mkfifo "$M/$evil_fifo"
t_umount "$M"

# clean FILE LINES WHAT: FILE has no ESC nor other control byte but
# newline and tab, and exactly LINES lines.
clean() {
	if LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$1"; then
		t_fail "$3: a control byte of the client reached the" \
			"operator: $(od -c "$1" | head -20)"
	fi
	[ "$(wc -l <"$1")" = "$2" ] ||
		t_fail "$3: $(wc -l <"$1") lines, not $2 (a forged line?):" \
			"$(cat -A "$1")"
}

# --json: one valid JSON object whatever the bytes of the names.
json() {
	"$BEEMOCTL" "$@" --json --password-file "$T/admin.pw" >"$T/j" \
		2>"$T/j.err" || t_fail "$* --json: $(cat "$T/j.err")"
	python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/j" ||
		t_fail "$* --json: not JSON: $(cat -A "$T/j")"
}
json ls pc1 latest
json find pc1 '*'
json restore pc1 latest --target "$T/json" --dry-run

mkdir -m 0700 "$T/out"
# --dry-run lists what it would write: 4 entries (the device is said
# skipped on standard error), 2 summary lines.
"$BEEMOCTL" restore pc1 latest --target "$T/out" --dry-run \
	--password-file "$T/admin.pw" >"$T/dry.out" 2>"$T/dry.err" ||
	t_fail "restore --dry-run: $(cat "$T/dry.err")"
grep -v '^restore \|^would restore \|^1 device nodes skipped' "$T/dry.out" >"$T/dry.other" || true
[ -s "$T/dry.other" ] && t_fail "dry run: unexpected: $(cat -A "$T/dry.other")"
clean "$T/dry.out" 6 "restore --dry-run"
clean "$T/dry.err" 1 "restore --dry-run (stderr)"
grep -qF 'clear\x1b[2J' "$T/dry.out" || t_fail "not escaped: $(cat -A "$T/dry.out")"

# The restore itself: the device node is said skipped on one line.
"$BEEMOCTL" restore pc1 latest --target "$T/out" \
	--password-file "$T/admin.pw" >"$T/r.out" 2>"$T/r.err" ||
	t_fail "restore: $(cat "$T/r.err")"
clean "$T/r.err" 1 "restore (device skipped)"
grep -qF 'dev\x1b[31m: device node skipped' "$T/r.err" ||
	t_fail "device: $(cat -A "$T/r.err")"
[ "$(cat "$T/out/$evil_line")" = data ] || t_fail "file with a newline"

# The journal names the restored files, escaped, one line each.
"$BEEMOCTL" journal pc1 --type restore --files \
	--password-file "$T/admin.pw" >"$T/j.out" 2>"$T/j.err" ||
	t_fail "journal: $(cat "$T/j.err")"
clean "$T/j.out" "$(wc -l <"$T/j.out")" "journal --files"
grep -qF 'ok\nrestore etc-shadow' "$T/j.out" ||
	t_fail "journal: $(cat -A "$T/j.out")"

# Again: what exists is said skipped, one line each.
"$BEEMOCTL" restore pc1 latest --target "$T/out" \
	--password-file "$T/admin.pw" >"$T/s.out" 2>"$T/s.err" ||
	t_fail "restore again: $(cat "$T/s.err")"
clean "$T/s.err" 5 "restore over existing files"
grep -qF 'ok\nrestore etc-shadow: exists' "$T/s.err" ||
	t_fail "skipped: $(cat -A "$T/s.err")"

# export to zip: fifos and devices are said left out, one line each.
"$BEEMOCTL" export pc1 latest --format zip --output "$T/a.zip" \
	--password-file "$T/admin.pw" >"$T/x.out" 2>"$T/x.err" ||
	t_fail "export: $(cat "$T/x.err")"
clean "$T/x.err" 2 "export --format zip"
grep -qF 'fifo\nbeemoctl: all good: fifo left out' "$T/x.err" ||
	t_fail "left out: $(cat -A "$T/x.err")"
t_log "ok"
