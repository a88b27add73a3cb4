#!/bin/bash
# report_journal.sh -- every journal entry type, each produced by a real
# operation, read back as text and as JSON: the machine's journal
# (session, files, snapshot, virus, quota, restore, error) and the
# appliance's (admin, machine, user, key, quota, push, maintenance,
# report), merged by `journal --all`.  A machine journal entry survives a
# kill -9 of beemofs once the commit interval has passed; an appliance
# journal entry is on disk when its command returns.  A changed byte in
# the appliance journal is detected and named, the rest still listed.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/report_lib.sh"

report_sendmail
report_config "[store]" "commit_interval = 1s" "[target b]" \
	"host = 127.0.0.1" "port = 1" "user = nobody" "key = $BEEMO_CONFIG" \
	"known_hosts = $BEEMO_CONFIG" "path = /nowhere"
t_appliance
A=(--password-file "$T/admin.pw")
t_pw "$T/bob.pw" bob-pw
t_pw "$T/bob2.pw" bob-pw-2
t_pw "$T/admin2.pw" admin-pw-2
t_expect_log 'virus Beemo\.Test\.EICAR(\.UNOFFICIAL)? found: file not backed up'
t_expect_log 'error: target b: cannot connect to 127\.0\.0\.1 port 1: Connection refused'
t_expect_log 'error: push failed for target: b'
t_expect_log 'error: storage center b not reached: Connection refused'

# ---- operations of the appliance
"$BEEMOCTL" user add pc1 bob "${A[@]}" --user-password-file "$T/bob.pw" \
	>/dev/null || t_fail "user add"
"$BEEMOCTL" user passwd pc1 bob --password-file "$T/bob.pw" \
	--new-password-file "$T/bob2.pw" >/dev/null || t_fail "user passwd"
"$BEEMOCTL" user reset pc1 bob --yes "${A[@]}" --new-password-file "$T/bob.pw" \
	>/dev/null || t_fail "user reset"
"$BEEMOCTL" user remove pc1 bob --yes "${A[@]}" >/dev/null || t_fail "user remove"
"$BEEMOCTL" key rotate pc1 "${A[@]}" >/dev/null || t_fail "key rotate"
"$BEEMOCTL" key issue pc1 --yes --poste-key "$T/pc1.new" "${A[@]}" >/dev/null ||
	t_fail "key issue"
mv "$T/pc1.new" "$T/pc1.poste"
"$BEEMOCTL" machine add pc2 --user carol "${A[@]}" \
	--user-password-file "$T/bob.pw" --poste-key "$T/pc2.poste" \
	>/dev/null || t_fail "machine add pc2"
"$BEEMOCTL" machine remove pc2 --yes "${A[@]}" >/dev/null ||
	t_fail "machine remove"
"$BEEMOCTL" admin passwd "${A[@]}" --new-password-file "$T/admin2.pw" \
	>/dev/null || t_fail "admin passwd"
A=(--password-file "$T/admin2.pw")

# ---- operations of the machine
M="$T/mnt"
t_mount "$M"
mkdir "$M/docs"
echo "one" >"$M/docs/a.txt"
printf '%s' "$T_EICAR" >"$T/eicar.com"
t_put_virus "$T/eicar.com" "$M/docs/bad.com" ||
	t_fail "virus accepted"
t_umount "$M"
"$BEEMOCTL" quota pc1 --soft 1G "${A[@]}" >/dev/null || t_fail "quota"
"$BEEMOCTL" restore pc1 latest --target "$T/out" "${A[@]}" >/dev/null ||
	t_fail "restore"
rm "$T/out/docs/a.txt"
mkdir "$T/out/docs/a.txt"
t_must_fail "restore over a directory" "$BEEMOCTL" restore pc1 latest \
	--target "$T/out" --overwrite always "${A[@]}"
sync_out=$("$BEEMO_SYNC" push 2>>"$T/sync.log") && t_fail "push to b worked"
report_maint m1 || true
[ "$(report_count)" -ge 1 ] || t_fail "no report mailed"

# ---- read back: JSON
"$BEEMOCTL" journal --all --json "${A[@]}" >"$T/all.json" ||
	t_fail "journal --all --json"
types() {
	report_journal "sorted(set(e['type'] for e in d if e['journal'] == '$1'))" <"$T/all.json"
}
[ "$(types machine)" = "['error', 'files', 'quota', 'restore', 'session', 'snapshot', 'virus']" ] ||
	t_fail "machine journal types: $(types machine)"
[ "$(types appliance)" = "['admin', 'key', 'machine', 'maintenance', 'push', 'quota', 'report', 'user']" ] ||
	t_fail "appliance journal types: $(types appliance)"
report_journal 'all(d[i]["time_ns"] <= d[i + 1]["time_ns"] for i in range(len(d) - 1))' \
	<"$T/all.json" | grep True >/dev/null || t_fail "--all is not in time order"
