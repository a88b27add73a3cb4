#!/bin/bash
# erase.sh -- beemoctl erase: a person's directory, whose files carry a
# unique random marker in their names and contents (one of them also
# hard-linked outside it, and copied inside it), is in the live tree and
# in three snapshots.  A user's password, the POSTE key file and a
# missing confirmation are refused; --dry-run lists every snapshot and
# path and changes nothing; the erasure waits for a running backup
# session, then removes the directory and the hard link from the live
# tree and every snapshot, every other file stays byte-exact, the
# snapshots' counts follow, the journal no longer names it, the check is
# clean; on a terminal the machine's name confirms an erasure.  Before the prune the
# decrypted store still holds the marker (so the search works); after
# beemoctl prune no object, index value, index, journal or staging byte
# holds it.
. "$(dirname "$0")/lib.sh"

: "${BEEMO_MARKER_SEARCH:?run through meson test}"
CORE=$(head -c 10 /dev/urandom | od -An -tx1 | tr -d ' \n')
M="bmk${CORE}"
MNT="$T/mnt"
PW=(--password-file "$T/admin.pw")

t_appliance

# refused DESCRIPTION CMD...: t_must_fail, and the refusal leaks nothing
# (under the sanitizers).
refused() {
	t_must_fail "$@"
	! grep -q "Sanitizer\|runtime error" "$T/must_fail.out" ||
		t_fail "$1: $(cat "$T/must_fail.out")"
}

# search: the marker in the whole store, decrypted; prints the summary.
search() {
	"$BEEMO_MARKER_SEARCH" "$T/store" pc1 "$T/admin.pw" "$M" \
		>"$T/search.out" 2>&1
}

# ---- three sessions, three snapshots, the marked files in each -----------
t_mount "$MNT"
mkdir -p "$MNT/keep" "$MNT/home/anna/docs" "$MNT/home/bob"
printf 'kept file\n' >"$MNT/keep/a.txt"
printf 'bob keeps this\n' >"$MNT/home/bob/notes.txt"
printf 'erased after a confirmation\n' >"$MNT/keep/confirm.txt"
python3 - "$MNT" "$M" <<'PY' || t_fail "writing the marked files"
import os, sys
mnt, m = sys.argv[1], sys.argv[2]
# Random bytes (nothing else dedups with them) with the marker every
# 64 KiB, and compressible text with the marker on every line.
rnd = bytearray(os.urandom(1 << 20))
for off in range(0, len(rnd) - 64, 65536):
    rnd[off:off + len(m)] = m.encode()
with open(f"{mnt}/home/anna/report-{m}.bin", "wb") as f:
    f.write(rnd)
with open(f"{mnt}/home/anna/letter-{m}.txt", "w") as f:
    for i in range(2000):
        f.write(f"line {i}: the private letter {m} of anna\n")
PY
ln "$MNT/home/anna/report-$M.bin" "$MNT/keep/link-$M" ||
	t_fail "hard link"
cp "$MNT/home/anna/letter-$M.txt" "$MNT/home/anna/docs/copy-$M.txt"
t_umount "$MNT"
t_mount "$MNT"
printf 'kept file, v2\n' >"$MNT/keep/a.txt"
printf 'second %s\n' "$M" >>"$MNT/home/anna/letter-$M.txt"
t_umount "$MNT"
t_mount "$MNT"
printf 'another\n' >"$MNT/keep/b.txt"
t_umount "$MNT"
"$BEEMOCTL" snapshots pc1 "${PW[@]}" --json >"$T/snaps.json" ||
	t_fail "snapshots"
NSNAP=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["snapshots"]))' \
	"$T/snaps.json")
[ "$NSNAP" = 3 ] || t_fail "expected 3 snapshots, got $NSNAP"

# Every snapshot as it is, to compare after.
for id in 1 2 3; do
	"$BEEMOCTL" restore pc1 $id --target "$T/before/$id" "${PW[@]}" \
		>/dev/null || t_fail "restore $id before"
	[ -f "$T/before/$id/home/anna/report-$M.bin" ] ||
		t_fail "snapshot $id lacks the marked file"
done
search && t_fail "the marker is not found before the erasure: the search \
does not work ($(tail -1 "$T/search.out"))"
grep -q "marker in a chunk" "$T/search.out" ||
	t_fail "marker not found in a decrypted chunk: $(tail -1 "$T/search.out")"
grep -q "marker in an index value" "$T/search.out" ||
	t_fail "marker not found in a name: $(tail -1 "$T/search.out")"

# ---- refusals -----------------------------------------------------------
refused "erase with a user's password" "$BEEMOCTL" erase pc1 /home/anna \
	--user alice --password-file "$T/alice.pw" --yes
grep -q "only the administrator" "$T/must_fail.out" ||
	t_fail "user refusal unclear: $(cat "$T/must_fail.out")"
refused "erase with the POSTE key" "$BEEMOCTL" erase pc1 /home/anna \
	--poste-key "$T/pc1.poste" --yes
grep -q "only the administrator" "$T/must_fail.out" ||
	t_fail "POSTE refusal unclear: $(cat "$T/must_fail.out")"
