#!/bin/bash
# sync_trust.sh -- nothing is taken back from a center unless it proves it
# came from this appliance, and the newest state is the newest push.  A
# hostile center (sync_forge.py: only what the center holds) forges a new
# key generation of pc1, a configuration that turns the scanner off and
# runs its own mail command, an admin.key with its own scrypt parameters
# (and BEEMO_AES in the old format), and a version 1 manifest: recover
# names and refuses each and recovers the authentic state.  Two pushes
# named in the same second in the wrong order: the later (a user
# removed) is recovered, by its push number.  --at picks the older one.
# A center serving an old state, or a forged newest manifest, fails
# verify.  A wrong password opens nothing.  Keys that predate the
# off-site key cannot push.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd_lib.sh"

sshd_require
python3 -c 'import cryptography' 2>/dev/null ||
	t_skip "no python3 cryptography module (python3-cryptography)"
FORGE="$(cd "$(dirname "$0")" && pwd)/sync_forge.py"
sshd_start a
sync_config a
t_appliance
t_pw "$T/bob.pw" bob-pw
"$BEEMOCTL" user add pc1 bob --password-file "$T/admin.pw" \
	--user-password-file "$T/bob.pw" >/dev/null || t_fail "user add bob"
sync_fake_packs pc9 3 200000
R="$T/center_a/beemo"

kcv() { # STORE PRINCIPAL-OPTIONS...
	local s=$1
	shift
	"$BEEMOCTL" -s "$s" key unlock pc1 "$@" 2>>"$T/kcv.err"
}
# recover_to NAME [OPTIONS...]: recover into the new directory $T/NAME.
recover_to() {
	local n=$1
	shift
	rm -rf "${T:?}/$n"
	sync_run "$n" recover --target a --store "$T/$n" \
		--password-file "$T/admin.pw" "$@"
}
# json FILE EXPR: a value of the JSON manifest FILE (python expression
# on m).
json() { python3 -c "import json,sys; m=json.load(open(sys.argv[1])); print($2)" "$1"; }

# Push 1 with users alice and bob; push 2 after bob's removal.
sync_run push1 push || t_fail "push 1: $(cat "$T/push1.err")"
m1=$(cd "$R/manifests" && ls)
[ "$(json "$R/manifests/$m1" 'm["counter"], m["version"]')" = "1 2" ] ||
	t_fail "first manifest: $(head -c 300 "$R/manifests/$m1")"
key1=$(json "$R/manifests/$m1" '[o["path"] for o in m["objects"] if o["path"].startswith("keys/machines/pc1")][0]')
sleep 1.1 # --at below tells the two pushes apart by their time
"$BEEMOCTL" user remove pc1 bob --password-file "$T/admin.pw" >/dev/null ||
	t_fail "user remove bob"
sync_run push2 push || t_fail "push 2: $(cat "$T/push2.err")"
m2=$(cd "$R/manifests" && ls | grep -v "$m1")
[ "$(json "$R/manifests/$m2" 'm["counter"]')" = 2 ] || t_fail "second counter"
[ "$(cat "$T/store/sync/counter")" = 2 ] || t_fail "local counter"
json "$R/manifests/$m2" 'm["superseded"]' | grep -qF "'$key1'" ||
	t_fail "pc1's old key file is not listed as superseded"
kcv "$T/store" --admin --password-file "$T/admin.pw" >"$T/kcv_admin"
kcv "$T/store" --poste-key "$T/pc1.poste" >"$T/kcv_poste"
[ -s "$T/kcv_admin" ] && [ -s "$T/kcv_poste" ] || t_fail "no key check values"
sync_run verify0 verify || t_fail "verify: $(cat "$T/verify0.err")"

# Two pushes "in the same second", the later with the smaller suffix.
sec=${m1:0:16}
mv "$R/manifests/$m1" "$R/manifests/$sec-ffffffff.json"
mv "$R/manifests/$m2" "$R/manifests/$sec-00000000.json"
recover_to order || t_fail "recover: $(cat "$T/order.err")"
grep -Eq "recovering the state pushed .* (UTC|[+-][0-9]{4}) \(push 2\)" "$T/order.out" ||
	t_fail "not push 2: $(cat "$T/order.out")"
kcv "$T/order" --user bob --password-file "$T/bob.pw" >/dev/null &&
	t_fail "the removed user bob came back with an older state"
kcv "$T/order" --admin --password-file "$T/admin.pw" | cmp -s - "$T/kcv_admin" ||
	t_fail "the recovered keys differ"
[ "$(cat "$T/order/sync/counter")" = 2 ] || t_fail "recovered counter"
mv "$R/manifests/$sec-ffffffff.json" "$R/manifests/$m1"
mv "$R/manifests/$sec-00000000.json" "$R/manifests/$m2"

