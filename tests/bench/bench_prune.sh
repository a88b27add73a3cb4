#!/bin/bash
# bench_prune.sh -- forgetting and reclaiming space, against restic and
# borg on the same history, in one invocation.
#
#   tests/bench/bench_prune.sh [--build DIR] [--rounds N] [--forget K]
#
# The small corpus of corpus.sh (about 20,000 files, 400 MB) is backed
# up N times (default 10) by each system; between two backups 10 % of
# the files, chosen with a seeded shuffle, get a line appended.  Then
# the K oldest backups (default 5) are forgotten and the space
# reclaimed: `beemoctl forget --keep-last` and `beemoctl prune`,
# `restic forget --keep-last --prune`, `borg prune --keep-last` and
# `borg compact`.  Reported per system: the time and peak memory of
# forgetting plus reclaiming, the repository size before and after, and
# the bytes reclaimed.  Not a test: it prints figures.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=$HERE/../../build
ROUNDS=10
FORGET=5
while [ $# -gt 0 ]; do
	case $1 in
	--build) BUILD=$2; shift 2 ;;
	--rounds) ROUNDS=$2; shift 2 ;;
	--forget) FORGET=$2; shift 2 ;;
	*) sed -n '2,15p' "$0" >&2; exit 2 ;;
	esac
done
BUILD=$(cd "$BUILD" && pwd)
CORPUS=${BEEMO_BENCH_CORPUS:-/var/tmp/beemo-bench-corpus}
W=${BEEMO_BENCH_WORK:-/var/tmp/beemo-bench-prune}
BEEMOCTL=$BUILD/tools/beemoctl
BEEMOFS=$BUILD/fs/beemofs
KEEP=$((ROUNDS - FORGET))

. "$HERE/lib.sh"

[ "$(id -u)" = 0 ] || die "run as root (mounts)"
"$HERE/corpus.sh" --corpus small "$CORPUS" >&2
for p in restic borg rsync; do
	command -v $p >/dev/null ||
		apt-get install -y -qq restic borgbackup rsync >&2
done
command -v /usr/bin/time >/dev/null || apt-get install -y -qq time >&2
trap cleanup EXIT
rm -rf "$W"
mkdir -p "$W"

src=$W/src
cp -a "$CORPUS/small" "$src"
mapfile -t FILES < <(cd "$src" && find . -type f | sort)
n_change=$((${#FILES[@]} / 10))

# change ROUND: append a line to 10 % of the files (seeded per round).
change() {
	local f
	printf '%s\n' "${FILES[@]}" |
		shuf -n "$n_change" --random-source=<(yes "beemo-prune-$1") |
		while IFS= read -r f; do
			printf 'round %s of the prune benchmark\n' "$1" >>"$src/$f"
		done
}

export RESTIC_PASSWORD=bench RESTIC_REPOSITORY=$W/restic
export BORG_PASSPHRASE=bench BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes
restic init -q >/dev/null
borg init -e repokey "$W/borg" >/dev/null 2>&1
bd=$W/beemo
beemo_setup "$bd" on

for r in $(seq 1 "$ROUNDS"); do
	log "backup $r of $ROUNDS"
	[ "$r" -gt 1 ] && change "$r"
	(cd "$src" && restic backup -q . >/dev/null)
	(cd "$src" && borg create --compression lz4 "$W/borg::r$r" .)
	beemo_mount "$bd"
	rsync -a --delete "$src/" "$bd/mnt/"
	beemo_umount "$bd"
done

repo_bytes() { du -sb "$1" | cut -f1; }
# measure NAME DIR CMD...: time and peak memory of CMD, DIR's size
# before and after.
measure() {
	local name=$1 dir=$2 before after t
	shift 2
	before=$(repo_bytes "$dir")
	timed t /usr/bin/time -f %M -o "$W/$name.mem" "$@"
	after=$(repo_bytes "$dir")
	put "$name.seconds" "$t"
	put "$name.peak_kb" "$(sort -n "$W/$name.mem" | tail -1)"
	put "$name.before" "$before"
	put "$name.after" "$after"
	put "$name.reclaimed" "$((before - after))"
}
C="BEEMO_CONFIG=$bd/beemo.conf $BEEMOCTL"
P="--password-file $bd/admin.pw"
measure beemo "$bd/store/machines" sh -c "$C forget pc1 --keep-last $KEEP --min-age 0 \
	--yes $P >/dev/null && $C prune pc1 $P >/dev/null"
measure restic "$W/restic" restic forget -q --keep-last "$KEEP" --prune
measure borg "$W/borg" sh -c "borg prune --keep-last $KEEP '$W/borg' &&
	borg compact '$W/borg'"

printf '\n| %s | %s | %s | %s | %s | %s |\n|---|---|---|---|---|---|\n' \
	system seconds "peak MB" "before MB" "after MB" "reclaimed MB"
for s in beemo restic borg; do
	printf '| %s | %.2f | %s | %s | %s | %s |\n' "$s" "${R[$s.seconds]}" \
		"$((${R[$s.peak_kb]} / 1024))" "$(mb "${R[$s.before]}")" \
		"$(mb "${R[$s.after]}")" "$(mb "${R[$s.reclaimed]}")"
done
