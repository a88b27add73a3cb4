# attack_session_lib.sh -- the appliance side of client backup sessions
# (beemo-sessiond, beemo-session) without sshd, for the attack_session_*
# tests: sourced after lib.sh.
#
# as_setup makes the appliance (machine $AS_M, user alice, key file
# $T/$AS_M.poste), its account "beemo-$AS_M" (removed at exit), starts
# beemo-sessiond on $T/sd.sock with run dir $T/run, and writes $T/rsh:
# what sshd does with the account's forced command (the command line in
# SSH_ORIGINAL_COMMAND, beemo-session run as the account), usable as
# rsync's remote shell ("rsync -e $T/rsh ... host::session/").
# AS_M is unique per test run, so tests running at once do not share
# an account.

command -v setpriv >/dev/null || t_skip "no setpriv"
command -v rsync >/dev/null || t_skip "no rsync"
command -v useradd >/dev/null || t_skip "no useradd"
[ "$(id -u)" = 0 ] || t_skip "not root (the daemon mounts sessions)"
[ -x "$BEEMOFS" ] || t_skip "beemofs is not built"

AS_M="atk$$a"
AS_ACCOUNTS=()
SESSIOND="$BEEMO_BUILD/tools/beemo-sessiond"
SESSION="$BEEMO_BUILD/tools/beemo-session"

# as_account NAME: a system account NAME (no home, no password), removed
# at exit.
as_account() {
	id "$1" >/dev/null 2>&1 ||
		useradd --system --no-create-home --shell /bin/sh "$1" ||
		t_fail "useradd $1"
	AS_ACCOUNTS+=("$1")
}

as_exit() {
	local rc=$? a m p
	set +e
	[ -n "${AS_DPID:-}" ] && kill "$AS_DPID" 2>/dev/null
	# Sessions still open: their beemofs go with their mounts.
	for m in "$T"/run/*/mnt; do
		mountpoint -q "$m" 2>/dev/null && umount -l "$m"
	done
	# The accounts' processes (beemo-session waiting for a request that
	# the test left), by number, then the accounts.
	for a in "${AS_ACCOUNTS[@]+"${AS_ACCOUNTS[@]}"}"; do
		for p in $(ps -u "$a" -o pid= 2>/dev/null); do
			kill -9 "$p" 2>/dev/null
		done
	done
	for a in "${AS_ACCOUNTS[@]+"${AS_ACCOUNTS[@]}"}"; do
		t_wait_for 2 eval '[ -z "$(ps -u "$a" -o pid= 2>/dev/null)" ]'
		userdel "$a" 2>/dev/null || t_log "could not remove account $a"
	done
	(exit $rc)
	t_cleanup
}
trap as_exit EXIT
# A test stopped by its timeout removes its accounts too.
trap 'exit 1' TERM INT

# as_setup: see above.
as_setup() {
	t_config
	t_pw "$T/admin.pw" admin-pw
	t_pw "$T/alice.pw" alice-pw
	"$BEEMOCTL" init "${T_KDF[@]}" --password-file "$T/admin.pw" \
		>/dev/null || t_fail "init"
	"$BEEMOCTL" machine add "$AS_M" --user alice \
		--password-file "$T/admin.pw" \
		--user-password-file "$T/alice.pw" \
		--poste-key "$T/$AS_M.poste" >/dev/null || t_fail "machine add"
	as_account "beemo-$AS_M"
	# The accounts reach the socket and the programs.
	chmod 755 "$T"
	as_daemon
	cat >"$T/rsh" <<EOF
#!/bin/sh
# $T/rsh [-l USER] HOST COMMAND...: sshd's forced command for USER.
u=beemo-$AS_M
while [ "\$1" = -l ]; do u=\$2; shift 2; done
shift
exec setpriv --reuid="\$u" --regid=nogroup --clear-groups \\
	env -i SSH_ORIGINAL_COMMAND="\$*" $SESSION --socket $T/sd.sock
EOF
	chmod 755 "$T/rsh"
}

# as_daemon: (re)start beemo-sessiond; its log in $T/sessiond.log.
as_daemon() {
	"$SESSIOND" --store "$T/store" --config "$BEEMO_CONFIG" \
		--socket "$T/sd.sock" --run-dir "$T/run" \
		--beemofs "$BEEMOFS" --beemoctl "$BEEMOCTL" \
		2>>"$T/sessiond.log" >/dev/null &
	AS_DPID=$!
	T_PIDS+=("$AS_DPID")
	t_wait_for 5 test -S "$T/sd.sock" || t_fail "beemo-sessiond did not start"
}

# as_key [MACHINE]: "KEY LEN\n" and the machine's key file.
as_key() {
	local k="$T/${1:-$AS_M}.poste"
	printf 'KEY %s\n' "$(stat -c %s "$k")"
	cat "$k"
}

# as_open: open a session on coproc AS, read on $AS_IN, written on
# $AS_OUT (copies that outlive the coproc); its first answer in
# $AS_LINE, which must be "OK ...".
as_open() {
	coproc AS { "$T/rsh" host open; }
	exec {AS_IN}<&"${AS[0]}" {AS_OUT}>&"${AS[1]}"
	AS_P=$AS_PID
	as_key >&"$AS_OUT"
	IFS= read -r -t 30 AS_LINE <&"$AS_IN" || t_fail "no answer to open"
	case "$AS_LINE" in
	OK*) ;;
	*) t_fail "open: $AS_LINE" ;;
	esac
}

# as_end: END, the session's end answer in $AS_LINE, the status in
# $AS_RC.
as_end() {
	echo END >&"$AS_OUT"
	IFS= read -r -t 60 AS_LINE <&"$AS_IN" || t_fail "no answer to END"
	AS_RC=0
	wait "$AS_P" || AS_RC=$?
	exec {AS_IN}<&- {AS_OUT}>&-
	AS_IN= AS_OUT=
}

# as_rsync ARGS...: rsync into the open session (without the copies of
# the session's channel, which would keep it open).
as_rsync() {
	as_nochan rsync -e "$T/rsh" "$@" host::session/
}

# as_bg CMD...: CMD in the background (a subshell, $!) without the
# copies of the session's channel.
as_bg() {
	(
		if [ -n "${AS_IN:-}" ]; then
			exec {AS_IN}<&- {AS_OUT}>&-
		fi
		AS_IN= AS_OUT=
		"$@"
	) &
}

# as_nochan CMD...: CMD without the copies of the session's channel.
as_nochan() {
	if [ -n "${AS_IN:-}" ]; then
		"$@" {AS_IN}<&- {AS_OUT}>&-
	else
		"$@"
	fi
}

# as_slowrsh: $T/slowrsh, a remote shell like $T/rsh that passes nothing
# of the client's until $T/go exists: rsync's daemon waits for the
# module's name (before it enters the session's tree).
as_slowrsh() {
	cat >"$T/slowrsh" <<EOF2
#!/bin/bash
exec $T/rsh "\$@" < <(while [ ! -e $T/go ]; do sleep 0.05; done; exec cat)
EOF2
	chmod 755 "$T/slowrsh"
}
