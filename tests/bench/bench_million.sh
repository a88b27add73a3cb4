#!/bin/bash
# bench_million.sh -- a backup set of a million small files: ingest rate
# per tenth of the run against a 20,000-file ingest measured in the same
# invocation, snapshot time at both sizes, a cold `ls -f` and `ls -l` of
# a 100,000-entry directory in the mount, beemofs's memory at each tenth,
# index bytes per file, `beemoctl rebuild-index` time, and the time of a
# push to a local storage center and of `beemo-sync recover` from it.
# Not a test: it prints figures and which goals of the issue are met;
# it fails (non-zero) when a step fails or did not do what it should
# (every file must be in the snapshot, the index rebuilt, the store
# recovered).
#
#   BEEMO_BUILD=build bash tests/bench/bench_million.sh [--files N]
#       [--flat K] [--base N] [--no-recover] [FILES]
#
# FILES (default 1,000,000) files of 1 to 8 KiB (tests/bench/gen_files.py),
# written by one process into a backup session: the first FILES - K in a
# deep tree (100 files per directory, 100 directories per level), the
# last K (default FILES / 10, at most 100,000) in ONE directory.  The
# baseline is --base (default 20,000) files of the deep layout in a
# store of its own.  --no-recover skips push and recover.  A million
# files take some 20 minutes or more and about 10 GB under /tmp: scale
# down with --files 100000 while developing.  Run as root (drop_caches).
# These machines are shared: compare figures of one run.
. "$(dirname "$0")/../e2e/lib.sh"
. "$(dirname "$0")/../e2e/sshd_lib.sh"

HERE=$(cd "$(dirname "$0")" && pwd)
FILES=1000000
FLAT=
BASE=20000
RECOVER=1
while [ $# -gt 0 ]; do
	case $1 in
	--files) FILES=$2; shift 2 ;;
	--flat) FLAT=$2; shift 2 ;;
	--base) BASE=$2; shift 2 ;;
	--no-recover) RECOVER=0; shift ;;
	[0-9]*) FILES=$1; shift ;;
	*) sed -n '2,24p' "$0" >&2; exit 2 ;;
	esac
done
[ -n "$FLAT" ] || FLAT=$((FILES / 10 < 100000 ? FILES / 10 : 100000))
[ "$(id -u)" = 0 ] || t_fail "run as root (drop_caches)"
need=$((FILES * 12 / 1000))
avail=$(df -Pk "$T" | awk 'NR == 2 { print int($4 / 1024) }')
[ "$avail" -gt "$need" ] || t_fail "need $need MB free under $T (have $avail)"

