#!/bin/bash
# store_privacy.sh -- promise 6a: no plaintext file content or file name
# ever reaches the appliance's disk.  Files whose contents AND names carry
# a unique random marker (tiny, compressible text, 5 MiB, a zip, a
# random-write file that goes through the staging file, directory names,
# a 255-byte name, hard links, xattr names and values, symlink targets, a
# snapshot note) are written through the mount; then every byte of every
# file under the store -- and the daemon's open files, including unlinked
# staging files, while a write is in progress -- is searched for the
# marker (plain, upper/lower case, reversed, UTF-16LE, and a 10-character
# prefix).  The antivirus's tmpfs directory must be gone after unmount and
# /dev/shm must hold no marker.
. "$(dirname "$0")/lib.sh"

command -v setfattr >/dev/null ||
	t_skip "setfattr not found (Debian package attr)"

# The marker: 20 random lowercase hex digits, different at every run.
CORE=$(head -c 10 /dev/urandom | od -An -tx1 | tr -d ' \n')
M="bmk${CORE}"
MNT="$T/mnt"
DIR="$T/store/machines/pc1"
# Findings are collected, so that one run reports every place.
FAILED=()
bad() {
	t_log "FAIL: $1"
	FAILED+=("$1")
}

t_appliance
t_mount "$MNT"
PID=${T_MOUNT_PID[$MNT]}

# ---- contents and names with the marker ------------------------------------
printf '%s' "$M" >"$MNT/tiny-$M"
python3 - "$MNT" "$M" <<'PY' || t_fail "writing the marked files"
import os, sys, zipfile
mnt, m = sys.argv[1], sys.argv[2]
# Compressible text, ~200 KiB, the marker on every line.
with open(f"{mnt}/text-{m}.txt", "w") as f:
    for i in range(4000):
        f.write(f"line {i} of the secret report {m} lorem ipsum\n")
# 5 MiB: random bytes with the marker every 64 KiB.
rnd = bytearray(os.urandom(5 << 20))
for off in range(0, len(rnd) - 64, 65536):
    rnd[off:off + len(m)] = m.encode()
with open(f"{mnt}/big-{m}.bin", "wb") as f:
    f.write(rnd)
