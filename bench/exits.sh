#!/usr/bin/env bash
# bench/exits.sh [RUNS] [N] - the cost of an exit round trip under QEMU TCG,
# against its floor. The test guest's exitbench mode times N (default
# 20000) round trips of each of three exits: a null hypercall (vmmcall
# xen_version), CPUID leaf 0 and an OUT to port 0x80 (no device), each
# sample lfence;rdtsc / exit / lfence;rdtsc in guest TSC ticks. It runs
# against
#
#   hv      the normal image (out/hv.bin);
#   floor   a testhooks image (out/test/hv.bin) booted with exitfloor,
#           whose run loop answers exactly those exits by moving RIP past
#           the instruction and entering the guest again (hv/exitfloor.go):
#           the world switch and nothing else;
#
# and the same for CPUID leaf 0 and xen_version from 64-bit mode with paging
# on (the test guest's long mode with N: hv then walks the guest's page
# tables to fetch each instruction, as for Linux),
# RUNS times each (default 3), interleaved, and prints hv's medians per run,
# the median of those, and hv/floor. Wall-clock TCG timings move with the
# host's load; ICOUNT=1 runs QEMU with -icount shift=0 instead, where guest
# time advances 1 ns per instruction QEMU executes (hv's and the guest's
# alike), so the figures count instructions (times the TSC's GHz) and repeat
# exactly whatever the load. VMRUN and #VMEXIT then count as one instruction
# each: the floor is the backend's own code around them.
set -euo pipefail
runs=${1:-3}
# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
n=${2:-20000}
go run ./tools/mkimage -o out >/dev/null
go run ./tools/mkimage -tags testhooks -o out/test >/dev/null
go run ./tools/mkguest -o out/guests >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# one IMAGE EXTRA: boots IMAGE twice (exitbench, long), prints the medians
# "HC CPUID OUT CPUID64 HC64".
one() {
	local out=() k
	boot "$1" "$2" "exitbench $n" || return 1
	for k in 1 6 7; do
		out+=("$(grep -aoE "report $k: [0-9]+ samples, median [0-9]+" "$tmp/log" | awk '{print $NF}')")
	done
	boot "$1" "$2" "long $n" || return 1
	for k in 8 9; do
		out+=("$(grep -aoE "report $k: [0-9]+ samples, median [0-9]+" "$tmp/log" | awk '{print $NF}')")
	done
	for k in "${out[@]}"; do
		if [[ -z $k ]]; then
			echo "exits.sh: a report is missing from $1 $2; log:" >&2
			tail -20 "$tmp/log" >&2
			return 1
		fi
	done
	echo "${out[*]}"
}

# boot IMAGE EXTRA MODE: one run of the test guest in MODE, log in $tmp/log.
boot() {
	local log=$tmp/log
	local ic=()
	[[ ${ICOUNT:-} == 1 ]] && ic=(-icount shift=0)
	timeout -s KILL 300 qemu-system-x86_64 "${ic[@]}" -accel tcg -cpu qemu64,+svm,+npt,+rdrand -nographic -no-reboot \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 -m 1G -kernel "$1" \
		-append "$2 domain=t1,mem=16M,module=0" -initrd "out/guests/testguest.elf $3" </dev/null >"$log" 2>&1 || true
}


declare -a H F
for i in $(seq 1 "$runs"); do
	h=$(one out/hv.bin "")
	f=$(one out/test/hv.bin exitfloor)
	H+=("$h")
	F+=("$f")
	echo "run $i: hv (hypercall cpuid out cpuid64 hypercall64) $h; floor $f (load $(cut -d' ' -f1-3 /proc/loadavg))"
done
names=(hypercall cpuid out cpuid64 hypercall64)
for c in 0 1 2 3 4; do
	hm=$(for r in "${H[@]}"; do set -- $r; eval echo "\${$((c + 1))}"; done | median)
	fm=$(for r in "${F[@]}"; do set -- $r; eval echo "\${$((c + 1))}"; done | median)
	echo "${names[$c]}: hv $hm, floor $fm, hv/floor $(echo "scale=2; $hm / $fm" | bc)"
done
