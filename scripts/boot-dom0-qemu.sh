#!/usr/bin/env bash
# scripts/boot-dom0-qemu.sh [OUTDIR] - boot Debian's kernel with dom0's
# initramfs (tools/mkdom0) under QEMU alone, no hypervisor, on a q35
# machine with the devices dom0 drives under GoZen: a virtio-blk disk, a
# SATA disk on the ICH9 AHCI controller, an e1000 and a virtio-net NIC
# (user network with restrict=on: nothing leaves QEMU). It checks that
#
#   - dom0init loads the modules in dependency order (each module's line
#     after those of the modules it needs), every non-Xen module loads,
#   - the Xen modules refuse with ENODEV (not under Xen: their init checks
#     xen_domain()) and xenfs, which needs xen-privcmd, is skipped, and
#     /proc/xen is not mounted,
#   - virtio-pci, e1000 and ahci bind to the devices (dom0init's
#     /sys/bus/pci listing), and the disks appear as vda and sda,
#   - the u-root shell answers, and /bin/xl runs; then powers off.
#
#   qemu-system-x86_64 -accel tcg -machine q35 -cpu qemu64 -m 1G -nographic \
#     -kernel OUTDIR/vmlinuz -initrd OUTDIR/dom0/initramfs.cpio \
#     -append "console=ttyS0" -drive ...virtio... -drive ...sata... -netdev user,restrict=on ...
#
# It fetches/builds what is missing first (scripts/get-kernel.sh, then
# go run ./tools/mkdom0; both quick when up to date). Console log:
# OUTDIR/dom0/qemu-boot.log.
#
# Environment:
#   BOOT_TIMEOUT  seconds to wait for each step (default 300)
#   QEMU_ACCEL    accelerator (default tcg)
#   NO_PREPARE=1  do not run get-kernel.sh / mkdom0
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
outdir=${1:-out/linux}
timeout=${BOOT_TIMEOUT:-300}

log() { echo "boot-dom0-qemu: $*"; }
die() {
	echo "boot-dom0-qemu: FAIL: $*" >&2
	exit 1
}

command -v go >/dev/null || PATH=$PATH:/usr/local/go/bin
if [[ ${NO_PREPARE:-} != 1 ]]; then
	./scripts/get-kernel.sh "$outdir"
	go run ./tools/mkdom0 -o "$outdir"
fi
for f in vmlinuz dom0/initramfs.cpio; do
	[[ -f $outdir/$f ]] || die "no $outdir/$f"
done
command -v qemu-system-x86_64 >/dev/null || die "no qemu-system-x86_64 (apt-get install qemu-system-x86)"

consolelog=$outdir/dom0/qemu-boot.log
# shellcheck source=scripts/lib/qemu-console.sh
. scripts/lib/qemu-console.sh

truncate -s 16M "$qemu_work/virtio.img" "$qemu_work/sata.img"
qemu=(qemu-system-x86_64 -accel "${QEMU_ACCEL:-tcg}" -machine q35 -cpu qemu64 -m 1G -nographic -no-reboot
	-kernel "$outdir/vmlinuz" -initrd "$outdir/dom0/initramfs.cpio" -append "console=ttyS0"
	-drive "if=none,id=vd,format=raw,file=$qemu_work/virtio.img" -device virtio-blk-pci,drive=vd
	-drive "if=none,id=sd,format=raw,file=$qemu_work/sata.img" -device ide-hd,drive=sd,bus=ide.0
	-netdev user,id=n0,restrict=on -device e1000,netdev=n0
	-netdev user,id=n1,restrict=on -device virtio-net-pci,netdev=n1)
qemu_start


wait_for 'GOZEN-DOM0: modules loaded:' "dom0init's module summary"
t_mods=$(ms_since_start)
wait_for GOZEN-USERSPACE-UP "userspace marker"
t_marker=$(ms_since_start)
wait_for '^\$ ' "shell prompt"
log "modules done after ${t_mods} ms, marker after ${t_marker} ms"

fails=()
fail() { fails+=("$*"); }
# line N of module M's insmod line (0 if none).
insmod_line() { grep -nE "GOZEN-DOM0: insmod [0-9]+/[0-9]+ $1: " "$consolelog" | head -n 1 | cut -d: -f1; }
status_of() { grep -oE "GOZEN-DOM0: insmod [0-9]+/[0-9]+ $1: .*" "$consolelog" | head -n 1 | tr -d '\r' | sed 's/^[^:]*: [^:]*: //'; }

