#!/bin/bash
# attack_everyday_password.sh -- a password command (--password-command,
# $BEEMO_PASSWORD_COMMAND, beemofs -o password-command=) that prints
# without end, or prints the password and then keeps running, must not
# hold the verb for ever (a mount at boot, a timer): once the password
# line is read, at most 1 MiB more are read and the command has 5 s to
# end, else it is killed and the password refused.  A command that
# prints a few more lines and exits still works.
. "$(dirname "$0")/lib.sh"

t_appliance
M="$T/mnt"
t_mount "$M"
echo data >"$M/f"
t_umount "$M"

# ls_with CMD: beemoctl ls with --password-command CMD, at most 30 s.
ls_with() {
	timeout 30 "$BEEMOCTL" ls pc1 latest --password-command "$1" \
		>"$T/ls.out" 2>"$T/ls.err"
}

# Good commands: the password, then other lines (a few KiB), exit 0.
ls_with 'printf "admin-pw\nurl: x\n"' ||
	t_fail "two lines: $(cat "$T/ls.err")"
grep -qx f "$T/ls.out" || t_fail "ls: $(cat "$T/ls.out")"
ls_with 'echo admin-pw; seq 1 2000' ||
	t_fail "the password, then 9 KB: $(cat "$T/ls.err")"
# Exited, a child of it still holding standard output: accepted once
# the command has ended.
ls_with 'echo admin-pw; sleep 8 & exit 0' ||
	t_fail "a child kept standard output: $(cat "$T/ls.err")"

# The password, then output without end.
start=$SECONDS
rc=0
ls_with 'echo admin-pw; yes' || rc=$?
[ $rc = 124 ] && t_fail "a command printing without end holds beemoctl"
[ $rc = 0 ] && t_fail "a command killed by SIGPIPE was taken"
grep -q "password command 'echo admin-pw; yes'" "$T/ls.err" ||
	t_fail "not said: $(cat "$T/ls.err")"
[ $((SECONDS - start)) -le 10 ] || t_fail "yes: $((SECONDS - start)) s"

# The password, then running on.
start=$SECONDS
rc=0
ls_with 'echo admin-pw; exec sleep 40' || rc=$?
[ $rc = 124 ] && t_fail "a command that does not end holds beemoctl"
[ $rc = 0 ] && t_fail "a command killed for not ending was taken"
grep -q "killed by signal 9" "$T/ls.err" ||
	t_fail "not said: $(cat "$T/ls.err")"
[ $((SECONDS - start)) -le 10 ] || t_fail "sleep: $((SECONDS - start)) s"

# Megabytes on the first line: refused, at once.
start=$SECONDS
rc=0
ls_with 'head -c 5000000 /dev/zero | tr "\0" a' || rc=$?
[ $rc = 124 ] && t_fail "a huge first line holds beemoctl"
[ $rc = 0 ] && t_fail "a 5 MB password was taken"
[ $((SECONDS - start)) -le 10 ] || t_fail "huge: $((SECONDS - start)) s"
t_log "ok"
