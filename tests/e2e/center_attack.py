# center_attack.py -- a raw SFTP version 3 client for the attack tests of
# beemo-center serve: each Session runs `beemo-center serve --area AREA`
# (what the appliance's key is forced to) and speaks to it on its
# standard input and output, one request at a time, so that a test can
# interleave the requests of several sessions exactly.
import struct
import subprocess

OPEN, CLOSE, READ, WRITE, LSTAT, FSTAT, SETSTAT, FSETSTAT = 3, 4, 5, 6, 7, 8, 9, 10
OPENDIR, READDIR, REMOVE, MKDIR, RMDIR, REALPATH, STAT, RENAME = \
    11, 12, 13, 14, 15, 16, 17, 18
EXTENDED = 200
F_READ, F_WRITE, F_APPEND, F_CREAT, F_TRUNC, F_EXCL = 1, 2, 4, 8, 16, 32
OK, EOF, NO_SUCH_FILE, DENIED, FAILURE = 0, 1, 2, 3, 4


def s(b):
    if isinstance(b, str):
        b = b.encode()
    return struct.pack('>I', len(b)) + b


class Session:
    def __init__(self, center, area):
        self.p = subprocess.Popen([center, 'serve', '--area', area],
                                  stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE)
        self.id = 0
        self.p.stdin.write(struct.pack('>IBI', 5, 1, 3))
        self.p.stdin.flush()
        t, _ = self._recv()
        assert t == 2, t

    def _recv(self):
        hdr = self.p.stdout.read(4)
        if len(hdr) < 4:
            raise EOFError('serve ended')
        n, = struct.unpack('>I', hdr)
        body = self.p.stdout.read(n)
        return body[0], body[1:]

    def call(self, t, body):
        """Send request @t and return (type, payload after the id)."""
        self.id += 1
        m = struct.pack('>I', self.id) + body
        self.p.stdin.write(struct.pack('>IB', len(m) + 1, t) + m)
        self.p.stdin.flush()
        rt, rb = self._recv()
        assert struct.unpack('>I', rb[:4])[0] == self.id
        return rt, rb[4:]

    def status(self, t, body):
        """A request answered by a status: its code (0 is OK)."""
        rt, rb = self.call(t, body)
        if rt == 102:
            return ('handle', rb[4:4 + struct.unpack('>I', rb[:4])[0]])
        if rt != 101:
            return ('type', rt)
        return struct.unpack('>I', rb[:4])[0]

    def open(self, path, flags):
        rt, rb = self.call(OPEN, s(path) + struct.pack('>II', flags, 0))
        if rt != 102:
            return None
        return rb[4:4 + struct.unpack('>I', rb[:4])[0]]

    def write(self, h, off, data):
        return self.status(WRITE, s(h) + struct.pack('>Q', off) + s(data))

    def read(self, h, off, n):
        rt, rb = self.call(READ, s(h) + struct.pack('>QI', off, n))
        if rt != 103:
            return None
        return rb[4:4 + struct.unpack('>I', rb[:4])[0]]

    def close(self, h):
        return self.status(CLOSE, s(h))

    def rename(self, a, b):
        return self.status(RENAME, s(a) + s(b))

    def posix_rename(self, a, b):
        return self.status(EXTENDED, s('posix-rename@openssh.com') +
                           s(a) + s(b))

    def remove(self, path):
        return self.status(REMOVE, s(path))

    def mkdir(self, path):
        return self.status(MKDIR, s(path) + struct.pack('>I', 0))

    def rmdir(self, path):
        return self.status(RMDIR, s(path))

    def setstat(self, path, mode):
        return self.status(SETSTAT, s(path) + struct.pack('>II', 4, mode))

    def stat(self, path):
        rt, rb = self.call(STAT, s(path))
        if rt != 105:
            return None
        flags, = struct.unpack('>I', rb[:4])
        return struct.unpack('>Q', rb[4:12])[0] if flags & 1 else 0

    def put(self, path, data):
        """Upload @data to @path as sftp's put does; status of CLOSE."""
        h = self.open(path, F_WRITE | F_CREAT | F_TRUNC)
        if h is None:
            return 'no handle'
        if data:
            self.write(h, 0, data)
        return self.close(h)

    def end(self):
        self.p.stdin.close()
        self.p.wait(timeout=30)
        self.p.stdout.close()
