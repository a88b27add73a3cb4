#!/bin/bash
# report_status.sh -- `beemoctl status` and `metrics`.  During a running
# copy, status --json shows the backup session in progress with its
# files and bytes growing (live, from the daemon's control socket); a
# running restore shows with its progress (its status file); after the
# unmount the machine shows from its status file as not mounted, with
# its last snapshot; --watch redraws until interrupted; metrics writes a
# well-formed Prometheus text file atomically.  No password anywhere.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/report_lib.sh"

report_sendmail
report_config "[machine pc1]" "quota_soft = 1G" "quota_hard = 2G"
t_appliance
"$BEEMOCTL" status --json >"$T/s0.json" || t_fail "status"
[ "$(report_json '[(m["name"], m["known"], m["mounted"]) for m in d["machines"]]' <"$T/s0.json")" = "[('pc1', False, False)]" ] ||
	t_fail "before any mount: $(cat "$T/s0.json")"

M="$T/mnt"
t_mount "$M"
# A copy of many files, slowly, in the background: the pace of a slow
# client is the behaviour under test, hence the sleep.
(
	for i in $(seq 1 60); do
		head -c 200K /dev/urandom >"$M/f$i"
		sleep 0.05
	done
) &
copier=$!
samples=()
for i in $(seq 1 12); do
	sleep 0.25 # samples a quarter of a second apart, while the copy runs
	"$BEEMOCTL" status --json >"$T/s$i.json" || t_fail "status $i"
	samples+=("$(report_json '[(o["files"], o["bytes"]) for o in d["in_progress"] if o["op"] == "backup" and o["machine"] == "pc1"][0]' <"$T/s$i.json")")
done
wait $copier || t_fail "the copy failed"
t_log "in progress (files, bytes): ${samples[*]}"
first=${samples[0]}
last=${samples[11]}
python3 - "$first" "$last" <<-'EOF' || t_fail "the session did not grow: ${samples[*]}"
	import ast, sys
	a, b = ast.literal_eval(sys.argv[1]), ast.literal_eval(sys.argv[2])
	sys.exit(0 if b[0] > a[0] and b[1] > a[1] else 1)
EOF
[ "$(report_json '(d["machines"][0]["mounted"], d["machines"][0]["live"], d["machines"][0]["quota_soft"])' <"$T/s12.json")" = "(True, True, 1073741824)" ] ||
	t_fail "machine while mounted: $(cat "$T/s12.json")"
"$BEEMOCTL" status >"$T/s.txt" || t_fail "status (text)"
grep -q "^  pc1 .*mounted (beemofs pid" "$T/s.txt" &&
	grep -q "^  backup .*pc1: [0-9]* files" "$T/s.txt" ||
	t_fail "text status: $(cat "$T/s.txt")"

# A big file, for a restore long enough to be seen.
head -c 90M /dev/urandom >"$M/big" || t_fail "write big"
t_umount "$M"
"$BEEMOCTL" status --json >"$T/s.json"
[ "$(report_json '(d["machines"][0]["mounted"], d["machines"][0]["files"], d["machines"][0]["snapshots"], d["machines"][0]["last_snapshot"] is not None, d["in_progress"])' <"$T/s.json")" = "(False, 61, 1, True, [])" ] ||
	t_fail "after unmount: $(cat "$T/s.json")"

"$BEEMOCTL" restore pc1 latest /big --target "$T/out" \
	--password-file "$T/admin.pw" >/dev/null &
restorer=$!
# Freeze it as soon as its status file appears, look, let it go on.
for i in $(seq 1 2000); do
	ls "$T/store/run" | grep -q "^restore-$restorer.json$" && break
	kill -0 $restorer 2>/dev/null || t_fail "restore ended unseen"
done
kill -STOP $restorer
"$BEEMOCTL" status --json >"$T/r.json" || t_fail "status during restore"
"$BEEMOCTL" status >"$T/r.txt" || t_fail "status (text) during restore"
kill -CONT $restorer
wait $restorer || t_fail "restore"
[ "$(report_json '[(o["op"], o["machine"], o["pid"], o["bytes_total"]) for o in d["in_progress"]]' <"$T/r.json")" = "[('restore', 'pc1', $restorer, 94371840)]" ] ||
	t_fail "restore not in progress: $(cat "$T/r.json")"
grep -q "^  restore    pid $restorer *pc1: .* of 90.0 MiB" "$T/r.txt" ||
	t_fail "restore in text: $(cat "$T/r.txt")"
ls "$T/store/run" | grep -q '^restore-' && t_fail "restore status file left"

# --watch: redraws until SIGINT, then exits 0.
timeout --preserve-status -s INT 2.5 "$BEEMOCTL" status --watch >"$T/w.txt" && rc=0 || rc=$?
[ $rc = 0 ] || t_fail "status --watch exited $rc"
[ "$(grep -c '^appliance test-appliance' "$T/w.txt")" -ge 2 ] ||
	t_fail "--watch did not redraw: $(cat "$T/w.txt")"

# Metrics: a valid text file, replaced atomically.
"$BEEMOCTL" metrics --output "$T/beemo.prom" || t_fail "metrics"
python3 - "$T/beemo.prom" <<-'EOF' || t_fail "metrics format: $(cat "$T/beemo.prom")"
	import re, sys
	typed, seen = set(), set()
	for line in open(sys.argv[1]):
	    line = line.rstrip("\n")
	    if line.startswith("# TYPE "):
	        name, kind = line.split()[2:4]
	        assert kind == "gauge", line
	        typed.add(name)
	        continue
	    if line.startswith("# HELP "):
	        continue
	    m = re.fullmatch(r'([a-z_]+)(\{[a-z]+="[^"]*"(,[a-z]+="[^"]*")*\})? (\S+)', line)
	    assert m, line
	    assert m.group(1) in typed, line
	    float(m.group(4))
	    seen.add(m.group(1))
	for need in ("beemo_machine_stored_bytes", "beemo_machine_files",
	             "beemo_machine_quota_soft_bytes", "beemo_machine_mounted",
	             "beemo_machine_last_snapshot_timestamp_seconds",
	             "beemo_store_free_bytes", "beemo_signatures"):
	    assert need in seen, need
EOF
grep -q '^beemo_machine_quota_hard_bytes{machine="pc1"} 2147483648$' "$T/beemo.prom" &&
	grep -q '^beemo_machine_mounted{machine="pc1"} 0$' "$T/beemo.prom" &&
	grep -q '^beemo_machine_files{machine="pc1"} 61$' "$T/beemo.prom" ||
	t_fail "metrics values: $(cat "$T/beemo.prom")"
ls "$T" | grep -q 'beemo.prom.tmp' && t_fail "temporary left"
"$BEEMOCTL" metrics --output - | cmp -s - "$T/beemo.prom" ||
	true # times differ; the stdout form is checked by grep below
"$BEEMOCTL" metrics --output - | grep '^beemo_up 1$' >/dev/null || t_fail "metrics -"
t_log "ok"
