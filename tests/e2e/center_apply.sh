#!/bin/bash
# center_apply.sh -- deletion requests at the center: `beemo-center
# apply` pins the administrator's key, accepts a real request (pending,
# mailed), deletes nothing before its grace period ends and, after it,
# exactly the objects named (journaled, mailed, usage decreased); a
# cancelled request is never applied; forged requests -- an altered
# object list, another appliance's administrator, a rogue admin.key the
# attacker uploaded -- are refused and mailed, and delete nothing.
# After `beemoctl admin passwd`, a request signed by the new key is
# accepted through the old key's endorsement.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd_lib.sh"
. "$(dirname "$0")/center_lib.sh"
. "$(dirname "$0")/report_lib.sh"

sshd_require
report_sendmail
[ -x "$BEEMO_CENTER" ] || t_fail "no $BEEMO_CENTER"
center_area a
A="$T/area_a"
D="$A/data"
printf '%s\n' "grace = 3600" "mail_to = ops@example.com" >>"$A/area.conf"
sshd_start a
mapfile -t tconf < <(sshd_target_conf a "$D")
t_config "[sync]" "timeout = 20s" "connections = 2" "${tconf[@]}"
t_appliance
AP=(--password-file "$T/admin.pw")
cat >"$T/center.conf" <<-CONF
	[center]
	root = $T
	[mail]
	command = $T/sendmail -t -i
	from = Beemo Center <center@example.com>
CONF
export BEEMO_CENTER_CONFIG="$T/center.conf"

# center LOGNAME ARGS...: beemo-center with stdout in $T/LOGNAME.out,
# stderr in $T/LOGNAME.err and appended to $T/center.log.
center() {
	local out=$1 rc=0
	shift
	timeout 120 "$BEEMO_CENTER" "$@" >"$T/$out.out" 2>"$T/$out.err" ||
		rc=$?
	cat "$T/$out.err" >>"$T/center.log"
	return $rc
}
# state N: the state of request N in its record.
state() {
	python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["state"])' \
		"$D/center/requests/$(printf %016x "$1").json"
}
# objects N: the paths request N names, one a line.
objects() {
	python3 -c 'import json, sys
for o in json.load(open(sys.argv[1]))["objects"]: print(o["path"])' \
		"$D/requests/$(printf %016x "$1").req"
}
last_mail() { cat "$REPORT_MAIL/$(report_count).eml"; }
at() { date -u -d "$1" +%Y-%m-%dT%H:%M:%SZ; }

sync_fake_packs pc1 3 100000
sync_run push1 push || t_fail "push 1: $(cat "$T/push1.err")"

# The first look pins the one admin.key of the area, and mails it.
center pin1 apply --yes --area "$A" || t_fail "apply 1: $(cat "$T/pin1.err")"
grep -q "administrator key .* pinned" "$T/pin1.out" ||
	t_fail "pin: $(cat "$T/pin1.out")"
cmp -s "$A/state/admin.pin" "$T/store/keys/admin.key" || t_fail "pinned"
[ "$(report_count)" = 1 ] && last_mail | grep -q "key pinned" ||
	t_fail "pin mail"

# ---- a real request: pending, then applied after the grace period ----
"$BEEMOCTL" key rotate pc1 "${AP[@]}" >/dev/null || t_fail "key rotate"
sync_run push2 push || t_fail "push 2: $(cat "$T/push2.err")"
sync_run r1 release --yes "${AP[@]}" || t_fail "release 1: $(cat "$T/r1.err")"
sync_run push3 push || t_fail "push 3: $(cat "$T/push3.err")"
[ -f "$D/requests/0000000000000001.req" ] || t_fail "request 1 not pushed"
objects 1 >"$T/req1.objs"
[ -s "$T/req1.objs" ] || t_fail "request 1 names nothing"
(cd "$D" && find . -type f -path './machines/*' | sort) >"$T/packs.before"
center ap1 apply --yes --area "$A" || t_fail "apply 2: $(cat "$T/ap1.err")"
grep -q "request 1 accepted" "$T/ap1.out" || t_fail "ap1: $(cat "$T/ap1.out")"
[ "$(state 1)" = pending ] || t_fail "request 1: $(state 1)"
[ "$(report_count)" = 2 ] || t_fail "no mail for the accepted request"
last_mail | grep -q "deletion request 1 accepted" || t_fail "mail subject"
last_mail | grep -q "beemo-sync release --cancel 1" || t_fail "mail: cancel"
while read -r p; do
	last_mail | grep -qF "$p" || t_fail "mail does not name $p"
	[ -f "$D/$p" ] || t_fail "$p deleted on acceptance"
