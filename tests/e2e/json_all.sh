#!/bin/bash
# json_all.sh -- every beemoctl verb that prints a result, run with
# --json on a small appliance, prints ONE JSON object (python3's
# json.loads of the whole standard output) that begins with "format" and
# "version"; each format and version is the one of beemoctl(8) JSON
# OUTPUT, and holds the members listed there (a few checked per kind).
# The long verbs (check --read-data, restore, scan, prune) write their
# progress on stderr as JSON lines "beemo-progress", the last one final.
. "$(dirname "$0")/lib.sh"

PW=(--password-file "$T/admin.pw")
MAN="$(dirname "$0")/../../man/beemoctl.8"
t_config
t_pw "$T/admin.pw" admin-pw
t_pw "$T/alice.pw" alice-pw

# j NAME VERB ARGS...: beemoctl VERB ARGS --json, stdout in $T/NAME.json,
# stderr in $T/NAME.err; the exit status is kept in $T/NAME.rc.
j() {
	local name=$1 rc=0
	shift
	"$BEEMOCTL" "$@" --json >"$T/$name.json" 2>"$T/$name.err" || rc=$?
	echo "$rc" >"$T/$name.rc"
	echo "$name" >>"$T/names"
}
# ok NAME VERB ARGS...: j, which must succeed.
ok() {
	j "$@"
	[ "$(cat "$T/$1.rc")" = 0 ] ||
		t_fail "$*: exit $(cat "$T/$1.rc"): $(cat "$T/$1.err")"
}

ok init init "${T_KDF[@]}" "${PW[@]}"
ok machine_add machine add pc1 --user alice "${PW[@]}" \
	--user-password-file "$T/alice.pw" --poste-key "$T/pc1.poste"

# Two sessions (snapshots 1 and 2, with a difference), then one more.
M="$T/mnt"
t_mount "$M"
mkdir -p "$M/docs"
echo "alpha" >"$M/docs/a.txt"
head -c 3000000 /dev/urandom >"$M/big.bin"
t_umount "$M"
t_mount "$M"
echo "alpha 2" >"$M/docs/a.txt"
echo "BEEMO-JSON-LATER-MARK" >"$M/docs/later.txt"
t_umount "$M"
ok snapshot snapshot pc1 --note "by json_all" "${PW[@]}"
ok snapshots snapshots pc1 "${PW[@]}"
ok machines machine list
ok users user list pc1
ok key key show pc1
ok unlock key unlock pc1 --admin "${PW[@]}"
ok ls ls pc1 latest "${PW[@]}"
ok find find pc1 'a.*' "${PW[@]}"
ok diff diff pc1 1 2 "${PW[@]}"
ok export export pc1 latest --format tar --output "$T/x.tar" "${PW[@]}"
ok restore restore pc1 latest --target "$T/restored" "${PW[@]}"
ok journal journal pc1 "${PW[@]}"
ok journal_all journal --all "${PW[@]}"
ok retention_show retention pc1
ok retention_set retention pc1 --keep-last 10 "${PW[@]}"
ok forget forget pc1 --keep-last 10 --dry-run "${PW[@]}"
ok check check pc1 --read-data "${PW[@]}"
ok prune prune pc1 --dry-run "${PW[@]}"
ok erase erase pc1 /docs/a.txt --dry-run "${PW[@]}"
ok quota quota pc1
ok status status
ok rebuild rebuild-index pc1 "${PW[@]}"
# A signature added after the backup: scan finds the stored file, exit 4.
echo "Beemo.Test.Later:0:*:$(printf 'BEEMO-JSON-LATER-MARK' |
	od -An -tx1 | tr -d ' \n')" >"$T/sigs/later.ndb"
j scan scan pc1 "${PW[@]}"
[ "$(cat "$T/scan.rc")" = 4 ] ||
	t_fail "scan: exit $(cat "$T/scan.rc"): $(cat "$T/scan.err")"
# The verbs that change keys, users and machines.
t_pw "$T/bob.pw" bob-pw
t_pw "$T/bob2.pw" bob-pw-2
ok user_add user add pc1 bob "${PW[@]}" --user-password-file "$T/bob.pw"
ok user_passwd user passwd pc1 bob --password-file "$T/bob.pw" \
	--new-password-file "$T/bob2.pw"
