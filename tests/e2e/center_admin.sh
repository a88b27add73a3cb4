#!/bin/bash
# center_admin.sh -- beemo-center add, list, status and remove: add
# makes the area's layout and the forced-command line of the appliance's
# key, refuses a bad name, an existing area and a file that is not a
# public key; list and status show usage, the last push, a pending
# deletion request and a scrub result; remove needs a confirmation,
# takes the key's line out and keeps every byte of data.
. "$(dirname "$0")/lib.sh"
BEEMO_CENTER=$BEEMO_BUILD/sync/beemo-center

command -v ssh-keygen >/dev/null || t_skip "no ssh-keygen"
ROOT=$T/centers
AK=$T/authorized_keys
export BEEMO_CENTER_CONFIG=$T/center.conf
printf '%s\n' "[center]" "root = $ROOT" "grace = 7d" >"$BEEMO_CENTER_CONFIG"
ssh-keygen -q -t ed25519 -N '' -C pc-a -f "$T/a_key" || t_fail "ssh-keygen"
ssh-keygen -q -t ed25519 -N '' -C pc-b -f "$T/b_key" || t_fail "ssh-keygen"
me=$(id -un)
# An unrelated key already there must survive add and remove.
echo "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOther other@host" >"$AK"
chmod 0600 "$AK"

center() { "$BEEMO_CENTER" "$@"; }
add() {
	center add "$1" --key "$2" --user "$me" --authorized-keys "$AK" \
		"${@:3}"
}

# ---- add -----------------------------------------------------------------
add alpha "$T/a_key.pub" --quota 10M --grace 3d --mail-to ops@example.org \
	>"$T/add.out" || t_fail "add alpha"
A=$ROOT/alpha
for d in "$A" "$A/data" "$A/state"; do
	[ -d "$d" ] || t_fail "$d not created"
	[ "$(stat -c %a "$d")" = 700 ] || t_fail "$d is not 0700"
	[ "$(stat -c %U "$d")" = "$me" ] || t_fail "$d not owned by $me"
done
grep -qx "name = alpha" "$A/area.conf" || t_fail "area.conf: name"
grep -qx "quota = 10M" "$A/area.conf" || t_fail "area.conf: quota"
grep -qx "grace = 259200" "$A/area.conf" || t_fail "area.conf: grace"
grep -qx "mail_to = ops@example.org" "$A/area.conf" || t_fail "mail_to"
want="command=\"$BEEMO_CENTER serve --area $A\",restrict $(cut -d' ' -f1,2 \
	"$T/a_key.pub") beemo-center:alpha"
grep -qxF "$want" "$AK" || t_fail "no forced-command line in $AK: $(cat "$AK")"
grep -q "^ssh-ed25519 .*other@host" "$AK" || t_fail "other key lost"
[ "$(stat -c %a "$AK")" = 600 ] || t_fail "$AK is not 0600"

# A new authorized_keys is created 0600.
add beta "$T/b_key.pub" --authorized-keys "$T/ak_new" >/dev/null ||
	t_fail "add beta"
[ "$(stat -c %a "$T/ak_new")" = 600 ] || t_fail "new authorized_keys mode"
grep -q "serve --area $ROOT/beta\"" "$T/ak_new" || t_fail "beta's line"

# Refusals: nothing is made, nothing is appended.
lines=$(wc -l <"$AK")
for bad in "Alpha" "a_b" "-x" "a/b" "../x" \
	"$(printf 'x%.0s' $(seq 1 65))" ""; do
	t_must_fail "name '$bad'" add "$bad" "$T/a_key.pub"
	grep -q "bad area name\|NAME" "$T/must_fail.out" ||
		t_fail "bad name '$bad': $(cat "$T/must_fail.out")"
done
t_must_fail "existing area" add alpha "$T/b_key.pub"
grep -q "exists already" "$T/must_fail.out" || t_fail "existing: message"
t_must_fail "private key" add gamma "$T/a_key"
grep -q "not a public key" "$T/must_fail.out" || t_fail "private: message"
echo "ssh-ed25519 bm90IGEga2V5IGF0IGFsbA== x" >"$T/fake.pub"
t_must_fail "garbage key" add gamma "$T/fake.pub"
echo 'command="/bin/sh" ssh-ed25519 AAAA' >"$T/opts.pub"
t_must_fail "key with options" add gamma "$T/opts.pub"
t_must_fail "unsafe area path" add gamma "$T/a_key.pub" \
	--area "$T/with space"
