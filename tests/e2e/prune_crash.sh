#!/bin/bash
# prune_crash.sh -- kill -9 of `beemoctl prune` at any moment:
#   - a session writes eight 160 KiB incompressible files (a chunk each)
#     in packs of 256 KiB, then deletes them one by one with a snapshot
#     before each deletion, so that forgetting the oldest snapshot frees
#     one file;
#   - 30 rounds: forget the oldest snapshot when the last prune had
#     completed, start `beemoctl prune`, kill -9 it after 0 to as long
#     as a whole prune takes here (varied), then the store must check
#     clean and every remaining snapshot read byte-exact in a restore
#     session (against the sums taken before any prune);
#   - a final prune completes and leaves no garbage in any pack (a dry
#     run at a 1 % threshold finds nothing), and `check --read-data` is
#     clean.
. "$(dirname "$0")/lib.sh"

MNT="$T/mnt"
PW=(--password-file "$T/admin.pw")
PACKS="$T/store/machines/pc1/packs"
t_config "[store]" "pack_size = 256K"
t_appliance
t_mount "$MNT"
mkdir -p "$MNT/keep" "$MNT/data"
head -c 64K /dev/urandom >"$MNT/keep/k1"
for i in $(seq 1 8); do
	head -c 160K /dev/urandom >"$MNT/data/d$i"
done
sync -f "$MNT"
for i in $(seq 1 7); do
	"$BEEMOCTL" snapshot pc1 >/dev/null || t_fail "snapshot $i"
	rm "$MNT/data/d$i"
done
t_umount "$MNT"

R="$T/ro"
# Every snapshot as a restore session shows it: one sum file per id.
sums_all() { # DIR
	local d
	mkdir -p "$1"
	t_mount_session "$R" "machine=pc1,user=alice,passfile=$T/alice.pw"
	for d in "$R/.snapshots/"*; do
		t_sums "$d" >"$1/${d##*/}"
	done
	t_umount "$R"
}
read -ra IDS <<<"$(t_snapshot_ids)"
[ "${#IDS[@]}" -ge 8 ] || t_fail "snapshots: ${IDS[*]}"
sums_all "$T/ref"
[ "$(ls "$T/ref" | wc -l)" = "${#IDS[@]}" ] || t_fail "snapshots listed"

verify() { # ROUND
	local f
	"$BEEMOCTL" check pc1 "${PW[@]}" >"$T/check.out" 2>&1 ||
		t_fail "round $1: check: $(cat "$T/check.out")"
	rm -rf "$T/now"
	sums_all "$T/now"
	for f in "$T/now/"*; do
		cmp -s "$f" "$T/ref/${f##*/}" ||
			t_fail "round $1: snapshot ${f##*/} differs"
	done
	LEFT=$(t_snapshot_ids)
	[ "$(ls "$T/now" | sort -n | tr '\n' ' ')" = "$LEFT " ] ||
		t_fail "round $1: the session lists other snapshots"
}

# How long a prune of one forgotten snapshot takes here, measured on a
# copy of the store: the kills land between 0 and that long.
cp -a "$T/store" "$T/timing"
read -ra left <<<"$(t_snapshot_ids)"
"$BEEMO_PRUNE_FORGET" "$T/timing" pc1 "$T/admin.pw" "${left[0]}" ||
	t_fail "forget in the copy"
T0=${EPOCHREALTIME/./}
"$BEEMOCTL" -q --store "$T/timing" prune pc1 "${PW[@]}" >/dev/null ||
	t_fail "timing prune"
SPAN=$(((${EPOCHREALTIME/./} - T0) / 1000))
rm -rf "$T/timing"
t_log "a prune takes $SPAN ms"

done_last=1 killed=0 completed=0 LEFT=$(t_snapshot_ids)
packs_bytes() {
	find "$PACKS" -type f -printf '%s\n' | awk '{s += $1} END {print s}'
}
B0=$(packs_bytes)
for r in $(seq 1 30); do
	T0=${EPOCHREALTIME/./}
	if [ $done_last = 1 ]; then
		read -ra left <<<"$LEFT"
		if [ "${#left[@]}" -gt 2 ]; then
			"$BEEMO_PRUNE_FORGET" "$T/store" pc1 "$T/admin.pw" \
				"${left[0]}" || t_fail "round $r: forget"
		fi
	fi
	ms=$((((r * 37) % 31) * SPAN / 30))
	delay=$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))
	"$BEEMOCTL" -q prune pc1 "${PW[@]}" >"$T/prune.out" 2>&1 &
	pid=$!
	sleep "$delay"
	kill -9 "$pid" 2>/dev/null || true
	rc=0
	wait "$pid" || rc=$?
	if [ $rc = 0 ]; then
		done_last=1 completed=$((completed + 1))
	elif [ $rc = 137 ]; then
		done_last=0 killed=$((killed + 1))
	else
		t_fail "round $r: prune failed ($rc): $(cat "$T/prune.out")"
	fi
	T1=${EPOCHREALTIME/./}
	verify "$r"
	T2=${EPOCHREALTIME/./}
	t_log "round $r: rc $rc, prune $(((T1 - T0) / 1000)) ms," \
		"verify $(((T2 - T1) / 1000)) ms"
done
t_log "$killed prunes killed, $completed completed"
[ $killed -ge 10 ] || t_fail "only $killed of 30 prunes were killed"

"$BEEMOCTL" prune pc1 --repack-threshold 1 --json "${PW[@]}" \
	>"$T/final.json" || t_fail "final prune"
verify final
"$BEEMOCTL" check pc1 --read-data "${PW[@]}" >"$T/check.out" ||
	t_fail "check --read-data: $(cat "$T/check.out")"
B1=$(packs_bytes)
t_log "packs: $B0 -> $B1 bytes; $(echo "$LEFT" | wc -w) snapshots left"
# Something was reclaimed, and nothing is left to reclaim: no garbage in
# any pack (every log object is live while there is no checkpoint).
[ "$B1" -lt "$B0" ] || t_fail "nothing reclaimed ($B0 -> $B1 bytes)"
"$BEEMOCTL" prune pc1 --dry-run --repack-threshold 1 --json "${PW[@]}" \
	>"$T/after.json" || t_fail "prune --dry-run"
python3 - "$T/after.json" <<'PY' || t_fail "left: $(cat "$T/after.json")"
import json, sys
d = json.load(open(sys.argv[1]))
for k in ("versions_dropped", "chunks_dropped", "packs_deleted",
          "packs_repacked", "reclaimable_after"):
    assert d[k] == 0, (k, d)
PY
! find "$PACKS" -name '*.open' | grep -q . || t_fail "an open pack is left"
t_log "ok"
