#!/bin/bash
# bench_av.sh -- the antivirus at real scale: libclamav's engine load
# time, memory and scan cost per file with the test signatures (two) and
# with a synthetic set of ClamAV's real size and shape (gen_sigs.py), in
# one invocation; and the scan-bound limit of ingest, cores divided by
# the scan time per file.  Then the same synthetic set through the
# appliance's antivirus service, beemo-scand (one engine for every
# session): its load time and memory, the scan time per file through it
# (a sealed memfd per file) against in-process, a cache hit's cost, and
# the memory of N = 1, 4, 8 concurrent backup sessions using it (the
# sum of each beemofs's peak and the service's) against N sessions each
# with its own engine (N times one measured session).
#
#   bash tests/bench/bench_av.sh [--scale F] [--files N] [--dir D]
#       [--build DIR] [--no-service]
#
# --scale (default 1: some 2.5 million signatures) sizes the synthetic
# set, cached under /var/tmp/beemo-bench-sigs-F; --files (default 2000)
# files of --dir (default /usr/include) are scanned, from the page cache.
# --build (default build/): where beemo-scand, beemofs and beemoctl are.
# Prints Markdown tables and one JSON line per measure.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SCALE=1
FILES=2000
DIR=/usr/include
BUILD=$HERE/../../build
SERVICE=1
while [ $# -gt 0 ]; do
	case $1 in
	--scale) SCALE=$2; shift 2 ;;
	--files) FILES=$2; shift 2 ;;
	--dir) DIR=$2; shift 2 ;;
	--build) BUILD=$2; shift 2 ;;
	--no-service) SERVICE=0; shift ;;
	*) sed -n '2,23p' "$0" >&2; exit 2 ;;
	esac
done
W=$(mktemp -d /tmp/beemo-bench-av.XXXXXX)
MOUNTS=()
PIDS=()
stop_all() {
	local m p
	for m in "${MOUNTS[@]+"${MOUNTS[@]}"}"; do
		mountpoint -q "$m" && fusermount3 -u "$m" 2>/dev/null
	done
	for p in "${PIDS[@]+"${PIDS[@]}"}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]+"${PIDS[@]}"}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$W"
}
trap stop_all EXIT
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
	[ "$set" = test ] || LOCAL_J=$j
	python3 - "$set" "$cores" "$j" <<'PY'
import json, sys
name, cores, j = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
limit = cores / (j["mean_us"] / 1e6)
print("| %s | %d | %.2f | %.0f | %.0f | %.0f | %.0f |" % (name,
      j["signatures"], j["load_s"], j["peak_mb"], j["median_us"],
      j["mean_us"], limit))
PY
done

[ "$SERVICE" = 1 ] || exit 0

# ---- the service: one engine for every session -------------------------------
BUILD=$(cd "$BUILD" && pwd)
SCAND=$BUILD/fs/beemo-scand
BEEMOFS=$BUILD/fs/beemofs
BEEMOCTL=$BUILD/tools/beemoctl
for p in "$SCAND" "$BEEMOFS" "$BEEMOCTL"; do
	[ -x "$p" ] || { log "$p: not built (--build DIR)"; exit 1; }
done
export BEEMO_CONFIG=$W/beemo.conf
{
	echo "store = $W/store"
	echo "[scan]"
	echo "signatures = $SYN"
	echo "service = $W/scand.sock"
	echo "engine = shared"
} >"$BEEMO_CONFIG"
stat_of() { "$SCAND" --status | awk -v k="$1" '$1 == k { print $2 }'; }
t0=$(date +%s.%N)
"$SCAND" 2>>"$W/scand.log" &
SCAND_PID=$!
PIDS+=($SCAND_PID)
until "$SCAND" --status >/dev/null 2>&1; do
	kill -0 $SCAND_PID 2>/dev/null || { log "beemo-scand: $(cat "$W/scand.log")"; exit 1; }
	sleep 0.05
done
LOAD_S=$(echo "$(date +%s.%N) - $t0" | bc -l)
log "beemo-scand answers after $LOAD_S s"
SVC_J=$(python3 "$HERE/scand_cost.py" "$W/scand.sock" "$W/list")
echo "$SVC_J" >&2
python3 "$HERE/scand_cost.py" "$W/scand.sock" "$W/list" --key >/dev/null
HIT_J=$(python3 "$HERE/scand_cost.py" "$W/scand.sock" "$W/list" --key)
echo "$HIT_J" >&2
SCAND_MB=$(echo "$(stat_of hwm_kb) / 1024" | bc)

