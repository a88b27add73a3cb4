#!/bin/bash
# attack_center_requests.sh -- a compromised appliance squats the name
# of the administrator's next deletion request: before the
# administrator releases anything, it uploads junk as
# requests/0000000000000001.req through beemo-center serve (refused by
# apply, as it must be).  The administrator's genuine request 1, made
# afterwards, must still reach the center and be applied after the
# grace period: otherwise an attacker keeps the center from ever
# reclaiming space.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd_lib.sh"
. "$(dirname "$0")/center_lib.sh"
. "$(dirname "$0")/report_lib.sh"

sshd_require
command -v python3 >/dev/null || t_skip "no python3"
report_sendmail
center_area a
A=$T/area_a
D=$A/data
printf '%s\n' "grace = 3600" "mail_to = ops@example.com" >>"$A/area.conf"
center_start a
mapfile -t tconf < <(center_target_conf a)
t_config "[sync]" "timeout = 20s" "connections = 2" "${tconf[@]}"
t_appliance
AP=(--password-file "$T/admin.pw")
printf '%s\n' "[center]" "root = $T" "[mail]" \
	"command = $T/sendmail -t -i" >"$T/center.conf"
export BEEMO_CENTER_CONFIG="$T/center.conf"
center() {
	local out=$1 rc=0
	shift
	timeout 120 "$BEEMO_CENTER" "$@" >"$T/$out.out" 2>"$T/$out.err" ||
		rc=$?
	return $rc
}
at() { date -u -d "$1" +%Y-%m-%dT%H:%M:%SZ; }

sync_fake_packs pc1 3 100000
sync_run push1 push || t_fail "push 1: $(cat "$T/push1.err")"
center pin apply --yes --area "$A" || t_fail "apply (pin): $(cat "$T/pin.err")"
# The attacker squats request 1.
echo '{"format":"beemo-delete-request"}' >"$T/junk.req"
center_sftp a >"$T/put.out" 2>&1 <<-EOF2 || t_fail "upload: $(cat "$T/put.out")"
	-mkdir /requests
	put $T/junk.req /requests/0000000000000001.req
EOF2
center junk apply --yes --area "$A" || t_log "apply exit $? (junk refused)"
t_log "junk: $(cat "$T/junk.out" "$T/junk.err" | head -3)"
# The administrator's real request 1.
"$BEEMOCTL" key rotate pc1 "${AP[@]}" >/dev/null || t_fail "key rotate"
sync_run push2 push || t_fail "push 2: $(cat "$T/push2.err")"
sync_run r1 release --yes "${AP[@]}" || t_fail "release: $(cat "$T/r1.err")"
sync_run push3 push || t_log "push 3 failed"
t_log "push 3: $(tail -3 "$T/push3.err")"
req=$(ls "$T"/store/sync/requests/*/*.req | head -1)
[ -n "$req" ] || t_fail "release made no request"
t_log "the administrator's request: ${req#$T/}"
python3 -c 'import json, sys
for o in json.load(open(sys.argv[1]))["objects"]: print(o["path"])' \
	"$req" >"$T/objs"
[ -s "$T/objs" ] || t_fail "the request names nothing"
center ap1 apply --yes --area "$A" --now "$(at '+10 seconds')" || true
center ap2 apply --yes --area "$A" --now "$(at '+2 hours')" || true
t_log "apply: $(cat "$T/ap1.out" "$T/ap2.out" | head -6)"
left=0
while read -r p; do
	[ -e "$D/$p" ] && left=$((left + 1))
done <"$T/objs"
[ "$left" = 0 ] || t_fail "$left objects of the administrator's request" \
	"are still at the center after its grace period: its name was squatted"
t_log "ok"
