#!/usr/bin/env bash
# bench/dom0-boot.sh [RUNS] - Debian's Linux 6.1 with dom0's initramfs
# (tools/mkdom0) two ways, on the same q35 machine with the same devices
# (virtio-blk, a SATA disk on the chipset's AHCI, an e1000 on a user network
# with restrict=on), same QEMU flags (TCG, -cpu qemu64,+svm,+npt,+rdrand),
# RUNS times each (default 3), interleaved:
#
#   qemu   QEMU boots the bzImage itself (-kernel vmlinuz, console=ttyS0)
#          with -m 512M, dom0's RAM below (scripts/boot-dom0-qemu.sh's boot);
#   hv     hv (-m 2G) boots the vmlinux as its PVH dom0 with mem=512M.
#
# It reports wall-clock seconds from QEMU start until dom0's userspace
# marker GOZEN-USERSPACE-UP appears on the console, the medians and their
# ratio. In the hv runs it then types "poweroff" and keeps hv's port I/O
# exit line for dom0 (hv/portcount.go). hv runs with bootscrub=off: QEMU's
# RAM starts zeroed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs=${1:-3}
lx=out/linux
./scripts/get-kernel.sh "$lx" >/dev/null
go run ./tools/mkdomu -o "$lx" -vmlinux >/dev/null
go run ./tools/mkdom0 -o "$lx" >/dev/null
go run ./tools/mkimage -o out >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
truncate -s 16M "$tmp/virtio.img" "$tmp/sata.img"
common=(-accel tcg -cpu qemu64,+svm,+npt,+rdrand -nographic -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04
	-machine q35
	-drive "if=none,id=vd,format=raw,file=$tmp/virtio.img" -device virtio-blk-pci,drive=vd
	-drive "if=none,id=sd,format=raw,file=$tmp/sata.img" -device ide-hd,drive=sd,bus=ide.0
	-netdev user,id=n0,restrict=on -device e1000,netdev=n0)
hvcmd="hvmem=200M bootscrub=off dom0=mem=512M,module=0,ramdisk=1"
dom0cmd=${DOM0_CMDLINE:-console=hvc0 no_timer_check}

# boot NAME ARGS...: boots QEMU with ARGS, prints the seconds until the
# marker; for hv it then powers dom0 off and leaves hv's port-exit line for
# dom0 in $tmp/NAME.ports.
boot() {
	local name=$1 log=$tmp/$1.log fifo=$tmp/$1.in start pid t=""
	shift
	rm -f "$fifo" && mkfifo "$fifo"
	start=$(date +%s.%N)
	qemu-system-x86_64 "${common[@]}" "$@" <"$fifo" >"$log" 2>&1 &
	pid=$!
	exec 3>"$fifo"
	for _ in $(seq 1 4800); do
		if grep -aq GOZEN-USERSPACE-UP "$log"; then
			t=$(echo "$(date +%s.%N) - $start" | bc)
			break
		fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if [ -n "$t" ] && [ "$name" = hv ]; then
		for _ in $(seq 1 400); do # the shell's prompt
			grep -aq '^(dom0) \$' "$log" && break
			sleep 0.05
		done
		printf 'poweroff\r' >&3
		for _ in $(seq 1 600); do
			grep -aq '"dom0": .*port I/O exits' "$log" && break
			sleep 0.1
		done
		grep -a '"dom0": .*port I/O exits' "$log" | tail -1 | sed 's/.*": //' >"$tmp/$name.ports" || true
	fi
	exec 3>&-
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	if [ -z "$t" ]; then
		echo "$name: marker never appeared; log:" >&2
		tail -20 "$log" >&2
		return 1
	fi
	echo "$t"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

q=() v=()
for i in $(seq 1 "$runs"); do
	q+=("$(boot qemu -m 512M -kernel "$lx/vmlinuz" -initrd "$lx/dom0/initramfs.cpio" -append console=ttyS0)")
	v+=("$(boot hv -m 2G -kernel out/hv.bin -append "$hvcmd" -initrd "$lx/vmlinux $dom0cmd,$lx/dom0/initramfs.cpio")")
	echo "run $i: qemu ${q[-1]} s, hv+dom0 ${v[-1]} s (load $(cut -d' ' -f1-3 /proc/loadavg))"
done
mq=$(printf '%s\n' "${q[@]}" | median)
mv=$(printf '%s\n' "${v[@]}" | median)
echo "median: qemu $mq s, hv+dom0 $mv s"
echo "ratio: hv+dom0/qemu $(echo "scale=3; $mv / $mq" | bc)"
echo "dom0's port I/O exits (last run): $(cat "$tmp/hv.ports" 2>/dev/null)"
