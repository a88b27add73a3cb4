#!/bin/bash
# machine_access.sh -- `beemoctl machine access`: the confined SSH
# account of a client machine.  A real account is created (useradd,
# group beemo-clients, no home, shell /bin/sh, password field "*") and
# removed at the end; the key goes to $BEEMO_CLIENTS_DIR (under $T), one
# line
#   restrict,command=".../beemo-session" TYPE BASE64 COMMENT
# mode 0644 whatever the umask.  Refused with exit 2 and nothing
# created: usage errors, a private key, two lines (an injected second
# key), a key with options, damaged base64, a control character, an
# empty file, a weak RSA key; refused too: an unknown machine, an
# account of that name outside the group (with --dry-run too).
# `machine add` says to move the POSTE key file to the client and erase
# it here.  --dry-run changes nothing; a new key replaces the old one;
# --revoke asks (no terminal: exit 2; "n" on one: nothing), then removes
# the key; the JSON object "beemo-machine-access".  A real sshd with the
# shipped drop-in (its paths pointed into $T, no PAM) lets the key in to
# the forced command only, as the account, without a terminal or
# forwarding, and refuses a key never given, replaced or revoked; with
# the real beemo-session and beemo-sessiond behind it, the account lists
# its machine's snapshots with the POSTE key file and a shell command is
# refused (exit 2).  `machine remove` says the key stays; it can still
# be revoked.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || t_skip "needs root (useradd)"
for p in useradd userdel groupadd ssh-keygen python3; do
	command -v "$p" >/dev/null || t_skip "$p missing"
done
# Names of this run only: parallel runs never share an account.
M=t$$x
ACCOUNT=beemo-$M
OTHER=beemo-t$$y
if getent passwd "$ACCOUNT" "$OTHER" >/dev/null; then
	t_fail "account $ACCOUNT or $OTHER exists before the test"
fi
trap 'rc=$?; set +e; userdel "$ACCOUNT" 2>/dev/null;
	userdel "$OTHER" 2>/dev/null; (exit $rc); t_cleanup' EXIT

t_appliance
"$BEEMOCTL" machine add "$M" --user bob --password-file "$T/admin.pw" \
	--user-password-file "$T/alice.pw" --poste-key "$T/$M.poste" \
	>"$T/add.out" || t_fail "machine add $M"
# machine add says where the key file goes: to the client, erased here.
for w in "shred -u $T/$M.poste" "beemoctl machine access $M --ssh-key" \
	"beemo-backup --appliance APPLIANCE --machine $M --key"; do
	grep -qF -- "$w" "$T/add.out" || t_fail "machine add: no '$w':" \
		"$(cat "$T/add.out")"
done
export BEEMO_CLIENTS_DIR=$T/clients
KEYS=$T/clients/$ACCOUNT.keys
access() { "$BEEMOCTL" machine access "$@"; }

# A real sshd on 127.0.0.1 with the shipped drop-in, its key directory
# and forced command pointed into $T (the stand-in prints what it was
# asked and who runs it).  No PAM: the account must not be locked.
SSHD=/usr/sbin/sshd
DROPIN=$BEEMO_BUILD/tools/beemo-sessions-sshd.conf
[ -x "$SSHD" ] || t_skip "no sshd"
[ -f "$DROPIN" ] || t_fail "$DROPIN not built"
chmod 0755 "$T"  # the account reads its key and runs the stand-in
mkdir -p /run/sshd && chmod 0755 /run/sshd
printf '#!/bin/sh\necho "forced: $SSH_ORIGINAL_COMMAND as $(id -un)"\n' \
	>"$T/forced.sh"
chmod 0755 "$T/forced.sh"
ssh-keygen -q -t ed25519 -N '' -f "$T/host" || t_fail "ssh-keygen (host)"
PORT=$((20000 + RANDOM % 12000))
{
	echo "Port $PORT"
	echo "ListenAddress 127.0.0.1"
	echo "HostKey $T/host"
	echo "PidFile none"
	echo "UsePAM no"
	echo "StrictModes no"  # $T is under /tmp, which others may write
	sed -e "s|^\(\tAuthorizedKeysFile \).*|\1$T/clients/%u.keys|" \
		-e "s|^\(\tForceCommand \).*|\1$T/forced.sh|" "$DROPIN"
} >"$T/sshd_config"
grep -q "ForceCommand $T/forced.sh" "$T/sshd_config" ||
	t_fail "drop-in: $(cat "$T/sshd_config")"
