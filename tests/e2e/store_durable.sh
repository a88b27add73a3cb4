#!/bin/bash
# store_durable.sh -- a disk error is never a success.  fault_sync.c,
# preloaded into beemofs, fails one fdatasync of a pack with EIO, as
# Linux does after a failed writeback (reported once, then the pages are
# "clean").  The fsync() of the file written meanwhile must fail, the
# store must refuse every later change (nothing claims success), a file
# whose close() succeeded but that the failed commit could not keep must
# be named in the machine's journal and in a report, and after a remount
# everything committed before is there, byte-exact.  Commits happen only
# on fsync here (a long commit interval), so that the failing commit is
# the one the test means.
. "$(dirname "$0")/lib.sh"

[ -f "${BEEMO_FAULT_SYNC_LIB:-}" ] || t_skip "no fault_sync library"
command -v python3 >/dev/null || t_skip "no python3"
. "$(dirname "$0")/report_lib.sh"
report_sendmail
report_config "[store]" "commit_interval = 1h"
t_appliance
M="$T/mnt"
# ASan wants its runtime first; the fault library comes before it.
LD_PRELOAD="$BEEMO_FAULT_SYNC_LIB" BEEMO_FAULT_SYNC="$T/fault" \
	ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" t_mount "$M"

# write FILE BYTES [nosync]: write random bytes and fsync (unless
# nosync); prints the errno name of the first failure ("ok" if none) and
# keeps the data in $T/FILE.
write() {
	python3 - "$M/$1" "$T/$1" "$2" "${3:-}" <<-'EOF2'
		import errno, os, sys
		data = os.urandom(int(sys.argv[3]))
		open(sys.argv[2], "wb").write(data)
		try:
		    fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT, 0o644)
		    os.write(fd, data)
		    if sys.argv[4] != "nosync":
		        os.fsync(fd)
		    os.close(fd)
		    print("ok")
		except OSError as e:
		    print(errno.errorcode[e.errno])
	EOF2
}

[ "$(write a 300000)" = ok ] || t_fail "fsync of a without a fault"
[ "$(write b 2000000)" = ok ] || t_fail "fsync of b without a fault"
# c: closed (acknowledged), to be committed with the next commit.
[ "$(write c 500000 nosync)" = ok ] || t_fail "close of c"
touch "$T/fault"
got=$(write d 1000000)
[ ! -e "$T/fault" ] || t_fail "no pack was synced: the fault never fired"
[ "$got" = EIO ] || t_fail "fsync of d after a failed fdatasync: $got"
t_expect_log "fdatasync failed: Input/output error"
t_expect_log "cannot prepare commit|could not commit|lost: |commit failed"
t_expect_log "cannot commit|could not be backed up|cannot store new content"
t_expect_log "end of the session is not journaled|closing the store failed|end-of-session snapshot failed"
t_expect_log "journal: cannot record a"
# Nothing is acknowledged any more.
got=$(write e 1000)
[ "$got" != ok ] || t_fail "a write after the failure claims success"
got=$(write f 1000 nosync)
[ "$got" != ok ] || t_fail "a close after the failure claims success"

pid=${T_MOUNT_PID[$M]}
fusermount3 -u "$M" || t_fail "fusermount3 -u"
wait "$pid" && t_fail "beemofs exited 0 after a failed commit"
unset "T_MOUNT_PID[$M]"

# Remount: what was committed is there; c and d are named as lost.
t_mount "$M"
for f in a b; do
	cmp -s "$T/$f" "$M/$f" || t_fail "$f differs after the failure"
done
for f in c d e f; do
	[ ! -e "$M/$f" ] || t_fail "$f is there after a failed commit"
done
"$BEEMOCTL" journal pc1 --type error --files --password-file "$T/admin.pw" \
	>"$T/j.txt" || t_fail "journal"
grep -q "could not commit (Input/output error)" "$T/j.txt" &&
	grep -q "added /c" "$T/j.txt" && grep -q "added /d" "$T/j.txt" ||
	t_fail "the journal does not name the lost files: $(cat "$T/j.txt")"
t_umount "$M"
"$BEEMOCTL" check pc1 --password-file "$T/admin.pw" >"$T/check.out" 2>&1 ||
	t_fail "check after the failure: $(cat "$T/check.out")"
report_maint m1 --reports-only || t_fail "maintenance: $(cat "$T/m1.err")"
report_mails >"$T/mails.json"
grep -q "pc1: changes lost: the store could not commit" "$T/mails.json" &&
	grep -q "added /c" "$T/mails.json" ||
	t_fail "no report names the lost files: $(cat "$T/mails.json")"
t_log "ok"
