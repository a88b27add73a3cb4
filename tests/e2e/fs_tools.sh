#!/bin/bash
# fs_tools.sh -- backup clients' copy tools on beemofs: rsync -aHAX,
# cp -a and tar (--xattrs --acls) copy a source tree with every kind of
# file and metadata into the mount; each copy must equal the source
# exactly (fs_manifest: type, mode, owner, size, mtime to the ns,
# content, symlink target, xattrs, ACLs, hard-link groups, rdev), at
# once, after a remount, and in the snapshot taken at unmount, which must
# be read-only, keep its content when the live tree changes, and restore
# with cp -a.  A second rsync must find nothing to transfer.
set -euo pipefail
# shellcheck source=tests/e2e/fs_lib.sh
. "$(dirname "$0")/fs_lib.sh"

fs_need rsync rsync
fs_need setfacl acl
fs_need getfacl acl
fs_need getfattr attr
fs_need setfattr attr
fs_need tar tar
fs_init

TAR_OPTS=(--xattrs --xattrs-include='*' --acls --numeric-owner)

# mk_tree DIR: the source tree.
mk_tree() {
	local s=$1 n255 u255 f ns=100000001
	mkdir -p "$s"
	cd "$s"

	# Sizes: empty, around a page, several chunks, > 3 MiB, sparse,
	# compressible, and two identical files (dedup).
	: >empty
	printf x >one
	head -c 4095 /dev/urandom >f4095
	head -c 4096 /dev/urandom >f4096
	head -c 4097 /dev/urandom >f4097
	head -c 65537 /dev/urandom >f65537
	head -c $((3 * 1048576 + 333)) /dev/urandom >big-3m
	head -c $((9 * 1048576 + 7)) /dev/urandom >big-9m
	seq 1 600000 >text-4m
	head -c $((2 * 1048576)) /dev/urandom >dup-a
	cp dup-a dup-b
	truncate -s 20M sparse
	printf 'start' | dd of=sparse conv=notrunc status=none
	printf 'middle' | dd of=sparse bs=1M seek=16 conv=notrunc status=none

	# Modes and owners.
	mkdir modes owners
	for m in 0000 0400 0600 0644 0755 4755 2755 6711 1755; do
		printf '%s\n' "$m" >"modes/m$m"
	done
	chown 1001:1002 modes/m4755 modes/m6711
	chown 0:1002 modes/m2755
	for m in 0000 0400 0600 0644 0755 4755 2755 6711 1755; do
		chmod "$m" "modes/m$m"
	done
	mkdir modes/d0700 modes/d0555 modes/d1777 modes/d2775
	printf 'in a read-only dir\n' >modes/d0555/file
	chmod 0700 modes/d0700
	chmod 0555 modes/d0555
	chmod 1777 modes/d1777
	chown 0:4242 modes/d2775
	chmod 2775 modes/d2775
	printf 'o\n' >owners/o1001
	chown 1001:1002 owners/o1001
	printf 'o\n' >owners/o65534
	chown 65534:65534 owners/o65534
	printf 'o\n' >owners/obig
	chown 123456:654321 owners/obig
	mkdir owners/odir
	chown 4242:4343 owners/odir
	ln -s o1001 owners/olink
	chown -h 1001:1002 owners/olink

	# Hard links, across directories, with odd names, of an empty file.
	# (Not of a fifo: GNU tar extracts those as separate fifos.)
	mkdir -p links/sub
	printf 'shared content\n' >links/hl-a
	ln links/hl-a links/hl-b
	ln links/hl-a "links/sub/hl c"
	: >links/empty-a
	ln links/empty-a links/sub/empty-b
	head -c 100000 /dev/urandom >links/big-a
	ln links/big-a links/big-b

	# Symlinks.
	mkdir symlinks
	ln -s ../one symlinks/rel
	ln -s /etc/passwd symlinks/abs
	ln -s nowhere/at/all symlinks/dangling
	ln -s ../links symlinks/dirlink
	ln -s "$(printf 'odd target\twith\nnewline ')" symlinks/odd
	ln -s "$(head -c 1000 /dev/zero | tr '\0' t)" symlinks/long

	# Special files.
	mkdir special
	mkfifo -m 0640 special/fifo
	mknod -m 0600 special/chardev c 1 7
	mknod -m 0660 special/blockdev b 7 200
	chown 1001:6 special/blockdev

	# Extended attributes (ext4 keeps them in one 4 KiB block).
	mkdir xattrs
	printf 'x\n' >xattrs/file
	setfattr -n user.text -v hello xattrs/file
	setfattr -n user.bin -v 0x00ff10000a xattrs/file
	setfattr -n user.empty xattrs/file
	setfattr -n user.long -v "0s$(head -c 2000 /dev/urandom | base64 -w0)" \
		xattrs/file
	setfattr -n user.dir -v 'on a directory' xattrs
	printf 'x\n' >xattrs/linked
	setfattr -n user.shared -v 'hard linked' xattrs/linked
	ln xattrs/linked xattrs/linked2
	setfattr -n user.fifo-not-allowed -v x special/fifo 2>/dev/null &&
		t_fail "user.* xattr on a fifo accepted: the VFS refuses it"

	# POSIX ACLs: on a file, and a default ACL inherited in a directory.
	mkdir acl
	printf 'acl\n' >acl/file
	setfacl -m u:1234:rw-,g:2345:r--,m::rw- acl/file
	mkdir acl/dir
	setfacl -m u:1234:rwx acl/dir
	setfacl -d -m u:1234:rwx,g:2345:r-x,o::--- acl/dir
	printf 'inherits\n' >acl/dir/inherited
	mkdir acl/dir/subdir
	setfattr -n user.too -v 'and an xattr' acl/file

	# Odd names: spaces, control characters, shell metacharacters,
	# UTF-8, bytes that are not UTF-8, 255 bytes.
	mkdir names
	n255=$(head -c 255 /dev/zero | tr '\0' n)
	u255=$(printf '\303\251%.0s' $(seq 85)
		head -c 85 /dev/zero | tr '\0' u)
	for f in 'with space' ' lead' 'trail ' $'new\nline' $'tab\there' \
		'-dash' 'star*?[x]' "quote'\"" 'back\slash' '$dollar' \
		'été 日本語 🎉' $'\xff\xfe latin' "$n255" "$u255" .hidden; do
		printf '%s\n' "$f" >"names/$f"
	done
	mkdir "names/dir with"$'\n'"newline"
	printf 'deep\n' >"names/dir with"$'\n'"newline/$n255"

	mkdir -p deep/a/b/c/d/e/f/g emptydir
	printf 'deep\n' >deep/a/b/c/d/e/f/g/file

	# Nanosecond mtimes, distinct per entry; directories last, deepest
	# first.
	while IFS= read -r -d '' f; do
		touch -h -d "@$((1500000000 + ns % 100000000)).$ns" -- "$f"
		ns=$((ns + 7777777))
		[ $ns -lt 1000000000 ] || ns=$((ns - 899999999))
	done < <(find . -mindepth 1 ! -type d -print0)
	while IFS= read -r -d '' f; do
		touch -h -d "@$((1400000000 + ns % 100000000)).$ns" -- "$f"
		ns=$((ns + 7777777))
		[ $ns -lt 1000000000 ] || ns=$((ns - 899999999))
	done < <(find . -depth -type d -print0)
	cd - >/dev/null
}

src=$T/src
mk_tree "$src"
fs_manifest "$src" "$T/src.manifest"
# The manifest must see what the tree was built with.
for want in $'acl\t.*user:1234:rwx' $'xattr\tuser.bin=0x00ff10000a' \
	$'rdev\t1:7' $'mtime\t1[0-9]*\\.[0-9]{9}$' $'link\tlinks/hl-a' \
	$'mode\t6711' $'uid\t123456'; do
	grep -Eq "$want" "$T/src.manifest" ||
		t_fail "source manifest lacks $want (test bug)"
done
t_log "source tree: $(grep -c $'\ttype\t' "$T/src.manifest") entries"

# copy_all: the three copies into the mount.
copy_all() {
	fs_run 300 "rsync -aHAX into the mount" rsync -aHAX "$src/" "$MNT/r/"
	fs_run 300 "cp -a into the mount" cp -a "$src" "$MNT/c"
	mkdir "$MNT/t"
	fs_run 300 "tar into the mount" bash -c 'set -o pipefail
		tar "${@:3}" --format=posix -cpf - -C "$1" . |
		tar "${@:3}" -xpf - -C "$2"' tar "$src" "$MNT/t" \
		"${TAR_OPTS[@]}"
}

compare_all() {
	local when=$1
	fs_compare "$T/src.manifest" "$MNT/r" "rsync copy ($when)"
	fs_compare "$T/src.manifest" "$MNT/c" "cp -a copy ($when)"
	fs_compare "$T/src.manifest" "$MNT/t" "tar copy ($when)"
	# An incremental rsync must see nothing to do (rsync's quick check
	# reads back size, mtime, mode, owner, xattrs, ACLs, links).
	local out
	out=$(fs_run 300 "second rsync ($when)" rsync -aHAXi "$src/" \
		"$MNT/r/")
	[ -z "$out" ] ||
		t_fail "second rsync ($when) found changes: $(printf '%s\n' \
			"$out" | head -n 3)"
}

