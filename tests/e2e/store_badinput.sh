#!/bin/bash
# store_badinput.sh -- promise 6d: bad mount options, a wrong or damaged
# POSTE key file, a wrong password, a missing or foreign store, and a
# malformed configuration file each get one clear line on stderr and a
# non-zero exit; nothing is mounted, no beemofs process stays behind, and
# not one byte of the stored data changes (a sha256 listing of every file
# under STORE/keys and STORE/machines is compared before and after each
# attempt).  The same for the beemoctl
# verbs that open a store with a password.
. "$(dirname "$0")/lib.sh"

M="$T/m"
mkdir -p "$M"
t_appliance
"$BEEMOCTL" machine add pc2 --user bob --password-file "$T/admin.pw" \
	--user-password-file "$T/alice.pw" --poste-key "$T/pc2.poste" \
	>/dev/null || t_fail "machine add pc2"
t_mount "$T/mnt"
echo "some data" >"$T/mnt/file"
t_umount "$T/mnt"
t_pw "$T/wrong.pw" not-the-password

# sums: the stored data -- keys/ and machines/ (not the appliance's
# reports spool and status files) -- with sha256, but LMDB's lock file
# (its reader table changes whenever the index is opened, even read-only).
sums() {
	t_sums "$T/store/keys"
	t_sums "$T/store/machines" | grep -v '/index/lock\.mdb$'
}

N=0
FAILED=()
bad() {
	t_log "FAIL: $*"
	FAILED+=("$*")
}
# mounted DIR: is anything mounted on DIR?
mounted() { awk -v m="$1" '$2 == m {f = 1} END {exit !f}' /proc/self/mounts; }

# refused WHAT REGEX CMD...: CMD must exit non-zero within 15 s with one
# line on stderr matching REGEX (extended), mount nothing on $MP (default
# $M), leave no beemofs process on it, and change nothing under $T/store.
# A failure is recorded (bad) and the next attempt runs, so that one run
# reports them all.
# no_daemon_on MP: no beemofs process serves mount point MP.
no_daemon_on() { ! pgrep -f "beemofs .* $1( |\$)" >/dev/null; }
refused() {
	local what=$1 re=$2 rc=0 lines pid mp=${MP:-$M}
	shift 2
	N=$((N + 1))
	sums >"$T/sums.before"
	"$@" >"$T/out" 2>"$T/err" </dev/null &
	pid=$!
	t_wait_for 15 eval '! t_running $pid || mounted "$mp"' || true
	if mounted "$mp" || t_running $pid; then
		mounted "$mp" && { fusermount3 -u "$mp" || umount -l "$mp"; }
		t_wait_for 10 no_daemon_on "$mp" || true
		kill $pid 2>/dev/null || true
		wait $pid 2>/dev/null || true
		bad "$what: mounted on $mp, or still running after 15 s:" \
			"$(cat "$T/err")"
		return
	fi
	wait $pid || rc=$?
	if [ $rc = 0 ]; then
		bad "$what: exit status 0"
		return
	fi
	lines=$(grep -c . "$T/err" || true)
	if [ "$lines" != 1 ]; then
		bad "$what: expected one line on stderr, got $lines:" \
			"$(cat "$T/err")"
		return
	fi
	if ! grep -Eq -- "$re" "$T/err"; then
		bad "$what: message '$(cat "$T/err")' does not match '$re'"
		return
	fi
	if ! t_wait_for 5 no_daemon_on "$mp"; then
		bad "$what: a beemofs process is left:" \
			"$(pgrep -af "beemofs .* $mp( |\$)")"
		return
	fi
	sums >"$T/sums.after"
	if ! cmp -s "$T/sums.before" "$T/sums.after"; then
		bad "$what: $(cat "$T/err") (exit $rc), but files under the" \
			"store changed: $(diff "$T/sums.before" "$T/sums.after" |
				awk '/^[<>]/ {print $3}' | sort -u | tr '\n' ' ')"
		return
	fi
	t_log "ok: $what: $(cat "$T/err") (exit $rc)"
}

S="$T/store"
K="keyfile=$T/pc1.poste"
PA="passfile=$T/admin.pw"
PU="passfile=$T/alice.pw"
PW="passfile=$T/wrong.pw"
# fs [-f] OPTIONS: beemofs on $S and $M with OPTIONS ($MP as mount point
# if set).
fs() {
	local fg=
	[ "$1" != -f ] || { fg=-f; shift; }
	"$BEEMOFS" "$S" "${MP:-$M}" $fg -o "$1"
}

