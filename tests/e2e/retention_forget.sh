#!/bin/bash
# retention_forget.sh -- retention policies and `beemoctl forget`, with
# snapshots taken at chosen times (faketime, a test-only clock):
#   - `retention pc1 --keep-...` signs a policy with the administrator's
#     password and previews it; `retention pc1` and `status` show it.
#   - `forget --dry-run` lists every snapshot, kept or forgotten and the
#     rules that keep it, as text and as JSON; forgetting by the policy
#     (with alice's password: the signed policy is anyone's to apply)
#     removes exactly what the dry run said, and the listing after shows
#     the rest; both journals say who forgot what.
#   - Forgetting by id or by rules needs the administrator's password: a
#     user's password and the POSTE key file are refused, and so are they
#     for changing a policy; by id without --yes and without a terminal
#     is refused; with --yes it forgets exactly that id; --prune prunes.
#   - A changed policy file, or another machine's, is refused by forget
#     and shown refused by status.
#   - After `admin passwd` replaces the administrator's key pair, the
#     policies are signed again with the new key.
. "$(dirname "$0")/lib.sh"

[ -c /dev/fuse ] || t_skip "no /dev/fuse"
command -v fusermount3 >/dev/null || t_skip "fusermount3 missing"
command -v faketime >/dev/null || t_skip "faketime missing"
export TZ=UTC
t_appliance
M=$T/mnt
A=(--password-file "$T/admin.pw")
U=(--user alice --password-file "$T/alice.pw")
P=(--poste-key "$T/pc1.poste")

# The store exists after a first session (its snapshot, now: id 1).
t_mount "$M"
echo one >"$M/file"
t_umount "$M"

# snap DAYS-AGO HH:MM: a snapshot taken that long ago; prints its id.
# (libfaketime is preloaded: an ASan build must accept not being first.)
# The tree does not change between them: a note makes each one anyway.
snap() {
	ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" faketime -f "@$(date -u -d "-$1 days" +%F) $2:00" \
		"$BEEMOCTL" snapshot pc1 "${P[@]}" --note "back-dated" |
		sed 's/^snapshot //'
}
declare -A ID
for d in "40 10:00" "30 10:00" "20 10:00" "20 11:00" "10 10:00" \
	"3 10:00" "1 10:00"; do
	ID[$d]=$(snap $d) || t_fail "snapshot $d days ago"
done

# ids: the snapshot ids of pc1, sorted, on one line.
ids() {
	"$BEEMOCTL" snapshots pc1 --json "${A[@]}" | python3 -c '
import json, sys
print(" ".join(str(s["id"]) for s in sorted(json.load(sys.stdin)["snapshots"],
                                             key=lambda s: s["id"])))'
}
[ "$(ids)" = "1 2 3 4 5 6 7 8" ] || t_fail "snapshots: $(ids)"

# --- no policy yet ----------------------------------------------------------
"$BEEMOCTL" retention pc1 | grep -qx "pc1: none" || t_fail "policy shown"
t_must_fail "forget without a policy" "$BEEMOCTL" forget pc1 "${A[@]}"
grep -q "no retention policy" "$T/must_fail.out" ||
	t_fail "forget without a policy: $(cat "$T/must_fail.out")"

# --- setting it: the administrator only -------------------------------------
t_must_fail "retention set with alice's password" "$BEEMOCTL" retention \
	pc1 --keep-last 1 "${U[@]}"
grep -q "administrator only" "$T/must_fail.out" ||
	t_fail "retention as alice: $(cat "$T/must_fail.out")"
t_must_fail "retention set with the POSTE key" "$BEEMOCTL" retention \
	pc1 --keep-last 1 "${P[@]}"
grep -q "administrator only" "$T/must_fail.out" ||
	t_fail "retention with POSTE: $(cat "$T/must_fail.out")"
t_must_fail "retention set with alice's password as the admin's" \
	"$BEEMOCTL" retention pc1 --keep-last 1 --password-file "$T/alice.pw"
t_must_fail "retention --clear with the POSTE key" "$BEEMOCTL" retention \
	pc1 --clear "${P[@]}"
[ ! -e "$T/store/retention/machines/pc1.policy" ] ||
	t_fail "a refused change wrote a policy"
t_must_fail "an empty policy" "$BEEMOCTL" retention pc1 --min-age 1d "${A[@]}"
t_must_fail "a bad duration" "$BEEMOCTL" retention pc1 --keep-within 3x \
	"${A[@]}"

# A policy that would forget snapshots now: confirmed first (--yes
# without a terminal), or only previewed with --dry-run.
rc=0
"$BEEMOCTL" retention pc1 --keep-daily 3 --keep-within 25d "${A[@]}" \
	</dev/null >"$T/set.out" 2>&1 || rc=$?
