#!/bin/bash
# bench_sync.sh -- off-site push throughput of beemo-sync against
# OpenSSH's sftp client uploading the same pack files (batch `put`), to
# an sshd on 127.0.0.1, in the same invocation; then recover throughput
# and the bytes an incremental push sends after a 1 % change.
#
#   BEEMO_BUILD=build bash tests/bench/bench_sync.sh [SIZE_MIB] [ROUNDS]
#
# SIZE_MIB (default 2048) is the corpus size, ROUNDS (default 3) the
# number of alternating beemo-sync / sftp runs; medians are reported.
# The corpus is the "large" one of ANCHORS.md (half incompressible, half
# VM-image-like) written through beemofs when it is built
# (BENCH_CORPUS=real), else synthetic 32 MiB packs of random bytes
# (BENCH_CORPUS=synthetic; also the fallback), which exercises the same
# transport.  beemo-sync uses its default 2 connections and fsyncs each
# object before renaming it; sftp uses OpenSSH's defaults (one
# connection, chacha20-poly1305, no fsync).  These machines are shared:
# compare the ratio measured within one run, not absolute figures.
. "$(dirname "$0")/../e2e/lib.sh"
. "$(dirname "$0")/../e2e/sshd_lib.sh"
. "$(dirname "$0")/vm_like.sh"

SIZE=${1:-2048}
ROUNDS=${2:-3}
CORPUS=${BENCH_CORPUS:-auto}
if [ "$CORPUS" = auto ]; then
	CORPUS=synthetic
	[ -x "$BEEMOFS" ] && command -v fusermount3 >/dev/null && CORPUS=real
fi

sshd_require
command -v sftp >/dev/null || t_skip "no sftp client"
sshd_start a
sync_config a
t_appliance

now() { date +%s%N; }
mibs() { echo "scale=1; $1 * 1000000000 / 1048576 / $2" | bc; } # BYTES NS
median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }


B=$((SIZE * 1048576))
t_expect_log 'warning: .*: committed without antivirus scan'
if [ "$CORPUS" = real ]; then
	M="$T/mnt"
	t_mount "$M"
	head -c $((B / 2)) /dev/urandom >"$M/incompressible.img"
	vm_like $((B / 2)) >"$M/vm.img"
	t_umount "$M"
else
	d="$T/store/machines/bench"
	mkdir -p "$d/packs"
	head -c 64 /dev/urandom >"$d/store.id"
	for i in $(seq 1 $((SIZE / 32))); do
		id=$(printf '%016x' $((i * 7919)))
		mkdir -p "$d/packs/${id:14:2}"
		head -c 33554432 /dev/urandom >"$d/packs/${id:14:2}/$id.pack"
	done
fi
mapfile -t packs < <(cd "$T/store" && find machines -name '*.pack' | sort)
P=$(cd "$T/store" && cat "${packs[@]}" | wc -c)
t_log "corpus: $CORPUS, $((P / 1048576)) MiB in ${#packs[@]} packs"

for f in "${packs[@]}"; do
	echo "put $f $T/center_a/sftp/${f##*/}"
done >"$T/batch"
: >"$T/push.rates"
: >"$T/sftp.rates"
: >"$T/ratios"
for r in $(seq 1 "$ROUNDS"); do
	# A fresh center; the pack hashes cached by the first round stay
	# (a real first push hashes each pack once, while sending it).
	rm -rf "$T/center_a/beemo"
	s=$(now)
	"$BEEMO_SYNC" -q push 2>>"$T/sync.log" || t_fail "push failed"
	e=$(now)
	a=$(mibs "$P" $((e - s)))
	rm -rf "$T/center_a/sftp"
	mkdir -p "$T/center_a/sftp"
	s=$(now)
	(cd "$T/store" && sftp -q -b "$T/batch" -i "$T/id_ed25519" \
		-o UserKnownHostsFile="$T/known_hosts_a" \
		-P "${SSHD_PORT[a]}" 127.0.0.1 >/dev/null) || t_fail "sftp failed"
	e=$(now)
	b=$(mibs "$P" $((e - s)))
	echo "$a" >>"$T/push.rates"
	echo "$b" >>"$T/sftp.rates"
	echo "scale=2; $a / $b" | bc >>"$T/ratios"
	t_log "round $r: beemo-sync $a MiB/s, sftp $b MiB/s, ratio $(tail -n 1 "$T/ratios")"
done
t_log "push: beemo-sync $(median <"$T/push.rates") MiB/s, sftp $(median <"$T/sftp.rates") MiB/s, median ratio $(median <"$T/ratios") (target >= 1.0)"

# Recover from the center into an empty directory.
s=$(now)
"$BEEMO_SYNC" recover --target a --store "$T/rec" \
	--password-file "$T/admin.pw" >"$T/rec.out" 2>>"$T/sync.log" ||
	t_fail "recover failed"
e=$(now)
t_log "recover: $(grep '^downloaded' "$T/rec.out"); total with index rebuild $(mibs "$P" $((e - s))) MiB/s of packs"

# An incremental push after a 1 % change.  The store turns a change into
# new packs (whole chunks, ~1 MiB on average, plus sealed metadata);
# beemo-sync should send those and little else.
C=$((P / 100))
(cd "$T/store" && find machines -name '*.pack' | sort) >"$T/packs.before"
if [ "$CORPUS" = real ]; then
	t_mount "$M"
	for i in $(seq 0 9); do
		head -c $((C / 10)) /dev/urandom | dd of="$M/incompressible.img" \
			bs=1M seek=$((i * SIZE / 20)) conv=notrunc status=none \
			iflag=fullblock
	done
	t_umount "$M"
else
	id=$(printf '%016x' 999999)
	mkdir -p "$d/packs/${id:14:2}"
	head -c "$C" /dev/urandom >"$d/packs/${id:14:2}/$id.pack"
fi
"$BEEMO_SYNC" push >"$T/inc.out" 2>>"$T/sync.log" || t_fail "incremental push"
sent=$(sed -n 's/^a: sent [0-9]* objects ([^,]*, \([0-9]*\) bytes).*/\1/p' "$T/inc.out")
newp=$(cd "$T/store" && find machines -name '*.pack' | sort |
	comm -13 "$T/packs.before" - | xargs -r cat | wc -c)
t_log "incremental push after a 1% change: changed $((C / 1024)) KiB, new packs $((newp / 1024)) KiB, sent $((sent / 1024)) KiB ($(echo "scale=2; $sent / $C" | bc)x the change, $(echo "scale=3; $sent / $newp" | bc)x the new packs)"