# Both in the foreground (-f) and as a daemon (the parent must report the
# child's failure).
for fg in -f ""; do
	m=${fg:-daemon}
	# ---- mount options ----------------------------------------------
	refused "$m: no machine=" "machine=NAME is required" fs $fg "$K"
	refused "$m: unknown machine" "machine pc9.*no such machine" \
		fs $fg "machine=pc9,$K"
	refused "$m: keyfile= and user=" "exactly one of" \
		fs $fg "machine=pc1,$K,user=alice,$PU"
	refused "$m: user= and admin" "exactly one of" \
		fs $fg "machine=pc1,user=alice,admin,$PU"
	refused "$m: no principal" "exactly one of" fs $fg "machine=pc1"
	refused "$m: machine name with a slash" "not a valid machine name" \
		fs $fg "machine=../pc1,$K"
	refused "$m: bad user name" "not a valid user name" \
		fs $fg "machine=pc1,user=a/b,$PU"
	refused "$m: unknown option" "unknown option.*frobnicate" \
		fs $fg "machine=pc1,$K,frobnicate"
	refused "$m: no mount point" "MOUNTPOINT" \
		"$BEEMOFS" "$S" $fg -o "machine=pc1,$K"
	# ---- key files ----------------------------------------------------
	refused "$m: another machine's POSTE key" \
		"pc2.poste.*machine pc1.*wrong password or key file" \
		fs $fg "machine=pc1,keyfile=$T/pc2.poste"
	refused "$m: missing key file" "missing.poste.*No such file" \
		fs $fg "machine=pc1,keyfile=$T/missing.poste"
	# ---- passwords ----------------------------------------------------
	refused "$m: wrong user password" \
		"machine pc1 as user alice: wrong password" \
		fs $fg "machine=pc1,user=alice,$PW"
	refused "$m: wrong admin password" \
		"machine pc1 as administrator: wrong password" \
		fs $fg "machine=pc1,admin,$PW"
	refused "$m: a user's password as the admin's" \
		"as administrator: wrong password" fs $fg "machine=pc1,admin,$PU"
	refused "$m: unknown user" "as user carol: no such user" \
		fs $fg "machine=pc1,user=carol,$PU"
	refused "$m: user of another machine" \
		"machine pc2 as user alice: no such user" \
		fs $fg "machine=pc2,user=alice,$PU"
	refused "$m: missing password file" "nofile.pw.*No such file" \
		fs $fg "machine=pc1,admin,passfile=$T/nofile.pw"
	# ---- stores and mount points ----------------------------------------
	refused "$m: missing store directory" "nostore.*No such file" \
		"$BEEMOFS" "$T/nostore" "$M" $fg -o "machine=pc1,$K"
	mkdir -p "$T/emptystore"
	refused "$m: empty store directory" "emptystore.*not a Beemo store" \
		"$BEEMOFS" "$T/emptystore" "$M" $fg -o "machine=pc1,$K"
	refused "$m: restore session of a machine without backups" \
		"pc2.*(no backups|no such)" fs $fg "machine=pc2,admin,$PA"
	MP="$T/nomnt" refused "$m: mount point missing" "nomnt" \
		fs $fg "machine=pc1,$K"
	: >"$T/afile"
	MP="$T/afile" refused "$m: mount point is a file" "afile" \
		fs $fg "machine=pc1,$K"
done
# A second backup session of a machine that is mounted.  The mounted
# session commits its opening for a moment: wait until the store's files
# stop changing, so that only the refused attempt could change them.
t_mount "$T/mnt"
for i in $(seq 1 30); do
	sums >"$T/sums.a"
	sleep 1.2 # longer than the commit interval
	sums >"$T/sums.b"
	cmp -s "$T/sums.a" "$T/sums.b" && break
done
refused "second backup session" "already mounted" fs -f "machine=pc1,$K"
t_umount "$T/mnt"

# Damaged key files: a changed byte in several places, truncated, empty,
# and another file altogether.
BADKEY="bad.poste: cannot open machine pc1 with this key file: "
SIZE=$(stat -c %s "$T/pc1.poste")
for off in 0 9 $((SIZE / 3)) $((SIZE / 2)) $((SIZE - 1)); do
	python3 - "$T/pc1.poste" "$T/bad.poste" "$off" <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[int(sys.argv[3])] ^= 0x01
open(sys.argv[2], "wb").write(b)
PY
	refused "key file with byte $off changed" "$BADKEY" \
		fs -f "machine=pc1,keyfile=$T/bad.poste"
done
head -c $((SIZE / 2)) "$T/pc1.poste" >"$T/bad.poste"
refused "truncated key file" "$BADKEY" fs -f "machine=pc1,keyfile=$T/bad.poste"
: >"$T/bad.poste"
refused "empty key file" "$BADKEY" fs -f "machine=pc1,keyfile=$T/bad.poste"
refused "a password file as key file" \
	"admin.pw: cannot open machine pc1 with this key file: " \
	fs -f "machine=pc1,keyfile=$T/admin.pw"

# ---- beemoctl with wrong secrets -------------------------------------------
refused "beemoctl snapshots: wrong admin password" "wrong password" \
	"$BEEMOCTL" snapshots pc1 --password-file "$T/wrong.pw"
refused "beemoctl check: wrong user password" "wrong password" \
	"$BEEMOCTL" check pc1 --user alice --password-file "$T/wrong.pw"
