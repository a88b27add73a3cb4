#!/bin/bash
# snapnames.sh -- naming snapshots, and no duplicate snapshot:
#   - a manual `beemoctl snapshot` then an unmount makes one snapshot,
#     not two; an unmount or a manual snapshot with nothing changed
#     makes none ("nothing changed since snapshot N", exit 0, --json
#     {"snapshot": N, "created": false}); a change of metadata alone
#     (chmod, an xattr, a rename) still makes one; --note or --tag
#     makes one anyway; what a crashed session left gets its snapshot at
#     the end of the next session;
#   - every form of snapshot name (id, latest, latest~N, a date, a time,
#     "today", a tag) in ls, dump, restore, diff, scan and forget, the
#     same answer everywhere; a date alone is the end of that local day;
#   - tags: --tag at snapshot time (through the daemon and with the
#     store opened), shown by `snapshots` (text and JSON), added and
#     removed later with `snapshot tag [--untag] [--json]`; the newest of several
#     snapshots with one tag wins; a retention policy keeps them;
#   - the --help of each verb that takes a snapshot names every form;
#   - errors: a malformed name exits 2, a name that names nothing exits 1
#     with a message that says why;
#   - a store written by the old code (tests/fixtures/v1: version 1
#     snapshot records, no "live_same" counter) lists its snapshots with
#     no tags, takes a first snapshot (its live tree counts as changed)
#     and then none, and takes a tag on an old snapshot.
. "$(dirname "$0")/lib.sh"

t_appliance
M="$T/mnt"
ctl() { "$BEEMOCTL" "$@" --password-file "$T/admin.pw"; }
# snaps: the snapshot ids, one line.
snaps() {
	ctl snapshots pc1 --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
d = d["snapshots"]
print(" ".join(str(s["id"]) for s in d))'
}
# snapfield ID FIELD: FIELD of snapshot ID in `snapshots --json`.
snapfield() {
	ctl snapshots pc1 --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
d = d["snapshots"]
s = [s for s in d if s["id"] == int(sys.argv[1])][0]
v = s[sys.argv[2]]
print(" ".join(v) if isinstance(v, list) else v)' "$1" "$2"
}
# expect_rc RC WHAT CMD...: CMD exits RC; its output in $T/out.
expect_rc() {
	local want=$1 what=$2 rc=0
	shift 2
	"$@" >"$T/out" 2>&1 || rc=$?
	[ "$rc" = "$want" ] || t_fail "$what: exit $rc, not $want: $(cat "$T/out")"
}

# --- no duplicate snapshot ---------------------------------------------
# A change, a manual snapshot with a tag through the daemon, unmount:
# one snapshot, not two.
t_mount "$M"
echo one >"$M/a.txt"
mkdir "$M/d"
out=$("$BEEMOCTL" snapshot pc1 --tag first --tag v1.0) ||
	t_fail "snapshot --tag while mounted"
[ "$out" = "snapshot 1" ] || t_fail "snapshot while mounted: $out"
# With nothing changed, through the daemon: none, exit 0.
out=$("$BEEMOCTL" snapshot pc1) || t_fail "snapshot, nothing changed"
[ "$out" = "nothing changed since snapshot 1" ] || t_fail "daemon: $out"
t_umount "$M"
[ "$(snaps)" = "1" ] || t_fail "manual snapshot then unmount: $(snaps)"

# A session with no change: none.
t_mount "$M"
cat "$M/a.txt" >/dev/null
ls -la "$M" >/dev/null
t_umount "$M"
[ "$(snaps)" = "1" ] || t_fail "unchanged session made one: $(snaps)"

# With the store opened: none, exit 0; --json says so.
out=$(ctl snapshot pc1) || t_fail "snapshot (store), nothing changed"
[ "$out" = "nothing changed since snapshot 1" ] || t_fail "store: $out"
ctl snapshot pc1 --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["format"] == "beemo-snapshot" and d["snapshot"] == 1, d
assert d["created"] is False, d' || t_fail "snapshot --json, nothing changed"

# Each change of metadata alone makes one at the unmount.
sleep 1.1
change() { # change DESCRIPTION SHELL-COMMAND: one session, one snapshot
	local before after
	before=$(snaps)
	t_mount "$M"
	(cd "$M" && eval "$2") || t_fail "$1"
	t_umount "$M"
	after=$(snaps)
	[ "$after" != "$before" ] || t_fail "$1 made no snapshot: $after"
	sleep 1.1
}
change "write" 'echo two >a.txt'       # 2
change "chmod" 'chmod 0600 a.txt'      # 3
change "xattr" 'setfattr -n user.k -v v a.txt' # 4
change "rename" 'mv d e'               # 5
[ "$(snaps)" = "1 2 3 4 5" ] || t_fail "snapshots: $(snaps)"

