#!/bin/bash
# session_keyleak.sh -- the POSTE key file lives on the client only.
# After a backup session opened with it over the network (beemo-backup in
# its own namespace, netns_lib.sh):
#   - no copy of the key file's bytes is anywhere on the appliance's
#     disk: every file under $T but the client's directory, and what
#     changed during the test under /tmp, /var/tmp, /dev/shm and /run, is
#     searched for several 32-byte slices of its sealed part and for its
#     digest.  Negative controls: the same search finds them in the
#     client's copy, and in a copy planted inside a file of the store.
#   - the appliance's disk alone (store and configuration, no key file)
#     opens nothing: beemofs without a principal does not mount, and each
#     beemoctl verb that reads data fails without a password, while the
#     same command with the administrator's password works.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd_lib.sh"
. "$(dirname "$0")/netns_lib.sh"

netns_require
netns_setup 1
M=${NS_M[1]}
D="${NS_DIR[1]}/data"
mkdir -p "$D"
for i in $(seq 1 20); do echo "file $i" >"$D/f$i"; done
head -c 200000 /dev/urandom >"$D/random.bin"

netns_backup 1 b1 "$D" || t_fail "backup: exit $? ($(cat "$T/b1.err"))"
echo "more" >>"$D/f1"
netns_backup 1 b2 "$D" || t_fail "backup 2: exit $? ($(cat "$T/b2.err"))"
# A session that ends without END (a lost connection) too.
netns_hold_open 1
case $NS_REPLY in OK*) ;; *) t_fail "open: $NS_REPLY" ;; esac
kill -9 "$NS_HOLD_PID" 2>/dev/null
wait "$NS_HOLD_PID" 2>/dev/null || true
t_wait_for 30 eval '[ "$(netns_snapshots 1 | wc -l)" -ge 3 ]' ||
	t_fail "no snapshot after a lost connection: $(netns_snapshots 1)"

# ---- search by content
netns_key_slices "${NS_KEY[1]}" >"$T/slices"
found=$(netns_find_slices "$T/slices" --clients "${NS_DIR[1]}")
[ "$found" = "${NS_KEY[1]}" ] ||
	t_fail "negative control: the search finds [$found] in the client's directory"
# ... and in a file of the appliance's that holds the key inside other
# bytes, planted for the control and removed.
{ head -c 5000 /dev/urandom; cat "${NS_KEY[1]}"; head -c 777 /dev/urandom; } \
	>"$T/store/planted"
found=$(netns_find_slices "$T/slices" "$T" /tmp /var/tmp /dev/shm /run)
[ "$found" = "$T/store/planted" ] ||
	t_fail "negative control: the search finds [$found], not the planted copy"
rm "$T/store/planted"
found=$(netns_find_slices "$T/slices" "$T" /tmp /var/tmp /dev/shm /run)
[ -z "$found" ] || t_fail "the key file's bytes are on the appliance: $found"

# ---- the appliance's disk alone
unset BEEMO_PASSWORD_FILE
mkdir -p "$T/mnt"
if timeout 20 "$BEEMOFS" "$T/store" "$T/mnt" -f -o "machine=$M" \
	</dev/null >"$T/beemofs_nokey.out" 2>&1; then
	t_fail "beemofs mounted $M with no key file or password"
fi
mountpoint -q "$T/mnt" && t_fail "beemofs mounted $M without a principal"
verbs=(
	"snapshots $M"
	"ls $M latest /"
	"find $M f1"
	"dump $M 1 $D/f2"
	"diff $M 1 2"
	"export $M latest --format tar --output $T/export.tar"
	"restore $M latest --target $T/restored"
	"journal $M"
	"check $M --read-data"
	"key unlock $M --admin"
)
for v in "${verbs[@]}"; do
	rm -rf "$T/restored" "$T/export.tar"
	# shellcheck disable=SC2086
	if "$BEEMOCTL" $v </dev/null >"$T/verb.out" 2>&1; then
		t_fail "beemoctl $v works without a password: $(head -3 "$T/verb.out")"
	fi
	rm -rf "$T/restored" "$T/export.tar"
	# shellcheck disable=SC2086
	"$BEEMOCTL" $v --password-file "$T/admin.pw" </dev/null \
		>"$T/verb.out" 2>&1 ||
		t_fail "control: beemoctl $v with the password: $(head -3 "$T/verb.out")"
done
t_log "ok: ${#verbs[@]} verbs refused without a password"
