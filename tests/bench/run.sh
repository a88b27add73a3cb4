#!/bin/bash
# run.sh -- Beemo's benchmark: the same corpora through plain cp -a, a
# pass-through FUSE mount (low-level, writeback cache), restic, borg and
# beemofs, in one invocation, so that ratios are meaningful on a shared,
# noisy machine.  Not a test: it prints figures, it does not judge them
# (except for listing which targets of the issue are met).
#
#   tests/bench/run.sh [--reps N] [--corpus large|small|both]
#                      [--build DIR] [--only all|baselines|beemo]
#                      [--sigs-scale F]
#
# Corpora (tests/bench/corpus.sh, cached under /var/tmp): large = 2 GiB in
# two files, 1 GiB incompressible and 1 GiB VM-image-like; small = about
# 20,000 real files from /usr, 400 MB.  Every write includes a final sync;
# caches are dropped before every read.  Medians of --reps (default 3).
# beemofs's ingest ends with `beemoctl snapshot`, which waits for every
# file's commit (a file's scan and commit may run after its close()).
# With the small corpus, beemofs also ingests it once with a synthetic
# signature set of ClamAV's real size (gen_sigs.py --scale F, default 1;
# 0 skips it), against the scan-bound limit: cores / libclamav's mean
# scan time per file of that corpus (av_cost.c).
# Results: a Markdown report on stdout ending with issue 17's table
# (every row, the goals and whether each is met), results.json in the
# work dir.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPS=3
WHICH=both
ONLY=all
BUILD=$HERE/../../build
SIGS_SCALE=1
while [ $# -gt 0 ]; do
	case $1 in
	--reps) REPS=$2; shift 2 ;;
	--corpus) WHICH=$2; shift 2 ;;
	--only) ONLY=$2; shift 2 ;;
	--build) BUILD=$2; shift 2 ;;
	--sigs-scale) SIGS_SCALE=$2; shift 2 ;;
	*) sed -n '2,24p' "$0" >&2; exit 2 ;;
	esac
done
BUILD=$(cd "$BUILD" && pwd)
CORPUS=${BEEMO_BENCH_CORPUS:-/var/tmp/beemo-bench-corpus}
W=${BEEMO_BENCH_WORK:-/var/tmp/beemo-bench-work}
BEEMOCTL=$BUILD/tools/beemoctl
BEEMOFS=$BUILD/fs/beemofs

. "$HERE/lib.sh"

[ "$(id -u)" = 0 ] || die "run as root (mounts, drop_caches)"
avail=$(df -Pk /var/tmp | awk 'NR == 2 { print int($4 / 1024) }')
[ "$avail" -gt 15000 ] || die "need 15 GB free under /var/tmp (have $avail MB)"
"$HERE/corpus.sh" --corpus "$WHICH" "$CORPUS" >&2
for p in restic borg; do
	command -v $p >/dev/null || apt-get install -y -qq restic borgbackup >&2
done
command -v /usr/bin/time >/dev/null || apt-get install -y -qq time >&2

trap cleanup EXIT
rm -rf "$W"
mkdir -p "$W"

# The pass-through file system the anchors were measured with.
cc -O2 -o "$W/passthrough_ll" "$HERE/passthrough_ll.c" \
	$(pkg-config --cflags --libs fuse3) -lpthread