# --note or --tag make one even with nothing changed.
out=$(ctl snapshot pc1 --note "by hand") || t_fail "snapshot --note"
[ "$out" = "snapshot 6" ] || t_fail "snapshot --note: $out"
ctl snapshot pc1 --tag weekly --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["snapshot"] == 7 and d["created"] is True, d' ||
	t_fail "snapshot --tag --json"
out=$(ctl snapshot pc1) && [ "$out" = "nothing changed since snapshot 7" ] ||
	t_fail "after a tagged snapshot: $out"

# --- tags shown ----------------------------------------------------------
[ "$(snapfield 1 tags)" = "first v1.0" ] || t_fail "tags of 1: $(snapfield 1 tags)"
[ "$(snapfield 7 tags)" = "weekly" ] || t_fail "tags of 7"
[ -z "$(snapfield 2 tags)" ] || t_fail "tags of 2"
ctl snapshots pc1 | grep -E '^ +1 .*\[first\] \[v1\.0\]' >/dev/null ||
	t_fail "snapshots text shows no tags: $(ctl snapshots pc1)"

# --- names in every verb -------------------------------------------------
# dump: a.txt is "one" in 1, "two" from 2 on.
for n in 1 first v1.0 latest~6; do
	[ "$(ctl dump pc1 "$n" a.txt)" = one ] || t_fail "dump pc1 $n"
done
for n in 2 latest latest~0 latest~5 weekly today "$(date +%F)" \
	"$(date -d tomorrow +%F)" now; do
	[ "$(ctl dump pc1 "$n" a.txt)" = two ] || t_fail "dump pc1 $n"
done
# A time between two snapshots: the one at or before it.  Snapshot 2
# was taken at least 1.1 s before 3.
t2=$(snapfield 2 time)
at=$(date -d "$t2 + 1 second" '+%Y-%m-%dT%H:%M:%S%:z')
[ "$(ctl ls pc1 "$at" --long | awk '$NF == "a.txt" {print $1}')" = \
	"-rw-r--r--" ] || t_fail "ls pc1 $at is not snapshot 2"
at=$(date -d "$t2 + 1 second" '+%Y-%m-%d %H:%M:%S')
[ "$(ctl ls pc1 "$at" --long | awk '$NF == "a.txt" {print $1}')" = \
	"-rw-r--r--" ] || t_fail "ls pc1 '$at' (local) is not snapshot 2"
[ "$(ctl ls pc1 latest~4 --long | awk '$NF == "a.txt" {print $1}')" = \
	"-rw-------" ] || t_fail "ls pc1 latest~4 is not snapshot 3"
# ls: d in 1..4, e from 5.
ctl ls pc1 v1.0 | grep -qx d || t_fail "ls pc1 v1.0"
ctl ls pc1 latest~2 | grep -qx e || t_fail "ls pc1 latest~2 (5)"
# find in the snapshots named.
ctl find pc1 a.txt --snapshots first,latest~1 --json >"$T/find.json" ||
	t_fail "find --snapshots first,latest~1: $(cat "$T/find.json")"
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
m = d["matches"]
assert len(m) == 1 and sorted(m[0]["snapshots"]) == [1, 6], d' "$T/find.json" ||
	t_fail "find --snapshots first,latest~1: $(cat "$T/find.json")"
# restore by tag.
ctl restore pc1 first a.txt --target "$T/r" >/dev/null ||
	t_fail "restore pc1 first"
[ "$(cat "$T/r/a.txt")" = one ] || t_fail "restore pc1 first: content"
# diff between a tag and latest~N.
ctl diff pc1 first latest~3 >"$T/diff.out" || true
grep -q "a.txt" "$T/diff.out" || t_fail "diff first latest~3: $(cat "$T/diff.out")"
# scan of one snapshot by tag.
expect_rc 0 "scan pc1 weekly" ctl scan pc1 weekly
expect_rc 2 "scan pc1 latest~x" ctl scan pc1 'latest~x'
# export by date.
ctl export pc1 today --format tar --output "$T/x.tar" >/dev/null 2>&1 ||
	t_fail "export pc1 today"
tar -xOf "$T/x.tar" a.txt 2>/dev/null | grep -qx two ||
	tar -xOf "$T/x.tar" ./a.txt | grep -qx two || t_fail "export: content"

