#!/bin/bash
# store_quota.sh -- the hard quota counts everything a machine makes the
# appliance hold, staging files included.  Backwards pwrite()s (each
# write lands before the previous one, so the file is staged, not
# streamed) of 64 MiB into a file under a 5 MiB hard quota: the fsync
# fails with EDQUOT, the staging file never holds much more than the
# quota, and once the file is closed the machine can write again.  A
# machine without a hard quota of its own has the default one, a share
# of the store's disk, shown by `beemoctl quota` and df.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/report_lib.sh"

command -v python3 >/dev/null || t_skip "no python3"
t_config "[store]" "machine_quota = 20%"
t_appliance
M="$T/mnt"
t_mount "$M"
pid=${T_MOUNT_PID[$M]}

# The default quota: 20% of the store's file system.
fs=$(df -B1 --output=size "$T" | tail -n 1 | tr -d ' ')
"$BEEMOCTL" quota pc1 --json >"$T/q.json" || t_fail "quota --json"
[ "$(report_json 'd["quota_hard"], d["quota_limit"]' <"$T/q.json")" = "(0, $((fs / 100 * 20)))" ] ||
	t_fail "default quota of a $fs-byte disk: $(cat "$T/q.json")"
size=$(df -B1 --output=size "$M" | tail -n 1 | tr -d ' ')
[ $((size / 4096)) = $((fs / 100 * 20 / 4096)) ] ||
	t_fail "df shows $size bytes, not the default quota"

"$BEEMOCTL" quota pc1 --hard 5M --password-file "$T/admin.pw" >/dev/null ||
	t_fail "quota --hard 5M"
# staged: the bytes the daemon's staging files hold on disk now.
staged() {
	local f n=0 b
	for f in /proc/"$pid"/fd/*; do
		case "$(readlink "$f")" in
		*/staging/*) b=$(stat -L -c %b "$f") && n=$((n + b * 512)) ;;
		esac
	done
	echo $n
}
python3 - "$M/backwards" >"$T/py.out" <<-'EOF2' &
	import errno, os, sys
	fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT, 0o644)
	block = os.urandom(1 << 20)
	for i in range(63, -1, -1):
	    os.pwrite(fd, block, i << 20)
	print("written", flush=True)
	try:
	    os.fsync(fd)
	    print("fsync ok", flush=True)
	except OSError as e:
	    print("fsync", errno.errorcode[e.errno], flush=True)
	sys.stdin.readline()
	try:
	    os.close(fd)
	except OSError as e:
	    pass
EOF2
py=$!
T_PIDS+=($py)
# Its writes wait in memory for the one before them (counted for the
# quota): the fsync that would store them says the quota is full.
t_expect_log "error: /backwards: cannot store new content: Disk quota exceeded$"
t_wait_for 60 grep -q "^fsync" "$T/py.out" || t_fail "the writer hangs"
most=$(staged)
grep -q "^fsync EDQUOT" "$T/py.out" ||
	t_fail "64 MiB under a 5 MiB quota: $(cat "$T/py.out")"
# The slack: 5 MiB and one 1 MiB write, in 64 KiB blocks.
[ "$most" -le $((6 * 1024 * 1024 + 65536)) ] ||
	t_fail "the staging files hold $most bytes under a 5 MiB quota"
# It may have closed and exited already.
kill "$py" 2>/dev/null || true
wait "$py" 2>/dev/null || true
# Closed: its staging is gone, and a small file fits again.
t_wait_for 10 eval '[ "$(staged)" = 0 ]' || t_fail "staging left behind"
"$BEEMOCTL" quota pc1 --hard 50M --password-file "$T/admin.pw" >/dev/null ||
	t_fail "quota --hard 50M"
echo small >"$M/small" || t_fail "a small file after the quota"

# Renames and chmods cost index and journal space too: at the quota they
# are refused, and what the machine holds stays bounded; deleting still
# works.  The quota: 1 MiB more than what the machine holds now.
used=$("$BEEMOCTL" quota pc1 --json | report_json 'd["used"]')
hard=$((used + 1024 * 1024))
"$BEEMOCTL" quota pc1 --hard "$hard" --password-file "$T/admin.pw" \
	>/dev/null || t_fail "quota --hard $hard"
python3 "$(dirname "$0")/meta_stream.py" "$M" small EDQUOT \
	>"$T/meta.out" 2>&1 || t_fail "renames and chmods: $(cat "$T/meta.out")"
rm "$M/$(head -n 1 "$T/meta.out")" || t_fail "no deletion at the quota"
t_log "refused at the quota after $(sed -n 2p "$T/meta.out")"
used=$("$BEEMOCTL" quota pc1 --json | report_json 'd["used"]')
[ "$used" -le $((hard + 512 * 1024)) ] ||
	t_fail "the machine holds $used bytes under a hard quota of $hard"
t_umount "$M"
t_log "ok"
