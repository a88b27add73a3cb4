#!/bin/bash
# store_crash.sh -- promise 6b: kill -9 of beemofs during heavy writes, at
# random moments, ROUNDS times (default 30).  Each round mounts, checks
# the tree left by the previous crash, starts WRITERS writer processes
# (new files of random sizes, in-place overwrites with O_TRUNC, patches in
# the middle, appends, truncations, renames, unlinks, some fsyncs), kills
# the daemon 0.1-2 s later, detaches the dead mount and runs `beemoctl
# check`.  Every writer records, before each operation, the state the
# file may have afterwards (path and sha256, or absent); after fsync()
# returns, the older states are no longer acceptable.  The verifier then
# requires every file to be in one of its acceptable states: old or new
# content, never a mix, never both names of a rename, nothing unexpected.
. "$(dirname "$0")/lib.sh"

ROUNDS=${STORE_CRASH_ROUNDS:-30}
WRITERS=${STORE_CRASH_WRITERS:-4}
MNT="$T/mnt"
PY="$T/crash.py"

cat >"$PY" <<'PY'
"""Writers and verifier of store_crash.sh.

crash.py writer MNT STATE INTENTS W ROUND
crash.py verify MNT STATE ROUND INTENTS...
STATE is JSON {"files": {id: [path, sha256]}}: the tree as last verified.
INTENTS holds one JSON line per operation, written before the operation:
{"id": ID, "state": [path, sha256] or null, "durable": bool}.
"""
import errno, hashlib, json, os, random, sys, time

EMPTY = hashlib.sha256(b"").hexdigest()

def sha(b):
    return hashlib.sha256(b).hexdigest()

def rsize():
    r = random.random()
    if r < 0.5:
        return random.randint(0, 64 << 10)
    if r < 0.85:
        return random.randint(64 << 10, 1536 << 10)
    return random.randint(1536 << 10, 5 << 20)

def write_all(fd, data):
    view = memoryview(data)
    while view:
        n = os.write(fd, view[:256 << 10])
        view = view[n:]

def read(path):
    with open(path, "rb") as f:
        return f.read()

def writer(mnt, statef, intentf, w, rnd):
    st = json.load(open(statef))
    mine = {i: s for i, s in st["files"].items() if i.startswith(f"w{w}-")}
    log = open(intentf, "a")
    n = 0
    def intent(i, state, durable=False):
        log.write(json.dumps({"id": i, "state": state,
                              "durable": durable}) + "\n")
        log.flush()
    t_end = time.time() + 20
    try:
        while time.time() < t_end:
            ops = ["create"] * 7 + ["overwrite"] * 3 + ["patch"] * 3 + \
                ["append"] * 2 + ["truncate"] + ["rename"] * 2 + ["unlink"] * 2
            if len(mine) > 25:
                ops += ["unlink"] * 10
            op = random.choice(ops) if mine else "create"
            if op == "create":
                n += 1
                i = f"w{w}-r{rnd}-{n}"
                path = f"w{w}/{i}"
                data = os.urandom(rsize())
                intent(i, [path, EMPTY])
                intent(i, [path, sha(data)])
                fd = os.open(f"{mnt}/{path}",
                             os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
                write_all(fd, data)
                if random.random() < 0.15:
                    os.fsync(fd)
                    intent(i, [path, sha(data)], True)
                os.close(fd)
                mine[i] = [path, sha(data)]
                continue
            i = random.choice(sorted(mine))
            path = mine[i][0]
            full = f"{mnt}/{path}"
            if op == "rename":
                new = f"{path.split('.')[0]}.m{rnd}_{n}"
                n += 1
                intent(i, [new, mine[i][1]])
                os.rename(full, f"{mnt}/{new}")
                mine[i] = [new, mine[i][1]]
                continue
            if op == "unlink":
                intent(i, None)
                os.unlink(full)
                del mine[i]
                continue
            old = b"" if op == "overwrite" else read(full)
            if op == "overwrite":
                data = os.urandom(rsize())
            elif op == "patch":
                off = random.randint(0, len(old))
                patch = os.urandom(random.randint(1, 300 << 10))
                data = old[:off] + patch + old[off + len(patch):]
            elif op == "append":
                data = old + os.urandom(random.randint(1, 500 << 10))
            else:
                data = old[:random.randint(0, len(old))]
            intent(i, [path, sha(data)])
            if op == "truncate":
                os.truncate(full, len(data))
            else:
                flags = os.O_WRONLY
                if op == "overwrite":
                    flags |= os.O_TRUNC
                if op == "append":
                    flags |= os.O_APPEND
                fd = os.open(full, flags)
                if op == "patch":
                    os.pwrite(fd, patch, off)
                elif op == "append":
                    write_all(fd, data[len(old):])
                else:
                    write_all(fd, data)
                if random.random() < 0.1:
                    os.fsync(fd)
                    intent(i, [path, sha(data)], True)
                os.close(fd)
            mine[i] = [path, sha(data)]
    except OSError as e:
        # The daemon was killed under us: the expected end (ENOTCONN,
        # ECONNABORTED, EIO for cut-off write-backs, ENOENT once the dead
        # mount is detached).  The test checks that it came after the kill.
        print(f"{time.time():.6f} writer {w}: {op}: {e}", file=sys.stderr)
        sys.exit(4)
    print(f"writer {w}: not killed within 20 s", file=sys.stderr)
    sys.exit(3)

def verify(mnt, statef, rnd, intentfs):
    st = json.load(open(statef))
    acc = {i: [s] for i, s in st["files"].items()}
    ops = {i: ["before"] for i in st["files"]}
    for f in intentfs:
        try:
            lines = open(f).read().splitlines()
        except FileNotFoundError:
            continue
        for k, line in enumerate(lines):
            if not line.endswith("}"):
                continue  # cut by the kill? cannot be: flushed whole
            r = json.loads(line)
            i = r["id"]
            if i not in acc:
                acc[i], ops[i] = [None], ["absent"]
            if r["durable"]:
                acc[i], ops[i] = [], []
            acc[i].append(r["state"])
            ops[i].append(f"{os.path.basename(f)}:{k + 1}" +
                          (" (fsynced)" if r["durable"] else ""))
    seen = {}
    for root, dirs, files in os.walk(mnt):
        for fn in files:
            p = os.path.relpath(os.path.join(root, fn), mnt)
            seen[p] = sha(read(os.path.join(root, fn)))
    owner = {}
    for i, states in acc.items():
        for s in states:
            if s is not None:
                owner[s[0]] = i
    bad = []
    for p in sorted(seen):
        if p not in owner:
            bad.append(f"unexpected file {p} (sha256 {seen[p][:16]})")
    new = {}
    # How many files kept an older state than the last one written:
    # shows that kills landed in the middle of work.
    older = newest = 0
    for i, states in sorted(acc.items()):
        cands = sorted({s[0] for s in states if s is not None})
        present = [p for p in cands if p in seen]
        if len(present) > 1:
            bad.append(f"{i}: present under several names {present}")
            continue
        obs = [present[0], seen[present[0]]] if present else None
        if obs not in states:
            desc = "; ".join(f"{o}: {s[0] + ' ' + s[1][:16] if s else 'absent'}"
                             for o, s in zip(ops[i], states))
            size = os.path.getsize(f"{mnt}/{obs[0]}") if obs else 0
            got = f"{obs[0]} {obs[1][:16]} ({size} bytes)" if obs \
                else "absent"
            bad.append(f"{i}: found {got}, acceptable: {desc}")
            continue
        if obs == states[-1]:
            newest += 1
        else:
            older += 1
        if obs is not None:
            new[i] = obs
    json.dump({"files": new}, open(statef, "w"))
    for b in bad:
        print(f"round {rnd}: {b}")
    print(f"round {rnd} verified: {len(new)} files, {newest} at the last "
          f"state written, {older} at an earlier acceptable one",
          file=sys.stderr)
    sys.exit(1 if bad else 0)

if sys.argv[1] == "writer":
    writer(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]),
           int(sys.argv[6]))