# beemo_ingest DIR SRC: copy SRC into the backup session of DIR, sync,
# and snapshot (which waits for every file's scan and commit).
beemo_ingest() {
	cp -a "$2/." "$1/mnt/" && sync &&
		BEEMO_CONFIG=$1/beemo.conf "$BEEMOCTL" snapshot pc1 >/dev/null
}
# beemo_check DIR FILES: the latest snapshot of DIR's store has FILES
# files (else the figures measured nothing).
beemo_check() {
	local f
	f=$(BEEMO_CONFIG=$1/beemo.conf "$BEEMOCTL" snapshots pc1 --json \
		--password-file "$1/admin.pw" | python3 -c 'import json, sys
print(json.load(sys.stdin)["snapshots"][-1]["files"])')
	[ "$f" = "$2" ] || die "$1: the snapshot has $f files, not $2"
}

# ---- one corpus -------------------------------------------------------------
# run_corpus NAME SRC: every system, REPS times.
run_corpus() {
	local name=$1 src=$2 size nfiles r t a=() b=() c=() d=() e=() f=()
	local rs=() rr=() br=() bx=() ru=() bu=() bs=() bsr=() hwm=()
	local pt=() ptr=() sc=() up=() snap=() g=()
	size=$(bytes_of "$src")
	nfiles=$(files_of "$src")
	put "$name.bytes" "$size"
	put "$name.files" "$nfiles"
	for r in $(seq 1 "$REPS"); do
		log "$name: round $r of $REPS"
		if [ "$ONLY" != beemo ]; then
			# plain cp -a
			rm -rf "$W/plain"; mkdir -p "$W/plain"; drop
			timed t sh -c "cp -a '$src/.' '$W/plain/' && sync"; a+=("$t")
			drop; timed t readall "$W/plain"; b+=("$t")
			rm -rf "$W/plain"
			# pass-through FUSE
			rm -rf "$W/pt-src" "$W/pt"; mkdir -p "$W/pt-src" "$W/pt"
			"$W/passthrough_ll" "$W/pt" -o "source=$W/pt-src"
			MOUNTS+=("$W/pt")
			drop
			timed t sh -c "cp -a '$src/.' '$W/pt/' && sync"; pt+=("$t")
			fusermount3 -u "$W/pt"
			"$W/passthrough_ll" "$W/pt" -o "source=$W/pt-src"
			drop; timed t readall "$W/pt"; ptr+=("$t")
			fusermount3 -u "$W/pt"; rm -rf "$W/pt-src"
			# restic
			rm -rf "$W/restic" "$W/restic-out"
			export RESTIC_PASSWORD=bench RESTIC_REPOSITORY=$W/restic
			restic init -q >/dev/null
			drop
			timed t sh -c "cd '$src' && /usr/bin/time -f %M -o '$W/restic.mem' restic backup -q . >/dev/null && sync"
			rs+=("$t")
			put "$name.restic.peak_kb" "$(cat "$W/restic.mem")"
			drop
			timed t sh -c "restic restore -q latest --target '$W/restic-out' && sync"
			rr+=("$t")
			timed t sh -c "cd '$src' && restic backup -q . >/dev/null"; ru+=("$t")
			put "$name.restic.repo_bytes" "$(du -sb "$W/restic" | cut -f1)"
			rm -rf "$W/restic-out"
			# borg (lz4, like the anchors)
			rm -rf "$W/borg" "$W/borg-out"
			export BORG_PASSPHRASE=bench BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes
			borg init -e repokey "$W/borg" >/dev/null 2>&1
			drop
			timed t sh -c "cd '$src' && /usr/bin/time -f %M -o '$W/borg.mem' borg create --compression lz4 '$W/borg::a' . && sync"
			br+=("$t")
			put "$name.borg.peak_kb" "$(cat "$W/borg.mem")"
			mkdir -p "$W/borg-out"; drop
			timed t sh -c "cd '$W/borg-out' && borg extract '$W/borg::a' && sync"
			bx+=("$t")
			timed t sh -c "cd '$src' && borg create --compression lz4 '$W/borg::b' ."
			bu+=("$t")
			put "$name.borg.repo_bytes" "$(du -sb "$W/borg" | cut -f1)"
			rm -rf "$W/borg-out"
		fi
		if [ "$ONLY" != baselines ]; then
			local bd=$W/beemo
			# scanning off, then on: the antivirus's cost
			beemo_setup "$bd" off; beemo_mount "$bd"; drop
			timed t beemo_ingest "$bd" "$src"; sc+=("$t")
			beemo_umount "$bd"
			beemo_check "$bd" "$nfiles"
			beemo_setup "$bd" on
			t0=$(now); beemo_mount "$bd"
			put "$name.beemo.mount_s" "$(echo "$(now) - $t0" | bc -l)"
			drop
			timed t beemo_ingest "$bd" "$src"; c+=("$t")
			hwm+=("$(beemo_hwm)")
			# unchanged re-run
			timed t rsync -a "$src/" "$bd/mnt/"; up+=("$t")
			beemo_umount "$bd"
			beemo_check "$bd" "$nfiles"
			put "$name.beemo.store_bytes" "$(du -sb "$bd/store/machines" | cut -f1)"
			# restore: read back through /.snapshots after drop caches
			beemo_ro "$bd"; drop
			timed t readall "$bd/ro/.snapshots/1"; d+=("$t")
			beemo_ro_off "$bd"
			if [ "$name" = small ]; then
				# snapshot after changing 1 % of the files
				beemo_mount "$bd"
				find "$bd/mnt" -type f | awk 'NR % 100 == 0' |
					while read -r f; do echo change >>"$f"; done
				sync
				timed t env BEEMO_CONFIG="$bd/beemo.conf" \
					"$BEEMOCTL" snapshot pc1 >/dev/null
				snap+=("$t")
				beemo_umount "$bd"
			fi
		fi
	done
	[ ${#a[@]} = 0 ] || {
		put "$name.plain.ingest_s" "$(median "${a[@]}")"
		put "$name.plain.read_s" "$(median "${b[@]}")"
		put "$name.passthrough.ingest_s" "$(median "${pt[@]}")"
		put "$name.passthrough.read_s" "$(median "${ptr[@]}")"
		put "$name.restic.backup_s" "$(median "${rs[@]}")"
		put "$name.restic.restore_s" "$(median "${rr[@]}")"
		put "$name.restic.rerun_s" "$(median "${ru[@]}")"
		put "$name.borg.create_s" "$(median "${br[@]}")"
		put "$name.borg.extract_s" "$(median "${bx[@]}")"
		put "$name.borg.rerun_s" "$(median "${bu[@]}")"
	}
	[ ${#c[@]} = 0 ] || {
		put "$name.beemo.ingest_s" "$(median "${c[@]}")"
		put "$name.beemo.ingest_noscan_s" "$(median "${sc[@]}")"
		put "$name.beemo.read_s" "$(median "${d[@]}")"
		put "$name.beemo.rerun_s" "$(median "${up[@]}")"
		put "$name.beemo.peak_kb" "$(printf '%s\n' "${hwm[@]}" | sort -n | tail -1)"
		[ ${#snap[@]} = 0 ] ||
			put "$name.beemo.snapshot_1pct_s" "$(median "${snap[@]}")"
	}
}

# growth of each store after 4 KiB inserted in the middle of vm.img
insertion() {
	local src=$CORPUS/large/vm.img half
	half=$(( $(stat -c %s "$src") / 2 ))
	mkdir -p "$W/ins"
	{ head -c "$half" "$src"; head -c 4096 /dev/urandom;
		tail -c +$((half + 1)) "$src"; } >"$W/ins/vm.img"
	if [ "$ONLY" != baselines ]; then
		local bd=$W/beemo-ins before
		beemo_setup "$bd" on; beemo_mount "$bd"
		cp "$src" "$bd/mnt/vm.img"; beemo_umount "$bd"
		before=$(du -sb "$bd/store/machines" | cut -f1)
		beemo_mount "$bd"; cp "$W/ins/vm.img" "$bd/mnt/vm.img"
		beemo_umount "$bd"
		put "insert4k.beemo.growth_bytes" \
			"$(( $(du -sb "$bd/store/machines" | cut -f1) - before ))"
		rm -rf "$bd"
	fi
	if [ "$ONLY" != beemo ]; then
		local before
		rm -rf "$W/ri" "$W/bi"
		export RESTIC_PASSWORD=bench RESTIC_REPOSITORY=$W/ri
		restic init -q >/dev/null
		(cd "$CORPUS/large" && restic backup -q vm.img >/dev/null)
		before=$(du -sb "$W/ri" | cut -f1)
		(cd "$W/ins" && restic backup -q vm.img >/dev/null)
		put "insert4k.restic.growth_bytes" "$(( $(du -sb "$W/ri" | cut -f1) - before ))"
		borg init -e repokey "$W/bi" >/dev/null 2>&1
		(cd "$CORPUS/large" && borg create --compression lz4 "$W/bi::a" vm.img)
		before=$(du -sb "$W/bi" | cut -f1)
		(cd "$W/ins" && borg create --compression lz4 "$W/bi::b" vm.img)
		put "insert4k.borg.growth_bytes" "$(( $(du -sb "$W/bi" | cut -f1) - before ))"
		rm -rf "$W/ri" "$W/bi"
	fi
	rm -rf "$W/ins"
}

# small ingest with a synthetic signature set of ClamAV's real size: the
# scan-bound limit (cores / mean scan time per file of the corpus, by
# libclamav alone) and beemofs's ingest, once.
real_sigs() {
	local src=$CORPUS/small syn=/var/tmp/beemo-bench-sigs-$SIGS_SCALE
	local bd=$W/beemo-sigs t j every
	if [ ! -f "$syn/synth.ldb" ]; then
		log "generating the synthetic signature set (scale $SIGS_SCALE) in $syn"
		rm -rf "$syn.tmp"
		python3 "$HERE/gen_sigs.py" "$syn.tmp" --scale "$SIGS_SCALE"
		mv "$syn.tmp" "$syn"
	fi
	cc -O2 -o "$W/av_cost" "$HERE/av_cost.c" $(pkg-config --cflags --libs libclamav)
	every=$(( $(files_of "$src") / 2000 + 1 ))
	find "$src" -type f -size +0 | awk -v n="$every" 'NR % n == 0' >"$W/av.list"
	j=$("$W/av_cost" "$syn" "$W/av.list") || die "av_cost failed"
	put small.sigs.count "$(echo "$j" | python3 -c 'import json, sys; print(json.load(sys.stdin)["signatures"])')"
	put small.sigs.mean_us "$(echo "$j" | python3 -c 'import json, sys; print(json.load(sys.stdin)["mean_us"])')"
	put small.sigs.cores "$(nproc)"
	beemo_setup "$bd" on
	sed -i "s|^signatures = .*|signatures = $syn|" "$bd/beemo.conf"
	t0=$(now); beemo_mount "$bd"
	put small.sigs.mount_s "$(echo "$(now) - $t0" | bc -l)"
	drop
	timed t beemo_ingest "$bd" "$src"
	put small.sigs.ingest_s "$t"
	put small.sigs.peak_kb "$(beemo_hwm)"
	local p sc=0
	for p in $(pgrep -x beemo-scand || true); do
		tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qF "$bd/" ||
			tr '\0' '\n' <"/proc/$p/cmdline" 2>/dev/null | grep -qF "$bd/" ||
			continue
		sc=$((sc + $(awk '/VmHWM/ { print $2 }' "/proc/$p/status")))
	done
	[ "$sc" = 0 ] || put small.sigs.scand_kb "$sc"
	beemo_umount "$bd"
	beemo_check "$bd" "$(files_of "$src")"
	rm -rf "$bd"
}

[ "$WHICH" = small ] || run_corpus large "$CORPUS/large"
[ "$WHICH" = large ] || run_corpus small "$CORPUS/small"
[ "$WHICH" = large ] || [ "$ONLY" = baselines ] || [ "$SIGS_SCALE" = 0 ] || real_sigs
[ "$WHICH" = small ] || insertion

# ---- report -------------------------------------------------------------------
python3 - "$W/results.json" "$(for k in "${!R[@]}"; do echo "$k=${R[$k]}"; done)" <<'PY'
import json, sys
out, text = sys.argv[1], sys.argv[2]
R = {}
for line in text.splitlines():
    k, _, v = line.partition("=")
    try:
        R[k] = float(v)
    except ValueError:
        R[k] = v
json.dump(R, open(out, "w"), indent=1, sort_keys=True)
g = R.get
def rate(c, key, unit="MB/s"):
    t = g(f"{c}.{key}")
    if not t:
        return None
    return g(f"{c}.bytes") / t / 1e6 if unit == "MB/s" else g(f"{c}.files") / t
print("## Beemo benchmark (medians)\n")
for c in ("large", "small"):
    if g(f"{c}.bytes") is None:
        continue
    print(f"### {c} corpus: {g(c + '.files'):.0f} files, {g(c + '.bytes') / 1e6:.0f} MB\n")
    print("| system | ingest MB/s | ingest files/s | read back MB/s | unchanged re-run s | stored/data |")
    print("|---|---|---|---|---|---|")
    rows = [("plain cp -a", "plain.ingest_s", "plain.read_s", None, None),
            ("pass-through FUSE", "passthrough.ingest_s", "passthrough.read_s", None, None),
            ("restic", "restic.backup_s", "restic.restore_s", "restic.rerun_s", "restic.repo_bytes"),
            ("borg (lz4)", "borg.create_s", "borg.extract_s", "borg.rerun_s", "borg.repo_bytes"),
            ("beemofs, scan off", "beemo.ingest_noscan_s", None, None, None),
            ("beemofs", "beemo.ingest_s", "beemo.read_s", "beemo.rerun_s", "beemo.store_bytes")]
    for name, ing, rd, rr, sz in rows:
        if g(f"{c}.{ing}") is None:
            continue
        cells = [f"{rate(c, ing):.0f}", f"{rate(c, ing, 'f'):.0f}",
                 f"{rate(c, rd):.0f}" if rd and g(f"{c}.{rd}") else "",
                 f"{g(f'{c}.{rr}'):.1f}" if rr and g(f"{c}.{rr}") else "",
                 f"{g(f'{c}.{sz}') / g(c + '.bytes'):.2f}" if sz and g(f"{c}.{sz}") else ""]
        print(f"| {name} | " + " | ".join(cells) + " |")
    print()
    def ratio(a, b):
        x, y = g(f"{c}.{a}"), g(f"{c}.{b}")
        return y / x if x and y else None   # times: b/a = speed of a vs b
    lines = []
    def line(label, v, target=None, higher=True):
        if v is None:
            return
        met = "" if target is None else (" (met)" if (v >= target if higher else v <= target) else " (NOT met)")
        lines.append(f"- {label}: {v:.2f}{met}")
    line("ingest, beemofs / pass-through", ratio("beemo.ingest_s", "passthrough.ingest_s"), 0.8 if c == "large" else 1.0)
    line("read back, beemofs / pass-through", ratio("beemo.read_s", "passthrough.read_s"), 0.8)
    line("ingest, beemofs / restic", ratio("beemo.ingest_s", "restic.backup_s"), 1.0)
    line("ingest, beemofs / borg", ratio("beemo.ingest_s", "borg.create_s"), 1.0)
    line("restore, beemofs / restic", ratio("beemo.read_s", "restic.restore_s"), 1.0)
    line("restore, beemofs / borg", ratio("beemo.read_s", "borg.extract_s"), 1.0)
    sb, rb = g(f"{c}.beemo.store_bytes"), g(f"{c}.restic.repo_bytes")
    if sb and rb:
        line("stored size, beemofs / restic", sb / rb, 1.0, higher=False)
    a, b = g(f"{c}.beemo.ingest_noscan_s"), g(f"{c}.beemo.ingest_s")
    if a and b:
        lines.append(f"- antivirus cost: ingest {100 * (b - a) / a:+.1f} % of the time without scanning (target <= 15 %)")
    if g(f"{c}.beemo.peak_kb"):
        line("beemofs peak memory, MB", g(f"{c}.beemo.peak_kb") / 1024, 100, higher=False)
    if g(f"{c}.beemo.mount_s"):
        lines.append(f"- beemofs start with the signature engine: {g(c + '.beemo.mount_s'):.2f} s")
    if g(f"{c}.beemo.snapshot_1pct_s"):
        lines.append(f"- snapshot after changing 1 % of the files: {g(c + '.beemo.snapshot_1pct_s'):.2f} s")
    print("\n".join(lines) + "\n")
for s in ("beemo", "restic", "borg"):
    v = g(f"insert4k.{s}.growth_bytes")
    if v is not None:
        r = g("insert4k.restic.growth_bytes")
        tgt = " (target <= restic: " + ("met" if v <= r else "NOT met") + ")" if s == "beemo" and r else ""
        print(f"- growth after 4 KiB inserted mid-file, {s}: {v / 1e3:.0f} KB{tgt}")

# ---- issue 17's table: every row, the goals, met or not ----
def t(c, k):
    return g(f"{c}.{k}")
def mbs(c, k):
    v = t(c, k)
    return g(f"{c}.bytes") / v / 1e6 if v and g(f"{c}.bytes") else None
def fps(c, k):
    v = t(c, k)
    return g(f"{c}.files") / v if v and g(f"{c}.files") else None
def f0(v, fmt="{:.0f}"):
    return "" if v is None else fmt.format(v)
def verdict(*conds):
    if any(x is None for x in conds):
        return "not measured"
    return "met" if all(conds) else "NOT met"
def ge(a, b, k=1.0):
    return None if a is None or b is None else a >= k * b
def le(a, b, k=1.0):
    return None if a is None or b is None else a <= k * b
rows = []
b, p, r, o = (fps("small", "beemo.ingest_s"), fps("small", "passthrough.ingest_s"),
              fps("small", "restic.backup_s"), fps("small", "borg.create_s"))
n = g("small.files")
what = f" ({n:,.0f} files, {g('small.bytes') / 1e6:.0f} MB)" if n else ""
rows.append((f"small corpus ingest{what}, files/s, test signatures",
             f0(b), f0(p), f0(r), f0(o), "≥ restic", verdict(ge(b, r))))
lim = None
if g("small.sigs.mean_us"):
    lim = g("small.sigs.cores") / (g("small.sigs.mean_us") / 1e6)
s = fps("small", "sigs.ingest_s")
sn = g("small.sigs.count")
rows.append((f"same, real-sized signatures" + (f" ({sn:,.0f})" if sn else "") + ", files/s",
             f0(s), "", "", "", "≥ 0.85× the scan-bound limit" + (f" ({lim:.0f} files/s)" if lim else ""),
             verdict(ge(s, lim, 0.85))))
a, bb = t("small", "beemo.ingest_noscan_s"), t("small", "beemo.ingest_s")
cost = 100 * (bb - a) / a if a and bb else None
rows.append(("same, antivirus cost (% of the time without scanning)",
             f0(cost, "{:+.0f} %"), "", "", "", "≤ 15 %", verdict(le(cost, 15))))
b, p, r, o = (mbs("large", "beemo.ingest_s"), mbs("large", "passthrough.ingest_s"),
              mbs("large", "restic.backup_s"), mbs("large", "borg.create_s"))
rows.append(("large corpus ingest, MB/s", f0(b), f0(p), f0(r), f0(o),
             "≥ 0.8× pass-through and ≥ borg", verdict(ge(b, p, 0.8), ge(b, o))))
b, p, r, o = (mbs("large", "beemo.read_s"), mbs("large", "passthrough.read_s"),
              mbs("large", "restic.restore_s"), mbs("large", "borg.extract_s"))
rows.append(("large read back, MB/s (restic: restore, borg: extract)", f0(b), f0(p),
             f0(r), f0(o), "≥ 0.8× pass-through", verdict(ge(b, p, 0.8))))
b, p, r, o = (mbs("small", "beemo.read_s"), mbs("small", "passthrough.read_s"),
              mbs("small", "restic.restore_s"), mbs("small", "borg.extract_s"))
rows.append(("small read back / restore, MB/s", f0(b), f0(p), f0(r), f0(o),
             "≥ restic", verdict(ge(b, r))))
def ratio(c, k):
    v = t(c, k)
    return v / g(f"{c}.bytes") if v and g(f"{c}.bytes") else None
def pair(k):
    x, y = ratio("small", k), ratio("large", k)
    return f"{f0(x, '{:.2f}') or '–'} · {f0(y, '{:.2f}') or '–'}", x, y
(bs, bx, by), (rs, rx, ry), (os_, ox, oy) = pair("beemo.store_bytes"), pair("restic.repo_bytes"), pair("borg.repo_bytes")
sv = [c for c in (le(bx, rx), le(by, ry)) if c is not None]
rows.append(("stored / data, small · large", bs, "", rs, os_, "≤ restic",
             verdict(*sv) + ("" if len(sv) != 1 else " (one corpus)") if sv else "not measured"))
gb, gr, go = (g(f"insert4k.{s}.growth_bytes") for s in ("beemo", "restic", "borg"))
kb = lambda v: "" if v is None else f"{v / 1e3:.0f} KB"
rows.append(("growth after 4 KiB inserted mid-file", kb(gb), "", kb(gr), kb(go),
             "≤ restic", verdict(le(gb, gr))))
pb, pr, po = (g(f"small.{s}.peak_kb") for s in ("beemo", "restic", "borg"))
mb_ = lambda v: "" if v is None else f"{v / 1024:.0f} MB"
rows.append(("daemon peak memory, small corpus", mb_(pb), "", mb_(pr), mb_(po),
             "≤ 100 MB", verdict(le(pb and pb / 1024, 100))))
if g("small.sigs.peak_kb"):
    ps, sc = g("small.sigs.peak_kb"), g("small.sigs.scand_kb")
    rows.append(("same, real-sized signatures (beemofs; the shared scanner apart)",
                 mb_(ps) + (f" + beemo-scand {mb_(sc)}" if sc else ""), "", "", "",
                 "≤ 100 MB per session", verdict(le(ps / 1024, 100))))
print("\n## Issue 17's table\n")
print("| measure | beemofs | pass-through FUSE | restic | borg | goal | met |")
print("|---|---|---|---|---|---|---|")
for row in rows:
    print("| " + " | ".join(row) + " |")
PY
log "results: $W/results.json"
