#!/usr/bin/env bash
# bench/linux-boot.sh [RUNS] - Debian's Linux 6.1 with the u-root initramfs,
# three ways, same QEMU flags (TCG, -cpu qemu64,+svm,+npt,+rdrand), RUNS
# times each (default 5), interleaved:
#
#   qemu      QEMU boots the bzImage itself (-kernel vmlinuz, console=ttyS0),
#             with -m 256M: the RAM the domU gets below;
#   vmlinux   hv (-m 1G) builds a 256 MiB PVH domU from the vmlinux;
#   bzimage   the same from the bzImage, which hv decompresses.
#
# It reports wall-clock seconds from QEMU start until the userspace marker
# GOZEN-USERSPACE-UP appears on the console, the medians and their ratios.
# It reads QEMU's peak RSS (VmHWM) when the marker appears and reports its
# medians against the issue's goal. In the hv runs it then types "poweroff"
# and reads the port I/O exit counts hv logs when the domain ends. hv runs
# with hvmem=200M and bootscrub=off: QEMU's RAM starts zeroed. Finally it
# boots the vmlinux once more with pci=noearly on the kernel command line,
# and once on an AMD family 0x10 CPU, where Linux's AMD GART probe runs (see
# README, "Port I/O a PVH Linux still does").
set -euo pipefail
runs=${1:-5}
# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_images
common=(-accel tcg -cpu qemu64,+svm,+npt,+rdrand -nographic -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04)
hvmem=200 # MiB: hv's own pool
hvargs() { # hvargs KERNEL [EXTRA CMDLINE]
	echo "-m 1G -kernel out/hv.bin -append hvmem=${hvmem}M_bootscrub=off_domain=linux,mem=256M,module=0,ramdisk=1 -initrd $1_console=hvc0${2:+_$2},$lx/initramfs.cpio"
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# boot NAME ARGS...: boots QEMU with ARGS (underscores in an argument stand
# for spaces), prints the seconds until the marker; for hv it then powers
# the domain off and leaves hv's port-exit line in $tmp/NAME.ports.
boot() {
	local name=$1 prompt="" args=()
	shift
	for a in "$@"; do args+=("${a//_/ }"); done
	if [ "$name" != qemu ]; then prompt='^\(linux\) \$'; fi
	boot_to_marker "$name" "$prompt" 'port I/O exits' "${args[@]}"
}

rss() { echo $(($(cat "$tmp/$1.rss" 2>/dev/null || echo 0) / 1024)); }

q=() v=() z=() rq=() rv=() rz=()
for i in $(seq 1 "$runs"); do
	q+=("$(boot qemu -m 256M -kernel "$lx/vmlinuz" -initrd "$lx/initramfs.cpio" -append console=ttyS0)")
	# shellcheck disable=SC2046
	v+=("$(boot vmlinux $(hvargs "$lx/vmlinux"))")
	# shellcheck disable=SC2046
	z+=("$(boot bzimage $(hvargs "$lx/vmlinuz"))")
	echo "run $i: qemu ${q[-1]} s, hv+vmlinux ${v[-1]} s, hv+bzImage ${z[-1]} s (load $(cut -d' ' -f1-3 /proc/loadavg));" \
		"QEMU peak RSS at the marker: qemu $(rss qemu), hv+vmlinux $(rss vmlinux), hv+bzImage $(rss bzimage) MiB"
	rq+=("$(rss qemu)") rv+=("$(rss vmlinux)") rz+=("$(rss bzimage)")
done
mq=$(printf '%s\n' "${q[@]}" | median)
mv=$(printf '%s\n' "${v[@]}" | median)
mz=$(printf '%s\n' "${z[@]}" | median)
echo "median: qemu $mq s, hv+vmlinux $mv s, hv+bzImage $mz s"
echo "ratios: hv+vmlinux/qemu $(echo "scale=3; $mv / $mq" | bc), hv+bzImage/qemu $(echo "scale=3; $mz / $mq" | bc), hv+bzImage/hv+vmlinux $(echo "scale=3; $mz / $mv" | bc)"
echo "goals: hv+vmlinux/qemu <= 1.15, hv+bzImage/qemu <= 1.25 (issue 15)"
mrq=$(printf '%s\n' "${rq[@]}" | median)
mrv=$(printf '%s\n' "${rv[@]}" | median)
mrz=$(printf '%s\n' "${rz[@]}" | median)
echo "median QEMU peak RSS: qemu $mrq, hv+vmlinux $mrv, hv+bzImage $mrz MiB;" \
	"goal <= 1.1 x qemu + hv's pool (hvmem=$hvmem MiB) = $(echo "$mrq * 1.1 + $hvmem" | bc) MiB"
echo "port I/O exits, hv+vmlinux (last run): $(cat "$tmp/vmlinux.ports")"
echo "port I/O exits, hv+bzImage (last run): $(cat "$tmp/bzimage.ports")"
# shellcheck disable=SC2046
t=$(boot noearly $(hvargs "$lx/vmlinux" pci=noearly))
echo "hv+vmlinux with pci=noearly: $t s to the marker; port I/O exits: $(cat "$tmp/noearly.ports")"
# The same on an AMD family 0x10 CPU, which had both NPT and the GART: hv
# passes that family through, as Xen does, and Linux's GART aperture probe
# runs (README, "Port I/O a PVH Linux still does").
common=(-accel tcg -cpu qemu64,+svm,+npt,+rdrand,family=16,model=2 -nographic -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04)
# shellcheck disable=SC2046
t=$(boot fam10h $(hvargs "$lx/vmlinux"))
echo "hv+vmlinux on family 0x10: $t s to the marker; port I/O exits: $(cat "$tmp/fam10h.ports")"
