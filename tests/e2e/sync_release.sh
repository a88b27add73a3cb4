#!/bin/bash
# sync_release.sh -- off-site deletion requests: `beemo-sync release`
# signs, per target, a request for what the centers hold and the
# appliance no longer needs -- a superseded key file, the objects of a
# machine once it is freed (never during its grace period) -- naming
# each with the SHA-256 it was pushed with; a dry run signs nothing; a
# wrong password signs nothing; push uploads the requests as new
# objects listed in the manifest and deletes nothing remote.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd_lib.sh"

command -v python3 >/dev/null || t_skip "no python3"
sshd_require
sshd_start a
sync_config a
echo "[store]" >>"$BEEMO_CONFIG"
echo "remove_grace = 7d" >>"$BEEMO_CONFIG"
t_appliance
AP=(--password-file "$T/admin.pw")
"$BEEMOCTL" machine add pc2 --user bob "${AP[@]}" \
	--user-password-file "$T/alice.pw" --poste-key "$T/pc2.poste" \
	>/dev/null || t_fail "machine add pc2"
sync_fake_packs pc1 3 100000
sync_fake_packs pc2 3 100000
R="$T/center_a/beemo"
sync_run push1 push || t_fail "push 1: $(cat "$T/push1.err")"
sync_remote_files a >"$T/files1"
(cd "$R" && { find machines/pc2 -type f; ls keys/machines/pc2.key.*; } |
	sort) >"$T/pc2.objs"
[ "$(wc -l <"$T/pc2.objs")" = 5 ] || t_fail "pc2 on a: $(cat "$T/pc2.objs")"
old_key=$(cd "$R" && ls keys/machines/pc1.key.*)

# pc2 removed (grace period running), pc1's key file replaced.
"$BEEMOCTL" machine remove pc2 --yes "${AP[@]}" >/dev/null ||
	t_fail "remove pc2"
"$BEEMOCTL" key rotate pc1 "${AP[@]}" >/dev/null || t_fail "key rotate"
sync_run push2 push || t_fail "push 2: $(cat "$T/push2.err")"

# A wrong password signs nothing.
t_pw "$T/wrong.pw" wrong
t_expect_log 'error: wrong administrator password'
sync_run rw release --yes --password-file "$T/wrong.pw" &&
	t_fail "release with a wrong password"
[ ! -d "$T/store/sync/requests/a" ] || t_fail "a request without password"
# No terminal and no --yes: refused before the password, exit 2.
rc=0
sync_run ny release "${AP[@]}" </dev/null || rc=$?
[ "$rc" = 2 ] || t_fail "release without --yes: exit $rc, not 2"
grep -q "add --yes to do this without a terminal" "$T/ny.err" ||
	t_fail "release without --yes: $(cat "$T/ny.err")"
[ ! -d "$T/store/sync/requests/a" ] || t_fail "a request without --yes"

# Within the grace, only the superseded key file.
sync_run r1 release --yes "${AP[@]}" || t_fail "release 1: $(cat "$T/r1.err")"
grep -q "^a: request superseded: 1 objects no longer needed, signed" \
	"$T/r1.out" || t_fail "r1: $(cat "$T/r1.out")"
grep -q "machine-remove" "$T/r1.out" && t_fail "pc2 released in its grace"
[ "$(ls "$T/store/sync/requests/a" | wc -l)" = 1 ] ||
	t_fail "requests: $(ls "$T/store/sync/requests/a")"

# After the grace period: pc2's objects, once.
sed -i 's/^remove_grace = .*/remove_grace = 0s/' "$BEEMO_CONFIG"
sync_run m maintenance || t_fail "maintenance: $(cat "$T/m.err")"
grep -q "1 removed machine freed" "$T/m.out" || t_fail "m: $(cat "$T/m.out")"
sync_run push3 push || t_fail "push 3: $(cat "$T/push3.err")"
# What the centers hold beyond the manifest: pc2's 5 objects and the
# old sealed configuration (the old key file is requested already).
"$BEEMOCTL" status >"$T/st.out" || t_fail "status"
grep -q "^  *6 remote objects await release" "$T/st.out" ||
	t_fail "status: $(cat "$T/st.out")"
