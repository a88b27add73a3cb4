#!/bin/bash
# harden_tmpdir.sh -- a local user's planted directories and links in
# /dev/shm and /run never receive the antivirus's temporary files, and
# never make beemofs delete anything but its own private directory.
#
# Each round runs in new mount and PID namespaces, with a fresh tmpfs on
# /dev/shm (and on /run, or a plain directory there), so that PIDs are
# small and the farm covers every PID a session can get, and nothing
# planted is seen by other programs of this machine.  The farm, in both
# /dev/shm and /run: for every PID 1..3000 the names an attacker could
# predict (beemofs-scan-PID), half symbolic links to a victim directory,
# half directories of another user holding a canary file.  A session
# scans files (an archive whose member is a virus: libclamav unpacks it
# into its temporary directory) and is unmounted.  Then:
#   - the victim directory and every canary are untouched;
#   - during the session the scan directory was /run/beemo/scan-PID-*
#     (round A) or, with /run not in memory and /dev/shm/beemo planted
#     as a link to the victim, a fresh /dev/shm/beemo-XXXXXX (round B),
#     mode 0700, owned by root; it is gone after the unmount;
#   - a scan directory left by a dead session is removed (round A).
# Last, `beemoctl restore` refuses a target that another user planted in
# a world-writable sticky directory (as /tmp/back in /tmp), and restores
# into one it creates there itself.
. "$(dirname "$0")/lib.sh"

command -v unshare >/dev/null || t_skip "unshare (util-linux) missing"
unshare -m -p -f --mount-proc true 2>/dev/null ||
	t_skip "cannot create mount and PID namespaces"
t_appliance
t_expect_log "error: /[^:]*: virus Beemo\.Test\.Body[^ ]* found: \
file not backed up$"
t_expect_log "warning: /dev/shm/beemo is not a directory of uid 0 with \
mode 0700 \(planted by another user\?\): it is not used$"

