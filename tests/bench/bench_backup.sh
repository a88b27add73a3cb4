#!/bin/bash
# bench_backup.sh -- a client machine's backup over the network:
# beemo-backup (one SSH connection, rsync into the machine's session on
# the appliance) against plain `rsync -aHAX --numeric-ids` over SSH into
# an ext4 directory of the appliance, and against `restic backup` to an
# SFTP repository on the same appliance, in one invocation.  The client
# runs in a network namespace of its own, joined to the appliance's by a
# veth pair (tests/e2e/netns_lib.sh); the appliance's sshd, beemo-sessiond
# and everything they start are in one cpuacct cgroup, whose CPU time is
# the appliance's CPU; the client's programs are in another.  Not a
# test: it prints figures.
#
#   BEEMO_BUILD=build bash tests/bench/bench_backup.sh [FILES] [LARGE_MIB]
#
# FILES (default 20000) small files of 1 to 8 KiB; LARGE_MIB (default
# 1024) MiB in 4 files, half incompressible, half VM-image-like (zero
# runs, system libraries, random blocks).  Each system backs up each
# corpus twice: the first run (full) and a second with nothing changed
# (what a nightly backup of an unchanged machine costs).  Each system
# writes to the same disk.  restic is skipped (and said so) when it is not
# installed.  These machines are shared: compare the ratios of one run,
# not absolute figures.
. "$(dirname "$0")/../e2e/lib.sh"
. "$(dirname "$0")/../e2e/sshd_lib.sh"
. "$(dirname "$0")/../e2e/netns_lib.sh"
. "$(dirname "$0")/vm_like.sh"

FILES=${1:-20000}
LARGE=${2:-1024}
CG=/sys/fs/cgroup/cpuacct/beemo-bench-$$
CGC=/sys/fs/cgroup/cpuacct/beemo-bench-client-$$
[ -d /sys/fs/cgroup/cpuacct ] || t_skip "no cpuacct cgroup to measure the appliance's CPU"

netns_require
t_config
netns_setup 1
C=${NS_DIR[1]}
RESTIC=$(command -v restic || true)

bench_cleanup() {
	local p g
	for g in "$CG" "$CGC"; do
		[ -d "$g" ] || continue
		for p in $(cat "$g/tasks" 2>/dev/null); do
			echo "$p" >/sys/fs/cgroup/cpuacct/tasks 2>/dev/null
		done
		rmdir "$g" 2>/dev/null
	done
	return 0
}
T_CLEANUP_HOOKS+=(bench_cleanup)

# ---- corpora, on the client
t_log "corpus: $FILES small files, $LARGE MiB large"
python3 - "$C/small" "$FILES" <<'EOF'
import os, random, sys
root, n = sys.argv[1], int(sys.argv[2])
rnd = random.Random(14)
for i in range(n):
    d = os.path.join(root, "d%03d" % (i // 200), "e%02d" % (i % 200 // 20))
    os.makedirs(d, exist_ok=True)
    size = rnd.randint(1024, 8192)
    # Half text-like (compressible), half random.
    if i % 2:
        data = os.urandom(size)
    else:
        data = (("line %d of file %d\n" % (i, i)) * 400).encode()[:size]
    with open(os.path.join(d, "f%05d" % i), "wb") as f:
        f.write(data)
EOF
mkdir -p "$C/large"
q=$((LARGE * 1048576 / 4))
for k in 1 2; do head -c "$q" /dev/urandom >"$C/large/random$k.img"; done
for k in 1 2; do vm_like "$q" >"$C/large/vm$k.img"; done

# ---- a second sshd for the baselines (root, SFTP), port 2222
install -m 0644 "$C/id.pub" "$T/keys/root"
cat >"$T/app/sshd_base_config" <<EOF
Port 2222
ListenAddress ${NS_ADDR[1]}
HostKey $T/app/host_ed25519
PidFile $T/app/sshd_base.pid
AuthorizedKeysFile $T/keys/%u
StrictModes no
PubkeyAuthentication yes
PasswordAuthentication no
UsePAM no
PermitRootLogin prohibit-password
Subsystem sftp internal-sftp
EOF
ip netns exec "$NS_APP" "$SSHD" -D -f "$T/app/sshd_base_config" \
	-E "$T/sshd_base.log" &
T_PIDS+=($!)
t_wait_for 10 eval 'ip netns exec "$NS_APP" ss -Htln "sport = :2222" | grep -q .' ||
	t_fail "baseline sshd does not listen"
echo "[${NS_ADDR[1]}]:2222 $(cut -d' ' -f1,2 "$T/app/host_ed25519.pub")" \
	>>"$C/known_hosts"

# The appliance's daemons (and so all they start from now) in one cgroup.
mkdir "$CG" "$CGC"
for p in $(ip netns pids "$NS_APP"); do echo "$p" >"$CG/tasks"; done
cpu_ns() { cat "$CG/cpuacct.usage"; }
# The client's programs (beemo-backup, ssh, rsync, restic) in another.
cli_ns() { cat "$CGC/cpuacct.usage"; }

SSH_E="ssh $(netns_ssh_opts 1 | tr '\n' ' ')"
mkdir -p "$T/plain"
export RESTIC_PASSWORD=bench
RREPO="sftp:root@[${NS_ADDR[1]}]:2222/$T/restic"

# run SYSTEM CORPUS: one backup; prints "wall_ms appliance_cpu_ms
# client_cpu_ms".  Runs in $(...): its subshell joins the client's
# cgroup, the test's shell does not.
run() {
	local sys=$1 corpus=$2 t0 t1 c0 c1 k0 k1 rc=0
	sync
	echo 3 >/proc/sys/vm/drop_caches
	echo "$BASHPID" >"$CGC/tasks"
	k0=$(cli_ns)
	c0=$(cpu_ns)
	t0=$(date +%s%N)
	case $sys in
	beemo)
		netns_backup 1 "bench_$corpus" --quiet "$C/$corpus" || rc=$? ;;
	rsync)
		netns_in 1 rsync -aHAXR --numeric-ids --delete -e "$SSH_E -p 2222" \
			"$C/$corpus" "root@${NS_ADDR[1]}:$T/plain/" \
			>"$T/bench_rsync.out" 2>&1 || rc=$? ;;
	restic)
		netns_in 1 "$RESTIC" -r "$RREPO" -o \
			"sftp.command=$SSH_E -p 2222 root@${NS_ADDR[1]} -s sftp" \
			backup -q "$C/$corpus" >"$T/bench_restic.out" 2>&1 ||
			rc=$? ;;
	esac
	t1=$(date +%s%N)
	c1=$(cpu_ns)
	k1=$(cli_ns)
	[ $rc = 0 ] || t_fail "$sys backup of $corpus: exit $rc"
	echo "$(( (t1 - t0) / 1000000 )) $(( (c1 - c0) / 1000000 ))" \
		"$(( (k1 - k0) / 1000000 ))"
}

