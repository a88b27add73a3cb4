#!/bin/bash
# look.sh -- looking into snapshots without mounting them: `beemoctl ls`
# (plain, --long, --recursive, --json) of a snapshot and of a directory
# matches the tree that was backed up, whichever way the path is
# written; `find` lists each match with the snapshots it is in (a file
# only in the older one included); `dump` writes a file byte for byte;
# ".." above the root is refused.
. "$(dirname "$0")/lib.sh"

t_appliance
S="$T/src"
mkdir -p "$S/docs/sub" "$S/dir with space" "$S/été"
echo "alpha" >"$S/docs/a.txt"
echo "beta" >"$S/docs/sub/b.txt"
echo "gamma" >"$S/dir with space/file name.txt"
echo "delta" >"$S/été/naïve café.txt"
ln -s docs/a.txt "$S/link"
ln "$S/docs/a.txt" "$S/docs/hard.txt"
truncate -s 3M "$S/sparse"
printf 'middle' | dd of="$S/sparse" bs=1 seek=1000000 conv=notrunc \
	status=none
head -c 5242880 /dev/urandom >"$S/random.bin"
echo "old" >"$S/old-only.txt"
touch -d 2020-06-01 "$S/docs/sub/b.txt"
chmod 0640 "$S/docs/a.txt"

M="$T/mnt"
t_mount "$M"
cp -a "$S/." "$M/"
t_umount "$M"
t_mount "$M"
rm "$M/old-only.txt"
t_umount "$M"
rm "$S/old-only.txt"

look() { "$BEEMOCTL" "$@" --password-file "$T/admin.pw"; }

# ls of the root and of a directory, however written.
look ls pc1 latest >"$T/ls.out" || t_fail "ls"
diff <(ls -A "$S" | LC_ALL=C sort) "$T/ls.out" || t_fail "ls of the root"
for p in docs /docs /docs/ ./docs //docs//sub/.. docs/./sub/../; do
	look ls pc1 latest "$p" >"$T/ls.out" || t_fail "ls $p"
	diff <(ls -A "$S/docs" | LC_ALL=C sort) "$T/ls.out" ||
		t_fail "ls $p"
done
# The older snapshot still has old-only.txt.
look ls pc1 1 | grep -qx old-only.txt || t_fail "ls of snapshot 1"

# --recursive: every path below, relative to PATH.
look ls pc1 latest --recursive >"$T/lsr.out" || t_fail "ls --recursive"
diff <(cd "$S" && find . -mindepth 1 | sed 's,^\./,,' | LC_ALL=C sort) \
	<(LC_ALL=C sort "$T/lsr.out") || t_fail "ls --recursive of the root"
look ls pc1 latest "été" --recursive >"$T/lsr.out" || t_fail "ls -R été"
[ "$(cat "$T/lsr.out")" = "naïve café.txt" ] || t_fail "$(cat "$T/lsr.out")"

# --long: what ls -l would say of the source, with numeric owners.
expect_long() {
	local f=$1 name=$2 line
	line=$(stat -c '%A %h %u %g %s %Y' "$f")
	read -r mode nlink uid gid size mtime <<<"$line"
	printf '%s %3u %5u %5u %12u %s %s' "$mode" "$nlink" "$uid" "$gid" \
		"$size" "$(date -d "@$mtime" '+%Y-%m-%d %H:%M')" "$name"
	[ -L "$f" ] && printf ' -> %s' "$(readlink "$f")"
	echo
}
look ls pc1 latest --long >"$T/long.out" || t_fail "ls --long"
for n in docs link random.bin sparse "dir with space"; do
	grep -qxF -e "$(expect_long "$S/$n" "$n")" "$T/long.out" ||
		t_fail "ls --long $n: expected '$(expect_long "$S/$n" "$n")' in
$(cat "$T/long.out")"
done
look ls pc1 latest docs --long >"$T/long.out" || t_fail "ls docs --long"
for n in a.txt hard.txt sub; do
	grep -qxF -e "$(expect_long "$S/docs/$n" "$n")" "$T/long.out" ||
		t_fail "ls --long docs/$n: $(cat "$T/long.out")"
done
# A file lists itself.
look ls pc1 latest /docs/sub/b.txt >"$T/one.out" || t_fail "ls of a file"
[ "$(cat "$T/one.out")" = "b.txt" ] || t_fail "ls of a file: $(cat "$T/one.out")"

# --json: one object, parsed and checked against the source.
look ls pc1 latest --recursive --json >"$T/ls.json" || t_fail "ls --json"
python3 - "$T/ls.json" "$S" <<'EOF' || t_fail "ls --json: $(cat "$T/ls.json")"
import json, os, re, stat, sys, time
d = json.load(open(sys.argv[1]))
src = sys.argv[2]
assert d["format"] == "beemo-ls" and d["version"] == 1, d
assert d["machine"] == "pc1" and d["snapshot"] == 2 and d["path"] == "/", d
want = set()
for root, dirs, files in os.walk(src):
    for n in dirs + files:
        want.add(os.path.join(root, n)[len(src):])
