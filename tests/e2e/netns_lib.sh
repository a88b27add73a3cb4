# netns_lib.sh -- an appliance and its client machines on a network of
# their own, for the backup session tests (beemo-backup, beemo-sessiond).
#
# Source after lib.sh and sshd_lib.sh.  netns_setup N builds:
#   - the appliance's network namespace bmapp$$ and N client namespaces
#     bmcli$$_1..N, each joined to the appliance by a veth pair with
#     addresses 10.X.Y.(4i-3) (appliance) and 10.X.Y.(4i-2) (client i) in
#     a /30; X.Y come from $$ so that tests running at once use distinct
#     networks; lo is up in each namespace;
#   - machines pc1-$$ .. pcN-$$ in the store $T/store (user alice;
#     the administrator's password is $T/admin.pw) and their confined
#     accounts beemo-pcI-$$ (the machine name carries $$ so that tests
#     running at once never share an account);
#   - the appliance's real sshd in bmapp$$, on the veth addresses, with
#     ForceCommand beemo-session for every beemo-* account, no
#     forwarding, no TTY, keys in $T/keys/ACCOUNT;
#   - beemo-sessiond, as root in bmapp$$, on $T/sessiond.sock, running
#     this build's beemofs and beemoctl;
#   - for each client i the directory $T/client_i: its ssh key (id),
#     known_hosts (the appliance's host key), its POSTE key file
#     (NS_KEY[i]), which `beemoctl machine add` wrote and the test moved
#     there: the appliance side never sees it again.
# Everything is undone by t_cleanup (hook netns_cleanup): processes in the
# namespaces killed, namespaces and veths deleted, accounts removed.
#
# Why the accounts have /bin/sh as shell: sshd runs a ForceCommand as
# `SHELL -c COMMAND`, so with /usr/sbin/nologin no command runs at all;
# the shell never sees the client's command line (SSH_ORIGINAL_COMMAND
# only), and beemo-session answers every request.
# Why $T is mode 0711 and the accounts' home is $T: beemo-session runs as
# the account and must reach $T/sessiond.sock; and sshd's StrictModes
# checks every directory from $T/keys/ACCOUNT up to the account's home
# (or /), and /tmp is world-writable.

NS_APP="bmapp$$"
NS_CLI=()   # [i] the namespace of client i
NS_ADDR=()  # [i] the appliance's address on client i's link
NS_CADDR=() # [i] client i's address
NS_M=()     # [i] machine i's name
NS_ACCT=()  # [i] its account
NS_KEY=()   # [i] its POSTE key file, in $T/client_i
NS_DIR=()   # [i] $T/client_i
NS_USERS=() # accounts this test created
NS_SESSIOND_PID=
NS_SSHD_PID=
NS_N=0
NS_NET="10.$(($$ / 256 % 250 + 1)).$(($$ % 256))"

# netns_require: skip (77) without root, network namespaces, tc, sshd,
# rsync, useradd.
netns_require() {
	[ "$(id -u)" = 0 ] || t_skip "not root (network namespaces, accounts)"
	command -v ip >/dev/null || t_skip "no ip (iproute2)"
	command -v rsync >/dev/null || t_skip "no rsync"
	command -v useradd >/dev/null || t_skip "no useradd"
	command -v ssh >/dev/null || t_skip "no ssh client"
	[ -c /dev/fuse ] || t_skip "no /dev/fuse"
	command -v tc >/dev/null || t_skip "no tc (iproute2)"
	ip netns add "bmprobe$$" 2>/dev/null ||
		t_skip "cannot create a network namespace (CAP_SYS_ADMIN?)"
	ip netns del "bmprobe$$"
	sshd_require
	local b
	for b in tools/beemo-session tools/beemo-sessiond tools/beemo-backup; do
		[ -x "$BEEMO_BUILD/$b" ] || t_fail "$BEEMO_BUILD/$b not built"
	done
	BEEMO_BACKUP="$BEEMO_BUILD/tools/beemo-backup"
}

