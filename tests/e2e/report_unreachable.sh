#!/bin/bash
# report_unreachable.sh -- the maintenance run against real sshd centers:
# it saves the configuration, the appliance journal and a status file on
# each center it reaches; a center not reached for longer than [mail]
# unreachable_after (here 3 s) is reported once -- whether it went away
# (a) or was never reached (b) -- and once more when it is reached again;
# `beemoctl status` and `metrics` show the alert; pushes and maintenance
# runs are in the appliance journal; a push in progress shows in status.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd_lib.sh"
. "$(dirname "$0")/report_lib.sh"

sshd_require
report_sendmail
sshd_start a
closed=$(sshd_free_port)
mapfile -t ta < <(sshd_target_conf a)
report_config "unreachable_after = 3s" "[sync]" "timeout = 20s" "${ta[@]}" \
	"[target b]" "host = 127.0.0.1" "port = $closed" "user = $(id -un)" \
	"key = $T/id_ed25519" "known_hosts = $T/known_hosts_a" \
	"path = $T/center_b"
t_appliance
t_expect_log 'error: target [ab]: cannot connect to 127\.0\.0\.1 port [0-9]+: Connection refused'
t_expect_log 'error: storage center [ab] not reached: Connection refused'
t_expect_log 'error: push failed for target: b'
t_expect_log 'error: push failed for targets: a, b'

sync_run push1 push && t_fail "push with b closed succeeded"
report_maint m1 && t_fail "maintenance with b closed succeeded"
grep -q "maintenance: a reached, b Connection refused" "$T/m1.out" ||
	t_fail "m1: $(cat "$T/m1.out")"
[ "$(report_count)" = 0 ] || t_fail "reported before the delay"
# What the center got: configuration, journal, status.
R="$T/center_a/beemo"
ls "$R"/config/beemo.conf.*.sealed "$R"/keys/admin.key.* \
	"$R"/journal/*.log >/dev/null || t_fail "center a lacks objects"
grep -l '"kind":"maintenance"' "$R"/status/*.json >/dev/null ||
	t_fail "no maintenance status on a"
grep -rl "pc1.poste\|alice" "$R/journal" && t_fail "journal in clear"

sshd_kill a
# Time itself is under test: a target is reported once it has been
# unreachable for unreachable_after (3 s).
sleep 3.5
report_maint m2 && t_fail "maintenance with both down succeeded"
[ "$(report_count)" = 2 ] || t_fail "expected 2 mails, got $(report_count)"
report_mails >"$T/mails.json"
for n in 1 2; do
	[ "$(report_field $n report)" = problem ] || t_fail "mail $n kind"
	[ "$(report_field $n machine)" = "(appliance)" ] || t_fail "mail $n machine"
done
[ "$(report_field 1 key),$(report_field 2 key)" = "unreachable:a,unreachable:b" ] ||
	t_fail "keys: $(report_field 1 key), $(report_field 2 key)"
[[ $(report_field 1 subject) =~ ^"[Beemo test-appliance] storage center a not reached for 0m "[3-9]s$ ]] ||
	t_fail "subject 1: $(report_field 1 subject)"
report_field 2 body | grep "never reached since then" >/dev/null ||
	t_fail "body 2: $(report_field 2 body)"
"$BEEMOCTL" status --json >"$T/st.json" || t_fail "status"
[ "$(report_json 'sorted(a["key"] for a in d["appliance"]["alerts"])' <"$T/st.json")" = "['unreachable:a', 'unreachable:b']" ] ||
	t_fail "status alerts: $(cat "$T/st.json")"
"$BEEMOCTL" metrics --output "$T/beemo.prom" || t_fail "metrics"
grep -q '^beemo_alerts_open 2$' "$T/beemo.prom" &&
	grep -q '^beemo_target_last_success_timestamp_seconds{target="b"} 0$' "$T/beemo.prom" ||
	t_fail "metrics: $(cat "$T/beemo.prom")"

report_maint m3 || true
[ "$(report_count)" = 2 ] || t_fail "reported twice"

sshd_start a
report_maint m4 && t_fail "maintenance with b down succeeded"
[ "$(report_count)" = 3 ] || t_fail "expected the resolved mail"
[ "$(report_field 3 subject)" = "[Beemo test-appliance] RESOLVED: storage center a reached again" ] ||
	t_fail "subject 3: $(report_field 3 subject)"
[ "$(report_field 3 key)" = unreachable:a ] || t_fail "key 3"

"$BEEMOCTL" journal --all --json --password-file "$T/admin.pw" >"$T/j.json" ||
	t_fail "journal --all"
types=$(report_journal 'sorted(set(e["type"] for e in d if e["journal"] == "appliance"))' <"$T/j.json")
[ "$types" = "['admin', 'machine', 'maintenance', 'push', 'report']" ] ||
	t_fail "appliance journal types: $types"
report_journal '[e["summary"] for e in d if e["type"] == "push"]' <"$T/j.json" |
	grep -q "push to b: Connection refused" || t_fail "push entries"

# A push in progress shows in beemoctl status, with its target and
# progress (STORE/run/push.json, rewritten once a second).
sync_fake_packs pc9 4 1000000
"$BEEMO_SYNC" push --target a --bwlimit 300K >/dev/null 2>>"$T/sync.log" &
pusher=$!
# Both views are read while the push runs (some 13 s at 300K/s): a
# loaded machine may finish a shorter push between two status commands.
seen=""
text=""
push_seen() {
	"$BEEMOCTL" status --json >"$T/p.json"
	seen=$(report_json '[(o["op"], o.get("target"), o["objects_total"] > 0, o["bytes_total"] > 3000000) for o in d["in_progress"] if o["op"] == "push"]' <"$T/p.json")
	[ "$seen" = "[('push', 'a', True, True)]" ] || return 1
	"$BEEMOCTL" status >"$T/p.txt"
	grep -q "^  push       pid $pusher *to a: " "$T/p.txt" && text=ok
}
t_wait_for 30 push_seen || true # judged below, once the push is over
wait $pusher || t_fail "push with --bwlimit"
[ "$seen" = "[('push', 'a', True, True)]" ] ||
	t_fail "push not seen in progress: $seen $(cat "$T/p.json")"
[ -n "$text" ] ||
	t_fail "push in the text status: $(cat "$T/p.txt")"
ls "$T/store/run" | grep -q '^push.json$' && t_fail "push.json left"
t_log "ok"
