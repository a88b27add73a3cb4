#!/bin/bash
# store_tamper.sh -- promise 6c: a changed byte anywhere in a pack or in
# the index is detected, never wrong data.  One store holds
# /docs/victim.bin (3 MiB, alone in its pack) and, in another pack,
# /other.bin and /tiny.txt.  Each case starts from a pristine copy of the
# machine's directory, changes one byte (or cuts a pack), then:
#   - every file is read block by block through a fresh read-only restore
#     mount: each block is either the original bytes or EIO, never other
#     bytes; the affected file fails, the others read back intact;
#   - the daemon's log names the damaged object;
#   - `beemoctl check --read-data` exits 1 and names the object and the
#     file it affects.
# Cases: a chunk's ciphertext, its GCM tag, its header's nonce, id, length
# and magic; a log object; the pack header's magic, machine id and
# reserved bytes; a truncated pack; the sealed content, inode and
# directory entry records of the victim in index/data.mdb; and the
# index's plain counters next_pack and next_ino (a backup session after
# that must neither delete packs nor hand out a used inode number); and
# random bytes of random packs (STORE_TAMPER_RANDOM, default 8).
. "$(dirname "$0")/lib.sh"

command -v mdb_dump >/dev/null ||
	t_skip "mdb_dump not found (Debian package lmdb-utils)"

DIR="$T/store/machines/pc1"
RO="$T/ro"
PY="$T/tamper.py"

cat >"$PY" <<'PY'
"""Helpers of store_tamper.sh.

tamper.py objects PACK         -> "OFFSET TYPE STORED_LEN IDHEX" per object
tamper.py flip FILE OFFSET     -> xor the byte at OFFSET with 0x01
tamper.py read ORIG MNT FILE.. -> "FILE ok|eio|eio-open|wrong ..." per file
tamper.py mdbflip DIR TABLE PREFIXHEX
    -> change one ciphertext byte of every value of TABLE whose key
       starts with PREFIXHEX, wherever its bytes are in DIR/data.mdb;
       prints the keys
tamper.py metaset DIR KEY VALUE -> set the plain u64 META value KEY
"""
import errno, os, subprocess, sys

def objects(pack):
    b = open(pack, "rb").read()
    off = 32
    while off + 64 <= len(b):
        h = b[off:off + 64]
        if h[:4] != b"BOB1":
            raise SystemExit(f"{pack}: no object header at {off}")
        slen = int.from_bytes(h[12:16], "big")
        print(off, h[4], slen, h[32:64].hex())
        off += 64 + slen + 16

def flip(path, off):
    with open(path, "r+b") as f:
        f.seek(off)
        c = f.read(1)
        f.seek(off)
        f.write(bytes([c[0] ^ 1]))

