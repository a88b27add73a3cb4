#!/bin/bash
# center_serve_badinput.sh -- beemo-center serve fed hostile packets on
# its standard input (what a compromised appliance's key can send):
# malformed requests are answered SSH_FX_BAD_MESSAGE, unknown handles
# and requests refused, ".." paths stay at "/", and a packet over the
# 256 KiB limit ends the session (with its serve.log line) before
# anything is allocated for it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd_lib.sh"
. "$(dirname "$0")/center_lib.sh"

command -v python3 >/dev/null || t_skip "no python3"
center_area a
python3 - "$BEEMO_CENTER" "$T/area_a" >"$T/replies" 2>>"$T/py.log" <<'PY' ||
import struct, subprocess, sys
def s(b): return struct.pack('>I', len(b)) + b
def pkt(t, body): return struct.pack('>IB', len(body) + 1, t) + body
def u32(v): return struct.pack('>I', v)
m = pkt(1, u32(3))
m += pkt(3, u32(1) + b'\xff\xff\xff\xff')             # path runs past the end
m += pkt(6, u32(2) + s(b'\0\0\0\x63') + struct.pack('>Q', 0))
m += pkt(5, u32(3) + s(b'\0\0\0\0') + struct.pack('>QI', 0, 2 ** 31))
m += pkt(16, u32(4) + s(b'../../..'))
m += pkt(3, u32(5) + s(b'/x') + u32(0x1a) + u32(0x80000000) + u32(0xffffffff))
m += pkt(99, u32(6))
m += pkt(4, b'\0')                                      # no id: no reply
m += struct.pack('>IB', 0x7fffffff, 3)                 # over the limit
m += pkt(16, u32(7) + s(b'/'))                         # never read
p = subprocess.run([sys.argv[1], 'serve', '--area', sys.argv[2]], input=m,
                   capture_output=True, timeout=30)
out, i = p.stdout, 0
while i < len(out):
    l, t = struct.unpack('>IB', out[i:i + 5])
    body = out[i + 5:i + 4 + l]
    i += 4 + l
    if t == 101:
        rid, code = struct.unpack('>II', body[:8])
        print('status', rid, code)
    elif t == 104:
        rid, n = struct.unpack('>II', body[:8])
        print('name', rid, body[12:12 + struct.unpack('>I', body[8:12])[0]].decode())
    else:
        print('type', t)
print('exit', p.returncode)
PY
	t_fail "the client script failed: $(cat "$T/py.log")"
cat >"$T/want" <<-WANT
	type 2
	status 1 5
	status 2 4
	status 3 4
	name 4 /
	status 5 5
	status 6 8
	exit 1
WANT
diff "$T/want" "$T/replies" >&2 || t_fail "unexpected replies"
grep -q "end Protocol error" "$T/area_a/state/serve.log" ||
	t_fail "no serve.log line for the session"
[ -z "$(ls -A "$T/area_a/data")" ] || t_fail "hostile packets wrote data/"
t_log "ok"
