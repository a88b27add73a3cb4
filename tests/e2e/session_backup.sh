#!/bin/bash
# session_backup.sh -- a client machine backs itself up over the network
# with beemo-backup, from a network namespace of its own, through the
# appliance's real sshd and beemo-sessiond (netns_lib.sh):
#   - a full backup, then an incremental one (a file changed, one added,
#     one deleted), both exit 0, each leaving a complete snapshot ("end of
#     backup session");
#   - each snapshot, restored with the administrator's password, is the
#     client's tree of that time: contents, modes, numeric owners, mtimes,
#     symlinks, hard links, xattrs (rsync -aHAX --numeric-ids), and the
#     deleted file is gone from the second one only;
#   - the second backup's summary reports fewer bytes sent than the first;
#   - `beemo-backup snapshots` lists both, `beemo-backup restore --user`
#     brings a path of the first one back on the client, byte-exact.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd_lib.sh"
. "$(dirname "$0")/netns_lib.sh"

netns_require
netns_setup 1
D="${NS_DIR[1]}/data"

# ---- the client's files
mkdir -p "$D/docs/sub" "$D/empty" "$D/photos"
for i in $(seq 1 40); do
	echo "document $i $RANDOM" >"$D/docs/note$i.txt"
done
head -c 3000000 /dev/urandom >"$D/photos/big.raw"
echo "keep me" >"$D/docs/sub/keep.txt"
echo "delete me later" >"$D/docs/sub/gone.txt"
echo "with a space" >"$D/docs/a name.txt"
ln -s ../docs/note1.txt "$D/photos/link"
ln "$D/docs/note2.txt" "$D/docs/sub/hardlink"
echo secret >"$D/docs/owned"
chown 1234:5678 "$D/docs/owned"
chmod 0640 "$D/docs/owned"
setfattr -n user.beemo -v tagged "$D/docs/note3.txt" 2>/dev/null ||
	python3 -c 'import os, sys; os.setxattr(sys.argv[1], "user.beemo", b"tagged")' \
		"$D/docs/note3.txt"
touch -d '2020-02-02 02:02:02' "$D/docs/note4.txt"
netns_tree "$D" >"$T/tree1"

# ---- full backup
netns_backup 1 b1 --json "$D" ||
	t_fail "first backup: exit $? ($(cat "$T/b1.err"))"
[ "$(netns_snapshots 1)" = "1	end of backup session" ] ||
	t_fail "after the first backup: $(netns_snapshots 1)"
netns_restore 1 1 "$T/r1"
netns_tree "$T/r1$D" >"$T/tree1.r"
diff "$T/tree1" "$T/tree1.r" >&2 || t_fail "snapshot 1 differs from the client's tree"

# ---- incremental backup
echo "changed" >>"$D/docs/note5.txt"
echo "new file" >"$D/docs/new.txt"
rm "$D/docs/sub/gone.txt"
netns_tree "$D" >"$T/tree2"
netns_backup 1 b2 --json "$D" ||
	t_fail "second backup: exit $? ($(cat "$T/b2.err"))"
[ "$(netns_snapshots 1 | cut -f2 | sort -u)" = "end of backup session" ] &&
	[ "$(netns_snapshots 1 | wc -l)" = 2 ] ||
	t_fail "after the second backup: $(netns_snapshots 1)"
netns_restore 1 2 "$T/r2"
netns_tree "$T/r2$D" >"$T/tree2.r"
diff "$T/tree2" "$T/tree2.r" >&2 || t_fail "snapshot 2 differs from the client's tree"
[ ! -e "$T/r2$D/docs/sub/gone.txt" ] || t_fail "a deleted file is in snapshot 2"
netns_restore 1 1 "$T/r1"
netns_tree "$T/r1$D" | diff "$T/tree1" - >&2 ||
	t_fail "snapshot 1 changed after the second backup"

for b in b1 b2; do
	[ "$(netns_json "$T/$b.out" 'j["format"], j["complete"], j["refused_count"]')" = \
		"('beemo-backup-summary', True, 0)" ] ||
		t_fail "$b: summary $(cat "$T/$b.out")"
done
s1=$(netns_json "$T/b1.out" 'j["bytes_sent"]')
s2=$(netns_json "$T/b2.out" 'j["bytes_sent"]')
[ "$s1" -ge 3000000 ] || t_fail "first backup sent $s1 bytes, less than its big file"
[ "$s2" -lt $((s1 / 10)) ] ||
	t_fail "the incremental backup sent $s2 bytes, the full one $s1"

# ---- the client lists and restores
netns_client 1 snapshots s --key "${NS_KEY[1]}" --json ||
	t_fail "beemo-backup snapshots: exit $? ($(cat "$T/s.err"))"
[ "$(netns_json "$T/s.out" 'j["format"], [s["id"] for s in j["snapshots"]]')" = \
	"('beemo-snapshots', [1, 2])" ] ||
	t_fail "beemo-backup snapshots --json: $(cat "$T/s.out")"
netns_client 1 snapshots st --key "${NS_KEY[1]}" ||
	t_fail "beemo-backup snapshots: exit $? ($(cat "$T/st.err"))"
[ "$(grep -c 'end of backup session' "$T/st.out")" = 2 ] ||
	t_fail "beemo-backup snapshots: $(cat "$T/st.out")"

cp "$T/alice.pw" "${NS_DIR[1]}/alice.pw"
R="${NS_DIR[1]}/restored"
mkdir "$R"
netns_client 1 restore r --user alice --password-file "${NS_DIR[1]}/alice.pw" \
	--snapshot 1 "$D/docs" --target "$R" ||
	t_fail "beemo-backup restore: exit $? ($(cat "$T/r.err"))"
got=
for c in "$R$D/docs" "$R/docs" "$R"; do
	[ -f "$c/sub/gone.txt" ] && { got=$c; break; }
done
[ -n "$got" ] || t_fail "beemo-backup restore: no docs/sub/gone.txt under $R: $(find "$R" | head)"
diff <(t_sums "$T/r1$D/docs") <(t_sums "$got") >&2 ||
	t_fail "beemo-backup restore of snapshot 1's docs differs"
t_log "ok: full $s1 bytes, incremental $s2 bytes"
