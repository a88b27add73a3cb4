#!/bin/bash
# attack_session_socket.sh -- beemo-sessiond's socket is open to every
# local user (mode 0666): a user that is no machine's account is refused
# at once and costs the daemon no process, however many connections it
# holds without a word; a "beemo-*" account without a machine is
# refused; a machine's account that sends nothing is dropped.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/attack_session_lib.sh"

t_expect_log "warning: a request from uid [0-9]+, which is no machine's account, refused"
t_expect_log "warning: account beemo-[a-z0-9]+: no such machine in"
as_setup
PY=/usr/bin/python3
[ -x $PY ] || t_skip "no /usr/bin/python3"
cat >"$T/peer.py" <<'EOF2'
# peer.py SOCKET HOLD MODE: connect HOLD times at once, each sending
# nothing (silent) or the request "open" with descriptors 0, 1, 2 (send);
# print the status each got within 3 s, or "none".
import array, socket, struct, sys, time
path, hold, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
socks = []
for i in range(hold):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    if mode == "send":
        try:
            s.sendmsg([b"open\n"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                                     array.array("i", [0, 1, 2]))])
        except OSError:
            pass  # refused before the request was read
    socks.append(s)
t0 = time.time()
for s in socks:
    s.settimeout(max(0.1, 3 - (time.time() - t0)))
    try:
        d = s.recv(4)
        print(struct.unpack("i", d)[0] if len(d) == 4 else "eof")
    except socket.timeout:
        print("none")
EOF2
as_user() { local u=$1; shift; setpriv --reuid="$u" --regid=nogroup --clear-groups "$@"; }

# 50 silent connections of "nobody": each refused (2) at once.
out=$(as_user nobody $PY "$T/peer.py" "$T/sd.sock" 50 silent </dev/null)
[ "$(sort -u <<<"$out")" = 2 ] ||
	t_fail "a silent local user's connections were not refused at once: $(sort <<<"$out" | uniq -c | tr '\n' ' ')"
# ...and the daemon has no child left for them.
kids=$(ps --ppid "$AS_DPID" -o pid= | wc -l || true)
[ "$kids" = 0 ] || t_fail "$kids daemon children after refused connections"
# "nobody" asking to open, with descriptors: refused, nothing served.
out=$(as_user nobody $PY "$T/peer.py" "$T/sd.sock" 1 send </dev/null 2>&1)
[ "$out" = 2 ] || t_fail "nobody's open: $out"
# Through beemo-session itself, every request.
for op in open snapshots restore "rsync --server --daemon ."; do
	rc=0
	as_user nobody env -i SSH_ORIGINAL_COMMAND="$op" "$SESSION" \
		--socket "$T/sd.sock" </dev/null >"$T/o" 2>&1 || rc=$?
	[ $rc = 2 ] || t_fail "nobody's $op: status $rc: $(cat "$T/o")"
done
[ ! -e "$T/run/nobody" ] && [ ! -e "$T/run/nobody.lock" ] ||
	t_fail "a run directory was made for nobody"

# A beemo-* account whose machine does not exist.
as_account "beemo-nom$$"
rc=0
{ as_key; } | as_user "beemo-nom$$" env -i SSH_ORIGINAL_COMMAND=open \
	"$SESSION" --socket "$T/sd.sock" >"$T/o" 2>&1 || rc=$?
[ $rc = 2 ] && grep -q "opens no machine" "$T/o" ||
	t_fail "an account without a machine: status $rc: $(cat "$T/o")"

# The machine's account, connected but silent: dropped within seconds.
out=$(as_user "beemo-$AS_M" $PY - "$T/sd.sock" <<'EOF2'
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(20)
t = time.time()
try:
    s.recv(4); print(int(time.time() - t))
except socket.timeout:
    print("never")
EOF2
)
[ "$out" != never ] && [ "$out" -le 15 ] ||
	t_fail "a silent machine account's connection was kept: $out"
t_log "ok"
