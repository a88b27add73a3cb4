#!/usr/bin/env python3
"""gen_sigs.py -- a synthetic ClamAV signature set of the real database's
size and shape, for benchmarks (never for protection: every signature is
random and matches nothing real).

    gen_sigs.py DIR [--scale F] [--seed N]

Writes into DIR, at --scale 1 (the default):
  synth.hdb   2,000,000 MD5 hash signatures      (md5:size:name)
  synth.hsb     300,000 SHA-256 hash signatures  (sha256:size:name)
  synth.ndb     200,000 body signatures; 30 % carry wildcards (??, *,
                {n-m}, (aa|bb)), on file types in the real database's
                proportions (TARGETS), at offset * or EP+n
  synth.ldb      20,000 logical signatures of 2 to 4 subsignatures
                joined by & and |, some with counts (=1, >1), on the
                same file types
which is the order of magnitude of ClamAV's main + daily databases (some
8 million signatures, of which most are hash signatures).  --scale 0.01
makes a set a hundred times smaller for quick runs.  The same --seed
gives the same files.
"""
import argparse
import os
import random

HEX = "0123456789abcdef"
# File types (ClamAV's target numbers) in about the proportions of the
# real database, where most body and logical signatures aim at Windows
# executables: 1 PE, 2 OLE2, 3 HTML, 4 mail, 5 graphics, 6 ELF, 7 ASCII,
# 9 Mach-O, 10 PDF, 0 any file.  The share of "any" matters most: every
# logical signature of a file's type or of type 0 is evaluated for every
# file scanned (measured: 20,000 of type 0 cost 40 ms per file).
TARGETS = [1] * 60 + [2] * 5 + [3] * 10 + [4] * 3 + [5] * 2 + [6] * 3 + \
    [7] * 5 + [9] * 2 + [10] * 5 + [0] * 5


def rhex(rng, n):
    return "".join(rng.choice(HEX) for _ in range(2 * n))


def body(rng, wild):
    """A hex body signature of 12 to 40 bytes, with wildcards if @wild."""
    parts = [rhex(rng, rng.randint(6, 16))]
    if wild:
        for _ in range(rng.randint(1, 3)):
            kind = rng.randrange(4)
            if kind == 0:
                parts.append("??" * rng.randint(1, 4))
            elif kind == 1:
                parts.append("*")
            elif kind == 2:
                lo = rng.randint(0, 8)
                parts.append("{%d-%d}" % (lo, lo + rng.randint(1, 32)))
            else:
                parts.append("(%s|%s)" % (rhex(rng, 1), rhex(rng, 1)))
            parts.append(rhex(rng, rng.randint(4, 12)))
    return "".join(parts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    n = lambda base: max(1, int(base * a.scale))
    os.makedirs(a.dir, exist_ok=True)
    with open(os.path.join(a.dir, "synth.hdb"), "w") as f:
        for i in range(n(2_000_000)):
            f.write("%032x:%d:Synth.Hash.MD5-%d\n" %
                    (rng.getrandbits(128), rng.randint(1000, 4_000_000), i))
    with open(os.path.join(a.dir, "synth.hsb"), "w") as f:
        for i in range(n(300_000)):
            f.write("%064x:%d:Synth.Hash.SHA256-%d\n" %
                    (rng.getrandbits(256), rng.randint(1000, 4_000_000), i))
    with open(os.path.join(a.dir, "synth.ndb"), "w") as f:
        for i in range(n(200_000)):
            target = rng.choice(TARGETS)
            off = "*" if target != 1 or rng.random() < 0.5 else \
                "EP+%d" % rng.randint(0, 64)
            f.write("Synth.Body-%d:%d:%s:%s\n" %
                    (i, target, off, body(rng, rng.random() < 0.3)))
    with open(os.path.join(a.dir, "synth.ldb"), "w") as f:
        for i in range(n(20_000)):
            k = rng.randint(2, 4)
            ops = [rng.choice("&|") for _ in range(k - 1)]
            expr = "0"
            for j in range(1, k):
                expr = "(%s%s%d)" % (expr, ops[j - 1], j)
            if rng.random() < 0.2:
                expr = "%s>1" % expr if rng.random() < 0.5 else \
                    "%s=1" % expr
            subs = [body(rng, rng.random() < 0.3) for _ in range(k)]
            f.write("Synth.Logical-%d;Engine:51-255,Target:%d;%s;%s\n" %
                    (i, rng.choice(TARGETS), expr, ";".join(subs)))


if __name__ == "__main__":
    main()
