#!/usr/bin/env bash
# scripts/boot-linux-qemu.sh [OUTDIR] - boot the Debian domU kernel and the
# u-root initramfs directly under QEMU (TCG, no hypervisor), through the
# kernel's PVH entry point, and check that userspace comes up and the shell
# answers on the serial console. It is the smoke test of the domU assets
# and the baseline for GoZen's Linux boot benchmark.
#
# It fetches/builds what is missing first (scripts/get-kernel.sh, then
# go run ./tools/mkdomu -vmlinux; both are quick when up to date), then runs
#
#   qemu-system-x86_64 -accel tcg -cpu qemu64 -m 512M -nographic -no-reboot \
#     -kernel OUTDIR/vmlinux -initrd OUTDIR/initramfs.cpio \
#     -append "console=ttyS0 earlyprintk=ttyS0"
#
# waits for the GOZEN-USERSPACE-UP marker and the shell prompt, types
# commands (uname -r, an arithmetic echo, poweroff) and waits for QEMU to
# exit. It prints the wall-clock times from QEMU's start to the marker and
# to the prompt, and leaves the console log in OUTDIR/qemu-boot.log.
#
# Environment:
#   BOOT_TIMEOUT  seconds to wait for each step (default 300)
#   QEMU_ACCEL    accelerator (default tcg)
#   APPEND_EXTRA  extra kernel command line arguments
#   NO_PREPARE=1  do not run get-kernel.sh / mkdomu
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
outdir=${1:-out/linux}
timeout=${BOOT_TIMEOUT:-300}
marker=GOZEN-USERSPACE-UP

log() { echo "boot-linux-qemu: $*"; }
die() {
	echo "boot-linux-qemu: FAIL: $*" >&2
	exit 1
}

command -v go >/dev/null || PATH=$PATH:/usr/local/go/bin
if [[ ${NO_PREPARE:-} != 1 ]]; then
	./scripts/get-kernel.sh "$outdir"
	go run ./tools/mkdomu -o "$outdir" -vmlinux
fi
for f in vmlinux initramfs.cpio; do
	[[ -f $outdir/$f ]] || die "no $outdir/$f"
done
command -v qemu-system-x86_64 >/dev/null || die "no qemu-system-x86_64 (apt-get install qemu-system-x86)"
release=$(sed -n 's/^release=//p' "$outdir/VERSION" 2>/dev/null || true)

consolelog=$outdir/qemu-boot.log
# shellcheck source=scripts/lib/qemu-console.sh
. scripts/lib/qemu-console.sh

qemu=(qemu-system-x86_64 -accel "${QEMU_ACCEL:-tcg}" -cpu qemu64 -m 512M -nographic -no-reboot
	-kernel "$outdir/vmlinux" -initrd "$outdir/initramfs.cpio"
	-append "console=ttyS0 earlyprintk=ttyS0${APPEND_EXTRA:+ $APPEND_EXTRA}")
qemu_start


wait_for "$marker" "userspace marker"
t_marker=$(ms_since_start)
log "marker $marker after ${t_marker} ms"
# gosh prints "$ " (no newline) when it is ready for input.
wait_for '^\$ ' "shell prompt"
t_prompt=$(ms_since_start)
log "shell prompt after ${t_prompt} ms"

printf 'uname -r\n' >&3
if [[ -n $release ]]; then
	wait_for "^$release" "uname -r output ($release)"
fi
# The tty echoes the line as typed; only the shell expands the arithmetic.
# shellcheck disable=SC2016
printf 'echo SHELL-OK-$((6*7))\n' >&3
wait_for 'SHELL-OK-42' "shell output"
log "the shell answers${release:+ (uname -r: $release)}"

printf 'poweroff\n' >&3
qemu_wait_exit
t_end=$(ms_since_start)
((qemu_status == 0)) || die "QEMU exit status $qemu_status"
log "powered off; QEMU exited after ${t_end} ms"
log "PASS: marker ${t_marker} ms, prompt ${t_prompt} ms, total ${t_end} ms (console log: $consolelog)"