# netns_cleanup: t_cleanup's hook.
netns_cleanup() {
	local ns pids u i
	for ns in "${NS_CLI[@]+"${NS_CLI[@]}"}" "$NS_APP"; do
		[ -e "/run/netns/$ns" ] || continue
		pids=$(ip netns pids "$ns" 2>/dev/null)
		[ -z "$pids" ] || kill $pids 2>/dev/null
	done
	for i in $(seq 1 40); do
		pids=
		for ns in "${NS_CLI[@]+"${NS_CLI[@]}"}" "$NS_APP"; do
			[ -e "/run/netns/$ns" ] || continue
			pids+=" $(ip netns pids "$ns" 2>/dev/null)"
		done
		[ -n "${pids// /}" ] || break
		[ "$i" -lt 40 ] || kill -9 $pids 2>/dev/null
		sleep 0.05
	done
	for ns in "${NS_CLI[@]+"${NS_CLI[@]}"}" "$NS_APP"; do
		[ -e "/run/netns/$ns" ] && ip netns del "$ns"
	done
	for u in "${NS_USERS[@]+"${NS_USERS[@]}"}"; do
		userdel "$u" 2>/dev/null || t_log "cannot remove account $u"
	done
	return 0
}
T_CLEANUP_HOOKS+=(netns_cleanup)

# netns_ssh_opts I: the ssh options of client I (its key and known_hosts).
netns_ssh_opts() {
	printf '%s\n' -F /dev/null -i "$T/client_$1/id" -o IdentitiesOnly=yes \
		-o "UserKnownHostsFile=$T/client_$1/known_hosts" \
		-o StrictHostKeyChecking=yes -o BatchMode=yes \
		-o ConnectTimeout=10 -o LogLevel=ERROR
}

# netns_in I CMD...: run CMD in client I's namespace.
netns_in() {
	local i=$1
	shift
	ip netns exec "${NS_CLI[$i]}" "$@"
}

# netns_ssh I ACCOUNT [SSH-OPTION... --] CMD...: plain ssh from client I
# to the appliance as ACCOUNT (empty: client I's own).
netns_ssh() {
	local i=$1 acct=${2:-${NS_ACCT[$1]}} o x=()
	shift 2
	if [[ " $* " == *" -- "* ]]; then
		while [ "$1" != -- ]; do x+=("$1"); shift; done
		shift
	fi
	mapfile -t o < <(netns_ssh_opts "$i")
	netns_in "$i" ssh "${o[@]}" "${x[@]+"${x[@]}"}" -l "$acct" \
		"${NS_ADDR[$i]}" "$@"
}

# netns_account NAME: create the confined account NAME (none may exist).
netns_account() {
	local u=$1
	if getent passwd "$u" >/dev/null; then
		t_fail "account $u already exists: not mine to use or remove"
	fi
	# -p '*': no password, but not locked ("!"): sshd without PAM
	# refuses every login to a locked account, keys included.
	useradd --system --no-create-home --home-dir "$T" --shell /bin/sh \
		-p '*' -c "beemo test $T_NAME" "$u" || t_fail "useradd $u"
	NS_USERS+=("$u")
}

# netns_setup N: the appliance, N clients (see the top of this file).
netns_setup() {
	local n=$1 i a c pub
	NS_N=$n
	date >"$T/start.stamp"
	chmod 0711 "$T"
	mkdir -p "$T/keys" "$T/app" "$T/run"
	chmod 0755 "$T/keys"
	[ -f "$BEEMO_CONFIG" ] || t_config
	t_pw "$T/admin.pw" admin-pw
	t_pw "$T/alice.pw" alice-pw
	"$BEEMOCTL" init "${T_KDF[@]}" --password-file "$T/admin.pw" \
		>/dev/null || t_fail "init"
	ip netns add "$NS_APP" || t_fail "ip netns add $NS_APP"
	ip -n "$NS_APP" link set lo up
	ssh-keygen -q -t ed25519 -N '' -C beemo-appliance \
		-f "$T/app/host_ed25519" || t_fail "ssh-keygen (host)"
	pub=$(cut -d' ' -f1,2 "$T/app/host_ed25519.pub")
	for i in $(seq 1 "$n"); do
		NS_CLI[$i]="bmcli$$_$i"
		NS_M[$i]="pc$i-$$"
		NS_ACCT[$i]="beemo-pc$i-$$"
		NS_DIR[$i]="$T/client_$i"
		a="10.${NS_NET#10.}.$((4 * i - 3))"
		c="10.${NS_NET#10.}.$((4 * i - 2))"
		NS_ADDR[$i]=$a
		NS_CADDR[$i]=$c
		ip netns add "${NS_CLI[$i]}" || t_fail "ip netns add"
		ip -n "${NS_CLI[$i]}" link set lo up
		ip link add "bm$$a$i" netns "$NS_APP" type veth \
			peer name "bm$$c$i" netns "${NS_CLI[$i]}" ||
			t_fail "ip link add veth"
		ip -n "$NS_APP" addr add "$a/30" dev "bm$$a$i"
		ip -n "${NS_CLI[$i]}" addr add "$c/30" dev "bm$$c$i"
		ip -n "$NS_APP" link set "bm$$a$i" up
		ip -n "${NS_CLI[$i]}" link set "bm$$c$i" up
		mkdir -p "${NS_DIR[$i]}"
		chmod 0700 "${NS_DIR[$i]}"
		ssh-keygen -q -t ed25519 -N '' -C "client-$i" \
			-f "${NS_DIR[$i]}/id" || t_fail "ssh-keygen (client)"
		echo "$a $pub" >"${NS_DIR[$i]}/known_hosts"
		netns_account "${NS_ACCT[$i]}"
		install -m 0644 "${NS_DIR[$i]}/id.pub" "$T/keys/${NS_ACCT[$i]}"
		"$BEEMOCTL" machine add "${NS_M[$i]}" --user alice \
			--password-file "$T/admin.pw" \
			--user-password-file "$T/alice.pw" \
			--poste-key "$T/pc$i.poste" >"$T/machine_add_$i.out" ||
			t_fail "machine add ${NS_M[$i]}"
		NS_KEY[$i]="${NS_DIR[$i]}/pc$i.poste"
		mv "$T/pc$i.poste" "${NS_KEY[$i]}"
	done
	netns_sshd_start
	netns_sessiond_start
}

