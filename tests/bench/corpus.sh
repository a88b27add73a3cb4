#!/bin/bash
# corpus.sh -- make the benchmark corpora of ANCHORS.md once, and cache
# them.
#
#   tests/bench/corpus.sh [--corpus large|small|both] [DIR]
#
# DIR (default $BEEMO_BENCH_CORPUS, else /var/tmp/beemo-bench-corpus)
# gets:
#   large/incompressible.img  1 GiB of a seeded pseudo-random stream
#   large/vm.img              1 GiB "VM image": 4 KiB-aligned extents of
#                             zeros, seeded random data, text lines,
#                             low-entropy binary, and copies of earlier
#                             extents (internal duplication); compresses
#                             about 2.3x with zstd -3, more with dedup
#   small/usr/...             about 20,000 real files (and symlinks) from
#                             /usr/share and /usr/lib, about 400 MB, copied
#                             with cp -a (metadata preserved)
#   large.manifest, small.manifest   what was made, with sizes and sums
# A corpus whose manifest exists and names the current GEN_VERSION is
# kept as it is; delete DIR (or the manifest) to make it again.
#
# The large corpus is the same bytes on every machine (it depends only
# on SEED and on /usr/share/common-licenses, which base-files ships).
# The small one is deterministic for a given /usr: whole directories are
# taken in an order given by a hash of their path, keeping the mean
# file size near 400 MB / 20,000, until 20,000 regular files are in
# (about 20,800 with the symlinks of those directories).
set -euo pipefail

declare -A GEN_VERSION=([large]=4 [small]=2)
SEED=${BEEMO_BENCH_SEED:-20240601}
WHICH=both
DIR=

usage() {
	sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case $1 in
	--corpus) WHICH=${2:?}; shift 2 ;;
	--corpus=*) WHICH=${1#*=}; shift ;;
	-h | --help) usage ;;
	-*) echo "corpus.sh: unknown option $1" >&2; usage ;;
	*) DIR=$1; shift ;;
	esac
done
case $WHICH in large | small | both) ;; *) usage ;; esac
DIR=${DIR:-${BEEMO_BENCH_CORPUS:-/var/tmp/beemo-bench-corpus}}

