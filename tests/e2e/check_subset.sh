#!/bin/bash
# check_subset.sh -- `beemoctl check --read-data-subset`: a share of the
# packs is read and authenticated, the slices N/M of one M cover every
# pack once, and a damaged pack is found by the checks whose share holds
# it and by no other (the index check alone does not read data).
# Cases: a store of several packs (pack_size 1M); one byte flipped in the
# middle of its largest pack (chunk ciphertext); slices 1..3 of 3 (read
# counts add up to the total, only the slice holding the pack fails,
# naming it); 100% fails; plain check (no data read) passes; bad subsets
# are usage errors (exit 2); the command of the shipped
# beemo-check@.service (systemd's $$ and %% unescaped, %i = pc1) runs.
. "$(dirname "$0")/lib.sh"

t_config "[store]" "pack_size = 1M"
t_appliance
t_mount "$T/mnt"
for i in 1 2 3 4 5; do
	head -c 1500000 /dev/urandom >"$T/mnt/f$i.bin"
done
t_umount "$T/mnt"

check() { "$BEEMOCTL" check pc1 --poste-key "$T/pc1.poste" "$@"; }

# Intact: every slice passes, and the slices add up to every pack.
sum=0
total=
for n in 1 2 3; do
	out=$(check --read-data-subset "$n/3") ||
		t_fail "slice $n/3 of an intact store failed: $out"
	[[ $out =~ data\ of\ ([0-9]+)\ of\ ([0-9]+)\ packs ]] ||
		t_fail "slice $n/3: no pack counts in: $out"
	sum=$((sum + BASH_REMATCH[1]))
	total=${BASH_REMATCH[2]}
done
[ "$total" -ge 3 ] || t_fail "only $total packs: the test needs three"
[ "$sum" = "$total" ] || t_fail "slices of 3 read $sum packs, not $total"
out=$(check --read-data-subset 50%) || t_fail "50% of an intact store failed"
[[ $out == *"data of $(( (total + 1) / 2 )) of $total packs"* ]] ||
	t_fail "50% of $total packs: $out"

# The monthly timer's command, as systemd would run it (programs from
# this build, the key file as the decrypted credential "poste" that
# systemd would hand it in $CREDENTIALS_DIRECTORY).
cmd=$(sed -n 's/^ExecStart=//p' "$BEEMO_BUILD/tools/beemo-check@.service")
cmd=${cmd//'$$'/'$'}
cmd=${cmd//'%%'/'%'}
cmd=${cmd//'%i'/pc1}
cmd=${cmd//\/etc\/beemo\//$T/}
cmd=${cmd//$(dirname "$(sed -n 's/^ExecStart=.*exec \([^ ]*\).*/\1/p' \
	"$BEEMO_BUILD/tools/beemo-check@.service")")/$BEEMO_BUILD/tools}
[[ $cmd == *"$BEEMO_BUILD/tools/beemoctl --quiet check"* ]] ||
	t_fail "unexpected ExecStart in beemo-check@.service: $cmd"
mkdir -m 0700 "$T/credentials"
cp "$T/pc1.poste" "$T/credentials/poste"
CREDENTIALS_DIRECTORY=$T/credentials eval "$cmd" ||
	t_fail "beemo-check@pc1.service's command failed: $cmd"

# Damage the largest pack in its middle.
pack=$(find "$T/store/machines/pc1/packs" -name '*.pack' -printf '%s %p\n' |
	sort -n | tail -n 1 | cut -d' ' -f2)
size=$(stat -c %s "$pack")
id=$(basename "$pack" .pack)
python3 - "$pack" $((size / 2)) <<'PY'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(int(sys.argv[2]))
    c = f.read(1)
    f.seek(int(sys.argv[2]))
    f.write(bytes([c[0] ^ 1]))
PY
hit=$(( 16#$id % 3 + 1 ))
for n in 1 2 3; do
	rc=0
	out=$(check --read-data-subset "$n/3") || rc=$?
	if [ "$n" = "$hit" ]; then
		[ $rc = 1 ] ||
			t_fail "slice $n/3 holds pack $id but exited $rc: $out"
		[[ $out == *"authentication failed in pack $id"* ]] ||
			t_fail "slice $n/3 does not name pack $id: $out"
	else
		[ $rc = 0 ] ||
			t_fail "slice $n/3 lacks pack $id but exited $rc: $out"
	fi
done
rc=0
out=$(check --read-data-subset 100%) || rc=$?
[ $rc = 1 ] && [[ $out == *"pack $id"* ]] ||
	t_fail "100% exited $rc without naming pack $id: $out"
check >/dev/null || t_fail "check without data reading failed"

# Bad subsets: usage errors, before any password or store.
for bad in 0/3 4/3 3/0 1/ /3 0% 101% x 1/3x 5 -1%; do
	rc=0
	check --read-data-subset "$bad" >/dev/null 2>"$T/err" || rc=$?
	[ $rc = 2 ] || t_fail "--read-data-subset $bad: exit $rc, not 2"
	grep -q 'read-data-subset' "$T/err" ||
		t_fail "--read-data-subset $bad: no message"
done
t_log "ok: $total packs, pack $id found by slice $hit/3 only"
