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
runs=${1:-3}
# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_images dom0
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

# boot NAME ARGS...: the seconds until the marker; for hv it then powers
# dom0 off and leaves hv's port-exit line for dom0 in $tmp/NAME.ports.
boot() {
	local name=$1 prompt=""
	shift
	if [ "$name" = hv ]; then prompt='^\(dom0\) \$'; fi
	boot_to_marker "$name" "$prompt" '"dom0": .*port I/O exits' "$@"
}

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
