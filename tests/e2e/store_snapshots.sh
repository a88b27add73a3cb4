#!/bin/bash
# store_snapshots.sh -- snapshots, browsing, restore and rebuild-index end
# to end:
#   - `beemoctl snapshot` through the daemon while mounted, and with the
#     admin's password or the POSTE key file while not; the end-of-session
#     snapshot; `snapshots --json` parsed;
#   - /.snapshots/<id>/ in restore sessions opened with alice's and with
#     the admin's password (hidden from readdir of /, reachable by name)
#     holds each snapshot's tree with its metadata, also beside a backup
#     session; every kind of change there fails with EROFS; a backup
#     session (the POSTE key) has no /.snapshots at all, so no attempt
#     from it reaches a snapshot (harden_session.sh has the details);
#   - `beemoctl restore` of a whole snapshot, of a directory and of a file
#     reproduces contents and metadata (type, mode, owner, mtime to the
#     nanosecond, xattrs, symlink targets, hard links, fifos, devices);
#     it does not replace files without --overwrite (says them skipped);
#   - a snapshot after changing 1 file of a 5,000-file tree adds little
#     pack data (its cost follows the change, not the tree);
#   - rebuild-index, after deleting index/, gives the same snapshot list
#     and the same trees, and check passes.
. "$(dirname "$0")/lib.sh"

MNT="$T/mnt"
PY="$T/snap.py"
cat >"$PY" <<'PY'
"""Helpers of store_snapshots.sh.

snap.py make DIR            build the reference tree in DIR
snap.py manifest DIR        one JSON line per entry under DIR (DIR itself
                            excluded): type, mode, owner, mtime ns, size,
                            sha256, link target, xattrs, hard-link group
snap.py rotest DIR FILE SUBDIR
                            every change under DIR must fail with EROFS
"""
import errno, hashlib, json, os, stat, sys

def make(d):
    os.makedirs(f"{d}/sub/deeper")
    os.makedirs(f"{d}/empty")
    os.makedirs(f"{d}/private")
    def put(p, data, mode=0o644, owner=(0, 0), ns=None):
        with open(f"{d}/{p}", "wb") as f:
            f.write(data)
        os.chown(f"{d}/{p}", *owner)
        os.chmod(f"{d}/{p}", mode)
    put("empty.txt", b"")
    put("one.txt", b"x")
    put("text.txt", b"".join(b"line %d of some text\n" % i
                             for i in range(5000)), 0o600, (1234, 5678))
    put("big.bin", os.urandom(3 << 20), 0o755)
    put("setuid", b"#!/bin/sh\n", 0o4755)
    put("readonly", b"read only\n", 0o444, (65534, 65534))
    put("sub/caf\u00e9 \u2603 with spaces", b"unicode name\n")
    put("sub/" + "n" * 255, b"long name\n")
    put("sub/deeper/linked", b"hard linked content\n", 0o640, (42, 43))
    os.link(f"{d}/sub/deeper/linked", f"{d}/sub/link2")
    os.link(f"{d}/sub/deeper/linked", f"{d}/link3")
    with open(f"{d}/sparse", "wb") as f:
        f.seek(5 << 20)
        f.write(b"end of a sparse file")
    os.symlink("text.txt", f"{d}/rel-link")
    os.symlink("/etc/hostname", f"{d}/abs-link")
    os.symlink("does/not/exist", f"{d}/sub/dangling")
    os.symlink("t" * 1000, f"{d}/long-link")
    os.mkfifo(f"{d}/fifo", 0o620)
    os.mknod(f"{d}/null-dev", 0o600 | stat.S_IFCHR, os.makedev(1, 3))
    os.setxattr(f"{d}/text.txt", "user.note", b"a text value")
    os.setxattr(f"{d}/text.txt", "user.binary", bytes(range(256)))
    os.setxattr(f"{d}/sub", "user.dir", b"on a directory")
    os.chmod(f"{d}/private", 0o700)
    os.chown(f"{d}/private", 1234, 1234)
    os.chown(f"{d}/rel-link", 1234, 5678, follow_symlinks=False)
    # Times last, to the nanosecond, deepest first.
    t = 1_600_000_000_123_456_789
    for root, dirs, files in sorted(os.walk(d), key=lambda x: -len(x[0])):
        for n in sorted(files + dirs):
            t += 1_000_000_007
            os.utime(os.path.join(root, n), ns=(t, t),
                     follow_symlinks=False)
    os.utime(f"{d}/one.txt", ns=(1, 1))  # 1970, 1 ns

