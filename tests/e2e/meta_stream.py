#!/usr/bin/env python3
"""meta_stream.py DIR NAME ERRNO -- rename DIR/NAME back and forth between
two 255-byte names, then chmod it, each until the call fails with ERRNO
(ENOSPC or EDQUOT), at most 20,000 times each: names and metadata take
index and journal space, so a full disk or quota must stop them.  Prints
the file's last acknowledged name, then how many of each call succeeded;
exits non-zero if a stream was never refused or failed otherwise."""
import errno
import os
import sys

d, cur, want = sys.argv[1], sys.argv[2], getattr(errno, sys.argv[3])
done = {}
for op in ("rename", "chmod"):
    for i in range(20000):
        try:
            if op == "rename":
                new = ("a" if i % 2 else "b") * 255
                os.rename(os.path.join(d, cur), os.path.join(d, new))
                cur = new
            else:
                os.chmod(os.path.join(d, cur), 0o600 | (i % 2) << 6)
        except OSError as e:
            if e.errno != want:
                raise
            done[op] = i
            break
    else:
        sys.exit("20000 %ss, never refused with %s" % (op, sys.argv[3]))
print(cur)
print(done)
