#!/bin/bash
# sync_json.sh -- beemo-sync and beemo-center print one JSON object per
# kind with --json ("format" and "version" first), parsed by python3:
# push (and push --dry-run), verify, status, history, release, maintenance, recover (the
# global --json and the verb's own), center list, status, scrub and
# apply; and their text output shows times in the local zone with its
# offset (TZ=Europe/Paris: +0100 in December), in UTC with --utc, as
# beemoctl's does.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd_lib.sh"
. "$(dirname "$0")/center_lib.sh"

command -v python3 >/dev/null || t_skip "no python3"
[ -f /usr/share/zoneinfo/Europe/Paris ] || t_skip "no tzdata"
sshd_require
# The area lives under the center's root, so that list and status see it.
ROOT="$T/root"
mkdir -p "$ROOT/a/data" "$ROOT/a/state"
chmod 0700 "$ROOT/a" "$ROOT/a/state"
printf '%s\n' "[area]" "name = a" >"$ROOT/a/area.conf"
center_start a "$ROOT/a"
export BEEMO_CENTER_CONFIG="$T/center.conf"
printf '%s\n' "[center]" "root = $ROOT" >"$BEEMO_CENTER_CONFIG"
mapfile -t conf < <(center_target_conf a)
t_config "[sync]" "timeout = 20s" "connections = 2" "${conf[@]}"
t_appliance
# Packs of a machine without keys: recover copies them, rebuilds nothing.
sync_fake_packs pc9 3 100000
AP=(--password-file "$T/admin.pw")

# check FILE FORMAT PYTHON: FILE is one JSON object of FORMAT, version
# 1, its first two members "format" and "version"; PYTHON (with the
# object as d) asserts the rest.
check() {
	python3 - "$1" "$2" "$3" <<-'PY' || t_fail "$2: $(head -c 3000 "$1")"
	import json, sys
	text = open(sys.argv[1]).read()
	d = json.loads(text)
	assert isinstance(d, dict), d
	assert text.endswith("}\n") and not text.endswith("\n\n"), repr(text[-9:])
	assert list(d)[:2] == ["format", "version"], list(d)
	assert d["format"] == sys.argv[2] and d["version"] == 1, d
	exec(sys.argv[3])
	PY
}

# ---- beemo-sync -----------------------------------------------------------
# A dry run's stdout is its one object too, with what a push would send.
sync_run pushdry push --dry-run --json ||
	t_fail "push --dry-run --json: $(cat "$T/pushdry.err")"
check "$T/pushdry.out" beemo-sync-push '
assert d["dry_run"] is True and d["failed"] == 0, d
t = d["targets"]
assert [x["name"] for x in t] == ["a"] and t[0]["ok"], t
assert t[0]["objects_sent"] >= 3 and t[0]["bytes_sent"] > 300000, t'
sync_run push push --json || t_fail "push --json: $(cat "$T/push.err")"
check "$T/push.out" beemo-sync-push '
t = d["targets"]
assert [x["name"] for x in t] == ["a"] and t[0]["ok"], t
assert t[0]["result"] == "ok" and t[0]["objects_sent"] >= 3, t
assert t[0]["push"] == 1 and t[0]["last_success"].endswith("Z"), t
assert d["failed"] == 0 and d["dry_run"] is False, d'
sync_run push2 --json push || t_fail "--json push: $(cat "$T/push2.err")"
check "$T/push2.out" beemo-sync-push '
assert d["targets"][0]["objects_sent"] == 0, d'
sync_run verify verify --read-data --json || t_fail "verify --json"
check "$T/verify.out" beemo-sync-verify '
assert d["read_data"] is True and d["failed"] == 0, d
t = d["targets"][0]
assert t["name"] == "a" and t["ok"] and t["objects"] >= 3, t
assert t["missing"] == 0 and t["damaged"] == 0 and t["bytes"] > 300000, t'
sync_run status --json status || t_fail "--json status"
check "$T/status.out" beemo-sync-state '
assert d["targets"][0]["name"] == "a", d
assert d["targets"][0]["result"] == "ok", d'
sync_run history history --json || t_fail "history --json"
check "$T/history.out" beemo-sync-history '
s = d["states"]
assert [x["push"] for x in s] == [1], s  # push2 was up to date
assert all(x["target"] == "a" and x["complete"] for x in s), s'
sync_run release release --dry-run --json "${AP[@]}" ||
	t_fail "release --json: $(cat "$T/release.err")"
check "$T/release.out" beemo-sync-release '
assert d["dry_run"] is True and d["objects"] == 0, d'
sync_run maint maintenance --json ||
	t_fail "maintenance --json: $(cat "$T/maint.err")"
