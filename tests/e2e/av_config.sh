#!/bin/bash
# av_config.sh -- issue 4: the daemon never silently runs without
# scanning.  A backup session refuses to start, with one clear error
# naming the directory, when the signature directory is missing, empty,
# holds no signature file, or holds a broken one; also with the default
# directory when it has no signatures.  Restore sessions (read-only) do
# not need signatures.  With [scan] enabled = no it mounts, logs a
# warning, and EICAR is then accepted.
. "$(dirname "$0")/lib.sh"

MNT="$T/mnt"
t_appliance
t_mount "$MNT"
echo "kept" >"$MNT/kept.txt"
t_umount "$MNT"

# conf SIGDIR [LINES...]: the configuration with [scan] signatures =
# SIGDIR ("-": no signatures key, the default directory) and LINES in the
# [scan] section.
conf() {
	local d=$1
	shift
	{
		echo "store = $T/store"
		echo "[scan]"
		[ "$d" = - ] || echo "signatures = $d"
		printf '%s\n' "$@"
	} >"$BEEMO_CONFIG"
}

# no_start WHAT REGEX: a backup session must not start; one line of
# beemofs on stderr matching REGEX (libclamav's own "LibClamAV Error:"
# lines may come before it); no mount, nothing changed under the store.
sums() { t_sums "$T/store/machines" | grep -v '/index/lock\.mdb$'; }
backup() {
	timeout 30 "$BEEMOFS" "$T/store" "$MNT" "$@" \
		-o "machine=pc1,keyfile=$T/pc1.poste" >"$T/out" 2>"$T/err" \
		</dev/null
}
no_start() {
	local rc=0 mode
	mkdir -p "$MNT"
	sums >"$T/sums.before"
	# In the foreground, and as a daemon (whose parent must report the
	# failure).
	for mode in -f daemon; do
		rc=0
		if [ $mode = -f ]; then
			backup -f || rc=$?
		else
			backup || rc=$?
		fi
		if mountpoint -q "$MNT"; then
			fusermount3 -u "$MNT"
			t_fail "$1 ($mode): mounted"
		fi
		[ $rc != 0 ] && [ $rc != 124 ] ||
			t_fail "$1 ($mode): exit status $rc"
		# Besides libclamav's own lines, a daemon may say it removed
		# the scan directory of one killed earlier (another test's).
		grep -v -e '^LibClamAV ' \
			-e '^beemofs: removing .*, left by process [0-9]*$' \
			"$T/err" >"$T/err1" || true
		[ "$(grep -c . "$T/err1")" = 1 ] ||
			t_fail "$1 ($mode): expected one line of beemofs on" \
				"stderr: $(cat "$T/err")"
		grep -Eq -- "$2" "$T/err1" ||
			t_fail "$1 ($mode): message '$(cat "$T/err1")' does" \
				"not match '$2'"
	done
	sums >"$T/sums.after"
	cmp -s "$T/sums.before" "$T/sums.after" ||
		t_fail "$1: files under the store changed:" \
			"$(diff "$T/sums.before" "$T/sums.after" | head -4)"
	t_log "ok: $1: $(cat "$T/err1")"
}

conf "$T/nosigs"
no_start "missing signature directory" "$T/nosigs: No such file or directory"
mkdir "$T/emptysigs"
conf "$T/emptysigs"
no_start "empty signature directory" "$T/emptysigs: no signature files"
echo "not a signature" >"$T/emptysigs/README"
echo "x" >"$T/emptysigs/notes.txt"
no_start "directory without signature files" \
	"$T/emptysigs: no signature files"
LOAD="cannot load signatures: "
mkdir "$T/brokensigs"
printf 'garbage\x01\x02 that is not a signature\n:::\n' \
	>"$T/brokensigs/broken.ndb"
conf "$T/brokensigs"
no_start "broken .ndb file" "$T/brokensigs: $LOAD"
mkdir "$T/brokenhdb"
echo "zz:12:Not.A.Hash" >"$T/brokenhdb/broken.hdb"
conf "$T/brokenhdb"
no_start "broken .hdb file" "$T/brokenhdb: $LOAD"
# A good file beside a broken one: still refused (never half the set).
cp "$T/sigs/beemo-test.hdb" "$T/brokensigs/"
conf "$T/brokensigs"
no_start "broken file beside a good one" "$T/brokensigs: $LOAD"
# The default directory (the one freshclam maintains), when it holds no
# signatures on this machine.
if ! ls /var/lib/clamav/*.c[vl]d /var/lib/clamav/*.[hn]db >/dev/null 2>&1
then
	conf -
	no_start "default signature directory without signatures" \
		"/var/lib/clamav: "
else
	t_log "note: /var/lib/clamav holds signatures: default not tried"
fi
# Restore sessions scan nothing: they start without signatures.
conf "$T/nosigs"
t_mount_session "$T/ro" "machine=pc1,user=alice,passfile=$T/alice.pw"
[ "$(cat "$T/ro/kept.txt")" = kept ] ||
	t_fail "restore session without signatures: wrong data"
t_umount "$T/ro"

# ---- scanning disabled ------------------------------------------------------
DISABLED="warning: antivirus scanning is disabled"
t_expect_log "$DISABLED by the configuration \(\[scan\] enabled = no\)$"
conf "$T/nosigs" "enabled = no"
t_mount "$MNT"
grep -q "$DISABLED" "$T/beemofs.log" ||
	t_fail "no warning when scanning is disabled"
printf '%s' "$T_EICAR" >"$T/eicar.com"
cp "$T/eicar.com" "$MNT/eicar.com" ||
	t_fail "with scanning disabled, EICAR was refused"
t_umount "$MNT"
t_mount "$MNT"
cmp -s "$T/eicar.com" "$MNT/eicar.com" ||
	t_fail "with scanning disabled, EICAR was not committed"
t_umount "$MNT"
[ "$(grep -c "$DISABLED" "$T/beemofs.log")" -ge 2 ] ||
	t_fail "the warning is not logged at every start"
t_log "PASS"