log() { printf 'corpus: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

command -v python3 >/dev/null || die "python3 is needed (apt-get install python3)"
mkdir -p "$DIR"

# need_space MIB: refuse to start what would fill the disk.
need_space() {
	local avail
	avail=$(df -Pm "$DIR" | awk 'NR == 2 {print $4}')
	[ "$avail" -ge $(($1 + 2048)) ] ||
		die "$DIR: $avail MiB free, need $1 MiB plus 2 GiB of margin"
}

fresh() { # fresh NAME: 0 if NAME's manifest is of this version
	[ -f "$DIR/$1.manifest" ] &&
		grep -qx "gen_version ${GEN_VERSION[$1]}" "$DIR/$1.manifest"
}

make_large() {
	if fresh large; then
		log "large: cached in $DIR/large"
		return
	fi
	need_space 2100
	rm -rf "$DIR/large" "$DIR/large.manifest"
	mkdir -p "$DIR/large.tmp"
	log "large: generating 2 GiB (seed $SEED), about a minute"
	timeout 1200 python3 - "$DIR/large.tmp" "$SEED" <<'EOF'
import os, random, sys

out, seed = sys.argv[1], int(sys.argv[2])
GiB, MiB, KiB = 1 << 30, 1 << 20, 1 << 10

def write_random(path, size, r):
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 8 * MiB)
            f.write(r.randbytes(n))
            left -= n

# 1 GiB incompressible.
write_random(os.path.join(out, "incompressible.img"), GiB,
             random.Random(seed))

# 1 GiB VM-image-like.
r = random.Random(seed + 1)
lic = "/usr/share/common-licenses"
lines = []
for name in sorted(os.listdir(lic)):
    p = os.path.join(lic, name)
    if os.path.isfile(p) and not os.path.islink(p):
        with open(p, "rb") as f:
            lines += [l for l in f.read().split(b"\n") if l.strip()]
if not lines:
    sys.exit("no text in " + lic)
words = sorted(set(w for l in lines for w in l.split()))
# Low-entropy binary: half the bytes zero, the rest from 48 values
# (code, tables, metadata blocks).
skew = bytes(0 if i < 128 else 1 + (i * 37) % 48 for i in range(256))

def text(n):
    parts, size = [], 0
    while size < n:
        k = r.random()
        if k < 0.5:
            l = r.choice(lines)
        else:   # log-like line: time stamp, level, words, numbers
            l = b"%d-%02d-%02dT%02d:%02d:%02d %s %s id=%d n=%d" % (
                2020 + r.randrange(5), 1 + r.randrange(12),
                1 + r.randrange(28), r.randrange(24), r.randrange(60),
                r.randrange(60), r.choice((b"INFO", b"WARN", b"DEBUG")),
                b" ".join(r.choice(words) for _ in range(r.randrange(3, 9))),
                r.randrange(1 << 32), r.randrange(100000))
        parts.append(l + b"\n")
        size += len(l) + 1
    return b"".join(parts)[:n]

def size_in(lo, hi):   # 4 KiB-aligned, log-uniform-ish
    return max(lo, min(hi, int(lo * (hi / lo) ** r.random())) & ~4095)

history, hist_bytes = [], 0
stats = dict(zero=0, random=0, text=0, binary=0, repeat=0)
# The 4 KiB insertion of run.sh goes at the middle (512 MiB): it falls
# in the middle of an 8 MiB text extent (a log file in the image), as
# in the measurement of ANCHORS.md, where restic grew by 140 KB only.
# (In incompressible data any store with ~1 MiB chunks grows by a chunk
# or two: that says nothing about the chunker.)
MID_TEXT = GiB // 2 - 4 * MiB
pos = 0
with open(os.path.join(out, "vm.img"), "wb") as f:
    while pos < GiB:
        lim = GiB - pos if pos >= MID_TEXT else MID_TEXT - pos
        k = r.random()
        if pos == MID_TEXT:
            kind, n = "text", 8 * MiB
        elif k < 0.15:
            kind, n = "zero", size_in(256 * KiB, 16 * MiB)
        elif k < 0.33:
            kind, n = "random", size_in(64 * KiB, 8 * MiB)
        elif k < 0.55:
            kind, n = "text", size_in(256 * KiB, 8 * MiB)
        elif k < 0.84:
            kind, n = "binary", size_in(64 * KiB, 8 * MiB)
        elif history:
            kind = "repeat"
        else:
            continue
        if kind == "zero":
            n = min(n, lim)
            data = bytes(n)
        elif kind == "repeat":
            # One earlier extent or a run of two.
            i = r.randrange(len(history))
            j = min(len(history), i + 1 + r.randrange(2))
            data = b"".join(history[i:j])[:lim]
        else:
            n = min(n, lim)
            if kind == "random":
                data = r.randbytes(n)
            elif kind == "text":
                data = text(n)
            else:
                data = r.randbytes(n).translate(skew)
            history.append(data)
            hist_bytes += n
            while hist_bytes > 192 * MiB:
                hist_bytes -= len(history.pop(0))
        f.write(data)
        stats[kind] += len(data)
        pos += len(data)
print("vm.img extents: " + ", ".join(
    "%s %.0f%%" % (k, 100.0 * v / GiB) for k, v in stats.items()),
    file=sys.stderr)
EOF
	{
		echo "gen_version ${GEN_VERSION[large]}"
		echo "seed $SEED"
		(cd "$DIR/large.tmp" && for f in incompressible.img vm.img; do
			echo "file $f $(stat -c %s "$f") $(sha256sum <"$f" | cut -c1-16)"
		done)
		if command -v zstd >/dev/null; then
			echo "vm.img zstd-3 $(zstd -3 -c -T2 <"$DIR/large.tmp/vm.img" | wc -c)"
		fi
	} >"$DIR/large.tmp/manifest"
	mv "$DIR/large.tmp/manifest" "$DIR/large.manifest.tmp"
	mv "$DIR/large.tmp" "$DIR/large"
	mv "$DIR/large.manifest.tmp" "$DIR/large.manifest"
	log "large: done: $(grep -c ^file "$DIR/large.manifest") files," \
		"vm.img zstd -3 ratio $(awk '/^file vm.img/ {s=$3} /^vm.img zstd/ {z=$3} END {if (z) printf "%.2f", s/z; else print "?"}' "$DIR/large.manifest")"
}