refused "beemoctl restore: wrong admin password" "wrong password" \
	"$BEEMOCTL" restore pc1 latest --target "$T/restored" \
	--password-file "$T/wrong.pw"
refused "beemoctl snapshot: another machine's key file" \
	"pc2.poste.*(machine pc2|wrong password or key file)" \
	"$BEEMOCTL" snapshot pc1 --poste-key "$T/pc2.poste"
refused "beemoctl restore: unknown snapshot" "snapshot.*(99|not found|no such)" \
	"$BEEMOCTL" restore pc1 99 --target "$T/restored" \
	--password-file "$T/admin.pw"
refused "beemoctl: unknown machine" "pc9" \
	"$BEEMOCTL" snapshots pc9 --password-file "$T/admin.pw"

# ---- malformed configuration -------------------------------------------------
# conf_case WHAT REGEX LINES...: a configuration file made of LINES is
# refused by beemofs and by beemoctl, naming the file and line.
conf_case() {
	local what=$1 re=$2
	shift 2
	printf '%s\n' "$@" >"$T/bad.conf"
	refused "beemofs, config: $what" "bad.conf$re" \
		fs -f "machine=pc1,$K,config=$T/bad.conf"
	refused "beemoctl, config: $what" "bad.conf$re" \
		"$BEEMOCTL" -c "$T/bad.conf" snapshots pc1 \
		--password-file "$T/admin.pw"
}
SIGS="signatures = $T/sigs"
conf_case "unclosed section" ":3: .*]" "store = $S" "" "[scan" "$SIGS"
conf_case "no '='" ":2: .*key = value" "store = $S" "signatures $T/sigs"
conf_case "unknown key" ":1: unknown key 'frobnicate'" "frobnicate = 1"
conf_case "bad size" ":3: max_file_size must be" \
	"store = $S" "[scan]" "max_file_size = lots" "$SIGS"
printf '%s\n' "store = $S" "[scan]" "$SIGS" "oversize = maybe" >"$T/bad.conf"
refused "beemofs, config: bad oversize policy" \
	"bad.conf.*oversize must be flag or refuse" \
	fs -f "machine=pc1,$K,config=$T/bad.conf"
refused "beemofs, config: missing file" "nosuch.conf.*No such file" \
	fs -f "machine=pc1,$K,config=$T/nosuch.conf"

# ---- a foreign store ------------------------------------------------------
# Another appliance with a machine of the same name; its machine
# directory copied in place of ours.
O="$T/other"
mkdir -p "$O/mnt"
"$BEEMOCTL" -s "$O/store" init "${T_KDF[@]}" --password-file "$T/admin.pw" \
	>/dev/null || t_fail "init of the other appliance"
"$BEEMOCTL" -s "$O/store" machine add pc1 --user alice \
	--password-file "$T/admin.pw" --user-password-file "$T/alice.pw" \
	--poste-key "$O/pc1.poste" >/dev/null ||
	t_fail "machine add on the other appliance"
"$BEEMOFS" "$O/store" "$O/mnt" -f -o "machine=pc1,keyfile=$O/pc1.poste" \
	2>/dev/null &
OPID=$!
T_PIDS+=($OPID)
t_wait_for 20 mountpoint -q "$O/mnt" ||
	t_fail "the other appliance's beemofs does not mount"
echo "other appliance's data" >"$O/mnt/file" || t_fail "the other appliance"
fusermount3 -u "$O/mnt"
wait $OPID || t_fail "the other appliance's beemofs failed"
mv "$S/machines/pc1" "$T/pc1.ours"
cp -a "$O/store/machines/pc1" "$S/machines/pc1"
for fg in -f ""; do
	m=${fg:-daemon}
	refused "$m: foreign machine directory, POSTE key" "(another|foreign)" \
		fs $fg "machine=pc1,$K"
	refused "$m: foreign machine directory, user" "(another|foreign)" \
		fs $fg "machine=pc1,user=alice,$PU"
	refused "$m: foreign machine directory, admin" "(another|foreign)" \
		fs $fg "machine=pc1,admin,$PA"
done
refused "beemoctl check: foreign machine directory" "(another|foreign)" \
	"$BEEMOCTL" check pc1 --password-file "$T/admin.pw"
rm -rf "$S/machines/pc1"
mv "$T/pc1.ours" "$S/machines/pc1"

# Ours still works and holds its data.
t_mount_session "$T/ro" "machine=pc1,user=alice,$PU"
[ "$(cat "$T/ro/file")" = "some data" ] || t_fail "our data changed"
t_umount "$T/ro"
"$BEEMOCTL" check pc1 --read-data --password-file "$T/admin.pw" \
	>"$T/check.out" || t_fail "check afterwards: $(cat "$T/check.out")"
[ ${#FAILED[@]} = 0 ] ||
	t_fail "${#FAILED[@]} of $N attempts went wrong (see above)"
t_log "PASS ($N refused attempts)"
