#!/usr/bin/env bash
# bench/bzimage-icount.sh [IMAGE] - how much guest work hv's decompression of
# Debian's bzImage is, independent of the host's load: QEMU runs hv (default
# out/hv.bin) with -icount shift=0, so guest time advances 1 ns per executed
# instruction, and the time hv logs for the decompression
#   hv: domain "linux": bzImage of ... decompressed to a ...-byte vmlinux in N ms
# is N million guest instructions (hv's TSC and timers run on that clock too).
# QEMU is stopped once the line appears. With ICOUNT=0 QEMU runs without
# -icount, and N is wall-clock milliseconds under TCG (which depend on the
# host's load; compare images alternately).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
img=${1:-out/hv.bin}
lx=out/linux
./scripts/get-kernel.sh "$lx" >/dev/null
if [ "$img" = out/hv.bin ]; then go run ./tools/mkimage -o out >/dev/null; fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
icount=(-icount shift=0)
if [ "${ICOUNT:-1}" = 0 ]; then icount=(); fi
qemu-system-x86_64 -accel tcg "${icount[@]}" -cpu qemu64,+svm,+npt -m 1G -nographic -no-reboot \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04 -kernel "$img" \
	-append "hvmem=40M domain=linux,mem=256M,module=0" -initrd "$lx/vmlinuz console=hvc0" </dev/null >"$log" 2>&1 &
pid=$!
for _ in $(seq 1 6000); do
	grep -aq "decompressed to" "$log" && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
kill "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
grep -a "decompressed to" "$log" || { echo "no decompression line; log:" >&2; tail -20 "$log" >&2; exit 1; }