check "$T/maint.out" beemo-sync-maintenance '
assert d["result"] == "ok" and d["reports_only"] is False, d
assert d["reports"]["failed"] == 0 and "open_alerts" in d, d'
sync_run recover recover --target a --store "$T/new" --json "${AP[@]}" ||
	t_fail "recover --json: $(cat "$T/recover.err")"
check "$T/recover.out" beemo-sync-recover '
assert d["target"] == "a" and d["store"].endswith("/new"), d
assert d["authentic"] is True and d["push"] == 1, d
assert d["pushed"].endswith("Z") and d["manifest"].startswith("manifests/"), d'

# ---- beemo-center -----------------------------------------------------------
center_json() { # OUT ARGS...
	local out=$1
	shift
	"$BEEMO_CENTER" "$@" >"$T/$out.out" 2>>"$T/center.log" ||
		t_fail "beemo-center $*: $(tail -n 3 "$T/center.log")"
}
center_json clist list --json
check "$T/clist.out" beemo-center-list '
assert [a["name"] for a in d["areas"]] == ["a"], d
assert d["areas"][0]["pushes"]["count"] == 1, d'
center_json cstatus status a --json
check "$T/cstatus.out" beemo-center-status '
assert d["name"] == "a" and d["pushes"]["received"].endswith("Z"), d'
center_json cscrub scrub --json
check "$T/cscrub.out" beemo-center-scrub-run '
a = d["areas"]
assert [x["name"] for x in a] == ["a"] and a[0]["ok"], a
assert a[0]["objects"] >= 3 and a[0]["missing"] == 0, a'
center_json capply apply --dry-run --json
check "$T/capply.out" beemo-center-apply '
assert d["dry_run"] is True and d["refused"] == 0, d
assert d["now"].endswith("Z"), d'

# ---- times for people: the local zone, or UTC with --utc -----------------
# December in Paris is UTC+1; the test's store was made today.
if [ "$(TZ=Europe/Paris date +%z)" = +0100 ]; then
	zone='[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} \+0100'
else
	zone='[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} \+0200'
fi
utc='[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} UTC'
TZ=Europe/Paris "$BEEMO_SYNC" status >"$T/st_local.out" || t_fail "status"
grep -Eq "last success: $zone \(" "$T/st_local.out" ||
	t_fail "beemo-sync status, local: $(cat "$T/st_local.out")"
TZ=Europe/Paris "$BEEMO_SYNC" --utc status >"$T/st_utc.out" ||
	t_fail "status --utc"
grep -Eq "last success: $utc \(" "$T/st_utc.out" ||
	t_fail "beemo-sync --utc status: $(cat "$T/st_utc.out")"
TZ=Europe/Paris "$BEEMOCTL" key show pc1 >"$T/key_local.out" ||
	t_fail "key show"
grep -Eq "^created +$zone$" "$T/key_local.out" ||
	t_fail "beemoctl key show, local: $(cat "$T/key_local.out")"
TZ=Europe/Paris "$BEEMOCTL" --utc key show pc1 \
	>"$T/key_utc.out" || t_fail "--utc key show"
grep -Eq "^created +$utc$" "$T/key_utc.out" ||
	t_fail "beemoctl --utc key show: $(cat "$T/key_utc.out")"
# After the verb too, as restic's and borg's users type it.
TZ=Europe/Paris "$BEEMOCTL" key show pc1 --utc \
	>"$T/key_utc2.out" || t_fail "key show --utc"
grep -Eq "^created +$utc$" "$T/key_utc2.out" ||
	t_fail "beemoctl key show --utc: $(cat "$T/key_utc2.out")"
TZ=Europe/Paris "$BEEMO_CENTER" list >"$T/cl_local.out" || t_fail "list"
grep -Eq "^a .* $zone " "$T/cl_local.out" ||
	t_fail "beemo-center list, local: $(cat "$T/cl_local.out")"
TZ=Europe/Paris "$BEEMO_CENTER" --utc list >"$T/cl_utc.out" ||
	t_fail "--utc list"
grep -Eq "^a .* $utc " "$T/cl_utc.out" ||
	t_fail "beemo-center --utc list: $(cat "$T/cl_utc.out")"
# JSON keeps UTC whatever the zone.
TZ=Europe/Paris "$BEEMO_SYNC" status --json >"$T/st_json.out" ||
	t_fail "status --json"
grep -q '"last_success":"[0-9-]*T[0-9:]*Z"' "$T/st_json.out" ||
	t_fail "status --json under TZ: $(cat "$T/st_json.out")"
t_log "ok"
