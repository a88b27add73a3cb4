#!/bin/bash
# run.sh [BUILD_DIR [MESON_SETUP_OPTIONS...]] -- build and run the whole
# test suite (unit, end-to-end, man page checks), then print one line
# "N passed, N failed" (skipped tests are counted apart).  Exit status 0
# only if nothing failed.  Needs root (FUSE mounts, sshd on 127.0.0.1).
#
#   tests/run.sh                         # build/, default options
#   tests/run.sh build-asan -Db_sanitize=address,undefined
set -uo pipefail

cd "$(dirname "$0")/.."
BUILD=${1:-build}
[ $# -gt 0 ] && shift
if [ ! -f "$BUILD/build.ninja" ]; then
	meson setup "$BUILD" "$@" || { echo "0 passed, 1 failed"; exit 1; }
elif [ $# -gt 0 ]; then
	meson configure "$BUILD" "$@" || { echo "0 passed, 1 failed"; exit 1; }
fi
if ! ninja -C "$BUILD"; then
	echo "build failed"
	echo "0 passed, 1 failed"
	exit 1
fi

# Sanitizer reports go to the daemons' logs, which the tests read.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp}

meson test -C "$BUILD" --print-errorlogs --num-processes 2 \
	--no-suite fuzz --timeout-multiplier "${TIMEOUT_MULTIPLIER:-1}"
rc=$?

# The summary line CI reads, from meson's machine-readable log.
python3 - "$BUILD/meson-logs/testlog.json" <<'PY'
import json, sys
ok = bad = skip = 0
for line in open(sys.argv[1]):
    r = json.loads(line).get("result")
    if r in ("OK", "EXPECTEDFAIL"):
        ok += 1
    elif r == "SKIP":
        skip += 1
    else:
        bad += 1
print(f"{ok} passed, {bad} failed" + (f", {skip} skipped" if skip else ""))
PY
exit $rc