# netns_sshd_start: the appliance's sshd in its namespace.
netns_sshd_start() {
	local i
	{
		echo "Port 22"
		for i in $(seq 1 "$NS_N"); do
			echo "ListenAddress ${NS_ADDR[$i]}"
		done
		cat <<-EOF
			HostKey $T/app/host_ed25519
			PidFile $T/app/sshd.pid
			AuthorizedKeysFile $T/keys/%u
			StrictModes yes
			PubkeyAuthentication yes
			PasswordAuthentication no
			KbdInteractiveAuthentication no
			UsePAM no
			PermitRootLogin no
			DisableForwarding yes
			PermitTTY no
			MaxStartups 100:30:200
			LogLevel INFO
			Match User beemo-*
			    ForceCommand $BEEMO_BUILD/tools/beemo-session --socket $T/sessiond.sock
		EOF
	} >"$T/app/sshd_config"
	"$SSHD" -t -f "$T/app/sshd_config" 2>>"$T/sshd.log" ||
		t_fail "sshd -t rejects $T/app/sshd_config"
	ip netns exec "$NS_APP" "$SSHD" -D -f "$T/app/sshd_config" \
		-E "$T/sshd.log" &
	NS_SSHD_PID=$!
	T_PIDS+=($!)
	t_wait_for 10 eval 'ip netns exec "$NS_APP" ss -Htln "sport = :22" |
		grep -q . || ! t_running "$NS_SSHD_PID"' ||
		t_fail "sshd does not listen"
	t_running "$NS_SSHD_PID" || t_fail "sshd exited (see $T/sshd.log)"
}

# netns_sessiond_start: beemo-sessiond as root in the appliance namespace.
netns_sessiond_start() {
	ip netns exec "$NS_APP" "$BEEMO_BUILD/tools/beemo-sessiond" \
		--store "$T/store" --config "$BEEMO_CONFIG" \
		--socket "$T/sessiond.sock" --run-dir "$T/run" \
		--beemofs "$BEEMOFS" --beemoctl "$BEEMOCTL" \
		>>"$T/sessiond.log" 2>&1 &
	NS_SESSIOND_PID=$!
	T_PIDS+=($!)
	t_wait_for 10 eval '[ -S "$T/sessiond.sock" ] ||
		! t_running "$NS_SESSIOND_PID"' ||
		t_fail "beemo-sessiond does not listen"
	t_running "$NS_SESSIOND_PID" ||
		t_fail "beemo-sessiond exited (see $T/sessiond.log)"
}

# netns_sanitized FILE: fail if FILE (a client's stderr, which
# t_check_logs does not read) holds a sanitizer's report.
netns_sanitized() {
	if grep -Eq 'ERROR: AddressSanitizer|runtime error:|LeakSanitizer' "$1"; then
		t_fail "sanitizer report in $1: $(grep -Em1 'Sanitizer|runtime error:' "$1")"
	fi
}

