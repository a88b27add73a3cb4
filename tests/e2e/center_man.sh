#!/bin/bash
# center_man.sh -- beemo-center(8): every verb of beemo-center --help has
# its subsection, every long option printed by --help and by each verb's
# --help appears in the page, the setup from a bare machine gives the
# sshd lines and the timers, every exit status is documented, and the
# page lints clean.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/man_lib.sh"
BEEMO_CENTER=$BEEMO_BUILD/sync/beemo-center

t_config
PAGE="$(cd "$(dirname "$0")/../../man" && pwd)/beemo-center.8"
man_render "$PAGE" "$T/page.txt"
grep -q -- '--authorized-keys' "$T/page.txt" || t_fail "cannot read $PAGE"
man_check_verbs "$BEEMO_CENTER" "$T/page.txt" "$PAGE"
man_check_exits "$T/page.txt" '^[A-Z]'
# The setup of a center: packages, the Match block, the forced command,
# the timers, mail; and the sections the operator looks for.
for w in "apt-get install openssh-server" "Match User beemo-" \
	"DisableForwarding yes" "PermitTTY no" 'command="' "restrict" \
	"beemo-center-apply.timer" "beemo-center-scrub.timer" "sendmail" \
	"^SETTING UP A CENTER" "^DELETION REQUESTS" "^SCRUB" "^BEEMO2BEEMO" \
	"^QUOTAS AND MANY APPLIANCES" "^FILES" "^SECURITY CONSIDERATIONS"; do
	grep -Eq -- "$w" "$T/page.txt" || t_fail "$PAGE lacks '$w'"
done
# The sshd snippet shipped is the one the page shows.
SNIP="$(dirname "$0")/../../sync/beemo-center-sshd.conf"
[ -f "$SNIP" ] || t_fail "$SNIP missing"
grep -v '^#' "$SNIP" | grep . | while read -r line; do
	grep -qF -- "$line" "$T/page.txt" ||
		t_fail "sshd line '$line' is not in $PAGE"
done
# Every rule of serve in center.h is in the page.
for w in "never removed, overwritten, truncated, renamed" "reput" \
	".tmp-" "no symbolic or hard link" "quota bounds"; do
	tr -s ' \t\n' ' ' <"$T/page.txt" | grep -qF -- "$w" ||
		t_fail "rule of serve '$w' is not in $PAGE"
done
t_log "ok"