done <"$T/req1.objs"
# The appliance's next push shows it, and how to cancel it.
sync_run push3b push || t_fail "push 3b"
grep -q "^a: center: deletion request 1 pending, due .*--cancel 1)" \
	"$T/push3b.out" || t_fail "push 3b: $(cat "$T/push3b.out")"
# A second look changes nothing: one record, one mail.
center ap1b apply --yes --area "$A" || t_fail "apply again"
[ "$(report_count)" = 2 ] || t_fail "mailed twice"

# Before the due time: nothing deleted.
center ap2 apply --yes --area "$A" --now "$(at '+50 minutes')" ||
	t_fail "apply before due: $(cat "$T/ap2.err")"
[ "$(state 1)" = pending ] || t_fail "applied early"
while read -r p; do
	[ -f "$D/$p" ] || t_fail "$p deleted before the due time"
done <"$T/req1.objs"

# A dry run after it says what would go, and does nothing.
n0=$(report_count)
center dry apply --area "$A" --dry-run --now "$(at '+2 hours')" ||
	t_fail "dry run: $(cat "$T/dry.err")"
grep -q "request 1 would be applied: $(wc -l <"$T/req1.objs") objects" \
	"$T/dry.out" || t_fail "dry run: $(cat "$T/dry.out")"
[ "$(state 1)" = pending ] && [ "$(report_count)" = "$n0" ] ||
	t_fail "the dry run applied or mailed"
while read -r p; do
	[ -f "$D/$p" ] || t_fail "$p deleted by a dry run"
done <"$T/req1.objs"

# Without a terminal and without --yes (a timer's unit that forgot it):
# refused with exit 2, nothing applied.
rc=0
center noyes apply --area "$A" --now "$(at '+2 hours')" </dev/null || rc=$?
[ "$rc" = 2 ] || t_fail "apply without --yes: exit $rc, not 2"
grep -q "add --yes to do this without a terminal" "$T/noyes.err" ||
	t_fail "apply without --yes: $(cat "$T/noyes.err")"
[ "$(state 1)" = pending ] || t_fail "apply without --yes applied"
while read -r p; do
	[ -f "$D/$p" ] || t_fail "$p deleted by apply without --yes"
done <"$T/req1.objs"

# After it: exactly those objects, journaled, mailed, usage decreased.
echo 1000000000 >"$A/state/usage"
center ap3 apply --yes --area "$A" --now "$(at '+2 hours')" ||
	t_fail "apply after due: $(cat "$T/ap3.err")"
[ "$(state 1)" = applied ] || t_fail "request 1: $(state 1)"
while read -r p; do
	[ ! -e "$D/$p" ] || t_fail "$p not deleted"
	grep -q " 1 $p [0-9]* [0-9a-f]\{64\}$" "$D/center/deleted.log" ||
		t_fail "deleted.log: $(cat "$D/center/deleted.log")"
	grep -q "deleted $p" "$A/state/journal" || t_fail "journal: $p"
done <"$T/req1.objs"
(cd "$D" && find . -type f -path './machines/*' | sort) >"$T/packs.after"
cmp -s "$T/packs.before" "$T/packs.after" || t_fail "other objects went"
for k in "$T"/store/keys/machines/pc1.key; do
	h=$(sha256sum "$k" | cut -c1-16)
	[ -f "$D/keys/machines/pc1.key.$h" ] || t_fail "current key deleted"
done
[ "$(report_count)" = 3 ] && last_mail | grep -q "request 1 applied" ||
	t_fail "no mail for the applied request"
freed=$(awk '$2 == 1 { s += $4 } END { print s }' "$D/center/deleted.log")
[ "$(cat "$A/state/usage")" = $((1000000000 - freed)) ] ||
	t_fail "usage: $(cat "$A/state/usage"), $freed freed"

# ---- a cancelled request is never applied ----------------------------
"$BEEMOCTL" key rotate pc1 "${AP[@]}" >/dev/null || t_fail "key rotate 2"
sync_run push4 push || t_fail "push 4"
grep -q "^a: center: 1 deletion requests applied, 0 cancelled" \
	"$T/push4.out" || t_fail "push 4: $(cat "$T/push4.out")"