# 5 MiB of compressible text with the marker.
with open(f"{mnt}/bigtext-{m}.txt", "w") as f:
    line = f"{m} the same compressible sentence again and again\n"
    f.write(line * ((5 << 20) // len(line)))
# A zip with a marked member (unpacked by the antivirus, in memory).
with zipfile.ZipFile(f"{mnt}/arch-{m}.zip", "w") as z:
    z.writestr(f"member-{m}.txt", (f"zipped {m}\n" * 100))
# Random writes (out of order): these go through the staging file.
with open(f"{mnt}/random-{m}.bin", "wb") as f:
    for off in (3 << 20, 1 << 20, 0, 2 << 20, 12345):
        f.seek(off)
        f.write((m + " random write ").encode() * 100)
os.makedirs(f"{mnt}/dir-{m}/sub-{m}")
with open(f"{mnt}/dir-{m}/sub-{m}/deep-{m}", "w") as f:
    f.write(f"deep {m}\n")
long = (f"long-{m}-" * 20)[:255]
with open(f"{mnt}/dir-{m}/{long}", "w") as f:
    f.write(m)
os.link(f"{mnt}/tiny-{m}", f"{mnt}/dir-{m}/hardlink-{m}")
os.symlink(f"/target/of/{m}/link", f"{mnt}/symlink-{m}")
os.mkfifo(f"{mnt}/fifo-{m}")
PY
# A refused file (EICAR) whose name carries the marker: the events it
# causes (journal, reports) must not name it in clear on disk either.
t_expect_log "error: /virus-$M\.com: virus Beemo\.Test\.EICAR[^ ]* found: \
file not backed up$"
printf '%s' "$T_EICAR" >"$T/eicar.com"
t_put_virus "$T/eicar.com" "$MNT/virus-$M.com" || t_fail "EICAR was accepted"
setfattr -n "user.name-$M" -v "xattr value $M" "$MNT/tiny-$M" ||
	t_fail "setfattr on a file"
setfattr -n "user.dir" -v "$M" "$MNT/dir-$M" || t_fail "setfattr on a directory"
setfattr -h -n "trusted.link-$M" -v "$M" "$MNT/symlink-$M" ||
	t_fail "setfattr on a symlink"

# search WHERE...: look for the marker in every regular file under each
# WHERE (a file or a directory; unreadable entries are skipped), and in
# the files /proc/PID/fd/* of the daemon ($PID) that live under the store
# (also unlinked ones).  Prints each hit; exit 1 if any.
search() {
	python3 - "$CORE" "$M" "$PID" "$T/store" "$@" <<'PY'
import os, stat, sys
core, m, pid, store, wheres = sys.argv[1], sys.argv[2], sys.argv[3], \
    sys.argv[4], sys.argv[5:]
pats = {}
for s in (m, core, core[:10]):
    for v in (s, s.upper(), s.lower(), s[::-1]):
        pats[v.encode()] = v
        pats[v.encode("utf-16-le")] = "utf-16 " + v
hits = 0
def scan(path, label):
    global hits
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return
    for p, name in pats.items():
        if p in data:
            print(f"marker ({name}) found in {label} at offset "
                  f"{data.find(p)}")
            hits += 1
            return
nfiles = 0
for w in wheres:
    if os.path.isfile(w):
        scan(w, w)
        nfiles += 1
        continue
    for root, dirs, files in os.walk(w):
        for n in files + dirs:
            p = os.path.join(root, n)
            if any(v.encode() in p.encode() for v in (core, core[:10])):
                print(f"marker in a name under the store: {p}")
                hits += 1
        for n in files:
            p = os.path.join(root, n)
            try:
                st = os.lstat(p)
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode):
                scan(p, p)
                nfiles += 1
if pid != "-":
    fd = f"/proc/{pid}/fd"
    for n in os.listdir(fd):
        try:
            t = os.readlink(f"{fd}/{n}")
        except OSError:
            continue
        if t.startswith(store):
            scan(f"{fd}/{n}", f"daemon fd {n} ({t})")
            nfiles += 1
print(f"searched {nfiles} files", file=sys.stderr)
sys.exit(1 if hits else 0)
PY
}

# hits OUTPUT: the hits reported by search, on one line.
hits() { printf '%s\n' "$1" | grep -v '^searched' | tr '\n' ';'; }

# The search itself finds what it looks for.
printf 'x%sx' "$(echo "$M" | rev)" >"$T/selfcheck"
search "$T/selfcheck" >/dev/null 2>&1 &&
	t_fail "search does not find a reversed marker"
rm "$T/selfcheck"

# ---- while mounted: a write in progress, its data in the staging file ------
# A writer keeps a random-written file open (its content is in the
# daemon's unlinked staging file), fsyncs another (packs on disk), and
# waits while the store and the daemon's open files are searched.
mkfifo "$T/go" "$T/done"
python3 - "$MNT" "$M" "$T/go" "$T/done" <<'PY' &
import ctypes, os, sys
mnt, m, go, done = sys.argv[1:5]
# syncfs(2) of this mount only: sync(2) would also wait for the other
# tests' FUSE mounts, some of which may belong to a stopped daemon.
syncfs = ctypes.CDLL(None, use_errno=True).syncfs
fd = os.open(f"{mnt}/open-{m}.bin", os.O_WRONLY | os.O_CREAT, 0o644)
for off in (2 << 20, 0, 1 << 20, 700000):
    os.pwrite(fd, (m + " staged ").encode() * 4000, off)
# Push the dirty pages to the daemon (writeback cache) without a close
# or fsync, which would commit (syncfs); then rewrite the start: the
# daemon must stage the file (it can no longer stream it).
syncfs(fd)
os.pwrite(fd, (m + " rewritten ").encode() * 100, 100)
syncfs(fd)
g = os.open(f"{mnt}/synced-{m}.txt", os.O_WRONLY | os.O_CREAT, 0o644)
os.write(g, (m + " synced\n").encode() * 1000)
os.fsync(g)
os.close(g)
open(go, "w").close()      # tell the test: written, still open
open(done, "r").read()     # wait until searched
os.close(fd)
PY
WRITER=$!
cat "$T/go" >/dev/null
STAGED=0
for f in /proc/"$PID"/fd/*; do
	case $(readlink "$f") in "$DIR/staging/"*) STAGED=1 ;; esac
done
[ $STAGED = 1 ] ||
	t_fail "no staging file open in the daemon: the test cannot search one"
if [ -n "$(ls -A "$DIR/staging" 2>/dev/null)" ]; then
	t_fail "named files in the staging dir: $(ls -A "$DIR/staging")"
fi
OUT=$(search "$T/store" 2>&1) || bad "while mounted: $(hits "$OUT")"
t_log "while mounted: $(echo "$OUT" | tail -1)"
echo x >"$T/done"
wait $WRITER || t_fail "the writer of the open file failed"

"$BEEMOCTL" snapshot pc1 --note "note $M" >/dev/null ||
	t_fail "snapshot through the daemon"
SCAN_TMP=$(ls -d /run/beemo/scan-"$PID"-* /dev/shm/beemo/scan-"$PID"-* \
	/dev/shm/beemo-*/scan-"$PID"-* 2>/dev/null || true)
