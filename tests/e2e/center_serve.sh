#!/bin/bash
# center_serve.sh -- OpenSSH's sftp with the appliance's own key against
# beemo-center serve: an accepted object cannot be removed, renamed,
# overwritten, truncated, chmod'ed or linked, and its SHA-256 stays; a
# new object is accepted; an interrupted put stays partial (invisible in
# listings) and `reput` completes it byte-exact; nothing outside data/
# is read or written, whatever the path or a planted symbolic link; a
# second appliance's key, forced to its own area on the same sshd,
# neither sees nor touches the first one's files.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd_lib.sh"
. "$(dirname "$0")/center_lib.sh"

sshd_require
center_start a
A="$T/area_a"
mkdir -p "$A/data/center"
head -c 300000 /dev/urandom >"$T/obj"
head -c 100000 /dev/urandom >"$T/other"

# ok CMD...: one sftp batch that must succeed; no CMD...: must fail.
ok() { printf '%s\n' "$@" | center_sftp a -b - >>"$T/sftp.log" 2>&1 ||
	t_fail "sftp refused: $*"; }
no() { printf '%s\n' "$@" | center_sftp a -b - >>"$T/sftp.log" 2>&1 &&
	t_fail "sftp allowed: $*"; true; }
sum() { sha256sum <"$1" | cut -d' ' -f1; }

ok "mkdir d" "put $T/obj d/obj"
cmp -s "$T/obj" "$A/data/d/obj" || t_fail "put of a new object not accepted"
s0=$(sum "$A/data/d/obj")

no "rm d/obj"
no "rename d/obj d/moved"
no "put $T/other d/obj"
no "chmod 600 d/obj"
no "chmod 000 d"
no "symlink d/obj d/link"
no "ln d/obj d/hard"
no "rmdir d"
# A truncating open by hand: reput of a shorter file must not shrink it.
head -c 1000 "$T/obj" >"$T/short"
no "put $T/short d/obj"
ok "put $T/other d/tmpsrc"
no "rename d/tmpsrc d/obj"
[ "$(sum "$A/data/d/obj")" = "$s0" ] || t_fail "an accepted object changed"
[ ! -e "$A/data/d/moved" ] && [ ! -e "$A/data/d/link" ] &&
	[ ! -e "$A/data/d/hard" ] || t_fail "a refused request left a name"
[ "$(stat -c %a "$A/data/d")" = 700 ] || t_fail "chmod of a directory"
grep -q "refused remove /d/obj: accepted objects are never removed" \
	"$A/state/journal" || t_fail "refusal not journaled"
# Reports of the center are read-only for the appliance.
echo report >"$A/data/center/scrub.json"
ok "get center/scrub.json $T/report"
no "put $T/obj center/new"
no "mkdir center/x"
[ ! -e "$A/data/center/new" ] || t_fail "write under center/"

# ---- an interrupted put, resumed with reput ----------------------------
head -c 4000000 /dev/urandom >"$T/big"
echo "put $T/big d/big" | center_sftp a -l 4000 -b - >>"$T/sftp.log" 2>&1 &
pid=$!
part() { find "$A/state/partial" -type f -size +500k | grep -q .; }
t_wait_for 30 part || t_fail "the slow put did not start"
sshd_kill a
wait $pid 2>/dev/null && t_fail "the cut put succeeded"
center_start a
[ ! -e "$A/data/d/big" ] || t_fail "an interrupted put was accepted"
center_sftp a -b - <<<"ls -a d" >"$T/ls" 2>&1 || t_fail "ls d"
grep -q big "$T/ls" && t_fail "a partial upload is listed"
size=$(find "$A/state/partial" -type f -printf '%s\n')
t_log "interrupted at $size bytes"
[ "$size" -lt 4000000 ] || t_fail "the put was not interrupted"
ok "reput $T/big d/big"
cmp "$T/big" "$A/data/d/big" || t_fail "reput result differs"
[ -z "$(ls -A "$A/state/partial")" ] || t_fail "partial left after accept"

# ---- nothing outside data/ ---------------------------------------------
echo "outside" >"$T/outside.txt"
mkdir -p "$T/outdir"
ln -s "$T/outside.txt" "$A/data/evil"
ln -s "$T/outdir" "$A/data/evildir"
no "get ../state/usage $T/got1"
no "get /../area.conf $T/got2"
no "get ../../outside.txt $T/got3"
no "get evil $T/got4"
no "get evildir/../../outside.txt $T/got5"
no "put $T/obj evildir/x"
ok "put $T/obj ../escaped"
[ -f "$A/data/escaped" ] || t_fail "../escaped is not /escaped"
no "rm evil"
[ ! -e "$T/got1" ] && [ ! -e "$T/got2" ] && [ ! -e "$T/got3" ] &&
	[ ! -e "$T/got4" ] && [ ! -e "$T/got5" ] ||
	t_fail "a file outside data/ was read"
[ -z "$(ls -A "$T/outdir")" ] && [ ! -e "$A/escaped" ] &&
	[ ! -e "$T/escaped" ] || t_fail "a file outside data/ was written"
[ -L "$A/data/evil" ] || t_fail "the planted link was removed"
center_sftp a -b - <<<$'ls -a /..\ncd ../..\nls -a\npwd' >"$T/ls" 2>&1 ||
	t_fail "ls /.. failed"
grep -qE 'area\.conf|state|partial' "$T/ls" && t_fail "ls shows AREA"
grep -q "Remote working directory: /$" "$T/ls" || t_fail "cd .. above /"

# ---- a second area on the same sshd, with its own key -------------------
center_area b
B="$T/area_b"
ssh-keygen -q -t ed25519 -N '' -f "$T/id_b" || t_fail "ssh-keygen"
printf 'command="%s serve --area %s",restrict %s\n' "$BEEMO_CENTER" "$B" \
	"$(cat "$T/id_b.pub")" >>"$T/sshd_a/authorized_keys"
bsftp() {
	sftp -q -o BatchMode=yes -o "UserKnownHostsFile=$T/known_hosts_a" \
		-o StrictHostKeyChecking=yes -o IdentitiesOnly=yes \
		-i "$T/id_b" -P "${SSHD_PORT[a]}" -b - "$(id -un)@127.0.0.1" \
		>>"$T/sftp_b.log" 2>&1
}
bsftp <<<"put $T/other mine" || t_fail "area b cannot put"
cmp -s "$T/other" "$B/data/mine" || t_fail "b's object not in area b"
[ ! -e "$A/data/mine" ] || t_fail "b's put landed in area a"
bsftp <<<"ls -la /" || t_fail "area b cannot list"
grep -qE ' d$| evil' "$T/sftp_b.log" && t_fail "b lists area a"
for p in d/obj /d/obj ../area_a/data/d/obj ../../area_a/data/d/obj \
	"$A/data/d/obj"; do
	bsftp <<<"get $p $T/stolen" && t_fail "b read $p"
	bsftp <<<"rm $p" && t_fail "b removed $p"
done
[ ! -e "$T/stolen" ] || t_fail "b read a file of area a"
[ "$(sum "$A/data/d/obj")" = "$s0" ] || t_fail "b changed a's object"
t_log "ok"
