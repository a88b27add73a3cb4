#!/bin/bash
# retention_unattended.sh -- the retention policy applied at the end of
# each backup session, with no password typed, with older snapshots
# taken at chosen times (faketime, a test-only clock):
#   - Without a policy nothing is forgotten.
#   - A compromised client (the POSTE key, a mounted session) makes 30
#     snapshots in a few seconds: with keep-daily 3 and min-age 7d,
#     unmounting forgets exactly the snapshots older than min-age outside
#     the three newest days; the flood (younger than min-age), the
#     newest complete snapshot (the session's own) and the daily of 9
#     days ago stay.  Both journals name the snapshots, by "retention
#     (unattended)"; the prune ran.
#   - `beemoctl forget` waits for a mounted session, saying so.
#   - A policy file changed by hand is refused: the next session
#     forgets nothing, logs why and queues an error report.
. "$(dirname "$0")/lib.sh"

[ -c /dev/fuse ] || t_skip "no /dev/fuse"
command -v fusermount3 >/dev/null || t_skip "fusermount3 missing"
command -v faketime >/dev/null || t_skip "faketime missing"
export TZ=UTC
t_appliance
M=$T/mnt
A=(--password-file "$T/admin.pw")
P=(--poste-key "$T/pc1.poste")

t_mount "$M"
head -c 300000 /dev/urandom >"$M/old"
t_umount "$M"

# snap DAYS-AGO: a snapshot taken that long ago at noon; prints its id.
# (libfaketime is preloaded: an ASan build must accept not being first.)
snap() {
	ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" faketime -f "@$(date -u -d "-$1 days" +%F) 12:00:00" \
		"$BEEMOCTL" snapshot pc1 "${P[@]}" \
		--note "end of backup session" | sed 's/^snapshot //'
}
declare -A ID
for d in 30 20 15 9 3; do
	ID[$d]=$(snap $d) || t_fail "snapshot $d days ago"
done
count() {
	"$BEEMOCTL" snapshots pc1 --json "${A[@]}" |
		python3 -c 'import json, sys; print(len(json.load(sys.stdin)["snapshots"]))'
}
ids() {
	"$BEEMOCTL" snapshots pc1 --json "${A[@]}" | python3 -c '
import json, sys
print(" ".join(str(s["id"]) for s in sorted(json.load(sys.stdin)["snapshots"],
                                             key=lambda s: s["id"])))'
}
[ "$(count)" = 6 ] || t_fail "snapshots: $(ids)"

# --- no policy: a session forgets nothing -----------------------------------
t_mount "$M"
echo change >"$M/file"
t_umount "$M"
[ "$(count)" = 7 ] || t_fail "without a policy: $(ids)"

"$BEEMOCTL" retention pc1 --keep-daily 3 "${A[@]}" >/dev/null ||
	t_fail "retention pc1"

# --- a flood of snapshots during a session -----------------------------------
before=$(ids)
t_mount "$M"
for i in $(seq 30); do
	echo "$i" >"$M/file"
	"$BEEMOCTL" snapshot pc1 >/dev/null || t_fail "flood snapshot $i"
done
rm "$M/old"
t_umount "$M"
after=$(ids)
# Forgotten: 30, 20 and 15 days ago (older than 7 days, not among the
# newest three days: today, 3 and 9 days ago).
want=$( (for i in $before; do echo "$i"; done; seq 8 38) |
	grep -vxE "${ID[30]}|${ID[20]}|${ID[15]}" | sort -n | tr '\n' ' ')
[ "$after " = "$want" ] ||
	t_fail "after the session: $after, want $want"
grep -q "machine pc1: its policy keep-daily 3, min-age 7d: 3 of 38 snapshots to forget" \
	"$T/beemofs.log" || t_fail "beemofs.log: $(tail "$T/beemofs.log")"
grep -q "machine pc1: pruned: " "$T/beemofs.log" || t_fail "no prune"
"$BEEMOCTL" journal pc1 --type forget --files "${A[@]}" >"$T/j.out"
grep -q "retention (unattended)" "$T/j.out" &&
	grep -q "forgot 3 snapshots" "$T/j.out" &&
	grep -q "snapshot ${ID[15]} of $(date -u -d '-15 days' +%F)T12:00" \
		"$T/j.out" || t_fail "machine journal: $(cat "$T/j.out")"
"$BEEMOCTL" journal --all --type forget --files "${A[@]}" >"$T/ja.out"
grep -q "machine pc1: 3 snapshots forgotten, 35 kept" "$T/ja.out" &&
	grep -q "snapshot ${ID[20]} $(date -u -d '-20 days' +%F)T12:00" \
		"$T/ja.out" || t_fail "appliance journal: $(cat "$T/ja.out")"

# --- forget waits for a mounted session ------------------------------------
t_mount "$M"
"$BEEMOCTL" forget pc1 "${P[@]}" >"$T/wait.out" 2>"$T/wait.err" &
fpid=$!
T_PIDS+=("$fpid")
t_wait_for 10 grep -q "waiting for the backup session of" \
	"$T/wait.err" || t_fail "forget does not say it waits: $(cat "$T/wait.err")"
t_running "$fpid" || t_fail "forget did not wait for the session"
echo waited >"$M/file"
t_umount "$M"
wait "$fpid" || t_fail "forget after the session: $(cat "$T/wait.err")"
grep -q "0 of 36 snapshots forgotten" "$T/wait.out" ||
	t_fail "forget after the session: $(cat "$T/wait.out")"

# --- a policy changed by hand: refused, nothing forgotten, reported ---------
POL=$T/store/retention/machines/pc1.policy
sed -i 's/^min-age 7d$/min-age 0/' "$POL"
spooled() { find "$T/store/reports/spool" -type f 2>/dev/null | wc -l; }
reports=$(spooled)
before=$(ids)
t_expect_log "unattended retention: the policy is refused"
t_mount "$M"
echo third >"$M/file"
t_umount "$M"
after=$(ids)
[ "$after" = "$before $(( ${before##* } + 1 ))" ] ||
	t_fail "a refused policy forgot: $before -> $after"
grep -q "unattended retention: the policy is refused: .*pc1.policy: refused: its signature is not the administrator's" \
	"$T/beemofs.log" || t_fail "no error logged: $(tail "$T/beemofs.log")"
[ "$(spooled)" -gt "$reports" ] || t_fail "no error report queued"
t_log "PASS"
