#!/bin/bash
# units_security.sh -- the shipped systemd units are valid and stay
# hardened: `systemd-analyze verify` accepts every unit and timer (their
# programs from this build), and `systemd-analyze security --offline`
# rates each service at or under the exposure it reaches today (beemofs@
# 9.6 and beemo-sync 9.0 "UNSAFE" before hardening).  beemofs@ must make
# no file system namespace: its mount would not be seen by the host.
. "$(dirname "$0")/lib.sh"

command -v systemd-analyze >/dev/null ||
	t_skip "systemd-analyze not found (Debian package systemd)"
SRC=$(cd "$(dirname "$0")/../.." && pwd)

# The programs where @SBINDIR@ says, from this build.
mkdir -p "$T/sbin" "$T/units"
ln -s "$BEEMOFS" "$BEEMOCTL" "$BEEMO_SYNC" "$BEEMO_BUILD/sync/beemo-center" \
	"$T/sbin/"
ln -s "$BEEMO_BUILD/tools/beemo-backup" "$T/sbin/"
ln -s "$BEEMO_BUILD/fs/beemo-scand" "$T/sbin/"

# Unit -> highest exposure allowed (systemd 252's scale, 0 ... 10).
declare -A MAX=(
	[beemofs@pc1.service]=3.8
	# (RestrictNamespaces=mnt: each rsync gets a mount namespace)
	[beemo-sessiond.service]=2.7
	[beemo-sync.service]=2.7
	[beemo-sync-verify.service]=2.2
	[beemo-sync-reports.service]=2.7
	[beemo-center-apply.service]=2.7
	[beemo-center-scrub.service]=2.7
	[beemo-check@pc1.service]=1.2
	[beemo-metrics.service]=1.4
	[beemo-scand.service]=1.4
	[beemo-backup.service]=2.2
)
# beemo-sessiond: checked with its program once the daemon is in the tree.
SESSIOND=$BEEMO_BUILD/tools/beemo-sessiond
if [ -x "$SESSIOND" ]; then
	ln -s "$SESSIOND" "$T/sbin/"
elif compgen -G "$SRC/tools/sessiond*.c" >/dev/null; then
	t_fail "$SESSIOND not built"
fi
units=()
for f in "$SRC"/fs/*.service "$SRC"/sync/*.service "$SRC"/sync/*.timer \
	"$SRC"/tools/*.service "$SRC"/tools/*.timer; do
	[ -e "$f" ] || continue
	name=$(basename "$f")
	name=${name/@./@pc1.}  # a template is checked as an instance
	sed "s|@SBINDIR@|$T/sbin|g; s|@BINDIR@|$T/sbin|g" "$f" >"$T/units/$name"
	units+=("$name")
done
[ ${#units[@]} -ge 12 ] || t_fail "only ${#units[@]} unit files found"

cd "$T/units"
for u in "${units[@]}"; do
	[ "$u" != beemo-sessiond.service ] || [ -x "$SESSIOND" ] || continue
	systemd-analyze verify --man=no "./$u" >"$T/verify.out" 2>&1 ||
		t_fail "systemd-analyze verify $u: $(cat "$T/verify.out")"
	# verify may exit 0 and still complain about a line.
	! grep -v '^$' "$T/verify.out" | grep -q . ||
		t_fail "systemd-analyze verify $u: $(cat "$T/verify.out")"
	case $u in *.service) ;; *) continue ;; esac
	max=${MAX[$u]:-}
	[ -n "$max" ] || t_fail "$u: no exposure threshold in this test"
	out=$(systemd-analyze security --offline=true "./$u" 2>&1 | tail -n 1)
	[[ $out =~ exposure\ level\ for\ [^:]*:\ ([0-9.]+) ]] ||
		t_fail "systemd-analyze security $u: $out"
	got=${BASH_REMATCH[1]}
	# --threshold is an integer percentage of the scale (10 = 100).
	systemd-analyze security --offline=true \
		--threshold="${max/./}" "./$u" >/dev/null 2>&1 ||
		t_fail "$u: exposure $got, above $max"
	t_log "$u: exposure $got (at most $max)"
done

# The mount of beemofs@ must reach the host's namespace.
if grep -E '^(ProtectSystem|ProtectHome|PrivateTmp|PrivateDevices|PrivateMounts|PrivateNetwork|PrivateIPC|ProtectKernelTunables|ProtectKernelModules|ProtectKernelLogs|ProtectControlGroups|ProtectProc|ProcSubset|ReadWritePaths|ReadOnlyPaths|InaccessiblePaths|ExecPaths|NoExecPaths|BindPaths|BindReadOnlyPaths|TemporaryFileSystem|MountFlags|RootDirectory|RootImage)=' \
	"$SRC/fs/beemofs@.service"; then
	t_fail "beemofs@.service makes a file system namespace"
fi
