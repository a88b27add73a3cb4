#!/usr/bin/env python3
"""gen_files.py -- write COUNT small files (1 to 8 KiB) under ROOT, for the
benchmarks of many files (bench_million.sh, bench_sessions.sh), timing
itself.

    gen_files.py ROOT COUNT [--flat K] [--seed N] [--pid PID] [--log FILE]

The first COUNT - K files go to a deep tree, ROOT/deep/L1/L2/L3/fNNNNNNN,
100 files per leaf directory and 100 directories per level; the last K
(default 0) to ONE directory, ROOT/flat.  Half the files are text-like
(compressible, each one different), half random bytes; sizes are drawn
from a generator seeded with --seed (default 1), and the text carries the
seed, so that two seeds give two corpora with nothing in common.

At each tenth of COUNT, one JSON line goes to --log (default stderr):
{"tenth": T, "files": N, "elapsed_s": S, "rate": files/s during this
tenth, "layout": "deep"|"flat"|"deep+flat", "rss_kb": ..., "hwm_kb": ...,
"anon_kb": ..., "file_kb": ...} where rss_kb, hwm_kb, anon_kb and
file_kb are VmRSS, VmHWM, RssAnon and RssFile of process --pid (the
beemofs daemon writing them), if given.  Exit status 0, or 1 when a
write fails (the error on stderr).
"""
import argparse
import json
import os
import random
import sys
import time


def mem(pid):
    out = {}
    if pid is None:
        return out
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            name = {"VmRSS": "rss_kb", "VmHWM": "hwm_kb",
                    "RssAnon": "anon_kb", "RssFile": "file_kb"}.get(k)
            if name:
                out[name] = int(v.split()[0])
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("root")
    ap.add_argument("count", type=int)
    ap.add_argument("--flat", type=int, default=0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--pid", type=int)
    ap.add_argument("--log")
    a = ap.parse_args()
    log = open(a.log, "a") if a.log else sys.stderr
    rng = random.Random(a.seed)
    ndeep = a.count - min(a.flat, a.count)
    tenth = max(1, a.count // 10)
    noise = os.urandom(1 << 16)
    made = set()
    t0 = last = time.monotonic()
    first = 0
    for i in range(a.count):
        if i < ndeep:
            leaf = i // 100
            d = os.path.join(a.root, "deep", "%02d" % (leaf // 10000),
                             "%02d" % (leaf // 100 % 100), "%02d" % (leaf % 100))
        else:
            d = os.path.join(a.root, "flat")
        if d not in made:
            os.makedirs(d, exist_ok=True)
            made.add(d)
        size = rng.randint(1024, 8192)
        if i % 2:
            data = os.urandom(size)
        else:
            line = b"seed %d file %d line " % (a.seed, i)
            off = rng.randrange(len(noise) - 64)
            data = (line + noise[off:off + 16].hex().encode() + b"\n") * \
                (size // 40 + 1)
            data = data[:size]
        with open(os.path.join(d, "f%07d" % i), "wb") as f:
            f.write(data)
        n = i + 1
        if n % tenth == 0 or n == a.count:
            now = time.monotonic()
            lo, hi = first, n
            lay = "deep" if hi <= ndeep else "flat" if lo >= ndeep else "deep+flat"
            rec = {"tenth": (n + tenth - 1) // tenth, "files": n,
                   "elapsed_s": round(now - t0, 3),
                   "rate": round((hi - lo) / max(now - last, 1e-9), 1),
                   "layout": lay}
            rec.update(mem(a.pid))
            print(json.dumps(rec), file=log, flush=True)
            last, first = now, n
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except OSError as e:
        print("gen_files.py: %s" % e, file=sys.stderr)
        sys.exit(1)
