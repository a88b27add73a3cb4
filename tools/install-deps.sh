#!/bin/sh
# install-deps.sh -- install what Beemo needs to build, run and test, on
# Debian 12 (bookworm), as root.  Used by the README and by .ci/run.
#
#   build:   compiler, meson, ninja, pkg-config and the -dev packages of
#            libfuse3, OpenSSL 3, LMDB, libclamav, libssh2, zstd,
#            libarchive (beemoctl export writes tar and zip with it),
#            libcurl (beemo-sync mails reports by SMTP with it)
#   run:     fuse3 (fusermount3, mount.fuse3), clamav-freshclam (freshclam
#            keeps /var/lib/clamav, the default signature directory,
#            current)
#   tests:   OpenSSH server and client (real sshd on 127.0.0.1), the
#            tools the file system tests drive (rsync, git, sqlite3,
#            attr, acl, zip, python3), lmdb-utils, mandoc (man page
#            lint), clang (libFuzzer), libcap2-bin (setcap: a restore
#            must not bring file capabilities back), python3-cryptography
#            (the hostile center of sync_trust forges RSA wraps and
#            AES-GCM seals from public material), faketime (the
#            retention tests take snapshots at chosen times; no Beemo
#            program uses it), clamav (sigtool: av_count builds a .cud
#            signature container), systemd (systemd-analyze:
#            units_security), python3-aiosmtpd and openssl (mail_smtp:
#            a local SMTP server with STARTTLS, TLS and AUTH), iproute2
#            (the client sessions' tests put each client machine in a
#            network namespace of its own: ip netns, veth pairs)
#   package: debhelper, dpkg-dev and the Build-Depends of debian/control
#            (.ci/run builds and installs the Debian package)
#
# freshclam's service downloads signatures from the network.  It is not
# started while the packages install (a policy-rc.d of our own, unless
# the machine has one); under CI (CI set, as by .ci/run) it is masked for
# good, since the tests bring their own signatures and must not depend on
# the network; elsewhere it is enabled and started, as on an appliance.
set -eu
export DEBIAN_FRONTEND=noninteractive
POLICY=/usr/sbin/policy-rc.d
if [ ! -e "$POLICY" ]; then
	printf '%s\n' '#!/bin/sh' 'for a; do' \
		'	[ "$a" = clamav-freshclam ] && exit 101' 'done' 'exit 0' \
		>"$POLICY"
	chmod 0755 "$POLICY"
	trap 'rm -f "$POLICY"' EXIT
fi
apt-get update
apt-get install -y --no-install-recommends \
	build-essential meson ninja-build pkg-config \
	libfuse3-dev fuse3 libssl-dev liblmdb-dev lmdb-utils libclamav-dev \
	libssh2-1-dev libzstd-dev libarchive-dev libcurl4-openssl-dev \
	openssh-server openssh-client rsync git sqlite3 attr acl zip \
	python3 python3-cryptography mandoc clang ca-certificates procps \
	psmisc file libcap2-bin faketime clamav-freshclam clamav \
	python3-aiosmtpd openssl iproute2
apt-get install -y --no-install-recommends \
	systemd debhelper dpkg-dev
if [ -n "${CI:-}" ]; then
	if [ -d /run/systemd/system ]; then
		systemctl mask --now clamav-freshclam.service
	else
		update-rc.d clamav-freshclam disable >/dev/null 2>&1 || true
	fi
elif [ -d /run/systemd/system ]; then
	systemctl enable --now clamav-freshclam.service
fi