summaries=$(report_journal '"\n".join(e["who"] + " | " + e["type"] + " | " + e["summary"] for e in d)' <"$T/all.json")
for want in \
	"admin | admin | appliance [0-9a-f]{32} initialized" \
	"admin | machine | machine pc1 added with user alice" \
	"admin | user | user bob added to machine pc1" \
	"user | user | password of user bob of machine pc1 changed" \
	"admin | user | password of user bob of machine pc1 reset" \
	"admin | user | user bob removed from machine pc1" \
	"admin | key | machine pc1: SECRET rotated to generation 2" \
	"admin | key | machine pc1: new POSTE key file issued" \
	"admin | machine | machine pc2 removed: keys and store set aside in .*, [0-9]+ bytes freed on " \
	"admin | admin | administrator password changed" \
	"poste | session | backup session .* begins" \
	"poste | files | backup session .*: [0-9]+ file operations" \
	"poste | virus | virus Beemo.Test.EICAR(.UNOFFICIAL)? found in /docs/bad.com" \
	"poste | snapshot | snapshot 1: end of backup session" \
	"admin | quota | quota set: soft 1073741824 bytes, hard 0 bytes" \
	"admin | quota | machine pc1: quota set: soft 1073741824" \
	"admin | restore | restore of / from snapshot 1 into $T/out: [0-9]+ files" \
	"admin | error | restore of / from snapshot 1 into $T/out: 0 files, 0 bytes, with errors" \
	"beemo-sync | push | push to b: Connection refused" \
	"beemo-sync | report | mail sent to ops@example.com: \[Beemo test-appliance\] pc1: " \
	"beemo-sync | maintenance | maintenance: b Connection refused; reports: [0-9]+ sent"; do
	grep -Eq "^$want" <<<"$summaries" || t_fail "no entry '$want' in: $summaries"
done
report_journal '[e["files"] for e in d if e["type"] == "files"][0]' <"$T/all.json" |
	grep -q "'added /docs/a.txt'" || t_fail "files of the session"
"$BEEMOCTL" journal pc1 --json "${A[@]}" >"$T/pc1.json" || t_fail "journal --json"
[ "$(report_journal 'len(d)' <"$T/pc1.json")" = \
	"$(report_journal 'len([e for e in d if e["journal"] == "machine"])' <"$T/all.json")" ] ||
	t_fail "journal pc1 and --all differ"

# ---- read back: text, filters
"$BEEMOCTL" journal --all --files "${A[@]}" >"$T/all.txt" || t_fail "--all text"
grep -Eq '^[0-9: +-]{25}  \(appliance\)   key       admin         machine pc1: SECRET rotated' "$T/all.txt" &&
	grep -Eq '^[0-9: +-]{25}  pc1           virus     poste         virus ' "$T/all.txt" &&
	grep -q '^    added /docs/a.txt$' "$T/all.txt" ||
	t_fail "text: $(cat "$T/all.txt")"
"$BEEMOCTL" journal --all --type key "${A[@]}" >"$T/key.txt"
[ "$(wc -l <"$T/key.txt")" = 2 ] || t_fail "--type key: $(cat "$T/key.txt")"
"$BEEMOCTL" journal pc1 --type virus --files "${A[@]}" >"$T/v.txt"
grep -q '^    /docs/bad.com$' "$T/v.txt" || t_fail "virus files: $(cat "$T/v.txt")"
t_must_fail "--all with a machine" "$BEEMOCTL" journal pc1 --all "${A[@]}"
t_must_fail "--all as a user" "$BEEMOCTL" journal --all --user alice \
	--password-file "$T/alice.pw"
t_must_fail "--all with a wrong password" "$BEEMOCTL" journal --all \
	--password-file "$T/admin.pw"

# ---- kill -9 after the commit interval: the entry is there.
t_mount "$M"
echo "survivor" >"$M/survivor"
t_put_virus "$T/eicar.com" "$M/docs/bad2.com" ||
	t_fail "virus accepted"
# journaled OUT: both entries are in the committed journal (the index,
# read-only: what a crash cannot take back), printed into OUT.
journaled() {
	"$BEEMOCTL" journal pc1 --since 1h --files "${A[@]}" >"$1" &&
		grep -q '^    added /survivor$' "$1" &&
		grep -q 'virus .* found in /docs/bad2.com' "$1"
}
t_wait_for 20 journaled "$T/live.txt" ||
	t_fail "not in the committed journal within 20 s: $(cat "$T/live.txt")"
t_crash "$M"
journaled "$T/crash.txt" || t_fail "lost by kill -9: $(cat "$T/crash.txt")"

# ---- a changed byte in the appliance journal
seg=$(ls "$T"/store/journal/*.log | grep -v current | head -n 1)
[ -n "$seg" ] || t_fail "no closed segment (the maintenance run closes one)"
python3 - "$seg" <<-'EOF'
	import sys
	p = sys.argv[1]
	b = bytearray(open(p, "rb").read())
	b[16 + 40] ^= 1  # inside the first record's ciphertext
	open(p, "wb").write(bytes(b))
EOF
t_must_fail "journal --all with a damaged record" "$BEEMOCTL" journal --all \
	"${A[@]}"
grep -q "$(basename "$seg"): record 1 at offset 16 fails authentication" \
	"$T/must_fail.out" || t_fail "damage not named: $(cat "$T/must_fail.out")"
grep -q "machine pc1 added with user alice" "$T/must_fail.out" ||
	t_fail "the other entries were not listed"
t_log "ok"
