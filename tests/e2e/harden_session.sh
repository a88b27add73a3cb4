#!/bin/bash
# harden_session.sh -- the backup session, opened with the machine's
# POSTE key file (what a client holds, and ransomware on it), sees and
# writes the live tree only; history is for people's passwords.
#   - In a backup session /.snapshots is gone: not listed, and stat,
#     open, opendir and chdir of it or of a path in a snapshot that
#     exists fail with ENOENT; it cannot be made (mkdir, create, mknod,
#     symlink, link, rename over it: EPERM), and nothing in it either.
#     The live tree works as before.
#   - The backup flow keeps its snapshots: `beemoctl snapshot` through
#     the control socket and the end-of-session snapshot.
#   - `-o ro` with a key file is refused before anything is opened, with
#     exit status 2 and a message that says what to use instead; nothing
#     is mounted.
#   - Restore sessions opened with alice's and with the administrator's
#     password, beside the backup session, browse every snapshot.
. "$(dirname "$0")/lib.sh"

[ -c /dev/fuse ] || t_skip "no /dev/fuse"
command -v fusermount3 >/dev/null || t_skip "fusermount3 missing"
[ -x "$BEEMOFS" ] || t_fail "$BEEMOFS not built"
t_appliance
M=$T/mnt

# snapshot_ids: the ids of the snapshots of pc1, one a line (the
# administrator's listing, which needs no mount).
snapshot_ids() {
	"$BEEMOCTL" snapshots pc1 --json --password-file "$T/admin.pw" |
		python3 -c 'import json, sys
for s in json.load(sys.stdin)["snapshots"]:
    print(s["id"])'
}

t_mount "$M"
mkdir "$M/dir"
echo "version 1" >"$M/dir/a"
t_umount "$M" # snapshot 1
[ "$(snapshot_ids)" = 1 ] || t_fail "no snapshot 1 to hide: $(snapshot_ids)"

# --- the backup session ---------------------------------------------------
t_mount "$M"
echo "version 2" >"$M/dir/a"
# The snapshot exists, and a restore session sees it at this very path
# (below); the backup session must not.
[ -z "$(find "$M" -mindepth 1 -maxdepth 1 -name .snapshots)" ] ||
	t_fail "a backup session lists .snapshots in its root directory"
t_must_fail "stat .snapshots in a backup session" stat "$M/.snapshots"
grep -q "No such file or directory" "$T/must_fail.out" ||
	t_fail "stat .snapshots: $(cat "$T/must_fail.out"), not ENOENT"
t_must_fail "cd .snapshots in a backup session" \
	bash -c 'cd "$1"' - "$M/.snapshots"
t_must_fail "ls .snapshots/1 in a backup session" ls "$M/.snapshots/1"
t_must_fail "reading a snapshot's file in a backup session" \
	cat "$M/.snapshots/1/dir/a"
grep -q "No such file or directory" "$T/must_fail.out" ||
	t_fail "cat .snapshots/1/dir/a: $(cat "$T/must_fail.out"), not ENOENT"
# Every way in, with its exact error.
python3 - "$M" <<'EOF' || t_fail "a backup session reaches /.snapshots"
import errno, os, sys
m = sys.argv[1]
d = m + "/.snapshots"
open(m + "/plain", "w").close()
bad = []
def expect(what, err, f):
    try:
        f()
    except OSError as e:
        if e.errno != err:
            bad.append(f"{what}: {os.strerror(e.errno)}, expected "
                       f"{errno.errorcode[err]}")
        return
    bad.append(f"{what}: succeeded")
