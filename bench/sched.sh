#!/usr/bin/env bash
# bench/sched.sh - CPU shares under hv's fair-share scheduler, QEMU TCG.
# Two CPU-bound test guests (mode "count 40": busy loops between lines)
# run together; hv logs each domain's CPU time whenever a domain ends. The
# share is read at the moment the first domain ends, while both competed.
#   weights 256:512 -> want b/a = 2.0 (within 10%)
#   a with cap=25 running alone -> want a's CPU time / elapsed time <= 0.25
#   (a cap is a share of one CPU in wall-clock time, so it must hold even
#   when the CPU would otherwise idle)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
go run ./tools/mkimage -o out >/dev/null
go run ./tools/mkguest -o out/guests >/dev/null
g=out/guests/testguest.elf
run() {
	timeout 300 qemu-system-x86_64 -accel tcg -cpu qemu64,+svm,+npt,+rdrand -m 1G -nographic -no-reboot \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 -kernel out/hv.bin -append "$1" \
		-initrd "$g count 40 a,$g count 40 b" </dev/null 2>&1 | grep -a -m1 'CPU time so far' || true
}
line=$(run "domain=a,mem=16M,module=0,weight=256 domain=b,mem=16M,module=1,weight=512")
a=$(sed -E 's/.* a ([0-9.]+)s.*/\1/' <<<"$line")
b=$(sed -E 's/.* b ([0-9.]+)s.*/\1/' <<<"$line")
echo "weights 256:512: $line -> b/a = $(echo "scale=3; $b / $a" | bc)"
out=$(timeout 300 qemu-system-x86_64 -accel tcg -cpu qemu64,+svm,+npt,+rdrand -m 1G -nographic -no-reboot \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04 -kernel out/hv.bin -append "domain=a,mem=16M,module=0,cap=25" \
	-initrd "$g count 40 a" </dev/null 2>&1 || true)
a=$(grep -a -m1 'CPU time so far' <<<"$out" | sed -E 's/.* a ([0-9.]+)s.*/\1/')
el=$(grep -a -m1 'exits in' <<<"$out" | sed -E 's/.* exits in ([0-9.]+)s.*/\1/')
echo "cap 25% alone: CPU ${a}s over ${el}s -> share = $(echo "scale=3; $a / $el" | bc)"
