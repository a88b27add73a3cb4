#!/bin/bash
# sync_hostkey.sh -- the channel: a changed or unknown host key is refused
# with its SHA-256 fingerprint and the known_hosts file named, and
# nothing is uploaded; hashed known_hosts entries work; a key the server
# does not accept is refused.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd_lib.sh"

sshd_require
sshd_start a
sync_config a
t_appliance
sync_fake_packs pc1 3 100000
KH="$T/known_hosts_a"
port=${SSHD_PORT[a]}
fpr=$(ssh-keygen -lf "$T/sshd_a/host_ed25519.pub" | cut -d' ' -f2)
cp "$KH" "$T/known_hosts_a.good"

t_expect_log "error: target a: the host key of 127.0.0.1 port $port HAS CHANGED"
t_expect_log "error: target a: the host key of 127.0.0.1 port $port \\(ssh-ed25519 SHA256:"
t_expect_log 'error: target a: .* refused the key'
t_expect_log 'error: push failed for target: a'

# A changed key: another server's key recorded for this host and port.
ssh-keygen -q -t ed25519 -N '' -f "$T/other" -C other
printf '[127.0.0.1]:%s %s\n' "$port" "$(cut -d' ' -f1,2 "$T/other.pub")" >"$KH"
sync_run changed push && t_fail "push with a changed host key succeeded"
grep -q "HAS CHANGED: the server offers ssh-ed25519 $fpr, which does not match $KH" \
	"$T/changed.err" || t_fail "message: $(cat "$T/changed.err")"
[ -z "$(find "$T/center_a" -type f)" ] || t_fail "something was uploaded"

# An unknown host.
echo "# no keys" >"$KH"
sync_run unknown push && t_fail "push to an unknown host succeeded"
grep -q "(ssh-ed25519 $fpr) is not in $KH; refusing" "$T/unknown.err" ||
	t_fail "message: $(cat "$T/unknown.err")"
[ -z "$(find "$T/center_a" -type f)" ] || t_fail "something was uploaded"
sync_run st status --json
grep -q '"result":"host key not trusted"' "$T/st.out" ||
	t_fail "state: $(cat "$T/st.out")"

# A client key the server does not know.
cp "$T/known_hosts_a.good" "$KH"
ssh-keygen -q -t ed25519 -N '' -f "$T/stranger" -C stranger
sed -i "s|^key = .*|key = $T/stranger|" "$BEEMO_CONFIG"
sync_run badkey push && t_fail "push with an unauthorized key succeeded"
grep -q "refused the key $T/stranger" "$T/badkey.err" ||
	t_fail "message: $(cat "$T/badkey.err")"
sed -i "s|^key = .*|key = $T/id_ed25519|" "$BEEMO_CONFIG"

# Hashed known_hosts entries (ssh-keygen -H) are accepted.
ssh-keygen -q -H -f "$KH" >/dev/null 2>&1
grep -q '^|1|' "$KH" || t_fail "known_hosts not hashed"
sync_run hashed push || t_fail "push with a hashed known_hosts: $(cat "$T/hashed.err")"
t_log "ok"
