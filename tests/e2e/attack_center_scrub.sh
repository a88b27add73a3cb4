#!/bin/bash
# attack_center_scrub.sh -- a compromised appliance uploads a manifest
# of its own that lists a good, accepted pack of its history with a
# wrong SHA-256 (same size), then waits for the center's scrub.  The
# center cannot authenticate manifests (it holds no K_OFF), so a claim
# of a manifest must never make it take a good object out of data/:
# the pack must still be there, byte-exact, after scrub.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd_lib.sh"
. "$(dirname "$0")/center_lib.sh"

command -v python3 >/dev/null || t_skip "no python3"
center_area a
A=$T/area_a
PYTHONPATH=$(dirname "$0") python3 - "$BEEMO_CENTER" "$A" \
	>"$T/py.out" 2>&1 <<'PY' || t_fail "client: $(cat "$T/py.out")"
import hashlib, json, sys
from center_attack import *
c = Session(sys.argv[1], sys.argv[2])
for d in ('/machines', '/machines/m1', '/machines/m1/packs',
          '/machines/m1/packs/00', '/manifests'):
    c.mkdir(d)
pack = b'sealed pack bytes ' * 100
good = hashlib.sha256(pack).hexdigest()
path = 'machines/m1/packs/00/0000000000000001.pack'
print('pack', c.put('/' + path, pack))
def manifest(sha):
    return json.dumps({'format': 'beemo-sync-manifest', 'version': 2,
                       'appliance': '0' * 32, 'created': '2026-01-01T00:00:00Z',
                       'created_ns': 0, 'counter': 1, 'beemo': '1',
                       'objects': [{'path': path, 'size': len(pack),
                                    'sha256': sha}],
                       'superseded': [], 'mac': '0' * 64}).encode()
print('real', c.put('/manifests/20260101T000000Z-00000001.json',
                    manifest(good)))
bad = good[:16] + ('0' if good[16] != '0' else '1') + good[17:]
print('forged', c.put('/manifests/20260102T000000Z-00000002.json',
                      manifest(bad)))
c.end()
PY
t_log "$(cat "$T/py.out")"
f=$A/data/machines/m1/packs/00/0000000000000001.pack
[ -f "$f" ] || t_fail "setup: the pack was not accepted"
sum=$(sha256sum <"$f")
rc=0
"$BEEMO_CENTER" scrub --area "$A" >"$T/scrub.out" 2>"$T/scrub.err" || rc=$?
t_log "scrub exit $rc: $(cat "$T/scrub.out" "$T/scrub.err")"
[ -f "$f" ] || t_fail "scrub took the good pack out of data/ on a forged" \
	"manifest's word: $(ls -R "$A/state/damaged" 2>&1 | head -5)"
[ "$(sha256sum <"$f")" = "$sum" ] || t_fail "the good pack changed"
t_log "ok"