[ "$rc" = 2 ] || t_fail "retention set without --yes: exit $rc, not 2"
grep -q "add --yes to do this without a terminal" "$T/set.out" ||
	t_fail "retention set without --yes: $(cat "$T/set.out")"
"$BEEMOCTL" retention pc1 | grep -qx "pc1: none" ||
	t_fail "retention set without --yes set the policy"
"$BEEMOCTL" retention pc1 --keep-daily 3 --keep-within 25d --dry-run \
	"${A[@]}" </dev/null >"$T/set.out" 2>&1 ||
	t_fail "retention set --dry-run: $(cat "$T/set.out")"
grep -q "dry run: would set the policy of pc1 to keep-within 25d" \
	"$T/set.out" && grep -q "preview: 2 of 8 snapshots would be" \
	"$T/set.out" || t_fail "retention set --dry-run: $(cat "$T/set.out")"
"$BEEMOCTL" retention pc1 | grep -qx "pc1: none" ||
	t_fail "retention set --dry-run set the policy"
"$BEEMOCTL" retention pc1 --keep-daily 3 --keep-within 25d --yes "${A[@]}" \
	>"$T/set.out" || t_fail "retention set: $(cat "$T/set.out")"
grep -q "^pc1: keep-within 25d, keep-daily 3, min-age 7d" "$T/set.out" ||
	t_fail "retention set: $(cat "$T/set.out")"
grep -q "preview: 2 of 8 snapshots would be forgotten" "$T/set.out" ||
	t_fail "preview: $(cat "$T/set.out")"
for d in "40 10:00" "30 10:00"; do
	grep -q "would forget snapshot ${ID[$d]} " "$T/set.out" ||
		t_fail "preview lacks ${ID[$d]}: $(cat "$T/set.out")"
done
"$BEEMOCTL" retention pc1 | grep -q "^pc1: keep-within 25d, keep-daily 3" ||
	t_fail "retention pc1 does not show the policy"
"$BEEMOCTL" status --json | python3 -c '
import json, sys
m = [m for m in json.load(sys.stdin)["machines"] if m["name"] == "pc1"][0]
assert m["retention"].startswith("keep-within 25d, keep-daily 3"), m
assert not m["retention_refused"]' || t_fail "status --json: retention"
"$BEEMOCTL" status | grep -q "retention keep-within 25d, keep-daily 3" ||
	t_fail "status: retention"
"$BEEMOCTL" journal --all --type retention "${A[@]}" |
	grep -q "admin.*pc1: retention policy set: keep-within 25d, keep-daily 3" ||
	t_fail "the appliance journal does not record the policy set"

# --- dry run: text and JSON, with any principal -----------------------------
"$BEEMOCTL" forget pc1 --dry-run "${A[@]}" >"$T/dry.A" ||
	t_fail "forget --dry-run as the administrator"
"$BEEMOCTL" forget pc1 --dry-run "${U[@]}" >"$T/dry.U" ||
	t_fail "forget --dry-run as alice"
"$BEEMOCTL" forget pc1 --dry-run "${P[@]}" >"$T/dry.P" ||
	t_fail "forget --dry-run with the POSTE key"
cmp -s "$T/dry.A" "$T/dry.U" && cmp -s "$T/dry.A" "$T/dry.P" ||
	t_fail "dry runs differ by principal"
# ID, then the time (date, hour, zone), then the decision.
decision() { awk -v id="$1" '$1 == id { print $5 }' "$T/dry.A"; }
for d in "40 10:00" "30 10:00"; do
	[ "$(decision "${ID[$d]}")" = forget ] ||
		t_fail "dry run keeps ${ID[$d]}: $(cat "$T/dry.A")"
done
for d in "20 10:00" "20 11:00" "10 10:00" "3 10:00" "1 10:00"; do
	[ "$(decision "${ID[$d]}")" = keep ] ||
		t_fail "dry run forgets ${ID[$d]}: $(cat "$T/dry.A")"
done
grep -Eq "^ +1 .* keep +within,daily,min-age,newest$" "$T/dry.A" ||
	t_fail "snapshot 1's rules: $(cat "$T/dry.A")"
grep -Eq "^ +${ID[3 10:00]} .* keep +within,daily,min-age$" "$T/dry.A" ||
	t_fail "3 days ago: $(cat "$T/dry.A")"
grep -Eq "^ +${ID[20 10:00]} .* keep +within$" "$T/dry.A" ||
	t_fail "20 days ago at 10:00: $(cat "$T/dry.A")"
grep -q "dry run: 2 of 8 snapshots would be forgotten" "$T/dry.A" ||
	t_fail "dry run summary: $(cat "$T/dry.A")"
