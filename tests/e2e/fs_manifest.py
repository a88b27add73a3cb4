#!/usr/bin/python3
"""fs_manifest.py DIR OUT -- the manifest of the tree DIR (see fs_lib.sh,
fs_manifest): one "PATH<TAB>FIELD<TAB>VALUE" line per property, paths
relative to DIR in byte order, read with system calls only (lstat,
readlink, the extended attributes and the POSIX ACLs they hold), so that
a tree of a hundred entries costs one process, not a thousand."""
import hashlib
import os
import stat
import struct
import sys

TYPES = [(stat.S_ISREG, "file"), (stat.S_ISDIR, "dir"),
         (stat.S_ISLNK, "symlink"), (stat.S_ISFIFO, "fifo"),
         (stat.S_ISCHR, "chardev"), (stat.S_ISBLK, "blockdev"),
         (stat.S_ISSOCK, "socket")]
ACL_ACCESS = "system.posix_acl_access"
ACL_DEFAULT = "system.posix_acl_default"
TAGS = {1: "user", 2: "user", 4: "group", 8: "group", 0x10: "mask",
        0x20: "other"}


def quote(p):
    """A shell-safe spelling of path @p (bytes), like bash's printf %q
    for plain names."""
    s = p.decode("utf-8", "surrogateescape")
    if s and all(c.isalnum() or c in "/._-+,:@%=" for c in s):
        return s
    return "$'" + "".join(
        c if c.isprintable() and c not in "'\\" else
        "\\x%02x" % b for c in s
        for b in c.encode("utf-8", "surrogateescape")) + "'"


def perms(v):
    return "".join(ch if v & bit else "-"
                   for ch, bit in (("r", 4), ("w", 2), ("x", 1)))


def acl_entries(blob, prefix):
    """getfacl -n's lines for a posix_acl xattr value."""
    out = []
    for off in range(4, len(blob) - 7, 8):
        tag, perm, qid = struct.unpack_from("<HHI", blob, off)
        qual = str(qid) if tag in (2, 8) else ""
        out.append("%s%s:%s:%s" % (prefix, TAGS.get(tag, "?%d" % tag),
                                   qual, perms(perm)))
    return out


def xattrs(path):
    try:
        names = sorted(os.listxattr(path, follow_symlinks=False))
    except OSError:
        return {}
    return {n: os.getxattr(path, n, follow_symlinks=False) for n in names}


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def manifest(top, out):
    paths = [b"."]
    for d, dirs, files in os.walk(top.encode()):
        rel = os.path.relpath(d, top.encode())
        for n in dirs + files:
            paths.append(b"./" + n if rel == b"." else
                         b"./" + os.path.join(rel, n))
    paths.sort()
    first = {}
    for p in paths:
        q = "." if p == b"." else quote(p[2:])
        full = os.path.join(top.encode(), p)
        st = os.lstat(full)
        kind = next(n for f, n in TYPES if f(st.st_mode))
        ns = st.st_mtime_ns
        row = [("type", kind), ("mode", "%o" % (st.st_mode & 0o7777)),
               ("uid", st.st_uid), ("gid", st.st_gid),
               ("mtime", "%d.%09d" % (ns // 10**9, ns % 10**9))]
        if kind != "dir":
            row.append(("nlink", st.st_nlink))
            if st.st_nlink > 1:
                first.setdefault(st.st_ino, q)
                row.append(("link", first[st.st_ino]))
        if kind == "file":
            row += [("size", st.st_size), ("sha256", sha256(full))]
        elif kind == "symlink":
            row += [("size", st.st_size),
                    ("target", quote(os.readlink(full)))]
        elif kind in ("chardev", "blockdev"):
            row.append(("rdev", "%x:%x" % (os.major(st.st_rdev),
                                           os.minor(st.st_rdev))))
        xa = xattrs(full)
        row.append(("xattr", " ".join(
            "%s=%s" % (n, "0x" + v.hex() if v else "")
            for n, v in xa.items() if not n.startswith("system.posix_acl_"))))
        if kind != "symlink":
            m = st.st_mode
            acl = acl_entries(xa[ACL_ACCESS], "") if ACL_ACCESS in xa else [
                "user::" + perms(m >> 6), "group::" + perms(m >> 3),
                "other::" + perms(m)]
            if ACL_DEFAULT in xa:
                acl += acl_entries(xa[ACL_DEFAULT], "default:")
            row.append(("acl", ",".join(acl)))
        for field, value in row:
            out.write("%s\t%s\t%s\n" % (q, field, value))


if __name__ == "__main__":
    with open(sys.argv[2], "w", encoding="utf-8",
              errors="surrogateescape") as f:
        manifest(sys.argv[1], f)
