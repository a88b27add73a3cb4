#!/bin/bash
# restore_opts.sh -- beemoctl restore's choices: paths with "." and ".."
# (not above the root), --target - for one file's exact bytes on
# standard output, --include/--exclude, --dry-run writing nothing,
# --overwrite never|if-changed|always (never by default, skips said),
# a group of three hard links kept one inode, a sparse file kept
# sparse, the --json summary, and exit 4 when some files failed.
. "$(dirname "$0")/lib.sh"

t_appliance
M="$T/mnt"
t_mount "$M"
mkdir -p "$M/docs/sub" "$M/tmp"
echo "alpha" >"$M/docs/a.txt"
echo "beta" >"$M/docs/b.log"
echo "gamma" >"$M/docs/sub/c.txt"
echo "scratch" >"$M/tmp/x.tmp"
head -c 300000 /dev/urandom >"$M/docs/bin"
echo "linked" >"$M/docs/l1"
ln "$M/docs/l1" "$M/docs/l2"
ln "$M/docs/l1" "$M/docs/sub/l3"
truncate -s 64M "$M/sparse"
printf 'middle' | dd of="$M/sparse" bs=1 seek=$((32 << 20)) conv=notrunc \
	status=none
cp "$M/docs/bin" "$T/bin.orig"
t_umount "$M"
PW=(--password-file "$T/admin.pw")

# Normalised paths, and ".." above the root refused.
for p in ./docs/a.txt docs/../docs/a.txt //docs//./a.txt; do
	rm -rf "$T/n"
	"$BEEMOCTL" restore pc1 latest "$p" --target "$T/n" "${PW[@]}" \
		>/dev/null 2>"$T/n.err" || t_fail "restore $p: $(cat "$T/n.err")"
	[ "$(cat "$T/n/a.txt")" = alpha ] || t_fail "restore $p: wrong file"
done
rc=0
"$BEEMOCTL" restore pc1 latest docs/../../etc --target "$T/up" "${PW[@]}" \
	>/dev/null 2>"$T/up.err" || rc=$?
[ "$rc" = 2 ] || t_fail "\"..\" above the root: exit $rc"
grep -q 'above its root' "$T/up.err" || t_fail "$(cat "$T/up.err")"
[ -e "$T/up" ] && t_fail "\"..\" above the root made the target"

# --target -: the exact bytes, no directory named "-".
(cd "$T" && "$BEEMOCTL" restore pc1 latest docs/bin --target - "${PW[@]}" \
	>"$T/bin.out" 2>"$T/bin.err") || t_fail "--target -: $(cat "$T/bin.err")"
cmp "$T/bin.orig" "$T/bin.out" || t_fail "--target -: bytes differ"
[ -e "$T/-" ] && t_fail "--target - made a directory named -"
t_must_fail "--target - of a directory" "$BEEMOCTL" restore pc1 latest \
	docs --target - "${PW[@]}"
grep -q "not a regular file" "$T/must_fail.out" ||
	t_fail "$(cat "$T/must_fail.out")"

# --include / --exclude, relative to the restored root.
"$BEEMOCTL" restore pc1 latest /docs --target "$T/inc" --include '*.txt' \
	"${PW[@]}" >/dev/null 2>"$T/inc.err" || t_fail "$(cat "$T/inc.err")"
[ "$(cd "$T/inc" && find . -mindepth 1 | sort | tr '\n' ' ')" = \
	"./a.txt ./sub ./sub/c.txt " ] || t_fail "--include: $(ls -R "$T/inc")"
"$BEEMOCTL" restore pc1 latest --target "$T/exc" --exclude tmp \
	--exclude 'docs/sub' --exclude='*.log' "${PW[@]}" >/dev/null \
	2>"$T/exc.err" || t_fail "$(cat "$T/exc.err")"
[ -f "$T/exc/docs/a.txt" ] && [ ! -e "$T/exc/tmp" ] &&
	[ ! -e "$T/exc/docs/sub" ] && [ ! -e "$T/exc/docs/b.log" ] ||
	t_fail "--exclude: $(ls -R "$T/exc")"
"$BEEMOCTL" restore pc1 latest --target "$T/both" --include docs/sub \
	"${PW[@]}" >/dev/null 2>&1 || t_fail "--include docs/sub"
[ "$(cd "$T/both" && find . -type f | sort | tr '\n' ' ')" = \
	"./docs/sub/c.txt ./docs/sub/l3 " ] || t_fail "--include a directory: $(ls -R "$T/both")"

# --dry-run writes nothing and says what it would write.
"$BEEMOCTL" restore pc1 latest /docs --target "$T/dry" --dry-run \
	"${PW[@]}" >"$T/dry.out" 2>&1 || t_fail "--dry-run: $(cat "$T/dry.out")"
[ -e "$T/dry" ] && t_fail "--dry-run made the target"
grep -qx "restore $T/dry/a.txt" "$T/dry.out" || t_fail "$(cat "$T/dry.out")"
[ "$(grep -c "^link $T/dry/" "$T/dry.out")" = 2 ] ||
	t_fail "a hard link group: $(cat "$T/dry.out")"
"$BEEMOCTL" restore pc1 latest /docs --target "$T/inc" --dry-run --json \
	"${PW[@]}" >"$T/dry.json" 2>/dev/null || t_fail "--dry-run --json"
python3 - "$T/dry.json" "$T/inc" <<'PY' || t_fail "$(cat "$T/dry.json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["format"] == "beemo-restore" and d["version"] == 1, d
assert d["dry_run"] is True, d
acts = {(e["action"], e["path"][len(sys.argv[2]) + 1:]) for e in d["entries"]}
assert ("skip", "a.txt") in acts and ("restore", "b.log") in acts, acts
assert d["skipped"] == 2, d
PY
[ -e "$T/inc/b.log" ] && t_fail "--dry-run wrote into an existing target"

# --overwrite: never (default, said), if-changed, always.
mkdir -p "$T/ow/sub"
echo "mine" >"$T/ow/a.txt"
echo "old gamma" >"$T/ow/sub/c.txt"
"$BEEMOCTL" restore pc1 latest /docs --target "$T/ow" "${PW[@]}" \
	>"$T/ow.out" 2>"$T/ow.err" || t_fail "overwrite never: $(cat "$T/ow.err")"
[ "$(cat "$T/ow/a.txt")" = mine ] || t_fail "default replaced a file"
grep -q "a.txt: exists.*skipped" "$T/ow.err" || t_fail "skip not said: $(cat "$T/ow.err")"
grep -q "^2 skipped" "$T/ow.out" || t_fail "$(cat "$T/ow.out")"
[ "$(cat "$T/ow/b.log")" = beta ] || t_fail "new file not restored"
touch -d @1000000000 "$T/ow/b.log"
"$BEEMOCTL" restore pc1 latest /docs --target "$T/ow" --overwrite \
	if-changed --json "${PW[@]}" >"$T/ow.json" 2>"$T/ow.err" ||
	t_fail "if-changed: $(cat "$T/ow.err")"
[ "$(cat "$T/ow/a.txt")" = alpha ] && [ "$(cat "$T/ow/sub/c.txt")" = gamma ] ||
	t_fail "if-changed kept changed files"
[ "$(stat -c %Y "$T/ow/b.log")" != 1000000000 ] || t_fail "if-changed kept b.log"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["skipped"] >= 3 and d["failed"] == 0, d' \
	"$T/ow.json" || t_fail "if-changed: $(cat "$T/ow.json")"
echo "mine" >"$T/ow/a.txt"
"$BEEMOCTL" restore pc1 latest /docs/a.txt --target "$T/ow" \
	--overwrite=always "${PW[@]}" >/dev/null || t_fail "overwrite always"
[ "$(cat "$T/ow/a.txt")" = alpha ] || t_fail "always did not replace"
t_must_fail "bad mode" "$BEEMOCTL" restore pc1 latest --target "$T/ow" \
	--overwrite=sometimes "${PW[@]}"

# Hard links: three names, one inode.
"$BEEMOCTL" restore pc1 latest --target "$T/hl" "${PW[@]}" >/dev/null ||
	t_fail "restore for links"
i1=$(stat -c %i "$T/hl/docs/l1")
[ "$(stat -c %i "$T/hl/docs/l2")" = "$i1" ] &&
	[ "$(stat -c %i "$T/hl/docs/sub/l3")" = "$i1" ] &&
	[ "$(stat -c %h "$T/hl/docs/l1")" = 3 ] || t_fail "hard links lost"

# A sparse file stays sparse.
[ "$(stat -c %s "$T/hl/sparse")" = $((64 << 20)) ] || t_fail "sparse size"
[ "$(du -k "$T/hl/sparse" | cut -f1)" -lt 1024 ] ||
	t_fail "sparse file restored with $(du -k "$T/hl/sparse") KiB"
[ "$(dd if="$T/hl/sparse" bs=1 skip=$((32 << 20)) count=6 status=none)" = \
	middle ] || t_fail "sparse data"

# Some files failed: exit 4, a summary counting them.
mkdir -p "$T/w/b.log"
rc=0
"$BEEMOCTL" restore pc1 latest /docs --target "$T/w" --overwrite always \
	--json "${PW[@]}" >"$T/w.json" 2>"$T/w.err" || rc=$?
[ "$rc" = 4 ] || t_fail "some files failed: exit $rc: $(cat "$T/w.err")"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["failed"] == 1 and d["files"] >= 5 and d["bytes"] > 300000, d' \
	"$T/w.json" || t_fail "summary: $(cat "$T/w.json")"
t_log "ok"