"$SSHD" -t -f "$T/sshd_config" || t_fail "sshd -t: the drop-in is refused"
setsid "$SSHD" -D -f "$T/sshd_config" -E "$T/sshd.log" &
T_PIDS+=($!)
printf '[127.0.0.1]:%s %s\n' "$PORT" "$(cut -d' ' -f1,2 "$T/host.pub")" \
	>"$T/known_hosts"
t_wait_for 10 eval '(exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null' ||
	t_fail "sshd does not listen on $PORT: $(cat "$T/sshd.log")"
# login KEY ARGS...: ssh as the machine's account with KEY.
login() {
	local key=$1
	shift
	ssh -F /dev/null -i "$key" -p "$PORT" -o BatchMode=yes \
		-o IdentitiesOnly=yes -o StrictHostKeyChecking=yes \
		-o UserKnownHostsFile="$T/known_hosts" -l "$ACCOUNT" "$@"
}
# denied KEY WHAT: KEY does not log in.
denied() {
	if login "$1" 127.0.0.1 true >"$T/denied.out" 2>&1; then
		t_fail "$2: logged in"
	fi
	grep -q "Permission denied" "$T/denied.out" ||
		t_fail "$2: $(cat "$T/denied.out")"
}

ssh-keygen -q -t ed25519 -N '' -C 'root@client one' -f "$T/k1" ||
	t_fail "ssh-keygen k1"
ssh-keygen -q -t ecdsa -N '' -C 'second' -f "$T/k2" || t_fail "ssh-keygen k2"
read -r _ k1_b64 _ <"$T/k1.pub"

# nothing: account, key file, directory
nothing_made() {
	! getent passwd "$ACCOUNT" >/dev/null ||
		t_fail "$1: the account was created"
	[ ! -e "$T/clients" ] || t_fail "$1: $(ls -lR "$T/clients")"
}

# refused WHAT MESSAGE FILE: --ssh-key FILE exits 2 with MESSAGE.
refused() {
	local rc=0
	access "$M" --ssh-key "$3" >"$T/ref.out" 2>&1 || rc=$?
	[ $rc = 2 ] || t_fail "$1: exit status $rc, not 2: $(cat "$T/ref.out")"
	grep -q -- "$2" "$T/ref.out" || t_fail "$1: $(cat "$T/ref.out")"
	nothing_made "$1"
}

# --- usage errors: exit 2, nothing made ---------------------------------------
for args in "" "$M --bogus" "$M --ssh-key" "$M extra" \
	"$M --ssh-key $T/k1.pub --revoke"; do
	rc=0
	# shellcheck disable=SC2086
	access $args >"$T/usage.out" 2>&1 </dev/null || rc=$?
	[ $rc = 2 ] || t_fail "machine access $args: exit $rc, not 2:" \
		"$(cat "$T/usage.out")"
done
"$BEEMOCTL" machine access --help | grep -q '^usage: beemoctl machine access' ||
	t_fail "machine access --help"
nothing_made "usage errors"

# --- before: no account, no key ---------------------------------------------
access "$M" --json >"$T/show0.json" || t_fail "show before"
python3 - "$T/show0.json" "$M" <<'EOF' || t_fail "show before: $(cat "$T/show0.json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert list(d)[:2] == ["format", "version"], d
assert d["format"] == "beemo-machine-access" and d["version"] == 1, d
assert d["machine"] == sys.argv[2] and d["action"] == "show", d
assert d["account"] == "beemo-" + sys.argv[2], d
assert d["account_exists"] is False and d["uid"] is None, d
assert d["key"] is None, d
EOF
nothing_made "show"

# --- refused keys -------------------------------------------------------------
refused "private key" "is a private key" "$T/k1"
{ cat "$T/k1.pub"; cat "$T/k2.pub"; } >"$T/two.pub"
refused "two keys" "more than one line" "$T/two.pub"
# A newline injected in the comment: the second line would be a key of
# its own, without the forced command.
printf 'ssh-ed25519 %s x\nssh-ed25519 %s evil\n' "$k1_b64" "$k1_b64" \
	>"$T/inject.pub"
