#!/bin/bash
# machine_remove.sh -- `beemoctl machine remove` with a grace period:
# refused while mounted, and without a confirmation off a terminal or
# with a wrong name typed on one; the removed machine is
# unusable at once (no session, no key file, no name reuse) and shown as
# removed; `machine restore` brings its key file and store back byte for
# byte; maintenance keeps it during the grace and frees the space (du)
# after it, journaled; --now frees at once.
. "$(dirname "$0")/lib.sh"

t_config "[store]" "remove_grace = 7d"
t_appliance
AP=(--password-file "$T/admin.pw")
M="$T/mnt"
t_mount "$M"
head -c 3000000 /dev/urandom >"$M/big"
echo hello >"$M/hello"
# Not while its backup session is mounted.
if "$BEEMOCTL" machine remove pc1 --yes "${AP[@]}" >"$T/rm.out" 2>&1; then
	t_fail "removed while mounted"
fi
grep -q "is mounted: unmount it first" "$T/rm.out" ||
	t_fail "rm: $(cat "$T/rm.out")"
t_umount "$M"
keyfile="$T/store/keys/machines/pc1.key"
key_sum=$(sha256sum <"$keyfile")
t_sums "$T/store/machines/pc1" | grep -v ' ./lock$' >"$T/store.sums"

# No terminal, no --yes: refused, nothing moved.
if "$BEEMOCTL" machine remove pc1 "${AP[@]}" </dev/null >"$T/r0.out" \
	2>"$T/r0.err"; then
	t_fail "removed without a confirmation"
fi
grep -q "add --yes to do this without a terminal" "$T/r0.err" || t_fail "r0: $(cat "$T/r0.err")"
[ -f "$keyfile" ] && [ -d "$T/store/machines/pc1" ] ||
	t_fail "a refused removal moved something"
# A wrong name typed on a terminal is no confirmation either.
if command -v script >/dev/null; then
	echo pc2 | script -qec "$BEEMOCTL machine remove pc1 ${AP[*]}" \
		/dev/null >"$T/r1.out" 2>&1 && t_fail "removed with a wrong name"
	grep -q "not confirmed" "$T/r1.out" || t_fail "r1: $(cat "$T/r1.out")"
	[ -f "$keyfile" ] || t_fail "a wrong confirmation removed the key"
fi

# Removed: unusable at once.
"$BEEMOCTL" machine remove pc1 --yes "${AP[@]}" >"$T/r2.out" ||
	t_fail "remove --yes"
grep -q "freed on" "$T/r2.out" || t_fail "r2: $(cat "$T/r2.out")"
[ ! -e "$keyfile" ] || t_fail "the key file is still in place"
[ ! -e "$T/store/machines/pc1" ] || t_fail "the store is still in place"
area=$(echo "$T"/store/machines/.removed/pc1.*)
[ -f "$area/pc1.key" ] && [ -d "$area/store" ] ||
	t_fail "nothing in the removed area: $(ls -R "$T/store/machines")"
"$BEEMOCTL" machine list >"$T/list.out" || t_fail "machine list"
grep -q "^pc1 .*removed on .*, freed on " "$T/list.out" ||
	t_fail "list: $(cat "$T/list.out")"
"$BEEMOCTL" status >"$T/status.out" || t_fail "status"
grep -q "^  pc1 *removed, freed on " "$T/status.out" ||
	t_fail "status: $(cat "$T/status.out")"
mkdir -p "$M"
if timeout 20 "$BEEMOFS" "$T/store" "$M" -f \
	-o "machine=pc1,keyfile=$T/pc1.poste" >"$T/mount.out" 2>&1; then
	t_fail "a session of the removed machine opened"
fi
mountpoint -q "$M" && t_fail "the removed machine is mounted"
t_must_fail "snapshots of a removed machine" "$BEEMOCTL" snapshots pc1 \
	"${AP[@]}"
if "$BEEMOCTL" machine add pc1 --user bob "${AP[@]}" \
	--user-password-file "$T/alice.pw" --poste-key "$T/new.poste" \
	>"$T/add.out" 2>&1; then
	t_fail "a removed name was reused"
fi
grep -q "was removed and its space is freed on" "$T/add.out" ||
	t_fail "add: $(cat "$T/add.out")"

# Within the grace, maintenance keeps it; restore brings it back.
"$BEEMO_SYNC" maintenance >"$T/m1.out" 2>"$T/m1.err" ||
	t_fail "maintenance: $(cat "$T/m1.err")"
