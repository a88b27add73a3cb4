#!/usr/bin/env python3
"""scand_cost.py -- the scan time per file through beemo-scand, for the
benchmark bench_av.sh (not part of Beemo).

    scand_cost.py SOCKET LISTFILE [--key]

Each file of LISTFILE (one path a line) is read once before the timing,
then sent as a sealed memfd (beemo-scand(8), PROTOCOL) on one connection,
the way a beemofs session sends it.  Without --key the requests carry no
key (no cache: every file is scanned); with --key each file's SHA-256 is
its key and an ASK goes first, as beemofs does (a second run measures
cache hits).  Prints one JSON object: files, median_us, mean_us, virus.
"""
import fcntl
import hashlib
import json
import os
import socket
import struct
import sys
import time

REQ = struct.Struct(">4sBB2sQ32s")
REP = struct.Struct(">4sBB2sIIQQ128s")
SEALS = fcntl.F_SEAL_WRITE | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW


def recv_all(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise EOFError("connection closed")
        b += c
    return b


def ask(s, op, size, key, fd=None):
    req = REQ.pack(b"BMSQ", 1, op, b"\0\0", size, key)
    if fd is None:
        s.sendall(req)
    else:
        socket.send_fds(s, [req], [fd])
    return REP.unpack(recv_all(s, REP.size))


def main():
    sock, listfile = sys.argv[1], sys.argv[2]
    use_key = "--key" in sys.argv[3:]
    paths = [p for p in open(listfile).read().splitlines() if p]
    data = []
    for p in paths:
        try:
            data.append(open(p, "rb").read())
        except OSError:
            pass
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock)
    times, virus = [], 0
    for d in data:
        key = hashlib.sha256(d).digest() if use_key else bytes(32)
        t0 = time.perf_counter()
        rep = None
        if use_key:
            rep = ask(s, 1, len(d), key)
            if rep[2] == 3:
                rep = None
        if rep is None:
            fd = os.memfd_create("scan", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
            os.write(fd, d)
            fcntl.fcntl(fd, fcntl.F_ADD_SEALS, SEALS)
            rep = ask(s, 2, len(d), key, fd)
            os.close(fd)
        times.append(time.perf_counter() - t0)
        if rep[2] == 1:
            virus += 1
        elif rep[2] != 0:
            raise SystemExit("scan error %d" % rep[4])
    times.sort()
    n = len(times)
    print(json.dumps({"files": n,
                      "median_us": times[n // 2] * 1e6 if n else 0,
                      "mean_us": sum(times) / n * 1e6 if n else 0,
                      "virus": virus}))


main()