else:
    verify(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5:])
PY

t_appliance
t_mount "$MNT"
for w in $(seq 0 $((WRITERS - 1))); do mkdir "$MNT/w$w"; done
t_umount "$MNT"
echo '{"files": {}}' >"$T/state.json"

# verify ROUND: the mounted tree against the state and round ROUND's intents.
verify() {
	local out
	out=$(python3 "$PY" verify "$MNT" "$T/state.json" "$1" \
		"$T"/intent."$1".* 2>"$T/verify.err") || {
		cat "$T/verify.err" >&2
		printf '%s\n' "$out" | head -40 >&2
		t_fail "round $1: files not at an old or new version (above)"
	}
	VSUM=$(tail -1 "$T/verify.err")
	t_log "$VSUM"
	case $VSUM in *", 0 at an earlier"*) ;; *) OLDER=$((OLDER + 1)) ;; esac
}

START=$(date +%s)
OLDER=0
for r in $(seq 1 "$ROUNDS"); do
	t_mount "$MNT" nosnapshot
	verify $((r - 1))
	pids=()
	for w in $(seq 0 $((WRITERS - 1))); do
		python3 "$PY" writer "$MNT" "$T/state.json" "$T/intent.$r.$w" \
			"$w" "$r" 2>"$T/writer.err.$w" &
		pids+=($!)
		T_PIDS+=($!)
	done
	# The moment of the kill (0.1 to 2 s into the writes) is what is
	# under test.
	delay=$((100 + RANDOM % 1901))
	sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
	killed=$(date +%s.%N)
	t_crash "$MNT"
	for p in "${pids[@]}"; do
		rc=0
		wait "$p" 2>/dev/null || rc=$?
		[ $rc = 0 ] || [ $rc = 4 ] ||
			t_fail "round $r: a writer failed:" \
				"$(cat "$T"/writer.err.*)"
	done
	# Exit 4: an error at the time printed, which must be after the kill.
	while read -r when what; do
		python3 -c "import sys
sys.exit(float('$when') < $killed - 0.01)" ||
			t_fail "round $r: before the daemon was killed: $what"
	done < <(cat "$T"/writer.err.*)
	ops=$(cat "$T"/intent."$r".* 2>/dev/null | wc -l)
	"$BEEMOCTL" -q check pc1 --password-file "$T/admin.pw" \
		>"$T/check.out" 2>&1 ||
		t_fail "round $r: beemoctl check after kill -9 at $delay ms" \
			"failed: $(cat "$T/check.out")"
	t_log "round $r: killed at $delay ms after $ops operations;" \
		"check passed"
done
t_mount "$MNT"
verify "$ROUNDS"
t_umount "$MNT"
"$BEEMOCTL" check pc1 --read-data --password-file "$T/admin.pw" \
	>"$T/check.out" 2>&1 ||
	t_fail "final check --read-data failed: $(cat "$T/check.out")"
t_log "$ROUNDS rounds in $(($(date +%s) - START)) s; in $OLDER rounds" \
	"some files were at an earlier state than the last one written"
t_log "PASS"