ok user_reset user reset pc1 bob --yes "${PW[@]}" --new-password-file "$T/bob.pw"
ok user_remove user remove pc1 bob --yes "${PW[@]}"
ok rotate key rotate pc1 "${PW[@]}"
ok issue key issue pc1 --yes --poste-key "$T/pc1-new.poste" "${PW[@]}"
"$BEEMOCTL" machine add pc2 --user carol "${PW[@]}" \
	--user-password-file "$T/bob.pw" --poste-key "$T/pc2.poste" \
	>/dev/null || t_fail "machine add pc2"
ok machine_remove machine remove pc2 --yes "${PW[@]}"
BEEMO_CLIENTS_DIR=$T/clients ok machine_access machine access pc1
ok tag snapshot tag pc1 latest json-tag "${PW[@]}"
ok machine_restore machine restore pc2 "${PW[@]}"
t_pw "$T/admin2.pw" admin-pw-2
ok passwd admin passwd --keep-keys "${PW[@]}" \
	--new-password-file "$T/admin2.pw"
# A damaged pack: check --json lists the problems and exits 1.
pack=$(find "$T/store/machines/pc1/packs" -name '*.pack' -printf '%s %p\n' |
	sort -n | tail -n 1 | cut -d' ' -f2)
python3 - "$pack" <<'PY'
import os, sys
with open(sys.argv[1], "r+b") as f:
    f.seek(os.path.getsize(sys.argv[1]) // 2)
    b = f.read(1)
    f.seek(-1, 1)
    f.write(bytes([b[0] ^ 1]))
PY
j check_bad check pc1 --read-data --password-file "$T/admin2.pw"
[ "$(cat "$T/check_bad.rc")" = 1 ] ||
	t_fail "check of a damaged pack: exit $(cat "$T/check_bad.rc")"

# Each document against the man page and its members.
python3 - "$T" "$MAN" <<'PY' || t_fail "JSON documents (see above)"
import json, re, sys

t, man = sys.argv[1], open(sys.argv[2]).read()
# beemoctl(8) JSON OUTPUT: '.It Li beemo-KIND No (VERSION)'.
section = man.split(".Sh JSON OUTPUT", 1)[1].split("\n.Sh ", 1)[0]
documented = {k: int(v) for k, v in
              re.findall(r'^\.It Li (beemo-[a-z-]+) No \((\d+)\)$',
                         section, re.M)}
assert len(documented) >= 20, documented

# name: (format, top-level members, {array member: item members})
want = {
    "init": ("beemo-init", ["appliance_id", "store"], {}),
    "machine_add": ("beemo-machine-add", ["machine", "user"], {}),
    "machine_restore": ("beemo-machine-restore", ["machine"], {}),
    "machine_access": ("beemo-machine-access", ["machine", "action",
                                                "account", "uid", "key",
                                                "keys_file"], {}),
    "machine_remove": ("beemo-machine-remove", ["machine", "dry_run", "now",
                                                "bytes_freed", "frees"], {}),
    "tag": ("beemo-snapshot-tag", ["machine", "snapshot", "tag", "tagged"],
            {}),
    "user_add": ("beemo-user-add", ["machine", "user"], {}),
    "user_passwd": ("beemo-user-passwd", ["machine", "user"], {}),
    "user_reset": ("beemo-user-reset", ["machine", "user"], {}),
    "user_remove": ("beemo-user-remove", ["machine", "user"], {}),
    "rotate": ("beemo-key-rotate", ["machine", "generation"], {}),
    "issue": ("beemo-key-issue", ["machine", "poste_key",
                                  "poste_fingerprint"], {}),
    "snapshot": ("beemo-snapshot", ["machine", "snapshot"], {}),
    "snapshots": ("beemo-snapshots", ["machine"],
                  {"snapshots": ["id", "time", "files", "bytes", "note"]}),
    "machines": ("beemo-machines", ["removed"],
                 {"machines": ["name", "machine_id", "current_generation",
                               "generations", "created", "users"]}),
    "users": ("beemo-users", ["machine", "users"], {}),
    "key": ("beemo-key", ["machine", "machine_id", "created",
                          "poste_fingerprint", "current_generation",
                          "users"],
            {"generations": ["generation", "created", "current"]}),
    "unlock": ("beemo-key-unlock", ["machine", "principal", "user",
                                    "current_generation"],
               {"generations": ["generation", "check"]}),
    "ls": ("beemo-ls", ["machine", "snapshot", "path"],
           {"entries": ["path", "name", "type", "mode", "size", "mtime"]}),
    "find": ("beemo-find", ["machine", "pattern", "searched"],
             {"matches": ["path", "type", "size", "mtime", "snapshots"]}),
    "diff": ("beemo-diff", ["machine", "from", "to", "path", "summary"],
             {"changes": ["change", "path", "type"]}),
    "export": ("beemo-export", ["machine", "snapshot", "time", "path",
                                "archive", "output", "files", "bytes",
                                "errors"], {}),
    "restore": ("beemo-restore", ["machine", "snapshot", "path", "target",
                                  "dry_run", "files", "bytes", "skipped",
                                  "failed"], {}),
    "journal": ("beemo-journal", ["machine"],
                {"entries": ["machine", "journal", "time", "time_ns",
                             "type", "who", "summary", "files"]}),
    "journal_all": ("beemo-journal", ["machine"],
                    {"entries": ["machine", "journal", "time", "type"]}),
    "retention_show": ("beemo-retention", ["machine", "policy"], {}),
    "retention_set": ("beemo-retention", ["machine", "policy",
                                          "would_forget"], {}),
    "forget": ("beemo-forget", ["by", "dry_run", "forgotten", "kept"],
               {"snapshots": ["id", "time", "kept", "reasons"]}),
    "check": ("beemo-check", ["machine", "read_data", "problems",
                              "completed", "problem_count", "ok"], {}),
    "check_bad": ("beemo-check", ["completed", "problem_count", "ok"],
                  {"problems": ["object", "problem", "file"]}),
    "prune": ("beemo-prune", ["machine", "dry_run", "stored_before",
                              "stored_after", "freed"], {}),
    "erase": ("beemo-erase", ["machine", "path", "dry_run", "names"],
              {"views": ["live", "snapshot", "paths"]}),
    "quota": ("beemo-quota", ["machine", "known", "mounted", "stored",
                              "used", "quota_soft", "quota_hard"], {}),
    "status": ("beemo-status", ["time", "appliance", "targets",
                                "in_progress"],
               {"machines": ["name", "files", "bytes", "snapshots"]}),
    "rebuild": ("beemo-rebuild-index", ["machine", "rebuilt"], {}),
    "scan": ("beemo-scan", ["machine", "snapshot", "files", "bytes",
                            "signatures", "infected", "errors"],
             {"detections": ["snapshot", "path", "signature"]}),
    "passwd": ("beemo-admin-passwd", ["keys_replaced"], {}),
}
bad = []
docs = {}
seen = set()
for name in open(t + "/names").read().split():
    text = open(f"{t}/{name}.json", "rb").read().decode("utf-8")
    try:
        d = json.loads(text)  # the whole output: one value, nothing else
    except ValueError as e:
        bad.append(f"{name}: not one JSON value: {e}: {text[:300]!r}")
        continue
    docs[name] = d
    fmt, members, arrays = want[name]
    if not isinstance(d, dict) or list(d)[:2] != ["format", "version"]:
        bad.append(f"{name}: does not begin with format, version: "
                   f"{text[:200]!r}")
        continue
    seen.add(d["format"])
    if d["format"] != fmt:
        bad.append(f"{name}: format {d['format']!r}, want {fmt!r}")
    if documented.get(d["format"]) != d["version"]:
        bad.append(f"{name}: {d['format']} version {d['version']}, "
                   f"beemoctl(8) says {documented.get(d['format'])}")
    for m in members:
        if m not in d:
            bad.append(f"{name}: no member {m!r}: {sorted(d)}")
    for a, items in arrays.items():
        v = d.get(a)
        if not isinstance(v, list) or not v:
            bad.append(f"{name}: {a!r} is not a non-empty array: {v!r}")
            continue
        for m in items:
            if m not in v[0]:
                bad.append(f"{name}: {a}[0] has no {m!r}: {sorted(v[0])}")

# A few values.
try:
    assert re.fullmatch(r"[0-9a-f]{32}", docs["init"]["appliance_id"])
    ids = [s["id"] for s in docs["snapshots"]["snapshots"]]
    assert ids == [1, 2, 3], ids
    assert docs["snapshot"]["snapshot"] == 3
    assert docs["snapshots"]["snapshots"][2]["note"] == "by json_all"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ",
                        docs["snapshots"]["snapshots"][0]["time"])
    assert [m["name"] for m in docs["machines"]["machines"]] == ["pc1"]
    assert docs["users"]["users"] == ["alice"]
    assert docs["check"]["ok"] is True and docs["check"]["problems"] == []
    assert docs["check"]["read_data"] is True
    c = docs["check_bad"]
    assert c["ok"] is False and c["completed"] is True, c
    assert c["problem_count"] == len(c["problems"]) > 0, c
    assert docs["restore"]["bytes"] == 3000000 + 8 + 22, docs["restore"]
    assert docs["diff"]["summary"]["changed"] == 1, docs["diff"]
    r = docs["machine_remove"]
    assert r["now"] is False and r["dry_run"] is False, r
    assert r["frees"].endswith("Z") and r["bytes_freed"] is None, r
    s = docs["scan"]
    assert s["infected"] == 1 and s["snapshot"] is None, s
    assert {(x["path"], x["signature"].startswith("Beemo.Test.Later"))
            for x in s["detections"]} == {("/docs/later.txt", True)}, s
    assert docs["journal_all"]["machine"] is None
    assert docs["passwd"]["keys_replaced"] is False
    assert docs["user_remove"]["user"] == "bob"
    assert docs["machine_restore"]["machine"] == "pc2"
    assert docs["rotate"]["generation"] > 1, docs["rotate"]
    assert re.fullmatch(r"[0-9a-f]{64}",
                        docs["issue"]["poste_fingerprint"]), docs["issue"]