[ -d "$area/store" ] || t_fail "freed within the grace period"
"$BEEMOCTL" machine restore pc1 "${AP[@]}" >"$T/rs.out" ||
	t_fail "restore"
[ "$(sha256sum <"$keyfile")" = "$key_sum" ] ||
	t_fail "the restored key file differs"
t_sums "$T/store/machines/pc1" | grep -v ' ./lock$' >"$T/store2.sums"
cmp -s "$T/store.sums" "$T/store2.sums" ||
	t_fail "the restored store differs: $(diff "$T/store.sums" "$T/store2.sums")"
[ ! -e "$area" ] || t_fail "the removed area still holds $area"
t_mount "$M"
[ "$(cat "$M/hello")" = hello ] || t_fail "restored data"
t_umount "$M"

# After the grace period, maintenance frees the space and journals it.
# (This removal is confirmed by typing the name on a terminal.)
if command -v script >/dev/null; then
	echo pc1 | script -qec "$BEEMOCTL machine remove pc1 ${AP[*]}" \
		/dev/null >"$T/r3.out" 2>&1 || t_fail "r3: $(cat "$T/r3.out")"
	grep -q "Type pc1 to confirm" "$T/r3.out" ||
		t_fail "no confirmation asked: $(cat "$T/r3.out")"
else
	"$BEEMOCTL" machine remove pc1 --yes "${AP[@]}" >/dev/null ||
		t_fail "remove 2"
fi
area=$(echo "$T"/store/machines/.removed/pc1.*)
before=$(du -sk "$T/store" | cut -f1)
sed -i 's/^remove_grace = .*/remove_grace = 0s/' "$BEEMO_CONFIG"
"$BEEMO_SYNC" maintenance >"$T/m2.out" 2>"$T/m2.err" ||
	t_fail "maintenance 2: $(cat "$T/m2.err")"
grep -q "1 removed machine freed" "$T/m2.out" ||
	t_fail "m2: $(cat "$T/m2.out")"
after=$(du -sk "$T/store" | cut -f1)
[ ! -e "$area" ] || t_fail "not freed: $(ls -R "$area")"
[ $((before - after)) -ge 2900 ] ||
	t_fail "only $((before - after)) KiB freed ($before -> $after)"
"$BEEMOCTL" journal --all --type machine "${AP[@]}" >"$T/j.out" ||
	t_fail "journal"
grep -q "machine pc1 freed after its grace period: keys and store erased, [0-9]* bytes freed" \
	"$T/j.out" || t_fail "journal: $(cat "$T/j.out")"
t_must_fail "restore after freeing" "$BEEMOCTL" machine restore pc1 \
	"${AP[@]}"
# The name is free again.
"$BEEMOCTL" machine add pc1 --user alice "${AP[@]}" \
	--user-password-file "$T/alice.pw" --poste-key "$T/pc1b.poste" \
	>/dev/null || t_fail "add after freeing"

# --now: freed at once, nothing set aside; also for a machine removed
# before.
"$BEEMOCTL" machine remove pc1 --now --yes "${AP[@]}" >"$T/n.out" ||
	t_fail "remove --now"
[ ! -e "$T/store/keys/machines/pc1.key" ] &&
	[ ! -e "$T/store/machines/pc1" ] &&
	[ -z "$(ls -A "$T/store/machines/.removed")" ] ||
	t_fail "--now left something"
"$BEEMOCTL" machine add pc3 --user alice "${AP[@]}" \
	--user-password-file "$T/alice.pw" --poste-key "$T/pc3.poste" \
	>/dev/null || t_fail "add pc3"
sed -i 's/^remove_grace = .*/remove_grace = 7d/' "$BEEMO_CONFIG"
"$BEEMOCTL" machine remove pc3 --yes "${AP[@]}" >/dev/null ||
	t_fail "remove pc3"
"$BEEMOCTL" machine remove pc3 --now --yes "${AP[@]}" >"$T/n2.out" ||
	t_fail "remove --now of a removed machine"
grep -q "machine pc3 freed" "$T/n2.out" || t_fail "n2: $(cat "$T/n2.out")"
[ -z "$(ls -A "$T/store/machines/.removed")" ] || t_fail "pc3 not freed"
# No sanitizer report from the commands run here.
! grep -l -e 'runtime error:' -e 'AddressSanitizer' -e 'LeakSanitizer' \
	"$T"/*.out "$T"/*.err 2>/dev/null || t_fail "sanitizer report"
exit 0
