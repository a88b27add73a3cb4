#!/bin/bash
# prune_reclaim.sh -- forget + prune reclaim the space of deleted data:
#   - a session writes 20 MiB of incompressible files and 3 MiB that stay,
#     snapshot 1; the 20 MiB are deleted, snapshot 2 (and the end of the
#     session's);
#   - prune before any forget frees nothing of it (a snapshot sees it);
#   - after forgetting snapshot 1, `beemoctl prune --dry-run` changes no
#     byte, `beemoctl prune` frees >= 95 % of the stored bytes of the
#     deleted data (du of the packs), the pack files it dropped are gone;
#   - every remaining snapshot restores byte-exact (against the copies
#     kept and against restores taken before the prune), `check
#     --read-data` is clean, `status` shows the stored bytes, the journal
#     has the prune, and rebuild-index gives the same snapshot list and
#     the same trees.
. "$(dirname "$0")/lib.sh"

MNT="$T/mnt"
PW=(--password-file "$T/admin.pw")
PACKS="$T/store/machines/pc1/packs"

packs_bytes() {
	find "$PACKS" -type f -printf '%s\n' | awk '{s += $1} END {print s}'
}

t_appliance
t_mount "$MNT"
mkdir -p "$MNT/data" "$MNT/keep" "$T/keep"
for i in 1 2 3; do
	head -c 1M /dev/urandom >"$T/keep/k$i"
done
cp "$T/keep/"* "$MNT/keep/"
for i in $(seq 1 10); do
	head -c 2M /dev/urandom >"$MNT/data/d$i"
done
sync -f "$MNT"
"$BEEMOCTL" snapshot pc1 >/dev/null || t_fail "snapshot 1"
rm -r "$MNT/data"
"$BEEMOCTL" snapshot pc1 >/dev/null || t_fail "snapshot 2"
t_umount "$MNT"
"$BEEMOCTL" snapshots pc1 --json "${PW[@]}" >"$T/snaps.json" ||
	t_fail "snapshots"
mapfile -t IDS < <(python3 -c 'import json,sys
for s in json.load(open(sys.argv[1]))["snapshots"]: print(s["id"])' "$T/snaps.json")
[ "${#IDS[@]}" -ge 2 ] && [ "${IDS[0]}" = 1 ] ||
	t_fail "snapshots: ${IDS[*]}"

restore_all() { # DIR: every snapshot but 1 restored under DIR/ID
	local id
	for id in "${IDS[@]:1}"; do
		"$BEEMOCTL" restore pc1 "$id" --target "$1/$id" "${PW[@]}" \
			>/dev/null || t_fail "restore $id into $1"
	done
}
same_trees() { # A B
	local id
	for id in "${IDS[@]:1}"; do
		[ "$(t_sums "$1/$id")" = "$(t_sums "$2/$id")" ] ||
			t_fail "snapshot $id differs between $1 and $2"
		[ "$(t_sums "$2/$id/keep")" = "$(t_sums "$T/keep")" ] ||
			t_fail "snapshot $id: keep/ is not what was written"
		[ ! -e "$2/$id/data" ] || t_fail "snapshot $id has data/"
	done
}
restore_all "$T/before"

# Snapshot 1 still sees the data: nothing of it can go.
B0=$(packs_bytes)
"$BEEMOCTL" prune pc1 --json "${PW[@]}" >"$T/p0.json" || t_fail "prune 0"
B1=$(packs_bytes)
[ $((B0 - B1)) -lt $((1 << 20)) ] ||
	t_fail "prune freed $((B0 - B1)) bytes with every snapshot kept"

"$BEEMO_PRUNE_FORGET" "$T/store" pc1 "$T/admin.pw" 1 ||
	t_fail "forget snapshot 1"
"$BEEMOCTL" status --json >"$T/status.json" || t_fail "status"
find "$PACKS" -type f -printf '%P %s\n' | sort >"$T/packs.before"
"$BEEMOCTL" prune pc1 --dry-run --json "${PW[@]}" >"$T/dry.json" ||
	t_fail "prune --dry-run"
find "$PACKS" -type f -printf '%P %s\n' | sort >"$T/packs.dry"
cmp -s "$T/packs.before" "$T/packs.dry" || t_fail "--dry-run changed packs"
python3 - "$T/dry.json" <<'PY' || t_fail "dry run figures: $(cat "$T/dry.json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["dry_run"] is True
assert d["chunks_dropped"] >= 10, d
assert d["packs_deleted"] + d["packs_repacked"] > 0, d
PY

B2=$(packs_bytes)
"$BEEMOCTL" prune pc1 "${PW[@]}" >"$T/prune.out" || t_fail "prune"
grep -q "freed" "$T/prune.out" || t_fail "prune output: $(cat "$T/prune.out")"
B3=$(packs_bytes)
FREED=$((B2 - B3))
NEED=$((20 * 1024 * 1024 * 95 / 100))
t_log "packs: $B2 -> $B3 bytes, $FREED freed (need $NEED)"
[ "$FREED" -ge "$NEED" ] || t_fail "prune freed $FREED bytes < $NEED"
# Pack files of dropped packs are gone; no ".open" pack is left.
! find "$PACKS" -name '*.open' | grep -q . || t_fail "open pack left"

restore_all "$T/after"
same_trees "$T/before" "$T/after"
"$BEEMOCTL" check pc1 --read-data "${PW[@]}" >"$T/check.out" ||
	t_fail "check after prune: $(cat "$T/check.out")"
"$BEEMOCTL" journal pc1 --type prune "${PW[@]}" >"$T/journal.out" ||
	t_fail "journal"
grep -q "freed" "$T/journal.out" || t_fail "no prune in the journal"
"$BEEMOCTL" journal pc1 --type forget --files "${PW[@]}" >"$T/journal.out" ||
	t_fail "journal"
grep -q "snapshot 1" "$T/journal.out" || t_fail "no forget in the journal"

# The packs alone rebuild the same snapshots and trees.
"$BEEMOCTL" snapshots pc1 --json "${PW[@]}" >"$T/snaps.after" ||
	t_fail "snapshots after prune"
"$BEEMOCTL" rebuild-index pc1 "${PW[@]}" >/dev/null || t_fail "rebuild-index"
"$BEEMOCTL" snapshots pc1 --json "${PW[@]}" >"$T/snaps.rebuilt" ||
	t_fail "snapshots after rebuild"
cmp -s "$T/snaps.after" "$T/snaps.rebuilt" ||
	t_fail "rebuild-index lists other snapshots"
restore_all "$T/rebuilt"
same_trees "$T/before" "$T/rebuilt"
"$BEEMOCTL" check pc1 --read-data "${PW[@]}" >"$T/check.out" ||
	t_fail "check after rebuild: $(cat "$T/check.out")"

# Two more prunes that repack every pack holding garbage: the newest
# checkpoint's parts are live, so the packs alone still rebuild it.
for i in 1 2; do
	"$BEEMOCTL" prune pc1 --repack-threshold 1 "${PW[@]}" >/dev/null ||
		t_fail "prune $i at 1 %"
done
"$BEEMOCTL" rebuild-index pc1 "${PW[@]}" >/dev/null ||
	t_fail "rebuild-index after repacking the checkpoint"
"$BEEMOCTL" snapshots pc1 --json "${PW[@]}" >"$T/snaps.rebuilt2" ||
	t_fail "snapshots after the second rebuild"
cmp -s "$T/snaps.after" "$T/snaps.rebuilt2" ||
	t_fail "the second rebuild lists other snapshots"
restore_all "$T/rebuilt2"
same_trees "$T/before" "$T/rebuilt2"
t_log "ok"
