#!/bin/bash
# attack_cq_crash.sh -- kill -9 of beemofs at random moments while a
# client writes the rsync way (a temporary file written, closed, renamed
# over the real name; the commits of closed files queued in the
# background), with infected temporary files renamed over names of
# their own, and now and then an fsync of the file and of its directory.
# After each crash and remount:
#   - every name f0..f(N-1) holds one whole version written (never
#     empty, never absent, never a mix): a rename is committed only with
#     the file closed before it;
#   - a version whose fsync (file and directory) returned is not lost:
#     the name holds it or a later one;
#   - names v0..v(N-1) are absent or hold their clean version: infected
#     content is never there, nor an empty file;
#   - `beemoctl scan` finds nothing infected stored.
# Fails when the attack succeeds.
. "$(dirname "$0")/lib.sh"

ROUNDS=${ATTACK_CQ_CRASH_ROUNDS:-6}
MNT="$T/mnt"
N=8
t_appliance
t_expect_log "error: /[^:]*: virus Beemo\.Test\.EICAR[^ ]* found: \
file not backed up$"
printf '%s' "$T_EICAR" >"$T/eicar.com"
cat >"$T/crash.py" <<'PY'
"""crash.py write MNT N EICAR DURABLE ROUND | crash.py verify MNT N DURABLE"""
import os, re, sys

def version(path):
    """The version number of a whole file, or raise."""
    data = open(path, "rb").read()
    lines = data.split(b"\n")
    if not data or lines[-1] != b"" or len(set(lines[:-1])) != 1:
        raise ValueError("%d bytes, not one whole version" % len(data))
    m = re.fullmatch(rb"(old|new) (\d+) [a-z0-9 ]*", lines[0])
    if not m or len(lines) != 401:
        raise ValueError("not a version: %r" % lines[0][:40])
    return int(m.group(2))

def content(seq, name):
    return (b"new %d %s\n" % (seq, name.encode())) * 400

if sys.argv[1] == "write":
    mnt, n, eicar, durf, rnd = sys.argv[2], int(sys.argv[3]), \
        sys.argv[4], sys.argv[5], int(sys.argv[6])
    virus = open(eicar, "rb").read()
    dur = open(durf, "a")
    dfd = os.open(mnt, os.O_RDONLY)
    seq = rnd * 100000
    while True:
        seq += 1
        i = seq % n
        name = "f%d" % i
        tmp = os.path.join(mnt, ".%s.%d" % (name, seq))
        sync = seq % 7 == 0
        with open(tmp, "wb") as f:
            f.write(content(seq, name))
            if sync:
                f.flush()
                os.fsync(f.fileno())
        os.rename(tmp, os.path.join(mnt, name))
        if sync:
            os.fsync(dfd)
            dur.write("%s %d\n" % (name, seq))
            dur.flush()
        if seq % 3 == 0:
            tmp = os.path.join(mnt, ".v%d.%d" % (i, seq))
            with open(tmp, "wb") as f:
                f.write(virus)
            try:
                os.rename(tmp, os.path.join(mnt, "v%d" % i))
            except FileNotFoundError:
                pass
else:
    mnt, n, durf = sys.argv[2], int(sys.argv[3]), sys.argv[4]
    need = {}
    for line in open(durf):
        name, seq = line.split()
        need[name] = max(need.get(name, 0), int(seq))
    bad, seen = [], []
    for i in range(n):
        p = os.path.join(mnt, "f%d" % i)
        try:
            v = version(p)
        except (OSError, ValueError) as e:
            bad.append("f%d: %s" % (i, e))
            continue
        seen.append(v)
        if v < need.get("f%d" % i, 0):
            bad.append("f%d: version %d, but %d was fsynced" %
                       (i, v, need["f%d" % i]))
        p = os.path.join(mnt, "v%d" % i)
        if os.path.exists(p) and open(p, "rb").read() != b"clean v%d\n" % i:
            bad.append("v%d: %d bytes, not its clean version" %
                       (i, os.path.getsize(p)))
    for e in os.listdir(mnt):
        p = os.path.join(mnt, e)
        if e.startswith(".") and os.path.isfile(p) and \
                b"EICAR" in open(p, "rb").read():
            bad.append("%s: infected content" % e)
    print("\n".join(bad) if bad else "versions %s, %d fsynced" %
          (seen, len(need)))
    sys.exit(1 if bad else 0)
PY
: >"$T/durable"

t_mount "$MNT"
for i in $(seq 0 $((N - 1))); do
	python3 -c 'import sys; open(sys.argv[1], "w").write(
	    ("old 0 f%s\n" % sys.argv[2]) * 400)' "$MNT/f$i" "$i"
	printf 'clean v%s\n' "$i" >"$MNT/v$i"
done
t_settle "$MNT"
for r in $(seq 1 "$ROUNDS"); do
	python3 "$T/crash.py" write "$MNT" "$N" "$T/eicar.com" \
		"$T/durable" "$r" >"$T/writer.out" 2>&1 &
	W=$!
	sleep "$((RANDOM % 2)).$((RANDOM % 10))"
	t_log "round $r: crash"
	# The daemon first, then the writer, before the dead mount is
	# detached: detached, the mount point is a plain directory again and
	# the writer would go on there.
	kill -9 "${T_MOUNT_PID[$MNT]}"
	kill -9 "$W" 2>/dev/null || true
	wait "$W" 2>/dev/null || true
	t_crash "$MNT"
	t_log "round $r: mount"
	t_mount "$MNT"
	t_log "round $r: verify"
	python3 "$T/crash.py" verify "$MNT" "$N" "$T/durable" \
		>"$T/verify.out" 2>&1 ||
		t_fail "round $r, after the crash: $(cat "$T/verify.out")"
	t_log "round $r: every name at a version written: $(cat "$T/verify.out")"
done
t_umount "$MNT"
"$BEEMOCTL" scan pc1 --password-file "$T/admin.pw" >"$T/scan.out" 2>&1 ||
	t_fail "beemoctl scan found something stored: $(cat "$T/scan.out")"
t_log "ok: $ROUNDS crashes, every name old or new, nothing infected"