refused "erase with alice's password as the administrator's" \
	"$BEEMOCTL" erase pc1 /home/anna --password-file "$T/alice.pw" --yes
refused "erase without --yes and no terminal" \
	"$BEEMOCTL" erase pc1 /home/anna "${PW[@]}" </dev/null
grep -q "without --yes" "$T/must_fail.out" ||
	t_fail "no-terminal refusal unclear: $(cat "$T/must_fail.out")"
refused "erase of the root" "$BEEMOCTL" erase pc1 / "${PW[@]}" --yes
refused "erase with .." "$BEEMOCTL" erase pc1 home/../keep "${PW[@]}" \
	--yes
refused "erase of a missing path" "$BEEMOCTL" erase pc1 /nowhere \
	"${PW[@]}" --yes
grep -q "neither the live tree nor any snapshot" "$T/must_fail.out" ||
	t_fail "missing path unclear: $(cat "$T/must_fail.out")"

# ---- the dry run ----------------------------------------------------------
"$BEEMOCTL" erase pc1 /home/anna --dry-run "${PW[@]}" >"$T/dry.txt" ||
	t_fail "dry run: $(cat "$T/dry.txt")"
for v in "live tree:" "snapshot 1:" "snapshot 2:" "snapshot 3:"; do
	grep -qx "$v" "$T/dry.txt" || t_fail "dry run does not list '$v'"
done
grep -qx "  /keep/link-$M" "$T/dry.txt" ||
	t_fail "dry run does not list the hard link"
grep -qx "  /home/anna/docs/copy-$M.txt" "$T/dry.txt" ||
	t_fail "dry run does not list the copy"
grep -qF -e /home/bob -e /keep/a.txt "$T/dry.txt" &&
	t_fail "dry run lists kept files"
"$BEEMOCTL" erase pc1 /home/anna --dry-run --json "${PW[@]}" \
	>"$T/dry.json" || t_fail "dry run --json"
python3 - "$T/dry.json" "$M" <<'PY' || t_fail "dry run JSON"
import json, sys
d = json.load(open(sys.argv[1]))
m = sys.argv[2]
assert d["dry_run"] is True and d["path"] == "/home/anna", d
views = [(v["live"], v["snapshot"]) for v in d["views"]]
assert views == [(True, None), (False, 1), (False, 2), (False, 3)], views
for v in d["views"]:
    assert f"/home/anna/report-{m}.bin" in v["paths"], v
    assert f"/keep/link-{m}" in v["paths"], v
PY
"$BEEMOCTL" restore pc1 1 home/anna --target "$T/still" "${PW[@]}" \
	>/dev/null || t_fail "the dry run changed snapshot 1"

# ---- the erasure, waiting for a backup session -----------------------------
t_mount "$MNT"
printf 'written during the wait\n' >"$MNT/keep/c.txt"
"$BEEMOCTL" erase pc1 /home/anna --yes "${PW[@]}" >"$T/erase.out" \
	2>"$T/erase.err" &
ERASE=$!
t_wait_for 20 grep -q "waiting for the backup session of" "$T/erase.err" ||
	t_fail "erase did not say it waits for the session: $(cat "$T/erase.err")"
t_running $ERASE || t_fail "erase did not wait for the session"
[ -f "$MNT/home/anna/report-$M.bin" ] ||
	t_fail "the live tree changed under a mounted session"
t_umount "$MNT"
wait $ERASE || t_fail "erase failed: $(cat "$T/erase.err")"
grep -q "run beemoctl prune pc1 to reclaim the space; until then the sealed \
bytes remain" "$T/erase.out" || t_fail "no prune reminder: $(cat "$T/erase.out")"
grep -q "from the live tree and 4 snapshots" "$T/erase.out" ||
	t_fail "erase summary: $(cat "$T/erase.out")"

# ---- gone from everything, the rest byte-exact ------------------------------
"$BEEMOCTL" snapshots pc1 "${PW[@]}" --json >"$T/snaps2.json" ||
	t_fail "snapshots after"
python3 - "$T/snaps.json" "$T/snaps2.json" <<'PY' ||
import json, sys
a = json.load(open(sys.argv[1]))["snapshots"]
b = {s["id"]: s for s in json.load(open(sys.argv[2]))["snapshots"]}
for s in a:
    # report (also /keep/link), letter, docs/copy
    assert b[s["id"]]["files"] == s["files"] - 3, (s, b[s["id"]])
    assert b[s["id"]]["bytes"] < s["bytes"] - (1 << 20), (s, b[s["id"]])
PY
	t_fail "snapshot counts: $(cat "$T/snaps.json" "$T/snaps2.json")"

for id in 1 2 3 4; do
	"$BEEMOCTL" restore pc1 $id --target "$T/after/$id" "${PW[@]}" \
		>/dev/null || t_fail "restore $id after"
	[ ! -e "$T/after/$id/home/anna" ] || t_fail "snapshot $id has /home/anna"
	[ ! -e "$T/after/$id/keep/link-$M" ] ||
		t_fail "snapshot $id has the hard link"
	[ -f "$T/after/$id/home/bob/notes.txt" ] ||
		t_fail "snapshot $id lost /home/bob"
