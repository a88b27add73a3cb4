#!/bin/bash
# fs_git.sh -- git on beemofs: clone a repository with history into the
# mount (by the pack protocol and by a local copy of the objects), gc
# --aggressive, fsck --full, commit inside the mount; remount and check
# again; the snapshot copy must fsck and clone too.  git exercises lock
# files (O_EXCL + rename over), fsync, mmap of packs, chmod 0444 objects,
# link-then-rename, and stat caching in its index.
set -euo pipefail
# shellcheck source=tests/e2e/fs_lib.sh
. "$(dirname "$0")/fs_lib.sh"

fs_need git git
fs_init

# A private, deterministic git environment.
export HOME=$T GIT_CONFIG_NOSYSTEM=1 GIT_TERMINAL_PROMPT=0
export GIT_AUTHOR_NAME=Beemo GIT_AUTHOR_EMAIL=beemo@example.org
export GIT_COMMITTER_NAME=Beemo GIT_COMMITTER_EMAIL=beemo@example.org
git config --global init.defaultBranch main
git config --global gc.auto 0
git config --global core.fsync all
git config --global safe.directory '*'

# mk_origin DIR: about 400 files, 8 commits, with edits, renames,
# deletions, binary files, an executable, a symlink, a tag and a branch.
mk_origin() {
	local o=$1 c i d
	git init -q "$o"
	for c in 1 2 3 4 5 6 7 8; do
		export GIT_AUTHOR_DATE="@$((1600000000 + c * 3600)) +0000"
		export GIT_COMMITTER_DATE=$GIT_AUTHOR_DATE
		for i in $(seq $((c * 50 - 49)) $((c * 50))); do
			d=$o/dir$((i % 7))/sub$((i % 3))
			mkdir -p "$d"
			seq "$i" $((i * 3)) >"$d/file$i.txt"
		done
		head -c $((c * 100000)) /dev/urandom >"$o/blob$c.bin"
		if [ "$c" -gt 1 ]; then
			seq 1 "$c" >>"$o/dir1/sub1/file1.txt"
			# (file N is in dirN%7/subN%3: N = 2 mod 21 is here)
			i=$((2 + 21 * (c - 2)))
			git -C "$o" mv "dir2/sub2/file$i.txt" \
				"dir2/renamed$c.txt"
			git -C "$o" rm -q "blob$((c - 1)).bin"
		fi
		git -C "$o" add -A
		git -C "$o" commit -q -m "commit $c"
	done
	printf '#!/bin/sh\necho hi\n' >"$o/run.sh"
	chmod 755 "$o/run.sh"
	ln -s dir1/sub1/file1.txt "$o/link"
	git -C "$o" add -A
	git -C "$o" commit -q -m "exec and symlink"
	git -C "$o" tag -a -m "version 1" v1
	git -C "$o" branch side HEAD~3
	unset GIT_AUTHOR_DATE GIT_COMMITTER_DATE
}

# check_repo REPO WHAT: fsck, same history and tree as the origin, clean
# work tree.
check_repo() {
	local r=$1 what=$2
	fs_run 300 "git fsck --full ($what)" git -C "$r" fsck --full --strict \
		--no-dangling >/dev/null
	[ "$(git -C "$r" rev-parse HEAD)" = "$head" ] ||
		t_fail "$what: HEAD is not $head"
	[ "$(git -C "$r" rev-parse "v1^{commit}")" = "$v1" ] ||
		t_fail "$what: tag v1 is not $v1"
	[ "$(git -C "$r" rev-list --count HEAD)" = "$ncommits" ] ||
		t_fail "$what: not $ncommits commits"
	[ "$(git -C "$r" status --porcelain)" = "" ] ||
		t_fail "$what: work tree not clean: $(git -C "$r" status \
			--porcelain | head -n 3)"
	diff -r --no-dereference -x .git "$origin" "$r" >"$T/diff.out" 2>&1 ||
		t_fail "$what: work tree differs: $(head -n 3 "$T/diff.out")"
	[ -x "$r/run.sh" ] || t_fail "$what: run.sh lost its exec bit"
	[ "$(readlink "$r/link")" = dir1/sub1/file1.txt ] ||
		t_fail "$what: symlink link wrong"
}

