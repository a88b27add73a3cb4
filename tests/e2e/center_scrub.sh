#!/bin/bash
# center_scrub.sh -- beemo-center scrub on a real store's off-site copy:
# a flipped byte in a pushed pack is found and moved aside (exit 1), the
# next push reports it and uploads the pack again, verify passes and the
# next scrub is clean; a deleted object is reported missing, and so is an
# object only an older state held, which the push reports as lost.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd_lib.sh"
. "$(dirname "$0")/center_lib.sh"

sshd_require
[ -x "$BEEMOFS" ] || t_skip "beemofs is not built"
command -v fusermount3 >/dev/null || t_skip "no fusermount3"
A="$T/area_a"
center_area a
sshd_start a
mapfile -t tconf < <(sshd_target_conf a "$A/data")
t_config "[sync]" "timeout = 20s" "connections = 2" "${tconf[@]}"
t_appliance

M="$T/mnt"
t_mount "$M"
head -c 2000000 /dev/urandom >"$M/one.bin"
printf 'scrub-%s\n' $(seq 1 5000) >"$M/two.txt"
t_umount "$M"
sync_run push1 push || t_fail "push: $(cat "$T/push1.err" "$T/sync.log")"

# scrub LOGNAME: scrub area a; stderr also goes to $T/scrub.log, which
# the exit checks scan (sanitizer reports, unexpected lines).
scrub() {
	local rc=0
	"$BEEMO_CENTER" scrub --area "$A" >"$T/$1.out" 2>"$T/$1.err" || rc=$?
	cat "$T/$1.err" >>"$T/scrub.log"
	return $rc
}
t_expect_log "warning: area a: machines/.* is damaged \(wrong size or SHA-256\); moved aside"
t_expect_log "warning: area a: (keys|status)/.* is missing$"
scrub clean0 || t_fail "scrub of an intact area: $(cat "$T/clean0.err")"
grep -q " 0 missing, 0 damaged" "$T/clean0.out" || t_fail "$(cat "$T/clean0.out")"
[ -f "$A/data/center/scrub.json" ] || t_fail "no center/scrub.json"
nobj=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["objects"])' \
	"$A/data/center/scrub.json")
[ "$nobj" -ge 4 ] || t_fail "scrub checked only $nobj objects"

# A flipped byte in the largest pack.
pack=$(find "$A/data/machines" -name '*.pack' -printf '%s %P\n' | sort -n |
	tail -1 | cut -d' ' -f2)
[ -n "$pack" ] || t_fail "no pack pushed"
P="$A/data/machines/$pack"
size=$(stat -c %s "$P")
chmod u+w "$P"
python3 - "$P" <<'PY'
import sys
with open(sys.argv[1], 'r+b') as f:
    f.seek(1000)
    b = f.read(1)
    f.seek(1000)
    f.write(bytes([b[0] ^ 0x40]))
PY
t_must_fail "scrub with a damaged pack" scrub bad1
grep -q "0 missing, 1 damaged" "$T/bad1.out" || t_fail "$(cat "$T/bad1.out")"
grep -q "machines/$pack" "$A/data/center/scrub.json" ||
	t_fail "scrub.json does not name the damaged pack"
[ -e "$P" ] && t_fail "the damaged pack is still in place"
find "$A/state/damaged" -path "*/machines/$pack" | grep -q . ||
	t_fail "the damaged pack was not moved aside"
grep -q "scrub: machines/$pack is damaged" "$A/state/journal" ||
	t_fail "not journaled"

# The next push reads the report, says so, and uploads the pack again.
sync_run push2 push || t_fail "push after scrub: $(cat "$T/push2.err" "$T/sync.log")"
grep -q "machines/$pack.*damaged" "$T/sync.log" ||
	t_fail "push did not report the damaged pack"
: >"$T/sync.log" # the warnings above were expected
[ "$(stat -c %s "$P")" = "$size" ] || t_fail "the pack was not uploaded again"
cmp "$P" "$T/store/machines/$pack" || t_fail "the pack uploaded again differs"
sync_run status status || t_fail "status"
grep -q "scrub.*1 damaged" "$T/status.out" || t_fail "status: $(cat "$T/status.out")"
sync_run verify verify || t_fail "verify: $(cat "$T/sync.log")"
scrub clean1 || t_fail "scrub after the repair: $(cat "$T/clean1.err")"
grep -q " 0 missing, 0 damaged" "$T/clean1.out" || t_fail "$(cat "$T/clean1.out")"
# Without --area: every area under [center] root.
printf '[center]\nroot = %s\n' "$T" >"$T/center.conf"
"$BEEMO_CENTER" -c "$T/center.conf" scrub >"$T/all.out" 2>>"$T/scrub.log" ||
	t_fail "scrub of every area"
grep -q "^a: .* 0 missing, 0 damaged" "$T/all.out" || t_fail "$(cat "$T/all.out")"

# A deleted object is missing; the push puts it back.
key=$(cd "$A/data" && ls keys/machines/pc1.key.*)
rm -f "$A/data/$key"
t_must_fail "scrub with a missing key file" scrub bad2
grep -q "1 missing, 0 damaged" "$T/bad2.out" || t_fail "$(cat "$T/bad2.out")"
grep -q "\"$key\"" "$A/data/center/scrub.json" || t_fail "$key not listed missing"
sync_run push3 push || t_fail "push: $(cat "$T/push3.err")"
[ -f "$A/data/$key" ] || t_fail "the missing key file was not uploaded again"
grep -q "$key missing; it is uploaded again" "$T/sync.log" ||
	t_fail "push did not report the missing key file"
: >"$T/sync.log"

# An object only an older state held cannot be repaired: an error.
old=$(cd "$A/data" && ls status/*.json | head -1)
rm -f "$A/data/$old"
t_must_fail "scrub with an old status file gone" scrub bad3
sync_run push4 push
grep -q "$old.*cannot be uploaded again" "$T/sync.log" ||
	t_fail "the lost object was not reported: $(tail "$T/sync.log")"
sync_run status2 status
grep -q "1 lost" "$T/status2.out" || t_fail "status: $(cat "$T/status2.out")"
: >"$T/sync.log" # the errors above were expected

# A symbolic link in an object's place (a plain SFTP account allows one)
# is missing: the scrub neither reads nor moves what it points to.
printf 'outside the area\n' >"$T/outside"
ln -s "$T/outside" "$A/data/$old"
t_must_fail "scrub with a link in an object's place" scrub bad4
grep -q "1 missing, 0 damaged" "$T/bad4.out" || t_fail "$(cat "$T/bad4.out")"
[ "$(cat "$T/outside")" = "outside the area" ] || t_fail "the link's target moved"
[ -L "$A/data/$old" ] || t_fail "the link was moved"
# Nor a directory replaced by a link: its objects are missing, and a
# damaged file where it points stays there.
mv "$A/data/keys" "$T/keys_out"
ln -s "$T/keys_out" "$A/data/keys"
printf x >>"$T/keys_out/${key#keys/}"
t_must_fail "scrub with a linked directory" scrub bad5
grep -q " 0 damaged" "$T/bad5.out" || t_fail "$(cat "$T/bad5.out")"
[ -f "$T/keys_out/${key#keys/}" ] || t_fail "a file outside the area was moved"
t_log "ok"
