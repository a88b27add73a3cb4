# shellcheck shell=bash
# fs_lib.sh -- shared functions of the filesystem conformance tests
# (fs_*.sh), sourced after nothing else: it sources lib.sh itself.
#
# The tests check that beemofs behaves like ext4 for what backup clients
# do.  They run on $MNT, which is a beemofs mount of machine pc1 (lib.sh's
# t_mount), between fs_mount and fs_umount.  A backup session has no
# .snapshots: the snapshots are browsed under $SNAPS, the .snapshots of a
# restore session opened with alice's password that fs_history mounts
# (beside the backup session) and fs_umount unmounts.
#
# Checking the tests themselves: with FS_TEST_DIR set to a directory on
# ext4, the same test bodies run in a fresh directory under it INSTEAD OF
# a beemofs mount, and every fs_* test must pass that way; fs_mount and
# fs_umount then only sync.  CI never sets FS_TEST_DIR.  Snapshot parts
# are skipped in that mode, unless FS_TEST_SNAPSHOTS=1 too: then
# fs_umount copies the tree to a snapshot directory and fs_mount shows
# the snapshots read-only under $MNT/.snapshots/<id>/ ($SNAPS) with a
# read-only bind mount (needs root), so the snapshot checks can be
# checked too.
# For example, from the build directory:
#	BEEMO_BUILD=$PWD FS_TEST_DIR=/var/tmp/x FS_TEST_SNAPSHOTS=1 \
#	    bash ../tests/e2e/fs_tools.sh
#
# $BEEMO_SYSCALLS is the syscall torture program (set by meson; defaults
# to the one in $BEEMO_BUILD).
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

export LC_ALL=C

# A command that fails under set -e names itself before the test ends
# (not in the cleanup, which runs with set +e).
fs_err() {
	case $- in
	*e*) t_log "FAIL: $4:$2: exit status $1: $3" ;;
	esac
}
set -E
trap 'fs_err $? "$LINENO" "$BASH_COMMAND" "${BASH_SOURCE[0]##*/}"' ERR
SYSCALLS=${BEEMO_SYSCALLS:-$BEEMO_BUILD/tests/e2e/syscalls}
FS_BASE=
FS_SNAPSTORE=
MNT=
SNAPS=

# fs_need CMD PACKAGE...: skip (fail in CI) if a command is missing.
fs_need() {
	command -v "$1" >/dev/null ||
		t_skip "command $1 not found (Debian package $2)"
}

# fs_cleanup: ext4 mode: undo the snapshot bind mount and remove the test
# directory when the test passed; then lib.sh's cleanup.
fs_cleanup() {
	local rc=$?
	set +e
	if [ -n "$FS_BASE" ]; then
		mountpoint -q "$MNT/.snapshots" 2>/dev/null &&
			umount -l "$MNT/.snapshots"
		if [ $rc = 0 ] || [ $rc = 77 ]; then
			rm -rf "$FS_BASE"
		else
			t_log "kept $FS_BASE for inspection"
		fi
	fi
	(exit $rc)
	t_cleanup
}

# fs_init: check prerequisites, create the appliance (beemofs mode) or
# the test directory (ext4 mode), and set MNT.
fs_init() {
	[ "$(id -u)" = 0 ] || t_skip "must run as root (chown, mknod)"
	if [ -n "${FS_TEST_DIR:-}" ]; then
		mkdir -p "$FS_TEST_DIR"
		FS_BASE=$(mktemp -d "$FS_TEST_DIR/$T_NAME.XXXXXX")
		MNT=$FS_BASE/mnt
		FS_SNAPSTORE=$FS_BASE/snapshots
		mkdir "$MNT" "$FS_SNAPSTORE"
		trap fs_cleanup EXIT
		t_log "ext4 mode: testing $MNT, not beemofs"
	else
		[ -c /dev/fuse ] || t_skip "no /dev/fuse"
		fs_need fusermount3 fuse3
		[ -x "$BEEMOFS" ] || t_fail "$BEEMOFS not built"
		MNT=$T/mnt
		t_appliance
	fi
	[ -x "$SYSCALLS" ] || t_fail "$SYSCALLS not built"
}

# fs_ext4: true in ext4 (FS_TEST_DIR) mode.
fs_ext4() { [ -n "$FS_BASE" ]; }

# fs_has_snapshots: true when snapshot checks apply.
fs_has_snapshots() {
	! fs_ext4 || [ "${FS_TEST_SNAPSHOTS:-0}" = 1 ]
}

fs_mount() {
	if ! fs_ext4; then
		t_mount "$MNT"
		return
	fi
	if [ "${FS_TEST_SNAPSHOTS:-0}" = 1 ]; then
		mkdir -p "$MNT/.snapshots"
		mount --bind -o ro "$FS_SNAPSTORE" "$MNT/.snapshots" ||
			t_fail "bind mount of emulated snapshots"
	fi
}

# fs_history: make the snapshots browsable under $SNAPS: in beemofs
# mode, mount a restore session of pc1 with alice's password at
# $T/history unless it is mounted.  Call it in the test's shell, not in
# a $(...) subshell, which would lose track of the mount.
fs_history() {
	if fs_ext4; then
		SNAPS=$MNT/.snapshots
		return
	fi
	SNAPS=$T/history/.snapshots
	mountpoint -q "$T/history" ||
		t_mount_session "$T/history" \
			"machine=pc1,user=alice,passfile=$T/alice.pw"
}