sync_run dry release --dry-run --json "${AP[@]}" ||
	t_fail "dry run: $(cat "$T/dry.err")"
[ "$(ls "$T/store/sync/requests/a" | wc -l)" = 1 ] ||
	t_fail "the dry run signed a request"
python3 - "$T/dry.out" "$T/pc2.objs" <<-'PY' || t_fail "dry run: $(cat "$T/dry.out")"
	import json, sys
	d = json.load(open(sys.argv[1]))
	want = sorted(open(sys.argv[2]).read().split())
	reqs = {r["reason"]: r["objects"] for r in d["targets"][0]["requests"]}
	assert d["dry_run"], d
	assert sorted(reqs["machine-remove"]) == want, (reqs, want)
	# The configuration changed (remove_grace): its old sealed copy.
	assert len(reqs["superseded"]) == 1, reqs
	assert reqs["superseded"][0].startswith("config/"), reqs
PY
old_conf=$(python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))["targets"][0]["requests"]
print([r for r in d if r["reason"] == "superseded"][0]["objects"][0])' \
	"$T/dry.out")
sync_run r2 release --yes "${AP[@]}" || t_fail "release 2: $(cat "$T/r2.err")"
grep -q "^a: request machine-remove: 5 objects" "$T/r2.out" ||
	t_fail "r2: $(cat "$T/r2.out")"
sync_run r3 release --yes "${AP[@]}" || t_fail "release 3"
sync_run st2 status || t_fail "beemo-sync status"
grep -q "await release" "$T/st2.out" && t_fail "st2: $(cat "$T/st2.out")"
grep -q "^nothing to release" "$T/r3.out" || t_fail "r3: $(cat "$T/r3.out")"

# The push sends the new request and nothing else but the status file
# and the manifest; every object pushed before is still there.
sync_remote_files a >"$T/files3"
sync_run push4 push || t_fail "push 4: $(cat "$T/push4.err")"
sync_remote_files a >"$T/files4"
comm -13 "$T/files3" "$T/files4" | sed "s|^$R/||" >"$T/new"
[ "$(grep -c '^requests/' "$T/new")" = 2 ] &&
	[ "$(grep -vc -e '^requests/' -e '^status/' -e '^manifests/' \
	"$T/new")" = 0 ] || t_fail "push 4 sent: $(cat "$T/new")"
[ -z "$(comm -23 "$T/files1" "$T/files4")" ] ||
	t_fail "remote objects disappeared: $(comm -23 "$T/files1" "$T/files4")"

# The requests on the center: signed, the objects with the SHA-256 they
# were pushed with, listed by the last manifest.
python3 - "$R" "$old_key" "$T/pc2.objs" "$old_conf" <<-'PY' || t_fail "requests on the center"
	import glob, hashlib, json, os, sys
	root, old_key = sys.argv[1], sys.argv[2]
	pc2 = sorted(open(sys.argv[3]).read().split())
	reqs = sorted(glob.glob(os.path.join(root, "requests", "*.req")))
	assert len(reqs) == 3, reqs
	man = max(glob.glob(os.path.join(root, "manifests", "*.json")),
	          key=lambda p: json.load(open(p))["counter"])
	listed = {o["path"] for o in json.load(open(man))["objects"]}
	got = {}
	for p in reqs:
	    assert os.path.relpath(p, root) in listed, p
	    r = json.load(open(p))
	    assert r["format"] == "beemo-delete-request" and r["version"] == 1
	    assert r["target"] == "a" and len(r["signature"]) == 768
	    got.setdefault(r["reason"], []).extend(o["path"] for o in r["objects"])
	    for o in r["objects"]:
	        assert o["path"] not in listed, o
	        h = hashlib.sha256(open(os.path.join(root, o["path"]), "rb").read())
	        assert h.hexdigest() == o["sha256"], o
	got = {k: sorted(v) for k, v in got.items()}
	assert got == {"superseded": sorted([old_key, sys.argv[4]]),
	               "machine-remove": pc2}, got
PY
sync_run v verify --read-data || t_fail "verify: $(cat "$T/v.err")"
exit 0
