#!/bin/bash
# sync_man.sh -- every long option printed by beemo-sync --help and by
# each verb's --help appears in beemo-sync(8), each verb has its
# subsection there, every exit status is documented, and the page lints
# clean.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/man_lib.sh"

t_config
PAGE="$(cd "$(dirname "$0")/../../man" && pwd)/beemo-sync.8"
man_render "$PAGE" "$T/page.txt"
grep -q -- '--read-data' "$T/page.txt" || t_fail "cannot read $PAGE"
man_check_verbs "$BEEMO_SYNC" "$T/page.txt" "$PAGE"
man_check_exits "$T/page.txt" '^EXAMPLES'
t_log "ok"