# --- errors -------------------------------------------------------------
expect_rc 2 "latest~x" ctl ls pc1 'latest~x'
grep -q "is not a snapshot name" "$T/out" || t_fail "latest~x: $(cat "$T/out")"
expect_rc 2 "impossible date" ctl ls pc1 2026-02-30
expect_rc 2 "0" ctl ls pc1 0
expect_rc 2 "a name with a blank" ctl ls pc1 'two words'
expect_rc 1 "latest~99" ctl ls pc1 'latest~99'
grep -q "there are only 7" "$T/out" || t_fail "latest~99: $(cat "$T/out")"
expect_rc 1 "unknown tag" ctl ls pc1 nosuchtag
grep -q "no snapshot tagged nosuchtag" "$T/out" || t_fail "$(cat "$T/out")"
expect_rc 1 "date before the first" ctl ls pc1 2001-01-01
grep -q "no snapshot at or before 2001-01-01 (the oldest is " "$T/out" ||
	t_fail "date before the first: $(cat "$T/out")"
expect_rc 1 "id 99" ctl dump pc1 99 a.txt
for bad in latest 9lives now yesterday "bad tag" "$(printf 'x%.0s' {1..65})"; do
	expect_rc 2 "--tag '$bad'" ctl snapshot pc1 --tag "$bad"
done
[ "$(snaps)" = "1 2 3 4 5 6 7" ] || t_fail "a bad tag made one: $(snaps)"

# --- tags added and removed later ----------------------------------------
out=$(ctl snapshot tag pc1 latest~4 keep) || t_fail "snapshot tag: $out"
[ "$out" = "snapshot 3: tag keep added" ] || t_fail "snapshot tag: $out"
[ "$(snapfield 3 tags)" = keep ] || t_fail "tag keep not on 3"
ctl snapshot tag pc1 5 keep >/dev/null || t_fail "snapshot tag 5 keep"
# The newest with that tag.
ctl ls pc1 keep | grep -qx e || t_fail "keep is not the newest (5)"
ctl snapshot tag pc1 keep keep --untag >/dev/null || t_fail "untag"
ctl ls pc1 keep | grep -qx d || t_fail "keep after untag is not 3"
[ -z "$(snapfield 5 tags)" ] || t_fail "untag left $(snapfield 5 tags)"
# Through the daemon while mounted.
t_mount "$M"
"$BEEMOCTL" snapshot tag pc1 first mounted >/dev/null ||
	t_fail "snapshot tag through the daemon"
[ "$(snapfield 1 tags)" = "first v1.0 mounted" ] ||
	t_fail "daemon tag: $(snapfield 1 tags)"
t_umount "$M"
[ "$(snaps)" = "1 2 3 4 5 6 7" ] || t_fail "tagging made a snapshot: $(snaps)"

# --- a policy keeps tagged snapshots ------------------------------------
# Tags: 1 (first v1.0 mounted), 3 (keep), 7 (weekly); 5 is the newest
# complete one.
ctl forget pc1 --keep-last 1 --min-age 0 --dry-run >"$T/plan.out" ||
	t_fail "forget --dry-run: $(cat "$T/plan.out")"
for id in 1 3; do
	grep -Eq "^ +$id .*keep +tagged$" "$T/plan.out" ||
		t_fail "tagged $id not kept: $(cat "$T/plan.out")"
done
for id in 2 4 6; do
	grep -Eq "^ +$id .*forget" "$T/plan.out" ||
		t_fail "untagged $id kept: $(cat "$T/plan.out")"
done

# snapshot tag --json: one object, the id the name resolved to.
ctl snapshot tag pc1 latest jtag --json >"$T/tag.json" ||
	t_fail "snapshot tag --json"
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert list(d)[:2] == ["format", "version"], d
assert d["format"] == "beemo-snapshot-tag" and d["version"] == 1, d
assert d["machine"] == "pc1" and d["tag"] == "jtag" and d["tagged"], d
assert isinstance(d["snapshot"], int), d' "$T/tag.json" ||
	t_fail "snapshot tag --json: $(cat "$T/tag.json")"
ctl snapshot tag pc1 jtag jtag --untag --json | grep -q '"tagged":false' ||
	t_fail "snapshot tag --untag --json"

