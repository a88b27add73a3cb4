#!/bin/bash
# session_two.sh -- several machines back up at once, one session per
# machine:
#   - pc1 and pc2 back up in parallel from their own namespaces (links
#     slowed so that both sessions are seen mounted at the same time on
#     the appliance); both exit 0 and each snapshot is its client's tree;
#   - while pc1's session is open (opened by hand with the channel
#     protocol), a second session of pc1 is refused: beemo-backup exits 3
#     with the "busy" message, and a raw `open` gets "ERR 3 ...";
#     pc2 still backs up meanwhile; once the first session ends, pc1
#     backs up again.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd_lib.sh"
. "$(dirname "$0")/netns_lib.sh"

netns_require
netns_setup 2
for i in 1 2; do
	mkdir -p "${NS_DIR[$i]}/data/d"
	for f in $(seq 1 30); do echo "pc$i file $f" >"${NS_DIR[$i]}/data/d/f$f"; done
	head -c 9000000 /dev/urandom >"${NS_DIR[$i]}/data/big"
	netns_tree "${NS_DIR[$i]}/data" >"$T/tree$i"
	netns_in "$i" tc qdisc add dev "bm$$c$i" root tbf rate 24mbit \
		burst 64kb latency 400ms || t_fail "tc qdisc (slow link)"
done

# sessions: the number of beemofs processes on the appliance.
sessions() {
	local p n=0
	for p in $(ip netns pids "$NS_APP"); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = beemofs ] && n=$((n + 1))
	done
	echo $n
}
netns_backup 1 a "${NS_DIR[1]}/data" &
pa=$!
netns_backup 2 b "${NS_DIR[2]}/data" &
pb=$!
t_wait_for 30 eval '[ "$(sessions)" -ge 2 ]' ||
	t_fail "never two sessions at once on the appliance"
ra=0
rb=0
wait $pa || ra=$?
wait $pb || rb=$?
[ $ra = 0 ] || t_fail "pc1's backup in parallel: exit $ra ($(cat "$T/a.err"))"
[ $rb = 0 ] || t_fail "pc2's backup in parallel: exit $rb ($(cat "$T/b.err"))"
for i in 1 2; do
	netns_in "$i" tc qdisc del dev "bm$$c$i" root
	[ "$(netns_snapshots "$i")" = "1	end of backup session" ] ||
		t_fail "pc$i: $(netns_snapshots "$i")"
	netns_restore "$i" 1 "$T/r$i"
	netns_tree "$T/r$i${NS_DIR[$i]}/data" | diff "$T/tree$i" - >&2 ||
		t_fail "pc$i's snapshot differs from its tree"
done

# ---- busy
netns_hold_open 1
case $NS_REPLY in
"OK "*'"beemo-session-open"'*) ;;
*) t_fail "open by hand: $NS_REPLY" ;;
esac
rc=0
netns_backup 1 busy "${NS_DIR[1]}/data" || rc=$?
[ $rc = 3 ] || t_fail "a second session of pc1: exit $rc, not 3 ($(cat "$T/busy.err"))"
grep -q "machine ${NS_M[1]} already has a backup session running" \
	"$T/busy.err" "$T/busy.out" ||
	t_fail "no busy message: $(cat "$T/busy.err" "$T/busy.out")"
{ printf 'KEY %d\n' "$(stat -c %s "${NS_KEY[1]}")"; cat "${NS_KEY[1]}"; } |
	netns_ssh 1 "" open >"$T/raw.out" 2>&1 || true
grep -q "^ERR 3 machine ${NS_M[1]} already has a backup session running" \
	"$T/raw.out" || t_fail "raw open while busy: $(cat "$T/raw.out")"
echo "pc2 again" >>"${NS_DIR[2]}/data/d/f1"
netns_backup 2 b2 "${NS_DIR[2]}/data" ||
	t_fail "pc2 while pc1 is busy: exit $? ($(cat "$T/b2.err"))"
netns_hold_end
case $NS_REPLY in
"OK "*'"beemo-session-end"'*) ;;
*) t_fail "END of the session held by hand: $NS_REPLY" ;;
esac
[ "$(netns_json <(echo "${NS_REPLY#OK }") 'j["refused_count"]')" = 0 ] || t_fail "end of the held session: $NS_REPLY"
echo "pc1 again" >>"${NS_DIR[1]}/data/d/f1"
netns_backup 1 a2 "${NS_DIR[1]}/data" ||
	t_fail "pc1 after its other session ended: exit $? ($(cat "$T/a2.err"))"
netns_tree "${NS_DIR[1]}/data" >"$T/tree1b"
netns_restore 1 latest "$T/r1b"
netns_tree "$T/r1b${NS_DIR[1]}/data" | diff "$T/tree1b" - >&2 ||
	t_fail "pc1's last snapshot differs from its tree"
