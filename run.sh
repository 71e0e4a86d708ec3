#!/usr/bin/env bash
# run.sh - build GoZen and boot it under QEMU with hv's serial console on this
# terminal. This is GoZen's main job; issue-by-issue it gains default guests.
#
#   ./run.sh [hv command line...]     default: loglvl=info
#
# hv's console answers: help, mem, stats, poweroff (or q). Leave QEMU at any
# time with Ctrl-A X.
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
cmdline=${*:-loglvl=info}
echo "==> booting out/hv.bin with \"$cmdline\" (Ctrl-A X quits QEMU)"
exec qemu-system-x86_64 -accel tcg -cpu qemu64,+svm,+npt,+rdrand -m 1G \
	-nographic -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
	-kernel out/hv.bin -append "$cmdline"
