#!/bin/bash
# sync_release_pack.sh -- packs gone from the store: the next push sends
# only the new packs and deletes nothing at the center, and `release`
# never names a pack that no prune recorded as dropped (one lost by
# accident stays at the center, where it may be recovered).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd_lib.sh"

sshd_require
sshd_start a
sync_config a
printf '%s\n' "[store]" "pack_size = 1M" >>"$BEEMO_CONFIG"
t_appliance
AP=(--password-file "$T/admin.pw")
M="$T/mnt"
t_mount "$M"
head -c 3000000 /dev/urandom >"$M/one"
t_umount "$M"
sync_run push1 push || t_fail "push 1: $(cat "$T/push1.err")"
sync_remote_files a >"$T/files1"
npacks=$(grep -c '\.pack$' "$T/files1")
[ "$npacks" -ge 2 ] || t_fail "only $npacks packs"

# A pack lost by accident, and new data.
lost=$(find "$T/store/machines/pc1/packs" -name '*.pack' | sort | head -n 1)
rm "$lost"
t_mount "$M"
head -c 2000000 /dev/urandom >"$M/two"
t_umount "$M"
sync_run push2 push || t_fail "push 2: $(cat "$T/push2.err")"
sync_remote_files a >"$T/files2"
comm -13 "$T/files1" "$T/files2" | sed "s|^$T/center_a/beemo/||" >"$T/new"
newpacks=$(cd "$T/store/machines/pc1" && comm -13 \
	<(sed -n 's|.*/machines/pc1/\(packs/.*\.pack\)$|\1|p' "$T/files1") \
	<(find packs -name '*.pack' | sort) | wc -l)
[ "$newpacks" -ge 1 ] || t_fail "no new pack"
[ "$(grep -c '\.pack$' "$T/new")" = "$newpacks" ] ||
	t_fail "push 2 sent $(grep -c '\.pack$' "$T/new") packs, $newpacks are new"
[ "$(grep -vc -e '\.pack$' -e '^status/' -e '^manifests/' -e '^journal/' \
	"$T/new")" = 0 ] || t_fail "push 2 sent: $(cat "$T/new")"
[ -z "$(comm -23 "$T/files1" "$T/files2")" ] ||
	t_fail "remote objects disappeared: $(comm -23 "$T/files1" "$T/files2")"

sync_run r release --yes "${AP[@]}" || t_fail "release: $(cat "$T/r.err")"
grep -q "^nothing to release" "$T/r.out" || t_fail "r: $(cat "$T/r.out")"
[ -z "$(ls "$T/store/sync/requests/a" 2>/dev/null)" ] ||
	t_fail "a request for a lost pack"
exit 0
