#!/bin/bash
# bench_sessions.sh -- N machines backing up at once into one appliance:
# N backup sessions (beemofs) mounted side by side, N parallel `cp -a`
# of corpora of the same size but different content, each followed by
# `beemoctl snapshot` of its machine (which waits for the session's
# pending commits); against one session alone with a corpus of the same
# size, in the same invocation.  Reports the total throughput (files/s,
# MB/s) against one session's, the memory of the whole appliance (the sum
# of every beemofs's VmHWM, plus the shared scanning daemon beemo-scand
# when one runs for this appliance) and fairness (each session's time:
# min, max, max/min).  Not a test: it prints figures, and fails when a
# step fails or a snapshot lacks files.
#
#   BEEMO_BUILD=build bash tests/bench/bench_sessions.sh [--files N]
#       [--large MIB] [--sigs DIR] [N]
#
# N machines (default 8); --files (default 5,000) small files of 1 to
# 8 KiB per machine (tests/bench/gen_files.py, seeded per machine) and
# --large (default 16, 0 for none) MiB of random bytes in one file per
# machine.  --sigs DIR scans with the signature set of DIR (e.g. one of
# gen_sigs.py, ClamAV's real size) instead of the test signatures.  Run
# as root (drop_caches).  These machines are shared: compare the ratios
# of one run.
. "$(dirname "$0")/../e2e/lib.sh"

HERE=$(cd "$(dirname "$0")" && pwd)
N=8
FILES=5000
LARGE=16
SIGS=
while [ $# -gt 0 ]; do
	case $1 in
	--files) FILES=$2; shift 2 ;;
	--large) LARGE=$2; shift 2 ;;
	--sigs) SIGS=$(realpath "$2"); shift 2 ;;
	[0-9]*) N=$1; shift ;;
	*) sed -n '2,23p' "$0" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" = 0 ] || t_fail "run as root (drop_caches)"
now() { date +%s.%N; }
drop() { sync; echo 3 >/proc/sys/vm/drop_caches; }
t_expect_log 'warning: .*: committed without antivirus scan'

t_config
[ -z "$SIGS" ] || sed -i "s|^signatures = .*|signatures = $SIGS|" "$BEEMO_CONFIG"
t_appliance
machines=(solo)
for i in $(seq 1 "$N"); do machines+=("m$i"); done
for m in "${machines[@]}"; do
	"$BEEMOCTL" machine add "$m" --user alice --password-file "$T/admin.pw" \
		--user-password-file "$T/alice.pw" --poste-key "$T/$m.poste" \
		>/dev/null || t_fail "machine add $m"
done
t_log "corpora: $((N + 1)) x $FILES files + $LARGE MiB"
k=0
for m in "${machines[@]}"; do
	k=$((k + 1))
	nice python3 "$HERE/gen_files.py" "$T/src/$m" "$FILES" --seed "$k" \
		--log /dev/null || t_fail "corpus $m"
	[ "$LARGE" = 0 ] || head -c $((LARGE * 1048576)) /dev/urandom >"$T/src/$m/large.img"
done
PER_FILES=$((FILES + (LARGE > 0 ? 1 : 0)))
PER_BYTES=$(du -sb --apparent-size "$T/src/solo" | cut -f1)

