#!/bin/bash
# attack_cq_snaprace.sh -- a snapshot taken while a client writes files
# the rsync way (a temporary file written, closed, renamed over the real
# name) must hold every name at a version the client wrote: never an
# empty file where both the old and the new version had data, and never
# infected content.
#
# A closed file is committed in the background ([store] close =
# background); the rename that follows its close is a namespace change.
# A snapshot waits for the files closed before it; files closed and
# renamed while it waits (a big file being scanned) must not be caught
# half-way: the name in the snapshot, the content still queued.  The
# client also renames infected temporary files over names of their own:
# those may be absent from a snapshot, never present and empty.
# Fails when the attack succeeds.
. "$(dirname "$0")/lib.sh"

MNT="$T/mnt"
N=12
t_appliance
t_expect_log "error: /[^:]*: virus Beemo\.Test\.EICAR[^ ]* found: \
file not backed up$"
printf '%s' "$T_EICAR" >"$T/eicar.com"
t_mount "$MNT"
for i in $(seq 0 $((N - 1))); do
	python3 -c 'import sys; open(sys.argv[1], "w").write(
	    ("old %s\n" % sys.argv[2]) * 500)' "$MNT/f$i" "$i"
	printf 'clean v%s\n' "$i" >"$MNT/v$i"
done
t_settle "$MNT"

# The client: rounds of N clean files renamed over f0..f(N-1), one
# infected file renamed over a v name, and two big files (scanned for a
# while, so that a snapshot's wait is long) -- until $T/stop exists.
python3 - "$MNT" "$N" "$T/eicar.com" "$T/stop" >"$T/writer.out" 2>&1 <<'PY' &
import os, sys
mnt, n, eicar, stop = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
virus = open(eicar, "rb").read()
big = os.urandom(7 << 19)
r = 0
def put(name, data, final):
    tmp = os.path.join(mnt, "." + name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
    try:
        os.rename(tmp, os.path.join(mnt, final))
    except FileNotFoundError:
        pass  # refused (infected) before the rename: gone
while not os.path.exists(stop) and r < 400:
    # Two big files keep both commit threads scanning; the small
    # files queued behind them are renamed meanwhile.
    put("big1", big[r:] + big[:r], "big1.bin")
    put("big2", big[r + 1:] + big[:r + 1], "big2.bin")
    for i in range(n):
        put("f%d" % i, (b"new %d %d\n" % (r, i)) * 400, "f%d" % i)
    put("v%d" % (r % n), virus, "v%d" % (r % n))
    r += 1
print("rounds", r)
PY
WRITER=$!
T_PIDS+=($WRITER)
sleep 1
for k in 1 2 3 4 5 6 7 8; do
	"$BEEMOCTL" snapshot pc1 --note "race $k" \
		--password-file "$T/admin.pw" >"$T/snap.out" 2>&1 ||
		t_fail "beemoctl snapshot: $(cat "$T/snap.out")"
	sleep 0.$((RANDOM % 4))
done
touch "$T/stop"
wait "$WRITER" || t_fail "the writer failed: $(cat "$T/writer.out")"
t_log "writer: $(cat "$T/writer.out")"
t_settle "$MNT"
t_umount "$MNT"

R=$T/restore
t_mount_session "$R" "machine=pc1,user=alice,passfile=$T/alice.pw"
bad=0
for S in $(ls "$R/.snapshots"); do
	for i in $(seq 0 $((N - 1))); do
		f=$R/.snapshots/$S/f$i
		if [ ! -e "$f" ]; then
			t_log "FAIL: snapshot $S: f$i missing"
			bad=$((bad + 1))
		elif ! head -c 4 "$f" | grep -Eq '^(old|new) '; then
			t_log "FAIL: snapshot $S: f$i holds" \
				"$(stat -c %s "$f") bytes, neither old nor new"
			bad=$((bad + 1))
		fi
		f=$R/.snapshots/$S/v$i
		if [ -e "$f" ] && ! grep -q '^clean v' "$f"; then
			t_log "FAIL: snapshot $S: v$i holds $(stat -c %s "$f")" \
				"bytes, not its clean version"
			bad=$((bad + 1))
		fi
	done
done
t_umount "$R"
[ $bad = 0 ] || t_fail "$bad names in snapshots at a version never written"
# Nothing infected was stored.
"$BEEMOCTL" scan pc1 --password-file "$T/admin.pw" >"$T/scan.out" 2>&1 ||
	t_fail "beemoctl scan found something stored: $(cat "$T/scan.out")"
t_log "ok: every name in every snapshot at a version written"