now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc -l; }
drop() { sync; echo 3 >/proc/sys/vm/drop_caches; }
declare -A R=()
put() { R[$1]=$2; t_log "$1 = $2"; }
# files_in CONFIG MACHINE: the files of MACHINE's latest snapshot.
files_in() {
	BEEMO_CONFIG=$1 "$BEEMOCTL" snapshots "$2" --json \
		--password-file "$T/admin.pw" | python3 -c 'import json, sys
print(json.load(sys.stdin)["snapshots"][-1]["files"])'
}
# tenths LOG PREFIX: the generator's per-tenth records into R.
tenths() {
	local k v
	while IFS='=' read -r k v; do R[$k]=$v; done < <(python3 -c 'import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    for k, v in r.items():
        print("%s.t%d.%s=%s" % (sys.argv[2], r["tenth"], k, v))' "$1" "$2")
}
# mount_at STORE CONFIG MACHINE MNT: a backup session of MACHINE of
# STORE (POSTE key $T/MACHINE.poste); its pid in T_MOUNT_PID[MNT].
mount_at() {
	mkdir -p "$4"
	BEEMO_CONFIG=$2 "$BEEMOFS" "$1" "$4" -f -o "machine=$3,keyfile=$T/$3.poste" \
		>>"$T/beemofs.log" 2>&1 &
	T_MOUNT_PID[$4]=$!
	T_PIDS+=($!)
	T_MOUNTS+=("$4")
	t_wait_mounted "$4" || t_fail "beemofs exited before mounting $4"
}
# ingest STORE CONFIG MACHINE MNT COUNT FLAT PREFIX: mount, write, snapshot
# (which waits for every file's commit), check the count, one change and
# a second snapshot, unmount.
ingest() {
	local store=$1 conf=$2 m=$3 mnt=$4 n=$5 flat=$6 p=$7 t0 pid
	mount_at "$store" "$conf" "$m" "$mnt"
	pid=${T_MOUNT_PID[$mnt]}
	t_log "$p: writing $n files ($flat in one directory)"
	t0=$(now)
	nice python3 "$HERE/gen_files.py" "$mnt" "$n" --flat "$flat" \
		--seed 7 --pid "$pid" --log "$T/$p.tenths" ||
		t_fail "$p: writing the files failed"
	put "$p.write_s" "$(since "$t0")"
	t0=$(now)
	BEEMO_CONFIG=$conf "$BEEMOCTL" snapshot "$m" --json >"$T/$p.snap1" ||
		t_fail "$p: snapshot failed"
	put "$p.snapshot_first_s" "$(since "$t0")"
	put "$p.ingest_s" "$(echo "${R[$p.write_s]} + ${R[$p.snapshot_first_s]}" | bc -l)"
	[ "$(files_in "$conf" "$m")" = "$n" ] ||
		t_fail "$p: the snapshot has $(files_in "$conf" "$m") files, not $n"
	echo changed >>"$mnt/deep/00/00/00/f0000000"
	t0=$(now)
	BEEMO_CONFIG=$conf "$BEEMOCTL" snapshot "$m" --json >"$T/$p.snap2" ||
		t_fail "$p: second snapshot failed"
	put "$p.snapshot_s" "$(since "$t0")"
	grep -q '"created":true' "$T/$p.snap2" || t_fail "$p: no second snapshot"
	put "$p.hwm_kb" "$(awk '/VmHWM/ { print $2 }' "/proc/$pid/status")"
	t_umount "$mnt"
	tenths "$T/$p.tenths" "$p"
	put "$p.index_bytes" "$(du -B1 -s "$store/machines/$m/index" | cut -f1)"
}

t_expect_log 'warning: .*: committed without antivirus scan'
sshd_require
sshd_start a
sync_config a
t_appliance
# The baseline's appliance: a store of its own, so that rebuild-index
# and recover see only the big set.
sed "s|^store = .*|store = $T/base-store|" "$BEEMO_CONFIG" >"$T/base.conf"
BEEMO_CONFIG=$T/base.conf "$BEEMOCTL" init "${T_KDF[@]}" \
	--password-file "$T/admin.pw" >/dev/null || t_fail "init (baseline)"
BEEMO_CONFIG=$T/base.conf "$BEEMOCTL" machine add base --user bob \
	--password-file "$T/admin.pw" --user-password-file "$T/alice.pw" \
	--poste-key "$T/base.poste" >/dev/null || t_fail "machine add (baseline)"

ingest "$T/base-store" "$T/base.conf" base "$T/base-mnt" "$BASE" 0 base
ingest "$T/store" "$BEEMO_CONFIG" pc1 "$T/mnt" "$FILES" "$FLAT" big

# A cold listing of the flat directory: a fresh daemon, caches dropped.
if [ "$FLAT" -gt 0 ]; then
	t_mount "$T/mnt"
	drop
	t0=$(now)
	n=$(ls -f "$T/mnt/flat" | wc -l)
	put big.ls_f_s "$(since "$t0")"
	[ "$n" = $((FLAT + 2)) ] || t_fail "ls -f: $n entries, not $((FLAT + 2))"
	drop
	t0=$(now)
	n=$(ls -l "$T/mnt/flat" | wc -l)
	put big.ls_l_s "$(since "$t0")"
	[ "$n" = $((FLAT + 1)) ] || t_fail "ls -l: $n lines, not $((FLAT + 1))"
	put big.ls_hwm_kb "$(awk '/VmHWM/ { print $2 }' "/proc/${T_MOUNT_PID[$T/mnt]}/status")"
	t_umount "$T/mnt"
fi

t_log "rebuild-index"
t0=$(now)
"$BEEMOCTL" -q rebuild-index pc1 --json --password-file "$T/admin.pw" \
	>"$T/rebuild.out" 2>"$T/rebuild.err" || t_fail "rebuild-index: $(cat "$T/rebuild.err")"
put big.rebuild_s "$(since "$t0")"
grep -q '"rebuilt":true' "$T/rebuild.out" || t_fail "rebuild-index: $(cat "$T/rebuild.out")"
[ "$(files_in "$BEEMO_CONFIG" pc1)" -ge "$FILES" ] ||
	t_fail "after rebuild-index the latest snapshot has $(files_in "$BEEMO_CONFIG" pc1) files"

if [ $RECOVER = 1 ]; then
	t_log "push"
	t0=$(now)
	sync_run push push -q || t_fail "push: $(cat "$T/push.err")"
	put big.push_s "$(since "$t0")"
	t_log "recover"
	t0=$(now)
	sync_run rec recover -q --target a --store "$T/rec" \
		--password-file "$T/admin.pw" || t_fail "recover: $(cat "$T/rec.err")"
	put big.recover_s "$(since "$t0")"
	[ "$("$BEEMOCTL" -s "$T/rec" snapshots pc1 --json --password-file "$T/admin.pw" |
		python3 -c 'import json, sys
print(json.load(sys.stdin)["snapshots"][-1]["files"])')" -ge "$FILES" ] ||
		t_fail "the recovered store lacks files"
	put big.store_bytes "$(du -sb "$T/store/machines/pc1" | cut -f1)"
	rm -rf "$T/rec" "$T/center_a"
fi

# ---- report
python3 - "$FILES" "$FLAT" "$BASE" "$(for k in "${!R[@]}"; do echo "$k=${R[$k]}"; done)" <<'PY'
import sys
files, flat, base = (int(x) for x in sys.argv[1:4])
R = {}
for line in sys.argv[4].splitlines():
    k, _, v = line.partition("=")
    try:
        R[k] = float(v)
    except ValueError:
        R[k] = v
g = R.get
def met(ok):
    return "met" if ok else "NOT met"
print(f"# A million files: {files:,} files ({flat:,} in one directory), baseline {base:,}\n")
print("| tenth | layout | files | files/s | vs baseline | beemofs RssAnon MB | RssFile MB | VmHWM MB |")
print("|---|---|---|---|---|---|---|---|")
brate = base / g("base.write_s")
rates = []
for t in range(1, 11):
    r = g(f"big.t{t}.rate")
    if r is None:
        continue
    rates.append(r)
    print(f"| {t} | {g(f'big.t{t}.layout')} | {files * t // 10:,} | {r:.0f} | "
          f"{r / brate:.2f} | {g(f'big.t{t}.anon_kb') / 1024:.0f} | "
          f"{g(f'big.t{t}.file_kb') / 1024:.0f} | {g(f'big.t{t}.hwm_kb') / 1024:.0f} |")
print()
h1, h10 = g("big.t1.hwm_kb"), g("big.t10.hwm_kb")
a1, a10 = g("big.t1.anon_kb"), g("big.t10.anon_kb")
bi = g("base.index_bytes") / base
ii = g("big.index_bytes") / files
srate = files / g("big.ingest_s")
sbase = base / g("base.ingest_s")
print("| measure | baseline | big set | goal | |")
print("|---|---|---|---|---|")
print(f"| ingest, files/s (writing) | {brate:.0f} | {files / g('big.write_s'):.0f} | "
      f"every tenth ≥ 0.8× the baseline (slowest {min(rates):.0f}) | {met(min(rates) >= 0.8 * brate)} |")
print(f"| ingest, files/s (to the first snapshot) | {sbase:.0f} | {srate:.0f} | ≥ 0.8× the baseline | {met(srate >= 0.8 * sbase)} |")
print(f"| first snapshot (waits for pending commits), s | {g('base.snapshot_first_s'):.2f} | {g('big.snapshot_first_s'):.2f} | | |")
s0, s1 = g("base.snapshot_s"), g("big.snapshot_s")
print(f"| snapshot after one change, s | {s0:.3f} | {s1:.3f} | O(1): ≤ 2× the baseline + 0.1 s | {met(s1 <= 2 * s0 + 0.1)} |")
if g("big.ls_f_s") is not None:
    print(f"| `ls -f` of the {flat:,}-entry directory, cold, s | | {g('big.ls_f_s'):.2f} | < 1 s | {met(g('big.ls_f_s') < 1)} |")
    print(f"| `ls -l` of the {flat:,}-entry directory, cold, s | | {g('big.ls_l_s'):.2f} | < 1 s | {met(g('big.ls_l_s') < 1)} |")
    print(f"| beemofs VmHWM after both listings (fresh daemon), MB | | {g('big.ls_hwm_kb') / 1024:.0f} | reported | |")
print(f"| beemofs private memory (RssAnon), MB: first tenth → last tenth | {g('base.t10.anon_kb') / 1024:.0f} | {a1 / 1024:.0f} → {a10 / 1024:.0f} | flat: last ≤ 1.2× first + 10 MB | {met(a10 <= 1.2 * a1 + 10240)} |")
print(f"| beemofs VmHWM (with the index's mapped pages), MB: first tenth → last tenth | {g('base.hwm_kb') / 1024:.0f} | {h1 / 1024:.0f} → {h10 / 1024:.0f} | reported | |")
print(f"| index bytes per file | {bi:.0f} | {ii:.0f} | reported | |")
print(f"| `beemoctl rebuild-index`, s | | {g('big.rebuild_s'):.1f} ({files / g('big.rebuild_s'):.0f} files/s) | reported | |")
if g("big.recover_s") is not None:
    print(f"| push to a local center, s | | {g('big.push_s'):.1f} ({g('big.store_bytes') / 1e6:.0f} MB stored) | reported | |")
    print(f"| `beemo-sync recover` (with the index rebuild), s | | {g('big.recover_s'):.1f} | reported | |")
PY
