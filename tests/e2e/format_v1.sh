#!/bin/bash
# format_v1.sh -- the current programs read what the first released
# formats hold: the checked-in fixture tests/fixtures/v1 (written once by
# tests/fixtures/make-v1.sh) has an appliance store, its key store, a
# POSTE key file and an off-site copy.  On a copy of it: every principal
# opens the keys, the store checks clean with all its data read, every
# snapshot restores byte-exact with its metadata (as the administrator
# and as the user), read-only and backup sessions show the same trees,
# the journals read as they were written, and an appliance recovered
# from the off-site copy restores the same trees again.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd_lib.sh"
FIXTURES=$(cd "$(dirname "$0")/../fixtures" && pwd)
. "$FIXTURES/tree_list.sh"
F="$FIXTURES/v1"
E="$F/expected"

sshd_require
[ -x "$BEEMOFS" ] || t_skip "beemofs is not built"
command -v fusermount3 >/dev/null || t_skip "no fusermount3"
command -v getfattr >/dev/null || t_skip "no getfattr (attr)"

# fixture_copy NAME DEST: copy fixture entry NAME to DEST with the modes
# and empty directories of $F/modes (git keeps neither).
fixture_copy() {
	local name=$1 dest=$2 mode type path
	cp -r "$F/$name" "$dest"
	while read -r mode type path; do
		case "$path" in
		"$name" | "$name"/*) ;;
		*) continue ;;
		esac
		path="$dest${path#"$name"}"
		case "$type" in
		d) mkdir -p "$path" ;;
		f) [ -f "$path" ] || t_fail "fixture file $path missing" ;;
		esac
		chmod "$mode" "$path"
	done <"$F/modes"
}

sshd_start a
sync_config a
fixture_copy store "$T/store"
fixture_copy pc1.poste "$T/pc1.poste"
fixture_copy admin.pw "$T/admin.pw"
fixture_copy alice.pw "$T/alice.pw"
fixture_copy offsite "$T/center_a/beemo"
mapfile -t SNAPS <"$E/snapshots"
[ ${#SNAPS[@]} = 2 ] || t_fail "fixture: expected two snapshots"
LAST=${SNAPS[-1]}

# same_tree WHAT DIR LIST: DIR's tree_list must be LIST.
same_tree() {
	tree_list "$2" >"$T/got.list"
	diff "$3" "$T/got.list" >"$T/tree.diff" ||
		t_fail "$1 differs from the fixture: $(head -n 20 "$T/tree.diff")"
}

# same_journal FIXTURE GOT: the entries of the beemo-journal GOT are
# those of FIXTURE (written as a bare array, the shape of version 1).
same_journal() {
	python3 - "$1" "$2" <<-'PY'
	import json, sys
	want, got = (json.load(open(f)) for f in sys.argv[1:3])
	assert (got["format"], got["version"]) == ("beemo-journal", 2)
	if isinstance(want, dict):
	    want = want["entries"]
	assert got["entries"] == want
	PY
}

# The journals, read before anything adds to them.
"$BEEMOCTL" journal pc1 --json --password-file "$T/admin.pw" \
	>"$T/journal.json" || t_fail "journal pc1"
same_journal "$E/journal.json" "$T/journal.json" ||
	t_fail "journal of pc1 differs: $(cat "$T/journal.json")"
"$BEEMOCTL" journal --all --json --password-file "$T/admin.pw" \
	>"$T/journal-all.json" || t_fail "journal --all"
same_journal "$E/journal-all.json" "$T/journal-all.json" ||
	t_fail "appliance journal differs: $(cat "$T/journal-all.json")"

# The key store: each principal unlocks the same key generations.
"$BEEMOCTL" key unlock pc1 --admin --password-file "$T/admin.pw" \
	>"$T/kcv.admin" || t_fail "key unlock as the administrator"
"$BEEMOCTL" key unlock pc1 --user alice --password-file "$T/alice.pw" \
	>"$T/kcv.alice" || t_fail "key unlock as alice"
"$BEEMOCTL" key unlock pc1 --poste-key "$T/pc1.poste" \
	>"$T/kcv.poste" || t_fail "key unlock with the POSTE key file"
for p in admin alice poste; do
	tail -n +2 "$T/kcv.$p" | cmp -s "$E/key-check" - ||
		t_fail "key check values as $p: $(cat "$T/kcv.$p")"
done
t_must_fail "a wrong password opens the key store" \
	"$BEEMOCTL" key unlock pc1 --user alice --password-file "$T/admin.pw"

"$BEEMOCTL" snapshots pc1 --json --password-file "$T/admin.pw" \
	>"$T/snaps.json" || t_fail "snapshots"
python3 -c 'import json, sys
for s in json.load(sys.stdin)["snapshots"]:
    print(s["id"])' <"$T/snaps.json" | diff -q "$E/snapshots" - >/dev/null ||
	t_fail "snapshot list differs: $(cat "$T/snaps.json")"

"$BEEMOCTL" check pc1 --read-data --password-file "$T/admin.pw" \
	>"$T/check.out" 2>&1 || t_fail "check --read-data: $(cat "$T/check.out")"

# The off-site copy as the store left it.
sync_run verify verify || t_fail "verify: $(cat "$T/verify.err")"

# Restores, as the administrator and as alice.
for id in "${SNAPS[@]}"; do
	"$BEEMOCTL" restore pc1 "$id" --target "$T/admin-$id" \
		--password-file "$T/admin.pw" >/dev/null ||
		t_fail "restore $id as the administrator"
	same_tree "snapshot $id restored by the administrator" \
		"$T/admin-$id" "$E/snap-$id.list"
	"$BEEMOCTL" restore pc1 "$id" --target "$T/alice-$id" --user alice \
		--password-file "$T/alice.pw" >/dev/null ||
		t_fail "restore $id as alice"
	same_tree "snapshot $id restored by alice" "$T/alice-$id" \
		"$E/snap-$id.list"
done

# Read-only sessions: every snapshot and the live tree.
R="$T/ro"
for who in "admin,passfile=$T/admin.pw" "user=alice,passfile=$T/alice.pw"; do
	t_mount_session "$R" "machine=pc1,$who"
	for id in "${SNAPS[@]}"; do
		same_tree "snapshot $id in a session ($who)" \
			"$R/.snapshots/$id" "$E/snap-$id.list"
	done
	same_tree "the live tree in a read-only session" "$R" \
		"$E/snap-$LAST.list"
	t_umount "$R"
done

# A backup session with the POSTE key file reads the live tree and adds
# to it; its end-of-session snapshot holds both.
M="$T/mnt"
t_mount "$M"
same_tree "the live tree in a backup session" "$M" "$E/snap-$LAST.list"
printf 'written by the current programs\n' >"$M/new.txt"
t_umount "$M"
"$BEEMOCTL" restore pc1 latest --target "$T/after" \
	--password-file "$T/admin.pw" >/dev/null || t_fail "restore latest"
cmp -s "$T/after/new.txt" <(printf 'written by the current programs\n') ||
	t_fail "the file of the new session is not in its snapshot"
rm "$T/after/new.txt"
same_tree "the tree after a new session" "$T/after" "$E/snap-$LAST.list"
"$BEEMOCTL" check pc1 --read-data --password-file "$T/admin.pw" \
	>"$T/check2.out" 2>&1 ||
	t_fail "check --read-data after a session: $(cat "$T/check2.out")"

# Recovery of a new appliance from the fixture's off-site copy alone.
# Its manifests are of version 1, which nothing authenticates: refused
# unless --accept-unauthenticated.
t_expect_log "warning: manifest manifests/.* at center a is of version 1, which nothing authenticates: ignored"
t_expect_log "error: target a: 1 manifest is of version 1"
t_expect_log "error: target a: no complete manifest found that this appliance authenticated"
t_expect_log "warning: target a: manifests/.* is of version 1: nothing proves that this appliance wrote it"
N="$T/new"
sync_run rec0 recover --target a --store "$T/new0" --password-file "$T/admin.pw" &&
	t_fail "recover took a version 1 manifest without --accept-unauthenticated"
sync_run rec recover --target a --store "$N" --password-file "$T/admin.pw" \
	--accept-unauthenticated || t_fail "recover: $(cat "$T/rec.err")"
grep -q "machine pc1: index rebuilt" "$T/rec.out" || t_fail "$(cat "$T/rec.out")"
"$BEEMOCTL" -s "$N" key unlock pc1 --user alice --password-file "$T/alice.pw" \
	>"$T/kcv.recovered" || t_fail "alice cannot open pc1 after recovery"
tail -n +2 "$T/kcv.recovered" | cmp -s "$E/key-check" - ||
	t_fail "the recovered appliance unlocks different keys"
"$BEEMOCTL" -s "$N" check pc1 --read-data --password-file "$T/admin.pw" \
	>"$T/check3.out" 2>&1 ||
	t_fail "check --read-data after recovery: $(cat "$T/check3.out")"
for id in "${SNAPS[@]}"; do
	"$BEEMOCTL" -s "$N" restore pc1 "$id" --target "$T/rec-$id" \
		--password-file "$T/admin.pw" >/dev/null ||
		t_fail "restore $id after recovery"
	same_tree "snapshot $id after recovery" "$T/rec-$id" "$E/snap-$id.list"
done
t_log "ok"
