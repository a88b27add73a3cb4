#!/bin/bash
# sync_push.sh -- push to a real sshd, then verify; a second push sends
# nothing; only what the layout allows reaches the center (no device
# secret, no index, no open pack, no plaintext configuration); status.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd_lib.sh"

sshd_require
sshd_start a
sync_config a
echo "# MARKER-conf-7f3a9 in the configuration" >>"$BEEMO_CONFIG"
t_appliance
sync_fake_packs pc1 20 300000
sync_fake_packs pc2 5 2000000
# Things that must never leave the appliance.
mkdir -p "$T/store/machines/pc1/index"
echo MARKER-index-5c1d >"$T/store/machines/pc1/index/data.mdb"
mkdir -p "$T/store/machines/pc1/packs/00"
echo MARKER-open-91e0 >"$T/store/machines/pc1/packs/00/0123456789abcd00.pack.open"

# --dry-run connects and compares, and changes nothing anywhere (but the
# lock it takes and the sealed copy of the configuration it compares).
changed() {
	find "$T/store" -newer "$BEEMO_CONFIG" -type f \
		! -path "$T/store/sync/lock" ! -path "$T/store/sync/config.sealed" |
		sort | xargs -r md5sum
}
state0=$(changed)
sync_run dry1 push --dry-run || t_fail "push --dry-run: $(cat "$T/dry1.err")"
grep -q "^a: would send 3[0-9] objects (.*) and a manifest; 0 objects" \
	"$T/dry1.out" || t_fail "dry run: $(cat "$T/dry1.out")"
[ "$(sync_remote_files a | wc -l)" = 0 ] ||
	t_fail "push --dry-run uploaded: $(sync_remote_files a)"
[ "$(changed)" = "$state0" ] ||
	t_fail "push --dry-run changed the appliance's files: $(diff <(echo "$state0") <(changed))"

sync_run push1 push || t_fail "first push failed: $(cat "$T/push1.err")"
grep -q "^a: sent 3[0-9] objects" "$T/push1.out" ||
	t_fail "unexpected summary: $(cat "$T/push1.out")"
R="$T/center_a/beemo"
[ "$(find "$R/machines" -name '*.pack' | wc -l)" = 25 ] ||
	t_fail "expected 25 packs on the center"
for f in "$T"/store/machines/*/packs/*/*.pack; do
	rel=${f#"$T/store/"}
	cmp -s "$f" "$R/$rel" || t_fail "remote copy of $rel differs"
done
ls "$R"/keys/admin.key.* "$R"/keys/machines/pc1.key.* \
	"$R"/machines/pc1/store.id.* "$R"/config/beemo.conf.*.sealed \
	"$R"/status/*.json "$R"/manifests/*.json >/dev/null ||
	t_fail "layout incomplete: $(cd "$R" && find . -type f | head)"
# Secrets and local-only files stay home.
for f in $(sync_remote_files a); do
	cmp -s "$f" "$T/store/keys/appliance.key" &&
		t_fail "appliance.key was pushed as $f"
done
if grep -rl -e MARKER- "$T/center_a" >/dev/null; then
	t_fail "marker found on the center: $(grep -rl MARKER- "$T/center_a")"
fi
find "$R" -name '*.open' -o -name 'index' -o -name '.tmp-*' | grep . &&
	t_fail "open pack, index or temporary on the center"
# The manifest lists every object with its SHA-256.
man=$(ls "$R"/manifests/*.json)
grep -q '"format":"beemo-sync-manifest"' "$man" ||
	t_fail "manifest format"
for f in $(cd "$R" && find . -type f ! -path './manifests/*' | cut -c3-); do
	sha=$(sha256sum "$R/$f" | cut -d' ' -f1)
	grep -q "\"path\":\"$f\",\"size\":[0-9]*,\"sha256\":\"$sha\"" "$man" ||
		t_fail "$f not in the manifest with its hash"
done

sync_run verify1 verify || t_fail "verify failed: $(cat "$T/verify1.err")"
sync_run verify2 verify --read-data ||
	t_fail "verify --read-data failed: $(cat "$T/verify2.err")"
grep -q "0 missing or of wrong size, 0 damaged" "$T/verify2.out" ||
	t_fail "verify output: $(cat "$T/verify2.out")"

# A second push has nothing to send, not even a manifest.
before=$(sync_remote_files a | wc -l)
sync_run push2 push || t_fail "second push failed"
grep -q "^a: up to date" "$T/push2.out" ||
	t_fail "second push: $(cat "$T/push2.out")"
[ "$(sync_remote_files a | wc -l)" = "$before" ] ||
	t_fail "second push uploaded something"

# One new pack: exactly it, a status file and a manifest go up.
sync_fake_packs pc1 1 100000
sync_run dry3 push -n || t_fail "push -n"
grep -q "^a: would send 1 objects (.*) and a manifest; 3[0-9] objects" \
	"$T/dry3.out" || t_fail "dry run 3: $(cat "$T/dry3.out")"
sync_run push3 push || t_fail "third push failed"
grep -q "^a: sent 3 objects" "$T/push3.out" ||
	t_fail "third push: $(cat "$T/push3.out")"
[ "$(ls "$R"/manifests | wc -l)" = 2 ] || t_fail "expected 2 manifests"

# Status, for people and for the reports module.
sync_run status status || t_fail "status"
grep -q "last attempt: .*: ok" "$T/status.out" || t_fail "status output"
sync_run status_json status --json || t_fail "status --json"
grep -q '"name":"a"' "$T/status_json.out" &&
	grep -q '"result":"ok"' "$T/status_json.out" &&
	grep -q '"last_success":"20' "$T/status_json.out" ||
	t_fail "status --json: $(cat "$T/status_json.out")"
t_log "ok"
