#!/bin/bash
# run.sh BUILD_DIR SECONDS TARGET -- run fuzz target TARGET (keyfile,
# json or manifest) of a -Dfuzz=true build for SECONDS from its seeds.
#
# Builds nothing: BUILD_DIR must hold tests/fuzz/fuzz_TARGET, and
# tools/beemoctl for the keyfile target, whose seeds are generated here
# with it (an appliance, two machines, a rotation, a second user, a
# POSTE key file), the version 1 admin.key and appliance.key of
# tests/fixtures/v1, plus tiny files with each magic.  The json, sftp and
# manifest targets start from the checked-in seeds/TARGET/ (files that
# beemo-sync writes and reads back, and hand-made edge cases).  Exits
# with the fuzzer's status; a crashing input is kept under the printed
# directory.
set -euo pipefail

if [ $# -ne 3 ]; then
	echo "usage: $0 BUILD_DIR SECONDS keyfile|json|manifest|sftp" >&2
	exit 2
fi
BUILD=$(cd "$1" && pwd)
SECS=$2
TARGET=$3
HERE=$(cd "$(dirname "$0")" && pwd)
case "$TARGET" in
keyfile | json | manifest | sftp) ;;
*) echo "$0: unknown target $TARGET" >&2; exit 2 ;;
esac
FUZZER="$BUILD/tests/fuzz/fuzz_$TARGET"
BEEMOCTL="$BUILD/tools/beemoctl"
[ -x "$FUZZER" ] || { echo "$0: $FUZZER missing (meson setup -Dfuzz=true)" >&2
	exit 1; }

W=$(mktemp -d "/tmp/beemo-fuzz-$TARGET.XXXXXX")
trap 'rc=$?; [ $rc = 0 ] && rm -rf "$W" || echo "kept $W" >&2; exit $rc' EXIT
mkdir -p "$W/seeds" "$W/corpus" "$W/artifacts"

# keyfile_seeds: real key files made by beemoctl, and short files with
# each magic.
keyfile_seeds() {
	[ -x "$BEEMOCTL" ] || { echo "$0: $BEEMOCTL missing" >&2; exit 1; }
	export BEEMO_CONFIG="$W/beemo.conf"
	echo "store = $W/store" >"$BEEMO_CONFIG"
	printf 'admin-pw\n' >"$W/admin.pw"
	printf 'user-pw\n' >"$W/user.pw"
	local kdf=(--kdf-n 1024 --kdf-r 8 --kdf-p 1) K="$W/store/keys" m
	export BEEMO_PASSWORD_FILE="$W/admin.pw"
	export BEEMO_USER_PASSWORD_FILE="$W/user.pw"
	"$BEEMOCTL" init "${kdf[@]}" >/dev/null
	"$BEEMOCTL" machine add pc1 --user alice --poste-key "$W/pc1.poste" \
		>/dev/null
	"$BEEMOCTL" machine add pc2 --user bob --poste-key "$W/pc2.poste" \
		>/dev/null
	"$BEEMOCTL" key rotate pc2 >/dev/null
	"$BEEMOCTL" user add pc2 carol >/dev/null
	cp "$K/admin.key" "$K/appliance.key" "$W/pc1.poste" "$W/pc2.poste" \
		"$W/seeds/"
	cp "$K/machines/pc1.key" "$W/seeds/pc1.key"
	cp "$K/machines/pc2.key" "$W/seeds/pc2.key"
	# Version 1 files (admin.key with its RSA wrap, appliance.key
	# without K_OFF) as the first release wrote them.
	local v1="$HERE/../fixtures/v1/store/keys"
	cp "$v1/admin.key" "$W/seeds/admin-v1.key"
	cp "$v1/appliance.key" "$W/seeds/appliance-v1.key"
	for m in BMKEYAPL BMKEYADM BMKEYMCH BMKEYPST; do
		printf '%s\0\0\0\1' "$m" >"$W/seeds/$m.short"
		printf '%s\0\0\0\2' "$m" >"$W/seeds/$m.short2"
	done
}

if [ "$TARGET" = keyfile ]; then
	keyfile_seeds
else
	cp "$HERE/seeds/$TARGET/"* "$W/seeds/"
fi

"$FUZZER" -max_total_time="$SECS" -max_len=65536 -timeout=10 \
	-rss_limit_mb=2048 -artifact_prefix="$W/artifacts/" \
	-print_final_stats=1 "$W/corpus" "$W/seeds"