N, P = errno.ENOENT, errno.EPERM
for what, f in (
        ("stat .snapshots", lambda: os.stat(d)),
        ("lstat .snapshots", lambda: os.lstat(d)),
        ("open .snapshots", lambda: os.open(d, os.O_RDONLY)),
        ("opendir .snapshots", lambda: os.listdir(d)),
        ("chdir .snapshots", lambda: os.chdir(d)),
        ("stat .snapshots/1", lambda: os.stat(d + "/1")),
        ("listdir .snapshots/1/dir", lambda: os.listdir(d + "/1/dir")),
        ("open .snapshots/1/dir/a", lambda: os.open(d + "/1/dir/a",
                                                    os.O_RDONLY)),
        ("getxattr .snapshots", lambda: os.getxattr(d, "user.x")),
        ("listxattr .snapshots/1", lambda: os.listxattr(d + "/1")),
        ("mkdir in .snapshots", lambda: os.mkdir(d + "/2")),
        ("rmdir .snapshots", lambda: os.rmdir(d)),
        ("rename .snapshots", lambda: os.rename(d, m + "/x"))):
    expect(what, N, f)
for what, f in (
        ("mkdir .snapshots", lambda: os.mkdir(d)),
        ("create .snapshots", lambda: os.open(d, os.O_CREAT | os.O_WRONLY,
                                              0o644)),
        ("mknod .snapshots", lambda: os.mkfifo(d)),
        ("symlink .snapshots", lambda: os.symlink("dir", d)),
        ("link .snapshots", lambda: os.link(m + "/plain", d)),
        ("rename over .snapshots", lambda: os.rename(m + "/plain", d)),
        ("rename a directory over .snapshots",
         lambda: os.rename(m + "/dir", d))):
    expect(what, P, f)
if ".snapshots" in os.listdir(m):
    bad.append("listed by readdir after the attempts")
with open(m + "/dir/a") as f:
    if f.read() != "version 2\n":
        bad.append("the live tree changed")
for b in bad:
    print(b, file=sys.stderr)
sys.exit(1 if bad else 0)
EOF
# The backup flow still takes snapshots through the control socket.
"$BEEMOCTL" snapshot pc1 --note "asked by the backup" >"$T/snap.out" ||
	t_fail "beemoctl snapshot during a backup session"
grep -qx "snapshot 2" "$T/snap.out" ||
	t_fail "beemoctl snapshot: $(cat "$T/snap.out")"

# --- restore sessions, beside it -------------------------------------------
for who in "user=alice,passfile=$T/alice.pw" "admin,passfile=$T/admin.pw"; do
	R=$T/restore
	t_mount_session "$R" "machine=pc1,$who"
	[ "$(ls "$R/.snapshots" | sort -n | tr '\n' ' ')" = "1 2 " ] ||
		t_fail "$who: .snapshots lists $(ls "$R/.snapshots")"
	[ "$(cat "$R/.snapshots/1/dir/a")" = "version 1" ] ||
		t_fail "$who: snapshot 1 does not read back"
	[ "$(cat "$R/.snapshots/2/dir/a")" = "version 2" ] ||
		t_fail "$who: snapshot 2 does not read back"
	t_umount "$R"
done

echo "version 3" >"$M/dir/a"
t_umount "$M"
[ "$(snapshot_ids | tr '\n' ' ')" = "1 2 3 " ] ||
	t_fail "no end-of-session snapshot: $(snapshot_ids | tr '\n' ' ')"

# --- -o ro with a key file -------------------------------------------------
# As a daemon: should it mount, the command returns (and the mount is
# seen and undone) instead of serving in the foreground until the
# timeout.
mkdir -p "$T/ro"
T_MOUNTS+=("$T/ro")
for opts in "-o machine=pc1,keyfile=$T/pc1.poste,ro" \
	"-o machine=pc1,keyfile=$T/pc1.poste -o ro"; do
	rc=0
	# shellcheck disable=SC2086 # the options are split on purpose
	"$BEEMOFS" "$T/store" "$T/ro" $opts >"$T/ro.out" 2>&1 || rc=$?
	mountpoint -q "$T/ro" && { fusermount3 -u "$T/ro"; t_fail \
		"$opts: a read-only backup session was mounted"; }
	[ $rc = 2 ] || t_fail "$opts: exit status $rc, expected 2"
	grep -q "browsing history needs a user's or the administrator's password" \
		"$T/ro.out" || t_fail "$opts: no clear message: $(cat "$T/ro.out")"
done
t_log "ok"