# --at: the newest authentic state not after a time between the pushes.
at=$(json "$R/manifests/$m1" '__import__("time").strftime("%Y-%m-%dT%H:%M:%SZ", __import__("time").gmtime(m["created_ns"] // 10**9 + 1))')
recover_to at --at "$at" || t_fail "recover --at: $(cat "$T/at.err")"
grep -q "(push 1)" "$T/at.out" || t_fail "--at: $(cat "$T/at.out")"
kcv "$T/at" --user bob --password-file "$T/bob.pw" >/dev/null ||
	t_fail "--at $at did not bring back the state with bob"

t_expect_log "warning: manifest manifests/29991231T235959Z-[0-9a-f]{8}\.json at center a is not authentic \(wrong mac\): ignored"
t_expect_log "error: target a: its newest manifest manifests/29991231T235959Z-[0-9a-f]{8}\.json is not authentic \(wrong mac\)"
t_expect_log "error: verify failed for target: a"

# A new generation of pc1's SECRET, chosen by the center, wrapped for
# every public key.
fm=$(python3 "$FORGE" "$R" generation "$(printf '%064x' 7)") ||
	t_fail "forging a generation"
sync_run verify1 verify && t_fail "verify accepted a forged newest manifest"
recover_to gen || t_fail "recover with a forged generation: $(cat "$T/gen.err")"
grep -q "manifest $fm at center a is not authentic" "$T/gen.err" ||
	t_fail "forged generation not named: $(cat "$T/gen.err")"
grep -q "(push 2)" "$T/gen.out" || t_fail "$(cat "$T/gen.out")"
kcv "$T/gen" --admin --password-file "$T/admin.pw" | cmp -s - "$T/kcv_admin" ||
	t_fail "key unlock shows another generation: $(kcv "$T/gen" --admin --password-file "$T/admin.pw")"
rm "$R/$fm"

# A configuration sealed with ADMIN_PUB: no scanning, its own command.
{ cat "$BEEMO_CONFIG"; printf '[scan]\nenabled = no\n[mail]\ncommand = /tmp/evil\n'; } >"$T/evil.conf"
fm=$(python3 "$FORGE" "$R" config "$T/evil.conf") || t_fail "forging a config"
recover_to conf || t_fail "recover with a forged configuration: $(cat "$T/conf.err")"
grep -q "manifest $fm at center a is not authentic" "$T/conf.err" ||
	t_fail "forged configuration not named: $(cat "$T/conf.err")"
cmp -s "$BEEMO_CONFIG" "$T/conf/beemo.conf.recovered" ||
	t_fail "the recovered configuration is not the appliance's"
rm "$R/$fm"

# admin.key with the center's scrypt parameters (and BEEMO_AES wrap).
fm=$(python3 "$FORGE" "$R" admin-key) || t_fail "forging admin.key"
recover_to adm || t_fail "recover with a forged admin.key: $(cat "$T/adm.err")"
grep -q "manifest $fm at center a is not authentic" "$T/adm.err" ||
	t_fail "forged admin.key not named: $(cat "$T/adm.err")"
cmp -s "$T/store/keys/admin.key" "$T/adm/keys/admin.key" ||
	t_fail "the recovered admin.key is not the appliance's"
kcv "$T/adm" --poste-key "$T/pc1.poste" | cmp -s - "$T/kcv_poste" ||
	t_fail "the POSTE key file no longer works after recovery"
rm "$R/$fm"

# A version 1 manifest (no mac) comes after every authentic one, and
# alone it is not taken without --accept-unauthenticated.
t_expect_log "warning: manifest manifests/29991231T235959Z-[0-9a-f]{8}\.json at center a is of version 1, which nothing authenticates: ignored"
t_expect_log "warning: target a: manifests/29991231T235959Z-[0-9a-f]{8}\.json is of version 1: nothing proves that this appliance wrote it"
t_expect_log "error: target a: 1 manifest is of version 1, which nothing authenticates"
t_expect_log "error: target a: no complete manifest found that this appliance authenticated"
fm=$(python3 "$FORGE" "$R" downgrade) || t_fail "forging a version 1 manifest"
recover_to v1 || t_fail "recover with a version 1 manifest: $(cat "$T/v1.err")"
grep -q "(push 2)" "$T/v1.out" || t_fail "$(cat "$T/v1.out")"
mkdir "$T/hidden"
mv "$R/manifests/$m1" "$R/manifests/$m2" "$T/hidden/"
recover_to v1a && t_fail "recover took a version 1 manifest by default"
grep -q "manifest $fm at center a is of version 1" "$T/v1a.err" ||
	t_fail "version 1 manifest not named: $(cat "$T/v1a.err")"
