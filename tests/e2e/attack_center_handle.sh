#!/bin/bash
# attack_center_handle.sh -- a compromised appliance keeps a write
# handle open on what becomes an accepted object and writes through it:
#  1. a ".tmp-*" temporary opened for writing, renamed to a free name
#     (which accepts it), then written and truncated through the handle
#     still open on it;
#  2. two handles on the same new object (the same partial): the first
#     close accepts it, the second handle then writes into it;
#  3. as 1, but the rename is made by a second session.
# The accepted objects must keep the bytes they were accepted with: an
# accept is refused while another handle has the file open for writing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd_lib.sh"
. "$(dirname "$0")/center_lib.sh"

command -v python3 >/dev/null || t_skip "no python3"
center_area a
PYTHONPATH=$(dirname "$0") python3 - "$BEEMO_CENTER" "$T/area_a" \
	>"$T/py.out" 2>&1 <<'PY' || t_fail "client: $(cat "$T/py.out")"
import sys
from center_attack import *
c = Session(sys.argv[1], sys.argv[2])
print('mkdir', c.mkdir('/packs'))
# 1. through a temporary's handle, after the rename accepted it
h = c.open('/packs/.tmp-1', F_WRITE | F_CREAT | F_TRUNC)
print('write tmp', c.write(h, 0, b'GOOD-ONE'))
print('rename', c.rename('/packs/.tmp-1', '/packs/one'))
print('write after rename', c.write(h, 0, b'EVIL'))
print('grow after rename', c.write(h, 100, b'EVIL'))
print('close', c.close(h))
# 2. two handles on one partial
h1 = c.open('/packs/two', F_WRITE | F_CREAT | F_TRUNC)
h2 = c.open('/packs/two', F_WRITE | F_CREAT)
print('write 1', c.write(h1, 0, b'GOOD-TWO'))
print('close 1', c.close(h1))
print('write 2', c.write(h2, 0, b'EVIL'))
print('close 2', c.close(h2))
# 3. across sessions: another session renames the temporary this one
# still has open
d = Session(sys.argv[1], sys.argv[2])
h = c.open('/packs/.tmp-3', F_WRITE | F_CREAT | F_TRUNC)
print('write tmp 3', c.write(h, 0, b'GOOD-THREE'))
print('rename by the other session', d.rename('/packs/.tmp-3', '/packs/three'))
print('write after rename', c.write(h, 0, b'EVIL'))
print('close', c.close(h))
d.end()
c.end()
PY
t_log "$(cat "$T/py.out")"
# Each object is either not accepted (the accept was refused while a
# handle was open on it) or holds exactly the bytes it was accepted with.
res() { sed -n "s/^$1 //p" "$T/py.out" | head -n 1; }
fails=()
check() { # NAME WHEN-ACCEPTED: the object must be absent or hold WANT
	local f=$T/area_a/data/packs/$1 want=$2
	if [ -e "$f" ]; then
		[ "$(cat "$f")" = "$want" ] ||
			fails+=("accepted /packs/$1 changed: $(od -An -c "$f" |
				head -2 | tr -s ' \n' ' ')")
	fi
}
# 1 and 3: a rename while a handle is open must be refused; if it was
# not, the object must not have changed since.
[ "$(res rename)" != 0 ] || check one GOOD-ONE
[ "$(res 'rename by the other session')" != 0 ] || check three GOOD-THREE
[ "$(res rename)" != 0 ] && [ -e "$T/area_a/data/packs/one" ] &&
	fails+=("a refused rename accepted /packs/one")
# 2: if the first close accepted it, it holds GOOD-TWO; else the second
# close accepted what the second handle wrote (nothing was accepted
# before).
if [ "$(res 'close 1')" = 0 ]; then
	check two GOOD-TWO
else
	check two EVIL-TWO
fi
[ ${#fails[@]} -eq 0 ] || t_fail "$(printf '%s; ' "${fails[@]}")"
t_log "ok"
