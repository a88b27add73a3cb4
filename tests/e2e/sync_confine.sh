#!/bin/bash
# sync_confine.sh -- remote paths stay under the target's path: a
# symbolic link on the center that leads out of it is refused (and
# nothing is written through it), a link inside it is followed, and a
# configured path with ".." is rejected before connecting.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd_lib.sh"

sshd_require
sshd_start a
sync_config a
t_appliance
sync_fake_packs pc1 3 100000
R="$T/center_a/beemo"
mkdir -p "$R" "$T/outside"
ln -s "$T/outside" "$R/machines"

t_expect_log "error: target a: $R/machines is a symbolic link to $T/outside, outside $R; refusing to follow it"
t_expect_log 'error: push failed for target: a'
t_expect_log "error: target a: path '.*' must not contain '.' or '..' components"
sync_run esc push && t_fail "push through an escaping link succeeded"
grep -q "is a symbolic link to $T/outside, outside $R" "$T/esc.err" ||
	t_fail "message: $(cat "$T/esc.err")"
[ -z "$(ls -A "$T/outside")" ] || t_fail "something was written outside"

# A link that stays inside the target's path is fine.
rm "$R/machines"
mkdir -p "$R/real-machines"
ln -s real-machines "$R/machines"
sync_run inside push || t_fail "push through an inner link: $(cat "$T/inside.err")"
[ "$(find "$R/real-machines" -name '*.pack' | wc -l)" = 3 ] ||
	t_fail "packs not under the inner link"
sync_run verify verify --read-data || t_fail "verify"

sed -i "s|^path = .*|path = $R/../escape|" "$BEEMO_CONFIG"
sync_run dots push && t_fail "a path with .. was accepted"
grep -q "must not contain '.' or '..' components" "$T/dots.err" ||
	t_fail "message: $(cat "$T/dots.err")"
t_log "ok"
