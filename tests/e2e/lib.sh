# lib.sh -- shared functions for the end-to-end tests (sourced by each).
#
# Each test runs in its own temporary directory $T, with its own store
# $T/store and configuration $T/beemo.conf.  Programs come from the build
# directory ($BEEMO_BUILD, set by meson).  Daemon logs are kept under $T
# and checked at exit: a line with "ERROR: AddressSanitizer", "runtime
# error:" (UBSan) or "LeakSanitizer" fails the test; so does any
# "error:"/"warning:" line that the test did not declare expected with
# t_expect_log.  Exit 77 means "skipped: missing prerequisite", which is
# turned into a failure when $CI is set.
set -euo pipefail

: "${BEEMO_BUILD:?run through meson test}"
# Absolute: programs run from other directories (sshd's forced commands).
BEEMO_BUILD=$(realpath "$BEEMO_BUILD")
BEEMOCTL="$BEEMO_BUILD/tools/beemoctl"
BEEMOFS="$BEEMO_BUILD/fs/beemofs"
BEEMO_SYNC="$BEEMO_BUILD/sync/beemo-sync"
T_NAME=$(basename "$0" .sh)
T=$(mktemp -d "/tmp/beemo-$T_NAME.XXXXXX")
export BEEMO_CONFIG="$T/beemo.conf"
T_MOUNTS=()
T_PIDS=()
T_EXPECT=()
# Low scrypt cost for speed; one test uses the defaults.
T_KDF=(--kdf-n 1024 --kdf-r 8 --kdf-p 1)

t_log() { printf '%s: %s\n' "$T_NAME" "$*" >&2; }

t_fail() {
	t_log "FAIL: $*"
	exit 1
}

t_skip() {
	if [ -n "${CI:-}" ]; then
		t_fail "prerequisite missing in CI: $*"
	fi
	t_log "SKIP: $*"
	exit 77
}

# t_expect_log REGEX: lines matching REGEX are expected in daemon logs.
t_expect_log() { T_EXPECT+=("$1"); }