systems=(beemo rsync)
if [ -n "$RESTIC" ]; then
	systems+=(restic)
	netns_in 1 "$RESTIC" -r "$RREPO" -o \
		"sftp.command=$SSH_E -p 2222 root@${NS_ADDR[1]} -s sftp" \
		init >"$T/restic_init.out" 2>&1 ||
		t_fail "restic init: $(cat "$T/restic_init.out")"
else
	t_log "restic is not installed: skipped"
fi

declare -A R
for corpus in small large; do
	files=$(find "$C/$corpus" -type f | wc -l)
	bytes=$(du -sb --apparent-size "$C/$corpus" | cut -f1)
	for sys in "${systems[@]}"; do
		for pass in full again; do
			t_log "$sys $corpus $pass"
			R[$sys.$corpus.$pass]=$(run "$sys" "$corpus")
		done
	done
	R[$corpus.files]=$files
	R[$corpus.bytes]=$bytes
done

# ---- report
echo "# beemo-backup over a veth: $FILES small files, $LARGE MiB large"
echo
echo "| corpus | pass | system | time s | files/s | MB/s | appliance CPU s | client CPU s | time / rsync | appliance CPU / rsync |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for corpus in small large; do
	for pass in full again; do
		read -r rw rc _ <<<"${R[rsync.$corpus.$pass]}"
		for sys in "${systems[@]}"; do
			read -r w c k <<<"${R[$sys.$corpus.$pass]}"
			[ "$w" -gt 0 ] || w=1
			awk -v co="$corpus" -v pa="$pass" -v s="$sys" -v w="$w" \
				-v c="$c" -v k="$k" -v rw="$rw" -v rc="$rc" \
				-v f="${R[$corpus.files]}" -v b="${R[$corpus.bytes]}" \
				'BEGIN { printf "| %s | %s | %s | %.2f | %.1f | %.1f | %.2f | %.2f | %.2f | %.2f |\n",
				co, pa, s, w / 1000, f / (w / 1000), b / 1e6 / (w / 1000),
				c / 1000, k / 1000, w / (rw > 0 ? rw : 1), c / (rc > 0 ? rc : 1) }'
		done
	done
done
echo
echo "Appliance CPU: sshd, beemo-session, beemo-sessiond, beemofs, rsync and"
echo "restic's SFTP server (cpuacct cgroup); client CPU: beemo-backup, ssh,"
echo "rsync, restic.  Time includes the SSH login.  MB/s is the corpus's"
echo "size over the time, also for a second pass that sends little."
[ -n "$RESTIC" ] || echo "restic: not installed, skipped."
