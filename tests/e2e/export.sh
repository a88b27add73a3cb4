#!/bin/bash
# export.sh -- `beemoctl export MACHINE SNAPSHOT [PATH] --format tar|zip`
# writes a snapshot without mounting it.  The tar (pax), re-extracted by
# GNU tar as root with --xattrs --acls, is the source tree again: the
# same files (diff -r), extended attributes and ACLs (getfattr, getfacl
# dumps), owners, modes and modification times to the nanosecond, hard
# links as links, symlinks, a fifo, a device, and a sparse file that
# stays sparse.  To standard output it pipes into tar -t; the zip is
# listed by python3's zipfile; --json is one object.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/man_lib.sh"

[ "$(id -u)" = 0 ] || t_skip "needs root (owners, devices, tar -p)"
for c in setfattr getfattr setfacl getfacl python3; do
	command -v $c >/dev/null || t_skip "no $c"
done
tar --help | grep -- --acls >/dev/null || t_skip "tar without --acls"

S="$T/src/tree"
mkdir -p "$S/docs/sub" "$S/special"
printf 'hello\n' >"$S/docs/a.txt"
head -c 300000 /dev/urandom >"$S/docs/big.bin"
printf 'linked\n' >"$S/docs/h1"
ln "$S/docs/h1" "$S/docs/sub/h2"
ln -s ../docs/a.txt "$S/docs/sub/link"
truncate -s 8M "$S/docs/sparse"
printf 'middle' | dd of="$S/docs/sparse" bs=1 seek=4194304 conv=notrunc \
	status=none
setfattr -n user.colour -v blue "$S/docs/a.txt"
setfattr -n user.bin -v 0x00ff10 "$S/docs/big.bin"
setfacl -m u:1234:rw-,g:2345:r--,m::rw- "$S/docs/a.txt"
setfacl -d -m u:1234:rwx,g:2345:r-x,o::--- "$S/docs/sub"
chown 1234:2345 "$S/docs/big.bin"
chmod 640 "$S/docs/big.bin"
mkfifo "$S/special/fifo"
mknod -m 640 "$S/special/null" c 1 3
printf '#!/bin/sh\n' >"$S/special/suid"
chmod 4755 "$S/special/suid"
touch -h -d '2021-03-04 05:06:07.123456789' "$S/docs/sub/link"
touch -d '2020-01-02 03:04:05.987654321' "$S/docs/a.txt" "$S/docs/sub" \
	"$S/special/fifo"

t_appliance
M="$T/mnt"
t_mount "$M"
cp -a "$S/." "$M/"
t_umount "$M"
pw=(--password-file "$T/admin.pw")

# Metadata of every path below ".", to compare two trees.
meta() {
	(cd "$1" && find . -mindepth 1 -printf '%p %y %m %U %G %n %s %T@\n' |
		LC_ALL=C sort)
}
xattrs() {
	(cd "$1" && getfattr -R -h -d -m - --absolute-names . 2>/dev/null |
		grep -v '^$' | LC_ALL=C sort)
}
acls() {
	(cd "$1" && getfacl -R -P -n . 2>/dev/null | grep -v '^$' | sort)
}
# The source holds what is compared (a dump of nothing equals nothing).
[ "$(xattrs "$S" | grep -c 'user\.\|posix_acl')" -ge 4 ] &&
	acls "$S" | grep "default:user:1234:rwx" >/dev/null ||
	t_fail "the source tree lacks its xattrs or ACLs"