t_must_fail "unknown user" center add gamma --key "$T/a_key.pub" \
	--user no-such-user-beemo --authorized-keys "$AK"
# --create-user runs useradd for a system account "beemo-NAME" whose home
# is the area (a stand-in useradd records its arguments and fails, as it
# does when the account exists: nothing is made).
mkdir -p "$T/bin"
printf '#!/bin/sh\necho "$@" >"%s"\nexit 9\n' "$T/useradd.args" \
	>"$T/bin/useradd"
chmod +x "$T/bin/useradd"
PATH=$T/bin:$PATH t_must_fail "useradd fails" center add gamma \
	--key "$T/a_key.pub" --create-user --authorized-keys "$AK"
grep -q "useradd beemo-gamma failed" "$T/must_fail.out" ||
	t_fail "useradd failure: $(cat "$T/must_fail.out")"
grep -q -- \
	"--system .*--home-dir $ROOT/gamma .*--shell /bin/sh .*beemo-gamma$" \
	"$T/useradd.args" || t_fail "useradd: $(cat "$T/useradd.args")"
# A planted link is never followed to another file of keys.
mkdir -p "$T/real"
ln -s "$T/real" "$T/linkdir"
ln -s "$T/real/ak" "$T/ak_link"
t_must_fail "authorized_keys in a linked directory" center add gamma \
	--key "$T/a_key.pub" --user "$me" --authorized-keys "$T/linkdir/ak"
t_must_fail "authorized_keys is a link" center add gamma \
	--key "$T/a_key.pub" --user "$me" --authorized-keys "$T/ak_link"
[ ! -e "$T/real/ak" ] || t_fail "a key was written through a link"
t_must_fail "both --user and --create-user" center add gamma \
	--key "$T/a_key.pub" --user "$me" --create-user
[ ! -e "$ROOT/gamma" ] || t_fail "a refused add left $ROOT/gamma"
[ "$(wc -l <"$AK")" = "$lines" ] || t_fail "a refused add touched $AK"

# ---- list and status: usage, a push, a request, a scrub -----------------
center list >"$T/list0.out" || t_fail "list"
grep -Eq "^alpha +$me +0 B +10.0 MiB +never +0 never" "$T/list0.out" ||
	t_fail "fresh area in list: $(cat "$T/list0.out")"
D=$A/data
mkdir -p "$D/manifests" "$D/machines/pc1/packs/00" "$D/status" \
	"$D/journal" "$D/center/requests"
head -c 300000 /dev/urandom >"$D/machines/pc1/packs/00/0000000000000000.pack"
echo '{}' >"$D/manifests/20261201T100000Z-00000001.json"
echo '{}' >"$D/manifests/20261203T100000Z-00000002.json"
touch -d '2026-12-03 10:00:05Z' "$D/manifests/20261203T100000Z-00000002.json"
echo '{"format": "status"}' >"$D/status/20261203T100000Z-00000002.json"
echo x >"$D/journal/0000000000000001.log"
echo x >"$D/journal/0000000000000002.log"
touch -d '2026-12-03 09:00:00Z' "$D/journal/0000000000000002.log"
# As apply and scrub write them (center_apply.c, center_scrub.c).
echo '{"request": 1, "state": "applied", "reason": "prune"}' \
	>"$D/center/requests/1.json"
echo '{"request": 2, "state": "pending", "reason": "erase",
	"due": "2026-12-10T00:00:00Z"}' >"$D/center/requests/2.json"
echo '{"request": 3, "state": "refused", "why": "bad signature"}' \
	>"$D/center/requests/3.json"
echo '{"format": "beemo-center-scrub", "time": "2026-12-03T11:00:00Z",
	"objects": 4, "missing": [], "damaged": ["machines/pc1/packs/00/x"],
	"missing_count": 0, "damaged_count": 1}' >"$D/center/scrub.json"
rm -f "$A/state/usage" # counted again from data/ by the next reader

center --utc list >"$T/list.out" || t_fail "list"
grep -E "^alpha " "$T/list.out" >"$T/alpha.line" || t_fail "alpha not listed"
grep -Eq "^alpha +$me +29[0-9]\.[0-9] KiB +10.0 MiB +2026-12-03 10:00:05 UTC +1 \
2026-12-03T11:00:00Z 0 missing 1 damaged$" "$T/alpha.line" ||
	t_fail "list line: $(cat "$T/alpha.line")"
