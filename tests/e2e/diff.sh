#!/bin/bash
# diff.sh -- `beemoctl diff MACHINE SNAP1 SNAP2 [PATH]` between two
# snapshots of a real store shows each kind of change with its letter:
# + added, - removed, M content, m metadata only (mode, owner, time,
# extended attribute), T type; below PATH only; a summary line with the
# counts; --json is one object parsed by python3.  A file whose content
# did not change is not read (the index's identity decides); one
# rewritten with the same bytes is read and found equal.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/man_lib.sh"

[ "$(id -u)" = 0 ] || t_skip "needs root (chown in the mount)"
command -v setfattr >/dev/null || t_skip "no setfattr (attr)"
t_appliance
M="$T/mnt"
t_mount "$M"
mkdir -p "$M/docs/sub" "$M/gone/deep" "$M/kind"
echo same >"$M/docs/same.txt"
echo old >"$M/docs/edit.txt"
echo keep >"$M/docs/rewritten.txt"
echo mode >"$M/docs/mode.txt"
echo owner >"$M/docs/owner.txt"
echo time >"$M/docs/time.txt"
echo attr >"$M/docs/attr.txt"
echo x >"$M/gone/deep/f"
echo x >"$M/kind/was-file"
mkdir "$M/kind/was-dir"
echo x >"$M/kind/was-dir/inside"
ln -s a "$M/docs/link"
touch -d '2020-01-01 00:00:00' "$M/docs/time.txt"
t_umount "$M"

t_mount "$M"
echo "new content" >"$M/docs/edit.txt"
# Same bytes, written again: another version, equal content.
echo keep >"$M/docs/rewritten.txt.tmp"
mv "$M/docs/rewritten.txt.tmp" "$M/docs/rewritten.txt"
chmod 600 "$M/docs/mode.txt"
chown 1234:1234 "$M/docs/owner.txt"
touch -d '2021-01-01 00:00:00' "$M/docs/time.txt"
setfattr -n user.tag -v blue "$M/docs/attr.txt"
echo fresh >"$M/docs/sub/added.txt"
rm -r "$M/gone"
rm "$M/kind/was-file"
mkdir "$M/kind/was-file"
rm -r "$M/kind/was-dir"
echo now-a-file >"$M/kind/was-dir"
ln -sfn b "$M/docs/link"
t_umount "$M"

pw=(--password-file "$T/admin.pw")
"$BEEMOCTL" diff pc1 1 2 "${pw[@]}" >"$T/d.out" 2>"$T/d.err" ||
	t_fail "diff: $(cat "$T/d.err")"
[ -s "$T/d.err" ] && t_fail "diff said: $(cat "$T/d.err")"
expect() {
	grep -qxF -- "$1" "$T/d.out" ||
		t_fail "no line '$1' in: $(cat "$T/d.out")"
}
expect "M /docs/edit.txt"
expect "m /docs/mode.txt"
expect "m /docs/owner.txt"
expect "m /docs/time.txt"
expect "m /docs/attr.txt"
expect "M /docs/link"
expect "+ /docs/sub/added.txt"
expect "- /gone/"
expect "- /gone/deep/"
expect "- /gone/deep/f"
expect "T /kind/was-file/"
expect "T /kind/was-dir"
expect "- /kind/was-dir/inside"
# Rewritten with the same bytes: read, found equal; only its time moved.
expect "m /docs/rewritten.txt"
grep -q "same.txt" "$T/d.out" &&
	t_fail "unchanged files listed: $(cat "$T/d.out")"
nm=$(grep -c '^m ' "$T/d.out")
expect "1 added, 4 removed, 2 changed, $nm metadata only, 2 type changed"

# Below a path only, with the path normalised.
"$BEEMOCTL" diff pc1 1 latest .//docs/./sub "${pw[@]}" >"$T/p.out" ||
	t_fail "diff PATH"
[ "$(head -n -1 "$T/p.out")" = "m /docs/sub/
+ /docs/sub/added.txt" ] ||
	t_fail "diff below docs/sub: $(cat "$T/p.out")"
# A path only one side has is added or removed as a whole.
"$BEEMOCTL" diff pc1 1 2 gone "${pw[@]}" >"$T/g.out" || t_fail "diff gone"
grep -qxF -- "- /gone/deep/f" "$T/g.out" || t_fail "$(cat "$T/g.out")"
# ".." inside the tree is resolved as text, as by ls and restore.
"$BEEMOCTL" diff pc1 1 latest docs/sub/../../docs/sub/ "${pw[@]}" \
	>"$T/pp.out" || t_fail "diff docs/sub/../../docs/sub/"
cmp -s "$T/p.out" "$T/pp.out" || t_fail "with ..: $(cat "$T/pp.out")"
rc=0
"$BEEMOCTL" diff pc1 1 2 docs/../.. "${pw[@]}" 2>"$T/up.err" || rc=$?
[ $rc = 2 ] || t_fail "\"..\" above the root exited $rc, not 2"
grep -q "goes above the root" "$T/up.err" || t_fail "$(cat "$T/up.err")"
rc=0
"$BEEMOCTL" diff pc1 1 "${pw[@]}" 2>/dev/null || rc=$?
[ $rc = 2 ] || t_fail "missing SNAP2 exited $rc, not 2"
"$BEEMOCTL" diff --help | grep -- "--json" >/dev/null || t_fail "--help"

# --json: one object, the same changes.
"$BEEMOCTL" diff pc1 1 2 --json "${pw[@]}" >"$T/d.json" ||
	t_fail "diff --json"
python3 - "$T/d.json" "$T/d.out" <<'EOF' || t_fail "--json does not match"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["format"] == "beemo-diff" and d["version"] == 1, d
assert d["from"]["id"] == 1 and d["to"]["id"] == 2, d
got = {(c["change"], c["path"]) for c in d["changes"]}
text = set()
for line in open(sys.argv[2]).read().splitlines()[:-1]:
    text.add((line[0], line[2:].rstrip("/") or "/"))
assert got == text, (got ^ text)
kinds = {c["path"]: c["type"] for c in d["changes"]}
assert kinds["/kind/was-file"] == "dir" and kinds["/docs/link"] == "symlink"
s = d["summary"]
assert (s["added"], s["removed"], s["changed"], s["type"]) == (1, 4, 2, 2), s
# Only the rewritten file (same size, another version) had to be read.
assert s["files_read"] == 1, s
assert s["errors"] == 0
EOF
# Every option of --help is in the verb's synopsis in beemoctl(8).
man_check_synopsis "$BEEMOCTL" diff "$(dirname "$0")/../../man/beemoctl.8"
t_log "ok"
