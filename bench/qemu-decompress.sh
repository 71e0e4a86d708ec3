#!/usr/bin/env bash
# bench/qemu-decompress.sh [RUNS] - how long Linux's own decompressor takes
# under TCG: QEMU boots Debian's bzImage itself (-m 256M, console=ttyS0
# earlyprintk=ttyS0) and each serial line is stamped with the host clock;
# the time from the setup code's "Probing EDD" line to the kernel's first
# line "Linux version" is the decompressor's (its XZ decoding, relocations
# and the kernel's first instructions). Each run is followed by hv's own
# decoder timed in the VM (ICOUNT=0 bench/bzimage-icount.sh), so the two are
# measured at about the same load (BENCHMARKS.md, issue 15).
set -euo pipefail
runs=${1:-2}
# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_images
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for i in $(seq 1 "$runs"); do
	start=$(date +%s.%N)
	timeout 120 qemu-system-x86_64 -accel tcg -cpu qemu64,+svm,+npt,+rdrand -nographic -no-reboot -m 256M \
		-kernel "$lx/vmlinuz" -initrd "$lx/initramfs.cpio" -append "console=ttyS0 earlyprintk=ttyS0" 2>&1 |
		while IFS= read -r l; do
			echo "$(echo "$(date +%s.%N) - $start" | bc) $l"
			case "$l" in *"Linux version"*) break ;; esac
		done >"$tmp/log" || true
	edd=$(grep -a 'EDD' "$tmp/log" | head -1 | cut -d' ' -f1)
	lin=$(grep -a 'Linux version' "$tmp/log" | head -1 | cut -d' ' -f1)
	if [ -z "$edd" ] || [ -z "$lin" ]; then
		echo "run $i: markers not found; log:" >&2
		tail -5 "$tmp/log" >&2
		exit 1
	fi
	echo "run $i: QEMU alone, EDD probe -> Linux version: $(echo "$lin - $edd" | bc) s (load $(cut -d' ' -f1-3 /proc/loadavg))"
	echo "run $i: $(ICOUNT=0 ./bench/bzimage-icount.sh | tail -1)"
done
