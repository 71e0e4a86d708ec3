#!/usr/bin/env bash
# run.sh - build GoZen and boot it under QEMU with hv's serial console on this
# terminal. This is GoZen's main job: by default hv boots Debian's unmodified
# Linux 6.1 kernel (the bzImage as Debian ships it, fetched with apt) as a PVH
# domU named "debian", with a u-root initramfs, and the console is its shell.
#
#   ./run.sh                      hv with the Debian domU
#   ./run.sh HV-CMDLINE...        hv alone, with this command line (e.g. selftest)
#
# Keys: typing goes to the domU's hvc0; Ctrl-] three times moves the console
# to the next domain and then to hv's own console (hv>), which answers help,
# list, pause/unpause/destroy NAME, console NAME, mem and stats while the
# domains run; Ctrl-] three times again goes back to the domU. `poweroff` in
# the domU ends it, and hv stops when every domain has. hv alone (./run.sh
# OPTIONS) has a smaller console: help, mem, stats, poweroff (or q). Leave
# QEMU at any time with Ctrl-A X.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

if ! command -v qemu-system-x86_64 >/dev/null; then
	sudo=()
	((EUID == 0)) || sudo=(sudo)
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-system-x86
fi
command -v go >/dev/null || PATH=$PATH:/usr/local/go/bin

go run ./tools/mkimage -o out
qemu=(qemu-system-x86_64 -accel tcg -cpu qemu64,+svm,+npt,+rdrand -m 1G
	-nographic -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04 -kernel out/hv.bin)
if (($#)); then
	echo "==> booting out/hv.bin with \"$*\" (Ctrl-A X quits QEMU)"
	exec "${qemu[@]}" -append "$*"
fi
# Debian's kernel package (apt-get download, no root) and the u-root initramfs.
[[ -f out/linux/vmlinuz ]] || ./scripts/get-kernel.sh out/linux
go run ./tools/mkdomu -o out/linux
# bootscrub=off: QEMU's RAM starts zeroed, so hv need not clear guest frames before first use.
cmdline="loglvl=info bootscrub=off domain=debian,mem=256M,module=0,ramdisk=1"
echo "==> booting out/hv.bin with \"$cmdline\" and Debian's $(sed -n 's/^release=//p' out/linux/VERSION 2>/dev/null) kernel"
echo "==> the console is the domU's shell once it is up; Ctrl-] x3 switches to hv's console (help); Ctrl-A X quits QEMU"
exec "${qemu[@]}" -append "$cmdline" -initrd "out/linux/vmlinuz console=hvc0,out/linux/initramfs.cpio"