got = {e["path"] for e in d["entries"]}
assert got == want, (got ^ want)
for e in d["entries"]:
    st = os.lstat(src + e["path"])
    assert e["size"] == st.st_size or stat.S_ISDIR(st.st_mode), e
    assert e["mode"] == stat.S_IMODE(st.st_mode), e
    # RFC 3339 in UTC, to the second.
    assert e["mtime"] == time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                       time.gmtime(st.st_mtime)), e
    assert e["name"] == os.path.basename(e["path"]), e
    assert e["type"] == {stat.S_IFDIR: "dir", stat.S_IFREG: "file",
                         stat.S_IFLNK: "symlink"}[stat.S_IFMT(st.st_mode)], e
    if e["type"] == "symlink":
        assert e["target"] == os.readlink(src + e["path"]), e
hard = [e for e in d["entries"] if e["path"] == "/docs/hard.txt"][0]
assert hard["nlink"] == 2, hard
EOF

# find: across both snapshots, a file only in the older one.
look find pc1 '*.txt' >"$T/find.out" || t_fail "find"
grep -qxF "$(printf '1\t/old-only.txt')" "$T/find.out" ||
	t_fail "find: old-only.txt: $(cat "$T/find.out")"
grep -qxF "$(printf '1,2\t/docs/a.txt')" "$T/find.out" ||
	t_fail "find: a.txt: $(cat "$T/find.out")"
grep -qxF "$(printf '1,2\t/été/naïve café.txt')" "$T/find.out" ||
	t_fail "find: unicode: $(cat "$T/find.out")"
[ "$(grep -c . "$T/find.out")" = 6 ] || t_fail "find: $(cat "$T/find.out")"
look find pc1 'docs/*.txt' --snapshots latest >"$T/find.out" ||
	t_fail "find docs/*.txt"
diff <(printf '2\t/docs/a.txt\n2\t/docs/hard.txt\n2\t/docs/sub/b.txt\n') \
	"$T/find.out" || t_fail "find with a slash"
look find pc1 '*.txt' --older 2021-01-01 >"$T/find.out" || t_fail "--older"
diff <(printf '1,2\t/docs/sub/b.txt\n') "$T/find.out" || t_fail "--older"
look find pc1 '*.txt' --newer 2021-01-01 --snapshots 1 >"$T/find.out" ||
	t_fail "--newer"
grep -q "b.txt" "$T/find.out" && t_fail "--newer: $(cat "$T/find.out")"
grep -qxF "$(printf '1\t/old-only.txt')" "$T/find.out" ||
	t_fail "--newer: $(cat "$T/find.out")"
look find pc1 'old-*' --json >"$T/find.json" || t_fail "find --json"
python3 - "$T/find.json" <<'EOF' || t_fail "find --json: $(cat "$T/find.json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["format"] == "beemo-find" and d["version"] == 1, d
assert d["searched"] == [1, 2] and d["pattern"] == "old-*", d
assert [(m["path"], m["snapshots"], m["type"], m["size"])
        for m in d["matches"]] == [("/old-only.txt", [1], "file", 4)], d
EOF

# dump: byte for byte, holes read as zeros; a directory or a missing
# path is an error and writes nothing.
look dump pc1 latest random.bin >"$T/random.out" || t_fail "dump"
cmp "$S/random.bin" "$T/random.out" || t_fail "dump random.bin"
look dump pc1 latest ./sparse >"$T/sparse.out" || t_fail "dump sparse"
cmp "$S/sparse" "$T/sparse.out" || t_fail "dump sparse"
look dump pc1 latest "/été/naïve café.txt" >"$T/u.out" || t_fail "dump é"
cmp "$S/été/naïve café.txt" "$T/u.out" || t_fail "dump unicode"
look dump pc1 1 old-only.txt >"$T/old.out" || t_fail "dump snapshot 1"
[ "$(cat "$T/old.out")" = old ] || t_fail "dump of snapshot 1"
t_must_fail "dump of a directory" look dump pc1 latest docs
grep -q "is a directory" "$T/must_fail.out" || t_fail "$(cat "$T/must_fail.out")"
t_must_fail "dump of a missing file" look dump pc1 latest docs/nope
grep -q "docs/nope in snapshot 2: No such file" "$T/must_fail.out" ||
	t_fail "$(cat "$T/must_fail.out")"
t_must_fail "dump of a symlink" look dump pc1 latest link

# Hostile paths: ".." above the root is refused (usage), nothing read.
for p in ../.. /../etc/passwd docs/../../etc/passwd; do
	rc=0
	look dump pc1 latest "$p" >"$T/h.out" 2>"$T/h.err" || rc=$?
	[ $rc = 2 ] || t_fail "dump $p: exit $rc"
	grep -q "goes above the root" "$T/h.err" || t_fail "$(cat "$T/h.err")"
	[ ! -s "$T/h.out" ] || t_fail "dump $p wrote something"
	rc=0
	look ls pc1 latest "$p" >"$T/h.out" 2>"$T/h.err" || rc=$?
	[ $rc = 2 ] && [ ! -s "$T/h.out" ] || t_fail "ls $p: exit $rc"
done

# A user of the machine may look too (read-only, as restore).
"$BEEMOCTL" ls pc1 latest docs --user alice --password-file "$T/alice.pw" \
	>"$T/ls.out" || t_fail "ls as a user"
diff <(ls -A "$S/docs" | LC_ALL=C sort) "$T/ls.out" || t_fail "ls as a user"

# The dump is journaled like a restore.
look journal pc1 --json >"$T/j.json" || t_fail "journal"
grep -q "dump of /random.bin from snapshot 2" "$T/j.json" ||
	t_fail "dump not journaled: $(cat "$T/j.json")"
t_log "ok"