def read(orig, mnt, files):
    bad = 0
    for name in files:
        want = open(os.path.join(orig, name), "rb").read()
        try:
            fd = os.open(os.path.join(mnt, name), os.O_RDONLY)
        except OSError as e:
            print(name, "eio-open" if e.errno == errno.EIO else
                  f"error-open {e}")
            continue
        size = os.fstat(fd).st_size
        res, eio = "ok", []
        if size != len(want):
            res = f"wrong size {size}, not {len(want)}"
        B = 65536
        off, end = 0, max(size, len(want))
        while off < end:
            try:
                got = os.pread(fd, B, off)
            except OSError as e:
                if e.errno != errno.EIO:
                    res = f"error {e} at {off}"
                    break
                eio.append(off // B)
                off = (off // B + 1) * B
                continue
            # A short read (the next page failed) is fine if it is right.
            if not got or got != want[off:off + len(got)]:
                res = f"wrong data at offset {off}"
                break
            off += len(got)
        os.close(fd)
        if res == "ok" and eio:
            res = f"eio blocks {eio[0]}..{eio[-1]} ({len(eio)} of " \
                  f"{(size + B - 1) // B})"
        print(name, res)

def mdb_values(d, table):
    out = subprocess.run(["mdb_dump", "-s", table, d], check=True,
                         capture_output=True, text=True).stdout
    lines = out.split("HEADER=END\n", 1)[1].split("DATA=END")[0].split()
    return [(bytes.fromhex(lines[i]), bytes.fromhex(lines[i + 1]))
            for i in range(0, len(lines), 2)]

def mdbflip(d, table, prefix):
    p = os.path.join(d, "data.mdb")
    b = bytearray(open(p, "rb").read())
    n = 0
    for k, v in mdb_values(d, table):
        if not k.startswith(bytes.fromhex(prefix)):
            continue
        # Sealed value: gen 4 | nonce 12 | ciphertext | tag 16: change a
        # byte of the ciphertext (or of the tag if there is none).
        at = 16 + (len(v) - 32) // 2
        i = b.find(v)
        while i >= 0:
            b[i + at] ^= 1
            n += 1
            i = b.find(v, i + 1)
        print(k.hex())
    if n == 0:
        raise SystemExit(f"no value of {table} with key {prefix}* found")
    open(p, "wb").write(b)

def metaset(d, key, value):
    p = os.path.join(d, "data.mdb")
    b = bytearray(open(p, "rb").read())
    cur = dict(mdb_values(d, "meta"))[key.encode()]
    # In an LMDB leaf node the value follows the key.  Values are sealed
    # (gen 4, nonce 12, ciphertext, tag): XOR the 8 ciphertext bytes of
    # the counter with VALUE, in place.
    pat = key.encode() + cur
    i, n = b.find(pat), 0
    while i >= 0:
        at = i + len(key) + 16
        b[at:at + 8] = bytes(x ^ y for x, y in
                             zip(b[at:at + 8], int(value).to_bytes(8, "big")))
        n += 1
        i = b.find(pat, i + 1)
    if n == 0:
        raise SystemExit(f"meta {key} not found in {p}")
    open(p, "wb").write(b)
    print("(sealed)")

cmd, a = sys.argv[1], sys.argv[2:]
if cmd == "objects":
    objects(a[0])
elif cmd == "flip":
    flip(a[0], int(a[1]))
elif cmd == "read":
    read(a[0], a[1], a[2:])
elif cmd == "mdbflip":
    mdbflip(a[0], a[1], a[2])
elif cmd == "metaset":
    metaset(a[0], a[1], a[2])
PY

# ---- the store --------------------------------------------------------------
packs() { (cd "$DIR/packs" && ls ./*/*.pack | sort); }
t_appliance
t_mount "$T/mnt"
mkdir "$T/mnt/docs"
head -c $((3 << 20)) /dev/urandom >"$T/mnt/docs/victim.bin"
VINO=$(stat -c %i "$T/mnt/docs/victim.bin")
DINO=$(stat -c %i "$T/mnt/docs")
t_umount "$T/mnt"
S1PACKS=$(packs)
t_mount "$T/mnt"
head -c $((2 << 20)) /dev/urandom >"$T/mnt/other.bin"
echo "a tiny file" >"$T/mnt/tiny.txt"
t_umount "$T/mnt"
mkdir -p "$T/orig/docs"
t_mount_session "$RO" "machine=pc1,admin,passfile=$T/admin.pw"
cp "$RO/docs/victim.bin" "$T/orig/docs/"
cp "$RO/other.bin" "$RO/tiny.txt" "$T/orig/"
t_umount "$RO"
FILES=(docs/victim.bin other.bin tiny.txt)
# The victim's pack: the one of the first session that holds chunks.
P1=
for p in $S1PACKS; do
	python3 "$PY" objects "$DIR/packs/$p" |
		awk '$2 == 1 {f = 1} END {exit !f}' || continue
	[ -z "$P1" ] || t_fail "the victim's chunks are in packs $P1 and $p"
	P1="$DIR/packs/${p#./}"
done
[ -n "$P1" ] || t_fail "no pack holds the victim's chunks"
P1ID=$(basename "$P1" .pack)
python3 "$PY" objects "$P1" >"$T/objects" || t_fail "cannot parse pack $P1"
# The victim's first chunk, and a log object of its pack.
read -r COFF _ CLEN CID < <(awk '$2 == 1' "$T/objects" | head -1)
read -r LOFF _ LLEN _ < <(awk '$2 == 2' "$T/objects" | head -1)
[ -n "$CID" ] || t_fail "no chunk object in $P1"
[ -n "$LOFF" ] || t_fail "no log object in $P1"
t_log "victim inode $VINO in pack $P1ID: $(wc -l <"$T/objects") objects," \
	"first chunk ${CID:0:16}.. at $COFF"
cp -a "$DIR" "$T/pristine"

C="error: chunk [0-9a-f]{64}"
P="pack [0-9a-f]{16} at offset [0-9]+"
t_expect_log "$C in $P: authentication failed \(damaged or tampered\)$"
t_expect_log "$C: object header in $P does not match the index$"
t_expect_log "$C: cannot read $P: pack truncated$"
t_expect_log "error: index record (content|inode|dirent)/[0-9a-f]+: \
authentication failed \(damaged or tampered\)$"

# ---- one case ------------------------------------------------------------
# tcase NAME AFFECTED LOGRE CHECKRE CMD...: from the pristine store, run
# CMD (the damage); then AFFECTED (a file of FILES, or "-") must fail
# with EIO and the others read back intact; the daemon's log must match
# LOGRE (unless "-") and `check --read-data` must exit 1 with a line
# matching CHECKRE (a line naming AFFECTED too, unless "-"; or matching
# $AFFECTS, a regular expression, when set).  A case's
# failure is recorded and the next case runs, so one run reports all.
FAILED=()
NCASES=0
bad() {
	t_log "FAIL: $*"
	FAILED+=("$*")
}
# since N: the daemon log after its line N.
since() { tail -n +$(($1 + 1)) "$T/beemofs.log"; }
# check_data: beemoctl check --read-data into $T/check.out.
check_data() {
	"$BEEMOCTL" -q check pc1 --read-data --password-file "$T/admin.pw" \
		>"$T/check.out" 2>&1
}
pristine() {
	NCASES=$((NCASES + 1))
	rm -rf "$DIR"
	cp -a "$T/pristine" "$DIR"
}
tcase() {
	local name=$1 affected=$2 logre=$3 checkre=$4 f res loglen
	local affre=${AFFECTS:-"affects /$affected\$"}
	shift 4
	pristine
	"$@" >"$T/case.out" ||
		t_fail "$name: cannot damage the store: $(cat "$T/case.out")"
	loglen=$(wc -l <"$T/beemofs.log")
	t_mount_session "$RO" "machine=pc1,admin,passfile=$T/admin.pw"
	python3 "$PY" read "$T/orig" "$RO" "${FILES[@]}" >"$T/read.out" ||
		t_fail "$name: reader failed"
	t_umount "$RO"
	while read -r f res; do
		if [ "$f" = "$affected" ]; then
			case $res in
			eio*) ;;
			ok)
				bad "$name: $f read back intact: not noticed"
				return
				;;
			*) bad "$name: $f: $res (expected EIO)"; return ;;
			esac
		elif [ "$res" != ok ]; then
			bad "$name: $f, not affected, reads: $res"
			return
		fi
	done <"$T/read.out"
	if [ "$logre" != - ] && ! since "$loglen" | grep -E "$logre" >/dev/null; then
		bad "$name: no daemon log line matching '$logre'; got:" \
			"$(since "$loglen")"
		return
	fi
	if check_data; then
		bad "$name: beemoctl check --read-data exits 0 and found" \
			"nothing: '$(cat "$T/check.out")'"
		return
	fi
	if ! grep -Eq "$checkre" "$T/check.out"; then
		bad "$name: check does not name the object ('$checkre'):" \
			"$(cat "$T/check.out")"
		return
	fi
	if [ "$affected" != - ] &&
		! grep -E "$checkre" "$T/check.out" | grep -E "$affre" >/dev/null; then
		bad "$name: check does not name the affected file" \
			"('$affre'): $(cat "$T/check.out")"
		return
	fi
	t_log "ok: $name: $(grep -E "$checkre" "$T/check.out" | head -1)"
}

V=docs/victim.bin
CHUNK="chunk ${CID:0:32}"
AUTH="chunk $CID in pack $P1ID at offset $COFF: authentication failed"
HDR="chunk $CID: object header in pack $P1ID at offset $COFF does not match"
flip() { python3 "$PY" flip "$@"; }

# Packs.
tcase "chunk ciphertext" $V "$AUTH" "$CHUNK.*authentication failed" \
	flip "$P1" $((COFF + 64 + CLEN / 2))
tcase "chunk GCM tag" $V "$AUTH" "$CHUNK" \
	flip "$P1" $((COFF + 64 + CLEN + 15))
tcase "object header: nonce" $V "$AUTH" "$CHUNK" \
	flip "$P1" $((COFF + 25))
tcase "object header: id" $V "$HDR" "$CHUNK.*does not match" \
	flip "$P1" $((COFF + 40))
tcase "object header: stored length" $V "$HDR" "$CHUNK.*does not match" \
	flip "$P1" $((COFF + 15))
tcase "object header: magic" $V "$HDR" "$CHUNK.*does not match" \
	flip "$P1" $((COFF + 1))
tcase "log object ciphertext" - - \
	"log object [0-9]+: authentication failed in pack $P1ID" \
	flip "$P1" $((LOFF + 64 + LLEN / 2))
tcase "pack header: magic" - - "pack $P1ID" flip "$P1" 3
tcase "pack header: machine id" - - "pack $P1ID" flip "$P1" 20
tcase "pack header: reserved byte" - - "pack $P1ID" flip "$P1" 13
tcase "pack truncated in a chunk" $V \
	"cannot read pack $P1ID at offset [0-9]+: pack truncated" \
	"$CHUNK|pack $P1ID" truncate -s $((COFF + 64 + CLEN / 2)) "$P1"

# The index: sealed records of the victim.
IX="$DIR/index"
be64() { printf '%016x' "$1"; }
VK=$(be64 "$VINO")
DK=$(be64 "$DINO")
A="[0-9a-f]*: authentication failed"
tcase "index: content record" $V "index record content/$VK$A" \
	"index record content/$VK" python3 "$PY" mdbflip "$IX" content "$VK"
tcase "index: inode record" $V "index record inode/$VK$A" \
	"index record inode/$VK" python3 "$PY" mdbflip "$IX" inode "$VK"
# The entry's name is sealed in it, but the file is known: its inode
# names it (parent and primary name).  At least /docs must be named.
AFFECTS="affects /docs(/victim\.bin)?( |\$)" \
	tcase "index: directory entry" $V "index record dirent/$DK$A" \
	"index record dirent/$DK" python3 "$PY" mdbflip "$IX" dirent "$DK"

# ---- random bytes of any pack ------------------------------------------------
# sweep N: N times, a random byte of a random pack (by size): check must
# report it, and no file may read back other bytes than its own (EIO is
# fine: the byte may belong to any file).
sweep() {
	local i p off f res
	for i in $(seq 1 "$1"); do
		pristine
		read -r p off < <(python3 - "$T/pristine/packs" <<'PY'
import os, random, sys
packs = []
for root, _, files in os.walk(sys.argv[1]):
    packs += [os.path.join(root, f) for f in files if f.endswith(".pack")]
sizes = [os.path.getsize(p) for p in packs]
p = random.choices(packs, weights=sizes)[0]
print(os.path.relpath(p, sys.argv[1]), random.randrange(os.path.getsize(p)))
PY
)
		flip "$DIR/packs/$p" "$off"
		t_mount_session "$RO" "machine=pc1,admin,passfile=$T/admin.pw"
		python3 "$PY" read "$T/orig" "$RO" "${FILES[@]}" \
			>"$T/read.out" || t_fail "sweep: reader failed"
		t_umount "$RO"
		while read -r f res; do
			case $res in
			ok | eio*) ;;
			*)
				bad "random byte $off of pack $p: $f reads: $res"
				continue 2
				;;
			esac
		done <"$T/read.out"
		if check_data; then
			bad "random byte $off of pack $p: check found nothing"
			continue
		fi
		t_log "ok: random byte $off of pack $p:" \
			"$(grep -c . "$T/check.out") check lines, reads:" \
			"$(tr '\n' ' ' <"$T/read.out")"
	done
}
sweep "${STORE_TAMPER_RANDOM:-8}"

# ---- the index's plain counters -------------------------------------------
# A changed byte there must be detected (check, or the mount refuses), and
# a backup session must not lose or alter what is stored.
# counter NAME VALUE: set meta NAME to VALUE, then a backup session adds a
# file; afterwards every pack is still there and every file reads back
# intact (or, if the session refused to start, check reported it).
counter() {
	local name=$1 value=$2 old f res detected=0
	pristine
	old=$(python3 "$PY" metaset "$IX" "$name" "$value") ||
		t_fail "meta $name: cannot change it"
	local what="meta $name changed from $old to $value"
	if ! check_data; then
		detected=1
	fi
	if beemo_mount_try "$T/mnt"; then
		echo "written after the damage" >"$T/mnt/fresh.txt" || true
		t_umount "$T/mnt"
	fi
	for f in $(cd "$T/pristine/packs" && ls ./*/*.pack); do
		if [ ! -f "$DIR/packs/$f" ]; then
			bad "$what: a backup session deleted committed pack" \
				"${f#./} (check before it said:" \
				"'$(head -1 "$T/check.out")')"
			return
		fi
	done
	if ! beemo_session_try "$RO"; then
		# Refusing to open a damaged index is a right answer, if
		# check named the damage.
		if [ $detected = 0 ]; then
			bad "$what: the store no longer opens and check said" \
				"nothing"
		else
			t_log "ok: $what: refused to open;" \
				"$(head -1 "$T/check.out")"
		fi
		return
	fi
	python3 "$PY" read "$T/orig" "$RO" "${FILES[@]}" >"$T/read.out" ||
		t_fail "$what: reader failed"
	t_umount "$RO"
	while read -r f res; do
		if [ "$res" != ok ]; then
			bad "$what: after a backup session, $f reads: $res" \
				"(check before it said: '$(head -1 "$T/check.out")')"
			return
		fi
	done <"$T/read.out"
	if [ $detected = 0 ]; then
		bad "$what: beemoctl check --read-data found nothing"
		return
	fi
	t_log "ok: $what: $(head -1 "$T/check.out")"
}
# mount_try MNT OPTS: beemofs -o OPTS on MNT, or 1 if it refuses to mount
# (its messages go to $T/counter.out: refusing is a right answer here).
mount_try() {
	local mnt=$1 pid
	mkdir -p "$mnt"
	"$BEEMOFS" "$T/store" "$mnt" -f -o "$2" >>"$T/counter.out" 2>&1 &
	pid=$!
	T_PIDS+=($pid)
	t_wait_for 20 eval 'mountpoint -q "$mnt" || ! t_running $pid' ||
		t_fail "beemofs neither mounted $mnt nor exited within 20 s"
	mountpoint -q "$mnt" || return 1
	T_MOUNT_PID[$mnt]=$pid
	T_MOUNTS+=("$mnt")
}
# beemo_mount_try MNT: a backup session; beemo_session_try MNT: a
# read-only admin session.
beemo_mount_try() { mount_try "$1" "machine=pc1,keyfile=$T/pc1.poste"; }
beemo_session_try() {
	mount_try "$1" "machine=pc1,admin,passfile=$T/admin.pw"
}
counter next_pack 1
counter next_ino 2

[ ${#FAILED[@]} = 0 ] ||
	t_fail "${#FAILED[@]} of $NCASES cases failed (see above)"
t_log "PASS ($NCASES cases)"
