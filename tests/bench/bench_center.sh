#!/bin/bash
# bench_center.sh -- beemo-sync pushing through beemo-center serve (the
# forced command of the appliance's key) against pushing to a plain
# internal-sftp account, alternating, in the same invocation; and the
# center's CPU seconds per GB accepted (from AREA/state/serve.log).
#
#   BEEMO_BUILD=build bash tests/bench/bench_center.sh [PACKS] [MIB] [ROUNDS]
#
# PACKS (default 64) fake packs of MIB (default 8) MiB of random bytes,
# as sync_fake_packs makes them; ROUNDS (default 3) alternating pushes
# to each, each to an emptied center; medians are reported.  The target
# is a ratio >= 0.9.  These machines are shared: compare the ratio
# measured within one run, not absolute figures.
. "$(dirname "$0")/../e2e/lib.sh"
. "$(dirname "$0")/../e2e/sshd_lib.sh"
. "$(dirname "$0")/../e2e/center_lib.sh"

PACKS=${1:-64}
MIB=${2:-8}
ROUNDS=${3:-3}

sshd_require
sshd_start plain
center_start serve
A="$T/area_serve"
mapfile -t plain < <(sshd_target_conf plain)
mapfile -t served < <(center_target_conf serve)
t_config "[sync]" "timeout = 60s" "${plain[@]}"
cp "$BEEMO_CONFIG" "$T/plain.conf"
t_config "[sync]" "timeout = 60s" "${served[@]}"
cp "$BEEMO_CONFIG" "$T/serve.conf"
t_appliance
sync_fake_packs bench "$PACKS" $((MIB * 1048576))
P=$(find "$T/store/machines" -name '*.pack' -printf '%s\n' |
	awk '{s += $1} END {print s}')
t_log "corpus: $PACKS packs of $MIB MiB ($((P / 1048576)) MiB)"

now() { date +%s%N; }
mibs() { echo "scale=1; $1 * 1000000000 / 1048576 / $2" | bc; } # BYTES NS
median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

# push CONF: one push with CONF, its rate in MiB/s of packs.
push() {
	local s e
	s=$(now)
	BEEMO_CONFIG=$1 "$BEEMO_SYNC" -q push 2>>"$T/sync.log" ||
		t_fail "push with $1 failed"
	e=$(now)
	mibs "$P" $((e - s))
}

: >"$T/plain.rates"
: >"$T/serve.rates"
: >"$T/ratios"
: >"$A/state/serve.log"
for r in $(seq 1 "$ROUNDS"); do
	rm -rf "$T/center_plain/beemo"
	a=$(push "$T/plain.conf")
	rm -rf "${A:?}/data/"* "$A/state/usage"
	b=$(push "$T/serve.conf")
	echo "$a" >>"$T/plain.rates"
	echo "$b" >>"$T/serve.rates"
	echo "scale=2; $b / $a" | bc >>"$T/ratios"
	t_log "round $r: internal-sftp $a MiB/s, serve $b MiB/s, ratio $(tail -n 1 "$T/ratios")"
done
cpu=$(awk '{c += $10; b += $6} END {printf "%.2f", c / (b / 1e9)}' \
	"$A/state/serve.log")
t_log "push: internal-sftp $(median <"$T/plain.rates") MiB/s, serve $(median <"$T/serve.rates") MiB/s, median ratio $(median <"$T/ratios") (target >= 0.9)"
t_log "center CPU: $cpu s per GB accepted (user + system of serve)"