except (AssertionError, KeyError, IndexError, TypeError) as e:
    bad.append(f"values: {e!r}")
missing = set(documented) - seen - {"beemo-progress"}
if missing:
    bad.append(f"documented but not run here: {sorted(missing)}")
for b in bad:
    print(b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY

# Progress: every stderr line of the long verbs is a beemo-progress
# object (at most one a second, so few), the last one final.
python3 - "$T" check restore scan prune <<'PY' || t_fail "progress lines"
import json, sys

t = sys.argv[1]
for name in sys.argv[2:]:
    lines = open(f"{t}/{name}.err", "rb").read().decode().splitlines()
    prog = [json.loads(l) for l in lines if l.startswith("{")]
    other = [l for l in lines if not l.startswith("{")]
    assert not other, (name, other)
    assert prog, f"{name}: no progress line"
    for p in prog:
        assert list(p)[:2] == ["format", "version"], p
        assert (p["format"], p["version"]) == ("beemo-progress", 1), p
        for k in ("label", "bytes_done", "bytes_total", "objs_done",
                  "objs_total", "files", "elapsed_s", "final"):
            assert k in p, (name, k, p)
    assert prog[-1]["final"] is True, (name, prog[-1])
    assert all(p["final"] is False for p in prog[:-1]), (name, prog)
    assert len(prog) <= 2 + max(p["elapsed_s"] for p in prog), (name, prog)
print("progress ok")
PY

# Errors: one line on stderr, nothing but JSON (or nothing) on stdout.
j nomachine snapshots nosuch "${PW[@]}"
[ "$(cat "$T/nomachine.rc")" = 1 ] || t_fail "snapshots nosuch: exit"
[ "$(wc -l <"$T/nomachine.err")" = 1 ] ||
	t_fail "snapshots nosuch: $(cat "$T/nomachine.err")"
[ ! -s "$T/nomachine.json" ] || t_fail "output on error"
t_log "ok"
