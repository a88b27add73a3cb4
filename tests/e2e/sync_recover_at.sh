#!/bin/bash
# sync_recover_at.sh -- point-in-time recovery and the history of a
# target: two backups of different contents, a push after each; recover
# --at a time between the pushes gives the first state byte-exact
# (through a beemofs mount of the recovered store), the default recover
# gives the second; beemo-sync history lists both, authenticated and
# complete, with the --at that takes each; once an object of the older
# state is gone at the center, history says that state is incomplete and
# recover --at refuses it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd_lib.sh"
. "$(dirname "$0")/center_lib.sh"

sshd_require
[ -x "$BEEMOFS" ] || t_skip "beemofs is not built"
command -v fusermount3 >/dev/null || t_skip "no fusermount3"
A="$T/area_a"
center_area a
sshd_start a
mapfile -t tconf < <(sshd_target_conf a "$A/data")
t_config "[sync]" "timeout = 20s" "connections = 2" "${tconf[@]}"
t_appliance

# backup DIR: the files of DIR become pc1's current state.
backup() {
	t_mount "$T/mnt"
	rm -rf "$T/mnt"/*
	cp -a "$1/." "$T/mnt/"
	t_umount "$T/mnt"
}
mkdir -p "$T/v1/d" "$T/v2/d"
head -c 1500000 /dev/urandom >"$T/v1/big.bin"
printf 'first-%s\n' $(seq 1 3000) >"$T/v1/d/text"
printf 'only in the first\n' >"$T/v1/gone"
head -c 1500000 /dev/urandom >"$T/v2/big.bin"
printf 'second-%s\n' $(seq 1 3000) >"$T/v2/d/text"
printf 'only in the second\n' >"$T/v2/new"

backup "$T/v1"
sync_run push1 push || t_fail "push 1: $(cat "$T/push1.err")"
sleep 1.2
at=$(date -u +%Y-%m-%dT%H:%M:%SZ)
sleep 1.2
backup "$T/v2"
sync_run push2 push || t_fail "push 2: $(cat "$T/push2.err")"

# History: both states, newest first, authenticated and complete.
sync_run hist history --target a || t_fail "history: $(cat "$T/hist.err")"
grep -c "^  push " "$T/hist.out" | grep -qx 2 || t_fail "$(cat "$T/hist.out")"
grep "^  push " "$T/hist.out" | head -1 | grep -q "^  push 2 of .*authenticated: yes, complete$" ||
	t_fail "push 2: $(cat "$T/hist.out")"
grep "^  push " "$T/hist.out" | tail -1 | grep -q "^  push 1 of .*authenticated: yes, complete$" ||
	t_fail "push 1: $(cat "$T/hist.out")"
sync_run histj history --json || t_fail "history --json"
python3 - "$T/histj.out" <<'PY' || t_fail "history --json: $(cat "$T/histj.out")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["format"] == "beemo-sync-history" and d["version"] == 1, d
h = d["states"]
assert [s["push"] for s in h] == [2, 1], h
assert all(s["complete"] and s["authenticated"] and s["target"] == "a"
           for s in h), h
assert h[1]["recover"].startswith("beemo-sync recover --target a --at "), h
PY
# Without the appliance's keys (a lost appliance) nothing is checked.
mkdir -p "$T/nokeys"
sync_run hist0 --store "$T/nokeys" history --target a ||
	t_fail "history without keys: $(cat "$T/hist0.err")"
[ "$(grep -c "authenticated: not checked, complete$" "$T/hist0.out")" = 2 ] ||
	t_fail "history without keys: $(cat "$T/hist0.out")"
# The --at that history gives for push 1 takes push 1.
hat=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["states"][1]["recover"].split()[-1])' "$T/histj.out")

# mounted_cmp STORE DIR: pc1's current state in STORE is DIR, byte-exact.
mounted_cmp() {
	local m="$T/mnt_$(basename "$1")"
	mkdir -p "$m"
	"$BEEMOFS" "$1" "$m" -f -o "machine=pc1,keyfile=$T/pc1.poste" \
		>>"$T/beemofs.log" 2>&1 &
	T_MOUNT_PID[$m]=$!
	T_PIDS+=($!)
	T_MOUNTS+=("$m")
	t_wait_mounted "$m" || t_fail "beemofs does not mount $1"
	diff -r "$2" "$m" >"$T/diff.out" 2>&1 || {
		t_umount "$m"
		t_fail "$1 differs from $2: $(head -5 "$T/diff.out")"
	}
	for f in big.bin d/text; do
		cmp "$2/$f" "$m/$f" || t_fail "$f differs in $1"
	done
	t_umount "$m"
}

sync_run rec1 recover --target a --at "$at" --store "$T/new1" \
	--password-file "$T/admin.pw" || t_fail "recover --at: $(cat "$T/rec1.err")"
mounted_cmp "$T/new1" "$T/v1"
sync_run rec1h recover --target a --at "$hat" --store "$T/new1h" \
	--password-file "$T/admin.pw" || t_fail "recover --at $hat: $(cat "$T/rec1h.err")"
mounted_cmp "$T/new1h" "$T/v1"
sync_run rec2 recover --target a --store "$T/new2" \
	--password-file "$T/admin.pw" || t_fail "recover: $(cat "$T/rec2.err")"
mounted_cmp "$T/new2" "$T/v2"

# An object only the older state lists goes missing at the center.
m1=$(cd "$A/data" && ls manifests/*.json | head -1)
old=$(python3 - "$A/data/$m1" "$A/data" <<'PY'
import json, sys, glob, os
m1 = json.load(open(sys.argv[1]))
newer = [json.load(open(f)) for f in glob.glob(sys.argv[2] + "/manifests/*.json")]
newer = [m for m in newer if m["counter"] != m1["counter"]]
held = {o["path"] for m in newer for o in m["objects"]}
print(next(o["path"] for o in m1["objects"] if o["path"] not in held))
PY
)
[ -n "$old" ] || t_fail "no object only push 1 holds"
rm -f "$A/data/$old"
sync_run hist2 history --target a || t_fail "history: $(cat "$T/hist2.err")"
grep "^  push " "$T/hist2.out" | head -1 | grep -q "^  push 2 of .*, complete$" ||
	t_fail "push 2: $(cat "$T/hist2.out")"
grep "^  push " "$T/hist2.out" | tail -1 | grep -q "^  push 1 of .*, INCOMPLETE$" ||
	t_fail "push 1: $(cat "$T/hist2.out")"
grep -q "1 objects missing" "$T/hist2.out" || t_fail "$(cat "$T/hist2.out")"
# A malformed manifest is listed as unusable, with no recover command.
echo garbage >"$A/data/manifests/20991231T000000Z-00000000.json"
t_expect_log "manifests/20991231T000000Z-00000000.json is malformed"
sync_run hist3 history --target a || t_fail "history: $(cat "$T/hist3.err")"
grep -q "^  manifests/20991231T000000Z-00000000.json: unusable" "$T/hist3.out" ||
	t_fail "$(cat "$T/hist3.out")"
[ "$(grep -c "recover --target" "$T/hist3.out")" = 1 ] || t_fail "$(cat "$T/hist3.out")"
t_expect_log "lists 1 objects that are missing"
t_expect_log "no complete manifest found"
t_must_fail "recover --at an incomplete state" sync_run rec3 recover \
	--target a --at "$at" --store "$T/new3" --password-file "$T/admin.pw"
t_log "ok"
