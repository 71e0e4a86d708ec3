#!/usr/bin/env bash
# bench/xl-create.sh [RUNS] - `xl create` to the domU's first console line,
# in dom0 under hv (issue 10; BENCHMARKS.md). Boots hv with dom0 as
# qemu-test.sh's scenario xl-create does (TCG, -machine pc -m 2G,
# dom0=mem=512M) and types, in /etc/xen,
#
#   createbench -v -n RUNS hello.cfg debian.cfg
#
# (dom0/cmd/createbench; RUNS defaults to 3): for each run it prints
# "start" just before it execs `xl create`, and "first line" once the new
# domain's first complete console line is there: on hv's console for the
# test guest (hello.cfg), in xenconsoled's log of its ring for the 256 MiB
# Debian domU (debian.cfg). This script stamps every serial line with the
# host's clock as it arrives and reports start -> first line by that
# clock, the medians, and their ratio to Xen 4.17's figures under the same
# QEMU (3.6 s for a tiny PVH guest, 9 s for a 256 MiB Linux domU).
# createbench's own figures (dom0's clock) and xl -v's step times follow;
# dom0's clock is only as good as hv's TSC calibration, which QEMU's TCG
# makes noisy under load (hv has measured 381 to 4160 MHz for the same
# 2.1 GHz host), so the host's clock is the one to believe.
#
# XL_CREATE_LOG=FILE keeps the stamped serial log (for lining it up with a
# profile of QEMU taken meanwhile, e.g. perf record -k CLOCK_REALTIME).
#
# QEMU runs with -mem-prealloc: it backs all of its guest RAM before hv
# starts. Otherwise the first write to each page of it costs the host a
# page fault and a page of zeroing, and a domain built on RAM QEMU never
# used pays that while xl writes its kernel and while its Linux boots
# (Debian's create took 1.05-1.31 s without it, 0.63-0.68 s with it, in
# back-to-back runs: BENCHMARKS.md). It makes QEMU take all 2 GiB of host
# RAM at start, so mind small or shared hosts. Hardware has no such
# cost, and neither had Xen's figures: Xen clears all free RAM at or soon
# after boot by default (its bootscrub option), so every page QEMU gives
# it is backed before the first xl create. XL_CREATE_QEMU_ARGS replaces
# the option (XL_CREATE_QEMU_ARGS= for none).
set -euo pipefail
if [[ -n ${XL_CREATE_LOG:-} && $XL_CREATE_LOG != /* ]]; then
	XL_CREATE_LOG=$PWD/$XL_CREATE_LOG # the caller's directory, not the repository's
fi
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs=${1:-3}
lx=out/linux
go run ./tools/mkimage -o out >/dev/null
go run ./tools/mkguest -o out/guests >/dev/null
go run ./tools/mkdomu -o "$lx" -vmlinux >/dev/null
go run ./tools/mkdom0 -o "$lx" >/dev/null
tmp=$(mktemp -d)
keep_log() {
	if [[ -n ${XL_CREATE_LOG:-} ]]; then
		cp "$tmp/serial.log" "$XL_CREATE_LOG" || echo "xl-create: could not keep the log as $XL_CREATE_LOG" >&2
	fi
	rm -rf "$tmp"
}
trap keep_log EXIT
log=$tmp/serial.log
mkfifo "$tmp/in"
# Each line as "SECONDS.MICROS LINE", stamped when it arrives.
qemu-system-x86_64 -accel tcg -cpu qemu64,+svm,+npt,+rdrand -nographic -no-reboot \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04 -machine pc -m 2G ${XL_CREATE_QEMU_ARGS--mem-prealloc} -kernel out/hv.bin \
	-append "hvmem=200M bootscrub=off dom0=mem=512M,module=0,ramdisk=1" \
	-initrd "$lx/vmlinux console=hvc0 pci=nomsi no_timer_check,$lx/dom0/initramfs.cpio" <"$tmp/in" 2>&1 |
	while IFS= read -r line; do printf '%s %s\n' "$EPOCHREALTIME" "${line%$'\r'}"; done >"$log" &
exec 3>"$tmp/in"
# wait_for REGEX SECONDS: until a line (after its stamp) matches.
wait_for() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		grep -aqE "^[0-9.]+ $1" "$log" && return 0
		sleep 0.1
	done
	echo "xl-create: no line matching /$1/ after $2 s; the log's end:" >&2
	tail -20 "$log" >&2
	return 1
}
wait_for '\(dom0\) GOZEN-USERSPACE-UP' 900
sleep 3
printf 'cd /etc/xen\r' >&3
sleep 2
printf 'createbench -v -n %d hello.cfg debian.cfg; echo BENCH-END\r' "$runs" >&3
wait_for '\(dom0\) BENCH-END' 3600
printf 'poweroff\r' >&3
wait_for 'hv: dom0 turned the machine off' 120 || true
exec 3>&-
wait || true

echo "QEMU: -machine pc -m 2G ${XL_CREATE_QEMU_ARGS--mem-prealloc}"
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for name in hello debian; do
	ms=()
	for ((i = 1; i <= runs; i++)); do
		s=$(grep -a "(dom0) createbench: $name run $i: start$" "$log" | head -1 | cut -d' ' -f1)
		f=$(grep -a "(dom0) createbench: $name run $i: first line$" "$log" | head -1 | cut -d' ' -f1)
		ms+=("$(echo "($f - $s) * 1000 / 1" | bc)")
	done
	m=$(printf '%s\n' "${ms[@]}" | median)
	xen=3600
	[[ $name == debian ]] && xen=9000
	echo "$name: xl create -> first console line, host clock: ${ms[*]} ms; median $m ms; Xen 4.17 $xen ms: $(echo "scale=3; $m / $xen" | bc) of Xen's time"
done
echo "createbench's own lines (dom0's clock; xl -v's steps):"
grep -a '(dom0) createbench: ' "$log" | grep -v ': start$\|: first line$' | cut -d' ' -f2- | sed 's/^(dom0) //'
grep -a 'tsc [0-9]* MHz' "$log" | head -1 | cut -d' ' -f2- | sed 's/^/hv: /'
