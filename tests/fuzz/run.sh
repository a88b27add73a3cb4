#!/bin/bash
# run.sh BUILD_DIR SECONDS -- run the key file fuzzer of a -Dfuzz=true
# build for SECONDS with a seed corpus of real key files.
#
# Builds nothing: BUILD_DIR must hold tests/fuzz/fuzz_keyfile and
# tools/beemoctl.  The seeds are generated here with that beemoctl (an
# appliance, two machines, a rotation, a second user, a POSTE key file)
# plus tiny files with each magic.  Exits with the fuzzer's status; a
# crashing input is kept under the printed directory.
set -euo pipefail

if [ $# -ne 2 ]; then
	echo "usage: $0 BUILD_DIR SECONDS" >&2
	exit 2
fi
BUILD=$(cd "$1" && pwd)
SECS=$2
FUZZER="$BUILD/tests/fuzz/fuzz_keyfile"
BEEMOCTL="$BUILD/tools/beemoctl"
for f in "$FUZZER" "$BEEMOCTL"; do
	[ -x "$f" ] || { echo "$0: $f missing (meson setup -Dfuzz=true)" >&2
		exit 1; }
done

W=$(mktemp -d /tmp/beemo-fuzz.XXXXXX)
trap 'rc=$?; [ $rc = 0 ] && rm -rf "$W" || echo "kept $W" >&2; exit $rc' EXIT
mkdir -p "$W/seeds" "$W/corpus" "$W/artifacts"

# Real key files.
export BEEMO_CONFIG="$W/beemo.conf"
echo "store = $W/store" >"$BEEMO_CONFIG"
printf 'admin-pw\n' >"$W/admin.pw"
printf 'user-pw\n' >"$W/user.pw"
kdf=(--kdf-n 1024 --kdf-r 8 --kdf-p 1)
export BEEMO_PASSWORD_FILE="$W/admin.pw" BEEMO_USER_PASSWORD_FILE="$W/user.pw"
"$BEEMOCTL" init "${kdf[@]}" >/dev/null
"$BEEMOCTL" machine add pc1 --user alice --poste-key "$W/pc1.poste" >/dev/null
"$BEEMOCTL" machine add pc2 --user bob --poste-key "$W/pc2.poste" >/dev/null
"$BEEMOCTL" key rotate pc2 >/dev/null
"$BEEMOCTL" user add pc2 carol >/dev/null
K="$W/store/keys"
cp "$K/admin.key" "$K/appliance.key" "$W/pc1.poste" "$W/pc2.poste" \
	"$W/seeds/"
cp "$K/machines/pc1.key" "$W/seeds/pc1.key"
cp "$K/machines/pc2.key" "$W/seeds/pc2.key"
for m in BMKEYAPL BMKEYADM BMKEYMCH BMKEYPST; do
	printf '%s\0\0\0\1' "$m" >"$W/seeds/$m.short"
done

"$FUZZER" -max_total_time="$SECS" -max_len=65536 -timeout=10 \
	-rss_limit_mb=2048 -artifact_prefix="$W/artifacts/" \
	-print_final_stats=1 "$W/corpus" "$W/seeds"
