#!/bin/bash
# sync_tamper.sh -- a hostile or damaged center: a flipped byte in a
# remote pack is named by verify --read-data and by recover, which
# writes nothing into the store; a truncated pack is named by verify; a
# manifest whose objects are not all there is not used for recovery.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd_lib.sh"

sshd_require
sshd_start a
sync_config a
t_appliance
sync_fake_packs pc1 6 300000
sync_run push push || t_fail "push: $(cat "$T/push.err")"
R="$T/center_a/beemo"
mapfile -t packs < <(cd "$R" && find machines -name '*.pack' | sort)
victim=${packs[2]}

t_expect_log "error: target a: $victim is DAMAGED"
t_expect_log 'error: verify failed for target: a'
t_expect_log 'error: recovery incomplete: 1 of [0-9]+ objects could not be restored'
t_expect_log "error: target a: ${packs[4]} has 1000 bytes, expected 300000"
t_expect_log "warning: target a: manifests/.* lists 1 objects that are missing or of the wrong size"
t_expect_log 'error: target a: no complete manifest found'

# Flip one byte in the middle of a remote pack.
printf '\x5a' | dd of="$R/$victim" bs=1 seek=150000 conv=notrunc 2>/dev/null
cmp -s "$R/$victim" "$T/store/$victim" && t_fail "the byte was not changed"
sync_run v1 verify || t_fail "verify (sizes only) should pass"
sync_run v2 verify --read-data && t_fail "verify --read-data missed the damage"
grep -q "$victim is DAMAGED" "$T/v2.err" || t_fail "not named: $(cat "$T/v2.err")"
grep -c DAMAGED "$T/v2.err" | grep -x 1 >/dev/null || t_fail "more than one object named"

sync_run rec recover --target a --store "$T/new" --password-file "$T/admin.pw" &&
	t_fail "recover restored from a damaged copy"
grep -q "$victim is DAMAGED: its SHA-256 differs from the manifest; it is not restored" \
	"$T/rec.err" || t_fail "recover: $(cat "$T/rec.err")"
[ ! -e "$T/new/$victim" ] && [ ! -e "$T/new/$victim.part" ] ||
	t_fail "the damaged pack reached the new store"
[ ! -e "$T/new/keys" ] && [ ! -e "$T/new/machines" ] ||
	t_fail "something was written into the store despite the damage"
[ ! -e "$T/new/.beemo-staging" ] || t_fail "staging directory left behind"

# Truncate another one: verify names it; recovery finds no complete
# manifest.
truncate -s 1000 "$R/${packs[4]}"
sync_run v3 verify && t_fail "verify missed a truncated pack"
grep -q "${packs[4]} has 1000 bytes, expected 300000" "$T/v3.err" ||
	t_fail "truncation not named: $(cat "$T/v3.err")"
rm -rf "$T/new"
sync_run rec2 recover --target a --store "$T/new" --password-file "$T/admin.pw" &&
	t_fail "recover used an incomplete manifest"
grep -q "no complete manifest found" "$T/rec2.err" ||
	t_fail "recover: $(cat "$T/rec2.err")"
t_log "ok"