t_check_logs() {
	local f line ok re bad=0
	for f in "$T"/*.log; do
		[ -e "$f" ] || continue
		while IFS= read -r line; do
			case "$line" in
			*"ERROR: AddressSanitizer"* | *"runtime error:"* | \
			*"LeakSanitizer"*)
				t_log "sanitizer report in $f: $line"
				bad=1
				continue
				;;
			*"error:"* | *"warning:"*) ;;
			*) continue ;;
			esac
			ok=0
			for re in "${T_EXPECT[@]+"${T_EXPECT[@]}"}"; do
				if [[ $line =~ $re ]]; then ok=1; break; fi
			done
			if [ $ok = 0 ]; then
				t_log "unexpected log line in $f: $line"
				bad=1
			fi
		done <"$f"
	done
	return $bad
}

# t_wait_for SECONDS CMD...: run CMD until it succeeds, every 0.05 s for
# at most SECONDS (an integer); returns 1 if it never did.  The tests
# wait for a condition this way, never for a fixed time.  A compound
# condition is a function, or `eval 'STRING'` using the caller's
# variables by name (positional parameters are t_wait_for's own).
t_wait_for() {
	local t_wait_end=$((${EPOCHREALTIME//[.,]/} + $1 * 1000000))
	shift
	until "$@"; do
		[ "${EPOCHREALTIME//[.,]/}" -lt "$t_wait_end" ] || return 1
		sleep 0.05
	done
}

# t_settle PATH: fsync the directory PATH (or PATH's) in a beemofs mount,
# which waits until every file closed before is committed or refused
# (with [store] close = background, the default, close() returns before
# the file's scan and commit).
t_settle() {
	local d=$1
	[ -d "$d" ] || d=$(dirname "$d")
	python3 -c 'import os, sys; fd = os.open(sys.argv[1], os.O_RDONLY); os.fsync(fd)' "$d"
}

# t_put_virus SRC DST: copy the infected SRC to DST in a mount; true if it
# was refused: DST is gone once the commits settled (t_settle) and the
# kernel forgot it (its close() fails too with [store] close = wait).
t_put_virus() {
	cp "$1" "$2" 2>/dev/null
	t_settle "$2"
	t_wait_for 5 eval '! [ -e "$2" ]'
}

# t_running PID...: true while one of the PIDs runs (a zombie, killed
# but not yet waited for, does not count).
t_running() {
	local p st
	for p in "$@"; do
		# The state follows the command name, which may hold spaces.
		st=$(cat "/proc/$p/stat" 2>/dev/null) || continue
		st=${st##*) }
		[ "${st%% *}" != Z ] && return 0
	done
	return 1
}

# t_own PID...: those of the PIDs that are still children of this shell.
# A child that exited and was reaped frees its number, which another
# test's process may get (pid_max is 32768 here): never signal those.
t_own() {
	local p st
	for p in "$@"; do
		st=$(cat "/proc/$p/stat" 2>/dev/null) || continue
		st=${st##*) }
		st=${st#* }
		[ "${st%% *}" = "$$" ] && echo "$p"
	done
}

# Functions run first by t_cleanup (e.g. netns_lib.sh's teardown).
T_CLEANUP_HOOKS=()

t_cleanup() {
	local rc=$? m p
	set +e
	for m in "${T_CLEANUP_HOOKS[@]+"${T_CLEANUP_HOOKS[@]}"}"; do
		"$m"
	done
	for m in "${T_MOUNTS[@]+"${T_MOUNTS[@]}"}"; do
		mountpoint -q "$m" && { fusermount3 -u "$m" 2>/dev/null ||
			umount -l "$m"; }
	done
	# shellcheck disable=SC2207
	T_PIDS=($(t_own "${T_PIDS[@]+"${T_PIDS[@]}"}"))
	for p in "${T_PIDS[@]+"${T_PIDS[@]}"}"; do
		kill "$p" 2>/dev/null
	done
	# A grace period to exit on SIGTERM, then SIGKILL.
	t_wait_for 2 eval '! t_running "${T_PIDS[@]+"${T_PIDS[@]}"}"'
	for p in "${T_PIDS[@]+"${T_PIDS[@]}"}"; do
		kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	if ! t_check_logs && [ $rc = 0 ]; then
		rc=1
	fi
	if [ $rc = 0 ] || [ $rc = 77 ]; then
		rm -rf "$T"
	else
		t_log "kept $T for inspection"
	fi
	exit $rc
}
trap t_cleanup EXIT

# t_pw FILE PASSWORD: write a password file (mode 0600).
t_pw() {
	(umask 077; printf '%s\n' "$2" >"$1")
}

# The EICAR test string, assembled so that this file itself is clean.
T_EICAR='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-'
T_EICAR+='ANTIVIRUS-TEST-FILE!$H+H*'

# t_sigs DIR: a small signature database for real libclamav: the EICAR
# file as an MD5 hash signature (.hdb), and a body signature (.ndb) for
# the marker "BEEMO-TEST-VIRUS-BODY" anywhere in a file.
t_sigs() {
	local d=$1 md5
	mkdir -p "$d"
	md5=$(printf '%s' "$T_EICAR" | md5sum | cut -d' ' -f1)
	echo "$md5:${#T_EICAR}:Beemo.Test.EICAR" >"$d/beemo-test.hdb"
	echo "Beemo.Test.Body:0:*:$(printf 'BEEMO-TEST-VIRUS-BODY' |
		od -An -tx1 | tr -d ' \n')" >"$d/beemo-test.ndb"
}

# t_config [EXTRA LINES]: write $BEEMO_CONFIG for store $T/store, with
# scanning on against the signatures of t_sigs in $T/sigs.  EXTRA LINES
# go at the top level, before the [scan] section.
t_config() {
	[ -d "$T/sigs" ] || t_sigs "$T/sigs"
	{
		echo "store = $T/store"
		printf '%s\n' "$@"
		echo "[scan]"
		echo "signatures = $T/sigs"
	} >"$BEEMO_CONFIG"
}

# t_appliance: config, init with admin password "admin-pw" ($T/admin.pw),
# machine "pc1" with user "alice" ("alice-pw", $T/alice.pw) and its POSTE
# key file $T/pc1.poste.
t_appliance() {
	[ -f "$BEEMO_CONFIG" ] || t_config
	t_pw "$T/admin.pw" admin-pw
	t_pw "$T/alice.pw" alice-pw
	"$BEEMOCTL" init "${T_KDF[@]}" --password-file "$T/admin.pw" \
		>/dev/null || t_fail "init"
	"$BEEMOCTL" machine add pc1 --user alice \
		--password-file "$T/admin.pw" \
		--user-password-file "$T/alice.pw" \
		--poste-key "$T/pc1.poste" >/dev/null || t_fail "machine add"
}

# t_snapshot_ids [MACHINE]: the ids of MACHINE's (default pc1) snapshots,
# oldest first, on one line (opened with the administrator's password).
t_snapshot_ids() {
	"$BEEMOCTL" snapshots "${1:-pc1}" --json --password-file "$T/admin.pw" |
		python3 -c 'import json, sys
print(" ".join(str(s["id"]) for s in json.load(sys.stdin)["snapshots"]))'
}

# t_must_fail DESCRIPTION CMD...: CMD must exit non-zero.
t_must_fail() {
	local what=$1
	shift
	if "$@" >"$T/must_fail.out" 2>&1; then
		t_fail "$what: succeeded but should have failed"
	fi
}

declare -A T_MOUNT_PID=()

# t_mount MNT [OPTIONS]: mount machine pc1 at MNT as a backup session
# (POSTE key file $T/pc1.poste), in the foreground in the background,
# logging to $T/beemofs.log.  OPTIONS are appended to -o.  Waits until
# the mount is live.
t_mount() {
	local mnt=$1 opts="machine=pc1,keyfile=$T/pc1.poste"
	[ $# -ge 2 ] && [ -n "$2" ] && opts="$opts,$2"
	mkdir -p "$mnt"
	"$BEEMOFS" "$T/store" "$mnt" -f -o "$opts" >>"$T/beemofs.log" 2>&1 &
	T_MOUNT_PID[$mnt]=$!
	T_PIDS+=($!)
	T_MOUNTS+=("$mnt")
	t_wait_mounted "$mnt" ||
		t_fail "beemofs exited before mounting $mnt (see $T/beemofs.log)"
}

# t_wait_mounted MNT: wait until MNT is mounted (0) or its daemon exited
# (1); fails after 20 s.
t_wait_mounted() {
	local mnt=$1 pid=${T_MOUNT_PID[$1]}
	t_wait_for 20 eval 'mountpoint -q "$mnt" || ! t_running "$pid"' ||
		t_fail "beemofs did not mount $mnt within 20 s"
	mountpoint -q "$mnt"
}

# t_umount MNT: unmount and wait for the daemon to finish (it takes the
# end-of-session snapshot); fails if the daemon exits non-zero.
t_umount() {
	local mnt=$1 pid=${T_MOUNT_PID[$1]:-} rc=0
	fusermount3 -u "$mnt" || t_fail "fusermount3 -u $mnt"
	if [ -n "$pid" ]; then
		wait "$pid" || rc=$?
		unset "T_MOUNT_PID[$mnt]"
		[ $rc = 0 ] || t_fail "beemofs exited with status $rc"
	fi
}

# t_mount_session MNT OPTIONS: like t_mount, but OPTIONS are the whole -o
# list (nothing added), e.g. a read-only restore session
# "machine=pc1,user=alice,passfile=$T/alice.pw".  t_umount unmounts it.
t_mount_session() {
	local mnt=$1
	mkdir -p "$mnt"
	"$BEEMOFS" "$T/store" "$mnt" -f -o "$2" >>"$T/beemofs.log" 2>&1 &
	T_MOUNT_PID[$mnt]=$!
	T_PIDS+=($!)
	T_MOUNTS+=("$mnt")
	t_wait_mounted "$mnt" ||
		t_fail "beemofs -o $2 exited before mounting $mnt"
}

# t_crash MNT: kill -9 the daemon of MNT (mounted by t_mount or
# t_mount_session), wait for it, and detach the dead mount.
t_crash() {
	local mnt=$1 pid=${T_MOUNT_PID[$1]:-}
	[ -n "$pid" ] || t_fail "t_crash: nothing mounted at $mnt"
	kill -9 "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	unset "T_MOUNT_PID[$mnt]"
	fusermount3 -u -z "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null ||
		true
	! mountpoint -q "$mnt" || t_fail "t_crash: $mnt still mounted"
}

# t_sums DIR: every file under DIR with its sha256, sorted by path (for
# "nothing changed" comparisons).
t_sums() {
	(cd "$1" && find . -type f -print0 | LC_ALL=C sort -z |
		xargs -0r sha256sum)
}
