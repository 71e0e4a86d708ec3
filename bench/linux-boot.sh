#!/usr/bin/env bash
# bench/linux-boot.sh [RUNS] - Debian's Linux 6.1 with the u-root initramfs,
# booted (a) directly by QEMU through its PVH entry and (b) as a PVH domU
# under GoZen, same QEMU flags (TCG, -cpu qemu64,+svm,+npt), RUNS times each
# (default 3). Reports wall-clock seconds from QEMU start until the
# userspace marker GOZEN-USERSPACE-UP appears on the console, medians and
# their ratio.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs=${1:-3}
lx=out/linux
./scripts/get-kernel.sh "$lx" >/dev/null
go run ./tools/mkdomu -o "$lx" -vmlinux >/dev/null
go run ./tools/mkimage -o out >/dev/null
common=(-accel tcg -cpu qemu64,+svm,+npt,+rdrand -m 1G -nographic -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04)

# time_to_marker CMD...: seconds until the marker, then QEMU is stopped.
time_to_marker() {
	local log start
	log=$(mktemp)
	start=$(date +%s.%N)
	"$@" </dev/null >"$log" 2>&1 &
	local pid=$!
	for _ in $(seq 1 1200); do
		if grep -aq GOZEN-USERSPACE-UP "$log"; then
			echo "$(date +%s.%N) - $start" | bc
			kill "$pid" 2>/dev/null || true
			wait "$pid" 2>/dev/null || true
			rm -f "$log"
			return 0
		fi
		sleep 0.05
	done
	kill "$pid" 2>/dev/null || true
	echo "marker never appeared" >&2
	return 1
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

direct=() gozen=()
for i in $(seq 1 "$runs"); do
	direct+=("$(time_to_marker qemu-system-x86_64 "${common[@]}" -kernel "$lx/vmlinux" -initrd "$lx/initramfs.cpio" -append "console=ttyS0")")
	gozen+=("$(time_to_marker qemu-system-x86_64 "${common[@]}" -kernel out/hv.bin \
		-append "hvmem=200M domain=linux,mem=256M,module=0,ramdisk=1" -initrd "$lx/vmlinux console=hvc0,$lx/initramfs.cpio")")
	echo "run $i: direct ${direct[-1]} s, under GoZen ${gozen[-1]} s"
done
d=$(printf '%s\n' "${direct[@]}" | median)
g=$(printf '%s\n' "${gozen[@]}" | median)
echo "median: direct $d s, under GoZen $g s, ratio $(echo "scale=2; $g / $d" | bc)"