def manifest(d, out=sys.stdout):
    seen = {}
    entries = []
    for root, dirs, files in os.walk(d):
        for n in dirs + files:
            p = os.path.join(root, n)
            rel = os.path.relpath(p, d)
            st = os.lstat(p)
            e = {"path": rel, "mode": oct(st.st_mode), "uid": st.st_uid,
                 "gid": st.st_gid, "mtime": st.st_mtime_ns}
            if stat.S_ISREG(st.st_mode):
                h = hashlib.sha256()
                with open(p, "rb") as f:
                    for b in iter(lambda: f.read(1 << 20), b""):
                        h.update(b)
                e["size"] = st.st_size
                e["sha256"] = h.hexdigest()
                if st.st_nlink > 1:
                    key = (st.st_dev, st.st_ino)
                    e["link"] = seen.setdefault(key, rel)
            elif stat.S_ISLNK(st.st_mode):
                e["target"] = os.readlink(p)
            elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                e["rdev"] = st.st_rdev
            x = {}
            for a in os.listxattr(p, follow_symlinks=False):
                if not a.startswith("security."):
                    x[a] = os.getxattr(p, a, follow_symlinks=False).hex()
            e["xattrs"] = x
            entries.append(e)
    # Hard-link groups by their first path in sorted order.
    entries.sort(key=lambda e: e["path"])
    first = {}
    for e in entries:
        if "link" in e:
            e["link"] = first.setdefault(e["link"], e["path"])
    for e in entries:
        print(json.dumps(e, sort_keys=True), file=out)

def rotest(d, f, sub):
    tests = [
        ("create a file", lambda: open(f"{d}/new-file", "w")),
        ("open a file for writing", lambda: os.open(f, os.O_WRONLY)),
        ("open with O_TRUNC", lambda: os.open(f, os.O_RDONLY | os.O_TRUNC)),
        ("truncate", lambda: os.truncate(f, 0)),
        ("unlink", lambda: os.unlink(f)),
        ("rename", lambda: os.rename(f, f + ".moved")),
        ("mkdir", lambda: os.mkdir(f"{d}/new-dir")),
        ("rmdir", lambda: os.rmdir(sub)),
        ("chmod", lambda: os.chmod(f, 0o777)),
        ("chown", lambda: os.chown(f, 1, 1)),
        ("utime", lambda: os.utime(f, (1, 1))),
        ("setxattr", lambda: os.setxattr(f, "user.new", b"x")),
        ("removexattr", lambda: os.removexattr(f, "user.note")),
        ("symlink", lambda: os.symlink("x", f"{d}/new-link")),
        ("hard link", lambda: os.link(f, f"{d}/new-hardlink")),
        ("mkfifo", lambda: os.mkfifo(f"{d}/new-fifo")),
    ]
    bad = 0
    for what, fn in tests:
        try:
            fn()
            print(f"{what} in {d}: succeeded")
            bad += 1
        except OSError as e:
            if e.errno != errno.EROFS:
                print(f"{what} in {d}: {errno.errorcode[e.errno]}, "
                      f"not EROFS")
                bad += 1
    sys.exit(1 if bad else 0)

cmd, a = sys.argv[1], sys.argv[2:]
if cmd == "make":
    make(a[0])
elif cmd == "manifest":
    manifest(a[0])
elif cmd == "rotest":
    rotest(*a)
PY
manifest() { python3 "$PY" manifest "$1"; }
# same WHAT REF DIR: the manifest of DIR must equal REF (a file).
same() {
	manifest "$3" >"$T/cmp.manifest" || t_fail "$1: cannot read $3"
	diff -u "$2" "$T/cmp.manifest" >"$T/cmp.diff" ||
		t_fail "$1: differs from the reference:" \
			"$(head -20 "$T/cmp.diff")"
}
ctl() { "$BEEMOCTL" "$@"; }
# rotest DIR: every kind of change in DIR (holding text.txt and the empty
# directory "empty") must fail with EROFS; details in $T/ro.out.
rotest() {
	python3 "$PY" rotest "$1" "$1/text.txt" "$1/empty" >"$T/ro.out"
}
snapid() { sed -n 's/^snapshot \([0-9][0-9]*\)$/\1/p'; }

t_appliance
python3 "$PY" make "$T/src" || t_fail "cannot build the reference tree"
manifest "$T/src" >"$T/ref1"

