#!/bin/bash
# store_format.sh -- a new store is of format 2 (one key per use,
# beemo-store(5)), recorded in store.id, and the index's authenticated
# format counter must agree with it: a store.id that says format 1 over
# a format 2 store is refused by a session, by check and by
# rebuild-index, instead of hashing names with the wrong key.  (Format 1
# stores written by the old code: format_v1.sh.)
. "$(dirname "$0")/lib.sh"

[ -x "$BEEMOFS" ] || t_skip "beemofs is not built"
command -v fusermount3 >/dev/null || t_skip "no fusermount3"

t_appliance
M="$T/mnt"
D="$T/store/machines/pc1"
PW=(--password-file "$T/admin.pw")

t_mount "$M"
mkdir "$M/dir"
printf 'kept\n' >"$M/dir/file.txt"
t_umount "$M"

# version_of: the version field of store.id (bytes 8-9, big-endian).
version_of() { od -An -tu1 -j8 -N2 "$D/store.id" | tr -s ' ' | sed 's/^ //'; }
[ "$(version_of)" = "0 2" ] || t_fail "store.id version $(version_of), not 2"

# A downgraded store.id.
cp "$D/store.id" "$T/store.id.good"
printf '\001' | dd of="$D/store.id" bs=1 seek=9 conv=notrunc 2>/dev/null
[ "$(version_of)" = "0 1" ] || t_fail "could not rewrite store.id"
t_expect_log 'store.id says format 1'
t_expect_log 'cannot open the store'
mkdir -p "$M"
if "$BEEMOFS" "$T/store" "$M" -f -o "machine=pc1,keyfile=$T/pc1.poste" \
	>"$T/refused.log" 2>&1; then
	t_fail "beemofs ran on a store.id that names another format"
fi
grep -q 'store.id says format 1, the index 2' "$T/refused.log" ||
	t_fail "beemofs did not say why: $(cat "$T/refused.log")"
t_must_fail "check with a downgraded store.id" \
	"$BEEMOCTL" check pc1 "${PW[@]}"
grep -q 'store.id says format 1' "$T/must_fail.out" ||
	t_fail "check did not say why: $(cat "$T/must_fail.out")"
t_must_fail "rebuild-index with a downgraded store.id" \
	"$BEEMOCTL" rebuild-index pc1 "${PW[@]}"
grep -q "store.id says format 1, the packs' log 2" "$T/must_fail.out" ||
	t_fail "rebuild-index did not say why: $(cat "$T/must_fail.out")"

# The store.id back: everything works, names are found.
cp "$T/store.id.good" "$D/store.id"
"$BEEMOCTL" rebuild-index pc1 "${PW[@]}" >/dev/null || t_fail "rebuild-index"
"$BEEMOCTL" check pc1 --read-data "${PW[@]}" >"$T/check.out" 2>&1 ||
	t_fail "check: $(cat "$T/check.out")"
"$BEEMOCTL" restore pc1 latest dir/file.txt --target "$T/r" "${PW[@]}" \
	>/dev/null || t_fail "restore by name"
[ "$(cat "$T/r/file.txt" 2>/dev/null || cat "$T/r/dir/file.txt")" = kept ] ||
	t_fail "restored content differs"
t_log "ok"
