#!/bin/bash
# attack_scand_proto.sh -- beemo-scand attacked on its socket and
# through its cache:
#   - two machines writing the same content do not share a cache entry
#     (content keys are per-machine MACs): the second machine's file is
#     scanned, not a hit that would tell it the first one has it;
#   - a local user other than root (socket made reachable on purpose)
#     gets no answer;
#   - a scan request without a descriptor, with an unsealed memfd, a
#     sealed one of another size, a huge sparse one, a file on disk, a
#     pipe: an error reply or the connection closed, never a verdict;
#   - descriptors sent in bulk, garbage frames, hundreds of connections:
#     no descriptor leaks, and the service still serves a session (an
#     infected file refused) afterwards.
# Fails when an attack succeeds.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/scand_lib.sh"

scand_config shared
t_appliance
scand_machine2
t_expect_log "error: /[^:]*: virus Beemo\.Test\.EICAR[^ ]* found: \
file not backed up$"
t_expect_log "warning: connection refused: uid 65534 "
t_expect_log "warning: a client spoke another protocol: connection closed"
t_expect_log "warning: too many connections: one refused"
TEXT="content of both machines: $RANDOM$RANDOM"

scand_start
scand_mount "$MNT1" pc1
scand_put "$MNT1/same.txt" "$TEXT"
scand_snapshot pc1
HITS=$(scand_stat cache_hits)
SCANS=$(scand_stat scans)
scand_mount "$MNT2" pc2
scand_put "$MNT2/same.txt" "$TEXT"
scand_snapshot pc2
scand_kept pc2 same.txt || t_fail "pc2's same.txt not kept"
[ "$(scand_stat cache_hits)" = "$HITS" ] ||
	t_fail "pc2's content was a cache hit of pc1's: cache_hits $HITS ->" \
		"$(scand_stat cache_hits)"
[ "$(scand_stat scans)" -gt "$SCANS" ] ||
	t_fail "pc2's content was not scanned"
t_umount "$MNT2"

cat >"$T/client.py" <<'PY'
"""Hostile clients of beemo-scand: client.py SOCKET TEST."""
import fcntl, os, socket, struct, sys

SOCK, TEST = sys.argv[1], sys.argv[2]
EICAR = open(sys.argv[3], "rb").read() if len(sys.argv) > 3 else b""

def req(op, size=0, key=b"\0" * 32):
    return b"BMSQ" + bytes([1, op, 0, 0]) + struct.pack(">Q", size) + key

def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(20)
    s.connect(SOCK)
    return s

def recv_rep(s):
    b = b""
    while len(b) < 160:
        x = s.recv(160 - len(b))
        if not x:
            return None  # closed
        b += x
    assert b[:4] == b"BMSA", b[:4]
    return b[5], struct.unpack(">I", b[8:12])[0], b[32:160].rstrip(b"\0")

def sealed(data, size=None):
    fd = os.memfd_create("x", os.MFD_ALLOW_SEALING)
    os.write(fd, data)
    if size is not None:
        os.ftruncate(fd, size)
    fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_WRITE |
                fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_SEAL)
    return fd

def scan_with(fd, size, key=os.urandom(32)):
    s = conn()
    socket.send_fds(s, [req(2, size, key)], [fd] if fd is not None else [])
    r = recv_rep(s)
    s.close()
    return r

def verdict_none(what, r):
    # An error reply (status 2) or the connection closed; never a verdict.
    if r is not None and r[0] != 2:
        print(f"FAIL: {what}: reply status {r[0]} {r[2]!r}")
        return 1
    print(f"ok: {what}: {'closed' if r is None else 'error %d' % r[1]}")
    return 0

bad = 0
if TEST == "status":
    try:
        s = conn()
        s.sendall(req(3))
        r = recv_rep(s)
    except ConnectionError:
        r = None
    print("answered" if r is not None else "closed")
elif TEST == "fds":
    print(len(os.listdir(f"/proc/{sys.argv[3]}/fd")))