# ---- snapshots -------------------------------------------------------------
t_mount "$MNT"
cp -a "$T/src" "$MNT/tree" || t_fail "cp -a into the mount"
same "live tree after cp -a" "$T/ref1" "$MNT/tree"
# Through the daemon: no password needed, and none given.
S1=$(ctl snapshot pc1 --note "first one" </dev/null | snapid)
[ -n "$S1" ] || t_fail "snapshot through the daemon printed no id"
# Change the live tree: edit, delete, add, rename, chmod.
echo "changed after the first snapshot" >>"$MNT/tree/text.txt"
rm "$MNT/tree/one.txt"
echo new >"$MNT/tree/sub/new.txt"
mv "$MNT/tree/readonly" "$MNT/tree/empty/moved"
chmod 0640 "$MNT/tree/big.bin"
manifest "$MNT/tree" >"$T/ref2"
# The backup session has no history; a restore session beside it sees
# the first snapshot as it was.
[ ! -e "$MNT/.snapshots" ] || t_fail "a backup session shows .snapshots"
t_mount_session "$T/ra" "machine=pc1,user=alice,passfile=$T/alice.pw"
same "first snapshot seen beside the live session" "$T/ref1" \
	"$T/ra/.snapshots/$S1/tree"
t_umount "$T/ra"
t_umount "$MNT"
S2=$(ctl snapshots pc1 --json --password-file "$T/admin.pw" |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["snapshots"][-1]["id"])')
[ "$S2" -gt "$S1" ] || t_fail "no end-of-session snapshot after $S1 (last: $S2)"
# Not mounted: with the admin's password, and with the POSTE key file.
S3=$(ctl snapshot pc1 --note "admin, offline" --password-file "$T/admin.pw" |
	snapid)
S4=$(ctl snapshot pc1 --note "poste, offline" --poste-key "$T/pc1.poste" |
	snapid)
[ -n "$S3" ] && [ -n "$S4" ] ||
	t_fail "offline snapshots printed no id ($S3, $S4)"
[ "$S3" -gt "$S2" ] && [ "$S4" -gt "$S3" ] ||
	t_fail "snapshot ids not increasing: $S1 $S2 $S3 $S4"

SN=("$S1" "$S2" "$S3" "$S4")
for who in "--password-file $T/admin.pw" \
	"--user alice --password-file $T/alice.pw"; do
	# shellcheck disable=SC2086
	ctl snapshots pc1 --json $who >"$T/snaps.json" ||
		t_fail "snapshots --json ($who)"
	python3 - "$T/snaps.json" "${SN[@]}" <<'PY' || t_fail "listing ($who)"
import json, sys
v = json.load(open(sys.argv[1]))["snapshots"]
ids = [int(x) for x in sys.argv[2:]]
by = {s["id"]: s for s in v}
assert [s["id"] for s in v] == sorted(by), f"not sorted by id: {v}"
for i in ids:
    assert i in by, f"snapshot {i} missing: {v}"
    s = by[i]
    for k, t in (("id", int), ("time", str), ("files", int), ("bytes", int),
                 ("note", str)):
        assert isinstance(s[k], t), f"{k} of {s} is not {t.__name__}"
assert by[ids[0]]["note"] == "first one", by[ids[0]]
assert by[ids[1]]["note"] == "end of backup session", by[ids[1]]
assert by[ids[2]]["note"] == "admin, offline", by[ids[2]]
assert by[ids[3]]["note"] == "poste, offline", by[ids[3]]
# 3 MiB + 5 MiB sparse + text: at least 8 MiB of regular files.
assert by[ids[0]]["bytes"] >= 8 << 20, by[ids[0]]
assert by[ids[0]]["files"] >= 10, by[ids[0]]
# One file removed, one added between the first two.
assert by[ids[1]]["files"] == by[ids[0]]["files"], (by[ids[0]], by[ids[1]])
assert by[ids[0]]["time"] <= by[ids[1]]["time"] <= by[ids[3]]["time"]
PY
done
ctl snapshots pc1 --password-file "$T/admin.pw" | grep "first one" >/dev/null ||
	t_fail "the table listing lacks the first snapshot's note"

