#!/bin/bash
# session_virus.sh -- a virus in the client's files (EICAR, against the
# signatures of t_sigs, real libclamav on the appliance):
#   - beemo-backup exits 4 ("done, but files refused"), names the file
#     with its virus, as text and in --json;
#   - the machine's journal has a virus entry naming the file;
#   - everything else is backed up: the snapshot is the client's tree
#     without the infected file, and it is complete.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd_lib.sh"
. "$(dirname "$0")/netns_lib.sh"

netns_require
t_expect_log 'virus Beemo\.Test\.EICAR(\.UNOFFICIAL)? found'
netns_setup 1
M=${NS_M[1]}
D="${NS_DIR[1]}/data"
mkdir -p "$D/docs" "$D/dl"
for i in $(seq 1 20); do echo "document $i" >"$D/docs/d$i.txt"; done
head -c 500000 /dev/urandom >"$D/docs/blob.bin"
printf '%s' "$T_EICAR" >"$D/dl/eicar.com"
echo "clean download" >"$D/dl/clean.txt"

rc=0
netns_backup 1 v1 --json "$D" || rc=$?
[ $rc = 4 ] || t_fail "backup with a virus: exit $rc, not 4 ($(cat "$T/v1.err"))"
grep -q "dl/eicar.com" "$T/v1.out" ||
	t_fail "--json does not name the infected file: $(cat "$T/v1.out")"
grep -q "Beemo.Test.EICAR" "$T/v1.out" ||
	t_fail "--json does not name the virus: $(cat "$T/v1.out")"
rc=0
netns_backup 1 v2 "$D" || rc=$?
[ $rc = 4 ] || t_fail "second backup with a virus: exit $rc, not 4 ($(cat "$T/v2.err"))"
grep -h "dl/eicar.com" "$T/v2.out" "$T/v2.err" | grep -q "Beemo.Test.EICAR" ||
	t_fail "the summary does not list the file with its virus: $(cat "$T/v2.out" "$T/v2.err")"

"$BEEMOCTL" journal "$M" --type virus --files --json \
	--password-file "$T/admin.pw" >"$T/journal.json" || t_fail "journal"
# The journal may name rsync's temporary file (dl/.eicar.com.XXXXXX),
# what beemofs saw; the client must name the file as its user knows it.
n=$(netns_json "$T/journal.json" \
	'len([e for e in j["entries"] if e["type"] == "virus" and re.search(r"/dl/\.?eicar\.com", json.dumps(e))])')
[ "$n" -ge 1 ] || t_fail "no virus entry for dl/eicar.com in the journal: $(cat "$T/journal.json")"

netns_snapshots 1 >"$T/snaps"
[ "$(cut -f2 "$T/snaps" | sort -u)" = "end of backup session" ] ||
	t_fail "snapshots: $(cat "$T/snaps")"
netns_restore 1 latest "$T/r"
[ ! -e "$T/r$D/dl/eicar.com" ] || t_fail "the infected file is in the snapshot"
rm "$D/dl/eicar.com"
netns_tree "$D" >"$T/tree"
netns_tree "$T/r$D" | diff "$T/tree" - >&2 ||
	t_fail "the rest of the client's files is not in the snapshot as it is"