refused "injected line" "more than one line" "$T/inject.pub"
printf 'command="/bin/sh" ssh-ed25519 %s x\n' "$k1_b64" >"$T/opts.pub"
refused "options" "no options" "$T/opts.pub"
printf 'no-pty ssh-ed25519 %s x\n' "$k1_b64" >"$T/opts2.pub"
refused "options" "no options" "$T/opts2.pub"
printf 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIQ== x\n' >"$T/bad.pub"
refused "damaged key" "ssh-keygen does not read it" "$T/bad.pub"
printf 'ssh-ed25519 %s a\rb\n' "$k1_b64" >"$T/cr.pub"
refused "carriage return" "control character" "$T/cr.pub"
: >"$T/empty.pub"
refused "empty" "empty file" "$T/empty.pub"
if ssh-keygen -q -t rsa -b 1024 -N '' -f "$T/weak" 2>/dev/null; then
	refused "RSA 1024" "too weak" "$T/weak.pub"
fi
# An unknown machine: nothing is created either.
if access nosuch --ssh-key "$T/k1.pub" >"$T/nosuch.out" 2>&1; then
	t_fail "access for an unknown machine"
fi
! getent passwd beemo-nosuch >/dev/null || {
	userdel beemo-nosuch
	t_fail "an account was made for an unknown machine"
}
nothing_made "unknown machine"

# A Windows line end is one line end, not a control character.
printf '%s\r\n' "$(cat "$T/k1.pub")" >"$T/crlf.pub"
access "$M" --ssh-key "$T/crlf.pub" --dry-run >"$T/crlf.out" 2>&1 ||
	t_fail "CRLF: $(cat "$T/crlf.out")"
nothing_made "CRLF dry run"

# --- --dry-run ----------------------------------------------------------------
access "$M" --ssh-key "$T/k1.pub" --dry-run >"$T/dry.out" ||
	t_fail "dry run: $(cat "$T/dry.out")"
grep -q "would create account $ACCOUNT" "$T/dry.out" ||
	t_fail "dry run: $(cat "$T/dry.out")"
nothing_made "dry run"

# --- the key installed --------------------------------------------------------
# Whatever root's umask: sshd reads the key as the account.
(umask 077 && access "$M" --ssh-key "$T/k1.pub") >"$T/grant.out" 2>&1 ||
	t_fail "grant: $(cat "$T/grant.out")"
grep -q "beemo-backup --appliance .* --machine $M --key $M.poste" \
	"$T/grant.out" || t_fail "no client command: $(cat "$T/grant.out")"
grep -q "beemo-sessions-sshd.conf" "$T/grant.out" ||
	t_fail "no sshd drop-in: $(cat "$T/grant.out")"
IFS=: read -r _ _ uid gid _ home shell < <(getent passwd "$ACCOUNT") ||
	t_fail "no account $ACCOUNT"
[ "$(getent group beemo-clients | cut -d: -f3)" = "$gid" ] ||
	t_fail "$ACCOUNT's group $gid is not beemo-clients"
[ "$home" = / ] && [ "$shell" = /bin/sh ] ||
	t_fail "$ACCOUNT: home $home, shell $shell"
[ "$(stat -c %a:%u "$KEYS")" = 644:0 ] ||
	t_fail "key file mode: $(stat -c %a:%u "$KEYS")"
[ "$(stat -c %a "$T/clients")" = 755 ] ||
	t_fail "clients dir mode: $(stat -c %a "$T/clients")"
[ "$(wc -l <"$KEYS")" = 1 ] || t_fail "key file: $(cat "$KEYS")"
line=$(cat "$KEYS")
[[ $line == "restrict,command=\""*"/beemo/beemo-session\" $(cat "$T/k1.pub")" ]] ||
	t_fail "key line: $line"
# sshd reads the line as one key with those options.
ssh-keygen -l -f "$KEYS" | grep -q "$(ssh-keygen -l -f "$T/k1.pub" |
	cut -d' ' -f2)" || t_fail "ssh-keygen does not read $KEYS"

