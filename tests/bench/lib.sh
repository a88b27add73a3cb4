# lib.sh -- what the benchmarks of tests/bench/ share: logging, timing,
# and an appliance with one machine (pc1) whose backup sessions they
# mount.  Source it after setting BEEMOCTL, BEEMOFS and W (the work
# directory); the caller sets `trap cleanup EXIT`.
log() { printf 'bench: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

MOUNTS=()
PIDS=()
cleanup() {
	local m p
	for m in "${MOUNTS[@]+"${MOUNTS[@]}"}"; do
		mountpoint -q "$m" && fusermount3 -u "$m" 2>/dev/null
	done
	for p in "${PIDS[@]+"${PIDS[@]}"}"; do kill "$p" 2>/dev/null || true; done
	return 0
}
now() { date +%s.%N; }
drop() { sync; echo 3 >/proc/sys/vm/drop_caches; }
# timed VAR CMD...: run CMD, store its wall time in seconds in VAR.
timed() {
	local __v=$1 t0 t1
	shift
	t0=$(now)
	"$@"
	t1=$(now)
	printf -v "$__v" '%s' "$(echo "$t1 - $t0" | bc -l)"
}
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 }
	END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
readall() { find "$1" -type f -print0 | xargs -0 -r -n 256 cat >/dev/null; }
bytes_of() { du -sb --apparent-size "$1" | cut -f1; }
files_of() { find "$1" -type f | wc -l; }
mb() { echo "scale=1; $1 / 1048576" | bc -l; }

declare -A R=()  # results: R[key]=value
put() { R[$1]=$2; log "$1 = $2"; }

# ---- beemo ------------------------------------------------------------------
beemo_setup() { # DIR SCAN(on|off)
	local d=$1 scan=$2
	rm -rf "$d"
	mkdir -p "$d/sigs" "$d/mnt" "$d/ro"
	local eicar='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-'
	eicar+='ANTIVIRUS-TEST-FILE!$H+H*'
	echo "$(printf '%s' "$eicar" | md5sum | cut -d' ' -f1):${#eicar}:Bench.EICAR" \
		>"$d/sigs/bench.hdb"
	printf 'Bench.Body:0:*:%s\n' "$(printf 'BEEMO-BENCH-BODY-SIGNATURE' |
		od -An -tx1 | tr -d ' \n')" >"$d/sigs/bench.ndb"
	{
		echo "store = $d/store"
		echo "[scan]"
		echo "signatures = $d/sigs"
		[ "$scan" = off ] && echo "enabled = no"
	} >"$d/beemo.conf"
	printf 'bench-admin\n' >"$d/admin.pw"
	BEEMO_CONFIG=$d/beemo.conf "$BEEMOCTL" init --kdf-n 1024 \
		--password-file "$d/admin.pw" >/dev/null
	BEEMO_CONFIG=$d/beemo.conf "$BEEMOCTL" machine add pc1 --user u \
		--password-file "$d/admin.pw" --user-password-file "$d/admin.pw" \
		--poste-key "$d/pc1.poste" >/dev/null
}
# beemo_start DIR SUBDIR OPTS: beemofs on DIR/SUBDIR in the foreground
# (background job); its pid in STARTED_PID.
beemo_start() {
	local d=$1
	BEEMO_CONFIG=$d/beemo.conf "$BEEMOFS" "$d/store" "$d/$2" -f \
		-o "$3" 2>>"$d/beemofs.log" &
	STARTED_PID=$!
	PIDS+=($STARTED_PID)
	MOUNTS+=("$d/$2")
	while ! mountpoint -q "$d/$2"; do
		kill -0 $STARTED_PID || die "beemofs did not start: $(tail -3 "$d/beemofs.log")"
		sleep 0.05
	done
}
beemo_mount() { # DIR: backup session on DIR/mnt
	beemo_start "$1" mnt "machine=pc1,keyfile=$1/pc1.poste"
	BEEMO_PID=$STARTED_PID
}
beemo_umount() { # DIR: unmount (takes the end-of-session snapshot)
	fusermount3 -u "$1/mnt"
	wait "$BEEMO_PID" || true
}
beemo_hwm() { awk '/VmHWM/ { print $2 }' "/proc/$BEEMO_PID/status"; }
beemo_ro() { # DIR: read-only admin session on DIR/ro
	beemo_start "$1" ro "machine=pc1,admin,passfile=$1/admin.pw"
	RO_PID=$STARTED_PID
}
beemo_ro_off() { fusermount3 -u "$1/ro"; wait "$RO_PID" || true; }