"$BEEMOCTL" forget pc1 --dry-run --json "${P[@]}" >"$T/dry.json" ||
	t_fail "forget --dry-run --json"
python3 - "$T/dry.json" "${ID[40 10:00]} ${ID[30 10:00]}" <<'EOF' ||
import json, sys
d = json.load(open(sys.argv[1]))
gone = sorted(s["id"] for s in d["snapshots"] if not s["kept"])
assert gone == sorted(int(i) for i in sys.argv[2].split()), gone
assert d["dry_run"] and d["forgotten"] == 2 and d["kept"] == 6, d
one = [s for s in d["snapshots"] if s["id"] == 1][0]
assert one["reasons"] == ["within", "daily", "min-age", "newest"], one
assert all(s["time"].endswith("Z") for s in d["snapshots"])
EOF
	t_fail "dry run JSON: $(cat "$T/dry.json")"
[ "$(ids)" = "1 2 3 4 5 6 7 8" ] || t_fail "a dry run forgot: $(ids)"

# --- outside the policy: the administrator only -----------------------------
t_must_fail "forget by id with alice's password" "$BEEMOCTL" forget pc1 \
	"${ID[10 10:00]}" --yes "${U[@]}"
grep -q "needs the administrator's password" "$T/must_fail.out" ||
	t_fail "forget by id as alice: $(cat "$T/must_fail.out")"
t_must_fail "forget by id with the POSTE key" "$BEEMOCTL" forget pc1 \
	"${ID[10 10:00]}" --yes "${P[@]}"
grep -q "needs the administrator's password" "$T/must_fail.out" ||
	t_fail "forget by id with POSTE: $(cat "$T/must_fail.out")"
t_must_fail "forget by rules with the POSTE key" "$BEEMOCTL" forget pc1 \
	--keep-last 1 --min-age 0 "${P[@]}"
t_must_fail "forget by rules with alice's password" "$BEEMOCTL" forget pc1 \
	--keep-last 1 --min-age 0 "${U[@]}"
t_must_fail "forget by id with alice's password as the admin's" \
	"$BEEMOCTL" forget pc1 "${ID[10 10:00]}" --yes \
	--password-file "$T/alice.pw"
[ "$(ids)" = "1 2 3 4 5 6 7 8" ] || t_fail "a refused forget forgot: $(ids)"

# --- forget by the policy, as alice -----------------------------------------
"$BEEMOCTL" forget pc1 "${U[@]}" >"$T/forget.out" ||
	t_fail "forget by policy as alice: $(cat "$T/forget.out")"
grep -q "2 of 8 snapshots forgotten (by the policy keep-within 25d" \
	"$T/forget.out" || t_fail "forget output: $(cat "$T/forget.out")"
want=$(printf '%s\n' 1 "${ID[20 10:00]}" "${ID[20 11:00]}" \
	"${ID[10 10:00]}" "${ID[3 10:00]}" "${ID[1 10:00]}" | sort -n |
	tr '\n' ' ')
[ "$(ids) " = "$want" ] || t_fail "after forget: $(ids), want $want"
"$BEEMOCTL" forget pc1 "${A[@]}" | grep -q "0 of 6 snapshots forgotten" ||
	t_fail "a second forget by policy forgot more"
"$BEEMOCTL" journal pc1 --type forget --files "${A[@]}" >"$T/j.out"
grep -q "user alice" "$T/j.out" && grep -q "forgot 2 snapshots" "$T/j.out" &&
	grep -q "snapshot ${ID[40 10:00]} of " "$T/j.out" ||
	t_fail "machine journal: $(cat "$T/j.out")"
"$BEEMOCTL" journal --all --type forget --files "${A[@]}" >"$T/ja.out"
grep -q "machine pc1: 2 snapshots forgotten, 6 kept" "$T/ja.out" &&
	grep -q "snapshot ${ID[30 10:00]} $(date -u -d '-30 days' +%F)T10:00" \
		"$T/ja.out" || t_fail "appliance journal: $(cat "$T/ja.out")"

# --- forget by id, administrator --------------------------------------------
t_must_fail "forget by id without --yes and no terminal" "$BEEMOCTL" \
	forget pc1 "${ID[20 10:00]}" "${A[@]}" </dev/null
grep -q "add --yes to do this without a terminal" "$T/must_fail.out" ||
	t_fail "by id without --yes: $(cat "$T/must_fail.out")"
t_must_fail "forget an id that does not exist" "$BEEMOCTL" forget pc1 999 \
	--yes "${A[@]}"
"$BEEMOCTL" forget pc1 "${ID[20 10:00]}" --yes "${A[@]}" >"$T/id.out" ||
	t_fail "forget by id: $(cat "$T/id.out")"