fp1=$(ssh-keygen -l -f "$T/k1.pub" | cut -d' ' -f2)
access "$M" --json >"$T/show1.json" || t_fail "show"
python3 - "$T/show1.json" "$uid" "$fp1" "$KEYS" <<'EOF' || t_fail "show: $(cat "$T/show1.json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert list(d)[:2] == ["format", "version"], d
assert d["account_exists"] is True and d["uid"] == int(sys.argv[2]), d
assert d["group"] == "beemo-clients" and d["keys_file"] == sys.argv[4], d
assert d["command"].endswith("/beemo/beemo-session"), d
k = d["key"]
assert k == {"type": "ED25519", "bits": 256, "fingerprint": sys.argv[3],
             "comment": "root@client one"}, k
EOF
access "$M" >"$T/show1.out" || t_fail "show (text)"
grep -q "$fp1" "$T/show1.out" || t_fail "show: $(cat "$T/show1.out")"

# The shadow field: no password, not locked.
[ "$(getent shadow "$ACCOUNT" | cut -d: -f2)" = "*" ] ||
	t_fail "password field: $(getent shadow "$ACCOUNT" | cut -d: -f2)"
# sshd: the key logs in, and whatever is asked, the forced command runs
# as the account; no terminal, no forwarding; another key is refused.
out=$(login "$T/k1" 127.0.0.1 'id; cat /etc/shadow' 2>"$T/login.err") ||
	t_fail "login with the key: $(cat "$T/login.err")"
[ "$out" = "forced: id; cat /etc/shadow as $ACCOUNT" ] ||
	t_fail "not the forced command: $out"
login "$T/k1" -tt 127.0.0.1 >"$T/tty.out" 2>&1 || true
grep -q "PTY allocation request failed" "$T/tty.out" ||
	t_fail "a terminal was given: $(cat "$T/tty.out")"
if login "$T/k1" -N -o ExitOnForwardFailure=yes \
	-R "127.0.0.1:$((PORT + 1)):127.0.0.1:$PORT" 127.0.0.1 \
	>"$T/fwd.out" 2>&1; then
	t_fail "remote forwarding allowed"
fi
grep -q "forwarding failed" "$T/fwd.out" ||
	t_fail "forwarding: $(cat "$T/fwd.out")"
denied "$T/k2" "a key never given"

# A new key replaces the old one; the account is kept.
access "$M" --ssh-key "$T/k2.pub" --json >"$T/grant2.json" ||
	t_fail "second key"
python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
assert d["action"] == "grant" and d["account_created"] is False, d
assert d["group_created"] is False, d
assert d["key"]["type"] == "ECDSA", d' "$T/grant2.json" ||
	t_fail "second key: $(cat "$T/grant2.json")"
[ "$(wc -l <"$KEYS")" = 1 ] && grep -qF "$(cat "$T/k2.pub")" "$KEYS" ||
	t_fail "the key was not replaced: $(cat "$KEYS")"
[ "$(getent passwd "$ACCOUNT" | cut -d: -f3)" = "$uid" ] ||
	t_fail "the account changed"
denied "$T/k1" "the replaced key"
out=$(login "$T/k2" 127.0.0.1 x 2>"$T/login.err") ||
	t_fail "login with the new key: $(cat "$T/login.err")"
[ "$out" = "forced: x as $ACCOUNT" ] || t_fail "new key: $out"

# Through the real forced command and daemon: the account asks for its
# own machine's snapshots with the POSTE key file; anything else is
# refused by beemo-session.
SESSIOND=$BEEMO_BUILD/tools/beemo-sessiond
SESSION=$BEEMO_BUILD/tools/beemo-session
if [ -x "$SESSIOND" ] && [ -x "$SESSION" ]; then
	"$SESSIOND" --store "$T/store" --config "$BEEMO_CONFIG" \
		--socket "$T/sessiond.sock" --run-dir "$T/run" \
		--beemofs "$BEEMOFS" --beemoctl "$BEEMOCTL" \
		>>"$T/sessiond.log" 2>&1 &
	T_PIDS+=($!)
	t_wait_for 10 test -S "$T/sessiond.sock" ||
		t_fail "beemo-sessiond: $(cat "$T/sessiond.log")"
	# One snapshot of the machine to list.
	t_mount_session "$T/mnt" "machine=$M,keyfile=$T/$M.poste"
	echo hello >"$T/mnt/hello"
	t_umount "$T/mnt"
	printf '#!/bin/sh\nexec %s --socket %s\n' "$SESSION" \
		"$T/sessiond.sock" >"$T/forced.sh"
	{
		printf 'KEY %s\n' "$(stat -c %s "$T/$M.poste")"
		cat "$T/$M.poste"
	} >"$T/request"
	login "$T/k2" 127.0.0.1 snapshots <"$T/request" >"$T/snaps.out" \
		2>"$T/snaps.err" || t_fail "snapshots through the account:" \
		"$(cat "$T/snaps.out" "$T/snaps.err" "$T/sessiond.log")"
	python3 -c 'import json, sys