done
for id in 1 2 3; do
	rm -rf "$T/before/$id/home/anna" "$T/before/$id/keep/link-$M"
	rm -f "$T/before/$id/keep/confirm.txt" "$T/after/$id/keep/confirm.txt"
	[ "$(t_sums "$T/before/$id")" = "$(t_sums "$T/after/$id")" ] ||
		t_fail "snapshot $id: other files changed"
done
[ "$(cat "$T/after/4/keep/c.txt")" = "written during the wait" ] ||
	t_fail "the session's file is not in snapshot 4"
t_mount_session "$T/ro" "machine=pc1,admin,passfile=$T/admin.pw"
[ ! -e "$T/ro/home/anna" ] || t_fail "the live tree has /home/anna"
[ ! -e "$T/ro/keep/link-$M" ] || t_fail "the live tree has the hard link"
[ "$(cat "$T/ro/keep/a.txt")" = "kept file, v2" ] ||
	t_fail "the live tree lost /keep/a.txt"
ls "$T/ro/.snapshots/1/home" | grep -qx anna &&
	t_fail "snapshot 1 lists anna"
t_umount "$T/ro"
"$BEEMOCTL" check pc1 --read-data "${PW[@]}" >"$T/check.out" 2>&1 ||
	t_fail "check after the erasure: $(cat "$T/check.out")"
"$BEEMOCTL" journal pc1 --files "${PW[@]}" >"$T/journal.txt" ||
	t_fail "journal"
grep -q "$CORE" "$T/journal.txt" && t_fail "the journal still names the files"
grep -q "\[erased\]" "$T/journal.txt" || t_fail "no [erased] line in the journal"
grep -q "erased a path" "$T/journal.txt" || t_fail "the erasure is not journaled"
"$BEEMOCTL" journal --all --type erase "${PW[@]}" >"$T/alog.txt" ||
	t_fail "appliance journal"
grep -q "pc1: /home/anna erased" "$T/alog.txt" ||
	t_fail "the appliance journal lacks the erasure: $(cat "$T/alog.txt")"
"$BEEMOCTL" erase pc1 /home/anna --dry-run "${PW[@]}" >/dev/null 2>&1 &&
	t_fail "the path is still found after the erasure"

# On a terminal, the machine's name confirms (script(1) gives one).
if command -v script >/dev/null; then
	CMD="$BEEMOCTL erase pc1 /keep/confirm.txt --password-file $T/admin.pw"
	printf 'pc2\n' | script -qec "$CMD" /dev/null >"$T/confirm.out" 2>&1 &&
		t_fail "erased with the wrong name: $(cat "$T/confirm.out")"
	grep -q "not confirmed" "$T/confirm.out" ||
		t_fail "wrong name: $(cat "$T/confirm.out")"
	grep -q "Type the machine's name" "$T/confirm.out" ||
		t_fail "no question: $(cat "$T/confirm.out")"
	"$BEEMOCTL" erase pc1 /keep/confirm.txt --dry-run "${PW[@]}" \
		>/dev/null || t_fail "a wrong name erased the file"
	printf 'pc1\n' | script -qec "$CMD" /dev/null >"$T/confirm.out" 2>&1 ||
		t_fail "confirmed erasure: $(cat "$T/confirm.out")"
	grep -q "snapshot 3:" "$T/confirm.out" ||
		t_fail "the question did not list the paths: $(cat "$T/confirm.out")"
	"$BEEMOCTL" erase pc1 /keep/confirm.txt --dry-run "${PW[@]}" \
		>/dev/null 2>&1 && t_fail "the confirmed erasure did nothing"
fi

# Not pruned yet: the sealed bytes remain, and the search sees them.
search && t_fail "the marker is gone before any prune?"
grep -q "marker in a chunk" "$T/search.out" ||
	t_fail "before the prune, no chunk holds the marker: $(tail -1 "$T/search.out")"

# ---- after the prune, nowhere ------------------------------------------------
"$BEEMOCTL" prune --help >/dev/null 2>&1 ||
	t_fail "beemoctl prune is not available: the last part needs it"
"$BEEMOCTL" prune pc1 "${PW[@]}" >"$T/prune.out" 2>&1 ||
	t_fail "prune: $(cat "$T/prune.out")"
rc=0
search || rc=$?
[ $rc = 0 ] || t_fail "after the prune (exit $rc): $(cat "$T/search.out")"
grep -q " [1-9][0-9]* chunks" "$T/search.out" ||
	t_fail "the search read no chunk: $(tail -1 "$T/search.out")"
"$BEEMOCTL" restore pc1 3 --target "$T/pruned" "${PW[@]}" >/dev/null ||
	t_fail "restore after the prune"
[ "$(t_sums "$T/after/3")" = "$(t_sums "$T/pruned")" ] ||
	t_fail "snapshot 3 changed with the prune"
"$BEEMOCTL" check pc1 --read-data "${PW[@]}" >"$T/check.out" 2>&1 ||
	t_fail "check after the prune: $(cat "$T/check.out")"
t_log "PASS"