# netns_backup I LOG [ARGS...] PATH...: beemo-backup in client I's
# namespace for machine I with its key file (or $NS_USEKEY), stdout in
# $T/LOG.out, stderr in $T/LOG.err.  Returns its exit status.
netns_backup() {
	local i=$1 log=$2 rc=0 key=${NS_USEKEY:-${NS_KEY[$1]}}
	shift 2
	echo "+ beemo-backup $*" >>"$T/client.log"
	netns_in "$i" timeout 100 "$BEEMO_BACKUP" \
		--appliance "${NS_ADDR[$i]}" --machine "${NS_M[$i]}" \
		--key "$key" --identity "${NS_DIR[$i]}/id" \
		--known-hosts "${NS_DIR[$i]}/known_hosts" "$@" \
		>"$T/$log.out" 2>"$T/$log.err" </dev/null || rc=$?
	netns_sanitized "$T/$log.err"
	return $rc
}

# netns_client I VERB LOG ARGS...: beemo-backup VERB (snapshots, restore)
# in client I's namespace, as machine I; output as netns_backup.
netns_client() {
	local i=$1 verb=$2 log=$3 rc=0
	shift 3
	echo "+ beemo-backup $verb $*" >>"$T/client.log"
	netns_in "$i" timeout 100 "$BEEMO_BACKUP" "$verb" \
		--appliance "${NS_ADDR[$i]}" --machine "${NS_M[$i]}" \
		--identity "${NS_DIR[$i]}/id" \
		--known-hosts "${NS_DIR[$i]}/known_hosts" "$@" \
		>"$T/$log.out" 2>"$T/$log.err" </dev/null || rc=$?
	netns_sanitized "$T/$log.err"
	return $rc
}

# netns_snapshots I: machine I's snapshots as the administrator sees
# them, one line each: "ID<TAB>NOTE", oldest first; nothing when it has
# none.
netns_snapshots() {
	local out
	out=$("$BEEMOCTL" snapshots "${NS_M[$1]}" --json \
		--password-file "$T/admin.pw" 2>&1) || {
		case $out in
		*"has no backups yet"*) return 0 ;;
		*) t_fail "beemoctl snapshots ${NS_M[$1]}: $out" ;;
		esac
	}
	printf '%s\n' "$out" | python3 -c 'import json, sys
j = json.load(sys.stdin)
for s in j["snapshots"]:
    print("%d\t%s" % (s["id"], s["note"]))'
}

# netns_complete I: the ids of machine I's snapshots that
# `beemoctl snapshots --json` says are complete, on one line.
netns_complete() {
	"$BEEMOCTL" snapshots "${NS_M[$1]}" --json \
		--password-file "$T/admin.pw" | python3 -c 'import json, sys
j = json.load(sys.stdin)
print(" ".join(str(s["id"]) for s in j["snapshots"] if s["complete"]))'
}

# netns_restore I SNAP DIR: restore machine I's snapshot SNAP into DIR
# with the administrator's password.
netns_restore() {
	rm -rf "$3"
	"$BEEMOCTL" restore "${NS_M[$1]}" "$2" --target "$3" \
		--password-file "$T/admin.pw" >/dev/null 2>>"$T/restore.log" ||
		t_fail "beemoctl restore ${NS_M[$1]} $2"
}

