#!/bin/bash
# ctl_auth.sh -- the control socket decides who may do what.  "quota-set"
# sent to a mounted beemofs without the administrator's proof, or with a
# forged one, is refused by the daemon itself (a raw client that speaks
# the protocol of control.h, as any process of the daemon's user could);
# beemoctl with the administrator's password proves it and is obeyed; a
# wrong password proves nothing.  And a restore of thousands of files
# while the machine is mounted journals every one of them through the
# daemon, names with a tab or a newline intact.
. "$(dirname "$0")/lib.sh"

t_appliance
M="$T/mnt"
t_mount "$M"
SOCK="$T/store/machines/pc1/ctl.sock"
t_expect_log "refused a request with a bad administrator's proof"

# raw_quota PROOF: send "quota-set soft=1 MiB" with PROOF ("none" or
# "forged"); print the daemon's answer as "ok" or "error CODE MESSAGE".
raw_quota() {
	python3 - "$SOCK" "$1" <<-'PY'
	import os, socket, struct, sys
	def frame(s, b):
	    s.sendall(struct.pack(">I", len(b)) + b)
	def read(s):
	    def exact(n):
	        b = b""
	        while len(b) < n:
	            c = s.recv(n - len(b))
	            if not c:
	                raise SystemExit("closed")
	            b += c
	        return b
	    return exact(struct.unpack(">I", exact(4))[0])
	s = socket.socket(socket.AF_UNIX)
	s.connect(sys.argv[1])
	hello = read(s)
	assert hello[:8] == b"BEEMOCTL" and len(hello) == 44, hello
	proof = os.urandom(384) if sys.argv[2] == "forged" else b""
	args = bytes([1]) + struct.pack(">QQ", 1 << 20, 0)
	frame(s, bytes([9]) + b"quota-set" + struct.pack(">H", len(proof)) +
	      proof + args)
	a = read(s)
	if a[0] == 0:
	    print("ok")
	else:
	    print("error", struct.unpack(">I", a[1:5])[0], a[5:].decode())
	PY
}

quota_soft() {
	"$BEEMOCTL" quota pc1 --json | python3 -c \
		'import json, sys; print(json.load(sys.stdin)["quota_soft"])'
}

# Without the proof, and with a forged one: refused, nothing changed.
ans=$(raw_quota none) || t_fail "raw client: $ans"
[[ $ans == "error 13 "*administrator* ]] || t_fail "no proof: $ans"
ans=$(raw_quota forged) || t_fail "raw client: $ans"
[[ $ans == "error 13 "*"does not verify"* ]] || t_fail "forged proof: $ans"
[ "$(quota_soft)" = 0 ] || t_fail "the quota changed without the proof"
# A wrong password signs nothing.
t_must_fail "quota with a wrong password" "$BEEMOCTL" quota pc1 --soft 2M \
	--password-file "$T/alice.pw"
grep -q "wrong password" "$T/must_fail.out" ||
	t_fail "wrong password: $(cat "$T/must_fail.out")"
[ "$(quota_soft)" = 0 ] || t_fail "the quota changed with a wrong password"
# With the administrator's password: proven to the daemon, done.
"$BEEMOCTL" quota pc1 --soft 2M --password-file "$T/admin.pw" >/dev/null ||
	t_fail "quota with the administrator's password"
[ "$(quota_soft)" = 2097152 ] || t_fail "quota not set: $(quota_soft)"
"$BEEMOCTL" quota pc1 --soft 0 --password-file "$T/admin.pw" >/dev/null ||
	t_fail "quota --soft 0"

# A restore of thousands of files while mounted: every one journaled.
N=3000
mkdir -p "$M/many"
(cd "$M/many" && for i in $(seq 1 $N); do echo "$i" >"f$i"; done) ||
	t_fail "writing $N files"
printf 'tab' >"$M/many/a	b"
printf 'newline' >"$M/many/line
break"
"$BEEMOCTL" snapshot pc1 --password-file "$T/admin.pw" >/dev/null ||
	t_fail "snapshot through the daemon"
"$BEEMOCTL" restore pc1 latest /many --target "$T/out" \
	--password-file "$T/admin.pw" >"$T/restore.out" 2>&1 ||
	t_fail "restore while mounted: $(cat "$T/restore.out")"
! grep -q "could not be journaled" "$T/restore.out" ||
	t_fail "restore not journaled: $(cat "$T/restore.out")"
[ -f "$T/out/a	b" ] && [ "$(cat "$T/out/f$N")" = "$N" ] ||
	t_fail "restored files"
"$BEEMOCTL" journal pc1 --type restore --json \
	--password-file "$T/admin.pw" >"$T/j.json" || t_fail "journal"
python3 - "$T/j.json" "$N" <<-'PY' || t_fail "restore journal: $(head -c 2000 "$T/j.json")"
	import json, sys
	n = int(sys.argv[2])
	e = [e for e in json.load(open(sys.argv[1]))["entries"]
	     if "restore of /many" in e["summary"]]
	assert len(e) == 1, len(e)
	files = set(e[0]["files"])
	want = {"/many/f%d" % i for i in range(1, n + 1)} | \
	    {"/many/a\tb", "/many/line\nbreak"}
	assert files == want, sorted(want - files)[:5]
	PY
t_umount "$M"
t_log "ok"