grep -q -- "--accept-unauthenticated takes them" "$T/v1a.err" ||
	t_fail "no hint: $(cat "$T/v1a.err")"
[ ! -e "$T/v1a/keys" ] || t_fail "keys written from a version 1 manifest"
recover_to v1b --accept-unauthenticated ||
	t_fail "recover --accept-unauthenticated: $(cat "$T/v1b.err")"
grep -q "UNAUTHENTICATED" "$T/v1b.out" || t_fail "$(cat "$T/v1b.out")"
mv "$T/hidden/"* "$R/manifests/"
rm "$R/$fm"

# A wrong password opens no admin.key: nothing is recovered.
t_expect_log "warning: manifest manifests/.* at center a is not authentic \(its admin.key does not open with this password\): ignored"
t_expect_log "error: target a: the administrator password opens none of its admin.key files"
t_expect_log "error: target a: no complete manifest found that this appliance authenticated"
t_pw "$T/wrong.pw" not-the-password
rm -rf "$T/wrong"
sync_run wrong recover --target a --store "$T/wrong" \
	--password-file "$T/wrong.pw" && t_fail "recover with a wrong password"
grep -q "opens none of its admin.key files" "$T/wrong.err" ||
	t_fail "$(cat "$T/wrong.err")"
[ ! -e "$T/wrong/keys" ] || t_fail "keys written with a wrong password"

# The center serves an old state: its newest manifest is gone.
t_expect_log "error: center a serves an old state: push 1 of [0-9-]+ [0-9:]+ (UTC|[+-][0-9]{4}), but push 2 was made to it on [0-9-]+ [0-9:]+ (UTC|[+-][0-9]{4})"
t_expect_log "error: target a: the manifest manifests/$m2 is missing"
mv "$R/manifests/$m2" "$T/m2.json"
sync_run stale verify && t_fail "verify missed a center serving an old state"
grep -q "center a serves an old state: push 1 of .*, but push 2 was made" \
	"$T/stale.err" || t_fail "$(cat "$T/stale.err")"
mv "$T/m2.json" "$R/manifests/$m2"
sync_run verify2 verify || t_fail "verify: $(cat "$T/verify2.err")"

# After `admin passwd` (a new off-site key), the manifest pushed last
# still verifies (it is this appliance's own, byte for byte); the next
# push is authenticated under the new key, and the old password
# authenticates only the states pushed before the change.
t_pw "$T/admin2.pw" admin-pw-2
"$BEEMOCTL" admin passwd --password-file "$T/admin.pw" \
	--new-password-file "$T/admin2.pw" >/dev/null || t_fail "admin passwd"
sync_run verify3 verify || t_fail "verify after admin passwd: $(cat "$T/verify3.err")"
sync_run push3 push || t_fail "push 3: $(cat "$T/push3.err")"
sync_run verify4 verify || t_fail "verify after push 3: $(cat "$T/verify4.err")"
rm -rf "$T/new3"
sync_run new3 recover --target a --store "$T/new3" \
	--password-file "$T/admin2.pw" || t_fail "recover: $(cat "$T/new3.err")"
grep -q "(push 3)" "$T/new3.out" || t_fail "$(cat "$T/new3.out")"
recover_to old3 || t_fail "recover with the old password: $(cat "$T/old3.err")"
grep -q "(push 2)" "$T/old3.out" || t_fail "the old password: $(cat "$T/old3.out")"

# An `admin passwd` left unfinished (admin.key.new beside admin.key):
# the key files are no consistent set, and push refuses to copy them.
cp "$T/store/keys/admin.key" "$T/store/keys/admin.key.new"
t_expect_log "error: not pushing the keys: .*"
sync_run midway push && t_fail "push with an unfinished admin passwd"
grep -q "not pushing the keys" "$T/midway.err" || t_fail "$(cat "$T/midway.err")"
rm "$T/store/keys/admin.key.new"

# Keys that predate the off-site key cannot push; the error says how.
t_expect_log "error: .*: no off-site key: the keys predate it; run 'beemoctl admin passwd' once"
t_expect_log "error: .*: no off-site key"
F="$(cd "$(dirname "$0")/../fixtures/v1" && pwd)"
if [ -f "$F/store/keys/appliance.key" ]; then
	cp -r "$F/store" "$T/old"
	chmod -R go-rwx "$T/old"
	sync_run old --store "$T/old" push && t_fail "push without an off-site key"
	grep -q "beemoctl admin passwd" "$T/old.err" || t_fail "$(cat "$T/old.err")"
fi
t_log "ok"
