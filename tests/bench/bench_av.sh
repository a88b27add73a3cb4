#!/bin/bash
# bench_av.sh -- the antivirus at real scale: libclamav's engine load
# time, memory and scan cost per file with the test signatures (two) and
# with a synthetic set of ClamAV's real size and shape (gen_sigs.py), in
# one invocation; and the scan-bound limit of ingest, cores divided by
# the scan time per file.
#
#   bash tests/bench/bench_av.sh [--scale F] [--files N] [--dir D]
#
# --scale (default 1: some 2.5 million signatures) sizes the synthetic
# set, cached under /var/tmp/beemo-bench-sigs-F; --files (default 2000)
# files of --dir (default /usr/include) are scanned, from the page cache.
# Prints a Markdown table and one JSON line per set.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SCALE=1
FILES=2000
DIR=/usr/include
while [ $# -gt 0 ]; do
	case $1 in
	--scale) SCALE=$2; shift 2 ;;
	--files) FILES=$2; shift 2 ;;
	--dir) DIR=$2; shift 2 ;;
	*) sed -n '2,13p' "$0" >&2; exit 2 ;;
	esac
done
W=$(mktemp -d /tmp/beemo-bench-av.XXXXXX)
trap 'rm -rf "$W"' EXIT
log() { printf 'bench_av: %s\n' "$*" >&2; }

cc -O2 -o "$W/av_cost" "$HERE/av_cost.c" $(pkg-config --cflags --libs libclamav)
find "$DIR" -type f -size +0 | awk -v n="$FILES" 'NR <= n' >"$W/list"

mkdir -p "$W/test-sigs"
eicar='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'
echo "$(printf '%s' "$eicar" | md5sum | cut -d' ' -f1):${#eicar}:Beemo.Test.EICAR" \
	>"$W/test-sigs/beemo-test.hdb"
echo "Beemo.Test.Body:0:*:$(printf 'BEEMO-TEST-VIRUS-BODY' |
	od -An -tx1 | tr -d ' \n')" >"$W/test-sigs/beemo-test.ndb"

SYN=/var/tmp/beemo-bench-sigs-$SCALE
if [ ! -f "$SYN/synth.ldb" ]; then
	log "generating the synthetic set (scale $SCALE) in $SYN"
	rm -rf "$SYN.tmp"
	python3 "$HERE/gen_sigs.py" "$SYN.tmp" --scale "$SCALE"
	cp "$W/test-sigs/"* "$SYN.tmp/"
	mv "$SYN.tmp" "$SYN"
fi

cores=$(nproc)
echo "| signature set | signatures | load s | memory MB | scan µs/file (median) | mean | scan-bound files/s ($cores cores) |"
echo "|---|---|---|---|---|---|---|"
for set in test "synthetic x$SCALE"; do
	d=$W/test-sigs
	[ "$set" = test ] || d=$SYN
	log "scanning $(wc -l <"$W/list") files with the $set set"
	j=$("$W/av_cost" "$d" "$W/list")
	echo "$j" >&2
	python3 - "$set" "$cores" "$j" <<'PY'
import json, sys
name, cores, j = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
limit = cores / (j["mean_us"] / 1e6)
print("| %s | %d | %.2f | %.0f | %.0f | %.0f | %.0f |" % (name,
      j["signatures"], j["load_s"], j["peak_mb"], j["median_us"],
      j["mean_us"], limit))
PY
done