# --- forget by name -------------------------------------------------------
ctl forget pc1 first latest~1 --yes >/dev/null || t_fail "forget by name"
[ "$(snaps)" = "2 3 4 5 7" ] || t_fail "forget first latest~1: $(snaps)"
expect_rc 1 "forget an unknown tag" ctl forget pc1 first --yes
[ "$(snaps)" = "2 3 4 5 7" ] || t_fail "forget of nothing: $(snaps)"

# --- the manual -----------------------------------------------------------
# Every option of `snapshot --help` is in the synopsis of snapshot or of
# snapshot tag in beemoctl(8).
if command -v mandoc >/dev/null; then
	mandoc -T ascii "$(dirname "$0")/../../man/beemoctl.8" | col -b |
		awk '/^     beemoctl snapshot / { on = 1; print; next }
		on && /^     [a-z]/ { on = 0 }
		on { print }' >"$T/synopsis.txt"
	grep -q -- "snapshot tag" "$T/synopsis.txt" ||
		t_fail "no synopsis for snapshot tag"
	# (The password options common to every verb: "Passwords".)
	for opt in $("$BEEMOCTL" snapshot --help |
		sed '/^Instead of --password-file/,$d' |
		grep -o -- '--[a-z-]*' | sort -u); do
		[ "$opt" = --help ] || grep -q -- "$opt" "$T/synopsis.txt" ||
			t_fail "snapshot $opt is not in beemoctl.8"
	done
	mandoc -T ascii "$(dirname "$0")/../../man/beemoctl.8" | col -b \
		>"$T/page.txt"
	grep -q "^SNAPSHOT NAMES" "$T/page.txt" ||
		t_fail "no SNAPSHOT NAMES in beemoctl.8"
fi

# The --help of every verb that takes a snapshot names every form of name,
# not only an id and latest.
for v in ls dump restore diff export scan find forget; do
	"$BEEMOCTL" "$v" --help | grep -q 'latest~N' ||
		t_fail "$v --help does not name every form of snapshot name"
done

# --- a session that crashed ------------------------------------------------
# Its changes reached the store but no snapshot: the next session takes
# one at its end even if it changes nothing itself.
t_mount "$M"
python3 -c 'import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT, 0o644)
os.write(fd, b"three\n")
os.fsync(fd)' "$M/c.txt" || t_fail "write c.txt"
t_crash "$M"
t_mount "$M"
t_umount "$M"
[ "$(snaps)" = "2 3 4 5 7 8" ] || t_fail "after a crash: $(snaps)"
[ "$(ctl dump pc1 latest c.txt)" = three ] || t_fail "after a crash: c.txt"
t_mount "$M"
t_umount "$M"
[ "$(snaps)" = "2 3 4 5 7 8" ] || t_fail "after a crash, twice: $(snaps)"

# --- a store written by the old code --------------------------------------
F=$(cd "$(dirname "$0")/../fixtures/v1" && pwd)
cp -r "$F/store" "$T/v1store"
cp "$F/admin.pw" "$T/v1admin.pw"
while read -r mode type path; do # git keeps neither modes nor empty dirs
	case "$path" in store | store/*) ;; *) continue ;; esac
	path="$T/v1store${path#store}"
	[ "$type" = d ] && mkdir -p "$path"
	chmod "$mode" "$path"
done <"$F/modes"
chmod 600 "$T/v1admin.pw"
sed "s,^store = .*,store = $T/v1store," "$BEEMO_CONFIG" >"$T/v1.conf"
v1() { BEEMO_CONFIG="$T/v1.conf" "$BEEMOCTL" "$@" \
	--password-file "$T/v1admin.pw"; }
v1 snapshots pc1 --json >"$T/v1.json" || t_fail "v1: snapshots"
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
d = d["snapshots"]
assert [s["id"] for s in d] == [1, 2], d
assert all(s["tags"] == [] for s in d), d' "$T/v1.json" ||
	t_fail "v1: snapshots $(cat "$T/v1.json")"
v1 ls pc1 1 >"$T/v1.ls1" || t_fail "v1: ls pc1 1"
out=$(v1 snapshot tag pc1 latest~1 old) || t_fail "v1: tag: $out"
v1 ls pc1 old | cmp -s - "$T/v1.ls1" || t_fail "v1: ls pc1 old"
out=$(v1 snapshot pc1) && [ "$out" = "snapshot 3" ] ||
	t_fail "v1: first snapshot: $out"
out=$(v1 snapshot pc1) && [ "$out" = "nothing changed since snapshot 3" ] ||
	t_fail "v1: second snapshot: $out"
v1 check pc1 >"$T/v1.check" 2>&1 || t_fail "v1: check $(cat "$T/v1.check")"

t_log "ok"
