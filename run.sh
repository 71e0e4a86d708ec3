#!/usr/bin/env bash
# run.sh - build GoZen and boot it under QEMU with hv's serial console on this
# terminal. This is GoZen's main job: hv boots Debian's unmodified Linux 6.1
# kernel (the bzImage as Debian ships it, fetched with apt) as the privileged
# PVH dom0, with a u-root initramfs holding GoZen's toolstack (xl, xenstored,
# xenconsoled; tools/mkdom0). dom0init starts the daemons and, because the
# kernel command line says gozen.create=/etc/xen/debian.cfg, runs
# `xl create /etc/xen/debian.cfg`: a Debian PVH domU named "debian" (256 MiB)
# built from dom0. The console is dom0's shell; `xl console debian` reaches
# the domU's (Ctrl-] detaches), `xl list` lists both.
#
#   ./run.sh                      hv, dom0, and the domU dom0 creates
#   ./run.sh --domu               hv with the Debian domU alone, built by hv
#                                 from boot modules (no dom0)
#   ./run.sh HV-CMDLINE...        hv alone, with this command line (e.g. selftest)
#   ./run.sh --print-dom0-args    print the default mode's hv command line and
#                                 -initrd value, one a line (qemu-test.sh's
#                                 run-dom0 scenario boots exactly these)
#
# Keys: typing goes to the first domain's hvc0 (dom0's, or the domU's with
# --domu); Ctrl-] three times moves the console to the next domain hv built
# and then to hv's own console (hv>), which answers help, list,
# pause/unpause/destroy NAME, console NAME, mem and stats while the domains
# run; Ctrl-] three times again goes back. `poweroff` in dom0 shuts the
# domUs down and ends hv (as does `poweroff` in the --domu domU). hv alone
# (./run.sh OPTIONS) has a smaller console: help, mem, stats, poweroff (or
# q). Leave QEMU at any time with Ctrl-A X.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

if ! command -v qemu-system-x86_64 >/dev/null; then
	sudo=()
	((EUID == 0)) || sudo=(sudo)
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-system-x86
fi
command -v go >/dev/null || PATH=$PATH:/usr/local/go/bin

# The default mode (dom0 with the toolstack creating the sample domU). dom0's
# Linux: hvc0 console; pci=nomsi no_timer_check as in the dom0 scenarios
# (README "Not done yet"); gozen.create= is read by dom0init.
# bootscrub=off: QEMU's RAM starts zeroed, so hv need not clear guest frames before first use.
dom0_append="hvmem=200M bootscrub=off dom0=mem=512M,module=0,ramdisk=1"
dom0_initrd="out/linux/vmlinuz console=hvc0 pci=nomsi no_timer_check gozen.create=/etc/xen/debian.cfg,out/linux/dom0/initramfs.cpio"
if [[ ${1:-} == --print-dom0-args ]]; then
	printf '%s\n' "$dom0_append" "$dom0_initrd"
	exit 0
fi

go run ./tools/mkimage -o out
qemu=(qemu-system-x86_64 -accel tcg -cpu qemu64,+svm,+npt,+rdrand -m 2G -machine pc
	-nographic -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04 -kernel out/hv.bin)
domu=0
if [[ ${1:-} == --domu ]]; then
	domu=1
	shift
fi
if (($#)); then
	echo "==> booting out/hv.bin with \"$*\" (Ctrl-A X quits QEMU)"
	exec "${qemu[@]}" -append "$*"
fi
# Debian's kernel package (apt-get download, no root) with its modules, and
# the u-root initramfs of the domU; dom0's image holds that domU too.
if [[ ! -f out/linux/vmlinuz ]] || ! compgen -G 'out/linux/modules/*/modules.order' >/dev/null; then
	./scripts/get-kernel.sh out/linux
fi
go run ./tools/mkdomu -o out/linux
release=$(sed -n 's/^release=//p' out/linux/VERSION 2>/dev/null)
if ((domu)); then
	cmdline="loglvl=info bootscrub=off domain=debian,mem=256M,module=0,ramdisk=1"
	echo "==> booting out/hv.bin with \"$cmdline\" and Debian's $release kernel"
	echo "==> the console is the domU's shell once it is up; Ctrl-] x3 switches to hv's console (help); Ctrl-A X quits QEMU"
	exec "${qemu[@]}" -append "$cmdline" -initrd "out/linux/vmlinuz console=hvc0,out/linux/initramfs.cpio"
fi
go run ./tools/mkdom0 -o out/linux
echo "==> booting out/hv.bin with \"$dom0_append\": Debian's $release kernel as dom0, which creates the domU \"debian\""
echo "==> the console is dom0's shell once it is up; \`xl console debian\` reaches the domU (Ctrl-] detaches); Ctrl-A X quits QEMU"
exec "${qemu[@]}" -append "$dom0_append" -initrd "$dom0_initrd"
