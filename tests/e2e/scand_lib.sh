# scand_lib.sh -- shared functions of the beemo-scand tests (sourced
# after lib.sh): the service on $T/scand.sock, two machines' sessions.
BEEMO_SCAND="$BEEMO_BUILD/fs/beemo-scand"
SCAND_SOCK="$T/scand.sock"
MNT1="$T/mnt1"
MNT2="$T/mnt2"

# scand_config [ENGINE]: the test configuration, the service on
# $SCAND_SOCK, beemofs's engine = ENGINE (default shared).
scand_config() {
	t_config
	{
		echo "service = $SCAND_SOCK"
		echo "engine = ${1:-shared}"
	} >>"$BEEMO_CONFIG"
}

# scand_start: start the service (log $T/scand.log), wait until it answers.
scand_start() {
	"$BEEMO_SCAND" -v >>"$T/scand.log" 2>&1 &
	SCAND_PID=$!
	T_PIDS+=($!)
	t_wait_for 20 eval '"$BEEMO_SCAND" --status >/dev/null 2>&1 ||
		! t_running "$SCAND_PID"' ||
		t_fail "beemo-scand did not answer within 20 s"
	"$BEEMO_SCAND" --status >/dev/null 2>&1 ||
		t_fail "beemo-scand exited: $(tail -5 "$T/scand.log")"
}

# scand_stop: SIGTERM, wait for it to end.
scand_stop() {
	kill -TERM "$SCAND_PID"
	wait "$SCAND_PID" || t_fail "beemo-scand exited with status $?"
}

# scand_stat NAME: a value of `beemo-scand --status`.
scand_stat() {
	"$BEEMO_SCAND" --status | awk -v k="$1" '$1 == k { print $2 }'
}

# scand_machine2: add machine pc2 (key file $T/pc2.poste).
scand_machine2() {
	"$BEEMOCTL" machine add pc2 --user alice \
		--password-file "$T/admin.pw" \
		--user-password-file "$T/alice.pw" \
		--poste-key "$T/pc2.poste" >/dev/null || t_fail "machine add pc2"
}

# scand_mount MNT MACHINE: mount MACHINE's backup session on MNT.
scand_mount() {
	local mnt=$1 m=$2
	mkdir -p "$mnt"
	"$BEEMOFS" "$T/store" "$mnt" -f \
		-o "machine=$m,keyfile=$T/$m.poste" >>"$T/beemofs.log" 2>&1 &
	T_MOUNT_PID[$mnt]=$!
	T_PIDS+=($!)
	T_MOUNTS+=("$mnt")
	t_wait_mounted "$mnt" ||
		t_fail "beemofs exited before mounting $mnt (see $T/beemofs.log)"
}

# scand_put FILE TEXT: write TEXT to FILE; the close() result is ignored
# (commits may be asynchronous): what counts is the outcome.
scand_put() {
	python3 - "$1" "$2" <<'PY' || true
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, sys.argv[2].encode("latin-1"))
try:
    os.close(fd)
except OSError:
    pass
PY
}

# scand_snapshot MACHINE: take a snapshot of the mounted session (every
# commit done), so that what the mount shows is what was kept.
scand_snapshot() {
	"$BEEMOCTL" snapshot "$1" --password-file "$T/admin.pw" >/dev/null \
		2>"$T/snap.err" || t_fail "beemoctl snapshot $1: $(cat "$T/snap.err")"
}

# scand_kept MACHINE NAME: true if the newest snapshot of MACHINE holds
# /NAME.
scand_kept() {
	"$BEEMOCTL" ls "$1" latest / --password-file "$T/admin.pw" 2>/dev/null |
		grep -qxF -- "$2"
}

# scand_journal_virus MACHINE NAME: the journal of MACHINE names /NAME
# as refused for a virus.
scand_journal_virus() {
	"$BEEMOCTL" journal "$1" --password-file "$T/admin.pw" 2>/dev/null |
		grep -Eq "virus.*$2|$2.*virus"
}

# hwm_kb PID: the peak resident memory of PID, in kB.
hwm_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }
