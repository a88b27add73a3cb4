# vm_like.sh -- what the network benchmarks (bench_sync.sh,
# bench_backup.sh) share to make VM-image-like data.
# vm_like BYTES: zero runs, repeated system files and random blocks.
vm_like() {
	local left=$1 n
	while [ "$left" -gt 0 ]; do
		n=$((left < 8388608 ? left : 8388608))
		case $((RANDOM % 3)) in
		0) head -c "$n" /dev/zero ;;
		1) (cat /usr/lib/x86_64-linux-gnu/*.so* 2>/dev/null || true) |
			head -c "$n" ;;
		2) head -c "$n" /dev/urandom ;;
		esac
		left=$((left - n))
	done
}