grep -q "forgot snapshot ${ID[20 10:00]} " "$T/id.out" ||
	t_fail "forget by id: $(cat "$T/id.out")"
want=$(printf '%s\n' 1 "${ID[20 11:00]}" "${ID[10 10:00]}" \
	"${ID[3 10:00]}" "${ID[1 10:00]}" | sort -n | tr '\n' ' ')
[ "$(ids) " = "$want" ] || t_fail "after forget by id: $(ids)"

# --- rules on the command line, then a prune --------------------------------
before=$(ids)
t_must_fail "forget by rules without --yes and no terminal" "$BEEMOCTL" \
	forget pc1 --keep-within 5d "${A[@]}" </dev/null
grep -q "add --yes to do this without a terminal" "$T/must_fail.out" ||
	t_fail "by rules without --yes: $(cat "$T/must_fail.out")"
[ "$(ids)" = "$before" ] || t_fail "by rules without --yes forgot: $(ids)"
"$BEEMOCTL" forget pc1 --keep-within 5d --prune --yes "${A[@]}" \
	>"$T/rules.out" ||
	t_fail "forget by rules: $(cat "$T/rules.out")"
grep -q "^pruned: " "$T/rules.out" || t_fail "no prune: $(cat "$T/rules.out")"
want=$(printf '%s\n' 1 "${ID[3 10:00]}" "${ID[1 10:00]}" | sort -n |
	tr '\n' ' ')
[ "$(ids) " = "$want" ] || t_fail "after forget by rules: $(ids)"
"$BEEMOCTL" journal pc1 --type prune "${A[@]}" | grep -q prune ||
	t_fail "the prune is not journaled"

# --- refused policy files ---------------------------------------------------
POL=$T/store/retention/machines/pc1.policy
cp "$POL" "$T/pc1.policy.good"
sed -i 's/^keep-daily 3$/keep-daily 1/' "$POL"
t_must_fail "forget by a changed policy" "$BEEMOCTL" forget pc1 "${P[@]}"
grep -q "signature is not the administrator's" "$T/must_fail.out" ||
	t_fail "changed policy: $(cat "$T/must_fail.out")"
"$BEEMOCTL" status | grep -q "retention REFUSED: .*pc1.policy: refused" ||
	t_fail "status does not show the refused policy"
"$BEEMOCTL" machine add pc2 --user bob "${A[@]}" \
	--user-password-file "$T/alice.pw" --poste-key "$T/pc2.poste" \
	>/dev/null || t_fail "machine add pc2"
"$BEEMOCTL" retention pc2 --keep-last 1 --min-age 0 "${A[@]}" >/dev/null ||
	t_fail "retention pc2"
cp "$T/store/retention/machines/pc2.policy" "$POL"
t_must_fail "forget by another machine's policy" "$BEEMOCTL" forget pc1 \
	"${P[@]}"
grep -q "signed for machine pc2, not for machine pc1" "$T/must_fail.out" ||
	t_fail "pc2's policy: $(cat "$T/must_fail.out")"
head -n -1 "$T/pc1.policy.good" >"$POL"
t_must_fail "forget by an unsigned policy" "$BEEMOCTL" forget pc1 "${P[@]}"
grep -q "not signed" "$T/must_fail.out" ||
	t_fail "unsigned policy: $(cat "$T/must_fail.out")"
[ "$(ids) " = "$want" ] || t_fail "a refused policy forgot: $(ids)"
# --clear: the default applies again (none here).
"$BEEMOCTL" retention pc1 --clear "${A[@]}" >/dev/null || t_fail "--clear"
"$BEEMOCTL" retention pc1 | grep -qx "pc1: none" || t_fail "after --clear"
"$BEEMOCTL" retention --default --keep-last 1 "${A[@]}" >/dev/null ||
	t_fail "retention --default"
"$BEEMOCTL" retention pc1 | grep -q "keep-last 1, min-age 7d (set .*, the default)" ||
	t_fail "the default does not apply to pc1"

# --- a new administrator key pair signs the policies again ------------------
t_pw "$T/admin2.pw" admin-pw-2
"$BEEMOCTL" admin passwd "${A[@]}" --new-password-file "$T/admin2.pw" \
	>/dev/null || t_fail "admin passwd"
"$BEEMOCTL" retention --default | grep -q "^default: keep-last 1, min-age 7d" ||
	t_fail "after admin passwd: $("$BEEMOCTL" retention --default 2>&1)"
"$BEEMOCTL" retention pc2 | grep -q "^pc2: keep-last 1, min-age 0 (set " ||
	t_fail "after admin passwd: $("$BEEMOCTL" retention pc2 2>&1)"
t_log "PASS"