echo
echo "| synthetic x$SCALE | load s | memory MB | scan µs/file (median) | mean | cache hit µs/file |"
echo "|---|---|---|---|---|---|"
python3 - "$LOCAL_J" "$SVC_J" "$HIT_J" "$LOAD_S" "$SCAND_MB" <<'PY'
import json, sys
loc, svc, hit = (json.loads(a) for a in sys.argv[1:4])
print("| in-process (av_cost) | %.2f | %.0f | %.0f | %.0f | - |" % (
      loc["load_s"], loc["peak_mb"], loc["median_us"], loc["mean_us"]))
print("| beemo-scand (sealed memfd per file) | %.2f | %s | %.0f | %.0f | %.0f |" % (
      float(sys.argv[4]), sys.argv[5], svc["median_us"], svc["mean_us"],
      hit["mean_us"]))
print(json.dumps({"service_load_s": float(sys.argv[4]),
                  "service_mb": int(sys.argv[5]),
                  "service_mean_us": svc["mean_us"],
                  "inprocess_mean_us": loc["mean_us"],
                  "cache_hit_mean_us": hit["mean_us"]}), file=sys.stderr)
PY

# ---- sessions: N shared against N with their own engine ---------------------
printf 'bench-admin\n' >"$W/admin.pw"
"$BEEMOCTL" init --kdf-n 1024 --password-file "$W/admin.pw" >/dev/null
for i in 1 2 3 4 5 6 7 8; do
	"$BEEMOCTL" machine add pc$i --user u$i --password-file "$W/admin.pw" \
		--user-password-file "$W/admin.pw" --poste-key "$W/pc$i.poste" \
		>/dev/null
done
# Each session gets the same files (a few hundred of the list).
head -n 300 "$W/list" >"$W/list.sessions"
# mount_one I [CONFIG]: pc$I on $W/mnt$I; its pid in MPID[I].
declare -A MPID=()
mount_one() {
	local i=$1 conf=${2:-$BEEMO_CONFIG}
	mkdir -p "$W/mnt$i"
	BEEMO_CONFIG=$conf "$BEEMOFS" "$W/store" "$W/mnt$i" -f \
		-o "machine=pc$i,keyfile=$W/pc$i.poste" 2>>"$W/beemofs.log" &
	MPID[$i]=$!
	PIDS+=($!)
	MOUNTS+=("$W/mnt$i")
	until mountpoint -q "$W/mnt$i"; do
		kill -0 "${MPID[$i]}" 2>/dev/null ||
			{ log "beemofs: $(tail -3 "$W/beemofs.log")"; exit 1; }
		sleep 0.05
	done
}
fill() { # I: copy the session files into mnt$I
	local n=0 p
	while read -r p; do
		n=$((n + 1))
		cp "$p" "$W/mnt$1/f$n" 2>/dev/null || true
	done <"$W/list.sessions"
}
umount_one() {
	fusermount3 -u "$W/mnt$1"
	wait "${MPID[$1]}" || true
}
hwm() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }

# One session with its own engine, for the estimate of N of them.
sed 's/^engine = shared$/engine = local/' "$BEEMO_CONFIG" >"$W/local.conf"
mount_one 1 "$W/local.conf"
fill 1
LOCAL_KB=$(hwm "${MPID[1]}")
umount_one 1
echo
echo "| sessions | shared: beemofs peaks (sum) MB | + beemo-scand MB | total MB | own engine each (N x one) MB | ingest s (all sessions) |"
echo "|---|---|---|---|---|---|"
for n in 1 4 8; do
	for i in $(seq 1 "$n"); do mount_one "$i"; done
	t0=$(date +%s.%N)
	fills=()
	for i in $(seq 1 "$n"); do
		fill "$i" &
		fills+=($!)
	done
	wait "${fills[@]}"
	for i in $(seq 1 "$n"); do
		"$BEEMOCTL" snapshot pc$i --password-file "$W/admin.pw" >/dev/null 2>&1 || true
	done
	secs=$(echo "$(date +%s.%N) - $t0" | bc -l)
	sum=0
	for i in $(seq 1 "$n"); do sum=$((sum + $(hwm "${MPID[$i]}"))); done
	svc=$(stat_of hwm_kb)
	for i in $(seq 1 "$n"); do umount_one "$i"; done
	printf '| %d | %.0f | %.0f | %.0f | %.0f | %.1f |\n' "$n" \
		"$(echo "$sum / 1024" | bc -l)" "$(echo "$svc / 1024" | bc -l)" \
		"$(echo "($sum + $svc) / 1024" | bc -l)" \
		"$(echo "$n * $LOCAL_KB / 1024" | bc -l)" "$secs"
	echo "{\"sessions\": $n, \"beemofs_kb\": $sum, \"scand_kb\": $svc, \"local_each_kb\": $LOCAL_KB}" >&2
done
log "service counters: $("$SCAND" --status | tr '\n' ' ')"