[ -n "$SCAN_TMP" ] || t_fail "no antivirus temporary directory of $PID"
t_umount "$MNT"

# ---- after unmount --------------------------------------------------------
ls "$DIR"/packs/*/*.pack >/dev/null 2>&1 ||
	t_fail "no pack file under $DIR/packs"
[ -s "$DIR/index/data.mdb" ] || t_fail "no index at $DIR/index/data.mdb"
if [ -n "$(ls -A "$DIR/staging" 2>/dev/null)" ]; then
	t_fail "staging dir not empty after unmount: $(ls -A "$DIR/staging")"
fi
# The data really went in: the packs hold at least the 10 MiB of big files
# (compressed text counts little, so only the random 5 MiB is sure).
BYTES=$(du -sb "$DIR/packs" | cut -f1)
[ "$BYTES" -gt $((5 << 20)) ] || t_fail "packs hold only $BYTES bytes"
for d in $SCAN_TMP; do
	[ ! -e "$d" ] ||
		t_fail "antivirus temporary directory $d left after unmount"
done
PID=-
OUT=$(search "$T/store" 2>&1) || bad "after unmount: $(hits "$OUT")"
t_log "after unmount: $(echo "$OUT" | tail -1)"
OUT=$(search /dev/shm 2>&1) || bad "in /dev/shm: $(hits "$OUT")"

# ---- the files are really there (the search looked at the right data) ------
t_mount_session "$T/ro" "machine=pc1,admin,passfile=$T/admin.pw"
[ "$(cat "$T/ro/tiny-$M")" = "$M" ] || t_fail "tiny file not restored"
[ "$(readlink "$T/ro/symlink-$M")" = "/target/of/$M/link" ] ||
	t_fail "symlink target not restored"
X=$(getfattr --absolute-names --only-values -n "user.name-$M" "$T/ro/tiny-$M")
[ "$X" = "xattr value $M" ] ||
	t_fail "xattr not restored"
grep -q "$M staged" "$T/ro/open-$M.bin" || t_fail "staged file not committed"
"$BEEMOCTL" snapshots pc1 --password-file "$T/admin.pw" | grep "note $M" >/dev/null ||
	t_fail "snapshot note not listed"
t_umount "$T/ro"
[ ${#FAILED[@]} = 0 ] || t_fail "the marker reached the disk (see above)"
t_log "PASS"
