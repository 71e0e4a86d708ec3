#!/usr/bin/env bash
# bench/xl-disk.sh [RUNS] - sequential direct I/O on a PV disk against the
# same disk read and written by dom0 itself (issue 11). hv boots dom0 on
# q35 with QEMU's AMD IOMMU and a 320 MiB SATA disk (the chipset's AHCI;
# its DMA into grant-mapped pages goes through the IOMMU); in dom0,
# `blkbench read|write -n 256m /dev/sda` (O_DIRECT, 1 MiB requests); then
# dom0 xl-creates the sample Debian domU with that disk as its xvda
# (target=/dev/sda: blkback opens it) and the domU runs the same on
# /dev/xvda. Each measurement is taken RUNS times (default 3) in the one
# boot; the script prints every line, the medians and the domU/dom0
# ratios. TCG: absolute figures are the emulator's, the ratios are what
# to compare.
set -euo pipefail
runs=${1:-3}
# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_images dom0
tmp=$(mktemp -d)
trap 'exec 3>&- 2>/dev/null; [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
truncate -s 320M "$tmp/sata.img"
log=$tmp/serial.log
mkfifo "$tmp/in"
qemu-system-x86_64 -accel tcg -cpu qemu64,+svm,+npt,+rdrand -nographic -no-reboot \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04 -machine q35 -device amd-iommu -m 2G \
	-kernel out/hv.bin -append "hvmem=200M bootscrub=off dom0=mem=512M,module=0,ramdisk=1" \
	-initrd "$lx/vmlinux console=hvc0 no_timer_check,$lx/dom0/initramfs.cpio" \
	-drive "if=none,id=sd,format=raw,file=$tmp/sata.img" -device ide-hd,drive=sd,bus=ide.0 \
	<"$tmp/in" >"$log" 2>&1 &
pid=$!
exec 3>"$tmp/in"

# expect REGEX [SECONDS]: waits for a new line matching REGEX (after the
# last one expect matched).
seen=0
expect() {
	local re=$1 t=${2:-600} i n
	for ((i = 0; i < t * 10; i++)); do
		if n=$(tail -n "+$((seen + 1))" "$log" | tr -d '\r' | grep -anE -m 1 -e "$re" | cut -d: -f1) && [ -n "$n" ]; then
			seen=$((seen + n))
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	echo "xl-disk bench: no line matching '$re'; log tail:" >&2
	tail -20 "$log" >&2
	exit 1
}
send() { printf '%s\r' "$1" >&3; }
# bench WHO VERB DEV: runs blkbench RUNS times, appends MiB/s to $tmp/WHO.VERB.
bench() {
	local who=$1 verb=$2 dev=$3 i line
	for ((i = 1; i <= runs; i++)); do
		send "blkbench $verb -n 256m $dev && echo B-\$((0+$i))"
		expect "^\(dom0\) (\\$ )?blkbench: $verb 268435456 bytes"
		line=$(tail -n "+$seen" "$log" | tr -d '\r' | head -1)
		line=${line#(dom0) }
		line=${line#\$ }
		echo "$who: $line"
		echo "$line" | sed -E 's/.*: ([0-9.]+) MiB\/s.*/\1/' >>"$tmp/$who.$verb"
		expect "^\(dom0\) (\\$ )?B-$i$"
	done
}

expect '^\(dom0\) GOZEN-USERSPACE-UP' 900
expect '^\(dom0\) \$' 60
bench dom0 read /dev/sda
bench dom0 write /dev/sda
# hv queues at most 64 console reads of typed input: short lines.
send "cd /etc/xen; echo CD-\$((1))"
expect '^\(dom0\) (\$ )?CD-1$' 60
send "xl create debian.cfg 'name=\"b\"' \"disk=['/dev/sda,,xvda']\"; echo C-\$((1))"
expect '^\(dom0\) (\$ )?C-1$' 300
send "xl console b"
expect '^\(dom0\) .*GOZEN-USERSPACE-UP' 600
sleep 2
send "ls /sys/block/xvda && echo X-\$((1))"
expect '^\(dom0\) (\$ )?X-1$' 120
bench domU read /dev/xvda
bench domU write /dev/xvda
printf '\x1d' >&3
sleep 1
send ""
sleep 2
send "xl destroy b && echo DE-\$((1))"
expect '^\(dom0\) (\$ )?DE-1$' 120
send poweroff
expect 'hv: dom0 turned the machine off' 300
wait "$pid" 2>/dev/null || true
pid=
for verb in read write; do
	d=$(median <"$tmp/dom0.$verb") u=$(median <"$tmp/domU.$verb")
	echo "median $verb: dom0 $d MiB/s, domU $u MiB/s, domU/dom0 $(echo "scale=3; $u / $d" | bc)"
done
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
