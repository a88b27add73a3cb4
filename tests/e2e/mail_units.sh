#!/bin/bash
# mail_units.sh -- reports go out within minutes under systemd as under
# cron: beemo-sync-reports.timer starts beemo-sync-reports.service
# (maintenance --reports-only) every ten minutes, catching up after a
# shutdown (Persistent), and both are installed beside beemo-sync.timer;
# systemd-analyze finds nothing wrong with them.
. "$(dirname "$0")/lib.sh"

B="$BEEMO_BUILD/sync"
for u in beemo-sync-reports.service beemo-sync-reports.timer; do
	[ -f "$B/$u" ] || t_fail "$u is not built"
done
grep -qx 'OnCalendar=\*:0/10' "$B/beemo-sync-reports.timer" &&
	grep -qx 'Persistent=true' "$B/beemo-sync-reports.timer" &&
	grep -qx 'WantedBy=timers.target' "$B/beemo-sync-reports.timer" ||
	t_fail "timer: $(cat "$B/beemo-sync-reports.timer")"
grep -Eqx 'ExecStart=/.*/beemo-sync --quiet maintenance --reports-only' \
	"$B/beemo-sync-reports.service" &&
	grep -qx 'SuccessExitStatus=3' "$B/beemo-sync-reports.service" ||
	t_fail "service: $(cat "$B/beemo-sync-reports.service")"
# The same cadence as the cron example's --reports-only line.
grep -q '^\*/10 .*maintenance --reports-only$' "$B/beemo-sync.cron" ||
	t_fail "cron file: $(cat "$B/beemo-sync.cron")"

# Installed where beemo-sync.timer is.
command -v meson >/dev/null || t_skip "no meson"
meson introspect --installed "$BEEMO_BUILD" >"$T/installed.json" ||
	t_fail "meson introspect"
python3 - "$T/installed.json" <<-'PY' || t_fail "units not installed together"
	import json, os, sys
	d = {os.path.basename(k): os.path.dirname(v)
	     for k, v in json.load(open(sys.argv[1])).items()}
	for u in ("beemo-sync-reports.service", "beemo-sync-reports.timer"):
	    assert d.get(u) == d["beemo-sync.timer"], (u, d.get(u))
PY

# systemd's own check, with ExecStart pointing at this build.
if command -v systemd-analyze >/dev/null; then
	mkdir "$T/units"
	cp "$B/beemo-sync-reports.timer" "$T/units/"
	sed "s|^ExecStart=[^ ]*|ExecStart=$BEEMO_SYNC|" \
		"$B/beemo-sync-reports.service" \
		>"$T/units/beemo-sync-reports.service"
	(cd "$T/units" && systemd-analyze verify --man=no \
		beemo-sync-reports.timer beemo-sync-reports.service) \
		>"$T/verify.out" 2>&1 || t_fail "systemd-analyze: $(cat "$T/verify.out")"
	[ ! -s "$T/verify.out" ] || t_fail "systemd-analyze: $(cat "$T/verify.out")"
fi
t_log "ok"
