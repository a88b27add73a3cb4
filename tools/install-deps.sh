#!/bin/sh
# install-deps.sh -- install what Beemo needs to build, run and test, on
# Debian 12 (bookworm), as root.  Used by the README and by .ci/run.
#
#   build:   compiler, meson, ninja, pkg-config and the -dev packages of
#            libfuse3, OpenSSL 3, LMDB, libclamav, libssh2, zstd,
#            libarchive (beemoctl export writes tar and zip with it),
#            libcurl (beemo-sync mails reports by SMTP with it)
#   run:     fuse3 (fusermount3, mount.fuse3)
#   tests:   OpenSSH server and client (real sshd on 127.0.0.1), the
#            tools the file system tests drive (rsync, git, sqlite3,
#            attr, acl, zip, python3), lmdb-utils, mandoc (man page
#            lint), clang (libFuzzer), libcap2-bin (setcap: a restore
#            must not bring file capabilities back), python3-cryptography
#            (the hostile center of sync_trust forges RSA wraps and
#            AES-GCM seals from public material), faketime (the
#            retention tests take snapshots at chosen times; no Beemo
#            program uses it), python3-aiosmtpd and openssl (mail_smtp:
#            a local SMTP server with STARTTLS, TLS and AUTH)
set -eu
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends \
	build-essential meson ninja-build pkg-config \
	libfuse3-dev fuse3 libssl-dev liblmdb-dev lmdb-utils libclamav-dev \
	libssh2-1-dev libzstd-dev libarchive-dev libcurl4-openssl-dev \
	openssh-server openssh-client rsync git sqlite3 attr acl zip \
	python3 python3-cryptography mandoc clang ca-certificates procps \
	psmisc file libcap2-bin faketime python3-aiosmtpd openssl