# session M: copy M's corpus into its mount, then snapshot M; prints the
# elapsed seconds.
session() {
	local m=$1 t0
	t0=$(now)
	cp -a "$T/src/$m/." "$T/mnt/$m/" || return 1
	"$BEEMOCTL" snapshot "$m" --json >"$T/$m.snap" || return 1
	echo "$(now) - $t0" | bc -l
}
mount_m() {
	t_mount_session "$T/mnt/$1" "machine=$1,keyfile=$T/$1.poste"
}
# check M: M's latest snapshot has every file.
check() {
	local f
	f=$("$BEEMOCTL" snapshots "$1" --json --password-file "$T/admin.pw" |
		python3 -c 'import json, sys
print(json.load(sys.stdin)["snapshots"][-1]["files"])')
	[ "$f" = "$PER_FILES" ] || t_fail "$1: the snapshot has $f files, not $PER_FILES"
}
# scand_kb: VmHWM of the beemo-scand processes serving this appliance
# (their command line or environment names its store or configuration).
SCAND=0
scand_kb() {
	local p sum=0
	for p in $(pgrep -x beemo-scand || true); do
		if tr '\0' '\n' <"/proc/$p/cmdline" 2>/dev/null | grep -qF "$T/" ||
			tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qF "$T/"; then
			sum=$((sum + $(awk '/VmHWM/ { print $2 }' "/proc/$p/status")))
			SCAND=$((SCAND + 1))
		fi
	done
	echo "$sum"
}

# ---- one session alone
mount_m solo
drop
t_log "one session alone"
SOLO=$(session solo) || t_fail "solo session failed"
SOLO_KB=$(awk '/VmHWM/ { print $2 }' "/proc/${T_MOUNT_PID[$T/mnt/solo]}/status")
t_umount "$T/mnt/solo"
check solo

# ---- N at once
for i in $(seq 1 "$N"); do mount_m "m$i"; done
drop
t_log "$N sessions at once"
t0=$(now)
pids=()
for i in $(seq 1 "$N"); do
	session "m$i" >"$T/m$i.time" &
	pids+=($!)
done
for i in $(seq 1 "$N"); do
	wait "${pids[$((i - 1))]}" || t_fail "session m$i failed"
done
WALL=$(echo "$(now) - $t0" | bc -l)
sum=0
max_kb=0
for i in $(seq 1 "$N"); do
	kb=$(awk '/VmHWM/ { print $2 }' "/proc/${T_MOUNT_PID[$T/mnt/m$i]}/status")
	sum=$((sum + kb))
	[ "$kb" -le "$max_kb" ] || max_kb=$kb
done
SC_KB=$(scand_kb)
for i in $(seq 1 "$N"); do t_umount "$T/mnt/m$i"; check "m$i"; done

# ---- report
python3 - "$N" "$PER_FILES" "$PER_BYTES" "$SOLO" "$WALL" "$sum" "$max_kb" \
	"$SOLO_KB" "$SC_KB" "$SCAND" "$(cat "$T"/m*.time)" "${SIGS:-test set}" <<'PY'
import sys
n, files, size = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
solo, wall = float(sys.argv[4]), float(sys.argv[5])
sum_kb, max_kb, solo_kb, sc_kb, scand = (int(x) for x in sys.argv[6:11])
times = [float(x) for x in sys.argv[11].split()]
def met(ok):
    return "met" if ok else "NOT met"
tf, tb = n * files / wall, n * size / wall / 1e6
sf, sb = files / solo, size / solo / 1e6
print(f"# {n} sessions at once: {files:,} files, {size / 1e6:.0f} MB each; signatures: {sys.argv[12]}\n")
print("| measure | one session | %d sessions | ratio | goal | |" % n)
print("|---|---|---|---|---|---|")
print(f"| throughput, files/s | {sf:.0f} | {tf:.0f} | {tf / sf:.2f} | ≥ one session | {met(tf >= sf)} |")
print(f"| throughput, MB/s | {sb:.1f} | {tb:.1f} | {tb / sb:.2f} | | |")
print(f"| wall time, s | {solo:.1f} | {wall:.1f} | | | |")
print(f"| per-session beemofs VmHWM, MB (max) | {solo_kb / 1024:.0f} | {max_kb / 1024:.0f} | | ≤ 100 MB | {met(max_kb <= 100 * 1024)} |")
sc = f" + beemo-scand {sc_kb / 1024:.0f} MB" if scand else " (no beemo-scand running)"
print(f"| appliance memory: sum of VmHWM, MB | | {(sum_kb + sc_kb) / 1024:.0f}{sc} | | reported | |")
mn, mx = min(times), max(times)
print(f"| fairness: session time min / max, s | | {mn:.1f} / {mx:.1f} | max/min {mx / mn:.2f} | max/min ≤ 1.5 | {met(mx / mn <= 1.5)} |")
print()
print("Each session's time is its `cp -a` and the `beemoctl snapshot` after it "
      "(which waits for the session's pending commits): " +
      ", ".join(f"{t:.1f}" for t in times) + " s.")
PY
