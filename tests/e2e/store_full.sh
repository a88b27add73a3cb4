#!/bin/bash
# store_full.sh -- a full disk loses nothing that was acknowledged.  The
# store lives on a 40 MiB tmpfs; 1 MiB files are copied in until cp
# fails (ENOSPC: the store keeps its reserve for commits, journals and
# reports).  Every file whose cp succeeded is then in the live tree and,
# after the session's end and a remount, in the end-of-session snapshot,
# byte-exact.  The machine's journal and a mailed report say the disk is
# full, and `beemoctl status` shows the free space, the reserve and the
# state of the disk.  With no session mounted, `beemo-sync maintenance`
# raises and clears the disk's alert by itself.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/report_lib.sh"

[ "$(id -u)" = 0 ] || t_skip "mounting a tmpfs needs root"
mkdir -p "$T/store" "$T/src"
mount -t tmpfs -o size=40m,mode=0700 beemo-test "$T/store" ||
	t_skip "cannot mount a tmpfs"
# The machine's default quota (half the disk) would stop it first.
report_sendmail
report_config "[store]" "machine_quota = 100%"
t_appliance
M="$T/mnt"
t_mount "$M"
T_MOUNTS+=("$T/store") # unmounted after the FUSE mount
t_expect_log "disk is full|No space left on device"

ok=()
failed=""
for i in $(seq 1 60); do
	head -c 1M /dev/urandom >"$T/src/f$i"
	if cp "$T/src/f$i" "$M/f$i" 2>"$T/cp.err"; then
		ok+=("f$i")
	else
		failed=$i
		break
	fi
done
[ -n "$failed" ] || t_fail "60 MiB fit on a 40 MiB disk"
grep -q "No space left on device" "$T/cp.err" ||
	t_fail "cp failed otherwise: $(cat "$T/cp.err")"
[ ${#ok[@]} -ge 10 ] || t_fail "only ${#ok[@]} files fit"
t_log "${#ok[@]} files copied, f$failed refused"
# More attempts are refused as well, and never acknowledged then lost.
for i in 1 2; do
	if cp "$T/src/f1" "$M/again$i" 2>/dev/null; then
		ok+=("again$i")
		cp "$T/src/f1" "$T/src/again$i"
	fi
done

check_tree() { # DIR: every acknowledged file, byte-exact
	local f
	for f in "${ok[@]}"; do
		cmp -s "$T/src/$f" "$1/$f" || t_fail "$1/$f lost or wrong"
	done
}
check_tree "$M"
# Names take index space: refused too.
mkdir "$M/newdir" 2>"$T/mkdir.err" && t_fail "mkdir on a full disk"
grep -q "No space left on device" "$T/mkdir.err" ||
	t_fail "mkdir: $(cat "$T/mkdir.err")"
# Renames and chmods take index and journal space as well: a stream of
# them is refused too (it used to eat the reserve and lose every file of
# the session).  A deletion is still allowed.
python3 "$(dirname "$0")/meta_stream.py" "$M" "${ok[0]}" ENOSPC \
	>"$T/meta.out" 2>&1 || t_fail "renames and chmods: $(cat "$T/meta.out")"
t_log "refused on the full disk after $(sed -n 2p "$T/meta.out")"
cur=$(head -n 1 "$T/meta.out")
if [ "$cur" != "${ok[0]}" ]; then
	cp "$T/src/${ok[0]}" "$T/src/$cur"
	ok[0]=$cur
fi
last=${ok[${#ok[@]} - 1]}
rm "$M/$last" || t_fail "no deletion on a full disk"
unset "ok[${#ok[@]} - 1]"
check_tree "$M"
# df in the mount leaves the reserve out.
avail=$(df -B1 --output=avail "$M" | tail -n 1 | tr -d ' ')
[ "$avail" -lt $((2 * 1024 * 1024)) ] || t_fail "df shows $avail bytes free"
"$BEEMOCTL" status --json >"$T/st.json" || t_fail "status --json"
[ "$(report_json 'd["appliance"]["store_state"]' <"$T/st.json")" = full ] ||
	t_fail "status: the store is not full: $(cat "$T/st.json")"
reserve=$(report_json 'd["appliance"]["store_reserve"]' <"$T/st.json")
[ "$reserve" = $((8 * 1024 * 1024)) ] || t_fail "reserve $reserve"
"$BEEMOCTL" status >"$T/st.txt" || t_fail "status"
grep -q "FULL" "$T/st.txt" || t_fail "status text: $(cat "$T/st.txt")"
"$BEEMOCTL" metrics --output - >"$T/prom" || t_fail "metrics"
grep -q "^beemo_store_reserve_bytes $reserve$" "$T/prom" ||
	t_fail "metrics: $(cat "$T/prom")"

t_umount "$M" # the end-of-session snapshot must succeed
t_mount "$M"
check_tree "$M"
# History is browsed with a password (a backup session has none).
R=$T/restore
t_mount_session "$R" "machine=pc1,user=alice,passfile=$T/alice.pw"
snap=$(ls "$R/.snapshots" | sort -n | tail -n 1)
[ -n "$snap" ] || t_fail "no snapshot"
check_tree "$R/.snapshots/$snap"
t_umount "$R"
"$BEEMOCTL" journal pc1 --type error --password-file "$T/admin.pw" \
	>"$T/j.txt" || t_fail "journal"
grep -q "the store's disk is full: new data is refused" "$T/j.txt" ||
	t_fail "the journal does not say the disk is full: $(cat "$T/j.txt")"
t_umount "$M"

report_maint m1 --reports-only || t_fail "maintenance: $(cat "$T/m1.err")"
report_mails >"$T/mails.json"
grep -q "the store's disk is full: backups fail" "$T/mails.json" ||
	t_fail "no report of the full disk: $(cat "$T/mails.json")"
grep -q "the store's disk is \(full\|low on space\)" "$T/mails.json" ||
	t_fail "no space alert: $(cat "$T/mails.json")"

# With no session mounted, maintenance itself watches the disk: a larger
# disk clears the alert, a filler file raises it again.
n=$(report_count)
mount -o remount,size=400m "$T/store" || t_fail "remount the tmpfs larger"
report_maint m2 --reports-only || t_fail "maintenance: $(cat "$T/m2.err")"
report_mails | tail -n +$((n + 1)) >"$T/mails2.json"
grep -q "RESOLVED.*the store's disk has space again" "$T/mails2.json" ||
	t_fail "no resolved space alert: $(cat "$T/mails2.json")"
n=$(report_count)
avail=$(df -B1 --output=avail "$T/store" | tail -n 1 | tr -d ' ')
head -c $((avail - 20 * 1024 * 1024)) /dev/zero >"$T/store/filler"
report_maint m3 --reports-only || t_fail "maintenance: $(cat "$T/m3.err")"
report_mails | tail -n +$((n + 1)) >"$T/mails3.json"
grep -q "the store's disk is low on space" "$T/mails3.json" ||
	t_fail "no space alert without a session: $(cat "$T/mails3.json")"
t_log "ok"