grep -Eq "^beta +$me " "$T/list.out" || t_fail "beta not listed"
center list --json >"$T/list.json" || t_fail "list --json"
python3 - "$T/list.json" <<-'EOF' || t_fail "list --json content"
	import json, sys
	areas = {a["name"]: a for a in json.load(open(sys.argv[1]))["areas"]}
	a = areas["alpha"]
	assert a["usage"] > 300000 and a["quota"] == 10 << 20, a
	assert a["pushes"]["count"] == 2, a
	assert a["pushes"]["newest"] == "20261203T100000Z-00000002.json", a
	assert a["pushes"]["received"] == "2026-12-03T10:00:05Z", a
	assert a["pending_requests"] == 1 and a["scrub"]["damaged"] == 1, a
	assert a["grace"] == 3 * 86400, a
	assert areas["beta"]["pushes"]["count"] == 0
EOF
center status alpha >"$T/status.out" || t_fail "status"
for w in "account +$me" "pushes +2, newest 20261203T100000Z-00000002.json" \
	"requests +1 pending of 3" \
	"request 2 pending \(erase\), due 2026-12-10" \
	"request 1 applied \(prune\)" "request 3 refused" \
	"status files +1, newest 20261203T100000Z" \
	"journal segments +2, newest 0000000000000002.log" \
	"mail to +ops@example.org" "grace +259200s"; do
	grep -Eq "$w" "$T/status.out" || t_fail "status lacks '$w':
$(cat "$T/status.out")"
done
center status alpha --json >"$T/status.json" || t_fail "status --json"
python3 - "$T/status.json" <<-'EOF' || t_fail "status --json content"
	import json, sys
	a = json.load(open(sys.argv[1]))
	assert [r["state"] for r in a["requests"]] == \
	    ["applied", "pending", "refused"], a
	assert a["scrub"]["objects"] == 4 and a["scrub"]["damaged"] == 1, a
	assert a["status"]["count"] == 1 and a["journal"]["count"] == 2, a
	assert a["mail_to"] == "ops@example.org", a
EOF
# An area created elsewhere is named by its directory.
add delta "$T/b_key.pub" --area "$T/elsewhere/delta" >/dev/null ||
	t_fail "add --area"
[ -d "$T/elsewhere/delta/data" ] || t_fail "--area: no data/"
center status delta --area "$T/elsewhere/delta" | grep -q "^area delta" ||
	t_fail "status --area"
t_must_fail "status of no area" center status nosuch

# ---- remove: confirmation, key line out, data kept -----------------------
sum=$(cd "$A" && find data -type f -print0 | sort -z | xargs -0 sha256sum)
t_must_fail "remove without a terminal" center remove alpha </dev/null
grep -q -- "--yes" "$T/must_fail.out" || t_fail "remove: no hint of --yes"
[ -d "$A" ] && grep -qF "$want" "$AK" || t_fail "unconfirmed remove acted"
if command -v script >/dev/null; then
	# A terminal, and the wrong name typed: nothing happens.
	echo wrong | script -qec "$BEEMO_CENTER remove alpha \
		--authorized-keys $AK" /dev/null >"$T/script.out" 2>&1 || true
	[ -d "$A" ] && grep -qF "$want" "$AK" ||
		t_fail "remove confirmed by a wrong name"
fi
center remove alpha --yes --authorized-keys "$AK" >"$T/remove.out" ||
	t_fail "remove --yes"
grep -q "nothing was deleted" "$T/remove.out" || t_fail "remove: message"
[ ! -e "$A" ] || t_fail "$A still there"
R=$(ls -d "$ROOT"/alpha.removed-*) || t_fail "no alpha.removed-*"
[ "$(cd "$R" && find data -type f -print0 | sort -z | xargs -0 sha256sum)" \
	= "$sum" ] || t_fail "remove changed the data"
grep -q "beemo-center:alpha" "$AK" && t_fail "alpha's key still accepted"
grep -q "other@host" "$AK" || t_fail "remove took another key"
[ "$(stat -c %a "$AK")" = 600 ] || t_fail "remove changed $AK's mode"
grep -q "area removed" "$R/state/journal" || t_fail "remove not journaled"
center list >"$T/list2.out" || t_fail "list after remove"
grep -q "^alpha" "$T/list2.out" && t_fail "removed area still listed"
# The name is free again, the removed area is not taken over.
add alpha "$T/a_key.pub" >/dev/null || t_fail "add alpha again"
[ -d "$R/data/machines" ] || t_fail "the removed area was touched"
t_log "ok"
