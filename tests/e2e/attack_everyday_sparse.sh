#!/bin/bash
# attack_everyday_sparse.sh -- a compromised client makes files of a
# huge size that hold nothing (holes cost it nothing: 1 PiB is a few
# bytes of index).  The verbs that read them must cost the data, not the
# size: diff compares two such files of the same size (another version)
# by their data only, export --format tar writes their sparse map; both
# finish in seconds.
. "$(dirname "$0")/lib.sh"

t_appliance
t_expect_log "committed without antivirus scan"
M="$T/mnt"
t_mount "$M"
truncate -s 1P "$M/huge" || t_fail "truncate 1P in the mount"
printf 'x' | dd of="$M/huge" bs=1 seek=$((1 << 40)) conv=notrunc status=none
t_umount "$M"
t_mount "$M"
# Another version of the same size: the data moved.
truncate -s 0 "$M/huge"
truncate -s 1P "$M/huge"
printf 'y' | dd of="$M/huge" bs=1 seek=$((1 << 40)) conv=notrunc status=none
t_umount "$M"
ids=$(t_snapshot_ids)
read -r S1 S2 <<<"$ids"
[ -n "$S2" ] || t_fail "two snapshots: $ids"

rc=0
timeout 30 "$BEEMOCTL" diff pc1 "$S1" "$S2" --password-file "$T/admin.pw" \
	>"$T/diff.out" 2>"$T/diff.err" || rc=$?
[ $rc = 124 ] && t_fail "diff of two 1 PiB sparse files did not end in 30 s"
[ $rc = 0 ] || t_fail "diff: $(cat "$T/diff.err")"
grep -qx 'M /huge' "$T/diff.out" || t_fail "diff: $(cat "$T/diff.out")"

rc=0
timeout 30 "$BEEMOCTL" export pc1 "$S2" --format tar --output "$T/a.tar" \
	--password-file "$T/admin.pw" >"$T/x.out" 2>"$T/x.err" || rc=$?
[ $rc = 124 ] && t_fail "export of a 1 PiB sparse file did not end in 30 s"
[ $rc = 0 ] || t_fail "export: $(cat "$T/x.err")"
[ "$(stat -c %s "$T/a.tar")" -lt 1000000 ] ||
	t_fail "a tar of $(stat -c %s "$T/a.tar") bytes"
tar -tvf "$T/a.tar" | grep -q ' 1125899906842624 .* huge$' ||
	t_fail "tar -tv: $(tar -tvf "$T/a.tar")"
t_log "ok"
