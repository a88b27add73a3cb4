#!/bin/bash
# center_serve_quota.sh -- an area's quota at the center: a push beyond
# it fails, the refusal is journaled with the quota message, every object
# that was accepted stays byte-exact, the area holds no more than the
# quota, and `df` shows the quota as the size of the area.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd_lib.sh"
. "$(dirname "$0")/center_lib.sh"

sshd_require
center_area a 20000000
center_start a
A="$T/area_a"
mapfile -t conf < <(center_target_conf a)
t_config "[sync]" "timeout = 20s" "connections = 2" "${conf[@]}"
t_appliance
sync_fake_packs pc1 10 3000000

t_expect_log 'error: target a: .*SFTP status 4'
t_expect_log 'error: target a: [0-9]+ objects were not transferred'
t_expect_log 'error: push failed for target: a'
t_expect_log 'error: target a: .*'
sync_run push push && t_fail "a push beyond the quota succeeded"
grep -q "serve: refused .*: quota of a (20000000) exceeded" \
	"$A/state/journal" || t_fail "no quota refusal in the journal"
n=0
while read -r f; do
	rel=${f#"$A/data/"}
	cmp -s "$f" "$T/store/${rel}" || t_fail "accepted $rel differs"
	n=$((n + 1))
done < <(find "$A/data/machines" -name '*.pack')
[ "$n" -ge 4 ] && [ "$n" -lt 10 ] || t_fail "$n packs accepted"
used=$(find "$A/data" -type f -printf '%s\n' | awk '{s += $1} END {print s}')
[ "$used" -le 20000000 ] || t_fail "the area holds $used bytes"
[ "$(cat "$A/state/usage")" = "$used" ] || t_fail "usage is not $used"
# The quota is what df shows (KiB).
center_sftp a -b - <<<"df" >"$T/df" 2>&1 || t_fail "df failed"
size=$(awk '$1 ~ /^[0-9]+$/ {print $1}' "$T/df")
[ "$size" -ge 19000 ] && [ "$size" -le 19532 ] ||
	t_fail "df shows $size KiB: $(cat "$T/df")"
t_log "ok ($n packs accepted)"