origin=$T/origin
mk_origin "$origin"
head=$(git -C "$origin" rev-parse HEAD)
v1=$(git -C "$origin" rev-parse 'v1^{commit}')
ncommits=$(git -C "$origin" rev-list --count HEAD)
t_log "origin: $ncommits commits, $(git -C "$origin" ls-files | wc -l) files"

fs_mount
fs_history
fs_snapshot_ids >"$T/snapshots.before"
fs_run 300 "git clone --no-local" git clone -q --no-local "$origin" \
	"$MNT/repo"
fs_run 300 "git clone (local copy)" git clone -q "$origin" "$MNT/copy"
check_repo "$MNT/repo" "pack clone"
check_repo "$MNT/copy" "local clone"

fs_run 600 "git gc --aggressive" git -C "$MNT/repo" gc -q --aggressive \
	--prune=now
[ "$(find "$MNT/repo/.git/objects" -type f -path '*/[0-9a-f][0-9a-f]/*' |
	wc -l)" = 0 ] || t_fail "gc left loose objects"
check_repo "$MNT/repo" "after gc"

# A commit made inside the mount.
r=$MNT/repo
git -C "$r" checkout -q -b work
seq 1 5000 >"$r/new-file.txt"
printf 'changed\n' >>"$r/dir3/sub0/file3.txt"
git -C "$r" mv dir4/sub1/file4.txt dir4/moved.txt
git -C "$r" rm -q dir5/sub2/file5.txt
head -c 300000 /dev/urandom >"$r/new.bin"
git -C "$r" add -A
git -C "$r" commit -q -m "made in the mount"
work=$(git -C "$MNT/repo" rev-parse work)
[ "$(git -C "$MNT/repo" log -1 --format=%s work)" = "made in the mount" ] ||
	t_fail "git log does not show the new commit"
[ "$(git -C "$MNT/repo" rev-list --count work)" = $((ncommits + 1)) ] ||
	t_fail "work branch is not $((ncommits + 1)) commits"
[ "$(git -C "$MNT/repo" diff --name-status HEAD~1 HEAD | wc -l)" = 5 ] ||
	t_fail "the new commit does not have 5 changes"
fs_run 300 "git fsck after commit" git -C "$MNT/repo" fsck --full --strict \
	--no-dangling >/dev/null
git -C "$MNT/repo" checkout -q main

fs_remount
check_repo "$MNT/repo" "pack clone after remount"
check_repo "$MNT/copy" "local clone after remount"
[ "$(git -C "$MNT/repo" rev-parse work)" = "$work" ] ||
	t_fail "branch work lost after remount"
git -C "$MNT/repo" checkout -q work
[ "$(git -C "$MNT/repo" log -1 --format=%s)" = "made in the mount" ] ||
	t_fail "git log after remount"
git -C "$MNT/repo" checkout -q main

if fs_has_snapshots; then
	fs_history
	id=$(fs_new_snapshot "$T/snapshots.before")
	snap=$SNAPS/$id
	fs_run 300 "git fsck in the snapshot" git -C "$snap/repo" fsck --full \
		--strict --no-dangling >/dev/null
	[ "$(git -C "$snap/repo" rev-parse work)" = "$work" ] ||
		t_fail "snapshot: branch work is not $work"
	fs_run 300 "git clone from the snapshot" git clone -q --no-local \
		"$snap/repo" "$T/restored"
	[ "$(git -C "$T/restored" rev-parse origin/work)" = "$work" ] ||
		t_fail "clone of the snapshot: branch work is not $work"
	check_repo "$T/restored" "clone of the snapshot"
else
	t_log "ext4 mode: no snapshot checks (see FS_TEST_SNAPSHOTS)"
fi
fs_umount
t_log "ok"