# The Xen modules: ENODEV outside Xen; xenfs skipped for want of privcmd.
for m in xen_privcmd xen_evtchn xen_gntdev xen_gntalloc xen_netback xen_blkback; do
	s=$(status_of "$m")
	[[ $s == "FAILED: ENODEV"* ]] || fail "$m: \"$s\", want FAILED: ENODEV (not under Xen)"
done
s=$(status_of xenfs)
[[ $s == "skipped: needs xen_privcmd" ]] || fail "xenfs: \"$s\", want skipped: needs xen_privcmd"
grep -q 'GOZEN-DOM0: /proc/xen not mounted: xenfs is not loaded' "$consolelog" || fail "no /proc/xen not-mounted line"

# Every other module loads, after what it needs (modinfo depends=).
others=(virtio virtio_ring virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk failover net_failover
	virtio_net e1000 crct10dif_generic crct10dif_common crc_t10dif crc64 crc64_rocksoft t10_pi scsi_common scsi_mod
	sd_mod libata libahci ahci llc stp bridge crc32c_generic crc16 mbcache jbd2 ext4 loop)
for m in "${others[@]}"; do
	s=$(status_of "$m")
	[[ $s == ok* ]] || fail "$m: \"${s:-no insmod line}\", want ok"
done
before() { # before A B: A's line precedes B's
	local a b
	a=$(insmod_line "$1") b=$(insmod_line "$2")
	[[ -n $a && -n $b ]] && ((a < b)) || fail "$1 (line ${a:-none}) not loaded before $2 (line ${b:-none})"
}
# Pairs from Debian 6.1's modinfo (modules.dep in the image says the same).
before virtio_ring virtio
before virtio virtio_pci
before virtio_pci_modern_dev virtio_pci
before virtio_pci_legacy_dev virtio_pci
before virtio virtio_blk
before virtio virtio_net
before net_failover virtio_net
before failover net_failover
before scsi_common scsi_mod
before scsi_mod sd_mod
before t10_pi sd_mod
before crc64 crc64_rocksoft
before crc64_rocksoft t10_pi
before crc_t10dif t10_pi
before crct10dif_common crc_t10dif
before crct10dif_generic crc_t10dif
before libata libahci
before libahci ahci
before llc stp
before stp bridge
before crc32c_generic ext4
before jbd2 ext4
before mbcache ext4
before crc16 ext4

# Drivers bound to QEMU's devices (vendor:device, driver).
for want in "8086:100e class 020000 driver e1000" "1af4:1000 class 020000 driver virtio-pci" \
	"1af4:1001 class 010000 driver virtio-pci" "8086:2922 class 010601 driver ahci"; do
	grep -q "GOZEN-DOM0: pci .* $want" "$consolelog" || fail "no PCI device line with $want"
done
grep -qE 'GOZEN-DOM0: console /dev/(ttyS0|console) \(kernel console ttyS0\)' "$consolelog" || fail "dom0init's console is not ttyS0"

# ls prints one name a line (lines end in CR LF on the serial console).
printf 'ls /sys/block\n' >&3
wait_for '^vda' "vda in /sys/block"
grep -qE '^sda' "$consolelog" || fail "no sda in /sys/block"
printf 'ls /sys/class/net\n' >&3
wait_for '^eth1' "two NICs in /sys/class/net"
printf 'echo SHELL-OK-$((6*7))\n' >&3
wait_for 'SHELL-OK-42' "shell output"
# The toolstack is in the image and runs (outside Xen it has no xenbus).
printf 'xl help\n' >&3
wait_for 'xl full list of subcommands' "xl's help"
printf 'xl list\n' >&3
wait_for 'xl: xenstore: open /dev/xen/xenbus' "xl's error outside Xen"

if grep -qE 'Oops|BUG:|Call Trace|panic' "$consolelog"; then
	fail "kernel trouble in the log: $(grep -m1 -E 'Oops|BUG:|Call Trace|panic' "$consolelog")"
fi

printf 'poweroff\n' >&3
qemu_wait_exit
t_end=$(ms_since_start)
((qemu_status == 0)) || fail "QEMU exit status $qemu_status"

if ((${#fails[@]} > 0)); then
	printf 'boot-dom0-qemu: %s\n' "${fails[@]}" >&2
	die "${#fails[@]} checks failed (console log: $consolelog)"
fi
log "PASS: modules in order, Xen modules ENODEV as expected outside Xen, drivers bound; marker ${t_marker} ms, total ${t_end} ms (console log: $consolelog)"
