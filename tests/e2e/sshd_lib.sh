# sshd_lib.sh -- real OpenSSH servers on 127.0.0.1 for the sync tests.
#
# Source after lib.sh.  Each "center" NAME is one sshd with its own
# temporary sshd_config, host key, authorized_keys and port, serving
# SFTP with internal-sftp, logging to $T/sshd_NAME.log; its data lives
# under $T/center_NAME.  The client key is $T/id_ed25519 and each
# center's known_hosts file is $T/known_hosts_NAME.  sshd runs in its own
# process group; sshd_kill cuts it and every session it serves at once (a
# storage center going away in the middle of a transfer).

SSHD=${SSHD:-/usr/sbin/sshd}
declare -A SSHD_PID=() SSHD_PORT=() SSHD_RETRIED=()

# sshd_require: skip (77) when OpenSSH's server or ssh-keygen is missing.
sshd_require() {
	[ -x "$SSHD" ] || t_skip "no sshd at $SSHD"
	command -v ssh-keygen >/dev/null || t_skip "no ssh-keygen"
	if [ "$(id -u)" = 0 ]; then
		# Privilege separation directory, as the package creates it.
		mkdir -p /run/sshd && chmod 0755 /run/sshd
	fi
	[ -f "$T/id_ed25519" ] ||
		ssh-keygen -q -t ed25519 -N '' -C beemo-test \
			-f "$T/id_ed25519" || t_fail "ssh-keygen (client)"
}

# sshd_free_port: print a TCP port on 127.0.0.1 where nothing listens,
# below the kernel's ephemeral range (32768 and up), whose ports may be
# bound by the client side of other tests' connections.
sshd_free_port() {
	local p i
	for i in $(seq 1 50); do
		p=$((20000 + RANDOM % 12000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	t_fail "no free TCP port found"
}

# sshd_start NAME: start (or restart, same port and keys) center NAME.
sshd_start() {
	local name=$1 d="$T/sshd_$1" port
	mkdir -p "$d" "$T/center_$name"
	if [ ! -f "$d/host_ed25519" ]; then
		ssh-keygen -q -t ed25519 -N '' -C "center-$name" \
			-f "$d/host_ed25519" || t_fail "ssh-keygen (host)"
		cp "$T/id_ed25519.pub" "$d/authorized_keys"
		SSHD_PORT[$name]=$(sshd_free_port)
		printf '[127.0.0.1]:%s %s\n' "${SSHD_PORT[$name]}" \
			"$(cut -d' ' -f1,2 "$d/host_ed25519.pub")" \
			>"$T/known_hosts_$name"
	fi
	port=${SSHD_PORT[$name]}
	cat >"$d/sshd_config" <<-EOF
		Port $port
		ListenAddress 127.0.0.1
		HostKey $d/host_ed25519
		PidFile $d/sshd.pid
		AuthorizedKeysFile $d/authorized_keys
		StrictModes no
		PubkeyAuthentication yes
		PasswordAuthentication no
		KbdInteractiveAuthentication no
		UsePAM no
		PermitRootLogin prohibit-password
		AllowUsers $(id -un)
		MaxStartups 100:30:200
		MaxSessions 100
		Subsystem sftp internal-sftp
		LogLevel INFO
	EOF
	"$SSHD" -t -f "$d/sshd_config" 2>>"$T/sshd_$name.log" ||
		t_fail "sshd -t rejects $d/sshd_config"
	setsid "$SSHD" -D -f "$d/sshd_config" -E "$T/sshd_$name.log" &
	SSHD_PID[$name]=$!
	T_PIDS+=($!)
	t_wait_for 10 eval '(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null ||
		! t_running "${SSHD_PID[$name]}"' ||
		t_fail "sshd $name does not listen on port $port"
	(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
	# Another test took the port meanwhile: a new one, once.
	if [ -z "${SSHD_RETRIED[$name]:-}" ] &&
		grep -q "Address already in use" "$T/sshd_$name.log"; then
		SSHD_RETRIED[$name]=1
		rm -f "$d/host_ed25519" "$d/host_ed25519.pub"
		sshd_start "$name"
		return
	fi
	t_fail "sshd $name exited (see $T/sshd_$name.log)"
}

# sshd_descendants PID: the pids of every descendant of PID.
sshd_descendants() {
	local c
	for c in $(ps -o pid= --ppid "$1" 2>/dev/null || true); do
		echo "$c"
		sshd_descendants "$c"
	done
}

# sshd_kill NAME: stop center NAME and every session it serves, at once
# (each session's sshd is in a session of its own: kill them by pid).
sshd_kill() {
	local pid=${SSHD_PID[$1]:-} all
	[ -n "$pid" ] || return 0
	all="$pid $(sshd_descendants "$pid")"
	kill -STOP $all 2>/dev/null || true
	kill -KILL $all 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	SSHD_PID[$1]=
}

# sshd_target_conf NAME [PATH]: the [target NAME] section for center NAME
# (remote path PATH, default $T/center_NAME/beemo).
sshd_target_conf() {
	local name=$1 path=${2:-$T/center_$1/beemo}
	printf '%s\n' "[target $name]" "host = 127.0.0.1" \
		"port = ${SSHD_PORT[$name]}" "user = $(id -un)" \
		"key = $T/id_ed25519" "known_hosts = $T/known_hosts_$name" \
		"path = $path"
}

# ---- helpers for the beemo-sync tests ----------------------------------

# sync_config NAME...: $BEEMO_CONFIG for store $T/store with a [target]
# section per center NAME (started first) and short timeouts.
sync_config() {
	local n lines=()
	for n in "$@"; do
		mapfile -t -O ${#lines[@]} lines < <(sshd_target_conf "$n")
	done
	t_config "[sync]" "timeout = 20s" "connections = 2" "${lines[@]}"
}

# sync_fake_packs MACHINE COUNT SIZE: a store.id and COUNT packs of SIZE
# random bytes for MACHINE -- realistic names and sizes, no real store
# format (these tests exercise the transport, not the store).
sync_fake_packs() {
	local m=$1 count=$2 size=$3 i id d
	d="$T/store/machines/$m"
	mkdir -p "$d/packs"
	[ -f "$d/store.id" ] || head -c 64 /dev/urandom >"$d/store.id"
	for i in $(seq 1 "$count"); do
		id=$(printf '%016x' $((RANDOM * 65536 + RANDOM + i * 7919)))
		mkdir -p "$d/packs/${id:14:2}"
		head -c "$size" /dev/urandom >"$d/packs/${id:14:2}/$id.pack"
	done
}

# sync_run LOGNAME ARGS...: run beemo-sync (bounded in time) with stdout
# in $T/LOGNAME.out and stderr appended to $T/sync.log (which the exit
# checks scan for sanitizer reports and unexpected errors).  Returns its
# exit status.
sync_run() {
	local out=$1 rc=0
	shift
	echo "+ beemo-sync $*" >>"$T/sync.log"
	timeout 300 "$BEEMO_SYNC" "$@" >"$T/$out.out" 2>"$T/$out.err" || rc=$?
	cat "$T/$out.err" >>"$T/sync.log"
	return $rc
}

# sync_remote_files CENTER: every regular file under the center's path.
sync_remote_files() {
	find "$T/center_$1" -type f | sort
}