same_tree() {
	local what=$1 x=$2
	diff -r --no-dereference -x fifo -x null "$S" "$x" >"$T/diff.out" ||
		t_fail "$what: contents differ: $(cat "$T/diff.out")"
	[ "$(meta "$S")" = "$(meta "$x")" ] ||
		t_fail "$what: metadata differ: $(diff <(meta "$S") <(meta "$x"))"
	[ "$(xattrs "$S")" = "$(xattrs "$x")" ] ||
		t_fail "$what: xattrs differ: $(diff <(xattrs "$S") <(xattrs "$x"))"
	[ "$(acls "$S")" = "$(acls "$x")" ] ||
		t_fail "$what: ACLs differ: $(diff <(acls "$S") <(acls "$x"))"
	[ "$(stat -c %i "$x/docs/h1")" = "$(stat -c %i "$x/docs/sub/h2")" ] ||
		t_fail "$what: the hard link is a copy"
	[ -p "$x/special/fifo" ] || t_fail "$what: no fifo"
	[ "$(stat -c %t:%T "$x/special/null")" = 1:3 ] ||
		t_fail "$what: device $(stat -c %t:%T "$x/special/null")"
	[ "$(stat -c %b "$x/docs/sparse")" -lt 1024 ] ||
		t_fail "$what: the sparse file takes $(stat -c %b "$x/docs/sparse") blocks"
}

# By default, what would give the client power where the archive is
# extracted as root is not in it: no device node, no set-id bit.
"$BEEMOCTL" export pc1 latest special --format tar --output "$T/d.tar" \
	"${pw[@]}" >"$T/d.out" 2>"$T/d.err" || t_fail "export: $(cat "$T/d.err")"
grep -q "null: device node left out (--privileged keeps it)" "$T/d.err" ||
	t_fail "device node: $(cat "$T/d.err")"
tar -tvf "$T/d.tar" >"$T/d.list"
grep -q "null" "$T/d.list" && t_fail "a device node was exported: $(cat "$T/d.list")"
grep -q "^-rwxr-xr-x .* suid$" "$T/d.list" ||
	t_fail "set-id bit kept: $(cat "$T/d.list")"

# The whole snapshot to a file, re-extracted, everything kept.
"$BEEMOCTL" export pc1 latest --format tar --privileged \
	--output "$T/all.tar" "${pw[@]}" \
	>"$T/e.out" 2>"$T/e.err" || t_fail "export: $(cat "$T/e.err")"
[ -s "$T/e.err" ] && t_fail "export said: $(cat "$T/e.err")"
grep -q "exported 5 files" "$T/e.out" || t_fail "$(cat "$T/e.out")"
[ "$(stat -c %a "$T/all.tar")" = 600 ] || t_fail "archive mode"
mkdir "$T/x"
tar --xattrs --xattrs-include='*' --acls -xpf "$T/all.tar" -C "$T/x" ||
	t_fail "tar -x"
same_tree "tar" "$T/x"
# Times to the nanosecond in the archive itself.
tar --full-time -tvf "$T/all.tar" docs/a.txt |
	grep '2020-01-02 03:04:05' >/dev/null ||
	t_fail "mtime: $(tar --full-time -tvf "$T/all.tar" docs/a.txt)"
t_must_fail "an existing --output" "$BEEMOCTL" export pc1 latest \
	--format tar --output "$T/all.tar" "${pw[@]}"

# A path, to standard output (the default when it is a pipe), into tar -t.
"$BEEMOCTL" export pc1 1 docs//sub/ --format tar "${pw[@]}" 2>"$T/s.err" |
	tar -tf - >"$T/s.list" || t_fail "export | tar -t: $(cat "$T/s.err")"
[ "$(LC_ALL=C sort "$T/s.list" | tr '\n' ' ')" = "h2 link " ] ||
	t_fail "docs/sub lists: $(cat "$T/s.list")"
"$BEEMOCTL" export pc1 1 docs/a.txt --format tar --output - "${pw[@]}" \
	2>/dev/null | tar -xOf - a.txt | grep -x hello >/dev/null ||
	t_fail "one file"
# ".." inside the tree is resolved as text, as by ls and restore.
"$BEEMOCTL" export pc1 1 ./docs/sub/../a.txt --format tar --output - \
	"${pw[@]}" 2>"$T/dd.err" | tar -xOf - a.txt | grep -x hello >/dev/null ||
	t_fail "docs/sub/../a.txt: $(cat "$T/dd.err")"