make_small() {
	if fresh small; then
		log "small: cached in $DIR/small"
		return
	fi
	need_space 1000
	rm -rf "$DIR/small" "$DIR/small.manifest" "$DIR/small.tmp"
	mkdir -p "$DIR/small.tmp/tree"
	log "small: selecting about 20,000 files from /usr/share and /usr/lib"
	timeout 600 python3 - "$DIR/small.tmp/list" <<'EOF'
import hashlib, os, stat, sys

TARGET_FILES, TARGET_BYTES, MAX_FILE = 20000, 400 * 10**6, 16 << 20
dirs = []   # (hash, path, [entries], bytes, regular files)
for top in ("/usr/share", "/usr/lib"):
    for dp, dn, fn in os.walk(top):
        ents, size, nreg = [], 0, 0
        for name in sorted(fn):
            p = os.path.join(dp, name)
            try:
                st = os.lstat(p)
            except OSError:
                continue
            if stat.S_ISLNK(st.st_mode):
                ents.append(p)
            elif stat.S_ISREG(st.st_mode) and st.st_size <= MAX_FILE:
                ents.append(p)
                size += st.st_size
                nreg += 1
        if ents:
            h = hashlib.sha256(dp.encode()).hexdigest()
            dirs.append((h, dp, ents, size, nreg))
dirs.sort()
files, size, out = 0, 0, []
for h, dp, ents, sz, nreg in dirs:
    if files >= TARGET_FILES:
        break
    if files + nreg > TARGET_FILES * 1.05:
        continue
    # Keep the mean file size near TARGET_BYTES / TARGET_FILES (the
    # 10 % slack makes the total land on it: most directories hold
    # files smaller than the mean).
    if size + sz > 1.1 * TARGET_BYTES * (files + nreg) / TARGET_FILES:
        continue
    out += ents
    files += nreg
    size += sz
out.sort()
with open(sys.argv[1], "wb") as f:
    for p in out:
        f.write(p.encode() + b"\0")
print("selected %d regular files (%d with symlinks), %d bytes" %
      (files, len(out), size),
      file=sys.stderr)
EOF
	log "small: copying with cp -a"
	(cd / && sed -z 's,^/,,' "$DIR/small.tmp/list" |
		timeout 900 xargs -0 cp -a --parents -t "$DIR/small.tmp/tree")
	{
		echo "gen_version ${GEN_VERSION[small]}"
		echo "files $(find "$DIR/small.tmp/tree" ! -type d | wc -l)"
		echo "regular $(find "$DIR/small.tmp/tree" -type f | wc -l)"
		echo "dirs $(find "$DIR/small.tmp/tree" -type d | wc -l)"
		echo "bytes $(find "$DIR/small.tmp/tree" -type f -printf '%s\n' |
			awk '{s += $1} END {print s}')"
		echo "list_sha256 $(sha256sum <"$DIR/small.tmp/list" | cut -c1-16)"
	} >"$DIR/small.manifest.tmp"
	mv "$DIR/small.tmp/tree" "$DIR/small"
	rm -rf "$DIR/small.tmp"
	mv "$DIR/small.manifest.tmp" "$DIR/small.manifest"
	log "small: done: $(grep '^files\|^bytes' "$DIR/small.manifest" | tr '\n' ' ')"
}

case $WHICH in
large) make_large ;;
small) make_small ;;
both) make_large; make_small ;;
esac