elif TEST == "bad":
    bad += verdict_none("no descriptor", scan_with(None, len(EICAR)))
    fd = os.memfd_create("x", os.MFD_ALLOW_SEALING)
    os.write(fd, EICAR)
    bad += verdict_none("unsealed memfd", scan_with(fd, len(EICAR)))
    os.close(fd)
    fd = sealed(EICAR)
    bad += verdict_none("wrong size", scan_with(fd, len(EICAR) - 3))
    bad += verdict_none("size 2^63", scan_with(fd, 1 << 63))
    os.close(fd)
    fd = sealed(EICAR, 64 << 30)
    bad += verdict_none("64 GiB sparse memfd", scan_with(fd, 64 << 30))
    os.close(fd)
    path = os.path.join(os.path.dirname(SOCK), "ondisk.com")
    open(path, "wb").write(EICAR)
    fd = os.open(path, os.O_RDONLY)
    bad += verdict_none("file on disk", scan_with(fd, len(EICAR)))
    os.close(fd)
    r, w = os.pipe()
    os.write(w, EICAR)
    bad += verdict_none("pipe", scan_with(r, len(EICAR)))
    os.close(r); os.close(w)
    # A well-formed request is answered (the attacks above can fail).
    fd = sealed(EICAR)
    r = scan_with(fd, len(EICAR))
    os.close(fd)
    if r is None or r[0] != 1:
        print(f"FAIL: a sealed memfd of EICAR: {r}")
        bad += 1
    # Descriptors in bulk: four per frame, on ASK and on SCAN.
    fds = [sealed(b"x") for _ in range(4)]
    s = conn()
    for i in range(100):
        socket.send_fds(s, [req(1, 1, os.urandom(32))], fds)
        if recv_rep(s) is None:
            print("FAIL: closed on an ASK with descriptors")
            bad += 1
            break
    s.close()
    # Garbage frames.
    for g in (b"\0" * 48, b"BMSQ" + b"\xff" * 44, os.urandom(4096)):
        s = conn()
        s.sendall(g)
        try:
            r = recv_rep(s)
        except (ConnectionError, AssertionError):
            r = None
        if r is not None and g[:4] != b"BMSQ":
            print(f"FAIL: garbage answered: {r}")
            bad += 1
        s.close()
elif TEST == "many":
    socks = []
    for i in range(400):
        try:
            socks.append(conn())
        except OSError as e:
            print(f"connect {i}: {e}")
            break
    for s in socks:
        s.close()
    print(f"opened {len(socks)}")
sys.exit(1 if bad else 0)
PY

printf '%s' "$T_EICAR" >"$T/eicar.com"
FD0=$(ls "/proc/$SCAND_PID/fd" | wc -l)
python3 "$T/client.py" "$SCAND_SOCK" bad "$T/eicar.com" >"$T/bad.out" 2>&1 ||
	t_fail "hostile requests: $(grep -v '^ok' "$T/bad.out")"
python3 "$T/client.py" "$SCAND_SOCK" many >"$T/many.out" 2>&1 ||
	t_fail "many connections: $(cat "$T/many.out")"
t_log "$(tr '\n' ' ' <"$T/bad.out") $(cat "$T/many.out")"
# The connection threads end once their peers are gone; their
# descriptors are closed at the next connection (a status here).
t_wait_for 10 eval '"$BEEMO_SCAND" --status >/dev/null &&
	[ "$(ls "/proc/$SCAND_PID/fd" | wc -l)" -le $((FD0 + 2)) ]' ||
	t_fail "beemo-scand holds $(ls "/proc/$SCAND_PID/fd" | wc -l)" \
		"descriptors, $FD0 before the attacks"

# Another local user, the socket reachable on purpose: no answer.
chmod 0711 "$T"
chmod 0666 "$SCAND_SOCK"
res=$(setpriv --reuid=65534 --regid=65534 --clear-groups \
	/usr/bin/python3 "$T/client.py" "$SCAND_SOCK" status 2>&1) || true
chmod 0600 "$SCAND_SOCK"
chmod 0700 "$T"
[ "$res" = closed ] || t_fail "uid 65534 asked the service: $res"

# The service still serves the session.
t_running "$SCAND_PID" || t_fail "beemo-scand died: $(tail -5 "$T/scand.log")"
t_put_virus "$T/eicar.com" "$MNT1/late.com" ||
	t_fail "an infected file was kept after the attacks"
scand_put "$MNT1/late.txt" "clean, after the attacks"
scand_snapshot pc1
scand_kept pc1 late.txt || t_fail "a clean file was not kept after the attacks"
t_umount "$MNT1"
t_log "ok: every attack on beemo-scand failed"
