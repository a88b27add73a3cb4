#!/usr/bin/env python3
"""sync_forge.py -- what a hostile storage center can make with what it
holds (the files under its ROOT), for sync_trust.sh.  It knows every
format (beemo-keys(5), beemo-sync(8)) but not the administrator's
password, BEEMO_AES or the off-site key.

usage: sync_forge.py ROOT generation SECRET_HEX
       sync_forge.py ROOT config FILE
       sync_forge.py ROOT admin-key
       sync_forge.py ROOT downgrade

Each writes the forged object under its content-addressed name and a new
manifest, copied from the newest one (by its counter, else its name),
listing it instead of the genuine object, claiming the next push number
and a later time.  The forger cannot compute the manifest's mac: it
keeps the one it copied.  Prints the new manifest's remote path."""
import hashlib, hmac, json, os, secrets, struct, sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

ROOT = sys.argv[1]
WRAP_PREFIX = b"beemo/v1/wrap"


def be32(b, o):
    return struct.unpack(">I", b[o:o + 4])[0]


def wrap(pub_der, label, key):
    pub = serialization.load_der_public_key(pub_der)
    return pub.encrypt(key, padding.OAEP(
        mgf=padding.MGF1(algorithm=hashes.SHA256()),
        algorithm=hashes.SHA256(), label=label))


def label(appliance, machine, gen, who, name=b""):
    return (WRAP_PREFIX + appliance + machine + struct.pack(">I", gen) +
            bytes([who]) + name.ljust(64, b"\0"))


def newest_manifest():
    d = os.path.join(ROOT, "manifests")
    best = None
    for n in sorted(os.listdir(d)):
        m = json.load(open(os.path.join(d, n)))
        k = (m.get("counter", 0), n)
        if best is None or k > best[0]:
            best = (k, n, m)
    return best[2]


def admin_pub(data):
    """ADMIN_PUB of admin.key, version 1 or 2 (beemo-keys(5))."""
    if be32(data, 8) == 1:
        n = be32(data, 436)
        return data[440:440 + n]
    n = be32(data, 52)
    return data[56:56 + n]


def put(kind_dir, base, data):
    """Store @data as base.<16 hex of its SHA-256> under ROOT/kind_dir."""
    sha = hashlib.sha256(data).hexdigest()
    path = "%s/%s.%s" % (kind_dir, base, sha[:16]) if base else None
    return path, sha


def write_obj(path, data):
    full = os.path.join(ROOT, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "wb") as f:
        f.write(data)


def publish(m, old_prefix, path, data, sha):
    objs = [o for o in m["objects"] if not o["path"].startswith(old_prefix)]
    objs.append({"path": path, "size": len(data), "sha256": sha})
    m["objects"] = objs
    m["created_ns"] += 10**9
    if "counter" in m:
        m["counter"] += 1
    stamp = "29991231T235959Z-%08x" % secrets.randbits(32)
    name = "manifests/%s.json" % stamp
    write_obj(path, data)
    with open(os.path.join(ROOT, name), "w") as f:
        json.dump(m, f, separators=(",", ":"))
    print(name)


def find(m, prefix):
    for o in m["objects"]:
        if o["path"].startswith(prefix):
            return o["path"], open(os.path.join(ROOT, o["path"]), "rb").read()
    sys.exit("no %s in the manifest" % prefix)


def digest(body):
    return body + hashlib.sha256(body).digest()


def forge_generation(secret):
    """A new current generation of pc1's SECRET, wrapped for ADMIN_PUB,
    POSTE_PUB and every user, in pc1.key (machines/NAME.key layout)."""
    m = newest_manifest()
    _, adm = find(m, "keys/admin.key.")
    _, k = find(m, "keys/machines/pc1.key.")
    k = k[:-32]
    appliance, machine = k[12:28], k[28:44]
    ngens, nusers, publen = be32(k, 120), be32(k, 124), be32(k, 128)
    poste = k[132:132 + publen]
    gens_end = 132 + publen + 792 * ngens
    gen = ngens + 1
    kcv = hmac.new(secret, b"beemo key check", "sha256").digest()[:16]
    g = (struct.pack(">Q", 0) + kcv +
         wrap(admin_pub(adm), label(appliance, machine, gen, 1), secret) +
         wrap(poste, label(appliance, machine, gen, 3), secret))
    out = (k[:116] + struct.pack(">II", gen, gen) + k[124:gens_end] + g)
    o = gens_end
    for _ in range(nusers):
        name = k[o:o + 64]
        upublen = be32(k, o + 72)
        upub = k[o + 76:o + 76 + upublen]
        s = o + 76 + upublen
        ctlen = be32(k, s + 60)
        end = s + 64 + ctlen + 384 * ngens
        out += k[o:end] + wrap(upub, label(appliance, machine, gen, 2,
                                           name.rstrip(b"\0")), secret)
        o = end
    data = digest(out)
    path, sha = put("keys/machines", "pc1.key", data)
    publish(m, "keys/machines/pc1.key.", path, data, sha)


def forge_config(plain):
    """A configuration sealed for ADMIN_PUB (BMSEALAD blob)."""
    m = newest_manifest()
    _, adm = find(m, "keys/admin.key.")
    _, old = find(m, "config/beemo.conf.")
    key, nonce = secrets.token_bytes(32), secrets.token_bytes(12)
    lab = label(old[12:28], b"\0" * 16, 0, 1, b"sealed-blob")
    hdr = (old[:28] + wrap(admin_pub(adm), lab, key) + nonce +
           struct.pack(">Q", len(plain)))
    data = hdr + AESGCM(key).encrypt(nonce, plain, hdr)
    sha = hashlib.sha256(data).hexdigest()
    path = "config/beemo.conf.%s.sealed" % sha[:16]
    publish(m, "config/beemo.conf.", path, data, sha)


def forge_admin_key():
    """admin.key with scrypt parameters of the attacker's for new seals
    (N = 1024) and, in a version 1 file, a BEEMO_AES of its choice
    wrapped for ADMIN_PUB."""
    m = newest_manifest()
    _, a = find(m, "keys/admin.key.")
    a = bytearray(a[:-32])
    a[36:52] = struct.pack(">QII", 1024, 1, 1)
    if be32(a, 8) == 1:
        lab = label(bytes(a[12:28]), b"\0" * 16, 0, 1, b"appliance-key")
        a[52:436] = wrap(admin_pub(bytes(a)), lab, b"\x41" * 32)
    data = digest(bytes(a))
    path, sha = put("keys", "admin.key", data)
    publish(m, "keys/admin.key.", path, data, sha)


def forge_downgrade():
    """The newest manifest rewritten as version 1, which has no mac."""
    m = newest_manifest()
    for k in ("counter", "superseded", "mac"):
        m.pop(k, None)
    m["version"] = 1
    m["created_ns"] += 10**9
    stamp = "29991231T235959Z-%08x" % secrets.randbits(32)
    name = "manifests/%s.json" % stamp
    with open(os.path.join(ROOT, name), "w") as f:
        json.dump(m, f, separators=(",", ":"))
    print(name)


what = sys.argv[2]
if what == "generation":
    forge_generation(bytes.fromhex(sys.argv[3]))
elif what == "config":
    forge_config(open(sys.argv[3], "rb").read())
elif what == "admin-key":
    forge_admin_key()
elif what == "downgrade":
    forge_downgrade()
else:
    sys.exit(__doc__)
