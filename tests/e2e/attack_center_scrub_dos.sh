#!/bin/bash
# attack_center_scrub_dos.sh -- a compromised appliance tries to stop
# the center's scrub from seeing damage: directories named like
# manifests (manifests/aaa.json/, manifests/zzz.json/), a malformed
# manifest and one that lists a directory and an absent object.  A pack
# the center's disk damaged must still be found and reported in
# center/scrub.json.
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
          '/machines/m1/packs/00', '/manifests', '/manifests/aaa.json',
          '/manifests/zzz.json'):
    assert c.mkdir(d) == OK, d
pack = b'sealed pack bytes ' * 100
path = 'machines/m1/packs/00/0000000000000001.pack'
assert c.put('/' + path, pack) == OK
def manifest(objs):
    return json.dumps({'format': 'beemo-sync-manifest', 'version': 2,
                       'appliance': '0' * 32, 'counter': 1,
                       'objects': objs, 'mac': '0' * 64}).encode()
assert c.put('/manifests/20260101T000000Z-00000001.json', manifest(
    [{'path': path, 'size': len(pack),
      'sha256': hashlib.sha256(pack).hexdigest()}])) == OK
assert c.put('/manifests/20260102T000000Z-00000002.json', b'{"format":') == OK
assert c.put('/manifests/20260103T000000Z-00000003.json', manifest(
    [{'path': 'machines/m1/packs', 'size': 1, 'sha256': '0' * 64},
     {'path': 'machines/m1/packs/00/0000000000000009.pack', 'size': 1,
      'sha256': '0' * 64}])) == OK
c.end()
PY
f=$A/data/machines/m1/packs/00/0000000000000001.pack
printf 'X' | dd of="$f" bs=1 seek=7 conv=notrunc status=none
rc=0
timeout 60 "$BEEMO_CENTER" scrub --area "$A" >"$T/scrub.out" \
	2>"$T/scrub.err" || rc=$?
t_log "scrub exit $rc: $(cat "$T/scrub.out" "$T/scrub.err")"
[ "$rc" = 1 ] || t_fail "scrub exit $rc, not 1 (damage found)"
grep -q '"damaged":\["machines/m1/packs/00/0000000000000001.pack"\]' \
	"$A/data/center/scrub.json" ||
	t_fail "the damaged pack is not reported: $(cat "$A/data/center/scrub.json")"
t_log "ok"
