#!/bin/bash
# attack_center_quota.sh -- a compromised appliance tries to fill the
# center's disk beyond its area's quota (64 KiB here), which would stop
# the other appliances of the center:
#  1. temporaries: ".tmp-*" files written and closed one after the
#     other in one session, never renamed;
#  2. partials: each session writes a new object and ends without
#     closing it, leaving AREA/state/partial/H behind;
#  3. the journal: every refused request (here writes and removals in
#     center/) appends a line with its path (up to 4 KiB) to
#     AREA/state/journal.
# Each part must leave the area (data/ and state/) within the quota plus
# a small allowance.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd_lib.sh"
. "$(dirname "$0")/center_lib.sh"

command -v python3 >/dev/null || t_skip "no python3"
Q=65536
SLACK=65536
center_area a $Q
A=$T/area_a
fails=()
size() { du -sb "$1" | cut -f1; }
attack() { # PART: run part PART of the client
	PYTHONPATH=$(dirname "$0") python3 - "$BEEMO_CENTER" "$A" "$1" \
		>"$T/py$1.out" 2>&1 <<'PY' || t_fail "client: $(cat "$T/py$1.out")"
import sys
from center_attack import *
center, area, part = sys.argv[1], sys.argv[2], sys.argv[3]
chunk = b'x' * 60000
if part == '1':
    c = Session(center, area)
    for i in range(8):
        h = c.open('/.tmp-%d' % i, F_WRITE | F_CREAT | F_TRUNC)
        print('tmp', i, c.write(h, 0, chunk), c.close(h))
    c.end()
elif part == '2':
    for i in range(8):
        c = Session(center, area)
        h = c.open('/obj-%d' % i, F_WRITE | F_CREAT | F_TRUNC)
        print('partial', i, c.write(h, 0, chunk))
        c.end()
else:
    c = Session(center, area)
    name = '/center/' + 'n' * 4000
    for i in range(60):
        c.open(name + '%d' % i, F_WRITE | F_CREAT)
        c.remove(name + '%d' % i)
    c.end()
PY
}
attack 1
s=$(size "$A")
t_log "after temporaries: $s bytes; $(tr '\n' ' ' <"$T/py1.out")"
[ "$s" -le $((Q + SLACK)) ] ||
	fails+=("temporaries left in data/ fill $s bytes of a $Q-byte area")
rm -f "$A"/data/.tmp-*
attack 2
s=$(size "$A")
t_log "after partials: $s bytes; $(tr '\n' ' ' <"$T/py2.out")"
[ "$s" -le $((Q + SLACK)) ] ||
	fails+=("partials left in state/partial fill $s bytes of a $Q-byte area")
rm -f "$A"/state/partial/*
attack 3
s=$(size "$A")
t_log "after refusals: $s bytes (journal $(size "$A/state/journal" 2>/dev/null))"
[ "$s" -le $((Q + SLACK)) ] ||
	fails+=("refusals journaled fill $s bytes of a $Q-byte area")
[ ${#fails[@]} -eq 0 ] || t_fail "$(printf '%s; ' "${fails[@]}")"
t_log "ok"
