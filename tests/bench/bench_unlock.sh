#!/bin/bash
# bench_unlock.sh [BUILD_DIR] -- time to unlock a machine's SECRET as each
# principal with the DEFAULT scrypt parameters: `beemoctl key unlock`,
# wall clock of the whole process, median of 5 runs (and min, max).
#
# The administrator and the user pay one scrypt and one RSA-3072
# decryption per generation; the POSTE key file pays no scrypt (it is
# sealed with the appliance key), so its line shows the floor of process
# start, file reads and RSA.  The defaults are meant to make a password
# unlock take 0.2 to 1 s.
set -euo pipefail

BUILD=${1:-${BEEMO_BUILD:-build}}
BEEMOCTL="$(cd "$BUILD" && pwd)/tools/beemoctl"
[ -x "$BEEMOCTL" ] || { echo "$0: no $BEEMOCTL (give the build dir)" >&2
	exit 1; }
RUNS=5

W=$(mktemp -d /tmp/beemo-bench-unlock.XXXXXX)
trap 'rm -rf "$W"' EXIT
export BEEMO_CONFIG="$W/beemo.conf"
echo "store = $W/store" >"$BEEMO_CONFIG"
printf 'admin-pw\n' >"$W/admin.pw"
printf 'alice-pw\n' >"$W/alice.pw"
"$BEEMOCTL" init --password-file "$W/admin.pw" >/dev/null
"$BEEMOCTL" machine add pc1 --user alice --poste-key "$W/pc1.poste" \
	--password-file "$W/admin.pw" --user-password-file "$W/alice.pw" \
	>/dev/null

# run_ms ARGS...: wall time of one `beemoctl key unlock pc1 ARGS` in ms.
run_ms() {
	local t0 t1
	t0=$(date +%s%N)
	"$BEEMOCTL" key unlock pc1 "$@" >/dev/null
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000000))
}

# bench LABEL ARGS...: print one table row.
bench() {
	local label=$1 i
	shift
	local -a ms=()
	for i in $(seq 1 $RUNS); do
		ms+=("$(run_ms "$@")")
	done
	mapfile -t ms < <(printf '%s\n' "${ms[@]}" | sort -n)
	printf '%-14s %8d %8d %8d\n' "$label" "${ms[$((RUNS / 2))]}" \
		"${ms[0]}" "${ms[$((RUNS - 1))]}"
}

echo "beemoctl key unlock, default scrypt parameters" \
	"(N=131072 r=8 p=1), $RUNS runs, ms"
echo "$(nproc) CPU, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 |
	sed 's/^ *//')"
printf '%-14s %8s %8s %8s\n' principal median min max
bench administrator --admin --password-file "$W/admin.pw"
bench "user alice" --user alice --password-file "$W/alice.pw"
bench "POSTE key" --poste-key "$W/pc1.poste"