mkdir -p "$T/victim/sub"
for i in 1 2 3; do echo "victim file $i" >"$T/victim/file$i"; done
echo "nested" >"$T/victim/sub/nested"
before=$(t_sums "$T/victim")
python3 - "$T" <<'PY'
import sys, zipfile
t = sys.argv[1]
with zipfile.ZipFile(f"{t}/body.zip", "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("readme.txt", "nothing to see\n" * 100)
    z.writestr("doc/body.txt", b"harmless text\n" * 50 +
               b"BEEMO-TEST-VIRUS-BODY\n")
PY
head -c 300000 /dev/urandom >"$T/random.bin"

cat >"$T/inner.sh" <<'INNER'
set -euo pipefail
round=$1
# fail: at once; bad: noted, the round goes on to the unmount, whose
# cleanup is what a planted link turns against the victim.
fail() { echo "round $round: $*" >&2; exit 1; }
nbad=0
bad() { echo "round $round: $*" >&2; nbad=$((nbad + 1)); }
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
if [ "$round" = A ]; then
	mount -t tmpfs -o mode=0755 tmpfs /run
	# What a session killed with -9 left behind.
	mkdir -m 0700 /run/beemo /run/beemo/scan-999999-AbCdEf
	echo "plaintext member" >/run/beemo/scan-999999-AbCdEf/member
else
	mkdir -p "$T/fakerun"
	mount --bind "$T/fakerun" /run
	ln -s "$T/victim" /dev/shm/beemo
fi
python3 - "$T" <<'PY'
import os, sys
t = sys.argv[1]
for base in ("/dev/shm", "/run"):
    for pid in range(1, 3001):
        p = f"{base}/beemofs-scan-{pid}"
        if pid % 2:
            os.symlink(f"{t}/victim", p)
        else:
            os.mkdir(p, 0o777)
            with open(f"{p}/canary", "w") as f:
                f.write("canary\n")
            os.chown(f"{p}/canary", 65534, 65534)
            os.chown(p, 65534, 65534)
            os.chmod(p, 0o777)
PY
mkdir -p "$T/mnt"
"$BEEMOFS" "$T/store" "$T/mnt" -f -o machine=pc1,keyfile="$T/pc1.poste" \
	>>"$T/beemofs.log" 2>&1 &
pid=$!
for _ in $(seq 200); do
	mountpoint -q "$T/mnt" && break
	kill -0 $pid 2>/dev/null || fail "beemofs exited"
	sleep 0.05
done
mountpoint -q "$T/mnt" || fail "not mounted"
cp "$T/random.bin" "$T/mnt/random-$round.bin"
# Refused once scanned, after close(): sync waits for it.
cp "$T/body.zip" "$T/mnt/body-$round.zip" 2>/dev/null || true
sync "$T/mnt"
for _ in $(seq 50); do [ -e "$T/mnt/body-$round.zip" ] || break; sleep 0.1; done
[ ! -e "$T/mnt/body-$round.zip" ] ||
	fail "the archive with a virus was accepted: no scan ran"
cmp "$T/random.bin" "$T/mnt/random-$round.bin" || fail "copy differs"
if [ "$round" = A ]; then
	[ ! -e /run/beemo/scan-999999-AbCdEf ] ||
		bad "the dead session's scan directory is still there"
	dirs=(/run/beemo/scan-$pid-*)
	parent=/run/beemo
else
	dirs=(/dev/shm/beemo-??????/scan-$pid-*)
	parent=$(dirname "${dirs[0]}")
fi
if [ ${#dirs[@]} = 1 ] && [ -d "${dirs[0]}" ] && [ ! -L "${dirs[0]}" ]
then
	for d in "$parent" "${dirs[0]}"; do
		[ "$(stat -c %a:%u "$d")" = 700:0 ] ||
			bad "$d: mode, owner $(stat -c %a:%u "$d"), not 700:0"
	done
else
	bad "no private scan directory: ${dirs[*]}"
fi
fusermount3 -u "$T/mnt"
wait $pid || bad "beemofs exited with $?"
[ ! -e "${dirs[0]}" ] || bad "${dirs[0]} not removed at unmount"
if [ "$round" = A ]; then
	[ -z "$(ls -A /run/beemo 2>&1)" ] ||
		bad "left in /run/beemo: $(ls -A /run/beemo 2>&1)"
else
	[ ! -e "$parent" ] || bad "$parent not removed at unmount"
	[ "$(readlink /dev/shm/beemo)" = "$T/victim" ] ||
		bad "the planted link /dev/shm/beemo was changed"
fi
for base in /dev/shm /run; do
	n=$(find "$base" -maxdepth 2 -path "$base/beemofs-scan-*/canary" |
		wc -l)
	[ "$n" = 1500 ] || bad "$base: $n canaries of 1500 left"
	n=$(find "$base" -maxdepth 2 -path "$base/beemofs-scan-*/*" | wc -l)
	[ "$n" = 1500 ] || bad "$base: $n files in planted directories"
	n=$(find "$base" -maxdepth 1 -name 'beemofs-scan-*' -type l | wc -l)
	[ "$n" = 1500 ] || bad "$base: $n planted links of 1500 left"
done
[ $nbad = 0 ] || exit 1
echo "round $round: ok (beemofs pid $pid, scan directory ${dirs[0]})"
INNER

export T BEEMOFS
for round in A B; do
	ok=1
	timeout 60 unshare -m -p -f --mount-proc bash "$T/inner.sh" $round \
		>"$T/round-$round.out" 2>&1 || ok=0
	[ "$(t_sums "$T/victim")" = "$before" ] ||
		echo "round $round: the victim directory changed:" \
		"$(ls -AR "$T/victim" | tr '\n' ' ')" >>"$T/round-$round.out"
	[ -z "$(find "$T/victim" -newer "$T/body.zip" -o -type l)" ] ||
		echo "round $round: new entries in the victim directory" \
		>>"$T/round-$round.out"
	grep -q "^round $round: ok" "$T/round-$round.out" &&
		[ "$(t_sums "$T/victim")" = "$before" ] || ok=0
	[ $ok = 1 ] || t_fail "$(cat "$T/round-$round.out")"
	t_log "$(tail -n 1 "$T/round-$round.out")"
done

# --- a restore target planted in a shared directory ------------------------
SHARED=$T/shared
mkdir -p "$SHARED"
chmod 1777 "$SHARED"
chmod 0755 "$T"
mkdir "$SHARED/back"
chown 65534:65534 "$SHARED/back"
restore() {
	"$BEEMOCTL" restore pc1 latest / --target "$1" --user alice \
		--password-file "$T/alice.pw"
}
if restore "$SHARED/back" >"$T/restore.out" 2>&1; then
	t_fail "restore into another user's directory succeeded"
fi
grep -q "not a safe restore target: $SHARED/back belongs to uid 65534" \
	"$T/restore.out" || t_fail "restore: $(cat "$T/restore.out")"
[ -z "$(ls -A "$SHARED/back")" ] || t_fail "files restored into the plant"
ln -s "$T/victim" "$SHARED/link"
chown -h 65534:65534 "$SHARED/link"
if restore "$SHARED/link" >"$T/restore.out" 2>&1; then
	t_fail "restore through another user's link succeeded"
fi
[ "$(t_sums "$T/victim")" = "$before" ] || t_fail "the victim changed"
restore "$SHARED/mine" >"$T/restore.out" 2>&1 ||
	t_fail "restore into a new directory: $(cat "$T/restore.out")"
cmp "$T/random.bin" "$SHARED/mine/random-A.bin" ||
	t_fail "the control restore is not byte-exact"
t_log "ok"