# netns_tree DIR: what rsync -aHAX promises to keep, one line per entry
# under DIR, sorted: path, type, mode, owner, mtime (regular files and
# directories' contents by hash), symlink target, xattrs, ACLs, and
# which entries are hard links of each other.
netns_tree() {
	python3 - "$1" <<-'EOF'
		import hashlib, os, stat, sys
		root = sys.argv[1]
		inodes = {}
		out = []
		for d, dirs, files in os.walk(root):
		    for n in sorted(dirs + files):
		        p = os.path.join(d, n)
		        st = os.lstat(p)
		        rel = os.path.relpath(p, root)
		        line = [rel, "%o" % st.st_mode, "%d:%d" % (st.st_uid, st.st_gid)]
		        if stat.S_ISREG(st.st_mode):
		            h = hashlib.sha256(open(p, "rb").read()).hexdigest()
		            line += [str(st.st_mtime_ns // 1000000000), h]
		            if st.st_nlink > 1:
		                k = (st.st_dev, st.st_ino)
		                inodes.setdefault(k, rel)
		                line.append("link=" + inodes[k])
		        elif stat.S_ISLNK(st.st_mode):
		            line.append("-> " + os.readlink(p))
		        elif stat.S_ISDIR(st.st_mode):
		            pass
		        if not stat.S_ISLNK(st.st_mode):
		            for x in sorted(os.listxattr(p)):
		                line.append("%s=%s" % (x, os.getxattr(p, x).hex()))
		        out.append(" ".join(line))
		print("\n".join(sorted(out)))
	EOF
}

# netns_key_slices FILE: four 32-byte slices, hex, of FILE's ciphertext
# (bytes 164 to end-32: POSTE_PRIV sealed, see beemo-keys(5)), the part
# that no other file has, and its final digest.
netns_key_slices() {
	python3 - "$1" <<-'EOF'
		import sys
		d = open(sys.argv[1], "rb").read()
		ct = d[164:-32]
		assert len(ct) >= 256, len(ct)
		for off in (0, len(ct) // 3, 2 * len(ct) // 3, len(ct) - 32):
		    print(ct[off:off + 32].hex())
		print(d[-32:].hex())
	EOF
}

# netns_find_slices SLICES_FILE [--clients] PATH...: print every regular
# file under PATH... that holds one of the hex slices; files below
# $T/client_* are not searched, unless --clients.  Only files changed
# since the test began ($T/start.stamp), and smaller than 64 MiB, outside
# $T (in /tmp, /var/tmp, /dev/shm, /run, which other programs share).
netns_find_slices() {
	local sl=$1 prune=("-path" "$T/client_*")
	shift
	if [ "${1:-}" = --clients ]; then
		prune=(-false)
		shift
	fi
	# Files of other programs vanish while find walks: not an error.
	{ find "$@" -xdev "${prune[@]}" -prune -o -type f \
		\( -path "$T/*" -o \( -newer "$T/start.stamp" -size -65536k \) \) \
		-print0 2>/dev/null || true; } | python3 -c 'import sys
sl = [bytes.fromhex(l) for l in open(sys.argv[1]).read().split()]
for p in sys.stdin.buffer.read().split(b"\0"):
    if not p:
        continue
    try:
        with open(p, "rb") as f:
            d = f.read()
    except OSError:
        continue
    if any(s in d for s in sl):
        print(p.decode(errors="replace"))' "$sl" | sort -u
}

# netns_json FILE EXPR: evaluate the Python EXPR on the one JSON object
# in FILE (as j).
netns_json() {
	python3 -c 'import json, re, sys
j = json.load(open(sys.argv[1]))
print(eval(sys.argv[2]))' "$1" "$2"
}

# netns_hold_open I [KEYFILE]: open machine I's session by hand (OP open,
# the channel protocol of beemo-session) as coprocess NS_HOLD, from
# client I with KEYFILE (default its own); the appliance's first reply
# line is in NS_REPLY.  netns_hold_end ends it.  (Not in $(...): the
# coprocess must belong to the test's shell.)
netns_hold_open() {
	local i=$1 key=${2:-${NS_KEY[$1]}} o
	mapfile -t o < <(netns_ssh_opts "$i")
	# exec: NS_HOLD_PID is ssh itself (kill it to cut the connection).
	coproc NS_HOLD { exec ip netns exec "${NS_CLI[$i]}" ssh "${o[@]}" \
		-l "${NS_ACCT[$i]}" "${NS_ADDR[$i]}" open 2>>"$T/hold.err"; }
	NS_HOLD_IN=${NS_HOLD[1]}
	NS_HOLD_OUT=${NS_HOLD[0]}
	{ printf 'KEY %d\n' "$(stat -c %s "$key")"; cat "$key"; } \
		>&"$NS_HOLD_IN"
	IFS= read -r -t 30 NS_REPLY <&"$NS_HOLD_OUT" || NS_REPLY="(no reply)"
}

# netns_hold_end: send END on the held session; its reply in NS_REPLY.
netns_hold_end() {
	printf 'END\n' >&"$NS_HOLD_IN"
	IFS= read -r -t 60 NS_REPLY <&"$NS_HOLD_OUT" || NS_REPLY="(no reply)"
	exec {NS_HOLD_IN}>&-
	wait "$NS_HOLD_PID" 2>/dev/null || true
}
