#!/bin/bash
# attack_center_backdate.sh -- a compromised appliance holds K_OFF (in
# clear in STORE/keys/appliance.key), so it can make manifests with a
# valid mac.  After two genuine pushes (state 1, then state 2, the one
# the attack would hide behind), it uploads through beemo-center serve a
# manifest of state 2 that claims a later push number but the creation
# time of state 1.  `beemo-sync recover --at` a time between the two
# genuine pushes (the administrator going back to before the attack)
# must still rebuild state 1, not the backdated state.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd_lib.sh"
. "$(dirname "$0")/center_lib.sh"

sshd_require
command -v python3 >/dev/null || t_skip "no python3"
[ -x "$BEEMOFS" ] || t_skip "beemofs is not built"
command -v fusermount3 >/dev/null || t_skip "no fusermount3"
A=$T/area_a
center_start a
mapfile -t tconf < <(center_target_conf a)
t_config "[sync]" "timeout = 20s" "connections = 2" "${tconf[@]}"
t_appliance

backup() { # FILE CONTENT: pc1's current state is one file
	t_mount "$T/mnt"
	rm -rf "$T/mnt"/*
	printf '%s\n' "$2" >"$T/mnt/$1"
	t_umount "$T/mnt"
}
backup before "state 1"
sync_run push1 push || t_fail "push 1: $(cat "$T/push1.err")"
sleep 1.2
at=$(date -u +%Y-%m-%dT%H:%M:%SZ)
sleep 1.2
backup after "state 2"
sync_run push2 push || t_fail "push 2: $(cat "$T/push2.err")"

python3 - "$A/data/manifests" "$T/store/keys/appliance.key" \
	"$T/forged.json" >"$T/forged.name" <<'PY' || t_fail "forge"
import glob, hashlib, hmac, json, re, sys
ms = [open(f).read() for f in glob.glob(sys.argv[1] + '/*.json')]
ms = sorted((json.loads(t)['counter'], t) for t in ms)
(c1, t1), (c2, t2) = ms[0], ms[-1]
m1 = json.loads(t1)
t = re.sub(r'"counter":\d+', '"counter":%d' % (c2 + 1), t2)
t = re.sub(r'"created_ns":\d+', '"created_ns":%d' % (m1['created_ns'] + 1), t)
t = re.sub(r'"created":"[^"]*"', '"created":"%s"' % m1['created'], t)
t = re.sub(r'"mac":"[0-9a-f]{64}"', '"mac":"' + '0' * 64 + '"', t)
koff = open(sys.argv[2], 'rb').read()[68:100]
mac = hmac.new(koff, b'beemo/v2/manifest\0' + t.encode(),
               hashlib.sha256).hexdigest()
t = t.replace('"mac":"' + '0' * 64 + '"', '"mac":"' + mac + '"')
open(sys.argv[3], 'w').write(t)
print(m1['created'].replace('-', '').replace(':', '')[:16] + '-fffffffe.json')
PY
center_sftp a >"$T/put.out" 2>&1 <<-EOF2 || t_fail "upload: $(cat "$T/put.out")"
	put $T/forged.json /manifests/$(cat "$T/forged.name")
EOF2
sync_run hist history --target a || t_fail "history: $(cat "$T/hist.err")"
t_log "history: $(cat "$T/hist.out")"
sync_run rec recover --target a --at "$at" --store "$T/new" \
	--password-file "$T/admin.pw" || t_fail "recover --at: $(cat "$T/rec.err")"
t_log "recover: $(cat "$T/rec.out" "$T/rec.err" | tail -5)"
m=$T/mnt_new
mkdir -p "$m"
"$BEEMOFS" "$T/new" "$m" -f -o "machine=pc1,keyfile=$T/pc1.poste" \
	>>"$T/beemofs.log" 2>&1 &
T_MOUNT_PID[$m]=$!
T_PIDS+=($!)
T_MOUNTS+=("$m")
t_wait_mounted "$m" || t_fail "beemofs does not mount the recovered store"
got=$(ls "$m")
t_umount "$m"
[ "$got" = before ] || t_fail "recover --at $at took the backdated" \
	"manifest: the recovered state holds '$got', not 'before'"
t_log "ok"
