#!/bin/bash
# scand_cache.sh -- issue 17: the scan cache of beemo-scand, by content
# and signature version:
#   - the same content written twice (under another name) is scanned
#     once: the second is a cache hit, and the service's scan count does
#     not move; both files are kept;
#   - infected content written twice is refused twice (the second time
#     from the cache);
#   - after a reload (a new signature version), the same content is
#     scanned again;
#   - beemoctl status shows the service, its client and its cache's
#     hits (and --json); the counters are logged when the service stops.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/scand_lib.sh"

scand_config shared
t_appliance
t_expect_log "error: /[^:]*: virus Beemo\.Test\.EICAR[^ ]* found: \
file not backed up$"
TEXT="the same content, twice: $RANDOM$RANDOM"

scand_start
scand_mount "$MNT1" pc1
scand_put "$MNT1/one.txt" "$TEXT"
scand_snapshot pc1
SCANS=$(scand_stat scans)
HITS=$(scand_stat cache_hits)
scand_put "$MNT1/two.txt" "$TEXT"
scand_snapshot pc1
scand_kept pc1 one.txt && scand_kept pc1 two.txt ||
	t_fail "the clean files are not both kept"
[ "$(scand_stat cache_hits)" -gt "$HITS" ] ||
	t_fail "the second copy is not a cache hit: $("$BEEMO_SCAND" --status)"
[ "$(scand_stat scans)" = "$SCANS" ] ||
	t_fail "the second copy was scanned again: $("$BEEMO_SCAND" --status)"

# Infected content, twice: the second refusal comes from the cache.
scand_put "$MNT1/bad1.com" "$T_EICAR"
scand_snapshot pc1
HITS=$(scand_stat cache_hits)
SCANS=$(scand_stat scans)
scand_put "$MNT1/bad2.com" "$T_EICAR"
scand_snapshot pc1
! scand_kept pc1 bad1.com && ! scand_kept pc1 bad2.com ||
	t_fail "infected content was kept"
scand_journal_virus pc1 bad2.com || t_fail "bad2.com not journaled"
[ "$(scand_stat cache_hits)" -gt "$HITS" ] && [ "$(scand_stat scans)" = "$SCANS" ] ||
	t_fail "the second infected copy was not a cache hit: $("$BEEMO_SCAND" --status)"

# A reload: a new version, nothing cached is used any more.
V1=$(scand_stat version)
kill -HUP "$SCAND_PID"
t_wait_for 20 eval '[ "$(scand_stat version)" != "$V1" ]' ||
	t_fail "no reload after SIGHUP"
[ "$(scand_stat cache_entries)" = 0 ] ||
	t_fail "entries of the old signatures are kept: $(scand_stat cache_entries)"
SCANS=$(scand_stat scans)
scand_put "$MNT1/three.txt" "$TEXT"
scand_put "$MNT1/bad3.com" "$T_EICAR"
scand_snapshot pc1
[ "$(scand_stat scans)" -ge $((SCANS + 2)) ] ||
	t_fail "after a reload, known content was not scanned again:" \
		"$("$BEEMO_SCAND" --status)"
scand_kept pc1 three.txt || t_fail "three.txt not kept"
! scand_kept pc1 bad3.com || t_fail "bad3.com kept"
# beemoctl status shows the service, its clients and its cache.
"$BEEMOCTL" status >"$T/status.out" 2>&1 || true
grep -Eq "^  scanner     $SCAND_SOCK: engine loaded, [0-9]+ signatures .*, 1 client, .*cache [1-9][0-9]* hits" \
	"$T/status.out" || t_fail "beemoctl status: $(grep -A1 antivirus "$T/status.out")"
"$BEEMOCTL" status --json >"$T/status.json" 2>/dev/null || true
python3 - "$T/status.json" <<'PY' || t_fail "beemoctl status --json: $(cat "$T/status.json")"
import json, sys
a = json.load(open(sys.argv[1]))
a = a.get("appliance", a)
assert a["scan_service_up"] is True and a["scan_cache_hits"] > 0, a
assert a["scan_service_clients"] == 1 and a["scan_service_rss"] > 0, a
PY
t_umount "$MNT1"
scand_stop
"$BEEMOCTL" status >"$T/status.out" 2>&1 || true
grep -q "^  scanner     $SCAND_SOCK: NOT RUNNING (sessions cannot start" \
	"$T/status.out" || t_fail "beemoctl status, service stopped: $(cat "$T/status.out")"
grep -Eq "stopping: [0-9]+ files scanned, cache [1-9][0-9]* hits, [0-9]+ misses" \
	"$T/scand.log" || t_fail "no counters at exit: $(tail -3 "$T/scand.log")"
t_log "PASS"
