#!/bin/bash
# attack_cq_storm.sh -- a client hammers files whose commits are queued:
# 8 threads close files (small ones by the thousand, some of 5 MiB that
# fill the queue's byte bound, some infected) and at once fsync,
# truncate, rename, link, unlink, chmod, setxattr, stat and read files
# closed a moment before.  Nothing may hang (every thread ends within
# the time given), the daemon's memory stays bounded (peak RSS under
# 400 MiB), and after the commits settle every file reads back as its
# last clean write (absent if it had none).
# Fails when the attack succeeds.
. "$(dirname "$0")/lib.sh"

MNT="$T/mnt"
t_appliance
t_expect_log "error: /[^:]*: virus Beemo\.Test\.EICAR[^ ]* found: \
file not backed up$"
printf '%s' "$T_EICAR" >"$T/eicar.com"
t_mount "$MNT"
PID=${T_MOUNT_PID[$MNT]}
cat >"$T/storm.py" <<'PY'
import os, random, sys, threading, time
mnt, secs, eicar = sys.argv[1], float(sys.argv[2]), open(sys.argv[3], "rb").read()
big = os.urandom(5 << 20)
errors, expect, lock = [], {}, threading.Lock()
end = time.time() + secs
def worker(w):
    rnd = random.Random(w)
    d = os.path.join(mnt, "w%d" % w)
    os.mkdir(d)
    n = 0
    while time.time() < end:
        n += 1
        name = os.path.join(d, "f%d" % (n % 40))
        r = rnd.random()
        if r < 0.03:
            data = big[n:] + big[:n]
        elif r < 0.08:
            data = eicar
        else:
            data = (b"w%d n%d\n" % (w, n)) * rnd.randint(1, 300)
        try:
            with open(name, "wb") as f:
                f.write(data)
            with lock:
                # A refused overwrite leaves the version before.
                expect[name] = data if data is not eicar else \
                    expect.get(name)
            op = rnd.randrange(9)
            other = os.path.join(d, "f%d" % rnd.randrange(40))
            if op == 0:
                fd = os.open(name, os.O_RDONLY)
                os.fsync(fd)
                os.close(fd)
            elif op == 1 and data is not eicar:
                os.truncate(name, len(data) // 2)
                with lock:
                    expect[name] = data[:len(data) // 2]
            elif op == 2:
                os.rename(name, other)
                with lock:
                    expect[other] = expect.pop(name)
            elif op == 3:
                os.chmod(name, 0o600)
            elif op == 4:
                os.setxattr(name, "user.k", b"v%d" % n)
            elif op == 5:
                os.stat(name)
            elif op == 6:
                open(name, "rb").read(100)
            elif op == 7:
                os.unlink(name)
                with lock:
                    expect.pop(name)
            elif op == 8:
                lk = name + ".lk"
                os.link(name, lk)
                os.unlink(lk)
        except FileNotFoundError:
            with lock:  # an infected file already removed
                expect.pop(name, None)
        except OSError as e:
            errors.append("%s: %s" % (name, e))
    return n
ts = [threading.Thread(target=worker, args=(w,)) for w in range(8)]
for t in ts: t.start()
for t in ts: t.join()
import json
json.dump({k: (None if v is None else v.hex()) for k, v in expect.items()},
          open(sys.argv[4], "w"))
print("errors:", len(errors), errors[:5])
PY
timeout -k 2 60 python3 "$T/storm.py" "$MNT" 8 "$T/eicar.com" \
	"$T/expect.json" >"$T/storm.out" 2>&1 ||
	t_fail "the storm did not end within 60 s (status $?):" \
		"$(tail -3 "$T/storm.out")"
t_log "storm: $(cat "$T/storm.out")"
grep -q "^errors: 0 " "$T/storm.out" ||
	t_fail "operations failed: $(cat "$T/storm.out")"
timeout -k 2 60 python3 -c 'import os, sys; fd = os.open(sys.argv[1],
os.O_RDONLY); os.fsync(fd)' "$MNT" || t_fail "settling took over 60 s"
HWM=$(awk '/^VmHWM:/ { print $2 }' "/proc/$PID/status")
t_log "beemofs peak RSS: $HWM kB"
[ "$HWM" -lt $((400 << 10)) ] ||
	t_fail "beemofs peak RSS $HWM kB during the storm"
# What the store kept, read through a new mount: a kernel that still
# holds a refused overwrite's inode open keeps the size it wrote (the
# writeback cache trusts its own) until the inode goes.
t_umount "$MNT"
t_mount "$MNT"
python3 - "$T/expect.json" <<'PY' >"$T/check.out" 2>&1 ||
import json, os, sys
bad = []
for name, hexdata in json.load(open(sys.argv[1])).items():
    if hexdata is None:
        if os.path.exists(name):
            bad.append("%s: infected, still there" % name)
        continue
    try:
        got = open(name, "rb").read()
    except OSError as e:
        bad.append("%s: %s" % (name, e))
        continue
    if got != bytes.fromhex(hexdata):
        bad.append("%s: %d bytes, not its last write (%d)" %
                   (name, len(got), len(hexdata) // 2))
print("\n".join(bad[:10]))
sys.exit(1 if bad else 0)
PY
	t_fail "after the storm: $(cat "$T/check.out")"
t_umount "$MNT"
"$BEEMOCTL" scan pc1 --password-file "$T/admin.pw" >"$T/scan.out" 2>&1 ||
	t_fail "beemoctl scan found something stored: $(cat "$T/scan.out")"
t_log "ok: nothing hung, memory bounded, every file as last written"