sync_run r2 release --yes "${AP[@]}" || t_fail "release 2"
sync_run c2 release --cancel 2 || t_fail "cancel: $(cat "$T/c2.err")"
grep -q "request 2 cancelled" "$T/c2.out" || t_fail "c2: $(cat "$T/c2.out")"
t_expect_log 'error: no target has a deletion request 9'
sync_run c9 release --cancel 9 && t_fail "cancelled a request never made"
sync_run push5 push || t_fail "push 5"
[ -f "$D/requests/0000000000000002.cancel" ] || t_fail "cancel not pushed"
objects 2 >"$T/req2.objs"
center ap4 apply --yes --area "$A" || t_fail "apply 4: $(cat "$T/ap4.err")"
center ap5 apply --yes --area "$A" --now "$(at '+3 days')" || t_fail "apply 5"
[ "$(state 2)" = cancelled ] || t_fail "request 2: $(state 2)"
while read -r p; do
	[ -f "$D/$p" ] || t_fail "$p of a cancelled request deleted"
done <"$T/req2.objs"
grep -lq "deletion request 2 cancelled" "$REPORT_MAIL"/*.eml ||
	t_fail "no mail for the cancellation"

# ---- forged requests: refused, mailed, nothing deleted ---------------
pack=$(cd "$D" && find machines -name '*.pack' | head -1)
# 1. An altered object list: request 1 naming a pack instead, as 7.
python3 - "$D/requests/0000000000000001.req" "$D/$pack" "$pack" \
	>"$D/requests/0000000000000007.req" <<-'PY'
	import hashlib, json, sys
	text = open(sys.argv[1]).read()
	r = json.loads(text)
	o = r["objects"][0]
	sha = hashlib.sha256(open(sys.argv[2], "rb").read()).hexdigest()
	text = text.replace(o["path"], sys.argv[3]).replace(o["sha256"], sha)
	sys.stdout.write(text.replace('"counter":1,', '"counter":7,'))
PY
grep -q '"counter":7,' "$D/requests/0000000000000007.req" ||
	t_fail "the forgery did not take"
n0=$(report_count)
center f1 apply --yes --area "$A" --now "$(at '+40 days')" &&
	t_fail "apply exit 0 with a forged request"
[ "$(state 7)" = refused ] || t_fail "request 7: $(state 7)"
grep -q "not signed by the pinned administrator key" "$T/f1.out" ||
	t_fail "f1: $(cat "$T/f1.out")"
[ -f "$D/$pack" ] || t_fail "a forged request deleted $pack"
[ "$(report_count)" = $((n0 + 1)) ] && last_mail | grep -q "ALERT" &&
	last_mail | grep -q "REFUSED deletion request 7" ||
	t_fail "no alert for request 7"
grep -q "deletion request 7 REFUSED" "$A/state/journal" || t_fail "journal"
# The records the appliance sees are copies: rewriting one as pending
# and due long ago changes nothing.
python3 - "$D/center/requests/0000000000000007.json" <<-'PY'
	import json, sys
	r = json.load(open(sys.argv[1]))
	r.update(state="pending", due_ns=1)
	json.dump(r, open(sys.argv[1], "w"))
PY
center f1b apply --yes --area "$A" --now "$(at '+40 days')" ||
	t_fail "f1b: $(cat "$T/f1b.err")"
[ -f "$D/$pack" ] || t_fail "a forged record deleted $pack"
grep -q '"state":"refused"' "$A/state/requests/0000000000000007.json" ||
	t_fail "the center's own record changed"

# 2. A rogue admin.key: an attacker holding the appliance (its store and
# push key, not the administrator's password) makes a key pair of its
# own -- here by changing the password on a copy -- and with it removes
# pc1 and signs a request for all of pc1's objects (the very packs the
# center holds), then uploads the key and the request.  It has no
# endorsement by the pinned key (that takes the old password).
cp -a "$T/store" "$T/rogue"
mkdir -p "$T/scratch/data"
sed -e "s|^store = .*|store = $T/rogue|" -e "s|^path = .*|path = $T/scratch/data|" \
	"$BEEMO_CONFIG" >"$T/rogue.conf"
printf '%s\n' "[store]" "remove_grace = 0s" >>"$T/rogue.conf"
t_pw "$T/rogue.pw" rogue-pw
RP=(--password-file "$T/rogue.pw")
rogue() { BEEMO_CONFIG="$T/rogue.conf" "$@"; }
rogue "$BEEMOCTL" admin passwd "${AP[@]}" --new-password-file "$T/rogue.pw" \
	>/dev/null 2>&1 || t_fail "rogue key"
rm -f "$T"/rogue/keys/admin.endorse.*
echo 99 >"$T/rogue/sync/requests/counter"
rogue sync_run rp push || t_fail "rogue push: $(cat "$T/rp.err")"
rogue "$BEEMOCTL" machine remove pc1 --yes "${RP[@]}" >/dev/null ||
	t_fail "rogue: remove pc1"
rogue sync_run rm maintenance || t_fail "rogue maintenance: $(cat "$T/rm.err")"
rogue sync_run rp2 push || t_fail "rogue push 2: $(cat "$T/rp2.err")"
rogue sync_run rr release --yes "${RP[@]}" || t_fail "rogue release"
rq="$T/rogue/sync/requests/a/0000000000000064.req"
[ -f "$rq" ] || t_fail "no rogue request: $(ls "$T/rogue/sync/requests/a")"
rk=$(sha256sum "$T/rogue/keys/admin.key" | cut -c1-16)
cp "$T/rogue/keys/admin.key" "$D/keys/admin.key.$rk"
cp "$rq" "$D/requests/"
# What it names that the center holds: pc1's packs at least.
python3 -c 'import json, os, sys
for o in json.load(open(sys.argv[1]))["objects"]:
    if os.path.exists(os.path.join(sys.argv[2], o["path"])): print(o["path"])' \
	"$rq" "$D" >"$T/rogue.objs"
grep -q '\.pack$' "$T/rogue.objs" || t_fail "the rogue request names no pack"
center f2 apply --yes --area "$A" --now "$(at '+41 days')" &&
	t_fail "apply exit 0 with a rogue request"
[ "$(state 100)" = refused ] && grep -q "request 100 REFUSED: not signed by the pinned" \
	"$T/f2.out" || t_fail "request 100: $(state 100) $(cat "$T/f2.out")"
center f2b apply --yes --area "$A" --now "$(at '+80 days')" || true
while read -r p; do
	[ -f "$D/$p" ] || t_fail "a rogue request deleted $p"
done <"$T/rogue.objs"
cmp -s "$A/state/admin.pin" "$T/store/keys/admin.key" ||
	t_fail "the rogue key was pinned"
last_mail | grep -q "REFUSED deletion request 100" || t_fail "rogue alert"

# 3. Another appliance's administrator: appliance b's real request, in
# an area that pinned appliance a's key.
center_area c
mkdir -p "$T/area_c/data/keys" "$T/area_c/data/requests"
cp "$A/state/admin.pin" "$T/area_c/data/keys/admin.key.$(sha256sum \
	"$A/state/admin.pin" | cut -c1-16)"
center pc pin "$T/area_c" || t_fail "pin c: $(cat "$T/pc.err")"
mkdir -p "$T/b/center"
sed -e "s|^store = .*|store = $T/b/store|" -e "s|^path = .*|path = $T/b/center|" \
	"$BEEMO_CONFIG" >"$T/b.conf"
BEEMO_CONFIG="$T/b.conf" "$BEEMOCTL" init "${T_KDF[@]}" "${AP[@]}" \
	>/dev/null || t_fail "init b"
BEEMO_CONFIG="$T/b.conf" "$BEEMOCTL" machine add pc1 --user alice "${AP[@]}" \
	--user-password-file "$T/alice.pw" --poste-key "$T/b.poste" \
	>/dev/null || t_fail "b: machine add"
BEEMO_CONFIG="$T/b.conf" sync_run bp1 push || t_fail "b push 1"
BEEMO_CONFIG="$T/b.conf" "$BEEMOCTL" key rotate pc1 "${AP[@]}" \
	>/dev/null || t_fail "b: key rotate"
BEEMO_CONFIG="$T/b.conf" sync_run bp2 push || t_fail "b push 2"
BEEMO_CONFIG="$T/b.conf" sync_run br release --yes "${AP[@]}" || t_fail "b release"
cp "$T/b/store/sync/requests/a/0000000000000001.req" \
	"$T/area_c/data/requests/"
center f3 apply --yes --area "$T/area_c" && t_fail "b's request applied in c"
grep -q "made for appliance" "$T/f3.out" || t_fail "f3: $(cat "$T/f3.out")"

# ---- a new administrator's key, endorsed by the old one ---------------
t_pw "$T/new.pw" new-admin-pw
"$BEEMOCTL" admin passwd "${AP[@]}" --new-password-file "$T/new.pw" \
	>/dev/null || t_fail "admin passwd"
ls "$T"/store/keys/admin.endorse.* >/dev/null 2>&1 || t_fail "no endorsement"
sync_run push6 push || t_fail "push 6: $(cat "$T/push6.err")"
ls "$D"/keys/admin.endorse.* >/dev/null 2>&1 || t_fail "endorsement not pushed"
"$BEEMOCTL" key rotate pc1 --password-file "$T/new.pw" >/dev/null ||
	t_fail "key rotate 3"
sync_run push6b push || t_fail "push 6b: $(cat "$T/push6b.err")"
sync_run r3 release --yes --password-file "$T/new.pw" || t_fail "release 3"
sync_run push7 push || t_fail "push 7"
n=$(ls "$T/store/sync/requests/a" | grep -c '\.req$')
last=$(ls "$T/store/sync/requests/a" | grep '\.req$' | tail -1)
center e1 apply --yes --area "$A" --now "$(at '+90 days')" ||
	t_fail "apply e1: $(cat "$T/e1.err") $(cat "$T/e1.out")"
grep -q "endorsed by the pinned key" "$T/e1.out" || t_fail "e1: $(cat "$T/e1.out")"
cmp -s "$A/state/admin.pin" "$T/store/keys/admin.key" || t_fail "not re-pinned"
[ "$(state $((16#${last%.req})))" = pending ] ||
	t_fail "request ${last%.req}: $(state $((16#${last%.req})))"
[ "$n" -ge 3 ] || t_fail "requests: $n"

# ---- no key to pin: nothing checked until the operator pins one ------
center_area d
mkdir -p "$T/area_d/data/keys" "$T/area_d/data/requests"
cp "$D"/keys/admin.key.* "$T/area_d/data/keys/"
cp "$D/requests/0000000000000001.req" "$T/area_d/data/requests/"
center d1 apply --yes --area area_d && t_fail "apply without a pinned key"
grep -q "pin one with" "$T/d1.err" || t_fail "d1: $(cat "$T/d1.err")"
[ ! -e "$T/area_d/data/center/requests" ] || t_fail "checked without a pin"
# The original key of appliance a, as its administrator would hand it.
orig=$(grep -o 'admin.key sha256 [0-9a-f]*' "$A/state/journal" | head -1 |
	awk '{ print substr($3, 1, 16) }')
center d2 pin area_d --admin-key "$D/keys/admin.key.$orig" ||
	t_fail "pin --admin-key: $(cat "$T/d2.err")"
center d3 apply --yes --area area_d || t_fail "d3: $(cat "$T/d3.err")"
python3 -c 'import json, sys; assert json.load(open(sys.argv[1]))["state"] == "pending"' \
	"$T/area_d/data/center/requests/0000000000000001.json" ||
	t_fail "request 1 in d not accepted after the pin"

# Without --area: every area under [center] root, the others skipped.
# An object whose content is no longer the one requested is left and
# reported; the others of the request go.
objects $((16#${last%.req})) >"$T/last.objs"
changed=$(head -1 "$T/last.objs")
echo garbage >>"$D/$changed"
center all apply --yes --now "$(at '+91 days')" || t_fail "all: $(cat "$T/all.err")"
[ "$(state $((16#${last%.req})))" = applied ] ||
	t_fail "the endorsed key's request was not applied"
[ -f "$D/$changed" ] || t_fail "an object of other content was deleted"
while read -r p; do
	[ "$p" = "$changed" ] || [ ! -e "$D/$p" ] || t_fail "$p not deleted"
done <"$T/last.objs"
python3 -c 'import json, sys; assert json.load(open(sys.argv[1]))["left"] == 1' \
	"$D/center/requests/${last%.req}.json" || t_fail "left: not 1"
last_mail | grep -q "1 objects were left" && last_mail | grep -qF "$changed" ||
	t_fail "the mail does not report the object left"
report_mails || t_fail "malformed mail"
exit 0
