#!/usr/bin/env python3
"""smtp_server.py -- a real SMTP server on 127.0.0.1 for mail_smtp.sh
(aiosmtpd): one port with STARTTLS required before AUTH and MAIL, one
with implicit TLS (SMTPS), both with AUTH PLAIN and LOGIN checked against
one user and password.

usage: smtp_server.py DIR CERT KEY USER PASSWORD_FILE

Each message accepted is stored as DIR/N.eml (the data as received, CRLF
line ends) with DIR/N.json: the envelope sender and recipients, the
login, the port and whether the session was encrypted.  Every login
attempt is appended to DIR/auth.log ("ok USER" or "refused USER").  When
both ports listen, DIR/ports holds "STARTTLS_PORT SMTPS_PORT".  Runs
until SIGTERM.
"""
import asyncio
import json
import os
import signal
import socket
import ssl
import sys
import threading
import warnings

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

# The SMTPS port requires AUTH without aiosmtpd's notion of TLS (which
# is STARTTLS only): it is TLS from the first byte.
warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS")
out, cert, key, user, pwfile = sys.argv[1:6]
password = open(pwfile, "rb").read().rstrip(b"\n")
lock = threading.Lock()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def authenticator(server, session, envelope, mechanism, data):
    ok = (isinstance(data, LoginPassword) and data.login == user.encode()
          and data.password == password)
    with lock, open(os.path.join(out, "auth.log"), "a") as f:
        f.write("%s %s %s\n" % ("ok" if ok else "refused", mechanism,
                                getattr(data, "login", b"?").decode(
                                    "utf-8", "replace")))
    # handled=False: aiosmtpd answers 535 itself on a failure.
    return AuthResult(success=ok, handled=False, auth_data=data)


class Store:
    def __init__(self, port):
        self.port = port

    async def handle_DATA(self, server, session, envelope):
        with lock:
            n = len([f for f in os.listdir(out) if f.endswith(".eml")]) + 1
            meta = {"mail_from": envelope.mail_from,
                    "rcpt_tos": envelope.rcpt_tos,
                    "login": session.auth_data.login.decode()
                    if isinstance(session.auth_data, LoginPassword) else "",
                    "port": self.port,
                    "tls": session.ssl is not None}
            with open(os.path.join(out, "%d.json" % n), "w") as f:
                json.dump(meta, f)
            with open(os.path.join(out, "%d.eml.tmp" % n), "wb") as f:
                f.write(envelope.original_content)
            os.rename(os.path.join(out, "%d.eml.tmp" % n),
                      os.path.join(out, "%d.eml" % n))
        return "250 OK"


def context():
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    return ctx


p1, p2 = free_port(), free_port()
starttls = Controller(Store(p1), hostname="127.0.0.1", port=p1,
                      tls_context=context(), require_starttls=True,
                      authenticator=authenticator, auth_required=True,
                      auth_require_tls=True)
smtps = Controller(Store(p2), hostname="127.0.0.1", port=p2,
                   ssl_context=context(), authenticator=authenticator,
                   auth_required=True, auth_require_tls=False)
starttls.start()
smtps.start()
with open(os.path.join(out, "ports.tmp"), "w") as f:
    f.write("%d %d\n" % (p1, p2))
os.rename(os.path.join(out, "ports.tmp"), os.path.join(out, "ports"))
done = threading.Event()
signal.signal(signal.SIGTERM, lambda *a: done.set())
signal.signal(signal.SIGINT, lambda *a: done.set())
done.wait()
starttls.stop()
smtps.stop()
