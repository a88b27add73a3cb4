#!/bin/bash
# names.sh -- hostile file names through a real mount: a name with each
# byte value 1 to 255 (but '/'), names that are not UTF-8 (surrogates,
# overlong forms, code points above U+10FFFF, "\xff\xfe" beside two
# U+FFFD), terminal escapes, a name that forges a journal line, and a
# rename to a name that holds " -> ".
# `beemoctl journal --json` is strict JSON (python3's json, on text that
# must be valid UTF-8) whose names decode back to the exact bytes;
# `journal --files` has one line per entry and per file, no control
# character, and unescapes to the same bytes; the daemon's log line about
# an infected file with a newline in its name stays one line.
. "$(dirname "$0")/lib.sh"

t_config
t_appliance
t_expect_log 'virus Beemo\.Test\.EICAR(\.UNOFFICIAL)? found: file not backed up'
M="$T/mnt"
t_mount "$M"
mkdir "$M/n"
python3 - "$M/n" "$T/names.list" <<'PY' || t_fail "cannot create the files"
import os, sys
d = os.fsencode(sys.argv[1])
names = [b"b" + bytes([c]) + b"e" for c in range(1, 256) if c != 0x2f]
names += [
    b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xc0\xaf", b"\xe0\x80\xaf",
    b"\xf0\x80\x80\xaf", b"\xf4\x90\x80\x80", b"\xf8\x88\x80\x80\x80",
    b"\xff\xfe", "\ufffd\ufffd".encode(), b"\x1b]0;owned\x07\x1b[2J",
    "evil\u202etxt.exe".encode(), b"a\\xffb", b"caf\xc3\xa9",
    b"f\n2026-12-03T09:00:00Z  delete    admin  ALL BACKUPS OF pc1 DELETED",
]
with open(sys.argv[2], "wb") as f:
    for n in names:
        fd = os.open(d + b"/" + n, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        os.write(fd, n)
        os.close(fd)
        f.write(n.hex().encode() + b"\n")
PY
[ "$(ls "$M/n" | wc -l)" -ge 267 ] || t_fail "the files are not all there"
# A rename to a name that holds " -> ".
echo r >"$M/n/r1"
mv "$M/n/r1" "$M/n/r2 -> r3"
# An infected file whose name holds a newline and a forged log line.
printf '%s' "$T_EICAR" >"$T/eicar.com"
t_put_virus "$T/eicar.com" "$M/n/v
beemofs: error: FORGED" ||
	t_fail "virus accepted"
t_umount "$M"
[ "$(grep -c FORGED "$T/beemofs.log")" = 1 ] ||
	t_fail "a name broke the log line: $(grep FORGED "$T/beemofs.log")"
grep 'FORGED' "$T/beemofs.log" | grep -q 'virus' ||
	t_fail "the log line about the infected file is cut"

"$BEEMOCTL" journal pc1 --json --password-file "$T/admin.pw" \
	>"$T/journal.json" || t_fail "journal --json"
"$BEEMOCTL" journal pc1 --files --password-file "$T/admin.pw" \
	>"$T/journal.txt" || t_fail "journal --files"
python3 - "$T/journal.json" "$T/journal.txt" "$T/names.list" <<'PY' ||
import base64, json, re, sys

def fail(msg):
    print(msg, file=sys.stderr)
    sys.exit(1)

# Strict: the bytes must be UTF-8, the text RFC 8259 JSON.
entries = json.loads(open(sys.argv[1], "rb").read().decode("utf-8"))
if entries.get("format") != "beemo-journal":
    fail("not a beemo-journal: %r" % entries.get("format"))
entries = entries["entries"]
want = {bytes.fromhex(l) for l in open(sys.argv[3]).read().split()}
got = []
for e in entries:
    files, raw = e["files"], e.get("files_b64")
    if raw is not None and len(raw) != len(files):
        fail("files_b64 and files differ in length")
    for i, f in enumerate(files):
        if raw is not None and raw[i] is not None:
            b = base64.b64decode(raw[i], validate=True)
            try:
                b.decode("utf-8")
                fail("files_b64 given for valid UTF-8: %r" % b)
            except UnicodeDecodeError:
                pass
        else:
            b = f.encode("utf-8")
        got.append(b)
        for k in ("summary", "who", "type"):
            if not isinstance(e[k], str):
                fail("%s is not a string" % k)
added = {g[len(b"added /n/"):] for g in got if g.startswith(b"added /n/")}
missing = want - added
if missing:
    fail("names not found byte-exact in the JSON: %r" % sorted(missing)[:5])

# The text: valid UTF-8, no control character but the line ends, no C1
# or bidi control; one line per entry and per file.
text = open(sys.argv[2], "rb").read()
try:
    t = text.decode("utf-8")
except UnicodeDecodeError as x:
    fail("journal --files is not UTF-8: %s" % x)
bad = [c for c in t if (ord(c) < 0x20 and c != "\n") or 0x7f <= ord(c) < 0xa0
       or c in "\u2028\u2029\u202a\u202b\u202c\u202d\u202e"]
if bad:
    fail("control characters in journal --files: %r" % bad[:5])
lines = t.split("\n")
if lines[-1] != "":
    fail("no final newline")
lines = lines[:-1]
heads = [l for l in lines if not l.startswith("    ")]
fls = [l[4:] for l in lines if l.startswith("    ")]
if len(heads) != len(entries) or len(fls) != len(got):
    fail("%d entry lines and %d file lines for %d entries and %d files" %
         (len(heads), len(fls), len(entries), len(got)))
for h in heads:
    if not re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}  ", h) or \
            h.startswith("2026-12-03T09:00:00Z"):
        fail("not an entry line: %r" % h)

# Each file line unescapes (\\ \n \t \r \xNN) to the bytes of the JSON.
def unescape(s):
    out, i = bytearray(), 0
    while i < len(s):
        if s[i] != "\\":
            out += s[i].encode("utf-8")
            i += 1
            continue
        c = s[i + 1]
        if c == "x":
            out.append(int(s[i + 2:i + 4], 16))
            i += 4
            continue
        out += {"\\": b"\\", "n": b"\n", "t": b"\t", "r": b"\r"}[c]
        i += 2
    return bytes(out)

for l, g in zip(fls, got):
    if unescape(l) != g:
        fail("text %r does not unescape to %r" % (l, g))
if len(set(fls)) != len(set(got)):
    fail("two names print alike")
i = got.index(b"renamed /n/r1")
if got[i + 1] != b"to /n/r2 -> r3":
    fail("the rename is not two strings: %r" % got[i:i + 2])
a = "added /n/" + "\\xff\\xfe"
b = "added /n/\ufffd\ufffd"
if a not in fls or b not in fls:
    fail("\\xff\\xfe and U+FFFD U+FFFD are not told apart")
PY
	t_fail "journal output (see above)"
t_log "ok"
