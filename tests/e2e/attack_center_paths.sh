#!/bin/bash
# attack_center_paths.sh -- a compromised appliance tries path and
# rename tricks on an accepted object, center/, the area's directories,
# the area's own files and a second area of the same center: "//", ".",
# "..", trailing "/", a rename of a temporary into center/, onto an
# accepted object, onto a directory; remove, rmdir, chmod 000 of a
# directory, symbolic and hard links, writing, appending and truncating
# opens, a write through a read handle.  Every one must be refused and
# leave everything as it was.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd_lib.sh"
. "$(dirname "$0")/center_lib.sh"

command -v python3 >/dev/null || t_skip "no python3"
center_area a
center_area b
A=$T/area_a
mkdir -p "$A/data/center" "$T/area_b/data/packs"
echo report >"$A/data/center/scrub.json"
echo other >"$T/area_b/data/packs/one"
snap() {
	(cd "$T" && find area_a/data area_a/area.conf area_b -printf '%p %m %s\n' |
		sort && cat area_a/data/packs/one area_b/data/packs/one \
		area_a/data/center/scrub.json area_a/area.conf)
}
PYTHONPATH=$(dirname "$0") python3 - "$BEEMO_CENTER" "$A" \
	>"$T/setup.out" 2>&1 <<'PY' || t_fail "setup: $(cat "$T/setup.out")"
import sys
from center_attack import *
c = Session(sys.argv[1], sys.argv[2])
assert c.mkdir('/packs') == OK
assert c.put('/packs/one', b'GOOD') == OK
assert c.mkdir('/packs/.tmp-dir') == OK
c.end()
PY
snap >"$T/before"
PYTHONPATH=$(dirname "$0") python3 - "$BEEMO_CENTER" "$A" \
	>"$T/py.out" 2>&1 <<'PY' || t_fail "client: $(cat "$T/py.out")"
import struct, sys
from center_attack import *
c = Session(sys.argv[1], sys.argv[2])
bad = []
def refused(what, r):
    if r == OK or isinstance(r, tuple):
        bad.append('%s: %r' % (what, r))
tmp = 0
def fresh():
    global tmp
    tmp += 1
    p = '/packs/.tmp-x%d' % tmp
    assert c.put(p, b'EVIL') == OK
    return p
for to in ('/center/x', '//center/x', '/./center/x', '/packs/../center/x',
           'center/scrub.json', '/center', '/packs', '/packs/', '/',
           '/packs/one', '//packs//one', '/packs/./one', '/packs/.tmp-dir',
           '/packs/one/', '/../../area_b/data/packs/one'):
    p = fresh()
    refused('rename to ' + to, c.rename(p, to))
    refused('posix-rename to ' + to, c.posix_rename(p, to))
    c.remove(p)
for p in ('/packs/one', '//packs//one', '/packs/one/', '/packs/./one',
          '/x/../packs/one', '/center/scrub.json', '/packs/.tmp-dir',
          '/packs', '/center', '/'):
    refused('remove ' + p, c.remove(p))
    refused('rmdir ' + p, c.rmdir(p))
    r = c.setstat(p, 0)     # a temporary's: "unchanged" (see the diff)
    if not p.endswith('.tmp-dir'):
        refused('chmod 000 ' + p, r)
    refused('rename from ' + p, c.rename(p, '/packs/moved'))
    refused('symlink at ' + p, c.status(20, s(p) + s('/etc/passwd')))
    refused('hardlink at ' + p, c.status(EXTENDED,
            s('hardlink@openssh.com') + s('/packs/one') + s(p)))
    for f in (F_WRITE, F_WRITE | F_TRUNC, F_APPEND | F_WRITE,
              F_WRITE | F_CREAT, F_WRITE | F_CREAT | F_TRUNC, F_TRUNC,
              F_CREAT, F_READ | F_WRITE):
        h = c.open(p, f)
        if h is not None:
            bad.append('open %s flags %d: a handle' % (p, f))
            c.write(h, 0, b'EVIL')
            c.close(h)
h = c.open('/packs/one', F_READ)
refused('write through a read handle', c.write(h, 0, b'EVIL'))
refused('fsetstat through a read handle',
        c.status(FSETSTAT, s(h) + struct.pack('>II', 4, 0)))
c.close(h)
for p in ('/../area.conf', '/../../area_b/data/packs/one',
          '/../state/usage', '/..//../area_a/area.conf'):
    h = c.open(p, F_READ)
    if h is not None:
        bad.append('read %s: %r' % (p, c.read(h, 0, 100)))
refused('mkdir center/x', c.mkdir('/center/x'))
c.end()
print('\n'.join(bad) or 'all refused')
PY
t_log "$(cat "$T/py.out")"
[ "$(cat "$T/py.out")" = "all refused" ] || t_fail "accepted: $(cat "$T/py.out")"
snap >"$T/after"
diff "$T/before" "$T/after" >&2 || t_fail "the area changed"
t_log "ok"