# ---- out of reach of a backup session ---------------------------------------
# Whatever a backup session (the POSTE key, which a client holds) tries
# on the snapshots fails, and they are checked intact below.
t_mount "$MNT"
python3 - "$MNT" "$S1" <<'PY' || t_fail "a backup session reached a snapshot"
import errno, os, sys, shutil
m, s = sys.argv[1], sys.argv[2]
d = f"{m}/.snapshots"
for what, fn in (("rmdir snapshot", lambda: os.rmdir(f"{d}/{s}")),
                 ("rename snapshot", lambda: os.rename(f"{d}/{s}", f"{d}/99")),
                 ("move snapshot out", lambda: os.rename(f"{d}/{s}", f"{m}/x")),
                 ("write in a snapshot",
                  lambda: open(f"{d}/{s}/tree/text.txt", "a")),
                 ("rmdir .snapshots", lambda: os.rmdir(d)),
                 ("rename .snapshots", lambda: os.rename(d, f"{m}/x")),
                 ("mkdir in .snapshots", lambda: os.mkdir(f"{d}/77")),
                 ("create .snapshots", lambda: os.mkdir(d))):
    try:
        fn()
    except OSError as e:
        if e.errno in (errno.ENOENT, errno.EPERM):
            continue
        print(f"{what}: {os.strerror(e.errno)}, not ENOENT or EPERM")
        sys.exit(1)
    print(f"{what}: succeeded")
    sys.exit(1)
shutil.rmtree(f"{m}/.snapshots/{s}/tree", ignore_errors=True)
PY
t_umount "$MNT"

# ---- browsing ---------------------------------------------------------------
t_mount_session "$T/ra" "machine=pc1,user=alice,passfile=$T/alice.pw"
t_mount_session "$T/rb" "machine=pc1,admin,passfile=$T/admin.pw"
for R in "$T/ra" "$T/rb"; do
	! ls -a "$R" | grep -q snapshots ||
		t_fail "$R: .snapshots listed by readdir of /"
	ls "$R/.snapshots" | grep -qx "$S1" ||
		t_fail "$R/.snapshots does not list $S1"
	same "$R: snapshot $S1" "$T/ref1" "$R/.snapshots/$S1/tree"
	same "$R: snapshot $S2" "$T/ref2" "$R/.snapshots/$S2/tree"
	same "$R: snapshot $S4" "$T/ref2" "$R/.snapshots/$S4/tree"
	same "$R: live tree" "$T/ref2" "$R/tree"
	rotest "$R/.snapshots/$S1/tree" ||
		t_fail "changes in a restore session: $(cat "$T/ro.out")"
	rotest "$R/tree" ||
		t_fail "changes to the live tree in a restore session:" \
			"$(cat "$T/ro.out")"
done
t_umount "$T/ra"
t_umount "$T/rb"
# ---- restore ----------------------------------------------------------------
AP=(--password-file "$T/admin.pw")
# --privileged: the tree has a set-user-ID file and a device node, which
# a default restore leaves out (harden_restore.sh).
ctl -q restore pc1 "$S1" --target "$T/rest1" --privileged "${AP[@]}" ||
	t_fail "restore of snapshot $S1"
same "restore of snapshot $S1" "$T/ref1" "$T/rest1/tree"
ctl -q restore pc1 latest --target "$T/rest2" --privileged --user alice \
	--password-file "$T/alice.pw" ||
	t_fail "restore of the latest snapshot as alice"
same "restore of the latest snapshot" "$T/ref2" "$T/rest2/tree"
# A directory: its contents go into the target.
ctl -q restore pc1 "$S1" /tree/sub --target "$T/rest3" "${AP[@]}" ||
	t_fail "restore of /tree/sub"
manifest "$T/src/sub" >"$T/ref-sub"
same "restore of /tree/sub" "$T/ref-sub" "$T/rest3"
# A file: into the target under its name, with its metadata.
ctl -q restore pc1 "$S1" /tree/text.txt --target "$T/rest4" "${AP[@]}" ||
	t_fail "restore of /tree/text.txt"
mkdir "$T/ref4"
cp -a "$T/src/text.txt" "$T/ref4/"
manifest "$T/ref4" >"$T/ref-file"
same "restore of /tree/text.txt" "$T/ref-file" "$T/rest4"
# No overwriting without --overwrite; the local files stay as they are,
# each said skipped.
echo "local change" >"$T/rest1/tree/text.txt"
ctl -q restore pc1 "$S1" --target "$T/rest1" "${AP[@]}" >"$T/skip.out" \
	2>&1 || t_fail "restore over existing files: $(head -3 "$T/skip.out")"
grep -q "text.txt: exists (--overwrite" "$T/skip.out" ||
	t_fail "a skipped file is not said: $(head -3 "$T/skip.out")"
[ "$(cat "$T/rest1/tree/text.txt")" = "local change" ] ||
	t_fail "a refused restore replaced a local file"
ctl -q restore pc1 "$S1" --target "$T/rest1" --overwrite --privileged \
	"${AP[@]}" ||
	t_fail "restore --overwrite"
same "restore --overwrite" "$T/ref1" "$T/rest1/tree"