# fs_umount: end the session; beemofs takes a snapshot.  The restore
# session of fs_history ends first: the next one sees the new snapshot.
fs_umount() {
	local id e
	if ! fs_ext4; then
		if mountpoint -q "$T/history"; then
			t_umount "$T/history"
		fi
		t_umount "$MNT"
		return
	fi
	sync
	if [ "${FS_TEST_SNAPSHOTS:-0}" = 1 ]; then
		umount "$MNT/.snapshots" || t_fail "umount emulated snapshots"
		id=$(date +%s%N)
		mkdir "$FS_SNAPSTORE/$id"
		for e in "$MNT"/* "$MNT"/.[!.]*; do
			[ -e "$e" ] || [ -L "$e" ] || continue
			[ "$e" = "$MNT/.snapshots" ] && continue
			cp -a "$e" "$FS_SNAPSTORE/$id/" ||
				t_fail "emulated snapshot copy of $e"
		done
	fi
}

fs_remount() {
	fs_umount
	fs_mount
}

# fs_run SECONDS DESCRIPTION CMD...: run CMD with a time limit; fail
# with DESCRIPTION on timeout or non-zero exit, showing its output.
fs_run() {
	local secs=$1 what=$2 rc=0 out
	shift 2
	out="$T/run.$(date +%s%N).out"
	timeout -k 10 "$secs" "$@" >"$out" 2>&1 || rc=$?
	if [ $rc = 124 ] || [ $rc = 137 ]; then
		tail -n 20 "$out" >&2
		t_fail "$what: timed out after $secs s"
	fi
	if [ $rc != 0 ]; then
		tail -n 40 "$out" >&2
		t_fail "$what: exit status $rc"
	fi
	cat "$out"
	rm -f "$out"
}

# fs_snapshot_ids: the snapshot ids now listed in $SNAPS (fs_history
# first).
fs_snapshot_ids() {
	[ -d "$SNAPS" ] || return 0
	find "$SNAPS" -mindepth 1 -maxdepth 1 -printf '%P\n' | sort
}

# fs_new_snapshot BEFORE: the one snapshot id listed now in $SNAPS
# (fs_history first) and not in the file BEFORE (an earlier
# fs_snapshot_ids); fails unless exactly one.
fs_new_snapshot() {
	local now
	now=$(fs_snapshot_ids | comm -13 "$1" -)
	[ -n "$now" ] || t_fail "no new snapshot in $SNAPS"
	[ "$(printf '%s\n' "$now" | wc -l)" = 1 ] ||
		t_fail "several new snapshots in $SNAPS: $now"
	[ -d "$SNAPS/$now" ] ||
		t_fail "snapshot $now is not a directory"
	printf '%s\n' "$now"
}

# fs_manifest DIR OUT: describe the tree DIR in file OUT, one line per
# property: "PATH<TAB>FIELD<TAB>VALUE", PATH relative ("." is DIR itself)
# and shell-quoted, in byte order of the paths (fs_manifest.py).  Fields: type, mode, uid,
# gid, mtime (ns), and as they apply nlink, link (the first path of the
# tree with the same inode: hard-link groups), size, sha256, target
# (symlinks), rdev, xattr (all names and hex values except ACLs), acl
# (in getfacl -n's notation).  Directory sizes and link counts are left out: they
# depend on the filesystem's layout.
fs_manifest() {
	python3 "$(dirname "${BASH_SOURCE[0]}")/fs_manifest.py" "$1" "$2" ||
		t_fail "manifest of $1"
}

# fs_compare EXPECTED DIR WHAT: compare the tree DIR with the manifest
# EXPECTED (from fs_manifest); fail naming the first differing path and
# property.  WHAT names DIR in messages.
fs_compare() {
	local exp=$1 dir=$2 what=$3 got diff
	got="$T/manifest.$(date +%s%N)"
	[ -d "$dir" ] || t_fail "$what: $dir is not a directory"
	fs_manifest "$dir" "$got"
	diff=$(awk -F '\t' -v what="$what" '
		function short(s) {
			return length(s) > 160 ? substr(s, 1, 160) "..." : s
		}
		FNR == NR { k = $1 FS $2; e[k] = $3; order[++n] = k; next }
		{ k = $1 FS $2; g[k] = $3; gorder[++m] = k }
		END {
			bad = 0
			for (i = 1; i <= n; i++) {
				k = order[i]
				split(k, kf, FS)
				if (kf[1] in gone)
					continue
				if (!(k in g)) {
					if (kf[2] == "type") {
						msg = "missing"
						gone[kf[1]] = 1
					} else
						msg = kf[2] " missing " \
						    "(expected " short(e[k]) ")"
				} else if (g[k] "" != e[k] "") {
					# ("" forces a string comparison:
					# awk would compare times as floats)
					msg = kf[2] ": expected " short(e[k]) \
					    ", got " short(g[k])
				} else
					continue
				if (bad++ < 10)
					print what ": " kf[1] ": " msg
			}
			for (i = 1; i <= m; i++) {
				k = gorder[i]
				if (k in e)
					continue
				split(k, kf, FS)
				if (kf[1] in extra)
					continue
				if (kf[2] == "type")
					extra[kf[1]] = 1
				if (bad++ < 10)
					print what ": " kf[1] \
					    ": unexpected " (kf[2] == "type" ? \
					    "entry" : kf[2]) " " short(g[k])
			}
			if (bad > 10)
				print what ": ... " bad " differences in all"
			exit bad > 0
		}' "$exp" "$got") || {
		printf '%s\n' "$diff" >&2
		t_fail "differs from the source: $(printf '%s\n' "$diff" |
			head -n 1)"
	}
	rm -f "$got"
}

# fs_readonly PATH...: every modification of each PATH (in a snapshot)
# must fail with EROFS, EPERM or EACCES and change nothing.
fs_readonly() {
	local out
	out=$("$SYSCALLS" --readonly "$@" 2>&1) || {
		printf '%s\n' "$out" >&2
		t_fail "snapshot is not read-only: $(printf '%s\n' "$out" |
			grep FAIL | head -n 1)"
	}
}