line = open(sys.argv[1]).read()
assert line.startswith("OK "), line
d = json.loads(line[3:])
assert d["format"] == "beemo-snapshots" and d["machine"] == sys.argv[2], d
assert len(d["snapshots"]) == 1, d
' "$T/snaps.out" "$M" || t_fail "snapshots: $(cat "$T/snaps.out")"
	rc=0
	login "$T/k2" 127.0.0.1 sh </dev/null >"$T/sh.out" 2>&1 || rc=$?
	[ $rc = 2 ] && grep -q "unknown request" "$T/sh.out" ||
		t_fail "a shell command: status $rc: $(cat "$T/sh.out")"
else
	t_fail "$SESSIOND or $SESSION not built"
fi

# --- an account of that name outside the group --------------------------------
useradd --system --user-group --no-create-home --home-dir /nonexistent \
	--shell /usr/sbin/nologin "$OTHER" || t_fail "useradd $OTHER"
"$BEEMOCTL" machine add "t$$y" --user bob --password-file "$T/admin.pw" \
	--user-password-file "$T/alice.pw" --poste-key "$T/y.poste" \
	>/dev/null || t_fail "machine add t$$y"
for dry in --dry-run ""; do
	t_must_fail "someone else's account $dry" access "t$$y" \
		--ssh-key "$T/k1.pub" $dry
	grep -q "is not a Beemo client account" "$T/must_fail.out" ||
		t_fail "other account $dry: $(cat "$T/must_fail.out")"
done
[ ! -e "$T/clients/$OTHER.keys" ] || t_fail "a key for $OTHER was written"

# --- --revoke -----------------------------------------------------------------
rc=0
access "$M" --revoke </dev/null >"$T/rv0.out" 2>&1 || rc=$?
[ $rc = 2 ] || t_fail "revoke without a terminal: status $rc"
grep -q "add --yes" "$T/rv0.out" || t_fail "revoke: $(cat "$T/rv0.out")"
[ -f "$KEYS" ] || t_fail "an unconfirmed revoke removed the key"
# On a terminal, "n" keeps the key.
if command -v script >/dev/null; then
	echo n | script -qec "$BEEMOCTL machine access $M --revoke" \
		/dev/null >"$T/rvn.out" 2>&1 && t_fail "revoke answered n: exit 0"
	grep -q "not confirmed" "$T/rvn.out" || t_fail "n: $(cat "$T/rvn.out")"
	[ -f "$KEYS" ] || t_fail "revoke answered n removed the key"
fi
access "$M" --revoke --dry-run >"$T/rv1.out" || t_fail "revoke --dry-run"
[ -f "$KEYS" ] || t_fail "a dry run removed the key"
access "$M" --revoke --yes --json >"$T/rv.json" || t_fail "revoke --yes"
[ ! -e "$KEYS" ] || t_fail "revoke left the key: $(cat "$KEYS")"
denied "$T/k2" "the revoked key"
python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
assert d["format"] == "beemo-machine-access" and d["action"] == "revoke", d
assert d["key"] is None, d' "$T/rv.json" || t_fail "revoke: $(cat "$T/rv.json")"
access "$M" >"$T/show2.out" || t_fail "show after revoke"
grep -q "key: *none" "$T/show2.out" || t_fail "after revoke: $(cat "$T/show2.out")"

# A removed machine: machine remove says its key stays, and it can
# still be revoked.
access "$M" --ssh-key "$T/k2.pub" >/dev/null || t_fail "grant again"
"$BEEMOCTL" machine remove "$M" --yes --password-file "$T/admin.pw" \
	>"$T/remove.out" || t_fail "machine remove $M"
grep -q "machine access $M --revoke" "$T/remove.out" ||
	t_fail "machine remove: $(cat "$T/remove.out")"
access "$M" --revoke --yes >"$T/rv2.out" || t_fail "revoke after remove"
[ ! -e "$KEYS" ] || t_fail "the removed machine's key stays"
t_log "ok"