fs_mount
fs_history
fs_snapshot_ids >"$T/snapshots.before"
copy_all
compare_all "just copied"

fs_remount
compare_all "after remount"

if fs_has_snapshots; then
	fs_history
	id=$(fs_new_snapshot "$T/snapshots.before")
	snap=$SNAPS/$id
	t_log "snapshot $id"
	for d in r c t; do
		fs_compare "$T/src.manifest" "$snap/$d" "snapshot $d"
	done
	# Changing the live tree leaves the snapshot alone.
	printf 'more' >>"$MNT/r/one"
	chmod 0600 "$MNT/r/f4096"
	rm "$MNT/r/big-3m"
	mv "$MNT/r/dup-a" "$MNT/r/dup-moved"
	setfattr -n user.text -v changed "$MNT/r/xattrs/file"
	rm -rf "$MNT/c/names"
	# Read-only: files, a hard link, a symlink, specials, directories
	# (empty, not empty, with ACLs), the snapshot itself.
	fs_readonly "$snap/r/one" "$snap/r/empty" "$snap/r/links/hl-b" \
		"$snap/r/symlinks/rel" "$snap/r/special/fifo" \
		"$snap/r/special/chardev" "$snap/r/xattrs/file" \
		"$snap/r/acl/dir" "$snap/r/emptydir" "$snap/r/names" "$snap"
	t_must_fail "mkdir in .snapshots" mkdir "$SNAPS/new"
	t_must_fail "creating a file in .snapshots" touch "$SNAPS/new"
	t_must_fail "removing a snapshot" rm -rf "$snap"
	t_must_fail "renaming a snapshot" mv "$snap" "$snap.renamed"
	for d in r c t; do
		fs_compare "$T/src.manifest" "$snap/$d" \
			"snapshot $d (after write attempts and live changes)"
		fs_run 300 "cp -a from the snapshot" cp -a "$snap/$d" \
			"$T/restore-$d"
		fs_compare "$T/src.manifest" "$T/restore-$d" \
			"restore of snapshot $d"
	done
else
	t_log "ext4 mode: no snapshot checks (see FS_TEST_SNAPSHOTS)"
fi
fs_umount
t_log "ok"