# ---- the cost of a snapshot -------------------------------------------------
packbytes() {
	find "$T/store/machines/pc1/packs" -name '*.pack*' -printf '%s\n' |
		awk '{s += $1} END {print s + 0}'
}
t_mount "$MNT"
B0=$(packbytes)
python3 - "$MNT/many" <<'PY' || t_fail "writing 5,000 files"
import os, sys
d = sys.argv[1]
for i in range(50):
    os.makedirs(f"{d}/d{i:02d}")
    for j in range(100):
        with open(f"{d}/d{i:02d}/f{j:03d}", "w") as f:
            f.write(f"file {i}/{j}: {os.urandom(100).hex()}\n")
PY
t0=$(date +%s%N)
SA=$(ctl snapshot pc1 --note "5000 files" | snapid)
t1=$(date +%s%N)
BA=$(packbytes)
echo "one changed line" >>"$MNT/many/d25/f050"
t2=$(date +%s%N)
SB=$(ctl snapshot pc1 --note "1 file changed" | snapid)
t3=$(date +%s%N)
BB=$(packbytes)
[ -n "$SA" ] && [ -n "$SB" ] || t_fail "snapshots of the 5,000-file tree failed"
FULL=$((BA - B0))
ONE=$((BB - BA))
MSA=$(((t1 - t0) / 1000000))
MSB=$(((t3 - t2) / 1000000))
t_log "5,000 new files + snapshot: $FULL pack bytes, snapshot $MSA ms;" \
	"1 changed file + snapshot: $ONE pack bytes, snapshot $MSB ms"
[ "$ONE" -lt 65536 ] ||
	t_fail "a snapshot after changing 1 file of 5,000 added $ONE bytes" \
		"of packs (5,000 files added $FULL)"
[ $((ONE * 20)) -lt "$FULL" ] ||
	t_fail "snapshot cost does not follow the change: $ONE bytes for" \
		"1 file, $FULL for 5,000"
[ "$MSB" -lt 5000 ] || t_fail "snapshot of a 1-file change took $MSB ms"
t_umount "$MNT"

# ---- rebuild-index ----------------------------------------------------------
# everything OUT: the snapshot list and the manifest of every snapshot.
everything() {
	local ids s
	ctl snapshots pc1 --json "${AP[@]}" >"$1" || t_fail "snapshots"
	ids=$(python3 -c 'import json, sys
print(*[s["id"] for s in json.load(open(sys.argv[1]))["snapshots"]])' "$1")
	t_mount_session "$T/rb" "machine=pc1,admin,passfile=$T/admin.pw"
	{
		for s in $ids; do
			echo "== snapshot $s"
			manifest "$T/rb/.snapshots/$s"
		done
		echo "== live"
		manifest "$T/rb"
	} >>"$1"
	t_umount "$T/rb"
}
everything "$T/before"
IX="$T/store/machines/pc1/index"
rm -rf "$IX"
ctl -q rebuild-index pc1 "${AP[@]}" >"$T/rebuild.out" 2>&1 ||
	t_fail "rebuild-index after deleting the index: $(cat "$T/rebuild.out")"
[ -s "$IX/data.mdb" ] || t_fail "rebuild-index made no index"
everything "$T/after"
diff -u "$T/before" "$T/after" >"$T/rebuild.diff" ||
	t_fail "after rebuild-index, snapshots or trees differ:" \
		"$(head -20 "$T/rebuild.diff")"
ctl check pc1 --read-data "${AP[@]}" >"$T/check.out" ||
	t_fail "check after rebuild-index: $(cat "$T/check.out")"
# Again, with an index in place: it is kept as index.old.
ctl -q rebuild-index pc1 --poste-key "$T/pc1.poste" >"$T/rebuild.out" 2>&1 ||
	t_fail "rebuild-index over an existing index: $(cat "$T/rebuild.out")"
[ -d "$T/store/machines/pc1/index.old" ] ||
	t_fail "no index.old after rebuild-index"
everything "$T/after2"
diff -u "$T/before" "$T/after2" >"$T/rebuild.diff" ||
	t_fail "after a second rebuild-index, snapshots or trees differ:" \
		"$(head -20 "$T/rebuild.diff")"
# And the store keeps working: a backup session, a snapshot, a restore.
t_mount "$MNT"
echo "after the rebuild" >"$MNT/after.txt"
t_umount "$MNT"
ctl -q restore pc1 latest /after.txt --target "$T/rest5" "${AP[@]}" ||
	t_fail "restore after rebuild-index"
[ "$(cat "$T/rest5/after.txt")" = "after the rebuild" ] ||
	t_fail "restore after rebuild-index: wrong content"
t_log "PASS"