# Who took what out is in the machine's journal.
"$BEEMOCTL" journal pc1 --type restore "${pw[@]}" >"$T/j.out" ||
	t_fail "journal"
grep "export of /docs/sub from snapshot 1 as tar into standard output" \
	"$T/j.out" >/dev/null || t_fail "export not journaled: $(cat "$T/j.out")"
rc=0
"$BEEMOCTL" export pc1 1 docs/../.. --format tar --output "$T/bad.tar" \
	"${pw[@]}" 2>"$T/up.err" || rc=$?
[ $rc = 2 ] || t_fail "\"..\" above the root exited $rc, not 2"
grep -q "goes above the root" "$T/up.err" || t_fail "$(cat "$T/up.err")"
rc=0
"$BEEMOCTL" export pc1 1 --output "$T/nf.tar" "${pw[@]}" 2>/dev/null || rc=$?
[ $rc = 2 ] || t_fail "no --format exited $rc, not 2"
rc=0
"$BEEMOCTL" export pc1 1 --format rar --output "$T/nf.tar" "${pw[@]}" \
	2>"$T/rar.err" || rc=$?
[ $rc = 2 ] || t_fail "--format rar exited $rc, not 2"
grep -q "^beemoctl: export: --format rar: not a format of export (tar or zip)$" \
	"$T/rar.err" || t_fail "--format rar: $(cat "$T/rar.err")"
if [ -e "$T/bad.tar" ] || [ -e "$T/nf.tar" ]; then
	t_fail "a failed export left a file"
fi

# zip: what zip holds; --json on stdout.
"$BEEMOCTL" export pc1 latest --format zip --output "$T/all.zip" --json \
	"${pw[@]}" >"$T/z.json" 2>"$T/z.err" || t_fail "zip: $(cat "$T/z.err")"
grep -q "special/fifo: fifo left out" "$T/z.err" || t_fail "$(cat "$T/z.err")"
python3 - "$T/all.zip" "$T/z.json" "$S" <<'EOF' || t_fail "zip contents"
import json, stat, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
names = set(z.namelist())
for n in ("docs/a.txt", "docs/big.bin", "docs/h1", "docs/sub/h2",
          "docs/sub/link", "docs/sparse"):
    assert n in names, (n, names)
assert not any("fifo" in n or "null" in n for n in names), names
assert z.read("docs/big.bin") == open(sys.argv[3] + "/docs/big.bin",
                                      "rb").read()
assert z.read("docs/sub/h2") == b"linked\n"
assert len(z.read("docs/sparse")) == 8 << 20
i = z.getinfo("docs/sub/link")
assert stat.S_ISLNK(i.external_attr >> 16), oct(i.external_attr >> 16)
assert z.read(i) == b"../docs/a.txt"
assert (z.getinfo("docs/big.bin").external_attr >> 16) & 0o777 == 0o640
j = json.load(open(sys.argv[2]))
assert j["format"] == "beemo-export" and j["version"] == 1, j
assert j["archive"] == "zip" and j["files"] == 6 and j["skipped"] == 2, j
assert j["errors"] == 0
EOF
# With the archive on standard output, the JSON goes to standard error.
"$BEEMOCTL" export pc1 latest --format tar --privileged --json "${pw[@]}" \
	2>"$T/t.json" | tar -tf - >/dev/null || t_fail "export --json -"
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); \
	assert j["format"] == "beemo-export" and j["hardlinks"] == 1, j' \
	"$T/t.json" || t_fail "tar --json: $(cat "$T/t.json")"
"$BEEMOCTL" export --help | grep -- "--format tar|zip" >/dev/null ||
	t_fail "--help"
# Every option of --help is in the verb's synopsis in beemoctl(8).
man_check_synopsis "$BEEMOCTL" export "$(dirname "$0")/../../man/beemoctl.8"
t_log "ok"
